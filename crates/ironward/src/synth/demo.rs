//! The demo capture: a small plant network, generated frame by frame with the wire crate's
//! builders so that the project ships no capture it did not make itself.
//!
//! The plant, on 10.10.1.0/24 behind a Cisco router (10.10.1.1):
//! * an HMI (Dell) polls a Schneider Modicon PLC over Modbus/TCP;
//! * an engineering workstation (Dell) opens an S7 session to a Siemens S7 PLC, resolves names
//!   through the router, and reaches three internet hosts over HTTPS through the router — so
//!   the router is recognised by the many addresses behind its MAC;
//! * a historian (Advantech) talks EtherNet/IP to a Rockwell controller;
//! * an unknown Raspberry Pi scans the Modicon (only port 502 answers);
//! * a phone with a randomised MAC announces itself over mDNS;
//! * the workstation and router do IPv6 Neighbor Discovery;
//! * on VLAN 20, an Axis camera sends video over UDP to a recorder, one datagram fragmented;
//!   it announces itself over SSDP and the recorder fetches its UPnP description and a snapshot
//!   (HTTP Basic in clear text);
//! * the office side: a laptop gets its address over DHCP (host name, vendor class), an HP
//!   printer behind an Intel NIC announces itself over mDNS and answers PJL, a Cisco switch
//!   sends LLDP, answers SNMP to the `public` community, SSH and Telnet (a failed login), a
//!   Moxa IoT gateway publishes to an MQTT broker without credentials, a Cisco IP phone
//!   registers over SIP, and the workstation's TLS ClientHellos carry SNI and ALPN;
//! * the plant's operations (see `plant.rs`): the HMI reads the Modicon's device
//!   identification, the Raspberry Pi writes 30 holding registers, the engineering workstation
//!   identifies the S7-1500, downloads OB1, stops and restarts the CPU, and the historian lists
//!   the Logix controller's identity and reads a tag.

mod plant;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use anyhow::Context;
use ironward_sensor::capture::{InterfaceConfig, PcapngWriter};
use ironward_wire::build::{self, Ip, L4};
use ironward_wire::ethernet::{self, EtherType, VlanTag};
use ironward_wire::{arp, checksum, ipv4, ipv6, tcp, udp, IpProtocol, MacAddr};

/// A host of the demo network.
#[derive(Debug, Clone, Copy)]
struct Host {
    mac: MacAddr,
    ip: Ipv4Addr,
    vlan: Option<u16>,
}

/// A host; VLAN 0 means untagged.
const fn host(mac: [u8; 6], ip: [u8; 4], vlan: u16) -> Host {
    Host {
        mac: MacAddr(mac),
        ip: Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]),
        vlan: if vlan == 0 { None } else { Some(vlan) },
    }
}

const ROUTER: Host = host([0x00, 0x00, 0x0c, 0x9f, 0xf0, 0x01], [10, 10, 1, 1], 0);
const MODICON: Host = host([0x00, 0x80, 0xf4, 0x12, 0x34, 0x56], [10, 10, 1, 10], 0);
const S7_PLC: Host = host([0x00, 0x1b, 0x1b, 0x6a, 0x10, 0x22], [10, 10, 1, 11], 0);
const LOGIX: Host = host([0x00, 0x1d, 0x9c, 0xc8, 0x02, 0x11], [10, 10, 1, 12], 0);
const HMI: Host = host([0x00, 0x14, 0x22, 0x01, 0x02, 0x03], [10, 10, 1, 20], 0);
const WORKSTATION: Host = host([0x00, 0x14, 0x22, 0x0a, 0x0b, 0x0c], [10, 10, 1, 30], 0);
const HISTORIAN: Host = host([0x00, 0x0b, 0xab, 0x44, 0x55, 0x66], [10, 10, 1, 40], 0);
const SCANNER: Host = host([0xb8, 0x27, 0xeb, 0x66, 0x66, 0x66], [10, 10, 1, 66], 0);
const PHONE: Host = host([0xda, 0xa1, 0x19, 0x3e, 0x5f, 0x70], [10, 10, 1, 77], 0);
const CAMERA: Host = host([0x3c, 0x6a, 0x9d, 0x00, 0x00, 0x05], [10, 10, 20, 5], 20);
const RECORDER: Host = host([0x00, 0xe0, 0x4c, 0x00, 0x00, 0x06], [10, 10, 20, 6], 20);
const SWITCH: Host = host([0x00, 0x1c, 0x0e, 0x5a, 0x00, 0x01], [10, 10, 1, 2], 0);
/// An HP printer whose network card carries an Intel OUI.
const PRINTER: Host = host([0x00, 0x1b, 0x21, 0x3d, 0x4e, 0x5f], [10, 10, 1, 60], 0);
const LAPTOP: Host = host([0x00, 0x14, 0x22, 0x77, 0x88, 0x99], [10, 10, 1, 101], 0);
const GATEWAY: Host = host([0x00, 0x90, 0xe8, 0x11, 0x22, 0x33], [10, 10, 1, 50], 0);
const DESK_PHONE: Host = host([0x00, 0x1e, 0x7a, 0x45, 0x67, 0x89], [10, 10, 1, 80], 0);
/// Internet hosts (documentation ranges, RFC 5737) reached through the router.
const INTERNET: [Ipv4Addr; 3] = [
    Ipv4Addr::new(203, 0, 113, 10),
    Ipv4Addr::new(198, 51, 100, 20),
    Ipv4Addr::new(192, 0, 2, 30),
];

/// Start of the demo timeline: 2026-03-02 08:00:00 UTC.
const START_NS: i64 = 1_772_438_400_000_000_000;

/// Frames of the scenario in time order.
struct Scenario {
    now_ns: i64,
    frames: Vec<(i64, Vec<u8>)>,
    ip_id: u16,
}

