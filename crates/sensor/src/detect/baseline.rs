//! The learned baseline: devices, connections, protocols and per-pair operations seen during
//! learning, the DHCP servers that answered, and the most traffic each conversation carried in
//! one volume bucket. Lookups hash fixed-size keys (no allocation per event); the readable form
//! is what is exported and imported (`--baseline-out`, `--baseline-in`). Tables added after the
//! first release default to empty, so that older baseline files stay readable.

use std::collections::{BTreeSet, HashMap, HashSet};
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

/// The most traffic a conversation carried in one volume bucket
/// ([`crate::detect::anomaly::VOLUME_BUCKET_NS`]) during learning.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LearnedVolume {
    /// Client address.
    pub client: IpAddr,
    /// Server address.
    pub server: IpAddr,
    /// IP protocol number (6 TCP, 17 UDP).
    pub transport: u8,
    /// Server port.
    pub port: Option<u16>,
    /// Most payload bytes (both directions) in one bucket.
    pub bytes: u64,
    /// Most packets (both directions) in one bucket.
    pub packets: u64,
}

/// A conversation as the volume table keys it: client, server, transport, server port (the
/// port stands for the protocol, and is known before any dissector decided).
pub type ConversationKey = (IpAddr, IpAddr, u8, Option<u16>);

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
    /// DHCP servers that offered or acknowledged addresses (by server identifier).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub dhcp_servers: BTreeSet<IpAddr>,
    /// Per conversation, the most traffic in one volume bucket.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub volumes: BTreeSet<LearnedVolume>,
}

impl BaselineFile {
    /// Entries of every table (a sensor saves its baseline when this or the learned volumes
    /// changed; see [`Baseline::revision`]).
    pub fn entries(&self) -> usize {
        self.devices.len()
            + self.protocols.len()
            + self.connections.len()
            + self.operations.len()
            + self.dhcp_servers.len()
            + self.volumes.len()
    }

