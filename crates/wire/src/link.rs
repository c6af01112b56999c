//! Link-layer types (the pcap/pcapng `LINKTYPE_*` registry) and the non-Ethernet link headers:
//! Linux cooked capture v1 (SLL) and v2 (SLL2), BSD NULL and LOOP.

use std::fmt;

use crate::error::err;
use crate::util::{be16, be32};
use crate::{DecodeError, DecodeErrorKind, Layer, MacAddr};

/// A pcap/pcapng link type. Unknown values are kept; see the constants for the supported ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkType(pub u32);

impl LinkType {
    /// BSD loopback: 4-byte host-order address family.
    pub const NULL: Self = Self(0);
    /// Ethernet II / IEEE 802.3.
    pub const ETHERNET: Self = Self(1);
    /// Raw IP (version from the first nibble).
    pub const RAW: Self = Self(101);
    /// OpenBSD loopback: 4-byte network-order address family.
    pub const LOOP: Self = Self(108);
    /// Linux cooked capture v1.
    pub const LINUX_SLL: Self = Self(113);
    /// Raw IPv4.
    pub const IPV4: Self = Self(228);
    /// Raw IPv6.
    pub const IPV6: Self = Self(229);
    /// Linux cooked capture v2.
    pub const LINUX_SLL2: Self = Self(276);

    /// Whether [`crate::decode()`] understands this link type.
    pub const fn is_supported(self) -> bool {
        matches!(self.0, 0 | 1 | 101 | 108 | 113 | 228 | 229 | 276)
    }

    /// A short lower-case name (`ethernet`, `linux_sll`, ...), or `linktype_N` when unknown.
    pub fn name(self) -> std::borrow::Cow<'static, str> {
        match self.0 {
            0 => "null".into(),
            1 => "ethernet".into(),
            101 => "raw".into(),
            108 => "loop".into(),
            113 => "linux_sll".into(),
            228 => "ipv4".into(),
            229 => "ipv6".into(),
            276 => "linux_sll2".into(),
            n => format!("linktype_{n}").into(),
        }
    }
}

impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

mod field {
    pub(super) type Field = core::ops::Range<usize>;
    // Linux cooked capture v1.
    pub(super) const SLL_PKTTYPE: Field = 0..2;
    pub(super) const SLL_HATYPE: Field = 2..4;
    pub(super) const SLL_HALEN: Field = 4..6;
    pub(super) const SLL_ADDR: Field = 6..14;
    pub(super) const SLL_PROTOCOL: Field = 14..16;
    pub(super) const SLL_PAYLOAD: usize = 16;
    // Linux cooked capture v2.
    pub(super) const SLL2_PROTOCOL: Field = 0..2;
    pub(super) const SLL2_IFINDEX: Field = 4..8;
    pub(super) const SLL2_HATYPE: Field = 8..10;
    pub(super) const SLL2_PKTTYPE: usize = 10;
    pub(super) const SLL2_HALEN: usize = 11;
    pub(super) const SLL2_ADDR: Field = 12..20;
    pub(super) const SLL2_PAYLOAD: usize = 20;
}

/// Length of a Linux cooked capture v1 header.
pub const SLL_HEADER_LEN: usize = field::SLL_PAYLOAD;
/// Length of a Linux cooked capture v2 header.
pub const SLL2_HEADER_LEN: usize = field::SLL2_PAYLOAD;
/// Length of a BSD NULL / LOOP header.
pub const NULL_HEADER_LEN: usize = 4;

/// SLL protocol value: the payload is an 802.2 LLC frame without an 802.3 header.
pub const SLL_PROTOCOL_LLC: u16 = 0x0004;

/// The fields common to SLL and SLL2 headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CookedHeader {
    /// Packet type: 0 to us, 1 broadcast, 2 multicast, 3 to someone else, 4 sent by us.
    pub packet_type: u16,
    /// ARPHRD_ hardware type of the interface (1 Ethernet, 772 loopback, ...).
    pub hardware_type: u16,
    /// Length of the link-layer address the kernel reported.
    pub address_len: u16,
    /// The link-layer source address, when it is a 6-byte one.
    pub src_mac: Option<MacAddr>,
    /// Protocol: an ether type, or one of the Linux `ETH_P_` values below 0x0600.
    pub protocol: u16,
    /// Interface index (SLL2 only, 0 for SLL).
    pub interface_index: u32,
}

