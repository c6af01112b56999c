//! Certificate pinning: the sensor trusts exactly one console certificate.
//!
//! The console serves a self-signed certificate, so no certificate authority can vouch for it.
//! Instead the sensor records the SHA-256 of the console's leaf certificate when it enrols
//! (trust on first use, or checked against the fingerprint the console's UI printed) and from
//! then on accepts exactly that certificate. Host names and validity dates are not checked:
//! the pin replaces them, and a console's address may legitimately change. Handshake
//! signatures are still verified with the `ring` provider's algorithms, so only the holder of
//! the pinned certificate's private key can complete a handshake.

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};

/// The SHA-256 of a DER certificate; written `sha256:` and 64 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// The fingerprint of a DER-encoded certificate.
    pub fn of_certificate(der: &[u8]) -> Self {
        Self(Sha256::digest(der).into())
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sha256:")?;
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A fingerprint could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "certificate fingerprint {0:?} is not `sha256:` followed by 64 hex digits (colons allowed)"
)]
pub struct FingerprintError(pub String);

impl FromStr for Fingerprint {
    type Err = FingerprintError;

    /// Reads `sha256:HEX`; the hex digits may be upper or lower case and separated by colons
    /// (as `openssl x509 -fingerprint` prints them).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || FingerprintError(text.chars().take(120).collect());
        let trimmed = text.trim();
        let hex = trimmed
            .strip_prefix("sha256:")
            .or_else(|| trimmed.strip_prefix("SHA256:"))
            .ok_or_else(error)?;
        let mut out = [0u8; 32];
        let mut digits = hex.bytes().filter(|&b| b != b':');
        for byte in &mut out {
            let hi = digits.next().and_then(hex_value).ok_or_else(error)?;
            let lo = digits.next().and_then(hex_value).ok_or_else(error)?;
            *byte = hi << 4 | lo;
        }
        if digits.next().is_some() {
            return Err(error());
        }
        Ok(Self(out))
    }
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// The `ring` crypto provider.
///
/// rustls 0.23.48 deprecates it because it lacks post-quantum key exchange; the sensor still
/// uses it because the alternative (aws-lc-rs) needs a C toolchain and cmake on every build
/// machine, and a pinned link between two hosts of one site is not the threat post-quantum key
/// exchange addresses (recording today to decrypt decades later).
#[allow(deprecated)]
pub fn ring_provider() -> CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// What a [`PinVerifier`] saw on its most recent handshake.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PinObservation {
    /// The leaf certificate the server presented.
    pub presented: Option<Fingerprint>,
    /// The presented certificate was refused because it is not the pinned one.
    pub mismatch: bool,
}

/// A rustls server-certificate verifier that accepts exactly one leaf certificate (or, before
/// enrolment without a known fingerprint, any certificate, recording which).
#[derive(Debug)]
pub struct PinVerifier {
    pin: Option<Fingerprint>,
    provider: Arc<CryptoProvider>,
    seen: Mutex<PinObservation>,
}

impl PinVerifier {
    /// A verifier that accepts only the certificate with this fingerprint.
    pub fn pinned(pin: Fingerprint) -> Self {
        Self::new(Some(pin))
    }

    /// A verifier that accepts any certificate and records its fingerprint (trust on first use,
    /// for enrolment only).
    pub fn trust_on_first_use() -> Self {
        Self::new(None)
    }

    fn new(pin: Option<Fingerprint>) -> Self {
        Self {
            pin,
            provider: Arc::new(ring_provider()),
            seen: Mutex::new(PinObservation::default()),
        }
    }

    /// The certificate pinned, if any.
    pub fn pin(&self) -> Option<Fingerprint> {
        self.pin
    }

    /// What the most recent handshake presented.
    pub fn observation(&self) -> PinObservation {
        *self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A TLS client configuration (ring provider, TLS 1.2 and 1.3) that verifies the server
    /// with this verifier.
    pub fn client_config(self: &Arc<Self>) -> Result<ClientConfig, rustls::Error> {
        Ok(
            ClientConfig::builder_with_provider(Arc::clone(&self.provider))
                .with_safe_default_protocol_versions()?
                .dangerous()
                .with_custom_certificate_verifier(Arc::clone(self) as Arc<dyn ServerCertVerifier>)
                .with_no_client_auth(),
        )
    }
}

impl ServerCertVerifier for PinVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let presented = Fingerprint::of_certificate(end_entity.as_ref());
        let mismatch = self.pin.is_some_and(|pin| pin != presented);
        *self.seen.lock().unwrap_or_else(PoisonError::into_inner) = PinObservation {
            presented: Some(presented),
            mismatch,
        };
        if mismatch {
            return Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ));
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_round_trip_and_accept_colons_and_case() {
        let fp = Fingerprint::of_certificate(b"not really a certificate");
        let text = fp.to_string();
        assert!(text.starts_with("sha256:") && text.len() == 7 + 64);
        assert_eq!(text.parse::<Fingerprint>().unwrap(), fp);
        let colons: String = text.as_bytes()[7..]
            .chunks(2)
            .map(|pair| std::str::from_utf8(pair).unwrap().to_uppercase())
            .collect::<Vec<_>>()
            .join(":");
        assert_eq!(
            format!("SHA256:{colons}").parse::<Fingerprint>().unwrap(),
            fp
        );
    }

    #[test]
    fn malformed_fingerprints_are_refused() {
        for bad in [
            "",
            "sha256:",
            "md5:00",
            "sha256:0g",
            &format!("sha256:{}", "0".repeat(63)),
            &format!("sha256:{}", "0".repeat(66)),
        ] {
            assert!(bad.parse::<Fingerprint>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_verifier_accepts_only_the_pinned_leaf() {
        let good = CertificateDer::from(b"certificate A".to_vec());
        let bad = CertificateDer::from(b"certificate B".to_vec());
        let name = ServerName::try_from("console.invalid").unwrap();
        let verifier = PinVerifier::pinned(Fingerprint::of_certificate(good.as_ref()));
        verifier
            .verify_server_cert(&good, &[], &name, &[], UnixTime::now())
            .unwrap();
        assert!(!verifier.observation().mismatch);
        let err = verifier
            .verify_server_cert(&bad, &[], &name, &[], UnixTime::now())
            .unwrap_err();
        assert!(matches!(err, rustls::Error::InvalidCertificate(_)));
        let seen = verifier.observation();
        assert!(seen.mismatch);
        assert_eq!(
            seen.presented,
            Some(Fingerprint::of_certificate(bad.as_ref()))
        );
    }

    #[test]
    fn trust_on_first_use_records_what_it_saw() {
        let cert = CertificateDer::from(b"certificate A".to_vec());
        let name = ServerName::try_from("127.0.0.1").unwrap();
        let verifier = PinVerifier::trust_on_first_use();
        verifier
            .verify_server_cert(&cert, &[], &name, &[], UnixTime::now())
            .unwrap();
        assert_eq!(
            verifier.observation().presented,
            Some(Fingerprint::of_certificate(cert.as_ref()))
        );
        let verifier = Arc::new(verifier);
        verifier.client_config().unwrap();
        assert!(!verifier.supported_verify_schemes().is_empty());
    }
}
