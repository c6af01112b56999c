//! pcapng files: a sequence of blocks (`type`, `total length`, body, `total length` again),
//! grouped into sections that each start with a Section Header Block (SHB).
//!
//! Read: SHB in either byte order (each section may change it, and resets the interface list),
//! Interface Description Blocks with `if_tsresol` (option 9) and `if_tsoffset` (option 14),
//! Enhanced (6), Simple (3) and obsolete Packet (2) Blocks. Everything else (name resolution,
//! interface statistics, decryption secrets, custom, systemd journal and unknown blocks, and all
//! comments and other options) is skipped by its length.
//!
//! Damage handling: a block whose lengths are consistent but whose content is wrong (a packet
//! longer than its block, an undefined interface) is skipped with a warning. A block whose
//! lengths are wrong (below 12, not a multiple of 4, above [`MAX_BLOCK_LEN`], trailing copy
//! different) is resynchronised: the reader scans forward in 4-byte steps for the next
//! plausible block header (a known type, a sane length and a matching trailing length) and
//! warns once, naming the bad block's offset and how many bytes were skipped.
//!
//! A Simple Packet Block carries no timestamp; it is given the timestamp of the previous packet
//! of the file (0 before any), so that time never runs backwards for the flow table.

use ironward_wire::LinkType;

use super::error::{OpenError, Warnings};
use super::input::Input;
use super::{read_u16, read_u32, Frame};

/// Largest block accepted (16 MiB). Bigger ones are treated as corrupt, which bounds the
/// streaming buffer; real packet blocks are at most a few hundred KiB.
pub const MAX_BLOCK_LEN: usize = 16 * 1024 * 1024;

/// Most interfaces kept per section. Further IDBs are skipped with a warning (their packets then
/// report an undefined interface), so a hostile file cannot grow the table without bound.
pub const MAX_INTERFACES: usize = 65_536;

pub(crate) const SHB: u32 = 0x0a0d_0d0a;
pub(crate) const IDB: u32 = 1;
pub(crate) const PB: u32 = 2;
pub(crate) const SPB: u32 = 3;
pub(crate) const NRB: u32 = 4;
pub(crate) const ISB: u32 = 5;
pub(crate) const EPB: u32 = 6;
const SYSTEMD_JOURNAL: u32 = 9;
pub(crate) const DSB: u32 = 0x0a;
pub(crate) const CUSTOM: u32 = 0x0000_0bad;
pub(crate) const CUSTOM_NOCOPY: u32 = 0x4000_0bad;
const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;

/// Smallest SHB: header, byte-order magic, versions, section length, trailer.
const SHB_MIN: usize = 28;

/// Human name of a block type, for warnings.
fn block_name(t: u32) -> String {
    match t {
        SHB => "section header block".into(),
        IDB => "interface description block".into(),
        PB => "packet block".into(),
        SPB => "simple packet block".into(),
        NRB => "name resolution block".into(),
        ISB => "interface statistics block".into(),
        EPB => "enhanced packet block".into(),
        DSB => "decryption secrets block".into(),
        t => format!("block of type 0x{t:08x}"),
    }
}

/// Smallest valid total length of a block of a known type, `None` for unknown types. Used by
/// the resynchronisation scan to judge whether a candidate header is plausible.
fn min_len(t: u32) -> Option<usize> {
    match t {
        SHB => Some(SHB_MIN),
        IDB => Some(20),
        PB | EPB => Some(32),
        SPB => Some(16),
        NRB | ISB | SYSTEMD_JOURNAL | DSB => Some(12),
        CUSTOM | CUSTOM_NOCOPY => Some(16),
        _ => None,
    }
}

/// Byte order announced by the byte-order magic at offset 8 of an SHB.
fn shb_byte_order(h: &[u8]) -> Option<bool> {
    match read_u32(h, 8, true) {
        BYTE_ORDER_MAGIC => Some(true),
        v if v.swap_bytes() == BYTE_ORDER_MAGIC => Some(false),
        _ => None,
    }
}

