//! Users, roles and login throttling. Passwords arrive hashed (PHC strings); the store never
//! sees one in clear.

use ironward_model::Timestamp;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::sites::check_name;
use crate::{Result, SiteId, Store, StoreError, UserId};

/// A role and what it may do, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Role {
    /// `admin`, `analyst`, `operator` or `viewer`.
    pub name: String,
    /// What the role is for.
    pub description: String,
}

/// A user. `password_hash` is a PHC string; never log or serialise it to clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Id.
    pub id: UserId,
    /// Unique login name.
    pub name: String,
    /// Role name.
    pub role: String,
    /// The sites the user may see; empty means every site.
    pub sites: Vec<SiteId>,
    /// PHC string (argon2id).
    pub password_hash: String,
    /// Failed logins since the last success.
    pub failed_logins: i64,
    /// Logins are refused until then.
    pub locked_until: Option<Timestamp>,
    /// Created.
    pub created_at: Timestamp,
    /// Last successful login.
    pub last_login: Option<Timestamp>,
}

impl User {
    /// The scope this user's reads are filtered by.
    pub fn scope(&self) -> crate::Scope {
        if self.sites.is_empty() {
            crate::Scope::All
        } else {
            crate::Scope::Sites(self.sites.clone())
        }
    }
}

const USER_COLUMNS: &str = "id, name, role, password_hash, failed_logins, locked_until, \
     created_at, last_login FROM users";

async fn user_sites(pool: &sqlx::AnyPool, id: i64) -> Result<Vec<SiteId>> {
    let rows = sqlx::query("SELECT site_id FROM user_sites WHERE user_id = $1 ORDER BY site_id")
        .bind(id)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| Ok(SiteId(r.try_get("site_id")?)))
        .collect()
}

async fn user(pool: &sqlx::AnyPool, row: &AnyRow) -> Result<User> {
    let id: i64 = row.try_get("id")?;
    Ok(User {
        id: UserId(id),
        name: row.try_get("name")?,
        role: row.try_get("role")?,
        sites: user_sites(pool, id).await?,
        password_hash: row.try_get("password_hash")?,
        failed_logins: row.try_get("failed_logins")?,
        locked_until: row
            .try_get::<Option<i64>, _>("locked_until")?
            .map(Timestamp),
        created_at: Timestamp(row.try_get("created_at")?),
        last_login: row.try_get::<Option<i64>, _>("last_login")?.map(Timestamp),
    })
}

async fn set_sites(tx: &mut Transaction<'static, Any>, id: i64, sites: &[SiteId]) -> Result<()> {
    sqlx::query("DELETE FROM user_sites WHERE user_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    for site in sites {
        sqlx::query("INSERT INTO user_sites (user_id, site_id) VALUES ($1, $2)")
            .bind(id)
            .bind(site.0)
            .execute(&mut **tx)
            .await
            .map_err(|e| match StoreError::from(e) {
                StoreError::Conflict(_) => StoreError::Invalid(format!("no site {site}")),
                other => other,
            })?;
    }
    Ok(())
}

impl Store {
    /// The roles, by name.
    pub async fn list_roles(&self) -> Result<Vec<Role>> {
        let rows = sqlx::query("SELECT name, description FROM roles ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Role {
                    name: r.try_get("name")?,
                    description: r.try_get("description")?,
                })
            })
            .collect()
    }

    /// Creates a user; a taken name is a conflict, an unknown role or site is invalid.
    pub async fn create_user(
        &self,
        name: &str,
        role: &str,
        sites: &[SiteId],
        password_hash: &str,
        now: Timestamp,
    ) -> Result<User> {
        check_name("user", name)?;
        let mut tx = self.write().await?;
        self.check_role(&mut tx, role).await?;
        let id: i64 = sqlx::query(
            "INSERT INTO users (name, role, password_hash, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING id",
        )
        .bind(name)
        .bind(role)
        .bind(password_hash)
        .bind(now.as_nanos())
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        set_sites(&mut tx, id, sites).await?;
        tx.commit().await?;
        self.get_user(UserId(id)).await
    }

    async fn check_role(&self, tx: &mut Transaction<'static, Any>, role: &str) -> Result<()> {
        let known = sqlx::query("SELECT name FROM roles WHERE name = $1")
            .bind(role)
            .fetch_optional(&mut **tx)
            .await?
            .is_some();
        if known {
            Ok(())
        } else {
            Err(StoreError::Invalid(format!("unknown role {role:?}")))
        }
    }

    /// A user by id.
    pub async fn get_user(&self, id: UserId) -> Result<User> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} WHERE id = $1"))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        user(&self.pool, &row).await
    }

    /// A user by login name.
    pub async fn get_user_by_name(&self, name: &str) -> Result<User> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} WHERE name = $1"))
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        user(&self.pool, &row).await
    }

    /// Every user, by name.
    pub async fn list_users(&self) -> Result<Vec<User>> {
        let rows = sqlx::query(&format!("SELECT {USER_COLUMNS} ORDER BY name"))
            .fetch_all(&self.pool)
            .await?;
        let mut users = Vec::with_capacity(rows.len());
        for row in &rows {
            users.push(user(&self.pool, row).await?);
        }
        Ok(users)
    }

    /// Changes a user's role and site scope.
    pub async fn update_user_access(
        &self,
        id: UserId,
        role: &str,
        sites: &[SiteId],
    ) -> Result<User> {
        let mut tx = self.write().await?;
        self.check_role(&mut tx, role).await?;
        let done = sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
            .bind(role)
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        set_sites(&mut tx, id.0, sites).await?;
        tx.commit().await?;
        self.get_user(id).await
    }

    /// Replaces a user's password hash, clears a lockout and ends every session of the user
    /// (whoever knew the old password is signed out), in one transaction.
    pub async fn update_user_password(&self, id: UserId, password_hash: &str) -> Result<()> {
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE users SET password_hash = $1, failed_logins = 0, locked_until = NULL \
             WHERE id = $2",
        )
        .bind(password_hash)
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a user with their tokens and sessions (audit rows keep their name).
    pub async fn delete_user(&self, id: UserId) -> Result<()> {
        let done = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id.0)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Counts a failed login; at `lock_after` consecutive failures the user is locked until
    /// `now + lock_for`. Returns the user as updated.
    pub async fn record_login_failure(
        &self,
        id: UserId,
        now: Timestamp,
        lock_after: i64,
        lock_for: std::time::Duration,
    ) -> Result<User> {
        let until = now
            .as_nanos()
            .saturating_add(i64::try_from(lock_for.as_nanos()).unwrap_or(i64::MAX));
        let done = sqlx::query(
            "UPDATE users SET failed_logins = failed_logins + 1, \
             locked_until = CASE WHEN failed_logins + 1 >= $1 THEN $2 ELSE locked_until END \
             WHERE id = $3",
        )
        .bind(lock_after)
        .bind(until)
        .bind(id.0)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.get_user(id).await
    }

    /// Records a successful login: clears failures and the lock, sets `last_login`.
    pub async fn record_login_success(&self, id: UserId, now: Timestamp) -> Result<()> {
        let done = sqlx::query(
            "UPDATE users SET failed_logins = 0, locked_until = NULL, last_login = $1 \
             WHERE id = $2",
        )
        .bind(now.as_nanos())
        .bind(id.0)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
