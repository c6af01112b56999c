#![allow(clippy::unwrap_used, clippy::expect_used)]
//! EtherNet/IP, CIP and CIP class 1 I/O against `tshark`, frame by frame, over every capture in
//! `pcaps/enip/`.
//!
//! From tshark's `enip`, `cip` and `cipio` fields of each frame this test computes what
//! Ironward must report in that same frame:
//! * encapsulation requests (`enip.command`): ListIdentity, ListServices, ListInterfaces →
//!   a Discovery event of that name; RegisterSession → `register_session` with
//!   `enip.rs.version`; UnRegisterSession → `unregister_session`;
//! * ListIdentity replies: `enip.lir.vendor` (through the shipped vendor table), `devtype`,
//!   `prodcode`, `revision` (`major.minor`, as tshark prints it), `serial` (`0x%08x`, as tshark
//!   prints it), `name`, `state`, and `enip.sinaddr`/`enip.sinport` → the facts of the
//!   replying device;
//! * CIP requests (`cip.rr` 0): for every service of the frame (`cip.sc`, with `cip.class` and
//!   `cip.instance` in step, embedded services of a Multiple Service Packet included), one
//!   event whose operation is the service's and whose detail starts with `class 0x.. instance
//!   N`; the attribute ids of the frame (`cip.attribute`: path attributes and attribute lists)
//!   are the ones the details name, in order;
//! * CIP replies: no event, unless the general status (`cip.genstat`) is an error;
//! * class 1 I/O (`cipio`): one `io_data` event per datagram, detail the connection id
//!   (`enip.cpf.sai.connid`), and service `cip_io` on the sender;
//! * per capture, the number of request services per operation equals the number of events
//!   per operation, and the number of I/O datagrams per connection the count of its event.
//!
//! Deliberate differences, checked explicitly:
//! * A Multiple Service Packet is a container: tshark lists its service code (0x0a) among the
//!   frame's `cip.sc`; Ironward reports the services it carries, not the container.
//! * tshark decodes connected explicit messages (SendUnitData) whose Forward Open is not in the
//!   capture by guessing; Ironward reads every connected data item as an explicit message
//!   (sequence count, then the request or reply), with the same result on these captures.
//! * NOP is not an event (a keep-alive); the captures hold none.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use ironward_model::{Attribute, Event, EventCategory, Fact, Source};

const CAPTURES: [&str; 8] = [
    "EIP-ChangeDateAttempt.pcap",
    "cip-multiple-2.pcap",
    "cip_stop_plc.pcap",
    "enip_test.pcap",
    "icsnpp_enip_cip_example.pcap",
    "icsnpp_multiple_service_packet_cip.pcapng",
    "icsnpp_set_attribute_single_service_cip.pcapng",
    "ndpi_cip_io.pcap",
];

const FIELDS: [&str; 22] = [
    "enip.command",
    "enip.rs.version",
    "enip.lir.vendor",
    "enip.lir.devtype",
    "enip.lir.prodcode",
    "enip.lir.revision",
    "enip.lir.serial",
    "enip.lir.name",
    "enip.lir.state",
    "enip.sinaddr",
    "enip.sinport",
    "cip.rr",
    "cip.sc",
    "cip.genstat",
    "cip.class",
    "cip.instance",
    "cip.attribute",
    "enip.cpf.sai.connid",
    "cipio",
    "ip.src",
    "tcp.srcport",
    "udp.srcport",
];

/// A field's value (several values joined by `,`).
fn get<'a>(row: &'a [String], name: &str) -> &'a str {
    let i = FIELDS.iter().position(|f| *f == name).unwrap();
    row.get(i).map(String::as_str).unwrap_or("")
}

fn list(value: &str) -> Vec<&str> {
    value.split(',').filter(|v| !v.is_empty()).collect()
}

fn num(value: &str) -> u32 {
    match value.strip_prefix("0x") {
        Some(hex) => u32::from_str_radix(hex, 16).unwrap(),
        None => value.parse().unwrap(),
    }
}