/// How raw timestamp units become nanoseconds, precomputed per interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TsScale {
    /// Units of 10^-k with k <= 9: multiply.
    Mul(u64),
    /// Units of 10^-k with 9 < k <= 28: divide.
    Div(u64),
    /// Units of 2^-k: multiply by 1e9, shift right by k.
    Pow2(u32),
    /// Units so small that every 64-bit count is below one nanosecond.
    Zero,
}

impl TsScale {
    /// From the `if_tsresol` byte: bit 7 clear, 10^-value; set, 2^-(value & 0x7f).
    fn from_tsresol(v: u8) -> Self {
        let exp = u32::from(v & 0x7f);
        if v & 0x80 != 0 {
            TsScale::Pow2(exp)
        } else if exp <= 9 {
            TsScale::Mul(10u64.pow(9 - exp))
        } else {
            10u64
                .checked_pow(exp - 9)
                .map_or(TsScale::Zero, TsScale::Div)
        }
    }
}

/// One interface of the current section.
#[derive(Debug, Clone, Copy)]
struct Iface {
    linktype: LinkType,
    snaplen: u32,
    scale: TsScale,
    /// `if_tsoffset` in nanoseconds; i128 so that no offset can overflow.
    offset_ns: i128,
}

impl Iface {
    /// Converts a raw 64-bit timestamp to nanoseconds since the epoch, saturating at the i64
    /// range (only reachable with hostile resolutions or offsets).
    #[inline]
    fn timestamp_ns(&self, ts: u64) -> i64 {
        let ns: i128 = match self.scale {
            TsScale::Mul(m) => i128::from(ts) * i128::from(m),
            TsScale::Div(d) => i128::from(ts / d),
            TsScale::Pow2(k) => ((u128::from(ts) * 1_000_000_000) >> k) as i128,
            TsScale::Zero => 0,
        };
        (ns + self.offset_ns).clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
    }
}

/// What a packet block yields, before the block is consumed.
struct PacketInfo {
    interface: u32,
    timestamp_ns: i64,
    data_start: usize,
    caplen: usize,
    original_len: u32,
    linktype: LinkType,
}

/// Block reader for one pcapng file.
#[derive(Debug)]
pub(crate) struct PcapngParser {
    /// Byte order of the current section.
    big_endian: bool,
    ifaces: Vec<Iface>,
    /// Timestamp of the previous packet, given to Simple Packet Blocks.
    last_ts: i64,
    done: bool,
}

impl PcapngParser {
    /// Validates the first SHB at the start of `input` (left unconsumed: the block loop reads
    /// it like any later one).
    pub(crate) fn open(input: &mut Input) -> Result<Self, OpenError> {
        let got = input.ensure(SHB_MIN);
        let h = input.peek();
        if got < 12 {
            return Err(OpenError::TruncatedHeader {
                format: "pcapng",
                needed: SHB_MIN,
                got,
            });
        }
        let be = shb_byte_order(h).ok_or(OpenError::InvalidHeader {
            format: "pcapng",
            reason: "bad byte-order magic",
        })?;
        if got < SHB_MIN {
            return Err(OpenError::TruncatedHeader {
                format: "pcapng",
                needed: SHB_MIN,
                got,
            });
        }
        let len = read_u32(h, 4, be) as usize;
        if len < SHB_MIN || len % 4 != 0 || len > MAX_BLOCK_LEN {
            return Err(OpenError::InvalidHeader {
                format: "pcapng",
                reason: "impossible section header block length",
            });
        }
        let (major, minor) = (read_u16(h, 12, be), read_u16(h, 14, be));
        if major != 1 {
            return Err(OpenError::UnsupportedVersion {
                format: "pcapng",
                major,
                minor,
            });
        }
        Ok(PcapngParser {
            big_endian: be,
            ifaces: Vec::new(),
            last_ts: 0,
            done: false,
        })
    }

