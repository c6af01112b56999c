//! RFB (VNC, RFC 6143): the handshake up to ServerInit.
//!
//! Recognised on TCP ports 5900–5910 and, on any port, by a server's first bytes `RFB 003.`.
//! Both sides open with a 12-byte ProtocolVersion (`RFB 003.008\n`); then the server offers
//! security types (3.7 and later: a list the client picks one from; 3.3: the server decides
//! alone), the chosen type's authentication runs, the server sends a SecurityResult, the client
//! a ClientInit and the server a ServerInit carrying the desktop name. After that come
//! framebuffer updates, which can be megabytes: the dissector stops there and buffers nothing
//! more.
//!
//! Facts: the server's version (→ software, with Apple's 003.889 named), the offered security
//! types (→ service "vnc (security: vnc-auth, none)"), the desktop name (→ description); the
//! client's version (→ user agent). Finding, on the server: VNC without authentication when it
//! offers security type None (whichever type this client then picks: any other client may pick
//! None and get the screen without a password), or imposes None (3.3). Event: the
//! SecurityResult.

use ironward_model::{Attribute, EventCategory, Finding, Source};

use crate::ntlmssp::SliceWriter;
use crate::{
    Direction, Dissector, DissectorFactory, DissectorRegistry, FlowMeta, Observations, StreamChunk,
    Transport,
};

/// Length of a ProtocolVersion message.
pub const VERSION_LEN: usize = 12;

/// Most bytes buffered per direction while a handshake message is incomplete.
pub const MAX_BUFFER: usize = 4096;

/// Longest desktop name read from a ServerInit (the rest is skipped).
pub const MAX_NAME: usize = 256;

/// Security type None.
pub const SECURITY_NONE: u8 = 1;
/// Security type VNC Authentication (DES challenge-response).
pub const SECURITY_VNC_AUTH: u8 = 2;
/// Security type Apple Remote Desktop (Diffie-Hellman).
pub const SECURITY_ARD: u8 = 30;

/// Why an RFB message could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RfbError {
    /// The input ends before `field`, which starts at `offset`.
    Truncated {
        /// The field that is cut.
        field: &'static str,
        /// Where it starts.
        offset: usize,
    },
    /// The ProtocolVersion is not `RFB xxx.yyy\n`; `offset` is the first wrong byte.
    BadVersion {
        /// Offset of the first byte that does not fit.
        offset: usize,
    },
}

impl std::fmt::Display for RfbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Truncated { field, offset } => {
                write!(f, "RFB message truncated at {field} (offset {offset})")
            }
            Self::BadVersion { offset } => {
                write!(f, "RFB ProtocolVersion malformed at offset {offset}")
            }
        }
    }
}

impl std::error::Error for RfbError {}

/// A ProtocolVersion message: `RFB 003.008\n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProtocolVersion<'a> {
    /// The 11 bytes before the newline (`RFB 003.008`).
    pub text: &'a [u8],
    /// Major version (3).
    pub major: u16,
    /// Minor version (3, 7, 8, or vendor values such as Apple's 889).
    pub minor: u16,
}

/// How a version runs the security handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handshake {
    /// 3.3 (and unknown 3.x below 3.7, as RFC 6143 says): the server decides the security type.
    V33,
    /// 3.7: the client chooses; no SecurityResult after None.
    V37,
    /// 3.8 and later (Apple's 3.889 too): the client chooses; SecurityResult always follows,
    /// with a reason string on failure.
    V38,
}

impl<'a> ProtocolVersion<'a> {
    /// Reads the 12-byte ProtocolVersion at the start of `input`.
    pub fn parse(input: &'a [u8]) -> Result<Self, RfbError> {
        let bytes = input.get(..VERSION_LEN).ok_or(RfbError::Truncated {
            field: "ProtocolVersion",
            offset: 0,
        })?;
        for (i, (&b, &want)) in bytes.iter().zip(b"RFB 000.000\n").enumerate() {
            let ok = if want == b'0' {
                b.is_ascii_digit()
            } else {
                b == want
            };
            if !ok {
                return Err(RfbError::BadVersion { offset: i });
            }
        }
        let number = |d: &[u8]| {
            d.iter()
                .fold(0u16, |n, &c| n * 10 + u16::from(c.wrapping_sub(b'0')))
        };
        Ok(Self {
            text: &bytes[..11],
            major: number(&bytes[4..7]),
            minor: number(&bytes[8..11]),
        })
    }

