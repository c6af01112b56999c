//! History: what a console stores each time an initiative's score or inputs change, why it
//! changed (inferred by diffing two snapshots), daily trends, drift and score-drop events.

use std::collections::{BTreeMap, BTreeSet};

use ironward_model::Timestamp;
use serde::{Deserialize, Serialize};

use crate::catalog::Weight;
use crate::evaluate::Initiative;
use crate::settings::{Settings, StateKind};

/// Nanoseconds in a UTC day.
pub const DAY_NANOS: i64 = 86_400 * 1_000_000_000;

/// The most assets a score change names.
pub const TOP_ASSETS: usize = 100;

/// The smallest drop of the score within 24 hours that makes a score-drop event.
pub const SCORE_DROP_POINTS: f64 = 2.0;

/// One metric as it stood in a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSnapshot {
    /// Metric id.
    pub id: String,
    /// Weight in force.
    pub weight: Weight,
    /// Affected devices.
    pub affected: u64,
    /// Applicable devices.
    pub total: u64,
    /// Progress, None when not applicable.
    pub progress: Option<f64>,
    /// Ids of the affected devices, sorted.
    pub affected_devices: Vec<String>,
    /// Ids of devices not counted only because of a risk acceptance or exception, sorted.
    #[serde(default)]
    pub accepted_devices: Vec<String>,
}

/// What a console stores each time an initiative's score (or its inputs) changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Initiative id.
    pub initiative: String,
    /// When it was taken.
    pub time: Timestamp,
    /// The score then.
    pub score: Option<f64>,
    /// Per metric: id, weight, affected, total, progress, affected device ids.
    pub metrics: Vec<MetricSnapshot>,
    /// Recommendation states in force (user-set ones; absent means computed), sorted by id.
    pub states: Vec<(String, StateKind)>,
    /// TI package version in force (None: none).
    pub vulnerability_data: Option<String>,
    /// Ids of every device applicable to one of the initiative's metrics, sorted: tells devices
    /// that left the inventory from devices that were fixed.
    #[serde(default)]
    pub devices: Vec<String>,
}

impl Snapshot {
    /// The snapshot of an evaluated initiative under these settings.
    pub fn of(
        initiative: &Initiative,
        settings: &Settings,
        vulnerability_data: Option<&str>,
        time: Timestamp,
    ) -> Snapshot {
        let recommendations: BTreeSet<&str> = initiative
            .metrics
            .iter()
            .flat_map(|m| m.recommendations.iter().map(String::as_str))
            .collect();
        let states = recommendations
            .into_iter()
            .filter_map(|r| settings.state_of(r).map(|s| (r.to_owned(), s.kind)))
            .collect();
        Snapshot {
            initiative: initiative.id.clone(),
            time,
            score: initiative.score,
            metrics: initiative
                .metrics
                .iter()
                .map(|m| MetricSnapshot {
                    id: m.id.clone(),
                    weight: m.weight,
                    affected: m.affected,
                    total: m.total,
                    progress: m.progress,
                    affected_devices: m.affected_devices.clone(),
                    accepted_devices: m.accepted_devices.clone(),
                })
                .collect(),
            states,
            vulnerability_data: vulnerability_data.map(str::to_owned),
            devices: initiative.devices.clone(),
        }
    }
}

/// Why a score changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    /// Devices appeared in the initiative's scope.
    DevicesAdded {
        /// How many.
        count: u64,
    },
    /// Devices left the initiative's scope (removed from the inventory or reclassified).
    DevicesRemoved {
        /// How many.
        count: u64,
    },
    /// Devices still present stopped being affected by a metric.
    DevicesFixed {
        /// How many distinct devices.
        count: u64,
    },
    /// Devices already present became affected by a metric.
    DevicesNewlyAffected {
        /// How many distinct devices.
        count: u64,
    },
    /// A recommendation's user-set state changed (absent means computed: Active).
    RecommendationStateChanged {
        /// Recommendation id.
        recommendation: String,
        /// State before.
        from: StateKind,
        /// State after.
        to: StateKind,
    },
    /// A metric's weight changed.
    WeightChanged {
        /// Metric id.
        metric: String,
        /// Weight before.
        from: Weight,
        /// Weight after.
        to: Weight,
    },
    /// The threat-intelligence package in force changed.
    VulnerabilityDataChanged {
        /// Version before.
        from: Option<String>,
        /// Version after.
        to: Option<String>,
    },
}

