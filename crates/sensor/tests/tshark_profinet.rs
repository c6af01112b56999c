#![allow(clippy::unwrap_used, clippy::expect_used)]
//! PROFINET DCP and PROFINET IO (RT frames, CM over DCE/RPC) against `tshark`, frame by
//! frame, over every capture in `profinet/`.
//!
//! DCP (`pn_dcp_ChangeIPUsingDCP.pcap`, `icsnpp_profinet_io_cm_mixed_1.pcap`): every DCP
//! frame is decoded with [`Pdu::parse`] and compared with `pn_dcp.*`: service id and type,
//! xid, the options of every block (and of the pairs a device-options block lists, as tshark
//! shows them), name of station, type of station, vendor and device id, device role, IP suite,
//! block qualifier, block errors. Through the sensor: `identify` events come from the Identify
//! request frames, `set_ip`/`set_name_of_station` from the Set request frames with tshark's
//! values, `get`/`hello` add up to tshark's Get requests and Hellos, and every responder gets
//! the `Hostname`, `Model`, `ProductCode` and `Ip` facts tshark's fields call for.
//!
//! PNIO CM (all five captures): every DCE/RPC request and response is decoded with
//! [`DceRpc::parse`] and compared with `dcerpc.*` (packet type, operation number, PNIO
//! interface, object UUID's device and vendor id); the number of requests per operation equals
//! the number of events per operation (control requests count under the command's name), each
//! coming from its request frame and requester; read/write events carry tshark's first
//! `pn_io.index`; connect requests give the requester tshark's `pn_io.cminitiator_station_name`
//! as `Hostname`.
//!
//! PNIO RT (`icsnpp_profinet_io_cm_mixed_1.pcap`): the `cyclic_data` events add up, per
//! (source, destination, frame id), to tshark's cyclic `pn_io` frames, and `alarm` events to
//! its alarm frames (0xfc01/0xfe01).
//!
//! Deliberate differences, checked below: PTCP frames (0xff40…, `pn_ptcp`) are not claimed by
//! either dissector; Identify responses give facts, not events; the start and end of a Set
//! transaction (control 1 and 2) give no event.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use ironward_model::{Attribute, DeviceKey, MacAddress};
use ironward_proto::pn_dcp::{self, Pdu, Value};
use ironward_proto::pn_io::{rt_kind, DceRpc, Interface, RtKind};
use ironward_sensor::capture;
use ironward_wire::{decode, Network, Transport};

/// (frame number, source MAC, payload) of the 0x8892 frames, and (frame number, payload) of
/// the UDP datagrams of a capture.
type Frames = (Vec<(u64, [u8; 6], Vec<u8>)>, BTreeMap<u64, Vec<u8>>);

fn frames(path: &Path) -> Frames {
    let mut reader = capture::open_file(path).unwrap();
    let (mut rt, mut udp) = (Vec::new(), BTreeMap::new());
    let mut number = 0;
    while let Some(frame) = reader.next_frame() {
        number += 1;
        let packet = decode(frame.linktype, frame.data);
        if let Network::Other {
            ethertype: pn_dcp::ETHERTYPE,
            payload,
        } = packet.network
        {
            let src = packet.link.src_mac.map(|m| m.0).unwrap_or_default();
            rt.push((number, src, payload.to_vec()));
        }
        if let Transport::Udp { payload, .. } = packet.transport {
            udp.insert(number, payload.to_vec());
        }
    }
    (rt, udp)
}

fn split(field: &str) -> Vec<String> {
    if field.is_empty() {
        Vec::new()
    } else {
        field.split(',').map(str::to_owned).collect()
    }
}

fn mac_text(mac: [u8; 6]) -> String {
    ironward_wire::MacAddr(mac).to_string()
}