fn eth(src: MacAddr, dst: MacAddr, vlan: Option<u16>) -> ethernet::Repr {
    ethernet::Repr {
        src_addr: src,
        dst_addr: dst,
        vlan: vlan.map(|id| VlanTag {
            id,
            priority: 0,
            drop_eligible: false,
        }),
        ethertype: EtherType::IPV4,
    }
}

impl Scenario {
    fn new() -> Self {
        Self {
            now_ns: START_NS,
            frames: Vec::new(),
            ip_id: 0x1000,
        }
    }

    fn advance_ms(&mut self, ms: i64) {
        self.now_ns += ms * 1_000_000;
    }

    fn push(&mut self, frame: Vec<u8>) {
        self.frames.push((self.now_ns, frame));
        // Frames are at least 150 µs apart, as on a real segment.
        self.now_ns += 150_000;
    }

    fn ipv4(&mut self, src: Ipv4Addr, dst: Ipv4Addr, ttl: u8) -> ipv4::Repr {
        self.ip_id = self.ip_id.wrapping_add(1);
        ipv4::Repr {
            src_addr: src,
            dst_addr: dst,
            protocol: IpProtocol::TCP,
            payload_len: 0,
            ttl,
            tos: 0,
            identification: self.ip_id,
            dont_fragment: true,
            more_fragments: false,
            fragment_offset: 0,
        }
    }

    fn arp_exchange(&mut self, asker: Host, target: Host) -> anyhow::Result<()> {
        let request = arp::Repr {
            operation: 1,
            sender_mac: asker.mac,
            sender_ip: asker.ip,
            target_mac: MacAddr::ZERO,
            target_ip: target.ip,
        };
        self.push(build::ethernet_arp(
            &eth(asker.mac, MacAddr::BROADCAST, asker.vlan),
            &request,
        )?);
        let reply = arp::Repr {
            operation: 2,
            sender_mac: target.mac,
            sender_ip: target.ip,
            target_mac: asker.mac,
            target_ip: asker.ip,
        };
        self.push(build::ethernet_arp(
            &eth(target.mac, asker.mac, target.vlan),
            &reply,
        )?);
        Ok(())
    }

    /// One TCP segment from `from` (at `from_ip`) to `to`, sent to `next_hop`'s MAC.
    #[allow(clippy::too_many_arguments)]
    fn tcp_segment(
        &mut self,
        from: (MacAddr, Ipv4Addr, u16),
        to: (MacAddr, Ipv4Addr, u16),
        seq: u32,
        ack: u32,
        flags: u8,
        payload: &[u8],
        vlan: Option<u16>,
    ) -> anyhow::Result<()> {
        let syn = flags & tcp::flags::SYN != 0;
        let segment = tcp::Repr {
            src_port: from.2,
            dst_port: to.2,
            seq,
            ack,
            flags,
            window: 64_240,
            urgent: 0,
            mss: syn.then_some(1460),
            window_scale: syn.then_some(7),
            sack_permitted: syn,
            timestamps: None,
            payload,
        };
        let ip = self.ipv4(from.1, to.1, 64);
        self.push(build::ethernet_ipv4_tcp(
            &eth(from.0, to.0, vlan),
            &ip,
            &segment,
        )?);
        Ok(())
    }

    /// A whole TCP session: handshake, request/response exchanges, orderly close.
    #[allow(clippy::too_many_arguments)]
    fn tcp_session(
        &mut self,
        client: (MacAddr, Ipv4Addr, u16),
        server: (MacAddr, Ipv4Addr, u16),
        exchanges: &[(&[u8], &[u8])],
        gap_ms: i64,
        vlan: Option<u16>,
    ) -> anyhow::Result<()> {
        use tcp::flags::{ACK, FIN, PSH, SYN};
        let (mut c_seq, mut s_seq) = (0x1000_0000u32 ^ u32::from(client.2), 0x7000_0000u32);
        self.tcp_segment(client, server, c_seq, 0, SYN, &[], vlan)?;
        self.tcp_segment(server, client, s_seq, c_seq + 1, SYN | ACK, &[], vlan)?;
        c_seq += 1;
        s_seq += 1;
        self.tcp_segment(client, server, c_seq, s_seq, ACK, &[], vlan)?;
        for (request, response) in exchanges {
            self.advance_ms(gap_ms);
            self.tcp_segment(client, server, c_seq, s_seq, PSH | ACK, request, vlan)?;
            c_seq = c_seq.wrapping_add(request.len() as u32);
            self.tcp_segment(server, client, s_seq, c_seq, PSH | ACK, response, vlan)?;
            s_seq = s_seq.wrapping_add(response.len() as u32);
            self.tcp_segment(client, server, c_seq, s_seq, ACK, &[], vlan)?;
        }
        self.tcp_segment(client, server, c_seq, s_seq, FIN | ACK, &[], vlan)?;
        self.tcp_segment(server, client, s_seq, c_seq + 1, FIN | ACK, &[], vlan)?;
        self.tcp_segment(client, server, c_seq + 1, s_seq + 1, ACK, &[], vlan)?;
        Ok(())
    }

    fn udp(
        &mut self,
        from: (MacAddr, Ipv4Addr, u16),
        to: (MacAddr, Ipv4Addr, u16),
        payload: &[u8],
        vlan: Option<u16>,
    ) -> anyhow::Result<()> {
        let ip = self.ipv4(from.1, to.1, 64);
        let datagram = udp::Repr {
            src_port: from.2,
            dst_port: to.2,
            payload,
        };
        self.push(build::ethernet_ipv4_udp(
            &eth(from.0, to.0, vlan),
            &ip,
            &datagram,
        )?);
        Ok(())
    }

