//! The analysis report: the JSON contract of `ironward analyze --format json`.
//!
//! Top-level keys are `devices`, `connections` and `stats`. Later versions add keys (`events`,
//! `alerts`, `vulnerabilities`); existing keys are never renamed or removed.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::{Alert, Device, DeviceId, Event, Timestamp};

/// A conversation between two devices on one server port, aggregated over its flows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    /// The client device (the side that opened the conversation). `null` only when the client
    /// address is not a device (never for unicast traffic).
    pub a: Option<DeviceId>,
    /// The server device; `null` for broadcast and multicast destinations.
    pub b: Option<DeviceId>,
    /// Client IP address.
    pub a_ip: IpAddr,
    /// Server (or group) IP address.
    pub b_ip: IpAddr,
    /// `tcp`, `udp`, `icmp`, `icmpv6`, or `ip-N` for other IP protocols.
    pub transport: String,
    /// Server port (`null` for port-less transports).
    pub port: Option<u16>,
    /// Lower-case application protocol, `null` when unknown.
    pub protocol: Option<String>,
    /// Packets both ways.
    pub packets: u64,
    /// Bytes both ways (frame lengths on the wire).
    pub bytes: u64,
    /// Number of flows (distinct client ports / TCP sessions) merged into this connection.
    pub flows: u64,
    /// First packet.
    pub first_seen: Timestamp,
    /// Last packet.
    pub last_seen: Timestamp,
}

/// Counters about the analysis itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Frames read.
    pub packets: u64,
    /// Bytes on the wire (original frame lengths).
    pub bytes: u64,
    /// Frames per link type name (`ethernet`, `linux_sll`, ..., `linktype_N` for unsupported).
    pub frames_by_linktype: BTreeMap<String, u64>,
    /// Frames with a decoding problem, by kind (`ipv4.truncated`, `tcp.bad_option`, ...).
    pub decode_errors: BTreeMap<String, u64>,
    /// Frames cut short by the capture's snap length.
    pub truncated: u64,
    /// Frames of link types Ironward does not decode.
    pub unsupported_linktype: u64,
    /// Flows (bidirectional 5-tuple conversations) seen.
    pub flows: u64,
    /// Flows evicted early because the flow table was full.
    pub flows_evicted: u64,
    /// TCP flows with at least one gap in a reassembled stream.
    pub streams_with_gaps: u64,
    /// IP datagrams reassembled from fragments.
    pub fragments_reassembled: u64,
    /// IP fragments that overlapped already received data with different content.
    pub fragment_overlaps: u64,
    /// Warnings about damaged capture files.
    pub capture_warnings: u64,
    /// Capture files (or interfaces) read.
    pub inputs: u64,
    /// Observations (new addresses, bindings, connections, facts) not recorded because the
    /// inventory reached its bound of distinct entries; non-zero means the input was either
    /// enormous or a flood of spoofed addresses.
    pub observations_dropped: u64,
}

/// The whole analysis.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalysisReport {
    /// Devices, sorted by id.
    pub devices: Vec<Device>,
    /// Connections, sorted by client, server, transport and port.
    pub connections: Vec<Connection>,
    /// Operations dissectors recorded (logins, announcements), in the order seen.
    #[serde(default)]
    pub events: Vec<Event>,
    /// Alerts the detection engines raised (empty unless detection ran), most urgent first.
    #[serde(default)]
    pub alerts: Vec<Alert>,
    /// Counters.
    pub stats: Stats,
}
