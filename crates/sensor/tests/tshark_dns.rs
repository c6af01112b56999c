#![allow(clippy::unwrap_used, clippy::expect_used)]
//! DNS, mDNS, LLMNR and NetBIOS (name service and browser) facts against `tshark`, frame by
//! frame.
//!
//! For every frame tshark dissects as one of these protocols, the facts Ironward reported for
//! that frame must be exactly those that tshark's fields call for (a fact reported for an
//! earlier frame is not reported again, so a fact a frame calls for must have been reported by
//! then), with the right subject and confidence; and no other frame may produce facts of the
//! protocol's source. tshark's fields:
//! - DNS (`dns` on port 53): `dns.resp.name`/`dns.resp.type` with `dns.a`, `dns.aaaa` and
//!   `dns.ptr.domain_name` of the answer records of responses: hearsay host names;
//! - mDNS (`mdns`) and LLMNR (`llmnr`), read by tshark's DNS dissector: the same fields, plus
//!   `dns.srv.target`, `dns.txt` and `dns.hinfo.*` for mDNS, announced by the sender;
//! - NBNS (`nbns`): `nbns.name`, `nbns.type`, `nbns.addr`, `nbns.nb_flags.group`, and the node
//!   status names, flags and unit id (read from tshark's PDML, where the names' suffixes are);
//! - browser (`browser`): `browser.server`, `browser.mb_server`, `browser.os_major`/`os_minor`,
//!   `browser.comment`, `browser.response_computer_name`, the `browser.server_type.*` bits and
//!   `nbdgm.destination_name`.
//!
//! The shared captures hold DNS over UDP and TCP, mDNS address announcements, NBNS
//! registrations, positive and node status responses and browser announcements, but no mDNS
//! service records (SRV, TXT), no LLMNR answer and no WINS answer; those are covered by a
//! capture written at test time from realistic messages (a printer, a Chromecast, a HomeKit
//! plug, a Mac, a Windows host answering LLMNR, a WINS server, a Samba server, DNS over TCP
//! split across segments) and read by tshark the same way.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use ironward_model::{Attribute, DeviceKey, Fact, MacAddress, Source};
use ironward_sensor::capture::{PcapConfig, PcapWriter};
use ironward_wire::build::{self, Ip, L4};
use ironward_wire::ethernet::{self, EtherType};
use ironward_wire::{ipv4, ipv6, tcp, udp, IpProtocol, MacAddr};

/// Shared captures with DNS, mDNS, LLMNR, NBNS or browser frames.
const CAPTURES: [&str; 10] = [
    "dns/tcpdump_dns_udp.pcap",
    "dns/tcpdump_dns_tcp.pcap",
    "mdns/zeek_mdns.pcap",
    "nbns/ndpi_netbios.pcapng",
    "nbns/tcpdump_eapon1.pcap",
    "iot-mixed/ndpi_android.pcap",
    "ssdp/zeek_home-multicast-short.pcap",
    "modbus/zeek_modbusSmall.pcap",
    "iec104/iec104_090813_diverse.pcap",
    "profinet/icsnpp_profinet_io_cm_mixed_1.pcap",
];

/// Separates several occurrences of one field in tshark's output (TXT strings hold commas).
const AGGREGATOR: char = '\u{1f}';

/// One expected fact: subject, attribute, value, confidence.
type Expected = (DeviceKey, Attribute, String, u8);

/// Expected facts per frame, for the frames tshark dissects as the protocol.
type Frames = BTreeMap<u64, BTreeSet<Expected>>;

const ANNOUNCED: u8 = 90;
const HEARSAY: u8 = 60;

/// What the comparisons covered.
#[derive(Debug, Default)]
struct Coverage {
    frames: usize,
    frames_with_facts: usize,
    values: usize,
    by_attribute: BTreeMap<&'static str, usize>,
}

/// tshark's fields for every frame matching `filter`, several occurrences joined by
/// [`AGGREGATOR`]: (frame number, field name → value).
fn tshark_rows(path: &Path, filter: &str, fields: &[&str]) -> Vec<(u64, Row)> {
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
            let values = fields
                .iter()
                .map(|f| f.to_string())
                .zip(parts.map(str::to_owned))
                .collect();
            Some((frame, Row(values)))
        })
        .collect()
}

/// One frame's fields.
#[derive(Debug)]
struct Row(BTreeMap<String, String>);

impl Row {
    fn one(&self, field: &str) -> &str {
        self.0.get(field).map(String::as_str).unwrap_or("")
    }

    fn list(&self, field: &str) -> Vec<&str> {
        self.one(field)
            .split(AGGREGATOR)
            .filter(|v| !v.is_empty())
            .collect()
    }

    fn number(&self, field: &str) -> u32 {
        let text = self.one(field);
        match text.strip_prefix("0x") {
            Some(hex) => u32::from_str_radix(hex, 16).unwrap(),
            None => text.parse().unwrap_or(0),
        }
    }

    fn flag(&self, field: &str) -> bool {
        matches!(self.one(field), "1" | "True")
    }

    /// The sender's address.
    fn sender(&self) -> IpAddr {
        let v4 = self.one("ip.src");
        let text = if v4.is_empty() {
            self.one("ipv6.src")
        } else {
            v4
        };
        text.parse().unwrap()
    }
}

/// Whitespace collapsed, as Ironward cleans fact values.
fn normalize(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_host(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !v4.is_unspecified() && !v4.is_loopback() && !v4.is_multicast() && !v4.is_broadcast()
        }
        IpAddr::V6(v6) => !v6.is_unspecified() && !v6.is_loopback() && !v6.is_multicast(),
    }
}

/// The address of a whole reverse-mapping name, as tshark writes it.
fn reverse(name: &str) -> Option<IpAddr> {
    let lower = name.to_ascii_lowercase();
    if let Some(octets) = lower.strip_suffix(".in-addr.arpa") {
        let parts: Vec<&str> = octets.split('.').collect();
        if parts.len() != 4 {
            return None;
        }
        let text = parts.iter().rev().copied().collect::<Vec<_>>().join(".");
        return text.parse::<Ipv4Addr>().ok().map(IpAddr::V4);
    }
    let nibbles: Vec<&str> = lower.strip_suffix(".ip6.arpa")?.split('.').collect();
    if nibbles.len() != 32 || nibbles.iter().any(|n| n.len() != 1) {
        return None;
    }
    let hex: String = nibbles.iter().rev().copied().collect();
    let groups: Vec<&str> = (0..8).map(|i| &hex[i * 4..i * 4 + 4]).collect();
    groups.join(":").parse::<Ipv6Addr>().ok().map(IpAddr::V6)
}

/// A record as tshark lists it: section, owner, type, and the data of the types compared.
#[derive(Debug)]
struct Rr {
    section: usize,
    name: String,
    rtype: u32,
    value: String,
    extra: String,
}