    /// A UDP datagram sent as two IPv4 fragments.
    fn fragmented_udp(
        &mut self,
        from: (MacAddr, Ipv4Addr, u16),
        to: (MacAddr, Ipv4Addr, u16),
        payload: &[u8],
        vlan: Option<u16>,
    ) -> anyhow::Result<()> {
        let (src, dst) = (IpAddr::V4(from.1), IpAddr::V4(to.1));
        let datagram = udp::Repr {
            src_port: from.2,
            dst_port: to.2,
            payload,
        };
        let mut whole = vec![0u8; datagram.buffer_len()];
        datagram
            .emit(&mut whole, src, dst)
            .map_err(|_| anyhow::anyhow!("building a UDP datagram"))?;
        let split = 1480usize.min(whole.len() / 2) & !7;
        let mut ip = self.ipv4(from.1, to.1, 64);
        ip.dont_fragment = false;
        for (offset, part, more) in [(0, &whole[..split], true), (split, &whole[split..], false)] {
            let header = ipv4::Repr {
                more_fragments: more,
                fragment_offset: offset as u16,
                protocol: IpProtocol::UDP,
                ..ip
            };
            let l4 = L4::Raw {
                protocol: 17,
                payload: part,
            };
            let frame = build::frame(&eth(from.0, to.0, vlan), &Ip::V4(header), &l4)
                .map_err(|_| anyhow::anyhow!("building a fragment"))?;
            self.push(frame);
        }
        Ok(())
    }

    /// An ICMPv6 message with its checksum, from `src_mac`/`src` to `dst_mac`/`dst`.
    fn icmpv6(
        &mut self,
        (src_mac, src): (MacAddr, Ipv6Addr),
        (dst_mac, dst): (MacAddr, Ipv6Addr),
        mut message: Vec<u8>,
    ) -> anyhow::Result<()> {
        let sum = checksum::transport(src.into(), dst.into(), 58, &message);
        message[2..4].copy_from_slice(&sum.to_be_bytes());
        let ip = ipv6::Repr {
            src_addr: src,
            dst_addr: dst,
            next_header: IpProtocol::ICMPV6,
            payload_len: 0,
            hop_limit: 255,
            traffic_class: 0,
            flow_label: 0,
        };
        let l4 = L4::Raw {
            protocol: 58,
            payload: &message,
        };
        let mut e = eth(src_mac, dst_mac, None);
        e.ethertype = EtherType::IPV6;
        self.push(
            build::frame(&e, &Ip::V6(ip), &l4).map_err(|_| anyhow::anyhow!("building ICMPv6"))?,
        );
        Ok(())
    }
}

fn link_local(mac: MacAddr) -> Ipv6Addr {
    let m = mac.0;
    Ipv6Addr::new(
        0xfe80,
        0,
        0,
        0,
        u16::from_be_bytes([m[0] ^ 0x02, m[1]]),
        u16::from_be_bytes([m[2], 0xff]),
        u16::from_be_bytes([0xfe, m[3]]),
        u16::from_be_bytes([m[4], m[5]]),
    )
}

fn solicited_node(target: Ipv6Addr) -> (MacAddr, Ipv6Addr) {
    let t = target.octets();
    let group = Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(t[13]),
        u16::from_be_bytes([t[14], t[15]]),
    );
    (MacAddr([0x33, 0x33, 0xff, t[13], t[14], t[15]]), group)
}

/// Modbus/TCP "read holding registers" request and its response, transaction `id`.
fn modbus_read(id: u16, address: u16, values: &[u16]) -> (Vec<u8>, Vec<u8>) {
    let mut request = Vec::new();
    request.extend_from_slice(&id.to_be_bytes());
    request.extend_from_slice(&[0, 0, 0, 6, 1, 3]);
    request.extend_from_slice(&address.to_be_bytes());
    request.extend_from_slice(&(values.len() as u16).to_be_bytes());
    let mut response = Vec::new();
    response.extend_from_slice(&id.to_be_bytes());
    response.extend_from_slice(&[0, 0]);
    response.extend_from_slice(&((3 + 2 * values.len()) as u16).to_be_bytes());
    response.extend_from_slice(&[1, 3, (2 * values.len()) as u8]);
    for v in values {
        response.extend_from_slice(&v.to_be_bytes());
    }
    (request, response)
}

/// A DNS query for `name` (type A) and a response with one address.
fn dns_exchange(id: u16, name: &str, answer: Ipv4Addr) -> (Vec<u8>, Vec<u8>) {
    let mut question = Vec::new();
    for label in name.split('.') {
        question.push(label.len() as u8);
        question.extend_from_slice(label.as_bytes());
    }
    question.extend_from_slice(&[0, 0, 1, 0, 1]);
    let mut query = Vec::new();
    query.extend_from_slice(&id.to_be_bytes());
    query.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    query.extend_from_slice(&question);
    let mut response = Vec::new();
    response.extend_from_slice(&id.to_be_bytes());
    response.extend_from_slice(&[0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]);
    response.extend_from_slice(&question);
    response.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4]);
    response.extend_from_slice(&answer.octets());
    (query, response)
}

