//! The alert part of ingest, inside the batch's transaction: custom rules raise alerts from the
//! batch's events, exclusion rules and learned baseline entries suppress alerts (counted, not
//! stored), and the rest aggregate by (site, alert id): count added, first/last seen widened,
//! evidence kept up to `MAX_EVIDENCE`, devices unioned, status, mute and assignment kept.

use std::collections::BTreeMap;

use ironward_model::alert::MAX_EVIDENCE;
use ironward_model::batch::{MAX_BATCH_ALERTS, MAX_DEVICE_LIST_LEN};
use ironward_model::{Alert, AlertEngine, Batch, Event, Evidence, Severity, Timestamp};
use sqlx::{Any, Row, Transaction};

use crate::alert_rules::{site_rules, AlertRule};
use crate::baseline::BaselineKey;
use crate::db::{counter, COUNTER_MAX};
use crate::{IngestCounts, Result, SensorId, StoreError};

/// `created_by` of the baseline entries a learning site makes of policy alerts.
pub(crate) const LEARNED_BY: &str = "learning";

/// Most alerts custom rules raise from one batch (distinct ids); further matches still count
/// on their rule but raise nothing new.
const MAX_CUSTOM_ALERTS: usize = MAX_BATCH_ALERTS;

fn severity(text: &str) -> Severity {
    Severity::ALL
        .into_iter()
        .find(|s| s.as_str() == text)
        .unwrap_or(Severity::Warning)
}

fn endpoint(e: &ironward_model::EventEndpoint) -> String {
    match (e.ip, e.mac) {
        (Some(ip), _) => ip.to_string(),
        (None, Some(mac)) => mac.to_string(),
        (None, None) => "?".to_owned(),
    }
}

/// The alert a custom rule raises for an event: one per (rule, source, destination).
fn custom_alert(rule: &AlertRule, e: &Event) -> Alert {
    let src = endpoint(&e.src);
    let dst = endpoint(&e.dst);
    let devices = [&e.src.device, &e.dst.device]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    Alert {
        id: format!("custom.{}:{src}>{dst}", rule.id),
        kind: format!("custom.{}", rule.id),
        title: rule.spec.title.clone(),
        description: format!(
            "Custom rule {} matched: {} {} from {src} to {dst}.",
            rule.id, e.protocol, e.operation
        ),
        engine: AlertEngine::Policy,
        severity: severity(&rule.spec.severity),
        src_ip: e.src.ip,
        dst_ip: e.dst.ip,
        devices,
        protocol: Some(e.protocol.to_string()),
        techniques: Vec::new(),
        evidence: vec![Evidence {
            time: e.time,
            summary: format!(
                "{} {} {src} -> {dst}: {}",
                e.protocol, e.operation, e.detail
            )
            .chars()
            .take(512)
            .collect(),
            frame: None,
        }],
        remediation: String::new(),
        count: e.count.max(1),
        first_seen: e.time,
        last_seen: e.last_seen,
        pcap: None,
    }
}

/// `old` with a repeat `new` folded in (same id).
pub(crate) fn merge_alert(old: &Alert, new: &Alert) -> Alert {
    let mut merged = new.clone();
    merged.count = old.count.saturating_add(new.count);
    merged.first_seen = old.first_seen.min(new.first_seen);
    merged.last_seen = old.last_seen.max(new.last_seen);
    let mut devices = old.devices.clone();
    for d in &new.devices {
        if !devices.contains(d) && devices.len() < MAX_DEVICE_LIST_LEN {
            devices.push(d.clone());
        }
    }
    merged.devices = devices;
    let mut evidence = old.evidence.clone();
    for e in &new.evidence {
        if evidence.len() >= MAX_EVIDENCE {
            break;
        }
        if !evidence.contains(e) {
            evidence.push(e.clone());
        }
    }
    merged.evidence = evidence;
    for t in &old.techniques {
        if !merged.techniques.contains(t) {
            merged.techniques.push(t.clone());
        }
    }
    merged.pcap = new.pcap.clone().or_else(|| old.pcap.clone());
    merged
}

fn baseline_key(a: &Alert) -> BaselineKey {
    BaselineKey {
        kind: a.kind.clone(),
        src: a.src_ip.map(|i| i.to_string()).unwrap_or_default(),
        dst: a.dst_ip.map(|i| i.to_string()).unwrap_or_default(),
        protocol: a.protocol.clone().unwrap_or_default(),
    }
}

/// Whether the site learns at `now`: its policy alerts then become baseline entries.
async fn site_learns(
    tx: &mut Transaction<'static, Any>,
    site: i64,
    now: Timestamp,
) -> Result<bool> {
    let until: Option<i64> = sqlx::query("SELECT learning_until FROM sites WHERE id = $1")
        .bind(site)
        .fetch_one(&mut **tx)
        .await?
        .try_get("learning_until")?;
    Ok(until.is_some_and(|until| now.as_nanos() < until))
}

