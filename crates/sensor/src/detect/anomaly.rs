//! The anomaly engine: port scans (horizontal and vertical), address sweeps (ARP, ICMP), brute
//! force (failed logins; repeated short sessions to login services; SNMP requests trying many
//! communities), ARP spoofing (an address claimed by a second MAC), OT devices talking to public
//! addresses, rogue DHCP servers, and conversations carrying far more traffic than learned.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ironward_model::address::is_internet;
use ironward_model::{AlertEngine, EventCategory, MacAddress, Severity};

use super::alerts::{AlertStore, Raise, StableHash, Text};
use super::baseline::{Baseline, ConversationKey};
use super::tracker::{make_room, Tracker, MAX_KEYS};
use super::{ArpInput, EventInput, FlowInput, TableFootprint};

/// Distinct destinations (or ports) from one source within [`SCAN_WINDOW_NS`] that make a scan.
pub const SCAN_THRESHOLD: usize = 20;
/// The scan and sweep window.
pub const SCAN_WINDOW_NS: i64 = 60_000_000_000;
/// Failed logins (or short login sessions) from one source to one server within
/// [`BRUTE_WINDOW_NS`] that make a brute-force attempt.
pub const BRUTE_THRESHOLD: u64 = 5;
/// Short sessions to a login service that make a brute-force attempt (without a dissector
/// telling failures, as for SSH).
pub const SHORT_SESSION_THRESHOLD: u64 = 10;
/// The brute-force window.
pub const BRUTE_WINDOW_NS: i64 = 60_000_000_000;
/// How long an ARP binding is remembered as current.
pub const ARP_BINDING_NS: i64 = 300_000_000_000;

/// Distinct SNMP communities one source tries on one agent within [`BRUTE_WINDOW_NS`] that
/// make community guessing: a manager uses one or two (read, write), a guesser a word list.
pub const COMMUNITY_THRESHOLD: usize = 5;
/// Width of a volume bucket: a conversation's traffic is summed per bucket of capture time and
/// compared with the most it carried in one bucket during learning.
pub const VOLUME_BUCKET_NS: i64 = 60_000_000_000;
/// How many times the learned most a bucket must carry to be out of range: polling jitters,
/// and a learning period sees a few buckets only, so twice or three times is still normal.
pub const VOLUME_FACTOR: u64 = 4;
/// From this many times the learned most on, the alert is major (minor below).
pub const VOLUME_MAJOR_FACTOR: u64 = 16;
/// Payload bytes a bucket must carry beyond the learned most to be out of range: a quiet
/// conversation (a login, a poll a minute) multiplies by four with a few kilobytes.
pub const VOLUME_MIN_EXCESS_BYTES: u64 = 256 * 1024;
/// Packets a bucket must carry beyond the learned most to be out of range (a request flood
/// of small packets).
pub const VOLUME_MIN_EXCESS_PACKETS: u64 = 2_000;

/// The SNMP dissector's event for a v1/v2c request: its detail names the community by an 8-bit
/// tag only (see `ironward_proto::snmp`).
const SNMP_COMMUNITY_REQUEST: &str = ironward_proto::snmp::COMMUNITY_REQUEST;

/// Login services whose repeated short sessions mean password guessing.
const LOGIN_PORTS: [u16; 6] = [21, 22, 23, 3389, 5900, 2323];

#[derive(Debug)]
pub(crate) struct Anomaly {
    /// (source, transport, port) → distinct destinations.
    horizontal: Tracker<(IpAddr, u8, u16)>,
    /// (source, destination) → distinct ports.
    vertical: Tracker<(IpAddr, IpAddr)>,
    /// ICMP source → distinct destinations.
    icmp_sweep: Tracker<IpAddr>,
    /// ARP sender → distinct targets.
    arp_sweep: Tracker<Ipv4Addr>,
    /// (source, server) → failed logins.
    failures: Tracker<(Option<IpAddr>, Option<IpAddr>)>,
    /// (source, server, port) → short sessions.
    sessions: Tracker<(IpAddr, IpAddr, u16)>,
    /// Address → (MAC, last claimed).
    bindings: HashMap<Ipv4Addr, (MacAddress, i64)>,
    /// Devices that spoke an OT protocol.
    ot_devices: HashMap<IpAddr, ()>,
    /// (manager, agent) → distinct SNMP community tags tried.
    communities: Tracker<(Option<IpAddr>, Option<IpAddr>)>,
    /// Segment (/24, /64) → the first DHCP server that answered in it, and when it last did.
    dhcp_segments: HashMap<IpAddr, (IpAddr, i64)>,
    /// Conversation → its traffic in the current volume bucket.
    volumes: HashMap<ConversationKey, VolumeBucket>,
}

/// A conversation's traffic in one volume bucket.
#[derive(Debug, Clone, Copy, Default)]
struct VolumeBucket {
    /// Bucket number (capture time / [`VOLUME_BUCKET_NS`]).
    bucket: i64,
    /// Payload bytes, both directions.
    bytes: u64,
    /// Packets, both directions.
    packets: u64,
}