const ANSWER: usize = 0;
const AUTHORITY: usize = 1;

/// The records of a DNS-layout frame, in message order (tshark lists each type's data fields
/// in record order, and answers come before authority and additional records). tshark gives
/// SRV records no `dns.resp.name`: their owner is `dns.srv.service`, `dns.srv.proto` and
/// `dns.srv.name` (instance, service type, and the rest).
fn records(row: &Row) -> Vec<Rr> {
    let answers = row.number("dns.count.answers") as usize;
    let authorities = row.number("dns.count.auth_rr") as usize;
    let mut a = row.list("dns.a").into_iter();
    let mut aaaa = row.list("dns.aaaa").into_iter();
    let mut ptr = row.list("dns.ptr.domain_name").into_iter();
    let mut srv = row.list("dns.srv.target").into_iter();
    let mut srv_service = row.list("dns.srv.service").into_iter();
    let mut srv_proto = row.list("dns.srv.proto").into_iter();
    let mut srv_name = row.list("dns.srv.name").into_iter();
    let mut cpu = row.list("dns.hinfo.cpu").into_iter();
    let mut os = row.list("dns.hinfo.os").into_iter();
    let mut names = row.list("dns.resp.name").into_iter();
    let types = row.list("dns.resp.type");
    let next = |it: &mut std::vec::IntoIter<&str>| it.next().unwrap().to_owned();
    let records = types
        .iter()
        .enumerate()
        .map(|(i, rtype)| {
            let rtype: u32 = rtype.parse().unwrap();
            let name = if rtype == 33 {
                let parts = [
                    next(&mut srv_service),
                    next(&mut srv_proto),
                    next(&mut srv_name),
                ];
                parts.join(".")
            } else {
                next(&mut names)
            };
            let (value, extra) = match rtype {
                1 => (next(&mut a), String::new()),
                28 => (next(&mut aaaa), String::new()),
                12 => (next(&mut ptr), String::new()),
                33 => (next(&mut srv), String::new()),
                13 => (next(&mut cpu), next(&mut os)),
                _ => (String::new(), String::new()),
            };
            let section = if i < answers {
                ANSWER
            } else if i < answers + authorities {
                AUTHORITY
            } else {
                2
            };
            Rr {
                section,
                name,
                rtype,
                value,
                extra,
            }
        })
        .collect();
    assert!(names.next().is_none(), "{row:?}");
    records
}

const DNS_FIELDS: [&str; 19] = [
    "ip.src",
    "ipv6.src",
    "dns.flags.response",
    "dns.flags.opcode",
    "dns.flags.rcode",
    "dns.count.answers",
    "dns.count.auth_rr",
    "dns.resp.name",
    "dns.resp.type",
    "dns.a",
    "dns.aaaa",
    "dns.ptr.domain_name",
    "dns.srv.target",
    "dns.srv.service",
    "dns.srv.proto",
    "dns.srv.name",
    "dns.txt",
    "dns.hinfo.cpu",
    "dns.hinfo.os",
];

/// The name an A, AAAA or reverse PTR record gives an address.
fn address_name(rr: &Rr) -> Option<(IpAddr, String)> {
    let (ip, name) = match rr.rtype {
        1 | 28 => (rr.value.parse().unwrap(), rr.name.clone()),
        12 => (reverse(&rr.name)?, rr.value.clone()),
        _ => return None,
    };
    is_host(ip).then_some((ip, name))
}

/// Unicast DNS: the answers of responses, as hearsay.
fn dns_expected(row: &Row) -> BTreeSet<Expected> {
    let mut out = BTreeSet::new();
    if !row.flag("dns.flags.response") || row.number("dns.flags.opcode") != 0 {
        return out;
    }
    for rr in records(row).iter().filter(|rr| rr.section == ANSWER) {
        if let Some((ip, name)) = address_name(rr) {
            out.insert((DeviceKey::Ip(ip), Attribute::Hostname, name, HEARSAY));
        }
    }
    out
}

/// LLMNR: the answers of successful responses, announced.
fn llmnr_expected(row: &Row) -> BTreeSet<Expected> {
    let mut out = BTreeSet::new();
    if !row.flag("dns.flags.response")
        || row.number("dns.flags.opcode") != 0
        || row.number("dns.flags.rcode") != 0
    {
        return out;
    }
    for rr in records(row).iter().filter(|rr| rr.section == ANSWER) {
        if let Some((ip, name)) = address_name(rr) {
            out.insert((DeviceKey::Ip(ip), Attribute::Hostname, name, ANNOUNCED));
        }
    }
    out
}

/// The DNS-SD service type in a name (`_ipp._tcp`), as the label before `_tcp`/`_udp`.
fn service_of(name: &str) -> Option<String> {
    let labels: Vec<&str> = name.split('.').collect();
    let at = labels
        .iter()
        .position(|l| l.eq_ignore_ascii_case("_tcp") || l.eq_ignore_ascii_case("_udp"))?;
    let kind = labels.get(at.checked_sub(1)?)?;
    (kind.len() > 1 && kind.starts_with('_') && !kind.eq_ignore_ascii_case("_device-info"))
        .then(|| format!("{kind}.{}", labels[at]))
}

/// The attribute a DNS-SD TXT key carries, as the issue lists them.
fn txt_attribute(key: &str) -> Option<Attribute> {
    let key = key.to_ascii_lowercase();
    Some(match key.as_str() {
        "ty" | "usb_mdl" | "md" | "mdl" | "model" | "am" | "rpmd" => Attribute::Model,
        "usb_mfg" | "manufacturer" | "mfg" => Attribute::Vendor,
        "fn" => Attribute::Hostname,
        "os" | "osxvers" => Attribute::Os,
        "fv" | "firmware" | "srcvers" => Attribute::Firmware,
        "serialnumber" | "usb_sn" => Attribute::Serial,
        "note" => Attribute::Location,
        "adminurl" => Attribute::Url,
        _ => return None,
    })
}

