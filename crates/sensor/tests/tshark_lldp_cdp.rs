#![allow(clippy::unwrap_used, clippy::expect_used)]
//! LLDP and CDP facts against `tshark`, frame by frame, over the shared captures that carry
//! them (the LLDP and CDP folders, and PROFINET, BSAP and EtherNet/IP captures whose switches
//! and stations speak LLDP).
//!
//! For every LLDP or CDP frame, the facts tshark's decoding calls for (system name, system
//! description, port id and description, enabled capabilities, management addresses, port
//! VLAN, LLDP-MED class and inventory; CDP device id, platform, software version, port,
//! capabilities, addresses, VTP domain, native VLAN) are computed from tshark's fields. Facts
//! are reported once (repeats are de-duplicated), so each expected fact must have been
//! reported in that frame or an earlier one, and every fact reported in a frame must be one
//! that frame calls for.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use ironward_model::{Attribute, DeviceKey, Fact, Source};
use ironward_proto::observations::clean_value;

type Expected = BTreeSet<(DeviceKey, Attribute, String)>;

/// Separates several values of one field in tshark's output (a byte no decoded text holds).
const AGGREGATOR: &str = "\u{1f}";

/// tshark's fields for every frame matching `filter`: (frame number, each field's values).
fn rows(path: &Path, filter: &str, fields: &[&str]) -> Vec<(u64, Vec<Vec<String>>)> {
    let aggregator = format!("aggregator={AGGREGATOR}");
    let mut args = vec![
        "-r",
        path.to_str().unwrap(),
        "-Y",
        filter,
        "-T",
        "fields",
        "-E",
        "occurrence=a",
        "-E",
        &aggregator,
        "-e",
        "frame.number",
    ];
    for field in fields {
        args.extend(["-e", field]);
    }
    common::tshark(&args)
        .lines()
        .filter_map(|line| {
            let mut parts = line.split('\t');
            let frame = parts.next()?.trim().parse().ok()?;
            let values = parts
                .map(|field| {
                    field
                        .split(AGGREGATOR)
                        .filter(|v| !v.is_empty())
                        .map(unescape)
                        .collect()
                })
                .collect();
            Some((frame, values))
        })
        .collect()
}

/// Undoes tshark's escapes of control characters in text fields.
fn unescape(text: &str) -> String {
    text.replace("\\n", "\n")
        .replace("\\r", "\r")
        .replace("\\t", "\t")
        .replace("\\\\", "\\")
}

fn hex_bytes(text: &str) -> Vec<u8> {
    let text = text.replace(':', "");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn number(text: &str) -> u64 {
    match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).unwrap(),
        None => text.parse().unwrap(),
    }
}

/// The version token of a Cisco software text ("..., Version 12.2(44)SE, RELEASE ...").
fn cisco_version(text: &str) -> Option<String> {
    if !text.to_ascii_lowercase().contains("cisco") {
        return None;
    }
    let rest = &text[text.find("Version ")? + "Version ".len()..];
    let token: String = rest
        .chars()
        .take_while(|c| !c.is_whitespace() && !matches!(c, ',' | '[' | ';'))
        .collect();
    token
        .starts_with(|c: char| c.is_ascii_digit())
        .then_some(token)
}

/// Adds a fact to the expected set, cleaned as Ironward cleans every value.
fn expect(set: &mut Expected, subject: DeviceKey, attribute: Attribute, value: &str) {
    if let Some(value) = clean_value(value.as_bytes()) {
        set.insert((subject, attribute, value));
    }
}

fn first(values: &[String]) -> Option<&str> {
    values.first().map(String::as_str)
}

/// Checks one capture: every fact reported for a frame is expected there, and every expected
/// fact was reported by then. Returns (frames compared, expected values compared).
fn compare(
    relative: &str,
    source: Source,
    log: &[(u64, Fact)],
    frames: &[(u64, Expected)],
) -> (usize, usize) {
    let log: Vec<_> = log.iter().filter(|(_, f)| f.source == source).collect();
    let mut seen = BTreeSet::new();
    let mut values = 0;
    for (frame, want) in frames {
        for (_, fact) in log.iter().filter(|(f, _)| f == frame) {
            let key = (fact.subject, fact.attribute, fact.value.to_string());
            assert!(
                want.contains(&key),
                "{relative} frame {frame}: unexpected {key:?}; tshark calls for {want:#?}"
            );
            seen.insert(key);
        }
        for key in want {
            assert!(
                seen.contains(key),
                "{relative} frame {frame}: {key:?} not reported (by then)"
            );
            values += 1;
        }
    }
    // Every logged fact of this protocol came from a frame tshark decodes as it.
    let numbers: BTreeSet<u64> = frames.iter().map(|(n, _)| *n).collect();
    for (frame, fact) in &log {
        assert!(
            numbers.contains(frame),
            "{relative} frame {frame}: {fact:?} from a frame tshark does not show as {source:?}"
        );
    }
    (frames.len(), values)
}

