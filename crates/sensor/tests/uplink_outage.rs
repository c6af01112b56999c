//! The uplink survives a console outage and a sensor crash: a real capture streamed in small
//! windows to a fake console that stops after its first acknowledged batch and comes back
//! later, while the sensor is killed and restarted; at the end every batch was committed
//! exactly once and the console's sums equal a whole-file analysis.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod uplink_console;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ironward_sensor::capture;
use ironward_sensor::engine::{Engine, EngineConfig};
use ironward_sensor::uplink::backoff::BackoffConfig;
use ironward_sensor::uplink::files::file_identity;
use ironward_sensor::uplink::windows::file_series;
use ironward_sensor::uplink::{run, CaptureSource, SensorConfig, SensorControl};
use uplink_console::{shared_capture, ConsoleState, FakeConsole, Identity};

/// A DNP3 capture of 834 packets over 388 s: 22 windows of 5 s. (Request/response pairs never
/// straddle its window boundaries, so the event counts match a whole-file analysis exactly;
/// see docs/SENSOR.md on windows for captures where they do.)
const CAPTURE: &str = "dnp3/icsnpp_dnp3_example.pcap";

/// (connection packets, connection bytes, event count) of a whole-file analysis.
fn whole_file_totals(path: &Path) -> (u64, u64, u64) {
    let mut engine = Engine::with_dissectors(EngineConfig::default(), ironward_proto::registry());
    let mut reader = capture::open_file(path).unwrap();
    while let Some(frame) = reader.next_frame() {
        engine.process(&frame);
    }
    let report = engine.finish().report;
    (
        report.connections.iter().map(|c| c.packets).sum(),
        report.connections.iter().map(|c| c.bytes).sum(),
        report.events.iter().map(|e| e.count).sum(),
    )
}

