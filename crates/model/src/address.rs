//! What kind of network an address belongs to, for every stage that must tell a plant's own
//! traffic from traffic with the internet (anomaly detection, exposure management, the
//! console's inventory view) and must agree on it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Whether `ip` is an internet address: not private (RFC 1918, IPv6 unique-local), loopback,
/// link-local, multicast, broadcast, shared (CGNAT, 100.64.0.0/10), documentation, benchmarking
/// (198.18.0.0/15, 2001:2::/48), "this network" (0.0.0.0/8), reserved (240.0.0.0/4) or IETF
/// protocol assignments (192.0.0.0/24). IPv6 addresses are internet addresses only in global
/// unicast space (2000::/3); an IPv4-mapped address is judged as the IPv4 address.
pub fn is_internet(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internet_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_internet_v4(v4),
            None => is_internet_v6(v6),
        },
    }
}

fn is_internet_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let special = a == 0
        || a == 10
        || a == 127
        || a >= 224 // multicast, reserved, broadcast
        || (a == 100 && (64..128).contains(&b))
        || (a == 169 && b == 254)
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 168)
        || (a == 192 && b == 0 && c == 0)
        || (a == 192 && b == 0 && c == 2)
        || (a == 198 && (b == 18 || b == 19))
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113);
    !special
}

fn is_internet_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let global_unicast = s[0] & 0xe000 == 0x2000;
    let documentation = s[0] == 0x2001 && s[1] == 0x0db8;
    let benchmarking = s[0] == 0x2001 && s[1] == 0x0002 && s[2] == 0;
    global_unicast && !documentation && !benchmarking
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internet_addresses_are_public_unicast_only() {
        for public in [
            "8.8.8.8",
            "1.1.1.1",
            "138.68.10.203",
            "100.63.255.255",
            "100.128.0.1",
            "2a00:1450:4001::1",
            "2606:4700::1111",
            "::ffff:8.8.4.4",
        ] {
            assert!(is_internet(public.parse().unwrap()), "{public}");
        }
        for special in [
            "0.0.0.0",
            "10.1.2.3",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "169.254.216.43",
            "172.16.0.1",
            "172.31.19.73",
            "192.0.0.9",
            "192.0.2.30",
            "192.168.0.1",
            "198.18.0.1",
            "198.19.255.1",
            "198.51.100.20",
            "203.0.113.10",
            "224.0.0.251",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "ff02::1",
            "2001:db8::1",
            "2001:2::1",
            "::ffff:192.168.1.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_internet(special.parse().unwrap()), "{special}");
        }
        // The edges of the private and shared ranges.
        assert!(is_internet("172.15.255.255".parse().unwrap()));
        assert!(is_internet("172.32.0.0".parse().unwrap()));
        assert!(is_internet("198.20.0.0".parse().unwrap()));
    }
}
