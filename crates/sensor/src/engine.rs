//! The engine: one timeline of frames in, devices, connections and statistics out.
//!
//! Per frame: decode (`ironward_wire::decode`), reassemble IP fragments, account the packet to
//! its flow (which runs TCP reassembly and the flow's dissector), and feed the device observer.
//! None of this allocates, locks or formats per packet on the steady path: maps only grow when a
//! new flow, MAC or error kind appears.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use ironward_model::{AnalysisReport, DeviceKey, Event, Fact, MacAddress, Timestamp};
use ironward_proto::{FlowMeta, LinkFrame};
use ironward_wire::{
    decode_into, decode_transport, DecodeError, LinkType, MacAddr, Network, Packet, TcpSummary,
    Transport, Vlans,
};

use crate::capture::Frame;
use crate::defrag::{DefragConfig, Defragmenter, Reassembled};
use crate::dissect::{Dissector, DissectorRegistry, Observations};
use crate::flow::{
    Direction, EndReason, FlowConfig, FlowHandler, FlowInfo, FlowTable, PacketMeta, TcpState,
};
use crate::observe::{FlowEndpoints, Observer, MAX_ENTRIES};
use crate::reassembly::StreamChunk;
use crate::services::{ip_proto, protocol_for_port};

mod report;

pub use report::{CollectReport, Finished, ReportSink};

/// How often (in capture time) idle flows and stale fragments are expired.
const EXPIRY_INTERVAL_NS: i64 = 1_000_000_000;

/// Engine settings.
#[derive(Debug, Clone, Default)]
pub struct EngineConfig {
    /// Flow table limits and timeouts.
    pub flows: FlowConfig,
    /// IP defragmentation limits.
    pub defrag: DefragConfig,
    /// Keep a record of every finished flow in [`Analysis::flows`] (for tests and exports;
    /// costs memory proportional to the number of flows).
    pub keep_flow_records: bool,
    /// Keep every fact the dissectors report, and every occurrence of an event, with the number
    /// of the frame that produced it, in [`Analysis::facts`] and [`Analysis::event_log`] (for
    /// conformance tests).
    pub keep_fact_log: bool,
    /// Detection: the detector this engine feeds (shared with the engines of later windows),
    /// once per event occurrence, finished flow, ARP frame and fact. Its alerts raised or
    /// repeated during this engine's run reach the report sink.
    pub detector: Option<crate::detect::SharedDetector>,
    /// The packet ring that gives each new alert its pcap (used only with a detector; `slots`
    /// 0 turns it off). Finished captures reach the report sink before the alerts.
    pub packet_ring: crate::packet_ring::RingConfig,
}

pub use ironward_proto::observations::MAX_EVENTS;

/// A finished flow, as kept when [`EngineConfig::keep_flow_records`] is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowRecord {
    /// The flow's final state.
    pub info: FlowInfo,
    /// Why it ended.
    pub reason: EndReason,
    /// Frames beyond those in `info.packets`, per [`Direction`] index: a datagram reassembled
    /// from N fragments counts as one packet in the flow table and adds N-1 here. IP-level frame
    /// counts are the sum.
    pub extra_fragment_frames: [u64; 2],
}

/// The result of an analysis.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    /// The report (devices, connections, statistics).
    pub report: AnalysisReport,
    /// Every finished flow, when requested.
    pub flows: Vec<FlowRecord>,
    /// Every (MAC, IPv4) binding claimed by an ARP sender.
    pub arp_senders: Vec<(MacAddr, std::net::Ipv4Addr)>,
    /// Every fact reported by a dissector with its frame number, when requested.
    pub facts: Vec<(u64, Fact)>,
    /// Every occurrence of an event with its frame number, when requested (the event as in
    /// the report: aggregated, with its final count).
    pub event_log: Vec<(u64, Event)>,
    /// The packets around each new alert (see [`EngineConfig::packet_ring`]).
    pub alert_captures: Vec<ironward_model::AlertCapture>,
}

/// A flow's dissector: not chosen until the flow's first payload, then one or none.
enum DissectorSlot {
    Undecided,
    Chosen(Box<dyn Dissector>),
    Nothing,
}

