/*!
TLS (and SSL 3.0) handshakes over TCP: who the client wants to reach, how it fingerprints, and
what certificate the server shows.

Per direction, records are parsed straight from the stream chunks; a record split across chunks
is kept (at most one record, [`MAX_RECORD`] + 5 bytes) and handshake messages split across
records are reassembled (at most [`MAX_MESSAGE_BUFFER`] bytes), so a direction never holds more
than 64 KiB. A direction stops at its first gap, at application data, at ChangeCipherSpec
before TLS 1.3, after the server's ServerHello in TLS 1.3 (the rest is encrypted), after the
server's ServerHelloDone or the client's ClientKeyExchange; once both have stopped, chunks
cost one branch.

From the messages:
- ClientHello → hearsay [`Hostname`](Attribute::Hostname) (SNI) on the server;
  [`Ja3`](Attribute::Ja3) and [`Ja4`](Attribute::Ja4) on the client.
- ServerHello → [`TlsLegacyVersion`](Finding::TlsLegacyVersion) on the server when the
  negotiated version is below TLS 1.2.
- Certificate (clear text only before TLS 1.3) → one [`Certificate`](Attribute::Certificate)
  fact on its sender; for the server's, [`TlsSelfSignedCertificate`](Finding) and
  [`TlsExpiredCertificate`](Finding) when they apply.

The factory takes a flow on any port whose first bytes are a handshake record (type 22,
version 3.0–3.4, a plausible length, a ClientHello or ServerHello inside), and on the usual
TLS ports ([`TLS_PORTS`]) any flow that starts like a TLS record.
*/

pub mod certificate;
pub mod handshake;
pub mod ja;

use ironward_model::{Attribute, Finding, Source};

use crate::session::{Direction, FlowMeta, StreamChunk, Transport};
use crate::{Dissector, DissectorFactory, DissectorRegistry, Observations};

use self::certificate::CertificateSummary;
use self::handshake::{
    msg_type, version, CertificateList, ClientHello, HandshakeHeader, ServerHello,
};

/// Largest record body accepted (RFC 5246 §6.2.3: 2^14 plus 2048 of expansion).
pub const MAX_RECORD: usize = (1 << 14) + 2048;

/// Record header size.
const RECORD_HEADER: usize = 5;

/// Most bytes of partial handshake messages kept per direction: with one partial record,
/// a direction stays within 64 KiB.
pub const MAX_MESSAGE_BUFFER: usize = (64 << 10) - MAX_RECORD - RECORD_HEADER;

/// Ports where TLS is spoken from the first byte (HTTPS, IMAPS, POP3S, LDAPS, SMTPS, DoT, FTPS,
/// TELNETS, IRCS, SIPS, MQTT over TLS, alternative HTTPS ports).
pub const TLS_PORTS: &[u16] = &[
    443, 465, 636, 853, 989, 990, 992, 993, 994, 995, 4443, 5061, 5223, 6697, 8443, 8883, 9443,
];

/// Record content types (RFC 8446 §5.1).
mod content {
    pub(super) const CHANGE_CIPHER_SPEC: u8 = 20;
    pub(super) const ALERT: u8 = 21;
    pub(super) const HANDSHAKE: u8 = 22;
    pub(super) const APPLICATION_DATA: u8 = 23;
    pub(super) const HEARTBEAT: u8 = 24;
}

/// A record header: content type, version, body length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// Content type (20–24).
    pub content_type: u8,
    /// Record-layer version (0x0300–0x0304).
    pub version: u16,
    /// Body length.
    pub length: u16,
}

/// Why bytes are not a TLS record header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordError {
    /// Occurs when the content type is not one of 20–24.
    ContentType(u8),
    /// Occurs when the version is not SSL 3.0 to TLS 1.3.
    Version(u16),
    /// Occurs when the length exceeds [`MAX_RECORD`].
    Length(u16),
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ContentType(t) => write!(f, "record content type {t} is not TLS"),
            Self::Version(v) => write!(f, "record version {v:#06x} is not SSL 3.0 to TLS 1.3"),
            Self::Length(n) => write!(f, "record length {n} exceeds {MAX_RECORD}"),
        }
    }
}

impl std::error::Error for RecordError {}

