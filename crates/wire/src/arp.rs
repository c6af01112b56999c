//! ARP (RFC 826).
//!
//! The view reads any hardware/protocol address sizes; [`crate::Arp`] (also exported here as
//! [`Repr`]) is the Ethernet/IPv4 flavour, the only one that binds a MAC to an IPv4 address.

use std::net::Ipv4Addr;

use crate::error::err;
use crate::util::view;
use crate::util::{be16, ipv4, mac, set_be16};
use crate::{DecodeError, DecodeErrorKind, EmitError, Layer};

pub use crate::decode::Arp as Repr;

mod field {
    pub(super) type Field = core::ops::Range<usize>;
    pub(super) const HTYPE: Field = 0..2;
    pub(super) const PTYPE: Field = 2..4;
    pub(super) const HLEN: usize = 4;
    pub(super) const PLEN: usize = 5;
    pub(super) const OPER: Field = 6..8;
    pub(super) const ADDRESSES: usize = 8;
}

/// Hardware type of Ethernet.
pub const HTYPE_ETHERNET: u16 = 1;
/// Fixed part of an ARP packet, before the addresses.
pub const FIXED_LEN: usize = field::ADDRESSES;
/// Length of an Ethernet/IPv4 ARP packet.
pub const ETHERNET_IPV4_LEN: usize = FIXED_LEN + 2 * (6 + 4);

/// Operation: request.
pub const OP_REQUEST: u16 = 1;
/// Operation: reply.
pub const OP_REPLY: u16 = 2;

view! {
    /// A view of an ARP packet.
    Packet
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// `Arp`/`Truncated` unless the buffer holds the fixed part and the four addresses whose
    /// sizes it announces.
    #[inline]
    pub fn check_len(&self) -> Result<(), DecodeError> {
        let d = self.buffer.as_ref();
        if d.len() < FIXED_LEN || d.len() < self.len_unchecked() {
            return Err(err(Layer::Arp, DecodeErrorKind::Truncated));
        }
        Ok(())
    }

    #[inline]
    fn len_unchecked(&self) -> usize {
        FIXED_LEN + 2 * (usize::from(self.hardware_len()) + usize::from(self.protocol_len()))
    }

    /// Hardware type (1 Ethernet).
    #[inline]
    pub fn hardware_type(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::HTYPE])
    }

    /// Protocol type (an ether type, 0x0800 IPv4).
    #[inline]
    pub fn protocol_type(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::PTYPE])
    }

    /// Hardware address length.
    #[inline]
    pub fn hardware_len(&self) -> u8 {
        self.buffer.as_ref()[field::HLEN]
    }

    /// Protocol address length.
    #[inline]
    pub fn protocol_len(&self) -> u8 {
        self.buffer.as_ref()[field::PLEN]
    }

    /// Operation code.
    #[inline]
    pub fn operation(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::OPER])
    }

    /// Whether this is the Ethernet/IPv4 flavour that [`Repr`] represents.
    #[inline]
    pub fn is_ethernet_ipv4(&self) -> bool {
        self.hardware_type() == HTYPE_ETHERNET
            && self.protocol_type() == 0x0800
            && self.hardware_len() == 6
            && self.protocol_len() == 4
    }

    #[inline]
    fn address(&self, index: usize, hardware: bool) -> &[u8] {
        let h = usize::from(self.hardware_len());
        let p = usize::from(self.protocol_len());
        let start = FIXED_LEN + index * (h + p) + if hardware { 0 } else { h };
        &self.buffer.as_ref()[start..start + if hardware { h } else { p }]
    }

    /// Sender hardware address, whatever its length.
    #[inline]
    pub fn sender_hardware_addr(&self) -> &[u8] {
        self.address(0, true)
    }

    /// Sender protocol address.
    #[inline]
    pub fn sender_protocol_addr(&self) -> &[u8] {
        self.address(0, false)
    }

    /// Target hardware address.
    #[inline]
    pub fn target_hardware_addr(&self) -> &[u8] {
        self.address(1, true)
    }

    /// Target protocol address.
    #[inline]
    pub fn target_protocol_addr(&self) -> &[u8] {
        self.address(1, false)
    }
}

impl Repr {
    /// Parses the Ethernet/IPv4 flavour; `None` for others (they are not errors, only not
    /// representable).
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Option<Self>, DecodeError> {
        packet.check_len()?;
        if !packet.is_ethernet_ipv4() {
            return Ok(None);
        }
        Ok(Some(Self {
            operation: packet.operation(),
            sender_mac: mac(packet.sender_hardware_addr()),
            sender_ip: ipv4(packet.sender_protocol_addr()),
            target_mac: mac(packet.target_hardware_addr()),
            target_ip: ipv4(packet.target_protocol_addr()),
        }))
    }

