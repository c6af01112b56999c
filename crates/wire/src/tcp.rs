//! TCP headers (RFC 9293) and options.
//!
//! A malformed option list does not hide the segment: [`Packet::summary`] returns what it read
//! before the bad option together with a `BadOption` error, and the payload stays usable.

use std::net::IpAddr;

use crate::checksum;
use crate::error::err;
use crate::util::view;
use crate::util::{be16, be32, set_be16, set_be32};
use crate::{DecodeError, DecodeErrorKind, EmitError, Layer, TcpSummary};

mod field {
    pub(super) type Field = core::ops::Range<usize>;
    pub(super) const SRC_PORT: Field = 0..2;
    pub(super) const DST_PORT: Field = 2..4;
    pub(super) const SEQ_NUM: Field = 4..8;
    pub(super) const ACK_NUM: Field = 8..12;
    pub(super) const DATA_OFF: usize = 12;
    pub(super) const FLAGS: usize = 13;
    pub(super) const WIN_SIZE: Field = 14..16;
    pub(super) const CHECKSUM: Field = 16..18;
    pub(super) const URGENT: Field = 18..20;
}

/// Length of a header without options.
pub const HEADER_LEN: usize = field::URGENT.end;

/// Flag bits of [`TcpSummary::flags`].
pub mod flags {
    /// No more data from sender.
    pub const FIN: u8 = 0x01;
    /// Synchronize sequence numbers.
    pub const SYN: u8 = 0x02;
    /// Reset the connection.
    pub const RST: u8 = 0x04;
    /// Push function.
    pub const PSH: u8 = 0x08;
    /// Acknowledgement field significant.
    pub const ACK: u8 = 0x10;
    /// Urgent pointer field significant.
    pub const URG: u8 = 0x20;
    /// ECN echo.
    pub const ECE: u8 = 0x40;
    /// Congestion window reduced.
    pub const CWR: u8 = 0x80;
}

/// A TCP option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpOption<'a> {
    /// End of option list (kind 0); ends the walk.
    EndOfList,
    /// No operation (kind 1), used as padding.
    NoOperation,
    /// Maximum segment size (kind 2).
    MaxSegmentSize(u16),
    /// Window scale shift count (kind 3).
    WindowScale(u8),
    /// SACK permitted (kind 4).
    SackPermitted,
    /// Selective acknowledgement blocks (kind 5): the count and up to 4 (left, right) edges.
    Sack(u8, [(u32, u32); 4]),
    /// Timestamps (kind 8): value and echo reply.
    Timestamps(u32, u32),
    /// Any other kind, with its data after the kind and length bytes.
    Unknown {
        /// Option kind.
        kind: u8,
        /// Option data.
        data: &'a [u8],
    },
}

/// Iterates over an option list. After an error (bad length, an option of a known kind with the
/// wrong size) it yields nothing more.
#[derive(Debug, Clone)]
pub struct Options<'a> {
    data: &'a [u8],
    done: bool,
}

impl<'a> Options<'a> {
    /// Iterates over the options bytes of a header.
    #[inline]
    pub const fn new(data: &'a [u8]) -> Self {
        Self { data, done: false }
    }

    #[inline]
    fn fail(&mut self) -> Option<Result<TcpOption<'a>, DecodeError>> {
        self.done = true;
        Some(Err(err(Layer::Tcp, DecodeErrorKind::BadOption)))
    }
}

