//! The protocol engine, from what dissectors signal: exception storms (many exception or error
//! responses from one server in a short time) and illegal function codes.

use std::net::IpAddr;

use ironward_model::{AlertEngine, Severity};

use super::alerts::{AlertStore, Raise, StableHash, Text};
use super::tracker::{Tracker, MAX_KEYS};
use super::{EventInput, TableFootprint};

/// Exception responses within [`STORM_WINDOW_NS`] that make a storm.
pub const STORM_THRESHOLD: u64 = 20;
/// The storm window.
pub const STORM_WINDOW_NS: i64 = 10_000_000_000;

#[derive(Debug)]
pub(crate) struct ProtocolChecks {
    /// Exceptions per (server, client) pair.
    exceptions: Tracker<(Option<IpAddr>, Option<IpAddr>)>,
}

impl Default for ProtocolChecks {
    fn default() -> Self {
        Self {
            exceptions: Tracker::new(STORM_WINDOW_NS),
        }
    }
}

fn is_exception(operation: &str) -> bool {
    matches!(
        operation,
        "exception" | "error_response" | "negative_response"
    )
}

impl ProtocolChecks {
    pub(crate) fn footprint(&self, out: &mut Vec<TableFootprint>) {
        let (entries, values) = self.exceptions.footprint();
        out.push(TableFootprint {
            name: "protocol.exceptions",
            entries,
            limit: MAX_KEYS,
            values,
        });
    }

    pub(crate) fn on_event(
        &mut self,
        store: &mut AlertStore,
        e: &EventInput<'_>,
    ) -> Option<(u64, bool)> {
        if !is_exception(e.operation) {
            return None;
        }
        let evidence = || format!("{} {} {}", e.protocol, e.operation, e.detail);
        let key = StableHash::default().bytes(e.protocol.as_bytes()).finish();
        if e.detail.contains("illegal function") {
            return Some(store.raise(
                &Raise {
                    kind: "protocol.illegal_function",
                    engine: AlertEngine::Protocol,
                    severity: Severity::Minor,
                    src: e.src,
                    dst: e.dst,
                    key,
                    protocol: Some(e.protocol),
                    techniques: &["T0888"],
                    time: e.time,
                    frame: Some(e.frame),
                },
                || Text {
                    title: format!("Illegal {} function codes sent to {}", e.protocol, fmt(e.dst)),
                    description: format!(
                        "{} sent {} requests with function codes {} does not support: a misconfigured master, a scanner fingerprinting the device, or a fuzzer.",
                        fmt(e.src), e.protocol, fmt(e.dst)
                    ),
                    remediation: "Identify the client and whether it should talk to this device at all.".to_owned(),
                },
                evidence,
            ));
        }
        // Exceptions are recorded as from the requester to the server; key by pair.
        let window = self.exceptions.hit((e.dst, e.src), e.time, None);
        if window.count() < STORM_THRESHOLD {
            return None;
        }
        Some(store.raise(
            &Raise {
                kind: "protocol.exception_storm",
                engine: AlertEngine::Protocol,
                severity: Severity::Minor,
                src: e.src,
                dst: e.dst,
                key,
                protocol: Some(e.protocol),
                techniques: &["T0888", "T0814"],
                time: e.time,
                frame: Some(e.frame),
            },
            || Text {
                title: format!("{} exception storm between {} and {}", e.protocol, fmt(e.src), fmt(e.dst)),
                description: format!(
                    "At least {STORM_THRESHOLD} exception or error responses within {} s: requests the device refuses, as from a misconfigured master, a scan of addresses or functions, or a device in trouble.",
                    STORM_WINDOW_NS / 1_000_000_000
                ),
                remediation: "Look at the refused requests in the evidence; fix the master's configuration or find the scanner.".to_owned(),
            },
            evidence,
        ))
    }
}

fn fmt(ip: Option<IpAddr>) -> String {
    ip.map_or_else(|| "?".to_owned(), |ip| ip.to_string())
}
