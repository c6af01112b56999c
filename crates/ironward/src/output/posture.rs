//! The security posture of the analysed traffic: the report's top-level `recommendations` and
//! `initiatives`, computed by `ironward-posture` over one [`Asset`] per device.
//!
//! The report streams (devices first, then connections, events, alerts), so a device's asset is
//! built when the device passes and completed by what comes after it; only that compact summary
//! is kept (no facts, no conflicts), so memory grows with the number of devices and their
//! services, never with the traffic.

use std::collections::HashMap;

use ironward_model::address::is_internet;
use ironward_model::{
    Alert, AlertCapture, AnalysisReport, Connection, Device, Event, EventCategory, Finding, Stats,
};
use ironward_posture::{
    Asset, AssetService, AssetVulnerability, Authorization, Catalog, Domain, Posture, Settings,
};
use ironward_sensor::engine::ReportSink;
use ironward_sensor::services::{ip_proto, protocol_for_port};

use super::vulnerabilities::Vulnerabilities;
use super::TopLevel;

/// Internet peers kept per device: enough to name them in a recommendation; a device talking to
/// more is affected all the same.
const MAX_INTERNET_PEERS: usize = 32;

/// IT-side writers kept per device, for the same reason.
const MAX_IT_WRITE_SOURCES: usize = 32;

/// The largest Ethernet frame of a TCP segment without payload over IPv4: 14 bytes of Ethernet,
/// 4 of an 802.1Q tag, 20 of IPv4 and 40 of TCP (a SYN's 20-byte header with MSS, SACK,
/// timestamp and window-scale options).
const EMPTY_SEGMENT_FRAME_V4: u64 = 14 + 4 + 20 + 40;

/// The same over IPv6 (40-byte header).
const EMPTY_SEGMENT_FRAME_V6: u64 = 14 + 4 + 40 + 40;

/// The most frames a TCP session without data has: SYN, SYN-ACK and ACK, then a FIN and its ACK
/// each way. A scan's SYN, SYN-ACK, RST is three.
const EMPTY_SESSION_FRAMES: u64 = 7;

/// The event categories that change what a device does: writes, programs, modes, firmware,
/// configuration and process commands.
const WRITE_CATEGORIES: [EventCategory; 6] = [
    EventCategory::Write,
    EventCategory::ProgramDownload,
    EventCategory::ModeChange,
    EventCategory::FirmwareUpdate,
    EventCategory::ConfigurationChange,
    EventCategory::ControlCommand,
];

/// Whether one service of a device carried application data, from the connections and events
/// that reached it.
///
/// A TCP service is **unused** when at least one connection reached it and none of them, nor
/// any event, shows application data:
/// - every connection to it has at most [`EMPTY_SESSION_FRAMES`] frames per flow and frames of
///   at most [`EMPTY_SEGMENT_FRAME_V4`] bytes on average ([`EMPTY_SEGMENT_FRAME_V6`] over IPv6):
///   what opening and closing (or refusing) a session takes, as a port scan or a health check
///   that connects and hangs up does;
/// - no connection to it was named by a dissector with another protocol than the port's usual
///   one (a dissector is only chosen on payload);
/// - no event (an operation a dissector decoded) has the device at either end over the service's
///   protocol.
///
/// What this cannot tell apart: a session that carries only a few bytes in at most seven
/// frames — a short exchange of tiny messages, or the last keep-alives of a session opened
/// before the capture began (the SMB session of the shared `nbns/ndpi_netbios.pcapng`: two
/// 60-byte frames) — passes for empty; sizes alone do not separate them from a scan's SYN,
/// SYN-ACK, RST. UDP services are never unused: the device is only said to offer one when it
/// answered a datagram, and a datagram is application data.
#[derive(Debug, Clone, Copy, Default)]
struct Usage {
    /// A connection to the service was seen.
    reached: bool,
    /// Some connection or event showed application data.
    carried_data: bool,
}

/// What is kept of one device until the end of the report.
#[derive(Debug)]
struct Summary {
    asset: Asset,
    /// One per `asset.services`, in the same order.
    usage: Vec<Usage>,
    /// Whether its writes come from the IT side (see [`ironward_posture::is_it_side_writer`]).
    it_side: bool,
    /// The policy engine reported it as a new device.
    new_device: bool,
}