impl<'a> Iterator for Options<'a> {
    type Item = Result<TcpOption<'a>, DecodeError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let data = self.data;
        let (&kind, rest) = data.split_first()?;
        match kind {
            0 => {
                self.done = true;
                return Some(Ok(TcpOption::EndOfList));
            }
            1 => {
                self.data = rest;
                return Some(Ok(TcpOption::NoOperation));
            }
            _ => {}
        }
        let Some(&len) = rest.first() else {
            return self.fail();
        };
        let len = usize::from(len);
        if len < 2 || len > data.len() {
            return self.fail();
        }
        let body = &data[2..len];
        self.data = &data[len..];
        let option = match (kind, body.len()) {
            (2, 2) => TcpOption::MaxSegmentSize(be16(body)),
            (3, 1) => TcpOption::WindowScale(body[0]),
            (4, 0) => TcpOption::SackPermitted,
            (5, n) if n > 0 && n <= 32 && n % 8 == 0 => {
                let mut blocks = [(0u32, 0u32); 4];
                for (block, edges) in blocks.iter_mut().zip(body.chunks_exact(8)) {
                    *block = (be32(&edges[..4]), be32(&edges[4..]));
                }
                TcpOption::Sack((n / 8) as u8, blocks)
            }
            (8, 8) => TcpOption::Timestamps(be32(&body[..4]), be32(&body[4..])),
            (2 | 3 | 4 | 5 | 8, _) => return self.fail(),
            _ => TcpOption::Unknown { kind, data: body },
        };
        Some(Ok(option))
    }
}

view! {
    /// A view of a TCP segment.
    Packet
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// `Truncated` under 20 bytes, `BadHeaderLength` when the data offset is under 5 or points
    /// past the buffer.
    #[inline]
    pub fn check_len(&self) -> Result<(), DecodeError> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(err(Layer::Tcp, DecodeErrorKind::Truncated));
        }
        let header_len = self.header_len();
        if header_len < HEADER_LEN || header_len > len {
            return Err(err(Layer::Tcp, DecodeErrorKind::BadHeaderLength));
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

    /// Sequence number.
    #[inline]
    pub fn seq_number(&self) -> u32 {
        be32(&self.buffer.as_ref()[field::SEQ_NUM])
    }

    /// Acknowledgement number.
    #[inline]
    pub fn ack_number(&self) -> u32 {
        be32(&self.buffer.as_ref()[field::ACK_NUM])
    }

    /// Header length in bytes (data offset × 4).
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::DATA_OFF] >> 4) * 4
    }

    /// The flags byte (see [`flags`]).
    #[inline]
    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS]
    }

    /// Window field (unscaled).
    #[inline]
    pub fn window_len(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::WIN_SIZE])
    }

    /// Checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::CHECKSUM])
    }

    /// Urgent pointer.
    #[inline]
    pub fn urgent_at(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::URGENT])
    }

    /// Whether the checksum verifies over the whole buffer (which must hold the whole segment).
    #[inline]
    pub fn verify_checksum(&self, src: IpAddr, dst: IpAddr) -> bool {
        checksum::verify_transport(src, dst, 6, self.buffer.as_ref())
    }

    /// The header facts and options; a malformed option list gives the options read before
    /// the problem and a `BadOption` error.
    pub fn summary(&self) -> (TcpSummary, Option<DecodeError>) {
        let mut s = TcpSummary::default();
        let e = self.fill_summary(&mut s);
        (s, e)
    }

    /// [`Self::summary`] into a caller's (possibly already placed) summary, which is fully
    /// overwritten. This is what the decoder uses to avoid moving the summary around.
    #[inline]
    pub fn fill_summary(&self, s: &mut TcpSummary) -> Option<DecodeError> {
        *s = self.fixed_summary();
        self.fill_summary_options(s)
    }

    /// The fixed-header part of [`Self::fill_summary`]: the options are left at their defaults.
    #[inline]
    pub(crate) fn fixed_summary(&self) -> TcpSummary {
        TcpSummary {
            src_port: self.src_port(),
            dst_port: self.dst_port(),
            seq: self.seq_number(),
            ack: self.ack_number(),
            flags: self.flags(),
            window: self.window_len(),
            ..TcpSummary::default()
        }
    }

    /// The options part of [`Self::fill_summary`], over a summary holding no options yet.
    #[inline]
    pub(crate) fn fill_summary_options(&self, s: &mut TcpSummary) -> Option<DecodeError> {
        let options = &self.buffer.as_ref()[HEADER_LEN..self.header_len()];
        if options.is_empty() {
            return None;
        }
        fill_options(options, s)
    }
}