/// Decodes a Linux cooked capture v1 header; returns it and the payload.
pub fn parse_sll(frame: &[u8]) -> Result<(CookedHeader, &[u8]), DecodeError> {
    let Some(h) = frame.get(..SLL_HEADER_LEN) else {
        return Err(err(Layer::Link, DecodeErrorKind::Truncated));
    };
    let address_len = be16(&h[field::SLL_HALEN]);
    let header = CookedHeader {
        packet_type: be16(&h[field::SLL_PKTTYPE]),
        hardware_type: be16(&h[field::SLL_HATYPE]),
        address_len,
        src_mac: (address_len == 6).then(|| crate::util::mac(&h[field::SLL_ADDR])),
        protocol: be16(&h[field::SLL_PROTOCOL]),
        interface_index: 0,
    };
    Ok((header, &frame[SLL_HEADER_LEN..]))
}

/// Decodes a Linux cooked capture v2 header; returns it and the payload.
pub fn parse_sll2(frame: &[u8]) -> Result<(CookedHeader, &[u8]), DecodeError> {
    let Some(h) = frame.get(..SLL2_HEADER_LEN) else {
        return Err(err(Layer::Link, DecodeErrorKind::Truncated));
    };
    let address_len = u16::from(h[field::SLL2_HALEN]);
    let header = CookedHeader {
        packet_type: u16::from(h[field::SLL2_PKTTYPE]),
        hardware_type: be16(&h[field::SLL2_HATYPE]),
        address_len,
        src_mac: (address_len == 6).then(|| crate::util::mac(&h[field::SLL2_ADDR])),
        protocol: be16(&h[field::SLL2_PROTOCOL]),
        interface_index: be32(&h[field::SLL2_IFINDEX]),
    };
    Ok((header, &frame[SLL2_HEADER_LEN..]))
}

/// The network protocol announced by a BSD NULL or LOOP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressFamily {
    /// AF_INET (2).
    Ipv4,
    /// AF_INET6: 24 (NetBSD, OpenBSD), 28 (FreeBSD) or 30 (macOS).
    Ipv6,
    /// Anything else, as read in the byte order that made it smallest.
    Other(u32),
}

/// Decodes a BSD NULL (`network_order == false`) or OpenBSD LOOP header.
///
/// NULL headers are in the byte order of the machine that captured, which the file does not
/// record; values are small, so both orders are tried.
pub fn parse_null(
    frame: &[u8],
    network_order: bool,
) -> Result<(AddressFamily, &[u8]), DecodeError> {
    let Some(&[a, b, c, d]) = frame.first_chunk::<4>() else {
        return Err(err(Layer::Link, DecodeErrorKind::Truncated));
    };
    let be = u32::from_be_bytes([a, b, c, d]);
    let value = if network_order {
        be
    } else {
        be.min(u32::from_le_bytes([a, b, c, d]))
    };
    let family = match value {
        2 => AddressFamily::Ipv4,
        24 | 28 | 30 => AddressFamily::Ipv6,
        v => AddressFamily::Other(v),
    };
    Ok((family, &frame[NULL_HEADER_LEN..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_both_byte_orders() {
        let le = [2, 0, 0, 0, 0x45];
        let be = [0, 0, 0, 2, 0x45];
        assert_eq!(parse_null(&le, false).map(|r| r.0), Ok(AddressFamily::Ipv4));
        assert_eq!(parse_null(&be, false).map(|r| r.0), Ok(AddressFamily::Ipv4));
        assert_eq!(parse_null(&be, true).map(|r| r.0), Ok(AddressFamily::Ipv4));
        assert_eq!(
            parse_null(&le, true).map(|r| r.0),
            Ok(AddressFamily::Other(0x0200_0000))
        );
        for v6 in [24u8, 28, 30] {
            assert_eq!(
                parse_null(&[v6, 0, 0, 0], false).map(|r| r.0),
                Ok(AddressFamily::Ipv6)
            );
            assert_eq!(
                parse_null(&[0, 0, 0, v6], true).map(|r| r.0),
                Ok(AddressFamily::Ipv6)
            );
        }
        assert_eq!(parse_null(&le, false).map(|r| r.1), Ok(&[0x45][..]));
        for n in 0..4 {
            assert!(parse_null(&le[..n], false).is_err());
        }
    }

    #[test]
    fn link_type_names() {
        assert!(LinkType::LINUX_SLL2.is_supported());
        assert!(!LinkType(105).is_supported());
        assert_eq!(LinkType(105).to_string(), "linktype_105");
    }
}
