//! NTP (RFC 5905 for time packets, RFC 1305 appendix B / ntpd's `ntpq` for mode-6 control
//! messages).
//!
//! A device that answers time requests (mode 4) or broadcasts time (mode 5, with a stratum) is
//! an NTP server; its stratum tells how far it is from a reference clock. A control response
//! (mode 6, `ntpq -c rv`) to a read-variables request lists the system variables, among them
//! `version="ntpd 4.2.8p15@1.3728-o ..."`, `system="Linux/5.4.0"` and `processor="x86_64"`:
//! the responder's NTP software and operating system.
//!
//! Time-synchronisation failures are events (category time sync, from the client to the
//! server), one per reply that shows one, so that the detector can alert on them:
//! - `kiss_of_death`: a server reply at stratum 0, whose reference id is a kiss code (RFC 5905
//!   section 7.4: `RATE` slow down, `DENY`/`RSTR` access refused, ...), detail `code RATE`;
//! - `server_unsynchronised`: a server reply with leap indicator 3 (clock not synchronised) or
//!   stratum 16 (unsynchronised), detail `leap 3, stratum 16`.

use std::fmt::{self, Write as _};

use ironward_model::{Attribute, EventCategory, Source};

use crate::value::ValueBuf;
use crate::{
    Direction, Dissector, DissectorFactory, DissectorRegistry, FlowMeta, Observations, Transport,
};

/// UDP port of NTP.
pub const PORT: u16 = 123;
/// Length of the header of a time packet (modes 1-5).
const TIME_HEADER_LEN: usize = 48;
/// Length of the header of a control message (mode 6).
const CONTROL_HEADER_LEN: usize = 12;
/// Control opcode: read variables.
const OPCODE_READ_VARIABLES: u8 = 2;
/// Leap indicator of a clock that is not synchronised.
const LEAP_UNSYNCHRONISED: u8 = 3;
/// Stratum of a kiss-o'-death packet (its reference id is the kiss code).
const STRATUM_KISS: u8 = 0;
/// Stratum of an unsynchronised server.
const STRATUM_UNSYNCHRONISED: u8 = 16;

/// Why a datagram is not a readable NTP message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The datagram ends inside `field`, which starts at `offset`.
    Truncated {
        /// What was being read.
        field: &'static str,
        /// Where it starts.
        offset: usize,
    },
    /// Version outside 1-4.
    BadVersion(u8),
    /// Mode 0 is reserved.
    ReservedMode,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { field, offset } => write!(f, "truncated {field} at offset {offset}"),
            Self::BadVersion(v) => write!(f, "NTP version {v} is not 1-4"),
            Self::ReservedMode => f.write_str("reserved mode 0"),
        }
    }
}

impl std::error::Error for Error {}

/// Association mode (the low three bits of the first byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Symmetric active (1).
    SymmetricActive,
    /// Symmetric passive (2).
    SymmetricPassive,
    /// Client (3).
    Client,
    /// Server (4).
    Server,
    /// Broadcast (5).
    Broadcast,
    /// NTP control message (6).
    Control,
    /// Reserved for private use (7; ntpd's `ntpdc`).
    Private,
}

/// A time packet (modes 1-5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimePacket<'a> {
    /// Leap indicator (3 = clock unsynchronised).
    pub leap: u8,
    /// Protocol version.
    pub version: u8,
    /// Association mode.
    pub mode: Mode,
    /// Stratum: 0 unspecified or kiss-o'-death, 1 primary (reference clock), 2-15 secondary,
    /// 16 unsynchronised.
    pub stratum: u8,
    /// Poll interval (log2 seconds).
    pub poll: i8,
    /// Precision (log2 seconds).
    pub precision: i8,
    /// Reference id: a kiss code or clock name (stratum 0-1) or the upstream server's address.
    pub reference_id: [u8; 4],
    /// Extension fields and MAC after the header.
    pub trailer: &'a [u8],
}

