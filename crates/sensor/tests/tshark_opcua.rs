#![allow(clippy::unwrap_used, clippy::expect_used)]
//! OPC UA binary operations, identities and findings against `tshark` (`opcua`), frame by frame,
//! over every capture in `pcaps/opcua/`.
//!
//! From tshark's decoding of each frame this test computes the operations Ironward must report
//! there: `HEL` → `hello`; a client's `OPN` → `open_secure_channel`; each request service type
//! (`opcua.servicenodeid.numeric`, by its DefaultBinary encoding id) → the service's snake_case
//! name; `ERR`, a ServiceFault or a response with a bad ServiceResult → `error_response`. Every
//! frame's operations must match exactly, and so must the per-operation totals. Values
//! compared: the Hello endpoint URL (detail and hearsay Url of the server), the security policy
//! of every OPN (Service `opcua <policy>` on the server), the request's security mode (detail),
//! the `opcua_security_none` finding on both ends for policy None, the ActivateSession identity
//! token type (the ExtensionObject type id among `opcua.nodeid.numeric`: 321 anonymous, 324
//! user name, 327 certificate) and the anonymous-session finding, and the application and
//! product URIs of CreateSession requests (client) and GetEndpoints/CreateSession responses
//! (server).
//!
//! Deliberate differences, checked explicitly:
//! * Bodies of channels secured with a policy other than None are encrypted (asymmetric
//!   `OPN` bodies and every `MSG`): tshark shows no service there, and Ironward reports
//!   nothing for them but the OPN's policy.
//! * Responses are not operations: only failed ones (`error_response`) give events. tshark
//!   exports no field for a response header's ServiceResult, so failed responses other than
//!   ServiceFaults are counted apart (`bad_results`: the ten BadNoSubscription Publish answers
//!   of `open62541_client-server_minimal.pcap`, which tshark shows as such in its tree).
//! * The capture `open62541_create_monitored_items.pcap` also carries debug-adapter JSON on
//!   ports 49493–49497 that is not OPC UA; no OPC UA event may come from those frames.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ironward_model::{Attribute, DeviceKey, Fact, Source};
use ironward_proto::opcua;

const FIELDS: [&str; 16] = [
    "ip.src",
    "ipv6.src",
    "ip.dst",
    "ipv6.dst",
    "tcp.dstport",
    "opcua.transport.type",
    "opcua.transport.chunk",
    "opcua.servicenodeid.numeric",
    "opcua.security.spu",
    "opcua.MessageSecurityMode",
    "opcua.transport.endpoint",
    "opcua.nodeid.numeric",
    "opcua.ApplicationUri",
    "opcua.ProductUri",
    "opcua.transport.error",
    "opcua.EndpointUrl",
];

struct Row<'a>(&'a [String]);

impl Row<'_> {
    fn get(&self, name: &str) -> &str {
        let i = FIELDS.iter().position(|f| *f == name).unwrap();
        self.0.get(i).map_or("", String::as_str)
    }
    fn list(&self, name: &str) -> Vec<&str> {
        self.get(name)
            .split(',')
            .filter(|v| !v.is_empty())
            .collect()
    }
    fn addr(&self, v4: &str, v6: &str) -> DeviceKey {
        let text = if self.get(v4).is_empty() {
            self.get(v6)
        } else {
            self.get(v4)
        };
        DeviceKey::Ip(text.split(',').next().unwrap().parse::<IpAddr>().unwrap())
    }
}

#[derive(Default, Debug)]
struct Stats {
    frames: usize,
    operations: usize,
    values: usize,
    encrypted_messages: usize,
    bad_results: usize,
}

fn policy(uri: &str) -> &str {
    uri.rsplit('#').next().unwrap_or(uri)
}

