//! SIP (RFC 3261): signalling of IP phones, PBXs, voice gateways and door stations, over UDP or
//! TCP port 5060 (5061 is SIP over TLS, left to TLS).
//!
//! What it tells about devices: `User-Agent:` → UserAgent of the sender (a phone's model and
//! firmware, e.g. `Cisco-CP8845/14.1.1`, `Yealink SIP-T46S 66.86.0.15`, `PolycomVVX-VVX_450-UA/
//! 6.4.3.5018`), `Server:` → Software of the sender (a registrar or PBX answering, e.g.
//! `Asterisk PBX 18.9.0`, `Cisco-CUCM14.0`). The raw values are reported; turning a phone's
//! user agent into a model is the classification rules' job.
//!
//! A request forwarded by a proxy keeps its originator's `User-Agent` while being sent by the
//! proxy: a request carrying more than one `Via` has been forwarded, so its `User-Agent` and
//! `Server` are not attributed to the sender. (Back-to-back user agents such as Asterisk or
//! CUCM originate their own messages, with their own headers.)
//!
//! A request with credentials (`Authorization`, `Proxy-Authorization`) and the final response
//! with its `CSeq` make one [`Auth`](ironward_model::EventCategory::Authentication) event.
//!
//! UDP datagrams are single messages; TCP streams are read with the bounded
//! [`MessageStream`](crate::rtsp) shared with RTSP, bodies skipped by `Content-Length` (or its
//! compact form `l`).

use ironward_model::{Attribute, DeviceKey, EventCategory, Source, Timestamp};

use crate::dissector::{Dissector, DissectorFactory, DissectorRegistry};
use crate::observations::Observations;
use crate::rtsp::{auth_outcome, looks_like_http, AuthScheme, MessageStream};
use crate::session::{Direction, FlowMeta, StreamChunk, Transport};
use crate::text::{find, find_ignore_case, starts_with_ignore_case, Head};

/// The SIP port (UDP and TCP).
pub const PORT: u16 = 5060;

/// Most bytes of a first payload searched for the end of its start line.
const START_LINE_LIMIT: usize = 1024;

/// Request methods recognised in a start line (RFC 3261 and its extensions).
pub const METHODS: [&[u8]; 14] = [
    b"INVITE",
    b"ACK",
    b"BYE",
    b"CANCEL",
    b"REGISTER",
    b"OPTIONS",
    b"PRACK",
    b"SUBSCRIBE",
    b"NOTIFY",
    b"PUBLISH",
    b"INFO",
    b"REFER",
    b"MESSAGE",
    b"UPDATE",
];

/// What a SIP message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind<'a> {
    /// A request: `REGISTER sip:pbx.example.com SIP/2.0`.
    Request {
        /// The method.
        method: &'a [u8],
    },
    /// A response: `SIP/2.0 200 OK`.
    Response {
        /// The status code.
        status: u16,
    },
}

/// Why a message head is not SIP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SipError {
    /// The start line is neither `<METHOD> <sip:|sips:|tel: URI> SIP/2.0` nor `SIP/2.0 <code> ...`.
    NotSip,
    /// A status line whose code is not three digits.
    BadStatus,
}

impl std::fmt::Display for SipError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::NotSip => "start line is not a SIP request or status line",
            Self::BadStatus => "SIP status line has no three-digit code",
        })
    }
}

impl std::error::Error for SipError {}

/// The headers of a SIP message that say something about its sender.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Headers<'a> {
    /// `User-Agent`: the user agent's software (phones put model and firmware here).
    pub user_agent: Option<&'a [u8]>,
    /// `Server`: the answering server's software.
    pub server: Option<&'a [u8]>,
    /// How many `Via` entries the message carries (several per header line are counted).
    pub vias: usize,
    /// `CSeq`: the sequence number and method a response answers.
    pub cseq: Option<(u32, &'a [u8])>,
    /// The scheme of the `Authorization` or `Proxy-Authorization` header, when the request
    /// carries credentials.
    pub authorization: Option<AuthScheme>,
}

/// One SIP message head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    /// Request or response.
    pub kind: Kind<'a>,
    /// Its interesting headers.
    pub headers: Headers<'a>,
}

impl Message<'_> {
    /// Whether the sender wrote this message itself rather than forwarding someone else's
    /// request (see the module documentation).
    pub fn originated_by_sender(&self) -> bool {
        match self.kind {
            Kind::Request { .. } => self.headers.vias <= 1,
            Kind::Response { .. } => true,
        }
    }
}

