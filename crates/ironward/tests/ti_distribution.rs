//! Threat-intelligence packages reach the sensors: an administrator uploads a package signed by
//! a key made here to `ironward serve --ti-pubkey` and applies it to a site; `ironward sensor
//! --ti-pubkey` downloads it from its ingest answers, verifies it with its own key, applies its
//! IoCs and reports, and the console shows the sensor "ok" on that package. A package signed by
//! another key is refused at upload. When the console's key changes (a new key, a package
//! signed by it applied), a sensor still configured with the old key refuses the new package,
//! reports "failed" with the reason, and keeps detecting with the package it had.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use ironward_intel::ti::package::{build, PackageContents};
use ironward_intel::ti::sign::{write_key_pair, SigningKey};
use ironward_model::Timestamp;
use ironward_sensor::uplink::pin::PinVerifier;
use ironward_store::{Scope, Store};
use serde_json::Value;

/// The S7 PLC of the capture: the IoC list of the packages names it.
const PLC: &str = "134.249.61.163";

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

/// A console process verifying uploads with `pubkey`, its fingerprint read from its banner.
struct Console {
    child: Child,
    address: SocketAddr,
    fingerprint: String,
}

impl Console {
    fn start(data: &Path, pubkey: &Path) -> Console {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_ironward"))
            .args(["serve", "--data"])
            .arg(data)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--ti-pubkey")
            .arg(pubkey)
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

    fn get(&self, token: &str, path: &str) -> (u16, Value) {
        self.request("GET", token, path, "application/json", b"")
    }

    fn post(&self, token: &str, path: &str, body: &str) -> (u16, Value) {
        self.request("POST", token, path, "application/json", body.as_bytes())
    }

    fn upload(&self, token: &str, package: &[u8]) -> (u16, Value) {
        self.request(
            "POST",
            token,
            "/api/v1/ti/packages",
            "application/octet-stream",
            package,
        )
    }

    /// Status and JSON body of a request over HTTPS, the console's certificate pinned.
    fn request(
        &self,
        method: &str,
        token: &str,
        path: &str,
        content_type: &str,
        body: &[u8],
    ) -> (u16, Value) {
        let verifier = Arc::new(PinVerifier::pinned(self.fingerprint.parse().unwrap()));
        let config = Arc::new(verifier.client_config().unwrap());
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let connection = rustls::ClientConnection::new(config, name).unwrap();
        let socket = TcpStream::connect(self.address).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let mut tls = rustls::StreamOwned::new(connection, socket);
        write!(
            tls,
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .unwrap();
        tls.write_all(body).unwrap();
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
        let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
        let body = &raw[split + 4..];
        let body = if head.contains("transfer-encoding: chunked") {
            unchunk(body)
        } else {
            body.to_vec()
        };
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
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

/// A site, a zone, an enrolment token and an administrator's API token, made in the console's
/// store before it starts: (enrolment token, API token, site id).
fn prepare(data: &Path) -> (String, String, i64) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
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

/// A package signed by `key`, built `day` days after 2026-01-01, whose IoC list names the PLC.
fn package(key: &SigningKey, day: i64) -> (u64, Vec<u8>) {
    let contents = PackageContents {
        iocs_csv: format!(
            "kind,value,severity,name,techniques,reference,description\n\
             ip,{PLC},critical,Test implant host,,test,The PLC of the capture\n"
        ),
        ..PackageContents::default()
    };
    let at = time::OffsetDateTime::from_unix_timestamp(1_767_225_600 + day * 86_400).unwrap();
    let (info, bytes) = build(&contents, Vec::new(), Vec::new(), at, key).unwrap();
    (info.sequence, bytes)
}

/// Runs `ironward sensor --ti-pubkey` over one capture until everything is acknowledged.
fn sensor(console: &Console, token: &str, data: &Path, pubkey: &Path, capture: &Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_ironward"))
        .args(["sensor", "--console", &console.url()])
        .args(["--console-fingerprint", &console.fingerprint])
        .arg("--data")
        .arg(data)
        .arg("--ti-pubkey")
        .arg(pubkey)
        .args(["--window", "60", "--pcap"])
        .arg(capture)
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

/// The one sensor's `threat_intel` as `GET /api/v1/sensors` shows it.
fn sensor_ti(console: &Console, api: &str) -> Value {
    let (status, list) = console.get(api, "/api/v1/sensors");
    assert_eq!(status, 200, "{list}");
    list["items"][0]["threat_intel"].clone()
}

/// How many times the console counted the IoC alert on the PLC (0: no such alert).
fn ioc_alert_count(console: &Console, api: &str) -> u64 {
    let (status, list) = console.get(api, "/api/v1/alerts?limit=500");
    assert_eq!(status, 200, "{list}");
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "malware.ioc_ip" && a.to_string().contains(PLC))
        .map(|a| a["count"].as_u64().unwrap())
        .sum()
}

#[test]
fn a_package_applied_to_a_site_reaches_its_sensor_which_enforces_its_own_key() {
    let (Some(stop), Some(other)) = (
        capture("s7comm/step7_s300_stop.pcap"),
        capture("modbus/zeek_modbus-and-non-modbus-p502.pcap"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let console_data = dir.path().join("console");
    let sensor_data = dir.path().join("sensor");
    std::fs::create_dir_all(&console_data).unwrap();
    let console_key = SigningKey::from_bytes(&[7; 32]);
    let console_pub = write_key_pair(&console_key, &dir.path().join("console.key")).unwrap();
    let other_key = SigningKey::from_bytes(&[9; 32]);
    let other_pub = write_key_pair(&other_key, &dir.path().join("other.key")).unwrap();
    let (enrolment, api, site) = prepare(&console_data);
    let console = Console::start(&console_data, &console_pub);

    // A package signed by another key never gets in.
    let (status, answer) = console.upload(&api, &package(&other_key, 5).1);
    assert!((400..500).contains(&status), "{status} {answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("another key"),
        "{answer}"
    );
    // The console's own package, applied to the site.
    let (sequence, bytes) = package(&console_key, 10);
    let (status, uploaded) = console.upload(&api, &bytes);
    assert_eq!(status, 201, "{uploaded}");
    let id = uploaded["id"].as_i64().unwrap();
    let (status, applied) = console.post(
        &api,
        &format!("/api/v1/ti/packages/{id}/apply"),
        &format!(r#"{{"sites": [{site}]}}"#),
    );
    assert_eq!(status, 200, "{applied}");
    assert_eq!(applied["items"][0]["sequence"], sequence, "{applied}");
    let (_, audit) = console.get(&api, "/api/v1/audit?limit=100");
    assert!(
        audit.to_string().contains("ti.apply"),
        "no ti.apply in the audit log: {audit}"
    );

    // The sensor's first run (a capture without the PLC): its ingest answers name the package;
    // it downloads, verifies, applies, keeps and reports it.
    sensor(&console, &enrolment, &sensor_data, &console_pub, &other);
    let ti = sensor_ti(&console, &api);
    assert_eq!(ti["state"], "ok", "{ti}");
    assert_eq!(ti["running_sequence"], sequence, "{ti}");
    assert_eq!(ti["assigned_sequence"], sequence, "{ti}");
    assert_eq!(ti["error"], Value::Null, "{ti}");
    assert_eq!(
        std::fs::read(sensor_data.join("ti-package.pkg")).unwrap(),
        bytes
    );
    assert_eq!(ioc_alert_count(&console, &api), 0);

    // Restarted over the S7 capture: the saved package is in force from the first frame, and
    // traffic of the PLC its IoC list names is an alert at the console.
    sensor(&console, &enrolment, &sensor_data, &console_pub, &stop);
    let before = ioc_alert_count(&console, &api);
    if before == 0 {
        let (_, list) = console.get(&api, "/api/v1/alerts?limit=500");
        panic!("no IoC alert on {PLC}: {list:#}");
    }

    // The console's key changes; a package signed by the new key is applied. The sensor still
    // trusts the old key only: it refuses the package and says why, and the old one stays.
    drop(console);
    let console = Console::start(&console_data, &other_pub);
    let (newer, newer_bytes) = package(&other_key, 20);
    let (status, uploaded) = console.upload(&api, &newer_bytes);
    assert_eq!(status, 201, "{uploaded}");
    let id = uploaded["id"].as_i64().unwrap();
    let (status, applied) = console.post(
        &api,
        &format!("/api/v1/ti/packages/{id}/apply"),
        &format!(r#"{{"sites": [{site}]}}"#),
    );
    assert_eq!(status, 200, "{applied}");
    let copy = dir.path().join("stop-again.pcap");
    std::fs::copy(&stop, &copy).unwrap();
    sensor(&console, &enrolment, &sensor_data, &console_pub, &copy);
    let ti = sensor_ti(&console, &api);
    assert_eq!(ti["state"], "failed", "{ti}");
    assert_eq!(ti["running_sequence"], sequence, "{ti}");
    assert_eq!(ti["assigned_sequence"], newer, "{ti}");
    assert!(
        ti["error"]
            .as_str()
            .unwrap()
            .contains("signed by another key"),
        "{ti}"
    );
    // The old package's IoCs still raise: the alert's count grew with the replay.
    assert!(ioc_alert_count(&console, &api) > before);
    assert_eq!(
        std::fs::read(sensor_data.join("ti-package.pkg")).unwrap(),
        bytes
    );
}
