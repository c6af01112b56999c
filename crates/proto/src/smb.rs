//! SMB 1, 2 and 3 over TCP (445, direct TCP; 139, NetBIOS session service): the negotiation
//! and the session setup.
//!
//! Every SMB message rides in a 4-byte NetBIOS session header (type, 24-bit length; on 445 the
//! type is always 0). Only the messages that identify the endpoints are read whole (negotiate,
//! session setup, NetBIOS session request, at most [`MAX_MESSAGE`] bytes); the others are
//! passed over by length after a look at their header. Once the session setup is over (the
//! rest is file traffic, often encrypted), or after [`MAX_MESSAGES`] messages when the capture
//! started mid-session, the dissector stops.
//!
//! Facts:
//! * SMB1 negotiate response: an SMB1 dialect chosen → finding SMB v1 and service `smb 1` on
//!   the server; without extended security, its domain and server name. Any SMB1 reply counts
//!   as SMB v1 in use too (captures that start after the negotiation).
//! * SMB1 session setup: NativeOS → OS and NativeLanMan → software of the sender; the primary
//!   domain of a non-extended request or response → domain.
//! * SMB2/3 negotiate response: the dialect → service `smb 3.1.1` on the server.
//! * Session setup security blobs (SMB1 extended security and SMB2): the NTLMSSP token inside
//!   the SPNEGO wrapper goes to [`ntlmssp::facts`] (host names, domains, Windows version).
//! * NetBIOS session request (139): the calling name → hostname of the client; the called name
//!   names the server (hearsay).
//!
//! Event: the session setup's outcome, with the NTLM user (`DOMAIN\user`) when one was sent.

use ironward_model::{Attribute, EventCategory, Finding, Source};

use crate::framing::{self, Framed, Side};
use crate::ntlmssp::{self, Text};
use crate::{
    Direction, Dissector, DissectorFactory, DissectorRegistry, FlowMeta, Observations, StreamChunk,
    Transport,
};

/// Largest message read whole (NTLM session setups are far smaller; Kerberos ones carrying a
/// big ticket are passed over, they hold no NTLMSSP).
pub const MAX_MESSAGE: usize = 16 * 1024;

/// Messages looked at per direction before giving up.
pub const MAX_MESSAGES: u32 = 64;

/// NetBIOS session message (and the only type used on port 445).
pub const NBSS_MESSAGE: u8 = 0x00;
/// NetBIOS session request (port 139).
pub const NBSS_SESSION_REQUEST: u8 = 0x81;

/// SMB1 command: Negotiate Protocol.
pub const SMB1_NEGOTIATE: u8 = 0x72;
/// SMB1 command: Session Setup AndX.
pub const SMB1_SESSION_SETUP: u8 = 0x73;
/// SMB2 command: NEGOTIATE.
pub const SMB2_NEGOTIATE: u16 = 0;
/// SMB2 command: SESSION_SETUP.
pub const SMB2_SESSION_SETUP: u16 = 1;

/// NT status: more processing required (the session setup goes on).
pub const STATUS_MORE_PROCESSING_REQUIRED: u32 = 0xC000_0016;

/// Longest user label kept for the session-setup event.
const MAX_USER: usize = 128;

/// Why an SMB message could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmbError {
    /// The message ends before `field`, which starts at `offset`.
    Truncated {
        /// The field that is cut.
        field: &'static str,
        /// Where it starts (from the SMB header).
        offset: usize,
    },
    /// The message does not start with `\xffSMB`, `\xfeSMB` or another SMB signature.
    BadMagic,
    /// A structure with an unexpected size (word count, SMB2 structure size).
    BadStructure {
        /// The structure.
        field: &'static str,
        /// The size found.
        found: usize,
    },
}

impl std::fmt::Display for SmbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Truncated { field, offset } => {
                write!(f, "SMB message truncated at {field} (offset {offset})")
            }
            Self::BadMagic => f.write_str("not an SMB message"),
            Self::BadStructure { field, found } => {
                write!(f, "SMB {field} has unexpected size {found}")
            }
        }
    }
}

impl std::error::Error for SmbError {}

/// A NetBIOS session service header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NbssHeader {
    /// Message type (0 session message, 0x81 session request, 0x82 positive response, ...).
    pub kind: u8,
    /// Length of what follows the header.
    pub len: usize,
}

impl NbssHeader {
    /// Reads the 4-byte header; `None` when fewer bytes are there.
    pub fn parse(input: &[u8]) -> Option<Self> {
        let h = input.get(..4)?;
        Some(Self {
            kind: h[0],
            // 24 bits on 445; on 139 a flags byte whose only defined bit extends the 16-bit
            // length, so reading 24 bits serves both.
            len: usize::from(h[1]) << 16 | usize::from(h[2]) << 8 | usize::from(h[3]),
        })
    }

    /// Whether the type is one the NetBIOS session service defines.
    pub fn is_known(&self) -> bool {
        matches!(self.kind, 0x00 | 0x81..=0x85)
    }
}

/// An SMB1 message: header fields and the parameter words and data bytes of its first command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Smb1<'a> {
    /// Command.
    pub command: u8,
    /// NT status (or DOS error class and code).
    pub status: u32,
    /// Flags (0x80: reply).
    pub flags: u8,
    /// Flags2 (0x8000: Unicode strings; 0x0800: extended security).
    pub flags2: u16,
    /// Parameter words.
    pub words: &'a [u8],
    /// Data bytes.
    pub bytes: &'a [u8],
    /// Offset of `bytes` from the start of the SMB header (for Unicode alignment).
    pub bytes_at: usize,
}

