//! Alerts travel to the console as *deltas*, like connections and events.
//!
//! The [`Detector`](crate::detect::Detector) outlives windows and aggregates: each window it
//! hands over the alerts raised or repeated in it with their *cumulative* count and evidence.
//! The console adds the count of every alert it receives to what it holds for the same (site,
//! alert id), because several sensors of a site may raise the same alert (ids are stable across
//! sensors). Sending cumulative counts would therefore count every earlier occurrence again with
//! each window; [`AlertDeltas`] turns them into what is new since the last batch that reached the
//! outbox: the count added, the evidence not yet sent; the rest of the alert (title, techniques,
//! devices, first and last seen) is restated, which the console's merge tolerates.
//!
//! An alert whose window could not be written (the outbox was full, live capture) is kept as
//! *pending* and goes out with the next window, so that an alert raised once is never lost
//! with its window.

use std::collections::{BTreeMap, HashMap};

use ironward_model::Alert;

use crate::detect::MAX_ALERTS;

/// What already reached the outbox of one alert.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Sent {
    count: u64,
    evidence: usize,
}

/// Per-run memory of what the console was sent of each alert; see the module documentation.
///
/// Bounded: both tables hold at most [`MAX_ALERTS`] alerts, the detector's own bound on distinct
/// alerts (ids come only from it).
#[derive(Debug, Default)]
pub struct AlertDeltas {
    sent: HashMap<String, Sent>,
    pending: BTreeMap<String, Alert>,
}

impl AlertDeltas {
    /// Nothing sent yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The delta of the cumulative `alert` over what reached the outbox, or `None` when
    /// nothing happened since (a restated alert).
    pub fn delta(&self, alert: &Alert) -> Option<Alert> {
        let sent = self.sent.get(&alert.id).copied().unwrap_or_default();
        if alert.count <= sent.count {
            return None;
        }
        let mut delta = alert.clone();
        delta.count = alert.count - sent.count;
        let from = sent.evidence.min(delta.evidence.len());
        delta.evidence.drain(..from);
        Some(delta)
    }

    /// The deltas of a batch's cumulative alerts (one per id: a later snapshot of the same
    /// alert in the batch supersedes an earlier one).
    pub fn deltas(&self, alerts: &[Alert]) -> Vec<Alert> {
        let mut latest: BTreeMap<&str, &Alert> = BTreeMap::new();
        for alert in alerts {
            let keep = latest
                .get(alert.id.as_str())
                .is_none_or(|held| alert.count >= held.count);
            if keep {
                latest.insert(&alert.id, alert);
            }
        }
        latest.values().filter_map(|a| self.delta(a)).collect()
    }

    /// Records that the batch holding these cumulative alerts (as deltas) reached the outbox.
    pub fn queued(&mut self, alerts: &[Alert]) {
        for alert in alerts {
            self.pending.remove(&alert.id);
            if !self.sent.contains_key(&alert.id) && self.sent.len() >= MAX_ALERTS {
                continue;
            }
            let entry = self.sent.entry(alert.id.clone()).or_default();
            if alert.count >= entry.count {
                *entry = Sent {
                    count: alert.count,
                    evidence: alert.evidence.len(),
                };
            }
        }
    }

    /// Keeps the cumulative alerts of a batch that could not be written, for the next window.
    pub fn not_queued(&mut self, alerts: Vec<Alert>) {
        for alert in alerts {
            let newer = self
                .pending
                .get(&alert.id)
                .is_none_or(|held| alert.count >= held.count);
            if newer && (self.pending.len() < MAX_ALERTS || self.pending.contains_key(&alert.id)) {
                self.pending.insert(alert.id.clone(), alert);
            }
        }
    }

    /// The alerts kept by [`AlertDeltas::not_queued`], to be sent with the next window.
    pub fn take_pending(&mut self) -> Vec<Alert> {
        std::mem::take(&mut self.pending).into_values().collect()
    }
}

#[cfg(test)]
mod tests {
    use ironward_model::{AlertEngine, Evidence, Severity, Timestamp};

    use super::*;

    fn alert(id: &str, count: u64, evidence: usize) -> Alert {
        Alert {
            id: id.to_owned(),
            kind: "malware.test".to_owned(),
            title: "t".to_owned(),
            description: String::new(),
            engine: AlertEngine::Malware,
            severity: Severity::Critical,
            src_ip: None,
            dst_ip: None,
            devices: Vec::new(),
            protocol: None,
            techniques: Vec::new(),
            evidence: (0..evidence)
                .map(|i| Evidence {
                    time: Timestamp(i as i64),
                    summary: format!("e{i}"),
                    frame: Some(i as u64),
                })
                .collect(),
            remediation: String::new(),
            count,
            first_seen: Timestamp(0),
            last_seen: Timestamp(count as i64),
            pcap: None,
        }
    }

    #[test]
    fn cumulative_snapshots_become_deltas_that_add_up() {
        let mut deltas = AlertDeltas::new();
        let mut total = 0;
        let mut evidence = Vec::new();
        for (count, ev) in [(3, 3), (3, 3), (10, 7), (25, 20), (26, 20)] {
            let snapshot = alert("a", count, ev);
            let out = deltas.deltas(std::slice::from_ref(&snapshot));
            deltas.queued(&[snapshot]);
            for d in out {
                total += d.count;
                evidence.extend(d.evidence);
            }
        }
        assert_eq!(total, 26);
        assert_eq!(
            evidence,
            alert("a", 26, 20).evidence,
            "each piece once, in order"
        );
    }

    #[test]
    fn a_later_snapshot_in_the_same_batch_supersedes_an_earlier_one() {
        let deltas = AlertDeltas::new();
        let out = deltas.deltas(&[alert("a", 2, 2), alert("b", 1, 1), alert("a", 5, 4)]);
        let counts: Vec<(&str, u64)> = out.iter().map(|a| (a.id.as_str(), a.count)).collect();
        assert_eq!(counts, [("a", 5), ("b", 1)]);
    }

    #[test]
    fn alerts_of_a_dropped_window_are_sent_with_the_next_one() {
        let mut deltas = AlertDeltas::new();
        deltas.queued(&[alert("a", 2, 2)]);
        // The window holding a at 4 and b at 1 was dropped.
        deltas.not_queued(vec![alert("a", 4, 4), alert("b", 1, 1)]);
        let pending = deltas.take_pending();
        assert_eq!(pending.len(), 2);
        let out = deltas.deltas(&pending);
        let counts: Vec<(&str, u64, usize)> = out
            .iter()
            .map(|a| (a.id.as_str(), a.count, a.evidence.len()))
            .collect();
        assert_eq!(counts, [("a", 2, 2), ("b", 1, 1)]);
        deltas.queued(&pending);
        assert!(deltas.take_pending().is_empty());
        assert!(deltas.delta(&alert("a", 4, 4)).is_none());
    }
}
