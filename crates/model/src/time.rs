//! Timestamps: nanoseconds since the Unix epoch, serialised as RFC 3339.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in time, nanoseconds since the Unix epoch (UTC). Serialised as an RFC 3339 string
/// with nanosecond precision, e.g. `2024-03-01T12:00:00.123456789Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Builds a timestamp from nanoseconds since the epoch.
    pub const fn from_nanos(ns: i64) -> Self {
        Self(ns)
    }

    /// Nanoseconds since the epoch.
    pub const fn as_nanos(self) -> i64 {
        self.0
    }

    /// RFC 3339 text; timestamps outside the representable range are clamped to it.
    pub fn to_rfc3339(self) -> String {
        let dt = ::time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0))
            .unwrap_or(::time::OffsetDateTime::UNIX_EPOCH);
        dt.format(&::time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
    }

    /// Parses RFC 3339 text.
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        let dt =
            ::time::OffsetDateTime::parse(text, &::time::format_description::well_known::Rfc3339)
                .ok()?;
        i64::try_from(dt.unix_timestamp_nanos()).ok().map(Self)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse_rfc3339(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("not an RFC 3339 time: {text}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_with_nanoseconds() {
        let t = Timestamp(1_700_000_000_123_456_789);
        assert_eq!(t.to_rfc3339(), "2023-11-14T22:13:20.123456789Z");
        assert_eq!(Timestamp::parse_rfc3339(&t.to_rfc3339()), Some(t));
    }

    #[test]
    fn epoch_has_no_fraction() {
        assert_eq!(Timestamp(0).to_rfc3339(), "1970-01-01T00:00:00Z");
    }
}
