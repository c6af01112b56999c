//! Errors and warnings of the capture file readers.
//!
//! Only problems that make a file unreadable from the start are errors ([`OpenError`]). Damage
//! found later (a record cut short, a corrupt block) is a [`CaptureWarning`]: the frames before
//! it are still delivered, and pcapng reading resumes after it when it can.

use std::fmt;
use std::io;

/// Why a capture could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// Occurs when the input starts with neither a pcap nor a pcapng magic number (after gzip
    /// decompression, if it was compressed). `first_bytes` holds up to 8 leading bytes.
    #[error("not a pcap or pcapng file ({})", FirstBytes(.first_bytes))]
    NotACapture {
        /// Up to the first 8 bytes of the input.
        first_bytes: Vec<u8>,
    },
    /// Occurs when the input ends inside the file header (pcap) or the first section header
    /// block (pcapng).
    #[error("truncated {format} file header: {needed} bytes needed, {got} present")]
    TruncatedHeader {
        /// `"pcap"` or `"pcapng"`.
        format: &'static str,
        /// Bytes the header needs.
        needed: usize,
        /// Bytes the input has.
        got: usize,
    },
    /// Occurs when the file header names a format version this reader does not understand
    /// (pcap major version other than 2, pcapng major version other than 1).
    #[error("unsupported {format} version {major}.{minor}")]
    UnsupportedVersion {
        /// `"pcap"` or `"pcapng"`.
        format: &'static str,
        /// Major version from the header.
        major: u16,
        /// Minor version from the header.
        minor: u16,
    },
    /// Occurs when the file header has the right magic number but is malformed (pcapng: bad
    /// byte-order magic, impossible block length).
    #[error("invalid {format} file header: {reason}")]
    InvalidHeader {
        /// `"pcap"` or `"pcapng"`.
        format: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// Occurs when opening, mapping or reading the input fails (including a corrupt gzip header).
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Formats the leading bytes as `first bytes 3c 21 44 4f`, or `empty file`.
struct FirstBytes<'a>(&'a [u8]);

impl fmt::Display for FirstBytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("empty file");
        }
        f.write_str("first bytes")?;
        for b in self.0.iter().take(8) {
            write!(f, " {b:02x}")?;
        }
        Ok(())
    }
}

/// A problem found while reading: damage that was skipped or that ended the capture early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureWarning {
    /// Byte offset in the (decompressed) input of the record or block concerned.
    pub offset: u64,
    /// What happened, e.g. `truncated packet record: header says 1514 bytes, 200 remain`.
    pub message: String,
}

impl fmt::Display for CaptureWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "offset {}: {}", self.offset, self.message)
    }
}

/// Most warnings kept between two [`super::CaptureReader::take_warnings`] calls. A hostile file
/// can produce one per block; beyond this they are only counted, so memory stays bounded.
const MAX_PENDING_WARNINGS: usize = 1000;

/// The reader's bounded warning list.
#[derive(Debug, Default)]
pub(crate) struct Warnings {
    list: Vec<CaptureWarning>,
    suppressed: u64,
    /// Offset of the first suppressed warning, for the summary line.
    suppressed_from: u64,
}

impl Warnings {
    /// Records a warning; the message is only built if it will be kept.
    #[cold]
    pub(crate) fn push(&mut self, offset: u64, message: impl FnOnce() -> String) {
        if self.list.len() < MAX_PENDING_WARNINGS {
            self.list.push(CaptureWarning {
                offset,
                message: message(),
            });
        } else {
            if self.suppressed == 0 {
                self.suppressed_from = offset;
            }
            self.suppressed += 1;
        }
    }

    /// Returns and clears the pending warnings, ending with a summary of suppressed ones.
    pub(crate) fn take(&mut self) -> Vec<CaptureWarning> {
        let mut out = std::mem::take(&mut self.list);
        if self.suppressed > 0 {
            let n = self.suppressed;
            out.push(CaptureWarning {
                offset: self.suppressed_from,
                message: format!("{n} more warnings suppressed"),
            });
            self.suppressed = 0;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_a_capture_message() {
        let e = OpenError::NotACapture {
            first_bytes: b"<!DO".to_vec(),
        };
        assert_eq!(
            e.to_string(),
            "not a pcap or pcapng file (first bytes 3c 21 44 4f)"
        );
        let e = OpenError::NotACapture {
            first_bytes: Vec::new(),
        };
        assert_eq!(e.to_string(), "not a pcap or pcapng file (empty file)");
    }

    #[test]
    fn warning_display() {
        let w = CaptureWarning {
            offset: 1234,
            message: "truncated packet record: header says 1514 bytes, 200 remain".into(),
        };
        assert_eq!(
            w.to_string(),
            "offset 1234: truncated packet record: header says 1514 bytes, 200 remain"
        );
    }

    #[test]
    fn warnings_are_bounded() {
        let mut w = Warnings::default();
        for i in 0..(MAX_PENDING_WARNINGS as u64 + 5) {
            w.push(i, || "x".into());
        }
        let got = w.take();
        assert_eq!(got.len(), MAX_PENDING_WARNINGS + 1);
        let last = got.last().expect("summary");
        assert_eq!(last.message, "5 more warnings suppressed");
        assert_eq!(last.offset, MAX_PENDING_WARNINGS as u64);
        assert!(w.take().is_empty());
    }
}
