//! NTLMSSP authentication messages ([MS-NLMP]), as carried inside SMB session setups, HTTP
//! `Authorization: NTLM` / `WWW-Authenticate: NTLM` headers and RPC binds.
//!
//! NTLMSSP is not a transport of its own: other dissectors find the token (usually inside a
//! SPNEGO wrapper: [`find`] looks for the `NTLMSSP\0` signature, as robust sensors do instead
//! of decoding the whole GSS-API/ASN.1 envelope) and hand it to [`facts`].
//!
//! What a token tells about the device that sent it:
//! * CHALLENGE (type 2, from the server): the target-info AV pairs name the server (NetBIOS and
//!   DNS computer names → hostname) and its domain (NetBIOS and DNS domain and forest names →
//!   domain); the version structure gives the Windows version (→ OS).
//! * NEGOTIATE (type 1) and AUTHENTICATE (type 3, from the client): the workstation name
//!   (→ hostname), the domain (→ domain) and the version (→ OS) of the client. The user name of
//!   an AUTHENTICATE is exposed to callers for authentication events, never made a fact.
//!
//! The AV pairs echoed inside an NTLMv2 response (in AUTHENTICATE) are the *server's* names:
//! they are deliberately not read, so that they are never attributed to the client.

use ironward_model::{Attribute, DeviceKey, Source, Timestamp};

use crate::{DissectorRegistry, Observations};

/// The signature every NTLMSSP message starts with.
pub const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";

/// Longest security blob searched for the signature (SPNEGO wrappers put the token within the
/// first few dozen bytes; Kerberos blobs that carry no NTLMSSP can be large).
pub const MAX_SEARCH: usize = 64 * 1024;

/// Most AV pairs read from a target-info block (real servers send fewer than a dozen).
pub const MAX_AV_PAIRS: usize = 32;

/// Longest UTF-8 rendering of a decoded name kept (fact values are cut at 256 bytes anyway).
const NAME_BUF: usize = 512;

/// `NTLMSSP_NEGOTIATE_UNICODE`: strings are UTF-16LE rather than OEM.
pub const FLAG_UNICODE: u32 = 0x0000_0001;
/// `NTLMSSP_NEGOTIATE_VERSION`: the message carries a version structure.
pub const FLAG_VERSION: u32 = 0x0200_0000;

/// Why a token could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NtlmError {
    /// The token ends before `field`, which starts at `offset`.
    Truncated {
        /// The field that is cut.
        field: &'static str,
        /// Where it starts in the token.
        offset: usize,
    },
    /// The token does not start with `NTLMSSP\0`.
    BadSignature,
    /// The message type is not 1, 2 or 3.
    UnknownType(u32),
    /// A variable field (length, offset) points outside the token.
    FieldOutOfBounds {
        /// The field.
        field: &'static str,
        /// Its declared offset.
        offset: usize,
        /// Its declared length.
        len: usize,
    },
}

impl std::fmt::Display for NtlmError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Truncated { field, offset } => {
                write!(f, "NTLMSSP token truncated at {field} (offset {offset})")
            }
            Self::BadSignature => f.write_str("no NTLMSSP signature"),
            Self::UnknownType(t) => write!(f, "unknown NTLMSSP message type {t}"),
            Self::FieldOutOfBounds { field, offset, len } => write!(
                f,
                "NTLMSSP field {field} ({len} bytes at {offset}) outside the token"
            ),
        }
    }
}

impl std::error::Error for NtlmError {}

/// The version structure ([MS-NLMP] 2.2.2.10): the sender's Windows version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    /// Product major version (5, 6, 10).
    pub major: u8,
    /// Product minor version.
    pub minor: u8,
    /// Build number.
    pub build: u16,
    /// NTLM revision (15 for current implementations).
    pub revision: u8,
}

impl Version {
    /// The operating system this version names, written into `buf`: "Windows 10.0 build 19041",
    /// with a product name only where major.minor names one product (5.0 is Windows 2000, 5.1
    /// Windows XP; 6.x and 10.0 are shared by client and server editions).
    ///
    /// `None` when the structure cannot be a Windows version: every Windows that sends it has a
    /// build number above 2000, while Samba sends a fixed 6.1 build 0 and the Linux SMB client
    /// its kernel version with a small build number.
    pub fn os<'b>(&self, buf: &'b mut [u8; 48]) -> Option<&'b str> {
        if self.build < 1000 {
            return None;
        }
        let product = match (self.major, self.minor) {
            (5, 0) => Some("2000"),
            (5, 1) => Some("XP"),
            _ => None,
        };
        let mut w = SliceWriter::new(buf);
        use std::fmt::Write;
        let written = match product {
            Some(name) => write!(
                w,
                "Windows {name} ({}.{} build {})",
                self.major, self.minor, self.build
            ),
            None => write!(
                w,
                "Windows {}.{} build {}",
                self.major, self.minor, self.build
            ),
        };
        written.ok()?;
        Some(w.finish())
    }
}