/// The option walk of [`Options`], specialised to filling a summary: the same acceptance rules
/// without building a [`TcpOption`] per option, since this runs for every segment.
#[inline]
fn fill_options(mut o: &[u8], s: &mut TcpSummary) -> Option<DecodeError> {
    let bad = Some(err(Layer::Tcp, DecodeErrorKind::BadOption));
    loop {
        match *o {
            [] | [0, ..] => return None,
            [1, ref rest @ ..] => o = rest,
            [kind, len, ref rest @ ..] => {
                let Some(body_len) = usize::from(len).checked_sub(2) else {
                    return bad;
                };
                let Some(body) = rest.get(..body_len) else {
                    return bad;
                };
                match (kind, body_len) {
                    (2, 2) => s.mss = Some(be16(body)),
                    (3, 1) => s.window_scale = Some(body[0]),
                    (4, 0) => s.sack_permitted = true,
                    (5, n) if n > 0 && n <= 32 && n % 8 == 0 => {
                        s.sack_count = (n / 8) as u8;
                        for (block, edges) in s.sack_blocks.iter_mut().zip(body.chunks_exact(8)) {
                            *block = (be32(&edges[..4]), be32(&edges[4..]));
                        }
                    }
                    (8, 8) => s.timestamps = Some((be32(&body[..4]), be32(&body[4..]))),
                    (2 | 3 | 4 | 5 | 8, _) => return bad,
                    _ => {}
                }
                o = &rest[body_len..];
            }
            [_] => return bad,
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The options bytes.
    #[inline]
    pub fn options(&self) -> &'a [u8] {
        &self.buffer.as_ref()[HEADER_LEN..self.header_len()]
    }

    /// The payload.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }
}

/// A TCP segment with the options a traffic generator needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number.
    pub ack: u32,
    /// Flags byte (see [`flags`]).
    pub flags: u8,
    /// Window field.
    pub window: u16,
    /// Urgent pointer.
    pub urgent: u16,
    /// MSS option.
    pub mss: Option<u16>,
    /// Window scale option.
    pub window_scale: Option<u8>,
    /// SACK-permitted option.
    pub sack_permitted: bool,
    /// Timestamps option.
    pub timestamps: Option<(u32, u32)>,
    /// Payload.
    pub payload: &'a [u8],
}

