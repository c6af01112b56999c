//! The audit log: logins, failures and every change, with who, when and from where. Rows are
//! only ever appended (the schema's triggers refuse updates and deletes).

use ironward_model::Timestamp;
use serde::Serialize;
use sqlx::{AnyConnection, Row};

use crate::ids::page_size;
use crate::{Page, Result, Store, UserId};

/// One audit record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// When.
    pub at: Timestamp,
    /// Who (`None`: anonymous, e.g. a failed login for an unknown name, or the system).
    pub user_id: Option<UserId>,
    /// Their name at the time.
    pub user_name: Option<String>,
    /// Client address.
    pub address: String,
    /// What (`login`, `site.create`, ...).
    pub action: String,
    /// On what (`site:3`, `user:alice`).
    pub target: String,
    /// Details (never secrets).
    pub detail: String,
    /// `ok`, `denied`, `failed`.
    pub outcome: String,
}

/// Writes `entry` on `conn`: inside a transaction, the record commits or rolls back with the
/// change it describes.
pub(crate) async fn insert(conn: &mut AnyConnection, entry: &AuditEntry) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, user_id, user_name, address, action, target, detail, \
         outcome) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(entry.at.as_nanos())
    .bind(entry.user_id.map(|u| u.0))
    .bind(entry.user_name.as_deref())
    .bind(entry.address.as_str())
    .bind(entry.action.as_str())
    .bind(entry.target.as_str())
    .bind(entry.detail.as_str())
    .bind(entry.outcome.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Store {
    /// Appends an audit record.
    pub async fn append_audit(&self, entry: &AuditEntry) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        insert(&mut conn, entry).await
    }

    /// A page of the audit log, newest first.
    pub async fn list_audit(&self, limit: i64, offset: i64) -> Result<Page<AuditEntry>> {
        let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM audit_log")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        let rows = sqlx::query(
            "SELECT at, user_id, user_name, address, action, target, detail, outcome \
             FROM audit_log ORDER BY at DESC, id DESC LIMIT $1 OFFSET $2",
        )
        .bind(page_size(limit))
        .bind(offset.max(0))
        .fetch_all(&self.pool)
        .await?;
        let items = rows
            .iter()
            .map(|r| {
                Ok(AuditEntry {
                    at: Timestamp(r.try_get("at")?),
                    user_id: r.try_get::<Option<i64>, _>("user_id")?.map(UserId),
                    user_name: r.try_get("user_name")?,
                    address: r.try_get("address")?,
                    action: r.try_get("action")?,
                    target: r.try_get("target")?,
                    detail: r.try_get("detail")?,
                    outcome: r.try_get("outcome")?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Page { items, total })
    }
}
