//! IPv4 headers (RFC 791).
//!
//! The view clips the payload to both the total length and the captured bytes: captures cut by
//! a snap length are normal, and Ethernet pads short frames, so neither may leak into payloads.

use std::net::Ipv4Addr;

use crate::checksum;
use crate::error::err;
use crate::ip::IpProtocol;
use crate::util::view;
use crate::util::{be16, ipv4, set_be16};
use crate::{DecodeError, DecodeErrorKind, EmitError, Ipv4Summary, Layer, Network};

mod field {
    pub(super) type Field = core::ops::Range<usize>;
    pub(super) const VER_IHL: usize = 0;
    pub(super) const TOS: usize = 1;
    pub(super) const LENGTH: Field = 2..4;
    pub(super) const IDENT: Field = 4..6;
    pub(super) const FLG_OFF: Field = 6..8;
    pub(super) const TTL: usize = 8;
    pub(super) const PROTOCOL: usize = 9;
    pub(super) const CHECKSUM: Field = 10..12;
    pub(super) const SRC_ADDR: Field = 12..16;
    pub(super) const DST_ADDR: Field = 16..20;
}

/// Length of a header without options.
pub const HEADER_LEN: usize = field::DST_ADDR.end;

const DONT_FRAGMENT: u16 = 0x4000;
const MORE_FRAGMENTS: u16 = 0x2000;
const OFFSET_MASK: u16 = 0x1fff;

view! {
    /// A view of an IPv4 packet.
    Packet
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Checks the fixed header only: `Truncated` under 20 bytes, `BadVersion` unless version 4,
    /// `BadHeaderLength` when IHL < 5. After it, the fixed-field accessors are safe; the
    /// options and payload accessors need [`Self::check_len`].
    #[inline]
    pub fn check_fixed(&self) -> Result<(), DecodeError> {
        let d = self.buffer.as_ref();
        if d.len() < HEADER_LEN {
            return Err(err(Layer::Ipv4, DecodeErrorKind::Truncated));
        }
        if self.version() != 4 {
            return Err(err(Layer::Ipv4, DecodeErrorKind::BadVersion));
        }
        if self.header_len() < HEADER_LEN {
            return Err(err(Layer::Ipv4, DecodeErrorKind::BadHeaderLength));
        }
        Ok(())
    }

    /// [`Self::check_fixed`], then `Truncated` when the options were not captured and
    /// `BadLength` when the total length is smaller than the header. A total length beyond
    /// the captured bytes is accepted: the payload is clipped instead.
    #[inline]
    pub fn check_len(&self) -> Result<(), DecodeError> {
        self.check_fixed()?;
        let header_len = self.header_len();
        if self.buffer.as_ref().len() < header_len {
            return Err(err(Layer::Ipv4, DecodeErrorKind::Truncated));
        }
        if usize::from(self.total_len()) < header_len {
            return Err(err(Layer::Ipv4, DecodeErrorKind::BadLength));
        }
        Ok(())
    }

    /// The underlying buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Version field.
    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// Header length in bytes (IHL × 4).
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
    }

    /// The type-of-service byte (DSCP and ECN).
    #[inline]
    pub fn tos(&self) -> u8 {
        self.buffer.as_ref()[field::TOS]
    }

    /// Total length field.
    #[inline]
    pub fn total_len(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::LENGTH])
    }

    /// Identification.
    #[inline]
    pub fn identification(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::IDENT])
    }

    /// Don't-fragment flag.
    #[inline]
    pub fn dont_fragment(&self) -> bool {
        be16(&self.buffer.as_ref()[field::FLG_OFF]) & DONT_FRAGMENT != 0
    }

    /// More-fragments flag.
    #[inline]
    pub fn more_fragments(&self) -> bool {
        be16(&self.buffer.as_ref()[field::FLG_OFF]) & MORE_FRAGMENTS != 0
    }

    /// Fragment offset in bytes.
    #[inline]
    pub fn fragment_offset(&self) -> u16 {
        (be16(&self.buffer.as_ref()[field::FLG_OFF]) & OFFSET_MASK) * 8
    }

    /// Whether this is a fragment (first, middle or last) rather than a whole datagram.
    #[inline]
    pub fn is_fragment(&self) -> bool {
        be16(&self.buffer.as_ref()[field::FLG_OFF]) & (MORE_FRAGMENTS | OFFSET_MASK) != 0
    }

    /// Time to live.
    #[inline]
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    /// Protocol of the payload.
    #[inline]
    pub fn protocol(&self) -> IpProtocol {
        IpProtocol(self.buffer.as_ref()[field::PROTOCOL])
    }

    /// Header checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::CHECKSUM])
    }

    /// Source address.
    #[inline]
    pub fn src_addr(&self) -> Ipv4Addr {
        ipv4(&self.buffer.as_ref()[field::SRC_ADDR])
    }

    /// Destination address.
    #[inline]
    pub fn dst_addr(&self) -> Ipv4Addr {
        ipv4(&self.buffer.as_ref()[field::DST_ADDR])
    }

    /// Whether the header checksum verifies (header must be captured, see `check_len`).
    #[inline]
    pub fn verify_checksum(&self) -> bool {
        checksum::sum(&self.buffer.as_ref()[..self.header_len()]) == 0xffff
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The options bytes (needs [`Packet::check_len`]).
    #[inline]
    pub fn options(&self) -> &'a [u8] {
        &self.buffer.as_ref()[HEADER_LEN..self.header_len()]
    }

    /// The payload, clipped to the total length and to the captured bytes (needs
    /// [`Packet::check_len`]).
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        let d = self.buffer.as_ref();
        let end = usize::from(self.total_len()).min(d.len());
        d.get(self.header_len()..end).unwrap_or_default()
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Recomputes and stores the header checksum.
    pub fn fill_checksum(&mut self) {
        let len = self.header_len();
        let d = self.buffer.as_mut();
        set_be16(&mut d[field::CHECKSUM], 0);
        let c = checksum::checksum(&d[..len]);
        set_be16(&mut d[field::CHECKSUM], c);
    }
}

