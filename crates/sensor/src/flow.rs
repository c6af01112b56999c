/*!
The flow table: bidirectional flows keyed by VLAN tags + protocol + the two (address, port)
endpoints, with per-flow user state, idle timeouts, a hard memory bound and TCP reassembly.

# Key and hash

A flow key holds both VLAN ids, the IP protocol and the two endpoints sorted, so both directions
of a conversation map to the same key. The table's map uses a keyed folded-multiply hash seeded
from [`std::hash::RandomState`] at construction, so an attacker cannot precompute colliding
flows; [`flow_hash`] is the same construction with a fixed seed, stable across tables and
threads, for sharding packets to workers.

# Policies

- **Orientation** (fixed when the flow is created, never changed; see [`Orientation`]):
  a SYN without ACK → its sender is the client; a SYN+ACK → its sender is the server
  ([`Orientation::Handshake`]); otherwise, if either port is a *service port* (below 1024 or in
  a short list of OT/IoT service ports: [`crate::services::is_well_known_server_port`]), the endpoint with the lower service
  port is the server ([`Orientation::WellKnownPort`]); otherwise the sender of the first packet is
  the client ([`Orientation::FirstPacket`]).
- **Port reuse.** A SYN without ACK on an existing TCP flow starts a **new flow** (new id; the old
  one ends with [`EndReason::Closed`] first, its buffered data delivered) when its sequence number
  is not the ISN of a SYN already seen from that endpoint (a new connection: after a close, after
  a close we missed, or from the other side). A SYN that repeats the recorded ISN is a
  retransmission of the same attempt and stays in the flow, also after a RST (a client retrying a
  refused port), as in tshark.
- **TCP state** ([`TcpState`]) follows the packets seen, not a full RFC 793 machine: SYN → SynSent,
  SYN+ACK → SynReceived, ACK/data after that → Established; a flow picked up without handshake is
  `MidStream`; any FIN → Closing, FINs from both sides → Closed; RST → Reset (both streams are
  flushed and ended at once).
- **Timeouts.** Flows sit in one of four LRU lists by timeout class (TCP open, TCP closed/reset,
  UDP, other protocols), each with one timeout, so [`FlowTable::expire`] only looks at list heads:
  O(1) when nothing expires. Closed/Reset TCP flows linger `tcp_closed_linger_ns` to absorb the
  final ACKs and retransmissions, then end with [`EndReason::Closed`]; others end with
  [`EndReason::Idle`]. Timestamps that go backwards never move `last_seen_ns` back; a flow touched
  with an old timestamp still moves to the list tail, which can delay (never hasten) expiry of the
  flows behind it.
- **Eviction.** At `max_flows`, creating a flow first evicts the head of the closed-TCP list if
  any (cheapest to lose), else the least recently seen flow among the list heads (global LRU),
  ending it with [`EndReason::Evicted`] after delivering its buffered data.
- **Gaps.** `FlowStats::streams_with_gaps` counts TCP *flows* in which at least one direction
  had a gap, once per flow; `FlowInfo::gaps` has the missing bytes per direction.

The per-packet path does not allocate except when a flow is created or an out-of-order TCP
segment must be buffered.
*/

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};
use std::net::{IpAddr, SocketAddr};

use ironward_wire::{TcpSummary, Vlans};

use crate::reassembly::{ReassemblyBudget, StreamReassembler};
pub use crate::reassembly::{ReassemblyConfig, StreamChunk};
use crate::services::is_well_known_server_port;

const TCP: u8 = 6;
const UDP: u8 = 17;
const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const ACK: u8 = 0x10;

/// Limits and timeouts of the flow table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowConfig {
    /// Maximum number of flows held at once; the least recently seen is evicted beyond it.
    pub max_flows: usize,
    /// Idle timeout of open TCP flows.
    pub tcp_idle_ns: i64,
    /// How long a Closed or Reset TCP flow is kept after its last packet.
    pub tcp_closed_linger_ns: i64,
    /// Idle timeout of UDP flows.
    pub udp_idle_ns: i64,
    /// Idle timeout of other protocols (ICMP, ...).
    pub other_idle_ns: i64,
    /// TCP reassembly limits.
    pub reassembly: ReassemblyConfig,
}

