/*!
TLS handshake messages as zero-copy views: the message header, ClientHello, ServerHello and the
(TLS ≤ 1.2, clear-text) Certificate message (RFC 5246 §7.4, RFC 8446 §4).

Parsing validates the framing of the whole message once (every length field against the bytes
it covers), so the accessors afterwards cannot fail; extension contents are read lazily and a
malformed extension reads as absent or empty. Nothing here allocates or panics.
*/

use std::fmt;

/// Handshake message types this crate looks at (RFC 8446 §4, RFC 5246 §7.4).
pub mod msg_type {
    /// ClientHello.
    pub const CLIENT_HELLO: u8 = 1;
    /// ServerHello (also HelloRetryRequest in TLS 1.3).
    pub const SERVER_HELLO: u8 = 2;
    /// Certificate.
    pub const CERTIFICATE: u8 = 11;
    /// ServerHelloDone (TLS ≤ 1.2): the end of the server's clear-text flight.
    pub const SERVER_HELLO_DONE: u8 = 14;
    /// ClientKeyExchange (TLS ≤ 1.2): the client's last clear-text message of interest.
    pub const CLIENT_KEY_EXCHANGE: u8 = 16;
}

/// Extension types this crate reads (IANA "TLS ExtensionType Values").
pub mod ext {
    /// server_name (SNI).
    pub const SERVER_NAME: u16 = 0;
    /// supported_groups (formerly elliptic_curves).
    pub const SUPPORTED_GROUPS: u16 = 10;
    /// ec_point_formats.
    pub const EC_POINT_FORMATS: u16 = 11;
    /// signature_algorithms.
    pub const SIGNATURE_ALGORITHMS: u16 = 13;
    /// application_layer_protocol_negotiation (ALPN).
    pub const ALPN: u16 = 16;
    /// supported_versions.
    pub const SUPPORTED_VERSIONS: u16 = 43;
}

/// Protocol versions as they appear on the wire.
pub mod version {
    /// SSL 3.0.
    pub const SSL3: u16 = 0x0300;
    /// TLS 1.0.
    pub const TLS10: u16 = 0x0301;
    /// TLS 1.1.
    pub const TLS11: u16 = 0x0302;
    /// TLS 1.2.
    pub const TLS12: u16 = 0x0303;
    /// TLS 1.3.
    pub const TLS13: u16 = 0x0304;
}

/// The `random` of a ServerHello that is really a HelloRetryRequest (RFC 8446 §4.1.3): the
/// SHA-256 of "HelloRetryRequest".
const HELLO_RETRY_REQUEST_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Whether a 16-bit code point is a GREASE value (RFC 8701: 0x0A0A, 0x1A1A, ..., 0xFAFA), which
/// clients sprinkle into lists to keep servers tolerant and fingerprints must ignore.
pub fn is_grease(value: u16) -> bool {
    value & 0x0f0f == 0x0a0a && value >> 8 == value & 0xff
}

/// What was wrong with a handshake message, and where (offset from the start of the message
/// body).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeError {
    /// Occurs when the message ends inside a field.
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Where it started.
        offset: usize,
    },
    /// Occurs when a vector's length is not a whole number of its elements, or when bytes are
    /// left over after the last field a length covers.
    BadLength {
        /// The field whose length is wrong.
        field: &'static str,
        /// Where it started.
        offset: usize,
    },
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { field, offset } => write!(f, "truncated {field} at offset {offset}"),
            Self::BadLength { field, offset } => {
                write!(f, "bad length of {field} at offset {offset}")
            }
        }
    }
}

impl std::error::Error for HandshakeError {}

