//! The protocol-violation engine: dissectors report PDUs that cannot be decoded (`malformed`)
//! or that break a rule of their specification (`violation`), and the detector turns them into
//! `protocol.malformed` and `protocol.violation` alerts, one per protocol and target with a
//! count. Every shared capture of the industrial protocols checked is run through an engine and
//! every such report is listed here with why it is right; crafted bad frames of several
//! protocols raise their alerts; a flood of 100 000 malformed frames stays one alert per key
//! with the detector's tables bounded.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use ironward_model::{Alert, AlertEngine, Severity};
use ironward_sensor::capture::{self, Frame};
use ironward_sensor::detect::{Detector, DetectorConfig, SharedDetector};
use ironward_sensor::engine::{Analysis, Engine, EngineConfig};
use ironward_wire::build::{self, Ip, L4};
use ironward_wire::ethernet::{self, EtherType};
use ironward_wire::{ipv4, tcp, udp, LinkType, MacAddr};

fn data_dir() -> PathBuf {
    match std::env::var_os("IRONWARD_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
}

fn engine(detector: &SharedDetector) -> Engine {
    let config = EngineConfig {
        detector: Some(detector.clone()),
        ..EngineConfig::default()
    };
    Engine::with_dissectors(config, ironward_proto::registry())
}

fn detector() -> SharedDetector {
    Detector::new(DetectorConfig::default()).shared()
}

fn analyse(path: &Path) -> Analysis {
    let detector = detector();
    let mut engine = engine(&detector);
    let mut reader = capture::open_file(path).unwrap();
    while let Some(frame) = reader.next_frame() {
        engine.process(&frame);
    }
    engine.finish()
}

/// The shared captures of the protocols whose dissectors report violations.
const DIRECTORIES: &[&str] = &[
    "modbus",
    "s7comm",
    "dnp3",
    "iec104",
    "enip",
    "bacnet",
    "opcua",
    "iec61850-mms",
];

/// Every `malformed` and `violation` report on the shared captures (capture, protocol,
/// operation, detail; a detail ending in `*` is a prefix), each with why it is right, checked
/// with tshark 4.0. Anything else reported on them fails, and so does a listed report that
/// no longer comes.
const EXPECTED: &[(&str, &str, &str, &str)] = &[
    // A password-guessing run (ReinitializeDevice with passwords Delcatty70, Shroomi24, …,
    // frames 572 on) crafted with a BVLC length of 17 whatever the datagram's size, and the
    // Simple-ACKs and Errors answering it likewise: 240 of the capture's 3257 datagrams carry
    // a BVLC length that is not theirs (tshark's BVLC length field against the UDP length).
    (
        "bacnet/icsnpp_bacnet_example.pcap",
        "bacnet",
        "violation",
        "BVLC length 17 but the datagram has *",
    ),
    // Wireshark's own IEC 104 dissector test: deliberately broken APDUs between good ones.
    // tshark reports 12 errors in it (APDU less than 4 bytes ×4, malformed ASDUs ×5,
    // malformed APCI ×3); after each, the stream is read again from the next start byte, so
    // junk bytes are skipped (malformed) and junk that happens to start with 0x68 breaks the
    // APCI rules (violation).
    (
        "iec104/iec104_TestDissectIec104.pcap",
        "iec104",
        "malformed",
        "IEC 104 start byte *",
    ),
    (
        "iec104/iec104_TestDissectIec104.pcap",
        "iec104",
        "malformed",
        "ASDU truncated at data unit identifier (offset 0)",
    ),
    (
        "iec104/iec104_TestDissectIec104.pcap",
        "iec104",
        "violation",
        "APDU length * outside 4-253",
    ),
    (
        "iec104/iec104_TestDissectIec104.pcap",
        "iec104",
        "violation",
        "S-format control 19 19 19 19: reserved bits set",
    ),
    (
        "iec104/iec104_TestDissectIec104.pcap",
        "iec104",
        "violation",
        "U-format control 0x17 without exactly one function",
    ),
    // The same server (libiec61850's example) answers every association with a session
    // ACCEPT that announces one byte more than it holds: tshark: "Malformed Packet (Exception
    // occurred)" in SES, once per capture.
    (
        "iec61850-mms/iec61850_get_name_list.pcap",
        "mms",
        "malformed",
        "MMS session parameters truncated at 1",
    ),
    (
        "iec61850-mms/iec61850_read.pcap",
        "mms",
        "malformed",
        "MMS session parameters truncated at 1",
    ),
    (
        "iec61850-mms/iec61850_write.pcap",
        "mms",
        "malformed",
        "MMS session parameters truncated at 1",
    ),
    // The server's connection confirm is `03 00 00 05 00 d0 80`: a TPKT length of 5, too
    // short for any COTP TPDU, in a 7-byte segment (tshark shows "TPKT Continuation" and no
    // COTP). The client's direction reads on.
    (
        "iec61850-mms/mms-startRequest.pcap",
        "cotp",
        "malformed",
        "TPKT: length 5 shorter than a header",
    ),
    // Frame 76: after good requests, 10.0.0.57 sends 10.0.0.8 ADUs with MBAP length 0x8804
    // (a robustness test of the conformance run; tshark waits for the 34 kB PDU that never
    // comes). The same frames are in Suricata's copy of the capture.
    (
        "modbus/digitalbond_modbus_test_data_part1.pcap",
        "modbus",
        "violation",
        "MBAP length 34820 out of range (offset 4)",
    ),
    (
        "modbus/suricata_modbus.pcap",
        "modbus",
        "violation",
        "MBAP length 34820 out of range (offset 4)",
    ),
    // Frame 111: 10.0.0.8 answers Read Device Identification with MBAP length 5 but 8 PDU
    // bytes (`…0005 0a 2a0e0401 010123`); the 3 extra bytes shift the stream, and the next
    // header read (frame 113) has protocol id 0x2300. tshark decodes neither frame as Modbus.
    (
        "modbus/digitalbond_modbus_test_data_part1.pcap",
        "modbus",
        "violation",
        "MBAP protocol id 8960 is not Modbus (offset 2)",
    ),
];

/// Whether a report matches an expected one (`*` at the end of its detail: a prefix).
fn matches(
    (capture, protocol, operation, detail): &(String, String, String, String),
    expected: &(&str, &str, &str, &str),
) -> bool {
    let detail_matches = match expected.3.split_once('*') {
        Some((prefix, suffix)) => detail.starts_with(prefix) && detail.ends_with(suffix),
        None => detail == expected.3,
    };
    capture == expected.0 && protocol == expected.1 && operation == expected.2 && detail_matches
}

fn spec_reports(analysis: &Analysis) -> Vec<(String, String, String)> {
    analysis
        .report
        .events
        .iter()
        .filter(|e| matches!(&*e.operation, "malformed" | "violation"))
        .map(|e| {
            (
                e.protocol.to_string(),
                e.operation.to_string(),
                e.detail.clone(),
            )
        })
        .collect()
}

#[test]
fn shared_captures_report_only_the_listed_violations() {
    let mut found = BTreeSet::new();
    let mut checked = 0;
    for directory in DIRECTORIES {
        let dir = data_dir().join("pcaps").join(directory);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            eprintln!("skipped: {} not found (set IRONWARD_DATA)", dir.display());
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
        paths.sort();
        for path in paths {
            let name = format!(
                "{directory}/{}",
                path.file_name().unwrap().to_string_lossy()
            );
            let analysis = analyse(&path);
            for (protocol, operation, detail) in spec_reports(&analysis) {
                found.insert((name.clone(), protocol, operation, detail));
            }
            checked += 1;
        }
    }
    if checked > 0 {
        let unexpected: Vec<_> = found
            .iter()
            .filter(|report| !EXPECTED.iter().any(|e| matches(report, e)))
            .collect();
        assert!(unexpected.is_empty(), "not justified: {unexpected:#?}");
        let gone: Vec<_> = EXPECTED
            .iter()
            .filter(|e| !found.iter().any(|report| matches(report, e)))
            .collect();
        assert!(gone.is_empty(), "listed but not reported: {gone:#?}");
    }
    eprintln!("{checked} captures checked, {} reports", found.len());
}

/// Capture time of the first crafted frame.
const BASE_TIME_NS: i64 = 1_700_000_000_000_000_000;

/// Writes crafted frames into one reused buffer and feeds them to an engine.
struct Wire {
    engine: Engine,
    buf: Vec<u8>,
    frames: i64,
}

fn mac_of(ip: Ipv4Addr) -> MacAddr {
    let o = ip.octets();
    MacAddr([0x02, 0, o[0], o[1], o[2], o[3]])
}

fn ip_header(from: Ipv4Addr, to: Ipv4Addr, protocol: ironward_wire::IpProtocol) -> ipv4::Repr {
    ipv4::Repr {
        src_addr: from,
        dst_addr: to,
        protocol,
        payload_len: 0,
        ttl: 64,
        tos: 0,
        identification: 1,
        dont_fragment: true,
        more_fragments: false,
        fragment_offset: 0,
    }
}

fn eth(from: Ipv4Addr, to: Ipv4Addr) -> ethernet::Repr {
    ethernet::Repr {
        src_addr: mac_of(from),
        dst_addr: mac_of(to),
        vlan: None,
        ethertype: EtherType::IPV4,
    }
}

impl Wire {
    fn new(detector: &SharedDetector) -> Self {
        Self {
            engine: engine(detector),
            buf: vec![0; 2048],
            frames: 0,
        }
    }

    fn send(&mut self, len: usize) {
        let data = &self.buf[..len];
        self.engine.process(&Frame {
            timestamp_ns: BASE_TIME_NS + self.frames * 1_000_000,
            linktype: LinkType::ETHERNET,
            data,
            original_len: len as u32,
            interface: 0,
        });
        self.frames += 1;
    }

    fn udp(&mut self, from: (Ipv4Addr, u16), to: (Ipv4Addr, u16), payload: &[u8]) {
        let ip = ip_header(from.0, to.0, ironward_wire::IpProtocol::UDP);
        let l4 = L4::Udp(udp::Repr {
            src_port: from.1,
            dst_port: to.1,
            payload,
        });
        let len = build::write_frame(&mut self.buf, &eth(from.0, to.0), &Ip::V4(ip), &l4)
            .expect("frame fits");
        self.send(len);
    }

    #[allow(clippy::too_many_arguments)]
    fn tcp(
        &mut self,
        from: (Ipv4Addr, u16),
        to: (Ipv4Addr, u16),
        flags: u8,
        seq: u32,
        ack: u32,
        payload: &[u8],
    ) {
        let ip = ip_header(from.0, to.0, ironward_wire::IpProtocol::TCP);
        let l4 = L4::Tcp(tcp::Repr {
            src_port: from.1,
            dst_port: to.1,
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
        let len = build::write_frame(&mut self.buf, &eth(from.0, to.0), &Ip::V4(ip), &l4)
            .expect("frame fits");
        self.send(len);
    }

    /// A TCP connection (handshake) from `client` to `server` that then carries `requests`,
    /// each in its own segment.
    fn session(&mut self, client: (Ipv4Addr, u16), server: (Ipv4Addr, u16), requests: &[&[u8]]) {
        let (mut c, s) = (1000u32, 5000u32);
        self.tcp(client, server, 0x02, c - 1, 0, &[]);
        self.tcp(server, client, 0x12, s - 1, c, &[]);
        self.tcp(client, server, 0x10, c, s, &[]);
        for request in requests {
            self.tcp(client, server, 0x18, c, s, request);
            c = c.wrapping_add(request.len() as u32);
        }
    }
}

const PLC: Ipv4Addr = Ipv4Addr::new(192, 168, 10, 20);
const RTU: Ipv4Addr = Ipv4Addr::new(192, 168, 10, 21);
const BMS: Ipv4Addr = Ipv4Addr::new(192, 168, 10, 22);
const OUTSTATION: Ipv4Addr = Ipv4Addr::new(192, 168, 10, 23);
const S7_PLC: Ipv4Addr = Ipv4Addr::new(192, 168, 10, 24);
const FUZZER: Ipv4Addr = Ipv4Addr::new(192, 168, 10, 66);

/// The alerts of `kind` about `target`.
fn of<'a>(alerts: &'a [Alert], kind: &str, target: Ipv4Addr) -> Vec<&'a Alert> {
    alerts
        .iter()
        .filter(|a| a.kind == kind && a.dst_ip == Some(target.into()))
        .collect()
}

/// A DNP3 link frame (request from master 3 to outstation 4) with a transport header and a
/// cold restart; `corrupt` flips the data block's CRC.
fn dnp3_cold_restart(corrupt: bool) -> Vec<u8> {
    fn crc(data: &[u8]) -> u16 {
        let mut crc: u16 = 0;
        for &byte in data {
            crc ^= u16::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xa6bc
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    let user = [0xc0, 0xc1, 13];
    let mut frame = vec![0x05, 0x64, 5 + user.len() as u8, 0xc4, 4, 0, 3, 0];
    frame.extend_from_slice(&crc(&frame).to_le_bytes());
    frame.extend_from_slice(&user);
    let mut block_crc = crc(&user);
    if corrupt {
        block_crc ^= 0xffff;
    }
    frame.extend_from_slice(&block_crc.to_le_bytes());
    frame
}

#[test]
fn crafted_frames_of_several_protocols_raise_their_alerts() {
    let detector = detector();
    let mut wire = Wire::new(&detector);
    // Modbus/TCP: a read of 0 registers (a rule), then a request cut inside its fields.
    wire.session(
        (FUZZER, 40001),
        (PLC, 502),
        &[
            &[0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 0],
            &[0, 2, 0, 0, 0, 3, 1, 3, 0],
        ],
    );
    // IEC 104: STARTDT act with a reserved octet set, then an I-frame whose ASDU is cut.
    wire.session(
        (FUZZER, 40002),
        (RTU, 2404),
        &[&[0x68, 4, 0x07, 1, 0, 0], &[0x68, 5, 0, 0, 0, 0, 45]],
    );
    // S7comm over TPKT/COTP: a job whose reserved header field is set.
    let mut s7 = vec![3, 0, 0, 0, 2, 0xf0, 0x80];
    s7.extend_from_slice(&[0x32, 1, 0, 7, 0, 1, 0, 2, 0, 0, 0x04, 0]);
    let len = (s7.len() as u16).to_be_bytes();
    s7[2..4].copy_from_slice(&len);
    wire.session((FUZZER, 40003), (S7_PLC, 102), &[&s7]);
    // BACnet/IP: a Who-Is whose BVLC length says 12 bytes in an 8-byte datagram.
    wire.udp(
        (FUZZER, 47808),
        (BMS, 47808),
        &[0x81, 0x0a, 0, 12, 1, 0, 0x10, 8],
    );
    // DNP3 over UDP: a cold restart whose data CRC is wrong, twice.
    for _ in 0..2 {
        wire.udp(
            (FUZZER, 20001),
            (OUTSTATION, 20000),
            &dnp3_cold_restart(true),
        );
    }
    let alerts = wire.engine.finish().report.alerts;
    let expect = |kind: &str, target: Ipv4Addr, protocol: &str, detail: &str, count: u64| {
        let found = of(&alerts, kind, target);
        assert_eq!(found.len(), 1, "{kind} {target}: {alerts:#?}");
        let alert = found[0];
        assert_eq!(alert.engine, AlertEngine::Protocol);
        assert_eq!(alert.severity, Severity::Minor);
        assert_eq!(alert.protocol.as_deref(), Some(protocol));
        assert_eq!(alert.count, count, "{alert:#?}");
        assert!(alert.title.contains(protocol) && alert.title.contains(&target.to_string()));
        assert!(
            alert.description.contains(&FUZZER.to_string()),
            "{alert:#?}"
        );
        assert!(alert.description.contains(detail), "{alert:#?}");
        let evidence = &alert.evidence[0];
        assert!(evidence.summary.contains(detail), "{evidence:?}");
        assert!(evidence
            .summary
            .starts_with(&format!("{FUZZER} → {target}")));
        assert!(evidence.frame.is_some());
        let techniques: Vec<&str> = alert.techniques.iter().map(|t| t.id.as_str()).collect();
        if kind == "protocol.malformed" {
            assert_eq!(techniques, ["T0866", "T0814"]);
        } else {
            assert_eq!(techniques, ["T0888", "T0866"]);
        }
        assert!(alert.techniques.iter().all(|t| t.name != t.id), "named");
    };
    expect(
        "protocol.violation",
        PLC,
        "modbus",
        "read_holding_registers quantity 0 outside 1-125",
        1,
    );
    expect(
        "protocol.malformed",
        PLC,
        "modbus",
        "truncated at starting address",
        1,
    );
    expect(
        "protocol.violation",
        RTU,
        "iec104",
        "U-format control 07 01 00 00: reserved bits set",
        1,
    );
    expect("protocol.malformed", RTU, "iec104", "ASDU truncated", 1);
    expect(
        "protocol.violation",
        S7_PLC,
        "s7comm",
        "S7comm reserved header field 0x0007, must be 0",
        1,
    );
    expect(
        "protocol.violation",
        BMS,
        "bacnet",
        "BVLC length 12 but the datagram has 8 bytes",
        1,
    );
    expect(
        "protocol.violation",
        OUTSTATION,
        "dnp3",
        "DNP3 CRC mismatch for the block at offset 10",
        2,
    );
    let protocol_alerts = alerts
        .iter()
        .filter(|a| a.kind == "protocol.malformed" || a.kind == "protocol.violation")
        .count();
    assert_eq!(protocol_alerts, 7, "{alerts:#?}");
}

/// Frames of the flood: from this many spoofed sources, and as many again from one fuzzer.
const FLOOD: u32 = 50_000;

#[test]
fn a_flood_of_malformed_frames_stays_one_alert_per_key_and_bounded() {
    let detector = detector();
    let mut wire = Wire::new(&detector);
    for i in 0..FLOOD {
        // A Modbus/UDP datagram cut inside its MBAP header, from a spoofed address.
        let source = Ipv4Addr::from(0x0a64_0000 + i);
        wire.udp((source, 40000), (PLC, 502), &[0, 1, 0, 0]);
        // A request whose MBAP length says more than the datagram holds, from one fuzzer
        // changing the length.
        let length = (i % 200) as u8 + 7;
        wire.udp(
            (FUZZER, 40001),
            (PLC, 502),
            &[0, 1, 0, 0, 0, length, 1, 3, 0, 0, 0, 1],
        );
        if i == FLOOD / 2 {
            let footprint = ironward_sensor::detect::lock(&detector).footprint();
            assert!(footprint.alerts.alerts <= 2, "{footprint:#?}");
        }
    }
    let footprint = ironward_sensor::detect::lock(&detector).footprint();
    for table in &footprint.tables {
        assert!(table.entries <= table.limit, "{table:?}");
    }
    let alerts = wire.engine.finish().report.alerts;
    let malformed = of(&alerts, "protocol.malformed", PLC);
    let violation = of(&alerts, "protocol.violation", PLC);
    assert_eq!(malformed.len(), 1, "{alerts:#?}");
    assert_eq!(violation.len(), 1, "{alerts:#?}");
    assert_eq!(
        (malformed[0].count, violation[0].count),
        (u64::from(FLOOD), u64::from(FLOOD))
    );
    assert!(malformed[0].evidence.len() <= ironward_model::alert::MAX_EVIDENCE);
    assert_eq!(footprint.alerts.alerts, alerts.len());
    assert!(
        alerts.len() <= 4,
        "the flood stays a few alerts: {:#?}",
        alerts
            .iter()
            .map(|a| (&a.kind, a.count))
            .collect::<Vec<_>>()
    );
    eprintln!(
        "{} frames: {} alerts, malformed count {}, violation count {}, evidence {}",
        2 * FLOOD,
        alerts.len(),
        malformed[0].count,
        violation[0].count,
        footprint.alerts.evidence
    );
}
