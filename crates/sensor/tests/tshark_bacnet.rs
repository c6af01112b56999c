#![allow(clippy::unwrap_used, clippy::expect_used)]
//! BACnet/IP operations and identities against `tshark` (`bvlc`, `bacnet`, `bacapp`), frame by
//! frame, over every capture in `pcaps/bacnet/`.
//!
//! From tshark's decoding of each BACnet/IP frame this test computes the operations Ironward
//! must report in that frame: a confirmed request (first segment only) → the service's
//! snake_case name (`read_property`, …), an unconfirmed request → its name (`who_is`, `i_am`,
//! …), Error/Reject/Abort → `error_response`, a network-layer message → its name
//! (`who_is_router_to_network`, …), BVLC management (`register_foreign_device`, BDT/FDT reads,
//! NAK results → `error_response`). Every frame's operations must match exactly, and so must
//! the per-operation totals. Values compared: ReadProperty's object type, instance and property
//! (names from tshark's numbers), ReadPropertyMultiple's first object, I-Am's device instance
//! and vendor id (and the ProtocolAddress and vendor-name facts), Error class and code names,
//! Reject and Abort reasons, and for every ReadProperty ACK of a device property that maps to
//! an attribute (vendor-name, model-name, firmware-revision, application-software-version,
//! object-name, description, location) a fact of that attribute on the sender.
//!
//! Deliberate differences, checked explicitly:
//! * BACnet over Ethernet (LLC, no IP) is not dissected: those frames (tshark: `bacnet &&
//!   !bvlc`) give no event.
//! * Devices behind a BACnet router (NPDU source network, `bacnet.control_src`) get no identity
//!   fact: they have no IP of their own and the facts would land on the router.
//! * A whole-file AtomicReadFile/AtomicWriteFile transfer also gives one ProgramUpload /
//!   ProgramDownload event with the content hash (in the frame completing it, or at the end of
//!   the flow), on top of the per-call Read/Write events tshark counts; those are counted
//!   apart.
//! * An I-Am of the wildcard instance 4194303 (a device that does not know its number) gives no
//!   ProtocolAddress.
//! * An empty character string (only its character set byte) gives no fact.
//! * Simple, complex and segment ACKs are answers, not operations: no event.

mod common;

use std::collections::BTreeMap;
use std::net::IpAddr;

use ironward_model::{Attribute, DeviceKey, EventCategory, Fact};
use ironward_proto::bacnet::names;

const FIELDS: [&str; 20] = [
    "ip.src",
    "udp.payload",
    "bvlc.function",
    "bvlc.result",
    "bvlc.fwd_ip",
    "bacnet.control_src",
    "bacnet.mesgtyp",
    "bacapp.type",
    "bacapp.confirmed_service",
    "bacapp.unconfirmed_service",
    "bacapp.segmented_request",
    "bacapp.sequence_number",
    "bacapp.objectType",
    "bacapp.instance_number",
    "bacapp.property_identifier",
    "bacapp.vendor_identifier",
    "bacapp.error_class",
    "bacapp.error_code",
    "bacapp.reject_reason",
    "bacapp.abort_reason",
];

struct Row<'a>(&'a [String]);

impl Row<'_> {
    fn get(&self, name: &str) -> &str {
        let i = FIELDS.iter().position(|f| *f == name).unwrap();
        self.0.get(i).map_or("", String::as_str)
    }
    /// The first value of a field, as a number (hex with 0x, or decimal).
    fn num(&self, name: &str) -> Option<u64> {
        let v = self.get(name).split(',').next()?.trim();
        if v.is_empty() {
            return None;
        }
        match v.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).ok(),
            None => v.parse().ok(),
        }
    }
    fn nums(&self, name: &str) -> Vec<u64> {
        self.get(name)
            .split(',')
            .filter_map(|v| v.trim().parse().ok())
            .collect()
    }
    fn routed(&self) -> bool {
        matches!(self.get("bacnet.control_src"), "1" | "True" | "true")
    }
}

#[derive(Default, Debug)]
struct Stats {
    frames: usize,
    operations: usize,
    values: usize,
    transfers: usize,
}

fn object_text(ty: u64, instance: u64) -> String {
    match names::object_type(ty as u16) {
        Some(name) => format!("{name},{instance}"),
        None => format!("{ty},{instance}"),
    }
}

fn property_text(p: u64) -> String {
    names::property(p as u32).map_or_else(|| p.to_string(), str::to_owned)
}

