//! HTTP/1.x over TCP: every request and response head in both directions (pipelined and
//! keep-alive), bodies skipped by `Content-Length` or chunked encoding so that the next head is
//! found, and the few bodies worth reading (an HTML page's `<title>`, a UPnP device
//! description) captured up to [`MAX_CAPTURE`] bytes.
//!
//! Facts: the request `User-Agent` names the client's software; the request `Host` names the
//! server (hearsay); the response `Server` is the server's software banner; a page title
//! describes the server; well-known device paths requested by clients say what kind of device
//! the server is; HTTP Basic authentication offered or used is a finding (this dissector only
//! ever sees clear text: TLS flows are taken by the TLS dissector first).
//!
//! The stream machinery (`HttpStream` driven through `HttpHooks`) is shared with the IPP
//! dissector, which is HTTP with a binary body.

use std::net::Ipv4Addr;

use ironward_model::{Attribute, DeviceKey, Finding, Source};

use crate::dissector::{Dissector, DissectorFactory, DissectorRegistry};
use crate::observations::Observations;
use crate::session::{Direction, FlowMeta, StreamChunk, Transport};
use crate::text::{self, Head, HeadError};

/// Longest message head buffered per direction while it arrives in pieces; a longer head ends
/// the dissection of that direction.
pub const MAX_HEAD: usize = 8 * 1024;

/// Most bytes of a response body read for a page title or a UPnP description.
pub const MAX_CAPTURE: usize = 16 * 1024;

/// Most body bytes any hook may ask the stream to capture (IPP responses are larger than pages).
const MAX_CAPTURE_ANY: usize = 64 * 1024;

/// Ports taken as HTTP whatever their first bytes look like.
pub const PORTS: [u16; 5] = [80, 8080, 8000, 8008, 8888];

/// Requests remembered while their responses are awaited (to know which responses to HEAD or
/// CONNECT have no body); more pipelined requests are not tracked.
const MAX_PENDING: usize = 16;

/// Why HTTP bytes could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpError {
    /// The head is not complete yet (no empty line).
    Incomplete,
    /// The start line holds bytes no text protocol uses.
    NotText,
    /// The request method is not one HTTP/1.x defines.
    UnknownMethod,
    /// The version is not `HTTP/1.x`; `offset` is where it was expected in the start line.
    BadVersion {
        /// Offset in the start line.
        offset: usize,
    },
    /// The status code is not three digits between 100 and 599.
    BadStatus {
        /// Offset in the start line.
        offset: usize,
    },
    /// The request target is empty.
    BadTarget,
    /// `Content-Length` is not a number, or several disagree.
    BadContentLength,
    /// A request names a transfer coding other than chunked last (its length is unknowable).
    BadTransferEncoding,
    /// A chunk-size line is not hexadecimal (or too long); `offset` counts from the chunk
    /// decoder's input.
    BadChunkSize {
        /// Offset of the offending byte in the bytes handed to the decoder.
        offset: usize,
    },
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Incomplete => f.write_str("head incomplete"),
            Self::NotText => f.write_str("start line is not text"),
            Self::UnknownMethod => f.write_str("unknown request method"),
            Self::BadVersion { offset } => write!(f, "no HTTP/1.x version at offset {offset}"),
            Self::BadStatus { offset } => write!(f, "bad status code at offset {offset}"),
            Self::BadTarget => f.write_str("empty request target"),
            Self::BadContentLength => f.write_str("bad or conflicting Content-Length"),
            Self::BadTransferEncoding => f.write_str("request transfer coding is not chunked"),
            Self::BadChunkSize { offset } => write!(f, "bad chunk size at offset {offset}"),
        }
    }
}

impl std::error::Error for HttpError {}

/// A request method (RFC 9110, WebDAV, and the GENA methods UPnP uses over TCP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Delete,
    Options,
    Trace,
    Connect,
    Patch,
    Propfind,
    Proppatch,
    Mkcol,
    Copy,
    Move,
    Lock,
    Unlock,
    Report,
    Search,
    Subscribe,
    Unsubscribe,
    Notify,
}

const METHODS: [(&[u8], Method); 21] = [
    (b"GET", Method::Get),
    (b"HEAD", Method::Head),
    (b"POST", Method::Post),
    (b"PUT", Method::Put),
    (b"DELETE", Method::Delete),
    (b"OPTIONS", Method::Options),
    (b"TRACE", Method::Trace),
    (b"CONNECT", Method::Connect),
    (b"PATCH", Method::Patch),
    (b"PROPFIND", Method::Propfind),
    (b"PROPPATCH", Method::Proppatch),
    (b"MKCOL", Method::Mkcol),
    (b"COPY", Method::Copy),
    (b"MOVE", Method::Move),
    (b"LOCK", Method::Lock),
    (b"UNLOCK", Method::Unlock),
    (b"REPORT", Method::Report),
    (b"SEARCH", Method::Search),
    (b"SUBSCRIBE", Method::Subscribe),
    (b"UNSUBSCRIBE", Method::Unsubscribe),
    (b"NOTIFY", Method::Notify),
];

impl Method {
    /// The method spelled `token` (methods are case-sensitive).
    pub fn from_token(token: &[u8]) -> Option<Self> {
        METHODS
            .iter()
            .find(|(name, _)| *name == token)
            .map(|(_, method)| *method)
    }

    /// The method's name.
    pub fn as_str(self) -> &'static str {
        METHODS
            .iter()
            .find(|(_, method)| *method == self)
            .and_then(|(name, _)| std::str::from_utf8(name).ok())
            .unwrap_or("?")
    }
}

/// The first line of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartLine<'a> {
    /// `GET /path HTTP/1.1`.
    Request {
        /// The method.
        method: Method,
        /// The request target as sent (origin form `/path?q`, absolute form, `*`, authority).
        target: &'a [u8],
        /// The minor version (`1` of `HTTP/1.1`).
        minor: u8,
    },
    /// `HTTP/1.1 200 OK`.
    Response {
        /// The minor version.
        minor: u8,
        /// The status code, 100–599.
        status: u16,
        /// The reason phrase (may be empty).
        reason: &'a [u8],
    },
}

/// Reads a start line (without its line end).
pub fn parse_start_line(line: &[u8]) -> Result<StartLine<'_>, HttpError> {
    if line.iter().any(|&b| b < 0x20 && b != b'\t' || b == 0x7f) || line.is_empty() {
        return Err(HttpError::NotText);
    }
    if let Some(rest) = line.strip_prefix(b"HTTP/") {
        let minor = version_minor(rest).ok_or(HttpError::BadVersion { offset: 0 })?;
        if rest.get(3) != Some(&b' ') {
            return Err(HttpError::BadVersion { offset: 0 });
        }
        let code = rest.get(4..7).ok_or(HttpError::BadStatus { offset: 9 })?;
        if !code.iter().all(u8::is_ascii_digit) {
            return Err(HttpError::BadStatus { offset: 9 });
        }
        let status = code.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
        if !(100..=599).contains(&status) {
            return Err(HttpError::BadStatus { offset: 9 });
        }
        let reason = match rest.get(7) {
            None => &[][..],
            Some(b' ') => &rest[8..],
            Some(_) => return Err(HttpError::BadStatus { offset: 9 }),
        };
        return Ok(StartLine::Response {
            minor,
            status,
            reason,
        });
    }
    let space = line
        .iter()
        .position(|&b| b == b' ')
        .ok_or(HttpError::UnknownMethod)?;
    let method = Method::from_token(&line[..space]).ok_or(HttpError::UnknownMethod)?;
    // The version follows the last space: targets with unescaped spaces stay whole.
    let last = line
        .iter()
        .rposition(|&b| b == b' ')
        .filter(|&p| p > space)
        .ok_or(HttpError::BadVersion { offset: space + 1 })?;
    let version = &line[last + 1..];
    let minor = version
        .strip_prefix(b"HTTP/")
        .filter(|v| v.len() == 3)
        .and_then(version_minor)
        .ok_or(HttpError::BadVersion { offset: last + 1 })?;
    let target = text::trim(&line[space + 1..last]);
    if target.is_empty() {
        return Err(HttpError::BadTarget);
    }
    Ok(StartLine::Request {
        method,
        target,
        minor,
    })
}

