//! FTP control connections (RFC 959) on TCP 21: the server's greeting (its software banner),
//! the `SYST` answer (its operating system), and each login attempt (`USER`, `PASS`, then `230`
//! or `530`) as an authentication event. FTP itself is a finding: names, passwords and files
//! cross the network in clear text. Passwords are never kept; after a successful `AUTH TLS` the
//! rest of the connection is encrypted and left alone.

use ironward_model::{Attribute, EventCategory, Finding, Source};

use crate::dissector::{Dissector, DissectorFactory, DissectorRegistry};
use crate::observations::Observations;
use crate::session::{Direction, FlowMeta, StreamChunk, Transport};
use crate::text;

/// The FTP control port.
pub const PORT: u16 = 21;

/// Longest line kept; the rest of a longer line is dropped.
pub const MAX_LINE: usize = 512;

/// Longest user name kept for an authentication event, in bytes.
pub const MAX_USER: usize = 64;

/// Splits a byte stream into lines (ending in LF, an optional CR removed), carrying an
/// unfinished line between calls in a buffer of at most `max` bytes: longer lines are cut.
/// Complete lines within one call are handed over in place, without copying.
#[derive(Debug, Clone)]
pub(crate) struct LineReader {
    partial: Vec<u8>,
    max: usize,
}

impl LineReader {
    /// A reader keeping at most `max` bytes of a line.
    pub(crate) fn new(max: usize) -> Self {
        Self {
            partial: Vec::new(),
            max,
        }
    }

    /// Calls `on_line` for every line completed by `input`, in order, until it returns
    /// `false` (the rest of `input` is then dropped). Returns whether reading went on to the end.
    pub(crate) fn feed(&mut self, input: &[u8], mut on_line: impl FnMut(&[u8]) -> bool) -> bool {
        let mut rest = input;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            let piece = &rest[..end];
            rest = &rest[end + 1..];
            let go_on = if self.partial.is_empty() {
                on_line(trim_cr(&piece[..piece.len().min(self.max)]))
            } else {
                let room = self.max.saturating_sub(self.partial.len());
                self.partial
                    .extend_from_slice(&piece[..piece.len().min(room)]);
                let go_on = on_line(trim_cr(&self.partial));
                self.partial.clear();
                go_on
            };
            if !go_on {
                self.partial = Vec::new();
                return false;
            }
        }
        let room = self.max.saturating_sub(self.partial.len());
        self.partial
            .extend_from_slice(&rest[..rest.len().min(room)]);
        true
    }

    /// Forgets an unfinished line (after a gap in the stream).
    pub(crate) fn reset(&mut self) {
        self.partial = Vec::new();
    }
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Why an FTP line could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FtpError {
    /// A reply line does not start with a three-digit code (at `offset`).
    NotAReply {
        /// Offset of the first offending byte.
        offset: usize,
    },
    /// A command verb is not 3 to 8 ASCII letters (the byte at `offset` is not).
    BadVerb {
        /// Offset of the first offending byte.
        offset: usize,
    },
}

impl std::fmt::Display for FtpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotAReply { offset } => write!(f, "not a reply code at offset {offset}"),
            Self::BadVerb { offset } => write!(f, "bad command verb at offset {offset}"),
        }
    }
}

impl std::error::Error for FtpError {}

/// A server reply line: `220 text` (last line) or `220-text` (first line of several).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply<'a> {
    /// The three-digit code.
    pub code: u16,
    /// Whether more lines follow (`-` after the code).
    pub more: bool,
    /// The text after the code and its separator.
    pub text: &'a [u8],
}

/// Reads a reply line.
pub fn parse_reply(line: &[u8]) -> Result<Reply<'_>, FtpError> {
    let mut code = 0u16;
    for offset in 0..3 {
        match line.get(offset) {
            Some(d) if d.is_ascii_digit() && (offset > 0 || (b'1'..=b'5').contains(d)) => {
                code = code * 10 + u16::from(d - b'0');
            }
            _ => return Err(FtpError::NotAReply { offset }),
        }
    }
    let (more, text) = match line.get(3) {
        None => (false, &[][..]),
        Some(b' ') => (false, &line[4..]),
        Some(b'-') => (true, &line[4..]),
        Some(_) => return Err(FtpError::NotAReply { offset: 3 }),
    };
    Ok(Reply { code, more, text })
}

