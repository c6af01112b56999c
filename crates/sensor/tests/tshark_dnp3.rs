#![allow(clippy::unwrap_used, clippy::expect_used)]
//! DNP3 against `tshark`, frame by frame, over every shared DNP3 capture (TCP and UDP, reads,
//! select/operate, cold restart, file read, SAv5 authentication, unsolicited responses).
//!
//! For each frame tshark decodes as DNP3 this test computes, from tshark's fields, the events
//! Ironward must report in that frame and compares them as a multiset of operations:
//! * each completed request fragment (`dnp3.al.func` 1–128) → the function's operation
//!   (`read`, `select`, `cold_restart`, …), and the event's detail names the outstation
//!   (`dnp3.dst`) and, for reads, every object tshark lists (`dnp3.al.obj`: `class 0 (g60v1)`
//!   for class data, `g30v1` otherwise) in tshark's order;
//! * an unsolicited response (130) → `unsolicited_response`; an authentication response (131)
//!   → `authentication_response`;
//! * in responses, the IIN flags of interest (`dnp3.al.iin` & 0xf028) → `iin` when they differ
//!   from the last response of the same outstation to the same master, and IIN2 errors
//!   (& 0x0007) → `error_response`;
//! * the last block of a file read (`dnp3.al.file.lastblock` in a response) → `read_file`.
//!
//! Facts: every link frame's source address → `dnp3:<src>` on the sending IP, and service
//! `dnp3` on senders of frames without the DIR bit (reported in that frame or earlier).
//!
//! Deliberate differences, checked explicitly: confirms (function 0), link-layer-only frames
//! (reset link, link status) and plain responses are not events (tshark decodes them all); the
//! IIN of every response is decoded by tshark, while Ironward reports the flags of interest
//! only when they change (so a poll loop is not an event per response); tshark decodes no IIN
//! in authentication responses (function 131), which carry one like every response: Ironward's
//! `iin` event from such a response is accepted (once per capture); tshark does not reassemble
//! a fragment whose transport sequence wraps from 63 to 0 (the sequence counts modulo 64), so
//! the events of such a fragment, completed in a frame tshark leaves without application layer
//! (FIN, not FIR, sequence 0), are accepted and counted. The operation counts
//! (sum of event occurrences per operation) must equal tshark's per-function counts.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use ironward_model::{Attribute, DeviceKey, Event, Fact, Source};
use ironward_proto::dnp3::app::function_name;

const CAPTURES: [&str; 7] = [
    "dnp3/dnp3_auth_change_session_keys.pcap",
    "dnp3/dnp3_cold_restart_and_response.pcap",
    "dnp3/icsnpp_dnp3_example.pcap",
    "dnp3/zeek_dnp3_file_read.pcap",
    "dnp3/zeek_dnp3_read.pcap",
    "dnp3/zeek_dnp3_select_operate.pcap",
    "dnp3/zeek_dnp3_udp_read.pcap",
];

