//! Capture windows and how a window's report becomes batches.
//!
//! The sensor runs a fresh [`Engine`](crate::engine::Engine) over each window of capture time
//! and hands its report to a [`WindowBatcher`], which cuts it into [`Batch`]es of at most
//! [`BatchLimits`] items and estimated bytes. A window's report is a *delta*: its connections
//! and events count only the packets and operations of that window, and the console adds them
//! up. (Devices are restated with the facts seen in the window; the console merges them.)
//!
//! Batch ids: `<window>-p<part>`, where the window id is deterministic for capture files
//! (`f<series>-w<window index>`, the series being a hash of the file's identity and the window
//! length, so a restarted sensor re-reading a file produces the same ids and the console
//! answers "duplicate") and random for live capture (`l<96 random bits>`).

use ironward_model::{Alert, Batch, Connection, Device, Event, SensorHealth, Stats, Timestamp};
use serde::Serialize;

use crate::engine::ReportSink;

/// Bounds on one batch, well under the console's 16 MiB body limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// Most devices, connections and events together.
    pub max_items: usize,
    /// Most estimated JSON bytes (the sum of the items' own JSON sizes).
    pub max_bytes: usize,
}

impl Default for BatchLimits {
    /// 5,000 items and 4 MiB.
    fn default() -> Self {
        Self {
            max_items: 5_000,
            max_bytes: 4 << 20,
        }
    }
}

/// The id of the series of windows a capture file is cut into: the file's identity and the
/// window length hashed together (80 bits, hex), so that re-reading the file with another
/// `--window` never reuses an id for different content.
pub fn file_series(file_identity: &str, window: std::time::Duration) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(file_identity.as_bytes())
        .chain_update([0])
        .chain_update(window.as_nanos().to_le_bytes())
        .finalize();
    let mut hex = String::with_capacity(20);
    for b in digest.iter().take(10) {
        hex.push_str(&format!("{b:02x}"));
    }
    hex
}

/// The id of a window of a capture file: the same for the same file, window length and
/// window every time. `series` comes from [`file_series`].
pub fn file_window_id(series: &str, window: u64) -> String {
    format!("f{series}-w{window}")
}

/// A fresh random id for a window of live capture.
pub fn live_window_id() -> String {
    let mut bytes = [0u8; 12];
    if getrandom::fill(&mut bytes).is_err() {
        // Without an entropy source, the clock and a counter still make ids unique on this
        // sensor, which is all the console needs.
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let t = super::enrol::now().0.to_le_bytes();
        bytes[..8].copy_from_slice(&t);
        bytes[8..].copy_from_slice(&n.to_le_bytes()[..4]);
    }
    let mut id = String::with_capacity(25);
    id.push('l');
    for b in bytes {
        id.push_str(&format!("{b:02x}"));
    }
    id
}

/// The id of one part of a window.
pub fn part_id(window_id: &str, part: u32) -> String {
    format!("{window_id}-p{part}")
}

/// A [`ReportSink`] that cuts a window's report into batches and hands each to `emit`.
pub struct WindowBatcher<F> {
    window_id: String,
    limits: BatchLimits,
    health: SensorHealth,
    current: Batch,
    bytes: usize,
    parts: u32,
    emit: F,
}

impl<F> std::fmt::Debug for WindowBatcher<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WindowBatcher")
            .field("window_id", &self.window_id)
            .field("parts", &self.parts)
            .finish_non_exhaustive()
    }
}

impl<F, E> WindowBatcher<F>
where
    F: FnMut(Batch) -> Result<(), E>,
{
    /// A batcher for the window `window_id`; every batch carries `health`.
    pub fn new(window_id: String, limits: BatchLimits, health: SensorHealth, emit: F) -> Self {
        let created = health.at;
        Self {
            current: empty_batch(part_id(&window_id, 0), created),
            window_id,
            limits: BatchLimits {
                max_items: limits.max_items.max(1),
                max_bytes: limits.max_bytes.max(1),
            },
            health,
            bytes: 0,
            parts: 0,
            emit,
        }
    }

    /// Batches emitted so far.
    pub fn parts(&self) -> u32 {
        self.parts
    }

    fn items(&self) -> usize {
        self.current.devices.len()
            + self.current.connections.len()
            + self.current.events.len()
            + self.current.alerts.len()
    }

    /// Makes room for an item of `size` bytes: emits the current batch if the item would
    /// overflow it.
    fn room_for(&mut self, size: usize) -> Result<(), E> {
        let items = self.items();
        if items > 0
            && (items >= self.limits.max_items || self.bytes + size > self.limits.max_bytes)
        {
            self.emit_current()?;
        }
        self.bytes += size;
        Ok(())
    }

    fn emit_current(&mut self) -> Result<(), E> {
        let next = empty_batch(part_id(&self.window_id, self.parts + 1), self.health.at);
        let mut batch = std::mem::replace(&mut self.current, next);
        batch.health = Some(self.health.clone());
        self.parts += 1;
        self.bytes = 0;
        (self.emit)(batch)
    }
}