/// Builds the scenario's frames in time order.
fn scenario() -> anyhow::Result<Vec<(i64, Vec<u8>)>> {
    let mut s = Scenario::new();
    // Everyone finds the router and their peers.
    for host in [MODICON, S7_PLC, LOGIX, HMI, WORKSTATION, HISTORIAN] {
        s.arp_exchange(host, ROUTER)?;
        s.advance_ms(40);
    }
    s.arp_exchange(HMI, MODICON)?;
    s.arp_exchange(WORKSTATION, S7_PLC)?;
    s.arp_exchange(HISTORIAN, LOGIX)?;

    // The HMI polls the Modicon once a second.
    let polls: Vec<(Vec<u8>, Vec<u8>)> = (0..8u16)
        .map(|i| modbus_read(i + 1, 0, &[1200 + i, 55, 0, 1]))
        .collect();
    let polls: Vec<(&[u8], &[u8])> = polls
        .iter()
        .map(|(q, r)| (q.as_slice(), r.as_slice()))
        .collect();
    s.tcp_session(
        (HMI.mac, HMI.ip, 50_102),
        (MODICON.mac, MODICON.ip, 502),
        &polls,
        1_000,
        None,
    )?;

    // The engineering workstation connects to the S7 PLC: COTP connection request and the S7
    // "setup communication" job.
    let cotp_cr: &[u8] = &[
        0x03, 0x00, 0x00, 0x16, 0x11, 0xe0, 0x00, 0x00, 0x00, 0x01, 0x00, 0xc1, 0x02, 0x01, 0x00,
        0xc2, 0x02, 0x01, 0x02, 0xc0, 0x01, 0x0a,
    ];
    let cotp_cc: &[u8] = &[
        0x03, 0x00, 0x00, 0x16, 0x11, 0xd0, 0x00, 0x01, 0x00, 0x01, 0x00, 0xc0, 0x01, 0x0a, 0xc1,
        0x02, 0x01, 0x00, 0xc2, 0x02, 0x01, 0x02,
    ];
    let s7_setup: &[u8] = &[
        0x03, 0x00, 0x00, 0x19, 0x02, 0xf0, 0x80, 0x32, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08,
        0x00, 0x00, 0xf0, 0x00, 0x00, 0x01, 0x00, 0x01, 0x01, 0xe0,
    ];
    let s7_setup_ack: &[u8] = &[
        0x03, 0x00, 0x00, 0x1b, 0x02, 0xf0, 0x80, 0x32, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08,
        0x00, 0x00, 0x00, 0x00, 0xf0, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0xf0,
    ];
    s.tcp_session(
        (WORKSTATION.mac, WORKSTATION.ip, 49_721),
        (S7_PLC.mac, S7_PLC.ip, 102),
        &[(cotp_cr, cotp_cc), (s7_setup, s7_setup_ack)],
        200,
        None,
    )?;

    // The historian registers an EtherNet/IP session with the Rockwell controller.
    let register: &[u8] = &[
        0x65, 0x00, 0x04, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
        0x00, 0x00, 0x00,
    ];
    let registered: &[u8] = &[
        0x65, 0x00, 0x04, 0x00, 0x01, 0x02, 0x03, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0x01, 0x00, 0x00, 0x00,
    ];
    s.tcp_session(
        (HISTORIAN.mac, HISTORIAN.ip, 51_000),
        (LOGIX.mac, LOGIX.ip, 44_818),
        &[(register, registered)],
        100,
        None,
    )?;

    // The workstation resolves names through the router and reaches the internet through it.
    for (i, (name, addr)) in [
        ("updates.example.com", INTERNET[0]),
        ("vendor.example.net", INTERNET[1]),
        ("time.example.org", INTERNET[2]),
    ]
    .into_iter()
    .enumerate()
    {
        let (query, response) = dns_exchange(0x4a00 + i as u16, name, addr);
        let port = 53_000 + i as u16;
        s.udp(
            (WORKSTATION.mac, WORKSTATION.ip, port),
            (ROUTER.mac, ROUTER.ip, 53),
            &query,
            None,
        )?;
        s.udp(
            (ROUTER.mac, ROUTER.ip, 53),
            (WORKSTATION.mac, WORKSTATION.ip, port),
            &response,
            None,
        )?;
        let hello = client_hello(name);
        let answer = server_hello();
        s.tcp_session(
            (WORKSTATION.mac, WORKSTATION.ip, 55_100 + i as u16),
            (ROUTER.mac, addr, 443),
            &[(&hello, &answer)],
            30,
            None,
        )?;
    }

    // A Raspberry Pi nobody knows scans the Modicon: only Modbus answers; 80 and 23 reset.
    s.arp_exchange(SCANNER, MODICON)?;
    for port in [23u16, 80, 502] {
        use tcp::flags::{ACK, RST, SYN};
        let scanner = (SCANNER.mac, SCANNER.ip, 40_000 + port);
        let target = (MODICON.mac, MODICON.ip, port);
        s.tcp_segment(scanner, target, 0x5ca0_0000, 0, SYN, &[], None)?;
        if port == 502 {
            s.tcp_segment(
                target,
                scanner,
                0x0b0b_0000,
                0x5ca0_0001,
                SYN | ACK,
                &[],
                None,
            )?;
            s.tcp_segment(scanner, target, 0x5ca0_0001, 0, RST, &[], None)?;
        } else {
            s.tcp_segment(target, scanner, 0, 0x5ca0_0001, RST | ACK, &[], None)?;
        }
    }

    // A phone with a randomised MAC announces itself with mDNS.
    let mdns_group = Ipv4Addr::new(224, 0, 0, 251);
    let announce: &[u8] = &[
        0x00, 0x00, 0x84, 0x00, 0, 0, 0, 1, 0, 0, 0, 0, 0x05, b'p', b'h', b'o', b'n', b'e', 0x05,
        b'l', b'o', b'c', b'a', b'l', 0x00, 0x00, 0x01, 0x80, 0x01, 0x00, 0x00, 0x00, 0x78, 0x00,
        0x04, 10, 10, 1, 77,
    ];
    s.udp(
        (PHONE.mac, PHONE.ip, 5353),
        (
            MacAddr([0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb]),
            mdns_group,
            5353,
        ),
        announce,
        None,
    )?;

    // IPv6 Neighbor Discovery between the workstation and the router, and a router
    // advertisement.
    let ws6 = link_local(WORKSTATION.mac);
    let rt6 = link_local(ROUTER.mac);
    let (group_mac, group) = solicited_node(rt6);
    let mut solicitation = vec![135, 0, 0, 0, 0, 0, 0, 0];
    solicitation.extend_from_slice(&rt6.octets());
    solicitation.extend_from_slice(&[1, 1]);
    solicitation.extend_from_slice(&WORKSTATION.mac.0);
    s.icmpv6((WORKSTATION.mac, ws6), (group_mac, group), solicitation)?;
    let mut advertisement = vec![136, 0, 0, 0, 0xe0, 0, 0, 0];
    advertisement.extend_from_slice(&rt6.octets());
    advertisement.extend_from_slice(&[2, 1]);
    advertisement.extend_from_slice(&ROUTER.mac.0);
    s.icmpv6((ROUTER.mac, rt6), (WORKSTATION.mac, ws6), advertisement)?;
    let mut router_adv = vec![134, 0, 0, 0, 64, 0, 0x07, 0x08, 0, 0, 0, 0, 0, 0, 0, 0];
    router_adv.extend_from_slice(&[1, 1]);
    router_adv.extend_from_slice(&ROUTER.mac.0);
    s.icmpv6(
        (ROUTER.mac, rt6),
        (
            MacAddr([0x33, 0x33, 0, 0, 0, 1]),
            Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1),
        ),
        router_adv,
    )?;

    // VLAN 20: the camera streams to the recorder; one large datagram is fragmented.
    s.arp_exchange(CAMERA, RECORDER)?;
    let camera = (CAMERA.mac, CAMERA.ip, 50_000);
    let recorder = (RECORDER.mac, RECORDER.ip, 5_004);
    for i in 0..6u8 {
        let chunk = vec![0x80 | (i & 0x0f); 960];
        s.udp(camera, recorder, &chunk, CAMERA.vlan)?;
        s.advance_ms(33);
    }
    let keyframe: Vec<u8> = (0..2400u32).map(|i| (i % 251) as u8).collect();
    s.fragmented_udp(camera, recorder, &keyframe, CAMERA.vlan)?;
    s.udp(recorder, camera, b"RR", RECORDER.vlan)?;
    camera_identity(&mut s)?;
    office(&mut s)?;
    plant::operations(&mut s)?;
    Ok(s.frames)
}