/// A client command line: a verb and its argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Command<'a> {
    /// The verb as sent (`USER`, `user`, ...); compare without case.
    pub verb: &'a [u8],
    /// Everything after the first space (may be empty).
    pub argument: &'a [u8],
}

/// Reads a command line.
pub fn parse_command(line: &[u8]) -> Result<Command<'_>, FtpError> {
    let end = line.iter().position(|&b| b == b' ').unwrap_or(line.len());
    let verb = &line[..end];
    if let Some(offset) = verb.iter().position(|b| !b.is_ascii_alphabetic()) {
        return Err(FtpError::BadVerb { offset });
    }
    if !(3..=8).contains(&verb.len()) {
        return Err(FtpError::BadVerb {
            offset: verb.len().min(8),
        });
    }
    Ok(Command {
        verb,
        argument: line.get(end + 1..).unwrap_or_default(),
    })
}

/// The software a greeting names: the text without the decorations servers put around it —
/// dashes (`220---------- Welcome to Pure-FTPd ----------`), wrapping parentheses
/// (`220 (vsFTPd 3.0.3)`) and a trailing bracketed address (`ProFTPD 1.3.5 Server (Debian)
/// [::ffff:10.0.0.1]`).
pub fn greeting_software(text: &[u8]) -> &[u8] {
    let mut t = text::trim(text);
    let start = t.iter().position(|&b| b != b'-').unwrap_or(t.len());
    t = &t[start..];
    let end = t.iter().rposition(|&b| b != b'-').map_or(0, |p| p + 1);
    t = text::trim(&t[..end]);
    if let Some(open) = t.iter().rposition(|&b| b == b'[') {
        let inside = &t[open + 1..];
        let address = inside.strip_suffix(b"]").is_some_and(|a| {
            !a.is_empty()
                && a.iter()
                    .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        });
        if address {
            t = text::trim(&t[..open]);
        }
    }
    if let Some(inner) = t.strip_prefix(b"(").and_then(|t| t.strip_suffix(b")")) {
        if !inner.contains(&b'(') {
            t = text::trim(inner);
        }
    }
    t
}

/// A user name made printable for an event (control characters replaced, at most
/// [`MAX_USER`] bytes).
fn printable_user(raw: &[u8]) -> String {
    let raw = text::trim(raw);
    let mut user = String::new();
    for c in String::from_utf8_lossy(raw).chars() {
        if user.len() + c.len_utf8() > MAX_USER {
            break;
        }
        user.push(if c.is_control() { '?' } else { c });
    }
    user
}

/// The FTP dissector of one flow.
#[derive(Debug)]
pub struct FtpDissector {
    lines: [LineReader; 2],
    /// The direction the server's replies travel in.
    server_direction: Direction,
    /// The code of a multi-line reply in progress.
    multiline: Option<u16>,
    /// Whether the server greeted (a 220 reply).
    greeted: bool,
    /// The user name of the login attempt in progress.
    user: Option<String>,
    /// Whether a password was sent in the attempt in progress.
    password_sent: bool,
    /// The client asked for TLS (`AUTH TLS`); a 234 answer starts it.
    tls_requested: bool,
    /// Encrypted (or otherwise unreadable) from here on.
    done: bool,
}

impl FtpDissector {
    /// A dissector for a flow whose server is on `server_direction`'s sending side.
    pub fn new(server_direction: Direction) -> Self {
        Self {
            lines: [LineReader::new(MAX_LINE), LineReader::new(MAX_LINE)],
            server_direction,
            multiline: None,
            greeted: false,
            user: None,
            password_sent: false,
            tls_requested: false,
            done: false,
        }
    }

    fn on_command(&mut self, flow: &FlowMeta, line: &[u8], out: &mut Observations) {
        let Ok(command) = parse_command(line) else {
            return;
        };
        let server = flow.sender(self.server_direction);
        if command.verb.eq_ignore_ascii_case(b"USER") {
            self.user = Some(printable_user(command.argument));
            self.password_sent = false;
            // A user name crossing the network in clear text: FTP is in use on the server.
            out.finding(server, Finding::FtpCleartext, Source::Ftp, flow.now);
        } else if command.verb.eq_ignore_ascii_case(b"PASS") {
            // Only the fact that a password was sent is kept, never the password.
            self.password_sent = true;
        } else if command.verb.eq_ignore_ascii_case(b"AUTH") {
            self.tls_requested = true;
        }
    }

