//! The posture history job: a background task of `ironward serve` that evaluates every
//! security initiative for each site and for all sites together, compares the result with the
//! snapshot stored last ([`ironward_posture::compare`]), and stores a snapshot with the change
//! (reasons and the assets behind it) whenever something a user would see changed. The
//! initiatives' trend, drift and history are read from these rows.
//!
//! It evaluates soon after it is nudged ([`PostureNudge::changed`]: an ingest committed, a
//! recommendation state, a weight or a target changed, a threat-intelligence package arrived or
//! a matching pass stored results, a vulnerability exclusion was added or removed). Every
//! [`INTERVAL`] it also looks whether a round is due without a nudge — a recommendation state
//! expired, or [`FULL_INTERVAL`] passed since the last round (for what changes without telling
//! it: a site's learning window ending, baseline entries learned from alerts) — and otherwise
//! does nothing, so a quiet console costs nothing. A round reads the inventory once for all
//! sites (one set-based query), evaluates each site's share on its own, compares the snapshots
//! with those kept in memory from the last round and writes only what changed.
//!
//! A drop of the score by 2 points or more within a day ([`ironward_posture::score_drop`])
//! raises the alert [`KIND`] in the site, through the store path of sensor alerts (exclusion
//! rules, aggregation, workflow, forwarding and playbooks), at most once per initiative, site
//! and day: the occurrence is stamped with the start of its UTC day, and the store does not
//! count an occurrence it already holds. Alerts belong to a site, so a drop of the all-sites
//! score is recorded in the history (`score_drop`) but raises no alert of its own (the site
//! whose score fell raises it).

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ironward_model::{Alert, AlertEngine, DeviceId, Evidence, Severity, Timestamp};
use ironward_posture::{compare, score_drop, ScoreChange, ScoreDrop, Snapshot};
use ironward_store::{NewScoreSnapshot, Raised, Scope, SiteId, Store, StoreError};
use tokio::sync::Notify;

use crate::posture_service;

/// How often the job looks whether a round is due without a nudge.
pub const INTERVAL: Duration = Duration::from_secs(60);

/// The job evaluates at least this often, nudged or not.
pub const FULL_INTERVAL: Duration = Duration::from_secs(600);

/// After a nudge, the job waits this long so that a burst of changes is one round.
const SETTLE: Duration = Duration::from_secs(2);

/// The alert kind of a score drop.
pub const KIND: &str = "posture.score_drop";

const DAY: i64 = 86_400 * 1_000_000_000;

/// Most devices a score-drop alert names.
pub const MAX_ALERT_DEVICES: usize = 20;

/// Wakes the job early (kept in [`crate::AppState`]; cheap to clone), and counts the changes
/// so that answers computed before one are not served after it ([`crate::posture_cache`]).
#[derive(Debug, Clone, Default)]
pub struct PostureNudge(Arc<Nudge>);

#[derive(Debug, Default)]
struct Nudge {
    wake: Notify,
    generation: AtomicU64,
}

impl PostureNudge {
    /// A nudge nobody listens to yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Something the scores depend on changed (call it after the change is committed):
    /// evaluate soon, and let no posture computed before it be served again.
    pub fn changed(&self) {
        self.0.generation.fetch_add(1, Ordering::SeqCst);
        self.0.wake.notify_one();
    }

    /// How many changes were announced so far. Read it before reading the store: an answer
    /// computed from what was read then is current for this generation at least.
    pub fn generation(&self) -> u64 {
        self.0.generation.load(Ordering::SeqCst)
    }

    async fn wait(&self) {
        self.0.wake.notified().await;
    }
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    /// Views evaluated (each site with data, and all sites).
    pub views: usize,
    /// Snapshots stored (an initiative of a view whose score or inputs changed).
    pub changes: usize,
    /// Score-drop alerts stored.
    pub alerts: usize,
    /// Score-drop alerts an exclusion rule suppressed.
    pub suppressed: usize,
}

/// The job's memory between rounds: the last snapshot of each (initiative, view), so that an
/// unchanged round reads no history.
#[derive(Debug, Default)]
pub struct PostureJob {
    last: HashMap<(String, Option<SiteId>), Snapshot>,
    /// When a round is due without a nudge (`None`: before the first round).
    next_due: Option<Timestamp>,
}

/// Text of a timestamp for people (RFC 3339, UTC).
fn when(t: Timestamp) -> String {
    t.to_rfc3339()
}

/// The start of the UTC day of `t`.
pub fn day_start(t: Timestamp) -> Timestamp {
    Timestamp(t.as_nanos().div_euclid(DAY) * DAY)
}