/// A bounds-checked big-endian reader over a message body.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `data`.
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    /// The next `n` bytes.
    pub(crate) fn take(
        &mut self,
        n: usize,
        field: &'static str,
    ) -> Result<&'a [u8], HandshakeError> {
        let offset = self.pos;
        let bytes = self
            .data
            .get(offset..offset.saturating_add(n))
            .ok_or(HandshakeError::Truncated { field, offset })?;
        self.pos += n;
        Ok(bytes)
    }

    /// The next byte.
    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, HandshakeError> {
        Ok(self.take(1, field)?[0])
    }

    /// The next big-endian 16-bit integer.
    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, HandshakeError> {
        let b = self.take(2, field)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// The next big-endian 24-bit integer.
    pub(crate) fn u24(&mut self, field: &'static str) -> Result<u32, HandshakeError> {
        let b = self.take(3, field)?;
        Ok(u32::from_be_bytes([0, b[0], b[1], b[2]]))
    }

    /// A vector with a one-byte length prefix.
    pub(crate) fn vec8(&mut self, field: &'static str) -> Result<&'a [u8], HandshakeError> {
        let len = self.u8(field)?;
        self.take(usize::from(len), field)
    }

    /// A vector with a two-byte length prefix.
    pub(crate) fn vec16(&mut self, field: &'static str) -> Result<&'a [u8], HandshakeError> {
        let len = self.u16(field)?;
        self.take(usize::from(len), field)
    }

    /// A vector with a three-byte length prefix.
    pub(crate) fn vec24(&mut self, field: &'static str) -> Result<&'a [u8], HandshakeError> {
        let len = self.u24(field)?;
        self.take(len as usize, field)
    }

    /// Bytes not read yet.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.data.get(self.pos..).unwrap_or_default()
    }

    /// Whether every byte was read.
    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    /// Offset of the next byte.
    pub(crate) fn offset(&self) -> usize {
        self.pos
    }
}

/// A list of 16-bit code points (cipher suites, groups, versions, signature schemes) over raw
/// bytes; an odd trailing byte is ignored.
#[derive(Debug, Clone, Copy, Default)]
pub struct U16List<'a>(&'a [u8]);

impl<'a> U16List<'a> {
    /// The raw bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len() / 2
    }

    /// Whether the list has no entry.
    pub fn is_empty(&self) -> bool {
        self.0.len() < 2
    }

    /// The entries in wire order.
    pub fn iter(&self) -> impl Iterator<Item = u16> + 'a {
        self.0
            .chunks_exact(2)
            .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
    }
}

/// One extension: its type and its undecoded body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extension<'a> {
    /// Extension type.
    pub kind: u16,
    /// Its body.
    pub data: &'a [u8],
}

/// The extensions of a hello message, in wire order. Built from a block whose framing was
/// validated, so it never fails (a malformed tail just ends the iteration).
#[derive(Debug, Clone, Copy, Default)]
pub struct Extensions<'a>(&'a [u8]);

impl<'a> Iterator for Extensions<'a> {
    type Item = Extension<'a>;

    fn next(&mut self) -> Option<Extension<'a>> {
        let mut reader = Reader::new(self.0);
        let kind = reader.u16("extension type").ok()?;
        let data = reader.vec16("extension data").ok()?;
        self.0 = reader.rest();
        Some(Extension { kind, data })
    }
}

/// Checks that an extension block is a whole number of well-framed extensions.
fn validate_extensions(block: &[u8], base: usize) -> Result<(), HandshakeError> {
    let mut reader = Reader::new(block);
    while !reader.is_empty() {
        let at = base + reader.offset();
        reader
            .u16("extension type")
            .map_err(|_| HandshakeError::Truncated {
                field: "extension type",
                offset: at,
            })?;
        reader
            .vec16("extension data")
            .map_err(|_| HandshakeError::Truncated {
                field: "extension data",
                offset: at,
            })?;
    }
    Ok(())
}

/// The body of the first extension of type `kind`.
fn find_extension(block: &[u8], kind: u16) -> Option<&[u8]> {
    Extensions(block).find(|e| e.kind == kind).map(|e| e.data)
}

/// The contents of a vector with a two-byte length prefix that must fill `data` exactly;
/// empty when malformed.
fn inner16(data: &[u8]) -> &[u8] {
    let mut reader = Reader::new(data);
    match reader.vec16("list") {
        Ok(list) if reader.is_empty() => list,
        _ => &[],
    }
}

/// The contents of a vector with a one-byte length prefix that must fill `data` exactly; empty
/// when malformed.
fn inner8(data: &[u8]) -> &[u8] {
    let mut reader = Reader::new(data);
    match reader.vec8("list") {
        Ok(list) if reader.is_empty() => list,
        _ => &[],
    }
}

/// The names in an ALPN `ProtocolNameList` (RFC 7301 §3.1), in wire order.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProtocolNames<'a>(&'a [u8]);