fn empty_batch(id: String, created: Timestamp) -> Batch {
    Batch {
        id,
        created,
        devices: Vec::new(),
        connections: Vec::new(),
        events: Vec::new(),
        alerts: Vec::new(),
        alert_captures: Vec::new(),
        health: None,
    }
}

fn json_size<T: Serialize>(item: &T) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Serialising model types into a counter cannot fail; an error would only under-count.
    let _ = serde_json::to_writer(&mut count, item);
    count.0 + 1
}

impl<F, E> ReportSink for WindowBatcher<F>
where
    F: FnMut(Batch) -> Result<(), E>,
{
    type Error = E;

    fn device(&mut self, device: Device) -> Result<(), E> {
        self.room_for(json_size(&device))?;
        self.current.devices.push(device);
        Ok(())
    }

    fn connection(&mut self, connection: Connection) -> Result<(), E> {
        self.room_for(json_size(&connection))?;
        self.current.connections.push(connection);
        Ok(())
    }

    fn event(&mut self, event: Event) -> Result<(), E> {
        self.room_for(json_size(&event))?;
        self.current.events.push(event);
        Ok(())
    }

    /// Alerts count against the same bounds as other items; the detector hands them over with
    /// cumulative counts, which the run turns into deltas ([`super::alert_deltas`]).
    fn alert(&mut self, alert: Alert) -> Result<(), E> {
        self.room_for(json_size(&alert))?;
        self.current.alerts.push(alert);
        Ok(())
    }

    /// A capture goes in the current batch unless that batch already holds
    /// [`MAX_BATCH_ALERT_CAPTURES`](ironward_model::batch::MAX_BATCH_ALERT_CAPTURES) or would
    /// grow past the byte bound (a capture is up to 350 KiB of base64).
    fn alert_capture(&mut self, capture: ironward_model::AlertCapture) -> Result<(), E> {
        let size = json_size(&capture);
        let held = self.current.alert_captures.len();
        if held >= ironward_model::batch::MAX_BATCH_ALERT_CAPTURES
            || ((held > 0 || self.items() > 0) && self.bytes + size > self.limits.max_bytes)
        {
            self.emit_current()?;
        }
        self.bytes += size;
        self.current.alert_captures.push(capture);
        Ok(())
    }

    /// The end of the report: the last batch goes out, even empty when it is the window's only
    /// one (it still carries the sensor's health).
    fn stats(&mut self, _stats: Stats) -> Result<(), E> {
        if self.items() > 0 || !self.current.alert_captures.is_empty() || self.parts == 0 {
            self.emit_current()?;
        }
        Ok(())
    }
}

