//! Exclusion rules (suppress matching alerts at ingest) and custom alert rules (raise an alert
//! for matching protocol events at ingest), per site.

use std::net::IpAddr;

use ironward_model::{Alert, AlertEngine, Event, Severity, Timestamp};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::cidr::Subnet;
use crate::{Page, Result, Scope, SensorId, SiteId, Store, StoreError};

/// Most exclusion rules, and most custom rules, one site holds (ingest evaluates each for
/// every alert or event, so the number is bounded).
pub const MAX_RULES_PER_SITE: i64 = 200;

/// Longest text field of a rule, in bytes.
pub const MAX_RULE_TEXT: usize = 256;

/// An exclusion rule as created or updated. Every criterion that is set must match; at least
/// one must be set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExclusionSpec {
    /// Site.
    pub site_id: SiteId,
    /// A name for people.
    pub name: String,
    /// Device key that must be among the alert's devices.
    #[serde(default)]
    pub device_key: Option<String>,
    /// Subnet the alert's source or destination must lie in (`10.0.0.0/8`).
    #[serde(default)]
    pub subnet: Option<String>,
    /// Alert kind (`anomaly.port_scan`), exact.
    #[serde(default)]
    pub kind: Option<String>,
    /// Engine.
    #[serde(default)]
    pub engine: Option<String>,
    /// Sensor that delivered the alert.
    #[serde(default)]
    pub sensor_id: Option<SensorId>,
    /// Week days (0 = Monday .. 6 = Sunday, UTC) of the alert's last occurrence; empty: any.
    #[serde(default)]
    pub weekdays: Vec<u8>,
    /// Hour of day (UTC) the window starts, inclusive.
    #[serde(default)]
    pub hour_from: Option<u8>,
    /// Hour of day (UTC, 1..=24) the window ends, exclusive; before `hour_from` wraps midnight.
    #[serde(default)]
    pub hour_to: Option<u8>,
}

/// A stored exclusion rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exclusion {
    /// Row id.
    pub id: i64,
    /// The criteria.
    #[serde(flatten)]
    pub spec: ExclusionSpec,
    /// Alerts suppressed by it.
    pub suppressed: i64,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: Timestamp,
}

/// A custom alert rule as created or updated: an event of `protocol` with `operation`
/// (`*`: any), optionally with `detail_contains` in its detail and source/destination in the
/// subnets, raises an alert (engine `policy`, kind `custom.<id>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRuleSpec {
    /// Site.
    pub site_id: SiteId,
    /// The alert's title.
    pub title: String,
    /// Protocol (`modbus`), case-insensitive.
    pub protocol: String,
    /// Operation (`write_single_register`), case-insensitive; `*` matches any.
    pub operation: String,
    /// Substring of the event's detail, case-insensitive.
    #[serde(default)]
    pub detail_contains: Option<String>,
    /// Subnet of the event's source.
    #[serde(default)]
    pub src_subnet: Option<String>,
    /// Subnet of the event's destination.
    #[serde(default)]
    pub dst_subnet: Option<String>,
    /// Severity of the alerts raised (`critical`, `major`, `minor`, `warning`).
    pub severity: String,
    /// Whether it is evaluated.
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// A stored custom alert rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertRule {
    /// Row id.
    pub id: i64,
    /// The rule.
    #[serde(flatten)]
    pub spec: AlertRuleSpec,
    /// Events that matched it.
    pub fired: i64,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: Timestamp,
}

fn text_field(name: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() || value.len() > MAX_RULE_TEXT {
        return Err(StoreError::Invalid(format!(
            "{name}: 1 to {MAX_RULE_TEXT} bytes"
        )));
    }
    Ok(())
}

fn optional_text(name: &str, value: &Option<String>) -> Result<Option<String>> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => {
            text_field(name, v)?;
            Ok(Some(v.to_owned()))
        }
    }
}

fn subnet_field(value: &Option<String>) -> Result<Option<String>> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => Ok(Some(Subnet::parse(v)?.to_string())),
    }
}

