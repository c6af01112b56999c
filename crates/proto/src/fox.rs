//! Niagara Fox (Tridium Niagara AX/N4 stations and Workbench) over TCP: identification from the
//! text handshake.
//!
//! A Fox session opens with text messages: `fox a <n> -1 fox hello`, a `{`, one `key=type:value`
//! line per field and a closing `};;`. Types are `s` (string), `i` (integer), `b` (blob) and
//! `o` (object); blob and object values carry their length (`b:44[<44 bytes>]`,
//! `o:bog 61[<61 bytes>]`) and may hold any byte, newlines included, so they are skipped by that
//! length. Recognised on TCP ports 1911 and 4911 and, on any port, by a first message starting
//! `fox a `. (Fox over TLS on 4911 is taken by the TLS dissector first.)
//!
//! Facts about the sender of a `hello`: `station.name` and `hostName` (unless it is just an IP
//! address) → Hostname; `app.name` + `app.version` → Software (`Station 3.5.41.1`); `os.name` +
//! `os.version` → Os (`QNX 6.3.2`); `brandId` → Vendor (`vykon`, Tridium's brand); the server
//! gets Service `fox`. Events: the client's hello → Discovery `hello` (detail: the client's
//! application); the server's `challenge` → Authentication `challenge` (detail: the method,
//! e.g. `digest-md5`; the nonce is never kept).
//!
//! Bounds: a message is read whole up to [`MAX_MESSAGE`] bytes, at most [`MAX_FIELDS`] fields
//! per message, and at most [`MAX_MESSAGES`] messages per direction (the session that follows
//! the handshake is not read).

use ironward_model::{Attribute, EventCategory, Source};

use crate::framing::{self, Framed, Side};
use crate::value::ValueBuf;
use crate::{
    Direction, Dissector, DissectorFactory, DissectorRegistry, FlowMeta, Observations, StreamChunk,
    Transport,
};

/// Fox's registered TCP port.
pub const PORT: u16 = 1911;

/// Fox over TLS (seen here only when the TLS dissector did not take the flow).
pub const TLS_PORT: u16 = 4911;

/// Largest handshake message read whole.
pub const MAX_MESSAGE: usize = 8 * 1024;

/// Most fields read from one message.
pub const MAX_FIELDS: usize = 64;

/// Text messages read per direction before the dissector stops looking.
pub const MAX_MESSAGES: u32 = 4;

/// The start of every Fox text message.
const PREFIX: &[u8] = b"fox a ";

/// The end of every Fox text message's body.
const TERMINATOR: &[u8] = b"};;";

/// Why a Fox message could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoxError {
    /// The input ends inside `field`, which starts at `offset` (more bytes may complete it).
    Incomplete {
        /// The part that is cut.
        field: &'static str,
        /// Where it starts.
        offset: usize,
    },
    /// The bytes at `offset` are not what a Fox message has there (`field`).
    Malformed {
        /// The part that is wrong.
        field: &'static str,
        /// Where it starts.
        offset: usize,
    },
}

impl std::fmt::Display for FoxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Incomplete { field, offset } => {
                write!(f, "Fox message incomplete in {field} (offset {offset})")
            }
            Self::Malformed { field, offset } => {
                write!(f, "Fox message malformed at {field} (offset {offset})")
            }
        }
    }
}

impl std::error::Error for FoxError {}

/// One Fox text message: its header line and its body (the fields between `{` and `};;`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    /// The command: the header line's last word (`hello`, `challenge`, ...).
    pub command: &'a [u8],
    /// The field lines (between the opening `{` line and the `};;`).
    pub body: &'a [u8],
    /// Length of the whole message, its trailing newline included.
    pub len: usize,
}

impl<'a> Message<'a> {
    /// Reads the message at the start of `input`.
    pub fn parse(input: &'a [u8]) -> Result<Self, FoxError> {
        // A line end left over from the previous message (its `};;` came in an earlier chunk).
        let lead = input
            .iter()
            .take_while(|&&b| b == b'\r' || b == b'\n')
            .count();
        let mut message = Self::parse_at_start(&input[lead..])?;
        message.len += lead;
        Ok(message)
    }