/// Reads a SIP message from a parsed head.
pub fn parse_head<'a>(head: &Head<'a>) -> Result<Message<'a>, SipError> {
    let kind = start_line_kind(head.start_line)?;
    let mut headers = Headers::default();
    for (name, value) in head.headers() {
        if name.eq_ignore_ascii_case(b"User-Agent") {
            headers.user_agent = headers.user_agent.or(Some(value).filter(|v| !v.is_empty()));
        } else if name.eq_ignore_ascii_case(b"Server") {
            headers.server = headers.server.or(Some(value).filter(|v| !v.is_empty()));
        } else if name.eq_ignore_ascii_case(b"Via") || name.eq_ignore_ascii_case(b"v") {
            headers.vias = headers.vias.saturating_add(via_entries(value));
        } else if name.eq_ignore_ascii_case(b"CSeq") {
            headers.cseq = headers.cseq.or_else(|| parse_cseq(value));
        } else if name.eq_ignore_ascii_case(b"Authorization")
            || name.eq_ignore_ascii_case(b"Proxy-Authorization")
        {
            headers.authorization = headers.authorization.or(Some(AuthScheme::of(value)));
        }
    }
    Ok(Message { kind, headers })
}

/// `101 REGISTER` → (101, `REGISTER`).
fn parse_cseq(value: &[u8]) -> Option<(u32, &[u8])> {
    let space = value.iter().position(|&b| b == b' ')?;
    let number = value.get(..space)?;
    if number.is_empty() || number.len() > 10 || !number.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let number = number.iter().try_fold(0u32, |n, d| {
        n.checked_mul(10)?.checked_add(u32::from(d - b'0'))
    })?;
    let method = crate::text::trim(value.get(space + 1..)?);
    (!method.is_empty()).then_some((number, method))
}

/// The number of Via entries in one header value (`SIP/2.0/UDP a;branch=x, SIP/2.0/TCP b`).
fn via_entries(value: &[u8]) -> usize {
    let mut count = 0usize;
    let mut rest = value;
    while let Some(at) = find_ignore_case(rest, b"SIP/2.0/") {
        count += 1;
        rest = rest.get(at + 8..).unwrap_or_default();
    }
    count.max(1)
}

/// Classifies a SIP start line (without its line end).
pub fn start_line_kind(line: &[u8]) -> Result<Kind<'_>, SipError> {
    if let Some(rest) = line.strip_prefix(b"SIP/2.0 ") {
        return match rest {
            [a, b, c, ..]
                if [a, b, c].iter().all(|d| d.is_ascii_digit())
                    && rest.get(3).is_none_or(|&s| s == b' ') =>
            {
                let status =
                    u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0');
                Ok(Kind::Response { status })
            }
            _ => Err(SipError::BadStatus),
        };
    }
    let space = line
        .iter()
        .position(|&b| b == b' ')
        .ok_or(SipError::NotSip)?;
    let method = line.get(..space).unwrap_or_default();
    let uri = line.get(space + 1..).unwrap_or_default();
    let known = METHODS.contains(&method);
    let sip_uri = [&b"sip:"[..], b"sips:", b"tel:"]
        .iter()
        .any(|scheme| starts_with_ignore_case(uri, scheme));
    if known && sip_uri && uri.ends_with(b" SIP/2.0") {
        Ok(Kind::Request { method })
    } else {
        Err(SipError::NotSip)
    }
}

/// Reports what a message says about its sender, `subject`.
pub fn report(message: &Message<'_>, subject: DeviceKey, at: Timestamp, out: &mut Observations) {
    if !message.originated_by_sender() {
        return;
    }
    if let Some(agent) = message.headers.user_agent {
        out.fact_bytes(subject, Attribute::UserAgent, agent, Source::Sip, at);
    }
    if let Some(server) = message.headers.server {
        out.fact_bytes(subject, Attribute::Software, server, Source::Sip, at);
    }
}