/// The spec checked and normalised (trimmed, subnets canonical, empty strings as none).
fn check_exclusion(s: &ExclusionSpec) -> Result<ExclusionSpec> {
    text_field("name", &s.name)?;
    let engine = optional_text("engine", &s.engine)?;
    if let Some(e) = &engine {
        if !AlertEngine::ALL.iter().any(|x| x.as_str() == e) {
            return Err(StoreError::Invalid(format!("engine {e:?}")));
        }
    }
    let mut weekdays = s.weekdays.clone();
    weekdays.sort_unstable();
    weekdays.dedup();
    if weekdays.iter().any(|d| *d > 6) {
        return Err(StoreError::Invalid(
            "weekdays: 0 (Monday) to 6 (Sunday)".to_owned(),
        ));
    }
    match (s.hour_from, s.hour_to) {
        (None, None) => {}
        (Some(from), Some(to)) if from < 24 && to <= 24 && from != to => {}
        _ => {
            return Err(StoreError::Invalid(
                "hours: hour_from 0-23 and hour_to 0-24, both or neither, not equal".to_owned(),
            ))
        }
    }
    let out = ExclusionSpec {
        site_id: s.site_id,
        name: s.name.trim().to_owned(),
        device_key: optional_text("device_key", &s.device_key)?,
        subnet: subnet_field(&s.subnet)?,
        kind: optional_text("kind", &s.kind)?,
        engine,
        sensor_id: s.sensor_id,
        weekdays,
        hour_from: s.hour_from,
        hour_to: s.hour_to,
    };
    if out.device_key.is_none()
        && out.subnet.is_none()
        && out.kind.is_none()
        && out.engine.is_none()
        && out.sensor_id.is_none()
        && out.weekdays.is_empty()
        && out.hour_from.is_none()
    {
        return Err(StoreError::Invalid(
            "an exclusion needs at least one criterion".to_owned(),
        ));
    }
    Ok(out)
}

fn check_rule(s: &AlertRuleSpec) -> Result<AlertRuleSpec> {
    text_field("title", &s.title)?;
    text_field("protocol", &s.protocol)?;
    text_field("operation", &s.operation)?;
    if !Severity::ALL.iter().any(|x| x.as_str() == s.severity) {
        return Err(StoreError::Invalid(format!(
            "severity {:?}: critical, major, minor or warning",
            s.severity
        )));
    }
    Ok(AlertRuleSpec {
        site_id: s.site_id,
        title: s.title.trim().to_owned(),
        protocol: s.protocol.trim().to_lowercase(),
        operation: s.operation.trim().to_lowercase(),
        detail_contains: optional_text("detail_contains", &s.detail_contains)?
            .map(|d| d.to_lowercase()),
        src_subnet: subnet_field(&s.src_subnet)?,
        dst_subnet: subnet_field(&s.dst_subnet)?,
        severity: s.severity.clone(),
        enabled: s.enabled,
    })
}

fn weekday_mask(days: &[u8]) -> Option<i64> {
    if days.is_empty() {
        None
    } else {
        Some(days.iter().fold(0, |m, d| m | (1_i64 << d)))
    }
}

fn small(v: Option<i64>) -> Option<u8> {
    v.and_then(|v| u8::try_from(v).ok())
}

const EXCLUSION_COLUMNS: &str = "id, site_id, name, device_key, subnet, kind, engine, \
    sensor_id, weekdays, hour_from, hour_to, suppressed, created_by, created_at";

fn exclusion(r: &AnyRow) -> Result<Exclusion> {
    let mask: Option<i64> = r.try_get("weekdays")?;
    Ok(Exclusion {
        id: r.try_get("id")?,
        spec: ExclusionSpec {
            site_id: SiteId(r.try_get("site_id")?),
            name: r.try_get("name")?,
            device_key: r.try_get("device_key")?,
            subnet: r.try_get("subnet")?,
            kind: r.try_get("kind")?,
            engine: r.try_get("engine")?,
            sensor_id: r.try_get::<Option<i64>, _>("sensor_id")?.map(SensorId),
            weekdays: mask
                .map_or_else(Vec::new, |m| (0..7).filter(|d| m & (1 << d) != 0).collect()),
            hour_from: small(r.try_get("hour_from")?),
            hour_to: small(r.try_get("hour_to")?),
        },
        suppressed: r.try_get("suppressed")?,
        created_by: r.try_get("created_by")?,
        created_at: Timestamp(r.try_get("created_at")?),
    })
}

const RULE_COLUMNS: &str = "id, site_id, title, protocol, operation, detail_contains, \
    src_subnet, dst_subnet, severity, enabled, fired, created_by, created_at";

fn rule(r: &AnyRow) -> Result<AlertRule> {
    Ok(AlertRule {
        id: r.try_get("id")?,
        spec: AlertRuleSpec {
            site_id: SiteId(r.try_get("site_id")?),
            title: r.try_get("title")?,
            protocol: r.try_get("protocol")?,
            operation: r.try_get("operation")?,
            detail_contains: r.try_get("detail_contains")?,
            src_subnet: r.try_get("src_subnet")?,
            dst_subnet: r.try_get("dst_subnet")?,
            severity: r.try_get("severity")?,
            enabled: r.try_get::<i64, _>("enabled")? != 0,
        },
        fired: r.try_get("fired")?,
        created_by: r.try_get("created_by")?,
        created_at: Timestamp(r.try_get("created_at")?),
    })
}