    /// Reads blocks until the next packet, skipping or resynchronising over damage.
    pub(crate) fn next<'a>(
        &mut self,
        input: &'a mut Input,
        warnings: &mut Warnings,
    ) -> Option<Frame<'a>> {
        loop {
            if self.done {
                return None;
            }
            let offset = input.position();
            let avail = input.ensure(12);
            if avail < 12 {
                if avail > 0 {
                    warnings.push(offset, || {
                        format!("truncated block header: 12 bytes needed, {avail} remain")
                    });
                }
                // Consume the tail so that progress reaches the input size.
                input.skip(avail);
                self.stop(input, warnings);
                return None;
            }
            let h = input.peek();
            let mut be = self.big_endian;
            let btype = read_u32(h, 0, be);
            if btype == SHB {
                match shb_byte_order(h) {
                    Some(order) => be = order,
                    None => {
                        self.resync(input, warnings, offset, |_| {
                            "section header block with a bad byte-order magic".into()
                        });
                        continue;
                    }
                }
            }
            let len = read_u32(h, 4, be) as usize;
            if len < 12 || len % 4 != 0 || len > MAX_BLOCK_LEN {
                self.resync(input, warnings, offset, |_| {
                    format!(
                        "{} with invalid length {len} (must be a multiple of 4 between 12 \
                         and {MAX_BLOCK_LEN})",
                        block_name(btype)
                    )
                });
                continue;
            }
            let avail = input.ensure(len);
            if avail < len {
                // Either the input was cut inside this block, or the length is corrupt; the
                // scan tells which, and the message says so.
                self.resync(input, warnings, offset, |found_next| {
                    if found_next {
                        format!(
                            "{} length {len} exceeds the {avail} bytes that remain",
                            block_name(btype)
                        )
                    } else {
                        format!(
                            "truncated {}: header says {len} bytes, {avail} remain",
                            block_name(btype)
                        )
                    }
                });
                continue;
            }
            let block = input.peek().get(..len).unwrap_or_default();
            let trailer = read_u32(block, len - 4, be) as usize;
            if trailer != len {
                self.resync(input, warnings, offset, |_| {
                    format!(
                        "{} length mismatch: header says {len}, trailer says {trailer}",
                        block_name(btype)
                    )
                });
                continue;
            }
            match btype {
                SHB => {
                    let (major, minor) = (read_u16(block, 12, be), read_u16(block, 14, be));
                    if len < SHB_MIN || major != 1 {
                        warnings.push(offset, || {
                            format!(
                                "section header block of unsupported version {major}.{minor} \
                                 or length {len}; reading stops"
                            )
                        });
                        self.stop(input, warnings);
                        return None;
                    }
                    self.big_endian = be;
                    self.ifaces.clear();
                    input.skip(len);
                }
                IDB => {
                    self.interface(block, offset, warnings);
                    input.skip(len);
                }
                EPB | PB | SPB => match self.packet(block, btype) {
                    Ok(p) => {
                        self.last_ts = p.timestamp_ns;
                        let block = input.take(len);
                        let data = block
                            .get(p.data_start..p.data_start + p.caplen)
                            .unwrap_or_default();
                        return Some(Frame {
                            timestamp_ns: p.timestamp_ns,
                            linktype: p.linktype,
                            data,
                            original_len: p.original_len,
                            interface: p.interface,
                        });
                    }
                    Err(problem) => {
                        warnings.push(offset, || problem.message(btype, self.ifaces.len()));
                        input.skip(len);
                    }
                },
                // NRB, ISB, DSB, custom, systemd journal and unknown blocks carry nothing the
                // sensor uses.
                _ => input.skip(len),
            }
        }
    }

    /// Parses an IDB (lengths already checked) and appends the interface.
    fn interface(&mut self, block: &[u8], offset: u64, warnings: &mut Warnings) {
        let be = self.big_endian;
        if block.len() < 20 {
            warnings.push(offset, || {
                format!(
                    "interface description block too short ({} bytes); interface not defined",
                    block.len()
                )
            });
            return;
        }
        if self.ifaces.len() >= MAX_INTERFACES {
            warnings.push(offset, || {
                format!("more than {MAX_INTERFACES} interfaces in one section; interface ignored")
            });
            return;
        }
        let mut iface = Iface {
            linktype: LinkType(u32::from(read_u16(block, 8, be))),
            snaplen: read_u32(block, 12, be),
            scale: TsScale::Mul(1000),
            offset_ns: 0,
        };
        let options = block.get(16..block.len() - 4).unwrap_or_default();
        let mut at = 0usize;
        while let Some(head) = options.get(at..at + 4) {
            let code = read_u16(head, 0, be);
            let vlen = usize::from(read_u16(head, 2, be));
            if code == 0 {
                break;
            }
            let Some(value) = options.get(at + 4..at + 4 + vlen) else {
                warnings.push(offset, || {
                    format!("interface description block option {code} overruns the block")
                });
                break;
            };
            match code {
                9 => {
                    if let Some(&v) = value.first() {
                        iface.scale = TsScale::from_tsresol(v);
                    }
                }
                14 => {
                    if let Some(b) = value.first_chunk::<8>() {
                        let secs = if be {
                            i64::from_be_bytes(*b)
                        } else {
                            i64::from_le_bytes(*b)
                        };
                        iface.offset_ns = i128::from(secs) * 1_000_000_000;
                    }
                }
                _ => {}
            }
            at += 4 + ((vlen + 3) & !3);
        }
        self.ifaces.push(iface);
    }

    /// Extracts a packet from an EPB, PB or SPB whose lengths are already checked.
    #[inline]
    fn packet(&self, block: &[u8], btype: u32) -> Result<PacketInfo, Problem> {
        let be = self.big_endian;
        let len = block.len();
        if btype == SPB {
            if len < 16 {
                return Err(Problem::TooShort(len));
            }
            let iface = self.ifaces.first().ok_or(Problem::NoInterface(0))?;
            let original = read_u32(block, 8, be);
            let space = len - 16;
            let mut caplen = (original as usize).min(space);
            if iface.snaplen != 0 {
                caplen = caplen.min(iface.snaplen as usize);
            }
            return Ok(PacketInfo {
                interface: 0,
                timestamp_ns: self.last_ts,
                data_start: 12,
                caplen,
                original_len: original,
                linktype: iface.linktype,
            });
        }
        if len < 32 {
            return Err(Problem::TooShort(len));
        }
        let interface = if btype == PB {
            u32::from(read_u16(block, 8, be))
        } else {
            read_u32(block, 8, be)
        };
        let iface = self
            .ifaces
            .get(interface as usize)
            .ok_or(Problem::NoInterface(interface))?;
        let ts = (u64::from(read_u32(block, 12, be)) << 32) | u64::from(read_u32(block, 16, be));
        let caplen = read_u32(block, 20, be);
        let original = read_u32(block, 24, be);
        let space = len - 32;
        if caplen as usize > space {
            return Err(Problem::Overrun { caplen, space });
        }
        Ok(PacketInfo {
            interface,
            timestamp_ns: iface.timestamp_ns(ts),
            data_start: 28,
            caplen: caplen as usize,
            original_len: original.max(caplen),
            linktype: iface.linktype,
        })
    }

    /// Scans forward from the bad block at `offset` (the input is still positioned there) in
    /// 4-byte steps for the next plausible block, and records one warning. `reason` is told
    /// whether a block was found; when a block cut short by the end of the input is followed by
    /// nothing, its reason already says it all and no "skipped" note is added.
    #[cold]
    fn resync(
        &mut self,
        input: &mut Input,
        warnings: &mut Warnings,
        offset: u64,
        reason: impl FnOnce(bool) -> String,
    ) {
        input.skip(4);
        loop {
            if self.plausible_block(input) {
                let at = input.position();
                let skipped = at - offset;
                warnings.push(offset, || {
                    format!(
                        "{}; skipped {skipped} bytes to the next block at offset {at}",
                        reason(true)
                    )
                });
                return;
            }
            let avail = input.ensure(12);
            if avail < 12 {
                input.skip(avail);
                break;
            }
            input.skip(4);
        }
        let skipped = input.position() - offset;
        warnings.push(offset, || {
            let reason = reason(false);
            if reason.starts_with("truncated") {
                reason
            } else {
                format!("{reason}; no valid block follows (skipped {skipped} bytes to the end)")
            }
        });
        self.stop(input, warnings);
    }

    /// Whether the input's cursor sits on a plausible block: known type, sane length for that
    /// type, whole block present and trailing length equal.
    fn plausible_block(&self, input: &mut Input) -> bool {
        if input.ensure(12) < 12 {
            return false;
        }
        let h = input.peek();
        let mut be = self.big_endian;
        let btype = read_u32(h, 0, be);
        let Some(min) = min_len(btype) else {
            return false;
        };
        if btype == SHB {
            match shb_byte_order(h) {
                Some(order) => be = order,
                None => return false,
            }
        }
        let len = read_u32(h, 4, be) as usize;
        if len < min || len % 4 != 0 || len > MAX_BLOCK_LEN {
            return false;
        }
        if input.ensure(len) < len {
            return false;
        }
        read_u32(input.peek(), len - 4, be) as usize == len
    }

    #[cold]
    fn stop(&mut self, input: &mut Input, warnings: &mut Warnings) {
        self.done = true;
        if let Some(e) = input.take_error() {
            warnings.push(input.position(), || format!("read error: {e}"));
        }
    }
}