/// Per-flow state the engine keeps beside the flow table's own.
struct FlowState {
    dissector: DissectorSlot,
    /// Source MAC of each direction's first frame.
    src_mac: [Option<MacAddr>; 2],
    /// Destination MAC of the client's first frame.
    client_dst_mac: Option<MacAddr>,
    /// The client's frames went to a broadcast or multicast MAC: the server address is a group
    /// (a directed broadcast such as 192.168.2.255), not a host.
    server_is_group: bool,
    /// See [`FlowRecord::extra_fragment_frames`].
    extra_fragment_frames: [u64; 2],
}

/// Link-layer facts of the frame being processed, for the flow handler.
///
/// The MACs are kept as the link layer gave them and judged only when asked: a flow records
/// them on its first frames, so judging them for every frame was wasted work.
#[derive(Clone, Copy, Default)]
struct CurrentFrame {
    link_src: Option<MacAddr>,
    link_dst: Option<MacAddr>,
    fragment_frames: u64,
    /// Frame number in the input (1-based).
    frame: u64,
}

impl CurrentFrame {
    /// The source MAC, when it names a host.
    #[inline]
    fn src_mac(&self) -> Option<MacAddr> {
        self.link_src.filter(|m| m.is_unicast() && !m.is_zero())
    }

    /// The destination MAC, when it names a host.
    #[inline]
    fn dst_mac(&self) -> Option<MacAddr> {
        self.link_dst.filter(|m| m.is_unicast() && !m.is_zero())
    }

    /// The destination MAC is a broadcast or multicast address.
    #[inline]
    fn dst_is_group(&self) -> bool {
        self.link_dst.is_some_and(|m| m.is_multicast())
    }
}

/// A connection being aggregated from flows.
#[derive(Debug, Clone)]
struct ConnectionAcc {
    client_mac: Option<MacAddr>,
    protocol: Option<&'static str>,
    packets: u64,
    bytes: u64,
    flows: u64,
    first_seen: i64,
    last_seen: i64,
    /// The server answered at least once.
    answered: bool,
}

/// Key of a connection: client, server, transport, server port.
type ConnectionKey = (IpAddr, IpAddr, u8, Option<u16>);

/// A connection being aggregated, and (once the devices are known) the devices at its ends.
struct ConnectionEntry {
    key: ConnectionKey,
    acc: ConnectionAcc,
    client: Option<DeviceKey>,
    server: Option<DeviceKey>,
}

/// What the engine accumulates besides the flow table: device evidence, dissector output,
/// connection aggregates. One field of the engine, so that the flow table and this can be
/// borrowed at once.
#[derive(Default)]
struct Inventory {
    observer: Observer,
    observations: Observations,
    fact_log: Option<Vec<(u64, Fact)>>,
    /// Connections in first-seen order, with where each sits in `connections` by key. A vector
    /// plus a small index (rather than one map of the aggregates) lets the end of the analysis
    /// drop the index and sort the aggregates in place: no second copy at the memory peak.
    connections: Vec<ConnectionEntry>,
    connection_index: HashMap<ConnectionKey, u32>,
    flow_records: Option<Vec<FlowRecord>>,
    /// Connections not recorded because the connection map was full.
    connections_dropped: u64,
    detector: Option<crate::detect::SharedDetector>,
    /// Reused buffer of event occurrences handed to the detector.
    occurrences: Vec<(u64, u32)>,
    /// Alerts raised for the first time whose capture is to start once the current frame is
    /// in the packet ring; `None` when there is no ring.
    pending_captures: Option<Vec<crate::packet_ring::NewAlert>>,
}

/// Queues a capture for each alert the detector raised for the first time (when the packet
/// ring is on: without it the detector's list of new alerts is left alone).
fn note_new_alerts(
    detector: &mut crate::detect::Detector,
    pending: &mut Option<Vec<crate::packet_ring::NewAlert>>,
) {
    let Some(pending) = pending else { return };
    for hash in detector.take_new() {
        if let Some(alert) = detector.alert_by_hash(hash) {
            pending.push(crate::packet_ring::NewAlert {
                id: alert.id.clone(),
                addrs: [alert.src_ip, alert.dst_ip],
            });
        }
    }
}

/// The flow handler: the inventory, and the link-layer facts of the frame being processed.
struct Sink<'e> {
    inv: &'e mut Inventory,
    registry: &'e DissectorRegistry,
    current: CurrentFrame,
}

