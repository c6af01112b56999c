//! The sensor's side of the console contract, against the in-test fake console on loopback:
//! enrolment (bad token, expected fingerprint), pinning after enrolment, and what the uploader
//! does with 400, 413, 401 and unreadable outbox files.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod uplink_console;

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use ironward_model::{Batch, Connection, Device, DeviceId, Protocols, Timestamp};
use ironward_sensor::uplink::backoff::BackoffConfig;
use ironward_sensor::uplink::client::{ClientError, ConsoleClient, IngestOutcome};
use ironward_sensor::uplink::enrol::{self, EnrolError};
use ironward_sensor::uplink::outbox::{Outbox, OutboxLimits, CORRUPT_DIR, REJECTED_DIR};
use ironward_sensor::uplink::pin::PinVerifier;
use ironward_sensor::uplink::run::{ensure_enrolled, OUTBOX_DIR};
use ironward_sensor::uplink::uploader::UploadError;
use ironward_sensor::uplink::{run, CaptureSource, SensorConfig, SensorControl, SensorError};
use uplink_console::{ConsoleState, FakeConsole, Identity, CREDENTIAL};

fn config(console: &str, dir: &Path, token: Option<&str>) -> SensorConfig {
    let mut config = SensorConfig::new(console, dir, CaptureSource::Files(vec![]), "contract");
    config.enroll_token = token.map(str::to_owned);
    config.backoff = BackoffConfig {
        initial: Duration::from_millis(10),
        max: Duration::from_millis(50),
    };
    config.request_timeout = Duration::from_secs(5);
    config.drain_grace = Duration::from_millis(300);
    config
}

fn device(id: &str) -> Device {
    Device {
        id: DeviceId(id.to_owned()),
        mac: None,
        ips: vec![],
        vendor: None,
        hostnames: vec![],
        device_type: None,
        role: None,
        model: None,
        firmware: None,
        serial: None,
        os: None,
        state: None,
        purdue_level: None,
        purdue_reason: None,
        protocols: Protocols::default(),
        services: vec![],
        findings: vec![],
        facts: vec![],
        conflicts: vec![],
        first_seen: Timestamp(1_700_000_000_000_000_000),
        last_seen: Timestamp(1_700_000_000_000_000_000),
    }
}

fn connection(port: u16) -> Connection {
    Connection {
        a: Some(DeviceId("ip:10.0.0.1".into())),
        b: Some(DeviceId("ip:10.0.0.2".into())),
        a_ip: "10.0.0.1".parse().unwrap(),
        b_ip: "10.0.0.2".parse().unwrap(),
        transport: "tcp".into(),
        port: Some(port),
        protocol: Some("modbus".into()),
        packets: 10,
        bytes: 1000,
        flows: 1,
        first_seen: Timestamp(1_700_000_000_000_000_000),
        last_seen: Timestamp(1_700_000_000_000_000_000),
    }
}

fn batch(id: &str, connections: u16) -> Batch {
    Batch {
        id: id.into(),
        created: Timestamp(1_700_000_000_000_000_000),
        devices: vec![device("ip:10.0.0.1")],
        connections: (0..connections).map(connection).collect(),
        events: vec![],
        alerts: Vec::new(),
        alert_captures: Vec::new(),
        health: None,
    }
}

fn enrolled(state: &Arc<ConsoleState>, identity: &Identity) -> (FakeConsole, tempfile::TempDir) {
    let console = FakeConsole::start(identity, state, 0);
    let dir = tempfile::tempdir().unwrap();
    ensure_enrolled(&config(&console.url(), dir.path(), Some("t"))).unwrap();
    (console, dir)
}

#[test]
fn a_bad_enrolment_token_is_a_clear_error_and_leaves_no_credential() {
    let identity = Identity::generate();
    let state = ConsoleState::new(&["good"]);
    let console = FakeConsole::start(&identity, &state, 0);
    let dir = tempfile::tempdir().unwrap();
    let err = ensure_enrolled(&config(&console.url(), dir.path(), Some("bad"))).unwrap_err();
    assert!(
        matches!(err, SensorError::Enrol(EnrolError::Refused(_))),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("enrolment refused") && text.contains("unknown, used or expired"));
    assert!(enrol::load(dir.path()).unwrap().is_none());

    // Without a token and without a credential, the error says what to do.
    let err = ensure_enrolled(&config(&console.url(), dir.path(), None)).unwrap_err();
    assert!(err.to_string().contains("--enroll-token"), "{err}");

    // A token works once.
    ensure_enrolled(&config(&console.url(), dir.path(), Some("good"))).unwrap();
    let other = tempfile::tempdir().unwrap();
    let err = ensure_enrolled(&config(&console.url(), other.path(), Some("good"))).unwrap_err();
    assert!(matches!(err, SensorError::Enrol(EnrolError::Refused(_))));
}