/// A string field of a message, still encoded as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Text<'a> {
    /// The encoded bytes.
    pub bytes: &'a [u8],
    /// Whether they are UTF-16LE (otherwise OEM, read as ASCII/UTF-8).
    pub unicode: bool,
}

impl<'a> Text<'a> {
    /// Whether the field is empty.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The text as UTF-8 in `buf` (cut when `buf` is full).
    pub fn decode<'b>(&self, buf: &'b mut [u8]) -> &'b str {
        if self.unicode {
            decode_utf16le(self.bytes, buf)
        } else {
            let n = self.bytes.len().min(buf.len());
            let (dst, _) = buf.split_at_mut(n);
            dst.copy_from_slice(&self.bytes[..n]);
            match std::str::from_utf8(dst) {
                Ok(s) => s,
                // OEM code pages are not UTF-8: keep the valid prefix.
                Err(e) => std::str::from_utf8(&dst[..e.valid_up_to()]).unwrap_or_default(),
            }
        }
    }
}

/// NEGOTIATE_MESSAGE (type 1, client).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiate<'a> {
    /// Negotiate flags.
    pub flags: u32,
    /// The client's domain, when it supplies one (OEM).
    pub domain: Text<'a>,
    /// The client's workstation name, when it supplies one (OEM).
    pub workstation: Text<'a>,
    /// The client's version, when present.
    pub version: Option<Version>,
}

/// CHALLENGE_MESSAGE (type 2, server).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Challenge<'a> {
    /// Negotiate flags.
    pub flags: u32,
    /// Target name (the server's domain or name, per the target-type flags).
    pub target_name: Text<'a>,
    /// The raw target-info block: AV pairs (see [`AvPairs`]).
    pub target_info: &'a [u8],
    /// The server's version, when present.
    pub version: Option<Version>,
}

/// AUTHENTICATE_MESSAGE (type 3, client).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authenticate<'a> {
    /// Negotiate flags.
    pub flags: u32,
    /// The user's domain.
    pub domain: Text<'a>,
    /// The user name (for authentication events only; never a fact).
    pub user: Text<'a>,
    /// The client's workstation name.
    pub workstation: Text<'a>,
    /// Length of the NT challenge response (0 for anonymous authentication).
    pub nt_response_len: usize,
    /// The client's version, when present.
    pub version: Option<Version>,
}

