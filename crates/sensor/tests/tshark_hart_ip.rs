#![allow(clippy::unwrap_used, clippy::expect_used)]
//! HART-IP against `tshark`, frame by frame, over `pcaps/hart-ip/iti_hart_ip.pcapng` (a host
//! talking to a WirelessHART gateway over UDP, then over TCP).
//!
//! From tshark's `hart_ip` fields of each frame this test computes what Ironward must report
//! in that same frame:
//! * requests (`hart_ip.message_type` 0): Session Initiate → `session_initiate` (detail the
//!   host type), Session Close → `session_close`, Keep Alive → `keep_alive`, pass-through →
//!   the HART command's operation (`hart_ip.pt.command`, named and categorised by
//!   `ironward_proto::hart_ip::command`) with `command N` and the polling address
//!   (`hart_ip.pt.short_addr`) or long address (`hart_ip.pt.long_address`) in the detail, from
//!   the host;
//! * responses: no event (all succeed here); command 0 replies (`manufacturer_Id`,
//!   `expanded_device_type`, `device_id`, `software_rev`) → ProductCode
//!   `hart:0x<mfr>-0x<type>`, Serial, Firmware and ProtocolAddress of the gateway; command 20
//!   replies (`hart_ip.pt.rsp.tag`) → Hostname; any response → service `hart_ip`; reported in
//!   that frame or earlier (facts are de-duplicated);
//! * per capture, the number of requests per operation equals the number of events per
//!   operation.
//!
//! Deliberate differences, checked explicitly:
//! * The gateway answers command 13 with a blank packed-ASCII tag, which tshark shows as
//!   `@@@@@@@@` (packed ASCII 0); Ironward reports no Hostname for a blank tag.
//! * Frame 27 is an ICMP port unreachable quoting a HART-IP datagram; tshark decodes the quoted
//!   message, Ironward does not look into ICMP.
//! * The gateway answers UDP requests sent to port 5094 from port 5095: a flow of its own,
//!   recognised by content (a whole HART-IP message), which tshark decodes by port too.

mod common;

use std::collections::BTreeMap;
use std::net::IpAddr;

use ironward_model::{Attribute, DeviceKey, Event, EventCategory, Fact, Source};

const FIELDS: [&str; 13] = [
    "hart_ip.message_type",
    "hart_ip.message_id",
    "hart_ip.status",
    "hart_ip.session_init.master_type",
    "hart_ip.pt.command",
    "hart_ip.pt.short_addr",
    "hart_ip.pt.long_address",
    "hart_ip.pt.rsp.manufacturer_Id",
    "hart_ip.pt.rsp.expanded_device_type",
    "hart_ip.pt.rsp.device_id",
    "hart_ip.pt.rsp.software_rev",
    "hart_ip.pt.rsp.tag",
    "ip.src",
];

fn get<'a>(row: &'a [String], name: &str) -> &'a str {
    let i = FIELDS.iter().position(|f| *f == name).unwrap();
    row.get(i).map(String::as_str).unwrap_or("")
}

fn num(value: &str) -> u32 {
    match value.strip_prefix("0x") {
        Some(hex) => u32::from_str_radix(hex, 16).unwrap(),
        None => value.parse().unwrap(),
    }
}

