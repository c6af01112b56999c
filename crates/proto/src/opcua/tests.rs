use super::*;
use ironward_model::{DeviceKey, Timestamp};

/// A small writer of UA binary for hand-built messages.
#[derive(Default)]
struct W(Vec<u8>);

impl W {
    fn u8(mut self, v: u8) -> Self {
        self.0.push(v);
        self
    }
    fn u32(mut self, v: u32) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn bytes(mut self, v: &[u8]) -> Self {
        self.0.extend_from_slice(v);
        self
    }
    fn s(self, v: &str) -> Self {
        self.u32(v.len() as u32).bytes(v.as_bytes())
    }
    fn null(self) -> Self {
        self.u32(u32::MAX)
    }
    /// Four-byte NodeId in namespace 0.
    fn id(self, v: u16) -> Self {
        self.u8(1).u8(0).bytes(&v.to_le_bytes())
    }
    fn request_header(self) -> Self {
        // Token i=0, timestamp, handle, diagnostics, audit id, timeout, no additional header.
        self.u8(0)
            .u8(0)
            .bytes(&[0; 8])
            .u32(1)
            .u32(0)
            .null()
            .u32(0)
            .u8(0)
            .u8(0)
            .u8(0)
    }
    fn response_header(self, result: u32) -> Self {
        self.bytes(&[0; 8])
            .u32(1)
            .u32(result)
            .u8(0)
            .u32(0)
            .u8(0)
            .u8(0)
            .u8(0)
    }
    fn app(self, uri: &str, product: &str, name: &str, ty: u32) -> Self {
        self.s(uri)
            .s(product)
            .u8(2)
            .s(name)
            .u32(ty)
            .null()
            .null()
            .u32(0)
    }
    /// Wraps a body in a message chunk (MSG/CLO with security and sequence headers).
    fn msg(self, kind: &[u8; 3], chunk: u8, request_id: u32) -> Vec<u8> {
        let body = self.0;
        let mut out = kind.to_vec();
        out.push(chunk);
        out.extend_from_slice(&((body.len() + 24) as u32).to_le_bytes());
        for v in [1u32, 1, 7, request_id] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&body);
        out
    }
    /// Wraps a body in a bare header (HEL/ACK/ERR, or OPN with its own headers in the body).
    fn raw(self, kind: &[u8; 3]) -> Vec<u8> {
        let body = self.0;
        let mut out = kind.to_vec();
        out.push(b'F');
        out.extend_from_slice(&((body.len() + 8) as u32).to_le_bytes());
        out.extend_from_slice(&body);
        out
    }
}

const NONE: &str = "http://opcfoundation.org/UA/SecurityPolicy#None";

fn hello() -> Vec<u8> {
    W::default()
        .u32(0)
        .u32(65535)
        .u32(65535)
        .u32(0)
        .u32(0)
        .s("opc.tcp://localhost:4840")
        .raw(b"HEL")
}

fn open(policy: &str, request: bool) -> Vec<u8> {
    let w = W::default().u32(0).s(policy).null().null().u32(1).u32(1);
    let w = if request {
        w.id(446)
            .request_header()
            .u32(0)
            .u32(0)
            .u32(1)
            .null()
            .u32(600000)
    } else {
        w.id(449).response_header(0)
    };
    w.raw(b"OPN")
}

fn endpoint(w: W, policy: &str, mode: u32) -> W {
    w.s("opc.tcp://plc:4840")
        .app(
            "urn:open62541.server.application",
            "http://open62541.org",
            "open62541-based OPC UA Application",
            0,
        )
        .null()
        .u32(mode)
        .s(policy)
        .u32(1)
        .s("open62541-anonymous-policy")
        .u32(0)
        .null()
        .null()
        .null()
        .s("http://opcfoundation.org/UA-Profile/Transport/uatcp-uasc-uabinary")
        .u8(1)
}

fn flow() -> FlowMeta {
    FlowMeta {
        id: 1,
        transport: Transport::Tcp,
        client: ([10, 0, 0, 1], 50000).into(),
        server: ([10, 0, 0, 2], PORT).into(),
        now: Timestamp(1),
        frame: 1,
    }
}

