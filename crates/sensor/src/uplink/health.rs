//! The sensor's health, as every batch carries it.

use ironward_model::{SensorHealth, Timestamp};

/// Running totals since the sensor started, and the current window's share.
#[derive(Debug, Clone)]
pub struct HealthTracker {
    version: String,
    source: String,
    packets: u64,
    bytes: u64,
    capture_drops: u64,
    dropped_window_packets: u64,
    dropped_windows: u64,
}

impl HealthTracker {
    /// A tracker for a sensor of this version reading `source` (an interface or file name).
    pub fn new(version: &str, source: &str) -> Self {
        Self {
            version: version.to_owned(),
            source: source.to_owned(),
            packets: 0,
            bytes: 0,
            capture_drops: 0,
            dropped_window_packets: 0,
            dropped_windows: 0,
        }
    }

    /// Names what the sensor reads now (the next file).
    pub fn set_source(&mut self, source: &str) {
        source.clone_into(&mut self.source);
    }

    /// Counts a captured packet.
    pub fn packet(&mut self, wire_len: u32) {
        self.packets += 1;
        self.bytes += u64::from(wire_len);
    }

    /// Sets the capture's own loss counter (the kernel's drops, cumulative).
    pub fn set_capture_drops(&mut self, drops: u64) {
        self.capture_drops = drops;
    }

    /// Counts a window dropped because the outbox was full, with its packets.
    pub fn window_dropped(&mut self, packets: u64) {
        self.dropped_windows += 1;
        self.dropped_window_packets += packets;
    }

    /// Windows dropped so far.
    pub fn dropped_windows(&self) -> u64 {
        self.dropped_windows
    }

    /// The health to send with a window of `window_packets` packets over `window_seconds`.
    pub fn snapshot(
        &self,
        at: Timestamp,
        window_packets: u64,
        window_seconds: f64,
    ) -> SensorHealth {
        let rate = if window_seconds > 0.0 && window_seconds.is_finite() {
            window_packets as f64 / window_seconds
        } else {
            0.0
        };
        SensorHealth {
            at,
            version: self.version.clone(),
            source: self.source.clone(),
            packets: self.packets,
            bytes: self.bytes,
            packets_per_second: if rate.is_finite() { rate } else { 0.0 },
            drops: self.capture_drops + self.dropped_window_packets,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_add_capture_losses_and_dropped_windows() {
        let mut h = HealthTracker::new("0.1.0", "eth1");
        for _ in 0..10 {
            h.packet(100);
        }
        h.set_capture_drops(3);
        h.window_dropped(4);
        let s = h.snapshot(Timestamp(0), 10, 2.0);
        assert_eq!((s.packets, s.bytes, s.drops), (10, 1000, 7));
        assert!((s.packets_per_second - 5.0).abs() < 1e-9);
        assert_eq!(h.snapshot(Timestamp(0), 10, 0.0).packets_per_second, 0.0);
        assert_eq!(h.dropped_windows(), 1);
    }
}
