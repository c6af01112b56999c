//! E-mail: one message per alert over SMTP, always upgraded with STARTTLS (`lettre`, rustls
//! with ring). The server's certificate is verified against the destination's CA PEM (lettre
//! takes roots, not a pinned certificate, so e-mail destinations need `ca_pem`). The message
//! counts as accepted when the server answers the data with 250.

use std::time::Duration;

use ironward_store::ForwardAlert;
use lettre::message::{header::ContentType, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{ForwardError, TlsTrust};

/// Refuses what is not a plain `local@domain` address.
pub fn check_address(address: &str) -> Result<(), ForwardError> {
    address
        .parse::<Mailbox>()
        .map(|_| ())
        .map_err(|e| ForwardError::Invalid(format!("e-mail address {address:?}: {e}")))?;
    if address.len() > 254 || address.chars().any(|c| c.is_control()) {
        return Err(ForwardError::Invalid("e-mail address too long".to_owned()));
    }
    Ok(())
}

/// The subject line: `[Ironward] <severity>: <title>` (line breaks removed).
pub fn subject(alert: &ForwardAlert) -> String {
    let title: String = alert
        .title
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    format!("[Ironward] {}: {title}", alert.severity)
}

/// The text body: what happened, then the JSON alert.
pub fn body(alert: &ForwardAlert) -> String {
    let json = serde_json::to_string_pretty(&super::json(alert)).unwrap_or_default();
    format!(
        "{}\n\nSeverity: {}\nEngine: {}\nCount: {}\nSource: {}\nDestination: {}\nTechniques: {}\n\n{}\n\n{json}\n",
        alert.title,
        alert.severity,
        alert.engine,
        alert.count,
        alert.text("src_ip").unwrap_or("-"),
        alert.text("dst_ip").unwrap_or("-"),
        super::techniques(alert),
        alert.text("description").unwrap_or(""),
    )
}

/// The STARTTLS parameters for `host`.
fn tls_parameters(trust: &TlsTrust, host: &str) -> Result<TlsParameters, ForwardError> {
    let pem = trust.ca_pem.as_deref().ok_or_else(|| {
        ForwardError::Invalid(
            "e-mail destinations need the server's CA certificate (ca_pem)".to_owned(),
        )
    })?;
    let cert = Certificate::from_pem(pem.as_bytes())
        .map_err(|e| ForwardError::Invalid(format!("CA PEM: {e}")))?;
    TlsParameters::builder(trust.server_name.clone().unwrap_or_else(|| host.to_owned()))
        .certificate_store(CertificateStore::None)
        .add_root_certificate(cert)
        .build_rustls()
        .map_err(|e| ForwardError::Tls(e.to_string()))
}

/// Checks the destination's TLS settings (without connecting).
pub fn check_tls(trust: &TlsTrust, host: &str) -> Result<(), ForwardError> {
    tls_parameters(trust, host).map(|_| ())
}

/// The parts of an e-mail destination.
#[derive(Debug, Clone, Copy)]
pub struct Mail<'a> {
    /// Server.
    pub host: &'a str,
    /// Port.
    pub port: u16,
    /// Sender.
    pub from: &'a str,
    /// Recipients.
    pub to: &'a [String],
    /// User name, when logging in.
    pub username: Option<&'a str>,
    /// The password (the rule's secret).
    pub password: &'a str,
    /// TLS verification.
    pub trust: &'a TlsTrust,
}

/// Sends the alert.
pub async fn send(
    mail: Mail<'_>,
    alert: &ForwardAlert,
    timeout: Duration,
) -> Result<(), ForwardError> {
    let invalid = |e: &dyn std::fmt::Display| ForwardError::Invalid(e.to_string());
    let mut builder = Message::builder()
        .from(mail.from.parse::<Mailbox>().map_err(|e| invalid(&e))?)
        .subject(subject(alert))
        .header(ContentType::TEXT_PLAIN);
    for to in mail.to {
        builder = builder.to(to.parse::<Mailbox>().map_err(|e| invalid(&e))?);
    }
    let message = builder.body(body(alert)).map_err(|e| invalid(&e))?;
    let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(mail.host)
        .port(mail.port)
        .timeout(Some(timeout))
        .tls(Tls::Required(tls_parameters(mail.trust, mail.host)?));
    if let Some(user) = mail.username {
        transport =
            transport.credentials(Credentials::new(user.to_owned(), mail.password.to_owned()));
    }
    let response = transport
        .build()
        .send(message)
        .await
        .map_err(|e| ForwardError::Refused(e.to_string()))?;
    if response.is_positive() {
        Ok(())
    } else {
        Err(ForwardError::Refused(format!("SMTP {}", response.code())))
    }
}
