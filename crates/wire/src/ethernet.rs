//! Ethernet II / IEEE 802.3 frame headers and 802.1Q / 802.1ad VLAN tags.
//!
//! A type/length field of 1500 or less is an IEEE 802.3 length: the payload is then an 802.2
//! LLC frame (see [`crate::llc`]) and the bytes after `length` are padding.

use crate::error::err;
use crate::util::view;
use crate::util::{be16, mac, set_be16};
use crate::{DecodeError, DecodeErrorKind, EmitError, Layer, MacAddr};

/// An ether type. Unknown values are kept as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EtherType(pub u16);

impl EtherType {
    /// IPv4.
    pub const IPV4: Self = Self(0x0800);
    /// ARP.
    pub const ARP: Self = Self(0x0806);
    /// IEEE 802.1Q customer VLAN tag.
    pub const VLAN: Self = Self(0x8100);
    /// IPv6.
    pub const IPV6: Self = Self(0x86dd);
    /// PROFINET (real-time and DCP).
    pub const PROFINET: Self = Self(0x8892);
    /// IEEE 802.1ad service VLAN tag (QinQ).
    pub const QINQ: Self = Self(0x88a8);
    /// IEC 61850 GOOSE.
    pub const GOOSE: Self = Self(0x88b8);
    /// IEC 61850 sampled values.
    pub const SAMPLED_VALUES: Self = Self(0x88ba);
    /// LLDP.
    pub const LLDP: Self = Self(0x88cc);
    /// Pre-standard QinQ tag still used by some switches.
    pub const QINQ_LEGACY: Self = Self(0x9100);

    /// Largest value that is an IEEE 802.3 length rather than an ether type.
    pub const MAX_LENGTH: u16 = 1500;

    /// Whether this value introduces a VLAN tag that [`crate::decode()`] walks over.
    #[inline]
    pub const fn is_vlan(self) -> bool {
        matches!(self.0, 0x8100 | 0x88a8 | 0x9100)
    }

    /// Whether this is an IEEE 802.3 length field rather than an ether type.
    #[inline]
    pub const fn is_length(self) -> bool {
        self.0 <= Self::MAX_LENGTH
    }
}

mod field {
    pub(super) type Field = core::ops::Range<usize>;
    pub(super) const DESTINATION: Field = 0..6;
    pub(super) const SOURCE: Field = 6..12;
    pub(super) const ETHERTYPE: Field = 12..14;
    pub(super) const PAYLOAD: usize = 14;

    pub(super) const TCI: Field = 0..2;
    pub(super) const TAG_ETHERTYPE: Field = 2..4;
    pub(super) const TAG_PAYLOAD: usize = 4;
}

/// Length of an Ethernet header without tags.
pub const HEADER_LEN: usize = field::PAYLOAD;
/// Length of one VLAN tag (TCI and the next ether type).
pub const TAG_LEN: usize = field::TAG_PAYLOAD;

view! {
    /// A view of an Ethernet frame.
    Packet
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// `Truncated` if the buffer cannot hold the header.
    #[inline]
    pub fn check_len(&self) -> Result<(), DecodeError> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            return Err(err(Layer::Link, DecodeErrorKind::Truncated));
        }
        Ok(())
    }

    /// The underlying buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Destination address.
    #[inline]
    pub fn dst_addr(&self) -> MacAddr {
        mac(&self.buffer.as_ref()[field::DESTINATION])
    }

    /// Source address.
    #[inline]
    pub fn src_addr(&self) -> MacAddr {
        mac(&self.buffer.as_ref()[field::SOURCE])
    }

    /// The type/length field (an 802.3 length when at most 1500).
    #[inline]
    pub fn ethertype(&self) -> EtherType {
        EtherType(be16(&self.buffer.as_ref()[field::ETHERTYPE]))
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// Everything after the 14-byte header (tags included, padding included).
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[field::PAYLOAD..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the destination address.
    #[inline]
    pub fn set_dst_addr(&mut self, addr: MacAddr) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(&addr.0);
    }

    /// Sets the source address.
    #[inline]
    pub fn set_src_addr(&mut self, addr: MacAddr) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(&addr.0);
    }

    /// Sets the type/length field.
    #[inline]
    pub fn set_ethertype(&mut self, ethertype: EtherType) {
        set_be16(&mut self.buffer.as_mut()[field::ETHERTYPE], ethertype.0);
    }

    /// The bytes after the header.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD..]
    }
}

/// The content of an 802.1Q tag control information field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct VlanTag {
    /// VLAN id (12 bits).
    pub id: u16,
    /// Priority code point (3 bits).
    pub priority: u8,
    /// Drop eligible indicator.
    pub drop_eligible: bool,
}

impl VlanTag {
    /// Splits a TCI field.
    #[inline]
    pub const fn from_tci(tci: u16) -> Self {
        Self {
            id: tci & 0x0fff,
            priority: (tci >> 13) as u8,
            drop_eligible: tci & 0x1000 != 0,
        }
    }

    /// Builds the TCI field (out-of-range bits are masked off).
    #[inline]
    pub const fn tci(&self) -> u16 {
        (self.priority as u16 & 0x7) << 13 | (self.drop_eligible as u16) << 12 | (self.id & 0x0fff)
    }
}