const DCP_FIELDS: [&str; 16] = [
    "pn_dcp.service_id",
    "pn_dcp.service_type",
    "pn_dcp.xid",
    "pn_dcp.option",
    "pn_dcp.suboption_device_nameofstation",
    "pn_dcp.suboption_device_devicevendorvalue",
    "pn_dcp.suboption_vendor_id",
    "pn_dcp.suboption_device_id",
    "pn_dcp.suboption_device_role",
    "pn_dcp.suboption_ip_ip",
    "pn_dcp.suboption_ip_subnetmask",
    "pn_dcp.suboption_ip_standard_gateway",
    "pn_dcp.block_qualifier",
    "pn_dcp.block_error",
    "eth.src",
    "pn_dcp.response_delay",
];

/// What our decoding of one DCP frame says, in tshark's terms (field index → values).
fn dcp_fields(pdu: &Pdu<'_>) -> Vec<Vec<String>> {
    let mut f: Vec<Vec<String>> = vec![Vec::new(); 14];
    f[0].push(pdu.service_id.to_string());
    f[1].push(pdu.service_type.to_string());
    f[2].push(format!("{:#010x}", pdu.xid));
    for block in pdu.blocks() {
        let block = block.unwrap();
        f[3].push(block.option.to_string());
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        match block.value {
            Value::DeviceOptions(pairs) => {
                for pair in pairs.chunks(2) {
                    f[3].push(pair[0].to_string());
                }
            }
            Value::NameOfStation(name) => f[4].push(text(name)),
            Value::TypeOfStation(model) => f[5].push(text(model)),
            Value::DeviceId { vendor, device } => {
                f[6].push(format!("{vendor:#06x}"));
                f[7].push(format!("{device:#06x}"));
            }
            Value::DeviceRole(role) => f[8].push(format!("{role:#04x}")),
            Value::IpSuite { ip, mask, gateway }
            | Value::FullIpSuite {
                ip, mask, gateway, ..
            } => {
                f[9].push(ip.to_string());
                f[10].push(mask.to_string());
                f[11].push(gateway.to_string());
            }
            Value::Response { error, .. } => f[13].push(error.to_string()),
            _ => {}
        }
        if pdu.service_id == pn_dcp::SERVICE_SET && pdu.is_request() {
            f[12].push(block.info.unwrap().to_string());
        }
    }
    f
}

/// Occurrences of each operation of `protocol` in the event log: operation → [(frame, src
/// endpoint text, detail)].
type Ops = BTreeMap<String, Vec<(u64, String, String)>>;

fn operations(path: &Path, protocol: &str) -> Ops {
    let mut out: Ops = BTreeMap::new();
    for (frame, event) in common::event_log(path) {
        if event.protocol == protocol {
            let src = event
                .src
                .ip
                .map(|ip| ip.to_string())
                .or(event.src.mac.map(|m| m.to_string()))
                .unwrap_or_default();
            out.entry(event.operation.to_string()).or_default().push((
                frame,
                src,
                event.detail.clone(),
            ));
        }
    }
    out
}

fn facts_of(path: &Path, source: &str) -> Vec<(DeviceKey, Attribute, String)> {
    common::fact_log(path)
        .into_iter()
        .filter(|(_, f)| f.source.as_str() == source)
        .map(|(_, f)| (f.subject, f.attribute, f.value.to_string()))
        .collect()
}