/// Whether a learning site turns this alert into a baseline entry: the policy engine's
/// alerts, which say "not in the baseline"; custom rules are the users' own and still alert.
fn learnable(alert: &Alert) -> bool {
    alert.engine == AlertEngine::Policy && !alert.kind.starts_with("custom.")
}

/// Ingests the batch's alerts and the alerts its events raise through custom rules. Alerts
/// are deltas: the count of a repeat adds to the stored one.
pub(crate) async fn ingest_alerts(
    tx: &mut Transaction<'static, Any>,
    site: i64,
    zone: i64,
    sensor: i64,
    batch: &Batch,
    now: Timestamp,
    counts: &mut IngestCounts,
) -> Result<()> {
    let (exclusions, rules) = site_rules(tx, site).await?;
    if batch.alerts.is_empty() && (rules.is_empty() || batch.events.is_empty()) {
        return Ok(());
    }
    // Aggregate within the batch first: one row write per distinct id.
    let mut incoming: BTreeMap<String, Alert> = BTreeMap::new();
    let fold = |a: Alert, map: &mut BTreeMap<String, Alert>| {
        if let Some(old) = map.get(&a.id) {
            let merged = merge_alert(old, &a);
            map.insert(a.id.clone(), merged);
        } else {
            map.insert(a.id.clone(), a);
        }
    };
    for a in &batch.alerts {
        fold(a.clone(), &mut incoming);
    }
    let mut fired: BTreeMap<i64, i64> = BTreeMap::new();
    let mut custom = 0usize;
    for e in &batch.events {
        for rule in rules.iter().filter(|r| r.matches(e)) {
            *fired.entry(rule.id).or_default() += 1;
            let a = custom_alert(rule, e);
            if !incoming.contains_key(&a.id) {
                if custom >= MAX_CUSTOM_ALERTS {
                    continue;
                }
                custom += 1;
            }
            fold(a, &mut incoming);
        }
    }
    for (id, n) in fired {
        sqlx::query("UPDATE alert_rules SET fired = fired + $1 WHERE id = $2")
            .bind(n)
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    let sensor_id = SensorId(sensor);
    let learning = incoming.values().any(learnable) && site_learns(tx, site, now).await?;
    let mut learned = 0i64;
    for alert in incoming.values() {
        if let Some(rule) = exclusions.iter().find(|x| x.matches(alert, sensor_id)) {
            sqlx::query(&format!(
                "UPDATE alert_exclusions SET suppressed = CASE WHEN suppressed > {COUNTER_MAX} \
                 - $1 THEN {COUNTER_MAX} ELSE suppressed + $1 END WHERE id = $2"
            ))
            .bind(counter(alert.count))
            .bind(rule.id)
            .execute(&mut **tx)
            .await?;
            counts.alerts_suppressed += 1;
            continue;
        }
        if let Some(entry) = crate::baseline::find(tx, site, &baseline_key(alert)).await? {
            let id: i64 = entry.try_get("id")?;
            sqlx::query(&format!(
                "UPDATE baseline_entries SET suppressed = CASE WHEN suppressed > {COUNTER_MAX} \
                 - $1 THEN {COUNTER_MAX} ELSE suppressed + $1 END WHERE id = $2"
            ))
            .bind(counter(alert.count))
            .bind(id)
            .execute(&mut **tx)
            .await?;
            counts.alerts_suppressed += 1;
            continue;
        }
        if learning && learnable(alert) {
            crate::baseline::insert_entry(
                tx,
                site,
                &baseline_key(alert),
                &alert.title,
                LEARNED_BY,
                now,
            )
            .await?;
            counts.alerts_learned += 1;
            learned += 1;
            continue;
        }
        upsert_alert(tx, site, zone, sensor, alert).await?;
        counts.alerts += 1;
    }
    if learned > 0 {
        sqlx::query("UPDATE sites SET learned = learned + $1 WHERE id = $2")
            .bind(learned)
            .bind(site)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

async fn upsert_alert(
    tx: &mut Transaction<'static, Any>,
    site: i64,
    zone: i64,
    sensor: i64,
    alert: &Alert,
) -> Result<()> {
    let existing =
        sqlx::query("SELECT id, payload FROM alerts WHERE site_id = $1 AND alert_key = $2")
            .bind(site)
            .bind(alert.id.as_str())
            .fetch_optional(&mut **tx)
            .await?;
    let (id, merged) = match existing {
        Some(row) => {
            let payload: String = row.try_get("payload")?;
            let old: Alert = serde_json::from_str(&payload)
                .map_err(|e| StoreError::Corrupt(format!("alert {}: {e}", alert.id)))?;
            (Some(row.try_get::<i64, _>("id")?), merge_alert(&old, alert))
        }
        None => {
            let mut a = alert.clone();
            a.evidence.truncate(MAX_EVIDENCE);
            (None, a)
        }
    };
    let devices: Vec<&str> = merged.devices.iter().map(|d| d.0.as_str()).collect();
    let devices =
        serde_json::to_string(&devices).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let payload = serde_json::to_string(&merged).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let count = counter(merged.count);
    let src = merged.src_ip.map(|i| i.to_string());
    let dst = merged.dst_ip.map(|i| i.to_string());
    match id {
        Some(id) => {
            sqlx::query(
                "UPDATE alerts SET zone_id = $1, sensor_id = $2, title = $3, severity = $4, \
                 devices = $5, first_seen = $6, last_seen = $7, count = $8, payload = $9, \
                 src_ip = $10, dst_ip = $11, protocol = $12 WHERE id = $13",
            )
            .bind(zone)
            .bind(sensor)
            .bind(merged.title.as_str())
            .bind(merged.severity.as_str())
            .bind(devices)
            .bind(merged.first_seen.as_nanos())
            .bind(merged.last_seen.as_nanos())
            .bind(count)
            .bind(payload)
            .bind(src)
            .bind(dst)
            .bind(merged.protocol.as_deref())
            .bind(id)
            .execute(&mut **tx)
            .await?;
        }
        None => {
            let id: i64 = sqlx::query(
                "INSERT INTO alerts (site_id, zone_id, sensor_id, alert_key, kind, engine, title, \
                 severity, status, devices, first_seen, last_seen, count, payload, src_ip, \
                 dst_ip, protocol) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'new', $9, $10, $11, \
                 $12, $13, $14, $15, $16) RETURNING id",
            )
            .bind(site)
            .bind(zone)
            .bind(sensor)
            .bind(merged.id.as_str())
            .bind(merged.kind.as_str())
            .bind(merged.engine.as_str())
            .bind(merged.title.as_str())
            .bind(merged.severity.as_str())
            .bind(devices)
            .bind(merged.first_seen.as_nanos())
            .bind(merged.last_seen.as_nanos())
            .bind(count)
            .bind(payload)
            .bind(src)
            .bind(dst)
            .bind(merged.protocol.as_deref())
            .fetch_one(&mut **tx)
            .await?
            .try_get("id")?;
            crate::alert_workflow::history(
                tx,
                crate::AlertId(id),
                merged.first_seen,
                "system",
                "raised",
                &format!("by sensor {sensor}"),
            )
            .await?;
        }
    }
    Ok(())
}

/// What [`Store::raise_sensor_alert`] did with an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Raised {
    /// Stored: a new alert, or a repeat aggregated into the stored one.
    Stored,
    /// The stored alert already holds this occurrence (its last occurrence is at least as
    /// recent): nothing was written.
    AlreadyStored,
    /// An exclusion rule of the site suppressed it (counted on the rule).
    Suppressed,
}

impl crate::Store {
    /// Raises an alert the console itself detected about `sensor` (rather than one the sensor
    /// delivered), through the path sensor alerts take: the site's exclusion rules suppress it,
    /// otherwise it is stored under the sensor's site and zone and aggregated by id, so that
    /// workflow, forwarding and playbooks treat it like any alert. An occurrence no later
    /// than the stored alert's last one is not counted again, so a periodic check may raise
    /// the same occurrence every round (and after a restart) and it counts once.
    pub async fn raise_sensor_alert(&self, sensor: SensorId, alert: &Alert) -> Result<Raised> {
        let mut tx = self.write().await?;
        let row = sqlx::query("SELECT site_id, zone_id FROM sensors WHERE id = $1")
            .bind(sensor.0)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let site: i64 = row.try_get("site_id")?;
        let zone: i64 = row.try_get("zone_id")?;
        let last: Option<i64> =
            sqlx::query("SELECT last_seen FROM alerts WHERE site_id = $1 AND alert_key = $2")
                .bind(site)
                .bind(alert.id.as_str())
                .fetch_optional(&mut *tx)
                .await?
                .map(|row| row.try_get("last_seen"))
                .transpose()?;
        if last.is_some_and(|last| last >= alert.last_seen.as_nanos()) {
            return Ok(Raised::AlreadyStored);
        }
        let (exclusions, _) = site_rules(&mut tx, site).await?;
        if let Some(rule) = exclusions.iter().find(|x| x.matches(alert, sensor)) {
            sqlx::query(&format!(
                "UPDATE alert_exclusions SET suppressed = CASE WHEN suppressed > {COUNTER_MAX} \
                 - $1 THEN {COUNTER_MAX} ELSE suppressed + $1 END WHERE id = $2"
            ))
            .bind(counter(alert.count))
            .bind(rule.id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(Raised::Suppressed);
        }
        upsert_alert(&mut tx, site, zone, sensor.0, alert).await?;
        tx.commit().await?;
        Ok(Raised::Stored)
    }
}