impl<'a> Iterator for ProtocolNames<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let mut reader = Reader::new(self.0);
        let name = reader.vec8("protocol name").ok()?;
        self.0 = reader.rest();
        Some(name)
    }
}

/// A handshake message header: type and body length (RFC 8446 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandshakeHeader {
    /// Message type (see [`msg_type`]).
    pub msg_type: u8,
    /// Body length in bytes.
    pub length: u32,
}

impl HandshakeHeader {
    /// Header size in bytes.
    pub const LEN: usize = 4;

    /// The header at the start of `data`, if four bytes are there.
    pub fn parse(data: &[u8]) -> Option<Self> {
        match data {
            [msg_type, a, b, c, ..] => Some(Self {
                msg_type: *msg_type,
                length: u32::from_be_bytes([0, *a, *b, *c]),
            }),
            _ => None,
        }
    }

    /// Header plus body size.
    pub fn total_len(&self) -> usize {
        Self::LEN + self.length as usize
    }
}

/// A ClientHello (RFC 8446 §4.1.2; older versions have the same layout, extensions optional).
#[derive(Debug, Clone, Copy)]
pub struct ClientHello<'a> {
    /// `legacy_version` (`client_version` before TLS 1.3).
    pub legacy_version: u16,
    /// The 32-byte random.
    pub random: &'a [u8],
    /// Session id (0–32 bytes).
    pub session_id: &'a [u8],
    cipher_suites: &'a [u8],
    /// Compression methods offered.
    pub compression_methods: &'a [u8],
    extensions: &'a [u8],
    /// Whether an extension block was present (even empty): JA3 keeps the distinction only in
    /// so far as both give empty fields.
    pub has_extensions: bool,
}

impl<'a> ClientHello<'a> {
    /// Parses a ClientHello body (the bytes after the handshake header).
    pub fn parse(body: &'a [u8]) -> Result<Self, HandshakeError> {
        let mut reader = Reader::new(body);
        let legacy_version = reader.u16("legacy_version")?;
        let random = reader.take(32, "random")?;
        let session_id = reader.vec8("session_id")?;
        let at = reader.offset();
        let cipher_suites = reader.vec16("cipher_suites")?;
        if cipher_suites.len() % 2 != 0 {
            return Err(HandshakeError::BadLength {
                field: "cipher_suites",
                offset: at,
            });
        }
        let compression_methods = reader.vec8("compression_methods")?;
        let (extensions, has_extensions) = if reader.is_empty() {
            (&[][..], false)
        } else {
            let at = reader.offset() + 2;
            let block = reader.vec16("extensions")?;
            validate_extensions(block, at)?;
            (block, true)
        };
        if !reader.is_empty() {
            return Err(HandshakeError::BadLength {
                field: "client_hello",
                offset: reader.offset(),
            });
        }
        Ok(Self {
            legacy_version,
            random,
            session_id,
            cipher_suites,
            compression_methods,
            extensions,
            has_extensions,
        })
    }

    /// Cipher suites offered, in wire order.
    pub fn cipher_suites(&self) -> U16List<'a> {
        U16List(self.cipher_suites)
    }

    /// Extensions, in wire order.
    pub fn extensions(&self) -> Extensions<'a> {
        Extensions(self.extensions)
    }

    /// The body of the first extension of this type.
    pub fn extension(&self, kind: u16) -> Option<&'a [u8]> {
        find_extension(self.extensions, kind)
    }

    /// The first `host_name` of the server_name extension (RFC 6066 §3), raw.
    pub fn server_name(&self) -> Option<&'a [u8]> {
        let list = inner16(self.extension(ext::SERVER_NAME)?);
        let mut reader = Reader::new(list);
        while !reader.is_empty() {
            let name_type = reader.u8("name_type").ok()?;
            let name = reader.vec16("host_name").ok()?;
            if name_type == 0 {
                return Some(name);
            }
        }
        None
    }

    /// Protocols offered in the ALPN extension, in order (empty when absent).
    pub fn alpn(&self) -> ProtocolNames<'a> {
        ProtocolNames(self.extension(ext::ALPN).map(inner16).unwrap_or_default())
    }

    /// Versions listed in the supported_versions extension (empty when absent).
    pub fn supported_versions(&self) -> U16List<'a> {
        U16List(
            self.extension(ext::SUPPORTED_VERSIONS)
                .map(inner8)
                .unwrap_or_default(),
        )
    }

    /// Named groups (formerly "elliptic curves") offered.
    pub fn supported_groups(&self) -> U16List<'a> {
        U16List(
            self.extension(ext::SUPPORTED_GROUPS)
                .map(inner16)
                .unwrap_or_default(),
        )
    }

    /// EC point formats offered.
    pub fn ec_point_formats(&self) -> &'a [u8] {
        self.extension(ext::EC_POINT_FORMATS)
            .map(inner8)
            .unwrap_or_default()
    }

    /// Signature schemes offered, in wire order.
    pub fn signature_algorithms(&self) -> U16List<'a> {
        U16List(
            self.extension(ext::SIGNATURE_ALGORITHMS)
                .map(inner16)
                .unwrap_or_default(),
        )
    }

    /// The highest version the client offers: the largest non-GREASE entry of
    /// supported_versions, or `legacy_version` without that extension.
    pub fn highest_version(&self) -> u16 {
        self.supported_versions()
            .iter()
            .filter(|v| !is_grease(*v))
            .max()
            .unwrap_or(self.legacy_version)
    }
}