/// The camera announces itself over SSDP; the recorder fetches its UPnP description and a
/// snapshot with HTTP Basic authentication (a finding: the password crosses in clear text).
fn camera_identity(s: &mut Scenario) -> anyhow::Result<()> {
    let ssdp_group = (
        MacAddr([0x01, 0x00, 0x5e, 0x7f, 0xff, 0xfa]),
        Ipv4Addr::new(239, 255, 255, 250),
        1900,
    );
    let notify =
        b"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nCACHE-CONTROL: max-age=1800\r\n\
LOCATION: http://10.10.20.5:49152/rootdesc.xml\r\nNT: urn:schemas-upnp-org:device:Basic:1\r\n\
NTS: ssdp:alive\r\nSERVER: Linux/4.14, UPnP/1.0, Portable SDK for UPnP devices/1.6.22\r\n\
USN: uuid:Upnp-BasicDevice-1_0-ACCC8E5A6B7C::urn:schemas-upnp-org:device:Basic:1\r\n\r\n";
    s.udp(
        (CAMERA.mac, CAMERA.ip, 1900),
        ssdp_group,
        notify,
        CAMERA.vlan,
    )?;
    let description = "<?xml version=\"1.0\"?>\n<root xmlns=\"urn:schemas-upnp-org:device-1-0\">\n\
<specVersion><major>1</major><minor>0</minor></specVersion>\n<device>\n\
<deviceType>urn:schemas-upnp-org:device:Basic:1</deviceType>\n\
<friendlyName>AXIS Q1615 Mk III - ACCC8E5A6B7C</friendlyName>\n\
<manufacturer>AXIS</manufacturer>\n<manufacturerURL>http://www.axis.com/</manufacturerURL>\n\
<modelDescription>AXIS Q1615 Mk III Network Camera</modelDescription>\n\
<modelName>AXIS Q1615 Mk III</modelName>\n<modelNumber>Q1615 Mk III</modelNumber>\n\
<serialNumber>ACCC8E5A6B7C</serialNumber>\n<UDN>uuid:Upnp-BasicDevice-1_0-ACCC8E5A6B7C</UDN>\n\
<presentationURL>http://10.10.20.5:80/</presentationURL>\n</device>\n</root>\n";
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nServer: Linux/4.14, UPnP/1.0, Portable SDK for UPnP devices/1.6.22\r\n\r\n{description}",
        description.len()
    );
    s.tcp_session(
        (RECORDER.mac, RECORDER.ip, 41_000),
        (CAMERA.mac, CAMERA.ip, 49_152),
        &[(
            b"GET /rootdesc.xml HTTP/1.1\r\nHost: 10.10.20.5:49152\r\nUser-Agent: Recorder/2.1 UPnP/1.0\r\n\r\n",
            response.as_bytes(),
        )],
        20,
        CAMERA.vlan,
    )?;
    s.tcp_session(
        (RECORDER.mac, RECORDER.ip, 41_001),
        (CAMERA.mac, CAMERA.ip, 80),
        &[(
            b"GET /axis-cgi/jpg/image.cgi HTTP/1.1\r\nHost: 10.10.20.5\r\nUser-Agent: Recorder/2.1\r\nAuthorization: Basic cm9vdDpwYXNz\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nServer: Apache/2.4.56 (Unix)\r\nContent-Type: image/jpeg\r\nContent-Length: 4\r\n\r\n\xff\xd8\xff\xd9",
        )],
        20,
        CAMERA.vlan,
    )
}

