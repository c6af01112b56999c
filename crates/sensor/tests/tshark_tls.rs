//! TLS, SSH and RDP facts compared with tshark, frame by frame, on every shared capture where
//! tshark finds a ClientHello, a certificate, an SSH identification or RDP.
//!
//! - ClientHello frames: `tls.handshake.extensions_server_name` is the hearsay hostname of the
//!   server, `tls.handshake.ja3` the client's JA3. tshark 4.0 has no JA4 field, so the JA4 is
//!   computed here, independently of Ironward's code, from tshark's decode of the same hello
//!   (cipher suites, extension types, the signature_algorithms list, ALPN, versions).
//! - Certificate frames: the first certificate of the message as tshark's X.509 dissector shows
//!   it (subject and issuer RDNs, notBefore/notAfter, subjectAltName dNSNames) makes the expected
//!   `Certificate` fact of the sender; for a server, names equal in subject and issuer make the
//!   self-signed finding and a frame time outside the validity the expired one.
//! - ServerHello frames: the negotiated version (`supported_version` or the hello's version)
//!   below TLS 1.2 makes the legacy-version finding.
//! - SSH: `ssh.protocol` of the server is its `Software`, of the client its `UserAgent`.
//! - RDP: `rdp.rt_cookie` makes the authentication event, `rdp.negReq.selectedProtocol` the
//!   service, `rdp.client.name` the client's hostname.
//!
//! A fact repeated later (same device, attribute and value) is reported once, at its first frame:
//! each expected fact must be in Ironward's log at the first frame tshark calls for it, and every
//! fact Ironward reported from these protocols must be one tshark calls for.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::net::IpAddr;
use std::path::Path;
use std::process::{Command, Stdio};

use ironward_model::{Attribute, DeviceKey, EventCategory, Fact, Finding, Source};
use ironward_proto::observations::clean_value;
use ironward_sensor::capture;
use ironward_sensor::engine::{Analysis, Engine, EngineConfig};

/// Captures in which tshark finds TLS handshakes (`-Y tls.handshake.type==1` over all of them).
const TLS_CAPTURES: [&str; 5] = [
    "tls/zeek_tls1.2.pcap",
    "tls/zeek_tls13_wolfssl.pcap",
    "tls/zeek_tls_client-certificate.pcap",
    "iot-mixed/ndpi_android.pcap",
    "modbus/zeek_modbus-and-non-modbus-p502.pcap",
];

/// Captures with SSH.
const SSH_CAPTURES: [&str; 2] = [
    "ssh/zeek_ssh_kex_curve25519.pcap",
    "ssh/zeek_ssh_single-conn.pcap",
];

/// The capture with RDP.
const RDP_CAPTURE: &str = "rdp/zeek_rdp-x509.pcap";

/// One expected fact: who, what, value.
type Key = (DeviceKey, Attribute, String);

/// Expected facts with the first frame that calls for each.
#[derive(Debug, Default)]
struct Expected {
    first_frame: BTreeMap<Key, u64>,
    /// Frames compared, per kind.
    frames: BTreeMap<&'static str, usize>,
}

impl Expected {
    fn add(&mut self, frame: u64, subject: DeviceKey, attribute: Attribute, value: &str) {
        let value = clean_value(value.as_bytes()).expect("non-empty value");
        let first = self
            .first_frame
            .entry((subject, attribute, value))
            .or_insert(frame);
        *first = (*first).min(frame);
    }

    fn count(&mut self, kind: &'static str) {
        *self.frames.entry(kind).or_default() += 1;
    }
}

/// Compares the expected facts with the log, both ways, for facts from `sources`. Returns the
/// number of values matched.
fn compare(capture: &str, log: &[(u64, Fact)], expected: &Expected, sources: &[Source]) -> usize {
    let mut reported: BTreeMap<Key, u64> = BTreeMap::new();
    for (frame, fact) in log.iter().filter(|(_, f)| sources.contains(&f.source)) {
        let key = (fact.subject, fact.attribute, fact.value.to_string());
        reported.entry(key).or_insert(*frame);
    }
    for (key, frame) in &expected.first_frame {
        assert_eq!(
            reported.get(key),
            Some(frame),
            "{capture}: tshark calls for {key:?} first at frame {frame}; Ironward reported {:?}",
            reported
                .iter()
                .filter(|(k, _)| k.0 == key.0 && k.1 == key.1)
                .collect::<Vec<_>>()
        );
    }
    for (key, frame) in &reported {
        assert!(
            expected.first_frame.contains_key(key),
            "{capture}: Ironward reported {key:?} at frame {frame}, which tshark does not call for"
        );
    }
    expected.first_frame.len()
}

