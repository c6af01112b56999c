//! The alert table: raising aggregates repeats under a stable id, and every table is bounded
//! (alerts, evidence per alert).
//!
//! Storms aggregate too. One scanner sweeping a network would otherwise raise one alert per
//! target (or per port), and a flood of spoofed or conflicting addresses one per address, until
//! [`MAX_ALERTS`] were used up and every later alert of any kind was dropped. So beyond
//! [`MAX_ALERTS_PER_SOURCE`] distinct alerts of one kind from one source, that source's further
//! alerts of the kind are counted in one overflow alert of the kind from that source; and beyond
//! [`MAX_ALERTS_PER_KIND`] distinct alerts of one kind, further ones are counted in one overflow
//! alert of the kind. Each storm costs a bounded number of alerts, and the other kinds keep room.

use std::collections::HashMap;
use std::net::IpAddr;

use ironward_model::alert::MAX_EVIDENCE;
use ironward_model::{Alert, AlertEngine, Evidence, Severity, Timestamp};

use super::techniques;

/// Most distinct alerts kept; beyond, new alerts are counted in [`AlertStore::dropped`].
pub const MAX_ALERTS: usize = 10_000;

/// Most distinct alerts of one kind from one source (a scanner's targets or ports, a client's new
/// connections); further ones are counted in the source's overflow alert of that kind.
pub const MAX_ALERTS_PER_SOURCE: usize = 16;

/// Most distinct alerts of one kind (from many sources, as in a flood of spoofed addresses);
/// further ones are counted in the kind's overflow alert. Ten kinds at the limit fill the store.
pub const MAX_ALERTS_PER_KIND: usize = MAX_ALERTS / 10;

/// Key of a source's overflow alert of a kind (see the module documentation).
const SOURCE_OVERFLOW_KEY: u64 = u64::MAX;
/// Key of a kind's overflow alert.
const KIND_OVERFLOW_KEY: u64 = u64::MAX - 1;

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

/// Where a new alert goes when its kind or its source has raised too many (see the module
/// documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fold {
    Source,
    Kind,
}

/// The alerts raised so far, aggregated.
#[derive(Debug, Default)]
pub struct AlertStore {
    alerts: Vec<Alert>,
    /// Whether each alert changed since the last [`AlertStore::take_updated`].
    dirty: Vec<bool>,
    updated: Vec<u32>,
    index: HashMap<u64, u32>,
    /// Distinct alerts per kind (by kind hash); at most one entry per alert.
    per_kind: HashMap<u64, u32>,
    /// Distinct alerts per (kind, source) (by hash); at most one entry per alert.
    per_source: HashMap<u64, u32>,
    /// Occurrences counted in an overflow alert.
    folded: u64,
    dropped: u64,
}

