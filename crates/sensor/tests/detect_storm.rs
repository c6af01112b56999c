//! Alert storms stay bounded: a million packets of scans and floods through an engine with a
//! detector (learning on the first seconds) keep every detector table under its documented
//! bound, keep the alert store small by aggregating each storm into a few alerts with large
//! counts, and keep the process's memory flat once the tables have filled.
//!
//! The frames are generated one at a time into one reused buffer (never a million `Vec`s), and
//! interleaved so that every storm runs at once, as they would on a bad day:
//!
//! - a vertical scan: one host tries every port of one target after another (SYN, RST back);
//! - a horizontal scan: one host tries eight industrial and IT ports on 40 000 addresses spread
//!   over all 256 /16 networks of 10.0.0.0/8 (SYN, RST back);
//! - a SYN flood from 80 000 spoofed sources (more than a tracker table holds) to one PLC;
//! - an ARP storm: 40 000 addresses each claimed by one MAC and then, on the next pass, by
//!   another (address conflicts), and one host sweeping a /16 with who-has requests;
//! - a Modbus exception storm: one client's requests all refused by a PLC.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::{IpAddr, Ipv4Addr};

use ironward_model::Alert;
use ironward_sensor::capture::Frame;
use ironward_sensor::detect::tracker::MAX_DISTINCT;
use ironward_sensor::detect::{
    Detector, DetectorConfig, DetectorFootprint, SharedDetector, MAX_ALERTS, MAX_ALERTS_PER_KIND,
    MAX_ALERTS_PER_SOURCE,
};
use ironward_sensor::engine::{Engine, EngineConfig};
use ironward_wire::build::{self, Ip, L4};
use ironward_wire::ethernet::{self, EtherType};
use ironward_wire::{arp, ipv4, tcp, LinkType, MacAddr};

/// Packets of the storm (plus the Modbus session's handshake).
const PACKETS: u64 = 1_000_000;
/// Capture time between frames: the million packets span 100 s, beyond the 60 s scan windows.
const GAP_NS: i64 = 100_000;
/// Capture time of the first frame.
const BASE_TIME_NS: i64 = 1_700_000_000_000_000_000;
/// Learning period: the first 5 s.
const LEARNING_NS: i64 = 5_000_000_000;

const VERTICAL_SCANNER: Ipv4Addr = Ipv4Addr::new(192, 168, 99, 1);
const HORIZONTAL_SCANNER: Ipv4Addr = Ipv4Addr::new(192, 168, 99, 2);
const ARP_SWEEPER: Ipv4Addr = Ipv4Addr::new(172, 20, 255, 1);
const FLOOD_VICTIM: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 10);
const MODBUS_CLIENT: Ipv4Addr = Ipv4Addr::new(192, 168, 5, 10);
const MODBUS_SERVER: Ipv4Addr = Ipv4Addr::new(192, 168, 5, 20);
/// Addresses the horizontal scan tries, each on every port of [`HORIZONTAL_PORTS`] in turn.
const HORIZONTAL_TARGETS: u32 = 40_000;
const HORIZONTAL_PORTS: [u16; 8] = [502, 102, 44818, 20000, 2404, 22, 80, 443];
/// Spoofed sources of the SYN flood (more than a tracker table's `MAX_KEYS`).
const SPOOFED_SOURCES: u32 = 80_000;
/// Addresses of the ARP conflict storm.
const ARP_CLAIMED: u32 = 40_000;
/// A Modbus request (read holding registers) and its refusal (exception 2, illegal address).
const MODBUS_REQUEST_LEN: u32 = 12;
const MODBUS_EXCEPTION_LEN: u32 = 9;

fn mac_of(ip: Ipv4Addr, variant: u8) -> MacAddr {
    let o = ip.octets();
    MacAddr([0x02, variant, o[0], o[1], o[2], o[3]])
}

/// Generates the storm's frames one at a time into a reused buffer.
struct Storm {
    buf: Vec<u8>,
    /// Frames generated so far (of the storm proper; the handshake comes first).
    n: u64,
    handshake: u8,
    /// Modbus transaction id and both sides' next sequence numbers.
    transaction: u16,
    client_seq: u32,
    server_seq: u32,
    counts: Counts,
}

/// What the storm sent, for the assertions.
#[derive(Debug, Default)]
struct Counts {
    vertical_probes: u64,
    horizontal_probes: u64,
    spoofed_syns: u64,
    arp_conflict_frames: u64,
    arp_sweep_frames: u64,
    modbus_exceptions: u64,
}

