//! One [`Device`] or [`Connection`] as pretty-printed JSON, byte for byte what
//! `serde_json::to_writer_pretty` writes for it at the same depth — written by hand for the
//! reason events are (see [`super::event_json`]): serde's generic path costs a report of
//! thousands of devices more than building them.

use ironward_model::device::{Conflict, ReportedFact, Service};
use ironward_model::{Connection, Device};

use super::event_json::{close, indent, key, push_ip, push_mac, push_str, quoted_timestamp};

/// Appends `device` to `out` as serde_json's pretty formatter writes it when the object starts
/// `level` levels deep (the caller has written the indentation before `{`).
pub(crate) fn push_device(out: &mut Vec<u8>, device: &Device, level: usize) {
    let inner = level + 1;
    out.push(b'{');
    key(out, inner, "id", true);
    push_str(out, &device.id.0);
    key(out, inner, "mac", false);
    match device.mac {
        Some(mac) => push_mac(out, mac),
        None => out.extend_from_slice(b"null"),
    }
    key(out, inner, "ips", false);
    array(out, inner, &device.ips, |out, ip, _| push_ip(out, *ip));
    key(out, inner, "vendor", false);
    optional_str(out, device.vendor.as_deref());
    key(out, inner, "hostnames", false);
    strings(out, inner, &device.hostnames);
    for (name, value) in [
        ("type", &device.device_type),
        ("role", &device.role),
        ("model", &device.model),
        ("firmware", &device.firmware),
        ("serial", &device.serial),
        ("os", &device.os),
        ("state", &device.state),
    ] {
        key(out, inner, name, false);
        optional_str(out, value.as_deref());
    }
    key(out, inner, "purdue_level", false);
    match device.purdue_level {
        Some(level) => number(out, u64::from(level)),
        None => out.extend_from_slice(b"null"),
    }
    key(out, inner, "purdue_reason", false);
    optional_str(out, device.purdue_reason.as_deref());
    key(out, inner, "protocols", false);
    out.push(b'{');
    key(out, inner + 1, "client", true);
    strings(out, inner + 1, &device.protocols.client);
    key(out, inner + 1, "server", false);
    strings(out, inner + 1, &device.protocols.server);
    close(out, inner, b'}');
    key(out, inner, "services", false);
    array(out, inner, &device.services, push_service);
    key(out, inner, "findings", false);
    strings(out, inner, &device.findings);
    key(out, inner, "facts", false);
    array(out, inner, &device.facts, push_fact);
    key(out, inner, "conflicts", false);
    array(out, inner, &device.conflicts, push_conflict);
    key(out, inner, "first_seen", false);
    quoted_timestamp(out, device.first_seen);
    key(out, inner, "last_seen", false);
    quoted_timestamp(out, device.last_seen);
    close(out, level, b'}');
}

/// Appends `connection` to `out` as [`push_device`] does a device.
pub(crate) fn push_connection(out: &mut Vec<u8>, connection: &Connection, level: usize) {
    let inner = level + 1;
    out.push(b'{');
    key(out, inner, "a", true);
    optional_str(out, connection.a.as_ref().map(|id| id.0.as_str()));
    key(out, inner, "b", false);
    optional_str(out, connection.b.as_ref().map(|id| id.0.as_str()));
    key(out, inner, "a_ip", false);
    push_ip(out, connection.a_ip);
    key(out, inner, "b_ip", false);
    push_ip(out, connection.b_ip);
    key(out, inner, "transport", false);
    push_str(out, &connection.transport);
    key(out, inner, "port", false);
    match connection.port {
        Some(port) => number(out, u64::from(port)),
        None => out.extend_from_slice(b"null"),
    }
    key(out, inner, "protocol", false);
    optional_str(out, connection.protocol.as_deref());
    for (name, value) in [
        ("packets", connection.packets),
        ("bytes", connection.bytes),
        ("flows", connection.flows),
    ] {
        key(out, inner, name, false);
        number(out, value);
    }
    key(out, inner, "first_seen", false);
    quoted_timestamp(out, connection.first_seen);
    key(out, inner, "last_seen", false);
    quoted_timestamp(out, connection.last_seen);
    close(out, level, b'}');
}