fn check(relative: &str) -> Option<Stats> {
    let path = common::shared_capture(relative)?;
    let analysis = common::logged_analysis(&path);
    let events: Vec<_> = analysis
        .event_log
        .iter()
        .filter(|(_, e)| e.protocol == "bacnet")
        // Broken messages are checked by detect_protocol_violations.rs, not against tshark.
        .filter(|(_, e)| !common::is_spec_report(e))
        .collect();
    let facts: Vec<&(u64, Fact)> = analysis
        .facts
        .iter()
        .filter(|(_, f)| f.source == ironward_model::Source::Bacnet)
        .collect();
    let rows = common::tshark_fields(&path, "bvlc", &FIELDS);
    let non_ip = common::tshark_fields(&path, "bacnet && !bvlc", &["bacnet.control"]);
    let mut stats = Stats::default();
    let mut want_total: BTreeMap<String, usize> = BTreeMap::new();
    let mut got_total: BTreeMap<String, usize> = BTreeMap::new();
    let transfer = |e: &ironward_model::Event| {
        matches!(
            e.category,
            EventCategory::ProgramUpload | EventCategory::ProgramDownload
        )
    };
    let covered: std::collections::BTreeSet<u64> = rows.iter().map(|(f, _)| *f).collect();
    for (frame, event) in &events {
        if transfer(event) {
            stats.transfers += 1;
            assert!(event.content_hash.is_some());
            continue;
        }
        assert!(
            covered.contains(frame),
            "{relative}: event {event:?} in frame {frame}, not BACnet/IP for tshark"
        );
    }
    for (frame, _) in &non_ip {
        assert!(
            !events.iter().any(|(f, _)| f == frame),
            "{relative}: BACnet/Ethernet frame {frame} gave an event"
        );
    }
    for (frame, values) in &rows {
        let row = Row(values);
        stats.frames += 1;
        let mut want: Vec<String> = Vec::new();
        let function = row.num("bvlc.function");
        match function {
            Some(0x00) if row.num("bvlc.result").unwrap_or(0) != 0 => {
                want.push("error_response".into())
            }
            Some(0x01) => want.push("write_broadcast_distribution_table".into()),
            Some(0x02) => want.push("read_broadcast_distribution_table".into()),
            Some(0x05) => want.push("register_foreign_device".into()),
            Some(0x06) => want.push("read_foreign_device_table".into()),
            Some(0x08) => want.push("delete_foreign_device_table_entry".into()),
            _ => {}
        }
        if let Some(ty) = row.num("bacnet.mesgtyp") {
            want.push(names::network_message(ty as u8).into());
        }
        let pdu = row.num("bacapp.type");
        let segmented_later = matches!(row.get("bacapp.segmented_request"), "1" | "True")
            && row.num("bacapp.sequence_number").unwrap_or(0) != 0;
        match pdu {
            Some(0) if !segmented_later => {
                if let Some(s) = row.num("bacapp.confirmed_service") {
                    want.push(names::confirmed(s as u8).0.into());
                }
            }
            Some(1) => {
                if let Some(s) = row.num("bacapp.unconfirmed_service") {
                    want.push(names::unconfirmed(s as u8).0.into());
                }
            }
            Some(5..=7) => want.push("error_response".into()),
            _ => {}
        }
        let mine: Vec<&ironward_model::Event> = events
            .iter()
            .filter(|(f, e)| f == frame && !transfer(e))
            .map(|(_, e)| e)
            .collect();
        let mut got: Vec<String> = mine.iter().map(|e| e.operation.to_string()).collect();
        want.sort();
        got.sort();
        assert_eq!(got, want, "{relative} frame {frame}: {values:?}");
        stats.operations += want.len();
        for op in &want {
            *want_total.entry(op.clone()).or_default() += 1;
        }
        for op in &got {
            *got_total.entry(op.clone()).or_default() += 1;
        }
        let detail = mine.first().map_or("", |e| e.detail.as_str());
        let src: Option<IpAddr> = row
            .get("bvlc.fwd_ip")
            .split(',')
            .next()
            .filter(|v| !v.is_empty())
            .or(Some(row.get("ip.src")))
            .and_then(|v| v.parse().ok());
        let fact_upto = |attribute: Attribute, value: Option<&str>| {
            facts.iter().any(|(f, fact)| {
                f <= frame
                    && Some(fact.subject) == src.map(DeviceKey::Ip)
                    && fact.attribute == attribute
                    && value.is_none_or(|v| fact.value == v)
            })
        };
        // Values.
        match (
            pdu,
            row.num("bacapp.confirmed_service"),
            row.num("bacapp.unconfirmed_service"),
        ) {
            (Some(0), Some(12 | 14), _) if !segmented_later => {
                let (ty, inst) = (
                    row.num("bacapp.objectType"),
                    row.num("bacapp.instance_number"),
                );
                if let (Some(ty), Some(inst)) = (ty, inst) {
                    let mut expected = object_text(ty, inst);
                    if row.num("bacapp.confirmed_service") == Some(12) {
                        if let Some(p) = row.num("bacapp.property_identifier") {
                            expected = format!("{expected} {}", property_text(p));
                        }
                    }
                    assert!(
                        detail.starts_with(&expected),
                        "{relative} frame {frame}: detail {detail:?}, tshark {expected:?}"
                    );
                    stats.values += 1;
                }
            }
            (Some(1), _, Some(0)) => {
                let inst = row.num("bacapp.instance_number").unwrap();
                let vendor = row.num("bacapp.vendor_identifier").unwrap();
                assert!(
                    detail.starts_with(&format!("device,{inst} vendor {vendor}")),
                    "{relative} frame {frame}: {detail}"
                );
                stats.values += 2;
                if row.routed() {
                    assert!(
                        !facts.iter().any(|(f, _)| f == frame),
                        "{relative} frame {frame}: routed I-Am gave facts"
                    );
                } else if inst != 4_194_303 {
                    let address = format!("bacnet:device:{inst}");
                    assert!(
                        fact_upto(Attribute::ProtocolAddress, Some(&address)),
                        "{relative} frame {frame}: no {address}"
                    );
                    if let Some(name) = names::vendor(vendor) {
                        assert!(
                            fact_upto(Attribute::Vendor, Some(name)),
                            "{relative} frame {frame}"
                        );
                    }
                    stats.values += 1;
                }
            }
            _ => {}
        }
        match pdu {
            Some(5) => {
                let class = row.num("bacapp.error_class").and_then(names::error_class);
                let code = row.num("bacapp.error_code").and_then(names::error_code);
                if let (Some(class), Some(code)) = (class, code) {
                    assert!(
                        detail.ends_with(&format!("{class} {code}")),
                        "{relative} frame {frame}: {detail}"
                    );
                    stats.values += 2;
                }
            }
            Some(6) => {
                let reason = row
                    .num("bacapp.reject_reason")
                    .and_then(|r| names::reject_reason(r as u8));
                assert!(
                    detail.ends_with(reason.unwrap()),
                    "{relative} frame {frame}: {detail}"
                );
                stats.values += 1;
            }
            Some(7) => {
                let reason = row
                    .num("bacapp.abort_reason")
                    .and_then(|r| names::abort_reason(r as u8));
                assert!(
                    detail.ends_with(reason.unwrap()),
                    "{relative} frame {frame}: {detail}"
                );
                stats.values += 1;
            }
            // A ReadProperty ACK of a device property that names the device.
            Some(3) if row.num("bacapp.confirmed_service") == Some(12) => {
                let types = row.nums("bacapp.objectType");
                let property = row.num("bacapp.property_identifier");
                let attribute = match property {
                    Some(121) => Some(Attribute::Vendor),
                    Some(70) => Some(Attribute::Model),
                    Some(44) => Some(Attribute::Firmware),
                    Some(12) => Some(Attribute::Software),
                    Some(77) => Some(Attribute::Hostname),
                    Some(28) => Some(Attribute::Description),
                    Some(58) => Some(Attribute::Location),
                    _ => None,
                };
                // An empty string (a character set byte only: `71 cs 3f`) names nothing.
                let payload = row.get("udp.payload");
                let empty = payload.len() >= 6 && payload[payload.len() - 6..].starts_with("71");
                if let (Some(8), Some(attribute), false, false) =
                    (types.first().copied(), attribute, row.routed(), empty)
                {
                    assert!(
                        fact_upto(attribute, None),
                        "{relative} frame {frame}: no {attribute:?}"
                    );
                    stats.values += 1;
                }
            }
            _ => {}
        }
    }
    assert_eq!(got_total, want_total, "{relative}: operation totals");
    eprintln!(
        "{relative}: {stats:?} per operation {got_total:?}, non-IP BACnet frames {}",
        non_ip.len()
    );
    Some(stats)
}

#[test]
fn bacnet_operations_and_identity_match_tshark() {
    let mut total = Stats::default();
    for capture in [
        "bacnet/icsnpp_bacnet_error_reject_abort.pcap",
        "bacnet/icsnpp_bacnet_example.pcap",
        "bacnet/icsnpp_bacnet_services.pcap",
        "bacnet/iti_bacnet_test.pcap",
    ] {
        let Some(stats) = check(capture) else {
            return;
        };
        total.frames += stats.frames;
        total.operations += stats.operations;
        total.values += stats.values;
        total.transfers += stats.transfers;
    }
    eprintln!("total: {total:?}");
    assert!(total.operations > 5000 && total.values > 6000);
}