#[test]
fn enrolment_pins_the_console_certificate_and_checks_a_given_fingerprint() {
    let identity = Identity::generate();
    let state = ConsoleState::new(&["t1", "t2"]);
    let console = FakeConsole::start(&identity, &state, 0);

    // A fingerprint that is not the console's: no enrolment, token not spent.
    let dir = tempfile::tempdir().unwrap();
    let mut wrong = config(&console.url(), dir.path(), Some("t1"));
    wrong.console_fingerprint = Some(Identity::generate().fingerprint());
    let err = ensure_enrolled(&wrong).unwrap_err();
    assert!(
        matches!(err, SensorError::Enrol(EnrolError::WrongCertificate { .. })),
        "{err:?}"
    );
    assert!(state.tokens.lock().unwrap().contains("t1"));

    // The right fingerprint: enrolled, pinned to it; site and zone recorded.
    let mut right = config(&console.url(), dir.path(), Some("t1"));
    right.console_fingerprint = Some(identity.fingerprint());
    let enrolment = ensure_enrolled(&right).unwrap();
    assert_eq!(enrolment.fingerprint, identity.fingerprint());
    assert_eq!(enrolment.sensor_id, 7);
    assert_eq!(enrolment.site.as_deref(), Some("Plant A"));
    assert_eq!(enrolment.credential.expose(), CREDENTIAL);

    // Trust on first use records what the console presented.
    let tofu = tempfile::tempdir().unwrap();
    let enrolment = ensure_enrolled(&config(&console.url(), tofu.path(), Some("t2"))).unwrap();
    assert_eq!(enrolment.fingerprint, identity.fingerprint());

    // A later start with a conflicting fingerprint is refused.
    let mut conflict = config(&console.url(), tofu.path(), None);
    conflict.console_fingerprint = Some(Identity::generate().fingerprint());
    assert!(matches!(
        ensure_enrolled(&conflict).unwrap_err(),
        SensorError::PinConflict { .. }
    ));
}

#[test]
fn after_enrolment_another_certificate_is_refused() {
    let identity = Identity::generate();
    let state = ConsoleState::new(&["t"]);
    let (console, dir) = enrolled(&state, &identity);
    let enrolment = enrol::load(dir.path()).unwrap().unwrap();

    // An impostor on another port, with its own certificate but the same contract.
    let impostor_state = ConsoleState::new(&[]);
    let impostor = FakeConsole::start(&Identity::generate(), &impostor_state, 0);
    let client = ConsoleClient::new(
        &impostor.url(),
        Arc::new(PinVerifier::pinned(enrolment.fingerprint)),
        Duration::from_secs(5),
    )
    .unwrap();
    let body = serde_json::to_vec(&batch("b-1", 1)).unwrap();
    match client.ingest(&enrolment.credential, &body) {
        IngestOutcome::Retry(ClientError::PinMismatch {
            expected,
            presented,
        }) => {
            assert_eq!(expected, identity.fingerprint());
            assert_ne!(presented, expected);
        }
        other => panic!("expected a pin mismatch, got {other:?}"),
    }
    // Nothing reached the impostor's HTTP layer: the handshake failed first.
    assert_eq!(impostor_state.requests.load(Ordering::SeqCst), 0);

    // A whole run against the impostor sends nothing and keeps the batch for the real console.
    let outbox = Outbox::open(&dir.path().join(OUTBOX_DIR), OutboxLimits::default()).unwrap();
    outbox.push("b-1", &body).unwrap();
    drop(outbox);
    let control = SensorControl::new();
    control.stop();
    let summary = run(&config(&impostor.url(), dir.path(), None), &control).unwrap();
    assert_eq!((summary.committed, summary.pending), (0, 1));
    assert_eq!(impostor_state.requests.load(Ordering::SeqCst), 0);

    // The real console gets it.
    let summary = run(
        &config(&console.url(), dir.path(), None),
        &SensorControl::new(),
    )
    .unwrap();
    assert_eq!((summary.committed, summary.pending), (1, 0));
}