type Run = (
    Vec<(bool, Attribute, String)>,
    Vec<(EventCategory, String, String, u64)>,
);

fn run(chunks: &[(Direction, Vec<u8>)]) -> Run {
    let f = flow();
    let mut d = OpcuaFactory
        .select(&f, chunks[0].0, &chunks[0].1)
        .expect("selected");
    let mut out = Observations::default();
    for (dir, bytes) in chunks {
        d.on_stream(&f, *dir, StreamChunk::Data(bytes), &mut out);
    }
    let facts = out
        .drain_facts()
        .map(|x| {
            (
                x.subject == DeviceKey::Ip(f.server.ip()),
                x.attribute,
                x.value.into_owned(),
            )
        })
        .collect();
    let events = out
        .drain_events()
        .map(|e| (e.category, e.operation.into_owned(), e.detail, e.count))
        .collect();
    (facts, events)
}

use Direction::{ClientToServer as C, ServerToClient as S};

/// A whole unencrypted session: hello, channel, endpoints, session, anonymous activation,
/// read, write, call, close.
fn session() -> Vec<(Direction, Vec<u8>)> {
    let activate = W::default()
        .id(467)
        .request_header()
        .null()
        .null()
        .u32(0)
        .u32(0)
        .id(321)
        .u8(1)
        .s("\u{4}\0\0\0anon")
        .null()
        .null()
        .msg(b"MSG", b'F', 4);
    let write = W::default()
        .id(673)
        .request_header()
        .u32(1)
        .u8(3)
        .bytes(&[1, 0])
        .s("the.answer")
        .u32(13)
        .null()
        .u8(1)
        .u8(6)
        .u32(42)
        .msg(b"MSG", b'F', 6);
    let call = W::default()
        .id(712)
        .request_header()
        .u32(1)
        .u8(0)
        .u8(85)
        .u8(1)
        .u8(1)
        .bytes(&62541u16.to_le_bytes())
        .u32(1)
        .u8(6)
        .u32(7)
        .msg(b"MSG", b'F', 7);
    vec![
        (C, hello()),
        (
            S,
            W::default()
                .u32(0)
                .u32(65535)
                .u32(65535)
                .u32(0)
                .u32(0)
                .raw(b"ACK"),
        ),
        (C, open(NONE, true)),
        (S, open(NONE, false)),
        (
            C,
            W::default()
                .id(428)
                .request_header()
                .s("opc.tcp://plc:4840")
                .u32(0)
                .u32(0)
                .msg(b"MSG", b'F', 2),
        ),
        (
            S,
            endpoint(
                endpoint(W::default().id(431).response_header(0).u32(2), NONE, 1),
                "http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256",
                3,
            )
            .msg(b"MSG", b'F', 2),
        ),
        (
            C,
            W::default()
                .id(461)
                .request_header()
                .app(
                    "urn:freeopcua:client",
                    "urn:freeopcua.github.io:client",
                    "Pure Python Client",
                    1,
                )
                .null()
                .s("opc.tcp://plc:4840")
                .s("Session1")
                .null()
                .null()
                .bytes(&[0; 8])
                .u32(0)
                .msg(b"MSG", b'F', 3),
        ),
        (C, activate),
        (
            S,
            W::default()
                .id(470)
                .response_header(0)
                .null()
                .u32(0)
                .u32(0)
                .msg(b"MSG", b'F', 4),
        ),
        (
            C,
            W::default()
                .id(631)
                .request_header()
                .bytes(&[0; 8])
                .u32(0)
                .u32(3)
                .bytes(&[0; 12])
                .msg(b"MSG", b'F', 5),
        ),
        (C, write),
        (
            S,
            W::default()
                .id(676)
                .response_header(0x803b_0000)
                .u32(0)
                .u32(0)
                .msg(b"MSG", b'F', 6),
        ),
        (C, call),
        (
            S,
            W::default()
                .id(397)
                .response_header(0x8075_0000)
                .msg(b"MSG", b'F', 7),
        ),
        (
            C,
            W::default().id(452).request_header().msg(b"CLO", b'F', 8),
        ),
    ]
}

