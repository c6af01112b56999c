#![allow(clippy::unwrap_used, clippy::expect_used)]
//! DHCPv4 facts against `tshark`, frame by frame, over the shared DHCP captures: for every
//! DHCP frame, the facts Ironward reports are exactly those tshark's fields call for (host
//! name, FQDN, vendor class, parameter request list, client identifier, requested and assigned
//! addresses, server identifier, routers, domain), keyed by the client MAC tshark shows.
//!
//! Observations report a fact once (later repeats are de-duplicated), so a fact tshark calls
//! for in frame N must have been reported in frame N or earlier, and every fact reported in
//! frame N must be one that frame calls for.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use ironward_model::{Attribute, DeviceKey, Fact, MacAddress, Source};

const CAPTURES: [&str; 3] = [
    "dhcp/tcpdump_dhcp-rfc4388.pcap",
    "dhcp/zeek_dhcp.pcap",
    "dhcp/zeek_dhcp_discover_param_req_and_client_id.pcap",
];

const FIELDS: [&str; 15] = [
    "dhcp.type",
    "dhcp.option.dhcp",
    "dhcp.hw.mac_addr",
    "dhcp.option.hostname",
    "dhcp.fqdn.name",
    "dhcp.option.vendor_class_id",
    "dhcp.option.request_list_item",
    "dhcp.option.requested_ip_address",
    "dhcp.ip.client",
    "dhcp.ip.your",
    "dhcp.option.dhcp_server_id",
    "dhcp.option.router",
    "dhcp.option.domain_name",
    "dhcp.option.type",
    "dhcp.option.value",
];

/// One expected fact: subject, attribute, value.
type Expected = (DeviceKey, Attribute, String);

fn ip_key(text: &str) -> DeviceKey {
    DeviceKey::Ip(text.parse().unwrap())
}

/// Option 61's value as tshark's `dhcp.option.value` list has it (pairing option types with
/// values; pad, end and empty options carry no value).
fn client_id(types: &str, values: &str) -> Option<String> {
    let types: Vec<&str> = types
        .split(',')
        .filter(|t| !t.is_empty() && *t != "0" && *t != "255")
        .collect();
    let values: Vec<&str> = values.split(',').filter(|v| !v.is_empty()).collect();
    assert_eq!(
        types.len(),
        values.len(),
        "option types {types:?} and values {values:?}"
    );
    let at = types.iter().position(|t| *t == "61")?;
    let hex = values[at];
    let pairs: Vec<&str> = (0..hex.len()).step_by(2).map(|i| &hex[i..i + 2]).collect();
    Some(pairs.join(":"))
}

/// The facts tshark's view of a frame calls for.
fn expected(fields: &[String], source_ip: &str) -> BTreeSet<Expected> {
    let f = |name: &str| {
        let at = FIELDS.iter().position(|n| *n == name).unwrap();
        fields.get(at).map(String::as_str).unwrap_or("")
    };
    let mut out = BTreeSet::new();
    // Frames without a message type are BOOTP that tshark finds malformed (no magic cookie
    // where it belongs): nothing is expected from them.
    let Ok(message_type) = f("dhcp.option.dhcp").parse::<u8>() else {
        return out;
    };
    // The client id option may repeat the MAC in dhcp.hw.mac_addr: the first is chaddr.
    let mac: MacAddress = f("dhcp.hw.mac_addr")
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let client = DeviceKey::Mac(mac);
    let mut add = |subject, attribute, value: &str| {
        if !value.is_empty() {
            out.insert((subject, attribute, value.to_owned()));
        }
    };
    if f("dhcp.type") == "1" {
        if !matches!(message_type, 1 | 3 | 4 | 7 | 8) {
            return out; // leasequery and the like: not the client speaking
        }
        add(client, Attribute::Hostname, f("dhcp.option.hostname"));
        add(
            client,
            Attribute::Hostname,
            f("dhcp.fqdn.name").trim_end_matches('.'),
        );
        add(
            client,
            Attribute::VendorClass,
            f("dhcp.option.vendor_class_id"),
        );
        add(
            client,
            Attribute::DhcpFingerprint,
            f("dhcp.option.request_list_item"),
        );
        if let Some(id) = client_id(f("dhcp.option.type"), f("dhcp.option.value")) {
            add(client, Attribute::ClientId, &id);
        }
        if message_type == 3 {
            add(client, Attribute::Ip, f("dhcp.option.requested_ip_address"));
        }
        if message_type != 4 && f("dhcp.ip.client") != "0.0.0.0" {
            add(client, Attribute::Ip, f("dhcp.ip.client"));
        }
    } else {
        let server = match f("dhcp.option.dhcp_server_id") {
            "" => source_ip,
            id => id,
        };
        add(ip_key(server), Attribute::Service, "dhcp-server");
        for router in f("dhcp.option.router").split(',').filter(|r| !r.is_empty()) {
            add(ip_key(router), Attribute::Role, "router");
        }
        add(client, Attribute::Domain, f("dhcp.option.domain_name"));
        if message_type == 5 && f("dhcp.ip.your") != "0.0.0.0" {
            add(client, Attribute::Ip, f("dhcp.ip.your"));
        }
    }
    out
}

