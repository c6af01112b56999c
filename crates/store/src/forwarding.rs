//! Forwarding rules, the durable delivery queue, playbooks and their runs.
//!
//! The scanner ([`Store::forward_scan`]) reads the alerts table against a cursor kept in the
//! database (`forward_seen`: the count and status of every alert already handled), so new and
//! repeated alerts become queue rows and playbook runs even after a restart, and nothing depends
//! on a console's memory. A queue row is deleted only when the worker reports the receiver
//! accepted it ([`Store::forward_delivered`]); a failure schedules the next attempt
//! ([`Store::forward_failed`]). The queue is bounded: occurrences beyond its size are counted
//! (`overflow`), not stored.

use ironward_model::Timestamp;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::db::flag;
use crate::{AlertId, Result, SiteId, Store, StoreError};

/// Severities from most to least urgent, as stored.
const SEVERITIES: [&str; 4] = ["critical", "major", "minor", "warning"];

/// Longest error message kept on a queue row or run log line.
const MAX_ERROR_LEN: usize = 500;

/// Most log lines a playbook run keeps.
const MAX_LOG_LINES: usize = 50;

fn severity_rank(severity: &str) -> usize {
    SEVERITIES
        .iter()
        .position(|s| *s == severity)
        .unwrap_or(SEVERITIES.len())
}

/// Which alerts a forwarding rule or playbook applies to. Empty lists match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertFilter {
    /// The least urgent severity that matches (`warning` matches all), none for all.
    #[serde(default)]
    pub min_severity: Option<String>,
    /// Engines (`policy`, `protocol`, `malware`, `anomaly`, `operational`).
    #[serde(default)]
    pub engines: Vec<String>,
    /// Sites.
    #[serde(default)]
    pub sites: Vec<SiteId>,
    /// Protocols (the alert's `protocol`, compared without case).
    #[serde(default)]
    pub protocols: Vec<String>,
    /// Alert kinds (the alert's `kind`, e.g. `policy.unauthorized_write`, compared without
    /// case). Left out of the document when empty, so filters stored before it read the same.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<String>,
}

impl AlertFilter {
    /// Refuses unknown severities and engines.
    pub fn validate(&self) -> Result<()> {
        if let Some(s) = &self.min_severity {
            if !SEVERITIES.contains(&s.as_str()) {
                return Err(StoreError::Invalid(format!("unknown severity {s:?}")));
            }
        }
        const ENGINES: [&str; 5] = ["policy", "protocol", "malware", "anomaly", "operational"];
        if let Some(e) = self.engines.iter().find(|e| !ENGINES.contains(&e.as_str())) {
            return Err(StoreError::Invalid(format!("unknown engine {e:?}")));
        }
        if self.engines.len() > 16
            || self.sites.len() > 1000
            || self.protocols.len() > 100
            || self.kinds.len() > 100
        {
            return Err(StoreError::Invalid("filter lists are too long".to_owned()));
        }
        if self
            .protocols
            .iter()
            .chain(&self.kinds)
            .any(|v| v.is_empty() || v.len() > 200)
        {
            return Err(StoreError::Invalid(
                "protocols and kinds are 1 to 200 bytes".to_owned(),
            ));
        }
        Ok(())
    }

    /// Whether `alert` matches.
    pub fn matches(&self, alert: &ForwardAlert) -> bool {
        if let Some(min) = &self.min_severity {
            if severity_rank(&alert.severity) > severity_rank(min) {
                return false;
            }
        }
        if !self.engines.is_empty() && !self.engines.contains(&alert.engine) {
            return false;
        }
        if !self.sites.is_empty() && !self.sites.contains(&alert.site_id) {
            return false;
        }
        if !self.protocols.is_empty() {
            let Some(protocol) = alert.protocol() else {
                return false;
            };
            if !self
                .protocols
                .iter()
                .any(|p| p.eq_ignore_ascii_case(protocol))
            {
                return false;
            }
        }
        if !self.kinds.is_empty() {
            let Some(kind) = alert.text("kind") else {
                return false;
            };
            if !self.kinds.iter().any(|k| k.eq_ignore_ascii_case(kind)) {
                return false;
            }
        }
        true
    }
}

