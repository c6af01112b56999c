//! `ironward sensor` end to end against the in-test fake console (HTTPS on 127.0.0.1): enrol
//! with a token and the console's fingerprint, stream a real capture, exit 0 once everything
//! is acknowledged; a second start needs no token and skips the finished file. The sensor's
//! logic is tested in depth in `crates/sensor/tests/uplink_*.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../sensor/tests/uplink_console/mod.rs"]
mod uplink_console;

use std::process::{Command, Output};

use uplink_console::{shared_capture, ConsoleState, FakeConsole, Identity, CREDENTIAL};

fn ironward(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ironward"))
        .args(args)
        .env("RUST_LOG", "info")
        .env_remove("IRONWARD_ENROLL_TOKEN")
        .output()
        .expect("ironward runs")
}

/// Runs with the token in the environment, not on the command line.
fn ironward_with_token(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ironward"))
        .args(args)
        .env("RUST_LOG", "info")
        .env("IRONWARD_ENROLL_TOKEN", "tok-1")
        .output()
        .expect("ironward runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn the_sensor_enrols_streams_a_capture_and_exits_when_everything_is_acknowledged() {
    let Some(capture) = shared_capture("dnp3/icsnpp_dnp3_example.pcap") else {
        return;
    };
    let capture = capture.to_str().unwrap();
    let identity = Identity::generate();
    let state = ConsoleState::new(&["tok-1"]);
    let console = FakeConsole::start(&identity, &state, 0);
    let url = console.url();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("sensor");
    let data = data.to_str().unwrap();

    // No credential and no token: a clear error.
    let out = ironward(&[
        "sensor",
        "--console",
        &url,
        "--data",
        data,
        "--pcap",
        capture,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--enroll-token"), "{}", stderr(&out));

    let fingerprint = identity.fingerprint().to_string();
    let out = ironward_with_token(&[
        "sensor",
        "--console",
        &url,
        "--console-fingerprint",
        &fingerprint,
        "--data",
        data,
        "--name",
        "cli-sensor",
        "--window",
        "30",
        "--pcap",
        capture,
    ]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains(CREDENTIAL), "the credential is never logged");
    assert!(err.contains("enrolled"), "{err}");
    let committed = state.committed.lock().unwrap().len();
    // 388 s of traffic with long pauses: a window starts at the first packet after the last
    // one ended, so there are fewer windows than 388 / 30.
    assert!(committed >= 3, "{committed} batches");
    assert!(
        err.contains(&format!("console: {committed} committed")),
        "{err}"
    );

    // Later starts need no token; the finished file is not read again.
    let out = ironward(&[
        "sensor",
        "--console",
        &url,
        "--data",
        data,
        "--pcap",
        capture,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("1 files skipped"), "{}", stderr(&out));
    assert_eq!(state.committed.lock().unwrap().len(), committed);
}

#[test]
fn bad_arguments_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let out = ironward(&[
        "sensor",
        "--console",
        "https://127.0.0.1:9",
        "--console-fingerprint",
        "md5:00",
        "--data",
        data,
        "--pcap",
        "x.pcap",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("sha256:"), "{}", stderr(&out));
    let out = ironward(&["sensor", "--console", "https://127.0.0.1:9", "--data", data]);
    assert_eq!(out.status.code(), Some(2));
    let out = ironward(&[
        "sensor",
        "--console",
        "http://127.0.0.1:9",
        "--data",
        data,
        "--enroll-token",
        "t",
        "--pcap",
        "x.pcap",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("https://"), "{}", stderr(&out));
}
