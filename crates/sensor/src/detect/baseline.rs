//! The learned baseline: devices, connections, protocols and per-pair operations seen during
//! learning. Lookups hash fixed-size keys (no allocation per event); the readable form is what
//! is exported and imported (`--baseline-out`, `--baseline-in`).

use std::collections::{BTreeSet, HashSet};
use std::net::IpAddr;

use ironward_model::EventCategory;
use serde::{Deserialize, Serialize};

use super::alerts::StableHash;

/// Most entries of each kind a baseline keeps (a learning period flooded by a scan must not
/// grow it without bound).
pub const MAX_BASELINE_ENTRIES: usize = 100_000;

/// A learned connection: client, server, transport, server port, protocol.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LearnedConnection {
    /// Client address.
    pub client: IpAddr,
    /// Server address.
    pub server: IpAddr,
    /// IP protocol number (6 TCP, 17 UDP).
    pub transport: u8,
    /// Server port.
    pub port: Option<u16>,
    /// Application protocol, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
}

/// A learned operation between a client and a server.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LearnedOperation {
    /// Who performed it.
    pub client: IpAddr,
    /// On whom.
    pub server: IpAddr,
    /// Protocol.
    pub protocol: String,
    /// Category (`write`, `program_download`).
    pub category: EventCategory,
    /// Operation (`write_multiple_registers`, `plc_stop`).
    pub operation: String,
}

/// The serialisable baseline.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineFile {
    /// Addresses of the devices seen.
    pub devices: BTreeSet<IpAddr>,
    /// Protocols seen.
    pub protocols: BTreeSet<String>,
    /// Connections seen.
    pub connections: BTreeSet<LearnedConnection>,
    /// Operations seen per pair.
    pub operations: BTreeSet<LearnedOperation>,
}

/// The baseline with its lookup indexes.
#[derive(Debug, Clone, Default)]
pub struct Baseline {
    file: BaselineFile,
    devices: HashSet<IpAddr>,
    protocols: HashSet<u64>,
    connections: HashSet<(IpAddr, IpAddr, u8, Option<u16>)>,
    /// (client, server, protocol, category).
    pair_categories: HashSet<u64>,
    /// (client, server, protocol): the client spoke this protocol to this server.
    pairs: HashSet<u64>,
    /// (server, protocol): the server was spoken to in this protocol.
    servers: HashSet<u64>,
    /// (client, category) for engineering categories: the client did engineering work.
    engineering: HashSet<IpAddr>,
    /// (client, server, protocol, category, operation): the operations in `file`, so that a
    /// repeated operation (every poll while learning) is recognised without building its entry.
    operations: HashSet<u64>,
}

fn protocol_key(protocol: &str) -> u64 {
    StableHash::default().bytes(protocol.as_bytes()).finish()
}

fn pair_key(client: IpAddr, server: IpAddr, protocol: &str) -> u64 {
    StableHash::default()
        .ip(Some(client))
        .ip(Some(server))
        .bytes(protocol.as_bytes())
        .finish()
}

fn category_key(client: IpAddr, server: IpAddr, protocol: &str, category: EventCategory) -> u64 {
    StableHash::default()
        .ip(Some(client))
        .ip(Some(server))
        .bytes(protocol.as_bytes())
        .num(category as u64)
        .finish()
}

fn server_key(server: IpAddr, protocol: &str) -> u64 {
    StableHash::default()
        .ip(Some(server))
        .bytes(protocol.as_bytes())
        .finish()
}

impl Baseline {
    /// A baseline from its file form.
    pub fn from_file(file: BaselineFile) -> Self {
        let mut baseline = Self::default();
        for &ip in &file.devices {
            baseline.learn_device(ip);
        }
        for protocol in &file.protocols {
            baseline.learn_protocol(protocol);
        }
        for c in &file.connections {
            baseline.learn_connection(
                c.client,
                c.server,
                c.transport,
                c.port,
                c.protocol.as_deref(),
            );
        }
        for o in &file.operations {
            baseline.learn_operation(o.client, o.server, &o.protocol, o.category, &o.operation);
        }
        baseline
    }

    /// Entry counts of the baseline's tables (each at most [`MAX_BASELINE_ENTRIES`]).
    pub(crate) fn footprint(&self, out: &mut Vec<super::TableFootprint>) {
        for (name, entries) in [
            ("baseline.devices", self.devices.len()),
            ("baseline.protocols", self.protocols.len()),
            ("baseline.connections", self.connections.len()),
            ("baseline.pair_categories", self.pair_categories.len()),
            ("baseline.pairs", self.pairs.len()),
            ("baseline.servers", self.servers.len()),
            ("baseline.engineering", self.engineering.len()),
            ("baseline.operations", self.file.operations.len()),
        ] {
            out.push(super::TableFootprint {
                name,
                entries,
                limit: MAX_BASELINE_ENTRIES,
                values: 0,
            });
        }
    }

    /// The file form (for export).
    pub fn file(&self) -> &BaselineFile {
        &self.file
    }

    /// Records a device.
    pub fn learn_device(&mut self, ip: IpAddr) {
        if self.devices.len() < MAX_BASELINE_ENTRIES && self.devices.insert(ip) {
            self.file.devices.insert(ip);
        }
    }