/// An alert as forwarded: the stored row, snapshotted when it was seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForwardAlert {
    /// The alert's row id.
    pub id: AlertId,
    /// Its site.
    pub site_id: SiteId,
    /// Engine.
    pub engine: String,
    /// Title.
    pub title: String,
    /// Severity (`critical`, `major`, `minor`, `warning`).
    pub severity: String,
    /// Workflow status.
    pub status: String,
    /// Device keys involved.
    pub devices: Vec<String>,
    /// First seen.
    pub first_seen: Timestamp,
    /// Last seen.
    pub last_seen: Timestamp,
    /// Occurrences.
    pub count: i64,
    /// The engine's alert document (kind, description, addresses, protocol, techniques,
    /// evidence, remediation).
    pub payload: serde_json::Value,
}

impl ForwardAlert {
    /// A text field of the engine's document.
    pub fn text(&self, field: &str) -> Option<&str> {
        self.payload.get(field).and_then(|v| v.as_str())
    }

    /// The protocol concerned, when one.
    pub fn protocol(&self) -> Option<&str> {
        self.text("protocol")
    }
}

/// A forwarding rule (its secret never leaves the store except to the worker).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForwardRule {
    /// Id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Whether new alerts are queued for it.
    pub enabled: bool,
    /// Which alerts.
    pub filter: AlertFilter,
    /// Where to (a JSON document the console validates).
    pub destination: serde_json::Value,
    /// Whether a secret is set (the secret itself is not in this struct).
    pub has_secret: bool,
    /// Created.
    pub created_at: Timestamp,
}

/// A queued message due for delivery, with what the worker needs to deliver it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedDelivery {
    /// Queue row id.
    pub id: i64,
    /// The rule.
    pub rule_id: i64,
    /// The rule's destination.
    pub destination: serde_json::Value,
    /// The rule's secret (empty when none).
    pub secret: String,
    /// The alert as seen.
    pub alert: ForwardAlert,
    /// Attempts so far.
    pub attempts: i64,
}

/// The queue at a glance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ForwardStats {
    /// Rows waiting.
    pub queued: i64,
    /// Rows delivered since the database was created.
    pub delivered: i64,
    /// Occurrences dropped because the queue was full.
    pub overflow: i64,
    /// Playbook runs dropped because the run table was full of pending runs.
    pub playbook_overflow: i64,
}

/// One rule's share of the queue and its deliveries, for the status pages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RuleQueueStatus {
    /// The rule.
    pub rule_id: i64,
    /// Messages waiting.
    pub queued: i64,
    /// Most attempts of a waiting message (0: none tried yet).
    pub attempts: i64,
    /// When the next waiting message is due, when any waits.
    pub next_attempt: Option<Timestamp>,
    /// Why the oldest waiting message that failed did (the receiver's current trouble).
    pub last_error: Option<String>,
    /// Messages the receiver accepted.
    pub delivered: i64,
    /// When the receiver last accepted one.
    pub last_delivery: Option<Timestamp>,
}

/// The `forward_counters` names of a rule's delivery count and last delivery time (the table
/// is a small name → number map; a rule's two entries go with the rule).
fn rule_counter_names(rule: i64) -> [String; 2] {
    [
        format!("rule:{rule}:delivered"),
        format!("rule:{rule}:delivered_at"),
    ]
}

/// A playbook.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Playbook {
    /// Id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Whether new alerts start runs.
    pub enabled: bool,
    /// Which alerts.
    pub filter: AlertFilter,
    /// Ordered actions (a JSON array the console validates).
    pub actions: serde_json::Value,
    /// Created.
    pub created_at: Timestamp,
}

/// A playbook run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlaybookRun {
    /// Id.
    pub id: i64,
    /// The playbook.
    pub playbook_id: i64,
    /// The alert.
    pub alert_id: AlertId,
    /// The alert's count when the run started.
    pub occurrence: i64,
    /// `pending`, `done` or `failed` (gave up).
    pub status: String,
    /// The next action to run (0-based).
    pub step: i64,
    /// Attempts so far.
    pub attempts: i64,
    /// What each attempt did.
    pub log: Vec<String>,
    /// Created.
    pub created_at: Timestamp,
    /// Finished, when done or failed.
    pub finished_at: Option<Timestamp>,
    /// The alert as seen.
    #[serde(skip)]
    pub alert: ForwardAlert,
    /// The playbook's actions.
    #[serde(skip)]
    pub actions: serde_json::Value,
}

/// What one scan did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanOutcome {
    /// Alerts found new or changed.
    pub alerts: usize,
    /// Queue rows added.
    pub queued: usize,
    /// Playbook runs added.
    pub runs: usize,
    /// Occurrences dropped (queue or run table full).
    pub overflow: usize,
}

fn json_text<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Invalid(e.to_string()))
}

