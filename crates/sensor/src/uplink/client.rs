//! The blocking HTTPS client for the console's sensor API: enrolment and ingest.
//!
//! Every connection goes through a [`PinVerifier`]: after enrolment only the console's pinned
//! certificate is accepted. Response bodies are read up to [`MAX_RESPONSE`] bytes: the console
//! is trusted only once it proved its key, and a small JSON answer is all the contract has.

use std::fmt;
use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::pin::{Fingerprint, PinVerifier};

/// Largest response body read from the console.
pub const MAX_RESPONSE: u64 = 64 << 10;

/// Largest page of baseline entries read (1,000 entries of at most a few hundred bytes).
pub const MAX_BASELINE_PAGE: u64 = 2 << 20;

/// Largest threat-intelligence package downloaded (a package of every CISA ICS advisory, KEV
/// and ATT&CK for ICS is a few MiB).
pub const MAX_TI_PACKAGE: u64 = 64 << 20;

/// A secret the console issued to one sensor. Never printed: its `Debug` is redacted and it
/// has no `Display`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Credential(String);

impl Credential {
    /// Wraps a secret.
    pub fn new(secret: String) -> Self {
        Self(secret)
    }

    /// The secret itself, for the `Authorization` header and the credential file only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credential(<redacted>)")
    }
}

/// Why a request to the console failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// Occurs when the console address is not an `https://` URL.
    #[error("console address {0:?} must be https://HOST:PORT")]
    BadAddress(String),
    /// Occurs when the server presented a certificate other than the pinned one: it is not the
    /// console this sensor enrolled with (or the console's certificate was replaced).
    #[error(
        "the server presented certificate {presented}, not the pinned console certificate \
         {expected}; refusing to talk to it"
    )]
    PinMismatch {
        /// The pinned fingerprint.
        expected: Fingerprint,
        /// What the server presented.
        presented: Fingerprint,
    },
    /// Occurs when the console cannot be reached or the connection fails (refused, reset,
    /// timed out, TLS failure).
    #[error("cannot reach the console: {0}")]
    Transport(String),
    /// Occurs when the console refused the request (enrolment: unknown, used or expired token;
    /// ingest: bad credential).
    #[error("the console refused: {0}")]
    Refused(String),
    /// Occurs when the console answered with a status the contract does not give this request.
    #[error("the console answered HTTP {status}: {message}")]
    Status {
        /// HTTP status code.
        status: u16,
        /// The console's `error` text, or the start of its body.
        message: String,
    },
    /// Occurs when a 200 answer is not the JSON the contract promises.
    #[error("the console's answer is not understood: {0}")]
    BadResponse(String),
}

impl ClientError {
    /// Whether trying again later may succeed (the console is down, restarting or overloaded).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Transport(_) => true,
            Self::Status { status, .. } => *status >= 500 || matches!(status, 408 | 429),
            _ => false,
        }
    }
}

/// The console's answer to an enrolment.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct EnrollResponse {
    /// The sensor's id at the console.
    pub sensor_id: i64,
    /// The sensor's own credential for ingest.
    pub credential: Credential,
    /// The site the sensor belongs to.
    #[serde(default)]
    pub site: Option<String>,
    /// Its zone.
    #[serde(default)]
    pub zone: Option<String>,
}

#[derive(Serialize)]
struct EnrollRequest<'a> {
    token: &'a str,
    name: &'a str,
    version: &'a str,
}

/// What the console did with a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ingested {
    /// Committed now.
    Committed,
    /// Committed before (a resend): nothing written twice.
    Duplicate,
}

/// The console's answer to one ingest request, sorted by what the uploader does next.
#[derive(Debug, Clone)]
pub enum IngestOutcome {
    /// 200: the batch is committed; remove it from the outbox.
    Acknowledged(Ingested),
    /// 400: the batch is malformed (the reason names the field); set it aside, never retry.
    Rejected(String),
    /// 413: the batch is over the console's body limit; split it.
    TooLarge,
    /// 401: the credential was refused; re-enrolment is needed.
    Unauthorized(String),
    /// Anything else (unreachable, 5xx, a wrong certificate): try again later.
    Retry(ClientError),
}