/// A ServerHello or HelloRetryRequest (RFC 8446 §4.1.3).
#[derive(Debug, Clone, Copy)]
pub struct ServerHello<'a> {
    /// `legacy_version` (`server_version` before TLS 1.3).
    pub legacy_version: u16,
    /// The 32-byte random.
    pub random: &'a [u8],
    /// Session id echoed or chosen.
    pub session_id: &'a [u8],
    /// Cipher suite chosen.
    pub cipher_suite: u16,
    /// Compression method chosen.
    pub compression_method: u8,
    extensions: &'a [u8],
}

impl<'a> ServerHello<'a> {
    /// Parses a ServerHello body.
    pub fn parse(body: &'a [u8]) -> Result<Self, HandshakeError> {
        let mut reader = Reader::new(body);
        let legacy_version = reader.u16("legacy_version")?;
        let random = reader.take(32, "random")?;
        let session_id = reader.vec8("session_id")?;
        let cipher_suite = reader.u16("cipher_suite")?;
        let compression_method = reader.u8("compression_method")?;
        let extensions = if reader.is_empty() {
            &[][..]
        } else {
            let at = reader.offset() + 2;
            let block = reader.vec16("extensions")?;
            validate_extensions(block, at)?;
            block
        };
        if !reader.is_empty() {
            return Err(HandshakeError::BadLength {
                field: "server_hello",
                offset: reader.offset(),
            });
        }
        Ok(Self {
            legacy_version,
            random,
            session_id,
            cipher_suite,
            compression_method,
            extensions,
        })
    }

    /// Extensions, in wire order.
    pub fn extensions(&self) -> Extensions<'a> {
        Extensions(self.extensions)
    }

    /// The version chosen in supported_versions (TLS 1.3), if present.
    pub fn selected_version(&self) -> Option<u16> {
        match find_extension(self.extensions, ext::SUPPORTED_VERSIONS)? {
            [a, b] => Some(u16::from_be_bytes([*a, *b])),
            _ => None,
        }
    }

    /// The version the connection uses: supported_versions when present, else
    /// `legacy_version`.
    pub fn negotiated_version(&self) -> u16 {
        self.selected_version().unwrap_or(self.legacy_version)
    }

    /// Whether this is a HelloRetryRequest (the client will send a second ClientHello).
    pub fn is_hello_retry_request(&self) -> bool {
        self.random == HELLO_RETRY_REQUEST_RANDOM
    }

    /// The protocol chosen by ALPN, if any.
    pub fn alpn(&self) -> Option<&'a [u8]> {
        let list = inner16(find_extension(self.extensions, ext::ALPN)?);
        ProtocolNames(list).next()
    }
}

/// The certificate list of a TLS ≤ 1.2 Certificate message (RFC 5246 §7.4.2): DER
/// certificates, the sender's own (the leaf) first.
#[derive(Debug, Clone, Copy)]
pub struct CertificateList<'a> {
    list: &'a [u8],
}

