//! Alert pcaps reach users: `ironward sensor` runs the detector and its packet ring over a real
//! capture with an S7 PLC stop and uploads to `ironward serve`; the alert's pcap is then
//! downloaded through the console's REST API (HTTPS, an API token) and read back by tshark: it
//! holds the stop PDU, and it is the same file `ironward analyze --pcap-dir` writes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use ironward_model::Timestamp;
use ironward_sensor::uplink::pin::PinVerifier;
use ironward_store::{Scope, Store};
use serde_json::Value;

fn capture(relative: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("IRONWARD_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    let path = dir.join("pcaps").join(relative);
    if path.exists() {
        Some(path)
    } else {
        println!("skipped: {} is missing (set IRONWARD_DATA)", path.display());
        None
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A console process with its certificate fingerprint, read from its banner.
struct Console {
    child: Child,
    address: SocketAddr,
    fingerprint: String,
}

impl Console {
    fn start(data: &Path) -> Console {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
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
        let (mut fingerprint, mut listening) = (None, false);
        while !(listening && fingerprint.is_some()) {
            let line = rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("the console prints its banner");
            listening |= line.starts_with("Ironward console at");
            if let Some(fp) = line.trim().strip_prefix("certificate ") {
                fingerprint = Some(fp.to_owned());
            }
        }
        Console {
            child,
            address: SocketAddr::from(([127, 0, 0, 1], port)),
            fingerprint: fingerprint.unwrap(),
        }
    }

    fn url(&self) -> String {
        format!("https://{}", self.address)
    }

    /// `GET path` with an API token over HTTPS (the console's certificate pinned): status and
    /// JSON body.
    fn get(&self, token: &str, path: &str) -> (u16, Value) {
        let (status, _, body) = self.request("GET", token, path, "");
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// Status, head (lower case) and body bytes of a request.
    fn request(&self, method: &str, token: &str, path: &str, body: &str) -> (u16, String, Vec<u8>) {
        let verifier = Arc::new(PinVerifier::pinned(self.fingerprint.parse().unwrap()));
        let config = Arc::new(verifier.client_config().unwrap());
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let connection = rustls::ClientConnection::new(config, name).unwrap();
        let socket = TcpStream::connect(self.address).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut tls = rustls::StreamOwned::new(connection, socket);
        write!(
            tls,
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n\
             {body}",
            body.len()
        )
        .unwrap();
        let mut raw = Vec::new();
        // The console closes after the answer; a missing close_notify is not our concern.
        if let Err(e) = tls.read_to_end(&mut raw) {
            assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof, "{e}");
        }
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("an HTTP answer");
        let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
        let body = &raw[split + 4..];
        let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
        let body = if head.contains("transfer-encoding: chunked") {
            unchunk(body)
        } else {
            body.to_vec()
        };
        (status, head, body)
    }
}

fn unchunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line) = body.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(std::str::from_utf8(&body[..line]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        let rest = &body[line + 2..];
        out.extend_from_slice(&rest[..size]);
        body = &rest[size + 2..];
    }
    out
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A site, a zone and an enrolment token for a sensor, and an administrator's API token, made
/// in the console's store before it starts: (enrolment token, API token, site id).
fn prepare(data: &Path) -> (String, String, i64) {
    runtime().block_on(async {
        let store = Store::open_sqlite(data).await.unwrap();
        let site = store.create_site("Plant", Timestamp(1)).await.unwrap();
        let zone = store
            .create_zone(&Scope::All, site.id, "Cell", Timestamp(1))
            .await
            .unwrap();
        let enrolment = store
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
        let hash = ironward_console::password::hash_password("correct horse battery").unwrap();
        let admin = store
            .create_user("admin", "admin", &[], &hash, Timestamp(1))
            .await
            .unwrap();
        let api = ironward_store::secret::new_secret().unwrap();
        store
            .create_api_token(
                admin.id,
                "test",
                &ironward_store::secret::hash_secret(&api),
                Timestamp(1),
            )
            .await
            .unwrap();
        store.close().await;
        (enrolment, api, site.id.0)
    })
}

/// Runs `ironward sensor` over the captures until everything is acknowledged.
fn sensor(console: &Console, token: &str, data: &Path, window: &str, captures: &[PathBuf]) {
    let out = Command::new(env!("CARGO_BIN_EXE_ironward"))
        .args(["sensor", "--console", &console.url()])
        .args(["--console-fingerprint", &console.fingerprint])
        .arg("--data")
        .arg(data)
        .args(["--window", window, "--pcap"])
        .args(captures)
        .env("IRONWARD_ENROLL_TOKEN", token)
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_sensor_s_alert_pcap_downloads_from_the_console() {
    let Some(stop) = capture("s7comm/step7_s300_stop.pcap") else {
        return;
    };
    if Command::new("tshark").arg("--version").output().is_err() {
        println!("skipped: tshark is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let console_data = dir.path().join("console");
    std::fs::create_dir_all(&console_data).unwrap();
    let (enrolment, api, _) = prepare(&console_data);
    let console = Console::start(&console_data);
    sensor(
        &console,
        &enrolment,
        &dir.path().join("sensor"),
        "60",
        std::slice::from_ref(&stop),
    );

    let (status, list) = console.get(&api, "/api/v1/alerts?limit=500");
    assert_eq!(status, 200, "{list}");
    let stop_alert = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "malware.s7_plc_stop")
        .unwrap_or_else(|| panic!("no S7 stop alert in {list:#}"));
    let id = stop_alert["id"].as_i64().unwrap();
    let key = stop_alert["key"].as_str().unwrap();
    let (status, head, pcap) =
        console.request("GET", &api, &format!("/api/v1/alerts/{id}/pcap"), "");
    assert_eq!(status, 200, "{head}");
    assert!(
        head.contains("content-type: application/vnd.tcpdump.pcap"),
        "{head}"
    );
    let file = dir.path().join("download.pcap");
    std::fs::write(&file, &pcap).unwrap();
    let out = Command::new("tshark")
        .arg("-r")
        .arg(&file)
        .args([
            "-T",
            "fields",
            "-e",
            "ip.src",
            "-e",
            "ip.dst",
            "-e",
            "s7comm.param.func",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.lines().any(|l| l.ends_with("0x29")), "{text}");
    for line in text.lines() {
        assert!(
            line.contains("134.249.62.199") || line.contains("134.249.61.163"),
            "{line}"
        );
    }

    // The same packets `analyze --pcap-dir` writes for the same alert.
    let pcaps = dir.path().join("pcaps");
    let out = Command::new(env!("CARGO_BIN_EXE_ironward"))
        .args(["analyze", "--format", "json", "--pcap-dir"])
        .arg(&pcaps)
        .arg(&stop)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        std::fs::read(pcaps.join(format!("{key}.pcap"))).unwrap(),
        pcap
    );

    // An alert without a capture, or none at all, is 404.
    let (status, _, _) = console.request("GET", &api, "/api/v1/alerts/999999/pcap", "");
    assert_eq!(status, 404);
}
