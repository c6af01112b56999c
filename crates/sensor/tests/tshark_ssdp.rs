//! SSDP facts compared with tshark, frame by frame.
//!
//! tshark dissects SSDP with its HTTP dissector: `http.server`, `http.location` and
//! `http.user_agent` are the `SERVER`, `LOCATION` and `USER-AGENT` headers, and
//! `http.request.line` / `http.response.line` list every header line (`NT`, `ST`, `USN`). For
//! every frame tshark calls `ssdp`, the facts Ironward's SSDP dissector reported for that frame
//! (or for an earlier frame: a repeated fact is reported once) must be exactly those the
//! headers tshark read call for, and no other frame may produce SSDP facts.
//!
//! The shared captures carry only searches (M-SEARCH without `USER-AGENT`, which describe
//! nothing); announcements and search answers are covered by a capture written at test time
//! from realistic messages (a Sonos player, a router running MiniUPnPd, Chrome and Windows
//! searching, an IPv6 announcer) and read by tshark the same way.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeSet, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use ironward_model::{Attribute, DeviceKey, Source};
use ironward_sensor::capture::{PcapConfig, PcapWriter};
use ironward_wire::build::{self, Ip, L4};
use ironward_wire::ethernet::{self, EtherType};
use ironward_wire::{ipv4, ipv6, udp, IpProtocol, MacAddr};

/// Shared captures in which tshark finds SSDP.
const CAPTURES: [&str; 4] = [
    "ssdp/zeek_home-multicast-short.pcap",
    "iot-mixed/ndpi_android.pcap",
    "nbns/tcpdump_eapon1.pcap",
    "profinet/icsnpp_profinet_io_cm_mixed_1.pcap",
];

/// Separates several occurrences of one field in tshark's output (never in SSDP headers).
const AGGREGATOR: &str = "\u{1f}";

/// What one comparison covered.
#[derive(Debug, Default)]
struct Coverage {
    frames: usize,
    values: usize,
    by_attribute: BTreeSet<&'static str>,
}

/// The facts the SSDP rules call for, from the headers tshark read in one frame.
fn expected_from_tshark(fields: &[String]) -> Vec<(Attribute, String)> {
    let [_src, _src6, protocols, method, code, server, location, agent, request_lines, response_lines, unknown_headers] =
        fields
    else {
        panic!("unexpected tshark fields {fields:?}");
    };
    assert!(
        protocols.split(':').any(|p| p == "ssdp"),
        "tshark's protocol stack names ssdp: {protocols}"
    );
    let lines: Vec<(String, String)> = [request_lines, response_lines, unknown_headers]
        .iter()
        .flat_map(|joined| joined.split(AGGREGATOR))
        .filter_map(|line| {
            let line = line.strip_suffix("\\r\\n").unwrap_or(line);
            let (name, value) = line.split_once(':')?;
            Some((name.trim().to_ascii_uppercase(), value.trim().to_owned()))
        })
        .collect();
    let header = |name: &str| {
        lines
            .iter()
            .find(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.clone())
    };
    let mut expected = Vec::new();
    let mut push = |attribute, value: &str| {
        if !value.is_empty() {
            expected.push((attribute, value.to_owned()));
        }
    };
    if method == "M-SEARCH" {
        push(Attribute::UserAgent, agent);
        return expected;
    }
    let describes = method == "NOTIFY" || code == "200";
    if !describes {
        return expected;
    }
    push(Attribute::Software, server);
    let target = header("NT").or_else(|| header("ST")).unwrap_or_default();
    if target.to_ascii_lowercase().starts_with("urn:")
        && (target.contains(":device:") || target.contains(":service:"))
    {
        push(Attribute::Service, &target);
    }
    if let Some(usn) = header("USN") {
        if usn.to_ascii_lowercase().starts_with("uuid:") {
            let uuid = usn.split("::").next().unwrap_or_default();
            if uuid.len() > 5 {
                push(Attribute::ClientId, uuid);
            }
        }
    }
    push(Attribute::Url, location);
    expected
}