impl Inventory {
    /// Moves what the dissectors reported into the observer and the event list.
    fn collect(&mut self, frame: u64) {
        if self.detector.is_some()
            && (self.observations.has_occurrences() || !self.observations.is_empty())
        {
            self.detect(frame);
        }
        if self.observations.is_empty() {
            return;
        }
        for fact in self.observations.drain_facts() {
            if let Some(log) = self.fact_log.as_mut() {
                log.push((frame, fact.clone()));
            }
            self.observer.fact(fact);
        }
    }
}

impl Inventory {
    /// Hands what the dissectors just reported to the detector (one lock per dissector call
    /// that reported something).
    fn detect(&mut self, frame: u64) {
        let Some(shared) = self.detector.as_ref() else {
            return;
        };
        let mut detector = crate::detect::lock(shared);
        self.observations.take_occurrences(&mut self.occurrences);
        for &(frame, index) in &self.occurrences {
            let Some(e) = self.observations.occurrence(index) else {
                continue;
            };
            let input = crate::detect::EventInput {
                frame,
                time: e.time.0,
                src: e.src.0,
                dst: e.dst.0,
                src_mac: e.src.1,
                protocol: e.protocol,
                category: e.category,
                operation: e.operation,
                detail: e.detail,
            };
            detector.on_event(&input);
            if let Some(sha256) = e.content_hash {
                detector.on_file_transfer(&input, sha256);
            }
        }
        for fact in self.observations.facts() {
            detector.on_fact(frame, fact);
        }
        note_new_alerts(&mut detector, &mut self.pending_captures);
    }
}

impl Sink<'_> {
    /// What dissectors are told about the flow, as of the current frame.
    fn meta(&self, flow: &FlowInfo) -> FlowMeta {
        FlowMeta {
            id: flow.id,
            transport: match flow.protocol {
                ip_proto::TCP => ironward_proto::Transport::Tcp,
                ip_proto::UDP => ironward_proto::Transport::Udp,
                other => ironward_proto::Transport::Other(other),
            },
            client: flow.client,
            server: flow.server,
            now: Timestamp(flow.last_seen_ns),
            frame: self.current.frame,
        }
    }

    /// The flow's dissector, chosen on its first payload.
    fn dissector<'s>(
        &self,
        slot: &'s mut DissectorSlot,
        meta: &FlowMeta,
        dir: Direction,
        payload: &[u8],
    ) -> Option<&'s mut Box<dyn Dissector>> {
        if let DissectorSlot::Undecided = slot {
            if payload.is_empty() {
                return None;
            }
            *slot = match self.registry.select(meta, dir, payload) {
                Some(dissector) => DissectorSlot::Chosen(dissector),
                None => DissectorSlot::Nothing,
            };
        }
        match slot {
            DissectorSlot::Chosen(dissector) => Some(dissector),
            _ => None,
        }
    }
}