    /// The handshake this version implies.
    pub fn handshake(&self) -> Handshake {
        match (self.major, self.minor) {
            (0..=2, _) => Handshake::V33,
            (3, 0..=6) => Handshake::V33,
            (3, 7) => Handshake::V37,
            _ => Handshake::V38,
        }
    }

    /// Whether this is the version Apple's Screen Sharing / Remote Desktop server announces.
    pub fn is_apple(&self) -> bool {
        self.major == 3 && self.minor == 889
    }
}

/// The server's security message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityOffer<'a> {
    /// 3.7+: the types the client may choose from.
    Types(&'a [u8]),
    /// 3.3: the type the server imposes.
    Imposed(u32),
    /// The server refuses the connection (no types / type 0), with its reason.
    Refused(&'a [u8]),
}

impl<'a> SecurityOffer<'a> {
    /// Reads the server's security message for `handshake`; returns it and its length.
    pub fn parse(input: &'a [u8], handshake: Handshake) -> Result<(Self, usize), RfbError> {
        // Past this match the server refuses: a reason string follows the header.
        let header = match handshake {
            Handshake::V33 => {
                let kind = be_u32(input, 0, "security type")?;
                if kind != 0 {
                    return Ok((Self::Imposed(kind), 4));
                }
                4
            }
            Handshake::V37 | Handshake::V38 => {
                let n = usize::from(*input.first().ok_or(RfbError::Truncated {
                    field: "number of security types",
                    offset: 0,
                })?);
                if n > 0 {
                    let types = input.get(1..1 + n).ok_or(RfbError::Truncated {
                        field: "security types",
                        offset: 1,
                    })?;
                    return Ok((Self::Types(types), 1 + n));
                }
                1
            }
        };
        let (reason, len) = reason(input, header)?;
        Ok((Self::Refused(reason), len))
    }
}

/// A ServerInit message (only the parts kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerInit<'a> {
    /// Framebuffer width.
    pub width: u16,
    /// Framebuffer height.
    pub height: u16,
    /// The desktop name, cut at [`MAX_NAME`] bytes.
    pub name: &'a [u8],
    /// The declared name length.
    pub name_len: u32,
}

impl<'a> ServerInit<'a> {
    /// Reads a ServerInit; needs the 24 fixed bytes and the first [`MAX_NAME`] bytes of the
    /// name (or all of it when shorter).
    pub fn parse(input: &'a [u8]) -> Result<Self, RfbError> {
        let width = be_u16(input, 0, "framebuffer width")?;
        let height = be_u16(input, 2, "framebuffer height")?;
        let name_len = be_u32(input, 20, "name length")?;
        let keep = (name_len as usize).min(MAX_NAME);
        let name = input.get(24..24 + keep).ok_or(RfbError::Truncated {
            field: "desktop name",
            offset: 24,
        })?;
        Ok(Self {
            width,
            height,
            name,
            name_len,
        })
    }

    /// The name to show: Apple's servers prefix it with binary data ending in NUL bytes
    /// (`00 00 00 00 00 02 bf fe ... 00 MacMini SSD`), so the text after the last NUL is taken;
    /// other servers' names contain no NUL.
    pub fn display_name(&self) -> &'a [u8] {
        match self.name.iter().rposition(|&b| b == 0) {
            Some(i) => &self.name[i + 1..],
            None => self.name,
        }
    }
}

/// A SecurityResult: 0 is OK.
pub fn parse_security_result(input: &[u8]) -> Result<u32, RfbError> {
    be_u32(input, 0, "SecurityResult")
}