/// mDNS: what responses announce (answer and additional records).
fn mdns_expected(row: &Row) -> BTreeSet<Expected> {
    let mut out = BTreeSet::new();
    if !row.flag("dns.flags.response") || row.number("dns.flags.opcode") != 0 {
        return out;
    }
    let sender = DeviceKey::Ip(row.sender());
    let mut add = |subject, attribute, value: &str| {
        let value = normalize(value);
        if !value.is_empty() {
            out.insert((subject, attribute, value, ANNOUNCED));
        }
    };
    let records = records(row);
    for rr in records.iter().filter(|rr| rr.section != AUTHORITY) {
        let service = match rr.rtype {
            1 | 28 => {
                if let Some((ip, name)) = address_name(rr) {
                    add(DeviceKey::Ip(ip), Attribute::Hostname, &name);
                }
                None
            }
            12 => match reverse(&rr.name) {
                Some(ip) => {
                    if is_host(ip) {
                        add(DeviceKey::Ip(ip), Attribute::Hostname, &rr.value);
                    }
                    None
                }
                None if rr
                    .name
                    .to_ascii_lowercase()
                    .starts_with("_services._dns-sd._udp.") =>
                {
                    service_of(&rr.value)
                }
                None => service_of(&rr.name),
            },
            33 => {
                add(sender, Attribute::Hostname, &rr.value);
                service_of(&rr.name)
            }
            16 => service_of(&rr.name),
            13 => {
                add(sender, Attribute::Model, &rr.value);
                add(sender, Attribute::Os, &rr.extra);
                None
            }
            _ => None,
        };
        if let Some(service) = service {
            add(sender, Attribute::Service, &service);
        }
    }
    assert!(
        !records
            .iter()
            .any(|rr| rr.section == AUTHORITY && rr.rtype == 16),
        "TXT strings of authority records cannot be told apart: {row:?}"
    );
    for string in row.list("dns.txt") {
        let Some((key, value)) = string.split_once('=') else {
            continue;
        };
        let Some(attribute) = txt_attribute(key) else {
            continue;
        };
        if !key.eq_ignore_ascii_case("osxvers") {
            add(sender, attribute, value);
        } else if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
            // A Darwin major version; anything else is not reported.
            add(sender, attribute, &format!("macOS (Darwin {value})"));
        }
    }
    out
}

const NBNS_FIELDS: [&str; 13] = [
    "ip.src",
    "nbns.flags.response",
    "nbns.flags.opcode",
    "nbns.flags.rcode",
    "nbns.count.queries",
    "nbns.count.answers",
    "nbns.count.auth_rr",
    "nbns.count.add_rr",
    "nbns.name",
    "nbns.type",
    "nbns.addr",
    "nbns.nb_flags.group",
    "nbns.unit_id",
];

/// A NetBIOS name as tshark shows it (`GUNNAR<00> (Workstation/Redirector)`): name, suffix.
fn split_nb_name(shown: &str) -> (String, u8) {
    let shown = shown.split(" (").next().unwrap();
    let (name, suffix) = shown.split_at(shown.len() - 4);
    assert!(suffix.starts_with('<') && suffix.ends_with('>'), "{shown}");
    (
        name.to_owned(),
        u8::from_str_radix(&suffix[1..3], 16).unwrap(),
    )
}

/// The attribute a NetBIOS name is evidence of, as the issue says: unique `<00>`/`<20>` names
/// are host names; group `<00>`/`<1E>`/`<1C>` and unique `<1B>`/`<1D>` names are domains.
fn nb_attribute(name: &str, suffix: u8, group: bool) -> Option<Attribute> {
    if name.is_empty() || name.starts_with('*') {
        return None;
    }
    match (suffix, group) {
        (0x00 | 0x20, false) => Some(Attribute::Hostname),
        (0x00 | 0x1c | 0x1e, true) | (0x1b | 0x1d, false) => Some(Attribute::Domain),
        _ => None,
    }
}

/// The node status entries tshark shows in frame `frame`'s PDML: (16 raw name bytes, flags).
type NodeStatus = BTreeMap<u64, Vec<([u8; 16], u16)>>;

fn node_status_names(path: &Path) -> NodeStatus {
    let pdml = common::tshark(&[
        "-r",
        path.to_str().unwrap(),
        "-Y",
        "nbns.type == 33 && nbns.flags.response == 1",
        "-T",
        "pdml",
    ]);
    let attr = |line: &str, name: &str| -> Option<String> {
        let start = line.find(&format!(" {name}=\""))? + name.len() + 3;
        Some(line[start..].split('"').next()?.to_owned())
    };
    let mut out = NodeStatus::new();
    let mut frame = 0;
    let mut pending: Option<[u8; 16]> = None;
    for line in pdml.lines() {
        match attr(line, "name").as_deref() {
            Some("frame.number") => frame = attr(line, "show").unwrap().parse().unwrap(),
            Some("nbns.netbios_name") => {
                let hex = attr(line, "value").unwrap();
                let bytes: Vec<u8> = (0..32)
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                    .collect();
                pending = Some(bytes.try_into().unwrap());
            }
            Some("nbns.name_flags") => {
                let raw = pending.take().expect("flags follow a name");
                let flags = u16::from_str_radix(&attr(line, "value").unwrap(), 16).unwrap();
                out.entry(frame).or_default().push((raw, flags));
            }
            _ => {}
        }
    }
    out
}

/// NBNS: registrations, refreshes, positive and node status responses.
fn nbns_expected(row: &Row, frame: u64, node_status: &NodeStatus) -> BTreeSet<Expected> {
    let mut out = BTreeSet::new();
    let response = row.flag("nbns.flags.response");
    let opcode = row.number("nbns.flags.opcode");
    let section = match (response, opcode) {
        (false, 5 | 8 | 9 | 15) => 2,
        (true, 0 | 5 | 8 | 9 | 15) if row.number("nbns.flags.rcode") == 0 => ANSWER,
        _ => return out,
    };
    let sender = row.sender();
    let queries = row.number("nbns.count.queries") as usize;
    let answers = row.number("nbns.count.answers") as usize;
    let authorities = row.number("nbns.count.auth_rr") as usize;
    let names = row.list("nbns.name");
    let types = row.list("nbns.type");
    let mut nb_records = Vec::new();
    for (i, (name, rtype)) in names.iter().zip(&types).enumerate().skip(queries) {
        let record = i - queries;
        let in_section = if record < answers {
            ANSWER
        } else if record < answers + authorities {
            AUTHORITY
        } else {
            2
        };
        if in_section != section {
            continue;
        }
        match *rtype {
            "32" => nb_records.push(split_nb_name(name)),
            "33" if response => {
                for (raw, flags) in &node_status[&frame] {
                    let text: String = raw[..15].iter().map(|&b| b as char).collect();
                    let name = text.trim_end_matches(' ');
                    if let Some(attribute) = nb_attribute(name, raw[15], flags & 0x8000 != 0) {
                        let subject = DeviceKey::Ip(sender);
                        out.insert((subject, attribute, name.to_owned(), ANNOUNCED));
                    }
                }
                let unit: MacAddress = row.one("nbns.unit_id").parse().unwrap();
                if unit.0 != [0; 6] && unit.0[0] & 1 == 0 {
                    let value = sender.to_string();
                    out.insert((DeviceKey::Mac(unit), Attribute::Ip, value, ANNOUNCED));
                }
            }
            _ => {}
        }
    }
    let addresses = row.list("nbns.addr");
    let groups = row.list("nbns.nb_flags.group");
    assert_eq!(addresses.len(), groups.len(), "{row:?}");
    if nb_records.is_empty() {
        return out;
    }
    assert!(
        nb_records.len() == 1 || nb_records.len() == addresses.len(),
        "frame {frame}: cannot pair NB entries with records: {row:?}"
    );
    for (i, (address, group)) in addresses.iter().zip(&groups).enumerate() {
        let (name, suffix) = &nb_records[if nb_records.len() == 1 { 0 } else { i }];
        let Some(attribute) = nb_attribute(name, *suffix, *group == "1" || *group == "True") else {
            continue;
        };
        let address: IpAddr = address.parse().unwrap();
        let subject = if is_host(address) { address } else { sender };
        let confidence = if section == 2 || subject == sender {
            ANNOUNCED
        } else {
            HEARSAY
        };
        out.insert((DeviceKey::Ip(subject), attribute, name.clone(), confidence));
    }
    out
}

