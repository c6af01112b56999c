//! Minimal pcap and pcapng writers, for tests, the demo-capture generator and the benchmark's
//! traffic generator (and, later, the per-alert packet ring).
//!
//! They write exactly what the readers in this module read back; they do not try to cover every
//! pcapng feature (no name resolution, statistics or per-packet options beyond what
//! [`PcapngWriter::write_block`] lets a caller hand-craft).

use std::io::{self, Write};

use ironward_wire::LinkType;

use super::pcapng::{EPB, IDB, SHB, SPB};

/// Why a write failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// Occurs when the underlying writer fails.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// Occurs when a timestamp cannot be represented: before the epoch (pcap, or pcapng before
    /// the interface's `if_tsoffset`), or beyond the format's range.
    #[error("timestamp {timestamp_ns} ns cannot be represented in this file")]
    TimestampOutOfRange {
        /// The rejected timestamp, nanoseconds since the epoch.
        timestamp_ns: i64,
    },
    /// Occurs when a frame is longer than a record or block can describe.
    #[error("frame of {len} bytes is too long to write")]
    FrameTooLong {
        /// Length of the rejected frame.
        len: usize,
    },
    /// Occurs when a packet names an interface that was not added to the current section.
    #[error("interface {interface} is not defined in the current section")]
    UnknownInterface {
        /// The interface index asked for.
        interface: u32,
    },
    /// Occurs when a block body or option is longer than the format allows.
    #[error("block or option too long ({len} bytes)")]
    BlockTooLong {
        /// Length of the rejected body or option value.
        len: usize,
    },
}

/// Settings of a pcap file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PcapConfig {
    /// Link type of every frame.
    pub linktype: LinkType,
    /// Snapshot length: longer frames are cut to it (original length kept).
    pub snaplen: u32,
    /// Nanosecond (`a1b23c4d`) instead of microsecond (`a1b2c3d4`) timestamps.
    pub nanosecond: bool,
    /// Write big-endian instead of little-endian.
    pub big_endian: bool,
}

impl Default for PcapConfig {
    /// Ethernet, snaplen 262144, microseconds, little-endian: what tcpdump writes on x86.
    fn default() -> Self {
        PcapConfig {
            linktype: LinkType::ETHERNET,
            snaplen: 262_144,
            nanosecond: false,
            big_endian: false,
        }
    }
}