/// Splits a batch the console found too large into two halves (ids `<id>.a`, `<id>.b`), or
/// `None` when it holds a single item or the ids would grow past the id limit.
pub fn split_batch(batch: Batch) -> Option<(Batch, Batch)> {
    let total =
        batch.devices.len() + batch.connections.len() + batch.events.len() + batch.alerts.len();
    if total < 2 || batch.id.len() + 2 > ironward_model::batch::MAX_BATCH_ID_LEN {
        return None;
    }
    let mut first = empty_batch(format!("{}.a", batch.id), batch.created);
    let mut second = empty_batch(format!("{}.b", batch.id), batch.created);
    // Captures are not split (each is at most a fraction of the body limit): they go first.
    first.alert_captures = batch.alert_captures;
    first.health.clone_from(&batch.health);
    second.health = batch.health;
    // The first half takes the first total/2 items in report order.
    let mut budget = total / 2;
    let mut take = |n: usize| {
        let k = n.min(budget);
        budget -= k;
        k
    };
    let (mut devices, mut connections, mut events) =
        (batch.devices, batch.connections, batch.events);
    let d = take(devices.len());
    let c = take(connections.len());
    let e = take(events.len());
    let mut alerts = batch.alerts;
    let a = take(alerts.len());
    second.devices = devices.split_off(d);
    second.connections = connections.split_off(c);
    second.events = events.split_off(e);
    second.alerts = alerts.split_off(a);
    first.devices = devices;
    first.connections = connections;
    first.events = events;
    first.alerts = alerts;
    Some((first, second))
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;

    fn health() -> SensorHealth {
        SensorHealth {
            at: Timestamp(1_700_000_000_000_000_000),
            version: "0.1.0".into(),
            source: "test.pcap".into(),
            packets: 10,
            bytes: 1000,
            packets_per_second: 1.0,
            drops: 0,
        }
    }

    fn connection(port: u16) -> Connection {
        Connection {
            a: None,
            b: None,
            a_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            b_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            transport: "tcp".into(),
            port: Some(port),
            protocol: None,
            packets: u64::from(port),
            bytes: 60,
            flows: 1,
            first_seen: Timestamp(0),
            last_seen: Timestamp(0),
        }
    }

    fn run(limits: BatchLimits, n: u16) -> Vec<Batch> {
        let mut out = Vec::new();
        let mut batcher = WindowBatcher::new("w".into(), limits, health(), |b| {
            out.push(b);
            Ok::<_, ()>(())
        });
        for port in 1..=n {
            batcher.connection(connection(port)).unwrap();
        }
        batcher.stats(Stats::default()).unwrap();
        out
    }

    #[test]
    fn windows_are_cut_into_bounded_parts_with_health() {
        let limits = BatchLimits {
            max_items: 4,
            max_bytes: usize::MAX,
        };
        let batches = run(limits, 10);
        let ids: Vec<&str> = batches.iter().map(|b| b.id.as_str()).collect();
        assert_eq!(ids, ["w-p0", "w-p1", "w-p2"]);
        assert_eq!(
            batches
                .iter()
                .map(|b| b.connections.len())
                .collect::<Vec<_>>(),
            [4, 4, 2]
        );
        assert!(batches.iter().all(|b| b.health == Some(health())));
        assert!(batches.iter().all(|b| b.validate().is_ok()));
        let total: u64 = batches
            .iter()
            .flat_map(|b| &b.connections)
            .map(|c| c.packets)
            .sum();
        assert_eq!(total, (1..=10).sum::<u64>());
    }

    #[test]
    fn the_byte_estimate_bounds_parts_too() {
        let one = json_size(&connection(1));
        let limits = BatchLimits {
            max_items: 1000,
            max_bytes: one * 3,
        };
        let batches = run(limits, 7);
        assert!(batches.iter().all(|b| b.connections.len() <= 3));
        assert_eq!(
            batches.iter().map(|b| b.connections.len()).sum::<usize>(),
            7
        );
        // The estimate is close to the real size.
        let real = serde_json::to_vec(&connection(1)).unwrap().len();
        assert_eq!(one, real + 1);
    }

    #[test]
    fn an_empty_window_still_reports_health() {
        let batches = run(BatchLimits::default(), 0);
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].id, "w-p0");
        assert!(batches[0].health.is_some());
    }

    #[test]
    fn ids_are_deterministic_for_files_and_random_for_live() {
        assert_eq!(
            part_id(&file_window_id("0123abcd", 7), 2),
            "f0123abcd-w7-p2"
        );
        let a = live_window_id();
        let b = live_window_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 25);
        let mut batch = empty_batch(part_id(&a, 12), Timestamp(0));
        batch.validate().unwrap();
        batch.id = part_id(&file_window_id(&"f".repeat(20), u64::MAX), u32::MAX);
        batch.validate().unwrap();
    }

    #[test]
    fn splitting_halves_the_items_and_keeps_everything() {
        let mut batches = run(BatchLimits::default(), 5);
        let batch = batches.remove(0);
        let (a, b) = split_batch(batch.clone()).unwrap();
        assert_eq!((a.id.as_str(), b.id.as_str()), ("w-p0.a", "w-p0.b"));
        assert_eq!((a.connections.len(), b.connections.len()), (2, 3));
        let mut joined = a.connections.clone();
        joined.extend(b.connections.clone());
        assert_eq!(joined, batch.connections);
        assert!(a.health.is_some() && b.health.is_some());
        let single = run(BatchLimits::default(), 1).remove(0);
        assert!(split_batch(single).is_none());
        let mut long = batch;
        long.id = "x".repeat(63);
        assert!(split_batch(long).is_none());
    }
}