impl<'a> Smb1<'a> {
    /// Reads an SMB1 message (`smb` starts at `\xffSMB`).
    pub fn parse(smb: &'a [u8]) -> Result<Self, SmbError> {
        if !smb.starts_with(b"\xffSMB") {
            return Err(SmbError::BadMagic);
        }
        let header = smb.get(..32).ok_or(SmbError::Truncated {
            field: "SMB1 header",
            offset: 0,
        })?;
        let word_count = usize::from(*smb.get(32).ok_or(SmbError::Truncated {
            field: "word count",
            offset: 32,
        })?);
        let words = smb
            .get(33..33 + 2 * word_count)
            .ok_or(SmbError::Truncated {
                field: "parameter words",
                offset: 33,
            })?;
        let at = 33 + 2 * word_count;
        let count = le_u16(smb, at, "byte count")?;
        let bytes_at = at + 2;
        // A short capture or a lying byte count: keep what is there.
        let bytes = smb
            .get(bytes_at..(bytes_at + usize::from(count)).min(smb.len()))
            .unwrap_or_default();
        Ok(Self {
            command: header[4],
            status: u32::from_le_bytes([header[5], header[6], header[7], header[8]]),
            flags: header[9],
            flags2: u16::from_le_bytes([header[10], header[11]]),
            words,
            bytes,
            bytes_at,
        })
    }

    /// Whether this is a reply (from the server).
    pub fn is_reply(&self) -> bool {
        self.flags & 0x80 != 0
    }

    /// Whether strings are Unicode.
    pub fn unicode(&self) -> bool {
        self.flags2 & 0x8000 != 0
    }

    /// The null-terminated string at `pos` of the data bytes (Unicode strings aligned to two
    /// bytes from the SMB header when `align`) and the position after it.
    pub fn string(&self, pos: usize, align: bool) -> (Text<'a>, usize) {
        let unicode = self.unicode();
        let mut pos = pos;
        if unicode && align && (self.bytes_at + pos) % 2 == 1 {
            pos += 1;
        }
        let rest = self.bytes.get(pos..).unwrap_or_default();
        let (len, terminator) = if unicode {
            match rest.chunks_exact(2).position(|c| c == [0, 0]) {
                Some(i) => (2 * i, 2),
                None => (rest.len() & !1, 0),
            }
        } else {
            match rest.iter().position(|&b| b == 0) {
                Some(i) => (i, 1),
                None => (rest.len(), 0),
            }
        };
        let text = Text {
            bytes: &rest[..len],
            unicode,
        };
        (text, pos + len + terminator)
    }
}

/// What an SMB1 Negotiate Protocol response says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Smb1NegotiateResponse<'a> {
    /// Index of the chosen dialect in the request (0xFFFF: none).
    pub dialect_index: u16,
    /// Server capabilities (NT LM 0.12 responses).
    pub capabilities: u32,
    /// Security blob (extended security).
    pub blob: &'a [u8],
    /// Domain or workgroup (without extended security).
    pub domain: Text<'a>,
    /// Server name (without extended security).
    pub server: Text<'a>,
}

impl<'a> Smb1NegotiateResponse<'a> {
    /// Reads the response's words and bytes.
    pub fn parse(m: &Smb1<'a>) -> Result<Self, SmbError> {
        let dialect_index = le_u16(m.words, 0, "dialect index")?;
        let mut out = Self {
            dialect_index,
            capabilities: 0,
            blob: &[],
            domain: Text::default(),
            server: Text::default(),
        };
        // Only the NT LM 0.12 response (17 words) carries names or a blob.
        if m.words.len() != 34 {
            return Ok(out);
        }
        out.capabilities = le_u32(m.words, 19, "capabilities")?;
        let challenge_len = usize::from(m.words[33]);
        if out.capabilities & 0x8000_0000 != 0 {
            out.blob = m.bytes.get(16..).unwrap_or_default();
        } else {
            // No alignment padding here, unlike the session setup's strings.
            let (domain, next) = m.string(challenge_len, false);
            let (server, _) = m.string(next, false);
            out.domain = domain;
            out.server = server;
        }
        Ok(out)
    }
}

/// What an SMB1 Session Setup AndX request or response says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Smb1SessionSetup<'a> {
    /// Security blob (extended security).
    pub blob: &'a [u8],
    /// Account name (requests without extended security; events only).
    pub account: Text<'a>,
    /// Primary domain (requests and responses without extended security).
    pub primary_domain: Text<'a>,
    /// The sender's operating system.
    pub native_os: Text<'a>,
    /// The sender's LAN manager (SMB implementation).
    pub native_lanman: Text<'a>,
}

impl<'a> Smb1SessionSetup<'a> {
    /// Reads a request (word counts 10, 12, 13) or a response (3, 4).
    pub fn parse(m: &Smb1<'a>) -> Result<Self, SmbError> {
        let mut out = Self::default();
        let words = m.words;
        let mut pos;
        let reply = m.is_reply();
        match (reply, words.len() / 2) {
            // Response without extended security: NativeOS, NativeLanMan, PrimaryDomain.
            (true, 3) => {
                let (os, next) = m.string(0, true);
                let (lanman, next) = m.string(next, true);
                let (domain, _) = m.string(next, true);
                (out.native_os, out.native_lanman, out.primary_domain) = (os, lanman, domain);
                return Ok(out);
            }
            (true, 4) => {
                let len = usize::from(le_u16(words, 6, "security blob length")?);
                out.blob = m.bytes.get(..len).unwrap_or(m.bytes);
                pos = out.blob.len();
            }
            (false, 12) => {
                let len = usize::from(le_u16(words, 14, "security blob length")?);
                out.blob = m.bytes.get(..len).unwrap_or(m.bytes);
                pos = out.blob.len();
            }
            (false, 10 | 13) => {
                let oem = usize::from(le_u16(words, 14, "password length")?);
                let unicode = if words.len() == 26 {
                    usize::from(le_u16(words, 16, "Unicode password length")?)
                } else {
                    0
                };
                pos = oem + unicode;
                let (account, next) = m.string(pos, true);
                let (domain, next) = m.string(next, true);
                out.account = account;
                out.primary_domain = domain;
                pos = next;
            }
            (_, n) => {
                return Err(SmbError::BadStructure {
                    field: "session setup word count",
                    found: n,
                })
            }
        }
        let (os, next) = m.string(pos, true);
        let (lanman, _) = m.string(next, true);
        out.native_os = os;
        out.native_lanman = lanman;
        Ok(out)
    }
}

