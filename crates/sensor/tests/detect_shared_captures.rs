//! Detection on the shared captures: learning on the first half of benign captures and
//! replaying the rest raises no policy alert, and every alert raised is listed and justified;
//! captures of attacks raise their alert with the right engine and technique.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use ironward_model::{Alert, AlertEngine};
use ironward_sensor::capture;
use ironward_sensor::detect::{Detector, DetectorConfig};
use ironward_sensor::engine::{Engine, EngineConfig};

fn data_dir() -> PathBuf {
    match std::env::var_os("IRONWARD_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
}

fn capture_path(relative: &str) -> Option<PathBuf> {
    let path = data_dir().join("pcaps").join(relative);
    if !path.exists() {
        eprintln!("skipped: {} not found (set IRONWARD_DATA)", path.display());
        return None;
    }
    Some(path)
}

/// Time of the first frame and of the frame a `fraction` of the way through the capture, by
/// frame count: several shared captures are spliced from recordings days apart, so a fraction
/// of their time span can hold almost none of their traffic.
fn learning_span(path: &Path, fraction: f64) -> i64 {
    let mut times = Vec::new();
    let mut reader = capture::open_file(path).unwrap();
    while let Some(frame) = reader.next_frame() {
        times.push(frame.timestamp_ns);
    }
    let first = times.first().copied().unwrap_or(0);
    let cut = ((times.len() as f64 * fraction) as usize).min(times.len().saturating_sub(1));
    times.get(cut).copied().unwrap_or(first) - first
}

/// Analyses a capture with detection; `learning` as the fraction of its frames learned from.
fn alerts(path: &Path, learning: Option<f64>) -> Vec<Alert> {
    let learning_ns = learning.map(|f| learning_span(path, f));
    let config = EngineConfig {
        detector: Some(
            Detector::new(DetectorConfig {
                learning_ns,
                baseline: None,
                iocs: None,
            })
            .shared(),
        ),
        ..EngineConfig::default()
    };
    let mut engine = Engine::with_dissectors(config, ironward_proto::registry());
    let mut reader = capture::open_file(path).unwrap();
    while let Some(frame) = reader.next_frame() {
        engine.process(&frame);
    }
    engine.finish().report.alerts
}

/// Benign captures and every alert they raise after learning on the first half of their
/// frames, each with why it is right. Captures of steady polling raise nothing; policy alerts
/// appear only where the second half holds traffic the first never had (sample and conformance
/// captures), each listed here with that traffic.
const BENIGN: &[(&str, &[&str])] = &[
    // The Digital Bond test data is a Modbus conformance run, not steady polling: each client
    // tries functions once. Among its requests are three Force Listen Only Mode diagnostics
    // (sub-function 4) from 10.0.0.57 — exactly what the malware pattern is for, benign here only
    // because it is a test bench. In the second half 10.0.0.9 writes a single coil (twice) and a
    // single register on 10.0.0.3, which it only read before: unauthorised writes by the rule.
    // And at 1386 s (frame 88) 10.0.0.8 opens a TCP connection from its port 502 to 10.0.0.57
    // port 4446 (its own SYN): a connection the first half never had. The run's robustness
    // test sends 10.0.0.8 ADUs with MBAP length 0x8804 (frame 76), and 10.0.0.8 answers Read
    // Device Identification with an MBAP length 3 short (frame 111): protocol violations,
    // one alert per receiver (detect_protocol_violations.rs lists each report).
    (
        "modbus/digitalbond_modbus_test_data_part1.pcap",
        &[
            "malware.modbus_force_listen_only",
            "policy.new_connection",
            "policy.unauthorized_write",
            "protocol.violation",
        ],
    ),
    // Spliced: 0.006 s of loopback traffic, then 2.7 days later 192.168.1.6 polls Modbus on
    // 3.15.227.20 (a public AWS address). Both hosts and their connection appear only after the
    // splice, so they are new; and an OT device talking Modbus to the internet is the anomaly.
    (
        "modbus/icsnpp_modbus_example.pcap",
        &[
            "anomaly.internet_connection",
            "policy.new_connection",
            "policy.new_device",
        ],
    ),
    ("modbus/iti_ModbusTCP.pcap", &[]),
    ("modbus/iti_modbus_test.pcap", &[]),
    // Anonymised to one address (118.189.96.132 on both ends); DNS between them appears only in
    // the second half: a protocol the first half never carried.
    ("modbus/zeek_modbusSmall.pcap", &["policy.new_protocol"]),
    ("s7comm/wincc_s400_production.pcap", &[]),
    ("s7comm/s7comm_reading_plc_status.pcap", &[]),
    ("iec104/iec104_090813_diverse.pcap", &[]),
    // Wireshark's IEC 104 test capture: its first half holds link frames and two type-24 ASDUs;
    // only in the second does the controlling station 172.27.248.109 send single (C_SC_NA_1)
    // and double (C_DC_NA_1) commands to 172.27.248.79: control commands the pair never
    // exchanged (interrogation and clock synchronisation, also new, are not control commands).
    // (The outstation's negative confirmations answer them and raise nothing of their own.)
    // It is Wireshark's dissector test, with deliberately broken APDUs among the good ones
    // (tshark: 12 errors): malformed APDUs and APCI violations.
    (
        "iec104/iec104_TestDissectIec104.pcap",
        &[
            "policy.unauthorized_command",
            "protocol.malformed",
            "protocol.violation",
        ],
    ),
    ("enip/icsnpp_enip_cip_example.pcap", &[]),
    ("dnp3/icsnpp_dnp3_example.pcap", &[]),
    // tcpdump's NTP sample: 192.168.100.1 answers 192.168.100.2's first request with a
    // kiss-o'-death (frame 2: stratum 0, code STEP, leap indicator 3): a time-sync failure of
    // that client, reported once (minor). Its next replies are at stratum 2 and raise nothing.
    ("ntp/tcpdump_ntp.pcap", &["operational.time_sync"]),
    // Its ReinitializeDevice password-guessing run (frames 572 on) is crafted with a BVLC
    // length of 17 whatever the datagram's size, the answers likewise: BVLC violations.
    ("bacnet/icsnpp_bacnet_example.pcap", &["protocol.violation"]),
];

#[test]
fn benign_captures_raise_no_policy_alert_after_learning_and_every_alert_is_justified() {
    let mut checked = 0;
    for (relative, expected) in BENIGN {
        let Some(path) = capture_path(relative) else {
            continue;
        };
        let alerts = alerts(&path, Some(0.5));
        let policy: Vec<_> = alerts
            .iter()
            .filter(|a| a.engine == AlertEngine::Policy && !expected.contains(&a.kind.as_str()))
            .map(|a| (&a.kind, &a.title))
            .collect();
        assert!(policy.is_empty(), "{relative}: policy alerts {policy:#?}");
        let mut kinds: Vec<&str> = alerts.iter().map(|a| a.kind.as_str()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds, expected.to_vec(), "{relative}: {alerts:#?}");
        checked += 1;
    }
    eprintln!("{checked} captures checked");
}

#[test]
fn s7_plc_stop_capture_raises_the_malware_and_operational_alerts() {
    let Some(path) = capture_path("s7comm/step7_s300_stop.pcap") else {
        return;
    };
    let alerts = alerts(&path, None);
    let stop = alerts
        .iter()
        .find(|a| a.kind == "malware.s7_plc_stop")
        .expect("PLC stop alert");
    assert_eq!(stop.engine, AlertEngine::Malware);
    let ids: Vec<&str> = stop.techniques.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["T0881", "T0816"]);
    assert!(stop.evidence[0].frame.is_some());
    assert_eq!(stop.devices.len(), 2, "both ends resolved to devices");
    let stopped = alerts
        .iter()
        .find(|a| a.kind == "operational.controller_stopped")
        .expect("stopped controller");
    assert_eq!(stopped.engine, AlertEngine::Operational);
}

