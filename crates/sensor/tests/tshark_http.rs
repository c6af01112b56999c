//! HTTP, FTP and telnet facts compared with tshark, frame by frame, on the shared captures.
//!
//! For every message tshark dissects, the facts its fields call for (HTTP `User-Agent`, `Host`,
//! `Server`, Basic authentication, the page title in the body tshark shows; the FTP greeting,
//! `SYST` answer and clear-text login; telnet's terminal type, banner, server negotiation and
//! first server segment) must have been reported by Ironward for the same device, with the same
//! value, at that frame or after the previous message of the same direction (tshark names the
//! frame that completes a message, Ironward the one that completes the part it reads — an HTTP
//! head before its body). A fact already reported is not reported again, and Ironward may
//! report nothing tshark does not call for. Login attempts are compared with the authentication
//! events of the report.
//!
//! The shared captures hold few messages (no device paths, no chunked bodies, no Basic
//! challenge, no IPP, no failed logins), so a second capture is written at test time from
//! realistic conversations — a camera answering a Basic challenge to a request whose head is
//! split across segments, pipelined HEAD and GET with a chunked page, an HTTP/1.0 router page
//! delimited by the close, a printer answering Get-Printer-Attributes over IPP, a vsftpd login
//! failing then succeeding, a network device's telnet login failing then succeeding — and read
//! by tshark the same way.
//!
//! Not compared: `modbus/zeek_modbus-and-non-modbus-p502.pcap` carries one HTTP request on a
//! port-502 connection that had been reset sixteen seconds earlier; the sensor's reassembler
//! (rightly) delivers nothing after the reset, tshark dissects the orphan segment.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::path::Path;

use ironward_model::{Attribute, DeviceKey, Event, EventCategory, Fact, Finding, Source};
use ironward_sensor::capture::{self, PcapConfig, PcapWriter};
use ironward_sensor::engine::{Engine, EngineConfig};
use ironward_wire::build::{self, Ip, L4};
use ironward_wire::ethernet::{self, EtherType};
use ironward_wire::{ipv4, tcp, IpProtocol, MacAddr};

/// Captures in which tshark finds HTTP (the SSDP one: HTTP over UDP only, which must give no
/// HTTP facts).
const HTTP_CAPTURES: [&str; 5] = [
    "http/zeek_http_basic-auth-with-colon.pcap",
    "http/zeek_http_get.pcap",
    "http/zeek_http_multipart.pcap",
    "iot-mixed/ndpi_android.pcap",
    "ssdp/zeek_home-multicast-short.pcap",
];

const FTP_CAPTURE: &str = "ftp/zeek_ftp_ipv4.pcap";
const TELNET_CAPTURE: &str = "telnet/suricata_telnet.pcap";

/// Separates several occurrences of one field in tshark's output.
const AGGREGATOR: &str = "\u{1f}";

/// A fact tshark's fields call for: expected at a frame in `(after, frame]`.
#[derive(Debug, Clone)]
struct Expected {
    frame: u64,
    after: u64,
    subject: DeviceKey,
    attribute: Attribute,
    value: String,
}

/// What a comparison covered.
#[derive(Debug, Default)]
struct Coverage {
    frames: HashSet<u64>,
    values: usize,
}

/// Every fact and event Ironward's dissectors reported for a capture (flows never time out,
/// as in tshark).
fn analyze(path: &Path) -> (Vec<(u64, Fact)>, Vec<Event>) {
    let mut config = EngineConfig {
        keep_fact_log: true,
        ..EngineConfig::default()
    };
    let forever = i64::MAX / 4;
    config.flows.tcp_idle_ns = forever;
    config.flows.udp_idle_ns = forever;
    config.flows.other_idle_ns = forever;
    config.flows.tcp_closed_linger_ns = forever;
    let mut engine = Engine::with_dissectors(config, ironward_proto::registry());
    let mut reader = capture::open_file(path).expect("capture opens");
    while let Some(frame) = reader.next_frame() {
        engine.process(&frame);
    }
    let analysis = engine.finish();
    (analysis.facts, analysis.report.events)
}

/// tshark's fields for every frame matching `filter`: (frame number, one string per field,
/// several occurrences joined by [`AGGREGATOR`], tshark's `\r` `\n` `\t` escapes undone).
fn tshark_fields(path: &Path, filter: &str, fields: &[&str]) -> Vec<(u64, Vec<String>)> {
    let aggregator = format!("aggregator={AGGREGATOR}");
    let mut args = vec![
        "-r",
        path.to_str().unwrap(),
        "-Y",
        filter,
        "-T",
        "fields",
        "-E",
        "occurrence=a",
        "-E",
        &aggregator,
        "-e",
        "frame.number",
    ];
    for field in fields {
        args.extend(["-e", field]);
    }
    common::tshark(&args)
        .lines()
        .filter_map(|line| {
            let mut parts = line.split('\t');
            let frame = parts.next()?.trim().parse().ok()?;
            Some((frame, parts.map(unescape).collect()))
        })
        .collect()
}