fn check(relative: &str) -> Option<Stats> {
    let path = common::shared_capture(relative)?;
    let analysis = common::logged_analysis(&path);
    let events: Vec<_> = analysis
        .event_log
        .iter()
        .filter(|(_, e)| e.protocol == "opcua")
        .collect();
    let facts: Vec<&(u64, Fact)> = analysis
        .facts
        .iter()
        .filter(|(_, f)| f.source == Source::Opcua)
        .collect();
    let rows = common::tshark_fields(&path, "opcua", &FIELDS);
    assert!(!rows.is_empty(), "{relative}: no OPC UA for tshark");
    let covered: BTreeSet<u64> = rows.iter().map(|(f, _)| *f).collect();
    for (frame, event) in &events {
        assert!(
            covered.contains(frame),
            "{relative}: {event:?} in frame {frame}, not OPC UA for tshark"
        );
    }
    let mut stats = Stats::default();
    let mut want_total: BTreeMap<String, usize> = BTreeMap::new();
    let mut got_total: BTreeMap<String, usize> = BTreeMap::new();
    for (frame, values) in &rows {
        let row = Row(values);
        stats.frames += 1;
        let to_server = row.get("tcp.dstport") == "4840";
        let (src, dst) = (
            row.addr("ip.src", "ipv6.src"),
            row.addr("ip.dst", "ipv6.dst"),
        );
        let (server, client) = if to_server { (dst, src) } else { (src, dst) };
        let has = |subject: DeviceKey, attribute: Attribute, value: &str| {
            facts.iter().any(|(f, fact)| {
                f <= frame
                    && fact.subject == subject
                    && fact.attribute == attribute
                    && fact.value == value
            })
        };
        let kinds = row.list("opcua.transport.type");
        let services: Vec<u32> = row
            .list("opcua.servicenodeid.numeric")
            .iter()
            .filter_map(|v| v.parse().ok())
            .collect();
        let mut want: Vec<String> = Vec::new();
        for kind in &kinds {
            match *kind {
                "HEL" => want.push("hello".into()),
                "ERR" => want.push("error_response".into()),
                "OPN" if to_server => want.push("open_secure_channel".into()),
                "MSG" if services.is_empty() => stats.encrypted_messages += 1,
                _ => {}
            }
        }
        for id in &services {
            let (name, _) = opcua::service_operation(*id)
                .unwrap_or(("?", ironward_model::EventCategory::Other));
            if *id == 446 || *id == 449 {
                continue;
            }
            // Requests have even-numbered pairs' lower ids; a response only counts when it
            // failed, which the ServiceFault encoding (397) says here.
            let request = to_server;
            if request {
                want.push(name.into());
            } else if *id == 397 {
                want.push("error_response".into());
            }
        }
        let mine: Vec<_> = events
            .iter()
            .filter(|(f, _)| f == frame)
            .map(|(_, e)| e)
            .collect();
        let mut got: Vec<String> = mine.iter().map(|e| e.operation.to_string()).collect();
        // Failed responses other than ServiceFault carry their status in the response header,
        // which tshark does not export as a field: they are checked by kind only.
        let bad_results = got
            .iter()
            .filter(|op| *op == "error_response")
            .count()
            .saturating_sub(want.iter().filter(|op| *op == "error_response").count());
        if !to_server && bad_results > 0 {
            stats.bad_results += bad_results;
            for e in mine.iter().filter(|e| e.operation == "error_response") {
                eprintln!("{relative} frame {frame}: bad ServiceResult {}", e.detail);
            }
            got.retain(|op| op != "error_response" || want.contains(op));
        }
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
        // Values.
        let endpoint = row.get("opcua.transport.endpoint");
        if kinds.contains(&"HEL") && !endpoint.is_empty() {
            assert!(mine
                .iter()
                .any(|e| e.operation == "hello" && e.detail == endpoint));
            assert!(
                has(server, Attribute::Url, endpoint),
                "{relative} frame {frame}"
            );
            stats.values += 2;
        }
        let spu = row.get("opcua.security.spu");
        if kinds.contains(&"OPN") && !spu.is_empty() {
            let name = policy(spu);
            assert!(
                has(server, Attribute::Service, &format!("opcua {name}")),
                "{relative} frame {frame}"
            );
            stats.values += 1;
            if to_server {
                let detail = &mine
                    .iter()
                    .find(|e| e.operation == "open_secure_channel")
                    .unwrap()
                    .detail;
                assert!(
                    detail.starts_with(&format!("policy {name}")),
                    "{relative} frame {frame}: {detail}"
                );
                if row.get("opcua.MessageSecurityMode") == "0x00000001" {
                    assert!(
                        detail.contains("mode None"),
                        "{relative} frame {frame}: {detail}"
                    );
                    stats.values += 1;
                }
            } else if name == "None" {
                for device in [server, client] {
                    assert!(has(device, Attribute::Finding, "opcua_security_none"));
                }
                stats.values += 2;
            } else {
                assert!(!facts
                    .iter()
                    .any(|(f, fact)| { f == frame && fact.attribute == Attribute::Finding }));
            }
        }
        if services.contains(&467) {
            let ids: Vec<&str> = row.list("opcua.nodeid.numeric");
            let kind = ids.iter().rev().find_map(|id| match *id {
                "321" => Some("anonymous"),
                "324" => Some("user name"),
                "327" => Some("certificate"),
                "940" => Some("issued token"),
                _ => None,
            });
            let detail = &mine
                .iter()
                .find(|e| e.operation == "activate_session")
                .unwrap()
                .detail;
            assert_eq!(Some(detail.as_str()), kind, "{relative} frame {frame}");
            stats.values += 1;
        }
        if services.contains(&470) {
            // The anonymous finding follows a successful anonymous activation.
            let anonymous = facts.iter().any(|(f, fact)| {
                f == frame
                    && fact.attribute == Attribute::Finding
                    && fact.value == "opcua_anonymous_session"
            });
            let asked_anonymous =
                rows.iter()
                    .rev()
                    .filter(|(f, _)| f < frame)
                    .find_map(|(_, v)| {
                        let r = Row(v);
                        r.list("opcua.servicenodeid.numeric")
                            .contains(&"467")
                            .then(|| r.list("opcua.nodeid.numeric").contains(&"321"))
                    });
            if asked_anonymous == Some(true) {
                assert!(
                    anonymous || has(server, Attribute::Finding, "opcua_anonymous_session"),
                    "{relative} frame {frame}: no anonymous finding"
                );
                stats.values += 1;
            }
        }
        let subject = if services.contains(&461) {
            Some(client)
        } else if services.contains(&431) || services.contains(&464) {
            Some(server)
        } else {
            None
        };
        if let Some(subject) = subject {
            for uri in row.list("opcua.ApplicationUri") {
                assert!(
                    has(subject, Attribute::Description, uri),
                    "{relative} frame {frame}: {uri}"
                );
                stats.values += 1;
            }
            for uri in row.list("opcua.ProductUri") {
                assert!(
                    has(subject, Attribute::ProductCode, uri),
                    "{relative} frame {frame}: {uri}"
                );
                stats.values += 1;
            }
            if subject == server {
                for url in row.list("opcua.EndpointUrl") {
                    assert!(
                        has(server, Attribute::Url, url),
                        "{relative} frame {frame}: {url}"
                    );
                    stats.values += 1;
                }
            }
        }
    }
    assert_eq!(got_total, want_total, "{relative}: operation totals");
    eprintln!("{relative}: {stats:?} per operation {got_total:?}");
    Some(stats)
}

#[test]
fn opcua_operations_identity_and_findings_match_tshark() {
    let mut total = Stats::default();
    for capture in [
        "opcua/open62541_client-server-getEndpoints.pcapng",
        "opcua/open62541_client-server_encrypted.pcapng",
        "opcua/open62541_client-server_minimal.pcap",
        "opcua/open62541_create_monitored_items.pcap",
        "opcua/python_opcua-client-server_minimal.pcap",
    ] {
        let Some(stats) = check(capture) else {
            return;
        };
        total.frames += stats.frames;
        total.operations += stats.operations;
        total.values += stats.values;
        total.encrypted_messages += stats.encrypted_messages;
        total.bad_results += stats.bad_results;
    }
    eprintln!("total: {total:?}");
    assert!(total.operations > 50 && total.values > 30);
}
