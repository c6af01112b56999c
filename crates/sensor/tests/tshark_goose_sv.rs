#![allow(clippy::unwrap_used, clippy::expect_used)]
//! IEC 61850 GOOSE and Sampled Values against `tshark`, frame by frame, over every shared
//! capture that carries them (`iec61850-goose/*`, the GOOSE part of
//! `iec61850-mms/Sample_File_MMS_and_GOOSE.pcap`, `iec61850-sv/SV_Normal_Traffic.pcap`).
//!
//! 1. Fields: every GOOSE frame is decoded with [`Goose::parse`] and compared with tshark's
//!    `goose.*` fields (APPID, simulate bit, gocbRef, timeAllowedtoLive, datSet, goID, stNum,
//!    sqNum, simulation, confRev, ndsCom, numDatSetEntries, the number of allData entries);
//!    every SV frame with [`SampledValues::parse`] against `sv.*` (APPID, noASDU, and per ASDU
//!    svID, smpCnt, confRev, smpSynch).
//! 2. Operations: through the whole sensor, the `publish` events add up to tshark's GOOSE
//!    frames and SV ASDUs, `state_change` to the GOOSE frames with sqNum 0, and `malformed`
//!    to the GOOSE frames tshark marks malformed; each event comes from the frame tshark
//!    shows.
//! 3. Facts: each publisher (source MAC) gets `Service`, `ProtocolAddress` `goose:appid:…` /
//!    `sv:appid:…` for every APPID tshark shows it using.
//!
//! Deliberate differences, checked below:
//! - `goose_truncated.pcap`: tshark shows the header fields and reports the frame malformed
//!   inside allData; we decode the same header fields, count the allData entries that are
//!   whole (tshark's `goose.allData` item count is not printed for a cut PDU) and record one
//!   `malformed` event.
//! - tshark prints `t` as a date; it changes with every state and is not part of any event,
//!   so it is compared only for presence.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use ironward_model::{Attribute, DeviceKey, MacAddress};
use ironward_proto::goose::{self, Goose};
use ironward_proto::sv::{self, SampledValues};
use ironward_sensor::capture;
use ironward_wire::{decode, Network};