/// Collects one [`Asset`] per device from the report's parts and evaluates them.
#[derive(Debug)]
pub(crate) struct PostureBuilder {
    devices: Vec<Summary>,
    /// Device id → index in `devices`. Looked up twice per event: foldhash under a per-run seed
    /// (ids are made of addresses off the wire; SipHash cost a hundred instructions and more).
    index: HashMap<String, usize, foldhash::fast::RandomState>,
    /// The policy engine compared the traffic with a learned baseline (`--learning` or
    /// `--baseline-in`): devices are then authorized or not; otherwise unknown.
    baseline: bool,
}

impl PostureBuilder {
    /// A builder; `baseline` says whether the policy engine ran against a learned baseline.
    pub(crate) fn new(baseline: bool) -> Self {
        Self {
            devices: Vec::new(),
            index: HashMap::default(),
            baseline,
        }
    }

    /// Starts the device's asset, with the vulnerabilities matched for it.
    pub(crate) fn device(&mut self, device: &Device, vulnerabilities: Vec<AssetVulnerability>) {
        let speaks_ot = device
            .protocols
            .client
            .iter()
            .chain(&device.protocols.server)
            .any(|p| ironward_intel::behaviour::is_ot_protocol(p));
        // What makes the writer of an operation OT without counting the operation itself:
        // answering an industrial protocol, or running cyclic I/O (an IO controller).
        let ot_side = device
            .protocols
            .server
            .iter()
            .any(|p| ironward_intel::behaviour::is_ot_protocol(p))
            || device.protocols.client.iter().any(|p| is_cyclic_io(p));
        // The type when the rules gave one, else the role (their vocabularies share the OT
        // names: hmi, scada_server, engineering_workstation, historian).
        let kind = device.device_type.as_deref().or(device.role.as_deref());
        let domain = Domain::classify(kind, device.purdue_level, speaks_ot);
        let mut asset = Asset::new(device.id.0.clone(), domain);
        asset.ip = device.ips.first().copied();
        asset.name = device.hostnames.first().cloned();
        asset.device_type = device.device_type.clone();
        asset.vendor = device.vendor.clone();
        asset.model = device.model.clone();
        asset.firmware = device.firmware.clone();
        asset.os = device.os.clone();
        asset.purdue_level = device.purdue_level;
        asset.findings = device
            .findings
            .iter()
            .filter_map(|id| Finding::from_id(id))
            .collect();
        asset.services = device
            .services
            .iter()
            .map(|s| AssetService {
                transport: s.transport.clone(),
                port: s.port,
                protocol: s.protocol.clone(),
            })
            .collect();
        asset.vulnerabilities = vulnerabilities;
        let summary = Summary {
            usage: vec![Usage::default(); asset.services.len()],
            // Judged on `ot_side` (it answers an industrial protocol or runs cyclic I/O), not on
            // every industrial protocol it speaks.
            it_side: ironward_posture::is_it_side_writer(
                device.device_type.as_deref(),
                device.role.as_deref(),
                device.purdue_level,
                ot_side,
            ),
            new_device: false,
            asset,
        };
        match self.index.get(&device.id.0) {
            Some(&i) => self.devices[i] = summary,
            None => {
                self.index.insert(device.id.0.clone(), self.devices.len());
                self.devices.push(summary);
            }
        }
    }

    fn summary(&mut self, id: Option<&ironward_model::DeviceId>) -> Option<&mut Summary> {
        let i = *self.index.get(&id?.0)?;
        self.devices.get_mut(i)
    }

    /// Accounts a connection: service use at the server, internet peers of OT devices.
    pub(crate) fn connection(&mut self, c: &Connection) {
        if let (Some(server), Some(port)) = (self.summary(c.b.as_ref()), c.port) {
            if let Some(i) = server
                .asset
                .services
                .iter()
                .position(|s| s.transport == c.transport && s.port == port)
            {
                let usage = &mut server.usage[i];
                usage.reached = true;
                usage.carried_data |= carried_data(c, port);
            }
        }
        for (end, peer) in [(c.a.as_ref(), c.b_ip), (c.b.as_ref(), c.a_ip)] {
            if !is_internet(peer) {
                continue;
            }
            if let Some(summary) = self.summary(end) {
                let peers = &mut summary.asset.internet_peers;
                if summary.asset.domain == Domain::Ot
                    && peers.len() < MAX_INTERNET_PEERS
                    && !peers.contains(&peer)
                {
                    peers.push(peer);
                }
            }
        }
    }

