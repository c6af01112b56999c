#![allow(clippy::unwrap_used, clippy::expect_used)]
//! IEC 60870-5-104 against `tshark`, frame by frame, over every shared IEC 104 capture (a
//! diverse SCADA session and Wireshark's own dissector test, with garbage before APDUs,
//! truncated ASDUs and several APDUs per segment).
//!
//! From tshark's APDUs in each frame (`iec60870_104.type`, `.utype`) and ASDUs
//! (`iec60870_asdu.typeid`, `.causetx`, `.nega`, `.test`, `.addr`, `.ioa`) this test computes
//! the events Ironward must report in that frame, compared as a multiset of operations:
//! * U-format → `startdt_act`, `startdt_con`, `stopdt_act`, `stopdt_con`, `testfr_act`,
//!   `testfr_con` (several function bits at once → `u_format`); S-format → nothing;
//! * an ASDU of a monitoring type (M_*) → the type's name (`m_me_nc_1`), detail
//!   `ca <addr>, <cause>`; of a control-direction type (C_*, P_*, F_*) sent by the controlling
//!   station (the TCP client) → the type's name, its detail starting `ca <addr>` and naming the
//!   object address when the ASDU has one; sent by the outstation → `negative_confirmation`
//!   when `nega` is set, `error_response` for causes 44–47, nothing otherwise; an ASDU of a type
//!   outside the standard → `unknown_type`.
//! * Facts: the common address → `iec104:ca:<addr>` on the server (outstation), and service
//!   `iec104` on the server once it sent an APDU.
//!
//! Deliberate differences, checked explicitly: ASDUs tshark marks malformed before the common
//! address (Wireshark's test capture: APDUs of 4–8 bytes) are counted as errors by Ironward and
//! are not events; the IOAs of monitoring ASDUs are not in the events (never per value), so
//! IOAs are compared for control-direction ASDUs only. The operation counts (sum of event
//! occurrences per operation) must equal those computed from tshark.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ironward_model::{Attribute, DeviceKey, Event, Fact, Source};
use ironward_proto::iec104::asdu::{cause_name, is_unknown_cause, type_info, TypeKind};

const CAPTURES: [&str; 2] = [
    "iec104/iec104_090813_diverse.pcap",
    "iec104/iec104_TestDissectIec104.pcap",
];

const FIELDS: [&str; 12] = [
    "ip.src",
    "ip.dst",
    "tcp.srcport",
    "iec60870_104.type",
    "iec60870_104.utype",
    "iec60870_asdu.typeid",
    "iec60870_asdu.causetx",
    "iec60870_asdu.nega",
    "iec60870_asdu.test",
    "iec60870_asdu.addr",
    "iec60870_asdu.ioa",
    "tcp.dstport",
];

fn list(field: &str) -> Vec<&str> {
    field.split(',').filter(|v| !v.is_empty()).collect()
}

fn number(text: &str) -> u64 {
    match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).unwrap(),
        None => text.parse().unwrap(),
    }
}

fn flag(text: &str) -> bool {
    matches!(text, "1" | "True" | "true")
}