/// Decodes the header for [`crate::decode()`] into `out`: `Err` when nothing usable was found
/// (`out` untouched), otherwise `out` holds the summary and the result says whether a problem
/// stopped decoding after the header (options not captured, total length shorter than the
/// header).
///
/// Writes in place rather than returning the summary: moving it through a `Result` and into the
/// packet cost more than decoding it on the per-frame path.
#[inline]
pub(crate) fn summarize_into<'a>(
    data: &'a [u8],
    out: &mut Network<'a>,
) -> Result<Option<DecodeError>, DecodeError> {
    let p = Packet::new_unchecked(data);
    p.check_fixed()?;
    let header_len = p.header_len();
    let total_len = p.total_len();
    let (options, checksum_ok, payload, problem): (&[u8], _, &[u8], _) =
        match data.get(..header_len) {
            None => (
                data.get(HEADER_LEN..).unwrap_or_default(),
                None,
                &[],
                Some(err(Layer::Ipv4, DecodeErrorKind::Truncated)),
            ),
            Some(header) => {
                let ok = Some(header_sum(header) == 0xffff);
                let options = &header[HEADER_LEN..];
                if usize::from(total_len) < header_len {
                    let problem = Some(err(Layer::Ipv4, DecodeErrorKind::BadLength));
                    (options, ok, &[], problem)
                } else {
                    (options, ok, p.payload(), None)
                }
            }
        };
    *out = Network::Ipv4(Ipv4Summary {
        src: p.src_addr(),
        dst: p.dst_addr(),
        protocol: p.protocol().0,
        ttl: p.ttl(),
        identification: p.identification(),
        dont_fragment: p.dont_fragment(),
        more_fragments: p.more_fragments(),
        fragment_offset: p.fragment_offset(),
        header_len: header_len as u8,
        total_len,
        checksum_ok,
        options,
        payload,
    });
    Ok(problem)
}

/// [`checksum::sum`] of a header, with the option-less 20-byte header (nearly every packet)
/// summed as five words without a loop.
#[inline]
fn header_sum(header: &[u8]) -> u16 {
    match header.first_chunk::<HEADER_LEN>() {
        Some(h) if header.len() == HEADER_LEN => {
            let w = |i: usize| u64::from(u32::from_be_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]));
            let mut acc = w(0) + w(4) + w(8) + w(12) + w(16);
            // Five 32-bit words fit in 35 bits: two folds reach 16 bits (plus a carry).
            acc = (acc & 0xffff) + (acc >> 16);
            acc = (acc & 0xffff) + (acc >> 16);
            acc = (acc & 0xffff) + (acc >> 16);
            acc as u16
        }
        _ => checksum::sum(header),
    }
}

/// An IPv4 header without options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Source address.
    pub src_addr: Ipv4Addr,
    /// Destination address.
    pub dst_addr: Ipv4Addr,
    /// Protocol of the payload.
    pub protocol: IpProtocol,
    /// Length of the payload (total length minus header).
    pub payload_len: usize,
    /// Time to live.
    pub ttl: u8,
    /// Type-of-service byte.
    pub tos: u8,
    /// Identification.
    pub identification: u16,
    /// Don't-fragment flag.
    pub dont_fragment: bool,
    /// More-fragments flag.
    pub more_fragments: bool,
    /// Fragment offset in bytes (a multiple of 8).
    pub fragment_offset: u16,
}

