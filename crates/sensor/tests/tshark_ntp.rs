#![allow(clippy::unwrap_used, clippy::expect_used)]
//! NTP facts against `tshark`, frame by frame, over the shared NTP captures: a server reply
//! (mode 4) or a broadcast with a stratum names its sender an NTP server at the stratum tshark
//! shows; client requests say nothing.
//!
//! Observations report a fact once (later repeats are de-duplicated), so a fact tshark calls
//! for in frame N must have been reported in frame N or earlier, and every fact reported in
//! frame N must be one that frame calls for.

mod common;

use std::collections::BTreeSet;

use ironward_model::{Attribute, DeviceKey, Fact, Source};

const CAPTURES: [&str; 1] = ["ntp/tcpdump_ntp.pcap"];

/// The facts tshark's view of a frame calls for: (subject, attribute, value).
fn expected(
    version: &str,
    mode: &str,
    stratum: &str,
    source: &str,
) -> BTreeSet<(DeviceKey, Attribute, String)> {
    let mut out = BTreeSet::new();
    let version: u8 = version.parse().unwrap();
    let mode: u8 = mode.parse().unwrap();
    let stratum: u8 = stratum.parse().unwrap_or(0);
    if !(1..=4).contains(&version) {
        return out;
    }
    if mode == 4 || (mode == 5 && stratum > 0) {
        let value = if (1..=15).contains(&stratum) {
            format!("ntp-server stratum {stratum}")
        } else {
            "ntp-server".to_owned()
        };
        out.insert((
            DeviceKey::Ip(source.parse().unwrap()),
            Attribute::Service,
            value,
        ));
    }
    out
}

#[test]
fn ntp_facts_match_tshark_frame_by_frame() {
    let mut frames = 0;
    let mut values = 0;
    let mut strata = BTreeSet::new();
    for relative in CAPTURES {
        let Some(path) = common::shared_capture(relative) else {
            return;
        };
        let log: Vec<(u64, Fact)> = common::fact_log(&path)
            .into_iter()
            .filter(|(_, fact)| fact.source == Source::Ntp)
            .collect();
        let rows = common::tshark_fields(
            &path,
            "ntp",
            &["ntp.flags.vn", "ntp.flags.mode", "ntp.stratum", "ip.src"],
        );
        assert!(!rows.is_empty(), "{relative}: tshark shows no NTP frame");
        let mut seen = BTreeSet::new();
        let mut covered = BTreeSet::new();
        for (frame, fields) in &rows {
            let want = expected(&fields[0], &fields[1], &fields[2], &fields[3]);
            let reported: BTreeSet<_> = log
                .iter()
                .filter(|(f, _)| f == frame)
                .map(|(_, fact)| (fact.subject, fact.attribute, fact.value.to_string()))
                .collect();
            seen.extend(reported.iter().cloned());
            for fact in &reported {
                assert!(
                    want.contains(fact),
                    "{relative} frame {frame}: unexpected {fact:?}; tshark: {fields:?}"
                );
            }
            for fact in &want {
                assert!(
                    seen.contains(fact),
                    "{relative} frame {frame}: missing {fact:?}; tshark: {fields:?}"
                );
                strata.insert(fact.2.clone());
            }
            values += want.len();
            frames += 1;
            covered.insert(*frame);
        }
        for (frame, fact) in &log {
            assert!(
                covered.contains(frame),
                "{relative}: fact {fact:?} from non-NTP frame {frame}"
            );
        }
    }
    println!("compared {values} values in {frames} NTP frames: {strata:?}");
    assert!(frames >= 8, "only {frames} frames compared");
    // The capture has a kiss-o'-death (stratum 0) and stratum-2 replies.
    assert!(strata.contains("ntp-server stratum 2"), "{strata:?}");
    assert!(strata.contains("ntp-server"), "{strata:?}");
}
