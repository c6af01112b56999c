#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A dissector that shows the flow's first sender to be the server (a device answering a
//! broadcast request over unicast, on UDP with the same port at both ends) turns the connection
//! and the device's services the right way round.

mod common;

use common::frames::{Conversation, Host};
use ironward_proto::{
    Direction, Dissector, DissectorFactory, DissectorRegistry, FlowMeta, Observations, Transport,
};

const PORT: u16 = 47_999;

/// Says the first sender answered: every datagram starting with `A` is an answer.
struct Answers {
    first_is_answer: Option<bool>,
}

impl Dissector for Answers {
    fn protocol(&self) -> &'static str {
        "answers"
    }

    fn on_datagram(&mut self, _: &FlowMeta, _: Direction, payload: &[u8], _: &mut Observations) {
        self.first_is_answer
            .get_or_insert(payload.first() == Some(&b'A'));
    }

    fn roles_reversed(&self) -> bool {
        self.first_is_answer == Some(true)
    }
}

struct Factory;

impl DissectorFactory for Factory {
    fn protocol(&self) -> &'static str {
        "answers"
    }

    fn select(&self, flow: &FlowMeta, _: Direction, _: &[u8]) -> Option<Box<dyn Dissector>> {
        (flow.transport == Transport::Udp && flow.server.port() == PORT).then(|| {
            Box::new(Answers {
                first_is_answer: None,
            }) as Box<dyn Dissector>
        })
    }
}

fn registry() -> DissectorRegistry {
    let mut registry = DissectorRegistry::new();
    registry.register(Box::new(Factory));
    registry
}

#[test]
fn the_answering_side_is_the_server() {
    let device = Host::new([0x00, 0x80, 0xf4, 0, 0, 1], [10, 0, 0, 1]);
    let poller = Host::new([0x00, 0x80, 0xf4, 0, 0, 2], [10, 0, 0, 2]);
    let mut capture = Conversation::default();
    // The device answers first (to a request that went to the broadcast address), then the
    // poller asks over unicast and the device answers again.
    capture.udp(device, poller, (PORT, PORT), b"A i-am");
    capture.udp(poller, device, (PORT, PORT), b"Q read");
    capture.udp(device, poller, (PORT, PORT), b"A value");
    let report = capture.analyze_with(registry());
    let connection = report
        .connections
        .iter()
        .find(|c| c.protocol.as_deref() == Some("answers"))
        .unwrap();
    assert_eq!(connection.a_ip, poller.ip);
    assert_eq!(connection.b_ip, device.ip);
    let server = report
        .devices
        .iter()
        .find(|d| d.ips.contains(&device.ip.into()))
        .unwrap();
    assert_eq!(server.protocols.server, vec!["answers".to_owned()]);
    assert!(server.services.iter().any(|s| s.port == PORT));
    let client = report
        .devices
        .iter()
        .find(|d| d.ips.contains(&poller.ip.into()))
        .unwrap();
    assert_eq!(client.protocols.client, vec!["answers".to_owned()]);
    assert!(client.protocols.server.is_empty());
}

#[test]
fn a_broadcast_answer_keeps_the_flow_as_it_is() {
    let device = Host::new([0x00, 0x80, 0xf4, 0, 0, 1], [10, 0, 0, 1]);
    let everyone = Host::new([0xff; 6], [10, 0, 0, 255]);
    let mut capture = Conversation::default();
    // An announcement to the broadcast address: the group is no client to make of it.
    capture.udp(device, everyone, (PORT, PORT), b"A i-am");
    let report = capture.analyze_with(registry());
    let connection = report
        .connections
        .iter()
        .find(|c| c.protocol.as_deref() == Some("answers"))
        .unwrap();
    assert_eq!(connection.a_ip, device.ip);
    assert_eq!(connection.b_ip, everyone.ip);
    assert!(report
        .devices
        .iter()
        .all(|d| !d.ips.contains(&everyone.ip.into())));
}