fn devices(count: u64) -> String {
    if count == 1 {
        "1 device".to_owned()
    } else {
        format!("{count} devices")
    }
}

fn weight_name(weight: Weight) -> &'static str {
    match weight {
        Weight::High => "high",
        Weight::Medium => "medium",
        Weight::Low => "low",
        Weight::RiskAccepted => "risk accepted",
    }
}

fn state_name(state: StateKind) -> &'static str {
    match state {
        StateKind::Active => "active",
        StateKind::Resolved => "resolved",
        StateKind::RiskAccepted => "risk accepted",
        StateKind::Exception => "exception",
    }
}

impl Reason {
    /// One sentence for people.
    pub fn describe(&self) -> String {
        match self {
            // Added or removed: new to (or gone from) the inventory, or reclassified into (or
            // out of) the initiative's domain — the snapshot cannot tell which.
            Reason::DevicesAdded { count } => format!("{} added.", devices(*count)),
            Reason::DevicesRemoved { count } => format!("{} removed.", devices(*count)),
            Reason::DevicesFixed { count } => format!("{} fixed.", devices(*count)),
            Reason::DevicesNewlyAffected { count } => {
                format!("{} newly affected.", devices(*count))
            }
            Reason::RecommendationStateChanged {
                recommendation,
                from,
                to,
            } => format!(
                "Recommendation {recommendation} changed from {} to {}.",
                state_name(*from),
                state_name(*to)
            ),
            Reason::WeightChanged { metric, from, to } => format!(
                "Weight of metric {metric} changed from {} to {}.",
                weight_name(*from),
                weight_name(*to)
            ),
            Reason::VulnerabilityDataChanged { from, to } => format!(
                "Vulnerability data changed from {} to {}.",
                from.as_deref().unwrap_or("none"),
                to.as_deref().unwrap_or("none")
            ),
        }
    }
}

/// How one device's standing in one metric changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetChangeKind {
    /// No longer affected, still present.
    Fixed,
    /// Affected now, present before.
    NewlyAffected,
    /// Affected and new in the scope.
    Added,
    /// Was affected and left the scope.
    Removed,
    /// No longer counted because a recommendation covering it was risk-accepted or excepted.
    Accepted,
    /// Counted again because a risk acceptance or exception covering it ended.
    AcceptanceEnded,
}

/// One device behind a score change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetChange {
    /// Device id.
    pub device: String,
    /// Metric id.
    pub metric: String,
    /// What happened.
    pub change: AssetChangeKind,
}

/// A change of an initiative's score, with its reasons and the devices behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreChange {
    /// Initiative id.
    pub initiative: String,
    /// When (the newer snapshot's time).
    pub time: Timestamp,
    /// Score before (None: none or no earlier snapshot).
    pub from: Option<f64>,
    /// Score after.
    pub to: Option<f64>,
    /// Why, in a fixed order: TI, weights, states, devices added/removed/fixed/newly affected.
    pub reasons: Vec<Reason>,
    /// At most 100, most impactful first (weight of the metric, then device id, then metric).
    pub top_assets: Vec<AssetChange>,
}

fn same_score(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() < 1e-9,
        (None, None) => true,
        _ => false,
    }
}

fn sorted_set(ids: &[String]) -> BTreeSet<&str> {
    ids.iter().map(String::as_str).collect()
}

