//! `analyze --ti`: each device of the report matched against a threat-intelligence package,
//! added to the JSON document as the top-level `vulnerabilities` (KEV first, then CVSS,
//! highest first) and `unmatched` (devices the package cannot resolve, and why) arrays.

use ironward_intel::ti::matching::{Confidence, Matcher, UnmatchedReason};
use ironward_intel::ti::normalize::DeviceProduct;
use ironward_model::Device;
use ironward_posture::AssetVulnerability;
use serde::Serialize;

use super::TopLevel;

/// One vulnerability of one device.
#[derive(Debug, Serialize)]
struct Vulnerability {
    device: String,
    ip: Option<String>,
    cve: String,
    cvss: Option<f32>,
    kev: bool,
    /// The first advisory naming it (all of them in `advisories`).
    advisory: Option<String>,
    advisories: Vec<String>,
    product: String,
    versions: String,
    fixed_in: Vec<String>,
    confidence: Confidence,
    reason: String,
}

/// A device the package cannot (fully) resolve.
#[derive(Debug, Serialize)]
struct UnmatchedDevice {
    device: String,
    ip: Option<String>,
    vendor: Option<String>,
    model: Option<String>,
    order_number: Option<String>,
    reason: UnmatchedReason,
    explanation: String,
}

/// Matches each device against the package once and keeps the rows of the two arrays (the
/// device's own vulnerabilities also go into its posture asset, see [`super::PostureSink`]).
pub(crate) struct Vulnerabilities<'p> {
    matcher: Matcher<'p>,
    found: Vec<Vulnerability>,
    unmatched: Vec<UnmatchedDevice>,
}

impl<'p> Vulnerabilities<'p> {
    /// Matches devices with `matcher`.
    pub(crate) fn new(matcher: Matcher<'p>) -> Self {
        Self {
            matcher,
            found: Vec::new(),
            unmatched: Vec::new(),
        }
    }

    /// Matches `device`, keeps its rows and returns its vulnerabilities as posture counts them.
    pub(crate) fn device(&mut self, device: &Device) -> Vec<AssetVulnerability> {
        let matched = self
            .matcher
            .match_device(&DeviceProduct::from_device(device));
        let ip = device.ips.first().map(ToString::to_string);
        let mut own = Vec::with_capacity(matched.matches.len());
        for m in matched.matches {
            own.push(AssetVulnerability {
                cve: m.cve.to_owned(),
                cvss: m.cvss,
                kev: m.kev,
            });
            self.found.push(Vulnerability {
                device: device.id.0.clone(),
                ip: ip.clone(),
                cve: m.cve.to_owned(),
                cvss: m.cvss,
                kev: m.kev,
                advisory: m.advisories.first().cloned(),
                advisories: m.advisories.to_vec(),
                product: m.product.to_owned(),
                versions: m.versions.to_owned(),
                fixed_in: m.fixed_in.to_vec(),
                confidence: m.confidence,
                reason: m.reason,
            });
        }
        if let Some(u) = matched.unmatched {
            self.unmatched.push(UnmatchedDevice {
                device: device.id.0.clone(),
                ip,
                vendor: u.vendor,
                model: u.model,
                order_number: u.order_number,
                reason: u.reason,
                explanation: u.explanation,
            });
        }
        own
    }

    /// Writes the top-level `vulnerabilities` and `unmatched` arrays.
    pub(crate) fn write(mut self, out: &mut impl TopLevel) -> anyhow::Result<()> {
        // Known exploited first, then the most severe; then by device and CVE for a stable
        // order.
        self.found.sort_by(|a, b| {
            b.kev
                .cmp(&a.kev)
                .then_with(|| b.cvss.unwrap_or(0.0).total_cmp(&a.cvss.unwrap_or(0.0)))
                .then_with(|| a.device.cmp(&b.device))
                .then_with(|| a.cve.cmp(&b.cve))
        });
        out.top_level("vulnerabilities", &self.found)?;
        out.top_level("unmatched", &self.unmatched)
    }
}