const FIELDS: [&str; 12] = [
    "ip.src",
    "ip.dst",
    "dnp3.src",
    "dnp3.dst",
    "dnp3.ctl.dir",
    "dnp3.al.func",
    "dnp3.al.obj",
    "dnp3.al.iin",
    "dnp3.al.file.lastblock",
    "dnp3.tr.fir",
    "dnp3.tr.fin",
    "dnp3.tr.seq",
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

/// How an object tshark lists (`0x3c01`) appears in a read's detail.
fn object_text(obj: &str) -> String {
    let code = number(obj);
    let (group, variation) = (code >> 8, code & 0xff);
    if group == 60 && (1..=4).contains(&variation) {
        format!("class {} (g60v{variation})", variation - 1)
    } else {
        format!("g{group}v{variation}")
    }
}

#[test]
fn dnp3_matches_tshark_frame_by_frame() {
    let mut totals = (0usize, 0usize, 0usize);
    let mut all_ops: BTreeMap<String, u64> = BTreeMap::new();
    for relative in CAPTURES {
        let Some(path) = common::shared_capture(relative) else {
            return;
        };
        let analysis = common::logged_analysis(&path);
        let events: Vec<(u64, Event)> = analysis
            .event_log
            .into_iter()
            .filter(|(_, e)| e.protocol == "dnp3")
            .collect();
        let facts: Vec<(u64, Fact)> = analysis
            .facts
            .into_iter()
            .filter(|(_, f)| f.source == Source::Dnp3)
            .collect();
        let rows = common::tshark_fields(&path, "dnp3", &FIELDS);
        assert!(!rows.is_empty(), "{relative}: tshark shows no DNP3");
        let mut iin_state: HashMap<(String, String), u64> = HashMap::new();
        let mut seen_facts = BTreeSet::new();
        let mut tshark_ops: BTreeMap<String, u64> = BTreeMap::new();
        let mut values = 0;
        let mut auth_iin = 0;
        let mut wrapped_fragments = 0;
        let covered: BTreeSet<u64> = rows.iter().map(|(f, _)| *f).collect();
        for (frame, v) in &rows {
            let (src, dst) = (&v[0], &v[1]);
            let funcs: Vec<u64> = list(&v[5]).into_iter().map(number).collect();
            let objs = list(&v[6]);
            let iins: Vec<u64> = list(&v[7]).into_iter().map(number).collect();
            let mut want: Vec<String> = Vec::new();
            let mut responses = 0;
            for &func in &funcs {
                match func {
                    0 => {}
                    1..=128 => want.push(function_name(func as u8).to_owned()),
                    129..=131 => {
                        if func == 130 {
                            want.push("unsolicited_response".into());
                        }
                        if func == 131 {
                            want.push("authentication_response".into());
                        }
                        let iin = iins.get(responses).copied().unwrap_or(0);
                        responses += 1;
                        let last = iin_state.entry((src.clone(), dst.clone())).or_insert(0);
                        if iin & 0xf028 != *last {
                            *last = iin & 0xf028;
                            want.push("iin".into());
                        }
                        if iin & 0x0007 != 0 {
                            want.push("error_response".into());
                        }
                        if list(&v[8]).contains(&"1") {
                            want.push("read_file".into());
                        }
                    }
                    _ => panic!("{relative} frame {frame}: function {func}"),
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
            // tshark decodes no IIN in authentication responses (131); Ironward reads them,
            // as every response carries IIN: its first `iin` event there is expected.
            if funcs.contains(&131) && !want.iter().any(|w| w == "iin") {
                if let Some(i) = got.iter().position(|g| g == "iin") {
                    got.remove(i);
                    auth_iin += 1;
                    *tshark_ops.entry("iin".into()).or_default() += 1;
                }
            }
            // tshark does not reassemble a fragment whose transport sequence wraps from 63 to
            // 0 (IEEE 1815 counts modulo 64): a final segment with sequence 0 that tshark
            // leaves without application layer completes a fragment in Ironward.
            let wrapped = funcs.is_empty()
                && list(&v[9]) == ["0"]
                && list(&v[10]) == ["1"]
                && list(&v[11]) == ["0"];
            if wrapped && !got.is_empty() {
                wrapped_fragments += 1;
                for op in &got {
                    *tshark_ops.entry(op.clone()).or_default() += 1;
                }
                want.clone_from(&got);
            }
            got.sort();
            want.sort();
            assert_eq!(got, want, "{relative} frame {frame}: tshark {v:?}");
            values += want.len();
            // Requests name the outstation; reads list tshark's objects in order.
            for event in &mine {
                if funcs.iter().any(|f| (1..=128).contains(f))
                    && function_name(funcs[0] as u8) == event.operation
                {
                    let dsts = list(&v[3]);
                    let outstation = format!("outstation {}", dsts.last().unwrap());
                    assert!(
                        event.detail.starts_with(&outstation),
                        "{relative} frame {frame}: {} vs {outstation}",
                        event.detail
                    );
                    values += 1;
                    if event.operation == "read" {
                        let mut at = 0;
                        for obj in &objs {
                            let text = object_text(obj);
                            let found = event.detail[at..].find(&text).unwrap_or_else(|| {
                                panic!("{relative} frame {frame}: {text} not in {}", event.detail)
                            });
                            at += found + text.len();
                            values += 1;
                        }
                    }
                }
            }
            // Link addresses of every link frame in this frame.
            let ip: IpAddr = src.parse().unwrap();
            for (i, link_src) in list(&v[2]).iter().enumerate() {
                let key = DeviceKey::Ip(ip);
                seen_facts.extend(
                    facts
                        .iter()
                        .filter(|(f, _)| f <= frame)
                        .map(|(_, fact)| (fact.subject, fact.attribute, fact.value.to_string())),
                );
                let address = (key, Attribute::ProtocolAddress, format!("dnp3:{link_src}"));
                assert!(
                    seen_facts.contains(&address),
                    "{relative} frame {frame}: {address:?}"
                );
                values += 1;
                if list(&v[4]).get(i) == Some(&"0") {
                    let service = (key, Attribute::Service, "dnp3".to_owned());
                    assert!(
                        seen_facts.contains(&service),
                        "{relative} frame {frame}: service"
                    );
                    values += 1;
                }
            }
        }
        // No event from a frame tshark does not decode as DNP3.
        for (frame, event) in &events {
            assert!(
                covered.contains(frame),
                "{relative}: {event:?} in frame {frame}"
            );
        }
        // Operation counts: Ironward's occurrences per operation equal tshark's.
        let mut mine: BTreeMap<String, u64> = BTreeMap::new();
        for (_, event) in &events {
            *mine.entry(event.operation.to_string()).or_default() += 1;
        }
        assert_eq!(mine, tshark_ops, "{relative}: operation counts");
        assert!(
            auth_iin <= 1,
            "{relative}: IIN of authentication responses reported once"
        );
        for (op, n) in &mine {
            *all_ops.entry(op.clone()).or_default() += n;
        }
        eprintln!(
            "{relative}: {} frames, {values} values, operations {mine:?}; \
             {wrapped_fragments} fragments with a wrapped sequence, {auth_iin} IIN of 131",
            rows.len()
        );
        totals.0 += rows.len();
        totals.1 += values;
        totals.2 += mine.values().sum::<u64>() as usize;
    }
    eprintln!(
        "dnp3: {} frames, {} values, {} operations compared: {all_ops:?}",
        totals.0, totals.1, totals.2
    );
}