/// `1.x` at the start of `version` → `x`.
fn version_minor(version: &[u8]) -> Option<u8> {
    match version {
        [b'1', b'.', minor, ..] if minor.is_ascii_digit() => Some(minor - b'0'),
        _ => None,
    }
}

/// Whether `input`, the first bytes of a line not yet complete, can still become a start line.
fn could_start(input: &[u8]) -> bool {
    const VERSION: &[u8] = b"HTTP/1.";
    let n = input.len().min(VERSION.len());
    if input[..n] == VERSION[..n] {
        return true;
    }
    match input.iter().position(|&b| b == b' ') {
        Some(space) => Method::from_token(&input[..space]).is_some(),
        None => METHODS.iter().any(|(name, _)| name.starts_with(input)),
    }
}

/// A message head: start line and header lines.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    /// The start line, parsed.
    pub start: StartLine<'a>,
    /// The head (header lookup, length up to the body).
    pub head: Head<'a>,
}

/// Reads a message head at the start of `input`. The start line is checked as soon as it is
/// complete, so bytes that are not HTTP fail fast instead of being buffered.
pub fn parse_message(input: &[u8]) -> Result<Message<'_>, HttpError> {
    let Some(line_end) = text::find(input, b"\n") else {
        return if could_start(input) {
            Err(HttpError::Incomplete)
        } else {
            Err(HttpError::UnknownMethod)
        };
    };
    let line = &input[..line_end];
    let start = parse_start_line(line.strip_suffix(b"\r").unwrap_or(line))?;
    let head = Head::parse(input).map_err(|e| match e {
        HeadError::Incomplete => HttpError::Incomplete,
        HeadError::NotText => HttpError::NotText,
    })?;
    Ok(Message { start, head })
}

/// Whether a flow's first payload starts like HTTP/1.x: a full request line with a known
/// method and an `HTTP/1.x` version, or a status line. A first segment that ends before its
/// request line does (a long URL) is accepted when it starts `METHOD /` and is all text.
pub fn looks_like_http(payload: &[u8]) -> bool {
    match text::find(payload, b"\n") {
        Some(end) => {
            let line = &payload[..end];
            parse_start_line(line.strip_suffix(b"\r").unwrap_or(line)).is_ok()
        }
        None => {
            let Some(space) = payload.iter().position(|&b| b == b' ') else {
                return false;
            };
            payload.len() >= 16
                && Method::from_token(&payload[..space]).is_some()
                && payload.get(space + 1) == Some(&b'/')
                && payload.iter().all(|&b| (0x20..0x7f).contains(&b))
        }
    }
}

/// How a message's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body.
    Empty,
    /// This many bytes.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
    /// Until the connection closes (responses only).
    UntilClose,
}

/// `Content-Length` and whether chunked is the last transfer coding, from a head.
fn body_headers(head: &Head<'_>) -> Result<(Option<u64>, Option<bool>), HttpError> {
    let mut length = None;
    let mut chunked = None;
    for (name, value) in head.headers() {
        if name.eq_ignore_ascii_case(b"content-length") {
            if value.is_empty() || value.len() > 18 || !value.iter().all(u8::is_ascii_digit) {
                return Err(HttpError::BadContentLength);
            }
            let n = value.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
            if length.is_some_and(|m| m != n) {
                return Err(HttpError::BadContentLength);
            }
            length = Some(n);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            let last = value
                .rsplit(|&b| b == b',')
                .next()
                .map(text::trim)
                .unwrap_or_default();
            chunked = Some(last.eq_ignore_ascii_case(b"chunked"));
        }
    }
    Ok((length, chunked))
}

/// How the body of a request with this head is delimited (RFC 9112 section 6.3).
pub fn request_framing(head: &Head<'_>) -> Result<Framing, HttpError> {
    match body_headers(head)? {
        (_, Some(true)) => Ok(Framing::Chunked),
        (_, Some(false)) => Err(HttpError::BadTransferEncoding),
        (Some(0), None) | (None, None) => Ok(Framing::Empty),
        (Some(n), None) => Ok(Framing::Length(n)),
    }
}

/// How the body of a response with this head and status is delimited, given the method of the
/// request it answers when known.
pub fn response_framing(
    head: &Head<'_>,
    status: u16,
    request: Option<Method>,
) -> Result<Framing, HttpError> {
    if request == Some(Method::Head) || status < 200 || status == 204 || status == 304 {
        return Ok(Framing::Empty);
    }
    match body_headers(head)? {
        (_, Some(true)) => Ok(Framing::Chunked),
        (_, Some(false)) => Ok(Framing::UntilClose),
        (Some(0), None) => Ok(Framing::Empty),
        (Some(n), None) => Ok(Framing::Length(n)),
        (None, None) => Ok(Framing::UntilClose),
    }
}

/// Where a chunked body's decoder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Reading a chunk-size line.
    Size {
        value: u64,
        digits: u8,
        extension: bool,
    },
    /// Inside chunk data, this many bytes left.
    Data(u64),
    /// After chunk data, before its line end.
    DataEnd,
    /// In the trailer section; `line_start` when the last byte ended a line.
    Trailer { line_start: bool },
}

impl Chunk {
    const START: Chunk = Chunk::Size {
        value: 0,
        digits: 0,
        extension: false,
    };
}

/// What one step of the chunk decoder did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ChunkStep {
    /// Bytes of the input used.
    consumed: usize,
    /// Body bytes within the input (start, end), when the step read chunk data.
    data: Option<(usize, usize)>,
    /// Whether the body ended.
    done: bool,
}

/// Decodes `input` until one piece of chunk data, the end of the body, or the end of `input`.
fn chunk_step(state: &mut Chunk, input: &[u8]) -> Result<ChunkStep, HttpError> {
    let mut pos = 0;
    while pos < input.len() {
        match *state {
            Chunk::Data(left) => {
                let take = usize::try_from(left)
                    .unwrap_or(usize::MAX)
                    .min(input.len() - pos);
                *state = match left - take as u64 {
                    0 => Chunk::DataEnd,
                    rest => Chunk::Data(rest),
                };
                return Ok(ChunkStep {
                    consumed: pos + take,
                    data: Some((pos, pos + take)),
                    done: false,
                });
            }
            Chunk::DataEnd => {
                match input[pos] {
                    b'\r' => {}
                    b'\n' => *state = Chunk::START,
                    _ => return Err(HttpError::BadChunkSize { offset: pos }),
                }
                pos += 1;
            }
            Chunk::Size {
                value,
                digits,
                extension,
            } => {
                let b = input[pos];
                match b {
                    b'\n' if digits == 0 => return Err(HttpError::BadChunkSize { offset: pos }),
                    b'\n' if value == 0 => *state = Chunk::Trailer { line_start: true },
                    b'\n' => *state = Chunk::Data(value),
                    b'\r' => {}
                    _ if extension => {}
                    b' ' | b'\t' if digits == 0 => {}
                    b';' | b' ' | b'\t' => {
                        *state = Chunk::Size {
                            value,
                            digits,
                            extension: true,
                        }
                    }
                    _ => {
                        let digit = (b as char)
                            .to_digit(16)
                            .filter(|_| digits < 15)
                            .ok_or(HttpError::BadChunkSize { offset: pos })?;
                        *state = Chunk::Size {
                            value: value << 4 | u64::from(digit),
                            digits: digits + 1,
                            extension,
                        };
                    }
                }
                pos += 1;
            }
            Chunk::Trailer { line_start } => {
                let b = input[pos];
                pos += 1;
                match b {
                    b'\n' if line_start => {
                        return Ok(ChunkStep {
                            consumed: pos,
                            data: None,
                            done: true,
                        })
                    }
                    b'\n' => *state = Chunk::Trailer { line_start: true },
                    b'\r' => {}
                    _ => *state = Chunk::Trailer { line_start: false },
                }
            }
        }
    }
    Ok(ChunkStep {
        consumed: pos,
        data: None,
        done: false,
    })
}

