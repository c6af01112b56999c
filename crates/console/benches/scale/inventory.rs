//! A synthetic plant inventory for the scale benchmark: devices of many kinds with the facts a
//! sensor would report for them, the connections between them and the operations on those
//! connections, cut into sensor batches the way `ironward sensor` cuts its windows.
//!
//! Everything is a pure function of (zone, index) and a fixed seed, so every run and every
//! backend ingests exactly the same data, and a connection can name its peers' device ids
//! without a lookup table.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr};

use ironward_model::{
    Batch, Connection, Device, DeviceId, Event, EventCategory, EventEndpoint, MacAddress,
    Protocols, ReportedFact, SensorHealth, Service, Timestamp,
};

/// How big the inventory is and how it is cut into batches.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    /// Devices over all zones.
    pub(crate) devices: usize,
    /// Connections over all zones.
    pub(crate) connections: usize,
    /// Zones (one sensor each).
    pub(crate) zones: usize,
    /// Devices per batch.
    pub(crate) devices_per_batch: usize,
    /// Connections per batch.
    pub(crate) connections_per_batch: usize,
    /// Events per batch.
    pub(crate) events_per_batch: usize,
}

impl Plan {
    fn per_zone(&self, total: usize, zone: usize) -> usize {
        total / self.zones + usize::from(zone < total % self.zones)
    }

    /// Devices in `zone`.
    pub(crate) fn zone_devices(&self, zone: usize) -> usize {
        self.per_zone(self.devices, zone)
    }

    /// Connections in `zone`.
    pub(crate) fn zone_connections(&self, zone: usize) -> usize {
        self.per_zone(self.connections, zone)
    }

    /// Batches each zone's sensor sends.
    pub(crate) fn batches_per_zone(&self) -> usize {
        let devices = self.zone_devices(0).div_ceil(self.devices_per_batch.max(1));
        let connections = self
            .zone_connections(0)
            .div_ceil(self.connections_per_batch.max(1));
        devices.max(connections).max(1)
    }
}

/// One kind of device: who makes it, what it is, what it speaks.
struct Profile {
    weight: u32,
    vendor: &'static str,
    oui: [u8; 3],
    device_type: &'static str,
    role: Option<&'static str>,
    host_prefix: &'static str,
    models: &'static [&'static str],
    firmwares: &'static [&'static str],
    os: Option<&'static str>,
    /// (protocol, transport, port) the device answers; the first is what peers use most.
    serves: &'static [(&'static str, &'static str, u16)],
    /// Protocols the device starts.
    speaks: &'static [&'static str],
    /// The source that reports model and firmware.
    source: &'static str,
    purdue: u8,
}