impl FlowHandler<FlowState> for Sink<'_> {
    fn on_packet(&mut self, _flow: &FlowInfo, state: &mut FlowState, dir: Direction) {
        let index = dir.index();
        if state.src_mac[index].is_none() {
            state.src_mac[index] = self.current.src_mac();
        }
        if dir == Direction::ClientToServer && state.client_dst_mac.is_none() {
            state.client_dst_mac = self.current.dst_mac();
            state.server_is_group |= self.current.dst_is_group();
        }
        state.extra_fragment_frames[index] += self.current.fragment_frames.saturating_sub(1);
    }

    fn on_datagram(
        &mut self,
        flow: &FlowInfo,
        state: &mut FlowState,
        dir: Direction,
        payload: &[u8],
    ) {
        if matches!(state.dissector, DissectorSlot::Nothing) {
            return;
        }
        let meta = self.meta(flow);
        if let Some(dissector) = self.dissector(&mut state.dissector, &meta, dir, payload) {
            dissector.on_datagram(&meta, dir, payload, &mut self.inv.observations);
            self.inv.collect(self.current.frame);
        }
    }

    fn on_stream(
        &mut self,
        flow: &FlowInfo,
        state: &mut FlowState,
        dir: Direction,
        chunk: StreamChunk<'_>,
    ) {
        if matches!(state.dissector, DissectorSlot::Nothing) {
            return;
        }
        let meta = self.meta(flow);
        let first: &[u8] = match chunk {
            StreamChunk::Data(bytes) => bytes,
            StreamChunk::Gap(_) | StreamChunk::End => &[],
        };
        if let Some(dissector) = self.dissector(&mut state.dissector, &meta, dir, first) {
            dissector.on_stream(&meta, dir, chunk, &mut self.inv.observations);
            self.inv.collect(self.current.frame);
        }
    }

    fn on_flow_end(&mut self, flow: &FlowInfo, mut state: FlowState, reason: EndReason) {
        let mut roles_reversed = false;
        let protocol = match &mut state.dissector {
            DissectorSlot::Chosen(dissector) => {
                let meta = self.meta(flow);
                dissector.on_end(&meta, &mut self.inv.observations);
                self.inv.collect(self.current.frame);
                roles_reversed = dissector.roles_reversed();
                Some(dissector.protocol())
            }
            DissectorSlot::Undecided | DissectorSlot::Nothing => {
                if has_ports(flow.protocol) {
                    protocol_for_port(flow.protocol, flow.server.port())
                } else {
                    None
                }
            }
        };
        // A flow to a broadcast or multicast group (by its destination MAC) keeps its
        // orientation: a group is no server to turn into a client.
        let reversed =
            (roles_reversed && !state.server_is_group).then(|| swapped(flow, &mut state));
        let flow = reversed.as_ref().unwrap_or(flow);
        let client = Direction::ClientToServer.index();
        let server = Direction::ServerToClient.index();
        self.inv.observer.flow(&FlowEndpoints {
            client_ip: flow.client.ip(),
            server_ip: flow.server.ip(),
            client_mac: state.src_mac[client],
            server_mac: state.src_mac[server],
            client_dst_mac: state.client_dst_mac,
            server_is_group: state.server_is_group,
            client_packets: flow.packets[client],
            server_packets: flow.packets[server],
            first_seen_ns: flow.first_seen_ns,
            last_seen_ns: flow.last_seen_ns,
        });
        let port = has_ports(flow.protocol).then(|| flow.server.port());
        let key = (flow.client.ip(), flow.server.ip(), flow.protocol, port);
        let answered = server_answered(flow);
        if let Some(shared) = self.inv.detector.as_ref() {
            let mut detector = crate::detect::lock(shared);
            detector.on_flow(&crate::detect::FlowInput {
                frame: self.current.frame,
                client: flow.client,
                server: flow.server,
                transport: flow.protocol,
                has_ports: has_ports(flow.protocol),
                protocol,
                first_seen: flow.first_seen_ns,
                last_seen: flow.last_seen_ns,
                packets: flow.packets,
                payload_bytes: flow.payload_bytes,
                answered,
                server_is_group: state.server_is_group,
            });
            note_new_alerts(&mut detector, &mut self.inv.pending_captures);
        }
        if let Some(records) = self.inv.flow_records.as_mut() {
            records.push(FlowRecord {
                info: flow.clone(),
                reason,
                extra_fragment_frames: state.extra_fragment_frames,
            });
        }
        let inv = &mut *self.inv;
        let room = inv.connections.len() < MAX_ENTRIES;
        let index = match inv.connection_index.entry(key) {
            std::collections::hash_map::Entry::Occupied(e) => *e.get() as usize,
            std::collections::hash_map::Entry::Vacant(e) if room => {
                let index = inv.connections.len();
                e.insert(index as u32);
                inv.connections.push(ConnectionEntry {
                    key,
                    acc: ConnectionAcc {
                        client_mac: state.src_mac[client],
                        protocol,
                        packets: 0,
                        bytes: 0,
                        flows: 0,
                        first_seen: flow.first_seen_ns,
                        last_seen: flow.last_seen_ns,
                        answered: false,
                    },
                    client: None,
                    server: None,
                });
                index
            }
            std::collections::hash_map::Entry::Vacant(_) => {
                inv.connections_dropped += 1;
                return;
            }
        };
        let acc = &mut inv.connections[index].acc;
        acc.packets += flow.packets[0]
            + flow.packets[1]
            + state.extra_fragment_frames[0]
            + state.extra_fragment_frames[1];
        acc.bytes += flow.bytes[0] + flow.bytes[1];
        acc.flows += 1;
        acc.first_seen = acc.first_seen.min(flow.first_seen_ns);
        acc.last_seen = acc.last_seen.max(flow.last_seen_ns);
        acc.answered |= answered;
        if acc.protocol.is_none() {
            acc.protocol = protocol;
        }
    }
}