fn unescape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('r') => out.push('\r'),
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// Whitespace collapsed, as Ironward cleans fact values.
fn normalize(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn ip(text: &str) -> DeviceKey {
    DeviceKey::Ip(text.parse::<IpAddr>().expect("address"))
}

/// Checks Ironward's facts of `source` against what tshark calls for; returns the coverage.
fn compare(
    name: &str,
    ours: &[(u64, Fact)],
    source: Source,
    mut expected: Vec<Expected>,
) -> Coverage {
    let ours: Vec<_> = ours.iter().filter(|(_, f)| f.source == source).collect();
    let mut used = vec![false; ours.len()];
    let mut coverage = Coverage::default();
    let mut seen: HashSet<(DeviceKey, Attribute, String)> = HashSet::new();
    expected.sort_by_key(|e| e.frame);
    for e in &expected {
        let value = normalize(&e.value);
        if value.is_empty() || !seen.insert((e.subject, e.attribute, value.clone())) {
            continue; // Nothing to say, or said before: not repeated.
        }
        let found = ours.iter().enumerate().find(|(i, (frame, fact))| {
            !used[*i]
                && *frame > e.after
                && *frame <= e.frame
                && fact.subject == e.subject
                && fact.attribute == e.attribute
                && fact.value == value
        });
        let Some((i, _)) = found else {
            panic!(
                "{name}: frame {}: expected {:?} {:?} = {value:?} from frame {} on; Ironward \
                 reported {ours:#?}",
                e.frame,
                e.subject,
                e.attribute,
                e.after + 1
            );
        };
        used[i] = true;
        coverage.frames.insert(e.frame);
        coverage.values += 1;
    }
    for (i, (frame, fact)) in ours.iter().enumerate() {
        assert!(
            used[i],
            "{name}: frame {frame}: Ironward reported {fact:?}, which tshark's fields do not call for"
        );
    }
    coverage
}

/// The host name of a `Host` header: port stripped, lower case, not an address literal.
fn host_name(host: &str) -> Option<String> {
    if host.starts_with('[') {
        return None;
    }
    let host = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        Some(_) => return None,
        None => host,
    };
    if host.parse::<IpAddr>().is_ok() || host.is_empty() {
        return None;
    }
    Some(host.trim_end_matches('.').to_ascii_lowercase())
}

/// The text of the first `<title>` element of an HTML body.
fn title(body: &str) -> Option<String> {
    let lower = body.to_ascii_lowercase();
    let open = lower.find("<title")?;
    let start = open + lower[open..].find('>')? + 1;
    let end = start + lower[start..].find("</")?;
    Some(body[start..end].trim().to_owned())
}