/// One NTLMSSP message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message<'a> {
    /// Type 1.
    Negotiate(Negotiate<'a>),
    /// Type 2.
    Challenge(Challenge<'a>),
    /// Type 3.
    Authenticate(Authenticate<'a>),
}

/// AV pair ids of the target-info block ([MS-NLMP] 2.2.2.1).
pub mod av {
    /// End of the list.
    pub const EOL: u16 = 0;
    /// `MsvAvNbComputerName`.
    pub const NB_COMPUTER_NAME: u16 = 1;
    /// `MsvAvNbDomainName`.
    pub const NB_DOMAIN_NAME: u16 = 2;
    /// `MsvAvDnsComputerName`.
    pub const DNS_COMPUTER_NAME: u16 = 3;
    /// `MsvAvDnsDomainName`.
    pub const DNS_DOMAIN_NAME: u16 = 4;
    /// `MsvAvDnsTreeName` (the forest).
    pub const DNS_TREE_NAME: u16 = 5;
}

/// The AV pairs of a target-info block: `(id, value)`, up to the end-of-list pair, the end of
/// the block or [`MAX_AV_PAIRS`], whichever comes first. A pair whose length overruns the block
/// ends the iteration.
#[derive(Debug, Clone)]
pub struct AvPairs<'a> {
    rest: &'a [u8],
    count: usize,
}

impl<'a> AvPairs<'a> {
    /// Iterates over the pairs of `block`.
    pub fn new(block: &'a [u8]) -> Self {
        Self {
            rest: block,
            count: 0,
        }
    }
}

impl<'a> Iterator for AvPairs<'a> {
    type Item = (u16, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.count >= MAX_AV_PAIRS {
            return None;
        }
        let id = u16_le(self.rest, 0)?;
        let len = usize::from(u16_le(self.rest, 2)?);
        if id == av::EOL {
            self.rest = &[];
            return None;
        }
        let value = self.rest.get(4..4 + len)?;
        self.rest = self.rest.get(4 + len..).unwrap_or_default();
        self.count += 1;
        Some((id, value))
    }
}

/// The NTLMSSP token inside a security blob (raw or wrapped in SPNEGO/GSS-API): the bytes from
/// the signature to the end of the blob. Only the first [`MAX_SEARCH`] bytes are searched.
pub fn find(blob: &[u8]) -> Option<&[u8]> {
    let window = &blob[..blob.len().min(MAX_SEARCH)];
    let at = window
        .windows(SIGNATURE.len())
        .position(|w| w == SIGNATURE)?;
    blob.get(at..)
}

/// Reads one NTLMSSP message. Offsets inside the message are relative to its first byte, so
/// `token` must start at the signature (see [`find`]); trailing bytes are ignored.
pub fn parse(token: &[u8]) -> Result<Message<'_>, NtlmError> {
    if token.len() < 12 {
        return Err(if token.len() >= 8 && !token.starts_with(SIGNATURE) {
            NtlmError::BadSignature
        } else {
            NtlmError::Truncated {
                field: "message type",
                offset: 8,
            }
        });
    }
    if !token.starts_with(SIGNATURE) {
        return Err(NtlmError::BadSignature);
    }
    let kind = u32_field(token, 8, "message type")?;
    match kind {
        1 => {
            let flags = u32_field(token, 12, "negotiate flags")?;
            // Domain and workstation fields were added later; short NEGOTIATE messages end here.
            let (domain, workstation, min_offset) = if token.len() >= 32 {
                let d = field(token, 16, "domain name")?;
                let w = field(token, 24, "workstation")?;
                (d, w, min_payload(&[d, w]))
            } else {
                (Span::EMPTY, Span::EMPTY, usize::MAX)
            };
            Ok(Message::Negotiate(Negotiate {
                flags,
                domain: text(token, domain, false),
                workstation: text(token, workstation, false),
                version: version(token, flags, 32, min_offset),
            }))
        }
        2 => {
            let target = field(token, 12, "target name")?;
            let flags = u32_field(token, 20, "negotiate flags")?;
            let info = if token.len() >= 48 {
                field(token, 40, "target info")?
            } else {
                Span::EMPTY
            };
            Ok(Message::Challenge(Challenge {
                flags,
                target_name: text(token, target, flags & FLAG_UNICODE != 0),
                target_info: info.slice(token),
                version: version(token, flags, 48, min_payload(&[target, info])),
            }))
        }
        3 => {
            let lm = field(token, 12, "LM response")?;
            let nt = field(token, 20, "NT response")?;
            let domain = field(token, 28, "domain name")?;
            let user = field(token, 36, "user name")?;
            let workstation = field(token, 44, "workstation")?;
            // Session key and flags were added with NTLMv2-era clients; older ones stop at 52.
            let (key, flags) = if token.len() >= 64 {
                (
                    field(token, 52, "session key")?,
                    u32_field(token, 60, "negotiate flags")?,
                )
            } else {
                (Span::EMPTY, FLAG_UNICODE)
            };
            let unicode = flags & FLAG_UNICODE != 0;
            Ok(Message::Authenticate(Authenticate {
                flags,
                domain: text(token, domain, unicode),
                user: text(token, user, unicode),
                workstation: text(token, workstation, unicode),
                nt_response_len: nt.len,
                version: version(
                    token,
                    flags,
                    64,
                    min_payload(&[lm, nt, domain, user, workstation, key]),
                ),
            }))
        }
        other => Err(NtlmError::UnknownType(other)),
    }
}