    fn parse_at_start(input: &'a [u8]) -> Result<Self, FoxError> {
        if input.len() < PREFIX.len() {
            return if PREFIX.starts_with(input) {
                Err(FoxError::Incomplete {
                    field: "header",
                    offset: 0,
                })
            } else {
                Err(FoxError::Malformed {
                    field: "header",
                    offset: 0,
                })
            };
        }
        if !input.starts_with(PREFIX) {
            return Err(FoxError::Malformed {
                field: "header",
                offset: 0,
            });
        }
        let header_end = line_end(input, 0).ok_or(FoxError::Incomplete {
            field: "header",
            offset: 0,
        })?;
        let header = trim_cr(&input[..header_end]);
        let command = header.rsplit(|&b| b == b' ').next().unwrap_or_default();
        let open = header_end + 1;
        let open_end = line_end(input, open).ok_or(FoxError::Incomplete {
            field: "opening brace",
            offset: open,
        })?;
        if trim_cr(&input[open..open_end]) != b"{" {
            return Err(FoxError::Malformed {
                field: "opening brace",
                offset: open,
            });
        }
        let body_start = open_end + 1;
        let mut at = body_start;
        let mut fields = 0;
        loop {
            if input.get(at..at + TERMINATOR.len()) == Some(TERMINATOR) {
                let body = &input[body_start..at];
                let mut len = at + TERMINATOR.len();
                match input.get(len) {
                    Some(b'\r') if input.get(len + 1) == Some(&b'\n') => len += 2,
                    Some(b'\n') => len += 1,
                    _ => {}
                }
                return Ok(Self { command, body, len });
            }
            if at >= input.len() || TERMINATOR.starts_with(&input[at..]) {
                return Err(FoxError::Incomplete {
                    field: "fields",
                    offset: at,
                });
            }
            fields += 1;
            if fields > MAX_FIELDS * 4 {
                return Err(FoxError::Malformed {
                    field: "fields",
                    offset: at,
                });
            }
            at = field_end(input, at)?;
        }
    }

    /// The message's fields, `(key, type, value)`; blob and object values are the bytes inside
    /// their brackets. Stops after [`MAX_FIELDS`].
    pub fn fields(&self) -> Fields<'a> {
        Fields {
            body: self.body,
            at: 0,
            count: 0,
        }
    }

    /// The string value of field `key`, if the message has it.
    pub fn get(&self, key: &[u8]) -> Option<&'a [u8]> {
        self.fields()
            .find(|field| field.key == key)
            .map(|field| field.value)
    }
}

/// One `key=type:value` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field<'a> {
    /// The key (`hostName`, `app.version`, ...).
    pub key: &'a [u8],
    /// The type letter (`s`, `i`, `b`, `o`, ...).
    pub kind: u8,
    /// The value (for `b` and `o`, the bytes inside the brackets).
    pub value: &'a [u8],
}

/// The fields of a message body, in order.
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    body: &'a [u8],
    at: usize,
    count: usize,
}

impl<'a> Iterator for Fields<'a> {
    type Item = Field<'a>;

    fn next(&mut self) -> Option<Field<'a>> {
        while self.at < self.body.len() && self.count < MAX_FIELDS {
            self.count += 1;
            let start = self.at;
            let end = field_end(self.body, start).ok()?;
            self.at = end;
            let line = trim_cr(
                self.body
                    .get(start..end)?
                    .strip_suffix(b"\n")
                    .unwrap_or(self.body.get(start..end)?),
            );
            let eq = line.iter().position(|&b| b == b'=')?;
            let key = &line[..eq];
            let rest = &line[eq + 1..];
            let (kind, value) = match rest {
                [kind, b':', value @ ..] => (*kind, value),
                _ => continue,
            };
            let value = match kind {
                b'b' | b'o' => {
                    let open = value.iter().position(|&b| b == b'[').unwrap_or(0);
                    let inner = value.get(open + 1..).unwrap_or_default();
                    inner.strip_suffix(b"]").unwrap_or(inner)
                }
                _ => value,
            };
            return Some(Field { key, kind, value });
        }
        None
    }
}

/// The index of the newline ending the line that starts at `from`.
fn line_end(input: &[u8], from: usize) -> Option<usize> {
    input
        .get(from..)?
        .iter()
        .position(|&b| b == b'\n')
        .map(|i| from + i)
}

