//! Multicast DNS (RFC 6762) and DNS-based service discovery (RFC 6763), UDP port 5353.
//!
//! An mDNS response is a device announcing its own records, so what it says is announced
//! ([`Source::Mdns`]), not hearsay:
//! - A and AAAA records name an address (the subject is the address in the record, usually the
//!   sender's): its `.local` host name; PTR records for `in-addr.arpa`/`ip6.arpa` names do the
//!   same for the reversed address;
//! - service enumeration (`_services._dns-sd._udp` PTR), service-type PTRs (`_ipp._tcp` →
//!   instance) and the SRV and TXT records of service instances tell which services the sender
//!   offers (`_ipp._tcp`, `_googlecast._tcp`, `_airplay._tcp`, `_hap._tcp`, ...);
//! - an SRV record's target is the sender's host name;
//! - TXT keys carry identity: `ty` (printer make and model), `usb_MFG`/`manufacturer`/`mfg`
//!   (vendor), `usb_MDL`/`md`/`mdl`/`model`/`am`/`rpMd` (model), `fn` (friendly name),
//!   `osxvers`/`os`, `fv`/`firmware`/`srcvers` (firmware), `serialNumber`, `note` (a printer's
//!   location) and `adminurl`;
//! - HINFO gives hardware (model) and operating system.
//!
//! Queries say only what a client looks for, not what it is: they give no facts. Answer and
//! additional records of responses are read (responders put SRV, TXT and addresses in the
//! additional section); authority records only appear in probes.

use ironward_model::{Attribute, DeviceKey, Source};

use crate::dns::{self, Entry, Message, NameBuf, RData, Section, Txt};
use crate::{
    Direction, Dissector, DissectorFactory, DissectorRegistry, FlowMeta, Observations, Transport,
};

/// UDP port of mDNS.
pub const PORT: u16 = 5353;

/// TXT keys (compared ignoring ASCII case, as RFC 6763 §6.4 says) and the attribute their value
/// is. `osxvers` is handled apart: its value is a Darwin major version.
const TXT_KEYS: [(&str, Attribute); 20] = [
    ("ty", Attribute::Model),
    ("usb_MFG", Attribute::Vendor),
    ("manufacturer", Attribute::Vendor),
    ("mfg", Attribute::Vendor),
    ("usb_MDL", Attribute::Model),
    ("md", Attribute::Model),
    ("mdl", Attribute::Model),
    ("model", Attribute::Model),
    ("am", Attribute::Model),
    ("rpMd", Attribute::Model),
    ("fn", Attribute::Hostname),
    ("os", Attribute::Os),
    ("osxvers", Attribute::Os),
    ("fv", Attribute::Firmware),
    ("firmware", Attribute::Firmware),
    ("srcvers", Attribute::Firmware),
    ("serialNumber", Attribute::Serial),
    ("note", Attribute::Location),
    ("adminurl", Attribute::Url),
    ("usb_SN", Attribute::Serial),
];

/// The attribute a TXT key's value is, if the key carries identity.
pub fn txt_attribute(key: &[u8]) -> Option<Attribute> {
    TXT_KEYS
        .iter()
        .find(|(name, _)| name.as_bytes().eq_ignore_ascii_case(key))
        .map(|&(_, attribute)| attribute)
}

/// The service type in a DNS-SD name (`_ipp` and `_tcp` in `HP M507._ipp._tcp.local` or
/// `_universal._sub._ipp._tcp.local`): the label before the first `_tcp` or `_udp` label, if it
/// starts with an underscore.
pub fn service_type<'a>(name: &dns::Name<'a>) -> Option<(&'a [u8], &'a [u8])> {
    let mut previous: Option<&'a [u8]> = None;
    for label in name.labels() {
        if label.eq_ignore_ascii_case(b"_tcp") || label.eq_ignore_ascii_case(b"_udp") {
            return previous
                .filter(|p| p.len() > 1 && p.first() == Some(&b'_'))
                .map(|p| (p, label));
        }
        previous = Some(label);
    }
    None
}