/// A control message (mode 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlMessage<'a> {
    /// Protocol version.
    pub version: u8,
    /// Whether this is a response.
    pub response: bool,
    /// Whether the responder reports an error.
    pub error: bool,
    /// Whether more fragments follow.
    pub more: bool,
    /// Operation (1 read status, 2 read variables, ...).
    pub opcode: u8,
    /// Sequence number.
    pub sequence: u16,
    /// Status word.
    pub status: u16,
    /// Association id (0: the system itself).
    pub association_id: u16,
    /// Offset of this fragment's data in the whole response.
    pub offset: u16,
    /// The data (`count` bytes).
    pub data: &'a [u8],
}

/// An NTP message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message<'a> {
    /// Modes 1-5.
    Time(TimePacket<'a>),
    /// Mode 6.
    Control(ControlMessage<'a>),
    /// Mode 7 (implementation-specific; not decoded further).
    Private {
        /// Protocol version.
        version: u8,
    },
}

/// Reads an NTP datagram.
pub fn parse(datagram: &[u8]) -> Result<Message<'_>, Error> {
    let &first = datagram.first().ok_or(Error::Truncated {
        field: "flags",
        offset: 0,
    })?;
    let version = (first >> 3) & 7;
    if !(1..=4).contains(&version) {
        return Err(Error::BadVersion(version));
    }
    let mode = match first & 7 {
        0 => return Err(Error::ReservedMode),
        1 => Mode::SymmetricActive,
        2 => Mode::SymmetricPassive,
        3 => Mode::Client,
        4 => Mode::Server,
        5 => Mode::Broadcast,
        6 => return parse_control(datagram, version).map(Message::Control),
        _ => return Ok(Message::Private { version }),
    };
    let header = datagram.get(..TIME_HEADER_LEN).ok_or(Error::Truncated {
        field: "time packet header",
        offset: 0,
    })?;
    Ok(Message::Time(TimePacket {
        leap: first >> 6,
        version,
        mode,
        stratum: header[1],
        poll: i8::from_be_bytes([header[2]]),
        precision: i8::from_be_bytes([header[3]]),
        reference_id: [header[12], header[13], header[14], header[15]],
        trailer: &datagram[TIME_HEADER_LEN..],
    }))
}

fn parse_control(datagram: &[u8], version: u8) -> Result<ControlMessage<'_>, Error> {
    let header = datagram.get(..CONTROL_HEADER_LEN).ok_or(Error::Truncated {
        field: "control header",
        offset: 0,
    })?;
    let word = |at: usize| u16::from_be_bytes([header[at], header[at + 1]]);
    let count = usize::from(word(10));
    let data = datagram
        .get(CONTROL_HEADER_LEN..CONTROL_HEADER_LEN + count)
        .ok_or(Error::Truncated {
            field: "control data",
            offset: CONTROL_HEADER_LEN,
        })?;
    Ok(ControlMessage {
        version,
        response: header[1] & 0x80 != 0,
        error: header[1] & 0x40 != 0,
        more: header[1] & 0x20 != 0,
        opcode: header[1] & 0x1f,
        sequence: word(2),
        status: word(4),
        association_id: word(6),
        offset: word(8),
        data,
    })
}

/// The value of variable `name` in a control response's variable list
/// (`name=value, name="quoted, value", ...`), without quotes. Lines may break between items.
pub fn variable<'a>(data: &'a [u8], name: &str) -> Option<&'a [u8]> {
    let mut pos = 0;
    // Every round consumes at least one byte.
    while pos < data.len() {
        while data
            .get(pos)
            .is_some_and(|b| b.is_ascii_whitespace() || *b == b',')
        {
            pos += 1;
        }
        let name_start = pos;
        while data.get(pos).is_some_and(|b| !matches!(b, b'=' | b',')) {
            pos += 1;
        }
        let item_name = data.get(name_start..pos)?;
        let (value, next) = if data.get(pos) == Some(&b'=') {
            let value_start = pos + 1;
            if data.get(value_start) == Some(&b'"') {
                let rest = data.get(value_start + 1..)?;
                let len = rest.iter().position(|b| *b == b'"').unwrap_or(rest.len());
                (&rest[..len], value_start + 2 + len)
            } else {
                let rest = data.get(value_start..)?;
                let len = rest.iter().position(|b| *b == b',').unwrap_or(rest.len());
                (&rest[..len], value_start + len)
            }
        } else {
            (&data[pos..pos], pos)
        };
        if item_name.trim_ascii() == name.as_bytes() {
            return Some(value.trim_ascii());
        }
        pos = next.max(name_start + 1);
    }
    None
}

