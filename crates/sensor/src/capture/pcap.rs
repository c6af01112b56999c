//! Classic libpcap files: a 24-byte file header, then records of a 16-byte header and the
//! captured bytes.
//!
//! Supported: both byte orders, microsecond (`a1b2c3d4`) and nanosecond (`a1b23c4d`) magic
//! numbers, Alexey Kuznetzov's "modified" format (`a1b2cd34`, 24-byte record headers), the
//! FCS-length bits in the link-type field, and the caplen/len swap of pre-2.3 files.
//!
//! pcap has no synchronisation marker: once a record header is implausible nothing after it can
//! be located reliably, so reading stops with a warning rather than guessing (unlike pcapng).
//!
//! Record bound: a record's captured length must not exceed
//! `max(262144, min(snaplen, 16 MiB))`. 262144 is libpcap's and Wireshark's maximum snapshot
//! length for ordinary link types (it covers jumbo frames and LRO/TSO super-frames); a header
//! announcing a larger snaplen (D-Bus, USB captures) raises the bound up to 16 MiB, the cap
//! shared with pcapng blocks that keeps the streaming buffer bounded.

use ironward_wire::LinkType;

use super::error::{OpenError, Warnings};
use super::input::Input;
use super::{read_u16, read_u32, CaptureFormat, Frame};

/// Length of the pcap file header.
pub(crate) const FILE_HEADER_LEN: usize = 24;

/// libpcap's `MAXIMUM_SNAPLEN`: the record bound for files whose snaplen is no larger.
pub const DEFAULT_MAX_CAPLEN: u32 = 262_144;

/// Absolute record bound, whatever the header's snaplen says.
pub const MAX_CAPLEN: u32 = 16 * 1024 * 1024;

/// What the magic number says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Magic {
    pub(crate) big_endian: bool,
    pub(crate) nanosecond: bool,
    /// Kuznetzov's patched format with 24-byte record headers.
    pub(crate) modified: bool,
}

/// Recognises a pcap magic number from the first four file bytes.
pub(crate) fn magic(first: [u8; 4]) -> Option<Magic> {
    let (big_endian, value) = match u32::from_be_bytes(first) {
        v @ (0xa1b2_c3d4 | 0xa1b2_3c4d | 0xa1b2_cd34) => (true, v),
        _ => match u32::from_le_bytes(first) {
            v @ (0xa1b2_c3d4 | 0xa1b2_3c4d | 0xa1b2_cd34) => (false, v),
            _ => return None,
        },
    };
    Some(Magic {
        big_endian,
        nanosecond: value == 0xa1b2_3c4d,
        modified: value == 0xa1b2_cd34,
    })
}

/// How the captured and original lengths are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LenOrder {
    /// `caplen, len` (version 2.4).
    Normal,
    /// `len, caplen` (versions before 2.3).
    Swapped,
    /// Version 2.3 files exist in both orders; libpcap swaps when caplen > len.
    Ambiguous,
}

/// Record reader for one pcap file.
#[derive(Debug)]
pub(crate) struct PcapParser {
    big_endian: bool,
    nanosecond: bool,
    record_header: usize,
    linktype: LinkType,
    max_caplen: u32,
    len_order: LenOrder,
    done: bool,
}

impl PcapParser {
    /// Parses the file header at the start of `input` (not consumed on error).
    pub(crate) fn open(input: &mut Input) -> Result<(Self, CaptureFormat), OpenError> {
        let got = input.ensure(FILE_HEADER_LEN);
        let h = input.peek();
        let first: [u8; 4] = h
            .first_chunk::<4>()
            .copied()
            .ok_or(OpenError::InvalidHeader {
                format: "pcap",
                reason: "no magic number",
            })?;
        let m = magic(first).ok_or(OpenError::InvalidHeader {
            format: "pcap",
            reason: "bad magic number",
        })?;
        if got < FILE_HEADER_LEN {
            return Err(OpenError::TruncatedHeader {
                format: "pcap",
                needed: FILE_HEADER_LEN,
                got,
            });
        }
        let be = m.big_endian;
        let major = read_u16(h, 4, be);
        let minor = read_u16(h, 6, be);
        if major != 2 {
            return Err(OpenError::UnsupportedVersion {
                format: "pcap",
                major,
                minor,
            });
        }
        let snaplen = read_u32(h, 16, be);
        let link_field = read_u32(h, 20, be);
        // Link-type field layout (libpcap LT_* macros, draft-ietf-opsawg-pcap): the low 16 bits
        // are the link type; bit 26 says the top 4 bits hold the FCS length in 16-bit words;
        // the rest is reserved and must be ignored.
        let linktype = LinkType(link_field & 0xffff);
        let fcs_len = (link_field & 0x0400_0000 != 0).then(|| ((link_field >> 28) * 2) as u8);
        let len_order = match minor {
            0..=2 => LenOrder::Swapped,
            3 => LenOrder::Ambiguous,
            _ => LenOrder::Normal,
        };
        let max_caplen = snaplen.clamp(DEFAULT_MAX_CAPLEN, MAX_CAPLEN);
        input.skip(FILE_HEADER_LEN);
        let parser = PcapParser {
            big_endian: be,
            nanosecond: m.nanosecond,
            record_header: if m.modified { 24 } else { 16 },
            linktype,
            max_caplen,
            len_order,
            done: false,
        };
        let format = CaptureFormat::Pcap {
            nanosecond: m.nanosecond,
            big_endian: be,
            version: (major, minor),
            snaplen,
            linktype,
            fcs_len,
            modified: m.modified,
        };
        Ok((parser, format))
    }