/// Whether a first payload starts with a SIP start line (cheap: its first line only).
pub fn looks_like_sip(payload: &[u8]) -> bool {
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

/// Longest method name remembered for matching a response to a request with credentials.
const MAX_METHOD: usize = 16;

/// A request with credentials awaiting its final response.
#[derive(Debug, Clone, Copy)]
struct PendingAuth {
    cseq: u32,
    method: [u8; MAX_METHOD],
    method_len: usize,
    scheme: AuthScheme,
    direction: Direction,
}

impl PendingAuth {
    fn method(&self) -> &[u8] {
        self.method.get(..self.method_len).unwrap_or_default()
    }
}

/// The SIP dissector of one flow (UDP datagrams, or both directions of a TCP stream).
#[derive(Debug, Default)]
pub struct SipDissector {
    streams: [MessageStream; 2],
    pending_auth: Option<PendingAuth>,
}

impl SipDissector {
    fn message(
        pending: &mut Option<PendingAuth>,
        head: &Head<'_>,
        flow: &FlowMeta,
        direction: Direction,
        out: &mut Observations,
    ) {
        if let Ok(message) = parse_head(head) {
            report(&message, flow.sender(direction), flow.now, out);
            follow_auth(pending, &message, flow, direction, out);
        }
    }
}

/// Follows authentication attempts: a request with credentials (a REGISTER answering a
/// challenge, typically) and the final response with the same `CSeq`, reported as one
/// [`Auth`](EventCategory::Authentication) event from the requester (`SIP REGISTER Digest authentication
/// failed`: repeated failures are how SIP scanners guessing passwords show).
fn follow_auth(
    pending: &mut Option<PendingAuth>,
    message: &Message<'_>,
    flow: &FlowMeta,
    direction: Direction,
    out: &mut Observations,
) {
    match message.kind {
        Kind::Request { .. } => {
            let (Some(scheme), Some((cseq, method))) =
                (message.headers.authorization, message.headers.cseq)
            else {
                return;
            };
            if !message.originated_by_sender() || method.len() > MAX_METHOD {
                return;
            }
            let mut copy = [0u8; MAX_METHOD];
            if let Some(dst) = copy.get_mut(..method.len()) {
                dst.copy_from_slice(method);
            }
            *pending = Some(PendingAuth {
                cseq,
                method: copy,
                method_len: method.len(),
                scheme,
                direction,
            });
        }
        Kind::Response { status } => {
            let (Some(attempt), Some((cseq, method))) = (*pending, message.headers.cseq) else {
                return;
            };
            if status < 200
                || attempt.direction != direction.reverse()
                || attempt.cseq != cseq
                || !attempt.method().eq_ignore_ascii_case(method)
            {
                return;
            }
            *pending = None;
            let Some(accepted) = auth_outcome(status) else {
                return;
            };
            let scheme = match attempt.scheme {
                AuthScheme::Basic => " Basic",
                AuthScheme::Digest => " Digest",
                AuthScheme::Other => "",
            };
            let outcome = if accepted { "succeeded" } else { "failed" };
            let detail = format!(
                "SIP {}{scheme} authentication {outcome}",
                String::from_utf8_lossy(attempt.method())
            );
            out.event(
                flow,
                attempt.direction,
                "sip",
                EventCategory::Authentication,
                "login",
                detail,
            );
        }
    }
}

impl Dissector for SipDissector {
    fn protocol(&self) -> &'static str {
        "sip"
    }

    fn on_datagram(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        payload: &[u8],
        out: &mut Observations,
    ) {
        // Keep-alives (CRLF, or nothing) and messages without a head end are skipped.
        if let Ok(head) = Head::parse(payload) {
            Self::message(&mut self.pending_auth, &head, flow, direction, out);
        }
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
        stream.chunk(chunk, true, |head| {
            // A head that is not SIP means the stream is something else: stop.
            let is_sip = start_line_kind(head.start_line).is_ok();
            if is_sip {
                Self::message(pending_auth, head, flow, direction, out);
            }
            is_sip
        });
    }
}

/// Takes UDP and TCP flows to or from port 5060 (unless they start with HTTP), and flows on any
/// port whose first payload is an exact SIP start line.
#[derive(Debug, Default)]
pub struct SipFactory;

impl DissectorFactory for SipFactory {
    fn protocol(&self) -> &'static str {
        "sip"
    }

    fn select(
        &self,
        flow: &FlowMeta,
        _direction: Direction,
        first_payload: &[u8],
    ) -> Option<Box<dyn Dissector>> {
        if !matches!(flow.transport, Transport::Udp | Transport::Tcp) {
            return None;
        }
        let by_port = (flow.server.port() == PORT || flow.client.port() == PORT)
            && !looks_like_http(first_payload);
        (by_port || looks_like_sip(first_payload))
            .then(|| Box::new(SipDissector::default()) as Box<dyn Dissector>)
    }
}

