//! A restarted sensor keeps what it learned: the detector's baseline is saved in the data
//! directory when a window changes it and read back on start, so the traffic of the first run
//! raises no policy alert in the second while new traffic does (the policy engine is on).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod uplink_console;

use std::path::{Path, PathBuf};
use std::time::Duration;

use ironward_model::AlertEngine;
use ironward_sensor::detect::DetectorConfig;
use ironward_sensor::uplink::backoff::BackoffConfig;
use ironward_sensor::uplink::run::BASELINE_FILE;
use ironward_sensor::uplink::{run, CaptureSource, SensorConfig, SensorControl};
use uplink_console::{shared_capture, ConsoleState, FakeConsole, Identity};

fn config(
    console: &FakeConsole,
    identity: &Identity,
    dir: &Path,
    files: Vec<PathBuf>,
) -> SensorConfig {
    let mut config = SensorConfig::new(&console.url(), dir, CaptureSource::Files(files), "b");
    config.enroll_token = Some("t".into());
    config.console_fingerprint = Some(identity.fingerprint());
    config.window = Duration::from_secs(5);
    config.backoff = BackoffConfig {
        initial: Duration::from_millis(10),
        max: Duration::from_millis(50),
    };
    config.request_timeout = Duration::from_secs(5);
    config
}

#[test]
fn a_restarted_sensor_starts_from_the_baseline_it_saved() {
    let (Some(plant), Some(attack)) = (
        shared_capture("modbus/zeek_modbus-and-non-modbus-p502.pcap"),
        shared_capture("s7comm/step7_s300_stop.pcap"),
    ) else {
        return;
    };
    let identity = Identity::generate();
    let state = ConsoleState::new(&["t"]);
    let console = FakeConsole::start(&identity, &state, 0);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("sensor");

    // First run: learning for the whole capture.
    let mut first = config(&console, &identity, &data, vec![plant.clone()]);
    first.detection = Some(DetectorConfig {
        learning_ns: Some(i64::MAX / 2),
        ..DetectorConfig::default()
    });
    run(&first, &SensorControl::new()).unwrap();
    let saved = std::fs::read(data.join(BASELINE_FILE)).unwrap();
    let saved: ironward_sensor::detect::BaselineFile = serde_json::from_slice(&saved).unwrap();
    assert!(saved.devices.len() >= 2, "{saved:?}");
    let learned: Vec<String> = saved.devices.iter().map(ToString::to_string).collect();
    let committed = state.committed.lock().unwrap().len();

    // Second run, no learning option: the plant again (a copy: another file) and an attack.
    let again = dir.path().join("plant-again.pcap");
    std::fs::copy(&plant, &again).unwrap();
    let second = config(&console, &identity, &data, vec![again, attack]);
    run(&second, &SensorControl::new()).unwrap();
    let batches = state.committed.lock().unwrap();
    let policy: Vec<_> = batches[committed..]
        .iter()
        .flat_map(|b| &b.alerts)
        .filter(|a| a.engine == AlertEngine::Policy)
        .collect();
    assert!(
        !policy.is_empty(),
        "the policy engine is on: the attack's new devices alert"
    );
    for alert in &policy {
        let src = alert.src_ip.map(|ip| ip.to_string()).unwrap_or_default();
        assert!(
            !learned.contains(&src)
                || alert
                    .dst_ip
                    .is_some_and(|d| !learned.contains(&d.to_string())),
            "learned traffic alerted: {alert:?}"
        );
    }
}