/// Whether `name` is the service enumeration name `_services._dns-sd._udp.<domain>`.
fn is_service_enumeration(name: &dns::Name<'_>) -> bool {
    let mut labels = name.labels();
    [&b"_services"[..], b"_dns-sd", b"_udp"]
        .iter()
        .all(|expected| {
            labels
                .next()
                .is_some_and(|l| l.eq_ignore_ascii_case(expected))
        })
}

/// Reports a service type (`_ipp._tcp`) the sender offers. The `_device-info` pseudo-service
/// only carries a model in its TXT record, and is not reported as a service.
fn report_service(
    service: Option<(&[u8], &[u8])>,
    flow: &FlowMeta,
    direction: Direction,
    out: &mut Observations,
) {
    let Some((kind, transport)) = service else {
        return;
    };
    if kind.eq_ignore_ascii_case(b"_device-info") {
        return;
    }
    let mut value = NameBuf::new();
    value.push(kind);
    value.push(b".");
    value.push(transport);
    out.fact_bytes(
        flow.sender(direction),
        Attribute::Service,
        value.as_bytes(),
        Source::Mdns,
        flow.now,
    );
}

/// Reports the identity keys of a service instance's TXT record.
fn report_txt(txt: &Txt<'_>, subject: DeviceKey, flow: &FlowMeta, out: &mut Observations) {
    for (key, value) in txt.entries() {
        let (Some(attribute), Some(value)) = (txt_attribute(key), value) else {
            continue;
        };
        if key.eq_ignore_ascii_case(b"osxvers") {
            // A Darwin major version (19 is macOS 10.15, 20 is macOS 11, ...).
            let mut text = NameBuf::new();
            text.push(b"macOS (Darwin ");
            text.push(value);
            text.push(b")");
            if !value.is_empty() && value.iter().all(u8::is_ascii_digit) {
                out.fact_bytes(subject, attribute, text.as_bytes(), Source::Mdns, flow.now);
            }
            continue;
        }
        out.fact_bytes(subject, attribute, value, Source::Mdns, flow.now);
    }
}

/// Reports what an mDNS response announces.
fn report(flow: &FlowMeta, direction: Direction, payload: &[u8], out: &mut Observations) {
    let Ok(message) = Message::parse(payload) else {
        return;
    };
    let header = message.header();
    if !header.is_response() || header.opcode() != 0 {
        return;
    }
    let sender = flow.sender(direction);
    for entry in message.entries() {
        let record = match entry {
            Ok(Entry::Record(record)) => record,
            Ok(Entry::Question(_)) => continue,
            Err(_) => break,
        };
        if record.section == Section::Authority || !record.is_internet() {
            continue;
        }
        let Ok(data) = record.data() else {
            continue;
        };
        match data {
            RData::A(_) | RData::Aaaa(_) => {
                if let Some((ip, name)) = dns::address_name(&record) {
                    if dns::is_host_address(ip) {
                        let value = name.to_buf();
                        let key = DeviceKey::Ip(ip);
                        let (attribute, at) = (Attribute::Hostname, flow.now);
                        out.fact_bytes(key, attribute, value.as_bytes(), Source::Mdns, at);
                    }
                }
            }
            RData::Ptr(target) => {
                if let Some(ip) = dns::reverse_address(&record.name) {
                    if dns::is_host_address(ip) {
                        let value = target.to_buf();
                        let key = DeviceKey::Ip(ip);
                        let (attribute, at) = (Attribute::Hostname, flow.now);
                        out.fact_bytes(key, attribute, value.as_bytes(), Source::Mdns, at);
                    }
                } else if is_service_enumeration(&record.name) {
                    report_service(service_type(&target), flow, direction, out);
                } else {
                    report_service(service_type(&record.name), flow, direction, out);
                }
            }
            RData::Srv(srv) => {
                report_service(service_type(&record.name), flow, direction, out);
                let target = srv.target.to_buf();
                let at = flow.now;
                out.fact_bytes(
                    sender,
                    Attribute::Hostname,
                    target.as_bytes(),
                    Source::Mdns,
                    at,
                );
            }
            RData::Txt(txt) => {
                report_service(service_type(&record.name), flow, direction, out);
                report_txt(&txt, sender, flow, out);
            }
            RData::Hinfo { cpu, os } => {
                out.fact_bytes(sender, Attribute::Model, cpu, Source::Mdns, flow.now);
                out.fact_bytes(sender, Attribute::Os, os, Source::Mdns, flow.now);
            }
            RData::Cname(_) | RData::Other(_) => {}
        }
    }
}

