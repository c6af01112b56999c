//! Per-device observation: who is on the network, under which addresses.
//!
//! The observer collects evidence while frames go by — MAC↔IP bindings from ARP, Neighbor
//! Discovery and local traffic, router advertisements, the addresses each flow used — and turns
//! it into devices when the analysis ends ([`Observer::devices`]).
//!
//! # How devices are keyed
//!
//! A device on the monitored segment is its MAC address. A router forwards traffic for many
//! addresses under its own MAC, so a MAC seen with [`ROUTER_MIN_FOREIGN_IPS`] or more IP addresses
//! that it never claimed in ARP or Neighbor Discovery is recognised as a router: it keeps only the
//! addresses it claimed, and the hosts behind it become devices keyed by IP address. A MAC that
//! sends IPv6 router advertisements (or neighbor advertisements with the router flag) is a router
//! too. Frames without MAC addresses (raw IP, loopback captures) give IP-keyed devices.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr};

use ironward_model::{Attribute, DeviceKey, Fact, MacAddress, Source, Timestamp};
use ironward_wire::MacAddr;

use crate::flow::KeyedState;
use crate::oui;

/// The observer's maps: keyed by attacker-chosen addresses, so with a randomly keyed hash, but
/// not SipHash, which cost more than the map updates themselves.
type Map<K, V> = HashMap<K, V, KeyedState>;

/// A MAC seen with at least this many IP addresses it never claimed in ARP/ND is a router.
pub const ROUTER_MIN_FOREIGN_IPS: usize = 3;

/// Most distinct keys each evidence map holds. Addresses are attacker-controlled (a flood of
/// spoofed sources would otherwise grow the maps without limit); evidence about new keys beyond
/// it is dropped and counted ([`Observer::dropped`]), evidence about known keys still counts.
pub const MAX_ENTRIES: usize = 1 << 20;

/// The entry for `key`, created if the map has room for it.
fn bounded_entry<'m, K: Hash + Eq, V: Default>(
    map: &'m mut Map<K, V>,
    key: K,
    limit: usize,
    dropped: &mut u64,
) -> Option<&'m mut V> {
    let len = map.len();
    match map.entry(key) {
        Entry::Occupied(e) => Some(e.into_mut()),
        Entry::Vacant(e) if len < limit => Some(e.insert(V::default())),
        Entry::Vacant(_) => {
            *dropped += 1;
            None
        }
    }
}

/// Evidence for one MAC↔IP binding.
#[derive(Debug, Clone, Copy, Default)]
struct Binding {
    /// Packets the MAC sent with this source address.
    as_source: u64,
    /// Packets sent to the MAC with this destination address.
    as_destination: u64,
    /// Claimed by ARP (sender of a request or reply).
    arp: bool,
    /// Claimed by Neighbor Discovery (solicitation source or advertisement target).
    ndp: bool,
    /// Bound by a protocol that names the MAC with the address: assigned in DHCP / DHCPv6, or a
    /// NetBIOS node status answer.
    announced: Option<Source>,
    first_seen: i64,
    last_seen: i64,
}

impl Binding {
    fn claimed(&self) -> bool {
        self.arp || self.ndp || self.announced.is_some()
    }

    fn touch(&mut self, ts: i64) {
        if self.first_seen == 0 || ts < self.first_seen {
            self.first_seen = ts;
        }
        self.last_seen = self.last_seen.max(ts);
    }
}

/// What is known about one MAC address itself.
#[derive(Debug, Clone, Copy, Default)]
struct MacRecord {
    /// Frames it sent.
    frames_sent: u64,
    /// Sent IPv6 router advertisements, or neighbor advertisements with the router flag.
    router_advertisement: bool,
    first_seen: i64,
    last_seen: i64,
}

/// When an IP address was seen, for addresses that end up keyed by IP.
#[derive(Debug, Clone, Copy, Default)]
struct IpRecord {
    first_seen: i64,
    last_seen: i64,
}

