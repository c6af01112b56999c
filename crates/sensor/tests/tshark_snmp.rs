#![allow(clippy::unwrap_used, clippy::expect_used)]
//! SNMP facts against `tshark`, frame by frame, over the shared SNMP captures (v1 gets and a
//! trap, a v2c walk, a v3 exchange) and an IEC 61850 capture whose SCADA polls a switch by SNMP.
//!
//! tshark runs with its SNMP dissector explicitly enabled (the transport-level conformance test
//! disables it for its conversation tables) and its PDML output is read, so that each varbind's
//! object name stays paired with its value. From tshark's decoding of each frame this test
//! computes the facts Ironward must report: sysDescr, sysObjectID, sysName, sysContact,
//! sysLocation and the chassis/printer model and serial objects of agent PDUs; the v1 trap
//! enterprise; the SNMPv3 msgAuthoritativeEngineID and its enterprise; the v1/v2c,
//! default-community and v3-without-privacy findings. Facts are reported once (repeats are
//! de-duplicated), so each expected fact must have been reported in that frame or an earlier
//! one, and every fact reported in a frame must be one that frame calls for.

mod common;

use std::collections::{BTreeSet, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use ironward_model::{Attribute, DeviceKey, Fact, Finding, Source};
use ironward_proto::observations::clean_value;
use ironward_proto::snmp::enterprises::{self, Origin};
use ironward_proto::snmp::is_default_community;

const CAPTURES: [&str; 5] = [
    "snmp/zeek_snmpv1_get.pcap",
    "snmp/zeek_snmpv1_trap.pcap",
    "snmp/zeek_snmpv3_get_next.pcap",
    "snmp/zeek_snmpwalk-short.pcap",
    "iec61850-mms/Sample_File_MMS_and_GOOSE.pcap",
];

type Expected = BTreeSet<(DeviceKey, Attribute, String)>;

/// A varbind value as tshark decodes it.
#[derive(Debug, Clone)]
enum Value {
    Octets(Vec<u8>),
    Oid(String),
    Other,
}

/// What tshark shows of one SNMP frame.
#[derive(Debug, Default)]
struct SnmpFrame {
    number: u64,
    src: Option<SocketAddr>,
    dst: Option<SocketAddr>,
    version: Option<i64>,
    community: Option<Vec<u8>>,
    pdu: Option<u8>,
    flags: Option<u8>,
    engine_id: Option<Vec<u8>>,
    engine_enterprise: Option<u64>,
    enterprise: Option<String>,
    generic_trap: Option<i64>,
    varbinds: Vec<(String, Value)>,
}

/// An attribute of a PDML `<field .../>` line, XML entities decoded.
fn attribute(line: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let start = line.find(&key)? + key.len();
    let end = start + line[start..].find('"')?;
    Some(
        line[start..end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

fn hex_bytes(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// Every SNMP frame of a capture, from tshark's PDML with the SNMP dissector enabled.
fn snmp_frames(path: &Path) -> Vec<SnmpFrame> {
    let pdml = common::tshark(&[
        "--enable-protocol",
        "snmp",
        "-r",
        path.to_str().unwrap(),
        "-Y",
        "snmp",
        "-T",
        "pdml",
    ]);
    let mut frames: Vec<SnmpFrame> = Vec::new();
    let (mut src_ip, mut dst_ip): (Option<IpAddr>, Option<IpAddr>) = (None, None);
    let mut after_engine_id = false;
    for line in pdml.lines() {
        let Some(name) = attribute(line, "name") else {
            continue;
        };
        let show = attribute(line, "show").unwrap_or_default();
        let value = attribute(line, "value").unwrap_or_default();
        let engine_field = name.starts_with("snmp.engineid.");
        if name == "frame.number" {
            frames.push(SnmpFrame {
                number: show.parse().unwrap(),
                ..SnmpFrame::default()
            });
            (src_ip, dst_ip) = (None, None);
            continue;
        }
        let Some(frame) = frames.last_mut() else {
            continue;
        };
        match name.as_str() {
            "ip.src" | "ipv6.src" if src_ip.is_none() => src_ip = show.parse().ok(),
            "ip.dst" | "ipv6.dst" if dst_ip.is_none() => dst_ip = show.parse().ok(),
            "udp.srcport" if frame.src.is_none() => {
                frame.src = Some(SocketAddr::new(src_ip.unwrap(), show.parse().unwrap()));
            }
            "udp.dstport" if frame.dst.is_none() => {
                frame.dst = Some(SocketAddr::new(dst_ip.unwrap(), show.parse().unwrap()));
            }
            "snmp.version" | "snmp.msgVersion" => frame.version = show.parse().ok(),
            "snmp.community" => frame.community = Some(hex_bytes(&value)),
            "snmp.data" => frame.pdu = show.parse().ok(),
            "snmp.msgFlags" => frame.flags = Some(u8::from_str_radix(&value, 16).unwrap()),
            "snmp.msgAuthoritativeEngineID" => frame.engine_id = Some(hex_bytes(&value)),
            "snmp.engineid.enterprise" if after_engine_id => {
                frame.engine_enterprise = show.parse().ok();
            }
            "snmp.enterprise" => frame.enterprise = Some(show),
            "snmp.generic_trap" => frame.generic_trap = show.parse().ok(),
            "snmp.name" => frame.varbinds.push((show, Value::Other)),
            "snmp.value.octets" => {
                if let Some(last) = frame.varbinds.last_mut() {
                    last.1 = Value::Octets(hex_bytes(&value));
                }
            }
            "snmp.value.oid" => {
                if let Some(last) = frame.varbinds.last_mut() {
                    last.1 = Value::Oid(show);
                }
            }
            _ => {}
        }
        after_engine_id =
            name == "snmp.msgAuthoritativeEngineID" || (after_engine_id && engine_field);
    }
    frames
}

fn expect(set: &mut Expected, subject: DeviceKey, attribute: Attribute, value: &[u8]) {
    if let Some(value) = clean_value(value) {
        set.insert((subject, attribute, value));
    }
}

fn expect_enterprise(set: &mut Expected, subject: DeviceKey, number: u64) {
    if let Some((name, origin)) = enterprises::lookup(number) {
        let attribute = match origin {
            Origin::Vendor => Attribute::Vendor,
            Origin::Software => Attribute::Software,
            Origin::Os => Attribute::Os,
        };
        expect(set, subject, attribute, name.as_bytes());
    }
}

/// The enterprise number of a dotted OID under 1.3.6.1.4.1.
fn enterprise_of(oid: &str) -> Option<u64> {
    oid.strip_prefix("1.3.6.1.4.1.")?
        .split('.')
        .next()?
        .parse()
        .ok()
}

/// The version token of a Cisco software text ("..., Version 12.2(44)SE, RELEASE ...").
fn cisco_version(text: &str) -> Option<String> {
    if !text.to_ascii_lowercase().contains("cisco") {
        return None;
    }
    let rest = &text[text.find("Version ")? + "Version ".len()..];
    let token: String = rest
        .chars()
        .take_while(|c| !c.is_whitespace() && !matches!(c, ',' | '[' | ';'))
        .collect();
    token
        .starts_with(|c: char| c.is_ascii_digit())
        .then_some(token)
}

/// Objects describing the agent, by dotted OID, and the attribute of their text value.
const TEXT_OBJECTS: [(&str, Attribute); 11] = [
    ("1.3.6.1.2.1.1.4.0", Attribute::Contact),
    ("1.3.6.1.2.1.1.5.0", Attribute::Hostname),
    ("1.3.6.1.2.1.1.6.0", Attribute::Location),
    ("1.3.6.1.2.1.25.3.2.1.3.1", Attribute::Model),
    ("1.3.6.1.2.1.43.5.1.1.17.1", Attribute::Serial),
    ("1.3.6.1.2.1.47.1.1.1.1.2.1", Attribute::Description),
    ("1.3.6.1.2.1.47.1.1.1.1.9.1", Attribute::Firmware),
    ("1.3.6.1.2.1.47.1.1.1.1.10.1", Attribute::Firmware),
    ("1.3.6.1.2.1.47.1.1.1.1.11.1", Attribute::Serial),
    ("1.3.6.1.2.1.47.1.1.1.1.12.1", Attribute::Vendor),
    ("1.3.6.1.2.1.47.1.1.1.1.13.1", Attribute::Model),
];

/// What an agent's PDU says about the agent.
fn describe(frame: &SnmpFrame, agent: DeviceKey, set: &mut Expected) {
    if let (Some(enterprise), Some(generic)) = (&frame.enterprise, frame.generic_trap) {
        if (0..6).contains(&generic) {
            expect(set, agent, Attribute::ObjectId, enterprise.as_bytes());
        }
        if let Some(number) = enterprise_of(enterprise) {
            expect_enterprise(set, agent, number);
        }
    }
    for (name, value) in &frame.varbinds {
        match (name.as_str(), value) {
            ("1.3.6.1.2.1.1.1.0", Value::Octets(text)) => {
                expect(set, agent, Attribute::Description, text);
                if let Some(version) = cisco_version(&String::from_utf8_lossy(text)) {
                    expect(set, agent, Attribute::Firmware, version.as_bytes());
                }
            }
            ("1.3.6.1.2.1.1.2.0", Value::Oid(oid)) => {
                expect(set, agent, Attribute::ObjectId, oid.as_bytes());
                if let Some(number) = enterprise_of(oid) {
                    expect_enterprise(set, agent, number);
                }
            }
            (name, Value::Octets(text)) => {
                if let Some((_, attribute)) = TEXT_OBJECTS.iter().find(|(oid, _)| *oid == name) {
                    expect(set, agent, *attribute, text);
                }
            }
            _ => {}
        }
    }
}

/// The facts tshark's decoding of one frame calls for. `announced` holds the flows whose
/// authoritative SNMPv3 engine already named itself (its id in managers' requests is then no
/// news).
fn expected(frame: &SnmpFrame, announced: &mut HashSet<[SocketAddr; 2]>) -> Expected {
    let mut set = Expected::new();
    let (src, dst) = (frame.src.unwrap(), frame.dst.unwrap());
    let sender = DeviceKey::Ip(src.ip());
    let receiver = DeviceKey::Ip(dst.ip());
    let flow = if src < dst { [src, dst] } else { [dst, src] };
    let finding = |set: &mut Expected, finding: Finding| {
        expect(set, sender, Attribute::Finding, finding.as_str().as_bytes());
    };
    // get-response 2, trap 4, inform 6, snmpV2-trap 7.
    let from_agent = matches!(frame.pdu, Some(2 | 4 | 6 | 7));
    match frame.version {
        Some(0 | 1) if from_agent => {
            finding(&mut set, Finding::SnmpV1V2c);
            if frame.pdu == Some(2) && is_default_community(frame.community.as_ref().unwrap()) {
                finding(&mut set, Finding::SnmpDefaultCommunity);
            }
            describe(frame, sender, &mut set);
        }
        Some(3) => {
            let flags = frame.flags.unwrap();
            let engine_id = frame.engine_id.clone().unwrap_or_default();
            let subject = if flags & 4 == 0 {
                if !engine_id.is_empty() {
                    announced.insert(flow);
                }
                Some(sender)
            } else {
                (!announced.contains(&flow)).then_some(receiver)
            };
            if let Some(subject) = subject.filter(|_| (5..=32).contains(&engine_id.len())) {
                let hex: String = engine_id.iter().map(|b| format!("{b:02x}")).collect();
                expect(
                    &mut set,
                    subject,
                    Attribute::ClientId,
                    format!("snmp-engine:{hex}").as_bytes(),
                );
                if let Some(number) = frame.engine_enterprise {
                    expect_enterprise(&mut set, subject, number);
                }
            }
            if matches!(frame.pdu, Some(2 | 6 | 7)) && flags & 2 == 0 {
                finding(&mut set, Finding::SnmpV3WithoutPrivacy);
            }
            if from_agent {
                describe(frame, sender, &mut set);
            }
        }
        _ => {}
    }
    set
}

#[test]
fn snmp_facts_match_tshark_frame_by_frame() {
    let (mut frames, mut values) = (0, 0);
    let mut all: BTreeSet<(Attribute, String)> = BTreeSet::new();
    for relative in CAPTURES {
        let Some(path) = common::shared_capture(relative) else {
            return;
        };
        let log: Vec<(u64, Fact)> = common::fact_log(&path)
            .into_iter()
            .filter(|(_, fact)| fact.source == Source::Snmp)
            .collect();
        let decoded = snmp_frames(&path);
        assert!(
            !decoded.is_empty(),
            "{relative}: tshark shows no SNMP frame"
        );
        let mut announced = HashSet::new();
        let mut seen = BTreeSet::new();
        for frame in &decoded {
            let want = expected(frame, &mut announced);
            let number = frame.number;
            for (_, fact) in log.iter().filter(|(n, _)| *n == number) {
                let key = (fact.subject, fact.attribute, fact.value.to_string());
                assert!(
                    want.contains(&key),
                    "{relative} frame {number}: unexpected {key:?}; tshark: {frame:?}"
                );
                seen.insert(key);
            }
            for key in &want {
                assert!(
                    seen.contains(key),
                    "{relative} frame {number}: {key:?} not reported (by then); tshark: {frame:?}"
                );
                all.insert((key.1, key.2.clone()));
            }
            values += want.len();
        }
        let numbers: BTreeSet<u64> = decoded.iter().map(|f| f.number).collect();
        for (number, fact) in &log {
            assert!(
                numbers.contains(number),
                "{relative} frame {number}: {fact:?} from a frame tshark does not show as SNMP"
            );
        }
        frames += decoded.len();
    }
    eprintln!("SNMP: {frames} frames, {values} expected values compared with tshark");
    assert!(
        frames >= 450 && values >= 450,
        "{frames} frames, {values} values"
    );
    for (attribute, value) in [
        (
            Attribute::Description,
            "Linux ubuntu-512mb-sfo2-01 4.4.0-31-generic #50~14.04.1-Ubuntu SMP Wed Jul 13 \
             01:07:32 UTC 2016 x86_64",
        ),
        (Attribute::Hostname, "B6300"),
        (Attribute::Hostname, "ubuntu-512mb-sfo2-01"),
        (Attribute::Location, "Chandra's cube"),
        (Attribute::Contact, "Me <me@example.org>"),
        (
            Attribute::ObjectId,
            "1.3.6.1.4.1.2001.1.1.1.297.93.1.27.2.2.1",
        ),
        (Attribute::ObjectId, "1.3.6.1.4.1.8072.3.2.10"),
        (Attribute::ObjectId, "1.3.6.1.4.1.31337.0"),
        (Attribute::Vendor, "OKI"),
        (Attribute::Software, "net-snmp"),
        (
            Attribute::ClientId,
            "snmp-engine:80001f8880a9498e5e3a2c3043",
        ),
        (Attribute::Finding, "snmp_v1_v2c"),
        (Attribute::Finding, "snmp_default_community"),
        (Attribute::Finding, "snmp_v3_without_privacy"),
    ] {
        assert!(
            all.contains(&(attribute, value.to_owned())),
            "{attribute:?} {value} not compared"
        );
    }
}
