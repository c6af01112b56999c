//! Webhooks: an HTTP(S) POST of the alert's JSON, signed with the rule's secret:
//! `X-Ironward-Signature: sha256=<hex HMAC-SHA256 of the body>`. A 2xx answer is acceptance;
//! anything else is retried with backoff.
//!
//! The client is deliberately small (one request per connection, `Connection: close`, the
//! status line read from at most [`MAX_RESPONSE_HEAD`] bytes): a webhook answer carries
//! nothing the forwarder needs besides its status.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::{ForwardError, TlsTrust};

/// Most bytes of the answer read to find its status line.
pub const MAX_RESPONSE_HEAD: usize = 8 * 1024;

/// The signature header's name.
pub const SIGNATURE_HEADER: &str = "X-Ironward-Signature";

/// A webhook URL: `http(s)://host[:port][/path]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// Whether TLS is used.
    pub https: bool,
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port.
    pub port: u16,
    /// Path and query (at least `/`).
    pub path: String,
}

impl Url {
    /// Parses a URL; user info, fragments and non-HTTP schemes are refused.
    pub fn parse(url: &str) -> Result<Self, ForwardError> {
        let bad = || {
            ForwardError::Invalid(format!(
                "webhook URL {url:?} is not http(s)://host[:port]/path"
            ))
        };
        if url.len() > 2048 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (https, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(bad());
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.contains('@') || path.contains('#') {
            return Err(bad());
        }
        let default_port = if https { 443 } else { 80 };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or_else(bad)?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| bad())?,
                None if after.is_empty() => default_port,
                None => return Err(bad()),
            };
            (host.to_owned(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), p.parse().map_err(|_| bad())?),
                None => (authority.to_owned(), default_port),
            }
        };
        if host.is_empty() || port == 0 {
            return Err(bad());
        }
        Ok(Self {
            https,
            host,
            port,
            path: path.to_owned(),
        })
    }

    fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("{host}:{}", self.port)
    }
}

/// `sha256=<hex>` of the HMAC-SHA256 of `body` under `secret`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    // HMAC takes keys of any length.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(body);
    let mut out = String::from("sha256=");
    for b in mac.finalize().into_bytes() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Reads the status code of an HTTP/1.x answer.
async fn status<R: AsyncRead + Unpin>(r: &mut R) -> Result<u16, ForwardError> {
    let mut head = Vec::with_capacity(256);
    let mut chunk = [0_u8; 512];
    loop {
        if let Some(end) = head.iter().position(|b| *b == b'\n') {
            let line = String::from_utf8_lossy(&head[..end]);
            let mut parts = line.split_whitespace();
            let version = parts.next().unwrap_or("");
            let code = parts.next().and_then(|c| c.parse::<u16>().ok());
            return match code {
                Some(code) if version.starts_with("HTTP/1.") => Ok(code),
                _ => Err(ForwardError::Refused("not an HTTP answer".to_owned())),
            };
        }
        if head.len() >= MAX_RESPONSE_HEAD {
            return Err(ForwardError::Refused(
                "answer without a status line".to_owned(),
            ));
        }
        let n = r.read(&mut chunk).await?;
        if n == 0 {
            return Err(ForwardError::Refused(
                "connection closed before an answer".to_owned(),
            ));
        }
        head.extend_from_slice(&chunk[..n]);
    }
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    request: &[u8],
) -> Result<u16, ForwardError> {
    stream.write_all(request).await?;
    stream.flush().await?;
    status(stream).await
}

/// POSTs `body` to `url`, signed with `secret` (no signature header when the secret is empty).
pub async fn post(
    url: &Url,
    trust: &TlsTrust,
    secret: &str,
    body: &[u8],
) -> Result<(), ForwardError> {
    let mut request = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: ironward/{}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        url.path,
        url.host_header(),
        env!("CARGO_PKG_VERSION"),
        body.len()
    );
    if !secret.is_empty() {
        request.push_str(&format!(
            "{SIGNATURE_HEADER}: {}\r\n",
            signature(secret.as_bytes(), body)
        ));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    let code = if url.https {
        let mut stream = super::tls::connect(trust, &url.host, url.port).await?;
        exchange(&mut stream, &bytes).await?
    } else {
        let mut stream = tokio::net::TcpStream::connect((url.host.as_str(), url.port)).await?;
        exchange(&mut stream, &bytes).await?
    };
    if (200..300).contains(&code) {
        Ok(())
    } else {
        Err(ForwardError::Refused(format!("HTTP {code}")))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn urls() {
        let u = Url::parse("https://siem.example:8443/hooks/ironward?x=1").unwrap();
        assert_eq!(
            (u.https, u.host.as_str(), u.port, u.path.as_str()),
            (true, "siem.example", 8443, "/hooks/ironward?x=1")
        );
        let u = Url::parse("http://[::1]/").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 80));
        for bad in [
            "ftp://x/",
            "http://",
            "http://u:p@h/",
            "http://h:0/",
            "http://h:x/",
            "http://h/a b",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn signature_is_the_rfc4231_hmac() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