/// A short name for a security type (IANA RFB registry), `None` for unnamed ones.
pub fn security_type_name(kind: u8) -> Option<&'static str> {
    Some(match kind {
        0 => "invalid",
        1 => "none",
        2 => "vnc-auth",
        5 => "ra2",
        6 => "ra2ne",
        16 => "tight",
        17 => "ultra",
        18 => "tls",
        19 => "vencrypt",
        20 => "sasl",
        21 => "md5",
        22 => "xvp",
        30 => "ard",
        113 => "mslogon-ii",
        _ => return None,
    })
}

/// Adds the RFB dissector to `registry`.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register(Box::new(RfbFactory));
}

/// Takes TCP flows to ports 5900–5910 and flows whose first bytes are `RFB 003.`.
#[derive(Debug, Clone, Copy, Default)]
pub struct RfbFactory;

impl DissectorFactory for RfbFactory {
    fn protocol(&self) -> &'static str {
        "rfb"
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
        let by_port = (5900..=5910).contains(&flow.server.port());
        (by_port || first_payload.starts_with(b"RFB 003."))
            .then(|| Box::<RfbDissector>::default() as Box<dyn Dissector>)
    }
}

/// Where the server's side of the handshake is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum ServerStage {
    #[default]
    Version,
    Security,
    /// The authentication messages of the chosen type.
    Auth,
    SecurityResult,
    ServerInit,
    Done,
}

/// Where the client's side is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum ClientStage {
    #[default]
    Version,
    Choice,
    Done,
}

/// One direction's bounded buffer.
#[derive(Debug, Default)]
struct Side {
    buf: Vec<u8>,
}

/// Per-flow RFB state.
#[derive(Debug, Default)]
pub struct RfbDissector {
    server: Side,
    client: Side,
    server_stage: ServerStage,
    client_stage: ClientStage,
    server_handshake: Option<Handshake>,
    client_handshake: Option<Handshake>,
    /// The security type in force: chosen by the client or imposed by a 3.3 server.
    chosen: Option<u8>,
}

impl RfbDissector {
    /// The handshake both sides run: the client's answer decides, the server's version stands
    /// in when the client's was not captured.
    fn handshake(&self) -> Option<Handshake> {
        self.client_handshake.or(self.server_handshake)
    }

    fn finished(&self) -> bool {
        self.server_stage == ServerStage::Done && self.client_stage == ClientStage::Done
    }

