//! An in-test fake console: the sensor side of the console's contract (enrolment and ingest)
//! over HTTPS on 127.0.0.1, with an rcgen self-signed certificate. It can be stopped and
//! started again on the same port with the same certificate and the same memory of committed
//! batches, like a console restarting.
//!
//! HTTP/1.1 is spoken by hand, one request per connection (`Connection: close`), so that
//! stopping the listener really cuts the sensor off.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use ironward_model::Batch;
use ironward_sensor::uplink::pin::{ring_provider, Fingerprint};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The console's certificate and key.
#[derive(Clone)]
pub struct Identity {
    pub cert: CertificateDer<'static>,
    pub key: Vec<u8>,
}

impl Identity {
    pub fn generate() -> Self {
        let certified =
            rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
                .unwrap();
        Self {
            cert: certified.cert.der().clone(),
            key: certified.key_pair.serialize_der(),
        }
    }

    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of_certificate(self.cert.as_ref())
    }

    fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.clone()));
        Arc::new(
            rustls::ServerConfig::builder_with_provider(Arc::new(ring_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(vec![self.cert.clone()], key)
                .unwrap(),
        )
    }
}

pub const CREDENTIAL: &str = "sensor-7-credential";

/// What the console remembers across restarts.
pub struct ConsoleState {
    /// One-time enrolment tokens still valid.
    pub tokens: Mutex<HashSet<String>>,
    /// Every batch committed, in order.
    pub committed: Mutex<Vec<Batch>>,
    /// How many times each batch id was committed (must stay 1).
    pub commits: Mutex<HashMap<String, u32>>,
    /// Resends answered "duplicate".
    pub duplicates: AtomicU64,
    /// Answers 400.
    pub rejected: AtomicU64,
    /// Answers 413.
    pub too_large: AtomicU64,
    /// Ingest requests that reached HTTP.
    pub requests: AtomicU64,
    /// Largest accepted body.
    pub body_limit: AtomicU64,
    /// Stop serving after this many acknowledged batches (0: never).
    pub stop_after_acks: AtomicU64,
    /// Acknowledged (200) ingest answers.
    pub acks: AtomicU64,
    /// Set when the console stopped itself.
    pub stopped_itself: AtomicBool,
    /// Answer the next this-many ingest requests with 503 (an overloaded console).
    pub unavailable_next: AtomicU64,
    /// Answer the next this-many ingest requests with a 200 whose body is not the contract's
    /// (a proxy's page, a broken console), committing nothing.
    pub garbage_next: AtomicU64,
}

impl ConsoleState {
    pub fn new(tokens: &[&str]) -> Arc<Self> {
        Arc::new(Self {
            tokens: Mutex::new(tokens.iter().map(|t| (*t).to_owned()).collect()),
            committed: Mutex::new(Vec::new()),
            commits: Mutex::new(HashMap::new()),
            duplicates: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            too_large: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            body_limit: AtomicU64::new(16 << 20),
            stop_after_acks: AtomicU64::new(0),
            acks: AtomicU64::new(0),
            stopped_itself: AtomicBool::new(false),
            unavailable_next: AtomicU64::new(0),
            garbage_next: AtomicU64::new(0),
        })
    }
}

/// A running fake console.
pub struct FakeConsole {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeConsole {
    /// Serves on 127.0.0.1 (`port` 0 picks one).
    pub fn start(identity: &Identity, state: &Arc<ConsoleState>, port: u16) -> Self {
        let listener = bind(port);
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let config = identity.server_config();
        let thread = {
            let stop = Arc::clone(&stop);
            let state = Arc::clone(state);
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let config = Arc::clone(&config);
                            let state = Arc::clone(&state);
                            let stop = Arc::clone(&stop);
                            std::thread::spawn(move || serve(stream, config, &state, &stop));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        };
        Self {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    pub fn is_stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Stops accepting connections (the port is closed).
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
    }
}

impl Drop for FakeConsole {
    fn drop(&mut self) {
        self.stop();
    }
}

fn bind(port: u16) -> TcpListener {
    // A restarted console takes its old port back; give the kernel a moment if needed.
    for _ in 0..100 {
        if let Ok(listener) = TcpListener::bind(("127.0.0.1", port)) {
            return listener;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("cannot bind 127.0.0.1:{port}");
}

struct Request {
    method: String,
    path: String,
    authorization: Option<String>,
    body: Vec<u8>,
    too_large: bool,
}

fn read_request(stream: &mut impl Read, body_limit: usize) -> Option<Request> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 64 << 10 || stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).ok()?;
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let path = first.next()?.to_owned();
    let mut length = 0usize;
    let mut authorization = None;
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().ok()?,
                "authorization" => authorization = Some(value.trim().to_owned()),
                _ => {}
            }
        }
    }
    let too_large = length > body_limit;
    let mut body = Vec::new();
    // Read (and, when too large, discard) the whole body so the client sees the answer.
    let mut left = length;
    let mut buf = vec![0u8; 64 << 10];
    while left > 0 {
        let n = stream.read(&mut buf[..left.min(64 << 10)]).ok()?;
        if n == 0 {
            return None;
        }
        if !too_large {
            body.extend_from_slice(&buf[..n]);
        }
        left -= n;
    }
    Some(Request {
        method,
        path,
        authorization,
        body,
        too_large,
    })
}