const SECOND: i64 = 1_000_000_000;

impl Default for FlowConfig {
    /// 262 144 flows; TCP idle 5 min, closed linger 10 s, UDP 2 min, other 1 min.
    fn default() -> Self {
        FlowConfig {
            max_flows: 1 << 18,
            tcp_idle_ns: 300 * SECOND,
            tcp_closed_linger_ns: 10 * SECOND,
            udp_idle_ns: 120 * SECOND,
            other_idle_ns: 60 * SECOND,
            reassembly: ReassemblyConfig::default(),
        }
    }
}

/// What the flow table needs to know about one packet (after decoding and defragmentation).
#[derive(Debug, Clone, Copy)]
pub struct PacketMeta<'a> {
    /// Capture time, nanoseconds since the Unix epoch.
    pub timestamp_ns: i64,
    /// Frame length on the wire (counted in [`FlowInfo::bytes`]).
    pub wire_len: u32,
    /// VLAN tags (part of the flow key).
    pub vlans: Vlans,
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// IP protocol number.
    pub protocol: u8,
    /// Source port (0 for protocols without ports).
    pub src_port: u16,
    /// Destination port (0 for protocols without ports).
    pub dst_port: u16,
    /// The TCP header, for TCP packets. A TCP packet without it only updates counters.
    pub tcp: Option<&'a TcpSummary>,
    /// The transport payload.
    pub payload: &'a [u8],
}

pub use ironward_proto::Direction;

/// The TCP connection state as observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TcpState {
    /// The client's SYN was seen.
    SynSent,
    /// The server's SYN+ACK was seen.
    SynReceived,
    /// The handshake completed (or data flowed after a partial handshake).
    Established,
    /// Picked up without a handshake; data flows.
    MidStream,
    /// A FIN was seen from one side.
    Closing,
    /// FINs were seen from both sides.
    Closed,
    /// A RST was seen.
    Reset,
}

impl TcpState {
    fn is_over(self) -> bool {
        matches!(self, TcpState::Closed | TcpState::Reset)
    }
}

/// How the client and the server of a flow were told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Orientation {
    /// From a SYN (sender is the client) or SYN+ACK (sender is the server).
    Handshake,
    /// The endpoint with the (lower) service port is the server.
    WellKnownPort,
    /// The sender of the first packet seen is the client.
    FirstPacket,
}

/// Why a flow ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndReason {
    /// No packet for the idle timeout of its class.
    Idle,
    /// Removed to make room at `max_flows`.
    Evicted,
    /// The TCP connection closed or was reset (after lingering), or a new SYN reused its ports.
    Closed,
    /// End of input ([`FlowTable::flush`]).
    Flushed,
}

/// What is known about a flow; passed to every handler call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowInfo {
    /// Unique id, increasing in creation order.
    pub id: u64,
    /// VLAN tags.
    pub vlans: Vlans,
    /// IP protocol number.
    pub protocol: u8,
    /// Client endpoint.
    pub client: SocketAddr,
    /// Server endpoint.
    pub server: SocketAddr,
    /// Time of the first packet.
    pub first_seen_ns: i64,
    /// Time of the latest packet (never decreases).
    pub last_seen_ns: i64,
    /// Packets per [`Direction`] index.
    pub packets: [u64; 2],
    /// Wire bytes per [`Direction`] index.
    pub bytes: [u64; 2],
    /// Transport payload bytes per [`Direction`] index (as captured, retransmissions included).
    pub payload_bytes: [u64; 2],
    /// TCP state, `None` for other protocols.
    pub tcp_state: Option<TcpState>,
    /// How client and server were decided.
    pub orientation: Orientation,
    /// TCP bytes reported missing per [`Direction`] index.
    pub gaps: [u64; 2],
}