    /// Runs the server's side as far as its buffer allows.
    fn advance_server(&mut self, flow: &FlowMeta, out: &mut Observations) {
        let server = flow.server_device();
        let src = Source::Rfb;
        loop {
            let input = self.server.buf.as_slice();
            let step: Result<(usize, ServerStage), RfbError> = match self.server_stage {
                ServerStage::Done => return,
                ServerStage::Version => ProtocolVersion::parse(input).map(|v| {
                    self.server_handshake = Some(v.handshake());
                    let mut buf = [0u8; 80];
                    let mut w = SliceWriter::new(&mut buf);
                    let _ = w.write_bytes(v.text);
                    if v.is_apple() {
                        let _ = w.write_bytes(b" (Apple Remote Desktop / macOS Screen Sharing)");
                    }
                    out.fact(server, Attribute::Software, w.finish(), src, flow.now);
                    (VERSION_LEN, ServerStage::Security)
                }),
                ServerStage::Security => {
                    let Some(handshake) = self.handshake() else {
                        return;
                    };
                    SecurityOffer::parse(input, handshake).map(|(offer, len)| {
                        let next = match offer {
                            SecurityOffer::Types(types) => {
                                service_fact(types, flow, out);
                                if types.contains(&SECURITY_NONE) {
                                    out.finding(
                                        server,
                                        Finding::VncWithoutAuthentication,
                                        src,
                                        flow.now,
                                    );
                                }
                                ServerStage::Auth
                            }
                            SecurityOffer::Imposed(kind) => {
                                let kind = u8::try_from(kind).unwrap_or(0);
                                self.chosen = Some(kind);
                                service_fact(&[kind], flow, out);
                                if kind == SECURITY_NONE {
                                    out.finding(
                                        server,
                                        Finding::VncWithoutAuthentication,
                                        src,
                                        flow.now,
                                    );
                                }
                                ServerStage::Auth
                            }
                            SecurityOffer::Refused(_) => ServerStage::Done,
                        };
                        (len, next)
                    })
                }
                ServerStage::Auth => {
                    let (Some(kind), Some(handshake)) = (self.chosen, self.handshake()) else {
                        return;
                    };
                    match kind {
                        SECURITY_NONE if handshake == Handshake::V38 => {
                            Ok((0, ServerStage::SecurityResult))
                        }
                        // 3.3 and 3.7 send no SecurityResult after None: the session is open.
                        SECURITY_NONE => {
                            out.event(
                                flow,
                                Direction::ClientToServer,
                                "rfb",
                                EventCategory::Authentication,
                                "login",
                                "VNC session opened without authentication (none)",
                            );
                            Ok((0, ServerStage::ServerInit))
                        }
                        // A 16-byte DES challenge.
                        SECURITY_VNC_AUTH => {
                            if input.len() >= 16 {
                                Ok((16, ServerStage::SecurityResult))
                            } else {
                                Err(truncated("VNC authentication challenge"))
                            }
                        }
                        // Generator, key length, prime and public key (each key-length long).
                        SECURITY_ARD => be_u16(input, 2, "ARD key length").and_then(|key| {
                            let len = 4 + 2 * usize::from(key);
                            if input.len() >= len {
                                Ok((len, ServerStage::SecurityResult))
                            } else {
                                Err(truncated("ARD parameters"))
                            }
                        }),
                        // Other types (TLS, VeNCrypt, Tight...) run exchanges not followed here.
                        _ => Ok((0, ServerStage::Done)),
                    }
                }
                ServerStage::SecurityResult => parse_security_result(input).map(|result| {
                    let name = self
                        .chosen
                        .and_then(security_type_name)
                        .unwrap_or("other security type");
                    let detail = if result == 0 {
                        format!("VNC authentication succeeded ({name})")
                    } else {
                        format!("VNC authentication failed ({name})")
                    };
                    out.event(
                        flow,
                        Direction::ClientToServer,
                        "rfb",
                        EventCategory::Authentication,
                        "login",
                        detail,
                    );
                    if result == 0 {
                        (4, ServerStage::ServerInit)
                    } else {
                        (4, ServerStage::Done)
                    }
                }),
                ServerStage::ServerInit => ServerInit::parse(input).map(|init| {
                    out.fact_bytes(
                        server,
                        Attribute::Description,
                        init.display_name(),
                        src,
                        flow.now,
                    );
                    (input.len(), ServerStage::Done)
                }),
            };
            match step {
                Ok((used, next)) => {
                    let used = used.min(self.server.buf.len());
                    self.server.buf.drain(..used);
                    self.server_stage = next;
                    if next == ServerStage::Done {
                        self.server.buf = Vec::new();
                        return;
                    }
                }
                Err(RfbError::Truncated { .. }) if self.server.buf.len() < MAX_BUFFER => return,
                Err(_) => {
                    self.server_stage = ServerStage::Done;
                    self.server.buf = Vec::new();
                    return;
                }
            }
        }
    }

    /// Runs the client's side as far as its buffer allows.
    fn advance_client(&mut self, flow: &FlowMeta, out: &mut Observations) {
        let client = flow.client_device();
        loop {
            let input = self.client.buf.as_slice();
            let step: Result<(usize, ClientStage), RfbError> = match self.client_stage {
                ClientStage::Done => return,
                ClientStage::Version => ProtocolVersion::parse(input).map(|v| {
                    let handshake = v.handshake();
                    self.client_handshake = Some(handshake);
                    out.fact_bytes(client, Attribute::UserAgent, v.text, Source::Rfb, flow.now);
                    let next = if handshake == Handshake::V33 {
                        ClientStage::Done
                    } else {
                        ClientStage::Choice
                    };
                    (VERSION_LEN, next)
                }),
                ClientStage::Choice => match input.first() {
                    Some(&kind) => {
                        self.chosen = Some(kind);
                        Ok((1, ClientStage::Done))
                    }
                    None => Err(truncated("security type choice")),
                },
            };
            match step {
                Ok((used, next)) => {
                    self.client.buf.drain(..used.min(self.client.buf.len()));
                    self.client_stage = next;
                    if next == ClientStage::Done {
                        self.client.buf = Vec::new();
                        return;
                    }
                }
                Err(RfbError::Truncated { .. }) if self.client.buf.len() < MAX_BUFFER => return,
                Err(_) => {
                    self.client_stage = ClientStage::Done;
                    self.client.buf = Vec::new();
                    return;
                }
            }
        }
    }
}