/// The endpoints of one finished flow, as the observer needs them.
#[derive(Debug, Clone, Copy)]
pub struct FlowEndpoints {
    /// Client address.
    pub client_ip: IpAddr,
    /// Server address.
    pub server_ip: IpAddr,
    /// Source MAC of the client's frames, if the link layer had one.
    pub client_mac: Option<MacAddr>,
    /// Source MAC of the server's frames.
    pub server_mac: Option<MacAddr>,
    /// Destination MAC of the client's frames (the server's MAC, or the router's).
    pub client_dst_mac: Option<MacAddr>,
    /// The client's frames went to a broadcast or multicast MAC: the server address is a group
    /// (a directed broadcast), not a host, whatever it looks like.
    pub server_is_group: bool,
    /// Packets client → server.
    pub client_packets: u64,
    /// Packets server → client.
    pub server_packets: u64,
    /// First packet.
    pub first_seen_ns: i64,
    /// Last packet.
    pub last_seen_ns: i64,
}

/// Collects device evidence; see the module documentation.
#[derive(Debug)]
pub struct Observer {
    macs: Map<MacAddr, MacRecord>,
    bindings: Map<(MacAddr, IpAddr), Binding>,
    ips: Map<IpAddr, IpRecord>,
    arp_senders: HashSet<(MacAddr, Ipv4Addr), KeyedState>,
    facts: Vec<Fact>,
    /// Evidence dropped because a map was full (see [`MAX_ENTRIES`]).
    dropped: u64,
    /// Most distinct keys per map; [`MAX_ENTRIES`] unless set by [`Observer::with_limit`].
    limit: usize,
    /// Frames of the last sender seen by [`Observer::saw_mac`], not yet in `macs`: streams of
    /// non-IP frames (IEC 61850 sampled values, GOOSE, PROFINET) repeat one sender thousands of
    /// times a second, and one map update per run of frames is enough.
    pending: Option<PendingMac>,
    /// Link-layer protocols each MAC sent (frames a frame dissector claimed).
    frame_protocols: Map<MacAddr, Vec<&'static str>>,
    /// The last (sender, protocol) recorded, to skip the map for streams of one publisher.
    last_frame_protocol: Option<(MacAddr, &'static str)>,
}

#[derive(Debug, Clone, Copy)]
struct PendingMac {
    mac: MacAddr,
    frames: u64,
    first_seen: i64,
    last_seen: i64,
}

/// Addresses that name a host, as opposed to groups, broadcasts or "no address yet".
pub fn is_host_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !(v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast()),
        IpAddr::V6(v6) => !(v6.is_unspecified() || v6.is_multicast()),
    }
}

fn is_link_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => v6.segments()[0] & 0xffc0 == 0xfe80,
    }
}

fn to_model(mac: MacAddr) -> MacAddress {
    MacAddress(mac.0)
}

impl Default for Observer {
    fn default() -> Self {
        Self::with_limit(MAX_ENTRIES)
    }
}

impl Observer {
    /// A new, empty observer.
    pub fn new() -> Self {
        Self::default()
    }

    /// A new observer keeping at most `limit` distinct keys per evidence map.
    pub fn with_limit(limit: usize) -> Self {
        Self {
            macs: Map::default(),
            bindings: Map::default(),
            ips: Map::default(),
            arp_senders: HashSet::default(),
            facts: Vec::new(),
            dropped: 0,
            limit,
            pending: None,
            frame_protocols: Map::default(),
            last_frame_protocol: None,
        }
    }

    /// `mac` sent a frame of a link-layer protocol (GOOSE, PROFINET DCP, LLDP).
    pub fn saw_frame_protocol(&mut self, mac: MacAddr, protocol: &'static str) {
        if self.last_frame_protocol == Some((mac, protocol)) {
            return;
        }
        self.last_frame_protocol = Some((mac, protocol));
        if let Some(list) = bounded_entry(
            &mut self.frame_protocols,
            mac,
            self.limit,
            &mut self.dropped,
        ) {
            if !list.contains(&protocol) && list.len() < 16 {
                list.push(protocol);
            }
        }
    }

    /// A frame sent by `mac` (called for frames that do not belong to an IP flow; flows report
    /// their MACs when they end).
    #[inline]
    pub fn saw_mac(&mut self, mac: MacAddr, ts: i64) {
        if mac.is_multicast() || mac.is_zero() {
            return;
        }
        if let Some(p) = self.pending.as_mut() {
            if p.mac == mac {
                p.frames += 1;
                p.first_seen = p.first_seen.min(ts);
                p.last_seen = p.last_seen.max(ts);
                return;
            }
        }
        self.flush_pending();
        self.pending = Some(PendingMac {
            mac,
            frames: 1,
            first_seen: ts,
            last_seen: ts,
        });
    }