fn has_ports(protocol: u8) -> bool {
    matches!(
        protocol,
        ip_proto::TCP | ip_proto::UDP | 132 /* SCTP */ | 33 /* DCCP */
    )
}

/// Whether the server side really offers the service: it answered (TCP: SYN+ACK or data back;
/// UDP: any datagram back). A scan of closed ports must not invent services.
/// The flow seen the other way round (its dissector showed the first sender to be the server).
fn swapped(flow: &FlowInfo, state: &mut FlowState) -> FlowInfo {
    let mut other = flow.clone();
    std::mem::swap(&mut other.client, &mut other.server);
    other.packets.swap(0, 1);
    other.bytes.swap(0, 1);
    other.payload_bytes.swap(0, 1);
    other.gaps.swap(0, 1);
    state.src_mac.swap(0, 1);
    state.extra_fragment_frames.swap(0, 1);
    // The new client's first destination is not known; a server's replies go to a host.
    state.client_dst_mac = state.src_mac[Direction::ServerToClient.index()];
    state.server_is_group = false;
    other
}

fn server_answered(flow: &FlowInfo) -> bool {
    let back = flow.packets[Direction::ServerToClient.index()] > 0;
    match flow.tcp_state {
        Some(TcpState::SynSent) => false,
        Some(TcpState::Reset) => back && flow.payload_bytes[Direction::ServerToClient.index()] > 0,
        _ => back,
    }
}

fn transport_name(protocol: u8) -> String {
    match protocol {
        ip_proto::TCP => "tcp".to_owned(),
        ip_proto::UDP => "udp".to_owned(),
        ip_proto::ICMP => "icmp".to_owned(),
        ip_proto::ICMPV6 => "icmpv6".to_owned(),
        other => format!("ip-{other}"),
    }
}

/// Frame counters kept without allocation on the hot path.
#[derive(Debug, Default)]
struct Counters {
    packets: u64,
    bytes: u64,
    truncated: u64,
    unsupported_linktype: u64,
    by_linktype: BTreeMap<u32, u64>,
    decode_errors: BTreeMap<DecodeError, u64>,
    capture_warnings: u64,
    inputs: u64,
}

/// The analysis engine; see the module documentation.
pub struct Engine {
    flows: FlowTable<FlowState>,
    defrag: Defragmenter,
    registry: DissectorRegistry,
    inv: Inventory,
    counters: Counters,
    /// Last link type seen and its counter, to avoid a map lookup per frame.
    linktype_cache: (u32, u64),
    next_expiry_ns: i64,
    latest_ns: i64,
    /// The last frames, for the pcap of each new alert (with a detector only).
    ring: Option<crate::packet_ring::PacketRing>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("packets", &self.counters.packets)
            .field("flows", &self.flows.len())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine without dissectors.
    pub fn new(config: EngineConfig) -> Self {
        Self::with_dissectors(config, DissectorRegistry::new())
    }

    /// An engine that dissects flows with the given registry.
    pub fn with_dissectors(config: EngineConfig, registry: DissectorRegistry) -> Self {
        if let Err(error) = ironward_intel::builtin_rules() {
            tracing::warn!("device classification disabled: {error}");
        }
        let ring = config
            .detector
            .as_ref()
            .and_then(|_| crate::packet_ring::PacketRing::new(config.packet_ring));
        Self {
            flows: FlowTable::new(config.flows),
            defrag: Defragmenter::new(config.defrag),
            registry,
            inv: Inventory {
                flow_records: config.keep_flow_records.then(Vec::new),
                fact_log: config.keep_fact_log.then(Vec::new),
                observations: {
                    let mut observations = Observations::default();
                    if config.keep_fact_log {
                        observations.keep_event_log();
                    }
                    if config.detector.is_some() {
                        observations.watch_occurrences();
                    }
                    observations
                },
                detector: config.detector.clone(),
                pending_captures: ring.as_ref().map(|_| Vec::new()),
                ..Inventory::default()
            },
            counters: Counters::default(),
            linktype_cache: (u32::MAX, 0),
            next_expiry_ns: i64::MIN,
            latest_ns: i64::MIN,
            ring,
        }
    }

