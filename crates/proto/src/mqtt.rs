//! MQTT 3.1, 3.1.1 and 5.0 over TCP: the CONNECT / CONNACK exchange.
//!
//! Recognised on TCP port 1883 and, on any port, by a strict look at a CONNECT (fixed header
//! `0x10`, a remaining length of at most 4 bytes, protocol name `MQTT` or `MQIsdp`). MQTT over
//! TLS (8883) never reaches this dissector: the TLS dissector takes it first.
//!
//! Facts: the CONNECT's client id (→ client id of the client); on the broker, service
//! `mqtt-broker`, the accepted protocol version (`mqtt 3.1.1`) and the finding MQTT in clear
//! text. Finding: MQTT without authentication, on the broker and on the client, when a CONNECT
//! without user name, password or MQTT 5 authentication method is accepted. The password is
//! never read; the user name is not kept either. Event: the CONNACK's verdict.
//!
//! Packets are read whole only when needed (CONNECT, CONNACK, at most [`MAX_PACKET`] bytes);
//! others are skipped by length without buffering. Several packets per segment and packets
//! split across segments are both handled. Each side stops after its handshake packet, or
//! after [`MAX_PACKETS`] packets when the capture started mid-session.

use ironward_model::{Attribute, EventCategory, Finding, Source};

use crate::framing::{self, Framed, Side};
use crate::{
    Direction, Dissector, DissectorFactory, DissectorRegistry, FlowMeta, Observations, StreamChunk,
    Transport,
};

/// Largest CONNECT or CONNACK read (bigger ones, with huge will messages, are skipped).
pub const MAX_PACKET: usize = 8 * 1024;

/// Packets looked at per direction before giving up on finding the handshake.
pub const MAX_PACKETS: u32 = 16;

/// Most MQTT 5 properties walked in one property block.
pub const MAX_PROPERTIES: usize = 64;

/// CONNECT packet type.
pub const CONNECT: u8 = 1;
/// CONNACK packet type.
pub const CONNACK: u8 = 2;

/// MQTT 5 property: Authentication Method (enhanced authentication).
const PROP_AUTH_METHOD: u8 = 0x15;
/// MQTT 5 property: Assigned Client Identifier (CONNACK).
const PROP_ASSIGNED_CLIENT_ID: u8 = 0x12;

/// Why an MQTT packet could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MqttError {
    /// The input ends before `field`, which starts at `offset`.
    Truncated {
        /// The field that is cut.
        field: &'static str,
        /// Where it starts.
        offset: usize,
    },
    /// A variable byte integer longer than 4 bytes, starting at `offset`.
    BadVarInt {
        /// Where the integer starts.
        offset: usize,
    },
    /// The CONNECT's protocol name is neither `MQTT` nor `MQIsdp`.
    BadProtocolName,
    /// A packet of another type than the one expected.
    UnexpectedType(u8),
    /// An MQTT 5 property id this parser does not know (the walk stops there).
    UnknownProperty {
        /// The property id.
        id: u8,
        /// Where it is.
        offset: usize,
    },
}

impl std::fmt::Display for MqttError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Truncated { field, offset } => {
                write!(f, "MQTT packet truncated at {field} (offset {offset})")
            }
            Self::BadVarInt { offset } => {
                write!(f, "MQTT variable byte integer too long at offset {offset}")
            }
            Self::BadProtocolName => f.write_str("MQTT CONNECT protocol name unknown"),
            Self::UnexpectedType(t) => write!(f, "unexpected MQTT packet type {t}"),
            Self::UnknownProperty { id, offset } => {
                write!(f, "unknown MQTT 5 property 0x{id:02x} at offset {offset}")
            }
        }
    }
}

impl std::error::Error for MqttError {}

/// A packet's fixed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedHeader {
    /// Packet type (1 CONNECT, 2 CONNACK, 3 PUBLISH, ...).
    pub packet_type: u8,
    /// The low four bits of the first byte.
    pub flags: u8,
    /// Remaining length: bytes after the fixed header.
    pub remaining: usize,
    /// Length of the fixed header itself (2 to 5 bytes).
    pub header_len: usize,
}

