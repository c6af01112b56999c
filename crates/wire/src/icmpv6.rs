//! ICMPv6 (RFC 4443) and the Neighbor Discovery messages that bind MACs to addresses
//! (RFC 4861 neighbor solicitation and advertisement).

use std::net::IpAddr;

use crate::checksum;
use crate::error::err;
use crate::util::view;
use crate::util::{be16, ipv6, mac};
use crate::{DecodeError, DecodeErrorKind, Layer, NeighborDiscovery};

mod field {
    pub(super) const TYPE: usize = 0;
    pub(super) const CODE: usize = 1;
    pub(super) const CHECKSUM: core::ops::Range<usize> = 2..4;
}

/// Length of the type, code and checksum fields.
pub const HEADER_LEN: usize = field::CHECKSUM.end;

/// Echo request.
pub const ECHO_REQUEST: u8 = 128;
/// Echo reply.
pub const ECHO_REPLY: u8 = 129;
/// Router solicitation.
pub const ROUTER_SOLICITATION: u8 = 133;
/// Router advertisement.
pub const ROUTER_ADVERTISEMENT: u8 = 134;
/// Neighbor solicitation.
pub const NEIGHBOR_SOLICITATION: u8 = 135;
/// Neighbor advertisement.
pub const NEIGHBOR_ADVERTISEMENT: u8 = 136;
/// Multicast listener report version 2.
pub const MLDV2_REPORT: u8 = 143;

/// ND option: source link-layer address.
pub const OPT_SOURCE_LINK_ADDR: u8 = 1;
/// ND option: target link-layer address.
pub const OPT_TARGET_LINK_ADDR: u8 = 2;

/// Length of the NS/NA body before the options: flags/reserved word and target address.
const ND_FIXED_LEN: usize = 20;

