//! Byte sources behind the capture readers: a memory map (or any owned byte slice) read in
//! place, or a stream (standard input, pipes, gzip) read through one reusable, capped buffer.
//!
//! Both present the same small cursor interface ([`Input::ensure`], [`Input::peek`],
//! [`Input::take`], [`Input::skip`]) so the format parsers never know which one they read. A
//! record is only ever handed out as a slice of the mapped bytes or of the buffer; the buffer is
//! not touched again until the next `ensure`, which is what lets frames borrow the reader.

use std::fs::File;
use std::io::{self, Read};

/// Largest single request a parser may make with [`Input::ensure`]: one pcapng block or one pcap
/// record plus its header. The parsers cap their lengths below this.
pub(crate) const MAX_REQUEST: usize = 16 * 1024 * 1024 + 64;

/// Hard cap on the streaming buffer. Twice the largest request, so that compaction (moving the
/// unread tail to the front) happens at most once per `MAX_REQUEST` bytes consumed; that keeps
/// the resynchronisation scan, which may ask for a full block ahead at every 4-byte step, linear.
const BUFFER_CAP: usize = 2 * MAX_REQUEST;

/// Initial streaming buffer: large enough for any Ethernet frame (jumbo included) and for
/// efficient reads, small enough not to matter for many concurrent readers.
const BUFFER_INITIAL: usize = 256 * 1024;

/// Bytes read in place: a memory-mapped file, or an owned buffer (tests, fuzzing).
pub(crate) enum Bytes {
    /// A read-only private map of a regular file.
    Map(memmap2::Mmap),
    /// Bytes already in memory.
    Owned(Vec<u8>),
}

impl Bytes {
    #[inline]
    fn as_slice(&self) -> &[u8] {
        match self {
            Bytes::Map(m) => m,
            Bytes::Owned(v) => v,
        }
    }
}

impl AsRef<[u8]> for Bytes {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

/// A streaming source and its buffer. Unread bytes are `buf[start..end]`; `base` is the input
/// offset of `buf[0]`.
pub(crate) struct Stream {
    reader: Box<dyn Read + Send>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    base: u64,
    eof: bool,
    /// A read error seen while filling; reported once by the parser as a warning, since the
    /// bytes read before it are still delivered.
    error: Option<io::Error>,
}

/// The byte source of a [`super::CaptureReader`].
pub(crate) enum Input {
    /// In-place bytes, the cursor into them, and how far mapped pages were given back.
    Slice {
        bytes: Bytes,
        pos: usize,
        released: usize,
    },
    /// Buffered stream.
    Stream(Stream),
}

impl Input {
    /// A source reading `bytes` in place.
    pub(crate) fn from_bytes(bytes: Bytes) -> Self {
        Input::Slice {
            bytes,
            pos: 0,
            released: 0,
        }
    }

    /// A source reading `reader` through the capped buffer.
    pub(crate) fn from_reader(reader: Box<dyn Read + Send>) -> Self {
        Input::Stream(Stream {
            reader,
            buf: Vec::new(),
            start: 0,
            end: 0,
            base: 0,
            eof: false,
            error: None,
        })
    }

    /// Makes at least `n` unread bytes available if the input has them, and returns how many are
    /// available (`< n` only at the end of the input, or after a read error, see
    /// [`Input::take_error`]). `n` is clamped to [`MAX_REQUEST`].
    #[inline]
    pub(crate) fn ensure(&mut self, n: usize) -> usize {
        match self {
            Input::Slice { bytes, pos, .. } => bytes.as_slice().len().saturating_sub(*pos).min(n),
            Input::Stream(s) => {
                let have = s.end - s.start;
                if have >= n {
                    n
                } else {
                    s.fill(n.min(MAX_REQUEST))
                }
            }
        }
    }

    /// The unread bytes currently available (at least what the last `ensure` promised).
    #[inline]
    pub(crate) fn peek(&self) -> &[u8] {
        match self {
            Input::Slice { bytes, pos, .. } => bytes.as_slice().get(*pos..).unwrap_or(&[]),
            Input::Stream(s) => s.buf.get(s.start..s.end).unwrap_or(&[]),
        }
    }

