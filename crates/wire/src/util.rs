//! Big-endian field access shared by the views.
//!
//! Every function here indexes its argument: callers pass slices whose length was verified by a
//! view's `check_len` (or by a fixed-size range of such a slice), which is what makes the
//! indexing infallible.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::MacAddr;

#[inline]
pub(crate) fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

#[inline]
pub(crate) fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

#[inline]
pub(crate) fn mac(b: &[u8]) -> MacAddr {
    MacAddr([b[0], b[1], b[2], b[3], b[4], b[5]])
}

#[inline]
pub(crate) fn ipv4(b: &[u8]) -> Ipv4Addr {
    Ipv4Addr::new(b[0], b[1], b[2], b[3])
}

#[inline]
pub(crate) fn ipv6(b: &[u8]) -> Ipv6Addr {
    let mut a = [0u8; 16];
    a.copy_from_slice(&b[..16]);
    Ipv6Addr::from(a)
}

#[inline]
pub(crate) fn set_be16(b: &mut [u8], v: u16) {
    b[..2].copy_from_slice(&v.to_be_bytes());
}

#[inline]
pub(crate) fn set_be32(b: &mut [u8], v: u32) {
    b[..4].copy_from_slice(&v.to_be_bytes());
}

/// Parses test fixtures written as hex (whitespace ignored).
#[cfg(test)]
pub(crate) fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .map(|p| {
            let t = std::str::from_utf8(p).expect("ascii");
            u8::from_str_radix(t, 16).expect("hex digit")
        })
        .collect()
}

/// Declares a zero-copy view over a byte buffer and its two constructors. The module that uses
/// it writes `check_len`, which is what `new_checked` relies on: after it passes, the view's
/// accessors cannot index out of bounds.
macro_rules! view {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name<T: AsRef<[u8]>> {
            buffer: T,
        }

        impl<T: AsRef<[u8]>> $name<T> {
            /// Wraps a buffer without checks; accessors panic unless `check_len` passes.
            #[inline]
            pub const fn new_unchecked(buffer: T) -> Self {
                Self { buffer }
            }

            /// Wraps a buffer after `check_len`.
            #[inline]
            pub fn new_checked(buffer: T) -> Result<Self, crate::DecodeError> {
                let p = Self::new_unchecked(buffer);
                p.check_len()?;
                Ok(p)
            }
        }
    };
}
pub(crate) use view;