#[test]
fn a_program_download_after_learning_is_a_policy_alert() {
    let Some(path) = capture_path("s7comm/s7comm_downloading_block_db1.pcap") else {
        return;
    };
    // Learning on a sliver of the capture: the download comes after it.
    let alerts = alerts(&path, Some(0.01));
    let kinds: Vec<&str> = alerts.iter().map(|a| a.kind.as_str()).collect();
    eprintln!("{kinds:?}");
    let download = alerts
        .iter()
        .find(|a| a.kind == "policy.program_download")
        .expect("program download alert");
    assert_eq!(download.techniques[0].id, "T0843");
}

/// Shared DHCP and SNMP captures raise no rogue DHCP server and no community guessing: each
/// holds one DHCP server (with nothing learned, the first of its segment), and managers using
/// one or two communities. A DHCP server's broadcast reply makes 255.255.255.255 a flow's
/// client (its server port is 67): it is no new device and opens no new connection.
#[test]
fn dhcp_and_snmp_captures_raise_no_rogue_server_or_guessing() {
    let captures = [
        "dhcp/zeek_dhcp.pcap",
        "dhcp/tcpdump_dhcp-rfc4388.pcap",
        "dhcp/zeek_dhcp_discover_param_req_and_client_id.pcap",
        "snmp/zeek_snmpv1_get.pcap",
        "snmp/zeek_snmpwalk-short.pcap",
        "snmp/zeek_snmpv3_get_next.pcap",
    ];
    for relative in captures {
        let Some(path) = capture_path(relative) else {
            continue;
        };
        for learning in [None, Some(0.01)] {
            let alerts = alerts(&path, learning);
            let wrong: Vec<_> = alerts
                .iter()
                .filter(|a| {
                    a.engine == AlertEngine::Anomaly
                        || (a.engine == AlertEngine::Policy
                            && a.src_ip == Some("255.255.255.255".parse().unwrap()))
                })
                .map(|a| (&a.kind, &a.title))
                .collect();
            assert!(wrong.is_empty(), "{relative} {learning:?}: {wrong:#?}");
        }
    }
}