/// Returns (frames, values compared, events checked).
fn check_dcp(relative: &str) -> Option<(usize, usize, usize)> {
    let path = common::shared_capture(relative)?;
    let rows = common::tshark_fields(&path, "pn_dcp", &DCP_FIELDS);
    assert!(!rows.is_empty(), "{relative}: no DCP");
    let (rt, _) = frames(&path);
    let by_number: BTreeMap<u64, ([u8; 6], Vec<u8>)> =
        rt.into_iter().map(|(n, src, p)| (n, (src, p))).collect();
    let mut compared = 0;
    let mut expected_ops: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    let mut expected_facts = Vec::new();
    let mut set_details = Vec::new();
    for (number, row) in &rows {
        let (src, payload) = &by_number[number];
        let pdu = Pdu::parse(payload).unwrap_or_else(|e| panic!("{relative} {number}: {e}"));
        let ours = dcp_fields(&pdu);
        for (i, values) in ours.iter().enumerate() {
            let want = split(&row[i]);
            assert_eq!(
                values, &want,
                "{relative} frame {number}: {}",
                DCP_FIELDS[i]
            );
            compared += want.len();
        }
        let key = DeviceKey::Mac(MacAddress(*src));
        match (pdu.service_id, pdu.is_request()) {
            (5, true) => expected_ops.entry("identify").or_default().push(*number),
            (3, true) => expected_ops.entry("get").or_default().push(*number),
            (6, _) => expected_ops.entry("hello").or_default().push(*number),
            (4, true) => {
                for (ip, (mask, gw)) in ours[9].iter().zip(ours[10].iter().zip(&ours[11])) {
                    expected_ops.entry("set_ip").or_default().push(*number);
                    set_details.push(format!("ip={ip} mask={mask} gateway={gw}"));
                }
                for name in &ours[4] {
                    expected_ops
                        .entry("set_name_of_station")
                        .or_default()
                        .push(*number);
                    set_details.push(format!("name={name}"));
                }
            }
            (5 | 3, false) => {
                for name in &ours[4] {
                    expected_facts.push((key, Attribute::Hostname, name.clone()));
                }
                for model in &ours[5] {
                    expected_facts.push((key, Attribute::Model, model.clone()));
                }
                for (v, d) in ours[6].iter().zip(&ours[7]) {
                    expected_facts.push((key, Attribute::ProductCode, format!("pn:{v}/{d}")));
                }
                for ip in ours[9].iter().filter(|ip| *ip != "0.0.0.0") {
                    expected_facts.push((key, Attribute::Ip, ip.clone()));
                }
                expected_facts.push((key, Attribute::Service, "pn_dcp".into()));
            }
            _ => {}
        }
    }
    let ops = operations(&path, "pn_dcp");
    let mut events = 0;
    for (operation, frames) in &expected_ops {
        let got: Vec<u64> = ops
            .get(*operation)
            .map(|v| v.iter().map(|(f, _, _)| *f).collect())
            .unwrap_or_default();
        assert_eq!(&got, frames, "{relative}: {operation} frames");
        events += got.len();
    }
    for (operation, occurrences) in &ops {
        assert!(
            expected_ops.contains_key(operation.as_str()),
            "{relative}: unexpected {operation}: {occurrences:?}"
        );
    }
    let set_got: Vec<&String> = ["set_ip", "set_name_of_station"]
        .iter()
        .flat_map(|op| ops.get(*op).into_iter().flatten())
        .map(|(_, _, d)| d)
        .collect();
    for (want, got) in set_details.iter().zip(&set_got) {
        assert!(got.starts_with(want.as_str()), "{got} vs {want}");
    }
    let facts = facts_of(&path, "pn_dcp");
    for fact in &expected_facts {
        assert!(
            facts.contains(fact),
            "{relative}: {fact:?} missing from {facts:?}"
        );
    }
    eprintln!(
        "{relative}: {} DCP frames, {compared} values, {events} events ({:?}), {} facts",
        rows.len(),
        expected_ops
            .iter()
            .map(|(k, v)| (*k, v.len()))
            .collect::<Vec<_>>(),
        expected_facts.len()
    );
    Some((rows.len(), compared, events))
}

