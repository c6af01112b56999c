//! RTSP 1.0 (RFC 2326) and 2.0 (RFC 7826): the control channel of IP cameras, encoders and
//! media servers, HTTP-formatted messages over TCP port 554 (or 8554).
//!
//! What it tells about devices: a server's `Server:` header → Software (camera firmware often
//! names itself there, e.g. `Hikvision/V4.30.005`, `GStreamer RTSP server`); a client's
//! `User-Agent:` → UserAgent (VLC, FFmpeg, a VMS recorder); `WWW-Authenticate: Basic` offered by
//! the server, or `Authorization: Basic` sent to it, → the finding
//! [`HttpBasicCleartext`](ironward_model::Finding::HttpBasicCleartext) on the server (credentials
//! cross the network in clear text). Credentials themselves are never kept. A request with
//! credentials and the response accepting or rejecting them make one
//! [`Auth`](ironward_model::EventCategory::Authentication) event (`RTSP Digest authentication failed`).
//!
//! Stream handling is shared with [`sip`](crate::sip) through [`MessageStream`]: message heads
//! are read in place from each chunk (copied only when a head is split across chunks, at most
//! [`MAX_HEAD`] bytes per direction), bodies are skipped by `Content-Length`, and a direction
//! stops being read after [`MAX_MESSAGES`] messages, on a gap, or once it turns into
//! interleaved binary media (`$` framing after `PLAY`).

use ironward_model::{Attribute, DeviceKey, EventCategory, Finding, Source, Timestamp};

use crate::dissector::{Dissector, DissectorFactory, DissectorRegistry};
use crate::observations::Observations;
use crate::session::{Direction, FlowMeta, StreamChunk, Transport};
use crate::text::{find, starts_with_ignore_case, trim, Head, HeadError};

/// The registered RTSP port.
pub const PORT: u16 = 554;

/// The common alternative RTSP port.
pub const ALT_PORT: u16 = 8554;

/// Most bytes of one message head buffered per direction while it arrives in pieces.
pub const MAX_HEAD: usize = 8 * 1024;

/// Most messages read per direction: the banners and the authentication challenge come in
/// the first few exchanges (OPTIONS, DESCRIBE, SETUP, PLAY).
pub const MAX_MESSAGES: u32 = 64;

/// Most bytes of a first payload searched for the end of its start line.
const START_LINE_LIMIT: usize = 512;

/// What an RTSP message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind<'a> {
    /// A request: `DESCRIBE rtsp://cam/stream RTSP/1.0`.
    Request {
        /// The method (`OPTIONS`, `DESCRIBE`, `SETUP`, `PLAY`, ...).
        method: &'a [u8],
    },
    /// A response: `RTSP/1.0 401 Unauthorized`.
    Response {
        /// The status code.
        status: u16,
    },
}

/// Why a message head is not RTSP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtspError {
    /// The start line is neither `<METHOD> <URI> RTSP/x.y` nor `RTSP/x.y <code> <reason>`.
    NotRtsp,
    /// A status line whose code is not three digits.
    BadStatus,
}

impl std::fmt::Display for RtspError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::NotRtsp => "start line is not an RTSP request or status line",
            Self::BadStatus => "RTSP status line has no three-digit code",
        })
    }
}

impl std::error::Error for RtspError {}

/// The headers of an RTSP message that say something about its endpoints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Headers<'a> {
    /// `Server`: the server's software.
    pub server: Option<&'a [u8]>,
    /// `User-Agent`: the client's software.
    pub user_agent: Option<&'a [u8]>,
    /// Whether a `WWW-Authenticate` header offers the Basic scheme.
    pub offers_basic: bool,
    /// Whether the `Authorization` header uses the Basic scheme.
    pub sends_basic: bool,
    /// The scheme of the `Authorization` header, when the message carries credentials.
    pub authorization: Option<AuthScheme>,
}