impl Storm {
    fn new() -> Self {
        Self {
            buf: vec![0; 1600],
            n: 0,
            handshake: 0,
            transaction: 0,
            client_seq: 1000,
            server_seq: 9000,
            counts: Counts::default(),
        }
    }

    /// The next frame's bytes, or `None` at the end.
    fn next(&mut self) -> Option<&[u8]> {
        if self.handshake < 3 {
            self.handshake += 1;
            let len = match self.handshake {
                1 => self.modbus_tcp(true, 0x02, self.client_seq - 1, 0, &[]),
                2 => self.modbus_tcp(false, 0x12, self.server_seq - 1, self.client_seq, &[]),
                _ => self.modbus_tcp(true, 0x10, self.client_seq, self.server_seq, &[]),
            };
            return Some(&self.buf[..len]);
        }
        if self.n >= PACKETS {
            return None;
        }
        let i = self.n;
        self.n += 1;
        // Ten slots per round; `j` numbers the rounds.
        let j = i / 10;
        let len = match i % 10 {
            0 | 1 => {
                // Every port of one target, then the next target.
                let target =
                    Ipv4Addr::from(u32::from(Ipv4Addr::new(192, 168, 50, 1)) + (j / 65535) as u32);
                let port = (j % 65535) as u16 + 1;
                if i % 10 == 0 {
                    self.counts.vertical_probes += 1;
                    self.probe(VERTICAL_SCANNER, target, 40001, port, false)
                } else {
                    self.probe(target, VERTICAL_SCANNER, port, 40001, true)
                }
            }
            2 | 3 => {
                let k = (j % u64::from(HORIZONTAL_TARGETS)) as u32;
                // Consecutive probes land in different /16 networks of 10.0.0.0/8.
                let target =
                    Ipv4Addr::from(0x0a00_0000 | (k.wrapping_mul(0x0001_0003) & 0x00ff_ffff));
                let port = HORIZONTAL_PORTS[((j / u64::from(HORIZONTAL_TARGETS)) % 8) as usize];
                if i % 10 == 2 {
                    self.counts.horizontal_probes += 1;
                    self.probe(HORIZONTAL_SCANNER, target, 40002, port, false)
                } else {
                    self.probe(target, HORIZONTAL_SCANNER, port, 40002, true)
                }
            }
            4 | 5 => {
                self.counts.spoofed_syns += 1;
                let k = (i / 5) as u32;
                let source = Ipv4Addr::from(0xac10_0000 + k % SPOOFED_SOURCES);
                self.probe(source, FLOOD_VICTIM, 1024 + (k % 60000) as u16, 502, false)
            }
            6 => {
                // The first pass binds each address to one MAC, later passes to another.
                self.counts.arp_conflict_frames += 1;
                let k = (j % u64::from(ARP_CLAIMED)) as u32;
                let sender = Ipv4Addr::from(0xac15_0000 + k);
                let variant = (j / u64::from(ARP_CLAIMED)) as u8;
                self.arp(
                    sender,
                    mac_of(sender, variant),
                    Ipv4Addr::new(172, 21, 255, 254),
                )
            }
            7 => {
                self.counts.arp_sweep_frames += 1;
                let target = Ipv4Addr::from(0xac14_0000 + (j % 65000) as u32 + 1);
                self.arp(ARP_SWEEPER, mac_of(ARP_SWEEPER, 0), target)
            }
            8 => {
                self.transaction = self.transaction.wrapping_add(1);
                let t = self.transaction.to_be_bytes();
                // Read 10 holding registers from 40001 (unit 1).
                let pdu = [t[0], t[1], 0, 0, 0, 6, 1, 3, 0, 0, 0, 10];
                let len = self.modbus_tcp(true, 0x18, self.client_seq, self.server_seq, &pdu);
                self.client_seq = self.client_seq.wrapping_add(MODBUS_REQUEST_LEN);
                len
            }
            _ => {
                self.counts.modbus_exceptions += 1;
                let t = self.transaction.to_be_bytes();
                let pdu = [t[0], t[1], 0, 0, 0, 3, 1, 0x83, 2];
                let len = self.modbus_tcp(false, 0x18, self.server_seq, self.client_seq, &pdu);
                self.server_seq = self.server_seq.wrapping_add(MODBUS_EXCEPTION_LEN);
                len
            }
        };
        Some(&self.buf[..len])
    }