impl RecordHeader {
    /// The header at the start of `data`: `None` when fewer than five bytes are there.
    pub fn parse(data: &[u8]) -> Option<Result<Self, RecordError>> {
        let [content_type, major, minor, hi, lo, ..] = *data else {
            return None;
        };
        let version = u16::from_be_bytes([major, minor]);
        let length = u16::from_be_bytes([hi, lo]);
        Some(
            if !(content::CHANGE_CIPHER_SPEC..=content::HEARTBEAT).contains(&content_type) {
                Err(RecordError::ContentType(content_type))
            } else if !(version::SSL3..=version::TLS13).contains(&version) {
                Err(RecordError::Version(version))
            } else if usize::from(length) > MAX_RECORD {
                Err(RecordError::Length(length))
            } else {
                Ok(Self {
                    content_type,
                    version,
                    length,
                })
            },
        )
    }

    /// Header plus body size.
    pub fn total_len(&self) -> usize {
        RECORD_HEADER + usize::from(self.length)
    }
}

/// Whether `data` starts a TLS handshake: a handshake record of a plausible size whose first
/// message, when visible, is a ClientHello or ServerHello of a size that fits the record.
pub fn looks_like_handshake(data: &[u8]) -> bool {
    let Some(Ok(header)) = RecordHeader::parse(data) else {
        return false;
    };
    if header.content_type != content::HANDSHAKE || header.length < 4 {
        return false;
    }
    match HandshakeHeader::parse(&data[RECORD_HEADER..]) {
        Some(message) => {
            matches!(
                message.msg_type,
                msg_type::CLIENT_HELLO | msg_type::SERVER_HELLO
            ) && message.length >= 38
                && message.length < 1 << 16
        }
        None => true,
    }
}

/// Whether `data` starts with any TLS record header.
fn looks_like_record(data: &[u8]) -> bool {
    matches!(RecordHeader::parse(data), Some(Ok(_)))
}

/// What one direction of the stream is doing.
#[derive(Debug, Default)]
struct Side {
    /// A record split across chunks: its header and the body bytes seen so far.
    record: Vec<u8>,
    /// Handshake messages split across records.
    message: Vec<u8>,
    /// Nothing more of interest (encrypted, ended, gap, not TLS).
    done: bool,
    /// This side sent a ServerHello.
    is_server: bool,
}

/// What both directions share: the negotiated version decides how to read what follows.
#[derive(Debug, Default, Clone, Copy)]
struct Shared {
    /// The version the server chose, once its (non-retry) ServerHello was seen.
    version: Option<u16>,
}

/// The TLS handshake of one TCP connection, fed with both directions' stream chunks. Used by the
/// TLS dissector and by dissectors whose protocol switches to TLS mid-stream (RDP).
#[derive(Debug)]
pub struct TlsSession {
    sides: [Side; 2],
    shared: Shared,
    source: Source,
}

impl Default for TlsSession {
    fn default() -> Self {
        Self::new()
    }
}

impl TlsSession {
    /// A session whose facts carry [`Source::Tls`].
    pub fn new() -> Self {
        Self {
            sides: Default::default(),
            shared: Shared::default(),
            source: Source::Tls,
        }
    }

    /// Whether both directions have stopped: further chunks are ignored.
    pub fn is_done(&self) -> bool {
        self.sides[0].done && self.sides[1].done
    }

    /// The version the server chose, once known.
    pub fn negotiated_version(&self) -> Option<u16> {
        self.shared.version
    }

    /// Feeds the next chunk of one direction.
    pub fn on_stream(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        chunk: StreamChunk<'_>,
        out: &mut Observations,
    ) {
        let side = &mut self.sides[direction.index()];
        if side.done {
            return;
        }
        match chunk {
            StreamChunk::Data(data) => {
                let mut ctx = Context {
                    flow,
                    direction,
                    shared: &mut self.shared,
                    source: self.source,
                    out,
                };
                side.feed(data, &mut ctx);
            }
            StreamChunk::Gap(_) | StreamChunk::End => side.stop(),
        }
        if self.is_done() {
            for side in &mut self.sides {
                side.stop();
            }
        }
    }
}

/// What message handlers need besides the side's own buffers.
struct Context<'a, 'o> {
    flow: &'a FlowMeta,
    direction: Direction,
    shared: &'a mut Shared,
    source: Source,
    out: &'o mut Observations,
}

impl Side {
    /// Stops this direction and frees its buffers.
    fn stop(&mut self) {
        self.done = true;
        self.record = Vec::new();
        self.message = Vec::new();
    }