const PROFILES: &[Profile] = &[
    Profile {
        weight: 9,
        vendor: "Siemens",
        oui: [0x00, 0x1b, 0x1b],
        device_type: "plc",
        role: Some("controller"),
        host_prefix: "plc",
        models: &[
            "S7-1500 CPU 1516-3 PN/DP",
            "S7-1200 CPU 1214C",
            "S7-300 CPU 315-2 PN/DP",
            "S7-400 CPU 416-3",
        ],
        firmwares: &["V2.9.4", "V2.8.3", "V4.5.2", "V3.3.17", "V6.0.8"],
        os: None,
        serves: &[
            ("s7comm", "tcp", 102),
            ("profinet_dcp", "udp", 34964),
            ("snmp", "udp", 161),
        ],
        speaks: &["profinet_dcp"],
        source: "s7comm",
        purdue: 1,
    },
    Profile {
        weight: 7,
        vendor: "Rockwell Automation",
        oui: [0x00, 0x00, 0xbc],
        device_type: "plc",
        role: Some("controller"),
        host_prefix: "clx",
        models: &[
            "1756-L83E ControlLogix 5580",
            "1769-L33ER CompactLogix",
            "5069-L320ER",
        ],
        firmwares: &["33.011", "32.012", "34.014", "30.014"],
        os: None,
        serves: &[
            ("enip", "tcp", 44818),
            ("enip", "udp", 2222),
            ("http", "tcp", 80),
        ],
        speaks: &["enip"],
        source: "enip",
        purdue: 1,
    },
    Profile {
        weight: 6,
        vendor: "Schneider Electric",
        oui: [0x00, 0x80, 0xf4],
        device_type: "plc",
        role: Some("controller"),
        host_prefix: "m580",
        models: &["BMX P34 2020", "BME P58 4040", "TM241CE24T"],
        firmwares: &["v3.20", "v2.90", "v5.1.9"],
        os: None,
        serves: &[
            ("modbus", "tcp", 502),
            ("http", "tcp", 80),
            ("ftp", "tcp", 21),
        ],
        speaks: &[],
        source: "modbus",
        purdue: 1,
    },
    Profile {
        weight: 3,
        vendor: "ABB",
        oui: [0x00, 0x0c, 0x02],
        device_type: "rtu",
        role: Some("outstation"),
        host_prefix: "rtu",
        models: &["RTU560 560CMU05", "RTU540 CMG10", "REF615"],
        firmwares: &["13.2.1", "12.7.4", "5.0 FP1"],
        os: None,
        serves: &[("iec104", "tcp", 2404), ("dnp3", "tcp", 20000)],
        speaks: &[],
        source: "iec104",
        purdue: 1,
    },
    Profile {
        weight: 4,
        vendor: "Honeywell",
        oui: [0x00, 0x40, 0x84],
        device_type: "building_controller",
        role: Some("controller"),
        host_prefix: "bms",
        models: &["Spyder PUB6438S", "WEB-8000", "CIPer 50"],
        firmwares: &["4.4.1", "4.8.0.110", "1.2.3"],
        os: None,
        serves: &[("bacnet", "udp", 47808), ("fox", "tcp", 1911)],
        speaks: &["bacnet"],
        source: "bacnet",
        purdue: 1,
    },
    Profile {
        weight: 4,
        vendor: "Siemens",
        oui: [0x00, 0x0e, 0x8c],
        device_type: "hmi",
        role: Some("operator_station"),
        host_prefix: "hmi",
        models: &["SIMATIC TP1200 Comfort", "SIMATIC KTP700 Basic", "IPC477E"],
        firmwares: &["V16.0.0.0", "V17.0.0.1", "V15.1.0.0"],
        os: Some("Windows Embedded Standard 7"),
        serves: &[("http", "tcp", 80), ("rfb", "tcp", 5900)],
        speaks: &["s7comm", "modbus"],
        source: "s7comm",
        purdue: 2,
    },
    Profile {
        weight: 3,
        vendor: "Dell",
        oui: [0xf8, 0xbc, 0x12],
        device_type: "workstation",
        role: Some("engineering_workstation"),
        host_prefix: "ews",
        models: &["Precision 3660", "OptiPlex 7090", "Precision 7560"],
        firmwares: &["2.14.0", "1.21.0"],
        os: Some("Windows 10 Enterprise LTSC 2019"),
        serves: &[("smb", "tcp", 445), ("rdp", "tcp", 3389)],
        speaks: &["s7comm", "enip", "modbus", "http", "tls", "dns"],
        source: "smb",
        purdue: 2,
    },
    Profile {
        weight: 3,
        vendor: "Hewlett Packard Enterprise",
        oui: [0x94, 0x40, 0xc9],
        device_type: "server",
        role: Some("historian"),
        host_prefix: "srv",
        models: &["ProLiant DL360 Gen10", "ProLiant DL380 Gen11"],
        firmwares: &["U32 v2.72", "U54 v1.40"],
        os: Some("Windows Server 2019 Standard"),
        serves: &[
            ("opcua", "tcp", 4840),
            ("tls", "tcp", 443),
            ("smb", "tcp", 445),
            ("mssql", "tcp", 1433),
        ],
        speaks: &["opcua", "modbus", "dns", "ntp"],
        source: "opcua",
        purdue: 3,
    },
    Profile {
        weight: 5,
        vendor: "Cisco Systems",
        oui: [0x00, 0x1e, 0x7a],
        device_type: "switch",
        role: Some("switch"),
        host_prefix: "sw",
        models: &["IE-4000-8GT4G4E", "Catalyst 9300-48P", "IE-3400-8P2S"],
        firmwares: &["15.2(7)E4", "17.6.3", "17.9.1"],
        os: Some("Cisco IOS"),
        serves: &[
            ("snmp", "udp", 161),
            ("ssh", "tcp", 22),
            ("tls", "tcp", 443),
        ],
        speaks: &["lldp", "cdp"],
        source: "cdp",
        purdue: 2,
    },
    Profile {
        weight: 3,
        vendor: "Hirschmann",
        oui: [0xec, 0xe5, 0x55],
        device_type: "switch",
        role: Some("switch"),
        host_prefix: "rs",
        models: &["RSP35", "GRS1042", "MACH104"],
        firmwares: &["09.1.00", "08.7.02"],
        os: Some("HiOS"),
        serves: &[("snmp", "udp", 161), ("http", "tcp", 80)],
        speaks: &["lldp"],
        source: "lldp",
        purdue: 2,
    },
    Profile {
        weight: 5,
        vendor: "Axis Communications",
        oui: [0x00, 0x40, 0x8c],
        device_type: "ip_camera",
        role: None,
        host_prefix: "cam",
        models: &["P3245-LVE", "M3106-L Mk II", "Q6135-LE"],
        firmwares: &["10.12.153", "9.80.3.8", "11.2.68"],
        os: Some("AXIS OS"),
        serves: &[
            ("rtsp", "tcp", 554),
            ("http", "tcp", 80),
            ("tls", "tcp", 443),
        ],
        speaks: &["ntp", "dns"],
        source: "http",
        purdue: 3,
    },
    Profile {
        weight: 4,
        vendor: "Hewlett Packard",
        oui: [0x3c, 0xd9, 0x2b],
        device_type: "printer",
        role: None,
        host_prefix: "prn",
        models: &[
            "LaserJet Pro M404dn",
            "Color LaserJet MFP M479fdw",
            "OfficeJet Pro 9020",
        ],
        firmwares: &["002_2310A", "20230209", "2409180_000547"],
        os: None,
        serves: &[
            ("ipp", "tcp", 631),
            ("pjl", "tcp", 9100),
            ("http", "tcp", 80),
        ],
        speaks: &["mdns"],
        source: "pjl",
        purdue: 4,
    },
    Profile {
        weight: 4,
        vendor: "Polycom",
        oui: [0x00, 0x04, 0xf2],
        device_type: "voip_phone",
        role: None,
        host_prefix: "phone",
        models: &["VVX 411", "CCX 500", "VVX 250"],
        firmwares: &["6.4.3.5018", "7.2.2.1094"],
        os: None,
        serves: &[("sip", "udp", 5060), ("http", "tcp", 80)],
        speaks: &["sip", "dhcp"],
        source: "sip",
        purdue: 4,
    },
    Profile {
        weight: 8,
        vendor: "Lenovo",
        oui: [0x54, 0xe1, 0xad],
        device_type: "laptop",
        role: None,
        host_prefix: "lt",
        models: &[
            "ThinkPad T14 Gen 3",
            "ThinkPad X1 Carbon Gen 10",
            "ThinkPad L15",
        ],
        firmwares: &["N3MET18W", "N3AET75W"],
        os: Some("Windows 11 Enterprise"),
        serves: &[("smb", "tcp", 445)],
        speaks: &["http", "tls", "dns", "smb", "ntp"],
        source: "dhcp",
        purdue: 4,
    },
    Profile {
        weight: 4,
        vendor: "Moxa",
        oui: [0x00, 0x90, 0xe8],
        device_type: "gateway",
        role: Some("protocol_gateway"),
        host_prefix: "gw",
        models: &["MGate 5105-MB-EIP", "NPort 5150", "ioLogik E1212"],
        firmwares: &["4.3", "3.11", "3.2"],
        os: None,
        serves: &[
            ("modbus", "tcp", 502),
            ("mqtt", "tcp", 1883),
            ("http", "tcp", 80),
        ],
        speaks: &["mqtt"],
        source: "modbus",
        purdue: 1,
    },
    Profile {
        weight: 2,
        vendor: "Schneider Electric",
        oui: [0x00, 0xc0, 0xb7],
        device_type: "ups",
        role: None,
        host_prefix: "ups",
        models: &["Smart-UPS SRT 3000", "Galaxy VS"],
        firmwares: &["UPS 09.8 / NMC 2.1.0.6"],
        os: None,
        serves: &[("snmp", "udp", 161), ("http", "tcp", 80)],
        speaks: &[],
        source: "snmp",
        purdue: 3,
    },
    Profile {
        weight: 3,
        vendor: "Phoenix Contact",
        oui: [0x00, 0xa0, 0x45],
        device_type: "remote_io",
        role: Some("io"),
        host_prefix: "io",
        models: &["AXL F BK PN", "IL ETH BK DI8 DO4"],
        firmwares: &["1.3.0", "2.12"],
        os: None,
        serves: &[("profinet_io", "udp", 34964), ("modbus", "tcp", 502)],
        speaks: &[],
        source: "profinet_dcp",
        purdue: 0,
    },
];