    /// A SYN (or, `reply`, the RST+ACK of a closed port).
    fn probe(
        &mut self,
        from: Ipv4Addr,
        to: Ipv4Addr,
        sport: u16,
        dport: u16,
        reply: bool,
    ) -> usize {
        let (flags, seq, ack) = if reply {
            (0x14, 0, 7001)
        } else {
            (0x02, 7000, 0)
        };
        self.tcp(from, to, (sport, dport), flags, seq, ack, &[])
    }

    fn modbus_tcp(
        &mut self,
        from_client: bool,
        flags: u8,
        seq: u32,
        ack: u32,
        payload: &[u8],
    ) -> usize {
        if from_client {
            self.tcp(
                MODBUS_CLIENT,
                MODBUS_SERVER,
                (40500, 502),
                flags,
                seq,
                ack,
                payload,
            )
        } else {
            self.tcp(
                MODBUS_SERVER,
                MODBUS_CLIENT,
                (502, 40500),
                flags,
                seq,
                ack,
                payload,
            )
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn tcp(
        &mut self,
        from: Ipv4Addr,
        to: Ipv4Addr,
        ports: (u16, u16),
        flags: u8,
        seq: u32,
        ack: u32,
        payload: &[u8],
    ) -> usize {
        let eth = ethernet::Repr {
            src_addr: mac_of(from, 0),
            dst_addr: mac_of(to, 0),
            vlan: None,
            ethertype: EtherType::IPV4,
        };
        let ip = ipv4::Repr {
            src_addr: from,
            dst_addr: to,
            protocol: ironward_wire::IpProtocol::TCP,
            payload_len: 0,
            ttl: 64,
            tos: 0,
            identification: self.n as u16,
            dont_fragment: true,
            more_fragments: false,
            fragment_offset: 0,
        };
        let l4 = L4::Tcp(tcp::Repr {
            src_port: ports.0,
            dst_port: ports.1,
            seq,
            ack,
            flags,
            window: 65535,
            urgent: 0,
            mss: None,
            window_scale: None,
            sack_permitted: false,
            timestamps: None,
            payload,
        });
        build::write_frame(&mut self.buf, &eth, &Ip::V4(ip), &l4).expect("frame fits")
    }

    /// A who-has request.
    fn arp(&mut self, sender: Ipv4Addr, mac: MacAddr, target: Ipv4Addr) -> usize {
        let eth = ethernet::Repr {
            src_addr: mac,
            dst_addr: MacAddr([0xff; 6]),
            vlan: None,
            ethertype: EtherType::ARP,
        };
        let at = eth.emit(&mut self.buf).expect("header fits");
        let request = arp::Repr {
            operation: 1,
            sender_mac: mac,
            sender_ip: sender,
            target_mac: MacAddr([0; 6]),
            target_ip: target,
        };
        at + request.emit(&mut self.buf[at..]).expect("ARP fits")
    }
}

/// Counts, per thread, the bytes allocated and not yet freed, so that the test can tell how
/// much heap the detector holds: resident memory would also count the allocator's free lists
/// and move in page steps. Per thread, so that the passes with and without detection run side
/// by side (each engine allocates and frees on its own thread).
struct CountingAllocator;

thread_local! {
    static LIVE_BYTES: Cell<i64> = const { Cell::new(0) };
}

fn count(delta: i64) {
    // During thread teardown the counter may be gone; nothing measured runs then.
    let _ = LIVE_BYTES.try_with(|live| live.set(live.get() + delta));
}

// SAFETY: every call is forwarded to the system allocator unchanged; the counter only observes.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as i64);
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as i64));
        // SAFETY: as above; `ptr` came from `alloc` or `realloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size as i64 - layout.size() as i64);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// The calling thread's live heap bytes.
fn live_bytes() -> i64 {
    LIVE_BYTES.with(Cell::get)
}

/// One pass of the storm through an engine (with a detector when given).
struct Run {
    /// Live heap at the start, halfway and at the end (before the engine finishes).
    heap: [i64; 3],
    halfway: Option<DetectorFootprint>,
    end: Option<DetectorFootprint>,
    counts: Counts,
    analysis: ironward_sensor::engine::Analysis,
}