impl FixedHeader {
    /// Reads the fixed header at the start of `input`.
    pub fn parse(input: &[u8]) -> Result<Self, MqttError> {
        let first = *input.first().ok_or(MqttError::Truncated {
            field: "fixed header",
            offset: 0,
        })?;
        let (remaining, len) = var_int(input, 1, "remaining length")?;
        Ok(Self {
            packet_type: first >> 4,
            flags: first & 0x0f,
            remaining,
            header_len: 1 + len,
        })
    }

    /// Length of the whole packet.
    pub fn total_len(&self) -> usize {
        self.header_len + self.remaining
    }
}

/// A CONNECT packet (the parts kept; the password is never read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connect<'a> {
    /// `MQTT` or `MQIsdp`.
    pub protocol_name: &'a [u8],
    /// Protocol level: 3 (3.1), 4 (3.1.1), 5 (5.0).
    pub level: u8,
    /// Connect flags.
    pub flags: u8,
    /// Keep alive, in seconds.
    pub keep_alive: u16,
    /// The client identifier (may be empty).
    pub client_id: &'a [u8],
    /// MQTT 5 enhanced authentication is requested (Authentication Method property).
    pub auth_method: bool,
}

impl<'a> Connect<'a> {
    /// Reads a CONNECT from a whole packet (fixed header included).
    pub fn parse(packet: &'a [u8]) -> Result<Self, MqttError> {
        let header = FixedHeader::parse(packet)?;
        if header.packet_type != CONNECT {
            return Err(MqttError::UnexpectedType(header.packet_type));
        }
        let end = header.total_len().min(packet.len());
        let body = &packet[..end];
        let mut at = header.header_len;
        let protocol_name = string(body, at, "protocol name")?;
        if protocol_name != b"MQTT" && protocol_name != b"MQIsdp" {
            return Err(MqttError::BadProtocolName);
        }
        at += 2 + protocol_name.len();
        let fixed = body.get(at..at + 4).ok_or(MqttError::Truncated {
            field: "connect flags",
            offset: at,
        })?;
        let (level, flags) = (fixed[0], fixed[1]);
        let keep_alive = u16::from_be_bytes([fixed[2], fixed[3]]);
        at += 4;
        let mut auth_method = false;
        if level >= 5 {
            let (len, n) = var_int(body, at, "properties length")?;
            let block = body.get(at + n..at + n + len).ok_or(MqttError::Truncated {
                field: "properties",
                offset: at + n,
            })?;
            // An unknown property only ends the walk: the block is skipped by its length.
            auth_method = Properties::new(block)
                .map_while(Result::ok)
                .any(|(id, _)| id == PROP_AUTH_METHOD);
            at += n + len;
        }
        let client_id = string(body, at, "client id")?;
        Ok(Self {
            protocol_name,
            level,
            flags,
            keep_alive,
            client_id,
            auth_method,
        })
    }

    /// The User Name flag.
    pub fn has_username(&self) -> bool {
        self.flags & 0x80 != 0
    }

    /// The Password flag.
    pub fn has_password(&self) -> bool {
        self.flags & 0x40 != 0
    }

    /// The Will flag.
    pub fn has_will(&self) -> bool {
        self.flags & 0x04 != 0
    }

    /// The Clean Session (5.0: Clean Start) flag.
    pub fn clean_session(&self) -> bool {
        self.flags & 0x02 != 0
    }

    /// Whether the client presents no credentials at all.
    pub fn without_credentials(&self) -> bool {
        !self.has_username() && !self.has_password() && !self.auth_method
    }

    /// The protocol version name of the level: "3.1", "3.1.1", "5.0".
    pub fn version_name(&self) -> Option<&'static str> {
        match self.level {
            3 => Some("3.1"),
            4 => Some("3.1.1"),
            5 => Some("5.0"),
            _ => None,
        }
    }
}

/// A CONNACK packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnAck<'a> {
    /// Session Present flag.
    pub session_present: bool,
    /// Return code (3.x) or reason code (5.0): 0 is success.
    pub code: u8,
    /// MQTT 5 Assigned Client Identifier, when the server chose one.
    pub assigned_client_id: Option<&'a [u8]>,
}

