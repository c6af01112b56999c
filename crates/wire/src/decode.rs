//! Whole-frame decoding into a [`Packet`] summary.
//!
//! CONTRACT (fixed; consumers in `ironward-sensor` are written against it — extend, do not rename):
//! the types below are the public summary; the helper owning this crate implements `decode` and
//! `decode_transport` and may add fields/variants.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::err;
use crate::ethernet::VlanPacket;
use crate::link::{AddressFamily, CookedHeader};
use crate::{
    arp, ethernet, icmp, icmpv6, ipv4, ipv6, link, llc, tcp, udp, DecodeError, DecodeErrorKind,
    Layer, LinkType, MacAddr,
};

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
    ///
    /// Set for every link type: NULL/LOOP and raw IP frames get 0x0800 or 0x86dd, SLL/SLL2 frames
    /// their protocol field, SNAP frames their protocol id (even under a non-ether-type OUI such
    /// as Cisco's; see `llc`).
    pub ethertype: u16,
    /// The 802.2 LLC header, for 802.3 frames (and SLL frames of protocol 0x0004). Spanning
    /// tree, CDP and other LLC protocols are told apart by its SAPs and SNAP OUI.
    pub llc: Option<crate::llc::Header>,
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

/// How many VLAN tags [`decode`] walks over before giving up with `TooManyHeaders`; tags
/// after the second are skipped (only two are kept in [`Vlans`]).
pub const MAX_VLAN_TAGS: usize = 8;

impl<'a> Packet<'a> {
    const EMPTY: Self = Self {
        link: LinkSummary {
            src_mac: None,
            dst_mac: None,
            vlans: Vlans {
                outer: None,
                inner: None,
            },
            ethertype: 0,
            llc: None,
        },
        network: Network::None,
        transport: Transport::None,
        error: None,
    };

    /// Source and destination addresses of the IP layer.
    #[inline]
    pub fn ip_pair(&self) -> Option<(IpAddr, IpAddr)> {
        self.network.ip_pair()
    }

    /// The IP protocol of the transport (after IPv6 extension headers), for IP packets.
    #[inline]
    pub fn ip_protocol(&self) -> Option<u8> {
        match self.network {
            Network::Ipv4(v4) => Some(v4.protocol),
            Network::Ipv6(v6) => Some(v6.next_header),
            _ => None,
        }
    }

    /// The IP payload (a fragment's data for fragments), for IP packets.
    #[inline]
    pub fn ip_payload(&self) -> Option<&'a [u8]> {
        match self.network {
            Network::Ipv4(v4) => Some(v4.payload),
            Network::Ipv6(v6) => Some(v6.payload),
            _ => None,
        }
    }
}

impl Network<'_> {
    /// Source and destination addresses, for IP packets.
    #[inline]
    pub fn ip_pair(&self) -> Option<(IpAddr, IpAddr)> {
        match self {
            Network::Ipv4(v4) => Some((IpAddr::V4(v4.src), IpAddr::V4(v4.dst))),
            Network::Ipv6(v6) => Some((IpAddr::V6(v6.src), IpAddr::V6(v6.dst))),
            _ => None,
        }
    }
}

/// Decodes a frame of the given link type as far as it can. Never fails: problems are reported
/// in [`Packet::error`] and the layers decoded before them are kept.
pub fn decode(linktype: LinkType, frame: &[u8]) -> Packet<'_> {
    let mut pkt = Packet::EMPTY;
    match linktype {
        LinkType::ETHERNET => match ethernet::Packet::new_checked(frame) {
            Ok(eth) => {
                pkt.link.src_mac = Some(eth.src_addr());
                pkt.link.dst_mac = Some(eth.dst_addr());
                link_payload(&mut pkt, eth.ethertype().0, eth.payload(), false);
            }
            Err(e) => pkt.error = Some(e),
        },
        LinkType::LINUX_SLL => match link::parse_sll(frame) {
            Ok((header, payload)) => cooked(&mut pkt, &header, payload),
            Err(e) => pkt.error = Some(e),
        },
        LinkType::LINUX_SLL2 => match link::parse_sll2(frame) {
            Ok((header, payload)) => cooked(&mut pkt, &header, payload),
            Err(e) => pkt.error = Some(e),
        },
        LinkType::NULL | LinkType::LOOP => {
            match link::parse_null(frame, linktype == LinkType::LOOP) {
                Ok((AddressFamily::Ipv4, payload)) => network(&mut pkt, 0x0800, payload),
                Ok((AddressFamily::Ipv6, payload)) => network(&mut pkt, 0x86dd, payload),
                Ok((AddressFamily::Other(_), payload)) => {
                    pkt.network = Network::Other {
                        ethertype: 0,
                        payload,
                    }
                }
                Err(e) => pkt.error = Some(e),
            }
        }
        LinkType::RAW => match frame.first().map(|b| b >> 4) {
            Some(4) => network(&mut pkt, 0x0800, frame),
            Some(6) => network(&mut pkt, 0x86dd, frame),
            Some(_) => pkt.error = Some(err(Layer::Link, DecodeErrorKind::BadVersion)),
            None => pkt.error = Some(err(Layer::Link, DecodeErrorKind::Truncated)),
        },
        LinkType::IPV4 => network(&mut pkt, 0x0800, frame),
        LinkType::IPV6 => network(&mut pkt, 0x86dd, frame),
        _ => pkt.error = Some(err(Layer::Link, DecodeErrorKind::UnsupportedLinkType)),
    }
    pkt
}

