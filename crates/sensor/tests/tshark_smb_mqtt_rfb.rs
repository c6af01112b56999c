#![allow(clippy::unwrap_used, clippy::expect_used)]
//! SMB (with NTLMSSP and NetBIOS session requests), MQTT and RFB facts against `tshark`, frame
//! by frame, over the shared captures of those protocols (and an IEC 61850 capture whose SCADA
//! logs on to a Windows 2000 server over SMB1 on port 139, a HART-IP capture with a stray SMB1
//! request and a NetBIOS capture with a session request on a VLAN).
//!
//! From tshark's decoding of each frame this test computes the facts Ironward must report:
//! * SMB: `smb.native_os` / `smb.native_lanman` → OS / software of the sender; `smb.server` and
//!   the primary domain of replies and of non-extended-security requests → hostname / domain;
//!   any SMB1 reply → finding SMB v1 and service `smb 1`; an SMB2 NEGOTIATE response's
//!   `smb2.dialect` → service `smb 3.1.1`; `nbss.calling_name` → hostname of the client and
//!   `nbss.called_name` → hostname of the server (hearsay).
//! * NTLMSSP: `ntlmssp.challenge.target_info.{nb,dns}_{computer,domain}_name` and
//!   `dns_tree_name` → hostname / domain of the server; `ntlmssp.auth.hostname` /
//!   `ntlmssp.auth.domain` → hostname / domain of the client; `ntlmssp.version.*` → OS.
//! * MQTT: `mqtt.clientid` → client id of the client; a CONNECT or CONNACK → service
//!   `mqtt-broker` and finding MQTT in clear text on the broker; an accepted CONNACK
//!   (`mqtt.conack.val` / `mqtt.connack.reason_code` 0) → service `mqtt <version>` from the
//!   stream's `mqtt.ver`, and, when that CONNECT had neither `mqtt.conflag.uname` nor
//!   `mqtt.conflag.passwd`, the MQTT-without-authentication finding on both ends.
//! * RFB: `vnc.server_proto_ver` → software; `vnc.client_proto_ver` → user agent;
//!   `vnc.security_type` → service `vnc (security: ...)`, and when the server's list holds 1
//!   (None) the VNC-without-authentication finding on that server; `vnc.desktop_name` →
//!   description.
//!
//! Deliberate differences, checked explicitly: tshark's `smb.primary_domain` of a request with
//! extended security is the third string Windows sends after NativeOS and an empty
//! NativeLanMan (`Windows Server 2003 R2 5.2`), not a domain, so it is not compared; Apple's
//! ServerInit prefixes the desktop name with binary data, which tshark shows as an empty name
//! and Ironward reads past (`MacMini SSD`).
//!
//! Observations report a fact once (repeats are de-duplicated), so a fact tshark calls for in
//! frame N must have been reported in frame N or earlier, and every fact reported in frame N
//! must be one that frame calls for.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ironward_model::{Attribute, DeviceKey, Fact, Finding, Source};

type Expected = BTreeSet<(DeviceKey, Attribute, String, Source)>;

