//! Evaluation: which devices each recommendation lists, what each metric counts, each
//! initiative's score and how many points each fix is worth.
//!
//! One pass matches every rule against every device into a bit matrix (devices ×
//! recommendations); metrics, scores and score impacts are then computed from that matrix, so the
//! whole evaluation is O(devices × recommendations) plus sorting.

use std::net::IpAddr;

use serde::Serialize;

use crate::asset::{Asset, Domain};
use crate::catalog::{Catalog, Severity, Weight, Workload};
use crate::settings::{RecommendationState, Settings, StateKind};

/// A device a recommendation lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AffectedDevice {
    /// Model `DeviceId` string.
    pub id: String,
    /// Its address, for people.
    pub ip: Option<IpAddr>,
    /// Its name, for people.
    pub name: Option<String>,
}

/// A recommendation with the devices it lists in one domain.
///
/// A definition whose devices fall into several domains yields one `Recommendation` per domain
/// (same `id`, different `domain`): each domain belongs to a different initiative, so the
/// devices to fix and the points they are worth differ. `(id, domain)` is unique; `key` spells it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    /// The definition's id (states are set per id and apply to every domain).
    pub id: String,
    /// `id/domain`, unique in one evaluation (for links and tables).
    pub key: String,
    /// One line for people.
    pub title: String,
    /// Why it matters.
    pub description: String,
    /// Concrete steps, in order.
    pub remediation: Vec<String>,
    /// The domain of the listed devices.
    pub domain: Domain,
    /// How much work the fix takes.
    pub workload: Workload,
    /// How much harm the issue can do.
    pub severity: Severity,
    /// Which evidence or engine produced it.
    pub source: String,
    /// Active (devices listed), Resolved (none), or the user-set state in force.
    pub state: StateKind,
    /// The user-set state in force, with its reason, author and expiry.
    pub state_detail: Option<RecommendationState>,
    /// Devices to fix, sorted by id.
    pub devices: Vec<AffectedDevice>,
    /// Points the recommendation's initiative gains when all its devices are fixed.
    pub score_impact: f64,
}

/// A metric of an initiative, evaluated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metric {
    /// Stable id.
    pub id: String,
    /// Name for people.
    pub name: String,
    /// What it counts.
    pub description: String,
    /// Initiative id.
    pub initiative: String,
    /// Weight in force (override or default).
    pub weight: Weight,
    /// Applicable devices listed by one of its recommendations (not risk-accepted/excepted).
    pub affected: u64,
    /// Applicable devices (devices of its domains).
    pub total: u64,
    /// 0..=100; None when total == 0 (not applicable).
    pub progress: Option<f64>,
    /// Points the initiative gains when this metric is fully fixed.
    pub score_impact: f64,
    /// Recommendation ids that feed it.
    pub recommendations: Vec<String>,
    /// Ids of the affected devices, sorted.
    pub affected_devices: Vec<String>,
    /// Ids of devices that would be affected but for a risk acceptance or exception, sorted.
    pub accepted_devices: Vec<String>,
}

/// An initiative, evaluated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Initiative {
    /// Stable id.
    pub id: String,
    /// Name for people.
    pub name: String,
    /// What it measures.
    pub description: String,
    /// The domain whose recommendations feed it.
    pub domain: Domain,
    /// None: no applicable metric (shown as "More data is required").
    pub score: Option<f64>,
    /// Target score (override or default).
    pub target: f64,
    /// Its metrics in catalog order.
    pub metrics: Vec<Metric>,
    /// Ids of every device applicable to one of its metrics, sorted: history tells devices that
    /// left the inventory from devices that were fixed by it. Not serialised (one id per device).
    #[serde(skip_serializing)]
    pub devices: Vec<String>,
}

/// The whole evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Posture {
    /// Recommendations, highest score impact first (then severity, id, domain).
    pub recommendations: Vec<Recommendation>,
    /// Initiatives in catalog order.
    pub initiatives: Vec<Initiative>,
}

/// Score = Σ wᵢ·progressᵢ / Σ wᵢ over metrics with total > 0 and weight ≠ RiskAccepted
/// (High 3, Medium 2, Low 1); None when that set is empty. Rounded to one decimal for display only.
pub fn score(metrics: &[Metric]) -> Option<f64> {
    weighted_mean(metrics.iter().map(|m| (m.weight, m.progress)))
}