impl Default for Anomaly {
    fn default() -> Self {
        Self {
            horizontal: Tracker::new(SCAN_WINDOW_NS),
            vertical: Tracker::new(SCAN_WINDOW_NS),
            icmp_sweep: Tracker::new(SCAN_WINDOW_NS),
            arp_sweep: Tracker::new(SCAN_WINDOW_NS),
            failures: Tracker::new(BRUTE_WINDOW_NS),
            sessions: Tracker::new(BRUTE_WINDOW_NS),
            bindings: HashMap::new(),
            ot_devices: HashMap::new(),
            communities: Tracker::new(BRUTE_WINDOW_NS),
            dhcp_segments: HashMap::new(),
            volumes: HashMap::new(),
        }
    }
}

/// The part of a flow's total that fell in one volume bucket, the flow's traffic taken as even
/// over its life: a flow reported at its end (or at a window's end) may span many buckets, and
/// only its rate tells whether a bucket of it was out of range.
fn bucket_share(total: u64, duration_ns: i64) -> u64 {
    if duration_ns <= VOLUME_BUCKET_NS {
        return total;
    }
    let share = u128::from(total) * VOLUME_BUCKET_NS as u128 / duration_ns as u128;
    u64::try_from(share).unwrap_or(u64::MAX)
}

/// The segment an address is in, as far as one can tell without the capture's topology: its
/// /24 (IPv4) or /64 (IPv6).
fn segment(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(Ipv4Addr::from(u32::from(v4) & 0xffff_ff00)),
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(
            u128::from(v6) & 0xffff_ffff_ffff_ffff_0000_0000_0000_0000,
        )),
    }
}

/// `part / whole`, rounded down, with a whole of 0 counting as 1.
fn times(part: u64, whole: u64) -> u64 {
    part / whole.max(1)
}

/// A TCP connection attempt that exchanged no data: what a port scan leaves.
fn is_probe(f: &FlowInput) -> bool {
    f.transport == 6 && f.payload_bytes[0] == 0 && f.payload_bytes[1] == 0 && f.packets[0] <= 3
}

const SCAN_REMEDIATION: &str = "Identify the scanning host; unless it is an approved vulnerability scanner in a maintenance window, isolate it and look for what else it did.";

impl Anomaly {
    pub(crate) fn footprint(&self, out: &mut Vec<TableFootprint>) {
        for (name, (entries, values)) in [
            ("anomaly.horizontal_scan", self.horizontal.footprint()),
            ("anomaly.vertical_scan", self.vertical.footprint()),
            ("anomaly.icmp_sweep", self.icmp_sweep.footprint()),
            ("anomaly.arp_sweep", self.arp_sweep.footprint()),
            ("anomaly.login_failures", self.failures.footprint()),
            ("anomaly.login_sessions", self.sessions.footprint()),
            ("anomaly.arp_bindings", (self.bindings.len(), 0)),
            ("anomaly.ot_devices", (self.ot_devices.len(), 0)),
            ("anomaly.snmp_communities", self.communities.footprint()),
            ("anomaly.dhcp_segments", (self.dhcp_segments.len(), 0)),
            ("anomaly.volumes", (self.volumes.len(), 0)),
        ] {
            out.push(TableFootprint {
                name,
                entries,
                limit: MAX_KEYS,
                values,
            });
        }
    }

