/*!
TLS client fingerprints computed from a ClientHello: JA3 (Salesforce) and JA4 (FoxIO).

- **JA3**: `SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats`, each list
  of decimal values joined by `-` in wire order with GREASE values removed, then the MD5 of that
  string in lower-case hex (github.com/salesforce/ja3, as Wireshark's `tls.handshake.ja3`).
- **JA4**: `t13d1516h2_8daaf6152771_e5627efa2ab1`: transport, highest offered version, SNI or
  not, cipher and extension counts, first and last characters of the first ALPN value; then the
  truncated SHA-256 of the sorted cipher list; then that of the sorted extension list (without
  SNI and ALPN) followed by the signature algorithms in wire order (FoxIO's
  `technical_details/JA4.md`).
*/

use std::fmt::Write;

use md5::{Digest, Md5};
use sha2::Sha256;

use super::handshake::{ext, is_grease, version, ClientHello};

/// The JA3 string of a ClientHello (the text whose MD5 is the JA3 fingerprint).
pub fn ja3_string(hello: &ClientHello<'_>) -> String {
    let mut out = String::with_capacity(256);
    let _ = write!(out, "{},", hello.legacy_version);
    join_decimal(&mut out, hello.cipher_suites().iter());
    out.push(',');
    join_decimal(&mut out, hello.extensions().map(|e| e.kind));
    out.push(',');
    join_decimal(&mut out, hello.supported_groups().iter());
    out.push(',');
    join_decimal(
        &mut out,
        hello.ec_point_formats().iter().map(|f| u16::from(*f)),
    );
    out
}

/// The JA3 fingerprint: MD5 of [`ja3_string`], lower-case hex.
pub fn ja3(hello: &ClientHello<'_>) -> String {
    hex(&Md5::digest(ja3_string(hello).as_bytes()))
}

/// Appends the non-GREASE values, in decimal, joined by `-`.
fn join_decimal(out: &mut String, values: impl Iterator<Item = u16>) {
    let mut first = true;
    for value in values.filter(|v| !is_grease(*v)) {
        if !first {
            out.push('-');
        }
        first = false;
        let _ = write!(out, "{value}");
    }
}

/// The JA4 fingerprint of a ClientHello carried over TCP.
pub fn ja4(hello: &ClientHello<'_>) -> String {
    let ja4_r = ja4_raw(hello);
    let mut parts = ja4_r.split('_');
    let a = parts.next().unwrap_or_default();
    let ciphers = parts.next().unwrap_or_default();
    let rest = ja4_r.get(a.len() + ciphers.len() + 2..).unwrap_or_default();
    format!(
        "{a}_{}_{}",
        truncated_sha256(ciphers),
        truncated_sha256(rest)
    )
}

/// The raw JA4 (`JA4_r`): the `a` part, then the sorted cipher list, then the sorted extension
/// list (without SNI and ALPN) and the signature algorithms, `_`-separated.
pub fn ja4_raw(hello: &ClientHello<'_>) -> String {
    let mut ciphers: Vec<u16> = hello
        .cipher_suites()
        .iter()
        .filter(|c| !is_grease(*c))
        .collect();
    let extensions: Vec<u16> = hello
        .extensions()
        .map(|e| e.kind)
        .filter(|e| !is_grease(*e))
        .collect();
    let mut out = String::with_capacity(512);
    out.push('t');
    out.push_str(version_code(hello.highest_version()));
    out.push(if hello.extension(ext::SERVER_NAME).is_some() {
        'd'
    } else {
        'i'
    });
    let _ = write!(
        out,
        "{:02}{:02}",
        ciphers.len().min(99),
        extensions.len().min(99)
    );
    alpn_code(&mut out, hello.alpn().next().unwrap_or_default());
    out.push('_');
    ciphers.sort_unstable();
    join_hex(&mut out, ciphers.into_iter());
    out.push('_');
    let mut sorted: Vec<u16> = extensions
        .into_iter()
        .filter(|e| *e != ext::SERVER_NAME && *e != ext::ALPN)
        .collect();
    sorted.sort_unstable();
    join_hex(&mut out, sorted.into_iter());
    let mut signatures = hello
        .signature_algorithms()
        .iter()
        .filter(|s| !is_grease(*s))
        .peekable();
    if signatures.peek().is_some() {
        out.push('_');
        join_hex(&mut out, signatures);
    }
    out
}