fn weighted_mean(terms: impl Iterator<Item = (Weight, Option<f64>)>) -> Option<f64> {
    let (mut sum, mut weights) = (0.0, 0.0);
    for (weight, progress) in terms {
        if let Some(progress) = progress {
            sum += weight.factor() * progress;
            weights += weight.factor();
        }
    }
    (weights > 0.0).then(|| sum / weights)
}

fn progress(total: u64, affected: u64) -> Option<f64> {
    (total > 0).then(|| 100.0 * total.saturating_sub(affected) as f64 / total as f64)
}

/// Difference of two scores as points gained; float noise from the re-evaluation is not a gain.
fn gain(after: Option<f64>, before: Option<f64>) -> f64 {
    match (after, before) {
        (Some(a), Some(b)) if (a - b).abs() > 1e-9 => a - b,
        _ => 0.0,
    }
}

/// Which recommendations select which devices: one bit per (device, recommendation).
struct Matches {
    words: usize,
    bits: Vec<u64>,
}

impl Matches {
    fn compute(assets: &[Asset], catalog: &Catalog) -> Matches {
        let words = catalog.recommendations.len().div_ceil(64).max(1);
        let mut bits = vec![0u64; assets.len() * words];
        for (row, asset) in bits.chunks_mut(words).zip(assets) {
            for (r, rec) in catalog.recommendations.iter().enumerate() {
                if rec.domains.contains(&asset.domain)
                    && rec.rule.matches(asset, &catalog.end_of_support)
                {
                    row[r / 64] |= 1 << (r % 64);
                }
            }
        }
        Matches { words, bits }
    }

    fn row(&self, device: usize) -> &[u64] {
        &self.bits[device * self.words..(device + 1) * self.words]
    }

    fn has(&self, device: usize, rec: usize) -> bool {
        self.row(device)[rec / 64] & (1 << (rec % 64)) != 0
    }
}

fn mask(words: usize, recs: &[usize]) -> Vec<u64> {
    let mut mask = vec![0u64; words];
    for &r in recs {
        mask[r / 64] |= 1 << (r % 64);
    }
    mask
}

/// One evaluated metric with what the score-impact computation needs.
struct MetricWork {
    metric: Metric,
    /// Catalog indices of its recommendations.
    recs: Vec<usize>,
    /// Per entry of `recs`: devices of the initiative's domain that only this (counting)
    /// recommendation makes affected — fixing it for them removes them from `affected`.
    sole: Vec<u64>,
}