    /// Whether finished alert captures wait to be taken with [`Engine::take_alert_captures`]
    /// (a field read: cheap enough to ask after every frame).
    pub fn has_alert_captures(&self) -> bool {
        self.ring
            .as_ref()
            .is_some_and(crate::packet_ring::PacketRing::has_finished)
    }

    /// The alert captures finished so far. A caller that takes them as they come (e.g.
    /// `analyze --pcap-dir`, after every frame that finished one) is not limited by the
    /// [`RingConfig::max_finished`](crate::packet_ring::RingConfig::max_finished) captures the
    /// ring holds; the rest reach the report sink at the end.
    pub fn take_alert_captures(&mut self) -> Vec<ironward_model::AlertCapture> {
        self.ring
            .as_mut()
            .map(crate::packet_ring::PacketRing::take_finished)
            .unwrap_or_default()
    }

    /// What the packet ring did (`None` without one).
    pub fn packet_ring_stats(&self) -> Option<crate::packet_ring::RingStats> {
        self.ring
            .as_ref()
            .map(crate::packet_ring::PacketRing::stats)
    }

    /// Starts the captures of the alerts raised while the current frame was processed (it is
    /// already in the ring).
    fn start_captures(&mut self) {
        if let (Some(ring), Some(pending)) =
            (self.ring.as_mut(), self.inv.pending_captures.as_mut())
        {
            for alert in pending.drain(..) {
                ring.start(alert);
            }
        }
    }

    /// Counts one more input (file or interface) in the statistics.
    pub fn add_input(&mut self) {
        self.counters.inputs += 1;
    }

    /// Counts a warning about a damaged capture.
    pub fn add_capture_warning(&mut self) {
        self.counters.capture_warnings += 1;
    }

    /// Frames processed so far.
    pub fn packets(&self) -> u64 {
        self.counters.packets
    }

    fn count_linktype(&mut self, linktype: LinkType) {
        if self.linktype_cache.0 == linktype.0 {
            self.linktype_cache.1 += 1;
            return;
        }
        self.flush_linktype_cache();
        self.linktype_cache = (linktype.0, 1);
    }

    fn flush_linktype_cache(&mut self) {
        let (linktype, count) = self.linktype_cache;
        if count > 0 {
            *self.counters.by_linktype.entry(linktype).or_default() += count;
        }
        self.linktype_cache = (u32::MAX, 0);
    }

    /// Processes one frame.
    pub fn process(&mut self, frame: &Frame<'_>) {
        let c = &mut self.counters;
        c.packets += 1;
        c.bytes += u64::from(frame.original_len);
        if (frame.data.len() as u64) < u64::from(frame.original_len) {
            c.truncated += 1;
        }
        self.count_linktype(frame.linktype);
        let ts = frame.timestamp_ns;
        if self.counters.packets == 1 {
            if let Some(shared) = &self.inv.detector {
                crate::detect::lock(shared).start(ts);
            }
        }
        if ts > self.latest_ns {
            self.latest_ns = ts;
        }
        if ts >= self.next_expiry_ns {
            self.expire(ts);
        }
        if !frame.linktype.is_supported() {
            self.counters.unsupported_linktype += 1;
            return;
        }
        let mut packet = Packet::empty();
        decode_into(frame.linktype, frame.data, &mut packet);
        if let Some(error) = packet.error {
            *self.counters.decode_errors.entry(error).or_default() += 1;
        }
        if let Some(ring) = self.ring.as_mut() {
            ring.push(frame, crate::packet_ring::frame_addresses(&packet));
        }
        self.dispatch(&packet, frame.original_len, ts);
        self.start_captures();
    }

    fn expire(&mut self, now: i64) {
        self.next_expiry_ns = now.saturating_add(EXPIRY_INTERVAL_NS);
        let mut sink = Sink {
            inv: &mut self.inv,
            registry: &self.registry,
            current: CurrentFrame {
                frame: self.counters.packets,
                ..CurrentFrame::default()
            },
        };
        self.flows.expire(now, &mut sink);
        self.defrag.expire(now);
    }