const LLDP_FIELDS: [&str; 22] = [
    "eth.src",
    "lldp.chassis.subtype",
    "lldp.chassis.id",
    "lldp.chassis.id.ip4",
    "lldp.port.id",
    "lldp.port.id.mac",
    "lldp.port.id.ip4",
    "lldp.port.desc",
    "lldp.tlv.system.name",
    "lldp.tlv.system.desc",
    "lldp.tlv.enable_system_cap",
    "lldp.mgn.addr.ip4",
    "lldp.mgn.addr.ip6",
    "lldp.ieee.802_1.port_vlan.id",
    "lldp.media.subtype.class",
    "lldp.media.firmware",
    "lldp.media.software",
    "lldp.media.sn",
    "lldp.media.manufacturer",
    "lldp.media.model",
    "lldp.chassis.id.ip6",
    "lldp.port.id.ip6",
];

const LLDP_CAPABILITIES: [&str; 11] = [
    "other",
    "repeater",
    "bridge",
    "wlan-access-point",
    "router",
    "telephone",
    "docsis",
    "station",
    "c-vlan",
    "s-vlan",
    "two-port-mac-relay",
];

fn looks_like_hostname(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
        && text.bytes().any(|b| b.is_ascii_alphabetic())
}

/// The facts tshark's decoding of one LLDP frame calls for.
fn lldp_expected(fields: &[Vec<String>]) -> Expected {
    let f = |name: &str| &fields[LLDP_FIELDS.iter().position(|n| *n == name).unwrap()];
    let subject = DeviceKey::Mac(first(f("eth.src")).unwrap().parse().unwrap());
    let mut set = Expected::new();
    let names = f("lldp.tlv.system.name");
    for name in names {
        expect(&mut set, subject, Attribute::Hostname, name);
    }
    if names.is_empty() && first(f("lldp.chassis.subtype")) == Some("7") {
        let id = String::from_utf8(hex_bytes(first(f("lldp.chassis.id")).unwrap())).unwrap();
        if looks_like_hostname(&id) {
            expect(&mut set, subject, Attribute::Hostname, &id);
        }
    }
    for description in f("lldp.tlv.system.desc") {
        expect(&mut set, subject, Attribute::Description, description);
        if let Some(version) = cisco_version(description) {
            expect(&mut set, subject, Attribute::Firmware, &version);
        }
    }
    let port = first(f("lldp.port.id"))
        .or(first(f("lldp.port.id.mac")))
        .or(first(f("lldp.port.id.ip4")))
        .or(first(f("lldp.port.id.ip6")));
    if let Some(port) = port {
        let port = port.trim();
        let value = match first(f("lldp.port.desc")).map(str::trim) {
            Some(description) if !description.is_empty() && description != port => {
                format!("{port} ({description})")
            }
            _ => port.to_owned(),
        };
        expect(&mut set, subject, Attribute::Port, &value);
    }
    if let Some(enabled) = first(f("lldp.tlv.enable_system_cap")) {
        let bits = number(enabled);
        for (bit, name) in LLDP_CAPABILITIES.iter().enumerate() {
            if bits & (1 << bit) != 0 {
                expect(&mut set, subject, Attribute::Capability, name);
            }
        }
    }
    for address in f("lldp.mgn.addr.ip4")
        .iter()
        .chain(f("lldp.mgn.addr.ip6"))
        .chain(f("lldp.chassis.id.ip4"))
        .chain(f("lldp.chassis.id.ip6"))
    {
        let ip: std::net::IpAddr = address.parse().unwrap();
        if !ip.is_unspecified() {
            expect(&mut set, subject, Attribute::ManagementAddress, address);
        }
    }
    for vlan in f("lldp.ieee.802_1.port_vlan.id") {
        if number(vlan) != 0 {
            expect(
                &mut set,
                subject,
                Attribute::Vlan,
                &number(vlan).to_string(),
            );
        }
    }
    for class in f("lldp.media.subtype.class") {
        let name = match number(class) {
            1 => "lldp-med-endpoint-class-1",
            2 => "lldp-med-endpoint-class-2",
            3 => "lldp-med-endpoint-class-3",
            4 => "lldp-med-network-connectivity",
            _ => continue,
        };
        expect(&mut set, subject, Attribute::Capability, name);
    }
    let firmware = f("lldp.media.firmware");
    for value in firmware {
        expect(&mut set, subject, Attribute::Firmware, value);
    }
    for value in f("lldp.media.software") {
        let attribute = if firmware.is_empty() {
            Attribute::Firmware
        } else {
            Attribute::Software
        };
        expect(&mut set, subject, attribute, value);
    }
    for (field, attribute) in [
        ("lldp.media.sn", Attribute::Serial),
        ("lldp.media.manufacturer", Attribute::Vendor),
        ("lldp.media.model", Attribute::Model),
    ] {
        for value in f(field) {
            expect(&mut set, subject, attribute, value);
        }
    }
    set
}