/// Weekday (0 = Monday) and hour of a time, UTC.
fn weekday_hour(t: Timestamp) -> (u8, u8) {
    let secs = t.as_nanos().div_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    // 1970-01-01 was a Thursday (3 with Monday = 0).
    let weekday = (days + 3).rem_euclid(7);
    let hour = secs.rem_euclid(86_400) / 3_600;
    (
        u8::try_from(weekday).unwrap_or(0),
        u8::try_from(hour).unwrap_or(0),
    )
}

fn in_subnet(subnet: &Option<String>, ip: Option<IpAddr>) -> bool {
    match subnet {
        None => true,
        Some(s) => match (Subnet::parse(s), ip) {
            (Ok(s), Some(ip)) => s.contains(ip),
            _ => false,
        },
    }
}

impl Exclusion {
    /// Whether the rule suppresses `alert` delivered by `sensor`.
    pub fn matches(&self, alert: &Alert, sensor: SensorId) -> bool {
        let s = &self.spec;
        if let Some(key) = &s.device_key {
            if !alert.devices.iter().any(|d| &d.0 == key) {
                return false;
            }
        }
        if s.subnet.is_some()
            && !in_subnet(&s.subnet, alert.src_ip)
            && !in_subnet(&s.subnet, alert.dst_ip)
        {
            return false;
        }
        if s.kind.as_ref().is_some_and(|k| k != &alert.kind)
            || s.engine
                .as_ref()
                .is_some_and(|e| e != alert.engine.as_str())
            || s.sensor_id.is_some_and(|id| id != sensor)
        {
            return false;
        }
        let (day, hour) = weekday_hour(alert.last_seen);
        if !s.weekdays.is_empty() && !s.weekdays.contains(&day) {
            return false;
        }
        if let (Some(from), Some(to)) = (s.hour_from, s.hour_to) {
            let inside = if from < to {
                from <= hour && hour < to
            } else {
                hour >= from || hour < to
            };
            if !inside {
                return false;
            }
        }
        true
    }
}

impl AlertRule {
    /// Whether `event` matches the rule.
    pub fn matches(&self, event: &Event) -> bool {
        let s = &self.spec;
        s.enabled
            && event.protocol.eq_ignore_ascii_case(&s.protocol)
            && (s.operation == "*" || event.operation.eq_ignore_ascii_case(&s.operation))
            && s.detail_contains
                .as_ref()
                .is_none_or(|d| event.detail.to_lowercase().contains(d.as_str()))
            && in_subnet(&s.src_subnet, event.src.ip)
            && in_subnet(&s.dst_subnet, event.dst.ip)
    }
}

async fn count_in_site(store: &Store, table: &str, site: SiteId) -> Result<i64> {
    Ok(sqlx::query(&format!(
        "SELECT COUNT(*) AS n FROM {table} WHERE site_id = $1"
    ))
    .bind(site.0)
    .fetch_one(&store.pool)
    .await?
    .try_get("n")?)
}