/// What a user of [`HttpStream`] does with the messages it reads.
pub(crate) trait HttpHooks {
    /// A message head was read; returns how many of its body bytes to capture (0: none).
    fn on_head(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        message: &Message<'_>,
        out: &mut Observations,
    ) -> usize;

    /// The captured start of the body of the last message whose head asked for it: complete,
    /// cut at the requested size, or cut by a gap or the end of the stream.
    fn on_body(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        body: &[u8],
        out: &mut Observations,
    );
}

/// Where one direction of the stream is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Phase {
    /// Expecting a message head.
    #[default]
    Head,
    /// In a body of known length, this many bytes left.
    Length(u64),
    /// In a chunked body.
    Chunked(Chunk),
    /// In a body that lasts until the connection closes.
    UntilClose,
    /// Not HTTP any more (gave up, tunnel, protocol switch, end).
    Closed,
}

/// One direction's state.
#[derive(Debug, Default)]
struct Side {
    phase: Phase,
    /// The start of a head that arrived in pieces (at most [`MAX_HEAD`] bytes).
    head: Vec<u8>,
    /// The captured start of the current body.
    capture: Vec<u8>,
    /// How many body bytes to capture (0: not capturing).
    capture_want: usize,
}

/// The methods of requests whose responses are still awaited, oldest first.
#[derive(Debug, Clone, Copy)]
struct Pending {
    methods: [Method; MAX_PENDING],
    first: usize,
    len: usize,
}

impl Pending {
    fn push(&mut self, method: Method) {
        if self.len < MAX_PENDING {
            self.methods[(self.first + self.len) % MAX_PENDING] = method;
            self.len += 1;
        }
    }

    fn front(&self) -> Option<Method> {
        (self.len > 0).then(|| self.methods[self.first])
    }

    fn pop(&mut self) -> Option<Method> {
        let method = self.front()?;
        self.first = (self.first + 1) % MAX_PENDING;
        self.len -= 1;
        Some(method)
    }
}

/// Reads the HTTP/1.x messages of both directions of a TCP stream and hands their heads and
/// the bodies its hooks ask for to an [`HttpHooks`].
#[derive(Debug)]
pub(crate) struct HttpStream {
    sides: [Side; 2],
    pending: Pending,
}

impl Default for HttpStream {
    fn default() -> Self {
        Self {
            sides: Default::default(),
            pending: Pending {
                methods: [Method::Get; MAX_PENDING],
                first: 0,
                len: 0,
            },
        }
    }
}

fn direction_of(index: usize) -> Direction {
    if index == 0 {
        Direction::ClientToServer
    } else {
        Direction::ServerToClient
    }
}

impl HttpStream {
    /// The next piece of one direction.
    pub(crate) fn on_stream<H: HttpHooks>(
        &mut self,
        hooks: &mut H,
        flow: &FlowMeta,
        direction: Direction,
        chunk: StreamChunk<'_>,
        out: &mut Observations,
    ) {
        let i = direction.index();
        match chunk {
            StreamChunk::Data(data) => self.on_data(hooks, flow, direction, data, out),
            StreamChunk::Gap(missing) => match self.sides[i].phase {
                // A hole inside a body of known length costs only the captured body.
                Phase::Length(left) if u64::from(missing) < left => {
                    self.flush(hooks, flow, direction, out);
                    self.sides[i].phase = Phase::Length(left - u64::from(missing));
                }
                Phase::UntilClose => self.flush(hooks, flow, direction, out),
                // Anywhere else the next head cannot be found reliably: give up cleanly.
                _ => self.close(hooks, flow, direction, out),
            },
            StreamChunk::End => self.close(hooks, flow, direction, out),
        }
    }

    /// The flow ended: captured bodies (those delimited by the end) are handed over.
    pub(crate) fn on_end<H: HttpHooks>(
        &mut self,
        hooks: &mut H,
        flow: &FlowMeta,
        out: &mut Observations,
    ) {
        for i in 0..2 {
            self.close(hooks, flow, direction_of(i), out);
        }
    }

    fn close<H: HttpHooks>(
        &mut self,
        hooks: &mut H,
        flow: &FlowMeta,
        direction: Direction,
        out: &mut Observations,
    ) {
        self.flush(hooks, flow, direction, out);
        let side = &mut self.sides[direction.index()];
        side.phase = Phase::Closed;
        side.head = Vec::new();
        side.capture = Vec::new();
    }

    /// Hands the captured body over and stops capturing.
    fn flush<H: HttpHooks>(
        &mut self,
        hooks: &mut H,
        flow: &FlowMeta,
        direction: Direction,
        out: &mut Observations,
    ) {
        let side = &mut self.sides[direction.index()];
        if side.capture_want == 0 {
            return;
        }
        side.capture_want = 0;
        if !side.capture.is_empty() {
            hooks.on_body(flow, direction, &side.capture, out);
        }
        // Captures are rare (one page title per flow, IPP responses): give the memory back.
        side.capture = Vec::new();
    }

    fn capture<H: HttpHooks>(
        &mut self,
        hooks: &mut H,
        flow: &FlowMeta,
        direction: Direction,
        bytes: &[u8],
        out: &mut Observations,
    ) {
        let side = &mut self.sides[direction.index()];
        if side.capture_want == 0 {
            return;
        }
        let room = side.capture_want.saturating_sub(side.capture.len());
        side.capture
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
        if side.capture.len() >= side.capture_want {
            self.flush(hooks, flow, direction, out);
        }
    }

    fn end_body<H: HttpHooks>(
        &mut self,
        hooks: &mut H,
        flow: &FlowMeta,
        direction: Direction,
        out: &mut Observations,
    ) {
        self.flush(hooks, flow, direction, out);
        self.sides[direction.index()].phase = Phase::Head;
    }

    fn on_data<H: HttpHooks>(
        &mut self,
        hooks: &mut H,
        flow: &FlowMeta,
        direction: Direction,
        mut input: &[u8],
        out: &mut Observations,
    ) {
        let i = direction.index();
        // Every turn uses at least one byte or returns.
        while !input.is_empty() {
            let used = match self.sides[i].phase {
                Phase::Closed => return,
                Phase::Head => match self.read_head(hooks, flow, direction, input, out) {
                    Some(used) => used,
                    None => return,
                },
                Phase::Length(left) => {
                    let take = usize::try_from(left).unwrap_or(usize::MAX).min(input.len());
                    self.capture(hooks, flow, direction, &input[..take], out);
                    match left - take as u64 {
                        0 => self.end_body(hooks, flow, direction, out),
                        rest => self.sides[i].phase = Phase::Length(rest),
                    }
                    take
                }
                Phase::UntilClose => {
                    self.capture(hooks, flow, direction, input, out);
                    input.len()
                }
                Phase::Chunked(mut state) => match chunk_step(&mut state, input) {
                    Ok(step) => {
                        self.sides[i].phase = Phase::Chunked(state);
                        if let Some((start, end)) = step.data {
                            self.capture(hooks, flow, direction, &input[start..end], out);
                        }
                        if step.done {
                            self.end_body(hooks, flow, direction, out);
                        }
                        if step.consumed == 0 {
                            return;
                        }
                        step.consumed
                    }
                    Err(_) => {
                        self.close(hooks, flow, direction, out);
                        return;
                    }
                },
            };
            input = &input[used.min(input.len())..];
        }
    }

