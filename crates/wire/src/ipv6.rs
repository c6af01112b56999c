//! IPv6 headers (RFC 8200) and the walk over extension headers.
//!
//! The walk is a bounded loop ([`MAX_EXTENSION_HEADERS`]); every header it crosses is at least
//! 8 bytes long, so it also ends with the data. ESP (50) and "no next header" (59) end it like
//! any upper-layer protocol: what follows them is not a header chain.

use std::net::Ipv6Addr;

use crate::error::err;
use crate::ip::IpProtocol;
use crate::util::view;
use crate::util::{be16, be32, ipv6, set_be16, set_be32};
use crate::{DecodeError, DecodeErrorKind, EmitError, Ipv6Fragment, Ipv6Summary, Layer};

mod field {
    pub(super) type Field = core::ops::Range<usize>;
    pub(super) const VER_TC_FLOW: Field = 0..4;
    pub(super) const LENGTH: Field = 4..6;
    pub(super) const NXT_HDR: usize = 6;
    pub(super) const HOP_LIMIT: usize = 7;
    pub(super) const SRC_ADDR: Field = 8..24;
    pub(super) const DST_ADDR: Field = 24..40;
}

/// Length of the fixed header.
pub const HEADER_LEN: usize = field::DST_ADDR.end;

/// How many extension headers the walk crosses before giving up with `TooManyHeaders`.
pub const MAX_EXTENSION_HEADERS: usize = 16;

/// Length of a fragment header.
pub const FRAGMENT_HEADER_LEN: usize = 8;

view! {
    /// A view of an IPv6 packet.
    Packet
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// `Truncated` under 40 bytes, `BadVersion` unless version 6. A payload length beyond the
    /// captured bytes is accepted: the payload is clipped instead.
    #[inline]
    pub fn check_len(&self) -> Result<(), DecodeError> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            return Err(err(Layer::Ipv6, DecodeErrorKind::Truncated));
        }
        if self.version() != 6 {
            return Err(err(Layer::Ipv6, DecodeErrorKind::BadVersion));
        }
        Ok(())
    }

    /// The underlying buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    #[inline]
    fn first_word(&self) -> u32 {
        be32(&self.buffer.as_ref()[field::VER_TC_FLOW])
    }

    /// Version field.
    #[inline]
    pub fn version(&self) -> u8 {
        (self.first_word() >> 28) as u8
    }

    /// Traffic class.
    #[inline]
    pub fn traffic_class(&self) -> u8 {
        (self.first_word() >> 20) as u8
    }

    /// Flow label (20 bits).
    #[inline]
    pub fn flow_label(&self) -> u32 {
        self.first_word() & 0x000f_ffff
    }

    /// Payload length field.
    #[inline]
    pub fn payload_len(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::LENGTH])
    }

    /// Next header after the fixed header.
    #[inline]
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol(self.buffer.as_ref()[field::NXT_HDR])
    }

    /// Hop limit.
    #[inline]
    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::HOP_LIMIT]
    }

    /// Source address.
    #[inline]
    pub fn src_addr(&self) -> Ipv6Addr {
        ipv6(&self.buffer.as_ref()[field::SRC_ADDR])
    }

    /// Destination address.
    #[inline]
    pub fn dst_addr(&self) -> Ipv6Addr {
        ipv6(&self.buffer.as_ref()[field::DST_ADDR])
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The bytes after the fixed header, clipped to the payload length and the captured bytes.
    /// A payload length of 0 with a hop-by-hop header (a jumbogram, RFC 2675) keeps all the
    /// captured bytes.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        let rest = &self.buffer.as_ref()[HEADER_LEN..];
        let len = usize::from(self.payload_len());
        if len == 0 && self.next_header() == IpProtocol::HOP_BY_HOP {
            return rest;
        }
        rest.get(..len).unwrap_or(rest)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the payload length field.
    #[inline]
    pub fn set_payload_len(&mut self, len: u16) {
        set_be16(&mut self.buffer.as_mut()[field::LENGTH], len);
    }
}

/// Where the extension header walk ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chain<'a> {
    /// The upper-layer protocol; on error, the header that could not be crossed.
    pub next_header: u8,
    /// The bytes from `next_header` on (for a fragment: the fragment data).
    pub payload: &'a [u8],
    /// The fragment header, if one was crossed or stopped the walk.
    pub fragment: Option<Ipv6Fragment>,
    /// Number of extension headers crossed.
    pub headers: u8,
    /// What stopped the walk early.
    pub error: Option<DecodeError>,
}

impl Chain<'_> {
    /// Whether the walk stopped at a real fragment (offset > 0 or more fragments): the payload
    /// then needs reassembly before its transport header can be read.
    #[inline]
    pub fn is_fragment(&self) -> bool {
        self.fragment
            .is_some_and(|f| f.offset > 0 || f.more_fragments)
    }
}