    pub(crate) fn on_flow(
        &mut self,
        store: &mut AlertStore,
        f: &FlowInput,
    ) -> [Option<(u64, bool)>; 3] {
        let mut out = [None; 3];
        let (src, dst) = (f.client.ip(), f.server.ip());
        let evidence = || {
            format!(
                "{} {} -> {} ({} packets, {})",
                if f.transport == 6 { "tcp" } else { "flow" },
                f.client,
                f.server,
                f.packets[0] + f.packets[1],
                if f.answered {
                    "answered"
                } else {
                    "not answered"
                }
            )
        };
        if f.protocol
            .is_some_and(ironward_intel::behaviour::is_ot_protocol)
            && f.answered
            && self.ot_devices.len() < MAX_KEYS
        {
            self.ot_devices.insert(src, ());
            self.ot_devices.insert(dst, ());
        }
        if is_probe(f) {
            let port = f.server.port();
            let h = self.horizontal.hit(
                (src, f.transport, port),
                f.first_seen,
                Some(StableHash::default().ip(Some(dst)).finish()),
            );
            if h.distinct() >= SCAN_THRESHOLD {
                out[0] = Some(store.raise(
                    &Raise {
                        kind: "anomaly.horizontal_scan",
                        engine: AlertEngine::Anomaly,
                        severity: Severity::Major,
                        src: Some(src),
                        dst: None,
                        key: u64::from(port),
                        protocol: None,
                        techniques: &["T0846"],
                        time: f.first_seen,
                        frame: Some(f.frame),
                    },
                    || Text {
                        title: format!("Horizontal port scan from {src} (port {port})"),
                        description: format!("{src} tried port {port} on at least {SCAN_THRESHOLD} hosts within {} s without exchanging data: a search for devices offering this service.", SCAN_WINDOW_NS / 1_000_000_000),
                        remediation: SCAN_REMEDIATION.to_owned(),
                    },
                    evidence,
                ));
            }
            let v = self
                .vertical
                .hit((src, dst), f.first_seen, Some(u64::from(port)));
            if v.distinct() >= SCAN_THRESHOLD {
                out[1] = Some(store.raise(
                    &Raise {
                        kind: "anomaly.vertical_scan",
                        engine: AlertEngine::Anomaly,
                        severity: Severity::Major,
                        src: Some(src),
                        dst: Some(dst),
                        key: 0,
                        protocol: None,
                        techniques: &["T0846"],
                        time: f.first_seen,
                        frame: Some(f.frame),
                    },
                    || Text {
                        title: format!("Port scan of {dst} from {src}"),
                        description: format!("{src} tried at least {SCAN_THRESHOLD} ports of {dst} within {} s without exchanging data: a search for the services the device offers.", SCAN_WINDOW_NS / 1_000_000_000),
                        remediation: SCAN_REMEDIATION.to_owned(),
                    },
                    evidence,
                ));
            }
        } else if f.transport == 1 && (!f.answered || f.packets[0] <= 2) {
            let w = self.icmp_sweep.hit(
                src,
                f.first_seen,
                Some(StableHash::default().ip(Some(dst)).finish()),
            );
            if w.distinct() >= SCAN_THRESHOLD {
                out[0] = Some(store.raise(
                    &sweep(src, f.first_seen, f.frame, "anomaly.icmp_sweep"),
                    || Text {
                        title: format!("ICMP address sweep from {src}"),
                        description: format!("{src} sent ICMP to at least {SCAN_THRESHOLD} addresses within {} s: a search for live hosts.", SCAN_WINDOW_NS / 1_000_000_000),
                        remediation: SCAN_REMEDIATION.to_owned(),
                    },
                    evidence,
                ));
            }
        } else if f.transport == 6
            && LOGIN_PORTS.contains(&f.server.port())
            && f.payload_bytes[0] > 0
            && f.payload_bytes[1] > 0
            && f.last_seen.saturating_sub(f.first_seen) < 30_000_000_000
        {
            let port = f.server.port();
            let w = self.sessions.hit((src, dst, port), f.first_seen, None);
            if w.count() >= SHORT_SESSION_THRESHOLD {
                out[2] = Some(store.raise(
                    &brute(Some(src), Some(dst), u64::from(port), f.first_seen, f.frame, f.protocol),
                    || Text {
                        title: format!("Brute force from {src} against {dst} port {port}"),
                        description: format!("{src} opened at least {SHORT_SESSION_THRESHOLD} short sessions to the login service on port {port} of {dst} within {} s: password guessing.", BRUTE_WINDOW_NS / 1_000_000_000),
                        remediation: BRUTE_REMEDIATION.to_owned(),
                    },
                    evidence,
                ));
            }
        }
        if f.answered && is_internet(dst) && !is_internet(src) && self.ot_devices.contains_key(&src)
        {
            out[2] = out[2].or(Some(store.raise(
                &Raise {
                    kind: "anomaly.internet_connection",
                    engine: AlertEngine::Anomaly,
                    severity: Severity::Major,
                    src: Some(src),
                    dst: Some(dst),
                    key: u64::from(f.server.port()),
                    protocol: f.protocol,
                    techniques: &["T0883"],
                    time: f.first_seen,
                    frame: Some(f.frame),
                },
                || Text {
                    title: format!("OT device {src} connected to the internet ({dst})"),
                    description: format!("{src}, which speaks industrial protocols, exchanged traffic with the public address {dst} port {}: control devices should not reach the internet.", f.server.port()),
                    remediation: "Check the firewall between the control network and the internet; find out why the device reached out (update, vendor cloud, malware).".to_owned(),
                },
                evidence,
            )));
        }
        out
    }

    pub(crate) fn on_event(
        &mut self,
        store: &mut AlertStore,
        e: &EventInput<'_>,
    ) -> Option<(u64, bool)> {
        if e.category != EventCategory::Authentication {
            return None;
        }
        if e.protocol == "snmp" && e.operation == SNMP_COMMUNITY_REQUEST {
            return self.on_community(store, e);
        }
        if !e.detail.contains("fail") {
            return None;
        }
        let w = self.failures.hit((e.src, e.dst), e.time, None);
        if w.count() < BRUTE_THRESHOLD {
            return None;
        }
        Some(store.raise(
            &brute(
                e.src,
                e.dst,
                StableHash::default().bytes(e.protocol.as_bytes()).finish(),
                e.time,
                e.frame,
                Some(e.protocol),
            ),
            || Text {
                title: format!(
                    "Brute force: failed {} logins from {} to {}",
                    e.protocol,
                    opt(e.src),
                    opt(e.dst)
                ),
                description: format!(
                    "At least {BRUTE_THRESHOLD} failed {} logins within {} s: password guessing.",
                    e.protocol,
                    BRUTE_WINDOW_NS / 1_000_000_000
                ),
                remediation: BRUTE_REMEDIATION.to_owned(),
            },
            || format!("{} {} {}", e.protocol, e.operation, e.detail),
        ))
    }

