//! Capture sources: pcap and pcapng files (memory-mapped, gzip, standard input) and live
//! AF_PACKET capture on Linux.
//!
//! CONTRACT (fixed; the engine is written against it — extend, do not rename):
//!
//! ```ignore
//! let mut reader = capture::open_file(Path::new("x.pcapng"))?;   // or open_file("-") for stdin
//! while let Some(frame) = reader.next_frame() {                   // lending: frame borrows reader
//!     frame.timestamp_ns; frame.linktype; frame.data; frame.original_len; frame.interface;
//! }
//! for w in reader.take_warnings() { eprintln!("warning: {w}"); }  // e.g. "offset 1234: ..."
//! ```
//!
//! # Inputs
//!
//! - A regular file is memory-mapped and every [`Frame::data`] is a slice of the map: no copy.
//! - Standard input (`-`), pipes, files that cannot be mapped, and gzip-compressed input
//!   (recognised by its `1f 8b` magic, never by the file name; a gzipped pcap or pcapng both
//!   work, concatenated gzip members too) are read through one reusable buffer that starts at
//!   256 KiB and never grows beyond 32 MiB (twice the largest record or block).
//! - [`open_bytes`] reads bytes already in memory the same way as a map (tests, fuzzing).
//!
//! # Guarantees
//!
//! Every byte is untrusted. No input makes the readers panic, allocate without bound, or loop
//! without consuming input. Every frame satisfies `data.len() <= original_len as usize`.
//! Damage never discards the frames before it: it becomes a [`CaptureWarning`] naming the byte
//! offset of the record or block concerned. pcap has no resynchronisation marker, so a pcap
//! reader stops at the first bad record; a pcapng reader skips or resynchronises (see
//! [`pcapng`]).
//!
//! # Bounds
//!
//! - pcap record: at most `max(262144, min(snaplen, 16 MiB))` captured bytes
//!   ([`pcap::DEFAULT_MAX_CAPLEN`], [`pcap::MAX_CAPLEN`]).
//! - pcapng block: at most 16 MiB ([`pcapng::MAX_BLOCK_LEN`]); at most 65536 interfaces per
//!   section ([`pcapng::MAX_INTERFACES`]).
//! - Pending warnings: 1000 between two [`CaptureReader::take_warnings`] calls; more are counted
//!   and summarised in one last warning.
//!
//! # Hot path
//!
//! [`CaptureReader::next_frame`] does not allocate, format, or lock; it reads a header, checks
//! lengths and returns a slice. Only warnings (rare by construction) allocate.

mod error;
mod input;
pub mod pcap;
pub mod pcapng;
pub mod writer;

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use ironward_wire::LinkType;

pub use error::{CaptureWarning, OpenError};
pub use writer::{InterfaceConfig, PcapConfig, PcapWriter, PcapngWriter, WriteError};

use error::Warnings;
use input::{Bytes, Input};
use pcap::PcapParser;
use pcapng::PcapngParser;

/// One captured frame, borrowed from the reader's buffer until the next call.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// Capture time, nanoseconds since the Unix epoch (pcapng `if_tsoffset` applied).
    pub timestamp_ns: i64,
    /// Link type of the interface the frame was captured on.
    pub linktype: LinkType,
    /// Captured bytes (may be shorter than `original_len` when the snap length cut it).
    pub data: &'a [u8],
    /// Length of the frame on the wire.
    pub original_len: u32,
    /// Interface index within the file (pcapng), 0 for pcap and live capture.
    pub interface: u32,
}

/// The file format being read, from the file header.
///
/// Matching on the two variants is exhaustive; the `Pcap` fields may grow, so match them with
/// `..`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureFormat {
    /// Classic libpcap format.
    #[non_exhaustive]
    Pcap {
        /// Nanosecond timestamps (magic `a1b23c4d`) rather than microseconds.
        nanosecond: bool,
        /// The file was written big-endian.
        big_endian: bool,
        /// Major and minor version from the header (normally 2.4).
        version: (u16, u16),
        /// Snapshot length from the header.
        snaplen: u32,
        /// Link type (the low 16 bits of the header's link-type field).
        linktype: LinkType,
        /// Bytes of frame check sequence at the end of every frame, when the header says.
        fcs_len: Option<u8>,
        /// Kuznetzov's modified format (`a1b2cd34`, 24-byte record headers).
        modified: bool,
    },
    /// pcapng (byte order and interfaces may change per section).
    Pcapng,
}

/// The block or record parser of the open format.
#[derive(Debug)]
enum Parser {
    Pcap(PcapParser),
    Pcapng(PcapngParser),
}

/// Reads frames from a pcap or pcapng capture; see the [module docs](self).
pub struct CaptureReader {
    input: Input,
    parser: Parser,
    warnings: Warnings,
    format: CaptureFormat,
    input_size: Option<u64>,
    compressed: bool,
    name: String,
}

impl fmt::Debug for CaptureReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaptureReader")
            .field("name", &self.name)
            .field("format", &self.format)
            .field("compressed", &self.compressed)
            .field("position", &self.position())
            .field("input_size", &self.input_size)
            .finish_non_exhaustive()
    }
}

