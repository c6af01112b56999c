//! Alerts as stored: the raw insert and list of the first schema, and the workflow view
//! ([`AlertView`], [`AlertQuery`], [`AlertDetail`]) over alerts that sensors delivered and the
//! console ingested (see `alert_ingest`).

use ironward_model::Timestamp;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::db::{like_escape, Sql};
use crate::ids::page_size;
use crate::{AlertId, Page, Result, Scope, SensorId, SiteId, Store, StoreError, UserId, ZoneId};

/// An alert's place in the workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    /// Raised, nobody looked at it yet.
    New,
    /// Someone is working on it.
    Active,
    /// Done (resolved, expected, or learned into the baseline).
    Closed,
}

impl AlertStatus {
    /// Every status, in workflow order.
    pub const ALL: [AlertStatus; 3] = [Self::New, Self::Active, Self::Closed];

    /// The stored and JSON name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Active => "active",
            Self::Closed => "closed",
        }
    }

    /// Parses a stored or JSON name.
    pub fn parse(text: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| StoreError::Invalid(format!("status {text:?}: new, active or closed")))
    }
}

/// An alert with its workflow state, as lists show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertView {
    /// Row id.
    pub id: AlertId,
    /// The sensor's stable alert id (`None` for rows written before alert ingest existed).
    pub key: Option<String>,
    /// Site.
    pub site_id: SiteId,
    /// Site name.
    pub site: String,
    /// Zone, when known.
    pub zone_id: Option<ZoneId>,
    /// The sensor that last reported it.
    pub sensor_id: Option<SensorId>,
    /// Alert type (`policy.new_device`, `custom.3`).
    pub kind: String,
    /// Engine.
    pub engine: String,
    /// Title.
    pub title: String,
    /// Severity.
    pub severity: String,
    /// Status (`new`, `active`, `closed`).
    pub status: String,
    /// Muted: still aggregated, hidden from the default views.
    pub muted: bool,
    /// The user it is assigned to.
    pub assignee_id: Option<UserId>,
    /// That user's name.
    pub assignee: Option<String>,
    /// Source address.
    pub src_ip: Option<String>,
    /// Destination address.
    pub dst_ip: Option<String>,
    /// Protocol.
    pub protocol: Option<String>,
    /// Device keys involved.
    pub devices: Vec<String>,
    /// First seen.
    pub first_seen: Timestamp,
    /// Last seen.
    pub last_seen: Timestamp,
    /// Occurrences.
    pub count: i64,
}

/// A comment on an alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertComment {
    /// Row id.
    pub id: i64,
    /// Author's user id (`None` once the user is deleted).
    pub user_id: Option<UserId>,
    /// Author's name at the time.
    pub user_name: String,
    /// When.
    pub at: Timestamp,
    /// Text.
    pub text: String,
}

/// One step of an alert's history (status changes, assignment, mute, learn, comments).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertHistoryEntry {
    /// When.
    pub at: Timestamp,
    /// Who (`system` for ingest).
    pub user_name: String,
    /// What (`status`, `assign`, `mute`, `learn`, `comment`).
    pub action: String,
    /// The change in words (`new -> active`).
    pub detail: String,
}

/// An alert with everything the sensor reported (description, techniques, evidence,
/// remediation in `payload`, the model's `Alert` as JSON), its comments and history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertDetail {
    /// The workflow view.
    pub alert: AlertView,
    /// The model's alert as JSON (`{}` for rows without one).
    pub payload: serde_json::Value,
    /// Comments, oldest first (at most [`MAX_ALERT_COMMENTS`]).
    pub comments: Vec<AlertComment>,
    /// History, oldest first (at most [`MAX_ALERT_COMMENTS`]).
    pub history: Vec<AlertHistoryEntry>,
}

/// Most comments and history rows an alert detail returns.
pub const MAX_ALERT_COMMENTS: i64 = 500;

/// Filters of [`Store::query_alerts`].
#[derive(Debug, Clone)]
pub struct AlertQuery {
    /// The caller's sites.
    pub scope: Scope,
    /// Only this site.
    pub site: Option<SiteId>,
    /// Only this status.
    pub status: Option<AlertStatus>,
    /// Only this severity.
    pub severity: Option<String>,
    /// Only this engine.
    pub engine: Option<String>,
    /// Only alerts involving this device key.
    pub device: Option<String>,
    /// Only muted (`true`) or unmuted (`false`) alerts.
    pub muted: Option<bool>,
    /// Only alerts seen since.
    pub since: Option<Timestamp>,
    /// Page size.
    pub limit: i64,
    /// Rows skipped.
    pub offset: i64,
}

impl AlertQuery {
    /// Every alert of `scope`, first page.
    pub fn new(scope: Scope) -> Self {
        Self {
            scope,
            site: None,
            status: None,
            severity: None,
            engine: None,
            device: None,
            muted: None,
            since: None,
            limit: 100,
            offset: 0,
        }
    }
}

pub(crate) const VIEW_COLUMNS: &str = "a.id, a.alert_key, a.site_id, s.name AS site_name, \
    a.zone_id, a.sensor_id, a.kind, a.engine, a.title, a.severity, a.status, a.muted, \
    a.assignee_id, u.name AS assignee_name, a.src_ip, a.dst_ip, a.protocol, a.devices, \
    a.first_seen, a.last_seen, a.count";

pub(crate) const VIEW_FROM: &str = " FROM alerts a JOIN sites s ON s.id = a.site_id \
    LEFT JOIN users u ON u.id = a.assignee_id";