    /// Accounts an event: its protocol was used at both ends; writes from the IT side.
    pub(crate) fn event(&mut self, e: &Event) {
        for end in [e.src.device.as_ref(), e.dst.device.as_ref()] {
            if let Some(summary) = self.summary(end) {
                for (service, usage) in summary.asset.services.iter().zip(&mut summary.usage) {
                    if service.protocol.as_deref() == Some(&*e.protocol) {
                        usage.carried_data = true;
                    }
                }
            }
        }
        // Cyclic I/O writes parameter records as a matter of course: the process, not access.
        if !WRITE_CATEGORIES.contains(&e.category) || is_cyclic_io(&e.protocol) {
            return;
        }
        let (Some(src), Some(dst)) = (e.src.device.as_ref(), e.dst.device.as_ref()) else {
            return;
        };
        if src == dst || !self.summary(Some(src)).is_some_and(|s| s.it_side) {
            return;
        }
        if let Some(target) = self.summary(Some(dst)) {
            let sources = &mut target.asset.it_write_sources;
            if sources.len() < MAX_IT_WRITE_SOURCES && !sources.contains(&src.0) {
                sources.push(src.0.clone());
            }
        }
    }

    /// Accounts an alert: the policy engine's new devices are the unauthorized ones.
    pub(crate) fn alert(&mut self, alert: &Alert) {
        if alert.kind != "policy.new_device" {
            return;
        }
        for id in &alert.devices {
            if let Some(summary) = self.summary(Some(id)) {
                summary.new_device = true;
            }
        }
    }

    /// The finished assets, in device order.
    pub(crate) fn into_assets(self) -> Vec<Asset> {
        let baseline = self.baseline;
        self.devices
            .into_iter()
            .map(|mut summary| {
                summary.asset.unused_services = summary
                    .asset
                    .services
                    .iter()
                    .zip(&summary.usage)
                    .filter(|(service, usage)| {
                        service.transport == "tcp" && usage.reached && !usage.carried_data
                    })
                    .map(|(service, _)| service.clone())
                    .collect();
                summary.asset.authorized = match (baseline, summary.new_device) {
                    (false, _) => Authorization::Unknown,
                    (true, true) => Authorization::Unauthorized,
                    (true, false) => Authorization::Authorized,
                };
                summary.asset
            })
            .collect()
    }

    /// Evaluates the assets with the built-in catalog and default settings (no weight or target
    /// overrides, no recommendation states: analyze has no console to keep them).
    pub(crate) fn evaluate(self) -> Posture {
        let assets = self.into_assets();
        ironward_posture::evaluate(&assets, Catalog::builtin(), &Settings::default())
    }
}

/// Whether `protocol` is cyclic I/O (PROFINET IO, CIP class 1, GOOSE, SV, EtherCAT): industrial
/// and not polled, in the words of `ironward_intel::behaviour`.
fn is_cyclic_io(protocol: &str) -> bool {
    ironward_intel::behaviour::is_ot_protocol(protocol)
        && !ironward_intel::behaviour::is_polled_protocol(protocol)
}

/// Whether a connection to a service carried application data (see [`Usage`]).
fn carried_data(c: &Connection, port: u16) -> bool {
    if c.transport != "tcp" {
        return true;
    }
    if c.protocol
        .as_deref()
        .is_some_and(|p| protocol_for_port(ip_proto::TCP, port) != Some(p))
    {
        return true;
    }
    let largest = if c.b_ip.is_ipv6() {
        EMPTY_SEGMENT_FRAME_V6
    } else {
        EMPTY_SEGMENT_FRAME_V4
    };
    c.packets > c.flows.saturating_mul(EMPTY_SESSION_FRAMES)
        || c.bytes > c.packets.saturating_mul(largest)
}