const CDP_FIELDS: [&str; 12] = [
    "eth.src",
    "cdp.deviceid",
    "cdp.system_name",
    "cdp.platform",
    "cdp.software_version",
    "cdp.portid",
    "cdp.capabilities",
    "cdp.nrgyz.ip_address",
    "cdp.nrgyz.ipv6_address",
    "cdp.vtp_management_domain",
    "cdp.native_vlan",
    "cdp.voice_vlan",
];

const CDP_CAPABILITIES: [&str; 11] = [
    "router",
    "bridge",
    "source-route-bridge",
    "switch",
    "host",
    "igmp",
    "repeater",
    "phone",
    "remotely-managed",
    "cvta",
    "two-port-mac-relay",
];

/// The facts tshark's decoding of one CDP frame calls for.
fn cdp_expected(fields: &[Vec<String>]) -> Expected {
    let f = |name: &str| &fields[CDP_FIELDS.iter().position(|n| *n == name).unwrap()];
    let subject = DeviceKey::Mac(first(f("eth.src")).unwrap().parse().unwrap());
    let mut set = Expected::new();
    for id in f("cdp.deviceid") {
        // NX-OS names itself "name(SERIAL)".
        let split = id
            .strip_suffix(')')
            .and_then(|inner| inner.rsplit_once('('))
            .filter(|(name, serial)| {
                !name.is_empty()
                    && (4..=32).contains(&serial.len())
                    && serial.bytes().all(|b| b.is_ascii_alphanumeric())
            });
        match split {
            Some((name, serial)) => {
                expect(&mut set, subject, Attribute::Hostname, name);
                expect(&mut set, subject, Attribute::Serial, serial);
            }
            None => expect(&mut set, subject, Attribute::Hostname, id),
        }
    }
    for name in f("cdp.system_name") {
        expect(&mut set, subject, Attribute::Hostname, name);
    }
    for platform in f("cdp.platform") {
        expect(&mut set, subject, Attribute::Model, platform);
        if platform.trim().to_ascii_lowercase().starts_with("cisco") {
            expect(&mut set, subject, Attribute::Vendor, "Cisco");
        }
    }
    // tshark splits the software version into its lines.
    let software = f("cdp.software_version").join("\n");
    if !software.is_empty() {
        expect(&mut set, subject, Attribute::Description, &software);
        let bare = software.trim();
        let version = cisco_version(&software).or_else(|| {
            (bare.len() <= 64 && !bare.contains(char::is_whitespace)).then(|| bare.to_owned())
        });
        if let Some(version) = version {
            expect(&mut set, subject, Attribute::Firmware, &version);
        }
    }
    for port in f("cdp.portid") {
        expect(&mut set, subject, Attribute::Port, port);
    }
    if let Some(bits) = first(f("cdp.capabilities")) {
        let bits = number(bits);
        for (bit, name) in CDP_CAPABILITIES.iter().enumerate() {
            if bits & (1 << bit) != 0 {
                expect(&mut set, subject, Attribute::Capability, name);
            }
        }
    }
    for address in f("cdp.nrgyz.ip_address")
        .iter()
        .chain(f("cdp.nrgyz.ipv6_address"))
    {
        let ip: std::net::IpAddr = address.parse().unwrap();
        if !ip.is_unspecified() {
            expect(&mut set, subject, Attribute::ManagementAddress, address);
        }
    }
    for domain in f("cdp.vtp_management_domain") {
        expect(&mut set, subject, Attribute::Domain, domain);
    }
    for vlan in f("cdp.native_vlan") {
        expect(&mut set, subject, Attribute::Vlan, vlan);
    }
    for vlan in f("cdp.voice_vlan") {
        expect(
            &mut set,
            subject,
            Attribute::Vlan,
            &format!("{vlan} (voice)"),
        );
    }
    set
}