/// The office side of the network (see the module documentation).
fn office(s: &mut Scenario) -> anyhow::Result<()> {
    // The laptop joins: DHCP discover, request, and the router's ACK.
    let broadcast = (MacAddr::BROADCAST, Ipv4Addr::BROADCAST, 67);
    let client = (LAPTOP.mac, Ipv4Addr::UNSPECIFIED, 68);
    s.udp(client, broadcast, &dhcp_client(1, LAPTOP), None)?;
    s.udp(client, broadcast, &dhcp_client(3, LAPTOP), None)?;
    s.udp(
        (ROUTER.mac, ROUTER.ip, 67),
        (MacAddr::BROADCAST, Ipv4Addr::BROADCAST, 68),
        &dhcp_ack(LAPTOP),
        None,
    )?;
    s.arp_exchange(LAPTOP, ROUTER)?;

    // The switch says who it is over LLDP.
    s.push(lldp_frame(SWITCH));

    // The printer announces itself over mDNS; the workstation asks it for its model over PJL.
    s.udp(
        (PRINTER.mac, PRINTER.ip, 5353),
        (
            MacAddr([0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb]),
            Ipv4Addr::new(224, 0, 0, 251),
            5353,
        ),
        &printer_mdns(PRINTER),
        None,
    )?;
    s.arp_exchange(WORKSTATION, PRINTER)?;
    s.tcp_session(
        (WORKSTATION.mac, WORKSTATION.ip, 49_800),
        (PRINTER.mac, PRINTER.ip, 9100),
        &[(
            b"\x1b%-12345X@PJL INFO ID\r\n",
            b"@PJL INFO ID\r\n\"HP LaserJet M507\"\r\n\x0c",
        )],
        50,
        None,
    )?;

    // The workstation manages the switch: SNMP with the default community, SSH, and a Telnet
    // login that fails.
    s.arp_exchange(WORKSTATION, SWITCH)?;
    let ws_snmp = (WORKSTATION.mac, WORKSTATION.ip, 50_161);
    let sw_snmp = (SWITCH.mac, SWITCH.ip, 161);
    s.udp(ws_snmp, sw_snmp, &snmp_get(0xa0, None), None)?;
    s.udp(
        sw_snmp,
        ws_snmp,
        &snmp_get(0xa2, Some(SWITCH_DESCRIPTION)),
        None,
    )?;
    s.tcp_session(
        (WORKSTATION.mac, WORKSTATION.ip, 49_900),
        (SWITCH.mac, SWITCH.ip, 22),
        &[(
            b"SSH-2.0-OpenSSH_for_Windows_8.1\r\n",
            b"SSH-2.0-Cisco-1.25\r\n",
        )],
        20,
        None,
    )?;
    s.tcp_session(
        (WORKSTATION.mac, WORKSTATION.ip, 49_901),
        (SWITCH.mac, SWITCH.ip, 23),
        &[
            (b"", b"\xff\xfb\x01\xff\xfb\x03\xff\xfd\x18\xff\xfd\x1f\r\n\r\nUser Access Verification\r\n\r\nUsername: "),
            (b"admin\r\n", b"admin\r\nPassword: "),
            (b"cisco123\r\n", b"\r\n% Login invalid\r\n\r\nUsername: "),
        ],
        400,
        None,
    )?;

    // The IoT gateway publishes to the historian's MQTT broker without credentials.
    s.arp_exchange(GATEWAY, HISTORIAN)?;
    s.tcp_session(
        (GATEWAY.mac, GATEWAY.ip, 45_883),
        (HISTORIAN.mac, HISTORIAN.ip, 1883),
        &[
            (&mqtt_connect("moxa-gw-17"), &[0x20, 0x02, 0x00, 0x00]),
            (b"\x30\x13\x00\x0cline3/energy42.7", b""),
        ],
        100,
        None,
    )?;

    // The desk phone registers with the router's SIP service.
    let register = b"REGISTER sip:10.10.1.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.10.1.80:5060;branch=z9hG4bK1a2b3c\r\n\
From: <sip:2001@10.10.1.1>;tag=8845\r\nTo: <sip:2001@10.10.1.1>\r\nCall-ID: 0011aabb@10.10.1.80\r\n\
CSeq: 101 REGISTER\r\nUser-Agent: Cisco-CP8845/14.1.1\r\nContact: <sip:2001@10.10.1.80:5060>\r\n\
Expires: 3600\r\nContent-Length: 0\r\n\r\n";
    let registered = b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.10.1.80:5060;branch=z9hG4bK1a2b3c\r\n\
From: <sip:2001@10.10.1.1>;tag=8845\r\nTo: <sip:2001@10.10.1.1>;tag=77\r\nCall-ID: 0011aabb@10.10.1.80\r\n\
CSeq: 101 REGISTER\r\nServer: Cisco-SIPGateway/IOS-15.9.3\r\nContent-Length: 0\r\n\r\n";
    s.arp_exchange(DESK_PHONE, ROUTER)?;
    s.udp(
        (DESK_PHONE.mac, DESK_PHONE.ip, 5060),
        (ROUTER.mac, ROUTER.ip, 5060),
        register,
        None,
    )?;
    s.udp(
        (ROUTER.mac, ROUTER.ip, 5060),
        (DESK_PHONE.mac, DESK_PHONE.ip, 5060),
        registered,
        None,
    )
}

/// The switch's SNMP sysDescr (also its LLDP system description).
const SWITCH_DESCRIPTION: &str = "Cisco IOS Software, C2960X Software (C2960X-UNIVERSALK9-M), Version 15.2(7)E4, RELEASE SOFTWARE (fc2)";

