//! MAC addresses as the model (and its JSON) sees them.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A 48-bit MAC address, serialised as lower-case `aa:bb:cc:dd:ee:ff`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MacAddress(pub [u8; 6]);

impl MacAddress {
    /// Locally administered (U/L bit set): randomised phone/laptop MACs, virtual NICs.
    pub const fn is_locally_administered(&self) -> bool {
        self.0[0] & 0x02 != 0
    }

    /// Group address (multicast or broadcast).
    pub const fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }
}

impl fmt::Display for MacAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Written by hand: reports format every device's MAC (ids, JSON, CSV), and six `{:02x}`
        // through the formatting machinery cost more than the rest of the device.
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut text = [b':'; 17];
        for (i, byte) in self.0.iter().enumerate() {
            text[i * 3] = HEX[usize::from(byte >> 4)];
            text[i * 3 + 1] = HEX[usize::from(byte & 0x0f)];
        }
        f.write_str(std::str::from_utf8(&text).unwrap_or_default())
    }
}

impl fmt::Debug for MacAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::str::FromStr for MacAddress {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let mut out = [0u8; 6];
        let mut parts = s.split([':', '-']);
        for byte in &mut out {
            let part = parts.next().ok_or_else(|| format!("MAC too short: {s}"))?;
            *byte = u8::from_str_radix(part, 16).map_err(|_| format!("bad MAC: {s}"))?;
        }
        if parts.next().is_some() {
            return Err(format!("MAC too long: {s}"));
        }
        Ok(Self(out))
    }
}

impl Serialize for MacAddress {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MacAddress {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_text() {
        let m: MacAddress = "00:80:F4:0a:0b:0c".parse().unwrap();
        assert_eq!(m.to_string(), "00:80:f4:0a:0b:0c");
        assert!("00:80:f4".parse::<MacAddress>().is_err());
        assert!("00:80:f4:0a:0b:0c:0d".parse::<MacAddress>().is_err());
    }

    #[test]
    fn flags() {
        let random: MacAddress = "da:a1:19:00:00:01".parse().unwrap();
        assert!(random.is_locally_administered());
        assert!(!random.is_multicast());
    }
}
