//! Fact values built on the stack: formatting an address, a number, a fingerprint or a joined
//! value costs no heap allocation per packet ([`Observations`](crate::Observations)
//! de-duplicates repeats by the raw bytes before it allocates anything).

use std::fmt;
use std::net::IpAddr;

/// A fixed-capacity byte buffer on the stack, to build fact values (fingerprints, hex ids,
/// addresses, joined names) without allocating on the hot path.
#[derive(Clone)]
pub struct ValueBuf<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> ValueBuf<N> {
    /// An empty buffer.
    pub fn new() -> Self {
        Self {
            buf: [0; N],
            len: 0,
        }
    }

    /// The bytes written so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// The text written so far (up to the last whole character, when a cut split one).
    pub fn as_str(&self) -> &str {
        let bytes = self.as_bytes();
        match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default(),
        }
    }

    /// Forgets what was written.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Appends as much of `bytes` as fits; returns whether all of it did. (Fact values are
    /// cut at [`MAX_VALUE_LEN`](crate::observations::MAX_VALUE_LEN) bytes anyway.)
    pub fn push(&mut self, bytes: &[u8]) -> bool {
        let room = N - self.len;
        let taken = bytes.len().min(room);
        self.buf[self.len..self.len + taken].copy_from_slice(&bytes[..taken]);
        self.len += taken;
        taken == bytes.len()
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends bytes, cutting what does not fit.
    pub fn push_bytes(&mut self, bytes: &[u8]) {
        let _ = self.push(bytes);
    }

    /// Appends a decimal number.
    pub fn push_u64(&mut self, n: u64) {
        self.push_bytes(decimal(n, &mut [0u8; 20]));
    }

    /// Appends bytes as lower-case hex.
    pub fn push_hex(&mut self, bytes: &[u8]) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for b in bytes {
            self.push_bytes(&[HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        }
    }

    /// Appends a MAC address as `aa:bb:cc:dd:ee:ff`.
    pub fn push_mac(&mut self, mac: &[u8]) {
        for (i, b) in mac.iter().enumerate() {
            if i > 0 {
                self.push_bytes(b":");
            }
            self.push_hex(&[*b]);
        }
    }

    /// Appends an IP address in its standard text form.
    pub fn push_ip(&mut self, ip: IpAddr) {
        let _ = fmt::Write::write_fmt(self, format_args!("{ip}"));
    }
}

impl<const N: usize> Default for ValueBuf<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> fmt::Debug for ValueBuf<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ValueBuf({:?})",
            String::from_utf8_lossy(self.as_bytes())
        )
    }
}

/// Formatting fails once the buffer is full, so that a value is reported whole or not at all.
impl<const N: usize> fmt::Write for ValueBuf<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let slot = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// `n` in decimal, as `{}` writes it, in the tail of `digits` (no formatting machinery: details
/// are written at packet rate).
pub(crate) fn decimal(mut n: u64, digits: &mut [u8; 20]) -> &[u8] {
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &digits[at..]
}
