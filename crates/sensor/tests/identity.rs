//! Device identity end to end: frames in, devices out, through every dissector, the
//! classification rules and identity resolution. Devices whose NIC OUI belongs to another vendor
//! must be named after what they announce, with the conflict explained; protocols on unusual
//! ports are recognised by content.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::frames::{Conversation, Host};
use ironward_model::{AnalysisReport, Device};

/// An mDNS name in wire format.
fn name(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for label in text.split('.') {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out
}

fn record(owner: &str, rtype: u16, data: &[u8]) -> Vec<u8> {
    let mut out = name(owner);
    out.extend_from_slice(&rtype.to_be_bytes());
    out.extend_from_slice(&0x8001u16.to_be_bytes()); // IN, cache flush
    out.extend_from_slice(&120u32.to_be_bytes());
    out.extend_from_slice(&(data.len() as u16).to_be_bytes());
    out.extend_from_slice(data);
    out
}

/// An mDNS response announcing an IPP printer: PTR, TXT (make and model) and A records.
fn printer_announcement(ip: [u8; 4]) -> Vec<u8> {
    let instance = "Office Printer._ipp._tcp.local";
    let mut txt = Vec::new();
    for pair in [
        "txtvers=1",
        "ty=HP LaserJet M507",
        "usb_MFG=HP",
        "usb_MDL=LaserJet M507",
    ] {
        txt.push(pair.len() as u8);
        txt.extend_from_slice(pair.as_bytes());
    }
    let records = [
        record("_ipp._tcp.local", 12, &name(instance)),
        record(instance, 16, &txt),
        record("office-printer.local", 1, &ip),
    ];
    let mut message = vec![0, 0, 0x84, 0, 0, 0, 0, records.len() as u8, 0, 0, 0, 0];
    for r in records {
        message.extend_from_slice(&r);
    }
    message
}

fn device<'r>(report: &'r AnalysisReport, id: &str) -> &'r Device {
    report
        .devices
        .iter()
        .find(|d| d.id.0 == id)
        .unwrap_or_else(|| panic!("no device {id} in {:#?}", report.devices))
}

#[test]
fn a_printer_behind_an_intel_nic_is_named_after_its_announcement() {
    // 00:1b:21 is an Intel Corporate OUI; the device says it is an HP LaserJet.
    let printer = Host::new([0x00, 0x1b, 0x21, 0x0a, 0x0b, 0x0c], [192, 168, 7, 50]);
    let group = Host::new([0; 6], [224, 0, 0, 251]);
    let mut capture = Conversation::default();
    capture.udp(
        printer,
        group,
        (5353, 5353),
        &printer_announcement([192, 168, 7, 50]),
    );
    let report = capture.analyze();
    let d = device(&report, "mac:00:1b:21:0a:0b:0c");
    assert_eq!(d.vendor.as_deref(), Some("HP"), "{d:#?}");
    assert_eq!(d.device_type.as_deref(), Some("printer"), "{d:#?}");
    assert_eq!(d.model.as_deref(), Some("HP LaserJet M507"), "{d:#?}");
    assert!(
        d.hostnames.iter().any(|h| h.starts_with("office-printer")),
        "{d:#?}"
    );
    let conflict = d
        .conflicts
        .iter()
        .find(|c| c.attribute == "vendor")
        .expect("the OUI disagreed");
    assert_eq!(conflict.chosen, "HP");
    assert!(conflict
        .others
        .iter()
        .any(|o| o.source == "oui" && o.value.contains("Intel")));
    assert!(conflict.reason.contains("beats oui"), "{}", conflict.reason);
    // Every attribute shown is backed by a selected fact that names its source.
    let selected: Vec<_> = d.facts.iter().filter(|f| f.selected).collect();
    for attribute in ["vendor", "type", "model"] {
        assert!(
            selected.iter().any(|f| f.attribute == attribute),
            "{attribute}: {d:#?}"
        );
    }
}

