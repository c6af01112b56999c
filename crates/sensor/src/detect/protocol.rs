//! The protocol engine, from what dissectors signal: exception storms (many exception or error
//! responses from one server in a short time), illegal function codes, and PDUs that break
//! their protocol — `malformed` (cannot be decoded) and `violation` (decodes but breaks a rule
//! of the specification: a length field, reserved bits, a CRC), which the industrial
//! dissectors report from their error paths.
//!
//! Malformed and violating PDUs raise one alert per protocol and receiving device, whoever
//! sent them: a fuzzer or a flood from spoofed addresses aggregates into one alert with a
//! count, and each alert's evidence names the senders and rules of its first occurrences.

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
        if let Some(rule) = BrokenRule::of(e.operation) {
            return Some(broken_rule(store, e, rule));
        }
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

/// What a dissector said is wrong with a PDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BrokenRule {
    /// It could not be decoded.
    Malformed,
    /// It decoded but breaks a rule of its specification.
    Violation,
}

impl BrokenRule {
    fn of(operation: &str) -> Option<Self> {
        match operation {
            "malformed" => Some(Self::Malformed),
            "violation" => Some(Self::Violation),
            _ => None,
        }
    }
}

/// Raises (or counts) the alert of a malformed or violating PDU: one per kind, protocol and
/// receiver. Minor: one broken PDU harms nothing by itself and devices with sloppy stacks send
/// them; what matters is who sends them and how often, which the count and evidence show.
/// Malformed PDUs are how parser exploits and crash attacks are delivered (T0866, T0814);
/// violations of reserved bits and length fields are also how scanners fingerprint a stack
/// (T0888).
fn broken_rule(store: &mut AlertStore, e: &EventInput<'_>, rule: BrokenRule) -> (u64, bool) {
    let (kind, techniques): (&str, &[&str]) = match rule {
        BrokenRule::Malformed => ("protocol.malformed", &["T0866", "T0814"]),
        BrokenRule::Violation => ("protocol.violation", &["T0888", "T0866"]),
    };
    let evidence = || {
        format!(
            "{} → {}: {} {}: {}",
            fmt(e.src),
            fmt(e.dst),
            e.protocol,
            e.operation,
            e.detail
        )
    };
    store.raise(
        &Raise {
            kind,
            engine: AlertEngine::Protocol,
            severity: Severity::Minor,
            src: None,
            dst: e.dst,
            key: StableHash::default().bytes(e.protocol.as_bytes()).finish(),
            protocol: Some(e.protocol),
            techniques,
            time: e.time,
            frame: Some(e.frame),
        },
        || {
            let (what, why) = match rule {
                BrokenRule::Malformed => (
                    "Malformed",
                    "could not be decoded",
                ),
                BrokenRule::Violation => (
                    "Spec-violating",
                    "decode but break a rule of the protocol's specification",
                ),
            };
            Text {
                title: format!("{what} {} PDUs sent to {}", e.protocol, fmt(e.dst)),
                description: format!(
                    "{} PDUs sent to {} {why}; the first came from {}: {}. Broken PDUs come from fuzzers and exploits aimed at the device's parser, from scanners fingerprinting its stack, or from a faulty or misconfigured peer; the count says how often, the evidence who sent them.",
                    e.protocol,
                    fmt(e.dst),
                    fmt(e.src),
                    e.detail
                ),
                remediation: format!(
                    "Identify the senders in the evidence: a host that should not speak {} to this device is to be isolated and investigated; a known peer's faulty stack is to be fixed or updated by its vendor. Check that {} still runs normally.",
                    e.protocol,
                    fmt(e.dst)
                ),
            }
        },
        evidence,
    )
}

fn fmt(ip: Option<IpAddr>) -> String {
    ip.map_or_else(|| "?".to_owned(), |ip| ip.to_string())
}
