#![allow(clippy::unwrap_used, clippy::expect_used)]
//! IEC 61850 MMS events against `tshark`, frame by frame, over every capture in
//! `pcaps/iec61850-mms/`.
//!
//! For every frame tshark decodes as TPKT/COTP, the MMS and ACSE PDUs tshark shows give the
//! operations Ironward must report in that frame: a confirmed request → the service's operation
//! (`mms.confirmedServiceRequest` N → `mms::service(N)`), a confirmed error →
//! `confirmed_error`, an initiate request → `initiate`, a conclude request → `conclude`, an
//! information report → `information_report`, an AARQ → `associate`, an RLRQ → `release`. The
//! domain / item ids (`mms.domainId` / `mms.itemId`, as `domain/item`) and vmd-specific names
//! of a request must appear in its detail (up to the detail's name bound), and a GetNameList's
//! `mms.objectClass` as the class name. Per-operation totals over the capture must agree.
//!
//! Deliberate differences, checked explicitly: tshark decodes an MMS PDU only when it has seen
//! the association that defined the presentation context ("Dissector is not available" in
//! streams captured mid-way); Ironward reads the presentation data value by its tag and reports
//! those PDUs too (the information reports of `Sample_File_MMS_and_GOOSE.pcap`), so an
//! Ironward event in a frame where tshark shows a `pres.single_ASN1_type` but no MMS is counted
//! apart, and must be an MMS operation; likewise the bare conclude request (MMS straight on
//! COTP) that ends `mms-startRequest.pcap`, which tshark's heuristics leave as COTP data. The ACCEPT SPDUs of `iec61850_{read,write,
//! get_name_list}.pcap` are malformed (the user data parameter is empty and the presentation
//! PPDU follows as another parameter); tshark and Ironward both decode nothing in them.

mod common;

use std::collections::BTreeMap;

use ironward_model::Event;
use ironward_proto::mms;

const FIELDS: &[&str] = &[
    "mms.confirmedServiceRequest",
    "mms.unconfirmedService",
    "mms.domainId",
    "mms.itemId",
    "mms.vmd_specific",
    "mms.objectClass",
    "pres.presentation_data_values",
    "mms",
];

/// PDU kinds tshark marks with value-less (FT_NONE) fields, found by display filter, and the
/// operation each calls for.
const KINDS: &[(&str, Option<&str>)] = &[
    ("mms.confirmed_RequestPDU_element", None),
    ("mms.confirmed_ErrorPDU_element", Some("confirmed_error")),
    ("mms.initiate_RequestPDU_element", Some("initiate")),
    ("mms.conclude_RequestPDU_element", Some("conclude")),
    ("mms.unconfirmed_PDU_element", None),
    ("acse.aarq_element", Some("associate")),
    ("acse.rlrq_element", Some("release")),
];

const CLASSES: [&str; 14] = [
    "named_variable",
    "scattered_access",
    "named_variable_list",
    "named_type",
    "semaphore",
    "event_condition",
    "event_action",
    "event_enrollment",
    "journal",
    "domain",
    "program_invocation",
    "operator_station",
    "data_exchange",
    "access_control_list",
];

fn values(field: &str) -> Vec<&str> {
    field.split(',').filter(|v| !v.is_empty()).collect()
}

#[derive(Default, Debug)]
struct Totals {
    frames: usize,
    operations: usize,
    names: usize,
    beyond_tshark: usize,
}