    fn dispatch(&mut self, packet: &Packet<'_>, wire_len: u32, ts: i64) {
        let link = &packet.link;
        let current = CurrentFrame {
            link_src: link.src_mac,
            link_dst: link.dst_mac,
            fragment_frames: 0,
            frame: self.counters.packets,
        };
        // The summaries are matched by reference: copying the network layer (and the link
        // layer above) out of the packet showed as a tenth of the per-frame instructions.
        match &packet.network {
            Network::Arp(arp) => {
                self.inv.observer.arp(
                    arp.operation,
                    arp.sender_mac,
                    arp.sender_ip,
                    arp.target_mac,
                    arp.target_ip,
                    ts,
                );
                if let Some(shared) = &self.inv.detector {
                    let mut detector = crate::detect::lock(shared);
                    detector.on_arp(&crate::detect::ArpInput {
                        frame: current.frame,
                        time: ts,
                        operation: arp.operation,
                        sender_mac: MacAddress(arp.sender_mac.0),
                        sender_ip: arp.sender_ip,
                        target_ip: arp.target_ip,
                    });
                    note_new_alerts(&mut detector, &mut self.inv.pending_captures);
                }
                if let Some(mac) = current.src_mac() {
                    if mac != arp.sender_mac {
                        self.inv.observer.saw_mac(mac, ts);
                    }
                }
            }
            Network::Ipv4(ip) => {
                if matches!(packet.transport, Transport::Fragment) {
                    let input = FlowInput {
                        vlans: link.vlans,
                        src: IpAddr::V4(ip.src),
                        dst: IpAddr::V4(ip.dst),
                        ts,
                    };
                    let whole = self.defrag.push_v4(ts, ip, link.vlans, wire_len);
                    Self::account_datagram(
                        &mut self.flows,
                        &self.registry,
                        &mut self.inv,
                        current,
                        input,
                        whole,
                    );
                    return;
                }
                let meta = packet_meta(
                    ts,
                    wire_len,
                    link.vlans,
                    IpAddr::V4(ip.src),
                    IpAddr::V4(ip.dst),
                    ip.protocol,
                    &packet.transport,
                );
                Self::account(
                    &mut self.flows,
                    Sink {
                        inv: &mut self.inv,
                        registry: &self.registry,
                        current,
                    },
                    &meta,
                );
            }
            Network::Ipv6(ip) => {
                let (src, dst) = (IpAddr::V6(ip.src), IpAddr::V6(ip.dst));
                if matches!(packet.transport, Transport::Fragment) {
                    let input = FlowInput {
                        vlans: link.vlans,
                        src,
                        dst,
                        ts,
                    };
                    let Some(frag) = ip.fragment else { return };
                    let whole = self.defrag.push_v6(
                        ts,
                        ip.src,
                        ip.dst,
                        ip.next_header,
                        &frag,
                        ip.payload,
                        link.vlans,
                        wire_len,
                    );
                    Self::account_datagram(
                        &mut self.flows,
                        &self.registry,
                        &mut self.inv,
                        current,
                        input,
                        whole,
                    );
                    return;
                }
                if let Transport::Icmpv6 { icmp_type, nd, .. } = packet.transport {
                    self.neighbor_discovery(icmp_type, nd, current.src_mac(), src, ts);
                }
                let meta = packet_meta(
                    ts,
                    wire_len,
                    link.vlans,
                    src,
                    dst,
                    ip.next_header,
                    &packet.transport,
                );
                Self::account(
                    &mut self.flows,
                    Sink {
                        inv: &mut self.inv,
                        registry: &self.registry,
                        current,
                    },
                    &meta,
                );
            }
            &Network::Other { ethertype, payload } => {
                if let Some(mac) = current.src_mac() {
                    self.inv.observer.saw_mac(mac, ts);
                    let frame = LinkFrame {
                        src_mac: MacAddress(mac.0),
                        // Layer-2 protocols address groups (DCP Identify, GOOSE, SV).
                        dst_mac: MacAddress(link.dst_mac.unwrap_or(MacAddr::ZERO).0),
                        vlan: link.vlans.outer,
                        ethertype,
                        snap_oui: link.llc.and_then(|llc| llc.snap).map(|snap| snap.oui),
                        payload,
                        now: Timestamp(ts),
                        frame: current.frame,
                    };
                    if let Some(protocol) =
                        self.registry.on_frame(&frame, &mut self.inv.observations)
                    {
                        self.inv.observer.saw_frame_protocol(mac, protocol);
                        self.inv.collect(current.frame);
                    }
                }
            }
            Network::None => {
                if let Some(mac) = current.src_mac() {
                    self.inv.observer.saw_mac(mac, ts);
                }
            }
        }
    }