/// Compares Ironward's facts of `sources` with what `expect` computes from each tshark row;
/// returns (frames, values) compared.
fn compare(
    relative: &str,
    sources: &[Source],
    filter: &str,
    fields: &[&str],
    mut expect: impl FnMut(&Row<'_>) -> Expected,
    values_seen: &mut BTreeSet<String>,
) -> Option<(usize, usize)> {
    let path = common::shared_capture(relative)?;
    let log: Vec<(u64, Fact)> = common::fact_log(&path)
        .into_iter()
        .filter(|(_, fact)| sources.contains(&fact.source))
        .collect();
    let rows = common::tshark_fields(&path, filter, fields);
    assert!(
        !rows.is_empty(),
        "{relative}: tshark shows no frame for {filter}"
    );
    let mut seen = Expected::new();
    let mut covered = BTreeSet::new();
    let mut values = 0;
    for (frame, values_of_row) in &rows {
        let row = Row {
            names: fields,
            values: values_of_row,
        };
        let want = expect(&row);
        let reported: Expected = log
            .iter()
            .filter(|(f, _)| f == frame)
            .map(|(_, fact)| {
                (
                    fact.subject,
                    fact.attribute,
                    fact.value.to_string(),
                    fact.source,
                )
            })
            .collect();
        seen.extend(reported.iter().cloned());
        for fact in &reported {
            assert!(
                want.contains(fact),
                "{relative} frame {frame}: unexpected {fact:?}; tshark: {values_of_row:?}"
            );
        }
        for fact in &want {
            assert!(
                seen.contains(fact),
                "{relative} frame {frame}: missing {fact:?}; tshark: {values_of_row:?}"
            );
            values_seen.insert(format!("{:?} {}", fact.1, fact.2));
        }
        values += want.len();
        covered.insert(*frame);
    }
    for (frame, fact) in &log {
        assert!(
            covered.contains(frame),
            "{relative}: fact {fact:?} from frame {frame}, which tshark does not decode as {filter}"
        );
    }
    Some((rows.len(), values))
}

/// One tshark row, fields by name.
struct Row<'a> {
    names: &'a [&'a str],
    values: &'a [String],
}

impl Row<'_> {
    fn get(&self, name: &str) -> &str {
        let i = self
            .names
            .iter()
            .position(|n| *n == name)
            .unwrap_or_else(|| panic!("field {name} not requested"));
        self.values.get(i).map_or("", String::as_str)
    }

    /// A field that tshark shows, ignoring its empty and "NULL" renderings.
    fn text(&self, name: &str) -> Option<&str> {
        Some(self.get(name)).filter(|v| !v.is_empty() && *v != "NULL")
    }

    fn src(&self) -> DeviceKey {
        address(self.get("ip.src"), self.get("ipv6.src"))
    }

    fn dst(&self) -> DeviceKey {
        address(self.get("ip.dst"), self.get("ipv6.dst"))
    }
}

fn address(v4: &str, v6: &str) -> DeviceKey {
    let text = if v4.is_empty() { v6 } else { v4 };
    DeviceKey::Ip(text.parse::<IpAddr>().expect("address"))
}

fn fact(
    key: DeviceKey,
    attribute: Attribute,
    value: &str,
    source: Source,
) -> (DeviceKey, Attribute, String, Source) {
    (key, attribute, value.to_owned(), source)
}

/// The OS an NTLMSSP version names (MS-NLMP version structure), per the rule documented in
/// `ntlmssp::Version::os`: Windows builds only, product names only for 5.0 and 5.1.
fn ntlm_os(major: &str, minor: &str, build: &str) -> Option<String> {
    let build: u32 = build.parse().ok()?;
    if build < 1000 {
        return None;
    }
    Some(match (major, minor) {
        ("5", "0") => format!("Windows 2000 (5.0 build {build})"),
        ("5", "1") => format!("Windows XP (5.1 build {build})"),
        _ => format!("Windows {major}.{minor} build {build}"),
    })
}

const SMB_FIELDS: [&str; 27] = [
    "ip.src",
    "ipv6.src",
    "ip.dst",
    "ipv6.dst",
    "smb.flags.response",
    "smb.flags2.esn",
    "smb.native_os",
    "smb.native_lanman",
    "smb.primary_domain",
    "smb.server",
    "smb2.flags.response",
    "smb2.cmd",
    "smb2.dialect",
    "ntlmssp.challenge.target_info.nb_computer_name",
    "ntlmssp.challenge.target_info.dns_computer_name",
    "ntlmssp.challenge.target_info.nb_domain_name",
    "ntlmssp.challenge.target_info.dns_domain_name",
    "ntlmssp.challenge.target_info.dns_tree_name",
    "ntlmssp.auth.hostname",
    "ntlmssp.auth.domain",
    "ntlmssp.version.major",
    "ntlmssp.version.minor",
    "ntlmssp.version.build_number",
    "nbss.type",
    "nbss.called_name",
    "nbss.calling_name",
    "ntlmssp.messagetype",
];

