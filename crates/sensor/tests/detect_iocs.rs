//! IoC matching on shared captures: a test list naming the public Modbus peer of
//! `modbus/icsnpp_modbus_example.pcap` and the SNI and JA3 of the TLS client in
//! `tls/zeek_tls_client-certificate.pcap` raises one alert per indicator, on the right device,
//! with the frame and technique; a list naming none of them raises none. A list holding the
//! SHA-256 of the DB1 block downloaded in `s7comm/s7comm_downloading_block_db1.pcap` raises the
//! transfer's alert; a hash one digit away raises none. (These are test indicators declared for
//! the captures, not real threat intelligence.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ironward_model::{Alert, AlertEngine, Severity};
use ironward_sensor::capture;
use ironward_sensor::detect::ioc::IocSet;
use ironward_sensor::detect::{Detector, DetectorConfig};
use ironward_sensor::engine::{Engine, EngineConfig};

fn capture_path(relative: &str) -> Option<PathBuf> {
    let data = match std::env::var_os("IRONWARD_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    };
    let path = data.join("pcaps").join(relative);
    if !path.exists() {
        eprintln!("skipped: {} not found (set IRONWARD_DATA)", path.display());
        return None;
    }
    Some(path)
}

/// Writes `list` to a file, loads it as the CLI does, and analyses `capture` with it.
fn alerts(capture: &Path, list: &str) -> Vec<Alert> {
    let dir = std::env::temp_dir().join(format!("ironward-iocs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{:x}.csv", list.len()));
    std::fs::write(&file, list).unwrap();
    let iocs = ironward_sensor::detect::ioc::load(&file).unwrap();
    std::fs::remove_file(&file).unwrap();
    let config = EngineConfig {
        detector: Some(
            Detector::new(DetectorConfig {
                iocs: Some(iocs),
                ..DetectorConfig::default()
            })
            .shared(),
        ),
        ..EngineConfig::default()
    };
    let mut engine = Engine::with_dissectors(config, ironward_proto::registry());
    let mut reader = capture::open_file(capture).unwrap();
    while let Some(frame) = reader.next_frame() {
        engine.process(&frame);
    }
    engine
        .finish()
        .report
        .alerts
        .into_iter()
        .filter(|a| a.kind.starts_with("malware.ioc_"))
        .collect()
}

const LIST: &str = "\
kind,value,severity,name,techniques,reference,description
ip,3.15.227.20,critical,Test Modbus peer,T0883,test,The public peer of the icsnpp Modbus sample
domain,*.idrix.fr,major,Test TLS server name,,test,
ja3,579ccef312d18482fc42e2b822ca2430,minor,Test TLS client,T0869,test,
ja4,t13d1516h2_8daaf6152771_02713d6af862,minor,Unseen JA4,,test,
ip,192.0.2.0/24,critical,Unseen range,,test,
";

const UNSEEN: &str = "\
kind,value,severity,name,techniques,reference,description
ip,3.15.227.21,critical,Next address,,test,
ip,2001:db8::/32,critical,Documentation range,,test,
domain,idrix.fr.example,major,Other name,,test,
domain,certauth.idrix.f,major,Shorter name,,test,
ja3,579ccef312d18482fc42e2b822ca2431,minor,Other JA3,,test,
";

/// The SHA-256 of the 500 bytes of block DB1 that 192.168.1.10 downloads to the S7 PLC
/// 192.168.1.40 in `s7comm/s7comm_downloading_block_db1.pcap` (the S7 dissector's hash of the
/// block's reassembled data).
const DB1_SHA256: &str = "6fbdbd7fb0f8c20cdc0b917b2a3f0a7c2b1e7d5f9536e5d804edb7d4a1628f2d";

fn ip(text: &str) -> Option<IpAddr> {
    Some(text.parse().unwrap())
}

fn one<'a>(alerts: &'a [Alert], kind: &str) -> &'a Alert {
    let found: Vec<&Alert> = alerts.iter().filter(|a| a.kind == kind).collect();
    assert_eq!(found.len(), 1, "{kind}: {alerts:#?}");
    found[0]
}

#[test]
fn a_listed_address_raises_the_alert_of_the_device_that_talked_with_it() {
    let Some(path) = capture_path("modbus/icsnpp_modbus_example.pcap") else {
        return;
    };
    let alerts = alerts(&path, LIST);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let alert = one(&alerts, "malware.ioc_ip");
    assert_eq!(alert.engine, AlertEngine::Malware);
    assert_eq!(alert.severity, Severity::Critical);
    // 192.168.1.6 polls 3.15.227.20 (frames 99 and 100, tshark): the alert is 192.168.1.6's.
    assert_eq!(alert.src_ip, ip("192.168.1.6"));
    assert_eq!(alert.techniques[0].id, "T0883");
    assert_eq!(alert.protocol.as_deref(), Some("modbus"));
    let evidence = &alert.evidence[0];
    assert!(
        matches!(evidence.frame, Some(99 | 100)),
        "{:?}",
        evidence.frame
    );
    assert!(
        evidence.summary.contains("192.168.1.6:") && evidence.summary.contains("3.15.227.20:502"),
        "{}",
        evidence.summary
    );
    assert!(evidence.summary.contains("\"Test Modbus peer\""));
}