fn config(console: &str, dir: &Path, file: &Path) -> SensorConfig {
    let mut config = SensorConfig::new(
        console,
        dir,
        CaptureSource::Files(vec![file.to_owned()]),
        "outage-test",
    );
    config.window = Duration::from_secs(5);
    // Small batches, so that busy windows are cut into several parts.
    config.batch.max_items = 6;
    config.backoff = BackoffConfig {
        initial: Duration::from_millis(20),
        max: Duration::from_millis(200),
    };
    config.request_timeout = Duration::from_secs(10);
    config
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn outage_and_restart_lose_nothing_and_commit_everything_once() {
    let Some(file) = shared_capture(CAPTURE) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let identity = Identity::generate();
    let state = ConsoleState::new(&["token-1"]);
    state.stop_after_acks.store(1, Ordering::SeqCst);
    let mut console = FakeConsole::start(&identity, &state, 0);
    let port = console.addr.port();

    // Run 1: enrols, streams; the console stops after its first acknowledgement; the sensor
    // is killed after its eighth window reached the outbox.
    let mut first = config(&console.url(), dir.path(), &file);
    first.enroll_token = Some("token-1".into());
    let control = Arc::new(SensorControl::new());
    {
        let control2 = Arc::clone(&control);
        let state2 = Arc::clone(&state);
        control.on_window(move |windows| {
            if windows == 1 {
                // Let the first batch be acknowledged (and the console stop) before going on.
                let start = Instant::now();
                while !state2.stopped_itself.load(Ordering::SeqCst)
                    && start.elapsed() < Duration::from_secs(20)
                {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
            if windows == 8 {
                control2.abort();
            }
        });
    }
    let summary = run(&first, &control).unwrap();
    assert!(summary.aborted);
    assert_eq!(summary.windows, 8);
    assert_eq!(summary.committed, 1, "{summary:?}");
    assert!(summary.pending >= 7, "{summary:?}");
    assert_eq!(state.commits.lock().unwrap().len(), 1);
    wait_until("the console to stop", Duration::from_secs(5), || {
        state.stopped_itself.load(Ordering::SeqCst)
    });
    console.stop();
    // The credential is kept owner-only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("credential.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // Run 2, no token needed: sends what run 1 left and re-reads the file (same ids) while the
    // console is still down; the console comes back (same port, same certificate) later.
    state.stop_after_acks.store(0, Ordering::SeqCst);
    let second = config(&format!("https://127.0.0.1:{port}"), dir.path(), &file);
    let control = Arc::new(SensorControl::new());
    let runner = {
        let control = Arc::clone(&control);
        std::thread::spawn(move || run(&second, &control))
    };
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(
        state.commits.lock().unwrap().len(),
        1,
        "the console is down"
    );
    let console = FakeConsole::start(&identity, &state, port);
    let summary = runner.join().unwrap().unwrap();
    assert!(!summary.aborted, "{summary:?}");
    assert_eq!(summary.pending, 0);
    assert_eq!(summary.files_read, 1);
    assert!(
        summary.duplicates >= 1,
        "the first window was sent again: {summary:?}"
    );

    // Exactly once: every id committed once, and the ids are exactly the file's windows.
    let commits = state.commits.lock().unwrap().clone();
    assert!(commits.values().all(|&n| n == 1), "{commits:?}");
    let committed = state.committed.lock().unwrap().clone();
    let ids: BTreeSet<&str> = committed.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(ids.len(), committed.len());
    let prefix = format!(
        "f{}-w",
        file_series(&file_identity(&file).unwrap(), Duration::from_secs(5))
    );
    // Every window's parts, numbered from 0 without a gap.
    let mut parts: std::collections::BTreeMap<u64, Vec<u32>> = Default::default();
    for id in &ids {
        let (window, part) = id
            .strip_prefix(&prefix)
            .and_then(|rest| rest.split_once("-p"))
            .unwrap_or_else(|| panic!("unexpected id {id}"));
        parts
            .entry(window.parse().unwrap())
            .or_default()
            .push(part.parse().unwrap());
    }
    let windows = parts.len() as u64;
    assert!(windows >= 20, "{windows} windows");
    assert_eq!(
        parts.keys().copied().collect::<Vec<_>>(),
        (0..windows).collect::<Vec<_>>()
    );
    for numbers in parts.values_mut() {
        numbers.sort_unstable();
        assert_eq!(*numbers, (0..numbers.len() as u32).collect::<Vec<_>>());
    }
    assert!(
        ids.len() as u64 > windows,
        "some windows were cut into parts"
    );
    assert!(committed
        .iter()
        .all(|b| b.devices.len() + b.connections.len() + b.events.len() <= 6));

    // Nothing lost, nothing counted twice.
    let (packets, bytes, events) = whole_file_totals(&file);
    let sum = |f: &dyn Fn(&ironward_model::Batch) -> u64| committed.iter().map(f).sum::<u64>();
    assert_eq!(
        sum(&|b| b.connections.iter().map(|c| c.packets).sum()),
        packets
    );
    assert_eq!(sum(&|b| b.connections.iter().map(|c| c.bytes).sum()), bytes);
    assert_eq!(sum(&|b| b.events.iter().map(|e| e.count).sum()), events);
    assert!(events > 0 && packets > 0);
    // Every batch carries the sensor's health.
    assert!(committed.iter().all(|b| b
        .health
        .as_ref()
        .is_some_and(|h| h.source.ends_with("icsnpp_dnp3_example.pcap") && h.drops == 0)));

    // The outbox is empty; a third run finds the file finished and sends nothing.
    let outbox = dir.path().join("outbox");
    assert!(std::fs::read_dir(&outbox)
        .unwrap()
        .all(|e| e.unwrap().file_type().unwrap().is_dir()));
    let requests = state.requests.load(Ordering::SeqCst);
    let summary = run(
        &config(&console.url(), dir.path(), &file),
        &SensorControl::new(),
    )
    .unwrap();
    assert_eq!((summary.files_skipped, summary.batches), (1, 0));
    assert_eq!(state.requests.load(Ordering::SeqCst), requests);
}

#[test]
fn a_full_outbox_holds_file_reading_back_and_loses_nothing() {
    let Some(file) = shared_capture(CAPTURE) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let identity = Identity::generate();
    let state = ConsoleState::new(&["t"]);
    let console = FakeConsole::start(&identity, &state, 0);
    let mut config = config(&console.url(), dir.path(), &file);
    config.enroll_token = Some("t".into());
    // At most two batches on disk at once: reading waits for the console.
    config.outbox.max_files = 2;
    let control = Arc::new(SensorControl::new());
    let outbox_dir = dir.path().join("outbox");
    let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    {
        let most = Arc::clone(&most);
        control.on_window(move |_| {
            let files = std::fs::read_dir(&outbox_dir)
                .unwrap()
                .filter(|e| e.as_ref().unwrap().file_type().unwrap().is_file())
                .count();
            most.fetch_max(files, Ordering::SeqCst);
        });
    }
    let summary = run(&config, &control).unwrap();
    assert_eq!((summary.windows_dropped, summary.pending), (0, 0));
    assert!(most.load(Ordering::SeqCst) <= 2);
    let (packets, _, events) = whole_file_totals(&file);
    let committed = state.committed.lock().unwrap();
    assert_eq!(committed.len() as u64, summary.batches);
    let sent: u64 = committed
        .iter()
        .flat_map(|b| &b.connections)
        .map(|c| c.packets)
        .sum();
    assert_eq!(sent, packets);
    let sent: u64 = committed
        .iter()
        .flat_map(|b| &b.events)
        .map(|e| e.count)
        .sum();
    assert_eq!(sent, events);
}

#[test]
fn a_window_larger_than_the_whole_outbox_is_dropped_and_counted() {
    let Some(file) = shared_capture(CAPTURE) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let identity = Identity::generate();
    let state = ConsoleState::new(&["t"]);
    let console = FakeConsole::start(&identity, &state, 0);
    let mut config = config(&console.url(), dir.path(), &file);
    config.enroll_token = Some("t".into());
    config.outbox.max_bytes = 16;
    let summary = run(&config, &SensorControl::new()).unwrap();
    assert_eq!(summary.windows, 0);
    assert!(summary.windows_dropped >= 20, "{summary:?}");
    assert_eq!(state.requests.load(Ordering::SeqCst), 0);
}