/// Dispatches on the protocol of a Linux cooked capture header.
fn cooked<'a>(pkt: &mut Packet<'a>, header: &CookedHeader, payload: &'a [u8]) {
    pkt.link.src_mac = header.src_mac;
    match header.protocol {
        link::SLL_PROTOCOL_LLC => {
            if let Some((ethertype, rest)) = llc(pkt, payload) {
                link_payload(pkt, ethertype, rest, true);
            }
        }
        // Below 0x0600 the field holds Linux ETH_P_ values (802.3 without LLC, CAN, ...), not
        // lengths: there is nothing more to decode.
        p if p < 0x0600 => {
            pkt.link.ethertype = p;
            pkt.network = Network::Other {
                ethertype: p,
                payload,
            };
        }
        p => link_payload(pkt, p, payload, false),
    }
}

/// Walks VLAN tags and 802.3/LLC/SNAP encapsulation from a type/length field to the network
/// layer. A loop with bounds (tag count, one LLC header) instead of recursion.
fn link_payload<'a>(
    pkt: &mut Packet<'a>,
    mut ethertype: u16,
    mut payload: &'a [u8],
    mut llc_seen: bool,
) {
    let mut tags = 0usize;
    loop {
        match ethertype {
            0x8100 | 0x88a8 | 0x9100 => {
                let tag = match VlanPacket::new_checked(payload) {
                    Ok(tag) => tag,
                    Err(e) => {
                        pkt.error = Some(e);
                        return;
                    }
                };
                tags += 1;
                if tags > MAX_VLAN_TAGS {
                    pkt.error = Some(err(Layer::Vlan, DecodeErrorKind::TooManyHeaders));
                    return;
                }
                let id = tag.tag().id;
                match tags {
                    1 => pkt.link.vlans.outer = Some(id),
                    2 => pkt.link.vlans.inner = Some(id),
                    _ => {}
                }
                ethertype = tag.ethertype().0;
                payload = tag.payload();
            }
            0..=ethernet::EtherType::MAX_LENGTH => {
                if llc_seen {
                    pkt.error = Some(err(Layer::Llc, DecodeErrorKind::TooManyHeaders));
                    return;
                }
                llc_seen = true;
                // The 802.3 length is what cuts off the padding of short frames; a length past
                // the captured bytes is a snap length, not an error.
                let data = payload.get(..usize::from(ethertype)).unwrap_or(payload);
                match llc(pkt, data) {
                    Some((next, rest)) => {
                        ethertype = next;
                        payload = rest;
                    }
                    None => return,
                }
            }
            _ => return network(pkt, ethertype, payload),
        }
    }
}

/// Decodes an LLC header; returns the ether type and payload to continue with when it is a
/// SNAP header carrying an ether type, otherwise records an `Other` network layer.
fn llc<'a>(pkt: &mut Packet<'a>, data: &'a [u8]) -> Option<(u16, &'a [u8])> {
    let p = match llc::Packet::new_checked(data) {
        Ok(p) => p,
        Err(e) => {
            pkt.error = Some(e);
            return None;
        }
    };
    let header = p.header();
    pkt.link.llc = Some(header);
    let ethertype = match header.snap {
        Some(snap) if snap.is_ethertype() => return Some((snap.protocol_id, p.payload())),
        Some(snap) => snap.protocol_id,
        None => 0,
    };
    pkt.link.ethertype = ethertype;
    pkt.network = Network::Other {
        ethertype,
        payload: p.payload(),
    };
    None
}

/// Decodes the network layer named by an ether type.
fn network<'a>(pkt: &mut Packet<'a>, ethertype: u16, payload: &'a [u8]) {
    pkt.link.ethertype = ethertype;
    match ethertype {
        0x0800 => decode_ipv4(pkt, payload),
        0x86dd => decode_ipv6(pkt, payload),
        0x0806 => match arp::Packet::new_checked(payload) {
            Ok(p) => match arp::Repr::parse(&p) {
                Ok(Some(a)) => pkt.network = Network::Arp(a),
                Ok(None) => pkt.network = Network::Other { ethertype, payload },
                Err(e) => pkt.error = Some(e),
            },
            Err(e) => pkt.error = Some(e),
        },
        _ => pkt.network = Network::Other { ethertype, payload },
    }
}