/// mDNS: every datagram is one message; only responses are read.
#[derive(Debug, Default)]
struct Mdns;

impl Dissector for Mdns {
    fn protocol(&self) -> &'static str {
        "mdns"
    }

    fn on_datagram(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        payload: &[u8],
        out: &mut Observations,
    ) {
        report(flow, direction, payload, out);
    }
}

/// Takes UDP flows to or from port 5353 (multicast announcements, and unicast answers to
/// one-shot queries from other ports).
#[derive(Debug)]
struct MdnsFactory;

impl DissectorFactory for MdnsFactory {
    fn protocol(&self) -> &'static str {
        "mdns"
    }

    fn select(
        &self,
        flow: &FlowMeta,
        _direction: Direction,
        _first_payload: &[u8],
    ) -> Option<Box<dyn Dissector>> {
        let on_port = flow.client.port() == PORT || flow.server.port() == PORT;
        (flow.transport == Transport::Udp && on_port).then(|| Box::new(Mdns) as Box<dyn Dissector>)
    }
}

/// Adds this module's dissectors to `registry`.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register(Box::new(MdnsFactory));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::rtype;
    use crate::dns::tests::{facts, flow, hex, message, name, record};

    fn run(payload: &[u8], sender: &str) -> Vec<String> {
        let meta = flow(
            Transport::Udp,
            &format!("{sender}:5353"),
            "224.0.0.251:5353",
        );
        let mut dissector = MdnsFactory
            .select(&meta, Direction::ClientToServer, payload)
            .unwrap();
        let mut out = Observations::default();
        dissector.on_datagram(&meta, Direction::ClientToServer, payload, &mut out);
        facts(&mut out)
            .iter()
            .inspect(|f| assert_eq!((f.source, f.confidence), (Source::Mdns, 90)))
            .map(|f| format!("{} {} {}", f.subject, f.attribute.as_str(), f.value))
            .collect()
    }

    /// Frame 4 of zeek_mdns.pcap: a Linux host (avahi) announcing its name for its IPv4 and two
    /// IPv6 addresses, with the reverse PTRs (compressed into the middle of earlier names).
    const AVAHI: &str = "0000840000000006000000001c6a6f68616e6e612d51454d552d5669727475616c2d4d6\
        16368696e65056c6f63616c00001c8001000000000010fd52429ec03c8235883cd6fffee14dc401340163016\
        4013401310165016501660166016601360164016301330138013801350133013201380163013301300163016\
        5013901320134013201350164016603697036046172706100000c8001000000000002c00cc00c001c8001000\
        000000010fd52429ec03c823559685bc61563f82f01660132013801660133013601350131013601630162013\
        50138013601390135c06a000c8001000000000002c00cc00c000180010000000000040a00020701370132013\
        002313007696e2d61646472c08e000c8001000000000002c00c";

    #[test]
    fn real_announcement_names_every_address() {
        let host = "johanna-QEMU-Virtual-Machine.local";
        let v6a = "fd52:429e:c03c:8235:883c:d6ff:fee1:4dc4";
        let v6b = "fd52:429e:c03c:8235:5968:5bc6:1563:f82f";
        let expected: Vec<String> = [v6a, v6a, v6b, v6b, "10.0.2.7", "10.0.2.7"]
            .iter()
            .map(|ip| format!("ip:{ip} hostname {host}"))
            .collect();
        // Each address is named twice (A/AAAA and PTR); the repeat is recorded once.
        let mut deduped = expected.clone();
        deduped.dedup();
        assert_eq!(run(&hex(AVAHI), "10.0.2.7"), deduped);
    }

    #[test]
    fn queries_give_nothing() {
        // Frame 2 of zeek_mdns.pcap: PTR _ipp._tcp.local and _ipps._tcp.local questions.
        let query = hex(
            "000000000002000000000000045f697070045f746370056c6f63616c00000c0001055f\
            69707073c011000c0001",
        );
        assert!(run(&query, "10.0.2.7").is_empty());
        // A query with known answers (and probe records in authority) says nothing either.
        let mut body = name("_ipp._tcp.local");
        body.extend_from_slice(&[0, 12, 0, 1]);
        body.extend(record(
            &[0xc0, 0x0c],
            rtype::PTR,
            1,
            &name("Other._ipp._tcp.local"),
        ));
        assert!(run(&message(0, [1, 1, 0, 0], &body), "10.0.2.7").is_empty());
    }

    /// A printer's announcement as HP printers send it: service enumeration, service and subtype
    /// PTRs, then SRV, TXT and addresses in the additional section.
    fn printer() -> Vec<u8> {
        let instance = "HP LaserJet M507 [A1B2C3]._ipp._tcp.local";
        let mut instance_wire = vec![25];
        instance_wire.extend_from_slice(b"HP LaserJet M507 [A1B2C3]");
        instance_wire.extend(name("_ipp._tcp.local"));
        assert_eq!(instance_wire.len(), name(instance).len());
        let mut body = Vec::new();
        body.extend(record(
            &name("_ipp._tcp.local"),
            rtype::PTR,
            1,
            &instance_wire,
        ));
        body.extend(record(
            &name("_services._dns-sd._udp.local"),
            rtype::PTR,
            1,
            &name("_printer._tcp.local"),
        ));
        body.extend(record(
            &name("_universal._sub._ipps._tcp.local"),
            rtype::PTR,
            1,
            &instance_wire,
        ));
        // Authority records (probes) are not read.
        body.extend(record(
            &name("Probe.local"),
            rtype::A,
            1,
            &[192, 168, 1, 99],
        ));
        let mut srv = vec![0, 0, 0, 0, 0x02, 0x77];
        srv.extend(name("NPIA1B2C3.local"));
        body.extend(record(&instance_wire, rtype::SRV, 0x8001, &srv));
        let mut txt = Vec::new();
        for s in [
            "txtvers=1",
            "ty=HP LaserJet M507",
            "USB_MFG=HP",
            "usb_MDL=LaserJet M507",
            "note=2nd floor",
            "adminurl=http://NPIA1B2C3.local./hp/device/info_config_AirPrint.html",
            "pdl=application/pdf,image/urf",
            "Color=F",
            "fn",
        ] {
            txt.push(s.len() as u8);
            txt.extend_from_slice(s.as_bytes());
        }
        body.extend(record(&instance_wire, rtype::TXT, 0x8001, &txt));
        body.extend(record(
            &name("NPIA1B2C3.local"),
            rtype::A,
            0x8001,
            &[192, 168, 1, 50],
        ));
        let mut v6 = [0u8; 16];
        v6[0] = 0xfe;
        v6[1] = 0x80;
        v6[15] = 0x50;
        body.extend(record(&name("NPIA1B2C3.local"), rtype::AAAA, 0x8001, &v6));
        body.extend(record(
            &name("NPIA1B2C3.local"),
            rtype::NSEC,
            0x8001,
            &[0xc0, 0x0c],
        ));
        // Other classes are not read.
        body.extend(record(
            &name("Chaos.local"),
            rtype::A,
            3,
            &[192, 168, 1, 98],
        ));
        message(0x8400, [0, 3, 1, 6], &body)
    }

    #[test]
    fn printer_services_txt_and_addresses() {
        let got = run(&printer(), "192.168.1.50");
        let s = "ip:192.168.1.50";
        assert_eq!(
            got,
            [
                format!("{s} service _ipp._tcp"),
                format!("{s} service _printer._tcp"),
                format!("{s} service _ipps._tcp"),
                format!("{s} hostname NPIA1B2C3.local"),
                format!("{s} model HP LaserJet M507"),
                format!("{s} vendor HP"),
                format!("{s} model LaserJet M507"),
                format!("{s} location 2nd floor"),
                format!("{s} url http://NPIA1B2C3.local./hp/device/info_config_AirPrint.html"),
                "ip:fe80::50 hostname NPIA1B2C3.local".to_owned(),
            ]
        );
        // The same announcement received again costs nothing new.
        let meta = flow(Transport::Udp, "192.168.1.50:5353", "224.0.0.251:5353");
        let mut out = Observations::default();
        report(&meta, Direction::ClientToServer, &printer(), &mut out);
        let first = facts(&mut out).len();
        report(&meta, Direction::ClientToServer, &printer(), &mut out);
        assert_eq!((first, facts(&mut out).len()), (10, 0));
    }

    #[test]
    fn device_info_hinfo_and_hearsay_free_subjects() {
        let mut txt = Vec::new();
        for s in [
            "model=MacBookPro16,1",
            "osxvers=21",
            "osxvers=x",
            "fv=p20.1.2",
            "serialNumber=C02XYZ",
        ] {
            txt.push(s.len() as u8);
            txt.extend_from_slice(s.as_bytes());
        }
        let mut body = record(&name("Mac._device-info._tcp.local"), rtype::TXT, 1, &txt);
        body.extend(record(
            &name("mac.local"),
            rtype::HINFO,
            1,
            b"\x06X86_64\x05LINUX",
        ));
        // A proxy answering for another address: the name goes to that address.
        body.extend(record(&name("tv.local"), rtype::A, 1, &[192, 168, 1, 77]));
        body.extend(record(
            &name("77.1.168.192.in-addr.arpa"),
            rtype::PTR,
            1,
            &name("tv.local"),
        ));
        body.extend(record(&name("mcast.local"), rtype::A, 1, &[224, 0, 0, 251]));
        let got = run(&message(0x8400, [0, 5, 0, 0], &body), "192.168.1.10");
        let s = "ip:192.168.1.10";
        assert_eq!(
            got,
            [
                format!("{s} model MacBookPro16,1"),
                format!("{s} os macOS (Darwin 21)"),
                format!("{s} firmware p20.1.2"),
                format!("{s} serial C02XYZ"),
                format!("{s} model X86_64"),
                format!("{s} os LINUX"),
                "ip:192.168.1.77 hostname tv.local".to_owned(),
            ]
        );
    }

    #[test]
    fn service_names() {
        let parse = |dotted: &str| {
            let mut bytes = message(0, [1, 0, 0, 0], &name(dotted));
            bytes.extend_from_slice(&[0, 12, 0, 1]);
            let message = Message::parse(&bytes).unwrap();
            let Some(Ok(Entry::Question(q))) = message.entries().next() else {
                panic!("question")
            };
            (
                service_type(&q.name).map(|(a, b)| {
                    format!(
                        "{}.{}",
                        String::from_utf8_lossy(a),
                        String::from_utf8_lossy(b)
                    )
                }),
                is_service_enumeration(&q.name),
            )
        };
        assert_eq!(
            parse("_googlecast._tcp.local"),
            (Some("_googlecast._tcp".into()), false)
        );
        assert_eq!(
            parse("x._hap._TCP.local"),
            (Some("_hap._TCP".into()), false)
        );
        assert_eq!(
            parse("_services._dns-sd._udp.local"),
            (Some("_dns-sd._udp".into()), true)
        );
        assert_eq!(parse("host.local"), (None, false));
        assert_eq!(parse("_tcp.local"), (None, false));
        assert_eq!(parse("_._tcp.local"), (None, false));
        assert_eq!(parse("ipp._tcp.local"), (None, false));
        assert_eq!(txt_attribute(b"USB_mdl"), Some(Attribute::Model));
        assert_eq!(txt_attribute(b"pdl"), None);
    }

    #[test]
    fn factory_takes_udp_5353_only() {
        let one_shot = flow(Transport::Udp, "10.0.0.5:5353", "10.0.0.9:41000");
        assert!(MdnsFactory
            .select(&one_shot, Direction::ClientToServer, &[])
            .is_some());
        let dns = flow(Transport::Udp, "10.0.0.9:41000", "10.0.0.5:53");
        assert!(MdnsFactory
            .select(&dns, Direction::ClientToServer, &[])
            .is_none());
        let tcp = flow(Transport::Tcp, "10.0.0.9:41000", "10.0.0.5:5353");
        assert!(MdnsFactory
            .select(&tcp, Direction::ClientToServer, &[])
            .is_none());
    }
}
