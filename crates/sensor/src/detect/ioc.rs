//! The malware engine's indicator matching: an IoC list ([`ironward_intel::ioc`]) checked
//! against what the traffic shows.
//!
//! - `ip` indicators against both ends of every finished flow (not per packet): the alert is
//!   the other end's, the device that talked with the listed address.
//! - `domain` indicators against hostname facts (DNS answers, TLS SNI, HTTP Host, names devices
//!   give themselves): the alert is the named device's.
//! - `ja3` / `ja4` indicators against the TLS client fingerprint facts: the alert is the client's.
//! - `sha256` indicators against the hash industrial dissectors compute of each file or program
//!   they saw transferred whole (S7 block up/download, UMAS, DNP3 and IEC 104 file transfer,
//!   BACnet file access, MMS file read): once per finished transfer, not per packet. The alert
//!   names the requester and the other end, the protocol, operation and the block or file.
//!
//! One alert per (indicator, device), kind `malware.ioc_<kind>`, repeated matches counted in it.
//! Lookups do not allocate; text is written only for a new alert and for evidence while the
//! alert has room for it.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use ironward_intel::ioc::{Ioc, IocKind, MAX_TECHNIQUES};
pub use ironward_intel::ioc::{IocIssue, IocSet};
use ironward_model::{AlertEngine, Attribute, DeviceKey, Fact};

use super::alerts::{AlertStore, Raise, StableHash, Text};
use super::{EventInput, FlowInput};

/// Technique of an indicator that names none: network indicators are mostly command and
/// control endpoints and tooling, reached over ordinary application protocols.
pub const DEFAULT_TECHNIQUE: &str = "T0869";

/// Reads the IoC list at `path` for [`DetectorConfig::iocs`](super::DetectorConfig): each bad
/// line is logged as a warning (file, line, field, why) and skipped; only reading the file
/// fails.
pub fn load(path: &Path) -> std::io::Result<Arc<IocSet>> {
    let parsed = IocSet::load(path)?;
    for issue in &parsed.issues {
        tracing::warn!("IoC list: {issue} (line skipped)");
    }
    if parsed.issues_not_kept > 0 {
        tracing::warn!(
            "IoC list {}: {} more bad lines skipped",
            path.display(),
            parsed.issues_not_kept
        );
    }
    tracing::info!(
        "IoC list {}: {} indicators",
        path.display(),
        parsed.set.len()
    );
    Ok(Arc::new(parsed.set))
}

/// An IoC list and the matching of it.
#[derive(Debug, Clone)]
pub(crate) struct IocMatcher {
    set: Arc<IocSet>,
}

impl IocMatcher {
    pub(crate) fn new(set: Arc<IocSet>) -> Self {
        Self { set }
    }

    /// A finished flow: both ends against the `ip` indicators.
    pub(crate) fn on_flow(
        &self,
        store: &mut AlertStore,
        flow: &FlowInput,
    ) -> [Option<(u64, bool)>; 2] {
        let (client, server) = (flow.client.ip(), flow.server.ip());
        let mut raised = [None, None];
        for (slot, (listed, device)) in raised.iter_mut().zip([(server, client), (client, server)])
        {
            let Some((index, ioc)) = self.set.match_ip(listed) else {
                continue;
            };
            *slot = Some(raise(
                store,
                &self.set,
                index,
                ioc,
                Device {
                    ip: Some(device),
                    key: 0,
                },
                flow.first_seen,
                flow.frame,
                flow.protocol,
                || {
                    format!(
                        "flow {} -> {} ({} packets) matches {} {} \"{}\" ({}:{})",
                        flow.client,
                        flow.server,
                        flow.packets[0].saturating_add(flow.packets[1]),
                        ioc.kind,
                        ioc.value,
                        ioc.name,
                        self.set.source(),
                        ioc.line
                    )
                },
            ));
        }
        raised
    }

    /// A fact: hostnames against the `domain` indicators, TLS client fingerprints against the
    /// `ja3` and `ja4` ones.
    pub(crate) fn on_fact(
        &self,
        store: &mut AlertStore,
        frame: u64,
        fact: &Fact,
    ) -> Option<(u64, bool)> {
        let value: &str = &fact.value;
        let (index, ioc) = match fact.attribute {
            Attribute::Hostname => self.set.match_domain(value),
            Attribute::Ja3 => self.set.match_ja3(value),
            Attribute::Ja4 => self.set.match_ja4(value),
            _ => None,
        }?;
        let device = match fact.subject {
            DeviceKey::Ip(ip) => Device {
                ip: Some(ip),
                key: 0,
            },
            DeviceKey::Mac(mac) => Device {
                ip: None,
                key: StableHash::default().bytes(&mac.0).finish(),
            },
        };
        Some(raise(
            store,
            &self.set,
            index,
            ioc,
            device,
            fact.seen_at.0,
            frame,
            None,
            || {
                format!(
                    "{} {} of {} ({:?}) matches {} {} \"{}\" ({}:{})",
                    attribute_name(fact.attribute),
                    value,
                    fact.subject,
                    fact.source,
                    ioc.kind,
                    ioc.value,
                    ioc.name,
                    self.set.source(),
                    ioc.line
                )
            },
        ))
    }
}