impl Dissector for RfbDissector {
    fn protocol(&self) -> &'static str {
        "rfb"
    }

    fn on_stream(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        chunk: StreamChunk<'_>,
        out: &mut Observations,
    ) {
        if self.finished() {
            return;
        }
        let (side, done) = match direction {
            Direction::ServerToClient => (&mut self.server, self.server_stage == ServerStage::Done),
            Direction::ClientToServer => (&mut self.client, self.client_stage == ClientStage::Done),
        };
        if done {
            return;
        }
        match chunk {
            StreamChunk::Data(bytes) => {
                let room = MAX_BUFFER.saturating_sub(side.buf.len());
                side.buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
            }
            // Lost bytes desynchronise this side for good.
            StreamChunk::Gap(_) => {
                side.buf = Vec::new();
                match direction {
                    Direction::ServerToClient => self.server_stage = ServerStage::Done,
                    Direction::ClientToServer => self.client_stage = ClientStage::Done,
                }
            }
            StreamChunk::End => {}
        }
        // The client's choice can release a server side waiting for it, and the server's
        // version tells the client side which handshake runs: advance both.
        self.advance_client(flow, out);
        self.advance_server(flow, out);
    }
}

/// Service fact on the server: "vnc (security: vnc-auth, none)".
fn service_fact(types: &[u8], flow: &FlowMeta, out: &mut Observations) {
    use std::fmt::Write;
    let mut buf = [0u8; 200];
    let mut w = SliceWriter::new(&mut buf);
    let _ = w.write_str("vnc (security: ");
    for (i, &kind) in types.iter().enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        // Leave room for the closing parenthesis; a longer list is cut.
        if w.room() < 20 {
            let _ = w.write_str(", ...");
            break;
        }
        let _ = match security_type_name(kind) {
            Some(name) => write!(w, "{sep}{name}"),
            None => write!(w, "{sep}type-{kind}"),
        };
    }
    let _ = w.write_str(")");
    out.fact(
        flow.server_device(),
        Attribute::Service,
        w.finish(),
        Source::Rfb,
        flow.now,
    );
}

/// A reason string (u32 length, text) at `at`; returns it (cut at [`MAX_NAME`]) and the end of
/// the message. A server that closes without a reason gives an empty one.
fn reason(input: &[u8], at: usize) -> Result<(&[u8], usize), RfbError> {
    let Some(len) = input.get(at..at + 4) else {
        return Ok((&[], at));
    };
    let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
    let keep = len.min(MAX_NAME);
    let text = input.get(at + 4..at + 4 + keep).unwrap_or_default();
    Ok((text, at + 4 + text.len()))
}

fn truncated(field: &'static str) -> RfbError {
    RfbError::Truncated { field, offset: 0 }
}

fn be_u16(b: &[u8], at: usize, field: &'static str) -> Result<u16, RfbError> {
    let s = b
        .get(at..at + 2)
        .ok_or(RfbError::Truncated { field, offset: at })?;
    Ok(u16::from_be_bytes([s[0], s[1]]))
}