    /// Adds `other`'s entries; of two volumes learned for one conversation, the larger counts.
    pub fn merge(&mut self, other: BaselineFile) {
        self.devices.extend(other.devices);
        self.protocols.extend(other.protocols);
        self.connections.extend(other.connections);
        self.operations.extend(other.operations);
        self.dhcp_servers.extend(other.dhcp_servers);
        let mut most: HashMap<ConversationKey, (u64, u64)> = HashMap::new();
        for v in std::mem::take(&mut self.volumes)
            .into_iter()
            .chain(other.volumes)
        {
            let entry = most
                .entry((v.client, v.server, v.transport, v.port))
                .or_default();
            *entry = (entry.0.max(v.bytes), entry.1.max(v.packets));
        }
        self.volumes = most
            .into_iter()
            .map(
                |((client, server, transport, port), (bytes, packets))| LearnedVolume {
                    client,
                    server,
                    transport,
                    port,
                    bytes,
                    packets,
                },
            )
            .collect();
    }
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
    /// DHCP servers that answered.
    dhcp_servers: HashSet<IpAddr>,
    /// Per conversation, the most (payload bytes, packets) in one volume bucket.
    volumes: HashMap<ConversationKey, (u64, u64)>,
    /// Counts every change, so that a sensor saves its baseline when a learned volume grew
    /// though no entry was added.
    revision: u64,
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
        for &server in &file.dhcp_servers {
            baseline.learn_dhcp_server(server);
        }
        for v in &file.volumes {
            baseline.learn_volume(
                (v.client, v.server, v.transport, v.port),
                v.bytes,
                v.packets,
            );
        }
        baseline
    }

    /// Grows with every change to the baseline (an entry added, a learned volume raised).
    pub fn revision(&self) -> u64 {
        self.revision
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
            ("baseline.dhcp_servers", self.dhcp_servers.len()),
            ("baseline.volumes", self.volumes.len()),
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
            self.revision += 1;
        }
    }

    /// Records a protocol.
    pub fn learn_protocol(&mut self, protocol: &str) {
        if self.protocols.len() < MAX_BASELINE_ENTRIES
            && self.protocols.insert(protocol_key(protocol))
        {
            self.file.protocols.insert(protocol.to_owned());
            self.revision += 1;
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
            self.revision += 1;
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
            self.revision += 1;
        }
        self.learn_protocol(protocol);
    }

    /// Records a DHCP server that answered (offer or acknowledgement).
    pub fn learn_dhcp_server(&mut self, server: IpAddr) {
        if self.dhcp_servers.len() < MAX_BASELINE_ENTRIES && self.dhcp_servers.insert(server) {
            self.file.dhcp_servers.insert(server);
            self.revision += 1;
        }
    }

    /// Records the traffic of a conversation in one volume bucket so far: the learned most
    /// grows to it. The file's entry is rebuilt only when it grew (while the bucket fills).
    pub fn learn_volume(&mut self, key: ConversationKey, bytes: u64, packets: u64) {
        let before = match self.volumes.get(&key) {
            Some(&most) => Some(most),
            None if self.volumes.len() < MAX_BASELINE_ENTRIES => None,
            None => return,
        };
        let old = before.unwrap_or_default();
        let most = (old.0.max(bytes), old.1.max(packets));
        if before == Some(most) {
            return;
        }
        self.volumes.insert(key, most);
        let (client, server, transport, port) = key;
        let entry = |(bytes, packets): (u64, u64)| LearnedVolume {
            client,
            server,
            transport,
            port,
            bytes,
            packets,
        };
        if let Some(before) = before {
            self.file.volumes.remove(&entry(before));
        }
        self.file.volumes.insert(entry(most));
        self.revision += 1;
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

    /// Whether this DHCP server answered during learning.
    pub fn has_dhcp_server(&self, server: IpAddr) -> bool {
        self.dhcp_servers.contains(&server)
    }

    /// Whether any DHCP server answered during learning.
    pub fn knows_dhcp_servers(&self) -> bool {
        !self.dhcp_servers.is_empty()
    }

    /// The most (payload bytes, packets) the conversation carried in one volume bucket during
    /// learning, when it was learned.
    pub fn volume(&self, key: &ConversationKey) -> Option<(u64, u64)> {
        self.volumes.get(key).copied()
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

    /// DHCP servers and learned volumes survive the file form; a volume's file entry follows
    /// its most; a file written before these tables existed still reads.
    #[test]
    fn dhcp_servers_and_volumes_round_trip_and_old_files_read() {
        let mut b = Baseline::default();
        let (c, s) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let key = (c, s, 6, Some(502));
        b.learn_dhcp_server(s);
        b.learn_volume(key, 1000, 10);
        let revision = b.revision();
        b.learn_volume(key, 500, 5);
        assert_eq!(b.revision(), revision, "a smaller bucket changes nothing");
        b.learn_volume(key, 1500, 8);
        assert!(b.revision() > revision);
        assert_eq!(b.volume(&key), Some((1500, 10)));
        assert_eq!(b.file().volumes.len(), 1);
        let json = serde_json::to_string(b.file()).unwrap();
        let again = Baseline::from_file(serde_json::from_str(&json).unwrap());
        assert!(again.has_dhcp_server(s) && !again.has_dhcp_server(c));
        assert_eq!(again.volume(&key), Some((1500, 10)));
        assert_eq!(again.file(), b.file());

        let old = r#"{"devices":["10.0.0.1"],"protocols":[],"connections":[],"operations":[]}"#;
        let old: BaselineFile = serde_json::from_str(old).unwrap();
        assert!(old.dhcp_servers.is_empty() && old.volumes.is_empty());
        assert!(!Baseline::from_file(old.clone()).knows_dhcp_servers());

        // Merging keeps the larger of two volumes learned for one conversation.
        let mut merged = old;
        let mut other = b.file().clone();
        merged.merge(b.file().clone());
        other.volumes = [LearnedVolume {
            client: c,
            server: s,
            transport: 6,
            port: Some(502),
            bytes: 9000,
            packets: 1,
        }]
        .into();
        merged.merge(other);
        assert_eq!(merged.volumes.len(), 1);
        let v = merged.volumes.first().unwrap();
        assert_eq!((v.bytes, v.packets), (9000, 10));
        assert_eq!(merged.entries(), 3, "a device, a DHCP server, a volume");
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
