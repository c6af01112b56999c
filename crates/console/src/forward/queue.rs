//! Delivering one queued message, and when to try again.
//!
//! The queue itself lives in the store (one row per rule and alert occurrence, removed only
//! after the receiver accepted it); this module turns a row into bytes on the wire for its
//! destination, with a time limit, and computes the exponential backoff of a failure.

use std::collections::HashMap;
use std::time::Duration;

use ironward_model::Timestamp;
use ironward_store::{ForwardAlert, QueuedDelivery};

use super::{syslog, webhook, Destination, ForwardError};

/// The backoff after `attempts` failed attempts: `base × 2^(attempts-1)`, at most `max`.
pub fn backoff(attempts: i64, base: Duration, max: Duration) -> Duration {
    let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    base.saturating_mul(1_u32 << exponent).min(max)
}

/// `now` plus `delay`.
pub fn later(now: Timestamp, delay: Duration) -> Timestamp {
    let nanos = i64::try_from(delay.as_nanos()).unwrap_or(i64::MAX);
    Timestamp(now.as_nanos().saturating_add(nanos))
}

/// Open connections of one delivery round, per rule (TCP and TLS syslog reuse theirs).
#[derive(Debug, Default)]
pub struct Connections {
    syslog: HashMap<i64, Option<syslog::Connection>>,
}

/// Sends `alert` to `destination` (the rule's `secret` signs webhooks and logs in to SMTP).
pub async fn deliver_to(
    connections: &mut Connections,
    rule: i64,
    destination: &Destination,
    secret: &str,
    alert: &ForwardAlert,
    timeout: Duration,
) -> Result<(), ForwardError> {
    let version = env!("CARGO_PKG_VERSION");
    let work = async {
        match destination {
            Destination::Syslog {
                host,
                port,
                transport,
                format,
                facility,
                tls,
            } => {
                let msg = syslog::message(alert, *format, *facility, version);
                let connection = connections.syslog.entry(rule).or_default();
                syslog::send(connection, host, *port, *transport, tls, &msg).await
            }
            Destination::Webhook { url, tls } => {
                let url = webhook::Url::parse(url)?;
                let body = super::json(alert).to_string();
                webhook::post(&url, tls, secret, body.as_bytes()).await
            }
            Destination::Email {
                host,
                port,
                from,
                to,
                username,
                tls,
            } => {
                let mail = super::smtp::Mail {
                    host,
                    port: *port,
                    from,
                    to,
                    username: username.as_deref(),
                    password: secret,
                    trust: tls,
                };
                super::smtp::send(mail, alert, timeout).await
            }
        }
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(result) => result,
        Err(_) => {
            // A half-written frame must not be continued by the next message.
            connections.syslog.remove(&rule);
            Err(ForwardError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "timed out",
            )))
        }
    }
}

/// Delivers one queued row.
pub async fn deliver(
    connections: &mut Connections,
    item: &QueuedDelivery,
    timeout: Duration,
) -> Result<(), ForwardError> {
    let destination = Destination::from_json(&item.destination)?;
    deliver_to(
        connections,
        item.rule_id,
        &destination,
        &item.secret,
        &item.alert,
        timeout,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_limit() {
        let base = Duration::from_secs(1);
        let max = Duration::from_secs(60);
        assert_eq!(backoff(1, base, max), Duration::from_secs(1));
        assert_eq!(backoff(2, base, max), Duration::from_secs(2));
        assert_eq!(backoff(4, base, max), Duration::from_secs(8));
        assert_eq!(backoff(7, base, max), Duration::from_secs(60));
        assert_eq!(backoff(i64::MAX, base, max), Duration::from_secs(60));
        assert_eq!(backoff(0, base, max), Duration::from_secs(1));
    }
}