    /// A reply line; returns `false` when the rest of the stream is not readable FTP.
    fn on_reply_line(&mut self, flow: &FlowMeta, line: &[u8], out: &mut Observations) -> bool {
        if let Some(code) = self.multiline {
            // Inside a multi-line reply only its final `code ` line matters.
            match parse_reply(line) {
                Ok(reply) if reply.code == code && !reply.more => {
                    self.multiline = None;
                    return self.on_reply(flow, code, out);
                }
                _ => return true,
            }
        }
        let Ok(reply) = parse_reply(line) else {
            return true;
        };
        let server = flow.sender(self.server_direction);
        match reply.code {
            220 if !self.greeted => {
                self.greeted = true;
                let software = greeting_software(reply.text);
                out.fact_bytes(server, Attribute::Software, software, Source::Ftp, flow.now);
            }
            215 => out.fact_bytes(server, Attribute::Os, reply.text, Source::Ftp, flow.now),
            _ => {}
        }
        if reply.more {
            self.multiline = Some(reply.code);
            true
        } else {
            self.on_reply(flow, reply.code, out)
        }
    }

    /// A complete reply.
    fn on_reply(&mut self, flow: &FlowMeta, code: u16, out: &mut Observations) -> bool {
        match code {
            230 | 530 if self.user.is_some() || self.password_sent => {
                let outcome = if code == 230 { "succeeded" } else { "failed" };
                let detail = match self.user.take() {
                    Some(user) => format!("FTP login as {user} {outcome}"),
                    None => format!("FTP login {outcome}"),
                };
                self.password_sent = false;
                let client_direction = self.server_direction.reverse();
                out.event(
                    flow,
                    client_direction,
                    "ftp",
                    EventCategory::Authentication,
                    "login",
                    detail,
                );
            }
            234 if self.tls_requested => {
                self.done = true;
                return false;
            }
            _ => {}
        }
        true
    }

    fn finish(&mut self, flow: &FlowMeta, out: &mut Observations) {
        if self.greeted && !self.done {
            let server = flow.sender(self.server_direction);
            out.finding(server, Finding::FtpCleartext, Source::Ftp, flow.now);
        }
    }
}

impl Dissector for FtpDissector {
    fn protocol(&self) -> &'static str {
        "ftp"
    }

    fn on_stream(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        chunk: StreamChunk<'_>,
        out: &mut Observations,
    ) {
        if self.done {
            return;
        }
        let i = direction.index();
        match chunk {
            StreamChunk::Data(data) => {
                let mut lines = std::mem::replace(&mut self.lines[i], LineReader::new(0));
                if direction == self.server_direction {
                    lines.feed(data, |line| self.on_reply_line(flow, line, out));
                } else {
                    lines.feed(data, |line| {
                        self.on_command(flow, line, out);
                        true
                    });
                }
                self.lines[i] = lines;
            }
            StreamChunk::Gap(_) => {
                // Lines resume after the gap; a reply cut by it is forgotten.
                self.lines[i].reset();
                if direction == self.server_direction {
                    self.multiline = None;
                }
            }
            StreamChunk::End => self.finish(flow, out),
        }
    }

    fn on_end(&mut self, flow: &FlowMeta, out: &mut Observations) {
        self.finish(flow, out);
    }
}

/// Takes TCP flows to port 21.
#[derive(Debug, Default)]
pub struct FtpFactory;

impl DissectorFactory for FtpFactory {
    fn protocol(&self) -> &'static str {
        "ftp"
    }

    fn select(
        &self,
        flow: &FlowMeta,
        _direction: Direction,
        _first_payload: &[u8],
    ) -> Option<Box<dyn Dissector>> {
        if flow.transport != Transport::Tcp {
            return None;
        }
        // When the capture missed the handshake the flow's roles may be reversed: the server
        // is the side on port 21.
        let server_direction = if flow.server.port() == PORT {
            Direction::ServerToClient
        } else if flow.client.port() == PORT {
            Direction::ClientToServer
        } else {
            return None;
        };
        Some(Box::new(FtpDissector::new(server_direction)))
    }
}

/// Adds this module's dissectors to `registry`.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register(Box::new(FtpFactory));
}

#[cfg(test)]
mod tests {
    use super::*;
    use ironward_model::{DeviceKey, Event, Fact, Timestamp};

    const C2S: Direction = Direction::ClientToServer;
    const S2C: Direction = Direction::ServerToClient;

