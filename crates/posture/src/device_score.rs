//! Per-device security score for the risk report and device pages: 100 minus the severity
//! penalties of the active recommendations that list the device.

use std::collections::HashMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::asset::Asset;
use crate::catalog::Severity;
use crate::evaluate::Posture;
use crate::settings::StateKind;

/// How a device's score reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rating {
    /// Score >= 80 and no high or critical recommendation.
    Secure,
    /// Neither secure nor vulnerable.
    NeedsImprovement,
    /// Score < 50 or any critical recommendation.
    Vulnerable,
}

/// One device's security score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceScore {
    /// Model `DeviceId` string.
    pub id: String,
    /// Its address, for people.
    pub ip: Option<IpAddr>,
    /// Its name, for people.
    pub name: Option<String>,
    /// 0..=100.
    pub score: f64,
    /// What the score means.
    pub rating: Rating,
    /// Ids of the active recommendations that list it, in the posture's order.
    pub recommendations: Vec<String>,
}

/// The penalty a recommendation of this severity costs a device.
pub const fn penalty(severity: Severity) -> f64 {
    match severity {
        Severity::Critical => 40.0,
        Severity::High => 25.0,
        Severity::Medium => 10.0,
        Severity::Low => 5.0,
    }
}

/// Every asset's score: 100 minus severity penalties of the active recommendations that list it
/// (critical 40, high 25, medium 10, low 5; floor 0). Secure >= 80 and no high/critical;
/// Vulnerable < 50 or any critical; else NeedsImprovement. Sorted worst first (then by id).
pub fn device_scores(assets: &[Asset], posture: &Posture) -> Vec<DeviceScore> {
    let mut listed: HashMap<&str, Vec<(&str, Severity)>> = HashMap::new();
    for rec in posture
        .recommendations
        .iter()
        .filter(|r| r.state == StateKind::Active)
    {
        for device in &rec.devices {
            let entry = listed.entry(device.id.as_str()).or_default();
            // One definition may list a device once per domain; it costs once.
            if !entry.iter().any(|(id, _)| *id == rec.id) {
                entry.push((rec.id.as_str(), rec.severity));
            }
        }
    }
    let mut scores: Vec<DeviceScore> = assets
        .iter()
        .map(|asset| {
            let recs = listed
                .get(asset.id.as_str())
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let score = (100.0 - recs.iter().map(|(_, s)| penalty(*s)).sum::<f64>()).max(0.0);
            let worst = recs.iter().map(|(_, s)| *s).max();
            let rating = if score < 50.0 || worst == Some(Severity::Critical) {
                Rating::Vulnerable
            } else if score >= 80.0 && worst.is_none_or(|s| s < Severity::High) {
                Rating::Secure
            } else {
                Rating::NeedsImprovement
            };
            DeviceScore {
                id: asset.id.clone(),
                ip: asset.ip,
                name: asset.name.clone(),
                score,
                rating,
                recommendations: recs.iter().map(|(id, _)| (*id).to_owned()).collect(),
            }
        })
        .collect();
    scores.sort_by(|a, b| a.score.total_cmp(&b.score).then_with(|| a.id.cmp(&b.id)));
    scores
}