/// None when nothing a user would see changed (score, metric counts, weights, states, TI version).
pub fn compare(previous: Option<&Snapshot>, next: &Snapshot) -> Option<ScoreChange> {
    let empty = Snapshot {
        initiative: next.initiative.clone(),
        time: next.time,
        score: None,
        metrics: Vec::new(),
        states: Vec::new(),
        vulnerability_data: None,
        devices: Vec::new(),
    };
    let first = previous.is_none();
    let prev = previous.unwrap_or(&empty);
    let mut reasons = Vec::new();

    if prev.vulnerability_data != next.vulnerability_data {
        reasons.push(Reason::VulnerabilityDataChanged {
            from: prev.vulnerability_data.clone(),
            to: next.vulnerability_data.clone(),
        });
    }
    let prev_metrics: BTreeMap<&str, &MetricSnapshot> =
        prev.metrics.iter().map(|m| (m.id.as_str(), m)).collect();
    for m in &next.metrics {
        if let Some(p) = prev_metrics.get(m.id.as_str()) {
            if p.weight != m.weight {
                reasons.push(Reason::WeightChanged {
                    metric: m.id.clone(),
                    from: p.weight,
                    to: m.weight,
                });
            }
        }
    }
    let prev_states: BTreeMap<&str, StateKind> =
        prev.states.iter().map(|(r, k)| (r.as_str(), *k)).collect();
    let next_states: BTreeMap<&str, StateKind> =
        next.states.iter().map(|(r, k)| (r.as_str(), *k)).collect();
    let recs: BTreeSet<&str> = prev_states
        .keys()
        .chain(next_states.keys())
        .copied()
        .collect();
    for r in recs {
        let from = prev_states.get(r).copied().unwrap_or(StateKind::Active);
        let to = next_states.get(r).copied().unwrap_or(StateKind::Active);
        if from != to {
            reasons.push(Reason::RecommendationStateChanged {
                recommendation: r.to_owned(),
                from,
                to,
            });
        }
    }

    let (prev_devices, next_devices) = (sorted_set(&prev.devices), sorted_set(&next.devices));
    let added = next_devices.difference(&prev_devices).count() as u64;
    let removed = prev_devices.difference(&next_devices).count() as u64;

    let mut changes: Vec<(Weight, AssetChange)> = Vec::new();
    let (mut fixed, mut newly) = (BTreeSet::new(), BTreeSet::new());
    let no_devices: Vec<String> = Vec::new();
    let mut counts_changed = prev.metrics.len() != next.metrics.len();
    for m in &next.metrics {
        let p = prev_metrics.get(m.id.as_str());
        counts_changed |= p.is_none_or(|p| p.affected != m.affected || p.total != m.total);
        let before = sorted_set(p.map_or(&no_devices, |p| &p.affected_devices));
        let after = sorted_set(&m.affected_devices);
        let accepted_before = sorted_set(p.map_or(&no_devices, |p| &p.accepted_devices));
        let accepted_after = sorted_set(&m.accepted_devices);
        for &d in before.difference(&after) {
            let change = if !next_devices.contains(d) {
                AssetChangeKind::Removed
            } else if accepted_after.contains(d) {
                AssetChangeKind::Accepted
            } else {
                fixed.insert(d);
                AssetChangeKind::Fixed
            };
            changes.push((
                m.weight,
                AssetChange {
                    device: d.to_owned(),
                    metric: m.id.clone(),
                    change,
                },
            ));
        }
        for &d in after.difference(&before) {
            let change = if !prev_devices.contains(d) {
                AssetChangeKind::Added
            } else if accepted_before.contains(d) {
                AssetChangeKind::AcceptanceEnded
            } else {
                newly.insert(d);
                AssetChangeKind::NewlyAffected
            };
            changes.push((
                m.weight,
                AssetChange {
                    device: d.to_owned(),
                    metric: m.id.clone(),
                    change,
                },
            ));
        }
    }
    // Metrics that left the catalog: their affected devices are no longer counted.
    for p in &prev.metrics {
        if !next.metrics.iter().any(|m| m.id == p.id) {
            counts_changed = true;
        }
    }
    if added > 0 {
        reasons.push(Reason::DevicesAdded { count: added });
    }
    if removed > 0 {
        reasons.push(Reason::DevicesRemoved { count: removed });
    }
    if !fixed.is_empty() {
        reasons.push(Reason::DevicesFixed {
            count: fixed.len() as u64,
        });
    }
    if !newly.is_empty() {
        reasons.push(Reason::DevicesNewlyAffected {
            count: newly.len() as u64,
        });
    }

    if !first && reasons.is_empty() && !counts_changed && same_score(prev.score, next.score) {
        return None;
    }
    // Most impactful first: the heavier the metric, the more its devices move the score.
    changes.sort_by(|(wa, a), (wb, b)| {
        wb.factor()
            .total_cmp(&wa.factor())
            .then_with(|| a.device.cmp(&b.device))
            .then_with(|| a.metric.cmp(&b.metric))
    });
    changes.truncate(TOP_ASSETS);
    Some(ScoreChange {
        initiative: next.initiative.clone(),
        time: next.time,
        from: prev.score,
        to: next.score,
        reasons,
        top_assets: changes.into_iter().map(|(_, c)| c).collect(),
    })
}