    /// Moves the pending run of frames of [`Observer::saw_mac`] into the per-MAC records.
    fn flush_pending(&mut self) {
        let Some(p) = self.pending.take() else {
            return;
        };
        let Some(record) = bounded_entry(&mut self.macs, p.mac, self.limit, &mut self.dropped)
        else {
            return;
        };
        record.frames_sent += p.frames;
        if record.first_seen == 0 || p.first_seen < record.first_seen {
            record.first_seen = p.first_seen;
        }
        record.last_seen = record.last_seen.max(p.last_seen);
    }

    fn binding(&mut self, mac: MacAddr, ip: IpAddr) -> Option<&mut Binding> {
        bounded_entry(&mut self.bindings, (mac, ip), self.limit, &mut self.dropped)
    }

    /// Evidence dropped because a map was full (see [`MAX_ENTRIES`]).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// An ARP packet: its sender claims the sender address (unless it is 0.0.0.0, as in ARP
    /// probes), and a reply's target is bound too when the target MAC is real.
    pub fn arp(
        &mut self,
        operation: u16,
        sender_mac: MacAddr,
        sender_ip: Ipv4Addr,
        target_mac: MacAddr,
        target_ip: Ipv4Addr,
        ts: i64,
    ) {
        self.saw_mac(sender_mac, ts);
        if sender_mac.is_unicast() && !sender_mac.is_zero() && is_host_address(sender_ip.into()) {
            if self.arp_senders.len() < self.limit {
                self.arp_senders.insert((sender_mac, sender_ip));
            }
            if let Some(binding) = self.binding(sender_mac, sender_ip.into()) {
                binding.arp = true;
                binding.touch(ts);
            }
        }
        // A reply names its target too; requests carry a zero or broadcast target MAC.
        if operation == 2
            && target_mac.is_unicast()
            && !target_mac.is_zero()
            && is_host_address(target_ip.into())
        {
            if let Some(binding) = self.binding(target_mac, target_ip.into()) {
                binding.arp = true;
                binding.touch(ts);
            }
        }
    }

    /// A Neighbor Discovery binding: `mac` claims `ip` (solicitation source with its source
    /// link-layer option, or advertisement target with its target link-layer option).
    pub fn ndp(&mut self, mac: MacAddr, ip: IpAddr, router: bool, ts: i64) {
        if mac.is_multicast() || mac.is_zero() {
            return;
        }
        if is_host_address(ip) {
            if let Some(binding) = self.binding(mac, ip) {
                binding.ndp = true;
                binding.touch(ts);
            }
        }
        if router {
            if let Some(record) = bounded_entry(&mut self.macs, mac, self.limit, &mut self.dropped)
            {
                record.router_advertisement = true;
            }
        }
    }

    /// An IPv6 router advertisement sent by `mac`.
    pub fn router_advertisement(&mut self, mac: MacAddr, ts: i64) {
        self.saw_mac(mac, ts);
        self.flush_pending();
        if let Some(record) = bounded_entry(&mut self.macs, mac, self.limit, &mut self.dropped) {
            record.router_advertisement = true;
        }
    }

    /// A flow ended: record which MACs used which addresses, and when.
    pub fn flow(&mut self, flow: &FlowEndpoints) {
        let (first, last) = (flow.first_seen_ns, flow.last_seen_ns);
        let server_is_host = !flow.server_is_group;
        for (ip, is_host) in [(flow.client_ip, true), (flow.server_ip, server_is_host)] {
            if is_host && is_host_address(ip) {
                let Some(record) = bounded_entry(&mut self.ips, ip, self.limit, &mut self.dropped)
                else {
                    continue;
                };
                if record.first_seen == 0 || first < record.first_seen {
                    record.first_seen = first;
                }
                record.last_seen = record.last_seen.max(last);
            }
        }
        if let Some(mac) = flow.client_mac {
            self.flow_mac(mac, flow.client_ip, flow.client_packets, 0, first, last);
        }
        if let Some(mac) = flow.server_mac {
            self.flow_mac(mac, flow.server_ip, flow.server_packets, 0, first, last);
        }
        // The client's destination MAC is the server's (or its router's): weaker evidence, kept
        // for servers that never answered or whose answers the capture missed.
        if let Some(mac) = flow.client_dst_mac.filter(|_| server_is_host) {
            if Some(mac) != flow.server_mac {
                self.flow_mac(mac, flow.server_ip, 0, flow.client_packets, first, last);
            }
        }
    }