/// A DHCP DISCOVER (`kind` 1) or REQUEST (3) from `client`: host name, vendor class, client
/// identifier and parameter request list.
fn dhcp_client(kind: u8, client: Host) -> Vec<u8> {
    let mut options = vec![53, 1, kind, 61, 7, 1];
    options.extend_from_slice(&client.mac.0);
    options.extend_from_slice(&[50, 4]);
    options.extend_from_slice(&client.ip.octets());
    let hostname = b"eng-laptop-04";
    options.extend_from_slice(&[12, hostname.len() as u8]);
    options.extend_from_slice(hostname);
    options.extend_from_slice(&[60, 8]);
    options.extend_from_slice(b"MSFT 5.0");
    options.extend_from_slice(&[
        55, 14, 1, 3, 6, 15, 31, 33, 43, 44, 46, 47, 119, 121, 249, 252,
    ]);
    options.push(255);
    bootp(1, client, Ipv4Addr::UNSPECIFIED, &options)
}

/// The router's DHCP ACK giving `client` its address.
fn dhcp_ack(client: Host) -> Vec<u8> {
    let mut options = vec![53, 1, 5, 54, 4];
    options.extend_from_slice(&ROUTER.ip.octets());
    options.extend_from_slice(&[51, 4, 0, 1, 0x51, 0x80, 1, 4, 255, 255, 255, 0, 3, 4]);
    options.extend_from_slice(&ROUTER.ip.octets());
    options.extend_from_slice(&[6, 4]);
    options.extend_from_slice(&ROUTER.ip.octets());
    let domain = b"plant.example";
    options.extend_from_slice(&[15, domain.len() as u8]);
    options.extend_from_slice(domain);
    options.push(255);
    bootp(2, client, client.ip, &options)
}

/// A BOOTP message (`op` 1 request, 2 reply) for `client` with `yiaddr` and DHCP `options`.
fn bootp(op: u8, client: Host, yiaddr: Ipv4Addr, options: &[u8]) -> Vec<u8> {
    let mut message = vec![op, 1, 6, 0, 0x3c, 0x1d, 0x4a, 0x7e, 0, 0, 0, 0];
    message.extend_from_slice(&[0; 4]); // ciaddr
    message.extend_from_slice(&yiaddr.octets());
    message.extend_from_slice(&[0; 8]); // siaddr, giaddr
    message.extend_from_slice(&client.mac.0);
    message.extend_from_slice(&[0; 10 + 64 + 128]); // chaddr padding, sname, file
    message.extend_from_slice(&[99, 130, 83, 99]);
    message.extend_from_slice(options);
    message
}

/// An LLDP frame from the switch: chassis and port ids, system name and description,
/// capabilities (bridge) and management address.
fn lldp_frame(switch: Host) -> Vec<u8> {
    fn tlv(out: &mut Vec<u8>, kind: u16, value: &[u8]) {
        out.extend_from_slice(&((kind << 9) | value.len() as u16).to_be_bytes());
        out.extend_from_slice(value);
    }
    let mut frame = vec![0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e];
    frame.extend_from_slice(&switch.mac.0);
    frame.extend_from_slice(&[0x88, 0xcc]);
    let mut chassis = vec![4];
    chassis.extend_from_slice(&switch.mac.0);
    tlv(&mut frame, 1, &chassis);
    tlv(&mut frame, 2, b"\x05Gi1/0/24");
    tlv(&mut frame, 3, &[0, 120]);
    tlv(&mut frame, 4, b"uplink to plant router");
    tlv(&mut frame, 5, b"plant-sw-01");
    tlv(&mut frame, 6, SWITCH_DESCRIPTION.as_bytes());
    tlv(&mut frame, 7, &[0x00, 0x14, 0x00, 0x04]);
    let mut management = vec![5, 1];
    management.extend_from_slice(&switch.ip.octets());
    management.extend_from_slice(&[2, 0, 0, 0, 1, 0]);
    tlv(&mut frame, 8, &management);
    tlv(&mut frame, 0, &[]);
    frame
}

/// An mDNS response announcing an IPP printer with its make and model.
fn printer_mdns(printer: Host) -> Vec<u8> {
    fn name(out: &mut Vec<u8>, text: &str) {
        for label in text.split('.') {
            out.push(label.len() as u8);
            out.extend_from_slice(label.as_bytes());
        }
        out.push(0);
    }
    fn record(out: &mut Vec<u8>, owner: &str, kind: u16, data: &[u8]) {
        name(out, owner);
        out.extend_from_slice(&kind.to_be_bytes());
        out.extend_from_slice(&[0x80, 0x01, 0, 0, 0x11, 0x94]);
        out.extend_from_slice(&(data.len() as u16).to_be_bytes());
        out.extend_from_slice(data);
    }
    let instance = "HP LaserJet M507 [5F3D4E]._ipp._tcp.local";
    let mut target = Vec::new();
    name(&mut target, instance);
    let mut txt = Vec::new();
    for pair in [
        "txtvers=1",
        "ty=HP LaserJet M507",
        "usb_MFG=HP",
        "usb_MDL=LaserJet M507",
        "note=Office 2",
    ] {
        txt.push(pair.len() as u8);
        txt.extend_from_slice(pair.as_bytes());
    }
    let mut message = vec![0, 0, 0x84, 0, 0, 0, 0, 3, 0, 0, 0, 0];
    record(&mut message, "_ipp._tcp.local", 12, &target);
    record(&mut message, instance, 16, &txt);
    record(&mut message, "NPI5F3D4E.local", 1, &printer.ip.octets());
    message
}