/// The whole evaluation. Deterministic: same input, same output (sorted by id/score impact).
pub fn evaluate(assets: &[Asset], catalog: &Catalog, settings: &Settings) -> Posture {
    let matches = Matches::compute(assets, catalog);
    let states: Vec<Option<&RecommendationState>> = catalog
        .recommendations
        .iter()
        .map(|r| settings.state_of(&r.id))
        .collect();
    // Devices under a risk acceptance or exception do not count against the score.
    let counting: Vec<usize> = (0..catalog.recommendations.len())
        .filter(|&r| states[r].is_none())
        .collect();
    let counting_mask = mask(matches.words, &counting);
    // Devices in id order: every list below comes out sorted without sorting strings per list.
    let mut order: Vec<usize> = (0..assets.len()).collect();
    order.sort_by(|&a, &b| assets[a].id.cmp(&assets[b].id));

    let mut initiatives = Vec::with_capacity(catalog.initiatives.len());
    let mut works: Vec<Vec<MetricWork>> = Vec::with_capacity(catalog.initiatives.len());
    for def in &catalog.initiatives {
        let mut metric_works = Vec::new();
        let mut in_scope = vec![false; assets.len()];
        for m in catalog.metrics.iter().filter(|m| m.initiative == def.id) {
            let weight = settings
                .weights
                .get(&m.id)
                .copied()
                .unwrap_or(m.default_weight);
            let recs: Vec<usize> = m
                .recommendations
                .iter()
                .filter_map(|id| catalog.recommendations.iter().position(|r| &r.id == id))
                .collect();
            let all = mask(matches.words, &recs);
            let (mut total, mut affected) = (0u64, 0u64);
            let mut sole = vec![0u64; recs.len()];
            let (mut affected_devices, mut accepted_devices) = (Vec::new(), Vec::new());
            for &d in &order {
                let asset = &assets[d];
                if !m.applies_to.contains(&asset.domain) {
                    continue;
                }
                in_scope[d] = true;
                total += 1;
                let row = matches.row(d);
                let hits: u32 = row
                    .iter()
                    .zip(&all)
                    .zip(&counting_mask)
                    .map(|((r, a), c)| (r & a & c).count_ones())
                    .sum();
                if hits > 0 {
                    affected += 1;
                    affected_devices.push(asset.id.clone());
                    if hits == 1 && asset.domain == def.domain {
                        if let Some(i) = recs
                            .iter()
                            .position(|&r| states[r].is_none() && matches.has(d, r))
                        {
                            sole[i] += 1;
                        }
                    }
                } else if row.iter().zip(&all).any(|(r, a)| r & a != 0) {
                    accepted_devices.push(asset.id.clone());
                }
            }
            metric_works.push(MetricWork {
                metric: Metric {
                    id: m.id.clone(),
                    name: m.name.clone(),
                    description: m.description.clone(),
                    initiative: def.id.clone(),
                    weight,
                    affected,
                    total,
                    progress: progress(total, affected),
                    score_impact: 0.0,
                    recommendations: m.recommendations.clone(),
                    affected_devices,
                    accepted_devices,
                },
                recs,
                sole,
            });
        }
        let current = weighted_mean(
            metric_works
                .iter()
                .map(|w| (w.metric.weight, w.metric.progress)),
        );
        for i in 0..metric_works.len() {
            let fixed = weighted_mean(metric_works.iter().enumerate().map(|(j, w)| {
                let p = if i == j {
                    w.metric.progress.map(|_| 100.0)
                } else {
                    w.metric.progress
                };
                (w.metric.weight, p)
            }));
            metric_works[i].metric.score_impact = gain(fixed, current);
        }
        initiatives.push(Initiative {
            id: def.id.clone(),
            name: def.name.clone(),
            description: def.description.clone(),
            domain: def.domain,
            score: current,
            target: settings
                .targets
                .get(&def.id)
                .copied()
                .unwrap_or(def.default_target),
            metrics: metric_works.iter().map(|w| w.metric.clone()).collect(),
            devices: order
                .iter()
                .filter(|&&d| in_scope[d])
                .map(|&d| assets[d].id.clone())
                .collect(),
        });
        works.push(metric_works);
    }

    // Points an initiative gains when recommendation `r` is fixed on its domain's devices:
    // each metric it feeds loses the devices only it made affected.
    let impact = |r: usize, domain: Domain| -> f64 {
        if states[r].is_some() {
            return 0.0;
        }
        let mut total = 0.0;
        for (initiative, metric_works) in initiatives.iter().zip(&works) {
            if initiative.domain != domain {
                continue;
            }
            let fixed = weighted_mean(metric_works.iter().map(|w| {
                let gained = w.recs.iter().position(|&x| x == r).map_or(0, |i| w.sole[i]);
                let m = &w.metric;
                (
                    m.weight,
                    progress(m.total, m.affected.saturating_sub(gained)),
                )
            }));
            total += gain(fixed, initiative.score);
        }
        total
    };

    let mut recommendations = Vec::new();
    for (r, def) in catalog.recommendations.iter().enumerate() {
        let state_detail = states[r].cloned();
        let mut listed_any = false;
        for &domain in &def.domains {
            let devices: Vec<AffectedDevice> = order
                .iter()
                .filter(|&&d| assets[d].domain == domain && matches.has(d, r))
                .map(|&d| AffectedDevice {
                    id: assets[d].id.clone(),
                    ip: assets[d].ip,
                    name: assets[d].name.clone(),
                })
                .collect();
            if devices.is_empty() {
                continue;
            }
            listed_any = true;
            recommendations.push(entry(
                def,
                domain,
                &state_detail,
                StateKind::Active,
                devices,
                impact(r, domain),
            ));
        }
        if !listed_any {
            let domain = def.domains.first().copied().unwrap_or(Domain::It);
            recommendations.push(entry(
                def,
                domain,
                &state_detail,
                StateKind::Resolved,
                Vec::new(),
                0.0,
            ));
        }
    }
    recommendations.sort_by(|a, b| {
        b.score_impact
            .total_cmp(&a.score_impact)
            .then(b.severity.cmp(&a.severity))
            .then_with(|| a.id.cmp(&b.id))
            .then(a.domain.cmp(&b.domain))
    });
    Posture {
        recommendations,
        initiatives,
    }
}