    /// An SNMP v1/v2c request: its detail names the community by a tag, so distinct details
    /// are distinct communities (never seen in clear here; two may share a tag, so a guesser is
    /// counted a little short).
    fn on_community(&mut self, store: &mut AlertStore, e: &EventInput<'_>) -> Option<(u64, bool)> {
        let community = StableHash::default().bytes(e.detail.as_bytes()).finish();
        let w = self
            .communities
            .hit((e.src, e.dst), e.time, Some(community));
        if w.distinct() < COMMUNITY_THRESHOLD {
            return None;
        }
        Some(store.raise(
            &brute(
                e.src,
                e.dst,
                StableHash::default().bytes(e.protocol.as_bytes()).finish(),
                e.time,
                e.frame,
                Some(e.protocol),
            ),
            || Text {
                title: format!(
                    "SNMP community guessing from {} against {}",
                    opt(e.src),
                    opt(e.dst)
                ),
                description: format!(
                    "{} sent SNMP requests with at least {COMMUNITY_THRESHOLD} distinct communities to the agent {} within {} s: guessing the community, SNMP's password. The communities are not shown (the evidence names each by an 8-bit tag).",
                    opt(e.src),
                    opt(e.dst),
                    BRUTE_WINDOW_NS / 1_000_000_000
                ),
                remediation: "Block the source; change the agent's communities to long random ones, allow SNMP only from the management stations, and prefer SNMPv3 with authentication and privacy.".to_owned(),
            },
            || format!("{} {} {}", e.protocol, e.operation, e.detail),
        ))
    }

    /// A DHCP server answered (offer, acknowledgement), named by its server identifier. After
    /// learning, a server the baseline does not know is rogue; with no DHCP server learned
    /// (no learning, or none answered while it lasted), a second server answering in the same
    /// segment is. While learning, servers are only remembered.
    pub(crate) fn on_dhcp_server(
        &mut self,
        store: &mut AlertStore,
        baseline: &Baseline,
        learning: bool,
        server: IpAddr,
        time: i64,
        frame: u64,
    ) -> Option<(u64, bool)> {
        let segment = segment(server);
        if self.dhcp_segments.len() >= MAX_KEYS && !self.dhcp_segments.contains_key(&segment) {
            make_room(
                &mut self.dhcp_segments,
                time.saturating_sub(ARP_BINDING_NS),
                |&(_, last)| last,
            );
        }
        let first = self.dhcp_segments.entry(segment).or_insert((server, time));
        if first.0 == server {
            first.1 = time;
        }
        let first = first.0;
        if learning {
            return None;
        }
        let learned = baseline.knows_dhcp_servers();
        if learned && baseline.has_dhcp_server(server) || !learned && first == server {
            return None;
        }
        Some(store.raise(
            &Raise {
                kind: "anomaly.rogue_dhcp",
                engine: AlertEngine::Anomaly,
                severity: Severity::Major,
                src: Some(server),
                dst: None,
                key: 0,
                protocol: Some("dhcp"),
                techniques: &["T0830"],
                time,
                frame: Some(frame),
            },
            || Text {
                title: format!("Rogue DHCP server {server}"),
                description: if learned {
                    format!("{server} offered or acknowledged DHCP leases, but it is not among the DHCP servers that answered during learning. A rogue DHCP server hands clients its own gateway and name server to put itself in the middle of their traffic, or hands out wrong addresses that cut devices off.")
                } else {
                    format!("{server} offered or acknowledged DHCP leases in {segment}/{}, where {first} already answers: two DHCP servers on one segment (no learned baseline tells which is legitimate). A rogue DHCP server hands clients its own gateway and name server to put itself in the middle of their traffic.", if server.is_ipv4() { 24 } else { 64 })
                },
                remediation: "Find the server by its MAC address on the switches and remove it unless it is an approved one (then learn it); enable DHCP snooping so that only trusted ports may answer.".to_owned(),
            },
            || format!("DHCP server {server} answered (server identifier)"),
        ))
    }