/// (frame number, ether type, payload) of every non-IP frame of a capture.
fn link_frames(path: &Path) -> Vec<(u64, u16, [u8; 6], Vec<u8>)> {
    let mut reader = capture::open_file(path).unwrap();
    let mut out = Vec::new();
    let mut number = 0;
    while let Some(frame) = reader.next_frame() {
        number += 1;
        let packet = decode(frame.linktype, frame.data);
        if let Network::Other { ethertype, payload } = packet.network {
            let src = packet.link.src_mac.map(|m| m.0).unwrap_or_default();
            out.push((number, ethertype, src, payload.to_vec()));
        }
    }
    out
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn split(field: &str) -> Vec<String> {
    if field.is_empty() {
        Vec::new()
    } else {
        field.split(',').map(str::to_owned).collect()
    }
}

fn tshark_bool(field: &str) -> bool {
    matches!(field, "1" | "True" | "true")
}

/// Occurrences of each (operation) among the event log's entries for `protocol`, and the
/// frames they came from.
fn operations(path: &Path, protocol: &str) -> BTreeMap<String, Vec<u64>> {
    let mut out: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (frame, event) in common::event_log(path) {
        if event.protocol == protocol {
            out.entry(event.operation.to_string())
                .or_default()
                .push(frame);
        }
    }
    out
}

/// (publisher MAC, attribute, value) of the facts of `protocol`'s source.
fn publisher_facts(path: &Path, source: &str) -> BTreeSet<(String, Attribute, String)> {
    common::fact_log(path)
        .into_iter()
        .filter(|(_, f)| f.source.as_str() == source)
        .filter_map(|(_, f)| match f.subject {
            DeviceKey::Mac(MacAddress(mac)) => Some((
                ironward_wire::MacAddr(mac).to_string(),
                f.attribute,
                f.value.to_string(),
            )),
            _ => None,
        })
        .collect()
}

const GOOSE_FIELDS: [&str; 15] = [
    "eth.src",
    "goose.appid",
    "goose.reserve1.s_bit",
    "goose.gocbRef",
    "goose.timeAllowedtoLive",
    "goose.datSet",
    "goose.goID",
    "goose.t",
    "goose.stNum",
    "goose.sqNum",
    "goose.simulation",
    "goose.confRev",
    "goose.ndsCom",
    "goose.numDatSetEntries",
    "goose.allData",
];

/// Compares one GOOSE capture; returns (frames, values compared).
fn check_goose(relative: &str, malformed_expected: usize) -> Option<(usize, usize)> {
    let path = common::shared_capture(relative)?;
    let rows: BTreeMap<u64, Vec<String>> = common::tshark_fields(&path, "goose", &GOOSE_FIELDS)
        .into_iter()
        .collect();
    assert!(!rows.is_empty(), "{relative}: tshark shows no GOOSE");
    let frames: BTreeMap<u64, Vec<u8>> = link_frames(&path)
        .into_iter()
        .filter(|(_, ethertype, _, _)| *ethertype == goose::ETHERTYPE)
        .map(|(n, _, _, payload)| (n, payload))
        .collect();
    assert_eq!(
        frames.keys().collect::<Vec<_>>(),
        rows.keys().collect::<Vec<_>>(),
        "{relative}: GOOSE frames"
    );
    let mut compared = 0;
    let mut sq_zero = Vec::new();
    let mut publishers = BTreeSet::new();
    let mut cut = 0;
    for (number, row) in &rows {
        let g = Goose::parse(&frames[number]).unwrap_or_else(|e| panic!("frame {number}: {e}"));
        let want_u = |i: usize| row[i].parse::<u64>().ok();
        let appid = u16::from_str_radix(row[1].trim_start_matches("0x"), 16).unwrap();
        let checks: Vec<(&str, bool)> = vec![
            ("appid", g.header.appid == appid),
            ("s_bit", g.header.simulated() == tshark_bool(&row[2])),
            ("gocbRef", text(g.gocb_ref) == row[3]),
            ("timeAllowedtoLive", g.time_allowed_to_live == want_u(4)),
            ("datSet", text(g.dat_set) == row[5]),
            ("goID", text(g.go_id) == row[6]),
            ("t", g.t.is_some() != row[7].is_empty()),
            ("stNum", g.st_num == want_u(8)),
            ("sqNum", g.sq_num == want_u(9)),
            ("simulation", g.simulation == tshark_bool(&row[10])),
            ("confRev", g.conf_rev == want_u(11)),
            ("ndsCom", g.nds_com == tshark_bool(&row[12])),
            ("numDatSetEntries", g.num_dat_set_entries == want_u(13)),
        ];
        for (name, ok) in checks {
            assert!(
                ok,
                "{relative} frame {number}: {name} differs: {g:?} vs {row:?}"
            );
            compared += 1;
        }
        if g.error.is_some() {
            // Deliberate difference: tshark prints no item count for a cut allData.
            cut += 1;
        } else {
            assert_eq!(
                Some(u64::from(g.all_data.entries)),
                want_u(14),
                "{relative} frame {number}: allData entries"
            );
            compared += 1;
        }
        if g.sq_num == Some(0) {
            sq_zero.push(*number);
        }
        publishers.insert((row[0].clone(), format!("goose:appid:{:#06x}", appid)));
    }
    assert_eq!(cut, malformed_expected, "{relative}: cut GOOSE PDUs");
    // Operations through the sensor.
    let ops = operations(&path, "goose");
    let publish = ops.get("publish").cloned().unwrap_or_default();
    assert_eq!(
        publish,
        rows.keys().copied().collect::<Vec<_>>(),
        "{relative}: publish"
    );
    assert_eq!(
        ops.get("state_change").cloned().unwrap_or_default(),
        sq_zero,
        "{relative}: state_change"
    );
    let malformed = common::tshark_fields(&path, "goose && _ws.malformed", &[]).len();
    assert_eq!(
        malformed, malformed_expected,
        "{relative}: tshark malformed"
    );
    assert_eq!(
        ops.get("malformed").map_or(0, Vec::len),
        malformed,
        "{relative}: malformed"
    );
    // Facts.
    let facts = publisher_facts(&path, "goose");
    for (mac, address) in &publishers {
        assert!(facts.contains(&(mac.clone(), Attribute::Service, "goose".into())));
        assert!(
            facts.contains(&(mac.clone(), Attribute::ProtocolAddress, address.clone())),
            "{relative}: {mac} {address}: {facts:?}"
        );
    }
    eprintln!(
        "{relative}: {} GOOSE frames, {compared} values, {} publish, {} state_change, {} malformed",
        rows.len(),
        publish.len(),
        sq_zero.len(),
        malformed
    );
    Some((rows.len(), compared))
}

#[test]
fn goose_sample_file() {
    if let Some((frames, _)) = check_goose("iec61850-goose/Sample_File_GOOSE.pcap", 0) {
        assert_eq!(frames, 451);
    }
}

#[test]
fn goose_all_data_primitives() {
    check_goose("iec61850-goose/goose_all_data_primitives_fallbacks.pcap", 0);
}

#[test]
fn goose_truncated_is_counted_not_fatal() {
    if check_goose("iec61850-goose/goose_truncated.pcap", 1).is_some() {
        let path = common::shared_capture("iec61850-goose/goose_truncated.pcap").unwrap();
        let malformed: Vec<_> = common::event_log(&path)
            .into_iter()
            .filter(|(_, e)| e.operation == "malformed")
            .collect();
        assert_eq!(malformed.len(), 1);
        assert!(
            malformed[0].1.detail.contains("truncated"),
            "{:?}",
            malformed[0].1.detail
        );
    }
}

#[test]
fn goose_in_mms_capture() {
    if let Some((frames, _)) = check_goose("iec61850-mms/Sample_File_MMS_and_GOOSE.pcap", 0) {
        assert_eq!(frames, 34);
    }
}

#[test]
fn sampled_values() {
    let relative = "iec61850-sv/SV_Normal_Traffic.pcap";
    let Some(path) = common::shared_capture(relative) else {
        return;
    };
    let fields = [
        "eth.src",
        "sv.appid",
        "sv.noASDU",
        "sv.svID",
        "sv.smpCnt",
        "sv.confRev",
        "sv.smpSynch",
    ];
    let rows: BTreeMap<u64, Vec<String>> = common::tshark_fields(&path, "sv", &fields)
        .into_iter()
        .collect();
    let frames: BTreeMap<u64, Vec<u8>> = link_frames(&path)
        .into_iter()
        .filter(|(_, ethertype, _, _)| *ethertype == sv::ETHERTYPE)
        .map(|(n, _, _, payload)| (n, payload))
        .collect();
    assert_eq!(frames.len(), rows.len());
    let mut compared = 0;
    let mut asdus = 0;
    let mut publishers = BTreeSet::new();
    for (number, row) in &rows {
        let s = SampledValues::parse(&frames[number]).unwrap();
        assert!(s.error.is_none(), "frame {number}: {:?}", s.error);
        let appid = u16::from_str_radix(row[1].trim_start_matches("0x"), 16).unwrap();
        assert_eq!(s.header.appid, appid);
        assert_eq!(s.no_asdu, row[2].parse().ok());
        let ids: Vec<String> = s.asdus().iter().map(|a| text(a.sv_id)).collect();
        let show = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
        let counts: Vec<String> = s.asdus().iter().map(|a| show(a.smp_cnt)).collect();
        let revs: Vec<String> = s.asdus().iter().map(|a| show(a.conf_rev)).collect();
        let synchs: Vec<String> = s.asdus().iter().map(|a| show(a.smp_synch)).collect();
        assert_eq!(ids, split(&row[3]), "frame {number}: svID");
        assert_eq!(counts, split(&row[4]), "frame {number}: smpCnt");
        assert_eq!(revs, split(&row[5]), "frame {number}: confRev");
        assert_eq!(synchs, split(&row[6]), "frame {number}: smpSynch");
        compared += 2 + 4 * ids.len();
        asdus += ids.len();
        publishers.insert((row[0].clone(), format!("sv:appid:{appid:#06x}")));
    }
    let ops = operations(&path, "sv");
    assert_eq!(ops.get("publish").map_or(0, Vec::len), asdus);
    assert!(!ops.contains_key("malformed"));
    let facts = publisher_facts(&path, "sv");
    for (mac, address) in &publishers {
        assert!(facts.contains(&(mac.clone(), Attribute::Service, "sv".into())));
        assert!(facts.contains(&(mac.clone(), Attribute::ProtocolAddress, address.clone())));
    }
    eprintln!(
        "{relative}: {} SV frames, {asdus} ASDUs, {compared} values, {} publish events",
        rows.len(),
        ops.get("publish").map_or(0, Vec::len)
    );
    assert_eq!(rows.len(), 10_161);
}