/// tshark's server type fields and the capability Ironward names for each.
const SERVER_TYPES: [(&str, &str); 23] = [
    ("workstation", "workstation"),
    ("server", "server"),
    ("sql", "sql server"),
    ("domain_controller", "domain controller"),
    ("backup_controller", "backup domain controller"),
    ("time", "time source"),
    ("apple", "apple file server"),
    ("novell", "novell server"),
    ("member", "domain member"),
    ("print", "print server"),
    ("dialin", "dial-in server"),
    ("xenix", "unix server"),
    ("ntw", "nt workstation"),
    ("wfw", "windows for workgroups"),
    ("nts", "nt server"),
    ("browser.potential", "potential browser"),
    ("browser.backup", "backup browser"),
    ("browser.master", "master browser"),
    ("browser.domain_master", "domain master browser"),
    ("osf", "osf"),
    ("vms", "vms"),
    ("w95", "windows 95+"),
    ("dfs", "dfs server"),
];

fn browser_fields() -> Vec<String> {
    let mut fields: Vec<String> = [
        "ip.src",
        "mailslot.name",
        "nbdgm.destination_name",
        "browser.command",
        "browser.server",
        "browser.mb_server",
        "browser.os_major",
        "browser.os_minor",
        "browser.comment",
        "browser.response_computer_name",
    ]
    .map(str::to_owned)
    .to_vec();
    fields.extend(
        SERVER_TYPES
            .iter()
            .map(|(field, _)| format!("browser.server_type.{field}")),
    );
    fields
}

/// Browser announcements: facts about the sender.
fn browser_expected(row: &Row) -> BTreeSet<Expected> {
    let mut out = BTreeSet::new();
    if !row
        .one("mailslot.name")
        .eq_ignore_ascii_case("\\MAILSLOT\\BROWSE")
    {
        return out;
    }
    let sender = DeviceKey::Ip(row.sender());
    let mut add = |attribute, value: &str| {
        let value = normalize(value);
        if !value.is_empty() {
            out.insert((sender, attribute, value, ANNOUNCED));
        }
    };
    match row.number("browser.command") {
        0x01 | 0x0f => {
            add(Attribute::Hostname, row.one("browser.server"));
            let bit = |name: &str| row.flag(&format!("browser.server_type.{name}"));
            let (major, minor) = (
                row.number("browser.os_major"),
                row.number("browser.os_minor"),
            );
            if (major, minor) != (0, 0) {
                let windows = (bit("ntw") || bit("nts")) && !bit("xenix");
                let prefix = if windows { "Windows" } else { "NT" };
                add(Attribute::Os, &format!("{prefix} {major}.{minor}"));
            }
            add(Attribute::Description, row.one("browser.comment"));
            for (field, capability) in SERVER_TYPES {
                if bit(field) {
                    add(Attribute::Capability, capability);
                }
            }
            let (workgroup, suffix) = split_nb_name(row.one("nbdgm.destination_name"));
            if matches!(suffix, 0x1d | 0x1e) {
                add(Attribute::Domain, &workgroup);
            }
        }
        0x0c => {
            add(Attribute::Domain, row.one("browser.server"));
            add(Attribute::Hostname, row.one("browser.mb_server"));
        }
        0x02 => add(
            Attribute::Hostname,
            row.one("browser.response_computer_name"),
        ),
        _ => {}
    }
    out
}

/// Checks the facts of `source` against the expected facts of every frame.
fn compare(
    label: &str,
    log: &[(u64, Fact)],
    source: Source,
    expected: &Frames,
    coverage: &mut Coverage,
) {
    let reported: Vec<(u64, Expected)> = log
        .iter()
        .filter(|(_, fact)| fact.source == source)
        .map(|(frame, f)| {
            let fact = (f.subject, f.attribute, f.value.to_string(), f.confidence);
            (*frame, fact)
        })
        .collect();
    for (frame, fact) in &reported {
        assert!(
            expected.contains_key(frame),
            "{label}: frame {frame} is not {source:?} for tshark but gave {fact:?}"
        );
    }
    let mut seen = BTreeSet::new();
    for (frame, want) in expected {
        let ours: BTreeSet<Expected> = reported
            .iter()
            .filter(|(f, _)| f == frame)
            .map(|(_, fact)| fact.clone())
            .collect();
        for fact in &ours {
            assert!(
                want.contains(fact),
                "{label} frame {frame}: unexpected {fact:?}; tshark calls for {want:?}"
            );
            assert!(
                seen.insert(fact.clone()),
                "{label} frame {frame}: {fact:?} reported again"
            );
        }
        for fact in want {
            assert!(
                seen.contains(fact),
                "{label} frame {frame}: missing {fact:?}; reported {ours:?}"
            );
            *coverage.by_attribute.entry(fact.1.as_str()).or_default() += 1;
        }
        coverage.frames += 1;
        coverage.frames_with_facts += usize::from(!want.is_empty());
        coverage.values += want.len();
    }
}

/// Compares every protocol of this test over one capture.
fn compare_capture(label: &str, path: &Path, coverage: &mut BTreeMap<Source, Coverage>) {
    let log = common::fact_log(path);
    let expect = |filter: &str, rule: fn(&Row) -> BTreeSet<Expected>| -> Frames {
        tshark_rows(path, filter, &DNS_FIELDS)
            .into_iter()
            .map(|(frame, row)| (frame, rule(&row)))
            .collect()
    };
    let dns = expect("dns && (udp.port == 53 || tcp.port == 53)", dns_expected);
    let mdns = expect("mdns", mdns_expected);
    let llmnr = expect("llmnr", llmnr_expected);
    let node_status = node_status_names(path);
    let mut nbns: Frames = tshark_rows(path, "nbns", &NBNS_FIELDS)
        .into_iter()
        .map(|(frame, row)| (frame, nbns_expected(&row, frame, &node_status)))
        .collect();
    let fields = browser_fields();
    let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
    for (frame, row) in tshark_rows(path, "browser", &fields) {
        nbns.insert(frame, browser_expected(&row));
    }
    for (source, frames) in [
        (Source::Dns, &dns),
        (Source::Mdns, &mdns),
        (Source::Llmnr, &llmnr),
        (Source::Nbns, &nbns),
    ] {
        compare(
            label,
            &log,
            source,
            frames,
            coverage.entry(source).or_default(),
        );
    }
}

