//! Alert captures: the pcap a sensor cut from its packet ring around an alert's first
//! occurrence, stored with the alert in the ingest transaction and read back for download.
//!
//! A capture is kept only for an alert the console stored (one suppressed by an exclusion rule or
//! the baseline gets none) and only the first one per alert, so a sensor cannot grow the table
//! beyond one capture of at most
//! [`MAX_ALERT_PCAP_BYTES`](ironward_model::alert_capture::MAX_ALERT_PCAP_BYTES) per alert, and
//! a site holds at most [`MAX_CAPTURES_PER_SITE`] of them (about 500 MiB at worst).

use ironward_model::{Batch, Timestamp};
use sqlx::{Any, Row, Transaction};

use crate::db::Sql;
use crate::{AlertId, Result, Scope, Store, StoreError};

/// Most captures stored per site; beyond it new alerts are stored without one.
pub const MAX_CAPTURES_PER_SITE: i64 = 2_000;

/// Stores the batch's captures of alerts of `site` that are stored and have none yet. Returns
/// how many were stored. (The batch was validated: ids and sizes are bounded.)
pub(crate) async fn ingest_captures(
    tx: &mut Transaction<'static, Any>,
    site: i64,
    sensor: i64,
    batch: &Batch,
    now: Timestamp,
) -> Result<u64> {
    if batch.alert_captures.is_empty() {
        return Ok(0);
    }
    let held: i64 = sqlx::query("SELECT COUNT(*) AS n FROM alert_captures WHERE site_id = $1")
        .bind(site)
        .fetch_one(&mut **tx)
        .await?
        .try_get("n")?;
    let mut room = MAX_CAPTURES_PER_SITE.saturating_sub(held);
    let mut stored = 0;
    for capture in &batch.alert_captures {
        if room <= 0 {
            break;
        }
        let alert: Option<i64> = sqlx::query(
            "SELECT a.id FROM alerts a WHERE a.site_id = $1 AND a.alert_key = $2 \
             AND NOT EXISTS (SELECT 1 FROM alert_captures c WHERE c.alert_id = a.id)",
        )
        .bind(site)
        .bind(capture.alert_id.as_str())
        .fetch_optional(&mut **tx)
        .await?
        .map(|row| row.try_get("id"))
        .transpose()?;
        let Some(alert) = alert else { continue };
        sqlx::query(
            "INSERT INTO alert_captures (alert_id, site_id, sensor_id, size, pcap, received_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(alert)
        .bind(site)
        .bind(sensor)
        .bind(capture.pcap.len() as i64)
        .bind(capture.pcap.as_slice())
        .bind(now.as_nanos())
        .execute(&mut **tx)
        .await?;
        room -= 1;
        stored += 1;
    }
    Ok(stored)
}

impl Store {
    /// The size in bytes of the pcap of an alert of `scope`, when it has one.
    pub async fn alert_pcap_size(&self, scope: &Scope, id: AlertId) -> Result<Option<u64>> {
        let mut sql = Sql::new(
            "SELECT c.size FROM alert_captures c JOIN alerts a ON a.id = c.alert_id \
             WHERE c.alert_id = ",
        );
        sql.bind(id.0);
        scope.filter(&mut sql, "a.site_id");
        let row = sql.query().fetch_optional(&self.pool).await?;
        row.map(|r| r.try_get::<i64, _>("size").map(|n| n.max(0) as u64))
            .transpose()
            .map_err(Into::into)
    }

    /// The pcap of an alert of `scope` (NotFound outside it, or when the alert has none).
    pub async fn alert_pcap(&self, scope: &Scope, id: AlertId) -> Result<Vec<u8>> {
        let mut sql = Sql::new(
            "SELECT c.pcap FROM alert_captures c JOIN alerts a ON a.id = c.alert_id \
             WHERE c.alert_id = ",
        );
        sql.bind(id.0);
        scope.filter(&mut sql, "a.site_id");
        let row = sql
            .query()
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(row.try_get("pcap")?)
    }
}
