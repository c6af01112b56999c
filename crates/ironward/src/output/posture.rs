//! The security posture of the analysed traffic: the report's top-level `recommendations` and
//! `initiatives`, computed by `ironward-posture` over one [`Asset`] per device.
//!
//! The report streams (devices first, then connections, events, alerts), so a device's asset is
//! built when the device passes and completed by what comes after it; only that compact summary
//! is kept (no facts, no conflicts), so memory grows with the number of devices and their
//! services, never with the traffic.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

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
/// A session that carries only a few bytes in at most seven frames passes for empty; one kept
/// open with keep-alives does not. UDP services are never unused: the device is only said to
/// offer one when it answered a datagram, and a datagram is application data.
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
    /// Whether its writes come from the IT side (see [`is_it_side`]).
    it_side: bool,
    /// The policy engine reported it as a new device.
    new_device: bool,
}

/// Collects one [`Asset`] per device from the report's parts and evaluates them.
#[derive(Debug)]
pub(crate) struct PostureBuilder {
    devices: Vec<Summary>,
    /// Device id → index in `devices`.
    index: HashMap<String, usize>,
    /// The policy engine compared the traffic with a learned baseline (`--learning` or
    /// `--baseline-in`): devices are then authorized or not; otherwise unknown.
    baseline: bool,
}

impl PostureBuilder {
    /// A builder; `baseline` says whether the policy engine ran against a learned baseline.
    pub(crate) fn new(baseline: bool) -> Self {
        Self {
            devices: Vec::new(),
            index: HashMap::new(),
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
        let serves_ot = device
            .protocols
            .server
            .iter()
            .any(|p| ironward_intel::behaviour::is_ot_protocol(p));
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
            it_side: is_it_side(device, kind, serves_ot),
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
        if !WRITE_CATEGORIES.contains(&e.category) {
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

/// Whether a device's writes come from the IT side: Purdue level 4 or 5, or the IT domain —
/// judged on its type and level and on the industrial protocols it *answers* only, since the
/// writes in question are made over industrial protocols and must not by themselves make the
/// writer an OT device. Engineering workstations (by type or role) are the OT side's own
/// writers and never count.
fn is_it_side(device: &Device, kind: Option<&str>, serves_ot: bool) -> bool {
    let engineering = |v: &Option<String>| v.as_deref() == Some("engineering_workstation");
    if engineering(&device.device_type) || engineering(&device.role) {
        return false;
    }
    device.purdue_level.is_some_and(|level| level >= 4)
        || Domain::classify(kind, device.purdue_level, serves_ot) == Domain::It
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

/// Whether `ip` is an internet address: not private (RFC 1918, IPv6 unique-local), loopback,
/// link-local, multicast, broadcast, shared (CGNAT, 100.64.0.0/10), documentation, benchmarking
/// (198.18.0.0/15, 2001:2::/48), "this network" (0.0.0.0/8), reserved (240.0.0.0/4) or IETF
/// protocol assignments (192.0.0.0/24). IPv6 addresses are internet addresses only in global
/// unicast space (2000::/3); an IPv4-mapped address is judged as the IPv4 address.
pub(crate) fn is_internet(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internet_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_internet_v4(v4),
            None => is_internet_v6(v6),
        },
    }
}

fn is_internet_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let special = a == 0
        || a == 10
        || a == 127
        || a >= 224 // multicast, reserved, broadcast
        || (a == 100 && (64..128).contains(&b))
        || (a == 169 && b == 254)
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 168)
        || (a == 192 && b == 0 && c == 0)
        || (a == 192 && b == 0 && c == 2)
        || (a == 198 && (b == 18 || b == 19))
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113);
    !special
}

fn is_internet_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let global_unicast = s[0] & 0xe000 == 0x2000;
    let documentation = s[0] == 0x2001 && s[1] == 0x0db8;
    let benchmarking = s[0] == 0x2001 && s[1] == 0x0002 && s[2] == 0;
    global_unicast && !documentation && !benchmarking
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