/// The alert of a score drop of `initiative` (its display name `name`) in `site`.
pub fn drop_alert(
    initiative: &str,
    name: &str,
    site: &str,
    drop: &ScoreDrop,
    change: &ScoreChange,
    now: Timestamp,
) -> Alert {
    let reasons: Vec<String> = change.reasons.iter().map(|r| r.describe()).collect();
    let day = day_start(now);
    Alert {
        id: format!("{KIND}:{initiative}"),
        kind: KIND.to_owned(),
        title: format!(
            "{name} score dropped by {:.1} points in {site}",
            drop.from - drop.to
        ),
        description: format!(
            "The {name} score of site {site} fell from {:.1} to {:.1} since {}. {}",
            drop.from,
            drop.to,
            when(drop.since),
            if reasons.is_empty() {
                String::new()
            } else {
                format!("Latest change: {}.", reasons.join("; "))
            }
        ),
        engine: AlertEngine::Operational,
        severity: Severity::Minor,
        src_ip: None,
        dst_ip: None,
        devices: drop_devices(change),
        protocol: None,
        techniques: Vec::new(),
        evidence: vec![Evidence {
            time: now,
            summary: format!(
                "{name}: {:.1} → {:.1} within a day ({} assets behind the latest change)",
                drop.from,
                drop.to,
                change.top_assets.len()
            ),
            frame: None,
        }],
        remediation: format!(
            "Open the {name} initiative's history to see which devices and changes lowered the score, and work through its recommendations with the highest score impact."
        ),
        count: 1,
        first_seen: day,
        last_seen: day,
        pcap: None,
    }
}

/// The devices behind the change that ended a drop, most impactful first, each once (at most
/// [`MAX_ALERT_DEVICES`]): the alert links them, and exclusion rules on a device apply.
fn drop_devices(change: &ScoreChange) -> Vec<DeviceId> {
    let mut devices: Vec<DeviceId> = Vec::new();
    for asset in &change.top_assets {
        if devices.len() == MAX_ALERT_DEVICES {
            break;
        }
        if !devices.iter().any(|d| d.0 == asset.device) {
            devices.push(DeviceId(asset.device.clone()));
        }
    }
    devices
}

impl PostureJob {
    /// A job that remembers nothing yet (it reads the last stored snapshots on its first
    /// round).
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a round is due at `now` without a nudge: none ran yet, a recommendation state
    /// in force at the last round has expired since, or [`FULL_INTERVAL`] has passed.
    pub fn due(&self, now: Timestamp) -> bool {
        self.next_due.is_none_or(|due| now >= due)
    }

    /// One round at `now`.
    pub async fn run_once(&mut self, store: &Store, now: Timestamp) -> Result<Round, StoreError> {
        let full = i64::try_from(FULL_INTERVAL.as_nanos()).unwrap_or(i64::MAX);
        let mut next_due = Timestamp(now.as_nanos().saturating_add(full));
        let mut round = Round::default();
        let sites = store.list_sites(&Scope::All).await?;
        let names: BTreeMap<SiteId, String> =
            sites.iter().map(|s| (s.id, s.name.clone())).collect();
        let vulnerability_data = posture_service::vulnerability_data(store).await?;
        let mut views: Vec<Option<SiteId>> = vec![None];
        views.extend(sites.iter().map(|s| Some(s.id)));
        let evaluated = posture_service::current_by_site(store, &views, now).await?;
        for (view, current) in evaluated {
            for expiry in current
                .settings
                .states
                .iter()
                .filter_map(|s| s.expires_at)
                .filter(|&t| t > now)
            {
                next_due = next_due.min(expiry);
            }
            if !current.has_data {
                continue;
            }
            round.views += 1;
            for initiative in &current.initiatives {
                let snapshot = Snapshot::of(
                    initiative,
                    &current.settings,
                    vulnerability_data.as_deref(),
                    now,
                );
                let key = (initiative.id.clone(), view);
                if !self.last.contains_key(&key) {
                    let stored = store
                        .latest_score_snapshot(&Scope::All, &initiative.id, view)
                        .await?;
                    if let Some(stored) = stored {
                        match serde_json::from_str::<Snapshot>(&stored.snapshot) {
                            Ok(previous) => {
                                self.last.insert(key.clone(), previous);
                            }
                            Err(error) => tracing::warn!(
                                %error,
                                initiative = %initiative.id,
                                "stored posture snapshot unreadable: starting its history again"
                            ),
                        }
                    }
                }
                let Some(change) = compare(self.last.get(&key), &snapshot) else {
                    continue;
                };
                let drop = self
                    .drop_of(store, &initiative.id, view, &snapshot, now)
                    .await?;
                let snapshot_json = to_json(&snapshot)?;
                let change_json = to_json(&change)?;
                store
                    .append_score_snapshot(&NewScoreSnapshot {
                        initiative: &initiative.id,
                        site: view,
                        at: now,
                        score: snapshot.score,
                        snapshot: &snapshot_json,
                        change: Some(&change_json),
                        score_drop: drop.is_some(),
                    })
                    .await?;
                round.changes += 1;
                if let (Some(drop), Some(site)) = (drop, view) {
                    let site_name = names.get(&site).map_or("?", String::as_str);
                    let alert = drop_alert(
                        &initiative.id,
                        &initiative.name,
                        site_name,
                        &drop,
                        &change,
                        now,
                    );
                    match raise(store, site, &alert).await? {
                        Some(Raised::Stored) => {
                            round.alerts += 1;
                            tracing::warn!(
                                initiative = %initiative.id,
                                site = %site_name,
                                from = drop.from,
                                to = drop.to,
                                "posture score dropped"
                            );
                        }
                        Some(Raised::Suppressed) => round.suppressed += 1,
                        Some(Raised::AlreadyStored) | None => {}
                    }
                }
                self.last.insert(key, snapshot);
            }
        }
        // A deleted site's history went with it: forget its snapshots too.
        self.last.retain(|(_, view), _| views.contains(view));
        self.next_due = Some(next_due);
        Ok(round)
    }