    /// Reads a head at the start of `input` (after what is buffered). Returns the bytes of
    /// `input` used, or `None` when all of it was buffered or the direction was given up.
    fn read_head<H: HttpHooks>(
        &mut self,
        hooks: &mut H,
        flow: &FlowMeta,
        direction: Direction,
        input: &[u8],
        out: &mut Observations,
    ) -> Option<usize> {
        let i = direction.index();
        if self.sides[i].head.is_empty() {
            // Empty lines between messages are allowed (RFC 9112 section 2.2).
            let blank = input
                .iter()
                .take_while(|&&b| b == b'\r' || b == b'\n')
                .count();
            if blank > 0 {
                return Some(blank);
            }
            return match parse_message(input) {
                Ok(message) => {
                    let used = message.head.len;
                    self.on_message(hooks, flow, direction, &message, out);
                    Some(used)
                }
                Err(HttpError::Incomplete) if input.len() < MAX_HEAD => {
                    self.sides[i].head.extend_from_slice(input);
                    None
                }
                Err(_) => {
                    self.close(hooks, flow, direction, out);
                    None
                }
            };
        }
        let old = self.sides[i].head.len();
        let take = input.len().min(MAX_HEAD.saturating_sub(old));
        let fresh = &input[..take];
        self.sides[i].head.extend_from_slice(fresh);
        // Only a new line end can complete the head (or the start line): do not rescan the
        // buffer for every small segment.
        if !fresh.contains(&b'\n') && self.sides[i].head.len() < MAX_HEAD {
            return None;
        }
        let buffer = std::mem::take(&mut self.sides[i].head);
        let result = match parse_message(&buffer) {
            Ok(message) => match message.head.len.checked_sub(old) {
                Some(used) if used > 0 => {
                    self.on_message(hooks, flow, direction, &message, out);
                    Ok(Some(used))
                }
                _ => Err(()),
            },
            Err(HttpError::Incomplete) if buffer.len() < MAX_HEAD => Ok(None),
            Err(_) => Err(()),
        };
        match result {
            Ok(Some(used)) => {
                let mut buffer = buffer;
                buffer.clear();
                self.sides[i].head = buffer;
                Some(used)
            }
            Ok(None) => {
                self.sides[i].head = buffer;
                None
            }
            Err(()) => {
                self.close(hooks, flow, direction, out);
                None
            }
        }
    }

    /// A complete head: hooks, then the body's framing.
    fn on_message<H: HttpHooks>(
        &mut self,
        hooks: &mut H,
        flow: &FlowMeta,
        direction: Direction,
        message: &Message<'_>,
        out: &mut Observations,
    ) {
        let i = direction.index();
        let want = hooks.on_head(flow, direction, message, out);
        let framing = match message.start {
            StartLine::Request { method, .. } => {
                self.pending.push(method);
                if method == Method::Connect {
                    // What follows a CONNECT request is the tunnelled protocol.
                    self.close(hooks, flow, direction, out);
                    return;
                }
                request_framing(&message.head)
            }
            StartLine::Response { status, .. } => {
                // Interim responses (100 Continue) leave the request awaiting its answer.
                let request = if status < 200 {
                    self.pending.front()
                } else {
                    self.pending.pop()
                };
                let tunnel = status == 101
                    || request == Some(Method::Connect) && (200..300).contains(&status);
                if tunnel {
                    // Switching protocols (WebSocket) or an open tunnel: HTTP ends here.
                    self.close(hooks, flow, direction, out);
                    self.close(hooks, flow, direction.reverse(), out);
                    return;
                }
                response_framing(&message.head, status, request)
            }
        };
        let side = &mut self.sides[i];
        side.capture_want = want.min(MAX_CAPTURE_ANY);
        side.capture.clear();
        side.phase = match framing {
            Ok(Framing::Empty) => Phase::Head,
            Ok(Framing::Length(n)) => Phase::Length(n),
            Ok(Framing::Chunked) => Phase::Chunked(Chunk::START),
            Ok(Framing::UntilClose) => Phase::UntilClose,
            Err(_) => Phase::Closed,
        };
        match side.phase {
            // An empty body is still a (complete) body.
            Phase::Head => self.flush(hooks, flow, direction, out),
            Phase::Closed => self.close(hooks, flow, direction, out),
            _ => {}
        }
    }
}

/// Well-known paths that device web interfaces and APIs answer on: a client requesting one
/// says what kind of device the server is. Matched as case-insensitive prefixes of the path.
pub const DEVICE_PATHS: &[&str] = &[
    // Axis Communications network cameras and encoders (VAPIX API).
    "/axis-cgi/",
    // Hikvision cameras and NVRs (ISAPI).
    "/ISAPI/",
    // Hikvision web login page and the SDK endpoint of older firmware.
    "/doc/page/login.asp",
    "/SDK/webLanguage",
    // PSIA API: older Hikvision and other PSIA-conformant cameras.
    "/PSIA/",
    // ONVIF-conformant IP cameras and NVRs (any vendor): device, media and PTZ services.
    "/onvif/",
    // Dahua cameras and NVRs (system information CGI).
    "/cgi-bin/magicBox.cgi",
    // Foscam IP cameras.
    "/cgi-bin/CGIProxy.fcgi",
    // Panasonic network cameras (motion JPEG stream).
    "/nphMotionJpeg",
    // Vivotek network cameras.
    "/cgi-bin/viewer/",
    // HP printers: Embedded Web Server pages and LEDM device management.
    "/hp/device/",
    "/DevMgmt/",
    // Ricoh printers and MFPs (Web Image Monitor).
    "/web/guest/",
    // Konica Minolta MFPs (PageScope Web Connection).
    "/wcd/",
    // Samsung printers (SyncThru Web Service).
    "/sws/",
    // Epson printers (Web Config).
    "/PRESENTATION/",
    // Brother printers (web management status page).
    "/general/status.html",
    // Cisco IP phones (serviceability pages and device information XML).
    "/CGI/Java/Serviceability",
    "/DeviceInformationX",
    // Yealink IP phones.
    "/cgi-bin/ConfigManApp.com",
    "/servlet?m=mod_",
    // Sony Bravia TVs (REST API).
    "/sony/",
    // OpenWrt routers (LuCI web interface).
    "/cgi-bin/luci",
    // D-Link routers (Home Network Administration Protocol).
    "/HNAP1/",
    // TP-Link routers (classic web interface).
    "/userRpm/",
    // Routers and ONTs built on Realtek SDKs (Boa web server forms).
    "/boaform/",
    // MikroTik RouterOS (WebFig).
    "/webfig/",
    // Fortinet FortiGate SSL-VPN portal.
    "/remote/login",
    // Ivanti (Pulse Secure) Connect Secure VPN.
    "/dana-na/",
    // Palo Alto Networks GlobalProtect portal and gateway.
    "/global-protect/",
    // Cisco ASA / FTD WebVPN (AnyConnect portal).
    "/+CSCOE+/",
];

/// The path of a request target: origin form as is, absolute form without scheme and authority.
fn target_path(target: &[u8]) -> &[u8] {
    if target.first() == Some(&b'/') {
        return target;
    }
    let Some(scheme_end) = text::find(target, b"://") else {
        return target;
    };
    let rest = &target[scheme_end + 3..];
    match rest.iter().position(|&b| b == b'/') {
        Some(slash) => &rest[slash..],
        None => b"/",
    }
}