/// An SMB2/3 message header (the first message of a compound).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Smb2<'a> {
    /// Command.
    pub command: u16,
    /// NT status.
    pub status: u32,
    /// Flags (0x1: response).
    pub flags: u32,
    /// The whole message from the header on (offsets in the body are relative to it).
    pub message: &'a [u8],
}

impl<'a> Smb2<'a> {
    /// Reads the 64-byte header (`smb` starts at `\xfeSMB`).
    pub fn parse(smb: &'a [u8]) -> Result<Self, SmbError> {
        if !smb.starts_with(b"\xfeSMB") {
            return Err(SmbError::BadMagic);
        }
        if smb.len() < 64 {
            return Err(SmbError::Truncated {
                field: "SMB2 header",
                offset: 0,
            });
        }
        Ok(Self {
            command: le_u16(smb, 12, "command")?,
            status: le_u32(smb, 8, "status")?,
            flags: le_u32(smb, 16, "flags")?,
            message: smb,
        })
    }

    /// Whether this is a response (from the server).
    pub fn is_response(&self) -> bool {
        self.flags & 1 != 0
    }

    /// The security buffer described by an (offset, length) pair at `at`, clipped to the
    /// message.
    fn buffer(&self, at: usize) -> Result<&'a [u8], SmbError> {
        let offset = usize::from(le_u16(self.message, at, "security buffer offset")?);
        let len = usize::from(le_u16(self.message, at + 2, "security buffer length")?);
        Ok(self
            .message
            .get(offset..(offset + len).min(self.message.len()))
            .unwrap_or_default())
    }
}

/// What an SMB2 NEGOTIATE response says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Smb2NegotiateResponse<'a> {
    /// The chosen dialect (0x0202, 0x0210, 0x0300, 0x0302, 0x0311; 0x02FF: renegotiate).
    pub dialect: u16,
    /// The server's GUID.
    pub server_guid: &'a [u8],
    /// The security blob (SPNEGO negTokenInit).
    pub blob: &'a [u8],
}

impl<'a> Smb2NegotiateResponse<'a> {
    /// Reads the response body.
    pub fn parse(m: &Smb2<'a>) -> Result<Self, SmbError> {
        let size = le_u16(m.message, 64, "structure size")?;
        if size != 65 {
            return Err(SmbError::BadStructure {
                field: "NEGOTIATE response",
                found: usize::from(size),
            });
        }
        Ok(Self {
            dialect: le_u16(m.message, 68, "dialect")?,
            server_guid: m.message.get(72..88).ok_or(SmbError::Truncated {
                field: "server GUID",
                offset: 72,
            })?,
            blob: m.buffer(120)?,
        })
    }

    /// The dialect as people write it ("3.1.1"), `None` for the wildcard and unknown values.
    pub fn dialect_name(&self) -> Option<&'static str> {
        dialect_name(self.dialect)
    }
}

/// The SMB2 dialect name ("2.0.2", "2.1", "3.0", "3.0.2", "3.1.1").
pub fn dialect_name(dialect: u16) -> Option<&'static str> {
    Some(match dialect {
        0x0202 => "2.0.2",
        0x0210 => "2.1",
        0x0300 => "3.0",
        0x0302 => "3.0.2",
        0x0311 => "3.1.1",
        _ => return None,
    })
}

/// What an SMB2 SESSION_SETUP request or response says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Smb2SessionSetup<'a> {
    /// Session flags of a response (0x1 guest, 0x2 anonymous).
    pub session_flags: u16,
    /// The security blob.
    pub blob: &'a [u8],
}

impl<'a> Smb2SessionSetup<'a> {
    /// Reads the request or response body.
    pub fn parse(m: &Smb2<'a>) -> Result<Self, SmbError> {
        let size = le_u16(m.message, 64, "structure size")?;
        match (m.is_response(), size) {
            (false, 25) => Ok(Self {
                session_flags: 0,
                blob: m.buffer(76)?,
            }),
            (true, 9) => Ok(Self {
                session_flags: le_u16(m.message, 66, "session flags")?,
                blob: m.buffer(68)?,
            }),
            (_, found) => Err(SmbError::BadStructure {
                field: "SESSION_SETUP",
                found: usize::from(found),
            }),
        }
    }
}

/// A NetBIOS name from a session request (first-level encoding, RFC 1001 14.1): the name
/// (trailing spaces removed, at most 15 bytes) written into `buf`, its suffix byte, and the
/// length of the encoded name. `None` when the encoding is wrong.
pub fn netbios_name<'b>(input: &[u8], buf: &'b mut [u8; 16]) -> Option<(&'b [u8], u8, usize)> {
    if *input.first()? != 0x20 {
        return None;
    }
    let encoded = input.get(1..33)?;
    for (i, pair) in encoded.chunks_exact(2).enumerate() {
        let hi = pair[0].checked_sub(b'A').filter(|&n| n < 16)?;
        let lo = pair[1].checked_sub(b'A').filter(|&n| n < 16)?;
        buf[i] = hi << 4 | lo;
    }
    // Scope labels, if any, until the root label (bounded by the input).
    let mut at = 33;
    loop {
        let len = usize::from(*input.get(at)?);
        at += 1 + len;
        if len == 0 {
            break;
        }
    }
    let suffix = buf[15];
    let name = &buf[..15];
    let end = name.iter().rposition(|&b| b != b' ').map_or(0, |i| i + 1);
    Some((&buf[..end], suffix, at))
}

/// The name of common session-setup failure statuses.
pub fn status_name(status: u32) -> Option<&'static str> {
    Some(match status {
        0xC000_0022 => "STATUS_ACCESS_DENIED",
        0xC000_0064 => "STATUS_NO_SUCH_USER",
        0xC000_006A => "STATUS_WRONG_PASSWORD",
        0xC000_006D => "STATUS_LOGON_FAILURE",
        0xC000_006E => "STATUS_ACCOUNT_RESTRICTION",
        0xC000_006F => "STATUS_INVALID_LOGON_HOURS",
        0xC000_0070 => "STATUS_INVALID_WORKSTATION",
        0xC000_0071 => "STATUS_PASSWORD_EXPIRED",
        0xC000_0072 => "STATUS_ACCOUNT_DISABLED",
        0xC000_009A => "STATUS_INSUFFICIENT_RESOURCES",
        0xC000_00BB => "STATUS_NOT_SUPPORTED",
        0xC000_015B => "STATUS_LOGON_TYPE_NOT_GRANTED",
        0xC000_0193 => "STATUS_ACCOUNT_EXPIRED",
        0xC000_0224 => "STATUS_PASSWORD_MUST_CHANGE",
        0xC000_0234 => "STATUS_ACCOUNT_LOCKED_OUT",
        0xC000_035C => "STATUS_NETWORK_SESSION_EXPIRED",
        _ => return None,
    })
}

