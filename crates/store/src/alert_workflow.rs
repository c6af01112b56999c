//! The alert workflow: status, assignment, mute, comments and "learn", each written together
//! with a row of the alert's history in one transaction.

use ironward_model::Timestamp;
use sqlx::{Any, Row, Transaction};

use crate::alerts::{AlertComment, AlertStatus, AlertView};
use crate::baseline::BaselineEntry;
use crate::{AlertId, Result, Scope, Store, StoreError, UserId};

/// Longest comment, in bytes.
pub const MAX_COMMENT_LEN: usize = 4_096;

/// Most comments one alert takes (further ones are refused: a hostile client cannot grow a
/// row without bound).
pub const MAX_COMMENTS_PER_ALERT: i64 = 500;

/// Who acts on an alert (recorded in its history and comments).
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    /// The user's id.
    pub id: UserId,
    /// The user's name.
    pub name: &'a str,
}

/// The alert's site and current state, after checking the scope, inside `tx`.
async fn locked(
    tx: &mut Transaction<'static, Any>,
    scope: &Scope,
    id: AlertId,
) -> Result<(String, bool, Option<i64>)> {
    let row = sqlx::query("SELECT site_id, status, muted, assignee_id FROM alerts WHERE id = $1")
        .bind(id.0)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    if !scope.allows(crate::SiteId(row.try_get("site_id")?)) {
        return Err(StoreError::NotFound);
    }
    Ok((
        row.try_get("status")?,
        row.try_get::<i64, _>("muted")? != 0,
        row.try_get("assignee_id")?,
    ))
}