pub(crate) fn view(r: &AnyRow) -> Result<AlertView> {
    let devices: String = r.try_get("devices")?;
    Ok(AlertView {
        id: AlertId(r.try_get("id")?),
        key: r.try_get("alert_key")?,
        site_id: SiteId(r.try_get("site_id")?),
        site: r.try_get("site_name")?,
        zone_id: r.try_get::<Option<i64>, _>("zone_id")?.map(ZoneId),
        sensor_id: r.try_get::<Option<i64>, _>("sensor_id")?.map(SensorId),
        kind: r.try_get("kind")?,
        engine: r.try_get("engine")?,
        title: r.try_get("title")?,
        severity: r.try_get("severity")?,
        status: r.try_get("status")?,
        muted: r.try_get::<i64, _>("muted")? != 0,
        assignee_id: r.try_get::<Option<i64>, _>("assignee_id")?.map(UserId),
        assignee: r.try_get("assignee_name")?,
        src_ip: r.try_get("src_ip")?,
        dst_ip: r.try_get("dst_ip")?,
        protocol: r.try_get("protocol")?,
        devices: serde_json::from_str(&devices).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        first_seen: Timestamp(r.try_get("first_seen")?),
        last_seen: Timestamp(r.try_get("last_seen")?),
        count: r.try_get("count")?,
    })
}

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

impl Store {
    /// A page of alerts matching `q`, most recent first.
    pub async fn query_alerts(&self, q: &AlertQuery) -> Result<Page<AlertView>> {
        let mut filter = Sql::new(" WHERE 1 = 1");
        q.scope.filter(&mut filter, "a.site_id");
        if let Some(site) = q.site {
            filter.push(" AND a.site_id = ").bind(site.0);
        }
        if let Some(status) = q.status {
            filter.push(" AND a.status = ").bind(status.as_str());
        }
        if let Some(severity) = &q.severity {
            filter.push(" AND a.severity = ").bind(severity.as_str());
        }
        if let Some(engine) = &q.engine {
            filter.push(" AND a.engine = ").bind(engine.as_str());
        }
        if let Some(device) = &q.device {
            // `devices` is a JSON array of strings: match the quoted key.
            let quoted = serde_json::to_string(device).unwrap_or_default();
            filter
                .push(" AND a.devices LIKE ")
                .bind(format!("%{}%", like_escape(&quoted)))
                .push(" ESCAPE '\\'");
        }
        if let Some(muted) = q.muted {
            filter.push(" AND a.muted = ").bind(i64::from(muted));
        }
        if let Some(since) = q.since {
            filter.push(" AND a.last_seen >= ").bind(since.as_nanos());
        }
        let mut count = Sql::new("SELECT COUNT(*) AS n FROM alerts a");
        count.append(&filter);
        let total: i64 = count.query().fetch_one(&self.pool).await?.try_get("n")?;
        let mut sql = Sql::new("SELECT ");
        sql.push(VIEW_COLUMNS).push(VIEW_FROM);
        sql.append(&filter);
        sql.push(" ORDER BY a.last_seen DESC, a.id DESC LIMIT ")
            .bind(page_size(q.limit))
            .push(" OFFSET ")
            .bind(q.offset.max(0));
        let rows = sql.query().fetch_all(&self.pool).await?;
        let items = rows.iter().map(view).collect::<Result<_>>()?;
        Ok(Page { items, total })
    }

    /// One alert of `scope` (NotFound outside it).
    pub async fn get_alert(&self, scope: &Scope, id: AlertId) -> Result<AlertView> {
        let mut sql = Sql::new("SELECT ");
        sql.push(VIEW_COLUMNS)
            .push(VIEW_FROM)
            .push(" WHERE a.id = ")
            .bind(id.0);
        scope.filter(&mut sql, "a.site_id");
        let row = sql
            .query()
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        view(&row)
    }

    /// One alert of `scope` with its payload, comments and history.
    pub async fn alert_detail(&self, scope: &Scope, id: AlertId) -> Result<AlertDetail> {
        let alert = self.get_alert(scope, id).await?;
        let payload: String = sqlx::query("SELECT payload FROM alerts WHERE id = $1")
            .bind(id.0)
            .fetch_one(&self.pool)
            .await?
            .try_get("payload")?;
        let payload =
            serde_json::from_str(&payload).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let comments = sqlx::query(
            "SELECT id, user_id, user_name, at, text FROM alert_comments WHERE alert_id = $1 \
             ORDER BY id LIMIT $2",
        )
        .bind(id.0)
        .bind(MAX_ALERT_COMMENTS)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(AlertComment {
                id: r.try_get("id")?,
                user_id: r.try_get::<Option<i64>, _>("user_id")?.map(UserId),
                user_name: r.try_get("user_name")?,
                at: Timestamp(r.try_get("at")?),
                text: r.try_get("text")?,
            })
        })
        .collect::<Result<_>>()?;
        let history = sqlx::query(
            "SELECT at, user_name, action, detail FROM alert_history WHERE alert_id = $1 \
             ORDER BY id LIMIT $2",
        )
        .bind(id.0)
        .bind(MAX_ALERT_COMMENTS)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(AlertHistoryEntry {
                at: Timestamp(r.try_get("at")?),
                user_name: r.try_get("user_name")?,
                action: r.try_get("action")?,
                detail: r.try_get("detail")?,
            })
        })
        .collect::<Result<_>>()?;
        Ok(AlertDetail {
            alert,
            payload,
            comments,
            history,
        })
    }
}