/// Receives what the flow table sees; `U` is the per-flow user state.
pub trait FlowHandler<U> {
    /// A UDP datagram or a packet of another non-TCP protocol.
    fn on_datagram(&mut self, flow: &FlowInfo, state: &mut U, dir: Direction, payload: &[u8]);
    /// The next piece of a TCP stream, in order.
    fn on_stream(&mut self, flow: &FlowInfo, state: &mut U, dir: Direction, chunk: StreamChunk<'_>);
    /// The flow ended; its state is handed back.
    fn on_flow_end(&mut self, flow: &FlowInfo, state: U, reason: EndReason);
    /// Every packet of the flow, after its counters were updated and before its payload is
    /// delivered (the engine records link-layer facts here).
    fn on_packet(&mut self, flow: &FlowInfo, state: &mut U, dir: Direction) {
        let _ = (flow, state, dir);
    }
}

/// Counters of a flow table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlowStats {
    /// Flows created.
    pub flows_created: u64,
    /// Flows evicted at `max_flows`.
    pub flows_evicted: u64,
    /// Flows ended by an idle timeout.
    pub flows_expired: u64,
    /// Flows ended because the TCP connection closed (linger expiry or port reuse).
    pub flows_closed: u64,
    /// Flows ended by [`FlowTable::flush`].
    pub flows_flushed: u64,
    /// Flows currently held.
    pub active: u64,
    /// New flows started by a SYN on an existing flow (port reuse).
    pub port_reuses: u64,
    /// TCP flows with a gap in at least one direction (counted once per flow).
    pub streams_with_gaps: u64,
    /// Total bytes reported as gaps.
    pub gap_bytes: u64,
    /// Out-of-order bytes currently buffered by all streams.
    pub reassembly_bytes_buffered: u64,
    /// Out-of-order segments dropped because the total reassembly budget was exhausted.
    pub reassembly_overflows: u64,
    /// Packets processed.
    pub packets: u64,
}

// ---------------------------------------------------------------------------------------------
// Key and hashing.

/// The symmetric key of a flow, packed into integers: both directions of a conversation give
/// the same key, and comparing or hashing it needs no enum matching or copying of addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FlowKey {
    /// Address bits of the lower endpoint (see [`ip_bits`]).
    lo: u128,
    /// Address bits of the higher endpoint.
    hi: u128,
    /// Lower endpoint's port, higher endpoint's port, outer and inner VLAN (0xffff: none), 16
    /// bits each.
    ports_vlans: u64,
    /// IP protocol, and bit 8 set for IPv6 (so no IPv6 address can alias an IPv4 one).
    protocol: u16,
}

impl FlowKey {
    #[inline]
    fn of(pkt: &PacketMeta<'_>) -> FlowKey {
        let a = (ip_bits(pkt.src), pkt.src_port);
        let b = (ip_bits(pkt.dst), pkt.dst_port);
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let vlan = |v: Option<u16>| u64::from(v.unwrap_or(0xffff));
        FlowKey {
            lo: lo.0,
            hi: hi.0,
            ports_vlans: u64::from(lo.1)
                | u64::from(hi.1) << 16
                | vlan(pkt.vlans.outer) << 32
                | vlan(pkt.vlans.inner) << 48,
            protocol: u16::from(pkt.protocol) | u16::from(pkt.src.is_ipv6()) << 8,
        }
    }
}

#[inline]
fn ip_bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

impl Hash for FlowKey {
    #[inline]
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u64(self.lo as u64);
        h.write_u64((self.lo >> 64) as u64);
        h.write_u64(self.hi as u64);
        h.write_u64((self.hi >> 64) as u64);
        h.write_u64(self.ports_vlans);
        h.write_u64(u64::from(self.protocol));
    }
}

fn folded_mul(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

/// A keyed folded-multiply hasher (the construction of foldhash/ahash, reduced to what flow keys
/// and the observer's address keys need).
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyedHasher {
    acc: u64,
    key: u64,
}

impl Hasher for KeyedHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        self.write_u64(u64::from_le_bytes(w) ^ (rest.len() as u64) << 59);
    }

    #[inline]
    fn write_u64(&mut self, w: u64) {
        self.acc = folded_mul(self.acc ^ w, self.key);
    }

    // Small integers (enum discriminants, length prefixes, address octets) are one word each,
    // not a byte slice with a tail to pad.
    #[inline]
    fn write_u8(&mut self, w: u8) {
        self.write_u64(u64::from(w));
    }

    #[inline]
    fn write_u16(&mut self, w: u16) {
        self.write_u64(u64::from(w));
    }

    #[inline]
    fn write_u32(&mut self, w: u32) {
        self.write_u64(u64::from(w));
    }

    #[inline]
    fn write_usize(&mut self, w: usize) {
        self.write_u64(w as u64);
    }

    fn finish(&self) -> u64 {
        folded_mul(self.acc, self.key ^ 0x2d35_8dcc_aa6c_78a5)
    }
}