impl<'a> ConnAck<'a> {
    /// Reads a CONNACK from a whole packet; `level` is the CONNECT's protocol level when known
    /// (otherwise a remaining length above 2 means MQTT 5 properties follow).
    pub fn parse(packet: &'a [u8], level: Option<u8>) -> Result<Self, MqttError> {
        let header = FixedHeader::parse(packet)?;
        if header.packet_type != CONNACK {
            return Err(MqttError::UnexpectedType(header.packet_type));
        }
        let end = header.total_len().min(packet.len());
        let body = &packet[..end];
        let at = header.header_len;
        let fixed = body.get(at..at + 2).ok_or(MqttError::Truncated {
            field: "acknowledge flags",
            offset: at,
        })?;
        let v5 = level.map_or(header.remaining > 2, |l| l >= 5);
        let mut assigned_client_id = None;
        if v5 && header.remaining > 2 {
            let (len, n) = var_int(body, at + 2, "properties length")?;
            let start = at + 2 + n;
            let block = body.get(start..start + len).ok_or(MqttError::Truncated {
                field: "properties",
                offset: start,
            })?;
            assigned_client_id = Properties::new(block)
                .map_while(Result::ok)
                .find(|(id, _)| *id == PROP_ASSIGNED_CLIENT_ID)
                .map(|(_, value)| value);
        }
        Ok(Self {
            session_present: fixed[0] & 1 != 0,
            code: fixed[1],
            assigned_client_id,
        })
    }

    /// Whether the connection was accepted.
    pub fn accepted(&self) -> bool {
        self.code == 0
    }

    /// Why the connection was refused, per the 3.x return codes or the 5.0 reason codes.
    pub fn reason(&self, level: Option<u8>) -> &'static str {
        let v5 = level.is_some_and(|l| l >= 5) || self.code >= 0x80;
        match (v5, self.code) {
            (_, 0) => "accepted",
            (false, 1) => "unacceptable protocol version",
            (false, 2) => "identifier rejected",
            (false, 3) => "server unavailable",
            (false, 4) => "bad user name or password",
            (false, 5) => "not authorized",
            (true, 0x80) => "unspecified error",
            (true, 0x81) => "malformed packet",
            (true, 0x82) => "protocol error",
            (true, 0x83) => "implementation specific error",
            (true, 0x84) => "unsupported protocol version",
            (true, 0x85) => "client identifier not valid",
            (true, 0x86) => "bad user name or password",
            (true, 0x87) => "not authorized",
            (true, 0x88) => "server unavailable",
            (true, 0x89) => "server busy",
            (true, 0x8a) => "banned",
            (true, 0x8c) => "bad authentication method",
            (true, 0x95) => "packet too large",
            (true, 0x97) => "quota exceeded",
            (true, 0x99) => "payload format invalid",
            (true, 0x9a) => "retain not supported",
            (true, 0x9b) => "QoS not supported",
            (true, 0x9c) => "use another server",
            (true, 0x9d) => "server moved",
            (true, 0x9f) => "connection rate exceeded",
            _ => "unknown reason",
        }
    }
}

/// The properties of an MQTT 5 property block: `(id, value)`, where the value of string and
/// binary properties is their content and of the others their raw bytes. Stops (with an error
/// item) at an unknown id or a truncated value, and after [`MAX_PROPERTIES`].
#[derive(Debug, Clone)]
pub struct Properties<'a> {
    block: &'a [u8],
    at: usize,
    count: usize,
}

impl<'a> Properties<'a> {
    /// Walks `block` (the bytes after the property length).
    pub fn new(block: &'a [u8]) -> Self {
        Self {
            block,
            at: 0,
            count: 0,
        }
    }

    fn read(&self) -> Result<(u8, &'a [u8], usize), MqttError> {
        let b = self.block;
        let at = self.at;
        let id = b[at];
        let v = at + 1;
        let fixed = |n: usize, field| {
            b.get(v..v + n)
                .map(|s| (id, s, 1 + n))
                .ok_or(MqttError::Truncated { field, offset: v })
        };
        match id {
            0x01 | 0x17 | 0x19 | 0x24 | 0x25 | 0x28 | 0x29 | 0x2a => fixed(1, "byte property"),
            0x13 | 0x21 | 0x22 | 0x23 => fixed(2, "two-byte property"),
            0x02 | 0x11 | 0x18 | 0x27 => fixed(4, "four-byte property"),
            0x0b => {
                let (_, n) = var_int(b, v, "subscription identifier")?;
                Ok((id, &b[v..v + n], 1 + n))
            }
            0x03 | 0x08 | 0x09 | 0x12 | 0x15 | 0x16 | 0x1a | 0x1c | 0x1f => {
                let s = string(b, v, "string property")?;
                Ok((id, s, 3 + s.len()))
            }
            0x26 => {
                let key = string(b, v, "user property key")?;
                let value = string(b, v + 2 + key.len(), "user property value")?;
                Ok((id, value, 5 + key.len() + value.len()))
            }
            _ => Err(MqttError::UnknownProperty { id, offset: at }),
        }
    }
}