fn be_u32(b: &[u8], at: usize, field: &'static str) -> Result<u32, RfbError> {
    let s = b
        .get(at..at + 4)
        .ok_or(RfbError::Truncated { field, offset: at })?;
    Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::hex;
    use ironward_model::{DeviceKey, Timestamp};

    fn flow(port: u16) -> FlowMeta {
        FlowMeta {
            id: 1,
            transport: Transport::Tcp,
            client: ([192, 168, 2, 115], 52353).into(),
            server: ([192, 168, 2, 16], port).into(),
            now: Timestamp(1),
            frame: 1,
        }
    }

    /// Feeds `(direction, bytes)` records; returns facts as (subject is server, attribute,
    /// value) and event details.
    fn run(
        port: u16,
        records: &[(Direction, Vec<u8>)],
    ) -> (Vec<(bool, Attribute, String)>, Vec<String>) {
        let f = flow(port);
        let first = &records[0];
        let mut d = RfbFactory.select(&f, first.0, &first.1).expect("selected");
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
                )
            })
            .collect();
        let events = out.drain_events().map(|e| e.detail).collect();
        (facts, events)
    }

    use Direction::{ClientToServer as C, ServerToClient as S};

    /// The third connection of zeek_vncmac.pcap (frames 42–58): Apple 003.889, ARD
    /// authentication accepted, ServerInit with Apple's prefixed desktop name.
    fn apple_session() -> Vec<(Direction, Vec<u8>)> {
        let mut ard = hex("0002 0080");
        ard.extend(std::iter::repeat_n(0xab, 256));
        vec![
            (S, b"RFB 003.889\n".to_vec()),
            (C, b"RFB 003.889\n".to_vec()),
            (S, hex("02 1e 23")),
            (C, hex("1e")),
            (S, ard),
            (C, vec![0xcd; 256]),
            (S, hex("00000000")),
            (C, hex("01")),
            (
                S,
                hex("07800438 2018000100ff00ff00ff100800 000000 00000021
                     0000000000 02bffee703e0 0000000000000000000000 4d61634d696e6920535344"),
            ),
            (S, vec![0; 10_000]),
        ]
    }

    #[test]
    fn apple_handshake() {
        let (facts, events) = run(5900, &apple_session());
        assert_eq!(
            facts,
            vec![
                (
                    true,
                    Attribute::Software,
                    "RFB 003.889 (Apple Remote Desktop / macOS Screen Sharing)".to_owned()
                ),
                (false, Attribute::UserAgent, "RFB 003.889".to_owned()),
                (
                    true,
                    Attribute::Service,
                    "vnc (security: ard, type-35)".to_owned()
                ),
                (true, Attribute::Description, "MacMini SSD".to_owned()),
            ]
        );
        assert_eq!(
            events,
            vec!["VNC authentication succeeded (ard)".to_owned()]
        );
    }

    #[test]
    fn split_anywhere_gives_the_same_facts() {
        let whole = run(5900, &apple_session());
        for size in [1, 3, 7] {
            let split: Vec<_> = apple_session()
                .into_iter()
                .flat_map(|(d, b)| b.chunks(size).map(|c| (d, c.to_vec())).collect::<Vec<_>>())
                .collect();
            assert_eq!(run(5900, &split), whole, "chunks of {size}");
        }
    }

    #[test]
    fn none_offered_is_a_finding_on_the_server() {
        let records = vec![
            (S, b"RFB 003.008\n".to_vec()),
            (C, b"RFB 003.008\n".to_vec()),
            (S, hex("02 01 02")),
            (C, hex("01")),
            (S, hex("00000000")),
            (C, hex("01")),
            (
                S,
                hex("0400 0300 20180001 00ff00ff00ff 100800 000000 00000009"),
            ),
            (S, b"pi:1 (pi)".to_vec()),
        ];
        let (facts, events) = run(5901, &records);
        assert!(facts.contains(&(
            true,
            Attribute::Service,
            "vnc (security: none, vnc-auth)".into()
        )));
        assert!(facts.contains(&(
            true,
            Attribute::Finding,
            "vnc_without_authentication".into()
        )));
        assert!(facts.contains(&(true, Attribute::Description, "pi:1 (pi)".into())));
        assert_eq!(
            events,
            vec!["VNC authentication succeeded (none)".to_owned()]
        );
        // Offered but not chosen by this client: still the server's finding (another client
        // may choose None), and nothing on the client.
        let mut records = records;
        records[3] = (C, hex("02"));
        records.insert(4, (S, vec![0x11; 16]));
        records.insert(5, (C, vec![0x22; 16]));
        let (facts, events) = run(5901, &records);
        let findings: Vec<_> = facts.iter().filter(|f| f.1 == Attribute::Finding).collect();
        assert_eq!(
            findings,
            [&(
                true,
                Attribute::Finding,
                "vnc_without_authentication".to_owned()
            )]
        );
        assert_eq!(
            events,
            vec!["VNC authentication succeeded (vnc-auth)".to_owned()]
        );
        // Not offered: no finding.
        records[2] = (S, hex("01 02"));
        let (facts, _) = run(5901, &records);
        assert!(!facts.iter().any(|f| f.1 == Attribute::Finding));
    }

    #[test]
    fn server_3_3_imposing_none() {
        let records = vec![
            (S, b"RFB 003.003\n".to_vec()),
            (C, b"RFB 003.003\n".to_vec()),
            (S, hex("00000001")),
            (C, hex("01")),
            (
                S,
                hex("0400 0300 20180001 00ff00ff00ff 100800 000000 00000004 64657363"),
            ),
        ];
        let (facts, events) = run(7000, &records);
        assert!(facts.contains(&(true, Attribute::Service, "vnc (security: none)".into())));
        assert!(facts.contains(&(
            true,
            Attribute::Finding,
            "vnc_without_authentication".into()
        )));
        assert!(facts.contains(&(true, Attribute::Description, "desc".into())));
        assert_eq!(
            events,
            vec!["VNC session opened without authentication (none)".to_owned()]
        );
    }

    #[test]
    fn refusal_and_failure() {
        let records = vec![
            (S, b"RFB 003.008\n".to_vec()),
            (C, b"RFB 003.008\n".to_vec()),
            (S, hex("00 0000000b 746f6f206d616e7920")),
        ];
        let (facts, _) = run(5900, &records);
        assert_eq!(facts.len(), 2);
        // Apple's failure result carries no reason string.
        let mut session = apple_session();
        session[6] = (S, hex("00000001"));
        let (facts, events) = run(5900, &session);
        assert!(!facts.iter().any(|f| f.1 == Attribute::Description));
        assert_eq!(events, vec!["VNC authentication failed (ard)".to_owned()]);
    }

    #[test]
    fn selection() {
        let f = flow(8080);
        assert!(RfbFactory.select(&f, S, b"RFB 003.008\n").is_some());
        assert!(RfbFactory.select(&f, S, b"HTTP/1.1 200 OK\r\n").is_none());
        assert!(RfbFactory.select(&flow(5905), C, b"anything").is_some());
        let mut udp = flow(5900);
        udp.transport = Transport::Udp;
        assert!(RfbFactory.select(&udp, S, b"RFB 003.008\n").is_none());
    }

    #[test]
    fn versions() {
        let v = ProtocolVersion::parse(b"RFB 003.889\n").unwrap();
        assert_eq!((v.major, v.minor, v.handshake()), (3, 889, Handshake::V38));
        assert!(v.is_apple());
        assert_eq!(
            ProtocolVersion::parse(b"RFB 003.005\n")
                .unwrap()
                .handshake(),
            Handshake::V33
        );
        assert_eq!(
            ProtocolVersion::parse(b"RFB 005.000\n")
                .unwrap()
                .handshake(),
            Handshake::V38
        );
        assert_eq!(
            ProtocolVersion::parse(b"RFB 003.00x\n"),
            Err(RfbError::BadVersion { offset: 10 })
        );
        assert!(matches!(
            ProtocolVersion::parse(b"RFB 0"),
            Err(RfbError::Truncated { .. })
        ));
        // Not RFB on a VNC port: the dissector gives up without facts.
        let (facts, _) = run(5900, &[(S, b"SSH-2.0-OpenSSH_9.6\r\n".to_vec())]);
        assert!(facts.is_empty());
        let _ = DeviceKey::Ip("192.0.2.1".parse().unwrap());
    }

    #[test]
    fn buffers_stay_bounded() {
        let f = flow(5900);
        let mut d = RfbDissector::default();
        let mut out = Observations::default();
        d.on_stream(&f, S, StreamChunk::Data(b"RFB 003.008\n"), &mut out);
        // No client data: the server's security message waits, then overflows the bound.
        for _ in 0..100 {
            d.on_stream(&f, S, StreamChunk::Data(&[0xff; 1000]), &mut out);
            assert!(d.server.buf.len() <= MAX_BUFFER);
        }
    }
}