/// Reports the facts one NTP message carries.
pub fn observe(
    message: &Message<'_>,
    flow: &FlowMeta,
    direction: Direction,
    out: &mut Observations,
) {
    let sender = flow.sender(direction);
    let now = flow.now;
    match message {
        Message::Time(packet) => {
            if packet.mode == Mode::Server {
                time_sync_failure(packet, flow, direction, out);
            }
            let serves = packet.mode == Mode::Server
                || (packet.mode == Mode::Broadcast && packet.stratum > 0);
            if !serves {
                return;
            }
            let mut text = ValueBuf::<32>::new();
            // Stratum 0 (kiss-o'-death) and 16 (unsynchronised) say nothing about the server's
            // place in the hierarchy.
            let written = if (1..=15).contains(&packet.stratum) {
                write!(text, "ntp-server stratum {}", packet.stratum)
            } else {
                text.write_str("ntp-server")
            };
            if written.is_ok() {
                out.fact_bytes(
                    sender,
                    Attribute::Service,
                    text.as_bytes(),
                    Source::Ntp,
                    now,
                );
            }
        }
        Message::Control(control) => {
            if !control.response || control.error || control.opcode != OPCODE_READ_VARIABLES {
                return;
            }
            if let Some(version) = variable(control.data, "version") {
                out.fact_bytes(sender, Attribute::Software, version, Source::Ntp, now);
            }
            if let Some(system) = variable(control.data, "system") {
                let mut text = ValueBuf::<300>::new();
                text.push(system);
                if let Some(processor) =
                    variable(control.data, "processor").filter(|p| !p.is_empty())
                {
                    text.push(b" (");
                    text.push(processor);
                    text.push(b")");
                }
                out.fact_bytes(sender, Attribute::Os, text.as_bytes(), Source::Ntp, now);
            }
        }
        Message::Private { .. } => {}
    }
}

/// The event of a server reply that shows its clients cannot synchronise with it: a
/// kiss-o'-death, or a clock the server itself calls unsynchronised. Reported from the client
/// (the reply's receiver) to the server.
fn time_sync_failure(
    packet: &TimePacket<'_>,
    flow: &FlowMeta,
    direction: Direction,
    out: &mut Observations,
) {
    let mut detail = ValueBuf::<32>::new();
    let operation = if packet.stratum == STRATUM_KISS {
        let _ = detail.write_str("code ");
        // The kiss code is four ASCII letters; anything else is shown as hex.
        if packet.reference_id.iter().all(u8::is_ascii_alphanumeric) {
            detail.push(&packet.reference_id);
        } else {
            let _ = detail.write_str("0x");
            detail.push_hex(&packet.reference_id);
        }
        "kiss_of_death"
    } else if packet.leap == LEAP_UNSYNCHRONISED || packet.stratum >= STRATUM_UNSYNCHRONISED {
        let _ = write!(detail, "leap {}, stratum {}", packet.leap, packet.stratum);
        "server_unsynchronised"
    } else {
        return;
    };
    out.event(
        flow,
        direction.reverse(),
        "ntp",
        EventCategory::TimeSync,
        operation,
        detail.as_str(),
    );
}

/// Whether a datagram starts like NTP: version 1-4, a mode, and long enough for it.
fn looks_like_ntp(payload: &[u8]) -> bool {
    let Some(&first) = payload.first() else {
        return false;
    };
    let version = (first >> 3) & 7;
    let needed = match first & 7 {
        0 => return false,
        6 => CONTROL_HEADER_LEN,
        7 => 4,
        _ => TIME_HEADER_LEN,
    };
    (1..=4).contains(&version) && payload.len() >= needed
}

/// Dissects NTP datagrams; stateless.
#[derive(Debug, Default)]
pub struct NtpDissector;

impl Dissector for NtpDissector {
    fn protocol(&self) -> &'static str {
        "ntp"
    }

    fn on_datagram(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        payload: &[u8],
        out: &mut Observations,
    ) {
        if let Ok(message) = parse(payload) {
            observe(&message, flow, direction, out);
        }
    }
}