impl<'a> Iterator for Properties<'a> {
    type Item = Result<(u8, &'a [u8]), MqttError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.block.len() || self.count >= MAX_PROPERTIES {
            return None;
        }
        self.count += 1;
        match self.read() {
            Ok((id, value, len)) => {
                self.at += len;
                Some(Ok((id, value)))
            }
            Err(e) => {
                self.at = self.block.len();
                Some(Err(e))
            }
        }
    }
}

/// The strict content check: a CONNECT's fixed header and protocol name at the start of
/// `payload` (used to recognise MQTT on other ports than 1883).
pub fn looks_like_connect(payload: &[u8]) -> bool {
    let Ok(header) = FixedHeader::parse(payload) else {
        return false;
    };
    if payload.first() != Some(&0x10) {
        return false;
    }
    let at = header.header_len;
    matches!(
        payload.get(at..at + 8),
        Some([0, 4, b'M', b'Q', b'T', b'T', _, _])
    ) || matches!(
        payload.get(at..at + 8),
        Some([0, 6, b'M', b'Q', b'I', b's', b'd', b'p'])
    )
}

/// Adds the MQTT dissector to `registry`.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register(Box::new(MqttFactory));
}

/// Takes TCP flows to port 1883 and flows that open with a CONNECT.
#[derive(Debug, Clone, Copy, Default)]
pub struct MqttFactory;

impl DissectorFactory for MqttFactory {
    fn protocol(&self) -> &'static str {
        "mqtt"
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
        (flow.server.port() == 1883 || looks_like_connect(first_payload))
            .then(|| Box::<MqttDissector>::default() as Box<dyn Dissector>)
    }
}

/// What the CONNECT said, kept until the CONNACK.
#[derive(Debug, Clone, Copy)]
struct ConnectSummary {
    level: u8,
    without_credentials: bool,
    empty_client_id: bool,
}

/// Per-flow MQTT state.
#[derive(Debug, Default)]
pub struct MqttDissector {
    sides: [Side; 2],
    connect: Option<ConnectSummary>,
}

impl Framed for MqttDissector {
    fn sides(&mut self) -> &mut [Side; 2] {
        &mut self.sides
    }
}