    /// Whether the score, with `snapshot` as its newest point, dropped by 2 or more within
    /// the last day.
    async fn drop_of(
        &self,
        store: &Store,
        initiative: &str,
        view: Option<SiteId>,
        snapshot: &Snapshot,
        now: Timestamp,
    ) -> Result<Option<ScoreDrop>, StoreError> {
        let since = Timestamp(now.as_nanos().saturating_sub(DAY));
        // The store leads with the score in force at `since`: it counts from then (a score
        // that stood for a week and fell today fell within the day).
        let mut points: Vec<(Timestamp, Option<f64>)> = store
            .score_points(&Scope::All, initiative, view, since, now)
            .await?
            .into_iter()
            .map(|p| (p.at.max(since), p.score))
            .collect();
        points.push((now, snapshot.score));
        Ok(score_drop(&points))
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::Invalid(format!("posture snapshot not serialisable: {e}")))
}

/// Raises `alert` in `site` through the store path of sensor alerts, attributed to the site's
/// first sensor (every stored alert names the sensor of its site it came from); `None` when
/// the site has no sensor any more.
async fn raise(store: &Store, site: SiteId, alert: &Alert) -> Result<Option<Raised>, StoreError> {
    let sensors = store.list_sensors(&Scope::Sites(vec![site])).await?;
    let Some(sensor) = sensors.iter().min_by_key(|s| s.id.0) else {
        tracing::info!(
            site = site.0,
            "posture score drop in a site without sensors: no alert"
        );
        return Ok(None);
    };
    store.raise_sensor_alert(sensor.id, alert).await.map(Some)
}

/// Starts the job on the tokio runtime: a first round at once (so the console shows scores
/// and a first trend point right after start), then a round soon after each nudge and, looked
/// for every [`INTERVAL`], whenever one is due ([`PostureJob::due`]), until `shutdown`
/// completes. A failing round (database trouble) is logged and tried again at the next look.
pub fn spawn(
    store: Store,
    nudge: PostureNudge,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        tokio::pin!(shutdown);
        let mut job = PostureJob::new();
        let mut nudged = true;
        loop {
            let now = crate::state::now();
            if nudged || job.due(now) {
                let started = std::time::Instant::now();
                tokio::select! {
                    _ = &mut shutdown => break,
                    result = job.run_once(&store, now) => match result {
                        Ok(round) => tracing::debug!(
                            ?round,
                            seconds = started.elapsed().as_secs_f64(),
                            "posture round"
                        ),
                        Err(error) => {
                            tracing::error!(%error, "posture round failed");
                            // Try again at the next look rather than waiting for a nudge.
                            job.next_due = None;
                        }
                    }
                }
            }
            tokio::select! {
                _ = &mut shutdown => break,
                () = tokio::time::sleep(INTERVAL) => nudged = false,
                () = nudge.wait() => {
                    nudged = true;
                    tokio::select! {
                        _ = &mut shutdown => break,
                        () = tokio::time::sleep(SETTLE) => {}
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_start_at_utc_midnight() {
        // 2026-01-05T13:45:00Z → 2026-01-05T00:00:00Z.
        let t = Timestamp(1_767_571_200 * 1_000_000_000 + (13 * 3600 + 45 * 60) * 1_000_000_000);
        assert_eq!(day_start(t), Timestamp(1_767_571_200 * 1_000_000_000));
        assert_eq!(day_start(day_start(t)), day_start(t));
        assert_eq!(day_start(Timestamp(-1)), Timestamp(-DAY));
    }
}