fn respond(stream: &mut impl Write, status: u16, body: &str) {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        413 => "Payload Too Large",
        503 => "Service Unavailable",
        _ => "Other",
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
}

fn error(message: &str) -> String {
    serde_json::json!({ "error": message }).to_string()
}

fn serve(
    stream: TcpStream,
    config: Arc<rustls::ServerConfig>,
    state: &ConsoleState,
    stop: &AtomicBool,
) {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let connection = rustls::ServerConnection::new(config).unwrap();
    let mut tls = rustls::StreamOwned::new(connection, stream);
    let limit = usize::try_from(state.body_limit.load(Ordering::SeqCst)).unwrap();
    let Some(request) = read_request(&mut tls, limit) else {
        return;
    };
    if stop.load(Ordering::SeqCst) {
        // Stopped while this request was on its way: like a process that died, no answer.
        return;
    }
    match (request.method.as_str(), request.path.as_str()) {
        ("POST", "/api/v1/sensors/enroll") => {
            let body: serde_json::Value = match serde_json::from_slice(&request.body) {
                Ok(v) => v,
                Err(e) => return respond(&mut tls, 400, &error(&e.to_string())),
            };
            let token = body["token"].as_str().unwrap_or_default().to_owned();
            if !state.tokens.lock().unwrap().remove(&token) {
                return respond(&mut tls, 401, &error("unknown, used or expired token"));
            }
            let answer = serde_json::json!({
                "sensor_id": 7, "credential": CREDENTIAL, "site": "Plant A", "zone": "Cell 1"
            });
            respond(&mut tls, 200, &answer.to_string());
        }
        ("POST", "/api/v1/ingest") => {
            state.requests.fetch_add(1, Ordering::SeqCst);
            if request.authorization.as_deref() != Some(&format!("Bearer {CREDENTIAL}")) {
                return respond(&mut tls, 401, &error("bad credential"));
            }
            let take = |counter: &AtomicU64| {
                counter
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok()
            };
            if take(&state.unavailable_next) {
                return respond(&mut tls, 503, &error("starting up"));
            }
            if take(&state.garbage_next) {
                return respond(&mut tls, 200, "<html>welcome</html>");
            }
            if request.too_large {
                state.too_large.fetch_add(1, Ordering::SeqCst);
                return respond(&mut tls, 413, &error("body too large"));
            }
            let batch: Batch = match serde_json::from_slice(&request.body) {
                Ok(batch) => batch,
                Err(e) => {
                    state.rejected.fetch_add(1, Ordering::SeqCst);
                    return respond(&mut tls, 400, &error(&e.to_string()));
                }
            };
            if let Err(problem) = batch.validate() {
                state.rejected.fetch_add(1, Ordering::SeqCst);
                return respond(&mut tls, 400, &error(&problem.to_string()));
            }
            let id = batch.id.clone();
            let status = {
                let mut commits = state.commits.lock().unwrap();
                if commits.contains_key(&id) {
                    state.duplicates.fetch_add(1, Ordering::SeqCst);
                    "duplicate"
                } else {
                    *commits.entry(id.clone()).or_default() += 1;
                    state.committed.lock().unwrap().push(batch);
                    "committed"
                }
            };
            respond(
                &mut tls,
                200,
                &serde_json::json!({ "batch": id, "status": status }).to_string(),
            );
            let acks = state.acks.fetch_add(1, Ordering::SeqCst) + 1;
            let after = state.stop_after_acks.load(Ordering::SeqCst);
            if after != 0 && acks >= after {
                state.stopped_itself.store(true, Ordering::SeqCst);
                stop.store(true, Ordering::SeqCst);
            }
        }
        _ => respond(&mut tls, 404, &error("no such route")),
    }
}

/// The shared data directory: `$IRONWARD_DATA`, else `../shared/data` beside the workspace.
pub fn shared_capture(relative: &str) -> Option<PathBuf> {
    let dir = match std::env::var_os("IRONWARD_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    };
    let path = dir.join("pcaps").join(relative);
    if path.exists() {
        Some(path)
    } else {
        eprintln!("skipped: {} not found (set IRONWARD_DATA)", path.display());
        None
    }
}