/// The posture of a whole report (for the table and CSV outputs, which hold it anyway).
pub(crate) fn posture_of(report: &AnalysisReport, baseline: bool) -> Posture {
    let mut builder = PostureBuilder::new(baseline);
    for device in &report.devices {
        builder.device(device, Vec::new());
    }
    for connection in &report.connections {
        builder.connection(connection);
    }
    for event in &report.events {
        builder.event(event);
    }
    for alert in &report.alerts {
        builder.alert(alert);
    }
    builder.evaluate()
}

/// A [`ReportSink`] that hands the report on to `inner` and, before the statistics, writes the
/// top-level `vulnerabilities` and `unmatched` (with `--ti`), then `recommendations` and
/// `initiatives`. Each device is matched against the package once; its vulnerabilities feed
/// both the arrays and its asset.
pub(crate) struct PostureSink<'p, S> {
    inner: S,
    builder: PostureBuilder,
    vulnerabilities: Option<Vulnerabilities<'p>>,
}

impl<'p, S> PostureSink<'p, S> {
    /// A sink writing to `inner`; `vulnerabilities` when a package was given, `baseline` as in
    /// [`PostureBuilder::new`].
    pub(crate) fn new(
        inner: S,
        vulnerabilities: Option<Vulnerabilities<'p>>,
        baseline: bool,
    ) -> Self {
        Self {
            inner,
            builder: PostureBuilder::new(baseline),
            vulnerabilities,
        }
    }
}