#[test]
fn shared_captures_agree_with_tshark() {
    let mut coverage = BTreeMap::new();
    for relative in CAPTURES {
        let Some(path) = common::shared_capture(relative) else {
            return;
        };
        compare_capture(relative, &path, &mut coverage);
    }
    for (source, c) in &coverage {
        eprintln!(
            "{source:?}: {} frames, {} with facts, {} values {:?}",
            c.frames, c.frames_with_facts, c.values, c.by_attribute
        );
    }
    let values = |source: Source, attribute: Attribute| {
        coverage[&source]
            .by_attribute
            .get(attribute.as_str())
            .copied()
            .unwrap_or(0)
    };
    // DNS: answers over UDP and TCP (www.tcpdump.org, the Android phone's and the Modbus
    // capture's lookups).
    assert_eq!(coverage[&Source::Dns].frames_with_facts, 26);
    assert_eq!(values(Source::Dns, Attribute::Hostname), 35);
    // mDNS: avahi's address and reverse-address announcements; the rest are queries.
    assert_eq!(coverage[&Source::Mdns].frames, 22);
    assert_eq!(coverage[&Source::Mdns].frames_with_facts, 6);
    assert_eq!(values(Source::Mdns, Attribute::Hostname), 15);
    // NBNS and browser: registrations, node status, positive answers, announcements.
    let nbns = &coverage[&Source::Nbns];
    assert_eq!(
        (nbns.frames, nbns.frames_with_facts, nbns.values),
        (1045, 68, 121)
    );
    for attribute in [
        Attribute::Hostname,
        Attribute::Domain,
        Attribute::Os,
        Attribute::Capability,
        Attribute::Ip,
    ] {
        assert!(values(Source::Nbns, attribute) > 0, "no NBNS {attribute:?}");
    }
    // LLMNR: only queries in the shared data.
    assert!(coverage[&Source::Llmnr].frames > 0);
    assert_eq!(coverage[&Source::Llmnr].values, 0);
}

#[test]
fn shared_captures_name_the_expected_devices() {
    let Some(path) = common::shared_capture("nbns/ndpi_netbios.pcapng") else {
        return;
    };
    let log = common::fact_log(&path);
    let has = |subject: DeviceKey, attribute: Attribute, value: &str| {
        log.iter()
            .any(|(_, f)| f.subject == subject && f.attribute == attribute && f.value == value)
    };
    let gunnar = DeviceKey::Ip("10.0.4.24".parse().unwrap());
    assert!(has(gunnar, Attribute::Hostname, "GUNNAR"));
    assert!(has(gunnar, Attribute::Domain, "VIGILANT_GROUP"));
    let mac = DeviceKey::Mac("00:1c:c4:10:79:0f".parse().unwrap());
    assert!(has(mac, Attribute::Ip, "10.0.4.24"));
    let nvr9 = DeviceKey::Ip("10.0.5.9".parse().unwrap());
    assert!(has(nvr9, Attribute::Hostname, "NVR9"));
    assert!(has(nvr9, Attribute::Os, "Windows 6.1"));
    assert!(has(nvr9, Attribute::Capability, "sql server"));

    let Some(path) = common::shared_capture("mdns/zeek_mdns.pcap") else {
        return;
    };
    let log = common::fact_log(&path);
    let host = DeviceKey::Ip("10.0.2.7".parse().unwrap());
    assert!(log.iter().any(|(_, f)| f.subject == host
        && f.attribute == Attribute::Hostname
        && f.value == "johanna-QEMU-Virtual-Machine.local"
        && f.source == Source::Mdns));
}

// ----- A capture written at test time -----

/// Frames of a written capture: Ethernet, IPv4 or IPv6, UDP or TCP.
#[derive(Default)]
struct Writer {
    frames: Vec<Vec<u8>>,
}

fn mac_of(ip: [u8; 4]) -> MacAddr {
    if ip[0] >= 224 {
        MacAddr([0x01, 0x00, 0x5e, ip[1] & 0x7f, ip[2], ip[3]])
    } else if ip[3] == 255 {
        MacAddr([0xff; 6])
    } else {
        MacAddr([0x02, 0, 0, 0, ip[2], ip[3]])
    }
}

impl Writer {
    fn v4(&mut self, from: ([u8; 4], u16), to: ([u8; 4], u16), payload: &[u8]) {
        let datagram = udp::Repr {
            src_port: from.1,
            dst_port: to.1,
            payload,
        };
        self.v4_l4(from.0, to.0, IpProtocol::UDP, &L4::Udp(datagram));
    }

    fn v4_l4(&mut self, from: [u8; 4], to: [u8; 4], protocol: IpProtocol, l4: &L4<'_>) {
        let eth = ethernet::Repr {
            src_addr: mac_of(from),
            dst_addr: mac_of(to),
            vlan: None,
            ethertype: EtherType::IPV4,
        };
        let ip = ipv4::Repr {
            src_addr: Ipv4Addr::from(from),
            dst_addr: Ipv4Addr::from(to),
            protocol,
            payload_len: 0,
            ttl: if to[0] >= 224 { 1 } else { 64 },
            tos: 0,
            identification: self.frames.len() as u16,
            dont_fragment: false,
            more_fragments: false,
            fragment_offset: 0,
        };
        self.frames
            .push(build::frame(&eth, &Ip::V4(ip), l4).unwrap());
    }

    fn tcp(
        &mut self,
        from: ([u8; 4], u16),
        to: ([u8; 4], u16),
        seq: u32,
        ack: u32,
        flags: u8,
        payload: &[u8],
    ) {
        let segment = tcp::Repr {
            src_port: from.1,
            dst_port: to.1,
            seq,
            ack,
            flags,
            window: 65535,
            urgent: 0,
            mss: None,
            window_scale: None,
            sack_permitted: false,
            timestamps: None,
            payload,
        };
        self.v4_l4(from.0, to.0, IpProtocol::TCP, &L4::Tcp(segment));
    }

