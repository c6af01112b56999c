//! The detector following its site's learning: while the site learns, each thing the baseline
//! lacks is reported once and learned; once it learned, what the baseline lacks is reported;
//! imported site entries keep a restarted detector from reporting what the site learned.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;

use ironward_model::AlertEngine;
use ironward_sensor::detect::{Detector, DetectorConfig, FlowInput, SiteEntry, SiteLearning};

fn flow(client: &str, server: &str, port: u16, at: i64) -> FlowInput {
    FlowInput {
        frame: 1,
        client: SocketAddr::new(client.parse().unwrap(), 40_000),
        server: SocketAddr::new(server.parse().unwrap(), port),
        transport: 6,
        has_ports: true,
        protocol: Some("modbus"),
        first_seen: at,
        last_seen: at + 1,
        packets: [3, 3],
        payload_bytes: [24, 24],
        answered: true,
        server_is_group: false,
    }
}

fn policy_kinds(detector: &mut Detector) -> Vec<String> {
    let mut kinds: Vec<String> = detector
        .take_updated()
        .into_iter()
        .filter(|a| a.engine == AlertEngine::Policy)
        .map(|a| format!("{} {:?}", a.kind, a.src_ip))
        .collect();
    kinds.sort();
    kinds
}

#[test]
fn site_learning_reports_once_then_alerts_and_imported_entries_stay_quiet() {
    let mut detector = Detector::new(DetectorConfig::default());
    // No learning anywhere: the policy engine is off.
    detector.on_flow(&flow("10.0.0.1", "10.0.0.2", 502, 1));
    assert!(policy_kinds(&mut detector).is_empty());

    detector.set_site_learning(SiteLearning::Learning);
    assert!(detector.is_site_learning());
    detector.on_flow(&flow("10.0.0.1", "10.0.0.2", 502, 2));
    let first = policy_kinds(&mut detector);
    assert_eq!(first.len(), 3, "two devices and a connection: {first:?}");
    // Learned: the same conversation is not reported again.
    detector.on_flow(&flow("10.0.0.1", "10.0.0.2", 502, 3));
    assert!(policy_kinds(&mut detector).is_empty());

    detector.set_site_learning(SiteLearning::Learned);
    detector.on_flow(&flow("10.0.0.1", "10.0.0.2", 502, 4));
    assert!(policy_kinds(&mut detector).is_empty());
    detector.on_flow(&flow("10.0.0.9", "10.0.0.2", 502, 5));
    let new = policy_kinds(&mut detector);
    assert!(
        new.iter().any(|k| k.starts_with("policy.new_device")),
        "{new:?}"
    );

    // A restarted detector: nothing learned locally, the site's entries imported.
    let mut restarted = Detector::new(DetectorConfig::default());
    restarted.set_site_learning(SiteLearning::Learned);
    restarted.on_flow(&flow("10.0.0.1", "10.0.0.2", 502, 6));
    let raised = restarted.take_updated();
    let entries: Vec<SiteEntry> = raised.iter().map(SiteEntry::of).collect();
    assert_eq!(entries.len(), 3);
    restarted.import_site_entries(entries);
    restarted.on_flow(&flow("10.0.0.1", "10.0.0.2", 502, 7));
    assert!(
        policy_kinds(&mut restarted).is_empty(),
        "alerts covered by the site's entries were reported"
    );
    restarted.on_flow(&flow("10.0.0.7", "10.0.0.2", 502, 8));
    assert!(!policy_kinds(&mut restarted).is_empty());
}
