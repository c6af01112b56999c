/*!
The packet ring: the last frames seen, in fixed memory, and the pcap of the packets around each
new alert cut from it.

Every frame is copied into the next slot of a ring of [`RingConfig::slots`] slots (each frame cut
to [`RingConfig::snap_len`] bytes, its original length kept), with its timestamp, link type and
the addresses it involves (IPv4/IPv6 source and destination, ARP sender and target). The ring's
memory is allocated once, when the engine starts: the per-frame cost is one copy of at most
`snap_len` bytes, no allocation.

When the detector raises an alert for the first time, [`PacketRing::start`] opens a capture for
it: the frames of the ring that involve the alert's addresses (every frame of the ring when the
alert has none), then the next frames that involve them, until [`RingConfig::follow_frames`]
more were added or [`RingConfig::follow_ns`] of capture time passed. The capture is written as a
classic pcap file (nanosecond timestamps, the link type of the frame that raised the alert;
frames of other link types are left out) and never grows past [`RingConfig::max_capture_bytes`]:
the ring's frames may use three quarters of it (the newest ones are kept), the rest is for the
frames that follow.

Bounds: at most [`RingConfig::max_active`] captures in progress and
[`RingConfig::max_finished`] finished captures waiting to be taken; an alert that finds no room
gets no capture and is counted in [`RingStats::dropped`]. With the defaults that is at most
400 KiB of ring plus 48 × 256 KiB of captures.
*/

use std::net::IpAddr;

use ironward_model::alert_capture::{MAX_ALERT_PCAP_BYTES, PCAP_HEADER_LEN};
use ironward_model::AlertCapture;
use ironward_wire::{LinkType, Network, Packet};

use crate::capture::{Frame, PcapConfig, PcapWriter};

/// Most slots a ring may have (whatever the configuration asks for).
pub const MAX_RING_SLOTS: usize = 4_096;
/// Longest snap length a ring may use (a jumbo frame): with [`MAX_RING_SLOTS`], a ring never
/// takes more than 36 MiB.
pub const MAX_SNAP_LEN: usize = 9_216;
/// Bytes of a pcap record header.
const RECORD_HEADER_LEN: usize = 16;

/// Settings of the packet ring and of the captures cut from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingConfig {
    /// Frames kept (0: no ring, no captures). At most [`MAX_RING_SLOTS`].
    pub slots: usize,
    /// Bytes kept of each frame: 1,600 holds a whole Ethernet frame with VLAN tags at the usual
    /// MTU of 1,500, so industrial PDUs are never cut. At most [`MAX_SNAP_LEN`].
    pub snap_len: usize,
    /// Frames added to a capture after the alert.
    pub follow_frames: u32,
    /// Capture time after the alert during which frames are added (nanoseconds).
    pub follow_ns: i64,
    /// Most bytes of one capture's pcap file; at most
    /// [`MAX_ALERT_PCAP_BYTES`](ironward_model::alert_capture::MAX_ALERT_PCAP_BYTES), which the
    /// console accepts.
    pub max_capture_bytes: usize,
    /// Most captures in progress.
    pub max_active: usize,
    /// Most finished captures held until taken.
    pub max_finished: usize,
}

impl Default for RingConfig {
    /// 256 frames of up to 1,600 bytes; 64 frames or 10 s after the alert; 256 KiB per capture;
    /// 16 captures in progress and 32 finished ones held.
    fn default() -> Self {
        Self {
            slots: 256,
            snap_len: 1_600,
            follow_frames: 64,
            follow_ns: 10_000_000_000,
            max_capture_bytes: MAX_ALERT_PCAP_BYTES,
            max_active: 16,
            max_finished: 32,
        }
    }
}

/// The alert a capture is started for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAlert {
    /// The alert's id.
    pub id: String,
    /// Its source and destination addresses (either may be absent).
    pub addrs: [Option<IpAddr>; 2],
}

/// What the ring did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RingStats {
    /// Captures started.
    pub started: u64,
    /// Captures finished (taken or waiting).
    pub finished: u64,
    /// Alerts that got no capture: too many captures in progress or waiting.
    pub dropped: u64,
}

