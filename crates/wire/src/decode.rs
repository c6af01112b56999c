//! Whole-frame decoding into a [`Packet`] summary.
//!
//! CONTRACT (fixed; consumers in `ironward-sensor` are written against it — extend, do not rename):
//! the types below are the public summary; the helper owning this crate implements `decode` and
//! `decode_transport` and may add fields/variants.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::{DecodeError, LinkType, MacAddr};


/// Up to two 802.1Q / 802.1ad tags, outermost first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Vlans {
    /// Outer tag's VLAN id (12 bits), if any.
    pub outer: Option<u16>,
    /// Inner tag's VLAN id (QinQ), if any.
    pub inner: Option<u16>,
}

/// What the link layer said about the frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkSummary {
    /// Source hardware address (Ethernet, SLL/SLL2 when 6 bytes long).
    pub src_mac: Option<MacAddr>,
    /// Destination hardware address (Ethernet only).
    pub dst_mac: Option<MacAddr>,
    /// VLAN tags.
    pub vlans: Vlans,
    /// The ether type of the network layer (after VLAN tags and LLC/SNAP), 0 if none.
    pub ethertype: u16,
}

/// An ARP packet (Ethernet/IPv4 flavour) as decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arp {
    /// Operation code (1 request, 2 reply, others kept raw).
    pub operation: u16,
    /// Sender hardware address.
    pub sender_mac: MacAddr,
    /// Sender protocol address.
    pub sender_ip: Ipv4Addr,
    /// Target hardware address.
    pub target_mac: MacAddr,
    /// Target protocol address.
    pub target_ip: Ipv4Addr,
}

/// IPv4 header facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Summary<'a> {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Protocol number of the payload.
    pub protocol: u8,
    /// Time to live.
    pub ttl: u8,
    /// Identification (used to reassemble fragments).
    pub identification: u16,
    /// Don't-fragment flag.
    pub dont_fragment: bool,
    /// More-fragments flag.
    pub more_fragments: bool,
    /// Fragment offset in bytes.
    pub fragment_offset: u16,
    /// Header length in bytes.
    pub header_len: u8,
    /// Total length field.
    pub total_len: u16,
    /// `Some(true)` valid, `Some(false)` invalid, `None` not checked (header truncated by snaplen).
    pub checksum_ok: Option<bool>,
    /// Raw options bytes.
    pub options: &'a [u8],
    /// The IP payload (clipped to `total_len` and to the captured bytes).
    pub payload: &'a [u8],
}

/// IPv6 fragment extension header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Fragment {
    /// Identification.
    pub identification: u32,
    /// Fragment offset in bytes.
    pub offset: u16,
    /// More-fragments flag.
    pub more_fragments: bool,
}

/// IPv6 header facts, after walking the extension headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Summary<'a> {
    /// Source address.
    pub src: Ipv6Addr,
    /// Destination address.
    pub dst: Ipv6Addr,
    /// The upper-layer protocol after the extension headers (or the header that stopped the walk).
    pub next_header: u8,
    /// Hop limit.
    pub hop_limit: u8,
    /// Payload length field.
    pub payload_len: u16,
    /// Fragment header, when present.
    pub fragment: Option<Ipv6Fragment>,
    /// The bytes after the extension headers (clipped to `payload_len` and captured bytes).
    pub payload: &'a [u8],
}

/// The network layer of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network<'a> {
    /// Nothing beyond the link layer was decoded (e.g. a frame too short for it).
    None,
    /// ARP.
    Arp(Arp),
    /// IPv4.
    Ipv4(Ipv4Summary<'a>),
    /// IPv6.
    Ipv6(Ipv6Summary<'a>),
    /// Another ether type (or an LLC frame without SNAP); payload after the link header.
    Other {
        /// Ether type (or 0 for non-SNAP LLC).
        ethertype: u16,
        /// Bytes after the link header.
        payload: &'a [u8],
    },
}

/// TCP header facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpSummary {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number.
    pub ack: u32,
    /// Flags byte (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, URG 0x20, ECE 0x40, CWR 0x80).
    pub flags: u8,
    /// Window field (unscaled).
    pub window: u16,
    /// MSS option.
    pub mss: Option<u16>,
    /// Window scale option.
    pub window_scale: Option<u8>,
    /// SACK-permitted option seen.
    pub sack_permitted: bool,
    /// Number of SACK blocks (up to 4 kept in `sack_blocks`).
    pub sack_count: u8,
    /// SACK blocks (left, right edges).
    pub sack_blocks: [(u32, u32); 4],
    /// Timestamps option (value, echo reply).
    pub timestamps: Option<(u32, u32)>,
}

/// The transport layer of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport<'a> {
    /// No transport layer (ARP, non-IP, or decoding stopped).
    None,
    /// A TCP segment and its payload.
    Tcp(TcpSummary, &'a [u8]),
    /// A UDP datagram: source port, destination port, payload.
    Udp {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
        /// Payload (clipped to the UDP length and to the captured bytes).
        payload: &'a [u8],
    },
    /// ICMPv4: type, code, body after the 4-byte header.
    Icmpv4 {
        /// ICMP type.
        icmp_type: u8,
        /// ICMP code.
        code: u8,
        /// Bytes after type/code/checksum.
        body: &'a [u8],
    },
    /// ICMPv6; Neighbor Discovery is decoded into `nd`.
    Icmpv6 {
        /// ICMPv6 type.
        icmp_type: u8,
        /// ICMPv6 code.
        code: u8,
        /// Neighbor Discovery content, for types 135 and 136.
        nd: Option<NeighborDiscovery>,
        /// Bytes after type/code/checksum.
        body: &'a [u8],
    },
    /// An IP fragment that must be reassembled before the transport layer can be read.
    Fragment,
    /// Another IP protocol, kept raw.
    Other {
        /// IP protocol number.
        protocol: u8,
        /// Its payload.
        payload: &'a [u8],
    },
}

/// Neighbor solicitation (135) or advertisement (136): the MAC↔IP binding it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighborDiscovery {
    /// Target address.
    pub target: Ipv6Addr,
    /// Source link-layer address option (solicitations).
    pub source_link_addr: Option<MacAddr>,
    /// Target link-layer address option (advertisements).
    pub target_link_addr: Option<MacAddr>,
    /// Router flag (advertisements).
    pub router: bool,
    /// Solicited flag (advertisements).
    pub solicited: bool,
    /// Override flag (advertisements).
    pub override_flag: bool,
}

/// A decoded frame. All slices borrow from the captured bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// Link layer.
    pub link: LinkSummary,
    /// Network layer.
    pub network: Network<'a>,
    /// Transport layer.
    pub transport: Transport<'a>,
    /// Where and why decoding stopped early, if it did. Layers decoded before the problem are
    /// kept (a frame with a truncated TCP header still has its IPv4 layer).
    pub error: Option<DecodeError>,
}

/// Decodes a frame of the given link type as far as it can. Never fails: problems are reported
/// in [`Packet::error`] and the layers decoded before them are kept.
pub fn decode(linktype: LinkType, frame: &[u8]) -> Packet<'_> {
    let _ = (linktype, frame);
    unimplemented!("helper implements")
}

/// Decodes the transport layer of an already reassembled IP payload.
pub fn decode_transport<'a>(
    protocol: u8,
    src: std::net::IpAddr,
    dst: std::net::IpAddr,
    payload: &'a [u8],
) -> Result<Transport<'a>, DecodeError> {
    let _ = (protocol, src, dst, payload);
    unimplemented!("helper implements")
}
