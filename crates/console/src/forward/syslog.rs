//! Syslog delivery: RFC 5424 messages over UDP (one datagram each), TCP or TLS (octet-counted
//! framing, RFC 6587 / RFC 5425), carrying CEF, LEEF or JSON.
//!
//! A TCP or TLS message counts as accepted once written and flushed; the connection is kept
//! for the next message to the same rule within a delivery round and dropped on any error.

use ironward_store::ForwardAlert;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::{Format, ForwardError, TlsTrust, Transport};

/// Largest UDP payload sent (longer messages are cut, at a character boundary).
pub const MAX_DATAGRAM: usize = 65_000;

/// Syslog severity of an Ironward severity: critical → 2 (crit), major → 3 (err),
/// minor → 4 (warning), warning → 5 (notice).
pub fn syslog_severity(severity: &str) -> u8 {
    match severity {
        "critical" => 2,
        "major" => 3,
        "minor" => 4,
        _ => 5,
    }
}

/// The RFC 5424 message (without framing): `<PRI>1 TIMESTAMP HOST ironward - MSGID - MSG`.
/// MSGID names the format (`CEF`, `LEEF`, `JSON`); the timestamp is the alert's last
/// occurrence.
pub fn message(alert: &ForwardAlert, format: Format, facility: u8, version: &str) -> String {
    let pri = u16::from(facility.min(23)) * 8 + u16::from(syslog_severity(&alert.severity));
    let timestamp =
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(alert.last_seen.as_nanos()))
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| "-".to_owned());
    let (msgid, body) = match format {
        Format::Cef => ("CEF", super::cef::format(alert, version)),
        Format::Leef => ("LEEF", super::leef::format(alert, version)),
        Format::Json => ("JSON", super::json(alert).to_string()),
    };
    format!("<{pri}>1 {timestamp} ironward ironward - {msgid} - {body}")
}

/// An open TCP or TLS connection to a syslog receiver.
pub enum Connection {
    /// Plain TCP.
    Tcp(tokio::net::TcpStream),
    /// TLS.
    Tls(Box<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>),
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Tcp(_) => "Connection::Tcp",
            Self::Tls(_) => "Connection::Tls",
        })
    }
}

async fn write_frame<W: AsyncWrite + Unpin>(w: &mut W, msg: &str) -> std::io::Result<()> {
    let frame = format!("{} {msg}", msg.len());
    w.write_all(frame.as_bytes()).await?;
    w.flush().await
}

/// Sends one message to `host:port`, reusing `connection` (TCP, TLS) when open; on failure the
/// connection is dropped so that the next attempt starts afresh.
pub async fn send(
    connection: &mut Option<Connection>,
    host: &str,
    port: u16,
    transport: Transport,
    trust: &TlsTrust,
    msg: &str,
) -> Result<(), ForwardError> {
    match transport {
        Transport::Udp => {
            let socket = tokio::net::UdpSocket::bind(if host.contains(':') {
                "[::]:0"
            } else {
                "0.0.0.0:0"
            })
            .await?;
            let mut end = msg.len().min(MAX_DATAGRAM);
            while !msg.is_char_boundary(end) {
                end -= 1;
            }
            socket.send_to(&msg.as_bytes()[..end], (host, port)).await?;
            Ok(())
        }
        Transport::Tcp | Transport::Tls => {
            if connection.is_none() {
                *connection = Some(match transport {
                    Transport::Tls => {
                        Connection::Tls(Box::new(super::tls::connect(trust, host, port).await?))
                    }
                    _ => Connection::Tcp(tokio::net::TcpStream::connect((host, port)).await?),
                });
            }
            let result = match connection.as_mut() {
                Some(Connection::Tcp(s)) => write_frame(s, msg).await,
                Some(Connection::Tls(s)) => write_frame(s.as_mut(), msg).await,
                None => Ok(()),
            };
            if let Err(e) = result {
                *connection = None;
                return Err(e.into());
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::forward::tests::sample;

    #[test]
    fn rfc5424_header_then_the_format() {
        let msg = message(&sample(), Format::Cef, 16, "0.1.0");
        let parsed = crate::forward::parse::syslog(&msg).unwrap();
        assert_eq!(parsed.pri, 16 * 8 + 3);
        assert_eq!(parsed.version, 1);
        assert_eq!(parsed.timestamp, "2023-11-14T22:14:20Z");
        assert_eq!(parsed.app_name, "ironward");
        assert_eq!(parsed.msgid, "CEF");
        assert_eq!(parsed.structured_data, "-");
        assert!(parsed.msg.starts_with("CEF:0|Ironward|"));
        let json = message(&sample(), Format::Json, 4, "0.1.0");
        let parsed = crate::forward::parse::syslog(&json).unwrap();
        let doc: serde_json::Value = serde_json::from_str(&parsed.msg).unwrap();
        assert_eq!(doc["alert_id"], 42);
    }
}