    /// Parses the records in `data`, completing a record left over from the previous chunk.
    fn feed(&mut self, mut data: &[u8], ctx: &mut Context<'_, '_>) {
        // Complete the record split across chunks, if any.
        while !self.record.is_empty() && !data.is_empty() {
            let want = match RecordHeader::parse(&self.record) {
                None => RECORD_HEADER,
                Some(Ok(header)) => header.total_len(),
                Some(Err(_)) => return self.stop(),
            };
            let take = want.saturating_sub(self.record.len()).min(data.len());
            self.record.extend_from_slice(&data[..take]);
            data = &data[take..];
            match RecordHeader::parse(&self.record) {
                None => return,
                Some(Err(_)) => return self.stop(),
                Some(Ok(header)) if self.record.len() == header.total_len() => {
                    let record = std::mem::take(&mut self.record);
                    self.on_record(header, &record[RECORD_HEADER..], ctx);
                    if self.done {
                        return;
                    }
                    self.record = record;
                    self.record.clear();
                }
                Some(Ok(_)) => {}
            }
        }
        // Whole records straight from the chunk.
        while !self.done {
            match RecordHeader::parse(data) {
                None => break,
                Some(Err(_)) => return self.stop(),
                Some(Ok(header)) => {
                    let Some(body) = data.get(RECORD_HEADER..header.total_len()) else {
                        break;
                    };
                    data = &data[header.total_len()..];
                    self.on_record(header, body, ctx);
                }
            }
        }
        // Keep the start of a record that continues in the next chunk (less than one record).
        if !self.done && !data.is_empty() {
            self.record.extend_from_slice(data);
        }
    }

    /// One whole record.
    fn on_record(&mut self, header: RecordHeader, body: &[u8], ctx: &mut Context<'_, '_>) {
        match header.content_type {
            content::HANDSHAKE => self.on_handshake_bytes(body, ctx),
            // In TLS 1.3, ChangeCipherSpec is only a middlebox-compatibility dummy; before it,
            // everything after it is encrypted.
            content::CHANGE_CIPHER_SPEC if ctx.shared.version != Some(version::TLS13) => {
                self.stop()
            }
            content::APPLICATION_DATA => self.stop(),
            content::ALERT | content::HEARTBEAT | content::CHANGE_CIPHER_SPEC => {}
            _ => self.stop(),
        }
    }

    /// Handshake-record bytes: a message split across records is completed first, whole
    /// messages are handled in place, and the start of the next split one is buffered.
    fn on_handshake_bytes(&mut self, mut body: &[u8], ctx: &mut Context<'_, '_>) {
        while !self.message.is_empty() && !body.is_empty() {
            let want = HandshakeHeader::parse(&self.message)
                .map_or(HandshakeHeader::LEN, |h| h.total_len())
                .min(MAX_MESSAGE_BUFFER);
            let take = want.saturating_sub(self.message.len()).min(body.len());
            self.message.extend_from_slice(&body[..take]);
            body = &body[take..];
            let Some(header) = HandshakeHeader::parse(&self.message) else {
                return;
            };
            if self.message.len() == header.total_len() {
                let message = std::mem::take(&mut self.message);
                self.on_message(header.msg_type, &message[HandshakeHeader::LEN..], ctx);
                if self.done {
                    return;
                }
                self.message = message;
                self.message.clear();
            } else if self.message.len() >= MAX_MESSAGE_BUFFER {
                return self.on_oversized(ctx);
            }
        }
        let rest = self.handle_messages(body, ctx);
        if self.done || rest.is_empty() {
            return;
        }
        if let Some(header) = HandshakeHeader::parse(rest) {
            if header.total_len() > MAX_MESSAGE_BUFFER && header.msg_type != msg_type::CERTIFICATE {
                return self.stop();
            }
        }
        // Less than one record, so within the buffer's bound.
        self.message.extend_from_slice(rest);
    }

    /// The buffer is full and its message still incomplete: a Certificate message still yields
    /// its leaf (which comes first); then this direction stops.
    fn on_oversized(&mut self, ctx: &mut Context<'_, '_>) {
        let message = std::mem::take(&mut self.message);
        if let Some(header) = HandshakeHeader::parse(&message) {
            if header.msg_type == msg_type::CERTIFICATE {
                if let Some(leaf) = message
                    .get(HandshakeHeader::LEN..)
                    .and_then(CertificateList::leaf_from_prefix)
                {
                    self.on_certificate(leaf, ctx);
                }
            }
        }
        self.stop();
    }