/// Records what an NTLMSSP token says about its sender: host names, domains and OS (see the
/// module documentation). Tokens that cannot be read record nothing. `source` is normally
/// [`Source::Ntlmssp`]; HTTP and SMB callers pass it through so that the API stays stable.
pub fn facts(
    token: &[u8],
    sender: DeviceKey,
    source: Source,
    at: Timestamp,
    out: &mut Observations,
) {
    let Ok(message) = parse(token) else {
        return;
    };
    let mut buf = [0u8; NAME_BUF];
    let mut text_fact = |attribute: Attribute, value: Text<'_>, out: &mut Observations| {
        if !value.is_empty() {
            let s = value.decode(&mut buf);
            out.fact(sender, attribute, s, source, at);
        }
    };
    let version = match message {
        Message::Negotiate(m) => {
            text_fact(Attribute::Hostname, m.workstation, out);
            text_fact(Attribute::Domain, m.domain, out);
            m.version
        }
        Message::Challenge(m) => {
            for (id, value) in AvPairs::new(m.target_info) {
                let attribute = match id {
                    av::NB_COMPUTER_NAME | av::DNS_COMPUTER_NAME => Attribute::Hostname,
                    av::NB_DOMAIN_NAME | av::DNS_DOMAIN_NAME | av::DNS_TREE_NAME => {
                        Attribute::Domain
                    }
                    _ => continue,
                };
                let value = Text {
                    bytes: value,
                    unicode: true,
                };
                text_fact(attribute, value, out);
            }
            m.version
        }
        Message::Authenticate(m) => {
            text_fact(Attribute::Hostname, m.workstation, out);
            text_fact(Attribute::Domain, m.domain, out);
            m.version
        }
    };
    if let Some(version) = version {
        let mut os = [0u8; 48];
        if let Some(value) = version.os(&mut os) {
            out.fact(sender, Attribute::Os, value, source, at);
        }
    }
}

/// UTF-16LE bytes as UTF-8 in `buf`: unpaired surrogates become U+FFFD, an odd trailing byte is
/// dropped, and decoding stops when `buf` is full (at a character boundary).
pub fn decode_utf16le<'b>(bytes: &[u8], buf: &'b mut [u8]) -> &'b str {
    let units = bytes
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]));
    let mut len = 0;
    for c in char::decode_utf16(units) {
        let c = c.unwrap_or(char::REPLACEMENT_CHARACTER);
        let n = c.len_utf8();
        let Some(dst) = buf.get_mut(len..len + n) else {
            break;
        };
        c.encode_utf8(dst);
        len += n;
    }
    std::str::from_utf8(&buf[..len]).unwrap_or_default()
}

/// NTLMSSP only rides on other protocols: nothing to register.
pub fn register(registry: &mut DissectorRegistry) {
    let _ = registry;
}

/// A variable field: length and offset into the token (already checked to be inside it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    len: usize,
    offset: usize,
}

impl Span {
    const EMPTY: Span = Span { len: 0, offset: 0 };

    fn slice<'a>(&self, token: &'a [u8]) -> &'a [u8] {
        token
            .get(self.offset..self.offset + self.len)
            .unwrap_or_default()
    }
}

/// Reads the 8-byte (length, max length, offset) header of a variable field at `at`.
fn field(token: &[u8], at: usize, name: &'static str) -> Result<Span, NtlmError> {
    let len = usize::from(u16_le(token, at).ok_or(NtlmError::Truncated {
        field: name,
        offset: at,
    })?);
    let offset = u32_le(token, at + 4).ok_or(NtlmError::Truncated {
        field: name,
        offset: at,
    })? as usize;
    if len == 0 {
        return Ok(Span::EMPTY);
    }
    if offset.checked_add(len).is_none_or(|end| end > token.len()) {
        return Err(NtlmError::FieldOutOfBounds {
            field: name,
            offset,
            len,
        });
    }
    Ok(Span { len, offset })
}

fn text(token: &[u8], span: Span, unicode: bool) -> Text<'_> {
    Text {
        bytes: span.slice(token),
        unicode,
    }
}

/// The lowest offset of the non-empty variable fields: the fixed part of the message ends
/// before it, which tells whether an optional version structure fits.
fn min_payload(spans: &[Span]) -> usize {
    spans
        .iter()
        .filter(|s| s.len > 0)
        .map(|s| s.offset)
        .min()
        .unwrap_or(usize::MAX)
}

/// The version structure at `at`, when the flags announce it and it lies before the payload
/// (some implementations set the flag without the structure).
fn version(token: &[u8], flags: u32, at: usize, min_offset: usize) -> Option<Version> {
    if flags & FLAG_VERSION == 0 || min_offset < at + 8 {
        return None;
    }
    let bytes = token.get(at..at + 8)?;
    Some(Version {
        major: bytes[0],
        minor: bytes[1],
        build: u16::from_le_bytes([bytes[2], bytes[3]]),
        revision: bytes[7],
    })
}