/// Adds the SMB dissector to `registry`.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register(Box::new(SmbFactory));
}

/// Takes TCP flows to ports 445 and 139, and flows whose first bytes are a NetBIOS session
/// message holding an SMB header.
#[derive(Debug, Clone, Copy, Default)]
pub struct SmbFactory;

impl DissectorFactory for SmbFactory {
    fn protocol(&self) -> &'static str {
        "smb"
    }

    fn select(
        &self,
        flow: &FlowMeta,
        _direction: Direction,
        first_payload: &[u8],
    ) -> Option<Box<dyn Dissector>> {
        if flow.transport != Transport::Tcp {
            return None;
        }
        let by_port = matches!(flow.server.port(), 445 | 139);
        let by_content = first_payload.first() == Some(&NBSS_MESSAGE)
            && matches!(
                first_payload.get(4..8),
                Some(b"\xffSMB" | b"\xfeSMB" | b"\xfdSMB")
            );
        (by_port || by_content).then(|| Box::<SmbDissector>::default() as Box<dyn Dissector>)
    }
}

/// Per-flow SMB state.
#[derive(Debug, Default)]
pub struct SmbDissector {
    sides: [Side; 2],
    /// SMB v1 already reported for this flow.
    smb1_reported: bool,
    /// The user of the last NTLM AUTHENTICATE or SMB1 account, for the outcome event.
    user: Option<String>,
}

impl Framed for SmbDissector {
    fn sides(&mut self) -> &mut [Side; 2] {
        &mut self.sides
    }
}

/// Bytes of a message needed to decide whether to read it whole: NetBIOS header, SMB2 header
/// up to the command (and the SMB1 flags).
const PEEK: usize = 4 + 16;

impl SmbDissector {
    fn messages(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        view: &[u8],
        out: &mut Observations,
    ) -> usize {
        let i = direction.index();
        let mut at = 0;
        while at < view.len() {
            if self.sides[i].done {
                return view.len();
            }
            let rest = &view[at..];
            let Some(header) = NbssHeader::parse(rest) else {
                return at;
            };
            if !header.is_known() {
                // Not NetBIOS framing, or lost sync: nothing more can be read on this side.
                self.sides[i].done = true;
                return view.len();
            }
            let total = 4 + header.len;
            let wanted = match header.kind {
                NBSS_SESSION_REQUEST => true,
                NBSS_MESSAGE if header.len >= 8 => {
                    let Some(peek) = rest.get(4..PEEK.min(total)) else {
                        return at;
                    };
                    match self.peek(flow, direction, peek, out) {
                        Some(wanted) => wanted,
                        None => {
                            self.sides[i].done = true;
                            return view.len();
                        }
                    }
                }
                _ => false,
            } && total <= MAX_MESSAGE;
            if wanted && rest.len() < total {
                return at;
            }
            let side = &mut self.sides[i];
            side.messages += 1;
            if side.messages > MAX_MESSAGES {
                side.done = true;
                return view.len();
            }
            if !wanted {
                if rest.len() < total {
                    side.skip = total - rest.len();
                    return view.len();
                }
                at += total;
                continue;
            }
            at += total;
            self.message(flow, direction, header.kind, &rest[4..total], out);
        }
        at
    }

    /// Looks at the start of a session message: reports SMB1 replies, and says whether the
    /// message is to be read whole (`None`: not SMB).
    fn peek(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        smb: &[u8],
        out: &mut Observations,
    ) -> Option<bool> {
        match smb.get(..4)? {
            b"\xffSMB" => {
                let command = *smb.get(4)?;
                let reply = smb.get(9).is_some_and(|f| f & 0x80 != 0);
                // A negotiate reply may refuse every dialect (index 0xFFFF): it is judged
                // once read whole.
                if reply && command != SMB1_NEGOTIATE && direction == Direction::ServerToClient {
                    self.report_smb1(flow, out);
                }
                Some(matches!(command, SMB1_NEGOTIATE | SMB1_SESSION_SETUP))
            }
            b"\xfeSMB" => {
                let command = le_u16(smb, 12, "command").ok()?;
                Some(matches!(command, SMB2_NEGOTIATE | SMB2_SESSION_SETUP))
            }
            // Encrypted (transform) and compressed messages: nothing readable.
            b"\xfdSMB" | b"\xfcSMB" => Some(false),
            _ => None,
        }
    }

    fn report_smb1(&mut self, flow: &FlowMeta, out: &mut Observations) {
        if !self.smb1_reported {
            self.smb1_reported = true;
            let server = flow.server_device();
            out.finding(server, Finding::SmbV1, Source::Smb, flow.now);
            out.fact(server, Attribute::Service, "smb 1", Source::Smb, flow.now);
        }
    }

    /// One whole message (after its NetBIOS header).
    fn message(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        kind: u8,
        body: &[u8],
        out: &mut Observations,
    ) {
        if kind == NBSS_SESSION_REQUEST {
            session_request(flow, body, out);
            return;
        }
        if let Ok(m) = Smb1::parse(body) {
            self.smb1(flow, direction, &m, out);
        } else if let Ok(m) = Smb2::parse(body) {
            self.smb2(flow, direction, &m, out);
        }
    }