    /// Length of the emitted packet.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        ETHERNET_IPV4_LEN
    }

    /// Writes the packet at the start of `buf`; returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        let b = buf.get_mut(..ETHERNET_IPV4_LEN).ok_or(EmitError)?;
        set_be16(&mut b[field::HTYPE], HTYPE_ETHERNET);
        set_be16(&mut b[field::PTYPE], 0x0800);
        b[field::HLEN] = 6;
        b[field::PLEN] = 4;
        set_be16(&mut b[field::OPER], self.operation);
        b[8..14].copy_from_slice(&self.sender_mac.0);
        b[14..18].copy_from_slice(&self.sender_ip.octets());
        b[18..24].copy_from_slice(&self.target_mac.0);
        b[24..28].copy_from_slice(&self.target_ip.octets());
        Ok(ETHERNET_IPV4_LEN)
    }

    /// A gratuitous ARP or a probe is recognisable by its addresses; this helper says whether
    /// the sender announces its own address (sender IP = target IP).
    #[inline]
    pub fn is_gratuitous(&self) -> bool {
        self.sender_ip == self.target_ip && self.sender_ip != Ipv4Addr::UNSPECIFIED
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::hex;
    use crate::MacAddr;

    // tcpdump_dhcp-rfc4388.pcap frame 7 after the Ethernet header (and before its padding).
    const ARP_REQUEST: &str = "0001080006040001a6824bc9a1a70a2802030000000000000a280101";
    // zeek_arp-leak.pcap frame 3: a request announcing 255-byte protocol addresses.
    const ARP_LEAK_3: &str = "0001080006ff00017e8e20d823a7c0a87b01";

    #[test]
    fn real_request() {
        let b = hex(ARP_REQUEST);
        let p = Packet::new_checked(&b[..]).expect("ok");
        let r = Repr::parse(&p).expect("ok").expect("ethernet/ipv4");
        // tshark: opcode 1, a6:82:4b:c9:a1:a7 10.40.2.3 -> 00:00:00:00:00:00 10.40.1.1
        assert_eq!(r.operation, OP_REQUEST);
        assert_eq!(r.sender_mac.to_string(), "a6:82:4b:c9:a1:a7");
        assert_eq!(r.sender_ip, Ipv4Addr::new(10, 40, 2, 3));
        assert_eq!(r.target_mac, MacAddr::ZERO);
        assert_eq!(r.target_ip, Ipv4Addr::new(10, 40, 1, 1));
        assert!(!r.is_gratuitous());
    }

    #[test]
    fn oversized_protocol_addresses_are_truncated_not_panics() {
        let b = hex(ARP_LEAK_3);
        let e = Packet::new_checked(&b[..]).expect_err("needs 8 + 2 * 261 bytes");
        assert_eq!(e, DecodeError::new(Layer::Arp, DecodeErrorKind::Truncated));
        let mut long = b.clone();
        long.resize(8 + 2 * 261, 0);
        let p = Packet::new_checked(&long[..]).expect("ok");
        assert_eq!(p.sender_protocol_addr().len(), 255);
        assert_eq!(Repr::parse(&p), Ok(None));
    }

    #[test]
    fn round_trip() {
        let repr = Repr {
            operation: OP_REPLY,
            sender_mac: MacAddr([0, 0x80, 0xf4, 1, 2, 3]),
            sender_ip: Ipv4Addr::new(10, 0, 0, 1),
            target_mac: MacAddr([2, 0, 0, 0, 0, 9]),
            target_ip: Ipv4Addr::new(10, 0, 0, 9),
        };
        let mut buf = [0u8; 28];
        assert_eq!(repr.emit(&mut buf[..27]), Err(EmitError));
        assert_eq!(repr.emit(&mut buf), Ok(28));
        let p = Packet::new_checked(&buf[..]).expect("ok");
        assert_eq!(Repr::parse(&p), Ok(Some(repr)));
    }

    #[test]
    fn other_flavours_and_truncation() {
        // Hardware type 6 (IEEE 802), 8-byte hardware addresses: readable, not representable.
        let mut b = vec![0, 6, 0x08, 0x00, 8, 4, 0, 1];
        b.extend_from_slice(&[0xaa; 24]);
        let p = Packet::new_checked(&b[..]).expect("ok");
        assert_eq!(p.sender_hardware_addr().len(), 8);
        assert_eq!(Repr::parse(&p), Ok(None));
        for n in 0..b.len() {
            assert!(Packet::new_checked(&b[..n]).is_err());
        }
    }
}
