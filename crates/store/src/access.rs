//! API tokens and browser sessions. Both are stored by the SHA-256 of their secret
//! ([`crate::secret::hash_secret`]); callers pass hashes, never the secrets.

use ironward_model::Timestamp;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{Result, Store, StoreError, TokenId, User, UserId};

/// An API token (without its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    /// Id.
    pub id: TokenId,
    /// Owner.
    pub user_id: UserId,
    /// What the user called it.
    pub name: String,
    /// Created.
    pub created_at: Timestamp,
    /// Last used.
    pub last_used: Option<Timestamp>,
    /// Revoked (a revoked token never authenticates again).
    pub revoked_at: Option<Timestamp>,
}

/// A browser session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Session {
    /// SHA-256 of the session id in the cookie.
    pub id_hash: String,
    /// Owner.
    pub user_id: UserId,
    /// The CSRF token forms must echo.
    pub csrf_token: String,
    /// Created.
    pub created_at: Timestamp,
    /// Expires.
    pub expires_at: Timestamp,
    /// Client address at login.
    pub address: String,
}

fn token(row: &AnyRow) -> Result<ApiToken> {
    Ok(ApiToken {
        id: TokenId(row.try_get("id")?),
        user_id: UserId(row.try_get("user_id")?),
        name: row.try_get("name")?,
        created_at: Timestamp(row.try_get("created_at")?),
        last_used: row.try_get::<Option<i64>, _>("last_used")?.map(Timestamp),
        revoked_at: row.try_get::<Option<i64>, _>("revoked_at")?.map(Timestamp),
    })
}

const TOKEN_COLUMNS: &str = "id, user_id, name, created_at, last_used, revoked_at FROM api_tokens";

impl Store {
    /// Stores a new API token for `user` by the hash of its secret.
    pub async fn create_api_token(
        &self,
        user: UserId,
        name: &str,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<ApiToken> {
        crate::sites::check_name("token", name)?;
        let row = sqlx::query(&format!(
            "INSERT INTO api_tokens (user_id, name, token_hash, created_at) \
             VALUES ($1, $2, $3, $4) RETURNING {}",
            TOKEN_COLUMNS.trim_end_matches(" FROM api_tokens")
        ))
        .bind(user.0)
        .bind(name)
        .bind(token_hash)
        .bind(now.as_nanos())
        .fetch_one(&self.pool)
        .await?;
        token(&row)
    }

    /// The live (not revoked) token with this hash and its user; anything else is
    /// [`StoreError::Unauthorized`].
    pub async fn find_api_token(&self, token_hash: &str) -> Result<(ApiToken, User)> {
        let row = sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS} WHERE token_hash = $1 AND revoked_at IS NULL"
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::Unauthorized)?;
        let t = token(&row)?;
        let user = self.get_user(t.user_id).await?;
        Ok((t, user))
    }

    /// A user's tokens, newest first.
    pub async fn list_api_tokens(&self, user: UserId) -> Result<Vec<ApiToken>> {
        let rows = sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS} WHERE user_id = $1 ORDER BY created_at DESC, id DESC"
        ))
        .bind(user.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(token).collect()
    }

    /// Revokes one of `user`'s tokens.
    pub async fn revoke_api_token(&self, user: UserId, id: TokenId, now: Timestamp) -> Result<()> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 \
             AND revoked_at IS NULL",
        )
        .bind(now.as_nanos())
        .bind(id.0)
        .bind(user.0)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Records that a token was used.
    pub async fn touch_api_token(&self, id: TokenId, now: Timestamp) -> Result<()> {
        sqlx::query("UPDATE api_tokens SET last_used = $1 WHERE id = $2")
            .bind(now.as_nanos())
            .bind(id.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Stores a session.
    pub async fn create_session(&self, session: &Session) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, expires_at, address) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(session.id_hash.as_str())
        .bind(session.user_id.0)
        .bind(session.csrf_token.as_str())
        .bind(session.created_at.as_nanos())
        .bind(session.expires_at.as_nanos())
        .bind(session.address.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The session with this id hash, unless it expired by `now`.
    pub async fn get_session(&self, id_hash: &str, now: Timestamp) -> Result<Session> {
        let r = sqlx::query(
            "SELECT id_hash, user_id, csrf_token, created_at, expires_at, address FROM sessions \
             WHERE id_hash = $1 AND expires_at > $2",
        )
        .bind(id_hash)
        .bind(now.as_nanos())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok(Session {
            id_hash: r.try_get("id_hash")?,
            user_id: UserId(r.try_get("user_id")?),
            csrf_token: r.try_get("csrf_token")?,
            created_at: Timestamp(r.try_get("created_at")?),
            expires_at: Timestamp(r.try_get("expires_at")?),
            address: r.try_get("address")?,
        })
    }

    /// Ends a session (logout).
    pub async fn delete_session(&self, id_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Removes sessions expired by `now`; returns how many.
    pub async fn purge_expired_sessions(&self, now: Timestamp) -> Result<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now.as_nanos())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