fn u32_field(token: &[u8], at: usize, name: &'static str) -> Result<u32, NtlmError> {
    u32_le(token, at).ok_or(NtlmError::Truncated {
        field: name,
        offset: at,
    })
}

fn u16_le(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at + 2)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

fn u32_le(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 4)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// `fmt::Write` into a fixed buffer; fails (instead of growing) when full.
pub(crate) struct SliceWriter<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl<'b> SliceWriter<'b> {
    pub(crate) fn new(buf: &'b mut [u8]) -> Self {
        Self { buf, len: 0 }
    }

    /// Appends bytes that are known to be UTF-8 (validated ASCII); fails when full.
    pub(crate) fn write_bytes(&mut self, bytes: &[u8]) -> std::fmt::Result {
        let dst = self
            .buf
            .get_mut(self.len..self.len + bytes.len())
            .ok_or(std::fmt::Error)?;
        dst.copy_from_slice(bytes);
        self.len += bytes.len();
        Ok(())
    }

    /// Bytes still free.
    pub(crate) fn room(&self) -> usize {
        self.buf.len() - self.len
    }

    /// What was written (empty if non-UTF-8 bytes were appended).
    pub(crate) fn finish(self) -> &'b str {
        let buf: &'b [u8] = self.buf;
        std::str::from_utf8(buf.get(..self.len).unwrap_or_default()).unwrap_or_default()
    }
}

