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
    /// A packet with nothing decoded. Built field by field: for enums only the discriminants
    /// need writing, where copying a constant would move the whole summary.
    #[inline]
    pub fn empty() -> Self {
        Self {
            link: LinkSummary::default(),
            network: Network::None,
            transport: Transport::None,
            error: None,
        }
    }

    #[inline]
    fn reset(&mut self) {
        self.link = LinkSummary::default();
        self.network = Network::None;
        self.transport = Transport::None;
        self.error = None;
    }

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
#[inline]
pub fn decode(linktype: LinkType, frame: &[u8]) -> Packet<'_> {
    let mut pkt = Packet::empty();
    decode_into(linktype, frame, &mut pkt);
    pkt
}

/// [`decode`] into a caller's packet, which is overwritten entirely. A packet summary is a
/// couple of hundred bytes; writing it in place saves moving it on the per-frame path.
///
/// Inline, so that the reset below meets the caller's own initialisation of `pkt` (typically
/// [`Packet::empty`]) and the compiler writes the packet once, not twice; the decoding itself
/// is not inlined.
#[inline]
pub fn decode_into<'a>(linktype: LinkType, frame: &'a [u8], pkt: &mut Packet<'a>) {
    pkt.reset();
    decode_layers(linktype, frame, pkt);
}

/// [`decode_into`] after the reset.
fn decode_layers<'a>(linktype: LinkType, frame: &'a [u8], pkt: &mut Packet<'a>) {
    match linktype {
        LinkType::ETHERNET => match ethernet::Packet::new_checked(frame) {
            Ok(eth) => {
                pkt.link.src_mac = Some(eth.src_addr());
                pkt.link.dst_mac = Some(eth.dst_addr());
                let ethertype = eth.ethertype().0;
                // Untagged IPv4, most frames, goes straight to its decoder: the same steps as
                // through `link_payload` and `network`, without their two calls.
                if ethertype == 0x0800 {
                    pkt.link.ethertype = ethertype;
                    decode_ipv4(pkt, eth.payload());
                } else {
                    link_payload(pkt, ethertype, eth.payload(), false);
                }
            }
            Err(e) => pkt.error = Some(e),
        },
        LinkType::LINUX_SLL => match link::parse_sll(frame) {
            Ok((header, payload)) => cooked(pkt, &header, payload),
            Err(e) => pkt.error = Some(e),
        },
        LinkType::LINUX_SLL2 => match link::parse_sll2(frame) {
            Ok((header, payload)) => cooked(pkt, &header, payload),
            Err(e) => pkt.error = Some(e),
        },
        LinkType::NULL | LinkType::LOOP => {
            match link::parse_null(frame, linktype == LinkType::LOOP) {
                Ok((AddressFamily::Ipv4, payload)) => network(pkt, 0x0800, payload),
                Ok((AddressFamily::Ipv6, payload)) => network(pkt, 0x86dd, payload),
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
            Some(4) => network(pkt, 0x0800, frame),
            Some(6) => network(pkt, 0x86dd, frame),
            Some(_) => pkt.error = Some(err(Layer::Link, DecodeErrorKind::BadVersion)),
            None => pkt.error = Some(err(Layer::Link, DecodeErrorKind::Truncated)),
        },
        LinkType::IPV4 => network(pkt, 0x0800, frame),
        LinkType::IPV6 => network(pkt, 0x86dd, frame),
        _ => pkt.error = Some(err(Layer::Link, DecodeErrorKind::UnsupportedLinkType)),
    }
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
    match ipv4::summarize_into(data, &mut pkt.network) {
        Ok(None) => {}
        Ok(problem) => {
            pkt.error = problem;
            return;
        }
        Err(e) => {
            pkt.error = Some(e);
            return;
        }
    }
    let Network::Ipv4(summary) = &pkt.network else {
        return;
    };
    if summary.more_fragments || summary.fragment_offset > 0 {
        pkt.transport = Transport::Fragment;
        return;
    }
    let declared = usize::from(summary.total_len) - usize::from(summary.header_len);
    let (protocol, payload) = (summary.protocol, summary.payload);
    let short = payload.len() < declared;
    transport(pkt, protocol, payload, short);
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
    transport(pkt, summary.next_header, summary.payload, short);
}