impl<'a> CertificateList<'a> {
    /// Parses a whole Certificate message body.
    pub fn parse(body: &'a [u8]) -> Result<Self, HandshakeError> {
        let mut reader = Reader::new(body);
        let list = reader.vec24("certificate_list")?;
        if !reader.is_empty() {
            return Err(HandshakeError::BadLength {
                field: "certificate message",
                offset: reader.offset(),
            });
        }
        let mut entries = Reader::new(list);
        while !entries.is_empty() {
            let at = 3 + entries.offset();
            entries
                .vec24("certificate")
                .map_err(|_| HandshakeError::BadLength {
                    field: "certificate",
                    offset: at,
                })?;
        }
        Ok(Self { list })
    }

    /// The DER certificates, leaf first.
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let mut reader = Reader::new(self.list);
        std::iter::from_fn(move || reader.vec24("certificate").ok())
    }

    /// The sender's own certificate.
    pub fn leaf(&self) -> Option<&'a [u8]> {
        self.iter().next()
    }

    /// The leaf certificate from the start of a Certificate message body that may have been
    /// cut short (a chain larger than the reassembly buffer): the leaf comes first.
    pub fn leaf_from_prefix(body: &'a [u8]) -> Option<&'a [u8]> {
        let mut reader = Reader::new(body);
        reader.u24("certificate_list").ok()?;
        reader.vec24("certificate").ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grease_values_are_recognised() {
        let grease: Vec<u16> = (0..=0xffff).filter(|v| is_grease(*v)).collect();
        assert_eq!(grease.len(), 16);
        assert_eq!(grease[0], 0x0a0a);
        assert_eq!(grease[15], 0xfafa);
        assert!(!is_grease(0x0a1a));
        assert!(!is_grease(0x1301));
    }

    #[test]
    fn truncated_client_hello_names_the_field() {
        let body = [0x03, 0x03, 0, 0];
        assert_eq!(
            ClientHello::parse(&body).unwrap_err(),
            HandshakeError::Truncated {
                field: "random",
                offset: 2
            }
        );
    }

    #[test]
    fn odd_cipher_suites_are_rejected() {
        let mut body = vec![0x03, 0x03];
        body.extend_from_slice(&[0; 32]);
        body.extend_from_slice(&[0, 0, 3, 0, 1, 2, 1, 0]);
        assert_eq!(
            ClientHello::parse(&body).unwrap_err(),
            HandshakeError::BadLength {
                field: "cipher_suites",
                offset: 35
            }
        );
    }

    #[test]
    fn hello_without_extensions_parses() {
        let mut body = vec![0x03, 0x00];
        body.extend_from_slice(&[7; 32]);
        body.extend_from_slice(&[0, 0, 4, 0, 0x0a, 0, 0x2f, 1, 0]);
        let hello = ClientHello::parse(&body).unwrap();
        assert!(!hello.has_extensions);
        assert_eq!(
            hello.cipher_suites().iter().collect::<Vec<_>>(),
            [0x0a, 0x2f]
        );
        assert_eq!(hello.highest_version(), version::SSL3);
        assert!(hello.server_name().is_none());
        assert_eq!(hello.alpn().count(), 0);
    }

    #[test]
    fn extension_framing_errors_are_reported() {
        let mut body = vec![0x03, 0x03];
        body.extend_from_slice(&[0; 32]);
        body.extend_from_slice(&[0, 0, 2, 0, 0x2f, 1, 0]);
        // Extension block of 5 bytes: one header claiming 9 bytes of data.
        body.extend_from_slice(&[0, 5, 0, 0, 0, 9, 0]);
        assert!(matches!(
            ClientHello::parse(&body),
            Err(HandshakeError::Truncated {
                field: "extension data",
                ..
            })
        ));
    }

    #[test]
    fn certificate_list_prefix_gives_the_leaf() {
        let body = [0, 0, 20, 0, 0, 3, 0x30, 1, 0, 0, 0, 10];
        assert_eq!(
            CertificateList::leaf_from_prefix(&body),
            Some(&[0x30, 1, 0][..])
        );
        assert!(CertificateList::parse(&body).is_err());
        let whole = [0, 0, 6, 0, 0, 3, 0x30, 1, 0];
        let list = CertificateList::parse(&whole).unwrap();
        assert_eq!(list.leaf(), Some(&[0x30, 1, 0][..]));
        assert_eq!(list.iter().count(), 1);
    }
}