    fn flow(client_port: u16, server_port: u16) -> FlowMeta {
        FlowMeta {
            id: 1,
            transport: Transport::Tcp,
            client: ([141, 142, 220, 235], client_port).into(),
            server: ([199, 233, 217, 249], server_port).into(),
            now: Timestamp(1),
            frame: 1,
        }
    }

    fn run(flow: FlowMeta, chunks: &[(Direction, &[u8])]) -> (Vec<Fact>, Vec<Event>) {
        let mut dissector = FtpFactory.select(&flow, C2S, b"").unwrap();
        let mut out = Observations::default();
        for (direction, data) in chunks {
            dissector.on_stream(&flow, *direction, StreamChunk::Data(data), &mut out);
        }
        dissector.on_end(&flow, &mut out);
        let facts = out.drain_facts().collect();
        let events = out.drain_events().collect();
        (facts, events)
    }

    /// The login of zeek's `ftp/ipv4.pcap` (frames 4 to 17), segment by segment.
    const NETBSD: &[(Direction, &[u8])] = &[
        (S2C, b"220 ftp.NetBSD.org FTP server (NetBSD-ftpd 20100320) ready.\r\n"),
        (C2S, b"USER anonymous\r\n"),
        (S2C, b"331 Guest login ok, type your name as password.\r\n"),
        (C2S, b"PASS test\r\n"),
        (S2C, b"230-\r\n"),
        (S2C, b"    The NetBSD Project FTP Server located in Redwood City, CA, USA\r\n 230 x\r\n"),
        (S2C, b"    such country or on any such list.\r\n230 Guest login ok, access restrictions apply.\r\n"),
        (C2S, b"SYST\r\n"),
        (S2C, b"215 UNIX Type: L8 Version: NetBSD-ftpd 20100320\r\n"),
    ];

    #[test]
    fn lines_are_split_bounded_and_in_place() {
        let mut reader = LineReader::new(8);
        let mut lines = Vec::new();
        assert!(reader.feed(b"ab\r\ncd", |l| {
            lines.push(l.to_vec());
            true
        }));
        assert!(reader.feed(b"e\r\n0123456789abc\nz\n", |l| {
            lines.push(l.to_vec());
            true
        }));
        assert_eq!(lines, [&b"ab"[..], b"cde", b"01234567", b"z"]);
        let mut count = 0;
        assert!(!reader.feed(b"1\n2\n3\n", |_| {
            count += 1;
            count < 2
        }));
        assert_eq!(count, 2);
    }

    #[test]
    fn replies_and_commands_are_typed() {
        assert_eq!(
            parse_reply(b"230-"),
            Ok(Reply {
                code: 230,
                more: true,
                text: b""
            })
        );
        assert_eq!(
            parse_reply(b"221"),
            Ok(Reply {
                code: 221,
                more: false,
                text: b""
            })
        );
        assert_eq!(
            parse_reply(b"    The NetBSD"),
            Err(FtpError::NotAReply { offset: 0 })
        );
        assert_eq!(
            parse_reply(b"2300 x"),
            Err(FtpError::NotAReply { offset: 3 })
        );
        assert_eq!(
            parse_reply(b"620 x"),
            Err(FtpError::NotAReply { offset: 0 })
        );
        assert_eq!(
            parse_command(b"RETR robots.txt"),
            Ok(Command {
                verb: b"RETR",
                argument: b"robots.txt"
            })
        );
        assert_eq!(
            parse_command(b"quit"),
            Ok(Command {
                verb: b"quit",
                argument: b""
            })
        );
        assert_eq!(
            parse_command(b"\x16\x03\x01"),
            Err(FtpError::BadVerb { offset: 0 })
        );
        assert_eq!(parse_command(b"NO"), Err(FtpError::BadVerb { offset: 2 }));
    }

    #[test]
    fn greetings_name_the_software() {
        assert_eq!(greeting_software(b"(vsFTPd 3.0.3)"), b"vsFTPd 3.0.3");
        assert_eq!(
            greeting_software(b"ProFTPD 1.3.5 Server (Debian) [::ffff:10.0.0.1]"),
            b"ProFTPD 1.3.5 Server (Debian)"
        );
        assert_eq!(
            greeting_software(b"--------- Welcome to Pure-FTPd [privsep] [TLS] ----------"),
            b"Welcome to Pure-FTPd [privsep] [TLS]"
        );
        assert_eq!(
            greeting_software(b"ftp.NetBSD.org FTP server (NetBSD-ftpd 20100320) ready."),
            b"ftp.NetBSD.org FTP server (NetBSD-ftpd 20100320) ready."
        );
        assert_eq!(greeting_software(b"(a) (b)"), b"(a) (b)");
        assert_eq!(greeting_software(b"---"), b"");
    }