/// The SCADA servers that poll the plant: the first [`HUBS`] devices of every zone.
const HUBS: usize = 50;

/// Times start here (2026-11-01T00:00:00Z) and span about a month.
const T0: i64 = 1_793_491_200_000_000_000;
const DAY: i64 = 86_400_000_000_000;

/// SplitMix64: small, fast and good enough to vary synthetic data.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n.max(1) as u64).unwrap_or(0)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn seed(zone: usize, index: usize, salt: u64) -> u64 {
    ((zone as u64) << 40) ^ (index as u64) ^ (salt << 56)
}

/// What is fixed about a device: enough for a connection to name it.
struct Identity {
    profile: &'static Profile,
    mac: Option<MacAddress>,
    ip: Ipv4Addr,
    hub: bool,
}

impl Identity {
    fn of(zone: usize, index: usize) -> Self {
        let mut rng = Rng::new(seed(zone, index, 1));
        let hub = index < HUBS;
        let profile = if hub {
            &PROFILES[7]
        } else {
            let total: u32 = PROFILES.iter().map(|p| p.weight).sum();
            let mut roll = u32::try_from(rng.next() % u64::from(total)).unwrap_or(0);
            PROFILES
                .iter()
                .find(|p| {
                    if roll < p.weight {
                        true
                    } else {
                        roll -= p.weight;
                        false
                    }
                })
                .unwrap_or(&PROFILES[0])
        };
        // One in ten devices sits behind a router: known by its address only.
        let routed = !hub && rng.chance(10);
        let serial = ((zone as u32) << 20) | (index as u32 & 0xf_ffff);
        let mac = (!routed).then(|| {
            let [_, a, b, c] = serial.to_be_bytes();
            MacAddress([profile.oui[0], profile.oui[1], profile.oui[2], a, b, c])
        });
        // 200 hosts per /24, zone z in 10.(40z + n).x.y: hundreds of subnets.
        let subnet = index / 200;
        let ip = Ipv4Addr::new(
            10,
            u8::try_from(zone * 40 + subnet / 256).unwrap_or(255),
            u8::try_from(subnet % 256).unwrap_or(0),
            u8::try_from(10 + index % 200).unwrap_or(0),
        );
        Self {
            profile,
            mac,
            ip,
            hub,
        }
    }