/// A line without its trailing carriage return.
fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Where the field line starting at `at` ends (after its newline): a blob or object value
/// (`b:` / `o:` followed by `<n>[`) is passed over by its length.
fn field_end(input: &[u8], at: usize) -> Result<usize, FoxError> {
    let incomplete = FoxError::Incomplete {
        field: "field",
        offset: at,
    };
    let end = line_end(input, at).ok_or(incomplete)?;
    let line = &input[at..end];
    let sized =
        line.iter()
            .position(|&b| b == b'=')
            .and_then(|eq| match line.get(eq + 1..eq + 3) {
                Some([b'b' | b'o', b':']) => Some(eq + 3),
                _ => None,
            });
    let Some(value_at) = sized else {
        return Ok(end + 1);
    };
    let Some(open) = line[value_at..].iter().position(|&b| b == b'[') else {
        return Ok(end + 1);
    };
    let open = value_at + open;
    let digits = line[value_at..open]
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let Some(len) = std::str::from_utf8(&line[open - digits..open])
        .ok()
        .and_then(|d| d.parse::<usize>().ok())
    else {
        return Err(FoxError::Malformed {
            field: "value length",
            offset: at + open,
        });
    };
    if len > MAX_MESSAGE {
        return Err(FoxError::Malformed {
            field: "value length",
            offset: at + open,
        });
    }
    let close = at + open + 1 + len;
    match input.get(close) {
        None => Err(incomplete),
        Some(b']') => {
            let end = line_end(input, close).ok_or(incomplete)?;
            Ok(end + 1)
        }
        Some(_) => Err(FoxError::Malformed {
            field: "value end",
            offset: close,
        }),
    }
}

/// Whether `payload` starts like a Fox text message.
pub fn looks_like_fox(payload: &[u8]) -> bool {
    payload.starts_with(PREFIX)
}

/// Adds the Fox dissector to `registry`.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register(Box::new(FoxFactory));
}

/// Takes TCP flows to ports 1911 and 4911 and flows that open with a Fox message.
#[derive(Debug, Clone, Copy, Default)]
pub struct FoxFactory;

impl DissectorFactory for FoxFactory {
    fn protocol(&self) -> &'static str {
        "fox"
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
        (port == PORT || port == TLS_PORT || looks_like_fox(first_payload))
            .then(|| Box::<FoxDissector>::default() as Box<dyn Dissector>)
    }
}

/// Per-flow Fox state.
#[derive(Debug, Default)]
pub struct FoxDissector {
    sides: [Side; 2],
}

impl Framed for FoxDissector {
    fn sides(&mut self) -> &mut [Side; 2] {
        &mut self.sides
    }
}

impl FoxDissector {
    /// Reads the whole messages in `view`; returns the bytes used.
    fn messages(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        view: &[u8],
        out: &mut Observations,
    ) -> usize {
        let mut at = 0;
        while at < view.len() {
            let side = &mut self.sides[direction.index()];
            if side.done {
                return view.len();
            }
            let message = match Message::parse(&view[at..]) {
                Ok(message) => message,
                Err(FoxError::Incomplete { .. }) => return at,
                Err(FoxError::Malformed { .. }) => {
                    // Binary session traffic (or not Fox): the handshake is over.
                    side.done = true;
                    return view.len();
                }
            };
            side.messages += 1;
            if side.messages >= MAX_MESSAGES {
                side.done = true;
            }
            at += message.len;
            on_message(flow, direction, &message, out);
        }
        at
    }
}