/// Walks the extension headers starting with `next_header` at the start of `data`.
///
/// `clipped` says that `data` was cut by the payload length field rather than by the capture:
/// a header running past it is then `BadLength` instead of `Truncated`. A real fragment ends
/// the walk, since the headers after it are only readable after reassembly; an atomic fragment
/// (offset 0, M = 0) is crossed like any other header.
pub fn walk(next_header: u8, data: &[u8], clipped: bool) -> Chain<'_> {
    let mut chain = Chain {
        next_header,
        payload: data,
        fragment: None,
        headers: 0,
        error: None,
    };
    let past_end = if clipped {
        DecodeErrorKind::BadLength
    } else {
        DecodeErrorKind::Truncated
    };
    while IpProtocol(chain.next_header).is_ipv6_extension() {
        if usize::from(chain.headers) >= MAX_EXTENSION_HEADERS {
            chain.error = Some(err(Layer::Ipv6, DecodeErrorKind::TooManyHeaders));
            return chain;
        }
        let kind = IpProtocol(chain.next_header);
        let rest = chain.payload;
        let (Some(&next), Some(&len)) = (rest.first(), rest.get(1)) else {
            chain.error = Some(err(Layer::Ipv6, past_end));
            return chain;
        };
        let header_len = match kind {
            IpProtocol::IPV6_FRAG => FRAGMENT_HEADER_LEN,
            IpProtocol::AH => (usize::from(len) + 2) * 4,
            _ => (usize::from(len) + 1) * 8,
        };
        let Some(header) = rest.get(..header_len) else {
            chain.error = Some(err(Layer::Ipv6, past_end));
            return chain;
        };
        chain.headers += 1;
        chain.next_header = next;
        chain.payload = &rest[header_len..];
        if kind == IpProtocol::IPV6_FRAG {
            let off_m = be16(&header[2..4]);
            let fragment = Ipv6Fragment {
                identification: be32(&header[4..8]),
                offset: off_m & 0xfff8,
                more_fragments: off_m & 1 != 0,
            };
            chain.fragment = Some(fragment);
            if chain.is_fragment() {
                return chain;
            }
        }
    }
    chain
}

/// Decodes the header for [`crate::decode()`]: `Err` when nothing usable was found, otherwise
/// the summary, a problem met while walking the extension headers, and whether the payload is
/// shorter than announced (cut by the capture).
pub(crate) fn summarize(data: &[u8]) -> Result<(Ipv6Summary<'_>, Chain<'_>, bool), DecodeError> {
    let p = Packet::new_checked(data)?;
    let payload = p.payload();
    let payload_len = p.payload_len();
    let captured = data.len() - HEADER_LEN;
    let clipped = payload.len() < captured;
    let short = captured < usize::from(payload_len);
    let chain = walk(p.next_header().0, payload, clipped);
    let summary = Ipv6Summary {
        src: p.src_addr(),
        dst: p.dst_addr(),
        next_header: chain.next_header,
        hop_limit: p.hop_limit(),
        payload_len,
        fragment: chain.fragment,
        payload: chain.payload,
    };
    Ok((summary, chain, short))
}

/// An IPv6 header without extension headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Source address.
    pub src_addr: Ipv6Addr,
    /// Destination address.
    pub dst_addr: Ipv6Addr,
    /// Next header (the upper-layer protocol).
    pub next_header: IpProtocol,
    /// Payload length.
    pub payload_len: usize,
    /// Hop limit.
    pub hop_limit: u8,
    /// Traffic class.
    pub traffic_class: u8,
    /// Flow label (20 bits).
    pub flow_label: u32,
}

