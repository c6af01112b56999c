//! Link-layer types (the pcap/pcapng `LINKTYPE_*` registry) and the non-Ethernet link headers:
//! Linux cooked capture v1 (SLL) and v2 (SLL2), BSD NULL and LOOP.

use std::fmt;

/// A pcap/pcapng link type. Unknown values are kept; see the constants for the supported ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkType(pub u32);

impl LinkType {
    /// BSD loopback: 4-byte host-order address family.
    pub const NULL: Self = Self(0);
    /// Ethernet II / IEEE 802.3.
    pub const ETHERNET: Self = Self(1);
    /// Raw IP (version from the first nibble).
    pub const RAW: Self = Self(101);
    /// OpenBSD loopback: 4-byte network-order address family.
    pub const LOOP: Self = Self(108);
    /// Linux cooked capture v1.
    pub const LINUX_SLL: Self = Self(113);
    /// Raw IPv4.
    pub const IPV4: Self = Self(228);
    /// Raw IPv6.
    pub const IPV6: Self = Self(229);
    /// Linux cooked capture v2.
    pub const LINUX_SLL2: Self = Self(276);

    /// Whether [`crate::decode`] understands this link type.
    pub const fn is_supported(self) -> bool {
        matches!(self.0, 0 | 1 | 101 | 108 | 113 | 228 | 229 | 276)
    }

    /// A short lower-case name (`ethernet`, `linux_sll`, ...), or `linktype_N` when unknown.
    pub fn name(self) -> std::borrow::Cow<'static, str> {
        match self.0 {
            0 => "null".into(),
            1 => "ethernet".into(),
            101 => "raw".into(),
            108 => "loop".into(),
            113 => "linux_sll".into(),
            228 => "ipv4".into(),
            229 => "ipv6".into(),
            276 => "linux_sll2".into(),
            n => format!("linktype_{n}").into(),
        }
    }
}

impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}
