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
//!
//! RTSP and SIP, which have no shared captures, are compared the same way on sessions written
//! at test time: a recorder and a camera (Basic challenge, credentials, SDP body), FFmpeg and a
//! GStreamer server on port 8554; a Cisco phone registering with CUCM over UDP, a request
//! forwarded by a proxy, a Polycom phone and Asterisk over TCP. A UPnP description fetched over
//! HTTP (through the HTTP dissector, which hands the body to `upnp::description_facts`) is
//! compared with the elements of tshark's XML dissector.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeSet, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use ironward_model::{Attribute, DeviceKey, Source};
use ironward_sensor::capture::{PcapConfig, PcapWriter};
use ironward_wire::build::{self, Ip, L4};
use ironward_wire::ethernet::{self, EtherType};
use ironward_wire::{ipv4, ipv6, tcp, udp, IpProtocol, MacAddr};

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
    let tshark_frames = tshark_fields(
        path.to_str().unwrap(),
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
    let expected = tshark_frames
        .iter()
        .map(|(frame, fields)| {
            let src = if fields[0].is_empty() {
                &fields[1]
            } else {
                &fields[0]
            };
            let subject = DeviceKey::Ip(src.parse::<IpAddr>().expect("source address"));
            let facts = expected_from_tshark(fields)
                .into_iter()
                .map(|(attribute, value)| (subject, attribute, value))
                .collect();
            (*frame, facts)
        })
        .collect();
    check_frames(path, Source::Ssdp, expected)
}

/// A fact as compared: about whom, what, which value.
type Said = (DeviceKey, Attribute, String);