/// Decodes a transport header into `pkt`. `short` says that the capture cut the IP payload,
/// which turns "header runs past the data" from a malformed header into a truncation.
///
/// Writes into the packet rather than returning a value: the summaries are large enough for
/// the moves to show in profiles.
#[inline]
fn transport<'a>(pkt: &mut Packet<'a>, protocol: u8, payload: &'a [u8], short: bool) {
    match protocol {
        6 => {
            if payload.len() < tcp::HEADER_LEN {
                pkt.error = Some(err(Layer::Tcp, DecodeErrorKind::Truncated));
                return;
            }
            let p = tcp::Packet::new_unchecked(payload);
            let header_len = p.header_len();
            if header_len < tcp::HEADER_LEN {
                pkt.error = Some(err(Layer::Tcp, DecodeErrorKind::BadHeaderLength));
                return;
            }
            let Some(data) = payload.get(header_len..) else {
                let kind = if short {
                    DecodeErrorKind::Truncated
                } else {
                    DecodeErrorKind::BadHeaderLength
                };
                pkt.error = Some(err(Layer::Tcp, kind));
                return;
            };
            // The fixed fields straight into the packet, the options only when there are any:
            // building a default summary and then overwriting it wrote it twice.
            pkt.transport = Transport::Tcp(p.fixed_summary(), data);
            if header_len > tcp::HEADER_LEN {
                if let Transport::Tcp(summary, _) = &mut pkt.transport {
                    pkt.error = p.fill_summary_options(summary);
                }
            }
        }
        17 => {
            if payload.len() < udp::HEADER_LEN {
                pkt.error = Some(err(Layer::Udp, DecodeErrorKind::Truncated));
                return;
            }
            let p = udp::Packet::new_unchecked(payload);
            pkt.transport = Transport::Udp {
                src_port: p.src_port(),
                dst_port: p.dst_port(),
                payload: p.payload(),
            };
            pkt.error = p.check_length_field(!short).err();
        }
        1 => match icmp::Packet::new_checked(payload) {
            Ok(p) => {
                pkt.transport = Transport::Icmpv4 {
                    icmp_type: p.msg_type(),
                    code: p.msg_code(),
                    body: p.body(),
                };
            }
            Err(e) => pkt.error = Some(e),
        },
        58 => match icmpv6::Packet::new_checked(payload) {
            Ok(p) => {
                let (nd, problem) = icmpv6::neighbor_discovery(p.msg_type(), p.body());
                pkt.transport = Transport::Icmpv6 {
                    icmp_type: p.msg_type(),
                    code: p.msg_code(),
                    nd,
                    body: p.body(),
                };
                pkt.error = problem;
            }
            Err(e) => pkt.error = Some(e),
        },
        _ => pkt.transport = Transport::Other { protocol, payload },
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
    let mut pkt = Packet::empty();
    transport(&mut pkt, protocol, payload, false);
    (pkt.transport, pkt.error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::{self, Ip, L4};
    use crate::ethernet::{EtherType, VlanTag};
    use crate::ip::IpProtocol;
    use crate::tcp::flags;
    use crate::util::hex;

    // Frames from the captures in shared/data/pcaps; expected values from tshark 4.0.
    // zeek_http_get.pcap frame 1: Ethernet/IPv4/TCP SYN with MSS, WS, SACK-permitted, timestamps.
    const HTTP_SYN: &str = "0010db88d2efc8bcc896d2a0080045000040df8e400040066dd38d8ee405c096bb2be9d00050fe21323a00000000b002ffff3bc00000020405b4010303040101080a164add200000000004020000";
    // zeek_http_get.pcap frame 4: the GET request, 136 bytes of TCP payload.
    const HTTP_GET: &str = "0010db88d2efc8bcc896d2a00800450000bc4a9a40004006024c8d8ee405c096bb2be9d00050fe21323ba5afce3f8018202b048000000101080a164add662f894259474554202f646f776e6c6f61642f4348414e4745532e62726f2d6175782e74787420485454502f312e310d0a557365722d4167656e743a20576765742f312e3134202864617277696e31322e322e30290d0a4163636570743a202a2f2a0d0a486f73743a2062726f2e6f72670d0a436f6e6e656374696f6e3a204b6565702d416c6976650d0a0d0a";
    // tcpdump_802.1ad_QinQ.pcap frame 1: 802.1ad tag 200, 802.1Q tag 2001, ARP request.
    const QINQ_ARP: &str = "ffffffffffff0020d25afb3f88a800c8810007d1080600010800060400010020d25afb3fac154f61000000000000ac154f640000000000000000000000000000";
    // zeek_icmp_dot1q.pcap frame 5: 802.1Q tag 123, ICMP echo request.
    const DOT1Q_ICMP: &str = "001906eab8c1001873de57c18100007b08004500006400050000ff01443fc0a87b02c0a87b010800949a0001000000000000000ce9a2abcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcd";
    // zeek_arp-leak.pcap frame 3: ARP announcing 255-byte protocol addresses.
    const ARP_LEAK: &str = "ffffffffffff7e8e20d823a708060001080006ff00017e8e20d823a7c0a87b010000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000c0a87b020000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";
    // tcpdump_dhcp-rfc4388.pcap frame 7: ARP request padded to 60 bytes.
    const ARP_PADDED: &str = "7483ef07d0a9a6824bc9a1a708060001080006040001a6824bc9a1a70a2802030000000000000a280101000000000000000000000000000000000000";
    // tcpdump_LLDP_and_CDP.pcap frame 1: 802.3 length 374, LLC/SNAP with Cisco OUI, CDP.
    const CDP_SNAP: &str = "01000ccccccc0018ba98688f0176aaaa0300000c200002b40bea000100065331000500c2436973636f20494f5320536f6674776172652c20433335363020536f667477617265202843333536302d414456495053455256494345534b392d4d292c2056657273696f6e2031322e322834342953452c2052454c4541534520534f4654574152452028666331290a436f707972696768742028632920313938362d3230303820627920436973636f2053797374656d732c20496e632e0a436f6d70696c6564205361742030352d4a616e2d30382030303a3135206279207765696c697500060017636973636f2057532d43333536302d3234545300020011000000010101cc000400000000000300144661737445746865726e6574302f313300040008000000280008002400000c011200000000ffffffff010220ff0000000000000018ba986880ff000000090004000a00060001000b0005010012000500001300050000160011000000010101cc000400000000001a00100000000100000000ffffffff";
    // tcpdump_802.1D_spanning_tree.pcap frame 1: 802.3 length 38, LLC 0x42, padded to 60 bytes.
    const STP_LLC: &str = "0180c2000000001906eab885002642420300000000008001001906eab880000000008001001906eab88080050000140002000f000000000000000000";
    // ndpi_android.pcap frame 64: IPv6 neighbor solicitation (duplicate address detection).
    const ND_DAD: &str = "3333ff9ff6274c6af69ff62786dd6000000000183aff00000000000000000000000000000000ff0200000000000000000001ff9ff62787004b2e00000000fe800000000000004e6af6fffe9ff627";
    // ndpi_android.pcap frame 65: IPv6 hop-by-hop header, then an MLDv2 report.
    const MLD_HBH: &str = "3333000000164c6af69ff62786dd600000000024000100000000000000000000000000000000ff0200000000000000000000000000163a000502000001008f0078c30000000104000000ff0200000000000000000001ff9ff627";
    // ndpi_android.pcap frame 69: IPv6 UDP 546 -> 547 (DHCPv6 solicit).
    const DHCPV6: &str = "3333000100024c6af69ff62786dd6004d8a9003c1101fe800000000000004e6af6fffe9ff627ff02000000000000000000000001000202220223003c51cf01d8e4fe0001000e0001000125e5148e4c6af69ff6270003000c0e0008ca00000000000000000008000200000006000400170018";
    // open62541_client-server-getEndpoints.pcapng frame 1: BSD NULL (family 30, little endian), IPv6 ::1 TCP SYN.
    const NULL_SYN: &str = "1e00000060035919002c06400000000000000000000000000000000100000000000000000000000000000001f80d12e80db3ff3f00000000b002ffff0034000002043fc4010303060101080a5ecd43860000000004020000";
    // zeek_http_basic-auth-with-colon.pcap frame 4: raw IPv4, HTTP request of 186 bytes.
    const RAW_HTTP: &str = "450000ee44fa400040069144ac1885cdac1885cda8521f4000b58bdcc57036b080180200ebdf00000101080a66c7763a66c7763a474554202f20485454502f312e310d0a486f73743a203137322e32342e3133332e3230353a383030300d0a557365722d4167656e743a20707974686f6e2d72657175657374732f322e33312e300d0a4163636570742d456e636f64696e673a20677a69702c206465666c6174650d0a4163636570743a202a2f2a0d0a436f6e6e656374696f6e3a206b6565702d616c6976650d0a417574686f72697a6174696f6e3a20426173696320206447567a64446f784f6a4d300d0a0d0a";
    // icsnpp_s7comm_plus.pcap frame 1: Linux cooked capture v1, IPv4 TCP 102 -> 49154.
    const SLL_TCP: &str = "000300010006ac6417460d51000008004500002849e6400040066f95c0a80001c0a800030066c0025229b93237ad2ee050102000dc2d0000000000000000";
    // iti_ModbusTCP.pcap frame 2017: TCP SACK block; IPv4 checksum 0 (offloaded, tshark: bad).
    const SACK: &str = "00031d0b979778e7d1e0025e0800450000347ea14000800600008d51000a8d510068fb5401f65142e19bfd34000f8010f90c1b3b00000101050afd340004fd34000f";
    // zeek_mdns.pcap frame 5: IPv4 with router-alert option (IHL 6), IGMPv3.
    const IGMP_RA: &str = "01005e0000168a3cd6e14dc4080046c00028000040000102f7f20a000207e0000016940400002200fa020000000103000000e00000fb";
    // icsnpp_bacnet_services.pcap frame 4: IPv4 UDP 47808, 41-byte IP packet padded to 60.
    const BACNET_PADDED: &str = "00e04b04bdfa00e0c90010a5080045000029323a00001e11e8efc0a80018c0a80032bac0bac000150000810a000d01080003016c20020f0f0f0f0f0f";

    fn ip4(s: &str) -> Ipv4Addr {
        s.parse().expect("ipv4")
    }

    fn ip6(s: &str) -> Ipv6Addr {
        s.parse().expect("ipv6")
    }

    fn mac(s: &str) -> MacAddr {
        s.parse().expect("mac")
    }

    fn within(frame: &[u8], s: &[u8]) -> bool {
        let f = frame.as_ptr_range();
        let r = s.as_ptr_range();
        s.is_empty() || (f.start <= r.start && r.end <= f.end)
    }

    /// Every slice in the packet points into the frame.
    fn assert_within(frame: &[u8], p: &Packet<'_>) {
        let mut slices: Vec<&[u8]> = Vec::new();
        match p.network {
            Network::Ipv4(v4) => slices.extend([v4.options, v4.payload]),
            Network::Ipv6(v6) => slices.push(v6.payload),
            Network::Other { payload, .. } => slices.push(payload),
            Network::None | Network::Arp(_) => {}
        }
        match p.transport {
            Transport::Tcp(_, s)
            | Transport::Udp { payload: s, .. }
            | Transport::Icmpv4 { body: s, .. }
            | Transport::Icmpv6 { body: s, .. }
            | Transport::Other { payload: s, .. } => slices.push(s),
            Transport::None | Transport::Fragment => {}
        }
        for s in slices {
            assert!(within(frame, s), "slice outside the frame");
        }
    }

    /// Decodes every prefix of `frame` (never panics, slices stay inside) and returns the
    /// errors by prefix length.
    fn prefixes(linktype: LinkType, frame: &[u8]) -> Vec<Option<DecodeError>> {
        (0..=frame.len())
            .map(|n| {
                let p = decode(linktype, &frame[..n]);
                assert_within(&frame[..n], &p);
                p.error
            })
            .collect()
    }

    fn e(layer: Layer, kind: DecodeErrorKind) -> Option<DecodeError> {
        Some(DecodeError::new(layer, kind))
    }

    #[test]
    fn ethernet_ipv4_tcp_syn() {
        let f = hex(HTTP_SYN);
        let p = decode(LinkType::ETHERNET, &f);
        assert_eq!(p.error, None);
        assert_eq!(p.link.src_mac, Some(mac("c8:bc:c8:96:d2:a0")));
        assert_eq!(p.link.dst_mac, Some(mac("00:10:db:88:d2:ef")));
        assert_eq!((p.link.ethertype, p.link.vlans), (0x0800, Vlans::default()));
        let Network::Ipv4(ip) = p.network else {
            panic!("{:?}", p.network)
        };
        assert_eq!(
            (ip.src, ip.dst),
            (ip4("141.142.228.5"), ip4("192.150.187.43"))
        );
        assert_eq!((ip.protocol, ip.ttl, ip.identification), (6, 64, 0xdf8e));
        assert!(ip.dont_fragment && !ip.more_fragments);
        assert_eq!(
            (ip.header_len, ip.total_len, ip.checksum_ok),
            (20, 64, Some(true))
        );
        let Transport::Tcp(t, payload) = p.transport else {
            panic!("{:?}", p.transport)
        };
        assert_eq!(
            (t.src_port, t.dst_port, t.seq, t.ack),
            (59856, 80, 4_263_588_410, 0)
        );
        assert_eq!(
            (t.flags, t.window, t.mss, t.window_scale),
            (flags::SYN, 65535, Some(1460), Some(4))
        );
        assert!(t.sack_permitted);
        assert_eq!(t.timestamps, Some((374_005_024, 0)));
        assert!(payload.is_empty());
        assert_eq!(p.ip_pair(), Some((ip.src.into(), ip.dst.into())));
    }

    #[test]
    fn ethernet_syn_every_prefix() {
        let f = hex(HTTP_SYN);
        let errors = prefixes(LinkType::ETHERNET, &f);
        for (n, error) in errors.iter().enumerate() {
            let expected = match n {
                0..=13 => e(Layer::Link, DecodeErrorKind::Truncated),
                14..=33 => e(Layer::Ipv4, DecodeErrorKind::Truncated),
                34..=77 => e(Layer::Tcp, DecodeErrorKind::Truncated),
                _ => None,
            };
            assert_eq!(*error, expected, "prefix {n}");
        }
        // With the header whole, a capture cut inside the TCP header keeps the IPv4 layer.
        let p = decode(LinkType::ETHERNET, &f[..40]);
        assert!(matches!(p.network, Network::Ipv4(_)));
        assert_eq!(p.transport, Transport::None);
    }

    #[test]
    fn http_request_payload() {
        let f = hex(HTTP_GET);
        let p = decode(LinkType::ETHERNET, &f);
        assert_eq!(p.error, None);
        let Transport::Tcp(t, payload) = p.transport else {
            panic!()
        };
        // tshark: seq 4263588411, ack 2779762239, PSH|ACK, win 8235, tcp.len 136.
        assert_eq!(
            (t.seq, t.ack, t.flags, t.window),
            (4_263_588_411, 2_779_762_239, 0x18, 8235)
        );
        assert_eq!(t.timestamps, Some((374_005_094, 797_524_569)));
        assert_eq!(payload.len(), 136);
        assert!(payload.starts_with(b"GET /"));
        for n in 66..f.len() {
            // Payload cut by the snap length: no error, shorter payload.
            let p = decode(LinkType::ETHERNET, &f[..n]);
            assert_eq!(p.error, None);
            let Transport::Tcp(_, payload) = p.transport else {
                panic!()
            };
            assert_eq!(payload.len(), n - 66);
        }
    }

    #[test]
    fn qinq_arp() {
        let f = hex(QINQ_ARP);
        let p = decode(LinkType::ETHERNET, &f);
        assert_eq!(p.error, None);
        // tshark: ieee8021ad.id 200, vlan.id 2001, ARP request 172.21.79.97 -> 172.21.79.100.
        assert_eq!(
            p.link.vlans,
            Vlans {
                outer: Some(200),
                inner: Some(2001)
            }
        );
        assert_eq!(p.link.ethertype, 0x0806);
        let Network::Arp(a) = p.network else {
            panic!("{:?}", p.network)
        };
        assert_eq!(a.operation, 1);
        assert_eq!(
            (a.sender_mac, a.sender_ip),
            (mac("00:20:d2:5a:fb:3f"), ip4("172.21.79.97"))
        );
        assert_eq!(
            (a.target_mac, a.target_ip),
            (MacAddr::ZERO, ip4("172.21.79.100"))
        );
        assert_eq!(p.transport, Transport::None);
        let errors = prefixes(LinkType::ETHERNET, &f);
        assert_eq!(errors[15], e(Layer::Vlan, DecodeErrorKind::Truncated));
        assert_eq!(errors[21], e(Layer::Vlan, DecodeErrorKind::Truncated));
        assert_eq!(errors[22], e(Layer::Arp, DecodeErrorKind::Truncated));
        assert_eq!(errors[22 + 28], None);
    }

    #[test]
    fn dot1q_icmp_echo() {
        let f = hex(DOT1Q_ICMP);
        let p = decode(LinkType::ETHERNET, &f);
        assert_eq!(p.error, None);
        assert_eq!(
            p.link.vlans,
            Vlans {
                outer: Some(123),
                inner: None
            }
        );
        let Network::Ipv4(ip) = p.network else {
            panic!()
        };
        // tshark: 192.168.123.2 -> 192.168.123.1, ttl 255, id 5.
        assert_eq!(
            (ip.src, ip.dst, ip.ttl, ip.identification),
            (ip4("192.168.123.2"), ip4("192.168.123.1"), 255, 5)
        );
        let Transport::Icmpv4 {
            icmp_type,
            code,
            body,
        } = p.transport
        else {
            panic!()
        };
        // tshark: type 8, code 0, id 1, seq 0, 72 bytes of data.
        assert_eq!((icmp_type, code, body.len()), (8, 0, 4 + 72));
        assert_eq!(&body[..4], &[0, 1, 0, 0]);
        let errors = prefixes(LinkType::ETHERNET, &f);
        assert_eq!(errors[38 + 3], e(Layer::Icmpv4, DecodeErrorKind::Truncated));
        assert_eq!(errors[38 + 4], None);
    }

    #[test]
    fn arp_oddities() {
        // 255-byte protocol addresses: readable ARP, not the Ethernet/IPv4 flavour.
        let f = hex(ARP_LEAK);
        let p = decode(LinkType::ETHERNET, &f);
        assert_eq!(p.error, None);
        let Network::Other { ethertype, payload } = p.network else {
            panic!("{:?}", p.network)
        };
        assert_eq!((ethertype, payload.len()), (0x0806, 544 - 14));
        prefixes(LinkType::ETHERNET, &f);

        let f = hex(ARP_PADDED);
        let p = decode(LinkType::ETHERNET, &f);
        // tshark: a6:82:4b:c9:a1:a7 10.40.2.3 asks for 10.40.1.1.
        let Network::Arp(a) = p.network else { panic!() };
        assert_eq!(
            (a.sender_mac, a.sender_ip, a.target_ip),
            (mac("a6:82:4b:c9:a1:a7"), ip4("10.40.2.3"), ip4("10.40.1.1"))
        );
    }

    #[test]
    fn ieee802_3_llc_snap_and_stp() {
        let f = hex(CDP_SNAP);
        let p = decode(LinkType::ETHERNET, &f);
        assert_eq!(p.error, None);
        let llc = p.link.llc.expect("llc");
        assert_eq!((llc.dsap, llc.ssap, llc.control), (0xaa, 0xaa, 3));
        assert_eq!(
            llc.snap.map(|s| (s.oui, s.protocol_id)),
            Some((0x00000c, 0x2000))
        );
        assert_eq!(p.link.ethertype, 0x2000);
        let Network::Other { ethertype, payload } = p.network else {
            panic!()
        };
        // tshark: eth.len 374, so 366 bytes of CDP after LLC/SNAP.
        assert_eq!((ethertype, payload.len()), (0x2000, 366));
        assert_eq!(payload[0], 2); // CDP version

        let f = hex(STP_LLC);
        let p = decode(LinkType::ETHERNET, &f);
        assert_eq!(p.error, None);
        let llc = p.link.llc.expect("llc");
        assert_eq!(
            (llc.dsap, llc.ssap, llc.control, llc.snap),
            (0x42, 0x42, 3, None)
        );
        let Network::Other { ethertype, payload } = p.network else {
            panic!()
        };
        // tshark: eth.len 38; the 8 bytes of padding are not payload.
        assert_eq!((ethertype, payload.len()), (0, 35));
        let errors = prefixes(LinkType::ETHERNET, &f);
        assert_eq!(errors[16], e(Layer::Llc, DecodeErrorKind::Truncated));
        assert_eq!(errors[17], None);
    }

    #[test]
    fn snap_with_rfc1042_oui_carries_ip() {
        // An 802.3 frame whose LLC/SNAP header (OUI 0) announces IPv4: the SYN's IP packet.
        let syn = hex(HTTP_SYN);
        let ip = &syn[14..];
        let mut f = syn[..12].to_vec();
        f.extend_from_slice(&u16::try_from(8 + ip.len()).expect("len").to_be_bytes());
        f.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00]);
        f.extend_from_slice(ip);
        let p = decode(LinkType::ETHERNET, &f);
        assert_eq!(p.error, None);
        assert_eq!(p.link.ethertype, 0x0800);
        assert!(matches!(p.transport, Transport::Tcp(..)));
    }

    #[test]
    fn ipv6_neighbor_solicitation() {
        let f = hex(ND_DAD);
        let p = decode(LinkType::ETHERNET, &f);
        assert_eq!(p.error, None);
        let Network::Ipv6(ip) = p.network else {
            panic!()
        };
        // tshark: :: -> ff02::1:ff9f:f627, hop limit 255, next header 58.
        assert_eq!(
            (ip.src, ip.dst),
            (Ipv6Addr::UNSPECIFIED, ip6("ff02::1:ff9f:f627"))
        );
        assert_eq!(
            (ip.hop_limit, ip.next_header, ip.payload_len, ip.fragment),
            (255, 58, 24, None)
        );
        let Transport::Icmpv6 {
            icmp_type,
            code,
            nd,
            body,
        } = p.transport
        else {
            panic!()
        };
        assert_eq!((icmp_type, code, body.len()), (135, 0, 20));
        let nd = nd.expect("nd");
        assert_eq!(nd.target, ip6("fe80::4e6a:f6ff:fe9f:f627"));
        assert_eq!(nd.source_link_addr, None);
        let errors = prefixes(LinkType::ETHERNET, &f);
        assert_eq!(errors[14 + 39], e(Layer::Ipv6, DecodeErrorKind::Truncated));
        assert_eq!(errors[54 + 3], e(Layer::Icmpv6, DecodeErrorKind::Truncated));
        assert_eq!(
            errors[54 + 23],
            e(Layer::Icmpv6, DecodeErrorKind::Truncated)
        );
    }

    #[test]
    fn ipv6_hop_by_hop_then_mld() {
        let f = hex(MLD_HBH);
        let p = decode(LinkType::ETHERNET, &f);
        assert_eq!(p.error, None);
        let Network::Ipv6(ip) = p.network else {
            panic!()
        };
        // tshark: payload length 36, hop-by-hop then ICMPv6 (MLDv2 report, type 143).
        assert_eq!(
            (ip.payload_len, ip.next_header, ip.payload.len()),
            (36, 58, 28)
        );
        let Transport::Icmpv6 { icmp_type, nd, .. } = p.transport else {
            panic!()
        };
        assert_eq!((icmp_type, nd), (143, None));
        let errors = prefixes(LinkType::ETHERNET, &f);
        assert_eq!(errors[54 + 7], e(Layer::Ipv6, DecodeErrorKind::Truncated));
    }

    #[test]
    fn ipv6_udp() {
        let f = hex(DHCPV6);
        let p = decode(LinkType::ETHERNET, &f);
        assert_eq!(p.error, None);
        let Transport::Udp {
            src_port,
            dst_port,
            payload,
        } = p.transport
        else {
            panic!()
        };
        // tshark: 546 -> 547, udp.length 60.
        assert_eq!((src_port, dst_port, payload.len()), (546, 547, 52));
        assert_eq!(payload[0], 1); // DHCPv6 solicit
        let errors = prefixes(LinkType::ETHERNET, &f);
        assert_eq!(errors[54 + 7], e(Layer::Udp, DecodeErrorKind::Truncated));
        assert_eq!(errors[54 + 8], None);
    }

    #[test]
    fn bsd_null_ipv6() {
        let f = hex(NULL_SYN);
        let p = decode(LinkType::NULL, &f);
        assert_eq!(p.error, None);
        assert_eq!((p.link.src_mac, p.link.ethertype), (None, 0x86dd));
        let Network::Ipv6(ip) = p.network else {
            panic!()
        };
        assert_eq!((ip.src, ip.dst), (Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST));
        let Transport::Tcp(t, _) = p.transport else {
            panic!()
        };
        // tshark: 63501 -> 4840 SYN, mss 16324, ws 6.
        assert_eq!((t.src_port, t.dst_port, t.flags), (63501, 4840, flags::SYN));
        assert_eq!((t.mss, t.window_scale), (Some(16324), Some(6)));
        prefixes(LinkType::NULL, &f);
        // The same bytes as LOOP (network order): family 0x1e000000 is unknown.
        let p = decode(LinkType::LOOP, &f);
        assert!(matches!(p.network, Network::Other { ethertype: 0, .. }));
        let mut big_endian = f.clone();
        big_endian[..4].copy_from_slice(&[0, 0, 0, 30]);
        assert!(matches!(
            decode(LinkType::LOOP, &big_endian).transport,
            Transport::Tcp(..)
        ));
        assert!(matches!(
            decode(LinkType::NULL, &big_endian).transport,
            Transport::Tcp(..)
        ));
    }

    #[test]
    fn raw_ipv4() {
        let f = hex(RAW_HTTP);
        for linktype in [LinkType::RAW, LinkType::IPV4] {
            let p = decode(linktype, &f);
            assert_eq!(p.error, None);
            assert_eq!(
                p.link,
                LinkSummary {
                    ethertype: 0x0800,
                    ..LinkSummary::default()
                }
            );
            let Transport::Tcp(t, payload) = p.transport else {
                panic!()
            };
            // tshark: 43090 -> 8000, seq 11897820, tcp.len 186.
            assert_eq!(
                (t.src_port, t.dst_port, t.seq, payload.len()),
                (43090, 8000, 11_897_820, 186)
            );
            prefixes(linktype, &f);
        }
        assert_eq!(
            decode(LinkType::IPV6, &f).error,
            e(Layer::Ipv6, DecodeErrorKind::BadVersion)
        );
        let mut bad = f.clone();
        bad[0] = 0x55;
        assert_eq!(
            decode(LinkType::RAW, &bad).error,
            e(Layer::Link, DecodeErrorKind::BadVersion)
        );
        assert_eq!(
            decode(LinkType::RAW, &[]).error,
            e(Layer::Link, DecodeErrorKind::Truncated)
        );
        let v6 = hex(ND_DAD);
        assert!(matches!(
            decode(LinkType::RAW, &v6[14..]).transport,
            Transport::Icmpv6 { .. }
        ));
        assert!(matches!(
            decode(LinkType::IPV6, &v6[14..]).transport,
            Transport::Icmpv6 { .. }
        ));
    }

    #[test]
    fn linux_cooked_v1_and_v2() {
        let f = hex(SLL_TCP);
        let p = decode(LinkType::LINUX_SLL, &f);
        assert_eq!(p.error, None);
        // tshark: sll.pkttype 3, hatype 1, halen 6, src ac:64:17:46:0d:51, etype 0x0800.
        assert_eq!(
            (p.link.src_mac, p.link.dst_mac),
            (Some(mac("ac:64:17:46:0d:51")), None)
        );
        assert_eq!(p.link.ethertype, 0x0800);
        let Transport::Tcp(t, payload) = p.transport else {
            panic!()
        };
        assert_eq!((t.src_port, t.dst_port, payload.len()), (102, 49154, 0));
        let (h, _) = link::parse_sll(&f).expect("sll");
        assert_eq!((h.packet_type, h.hardware_type, h.address_len), (3, 1, 6));
        let errors = prefixes(LinkType::LINUX_SLL, &f);
        assert_eq!(errors[15], e(Layer::Link, DecodeErrorKind::Truncated));
        assert_eq!(errors[16], e(Layer::Ipv4, DecodeErrorKind::Truncated));

        // Synthetic SLL2 header (no SLL2 capture in the corpus) in front of the same IP packet:
        // protocol 0x0800, reserved, ifindex 7, hatype 1, pkttype 3, halen 6, address.
        let mut f2 = hex("0800 0000 00000007 0001 03 06 ac6417460d51 0000");
        f2.extend_from_slice(&f[16..]);
        let p2 = decode(LinkType::LINUX_SLL2, &f2);
        assert_eq!(
            (p2.link, p2.network, p2.transport, p2.error),
            (p.link, p.network, p.transport, None)
        );
        let (h2, _) = link::parse_sll2(&f2).expect("sll2");
        assert_eq!((h2.packet_type, h2.interface_index), (3, 7));
        let errors = prefixes(LinkType::LINUX_SLL2, &f2);
        assert_eq!(errors[19], e(Layer::Link, DecodeErrorKind::Truncated));

        // Protocol 0x0004: LLC straight after the header (STP here).
        let stp = hex(STP_LLC);
        let mut llc = f[..14].to_vec();
        llc.extend_from_slice(&[0x00, 0x04]);
        llc.extend_from_slice(&stp[14..14 + 38]);
        let p = decode(LinkType::LINUX_SLL, &llc);
        assert_eq!(p.link.llc.map(|l| l.dsap), Some(0x42));
        assert!(
            matches!(p.network, Network::Other { ethertype: 0, payload } if payload.len() == 35)
        );
        // Other ETH_P_ values below 0x0600 are kept raw.
        llc[15] = 0x0c;
        assert!(matches!(
            decode(LinkType::LINUX_SLL, &llc).network,
            Network::Other {
                ethertype: 0x000c,
                ..
            }
        ));
    }

    #[test]
    fn sack_and_offloaded_checksum() {
        let f = hex(SACK);
        let p = decode(LinkType::ETHERNET, &f);
        assert_eq!(p.error, None);
        let Network::Ipv4(ip) = p.network else {
            panic!()
        };
        assert_eq!(ip.checksum_ok, Some(false));
        let Transport::Tcp(t, _) = p.transport else {
            panic!()
        };
        // tshark: 1 SACK block 4248043524-4248043535, seq 1363337627, ack 4248043535.
        assert_eq!(
            (t.src_port, t.seq, t.ack),
            (64340, 1_363_337_627, 4_248_043_535)
        );
        assert_eq!(
            (t.sack_count, t.sack_blocks[0]),
            (1, (4_248_043_524, 4_248_043_535))
        );
        assert_eq!(t.timestamps, None);
    }

    #[test]
    fn ipv4_options_and_other_protocol() {
        let f = hex(IGMP_RA);
        let p = decode(LinkType::ETHERNET, &f);
        assert_eq!(p.error, None);
        let Network::Ipv4(ip) = p.network else {
            panic!()
        };
        // tshark: hdr_len 24, option 148 (router alert), proto 2, checksum good.
        assert_eq!(
            (ip.header_len, ip.options, ip.checksum_ok),
            (24, &[0x94, 4, 0, 0][..], Some(true))
        );
        assert_eq!(
            p.transport,
            Transport::Other {
                protocol: 2,
                payload: &f[38..54]
            }
        );
        let errors = prefixes(LinkType::ETHERNET, &f);
        // The fixed header alone keeps the addresses; the options are cut.
        assert_eq!(errors[14 + 22], e(Layer::Ipv4, DecodeErrorKind::Truncated));
        let p = decode(LinkType::ETHERNET, &f[..36]);
        let Network::Ipv4(ip) = p.network else {
            panic!()
        };
        assert_eq!(
            (ip.checksum_ok, ip.options.len(), ip.dst),
            (None, 2, ip4("224.0.0.22"))
        );
    }

    #[test]
    fn ethernet_padding_stays_out_of_udp_payload() {
        let f = hex(BACNET_PADDED);
        let p = decode(LinkType::ETHERNET, &f);
        assert_eq!(p.error, None);
        let Network::Ipv4(ip) = p.network else {
            panic!()
        };
        assert_eq!(ip.payload.len(), 41 - 20);
        let Transport::Udp {
            src_port,
            dst_port,
            payload,
        } = p.transport
        else {
            panic!()
        };
        // tshark: 47808 -> 47808, udp.length 21: 13 bytes of BVLC/NPDU/APDU.
        assert_eq!((src_port, dst_port, payload.len()), (47808, 47808, 13));
        assert_eq!(payload[0], 0x81);
    }

    #[test]
    fn malformed_ip_and_transport_headers() {
        let syn = hex(HTTP_SYN);
        let mut f = syn.clone();
        f[14] = 0x43; // IHL 3
        assert_eq!(
            decode(LinkType::ETHERNET, &f).error,
            e(Layer::Ipv4, DecodeErrorKind::BadHeaderLength)
        );
        assert_eq!(decode(LinkType::ETHERNET, &f).network, Network::None);
        f[14] = 0x55;
        assert_eq!(
            decode(LinkType::ETHERNET, &f).error,
            e(Layer::Ipv4, DecodeErrorKind::BadVersion)
        );
        let mut f = syn.clone();
        f[17] = 19; // total length < 20
        let p = decode(LinkType::ETHERNET, &f);
        assert_eq!(p.error, e(Layer::Ipv4, DecodeErrorKind::BadLength));
        assert!(matches!(p.network, Network::Ipv4(ip) if ip.payload.is_empty()));
        // TCP data offset 4, then one pointing past the segment (not a capture cut).
        let mut f = syn.clone();
        f[46] = 0x40;
        let p = decode(LinkType::ETHERNET, &f);
        assert_eq!(
            (p.error, p.transport),
            (
                e(Layer::Tcp, DecodeErrorKind::BadHeaderLength),
                Transport::None
            )
        );
        assert!(matches!(p.network, Network::Ipv4(_)));
        f[46] = 0xf0;
        assert_eq!(
            decode(LinkType::ETHERNET, &f).error,
            e(Layer::Tcp, DecodeErrorKind::BadHeaderLength)
        );
        // A bad option keeps the segment.
        let mut f = syn.clone();
        f[54 + 6] = 0; // window scale option length 0
        let p = decode(LinkType::ETHERNET, &f);
        assert_eq!(p.error, e(Layer::Tcp, DecodeErrorKind::BadOption));
        let Transport::Tcp(t, _) = p.transport else {
            panic!()
        };
        assert_eq!(
            (t.src_port, t.mss, t.window_scale, t.timestamps),
            (59856, Some(1460), None, None)
        );
        // UDP length under 8: ports and the rest of the datagram are kept.
        let mut f = hex(BACNET_PADDED);
        f[34 + 5] = 4;
        let p = decode(LinkType::ETHERNET, &f);
        assert_eq!(p.error, e(Layer::Udp, DecodeErrorKind::BadLength));
        assert!(
            matches!(p.transport, Transport::Udp { src_port: 47808, payload, .. } if payload.len() == 13)
        );
        // UDP length beyond the IP payload (which was fully captured).
        f[34 + 5] = 40;
        assert_eq!(
            decode(LinkType::ETHERNET, &f).error,
            e(Layer::Udp, DecodeErrorKind::BadLength)
        );
    }

    #[test]
    fn vlan_stacks() {
        let syn = hex(HTTP_SYN);
        let stacked = |tags: usize| {
            let mut f = syn[..12].to_vec();
            for i in 0..tags {
                let tpid: u16 = if i == 0 {
                    0x88a8
                } else if i % 2 == 0 {
                    0x9100
                } else {
                    0x8100
                };
                f.extend_from_slice(&tpid.to_be_bytes());
                f.extend_from_slice(&(100 + i as u16).to_be_bytes());
            }
            f.extend_from_slice(&syn[12..]);
            f
        };
        for tags in 0..=MAX_VLAN_TAGS {
            let f = stacked(tags);
            let p = decode(LinkType::ETHERNET, &f);
            assert_eq!(p.error, None, "{tags}");
            assert_eq!(p.link.vlans.outer, (tags >= 1).then_some(100));
            assert_eq!(p.link.vlans.inner, (tags >= 2).then_some(101));
            assert!(matches!(p.transport, Transport::Tcp(..)));
        }
        let f = stacked(MAX_VLAN_TAGS + 1);
        let p = decode(LinkType::ETHERNET, &f);
        assert_eq!(p.error, e(Layer::Vlan, DecodeErrorKind::TooManyHeaders));
        assert_eq!(p.network, Network::None);
        prefixes(LinkType::ETHERNET, &f);
    }

    fn v6_repr(next: IpProtocol) -> crate::ipv6::Repr {
        crate::ipv6::Repr {
            src_addr: ip6("fe80::1"),
            dst_addr: ip6("fe80::2"),
            next_header: next,
            payload_len: 0,
            hop_limit: 64,
            traffic_class: 0,
            flow_label: 0,
        }
    }

    fn eth_repr(vlan: Option<u16>) -> crate::ethernet::Repr {
        crate::ethernet::Repr {
            src_addr: MacAddr([0x00, 0x80, 0xf4, 1, 2, 3]),
            dst_addr: MacAddr([0x00, 0x0e, 0x8c, 4, 5, 6]),
            vlan: vlan.map(|id| VlanTag {
                id,
                priority: 0,
                drop_eligible: false,
            }),
            ethertype: EtherType(0),
        }
    }

    /// An Ethernet/IPv6 frame whose payload is `ext` (extension headers and all), protocol
    /// `first`.
    fn v6_frame(first: u8, ext: &[u8]) -> Vec<u8> {
        build::frame(
            &eth_repr(None),
            &Ip::V6(v6_repr(IpProtocol(0))),
            &L4::Raw {
                protocol: first,
                payload: ext,
            },
        )
        .expect("frame")
    }

    #[test]
    fn ipv6_extension_chains() {
        // 17 destination options headers: too many.
        let mut ext = [[60u8, 0, 0, 0, 0, 0, 0, 0]; 17].concat();
        ext.extend_from_slice(&[0; 8]);
        let f1 = v6_frame(60, &ext);
        let p = decode(LinkType::ETHERNET, &f1);
        assert_eq!(p.error, e(Layer::Ipv6, DecodeErrorKind::TooManyHeaders));
        assert!(matches!(p.network, Network::Ipv6(ip) if ip.next_header == 60));
        // A header longer than the payload length says: malformed, not truncated.
        let mut f = v6_frame(0, &[17, 4, 0, 0, 0, 0, 0, 0]);
        f.extend_from_slice(&[0; 64]);
        assert_eq!(
            decode(LinkType::ETHERNET, &f).error,
            e(Layer::Ipv6, DecodeErrorKind::BadLength)
        );
        // ESP ends the walk; its bytes are the payload.
        let f2 = v6_frame(50, &[1, 2, 3, 4, 5, 6, 7, 8]);
        let p = decode(LinkType::ETHERNET, &f2);
        assert_eq!(p.error, None);
        assert!(
            matches!(p.transport, Transport::Other { protocol: 50, payload } if payload.len() == 8)
        );
        // Routing header, then UDP.
        let mut ext = vec![17, 0, 0, 0, 0, 0, 0, 0];
        ext.extend_from_slice(&[0x12, 0x34, 0x00, 0x35, 0, 10, 0, 0, 0xab, 0xcd]);
        let f3 = v6_frame(43, &ext);
        let p = decode(LinkType::ETHERNET, &f3);
        assert_eq!(p.error, None);
        assert!(
            matches!(p.transport, Transport::Udp { src_port: 0x1234, dst_port: 53, payload } if payload == [0xab, 0xcd])
        );
    }

    #[test]
    fn fragments() {
        // IPv6: an atomic fragment is decoded, a real one is left for reassembly.
        let mut ext = vec![17, 0, 0, 0, 0, 0, 0, 9];
        ext.extend_from_slice(&[0x12, 0x34, 0x00, 0x35, 0, 9, 0, 0, 0xab]);
        let f4 = v6_frame(44, &ext);
        let p = decode(LinkType::ETHERNET, &f4);
        assert_eq!(p.error, None);
        assert!(matches!(p.transport, Transport::Udp { dst_port: 53, .. }));
        ext[3] = 1; // M
        let f = v6_frame(44, &ext);
        let p = decode(LinkType::ETHERNET, &f);
        assert_eq!((p.transport, p.error), (Transport::Fragment, None));
        let Network::Ipv6(ip) = p.network else {
            panic!()
        };
        assert_eq!(
            ip.fragment,
            Some(Ipv6Fragment {
                identification: 9,
                offset: 0,
                more_fragments: true
            })
        );
        assert_eq!((ip.next_header, ip.payload.len()), (17, 9));
        // The reassembler hands the payload back once complete.
        let (src, dst) = p.ip_pair().expect("ip");
        let t = decode_transport(ip.next_header, src, dst, ip.payload).expect("udp");
        assert!(matches!(t, Transport::Udp { src_port: 0x1234, payload, .. } if payload == [0xab]));

        // IPv4: first (MF) and later (offset) fragments.
        let ip = crate::ipv4::Repr {
            src_addr: ip4("10.0.0.1"),
            dst_addr: ip4("10.0.0.2"),
            protocol: IpProtocol(0),
            payload_len: 0,
            ttl: 64,
            tos: 0,
            identification: 77,
            dont_fragment: false,
            more_fragments: true,
            fragment_offset: 0,
        };
        let data = [0u8; 16];
        for (mf, offset) in [(true, 0), (false, 1480), (true, 8)] {
            let ip = crate::ipv4::Repr {
                more_fragments: mf,
                fragment_offset: offset,
                ..ip
            };
            let f = build::frame(
                &eth_repr(None),
                &Ip::V4(ip),
                &L4::Raw {
                    protocol: 6,
                    payload: &data,
                },
            )
            .expect("frame");
            let p = decode(LinkType::ETHERNET, &f);
            assert_eq!((p.transport, p.error), (Transport::Fragment, None));
            let Network::Ipv4(s) = p.network else {
                panic!()
            };
            assert_eq!(
                (
                    s.more_fragments,
                    s.fragment_offset,
                    s.identification,
                    s.payload.len()
                ),
                (mf, offset, 77, 16)
            );
        }
    }

    #[test]
    fn built_frames_decode_to_their_reprs() {
        let payload = b"\x00\x01\x00\x00\x00\x06\x01\x03\x00\x00\x00\x0a";
        let tcp = crate::tcp::Repr {
            src_port: 50000,
            dst_port: 502,
            seq: 1,
            ack: 2,
            flags: flags::PSH | flags::ACK,
            window: 1024,
            urgent: 0,
            mss: None,
            window_scale: None,
            sack_permitted: false,
            timestamps: Some((5, 6)),
            payload,
        };
        let ip = crate::ipv4::Repr {
            src_addr: ip4("10.1.1.10"),
            dst_addr: ip4("10.1.1.20"),
            protocol: IpProtocol(0),
            payload_len: 0,
            ttl: 64,
            tos: 0,
            identification: 1,
            dont_fragment: true,
            more_fragments: false,
            fragment_offset: 0,
        };
        let f = build::ethernet_ipv4_tcp(&eth_repr(Some(10)), &ip, &tcp).expect("frame");
        let p = decode(LinkType::ETHERNET, &f);
        assert_eq!(p.error, None);
        assert_eq!(p.link.vlans.outer, Some(10));
        let Network::Ipv4(s) = p.network else {
            panic!()
        };
        assert_eq!(s.checksum_ok, Some(true));
        let Transport::Tcp(t, data) = p.transport else {
            panic!()
        };
        assert_eq!(
            (t.src_port, t.dst_port, t.timestamps, data),
            (50000, 502, Some((5, 6)), &payload[..])
        );
        let (src, dst) = p.ip_pair().expect("ip");
        assert!(crate::tcp::Packet::new_unchecked(s.payload).verify_checksum(src, dst));
        let mut buf = [0u8; 10];
        assert_eq!(
            build::write_frame(&mut buf, &eth_repr(None), &Ip::V4(ip), &L4::Tcp(tcp)),
            Err(crate::EmitError)
        );

        let udp = crate::udp::Repr {
            src_port: 5353,
            dst_port: 5353,
            payload: b"\0\0\0\0",
        };
        let f = build::ethernet_ipv6_udp(&eth_repr(None), &v6_repr(IpProtocol(0)), &udp)
            .expect("frame");
        let p = decode(LinkType::ETHERNET, &f);
        assert_eq!(p.error, None);
        let (src, dst) = p.ip_pair().expect("ip");
        let udp_bytes = p.ip_payload().expect("ip");
        assert!(crate::udp::Packet::new_checked(udp_bytes)
            .expect("udp")
            .verify_checksum(src, dst));
        assert!(
            matches!(p.transport, Transport::Udp { src_port: 5353, payload, .. } if payload.len() == 4)
        );

        let tcp6 = build::ethernet_ipv6_tcp(&eth_repr(None), &v6_repr(IpProtocol(0)), &tcp)
            .expect("frame");
        assert!(matches!(
            decode(LinkType::ETHERNET, &tcp6).transport,
            Transport::Tcp(..)
        ));
        let udp4 = build::ethernet_ipv4_udp(&eth_repr(None), &ip, &udp).expect("frame");
        assert!(matches!(
            decode(LinkType::ETHERNET, &udp4).transport,
            Transport::Udp { .. }
        ));

        let arp = Arp {
            operation: 2,
            sender_mac: MacAddr([0, 0x80, 0xf4, 1, 2, 3]),
            sender_ip: ip4("10.1.1.10"),
            target_mac: MacAddr([0, 0x0e, 0x8c, 4, 5, 6]),
            target_ip: ip4("10.1.1.20"),
        };
        let f = build::ethernet_arp(&eth_repr(Some(5)), &arp).expect("frame");
        let p = decode(LinkType::ETHERNET, &f);
        assert_eq!(
            (p.network, p.link.vlans.outer, p.error),
            (Network::Arp(arp), Some(5), None)
        );
    }

    #[test]
    fn unsupported_link_type_and_decode_transport_errors() {
        let p = decode(LinkType(147), &[1, 2, 3]);
        assert_eq!(
            (p.network, p.error),
            (
                Network::None,
                e(Layer::Link, DecodeErrorKind::UnsupportedLinkType)
            )
        );
        assert_eq!(
            p.error.map(|e| e.name()),
            Some("link.unsupported_link_type")
        );
        let any = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        assert_eq!(
            decode_transport(6, any, any, &[0; 19]),
            Err(DecodeError::new(Layer::Tcp, DecodeErrorKind::Truncated))
        );
        assert_eq!(
            decode_transport(17, any, any, &[0; 7])
                .map(|_| ())
                .map_err(|e| e.layer),
            Err(Layer::Udp)
        );
        assert_eq!(
            decode_transport(1, any, any, &[0; 3])
                .map(|_| ())
                .map_err(|e| e.layer),
            Err(Layer::Icmpv4)
        );
        assert_eq!(
            decode_transport(58, any, any, &[0; 3])
                .map(|_| ())
                .map_err(|e| e.layer),
            Err(Layer::Icmpv6)
        );
        assert_eq!(
            decode_transport(99, any, any, &[7]),
            Ok(Transport::Other {
                protocol: 99,
                payload: &[7]
            })
        );
        // Soft problems are dropped by decode_transport, kept by the detailed variant.
        let seg = [
            0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0x60, 0x02, 0, 0, 0, 0, 0, 0, 2, 9, 0, 0,
        ];
        assert!(matches!(
            decode_transport(6, any, any, &seg),
            Ok(Transport::Tcp(..))
        ));
        assert_eq!(
            decode_transport_detailed(6, &seg).1,
            e(Layer::Tcp, DecodeErrorKind::BadOption)
        );
        // In a reassembled payload a data offset past the end is malformed, not truncated.
        assert_eq!(
            decode_transport_detailed(6, &seg[..22]).1,
            e(Layer::Tcp, DecodeErrorKind::BadHeaderLength)
        );
    }

    #[test]
    fn every_link_type_survives_every_prefix_of_every_fixture() {
        let all = [
            HTTP_SYN,
            HTTP_GET,
            QINQ_ARP,
            DOT1Q_ICMP,
            ARP_LEAK,
            ARP_PADDED,
            CDP_SNAP,
            STP_LLC,
            ND_DAD,
            MLD_HBH,
            DHCPV6,
            NULL_SYN,
            RAW_HTTP,
            SLL_TCP,
            SACK,
            IGMP_RA,
            BACNET_PADDED,
        ];
        let types = [0, 1, 101, 108, 113, 228, 229, 276].map(LinkType);
        for h in all {
            let f = hex(h);
            for &linktype in &types {
                prefixes(linktype, &f);
            }
        }
    }
}