impl<'a> Repr<'a> {
    /// Parses a checked segment; SACK blocks and unknown options are dropped.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&'a T>) -> Result<Self, DecodeError> {
        packet.check_len()?;
        let (s, e) = packet.summary();
        if let Some(e) = e {
            return Err(e);
        }
        Ok(Self {
            src_port: s.src_port,
            dst_port: s.dst_port,
            seq: s.seq,
            ack: s.ack,
            flags: s.flags,
            window: s.window,
            urgent: packet.urgent_at(),
            mss: s.mss,
            window_scale: s.window_scale,
            sack_permitted: s.sack_permitted,
            timestamps: s.timestamps,
            payload: packet.payload(),
        })
    }

    /// Length of the options, each aligned to 4 bytes with NOPs.
    #[inline]
    pub const fn options_len(&self) -> usize {
        (if self.mss.is_some() { 4 } else { 0 })
            + (if self.window_scale.is_some() { 4 } else { 0 })
            + (if self.sack_permitted { 4 } else { 0 })
            + (if self.timestamps.is_some() { 12 } else { 0 })
    }

    /// Header length.
    #[inline]
    pub const fn header_len(&self) -> usize {
        HEADER_LEN + self.options_len()
    }

    /// Segment length: header and payload.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        self.header_len() + self.payload.len()
    }

    /// Writes the segment (header, options, payload) at the start of `buf` and fills in the
    /// checksum for the pseudo-header of `src` and `dst`; returns its length.
    pub fn emit(&self, buf: &mut [u8], src: IpAddr, dst: IpAddr) -> Result<usize, EmitError> {
        let len = self.buffer_len();
        let b = buf.get_mut(..len).ok_or(EmitError)?;
        set_be16(&mut b[field::SRC_PORT], self.src_port);
        set_be16(&mut b[field::DST_PORT], self.dst_port);
        set_be32(&mut b[field::SEQ_NUM], self.seq);
        set_be32(&mut b[field::ACK_NUM], self.ack);
        b[field::DATA_OFF] = ((self.header_len() / 4) as u8) << 4;
        b[field::FLAGS] = self.flags;
        set_be16(&mut b[field::WIN_SIZE], self.window);
        set_be16(&mut b[field::CHECKSUM], 0);
        set_be16(&mut b[field::URGENT], self.urgent);
        let mut at = HEADER_LEN;
        if let Some(mss) = self.mss {
            b[at..at + 2].copy_from_slice(&[2, 4]);
            set_be16(&mut b[at + 2..], mss);
            at += 4;
        }
        if let Some(ws) = self.window_scale {
            b[at..at + 4].copy_from_slice(&[1, 3, 3, ws]);
            at += 4;
        }
        if self.sack_permitted {
            b[at..at + 4].copy_from_slice(&[1, 1, 4, 2]);
            at += 4;
        }
        if let Some((value, echo)) = self.timestamps {
            b[at..at + 4].copy_from_slice(&[1, 1, 8, 10]);
            set_be32(&mut b[at + 4..], value);
            set_be32(&mut b[at + 8..], echo);
            at += 12;
        }
        b[at..].copy_from_slice(self.payload);
        let c = checksum::transport(src, dst, 6, b);
        set_be16(&mut b[field::CHECKSUM], c);
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::hex;

    // zeek_http_get.pcap frame 1 (SYN) and 4 (data), TCP header on.
    const SYN: &str =
        "e9d00050fe21323a00000000b002ffff3bc00000020405b4010303040101080a164add200000000004020000";
    // modbus/iti_ModbusTCP.pcap frame 2017: ACK with one SACK block.
    pub(crate) const SACK: &str = "";

    #[test]
    fn syn_options_from_real_capture() {
        let b = hex(SYN);
        let p = Packet::new_checked(&b[..]).expect("ok");
        let (s, e) = p.summary();
        assert_eq!(e, None);
        // tshark: 59856 -> 80, seq_raw 4263588410, SYN, win 65535, mss 1460, ws 4, sack_perm,
        // tsval 374005024, tsecr 0.
        assert_eq!(
            (s.src_port, s.dst_port, s.seq, s.ack),
            (59856, 80, 4_263_588_410, 0)
        );
        assert_eq!((s.flags, s.window), (flags::SYN, 65535));
        assert_eq!(
            (s.mss, s.window_scale, s.sack_permitted),
            (Some(1460), Some(4), true)
        );
        assert_eq!(s.timestamps, Some((374_005_024, 0)));
        assert_eq!(p.header_len(), 44);
        assert!(p.payload().is_empty());
        let src = "141.142.228.5".parse().expect("ip");
        let dst = "192.150.187.43".parse().expect("ip");
        assert!(p.verify_checksum(src, dst));
        let _ = SACK;
    }

    #[test]
    fn bad_lengths() {
        let mut b = hex(SYN);
        b[12] = 0x40; // data offset 4
        assert_eq!(
            Packet::new_checked(&b[..])
                .map(|_| ())
                .expect_err("off")
                .kind,
            DecodeErrorKind::BadHeaderLength
        );
        b[12] = 0xf0; // 60 > 44
        assert_eq!(
            Packet::new_checked(&b[..])
                .map(|_| ())
                .expect_err("off")
                .kind,
            DecodeErrorKind::BadHeaderLength
        );
        for n in 0..HEADER_LEN {
            assert_eq!(
                Packet::new_checked(&b[..n])
                    .map(|_| ())
                    .expect_err("short")
                    .kind,
                DecodeErrorKind::Truncated
            );
        }
    }

    fn options(o: &[u8]) -> Vec<Result<TcpOption<'_>, DecodeError>> {
        Options::new(o).collect()
    }

    #[test]
    fn option_walk() {
        let bad = Err(err(Layer::Tcp, DecodeErrorKind::BadOption));
        assert_eq!(
            options(&[1, 0, 2, 4, 5, 0xb4]),
            vec![Ok(TcpOption::NoOperation), Ok(TcpOption::EndOfList)]
        );
        assert_eq!(options(&[2]), vec![bad]);
        assert_eq!(options(&[2, 4, 5]), vec![bad]);
        assert_eq!(options(&[2, 3, 5]), vec![bad]);
        assert_eq!(options(&[254, 1]), vec![bad]);
        assert_eq!(options(&[254, 0, 1, 1]), vec![bad]);
        assert_eq!(options(&[5, 6, 0, 0, 0, 0]), vec![bad]);
        assert_eq!(
            options(&[30, 4, 9, 9, 3, 3, 7]),
            vec![
                Ok(TcpOption::Unknown {
                    kind: 30,
                    data: &[9, 9]
                }),
                Ok(TcpOption::WindowScale(7))
            ]
        );
        // SACK with 4 blocks, the maximum.
        let mut sack = vec![5, 34];
        for i in 0..8u32 {
            sack.extend_from_slice(&(i * 100).to_be_bytes());
        }
        let o = options(&sack);
        assert_eq!(
            o,
            vec![Ok(TcpOption::Sack(
                4,
                [(0, 100), (200, 300), (400, 500), (600, 700)]
            ))]
        );
    }

    #[test]
    fn summary_walk_agrees_with_iterator() {
        let cases: [&[u8]; 9] = [
            &[1, 0, 2, 4, 5, 0xb4],
            &[2],
            &[2, 4, 5],
            &[254, 1],
            &[5, 6, 0, 0, 0, 0],
            &[30, 4, 9, 9, 3, 3, 7, 4, 2],
            &[8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 5, 10, 0, 0, 0, 3, 0, 0, 0, 4],
            &[3, 3],
            &[1, 1, 1],
        ];
        for o in cases {
            let mut fast = TcpSummary::default();
            let fast_err = fill_options(o, &mut fast);
            let mut slow = TcpSummary::default();
            let mut slow_err = None;
            for option in Options::new(o) {
                match option {
                    Ok(TcpOption::MaxSegmentSize(v)) => slow.mss = Some(v),
                    Ok(TcpOption::WindowScale(v)) => slow.window_scale = Some(v),
                    Ok(TcpOption::SackPermitted) => slow.sack_permitted = true,
                    Ok(TcpOption::Sack(n, b)) => (slow.sack_count, slow.sack_blocks) = (n, b),
                    Ok(TcpOption::Timestamps(v, e)) => slow.timestamps = Some((v, e)),
                    Ok(_) => {}
                    Err(e) => slow_err = Some(e),
                }
            }
            assert_eq!((fast, fast_err), (slow, slow_err), "{o:?}");
        }
    }

    #[test]
    fn bad_option_keeps_header() {
        let mut b = hex(SYN);
        b[20 + 5] = 8; // the window scale option now claims to be a timestamps of length 3
        let p = Packet::new_checked(&b[..]).expect("header still fine");
        let (s, e) = p.summary();
        assert_eq!(e, Some(err(Layer::Tcp, DecodeErrorKind::BadOption)));
        assert_eq!(
            (s.src_port, s.mss, s.window_scale),
            (59856, Some(1460), None)
        );
    }

    #[test]
    fn round_trip() {
        let payload = b"GET / HTTP/1.1\r\n\r\n";
        let src: IpAddr = "10.0.0.1".parse().expect("ip");
        let dst: IpAddr = "fe80::1".parse().expect("ip");
        for (mss, ws, sp, ts) in [
            (None, None, false, None),
            (Some(1460), Some(7), true, Some((1, 2))),
        ] {
            let repr = Repr {
                src_port: 1234,
                dst_port: 502,
                seq: 0xdead_beef,
                ack: 42,
                flags: flags::PSH | flags::ACK,
                window: 8192,
                urgent: 0,
                mss,
                window_scale: ws,
                sack_permitted: sp,
                timestamps: ts,
                payload,
            };
            let mut buf = vec![0u8; 200];
            assert_eq!(
                repr.emit(&mut buf[..repr.buffer_len() - 1], src, dst),
                Err(EmitError)
            );
            let n = repr.emit(&mut buf, src, dst).expect("fits");
            let p = Packet::new_checked(&buf[..n]).expect("ok");
            assert!(p.verify_checksum(src, dst));
            assert_eq!(Repr::parse(&p), Ok(repr));
        }
    }
}