impl<S> ReportSink for PostureSink<'_, S>
where
    S: ReportSink<Error = anyhow::Error> + TopLevel,
{
    type Error = anyhow::Error;

    fn device(&mut self, device: Device) -> anyhow::Result<()> {
        let vulnerabilities = match &mut self.vulnerabilities {
            Some(v) => v.device(&device),
            None => Vec::new(),
        };
        self.builder.device(&device, vulnerabilities);
        self.inner.device(device)
    }

    fn connection(&mut self, connection: Connection) -> anyhow::Result<()> {
        self.builder.connection(&connection);
        self.inner.connection(connection)
    }

    fn event(&mut self, event: Event) -> anyhow::Result<()> {
        self.builder.event(&event);
        self.inner.event(event)
    }

    fn alert(&mut self, alert: Alert) -> anyhow::Result<()> {
        self.builder.alert(&alert);
        self.inner.alert(alert)
    }

    fn alert_capture(&mut self, capture: AlertCapture) -> anyhow::Result<()> {
        self.inner.alert_capture(capture)
    }

    fn stats(&mut self, stats: Stats) -> anyhow::Result<()> {
        if let Some(vulnerabilities) = self.vulnerabilities.take() {
            vulnerabilities.write(&mut self.inner)?;
        }
        let builder = std::mem::replace(&mut self.builder, PostureBuilder::new(false));
        let posture = builder.evaluate();
        self.inner
            .top_level("recommendations", &posture.recommendations)?;
        self.inner.top_level("initiatives", &posture.initiatives)?;
        self.inner.stats(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ironward_model::{DeviceId, EventEndpoint, Protocols, Service, Timestamp};

    /// A device with an address, a type or role, a level and protocols.
    fn device(
        id: &str,
        ip: &str,
        kind: Option<&str>,
        level: Option<u8>,
        client: &[&str],
        server: &[&str],
        services: &[(&str, u16, Option<&str>)],
    ) -> Device {
        Device {
            id: DeviceId(id.to_owned()),
            mac: None,
            ips: vec![ip.parse().unwrap()],
            vendor: None,
            hostnames: vec![],
            device_type: kind.map(str::to_owned),
            role: None,
            model: None,
            firmware: None,
            serial: None,
            os: None,
            state: None,
            purdue_level: level,
            purdue_reason: None,
            protocols: Protocols {
                client: client.iter().map(|p| p.to_string()).collect(),
                server: server.iter().map(|p| p.to_string()).collect(),
            },
            services: services
                .iter()
                .map(|(transport, port, protocol)| Service {
                    transport: transport.to_string(),
                    port: *port,
                    protocol: protocol.map(str::to_owned),
                })
                .collect(),
            facts: vec![],
            findings: vec![],
            conflicts: vec![],
            first_seen: Timestamp(0),
            last_seen: Timestamp(0),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn connection(
        a: &str,
        a_ip: &str,
        b: &str,
        b_ip: &str,
        transport: &str,
        port: u16,
        protocol: Option<&str>,
        (packets, bytes, flows): (u64, u64, u64),
    ) -> Connection {
        Connection {
            a: Some(DeviceId(a.to_owned())),
            b: Some(DeviceId(b.to_owned())),
            a_ip: a_ip.parse().unwrap(),
            b_ip: b_ip.parse().unwrap(),
            transport: transport.to_owned(),
            port: Some(port),
            protocol: protocol.map(str::to_owned),
            packets,
            bytes,
            flows,
            first_seen: Timestamp(0),
            last_seen: Timestamp(0),
        }
    }

    fn event(src: &str, dst: &str, protocol: &'static str, category: EventCategory) -> Event {
        Event {
            time: Timestamp(0),
            last_seen: Timestamp(0),
            count: 1,
            src: EventEndpoint {
                device: Some(DeviceId(src.to_owned())),
                ..EventEndpoint::default()
            },
            dst: EventEndpoint {
                device: Some(DeviceId(dst.to_owned())),
                ..EventEndpoint::default()
            },
            protocol: protocol.into(),
            category,
            operation: "op".into(),
            detail: String::new(),
            content_hash: None,
        }
    }

    fn asset<'a>(assets: &'a [Asset], id: &str) -> &'a Asset {
        assets.iter().find(|a| a.id == id).expect("asset")
    }

    #[test]
    fn a_service_is_unused_when_only_handshakes_and_no_operation_reached_it() {
        let plc = "mac:00:80:f4:00:00:01";
        let client = "mac:00:14:22:00:00:02";
        let mut b = PostureBuilder::new(false);
        b.device(
            &device(
                plc,
                "10.0.0.1",
                Some("plc"),
                Some(1),
                &[],
                &["modbus"],
                &[
                    ("tcp", 23, Some("telnet")),
                    ("tcp", 80, Some("http")),
                    ("tcp", 502, Some("modbus")),
                    ("tcp", 2000, None),
                    ("tcp", 4000, Some("enip")),
                    ("tcp", 8080, None),
                    ("tcp", 9999, None),
                    ("udp", 161, Some("snmp")),
                ],
            ),
            vec![],
        );
        b.device(
            &device(client, "10.0.0.2", None, None, &[], &[], &[]),
            vec![],
        );
        let c = |port, protocol, counts| {
            connection(
                client, "10.0.0.2", plc, "10.0.0.1", "tcp", port, protocol, counts,
            )
        };
        // A scan: SYN (74), SYN-ACK (74), RST (54) — 202 bytes in 3 frames.
        b.connection(&c(23, Some("telnet"), (3, 202, 1)));
        // Two sessions opened and closed empty: 7 frames each, 66 bytes on average.
        b.connection(&c(9999, None, (14, 924, 2)));
        // Pages fetched: far more than 78 bytes per frame.
        b.connection(&c(80, Some("http"), (10, 3_000, 1)));
        // Short Modbus polls hide under the size bound; the decoded read shows the use.
        b.connection(&c(502, Some("modbus"), (6, 420, 1)));
        b.event(&event(client, plc, "modbus", EventCategory::Read));
        // Eight small frames in one flow: more than an empty session has.
        b.connection(&c(2000, None, (8, 480, 1)));
        // A dissector named another protocol than the port's: it saw payload.
        b.connection(&c(4000, Some("enip"), (3, 200, 1)));
        // 8080 answered on a connection the report dropped: never reached, so not judged.
        // UDP: every answered datagram is application data.
        b.connection(&connection(
            client,
            "10.0.0.2",
            plc,
            "10.0.0.1",
            "udp",
            161,
            Some("snmp"),
            (2, 120, 1),
        ));
        let assets = b.into_assets();
        let unused: Vec<u16> = asset(&assets, plc)
            .unused_services
            .iter()
            .map(|s| s.port)
            .collect();
        assert_eq!(unused, [23, 9999]);
    }

    #[test]
    fn the_size_bound_is_wider_over_ipv6() {
        let server = "mac:00:00:00:00:00:01";
        let mut b = PostureBuilder::new(false);
        b.device(
            &device(
                server,
                "fd00::1",
                None,
                None,
                &[],
                &[],
                &[("tcp", 22, Some("ssh"))],
            ),
            vec![],
        );
        // 3 frames of 94 bytes (an IPv6 SYN with options): above the IPv4 bound, within IPv6's.
        b.connection(&connection(
            "x",
            "fd00::2",
            server,
            "fd00::1",
            "tcp",
            22,
            Some("ssh"),
            (3, 282, 1),
        ));
        let assets = b.into_assets();
        assert_eq!(asset(&assets, server).unused_services.len(), 1);
        assert!(!carried_data(
            &connection(
                "x",
                "fd00::2",
                server,
                "fd00::1",
                "tcp",
                22,
                None,
                (3, 294, 1)
            ),
            22
        ));
        assert!(carried_data(
            &connection(
                "x",
                "10.0.0.2",
                server,
                "10.0.0.1",
                "tcp",
                22,
                None,
                (3, 282, 1)
            ),
            22
        ));
    }

    #[test]
    fn internet_peers_are_kept_for_ot_devices_only() {
        let plc = "mac:00:80:f4:00:00:01";
        let laptop = "mac:00:14:22:00:00:02";
        let mut b = PostureBuilder::new(false);
        b.device(
            &device(plc, "10.0.0.1", Some("plc"), Some(1), &[], &["modbus"], &[]),
            vec![],
        );
        b.device(
            &device(
                laptop,
                "10.0.0.2",
                Some("workstation"),
                Some(4),
                &[],
                &[],
                &[],
            ),
            vec![],
        );
        let counts = (10, 1_000, 1);
        // Outbound to the internet, twice to the same peer; inbound from the internet.
        for (a, a_ip, b_ip) in [
            (plc, "10.0.0.1", "93.184.216.34"),
            (plc, "10.0.0.1", "93.184.216.34"),
            (plc, "10.0.0.1", "10.0.0.9"),
            (plc, "10.0.0.1", "203.0.113.10"),
            (laptop, "10.0.0.2", "93.184.216.34"),
        ] {
            b.connection(&connection(a, a_ip, "ip:x", b_ip, "tcp", 443, None, counts));
        }
        b.connection(&connection(
            "ip:185.1.1.1",
            "185.1.1.1",
            plc,
            "10.0.0.1",
            "tcp",
            502,
            None,
            counts,
        ));
        // A flood of peers is capped.
        for n in 0..100u8 {
            let peer = format!("45.0.0.{n}");
            b.connection(&connection(
                plc, "10.0.0.1", "ip:x", &peer, "udp", 53, None, counts,
            ));
        }
        let assets = b.into_assets();
        let peers = &asset(&assets, plc).internet_peers;
        assert_eq!(peers.len(), MAX_INTERNET_PEERS);
        assert_eq!(
            peers[0],
            "93.184.216.34".parse::<std::net::IpAddr>().unwrap()
        );
        assert_eq!(peers[1], "185.1.1.1".parse::<std::net::IpAddr>().unwrap());
        assert!(asset(&assets, laptop).internet_peers.is_empty());
    }

    #[test]
    fn writes_from_the_it_side_name_their_source() {
        let plc = "mac:00:80:f4:00:00:01";
        let io = "mac:00:09:91:00:00:01";
        let office = "mac:00:14:22:00:00:02"; // a workstation at level 4
        let unknown = "mac:b8:27:eb:00:00:03"; // level 3 only because it writes Modbus
        let hmi = "mac:00:14:22:00:00:04";
        let mut ews = device(
            "mac:00:14:22:00:00:05",
            "10.0.0.5",
            None,
            Some(2),
            &["s7comm"],
            &[],
            &[],
        );
        ews.role = Some("engineering_workstation".to_owned());
        let io_controller = "mac:00:1c:06:00:00:06"; // level 3, runs PROFINET IO
        let mut b = PostureBuilder::new(false);
        for d in [
            device(plc, "10.0.0.1", Some("plc"), Some(1), &[], &["modbus"], &[]),
            device(
                io,
                "10.0.0.7",
                Some("io_device"),
                Some(0),
                &["pn_io"],
                &[],
                &[],
            ),
            device(
                office,
                "10.0.0.2",
                Some("workstation"),
                Some(4),
                &["modbus"],
                &[],
                &[],
            ),
            device(unknown, "10.0.0.3", None, Some(3), &["modbus"], &[], &[]),
            device(hmi, "10.0.0.4", Some("hmi"), Some(2), &["modbus"], &[], &[]),
            ews.clone(),
            device(
                io_controller,
                "10.0.0.6",
                None,
                Some(3),
                &["pn_io"],
                &[],
                &[],
            ),
        ] {
            b.device(&d, vec![]);
        }
        for (src, dst, protocol, category) in [
            (office, plc, "modbus", EventCategory::Write),
            (office, plc, "modbus", EventCategory::Write),
            (unknown, plc, "modbus", EventCategory::ControlCommand),
            (hmi, plc, "modbus", EventCategory::Write),
            (
                ews.id.0.as_str(),
                plc,
                "s7comm",
                EventCategory::ProgramDownload,
            ),
            (office, plc, "modbus", EventCategory::Read),
            (
                io_controller,
                io,
                "pn_io",
                EventCategory::ConfigurationChange,
            ),
            // Running cyclic I/O makes it an IO controller: the OT side.
            (io_controller, plc, "modbus", EventCategory::Write),
            (office, io, "pn_io", EventCategory::ConfigurationChange),
        ] {
            b.event(&event(src, dst, protocol, category));
        }
        let assets = b.into_assets();
        assert_eq!(asset(&assets, plc).it_write_sources, [office, unknown]);
        // Cyclic I/O writes parameter records as a matter of course, whoever sends them.
        assert!(asset(&assets, io).it_write_sources.is_empty());
        assert!(asset(&assets, office).it_write_sources.is_empty());
    }

    #[test]
    fn authorization_is_known_only_against_a_baseline() {
        let new = "mac:00:00:00:00:00:01";
        let old = "mac:00:00:00:00:00:02";
        let alert = Alert {
            id: "1".to_owned(),
            kind: "policy.new_device".to_owned(),
            title: String::new(),
            description: String::new(),
            engine: ironward_model::AlertEngine::Policy,
            severity: ironward_model::Severity::Minor,
            src_ip: Some("10.0.0.1".parse().unwrap()),
            dst_ip: None,
            devices: vec![DeviceId(new.to_owned())],
            protocol: None,
            techniques: vec![],
            evidence: vec![],
            remediation: String::new(),
            count: 1,
            first_seen: Timestamp(0),
            last_seen: Timestamp(0),
            pcap: None,
        };
        let other = Alert {
            kind: "policy.new_connection".to_owned(),
            devices: vec![DeviceId(old.to_owned())],
            ..alert.clone()
        };
        for baseline in [false, true] {
            let mut b = PostureBuilder::new(baseline);
            b.device(&device(new, "10.0.0.1", None, None, &[], &[], &[]), vec![]);
            b.device(&device(old, "10.0.0.2", None, None, &[], &[], &[]), vec![]);
            b.alert(&alert);
            b.alert(&other);
            let assets = b.into_assets();
            let expected = if baseline {
                [Authorization::Unauthorized, Authorization::Authorized]
            } else {
                [Authorization::Unknown, Authorization::Unknown]
            };
            assert_eq!(
                [
                    asset(&assets, new).authorized,
                    asset(&assets, old).authorized
                ],
                expected
            );
        }
    }

    #[test]
    fn the_asset_carries_identity_findings_and_vulnerabilities() {
        let mut d = device(
            "mac:00:1c:0e:00:00:01",
            "10.0.0.1",
            None,
            Some(2),
            &[],
            &["telnet"],
            &[("tcp", 23, Some("telnet"))],
        );
        d.ips.push("fe80::1".parse().unwrap());
        d.hostnames = vec!["sw-01".to_owned(), "sw-01.plant".to_owned()];
        d.role = Some("ot_network_device".to_owned());
        d.vendor = Some("Cisco".to_owned());
        d.firmware = Some("15.2(7)E4".to_owned());
        // An id this build does not know is left out, not an error.
        d.findings = vec!["telnet_in_use".to_owned(), "from_the_future".to_owned()];
        let mut b = PostureBuilder::new(false);
        let cve = AssetVulnerability {
            cve: "CVE-2024-0001".to_owned(),
            cvss: Some(9.8),
            kev: true,
        };
        b.device(&d, vec![cve.clone()]);
        let assets = b.into_assets();
        let a = asset(&assets, "mac:00:1c:0e:00:00:01");
        assert_eq!(a.ip, Some("10.0.0.1".parse().unwrap()));
        assert_eq!(a.name.as_deref(), Some("sw-01"));
        // No type: the role decides the domain.
        assert_eq!(a.domain, Domain::Ot);
        assert_eq!(a.vendor.as_deref(), Some("Cisco"));
        assert_eq!(a.firmware.as_deref(), Some("15.2(7)E4"));
        assert_eq!(a.findings, [Finding::TelnetInUse]);
        assert_eq!(a.services.len(), 1);
        assert_eq!(a.vulnerabilities, [cve]);
    }

    #[test]
    fn one_match_per_device_feeds_the_vulnerabilities_and_the_posture() {
        use ironward_intel::ti::matching::Matcher;
        use ironward_intel::vuln::{AffectedProduct, KevEntry, VulnRecord};
        use ironward_model::device::ReportedFact;

        // A critical, known-exploited CVE of Modicon M340 CPUs below SV3.65.
        let records = vec![VulnRecord {
            cve: "CVE-2024-8936".to_owned(),
            title: String::new(),
            cvss_score: Some(9.8),
            cvss_vector: None,
            cwe: vec![],
            advisories: vec!["ICSA-24-354-01".to_owned()],
            references: vec![],
            affected: vec![AffectedProduct {
                vendor: "Schneider Electric".to_owned(),
                product: "Modicon M340 CPU (part numbers BMXP34*)".to_owned(),
                model_numbers: vec![],
                versions: "<SV3.65".to_owned(),
                fixed_in: vec!["SV3.65".to_owned()],
            }],
            remediation: vec![],
            kev: Some(KevEntry {
                date_added: "2024-12-20".to_owned(),
                due_date: None,
                ransomware: false,
                required_action: String::new(),
            }),
        }];
        let plc = "mac:00:80:f4:00:00:01";
        let mut m340 = device(
            plc,
            "10.0.0.1",
            Some("plc"),
            Some(1),
            &[],
            &["modbus"],
            &[("tcp", 502, Some("modbus"))],
        );
        m340.vendor = Some("Schneider Electric".to_owned());
        m340.firmware = Some("v3.60".to_owned());
        m340.facts = vec![ReportedFact {
            attribute: "product_code".into(),
            value: "BMX P34 2020".into(),
            source: "modbus".into(),
            confidence: 90,
            selected: true,
            evidence: None,
        }];
        let mut out = Vec::new();
        let mut sink = PostureSink::new(
            super::super::JsonStream::new(&mut out),
            Some(Vulnerabilities::new(Matcher::new(&records))),
            false,
        );
        sink.device(m340).unwrap();
        sink.stats(Stats::default()).unwrap();
        let text = String::from_utf8(out).unwrap();
        // The top-level keys in document order.
        let keys = [
            "devices",
            "connections",
            "events",
            "alerts",
            "vulnerabilities",
            "unmatched",
            "recommendations",
            "initiatives",
            "stats",
        ];
        let positions: Vec<usize> = keys
            .iter()
            .map(|k| text.find(&format!("\n  \"{k}\": ")).expect(k))
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["vulnerabilities"][0]["device"], plc);
        assert_eq!(doc["vulnerabilities"][0]["cve"], "CVE-2024-8936");
        let listed = |id: &str| -> Vec<String> {
            doc["recommendations"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["id"] == id)
                .flat_map(|r| r["devices"].as_array().unwrap().clone())
                .map(|d| d["id"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(listed("vulnerabilities-critical"), [plc]);
        assert_eq!(listed("vulnerabilities-kev"), [plc]);
    }
}