    /// Adds a finished flow (or a window's part of one) to its conversation's volume bucket.
    /// While learning, the bucket's total raises the learned most; after, a bucket far above
    /// the learned most raises an alert. Conversations never learned are the policy engine's
    /// (new connection), not measured against anything.
    pub(crate) fn on_volume(
        &mut self,
        store: &mut AlertStore,
        baseline: &mut Baseline,
        learning: bool,
        f: &FlowInput,
    ) -> Option<(u64, bool)> {
        let key: ConversationKey = (f.client.ip(), f.server.ip(), f.transport, f.port());
        let learned = if learning {
            None
        } else {
            Some(baseline.volume(&key)?)
        };
        let duration = f.last_seen.saturating_sub(f.first_seen);
        let bytes = bucket_share(
            f.payload_bytes[0].saturating_add(f.payload_bytes[1]),
            duration,
        );
        let packets = bucket_share(f.packets[0].saturating_add(f.packets[1]), duration);
        let bucket = f.last_seen.div_euclid(VOLUME_BUCKET_NS);
        if self.volumes.len() >= MAX_KEYS && !self.volumes.contains_key(&key) {
            let horizon = bucket.saturating_sub(1);
            make_room(&mut self.volumes, horizon, |v| v.bucket);
        }
        let current = self.volumes.entry(key).or_default();
        let (bytes, packets) = if bucket > current.bucket || current.packets == 0 {
            *current = VolumeBucket {
                bucket,
                bytes,
                packets,
            };
            (bytes, packets)
        } else if bucket == current.bucket {
            current.bytes = current.bytes.saturating_add(bytes);
            current.packets = current.packets.saturating_add(packets);
            (current.bytes, current.packets)
        } else {
            // A flow that ended in an earlier bucket, reported late (a window's end flushes
            // flows in no order): measured alone rather than added to a later bucket.
            (bytes, packets)
        };
        let Some((most_bytes, most_packets)) = learned else {
            baseline.learn_volume(key, bytes, packets);
            return None;
        };
        let over = |now: u64, most: u64, excess: u64| {
            now > most.saturating_mul(VOLUME_FACTOR) && now - most >= excess
        };
        if !over(bytes, most_bytes, VOLUME_MIN_EXCESS_BYTES)
            && !over(packets, most_packets, VOLUME_MIN_EXCESS_PACKETS)
        {
            return None;
        }
        let factor = times(bytes, most_bytes).max(times(packets, most_packets));
        let (client, server) = (f.client.ip(), f.server.ip());
        let port = f.port();
        Some(store.raise(
            &Raise {
                kind: "anomaly.traffic_volume",
                engine: AlertEngine::Anomaly,
                severity: if factor >= VOLUME_MAJOR_FACTOR {
                    Severity::Major
                } else {
                    Severity::Minor
                },
                src: Some(client),
                dst: Some(server),
                key: StableHash::default()
                    .num(u64::from(f.transport))
                    .num(port.map_or(0, |p| u64::from(p) + 1))
                    .finish(),
                protocol: f.protocol,
                techniques: &["T0814"],
                time: f.last_seen,
                frame: Some(f.frame),
            },
            || Text {
                title: format!(
                    "Traffic from {client} to {server}{} far above its learned range",
                    port.map(|p| format!(" port {p}")).unwrap_or_default()
                ),
                description: format!(
                    "The conversation carried {bytes} payload bytes in {packets} packets within {} s, {factor} times the most it carried in {} s during learning ({most_bytes} bytes, {most_packets} packets). A flood of requests can overload a controller (denial of service); a bulk transfer on a usually quiet conversation can carry data away.",
                    VOLUME_BUCKET_NS / 1_000_000_000,
                    VOLUME_BUCKET_NS / 1_000_000_000
                ),
                remediation: "Find out what drives the traffic on the client (a misconfigured poller, a backup, a tool an intruder runs); if it is planned, learn it into the baseline.".to_owned(),
            },
            || {
                format!(
                    "{client} -> {} {bytes} bytes, {packets} packets in bucket {bucket} (learned most {most_bytes} bytes, {most_packets} packets)",
                    f.server
                )
            },
        ))
    }

    pub(crate) fn on_arp(
        &mut self,
        store: &mut AlertStore,
        a: &ArpInput,
    ) -> [Option<(u64, bool)>; 2] {
        let mut out = [None; 2];
        let sender = a.sender_ip;
        if a.operation == 1 && sender != a.target_ip {
            let w = self
                .arp_sweep
                .hit(sender, a.time, Some(u64::from(u32::from(a.target_ip))));
            if w.distinct() >= SCAN_THRESHOLD * 2 {
                out[0] = Some(store.raise(
                    &sweep(IpAddr::V4(sender), a.time, a.frame, "anomaly.arp_sweep"),
                    || Text {
                        title: format!("ARP address sweep from {sender}"),
                        description: format!("{sender} asked for at least {} addresses within {} s: a search for live hosts on the segment.", SCAN_THRESHOLD * 2, SCAN_WINDOW_NS / 1_000_000_000),
                        remediation: SCAN_REMEDIATION.to_owned(),
                    },
                    || format!("ARP who-has {} tell {sender}", a.target_ip),
                ));
            }
        }
        if sender.is_unspecified() {
            return out;
        }
        if self.bindings.len() >= MAX_KEYS && !self.bindings.contains_key(&sender) {
            make_room(
                &mut self.bindings,
                a.time.saturating_sub(ARP_BINDING_NS),
                |&(_, last)| last,
            );
        }
        let before = self.bindings.insert(sender, (a.sender_mac, a.time));
        if let Some((mac, last)) = before {
            if mac != a.sender_mac && a.time.saturating_sub(last) < ARP_BINDING_NS {
                let new_mac = a.sender_mac;
                out[1] = Some(store.raise(
                    &Raise {
                        kind: "anomaly.arp_spoofing",
                        engine: AlertEngine::Anomaly,
                        severity: Severity::Major,
                        src: Some(IpAddr::V4(sender)),
                        dst: None,
                        key: 0,
                        protocol: Some("arp"),
                        techniques: &["T0830"],
                        time: a.time,
                        frame: Some(a.frame),
                    },
                    || Text {
                        title: format!("ARP spoofing or address conflict on {sender}"),
                        description: format!("{sender} was claimed by {mac} and then by {new_mac} within {} s: two devices share the address, or one poisons ARP caches to intercept traffic.", ARP_BINDING_NS / 1_000_000_000),
                        remediation: "Find both devices by MAC on the switches; remove the duplicate or the attacker and consider static ARP entries or dynamic ARP inspection for controllers.".to_owned(),
                    },
                    || format!("{sender} is-at {new_mac} (was {mac})"),
                ));
            }
        }
        out
    }
}