/// A frame's sender or receiver address from tshark's `ip.*` or `ipv6.*` fields.
fn device(v4: &str, v6: &str) -> DeviceKey {
    let text = if v4.is_empty() { v6 } else { v4 };
    DeviceKey::Ip(text.parse::<IpAddr>().expect("an address"))
}

/// A number as tshark prints it: decimal or `0x` hex.
fn number(text: &str) -> u32 {
    match text.strip_prefix("0x") {
        Some(hex) => u32::from_str_radix(hex, 16).expect("hex"),
        None => text.parse().expect("decimal"),
    }
}

fn numbers(joined: &str) -> Vec<u32> {
    joined
        .split(',')
        .filter(|s| !s.is_empty())
        .map(number)
        .collect()
}

fn is_grease(v: u32) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

/// The first 12 hex digits of the SHA-256 of `text`, by coreutils' `sha256sum` (independent of
/// the hash crate Ironward uses).
fn truncated_sha256(text: &str) -> String {
    if text.is_empty() {
        return "000000000000".to_owned();
    }
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sha256sum runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    String::from_utf8(output.stdout).unwrap()[..12].to_owned()
}

/// The whole analysis (with its events) of a capture, flows never timing out as in tshark.
fn analysis(path: &Path) -> Analysis {
    let mut config = EngineConfig::default();
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
    engine.finish()
}

/// JA4 from tshark's fields, following FoxIO's `technical_details/JA4.md`.
fn ja4_from_tshark(
    version: &str,
    supported: &str,
    ciphers: &str,
    extensions: &str,
    sig_lens: &str,
    sigs: &str,
    alpn: &str,
) -> String {
    let ciphers: Vec<u32> = numbers(ciphers)
        .into_iter()
        .filter(|c| !is_grease(*c))
        .collect();
    let all_extensions = numbers(extensions);
    let extensions: Vec<u32> = all_extensions
        .iter()
        .copied()
        .filter(|e| !is_grease(*e))
        .collect();
    let version = numbers(supported)
        .into_iter()
        .filter(|v| !is_grease(*v))
        .max()
        .unwrap_or_else(|| number(version));
    let version = match version {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        _ => "00",
    };
    let sni = if extensions.contains(&0) { 'd' } else { 'i' };
    let first_alpn = alpn.split(',').next().unwrap_or_default();
    let alpn = match (first_alpn.chars().next(), first_alpn.chars().last()) {
        (Some(a), Some(b)) if a.is_ascii_alphanumeric() && b.is_ascii_alphanumeric() => {
            format!("{a}{b}")
        }
        (None, _) | (_, None) => "00".to_owned(),
        _ => panic!("non-alphanumeric ALPN {first_alpn:?} not expected in the captures"),
    };
    // tshark shows the lists of signature_algorithms (13), delegated_credentials (34) and
    // signature_algorithms_cert (50) in one field, each after its length, in extension order:
    // keep the one of extension 13.
    let lens = numbers(sig_lens);
    let all_sigs = numbers(sigs);
    let mut at = 0usize;
    let mut signatures = Vec::new();
    let mut lens = lens.into_iter();
    for ext in &all_extensions {
        if [13, 34, 50].contains(ext) {
            let count = lens.next().expect("a signature list length") as usize / 2;
            if *ext == 13 {
                signatures = all_sigs[at..at + count].to_vec();
            }
            at += count;
        }
    }
    let mut sorted_ciphers = ciphers.clone();
    sorted_ciphers.sort_unstable();
    let cipher_list = sorted_ciphers
        .iter()
        .map(|c| format!("{c:04x}"))
        .collect::<Vec<_>>()
        .join(",");
    let mut sorted_extensions: Vec<u32> = extensions
        .iter()
        .copied()
        .filter(|e| *e != 0 && *e != 16)
        .collect();
    sorted_extensions.sort_unstable();
    let mut extension_list = sorted_extensions
        .iter()
        .map(|e| format!("{e:04x}"))
        .collect::<Vec<_>>()
        .join(",");
    let signatures: Vec<String> = signatures
        .into_iter()
        .filter(|s| !is_grease(*s))
        .map(|s| format!("{s:04x}"))
        .collect();
    if !signatures.is_empty() {
        extension_list.push('_');
        extension_list.push_str(&signatures.join(","));
    }
    format!(
        "t{version}{sni}{:02}{:02}{alpn}_{}_{}",
        ciphers.len().min(99),
        extensions.len().min(99),
        truncated_sha256(&cipher_list),
        truncated_sha256(&extension_list)
    )
}