/// Frames compared, expected values compared, and every expected (attribute, value).
type Totals = (usize, usize, BTreeSet<(Attribute, String)>);

/// Runs one protocol's comparison over captures.
fn run(
    captures: &[&str],
    filter: &str,
    fields: &[&str],
    source: Source,
    expected: fn(&[Vec<String>]) -> Expected,
) -> Option<Totals> {
    let (mut frames, mut values) = (0, 0);
    let mut all = BTreeSet::new();
    for relative in captures {
        let path = common::shared_capture(relative)?;
        let log = common::fact_log(&path);
        let per_frame: Vec<(u64, Expected)> = rows(&path, filter, fields)
            .into_iter()
            .map(|(frame, fields)| (frame, expected(&fields)))
            .collect();
        assert!(
            !per_frame.is_empty(),
            "{relative}: tshark shows no {filter}"
        );
        let (f, v) = compare(relative, source, &log, &per_frame);
        frames += f;
        values += v;
        all.extend(
            per_frame
                .iter()
                .flat_map(|(_, set)| set.iter().map(|(_, a, v)| (*a, v.clone()))),
        );
    }
    Some((frames, values, all))
}

#[test]
fn lldp_facts_match_tshark_frame_by_frame() {
    let Some((frames, values, all)) = run(
        &[
            "lldp/tcpdump_LLDP_and_CDP.pcap",
            "lldp/zeek_lldp.pcap",
            "profinet/icsnpp_profinet_io_cm_mixed_1.pcap",
            "bsap/icsnpp_bsap-ip_example.pcap",
            "enip/icsnpp_enip_cip_example.pcap",
        ],
        "lldp",
        &LLDP_FIELDS,
        Source::Lldp,
        lldp_expected,
    ) else {
        return;
    };
    eprintln!("LLDP: {frames} frames, {values} expected values compared with tshark");
    assert!(
        frames >= 240 && values >= 800,
        "{frames} frames, {values} values"
    );
    for (attribute, value) in [
        (Attribute::Hostname, "S2.cisco.com"),
        (Attribute::Hostname, "SMCGS8P-Smart"),
        (Attribute::Hostname, "siemens-x208-switch"),
        (
            Attribute::Description,
            "SMCGS8P-Smart - SMCGS8P-Smart v3.20",
        ),
        (Attribute::Firmware, "12.2(44)SE"),
        (Attribute::Port, "Fa0/13 (FastEthernet0/13)"),
        (Attribute::ManagementAddress, "192.168.2.10"),
        (Attribute::ManagementAddress, "192.168.1.239"),
        (Attribute::Vlan, "1"),
        (Attribute::Capability, "bridge"),
        (Attribute::Capability, "lldp-med-endpoint-class-1"),
    ] {
        assert!(
            all.contains(&(attribute, value.to_owned())),
            "{attribute:?} {value} not compared"
        );
    }
}

#[test]
fn cdp_facts_match_tshark_frame_by_frame() {
    let Some((frames, values, all)) = run(
        &[
            "cdp/tcpdump_3560_CDP.pcap",
            "lldp/tcpdump_LLDP_and_CDP.pcap",
        ],
        "cdp",
        &CDP_FIELDS,
        Source::Cdp,
        cdp_expected,
    ) else {
        return;
    };
    eprintln!("CDP: {frames} frames, {values} expected values compared with tshark");
    assert!(
        frames >= 7 && values >= 60,
        "{frames} frames, {values} values"
    );
    for (attribute, value) in [
        (Attribute::Hostname, "Switch"),
        (Attribute::Hostname, "S1"),
        (Attribute::Model, "cisco WS-C3560G-24PS"),
        (Attribute::Firmware, "12.2(25)SEB4"),
        (Attribute::Firmware, "12.2(44)SE"),
        (Attribute::Port, "GigabitEthernet0/5"),
        (Attribute::ManagementAddress, "192.168.0.1"),
        (Attribute::Domain, "Lab"),
        (Attribute::Vlan, "1"),
        (Attribute::Capability, "switch"),
    ] {
        assert!(
            all.contains(&(attribute, value.to_owned())),
            "{attribute:?} {value} not compared"
        );
    }
}