    fn smb1(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        m: &Smb1<'_>,
        out: &mut Observations,
    ) {
        let sender = flow.sender(direction);
        let now = flow.now;
        let from_server = direction == Direction::ServerToClient;
        match (m.command, m.is_reply() && from_server) {
            (SMB1_NEGOTIATE, true) => {
                let Ok(n) = Smb1NegotiateResponse::parse(m) else {
                    return;
                };
                if n.dialect_index == 0xffff {
                    return;
                }
                self.report_smb1(flow, out);
                let mut buf = [0u8; 256];
                text_fact(out, sender, Attribute::Domain, n.domain, &mut buf, now);
                text_fact(out, sender, Attribute::Hostname, n.server, &mut buf, now);
                if let Some(token) = ntlmssp::find(n.blob) {
                    ntlmssp::facts(token, sender, Source::Ntlmssp, now, out);
                }
            }
            (SMB1_SESSION_SETUP, reply) => {
                // Error responses carry no words: the outcome is in the header alone.
                let Ok(s) = Smb1SessionSetup::parse(m) else {
                    if reply {
                        self.outcome(flow, m.status, 0, out);
                    }
                    return;
                };
                let mut buf = [0u8; 256];
                text_fact(out, sender, Attribute::Os, s.native_os, &mut buf, now);
                text_fact(
                    out,
                    sender,
                    Attribute::Software,
                    s.native_lanman,
                    &mut buf,
                    now,
                );
                text_fact(
                    out,
                    sender,
                    Attribute::Domain,
                    s.primary_domain,
                    &mut buf,
                    now,
                );
                // Requests without extended security name the account in clear (empty: a
                // null session).
                if !reply && m.words.len() != 24 {
                    let mut user = [0u8; MAX_USER];
                    let user = s.account.decode(&mut user);
                    self.user = Some(if user.is_empty() { "anonymous" } else { user }.to_owned());
                }
                if let Some(token) = ntlmssp::find(s.blob) {
                    self.ntlm(token, sender, flow, out);
                }
                if reply {
                    self.outcome(flow, m.status, 0, out);
                }
            }
            _ => {}
        }
    }

    fn smb2(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        m: &Smb2<'_>,
        out: &mut Observations,
    ) {
        let sender = flow.sender(direction);
        let now = flow.now;
        let from_server = direction == Direction::ServerToClient;
        match (m.command, m.is_response() && from_server) {
            (SMB2_NEGOTIATE, true) => {
                let Ok(n) = Smb2NegotiateResponse::parse(m) else {
                    return;
                };
                if let Some(name) = n.dialect_name() {
                    let mut buf = [0u8; 16];
                    let mut w = ntlmssp::SliceWriter::new(&mut buf);
                    let _ = w.write_bytes(b"smb ");
                    let _ = w.write_bytes(name.as_bytes());
                    out.fact(sender, Attribute::Service, w.finish(), Source::Smb, now);
                }
            }
            (SMB2_SESSION_SETUP, response) => {
                let Ok(s) = Smb2SessionSetup::parse(m) else {
                    return;
                };
                if let Some(token) = ntlmssp::find(s.blob) {
                    self.ntlm(token, sender, flow, out);
                }
                if response {
                    self.outcome(flow, m.status, s.session_flags, out);
                }
            }
            _ => {}
        }
    }

    /// An NTLMSSP token from `sender`: facts, and the user of an AUTHENTICATE for the event.
    fn ntlm(
        &mut self,
        token: &[u8],
        sender: ironward_model::DeviceKey,
        flow: &FlowMeta,
        out: &mut Observations,
    ) {
        ntlmssp::facts(token, sender, Source::Ntlmssp, flow.now, out);
        if let Ok(ntlmssp::Message::Authenticate(a)) = ntlmssp::parse(token) {
            let mut domain = [0u8; MAX_USER / 2];
            let mut user = [0u8; MAX_USER / 2];
            let domain = a.domain.decode(&mut domain);
            let user = a.user.decode(&mut user);
            self.user = Some(match (domain.is_empty(), user.is_empty()) {
                (_, true) => "anonymous".to_owned(),
                (true, false) => user.to_owned(),
                (false, false) => format!("{domain}\\{user}"),
            });
        }
    }

    /// A session setup response: the final ones end the handshake and make the event.
    fn outcome(
        &mut self,
        flow: &FlowMeta,
        status: u32,
        session_flags: u16,
        out: &mut Observations,
    ) {
        if status == STATUS_MORE_PROCESSING_REQUIRED {
            return;
        }
        let user = self.user.take();
        let user = user
            .as_deref()
            .map(|u| format!(": user {u}"))
            .unwrap_or_default();
        let detail = if status == 0 {
            let how = match session_flags {
                f if f & 0x2 != 0 => " (anonymous)",
                f if f & 0x1 != 0 => " (guest)",
                _ => "",
            };
            format!("SMB session setup succeeded{how}{user}")
        } else {
            match status_name(status) {
                Some(name) => format!("SMB session setup failed ({name}){user}"),
                None => format!("SMB session setup failed (status 0x{status:08x}){user}"),
            }
        };
        out.event(
            flow,
            Direction::ClientToServer,
            "smb",
            EventCategory::Authentication,
            "login",
            detail,
        );
        // What follows is file traffic (often encrypted): stop reading this flow.
        for side in &mut self.sides {
            side.done = true;
        }
    }
}

/// A NetBIOS session request: called name (the server, as the client names it) and calling
/// name (the client's own).
fn session_request(flow: &FlowMeta, body: &[u8], out: &mut Observations) {
    let mut buf = [0u8; 16];
    let Some((called, _, used)) = netbios_name(body, &mut buf) else {
        return;
    };
    // "*SMBSERVER" is the generic name clients use when they know no better.
    if !called.starts_with(b"*") {
        let called = String::from_utf8_lossy(called);
        out.hearsay(
            flow.server_device(),
            Attribute::Hostname,
            &called,
            Source::Smb,
            flow.now,
        );
    }
    let mut buf = [0u8; 16];
    if let Some((calling, _, _)) = body.get(used..).and_then(|b| netbios_name(b, &mut buf)) {
        out.fact_bytes(
            flow.client_device(),
            Attribute::Hostname,
            calling,
            Source::Smb,
            flow.now,
        );
    }
}

fn text_fact(
    out: &mut Observations,
    subject: ironward_model::DeviceKey,
    attribute: Attribute,
    text: Text<'_>,
    buf: &mut [u8],
    now: ironward_model::Timestamp,
) {
    if !text.is_empty() {
        let value = text.decode(buf);
        out.fact(subject, attribute, value, Source::Smb, now);
    }
}

