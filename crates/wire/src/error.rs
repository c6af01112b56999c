//! The typed decoding error: which layer, what went wrong.

use std::fmt;

/// The protocol layer where decoding stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Layer {
    /// Link layer header (Ethernet, SLL, SLL2, NULL/LOOP).
    Link,
    /// 802.1Q / 802.1ad tag.
    Vlan,
    /// IEEE 802.2 LLC / SNAP.
    Llc,
    /// ARP.
    Arp,
    /// IPv4.
    Ipv4,
    /// IPv6 or one of its extension headers.
    Ipv6,
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ICMPv4.
    Icmpv4,
    /// ICMPv6.
    Icmpv6,
}

/// What was wrong with the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// Occurs when the captured bytes end before the header does.
    Truncated,
    /// Occurs when a header length field is smaller than the minimum or points past the data.
    BadHeaderLength,
    /// Occurs when a version field does not match the protocol (IPv4 header without version 4).
    BadVersion,
    /// Occurs when a total/payload length field is inconsistent with the header.
    BadLength,
    /// Occurs when more extension headers or tags are chained than the decoder accepts.
    TooManyHeaders,
    /// Occurs when an option or TLV inside a header is malformed.
    BadOption,
    /// Occurs when [`crate::decode()`] is given a link type it does not understand (see
    /// [`crate::LinkType::is_supported`]); always reported at [`Layer::Link`].
    UnsupportedLinkType,
}

/// A decoding error: the layer and the kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DecodeError {
    /// Where it happened.
    pub layer: Layer,
    /// What happened.
    pub kind: DecodeErrorKind,
}

impl DecodeError {
    /// Builds an error.
    pub const fn new(layer: Layer, kind: DecodeErrorKind) -> Self {
        Self { layer, kind }
    }

    /// A stable, lower-case name such as `ipv4.truncated`, used as a statistics key.
    pub fn name(&self) -> &'static str {
        use DecodeErrorKind as K;
        use Layer as L;
        macro_rules! names {
            ($($l:ident => $p:literal),* $(,)?) => {
                match (self.layer, self.kind) {
                    $(
                        (L::$l, K::Truncated) => concat!($p, ".truncated"),
                        (L::$l, K::BadHeaderLength) => concat!($p, ".bad_header_length"),
                        (L::$l, K::BadVersion) => concat!($p, ".bad_version"),
                        (L::$l, K::BadLength) => concat!($p, ".bad_length"),
                        (L::$l, K::TooManyHeaders) => concat!($p, ".too_many_headers"),
                        (L::$l, K::BadOption) => concat!($p, ".bad_option"),
                        (L::$l, K::UnsupportedLinkType) => concat!($p, ".unsupported_link_type"),
                    )*
                }
            };
        }
        names!(Link => "link", Vlan => "vlan", Llc => "llc", Arp => "arp", Ipv4 => "ipv4",
               Ipv6 => "ipv6", Tcp => "tcp", Udp => "udp", Icmpv4 => "icmpv4", Icmpv6 => "icmpv6")
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::error::Error for DecodeError {}

/// The error of the `emit` functions: the buffer is shorter than the `Repr`'s `buffer_len`.
///
/// Emitting never panics on a short buffer; builders size their buffers with `buffer_len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EmitError;

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("buffer too small to emit the header")
    }
}

impl std::error::Error for EmitError {}

/// Shorthand used by the per-protocol views.
pub(crate) const fn err(layer: Layer, kind: DecodeErrorKind) -> DecodeError {
    DecodeError::new(layer, kind)
}