/// One frame's place in the ring.
#[derive(Debug, Clone, Copy, Default)]
struct SlotMeta {
    timestamp_ns: i64,
    original_len: u32,
    len: u32,
    linktype: u32,
    addrs: [Option<IpAddr>; 2],
}

/// A capture being filled.
#[derive(Debug)]
struct Capture {
    alert_id: String,
    addrs: [Option<IpAddr>; 2],
    linktype: u32,
    until_ns: i64,
    frames_left: u32,
    pcap: PcapWriter<Vec<u8>>,
    /// Bytes written so far (the writer's buffer is not readable while it writes).
    len: usize,
}

/// The ring and the captures in progress; see the module documentation.
#[derive(Debug)]
pub struct PacketRing {
    config: RingConfig,
    bytes: Box<[u8]>,
    meta: Box<[SlotMeta]>,
    /// Slot written next.
    next: usize,
    /// Slots holding a frame.
    filled: usize,
    active: Vec<Capture>,
    finished: Vec<AlertCapture>,
    stats: RingStats,
}

/// The addresses a decoded frame involves: IP source and destination, or ARP sender and target.
pub fn frame_addresses(packet: &Packet<'_>) -> [Option<IpAddr>; 2] {
    match &packet.network {
        Network::Ipv4(ip) => [Some(IpAddr::V4(ip.src)), Some(IpAddr::V4(ip.dst))],
        Network::Ipv6(ip) => [Some(IpAddr::V6(ip.src)), Some(IpAddr::V6(ip.dst))],
        Network::Arp(arp) => [
            Some(IpAddr::V4(arp.sender_ip)),
            Some(IpAddr::V4(arp.target_ip)),
        ],
        _ => [None, None],
    }
}

/// `config` within the documented bounds.
fn bounded(config: RingConfig) -> RingConfig {
    RingConfig {
        slots: config.slots.min(MAX_RING_SLOTS),
        snap_len: config.snap_len.clamp(64, MAX_SNAP_LEN),
        max_capture_bytes: config
            .max_capture_bytes
            .clamp(PCAP_HEADER_LEN, MAX_ALERT_PCAP_BYTES),
        ..config
    }
}

/// Whether a frame with `frame` addresses belongs in the capture of an alert with `alert`
/// addresses: it shares one of them, or the alert has none.
fn involves(frame: [Option<IpAddr>; 2], alert: [Option<IpAddr>; 2]) -> bool {
    if alert.iter().all(Option::is_none) {
        return true;
    }
    frame
        .iter()
        .flatten()
        .any(|f| alert.iter().flatten().any(|a| a == f))
}

impl PacketRing {
    /// A ring with its memory allocated; `None` when `config.slots` is 0.
    pub fn new(config: RingConfig) -> Option<Self> {
        let config = bounded(config);
        if config.slots == 0 {
            return None;
        }
        Some(Self {
            bytes: vec![0; config.slots * config.snap_len].into_boxed_slice(),
            meta: vec![SlotMeta::default(); config.slots].into_boxed_slice(),
            next: 0,
            filled: 0,
            active: Vec::with_capacity(config.max_active),
            finished: Vec::with_capacity(config.max_finished),
            stats: RingStats::default(),
            config,
        })
    }

    /// The settings in force (bounds applied).
    pub fn config(&self) -> &RingConfig {
        &self.config
    }

    /// What the ring did so far.
    pub fn stats(&self) -> RingStats {
        self.stats
    }

    /// Whether finished captures wait to be taken.
    pub fn has_finished(&self) -> bool {
        !self.finished.is_empty()
    }

    /// Whether no capture is in progress.
    pub fn is_idle(&self) -> bool {
        self.active.is_empty()
    }