    fn id(&self) -> DeviceId {
        match self.mac {
            Some(mac) => DeviceId(format!("mac:{mac}")),
            None => DeviceId(format!("ip:{}", self.ip)),
        }
    }
}

/// The host name a device answers to (seven in ten have one), e.g. `plc-z2-004213`.
pub(crate) fn hostname(zone: usize, index: usize) -> Option<String> {
    let id = Identity::of(zone, index);
    let mut rng = Rng::new(seed(zone, index, 2));
    (id.hub || rng.chance(70)).then(|| {
        let prefix = if id.hub {
            "scada"
        } else {
            id.profile.host_prefix
        };
        format!("{prefix}-z{zone}-{index:06}")
    })
}

/// The address of device `index` of `zone`.
pub(crate) fn address(zone: usize, index: usize) -> Ipv4Addr {
    Identity::of(zone, index).ip
}

fn fact(
    attribute: &'static str,
    value: impl Into<Cow<'static, str>>,
    source: &'static str,
    confidence: u8,
    selected: bool,
) -> ReportedFact {
    ReportedFact {
        attribute: Cow::Borrowed(attribute),
        value: value.into(),
        source: Cow::Borrowed(source),
        confidence,
        selected,
        evidence: None,
    }
}

/// Device `index` of `zone`, as its sensor reports it, with 8 to 15 facts.
fn device(zone: usize, index: usize) -> Device {
    let id = Identity::of(zone, index);
    let p = id.profile;
    let mut rng = Rng::new(seed(zone, index, 3));
    let model = (*rng.pick(p.models)).to_owned();
    let firmware = (*rng.pick(p.firmwares)).to_owned();
    let serial = format!("S{:02}{:07X}", zone, rng.next() & 0xfff_ffff);
    let host = hostname(zone, index);
    let role = if id.hub { Some("scada_server") } else { p.role };
    let mut facts = Vec::with_capacity(15);
    if id.mac.is_some() {
        facts.push(fact("vendor", p.vendor, "oui", 70, false));
        facts.push(fact("ip", id.ip.to_string(), "arp", 90, false));
    } else {
        facts.push(fact("ip", id.ip.to_string(), "traffic", 80, false));
    }
    facts.push(fact("vendor", p.vendor, p.source, 95, true));
    let mut classified = fact("type", p.device_type, "classification", 80, true);
    classified.evidence = Some(format!(
        "rule {}: {} speaks {}",
        p.device_type, p.vendor, p.serves[0].0
    ));
    facts.push(classified);
    facts.push(fact("model", model.clone(), p.source, 95, true));
    facts.push(fact("firmware", firmware.clone(), p.source, 95, true));
    facts.push(fact("serial", serial.clone(), p.source, 90, true));
    if let Some(role) = role {
        facts.push(fact("role", role, "behaviour", 70, true));
    }
    if let Some(host) = &host {
        facts.push(fact("hostname", host.clone(), "dhcp", 80, false));
    }
    if let Some(os) = p.os {
        facts.push(fact("os", os, "dhcp", 60, true));
    }
    // Optional extras, so devices carry between 8 and 15 facts.
    let extras: [(&'static str, String, &'static str); 7] = [
        (
            "product_code",
            format!("{}-{:04}", p.host_prefix.to_uppercase(), rng.below(10_000)),
            p.source,
        ),
        (
            "protocol_address",
            format!("{}:unit:{}", p.serves[0].0, rng.below(248)),
            p.source,
        ),
        (
            "software",
            format!("{} web server {}", p.vendor, firmware),
            "http",
        ),
        (
            "description",
            format!("{} {} {}", p.vendor, model, firmware),
            "snmp",
        ),
        (
            "vlan",
            format!("{}", 100 + zone * 10 + rng.below(10)),
            "lldp",
        ),
        (
            "location",
            format!("Building {} / Cabinet {}", zone + 1, rng.below(60)),
            "snmp",
        ),
        (
            "ja3",
            format!(
                "{:032x}",
                u128::from(rng.next()) << 64 | u128::from(rng.next())
            ),
            "tls",
        ),
    ];
    let want = 8 + rng.below(8);
    for (attribute, value, source) in extras {
        if facts.len() >= want {
            break;
        }
        facts.push(fact(attribute, value, source, 75, false));
    }
    let first_seen = T0 + i64::try_from(rng.next() % (20 * DAY as u64)).unwrap_or(0);
    let last_seen = first_seen + i64::try_from(rng.next() % (10 * DAY as u64)).unwrap_or(0);
    let mut server: Vec<String> = p.serves.iter().map(|s| s.0.to_owned()).collect();
    server.sort();
    server.dedup();
    let mut client: Vec<String> = p.speaks.iter().map(|s| (*s).to_owned()).collect();
    if id.hub {
        client.extend(["modbus", "s7comm", "enip", "opcua", "iec104", "bacnet"].map(str::to_owned));
    }
    client.sort();
    client.dedup();
    let mut services: Vec<Service> = p
        .serves
        .iter()
        .map(|(protocol, transport, port)| Service {
            transport: (*transport).to_owned(),
            port: *port,
            protocol: Some((*protocol).to_owned()),
        })
        .collect();
    services.sort();
    let mut findings = Vec::new();
    if p.serves
        .iter()
        .any(|s| matches!(s.0, "ftp" | "http" | "telnet"))
        && rng.chance(30)
    {
        findings.push("cleartext_management".to_owned());
    }
    Device {
        id: id.id(),
        mac: id.mac,
        ips: vec![IpAddr::V4(id.ip)],
        vendor: Some(p.vendor.to_owned()),
        hostnames: host.into_iter().collect(),
        device_type: Some(p.device_type.to_owned()),
        role: role.map(str::to_owned),
        model: Some(model),
        firmware: Some(firmware),
        serial: Some(serial),
        os: p.os.map(str::to_owned),
        state: (p.device_type == "plc").then(|| "run".to_owned()),
        purdue_level: Some(if id.hub { 3 } else { p.purdue }),
        purdue_reason: Some(format!("{} ({})", p.device_type, p.serves[0].0)),
        protocols: Protocols { client, server },
        services,
        findings,
        facts,
        conflicts: Vec::new(),
        first_seen: Timestamp(first_seen),
        last_seen: Timestamp(last_seen),
    }
}

