//! `analyze --ti`: each device of the report matched against a threat-intelligence package,
//! added to the JSON document as the top-level `vulnerabilities` (KEV first, then CVSS,
//! highest first) and `unmatched` (devices the package cannot resolve, and why) arrays.

use ironward_intel::ti::matching::{Confidence, Matcher, UnmatchedReason};
use ironward_intel::ti::normalize::DeviceProduct;
use ironward_model::{Alert, AlertCapture, Connection, Device, Event, Stats};
use ironward_sensor::engine::ReportSink;
use serde::Serialize;

/// A sink that can write a top-level key of the document before its statistics.
pub(crate) trait TopLevel {
    /// Writes `"key": value` at the top level of the document.
    fn top_level<T: Serialize>(&mut self, key: &str, value: &T) -> anyhow::Result<()>;
}

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

/// Matches every device passing through on its way to `inner`.
pub(crate) struct Vulnerabilities<'p, S> {
    inner: S,
    matcher: Matcher<'p>,
    found: Vec<Vulnerability>,
    unmatched: Vec<UnmatchedDevice>,
}

impl<'p, S> Vulnerabilities<'p, S> {
    /// Matches devices with `matcher`, handing everything on to `inner`.
    pub(crate) fn new(inner: S, matcher: Matcher<'p>) -> Self {
        Self {
            inner,
            matcher,
            found: Vec::new(),
            unmatched: Vec::new(),
        }
    }
}

impl<S> ReportSink for Vulnerabilities<'_, S>
where
    S: ReportSink<Error = anyhow::Error> + TopLevel,
{
    type Error = anyhow::Error;

    fn device(&mut self, device: Device) -> anyhow::Result<()> {
        let matched = self
            .matcher
            .match_device(&DeviceProduct::from_device(&device));
        let ip = device.ips.first().map(ToString::to_string);
        for m in matched.matches {
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
        self.inner.device(device)
    }

    fn connection(&mut self, connection: Connection) -> anyhow::Result<()> {
        self.inner.connection(connection)
    }

    fn event(&mut self, event: Event) -> anyhow::Result<()> {
        self.inner.event(event)
    }

    fn alert(&mut self, alert: Alert) -> anyhow::Result<()> {
        self.inner.alert(alert)
    }

    fn alert_capture(&mut self, capture: AlertCapture) -> anyhow::Result<()> {
        self.inner.alert_capture(capture)
    }

    fn stats(&mut self, stats: Stats) -> anyhow::Result<()> {
        // Known exploited first, then the most severe; then by device and CVE for a stable
        // order.
        self.found.sort_by(|a, b| {
            b.kev
                .cmp(&a.kev)
                .then_with(|| b.cvss.unwrap_or(0.0).total_cmp(&a.cvss.unwrap_or(0.0)))
                .then_with(|| a.device.cmp(&b.device))
                .then_with(|| a.cve.cmp(&b.cve))
        });
        self.inner.top_level("vulnerabilities", &self.found)?;
        self.inner.top_level("unmatched", &self.unmatched)?;
        self.inner.stats(stats)
    }
}