/// Entry counts of an [`AlertStore`]'s tables, for health reports and bounds tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlertStoreFootprint {
    /// Distinct alerts held (at most [`MAX_ALERTS`]).
    pub alerts: usize,
    /// Evidence entries across all alerts (at most `MAX_EVIDENCE` each).
    pub evidence: usize,
    /// Alerts changed since they were last taken (at most one per alert).
    pub updated: usize,
    /// Entries of the per-kind and per-source counters (at most one each per alert).
    pub counters: usize,
    /// Occurrences counted in overflow alerts (of a source or a kind).
    pub folded: u64,
    /// New alerts not kept because the store was full.
    pub dropped: u64,
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
        if self.index.contains_key(&hash) {
            return self.count_or_insert(hash, raise, text, evidence);
        }
        let kind = StableHash::default().bytes(raise.kind.as_bytes()).finish();
        let source = StableHash(kind).ip(raise.src).finish();
        let of_kind = self.per_kind.get(&kind).copied().unwrap_or(0) as usize;
        let of_source = self.per_source.get(&source).copied().unwrap_or(0) as usize;
        let fold = if of_kind >= MAX_ALERTS_PER_KIND {
            Fold::Kind
        } else if of_source >= MAX_ALERTS_PER_SOURCE {
            Fold::Source
        } else {
            let raised = self.count_or_insert(hash, raise, text, evidence);
            if raised.1 {
                *self.per_kind.entry(kind).or_default() += 1;
                *self.per_source.entry(source).or_default() += 1;
            }
            return raised;
        };
        self.folded += 1;
        let folded = Raise {
            src: if fold == Fold::Kind { None } else { raise.src },
            dst: None,
            key: match fold {
                Fold::Kind => KIND_OVERFLOW_KEY,
                Fold::Source => SOURCE_OVERFLOW_KEY,
            },
            ..*raise
        };
        let hash = Self::id_of(&folded);
        let src = raise.src;
        let overflow_text = move || {
            let first = text();
            let (whose, limit) = match (fold, src) {
                (Fold::Source, Some(src)) => (format!("from {src}"), MAX_ALERTS_PER_SOURCE),
                (Fold::Source, None) => ("from one source".to_owned(), MAX_ALERTS_PER_SOURCE),
                (Fold::Kind, _) => ("in all".to_owned(), MAX_ALERTS_PER_KIND),
            };
            Text {
                title: format!("{} (and further alerts of this kind {whose})", first.title),
                description: format!(
                    "{} More than {limit} distinct alerts of this kind came {whose}; this alert counts the further ones (its evidence lists the first of them).",
                    first.description
                ),
                remediation: first.remediation,
            }
        };
        self.count_or_insert(hash, &folded, overflow_text, evidence)
    }

    /// Counts one more occurrence of the alert `hash` identifies, or raises it.
    fn count_or_insert(
        &mut self,
        hash: u64,
        raise: &Raise<'_>,
        text: impl FnOnce() -> Text,
        evidence: impl FnOnce() -> String,
    ) -> (u64, bool) {
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

    /// The alert with this id hash, when held.
    pub fn get(&self, hash: u64) -> Option<&Alert> {
        let slot = *self.index.get(&hash)?;
        self.alerts.get(slot as usize)
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

    /// Entry counts of the store's tables.
    pub fn footprint(&self) -> AlertStoreFootprint {
        AlertStoreFootprint {
            alerts: self.alerts.len(),
            evidence: self.alerts.iter().map(|a| a.evidence.len()).sum(),
            updated: self.updated.len(),
            counters: self.per_kind.len() + self.per_source.len(),
            folded: self.folded,
            dropped: self.dropped,
        }
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
        // Eleven kinds of a thousand sources each, each source raising one alert: the kinds'
        // limits let the store fill up.
        let kinds: Vec<String> = (0..11).map(|k| format!("anomaly.test{k}")).collect();
        for kind in &kinds {
            for n in 0..MAX_ALERTS_PER_KIND as u32 {
                let src = Some(IpAddr::from(n.to_be_bytes()));
                store.raise(
                    &Raise {
                        kind,
                        src,
                        ..raise(0)
                    },
                    Text::default,
                    String::new,
                );
            }
        }
        assert_eq!(store.len(), MAX_ALERTS);
        assert_eq!(store.dropped(), MAX_ALERTS_PER_KIND as u64);
        assert!(store.footprint().counters <= 2 * MAX_ALERTS);
    }

    #[test]
    fn a_scanner_raises_a_bounded_number_of_alerts_that_keep_counting() {
        let mut store = AlertStore::default();
        let text = || Text {
            title: "Port scan".to_owned(),
            ..Text::default()
        };
        // One source, ten thousand targets, each probed twice.
        for round in 0..2 {
            for n in 0..10_000u32 {
                let dst = Some(IpAddr::from((0x0a00_0000 + n).to_be_bytes()));
                store.raise(
                    &Raise {
                        dst,
                        ..raise(round)
                    },
                    text,
                    String::new,
                );
            }
        }
        let alerts = store.take_updated();
        assert_eq!(alerts.len(), MAX_ALERTS_PER_SOURCE + 1);
        let overflow = alerts
            .iter()
            .find(|a| a.count > 2)
            .expect("an overflow alert");
        assert_eq!(overflow.count, 2 * (10_000 - MAX_ALERTS_PER_SOURCE as u64));
        assert_eq!(overflow.dst_ip, None);
        assert_eq!(
            overflow.title,
            "Port scan (and further alerts of this kind from 10.0.0.1)"
        );
        assert_eq!(store.footprint().folded, overflow.count);
        // Another source of the same kind still gets its own alert.
        let other = Raise {
            src: Some("10.0.0.2".parse().unwrap()),
            ..raise(5)
        };
        assert!(store.raise(&other, text, String::new).1);
    }

    #[test]
    fn a_flood_of_sources_raises_a_bounded_number_of_alerts_of_its_kind() {
        let mut store = AlertStore::default();
        for n in 0..100_000u32 {
            let src = Some(IpAddr::from(n.to_be_bytes()));
            store.raise(&Raise { src, ..raise(0) }, Text::default, String::new);
        }
        assert_eq!(store.len(), MAX_ALERTS_PER_KIND + 1);
        assert_eq!(store.dropped(), 0);
        // Other kinds keep their room.
        let other = Raise {
            kind: "anomaly.other",
            ..raise(0)
        };
        assert!(store.raise(&other, Text::default, String::new).1);
    }
}