/// The operation Ironward names a request service, for the classes of these captures and the
/// common services.
fn operation(service: u32, class: u32) -> &'static str {
    match (service, class) {
        (0x01, _) => "get_attributes_all",
        (0x03, _) => "get_attribute_list",
        (0x04, _) => "set_attribute_list",
        (0x05, _) => "reset",
        (0x06, _) => "start",
        (0x07, _) => "stop",
        (0x0e, _) => "get_attribute_single",
        (0x10, _) => "set_attribute_single",
        (0x4e, 6) => "forward_close",
        (0x54, 6) => "forward_open",
        (0x5b, 6) => "large_forward_open",
        (0x4c, _) => "read_tag",
        (0x4d, _) => "write_tag",
        (0x52, _) => "read_tag_fragmented",
        (0x53, _) => "write_tag_fragmented",
        _ => panic!("service 0x{service:02x} class 0x{class:02x} not in the table"),
    }
}

/// (class, instance, attribute ids) named by an event detail.
fn detail_path(detail: &str) -> (Option<u32>, Option<u32>, Vec<u32>) {
    let words: Vec<&str> = detail.split(' ').collect();
    let after = |key: &str| {
        words
            .iter()
            .position(|w| *w == key)
            .and_then(|i| words.get(i + 1))
            .copied()
    };
    let attributes = match (after("attribute"), after("attributes")) {
        (Some(a), _) => vec![num(a)],
        (None, Some(list)) => list.split(',').map(num).collect(),
        _ => Vec::new(),
    };
    (
        after("class").map(num),
        after("instance").map(num),
        attributes,
    )
}

#[derive(Default, Debug)]
struct Tally {
    frames: usize,
    requests: usize,
    services: usize,
    attributes: usize,
    identities: usize,
    io: usize,
}