/// An HTTP authentication scheme (RTSP and SIP use HTTP's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthScheme {
    /// `Basic`: user and password in clear text (base64).
    Basic,
    /// `Digest`: a challenge-response hash.
    Digest,
    /// Any other scheme.
    Other,
}

impl AuthScheme {
    /// The scheme of an `Authorization` header value.
    pub fn of(value: &[u8]) -> Self {
        if is_basic(value) {
            Self::Basic
        } else if starts_with_ignore_case(value, b"Digest") {
            Self::Digest
        } else {
            Self::Other
        }
    }
}

/// The outcome of an authentication attempt, from the status code that answers it: 2xx
/// accepted, 401 (and SIP's 407) challenged again, 403 refused; anything else says nothing.
pub fn auth_outcome(status: u16) -> Option<bool> {
    match status {
        200..=299 => Some(true),
        401 | 403 | 407 => Some(false),
        _ => None,
    }
}

/// One RTSP message head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    /// Request or response.
    pub kind: Kind<'a>,
    /// Its interesting headers.
    pub headers: Headers<'a>,
}

/// Reads an RTSP message from a parsed head.
pub fn parse_head<'a>(head: &Head<'a>) -> Result<Message<'a>, RtspError> {
    let kind = start_line_kind(head.start_line)?;
    let mut headers = Headers::default();
    for (name, value) in head.headers() {
        if name.eq_ignore_ascii_case(b"Server") {
            headers.server = headers.server.or(Some(value).filter(|v| !v.is_empty()));
        } else if name.eq_ignore_ascii_case(b"User-Agent") {
            headers.user_agent = headers.user_agent.or(Some(value).filter(|v| !v.is_empty()));
        } else if name.eq_ignore_ascii_case(b"WWW-Authenticate") {
            headers.offers_basic |= is_basic(value);
        } else if name.eq_ignore_ascii_case(b"Authorization") {
            headers.sends_basic |= is_basic(value);
            headers.authorization = headers.authorization.or(Some(AuthScheme::of(value)));
        }
    }
    Ok(Message { kind, headers })
}

/// Whether an authentication header value uses the Basic scheme (`Basic realm="..."`).
fn is_basic(value: &[u8]) -> bool {
    starts_with_ignore_case(value, b"Basic") && value.get(5).is_none_or(|b| b.is_ascii_whitespace())
}

/// Classifies an RTSP start line (without its line end).
pub fn start_line_kind(line: &[u8]) -> Result<Kind<'_>, RtspError> {
    if let Some(rest) = version_prefix(line) {
        let rest = rest.strip_prefix(b" ").ok_or(RtspError::NotRtsp)?;
        return match rest {
            [a, b, c, ..]
                if [a, b, c].iter().all(|d| d.is_ascii_digit())
                    && rest.get(3).is_none_or(|&s| s == b' ') =>
            {
                let status =
                    u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0');
                Ok(Kind::Response { status })
            }
            _ => Err(RtspError::BadStatus),
        };
    }
    let space = line
        .iter()
        .position(|&b| b == b' ')
        .ok_or(RtspError::NotRtsp)?;
    let method = line.get(..space).unwrap_or_default();
    let version_at = line
        .iter()
        .rposition(|&b| b == b' ')
        .ok_or(RtspError::NotRtsp)?;
    let version = line.get(version_at + 1..).unwrap_or_default();
    let is_token = !method.is_empty()
        && method
            .iter()
            .all(|b| b.is_ascii_uppercase() || *b == b'_' || *b == b'-');
    if is_token && version_at > space && version_prefix(version) == Some(&[][..]) {
        Ok(Kind::Request { method })
    } else {
        Err(RtspError::NotRtsp)
    }
}

/// `RTSP/1.0` or `RTSP/2.0` at the start of `input`: what follows it.
fn version_prefix(input: &[u8]) -> Option<&[u8]> {
    input
        .strip_prefix(b"RTSP/1.0")
        .or_else(|| input.strip_prefix(b"RTSP/2.0"))
}