/// Adds the SIP dissector to `registry`.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register(Box::new(SipFactory));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(transport: Transport, client: &str, server: &str) -> FlowMeta {
        FlowMeta {
            id: 1,
            transport,
            client: client.parse().unwrap(),
            server: server.parse().unwrap(),
            now: Timestamp(9),
            frame: 1,
        }
    }

    fn facts(out: &mut Observations) -> Vec<(DeviceKey, Attribute, String)> {
        out.drain_facts()
            .map(|f| {
                assert_eq!(f.source, Source::Sip);
                (f.subject, f.attribute, f.value.into_owned())
            })
            .collect()
    }

    /// A Cisco 8845 registering with CUCM over UDP, and the registrar's answer.
    const REGISTER: &[u8] = b"REGISTER sip:10.10.1.5 SIP/2.0\r\n\
Via: SIP/2.0/UDP 10.10.20.31:5060;branch=z9hG4bK2d51b7a1\r\n\
From: <sip:2001@10.10.1.5>;tag=00cc3a5e0f4b0002a4e3b8f1-6a1c2b3d\r\n\
To: <sip:2001@10.10.1.5>\r\n\
Call-ID: 00cc3a5e-0f4b0002-5b6c7d8e-1a2b3c4d@10.10.20.31\r\n\
Max-Forwards: 70\r\n\
Date: Tue, 05 Mar 2024 10:12:44 GMT\r\n\
CSeq: 101 REGISTER\r\n\
User-Agent: Cisco-CP8845/14.1.1\r\n\
Contact: <sip:0a1b2c3d-4e5f-6789-abcd-ef0123456789@10.10.20.31:5060;transport=udp>;+sip.instance=\"<urn:uuid:00000000-0000-0000-0000-00cc3a5e0f4b>\";+u.sip!devicename.ccm.cisco.com=\"SEP00CC3A5E0F4B\";+u.sip!model.ccm.cisco.com=\"36670\"\r\n\
Supported: replaces,join,sdp-anat,norefersub,resource-priority,extended-refer,X-cisco-callinfo,X-cisco-serviceuri,X-cisco-escapecodes,X-cisco-service-control,X-cisco-srtp-fallback,X-cisco-monrec,X-cisco-config,X-cisco-sis-10.0.0,X-cisco-xsi-8.5.1\r\n\
Reason: SIP;cause=200;text=\"cisco-alarm:25 Name=SEP00CC3A5E0F4B\"\r\n\
Expires: 3600\r\n\
Content-Length: 0\r\n\
\r\n";

    const OK: &[u8] = b"SIP/2.0 200 OK\r\n\
Via: SIP/2.0/UDP 10.10.20.31:5060;branch=z9hG4bK2d51b7a1\r\n\
From: <sip:2001@10.10.1.5>;tag=00cc3a5e0f4b0002a4e3b8f1-6a1c2b3d\r\n\
To: <sip:2001@10.10.1.5>;tag=1483720922\r\n\
Date: Tue, 05 Mar 2024 10:12:44 GMT\r\n\
Call-ID: 00cc3a5e-0f4b0002-5b6c7d8e-1a2b3c4d@10.10.20.31\r\n\
Server: Cisco-CUCM14.0\r\n\
CSeq: 101 REGISTER\r\n\
Expires: 120\r\n\
Contact: <sip:0a1b2c3d-4e5f-6789-abcd-ef0123456789@10.10.20.31:5060;transport=udp>;expires=120\r\n\
Content-Length: 0\r\n\
\r\n";

    #[test]
    fn phone_and_registrar_over_udp() {
        let flow = flow(Transport::Udp, "10.10.20.31:5060", "10.10.1.5:5060");
        let mut dissector = SipFactory
            .select(&flow, Direction::ClientToServer, REGISTER)
            .expect("SIP flow");
        let mut out = Observations::default();
        dissector.on_datagram(&flow, Direction::ClientToServer, REGISTER, &mut out);
        dissector.on_datagram(&flow, Direction::ServerToClient, OK, &mut out);
        dissector.on_datagram(&flow, Direction::ClientToServer, b"\r\n\r\n", &mut out);
        assert_eq!(
            facts(&mut out),
            [
                (
                    flow.client_device(),
                    Attribute::UserAgent,
                    "Cisco-CP8845/14.1.1".to_owned()
                ),
                (
                    flow.server_device(),
                    Attribute::Software,
                    "Cisco-CUCM14.0".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn registration_attempts_are_events() {
        let flow = flow(Transport::Udp, "10.10.20.31:5060", "10.10.1.5:5060");
        let mut dissector = SipDissector::default();
        let mut out = Observations::default();
        let register = |cseq: u32| {
            format!(
                "REGISTER sip:10.10.1.5 SIP/2.0\r\nVia: SIP/2.0/UDP 10.10.20.31:5060;branch=z9hG4bK{cseq}\r\nCSeq: {cseq} REGISTER\r\nUser-Agent: friendly-scanner\r\nAuthorization: Digest username=\"100\", realm=\"asterisk\", nonce=\"1a2b\", uri=\"sip:10.10.1.5\", response=\"0123456789abcdef0123456789abcdef\", algorithm=MD5\r\nContent-Length: 0\r\n\r\n"
            )
        };
        let answer = |status: &str, cseq: u32| {
            format!("SIP/2.0 {status}\r\nVia: SIP/2.0/UDP 10.10.20.31:5060;branch=z9hG4bK{cseq}\r\nCSeq: {cseq} REGISTER\r\nServer: Asterisk PBX 18.9.0\r\nContent-Length: 0\r\n\r\n")
        };
        let mut send = |direction, text: String| {
            dissector.on_datagram(&flow, direction, text.as_bytes(), &mut out);
        };
        send(Direction::ClientToServer, register(1));
        send(Direction::ServerToClient, answer("100 Trying", 1));
        send(Direction::ServerToClient, answer("403 Forbidden", 1));
        send(Direction::ClientToServer, register(2));
        // An answer to another transaction does not conclude the attempt.
        send(Direction::ServerToClient, answer("200 OK", 9));
        send(Direction::ServerToClient, answer("200 OK", 2));
        // A retransmitted answer is not a second attempt.
        send(Direction::ServerToClient, answer("200 OK", 2));
        let events: Vec<_> = out.drain_events().collect();
        let details: Vec<_> = events.iter().map(|e| e.detail.as_str()).collect();
        assert_eq!(
            details,
            [
                "SIP REGISTER Digest authentication failed",
                "SIP REGISTER Digest authentication succeeded"
            ]
        );
        assert!(events
            .iter()
            .all(|e| e.category == EventCategory::Authentication
                && e.src.ip == Some(flow.client.ip())
                && e.dst.ip == Some(flow.server.ip())));
        assert_eq!(parse_cseq(b"101 REGISTER"), Some((101, &b"REGISTER"[..])));
        assert_eq!(parse_cseq(b"99999999999 REGISTER"), None);
        assert_eq!(parse_cseq(b"1"), None);
        assert_eq!(parse_cseq(b"x INVITE"), None);
    }

    #[test]
    fn forwarded_requests_are_not_the_senders() {
        let flow = flow(Transport::Udp, "10.0.0.2:5060", "10.0.0.9:5060");
        let invite = b"INVITE sip:300@10.0.0.9 SIP/2.0\r\n\
Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK-proxy, SIP/2.0/UDP 10.0.0.40:5062;branch=z9hG4bK-phone\r\n\
From: <sip:200@example.com>;tag=1\r\nTo: <sip:300@example.com>\r\nCall-ID: a@b\r\nCSeq: 1 INVITE\r\n\
User-Agent: Yealink SIP-T46S 66.86.0.15\r\n\
Content-Length: 0\r\n\r\n";
        let mut out = Observations::default();
        let mut dissector = SipDissector::default();
        dissector.on_datagram(&flow, Direction::ClientToServer, invite, &mut out);
        assert!(facts(&mut out).is_empty());
        let message = parse_head(&Head::parse(invite).unwrap()).unwrap();
        assert_eq!(message.headers.vias, 2);
        assert!(!message.originated_by_sender());
    }

    #[test]
    fn tcp_stream_with_bodies_and_compact_headers() {
        let flow = flow(Transport::Tcp, "192.168.5.20:49152", "192.168.5.1:5060");
        let sdp = b"v=0\r\no=- 1 1 IN IP4 192.168.5.20\r\ns=-\r\nc=IN IP4 192.168.5.20\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
        let mut client = format!(
            "INVITE sip:100@192.168.5.1 SIP/2.0\r\nv: SIP/2.0/TCP 192.168.5.20:49152;branch=z9hG4bK1\r\nf: <sip:201@192.168.5.1>;tag=a\r\nt: <sip:100@192.168.5.1>\r\ni: call1\r\nCSeq: 1 INVITE\r\nUser-Agent: PolycomVVX-VVX_450-UA/6.4.3.5018\r\nc: application/sdp\r\nl: {}\r\n\r\n",
            sdp.len()
        )
        .into_bytes();
        client.extend_from_slice(sdp);
        client.extend_from_slice(b"\r\n\r\n");
        client.extend_from_slice(b"ACK sip:100@192.168.5.1 SIP/2.0\r\nVia: SIP/2.0/TCP 192.168.5.20:49152;branch=z9hG4bK2\r\nCSeq: 1 ACK\r\nUser-Agent: PolycomVVX-VVX_450-UA/6.4.3.5018\r\nContent-Length: 0\r\n\r\n");
        let server = b"SIP/2.0 100 Trying\r\nVia: SIP/2.0/TCP 192.168.5.20:49152;branch=z9hG4bK1\r\nServer: Asterisk PBX 18.9.0\r\nContent-Length: 0\r\n\r\n";
        for size in [1, 5, 33, 4096] {
            let mut dissector = SipFactory
                .select(&flow, Direction::ClientToServer, &client)
                .expect("SIP flow");
            let mut out = Observations::default();
            for piece in client.chunks(size) {
                dissector.on_stream(
                    &flow,
                    Direction::ClientToServer,
                    StreamChunk::Data(piece),
                    &mut out,
                );
            }
            for piece in server.chunks(size) {
                dissector.on_stream(
                    &flow,
                    Direction::ServerToClient,
                    StreamChunk::Data(piece),
                    &mut out,
                );
            }
            assert_eq!(
                facts(&mut out),
                [
                    (
                        flow.client_device(),
                        Attribute::UserAgent,
                        "PolycomVVX-VVX_450-UA/6.4.3.5018".to_owned()
                    ),
                    (
                        flow.server_device(),
                        Attribute::Software,
                        "Asterisk PBX 18.9.0".to_owned()
                    ),
                ],
                "chunks of {size}"
            );
        }
    }

    #[test]
    fn start_lines_and_factory() {
        assert_eq!(
            start_line_kind(b"OPTIONS sip:pbx.example.com SIP/2.0"),
            Ok(Kind::Request { method: b"OPTIONS" })
        );
        assert_eq!(
            start_line_kind(b"SIP/2.0 486 Busy Here"),
            Ok(Kind::Response { status: 486 })
        );
        assert_eq!(
            start_line_kind(b"SIP/2.0 48 Busy"),
            Err(SipError::BadStatus)
        );
        assert_eq!(start_line_kind(b"NOTIFY * HTTP/1.1"), Err(SipError::NotSip));
        assert_eq!(
            start_line_kind(b"GET sip:x HTTP/1.1"),
            Err(SipError::NotSip)
        );
        assert_eq!(start_line_kind(b"FOO sip:x SIP/2.0"), Err(SipError::NotSip));
        assert_eq!(start_line_kind(b""), Err(SipError::NotSip));
        // SSDP's NOTIFY and HTTP on other ports are never taken; SIP on other ports is.
        let other = flow(Transport::Udp, "192.168.1.20:1900", "239.255.255.250:1900");
        let ssdp = b"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n\r\n";
        assert!(SipFactory
            .select(&other, Direction::ClientToServer, ssdp)
            .is_none());
        let web = flow(Transport::Tcp, "192.168.1.20:40000", "192.168.1.1:80");
        assert!(SipFactory
            .select(
                &web,
                Direction::ClientToServer,
                b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
            )
            .is_none());
        let alt = flow(Transport::Udp, "192.168.1.20:5080", "192.168.1.1:5080");
        assert!(SipFactory
            .select(&alt, Direction::ClientToServer, REGISTER)
            .is_some());
        assert!(SipFactory
            .select(&alt, Direction::ClientToServer, b"SIP/2.0 200 OK")
            .is_none());
        // Port 5060 is taken whatever comes first (a CRLF keep-alive).
        let port = flow(Transport::Udp, "192.168.1.20:5060", "192.168.1.1:5060");
        assert!(SipFactory
            .select(&port, Direction::ClientToServer, b"\r\n\r\n")
            .is_some());
        assert_eq!(via_entries(b"garbage"), 1);
    }
}