fn push_service(out: &mut Vec<u8>, service: &Service, level: usize) {
    let inner = level + 1;
    out.push(b'{');
    key(out, inner, "transport", true);
    push_str(out, &service.transport);
    key(out, inner, "port", false);
    number(out, u64::from(service.port));
    key(out, inner, "protocol", false);
    optional_str(out, service.protocol.as_deref());
    close(out, level, b'}');
}

fn push_fact(out: &mut Vec<u8>, fact: &ReportedFact, level: usize) {
    let inner = level + 1;
    out.push(b'{');
    key(out, inner, "attribute", true);
    push_str(out, &fact.attribute);
    key(out, inner, "value", false);
    push_str(out, &fact.value);
    key(out, inner, "source", false);
    push_str(out, &fact.source);
    key(out, inner, "confidence", false);
    number(out, u64::from(fact.confidence));
    // As the model's `skip_serializing_if`: `selected` only when set, `evidence` only when known.
    if fact.selected {
        key(out, inner, "selected", false);
        out.extend_from_slice(b"true");
    }
    if let Some(evidence) = &fact.evidence {
        key(out, inner, "evidence", false);
        push_str(out, evidence);
    }
    close(out, level, b'}');
}

fn push_conflict(out: &mut Vec<u8>, conflict: &Conflict, level: usize) {
    let inner = level + 1;
    out.push(b'{');
    key(out, inner, "attribute", true);
    push_str(out, &conflict.attribute);
    key(out, inner, "chosen", false);
    push_str(out, &conflict.chosen);
    key(out, inner, "chosen_source", false);
    push_str(out, &conflict.chosen_source);
    key(out, inner, "others", false);
    array(out, inner, &conflict.others, push_fact);
    key(out, inner, "reason", false);
    push_str(out, &conflict.reason);
    close(out, level, b'}');
}

/// An array whose elements start `level + 1` deep; `[]` when empty, as serde writes it.
fn array<T>(
    out: &mut Vec<u8>,
    level: usize,
    items: &[T],
    mut element: impl FnMut(&mut Vec<u8>, &T, usize),
) {
    out.push(b'[');
    if items.is_empty() {
        out.push(b']');
        return;
    }
    for (i, item) in items.iter().enumerate() {
        out.extend_from_slice(if i == 0 { b"\n" } else { b",\n" });
        indent(out, level + 1);
        element(out, item, level + 1);
    }
    close(out, level, b']');
}

fn strings(out: &mut Vec<u8>, level: usize, items: &[String]) {
    array(out, level, items, |out, item, _| push_str(out, item));
}

fn optional_str(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        Some(value) => push_str(out, value),
        None => out.extend_from_slice(b"null"),
    }
}

