//! Events: what a conversation did.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// The kind of operation an event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// Reading process values or configuration.
    Read,
    /// Writing process values or configuration.
    Write,
    /// Program upload, download or deletion.
    Program,
    /// Controller state changes (stop, start, reset).
    Control,
    /// Diagnostics and identification requests.
    Diagnostic,
    /// Authentication attempts and results.
    Auth,
    /// Discovery and announcement traffic.
    Discovery,
    /// Anything else worth recording.
    Other,
}

/// One operation seen in a conversation, e.g. "Modbus write multiple registers 40001-40010".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// When it happened.
    pub time: Timestamp,
    /// Who did it.
    pub src: IpAddr,
    /// To whom.
    pub dst: IpAddr,
    /// Lower-case protocol name.
    pub protocol: String,
    /// What kind of operation.
    pub kind: EventKind,
    /// Human-readable detail.
    pub detail: String,
}