/// A view of one VLAN tag: the 4 bytes after a 0x8100/0x88a8/0x9100 type field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VlanPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> VlanPacket<T> {
    /// Wraps a buffer without checks; accessors panic if it is shorter than [`TAG_LEN`].
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wraps a buffer after checking that it holds a whole tag (`Vlan`/`Truncated` otherwise).
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self, DecodeError> {
        if buffer.as_ref().len() < TAG_LEN {
            return Err(err(Layer::Vlan, DecodeErrorKind::Truncated));
        }
        Ok(Self { buffer })
    }

    /// The tag control information.
    #[inline]
    pub fn tag(&self) -> VlanTag {
        VlanTag::from_tci(be16(&self.buffer.as_ref()[field::TCI]))
    }

    /// The type/length field after the tag.
    #[inline]
    pub fn ethertype(&self) -> EtherType {
        EtherType(be16(&self.buffer.as_ref()[field::TAG_ETHERTYPE]))
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> VlanPacket<&'a T> {
    /// The bytes after the tag.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[field::TAG_PAYLOAD..]
    }
}

/// An Ethernet header with at most one 802.1Q tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Source address.
    pub src_addr: MacAddr,
    /// Destination address.
    pub dst_addr: MacAddr,
    /// An 802.1Q (0x8100) tag, if any.
    pub vlan: Option<VlanTag>,
    /// The ether type of the payload (after the tag).
    pub ethertype: EtherType,
}

impl Repr {
    /// Parses a header; an 0x8100 tag is read into `vlan` (deeper tags stay in the payload).
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&T>) -> Result<Self, DecodeError> {
        packet.check_len()?;
        let mut repr = Self {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            vlan: None,
            ethertype: packet.ethertype(),
        };
        if repr.ethertype == EtherType::VLAN {
            let tag = VlanPacket::new_checked(packet.payload())?;
            repr.vlan = Some(tag.tag());
            repr.ethertype = tag.ethertype();
        }
        Ok(repr)
    }

    /// Header length, tag included.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        if self.vlan.is_some() {
            HEADER_LEN + TAG_LEN
        } else {
            HEADER_LEN
        }
    }

    /// Writes the header at the start of `buf`; returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        let len = self.buffer_len();
        let header = buf.get_mut(..len).ok_or(EmitError)?;
        let mut p = Packet::new_unchecked(&mut *header);
        p.set_dst_addr(self.dst_addr);
        p.set_src_addr(self.src_addr);
        match self.vlan {
            Some(tag) => {
                p.set_ethertype(EtherType::VLAN);
                let rest = p.payload_mut();
                set_be16(&mut rest[field::TCI], tag.tci());
                set_be16(&mut rest[field::TAG_ETHERTYPE], self.ethertype.0);
            }
            None => p.set_ethertype(self.ethertype),
        }
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::hex;

    // zeek_http_get.pcap frame 1 (tagged frames are covered by the decode tests).
    const HTTP_SYN: &str = "0010db88d2efc8bcc896d2a0080045000040df8e400040066dd38d8ee405c096bb2be9d00050fe21323a00000000b002ffff3bc00000020405b4010303040101080a164add200000000004020000";

    #[test]
    fn deconstruct_real_frame() {
        let bytes = hex(HTTP_SYN);
        let p = Packet::new_checked(&bytes[..]).expect("valid");
        assert_eq!(p.dst_addr().to_string(), "00:10:db:88:d2:ef");
        assert_eq!(p.src_addr().to_string(), "c8:bc:c8:96:d2:a0");
        assert_eq!(p.ethertype(), EtherType::IPV4);
        assert_eq!(p.payload().len(), 78 - 14);
        let repr = Repr::parse(&p).expect("repr");
        assert_eq!(repr.vlan, None);
    }

    #[test]
    fn short_buffers_are_truncated() {
        for n in 0..HEADER_LEN {
            let e = Packet::new_checked(&[0u8; 20][..n]).expect_err("short");
            assert_eq!(e.kind, DecodeErrorKind::Truncated);
        }
        assert!(VlanPacket::new_checked(&[0u8; 3][..]).is_err());
    }

    #[test]
    fn round_trip_with_and_without_tag() {
        for vlan in [
            None,
            Some(VlanTag {
                id: 4094,
                priority: 5,
                drop_eligible: true,
            }),
        ] {
            let repr = Repr {
                src_addr: MacAddr([2, 0, 0, 0, 0, 1]),
                dst_addr: MacAddr::BROADCAST,
                vlan,
                ethertype: EtherType::ARP,
            };
            let mut buf = [0u8; 18];
            assert_eq!(repr.emit(&mut buf[..repr.buffer_len() - 1]), Err(EmitError));
            let n = repr.emit(&mut buf).expect("fits");
            assert_eq!(n, repr.buffer_len());
            let parsed = Repr::parse(&Packet::new_checked(&buf[..n]).expect("ok")).expect("ok");
            assert_eq!(parsed, repr);
        }
    }

    #[test]
    fn tci_round_trip() {
        for tci in [0u16, 1, 0x0fff, 0xe064, 0xffff] {
            assert_eq!(VlanTag::from_tci(tci).tci(), tci);
        }
    }
}
