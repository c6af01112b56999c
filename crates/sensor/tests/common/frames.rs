//! Builds small conversations as Ethernet frames (hosts with chosen MACs, UDP datagrams, TCP
//! sessions with handshake) and runs them through the engine with every dissector.

use std::net::Ipv4Addr;

use ironward_model::AnalysisReport;
use ironward_sensor::capture::Frame;
use ironward_sensor::engine::{Engine, EngineConfig};
use ironward_wire::build::{self, Ip, L4};
use ironward_wire::ethernet::{self, EtherType};
use ironward_wire::{ipv4, tcp, udp, IpProtocol, LinkType, MacAddr};

/// A host: MAC and IPv4 address.
#[derive(Debug, Clone, Copy)]
pub struct Host {
    /// Its MAC address.
    pub mac: MacAddr,
    /// Its address.
    pub ip: Ipv4Addr,
}

impl Host {
    /// A host from MAC bytes and an address.
    pub fn new(mac: [u8; 6], ip: [u8; 4]) -> Self {
        Self {
            mac: MacAddr(mac),
            ip: Ipv4Addr::from(ip),
        }
    }
}

/// Capture time of the first made-up frame.
pub const BASE_TIME_NS: i64 = 1_700_000_000_000_000_000;

/// Frames of a made-up capture, one millisecond apart.
#[derive(Default)]
pub struct Conversation {
    frames: Vec<Vec<u8>>,
}

impl Conversation {
    /// A UDP datagram; multicast destinations get the group MAC.
    pub fn udp(&mut self, from: Host, to: Host, ports: (u16, u16), payload: &[u8]) {
        let l4 = L4::Udp(udp::Repr {
            src_port: ports.0,
            dst_port: ports.1,
            payload,
        });
        self.ip(from, to, IpProtocol::UDP, &l4);
    }

    /// A whole TCP session: handshake, the client's request, the server's answer, FINs.
    pub fn tcp_session(
        &mut self,
        client: Host,
        server: Host,
        ports: (u16, u16),
        request: &[u8],
        answer: &[u8],
    ) {
        let (c, s) = (1000u32, 5000u32);
        let (back, req_len, ans_len) = (
            (ports.1, ports.0),
            request.len() as u32,
            answer.len() as u32,
        );
        self.tcp(client, server, ports, c, 0, 0x02, b"");
        self.tcp(server, client, back, s, c + 1, 0x12, b"");
        self.tcp(client, server, ports, c + 1, s + 1, 0x10, b"");
        if !request.is_empty() {
            self.tcp(client, server, ports, c + 1, s + 1, 0x18, request);
        }
        if !answer.is_empty() {
            self.tcp(server, client, back, s + 1, c + 1 + req_len, 0x18, answer);
        }
        self.tcp(
            client,
            server,
            ports,
            c + 1 + req_len,
            s + 1 + ans_len,
            0x11,
            b"",
        );
        self.tcp(
            server,
            client,
            back,
            s + 1 + ans_len,
            c + 2 + req_len,
            0x11,
            b"",
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn tcp(
        &mut self,
        from: Host,
        to: Host,
        ports: (u16, u16),
        seq: u32,
        ack: u32,
        flags: u8,
        payload: &[u8],
    ) {
        let l4 = L4::Tcp(tcp::Repr {
            src_port: ports.0,
            dst_port: ports.1,
            seq,
            ack,
            flags,
            window: 65535,
            urgent: 0,
            mss: None,
            window_scale: None,
            sack_permitted: false,
            timestamps: None,
            payload,
        });
        self.ip(from, to, IpProtocol::TCP, &l4);
    }

    fn ip(&mut self, from: Host, to: Host, protocol: IpProtocol, l4: &L4<'_>) {
        let dst_mac = if to.ip.is_multicast() {
            let o = to.ip.octets();
            MacAddr([0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]])
        } else {
            to.mac
        };
        let eth = ethernet::Repr {
            src_addr: from.mac,
            dst_addr: dst_mac,
            vlan: None,
            ethertype: EtherType::IPV4,
        };
        let ip = ipv4::Repr {
            src_addr: from.ip,
            dst_addr: to.ip,
            protocol,
            payload_len: 0,
            ttl: 64,
            tos: 0,
            identification: self.frames.len() as u16,
            dont_fragment: true,
            more_fragments: false,
            fragment_offset: 0,
        };
        self.frames
            .push(build::frame(&eth, &Ip::V4(ip), l4).expect("frame builds"));
    }

    /// A raw Ethernet frame with this ether type and payload (LLDP and other non-IP protocols).
    pub fn ethernet(&mut self, from: MacAddr, to: MacAddr, ethertype: u16, payload: &[u8]) {
        let mut frame = Vec::with_capacity(14 + payload.len());
        frame.extend_from_slice(&to.0);
        frame.extend_from_slice(&from.0);
        frame.extend_from_slice(&ethertype.to_be_bytes());
        frame.extend_from_slice(payload);
        self.frames.push(frame);
    }

    /// The frames built so far, one millisecond apart from [`BASE_TIME_NS`].
    pub fn frames(&self) -> &[Vec<u8>] {
        &self.frames
    }

    /// Runs the frames through an engine with every dissector and returns the report.
    pub fn analyze(&self) -> AnalysisReport {
        self.analyze_with(ironward_proto::registry())
    }

    /// Runs the frames through an engine with these dissectors and returns the report.
    pub fn analyze_with(&self, registry: ironward_proto::DissectorRegistry) -> AnalysisReport {
        let mut engine = Engine::with_dissectors(EngineConfig::default(), registry);
        for (n, data) in self.frames.iter().enumerate() {
            engine.process(&Frame {
                timestamp_ns: BASE_TIME_NS + n as i64 * 1_000_000,
                linktype: LinkType::ETHERNET,
                data,
                original_len: data.len() as u32,
                interface: 0,
            });
        }
        engine.finish().report
    }
}