/// One day of a trend.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrendPoint {
    /// Midnight UTC starting the day.
    pub day_start: Timestamp,
    /// The last score known by the end of the day (None before the first point).
    pub score: Option<f64>,
}

/// The last score at or before `time` (None if there is none, or it was None).
fn score_at(sorted: &[(Timestamp, Option<f64>)], time: Timestamp) -> Option<Option<f64>> {
    let n = sorted.partition_point(|(t, _)| *t <= time);
    n.checked_sub(1).map(|i| sorted[i].1)
}

fn sorted_points(points: &[(Timestamp, Option<f64>)]) -> Vec<(Timestamp, Option<f64>)> {
    let mut sorted = points.to_vec();
    // Stable: of two points at one instant the later-recorded one counts.
    sorted.sort_by_key(|(t, _)| *t);
    sorted
}

/// One point per day for the `days` days ending at `now` (the last score of each day; days
/// before the first point are None; days without a change carry the previous score). Points
/// after `now` are ignored.
pub fn trend(points: &[(Timestamp, Option<f64>)], now: Timestamp, days: u32) -> Vec<TrendPoint> {
    let sorted = sorted_points(points);
    let today = now.0.div_euclid(DAY_NANOS);
    (0..i64::from(days))
        .rev()
        .map(|back| {
            let day = today - back;
            let day_start = day.saturating_mul(DAY_NANOS);
            // The last score of the day: at or before its last nanosecond, never after now.
            let end = day_start.saturating_add(DAY_NANOS - 1).min(now.0);
            TrendPoint {
                day_start: Timestamp(day_start),
                score: score_at(&sorted, Timestamp(end)).flatten(),
            }
        })
        .collect()
}

/// Score now minus score `days` ago (None if either is unknown).
pub fn drift(points: &[(Timestamp, Option<f64>)], now: Timestamp, days: u32) -> Option<f64> {
    let sorted = sorted_points(points);
    let then = Timestamp(
        now.0
            .saturating_sub(i64::from(days).saturating_mul(DAY_NANOS)),
    );
    let current = score_at(&sorted, now).flatten()?;
    let before = score_at(&sorted, then).flatten()?;
    Some(current - before)
}

/// A drop of the score within 24 hours.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScoreDrop {
    /// The highest score in the 24 hours before the last point.
    pub from: f64,
    /// The last score.
    pub to: f64,
    /// When the score was `from`: its latest point in the 24 hours, or the start of the 24 hours
    /// when it was already in force then.
    pub since: Timestamp,
}