fn from_json<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn truncate(text: &str) -> String {
    let mut end = text.len().min(MAX_ERROR_LEN);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

fn rule_from_row(r: &sqlx::any::AnyRow) -> Result<ForwardRule> {
    let filter: String = r.try_get("filter")?;
    let destination: String = r.try_get("destination")?;
    let secret: String = r.try_get("secret")?;
    Ok(ForwardRule {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        enabled: r.try_get::<i64, _>("enabled")? != 0,
        filter: from_json(&filter)?,
        destination: from_json(&destination)?,
        has_secret: !secret.is_empty(),
        created_at: Timestamp(r.try_get("created_at")?),
    })
}

fn playbook_from_row(r: &sqlx::any::AnyRow) -> Result<Playbook> {
    let filter: String = r.try_get("filter")?;
    let actions: String = r.try_get("actions")?;
    Ok(Playbook {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        enabled: r.try_get::<i64, _>("enabled")? != 0,
        filter: from_json(&filter)?,
        actions: from_json(&actions)?,
        created_at: Timestamp(r.try_get("created_at")?),
    })
}

fn run_from_row(r: &sqlx::any::AnyRow) -> Result<PlaybookRun> {
    let log: String = r.try_get("log")?;
    let alert: String = r.try_get("alert")?;
    let actions: Option<String> = r.try_get("actions").ok();
    Ok(PlaybookRun {
        id: r.try_get("id")?,
        playbook_id: r.try_get("playbook_id")?,
        alert_id: AlertId(r.try_get("alert_id")?),
        occurrence: r.try_get("occurrence")?,
        status: r.try_get("status")?,
        step: r.try_get("step")?,
        attempts: r.try_get("attempts")?,
        log: from_json(&log)?,
        created_at: Timestamp(r.try_get("created_at")?),
        finished_at: r.try_get::<Option<i64>, _>("finished_at")?.map(Timestamp),
        alert: from_json(&alert)?,
        actions: match actions {
            Some(a) => from_json(&a)?,
            None => serde_json::Value::Null,
        },
    })
}

const RUN_COLUMNS: &str = "r.id, r.playbook_id, r.alert_id, r.occurrence, r.status, r.step, \
     r.attempts, r.log, r.created_at, r.finished_at, r.alert";

impl Store {
    /// Creates a forwarding rule; a taken name is a conflict.
    pub async fn create_forward_rule(
        &self,
        name: &str,
        filter: &AlertFilter,
        destination: &serde_json::Value,
        secret: &str,
        now: Timestamp,
    ) -> Result<ForwardRule> {
        crate::sites::check_name("rule", name)?;
        filter.validate()?;
        let r = sqlx::query(
            "INSERT INTO forward_rules (name, enabled, filter, destination, secret, created_at) \
             VALUES ($1, 1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(name)
        .bind(json_text(filter)?)
        .bind(json_text(destination)?)
        .bind(secret)
        .bind(now.as_nanos())
        .fetch_one(&self.pool)
        .await?;
        Ok(ForwardRule {
            id: r.try_get("id")?,
            name: name.to_owned(),
            enabled: true,
            filter: filter.clone(),
            destination: destination.clone(),
            has_secret: !secret.is_empty(),
            created_at: now,
        })
    }

    /// Every forwarding rule, by name.
    pub async fn list_forward_rules(&self) -> Result<Vec<ForwardRule>> {
        let rows = sqlx::query(
            "SELECT id, name, enabled, filter, destination, secret, created_at \
             FROM forward_rules ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rule_from_row).collect()
    }

    /// One forwarding rule.
    pub async fn get_forward_rule(&self, id: i64) -> Result<ForwardRule> {
        let row = sqlx::query(
            "SELECT id, name, enabled, filter, destination, secret, created_at \
             FROM forward_rules WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        rule_from_row(&row)
    }

    /// One forwarding rule with its secret (for the worker only: never shown back).
    pub async fn forward_rule_secret(&self, id: i64) -> Result<(ForwardRule, String)> {
        let row = sqlx::query(
            "SELECT id, name, enabled, filter, destination, secret, created_at \
             FROM forward_rules WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok((rule_from_row(&row)?, row.try_get("secret")?))
    }

    /// Enables or disables a rule (a disabled rule queues nothing new; its queue still drains).
    pub async fn set_forward_rule_enabled(&self, id: i64, enabled: bool) -> Result<()> {
        let done = sqlx::query("UPDATE forward_rules SET enabled = $1 WHERE id = $2")
            .bind(flag(enabled))
            .bind(id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Deletes a rule and its queue.
    pub async fn delete_forward_rule(&self, id: i64) -> Result<()> {
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM forward_queue WHERE rule_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM forward_rules WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let [delivered, delivered_at] = rule_counter_names(id);
        sqlx::query("DELETE FROM forward_counters WHERE name = $1 OR name = $2")
            .bind(delivered)
            .bind(delivered_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Creates a playbook; a taken name is a conflict.
    pub async fn create_playbook(
        &self,
        name: &str,
        filter: &AlertFilter,
        actions: &serde_json::Value,
        now: Timestamp,
    ) -> Result<Playbook> {
        crate::sites::check_name("playbook", name)?;
        filter.validate()?;
        let r = sqlx::query(
            "INSERT INTO playbooks (name, enabled, filter, actions, created_at) \
             VALUES ($1, 1, $2, $3, $4) RETURNING id",
        )
        .bind(name)
        .bind(json_text(filter)?)
        .bind(json_text(actions)?)
        .bind(now.as_nanos())
        .fetch_one(&self.pool)
        .await?;
        Ok(Playbook {
            id: r.try_get("id")?,
            name: name.to_owned(),
            enabled: true,
            filter: filter.clone(),
            actions: actions.clone(),
            created_at: now,
        })
    }

    /// Every playbook, by name.
    pub async fn list_playbooks(&self) -> Result<Vec<Playbook>> {
        let rows = sqlx::query(
            "SELECT id, name, enabled, filter, actions, created_at FROM playbooks ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(playbook_from_row).collect()
    }

    /// Enables or disables a playbook (a disabled playbook starts no new runs; runs already
    /// started go on).
    pub async fn set_playbook_enabled(&self, id: i64, enabled: bool) -> Result<()> {
        let done = sqlx::query("UPDATE playbooks SET enabled = $1 WHERE id = $2")
            .bind(flag(enabled))
            .bind(id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Deletes a playbook and its runs.
    pub async fn delete_playbook(&self, id: i64) -> Result<()> {
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM playbook_runs WHERE playbook_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM playbooks WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }

    /// Turns alerts that are new or changed (count or status) since the last scan into queue
    /// rows for every matching enabled rule and runs for every matching enabled playbook, and
    /// moves the cursor past them, in one transaction. At most `batch` alerts per call; the
    /// queue and the pending runs hold at most `max_queue` rows each (the rest is counted as
    /// overflow). A closed alert starts nothing new: its status change only moves the cursor.
    pub async fn forward_scan(
        &self,
        batch: i64,
        max_queue: i64,
        now: Timestamp,
    ) -> Result<ScanOutcome> {
        let mut out = ScanOutcome::default();
        let mut tx = self.write().await?;
        let rows = sqlx::query(
            "SELECT a.id, a.site_id, a.engine, a.title, a.severity, a.status, a.devices, \
             a.first_seen, a.last_seen, a.count, a.payload, a.kind, a.src_ip, a.dst_ip, \
             a.protocol, a.muted, s.count AS seen_count \
             FROM alerts a LEFT JOIN forward_seen s ON s.alert_id = a.id \
             WHERE s.alert_id IS NULL OR s.count <> a.count OR s.status <> a.status \
             ORDER BY a.id LIMIT $1",
        )
        .bind(batch.clamp(1, crate::MAX_PAGE))
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            return Ok(out);
        }
        let rules = sqlx::query("SELECT id, filter FROM forward_rules WHERE enabled = 1")
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| {
                let filter: String = r.try_get("filter")?;
                Ok((
                    r.try_get::<i64, _>("id")?,
                    from_json::<AlertFilter>(&filter)?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let playbooks = sqlx::query("SELECT id, filter FROM playbooks WHERE enabled = 1")
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| {
                let filter: String = r.try_get("filter")?;
                Ok((
                    r.try_get::<i64, _>("id")?,
                    from_json::<AlertFilter>(&filter)?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut queued: i64 = sqlx::query("SELECT COUNT(*) AS n FROM forward_queue")
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        let mut pending: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM playbook_runs WHERE status = 'pending'")
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
        let (mut overflow, mut playbook_overflow) = (0_i64, 0_i64);
        for r in &rows {
            let devices: String = r.try_get("devices")?;
            let payload: String = r.try_get("payload")?;
            let alert = ForwardAlert {
                id: AlertId(r.try_get("id")?),
                site_id: SiteId(r.try_get("site_id")?),
                engine: r.try_get("engine")?,
                title: r.try_get("title")?,
                severity: r.try_get("severity")?,
                status: r.try_get("status")?,
                // A damaged row is forwarded with what can be read rather than blocking the
                // scan forever.
                devices: serde_json::from_str(&devices).unwrap_or_default(),
                first_seen: Timestamp(r.try_get("first_seen")?),
                last_seen: Timestamp(r.try_get("last_seen")?),
                count: r.try_get("count")?,
                payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
            };
            // The columns migration 3 keeps beside the engine's document fill in what the
            // document lacks (rows inserted without one).
            let mut alert = alert;
            if !alert.payload.is_object() {
                alert.payload = serde_json::Value::Object(serde_json::Map::new());
            }
            if let serde_json::Value::Object(doc) = &mut alert.payload {
                for column in ["kind", "src_ip", "dst_ip", "protocol"] {
                    let value: Option<String> = r.try_get(column)?;
                    let missing = doc.get(column).is_none_or(|v| v.is_null());
                    if let (Some(value), true) = (value.filter(|v| !v.is_empty()), missing) {
                        doc.insert(column.to_owned(), serde_json::Value::String(value));
                    }
                }
            }
            let muted = r.try_get::<i64, _>("muted")? != 0;
            out.alerts += 1;
            let seen_count: Option<i64> = r.try_get("seen_count")?;
            // Only a new alert or a repeat is an occurrence; a status change (active, closed)
            // is not forwarded again.
            // A muted alert notifies nobody.
            let occurs = seen_count != Some(alert.count) && alert.status != "closed" && !muted;
            if occurs {
                let snapshot = json_text(&alert)?;
                for (rule, filter) in &rules {
                    if !filter.matches(&alert) {
                        continue;
                    }
                    if queued >= max_queue {
                        overflow += 1;
                        continue;
                    }
                    let done = sqlx::query(
                        "INSERT INTO forward_queue (rule_id, alert_id, occurrence, alert, \
                         attempts, next_attempt, created_at) VALUES ($1, $2, $3, $4, 0, $5, $5) \
                         ON CONFLICT (rule_id, alert_id, occurrence) DO NOTHING",
                    )
                    .bind(*rule)
                    .bind(alert.id.0)
                    .bind(alert.count)
                    .bind(snapshot.as_str())
                    .bind(now.as_nanos())
                    .execute(&mut *tx)
                    .await?;
                    let n = i64::try_from(done.rows_affected()).unwrap_or(0);
                    queued += n;
                    out.queued += usize::try_from(n).unwrap_or(0);
                }
                for (playbook, filter) in &playbooks {
                    if !filter.matches(&alert) {
                        continue;
                    }
                    if pending >= max_queue {
                        playbook_overflow += 1;
                        continue;
                    }
                    let done = sqlx::query(
                        "INSERT INTO playbook_runs (playbook_id, alert_id, occurrence, alert, \
                         status, step, attempts, next_attempt, log, created_at) \
                         VALUES ($1, $2, $3, $4, 'pending', 0, 0, $5, '[]', $5) \
                         ON CONFLICT (playbook_id, alert_id, occurrence) DO NOTHING",
                    )
                    .bind(*playbook)
                    .bind(alert.id.0)
                    .bind(alert.count)
                    .bind(snapshot.as_str())
                    .bind(now.as_nanos())
                    .execute(&mut *tx)
                    .await?;
                    let n = i64::try_from(done.rows_affected()).unwrap_or(0);
                    pending += n;
                    out.runs += usize::try_from(n).unwrap_or(0);
                }
            }
            sqlx::query(
                "INSERT INTO forward_seen (alert_id, count, status) VALUES ($1, $2, $3) \
                 ON CONFLICT (alert_id) DO UPDATE SET count = excluded.count, \
                 status = excluded.status",
            )
            .bind(alert.id.0)
            .bind(alert.count)
            .bind(alert.status.as_str())
            .execute(&mut *tx)
            .await?;
        }
        for (name, n) in [
            ("overflow", overflow),
            ("playbook_overflow", playbook_overflow),
        ] {
            if n > 0 {
                sqlx::query("UPDATE forward_counters SET value = value + $1 WHERE name = $2")
                    .bind(n)
                    .bind(name)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        out.overflow = usize::try_from(overflow + playbook_overflow).unwrap_or(usize::MAX);
        tx.commit().await?;
        Ok(out)
    }

    /// Queue rows due at `now`, oldest first, at most `limit`.
    pub async fn forward_due(&self, now: Timestamp, limit: i64) -> Result<Vec<QueuedDelivery>> {
        let rows = sqlx::query(
            "SELECT q.id, q.rule_id, q.alert, q.attempts, r.destination, r.secret \
             FROM forward_queue q JOIN forward_rules r ON r.id = q.rule_id \
             WHERE q.next_attempt <= $1 ORDER BY q.id LIMIT $2",
        )
        .bind(now.as_nanos())
        .bind(limit.clamp(1, crate::MAX_PAGE))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let alert: String = r.try_get("alert")?;
                let destination: String = r.try_get("destination")?;
                Ok(QueuedDelivery {
                    id: r.try_get("id")?,
                    rule_id: r.try_get("rule_id")?,
                    destination: from_json(&destination)?,
                    secret: r.try_get("secret")?,
                    alert: from_json(&alert)?,
                    attempts: r.try_get("attempts")?,
                })
            })
            .collect()
    }

    /// The receiver accepted queue row `id` at `now`: it is removed and counted, in total and
    /// for its rule (with the time, shown as the rule's last delivery).
    pub async fn forward_delivered(&self, id: i64, now: Timestamp) -> Result<()> {
        let mut tx = self.write().await?;
        let rule: Option<i64> = sqlx::query("SELECT rule_id FROM forward_queue WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.try_get("rule_id"))
            .transpose()?;
        let Some(rule) = rule else {
            // Delivered twice (a second console) or its rule deleted meanwhile: nothing to count.
            return Ok(());
        };
        sqlx::query("DELETE FROM forward_queue WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE forward_counters SET value = value + 1 WHERE name = 'delivered'")
            .execute(&mut *tx)
            .await?;
        let [delivered, delivered_at] = rule_counter_names(rule);
        sqlx::query(
            "INSERT INTO forward_counters (name, value) VALUES ($1, 1) \
             ON CONFLICT (name) DO UPDATE SET value = forward_counters.value + 1",
        )
        .bind(delivered)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO forward_counters (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(delivered_at)
        .bind(now.as_nanos())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every rule's waiting messages, current error and deliveries, by rule id (one entry per
    /// rule, reading one row per rule and counter: bounded by the number of rules).
    pub async fn forward_rule_status(&self) -> Result<Vec<RuleQueueStatus>> {
        let mut out: Vec<RuleQueueStatus> = sqlx::query("SELECT id FROM forward_rules ORDER BY id")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(RuleQueueStatus {
                    rule_id: r.try_get("id")?,
                    ..RuleQueueStatus::default()
                })
            })
            .collect::<Result<_>>()?;
        let find = |out: &[RuleQueueStatus], rule: i64| {
            out.binary_search_by_key(&rule, |s| s.rule_id).ok()
        };
        for r in sqlx::query(
            "SELECT rule_id, COUNT(*) AS n, MAX(attempts) AS attempts, \
             MIN(next_attempt) AS next_attempt FROM forward_queue GROUP BY rule_id",
        )
        .fetch_all(&self.pool)
        .await?
        {
            if let Some(i) = find(&out, r.try_get("rule_id")?) {
                out[i].queued = r.try_get("n")?;
                out[i].attempts = r.try_get("attempts")?;
                out[i].next_attempt = Some(Timestamp(r.try_get("next_attempt")?));
            }
        }
        for r in sqlx::query(
            "SELECT rule_id, last_error FROM forward_queue WHERE id IN \
             (SELECT MIN(id) FROM forward_queue WHERE last_error IS NOT NULL GROUP BY rule_id)",
        )
        .fetch_all(&self.pool)
        .await?
        {
            if let Some(i) = find(&out, r.try_get("rule_id")?) {
                out[i].last_error = r.try_get("last_error")?;
            }
        }
        for r in sqlx::query("SELECT name, value FROM forward_counters WHERE name LIKE 'rule:%'")
            .fetch_all(&self.pool)
            .await?
        {
            let name: String = r.try_get("name")?;
            let value: i64 = r.try_get("value")?;
            let mut parts = name.split(':').skip(1);
            let (Some(Ok(rule)), Some(what)) = (parts.next().map(str::parse::<i64>), parts.next())
            else {
                continue;
            };
            if let Some(i) = find(&out, rule) {
                match what {
                    "delivered" => out[i].delivered = value,
                    "delivered_at" => out[i].last_delivery = Some(Timestamp(value)),
                    _ => {}
                }
            }
        }
        Ok(out)
    }

    /// Delivering queue row `id` failed: the attempt is counted, the error kept and the next
    /// attempt scheduled at `next_attempt`.
    pub async fn forward_failed(
        &self,
        id: i64,
        error: &str,
        next_attempt: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE forward_queue SET attempts = attempts + 1, last_error = $1, \
             next_attempt = $2 WHERE id = $3",
        )
        .bind(truncate(error))
        .bind(next_attempt.as_nanos())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Postpones every due row of `rule` to `next_attempt` (its receiver is down: the rows
    /// behind the failed one wait with it instead of each trying on the next round).
    pub async fn forward_defer_rule(&self, rule: i64, next_attempt: Timestamp) -> Result<()> {
        sqlx::query(
            "UPDATE forward_queue SET next_attempt = $1 WHERE rule_id = $2 AND next_attempt < $1",
        )
        .bind(next_attempt.as_nanos())
        .bind(rule)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The rows of the devices with these keys in `site` (at most 100 keys looked up).
    pub async fn forward_device_refs(
        &self,
        site: SiteId,
        keys: &[String],
    ) -> Result<Vec<crate::DeviceRef>> {
        let keys = &keys[..keys.len().min(100)];
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = crate::db::Sql::new("SELECT id FROM devices WHERE site_id = ");
        sql.bind(site.0).push(" AND device_key IN (");
        for (i, key) in keys.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(key.as_str());
        }
        sql.push(") ORDER BY id");
        sql.query()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok(crate::DeviceRef(r.try_get("id")?)))
            .collect()
    }

    /// The queue's size and counters.
    pub async fn forward_stats(&self) -> Result<ForwardStats> {
        let queued: i64 = sqlx::query("SELECT COUNT(*) AS n FROM forward_queue")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        let mut stats = ForwardStats {
            queued,
            ..ForwardStats::default()
        };
        for r in sqlx::query("SELECT name, value FROM forward_counters")
            .fetch_all(&self.pool)
            .await?
        {
            let name: String = r.try_get("name")?;
            let value: i64 = r.try_get("value")?;
            match name.as_str() {
                "delivered" => stats.delivered = value,
                "overflow" => stats.overflow = value,
                "playbook_overflow" => stats.playbook_overflow = value,
                _ => {}
            }
        }
        Ok(stats)
    }

    /// Pending playbook runs due at `now`, oldest first, with their playbook's actions.
    pub async fn playbook_runs_due(&self, now: Timestamp, limit: i64) -> Result<Vec<PlaybookRun>> {
        let rows = sqlx::query(&format!(
            "SELECT {RUN_COLUMNS}, p.actions FROM playbook_runs r \
             JOIN playbooks p ON p.id = r.playbook_id \
             WHERE r.status = 'pending' AND r.next_attempt <= $1 ORDER BY r.id LIMIT $2"
        ))
        .bind(now.as_nanos())
        .bind(limit.clamp(1, crate::MAX_PAGE))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(run_from_row).collect()
    }

    /// The most recent runs (of one playbook, or all), newest first.
    pub async fn list_playbook_runs(
        &self,
        playbook: Option<i64>,
        limit: i64,
    ) -> Result<Vec<PlaybookRun>> {
        let rows = sqlx::query(&format!(
            "SELECT {RUN_COLUMNS} FROM playbook_runs r \
             WHERE ($1 < 0 OR r.playbook_id = $1) ORDER BY r.id DESC LIMIT $2"
        ))
        .bind(playbook.unwrap_or(-1))
        .bind(limit.clamp(1, crate::MAX_PAGE))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(run_from_row).collect()
    }

    /// Records an attempt of run `id`: the step reached, log lines appended (the log keeps its
    /// last lines), and either finished (`status` `done` or `failed`) or retried at
    /// `next_attempt` (`status` `pending`).
    pub async fn playbook_run_progress(
        &self,
        id: i64,
        step: i64,
        status: &str,
        lines: &[String],
        next_attempt: Timestamp,
        now: Timestamp,
    ) -> Result<()> {
        if !["pending", "done", "failed"].contains(&status) {
            return Err(StoreError::Invalid(format!(
                "unknown run status {status:?}"
            )));
        }
        let mut tx = self.write().await?;
        let log: String = sqlx::query("SELECT log FROM playbook_runs WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?
            .try_get("log")?;
        let mut log: Vec<String> = from_json(&log)?;
        log.extend(lines.iter().map(|l| truncate(l)));
        let excess = log.len().saturating_sub(MAX_LOG_LINES);
        log.drain(..excess);
        let finished = (status != "pending").then_some(now.as_nanos());
        sqlx::query(
            "UPDATE playbook_runs SET step = $1, status = $2, log = $3, attempts = attempts + 1, \
             next_attempt = $4, finished_at = $5 WHERE id = $6",
        )
        .bind(step)
        .bind(status)
        .bind(json_text(&log)?)
        .bind(next_attempt.as_nanos())
        .bind(finished)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets an alert's severity (a playbook's "raise severity"), recorded in the alert's
    /// history under `who`.
    pub async fn forward_set_alert_severity(
        &self,
        alert: AlertId,
        severity: &str,
        who: &str,
        now: Timestamp,
    ) -> Result<()> {
        if !SEVERITIES.contains(&severity) {
            return Err(StoreError::Invalid(format!(
                "unknown severity {severity:?}"
            )));
        }
        self.forward_set_alert_column(alert, "severity", severity, who, now)
            .await
    }

    /// Sets an alert's status (a playbook's "close as expected"), recorded in the alert's
    /// history under `who`.
    pub async fn forward_set_alert_status(
        &self,
        alert: AlertId,
        status: crate::AlertStatus,
        who: &str,
        now: Timestamp,
    ) -> Result<()> {
        self.forward_set_alert_column(alert, "status", status.as_str(), who, now)
            .await
    }

    async fn forward_set_alert_column(
        &self,
        alert: AlertId,
        column: &str,
        value: &str,
        who: &str,
        now: Timestamp,
    ) -> Result<()> {
        // `column` is one of two fixed names, never input.
        let column = if column == "status" {
            "status"
        } else {
            "severity"
        };
        let mut tx = self.write().await?;
        let old: String = sqlx::query(&format!("SELECT {column} AS v FROM alerts WHERE id = $1"))
            .bind(alert.0)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?
            .try_get("v")?;
        if old != value {
            sqlx::query(&format!("UPDATE alerts SET {column} = $1 WHERE id = $2"))
                .bind(value)
                .bind(alert.0)
                .execute(&mut *tx)
                .await?;
            let detail = format!("{old} -> {value}");
            crate::alert_workflow::history(&mut tx, alert, now, who, column, &detail).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(severity: &str, engine: &str, protocol: Option<&str>) -> ForwardAlert {
        ForwardAlert {
            id: AlertId(1),
            site_id: SiteId(1),
            engine: engine.to_owned(),
            title: "t".to_owned(),
            severity: severity.to_owned(),
            status: "new".to_owned(),
            devices: vec![],
            first_seen: Timestamp(0),
            last_seen: Timestamp(0),
            count: 1,
            payload: serde_json::json!({ "protocol": protocol }),
        }
    }

    #[test]
    fn filters_match_severity_engine_site_protocol() {
        let f = AlertFilter {
            min_severity: Some("major".to_owned()),
            engines: vec!["policy".to_owned()],
            sites: vec![SiteId(1)],
            protocols: vec!["Modbus".to_owned()],
            kinds: vec![],
        };
        assert!(f.validate().is_ok());
        assert!(f.matches(&alert("critical", "policy", Some("modbus"))));
        assert!(f.matches(&alert("major", "policy", Some("modbus"))));
        assert!(!f.matches(&alert("minor", "policy", Some("modbus"))));
        assert!(!f.matches(&alert("major", "anomaly", Some("modbus"))));
        assert!(!f.matches(&alert("major", "policy", Some("s7comm"))));
        assert!(!f.matches(&alert("major", "policy", None)));
        assert!(AlertFilter::default().matches(&alert("warning", "x", None)));
        let by_kind = AlertFilter {
            kinds: vec!["Policy.Unauthorized_Write".to_owned()],
            ..AlertFilter::default()
        };
        let mut write = alert("minor", "policy", None);
        write.payload = serde_json::json!({ "kind": "policy.unauthorized_write" });
        assert!(by_kind.matches(&write));
        assert!(!by_kind.matches(&alert("minor", "policy", None)));
        // Filters stored before kinds existed read the same, and an empty list is not written.
        let old: AlertFilter = serde_json::from_str(r#"{"engines":["policy"]}"#).unwrap();
        assert!(old.kinds.is_empty());
        assert!(!serde_json::to_string(&old).unwrap().contains("kinds"));
        let bad = AlertFilter {
            min_severity: Some("urgent".to_owned()),
            ..AlertFilter::default()
        };
        assert!(bad.validate().is_err());
    }
}