/// The seed and key of [`KeyedHasher`]: random per map (the default), so that colliding keys
/// cannot be precomputed, and far cheaper per lookup than the standard library's SipHash.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyedState {
    seed: u64,
    key: u64,
}

impl Default for KeyedState {
    fn default() -> Self {
        KeyedState::random()
    }
}

impl KeyedState {
    pub(crate) fn random() -> KeyedState {
        let s = std::hash::RandomState::new();
        KeyedState {
            seed: s.hash_one(0x243f_6a88_85a3_08d3u64),
            // Odd and with high bits set, so the multiply mixes well.
            key: s.hash_one(0x1319_8a2e_0370_7344u64) | (1 << 63) | 1,
        }
    }

    const FIXED: KeyedState = KeyedState {
        seed: 0x243f_6a88_85a3_08d3,
        key: 0x9e37_79b9_7f4a_7c15,
    };
}

impl BuildHasher for KeyedState {
    type Hasher = KeyedHasher;
    #[inline]
    fn build_hasher(&self) -> KeyedHasher {
        KeyedHasher {
            acc: self.seed,
            key: self.key,
        }
    }
}

/// A symmetric hash of the flow key of `pkt` (both directions give the same value), stable across
/// processes; use it to shard packets to worker threads.
pub fn flow_hash(pkt: &PacketMeta<'_>) -> u64 {
    KeyedState::FIXED.hash_one(FlowKey::of(pkt))
}

// ---------------------------------------------------------------------------------------------
// Table.

const NIL: u32 = u32::MAX;
/// Timeout classes, one LRU list each.
const CLASS_TCP: usize = 0;
const CLASS_TCP_CLOSED: usize = 1;
const CLASS_UDP: usize = 2;
const CLASS_OTHER: usize = 3;

#[derive(Debug)]
struct TcpConn {
    streams: [StreamReassembler; 2],
    gap_counted: bool,
}

#[derive(Debug)]
struct Entry<U> {
    key: FlowKey,
    info: FlowInfo,
    user: U,
    tcp: Option<Box<TcpConn>>,
    prev: u32,
    next: u32,
    class: usize,
}

#[derive(Debug, Clone, Copy)]
struct List {
    head: u32,
    tail: u32,
}

/// The flow table. See the module docs for its policies.
#[derive(Debug)]
pub struct FlowTable<U> {
    cfg: FlowConfig,
    map: HashMap<FlowKey, u32, KeyedState>,
    slots: Vec<Option<Entry<U>>>,
    free: Vec<u32>,
    lists: [List; 4],
    budget: ReassemblyBudget,
    /// Slot of the flow of the previous packet (checked against the key before use: the slot
    /// may have been freed and reused since).
    last: u32,
    next_id: u64,
    stats: FlowStats,
}

impl<U> FlowTable<U> {
    /// An empty table. Nothing is preallocated; memory grows with the flows up to `max_flows`.
    pub fn new(cfg: FlowConfig) -> Self {
        let max = cfg.max_flows.clamp(1, NIL as usize - 1);
        FlowTable {
            cfg: FlowConfig {
                max_flows: max,
                ..cfg
            },
            map: HashMap::with_hasher(KeyedState::random()),
            slots: Vec::new(),
            free: Vec::new(),
            lists: [List {
                head: NIL,
                tail: NIL,
            }; 4],
            budget: ReassemblyBudget::new(cfg.reassembly.max_buffered_total),
            last: NIL,
            next_id: 1,
            stats: FlowStats::default(),
        }
    }

    /// The configuration in force (`max_flows` clamped to at least 1).
    pub fn config(&self) -> &FlowConfig {
        &self.cfg
    }

