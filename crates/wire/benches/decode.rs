//! Frames per second of `decode` on typical frames, single-threaded.

use std::hint::black_box;
use std::time::Instant;

use ironward_wire::build::{self, Ip, L4};
use ironward_wire::ethernet::{self, EtherType, VlanTag};
use ironward_wire::ip::IpProtocol;
use ironward_wire::{decode, decode_into, ipv4, ipv6, tcp, udp, LinkType, MacAddr, Packet};

fn eth(vlan: Option<u16>) -> ethernet::Repr {
    ethernet::Repr {
        src_addr: MacAddr([0, 0x80, 0xf4, 1, 2, 3]),
        dst_addr: MacAddr([0, 0x0e, 0x8c, 4, 5, 6]),
        vlan: vlan.map(|id| VlanTag {
            id,
            ..VlanTag::default()
        }),
        ethertype: EtherType(0),
    }
}

fn main() {
    let payload = [0u8; 64];
    let tcp = tcp::Repr {
        src_port: 50000,
        dst_port: 502,
        seq: 1,
        ack: 2,
        flags: tcp::flags::ACK | tcp::flags::PSH,
        window: 1024,
        urgent: 0,
        mss: None,
        window_scale: None,
        sack_permitted: false,
        timestamps: Some((1, 2)),
        payload: &payload,
    };
    let v4 = ipv4::Repr {
        src_addr: [10, 0, 0, 1].into(),
        dst_addr: [10, 0, 0, 2].into(),
        protocol: IpProtocol::TCP,
        payload_len: 0,
        ttl: 64,
        tos: 0,
        identification: 1,
        dont_fragment: true,
        more_fragments: false,
        fragment_offset: 0,
    };
    let v6 = ipv6::Repr {
        src_addr: "fe80::1".parse().expect("ip"),
        dst_addr: "fe80::2".parse().expect("ip"),
        next_header: IpProtocol::UDP,
        payload_len: 0,
        hop_limit: 64,
        traffic_class: 0,
        flow_label: 0,
    };
    let udp = udp::Repr {
        src_port: 47808,
        dst_port: 47808,
        payload: &payload[..20],
    };
    let cases = [
        (
            "ethernet/ipv4/tcp",
            build::frame(&eth(None), &Ip::V4(v4), &L4::Tcp(tcp)),
        ),
        (
            "ethernet/vlan/ipv4/tcp",
            build::frame(&eth(Some(7)), &Ip::V4(v4), &L4::Tcp(tcp)),
        ),
        (
            "ethernet/ipv6/udp",
            build::frame(&eth(None), &Ip::V6(v6), &L4::Udp(udp)),
        ),
    ];
    for (name, frame) in cases {
        let frame = frame.expect("frame");
        let n = 20_000_000u32;
        let start = Instant::now();
        for _ in 0..n {
            black_box(decode(LinkType::ETHERNET, black_box(&frame)));
        }
        let secs = start.elapsed().as_secs_f64();
        report(name, "decode", n, secs);
        let mut pkt = Packet::empty();
        let start = Instant::now();
        for _ in 0..n {
            decode_into(LinkType::ETHERNET, black_box(&frame), &mut pkt);
            black_box(&pkt);
        }
        report(name, "decode_into", n, start.elapsed().as_secs_f64());
    }
}

fn report(case: &str, function: &str, n: u32, secs: f64) {
    println!(
        "{case:24} {function:12} {:6.1} ns/frame {:7.1} Mframes/s",
        secs * 1e9 / f64::from(n),
        f64::from(n) / secs / 1e6
    );
}