/// The first certificate of each Certificate message, as tshark's verbose output shows it.
#[derive(Debug, Default, Clone)]
struct TsharkCertificate {
    issuer: Vec<(String, String)>,
    subject: Vec<(String, String)>,
    times: Vec<String>,
    dns_names: Vec<String>,
}

impl TsharkCertificate {
    /// `CN=..., O=...` as Ironward writes names (common names, then organisations).
    fn name(items: &[(String, String)]) -> String {
        let pick = |kind: &str, label: &str| {
            items
                .iter()
                .filter(|(k, _)| k == kind)
                .map(|(_, v)| format!("{label}={v}"))
                .collect::<Vec<_>>()
        };
        let mut parts = pick("id-at-commonName", "CN");
        parts.extend(pick("id-at-organizationName", "O"));
        assert!(!parts.is_empty(), "a name without CN or O: {items:?}");
        parts.join(", ")
    }

    fn describe(&self) -> String {
        let mut out = format!(
            "{}; issuer {}; valid {}..{}",
            Self::name(&self.subject),
            Self::name(&self.issuer),
            &self.times[0][..10],
            &self.times[1][..10]
        );
        for (i, name) in self.dns_names.iter().enumerate() {
            if out.len() > 256 {
                break;
            }
            out.push_str(if i == 0 { "; SAN " } else { "," });
            out.push_str(name);
        }
        out
    }

    fn validity(&self) -> (i64, i64) {
        (unix_time(&self.times[0]), unix_time(&self.times[1]))
    }
}

/// Seconds since the epoch of tshark's `2023-01-04 16:14:07 (UTC)`.
fn unix_time(text: &str) -> i64 {
    let n = |range: std::ops::Range<usize>| text[range].parse::<i64>().expect("digits");
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    let (hh, mm, ss) = (n(11..13), n(14..16), n(17..19));
    // Days from civil (Howard Hinnant).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + hh * 3600 + mm * 60 + ss
}

/// The first certificate of every frame with a Certificate message, by frame number.
fn tshark_certificates(path: &Path) -> HashMap<u64, TsharkCertificate> {
    let text = common::tshark(&[
        "-r",
        path.to_str().unwrap(),
        "-Y",
        "tls.handshake.type == 11",
        "-V",
    ]);
    let mut out = HashMap::new();
    let (mut frame, mut current, mut mode, mut certs) = (0u64, None, "", 0);
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Frame ") {
            if let Some(cert) = current.take() {
                out.insert(frame, cert);
            }
            frame = rest.split(':').next().unwrap().parse().unwrap();
            certs = 0;
            mode = "";
            continue;
        }
        let line = line.trim_start();
        if line.starts_with("Certificate: 30") {
            certs += 1;
            if certs == 1 {
                current = Some(TsharkCertificate::default());
            }
            mode = "";
            continue;
        }
        // The next handshake message ends the first certificate's SANs.
        if line.starts_with("Handshake Protocol:") && certs == 1 {
            mode = "";
            certs = 2;
        }
        let Some(cert) = current.as_mut().filter(|_| certs == 1) else {
            continue;
        };
        if line.starts_with("issuer: rdnSequence") {
            mode = "issuer";
        } else if line.starts_with("subject: rdnSequence") {
            mode = "subject";
        } else if line.starts_with("subjectPublicKeyInfo") {
            mode = "";
        } else if let Some(item) = line
            .strip_prefix("RelativeDistinguishedName item (")
            .and_then(|s| s.strip_suffix(')'))
        {
            let (kind, value) = item.split_once('=').unwrap();
            let pair = (kind.to_owned(), value.to_owned());
            match mode {
                "issuer" => cert.issuer.push(pair),
                "subject" => cert.subject.push(pair),
                _ => {}
            }
        } else if let Some(time) = line
            .strip_prefix("utcTime: ")
            .or_else(|| line.strip_prefix("generalizedTime: "))
        {
            cert.times.push(time.to_owned());
        } else if let Some(name) = line.strip_prefix("dNSName: ") {
            cert.dns_names.push(name.to_owned());
        }
    }
    if let Some(cert) = current.take() {
        out.insert(frame, cert);
    }
    out
}