/// The well-known device path `target` starts with.
pub fn device_path(target: &[u8]) -> Option<&'static str> {
    let path = target_path(target);
    DEVICE_PATHS
        .iter()
        .find(|prefix| text::starts_with_ignore_case(path, prefix.as_bytes()))
        .copied()
}

/// The host name of a `Host` header value, lower-cased into `buffer`: without the port, and
/// `None` for IP literals and values that are not host names.
pub fn host_name<'b>(value: &[u8], buffer: &'b mut [u8; 253]) -> Option<&'b str> {
    let value = text::trim(value);
    if value.first() == Some(&b'[') {
        return None; // An IPv6 literal.
    }
    let host = match value.iter().rposition(|&b| b == b':') {
        Some(colon) if value[colon + 1..].iter().all(u8::is_ascii_digit) => &value[..colon],
        Some(_) => return None,
        None => value,
    };
    let host = host.strip_suffix(b".").unwrap_or(host);
    if host.is_empty()
        || host.len() > buffer.len()
        || !host
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
        || !host.iter().any(u8::is_ascii_alphabetic)
    {
        return None;
    }
    let out = &mut buffer[..host.len()];
    for (o, b) in out.iter_mut().zip(host) {
        *o = b.to_ascii_lowercase();
    }
    let name = std::str::from_utf8(out).ok()?;
    // Hexadecimal-looking dotted quads were excluded by the letter test; plain ones are
    // addresses, not names.
    name.parse::<Ipv4Addr>().is_err().then_some(name)
}

/// Whether an authentication header value (`WWW-Authenticate` challenges or `Authorization`
/// credentials) uses the Basic scheme.
pub fn is_basic(value: &[u8]) -> bool {
    value.split(|&b| b == b',').any(|part| {
        let part = text::trim(part);
        text::starts_with_ignore_case(part, b"basic")
            && matches!(part.get(5), None | Some(b' ') | Some(b'\t'))
    })
}

/// The base64 token of an NTLM (or Negotiate) authentication header value.
fn ntlm_token(value: &[u8]) -> Option<&[u8]> {
    for scheme in [&b"NTLM "[..], b"Negotiate "] {
        if text::starts_with_ignore_case(value, scheme) {
            let token = text::trim(&value[scheme.len()..]);
            return (!token.is_empty()).then_some(token);
        }
    }
    None
}

/// What a captured response body is expected to hold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum BodyKind {
    /// Nothing captured.
    #[default]
    None,
    /// An HTML page (or an untyped body): its title.
    Page,
    /// XML: a UPnP device description, perhaps.
    Xml,
}

/// The facts HTTP heads and bodies give; used by the HTTP and IPP dissectors.
#[derive(Debug, Default)]
pub(crate) struct HttpFacts {
    /// A page title was already reported for this flow (one is enough to describe a server).
    title_seen: bool,
    /// What each direction's captured body is expected to be.
    body: [BodyKind; 2],
}

impl HttpFacts {
    fn on_request(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        message: &Message<'_>,
        target: &[u8],
        out: &mut Observations,
    ) {
        let (client, server) = (flow.sender(direction), flow.receiver(direction));
        for (name, value) in message.head.headers() {
            if name.eq_ignore_ascii_case(b"user-agent") {
                out.fact_bytes(client, Attribute::UserAgent, value, Source::Http, flow.now);
            } else if name.eq_ignore_ascii_case(b"host") {
                let mut buffer = [0u8; 253];
                if let Some(host) = host_name(value, &mut buffer) {
                    out.hearsay(server, Attribute::Hostname, host, Source::Http, flow.now);
                }
            } else if name.eq_ignore_ascii_case(b"authorization") {
                if is_basic(value) {
                    // The credentials themselves are never kept.
                    basic_finding(flow, server, out);
                } else if let Some(token) = ntlm_token(value) {
                    ntlm(token, client, flow, out);
                }
            }
        }
        if let Some(prefix) = device_path(target) {
            out.fact(server, Attribute::Url, prefix, Source::Http, flow.now);
        }
    }

    fn on_response(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        message: &Message<'_>,
        status: u16,
        out: &mut Observations,
    ) -> usize {
        let server = flow.sender(direction);
        let mut content_type: &[u8] = &[];
        let mut encoded = false;
        for (name, value) in message.head.headers() {
            if name.eq_ignore_ascii_case(b"server") {
                out.fact_bytes(server, Attribute::Software, value, Source::Http, flow.now);
            } else if name.eq_ignore_ascii_case(b"www-authenticate") {
                if is_basic(value) {
                    basic_finding(flow, server, out);
                } else if let Some(token) = ntlm_token(value) {
                    ntlm(token, server, flow, out);
                }
            } else if name.eq_ignore_ascii_case(b"content-type") {
                content_type = value;
            } else if name.eq_ignore_ascii_case(b"content-encoding") {
                encoded = !value.eq_ignore_ascii_case(b"identity");
            }
        }
        let kind = if !(200..300).contains(&status) || encoded {
            BodyKind::None
        } else if text::find_ignore_case(content_type, b"xml").is_some()
            && text::find_ignore_case(content_type, b"html").is_none()
        {
            BodyKind::Xml
        } else if self.title_seen {
            BodyKind::None
        } else if content_type.is_empty() || text::find_ignore_case(content_type, b"html").is_some()
        {
            BodyKind::Page
        } else {
            BodyKind::None
        };
        self.body[direction.index()] = kind;
        match kind {
            BodyKind::None => 0,
            BodyKind::Page => MAX_CAPTURE,
            // Descriptions of devices with many embedded devices exceed a page's 16 KiB.
            BodyKind::Xml => crate::upnp::MAX_DOCUMENT,
        }
    }
}

/// HTTP Basic authentication seen over clear text: a finding on the server.
fn basic_finding(flow: &FlowMeta, server: DeviceKey, out: &mut Observations) {
    out.finding(server, Finding::HttpBasicCleartext, Source::Http, flow.now);
}

/// Longest base64 NTLM/Negotiate token decoded (NTLMSSP messages are a few hundred bytes;
/// Kerberos tickets in Negotiate headers carry no NTLMSSP and can be much longer).
const MAX_NTLM_TOKEN: usize = 8 * 1024;

/// NTLMSSP carried in an HTTP authentication header (`NTLM <base64>`, or `Negotiate <base64>`
/// wrapping it in SPNEGO): host names, domain and OS of the sender, read by the NTLMSSP module.
/// Headers carrying one are rare (once per connection), so decoding allocates.
fn ntlm(token: &[u8], sender: DeviceKey, flow: &FlowMeta, out: &mut Observations) {
    use base64::Engine as _;
    if token.len() > MAX_NTLM_TOKEN {
        return;
    }
    let Ok(blob) = base64::engine::general_purpose::STANDARD.decode(token) else {
        return;
    };
    if let Some(message) = crate::ntlmssp::find(&blob) {
        crate::ntlmssp::facts(message, sender, Source::Ntlmssp, flow.now, out);
    }
}

impl HttpHooks for HttpFacts {
    fn on_head(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        message: &Message<'_>,
        out: &mut Observations,
    ) -> usize {
        match message.start {
            StartLine::Request { target, .. } => {
                self.body[direction.index()] = BodyKind::None;
                self.on_request(flow, direction, message, target, out);
                0
            }
            StartLine::Response { status, .. } => {
                self.on_response(flow, direction, message, status, out)
            }
        }
    }