/// Why a packet block with consistent lengths was skipped.
#[derive(Debug)]
enum Problem {
    TooShort(usize),
    NoInterface(u32),
    Overrun { caplen: u32, space: usize },
}

impl Problem {
    fn message(&self, btype: u32, defined: usize) -> String {
        let name = block_name(btype);
        match self {
            Problem::TooShort(len) => format!("{name} too short ({len} bytes); skipped"),
            Problem::NoInterface(i) => format!(
                "{name} refers to undefined interface {i} ({defined} defined in this section); \
                 skipped"
            ),
            Problem::Overrun { caplen, space } => format!(
                "{name} captured length {caplen} exceeds the {space} bytes its block holds; \
                 skipped"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iface(tsresol: u8, offset_s: i64) -> Iface {
        Iface {
            linktype: LinkType::ETHERNET,
            snaplen: 0,
            scale: TsScale::from_tsresol(tsresol),
            offset_ns: i128::from(offset_s) * 1_000_000_000,
        }
    }

    #[test]
    fn timestamp_resolutions() {
        assert_eq!(iface(6, 0).timestamp_ns(1_500_000), 1_500_000_000);
        assert_eq!(iface(9, 0).timestamp_ns(123), 123);
        assert_eq!(iface(0, 0).timestamp_ns(2), 2_000_000_000);
        assert_eq!(iface(12, 0).timestamp_ns(123_456), 123);
        assert_eq!(
            iface(0x80 | 10, 0).timestamp_ns(1024 * 3 + 512),
            3_500_000_000
        );
        assert_eq!(iface(0x80, 0).timestamp_ns(7), 7_000_000_000);
        assert_eq!(iface(6, 100).timestamp_ns(1), 100_000_001_000);
        assert_eq!(iface(6, -1).timestamp_ns(0), -1_000_000_000);
        // Hostile values saturate instead of overflowing.
        assert_eq!(iface(0, 0).timestamp_ns(u64::MAX), i64::MAX);
        assert_eq!(iface(6, i64::MAX).timestamp_ns(u64::MAX), i64::MAX);
        assert_eq!(iface(6, i64::MIN).timestamp_ns(0), i64::MIN);
        assert_eq!(iface(127, 0).timestamp_ns(u64::MAX), 0);
        assert_eq!(iface(0xff, 0).timestamp_ns(u64::MAX), 0);
        assert_eq!(iface(28, 0).timestamp_ns(u64::MAX), 1);
    }

    #[test]
    fn known_block_lengths() {
        assert_eq!(min_len(EPB), Some(32));
        assert_eq!(min_len(0x1234), None);
        assert_eq!(block_name(0x1234), "block of type 0x00001234");
    }
}