fn run(detector: Option<SharedDetector>) -> Run {
    let start_heap = live_bytes();
    let mut config = EngineConfig {
        detector: detector.clone(),
        ..EngineConfig::default()
    };
    // A small flow table, so that flows end (and reach the detector) all through the storm
    // rather than in one burst at the end.
    config.flows.max_flows = 16_384;
    let mut engine = Engine::with_dissectors(config, ironward_proto::registry());
    let mut storm = Storm::new();
    let mut frame_number = 0i64;
    let footprint = || {
        detector
            .as_ref()
            .map(|d| ironward_sensor::detect::lock(d).footprint())
    };
    let (mut half_heap, mut halfway) = (0, None);
    while let Some(data) = storm.next() {
        let len = data.len() as u32;
        engine.process(&Frame {
            timestamp_ns: BASE_TIME_NS + frame_number * GAP_NS,
            linktype: LinkType::ETHERNET,
            data,
            original_len: len,
            interface: 0,
        });
        frame_number += 1;
        if frame_number as u64 == PACKETS / 2 {
            half_heap = live_bytes();
            halfway = footprint();
        }
    }
    let end_heap = live_bytes();
    let end = footprint();
    Run {
        heap: [start_heap, half_heap, end_heap],
        halfway,
        end,
        counts: storm.counts,
        analysis: engine.finish(),
    }
}

fn check_bounds(footprint: &DetectorFootprint, at: &str) {
    for t in &footprint.tables {
        assert!(
            t.entries <= t.limit,
            "{at}: {} holds {} entries, bound {}",
            t.name,
            t.entries,
            t.limit
        );
        assert!(
            t.values <= t.entries * MAX_DISTINCT,
            "{at}: {} remembers {} values for {} entries",
            t.name,
            t.values,
            t.entries
        );
    }
    assert!(
        footprint.alerts.alerts <= MAX_ALERTS,
        "{at}: {:?}",
        footprint.alerts
    );
    assert!(footprint.alerts.updated <= footprint.alerts.alerts);
    assert!(footprint.alerts.counters <= 2 * footprint.alerts.alerts);
    assert!(footprint.new_alerts <= MAX_ALERTS);
}

fn alerts_of<'a>(alerts: &'a [Alert], kind: &str, src: Option<Ipv4Addr>) -> Vec<&'a Alert> {
    alerts
        .iter()
        .filter(|a| a.kind == kind && src.is_none_or(|s| a.src_ip == Some(IpAddr::V4(s))))
        .collect()
}

fn total(alerts: &[&Alert]) -> u64 {
    alerts.iter().map(|a| a.count).sum()
}