    /// Number of flows currently held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether no flow is held.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Counters.
    pub fn stats(&self) -> FlowStats {
        FlowStats {
            active: self.map.len() as u64,
            reassembly_bytes_buffered: self.budget.used() as u64,
            reassembly_overflows: self.budget.overflows(),
            ..self.stats
        }
    }

    /// Finds or creates the flow of this packet, updates counters/state, runs TCP reassembly and
    /// calls the handler. `new_state` makes the per-flow user state when a flow is created.
    /// Returns the flow id and the packet's direction.
    pub fn process(
        &mut self,
        pkt: &PacketMeta<'_>,
        new_state: impl FnOnce(&FlowInfo) -> U,
        handler: &mut impl FlowHandler<U>,
    ) -> (u64, Direction) {
        self.stats.packets += 1;
        let key = FlowKey::of(pkt);
        let tcp = if pkt.protocol == TCP { pkt.tcp } else { None };
        let syn_only = tcp.is_some_and(|t| t.flags & (SYN | ACK) == SYN);
        // Packets of one flow often come in runs: try the last flow before hashing the key.
        let found = match self.entry(self.last) {
            Some(e) if e.key == key => Some(self.last),
            _ => self.map.get(&key).copied(),
        };
        let idx = match found {
            Some(idx) if syn_only && self.port_reused(idx, pkt) => {
                self.stats.port_reuses += 1;
                self.end_flow(idx, EndReason::Closed, handler);
                self.create(key, pkt, new_state)
            }
            Some(idx) => idx,
            None => {
                if self.map.len() >= self.cfg.max_flows {
                    self.evict_one(handler);
                }
                self.create(key, pkt, new_state)
            }
        };
        self.last = idx;
        self.update(idx, pkt, handler)
    }

    /// Ends flows idle for longer than their class timeout (call periodically with the current
    /// capture time). Cheap when nothing expires: only list heads are examined.
    pub fn expire(&mut self, now_ns: i64, handler: &mut impl FlowHandler<U>) {
        for class in 0..self.lists.len() {
            let (timeout, reason) = match class {
                CLASS_TCP => (self.cfg.tcp_idle_ns, EndReason::Idle),
                CLASS_TCP_CLOSED => (self.cfg.tcp_closed_linger_ns, EndReason::Closed),
                CLASS_UDP => (self.cfg.udp_idle_ns, EndReason::Idle),
                _ => (self.cfg.other_idle_ns, EndReason::Idle),
            };
            loop {
                let head = self.lists[class].head;
                let Some(e) = self.entry(head) else { break };
                if e.info.last_seen_ns.saturating_add(timeout) > now_ns {
                    break;
                }
                self.end_flow(head, reason, handler);
            }
        }
    }

    /// End of input: ends every flow with [`EndReason::Flushed`], delivering buffered stream data
    /// (with gaps for holes) first. Flows end in least-recently-seen order.
    pub fn flush(&mut self, handler: &mut impl FlowHandler<U>) {
        while let Some(idx) = self.lru_victim(false) {
            self.end_flow(idx, EndReason::Flushed, handler);
        }
    }

    // -- internals ------------------------------------------------------------------------------

    fn entry(&self, idx: u32) -> Option<&Entry<U>> {
        self.slots.get(idx as usize).and_then(|s| s.as_ref())
    }

    /// Whether a SYN without ACK on flow `idx` starts a new connection (module docs, "Port reuse").
    fn port_reused(&self, idx: u32, pkt: &PacketMeta<'_>) -> bool {
        let Some(e) = self.entry(idx) else {
            return false;
        };
        let (Some(state), Some(conn), Some(t)) = (e.info.tcp_state, e.tcp.as_ref(), pkt.tcp) else {
            return false;
        };
        let dir = direction(&e.info, pkt);
        let s = &conn.streams[dir.index()];
        // A SYN with the initial sequence number already seen is a retransmission of the same
        // connection attempt (also after a RST, as when a client retries a refused port), not
        // a new connection: it joins the flow, as in tshark. So does a SYN arriving after its
        // SYN+ACK (capture reordering).
        if state.is_over() {
            return s.isn() != Some(t.seq);
        }
        s.started() && s.isn() != Some(t.seq)
    }