fn decode_ipv4<'a>(pkt: &mut Packet<'a>, data: &'a [u8]) {
    let (summary, problem) = match ipv4::summarize(data) {
        Ok(r) => r,
        Err(e) => {
            pkt.error = Some(e);
            return;
        }
    };
    pkt.network = Network::Ipv4(summary);
    if problem.is_some() {
        pkt.error = problem;
        return;
    }
    if summary.more_fragments || summary.fragment_offset > 0 {
        pkt.transport = Transport::Fragment;
        return;
    }
    let declared = usize::from(summary.total_len) - usize::from(summary.header_len);
    let short = summary.payload.len() < declared;
    (pkt.transport, pkt.error) = transport(summary.protocol, summary.payload, short);
}

fn decode_ipv6<'a>(pkt: &mut Packet<'a>, data: &'a [u8]) {
    let (summary, chain, short) = match ipv6::summarize(data) {
        Ok(r) => r,
        Err(e) => {
            pkt.error = Some(e);
            return;
        }
    };
    pkt.network = Network::Ipv6(summary);
    if chain.error.is_some() {
        pkt.error = chain.error;
        return;
    }
    if chain.is_fragment() {
        pkt.transport = Transport::Fragment;
        return;
    }
    (pkt.transport, pkt.error) = transport(summary.next_header, summary.payload, short);
}

/// Decodes a transport header. `short` says that the capture cut the IP payload, which turns
/// "header runs past the data" from a malformed header into a truncation.
#[inline]
fn transport(protocol: u8, payload: &[u8], short: bool) -> (Transport<'_>, Option<DecodeError>) {
    match protocol {
        6 => {
            if payload.len() < tcp::HEADER_LEN {
                return (
                    Transport::None,
                    Some(err(Layer::Tcp, DecodeErrorKind::Truncated)),
                );
            }
            let p = tcp::Packet::new_unchecked(payload);
            let header_len = p.header_len();
            if header_len < tcp::HEADER_LEN {
                return (
                    Transport::None,
                    Some(err(Layer::Tcp, DecodeErrorKind::BadHeaderLength)),
                );
            }
            if header_len > payload.len() {
                let kind = if short {
                    DecodeErrorKind::Truncated
                } else {
                    DecodeErrorKind::BadHeaderLength
                };
                return (Transport::None, Some(err(Layer::Tcp, kind)));
            }
            let (summary, problem) = p.summary();
            (Transport::Tcp(summary, &payload[header_len..]), problem)
        }
        17 => {
            if payload.len() < udp::HEADER_LEN {
                return (
                    Transport::None,
                    Some(err(Layer::Udp, DecodeErrorKind::Truncated)),
                );
            }
            let p = udp::Packet::new_unchecked(payload);
            let t = Transport::Udp {
                src_port: p.src_port(),
                dst_port: p.dst_port(),
                payload: p.payload(),
            };
            (t, p.check_length_field(!short).err())
        }
        1 => match icmp::Packet::new_checked(payload) {
            Ok(p) => {
                let t = Transport::Icmpv4 {
                    icmp_type: p.msg_type(),
                    code: p.msg_code(),
                    body: p.body(),
                };
                (t, None)
            }
            Err(e) => (Transport::None, Some(e)),
        },
        58 => match icmpv6::Packet::new_checked(payload) {
            Ok(p) => {
                let (nd, problem) = icmpv6::neighbor_discovery(p.msg_type(), p.body());
                let t = Transport::Icmpv6 {
                    icmp_type: p.msg_type(),
                    code: p.msg_code(),
                    nd,
                    body: p.body(),
                };
                (t, problem)
            }
            Err(e) => (Transport::None, Some(e)),
        },
        _ => (Transport::Other { protocol, payload }, None),
    }
}

/// Decodes the transport layer of an already reassembled IP payload.
///
/// Returns `Err` only when no transport layer could be read (header truncated or malformed).
/// Problems that leave the header readable (a bad TCP option, a UDP length field that
/// disagrees with the payload, a bad ND option) are dropped here; use
/// [`decode_transport_detailed`] to get them too. The addresses are not needed to decode and
/// are accepted so that callers need not change when checksums get verified here.
pub fn decode_transport<'a>(
    protocol: u8,
    src: IpAddr,
    dst: IpAddr,
    payload: &'a [u8],
) -> Result<Transport<'a>, DecodeError> {
    let _ = (src, dst);
    match decode_transport_detailed(protocol, payload) {
        (Transport::None, Some(e)) => Err(e),
        (t, _) => Ok(t),
    }
}

/// Like [`decode_transport`], but returns the transport layer together with any problem met,
/// the way [`decode`] fills [`Packet::transport`] and [`Packet::error`]. The payload is taken
/// as complete (reassembled), so a header running past it is malformed, not truncated.
pub fn decode_transport_detailed(
    protocol: u8,
    payload: &[u8],
) -> (Transport<'_>, Option<DecodeError>) {
    transport(protocol, payload, false)
}
