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

#[cfg(test)]
mod fixtures;

#[cfg(test)]
mod tests {
    use super::*;
    use ironward_model::{DeviceKey, Fact, Timestamp};

    /// Decodes the hex of a fixture segment.
    pub(crate) fn unhex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    /// A flow from `client` to `server` at `now` (seconds).
    fn flow(client: &str, server: &str, port: u16, now: i64) -> FlowMeta {
        FlowMeta {
            id: 1,
            transport: Transport::Tcp,
            client: format!("{client}:49480").parse().unwrap(),
            server: format!("{server}:{port}").parse().unwrap(),
            now: Timestamp(now * 1_000_000_000),
            frame: 1,
        }
    }

    fn device(ip: &str) -> DeviceKey {
        DeviceKey::Ip(ip.parse().unwrap())
    }

    /// Feeds each direction's segments in turn, each cut into pieces of `piece` bytes.
    fn run(
        session: &mut TlsSession,
        meta: &FlowMeta,
        steps: &[(Direction, &[&str])],
        piece: usize,
    ) -> Vec<Fact> {
        let mut out = Observations::default();
        for (direction, segments) in steps {
            for segment in *segments {
                let bytes = unhex(segment);
                for part in bytes.chunks(piece) {
                    session.on_stream(meta, *direction, StreamChunk::Data(part), &mut out);
                }
            }
        }
        out.drain_facts().collect()
    }

    fn values(facts: &[Fact], subject: DeviceKey, attribute: Attribute) -> Vec<String> {
        facts
            .iter()
            .filter(|f| f.subject == subject && f.attribute == attribute)
            .map(|f| f.value.to_string())
            .collect()
    }

    const CLIENT: &str = "192.168.0.64";
    const SERVER: &str = "54.36.191.227";

    fn client_certificate_capture(piece: usize, now: i64) -> (Vec<Fact>, TlsSession) {
        let meta = flow(CLIENT, SERVER, 443, now);
        let mut session = TlsSession::new();
        let facts = run(
            &mut session,
            &meta,
            &[
                (
                    Direction::ClientToServer,
                    fixtures::CLIENT_CERT_CLIENT_HELLO,
                ),
                (
                    Direction::ServerToClient,
                    fixtures::CLIENT_CERT_SERVER_FLIGHT,
                ),
                (
                    Direction::ClientToServer,
                    fixtures::CLIENT_CERT_CLIENT_FLIGHT,
                ),
            ],
            piece,
        );
        (facts, session)
    }

    #[test]
    fn client_hello_names_the_server_and_fingerprints_the_client() {
        let (facts, _) = client_certificate_capture(usize::MAX, 1_677_601_192);
        let hostnames = facts
            .iter()
            .filter(|f| f.attribute == Attribute::Hostname)
            .collect::<Vec<_>>();
        assert_eq!(hostnames.len(), 1);
        assert_eq!(hostnames[0].subject, device(SERVER));
        assert_eq!(hostnames[0].value, "certauth.idrix.fr");
        assert_eq!(hostnames[0].confidence, ironward_model::HEARSAY_CONFIDENCE);
        assert_eq!(
            values(&facts, device(CLIENT), Attribute::Ja3),
            ["579ccef312d18482fc42e2b822ca2430"]
        );
        // Computed independently from tshark's decode of the same hello (its ciphers,
        // extension types, ALPN and the signature_algorithms list, not delegated_credentials'
        // list, which tshark shows in the same field) following FoxIO's specification.
        assert_eq!(
            values(&facts, device(CLIENT), Attribute::Ja4),
            ["t13d1715h2_5b57614c22b0_3d5424432f57"]
        );
    }