fn number(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use ironward_model::{DeviceId, MacAddress, Protocols, Timestamp};

    use super::*;

    fn fact(selected: bool, evidence: Option<&str>) -> ReportedFact {
        ReportedFact {
            attribute: Cow::Borrowed("vendor"),
            value: Cow::Owned("TELEMECANIQUE \"É\"\n".to_owned()),
            source: Cow::Borrowed("oui"),
            confidence: 40,
            selected,
            evidence: evidence.map(str::to_owned),
        }
    }

    fn full() -> Device {
        Device {
            id: DeviceId("mac:00:80:f4:00:00:01".to_owned()),
            mac: Some(MacAddress([0, 0x80, 0xf4, 0xab, 0xcd, 1])),
            ips: vec!["10.0.0.1".parse().unwrap(), "fe80::1:2".parse().unwrap()],
            vendor: Some("Schneider".to_owned()),
            hostnames: vec!["plc-1".to_owned(), "plc\t2".to_owned()],
            device_type: Some("plc".to_owned()),
            role: Some("controller".to_owned()),
            model: Some("M340".to_owned()),
            firmware: Some("v2.7".to_owned()),
            serial: Some("123".to_owned()),
            os: Some("VxWorks".to_owned()),
            state: Some("run".to_owned()),
            purdue_level: Some(1),
            purdue_reason: Some("controller: basic control".to_owned()),
            protocols: Protocols {
                client: vec!["dns".to_owned()],
                server: vec!["modbus".to_owned(), "http".to_owned()],
            },
            services: vec![
                Service {
                    transport: "tcp".to_owned(),
                    port: 502,
                    protocol: Some("modbus".to_owned()),
                },
                Service {
                    transport: "udp".to_owned(),
                    port: 65535,
                    protocol: None,
                },
            ],
            findings: vec!["telnet_in_use".to_owned()],
            facts: vec![
                fact(true, None),
                fact(false, Some("rule x: vendor \"a\" (oui)")),
            ],
            conflicts: vec![
                Conflict {
                    attribute: "vendor".to_owned(),
                    chosen: "Schneider".to_owned(),
                    chosen_source: "upnp".to_owned(),
                    others: vec![fact(false, None), fact(true, Some("e"))],
                    reason: "upnp beats oui".to_owned(),
                },
                Conflict {
                    attribute: "model".to_owned(),
                    chosen: String::new(),
                    chosen_source: "snmp".to_owned(),
                    others: vec![],
                    reason: String::new(),
                },
            ],
            first_seen: Timestamp(1_700_000_000_123_456_789),
            last_seen: Timestamp(-5),
        }
    }

    fn empty() -> Device {
        Device {
            id: DeviceId("ip:10.0.0.9".to_owned()),
            mac: None,
            ips: vec![],
            vendor: None,
            hostnames: vec![],
            device_type: None,
            role: None,
            model: None,
            firmware: None,
            serial: None,
            os: None,
            state: None,
            purdue_level: None,
            purdue_reason: None,
            protocols: Protocols::default(),
            services: vec![],
            findings: vec![],
            facts: vec![],
            conflicts: vec![],
            first_seen: Timestamp(0),
            last_seen: Timestamp(1),
        }
    }

    fn connection(port: Option<u16>, named: bool) -> Connection {
        Connection {
            a: named.then(|| DeviceId("mac:00:80:f4:00:00:01".to_owned())),
            b: named.then(|| DeviceId("ip:fe80::2".to_owned())),
            a_ip: "10.0.0.1".parse().unwrap(),
            b_ip: "ff02::fb".parse().unwrap(),
            transport: "udp".to_owned(),
            port,
            protocol: named.then(|| "mdns".to_owned()),
            packets: u64::MAX,
            bytes: 0,
            flows: 17,
            first_seen: Timestamp(1),
            last_seen: Timestamp(2_000_000_000),
        }
    }

    /// What `to_writer_pretty` writes for `value` as the only element of an array inside an
    /// object's array (the devices' and connections' depth), and what the hand writer does.
    fn both<T: serde::Serialize>(value: &T, write: fn(&mut Vec<u8>, &T, usize)) {
        let serde =
            serde_json::to_string_pretty(&std::collections::BTreeMap::from([("x", [value])]))
                .unwrap();
        let mut out = b"{\n  \"x\": [\n    ".to_vec();
        write(&mut out, value, 2);
        out.extend_from_slice(b"\n  ]\n}");
        assert_eq!(String::from_utf8(out).unwrap(), serde);
        let serde = serde_json::to_string_pretty(value).unwrap();
        let mut out = Vec::new();
        write(&mut out, value, 0);
        assert_eq!(String::from_utf8(out).unwrap(), serde);
    }

    #[test]
    fn devices_are_the_bytes_serde_writes() {
        both(&full(), push_device);
        both(&empty(), push_device);
    }

    #[test]
    fn connections_are_the_bytes_serde_writes() {
        both(&connection(Some(5353), true), push_connection);
        both(&connection(None, false), push_connection);
    }
}