/// The site of a rule row of `table`, checked against `scope`.
async fn rule_site(store: &Store, table: &str, scope: &Scope, id: i64) -> Result<SiteId> {
    let site = SiteId(
        sqlx::query(&format!("SELECT site_id FROM {table} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&store.pool)
            .await?
            .ok_or(StoreError::NotFound)?
            .try_get("site_id")?,
    );
    if scope.allows(site) {
        Ok(site)
    } else {
        Err(StoreError::NotFound)
    }
}

impl Store {
    /// Creates an exclusion rule in a site of `scope`.
    pub async fn create_exclusion(
        &self,
        scope: &Scope,
        spec: &ExclusionSpec,
        created_by: &str,
        now: Timestamp,
    ) -> Result<Exclusion> {
        let s = check_exclusion(spec)?;
        self.get_site(scope, s.site_id).await?;
        if count_in_site(self, "alert_exclusions", s.site_id).await? >= MAX_RULES_PER_SITE {
            return Err(StoreError::Conflict(format!(
                "the site has {MAX_RULES_PER_SITE} exclusions, the most it takes"
            )));
        }
        let id: i64 = sqlx::query(
            "INSERT INTO alert_exclusions (site_id, name, device_key, subnet, kind, engine, \
             sensor_id, weekdays, hour_from, hour_to, created_by, created_at) VALUES ($1, $2, \
             $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        )
        .bind(s.site_id.0)
        .bind(s.name.as_str())
        .bind(s.device_key.as_deref())
        .bind(s.subnet.as_deref())
        .bind(s.kind.as_deref())
        .bind(s.engine.as_deref())
        .bind(s.sensor_id.map(|x| x.0))
        .bind(weekday_mask(&s.weekdays))
        .bind(s.hour_from.map(i64::from))
        .bind(s.hour_to.map(i64::from))
        .bind(created_by)
        .bind(now.as_nanos())
        .fetch_one(&self.pool)
        .await?
        .try_get("id")?;
        self.get_exclusion(scope, id).await
    }

    /// One exclusion rule of `scope`.
    pub async fn get_exclusion(&self, scope: &Scope, id: i64) -> Result<Exclusion> {
        let row = sqlx::query(&format!(
            "SELECT {EXCLUSION_COLUMNS} FROM alert_exclusions WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        let e = exclusion(&row)?;
        if scope.allows(e.spec.site_id) {
            Ok(e)
        } else {
            Err(StoreError::NotFound)
        }
    }

    /// The exclusion rules of `scope` (optionally one site), oldest first, bounded by
    /// [`MAX_RULES_PER_SITE`] per site.
    pub async fn list_exclusions(
        &self,
        scope: &Scope,
        site: Option<SiteId>,
    ) -> Result<Page<Exclusion>> {
        let mut sql = crate::db::Sql::new(&format!(
            "SELECT {EXCLUSION_COLUMNS} FROM alert_exclusions WHERE 1 = 1"
        ));
        scope.filter(&mut sql, "site_id");
        if let Some(site) = site {
            sql.push(" AND site_id = ").bind(site.0);
        }
        sql.push(" ORDER BY id LIMIT ").bind(crate::MAX_PAGE);
        let rows = sql.query().fetch_all(&self.pool).await?;
        let items: Vec<Exclusion> = rows.iter().map(exclusion).collect::<Result<_>>()?;
        let total = i64::try_from(items.len()).unwrap_or(i64::MAX);
        Ok(Page { items, total })
    }

    /// Replaces an exclusion rule's criteria (its counter stays).
    pub async fn update_exclusion(
        &self,
        scope: &Scope,
        id: i64,
        spec: &ExclusionSpec,
    ) -> Result<Exclusion> {
        let s = check_exclusion(spec)?;
        let site = rule_site(self, "alert_exclusions", scope, id).await?;
        if site != s.site_id {
            self.get_site(scope, s.site_id).await?;
        }
        sqlx::query(
            "UPDATE alert_exclusions SET site_id = $1, name = $2, device_key = $3, subnet = $4, \
             kind = $5, engine = $6, sensor_id = $7, weekdays = $8, hour_from = $9, \
             hour_to = $10 WHERE id = $11",
        )
        .bind(s.site_id.0)
        .bind(s.name.as_str())
        .bind(s.device_key.as_deref())
        .bind(s.subnet.as_deref())
        .bind(s.kind.as_deref())
        .bind(s.engine.as_deref())
        .bind(s.sensor_id.map(|x| x.0))
        .bind(weekday_mask(&s.weekdays))
        .bind(s.hour_from.map(i64::from))
        .bind(s.hour_to.map(i64::from))
        .bind(id)
        .execute(&self.pool)
        .await?;
        self.get_exclusion(scope, id).await
    }

    /// Deletes an exclusion rule of `scope`.
    pub async fn delete_exclusion(&self, scope: &Scope, id: i64) -> Result<()> {
        rule_site(self, "alert_exclusions", scope, id).await?;
        sqlx::query("DELETE FROM alert_exclusions WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Creates a custom alert rule in a site of `scope`.
    pub async fn create_alert_rule(
        &self,
        scope: &Scope,
        spec: &AlertRuleSpec,
        created_by: &str,
        now: Timestamp,
    ) -> Result<AlertRule> {
        let s = check_rule(spec)?;
        self.get_site(scope, s.site_id).await?;
        if count_in_site(self, "alert_rules", s.site_id).await? >= MAX_RULES_PER_SITE {
            return Err(StoreError::Conflict(format!(
                "the site has {MAX_RULES_PER_SITE} custom rules, the most it takes"
            )));
        }
        let id: i64 = sqlx::query(
            "INSERT INTO alert_rules (site_id, title, protocol, operation, detail_contains, \
             src_subnet, dst_subnet, severity, enabled, created_by, created_at) VALUES ($1, $2, \
             $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(s.site_id.0)
        .bind(s.title.as_str())
        .bind(s.protocol.as_str())
        .bind(s.operation.as_str())
        .bind(s.detail_contains.as_deref())
        .bind(s.src_subnet.as_deref())
        .bind(s.dst_subnet.as_deref())
        .bind(s.severity.as_str())
        .bind(i64::from(s.enabled))
        .bind(created_by)
        .bind(now.as_nanos())
        .fetch_one(&self.pool)
        .await?
        .try_get("id")?;
        self.get_alert_rule(scope, id).await
    }

    /// One custom alert rule of `scope`.
    pub async fn get_alert_rule(&self, scope: &Scope, id: i64) -> Result<AlertRule> {
        let row = sqlx::query(&format!(
            "SELECT {RULE_COLUMNS} FROM alert_rules WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        let r = rule(&row)?;
        if scope.allows(r.spec.site_id) {
            Ok(r)
        } else {
            Err(StoreError::NotFound)
        }
    }

    /// The custom alert rules of `scope` (optionally one site), oldest first.
    pub async fn list_alert_rules(
        &self,
        scope: &Scope,
        site: Option<SiteId>,
    ) -> Result<Page<AlertRule>> {
        let mut sql = crate::db::Sql::new(&format!(
            "SELECT {RULE_COLUMNS} FROM alert_rules WHERE 1 = 1"
        ));
        scope.filter(&mut sql, "site_id");
        if let Some(site) = site {
            sql.push(" AND site_id = ").bind(site.0);
        }
        sql.push(" ORDER BY id LIMIT ").bind(crate::MAX_PAGE);
        let rows = sql.query().fetch_all(&self.pool).await?;
        let items: Vec<AlertRule> = rows.iter().map(rule).collect::<Result<_>>()?;
        let total = i64::try_from(items.len()).unwrap_or(i64::MAX);
        Ok(Page { items, total })
    }

    /// Replaces a custom rule (its counter stays).
    pub async fn update_alert_rule(
        &self,
        scope: &Scope,
        id: i64,
        spec: &AlertRuleSpec,
    ) -> Result<AlertRule> {
        let s = check_rule(spec)?;
        let site = rule_site(self, "alert_rules", scope, id).await?;
        if site != s.site_id {
            self.get_site(scope, s.site_id).await?;
        }
        sqlx::query(
            "UPDATE alert_rules SET site_id = $1, title = $2, protocol = $3, operation = $4, \
             detail_contains = $5, src_subnet = $6, dst_subnet = $7, severity = $8, \
             enabled = $9 WHERE id = $10",
        )
        .bind(s.site_id.0)
        .bind(s.title.as_str())
        .bind(s.protocol.as_str())
        .bind(s.operation.as_str())
        .bind(s.detail_contains.as_deref())
        .bind(s.src_subnet.as_deref())
        .bind(s.dst_subnet.as_deref())
        .bind(s.severity.as_str())
        .bind(i64::from(s.enabled))
        .bind(id)
        .execute(&self.pool)
        .await?;
        self.get_alert_rule(scope, id).await
    }

    /// Deletes a custom rule of `scope` (alerts it raised stay).
    pub async fn delete_alert_rule(&self, scope: &Scope, id: i64) -> Result<()> {
        rule_site(self, "alert_rules", scope, id).await?;
        sqlx::query("DELETE FROM alert_rules WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// The exclusions and enabled custom rules of a site, as ingest evaluates them.
pub(crate) async fn site_rules(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    site: i64,
) -> Result<(Vec<Exclusion>, Vec<AlertRule>)> {
    let exclusions = sqlx::query(&format!(
        "SELECT {EXCLUSION_COLUMNS} FROM alert_exclusions WHERE site_id = $1 ORDER BY id LIMIT $2"
    ))
    .bind(site)
    .bind(MAX_RULES_PER_SITE)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(exclusion)
    .collect::<Result<_>>()?;
    let rules = sqlx::query(&format!(
        "SELECT {RULE_COLUMNS} FROM alert_rules WHERE site_id = $1 AND enabled = 1 \
         ORDER BY id LIMIT $2"
    ))
    .bind(site)
    .bind(MAX_RULES_PER_SITE)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(rule)
    .collect::<Result<_>>()?;
    Ok((exclusions, rules))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weekday_and_hour_are_utc() {
        // 2026-12-07 is a Monday; 06:30 UTC.
        let t = Timestamp::parse_rfc3339("2026-12-07T06:30:00Z").unwrap();
        assert_eq!(weekday_hour(t), (0, 6));
        let t = Timestamp::parse_rfc3339("1970-01-01T23:59:59Z").unwrap();
        assert_eq!(weekday_hour(t), (3, 23));
    }
}
