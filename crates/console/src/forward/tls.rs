//! TLS client configurations for forwarding destinations (rustls, ring, TLS 1.2 and 1.3).
//!
//! The receiver's certificate is verified against the configured CA certificates (chain, name,
//! validity) or, when a fingerprint is pinned, must be exactly that certificate (its handshake
//! signature is still verified). A destination with neither is refused: forwarding alerts to
//! whoever answers would leak them.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use sha2::{Digest, Sha256};

use super::{ForwardError, TlsTrust};

/// `sha256:<hex>` of a DER certificate.
pub fn fingerprint(der: &[u8]) -> String {
    let digest = Sha256::digest(der);
    let mut out = String::from("sha256:");
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// A fingerprint as configured, normalised (`sha256:` prefix optional, colons and case ignored).
fn normalise(pin: &str) -> Result<String, ForwardError> {
    let hex: String = pin
        .trim()
        .trim_start_matches("sha256:")
        .chars()
        .filter(|c| *c != ':')
        .collect::<String>()
        .to_ascii_lowercase();
    if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(ForwardError::Invalid(
            "fingerprint must be sha256: and 64 hex digits".to_owned(),
        ));
    }
    Ok(format!("sha256:{hex}"))
}

/// ring, like the console's server side (no C toolchain needed); rustls deprecates it for
/// lacking post-quantum key exchange, which alert forwarding does not need yet.
#[allow(deprecated)]
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The client configuration for `trust`.
pub fn client_config(trust: &TlsTrust) -> Result<Arc<ClientConfig>, ForwardError> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| ForwardError::Tls(e.to_string()))?;
    let config = if let Some(pin) = &trust.fingerprint {
        let verifier = PinVerifier {
            pin: normalise(pin)?,
            provider,
        };
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth()
    } else if let Some(pem) = &trust.ca_pem {
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            let cert = cert.map_err(|e| ForwardError::Invalid(format!("CA PEM: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| ForwardError::Invalid(format!("CA certificate: {e}")))?;
        }
        if roots.is_empty() {
            return Err(ForwardError::Invalid(
                "CA PEM holds no certificate".to_owned(),
            ));
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        return Err(ForwardError::Invalid(
            "TLS needs a CA certificate (ca_pem) or a pinned fingerprint".to_owned(),
        ));
    };
    Ok(Arc::new(config))
}

/// The name to verify and send as SNI.
pub fn server_name(trust: &TlsTrust, host: &str) -> Result<ServerName<'static>, ForwardError> {
    let name = trust.server_name.as_deref().unwrap_or(host);
    ServerName::try_from(name.to_owned())
        .map_err(|e| ForwardError::Invalid(format!("server name {name:?}: {e}")))
}

/// Accepts exactly the pinned certificate.
#[derive(Debug)]
struct PinVerifier {
    pin: String,
    provider: Arc<CryptoProvider>,
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
        if fingerprint(end_entity.as_ref()) == self.pin {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
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

/// Connects over TCP to `host:port` and performs the TLS handshake.
pub async fn connect(
    trust: &TlsTrust,
    host: &str,
    port: u16,
) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, ForwardError> {
    let config = client_config(trust)?;
    let name = server_name(trust, host)?;
    let tcp = tokio::net::TcpStream::connect((host, port)).await?;
    tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| ForwardError::Tls(e.to_string()))
}