#[test]
fn hart_ip_matches_tshark_frame_by_frame() {
    let Some(path) = common::shared_capture("hart-ip/iti_hart_ip.pcapng") else {
        return;
    };
    let analysis = common::logged_analysis(&path);
    let events: Vec<(u64, &Event)> = analysis
        .event_log
        .iter()
        .filter(|(_, e)| e.protocol == "hart_ip")
        .map(|(f, e)| (*f, e))
        .collect();
    let facts: Vec<(u64, &Fact)> = analysis
        .facts
        .iter()
        .filter(|(_, f)| f.source == Source::HartIp)
        .map(|(f, x)| (*f, x))
        .collect();
    let rows = common::tshark_fields(&path, "hart_ip && !icmp", &FIELDS);
    assert!(!rows.is_empty());
    let (mut requests, mut values, mut blank_tags) = (0, 0, 0);
    let mut expected_ops: BTreeMap<String, u64> = BTreeMap::new();
    for (frame, row) in &rows {
        let field = |n: &str| get(row, n);
        let sender: IpAddr = field("ip.src").parse().unwrap();
        let here: Vec<&Event> = events
            .iter()
            .filter(|(f, _)| f == frame)
            .map(|(_, e)| *e)
            .collect();
        let address = match field("hart_ip.pt.long_address") {
            "" => format!("polling {}", field("hart_ip.pt.short_addr")),
            long => format!("address {long}"),
        };
        if field("hart_ip.message_type") == "0" {
            let (op, category, detail) = match num(field("hart_ip.message_id")) {
                0 => {
                    let host = match field("hart_ip.session_init.master_type") {
                        "1" => "primary host",
                        _ => "secondary host",
                    };
                    ("session_initiate", EventCategory::Other, host.to_owned())
                }
                1 => ("session_close", EventCategory::Other, String::new()),
                2 => ("keep_alive", EventCategory::Other, String::new()),
                3 => {
                    let command = num(field("hart_ip.pt.command"));
                    let (op, category) = ironward_proto::hart_ip::command(command as u16);
                    (op, category, format!("command {command} {address}"))
                }
                id => panic!("frame {frame}: message id {id}"),
            };
            assert_eq!(here.len(), 1, "frame {frame}: {here:?}");
            let e = here[0];
            assert_eq!(
                (e.operation.as_ref(), e.category, e.detail.as_str()),
                (op, category, detail.as_str()),
                "frame {frame}"
            );
            assert_eq!(e.src.ip, Some(sender), "frame {frame}");
            *expected_ops.entry(op.to_owned()).or_default() += 1;
            requests += 1;
            continue;
        }
        assert!(here.is_empty(), "frame {frame}: {here:?}");
        assert_eq!(field("hart_ip.status"), "0");
        let mut want = vec![(Attribute::Service, "hart_ip".to_owned())];
        if !field("hart_ip.pt.rsp.manufacturer_Id").is_empty() {
            let mfr = num(field("hart_ip.pt.rsp.manufacturer_Id"));
            let kind = num(field("hart_ip.pt.rsp.expanded_device_type"));
            let id = field("hart_ip.pt.rsp.device_id");
            want.push((
                Attribute::ProductCode,
                format!("hart:0x{mfr:02x}-0x{kind:04x}"),
            ));
            want.push((Attribute::Serial, id.to_owned()));
            want.push((
                Attribute::Firmware,
                field("hart_ip.pt.rsp.software_rev").to_owned(),
            ));
            want.push((
                Attribute::ProtocolAddress,
                format!("hart:{:04x}{id}", kind & 0x3fff),
            ));
        }
        match field("hart_ip.pt.rsp.tag") {
            "" => {}
            tag if tag.chars().all(|c| c == '@' || c == ' ') => blank_tags += 1,
            tag => want.push((Attribute::Hostname, tag.to_owned())),
        }
        for (attribute, value) in want {
            assert!(
                facts.iter().any(|(f, x)| f <= frame
                    && x.attribute == attribute
                    && x.value == value
                    && x.subject == DeviceKey::Ip(sender)),
                "frame {frame}: missing {attribute:?} {value}"
            );
            values += 1;
        }
    }
    // Nothing from frames tshark does not decode as HART-IP, and no blank tag as a name.
    for (frame, f) in &facts {
        assert!(
            rows.iter().any(|(r, _)| r == frame),
            "fact in frame {frame}: {f:?}"
        );
        assert!(!(f.attribute == Attribute::Hostname && f.value.contains('@')));
    }
    let mut got_ops: BTreeMap<String, u64> = BTreeMap::new();
    for (frame, e) in &events {
        assert!(
            rows.iter().any(|(r, _)| r == frame),
            "event in frame {frame}: {e:?}"
        );
        *got_ops.entry(e.operation.to_string()).or_default() += 1;
    }
    assert_eq!(got_ops, expected_ops, "operations per type");
    assert!(blank_tags > 0, "the blank command 13 tags were compared");
    eprintln!(
        "hart_ip: {} frames, {requests} requests, {values} fact values, {blank_tags} blank tags; {got_ops:?}",
        rows.len()
    );
}