    #[test]
    fn netbsd_session_gives_banner_os_finding_and_one_login_event() {
        let (facts, events) = run(flow(50003, 21), NETBSD);
        let server = DeviceKey::Ip([199, 233, 217, 249].into());
        let got: Vec<_> = facts
            .iter()
            .map(|f| (f.subject, f.attribute, f.value.to_string()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    server,
                    Attribute::Software,
                    "ftp.NetBSD.org FTP server (NetBSD-ftpd 20100320) ready.".to_owned()
                ),
                (server, Attribute::Finding, "ftp_cleartext".to_owned()),
                (
                    server,
                    Attribute::Os,
                    "UNIX Type: L8 Version: NetBSD-ftpd 20100320".to_owned()
                ),
            ]
        );
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].detail, "FTP login as anonymous succeeded");
        assert_eq!(events[0].category, EventCategory::Authentication);
        assert_eq!(
            events[0].src.ip.unwrap(),
            "141.142.220.235".parse::<std::net::IpAddr>().unwrap()
        );
        assert!(facts.iter().all(|f| !f.value.contains("test")));
        assert!(!events[0].detail.contains("test"));
        // Byte by byte, the same.
        let bytes: Vec<(Direction, Vec<u8>)> = NETBSD
            .iter()
            .flat_map(|(d, data)| data.iter().map(move |b| (*d, vec![*b])))
            .collect();
        let chunks: Vec<(Direction, &[u8])> =
            bytes.iter().map(|(d, b)| (*d, b.as_slice())).collect();
        let (facts_bytewise, events_bytewise) = run(flow(50003, 21), &chunks);
        assert_eq!(facts_bytewise, facts);
        assert_eq!(events_bytewise, events);
    }

    #[test]
    fn failed_logins_reversed_roles_and_tls() {
        let session: &[(Direction, &[u8])] = &[
            (C2S, b"220 (vsFTPd 3.0.3)\r\n"),
            (S2C, b"USER admin\r\n"),
            (C2S, b"331 Please specify the password.\r\n"),
            (S2C, b"PASS hunter2\r\n"),
            (C2S, b"530 Login incorrect.\r\n"),
            (S2C, b"LIST\r\n"),
            (C2S, b"530 Please login with USER and PASS.\r\n"),
            (S2C, b"USER \x1b[31mroot\r\n"),
            (C2S, b"530 Permission denied.\r\n"),
        ];
        // Captured without the handshake: the flow's "client" is the server on port 21.
        let (facts, events) = run(flow(21, 50003), session);
        let server = DeviceKey::Ip([141, 142, 220, 235].into());
        assert!(facts.iter().all(|f| f.subject == server));
        assert_eq!(facts[0].value, "vsFTPd 3.0.3");
        let details: Vec<_> = events.iter().map(|e| e.detail.as_str()).collect();
        assert_eq!(
            details,
            ["FTP login as admin failed", "FTP login as ?[31mroot failed"]
        );
        assert_eq!(
            events[0].src.ip.unwrap(),
            "199.233.217.249".parse::<std::net::IpAddr>().unwrap()
        );
        assert!(!format!("{facts:?}{events:?}").contains("hunter2"));

        let tls: &[(Direction, &[u8])] = &[
            (S2C, b"220 FTP ready\r\n"),
            (C2S, b"AUTH TLS\r\n"),
            (
                S2C,
                b"234 Proceed with negotiation.\r\n\x16\x03\x03 USER x\r\n",
            ),
            (C2S, b"\x16\x03\x01\x02\x00\r\nUSER hidden\r\n"),
            (S2C, b"230 Login successful.\r\n"),
        ];
        let (facts, events) = run(flow(50003, 21), tls);
        assert_eq!(
            facts.len(),
            1,
            "only the banner: no clear-text finding, {facts:?}"
        );
        assert!(events.is_empty());
        assert!(FtpFactory.select(&flow(50003, 2121), C2S, b"").is_none());
    }
}