    fn flow_mac(
        &mut self,
        mac: MacAddr,
        ip: IpAddr,
        as_source: u64,
        as_destination: u64,
        first: i64,
        last: i64,
    ) {
        if mac.is_multicast() || mac.is_zero() {
            return;
        }
        if as_source > 0 {
            if let Some(record) = bounded_entry(&mut self.macs, mac, self.limit, &mut self.dropped)
            {
                record.frames_sent += as_source;
                if record.first_seen == 0 || first < record.first_seen {
                    record.first_seen = first;
                }
                record.last_seen = record.last_seen.max(last);
            }
        }
        if !is_host_address(ip) {
            return;
        }
        let Some(binding) = self.binding(mac, ip) else {
            return;
        };
        binding.as_source += as_source;
        binding.as_destination += as_destination;
        binding.touch(first);
        binding.touch(last);
    }

    /// Every (MAC, IPv4) pair an ARP sender claimed, sorted.
    pub fn arp_senders(&self) -> Vec<(MacAddr, Ipv4Addr)> {
        let mut senders: Vec<_> = self.arp_senders.iter().copied().collect();
        senders.sort();
        senders
    }

    /// A fact reported by a dissector.
    pub fn fact(&mut self, fact: Fact) {
        // An address DHCP gave a MAC (or a NetBIOS node status answer names with its unit id, or
        // a PROFINET station states in its DCP Identify response) is that MAC's, as if it had
        // claimed it in ARP. An address a client only asked for (lower
        // confidence: the server may refuse it) stays a fact.
        if let (
            Attribute::Ip,
            DeviceKey::Mac(mac),
            Source::Dhcp | Source::Dhcpv6 | Source::Nbns | Source::ProfinetDcp,
            90..,
        ) = (fact.attribute, fact.subject, fact.source, fact.confidence)
        {
            if let Ok(ip) = fact.value.parse::<IpAddr>() {
                let mac = MacAddr(mac.0);
                if mac.is_unicast() && !mac.is_zero() && is_host_address(ip) {
                    self.saw_mac(mac, fact.seen_at.0);
                    if let Some(binding) = self.binding(mac, ip) {
                        binding.announced = Some(fact.source);
                        binding.touch(fact.seen_at.0);
                    }
                }
            }
            return;
        }
        if self.facts.len() < self.limit {
            self.facts.push(fact);
        } else {
            self.dropped += 1;
        }
    }