    /// Consumes and returns the next `n` bytes (fewer if fewer are available; callers `ensure`
    /// first). The slice stays valid until the next mutable use of the input.
    #[inline]
    pub(crate) fn take(&mut self, n: usize) -> &[u8] {
        match self {
            Input::Slice {
                bytes,
                pos,
                released,
            } => {
                if *pos - *released >= RELEASE_EVERY {
                    *released = release_pages(bytes, *released, *pos);
                }
                let all = bytes.as_slice();
                let from = (*pos).min(all.len());
                let to = from.saturating_add(n).min(all.len());
                *pos = to;
                all.get(from..to).unwrap_or(&[])
            }
            Input::Stream(s) => {
                let from = s.start;
                let to = from.saturating_add(n).min(s.end);
                s.start = to;
                s.buf.get(from..to).unwrap_or(&[])
            }
        }
    }

    /// Consumes up to `n` bytes without looking at them.
    #[inline]
    pub(crate) fn skip(&mut self, n: usize) {
        let _ = self.take(n);
    }

    /// Offset of the next unread byte in the (decompressed) input.
    #[inline]
    pub(crate) fn position(&self) -> u64 {
        match self {
            Input::Slice { pos, .. } => *pos as u64,
            Input::Stream(s) => s.base + s.start as u64,
        }
    }

    /// Turns the source back into a plain reader yielding the unread bytes and then the rest of
    /// the input (used to put a gzip decoder in front once the magic has been seen).
    pub(crate) fn into_reader(self) -> Box<dyn Read + Send> {
        match self {
            Input::Slice { bytes, pos, .. } => {
                let mut cursor = io::Cursor::new(bytes);
                cursor.set_position(pos as u64);
                Box::new(cursor)
            }
            Input::Stream(s) => {
                let unread = s.buf.get(s.start..s.end).unwrap_or_default().to_vec();
                Box::new(io::Cursor::new(unread).chain(s.reader))
            }
        }
    }

    /// The read error that ended the input early, if any (returned once).
    pub(crate) fn take_error(&mut self) -> Option<io::Error> {
        match self {
            Input::Slice { .. } => None,
            Input::Stream(s) => s.error.take(),
        }
    }
}

impl Stream {
    /// Slow path of [`Input::ensure`]: reads until `n` bytes are available or the input ends,
    /// making room as needed. The buffer only grows when it is full of unread data, so its size
    /// follows the data actually read, not the lengths a hostile header claims.
    #[cold]
    fn fill(&mut self, n: usize) -> usize {
        while !self.eof && self.end - self.start < n {
            if self.end == self.buf.len() {
                self.make_room();
            }
            let Some(space) = self.buf.get_mut(self.end..) else {
                break;
            };
            if space.is_empty() {
                break;
            }
            match self.reader.read(space) {
                Ok(0) => self.eof = true,
                Ok(k) => self.end += k.min(space.len()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.error = Some(e);
                    self.eof = true;
                }
            }
        }
        (self.end - self.start).min(n)
    }

