/*!
Zero-copy decoding of captured frames, from the link layer to the transport layer.

# Contract

* Every function here takes attacker-controlled bytes. None of them panics, allocates or
  recurses without a bound, whatever the input.
* Views over captured bytes are built with `new_checked`, which verifies the buffer length
  against every length field the accessors use; after that, accessors cannot go out of bounds.
  `new_unchecked` views (whose accessors panic on short buffers) are for buffers the caller
  built or checked itself; the decoder uses them only right after the same checks.
* Unknown code points (ether types, IP protocols, ICMP types, option kinds, ...) are never
  errors: they are kept as raw values so that inventory and alerts can show them.
* [`decode()`] walks a whole frame and returns a [`Packet`] summary ([`decode_into`] fills one in
  place, for the per-frame path); the per-protocol modules expose the views for callers that
  need more than the summary.
* Each protocol module has a `Repr` with `parse`, `buffer_len` and `emit` (checksums
  included); [`build`] assembles them into whole frames for tests and traffic generators.
*/

pub mod arp;
pub mod build;
pub mod checksum;
pub mod decode;
pub mod error;
pub mod ethernet;
pub mod icmp;
pub mod icmpv6;
pub mod ip;
pub mod ipv4;
pub mod ipv6;
pub mod link;
pub mod llc;
pub mod mac;
pub mod tcp;
pub mod udp;
mod util;

pub use decode::{
    decode, decode_into, decode_transport, decode_transport_detailed, Arp, Ipv4Summary,
    Ipv6Fragment, Ipv6Summary, LinkSummary, NeighborDiscovery, Network, Packet, TcpSummary,
    Transport, Vlans, MAX_VLAN_TAGS,
};
pub use error::{DecodeError, DecodeErrorKind, EmitError, Layer};
pub use ip::IpProtocol;
pub use link::LinkType;
pub use mac::MacAddr;
