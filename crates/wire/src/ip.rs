//! IP protocol numbers, shared by IPv4 (`protocol`) and IPv6 (`next header`).

/// An IP protocol / IPv6 next-header number. Unknown values are kept as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IpProtocol(pub u8);

impl IpProtocol {
    /// IPv6 hop-by-hop options.
    pub const HOP_BY_HOP: Self = Self(0);
    /// ICMP for IPv4.
    pub const ICMP: Self = Self(1);
    /// IGMP.
    pub const IGMP: Self = Self(2);
    /// TCP.
    pub const TCP: Self = Self(6);
    /// UDP.
    pub const UDP: Self = Self(17);
    /// IPv6 routing header.
    pub const IPV6_ROUTE: Self = Self(43);
    /// IPv6 fragment header.
    pub const IPV6_FRAG: Self = Self(44);
    /// Encapsulating security payload: opaque, ends the header walk.
    pub const ESP: Self = Self(50);
    /// Authentication header.
    pub const AH: Self = Self(51);
    /// ICMP for IPv6.
    pub const ICMPV6: Self = Self(58);
    /// IPv6 "no next header".
    pub const IPV6_NO_NXT: Self = Self(59);
    /// IPv6 destination options.
    pub const IPV6_OPTS: Self = Self(60);
    /// Mobility header.
    pub const MOBILITY: Self = Self(135);
    /// Host identity protocol.
    pub const HIP: Self = Self(139);
    /// Shim6.
    pub const SHIM6: Self = Self(140);

    /// Whether this number is an IPv6 extension header that [`crate::ipv6`] walks over.
    #[inline]
    pub const fn is_ipv6_extension(self) -> bool {
        matches!(self.0, 0 | 43 | 44 | 51 | 60 | 135 | 139 | 140)
    }
}

impl From<u8> for IpProtocol {
    fn from(v: u8) -> Self {
        Self(v)
    }
}

impl From<IpProtocol> for u8 {
    fn from(v: IpProtocol) -> Self {
        v.0
    }
}