impl IocMatcher {
    /// A finished file or program transfer with the content's SHA-256 (hex) against the
    /// `sha256` indicators. One alert per (indicator, requester, other end): the requester
    /// (the event's source) is the alert's source.
    pub(crate) fn on_file_transfer(
        &self,
        store: &mut AlertStore,
        event: &EventInput<'_>,
        sha256: &str,
    ) -> Option<(u64, bool)> {
        let (index, ioc) = self.set.match_sha256(sha256)?;
        let mut techniques = [DEFAULT_FILE_TECHNIQUE; MAX_TECHNIQUES];
        let mut count = 0;
        for (slot, id) in techniques.iter_mut().zip(&ioc.techniques) {
            *slot = id;
            count += 1;
        }
        let raise = Raise {
            kind: kind_of(ioc.kind),
            engine: AlertEngine::Malware,
            severity: ioc.severity,
            src: event.src,
            dst: event.dst,
            key: StableHash::default().num(index as u64).finish(),
            protocol: Some(event.protocol),
            techniques: &techniques[..count.max(1)],
            time: event.time,
            frame: Some(event.frame),
        };
        let who = |ip: Option<IpAddr>| ip.map_or_else(|| "?".to_owned(), |ip| ip.to_string());
        Some(store.raise(
            &raise,
            || {
                let mut text = text(&self.set, ioc, event.src);
                text.description.push_str(&format!(
                    " The file was transferred by {} {} ({}) between {} and {}: {}.",
                    event.protocol,
                    event.operation,
                    event.category.as_str(),
                    who(event.src),
                    who(event.dst),
                    event.detail
                ));
                text
            },
            || {
                format!(
                    "{} {} {} -> {} ({}) sha256 {} matches \"{}\" ({}:{})",
                    event.protocol,
                    event.operation,
                    who(event.src),
                    who(event.dst),
                    event.detail,
                    ioc.value,
                    ioc.name,
                    self.set.source(),
                    ioc.line
                )
            },
        ))
    }
}

/// Technique of a `sha256` indicator that names none: a listed file moved to or from a
/// controller is a program download or upload.
pub const DEFAULT_FILE_TECHNIQUE: &str = "T0843";

/// The device an alert is about: its address, or (known only by MAC) a hash of the MAC.
struct Device {
    ip: Option<IpAddr>,
    key: u64,
}

fn attribute_name(attribute: Attribute) -> &'static str {
    match attribute {
        Attribute::Ja3 => "JA3",
        Attribute::Ja4 => "JA4",
        _ => "hostname",
    }
}

/// The alert kind of an indicator kind.
pub fn kind_of(kind: IocKind) -> &'static str {
    match kind {
        IocKind::Ip => "malware.ioc_ip",
        IocKind::Domain => "malware.ioc_domain",
        IocKind::Ja3 => "malware.ioc_ja3",
        IocKind::Ja4 => "malware.ioc_ja4",
        IocKind::Sha256 => "malware.ioc_sha256",
    }
}

#[allow(clippy::too_many_arguments)]
fn raise(
    store: &mut AlertStore,
    set: &IocSet,
    index: usize,
    ioc: &Ioc,
    device: Device,
    time: i64,
    frame: u64,
    protocol: Option<&'static str>,
    evidence: impl FnOnce() -> String,
) -> (u64, bool) {
    // The technique ids borrowed from the list, on the stack: a repeated match must not
    // allocate.
    let mut techniques = [DEFAULT_TECHNIQUE; MAX_TECHNIQUES];
    let mut count = 0;
    for (slot, id) in techniques.iter_mut().zip(&ioc.techniques) {
        *slot = id;
        count += 1;
    }
    let techniques = &techniques[..count.max(1)];
    let raise = Raise {
        kind: kind_of(ioc.kind),
        engine: AlertEngine::Malware,
        severity: ioc.severity,
        src: device.ip,
        dst: None,
        // Per indicator (its index in this list) and device.
        key: StableHash::default()
            .num(index as u64)
            .num(device.key)
            .finish(),
        protocol,
        techniques,
        time,
        frame: Some(frame),
    };
    store.raise(&raise, || text(set, ioc, device.ip), evidence)
}

