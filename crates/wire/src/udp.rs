//! UDP headers (RFC 768).
//!
//! The length field is trusted only to shorten the payload: a datagram in a padded or
//! over-long IP packet must not carry the extra bytes into a dissector.

use std::net::IpAddr;

use crate::checksum;
use crate::error::err;
use crate::util::view;
use crate::util::{be16, set_be16};
use crate::{DecodeError, DecodeErrorKind, EmitError, Layer};

mod field {
    pub(super) type Field = core::ops::Range<usize>;
    pub(super) const SRC_PORT: Field = 0..2;
    pub(super) const DST_PORT: Field = 2..4;
    pub(super) const LENGTH: Field = 4..6;
    pub(super) const CHECKSUM: Field = 6..8;
}

/// Length of the header.
pub const HEADER_LEN: usize = field::CHECKSUM.end;

view! {
    /// A view of a UDP datagram.
    Packet
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// `Truncated` under 8 bytes. The length field is checked separately by
    /// [`Self::check_length_field`], since a bad one still leaves the ports readable.
    #[inline]
    pub fn check_len(&self) -> Result<(), DecodeError> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            return Err(err(Layer::Udp, DecodeErrorKind::Truncated));
        }
        Ok(())
    }

    /// `BadLength` when the length field is under 8 or, if `complete` (the buffer holds all
    /// the bytes the IP layer announced), beyond the buffer.
    #[inline]
    pub fn check_length_field(&self, complete: bool) -> Result<(), DecodeError> {
        let len = usize::from(self.len());
        if len < HEADER_LEN || (complete && len > self.buffer.as_ref().len()) {
            return Err(err(Layer::Udp, DecodeErrorKind::BadLength));
        }
        Ok(())
    }

    /// The underlying buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Source port.
    #[inline]
    pub fn src_port(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::SRC_PORT])
    }

    /// Destination port.
    #[inline]
    pub fn dst_port(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::DST_PORT])
    }

    /// Length field (header included).
    #[inline]
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::LENGTH])
    }

    /// Checksum field (0: not computed, IPv4 only).
    #[inline]
    pub fn checksum(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::CHECKSUM])
    }

    /// Whether the checksum verifies over the datagram (clipped to the length field); a zero
    /// checksum over IPv4 means "not computed" and verifies.
    #[inline]
    pub fn verify_checksum(&self, src: IpAddr, dst: IpAddr) -> bool {
        if self.checksum() == 0 && src.is_ipv4() {
            return true;
        }
        let d = self.buffer.as_ref();
        let end = usize::from(self.len()).clamp(HEADER_LEN, d.len());
        checksum::verify_transport(src, dst, 17, &d[..end])
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The payload: up to the length field when it is shorter than the buffer, otherwise the
    /// rest of the buffer (also when the length field is under 8).
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        let d = self.buffer.as_ref();
        let len = usize::from(self.len());
        let end = if len >= HEADER_LEN && len < d.len() {
            len
        } else {
            d.len()
        };
        &d[HEADER_LEN..end]
    }
}

/// A UDP datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Payload.
    pub payload: &'a [u8],
}

impl<'a> Repr<'a> {
    /// Parses a checked datagram.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&'a T>) -> Result<Self, DecodeError> {
        packet.check_len()?;
        packet.check_length_field(true)?;
        Ok(Self {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            payload: packet.payload(),
        })
    }

    /// Datagram length: header and payload.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload.len()
    }

    /// Writes the datagram at the start of `buf` with its checksum for the pseudo-header of
    /// `src` and `dst`; returns its length.
    pub fn emit(&self, buf: &mut [u8], src: IpAddr, dst: IpAddr) -> Result<usize, EmitError> {
        let len = self.buffer_len();
        let len16 = u16::try_from(len).map_err(|_| EmitError)?;
        let b = buf.get_mut(..len).ok_or(EmitError)?;
        set_be16(&mut b[field::SRC_PORT], self.src_port);
        set_be16(&mut b[field::DST_PORT], self.dst_port);
        set_be16(&mut b[field::LENGTH], len16);
        set_be16(&mut b[field::CHECKSUM], 0);
        b[HEADER_LEN..].copy_from_slice(self.payload);
        let c = checksum::udp(src, dst, b);
        set_be16(&mut b[field::CHECKSUM], c);
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_checksum() {
        let src: IpAddr = "192.168.1.10".parse().expect("ip");
        let dst: IpAddr = "192.168.1.255".parse().expect("ip");
        let repr = Repr {
            src_port: 47808,
            dst_port: 47808,
            payload: b"\x81\x0b\x00\x0c\x01\x20\xff\xff\x00\xff\x10\x08",
        };
        let mut buf = [0u8; 64];
        assert_eq!(repr.emit(&mut buf[..10], src, dst), Err(EmitError));
        let n = repr.emit(&mut buf, src, dst).expect("fits");
        // Padding after the datagram stays out of the payload.
        let p = Packet::new_checked(&buf[..n + 6]).expect("ok");
        assert!(p.verify_checksum(src, dst));
        assert_eq!(Repr::parse(&p), Ok(repr));
        buf[7] ^= 1;
        assert!(!Packet::new_checked(&buf[..n])
            .expect("ok")
            .verify_checksum(src, dst));
    }

    #[test]
    fn length_field_problems() {
        let b = [0, 53, 0, 53, 0, 4, 0, 0, 1, 2, 3];
        let p = Packet::new_checked(&b[..]).expect("header");
        assert_eq!(
            p.check_length_field(true).map_err(|e| e.kind),
            Err(DecodeErrorKind::BadLength)
        );
        assert_eq!(p.payload(), &[1, 2, 3]);
        let b = [0, 53, 0, 53, 0, 200, 0, 0, 1, 2, 3];
        let p = Packet::new_checked(&b[..]).expect("header");
        assert!(p.check_length_field(true).is_err());
        assert!(p.check_length_field(false).is_ok());
        assert_eq!(p.payload(), &[1, 2, 3]);
        for n in 0..HEADER_LEN {
            assert!(Packet::new_checked(&b[..n]).is_err());
        }
    }
}