/// A drop of >= 2.0 points of the score within 24 hours, ending at the last point. The score
/// in force when the 24 hours began counts (a change recorded two days earlier still held then).
pub fn score_drop(points: &[(Timestamp, Option<f64>)]) -> Option<ScoreDrop> {
    let sorted = sorted_points(points);
    let &(last_time, last) = sorted.last()?;
    let to = last?;
    let window_start = Timestamp(last_time.0.saturating_sub(DAY_NANOS));
    let mut best: Option<(f64, Timestamp)> = score_at(&sorted, window_start)
        .flatten()
        .map(|s| (s, window_start));
    for &(time, score) in sorted.iter().filter(|(t, _)| *t > window_start) {
        if let Some(score) = score {
            if best.is_none_or(|(b, _)| score >= b) {
                best = Some((score, time));
            }
        }
    }
    let (from, since) = best?;
    (from - to >= SCORE_DROP_POINTS - 1e-9).then_some(ScoreDrop { from, to, since })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(day: i64, hour: i64) -> Timestamp {
        Timestamp(day * DAY_NANOS + hour * 3_600_000_000_000)
    }

    #[test]
    fn trend_takes_the_last_score_of_each_day_and_ignores_the_future() {
        // Unsorted input; day 10 has two points (the 20:00 one is the day's last); a point
        // after now is ignored.
        let points = [
            (t(10, 20), Some(70.0)),
            (t(10, 8), Some(60.0)),
            (t(12, 1), None),
            (t(13, 9), Some(90.0)),
            (t(13, 23), Some(10.0)),
        ];
        let trend = trend(&points, t(13, 12), 5);
        let scores: Vec<Option<f64>> = trend.iter().map(|p| p.score).collect();
        assert_eq!(scores, [None, Some(70.0), Some(70.0), None, Some(90.0)]);
        assert_eq!(trend[0].day_start, t(9, 0));
        assert!(super::trend(&points, t(13, 12), 0).is_empty());
        // Far-away clocks do not overflow.
        assert_eq!(super::trend(&points, Timestamp(i64::MAX), 3).len(), 3);
        assert_eq!(super::trend(&points, Timestamp(i64::MIN), 3).len(), 3);
        assert_eq!(drift(&points, Timestamp(i64::MIN), u32::MAX), None);
    }

    #[test]
    fn score_drop_needs_two_points_within_a_day() {
        assert_eq!(score_drop(&[]), None);
        assert_eq!(score_drop(&[(t(1, 0), Some(50.0))]), None);
        // 1.99 points: no event; 2.0: an event since the high point.
        assert_eq!(
            score_drop(&[(t(1, 0), Some(80.0)), (t(1, 5), Some(78.01))]),
            None
        );
        let drop = score_drop(&[
            (t(1, 0), Some(80.0)),
            (t(1, 2), Some(79.0)),
            (t(1, 5), Some(78.0)),
        ]);
        assert_eq!(
            drop,
            Some(ScoreDrop {
                from: 80.0,
                to: 78.0,
                since: t(1, 0)
            })
        );
        // The score in force when the 24 hours began counts: 95 held from day 1 00:00 until
        // day 2 06:00, so at day 1 12:00 it was 95 → a drop of 11 since then.
        let points = [
            (t(1, 0), Some(95.0)),
            (t(2, 6), Some(85.0)),
            (t(2, 12), Some(84.0)),
        ];
        let drop = score_drop(&points);
        assert_eq!(
            drop,
            Some(ScoreDrop {
                from: 95.0,
                to: 84.0,
                since: t(1, 12)
            })
        );
        // A high that ended before the 24 hours does not: 85 was in force at day 1 12:00.
        let points = [
            (t(1, 0), Some(95.0)),
            (t(1, 6), Some(85.0)),
            (t(2, 12), Some(84.0)),
        ];
        assert_eq!(score_drop(&points), None);
        // The last score unknown: no event.
        assert_eq!(score_drop(&[(t(1, 0), Some(80.0)), (t(1, 5), None)]), None);
    }

    #[test]
    fn compare_orders_assets_by_metric_weight_then_device() {
        let metric = |id: &str, weight, affected: &[&str]| MetricSnapshot {
            id: id.into(),
            weight,
            affected: affected.len() as u64,
            total: 3,
            progress: Some(0.0),
            affected_devices: affected.iter().map(|s| (*s).to_owned()).collect(),
            accepted_devices: Vec::new(),
        };
        let snapshot = |metrics, score| Snapshot {
            initiative: "i".into(),
            time: Timestamp(1),
            score: Some(score),
            metrics,
            states: Vec::new(),
            vulnerability_data: None,
            devices: vec!["a".into(), "b".into(), "c".into()],
        };
        let before = snapshot(
            vec![
                metric("low", Weight::Low, &[]),
                metric("high", Weight::High, &[]),
            ],
            100.0,
        );
        let after = snapshot(
            vec![
                metric("low", Weight::Low, &["a"]),
                metric("high", Weight::High, &["c", "b"]),
            ],
            50.0,
        );
        let change = compare(Some(&before), &after).unwrap_or_else(|| panic!("changed"));
        let order: Vec<(&str, &str)> = change
            .top_assets
            .iter()
            .map(|a| (a.device.as_str(), a.metric.as_str()))
            .collect();
        assert_eq!(order, [("b", "high"), ("c", "high"), ("a", "low")]);
        assert_eq!(change.reasons, [Reason::DevicesNewlyAffected { count: 3 }]);
        assert_eq!(compare(Some(&after), &after), None);
    }
}