    fn create(
        &mut self,
        key: FlowKey,
        pkt: &PacketMeta<'_>,
        new_state: impl FnOnce(&FlowInfo) -> U,
    ) -> u32 {
        let src = SocketAddr::new(pkt.src, pkt.src_port);
        let dst = SocketAddr::new(pkt.dst, pkt.dst_port);
        let tcp = if pkt.protocol == TCP { pkt.tcp } else { None };
        let flags = tcp.map_or(0, |t| t.flags);
        let (client, server, orientation) = if flags & SYN != 0 {
            if flags & ACK == 0 {
                (src, dst, Orientation::Handshake)
            } else {
                (dst, src, Orientation::Handshake)
            }
        } else {
            let s = is_well_known_server_port(pkt.protocol, pkt.src_port);
            let d = is_well_known_server_port(pkt.protocol, pkt.dst_port);
            match (s, d) {
                (true, true) if pkt.src_port < pkt.dst_port => {
                    (dst, src, Orientation::WellKnownPort)
                }
                (true, true) if pkt.dst_port < pkt.src_port => {
                    (src, dst, Orientation::WellKnownPort)
                }
                (true, false) => (dst, src, Orientation::WellKnownPort),
                (false, true) => (src, dst, Orientation::WellKnownPort),
                _ => (src, dst, Orientation::FirstPacket),
            }
        };
        let tcp_state = tcp.map(|_| {
            if flags & RST != 0 {
                TcpState::Reset
            } else if flags & (SYN | ACK) == SYN {
                TcpState::SynSent
            } else if flags & SYN != 0 {
                TcpState::SynReceived
            } else {
                TcpState::MidStream
            }
        });
        let info = FlowInfo {
            id: self.next_id,
            vlans: pkt.vlans,
            protocol: pkt.protocol,
            client,
            server,
            first_seen_ns: pkt.timestamp_ns,
            last_seen_ns: pkt.timestamp_ns,
            packets: [0; 2],
            bytes: [0; 2],
            payload_bytes: [0; 2],
            tcp_state,
            orientation,
            gaps: [0; 2],
        };
        self.next_id += 1;
        self.stats.flows_created += 1;
        let user = new_state(&info);
        let class = class_of(&info);
        let entry = Entry {
            key,
            info,
            user,
            tcp: tcp_state.map(|_| {
                Box::new(TcpConn {
                    streams: [StreamReassembler::new(), StreamReassembler::new()],
                    gap_counted: false,
                })
            }),
            prev: NIL,
            next: NIL,
            class,
        };
        let idx = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(entry);
                i
            }
            None => {
                self.slots.push(Some(entry));
                (self.slots.len() - 1) as u32
            }
        };
        self.map.insert(key, idx);
        self.link_tail(idx, class);
        idx
    }

    fn update(
        &mut self,
        idx: u32,
        pkt: &PacketMeta<'_>,
        handler: &mut impl FlowHandler<U>,
    ) -> (u64, Direction) {
        let Some(e) = self.slots.get_mut(idx as usize).and_then(|s| s.as_mut()) else {
            // Unreachable by construction; answer something harmless rather than panic.
            return (0, Direction::ClientToServer);
        };
        let dir = direction(&e.info, pkt);
        let d = dir.index();
        {
            let info = &mut e.info;
            info.last_seen_ns = info.last_seen_ns.max(pkt.timestamp_ns);
            info.packets[d] += 1;
            info.bytes[d] += u64::from(pkt.wire_len);
            info.payload_bytes[d] += pkt.payload.len() as u64;
        }
        handler.on_packet(&e.info, &mut e.user, dir);
        let info = &mut e.info;
        let old_class = e.class;
        match (pkt.protocol, pkt.tcp, e.tcp.as_mut()) {
            (TCP, Some(t), Some(conn)) => {
                info.tcp_state = info
                    .tcp_state
                    .map(|s| next_state(s, t.flags, dir, pkt.payload, conn));
                let cfg = &self.cfg.reassembly;
                let budget = &mut self.budget;
                let user = &mut e.user;
                let info = &e.info;
                let [c2s, s2c] = &mut conn.streams;
                let (own, peer) = if d == 0 { (c2s, s2c) } else { (s2c, c2s) };
                // The ACK first: it acknowledges data sent before this segment.
                if t.flags & ACK != 0 {
                    peer.ack(t.ack, budget, &mut |c| {
                        handler.on_stream(info, user, dir.reverse(), c)
                    });
                }
                let syn = t.flags & SYN != 0;
                let fin = t.flags & FIN != 0;
                own.segment(t.seq, syn, fin, pkt.payload, cfg, budget, &mut |c| {
                    handler.on_stream(info, user, dir, c)
                });
                if t.flags & RST != 0 {
                    own.reset(budget, &mut |c| handler.on_stream(info, user, dir, c));
                    peer.reset(budget, &mut |c| {
                        handler.on_stream(info, user, dir.reverse(), c)
                    });
                }
                let g = [conn.streams[0].gap_bytes(), conn.streams[1].gap_bytes()];
                let new_gap = (g[0] + g[1]).saturating_sub(e.info.gaps[0] + e.info.gaps[1]);
                if new_gap > 0 {
                    self.stats.gap_bytes += new_gap;
                    e.info.gaps = g;
                    if !conn.gap_counted {
                        conn.gap_counted = true;
                        self.stats.streams_with_gaps += 1;
                    }
                }
            }
            (TCP, _, _) => {}
            _ => handler.on_datagram(&e.info, &mut e.user, dir, pkt.payload),
        }
        let id = e.info.id;
        let class = class_of(&e.info);
        // Bursts of one flow are common; the most recent flow is already where it belongs, and
        // relinking would touch two other entries for nothing.
        if class != old_class || self.lists[class].tail != idx {
            self.unlink(idx, old_class);
            self.link_tail(idx, class);
        }
        (id, dir)
    }

    /// Picks the flow to evict: the closed-TCP head when `prefer_closed`, else the least recently
    /// seen list head.
    fn lru_victim(&self, prefer_closed: bool) -> Option<u32> {
        if prefer_closed && self.lists[CLASS_TCP_CLOSED].head != NIL {
            return Some(self.lists[CLASS_TCP_CLOSED].head);
        }
        self.lists
            .iter()
            .filter_map(|l| self.entry(l.head).map(|e| (e.info.last_seen_ns, l.head)))
            .min()
            .map(|(_, idx)| idx)
    }

    fn evict_one(&mut self, handler: &mut impl FlowHandler<U>) {
        if let Some(idx) = self.lru_victim(true) {
            self.end_flow(idx, EndReason::Evicted, handler);
        }
    }

    /// Removes flow `idx`: delivers its buffered stream data, then calls `on_flow_end`.
    fn end_flow(&mut self, idx: u32, reason: EndReason, handler: &mut impl FlowHandler<U>) {
        let Some(class) = self.entry(idx).map(|e| e.class) else {
            return;
        };
        self.unlink(idx, class);
        let Some(mut e) = self.slots.get_mut(idx as usize).and_then(Option::take) else {
            return;
        };
        self.map.remove(&e.key);
        self.free.push(idx);
        if let Some(conn) = e.tcp.as_mut() {
            let budget = &mut self.budget;
            let info = &e.info;
            let user = &mut e.user;
            for (d, s) in conn.streams.iter_mut().enumerate() {
                let dir = if d == 0 {
                    Direction::ClientToServer
                } else {
                    Direction::ServerToClient
                };
                s.finish(budget, &mut |c| handler.on_stream(info, user, dir, c));
                s.release(budget);
            }
            let g = [conn.streams[0].gap_bytes(), conn.streams[1].gap_bytes()];
            let new_gap = (g[0] + g[1]).saturating_sub(e.info.gaps[0] + e.info.gaps[1]);
            if new_gap > 0 {
                self.stats.gap_bytes += new_gap;
                e.info.gaps = g;
                if !conn.gap_counted {
                    conn.gap_counted = true;
                    self.stats.streams_with_gaps += 1;
                }
            }
        }
        match reason {
            EndReason::Idle => self.stats.flows_expired += 1,
            EndReason::Evicted => self.stats.flows_evicted += 1,
            EndReason::Closed => self.stats.flows_closed += 1,
            EndReason::Flushed => self.stats.flows_flushed += 1,
        }
        handler.on_flow_end(&e.info, e.user, reason);
    }

    fn link_tail(&mut self, idx: u32, class: usize) {
        let tail = self.lists[class].tail;
        if let Some(e) = self.slots.get_mut(idx as usize).and_then(|s| s.as_mut()) {
            e.prev = tail;
            e.next = NIL;
            e.class = class;
        }
        match self.slots.get_mut(tail as usize).and_then(|s| s.as_mut()) {
            Some(t) => t.next = idx,
            None => self.lists[class].head = idx,
        }
        self.lists[class].tail = idx;
    }

    fn unlink(&mut self, idx: u32, class: usize) {
        let Some((prev, next)) = self.entry(idx).map(|e| (e.prev, e.next)) else {
            return;
        };
        match self.slots.get_mut(prev as usize).and_then(|s| s.as_mut()) {
            Some(p) => p.next = next,
            None => self.lists[class].head = next,
        }
        match self.slots.get_mut(next as usize).and_then(|s| s.as_mut()) {
            Some(n) => n.prev = prev,
            None => self.lists[class].tail = prev,
        }
    }
}

