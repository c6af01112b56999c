//! The anomaly engine: port scans (horizontal and vertical), address sweeps (ARP, ICMP), brute
//! force (failed logins; repeated short sessions to login services), ARP spoofing (an address
//! claimed by a second MAC), and OT devices talking to public addresses.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use ironward_model::{AlertEngine, EventCategory, MacAddress, Severity};

use super::alerts::{AlertStore, Raise, StableHash, Text};
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
        }
    }
}

/// A TCP connection attempt that exchanged no data: what a port scan leaves.
fn is_probe(f: &FlowInput) -> bool {
    f.transport == 6 && f.payload_bytes[0] == 0 && f.payload_bytes[1] == 0 && f.packets[0] <= 3
}

fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_unspecified()
                || v4.is_documentation()
                // 100.64.0.0/10, carrier-grade NAT
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64))
        }
        IpAddr::V6(v6) => (v6.segments()[0] & 0xe000) == 0x2000,
    }
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
        if f.answered && is_public(dst) && !is_public(src) && self.ot_devices.contains_key(&src) {
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
        if e.category != EventCategory::Authentication || !e.detail.contains("fail") {
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
}