fn smb_expected(row: &Row<'_>) -> Expected {
    let mut out = Expected::new();
    let (src, dst) = (row.src(), row.dst());
    let reply = row.get("smb.flags.response") == "1";
    if reply {
        out.insert(fact(
            src,
            Attribute::Finding,
            Finding::SmbV1.as_str(),
            Source::Smb,
        ));
        out.insert(fact(src, Attribute::Service, "smb 1", Source::Smb));
    }
    for (field, attribute) in [
        ("smb.native_os", Attribute::Os),
        ("smb.native_lanman", Attribute::Software),
        ("smb.server", Attribute::Hostname),
    ] {
        if let Some(v) = row.text(field) {
            out.insert(fact(src, attribute, v, Source::Smb));
        }
    }
    if reply || row.get("smb.flags2.esn") == "0" {
        if let Some(v) = row.text("smb.primary_domain") {
            out.insert(fact(src, Attribute::Domain, v, Source::Smb));
        }
    }
    if row.get("smb2.flags.response") == "1" && row.get("smb2.cmd") == "0" {
        let name = match row.get("smb2.dialect") {
            "0x0202" => Some("smb 2.0.2"),
            "0x0210" => Some("smb 2.1"),
            "0x0300" => Some("smb 3.0"),
            "0x0302" => Some("smb 3.0.2"),
            "0x0311" => Some("smb 3.1.1"),
            _ => None,
        };
        if let Some(name) = name {
            out.insert(fact(src, Attribute::Service, name, Source::Smb));
        }
    }
    for (field, attribute) in [
        (
            "ntlmssp.challenge.target_info.nb_computer_name",
            Attribute::Hostname,
        ),
        (
            "ntlmssp.challenge.target_info.dns_computer_name",
            Attribute::Hostname,
        ),
        (
            "ntlmssp.challenge.target_info.nb_domain_name",
            Attribute::Domain,
        ),
        (
            "ntlmssp.challenge.target_info.dns_domain_name",
            Attribute::Domain,
        ),
        (
            "ntlmssp.challenge.target_info.dns_tree_name",
            Attribute::Domain,
        ),
        ("ntlmssp.auth.hostname", Attribute::Hostname),
        ("ntlmssp.auth.domain", Attribute::Domain),
    ] {
        if let Some(v) = row.text(field) {
            out.insert(fact(src, attribute, v, Source::Ntlmssp));
        }
    }
    if let Some(os) = ntlm_os(
        row.get("ntlmssp.version.major"),
        row.get("ntlmssp.version.minor"),
        row.get("ntlmssp.version.build_number"),
    ) {
        out.insert(fact(src, Attribute::Os, &os, Source::Ntlmssp));
    }
    // "SAS1<20>": the name before the suffix.
    let netbios = |v: &str| v.split('<').next().unwrap_or("").trim_end().to_owned();
    if let Some(called) = row.text("nbss.called_name") {
        let name = netbios(called);
        if !name.starts_with('*') {
            out.insert(fact(dst, Attribute::Hostname, &name, Source::Smb));
        }
    }
    if let Some(calling) = row.text("nbss.calling_name") {
        out.insert(fact(
            src,
            Attribute::Hostname,
            &netbios(calling),
            Source::Smb,
        ));
    }
    out
}

