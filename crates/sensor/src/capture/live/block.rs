//! Bounds-checked parsing of a TPACKET_V3 block that the kernel has handed to user space.
//!
//! The kernel is trusted, but every offset and length read from the ring is still checked
//! against the block: an off-by-one here would otherwise read another block or past the
//! mapping. Field offsets come from `libc`'s `#[repr(C)]` definitions of the kernel structs, and
//! values are read byte-wise in native endianness, so alignment never matters.

use std::fmt;
use std::mem::{offset_of, size_of};

use libc::{tpacket3_hdr, tpacket_block_desc, tpacket_hdr_v1, tpacket_hdr_variant1};

/// Offset of `tpacket_hdr_v1` (the `bh1` arm of the header union) inside a block.
const BH1: usize = offset_of!(tpacket_block_desc, hdr);
const NUM_PKTS: usize = BH1 + offset_of!(tpacket_hdr_v1, num_pkts);
const OFFSET_TO_FIRST_PKT: usize = BH1 + offset_of!(tpacket_hdr_v1, offset_to_first_pkt);
/// Size of the block descriptor; the first frame cannot start before it ends.
const BLOCK_DESC_LEN: usize = size_of::<tpacket_block_desc>();

const NEXT_OFFSET: usize = offset_of!(tpacket3_hdr, tp_next_offset);
const SEC: usize = offset_of!(tpacket3_hdr, tp_sec);
const NSEC: usize = offset_of!(tpacket3_hdr, tp_nsec);
const SNAPLEN: usize = offset_of!(tpacket3_hdr, tp_snaplen);
const LEN: usize = offset_of!(tpacket3_hdr, tp_len);
const STATUS: usize = offset_of!(tpacket3_hdr, tp_status);
const MAC: usize = offset_of!(tpacket3_hdr, tp_mac);
const HV1: usize = offset_of!(tpacket3_hdr, hv1);
const VLAN_TCI: usize = HV1 + offset_of!(tpacket_hdr_variant1, tp_vlan_tci);
const VLAN_TPID: usize = HV1 + offset_of!(tpacket_hdr_variant1, tp_vlan_tpid);
/// Size of a frame header; all the fields above lie inside it.
const FRAME_HDR_LEN: usize = size_of::<tpacket3_hdr>();

/// A ring entry that does not fit its block. Never expected from a correct kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RingError {
    /// The block descriptor's first-frame offset points outside the block.
    FirstOffset(u32),
    /// A frame header at this offset does not fit in the block.
    Header(usize),
    /// `tp_mac + tp_snaplen` of the frame at this offset runs past the block.
    Data(usize),
    /// More frames were announced but `tp_next_offset` of the frame at this offset is zero.
    NextOffset(usize),
}

impl fmt::Display for RingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FirstOffset(o) => write!(f, "first frame offset {o} outside the block"),
            Self::Header(o) => write!(f, "frame header at offset {o} outside the block"),
            Self::Data(o) => write!(f, "data of the frame at offset {o} runs past the block"),
            Self::NextOffset(o) => write!(f, "frame at offset {o} has no next offset"),
        }
    }
}

/// What the block descriptor says about the frames in the block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct BlockHeader {
    /// Number of frames in the block.
    pub(super) num_pkts: u32,
    /// Offset of the first frame header from the start of the block.
    pub(super) first: usize,
}

/// One frame header, with offsets made absolute (from the start of the block) and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FrameHeader {
    /// Offset of the next frame header, `None` for the last frame of the block.
    pub(super) next: Option<usize>,
    /// Capture time, nanoseconds since the Unix epoch.
    pub(super) timestamp_ns: i64,
    /// Start of the captured bytes (the MAC header).
    pub(super) data: usize,
    /// Number of captured bytes; `data + caplen` is inside the block.
    pub(super) caplen: usize,
    /// Length of the frame on the wire, as the kernel saw it (without a stripped VLAN tag).
    pub(super) wire_len: u32,
    /// `tp_status` (`TP_STATUS_VLAN_VALID`, ...).
    pub(super) status: u32,
    /// `tp_vlan_tci`, meaningful with `TP_STATUS_VLAN_VALID`.
    pub(super) vlan_tci: u16,
    /// `tp_vlan_tpid`, meaningful with `TP_STATUS_VLAN_TPID_VALID`.
    pub(super) vlan_tpid: u16,
}