/// Writes a classic pcap file.
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    out: W,
    config: PcapConfig,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the file header and returns the writer.
    pub fn new(mut out: W, config: PcapConfig) -> Result<Self, WriteError> {
        let magic: u32 = if config.nanosecond {
            0xa1b2_3c4d
        } else {
            0xa1b2_c3d4
        };
        let mut h = Vec::with_capacity(24);
        let e = Endian(config.big_endian);
        e.u32(&mut h, magic);
        e.u16(&mut h, 2);
        e.u16(&mut h, 4);
        e.u32(&mut h, 0);
        e.u32(&mut h, 0);
        e.u32(&mut h, config.snaplen);
        e.u32(&mut h, config.linktype.0);
        out.write_all(&h)?;
        Ok(PcapWriter { out, config })
    }

    /// Writes one record. `data` is cut to the snaplen; `original_len` is raised to the captured
    /// length if smaller.
    pub fn write_frame(
        &mut self,
        timestamp_ns: i64,
        data: &[u8],
        original_len: u32,
    ) -> Result<(), WriteError> {
        let out_of_range = WriteError::TimestampOutOfRange { timestamp_ns };
        if timestamp_ns < 0 {
            return Err(out_of_range);
        }
        let secs = u32::try_from(timestamp_ns / 1_000_000_000).map_err(|_| out_of_range)?;
        let sub = (timestamp_ns % 1_000_000_000) as u32;
        let frac = if self.config.nanosecond {
            sub
        } else {
            sub / 1000
        };
        let caplen = data.len().min(self.config.snaplen as usize);
        let caplen32 =
            u32::try_from(caplen).map_err(|_| WriteError::FrameTooLong { len: caplen })?;
        let e = Endian(self.config.big_endian);
        let mut h = [0u8; 16];
        for (dst, x) in
            h.chunks_exact_mut(4)
                .zip([secs, frac, caplen32, original_len.max(caplen32)])
        {
            dst.copy_from_slice(&e.bytes32(x));
        }
        self.out.write_all(&h)?;
        self.out.write_all(data.get(..caplen).unwrap_or(data))?;
        Ok(())
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> Result<(), WriteError> {
        self.out.flush()?;
        Ok(())
    }

    /// Flushes and returns the underlying writer.
    pub fn into_inner(mut self) -> Result<W, WriteError> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Settings of one pcapng interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InterfaceConfig {
    /// Link type of the interface's packets.
    pub linktype: LinkType,
    /// Snapshot length (0: none). Enhanced packets are cut to it.
    pub snaplen: u32,
    /// Raw `if_tsresol` byte: bit 7 clear, units of 10^-n s; set, units of 2^-(n & 0x7f) s.
    /// Written as an option only when it is not the default 6 (microseconds).
    pub tsresol: u8,
    /// `if_tsoffset` in seconds, added by readers to every timestamp. Written when non-zero.
    pub tsoffset_secs: i64,
}

impl Default for InterfaceConfig {
    /// Ethernet, no snaplen, microseconds, no offset.
    fn default() -> Self {
        InterfaceConfig {
            linktype: LinkType::ETHERNET,
            snaplen: 0,
            tsresol: 6,
            tsoffset_secs: 0,
        }
    }
}

/// Writes a pcapng file: sections, interfaces, enhanced and simple packet blocks, and raw
/// blocks for tests.
#[derive(Debug)]
pub struct PcapngWriter<W: Write> {
    out: W,
    big_endian: bool,
    interfaces: Vec<InterfaceConfig>,
    /// Reused block buffer (one write per block).
    buf: Vec<u8>,
}

impl<W: Write> PcapngWriter<W> {
    /// Writes a first Section Header Block in the chosen byte order.
    pub fn new(out: W, big_endian: bool) -> Result<Self, WriteError> {
        let mut w = PcapngWriter {
            out,
            big_endian,
            interfaces: Vec::new(),
            buf: Vec::new(),
        };
        w.new_section(big_endian)?;
        Ok(w)
    }

    /// Starts a new section (possibly in another byte order); its interface list starts empty.
    pub fn new_section(&mut self, big_endian: bool) -> Result<(), WriteError> {
        self.big_endian = big_endian;
        self.interfaces.clear();
        let e = Endian(big_endian);
        let mut body = Vec::with_capacity(16);
        e.u32(&mut body, 0x1a2b_3c4d);
        e.u16(&mut body, 1);
        e.u16(&mut body, 0);
        body.extend_from_slice(&(-1i64).to_ne_bytes()); // section length unknown (all ones)
        self.write_block(SHB, &body)
    }

    /// Adds an interface to the current section and returns its index.
    pub fn add_interface(&mut self, config: InterfaceConfig) -> Result<u32, WriteError> {
        let e = Endian(self.big_endian);
        let mut body = Vec::with_capacity(32);
        let link16 = u16::try_from(config.linktype.0).map_err(|_| WriteError::BlockTooLong {
            len: config.linktype.0 as usize,
        })?;
        e.u16(&mut body, link16);
        e.u16(&mut body, 0);
        e.u32(&mut body, config.snaplen);
        if config.tsresol != 6 {
            e.u16(&mut body, 9);
            e.u16(&mut body, 1);
            body.extend_from_slice(&[config.tsresol, 0, 0, 0]);
        }
        if config.tsoffset_secs != 0 {
            e.u16(&mut body, 14);
            e.u16(&mut body, 8);
            let b = if self.big_endian {
                config.tsoffset_secs.to_be_bytes()
            } else {
                config.tsoffset_secs.to_le_bytes()
            };
            body.extend_from_slice(&b);
        }
        if body.len() > 8 {
            e.u32(&mut body, 0); // opt_endofopt
        }
        self.write_block(IDB, &body)?;
        let index = u32::try_from(self.interfaces.len()).map_err(|_| WriteError::BlockTooLong {
            len: self.interfaces.len(),
        })?;
        self.interfaces.push(config);
        Ok(index)
    }

    /// Writes an Enhanced Packet Block. The timestamp is converted to the interface's
    /// resolution (truncating) after removing its offset; `data` is cut to its snaplen.
    pub fn write_epb(
        &mut self,
        interface: u32,
        timestamp_ns: i64,
        data: &[u8],
        original_len: u32,
    ) -> Result<(), WriteError> {
        let config = *self
            .interfaces
            .get(interface as usize)
            .ok_or(WriteError::UnknownInterface { interface })?;
        let units = to_units(timestamp_ns, config)?;
        let caplen = if config.snaplen == 0 {
            data.len()
        } else {
            data.len().min(config.snaplen as usize)
        };
        let caplen32 =
            u32::try_from(caplen).map_err(|_| WriteError::FrameTooLong { len: caplen })?;
        let data = data.get(..caplen).unwrap_or(data);
        let head = [
            interface,
            (units >> 32) as u32,
            units as u32,
            caplen32,
            original_len.max(caplen32),
        ];
        self.write_block_parts(EPB, &head, data)
    }

    /// Writes a Simple Packet Block (interface 0, no timestamp). `data` is cut to interface 0's
    /// snaplen; readers take the captured length as min(original, snaplen, block space).
    pub fn write_spb(&mut self, data: &[u8], original_len: u32) -> Result<(), WriteError> {
        let config = *self
            .interfaces
            .first()
            .ok_or(WriteError::UnknownInterface { interface: 0 })?;
        let caplen = if config.snaplen == 0 {
            data.len()
        } else {
            data.len().min(config.snaplen as usize)
        };
        let caplen32 =
            u32::try_from(caplen).map_err(|_| WriteError::FrameTooLong { len: caplen })?;
        let head = [original_len.max(caplen32)];
        self.write_block_parts(SPB, &head, data.get(..caplen).unwrap_or(data))
    }

    /// Writes a block of any type around `body` (padded to 4 bytes), in the section's byte
    /// order. For tests that need custom, name-resolution, statistics or unknown blocks.
    pub fn write_block(&mut self, block_type: u32, body: &[u8]) -> Result<(), WriteError> {
        self.write_block_parts(block_type, &[], body)
    }

    fn write_block_parts(
        &mut self,
        block_type: u32,
        head: &[u32],
        data: &[u8],
    ) -> Result<(), WriteError> {
        let body_len = 4 * head.len() + data.len();
        let padded = (body_len + 3) & !3;
        let total = u32::try_from(padded + 12)
            .ok()
            .filter(|&t| t as usize <= super::pcapng::MAX_BLOCK_LEN)
            .ok_or(WriteError::BlockTooLong { len: body_len })?;
        let e = Endian(self.big_endian);
        self.buf.clear();
        e.u32(&mut self.buf, block_type);
        e.u32(&mut self.buf, total);
        for &word in head {
            e.u32(&mut self.buf, word);
        }
        self.buf.extend_from_slice(data);
        self.buf.resize(8 + padded, 0);
        e.u32(&mut self.buf, total);
        self.out.write_all(&self.buf)?;
        Ok(())
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> Result<(), WriteError> {
        self.out.flush()?;
        Ok(())
    }

    /// Flushes and returns the underlying writer.
    pub fn into_inner(mut self) -> Result<W, WriteError> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Nanoseconds since the epoch to raw timestamp units of `config`.
fn to_units(timestamp_ns: i64, config: InterfaceConfig) -> Result<u64, WriteError> {
    let err = WriteError::TimestampOutOfRange { timestamp_ns };
    let rel = i128::from(timestamp_ns) - i128::from(config.tsoffset_secs) * 1_000_000_000;
    let rel = u128::try_from(rel).map_err(|_| WriteError::TimestampOutOfRange { timestamp_ns })?;
    let v = config.tsresol & 0x7f;
    let units = if config.tsresol & 0x80 != 0 {
        rel.checked_shl(u32::from(v)).map(|x| x / 1_000_000_000)
    } else if v <= 9 {
        Some(rel / 10u128.pow(9 - u32::from(v)))
    } else {
        10u128
            .checked_pow(u32::from(v) - 9)
            .and_then(|m| rel.checked_mul(m))
    };
    units.and_then(|u| u64::try_from(u).ok()).ok_or(err)
}

/// Byte-order helper for building headers.
#[derive(Clone, Copy)]
struct Endian(bool);

impl Endian {
    fn u16(self, v: &mut Vec<u8>, x: u16) {
        v.extend_from_slice(&if self.0 {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        });
    }
    fn u32(self, v: &mut Vec<u8>, x: u32) {
        v.extend_from_slice(&self.bytes32(x));
    }
    fn bytes32(self, x: u32) -> [u8; 4] {
        if self.0 {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcap_header_bytes() {
        let w = PcapWriter::new(
            Vec::new(),
            PcapConfig {
                big_endian: true,
                nanosecond: true,
                ..PcapConfig::default()
            },
        )
        .expect("header");
        let bytes = w.into_inner().expect("flush");
        assert_eq!(&bytes[..8], &[0xa1, 0xb2, 0x3c, 0x4d, 0, 2, 0, 4]);
        assert_eq!(bytes.len(), 24);
    }

    #[test]
    fn pcap_rejects_negative_time() {
        let mut w = PcapWriter::new(Vec::new(), PcapConfig::default()).expect("header");
        assert!(matches!(
            w.write_frame(-1, b"x", 1),
            Err(WriteError::TimestampOutOfRange { .. })
        ));
    }

    #[test]
    fn units_round_trip() {
        let c = |tsresol, tsoffset_secs| InterfaceConfig {
            tsresol,
            tsoffset_secs,
            ..InterfaceConfig::default()
        };
        assert_eq!(to_units(1_500_000_000, c(6, 0)).ok(), Some(1_500_000));
        assert_eq!(to_units(1_500_000_000, c(0x80 | 10, 0)).ok(), Some(1536));
        assert_eq!(to_units(1_500_000_000, c(9, 1)).ok(), Some(500_000_000));
        assert_eq!(to_units(1_000, c(12, 0)).ok(), Some(1_000_000));
        assert!(to_units(0, c(6, 1)).is_err());
    }

    #[test]
    fn spb_needs_interface() {
        let mut w = PcapngWriter::new(Vec::new(), false).expect("shb");
        assert!(matches!(
            w.write_spb(b"abc", 3),
            Err(WriteError::UnknownInterface { interface: 0 })
        ));
    }
}