    /// Reads the next record. Stops for good at the end of the input, at a record cut short or
    /// at an implausible record length.
    #[inline]
    pub(crate) fn next<'a>(
        &mut self,
        input: &'a mut Input,
        warnings: &mut Warnings,
    ) -> Option<Frame<'a>> {
        if self.done {
            return None;
        }
        // Fast path: the whole record is already there (always, in a mapped file, but at its
        // end). One look at the available bytes replaces the two `ensure`s and the `peek` of
        // the general path below, which handles every other case (and says why it stops).
        let h = input.peek();
        if let Some((timestamp_ns, caplen, len)) = self.record_header_of(h) {
            let total = self.record_header + caplen as usize;
            if caplen <= self.max_caplen && h.len() >= total {
                let record = input.take(total);
                return Some(Frame {
                    timestamp_ns,
                    linktype: self.linktype,
                    data: record.get(self.record_header..).unwrap_or_default(),
                    original_len: len.max(caplen),
                    interface: 0,
                });
            }
        }
        self.next_slow(input, warnings)
    }

    /// Timestamp, captured length and original length from a record header at the start of
    /// `h`, if `h` holds one.
    #[inline]
    fn record_header_of(&self, h: &[u8]) -> Option<(i64, u32, u32)> {
        if h.len() < self.record_header {
            return None;
        }
        let be = self.big_endian;
        let ts_sec = read_u32(h, 0, be);
        let ts_frac = read_u32(h, 4, be);
        let (mut caplen, mut len) = (read_u32(h, 8, be), read_u32(h, 12, be));
        match self.len_order {
            LenOrder::Normal => {}
            LenOrder::Swapped => std::mem::swap(&mut caplen, &mut len),
            LenOrder::Ambiguous if caplen > len => std::mem::swap(&mut caplen, &mut len),
            LenOrder::Ambiguous => {}
        }
        let frac_ns = if self.nanosecond {
            i64::from(ts_frac)
        } else {
            i64::from(ts_frac) * 1000
        };
        // u32 seconds * 1e9 + u32 * 1000 < 2^63: cannot overflow.
        Some((i64::from(ts_sec) * 1_000_000_000 + frac_ns, caplen, len))
    }

    /// [`Self::next`] when the record is not known to be complete in the available bytes.
    #[cold]
    fn next_slow<'a>(
        &mut self,
        input: &'a mut Input,
        warnings: &mut Warnings,
    ) -> Option<Frame<'a>> {
        let hl = self.record_header;
        let offset = input.position();
        let avail = input.ensure(hl);
        if avail < hl {
            if avail > 0 {
                warnings.push(offset, || {
                    format!("truncated packet record header: {hl} bytes needed, {avail} remain")
                });
            }
            // Consume the tail so that progress reaches the input size.
            input.skip(avail);
            self.stop(input, warnings);
            return None;
        }
        // `ensure` made the whole header available.
        let (ts_ns, caplen, len) = self.record_header_of(input.peek())?;
        if caplen > self.max_caplen {
            let max = self.max_caplen;
            warnings.push(offset, || {
                format!(
                    "packet record length {caplen} exceeds the {max}-byte bound; \
                     pcap has no resynchronisation marker, reading stops"
                )
            });
            self.stop(input, warnings);
            return None;
        }
        let total = hl + caplen as usize;
        let avail = input.ensure(total);
        if avail < total {
            let remain = avail - hl;
            warnings.push(offset, || {
                format!("truncated packet record: header says {caplen} bytes, {remain} remain")
            });
            input.skip(avail);
            self.stop(input, warnings);
            return None;
        }
        let linktype = self.linktype;
        let record = input.take(total);
        Some(Frame {
            timestamp_ns: ts_ns,
            linktype,
            data: record.get(hl..).unwrap_or_default(),
            // Keep the documented invariant `data.len() <= original_len` even for files that
            // store a smaller original length.
            original_len: len.max(caplen),
            interface: 0,
        })
    }

    #[cold]
    fn stop(&mut self, input: &mut Input, warnings: &mut Warnings) {
        self.done = true;
        if let Some(e) = input.take_error() {
            warnings.push(input.position(), || format!("read error: {e}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::input::Bytes;

    fn header(be: bool, magic_value: u32, minor: u16, snaplen: u32, link: u32) -> Vec<u8> {
        let mut v = Vec::new();
        let p32 = |v: &mut Vec<u8>, x: u32| {
            v.extend_from_slice(&if be { x.to_be_bytes() } else { x.to_le_bytes() })
        };
        p32(&mut v, magic_value);
        let p16 = |v: &mut Vec<u8>, x: u16| {
            v.extend_from_slice(&if be { x.to_be_bytes() } else { x.to_le_bytes() })
        };
        p16(&mut v, 2);
        p16(&mut v, minor);
        p32(&mut v, 0);
        p32(&mut v, 0);
        p32(&mut v, snaplen);
        p32(&mut v, link);
        v
    }

    fn record(be: bool, sec: u32, frac: u32, caplen: u32, len: u32, data: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        for x in [sec, frac, caplen, len] {
            v.extend_from_slice(&if be { x.to_be_bytes() } else { x.to_le_bytes() });
        }
        v.extend_from_slice(data);
        v
    }

    type Frames = Vec<(i64, Vec<u8>, u32)>;

    fn read_all(bytes: Vec<u8>) -> (Frames, Vec<String>, CaptureFormat) {
        let mut input = Input::from_bytes(Bytes::Owned(bytes));
        let (mut p, fmt) = PcapParser::open(&mut input).expect("open");
        let mut w = Warnings::default();
        let mut out = Vec::new();
        while let Some(f) = p.next(&mut input, &mut w) {
            out.push((f.timestamp_ns, f.data.to_vec(), f.original_len));
        }
        (
            out,
            w.take().into_iter().map(|w| w.to_string()).collect(),
            fmt,
        )
    }

    #[test]
    fn magic_numbers() {
        assert_eq!(
            magic([0xd4, 0xc3, 0xb2, 0xa1]),
            Some(Magic {
                big_endian: false,
                nanosecond: false,
                modified: false
            })
        );
        assert_eq!(
            magic([0xa1, 0xb2, 0x3c, 0x4d]),
            Some(Magic {
                big_endian: true,
                nanosecond: true,
                modified: false
            })
        );
        assert!(magic([0x34, 0xcd, 0xb2, 0xa1]).is_some_and(|m| m.modified));
        assert_eq!(magic(*b"<!DO"), None);
    }

    #[test]
    fn fcs_bits_masked() {
        let mut f = header(false, 0xa1b2c3d4, 4, 65535, 0x2400_0001);
        f.extend(record(false, 1, 2, 3, 3, b"abc"));
        let (frames, warnings, fmt) = read_all(f);
        assert!(warnings.is_empty());
        assert_eq!(frames, vec![(1_000_002_000, b"abc".to_vec(), 3)]);
        match fmt {
            CaptureFormat::Pcap {
                linktype, fcs_len, ..
            } => {
                assert_eq!(linktype, LinkType::ETHERNET);
                assert_eq!(fcs_len, Some(4));
            }
            CaptureFormat::Pcapng => panic!("wrong format"),
        }
    }

    #[test]
    fn old_versions_swap_lengths() {
        let mut f = header(true, 0xa1b2c3d4, 2, 65535, 1);
        // Version 2.2 stores len first.
        f.extend(record(true, 1, 0, 60, 2, b"ab"));
        let (frames, warnings, _) = read_all(f);
        assert!(warnings.is_empty());
        assert_eq!(frames, vec![(1_000_000_000, b"ab".to_vec(), 60)]);
    }

    #[test]
    fn absurd_caplen_stops() {
        let mut f = header(false, 0xa1b2c3d4, 4, 65535, 1);
        f.extend(record(false, 1, 0, 2, 2, b"ab"));
        f.extend(record(false, 1, 0, 300_000, 300_000, b"xx"));
        let (frames, warnings, _) = read_all(f);
        assert_eq!(frames.len(), 1);
        assert_eq!(
            warnings,
            vec![
                "offset 42: packet record length 300000 exceeds the 262144-byte bound; \
                 pcap has no resynchronisation marker, reading stops"
            ]
        );
    }

    #[test]
    fn truncated_record_header() {
        let mut f = header(false, 0xa1b2c3d4, 4, 65535, 1);
        f.extend(record(false, 1, 0, 2, 2, b"ab"));
        f.extend([1, 2, 3]);
        let (frames, warnings, _) = read_all(f);
        assert_eq!(frames.len(), 1);
        assert_eq!(
            warnings,
            vec!["offset 42: truncated packet record header: 16 bytes needed, 3 remain"]
        );
    }

    #[test]
    fn truncated_file_header() {
        let f = header(false, 0xa1b2c3d4, 4, 65535, 1);
        let mut input = Input::from_bytes(Bytes::Owned(f[..10].to_vec()));
        let e = PcapParser::open(&mut input).expect_err("truncated");
        assert_eq!(
            e.to_string(),
            "truncated pcap file header: 24 bytes needed, 10 present"
        );
    }
}