    /// Resolves the evidence into devices.
    pub fn devices(mut self) -> DeviceMap {
        self.flush_pending();
        // Routers: many addresses they never claimed, or router advertisements.
        // Binding keys are distinct (MAC, address) pairs, so counting them counts addresses.
        let mut foreign: Map<MacAddr, usize> = Map::default();
        for (&(mac, ip), binding) in &self.bindings {
            if !binding.claimed() && !is_link_local(ip) {
                *foreign.entry(mac).or_default() += 1;
            }
        }
        let mut routers: BTreeMap<MacAddr, RouterEvidence> = BTreeMap::new();
        for (mac, &count) in &foreign {
            if count >= ROUTER_MIN_FOREIGN_IPS {
                routers.insert(*mac, RouterEvidence::Forwards);
            }
        }
        drop(foreign);
        for (mac, record) in &self.macs {
            if record.router_advertisement {
                routers.entry(*mac).or_insert(RouterEvidence::Advertises);
            }
        }

        // Owner of every host address: the claiming MAC first, then the non-router MAC that
        // sent most packets from it, then the one most packets were sent to.
        let mut best: Map<IpAddr, Owner> = Map::default();
        for (&(mac, ip), binding) in &self.bindings {
            let is_router = routers.contains_key(&mac);
            if is_router && !binding.claimed() {
                continue;
            }
            let rank = (binding.claimed(), binding.as_source, binding.as_destination);
            match best.get(&ip) {
                Some((current, current_rank, _))
                    if (*current_rank, std::cmp::Reverse(*current))
                        >= (rank, std::cmp::Reverse(mac)) => {}
                _ => {
                    best.insert(ip, (mac, rank, *binding));
                }
            }
        }
        // Everything needed from the bindings is in `best` now; free them before the devices
        // are built (this is when an analysis peaks in memory).
        self.bindings = Map::default();

        let mut map = DeviceMap::default();
        // Every MAC that sent frames, plus destination-only MACs that own an address.
        let mut macs: BTreeSet<MacAddr> = self
            .macs
            .iter()
            .filter(|(_, r)| r.frames_sent > 0 || r.router_advertisement)
            .map(|(m, _)| *m)
            .collect();
        macs.extend(best.values().map(|(mac, _, _)| *mac));
        for mac in macs {
            let record = self.macs.get(&mac).copied().unwrap_or_default();
            let key = DeviceKey::Mac(to_model(mac));
            let mut device = ObservedDevice::new(key, Some(to_model(mac)));
            device.widen(record.first_seen, record.last_seen);
            if let Some(protocols) = self.frame_protocols.remove(&mac) {
                device.frame_protocols = protocols;
            }
            let seen = Timestamp(record.last_seen);
            if let Some(vendor) = oui::vendor(mac) {
                device
                    .facts
                    .push(Fact::new(key, Attribute::Vendor, vendor, Source::Oui, seen));
            }
            if mac.is_locally_administered() {
                device.facts.push(Fact::new(
                    key,
                    Attribute::MacLocallyAdministered,
                    "true",
                    Source::Mac,
                    seen,
                ));
            }
            // The source says why: `traffic` (it forwards for many addresses) or `ndp` (it
            // sends router advertisements).
            match routers.get(&mac) {
                Some(RouterEvidence::Forwards) => device.facts.push(Fact::new(
                    key,
                    Attribute::Role,
                    "router",
                    Source::Traffic,
                    seen,
                )),
                Some(RouterEvidence::Advertises) => {
                    device
                        .facts
                        .push(Fact::new(key, Attribute::Role, "router", Source::Ndp, seen))
                }
                None => {}
            }
            map.devices.insert(key, device);
        }
        self.macs = Map::default();
        let mut owned: Vec<(IpAddr, MacAddr, Binding)> = best
            .into_iter()
            .map(|(ip, (mac, _, binding))| (ip, mac, binding))
            .collect();
        owned.sort_unstable_by_key(|&(ip, mac, _)| (ip, mac));
        for (ip, mac, binding) in owned {
            let key = DeviceKey::Mac(to_model(mac));
            let source = if binding.arp {
                Source::Arp
            } else if binding.ndp {
                Source::Ndp
            } else if let Some(source) = binding.announced {
                source
            } else {
                Source::Traffic
            };
            if let Some(device) = map.devices.get_mut(&key) {
                device.ips.push(ip);
                device.widen(binding.first_seen, binding.last_seen);
                device.facts.push(Fact::new(
                    key,
                    Attribute::Ip,
                    ip.to_string(),
                    source,
                    Timestamp(binding.last_seen),
                ));
            }
            map.owner.insert(ip, key);
        }
        // Addresses no MAC owns: hosts behind routers, or captures without a link layer.
        let mut unowned: Vec<(&IpAddr, &IpRecord)> = self
            .ips
            .iter()
            .filter(|(ip, _)| !map.owner.contains_key(*ip))
            .collect();
        unowned.sort_by_key(|(ip, _)| **ip);
        for (ip, record) in unowned {
            let key = DeviceKey::Ip(*ip);
            let mut device = ObservedDevice::new(key, None);
            device.ips.push(*ip);
            device.widen(record.first_seen, record.last_seen);
            device.facts.push(Fact::new(
                key,
                Attribute::Ip,
                ip.to_string(),
                Source::Traffic,
                Timestamp(record.last_seen),
            ));
            map.devices.insert(key, device);
            map.owner.insert(*ip, key);
        }
        for fact in &self.facts {
            let subject = match fact.subject {
                DeviceKey::Ip(ip) => map.owner.get(&ip).copied().unwrap_or(fact.subject),
                key => key,
            };
            if let Some(device) = map.devices.get_mut(&subject) {
                let mut fact = fact.clone();
                fact.subject = subject;
                device.facts.push(fact);
            }
        }
        map
    }
}