/// tshark's fields for every frame matching `filter`, several occurrences of a field joined by
/// [`AGGREGATOR`]: (frame number, one string per field).
fn tshark_fields(path: &str, filter: &str, fields: &[&str]) -> Vec<(u64, Vec<String>)> {
    let mut args = vec![
        "-r",
        path,
        "-Y",
        filter,
        "-T",
        "fields",
        "-E",
        "occurrence=a",
        "-E",
    ];
    let aggregator = format!("aggregator={AGGREGATOR}");
    args.push(&aggregator);
    args.extend(["-e", "frame.number"]);
    for field in fields {
        args.extend(["-e", field]);
    }
    common::tshark(&args)
        .lines()
        .filter_map(|line| {
            let mut parts = line.split('\t');
            let frame = parts.next()?.trim().parse().ok()?;
            Some((frame, parts.map(str::to_owned).collect()))
        })
        .collect()
}

/// Whitespace collapsed, as Ironward cleans fact values.
fn normalize(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Compares Ironward's SSDP facts with tshark's headers for every SSDP frame of `path`.
fn compare(path: &Path) -> Coverage {
    let path_str = path.to_str().unwrap();
    let tshark_frames = tshark_fields(
        path_str,
        "ssdp",
        &[
            "ip.src",
            "ipv6.src",
            "frame.protocols",
            "http.request.method",
            "http.response.code",
            "http.server",
            "http.location",
            "http.user_agent",
            "http.request.line",
            "http.response.line",
            "http.unknown_header",
        ],
    );
    let facts: Vec<_> = common::fact_log(path)
        .into_iter()
        .filter(|(_, fact)| fact.source == Source::Ssdp)
        .collect();
    let ssdp_frames: HashSet<u64> = tshark_frames.iter().map(|(frame, _)| *frame).collect();
    for (frame, fact) in &facts {
        assert!(
            ssdp_frames.contains(frame),
            "{}: frame {frame} produced an SSDP fact tshark does not see as SSDP: {fact:?}",
            path.display()
        );
    }
    // Facts already reported (a repeat is not reported again).
    let mut reported: HashSet<(DeviceKey, Attribute, String)> = HashSet::new();
    let mut coverage = Coverage::default();
    for (frame, fields) in &tshark_frames {
        let src = if fields[0].is_empty() {
            &fields[1]
        } else {
            &fields[0]
        };
        let subject = DeviceKey::Ip(src.parse::<IpAddr>().expect("source address"));
        let mut ours: Vec<(Attribute, String)> = facts
            .iter()
            .filter(|(f, _)| f == frame)
            .map(|(_, fact)| {
                assert_eq!(
                    fact.subject, subject,
                    "frame {frame}: subject is the sender"
                );
                (fact.attribute, fact.value.to_string())
            })
            .collect();
        let mut expected = expected_from_tshark(fields);
        for (attribute, value) in &mut expected {
            *value = normalize(value);
            if reported.contains(&(subject, *attribute, value.clone())) {
                // Reported for an earlier frame: it must not be repeated here.
                assert!(
                    !ours.iter().any(|(a, v)| a == attribute && v == value),
                    "frame {frame}: {attribute:?} {value} repeated"
                );
                ours.push((*attribute, value.clone()));
            }
        }
        expected.sort();
        ours.sort();
        assert_eq!(
            ours,
            expected,
            "{} frame {frame}: Ironward's SSDP facts against tshark's headers {fields:?}",
            path.display()
        );
        for (attribute, value) in expected {
            coverage.by_attribute.insert(attribute.as_str());
            reported.insert((subject, attribute, value));
            coverage.values += 1;
        }
        coverage.frames += 1;
    }
    coverage
}

#[test]
fn shared_captures_agree_with_tshark() {
    let mut frames = 0;
    for relative in CAPTURES {
        let Some(path) = common::shared_capture(relative) else {
            return;
        };
        let coverage = compare(&path);
        eprintln!(
            "{relative}: {} SSDP frames, {} values",
            coverage.frames, coverage.values
        );
        assert!(coverage.frames > 0, "{relative}: tshark saw SSDP");
        frames += coverage.frames;
    }
    // Only searches without USER-AGENT in the shared data: 30 frames that describe nothing.
    assert_eq!(frames, 30);
}

/// A written capture's frames: Ethernet/IPv4 or IPv6/UDP datagrams.
struct Writer {
    frames: Vec<Vec<u8>>,
}

impl Writer {
    fn v4(&mut self, from: ([u8; 4], u16), to: ([u8; 4], u16), payload: &[u8]) {
        let dst_mac = if to.0[0] >= 224 {
            MacAddr([0x01, 0x00, 0x5e, to.0[1] & 0x7f, to.0[2], to.0[3]])
        } else {
            MacAddr([0x02, 0, 0, 0, 0, to.0[3]])
        };
        let eth = ethernet::Repr {
            src_addr: MacAddr([0x02, 0, 0, 0, 0, from.0[3]]),
            dst_addr: dst_mac,
            vlan: None,
            ethertype: EtherType::IPV4,
        };
        let ip = ipv4::Repr {
            src_addr: Ipv4Addr::from(from.0),
            dst_addr: Ipv4Addr::from(to.0),
            protocol: IpProtocol::UDP,
            payload_len: 0,
            ttl: if to.0[0] >= 224 { 4 } else { 64 },
            tos: 0,
            identification: self.frames.len() as u16,
            dont_fragment: false,
            more_fragments: false,
            fragment_offset: 0,
        };
        let datagram = udp::Repr {
            src_port: from.1,
            dst_port: to.1,
            payload,
        };
        self.frames
            .push(build::frame(&eth, &Ip::V4(ip), &L4::Udp(datagram)).unwrap());
    }

    fn v6(&mut self, from: (Ipv6Addr, u16), to: (Ipv6Addr, u16), payload: &[u8]) {
        let eth = ethernet::Repr {
            src_addr: MacAddr([0x02, 0, 0, 0, 0, 0x66]),
            dst_addr: MacAddr([0x33, 0x33, 0, 0, 0, 0x0c]),
            vlan: None,
            ethertype: EtherType::IPV6,
        };
        let ip = ipv6::Repr {
            src_addr: from.0,
            dst_addr: to.0,
            next_header: IpProtocol::UDP,
            payload_len: 0,
            hop_limit: 2,
            traffic_class: 0,
            flow_label: 0,
        };
        let datagram = udp::Repr {
            src_port: from.1,
            dst_port: to.1,
            payload,
        };
        self.frames
            .push(build::frame(&eth, &Ip::V6(ip), &L4::Udp(datagram)).unwrap());
    }

    fn write(&self, path: &Path) {
        let file = std::fs::File::create(path).unwrap();
        let mut pcap =
            PcapWriter::new(std::io::BufWriter::new(file), PcapConfig::default()).unwrap();
        for (i, frame) in self.frames.iter().enumerate() {
            let at = 1_709_633_564_000_000_000 + i as i64 * 250_000_000;
            pcap.write_frame(at, frame, frame.len() as u32).unwrap();
        }
        pcap.flush().unwrap();
    }
}

const GROUP: ([u8; 4], u16) = ([239, 255, 255, 250], 1900);
const SONOS: [u8; 4] = [192, 168, 1, 20];
const ROUTER: [u8; 4] = [192, 168, 1, 1];
const LAPTOP: [u8; 4] = [192, 168, 1, 50];

const SONOS_ROOT: &[u8] = b"NOTIFY * HTTP/1.1\r\n\
HOST: 239.255.255.250:1900\r\n\
CACHE-CONTROL: max-age = 1800\r\n\
LOCATION: http://192.168.1.20:1400/xml/device_description.xml\r\n\
NT: upnp:rootdevice\r\n\
NTS: ssdp:alive\r\n\
SERVER: Linux UPnP/1.0 Sonos/70.3-35220 (ZPS12)\r\n\
USN: uuid:RINCON_5CAAFD12345601400::upnp:rootdevice\r\n\
X-RINCON-HOUSEHOLD: Sonos_abcdefghijklmnopqrstuvwx\r\n\
X-RINCON-BOOTSEQ: 88\r\n\
BOOTID.UPNP.ORG: 88\r\n\
X-RINCON-WIFIMODE: 0\r\n\
X-RINCON-VARIANT: 1\r\n\
\r\n";

const SONOS_TYPE: &[u8] = b"NOTIFY * HTTP/1.1\r\n\
HOST: 239.255.255.250:1900\r\n\
CACHE-CONTROL: max-age = 1800\r\n\
LOCATION: http://192.168.1.20:1400/xml/device_description.xml\r\n\
NT: urn:schemas-upnp-org:device:ZonePlayer:1\r\n\
NTS: ssdp:alive\r\n\
SERVER: Linux UPnP/1.0 Sonos/70.3-35220 (ZPS12)\r\n\
USN: uuid:RINCON_5CAAFD12345601400::urn:schemas-upnp-org:device:ZonePlayer:1\r\n\
\r\n";

const CHROME_SEARCH: &[u8] = b"M-SEARCH * HTTP/1.1\r\n\
HOST: 239.255.255.250:1900\r\n\
MAN: \"ssdp:discover\"\r\n\
MX: 1\r\n\
ST: urn:dial-multiscreen-org:service:dial:1\r\n\
USER-AGENT: Google Chrome/120.0.6099.130 Windows\r\n\
\r\n";

const WINDOWS_SEARCH: &[u8] = b"M-SEARCH * HTTP/1.1\r\n\
Host:239.255.255.250:1900\r\n\
ST:urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\
Man:\"ssdp:discover\"\r\n\
MX:3\r\n\
USER-AGENT: Microsoft-Windows/10.0 UPnP/1.0\r\n\
\r\n";

const ROUTER_ANSWER: &[u8] = b"HTTP/1.1 200 OK\r\n\
CACHE-CONTROL: max-age=120\r\n\
ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\
USN: uuid:824ff22b-8c7d-41c5-a131-44f534e12e3a::urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\
EXT:\r\n\
SERVER: AsusWRT/386 UPnP/1.1 MiniUPnPd/2.3.0\r\n\
LOCATION: http://192.168.1.1:50561/rootDesc.xml\r\n\
OPT: \"http://schemas.upnp.org/upnp/1/0/\"; ns=01\r\n\
01-NLS: 1709633564\r\n\
BOOTID.UPNP.ORG: 1709633564\r\n\
CONFIGID.UPNP.ORG: 1337\r\n\
\r\n";

const ROUTER_BYEBYE: &[u8] = b"NOTIFY * HTTP/1.1\r\n\
HOST: 239.255.255.250:1900\r\n\
NT: urn:schemas-upnp-org:service:WANIPConnection:1\r\n\
USN: uuid:824ff22b-8c7d-41c5-a131-44f534e12e3c::urn:schemas-upnp-org:service:WANIPConnection:1\r\n\
NTS: ssdp:byebye\r\n\
\r\n";

const V6_NOTIFY: &[u8] = b"NOTIFY * HTTP/1.1\r\n\
HOST: [FF02::C]:1900\r\n\
CACHE-CONTROL: max-age=1800\r\n\
LOCATION: http://[fe80::211:32ff:fe12:3456]:5000/rootDesc.xml\r\n\
NT: urn:schemas-upnp-org:device:MediaServer:1\r\n\
NTS: ssdp:alive\r\n\
SERVER: Linux/4.4.59+ UPnP/1.0 Synology/DSM\r\n\
USN: uuid:73796E6F-6473-6D00-0000-0011321234560::urn:schemas-upnp-org:device:MediaServer:1\r\n\
\r\n";

#[test]
fn announcements_and_answers_agree_with_tshark() {
    let Some(_) = common::shared_capture(CAPTURES[0]) else {
        return;
    };
    let mut writer = Writer { frames: Vec::new() };
    writer.v4((SONOS, 1900), GROUP, SONOS_ROOT);
    writer.v4((SONOS, 1900), GROUP, SONOS_TYPE);
    writer.v4((LAPTOP, 53211), GROUP, CHROME_SEARCH);
    writer.v4((ROUTER, 1900), (LAPTOP, 53211), ROUTER_ANSWER);
    writer.v4((LAPTOP, 49734), GROUP, WINDOWS_SEARCH);
    writer.v4((ROUTER, 1900), GROUP, ROUTER_BYEBYE);
    let v6_source: Ipv6Addr = "fe80::211:32ff:fe12:3456".parse().unwrap();
    writer.v6(
        (v6_source, 1900),
        ("ff02::c".parse().unwrap(), 1900),
        V6_NOTIFY,
    );
    // The same announcement again: nothing new.
    writer.v4((SONOS, 1900), GROUP, SONOS_ROOT);
    // Not SSDP: a datagram to port 1900 that is no SSDP message.
    writer.v4((LAPTOP, 40000), (ROUTER, 1900), b"\x00\x01\x02\x03");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ssdp-announcements.pcap");
    writer.write(&path);

    let coverage = compare(&path);
    eprintln!(
        "written capture: {} SSDP frames, {} values ({:?})",
        coverage.frames, coverage.values, coverage.by_attribute
    );
    assert_eq!(coverage.frames, 8);
    assert_eq!(coverage.values, 22);
    assert_eq!(
        coverage.by_attribute.into_iter().collect::<Vec<_>>(),
        ["client_id", "service", "software", "url", "user_agent"]
    );
    // And the values themselves, on the right devices.
    let facts = common::fact_log(&path);
    let has = |ip: IpAddr, attribute: Attribute, value: &str| {
        facts.iter().any(|(_, f)| {
            f.subject == DeviceKey::Ip(ip) && f.attribute == attribute && f.value == value
        })
    };
    let v4 = |a: [u8; 4]| IpAddr::from(a);
    assert!(has(
        v4(SONOS),
        Attribute::Software,
        "Linux UPnP/1.0 Sonos/70.3-35220 (ZPS12)"
    ));
    assert!(has(
        v4(SONOS),
        Attribute::ClientId,
        "uuid:RINCON_5CAAFD12345601400"
    ));
    assert!(has(
        v4(SONOS),
        Attribute::Service,
        "urn:schemas-upnp-org:device:ZonePlayer:1"
    ));
    assert!(has(
        v4(LAPTOP),
        Attribute::UserAgent,
        "Google Chrome/120.0.6099.130 Windows"
    ));
    assert!(has(
        v4(LAPTOP),
        Attribute::UserAgent,
        "Microsoft-Windows/10.0 UPnP/1.0"
    ));
    assert!(has(
        v4(ROUTER),
        Attribute::Software,
        "AsusWRT/386 UPnP/1.1 MiniUPnPd/2.3.0"
    ));
    assert!(has(
        v4(ROUTER),
        Attribute::Url,
        "http://192.168.1.1:50561/rootDesc.xml"
    ));
    assert!(has(
        IpAddr::V6(v6_source),
        Attribute::Software,
        "Linux/4.4.59+ UPnP/1.0 Synology/DSM"
    ));
    assert!(!facts.iter().any(|(_, f)| f.value == "upnp:rootdevice"));
}
