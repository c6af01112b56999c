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

use ironward_wire::LinkType;

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

#[cfg(target_os = "linux")]
pub mod live;