#[test]
fn unencrypted_session_facts_findings_and_events() {
    let (facts, events) = run(&session());
    let has = |server: bool, a: Attribute, v: &str| facts.contains(&(server, a, v.to_owned()));
    assert!(has(true, Attribute::Url, "opc.tcp://localhost:4840"));
    assert!(has(true, Attribute::Url, "opc.tcp://plc:4840"));
    assert!(has(true, Attribute::Service, "opcua None"));
    assert!(has(
        true,
        Attribute::Service,
        "opcua Basic256Sha256 SignAndEncrypt"
    ));
    assert!(has(
        true,
        Attribute::Software,
        "open62541-based OPC UA Application"
    ));
    assert!(has(
        true,
        Attribute::Description,
        "urn:open62541.server.application"
    ));
    assert!(has(true, Attribute::ProductCode, "http://open62541.org"));
    assert!(has(false, Attribute::UserAgent, "Pure Python Client"));
    assert!(has(
        false,
        Attribute::ProductCode,
        "urn:freeopcua.github.io:client"
    ));
    assert!(has(true, Attribute::Finding, "opcua_security_none"));
    assert!(has(false, Attribute::Finding, "opcua_security_none"));
    assert!(has(true, Attribute::Finding, "opcua_anonymous_session"));
    let got: Vec<_> = events
        .iter()
        .map(|e| (e.0, e.1.as_str(), e.2.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (EventCategory::Other, "hello", "opc.tcp://localhost:4840"),
            (
                EventCategory::Other,
                "open_secure_channel",
                "policy None mode None"
            ),
            (
                EventCategory::Discovery,
                "get_endpoints",
                "opc.tcp://plc:4840"
            ),
            (EventCategory::Other, "create_session", "opc.tcp://plc:4840"),
            (
                EventCategory::Authentication,
                "activate_session",
                "anonymous"
            ),
            (EventCategory::Read, "read", "3 nodes"),
            (EventCategory::Write, "write", "ns=1;s=the.answer = 42"),
            (
                EventCategory::Write,
                "error_response",
                "write: 0x803b0000 BadNotWritable"
            ),
            (
                EventCategory::ControlCommand,
                "call",
                "ns=1;i=62541 on i=85 (1 args)"
            ),
            (
                EventCategory::ControlCommand,
                "error_response",
                "call: 0x80750000 BadMethodInvalid"
            ),
            (EventCategory::Other, "close_secure_channel", ""),
        ]
    );
}

#[test]
fn split_and_coalesced_streams_agree() {
    let messages = session();
    let whole = run(&messages);
    // Everything of one direction in one chunk.
    let mut client = Vec::new();
    let mut server = Vec::new();
    for (dir, bytes) in &messages {
        match dir {
            C => client.extend_from_slice(bytes),
            S => server.extend_from_slice(bytes),
        }
    }
    // Interleaving changes only the order; compare as sets.
    let sorted = |mut r: Run| {
        r.0.sort();
        r.1.sort_by(|a, b| a.1.cmp(&b.1).then(a.2.cmp(&b.2)));
        r
    };
    // The client's requests must precede the answers that resolve them: feed per message,
    // split into 7-byte pieces.
    let mut pieces = Vec::new();
    for (dir, bytes) in &messages {
        for piece in bytes.chunks(7) {
            pieces.push((*dir, piece.to_vec()));
        }
    }
    assert_eq!(sorted(run(&pieces)), sorted(whole.clone()));
    let (facts, _) = run(&[(C, client), (S, server)]);
    assert!(facts.len() >= whole.0.len() - 2);
}

#[test]
fn encrypted_channels_read_only_the_policy() {
    let basic = "http://opcfoundation.org/UA/SecurityPolicy#Basic128Rsa15";
    let mut opn = W::default()
        .u32(0)
        .s(basic)
        .s("certificate")
        .s("thumbprint")
        .bytes(&[0xaa; 64]);
    opn = opn.bytes(&[0; 4]);
    let read = W::default()
        .id(631)
        .request_header()
        .bytes(&[0; 8])
        .u32(0)
        .u32(3)
        .msg(b"MSG", b'F', 5);
    let (facts, events) = run(&[(C, hello()), (C, opn.raw(b"OPN")), (C, read)]);
    assert!(facts.contains(&(true, Attribute::Service, "opcua Basic128Rsa15".into())));
    assert!(!facts.iter().any(|f| f.1 == Attribute::Finding));
    let ops: Vec<_> = events
        .iter()
        .map(|e| (e.1.as_str(), e.2.as_str()))
        .collect();
    assert_eq!(
        ops,
        [
            ("hello", "opc.tcp://localhost:4840"),
            ("open_secure_channel", "policy Basic128Rsa15, certificate")
        ]
    );
}