#[test]
fn http_and_ssh_on_unusual_ports_are_recognised_by_content() {
    let camera = Host::new([0x00, 0x40, 0x8c, 0x01, 0x02, 0x03], [10, 9, 0, 20]);
    let admin = Host::new([0x02, 0x00, 0x00, 0x00, 0x00, 0x01], [10, 9, 0, 5]);
    let mut capture = Conversation::default();
    capture.tcp_session(
        admin,
        camera,
        (40001, 12345),
        b"GET /axis-cgi/param.cgi HTTP/1.1\r\nHost: cam-7\r\nUser-Agent: curl/8.5.0\r\nAuthorization: Basic YWRtaW46cGFzcw==\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nServer: Boa/0.94.14rc21\r\nContent-Length: 0\r\n\r\n",
    );
    capture.tcp_session(
        admin,
        camera,
        (40002, 2200),
        b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n",
        b"SSH-2.0-dropbear_2020.81\r\n",
    );
    let report = capture.analyze();
    let cam = device(&report, "mac:00:40:8c:01:02:03");
    let software: Vec<&str> = cam
        .facts
        .iter()
        .filter(|f| f.attribute == "software")
        .map(|f| f.value.as_ref())
        .collect();
    assert!(software.contains(&"Boa/0.94.14rc21"), "{cam:#?}");
    assert!(
        software.iter().any(|s| s.starts_with("dropbear")),
        "{cam:#?}"
    );
    assert_eq!(cam.device_type.as_deref(), Some("ip_camera"), "{cam:#?}");
    assert!(
        cam.findings.contains(&"http_basic_cleartext".to_owned()),
        "{cam:#?}"
    );
    assert!(
        cam.protocols.server.contains(&"http".to_owned()),
        "{cam:#?}"
    );
    assert!(cam.protocols.server.contains(&"ssh".to_owned()), "{cam:#?}");
    let pc = device(&report, "mac:02:00:00:00:00:01");
    assert_eq!(pc.os.as_deref(), Some("Debian Linux"), "{pc:#?}");
    assert!(
        pc.facts
            .iter()
            .any(|f| f.attribute == "user_agent" && f.value == "curl/8.5.0"),
        "{pc:#?}"
    );
    // The credentials never appear anywhere in the report.
    let json = serde_json::to_string(&report).unwrap();
    assert!(!json.contains("YWRtaW46cGFzcw") && !json.contains("admin:pass"));
}

#[test]
fn lldp_frames_name_the_switch_that_sent_them() {
    fn tlv(kind: u8, value: &[u8]) -> Vec<u8> {
        let header = (u16::from(kind) << 9) | value.len() as u16;
        let mut out = header.to_be_bytes().to_vec();
        out.extend_from_slice(value);
        out
    }
    let switch = [0x00, 0x1c, 0x0e, 0x11, 0x22, 0x33];
    let mut payload = Vec::new();
    payload.extend(tlv(1, &[4, 0x00, 0x1c, 0x0e, 0x11, 0x22, 0x33])); // chassis: MAC
    payload.extend(tlv(2, b"\x05Gi1/0/7")); // port: interface name
    payload.extend(tlv(3, &[0, 120])); // TTL
    payload.extend(tlv(5, b"sw-core-1")); // system name
    payload.extend(tlv(6, b"Cisco IOS Software, C2960X Software (C2960X-UNIVERSALK9-M), Version 15.2(7)E4, RELEASE SOFTWARE (fc2)"));
    payload.extend(tlv(7, &[0x00, 0x14, 0x00, 0x04])); // capabilities: bridge, router; enabled: bridge
    payload.extend(tlv(0, b""));
    let mut capture = Conversation::default();
    capture.ethernet(
        ironward_wire::MacAddr(switch),
        ironward_wire::MacAddr([0x01, 0x80, 0xc2, 0, 0, 0x0e]),
        0x88cc,
        &payload,
    );
    let report = capture.analyze();
    let d = device(&report, "mac:00:1c:0e:11:22:33");
    assert_eq!(d.hostnames, vec!["sw-core-1".to_owned()], "{d:#?}");
    assert_eq!(d.device_type.as_deref(), Some("switch"), "{d:#?}");
    assert_eq!(d.firmware.as_deref(), Some("15.2(7)E4"), "{d:#?}");
    assert_eq!(d.os.as_deref(), Some("Cisco IOS"), "{d:#?}");
    assert!(
        d.facts
            .iter()
            .any(|f| f.source == "lldp" && f.attribute == "port"),
        "{d:#?}"
    );
}