    fn on_body(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        body: &[u8],
        out: &mut Observations,
    ) {
        let server = flow.sender(direction);
        let kind = std::mem::take(&mut self.body[direction.index()]);
        let sniffed = if kind == BodyKind::Page && text::trim(body).first() == Some(&b'<') {
            // Untyped or mistyped bodies: a UPnP description served as text/html still counts.
            if text::find(body, b"urn:schemas-upnp-org:device-").is_some() {
                BodyKind::Xml
            } else {
                BodyKind::Page
            }
        } else {
            kind
        };
        match sniffed {
            BodyKind::Xml => {
                if text::find(body, b"urn:schemas-upnp-org:device-").is_some() {
                    upnp_description(body, server, flow, out);
                }
            }
            BodyKind::Page => {
                if let Some(title) = text::element(body, "title", MAX_CAPTURE) {
                    if !text::trim(title).is_empty() {
                        self.title_seen = true;
                        out.fact_bytes(
                            server,
                            Attribute::Description,
                            title,
                            Source::Http,
                            flow.now,
                        );
                    }
                }
            }
            BodyKind::None => {}
        }
    }
}

/// A UPnP device description served over HTTP: read by the UPnP module.
fn upnp_description(body: &[u8], server: DeviceKey, flow: &FlowMeta, out: &mut Observations) {
    crate::upnp::description_facts(body, server, flow.now, out);
}

/// The HTTP dissector of one flow.
#[derive(Debug, Default)]
pub struct HttpDissector {
    stream: HttpStream,
    facts: HttpFacts,
}

impl Dissector for HttpDissector {
    fn protocol(&self) -> &'static str {
        "http"
    }

    fn on_stream(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        chunk: StreamChunk<'_>,
        out: &mut Observations,
    ) {
        self.stream
            .on_stream(&mut self.facts, flow, direction, chunk, out);
    }

    fn on_end(&mut self, flow: &FlowMeta, out: &mut Observations) {
        self.stream.on_end(&mut self.facts, flow, out);
    }
}

/// Takes TCP flows that start like HTTP/1.x on any port, and every flow to the usual HTTP
/// ports.
#[derive(Debug, Default)]
pub struct HttpFactory;

impl DissectorFactory for HttpFactory {
    fn protocol(&self) -> &'static str {
        "http"
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
        (PORTS.contains(&flow.server.port()) || looks_like_http(first_payload))
            .then(|| Box::new(HttpDissector::default()) as Box<dyn Dissector>)
    }
}

/// Adds this module's dissectors to `registry`.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register(Box::new(HttpFactory));
}

#[cfg(test)]
mod tests {
    use super::*;
    use ironward_model::{Fact, Timestamp};