/// JA4's two-character version code.
fn version_code(v: u16) -> &'static str {
    match v {
        version::TLS13 => "13",
        version::TLS12 => "12",
        version::TLS11 => "11",
        version::TLS10 => "10",
        version::SSL3 => "s3",
        0x0002 => "s2",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    }
}

/// JA4's ALPN code: first and last characters of the first value when both are ASCII
/// alphanumerics, else the first and last hex digits of the value; `00` when empty.
fn alpn_code(out: &mut String, value: &[u8]) {
    let (Some(&first), Some(&last)) = (value.first(), value.last()) else {
        out.push_str("00");
        return;
    };
    if first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric() {
        out.push(char::from(first));
        out.push(char::from(last));
    } else {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        out.push(char::from(DIGITS[usize::from(first >> 4)]));
        out.push(char::from(DIGITS[usize::from(last & 0x0f)]));
    }
}

/// Appends the values as four lower-case hex digits, joined by `,`.
fn join_hex(out: &mut String, values: impl Iterator<Item = u16>) {
    for (i, value) in values.enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{value:04x}");
    }
}

/// The first 12 hex digits of the SHA-256 of `text`, or twelve zeros when `text` is empty
/// (JA4 marks empty lists that way rather than hashing nothing).
fn truncated_sha256(text: &str) -> String {
    if text.is_empty() {
        return "000000000000".to_owned();
    }
    let digest = Sha256::digest(text.as_bytes());
    hex(digest.get(..6).unwrap_or_default())
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a ClientHello body from its parts (extension bodies given whole).
    pub(crate) fn client_hello(
        legacy_version: u16,
        ciphers: &[u16],
        extensions: &[(u16, Vec<u8>)],
    ) -> Vec<u8> {
        let mut body = legacy_version.to_be_bytes().to_vec();
        body.extend_from_slice(&[0x11; 32]);
        body.push(0);
        body.extend_from_slice(&u16::try_from(ciphers.len() * 2).unwrap().to_be_bytes());
        for c in ciphers {
            body.extend_from_slice(&c.to_be_bytes());
        }
        body.extend_from_slice(&[1, 0]);
        let mut block = Vec::new();
        for (kind, data) in extensions {
            block.extend_from_slice(&kind.to_be_bytes());
            block.extend_from_slice(&u16::try_from(data.len()).unwrap().to_be_bytes());
            block.extend_from_slice(data);
        }
        body.extend_from_slice(&u16::try_from(block.len()).unwrap().to_be_bytes());
        body.extend_from_slice(&block);
        body
    }

    fn list16(prefix_len: usize, values: &[u16]) -> Vec<u8> {
        let mut out = Vec::new();
        let len = values.len() * 2;
        if prefix_len == 1 {
            out.push(u8::try_from(len).unwrap());
        } else {
            out.extend_from_slice(&u16::try_from(len).unwrap().to_be_bytes());
        }
        for v in values {
            out.extend_from_slice(&v.to_be_bytes());
        }
        out
    }

    /// The ClientHello of FoxIO's JA4 specification example ("JA4_ro" lists its ciphers,
    /// extensions and signature algorithms in wire order), with GREASE added where Chrome puts
    /// it, which must not change anything.
    fn foxio_example() -> Vec<u8> {
        let ciphers = [
            0x3a3a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
            0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
        ];
        let mut sni = Vec::new();
        sni.extend_from_slice(&14u16.to_be_bytes());
        sni.push(0);
        sni.extend_from_slice(&11u16.to_be_bytes());
        sni.extend_from_slice(b"example.com");
        let alpn = [
            0, 12, 2, b'h', b'2', 8, b'h', b't', b't', b'p', b'/', b'1', b'.', b'1',
        ];
        let signatures = [
            0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
        ];
        let extensions = vec![
            (0x2a2a, Vec::new()),
            (0x001b, vec![2, 0, 2]),
            (0x0000, sni),
            (0x0033, vec![0, 0]),
            (0x0010, alpn.to_vec()),
            (0x4469, vec![0, 3, 2, b'h', b'2']),
            (0x0017, Vec::new()),
            (0x002d, vec![1, 1]),
            (0x000d, list16(2, &signatures)),
            (0x0005, vec![1, 0, 0, 0, 0]),
            (0x0023, Vec::new()),
            (0x0012, Vec::new()),
            (0x002b, list16(1, &[0x7a7a, 0x0304, 0x0303])),
            (0xff01, vec![0]),
            (0x000b, vec![1, 0]),
            (0x000a, list16(2, &[0x8a8a, 0x001d, 0x0017, 0x0018])),
            (0x0015, vec![0; 10]),
            (0x1a1a, vec![0]),
        ];
        client_hello(0x0303, &ciphers, &extensions)
    }

    #[test]
    fn ja4_matches_the_foxio_specification_example() {
        let body = foxio_example();
        let hello = ClientHello::parse(&body).unwrap();
        assert_eq!(
            ja4_raw(&hello),
            "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,\
             cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,\
             0804,0401,0503,0805,0501,0806,0601"
        );
        assert_eq!(ja4(&hello), "t13d1516h2_8daaf6152771_e5627efa2ab1");
    }

    #[test]
    fn ja4_published_hashes() {
        // The spec's own worked values for the cipher and extension hashes.
        assert_eq!(
            truncated_sha256(
                "002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9"
            ),
            "8daaf6152771"
        );
        assert_eq!(
            truncated_sha256(
                "0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01"
            ),
            "6d807ffa2a79"
        );
        assert_eq!(truncated_sha256(""), "000000000000");
    }

    #[test]
    fn ja4_without_signatures_alpn_or_sni() {
        let body = client_hello(0x0301, &[0x002f, 0x0035], &[(0x000b, vec![1, 0])]);
        let hello = ClientHello::parse(&body).unwrap();
        assert_eq!(ja4_raw(&hello), "t10i020100_002f,0035_000b");
        let body = client_hello(0x0303, &[], &[]);
        let hello = ClientHello::parse(&body).unwrap();
        assert_eq!(ja4(&hello), "t12i000000_000000000000_000000000000");
    }

    #[test]
    fn ja4_alpn_codes_follow_the_specification() {
        let code = |value: &[u8]| {
            let mut out = String::new();
            alpn_code(&mut out, value);
            out
        };
        assert_eq!(code(b"h2"), "h2");
        assert_eq!(code(b"http/1.1"), "h1");
        assert_eq!(code(b"h"), "hh");
        assert_eq!(code(b""), "00");
        assert_eq!(code(&[0xab]), "ab");
        assert_eq!(code(&[0xab, 0xcd]), "ad");
        assert_eq!(code(&[0x30, 0xab]), "3b");
        assert_eq!(code(&[0x30, 0x31, 0xab, 0xcd]), "3d");
        assert_eq!(code(&[0x30, 0xab, 0xcd, 0x31]), "01");
    }

    #[test]
    fn ja3_removes_grease_everywhere() {
        let body = foxio_example();
        let hello = ClientHello::parse(&body).unwrap();
        assert_eq!(
            ja3_string(&hello),
            "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,\
             27-0-51-16-17513-23-45-13-5-35-18-43-65281-11-10-21,29-23-24,0"
        );
        assert_eq!(ja3(&hello).len(), 32);
    }

    #[test]
    fn ja3_of_a_hello_without_extensions_keeps_the_commas() {
        let mut body = vec![0x03, 0x00];
        body.extend_from_slice(&[7; 32]);
        body.extend_from_slice(&[0, 0, 4, 0, 0x0a, 0, 0x2f, 1, 0]);
        let hello = ClientHello::parse(&body).unwrap();
        assert_eq!(ja3_string(&hello), "768,10-47,,,");
    }
}