const BRUTE_REMEDIATION: &str = "Block the source, check the target's logs for a successful login after the failures, and change its passwords; disable clear-text login services.";

fn brute(
    src: Option<IpAddr>,
    dst: Option<IpAddr>,
    key: u64,
    time: i64,
    frame: u64,
    protocol: Option<&str>,
) -> Raise<'_> {
    Raise {
        kind: "anomaly.brute_force",
        engine: AlertEngine::Anomaly,
        severity: Severity::Major,
        src,
        dst,
        key,
        protocol,
        techniques: &["T1110", "T0806"],
        time,
        frame: Some(frame),
    }
}

fn sweep(src: IpAddr, time: i64, frame: u64, kind: &'static str) -> Raise<'static> {
    Raise {
        kind,
        engine: AlertEngine::Anomaly,
        severity: Severity::Minor,
        src: Some(src),
        dst: None,
        key: 0,
        protocol: None,
        techniques: &["T0846"],
        time,
        frame: Some(frame),
    }
}

fn opt(ip: Option<IpAddr>) -> String {
    ip.map_or_else(|| "?".to_owned(), |ip| ip.to_string())
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;

    fn tcp(client: &str, server: &str, packets: [u64; 2], payload: [u64; 2]) -> FlowInput {
        let client: SocketAddr = client.parse().unwrap();
        let server: SocketAddr = server.parse().unwrap();
        FlowInput {
            frame: 1,
            client,
            server,
            transport: 6,
            has_ports: true,
            protocol: None,
            first_seen: 1_000_000_000,
            last_seen: 1_200_000_000,
            packets,
            payload_bytes: payload,
            answered: payload[1] > 0,
            server_is_group: false,
        }
    }

    /// The evidence (of the flow that reached the threshold) says in words whether the server
    /// answered: an analyst tells a scan of closed ports from sessions refused after talking.
    #[test]
    fn flow_evidence_says_whether_the_server_answered() {
        let (mut anomaly, mut store) = (Anomaly::default(), AlertStore::default());
        for port in 1..=SCAN_THRESHOLD as u16 {
            let probe = tcp(
                "10.0.0.66:40000",
                &format!("10.0.0.10:{port}"),
                [1, 1],
                [0, 0],
            );
            anomaly.on_flow(&mut store, &probe);
        }
        for source_port in 0..SHORT_SESSION_THRESHOLD as u16 {
            let session = tcp(
                &format!("10.0.0.66:{}", 41000 + source_port),
                "10.0.0.30:22",
                [12, 10],
                [1500, 1800],
            );
            anomaly.on_flow(&mut store, &session);
        }
        let alerts = store.all();
        let evidence = |kind: &str| {
            let alert = alerts.iter().find(|a| a.kind == kind).unwrap();
            alert.evidence[0].summary.clone()
        };
        assert_eq!(
            evidence("anomaly.vertical_scan"),
            "tcp 10.0.0.66:40000 -> 10.0.0.10:20 (2 packets, not answered)"
        );
        assert_eq!(
            evidence("anomaly.brute_force"),
            "tcp 10.0.0.66:41009 -> 10.0.0.30:22 (22 packets, answered)"
        );
    }

    fn snmp_request(detail: &str, time: i64) -> EventInput<'_> {
        EventInput {
            frame: 7,
            time,
            src: Some("10.0.0.66".parse().unwrap()),
            dst: Some("10.0.0.40".parse().unwrap()),
            src_mac: None,
            protocol: "snmp",
            category: EventCategory::Authentication,
            operation: SNMP_COMMUNITY_REQUEST,
            detail,
        }
    }

    /// Community guessing: the threshold-th distinct community raises a brute-force alert for
    /// SNMP; one community repeated at any rate (polling) raises nothing, and neither do the
    /// distinct communities of an earlier window.
    #[test]
    fn snmp_community_guessing_at_the_threshold() {
        let (mut anomaly, mut store) = (Anomaly::default(), AlertStore::default());
        for i in 0..1000 {
            assert!(anomaly
                .on_event(&mut store, &snmp_request("community #00000000000000aa", i))
                .is_none());
        }
        let tags: Vec<String> = (0..COMMUNITY_THRESHOLD)
            .map(|i| format!("community #{i:016x}"))
            .collect();
        // An earlier window's guesses do not add up with this window's.
        let later = BRUTE_WINDOW_NS * 2;
        for tag in &tags[..COMMUNITY_THRESHOLD - 2] {
            assert!(anomaly
                .on_event(&mut store, &snmp_request(tag, 2000))
                .is_none());
        }
        for tag in &tags[..COMMUNITY_THRESHOLD - 1] {
            assert!(anomaly
                .on_event(&mut store, &snmp_request(tag, later))
                .is_none());
        }
        assert!(store.all().is_empty());
        let raised = anomaly.on_event(
            &mut store,
            &snmp_request(&tags[COMMUNITY_THRESHOLD - 1], later + 1),
        );
        assert_eq!(raised.map(|(_, new)| new), Some(true));
        let alerts = store.all();
        assert_eq!(alerts.len(), 1);
        let alert = &alerts[0];
        assert_eq!(alert.kind, "anomaly.brute_force");
        assert_eq!(alert.engine, AlertEngine::Anomaly);
        assert_eq!(alert.protocol.as_deref(), Some("snmp"));
        assert_eq!(alert.dst_ip, Some("10.0.0.40".parse().unwrap()));
        assert!(alert.techniques.iter().any(|t| t.id == "T1110"));
        assert!(
            alert.title.contains("SNMP community guessing"),
            "{}",
            alert.title
        );
    }

    fn learned(servers: &[&str]) -> Baseline {
        let mut baseline = Baseline::default();
        for server in servers {
            baseline.learn_dhcp_server(server.parse().unwrap());
        }
        baseline
    }

    fn dhcp(
        anomaly: &mut Anomaly,
        store: &mut AlertStore,
        baseline: &Baseline,
        learning: bool,
        server: &str,
    ) -> Option<(u64, bool)> {
        anomaly.on_dhcp_server(store, baseline, learning, server.parse().unwrap(), 5, 9)
    }

    /// After learning, only servers the baseline does not know are rogue, however often the
    /// learned one answers; while learning nothing is.
    #[test]
    fn rogue_dhcp_against_the_learned_servers() {
        let (mut anomaly, mut store) = (Anomaly::default(), AlertStore::default());
        let baseline = learned(&["10.0.0.1"]);
        assert!(dhcp(&mut anomaly, &mut store, &baseline, true, "10.0.0.2").is_none());
        for _ in 0..3 {
            assert!(dhcp(&mut anomaly, &mut store, &baseline, false, "10.0.0.1").is_none());
        }
        assert!(dhcp(&mut anomaly, &mut store, &baseline, false, "10.0.0.66").is_some());
        let alerts = store.all();
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].kind, "anomaly.rogue_dhcp");
        assert_eq!(alerts[0].severity, Severity::Major);
        assert_eq!(alerts[0].src_ip, Some("10.0.0.66".parse().unwrap()));
        assert!(alerts[0].techniques.iter().any(|t| t.id == "T0830"));
        assert!(alerts[0].description.contains("during learning"));
    }

    /// Without learned DHCP servers: the first server of a segment is taken as legitimate, a
    /// second one in the same /24 is rogue, one in another /24 (another segment) is not.
    #[test]
    fn rogue_dhcp_without_a_baseline_is_a_second_server_on_a_segment() {
        let (mut anomaly, mut store) = (Anomaly::default(), AlertStore::default());
        let baseline = Baseline::default();
        assert!(dhcp(&mut anomaly, &mut store, &baseline, false, "10.0.0.1").is_none());
        assert!(dhcp(&mut anomaly, &mut store, &baseline, false, "10.0.0.1").is_none());
        assert!(dhcp(&mut anomaly, &mut store, &baseline, false, "10.0.1.1").is_none());
        assert!(dhcp(&mut anomaly, &mut store, &baseline, false, "10.0.0.254").is_some());
        let alerts = store.all();
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].src_ip, Some("10.0.0.254".parse().unwrap()));
        assert!(
            alerts[0].description.contains("10.0.0.0/24")
                && alerts[0].description.contains("10.0.0.1 already answers"),
            "{}",
            alerts[0].description
        );
    }

    fn conversation(bytes: u64, packets: u64, first_seen: i64, duration: i64) -> FlowInput {
        let mut flow = tcp("10.0.0.20:40000", "10.0.0.10:502", [0, 0], [0, 0]);
        flow.payload_bytes = [bytes / 2, bytes - bytes / 2];
        flow.packets = [packets / 2, packets - packets / 2];
        flow.first_seen = first_seen;
        flow.last_seen = first_seen + duration;
        flow.answered = true;
        flow.protocol = Some("modbus");
        flow
    }

    /// Learns one bucket of `bytes` and `packets` (in two flows, which add up) and returns the
    /// engine and baseline.
    fn learned_volume(bytes: u64, packets: u64) -> (Anomaly, AlertStore, Baseline) {
        let (mut anomaly, mut store) = (Anomaly::default(), AlertStore::default());
        let mut baseline = Baseline::default();
        for half in [bytes / 2, bytes - bytes / 2] {
            let flow = conversation(half, packets / 2, 1_000_000_000, 1_000_000_000);
            assert!(anomaly
                .on_volume(&mut store, &mut baseline, true, &flow)
                .is_none());
        }
        let key = (
            "10.0.0.20".parse().unwrap(),
            "10.0.0.10".parse().unwrap(),
            6,
            Some(502),
        );
        assert_eq!(baseline.volume(&key), Some((bytes, packets / 2 * 2)));
        (anomaly, store, baseline)
    }

    /// A bucket is out of range above [`VOLUME_FACTOR`] times the learned most and at least
    /// [`VOLUME_MIN_EXCESS_BYTES`] beyond it: at the factor exactly nothing, one byte more an
    /// alert; far above, a major one.
    #[test]
    fn traffic_volume_at_the_edge() {
        let most = VOLUME_MIN_EXCESS_BYTES;
        let (mut anomaly, mut store, mut baseline) = learned_volume(most, 100);
        let bucket = VOLUME_BUCKET_NS * 10;
        let at_factor = conversation(most * VOLUME_FACTOR, 100, bucket, 1_000_000_000);
        assert!(anomaly
            .on_volume(&mut store, &mut baseline, false, &at_factor)
            .is_none());
        // The next flow in the same bucket adds up: one byte over.
        let one_more = conversation(1, 0, bucket + 2_000_000_000, 0);
        let raised = anomaly.on_volume(&mut store, &mut baseline, false, &one_more);
        assert_eq!(raised.map(|(_, new)| new), Some(true));
        let alerts = store.all();
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].kind, "anomaly.traffic_volume");
        assert_eq!(alerts[0].severity, Severity::Minor);
        assert_eq!(alerts[0].protocol.as_deref(), Some("modbus"));
        assert!(alerts[0].techniques.iter().any(|t| t.id == "T0814"));
        // A later bucket starts afresh: the same flow alone is within range...
        let next = conversation(most, 100, bucket + VOLUME_BUCKET_NS, 0);
        assert!(anomaly
            .on_volume(&mut store, &mut baseline, false, &next)
            .is_none());
        // ...and far more (on a conversation not alerted yet: a repeat keeps its alert's
        // first severity) is major, just below that minor.
        for (bytes, severity) in [
            (most * VOLUME_MAJOR_FACTOR, Severity::Major),
            (most * VOLUME_MAJOR_FACTOR - 1, Severity::Minor),
        ] {
            let (mut anomaly, mut store, mut baseline) = learned_volume(most, 100);
            let flood = conversation(bytes, 100, bucket, 0);
            anomaly.on_volume(&mut store, &mut baseline, false, &flood);
            assert_eq!(store.all()[0].severity, severity);
        }
    }

    /// A small conversation must grow by [`VOLUME_MIN_EXCESS_BYTES`] (or
    /// [`VOLUME_MIN_EXCESS_PACKETS`]) however many times its learned most it carries.
    #[test]
    fn traffic_volume_needs_an_absolute_excess() {
        let (mut anomaly, mut store, mut baseline) = learned_volume(1000, 20);
        let big_ratio = conversation(
            1000 + VOLUME_MIN_EXCESS_BYTES - 1,
            20 + VOLUME_MIN_EXCESS_PACKETS - 1,
            VOLUME_BUCKET_NS * 10,
            0,
        );
        assert!(anomaly
            .on_volume(&mut store, &mut baseline, false, &big_ratio)
            .is_none());
        let packets_flood = conversation(0, 1, VOLUME_BUCKET_NS * 10, 0);
        assert!(
            anomaly
                .on_volume(&mut store, &mut baseline, false, &packets_flood)
                .is_some(),
            "one packet more makes the packet excess"
        );
    }

    /// A long flow counts in a bucket at its average rate (its window's or life's), and a
    /// conversation never learned is not measured.
    #[test]
    fn traffic_volume_of_long_and_unknown_flows() {
        let most = VOLUME_MIN_EXCESS_BYTES;
        let (mut anomaly, mut store, mut baseline) = learned_volume(most, 100);
        // Three times the learned most per bucket, for ten buckets: within range, though the
        // flow's total is thirty times the learned most.
        let long = conversation(most * 3 * 10, 1000, 0, VOLUME_BUCKET_NS * 10);
        assert!(anomaly
            .on_volume(&mut store, &mut baseline, false, &long)
            .is_none());
        assert_eq!(bucket_share(most * 50, VOLUME_BUCKET_NS * 10), most * 5);
        let mut unknown = conversation(most * 100, 100, VOLUME_BUCKET_NS * 20, 0);
        unknown.server = "10.0.0.11:502".parse().unwrap();
        assert!(anomaly
            .on_volume(&mut store, &mut baseline, false, &unknown)
            .is_none());
        assert!(store.all().is_empty());
    }
}