/// Takes UDP flows on port 123 whose first datagram looks like NTP.
#[derive(Debug, Default)]
pub struct NtpFactory;

impl DissectorFactory for NtpFactory {
    fn protocol(&self) -> &'static str {
        "ntp"
    }

    fn select(
        &self,
        flow: &FlowMeta,
        _direction: Direction,
        first_payload: &[u8],
    ) -> Option<Box<dyn Dissector>> {
        let on_port = flow.client.port() == PORT || flow.server.port() == PORT;
        (flow.transport == Transport::Udp && on_port && looks_like_ntp(first_payload))
            .then(|| Box::new(NtpDissector) as Box<dyn Dissector>)
    }
}

/// Adds this module's dissectors to `registry`.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register(Box::new(NtpFactory));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::hex;
    use ironward_model::{Fact, Timestamp};

    /// tcpdump_ntp.pcap frame 1: a version 4 client request with key id and MAC.
    const CLIENT: &str = "23000020000000000000000000000000000000000000000000000000000000000000000000000000a4b39cd101fb24bf0000000857ea530f6d74350cc5286bfec1ab8ca747c73584";
    /// Frame 2: the server's kiss-o'-death (stratum 0, code STEP).
    const KISS: &str = "e40003e9000000000000005a535445500000000000000000a4b39cd101fb24bfdcf25a3984199119dcf25a39841d6dc500000000";
    /// Frame 4: the server's reply at stratum 2.
    const SERVER: &str = "240200e9000027cf000000670a051b0adcf25be5b86d5655ae9d0aa81b8971a7dcf25be67e92d240dcf25be67e9a9fc900000008629990a7fc22cc8467dd88b7af2d220dbe3287d6";

    fn flow() -> FlowMeta {
        FlowMeta {
            id: 1,
            transport: Transport::Udp,
            client: ([192, 168, 100, 2], 58054).into(),
            server: ([192, 168, 100, 1], PORT).into(),
            now: Timestamp(3),
            frame: 1,
        }
    }

    fn run(payload: &[u8], direction: Direction) -> Vec<(String, Attribute, String)> {
        let mut out = Observations::default();
        NtpDissector.on_datagram(&flow(), direction, payload, &mut out);
        out.drain_facts()
            .map(|f: Fact| (f.subject.to_string(), f.attribute, f.value.to_string()))
            .collect()
    }

    /// A mode-6 read-variables response as ntpd sends it (`ntpq -c rv`), association 0.
    fn readvar_response(text: &[u8], flags: u8) -> Vec<u8> {
        let mut m = vec![0x26, flags, 0, 1, 0x06, 0x18, 0, 0, 0, 0];
        m.extend_from_slice(&(text.len() as u16).to_be_bytes());
        m.extend_from_slice(text);
        // Padding to a multiple of 4, as ntpd does.
        m.resize(m.len().next_multiple_of(4), 0);
        m
    }

    const RV: &[u8] = b"version=\"ntpd 4.2.8p15@1.3728-o Wed Sep 23 11:46:38 UTC 2020 (1)\",\r\nprocessor=\"x86_64\", system=\"Linux/5.4.0-42-generic\", leap=0, stratum=2,\r\nprecision=-23, refid=10.5.27.10";

    #[test]
    fn parses_real_time_packets() {
        let bytes = hex(CLIENT);
        let Message::Time(client) = parse(&bytes).unwrap() else {
            panic!("time packet expected");
        };
        assert_eq!(
            (client.version, client.mode, client.stratum),
            (4, Mode::Client, 0)
        );
        assert_eq!(client.trailer.len(), 24);
        let bytes = hex(SERVER);
        let Message::Time(server) = parse(&bytes).unwrap() else {
            panic!("time packet expected");
        };
        assert_eq!(
            (server.version, server.mode, server.stratum),
            (4, Mode::Server, 2)
        );
        assert_eq!(server.reference_id, [10, 5, 27, 10]);
        let bytes = hex(KISS);
        let Message::Time(kiss) = parse(&bytes).unwrap() else {
            panic!("time packet expected");
        };
        assert_eq!(
            (kiss.leap, kiss.stratum, &kiss.reference_id),
            (3, 0, b"STEP")
        );
    }

    #[test]
    fn servers_are_named_with_their_stratum() {
        assert!(run(&hex(CLIENT), Direction::ClientToServer).is_empty());
        assert_eq!(
            run(&hex(SERVER), Direction::ServerToClient),
            [(
                "ip:192.168.100.1".into(),
                Attribute::Service,
                "ntp-server stratum 2".into()
            )]
        );
        assert_eq!(
            run(&hex(KISS), Direction::ServerToClient),
            [(
                "ip:192.168.100.1".into(),
                Attribute::Service,
                "ntp-server".into()
            )]
        );
        // A broadcast at stratum 0 is not trusted as a server; at stratum 3 it is.
        let mut broadcast = hex(SERVER);
        broadcast[0] = 0x25;
        broadcast[1] = 0;
        assert!(run(&broadcast, Direction::ServerToClient).is_empty());
        broadcast[1] = 3;
        assert_eq!(
            run(&broadcast, Direction::ServerToClient)[0].2,
            "ntp-server stratum 3"
        );
    }

    /// The time-sync events a datagram raises: (source, destination, operation, detail).
    fn events(payload: &[u8], direction: Direction) -> Vec<(String, String, String, String)> {
        let mut out = Observations::default();
        NtpDissector.on_datagram(&flow(), direction, payload, &mut out);
        out.events()
            .into_iter()
            .map(|e| {
                assert_eq!(e.category, EventCategory::TimeSync);
                assert_eq!(e.protocol, "ntp");
                let ip = |ep: &ironward_model::EventEndpoint| ep.ip.unwrap().to_string();
                (
                    ip(&e.src),
                    ip(&e.dst),
                    e.operation.to_string(),
                    e.detail.clone(),
                )
            })
            .collect()
    }

    /// A 48-byte RFC 5905 time packet: leap, version 4, mode, stratum, reference id.
    fn time_packet(leap: u8, mode: u8, stratum: u8, reference_id: &[u8; 4]) -> Vec<u8> {
        let mut p = vec![0u8; TIME_HEADER_LEN];
        p[0] = (leap << 6) | (4 << 3) | mode;
        p[1] = stratum;
        p[2] = 6; // poll 64 s
        p[3] = 0xe9; // precision 2^-23 s
        p[12..16].copy_from_slice(reference_id);
        p
    }

    #[test]
    fn failed_time_sync_replies_are_events_from_client_to_server() {
        let failure = |operation: &str, detail: &str| {
            vec![(
                "192.168.100.2".to_owned(),
                "192.168.100.1".to_owned(),
                operation.to_owned(),
                detail.to_owned(),
            )]
        };
        // The real kiss-o'-death of tcpdump_ntp.pcap (leap 3, stratum 0, STEP): the kiss
        // wins over the leap indicator.
        assert_eq!(
            events(&hex(KISS), Direction::ServerToClient),
            failure("kiss_of_death", "code STEP")
        );
        for code in [b"RATE", b"DENY", b"RSTR"] {
            let kiss = time_packet(0, 4, 0, code);
            let want = format!("code {}", std::str::from_utf8(code).unwrap());
            assert_eq!(
                events(&kiss, Direction::ServerToClient),
                failure("kiss_of_death", &want)
            );
        }
        // A kiss code that is not text is shown in hex.
        assert_eq!(
            events(
                &time_packet(0, 4, 0, &[0, 0xff, b'A', 1]),
                Direction::ServerToClient
            ),
            failure("kiss_of_death", "code 0x00ff4101")
        );
        assert_eq!(
            events(
                &time_packet(3, 4, 2, &[10, 5, 27, 10]),
                Direction::ServerToClient
            ),
            failure("server_unsynchronised", "leap 3, stratum 2")
        );
        assert_eq!(
            events(&time_packet(0, 4, 16, b"INIT"), Direction::ServerToClient),
            failure("server_unsynchronised", "leap 0, stratum 16")
        );
        // A healthy reply (the real stratum-2 one, and leap warnings 1 and 2 announcing a leap
        // second), a request, and a broadcast say nothing about failures.
        assert!(events(&hex(SERVER), Direction::ServerToClient).is_empty());
        for leap in [1, 2] {
            assert!(events(
                &time_packet(leap, 4, 3, b"GPS\0"),
                Direction::ServerToClient
            )
            .is_empty());
        }
        assert!(events(&hex(CLIENT), Direction::ClientToServer).is_empty());
        assert!(events(&time_packet(3, 3, 0, &[0; 4]), Direction::ClientToServer).is_empty());
        assert!(events(&time_packet(3, 5, 16, &[0; 4]), Direction::ServerToClient).is_empty());
    }

    #[test]
    fn readvar_responses_name_software_and_os() {
        let message = readvar_response(RV, 0x82);
        let Message::Control(control) = parse(&message).unwrap() else {
            panic!("control message expected");
        };
        assert!(control.response && !control.more && !control.error);
        assert_eq!(
            (control.opcode, control.sequence, control.association_id),
            (2, 1, 0)
        );
        assert_eq!(control.data, RV);
        assert_eq!(variable(RV, "stratum"), Some(&b"2"[..]));
        assert_eq!(variable(RV, "refid"), Some(&b"10.5.27.10"[..]));
        assert_eq!(variable(RV, "missing"), None);
        assert_eq!(
            run(&message, Direction::ServerToClient),
            [
                (
                    "ip:192.168.100.1".into(),
                    Attribute::Software,
                    "ntpd 4.2.8p15@1.3728-o Wed Sep 23 11:46:38 UTC 2020 (1)".into()
                ),
                (
                    "ip:192.168.100.1".into(),
                    Attribute::Os,
                    "Linux/5.4.0-42-generic (x86_64)".into()
                ),
            ]
        );
        // The request (no R bit) and error responses say nothing.
        assert!(run(&readvar_response(RV, 0x02), Direction::ClientToServer).is_empty());
        assert!(run(&readvar_response(RV, 0xc2), Direction::ServerToClient).is_empty());
    }

    #[test]
    fn variable_lists_with_odd_shapes_are_safe() {
        for text in [
            &b""[..],
            b"=",
            b",,,",
            b"version",
            b"version=",
            b"version=\"unterminated",
            b"=\"x\",version=1",
            b"a=\"q\"version=2",
        ] {
            let _ = variable(text, "version");
        }
        assert_eq!(variable(b"=\"x\",version=1", "version"), Some(&b"1"[..]));
        assert_eq!(
            variable(b"version=\"unterminated", "version"),
            Some(&b"unterminated"[..])
        );
    }

    #[test]
    fn malformed_messages_are_refused_with_a_reason() {
        assert_eq!(
            parse(&[]).unwrap_err(),
            Error::Truncated {
                field: "flags",
                offset: 0
            }
        );
        assert_eq!(parse(&[0x03; 48]).unwrap_err(), Error::BadVersion(0));
        assert_eq!(parse(&[0x20; 48]).unwrap_err(), Error::ReservedMode);
        assert_eq!(
            parse(&[0x23; 47]).unwrap_err(),
            Error::Truncated {
                field: "time packet header",
                offset: 0
            }
        );
        let mut message = readvar_response(RV, 0x82);
        message.truncate(40);
        assert_eq!(
            parse(&message).unwrap_err(),
            Error::Truncated {
                field: "control data",
                offset: 12
            }
        );
        assert_eq!(
            parse(&[0x27, 0, 0, 0]).unwrap(),
            Message::Private { version: 4 }
        );
    }

    #[test]
    fn every_prefix_is_safe() {
        for bytes in [hex(CLIENT), hex(SERVER), readvar_response(RV, 0x82)] {
            for end in 0..=bytes.len() {
                let _ = run(&bytes[..end], Direction::ServerToClient);
            }
        }
    }

    #[test]
    fn factory_takes_port_123_with_plausible_first_bytes() {
        let factory = NtpFactory;
        assert!(factory
            .select(&flow(), Direction::ClientToServer, &hex(CLIENT))
            .is_some());
        assert!(factory
            .select(&flow(), Direction::ClientToServer, &[0x23; 20])
            .is_none());
        assert!(factory
            .select(&flow(), Direction::ClientToServer, b"GET / HTTP/1.1\r\n")
            .is_none());
        let mut other = flow();
        other.server.set_port(124);
        assert!(factory
            .select(&other, Direction::ClientToServer, &hex(CLIENT))
            .is_none());
    }
}