impl CaptureReader {
    /// The next frame, or `None` at the end of the capture (or after damage that ends it; see
    /// [`CaptureReader::take_warnings`]). The frame borrows the reader's buffer or map until the
    /// next call.
    #[inline]
    pub fn next_frame(&mut self) -> Option<Frame<'_>> {
        match &mut self.parser {
            Parser::Pcap(p) => p.next(&mut self.input, &mut self.warnings),
            Parser::Pcapng(p) => p.next(&mut self.input, &mut self.warnings),
        }
    }

    /// Returns and clears the warnings gathered so far.
    pub fn take_warnings(&mut self) -> Vec<CaptureWarning> {
        self.warnings.take()
    }

    /// The file format, from its header.
    pub fn format(&self) -> CaptureFormat {
        self.format
    }

    /// Bytes consumed so far of the (decompressed) input, for progress reporting.
    pub fn position(&self) -> u64 {
        self.input.position()
    }

    /// Total size of the input in the same units as [`CaptureReader::position`], when known:
    /// mapped and other regular files; `None` for standard input, pipes and gzip input.
    pub fn input_size(&self) -> Option<u64> {
        self.input_size
    }

    /// Whether the input was gzip-compressed.
    pub fn is_compressed(&self) -> bool {
        self.compressed
    }

    /// The name given when opening (the path, or `-` for standard input).
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Opens a capture file, memory-mapping it when possible. `-` reads standard input.
///
/// # Errors
///
/// [`OpenError::Io`] when the file cannot be opened or read, and the format errors of
/// [`open_reader`].
pub fn open_file(path: &Path) -> Result<CaptureReader, OpenError> {
    let name = path.to_string_lossy();
    if path == Path::new("-") {
        return open_reader(Box::new(io::stdin()), "-");
    }
    let file = File::open(path)?;
    let meta = file.metadata()?;
    if meta.is_file() && meta.len() > 0 {
        match input::map_file(&file) {
            Ok(map) => {
                let size = map.len() as u64;
                return open_input(Input::from_bytes(Bytes::Map(map)), &name, Some(size));
            }
            Err(e) => {
                tracing::debug!(path = %name, error = %e, "mmap failed; streaming instead");
            }
        }
    }
    let size = meta.is_file().then_some(meta.len());
    open_input(Input::from_reader(Box::new(file)), &name, size)
}

/// Opens a capture from any byte stream (standard input, a socket, a decompressor), read
/// through the capped buffer. `name` is only kept for messages.
///
/// # Errors
///
/// [`OpenError::NotACapture`] when the input (after gzip decompression) starts with neither
/// magic number; [`OpenError::TruncatedHeader`], [`OpenError::UnsupportedVersion`],
/// [`OpenError::InvalidHeader`] for a bad file header; [`OpenError::Io`] when reading fails.
pub fn open_reader(input: Box<dyn Read + Send>, name: &str) -> Result<CaptureReader, OpenError> {
    open_input(Input::from_reader(input), name, None)
}

/// Opens a capture held in memory, read in place like a mapped file (gzip is decompressed
/// through the streaming buffer). Used by tests and the fuzz targets.
///
/// # Errors
///
/// As [`open_reader`].
pub fn open_bytes(data: Vec<u8>, name: &str) -> Result<CaptureReader, OpenError> {
    let size = data.len() as u64;
    open_input(Input::from_bytes(Bytes::Owned(data)), name, Some(size))
}

/// Detects gzip, then the capture format, and builds the reader.
fn open_input(
    mut input: Input,
    name: &str,
    mut input_size: Option<u64>,
) -> Result<CaptureReader, OpenError> {
    let mut compressed = false;
    if input.ensure(2) == 2 && input.peek().starts_with(&[0x1f, 0x8b]) {
        let decoder = flate2::read::MultiGzDecoder::new(input.into_reader());
        input = Input::from_reader(Box::new(decoder));
        compressed = true;
        // Sizes would be of the compressed file, not comparable with `position`.
        input_size = None;
    }
    let got = input.ensure(8);
    if got < 8 {
        if let Some(e) = input.take_error() {
            return Err(OpenError::Io(e));
        }
    }
    let first = input.peek().get(..got).unwrap_or_default();
    let (parser, format) = if first.starts_with(&pcapng::SHB.to_be_bytes()) {
        (
            Parser::Pcapng(PcapngParser::open(&mut input)?),
            CaptureFormat::Pcapng,
        )
    } else if first
        .first_chunk::<4>()
        .is_some_and(|m| pcap::magic(*m).is_some())
    {
        let (p, f) = PcapParser::open(&mut input)?;
        (Parser::Pcap(p), f)
    } else {
        return Err(OpenError::NotACapture {
            first_bytes: first.to_vec(),
        });
    };
    Ok(CaptureReader {
        input,
        parser,
        warnings: Warnings::default(),
        format,
        input_size,
        compressed,
        name: name.to_owned(),
    })
}

/// Reads a `u32` at `off` in the given byte order; 0 when out of range (callers check lengths
/// first, so this only keeps indexing panic-free).
#[inline(always)]
pub(crate) fn read_u32(b: &[u8], off: usize, big_endian: bool) -> u32 {
    match b.get(off..).and_then(|s| s.first_chunk::<4>()) {
        Some(a) if big_endian => u32::from_be_bytes(*a),
        Some(a) => u32::from_le_bytes(*a),
        None => 0,
    }
}

/// Reads a `u16` at `off` in the given byte order; 0 when out of range.
#[inline(always)]
pub(crate) fn read_u16(b: &[u8], off: usize, big_endian: bool) -> u16 {
    match b.get(off..).and_then(|s| s.first_chunk::<2>()) {
        Some(a) if big_endian => u16::from_be_bytes(*a),
        Some(a) => u16::from_le_bytes(*a),
        None => 0,
    }
}

#[cfg(target_os = "linux")]
pub mod live;
