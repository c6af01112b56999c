//! The alert table: raising aggregates repeats under a stable id, and every table is bounded
//! (alerts, evidence per alert).

use std::collections::HashMap;
use std::net::IpAddr;

use ironward_model::alert::MAX_EVIDENCE;
use ironward_model::{Alert, AlertEngine, Evidence, Severity, Timestamp};

use super::techniques;

/// Most distinct alerts kept; beyond, new alerts are counted in [`AlertStore::dropped`].
pub const MAX_ALERTS: usize = 10_000;

/// 64-bit FNV-1a: a hash that is the same in every build and on every machine, so that an
/// alert's id is stable across sensors and runs (std's hashers promise no such thing).
#[derive(Debug, Clone, Copy)]
pub(crate) struct StableHash(u64);

impl Default for StableHash {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl StableHash {
    /// Mixes `bytes` in.
    pub(crate) fn bytes(mut self, bytes: &[u8]) -> Self {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // A separator, so that ("ab", "c") and ("a", "bc") differ.
        self.0 ^= 0xff;
        self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        self
    }

    /// Mixes an optional address in.
    pub(crate) fn ip(self, ip: Option<IpAddr>) -> Self {
        match ip {
            Some(IpAddr::V4(v4)) => self.bytes(&v4.octets()),
            Some(IpAddr::V6(v6)) => self.bytes(&v6.octets()),
            None => self.bytes(&[]),
        }
    }

    /// Mixes a number in.
    pub(crate) fn num(self, n: u64) -> Self {
        self.bytes(&n.to_be_bytes())
    }

    /// The hash.
    pub(crate) fn finish(self) -> u64 {
        self.0
    }
}

/// What identifies and classifies one alert being raised.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Raise<'a> {
    /// The alert type (`policy.new_device`).
    pub(crate) kind: &'a str,
    /// The engine.
    pub(crate) engine: AlertEngine,
    /// Severity.
    pub(crate) severity: Severity,
    /// Source address.
    pub(crate) src: Option<IpAddr>,
    /// Destination address.
    pub(crate) dst: Option<IpAddr>,
    /// Anything else that tells this alert apart from others of its kind between the same
    /// addresses (a port, a protocol), hashed; 0 when nothing.
    pub(crate) key: u64,
    /// The protocol concerned.
    pub(crate) protocol: Option<&'a str>,
    /// ATT&CK for ICS technique ids.
    pub(crate) techniques: &'a [&'a str],
    /// When (capture time, ns).
    pub(crate) time: i64,
    /// The frame that showed it.
    pub(crate) frame: Option<u64>,
}

/// The words of an alert, built only when it is first raised.
#[derive(Debug, Clone, Default)]
pub(crate) struct Text {
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) remediation: String,
}

/// The alerts raised so far, aggregated.
#[derive(Debug, Default)]
pub struct AlertStore {
    alerts: Vec<Alert>,
    /// Whether each alert changed since the last [`AlertStore::take_updated`].
    dirty: Vec<bool>,
    updated: Vec<u32>,
    index: HashMap<u64, u32>,
    dropped: u64,
}

impl AlertStore {
    /// The stable id of an alert.
    pub(crate) fn id_of(raise: &Raise<'_>) -> u64 {
        StableHash::default()
            .bytes(raise.kind.as_bytes())
            .ip(raise.src)
            .ip(raise.dst)
            .num(raise.key)
            .finish()
    }