#[derive(Deserialize)]
struct IngestReply {
    status: String,
    #[serde(default)]
    learning_until: Option<String>,
    #[serde(default)]
    baseline_version: Option<i64>,
    #[serde(default)]
    ti_package_sequence: Option<u64>,
}

/// What an ingest answer says about the sensor's site (absent from consoles that predate
/// site learning).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SiteState {
    /// The site learns until then (ns since the epoch); `None`: it never learned.
    pub learning_until: Option<i64>,
    /// The version of the site's baseline entries.
    pub baseline_version: i64,
    /// The sequence of the threat-intelligence package assigned to the site (`None`: none,
    /// or a console without package distribution).
    pub ti_package_sequence: Option<u64>,
}

impl SiteState {
    fn parse(learning_until: Option<&str>, baseline_version: Option<i64>) -> Option<Self> {
        let learning_until = match learning_until {
            Some(text) => Some(ironward_model::Timestamp::parse_rfc3339(text)?.as_nanos()),
            None => None,
        };
        Some(Self {
            learning_until,
            baseline_version: baseline_version?,
            ti_package_sequence: None,
        })
    }
}

/// One page of the site's baseline entries (`GET /api/v1/sensor/baseline`).
#[derive(Debug, Clone, Deserialize)]
pub struct BaselinePage {
    /// The site learns until then (RFC 3339).
    #[serde(default)]
    pub learning_until: Option<String>,
    /// The version of the entries.
    pub baseline_version: i64,
    /// Entries in all.
    pub total: i64,
    /// This page.
    pub entries: Vec<BaselinePageEntry>,
}

impl BaselinePage {
    /// The site's state this page states, when it is well formed.
    pub fn state(&self) -> Option<SiteState> {
        SiteState::parse(self.learning_until.as_deref(), Some(self.baseline_version))
    }
}

/// One baseline entry: the key of the policy alerts it covers.
#[derive(Debug, Clone, Deserialize)]
pub struct BaselinePageEntry {
    /// Alert kind.
    pub kind: String,
    /// Source address (empty: none).
    pub src: String,
    /// Destination address (empty: none).
    pub dst: String,
    /// Protocol (empty: none).
    pub protocol: String,
}

#[derive(Deserialize)]
struct ErrorReply {
    error: String,
}

/// A client for one console.
#[derive(Debug)]
pub struct ConsoleClient {
    base: String,
    agent: ureq::Agent,
    verifier: Arc<PinVerifier>,
}

impl ConsoleClient {
    /// A client for the console at `console` (`https://HOST:PORT`), verifying its certificate
    /// with `verifier`; `timeout` bounds each whole request.
    pub fn new(
        console: &str,
        verifier: Arc<PinVerifier>,
        timeout: Duration,
    ) -> Result<Self, ClientError> {
        let base = console.trim_end_matches('/');
        let valid = base
            .strip_prefix("https://")
            .is_some_and(|rest| !rest.is_empty() && !rest.contains(['/', '?', '#', ' ']));
        if !valid {
            return Err(ClientError::BadAddress(console.chars().take(200).collect()));
        }
        let tls = verifier
            .client_config()
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        let agent = ureq::AgentBuilder::new()
            .tls_config(Arc::new(tls))
            .timeout_connect(timeout.min(Duration::from_secs(10)))
            .timeout(timeout)
            .user_agent(concat!("ironward-sensor/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Self {
            base: base.to_owned(),
            agent,
            verifier,
        })
    }

    /// The fingerprint of the certificate the console presented on the latest handshake.
    pub fn presented_certificate(&self) -> Option<Fingerprint> {
        self.verifier.observation().presented
    }

    /// Enrols with a one-time token.
    pub fn enroll(
        &self,
        token: &str,
        name: &str,
        version: &str,
    ) -> Result<EnrollResponse, ClientError> {
        let body = serde_json::to_vec(&EnrollRequest {
            token,
            name,
            version,
        })
        .map_err(|e| ClientError::BadResponse(e.to_string()))?;
        let request = self
            .agent
            .post(&format!("{}/api/v1/sensors/enroll", self.base))
            .set("Content-Type", "application/json");
        match self.send(request, &body)? {
            (200, reply) => serde_json::from_slice(&reply)
                .map_err(|e| ClientError::BadResponse(format!("enrolment answer: {e}"))),
            (401, reply) => Err(ClientError::Refused(error_text(&reply))),
            (status, reply) => Err(ClientError::Status {
                status,
                message: error_text(&reply),
            }),
        }
    }

