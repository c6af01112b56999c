/*!
Forwarding alerts to the tools a security team already uses, and playbooks.

- Formats, one file each: [`cef`] (ArcSight CEF), [`leef`] (QRadar LEEF 2.0, tab-delimited),
  JSON (the stored alert, [`json`]); [`parse`] reads them back (tests, checks).
- Transports, one file each: [`syslog`] (RFC 5424 over UDP, TCP with octet counting, or TLS),
  [`webhook`] (HTTP(S) POST of the JSON, signed `X-Ironward-Signature: sha256=<hex HMAC-SHA256>`),
  [`smtp`] (e-mail with STARTTLS); [`tls`] builds their client configurations (a CA PEM or a
  pinned certificate fingerprint, never "accept anything").
- Delivery: the store keeps a durable bounded queue (one row per rule and alert occurrence)
  filled by a scan of the alerts table; [`queue`] delivers one row and computes the backoff;
  [`worker`] is the background task `ironward serve` starts; [`playbooks`] runs playbook actions.

A destination is a JSON document stored with its rule ([`Destination`]); it is validated when
the rule is created. Secrets (the webhook key, the SMTP password) are stored with the rule, used
by the worker, and never shown back or logged.
*/

pub mod cef;
pub mod leef;
pub mod parse;
pub mod playbooks;
pub mod queue;
pub mod smtp;
pub mod syslog;
pub mod tls;
pub mod webhook;
pub mod worker;

use ironward_model::Timestamp;
use ironward_store::ForwardAlert;
use serde::{Deserialize, Serialize};

/// Longest host name, URL, address or PEM accepted in a destination.
pub const MAX_FIELD_LEN: usize = 64 * 1024;

/// Why a destination or a delivery failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ForwardError {
    /// Occurs when a destination document is refused (unknown type, bad URL, bad PEM).
    #[error("invalid destination: {0}")]
    Invalid(String),
    /// Occurs when connecting, writing or reading fails or times out.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// Occurs when the TLS configuration or handshake fails (unknown CA, pin mismatch).
    #[error("tls: {0}")]
    Tls(String),
    /// Occurs when the receiver answers but refuses (a non-2xx status, an SMTP error reply).
    #[error("refused: {0}")]
    Refused(String),
}

/// The message format of a syslog destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// ArcSight Common Event Format.
    Cef,
    /// QRadar Log Event Extended Format 2.0.
    Leef,
    /// The alert as JSON.
    Json,
}

/// How a syslog message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    /// One datagram per message (no delivery guarantee beyond the send).
    Udp,
    /// TCP, octet-counted framing (RFC 6587).
    Tcp,
    /// TLS over TCP, octet-counted framing (RFC 5425).
    Tls,
}

/// How the receiver's TLS certificate is verified: against a CA (PEM) or by its pinned
/// SHA-256 fingerprint (`sha256:<hex>`). Without either, the WebPKI roots are not used:
/// a TLS destination needs one of the two.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsTrust {
    /// CA certificates (PEM) the receiver's certificate must chain to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_pem: Option<String>,
    /// The receiver certificate's fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// The name the certificate must carry (default: the host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
}

/// Where a rule sends its alerts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Destination {
    /// A syslog receiver (a SIEM).
    Syslog {
        /// Host name or address.
        host: String,
        /// Port.
        port: u16,
        /// UDP, TCP or TLS.
        transport: Transport,
        /// CEF, LEEF or JSON.
        format: Format,
        /// Syslog facility, 0-23 (default 16, local0).
        #[serde(default = "default_facility")]
        facility: u8,
        /// TLS verification (transport `tls`).
        #[serde(default)]
        tls: TlsTrust,
    },
    /// An HTTP(S) endpoint receiving the JSON alert, signed with the rule's secret.
    Webhook {
        /// `http://` or `https://` URL.
        url: String,
        /// TLS verification (`https`).
        #[serde(default)]
        tls: TlsTrust,
    },
    /// E-mail over SMTP with STARTTLS.
    Email {
        /// SMTP server.
        host: String,
        /// Port (587 usually).
        port: u16,
        /// Sender address.
        from: String,
        /// Recipients.
        to: Vec<String>,
        /// User name to log in with (the password is the rule's secret), when the server
        /// needs one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        username: Option<String>,
        /// TLS verification of the STARTTLS certificate.
        #[serde(default)]
        tls: TlsTrust,
    },
}

fn default_facility() -> u8 {
    16
}