#[test]
fn a_million_packets_of_storms_stay_bounded_and_aggregate() {
    let started = std::time::Instant::now();
    let detector = Detector::new(DetectorConfig {
        learning_ns: Some(LEARNING_NS),
        baseline: None,
        iocs: None,
    })
    .shared();
    let (plain, detecting) = std::thread::scope(|scope| {
        let plain = scope.spawn(|| run(None));
        let detecting = scope.spawn(|| run(Some(detector)));
        (plain.join().unwrap(), detecting.join().unwrap())
    });
    eprintln!(
        "two passes in {:?}; {:?}",
        started.elapsed(),
        detecting.counts
    );
    let halfway = detecting.halfway.as_ref().expect("halfway footprint");
    let footprint = detecting.end.as_ref().expect("final footprint");
    check_bounds(halfway, "halfway");
    check_bounds(footprint, "at the end");
    for t in &footprint.tables {
        eprintln!(
            "  {:<30} {:>7} entries {:>8} values (bound {})",
            t.name, t.entries, t.values, t.limit
        );
    }
    eprintln!(
        "  alerts {:?}, new {}",
        footprint.alerts, footprint.new_alerts
    );

    // The spoofed sources (80 000) are more than a tracker table holds: the tables filled up
    // and stayed within their bound.
    let table = |name: &str| {
        let t = footprint
            .tables
            .iter()
            .find(|t| t.name == name)
            .expect(name);
        t.entries
    };
    assert!(
        halfway.tables.iter().any(|t| t.entries > 40_000),
        "the storm filled a table"
    );
    assert!(table("anomaly.vertical_scan") > 0 && table("anomaly.arp_bindings") > 0);

    let alerts = &detecting.analysis.report.alerts;
    assert_eq!(detecting.analysis.report.stats.packets, PACKETS + 3);
    for a in alerts.iter().filter(|a| a.count > 2) {
        eprintln!("  {:>7}  {}  {}", a.count, a.kind, a.title);
    }
    let counts = &detecting.counts;

    // Each scan is a few alerts with large counts, not one per probe or per target.
    let vertical = alerts_of(alerts, "anomaly.vertical_scan", Some(VERTICAL_SCANNER));
    assert!(
        !vertical.is_empty() && vertical.len() <= MAX_ALERTS_PER_SOURCE + 1,
        "{}",
        vertical.len()
    );
    assert!(
        total(&vertical) > counts.vertical_probes / 2,
        "{} of {}",
        total(&vertical),
        counts.vertical_probes
    );
    let horizontal = alerts_of(alerts, "anomaly.horizontal_scan", Some(HORIZONTAL_SCANNER));
    assert!(
        !horizontal.is_empty() && horizontal.len() <= HORIZONTAL_PORTS.len(),
        "{}",
        horizontal.len()
    );
    assert!(
        total(&horizontal) > counts.horizontal_probes / 2,
        "{} of {}",
        total(&horizontal),
        counts.horizontal_probes
    );
    // The horizontal scan tried one port of each address at a time: no vertical alert.
    assert!(alerts_of(alerts, "anomaly.vertical_scan", Some(HORIZONTAL_SCANNER)).is_empty());
    let sweep = alerts_of(alerts, "anomaly.arp_sweep", Some(ARP_SWEEPER));
    assert_eq!(sweep.len(), 1);
    assert!(sweep[0].count > counts.arp_sweep_frames / 2);
    // 40 000 address conflicts: the kind's bound, and one overflow alert counting the rest.
    let spoofing = alerts_of(alerts, "anomaly.arp_spoofing", None);
    assert_eq!(spoofing.len(), MAX_ALERTS_PER_KIND + 1);
    assert!(total(&spoofing) >= counts.arp_conflict_frames / 2);
    // Exceptions are recorded as from the requester to the server that refused.
    let storm_alerts = alerts_of(alerts, "protocol.exception_storm", Some(MODBUS_CLIENT));
    assert_eq!(storm_alerts.len(), 1, "{storm_alerts:?}");
    assert!(storm_alerts[0].count > counts.modbus_exceptions / 2);
    // The spoofed SYNs each tried one port of one host: no scan of theirs.
    assert!(alerts.iter().all(|a| !matches!(a.src_ip,
        Some(IpAddr::V4(v4)) if (v4.octets()[0], v4.octets()[1]) == (172, 16))));
    assert!(
        alerts.len() < 2 * MAX_ALERTS_PER_KIND,
        "{} alerts",
        alerts.len()
    );
    let occurrences: u64 = alerts.iter().map(|a| a.count).sum();
    assert!(
        occurrences > 100 * alerts.len() as u64,
        "{occurrences} occurrences in {} alerts",
        alerts.len()
    );

    // Memory. The engine's own inventory grows with every new connection a scan makes (up to
    // its own bound), so the detector's share is the difference between the two passes. Once
    // its tables are full (before halfway) the second half of the storm, 500 000 packets of
    // new addresses and ports, must add little: a full tracker table drops its older half and
    // fills up again, so the scan tables swing between 32 768 and 65 536 entries, each with a
    // buffer of distinct values (32 bytes here): about 1 MiB per table for the two tables of
    // the spoofed sources. 4 MiB covers that swing; a table that kept growing (per source,
    // target, alert or evidence) would add tens of MiB over 250 000 new keys. All it holds at
    // the end must stay under 64 MiB: the scan tables at their bound are about 10 MiB of hash
    // table each.
    let mib = |b: i64| b as f64 / f64::from(1 << 20);
    let growth = |r: &Run| r.heap[2] - r.heap[1];
    let held = |r: &Run| r.heap[2] - r.heap[0];
    eprintln!(
        "heap: without detection {:.1} MiB (second half +{:.1}), with {:.1} MiB (second half +{:.1})",
        mib(held(&plain)),
        mib(growth(&plain)),
        mib(held(&detecting)),
        mib(growth(&detecting))
    );
    let detector_growth = growth(&detecting) - growth(&plain);
    let detector_held = held(&detecting) - held(&plain);
    assert!(
        detector_growth < 4 << 20,
        "the detector's heap grew by {:.1} MiB in the second half",
        mib(detector_growth)
    );
    assert!(
        detector_held < 64 << 20,
        "the detector holds {:.1} MiB",
        mib(detector_held)
    );
}