    /// Sends one batch (its JSON bytes as stored in the outbox).
    pub fn ingest(&self, credential: &Credential, batch: &[u8]) -> IngestOutcome {
        self.ingest_with_state(credential, batch).0
    }

    /// Fetches one page of the site's baseline entries, from `offset`.
    pub fn baseline_page(
        &self,
        credential: &Credential,
        offset: usize,
    ) -> Result<BaselinePage, ClientError> {
        let request = self
            .agent
            .get(&format!(
                "{}/api/v1/sensor/baseline?offset={offset}",
                self.base
            ))
            .set("Authorization", &format!("Bearer {}", credential.expose()));
        match self.send_limited(request, &[], MAX_BASELINE_PAGE)? {
            (200, reply) => serde_json::from_slice(&reply)
                .map_err(|e| ClientError::BadResponse(format!("baseline page: {e}"))),
            (401, reply) => Err(ClientError::Refused(error_text(&reply))),
            (status, reply) => Err(ClientError::Status {
                status,
                message: error_text(&reply),
            }),
        }
    }

    /// Downloads the threat-intelligence package assigned to the sensor's site (its signed
    /// bytes, not yet verified: [`super::ti_sync`] verifies them with the sensor's own key).
    pub fn ti_package(&self, credential: &Credential) -> Result<Vec<u8>, ClientError> {
        let request = self
            .agent
            .get(&format!("{}/api/v1/sensor/ti-package", self.base))
            .set("Authorization", &format!("Bearer {}", credential.expose()));
        match self.send_limited(request, &[], MAX_TI_PACKAGE + 1)? {
            (200, bytes) if bytes.len() as u64 > MAX_TI_PACKAGE => Err(ClientError::BadResponse(
                format!("the package is larger than {} MiB", MAX_TI_PACKAGE >> 20),
            )),
            (200, bytes) => Ok(bytes),
            (401, reply) => Err(ClientError::Refused(error_text(&reply))),
            (status, reply) => Err(ClientError::Status {
                status,
                message: error_text(&reply),
            }),
        }
    }

    /// Reports the sensor's threat-intelligence status (`POST /api/v1/sensor/ti-status`).
    pub fn ti_status(
        &self,
        credential: &Credential,
        report: &super::ti_sync::TiReport,
    ) -> Result<(), ClientError> {
        let body =
            serde_json::to_vec(report).map_err(|e| ClientError::BadResponse(e.to_string()))?;
        let request = self
            .agent
            .post(&format!("{}/api/v1/sensor/ti-status", self.base))
            .set("Content-Type", "application/json")
            .set("Authorization", &format!("Bearer {}", credential.expose()));
        match self.send(request, &body)? {
            (200 | 204, _) => Ok(()),
            (401, reply) => Err(ClientError::Refused(error_text(&reply))),
            (status, reply) => Err(ClientError::Status {
                status,
                message: error_text(&reply),
            }),
        }
    }

    /// Sends one batch, and reads what the acknowledgement says about the sensor's site.
    pub fn ingest_with_state(
        &self,
        credential: &Credential,
        batch: &[u8],
    ) -> (IngestOutcome, Option<SiteState>) {
        let request = self
            .agent
            .post(&format!("{}/api/v1/ingest", self.base))
            .set("Content-Type", "application/json")
            .set("Authorization", &format!("Bearer {}", credential.expose()));
        match self.send(request, batch) {
            Err(error) => (IngestOutcome::Retry(error), None),
            Ok((200, reply)) => match serde_json::from_slice::<IngestReply>(&reply) {
                Ok(r) => {
                    let state = SiteState::parse(r.learning_until.as_deref(), r.baseline_version)
                        .map(|s| SiteState {
                            ti_package_sequence: r.ti_package_sequence,
                            ..s
                        });
                    (acknowledgement(&r.status), state)
                }
                Err(e) => (
                    IngestOutcome::Retry(ClientError::BadResponse(e.to_string())),
                    None,
                ),
            },
            Ok((400, reply)) => (IngestOutcome::Rejected(error_text(&reply)), None),
            Ok((401, reply)) => (IngestOutcome::Unauthorized(error_text(&reply)), None),
            Ok((413, _)) => (IngestOutcome::TooLarge, None),
            Ok((status, reply)) => (
                IngestOutcome::Retry(ClientError::Status {
                    status,
                    message: error_text(&reply),
                }),
                None,
            ),
        }
    }