    /// Records a protocol.
    pub fn learn_protocol(&mut self, protocol: &str) {
        if self.protocols.len() < MAX_BASELINE_ENTRIES
            && self.protocols.insert(protocol_key(protocol))
        {
            self.file.protocols.insert(protocol.to_owned());
        }
    }

    /// Records a connection.
    pub fn learn_connection(
        &mut self,
        client: IpAddr,
        server: IpAddr,
        transport: u8,
        port: Option<u16>,
        protocol: Option<&str>,
    ) {
        if self.connections.len() < MAX_BASELINE_ENTRIES
            && self.connections.insert((client, server, transport, port))
        {
            self.file.connections.insert(LearnedConnection {
                client,
                server,
                transport,
                port,
                protocol: protocol.map(str::to_owned),
            });
        }
        if let Some(protocol) = protocol {
            self.learn_protocol(protocol);
        }
    }

    /// Records an operation.
    pub fn learn_operation(
        &mut self,
        client: IpAddr,
        server: IpAddr,
        protocol: &str,
        category: EventCategory,
        operation: &str,
    ) {
        let key = StableHash::default()
            .ip(Some(client))
            .ip(Some(server))
            .bytes(protocol.as_bytes())
            .num(category as u64)
            .bytes(operation.as_bytes())
            .finish();
        // A repeat (every poll while learning): everything below was recorded with it the first
        // time, so one hash and one lookup settle it.
        if self.pair_categories.len() >= MAX_BASELINE_ENTRIES || self.operations.contains(&key) {
            return;
        }
        self.pairs.insert(pair_key(client, server, protocol));
        self.servers.insert(server_key(server, protocol));
        if category.is_engineering() {
            self.engineering.insert(client);
        }
        self.pair_categories
            .insert(category_key(client, server, protocol, category));
        if self.operations.len() < MAX_BASELINE_ENTRIES && self.operations.insert(key) {
            self.file.operations.insert(LearnedOperation {
                client,
                server,
                protocol: protocol.to_owned(),
                category,
                operation: operation.to_owned(),
            });
        }
        self.learn_protocol(protocol);
    }

    /// Whether the device was seen.
    pub fn has_device(&self, ip: IpAddr) -> bool {
        self.devices.contains(&ip)
    }

    /// Whether the protocol was seen.
    pub fn has_protocol(&self, protocol: &str) -> bool {
        self.protocols.contains(&protocol_key(protocol))
    }

    /// Whether the connection was seen.
    pub fn has_connection(
        &self,
        client: IpAddr,
        server: IpAddr,
        transport: u8,
        port: Option<u16>,
    ) -> bool {
        self.connections
            .contains(&(client, server, transport, port))
    }

    /// Whether the client performed operations of this category on the server in this protocol.
    pub fn has_category(
        &self,
        client: IpAddr,
        server: IpAddr,
        protocol: &str,
        category: EventCategory,
    ) -> bool {
        self.pair_categories
            .contains(&category_key(client, server, protocol, category))
    }

    /// Whether the client spoke this protocol to the server.
    pub fn has_pair(&self, client: IpAddr, server: IpAddr, protocol: &str) -> bool {
        self.pairs.contains(&pair_key(client, server, protocol))
    }

    /// Whether anyone spoke this protocol to the server.
    pub fn has_server(&self, server: IpAddr, protocol: &str) -> bool {
        self.servers.contains(&server_key(server, protocol))
    }

    /// Whether the client did engineering work (programs, modes, firmware, configuration).
    pub fn is_engineering(&self, client: IpAddr) -> bool {
        self.engineering.contains(&client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_form_round_trips() {
        let mut b = Baseline::default();
        let (c, s) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        b.learn_device(c);
        b.learn_connection(c, s, 6, Some(502), Some("modbus"));
        b.learn_operation(
            c,
            s,
            "modbus",
            EventCategory::Write,
            "write_single_register",
        );
        let json = serde_json::to_string(b.file()).unwrap();
        let again = Baseline::from_file(serde_json::from_str(&json).unwrap());
        assert!(again.has_device(c));
        assert!(again.has_protocol("modbus"));
        assert!(again.has_connection(c, s, 6, Some(502)));
        assert!(again.has_category(c, s, "modbus", EventCategory::Write));
        assert!(!again.has_category(c, s, "modbus", EventCategory::ProgramDownload));
        assert!(again.has_server(s, "modbus"));
        assert_eq!(again.file(), b.file());
    }

    #[test]
    fn a_repeated_operation_is_learned_once_and_others_still_are() {
        let mut b = Baseline::default();
        let (c, s) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        for _ in 0..3 {
            b.learn_operation(c, s, "s7comm", EventCategory::Read, "read_var");
        }
        assert_eq!(b.file().operations.len(), 1);
        // Same pair and protocol, another category: recorded in full.
        b.learn_operation(c, s, "s7comm", EventCategory::ModeChange, "plc_stop");
        assert_eq!(b.file().operations.len(), 2);
        assert!(b.has_category(c, s, "s7comm", EventCategory::ModeChange));
        assert!(b.is_engineering(c));
        assert!(b.has_pair(c, s, "s7comm") && b.has_server(s, "s7comm"));
    }
}