    /// Frees space at the end of a full buffer: moves the unread tail to the front when at least
    /// half the buffer is consumed (so each byte is moved at most about once), otherwise doubles
    /// the buffer up to [`BUFFER_CAP`]. Requests are at most half the cap, so at the cap there is
    /// always a consumed half to reclaim.
    fn make_room(&mut self) {
        let len = self.buf.len();
        if self.start > 0 && (self.start >= len / 2 || len >= BUFFER_CAP) {
            self.buf.copy_within(self.start..self.end, 0);
            self.base += self.start as u64;
            self.end -= self.start;
            self.start = 0;
        } else if len < BUFFER_CAP {
            let grown = len.saturating_mul(2).clamp(BUFFER_INITIAL, BUFFER_CAP);
            self.buf.resize(grown, 0);
        }
    }
}

/// Bytes read from a map between two hand-backs of its pages (see [`release_pages`]).
const RELEASE_EVERY: usize = 2 << 20;

/// Gives the pages of `bytes[from..to]` (rounded inwards to whole pages) back to the kernel, so
/// that reading a large capture once does not make the whole file resident in this process.
/// Returns how far pages are now released. The page cache keeps the data; only this process's
/// mapping of it is dropped.
#[allow(unsafe_code)]
fn release_pages(bytes: &Bytes, from: usize, to: usize) -> usize {
    const PAGE: usize = 4096;
    let Bytes::Map(map) = bytes else {
        return to;
    };
    let start = from.next_multiple_of(PAGE);
    let end = to - to % PAGE;
    if end <= start {
        return from;
    }
    // SAFETY: MADV_DONTNEED on a read-only file mapping only drops this process's page-table
    // entries; a later access faults the same file contents back in, so no reference can observe
    // a change. Besides, every slice handed out for `bytes[..to]` is dead: slices borrow the
    // reader mutably (`CaptureReader::next_frame` is a lending iterator) and this runs inside
    // `take`, before the next slice is made, only for bytes before the current position.
    #[cfg(unix)]
    let _ = unsafe {
        map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, end - start)
    };
    end
}

/// Maps `file` read-only.
#[allow(unsafe_code)]
pub(crate) fn map_file(file: &File) -> io::Result<memmap2::Mmap> {
    // SAFETY: `Mmap::map` is unsafe because another process may modify or truncate the file
    // while it is mapped, which Rust cannot see. We only ever read the mapped bytes, treat every
    // byte as untrusted (all lengths are checked before slicing, so changed contents can at
    // worst produce wrong frames or warnings), and never hand out `&mut` access. Truncation by
    // another process can raise SIGBUS on access; that is the accepted cost of zero-copy reading
    // of capture files, which are not normally rewritten while being analysed.
    let map = unsafe { memmap2::Mmap::map(file) }?;
    #[cfg(unix)]
    {
        // Only a hint for read-ahead; failure changes nothing.
        let _ = map.advise(memmap2::Advice::Sequential);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// A reader returning at most `chunk` bytes per call, to exercise refills.
    struct Trickle {
        data: Cursor<Vec<u8>>,
        chunk: usize,
    }
    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.chunk);
            self.data.read(&mut buf[..n])
        }
    }

    #[test]
    fn stream_and_slice_agree() {
        let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
        let mut a = Input::from_bytes(Bytes::Owned(data.clone()));
        let mut b = Input::from_reader(Box::new(Trickle {
            data: Cursor::new(data.clone()),
            chunk: 777,
        }));
        let mut pos = 0usize;
        let mut step = 1usize;
        while pos < data.len() {
            let want = (step * 7919) % 300_000 + 1;
            let na = a.ensure(want);
            let nb = b.ensure(want);
            assert_eq!(na, nb);
            assert!(a.peek()[..na] == b.peek()[..nb], "peek differs at {pos}");
            let k = (want / 3).max(1).min(na);
            let ta = a.take(k).to_vec();
            assert!(ta == b.take(k), "stream differs at {pos}");
            assert!(ta == data[pos..pos + k], "slice differs at {pos}");
            pos += k;
            assert_eq!(a.position(), pos as u64);
            assert_eq!(b.position(), pos as u64);
            step += 1;
        }
        assert_eq!(b.ensure(10), 0);
    }

    #[test]
    fn stream_reports_read_errors() {
        struct Failing(u8);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::other("boom"));
                }
                self.0 -= 1;
                buf[0] = 7;
                Ok(1)
            }
        }
        let mut s = Input::from_reader(Box::new(Failing(3)));
        assert_eq!(s.ensure(10), 3);
        assert_eq!(
            s.take_error().map(|e| e.to_string()).as_deref(),
            Some("boom")
        );
        assert!(s.take_error().is_none());
    }

    #[test]
    fn buffer_never_exceeds_cap() {
        let mut s = Input::from_reader(Box::new(io::repeat(1)));
        for _ in 0..50 {
            assert_eq!(s.ensure(usize::MAX), MAX_REQUEST);
            s.skip(4);
        }
        if let Input::Stream(st) = &s {
            assert!(st.buf.len() <= BUFFER_CAP);
        }
    }
}