fn u32_at(block: &[u8], offset: usize) -> Option<u32> {
    let bytes = block.get(offset..offset.checked_add(4)?)?;
    Some(u32::from_ne_bytes(bytes.try_into().ok()?))
}

fn u16_at(block: &[u8], offset: usize) -> Option<u16> {
    let bytes = block.get(offset..offset.checked_add(2)?)?;
    Some(u16::from_ne_bytes(bytes.try_into().ok()?))
}

/// Reads the block descriptor.
pub(super) fn parse_block(block: &[u8]) -> Result<BlockHeader, RingError> {
    let num_pkts = u32_at(block, NUM_PKTS).ok_or(RingError::Header(0))?;
    let first_raw = u32_at(block, OFFSET_TO_FIRST_PKT).ok_or(RingError::Header(0))?;
    let first = usize::try_from(first_raw).map_err(|_| RingError::FirstOffset(first_raw))?;
    if num_pkts > 0 && (first < BLOCK_DESC_LEN || first >= block.len()) {
        return Err(RingError::FirstOffset(first_raw));
    }
    Ok(BlockHeader { num_pkts, first })
}

/// Reads the frame header at `offset`. `more` says whether the block announces further frames
/// after this one, in which case the next offset must be present and move forward.
pub(super) fn parse_frame(
    block: &[u8],
    offset: usize,
    more: bool,
) -> Result<FrameHeader, RingError> {
    let header_end = offset
        .checked_add(FRAME_HDR_LEN)
        .ok_or(RingError::Header(offset))?;
    let header = block
        .get(offset..header_end)
        .ok_or(RingError::Header(offset))?;
    // Every field below lies inside `header`, whose length was just checked, so the `?`s on
    // the reads cannot fire; they only keep this code free of panics.
    let field32 = |at| u32_at(header, at).ok_or(RingError::Header(offset));
    let field16 = |at| u16_at(header, at).ok_or(RingError::Header(offset));

    let next_rel = field32(NEXT_OFFSET)?;
    let next = if more {
        // A zero or backwards offset would make the walk loop or revisit frames.
        if next_rel == 0 {
            return Err(RingError::NextOffset(offset));
        }
        let next = usize::try_from(next_rel)
            .ok()
            .and_then(|n| offset.checked_add(n))
            .filter(|&n| n < block.len())
            .ok_or(RingError::NextOffset(offset))?;
        Some(next)
    } else {
        None
    };

    let mac = usize::from(field16(MAC)?);
    let caplen = usize::try_from(field32(SNAPLEN)?).map_err(|_| RingError::Data(offset))?;
    let data = offset.checked_add(mac).ok_or(RingError::Data(offset))?;
    let data_end = data.checked_add(caplen).ok_or(RingError::Data(offset))?;
    if data_end > block.len() {
        return Err(RingError::Data(offset));
    }

    let timestamp_ns = i64::from(field32(SEC)?) * 1_000_000_000 + i64::from(field32(NSEC)?);
    // The kernel stores the 16-bit TCI in a 32-bit field; the upper half is always zero.
    let vlan_tci = (field32(VLAN_TCI)? & 0xffff) as u16;
    Ok(FrameHeader {
        next,
        timestamp_ns,
        data,
        caplen,
        wire_len: field32(LEN)?,
        status: field32(STATUS)?,
        vlan_tci,
        vlan_tpid: field16(VLAN_TPID)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BLOCK: usize = 4096;

    fn put32(b: &mut [u8], at: usize, v: u32) {
        b[at..at + 4].copy_from_slice(&v.to_ne_bytes());
    }

    fn put16(b: &mut [u8], at: usize, v: u16) {
        b[at..at + 2].copy_from_slice(&v.to_ne_bytes());
    }

    /// Writes a frame header at `at` with data right after it (as the kernel lays it out).
    fn frame(b: &mut [u8], at: usize, next: u32, snaplen: u32, len: u32) -> usize {
        let mac = 80u16; // TPACKET_ALIGN(sizeof tpacket3_hdr) + sockaddr_ll padding, roughly
        put32(b, at + NEXT_OFFSET, next);
        put32(b, at + SEC, 1_700_000_000);
        put32(b, at + NSEC, 123);
        put32(b, at + SNAPLEN, snaplen);
        put32(b, at + LEN, len);
        put32(
            b,
            at + STATUS,
            libc::TP_STATUS_USER | libc::TP_STATUS_VLAN_VALID,
        );
        put16(b, at + MAC, mac);
        put32(b, at + VLAN_TCI, 42);
        put16(b, at + VLAN_TPID, 0x8100);
        at + usize::from(mac)
    }

    fn block_with_two_frames() -> Vec<u8> {
        let mut b = vec![0u8; BLOCK];
        put32(&mut b, NUM_PKTS, 2);
        put32(&mut b, OFFSET_TO_FIRST_PKT, 48);
        frame(&mut b, 48, 160, 60, 60);
        frame(&mut b, 208, 0, 42, 1514);
        b
    }

    #[test]
    fn walks_frames() {
        let b = block_with_two_frames();
        let h = parse_block(&b).unwrap();
        assert_eq!(
            h,
            BlockHeader {
                num_pkts: 2,
                first: 48
            }
        );
        let f1 = parse_frame(&b, h.first, true).unwrap();
        assert_eq!(f1.next, Some(208));
        assert_eq!(f1.data, 128);
        assert_eq!(f1.caplen, 60);
        assert_eq!(f1.timestamp_ns, 1_700_000_000_000_000_123);
        assert_eq!(f1.vlan_tci, 42);
        assert_eq!(f1.vlan_tpid, 0x8100);
        let f2 = parse_frame(&b, 208, false).unwrap();
        assert_eq!(f2.next, None);
        assert_eq!((f2.caplen, f2.wire_len), (42, 1514));
    }

    #[test]
    fn rejects_out_of_bounds_entries() {
        let mut b = block_with_two_frames();
        // Data running one byte past the block.
        put32(&mut b, 208 + SNAPLEN, (BLOCK - 288 + 1) as u32);
        assert_eq!(parse_frame(&b, 208, false), Err(RingError::Data(208)));
        // Exactly up to the end is fine.
        put32(&mut b, 208 + SNAPLEN, (BLOCK - 288) as u32);
        assert!(parse_frame(&b, 208, false).is_ok());
        // Header that does not fit.
        assert_eq!(
            parse_frame(&b, BLOCK - 8, false),
            Err(RingError::Header(BLOCK - 8))
        );
        assert_eq!(
            parse_frame(&b, usize::MAX - 2, false),
            Err(RingError::Header(usize::MAX - 2))
        );
        // tp_mac pointing past the block.
        put16(&mut b, 208 + MAC, u16::MAX);
        assert_eq!(parse_frame(&b, 208, false), Err(RingError::Data(208)));
        // Next offset zero or past the end while more frames are announced.
        put32(&mut b, 48 + NEXT_OFFSET, 0);
        assert_eq!(parse_frame(&b, 48, true), Err(RingError::NextOffset(48)));
        put32(&mut b, 48 + NEXT_OFFSET, BLOCK as u32);
        assert_eq!(parse_frame(&b, 48, true), Err(RingError::NextOffset(48)));
        // First-frame offset inside the descriptor or past the block.
        put32(&mut b, OFFSET_TO_FIRST_PKT, 4);
        assert_eq!(parse_block(&b), Err(RingError::FirstOffset(4)));
        put32(&mut b, OFFSET_TO_FIRST_PKT, BLOCK as u32);
        assert_eq!(parse_block(&b), Err(RingError::FirstOffset(BLOCK as u32)));
        // A truncated block cannot even hold the descriptor.
        assert!(parse_block(&b[..8]).is_err());
    }
}