fn entry(
    def: &crate::catalog::RecommendationDef,
    domain: Domain,
    state_detail: &Option<RecommendationState>,
    computed: StateKind,
    devices: Vec<AffectedDevice>,
    score_impact: f64,
) -> Recommendation {
    Recommendation {
        id: def.id.clone(),
        key: format!("{}/{}", def.id, domain.as_str()),
        title: def.title.clone(),
        description: def.description.clone(),
        remediation: def.remediation.clone(),
        domain,
        workload: def.workload,
        severity: def.severity,
        source: def.source.clone(),
        state: state_detail.as_ref().map_or(computed, |s| s.kind),
        state_detail: state_detail.clone(),
        devices,
        score_impact,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ironward_model::Finding;

    fn plc(id: &str, findings: &[Finding]) -> Asset {
        let mut a = Asset::new(id, Domain::Ot);
        a.device_type = Some("plc".into());
        a.findings = findings.to_vec();
        a
    }

    fn initiative<'a>(posture: &'a Posture, id: &str) -> &'a Initiative {
        posture
            .initiatives
            .iter()
            .find(|i| i.id == id)
            .unwrap_or_else(|| panic!("{id}"))
    }

    fn metric<'a>(initiative: &'a Initiative, id: &str) -> &'a Metric {
        initiative
            .metrics
            .iter()
            .find(|m| m.id == id)
            .unwrap_or_else(|| panic!("{id}"))
    }

    #[test]
    fn three_plcs_one_with_telnet() {
        // 3 PLCs, 1 with telnet_in_use. OT metrics, all with total 3:
        //   ot-insecure-protocols (medium, 2): affected 1 → progress 100·2/3 = 66.67
        //   every other OT metric: affected 0 → progress 100
        //   weights: high 3 × 5 (unprotected, critical vulns, KEV, internet, IT write) = 15,
        //   medium 2 × 3 (insecure, unauthorized, unsupported) = 6, low 1 × 1 (unused) = 1;
        //   Σw = 22.
        // score = (22·100 − 2·(100 − 66.67)) / 22 = (2200 − 66.67) / 22 = 96.97
        let assets = [
            plc("ip:10.0.0.1", &[Finding::TelnetInUse]),
            plc("ip:10.0.0.2", &[]),
            plc("ip:10.0.0.3", &[]),
        ];
        let posture = evaluate(&assets, Catalog::builtin(), &Settings::default());
        let ot = initiative(&posture, "ot-security");
        let insecure = metric(ot, "ot-insecure-protocols");
        assert_eq!((insecure.affected, insecure.total), (1, 3));
        assert!((insecure.progress.unwrap_or(0.0) - 200.0 / 3.0).abs() < 1e-9);
        assert_eq!(insecure.affected_devices, ["ip:10.0.0.1"]);
        let expected = (2200.0 - 2.0 * (100.0 - 200.0 / 3.0)) / 22.0;
        assert!(
            (ot.score.unwrap_or(0.0) - expected).abs() < 1e-9,
            "{:?}",
            ot.score
        );
        // Fixing the metric gains back what it cost: 2·33.33/22 = 3.03 points.
        assert!((insecure.score_impact - (100.0 - expected)).abs() < 1e-9);
        // No IoT device: no applicable metric, no score.
        assert_eq!(initiative(&posture, "enterprise-iot-security").score, None);

        let telnet: Vec<&Recommendation> = posture
            .recommendations
            .iter()
            .filter(|r| r.id == "telnet-disable")
            .collect();
        assert_eq!(telnet.len(), 1);
        assert_eq!(telnet[0].state, StateKind::Active);
        assert_eq!(telnet[0].domain, Domain::Ot);
        assert_eq!(
            telnet[0]
                .devices
                .iter()
                .map(|d| d.id.as_str())
                .collect::<Vec<_>>(),
            ["ip:10.0.0.1"]
        );
        assert!((telnet[0].score_impact - (100.0 - expected)).abs() < 1e-9);
        // Highest impact first.
        assert_eq!(posture.recommendations[0].id, "telnet-disable");
        let vnc = posture
            .recommendations
            .iter()
            .find(|r| r.id == "vnc-require-authentication");
        assert_eq!(
            vnc.map(|r| (r.state, r.devices.len())),
            Some((StateKind::Resolved, 0))
        );
    }
}