    /// Keeps one frame (involving `addrs`) and adds it to the captures in progress it belongs
    /// in; captures whose time is up are finished first.
    pub fn push(&mut self, frame: &Frame<'_>, addrs: [Option<IpAddr>; 2]) {
        let snap = self.config.snap_len;
        let len = frame.data.len().min(snap);
        let start = self.next * snap;
        if let (Some(dst), Some(src)) = (
            self.bytes.get_mut(start..start + len),
            frame.data.get(..len),
        ) {
            dst.copy_from_slice(src);
        }
        if let Some(meta) = self.meta.get_mut(self.next) {
            *meta = SlotMeta {
                timestamp_ns: frame.timestamp_ns,
                original_len: frame.original_len,
                len: len as u32,
                linktype: frame.linktype.0,
                addrs,
            };
        }
        self.next = (self.next + 1) % self.config.slots;
        self.filled = (self.filled + 1).min(self.config.slots);
        if !self.active.is_empty() {
            self.follow(frame, addrs);
        }
    }

    fn follow(&mut self, frame: &Frame<'_>, addrs: [Option<IpAddr>; 2]) {
        let data = frame.data.get(..self.config.snap_len).unwrap_or(frame.data);
        let mut i = 0;
        while i < self.active.len() {
            let capture = &mut self.active[i];
            let mut done = frame.timestamp_ns > capture.until_ns;
            if !done && capture.linktype == frame.linktype.0 && involves(addrs, capture.addrs) {
                let record = RECORD_HEADER_LEN + data.len();
                if capture.len + record > self.config.max_capture_bytes {
                    done = true;
                } else if capture
                    .pcap
                    .write_frame(frame.timestamp_ns, data, frame.original_len)
                    .is_ok()
                {
                    capture.len += record;
                    capture.frames_left = capture.frames_left.saturating_sub(1);
                    done = capture.frames_left == 0;
                }
            }
            if done {
                let capture = self.active.swap_remove(i);
                self.finish(capture);
            } else {
                i += 1;
            }
        }
    }

    /// Opens the capture of a new alert with the ring's frames that involve its addresses. An
    /// alert without addresses gets the whole ring and no following frames.
    pub fn start(&mut self, alert: NewAlert) {
        if self.active.len() >= self.config.max_active
            || self.finished.len() + self.active.len() >= self.config.max_finished
        {
            self.stats.dropped += 1;
            return;
        }
        let slots = self.config.slots;
        let newest = (self.next + slots - 1) % slots;
        let Some(linktype) = (self.filled > 0)
            .then(|| self.meta.get(newest).map(|m| m.linktype))
            .flatten()
        else {
            self.stats.dropped += 1;
            return;
        };
        let config = PcapConfig {
            linktype: LinkType(linktype),
            snaplen: self.config.snap_len as u32,
            nanosecond: true,
            big_endian: false,
        };
        let buffer = Vec::with_capacity(self.config.max_capture_bytes);
        let Ok(pcap) = PcapWriter::new(buffer, config) else {
            self.stats.dropped += 1;
            return;
        };
        let mut capture = Capture {
            until_ns: self
                .meta
                .get(newest)
                .map_or(i64::MAX, |m| m.timestamp_ns)
                .saturating_add(self.config.follow_ns),
            alert_id: alert.id,
            addrs: alert.addrs,
            linktype,
            frames_left: self.config.follow_frames,
            pcap,
            len: PCAP_HEADER_LEN,
        };
        self.stats.started += 1;
        self.snapshot(&mut capture);
        if alert.addrs.iter().all(Option::is_none) || capture.frames_left == 0 {
            self.finish(capture);
        } else {
            self.active.push(capture);
        }
    }

    /// Writes the ring's frames that belong in `capture`, oldest first, keeping the newest ones
    /// that fit in three quarters of the capture's bytes.
    fn snapshot(&self, capture: &mut Capture) {
        let slots = self.config.slots;
        let oldest = (self.next + slots - self.filled) % slots;
        let belongs = |meta: &SlotMeta| {
            meta.linktype == capture.linktype && involves(meta.addrs, capture.addrs)
        };
        let budget = self.config.max_capture_bytes / 4 * 3;
        // Walk back from the newest frame to find the oldest one that still fits.
        let mut used = capture.len;
        let mut first = self.filled;
        for back in 0..self.filled {
            let index = self.filled - 1 - back;
            let Some(meta) = self.meta.get((oldest + index) % slots) else {
                continue;
            };
            if !belongs(meta) {
                continue;
            }
            let record = RECORD_HEADER_LEN + meta.len as usize;
            if used + record > budget {
                break;
            }
            used += record;
            first = index;
        }
        for index in first..self.filled {
            let slot = (oldest + index) % slots;
            let Some(meta) = self.meta.get(slot) else {
                continue;
            };
            if !belongs(meta) {
                continue;
            }
            let start = slot * self.config.snap_len;
            let Some(data) = self.bytes.get(start..start + meta.len as usize) else {
                continue;
            };
            if capture
                .pcap
                .write_frame(meta.timestamp_ns, data, meta.original_len)
                .is_ok()
            {
                capture.len += RECORD_HEADER_LEN + data.len();
            }
        }
    }