#[test]
fn malformed_batches_are_set_aside_with_the_reason_and_the_rest_still_goes() {
    let identity = Identity::generate();
    let state = ConsoleState::new(&["t"]);
    let (console, dir) = enrolled(&state, &identity);
    let outbox_dir = dir.path().join(OUTBOX_DIR);
    let outbox = Outbox::open(&outbox_dir, OutboxLimits::default()).unwrap();
    outbox
        .push("good-1", &serde_json::to_vec(&batch("good-1", 2)).unwrap())
        .unwrap();
    let mut bad = batch("bad-1", 1);
    bad.devices[0].id = DeviceId(String::new());
    outbox
        .push("bad-1", &serde_json::to_vec(&bad).unwrap())
        .unwrap();
    outbox.push("torn-1", b"{\"id\":\"torn-1\",\"crea").unwrap();
    outbox
        .push("renamed", &serde_json::to_vec(&batch("other", 1)).unwrap())
        .unwrap();
    outbox
        .push("good-2", &serde_json::to_vec(&batch("good-2", 2)).unwrap())
        .unwrap();
    drop(outbox);

    let summary = run(
        &config(&console.url(), dir.path(), None),
        &SensorControl::new(),
    )
    .unwrap();
    assert_eq!(
        (summary.committed, summary.rejected, summary.pending),
        (2, 1, 0)
    );
    let committed: Vec<String> = state
        .committed
        .lock()
        .unwrap()
        .iter()
        .map(|b| b.id.clone())
        .collect();
    assert_eq!(committed, ["good-1", "good-2"]);

    let read_reason = |sub: &str, id: &str| {
        let dir = outbox_dir.join(sub);
        let name = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .find(|n| n.contains(id) && n.ends_with(".reason"))
            .unwrap_or_else(|| panic!("no reason for {id} in {sub}"));
        assert!(dir.join(name.trim_end_matches(".reason")).exists());
        std::fs::read_to_string(dir.join(name)).unwrap()
    };
    assert!(read_reason(REJECTED_DIR, "bad-1").contains("devices[0].id is empty"));
    assert!(read_reason(CORRUPT_DIR, "torn-1").contains("torn or damaged"));
    assert!(read_reason(CORRUPT_DIR, "renamed").contains("holds batch \"other\""));
}

#[test]
fn a_batch_over_the_consoles_limit_is_split_until_it_fits() {
    let identity = Identity::generate();
    let state = ConsoleState::new(&["t"]);
    let (console, dir) = enrolled(&state, &identity);
    let big = batch("big", 40);
    let body = serde_json::to_vec(&big).unwrap();
    // The console takes a third of it at most: split twice (into quarters).
    state
        .body_limit
        .store(body.len() as u64 / 3, Ordering::SeqCst);
    let outbox = Outbox::open(&dir.path().join(OUTBOX_DIR), OutboxLimits::default()).unwrap();
    outbox.push("big", &body).unwrap();
    drop(outbox);
    let summary = run(
        &config(&console.url(), dir.path(), None),
        &SensorControl::new(),
    )
    .unwrap();
    assert_eq!(summary.pending, 0);
    let committed = state.committed.lock().unwrap().clone();
    let ids: Vec<&str> = committed.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(ids, ["big.a.a", "big.a.b", "big.b.a", "big.b.b"]);
    let ports: Vec<Option<u16>> = committed
        .iter()
        .flat_map(|b| &b.connections)
        .map(|c| c.port)
        .collect();
    assert_eq!(
        ports,
        big.connections.iter().map(|c| c.port).collect::<Vec<_>>()
    );
    assert!(state.too_large.load(Ordering::SeqCst) >= 3);
}

#[test]
fn a_refused_credential_stops_the_sensor_and_keeps_the_outbox() {
    let identity = Identity::generate();
    let state = ConsoleState::new(&["t"]);
    let (console, dir) = enrolled(&state, &identity);
    // Tamper with the saved credential: the console no longer knows it.
    let path = dir.path().join(enrol::CREDENTIAL_FILE);
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace(CREDENTIAL, "revoked");
    std::fs::write(&path, text).unwrap();
    let outbox = Outbox::open(&dir.path().join(OUTBOX_DIR), OutboxLimits::default()).unwrap();
    outbox
        .push("b-1", &serde_json::to_vec(&batch("b-1", 1)).unwrap())
        .unwrap();
    drop(outbox);
    let err = run(
        &config(&console.url(), dir.path(), None),
        &SensorControl::new(),
    )
    .unwrap_err();
    assert!(
        matches!(err, SensorError::Upload(UploadError::Unauthorized(_))),
        "{err:?}"
    );
    assert!(err.to_string().contains("enrol again"));
    assert!(
        !err.to_string().contains("revoked"),
        "secrets are never shown"
    );
    let outbox = Outbox::open(&dir.path().join(OUTBOX_DIR), OutboxLimits::default()).unwrap();
    assert_eq!(outbox.len(), 1);
}

#[test]
fn only_a_committed_answer_removes_a_batch() {
    let identity = Identity::generate();
    let state = ConsoleState::new(&["t"]);
    let (console, dir) = enrolled(&state, &identity);
    state.unavailable_next.store(3, Ordering::SeqCst);
    state.garbage_next.store(2, Ordering::SeqCst);
    let outbox = Outbox::open(&dir.path().join(OUTBOX_DIR), OutboxLimits::default()).unwrap();
    outbox
        .push("b-1", &serde_json::to_vec(&batch("b-1", 3)).unwrap())
        .unwrap();
    drop(outbox);
    let summary = run(
        &config(&console.url(), dir.path(), None),
        &SensorControl::new(),
    )
    .unwrap();
    assert_eq!((summary.committed, summary.pending), (1, 0));
    assert_eq!(summary.retries, 5, "{summary:?}");
    assert_eq!(state.commits.lock().unwrap().get("b-1"), Some(&1));
}