fn http_expected(path: &Path) -> (Vec<Expected>, usize) {
    let frames = tshark_fields(
        path,
        "http && tcp",
        &[
            "ip.src",
            "ip.dst",
            "tcp.stream",
            "tcp.srcport",
            "http.request.method",
            "http.request.uri",
            "http.response.code",
            "http.user_agent",
            "http.host",
            "http.server",
            "http.authorization",
            "http.www_authenticate",
            "http.content_type",
            "http.content_encoding",
            "http.file_data",
        ],
    );
    let mut expected = Vec::new();
    // The previous message's frame per (stream, sending port); streams with a title already.
    let mut previous: HashMap<(String, String), u64> = HashMap::new();
    let mut titled: HashSet<String> = HashSet::new();
    for (frame, fields) in &frames {
        let [src, dst, stream, port, method, uri, code, agent, host, server, authorization, challenge, content_type, encoding, body] =
            &fields[..]
        else {
            panic!("unexpected tshark fields {fields:?}");
        };
        let after = previous
            .insert((stream.clone(), port.clone()), *frame)
            .unwrap_or(0);
        let mut push = |subject: DeviceKey, attribute, value: &str| {
            expected.push(Expected {
                frame: *frame,
                after,
                subject,
                attribute,
                value: value.to_owned(),
            });
        };
        // Pipelined messages in one frame: every field lists each message's value.
        let each = |field: &str| -> Vec<String> {
            field
                .split(AGGREGATOR)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let basic = Finding::HttpBasicCleartext.as_str();
        if !method.is_empty() {
            for agent in each(agent) {
                push(ip(src), Attribute::UserAgent, &agent);
            }
            for host in each(host) {
                if let Some(name) = host_name(&host) {
                    push(ip(dst), Attribute::Hostname, &name);
                }
            }
            for authorization in each(authorization) {
                if authorization.to_ascii_lowercase().starts_with("basic") {
                    push(ip(dst), Attribute::Finding, basic);
                }
            }
            for uri in each(uri) {
                if let Some(prefix) = ironward_proto::http::device_path(uri.as_bytes()) {
                    push(ip(dst), Attribute::Url, prefix);
                }
            }
            continue;
        }
        for server in each(server) {
            push(ip(src), Attribute::Software, &server);
        }
        if each(challenge)
            .iter()
            .any(|c| c.to_ascii_lowercase().starts_with("basic"))
        {
            push(ip(src), Attribute::Finding, basic);
        }
        // Titles: one response per frame in these captures (checked).
        assert_eq!(each(code).len(), 1, "frame {frame}: one response");
        let successful = code.starts_with('2');
        let page = content_type.is_empty() || content_type.to_ascii_lowercase().contains("html");
        if successful && page && encoding.is_empty() && !titled.contains(stream) {
            if let Some(title) = title(body).filter(|t| !t.is_empty()) {
                titled.insert(stream.clone());
                push(ip(src), Attribute::Description, &title);
            }
        }
    }
    (expected, frames.len())
}

/// Compares the HTTP facts of one capture; returns (messages, coverage, attributes compared).
fn check_http(
    name: &str,
    path: &Path,
    facts: &[(u64, Fact)],
) -> (usize, Coverage, HashSet<Attribute>) {
    let (expected, messages) = http_expected(path);
    let attributes = expected
        .iter()
        .filter(|e| !e.value.is_empty())
        .map(|e| e.attribute)
        .collect();
    let coverage = compare(name, facts, Source::Http, expected);
    eprintln!(
        "{name}: {messages} HTTP messages, {} frames with facts, {} values matched",
        coverage.frames.len(),
        coverage.values
    );
    (messages, coverage, attributes)
}

#[test]
fn http_facts_match_tshark() {
    let (mut messages, mut frames, mut values) = (0, 0, 0);
    let mut attributes = HashSet::new();
    for relative in HTTP_CAPTURES {
        let Some(path) = common::shared_capture(relative) else {
            return;
        };
        let (facts, _) = analyze(&path);
        let (m, coverage, compared) = check_http(relative, &path, &facts);
        messages += m;
        frames += coverage.frames.len();
        values += coverage.values;
        attributes.extend(compared);
    }
    // 14 messages; repeated User-Agent, Host and Server values are reported once.
    assert_eq!(messages, 14);
    assert!(frames >= 10, "only {frames} frames with facts compared");
    assert!(values >= 17, "only {values} values compared");
    for attribute in [
        Attribute::UserAgent,
        Attribute::Hostname,
        Attribute::Software,
        Attribute::Description,
        Attribute::Finding,
    ] {
        assert!(
            attributes.contains(&attribute),
            "{attribute:?} never compared"
        );
    }
}

/// FTP's greeting without the decorations Ironward strips (dashes, wrapping parentheses).
fn greeting(text: &str) -> String {
    let text = text.trim().trim_matches('-').trim();
    text.strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .unwrap_or(text)
        .to_owned()
}

/// Compares the FTP facts and login events of one capture; returns (values, logins).
fn check_ftp(
    name: &str,
    path: &Path,
    facts: &[(u64, Fact)],
    events: &[Event],
) -> (usize, Vec<String>) {
    let frames = tshark_fields(
        path,
        "ftp",
        &[
            "ip.src",
            "ip.dst",
            "tcp.srcport",
            "ftp.request.command",
            "ftp.request.arg",
            "ftp.response.code",
            "ftp.response.arg",
        ],
    );
    let mut expected = Vec::new();
    let mut logins = Vec::new();
    let mut previous: HashMap<String, u64> = HashMap::new();
    let (mut greeted, mut user) = (false, None::<String>);
    let mut passwords = Vec::new();
    for (frame, fields) in &frames {
        let [src, dst, port, command, argument, code, text] = &fields[..] else {
            panic!("unexpected tshark fields {fields:?}");
        };
        let after = previous.insert(port.clone(), *frame).unwrap_or(0);
        let mut push = |subject, attribute, value: String| {
            expected.push(Expected {
                frame: *frame,
                after,
                subject,
                attribute,
                value,
            });
        };
        match (command.to_ascii_uppercase().as_str(), code.as_str()) {
            ("USER", _) => {
                push(
                    ip(dst),
                    Attribute::Finding,
                    Finding::FtpCleartext.as_str().into(),
                );
                user = Some(argument.clone());
            }
            ("PASS", _) => passwords.push(argument.clone()),
            (_, "220") if !greeted => {
                greeted = true;
                push(ip(src), Attribute::Software, greeting(text));
            }
            (_, "215") => push(ip(src), Attribute::Os, text.clone()),
            (_, "230") | (_, "530") => {
                if let Some(user) = user.take() {
                    let outcome = if code == "230" { "succeeded" } else { "failed" };
                    logins.push(format!("FTP login as {user} {outcome}"));
                }
            }
            _ => {}
        }
    }
    let coverage = compare(name, facts, Source::Ftp, expected);
    let ours: Vec<_> = events
        .iter()
        .filter(|e| e.protocol == "ftp")
        .inspect(|e| assert_eq!(e.category, EventCategory::Authentication))
        .map(|e| e.detail.clone())
        .collect();
    assert_eq!(ours, logins, "{name}: login events");
    // The passwords tshark shows are nowhere.
    let all = format!("{facts:?}{events:?}");
    for password in passwords.iter().filter(|p| p.len() > 3) {
        assert!(
            !all.contains(password.as_str()),
            "{name}: password {password:?} kept"
        );
    }
    eprintln!(
        "{name}: {} FTP frames, {} values and {} logins matched",
        frames.len(),
        coverage.values,
        ours.len()
    );
    (coverage.values, ours)
}

#[test]
fn ftp_facts_and_logins_match_tshark() {
    let Some(path) = common::shared_capture(FTP_CAPTURE) else {
        return;
    };
    let (facts, events) = analyze(&path);
    let (values, logins) = check_ftp(FTP_CAPTURE, &path, &facts, &events);
    assert_eq!(values, 3, "greeting, SYST and the clear-text finding");
    assert_eq!(logins, ["FTP login as anonymous succeeded"]);
    let software = facts
        .iter()
        .find(|(_, f)| f.attribute == Attribute::Software && f.source == Source::Ftp)
        .unwrap();
    assert_eq!(
        (software.0, software.1.value.as_ref()),
        (4, "ftp.NetBSD.org FTP server (NetBSD-ftpd 20100320) ready.")
    );
    // The password tshark shows (`PASS test`) is nowhere.
    assert!(facts.iter().all(|(_, f)| !f.value.contains("test")));
}

/// tshark's names of telnet options → option numbers.
fn option_number(name: &str) -> Option<u8> {
    Some(match name {
        "Binary Transmission" => 0,
        "Echo" => 1,
        "Suppress Go Ahead" => 3,
        "Status" => 5,
        "Timing Mark" => 6,
        "Terminal Type" => 24,
        "Negotiate About Window Size" => 31,
        "Terminal Speed" => 32,
        "Remote Flow Control" => 33,
        "Linemode" => 34,
        "X Display Location" => 35,
        "Environment Option" => 36,
        "Authentication Option" => 37,
        "Encryption Option" => 38,
        "New Environment Option" => 39,
        _ => return None,
    })
}

/// One frame of tshark's telnet tree: negotiations (verb, option), and the values of
/// TERMINAL-TYPE subnegotiations.
#[derive(Debug, Default)]
struct TelnetTree {
    negotiations: Vec<(String, u8)>,
    terminal_types: Vec<String>,
}

/// Reads `tshark -O telnet` output: per frame, what its telnet tree shows.
fn telnet_trees(path: &Path) -> HashMap<u64, TelnetTree> {
    let out = common::tshark(&["-r", path.to_str().unwrap(), "-Y", "telnet", "-O", "telnet"]);
    let mut trees: HashMap<u64, TelnetTree> = HashMap::new();
    let mut frame = 0;
    let (mut command, mut subcommand) = (String::new(), String::new());
    for line in out.lines() {
        let trimmed = line.trim();
        if let Some(rest) = line.strip_prefix("Frame ") {
            frame = rest.split(':').next().unwrap().parse().unwrap();
            trees.entry(frame).or_default();
        } else if let Some(rest) = trimmed.strip_prefix("Command: ") {
            command = rest.split(" (").next().unwrap().to_owned();
        } else if let Some(rest) = trimmed.strip_prefix("Subcommand: ") {
            subcommand = rest.to_owned();
            let verb = match command.as_str() {
                "Will" => "WILL",
                "Won't" => "WONT",
                "Do" => "DO",
                "Don't" => "DONT",
                _ => continue,
            };
            let option = option_number(&subcommand).expect("known option");
            let tree = trees.get_mut(&frame).unwrap();
            tree.negotiations.push((verb.to_owned(), option));
        } else if let Some(value) = trimmed.strip_prefix("Value: ") {
            if command == "Suboption" && subcommand == "Terminal Type" {
                let tree = trees.get_mut(&frame).unwrap();
                tree.terminal_types.push(value.to_owned());
            }
        }
    }
    trees
}

/// Whether telnet server text ends with a command prompt (shell or network device).
fn command_prompt(text: &str) -> bool {
    let line = text.rsplit(['\r', '\n']).next().unwrap_or_default();
    text.ends_with("$ ")
        || text.ends_with("# ")
        || text.ends_with("> ")
        || (line.len() > 1
            && (line.ends_with('#') || line.ends_with('>'))
            && line[..line.len() - 1]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.()".contains(c)))
}

/// Compares the telnet facts and login events of one capture (one telnet session on port
/// 23); returns (values, logins).
fn check_telnet(
    name: &str,
    path: &Path,
    facts: &[(u64, Fact)],
    events: &[Event],
) -> (usize, Vec<String>) {
    let frames = tshark_fields(path, "telnet", &["ip.src", "tcp.srcport", "telnet.data"]);
    let trees = telnet_trees(path);
    let mut expected = Vec::new();
    let mut previous: HashMap<String, u64> = HashMap::new();
    let mut answered = false;
    let mut banner = String::new();
    let mut negotiated: Vec<(String, u8)> = Vec::new();
    let (mut prompted, mut password, mut logins) = (false, false, Vec::new());
    let mut recent = String::new();
    for (frame, fields) in &frames {
        let [src, port, data] = &fields[..] else {
            panic!("unexpected tshark fields {fields:?}");
        };
        let after = previous.insert(port.clone(), *frame).unwrap_or(0);
        let mut push = |subject, attribute, value: String| {
            expected.push(Expected {
                frame: *frame,
                after,
                subject,
                attribute,
                value,
            });
        };
        let text = data.replace(AGGREGATOR, "");
        let tree = &trees[frame];
        if port != "23" {
            for terminal in &tree.terminal_types {
                push(ip(src), Attribute::UserAgent, terminal.clone());
            }
            continue;
        }
        if !answered {
            answered = true;
            push(
                ip(src),
                Attribute::Finding,
                Finding::TelnetInUse.as_str().into(),
            );
        }
        for entry in &tree.negotiations {
            let wanted = entry.0 == "WILL" || entry.0 == "DO";
            if !prompted && wanted && !negotiated.contains(entry) {
                negotiated.push(entry.clone());
            }
        }
        recent.push_str(&text);
        let lower = recent.to_ascii_lowercase();
        if !prompted {
            banner.push_str(&text);
            let at = ["login:", "username:"]
                .iter()
                .filter_map(|p| banner.to_ascii_lowercase().find(p))
                .min();
            if let Some(at) = at {
                prompted = true;
                recent.clear();
                push(ip(src), Attribute::Description, banner[..at].to_owned());
                let list = |verb: &str| -> Vec<&str> {
                    negotiated
                        .iter()
                        .filter(|(v, _)| v == verb)
                        .map(|(_, o)| ironward_proto::telnet::option_name(*o).unwrap())
                        .collect()
                };
                let value = format!(
                    "telnet WILL {}; DO {}",
                    list("WILL").join(","),
                    list("DO").join(",")
                );
                push(ip(src), Attribute::Capability, value);
            }
        } else if !password && lower.trim_end().ends_with("password:") {
            password = true;
            recent.clear();
        } else if password && (lower.contains("login incorrect") || lower.contains("login invalid"))
        {
            password = false;
            recent.clear();
            logins.push("Telnet login failed".to_owned());
        } else if password && (lower.contains("last login") || command_prompt(&recent)) {
            password = false;
            recent.clear();
            logins.push("Telnet login succeeded".to_owned());
        }
    }
    let coverage = compare(name, facts, Source::Telnet, expected);
    let ours: Vec<_> = events
        .iter()
        .filter(|e| e.protocol == "telnet")
        .inspect(|e| assert_eq!(e.category, EventCategory::Authentication))
        .map(|e| e.detail.clone())
        .collect();
    assert_eq!(ours, logins, "{name}: login events");
    eprintln!(
        "{name}: {} telnet frames, {} frames and {} values matched, {} logins",
        frames.len(),
        coverage.frames.len(),
        coverage.values,
        ours.len()
    );
    (coverage.values, ours)
}

#[test]
fn telnet_facts_and_login_match_tshark() {
    let Some(path) = common::shared_capture(TELNET_CAPTURE) else {
        return;
    };
    let (facts, events) = analyze(&path);
    let (values, logins) = check_telnet(TELNET_CAPTURE, &path, &facts, &events);
    assert_eq!(values, 4, "finding, terminal type, banner, negotiation");
    assert_eq!(logins, ["Telnet login succeeded"]);
    // The login prompt came first: Telnet in use on the server (the sender of port 23's
    // frames), no shell without login, nothing on the client.
    let server = tshark_fields(&path, "telnet && tcp.srcport == 23", &["ip.src"]);
    let findings: Vec<_> = facts
        .iter()
        .filter(|(_, f)| f.attribute == Attribute::Finding)
        .map(|(_, f)| (f.subject, f.value.to_string()))
        .collect();
    assert_eq!(
        findings,
        [(
            ip(&server[0].1[0]),
            Finding::TelnetInUse.as_str().to_owned()
        )]
    );
    let values: Vec<_> = facts.iter().map(|(_, f)| f.value.to_string()).collect();
    assert!(values.contains(&"xterm-color".to_owned()));
    assert!(values.contains(&"OpenBSD/i386 (oof) (ttyp2)".to_owned()));
    // What the client typed (`fake`, then the password `user`) is nowhere.
    assert!(!format!("{facts:?}{events:?}").contains("fake"));
}

const SHELLBOX: [u8; 4] = [10, 20, 0, 30];
const ACCESS_SWITCH: [u8; 4] = [10, 20, 0, 31];
const LINUX_HOST: [u8; 4] = [10, 20, 0, 32];

/// What each side sends in turn (0: client, 1: server).
type Exchanges<'a> = &'a [(usize, &'a [u8])];

/// Three telnet servers: a busybox shell given without login (its prompt split across
/// segments, the client in character mode), a switch CLI without login, and a Linux host
/// asking for a login before its shell.
fn telnet_shells_capture(path: &Path) {
    let mut w = Writer::default();
    let sessions: [([u8; 4], Exchanges<'_>); 3] = [
        (
            SHELLBOX,
            &[
                (1, b"\xff\xfb\x01\xff\xfb\x03"),
                (0, b"\xff\xfd\x01\xff\xfd\x03"),
                (
                    1,
                    b"\r\n\r\nBusyBox v1.36.1 (Debian 1:1.36.1-9) built-in shell (ash)\r\n",
                ),
                (
                    1,
                    b"Enter 'help' for a list of built-in commands.\r\n\r\n~ ",
                ),
                (1, b"# "),
                (0, b"i"),
                (1, b"i"),
                (0, b"d\r\n"),
                (1, b"d\r\nuid=0(root) gid=0(root)\r\n~ # "),
            ],
        ),
        (
            ACCESS_SWITCH,
            &[
                (1, b"\xff\xfb\x01\xff\xfb\x03\xff\xfd\x18"),
                (0, b"\xff\xfd\x01\xff\xfd\x03\xff\xfc\x18"),
                (1, b"\r\n\r\nSW-ACCESS-07>"),
                (0, b"show version\r\n"),
                (
                    1,
                    b"show version\r\nCisco IOS Software, C2960 Software\r\nSW-ACCESS-07>",
                ),
            ],
        ),
        (
            LINUX_HOST,
            &[
                (1, b"\xff\xfd\x18\xff\xfd\x20\xff\xfb\x01"),
                (0, b"\xff\xfc\x18\xff\xfc\x20\xff\xfd\x01"),
                (1, b"\r\nDebian GNU/Linux 12\r\nplant-gw login: "),
                (0, b"pi\r\n"),
                (1, b"pi\r\nPassword: "),
                (0, b"raspberry\r\n"),
                (
                    1,
                    b"\r\nLast login: Mon Mar  4 09:12:01 2024\r\npi@plant-gw:~$ ",
                ),
                (0, b"ls\r\n"),
            ],
        ),
    ];
    for (i, (server, exchanges)) in sessions.into_iter().enumerate() {
        let mut c = w.open((OPERATOR, 50100 + i as u16), (server, 23));
        for (side, bytes) in exchanges {
            w.send(&mut c, *side, &[bytes]);
        }
        w.close(&mut c, 0);
    }
    w.write(path);
}

/// Telnet findings against tshark's text of each session (tshark strips the option
/// negotiation on its own): a server whose text before its client first typed holds no login
/// or password prompt and ends with a command prompt gave a shell without login; every server
/// that answered runs Telnet; no client has a finding.
#[test]
fn telnet_shells_without_login_match_tshark() {
    if common::shared_capture(TELNET_CAPTURE).is_none() {
        return; // tshark (or the data directory) is missing.
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("telnet-shells.pcap");
    telnet_shells_capture(&path);
    let frames = tshark_fields(
        &path,
        "telnet",
        &["ip.src", "ip.dst", "tcp.srcport", "telnet.data"],
    );
    // Per server: its text so far, and whether the client has typed (the decision made).
    let mut sessions: HashMap<String, (String, bool)> = HashMap::new();
    let mut expected = HashSet::new();
    for (_, fields) in &frames {
        let [src, dst, port, data] = &fields[..] else {
            panic!("unexpected tshark fields {fields:?}");
        };
        let text = data.replace(AGGREGATOR, "");
        let server = if port == "23" { src } else { dst };
        let (before, decided) = sessions.entry(server.clone()).or_default();
        expected.insert((ip(server), Finding::TelnetInUse.as_str()));
        if *decided {
            continue;
        }
        if port == "23" {
            before.push_str(&text);
        } else if !text.is_empty() {
            *decided = true;
            let lower = before.to_ascii_lowercase();
            if !lower.contains("login") && !lower.contains("pass") && command_prompt(before) {
                expected.insert((ip(server), Finding::TelnetWithoutAuthentication.as_str()));
            }
        }
    }
    let (facts, events) = analyze(&path);
    let ours: HashSet<_> = facts
        .iter()
        .filter(|(_, f)| f.attribute == Attribute::Finding)
        .map(|(_, f)| (f.subject, Finding::from_id(&f.value).unwrap().as_str()))
        .collect();
    assert_eq!(ours, expected);
    let no_login: HashSet<_> = ours
        .iter()
        .filter(|(_, f)| *f == Finding::TelnetWithoutAuthentication.as_str())
        .map(|(subject, _)| *subject)
        .collect();
    let servers = [SHELLBOX, ACCESS_SWITCH].map(|a| DeviceKey::Ip(a.into()));
    assert_eq!(no_login, HashSet::from(servers), "tshark's reading");
    // The Linux host's login is an authentication event, not this finding.
    let logins: Vec<_> = events
        .iter()
        .filter(|e| e.protocol == "telnet")
        .map(|e| e.detail.as_str())
        .collect();
    assert_eq!(logins, ["Telnet login succeeded"]);
    assert!(!format!("{facts:?}").contains("raspberry"));
}

/// The values of an IEEE 1284 device id's key.
fn device_id_field(id: &str, keys: &[&str]) -> Option<String> {
    id.split(';').find_map(|field| {
        let (key, value) = field.split_once(':')?;
        keys.contains(&key.trim()).then(|| value.trim().to_owned())
    })
}

/// The attributes of each IPP response frame as tshark's tree shows them: (group, name,
/// value) for every attribute printed as `name (type): 'value'` (tshark's field for character
/// string values reads `[ Null ]`, so the tree is read instead).
fn ipp_trees(path: &Path) -> HashMap<u64, Vec<(String, String, String)>> {
    let out = common::tshark(&[
        "-r",
        path.to_str().unwrap(),
        "-Y",
        "ipp && http.response",
        "-O",
        "ipp",
    ]);
    let mut trees: HashMap<u64, Vec<(String, String, String)>> = HashMap::new();
    let (mut frame, mut group) = (0, String::new());
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix("Frame ") {
            frame = rest.split(':').next().unwrap().parse().unwrap();
            continue;
        }
        let depth = line.len() - line.trim_start().len();
        let trimmed = line.trim();
        if depth == 4 && trimmed.ends_with("-tag") {
            group = trimmed.to_owned();
        } else if depth == 8 {
            let Some((name, rest)) = trimmed.split_once(" (") else {
                continue;
            };
            let Some((_, value)) = rest.split_once("): '") else {
                continue;
            };
            let value = value.strip_suffix('\'').unwrap_or(value);
            trees.entry(frame).or_default().push((
                group.clone(),
                name.to_owned(),
                value.to_owned(),
            ));
        }
    }
    trees
}

/// Compares the IPP facts of one capture with the printer attributes of each response in
/// tshark's tree; returns the values compared.
fn check_ipp(name: &str, path: &Path, facts: &[(u64, Fact)]) -> usize {
    let frames = tshark_fields(path, "ipp && http.response", &["ip.src"]);
    let trees = ipp_trees(path);
    let mut expected = Vec::new();
    for (frame, fields) in &frames {
        let [src] = &fields[..] else {
            panic!("unexpected tshark fields {fields:?}");
        };
        let mut push = |attribute, value: String| {
            expected.push(Expected {
                frame: *frame,
                after: 0,
                subject: ip(src),
                attribute,
                value,
            });
        };
        let attributes = trees.get(frame).expect("tshark shows the attributes");
        for (group, attribute, value) in attributes {
            if group != "printer-attributes-tag" {
                continue;
            }
            let value = value.clone();
            match attribute.as_str() {
                "printer-make-and-model" => push(Attribute::Model, value),
                "printer-device-id" => {
                    if let Some(vendor) = device_id_field(&value, &["MFG", "MANUFACTURER"]) {
                        push(Attribute::Vendor, vendor);
                    }
                    if let Some(model) = device_id_field(&value, &["MDL", "MODEL"]) {
                        push(Attribute::Model, model);
                    }
                }
                "printer-firmware-string-version" => push(Attribute::Firmware, value),
                "printer-info" => push(Attribute::Description, value),
                "printer-location" => push(Attribute::Location, value),
                "printer-name" => push(Attribute::Hostname, value),
                "printer-uuid" => push(Attribute::ClientId, value),
                _ => {}
            }
        }
    }
    let coverage = compare(name, facts, Source::Ipp, expected);
    eprintln!(
        "{name}: {} IPP responses, {} values matched",
        frames.len(),
        coverage.values
    );
    coverage.values
}

/// A capture written at test time: Ethernet/IPv4/TCP conversations.
#[derive(Default)]
struct Writer {
    frames: Vec<Vec<u8>>,
}

/// One written TCP conversation: endpoints and each side's next sequence number.
struct Conversation {
    ends: [([u8; 4], u16); 2],
    seq: [u32; 2],
}

impl Writer {
    fn segment(&mut self, conversation: &mut Conversation, side: usize, flags: u8, payload: &[u8]) {
        let (from, to) = (conversation.ends[side], conversation.ends[1 - side]);
        let eth = ethernet::Repr {
            src_addr: MacAddr([0x02, 0, 0, 0, 0, from.0[3]]),
            dst_addr: MacAddr([0x02, 0, 0, 0, 0, to.0[3]]),
            vlan: None,
            ethertype: EtherType::IPV4,
        };
        let ip = ipv4::Repr {
            src_addr: from.0.into(),
            dst_addr: to.0.into(),
            protocol: IpProtocol::TCP,
            payload_len: 0,
            ttl: 64,
            tos: 0,
            identification: self.frames.len() as u16,
            dont_fragment: true,
            more_fragments: false,
            fragment_offset: 0,
        };
        let ack = if flags & tcp::flags::ACK != 0 {
            conversation.seq[1 - side]
        } else {
            0
        };
        let segment = tcp::Repr {
            src_port: from.1,
            dst_port: to.1,
            seq: conversation.seq[side],
            ack,
            flags,
            window: 64240,
            urgent: 0,
            mss: (flags & tcp::flags::SYN != 0).then_some(1460),
            window_scale: None,
            sack_permitted: false,
            timestamps: None,
            payload,
        };
        let control = u32::from(flags & (tcp::flags::SYN | tcp::flags::FIN) != 0);
        conversation.seq[side] = conversation.seq[side]
            .wrapping_add(payload.len() as u32)
            .wrapping_add(control);
        self.frames
            .push(build::frame(&eth, &Ip::V4(ip), &L4::Tcp(segment)).unwrap());
    }

    /// Opens a conversation with a three-way handshake.
    fn open(&mut self, client: ([u8; 4], u16), server: ([u8; 4], u16)) -> Conversation {
        use tcp::flags::{ACK, SYN};
        let seed = u32::from(client.1) * 7919;
        let mut conversation = Conversation {
            ends: [client, server],
            seq: [seed, seed.wrapping_mul(31)],
        };
        self.segment(&mut conversation, 0, SYN, b"");
        self.segment(&mut conversation, 1, SYN | ACK, b"");
        self.segment(&mut conversation, 0, ACK, b"");
        conversation
    }

    /// Sends each piece as one segment from `side` (0: client, 1: server), each acknowledged.
    fn send(&mut self, conversation: &mut Conversation, side: usize, pieces: &[&[u8]]) {
        use tcp::flags::{ACK, PSH};
        for piece in pieces {
            self.segment(conversation, side, PSH | ACK, piece);
            self.segment(conversation, 1 - side, ACK, b"");
        }
    }

    /// Closes a conversation, `side` first.
    fn close(&mut self, conversation: &mut Conversation, side: usize) {
        use tcp::flags::{ACK, FIN};
        self.segment(conversation, side, FIN | ACK, b"");
        self.segment(conversation, 1 - side, FIN | ACK, b"");
        self.segment(conversation, side, ACK, b"");
    }

    fn write(&self, path: &Path) {
        let file = std::fs::File::create(path).unwrap();
        let mut pcap =
            PcapWriter::new(std::io::BufWriter::new(file), PcapConfig::default()).unwrap();
        for (i, frame) in self.frames.iter().enumerate() {
            let at = 1_709_633_564_000_000_000 + i as i64 * 10_000_000;
            pcap.write_frame(at, frame, frame.len() as u32).unwrap();
        }
        pcap.flush().unwrap();
    }
}

/// Encodes one IPP attribute (RFC 8010 section 3.1.4).
fn ipp_attribute(out: &mut Vec<u8>, tag: u8, name: &str, value: &str) {
    out.push(tag);
    out.extend_from_slice(&(name.len() as u16).to_be_bytes());
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(&(value.len() as u16).to_be_bytes());
    out.extend_from_slice(value.as_bytes());
}

const OPERATOR: [u8; 4] = [10, 20, 0, 5];
const CAMERA: [u8; 4] = [10, 20, 0, 64];
const ROUTER: [u8; 4] = [10, 20, 0, 1];
const PRINTER: [u8; 4] = [10, 20, 0, 80];
const FILES: [u8; 4] = [10, 20, 0, 21];

/// Realistic conversations of an operator's workstation with a camera, a router, a printer, a
/// file server and a switch.
fn written_capture(path: &Path) {
    let mut w = Writer::default();

    // A Hikvision camera: the request head split inside a header line, a Basic challenge.
    let mut c = w.open((OPERATOR, 50001), (CAMERA, 80));
    w.send(
        &mut c,
        0,
        &[
            b"GET /ISAPI/System/deviceInfo HTTP/1.1\r\nHost: Cam-Lobby.example.com:80\r\nUser-Ag",
            b"ent: python-requests/2.31.0\r\nAccept: */*\r\n\r\n",
        ],
    );
    w.send(
        &mut c,
        1,
        &[b"HTTP/1.1 401 Unauthorized\r\nDate: Tue, 05 Mar 2024 10:12:44 GMT\r\n\
Server: App-webs/\r\nContent-Length: 178\r\nContent-Type: text/html\r\n\
WWW-Authenticate: Basic realm=\"DS-2CD2143G0-I\"\r\nConnection: close\r\n\r\n\
<!DOCTYPE html>\r\n<html><head><title>Document Error: Unauthorized</title></head>\r\n\
<body><h2>Access Error: 401 -- Unauthorized</h2>\r\n<p>Authentication Error</p>\r\n</body>\r\n</html>\r\n"],
    );
    w.close(&mut c, 1);

    // An Axis camera over keep-alive: HEAD (its response's length is no body), then GET with
    // a chunked page. (tshark cannot tell a HEAD response pipelined behind another request.)
    let mut c = w.open((OPERATOR, 50002), (CAMERA, 8080));
    w.send(
        &mut c,
        0,
        &[b"HEAD / HTTP/1.1\r\nHost: axis-accc8e012345.local:8080\r\nUser-Agent: curl/8.5.0\r\n\r\n"],
    );
    w.send(
        &mut c,
        1,
        &[b"HTTP/1.1 200 OK\r\nServer: Boa/0.94.14rc21\r\nContent-Type: text/html\r\nContent-Length: 4096\r\n\r\n"],
    );
    w.send(
        &mut c,
        0,
        &[b"GET /axis-cgi/param.cgi?action=list&group=Brand HTTP/1.1\r\n\
Host: axis-accc8e012345.local:8080\r\nUser-Agent: curl/8.5.0\r\nAuthorization: Basic cm9vdDpwYXNz\r\n\r\n"],
    );
    w.send(
        &mut c,
        1,
        &[
            b"HTTP/1.1 200 OK\r\nServer: Boa/0.94.14rc21\r\nContent-Type: text/html; charset=utf-8\r\n\
Transfer-Encoding: chunked\r\n\r\n3b\r\n<html><head><title>AXIS Q1615 Mk III Network ",
            b"Camera</title>\r\nf\r\n</head><body/>\n\r\n0\r\n\r\n",
        ],
    );
    w.close(&mut c, 0);

    // An OpenWrt router: an HTTP/1.0 page delimited by the close.
    let mut c = w.open((OPERATOR, 50003), (ROUTER, 80));
    w.send(
        &mut c,
        0,
        &[b"GET /cgi-bin/luci HTTP/1.0\r\nHost: openwrt.lan\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0\r\n\r\n"],
    );
    w.send(
        &mut c,
        1,
        &[
            b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n",
            b"<meta charset=\"utf-8\">\n<title>OpenWrt - LuCI</title>\n</head>\n<body></body></html>\n",
        ],
    );
    w.close(&mut c, 1);

    // A printer answering Get-Printer-Attributes over IPP.
    let mut request = vec![0x02, 0x00, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x07, 0x01];
    ipp_attribute(&mut request, 0x47, "attributes-charset", "utf-8");
    ipp_attribute(&mut request, 0x48, "attributes-natural-language", "en");
    ipp_attribute(
        &mut request,
        0x45,
        "printer-uri",
        "ipp://10.20.0.80/ipp/print",
    );
    request.push(0x03);
    let mut response = vec![0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x01];
    ipp_attribute(&mut response, 0x47, "attributes-charset", "utf-8");
    ipp_attribute(&mut response, 0x48, "attributes-natural-language", "en");
    response.push(0x04);
    ipp_attribute(
        &mut response,
        0x41,
        "printer-make-and-model",
        "HP LaserJet M507",
    );
    ipp_attribute(
        &mut response,
        0x41,
        "printer-device-id",
        "MFG:HP;MDL:HP LaserJet M507;CMD:PJL,PCL,POSTSCRIPT,PDF;CLS:PRINTER;",
    );
    ipp_attribute(
        &mut response,
        0x41,
        "printer-firmware-string-version",
        "2409048_052549",
    );
    ipp_attribute(
        &mut response,
        0x41,
        "printer-info",
        "Second floor copy room",
    );
    ipp_attribute(
        &mut response,
        0x41,
        "printer-location",
        "Building A, 2nd floor",
    );
    ipp_attribute(&mut response, 0x42, "printer-name", "NPI3C1B2A");
    ipp_attribute(
        &mut response,
        0x45,
        "printer-uuid",
        "urn:uuid:564e4333-4c30-3538-3332-a0b3cc3c1b2a",
    );
    response.push(0x03);
    let mut c = w.open((OPERATOR, 50004), (PRINTER, 631));
    let mut post = format!(
        "POST /ipp/print HTTP/1.1\r\nContent-Length: {}\r\nContent-Type: application/ipp\r\n\
Host: 10.20.0.80:631\r\nUser-Agent: CUPS/2.4.2 (Linux 6.1.0-18-amd64; x86_64) IPP/2.0\r\n\r\n",
        request.len()
    )
    .into_bytes();
    post.extend_from_slice(&request);
    w.send(&mut c, 0, &[&post]);
    let mut answer = format!(
        "HTTP/1.1 200 OK\r\nServer: HP HTTP Server; HP LaserJet M507 - 1PV87A; Serial Number: PHBLL12345\r\n\
Content-Type: application/ipp\r\nContent-Length: {}\r\n\r\n",
        response.len()
    )
    .into_bytes();
    answer.extend_from_slice(&response);
    let (first, second) = answer.split_at(answer.len() - 90);
    w.send(&mut c, 1, &[first, second]);
    w.close(&mut c, 0);

    // vsftpd: a failed login, then a successful one, then SYST.
    let mut c = w.open((OPERATOR, 50005), (FILES, 21));
    let exchanges: [(usize, &[u8]); 11] = [
        (1, b"220 (vsFTPd 3.0.3)\r\n"),
        (0, b"USER admin\r\n"),
        (1, b"331 Please specify the password.\r\n"),
        (0, b"PASS Winter2024!\r\n"),
        (1, b"530 Login incorrect.\r\n"),
        (0, b"USER backup\r\n"),
        (1, b"331 Please specify the password.\r\n"),
        (0, b"PASS s3cret-backup\r\n"),
        (1, b"230 Login successful.\r\n"),
        (0, b"SYST\r\n"),
        (1, b"215 UNIX Type: L8\r\n"),
    ];
    for (side, line) in exchanges {
        w.send(&mut c, side, &[line]);
    }
    w.close(&mut c, 0);

    // A switch's telnet login: terminal type, a refused password, then the prompt.
    let mut c = w.open((OPERATOR, 50006), (ROUTER, 23));
    let exchanges: [(usize, &[u8]); 13] = [
        (1, b"\xff\xfb\x01\xff\xfb\x03\xff\xfd\x18\xff\xfd\x1f"),
        (0, b"\xff\xfd\x01\xff\xfd\x03\xff\xfb\x18\xff\xfc\x1f"),
        (1, b"\xff\xfa\x18\x01\xff\xf0"),
        (0, b"\xff\xfa\x18\x00VT100\xff\xf0"),
        (1, b"\r\n\r\nUser Access Verification\r\n\r\nUsername: "),
        (0, b"admin\r\n"),
        (1, b"admin\r\nPassword: "),
        (0, b"cisco\r\n"),
        (1, b"\r\n% Login invalid\r\n\r\nUsername: "),
        (0, b"admin\r\n"),
        (1, b"admin\r\nPassword: "),
        (0, b"Str0ng-Pass\r\n"),
        (1, b"\r\nSW-CORE-01#"),
    ];
    for (side, bytes) in exchanges {
        w.send(&mut c, side, &[bytes]);
    }
    w.close(&mut c, 0);

    w.write(path);
}

#[test]
fn written_conversations_match_tshark() {
    if common::shared_capture(FTP_CAPTURE).is_none() {
        return; // tshark (or the data directory) is missing.
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("http-ftp-telnet-ipp.pcap");
    written_capture(&path);
    if let Some(keep) = std::env::var_os("IRONWARD_KEEP_CAPTURE") {
        std::fs::copy(&path, keep).unwrap();
    }
    let name = "written capture";
    let (facts, events) = analyze(&path);

    let (messages, coverage, attributes) = check_http(name, &path, &facts);
    assert_eq!(messages, 10, "tshark reads every written HTTP message");
    assert!(
        coverage.values >= 16,
        "only {} HTTP values",
        coverage.values
    );
    for attribute in [
        Attribute::UserAgent,
        Attribute::Hostname,
        Attribute::Software,
        Attribute::Description,
        Attribute::Finding,
        Attribute::Url,
    ] {
        assert!(
            attributes.contains(&attribute),
            "{attribute:?} never compared"
        );
    }
    // Error pages (the camera's 401) describe nothing.
    let descriptions: HashSet<_> = facts
        .iter()
        .filter(|(_, f)| f.attribute == Attribute::Description && f.source == Source::Http)
        .map(|(_, f)| f.value.to_string())
        .collect();
    assert_eq!(
        descriptions,
        HashSet::from([
            "AXIS Q1615 Mk III Network Camera".to_owned(),
            "OpenWrt - LuCI".to_owned(),
        ]),
    );

    assert_eq!(
        check_ipp(name, &path, &facts),
        7,
        "model (make-and-model and MDL agree), vendor, firmware, info, location, name, uuid"
    );

    let (values, logins) = check_ftp(name, &path, &facts, &events);
    assert_eq!(values, 3);
    assert_eq!(
        logins,
        ["FTP login as admin failed", "FTP login as backup succeeded"]
    );

    let (values, logins) = check_telnet(name, &path, &facts, &events);
    assert_eq!(values, 4);
    assert_eq!(logins, ["Telnet login failed", "Telnet login succeeded"]);

    // No password typed anywhere in the written conversations is kept.
    let all = format!("{facts:?}{events:?}");
    for secret in ["cm9vdDpwYXNz", "Winter2024", "s3cret", "cisco", "Str0ng"] {
        assert!(!all.contains(secret), "{secret} kept");
    }
}