    fn finish(&mut self, capture: Capture) {
        let Ok(mut pcap) = capture.pcap.into_inner() else {
            self.stats.dropped += 1;
            return;
        };
        if self.finished.len() >= self.config.max_finished {
            self.stats.dropped += 1;
            return;
        }
        pcap.shrink_to_fit();
        self.stats.finished += 1;
        self.finished.push(AlertCapture {
            alert_id: capture.alert_id,
            pcap,
        });
    }

    /// Finishes every capture in progress (the end of the input or of a window).
    pub fn finish_all(&mut self) {
        for capture in std::mem::take(&mut self.active) {
            self.finish(capture);
        }
    }

    /// The finished captures, in the order they finished.
    pub fn take_finished(&mut self) -> Vec<AlertCapture> {
        let capacity = self.config.max_finished;
        std::mem::replace(&mut self.finished, Vec::with_capacity(capacity))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));
    const C: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 3));

    fn push(ring: &mut PacketRing, n: u8, len: usize, addrs: [Option<IpAddr>; 2]) {
        let data = vec![n; len];
        ring.push(
            &Frame {
                timestamp_ns: i64::from(n) * 1_000_000_000,
                linktype: LinkType::ETHERNET,
                data: &data,
                original_len: len as u32 + 10,
                interface: 0,
            },
            addrs,
        );
    }

    /// The records of a pcap the ring wrote: (first data byte, captured length, original length).
    fn records(pcap: &[u8]) -> Vec<(u8, u32, u32)> {
        assert_eq!(&pcap[..4], &[0x4d, 0x3c, 0xb2, 0xa1], "nanosecond pcap");
        let mut out = Vec::new();
        let mut at = PCAP_HEADER_LEN;
        while at < pcap.len() {
            let word = |o: usize| u32::from_le_bytes(pcap[at + o..at + o + 4].try_into().unwrap());
            let (caplen, orig) = (word(8), word(12));
            out.push((pcap[at + 16], caplen, orig));
            at += 16 + caplen as usize;
        }
        assert_eq!(at, pcap.len());
        out
    }

    fn alert(addrs: [Option<IpAddr>; 2]) -> NewAlert {
        NewAlert {
            id: "0123456789abcdef".into(),
            addrs,
        }
    }

    #[test]
    fn a_capture_holds_the_frames_before_and_after_that_involve_the_alert() {
        let mut ring = PacketRing::new(RingConfig {
            slots: 4,
            follow_frames: 2,
            ..RingConfig::default()
        })
        .unwrap();
        push(&mut ring, 1, 60, [Some(A), Some(B)]); // pushed out of the ring
        push(&mut ring, 2, 60, [Some(B), Some(A)]);
        push(&mut ring, 3, 60, [Some(C), Some(B)]); // not involving A
        push(&mut ring, 4, 2_000, [Some(A), Some(C)]); // cut to the snap length
        push(&mut ring, 5, 60, [Some(A), Some(B)]); // raises the alert
        ring.start(alert([Some(A), None]));
        assert!(!ring.is_idle());
        push(&mut ring, 6, 60, [Some(C), Some(B)]);
        push(&mut ring, 7, 60, [Some(B), Some(A)]);
        push(&mut ring, 8, 60, [None, None]);
        push(&mut ring, 9, 60, [Some(A), Some(B)]); // the second following frame: done
        push(&mut ring, 10, 60, [Some(A), Some(B)]);
        assert!(ring.is_idle());
        let captures = ring.take_finished();
        assert_eq!(captures.len(), 1);
        assert_eq!(captures[0].alert_id, "0123456789abcdef");
        assert!(captures[0].check().is_ok());
        assert_eq!(
            records(&captures[0].pcap),
            [
                (2, 60, 70),
                (4, 1_600, 2_010),
                (5, 60, 70),
                (7, 60, 70),
                (9, 60, 70)
            ]
        );
        assert_eq!(
            ring.stats(),
            RingStats {
                started: 1,
                finished: 1,
                dropped: 0
            }
        );
    }

    #[test]
    fn time_ends_a_capture_and_an_alert_without_addresses_gets_the_whole_ring() {
        let mut ring = PacketRing::new(RingConfig {
            slots: 3,
            follow_ns: 1_500_000_000,
            ..RingConfig::default()
        })
        .unwrap();
        push(&mut ring, 1, 60, [Some(A), Some(B)]);
        push(&mut ring, 2, 60, [Some(C), Some(B)]);
        ring.start(alert([None, None]));
        assert!(ring.is_idle(), "no addresses: nothing to follow");
        ring.start(NewAlert {
            id: "b".into(),
            addrs: [Some(B), None],
        });
        push(&mut ring, 3, 60, [Some(B), Some(A)]);
        push(&mut ring, 4, 60, [Some(B), Some(A)]); // 2 s after the alert: too late
        let captures = ring.take_finished();
        let got: Vec<Vec<u8>> = captures
            .iter()
            .map(|c| records(&c.pcap).iter().map(|r| r.0).collect())
            .collect();
        assert_eq!(got, [vec![1, 2], vec![1, 2, 3]]);
    }

    #[test]
    fn captures_are_bounded_in_bytes_and_number() {
        let mut ring = PacketRing::new(RingConfig {
            slots: 300,
            max_active: 2,
            max_finished: 3,
            follow_frames: 1_000,
            ..RingConfig::default()
        })
        .unwrap();
        for _ in 0..250 {
            push(&mut ring, 1, 1_600, [Some(A), Some(B)]);
        }
        for id in ["a", "b", "c"] {
            ring.start(NewAlert {
                id: id.into(),
                addrs: [Some(A), None],
            });
        }
        assert_eq!(ring.stats().dropped, 1, "two in progress at most");
        for _ in 0..250 {
            push(&mut ring, 2, 1_600, [Some(A), Some(B)]);
        }
        let captures = ring.take_finished();
        assert_eq!(captures.len(), 2);
        let record = RECORD_HEADER_LEN + 1_600;
        for c in &captures {
            assert!(c.pcap.len() <= MAX_ALERT_PCAP_BYTES);
            assert!(c.pcap.len() > MAX_ALERT_PCAP_BYTES - record);
            let records = records(&c.pcap);
            let before = records.iter().filter(|r| r.0 == 1).count();
            assert_eq!(
                before,
                (MAX_ALERT_PCAP_BYTES / 4 * 3 - PCAP_HEADER_LEN) / record
            );
            assert!(records.iter().skip(before).all(|r| r.0 == 2));
        }
        // Finished captures waiting count against the cap until taken.
        for id in ["d", "e", "f", "g"] {
            ring.start(NewAlert {
                id: id.into(),
                addrs: [None, None],
            });
        }
        assert_eq!(ring.take_finished().len(), 3);
        assert_eq!(ring.stats().dropped, 2);
    }

    #[test]
    fn a_ring_of_no_slots_is_off_and_sizes_are_bounded() {
        assert!(PacketRing::new(RingConfig {
            slots: 0,
            ..RingConfig::default()
        })
        .is_none());
        let config = bounded(RingConfig {
            slots: usize::MAX,
            snap_len: usize::MAX,
            max_capture_bytes: usize::MAX,
            ..RingConfig::default()
        });
        assert_eq!(config.slots, MAX_RING_SLOTS);
        assert_eq!(config.snap_len, MAX_SNAP_LEN);
        assert_eq!(config.max_capture_bytes, MAX_ALERT_PCAP_BYTES);
        assert_eq!(bounded(RingConfig::default()), RingConfig::default());
    }
}