impl MqttDissector {
    /// Reads the packets in `view` for `direction`; returns how many bytes were used. Bytes
    /// left over are the start of a packet this side needs whole. A skipped packet running
    /// past the view sets `skip`.
    fn packets(
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
            let rest = &view[at..];
            let header = match FixedHeader::parse(rest) {
                Ok(h) => h,
                Err(MqttError::Truncated { .. }) => return at,
                Err(_) => {
                    // Not MQTT (or lost sync): stop looking at this side.
                    side.done = true;
                    return view.len();
                }
            };
            let wanted = matches!(
                (direction, header.packet_type),
                (Direction::ClientToServer, CONNECT) | (Direction::ServerToClient, CONNACK)
            ) && header.total_len() <= MAX_PACKET;
            let total = header.total_len();
            if wanted && rest.len() < total {
                // Wait for the rest (counted once complete).
                return at;
            }
            side.messages += 1;
            if side.messages > MAX_PACKETS {
                side.done = true;
                return view.len();
            }
            if !wanted {
                if rest.len() < total {
                    side.skip = total - rest.len();
                    return view.len();
                }
                at += total;
                continue;
            }
            let Some(packet) = rest.get(..total) else {
                return at;
            };
            at += total;
            match direction {
                Direction::ClientToServer => self.on_connect(flow, packet, out),
                Direction::ServerToClient => self.on_connack(flow, packet, out),
            }
        }
        at
    }

    fn on_connect(&mut self, flow: &FlowMeta, packet: &[u8], out: &mut Observations) {
        let side = &mut self.sides[Direction::ClientToServer.index()];
        let Ok(connect) = Connect::parse(packet) else {
            side.done = true;
            return;
        };
        // One CONNECT per connection: the client side has said what it had to.
        side.done = true;
        let (client, now) = (flow.client_device(), flow.now);
        out.fact_bytes(
            client,
            Attribute::ClientId,
            connect.client_id,
            Source::Mqtt,
            now,
        );
        broker_facts(flow, out);
        self.connect = Some(ConnectSummary {
            level: connect.level,
            without_credentials: connect.without_credentials(),
            empty_client_id: connect.client_id.is_empty(),
        });
    }

    fn on_connack(&mut self, flow: &FlowMeta, packet: &[u8], out: &mut Observations) {
        let side = &mut self.sides[Direction::ServerToClient.index()];
        let level = self.connect.map(|c| c.level);
        let Ok(ack) = ConnAck::parse(packet, level) else {
            side.done = true;
            return;
        };
        side.done = true;
        let (client, broker, now) = (flow.client_device(), flow.server_device(), flow.now);
        broker_facts(flow, out);
        let detail = if ack.accepted() {
            "MQTT connect accepted".to_owned()
        } else {
            format!("MQTT connect refused: {}", ack.reason(level))
        };
        out.event(
            flow,
            Direction::ClientToServer,
            "mqtt",
            EventCategory::Authentication,
            "login",
            detail,
        );
        let Some(connect) = self.connect else {
            return;
        };
        if !ack.accepted() {
            return;
        }
        let version = match connect.level {
            3 => "mqtt 3.1",
            4 => "mqtt 3.1.1",
            5 => "mqtt 5.0",
            _ => "",
        };
        out.fact(broker, Attribute::Service, version, Source::Mqtt, now);
        if connect.without_credentials {
            for device in [broker, client] {
                out.finding(
                    device,
                    Finding::MqttWithoutAuthentication,
                    Source::Mqtt,
                    now,
                );
            }
        }
        if let (true, Some(id)) = (connect.empty_client_id, ack.assigned_client_id) {
            out.fact_bytes(client, Attribute::ClientId, id, Source::Mqtt, now);
        }
    }
}

/// The broker speaks MQTT without TLS: service and clear-text finding.
fn broker_facts(flow: &FlowMeta, out: &mut Observations) {
    let (broker, now) = (flow.server_device(), flow.now);
    out.fact(broker, Attribute::Service, "mqtt-broker", Source::Mqtt, now);
    out.finding(broker, Finding::MqttCleartext, Source::Mqtt, now);
}

impl Dissector for MqttDissector {
    fn protocol(&self) -> &'static str {
        "mqtt"
    }

    fn on_stream(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        chunk: StreamChunk<'_>,
        out: &mut Observations,
    ) {
        framing::feed(self, direction.index(), chunk, MAX_PACKET, |this, bytes| {
            this.packets(flow, direction, bytes, out)
        });
    }
}