#[test]
fn dcp_change_ip() {
    if let Some((frames, _, events)) = check_dcp("profinet/pn_dcp_ChangeIPUsingDCP.pcap") {
        assert_eq!((frames, events), (4, 2));
        let path = common::shared_capture("profinet/pn_dcp_ChangeIPUsingDCP.pcap").unwrap();
        let ops = operations(&path, "pn_dcp");
        assert_eq!(
            ops["set_ip"][0].2,
            "ip=192.168.0.10 mask=255.255.255.0 gateway=192.168.0.1 permanent"
        );
        let facts = facts_of(&path, "pn_dcp");
        let station = DeviceKey::Mac(MacAddress([0x08, 0x00, 0x06, 0x93, 0xcf, 0x32]));
        assert!(facts.contains(&(station, Attribute::Vendor, "Siemens".into())));
        assert!(facts.contains(&(station, Attribute::Capability, "profinet io-device".into())));
    }
}

#[test]
fn dcp_in_mixed_capture() {
    if let Some((frames, _, _)) = check_dcp("profinet/icsnpp_profinet_io_cm_mixed_1.pcap") {
        assert_eq!(frames, 19);
    }
}

const CM_FIELDS: [&str; 8] = [
    "dcerpc.pkt_type",
    "dcerpc.opnum",
    "dcerpc.dg_if_id",
    "dcerpc.obj_id",
    "ip.src",
    "pn_io.index",
    "pn_io.cminitiator_station_name",
    "dcerpc.dg_frag_num",
];

/// Returns (requests and responses compared, requests).
fn check_cm(relative: &str) -> Option<(usize, usize)> {
    let path = common::shared_capture(relative)?;
    let rows = common::tshark_fields(
        &path,
        "dcerpc.pkt_type == 0 || dcerpc.pkt_type == 2",
        &CM_FIELDS,
    );
    let (_, udp) = frames(&path);
    let ops = operations(&path, "pn_io");
    let facts = facts_of(&path, "pn_io");
    let mut requests_per_op: BTreeMap<String, usize> = BTreeMap::new();
    let mut requests = 0;
    for (number, row) in &rows {
        let rpc = DceRpc::parse(&udp[number]).unwrap();
        assert_eq!(rpc.packet_type.to_string(), row[0], "{relative} {number}");
        assert_eq!(rpc.opnum.to_string(), row[1], "{relative} {number}");
        let interface = match &row[2][..8] {
            "dea00001" => Interface::Device,
            "dea00002" => Interface::Controller,
            other => panic!("{relative} {number}: interface {other}"),
        };
        assert_eq!(rpc.interface, Some(interface), "{relative} {number}");
        let (_, device, vendor) = rpc.object_ids().unwrap();
        assert_eq!(
            format!("{device:04x}{vendor:04x}"),
            row[3][row[3].len() - 8..],
            "{relative} {number}: object"
        );
        assert_eq!(row[7], "0", "no fragments in these captures");
        if rpc.packet_type != 0 {
            continue;
        }
        requests += 1;
        // The event this request frame produced.
        let event = ops
            .iter()
            .flat_map(|(op, v)| v.iter().map(move |e| (op, e)))
            .find(|(_, (frame, _, _))| frame == number)
            .unwrap_or_else(|| panic!("{relative} {number}: no event"));
        let (op, (_, src, detail)) = event;
        assert_eq!(src, &row[4], "{relative} {number}: requester");
        let expected_op = match rpc.opnum {
            0 => "connect",
            1 => "release",
            2 => "read",
            3 => "write",
            5 => "read_implicit",
            _ => op.as_str(),
        };
        assert_eq!(op, expected_op, "{relative} {number}");
        if rpc.opnum == 4 {
            assert!(
                ["prm_end", "application_ready", "release", "prm_begin"].contains(&op.as_str()),
                "{relative} {number}: control {op}"
            );
        }
        if let Some(index) = split(&row[5]).first() {
            assert!(
                detail.contains(&format!("index={index}")),
                "{relative} {number}: {detail} vs index {index}"
            );
        }
        if let Some(name) = split(&row[6]).first() {
            let requester = DeviceKey::Ip(row[4].parse().unwrap());
            assert!(
                facts.contains(&(requester, Attribute::Hostname, name.clone())),
                "{relative} {number}: station {name}"
            );
        }
        *requests_per_op.entry(op.clone()).or_default() += 1;
    }
    // Counts per operation: every event occurrence is one request frame.
    let ours: BTreeMap<String, usize> = ops
        .iter()
        .filter(|(op, _)| !matches!(op.as_str(), "cyclic_data" | "alarm" | "error_response"))
        .map(|(op, v)| (op.clone(), v.len()))
        .collect();
    assert_eq!(ours, requests_per_op, "{relative}: operations");
    eprintln!(
        "{relative}: {} DCE/RPC requests and responses compared, {requests} requests: {ours:?}",
        rows.len()
    );
    Some((rows.len(), requests))
}