impl Dissector for SmbDissector {
    fn protocol(&self) -> &'static str {
        "smb"
    }

    fn on_stream(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        chunk: StreamChunk<'_>,
        out: &mut Observations,
    ) {
        framing::feed(
            self,
            direction.index(),
            chunk,
            MAX_MESSAGE,
            |this, bytes| this.messages(flow, direction, bytes, out),
        );
    }
}

fn le_u16(b: &[u8], at: usize, field: &'static str) -> Result<u16, SmbError> {
    let s = b
        .get(at..at + 2)
        .ok_or(SmbError::Truncated { field, offset: at })?;
    Ok(u16::from_le_bytes([s[0], s[1]]))
}

fn le_u32(b: &[u8], at: usize, field: &'static str) -> Result<u32, SmbError> {
    let s = b
        .get(at..at + 4)
        .ok_or(SmbError::Truncated { field, offset: at })?;
    Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::hex;
    use ironward_model::Timestamp;

    fn flow(port: u16) -> FlowMeta {
        FlowMeta {
            id: 1,
            transport: Transport::Tcp,
            client: ([172, 16, 0, 101], 1340).into(),
            server: ([172, 16, 0, 122], port).into(),
            now: Timestamp(1),
            frame: 1,
        }
    }

    type Run = (Vec<(bool, Attribute, String, Source)>, Vec<String>);

    fn run(port: u16, records: &[(Direction, Vec<u8>)]) -> Run {
        let f = flow(port);
        let mut d = SmbFactory
            .select(&f, records[0].0, &records[0].1)
            .expect("selected");
        let mut out = Observations::default();
        for (dir, bytes) in records {
            d.on_stream(&f, *dir, StreamChunk::Data(bytes), &mut out);
        }
        let facts = out
            .drain_facts()
            .map(|x| {
                (
                    x.subject == f.server_device(),
                    x.attribute,
                    x.value.into_owned(),
                    x.source,
                )
            })
            .collect();
        (facts, out.drain_events().map(|e| e.detail).collect())
    }

    use Direction::{ClientToServer as C, ServerToClient as S};

    /// ndpi_smbv1.pcap frames 1-4: SMB1 without extended security, Windows 2000 client,
    /// Windows 7 server.
    fn ndpi_smbv1() -> Vec<(Direction, Vec<u8>)> {
        vec![
            (C, hex("00000085ff534d4272000000001853c00000000000000000000000000000fffe00004000006200025043204e4554574f524b2050524f4752414d20312e3000024c414e4d414e312e30000257696e646f777320666f7220576f726b67726f75707320332e316100024c4d312e325830303200024c414e4d414e322e3100024e54204c4d20302e313200")),
            (S, hex("00000071ff534d4272000000009853c00000000000000000000000000000fffe000040001105000332000100041100000000010000000000fce3010040f49cd344b5d201f000082c0008ab1c2fe1ece6a957004f0052004b00470052004f005500500000004a004f0048004e002d00500043000000")),
            (C, hex("00000088ff534d4273000000001807c00000000000000000000000000000fffe000040000dff00880004110a000000000000000100000000000000d40000004b000000000000570069006e0064006f007700730020003200300030003000200032003100390035000000570069006e0064006f007700730020003200300030003000200035002e0030000000")),
            (S, hex("000000b9ff534d4273000000009807c00000000000000000000000000000fffe0008400003ff00b9000000900000570069006e0064006f007700730020003700200055006c00740069006d00610074006500200037003600300031002000530065007200760069006300650020005000610063006b00200031000000570069006e0064006f007700730020003700200055006c00740069006d00610074006500200036002e003100000057004f0052004b00470052004f005500500000")),
        ]
    }

    fn has(
        facts: &[(bool, Attribute, String, Source)],
        server: bool,
        a: Attribute,
        v: &str,
    ) -> bool {
        facts.iter().any(|f| f.0 == server && f.1 == a && f.2 == v)
    }

    #[test]
    fn smb1_without_extended_security() {
        let (facts, events) = run(445, &ndpi_smbv1());
        assert!(has(&facts, true, Attribute::Finding, "smb_v1"));
        assert!(has(&facts, true, Attribute::Service, "smb 1"));
        assert!(has(&facts, true, Attribute::Domain, "WORKGROUP"));
        assert!(has(&facts, true, Attribute::Hostname, "JOHN-PC"));
        assert!(has(&facts, false, Attribute::Os, "Windows 2000 2195"));
        assert!(has(&facts, false, Attribute::Software, "Windows 2000 5.0"));
        assert!(has(
            &facts,
            true,
            Attribute::Os,
            "Windows 7 Ultimate 7601 Service Pack 1"
        ));
        assert!(has(
            &facts,
            true,
            Attribute::Software,
            "Windows 7 Ultimate 6.1"
        ));
        assert_eq!(facts.len(), 8, "{facts:?}");
        assert_eq!(
            events,
            vec!["SMB session setup succeeded: user anonymous".to_owned()]
        );
    }

    /// Sample_File_MMS_and_GOOSE.pcap frames 10-17: port 139, NetBIOS session request, SMB1
    /// with extended security and NTLMSSP, logon failure.
    fn mms_session() -> Vec<(Direction, Vec<u8>)> {
        [
            (C, "81000044204644454246444442434143414341434143414341434143414341434143414341002045454546454e455043414341434143414341434143414341434143414341414100"),
            (S, "82000000"),
            (C, "00000085ff534d4272000000001853c80000000000000000000000000000fffe00000000006200025043204e4554574f524b2050524f4752414d20312e3000024c414e4d414e312e30000257696e646f777320666f7220576f726b67726f75707320332e316100024c4d312e325830303200024c414e4d414e322e3100024e54204c4d20302e313200"),
            (S, "00000055ff534d4272000000009853c80000000000000000000000000000fffe00000000110500030a000100041100000000010000000000fde30080943254e5e2e8c8010000001000035f3baa4063884abd17d5721c567e15"),
            (C, "000000f4ff534d4273000000001807c80000000000000000000000000000fffe000010000cff00f40004110a00000000000000280000000000d40000a0b9004e544c4d5353500001000000078208a2000000000000000000000000000000000502ce0e0000000f00570069006e0064006f0077007300200053006500720076006500720020003200300030003300200052003200200033003700390030002000530065007200760069006300650020005000610063006b002000320000000000570069006e0064006f0077007300200053006500720076006500720020003200300030003300200052003200200035002e00320000000000"),
            (S, "000000e1ff534d4273160000c09807c80000000000000000000000000000fffe0008100004ff00e10000006c00b6004e544c4d5353500002000000080008003000000005828aa03e3fb6dd83384e160000000000000000340034003800000053004100530031000200080053004100530031000100080053004100530031000400080073006100730031000300080073006100730031000000000000570069006e0064006f0077007300200035002e0030000000570069006e0064006f00770073002000320030003000300020004c0041004e0020004d0061006e00610067006500720000"),
            (C, "00000168ff534d4273000000001807c80000000000000000000000000000fffe000820000cff00680104110a000000000000009c0000000000d40000a02d014e544c4d5353500003000000180018006c0000001800180084000000080008004800000014001400500000000800080064000000000000009c000000058288a20502ce0e0000000f440045004d004f004d006900630072006f0053004300410044004100440045004d004f000f72e0028d14459f000000000000000000000000000000008ec4dde4200fb23ce6a1f290e29d579048b5190b9d128fbd00570069006e0064006f0077007300200053006500720076006500720020003200300030003300200052003200200033003700390030002000530065007200760069006300650020005000610063006b002000320000000000570069006e0064006f0077007300200053006500720076006500720020003200300030003300200052003200200035002e00320000000000"),
            (S, "00000023ff534d42736d0000c09807c80000000000000000000000000000fffe00082000000000"),
        ]
        .into_iter()
        .map(|(d, h)| (d, hex(h)))
        .collect()
    }

    #[test]
    fn smb1_extended_security_with_ntlmssp() {
        let (facts, events) = run(139, &mms_session());
        let expected = [
            (true, Attribute::Hostname, "SAS1", Source::Smb),
            (false, Attribute::Hostname, "DEMO", Source::Smb),
            (true, Attribute::Finding, "smb_v1", Source::Smb),
            (true, Attribute::Service, "smb 1", Source::Smb),
            (
                false,
                Attribute::Os,
                "Windows Server 2003 R2 3790 Service Pack 2",
                Source::Smb,
            ),
            (
                false,
                Attribute::Os,
                "Windows 5.2 build 3790",
                Source::Ntlmssp,
            ),
            (true, Attribute::Os, "Windows 5.0", Source::Smb),
            (
                true,
                Attribute::Software,
                "Windows 2000 LAN Manager",
                Source::Smb,
            ),
            (true, Attribute::Domain, "SAS1", Source::Ntlmssp),
            (true, Attribute::Hostname, "SAS1", Source::Ntlmssp),
            (true, Attribute::Domain, "sas1", Source::Ntlmssp),
            (true, Attribute::Hostname, "sas1", Source::Ntlmssp),
            (false, Attribute::Hostname, "DEMO", Source::Ntlmssp),
            (false, Attribute::Domain, "DEMO", Source::Ntlmssp),
        ];
        let expected: Vec<_> = expected
            .iter()
            .map(|(s, a, v, src)| (*s, *a, (*v).to_owned(), *src))
            .collect();
        assert_eq!(facts, expected);
        assert_eq!(
            events,
            vec![
                "SMB session setup failed (STATUS_LOGON_FAILURE): user DEMO\\MicroSCADA".to_owned()
            ]
        );
    }

    #[test]
    fn smb1_negotiate_refused_is_not_smb1_in_use() {
        // The ndpi negotiate response with dialect index 0xFFFF and no words beyond it.
        let response = hex(
            "00000025ff534d4272000000009853c00000000000000000000000000000fffe0000400001ffff0000",
        );
        let (facts, _) = run(445, &[ndpi_smbv1().remove(0), (S, response)]);
        assert!(facts.is_empty(), "{facts:?}");
    }

    #[test]
    fn netbios_names() {
        let request = hex("81000044204644454246444442434143414341434143414341434143414341434143414341002045454546454e455043414341434143414341434143414341434143414341414100");
        let mut buf = [0u8; 16];
        let (name, suffix, used) = netbios_name(&request[4..], &mut buf).unwrap();
        assert_eq!((name, suffix, used), (&b"SAS1"[..], 0x20, 34));
        let (facts, events) = run(139, &[(C, request), (S, hex("82000000"))]);
        assert_eq!(
            facts,
            vec![
                (true, Attribute::Hostname, "SAS1".to_owned(), Source::Smb),
                (false, Attribute::Hostname, "DEMO".to_owned(), Source::Smb),
            ]
        );
        assert!(events.is_empty());
    }

    /// zeek_smb311.pcap frames 1-6: SMB 3.1.1 with NTLMSSP inside SPNEGO.
    fn smb311() -> Vec<(Direction, Vec<u8>)> {
        vec![
            (C, hex("000000b8fe534d42400000000000000000000200000000000000000000000000000000000b01000000000000000000000000000000000000000000000000000000000000240001000100000077000000b466f294dc014341828b4cefaf39f64b6800000003000000110300000100260000000000010020000100b9247cbf6ee50ba6d8c1a2af2de2af73bab483ed7003e3202514ccd13dd727e400000200040000000000010001000000000000010800000000000000000000000000")),
            (S, hex("00000134fe534d42400000000000000000000100010000000000000000000000000000000b0100000000000000000000000000000000000000000000000000000000000041000300110302004b29be9c63ddb6478d1f3dce81383e6927000000000080000000800000008000f54d127914a9d40187bf26da6b6dd40180007800f8000000607606062b0601050502a06c306aa03c303a060a2b06010401823702021e06092a864882f71201020206092a864886f712010202060a2a864886f71201020203060a2b06010401823702020aa32a3028a0261b246e6f745f646566696e65645f696e5f5246433431373840706c656173655f69676e6f7265010026000000000001002000010017a395280d0d74ec5ae50e1aef85075d55998642d0ebc808e00aad01709a2fb70000020004000000000001000100")),
            (C, hex("00000078fe534d42400000000000000001008200000000000000000001000000000000000b010000000000000000000000000000000000000000000000000000000000001900000200000000000000005800200000000000000000004e544c4d5353500001000000350208e000000000000000000000000000000000")),
            (S, hex("000000eafe534d4240000000160000c001000100010000000000000001000000000000000b01000000000000690000ac1c28000000000000000000000000000000000000090000004800a2004e544c4d53535000020000000600060038000000350289e2da16f9f1d38965030000000000000000640064003e0000000a0039380000000f46004f004f000200060046004f004f0001000400410044000400100066006f006f002e00740065007300740003001600410044002e0066006f006f002e0074006500730074000500100066006f006f002e007400650073007400070008009d9c207914a9d40100000000")),
            (C, hex("00000154fe534d42400000000000000001008200000000000000000002000000000000000b01000000000000690000ac1c280000000000000000000000000000000000001900000200000000000000005800fc0000000000000000004e544c4d53535000030000000000000040000000900090004000000000000000d00000001a001a00d000000000000000ea00000010001000ec000000350288e0ece19aadf7d80ae5f4c1a3a586074ea701010000000000009d9c207914a9d401ae25580d2409ab0e000000000200060046004f004f0001000400410044000400100066006f006f002e00740065007300740003001600410044002e0066006f006f002e0074006500730074000500100066006f006f002e007400650073007400070008009d9c207914a9d40100000000610064006d0069006e006900730074007200610074006f007200000051cf29aa12df95dc1c6aacef50adf76a")),
            (S, hex("00000048fe534d42400000000000000001008200090000000000000002000000000000000b01000000000000690000ac1c280000a40707763fffe1927a5bf65fed0f65910900000048000000")),
        ]
    }

    #[test]
    fn smb3_with_ntlmssp() {
        let (facts, events) = run(445, &smb311());
        let expected = [
            (true, Attribute::Service, "smb 3.1.1", Source::Smb),
            (true, Attribute::Domain, "FOO", Source::Ntlmssp),
            (true, Attribute::Hostname, "AD", Source::Ntlmssp),
            (true, Attribute::Domain, "foo.test", Source::Ntlmssp),
            (true, Attribute::Hostname, "AD.foo.test", Source::Ntlmssp),
            (
                true,
                Attribute::Os,
                "Windows 10.0 build 14393",
                Source::Ntlmssp,
            ),
        ];
        let expected: Vec<_> = expected
            .iter()
            .map(|(s, a, v, src)| (*s, *a, (*v).to_owned(), *src))
            .collect();
        assert_eq!(facts, expected);
        assert_eq!(
            events,
            vec!["SMB session setup succeeded: user administrator".to_owned()]
        );
    }

    #[test]
    fn split_and_coalesced_messages() {
        let whole = run(445, &smb311());
        for size in [1, 5, 64] {
            let split: Vec<_> = smb311()
                .into_iter()
                .flat_map(|(d, b)| b.chunks(size).map(|c| (d, c.to_vec())).collect::<Vec<_>>())
                .collect();
            assert_eq!(run(445, &split), whole, "chunks of {size}");
        }
        // Both SMB1 responses in one segment.
        let mut records = ndpi_smbv1();
        let last = records.remove(3);
        records.remove(1);
        let mut both = ndpi_smbv1()[1].1.clone();
        both.extend_from_slice(&last.1);
        records.push((S, both));
        let (facts, _) = run(445, &records);
        assert!(has(
            &facts,
            true,
            Attribute::Os,
            "Windows 7 Ultimate 7601 Service Pack 1"
        ));
    }

    #[test]
    fn big_messages_are_passed_over() {
        let f = flow(445);
        let mut d = SmbDissector::default();
        let mut out = Observations::default();
        // An SMB2 READ response of 1 MiB, then the handshake.
        let mut read = hex("00100000fe534d424000000000000000080001000100000000000000");
        read.resize(1000, 0);
        d.on_stream(&f, S, StreamChunk::Data(&read), &mut out);
        for _ in 0..1047 {
            d.on_stream(&f, S, StreamChunk::Data(&[0; 1000]), &mut out);
            assert!(d.sides[1].buf.is_empty());
        }
        d.on_stream(&f, S, StreamChunk::Data(&[0; 580]), &mut out);
        assert_eq!(d.sides[1].skip, 0);
        d.on_stream(&f, S, StreamChunk::Data(&smb311()[1].1), &mut out);
        assert_eq!(out.facts()[0].value, "smb 3.1.1");
    }

    #[test]
    fn hostile_input() {
        // Not NetBIOS on 445: the side stops.
        let (facts, _) = run(445, &[(C, b"GET / HTTP/1.1\r\n\r\n".to_vec())]);
        assert!(facts.is_empty());
        // Every prefix of every real message parses or fails without panicking.
        for (dir, bytes) in smb311().into_iter().chain(ndpi_smbv1()) {
            for end in 0..bytes.len() {
                run(445, &[(dir, bytes[..end].to_vec())]);
                let body = bytes.get(4..end).unwrap_or_default();
                if let Ok(m) = Smb1::parse(body) {
                    let _ = Smb1SessionSetup::parse(&m);
                    let _ = Smb1NegotiateResponse::parse(&m);
                }
                if let Ok(m) = Smb2::parse(body) {
                    let _ = Smb2SessionSetup::parse(&m);
                    let _ = Smb2NegotiateResponse::parse(&m);
                }
            }
        }
        let mut buf = [0u8; 16];
        assert!(netbios_name(b"\x20ZZ", &mut buf).is_none());
    }

    #[test]
    fn selection() {
        assert!(SmbFactory.select(&flow(445), C, b"x").is_some());
        assert!(SmbFactory.select(&flow(139), C, b"x").is_some());
        assert!(SmbFactory.select(&flow(8445), C, &smb311()[0].1).is_some());
        assert!(SmbFactory
            .select(&flow(8445), C, b"\0\0\0\x10hello")
            .is_none());
    }
}