/// A variable byte integer at `at`: its value and its length (1 to 4 bytes).
fn var_int(b: &[u8], at: usize, field: &'static str) -> Result<(usize, usize), MqttError> {
    let mut value = 0usize;
    for i in 0..4 {
        let byte = *b
            .get(at + i)
            .ok_or(MqttError::Truncated { field, offset: at })?;
        value |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    Err(MqttError::BadVarInt { offset: at })
}

/// A UTF-8 string or binary field (u16 length, bytes) at `at`.
fn string<'a>(b: &'a [u8], at: usize, field: &'static str) -> Result<&'a [u8], MqttError> {
    let len = b
        .get(at..at + 2)
        .map(|s| usize::from(u16::from_be_bytes([s[0], s[1]])))
        .ok_or(MqttError::Truncated { field, offset: at })?;
    b.get(at + 2..at + 2 + len)
        .ok_or(MqttError::Truncated { field, offset: at })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::hex;
    use ironward_model::Timestamp;

    fn flow(port: u16) -> FlowMeta {
        FlowMeta {
            id: 1,
            transport: Transport::Tcp,
            client: ([10, 0, 1, 4], 49327).into(),
            server: ([198, 41, 30, 241], port).into(),
            now: Timestamp(1),
            frame: 1,
        }
    }

    /// MQTT 3.1 CONNECT of a Paho client without credentials (zeek_mqtt.pcap, frame 1).
    const PAHO_CONNECT: &str =
        "102500064d51497364700302000500177061686f2f333441414535344137354438333935363645";
    /// MQTT 5 CONNECT with properties, will properties, user name and password
    /// (suricata_mqtt5-pub-mosquittoprops.pcap, frame 4).
    const MQTT5_CONNECT: &str = "10cc0100044d51545405c6003c3c2700002b672100de110000022b22029a2600097573657270726f703100087573657276616c312600097573657270726f703200087573657276616c3200136d79766f69636569736d7970617373706f72744b03000a6d7977696c6c74797065090007313233343536370200000085019008000f726573706f6e73655f746f706963312600097573657270726f703500087573657276616c3518000000c8000977696c6c746f706963000b77696c6c6d657373616765000475736572000470617373";

    type Run = (Vec<(bool, Attribute, String)>, Vec<String>);

    fn run(port: u16, records: &[(Direction, Vec<u8>)]) -> Run {
        let f = flow(port);
        let mut d = MqttFactory
            .select(&f, records[0].0, &records[0].1)
            .expect("selected");
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
        (facts, out.drain_events().map(|e| e.detail).collect())
    }

    use Direction::{ClientToServer as C, ServerToClient as S};

    fn paho() -> Vec<u8> {
        hex(PAHO_CONNECT)
    }

    #[test]
    fn connect_3_1_without_credentials() {
        let packet = paho();
        let c = Connect::parse(&packet).unwrap();
        assert_eq!(c.protocol_name, b"MQIsdp");
        assert_eq!((c.level, c.keep_alive, c.clean_session()), (3, 5, true));
        assert_eq!(c.client_id, b"paho/34AAE54A75D839566E");
        assert!(c.without_credentials() && !c.has_will());
        assert!(looks_like_connect(&packet));

        // CONNACK, SUBSCRIBE and SUBACK follow (frames 2-4).
        let (facts, events) = run(
            1883,
            &[
                (C, packet),
                (S, hex("20020000")),
                (C, hex("8210000100 0b53616d706c65546f706963 00")),
                (S, hex("900300 0100")),
            ],
        );
        let expected = [
            (false, Attribute::ClientId, "paho/34AAE54A75D839566E"),
            (true, Attribute::Service, "mqtt-broker"),
            (true, Attribute::Finding, "mqtt_cleartext"),
            (true, Attribute::Service, "mqtt 3.1"),
            (true, Attribute::Finding, "mqtt_without_authentication"),
            (false, Attribute::Finding, "mqtt_without_authentication"),
        ];
        let expected: Vec<_> = expected
            .iter()
            .map(|(s, a, v)| (*s, *a, (*v).to_owned()))
            .collect();
        assert_eq!(facts, expected);
        assert_eq!(events, vec!["MQTT connect accepted".to_owned()]);
    }

    #[test]
    fn connect_5_with_properties_and_credentials() {
        let packet = hex(MQTT5_CONNECT);
        let c = Connect::parse(&packet).unwrap();
        assert_eq!((c.level, c.keep_alive), (5, 60));
        assert_eq!(c.client_id, b"myvoiceismypassport");
        assert!(c.has_username() && c.has_password() && c.has_will() && !c.auth_method);
        // Reason code 0 with a Topic Alias Maximum property (frame 6).
        let (facts, events) = run(1883, &[(C, packet), (S, hex("200600000322000a"))]);
        assert!(!facts.iter().any(|f| f.2 == "mqtt_without_authentication"));
        assert!(facts.contains(&(true, Attribute::Service, "mqtt 5.0".into())));
        assert!(!facts.iter().any(|f| f.2 == "user" || f.2 == "pass"));
        assert_eq!(events, vec!["MQTT connect accepted".to_owned()]);
    }

    #[test]
    fn refused_and_enhanced_auth() {
        let (facts, events) = run(1883, &[(C, paho()), (S, hex("20020005"))]);
        assert!(!facts.iter().any(|f| f.2 == "mqtt_without_authentication"));
        assert_eq!(
            events,
            vec!["MQTT connect refused: not authorized".to_owned()]
        );
        // MQTT 5 CONNECT with an Authentication Method property and no user name.
        let connect = hex("101b 00044d515454 05 02 003c 08 1500055343524154 0003 616263");
        let c = Connect::parse(&connect).unwrap();
        assert!(c.auth_method && !c.without_credentials());
        assert_eq!(c.client_id, b"abc");
        let (_, events) = run(1883, &[(C, connect), (S, hex("2003008600"))]);
        assert_eq!(
            events,
            vec!["MQTT connect refused: bad user name or password".to_owned()]
        );
    }

    #[test]
    fn packets_split_and_coalesced() {
        // A CONNECT split byte by byte and a CONNACK split in two.
        let whole = run(1883, &[(C, paho()), (S, hex("20020000"))]);
        let mut split: Vec<_> = paho().iter().map(|&b| (C, vec![b])).collect();
        split.push((S, hex("20")));
        split.push((S, hex("020000")));
        assert_eq!(run(1883, &split), whole);
        // A PUBLISH (frame 9 carries one with a DISCONNECT) before the CONNECT in one segment.
        let mut coalesced = hex("3017000b53616d706c65546f70696348656c6c6f204d515454");
        coalesced.extend_from_slice(&paho());
        coalesced.extend_from_slice(&hex("e000"));
        let (facts, _) = run(1883, &[(C, coalesced), (S, hex("20020000"))]);
        assert!(facts.contains(&(false, Attribute::ClientId, "paho/34AAE54A75D839566E".into())));
    }

    #[test]
    fn large_packets_are_skipped_unbuffered() {
        let f = flow(1883);
        let mut d = MqttDissector::default();
        let mut out = Observations::default();
        // A 2 MB PUBLISH from the broker, in 1000-byte pieces, then a CONNACK.
        let mut publish = vec![0x30, 0x80, 0x80, 0x80, 0x01];
        publish.extend_from_slice(&[0; 995]);
        d.on_stream(&f, S, StreamChunk::Data(&publish), &mut out);
        for _ in 0..2096 {
            d.on_stream(&f, S, StreamChunk::Data(&[0; 1000]), &mut out);
            assert!(d.sides[1].buf.is_empty());
        }
        assert_eq!(d.sides[1].skip, 2_097_157 - 1000 - 2_096_000);
        d.on_stream(&f, S, StreamChunk::Data(&[0; 157]), &mut out);
        d.on_stream(&f, S, StreamChunk::Data(&hex("20020000")), &mut out);
        assert_eq!(out.events().len(), 1);
        // A CONNECT claiming 100 kB is not buffered either.
        let mut d = MqttDissector::default();
        let big = hex("10a08d06 00044d515454 04 02 003c 0003 616263");
        d.on_stream(&f, C, StreamChunk::Data(&big), &mut out);
        assert!(d.sides[0].buf.is_empty());
    }

    #[test]
    fn hostile_input() {
        assert_eq!(
            FixedHeader::parse(&hex("30ffffffff01")),
            Err(MqttError::BadVarInt { offset: 1 })
        );
        assert!(!looks_like_connect(b"GET / HTTP/1.1\r\n"));
        assert!(!looks_like_connect(&hex("1012 0004 4d515459")));
        assert!(matches!(
            Connect::parse(&hex("100c 0004 4d515454 05 02 003c 7f")),
            Err(MqttError::Truncated {
                field: "properties",
                ..
            })
        ));
        let block = hex("21 00 0a ee 01");
        let props: Vec<_> = Properties::new(&block).collect();
        assert_eq!(props.len(), 2);
        assert!(matches!(
            props[1],
            Err(MqttError::UnknownProperty { id: 0xee, .. })
        ));
        // Every prefix of real packets.
        let packet = paho();
        for end in 0..packet.len() {
            let _ = Connect::parse(&packet[..end]);
            let _ = ConnAck::parse(&packet[..end], None);
            run(1883, &[(C, packet[..end].to_vec()), (S, hex("2002"))]);
        }
        // A gap ends the side; garbage on 1883 ends it too.
        let f = flow(1883);
        let mut d = MqttDissector::default();
        let mut out = Observations::default();
        d.on_stream(&f, C, StreamChunk::Gap(10), &mut out);
        d.on_stream(&f, C, StreamChunk::Data(&paho()), &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn selection() {
        assert!(MqttFactory.select(&flow(1883), C, b"x").is_some());
        assert!(MqttFactory.select(&flow(8080), C, &paho()).is_some());
        assert!(MqttFactory
            .select(&flow(8080), C, b"GET / HTTP/1.1\r\n")
            .is_none());
    }
}