#[test]
fn cm_connect() {
    if let Some((_, requests)) = check_cm("profinet/icsnpp_profinet_io_cm_connect.pcapng") {
        assert!(requests > 100);
    }
}

#[test]
fn cm_mixed() {
    check_cm("profinet/icsnpp_profinet_io_cm_mixed_1.pcap");
}

#[test]
fn cm_read() {
    if let Some((compared, requests)) = check_cm("profinet/icsnpp_profinet_io_cm_read.pcapng") {
        assert_eq!((compared, requests), (18, 9));
    }
}

#[test]
fn cm_iti() {
    if let Some((compared, requests)) = check_cm("profinet/iti_profinet.pcap") {
        assert_eq!((compared, requests), (2, 1));
    }
}

#[test]
fn rt_cyclic_and_alarms() {
    let relative = "profinet/icsnpp_profinet_io_cm_mixed_1.pcap";
    let Some(path) = common::shared_capture(relative) else {
        return;
    };
    let rows = common::tshark_fields(&path, "pn_rt", &["eth.src", "eth.dst", "pn_rt.frame_id"]);
    let mut cyclic: BTreeMap<(String, String), Vec<u64>> = BTreeMap::new();
    let mut alarms = Vec::new();
    let mut ptcp = 0;
    for (number, row) in &rows {
        let id: u16 = row[2].parse().unwrap();
        match rt_kind(id) {
            RtKind::Cyclic => cyclic
                .entry((row[0].clone(), format!("frame_id={id:#06x}")))
                .or_default()
                .push(*number),
            RtKind::Alarm { .. } => alarms.push(*number),
            RtKind::Other if (0xff00..=0xff43).contains(&id) => ptcp += 1,
            RtKind::Other => assert!((0xfefc..=0xfeff).contains(&id), "frame id {id:#06x}"),
        }
    }
    let ops = operations(&path, "pn_io");
    let mut ours: BTreeMap<(String, String), Vec<u64>> = BTreeMap::new();
    for (frame, src, detail) in ops.get("cyclic_data").into_iter().flatten() {
        ours.entry((src.clone(), detail.clone()))
            .or_default()
            .push(*frame);
    }
    assert_eq!(ours, cyclic);
    let alarm_frames: Vec<u64> = ops["alarm"].iter().map(|(f, _, _)| *f).collect();
    assert_eq!(alarm_frames, alarms);
    let senders: Vec<String> = cyclic.keys().map(|(src, _)| src.clone()).collect();
    let facts = facts_of(&path, "pn_io");
    for sender in &senders {
        assert!(facts.iter().any(|(key, attribute, value)| {
            matches!(key, DeviceKey::Mac(mac) if mac_text(mac.0) == *sender)
                && *attribute == Attribute::Service
                && value == "pn_io rt"
        }));
    }
    let total: usize = cyclic.values().map(Vec::len).sum();
    eprintln!(
        "{relative}: {total} cyclic frames in {} (sender, frame id) events, {} alarms, {ptcp} PTCP frames left alone",
        cyclic.len(),
        alarms.len()
    );
    assert_eq!((total, alarms.len(), ptcp), (102, 2, 41));
}