/// The facts and events of one message.
fn on_message(
    flow: &FlowMeta,
    direction: Direction,
    message: &Message<'_>,
    out: &mut Observations,
) {
    let (sender, now) = (flow.sender(direction), flow.now);
    match message.command {
        b"hello" => {
            let mut station = None;
            let mut host = None;
            let (mut app, mut app_version) = (None, None);
            let (mut os, mut os_version) = (None, None);
            let mut brand = None;
            for field in message.fields() {
                let slot = match field.key {
                    b"station.name" => &mut station,
                    b"hostName" => &mut host,
                    b"app.name" => &mut app,
                    b"app.version" => &mut app_version,
                    b"os.name" => &mut os,
                    b"os.version" => &mut os_version,
                    b"brandId" => &mut brand,
                    _ => continue,
                };
                *slot = Some(field.value);
            }
            if let Some(name) = station {
                out.fact_bytes(sender, Attribute::Hostname, name, Source::Fox, now);
            }
            if let Some(name) = host.filter(|h| !is_ip_address(h)) {
                out.fact_bytes(sender, Attribute::Hostname, name, Source::Fox, now);
            }
            let software = joined(app, app_version);
            out.fact_bytes(
                sender,
                Attribute::Software,
                software.as_bytes(),
                Source::Fox,
                now,
            );
            let system = joined(os, os_version);
            out.fact_bytes(sender, Attribute::Os, system.as_bytes(), Source::Fox, now);
            if let Some(brand) = brand {
                out.fact_bytes(sender, Attribute::Vendor, brand, Source::Fox, now);
            }
            out.fact(
                flow.server_device(),
                Attribute::Service,
                "fox",
                Source::Fox,
                now,
            );
            if direction == Direction::ClientToServer {
                out.event(
                    flow,
                    direction,
                    "fox",
                    EventCategory::Discovery,
                    "hello",
                    software.as_str(),
                );
            }
        }
        b"challenge" if direction == Direction::ServerToClient => {
            let method = message.get(b"method").unwrap_or_default();
            let mut detail = ValueBuf::<64>::new();
            detail.push_bytes(method);
            out.event(
                flow,
                Direction::ClientToServer,
                "fox",
                EventCategory::Authentication,
                "challenge",
                detail.as_str(),
            );
        }
        _ => {}
    }
}

/// `name version` (either may be missing), on the stack.
fn joined(name: Option<&[u8]>, version: Option<&[u8]>) -> ValueBuf<128> {
    let mut buf = ValueBuf::new();
    for part in [name, version].into_iter().flatten() {
        if !buf.is_empty() {
            buf.push_bytes(b" ");
        }
        buf.push_bytes(part);
    }
    buf
}

/// Whether a host name is only a dotted IPv4 or an IPv6 address (no name to learn).
fn is_ip_address(value: &[u8]) -> bool {
    std::str::from_utf8(value)
        .ok()
        .is_some_and(|text| text.trim().parse::<std::net::IpAddr>().is_ok())
}

impl Dissector for FoxDissector {
    fn protocol(&self) -> &'static str {
        "fox"
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

#[cfg(test)]
mod tests {
    use super::*;
    use ironward_model::Timestamp;

    const CLIENT_HELLO: &[u8] = b"fox a 1 -1 fox hello\n{\nfox.version=s:1.0\nid=i:1\nhostName=s:xpvm-0omdc01xmy\nhostAddress=s:192.168.1.125\napp.name=s:Workbench\napp.version=s:3.7.44\nvm.name=s:Java HotSpot(TM) Server VM\nvm.version=s:20.4-b02\nos.name=s:Windows XP\nos.version=s:5.1\nlang=s:en\nbrandId=s:vykon\n};;\n";
    const SERVER_HELLO: &[u8] = b"fox a 0 -1 fox hello\n{\nfox.version=s:1.0\nid=i:2\nhostName=s:192.168.2.15\nhostAddress=s:192.168.2.15\napp.name=s:Station\napp.version=s:3.5.41.1\nos.name=s:QNX\nos.version=s:6.3.2\nstation.name=s:Legion_HQ_V4\nbrandId=s:vykon\nsysInfo=o:bog 61[<bog version=\"1.0\">\n<p m=\"b=baja\" t=\"b:Facets\" v=\"\"/>\n</bog>\n]\n};;\n";
    const CHALLENGE: &[u8] =
        b"fox a 1 -1 fox challenge\n{\nmethod=s:digest-md5\nnonce=b:5[\n};;\x00]\n};;\n";

    fn flow() -> FlowMeta {
        FlowMeta {
            id: 1,
            transport: Transport::Tcp,
            client: ([192, 168, 1, 125], 42167).into(),
            server: ([192, 168, 2, 15], PORT).into(),
            now: Timestamp(1),
            frame: 1,
        }
    }

    type Run = (Vec<(bool, Attribute, String)>, Vec<(String, String, u64)>);