    /// The request of zeek's `http/basic-auth-with-colon.pcap` (frame 4), byte for byte.
    const BASIC_REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: 172.24.133.205:8000\r\n\
User-Agent: python-requests/2.31.0\r\nAccept-Encoding: gzip, deflate\r\nAccept: */*\r\n\
Connection: keep-alive\r\nAuthorization: Basic  dGVzdDoxOjM0\r\n\r\n";
    /// Its response head (frame 6) and the start of the page (frame 8).
    const BASIC_RESPONSE: &[u8] = b"HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6 Python/3.10.6\r\n\
Date: Mon, 26 Jun 2023 10:53:00 GMT\r\nContent-type: text/html; charset=utf-8\r\n\
Content-Length: 643\r\n\r\n";
    const BASIC_PAGE_START: &[u8] = b"<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\" \
\"http://www.w3.org/TR/html4/strict.dtd\">\n<html>\n<head>\n<meta http-equiv=\"Content-Type\" \
content=\"text/html; charset=utf-8\">\n<title>Directory listing for /</title>\n</head>\n";

    fn meta(port: u16) -> FlowMeta {
        FlowMeta {
            id: 1,
            transport: Transport::Tcp,
            client: ([10, 0, 0, 1], 43090).into(),
            server: ([10, 0, 0, 2], port).into(),
            now: Timestamp(1),
            frame: 1,
        }
    }

    fn client() -> DeviceKey {
        DeviceKey::Ip([10, 0, 0, 1].into())
    }

    fn server() -> DeviceKey {
        DeviceKey::Ip([10, 0, 0, 2].into())
    }

    /// Feeds (direction, chunk) pairs to a fresh HTTP dissector; returns the facts.
    fn run(chunks: &[(Direction, StreamChunk<'_>)]) -> Vec<Fact> {
        let flow = meta(8000);
        let mut dissector = HttpDissector::default();
        let mut out = Observations::default();
        for (direction, chunk) in chunks {
            dissector.on_stream(&flow, *direction, *chunk, &mut out);
        }
        dissector.on_end(&flow, &mut out);
        out.drain_facts().collect()
    }

    fn values(facts: &[Fact], subject: DeviceKey, attribute: Attribute) -> Vec<String> {
        facts
            .iter()
            .filter(|f| f.subject == subject && f.attribute == attribute)
            .map(|f| f.value.to_string())
            .collect()
    }

    const C2S: Direction = Direction::ClientToServer;
    const S2C: Direction = Direction::ServerToClient;

    #[test]
    fn start_lines_are_typed() {
        assert_eq!(
            parse_start_line(b"GET /download/CHANGES.bro-aux.txt HTTP/1.1").unwrap(),
            StartLine::Request {
                method: Method::Get,
                target: b"/download/CHANGES.bro-aux.txt",
                minor: 1
            }
        );
        assert_eq!(
            parse_start_line(b"HTTP/1.0 200 OK").unwrap(),
            StartLine::Response {
                minor: 0,
                status: 200,
                reason: b"OK"
            }
        );
        assert_eq!(
            parse_start_line(b"HTTP/1.1 204").unwrap(),
            StartLine::Response {
                minor: 1,
                status: 204,
                reason: b""
            }
        );
        assert_eq!(
            parse_start_line(b"GET /a b HTTP/1.0").unwrap(),
            StartLine::Request {
                method: Method::Get,
                target: b"/a b",
                minor: 0
            }
        );
        assert_eq!(
            parse_start_line(b"get / HTTP/1.1"),
            Err(HttpError::UnknownMethod)
        );
        assert_eq!(
            parse_start_line(b"OPTIONS rtsp://cam/ RTSP/1.0"),
            Err(HttpError::BadVersion { offset: 20 })
        );
        assert_eq!(
            parse_start_line(b"GET / HTTP/2.0"),
            Err(HttpError::BadVersion { offset: 6 })
        );
        assert_eq!(
            parse_start_line(b"GET HTTP/1.1"),
            Err(HttpError::BadVersion { offset: 4 })
        );
        assert_eq!(
            parse_start_line(b"GET  HTTP/1.1"),
            Err(HttpError::BadTarget)
        );
        assert_eq!(
            parse_start_line(b"HTTP/1.1 999 X"),
            Err(HttpError::BadStatus { offset: 9 })
        );
        assert_eq!(
            parse_start_line(b"HTTP/1.1 20"),
            Err(HttpError::BadStatus { offset: 9 })
        );
        assert_eq!(
            parse_start_line(b"SIP/2.0 200 OK"),
            Err(HttpError::UnknownMethod)
        );
        assert_eq!(
            parse_start_line(b"GET /\x00 HTTP/1.1"),
            Err(HttpError::NotText)
        );
        assert_eq!(Method::Propfind.as_str(), "PROPFIND");
    }

    #[test]
    fn first_payloads_are_recognised_strictly() {
        assert!(looks_like_http(BASIC_REQUEST));
        assert!(looks_like_http(BASIC_RESPONSE));
        assert!(looks_like_http(b"GET /a/very/long/path/that/continues"));
        assert!(!looks_like_http(b"GET /short"));
        assert!(!looks_like_http(b"OPTIONS rtsp://10.0.0.1/ RTSP/1.0\r\n"));
        assert!(!looks_like_http(b"SSH-2.0-OpenSSH_8.9\r\n"));
        assert!(!looks_like_http(
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"
        ));
        let factory = HttpFactory;
        let mut flow = meta(5000);
        assert!(factory.select(&flow, C2S, BASIC_REQUEST).is_some());
        assert!(factory.select(&flow, C2S, b"\x00\x01binary").is_none());
        flow.server.set_port(8080);
        assert!(factory.select(&flow, C2S, b"\x00\x01binary").is_some());
        flow.transport = Transport::Udp;
        assert!(factory.select(&flow, C2S, BASIC_REQUEST).is_none());
    }

    #[test]
    fn framing_follows_rfc_9112() {
        let head = |raw: &'static [u8]| Head::parse(raw).unwrap();
        let chunked = head(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
        assert_eq!(response_framing(&chunked, 200, None), Ok(Framing::Chunked));
        assert_eq!(response_framing(&chunked, 304, None), Ok(Framing::Empty));
        let sized = head(b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n");
        assert_eq!(response_framing(&sized, 200, None), Ok(Framing::Length(12)));
        assert_eq!(
            response_framing(&sized, 200, Some(Method::Head)),
            Ok(Framing::Empty)
        );
        assert_eq!(response_framing(&sized, 100, None), Ok(Framing::Empty));
        let bare = head(b"HTTP/1.0 200 OK\r\n\r\n");
        assert_eq!(response_framing(&bare, 200, None), Ok(Framing::UntilClose));
        assert_eq!(request_framing(&bare), Ok(Framing::Empty));
        let conflict = head(b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n");
        assert_eq!(request_framing(&conflict), Err(HttpError::BadContentLength));
        let signed = head(b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n");
        assert_eq!(request_framing(&signed), Err(HttpError::BadContentLength));
        let gzip = head(b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n");
        assert_eq!(request_framing(&gzip), Err(HttpError::BadTransferEncoding));
    }

    #[test]
    fn chunked_bodies_are_decoded_piece_by_piece() {
        let body =
            b"4;name=x\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX: y\r\n\r\nNEXT";
        // Whole, then byte by byte: the same data and the same end.
        for size in [body.len(), 1] {
            let mut state = Chunk::START;
            let mut data = Vec::new();
            let mut pos = 0;
            let mut done = false;
            while pos < body.len() && !done {
                let end = (pos + size).min(body.len());
                let mut piece = &body[pos..end];
                while !piece.is_empty() && !done {
                    let step = chunk_step(&mut state, piece).unwrap();
                    if let Some((s, e)) = step.data {
                        data.extend_from_slice(&piece[s..e]);
                    }
                    done = step.done;
                    pos += step.consumed;
                    piece = &piece[step.consumed..];
                }
            }
            assert!(done);
            assert_eq!(data, b"Wikipedia in\r\n\r\nchunks.");
            assert_eq!(&body[pos..], b"NEXT");
        }
        let mut state = Chunk::START;
        assert_eq!(
            chunk_step(&mut state, b"zz\r\n"),
            Err(HttpError::BadChunkSize { offset: 0 })
        );
        let mut state = Chunk::START;
        assert_eq!(
            chunk_step(&mut state, b"1000000000000000\r\n"),
            Err(HttpError::BadChunkSize { offset: 15 })
        );
        let mut state = Chunk::START;
        assert_eq!(
            chunk_step(&mut state, b"\r\n"),
            Err(HttpError::BadChunkSize { offset: 1 })
        );
    }

    #[test]
    fn basic_auth_capture_gives_software_title_and_finding() {
        let facts = run(&[
            (C2S, StreamChunk::Data(BASIC_REQUEST)),
            (S2C, StreamChunk::Data(BASIC_RESPONSE)),
            (S2C, StreamChunk::Data(BASIC_PAGE_START)),
            (S2C, StreamChunk::Data(&[b' '; 643 - 220])),
            (S2C, StreamChunk::End),
        ]);
        assert_eq!(BASIC_PAGE_START.len(), 220);
        assert_eq!(
            values(&facts, client(), Attribute::UserAgent),
            ["python-requests/2.31.0"]
        );
        assert_eq!(
            values(&facts, server(), Attribute::Software),
            ["SimpleHTTP/0.6 Python/3.10.6"]
        );
        assert_eq!(
            values(&facts, server(), Attribute::Description),
            ["Directory listing for /"]
        );
        assert_eq!(
            values(&facts, server(), Attribute::Finding),
            [Finding::HttpBasicCleartext.as_str()]
        );
        // The Host is an address, not a name; the credentials appear nowhere.
        assert!(values(&facts, server(), Attribute::Hostname).is_empty());
        assert!(facts.iter().all(|f| !f.value.contains("dGVzdDox")));
    }

    #[test]
    fn heads_split_anywhere_give_the_same_facts() {
        let request = b"GET /ISAPI/System/deviceInfo HTTP/1.1\r\nHost: Cam-1.Example.com:8080\r\n\
User-Agent: curl/8.0\r\n\r\n";
        let response = b"HTTP/1.1 401 Unauthorized\r\nServer: App-webs/\r\n\
WWW-Authenticate: Digest realm=\"x\", Basic realm=\"DS\"\r\nContent-Length: 5\r\n\r\nabcde";
        let whole = run(&[
            (C2S, StreamChunk::Data(request)),
            (S2C, StreamChunk::Data(response)),
        ]);
        assert_eq!(
            values(&whole, server(), Attribute::Hostname),
            ["cam-1.example.com"]
        );
        assert_eq!(values(&whole, server(), Attribute::Url), ["/ISAPI/"]);
        assert_eq!(values(&whole, server(), Attribute::Software), ["App-webs/"]);
        assert_eq!(values(&whole, client(), Attribute::UserAgent), ["curl/8.0"]);
        assert_eq!(values(&whole, server(), Attribute::Finding).len(), 1);
        let hostname = whole
            .iter()
            .find(|f| f.attribute == Attribute::Hostname)
            .unwrap();
        assert_eq!(hostname.confidence, ironward_model::HEARSAY_CONFIDENCE);
        for split in [1, 2, 7, 13] {
            let mut chunks = Vec::new();
            chunks.extend(request.chunks(split).map(|c| (C2S, StreamChunk::Data(c))));
            chunks.extend(response.chunks(split).map(|c| (S2C, StreamChunk::Data(c))));
            let facts = run(&chunks);
            assert_eq!(facts, whole, "split every {split} bytes");
        }
    }

    #[test]
    fn pipelined_messages_and_bodies_are_skipped_to_the_next_head() {
        let requests = b"HEAD /a HTTP/1.1\r\nHost: a.example\r\n\r\n\
POST /b HTTP/1.1\r\nHost: b.example\r\nTransfer-Encoding: chunked\r\n\r\n\
3\r\nGET\r\n0\r\n\r\n\r\n\
GET /c HTTP/1.1\r\nHost: c.example\r\nUser-Agent: late/1\r\n\r\n";
        let responses = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nServer: one\r\n\r\n\
HTTP/1.1 100 Continue\r\n\r\n\
HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nServer: two\r\nContent-Type: text/html\r\n\r\n\
7\r\n<title>\r\n8\r\nPage</ti\r\n3\r\ntle\r\n0\r\n\r\n\
HTTP/1.1 200 OK\r\nContent-Length: 3\r\nServer: three\r\n\r\nxyz";
        let facts = run(&[
            (C2S, StreamChunk::Data(requests)),
            (S2C, StreamChunk::Data(responses)),
        ]);
        assert_eq!(
            values(&facts, server(), Attribute::Hostname),
            ["a.example", "b.example", "c.example"]
        );
        assert_eq!(values(&facts, client(), Attribute::UserAgent), ["late/1"]);
        assert_eq!(
            values(&facts, server(), Attribute::Software),
            ["one", "two", "three"]
        );
        assert_eq!(values(&facts, server(), Attribute::Description), ["Page"]);
    }

    #[test]
    fn gaps_end_the_direction_unless_inside_a_sized_body() {
        let response = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nServer: one\r\n\r\n";
        let facts = run(&[
            (S2C, StreamChunk::Data(response)),
            (S2C, StreamChunk::Gap(4)),
            (
                S2C,
                StreamChunk::Data(b"123456HTTP/1.1 200 OK\r\nServer: two\r\n\r\n"),
            ),
        ]);
        assert_eq!(
            values(&facts, server(), Attribute::Software),
            ["one", "two"]
        );
        let facts = run(&[
            (S2C, StreamChunk::Data(response)),
            (S2C, StreamChunk::Gap(40)),
            (
                S2C,
                StreamChunk::Data(b"HTTP/1.1 200 OK\r\nServer: two\r\n\r\n"),
            ),
        ]);
        assert_eq!(values(&facts, server(), Attribute::Software), ["one"]);
        let facts = run(&[
            (
                C2S,
                StreamChunk::Data(b"GET / HTTP/1.1\r\nHost: a.example\r\n"),
            ),
            (C2S, StreamChunk::Gap(3)),
            (
                C2S,
                StreamChunk::Data(b"\r\nGET / HTTP/1.1\r\nHost: b.example\r\n\r\n"),
            ),
        ]);
        assert!(values(&facts, server(), Attribute::Hostname).is_empty());
    }

    #[test]
    fn protocol_switches_tunnels_and_junk_stop_the_dissection() {
        let facts = run(&[
            (
                C2S,
                StreamChunk::Data(b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n"),
            ),
            (
                S2C,
                StreamChunk::Data(
                    b"HTTP/1.1 101 Switching\r\n\r\nHTTP/1.1 200 OK\r\nServer: x\r\n\r\n",
                ),
            ),
            (
                C2S,
                StreamChunk::Data(b"GET / HTTP/1.1\r\nUser-Agent: y\r\n\r\n"),
            ),
        ]);
        assert!(facts.is_empty());
        let facts = run(&[
            (
                C2S,
                StreamChunk::Data(
                    b"CONNECT a:443 HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\nUser-Agent: y\r\n\r\n",
                ),
            ),
            (
                S2C,
                StreamChunk::Data(
                    b"HTTP/1.1 200 OK\r\nServer: proxy\r\n\r\nHTTP/1.1 200 OK\r\nServer: x\r\n\r\n",
                ),
            ),
        ]);
        assert_eq!(values(&facts, server(), Attribute::Software), ["proxy"]);
        assert!(values(&facts, client(), Attribute::UserAgent).is_empty());
        // Not HTTP at all, and a head that never ends.
        assert!(run(&[(S2C, StreamChunk::Data(b"\x16\x03\x01\x00\x05hello\r\n\r\n"))]).is_empty());
        let mut endless = b"GET / HTTP/1.1\r\n".to_vec();
        while endless.len() <= MAX_HEAD {
            endless.extend_from_slice(b"X-Filler: 0123456789\r\n");
        }
        endless.extend_from_slice(b"User-Agent: never\r\n\r\n");
        let chunks: Vec<_> = endless
            .chunks(1000)
            .map(|c| (C2S, StreamChunk::Data(c)))
            .collect();
        assert!(run(&chunks).is_empty());
    }

    #[test]
    fn titles_come_from_successful_pages_only_once_per_flow() {
        let facts = run(&[(
            S2C,
            StreamChunk::Data(
                b"HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: 28\r\n\r\n\
<title>404 Not Found</title>\
HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\n\x1f\x8b\x08\x00\
HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<HTML><TITLE>Web Image Monitor</TITLE>",
            ),
        )]);
        assert_eq!(
            values(&facts, server(), Attribute::Description),
            ["Web Image Monitor"]
        );
    }

    #[test]
    fn ntlm_challenges_and_upnp_descriptions_are_handed_over() {
        // The NTLMSSP CHALLENGE of zeek's smb/smb311.pcap (frame 4), as an HTTP server sends it.
        let challenge = b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: NTLM \
TlRMTVNTUAACAAAABgAGADgAAAA1Aoni2hb58dOJZQMAAAAAAAAAAGQAZAA+AAAACgA5OAAAAA9GAE8ATwACAAYARgBPAE8\
AAQAEAEEARAAEABAAZgBvAG8ALgB0AGUAcwB0AAMAFgBBAEQALgBmAG8AbwAuAHQAZQBzAHQABQAQAGYAbwBvAC4AdABlAHM\
AdAAHAAgAnZwgeRSp1AEAAAAA\r\nContent-Length: 0\r\n\r\n";
        let description = b"HTTP/1.1 200 OK\r\nContent-Type: text/xml; charset=\"utf-8\"\r\n\
Content-Length: 232\r\n\r\n<?xml version=\"1.0\"?>\n<root xmlns=\"urn:schemas-upnp-org:device-1-0\">\
<device><deviceType>urn:schemas-upnp-org:device:MediaRenderer:1</deviceType>\
<manufacturer>Sonos, Inc.</manufacturer><modelName>Sonos One</modelName></device></root>";
        // The description's end is its Content-Length, not the end of the flow.
        let facts = run(&[
            (S2C, StreamChunk::Data(challenge)),
            (S2C, StreamChunk::Data(description)),
            (S2C, StreamChunk::Gap(1000)),
        ]);
        let from = |source: Source| -> Vec<(Attribute, String)> {
            facts
                .iter()
                .filter(|f| f.source == source && f.subject == server())
                .map(|f| (f.attribute, f.value.to_string()))
                .collect()
        };
        let ntlm = from(Source::Ntlmssp);
        assert!(
            ntlm.contains(&(Attribute::Hostname, "AD".to_owned())),
            "{ntlm:?}"
        );
        assert!(
            ntlm.contains(&(Attribute::Domain, "foo.test".to_owned())),
            "{ntlm:?}"
        );
        let upnp = from(Source::Upnp);
        assert!(
            upnp.contains(&(Attribute::Vendor, "Sonos, Inc.".to_owned())),
            "{upnp:?}"
        );
        assert!(
            upnp.contains(&(Attribute::Model, "Sonos One".to_owned())),
            "{upnp:?}"
        );
    }

    #[test]
    fn device_paths_and_host_names() {
        assert_eq!(device_path(b"/axis-cgi/jpg/image.cgi"), Some("/axis-cgi/"));
        assert_eq!(device_path(b"/isapi/Security/userCheck"), Some("/ISAPI/"));
        assert_eq!(
            device_path(b"http://10.0.0.5:80/onvif/device_service"),
            Some("/onvif/")
        );
        assert_eq!(device_path(b"/index.html"), None);
        assert_eq!(device_path(b"http://host"), None);
        let mut buffer = [0u8; 253];
        assert_eq!(host_name(b"Printer.LAN.", &mut buffer), Some("printer.lan"));
        assert_eq!(host_name(b"bro.org:80", &mut buffer), Some("bro.org"));
        assert_eq!(host_name(b"172.24.133.205:8000", &mut buffer), None);
        assert_eq!(host_name(b"[fe80::1]:80", &mut buffer), None);
        assert_eq!(host_name(b"fe80::1", &mut buffer), None);
        assert_eq!(host_name(b"a b", &mut buffer), None);
        assert_eq!(host_name(b"", &mut buffer), None);
        assert!(is_basic(b"Basic realm=\"x\""));
        assert!(is_basic(b"Negotiate, basic realm=x"));
        assert!(!is_basic(b"Basically"));
        assert!(!is_basic(b"Digest realm=\"basic\""));
    }
}
