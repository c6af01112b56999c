#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Niagara Fox identification against the raw TCP payload `tshark` shows, over every capture in
//! `pcaps/niagara-fox/`. tshark 4.0 has no Fox dissector, so this test reads the `fox a … fox
//! hello` text itself from `tcp.payload` (hex) with a deliberately naive line split (the
//! hello's fields are one per line; only blob/object values span lines, and none of the keys
//! compared is one), computes the facts Ironward must report about the sender of each hello
//! (`station.name` and a `hostName` that is not an IP address → Hostname; `app.name` +
//! `app.version` → Software; `os.name` + `os.version` → Os; `brandId` → Vendor; Service `fox`
//! on the server), and checks them frame by frame, with the events: a client hello →
//! `hello` (detail: the client's application), a server challenge → `challenge` (detail: the
//! method). Every fact and event Ironward reports must come from such a frame.
//!
//! Deliberate differences: none in the fields compared; keys not mapped (`vm.*`, `timeZone`,
//! `hostId`, `vmUuid`, `sysInfo`, the challenge's nonce) are not reported.

mod common;

use std::collections::BTreeSet;
use std::net::IpAddr;

use ironward_model::{Attribute, DeviceKey, Source};

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len() / 2)
        .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

#[test]
fn fox_hello_identity_matches_the_payload() {
    let Some(path) = common::shared_capture("niagara-fox/fox_info.pcap") else {
        return;
    };
    let analysis = common::logged_analysis(&path);
    let facts: Vec<_> = analysis
        .facts
        .iter()
        .filter(|(_, f)| f.source == Source::Fox)
        .collect();
    let events: Vec<_> = analysis
        .event_log
        .iter()
        .filter(|(_, e)| e.protocol == "fox")
        .collect();
    let rows = common::tshark_fields(
        &path,
        "tcp.len > 0",
        &["ip.src", "ip.dst", "tcp.dstport", "tcp.payload"],
    );
    let (mut frames, mut values) = (BTreeSet::new(), 0);
    for (frame, row) in &rows {
        let text = String::from_utf8_lossy(&unhex(&row[3])).into_owned();
        let Some(first) = text.lines().next().filter(|l| l.starts_with("fox a ")) else {
            continue;
        };
        frames.insert(*frame);
        let src = DeviceKey::Ip(row[0].parse::<IpAddr>().unwrap());
        let dst = DeviceKey::Ip(row[1].parse::<IpAddr>().unwrap());
        let to_server = row[2] == "1911";
        let server = if to_server { dst } else { src };
        let get = |key: &str| {
            text.lines().find_map(|l| {
                l.strip_prefix(key)
                    .and_then(|r| r.strip_prefix('='))
                    .and_then(|r| r.get(2..))
            })
        };
        let mine_facts: BTreeSet<(DeviceKey, Attribute, String)> = facts
            .iter()
            .filter(|(f, _)| f == frame)
            .map(|(_, f)| (f.subject, f.attribute, f.value.to_string()))
            .collect();
        let mine_events: Vec<(String, String)> = events
            .iter()
            .filter(|(f, _)| f == frame)
            .map(|(_, e)| (e.operation.to_string(), e.detail.clone()))
            .collect();
        let mut want = BTreeSet::new();
        if first.ends_with("fox hello") {
            let join = |a: Option<&str>, b: Option<&str>| {
                [a, b].into_iter().flatten().collect::<Vec<_>>().join(" ")
            };
            let software = join(get("app.name"), get("app.version"));
            want.insert((src, Attribute::Software, software.clone()));
            want.insert((src, Attribute::Os, join(get("os.name"), get("os.version"))));
            if let Some(station) = get("station.name") {
                want.insert((src, Attribute::Hostname, station.to_owned()));
            }
            if let Some(host) = get("hostName").filter(|h| h.parse::<IpAddr>().is_err()) {
                want.insert((src, Attribute::Hostname, host.to_owned()));
            }
            if let Some(brand) = get("brandId") {
                want.insert((src, Attribute::Vendor, brand.to_owned()));
            }
            want.insert((server, Attribute::Service, "fox".to_owned()));
            let expected_events = if to_server {
                vec![("hello".to_owned(), software)]
            } else {
                vec![]
            };
            assert_eq!(mine_events, expected_events, "frame {frame}");
            values += expected_events.len();
        } else if first.ends_with("fox challenge") {
            let method = get("method").unwrap_or_default().to_owned();
            assert_eq!(
                mine_events,
                vec![("challenge".to_owned(), method)],
                "frame {frame}"
            );
            values += 1;
        }
        // Facts are reported once: what this frame calls for and was not reported before.
        let earlier: BTreeSet<_> = facts
            .iter()
            .filter(|(f, _)| f < frame)
            .map(|(_, f)| (f.subject, f.attribute, f.value.to_string()))
            .collect();
        let fresh: BTreeSet<_> = want.difference(&earlier).cloned().collect();
        assert_eq!(mine_facts, fresh, "frame {frame}");
        values += want.len();
    }
    for (frame, _) in facts.iter().map(|(f, x)| (f, x)) {
        assert!(frames.contains(frame), "fact from frame {frame}");
    }
    for (frame, _) in &events {
        assert!(frames.contains(frame), "event from frame {frame}");
    }
    eprintln!(
        "fox_info.pcap: {} Fox frames, {values} values compared",
        frames.len()
    );
    assert!(
        frames.len() == 3 && values >= 12,
        "{} {values}",
        frames.len()
    );
}
