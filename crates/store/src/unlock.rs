//! Unlocking a user locked out by failed logins, without touching their password (the
//! console's administrators do this after checking with the user).

use crate::{Result, Store, StoreError, User, UserId};

impl Store {
    /// Clears a user's failed-login count and lock; returns the user as updated.
    pub async fn unlock_user(&self, id: UserId) -> Result<User> {
        let done =
            sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1")
                .bind(id.0)
                .execute(&self.pool)
                .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.get_user(id).await
    }
}