fn tls_expectations(path: &Path, expected: &mut Expected) {
    // ClientHellos: SNI, JA3, JA4.
    let hellos = common::tshark_fields(
        path,
        "tls.handshake.type == 1",
        &[
            "ip.src",
            "ipv6.src",
            "ip.dst",
            "ipv6.dst",
            "tcp.stream",
            "tls.handshake.extensions_server_name",
            "tls.handshake.ja3",
            "tls.handshake.version",
            "tls.handshake.extensions.supported_version",
            "tls.handshake.ciphersuite",
            "tls.handshake.extension.type",
            "tls.handshake.sig_hash_alg_len",
            "tls.handshake.sig_hash_alg",
            "tls.handshake.extensions_alpn_str",
        ],
    );
    let mut server_of_stream = HashMap::new();
    for (frame, f) in &hellos {
        let [src, src6, dst, dst6, stream, sni, ja3, version, supported, ciphers, extensions, sig_lens, sigs, alpn] =
            &f[..]
        else {
            panic!("fields {f:?}");
        };
        let (client, server) = (device(src, src6), device(dst, dst6));
        server_of_stream.insert(stream.clone(), server);
        if !sni.is_empty() {
            expected.add(*frame, server, Attribute::Hostname, sni);
        }
        assert_eq!(ja3.len(), 32, "frame {frame}: tshark's JA3 {ja3:?}");
        expected.add(*frame, client, Attribute::Ja3, ja3);
        let ja4 = ja4_from_tshark(
            version, supported, ciphers, extensions, sig_lens, sigs, alpn,
        );
        expected.add(*frame, client, Attribute::Ja4, &ja4);
        expected.count("client hello");
    }
    // ServerHellos: legacy versions.
    for (frame, f) in common::tshark_fields(
        path,
        "tls.handshake.type == 2",
        &[
            "ip.src",
            "ipv6.src",
            "tls.handshake.version",
            "tls.handshake.extensions.supported_version",
        ],
    ) {
        let [src, src6, version, supported] = &f[..] else {
            panic!("fields {f:?}");
        };
        let negotiated = numbers(supported)
            .first()
            .copied()
            .unwrap_or_else(|| numbers(version)[0]);
        if negotiated < 0x0303 {
            expected.add(
                frame,
                device(src, src6),
                Attribute::Finding,
                Finding::TlsLegacyVersion.as_str(),
            );
        }
        expected.count("server hello");
    }
    // Certificates.
    let certificates = tshark_certificates(path);
    for (frame, f) in common::tshark_fields(
        path,
        "tls.handshake.type == 11",
        &["ip.src", "ipv6.src", "tcp.stream", "frame.time_epoch"],
    ) {
        let [src, src6, stream, time] = &f[..] else {
            panic!("fields {f:?}");
        };
        let sender = device(src, src6);
        let cert = &certificates[&frame];
        expected.add(frame, sender, Attribute::Certificate, &cert.describe());
        if server_of_stream.get(stream) == Some(&sender) {
            let (not_before, not_after) = cert.validity();
            let now: f64 = time.parse().unwrap();
            let now = now.floor() as i64;
            if now < not_before || now > not_after {
                expected.add(
                    frame,
                    sender,
                    Attribute::Finding,
                    Finding::TlsExpiredCertificate.as_str(),
                );
            }
            if cert.subject == cert.issuer {
                expected.add(
                    frame,
                    sender,
                    Attribute::Finding,
                    Finding::TlsSelfSignedCertificate.as_str(),
                );
            }
        }
        expected.count("certificate");
    }
}

#[test]
fn tls_facts_match_tshark() {
    let mut total: BTreeMap<&str, usize> = BTreeMap::new();
    let mut values = 0;
    let mut attributes = BTreeSet::new();
    for capture in TLS_CAPTURES {
        let Some(path) = common::shared_capture(capture) else {
            return;
        };
        let mut expected = Expected::default();
        tls_expectations(&path, &mut expected);
        let log = common::fact_log(&path);
        values += compare(capture, &log, &expected, &[Source::Tls]);
        attributes.extend(expected.first_frame.keys().map(|k| k.1));
        for (kind, n) in expected.frames {
            *total.entry(kind).or_default() += n;
        }
    }
    eprintln!("tls: frames compared {total:?}, {values} values, attributes {attributes:?}");
    assert!(total["client hello"] >= 22, "{total:?}");
    assert!(total["certificate"] >= 8, "{total:?}");
    for attribute in [
        Attribute::Hostname,
        Attribute::Ja3,
        Attribute::Ja4,
        Attribute::Certificate,
    ] {
        assert!(attributes.contains(&attribute), "{attribute:?} compared");
    }
}