    fn run(chunks: &[(Direction, &[u8])]) -> Run {
        let f = flow();
        let mut d = FoxFactory.select(&f, chunks[0].0, chunks[0].1).unwrap();
        let mut out = Observations::default();
        for (dir, bytes) in chunks {
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
        let events = out
            .drain_events()
            .map(|e| (e.operation.into_owned(), e.detail, e.count))
            .collect();
        (facts, events)
    }

    use Direction::{ClientToServer as C, ServerToClient as S};

    #[test]
    fn hello_exchange_names_both_ends() {
        let (facts, events) = run(&[(C, CLIENT_HELLO), (S, SERVER_HELLO), (S, CHALLENGE)]);
        let has = |server: bool, a: Attribute, v: &str| facts.contains(&(server, a, v.to_owned()));
        assert!(has(false, Attribute::Hostname, "xpvm-0omdc01xmy"));
        assert!(has(false, Attribute::Software, "Workbench 3.7.44"));
        assert!(has(false, Attribute::Os, "Windows XP 5.1"));
        assert!(has(false, Attribute::Vendor, "vykon"));
        assert!(has(true, Attribute::Hostname, "Legion_HQ_V4"));
        assert!(!has(true, Attribute::Hostname, "192.168.2.15"));
        assert!(has(true, Attribute::Software, "Station 3.5.41.1"));
        assert!(has(true, Attribute::Os, "QNX 6.3.2"));
        assert!(has(true, Attribute::Service, "fox"));
        assert_eq!(
            events,
            vec![
                ("hello".into(), "Workbench 3.7.44".into(), 1),
                ("challenge".into(), "digest-md5".into(), 1)
            ]
        );
    }

    #[test]
    fn messages_split_and_coalesced() {
        let mut both = SERVER_HELLO.to_vec();
        both.extend_from_slice(CHALLENGE);
        let whole = run(&[(C, CLIENT_HELLO), (S, &both)]);
        for cut in [1, 5, 30, SERVER_HELLO.len() - 2, SERVER_HELLO.len() + 40] {
            let split = run(&[(C, CLIENT_HELLO), (S, &both[..cut]), (S, &both[cut..])]);
            assert_eq!(split, whole, "cut at {cut}");
        }
        // One byte at a time.
        let mut chunks: Vec<(Direction, &[u8])> = vec![(C, CLIENT_HELLO)];
        chunks.extend(both.chunks(1).map(|c| (S, c)));
        assert_eq!(run(&chunks), whole);
    }

    #[test]
    fn blob_values_are_skipped_by_length() {
        let message = Message::parse(CHALLENGE).unwrap();
        assert_eq!(message.len, CHALLENGE.len());
        let fields: Vec<_> = message.fields().collect();
        assert_eq!(fields.len(), 2);
        assert_eq!(fields[1].value, b"\n};;\x00");
        let server = Message::parse(SERVER_HELLO).unwrap();
        assert_eq!(server.get(b"brandId"), Some(&b"vykon"[..]));
        assert_eq!(server.command, b"hello");
    }

    #[test]
    fn truncated_and_malformed_input() {
        for cut in 0..SERVER_HELLO.len() - 1 {
            assert!(
                matches!(
                    Message::parse(&SERVER_HELLO[..cut]),
                    Err(FoxError::Incomplete { .. })
                ),
                "cut {cut}"
            );
        }
        assert!(matches!(
            Message::parse(b"GET / HTTP/1.1\r\n"),
            Err(FoxError::Malformed { .. })
        ));
        assert!(matches!(
            Message::parse(b"fox a 0 -1 fox hello\nx\n"),
            Err(FoxError::Malformed { .. })
        ));
        assert!(matches!(
            Message::parse(b"fox a 0 -1 fox hello\n{\nk=b:99999999[\n"),
            Err(FoxError::Malformed { .. })
        ));
        // A binary session after the handshake ends the reading without facts.
        let (facts, events) = run(&[(C, b"fox a 0 -1 fox hello\n{\n};;\n"), (C, &[0xff; 100])]);
        assert!(facts.iter().all(|f| f.1 == Attribute::Service));
        assert_eq!(events.len(), 1);
    }

    #[test]
    fn oversized_message_ends_the_direction() {
        let mut big = b"fox a 0 -1 fox hello\n{\n".to_vec();
        while big.len() < MAX_MESSAGE + 100 {
            big.extend_from_slice(b"pad=s:xxxxxxxxxxxxxxxxxxxxxxxx\n");
        }
        let (facts, events) = run(&[(C, &big)]);
        assert!(facts.is_empty() && events.is_empty());
    }
}