fn compare(relative: &str) -> Option<Totals> {
    let path = common::shared_capture(relative)?;
    let log: Vec<(u64, Event)> = common::event_log(&path)
        .into_iter()
        .filter(|(_, e)| e.protocol == "mms")
        // Broken PDUs are checked by detect_protocol_violations.rs, not against tshark.
        .filter(|(_, e)| !common::is_spec_report(e))
        .collect();
    let rows = common::tshark_fields(&path, "cotp", FIELDS);
    let kinds: BTreeMap<&str, std::collections::BTreeSet<u64>> = KINDS
        .iter()
        .map(|(filter, _)| {
            let frames = common::tshark_fields(&path, filter, &[])
                .into_iter()
                .map(|(n, _)| n)
                .collect();
            (*filter, frames)
        })
        .collect();
    let mut totals = Totals::default();
    let mut want_counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut got_counts: BTreeMap<String, usize> = BTreeMap::new();
    for (frame, row) in &rows {
        let f = |name: &str| -> &str {
            let i = FIELDS.iter().position(|x| *x == name).unwrap();
            row.get(i).map(String::as_str).unwrap_or("")
        };
        let mut want: Vec<String> = Vec::new();
        let present = |name: &str| {
            kinds
                .get(name)
                .map_or_else(|| !f(name).is_empty(), |frames| frames.contains(frame))
        };
        if present("mms.confirmed_RequestPDU_element") {
            for n in values(f("mms.confirmedServiceRequest")) {
                want.push(mms::service(n.parse().unwrap()).0.to_owned());
            }
        }
        for (kind, op) in KINDS {
            if let Some(op) = op {
                if present(kind) {
                    want.push((*op).to_owned());
                }
            }
        }
        if present("mms.unconfirmed_PDU_element") && f("mms.unconfirmedService") == "0" {
            want.push("information_report".into());
        }
        let events: Vec<&Event> = log
            .iter()
            .filter(|(n, _)| n == frame)
            .map(|(_, e)| e)
            .collect();
        let mut got: Vec<String> = events
            .iter()
            .map(|e| e.operation.to_string())
            .filter(|op| op != "data_access_error" && op != "file_upload")
            .collect();
        // tshark could not pick the MMS dissector: for a presentation context it did not see
        // defined (presentation-data-values 0, single-ASN1-type), or for a bare MMS PDU on COTP
        // that its heuristics pass over (a conclude request).
        if !present("mms") && want.is_empty() {
            for op in &got {
                assert!(
                    op == "information_report"
                        || op == "conclude"
                        || mms::SERVICES.iter().any(|(s, _)| s == op),
                    "{relative} frame {frame}: {op} beyond tshark"
                );
            }
            totals.beyond_tshark += got.len();
            continue;
        }
        want.sort();
        got.sort();
        assert_eq!(got, want, "{relative} frame {frame}: operations");
        if !want.is_empty() {
            totals.frames += 1;
        }
        totals.operations += want.len();
        for op in &want {
            *want_counts.entry(op.clone()).or_default() += 1;
        }
        for op in &got {
            *got_counts.entry(op.clone()).or_default() += 1;
        }
        // Names of requests and reports in the detail.
        if present("mms.confirmed_RequestPDU_element") || present("mms.unconfirmed_PDU_element") {
            let details: String = events.iter().map(|e| e.detail.as_str()).collect();
            let domains = values(f("mms.domainId"));
            let items = values(f("mms.itemId"));
            for (d, i) in domains.iter().zip(&items).take(mms::MAX_NAMES) {
                assert!(
                    details.contains(&format!("{d}/{i}")),
                    "{relative} frame {frame}: {d}/{i} in {details}"
                );
                totals.names += 1;
            }
            for v in values(f("mms.vmd_specific"))
                .into_iter()
                .take(mms::MAX_NAMES)
            {
                assert!(
                    details.contains(v),
                    "{relative} frame {frame}: {v} in {details}"
                );
                totals.names += 1;
            }
            for c in values(f("mms.objectClass")) {
                let class = CLASSES[c.parse::<usize>().unwrap()];
                assert!(
                    details.contains(&format!("class {class}")),
                    "{relative} frame {frame}: {class}"
                );
                totals.names += 1;
            }
        }
    }
    // Every MMS event comes from a frame compared above, except those of a segment that
    // follows a capture gap (a keep-alive byte never captured): the reassembler delivers it
    // when the peer's ACK shows the hole is for good, so the event carries that ACK's frame
    // number (an empty segment).
    let frames: std::collections::BTreeSet<u64> = rows.iter().map(|(n, _)| *n).collect();
    let ack_lost: std::collections::BTreeSet<u64> =
        common::tshark_fields(&path, "tcp.len == 0", &[])
            .into_iter()
            .map(|(n, _)| n)
            .collect();
    for (n, e) in &log {
        if !frames.contains(n) {
            assert!(
                ack_lost.contains(n) && e.operation == "information_report",
                "{relative}: event {} in frame {n} not in tshark's cotp frames",
                e.operation
            );
            totals.beyond_tshark += 1;
        }
    }
    assert_eq!(got_counts, want_counts, "{relative}: operations per type");
    eprintln!("{relative}: {totals:?}, per operation {want_counts:?}");
    Some(totals)
}

#[test]
fn mms_matches_tshark() {
    let mut all = Totals::default();
    for capture in [
        "iec61850-mms/Sample_File_MMS_and_GOOSE.pcap",
        "iec61850-mms/iec61850_get_name_list.pcap",
        "iec61850-mms/iec61850_read.pcap",
        "iec61850-mms/iec61850_write.pcap",
        "iec61850-mms/mms-startRequest.pcap",
    ] {
        let Some(t) = compare(capture) else {
            return;
        };
        all.frames += t.frames;
        all.operations += t.operations;
        all.names += t.names;
        all.beyond_tshark += t.beyond_tshark;
    }
    eprintln!("all MMS captures: {all:?}");
    assert!(all.operations >= 20, "{all:?}");
    assert!(all.beyond_tshark > 0);
}