#[test]
fn smb_and_ntlmssp_facts_match_tshark_frame_by_frame() {
    const CAPTURES: [&str; 7] = [
        "smb/ndpi_smbv1.pcap",
        "smb/zeek_smb1.pcap",
        "smb/zeek_smb2readwrite.pcap",
        "smb/zeek_smb311.pcap",
        "iec61850-mms/Sample_File_MMS_and_GOOSE.pcap",
        "hart-ip/iti_hart_ip.pcapng",
        "nbns/ndpi_netbios.pcapng",
    ];
    let (mut frames, mut values) = (0, 0);
    let mut seen = BTreeSet::new();
    for relative in CAPTURES {
        let Some((f, v)) = compare(
            relative,
            &[Source::Smb, Source::Ntlmssp],
            "(smb || smb2 || nbss.type == 0x81) && tcp",
            &SMB_FIELDS,
            smb_expected,
            &mut seen,
        ) else {
            return;
        };
        frames += f;
        values += v;
    }
    println!("compared {values} values in {frames} SMB frames: {seen:#?}");
    assert!(frames >= 100, "only {frames} frames compared");
    for value in [
        "Os Windows 7 Ultimate 7601 Service Pack 1",
        "Os Windows 2000 2195",
        "Software Windows 2000 LAN Manager",
        "Domain WORKGROUP",
        "Hostname JOHN-PC",
        "Service smb 3.1.1",
        "Finding smb_v1",
        "Hostname AD.foo.test",
        "Domain foo.test",
        "Os Windows 10.0 build 14393",
        "Os Windows 5.2 build 3790",
        "Hostname DEMO",
        "Hostname SAS1",
        "Hostname ROSFHQ07WS004",
        "Hostname IBIFHQ11WS023",
    ] {
        assert!(seen.contains(value), "{value} never compared: {seen:#?}");
    }
}

#[test]
fn mqtt_facts_match_tshark_frame_by_frame() {
    const CAPTURES: [&str; 3] = [
        "mqtt/suricata_mqtt311-pub-qos1.pcap",
        "mqtt/suricata_mqtt5-pub-mosquittoprops.pcap",
        "mqtt/zeek_mqtt.pcap",
    ];
    const FIELDS: [&str; 12] = [
        "ip.src",
        "ipv6.src",
        "ip.dst",
        "ipv6.dst",
        "tcp.stream",
        "mqtt.msgtype",
        "mqtt.ver",
        "mqtt.clientid",
        "mqtt.conflag.uname",
        "mqtt.conflag.passwd",
        "mqtt.conack.val",
        "mqtt.connack.reason_code",
    ];
    let (mut frames, mut values) = (0, 0);
    let mut seen = BTreeSet::new();
    for relative in CAPTURES {
        // Per TCP stream: the CONNECT's version and whether it had no credentials.
        let mut connects: BTreeMap<String, (String, bool)> = BTreeMap::new();
        let expect = |row: &Row<'_>| {
            let mut out = Expected::new();
            let (src, dst) = (row.src(), row.dst());
            let stream = row.get("tcp.stream").to_owned();
            let types: Vec<&str> = row.get("mqtt.msgtype").split(',').collect();
            let broker = |out: &mut Expected, broker: DeviceKey| {
                out.insert(fact(
                    broker,
                    Attribute::Service,
                    "mqtt-broker",
                    Source::Mqtt,
                ));
                let clear = Finding::MqttCleartext.as_str();
                out.insert(fact(broker, Attribute::Finding, clear, Source::Mqtt));
            };
            if types.contains(&"1") {
                if let Some(id) = row.text("mqtt.clientid") {
                    out.insert(fact(src, Attribute::ClientId, id, Source::Mqtt));
                }
                broker(&mut out, dst);
                let anonymous =
                    row.get("mqtt.conflag.uname") == "0" && row.get("mqtt.conflag.passwd") == "0";
                connects.insert(stream.clone(), (row.get("mqtt.ver").to_owned(), anonymous));
            }
            if types.contains(&"2") {
                broker(&mut out, src);
                let code = [
                    row.get("mqtt.conack.val"),
                    row.get("mqtt.connack.reason_code"),
                ]
                .into_iter()
                .find(|v| !v.is_empty())
                .unwrap_or("");
                if let (Some((version, anonymous)), "0") = (connects.get(&stream), code) {
                    let service = match version.as_str() {
                        "3" => "mqtt 3.1",
                        "4" => "mqtt 3.1.1",
                        "5" => "mqtt 5.0",
                        other => panic!("MQTT version {other}"),
                    };
                    out.insert(fact(src, Attribute::Service, service, Source::Mqtt));
                    if *anonymous {
                        let finding = Finding::MqttWithoutAuthentication.as_str();
                        out.insert(fact(src, Attribute::Finding, finding, Source::Mqtt));
                        out.insert(fact(dst, Attribute::Finding, finding, Source::Mqtt));
                    }
                }
            }
            out
        };
        let Some((f, v)) = compare(
            relative,
            &[Source::Mqtt],
            "mqtt",
            &FIELDS,
            expect,
            &mut seen,
        ) else {
            return;
        };
        frames += f;
        values += v;
    }
    println!("compared {values} values in {frames} MQTT frames: {seen:#?}");
    assert!(frames >= 25, "only {frames} frames compared");
    for value in [
        "ClientId paho/34AAE54A75D839566E",
        "ClientId paho/DDE4DDAF4108D3E363",
        "ClientId myvoiceismypassport",
        "Service mqtt 3.1",
        "Service mqtt 3.1.1",
        "Service mqtt 5.0",
        "Finding mqtt_without_authentication",
        "Finding mqtt_cleartext",
    ] {
        assert!(seen.contains(value), "{value} never compared: {seen:#?}");
    }
}

