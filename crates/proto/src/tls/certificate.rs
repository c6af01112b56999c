/*!
What a device's X.509 certificate says about it: subject, issuer, validity and DNS names, read
with `x509-parser`, summed up in one line for the
[`Certificate`](ironward_model::Attribute::Certificate) fact, plus the two findings a
certificate can raise (self-signed, outside its validity).

Used by the TLS dissector (the leaf of a TLS ≤ 1.2 Certificate message) and by the RDP one (the
leaf of the X.509 chain in a Standard RDP Security server's Server Security Data).
*/

use std::borrow::Cow;
use std::fmt::{self, Write};

use ironward_model::{Attribute, DeviceKey, Finding, Source, Timestamp};
use x509_parser::der_parser::asn1_rs::Tag;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::x509::{AttributeTypeAndValue, X509Name};

use crate::observations::MAX_VALUE_LEN;
use crate::Observations;

/// Why a certificate could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificateError {
    /// Occurs when the DER does not decode as an X.509 certificate.
    Malformed(String),
}

impl fmt::Display for CertificateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(why) => write!(f, "malformed certificate: {why}"),
        }
    }
}

impl std::error::Error for CertificateError {}

/// The parts of a certificate that identify a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateSummary {
    /// Subject, as `CN=..., O=...` (the full distinguished name when it has neither).
    pub subject: String,
    /// Issuer, in the same form.
    pub issuer: String,
    /// Start of validity, seconds since the Unix epoch.
    pub not_before: i64,
    /// End of validity, seconds since the Unix epoch.
    pub not_after: i64,
    /// DNS names of the subjectAltName extension, in order.
    pub dns_names: Vec<String>,
    /// Whether the certificate names itself as its issuer (same subject and issuer, and the
    /// same key identifiers when both are present). Signatures are not verified: a passive
    /// monitor has no trust store, and a matching name is what marks a self-made certificate.
    pub self_signed: bool,
}

impl CertificateSummary {
    /// Reads a DER certificate.
    pub fn parse(der: &[u8]) -> Result<Self, CertificateError> {
        let (_, cert) = X509Certificate::from_der(der)
            .map_err(|e| CertificateError::Malformed(e.to_string()))?;
        let validity = cert.validity();
        let mut dns_names = Vec::new();
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for name in &san.value.general_names {
                if let GeneralName::DNSName(dns) = name {
                    dns_names.push((*dns).to_owned());
                }
            }
        }
        let (mut subject_key, mut authority_key) = (None, None);
        for extension in cert.extensions() {
            match extension.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(id) => subject_key = Some(id.0),
                ParsedExtension::AuthorityKeyIdentifier(aki) => {
                    authority_key = aki.key_identifier.as_ref().map(|id| id.0);
                }
                _ => {}
            }
        }
        let same_names = cert.subject().as_raw() == cert.issuer().as_raw();
        let same_keys = match (subject_key, authority_key) {
            (Some(s), Some(a)) => s == a,
            _ => true,
        };
        Ok(Self {
            subject: describe_name(cert.subject()),
            issuer: describe_name(cert.issuer()),
            not_before: validity.not_before.timestamp(),
            not_after: validity.not_after.timestamp(),
            dns_names,
            self_signed: same_names && same_keys,
        })
    }

    /// Whether `unix_seconds` falls within the validity period.
    pub fn is_valid_at(&self, unix_seconds: i64) -> bool {
        (self.not_before..=self.not_after).contains(&unix_seconds)
    }

    /// One line for people: `CN=a, O=b; issuer CN=c; valid 2023-01-01..2024-01-01; SAN x,y`.
    /// SANs come last: the fact value is cut at [`MAX_VALUE_LEN`] bytes, and a certificate with
    /// hundreds of names should still show who it is for and who issued it.
    pub fn describe(&self) -> String {
        let mut out = String::with_capacity(MAX_VALUE_LEN);
        let _ = write!(
            out,
            "{}; issuer {}; valid {}..{}",
            self.subject,
            self.issuer,
            Date(self.not_before),
            Date(self.not_after)
        );
        for (i, name) in self.dns_names.iter().enumerate() {
            if out.len() > MAX_VALUE_LEN {
                break;
            }
            out.push_str(if i == 0 { "; SAN " } else { "," });
            out.push_str(name);
        }
        out
    }
}

/// Reports a device's certificate: the [`Certificate`](Attribute::Certificate) fact and, for a
/// server's certificate, the self-signed and expired findings (judged at `now`, the capture
/// time of the packet that completed the certificate).
pub fn report(
    summary: &CertificateSummary,
    subject: DeviceKey,
    is_server: bool,
    source: Source,
    now: Timestamp,
    out: &mut Observations,
) {
    out.fact(
        subject,
        Attribute::Certificate,
        &summary.describe(),
        source,
        now,
    );
    if !is_server {
        return;
    }
    if summary.self_signed {
        out.finding(subject, Finding::TlsSelfSignedCertificate, source, now);
    }
    let seconds = now.as_nanos().div_euclid(1_000_000_000);
    if !summary.is_valid_at(seconds) {
        out.finding(subject, Finding::TlsExpiredCertificate, source, now);
    }
}

/// `CN=..., O=...` for a name with a common name or organisation; otherwise its whole
/// distinguished name as x509-parser prints it.
fn describe_name(name: &X509Name<'_>) -> String {
    let mut out = String::new();
    for (label, attr) in name
        .iter_common_name()
        .map(|a| ("CN", a))
        .chain(name.iter_organization().map(|a| ("O", a)))
    {
        if !out.is_empty() {
            out.push_str(", ");
        }
        out.push_str(label);
        out.push('=');
        out.push_str(&attribute_text(attr));
    }
    if out.is_empty() {
        out = name.to_string();
    }
    out
}

/// An attribute value as text, whatever ASN.1 string type carries it (BMPString is UTF-16).
fn attribute_text<'a>(attr: &'a AttributeTypeAndValue<'_>) -> Cow<'a, str> {
    if let Ok(text) = attr.as_str() {
        return Cow::Borrowed(text);
    }
    let bytes = attr.as_slice();
    if attr.attr_value().tag() == Tag::BmpString {
        let units = bytes
            .chunks_exact(2)
            .map(|pair| u16::from_be_bytes([pair[0], pair[1]]));
        return Cow::Owned(
            char::decode_utf16(units)
                .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect(),
        );
    }
    String::from_utf8_lossy(bytes)
}

/// A Unix time printed as its UTC calendar date, `YYYY-MM-DD`.
struct Date(i64);

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = civil_from_days(self.0.div_euclid(86_400));
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`), in plain integer arithmetic so that no date can overflow or panic.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days.saturating_add(719_468);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(Date(0).to_string(), "1970-01-01");
        assert_eq!(Date(1_672_849_247).to_string(), "2023-01-04");
        assert_eq!(Date(951_782_400).to_string(), "2000-02-29");
        assert_eq!(Date(-86_400).to_string(), "1969-12-31");
        assert_eq!(Date(253_402_300_799).to_string(), "9999-12-31");
        // Extremes must not panic.
        let _ = Date(i64::MAX).to_string();
        let _ = Date(i64::MIN).to_string();
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(CertificateSummary::parse(&[0x30, 0x03, 0x02, 0x01, 0x00]).is_err());
        assert!(CertificateSummary::parse(&[]).is_err());
    }
}