#[test]
fn iec104_matches_tshark_frame_by_frame() {
    let mut totals = (0usize, 0usize, 0u64);
    let mut all_ops: BTreeMap<String, u64> = BTreeMap::new();
    for relative in CAPTURES {
        let Some(path) = common::shared_capture(relative) else {
            return;
        };
        let analysis = common::logged_analysis(&path);
        let events: Vec<(u64, Event)> = analysis
            .event_log
            .into_iter()
            .filter(|(_, e)| e.protocol == "iec104")
            // Broken APDUs are checked by detect_protocol_violations.rs, not against tshark.
            .filter(|(_, e)| !common::is_spec_report(e))
            .collect();
        let facts: Vec<(u64, Fact)> = analysis
            .facts
            .into_iter()
            .filter(|(_, f)| f.source == Source::Iec104)
            .collect();
        let rows = common::tshark_fields(&path, "iec60870_104", &FIELDS);
        assert!(!rows.is_empty(), "{relative}: tshark shows no IEC 104");
        let covered: BTreeSet<u64> = rows.iter().map(|(f, _)| *f).collect();
        let mut tshark_ops: BTreeMap<String, u64> = BTreeMap::new();
        let (mut values, mut malformed) = (0, 0);
        for (frame, v) in &rows {
            let from_server = v[2] == "2404";
            let server: IpAddr = if from_server { &v[0] } else { &v[1] }.parse().unwrap();
            let types = list(&v[3]);
            let utypes = list(&v[4]);
            let typeids = list(&v[5]);
            let causes = list(&v[6]);
            let negas = list(&v[7]);
            let tests = list(&v[8]);
            let addrs = list(&v[9]);
            let ioas = list(&v[10]);
            let mut want: Vec<String> = Vec::new();
            let mut want_details: Vec<(String, String)> = Vec::new();
            let (mut u, mut i) = (0, 0);
            for apdu_type in &types {
                match number(apdu_type) {
                    0 => {
                        let index = i;
                        i += 1;
                        // An ASDU tshark could not read up to its common address.
                        let (Some(typeid), Some(addr)) = (typeids.get(index), addrs.get(index))
                        else {
                            malformed += 1;
                            continue;
                        };
                        let typeid = number(typeid) as u8;
                        let cause = number(causes[index]) as u8;
                        let negative = flag(negas[index]);
                        let test = flag(tests[index]);
                        let Some(info) = type_info(typeid) else {
                            want.push("unknown_type".into());
                            continue;
                        };
                        let op = match info.kind {
                            TypeKind::Monitor | TypeKind::EndOfInit => {
                                let mut detail = format!("ca {addr}, {}", cause_name(cause));
                                if test {
                                    detail.push_str(", test");
                                }
                                let op = if negative || is_unknown_cause(cause) {
                                    "error_response"
                                } else {
                                    info.operation
                                };
                                want_details.push((op.to_owned(), detail));
                                Some(op)
                            }
                            _ if !from_server => Some(info.operation),
                            _ if negative => Some("negative_confirmation"),
                            _ if is_unknown_cause(cause) => Some("error_response"),
                            _ => None,
                        };
                        if let Some(op) = op {
                            want.push(op.to_owned());
                            if !matches!(info.kind, TypeKind::Monitor | TypeKind::EndOfInit) {
                                let mut prefix = format!("ca {addr}");
                                if types.len() == 1 && ioas.len() == 1 && ioas[0] != "0" {
                                    prefix.push_str(&format!(", ioa {}", ioas[0]));
                                }
                                want_details.push((op.to_owned(), prefix));
                            }
                        }
                    }
                    1 => {}
                    3 => {
                        let op = match number(utypes[u]) {
                            0x01 => "startdt_act",
                            0x02 => "startdt_con",
                            0x04 => "stopdt_act",
                            0x08 => "stopdt_con",
                            0x10 => "testfr_act",
                            0x20 => "testfr_con",
                            // Several function bits at once: no single function.
                            _ => "u_format",
                        };
                        u += 1;
                        want.push(op.into());
                    }
                    other => panic!("{relative} frame {frame}: APDU type {other}"),
                }
            }
            for op in &want {
                *tshark_ops.entry(op.clone()).or_default() += 1;
            }
            let mine: Vec<&Event> = events
                .iter()
                .filter(|(f, _)| f == frame)
                .map(|(_, e)| e)
                .collect();
            let mut got: Vec<String> = mine.iter().map(|e| e.operation.to_string()).collect();
            got.sort();
            want.sort();
            assert_eq!(got, want, "{relative} frame {frame}: tshark {v:?}");
            values += want.len();
            for (op, detail) in &want_details {
                assert!(
                    mine.iter().any(
                        |e| e.operation == op.as_str() && e.detail.starts_with(detail.as_str())
                    ),
                    "{relative} frame {frame}: no {op} with detail {detail:?} in {mine:?}"
                );
                values += 1;
            }
            // Facts about the outstation, reported in this frame or earlier.
            let known: BTreeSet<(DeviceKey, Attribute, String)> = facts
                .iter()
                .filter(|(f, _)| f <= frame)
                .map(|(_, fact)| (fact.subject, fact.attribute, fact.value.to_string()))
                .collect();
            let key = DeviceKey::Ip(server);
            for addr in &addrs {
                let fact = (key, Attribute::ProtocolAddress, format!("iec104:ca:{addr}"));
                assert!(known.contains(&fact), "{relative} frame {frame}: {fact:?}");
                values += 1;
            }
            if from_server && !types.is_empty() {
                let fact = (key, Attribute::Service, "iec104".to_owned());
                assert!(known.contains(&fact), "{relative} frame {frame}: {fact:?}");
                values += 1;
            }
        }
        for (frame, event) in &events {
            assert!(
                covered.contains(frame),
                "{relative}: {event:?} in frame {frame}"
            );
        }
        let mut mine: BTreeMap<String, u64> = BTreeMap::new();
        for (_, event) in &events {
            *mine.entry(event.operation.to_string()).or_default() += 1;
        }
        assert_eq!(mine, tshark_ops, "{relative}: operation counts");
        for (op, n) in &mine {
            *all_ops.entry(op.clone()).or_default() += n;
        }
        eprintln!(
            "{relative}: {} frames, {values} values, {malformed} malformed ASDUs, operations {mine:?}",
            rows.len()
        );
        totals.0 += rows.len();
        totals.1 += values;
        totals.2 += mine.values().sum::<u64>();
    }
    eprintln!(
        "iec104: {} frames, {} values, {} operations compared: {all_ops:?}",
        totals.0, totals.1, totals.2
    );
}