fn compare(name: &str) -> Option<Tally> {
    let path = common::shared_capture(&format!("enip/{name}"))?;
    let analysis = common::logged_analysis(&path);
    let events: Vec<(u64, &Event)> = analysis
        .event_log
        .iter()
        .filter(|(_, e)| e.protocol == "enip" || e.protocol == "cip_io")
        .map(|(f, e)| (*f, e))
        .collect();
    let facts: Vec<(u64, &Fact)> = analysis
        .facts
        .iter()
        .filter(|(_, f)| f.source == Source::Enip)
        .map(|(f, x)| (*f, x))
        .collect();
    let rows = common::tshark_fields(&path, "enip", &FIELDS);
    assert!(!rows.is_empty(), "{name}: tshark shows no EtherNet/IP");
    let mut tally = Tally::default();
    let mut expected_ops: BTreeMap<String, u64> = BTreeMap::new();
    let mut io_expected: BTreeMap<String, u64> = BTreeMap::new();
    let mut frames = std::collections::BTreeSet::new();
    for (frame, row) in &rows {
        tally.frames += 1;
        frames.insert(*frame);
        let here: Vec<&Event> = events
            .iter()
            .filter(|(f, _)| f == frame)
            .map(|(_, e)| *e)
            .collect();
        let field = |n: &str| get(row, n);
        let sender = field("ip.src").parse::<std::net::IpAddr>().unwrap();
        // Class 1 I/O.
        if !field("cipio").is_empty() || field("enip.command").is_empty() {
            let connection = format!("connection 0x{:08x}", num(field("enip.cpf.sai.connid")));
            assert_eq!(here.len(), 1, "{name} frame {frame}: {here:?}");
            assert_eq!(here[0].operation, "io_data");
            assert_eq!(here[0].category, EventCategory::Read);
            assert_eq!(here[0].detail, connection, "{name} frame {frame}");
            assert_eq!(here[0].src.ip, Some(sender));
            *io_expected.entry(connection).or_default() += 1;
            tally.io += 1;
            continue;
        }
        let command = num(field("enip.command")) as u16;
        let from_server = field("tcp.srcport") == "44818" || field("udp.srcport") == "44818";
        match command {
            0x63 | 0x04 | 0x64 if !from_server => {
                let op = match command {
                    0x63 => "list_identity",
                    0x04 => "list_services",
                    _ => "list_interfaces",
                };
                assert!(
                    here.iter()
                        .any(|e| e.operation == op && e.category == EventCategory::Discovery),
                    "{name} frame {frame}: no {op}: {here:?}"
                );
                *expected_ops.entry(op.to_owned()).or_default() += 1;
                tally.requests += 1;
            }
            0x63 => {
                // ListIdentity reply: the identity facts of the sender, reported by this frame
                // or earlier (facts are de-duplicated).
                let vendor = num(field("enip.lir.vendor")) as u16;
                let devtype = num(field("enip.lir.devtype")) as u16;
                let revision = num(field("enip.lir.revision"));
                let mut want = vec![
                    (
                        Attribute::ProductCode,
                        field("enip.lir.prodcode").to_owned(),
                    ),
                    (
                        Attribute::Firmware,
                        format!("{}.{:02}", revision >> 8, revision & 0xff),
                    ),
                    (Attribute::Serial, field("enip.lir.serial").to_owned()),
                    (Attribute::Model, field("enip.lir.name").to_owned()),
                    (
                        Attribute::ProtocolAddress,
                        format!("enip:{}:{}", field("enip.sinaddr"), field("enip.sinport")),
                    ),
                ];
                if let Some(v) = ironward_proto::enip::vendors::vendor_name(vendor) {
                    want.push((Attribute::Vendor, v.to_owned()));
                }
                if let Some(d) = ironward_proto::enip::cip::device_type_name(devtype) {
                    want.push((Attribute::Description, d.to_owned()));
                }
                if let Some(s) =
                    ironward_proto::enip::cip::state_name(num(field("enip.lir.state")) as u8)
                {
                    want.push((Attribute::State, s.to_owned()));
                }
                for (attribute, value) in want {
                    assert!(
                        facts.iter().any(|(f, x)| f <= frame
                            && x.attribute == attribute
                            && x.value == value
                            && x.subject == ironward_model::DeviceKey::Ip(sender)),
                        "{name} frame {frame}: missing {attribute:?} {value}"
                    );
                    tally.identities += 1;
                }
            }
            0x65 if !from_server => {
                let detail = format!("protocol version {}", field("enip.rs.version"));
                assert!(
                    here.iter()
                        .any(|e| e.operation == "register_session" && e.detail == detail),
                    "{name} frame {frame}: {here:?}"
                );
                *expected_ops.entry("register_session".into()).or_default() += 1;
                tally.requests += 1;
            }
            0x66 => {
                assert!(here.iter().any(|e| e.operation == "unregister_session"));
                *expected_ops.entry("unregister_session".into()).or_default() += 1;
                tally.requests += 1;
            }
            0x6f | 0x70 => {
                let rr = list(field("cip.rr"));
                let services = list(field("cip.sc"));
                let classes = list(field("cip.class"));
                let instances = list(field("cip.instance"));
                if rr.iter().all(|r| num(r) == 0) {
                    // Requests: one event per service, the container left out.
                    assert_eq!(services.len(), classes.len(), "{name} frame {frame}");
                    assert_eq!(services.len(), instances.len(), "{name} frame {frame}");
                    let mut want = Vec::new();
                    for ((s, c), i) in services.iter().zip(&classes).zip(&instances) {
                        let (s, c, i) = (num(s), num(c), num(i));
                        if s == 0x0a {
                            continue;
                        }
                        want.push((operation(s, c).to_owned(), Some(c), Some(i)));
                    }
                    let mut attributes = Vec::new();
                    let got: Vec<(String, Option<u32>, Option<u32>)> = here
                        .iter()
                        .map(|e| {
                            let (c, i, a) = detail_path(&e.detail);
                            attributes.extend(a);
                            (e.operation.to_string(), c, i)
                        })
                        .collect();
                    assert_eq!(got, want, "{name} frame {frame}");
                    let tshark_attributes: Vec<u32> =
                        list(field("cip.attribute")).into_iter().map(num).collect();
                    assert_eq!(attributes, tshark_attributes, "{name} frame {frame}");
                    assert!(here.iter().all(|e| e.src.ip == Some(sender)));
                    tally.attributes += attributes.len();
                    tally.services += want.len();
                    tally.requests += 1;
                    for (op, _, _) in want {
                        *expected_ops.entry(op).or_default() += 1;
                    }
                } else {
                    // Replies: events only for errors.
                    let errors = list(field("cip.genstat"))
                        .into_iter()
                        .filter(|g| !matches!(num(g), 0 | 6))
                        .count();
                    let got = here
                        .iter()
                        .filter(|e| e.operation == "error_response")
                        .count();
                    assert_eq!(got, errors, "{name} frame {frame}");
                    assert_eq!(here.len(), errors, "{name} frame {frame}: {here:?}");
                    if errors > 0 {
                        *expected_ops.entry("error_response".into()).or_default() += errors as u64;
                    }
                }
            }
            _ => {}
        }
    }
    // Nothing reported outside the frames tshark decodes as EtherNet/IP.
    for (frame, e) in &events {
        assert!(
            frames.contains(frame),
            "{name}: event in frame {frame}: {e:?}"
        );
    }
    for (frame, f) in &facts {
        assert!(
            frames.contains(frame),
            "{name}: fact in frame {frame}: {f:?}"
        );
    }
    // Operations per type.
    let mut got_ops: BTreeMap<String, u64> = BTreeMap::new();
    let mut got_io: BTreeMap<String, u64> = BTreeMap::new();
    for (_, e) in &events {
        if e.protocol == "cip_io" {
            *got_io.entry(e.detail.clone()).or_default() += 1;
        } else {
            *got_ops.entry(e.operation.to_string()).or_default() += 1;
        }
    }
    assert_eq!(got_ops, expected_ops, "{name}: operations per type");
    assert_eq!(got_io, io_expected, "{name}: I/O datagrams per connection");
    if tally.io > 0 {
        assert!(analysis
            .facts
            .iter()
            .any(|(_, f)| f.attribute == Attribute::Service && f.value == "cip_io"));
    }
    eprintln!("{name}: {tally:?}; operations {got_ops:?}; I/O {got_io:?}");
    Some(tally)
}