#[test]
fn multi_chunk_messages_are_read_once() {
    let first = W::default()
        .id(631)
        .request_header()
        .bytes(&[0; 8])
        .u32(0)
        .u32(2)
        .msg(b"MSG", b'C', 5);
    let second = W::default().bytes(&[0; 40]).msg(b"MSG", b'F', 5);
    let (_, events) = run(&[(C, open(NONE, true)), (C, first), (C, second)]);
    assert_eq!(events.iter().filter(|e| e.1 == "read").count(), 1);
}

#[test]
fn errors_and_hostile_input() {
    let err = W::default().u32(0x8079_0000).s("too many").raw(b"ERR");
    let (_, events) = run(&[(C, hello()), (S, err)]);
    assert_eq!(events[1].1, "error_response");
    assert_eq!(events[1].2, "0x80790000 BadNoSubscription");
    // Every prefix of every message of a session, alone, never panics.
    let f = flow();
    let mut out = Observations::default();
    for (dir, bytes) in session() {
        for cut in 0..bytes.len() {
            let mut d = OpcuaDissector::default();
            let mut piece = bytes[..cut].to_vec();
            if piece.len() >= 8 {
                let len = (piece.len() as u32).to_le_bytes();
                piece[4..8].copy_from_slice(&len);
            }
            d.on_stream(&f, dir, StreamChunk::Data(&piece), &mut out);
        }
    }
    assert!(!looks_like_opcua(b"GET / HTTP/1.1\r\n"));
    assert!(!looks_like_opcua(b"HELF\x04\0\0\0"));
    assert!(looks_like_opcua(&hello()));
    // A huge declared message is skipped by length; the stream continues after it.
    let mut big = b"MSGF".to_vec();
    big.extend_from_slice(&((MAX_MESSAGE + 100) as u32).to_le_bytes());
    big.resize(MAX_MESSAGE + 100, 0);
    let read = W::default()
        .id(631)
        .request_header()
        .bytes(&[0; 8])
        .u32(0)
        .u32(1)
        .bytes(&[0; 4])
        .msg(b"MSG", b'F', 5);
    let (_, events) = run(&[(C, hello()), (C, big), (C, read)]);
    assert_eq!(
        events.last().map(|e| e.2.as_str()),
        Some("1 nodes"),
        "{events:?}"
    );
}

fn spec(events: &[(EventCategory, String, String, u64)]) -> Vec<String> {
    events
        .iter()
        .filter(|(_, op, ..)| op == "malformed" || op == "violation")
        .map(|(_, op, detail, _)| format!("{op} {detail}"))
        .collect()
}

#[test]
fn header_rules_and_undecodable_messages_are_reported() {
    let mut split_hello = hello();
    split_hello[3] = b'C';
    // A HEL whose endpoint URL runs past the message.
    let mut cut_hello = W::default().u32(0).u32(65535).u32(65535).u32(0).u32(0);
    cut_hello.0.extend_from_slice(&100u32.to_le_bytes());
    let cut_hello = cut_hello.raw(b"HEL");
    let (_, events) = run(&[
        (C, hello()),
        (C, split_hello),
        (C, cut_hello),
        (C, b"XYZF\x08\x00\x00\x00".to_vec()),
    ]);
    assert_eq!(
        spec(&events),
        [
            "violation OPC UA HEL chunk type C, only MSG may be split or aborted",
            "malformed OPC UA message truncated at endpoint url (offset 28)",
            "malformed OPC UA message type 0x58595a unknown",
        ]
    );
}

#[test]
fn a_stream_never_opc_ua_is_not_reported() {
    let (_, events) = run(&[(C, b"GET / HTTP/1.1\r\nHost: plc\r\n\r\n".to_vec())]);
    assert_eq!(spec(&events), Vec::<String>::new());
}