view! {
    /// A view of an ICMPv6 message.
    Packet
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// `Truncated` under 4 bytes.
    #[inline]
    pub fn check_len(&self) -> Result<(), DecodeError> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            return Err(err(Layer::Icmpv6, DecodeErrorKind::Truncated));
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

    /// Whether the checksum (pseudo-header included) verifies over the whole buffer.
    #[inline]
    pub fn verify_checksum(&self, src: IpAddr, dst: IpAddr) -> bool {
        checksum::verify_transport(src, dst, 58, self.buffer.as_ref())
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The bytes after the checksum.
    #[inline]
    pub fn body(&self) -> &'a [u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }
}

/// Decodes the body of a neighbor solicitation or advertisement (`None` for other types).
///
/// A body too short for the target address gives no result and `Truncated`; a bad option gives
/// what was read before it and `BadOption` (length 0) or `Truncated` (runs past the data).
pub fn neighbor_discovery(
    msg_type: u8,
    body: &[u8],
) -> (Option<NeighborDiscovery>, Option<DecodeError>) {
    if msg_type != NEIGHBOR_SOLICITATION && msg_type != NEIGHBOR_ADVERTISEMENT {
        return (None, None);
    }
    let Some(fixed) = body.get(..ND_FIXED_LEN) else {
        return (None, Some(err(Layer::Icmpv6, DecodeErrorKind::Truncated)));
    };
    // Solicitations have a reserved word where advertisements have flags; senders must zero
    // it, so reading flags from a solicitation only reflects what was on the wire.
    let flags = if msg_type == NEIGHBOR_ADVERTISEMENT {
        fixed[0]
    } else {
        0
    };
    let mut nd = NeighborDiscovery {
        target: ipv6(&fixed[4..20]),
        source_link_addr: None,
        target_link_addr: None,
        router: flags & 0x80 != 0,
        solicited: flags & 0x40 != 0,
        override_flag: flags & 0x20 != 0,
    };
    let mut options = &body[ND_FIXED_LEN..];
    // Every option is at least 8 bytes, so the loop ends with the data.
    while let [kind, len, ..] = *options {
        let len = usize::from(len) * 8;
        if len == 0 {
            return (
                Some(nd),
                Some(err(Layer::Icmpv6, DecodeErrorKind::BadOption)),
            );
        }
        let Some(option) = options.get(..len) else {
            return (
                Some(nd),
                Some(err(Layer::Icmpv6, DecodeErrorKind::Truncated)),
            );
        };
        // Only 8-byte options carry a 6-byte (Ethernet) address.
        if len == 8 {
            match kind {
                OPT_SOURCE_LINK_ADDR => nd.source_link_addr = Some(mac(&option[2..8])),
                OPT_TARGET_LINK_ADDR => nd.target_link_addr = Some(mac(&option[2..8])),
                _ => {}
            }
        }
        options = &options[len..];
    }
    if !options.is_empty() {
        return (
            Some(nd),
            Some(err(Layer::Icmpv6, DecodeErrorKind::Truncated)),
        );
    }
    (Some(nd), None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::hex;
    use crate::MacAddr;

    // ndpi_android.pcap frame 64, ICMPv6 part: a DAD neighbor solicitation from ::
    // (tshark: type 135, target fe80::4e6a:f6ff:fe9f:f627, no options).
    const DAD: &str = "87004b2e00000000fe800000000000004e6af6fffe9ff627";

    #[test]
    fn dad_solicitation_from_real_capture() {
        let b = hex(DAD);
        let p = Packet::new_checked(&b[..]).expect("ok");
        assert_eq!((p.msg_type(), p.msg_code()), (NEIGHBOR_SOLICITATION, 0));
        let src: IpAddr = "::".parse().expect("ip");
        let dst: IpAddr = "ff02::1:ff9f:f627".parse().expect("ip");
        assert!(p.verify_checksum(src, dst));
        let (nd, e) = neighbor_discovery(p.msg_type(), p.body());
        assert_eq!(e, None);
        let nd = nd.expect("nd");
        assert_eq!(
            nd.target,
            "fe80::4e6a:f6ff:fe9f:f627"
                .parse::<std::net::Ipv6Addr>()
                .expect("ip")
        );
        assert_eq!((nd.source_link_addr, nd.target_link_addr), (None, None));
        for n in 0..b.len() {
            let body = b.get(4..n).unwrap_or_default();
            let (nd, e) = neighbor_discovery(135, body);
            assert!(nd.is_none() && e.is_some());
        }
    }

    // Synthetic (no capture in the corpus has one): a solicited, override advertisement for
    // fe80::1 with a target link-layer address option, then an unknown 16-byte option.
    fn advertisement() -> Vec<u8> {
        let mut b = hex("60000000fe800000000000000000000000000001");
        b.extend_from_slice(&hex("020101005e000001"));
        b.extend_from_slice(&[99, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        b
    }

    #[test]
    fn advertisement_flags_and_options() {
        let b = advertisement();
        let (nd, e) = neighbor_discovery(NEIGHBOR_ADVERTISEMENT, &b);
        assert_eq!(e, None);
        let nd = nd.expect("nd");
        assert!(!nd.router && nd.solicited && nd.override_flag);
        assert_eq!(
            nd.target_link_addr,
            Some(MacAddr([0x01, 0x00, 0x5e, 0, 0, 0x01]))
        );
        // Truncations inside the options keep the fixed part.
        for n in ND_FIXED_LEN + 1..b.len() {
            if n == ND_FIXED_LEN + 8 {
                continue;
            }
            let (nd, e) = neighbor_discovery(NEIGHBOR_ADVERTISEMENT, &b[..n]);
            assert!(nd.is_some());
            assert_eq!(e.map(|e| e.kind), Some(DecodeErrorKind::Truncated), "{n}");
        }
    }

    #[test]
    fn zero_length_option_stops() {
        let mut b = advertisement();
        b[ND_FIXED_LEN + 9] = 0;
        let (nd, e) = neighbor_discovery(NEIGHBOR_ADVERTISEMENT, &b);
        assert_eq!(e.map(|e| e.kind), Some(DecodeErrorKind::BadOption));
        assert!(nd.expect("kept").target_link_addr.is_some());
        assert_eq!(neighbor_discovery(ECHO_REQUEST, &b), (None, None));
    }
}