    #[test]
    fn server_certificate_and_client_certificate_are_reported() {
        let (facts, session) = client_certificate_capture(usize::MAX, 1_677_601_192);
        assert_eq!(
            values(&facts, device(SERVER), Attribute::Certificate),
            ["CN=certauth.idrix.fr; issuer CN=R3, O=Let's Encrypt; valid 2023-01-04..2023-04-04; \
              SAN certauth.idrix.fr"]
        );
        let client = values(&facts, device(CLIENT), Attribute::Certificate);
        assert_eq!(client.len(), 1);
        assert!(
            client[0].starts_with(
                "CN=johanna@corelight.com; issuer CN=Actalis Client Authentication CA G3, \
                 O=Actalis S.p.A.; valid 2023-02-28..2024-02-28"
            ),
            "{client:?}"
        );
        // Valid, CA-issued: no finding; TLS 1.2: not legacy.
        assert!(facts.iter().all(|f| f.attribute != Attribute::Finding));
        assert_eq!(session.negotiated_version(), Some(version::TLS12));
        // The server stopped at ServerHelloDone, the client at ClientKeyExchange.
        assert!(session.is_done());
    }

    #[test]
    fn expired_server_certificate_is_a_finding_on_the_server_only() {
        let (facts, _) = client_certificate_capture(usize::MAX, 1_700_000_000);
        assert_eq!(
            values(&facts, device(SERVER), Attribute::Finding),
            [Finding::TlsExpiredCertificate.as_str()]
        );
        assert!(values(&facts, device(CLIENT), Attribute::Finding).is_empty());
    }

    #[test]
    fn byte_by_byte_delivery_gives_the_same_facts() {
        let (whole, _) = client_certificate_capture(usize::MAX, 1_677_601_192);
        for piece in [1, 3, 5, 7, 100, 1439] {
            let (pieces, _) = client_certificate_capture(piece, 1_677_601_192);
            assert_eq!(pieces, whole, "pieces of {piece}");
        }
    }

    #[test]
    fn tls13_stops_after_the_server_hello() {
        let meta = flow("192.168.186.133", "192.168.186.134", 9090, 1_600_000_000);
        let mut session = TlsSession::new();
        let facts = run(
            &mut session,
            &meta,
            &[
                (Direction::ClientToServer, fixtures::WOLFSSL_CLIENT_HELLO),
                (Direction::ServerToClient, fixtures::WOLFSSL_SERVER),
            ],
            usize::MAX,
        );
        let client = device("192.168.186.133");
        assert_eq!(
            values(&facts, client, Attribute::Ja3),
            ["39cef737bf0cabc32c28f95d09b97702"]
        );
        // No SNI: "i"; supported_versions offers 1.3; one cipher, six extensions, no ALPN.
        assert_eq!(
            values(&facts, client, Attribute::Ja4),
            ["t13i010600_ee47968ec53b_5af53a18c712"]
        );
        assert!(facts.iter().all(|f| f.attribute != Attribute::Hostname));
        assert_eq!(session.negotiated_version(), Some(version::TLS13));
        assert!(session.sides[1].done);
        assert!(!session.sides[0].done);
        let mut out = Observations::default();
        session.on_stream(&meta, Direction::ClientToServer, StreamChunk::End, &mut out);
        assert!(session.is_done());
    }

    #[test]
    fn grease_is_ignored_in_a_chrome_client_hello() {
        let bytes = unhex(fixtures::ANDROID_CLIENT_HELLO[0]);
        let hello = ClientHello::parse(&bytes[9..]).unwrap();
        assert_eq!(hello.server_name(), Some(&b"datasaver.googleapis.com"[..]));
        assert_eq!(
            hello.alpn().collect::<Vec<_>>(),
            [&b"h2"[..], &b"http/1.1"[..]]
        );
        assert_eq!(hello.highest_version(), version::TLS13);
        assert_eq!(ja::ja3(&hello), "66918128f1b9b03303d77c6f2eefd128");
        assert_eq!(ja::ja4(&hello), "t13d1615h2_46e7e9700bed_45f260be83e2");
    }