pub(crate) async fn history(
    tx: &mut Transaction<'static, Any>,
    id: AlertId,
    at: Timestamp,
    who: &str,
    action: &str,
    detail: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO alert_history (alert_id, at, user_name, action, detail) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id.0)
    .bind(at.as_nanos())
    .bind(who)
    .bind(action)
    .bind(detail)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Sets an alert's status (a no-op change still leaves no history row).
    pub async fn set_alert_status(
        &self,
        scope: &Scope,
        id: AlertId,
        status: AlertStatus,
        actor: Actor<'_>,
        now: Timestamp,
    ) -> Result<AlertView> {
        let mut tx = self.write().await?;
        let (old, _, _) = locked(&mut tx, scope, id).await?;
        if old != status.as_str() {
            set_status(&mut tx, id, status).await?;
            let detail = format!("{old} -> {}", status.as_str());
            history(&mut tx, id, now, actor.name, "status", &detail).await?;
        }
        tx.commit().await?;
        self.get_alert(scope, id).await
    }

    /// Assigns an alert to a user (`None`: unassigns). An unknown user is Invalid.
    pub async fn assign_alert(
        &self,
        scope: &Scope,
        id: AlertId,
        assignee: Option<UserId>,
        actor: Actor<'_>,
        now: Timestamp,
    ) -> Result<AlertView> {
        let mut tx = self.write().await?;
        locked(&mut tx, scope, id).await?;
        let name = match assignee {
            Some(user) => Some(
                sqlx::query("SELECT name FROM users WHERE id = $1")
                    .bind(user.0)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or_else(|| StoreError::Invalid(format!("no user {}", user.0)))?
                    .try_get::<String, _>("name")?,
            ),
            None => None,
        };
        sqlx::query("UPDATE alerts SET assignee_id = $1 WHERE id = $2")
            .bind(assignee.map(|u| u.0))
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        let detail = name.map_or_else(|| "unassigned".to_owned(), |n| format!("to {n}"));
        history(&mut tx, id, now, actor.name, "assign", &detail).await?;
        tx.commit().await?;
        self.get_alert(scope, id).await
    }

    /// Mutes or unmutes an alert.
    pub async fn mute_alert(
        &self,
        scope: &Scope,
        id: AlertId,
        muted: bool,
        actor: Actor<'_>,
        now: Timestamp,
    ) -> Result<AlertView> {
        let mut tx = self.write().await?;
        let (_, was, _) = locked(&mut tx, scope, id).await?;
        if was != muted {
            sqlx::query("UPDATE alerts SET muted = $1 WHERE id = $2")
                .bind(i64::from(muted))
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            let detail = if muted { "muted" } else { "unmuted" };
            history(&mut tx, id, now, actor.name, "mute", detail).await?;
        }
        tx.commit().await?;
        self.get_alert(scope, id).await
    }

    /// Adds a comment (1 to [`MAX_COMMENT_LEN`] bytes, at most [`MAX_COMMENTS_PER_ALERT`]).
    pub async fn comment_alert(
        &self,
        scope: &Scope,
        id: AlertId,
        text: &str,
        actor: Actor<'_>,
        now: Timestamp,
    ) -> Result<AlertComment> {
        let text = text.trim();
        if text.is_empty() || text.len() > MAX_COMMENT_LEN {
            return Err(StoreError::Invalid(format!(
                "comment: 1 to {MAX_COMMENT_LEN} bytes"
            )));
        }
        let mut tx = self.write().await?;
        locked(&mut tx, scope, id).await?;
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM alert_comments WHERE alert_id = $1")
            .bind(id.0)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if n >= MAX_COMMENTS_PER_ALERT {
            return Err(StoreError::Conflict(format!(
                "the alert has {n} comments, the most it takes"
            )));
        }
        let comment_id: i64 = sqlx::query(
            "INSERT INTO alert_comments (alert_id, user_id, user_name, at, text) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(id.0)
        .bind(actor.id.0)
        .bind(actor.name)
        .bind(now.as_nanos())
        .bind(text)
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        history(&mut tx, id, now, actor.name, "comment", "").await?;
        tx.commit().await?;
        Ok(AlertComment {
            id: comment_id,
            user_id: Some(actor.id),
            user_name: actor.name.to_owned(),
            at: now,
            text: text.to_owned(),
        })
    }

    /// "Learn": records the alert's traffic as a baseline entry of its site (kind, source,
    /// destination, protocol; the title as detail) and closes it as learned. Later alerts with
    /// the same kind, addresses and protocol are suppressed at ingest. Learning twice is
    /// harmless (the entry exists once).
    pub async fn learn_alert(
        &self,
        scope: &Scope,
        id: AlertId,
        actor: Actor<'_>,
        now: Timestamp,
    ) -> Result<BaselineEntry> {
        let mut tx = self.write().await?;
        let (old, _, _) = locked(&mut tx, scope, id).await?;
        let row = sqlx::query(
            "SELECT site_id, kind, src_ip, dst_ip, protocol, title FROM alerts WHERE id = $1",
        )
        .bind(id.0)
        .fetch_one(&mut *tx)
        .await?;
        let site: i64 = row.try_get("site_id")?;
        let kind: String = row.try_get("kind")?;
        if kind.is_empty() {
            return Err(StoreError::Invalid(
                "the alert has no kind to learn".to_owned(),
            ));
        }
        let key = crate::baseline::BaselineKey {
            kind,
            src: row
                .try_get::<Option<String>, _>("src_ip")?
                .unwrap_or_default(),
            dst: row
                .try_get::<Option<String>, _>("dst_ip")?
                .unwrap_or_default(),
            protocol: row
                .try_get::<Option<String>, _>("protocol")?
                .unwrap_or_default(),
        };
        let title: String = row.try_get("title")?;
        let entry =
            crate::baseline::insert_entry(&mut tx, site, &key, &title, actor.name, now).await?;
        set_status(&mut tx, id, AlertStatus::Closed).await?;
        let detail = format!("{old} -> closed (learned as baseline entry {})", entry.id);
        history(&mut tx, id, now, actor.name, "learn", &detail).await?;
        tx.commit().await?;
        Ok(entry)
    }
}

async fn set_status(
    tx: &mut Transaction<'static, Any>,
    id: AlertId,
    status: AlertStatus,
) -> Result<()> {
    sqlx::query("UPDATE alerts SET status = $1 WHERE id = $2")
        .bind(status.as_str())
        .bind(id.0)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