    /// Sends a request; any HTTP answer is `Ok((status, body))`.
    fn send(&self, request: ureq::Request, body: &[u8]) -> Result<(u16, Vec<u8>), ClientError> {
        self.send_limited(request, body, MAX_RESPONSE)
    }
}

/// What a 200 answer's `status` means for the batch.
fn acknowledgement(status: &str) -> IngestOutcome {
    match status {
        "committed" => IngestOutcome::Acknowledged(Ingested::Committed),
        "duplicate" => IngestOutcome::Acknowledged(Ingested::Duplicate),
        // A 200 the sensor does not understand is not an acknowledgement it can trust to
        // delete data on.
        other => IngestOutcome::Retry(ClientError::BadResponse(format!(
            "unknown ingest status {:?}",
            other.chars().take(80).collect::<String>()
        ))),
    }
}

impl ConsoleClient {
    /// Sends a request; any HTTP answer is `Ok((status, body))`, its body read up to `limit`
    /// bytes.
    fn send_limited(
        &self,
        request: ureq::Request,
        body: &[u8],
        limit: u64,
    ) -> Result<(u16, Vec<u8>), ClientError> {
        let response = match request.send_bytes(body) {
            Ok(response) => response,
            Err(ureq::Error::Status(_, response)) => response,
            Err(ureq::Error::Transport(transport)) => {
                let seen = self.verifier.observation();
                if let (true, Some(expected), Some(presented)) =
                    (seen.mismatch, self.verifier.pin(), seen.presented)
                {
                    return Err(ClientError::PinMismatch {
                        expected,
                        presented,
                    });
                }
                return Err(ClientError::Transport(transport.to_string()));
            }
        };
        let status = response.status();
        let mut reply = Vec::new();
        response
            .into_reader()
            .take(limit)
            .read_to_end(&mut reply)
            .map_err(|e| ClientError::Transport(format!("reading the answer: {e}")))?;
        Ok((status, reply))
    }
}

/// The `error` of a JSON error answer, else the start of the body as text.
fn error_text(body: &[u8]) -> String {
    let text = match serde_json::from_slice::<ErrorReply>(body) {
        Ok(reply) => reply.error,
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    };
    let text = text.trim();
    if text.is_empty() {
        return "(no reason given)".to_owned();
    }
    text.chars()
        .take(500)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_addresses_are_accepted() {
        let verifier = Arc::new(PinVerifier::trust_on_first_use());
        for good in [
            "https://127.0.0.1:8443",
            "https://console.plant/",
            "https://[::1]:1",
        ] {
            ConsoleClient::new(good, Arc::clone(&verifier), Duration::from_secs(1)).unwrap();
        }
        for bad in [
            "http://127.0.0.1:8443",
            "https://",
            "127.0.0.1:8443",
            "https://a/b",
        ] {
            assert!(matches!(
                ConsoleClient::new(bad, Arc::clone(&verifier), Duration::from_secs(1)),
                Err(ClientError::BadAddress(_))
            ));
        }
    }

    #[test]
    fn credentials_never_print() {
        let c = Credential::new("s3cret-value".into());
        assert!(!format!("{c:?}").contains("s3cret"));
    }

    #[test]
    fn error_text_is_bounded_and_plain() {
        assert_eq!(
            error_text(br#"{"error":"events[2].time is out of range"}"#),
            "events[2].time is out of range"
        );
        assert_eq!(error_text(b"oops\nbad"), "oops bad");
        assert_eq!(error_text(b""), "(no reason given)");
        assert_eq!(error_text(&[b'x'; 5000]).len(), 500);
    }
}