    fn neighbor_discovery(
        &mut self,
        icmp_type: u8,
        nd: Option<ironward_wire::NeighborDiscovery>,
        src_mac: Option<MacAddr>,
        src: IpAddr,
        ts: i64,
    ) {
        const ROUTER_ADVERTISEMENT: u8 = 134;
        const NEIGHBOR_SOLICITATION: u8 = 135;
        const NEIGHBOR_ADVERTISEMENT: u8 = 136;
        match (icmp_type, nd) {
            (ROUTER_ADVERTISEMENT, _) => {
                if let Some(mac) = src_mac {
                    self.inv.observer.router_advertisement(mac, ts);
                }
            }
            (NEIGHBOR_SOLICITATION, Some(nd)) => {
                if let Some(mac) = nd.source_link_addr {
                    self.inv.observer.ndp(mac, src, false, ts);
                }
            }
            (NEIGHBOR_ADVERTISEMENT, Some(nd)) => {
                if let Some(mac) = nd.target_link_addr.or(src_mac) {
                    self.inv
                        .observer
                        .ndp(mac, IpAddr::V6(nd.target), nd.router, ts);
                }
            }
            _ => {}
        }
    }

    /// Accounts a datagram the defragmenter completed (if this fragment completed one): the
    /// flow sees it once, with the wire bytes of all its fragments, and its other fragment
    /// frames are counted beside.
    fn account_datagram(
        flows: &mut FlowTable<FlowState>,
        registry: &DissectorRegistry,
        inv: &mut Inventory,
        current: CurrentFrame,
        input: FlowInput,
        whole: Option<Reassembled<'_>>,
    ) {
        let Some(whole) = whole else { return };
        let transport = decode_transport(whole.protocol, input.src, input.dst, whole.payload)
            .unwrap_or(Transport::None);
        let current = CurrentFrame {
            fragment_frames: u64::from(whole.fragments),
            ..current
        };
        let meta = PacketMeta {
            wire_len: u32::try_from(whole.total_wire_len).unwrap_or(u32::MAX),
            ..packet_meta(
                input.ts,
                0,
                input.vlans,
                input.src,
                input.dst,
                whole.protocol,
                &transport,
            )
        };
        Self::account(
            flows,
            Sink {
                inv,
                registry,
                current,
            },
            &meta,
        );
    }

    fn account(flows: &mut FlowTable<FlowState>, mut sink: Sink<'_>, meta: &PacketMeta<'_>) {
        flows.process(
            meta,
            |_| FlowState {
                dissector: if sink.registry.is_empty() {
                    DissectorSlot::Nothing
                } else {
                    DissectorSlot::Undecided
                },
                src_mac: [None, None],
                client_dst_mac: None,
                server_is_group: false,
                extra_fragment_frames: [0, 0],
            },
            &mut sink,
        );
    }
}

/// What the flow table is told about a frame or a reassembled datagram. Built where the frame
/// is taken apart, field by field: passing the addresses through an intermediate struct cost a
/// copy, and a stall reading back as one 16-byte word an address just written in pieces.
#[inline(always)]
fn packet_meta<'p>(
    ts: i64,
    wire_len: u32,
    vlans: Vlans,
    src: IpAddr,
    dst: IpAddr,
    protocol: u8,
    transport: &'p Transport<'p>,
) -> PacketMeta<'p> {
    let (src_port, dst_port, tcp, payload): (u16, u16, Option<&TcpSummary>, &[u8]) = match transport
    {
        Transport::Tcp(tcp, payload) => (tcp.src_port, tcp.dst_port, Some(tcp), payload),
        Transport::Udp {
            src_port,
            dst_port,
            payload,
        } => (*src_port, *dst_port, None, payload),
        Transport::Icmpv4 { body, .. } | Transport::Icmpv6 { body, .. } => (0, 0, None, body),
        Transport::Other { payload, .. } => (0, 0, None, payload),
        Transport::None | Transport::Fragment => (0, 0, None, &[]),
    };
    PacketMeta {
        timestamp_ns: ts,
        wire_len,
        vlans,
        src,
        dst,
        protocol,
        src_port,
        dst_port,
        tcp,
        payload,
    }
}

/// What a fragment tells about the datagram it belongs to, for when the datagram is complete.
struct FlowInput {
    vlans: Vlans,
    src: IpAddr,
    dst: IpAddr,
    ts: i64,
}
