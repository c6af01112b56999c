//! ICMP for IPv4 (RFC 792): type, code and the bytes after the checksum.

use crate::checksum;
use crate::error::err;
use crate::util::be16;
use crate::util::view;
use crate::{DecodeError, DecodeErrorKind, Layer};

mod field {
    pub(super) const TYPE: usize = 0;
    pub(super) const CODE: usize = 1;
    pub(super) const CHECKSUM: core::ops::Range<usize> = 2..4;
}

/// Length of the type, code and checksum fields.
pub const HEADER_LEN: usize = field::CHECKSUM.end;

/// Echo reply.
pub const ECHO_REPLY: u8 = 0;
/// Destination unreachable.
pub const DEST_UNREACHABLE: u8 = 3;
/// Redirect.
pub const REDIRECT: u8 = 5;
/// Echo request.
pub const ECHO_REQUEST: u8 = 8;
/// Time exceeded.
pub const TIME_EXCEEDED: u8 = 11;

view! {
    /// A view of an ICMP message.
    Packet
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// `Truncated` under 4 bytes.
    #[inline]
    pub fn check_len(&self) -> Result<(), DecodeError> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            return Err(err(Layer::Icmpv4, DecodeErrorKind::Truncated));
        }
        Ok(())
    }

    /// Message type.
    #[inline]
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::TYPE]
    }

    /// Message code.
    #[inline]
    pub fn msg_code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    /// Checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::CHECKSUM])
    }

    /// Whether the checksum verifies over the whole buffer.
    #[inline]
    pub fn verify_checksum(&self) -> bool {
        checksum::sum(self.buffer.as_ref()) == 0xffff
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The bytes after the checksum (identifier/sequence, unused word, quoted datagram, ...).
    #[inline]
    pub fn body(&self) -> &'a [u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::hex;

    #[test]
    fn echo_request_from_real_capture() {
        // zeek_icmp_dot1q.pcap frame 1, ICMP part (tshark: type 8 code 0, checksum good).
        let b = hex(ECHO);
        let p = Packet::new_checked(&b[..]).expect("ok");
        assert_eq!((p.msg_type(), p.msg_code()), (ECHO_REQUEST, 0));
        assert!(p.verify_checksum());
        assert_eq!(p.body().len(), b.len() - 4);
        for n in 0..HEADER_LEN {
            assert!(Packet::new_checked(&b[..n]).is_err());
        }
    }

    const ECHO: &str = "0800949a0001000000000000000ce9a2abcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcd";
}