impl std::fmt::Write for SliceWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.write_bytes(s.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::hex;

    fn key() -> DeviceKey {
        DeviceKey::Ip("10.160.67.244".parse().unwrap())
    }

    fn collect(token: &[u8]) -> Vec<(Attribute, String)> {
        let mut out = Observations::default();
        facts(token, key(), Source::Ntlmssp, Timestamp(1), &mut out);
        out.drain_facts()
            .map(|f| (f.attribute, f.value.into_owned()))
            .collect()
    }

    /// CHALLENGE from a Windows Server 2016 domain controller (zeek_smb311.pcap, frame 4).
    fn challenge_2016() -> Vec<u8> {
        hex("4e544c4d53535000020000000600060038000000350289e2da16f9f1d38965030000000000000000640064003e0000000a0039380000000f46004f004f000200060046004f004f0001000400410044000400100066006f006f002e00740065007300740003001600410044002e0066006f006f002e0074006500730074000500100066006f006f002e007400650073007400070008009d9c207914a9d40100000000")
    }

    #[test]
    fn challenge_names_the_server() {
        let token = challenge_2016();
        let Message::Challenge(c) = parse(&token).unwrap() else {
            panic!("not a challenge");
        };
        assert_eq!(
            c.version,
            Some(Version {
                major: 10,
                minor: 0,
                build: 14393,
                revision: 15
            })
        );
        let mut buf = [0u8; 64];
        assert_eq!(c.target_name.decode(&mut buf), "FOO");
        assert_eq!(AvPairs::new(c.target_info).count(), 6);
        assert_eq!(
            collect(&token),
            vec![
                (Attribute::Domain, "FOO".to_owned()),
                (Attribute::Hostname, "AD".to_owned()),
                (Attribute::Domain, "foo.test".to_owned()),
                (Attribute::Hostname, "AD.foo.test".to_owned()),
                (Attribute::Os, "Windows 10.0 build 14393".to_owned()),
            ]
        );
    }

    /// AUTHENTICATE from a Windows Server 2003 R2 client (Sample_File_MMS_and_GOOSE.pcap,
    /// frame 16): NTLMv1, version present.
    #[test]
    fn authenticate_names_the_client() {
        let token = hex(
            "4e544c4d5353500003000000180018006c0000001800180084000000080008004800000014001400500000000800080064000000000000009c000000058288a20502ce0e0000000f440045004d004f004d006900630072006f0053004300410044004100440045004d004f000f72e0028d14459f000000000000000000000000000000008ec4dde4200fb23ce6a1f290e29d579048b5190b9d128fbd",
        );
        let Message::Authenticate(a) = parse(&token).unwrap() else {
            panic!("not an authenticate");
        };
        let mut buf = [0u8; 64];
        assert_eq!(a.user.decode(&mut buf), "MicroSCADA");
        assert_eq!(a.nt_response_len, 24);
        assert_eq!(
            collect(&token),
            vec![
                (Attribute::Hostname, "DEMO".to_owned()),
                (Attribute::Domain, "DEMO".to_owned()),
                (Attribute::Os, "Windows 5.2 build 3790".to_owned()),
            ]
        );
    }

    /// NTLMv2 AUTHENTICATE (zeek_smb311.pcap, frame 5): the NTLMv2 response echoes the server's
    /// AV pairs, which must not become facts about the client; no workstation, domain or version.
    #[test]
    fn ntlmv2_echo_is_not_the_client() {
        let token = hex("4e544c4d53535000030000000000000040000000900090004000000000000000d00000001a001a00d000000000000000ea00000010001000ec000000350288e0ece19aadf7d80ae5f4c1a3a586074ea701010000000000009d9c207914a9d401ae25580d2409ab0e000000000200060046004f004f0001000400410044000400100066006f006f002e00740065007300740003001600410044002e0066006f006f002e0074006500730074000500100066006f006f002e007400650073007400070008009d9c207914a9d40100000000610064006d0069006e006900730074007200610074006f007200000051cf29aa12df95dc1c6aacef50adf76a");
        let Message::Authenticate(a) = parse(&token).unwrap() else {
            panic!("not an authenticate");
        };
        let mut buf = [0u8; 64];
        assert_eq!(a.user.decode(&mut buf), "administrator");
        assert_eq!(a.version, None);
        assert!(collect(&token).is_empty());
    }

    /// CHALLENGE without a version from a Windows 2000 server (Sample_File_MMS_and_GOOSE.pcap,
    /// frame 15).
    #[test]
    fn challenge_without_version() {
        let token = hex("4e544c4d5353500002000000080008003000000005828aa03e3fb6dd83384e1600000000000000003400340038000000530041005300310002000800530041005300310001000800530041005300310004000800730061007300310003000800730061007300310000000000");
        assert_eq!(
            collect(&token),
            vec![
                (Attribute::Domain, "SAS1".to_owned()),
                (Attribute::Hostname, "SAS1".to_owned()),
                (Attribute::Domain, "sas1".to_owned()),
                (Attribute::Hostname, "sas1".to_owned()),
            ]
        );
    }

    #[test]
    fn negotiate_version_and_product_names() {
        // Windows XP NEGOTIATE with version (hand-built from [MS-NLMP] 2.2.1.1).
        let token = hex(
            "4e544c4d53535000 01000000 07820aa2 0000000000000000 0000000000000000
             0501280a0000000f",
        );
        assert_eq!(
            collect(&token),
            vec![(Attribute::Os, "Windows XP (5.1 build 2600)".to_owned())]
        );
        // Samba's fixed "6.1 build 0" is not a Windows version.
        let samba = Version {
            major: 6,
            minor: 1,
            build: 0,
            revision: 15,
        };
        assert_eq!(samba.os(&mut [0; 48]), None);
    }

    #[test]
    fn found_inside_spnego() {
        let token = challenge_2016();
        let mut blob = hex("a181ca3081c7a0030a0101a10c060a2b06010401823702020aa281b10481ae");
        blob.extend_from_slice(&token);
        assert_eq!(find(&blob), Some(&token[..]));
        assert_eq!(find(b"no token here"), None);
    }

    #[test]
    fn hostile_tokens_are_errors() {
        assert_eq!(
            parse(b"NTLMSSP\0"),
            Err(NtlmError::Truncated {
                field: "message type",
                offset: 8
            })
        );
        assert_eq!(parse(b"NTLMSSQ\0\x01\0\0\0"), Err(NtlmError::BadSignature));
        assert_eq!(
            parse(b"NTLMSSP\0\x09\0\0\0"),
            Err(NtlmError::UnknownType(9))
        );
        // Target name 0xffff bytes at offset 0xffffffff.
        let mut t = hex("4e544c4d5353500002000000ffffffffffffffff35028900");
        t.resize(56, 0);
        assert!(matches!(
            parse(&t),
            Err(NtlmError::FieldOutOfBounds {
                field: "target name",
                ..
            })
        ));
        // Every prefix of a real token parses or fails without panicking.
        let token = challenge_2016();
        for end in 0..token.len() {
            let _ = parse(&token[..end]);
            collect(&token[..end]);
        }
    }

    #[test]
    fn utf16_is_bounded() {
        let mut small = [0u8; 3];
        assert_eq!(decode_utf16le(&hex("41004200e900"), &mut small), "AB");
        let mut buf = [0u8; 16];
        assert_eq!(decode_utf16le(&hex("00d84100 42"), &mut buf), "\u{fffd}A");
    }
}