impl Destination {
    /// Parses and validates a destination document.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, ForwardError> {
        let destination: Self = serde_json::from_value(value.clone())
            .map_err(|e| ForwardError::Invalid(e.to_string()))?;
        destination.validate()?;
        Ok(destination)
    }

    /// Checks lengths, hosts, ports, the URL and the TLS trust.
    pub fn validate(&self) -> Result<(), ForwardError> {
        let check_host = |host: &str| {
            if host.is_empty()
                || host.len() > 253
                || host
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || c == '/')
            {
                return Err(ForwardError::Invalid(format!("bad host {host:?}")));
            }
            Ok(())
        };
        match self {
            Self::Syslog {
                host,
                port,
                transport,
                facility,
                tls,
                ..
            } => {
                check_host(host)?;
                if *port == 0 || *facility > 23 {
                    return Err(ForwardError::Invalid("bad port or facility".to_owned()));
                }
                if *transport == Transport::Tls {
                    tls::client_config(tls)?;
                }
            }
            Self::Webhook { url, tls } => {
                let url = webhook::Url::parse(url)?;
                if url.https {
                    tls::client_config(tls)?;
                }
            }
            Self::Email {
                host,
                port,
                from,
                to,
                username,
                tls,
            } => {
                check_host(host)?;
                if *port == 0 {
                    return Err(ForwardError::Invalid("bad port".to_owned()));
                }
                smtp::check_address(from)?;
                if to.is_empty() || to.len() > 50 {
                    return Err(ForwardError::Invalid("1 to 50 recipients".to_owned()));
                }
                for address in to {
                    smtp::check_address(address)?;
                }
                if username.as_ref().is_some_and(|u| u.len() > 256) {
                    return Err(ForwardError::Invalid("user name too long".to_owned()));
                }
                smtp::check_tls(tls, host)?;
            }
        }
        let text = serde_json::to_string(self).unwrap_or_default();
        if text.len() > MAX_FIELD_LEN {
            return Err(ForwardError::Invalid("destination too large".to_owned()));
        }
        Ok(())
    }
}

/// The alert as the JSON document webhooks and JSON syslog messages carry: the engine's
/// alert (kind, description, addresses, techniques, evidence, ...) with the stored state
/// (row id, site, severity, status, count, first/last seen) over it.
pub fn json(alert: &ForwardAlert) -> serde_json::Value {
    let mut doc = match &alert.payload {
        serde_json::Value::Object(map) => map.clone(),
        _ => serde_json::Map::new(),
    };
    let stored = serde_json::json!({
        "alert_id": alert.id,
        "site_id": alert.site_id,
        "engine": alert.engine,
        "title": alert.title,
        "severity": alert.severity,
        "status": alert.status,
        "devices": alert.devices,
        "count": alert.count,
        "first_seen": alert.first_seen,
        "last_seen": alert.last_seen,
    });
    if let serde_json::Value::Object(stored) = stored {
        doc.extend(stored);
    }
    serde_json::Value::Object(doc)
}

/// Milliseconds since the epoch (CEF and LEEF times).
pub(crate) fn epoch_millis(t: Timestamp) -> i64 {
    t.as_nanos() / 1_000_000
}

/// A field of the engine's document as text (strings as they are, other values as JSON).
pub(crate) fn text_field(alert: &ForwardAlert, field: &str) -> Option<String> {
    match alert.payload.get(field)? {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// The ATT&CK techniques as `T0855 Unauthorized Command Message, T0836 ...`.
pub(crate) fn techniques(alert: &ForwardAlert) -> String {
    alert
        .payload
        .get("techniques")
        .and_then(|t| t.as_array())
        .map(|list| {
            list.iter()
                .take(32)
                .map(|t| {
                    let id = t.get("id").and_then(|v| v.as_str()).unwrap_or("");
                    let name = t.get("name").and_then(|v| v.as_str()).unwrap_or("");
                    format!("{id} {name}").trim().to_owned()
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

#[cfg(test)]
pub(crate) mod tests {
    use ironward_store::{AlertId, SiteId};

    use super::*;

    /// An alert with every character the formats must escape.
    pub(crate) fn sample() -> ForwardAlert {
        ForwardAlert {
            id: AlertId(42),
            site_id: SiteId(1),
            engine: "policy".to_owned(),
            title: "Write | from 10.0.0.66 \\ x".to_owned(),
            severity: "major".to_owned(),
            status: "new".to_owned(),
            devices: vec!["ip:10.0.0.10".to_owned()],
            first_seen: Timestamp(1_700_000_000_000_000_000),
            last_seen: Timestamp(1_700_000_060_000_000_000),
            count: 3,
            payload: serde_json::json!({
                "kind": "policy.unauthorized_write",
                "description": "a=b\nsecond line",
                "src_ip": "10.0.0.66",
                "dst_ip": "10.0.0.10",
                "protocol": "modbus",
                "techniques": [{"id": "T0855", "name": "Unauthorized Command Message"}],
            }),
        }
    }

    #[test]
    fn json_is_the_alert_with_its_stored_state() {
        let doc = json(&sample());
        assert_eq!(doc["alert_id"], 42);
        assert_eq!(doc["kind"], "policy.unauthorized_write");
        assert_eq!(doc["severity"], "major");
        assert_eq!(doc["count"], 3);
        assert_eq!(doc["description"], "a=b\nsecond line");
        // One line on the wire: serde escapes the line break.
        assert!(!doc.to_string().contains('\n'));
    }

    #[test]
    fn destinations_are_validated() {
        let ok = serde_json::json!({"type": "syslog", "host": "127.0.0.1", "port": 514,
            "transport": "udp", "format": "cef"});
        assert!(Destination::from_json(&ok).is_ok());
        let tls_without_trust = serde_json::json!({"type": "syslog", "host": "h", "port": 6514,
            "transport": "tls", "format": "leef"});
        assert!(Destination::from_json(&tls_without_trust).is_err());
        let bad_url = serde_json::json!({"type": "webhook", "url": "ftp://x"});
        assert!(Destination::from_json(&bad_url).is_err());
        let unknown = serde_json::json!({"type": "pager"});
        assert!(Destination::from_json(&unknown).is_err());
    }
}