fn direction(info: &FlowInfo, pkt: &PacketMeta<'_>) -> Direction {
    if info.client.ip() == pkt.src && info.client.port() == pkt.src_port {
        Direction::ClientToServer
    } else {
        Direction::ServerToClient
    }
}

fn class_of(info: &FlowInfo) -> usize {
    match (info.protocol, info.tcp_state) {
        (TCP, Some(s)) if s.is_over() => CLASS_TCP_CLOSED,
        (TCP, _) => CLASS_TCP,
        (UDP, _) => CLASS_UDP,
        _ => CLASS_OTHER,
    }
}

/// The observed TCP state after a packet with `flags` in direction `dir` (module docs).
fn next_state(
    state: TcpState,
    flags: u8,
    dir: Direction,
    payload: &[u8],
    conn: &TcpConn,
) -> TcpState {
    use TcpState::*;
    if state == Reset {
        return Reset;
    }
    if flags & RST != 0 {
        return Reset;
    }
    let fin_now = flags & FIN != 0;
    let fins = [
        conn.streams[0].fin_seen() || (fin_now && dir == Direction::ClientToServer),
        conn.streams[1].fin_seen() || (fin_now && dir == Direction::ServerToClient),
    ];
    if fins[0] && fins[1] {
        return Closed;
    }
    if fins[0] || fins[1] {
        return if state == Closed { Closed } else { Closing };
    }
    let syn = flags & SYN != 0;
    let ack = flags & ACK != 0;
    match state {
        SynSent if syn && ack && dir == Direction::ServerToClient => SynReceived,
        SynSent | SynReceived if !syn && (ack || !payload.is_empty()) => Established,
        s => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn key_is_symmetric() {
        let a = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let b = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
        let p = PacketMeta {
            timestamp_ns: 0,
            wire_len: 60,
            vlans: Vlans::default(),
            src: a,
            dst: b,
            protocol: 17,
            src_port: 1000,
            dst_port: 53,
            tcp: None,
            payload: &[],
        };
        let q = PacketMeta {
            src: b,
            dst: a,
            src_port: 53,
            dst_port: 1000,
            ..p
        };
        assert_eq!(FlowKey::of(&p), FlowKey::of(&q));
        assert_eq!(flow_hash(&p), flow_hash(&q));
        let r = PacketMeta {
            vlans: Vlans {
                outer: Some(5),
                inner: None,
            },
            ..p
        };
        assert_ne!(flow_hash(&p), flow_hash(&r));
    }

    #[test]
    fn service_ports() {
        assert!(is_well_known_server_port(TCP, 502));
        assert!(is_well_known_server_port(TCP, 44818));
        assert!(!is_well_known_server_port(TCP, 0));
        assert!(!is_well_known_server_port(TCP, 50000));
    }
}