/// The best claim on an address so far: the MAC, its rank (claimed, packets from, packets to)
/// and the evidence.
type Owner = (MacAddr, (bool, u64, u64), Binding);

#[derive(Debug, Clone, Copy)]
enum RouterEvidence {
    Forwards,
    Advertises,
}

/// A device as the observer resolved it, before protocols and services are added.
#[derive(Debug, Clone)]
pub struct ObservedDevice {
    /// Its key.
    pub key: DeviceKey,
    /// MAC, when keyed by MAC.
    pub mac: Option<MacAddress>,
    /// Addresses it owns, sorted (a device has few: a vector is smaller than a set).
    pub ips: Vec<IpAddr>,
    /// Evidence.
    pub facts: Vec<Fact>,
    /// First seen, ns.
    pub first_seen_ns: i64,
    /// Last seen, ns.
    pub last_seen_ns: i64,
    /// Protocols it spoke as a client (filled by the engine from its connections).
    pub client_protocols: Vec<&'static str>,
    /// Protocols it answered as a server.
    pub server_protocols: Vec<&'static str>,
    /// Services it offered: IP protocol, port, protocol name.
    pub offered: Vec<(u8, u16, Option<&'static str>)>,
    /// Link-layer protocols it sent (LLDP, PROFINET DCP, GOOSE), deduplicated.
    pub frame_protocols: Vec<&'static str>,
    /// What it did (filled by the engine from events and connections).
    pub behaviour: ironward_intel::Behaviour,
}

impl ObservedDevice {
    fn new(key: DeviceKey, mac: Option<MacAddress>) -> Self {
        Self {
            key,
            mac,
            ips: Vec::new(),
            // Most devices have two facts (vendor, address): the default first growth to four
            // would waste half of it on thousands of devices.
            facts: Vec::with_capacity(2),
            first_seen_ns: 0,
            last_seen_ns: 0,
            client_protocols: Vec::new(),
            server_protocols: Vec::new(),
            offered: Vec::new(),
            frame_protocols: Vec::new(),
            behaviour: ironward_intel::Behaviour::default(),
        }
    }

    fn widen(&mut self, first: i64, last: i64) {
        if first != 0 && (self.first_seen_ns == 0 || first < self.first_seen_ns) {
            self.first_seen_ns = first;
        }
        self.last_seen_ns = self.last_seen_ns.max(last);
    }

