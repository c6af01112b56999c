//! A real `ironward serve` process for the end-to-end tests that run sensors against it: its
//! start (certificate fingerprint read from its banner), HTTPS requests with an API token and
//! the certificate pinned, the store prepared before it starts, and `ironward sensor` runs.

#![allow(dead_code, unreachable_pub)]

use std::ffi::OsStr;
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

/// A shared capture, or `None` (with a printed reason) when the data is not there.
pub fn capture(relative: &str) -> Option<PathBuf> {
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

/// A single-threaded runtime for store calls made before and after the processes run.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A console process with its certificate fingerprint, read from its banner.
pub struct Console {
    child: Child,
    /// Where it listens (loopback).
    pub address: SocketAddr,
    /// Its certificate's fingerprint, for pinning.
    pub fingerprint: String,
}

impl Console {
    /// Starts `ironward serve --data DATA` on a free loopback port with `extra` arguments.
    pub fn start(data: &Path, extra: &[&OsStr]) -> Console {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_ironward"))
            .args(["serve", "--data"])
            .arg(data)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(extra)
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

    /// Its base URL.
    pub fn url(&self) -> String {
        format!("https://{}", self.address)
    }

    /// `GET path`: status and JSON body (`Null` when the body is not JSON).
    pub fn get(&self, token: &str, path: &str) -> (u16, Value) {
        let (status, _, body) = self.request("GET", token, path, "application/json", b"");
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// `POST path` with a JSON body: status and JSON body.
    pub fn post(&self, token: &str, path: &str, body: &str) -> (u16, Value) {
        let (status, _, body) =
            self.request("POST", token, path, "application/json", body.as_bytes());
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// Status, head (lower case) and body bytes of a request over HTTPS, the console's
    /// certificate pinned.
    pub fn request(
        &self,
        method: &str,
        token: &str,
        path: &str,
        content_type: &str,
        body: &[u8],
    ) -> (u16, String, Vec<u8>) {
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

/// A site (learning until `learning_until`), a zone and an enrolment token for a sensor, and
/// an administrator's API token, made in the console's store before it starts: (enrolment
/// token, API token, site id).
pub fn prepare(data: &Path, learning_until: Option<Timestamp>) -> (String, String, i64) {
    runtime().block_on(async {
        let store = Store::open_sqlite(data).await.unwrap();
        let site = store
            .create_site_learning("Plant", Timestamp(1), learning_until)
            .await
            .unwrap();
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

/// Runs `ironward sensor` enrolled with `token` against the console, `args` after its data
/// directory (window, key, `--pcap` and the captures), until everything is acknowledged.
pub fn run_sensor(console: &Console, token: &str, data: &Path, args: &[&OsStr]) {
    let out = Command::new(env!("CARGO_BIN_EXE_ironward"))
        .args(["sensor", "--console", &console.url()])
        .args(["--console-fingerprint", &console.fingerprint])
        .arg("--data")
        .arg(data)
        .args(args)
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