    fn v6(&mut self, from: (Ipv6Addr, u16), to: (Ipv6Addr, u16), payload: &[u8]) {
        let eth = ethernet::Repr {
            src_addr: MacAddr([0x02, 0, 0, 0, 0, 0x66]),
            dst_addr: MacAddr([0x33, 0x33, 0, 0, 0, 0xfb]),
            vlan: None,
            ethertype: EtherType::IPV6,
        };
        let ip = ipv6::Repr {
            src_addr: from.0,
            dst_addr: to.0,
            next_header: IpProtocol::UDP,
            payload_len: 0,
            hop_limit: 255,
            traffic_class: 0,
            flow_label: 0,
        };
        let datagram = udp::Repr {
            src_port: from.1,
            dst_port: to.1,
            payload,
        };
        self.frames
            .push(build::frame(&eth, &Ip::V6(ip), &L4::Udp(datagram)).unwrap());
    }

    fn write(&self, path: &Path) {
        let file = std::fs::File::create(path).unwrap();
        let mut pcap =
            PcapWriter::new(std::io::BufWriter::new(file), PcapConfig::default()).unwrap();
        for (i, frame) in self.frames.iter().enumerate() {
            let at = 1_709_633_564_000_000_000 + i as i64 * 100_000_000;
            pcap.write_frame(at, frame, frame.len() as u32).unwrap();
        }
        pcap.flush().unwrap();
    }
}