#[test]
fn dhcp_facts_match_tshark_frame_by_frame() {
    let mut frames = 0;
    let mut values = 0;
    let mut per_attribute: HashMap<Attribute, usize> = HashMap::new();
    for relative in CAPTURES {
        let Some(path) = common::shared_capture(relative) else {
            return;
        };
        let log: Vec<(u64, Fact)> = common::fact_log(&path)
            .into_iter()
            .filter(|(_, fact)| fact.source == Source::Dhcp)
            .collect();
        let sources: HashMap<u64, String> = common::tshark_fields(&path, "dhcp", &["ip.src"])
            .into_iter()
            .map(|(frame, fields)| (frame, fields[0].clone()))
            .collect();
        let rows = common::tshark_fields(&path, "dhcp", &FIELDS);
        assert!(!rows.is_empty(), "{relative}: tshark shows no DHCP frame");
        let mut seen: BTreeSet<Expected> = BTreeSet::new();
        let mut covered_frames = BTreeSet::new();
        for (frame, fields) in &rows {
            let want = expected(fields, &sources[frame]);
            let reported: BTreeSet<Expected> = log
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
                *per_attribute.entry(fact.1).or_default() += 1;
            }
            values += want.len();
            frames += 1;
            covered_frames.insert(*frame);
        }
        // No DHCP fact comes from a frame tshark does not call DHCP.
        for (frame, fact) in &log {
            assert!(
                covered_frames.contains(frame),
                "{relative}: fact {fact:?} from non-DHCP frame {frame}"
            );
        }
    }
    println!("compared {values} values in {frames} DHCP frames: {per_attribute:?}");
    assert!(frames >= 40, "only {frames} frames compared");
    for attribute in [
        Attribute::Hostname,
        Attribute::DhcpFingerprint,
        Attribute::ClientId,
        Attribute::Ip,
        Attribute::Service,
        Attribute::Role,
        Attribute::Domain,
    ] {
        assert!(
            per_attribute.get(&attribute).copied().unwrap_or(0) > 0,
            "no {attribute:?} compared"
        );
    }
}

#[test]
fn dhcp_acks_bind_your_address_to_the_client_mac() {
    let Some(path) = common::shared_capture("dhcp/zeek_dhcp.pcap") else {
        return;
    };
    let acks = common::tshark_fields(
        &path,
        "dhcp.option.dhcp == 5",
        &["dhcp.ip.your", "dhcp.hw.mac_addr"],
    );
    assert!(!acks.is_empty());
    let log = common::fact_log(&path);
    for (frame, fields) in &acks {
        let ip: IpAddr = fields[0].parse().unwrap();
        let mac: MacAddress = fields[1].parse().unwrap();
        assert!(
            log.iter().any(|(f, fact)| f == frame
                && fact.subject == DeviceKey::Mac(mac)
                && fact.attribute == Attribute::Ip
                && fact.value == ip.to_string()),
            "frame {frame}: no binding of {ip} to {mac}"
        );
    }
}