    /// Raises an alert, or counts one more occurrence of it. `text` and `evidence` are called
    /// only when needed (first occurrence; evidence while below [`MAX_EVIDENCE`]). Returns the
    /// alert's id hash and whether it is new.
    pub(crate) fn raise(
        &mut self,
        raise: &Raise<'_>,
        text: impl FnOnce() -> Text,
        evidence: impl FnOnce() -> String,
    ) -> (u64, bool) {
        let hash = Self::id_of(raise);
        let time = Timestamp(raise.time);
        if let Some(&slot) = self.index.get(&hash) {
            let slot = slot as usize;
            if let Some(alert) = self.alerts.get_mut(slot) {
                alert.count += 1;
                alert.first_seen = alert.first_seen.min(time);
                alert.last_seen = alert.last_seen.max(time);
                if alert.evidence.len() < MAX_EVIDENCE {
                    alert.evidence.push(Evidence {
                        time,
                        summary: evidence(),
                        frame: raise.frame,
                    });
                }
                if !self.dirty[slot] {
                    self.dirty[slot] = true;
                    self.updated.push(slot as u32);
                }
            }
            return (hash, false);
        }
        if self.alerts.len() >= MAX_ALERTS {
            self.dropped += 1;
            return (hash, false);
        }
        let text = text();
        let slot = self.alerts.len() as u32;
        self.alerts.push(Alert {
            id: format!("{hash:016x}"),
            kind: raise.kind.to_owned(),
            title: text.title,
            description: text.description,
            engine: raise.engine,
            severity: raise.severity,
            src_ip: raise.src,
            dst_ip: raise.dst,
            devices: Vec::new(),
            protocol: raise.protocol.map(str::to_owned),
            techniques: raise
                .techniques
                .iter()
                .map(|id| techniques::technique(id))
                .collect(),
            evidence: vec![Evidence {
                time,
                summary: evidence(),
                frame: raise.frame,
            }],
            remediation: text.remediation,
            count: 1,
            first_seen: time,
            last_seen: time,
            pcap: None,
        });
        self.dirty.push(true);
        self.updated.push(slot);
        self.index.insert(hash, slot);
        (hash, true)
    }

    /// The alerts that were raised or repeated since the last call, most urgent first.
    pub fn take_updated(&mut self) -> Vec<Alert> {
        let mut out = Vec::with_capacity(self.updated.len());
        for slot in std::mem::take(&mut self.updated) {
            let slot = slot as usize;
            if let (Some(alert), Some(dirty)) = (self.alerts.get(slot), self.dirty.get_mut(slot)) {
                *dirty = false;
                out.push(alert.clone());
            }
        }
        sort(&mut out);
        out
    }

    /// Every alert raised so far, most urgent first.
    pub fn all(&self) -> Vec<Alert> {
        let mut out = self.alerts.clone();
        sort(&mut out);
        out
    }

    /// Number of distinct alerts.
    pub fn len(&self) -> usize {
        self.alerts.len()
    }

    /// Whether none was raised.
    pub fn is_empty(&self) -> bool {
        self.alerts.is_empty()
    }

    /// New alerts not kept because [`MAX_ALERTS`] were already held.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

/// Most urgent first, then oldest first, then by id (a stable order for reports).
pub(crate) fn sort(alerts: &mut [Alert]) {
    alerts
        .sort_by(|a, b| (a.severity, a.first_seen, &a.id).cmp(&(b.severity, b.first_seen, &b.id)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raise(time: i64) -> Raise<'static> {
        Raise {
            kind: "anomaly.test",
            engine: AlertEngine::Anomaly,
            severity: Severity::Minor,
            src: Some("10.0.0.1".parse().unwrap()),
            dst: None,
            key: 7,
            protocol: None,
            techniques: &["T0846"],
            time,
            frame: Some(time as u64),
        }
    }

    #[test]
    fn repeats_aggregate_under_one_stable_id_with_bounded_evidence() {
        let mut store = AlertStore::default();
        for t in 0..100 {
            store.raise(&raise(t), Text::default, || format!("seen {t}"));
        }
        let alerts = store.take_updated();
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].count, 100);
        assert_eq!(alerts[0].evidence.len(), MAX_EVIDENCE);
        assert_eq!(alerts[0].first_seen, Timestamp(0));
        assert_eq!(alerts[0].last_seen, Timestamp(99));
        assert_eq!(alerts[0].techniques[0].name, "Remote System Discovery");
        // The id is the same in every run (FNV-1a, not a seeded hasher).
        let mut again = AlertStore::default();
        again.raise(&raise(5), Text::default, String::new);
        assert_eq!(again.take_updated()[0].id, alerts[0].id);
        assert!(store.take_updated().is_empty(), "nothing changed since");
        store.raise(&raise(200), Text::default, String::new);
        assert_eq!(store.take_updated()[0].count, 101);
    }

    #[test]
    fn the_table_is_bounded() {
        let mut store = AlertStore::default();
        for n in 0..(MAX_ALERTS as u64 + 10) {
            store.raise(&Raise { key: n, ..raise(0) }, Text::default, String::new);
        }
        assert_eq!(store.len(), MAX_ALERTS);
        assert_eq!(store.dropped(), 10);
    }
}
