//! Link-Local Multicast Name Resolution (RFC 4795), UDP port 5355.
//!
//! A client multicasts a question for a single-label name; the host that owns the name answers
//! by unicast with its own addresses. A response's answers are therefore the responder
//! announcing its own name ([`Source::Llmnr`]): an A or AAAA answer names the address it gives,
//! a PTR answer for an `in-addr.arpa`/`ip6.arpa` name names the reversed address. Queries say
//! only what a client looks for and give nothing. LLMNR messages have DNS's layout; the parser is
//! [`crate::dns`]'s.

use ironward_model::{Attribute, DeviceKey, Source};

use crate::dns::{self, Entry, Message, Section};
use crate::{
    Direction, Dissector, DissectorFactory, DissectorRegistry, FlowMeta, Observations, Transport,
};

/// UDP port of LLMNR.
pub const PORT: u16 = 5355;

/// Reports the names a response's answers give addresses.
fn report(flow: &FlowMeta, payload: &[u8], out: &mut Observations) {
    let Ok(message) = Message::parse(payload) else {
        return;
    };
    let header = message.header();
    if !header.is_response() || header.opcode() != 0 || header.rcode() != 0 {
        return;
    }
    for entry in message.entries() {
        let record = match entry {
            Ok(Entry::Question(_)) => continue,
            Ok(Entry::Record(record)) if record.section == Section::Answer => record,
            _ => break,
        };
        let Some((ip, name)) = dns::address_name(&record) else {
            continue;
        };
        if dns::is_host_address(ip) {
            let value = name.to_buf();
            let (attribute, at) = (Attribute::Hostname, flow.now);
            out.fact_bytes(
                DeviceKey::Ip(ip),
                attribute,
                value.as_bytes(),
                Source::Llmnr,
                at,
            );
        }
    }
}

/// LLMNR: every datagram is one message; only responses are read.
#[derive(Debug, Default)]
struct Llmnr;

impl Dissector for Llmnr {
    fn protocol(&self) -> &'static str {
        "llmnr"
    }

    fn on_datagram(
        &mut self,
        flow: &FlowMeta,
        _direction: Direction,
        payload: &[u8],
        out: &mut Observations,
    ) {
        report(flow, payload, out);
    }
}

/// Takes UDP flows to or from port 5355 (queries go to the group, answers come back from 5355
/// to the client's port).
#[derive(Debug)]
struct LlmnrFactory;

impl DissectorFactory for LlmnrFactory {
    fn protocol(&self) -> &'static str {
        "llmnr"
    }

    fn select(
        &self,
        flow: &FlowMeta,
        _direction: Direction,
        _first_payload: &[u8],
    ) -> Option<Box<dyn Dissector>> {
        let on_port = flow.client.port() == PORT || flow.server.port() == PORT;
        (flow.transport == Transport::Udp && on_port).then(|| Box::new(Llmnr) as Box<dyn Dissector>)
    }
}

/// Adds this module's dissectors to `registry`.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register(Box::new(LlmnrFactory));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::rtype;
    use crate::dns::tests::{facts, flow, hex, message, name, record};

    fn run(payload: &[u8]) -> Vec<String> {
        let meta = flow(Transport::Udp, "192.168.1.20:5355", "192.168.1.30:53211");
        let mut dissector = LlmnrFactory
            .select(&meta, Direction::ClientToServer, payload)
            .unwrap();
        let mut out = Observations::default();
        dissector.on_datagram(&meta, Direction::ClientToServer, payload, &mut out);
        facts(&mut out)
            .iter()
            .inspect(|f| assert_eq!((f.source, f.confidence), (Source::Llmnr, 90)))
            .map(|f| format!("{} {} {}", f.subject, f.attribute.as_str(), f.value))
            .collect()
    }

    #[test]
    fn response_names_the_responder() {
        // A Windows host answering "DESKTOP-7Q2" with its IPv4 and link-local IPv6 addresses.
        let mut body = name("DESKTOP-7Q2");
        body.extend_from_slice(&[0, 255, 0, 1]);
        body.extend(record(&[0xc0, 0x0c], rtype::A, 1, &[192, 168, 1, 20]));
        let v6 = hex("fe80000000000000a1b2c3fffed4e5f6");
        body.extend(record(&[0xc0, 0x0c], rtype::AAAA, 1, &v6));
        body.extend(record(
            &name("20.1.168.192.in-addr.arpa"),
            rtype::PTR,
            1,
            &[0xc0, 0x0c],
        ));
        body.extend(record(&[0xc0, 0x0c], rtype::A, 1, &[0, 0, 0, 0]));
        // Authority and additional records are not read.
        body.extend(record(&[0xc0, 0x0c], rtype::A, 1, &[192, 168, 1, 21]));
        let bytes = message(0x8000, [1, 4, 0, 1], &body);
        assert_eq!(
            run(&bytes),
            [
                "ip:192.168.1.20 hostname DESKTOP-7Q2",
                "ip:fe80::a1b2:c3ff:fed4:e5f6 hostname DESKTOP-7Q2",
            ]
        );
    }

    #[test]
    fn queries_and_errors_give_nothing() {
        // Frame 87 of icsnpp_profinet_io_cm_mixed_1.pcap: "kw-VLIPC", type ANY.
        let query = hex("be5000000001000000000000086b772d564c4950430000ff0001");
        assert!(run(&query).is_empty());
        let mut body = name("host");
        body.extend_from_slice(&[0, 1, 0, 1]);
        body.extend(record(&[0xc0, 0x0c], rtype::A, 1, &[192, 168, 1, 20]));
        assert!(run(&message(0x8003, [1, 1, 0, 0], &body)).is_empty());
        assert!(run(&body).is_empty());
    }

    #[test]
    fn factory_takes_udp_5355_only() {
        let query = flow(Transport::Udp, "10.0.0.9:41000", "224.0.0.252:5355");
        assert!(LlmnrFactory
            .select(&query, Direction::ClientToServer, &[])
            .is_some());
        let other = flow(Transport::Udp, "10.0.0.9:41000", "10.0.0.5:5353");
        assert!(LlmnrFactory
            .select(&other, Direction::ClientToServer, &[])
            .is_none());
    }
}
