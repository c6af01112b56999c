//! The packets around an alert, as the sensor captured them: a classic pcap file, carried in a
//! batch (base64 in JSON) and kept by the console for download.
//!
//! The console never parses the packets; it only checks that the bytes are a bounded pcap file
//! (a classic pcap header, at most [`MAX_ALERT_PCAP_BYTES`]) and that the alert id is a safe
//! token, since the id ends up in a file name and an HTTP header.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Most bytes of one alert's pcap (header and records): the sensor stops adding packets before
/// a capture would grow past it.
pub const MAX_ALERT_PCAP_BYTES: usize = 256 * 1024;

/// Longest alert id a capture may name, in bytes (sensor ids are 16 hex digits).
pub const MAX_ALERT_CAPTURE_ID_LEN: usize = 64;

/// Length of a classic pcap file header.
pub const PCAP_HEADER_LEN: usize = 24;

/// The packets around the first occurrence of one alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertCapture {
    /// The alert's id ([`crate::Alert::id`]).
    pub alert_id: String,
    /// A classic pcap file (base64 in JSON).
    #[serde(serialize_with = "to_base64", deserialize_with = "from_base64")]
    pub pcap: Vec<u8>,
}

/// Why a capture is not acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureProblem {
    /// The alert id is empty.
    EmptyId,
    /// The alert id is longer than [`MAX_ALERT_CAPTURE_ID_LEN`].
    IdTooLong,
    /// The alert id has characters outside `A-Z a-z 0-9 . _ : -`.
    IdCharacters,
    /// The pcap is larger than [`MAX_ALERT_PCAP_BYTES`].
    TooLarge,
    /// The bytes do not start with a classic pcap header.
    NotPcap,
}

impl AlertCapture {
    /// Checks the id and the pcap's size and header.
    pub fn check(&self) -> Result<(), CaptureProblem> {
        if self.alert_id.is_empty() {
            return Err(CaptureProblem::EmptyId);
        }
        if self.alert_id.len() > MAX_ALERT_CAPTURE_ID_LEN {
            return Err(CaptureProblem::IdTooLong);
        }
        if !is_safe_id(&self.alert_id) {
            return Err(CaptureProblem::IdCharacters);
        }
        if self.pcap.len() > MAX_ALERT_PCAP_BYTES {
            return Err(CaptureProblem::TooLarge);
        }
        if !is_pcap(&self.pcap) {
            return Err(CaptureProblem::NotPcap);
        }
        Ok(())
    }
}

/// Whether `id` is made of `A-Z a-z 0-9 . _ : -` only (and does not start with a dot): safe as a
/// file name and inside a quoted HTTP header value.
pub fn is_safe_id(id: &str) -> bool {
    !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// Whether `bytes` start with a classic pcap header (either byte order, micro- or nanosecond
/// timestamps).
pub fn is_pcap(bytes: &[u8]) -> bool {
    const MAGICS: [[u8; 4]; 4] = [
        [0xd4, 0xc3, 0xb2, 0xa1],
        [0xa1, 0xb2, 0xc3, 0xd4],
        [0x4d, 0x3c, 0xb2, 0xa1],
        [0xa1, 0xb2, 0x3c, 0x4d],
    ];
    bytes.len() >= PCAP_HEADER_LEN
        && bytes
            .get(..4)
            .is_some_and(|m| MAGICS.iter().any(|x| x == m))
}

fn to_base64<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    use base64::Engine;
    s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn from_base64<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    use base64::Engine;
    let text: std::borrow::Cow<'de, str> = Deserialize::deserialize(d)?;
    // Checked before decoding so that a hostile batch cannot make the decoder allocate more
    // than a capture may hold (base64 is 4 characters per 3 bytes).
    if text.len() > MAX_ALERT_PCAP_BYTES.div_ceil(3) * 4 {
        return Err(serde::de::Error::custom("pcap larger than 256 KiB"));
    }
    base64::engine::general_purpose::STANDARD
        .decode(text.as_bytes())
        .map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capture() -> AlertCapture {
        let mut pcap = vec![0xd4, 0xc3, 0xb2, 0xa1];
        pcap.resize(PCAP_HEADER_LEN, 0);
        AlertCapture {
            alert_id: "00ff00ff00ff00ff".into(),
            pcap,
        }
    }

    #[test]
    fn round_trips_as_base64_and_checks_bounds() {
        let c = capture();
        let json = serde_json::to_string(&c).unwrap();
        assert!(json.contains("\"pcap\":\"1MOyoQ"), "{json}");
        assert_eq!(serde_json::from_str::<AlertCapture>(&json).unwrap(), c);
        assert_eq!(c.check(), Ok(()));
        for (id, problem) in [
            ("", CaptureProblem::EmptyId),
            ("../etc", CaptureProblem::IdCharacters),
            (".hidden", CaptureProblem::IdCharacters),
            ("a\"b", CaptureProblem::IdCharacters),
        ] {
            let bad = AlertCapture {
                alert_id: id.into(),
                ..capture()
            };
            assert_eq!(bad.check(), Err(problem), "{id}");
        }
        let long = AlertCapture {
            alert_id: "a".repeat(MAX_ALERT_CAPTURE_ID_LEN + 1),
            ..capture()
        };
        assert_eq!(long.check(), Err(CaptureProblem::IdTooLong));
        let mut big = capture();
        big.pcap.resize(MAX_ALERT_PCAP_BYTES + 1, 0);
        assert_eq!(big.check(), Err(CaptureProblem::TooLarge));
        let mut pcapng = capture();
        pcapng.pcap[..4].copy_from_slice(&[0x0a, 0x0d, 0x0d, 0x0a]);
        assert_eq!(pcapng.check(), Err(CaptureProblem::NotPcap));
        let short = AlertCapture {
            pcap: vec![0xd4, 0xc3, 0xb2, 0xa1],
            ..capture()
        };
        assert_eq!(short.check(), Err(CaptureProblem::NotPcap));
    }

    #[test]
    fn oversized_base64_is_refused_before_decoding() {
        let text = "A".repeat(MAX_ALERT_PCAP_BYTES / 3 * 4 + 8);
        let json = format!("{{\"alert_id\":\"x\",\"pcap\":\"{text}\"}}");
        assert!(serde_json::from_str::<AlertCapture>(&json).is_err());
        let bad = "{\"alert_id\":\"x\",\"pcap\":\"not base64!\"}";
        assert!(serde_json::from_str::<AlertCapture>(bad).is_err());
    }
}