impl Repr {
    /// Parses the fixed header of a checked packet.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&T>) -> Result<Self, DecodeError> {
        packet.check_len()?;
        Ok(Self {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            next_header: packet.next_header(),
            payload_len: usize::from(packet.payload_len()),
            hop_limit: packet.hop_limit(),
            traffic_class: packet.traffic_class(),
            flow_label: packet.flow_label(),
        })
    }

    /// Header length.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header at the start of `buf`; the caller writes the payload after it. Fails
    /// when `buf` is short or the payload length does not fit 16 bits.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        let len = u16::try_from(self.payload_len).map_err(|_| EmitError)?;
        let b = buf.get_mut(..HEADER_LEN).ok_or(EmitError)?;
        let word = 6 << 28 | u32::from(self.traffic_class) << 20 | (self.flow_label & 0x000f_ffff);
        set_be32(&mut b[field::VER_TC_FLOW], word);
        set_be16(&mut b[field::LENGTH], len);
        b[field::NXT_HDR] = self.next_header.0;
        b[field::HOP_LIMIT] = self.hop_limit;
        b[field::SRC_ADDR].copy_from_slice(&self.src_addr.octets());
        b[field::DST_ADDR].copy_from_slice(&self.dst_addr.octets());
        Ok(HEADER_LEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(next: u8, payload_len: u16) -> Vec<u8> {
        let repr = Repr {
            src_addr: "fe80::1".parse().expect("addr"),
            dst_addr: "ff02::1".parse().expect("addr"),
            next_header: IpProtocol(next),
            payload_len: usize::from(payload_len),
            hop_limit: 255,
            traffic_class: 0,
            flow_label: 0,
        };
        let mut b = vec![0u8; 40];
        repr.emit(&mut b).expect("fits");
        b
    }

    #[test]
    fn round_trip() {
        let repr = Repr {
            src_addr: "2001:db8::1".parse().expect("addr"),
            dst_addr: "2001:db8::2".parse().expect("addr"),
            next_header: IpProtocol::TCP,
            payload_len: 20,
            hop_limit: 64,
            traffic_class: 0xb8,
            flow_label: 0xabcde,
        };
        let mut b = vec![0u8; 60];
        assert_eq!(repr.emit(&mut b[..39]), Err(EmitError));
        assert_eq!(repr.emit(&mut b), Ok(40));
        let p = Packet::new_checked(&b[..]).expect("ok");
        assert_eq!(Repr::parse(&p), Ok(repr));
        assert_eq!(p.payload().len(), 20);
    }

    #[test]
    fn walk_crosses_every_kind() {
        // hop-by-hop (8) -> routing (16) -> dest opts (8) -> AH (len 1: 12 bytes) -> mobility
        // (8) -> HIP (8) -> shim6 (8) -> atomic fragment (8) -> UDP
        let mut d = Vec::new();
        d.extend_from_slice(&[43, 0, 0, 0, 0, 0, 0, 0]);
        d.extend_from_slice(&[60, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        d.extend_from_slice(&[51, 0, 0, 0, 0, 0, 0, 0]);
        d.extend_from_slice(&[135, 1, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
        d.extend_from_slice(&[139, 0, 0, 0, 0, 0, 0, 0]);
        d.extend_from_slice(&[140, 0, 0, 0, 0, 0, 0, 0]);
        d.extend_from_slice(&[44, 0, 0, 0, 0, 0, 0, 0]);
        d.extend_from_slice(&[17, 0, 0, 0, 0, 0, 0, 7]);
        d.extend_from_slice(b"udp!");
        let c = walk(0, &d, false);
        assert_eq!(c.error, None);
        assert_eq!((c.next_header, c.headers), (17, 8));
        assert_eq!(c.payload, b"udp!");
        assert_eq!(
            c.fragment,
            Some(Ipv6Fragment {
                identification: 7,
                offset: 0,
                more_fragments: false
            })
        );
        assert!(!c.is_fragment());
        // Every prefix: truncated, never a panic.
        for n in 0..d.len() - 4 {
            let c = walk(0, &d[..n], false);
            assert_eq!(
                c.error.map(|e| e.kind),
                Some(DecodeErrorKind::Truncated),
                "{n}"
            );
            assert_eq!(
                walk(0, &d[..n], true).error.map(|e| e.kind),
                Some(DecodeErrorKind::BadLength)
            );
        }
    }

    #[test]
    fn real_fragment_stops_the_walk() {
        // offset 1448 (181 * 8), M = 1, id 0xdeadbeef, next header TCP.
        let d = [6, 0, 0x05, 0xa9, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3];
        let c = walk(44, &d, false);
        assert!(c.is_fragment());
        assert_eq!(c.next_header, 6);
        assert_eq!(c.payload, &[1, 2, 3]);
        let f = c.fragment.expect("fragment");
        assert_eq!(
            (f.identification, f.offset, f.more_fragments),
            (0xdead_beef, 1448, true)
        );
    }

    #[test]
    fn long_chains_are_bounded() {
        // 17 destination-options headers chained to each other.
        let d: Vec<u8> = [[60u8, 0, 0, 0, 0, 0, 0, 0]; 40].concat();
        let c = walk(60, &d, false);
        assert_eq!(
            c.error.map(|e| e.kind),
            Some(DecodeErrorKind::TooManyHeaders)
        );
        assert_eq!(usize::from(c.headers), MAX_EXTENSION_HEADERS);
        // ESP and no-next-header end the walk.
        assert_eq!(walk(50, &d, false).headers, 0);
        assert_eq!(walk(59, &d, false).headers, 0);
    }

    #[test]
    fn payload_clipping_and_jumbo() {
        let mut b = header(17, 8);
        b.extend_from_slice(&[0; 12]);
        assert_eq!(Packet::new_checked(&b[..]).expect("ok").payload().len(), 8);
        let mut j = header(0, 0);
        j.extend_from_slice(&[17, 0, 0xc2, 4, 0, 1, 0, 0, 9, 9, 9]);
        assert_eq!(Packet::new_checked(&j[..]).expect("ok").payload().len(), 11);
        let mut v4 = header(17, 0);
        v4[0] = 0x45;
        assert_eq!(
            Packet::new_checked(&v4[..])
                .map(|_| ())
                .expect_err("v")
                .kind,
            DecodeErrorKind::BadVersion
        );
        assert!(Packet::new_checked(&v4[..39]).is_err());
    }
}
