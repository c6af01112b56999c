//! Live capture through the uplink: the sensor captures the loopback interface in short
//! windows while the test sends UDP datagrams to itself on 127.0.0.1, streams to the fake
//! console (also on loopback), and is stopped; every window reached the console under a random
//! id, with the sensor's health. Needs root (AF_PACKET); otherwise it prints why it is skipped.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod uplink_console;

use std::collections::BTreeSet;
use std::net::UdpSocket;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ironward_sensor::uplink::{run, CaptureSource, SensorConfig, SensorControl};
use uplink_console::{ConsoleState, FakeConsole, Identity};

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        == Some("0")
}

#[test]
fn live_windows_stream_until_stopped_with_random_ids_and_health() {
    if !is_root() {
        println!("skipped: live capture needs root (CAP_NET_RAW)");
        return;
    }
    let identity = Identity::generate();
    let state = ConsoleState::new(&["t"]);
    let console = FakeConsole::start(&identity, &state, 0);
    let dir = tempfile::tempdir().unwrap();
    let mut config = SensorConfig::new(
        &console.url(),
        dir.path(),
        CaptureSource::Interface("lo".into()),
        "live-test",
    );
    config.enroll_token = Some("t".into());
    config.window = Duration::from_millis(300);
    let control = Arc::new(SensorControl::new());
    let runner = {
        let control = Arc::clone(&control);
        std::thread::spawn(move || run(&config, &control))
    };

    let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = receiver.local_addr().unwrap().port();
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20)
        && (state.committed.lock().unwrap().len() < 4 || start.elapsed() < Duration::from_secs(1))
    {
        sender
            .send_to(b"ironward uplink live test", ("127.0.0.1", port))
            .unwrap();
        std::thread::sleep(Duration::from_millis(10));
    }
    control.stop();
    let summary = match runner.join().unwrap() {
        Ok(summary) => summary,
        Err(e) if e.to_string().contains("permission denied") => {
            println!("skipped: {e}");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    assert_eq!(summary.pending, 0, "{summary:?}");
    assert_eq!(summary.windows_dropped, 0);

    let committed = state.committed.lock().unwrap().clone();
    assert_eq!(committed.len() as u64, summary.batches);
    assert!(committed.len() >= 4, "{} batches", committed.len());
    let ids: BTreeSet<&str> = committed.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(ids.len(), committed.len());
    assert!(ids
        .iter()
        .all(|id| id.starts_with('l') && id.ends_with("-p0")));
    let mut previous = 0;
    for batch in &committed {
        let health = batch.health.as_ref().expect("every batch has health");
        assert_eq!(health.source, "lo");
        assert!(health.packets >= previous, "cumulative");
        previous = health.packets;
        assert!(health.packets_per_second.is_finite());
    }
    assert!(previous > 0);
    let to_port: u64 = committed
        .iter()
        .flat_map(|b| &b.connections)
        .filter(|c| c.port == Some(port) && c.transport == "udp")
        .map(|c| c.packets)
        .sum();
    assert!(to_port > 10, "{to_port} datagrams seen");
}