/// Reports what one message says about the flow's endpoints.
pub fn report(
    message: &Message<'_>,
    sender: DeviceKey,
    receiver: DeviceKey,
    at: Timestamp,
    out: &mut Observations,
) {
    let headers = &message.headers;
    match message.kind {
        Kind::Response { .. } => {
            if let Some(server) = headers.server {
                out.fact_bytes(sender, Attribute::Software, server, Source::Rtsp, at);
            }
            if headers.offers_basic {
                out.finding(sender, Finding::HttpBasicCleartext, Source::Rtsp, at);
            }
        }
        Kind::Request { .. } => {
            if let Some(agent) = headers.user_agent {
                out.fact_bytes(sender, Attribute::UserAgent, agent, Source::Rtsp, at);
            }
            if headers.sends_basic {
                out.finding(receiver, Finding::HttpBasicCleartext, Source::Rtsp, at);
            }
        }
    }
}

/// Reads the message heads of one direction of a TCP stream of HTTP-formatted messages (RTSP,
/// SIP over TCP), skipping bodies, within bounded memory and work.
#[derive(Debug, Default)]
pub(crate) struct MessageStream {
    /// The start of a head split across chunks (at most [`MAX_HEAD`] bytes).
    pending: Vec<u8>,
    /// Body bytes still to skip.
    skip: usize,
    /// Messages read so far.
    messages: u32,
    /// Nothing more is read in this direction.
    done: bool,
}

impl MessageStream {
    /// Whether this direction is no longer read.
    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    /// Stops reading this direction and frees its buffer.
    pub(crate) fn finish(&mut self) {
        self.done = true;
        self.pending = Vec::new();
    }