/// Checks, frame by frame, that the facts of `source` Ironward reported for `path` are exactly
/// the `expected` ones (a fact reported for an earlier frame is not reported again), and that
/// no other frame produced facts of that source.
fn check_frames(path: &Path, source: Source, expected: Vec<(u64, Vec<Said>)>) -> Coverage {
    let facts: Vec<_> = common::fact_log(path)
        .into_iter()
        .filter(|(_, fact)| fact.source == source)
        .collect();
    let frames: HashSet<u64> = expected.iter().map(|(frame, _)| *frame).collect();
    for (frame, fact) in &facts {
        assert!(
            frames.contains(frame),
            "{}: frame {frame} produced a fact tshark gives no reason for: {fact:?}",
            path.display()
        );
    }
    let mut reported: HashSet<Said> = HashSet::new();
    let mut coverage = Coverage::default();
    for (frame, mut expected) in expected {
        let mut ours: Vec<Said> = facts
            .iter()
            .filter(|(f, _)| *f == frame)
            .map(|(_, fact)| (fact.subject, fact.attribute, fact.value.to_string()))
            .collect();
        for said in &mut expected {
            said.2 = normalize(&said.2);
            if reported.contains(said) {
                assert!(!ours.contains(said), "frame {frame}: {said:?} repeated");
                ours.push(said.clone());
            }
        }
        expected.sort();
        expected.dedup();
        ours.sort();
        assert_eq!(
            ours,
            expected,
            "{} frame {frame}: Ironward's {} facts against tshark's",
            path.display(),
            source.as_str()
        );
        for said in expected {
            coverage.by_attribute.insert(said.1.as_str());
            reported.insert(said);
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

    fn tcp_segment(
        &mut self,
        from: ([u8; 4], u16),
        to: ([u8; 4], u16),
        seq: u32,
        ack: u32,
        flags: u8,
        payload: &[u8],
    ) {
        let eth = ethernet::Repr {
            src_addr: MacAddr([0x02, 0, 0, 0, 0, from.0[3]]),
            dst_addr: MacAddr([0x02, 0, 0, 0, 0, to.0[3]]),
            vlan: None,
            ethertype: EtherType::IPV4,
        };
        let ip = ipv4::Repr {
            src_addr: Ipv4Addr::from(from.0),
            dst_addr: Ipv4Addr::from(to.0),
            protocol: IpProtocol::TCP,
            payload_len: 0,
            ttl: 64,
            tos: 0,
            identification: self.frames.len() as u16,
            dont_fragment: true,
            more_fragments: false,
            fragment_offset: 0,
        };
        let syn = flags & tcp::flags::SYN != 0;
        let segment = tcp::Repr {
            src_port: from.1,
            dst_port: to.1,
            seq,
            ack,
            flags,
            window: 64_240,
            urgent: 0,
            mss: syn.then_some(1460),
            window_scale: None,
            sack_permitted: false,
            timestamps: None,
            payload,
        };
        self.frames
            .push(build::frame(&eth, &Ip::V4(ip), &L4::Tcp(segment)).unwrap());
    }

    /// A whole TCP session: handshake, one segment per message in `exchanges` (request, then
    /// the server's answers), orderly close.
    fn tcp_session(
        &mut self,
        client: ([u8; 4], u16),
        server: ([u8; 4], u16),
        exchanges: &[(&[u8], &[&[u8]])],
    ) {
        use tcp::flags::{ACK, FIN, PSH, SYN};
        let (mut c, mut s) = (0x1000_0000u32, 0x7000_0000u32);
        self.tcp_segment(client, server, c, 0, SYN, &[]);
        self.tcp_segment(server, client, s, c + 1, SYN | ACK, &[]);
        c += 1;
        s += 1;
        self.tcp_segment(client, server, c, s, ACK, &[]);
        for (request, answers) in exchanges {
            self.tcp_segment(client, server, c, s, PSH | ACK, request);
            c += request.len() as u32;
            for answer in *answers {
                self.tcp_segment(server, client, s, c, PSH | ACK, answer);
                s += answer.len() as u32;
            }
        }
        self.tcp_segment(client, server, c, s, FIN | ACK, &[]);
        self.tcp_segment(server, client, s, c + 1, FIN | ACK, &[]);
        self.tcp_segment(client, server, c + 1, s + 1, ACK, &[]);
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

// RTSP and SIP have no shared captures: sessions written at test time from realistic messages
// are read by tshark and by Ironward (through TCP reassembly and the whole registry, so that no
// other dissector takes these flows), and compared frame by frame.

const CAMERA: [u8; 4] = [192, 168, 1, 64];
const RECORDER: [u8; 4] = [192, 168, 1, 100];

const RTSP_OPTIONS: &[u8] = b"OPTIONS rtsp://192.168.1.64:554/Streaming/Channels/101 RTSP/1.0\r\n\
CSeq: 2\r\n\
User-Agent: LibVLC/3.0.18 (LIVE555 Streaming Media v2016.11.28)\r\n\
\r\n";

const RTSP_OPTIONS_OK: &[u8] = b"RTSP/1.0 200 OK\r\n\
CSeq: 2\r\n\
Public: OPTIONS, DESCRIBE, PLAY, PAUSE, SETUP, TEARDOWN, SET_PARAMETER, GET_PARAMETER\r\n\
Date:  Tue, Mar 05 2024 10:12:44 GMT\r\n\
\r\n";

const RTSP_DESCRIBE: &[u8] =
    b"DESCRIBE rtsp://192.168.1.64:554/Streaming/Channels/101 RTSP/1.0\r\n\
CSeq: 3\r\n\
User-Agent: LibVLC/3.0.18 (LIVE555 Streaming Media v2016.11.28)\r\n\
Accept: application/sdp\r\n\
\r\n";

const RTSP_CHALLENGE: &[u8] = b"RTSP/1.0 401 Unauthorized\r\n\
CSeq: 3\r\n\
WWW-Authenticate: Digest realm=\"IP Camera(C6496)\", nonce=\"a5ae3c1c8b4d9f3e\", stale=\"FALSE\"\r\n\
WWW-Authenticate: Basic realm=\"IP Camera(C6496)\"\r\n\
Date:  Tue, Mar 05 2024 10:12:44 GMT\r\n\
\r\n";

const RTSP_DESCRIBE_AUTH: &[u8] =
    b"DESCRIBE rtsp://192.168.1.64:554/Streaming/Channels/101 RTSP/1.0\r\n\
CSeq: 4\r\n\
Authorization: Basic YWRtaW46MTIzNDU=\r\n\
User-Agent: LibVLC/3.0.18 (LIVE555 Streaming Media v2016.11.28)\r\n\
Accept: application/sdp\r\n\
\r\n";

const RTSP_SDP: &[u8] = b"RTSP/1.0 200 OK\r\n\
CSeq: 4\r\n\
Server: Hikvision/V4.30.005\r\n\
Content-Base: rtsp://192.168.1.64:554/Streaming/Channels/101/\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 134\r\n\
\r\n\
v=0\r\n\
o=- 1109162014219182 1109162014219192 IN IP4 192.168.1.64\r\n\
s=Media Presentation\r\n\
e=NONE\r\n\
b=AS:5050\r\n\
t=0 0\r\n\
m=video 0 RTP/AVP 96\r\n";

const RTSP_FFMPEG: &[u8] = b"OPTIONS rtsp://192.168.1.64:8554/live RTSP/1.0\r\n\
CSeq: 1\r\n\
User-Agent: Lavf60.16.100\r\n\
\r\n";

const RTSP_GSTREAMER: &[u8] = b"RTSP/1.0 200 OK\r\n\
CSeq: 1\r\n\
Public: OPTIONS, DESCRIBE, ANNOUNCE, GET_PARAMETER, PAUSE, PLAY, RECORD, SETUP, SET_PARAMETER, TEARDOWN\r\n\
Server: GStreamer RTSP server\r\n\
Date: Tue, 05 Mar 2024 10:12:45 GMT\r\n\
\r\n";

/// One frame's RTSP message as tshark shows it: frame number, whether it is a request, and its
/// header lines (lower-case name, value).
type RtspHead = (u64, bool, Vec<(String, String)>);

/// The header lines of each frame's RTSP message as tshark shows them (`-V`): frame number →
/// (`Request`/`Response` line, headers).
fn tshark_rtsp_heads(path: &Path) -> Vec<RtspHead> {
    let text = common::tshark(&[
        "-r",
        path.to_str().unwrap(),
        "-Y",
        "rtsp",
        "-V",
        "-O",
        "rtsp",
    ]);
    let mut frames = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Frame ") {
            let number = rest.split(':').next().unwrap().parse().unwrap();
            frames.push((number, false, Vec::new()));
            continue;
        }
        let Some((_, is_request, headers)) = frames.last_mut() else {
            continue;
        };
        let Some(line) = line
            .strip_prefix("    ")
            .and_then(|l| l.strip_suffix("\\r\\n"))
        else {
            continue;
        };
        if line.starts_with(' ') {
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if name == "Request" {
            *is_request = true;
        }
        headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
    }
    frames
}

#[test]
fn rtsp_sessions_agree_with_tshark() {
    let Some(_) = common::shared_capture(CAPTURES[0]) else {
        return;
    };
    let mut writer = Writer { frames: Vec::new() };
    writer.tcp_session(
        (RECORDER, 50123),
        (CAMERA, 554),
        &[
            (RTSP_OPTIONS, &[RTSP_OPTIONS_OK]),
            (RTSP_DESCRIBE, &[RTSP_CHALLENGE]),
            (RTSP_DESCRIBE_AUTH, &[RTSP_SDP]),
        ],
    );
    writer.tcp_session(
        (LAPTOP, 50200),
        (CAMERA, 8554),
        &[(RTSP_FFMPEG, &[RTSP_GSTREAMER])],
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rtsp.pcap");
    writer.write(&path);

    let heads = tshark_rtsp_heads(&path);
    let addresses = tshark_fields(path.to_str().unwrap(), "rtsp", &["ip.src", "ip.dst"]);
    let expected = heads
        .iter()
        .map(|(frame, is_request, headers)| {
            let (_, ips) = addresses.iter().find(|(f, _)| f == frame).unwrap();
            let src = DeviceKey::Ip(ips[0].parse().unwrap());
            let dst = DeviceKey::Ip(ips[1].parse().unwrap());
            let basic = |name: &str| {
                headers
                    .iter()
                    .any(|(n, v)| n == name && v.to_ascii_lowercase().starts_with("basic"))
            };
            let mut said = Vec::new();
            let finding = "http_basic_cleartext".to_owned();
            for (name, value) in headers {
                match (name.as_str(), is_request) {
                    ("user-agent", true) => said.push((src, Attribute::UserAgent, value.clone())),
                    ("server", false) => said.push((src, Attribute::Software, value.clone())),
                    _ => {}
                }
            }
            if *is_request && basic("authorization") {
                said.push((dst, Attribute::Finding, finding.clone()));
            }
            if !*is_request && basic("www-authenticate") {
                said.push((src, Attribute::Finding, finding));
            }
            (*frame, said)
        })
        .collect();
    let coverage = check_frames(&path, Source::Rtsp, expected);
    eprintln!(
        "RTSP: {} frames, {} values ({:?})",
        coverage.frames, coverage.values, coverage.by_attribute
    );
    assert_eq!(coverage.frames, 8);
    assert_eq!(
        coverage.by_attribute.into_iter().collect::<Vec<_>>(),
        ["finding", "software", "user_agent"]
    );
    assert_eq!(coverage.values, 8);
}

const PHONE: [u8; 4] = [10, 10, 20, 31];
const CUCM: [u8; 4] = [10, 10, 1, 5];
const PROXY: [u8; 4] = [10, 10, 1, 6];
const POLYCOM: [u8; 4] = [10, 10, 20, 45];

const SIP_REGISTER: &[u8] = b"REGISTER sip:10.10.1.5 SIP/2.0\r\n\
Via: SIP/2.0/UDP 10.10.20.31:5060;branch=z9hG4bK2d51b7a1\r\n\
From: <sip:2001@10.10.1.5>;tag=00cc3a5e0f4b0002a4e3b8f1-6a1c2b3d\r\n\
To: <sip:2001@10.10.1.5>\r\n\
Call-ID: 00cc3a5e-0f4b0002-5b6c7d8e-1a2b3c4d@10.10.20.31\r\n\
Max-Forwards: 70\r\n\
CSeq: 101 REGISTER\r\n\
User-Agent: Cisco-CP8845/14.1.1\r\n\
Contact: <sip:0a1b2c3d@10.10.20.31:5060;transport=udp>;+u.sip!devicename.ccm.cisco.com=\"SEP00CC3A5E0F4B\"\r\n\
Expires: 3600\r\n\
Content-Length: 0\r\n\
\r\n";

const SIP_REGISTER_OK: &[u8] = b"SIP/2.0 200 OK\r\n\
Via: SIP/2.0/UDP 10.10.20.31:5060;branch=z9hG4bK2d51b7a1\r\n\
From: <sip:2001@10.10.1.5>;tag=00cc3a5e0f4b0002a4e3b8f1-6a1c2b3d\r\n\
To: <sip:2001@10.10.1.5>;tag=1483720922\r\n\
Call-ID: 00cc3a5e-0f4b0002-5b6c7d8e-1a2b3c4d@10.10.20.31\r\n\
Server: Cisco-CUCM14.0\r\n\
CSeq: 101 REGISTER\r\n\
Expires: 120\r\n\
Content-Length: 0\r\n\
\r\n";

const SIP_FORWARDED_INVITE: &[u8] = b"INVITE sip:3001@10.10.1.5 SIP/2.0\r\n\
Via: SIP/2.0/UDP 10.10.1.6:5060;branch=z9hG4bK-proxy-1\r\n\
Via: SIP/2.0/UDP 10.10.20.77:5060;branch=z9hG4bK-phone-1\r\n\
From: <sip:2002@example.com>;tag=77\r\n\
To: <sip:3001@example.com>\r\n\
Call-ID: forwarded-1@10.10.20.77\r\n\
CSeq: 1 INVITE\r\n\
Max-Forwards: 69\r\n\
User-Agent: Yealink SIP-T46S 66.86.0.15\r\n\
Content-Length: 0\r\n\
\r\n";

const SIP_OPTIONS_TCP: &[u8] = b"OPTIONS sip:10.10.1.5 SIP/2.0\r\n\
Via: SIP/2.0/TCP 10.10.20.45:49152;branch=z9hG4bK-opt-1\r\n\
From: <sip:201@10.10.1.5>;tag=a1\r\n\
To: <sip:10.10.1.5>\r\n\
Call-ID: options-1@10.10.20.45\r\n\
CSeq: 1 OPTIONS\r\n\
User-Agent: PolycomVVX-VVX_450-UA/6.4.3.5018\r\n\
Content-Length: 0\r\n\
\r\n";

const SIP_OPTIONS_TCP_OK: &[u8] = b"SIP/2.0 200 OK\r\n\
Via: SIP/2.0/TCP 10.10.20.45:49152;branch=z9hG4bK-opt-1\r\n\
From: <sip:201@10.10.1.5>;tag=a1\r\n\
To: <sip:10.10.1.5>;tag=b2\r\n\
Call-ID: options-1@10.10.20.45\r\n\
CSeq: 1 OPTIONS\r\n\
Server: Asterisk PBX 18.9.0\r\n\
Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, SUBSCRIBE, NOTIFY, INFO, PUBLISH, MESSAGE\r\n\
Content-Length: 0\r\n\
\r\n";

#[test]
fn sip_messages_agree_with_tshark() {
    let Some(_) = common::shared_capture(CAPTURES[0]) else {
        return;
    };
    let mut writer = Writer { frames: Vec::new() };
    writer.v4((PHONE, 5060), (CUCM, 5060), SIP_REGISTER);
    writer.v4((CUCM, 5060), (PHONE, 5060), SIP_REGISTER_OK);
    writer.v4((PROXY, 5060), (CUCM, 5060), SIP_FORWARDED_INVITE);
    writer.v4((PHONE, 5060), (CUCM, 5060), b"\r\n\r\n");
    writer.tcp_session(
        (POLYCOM, 49152),
        (CUCM, 5060),
        &[(SIP_OPTIONS_TCP, &[SIP_OPTIONS_TCP_OK])],
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sip.pcap");
    writer.write(&path);

    let frames = tshark_fields(
        path.to_str().unwrap(),
        "sip",
        &[
            "ip.src",
            "sip.Method",
            "sip.Status-Code",
            "sip.User-Agent",
            "sip.Server",
            "sip.Via",
        ],
    );
    let expected = frames
        .iter()
        .map(|(frame, fields)| {
            let [src, method, _status, agent, server, via] = &fields[..] else {
                panic!("unexpected tshark fields {fields:?}");
            };
            let src = DeviceKey::Ip(src.parse().unwrap());
            let vias = via.matches("SIP/2.0/").count();
            let forwarded = !method.is_empty() && vias > 1;
            let mut said = Vec::new();
            if !forwarded {
                if !agent.is_empty() {
                    said.push((src, Attribute::UserAgent, agent.clone()));
                }
                if !server.is_empty() {
                    said.push((src, Attribute::Software, server.clone()));
                }
            }
            (*frame, said)
        })
        .collect();
    let coverage = check_frames(&path, Source::Sip, expected);
    eprintln!(
        "SIP: {} frames, {} values ({:?})",
        coverage.frames, coverage.values, coverage.by_attribute
    );
    assert_eq!(coverage.frames, 5);
    assert_eq!(coverage.values, 4);
}

/// A Sonos player's description (icons and most services left out), as fetched from the
/// `LOCATION` of its announcement.
const SONOS_DESCRIPTION: &str = r#"<?xml version="1.0" encoding="utf-8" ?>
<root xmlns="urn:schemas-upnp-org:device-1-0">
  <specVersion><major>1</major><minor>0</minor></specVersion>
  <device>
    <deviceType>urn:schemas-upnp-org:device:ZonePlayer:1</deviceType>
    <friendlyName>192.168.1.20 - Sonos Play:1</friendlyName>
    <manufacturer>Sonos, Inc.</manufacturer>
    <manufacturerURL>http://www.sonos.com</manufacturerURL>
    <modelNumber>S1</modelNumber>
    <modelDescription>Sonos Play:1</modelDescription>
    <modelName>Sonos Play:1</modelName>
    <modelURL>http://www.sonos.com/products/zoneplayers/S1</modelURL>
    <softwareVersion>57.3-77280</softwareVersion>
    <serialNumber>5C-AA-FD-12-34-56:8</serialNumber>
    <UDN>uuid:RINCON_5CAAFD12345601400</UDN>
    <serviceList>
      <service>
        <serviceType>urn:schemas-upnp-org:service:AlarmClock:1</serviceType>
        <serviceId>urn:upnp-org:serviceId:AlarmClock</serviceId>
        <controlURL>/AlarmClock/Control</controlURL>
        <eventSubURL>/AlarmClock/Event</eventSubURL>
        <SCPDURL>/xml/AlarmClock1.xml</SCPDURL>
      </service>
    </serviceList>
    <deviceList>
      <device>
        <deviceType>urn:schemas-upnp-org:device:MediaRenderer:1</deviceType>
        <friendlyName>Living Room - Sonos Play:1 Media Renderer</friendlyName>
        <manufacturer>Sonos, Inc.</manufacturer>
        <modelNumber>S1</modelNumber>
        <modelDescription>Sonos Play:1 Media Renderer</modelDescription>
        <modelName>Sonos Play:1</modelName>
        <UDN>uuid:RINCON_5CAAFD12345601400_MR</UDN>
      </device>
    </deviceList>
  </device>
</root>
"#;

/// Every XML element tshark dissects, per frame: (frame number, source address, the bytes of
/// each element as text, in document order), read from `-T pdml`.
fn tshark_xml_elements(path: &Path) -> Vec<(u64, String, Vec<String>)> {
    let pdml = common::tshark(&["-r", path.to_str().unwrap(), "-Y", "xml", "-T", "pdml"]);
    let attribute = |line: &str, name: &str| {
        let start = line.find(&format!(" {name}=\""))? + name.len() + 3;
        let end = start + line[start..].find('"')?;
        Some(line[start..end].to_owned())
    };
    let mut frames: Vec<(u64, String, Vec<String>)> = Vec::new();
    for line in pdml.lines() {
        let line = line.trim();
        if line.starts_with("<field name=\"num\"") {
            let number = attribute(line, "show").unwrap().parse().unwrap();
            frames.push((number, String::new(), Vec::new()));
        } else if line.starts_with("<field name=\"ip.src\"") {
            frames.last_mut().unwrap().1 = attribute(line, "show").unwrap();
        } else if line.starts_with("<field name=\"xml.tag\"") {
            let hex = attribute(line, "value").unwrap();
            let bytes: Vec<u8> = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            let element = String::from_utf8(bytes).unwrap();
            frames.last_mut().unwrap().2.push(element);
        }
    }
    frames
}

#[test]
fn upnp_description_over_http_agrees_with_tshark() {
    let Some(_) = common::shared_capture(CAPTURES[0]) else {
        return;
    };
    let request = b"GET /xml/device_description.xml HTTP/1.1\r\n\
HOST: 192.168.1.20:1400\r\n\
USER-AGENT: Microsoft-Windows/10.0 UPnP/1.0\r\n\
\r\n";
    let response = format!(
        "HTTP/1.1 200 OK\r\nCONTENT-TYPE: text/xml; charset=\"utf-8\"\r\nContent-Length: {}\r\nServer: Linux UPnP/1.0 Sonos/57.3-77280 (ZPS1)\r\nConnection: close\r\n\r\n{SONOS_DESCRIPTION}",
        SONOS_DESCRIPTION.len()
    );
    let mut writer = Writer { frames: Vec::new() };
    writer.tcp_session(
        (LAPTOP, 50300),
        (SONOS, 1400),
        &[(request, &[response.as_bytes()])],
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("upnp.pcap");
    writer.write(&path);

    // tshark's XML dissector gives each element's bytes (`xml.tag`, in PDML), in document
    // order: a `<device>` starts the next device's own fields here.
    let expected = tshark_xml_elements(&path)
        .into_iter()
        .map(|(frame, src, elements)| {
            let subject = DeviceKey::Ip(src.parse().unwrap());
            let mut devices: Vec<Vec<(String, String)>> = Vec::new();
            for element in elements {
                let Some((name, rest)) = element
                    .strip_prefix('<')
                    .and_then(|rest| rest.split_once('>'))
                else {
                    continue;
                };
                if name == "device" {
                    devices.push(Vec::new());
                } else if let (Some(value), Some(device)) =
                    (rest.strip_suffix(&format!("</{name}>")), devices.last_mut())
                {
                    if !value.contains('<') {
                        device.push((name.to_owned(), value.trim().to_owned()));
                    }
                }
            }
            let mut said = Vec::new();
            for device in &devices {
                let field = |name: &str| {
                    device
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, v)| v.clone())
                };
                for (name, attribute) in [
                    ("manufacturer", Attribute::Vendor),
                    ("friendlyName", Attribute::Hostname),
                    ("serialNumber", Attribute::Serial),
                    ("deviceType", Attribute::Service),
                    ("modelDescription", Attribute::Description),
                    ("UDN", Attribute::ClientId),
                ] {
                    if let Some(value) = field(name) {
                        said.push((subject, attribute, value));
                    }
                }
                match (field("modelName"), field("modelNumber")) {
                    (Some(name), Some(number)) if !name.contains(&number) => {
                        said.push((subject, Attribute::Model, format!("{name} {number}")));
                    }
                    (Some(name), _) => said.push((subject, Attribute::Model, name)),
                    _ => {}
                }
            }
            (frame, said)
        })
        .collect();
    let coverage = check_frames(&path, Source::Upnp, expected);
    eprintln!(
        "UPnP: {} frames, {} values ({:?})",
        coverage.frames, coverage.values, coverage.by_attribute
    );
    assert_eq!(coverage.frames, 1);
    assert_eq!(coverage.values, 11);
    let facts = common::fact_log(&path);
    assert!(facts.iter().any(|(_, f)| f.source == Source::Upnp
        && f.subject == DeviceKey::Ip(IpAddr::from(SONOS))
        && f.attribute == Attribute::Model
        && f.value == "Sonos Play:1 S1"));
}
