//! Alerts: the table and the minimal insert and list (issue 7 fills them in).

use ironward_model::Timestamp;
use serde::Serialize;
use sqlx::Row;

use crate::db::Sql;
use crate::ids::page_size;
use crate::{AlertId, Page, Result, Scope, SiteId, Store, ZoneId};

/// An alert as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertRecord {
    /// Id (ignored on insert).
    pub id: AlertId,
    /// Site.
    pub site_id: SiteId,
    /// Zone, when known.
    pub zone_id: Option<ZoneId>,
    /// Engine (`policy`, `protocol`, `malware`, `anomaly`, `operational`).
    pub engine: String,
    /// Title.
    pub title: String,
    /// Severity.
    pub severity: String,
    /// Status (`open`, `acknowledged`, `closed`).
    pub status: String,
    /// Device keys involved.
    pub devices: Vec<String>,
    /// First seen.
    pub first_seen: Timestamp,
    /// Last seen.
    pub last_seen: Timestamp,
    /// Occurrences.
    pub count: i64,
    /// Everything else, as the engine reported it.
    pub payload: serde_json::Value,
}

impl Store {
    /// Inserts an alert; returns its id.
    pub async fn insert_alert(&self, alert: &AlertRecord) -> Result<AlertId> {
        let devices = serde_json::to_string(&alert.devices)
            .map_err(|e| crate::StoreError::Invalid(e.to_string()))?;
        let r = sqlx::query(
            "INSERT INTO alerts (site_id, zone_id, engine, title, severity, status, devices, \
             first_seen, last_seen, count, payload) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
             $10, $11) RETURNING id",
        )
        .bind(alert.site_id.0)
        .bind(alert.zone_id.map(|z| z.0))
        .bind(alert.engine.as_str())
        .bind(alert.title.as_str())
        .bind(alert.severity.as_str())
        .bind(alert.status.as_str())
        .bind(devices)
        .bind(alert.first_seen.as_nanos())
        .bind(alert.last_seen.as_nanos())
        .bind(alert.count)
        .bind(alert.payload.to_string())
        .fetch_one(&self.pool)
        .await?;
        Ok(AlertId(r.try_get("id")?))
    }

    /// A page of alerts in `scope`, most recent first.
    pub async fn list_alerts(
        &self,
        scope: &Scope,
        limit: i64,
        offset: i64,
    ) -> Result<Page<AlertRecord>> {
        let mut filter = Sql::new(" WHERE 1 = 1");
        scope.filter(&mut filter, "site_id");
        let mut count = Sql::new("SELECT COUNT(*) AS n FROM alerts");
        count.append(&filter);
        let total: i64 = count.query().fetch_one(&self.pool).await?.try_get("n")?;
        let mut sql = Sql::new(
            "SELECT id, site_id, zone_id, engine, title, severity, status, devices, first_seen, \
             last_seen, count, payload FROM alerts",
        );
        sql.append(&filter);
        sql.push(" ORDER BY last_seen DESC, id DESC LIMIT ")
            .bind(page_size(limit))
            .push(" OFFSET ")
            .bind(offset.max(0));
        let rows = sql.query().fetch_all(&self.pool).await?;
        let items = rows
            .iter()
            .map(|r| {
                let devices: String = r.try_get("devices")?;
                let payload: String = r.try_get("payload")?;
                Ok(AlertRecord {
                    id: AlertId(r.try_get("id")?),
                    site_id: SiteId(r.try_get("site_id")?),
                    zone_id: r.try_get::<Option<i64>, _>("zone_id")?.map(ZoneId),
                    engine: r.try_get("engine")?,
                    title: r.try_get("title")?,
                    severity: r.try_get("severity")?,
                    status: r.try_get("status")?,
                    devices: serde_json::from_str(&devices)
                        .map_err(|e| crate::StoreError::Corrupt(e.to_string()))?,
                    first_seen: Timestamp(r.try_get("first_seen")?),
                    last_seen: Timestamp(r.try_get("last_seen")?),
                    count: r.try_get("count")?,
                    payload: serde_json::from_str(&payload)
                        .map_err(|e| crate::StoreError::Corrupt(e.to_string()))?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Page { items, total })
    }
}