    #[test]
    fn a_gap_stops_the_direction() {
        let meta = flow(CLIENT, SERVER, 443, 0);
        let mut session = TlsSession::new();
        let mut out = Observations::default();
        let hello = unhex(fixtures::CLIENT_CERT_CLIENT_HELLO[0]);
        session.on_stream(
            &meta,
            Direction::ClientToServer,
            StreamChunk::Data(&hello[..100]),
            &mut out,
        );
        session.on_stream(
            &meta,
            Direction::ClientToServer,
            StreamChunk::Gap(10),
            &mut out,
        );
        session.on_stream(
            &meta,
            Direction::ClientToServer,
            StreamChunk::Data(&hello[110..]),
            &mut out,
        );
        assert!(out.is_empty());
        assert!(session.sides[0].done && session.sides[0].record.capacity() == 0);
    }

    /// A record around `body`.
    fn record(content_type: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![content_type, 3, 3];
        out.extend_from_slice(&u16::try_from(body.len()).unwrap().to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    /// A handshake message.
    fn message(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![kind];
        out.extend_from_slice(&u32::try_from(body.len()).unwrap().to_be_bytes()[1..]);
        out.extend_from_slice(body);
        out
    }

    fn server_hello(version: u16) -> Vec<u8> {
        let mut body = version.to_be_bytes().to_vec();
        body.extend_from_slice(&[0x42; 32]);
        body.extend_from_slice(&[0, 0x00, 0x2f, 0]);
        message(msg_type::SERVER_HELLO, &body)
    }

    #[test]
    fn legacy_versions_are_a_finding() {
        for (version, legacy) in [
            (0x0300, true),
            (0x0301, true),
            (0x0302, true),
            (0x0303, false),
        ] {
            let meta = flow(CLIENT, SERVER, 443, 0);
            let mut session = TlsSession::new();
            let mut out = Observations::default();
            let bytes = record(content::HANDSHAKE, &server_hello(version));
            session.on_stream(
                &meta,
                Direction::ServerToClient,
                StreamChunk::Data(&bytes),
                &mut out,
            );
            let findings = values(
                &out.drain_facts().collect::<Vec<_>>(),
                device(SERVER),
                Attribute::Finding,
            );
            assert_eq!(findings.len(), usize::from(legacy), "{version:#x}");
        }
    }

    #[test]
    fn self_signed_and_expired_server_certificates_are_findings() {
        let der = unhex(fixtures::SELF_SIGNED_CERTIFICATE);
        let mut entries = u32::try_from(der.len()).unwrap().to_be_bytes()[1..].to_vec();
        entries.extend_from_slice(&der);
        let mut body = u32::try_from(entries.len()).unwrap().to_be_bytes()[1..].to_vec();
        body.extend_from_slice(&entries);
        let mut flight = server_hello(0x0303);
        flight.extend_from_slice(&message(msg_type::CERTIFICATE, &body));
        flight.extend_from_slice(&message(msg_type::SERVER_HELLO_DONE, &[]));
        let stream = record(content::HANDSHAKE, &flight);
        // 2015-03-01: valid, self-signed; 2016: also expired.
        for (now, expected) in [
            (1_425_168_000, &[Finding::TlsSelfSignedCertificate][..]),
            (
                1_451_606_400,
                &[
                    Finding::TlsSelfSignedCertificate,
                    Finding::TlsExpiredCertificate,
                ][..],
            ),
        ] {
            let meta = flow(CLIENT, SERVER, 443, now);
            let mut session = TlsSession::new();
            let mut out = Observations::default();
            session.on_stream(
                &meta,
                Direction::ServerToClient,
                StreamChunk::Data(&stream),
                &mut out,
            );
            let facts: Vec<_> = out.drain_facts().collect();
            assert_eq!(
                values(&facts, device(SERVER), Attribute::Certificate),
                ["CN=SERVR; issuer CN=SERVR; valid 2015-02-11..2015-05-12"]
            );
            let expected: Vec<_> = expected.iter().map(|f| f.as_str().to_owned()).collect();
            assert_eq!(values(&facts, device(SERVER), Attribute::Finding), expected);
            assert!(session.sides[1].done);
        }
    }

    #[test]
    fn a_certificate_chain_larger_than_the_buffer_still_gives_its_leaf() {
        // The server flight's Certificate message, with a 70 KB certificate added after the
        // leaf, sent in maximal records.
        let flight: Vec<u8> = fixtures::CLIENT_CERT_SERVER_FLIGHT
            .iter()
            .flat_map(|s| unhex(s))
            .collect();
        let mut handshake = Vec::new();
        let mut rest = &flight[..];
        while let Some(Ok(header)) = RecordHeader::parse(rest) {
            handshake.extend_from_slice(&rest[5..header.total_len()]);
            rest = &rest[header.total_len()..];
        }
        let hello = HandshakeHeader::parse(&handshake).unwrap();
        let certificate = &handshake[hello.total_len()..];
        let header = HandshakeHeader::parse(certificate).unwrap();
        let list = CertificateList::parse(&certificate[4..header.total_len()]).unwrap();
        let leaf = list.leaf().unwrap();
        let mut entries = Vec::new();
        for cert in [leaf, &vec![0x30; 70_000][..]] {
            entries.extend_from_slice(&u32::try_from(cert.len()).unwrap().to_be_bytes()[1..]);
            entries.extend_from_slice(cert);
        }
        let mut body = u32::try_from(entries.len()).unwrap().to_be_bytes()[1..].to_vec();
        body.extend_from_slice(&entries);
        let mut stream = record(content::HANDSHAKE, &handshake[..hello.total_len()]);
        for part in message(msg_type::CERTIFICATE, &body).chunks(1 << 14) {
            stream.extend_from_slice(&record(content::HANDSHAKE, part));
        }
        let meta = flow(CLIENT, SERVER, 443, 1_677_601_192);
        let mut session = TlsSession::new();
        let mut out = Observations::default();
        session.on_stream(
            &meta,
            Direction::ServerToClient,
            StreamChunk::Data(&stream),
            &mut out,
        );
        let facts: Vec<_> = out.drain_facts().collect();
        assert_eq!(
            values(&facts, device(SERVER), Attribute::Certificate).len(),
            1
        );
        assert!(session.sides[1].done);
    }

    #[test]
    fn factory_takes_tls_by_content_and_by_port_only() {
        let factory = TlsFactory;
        let hello = unhex(fixtures::WOLFSSL_CLIENT_HELLO[0]);
        let odd_port = flow(CLIENT, SERVER, 9090, 0);
        let https = flow(CLIENT, SERVER, 443, 0);
        let c2s = Direction::ClientToServer;
        assert!(factory.select(&odd_port, c2s, &hello).is_some());
        assert!(factory.select(&odd_port, c2s, &hello[..3]).is_none());
        assert!(factory
            .select(&odd_port, c2s, b"GET / HTTP/1.1\r\n")
            .is_none());
        assert!(factory.select(&https, c2s, b"GET / HTTP/1.1\r\n").is_none());
        // Mid-stream application data on 443 is still TLS; elsewhere it is not claimed.
        let app_data = [23, 3, 3, 0, 10, 1, 2, 3];
        assert!(factory.select(&https, c2s, &app_data).is_some());
        assert!(factory.select(&odd_port, c2s, &app_data).is_none());
        // A handshake record whose message is not a hello is not enough off-port.
        let finished = record(content::HANDSHAKE, &message(20, &[0; 12]));
        assert!(factory.select(&odd_port, c2s, &finished).is_none());
        let mut udp = odd_port;
        udp.transport = Transport::Udp;
        assert!(factory.select(&udp, c2s, &hello).is_none());
    }
}
