//! Subnets (`10.0.0.0/8`, `fd00::/8`, or a single address) for exclusion and custom rules.

use std::fmt;
use std::net::IpAddr;

use crate::{Result, StoreError};

/// An address block: the network address (host bits cleared) and the prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    network: IpAddr,
    prefix: u8,
}

impl Subnet {
    /// Parses `address/prefix` or a bare address (a host route); the host bits are cleared,
    /// so `10.1.2.3/8` is `10.0.0.0/8`.
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        let bad = || StoreError::Invalid(format!("subnet {text:?}: expected address/prefix"));
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let network: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().map_err(|_| bad())?,
            None => max,
        };
        if prefix > max {
            return Err(bad());
        }
        let network = match network {
            IpAddr::V4(v4) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
                IpAddr::V4((u32::from(v4) & mask).into())
            }
            IpAddr::V6(v6) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
                IpAddr::V6((u128::from(v6) & mask).into())
            }
        };
        Ok(Self { network, prefix })
    }

    /// Whether `ip` lies in the block (an address of the other family never does).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(ip) & mask == u32::from(net)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(ip) & mask == u128::from(net)
            }
            _ => false,
        }
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_normalises_and_matches() {
        let s = Subnet::parse("10.1.2.3/8").unwrap();
        assert_eq!(s.to_string(), "10.0.0.0/8");
        assert!(s.contains("10.200.0.1".parse().unwrap()));
        assert!(!s.contains("11.0.0.1".parse().unwrap()));
        assert!(!s.contains("::1".parse().unwrap()));
        let all = Subnet::parse("0.0.0.0/0").unwrap();
        assert!(all.contains("192.168.1.1".parse().unwrap()));
        let host = Subnet::parse("fd00::1").unwrap();
        assert_eq!(host.to_string(), "fd00::1/128");
        assert!(host.contains("fd00::1".parse().unwrap()));
        for bad in ["", "10.0.0.0/33", "x/8", "10.0.0.0/-1", "::/129"] {
            assert!(Subnet::parse(bad).is_err(), "{bad}");
        }
    }
}
