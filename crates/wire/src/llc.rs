//! IEEE 802.2 LLC headers and the SNAP extension.
//!
//! LLC follows an 802.3 length field (or an SLL protocol of 0x0004). With DSAP = SSAP = 0xAA and
//! an unnumbered-information control byte (0x03), a 5-byte SNAP header follows: an OUI and a
//! protocol id, which for OUI 00-00-00 (RFC 1042) and 00-00-F8 (802.1H) is an ether type.

use crate::error::err;
use crate::util::be16;
use crate::util::view;
use crate::{DecodeError, DecodeErrorKind, Layer};

mod field {
    pub(super) const DSAP: usize = 0;
    pub(super) const SSAP: usize = 1;
    pub(super) const CONTROL: usize = 2;
    pub(super) const OUI: core::ops::Range<usize> = 3..6;
    pub(super) const PID: core::ops::Range<usize> = 6..8;
}

/// The SAP value announcing a SNAP header.
pub const SAP_SNAP: u8 = 0xaa;
/// Length of an LLC header with a SNAP extension.
pub const SNAP_HEADER_LEN: usize = 8;

/// SNAP extension: organisation and protocol id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Snap {
    /// Organisationally unique identifier (24 bits).
    pub oui: u32,
    /// Protocol id: an ether type when [`Snap::is_ethertype`].
    pub protocol_id: u16,
}

impl Snap {
    /// Whether `protocol_id` is an ether type (RFC 1042 or 802.1H bridge tunnel encapsulation).
    #[inline]
    pub const fn is_ethertype(&self) -> bool {
        matches!(self.oui, 0x00_0000 | 0x00_00f8)
    }
}

/// The decoded LLC header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// Destination service access point (0x42 spanning tree, 0xaa SNAP, 0xfe OSI, ...).
    pub dsap: u8,
    /// Source service access point.
    pub ssap: u8,
    /// Control field: one byte for U-format frames, two (little end first as sent) otherwise.
    pub control: u16,
    /// SNAP extension, when present.
    pub snap: Option<Snap>,
    /// Length of the LLC (and SNAP) header in bytes: 3, 4 or 8.
    pub header_len: u8,
}

view! {
    /// A view of an LLC header.
    Packet
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// `Llc`/`Truncated` unless the buffer holds the whole header, control field and SNAP
    /// extension included.
    #[inline]
    pub fn check_len(&self) -> Result<(), DecodeError> {
        let len = self.buffer.as_ref().len();
        if len < 3 || len < self.header_len_unchecked() {
            return Err(err(Layer::Llc, DecodeErrorKind::Truncated));
        }
        Ok(())
    }

    /// Header length derived from the first three bytes (which must exist).
    #[inline]
    fn header_len_unchecked(&self) -> usize {
        let d = self.buffer.as_ref();
        if d[field::DSAP] == SAP_SNAP && d[field::SSAP] == SAP_SNAP && d[field::CONTROL] == 0x03 {
            SNAP_HEADER_LEN
        } else if d[field::CONTROL] & 0x03 == 0x03 {
            3
        } else {
            4
        }
    }

    /// Header length in bytes (3, 4 or 8).
    #[inline]
    pub fn header_len(&self) -> usize {
        self.header_len_unchecked()
    }

    /// The whole header.
    #[inline]
    pub fn header(&self) -> Header {
        let d = self.buffer.as_ref();
        let header_len = self.header_len_unchecked();
        let control = if header_len == 4 {
            u16::from(d[field::CONTROL]) | u16::from(d[field::CONTROL + 1]) << 8
        } else {
            u16::from(d[field::CONTROL])
        };
        let snap = (header_len == SNAP_HEADER_LEN).then(|| Snap {
            oui: u32::from(d[field::OUI.start]) << 16
                | u32::from(d[field::OUI.start + 1]) << 8
                | u32::from(d[field::OUI.start + 2]),
            protocol_id: be16(&d[field::PID]),
        });
        Header {
            dsap: d[field::DSAP],
            ssap: d[field::SSAP],
            control,
            snap,
            header_len: header_len as u8,
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The bytes after the LLC (and SNAP) header.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[self.header_len_unchecked()..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::hex;

    #[test]
    fn snap_cdp_from_real_capture() {
        // tcpdump_LLDP_and_CDP.pcap frame 1, after the 14-byte 802.3 header (tshark: dsap 0xaa,
        // ssap 0xaa, control 0x03, OUI 0x00000c Cisco, PID 0x2000 CDP).
        let b = hex("aaaa0300000c200002b40bea");
        let p = Packet::new_checked(&b[..]).expect("ok");
        let h = p.header();
        assert_eq!(
            (h.dsap, h.ssap, h.control, h.header_len),
            (0xaa, 0xaa, 3, 8)
        );
        let snap = h.snap.expect("snap");
        assert_eq!((snap.oui, snap.protocol_id), (0x0c, 0x2000));
        assert!(!snap.is_ethertype());
        assert_eq!(p.payload(), &b[8..]);
    }

    #[test]
    fn stp_is_plain_llc() {
        // tcpdump_802.1D_spanning_tree.pcap frame 1 (tshark: dsap 0x42 ssap 0x42 control 0x03).
        let b = hex("424203000000000080");
        let p = Packet::new_checked(&b[..]).expect("ok");
        let h = p.header();
        assert_eq!((h.dsap, h.ssap, h.control, h.snap), (0x42, 0x42, 3, None));
        assert_eq!(p.payload(), &b[3..]);
    }

    #[test]
    fn i_format_has_two_control_bytes_and_truncations_fail() {
        let b = [0xf0, 0xf0, 0x02, 0x04, 0x99];
        let h = Packet::new_checked(&b[..]).expect("ok").header();
        assert_eq!((h.control, h.header_len), (0x0402, 4));
        for n in 0..4 {
            assert!(Packet::new_checked(&b[..n]).is_err());
        }
        let snap = hex("aaaa0300000008");
        for n in 0..=snap.len() {
            assert!(Packet::new_checked(&snap[..n]).is_err(), "{n}");
        }
    }
}