    /// Handles every whole message at the start of `data`; returns the incomplete tail.
    fn handle_messages<'d>(&mut self, mut data: &'d [u8], ctx: &mut Context<'_, '_>) -> &'d [u8] {
        while !self.done {
            let Some(header) = HandshakeHeader::parse(data) else {
                break;
            };
            let Some(body) = data.get(HandshakeHeader::LEN..header.total_len()) else {
                break;
            };
            data = &data[header.total_len()..];
            self.on_message(header.msg_type, body, ctx);
        }
        data
    }

    /// One whole handshake message.
    fn on_message(&mut self, kind: u8, body: &[u8], ctx: &mut Context<'_, '_>) {
        match kind {
            msg_type::CLIENT_HELLO => match ClientHello::parse(body) {
                Ok(hello) => on_client_hello(&hello, ctx),
                Err(_) => self.stop(),
            },
            msg_type::SERVER_HELLO => match ServerHello::parse(body) {
                Ok(hello) => {
                    self.is_server = true;
                    if hello.is_hello_retry_request() {
                        return;
                    }
                    let negotiated = hello.negotiated_version();
                    ctx.shared.version = Some(negotiated);
                    let (flow, out) = (ctx.flow, &mut *ctx.out);
                    if negotiated < version::TLS12 {
                        out.finding(
                            flow.sender(ctx.direction),
                            Finding::TlsLegacyVersion,
                            ctx.source,
                            flow.now,
                        );
                    }
                    if negotiated >= version::TLS13 {
                        self.stop();
                    }
                }
                Err(_) => self.stop(),
            },
            msg_type::CERTIFICATE => {
                if ctx.shared.version == Some(version::TLS13) {
                    return self.stop();
                }
                match CertificateList::parse(body) {
                    Ok(list) => {
                        if let Some(leaf) = list.leaf() {
                            self.on_certificate(leaf, ctx);
                        }
                    }
                    Err(_) => self.stop(),
                }
            }
            msg_type::SERVER_HELLO_DONE | msg_type::CLIENT_KEY_EXCHANGE => self.stop(),
            _ => {}
        }
    }

    /// The sender's own certificate.
    fn on_certificate(&mut self, der: &[u8], ctx: &mut Context<'_, '_>) {
        if let Ok(summary) = CertificateSummary::parse(der) {
            certificate::report(
                &summary,
                ctx.flow.sender(ctx.direction),
                self.is_server,
                ctx.source,
                ctx.flow.now,
                ctx.out,
            );
        }
    }
}

/// Facts from a ClientHello: SNI about the server, fingerprints of the client.
fn on_client_hello(hello: &ClientHello<'_>, ctx: &mut Context<'_, '_>) {
    let (flow, out) = (ctx.flow, &mut *ctx.out);
    if let Some(name) = hello.server_name() {
        if let Ok(name) = std::str::from_utf8(name) {
            out.hearsay(
                flow.receiver(ctx.direction),
                Attribute::Hostname,
                name,
                ctx.source,
                flow.now,
            );
        }
    }
    let client = flow.sender(ctx.direction);
    out.fact(
        client,
        Attribute::Ja3,
        &ja::ja3(hello),
        ctx.source,
        flow.now,
    );
    out.fact(
        client,
        Attribute::Ja4,
        &ja::ja4(hello),
        ctx.source,
        flow.now,
    );
}

/// The TLS dissector of one flow.
#[derive(Debug, Default)]
pub struct TlsDissector {
    session: TlsSession,
}

impl Dissector for TlsDissector {
    fn protocol(&self) -> &'static str {
        "tls"
    }

    fn on_stream(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        chunk: StreamChunk<'_>,
        out: &mut Observations,
    ) {
        self.session.on_stream(flow, direction, chunk, out);
    }
}

/// Recognises TLS flows by content on any port, and by port on [`TLS_PORTS`].
#[derive(Debug, Default)]
pub struct TlsFactory;

impl DissectorFactory for TlsFactory {
    fn protocol(&self) -> &'static str {
        "tls"
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
        let by_port = TLS_PORTS.contains(&flow.server.port()) && looks_like_record(first_payload);
        (by_port || looks_like_handshake(first_payload))
            .then(|| Box::new(TlsDissector::default()) as Box<dyn Dissector>)
    }
}

/// Adds this module's dissectors to `registry`.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register(Box::new(TlsFactory));
}
