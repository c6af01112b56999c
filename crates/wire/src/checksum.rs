//! The internet checksum (RFC 1071) and the IPv4/IPv6 pseudo-header sums.
//!
//! Sums are kept folded to 16 bits (not complemented) so that they can be combined; the value
//! written into a header is the complement of the combined sum.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Folds a wide one's-complement accumulator to 16 bits.
///
/// Correct for any width because 2^16 ≡ 1 (mod 2^16 − 1): carries wrap around.
#[inline]
fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// The one's-complement sum of `data` taken as big-endian 16-bit words, folded to 16 bits (an
/// odd trailing byte is padded with zero).
#[inline]
pub fn sum(data: &[u8]) -> u16 {
    // 32-bit words into a 64-bit accumulator: half the iterations of a word loop, and no
    // overflow before 16 GiB of input.
    let mut acc: u64 = 0;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        acc += u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
    }
    acc += match *chunks.remainder() {
        [a] => u64::from(a) << 8,
        [a, b] => u64::from(u16::from_be_bytes([a, b])),
        [a, b, c] => u64::from(u16::from_be_bytes([a, b])) + (u64::from(c) << 8),
        _ => 0,
    };
    fold(acc)
}

/// Combines partial sums (from [`sum`] or the pseudo-header functions).
#[inline]
pub fn combine(sums: &[u16]) -> u16 {
    fold(sums.iter().map(|&s| u64::from(s)).sum())
}

/// The internet checksum of `data`: the complement of its sum. Over a header whose checksum
/// field is filled in, a correct header gives 0.
#[inline]
pub fn checksum(data: &[u8]) -> u16 {
    !sum(data)
}

/// Sum of the IPv4 pseudo-header (addresses, protocol, upper-layer length).
#[inline]
pub fn pseudo_header_v4(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, length: u32) -> u16 {
    pseudo(&src.octets(), &dst.octets(), protocol, length)
}

/// Sum of the IPv6 pseudo-header (RFC 8200 section 8.1).
#[inline]
pub fn pseudo_header_v6(src: Ipv6Addr, dst: Ipv6Addr, next_header: u8, length: u32) -> u16 {
    pseudo(&src.octets(), &dst.octets(), next_header, length)
}

/// Sum of the pseudo-header of either family.
///
/// The IPv4 and IPv6 layouts differ only in field widths, which do not change a one's-complement
/// sum, so a mixed pair (never valid on the wire) still gives a deterministic value.
#[inline]
pub fn pseudo_header(src: IpAddr, dst: IpAddr, protocol: u8, length: u32) -> u16 {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => pseudo_header_v4(s, d, protocol, length),
        (IpAddr::V6(s), IpAddr::V6(d)) => pseudo_header_v6(s, d, protocol, length),
        (IpAddr::V4(s), IpAddr::V6(d)) => pseudo(&s.octets(), &d.octets(), protocol, length),
        (IpAddr::V6(s), IpAddr::V4(d)) => pseudo(&s.octets(), &d.octets(), protocol, length),
    }
}

fn pseudo(src: &[u8], dst: &[u8], protocol: u8, length: u32) -> u16 {
    combine(&[
        sum(src),
        sum(dst),
        u16::from(protocol),
        (length >> 16) as u16,
        length as u16,
    ])
}

/// The checksum to write into a TCP/UDP/ICMPv6 header, computed over the pseudo-header and the
/// whole `segment` (header and payload) whose checksum field must be zero.
#[inline]
pub fn transport(src: IpAddr, dst: IpAddr, protocol: u8, segment: &[u8]) -> u16 {
    let len = u32::try_from(segment.len()).unwrap_or(u32::MAX);
    !combine(&[pseudo_header(src, dst, protocol, len), sum(segment)])
}

/// The UDP checksum of `segment` (checksum field zero): as [`transport`], except that a
/// computed 0 is sent as 0xffff because 0 means "no checksum" (RFC 768).
#[inline]
pub fn udp(src: IpAddr, dst: IpAddr, segment: &[u8]) -> u16 {
    match transport(src, dst, 17, segment) {
        0 => 0xffff,
        c => c,
    }
}

/// Whether a TCP/UDP/ICMPv6 `segment` with its checksum field filled in verifies.
#[inline]
pub fn verify_transport(src: IpAddr, dst: IpAddr, protocol: u8, segment: &[u8]) -> bool {
    let len = u32::try_from(segment.len()).unwrap_or(u32::MAX);
    combine(&[pseudo_header(src, dst, protocol, len), sum(segment)]) == 0xffff
}

/// Incremental update (RFC 1624, eqn. 3) of `checksum` after the bytes `old` were replaced by
/// `new`, e.g. a generator rewriting addresses without summing the payload again.
///
/// `old` and `new` must have the same length and start at an even offset of the checksummed
/// data; an odd-length pair is padded with zero like [`sum`] does.
#[inline]
pub fn update(checksum: u16, old: &[u8], new: &[u8]) -> u16 {
    !combine(&[!checksum, !sum(old), sum(new)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::hex;

    #[test]
    fn rfc1071_example() {
        // The worked example of RFC 1071 section 3: sum 0xddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(sum(&data), 0xddf2);
        assert_eq!(checksum(&data), !0xddf2);
    }

    #[test]
    fn odd_lengths_pad_with_zero() {
        assert_eq!(sum(&[0xab]), 0xab00);
        assert_eq!(sum(&[0x12, 0x34, 0xab]), 0x12 * 256 + 0x34 + 0xab00);
        assert_eq!(sum(&[]), 0);
        // Large input: carries must fold (every word is 0xffff, "negative zero").
        assert_eq!(sum(&[0xff; 100_000]), 0xffff);
        assert_eq!(sum(&[0x01; 100_000]), fold(50_000 * 0x0101));
    }

    #[test]
    fn real_ipv4_header_verifies() {
        // zeek_http_get.pcap frame 1, IPv4 header (checksum 0x6dd3, tshark: good).
        let h = hex("45000040df8e400040066dd38d8ee405c096bb2b");
        assert_eq!(checksum(&h), 0);
        let mut z = h.clone();
        z[10] = 0;
        z[11] = 0;
        assert_eq!(checksum(&z), 0x6dd3);
    }

    #[test]
    fn incremental_update_matches_full_recompute() {
        let mut h = hex("45000040df8e400040066dd38d8ee405c096bb2b");
        let old = h[12..16].to_vec();
        let new = [10, 0, 0, 1];
        h[12..16].copy_from_slice(&new);
        let updated = update(0x6dd3, &old, &new);
        h[10] = 0;
        h[11] = 0;
        assert_eq!(updated, checksum(&h));
    }
}