fn text(set: &IocSet, ioc: &Ioc, device: Option<IpAddr>) -> Text {
    let who = device.map_or_else(|| "A device".to_owned(), |ip| ip.to_string());
    let (title, remediation) = match ioc.kind {
        IocKind::Ip => (
            format!("{who} communicated with a listed address: {} ({})", ioc.name, ioc.value),
            "Block the address at the perimeter, find out which process on the device opened the connection, and check the device for compromise; review the other devices that reached the address.",
        ),
        IocKind::Domain => (
            format!("{who} carries a listed domain name: {} ({})", ioc.name, ioc.value),
            "Block the name in DNS and at the proxy, find the devices that resolved or contacted it, and check them for compromise.",
        ),
        IocKind::Ja3 | IocKind::Ja4 => (
            format!("{who} runs a listed TLS client: {} ({} {})", ioc.name, ioc.kind, ioc.value),
            "Identify the program behind the TLS client fingerprint on the device, isolate the device if it is not legitimate, and block its destinations.",
        ),
        IocKind::Sha256 => (
            format!("{who} transferred a listed file: {} ({})", ioc.name, ioc.value),
            "Treat the controller's program or file as compromised: stop its distribution, restore the controller from a known-good project, and check the engineering workstation that sent or fetched it.",
        ),
    };
    let mut description = format!(
        "Matches the {} indicator {} \"{}\" of the IoC list {} (line {}).",
        ioc.kind,
        ioc.value,
        ioc.name,
        set.source(),
        ioc.line
    );
    for extra in [&ioc.description, &ioc.reference] {
        if !extra.is_empty() {
            description.push(' ');
            description.push_str(extra);
        }
    }
    Text {
        title,
        description,
        remediation: remediation.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::net::SocketAddr;

    use ironward_model::{Severity, Source, Timestamp};

    use super::*;

    const LIST: &str = "\
kind,value,severity,name,techniques,reference,description
ip,203.0.113.0/24,critical,Test range,T0883,ref-1,Test C2 range
domain,*.bad.example,major,Test domain,,,
ja3,00112233445566778899aabbccddeeff,major,Test JA3,,,
ja4,t13d1516h2_8daaf6152771_02713d6af862,minor,Test JA4,,,
sha256,00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff,critical,Test dropper,,,
";

    fn matcher() -> IocMatcher {
        let parsed = IocSet::parse("test.csv", LIST.as_bytes());
        assert!(parsed.issues.is_empty(), "{:?}", parsed.issues);
        IocMatcher::new(Arc::new(parsed.set))
    }

    fn flow(client: &str, server: &str, frame: u64) -> FlowInput {
        FlowInput {
            frame,
            client: client.parse::<SocketAddr>().unwrap(),
            server: server.parse::<SocketAddr>().unwrap(),
            transport: 6,
            has_ports: true,
            protocol: Some("tls"),
            first_seen: 1_000,
            last_seen: 2_000,
            packets: [3, 2],
            payload_bytes: [100, 200],
            answered: true,
            server_is_group: false,
        }
    }

    fn fact(subject: &str, attribute: Attribute, value: &'static str) -> Fact {
        Fact::new(
            DeviceKey::Ip(subject.parse().unwrap()),
            attribute,
            Cow::Borrowed(value),
            Source::Tls,
            Timestamp(5_000),
        )
    }

    #[test]
    fn an_address_match_is_the_other_ends_alert_aggregated_per_indicator() {
        let m = matcher();
        let mut store = AlertStore::default();
        let raised = m.on_flow(&mut store, &flow("10.0.0.5:40000", "203.0.113.9:443", 7));
        assert!(raised[0].is_some_and(|(_, new)| new));
        assert!(raised[1].is_none());
        // Another address of the same block from the same device: the same alert.
        let again = m.on_flow(&mut store, &flow("10.0.0.5:40001", "203.0.113.10:443", 9));
        assert_eq!(again[0].map(|(h, _)| h), raised[0].map(|(h, _)| h));
        // Inbound from the block: the server's alert.
        let inbound = m.on_flow(&mut store, &flow("203.0.113.9:5000", "10.0.0.6:502", 11));
        assert!(inbound[1].is_some_and(|(_, new)| new));
        // Nothing listed: nothing raised.
        assert_eq!(
            m.on_flow(&mut store, &flow("10.0.0.5:1", "10.0.0.6:2", 12)),
            [None, None]
        );
        let alerts = store.take_updated();
        assert_eq!(alerts.len(), 2);
        let outbound = alerts
            .iter()
            .find(|a| a.src_ip == Some("10.0.0.5".parse().unwrap()))
            .unwrap();
        assert_eq!(outbound.kind, "malware.ioc_ip");
        assert_eq!(outbound.engine, AlertEngine::Malware);
        assert_eq!(outbound.severity, Severity::Critical);
        assert_eq!(outbound.count, 2);
        assert_eq!(outbound.techniques[0].id, "T0883");
        assert_eq!(outbound.evidence[0].frame, Some(7));
        assert!(outbound.evidence[0].summary.contains("203.0.113.0/24"));
        assert!(outbound.evidence[1].summary.contains("203.0.113.10:443"));
        assert!(outbound.description.contains("Test C2 range"));
        assert!(outbound.description.contains("test.csv (line 2)"));
    }

    fn transfer(hash_detail: &'static str, frame: u64) -> EventInput<'static> {
        EventInput {
            frame,
            time: 7_000,
            src: Some("10.0.0.5".parse().unwrap()),
            dst: Some("10.0.0.9".parse().unwrap()),
            src_mac: None,
            protocol: "s7comm",
            category: ironward_model::EventCategory::ProgramDownload,
            operation: "download_block",
            detail: hash_detail,
        }
    }

    #[test]
    fn a_listed_file_hash_raises_the_requesters_alert_naming_the_transfer() {
        let m = matcher();
        let mut store = AlertStore::default();
        let listed = "00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff";
        let first = m.on_file_transfer(&mut store, &transfer("block OB1, 120 bytes", 40), listed);
        assert!(first.is_some_and(|(_, new)| new));
        // The same program sent again: the same alert, counted.
        let again = m.on_file_transfer(&mut store, &transfer("block OB1, 120 bytes", 90), listed);
        assert_eq!(again, first.map(|(h, _)| (h, false)));
        let unlisted = "10112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        for hash in [unlisted, "0011", "", &listed[..63]] {
            assert!(m
                .on_file_transfer(&mut store, &transfer("block OB1", 91), hash)
                .is_none());
        }
        let alerts = store.take_updated();
        assert_eq!(alerts.len(), 1);
        let alert = &alerts[0];
        assert_eq!(alert.kind, "malware.ioc_sha256");
        assert_eq!(alert.engine, AlertEngine::Malware);
        assert_eq!(alert.severity, Severity::Critical);
        assert_eq!(alert.count, 2);
        assert_eq!(alert.src_ip, Some("10.0.0.5".parse().unwrap()));
        assert_eq!(alert.dst_ip, Some("10.0.0.9".parse().unwrap()));
        assert_eq!(alert.protocol.as_deref(), Some("s7comm"));
        assert_eq!(alert.techniques[0].id, DEFAULT_FILE_TECHNIQUE);
        assert!(alert.title.contains("Test dropper"), "{}", alert.title);
        assert!(
            alert.description.contains("s7comm download_block")
                && alert.description.contains("block OB1, 120 bytes"),
            "{}",
            alert.description
        );
        assert_eq!(alert.evidence[0].frame, Some(40));
        assert!(alert.evidence[0].summary.contains("10.0.0.5 -> 10.0.0.9"));
    }

    #[test]
    fn hostnames_and_fingerprints_match_with_the_default_technique() {
        let m = matcher();
        let mut store = AlertStore::default();
        let sni = fact("198.51.100.1", Attribute::Hostname, "WWW.Bad.Example");
        assert!(m.on_fact(&mut store, 4, &sni).is_some());
        let ja3 = fact(
            "10.0.0.5",
            Attribute::Ja3,
            "00112233445566778899AABBCCDDEEFF",
        );
        assert!(m.on_fact(&mut store, 4, &ja3).is_some());
        let ja4 = fact(
            "10.0.0.5",
            Attribute::Ja4,
            "t13d1516h2_8daaf6152771_02713d6af862",
        );
        assert!(m.on_fact(&mut store, 4, &ja4).is_some());
        for (attribute, value) in [
            (Attribute::Hostname, "bad.example.org"),
            (Attribute::Ja3, "ffffffffffffffffffffffffffffffff"),
            (Attribute::Vendor, "www.bad.example"),
        ] {
            assert!(m
                .on_fact(&mut store, 5, &fact("10.0.0.5", attribute, value))
                .is_none());
        }
        let alerts = store.take_updated();
        let kinds: Vec<&str> = alerts.iter().map(|a| a.kind.as_str()).collect();
        assert_eq!(kinds.len(), 3);
        for kind in ["malware.ioc_domain", "malware.ioc_ja3", "malware.ioc_ja4"] {
            assert!(kinds.contains(&kind), "{kinds:?}");
        }
        let domain = alerts
            .iter()
            .find(|a| a.kind == "malware.ioc_domain")
            .unwrap();
        assert_eq!(domain.src_ip, Some("198.51.100.1".parse().unwrap()));
        assert_eq!(domain.techniques[0].id, DEFAULT_TECHNIQUE);
        assert_eq!(domain.evidence[0].frame, Some(4));
        assert!(domain.evidence[0].summary.contains("WWW.Bad.Example"));
    }
}