#[test]
fn ssh_facts_match_tshark() {
    let (mut frames, mut values) = (0, 0);
    for capture in SSH_CAPTURES {
        let Some(path) = common::shared_capture(capture) else {
            return;
        };
        let mut expected = Expected::default();
        for (frame, f) in common::tshark_fields(
            &path,
            "ssh.protocol",
            &["ip.src", "ipv6.src", "ssh.direction", "ssh.protocol"],
        ) {
            let [src, src6, direction, banner] = &f[..] else {
                panic!("fields {f:?}");
            };
            // "SSH-2.0-OpenSSH_7.4": what follows the protocol version.
            let software = banner.splitn(3, '-').nth(2).expect("a software version");
            let attribute = if direction == "1" {
                Attribute::Software
            } else {
                Attribute::UserAgent
            };
            expected.add(frame, device(src, src6), attribute, software);
            if direction == "1" {
                let version = banner.split('-').nth(1).unwrap();
                if version.starts_with("1.") && version != "1.99" {
                    expected.add(frame, device(src, src6), Attribute::Finding, "ssh_v1");
                }
            }
            frames += 1;
        }
        let log = common::fact_log(&path);
        values += compare(capture, &log, &expected, &[Source::Ssh]);
    }
    eprintln!("ssh: {frames} frames, {values} values compared");
    assert_eq!(frames, 4);
    assert_eq!(values, 4);
}

#[test]
fn rdp_facts_and_events_match_tshark() {
    let Some(path) = common::shared_capture(RDP_CAPTURE) else {
        return;
    };
    let mut expected = Expected::default();
    let mut cookies = Vec::new();
    let rows = common::tshark_fields(
        &path,
        "rdp",
        &[
            "ip.src",
            "ipv6.src",
            "frame.time_epoch",
            "rdp.rt_cookie",
            "rdp.negReq.selectedProtocol",
            "rdp.client.name",
        ],
    );
    for (frame, f) in &rows {
        let [src, src6, time, cookie, selected, client_name] = &f[..] else {
            panic!("fields {f:?}");
        };
        if let Some(user) = cookie.strip_prefix("Cookie: mstshash=") {
            cookies.push((time.clone(), device(src, src6), user.trim().to_owned()));
        }
        if !selected.is_empty() {
            let name = match number(selected) {
                0 => "rdp",
                1 => "tls",
                2 => "credssp",
                4 => "rdstls",
                8 => "credssp-ex",
                _ => "unknown",
            };
            let service = format!("rdp (security: {name})");
            expected.add(*frame, device(src, src6), Attribute::Service, &service);
        }
        if !client_name.is_empty() {
            expected.add(*frame, device(src, src6), Attribute::Hostname, client_name);
        }
    }
    assert_eq!(cookies.len(), 1, "tshark's cookie frames {rows:?}");
    let log = common::fact_log(&path);
    // The server certificate of Standard RDP Security is not decoded by tshark (raw bytes in
    // rdp.serverCertificate): checked in the unit tests; here it must be the only other fact.
    let certificates: Vec<_> = log
        .iter()
        .filter(|(_, f)| f.source == Source::Rdp && f.attribute == Attribute::Certificate)
        .collect();
    assert_eq!(certificates.len(), 1);
    assert_eq!(
        certificates[0].1.value,
        "CN=ncalrpc:SERVR; issuer CN=SERVR; valid 2013-04-05..2016-12-31"
    );
    let log: Vec<_> = log
        .into_iter()
        .filter(|(_, f)| f.attribute != Attribute::Certificate)
        .collect();
    let values = compare(RDP_CAPTURE, &log, &expected, &[Source::Rdp]);
    assert_eq!(values, 2, "service and client name");

    // The cookie is an authentication event, at the time of the frame that carried it.
    let analysis = analysis(&path);
    let events: Vec<_> = analysis
        .report
        .events
        .iter()
        .filter(|e| e.protocol == "rdp")
        .collect();
    assert_eq!(events.len(), 1, "{events:?}");
    let (time, client, user) = &cookies[0];
    let event = events[0];
    assert_eq!(event.category, EventCategory::Authentication);
    assert_eq!(DeviceKey::Ip(event.src.ip.unwrap()), *client);
    assert_eq!(
        event.detail,
        format!("RDP connection request, cookie user {user}")
    );
    let seconds: f64 = time.parse().unwrap();
    assert!((event.time.as_nanos() as f64 / 1e9 - seconds).abs() < 1e-3);
    eprintln!(
        "rdp: {} frames, {values} values and 1 event compared",
        rows.len()
    );
}