    /// The strongest fact for an attribute: highest confidence, then latest.
    pub fn best(&self, attribute: Attribute) -> Option<&Fact> {
        self.facts
            .iter()
            .filter(|f| f.attribute == attribute)
            .max_by_key(|f| (f.confidence, f.seen_at))
    }
}

/// Devices and the owner of every host address.
#[derive(Debug, Default)]
pub struct DeviceMap {
    /// Devices by key.
    pub devices: BTreeMap<DeviceKey, ObservedDevice>,
    /// Which device owns each host address.
    pub owner: HashMap<IpAddr, DeviceKey>,
}

impl DeviceMap {
    /// The device that owns `ip`, falling back to `mac` (e.g. a DHCP client still on 0.0.0.0).
    pub fn resolve(&self, ip: IpAddr, mac: Option<MacAddr>) -> Option<DeviceKey> {
        if let Some(key) = self.owner.get(&ip) {
            return Some(*key);
        }
        let key = DeviceKey::Mac(to_model(mac?));
        self.devices.contains_key(&key).then_some(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mac(n: u8) -> MacAddr {
        MacAddr([0x00, 0x80, 0xf4, 0, 0, n])
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn flow(client: (&str, u8), server: (&str, u8), dst_mac: u8) -> FlowEndpoints {
        FlowEndpoints {
            client_ip: ip(client.0),
            server_ip: ip(server.0),
            client_mac: Some(mac(client.1)),
            server_mac: Some(mac(server.1)),
            client_dst_mac: Some(mac(dst_mac)),
            server_is_group: false,
            client_packets: 3,
            server_packets: 2,
            first_seen_ns: 1_000,
            last_seen_ns: 2_000,
        }
    }

    #[test]
    fn local_hosts_are_keyed_by_mac_with_their_addresses() {
        let mut observer = Observer::new();
        observer.arp(
            1,
            mac(1),
            "10.0.0.1".parse().unwrap(),
            MacAddr::ZERO,
            "10.0.0.2".parse().unwrap(),
            10,
        );
        observer.flow(&flow(("10.0.0.1", 1), ("10.0.0.2", 2), 2));
        let map = observer.devices();
        assert_eq!(map.devices.len(), 2);
        let one = &map.devices[&DeviceKey::Mac(to_model(mac(1)))];
        assert_eq!(one.ips.to_vec(), vec![ip("10.0.0.1")]);
        assert_eq!(one.best(Attribute::Ip).unwrap().source, Source::Arp);
        assert_eq!(
            one.best(Attribute::Vendor).unwrap().value,
            "TELEMECANIQUE ELECTRIQUE"
        );
    }

    #[test]
    fn many_addresses_behind_one_mac_make_it_a_router() {
        let mut observer = Observer::new();
        observer.arp(
            2,
            mac(9),
            "10.0.0.254".parse().unwrap(),
            mac(1),
            "10.0.0.1".parse().unwrap(),
            10,
        );
        for remote in ["8.8.8.8", "1.1.1.1", "9.9.9.9"] {
            // The router's MAC carries the remote servers' answers.
            observer.flow(&flow(("10.0.0.1", 1), (remote, 9), 9));
        }
        let map = observer.devices();
        let router = &map.devices[&DeviceKey::Mac(to_model(mac(9)))];
        assert_eq!(router.best(Attribute::Role).unwrap().value, "router");
        assert_eq!(router.ips.to_vec(), vec![ip("10.0.0.254")]);
        assert!(map.devices.contains_key(&DeviceKey::Ip(ip("8.8.8.8"))));
        assert_eq!(map.owner[&ip("10.0.0.1")], DeviceKey::Mac(to_model(mac(1))));
    }

    #[test]
    fn group_and_unspecified_addresses_are_not_devices() {
        let mut observer = Observer::new();
        observer.flow(&flow(("0.0.0.0", 1), ("255.255.255.255", 2), 2));
        let map = observer.devices();
        assert!(map.owner.is_empty());
        assert_eq!(
            map.resolve(ip("0.0.0.0"), Some(mac(1))),
            Some(DeviceKey::Mac(to_model(mac(1))))
        );
    }

    #[test]
    fn a_flood_of_spoofed_addresses_stays_bounded() {
        let mut observer = Observer::with_limit(4);
        for n in 0..100u8 {
            let sender = MacAddr([0x00, 0x80, 0xf4, 0, 1, n]);
            let ip = std::net::Ipv4Addr::new(10, 0, 0, n);
            observer.arp(2, sender, ip, mac(1), "10.0.0.200".parse().unwrap(), 1);
            observer.saw_mac(sender, 2);
        }
        assert!(observer.dropped() > 0);
        let map = observer.devices();
        assert!(map.devices.len() <= 8, "{}", map.devices.len());
    }

    #[test]
    fn directed_broadcasts_are_not_devices() {
        let mut observer = Observer::new();
        observer.flow(&FlowEndpoints {
            server_mac: None,
            client_dst_mac: None,
            server_is_group: true,
            server_packets: 0,
            ..flow(("192.168.2.1", 1), ("192.168.2.255", 2), 2)
        });
        let map = observer.devices();
        assert!(!map.owner.contains_key(&ip("192.168.2.255")));
        assert_eq!(map.devices.len(), 1);
    }

    #[test]
    fn randomised_macs_are_marked_and_have_no_vendor() {
        let mut observer = Observer::new();
        let random = MacAddr([0xda, 0xa1, 0x19, 1, 2, 3]);
        observer.saw_mac(random, 5);
        let map = observer.devices();
        let device = &map.devices[&DeviceKey::Mac(to_model(random))];
        assert!(device.best(Attribute::Vendor).is_none());
        assert_eq!(
            device
                .best(Attribute::MacLocallyAdministered)
                .unwrap()
                .source,
            Source::Mac
        );
    }
}