#[test]
fn rfb_facts_match_tshark_frame_by_frame() {
    const FIELDS: [&str; 10] = [
        "ip.src",
        "ipv6.src",
        "ip.dst",
        "ipv6.dst",
        "vnc.server_proto_ver",
        "vnc.client_proto_ver",
        "vnc.security_type",
        "vnc.desktop_name_len",
        "vnc.desktop_name",
        "tcp.payload",
    ];
    let mut apple_names = 0;
    let expect = |row: &Row<'_>| {
        let mut out = Expected::new();
        let src = row.src();
        if let Some(v) = row.text("vnc.server_proto_ver") {
            let mut software = format!("RFB {v}");
            if v == "003.889" {
                software.push_str(" (Apple Remote Desktop / macOS Screen Sharing)");
            }
            out.insert(fact(src, Attribute::Software, &software, Source::Rfb));
        }
        if let Some(v) = row.text("vnc.client_proto_ver") {
            out.insert(fact(
                src,
                Attribute::UserAgent,
                &format!("RFB {v}"),
                Source::Rfb,
            ));
        }
        if let Some(types) = row.text("vnc.security_type") {
            let names: Vec<String> = types
                .split(',')
                .map(|t| match t {
                    "1" => "none".to_owned(),
                    "2" => "vnc-auth".to_owned(),
                    "30" => "ard".to_owned(),
                    other => format!("type-{other}"),
                })
                .collect();
            let service = format!("vnc (security: {})", names.join(", "));
            out.insert(fact(src, Attribute::Service, &service, Source::Rfb));
            if types.split(',').any(|t| t == "1") {
                let finding = Finding::VncWithoutAuthentication.as_str();
                out.insert(fact(src, Attribute::Finding, finding, Source::Rfb));
            }
        }
        if row.text("vnc.desktop_name_len").is_some() {
            let name = match row.text("vnc.desktop_name") {
                Some(name) => name.to_owned(),
                None => {
                    // Apple's prefixed name (see the module documentation): the ServerInit's
                    // name field, after its last NUL.
                    let payload = hex(row.get("tcp.payload"));
                    let name = &payload[24..];
                    let start = name.iter().rposition(|&b| b == 0).map_or(0, |i| i + 1);
                    apple_names += 1;
                    String::from_utf8(name[start..].to_vec()).unwrap()
                }
            };
            out.insert(fact(src, Attribute::Description, &name, Source::Rfb));
        }
        out
    };
    let mut seen = BTreeSet::new();
    let Some((frames, values)) = compare(
        "rfb/zeek_vncmac.pcap",
        &[Source::Rfb],
        "vnc",
        &FIELDS,
        expect,
        &mut seen,
    ) else {
        return;
    };
    println!("compared {values} values in {frames} RFB frames: {seen:#?}");
    assert!(frames >= 15, "only {frames} frames compared");
    assert_eq!(apple_names, 1);
    for value in [
        "Software RFB 003.889 (Apple Remote Desktop / macOS Screen Sharing)",
        "UserAgent RFB 003.889",
        "Service vnc (security: ard, type-35)",
        "Description MacMini SSD",
    ] {
        assert!(seen.contains(value), "{value} never compared: {seen:#?}");
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}
