#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Omron FINS events and facts against `tshark`, frame by frame, over every capture in
//! `pcaps/omron-fins/` (UDP 9600 and FINS/TCP).
//!
//! For every frame tshark decodes as FINS (`omron.icf`): a command (ICF bit 6 clear) →
//! the operation `fins::command(omron.command)` in that frame; a response whose
//! `omron.response.code` is not normal completion (flags masked) → `error_response` with the
//! command and end code in the detail; a controller data read response → Model
//! (`omron.controller.model`) and Firmware (`omron.controller.version`) of its sender.
//! Per-operation totals over the capture must agree. Facts are reported once (repeats are
//! de-duplicated), so a fact tshark calls for in frame N must have been reported in frame N or
//! earlier. (The scanner in this capture also sends forged responses, with a model `AAAA…`:
//! both tshark and Ironward read them as responses.)
//!
//! Deliberate differences, checked explicitly: none in the operations. tshark decodes the
//! padding of a scanner's controller data read *request* as a model (`AAAA…`); Ironward reads
//! identity from responses only. tshark's controller
//! model and version keep their padding (it warns of trailing stray characters); Ironward
//! reports the text up to the first NUL, trimmed.

mod common;

use std::collections::BTreeMap;

use ironward_model::{Attribute, Source};
use ironward_proto::fins;

#[test]
fn fins_matches_tshark() {
    let Some(path) = common::shared_capture("omron-fins/ndpi_fins.pcapng") else {
        return;
    };
    let analysis = common::logged_analysis(&path);
    let events: Vec<_> = analysis
        .event_log
        .iter()
        .filter(|(_, e)| e.protocol == "fins")
        .collect();
    let facts: Vec<_> = analysis
        .facts
        .iter()
        .filter(|(_, f)| f.source == Source::Fins)
        .collect();
    let rows = common::tshark_fields(
        &path,
        "omron.icf",
        &[
            "omron.icf",
            "omron.command",
            "omron.response.code",
            "omron.controller.model",
            "omron.controller.version",
        ],
    );
    let (mut frames, mut identities) = (0, 0);
    let mut want_counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut got_counts: BTreeMap<String, usize> = BTreeMap::new();
    for (frame, row) in &rows {
        let icf = u8::from_str_radix(row[0].trim_start_matches("0x"), 16).unwrap();
        let code = u16::from_str_radix(row[1].trim_start_matches("0x"), 16).unwrap();
        let (name, category) = fins::command(code);
        let want: Vec<(String, String)> = if icf & 0x40 == 0 {
            vec![(name.to_owned(), String::new())]
        } else {
            let end = u16::from_str_radix(row[2].trim_start_matches("0x"), 16).unwrap_or(0);
            if end & 0x7f3f != 0 {
                vec![(
                    "error_response".to_owned(),
                    format!("command {code:04x} {name}, end code {:04x}", end & 0x7f3f),
                )]
            } else {
                vec![]
            }
        };
        let got: Vec<_> = events.iter().filter(|(n, _)| n == frame).collect();
        assert_eq!(got.len(), want.len(), "frame {frame}: {got:?} vs {want:?}");
        for ((_, event), (op, detail)) in got.iter().zip(&want) {
            assert_eq!(event.operation, op.as_str(), "frame {frame}");
            assert_eq!(event.category, category, "frame {frame}");
            if !detail.is_empty() {
                assert_eq!(&event.detail, detail, "frame {frame}");
            }
            *got_counts.entry(event.operation.to_string()).or_default() += 1;
        }
        for (op, _) in &want {
            *want_counts.entry(op.clone()).or_default() += 1;
        }
        frames += 1;
        for (field, attribute) in [(3, Attribute::Model), (4, Attribute::Firmware)] {
            let value = row[field].trim_matches(|c: char| c == ' ' || c == '\0');
            // tshark also reads a command's data as a model when a scanner pads a 0501
            // request; only responses carry the responder's identity.
            if value.is_empty() || icf & 0x40 == 0 {
                continue;
            }
            assert!(
                facts
                    .iter()
                    .any(|(n, f)| n <= frame && f.attribute == attribute && &*f.value == value),
                "frame {frame}: {attribute:?} {value}"
            );
            identities += 1;
        }
    }
    // Every FINS event is in a frame compared above.
    for (n, e) in &events {
        assert!(
            rows.iter().any(|(f, _)| f == n),
            "frame {n}: {}",
            e.operation
        );
    }
    assert_eq!(got_counts, want_counts);
    eprintln!(
        "ndpi_fins: {frames} frames, {} operations, {identities} identity values; per operation {want_counts:?}",
        want_counts.values().sum::<usize>()
    );
    assert!(frames > 200 && identities >= 2);
}