#[test]
fn a_listed_server_name_and_client_fingerprint_raise_their_alerts() {
    let Some(path) = capture_path("tls/zeek_tls_client-certificate.pcap") else {
        return;
    };
    let alerts = alerts(&path, LIST);
    assert_eq!(alerts.len(), 2, "{alerts:#?}");
    // Frame 4 (tshark): 192.168.0.64 sends its ClientHello to 54.36.191.227 with SNI
    // certauth.idrix.fr and JA3 579ccef312d18482fc42e2b822ca2430.
    let domain = one(&alerts, "malware.ioc_domain");
    assert_eq!(domain.src_ip, ip("54.36.191.227"));
    assert_eq!(domain.severity, Severity::Major);
    assert_eq!(domain.techniques[0].id, "T0869");
    assert_eq!(domain.evidence[0].frame, Some(4));
    assert!(domain.evidence[0].summary.contains("certauth.idrix.fr"));
    assert!(domain.evidence[0].summary.contains("*.idrix.fr"));
    let ja3 = one(&alerts, "malware.ioc_ja3");
    assert_eq!(ja3.src_ip, ip("192.168.0.64"));
    assert_eq!(ja3.severity, Severity::Minor);
    assert_eq!(ja3.evidence[0].frame, Some(4));
    assert!(ja3.title.contains("Test TLS client"));
}

#[test]
fn a_list_naming_nothing_seen_raises_nothing() {
    for capture in [
        "modbus/icsnpp_modbus_example.pcap",
        "tls/zeek_tls_client-certificate.pcap",
    ] {
        let Some(path) = capture_path(capture) else {
            return;
        };
        assert_eq!(alerts(&path, UNSEEN), [], "{capture}");
    }
}

#[test]
fn a_list_with_bad_lines_keeps_the_good_ones() {
    let parsed = IocSet::parse(
        "mixed.csv",
        b"ip,3.15.227.20,critical,ok\nip,3.15.227.20/8,critical,bad\n",
    );
    assert_eq!(parsed.set.len(), 1);
    assert_eq!(parsed.issues.len(), 1);
    assert_eq!(parsed.issues[0].line, 2);
}

#[test]
fn a_listed_program_hash_raises_the_alert_of_the_transfer() {
    let Some(path) = capture_path("s7comm/s7comm_downloading_block_db1.pcap") else {
        return;
    };
    let list = format!(
        "{}\nsha256,{},critical,Test tampered DB1,,test-ref,A block under test\n",
        ironward_intel::ioc::HEADER,
        DB1_SHA256.to_ascii_uppercase()
    );
    let raised = alerts(&path, &list);
    assert_eq!(raised.len(), 1, "{raised:#?}");
    let alert = one(&raised, "malware.ioc_sha256");
    assert_eq!(alert.engine, AlertEngine::Malware);
    assert_eq!(alert.severity, Severity::Critical);
    // The engineering station that sent the block, and the PLC that received it.
    assert_eq!(alert.src_ip, ip("192.168.1.10"));
    assert_eq!(alert.dst_ip, ip("192.168.1.40"));
    assert_eq!(alert.protocol.as_deref(), Some("s7comm"));
    assert_eq!(alert.techniques[0].id, "T0843");
    assert_eq!(alert.count, 1, "one transfer, one occurrence");
    assert!(alert.title.contains("Test tampered DB1"), "{}", alert.title);
    assert!(
        alert.description.contains("s7comm download")
            && alert.description.contains("block DB1, 500 bytes"),
        "{}",
        alert.description
    );
    assert!(alert.description.contains("A block under test"));
    let evidence = &alert.evidence[0];
    assert!(evidence.frame.is_some());
    assert!(
        evidence.summary.contains(DB1_SHA256),
        "{}",
        evidence.summary
    );

    // A hash one digit away, and the list without sha256 entries, raise nothing.
    let mut near = DB1_SHA256.to_owned();
    near.replace_range(63.., "e");
    let near = format!(
        "{}\nsha256,{near},critical,Other block,,test,\n",
        ironward_intel::ioc::HEADER
    );
    assert!(alerts(&path, &near).is_empty());
    assert!(alerts(&path, LIST).is_empty());
}