/// An SNMPv2c message with community `public`: a GetRequest (`pdu` 0xa0) for sysDescr and
/// sysName, or the GetResponse (0xa2) carrying `description` and the name `plant-sw-01`.
fn snmp_get(pdu: u8, description: Option<&str>) -> Vec<u8> {
    fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        if value.len() < 128 {
            out.push(value.len() as u8);
        } else {
            out.extend_from_slice(&[0x81, value.len() as u8]);
        }
        out.extend_from_slice(value);
        out
    }
    let sys_descr = [0x2b, 6, 1, 2, 1, 1, 1, 0];
    let sys_name = [0x2b, 6, 1, 2, 1, 1, 5, 0];
    let (descr_value, name_value) = match description {
        Some(text) => (tlv(0x04, text.as_bytes()), tlv(0x04, b"plant-sw-01")),
        None => (vec![0x05, 0], vec![0x05, 0]),
    };
    let mut bindings = tlv(0x30, &[tlv(0x06, &sys_descr), descr_value].concat());
    bindings.extend(tlv(0x30, &[tlv(0x06, &sys_name), name_value].concat()));
    let body = [
        tlv(0x02, &[0x1d, 0x2c]),
        tlv(0x02, &[0]),
        tlv(0x02, &[0]),
        tlv(0x30, &bindings),
    ]
    .concat();
    tlv(
        0x30,
        &[tlv(0x02, &[1]), tlv(0x04, b"public"), tlv(pdu, &body)].concat(),
    )
}

/// An MQTT 3.1.1 CONNECT without username or password.
fn mqtt_connect(client_id: &str) -> Vec<u8> {
    let mut variable = vec![0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60];
    variable.extend_from_slice(&(client_id.len() as u16).to_be_bytes());
    variable.extend_from_slice(client_id.as_bytes());
    let mut packet = vec![0x10, variable.len() as u8];
    packet.extend(variable);
    packet
}

/// A TLS 1.3-capable ClientHello for `server_name` offering h2 and http/1.1.
fn client_hello(server_name: &str) -> Vec<u8> {
    fn extension(out: &mut Vec<u8>, kind: u16, data: &[u8]) {
        out.extend_from_slice(&kind.to_be_bytes());
        out.extend_from_slice(&(data.len() as u16).to_be_bytes());
        out.extend_from_slice(data);
    }
    let name = server_name.as_bytes();
    let mut sni = ((name.len() + 3) as u16).to_be_bytes().to_vec();
    sni.push(0);
    sni.extend_from_slice(&(name.len() as u16).to_be_bytes());
    sni.extend_from_slice(name);
    let mut extensions = Vec::new();
    extension(&mut extensions, 0, &sni);
    extension(
        &mut extensions,
        10,
        &[0, 6, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18],
    );
    extension(&mut extensions, 11, &[1, 0]);
    extension(
        &mut extensions,
        13,
        &[0, 8, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01, 0x05, 0x03],
    );
    extension(&mut extensions, 16, b"\x00\x0c\x02h2\x08http/1.1");
    extension(&mut extensions, 43, &[4, 0x03, 0x04, 0x03, 0x03]);
    let mut hello = vec![0x03, 0x03];
    hello.extend((0..32u8).map(|i| i.wrapping_mul(37)));
    hello.push(0);
    hello.extend_from_slice(&[0, 8, 0x13, 0x01, 0x13, 0x02, 0xc0, 0x2b, 0xc0, 0x2f]);
    hello.extend_from_slice(&[1, 0]);
    hello.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
    hello.extend(extensions);
    let mut handshake = vec![1, 0];
    handshake.extend_from_slice(&(hello.len() as u16).to_be_bytes());
    handshake.extend(hello);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend_from_slice(&(handshake.len() as u16).to_be_bytes());
    record.extend(handshake);
    record
}

/// A ServerHello choosing TLS 1.3 (supported_versions) and TLS_AES_128_GCM_SHA256.
fn server_hello() -> Vec<u8> {
    let mut hello = vec![0x03, 0x03];
    hello.extend((0..32u8).map(|i| i.wrapping_mul(91)));
    hello.push(0);
    hello.extend_from_slice(&[0x13, 0x01, 0]);
    hello.extend_from_slice(&[0, 6, 0, 43, 0, 2, 0x03, 0x04]);
    let mut handshake = vec![2, 0];
    handshake.extend_from_slice(&(hello.len() as u16).to_be_bytes());
    handshake.extend(hello);
    let mut record = vec![0x16, 0x03, 0x03];
    record.extend_from_slice(&(handshake.len() as u16).to_be_bytes());
    record.extend(handshake);
    record
}

/// Writes the demo capture (pcapng, one Ethernet interface, nanosecond timestamps).
/// Returns the number of frames written.
pub(crate) fn generate(out: &Path) -> anyhow::Result<usize> {
    let frames = scenario()?;
    let file = std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let mut writer = PcapngWriter::new(std::io::BufWriter::new(file), false)?;
    let interface = writer.add_interface(InterfaceConfig {
        tsresol: 9,
        ..InterfaceConfig::default()
    })?;
    for (ts, frame) in &frames {
        writer.write_epb(interface, *ts, frame, frame.len() as u32)?;
    }
    writer.flush()?;
    Ok(frames.len())
}

/// A valid Ethernet/IPv4/TCP frame, for other modules' tests.
#[cfg(test)]
pub(crate) fn tcp_frame_for_tests(src: IpAddr, dst: IpAddr) -> Vec<u8> {
    let (IpAddr::V4(src), IpAddr::V4(dst)) = (src, dst) else {
        panic!("IPv4 only");
    };
    let mut s = Scenario::new();
    s.tcp_segment(
        (HMI.mac, src, 50_000),
        (MODICON.mac, dst, 502),
        1,
        1,
        tcp::flags::ACK | tcp::flags::PSH,
        b"\x00\x01\x00\x00\x00\x06\x01\x03\x00\x00\x00\x04",
        None,
    )
    .unwrap();
    s.frames.pop().unwrap().1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_frames_are_ordered_and_decodable() {
        let frames = scenario().unwrap();
        assert!(frames.len() > 100);
        assert!(frames.windows(2).all(|w| w[0].0 < w[1].0));
        for (_, frame) in &frames {
            let packet = ironward_wire::decode(ironward_wire::LinkType::ETHERNET, frame);
            assert_eq!(packet.error, None, "{frame:02x?}");
        }
    }
}
