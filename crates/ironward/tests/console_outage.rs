//! The outage proof with the real programs: `ironward sensor` streams real captures to
//! `ironward serve` over HTTPS; the console is killed (SIGKILL, as a crash) after it committed
//! the first batches and restarted on the same port a few seconds later. At the end the
//! console holds exactly what a console that never went down holds for the same sensor run:
//! every observation arrived, none twice.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ironward_model::Timestamp;
use ironward_store::{ConnectionQuery, DeviceQuery, EventQuery, Scope, Store};

fn data_dir() -> PathBuf {
    std::env::var_os("IRONWARD_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
}

/// The captures streamed: a Modbus plant (85 s) and a BACnet building (13 min).
const CAPTURES: &[&str] = &[
    "pcaps/modbus/iti_ModbusTCP.pcap",
    "pcaps/bacnet/icsnpp_bacnet_services.pcap",
];

/// A console process, with its URL and certificate fingerprint read from its banner.
struct Console {
    child: Child,
    fingerprint: String,
}

impl Console {
    fn start(data: &Path, port: u16) -> Console {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ironward"))
            .args(["serve", "--data"])
            .arg(data)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ironward serve starts");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut fingerprint = None;
        let mut listening = false;
        while !(listening && fingerprint.is_some()) {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx
                .recv_timeout(left)
                .expect("the console prints its banner");
            listening |= line.starts_with("Ironward console at");
            if let Some(fp) = line.trim().strip_prefix("certificate ") {
                fingerprint = Some(fp.to_owned());
            }
        }
        Console {
            child,
            fingerprint: fingerprint.unwrap(),
        }
    }

    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A one-time enrolment token for a zone of the console in `data` (made in its store, as the
/// console's UI does).
fn enrolment_token(data: &Path) -> String {
    runtime().block_on(async {
        let store = Store::open_sqlite(data).await.unwrap();
        let site = store.create_site("Plant", Timestamp(1)).await.unwrap();
        let zone = store
            .create_zone(&Scope::All, site.id, "Cell", Timestamp(1))
            .await
            .unwrap();
        let token = store
            .create_enrollment_token(
                &Scope::All,
                zone.id,
                "sensor-1",
                Timestamp(i64::MAX / 2),
                None,
                Timestamp(1),
            )
            .await
            .unwrap();
        store.close().await;
        token
    })
}

/// What a console holds: devices, connection rows and packets, event rows and counts.
#[derive(Debug, PartialEq, Eq)]
struct Totals {
    devices: i64,
    connections: i64,
    packets: i64,
    bytes: i64,
    events: i64,
    event_count: i64,
}

fn totals(data: &Path) -> Totals {
    runtime().block_on(async {
        let store = Store::open_sqlite(data).await.unwrap();
        let devices = store
            .list_devices(&DeviceQuery::new(Scope::All))
            .await
            .unwrap()
            .total;
        let (mut connections, mut packets, mut bytes) = (0, 0, 0);
        let mut query = ConnectionQuery::new(Scope::All);
        query.limit = ironward_store::MAX_PAGE;
        loop {
            let page = store.list_connections(&query).await.unwrap();
            connections += page.items.len() as i64;
            packets += page.items.iter().map(|c| c.packets).sum::<i64>();
            bytes += page.items.iter().map(|c| c.bytes).sum::<i64>();
            if page.items.is_empty() || connections >= page.total {
                break;
            }
            query.offset += query.limit;
        }
        let (mut events, mut event_count) = (0, 0);
        let mut query = EventQuery::new(Scope::All);
        query.limit = ironward_store::MAX_PAGE;
        loop {
            let page = store.list_events(&query).await.unwrap();
            events += page.items.len() as i64;
            event_count += page.items.iter().map(|e| e.count).sum::<i64>();
            if page.items.is_empty() || events >= page.total {
                break;
            }
            query.offset += query.limit;
        }
        store.close().await;
        Totals {
            devices,
            connections,
            packets,
            bytes,
            events,
            event_count,
        }
    })
}

fn devices_now(data: &Path) -> i64 {
    runtime().block_on(async {
        let store = Store::open_sqlite(data).await.unwrap();
        let n = store
            .list_devices(&DeviceQuery::new(Scope::All))
            .await
            .unwrap()
            .total;
        store.close().await;
        n
    })
}

/// Runs a sensor over the captures against a fresh console; `outage` kills and restarts the
/// console once the first batches are in. Returns the console's totals.
fn run(captures: &[PathBuf], outage: bool) -> Totals {
    let dir = tempfile::tempdir().unwrap();
    let console_data = dir.path().join("console");
    let sensor_data = dir.path().join("sensor");
    std::fs::create_dir_all(&console_data).unwrap();
    let token = enrolment_token(&console_data);
    let port = free_port();
    let console = Console::start(&console_data, port);
    let mut sensor = Command::new(env!("CARGO_BIN_EXE_ironward"))
        .args(["sensor", "--console", &format!("https://127.0.0.1:{port}")])
        .args([
            "--enroll-token",
            &token,
            "--console-fingerprint",
            &console.fingerprint,
        ])
        .arg("--data")
        .arg(&sensor_data)
        .args(["--window", "10", "--pcap"])
        .args(captures)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let console = if outage {
        let deadline = Instant::now() + Duration::from_secs(60);
        while devices_now(&console_data) == 0 {
            assert!(
                Instant::now() < deadline,
                "no batch committed within a minute"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        console.kill();
        std::thread::sleep(Duration::from_secs(3));
        Console::start(&console_data, port)
    } else {
        console
    };
    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(status) = sensor.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the sensor did not finish");
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut log = String::new();
    std::io::Read::read_to_string(sensor.stderr.as_mut().unwrap(), &mut log).unwrap();
    assert!(status.success(), "sensor failed: {log}");
    if outage {
        // The outage must really have been met, or this proves nothing.
        assert!(log.contains("cannot reach the console"), "{log}");
        assert!(log.contains("0 still in the outbox"), "{log}");
    }
    drop(console);
    totals(&console_data)
}

#[test]
fn a_console_crash_loses_nothing_and_duplicates_nothing() {
    let data = data_dir();
    let captures: Vec<PathBuf> = CAPTURES.iter().map(|c| data.join(c)).collect();
    if let Some(missing) = captures.iter().find(|c| !c.exists()) {
        println!(
            "skipped: {} is missing (set IRONWARD_DATA)",
            missing.display()
        );
        return;
    }
    let reference = run(&captures, false);
    assert!(reference.devices > 5, "{reference:?}");
    assert!(reference.packets > 20_000, "{reference:?}");
    assert!(reference.event_count > 1_000, "{reference:?}");
    let after_outage = run(&captures, true);
    assert_eq!(after_outage, reference);
}
