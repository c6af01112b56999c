//! The anomaly checks that learn, through the detector as the engine drives it: DHCP servers
//! (from the DHCP dissector's `dhcp-server` facts) and each conversation's most traffic per
//! volume bucket (from finished flows) are learned while learning, kept in the baseline file,
//! and compared with after learning — also by a detector started afresh from that file, as a
//! restarted sensor is.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, SocketAddr};

use ironward_model::{Alert, Attribute, DeviceKey, Fact, Severity, Source, Timestamp};
use ironward_sensor::detect::anomaly::{VOLUME_BUCKET_NS, VOLUME_FACTOR, VOLUME_MIN_EXCESS_BYTES};
use ironward_sensor::detect::{BaselineFile, Detector, DetectorConfig, FlowInput};

const SECOND: i64 = 1_000_000_000;

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

/// What the DHCP dissector reports about the server of an offer or acknowledgement.
fn dhcp_server(server: &str, time: i64) -> Fact {
    Fact::new(
        DeviceKey::Ip(ip(server)),
        Attribute::Service,
        "dhcp-server",
        Source::Dhcp,
        Timestamp(time),
    )
}

/// A finished Modbus flow of the HMI to the PLC carrying `bytes` of payload.
fn poll(bytes: u64, first_seen: i64) -> FlowInput {
    let client: SocketAddr = "10.0.0.20:40000".parse().unwrap();
    let server: SocketAddr = "10.0.0.10:502".parse().unwrap();
    FlowInput {
        frame: 1,
        client,
        server,
        transport: 6,
        has_ports: true,
        protocol: Some("modbus"),
        first_seen,
        last_seen: first_seen + SECOND,
        packets: [10, 10],
        payload_bytes: [bytes / 2, bytes - bytes / 2],
        answered: true,
        server_is_group: false,
    }
}

fn learning(seconds: i64) -> Detector {
    let mut detector = Detector::new(DetectorConfig {
        learning_ns: Some(seconds * SECOND),
        ..DetectorConfig::default()
    });
    detector.start(0);
    detector
}

fn kinds(detector: &Detector, kind: &str) -> Vec<Alert> {
    detector
        .alerts()
        .all()
        .into_iter()
        .filter(|a| a.kind == kind)
        .collect()
}

#[test]
fn dhcp_servers_learned_while_learning_and_a_new_one_after_is_rogue() {
    let mut detector = learning(10);
    detector.on_fact(1, &dhcp_server("10.0.0.1", SECOND));
    detector.on_fact(2, &dhcp_server("10.0.0.1", 20 * SECOND));
    assert!(kinds(&detector, "anomaly.rogue_dhcp").is_empty());
    detector.on_fact(3, &dhcp_server("10.0.0.66", 21 * SECOND));
    let rogue = kinds(&detector, "anomaly.rogue_dhcp");
    assert_eq!(rogue.len(), 1);
    assert_eq!(rogue[0].src_ip, Some(ip("10.0.0.66")));
    let file = detector.baseline().file();
    assert_eq!(
        file.dhcp_servers.iter().copied().collect::<Vec<_>>(),
        [ip("10.0.0.1")]
    );

    // A detector started from the saved baseline, without learning, knows the server.
    let json = serde_json::to_string(file).unwrap();
    let mut restarted = Detector::new(DetectorConfig {
        baseline: Some(serde_json::from_str::<BaselineFile>(&json).unwrap()),
        ..DetectorConfig::default()
    });
    restarted.start(0);
    restarted.on_fact(1, &dhcp_server("10.0.0.1", SECOND));
    assert!(kinds(&restarted, "anomaly.rogue_dhcp").is_empty());
    restarted.on_fact(2, &dhcp_server("10.0.0.67", 2 * SECOND));
    assert_eq!(kinds(&restarted, "anomaly.rogue_dhcp").len(), 1);
}

#[test]
fn traffic_volume_learned_while_learning_is_kept_by_a_restarted_detector() {
    let most = VOLUME_MIN_EXCESS_BYTES;
    let mut detector = learning(10);
    // Two polls in one bucket while learning: the bucket's total is the learned most.
    detector.on_flow(&poll(most / 2, SECOND));
    detector.on_flow(&poll(most - most / 2, 3 * SECOND));
    // After learning, the same traffic per bucket is normal, even repeated.
    for bucket in 1..4 {
        detector.on_flow(&poll(most, bucket * VOLUME_BUCKET_NS));
    }
    assert!(kinds(&detector, "anomaly.traffic_volume").is_empty());
    let file = detector.baseline().file().clone();
    assert_eq!(file.volumes.len(), 1);
    assert_eq!(file.volumes.first().unwrap().bytes, most);

    let burst = poll(most * VOLUME_FACTOR + 1, 10 * VOLUME_BUCKET_NS);
    detector.on_flow(&burst);
    let alerts = kinds(&detector, "anomaly.traffic_volume");
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].severity, Severity::Minor);
    assert_eq!(
        (alerts[0].src_ip, alerts[0].dst_ip),
        (Some(ip("10.0.0.20")), Some(ip("10.0.0.10")))
    );

    let json = serde_json::to_string(&file).unwrap();
    let mut restarted = Detector::new(DetectorConfig {
        baseline: Some(serde_json::from_str::<BaselineFile>(&json).unwrap()),
        ..DetectorConfig::default()
    });
    restarted.start(0);
    restarted.on_flow(&poll(most * VOLUME_FACTOR, VOLUME_BUCKET_NS));
    assert!(kinds(&restarted, "anomaly.traffic_volume").is_empty());
    restarted.on_flow(&burst);
    assert_eq!(kinds(&restarted, "anomaly.traffic_volume").len(), 1);
}

/// Without learning or a baseline nothing is measured (nothing to compare with), and DHCP
/// falls back to one server per segment.
#[test]
fn without_a_baseline_volume_is_off_and_dhcp_wants_one_server_per_segment() {
    let mut detector = Detector::new(DetectorConfig::default());
    detector.start(0);
    detector.on_flow(&poll(1, SECOND));
    detector.on_flow(&poll(VOLUME_MIN_EXCESS_BYTES * 1000, VOLUME_BUCKET_NS));
    assert!(kinds(&detector, "anomaly.traffic_volume").is_empty());
    assert!(detector.baseline().file().volumes.is_empty());
    detector.on_fact(1, &dhcp_server("192.168.1.1", SECOND));
    detector.on_fact(2, &dhcp_server("192.168.2.1", SECOND));
    assert!(kinds(&detector, "anomaly.rogue_dhcp").is_empty());
    detector.on_fact(3, &dhcp_server("192.168.1.250", 2 * SECOND));
    let rogue = kinds(&detector, "anomaly.rogue_dhcp");
    assert_eq!(rogue.len(), 1);
    assert!(rogue[0].description.contains("192.168.1.1 already answers"));
}