/// Connection `j` of `zone`. Each device opens a few conversations to peers spread over the
/// zone, and the zone's SCADA servers poll everyone; (client, server, port) never repeats.
fn connection(plan: &Plan, zone: usize, j: usize) -> Connection {
    let n = plan.zone_devices(zone).max(2);
    let i = j % n;
    let k = j / n;
    let (a, b) = if k < 3 {
        ((i + k) % HUBS.min(n), i)
    } else {
        let offset = 1 + (k * 2477 + k * k * 131) % (n - 1);
        (i, (i + offset) % n)
    };
    let (ia, ib) = (Identity::of(zone, a), Identity::of(zone, b));
    let mut rng = Rng::new(seed(zone, j, 4));
    let (protocol, transport, port) = *rng.pick(ib.profile.serves);
    let first_seen = T0 + i64::try_from(rng.next() % (25 * DAY as u64)).unwrap_or(0);
    let packets = 2 + rng.next() % 50_000;
    Connection {
        a: Some(ia.id()),
        b: Some(ib.id()),
        a_ip: IpAddr::V4(ia.ip),
        b_ip: IpAddr::V4(ib.ip),
        transport: transport.to_owned(),
        port: Some(port),
        protocol: Some(protocol.to_owned()),
        packets,
        bytes: packets * (60 + rng.next() % 400),
        flows: 1 + rng.next() % 20,
        first_seen: Timestamp(first_seen),
        last_seen: Timestamp(
            first_seen + i64::try_from(rng.next() % (5 * DAY as u64)).unwrap_or(0),
        ),
    }
}

