//! Fuzzes the frame decoder. The first input byte picks one of the supported link types (or,
//! beyond them, an unsupported one), the rest is the frame. Besides not panicking, the decoder
//! must keep every slice it returns inside the frame, give the same result in place, report an
//! error whenever it decoded no network layer from a supported link type, and agree with
//! `decode_transport` when that is given the IP payload of a whole (unfragmented) packet.

#![no_main]

use std::net::{IpAddr, Ipv4Addr};

use ironward_wire::{
    decode, decode_into, decode_transport, decode_transport_detailed, DecodeErrorKind, Layer,
    LinkType, Network, Packet, Transport,
};
use libfuzzer_sys::fuzz_target;

const LINK_TYPES: [LinkType; 8] = [
    LinkType::ETHERNET,
    LinkType::NULL,
    LinkType::RAW,
    LinkType::LOOP,
    LinkType::LINUX_SLL,
    LinkType::IPV4,
    LinkType::IPV6,
    LinkType::LINUX_SLL2,
];

fn inside(frame: &[u8], s: &[u8]) -> bool {
    let f = frame.as_ptr_range();
    let r = s.as_ptr_range();
    s.is_empty() || (f.start <= r.start && r.end <= f.end)
}

fn transport_slice<'a>(t: &Transport<'a>) -> Option<&'a [u8]> {
    match *t {
        Transport::Tcp(_, s)
        | Transport::Udp { payload: s, .. }
        | Transport::Icmpv4 { body: s, .. }
        | Transport::Icmpv6 { body: s, .. }
        | Transport::Other { payload: s, .. } => Some(s),
        Transport::None | Transport::Fragment => None,
    }
}

fn check(frame: &[u8], p: &Packet<'_>) {
    match p.network {
        Network::Ipv4(v4) => {
            assert!(inside(frame, v4.options) && inside(frame, v4.payload));
            assert!(v4.payload.len() <= usize::from(v4.total_len));
            assert!(v4.options.len() + 20 <= usize::from(v4.header_len));
        }
        Network::Ipv6(v6) => {
            assert!(inside(frame, v6.payload));
            assert!(v6.payload.len() + 40 <= frame.len());
        }
        Network::Other { payload, .. } => assert!(inside(frame, payload)),
        Network::None | Network::Arp(_) => {}
    }
    if let Some(s) = transport_slice(&p.transport) {
        assert!(inside(frame, s));
        assert!(s.len() <= p.ip_payload().map_or(frame.len(), <[u8]>::len));
    }
    if let Transport::Tcp(t, _) = p.transport {
        assert!(usize::from(t.sack_count) <= t.sack_blocks.len());
    }
    if !matches!(p.transport, Transport::None) {
        assert!(matches!(p.network, Network::Ipv4(_) | Network::Ipv6(_)));
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, frame)) = data.split_first() else {
        return;
    };
    let linktype = LINK_TYPES
        .get(usize::from(selector))
        .copied()
        .unwrap_or(LinkType(u32::from(selector) + 1000));
    let p = decode(linktype, frame);
    check(frame, &p);
    // Decoding in place over a packet left from another frame must forget all of it.
    let other = decode(LinkType::ETHERNET, frame);
    let mut reused = other;
    decode_into(linktype, frame, &mut reused);
    assert_eq!(reused, p);

    if !linktype.is_supported() {
        assert_eq!(p.network, Network::None);
        let e = p.error.expect("unsupported link types are reported");
        assert_eq!(
            (e.layer, e.kind),
            (Layer::Link, DecodeErrorKind::UnsupportedLinkType)
        );
        return;
    }
    if p.network == Network::None {
        assert!(p.error.is_some(), "no network layer and no error");
    }

    let (Some(protocol), Some(payload), Some((src, dst))) =
        (p.ip_protocol(), p.ip_payload(), p.ip_pair())
    else {
        return;
    };
    match p.transport {
        // What a reassembler would do once it has the whole payload.
        Transport::Fragment | Transport::Other { .. } => {
            if let Ok(t) = decode_transport(protocol, src, dst, payload) {
                if let Some(s) = transport_slice(&t) {
                    assert!(inside(payload, s));
                }
            }
            let any = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
            let (t, e) = decode_transport_detailed(protocol, payload);
            match decode_transport(protocol, any, any, payload) {
                Ok(t2) => assert_eq!(t2, t),
                Err(e2) => assert_eq!((t, e), (Transport::None, Some(e2))),
            }
        }
        // Decoding the same payload again gives the same transport. The error may differ: a
        // length field running past a payload cut by the capture is a truncation in `decode`
        // but malformed for a payload given as whole.
        t if p.error.is_none() => {
            assert_eq!(decode_transport_detailed(protocol, payload).0, t);
        }
        _ => {}
    }
});