#[test]
fn enip_matches_tshark_frame_by_frame() {
    let mut total = Tally::default();
    let mut compared = 0;
    for name in CAPTURES {
        let Some(t) = compare(name) else { continue };
        compared += 1;
        total.frames += t.frames;
        total.requests += t.requests;
        total.services += t.services;
        total.attributes += t.attributes;
        total.identities += t.identities;
        total.io += t.io;
    }
    if compared == 0 {
        return;
    }
    eprintln!("{compared} captures: {total:?}");
    assert_eq!(compared, CAPTURES.len());
    assert!(total.identities >= 8, "ListIdentity identity compared");
    assert!(total.io >= 4, "class 1 I/O compared");
}

/// The Rockwell 1756-ENBT/A of enip_test answers ListIdentity: its whole identity.
#[test]
fn list_identity_of_a_1756_enbt() {
    let Some(path) = common::shared_capture("enip/enip_test.pcap") else {
        return;
    };
    let facts = common::fact_log(Path::new(&path));
    let got: Vec<(Attribute, String)> = facts
        .iter()
        .filter(|(_, f)| f.source == Source::Enip)
        .map(|(_, f)| (f.attribute, f.value.to_string()))
        .collect();
    for want in [
        (Attribute::Vendor, "Rockwell Automation/Allen-Bradley"),
        (Attribute::Description, "Communications Adapter"),
        (Attribute::ProductCode, "58"),
        (Attribute::Firmware, "4.03"),
        (Attribute::Serial, "0x00524d8e"),
        (Attribute::Model, "1756-ENBT/A"),
        (Attribute::State, "operational"),
    ] {
        assert!(
            got.contains(&(want.0, want.1.to_owned())),
            "missing {want:?} in {got:?}"
        );
    }
}
