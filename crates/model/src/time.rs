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
        let mut buf = [0u8; RFC3339_MAX];
        let len = self.write_rfc3339(&mut buf);
        String::from_utf8_lossy(&buf[..len]).into_owned()
    }

    /// Appends the RFC 3339 text to `out` (the bytes its `Serialize` writes between the quotes).
    pub fn push_rfc3339(self, out: &mut Vec<u8>) {
        let mut buf = [0u8; RFC3339_MAX];
        let len = self.write_rfc3339(&mut buf);
        out.extend_from_slice(&buf[..len]);
    }

    /// Writes the RFC 3339 text into `buf` without allocating (reports write hundreds of
    /// thousands of timestamps); returns its length. The text is the `time` crate's: UTC `Z`,
    /// the fraction with its trailing zeros cut, none when zero.
    fn write_rfc3339(self, buf: &mut [u8; RFC3339_MAX]) -> usize {
        let seconds = self.0.div_euclid(1_000_000_000);
        let nanos = self.0.rem_euclid(1_000_000_000) as u32;
        let (days, second_of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
        let (year, month, day) = civil_from_days(days);
        if !(0..=9999).contains(&year) {
            // Outside four-digit years: the slow, general path.
            let dt = ::time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0))
                .unwrap_or(::time::OffsetDateTime::UNIX_EPOCH);
            let text = dt
                .format(&::time::format_description::well_known::Rfc3339)
                .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned());
            let n = text.len().min(RFC3339_MAX);
            buf[..n].copy_from_slice(&text.as_bytes()[..n]);
            return n;
        }
        let digits = |buf: &mut [u8], mut value: u32| {
            for slot in buf.iter_mut().rev() {
                *slot = b'0' + (value % 10) as u8;
                value /= 10;
            }
        };
        digits(&mut buf[0..4], year as u32);
        buf[4] = b'-';
        digits(&mut buf[5..7], month);
        buf[7] = b'-';
        digits(&mut buf[8..10], day);
        buf[10] = b'T';
        digits(&mut buf[11..13], (second_of_day / 3600) as u32);
        buf[13] = b':';
        digits(&mut buf[14..16], (second_of_day / 60 % 60) as u32);
        buf[16] = b':';
        digits(&mut buf[17..19], (second_of_day % 60) as u32);
        let mut len = 19;
        if nanos != 0 {
            buf[19] = b'.';
            digits(&mut buf[20..29], nanos);
            len = 29;
            while buf[len - 1] == b'0' {
                len -= 1;
            }
        }
        buf[len] = b'Z';
        len + 1
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
        let mut buf = [0u8; RFC3339_MAX];
        let len = self.write_rfc3339(&mut buf);
        s.serialize_str(std::str::from_utf8(&buf[..len]).unwrap_or("1970-01-01T00:00:00Z"))
    }
}

/// Longest RFC 3339 text written (`-292277022657-01-27T08:29:52.000000001Z` is 38 bytes).
const RFC3339_MAX: usize = 40;

/// Year, month and day of the civil (proleptic Gregorian) calendar for days since 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
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
    fn the_fast_formatter_writes_what_the_time_crate_writes() {
        let reference = |ns: i64| {
            ::time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ns))
                .unwrap()
                .format(&::time::format_description::well_known::Rfc3339)
                .unwrap()
        };
        // Leap days, month and year ends, fractions with trailing zeros, before 1970.
        let mut ns: i64 = -2_208_988_800_000_000_000; // 1900-01-01
        let step = 7_919_000_000_123_457; // about 91.7 days and an odd fraction
        while ns < 4_102_444_800_000_000_000 {
            assert_eq!(Timestamp(ns).to_rfc3339(), reference(ns), "{ns}");
            ns += step;
        }
        for ns in [
            0,
            1,
            999_999_999,
            1_000_000_000,
            951_782_400_000_000_000,
            -1,
            10,
        ] {
            assert_eq!(Timestamp(ns).to_rfc3339(), reference(ns), "{ns}");
        }
        assert_eq!(
            serde_json::to_string(&Timestamp(1_772_438_411_795_800_000)).unwrap(),
            "\"2026-03-02T08:00:11.7958Z\""
        );
    }

    #[test]
    fn epoch_has_no_fraction() {
        assert_eq!(Timestamp(0).to_rfc3339(), "1970-01-01T00:00:00Z");
    }
}