    /// Handles one stream chunk: data is read for heads; a gap or the end stops the reading
    /// (a lost piece may have been the middle of a head or body: no resynchronisation).
    pub(crate) fn chunk(
        &mut self,
        chunk: StreamChunk<'_>,
        compact_length: bool,
        on_head: impl FnMut(&Head<'_>) -> bool,
    ) {
        match chunk {
            StreamChunk::Data(data) => self.push(data, compact_length, on_head),
            StreamChunk::Gap(_) | StreamChunk::End => self.finish(),
        }
    }

    /// Feeds the next bytes of the stream; `on_head` gets every complete head and returns
    /// whether to go on reading. `compact_length` accepts SIP's `l:` for `Content-Length`.
    pub(crate) fn push(
        &mut self,
        mut data: &[u8],
        compact_length: bool,
        mut on_head: impl FnMut(&Head<'_>) -> bool,
    ) {
        // Every pass consumes bytes of `data` or returns, so this ends.
        while !self.done {
            let skipped = self.skip.min(data.len());
            self.skip -= skipped;
            data = data.get(skipped..).unwrap_or_default();
            if self.pending.is_empty() {
                // Keep-alives (SIP's CRLF pings) and line ends between messages.
                let blank = data
                    .iter()
                    .position(|&b| b != b'\r' && b != b'\n')
                    .unwrap_or(data.len());
                data = data.get(blank..).unwrap_or_default();
            }
            if data.is_empty() {
                return;
            }
            if self.pending.is_empty() {
                // The common case: the whole head is in this chunk, read in place.
                match Head::parse(data) {
                    // As long a head split across chunks would not have fit the buffer: the
                    // outcome never depends on how the stream was cut into chunks.
                    Ok(head) if head.len > MAX_HEAD => self.finish(),
                    Ok(head) => {
                        data = data.get(head.len..).unwrap_or_default();
                        self.accept(&head, compact_length, &mut on_head);
                    }
                    Err(HeadError::Incomplete) if data.len() < MAX_HEAD => {
                        self.pending.extend_from_slice(data);
                        return;
                    }
                    Err(_) => self.finish(),
                }
                continue;
            }
            // A head split across chunks: complete it in the buffer.
            let before = self.pending.len();
            let take = data.len().min(MAX_HEAD.saturating_sub(before));
            let (head_part, _) = data.split_at(take);
            // Only a new line end can complete the head; avoid rescanning the buffer otherwise.
            if !head_part.contains(&b'\n') {
                self.pending.extend_from_slice(head_part);
                if self.pending.len() >= MAX_HEAD {
                    self.finish();
                }
                return;
            }
            self.pending.extend_from_slice(head_part);
            let pending = std::mem::take(&mut self.pending);
            match Head::parse(&pending) {
                Ok(head) => {
                    // The empty line ends within the new bytes: the rest of `data` follows it.
                    let used = head.len.saturating_sub(before);
                    data = data.get(used..).unwrap_or_default();
                    self.accept(&head, compact_length, &mut on_head);
                    if !self.done {
                        self.pending = pending;
                        self.pending.clear();
                    }
                }
                Err(HeadError::Incomplete) if pending.len() < MAX_HEAD => {
                    self.pending = pending;
                    return;
                }
                Err(_) => self.finish(),
            }
        }
    }

    /// Counts a complete head, hands it on and sets up skipping its body.
    fn accept(
        &mut self,
        head: &Head<'_>,
        compact_length: bool,
        on_head: &mut impl FnMut(&Head<'_>) -> bool,
    ) {
        self.messages += 1;
        self.skip = content_length(head, compact_length);
        if !on_head(head) || self.messages >= MAX_MESSAGES {
            self.finish();
        }
    }
}

/// The body length a head announces (`Content-Length`, or SIP's compact `l`); 0 when absent or
/// unreadable.
fn content_length(head: &Head<'_>, compact: bool) -> usize {
    head.headers()
        .find(|(name, _)| {
            name.eq_ignore_ascii_case(b"Content-Length")
                || compact && name.eq_ignore_ascii_case(b"l")
        })
        .map_or(0, |(_, value)| {
            trim(value)
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .fold(0usize, |n, d| {
                    n.saturating_mul(10).saturating_add(usize::from(d - b'0'))
                })
        })
}

/// Whether a first payload starts with an RTSP start line (cheap: its first line only).
pub fn looks_like_rtsp(payload: &[u8]) -> bool {
    let window = payload
        .get(..payload.len().min(START_LINE_LIMIT))
        .unwrap_or_default();
    let Some(end) = find(window, b"\n") else {
        return false;
    };
    let line = window.get(..end).unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    start_line_kind(line).is_ok()
}

/// Whether a first payload starts with an HTTP start line (left to the HTTP dissector even on
/// RTSP ports: RTSP-over-HTTP tunnelling, web interfaces).
pub(crate) fn looks_like_http(payload: &[u8]) -> bool {
    if starts_with_ignore_case(payload, b"HTTP/1.") {
        return true;
    }
    let window = payload
        .get(..payload.len().min(START_LINE_LIMIT))
        .unwrap_or_default();
    let line_end = find(window, b"\n").unwrap_or(window.len());
    let line = window.get(..line_end).unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    line.ends_with(b" HTTP/1.1") || line.ends_with(b" HTTP/1.0")
}

/// The RTSP dissector of one TCP flow.
#[derive(Debug, Default)]
pub struct RtspDissector {
    streams: [MessageStream; 2],
    /// A request carrying credentials awaits its answer: its scheme and direction.
    pending_auth: Option<(AuthScheme, Direction)>,
}

impl RtspDissector {
    /// Follows authentication attempts: a request with credentials, then the response that
    /// accepts or rejects them, reported as one [`Auth`](EventCategory::Authentication) event from the client.
    fn follow_auth(
        pending: &mut Option<(AuthScheme, Direction)>,
        message: &Message<'_>,
        flow: &FlowMeta,
        direction: Direction,
        out: &mut Observations,
    ) {
        match message.kind {
            Kind::Request { .. } => {
                *pending = message
                    .headers
                    .authorization
                    .map(|scheme| (scheme, direction));
            }
            Kind::Response { status } => {
                let Some((scheme, request_direction)) = *pending else {
                    return;
                };
                if request_direction != direction.reverse() || status < 200 {
                    return;
                }
                *pending = None;
                let detail = match (scheme, auth_outcome(status)) {
                    (AuthScheme::Basic, Some(true)) => "RTSP Basic authentication succeeded",
                    (AuthScheme::Basic, Some(false)) => "RTSP Basic authentication failed",
                    (AuthScheme::Digest, Some(true)) => "RTSP Digest authentication succeeded",
                    (AuthScheme::Digest, Some(false)) => "RTSP Digest authentication failed",
                    (AuthScheme::Other, Some(true)) => "RTSP authentication succeeded",
                    (AuthScheme::Other, Some(false)) => "RTSP authentication failed",
                    (_, None) => return,
                };
                out.event(
                    flow,
                    request_direction,
                    "rtsp",
                    EventCategory::Authentication,
                    "login",
                    detail,
                );
            }
        }
    }
}

impl Dissector for RtspDissector {
    fn protocol(&self) -> &'static str {
        "rtsp"
    }

    fn on_stream(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        chunk: StreamChunk<'_>,
        out: &mut Observations,
    ) {
        let Self {
            streams,
            pending_auth,
        } = self;
        let Some(stream) = streams.get_mut(direction.index()) else {
            return;
        };
        if stream.is_done() {
            return;
        }
        let (sender, receiver) = (flow.sender(direction), flow.receiver(direction));
        stream.chunk(chunk, false, |head| {
            match parse_head(head) {
                Ok(message) => {
                    report(&message, sender, receiver, flow.now, out);
                    Self::follow_auth(pending_auth, &message, flow, direction, out);
                    true
                }
                // Not RTSP after all: stop reading this direction.
                Err(_) => false,
            }
        });
    }
}

/// Takes TCP flows on ports 554 and 8554 (unless they start with HTTP), and TCP flows on any
/// port whose first payload is an exact RTSP start line.
#[derive(Debug, Default)]
pub struct RtspFactory;

impl DissectorFactory for RtspFactory {
    fn protocol(&self) -> &'static str {
        "rtsp"
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
        let port = flow.server.port();
        let by_port = (port == PORT || port == ALT_PORT) && !looks_like_http(first_payload);
        (by_port || looks_like_rtsp(first_payload))
            .then(|| Box::new(RtspDissector::default()) as Box<dyn Dissector>)
    }
}

/// Adds the RTSP dissector to `registry`.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register(Box::new(RtspFactory));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(server_port: u16) -> FlowMeta {
        FlowMeta {
            id: 1,
            transport: Transport::Tcp,
            client: "192.168.1.100:50123".parse().unwrap(),
            server: format!("192.168.1.64:{server_port}").parse().unwrap(),
            now: Timestamp(5),
            frame: 1,
        }
    }

    /// A VLC client and a Hikvision camera: OPTIONS, DESCRIBE challenged with Basic, DESCRIBE
    /// with credentials and an SDP body, then interleaved RTP after PLAY.
    const CLIENT: &[u8] = b"OPTIONS rtsp://192.168.1.64:554/Streaming/Channels/101 RTSP/1.0\r\n\
CSeq: 2\r\n\
User-Agent: LibVLC/3.0.18 (LIVE555 Streaming Media v2016.11.28)\r\n\
\r\n\
DESCRIBE rtsp://192.168.1.64:554/Streaming/Channels/101 RTSP/1.0\r\n\
CSeq: 3\r\n\
User-Agent: LibVLC/3.0.18 (LIVE555 Streaming Media v2016.11.28)\r\n\
Accept: application/sdp\r\n\
\r\n\
DESCRIBE rtsp://192.168.1.64:554/Streaming/Channels/101 RTSP/1.0\r\n\
CSeq: 4\r\n\
Authorization: Basic YWRtaW46MTIzNDU=\r\n\
User-Agent: LibVLC/3.0.18 (LIVE555 Streaming Media v2016.11.28)\r\n\
Accept: application/sdp\r\n\
\r\n";

    const SDP: &[u8] = b"v=0\r\no=- 1109162014219182 1109162014219192 IN IP4 192.168.1.64\r\ns=Media Presentation\r\ne=NONE\r\nb=AS:5050\r\nt=0 0\r\na=control:rtsp://192.168.1.64:554/Streaming/Channels/101/\r\nm=video 0 RTP/AVP 96\r\n";

    fn server_bytes() -> Vec<u8> {
        let mut bytes = b"RTSP/1.0 200 OK\r\n\
CSeq: 2\r\n\
Public: OPTIONS, DESCRIBE, PLAY, PAUSE, SETUP, TEARDOWN, SET_PARAMETER, GET_PARAMETER\r\n\
Date:  Tue, Mar 05 2024 10:12:44 GMT\r\n\
\r\n\
RTSP/1.0 401 Unauthorized\r\n\
CSeq: 3\r\n\
WWW-Authenticate: Digest realm=\"IP Camera(C6496)\", nonce=\"a5ae3c1c8b4d9f3e\", stale=\"FALSE\"\r\n\
WWW-Authenticate: Basic realm=\"IP Camera(C6496)\"\r\n\
Date:  Tue, Mar 05 2024 10:12:44 GMT\r\n\
\r\n"
            .to_vec();
        bytes.extend_from_slice(
            format!(
                "RTSP/1.0 200 OK\r\nCSeq: 4\r\nServer: Hikvision/V4.30.005\r\nContent-Base: rtsp://192.168.1.64:554/Streaming/Channels/101/\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n",
                SDP.len()
            )
            .as_bytes(),
        );
        bytes.extend_from_slice(SDP);
        bytes.extend_from_slice(
            b"RTSP/1.0 200 OK\r\nCSeq: 5\r\nServer: Hikvision/V4.30.005\r\n\r\n",
        );
        bytes.extend_from_slice(
            b"$\x00\x00\x10\x80\x60\x00\x01\x00\x00\x00\x00\x12\x34\x56\x78\x00\x00\x00\x00",
        );
        bytes
    }

    fn run(
        chunk_size: usize,
    ) -> (
        Vec<(DeviceKey, Attribute, String)>,
        Vec<ironward_model::Event>,
    ) {
        let flow = flow(554);
        let mut dissector = RtspFactory
            .select(&flow, Direction::ClientToServer, CLIENT)
            .expect("RTSP flow");
        let mut out = Observations::default();
        let server = server_bytes();
        for (direction, bytes) in [
            (Direction::ClientToServer, CLIENT),
            (Direction::ServerToClient, &server[..]),
        ] {
            for piece in bytes.chunks(chunk_size) {
                dissector.on_stream(&flow, direction, StreamChunk::Data(piece), &mut out);
            }
        }
        let facts = out
            .drain_facts()
            .map(|f| {
                assert_eq!(f.source, Source::Rtsp);
                (f.subject, f.attribute, f.value.into_owned())
            })
            .collect();
        (facts, out.drain_events().collect())
    }

    #[test]
    fn camera_session_in_any_chunking() {
        let flow = flow(554);
        let (client, camera) = (flow.client_device(), flow.server_device());
        let expected = vec![
            (
                client,
                Attribute::UserAgent,
                "LibVLC/3.0.18 (LIVE555 Streaming Media v2016.11.28)".to_owned(),
            ),
            (
                camera,
                Attribute::Finding,
                "http_basic_cleartext".to_owned(),
            ),
            (
                camera,
                Attribute::Software,
                "Hikvision/V4.30.005".to_owned(),
            ),
        ];
        for size in [1, 2, 3, 7, 64, 100, 1000, 10_000] {
            assert_eq!(run(size).0, expected, "chunks of {size}");
        }
        // The DESCRIBE with Basic credentials was accepted: one event, from the client.
        let events = run(1000).1;
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].category, EventCategory::Authentication);
        assert_eq!(events[0].detail, "RTSP Basic authentication succeeded");
        assert_eq!(events[0].src.ip, Some(flow.client.ip()));
        assert_eq!(events[0].dst.ip, Some(flow.server.ip()));
    }

    #[test]
    fn rejected_digest_attempts_are_events() {
        let flow = flow(554);
        let mut dissector = RtspDissector::default();
        let mut out = Observations::default();
        let attempt = b"DESCRIBE rtsp://cam/live RTSP/1.0\r\nCSeq: 5\r\nAuthorization: Digest username=\"admin\", realm=\"cam\", nonce=\"n\", uri=\"rtsp://cam/live\", response=\"0123456789abcdef0123456789abcdef\"\r\n\r\n";
        let mut exchange = |request: &[u8], response: &[u8]| {
            dissector.on_stream(
                &flow,
                Direction::ClientToServer,
                StreamChunk::Data(request),
                &mut out,
            );
            dissector.on_stream(
                &flow,
                Direction::ServerToClient,
                StreamChunk::Data(response),
                &mut out,
            );
        };
        exchange(attempt, b"RTSP/1.0 401 Unauthorized\r\nCSeq: 5\r\nWWW-Authenticate: Digest realm=\"cam\", nonce=\"m\"\r\n\r\n");
        exchange(attempt, b"RTSP/1.0 403 Forbidden\r\nCSeq: 6\r\n\r\n");
        // No credentials, or an answer that says nothing about them: no event.
        exchange(
            b"OPTIONS rtsp://cam/live RTSP/1.0\r\nCSeq: 7\r\n\r\n",
            b"RTSP/1.0 200 OK\r\nCSeq: 7\r\n\r\n",
        );
        exchange(
            attempt,
            b"RTSP/1.0 454 Session Not Found\r\nCSeq: 8\r\n\r\n",
        );
        // Repeats of one operation aggregate into one event with a count.
        let details: Vec<_> = out.drain_events().map(|e| (e.detail, e.count)).collect();
        assert_eq!(
            details,
            [("RTSP Digest authentication failed".to_owned(), 2)]
        );
        assert!(out.drain_facts().all(|f| f.attribute != Attribute::Finding));
    }

    #[test]
    fn start_lines() {
        assert_eq!(
            start_line_kind(b"PLAY rtsp://cam/live RTSP/1.0"),
            Ok(Kind::Request { method: b"PLAY" })
        );
        assert_eq!(
            start_line_kind(b"RTSP/2.0 454 Session Not Found"),
            Ok(Kind::Response { status: 454 })
        );
        assert_eq!(
            start_line_kind(b"RTSP/1.0 2000 OK"),
            Err(RtspError::BadStatus)
        );
        assert_eq!(start_line_kind(b"RTSP/1.0"), Err(RtspError::NotRtsp));
        assert_eq!(start_line_kind(b"GET / HTTP/1.1"), Err(RtspError::NotRtsp));
        assert_eq!(start_line_kind(b"RTSP/1.0x 200"), Err(RtspError::NotRtsp));
        assert_eq!(
            start_line_kind(b"get rtsp://x RTSP/1.0"),
            Err(RtspError::NotRtsp)
        );
        assert_eq!(start_line_kind(b"RTSP/1.0"), Err(RtspError::NotRtsp));
        assert_eq!(start_line_kind(b""), Err(RtspError::NotRtsp));
        assert!(is_basic(b"Basic realm=\"x\""));
        assert!(is_basic(b"basic"));
        assert!(!is_basic(b"Basically"));
        assert!(!is_basic(b"Digest realm=\"x\""));
    }

    #[test]
    fn factory_never_takes_http() {
        let describe = b"DESCRIBE rtsp://10.0.0.5/live RTSP/1.0\r\nCSeq: 1\r\n\r\n";
        let http = b"GET /ISAPI/System/deviceInfo HTTP/1.1\r\nHost: cam\r\n\r\n";
        // By content on any port, by port unless it is HTTP.
        assert!(RtspFactory
            .select(&flow(10554), Direction::ClientToServer, describe)
            .is_some());
        assert!(RtspFactory
            .select(&flow(554), Direction::ClientToServer, b"\x00\x01")
            .is_some());
        assert!(RtspFactory
            .select(&flow(554), Direction::ClientToServer, http)
            .is_none());
        assert!(RtspFactory
            .select(
                &flow(8554),
                Direction::ServerToClient,
                b"HTTP/1.0 200 OK\r\n"
            )
            .is_none());
        assert!(RtspFactory
            .select(&flow(80), Direction::ClientToServer, http)
            .is_none());
        assert!(RtspFactory
            .select(&flow(80), Direction::ClientToServer, b"RTSP/1.0 200 OK\r\n")
            .is_some());
        let mut udp = flow(554);
        udp.transport = Transport::Udp;
        assert!(RtspFactory
            .select(&udp, Direction::ClientToServer, describe)
            .is_none());
    }

    #[test]
    fn streams_are_bounded() {
        // A head that never ends stops the direction at MAX_HEAD, in any chunking.
        for size in [1, 100, 5000] {
            let mut stream = MessageStream::default();
            let junk = vec![b'a'; MAX_HEAD * 2];
            for piece in junk.chunks(size) {
                stream.push(piece, false, |_| true);
            }
            assert!(stream.is_done());
            assert!(stream.pending.capacity() <= MAX_HEAD * 2);
        }
        // Many small messages stop after MAX_MESSAGES.
        let mut stream = MessageStream::default();
        let mut count = 0;
        for _ in 0..MAX_MESSAGES * 2 {
            stream.push(b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n", false, |_| {
                count += 1;
                true
            });
        }
        assert_eq!(count, MAX_MESSAGES);
        // A huge announced body is skipped without buffering, then reading goes on.
        let mut stream = MessageStream::default();
        let mut servers = Vec::new();
        let mut on = |head: &Head<'_>| {
            servers.push(head.header("Server").unwrap_or_default().to_vec());
            true
        };
        stream.push(
            b"RTSP/1.0 200 OK\r\nContent-Length: 100000\r\n\r\n",
            false,
            &mut on,
        );
        for _ in 0..100 {
            stream.push(&[0u8; 1000], false, &mut on);
        }
        stream.push(b"RTSP/1.0 200 OK\r\nServer: x\r\n\r\n", false, &mut on);
        assert_eq!(servers, [b"".to_vec(), b"x".to_vec()]);
        assert!(stream.pending.is_empty());
        // A head longer than MAX_HEAD stops the reading whether it came whole or in pieces.
        let mut long = b"OPTIONS * RTSP/1.0\r\nX: ".to_vec();
        long.resize(MAX_HEAD + 10, b'a');
        long.extend_from_slice(b"\r\n\r\n");
        for size in [long.len(), 1000] {
            let mut stream = MessageStream::default();
            let mut heads = 0;
            for piece in long.chunks(size) {
                stream.push(piece, false, |_| {
                    heads += 1;
                    true
                });
            }
            assert_eq!((heads, stream.is_done()), (0, true), "chunks of {size}");
        }
        // A gap ends the reading.
        let mut stream = MessageStream::default();
        stream.chunk(StreamChunk::Gap(10), false, |_| true);
        assert!(stream.is_done());
        // Overflowing lengths saturate.
        let head = Head::parse(b"X * RTSP/1.0\r\nl: 99999999999999999999999999\r\n\r\n").unwrap();
        assert_eq!(content_length(&head, true), usize::MAX);
        assert_eq!(content_length(&head, false), 0);
    }
}