impl Repr {
    /// Parses a checked header; options are skipped.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&T>) -> Result<Self, DecodeError> {
        packet.check_len()?;
        Ok(Self {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            protocol: packet.protocol(),
            payload_len: usize::from(packet.total_len()) - packet.header_len(),
            ttl: packet.ttl(),
            tos: packet.tos(),
            identification: packet.identification(),
            dont_fragment: packet.dont_fragment(),
            more_fragments: packet.more_fragments(),
            fragment_offset: packet.fragment_offset(),
        })
    }

    /// Header length.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header (checksum included) at the start of `buf`; the caller writes the
    /// payload after it. Fails when `buf` is short or the total length does not fit 16 bits.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        let total = u16::try_from(HEADER_LEN + self.payload_len).map_err(|_| EmitError)?;
        let b = buf.get_mut(..HEADER_LEN).ok_or(EmitError)?;
        b[field::VER_IHL] = 0x45;
        b[field::TOS] = self.tos;
        set_be16(&mut b[field::LENGTH], total);
        set_be16(&mut b[field::IDENT], self.identification);
        let mut flg_off = (self.fragment_offset / 8) & OFFSET_MASK;
        if self.dont_fragment {
            flg_off |= DONT_FRAGMENT;
        }
        if self.more_fragments {
            flg_off |= MORE_FRAGMENTS;
        }
        set_be16(&mut b[field::FLG_OFF], flg_off);
        b[field::TTL] = self.ttl;
        b[field::PROTOCOL] = self.protocol.0;
        b[field::SRC_ADDR].copy_from_slice(&self.src_addr.octets());
        b[field::DST_ADDR].copy_from_slice(&self.dst_addr.octets());
        Packet::new_unchecked(b).fill_checksum();
        Ok(HEADER_LEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::hex;

    // zeek_http_get.pcap frame 1 from the IP header on (a SYN with TCP options).
    const SYN: &str = "45000040df8e400040066dd38d8ee405c096bb2be9d00050fe21323a00000000b002ffff3bc00000020405b4010303040101080a164add200000000004020000";

    #[test]
    fn deconstruct_real_packet() {
        let b = hex(SYN);
        let p = Packet::new_checked(&b[..]).expect("ok");
        // tshark: 141.142.228.5 -> 192.150.187.43, ttl 64, id 0xdf8e, DF, checksum good.
        assert_eq!(p.src_addr(), Ipv4Addr::new(141, 142, 228, 5));
        assert_eq!(p.dst_addr(), Ipv4Addr::new(192, 150, 187, 43));
        assert_eq!(
            (p.ttl(), p.identification(), p.total_len()),
            (64, 0xdf8e, 64)
        );
        assert!(p.dont_fragment() && !p.more_fragments() && !p.is_fragment());
        assert_eq!(p.protocol(), IpProtocol::TCP);
        assert!(p.verify_checksum());
        assert_eq!(p.payload().len(), 44);
        assert!(p.options().is_empty());
    }

    #[test]
    fn header_problems() {
        let mut b = hex(SYN);
        b[0] = 0x44; // IHL 4
        assert_eq!(
            Packet::new_checked(&b[..])
                .map(|_| ())
                .expect_err("ihl")
                .kind,
            DecodeErrorKind::BadHeaderLength
        );
        b[0] = 0x65;
        assert_eq!(
            Packet::new_checked(&b[..])
                .map(|_| ())
                .expect_err("v6")
                .kind,
            DecodeErrorKind::BadVersion
        );
        b[0] = 0x4f; // 60-byte header in 64 bytes: fine, but total length 64 >= 60.
        assert!(Packet::new_checked(&b[..]).is_ok());
        b[3] = 40; // total length 40 < 60
        assert_eq!(
            Packet::new_checked(&b[..])
                .map(|_| ())
                .expect_err("len")
                .kind,
            DecodeErrorKind::BadLength
        );
        b[0] = 0x4f;
        assert_eq!(
            Packet::new_checked(&b[..50])
                .map(|_| ())
                .expect_err("trunc")
                .kind,
            DecodeErrorKind::Truncated
        );
    }

    #[test]
    fn payload_is_clipped_to_total_len_and_capture() {
        let mut b = hex(SYN);
        b.extend_from_slice(&[0xee; 6]); // Ethernet padding
        let p = Packet::new_checked(&b[..]).expect("ok");
        assert_eq!(p.payload().len(), 44);
        let p = Packet::new_checked(&b[..30]).expect("snaplen is not an error");
        assert_eq!(p.payload().len(), 10);
    }

    #[test]
    fn round_trip() {
        let repr = Repr {
            src_addr: Ipv4Addr::new(10, 0, 0, 1),
            dst_addr: Ipv4Addr::new(192, 168, 1, 200),
            protocol: IpProtocol::UDP,
            payload_len: 1480,
            ttl: 128,
            tos: 0xb8,
            identification: 0x1234,
            dont_fragment: false,
            more_fragments: true,
            fragment_offset: 2960,
        };
        let mut buf = vec![0u8; 1500];
        assert_eq!(repr.emit(&mut buf[..19]), Err(EmitError));
        assert_eq!(repr.emit(&mut buf), Ok(20));
        let p = Packet::new_checked(&buf[..]).expect("ok");
        assert!(p.verify_checksum());
        assert!(p.is_fragment());
        assert_eq!(Repr::parse(&p), Ok(repr));
        let too_big = Repr {
            payload_len: 65_516,
            ..repr
        };
        assert_eq!(too_big.emit(&mut buf), Err(EmitError));
    }
}