/// Event `j` of `zone`: a SCADA server reading from or writing to a device.
fn event(plan: &Plan, zone: usize, j: usize) -> Event {
    let n = plan.zone_devices(zone).max(1);
    let mut rng = Rng::new(seed(zone, j, 5));
    let b = rng.below(n);
    let a = rng.below(HUBS.min(n));
    let (ia, ib) = (Identity::of(zone, a), Identity::of(zone, b));
    let protocol = ib.profile.serves[0].0;
    let (category, operation) = match rng.below(20) {
        0 => (EventCategory::Write, "write_multiple_registers"),
        1 => (EventCategory::Diagnostics, "read_device_identification"),
        2 => (EventCategory::ProgramUpload, "upload_block"),
        3 if ib.profile.device_type == "plc" => (EventCategory::ModeChange, "plc_stop"),
        _ => (EventCategory::Read, "read_holding_registers"),
    };
    let start = rng.below(10_000);
    let time = T0 + i64::try_from(rng.next() % (25 * DAY as u64)).unwrap_or(0);
    Event {
        time: Timestamp(time),
        last_seen: Timestamp(time + i64::try_from(rng.next() % DAY as u64).unwrap_or(0)),
        count: 1 + rng.next() % 10_000,
        src: EventEndpoint {
            device: Some(ia.id()),
            ip: Some(IpAddr::V4(ia.ip)),
            mac: None,
        },
        dst: EventEndpoint {
            device: Some(ib.id()),
            ip: Some(IpAddr::V4(ib.ip)),
            mac: None,
        },
        protocol: Cow::Borrowed(protocol),
        category,
        operation: Cow::Borrowed(operation),
        detail: format!("unit 1, registers {}-{}", start, start + rng.below(100)),
        content_hash: None,
    }
}

/// Batch `b` of `zone`'s sensor: its share of the zone's devices, connections and events.
pub(crate) fn batch(plan: &Plan, zone: usize, b: usize) -> Batch {
    let range = |per: usize, total: usize| (b * per).min(total)..((b + 1) * per).min(total);
    let devices = range(plan.devices_per_batch, plan.zone_devices(zone))
        .map(|i| device(zone, i))
        .collect();
    let connections = range(plan.connections_per_batch, plan.zone_connections(zone))
        .map(|j| connection(plan, zone, j))
        .collect();
    let events = (0..plan.events_per_batch)
        .map(|j| event(plan, zone, b * plan.events_per_batch + j))
        .collect();
    let created = Timestamp(T0 + 30 * DAY + i64::try_from(b).unwrap_or(0) * 60_000_000_000);
    Batch {
        id: format!("scale-z{zone}-b{b:04}"),
        created,
        devices,
        connections,
        events,
        alerts: Vec::new(),
        alert_captures: Vec::new(),
        health: Some(SensorHealth {
            at: created,
            version: "bench".to_owned(),
            source: format!("span{zone}"),
            packets: 1_000_000 * (b as u64 + 1),
            bytes: 700_000_000 * (b as u64 + 1),
            packets_per_second: 12_000.0,
            drops: 0,
        }),
    }
}