/// A name in wire form (no compression).
fn name(dotted: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for label in dotted.split('.').filter(|l| !l.is_empty()) {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out
}

/// A resource record.
fn rr(owner: &[u8], rtype: u16, class: u16, rdata: &[u8]) -> Vec<u8> {
    let mut out = owner.to_vec();
    out.extend_from_slice(&rtype.to_be_bytes());
    out.extend_from_slice(&class.to_be_bytes());
    out.extend_from_slice(&4500u32.to_be_bytes());
    out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    out.extend_from_slice(rdata);
    out
}

/// A message: id, flags, section counts, then the sections' bytes.
fn msg(id: u16, flags: u16, counts: [u16; 4], parts: &[Vec<u8>]) -> Vec<u8> {
    let mut out = id.to_be_bytes().to_vec();
    out.extend_from_slice(&flags.to_be_bytes());
    for count in counts {
        out.extend_from_slice(&count.to_be_bytes());
    }
    for part in parts {
        out.extend_from_slice(part);
    }
    out
}

fn question(dotted: &str, qtype: u16) -> Vec<u8> {
    let mut out = name(dotted);
    out.extend_from_slice(&qtype.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    out
}

fn txt(strings: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for s in strings {
        out.push(s.len() as u8);
        out.extend_from_slice(s.as_bytes());
    }
    out
}

fn srv(port: u16, target: &str) -> Vec<u8> {
    let mut out = vec![0, 0, 0, 0];
    out.extend_from_slice(&port.to_be_bytes());
    out.extend(name(target));
    out
}

/// An NBNS first-level encoded name (label form) with its suffix.
fn nb_name(name: &str, suffix: u8) -> Vec<u8> {
    let mut raw = [b' '; 16];
    raw[..name.len()].copy_from_slice(name.as_bytes());
    raw[15] = suffix;
    let mut out = vec![32];
    for b in raw {
        out.push(b'A' + (b >> 4));
        out.push(b'A' + (b & 0x0f));
    }
    out.push(0);
    out
}

/// A browser host announcement from `server` to `workgroup<1D>`, in an SMB mailslot write in
/// a NetBIOS datagram.
fn host_announcement(
    source: [u8; 4],
    server: &str,
    workgroup: &str,
    os: (u8, u8),
    server_type: u32,
    comment: &str,
) -> Vec<u8> {
    let mut browse = vec![0x01, 0x00];
    browse.extend_from_slice(&720_000u32.to_le_bytes());
    let mut server_name = [0u8; 16];
    server_name[..server.len()].copy_from_slice(server.as_bytes());
    browse.extend_from_slice(&server_name);
    browse.extend_from_slice(&[os.0, os.1]);
    browse.extend_from_slice(&server_type.to_le_bytes());
    browse.extend_from_slice(&[0x0f, 0x01, 0x55, 0xaa]);
    browse.extend_from_slice(comment.as_bytes());
    browse.push(0);
    let slot = b"\\MAILSLOT\\BROWSE\0";
    let mut smb = b"\xffSMB\x25".to_vec();
    smb.extend_from_slice(&[0; 27]);
    smb.push(17); // word count
    let data_offset = 32 + 1 + 34 + 2 + slot.len();
    let words: [u16; 17] = [
        0,
        browse.len() as u16,
        0,
        0,
        0,
        0,
        1000,
        0,
        0,
        0,
        data_offset as u16,
        browse.len() as u16,
        data_offset as u16,
        3,
        1,
        1,
        2,
    ];
    for word in words {
        smb.extend_from_slice(&word.to_le_bytes());
    }
    smb.extend_from_slice(&((slot.len() + browse.len()) as u16).to_le_bytes());
    smb.extend_from_slice(slot);
    assert_eq!(smb.len(), data_offset);
    smb.extend_from_slice(&browse);
    let mut names = nb_name(server, 0x20);
    names.extend(nb_name(workgroup, 0x1d));
    let mut out = vec![0x11, 0x0a, 0x12, 0x34];
    out.extend_from_slice(&source);
    out.extend_from_slice(&138u16.to_be_bytes());
    out.extend_from_slice(&((names.len() + smb.len()) as u16).to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend(names);
    out.extend(smb);
    out
}

const MDNS_GROUP: ([u8; 4], u16) = ([224, 0, 0, 251], 5353);
const PRINTER: [u8; 4] = [192, 168, 1, 50];
const CHROMECAST: [u8; 4] = [192, 168, 1, 60];
const LAPTOP: [u8; 4] = [192, 168, 1, 100];
const WINDOWS: [u8; 4] = [192, 168, 1, 20];
const WINS: [u8; 4] = [192, 168, 1, 2];
const SAMBA: [u8; 4] = [192, 168, 1, 30];
const RESOLVER: [u8; 4] = [192, 168, 1, 1];

fn write_capture(path: &Path) {
    let mut w = Writer::default();
    let cache_flush = 0x8001;

    // A printer's DNS-SD announcement: service enumeration and service PTRs in the answers,
    // SRV, TXT and addresses in the additional section.
    let instance = "HP LaserJet M507 [A1B2C3]._ipp._tcp.local";
    w.v4(
        (PRINTER, 5353),
        MDNS_GROUP,
        &msg(
            0,
            0x8400,
            [0, 3, 0, 4],
            &[
                rr(&name("_ipp._tcp.local"), 12, 1, &name(instance)),
                rr(
                    &name("_services._dns-sd._udp.local"),
                    12,
                    1,
                    &name("_ipp._tcp.local"),
                ),
                rr(
                    &name("_universal._sub._ipps._tcp.local"),
                    12,
                    1,
                    &name("HP LaserJet M507 [A1B2C3]._ipps._tcp.local"),
                ),
                rr(
                    &name(instance),
                    33,
                    cache_flush,
                    &srv(631, "NPIA1B2C3.local"),
                ),
                rr(
                    &name(instance),
                    16,
                    cache_flush,
                    &txt(&[
                        "txtvers=1",
                        "ty=HP LaserJet M507",
                        "usb_MFG=HP",
                        "usb_MDL=LaserJet M507",
                        "product=(HP LaserJet M507)",
                        "note=2nd floor, copy room",
                        "adminurl=http://NPIA1B2C3.local./hp/device/info_config_AirPrint.html",
                        "pdl=application/postscript,image/urf,application/pdf",
                        "Color=F",
                    ]),
                ),
                rr(&name("NPIA1B2C3.local"), 1, cache_flush, &PRINTER),
                rr(
                    &name("NPIA1B2C3.local"),
                    28,
                    cache_flush,
                    &"fe80::9657:a5ff:fe12:3456"
                        .parse::<Ipv6Addr>()
                        .unwrap()
                        .octets(),
                ),
            ],
        ),
    );
    // A laptop asking for printers: a query says nothing.
    w.v4(
        (LAPTOP, 5353),
        MDNS_GROUP,
        &msg(
            0,
            0,
            [2, 0, 0, 0],
            &[
                question("_ipp._tcp.local", 12),
                question("_airplay._tcp.local", 12),
            ],
        ),
    );
    // A Chromecast answering a one-shot query by unicast from 5353.
    let cast = "Chromecast-5f1a2b3c4d._googlecast._tcp.local";
    w.v4(
        (CHROMECAST, 5353),
        (LAPTOP, 50123),
        &msg(
            0x4a11,
            0x8400,
            [1, 1, 0, 3],
            &[
                question("_googlecast._tcp.local", 12),
                rr(&name("_googlecast._tcp.local"), 12, 1, &name(cast)),
                rr(
                    &name(cast),
                    16,
                    cache_flush,
                    &txt(&[
                        "id=5f1a2b3c4d5e6f708192a3b4c5d6e7f8",
                        "md=Chromecast Ultra",
                        "fn=Living Room TV",
                        "ve=05",
                        "rs=",
                    ]),
                ),
                rr(
                    &name(cast),
                    33,
                    cache_flush,
                    &srv(8009, "5f1a2b3c-4d5e.local"),
                ),
                rr(&name("5f1a2b3c-4d5e.local"), 1, cache_flush, &CHROMECAST),
            ],
        ),
    );
    // A HomeKit plug over IPv6 and a Mac's device info with HINFO.
    let plug_v6: Ipv6Addr = "fe80::18a4:2bff:fe3c:7d01".parse().unwrap();
    w.v6(
        (plug_v6, 5353),
        ("ff02::fb".parse().unwrap(), 5353),
        &msg(
            0,
            0x8400,
            [0, 3, 0, 1],
            &[
                rr(
                    &name("_hap._tcp.local"),
                    12,
                    1,
                    &name("Eve Energy 3A1F._hap._tcp.local"),
                ),
                rr(
                    &name("Eve Energy 3A1F._hap._tcp.local"),
                    16,
                    cache_flush,
                    &txt(&[
                        "c#=4",
                        "ff=2",
                        "id=3A:1F:22:8C:11:02",
                        "md=Eve Energy 20EBO8301",
                        "fv=3.2.1",
                        "s#=1",
                        "sf=0",
                        "ci=7",
                    ]),
                ),
                rr(
                    &name("Eve Energy 3A1F._hap._tcp.local"),
                    33,
                    cache_flush,
                    &srv(80, "Eve-Energy-3A1F.local"),
                ),
                rr(
                    &name("Eve-Energy-3A1F.local"),
                    28,
                    cache_flush,
                    &plug_v6.octets(),
                ),
            ],
        ),
    );
    w.v4(
        (LAPTOP, 5353),
        MDNS_GROUP,
        &msg(
            0,
            0x8400,
            [0, 3, 0, 0],
            &[
                rr(
                    &name("Anna's MacBook Pro._device-info._tcp.local"),
                    16,
                    1,
                    &txt(&["model=MacBookPro18,3", "osxvers=22", "ecolor=225,225,223"]),
                ),
                rr(
                    &name("Annas-MacBook-Pro.local"),
                    13,
                    cache_flush,
                    &txt(&["ARM64", "MACOSX"]),
                ),
                rr(
                    &name("100.1.168.192.in-addr.arpa"),
                    12,
                    cache_flush,
                    &name("Annas-MacBook-Pro.local"),
                ),
            ],
        ),
    );
    // The same printer announcement again: nothing new.
    let first = w.frames[0].clone();
    w.frames.push(first);

    // LLMNR: a query to the group, and the owner's unicast answer with both addresses.
    w.v4(
        (LAPTOP, 61234),
        ([224, 0, 0, 252], 5355),
        &msg(0x7c21, 0, [1, 0, 0, 0], &[question("DESKTOP-7Q2F3", 1)]),
    );
    w.v4(
        (WINDOWS, 5355),
        (LAPTOP, 61234),
        &msg(
            0x7c21,
            0x8000,
            [1, 2, 0, 0],
            &[
                question("DESKTOP-7Q2F3", 1),
                rr(&name("DESKTOP-7Q2F3"), 1, 1, &WINDOWS),
                rr(
                    &name("DESKTOP-7Q2F3"),
                    28,
                    1,
                    &"fe80::5d1c:8a2e:3b4f:9e01"
                        .parse::<Ipv6Addr>()
                        .unwrap()
                        .octets(),
                ),
            ],
        ),
    );

    // NBNS: a WINS server answering for another host (hearsay), and a group name answer.
    let nb = |name_: &str, suffix: u8, entries: &[(u16, [u8; 4])]| {
        let mut data = Vec::new();
        for (flags, address) in entries {
            data.extend_from_slice(&flags.to_be_bytes());
            data.extend_from_slice(address);
        }
        rr(&nb_name(name_, suffix), 0x20, 1, &data)
    };
    let wins_answer = msg(
        0x1001,
        0x8500,
        [0, 1, 0, 0],
        &[nb("FILESRV01", 0x20, &[(0x6000, SAMBA)])],
    );
    let group_answer = msg(
        0x1002,
        0x8500,
        [0, 1, 0, 0],
        &[nb(
            "CORP",
            0x1c,
            &[(0xe000, WINS), (0xe000, [192, 168, 1, 3])],
        )],
    );
    let refresh = msg(
        0x1003,
        0x4010,
        [1, 0, 0, 1],
        &[
            {
                let mut q = nb_name("DESKTOP-7Q2F3", 0x00);
                q.extend_from_slice(&[0, 0x20, 0, 1]);
                q
            },
            rr(&[0xc0, 0x0c], 0x20, 1, &[0x60, 0x00, 192, 168, 1, 20]),
        ],
    );
    w.v4((WINS, 137), (LAPTOP, 137), &wins_answer);
    w.v4((WINS, 137), (LAPTOP, 137), &group_answer);
    w.v4((WINDOWS, 137), (WINS, 137), &refresh);

    // A Samba server's host announcement with a comment.
    w.v4(
        (SAMBA, 138),
        ([192, 168, 1, 255], 138),
        &host_announcement(
            SAMBA,
            "FILESRV01",
            "WORKGROUP",
            (6, 1),
            0x0000_9a03,
            "Samba 4.17.12-Debian",
        ),
    );

    // DNS: a PTR and AAAA answer over UDP, then over TCP a query and two answers, the first in
    // the same segment as the start of the second, which ends in the next segment.
    w.v4(
        (RESOLVER, 53),
        (LAPTOP, 40000),
        &msg(
            0x2222,
            0x8180,
            [1, 2, 0, 0],
            &[
                question("30.1.168.192.in-addr.arpa", 12),
                rr(&[0xc0, 0x0c], 12, 1, &name("filesrv01.corp.example")),
                rr(
                    &name("filesrv01.corp.example"),
                    28,
                    1,
                    &"2001:db8::30".parse::<Ipv6Addr>().unwrap().octets(),
                ),
            ],
        ),
    );
    let query = msg(
        0x3333,
        0x0100,
        [1, 0, 0, 0],
        &[question("printer.corp.example", 1)],
    );
    let answer = |id: u16, host: &str, ip: [u8; 4]| {
        msg(
            id,
            0x8180,
            [1, 1, 0, 0],
            &[question(host, 1), rr(&[0xc0, 0x0c], 1, 1, &ip)],
        )
    };
    let framed = |m: Vec<u8>| {
        let mut out = (m.len() as u16).to_be_bytes().to_vec();
        out.extend(m);
        out
    };
    let mut stream = framed(answer(0x3333, "printer.corp.example", PRINTER));
    stream.extend(framed(answer(0x3334, "cast.corp.example", CHROMECAST)));
    let cut = stream.len() - 10;
    let (client, server) = ((LAPTOP, 40001), (RESOLVER, 53));
    use tcp::flags::{ACK, PSH, SYN};
    w.tcp(client, server, 1000, 0, SYN, &[]);
    w.tcp(server, client, 5000, 1001, SYN | ACK, &[]);
    w.tcp(client, server, 1001, 5001, ACK, &[]);
    let query = framed(query);
    w.tcp(client, server, 1001, 5001, PSH | ACK, &query);
    let after_query = 1001 + query.len() as u32;
    w.tcp(server, client, 5001, after_query, PSH | ACK, &stream[..cut]);
    w.tcp(
        server,
        client,
        5001 + cut as u32,
        after_query,
        PSH | ACK,
        &stream[cut..],
    );
    w.write(path);
}

#[test]
fn written_capture_agrees_with_tshark() {
    let Some(_) = common::shared_capture(CAPTURES[0]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = match std::env::var_os("IRONWARD_KEEP_CAPTURE") {
        Some(keep) => std::path::PathBuf::from(keep),
        None => dir.path().join("names-and-services.pcap"),
    };
    write_capture(&path);
    let mut coverage = BTreeMap::new();
    compare_capture("written capture", &path, &mut coverage);
    for (source, c) in &coverage {
        eprintln!(
            "{source:?}: {} frames, {} with facts, {} values {:?}",
            c.frames, c.frames_with_facts, c.values, c.by_attribute
        );
    }
    let attributes =
        |source: Source| -> Vec<&str> { coverage[&source].by_attribute.keys().copied().collect() };
    assert_eq!(
        attributes(Source::Mdns),
        ["firmware", "hostname", "location", "model", "os", "service", "url", "vendor"]
    );
    assert_eq!(coverage[&Source::Mdns].frames, 6);
    assert_eq!(coverage[&Source::Mdns].values, 31);
    assert_eq!(attributes(Source::Llmnr), ["hostname"]);
    assert_eq!(coverage[&Source::Llmnr].values, 2);
    assert_eq!(
        attributes(Source::Nbns),
        ["capability", "description", "domain", "hostname", "os"]
    );
    assert_eq!(coverage[&Source::Nbns].values, 14);
    assert_eq!(coverage[&Source::Dns].frames_with_facts, 3);
    assert_eq!(coverage[&Source::Dns].values, 4);

    // And a few values on the right devices, with the right confidence.
    let log = common::fact_log(&path);
    let has = |subject: IpAddr, attribute: Attribute, value: &str, confidence: u8| {
        log.iter().any(|(_, f)| {
            f.subject == DeviceKey::Ip(subject)
                && f.attribute == attribute
                && f.value == value
                && f.confidence == confidence
        })
    };
    let v4 = |a: [u8; 4]| IpAddr::from(a);
    assert!(has(
        v4(PRINTER),
        Attribute::Model,
        "HP LaserJet M507",
        ANNOUNCED
    ));
    assert!(has(v4(PRINTER), Attribute::Vendor, "HP", ANNOUNCED));
    assert!(has(
        v4(PRINTER),
        Attribute::Service,
        "_ipps._tcp",
        ANNOUNCED
    ));
    assert!(has(
        v4(CHROMECAST),
        Attribute::Model,
        "Chromecast Ultra",
        ANNOUNCED
    ));
    assert!(has(
        v4(CHROMECAST),
        Attribute::Hostname,
        "Living Room TV",
        ANNOUNCED
    ));
    assert!(has(
        v4(LAPTOP),
        Attribute::Os,
        "macOS (Darwin 22)",
        ANNOUNCED
    ));
    assert!(has(
        v4(WINDOWS),
        Attribute::Hostname,
        "DESKTOP-7Q2F3",
        ANNOUNCED
    ));
    assert!(has(v4(SAMBA), Attribute::Hostname, "FILESRV01", HEARSAY));
    assert!(has(v4(SAMBA), Attribute::Os, "NT 6.1", ANNOUNCED));
    assert!(has(
        v4(SAMBA),
        Attribute::Description,
        "Samba 4.17.12-Debian",
        ANNOUNCED
    ));
    assert!(has(
        v4(PRINTER),
        Attribute::Hostname,
        "printer.corp.example",
        HEARSAY
    ));
    assert!(has(
        v4(CHROMECAST),
        Attribute::Hostname,
        "cast.corp.example",
        HEARSAY
    ));
    assert!(has(
        v4(SAMBA),
        Attribute::Hostname,
        "filesrv01.corp.example",
        HEARSAY
    ));
}
