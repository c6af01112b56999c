//! Siemens S7comm-plus (protocol id 0x72) over ISO-TSAP (TPKT + COTP, port 102): the protocol
//! of S7-1200 and S7-1500 controllers with TIA Portal, WinCC and OPC servers.
//!
//! [`crate::iso_tsap`] hands every transport data unit to [`Session`]. Read here: the frame
//! header (0x72, protocol version 1, 2 or 3, or 0xfe/0xff keep-alives, data length), the
//! integrity part that opens version-3 data (skipped, never verified), the trailer that ends a
//! PDU (frames without one are fragments: only the first is read), and the data header: opcode
//! (request 0x31, response 0x32, notification 0x33), function code, sequence number and, in
//! requests, the session id.
//!
//! Facts, about the controller (the sender of responses and notifications): Service
//! `s7comm_plus v3` (the protocol version), Vendor `Siemens`, and from the clear-text server
//! session version string of a CreateObject response (`1;6ES7 511-1AK00-0AB0;V1.0`) ProductCode,
//! Model (for order numbers [`crate::s7comm::mlfb_model`] knows) and Firmware.
//!
//! Events (source = requester): one per request, named after its function — `create_object`
//! Other (`session setup` when it opens a session), `delete_object` Other, `explore`
//! Diagnostics, `get_variable` / `get_multi_variables` / `get_link` / `get_var_sub_streamed`
//! Read, `set_variable` / `set_multi_variables` / `set_var_sub_streamed` Write,
//! `begin_sequence` / `end_sequence` / `invoke` / `add_link` / `remove_link` Other — with the
//! session id in the detail. Notifications (subscribed values pushed by the controller) and
//! responses make no event; response return values are not decoded.
//!
//! Bounds: the session keeps a few integers; the identity string search looks at the first
//! [`MAX_IDENTITY_SCAN`] bytes of a CreateObject response and strings of at most
//! [`MAX_IDENTITY_LEN`] bytes.

use std::fmt::{self, Write as _};

use ironward_model::{Attribute, EventCategory, Source};

use crate::iso_tsap::TsduHandler;
use crate::value::ValueBuf;
use crate::{Direction, FlowMeta, Observations};

/// First byte of every S7comm-plus frame.
pub const PROTOCOL_ID: u8 = 0x72;

/// Most bytes of a CreateObject response searched for the server session version.
pub const MAX_IDENTITY_SCAN: usize = 4096;

/// Longest server session version string read.
pub const MAX_IDENTITY_LEN: usize = 64;

/// Opcodes.
pub mod opcode {
    /// A request.
    pub const REQUEST: u8 = 0x31;
    /// A response.
    pub const RESPONSE: u8 = 0x32;
    /// A notification (subscribed data pushed by the controller).
    pub const NOTIFICATION: u8 = 0x33;
    /// A response variant seen from V13 HMIs.
    pub const RESPONSE2: u8 = 0x02;
}

/// Function codes.
pub mod function {
    /// Error.
    pub const ERROR: u16 = 0x04b1;
    /// Explore (browse the object tree).
    pub const EXPLORE: u16 = 0x04bb;
    /// CreateObject (opens a session).
    pub const CREATE_OBJECT: u16 = 0x04ca;
    /// DeleteObject (closes a session).
    pub const DELETE_OBJECT: u16 = 0x04d4;
    /// SetVariable.
    pub const SET_VARIABLE: u16 = 0x04f2;
    /// GetVariable.
    pub const GET_VARIABLE: u16 = 0x04fc;
    /// AddLink.
    pub const ADD_LINK: u16 = 0x0506;
    /// RemoveLink.
    pub const REMOVE_LINK: u16 = 0x051a;
    /// GetLink.
    pub const GET_LINK: u16 = 0x0524;
    /// SetMultiVariables.
    pub const SET_MULTI_VARIABLES: u16 = 0x0542;
    /// GetMultiVariables.
    pub const GET_MULTI_VARIABLES: u16 = 0x054c;
    /// BeginSequence.
    pub const BEGIN_SEQUENCE: u16 = 0x0556;
    /// EndSequence.
    pub const END_SEQUENCE: u16 = 0x0560;
    /// Invoke.
    pub const INVOKE: u16 = 0x056b;
    /// SetVarSubStreamed.
    pub const SET_VAR_SUB_STREAMED: u16 = 0x057c;
    /// GetVarSubStreamed.
    pub const GET_VAR_SUB_STREAMED: u16 = 0x0586;
}

/// The session id a CreateObject request is addressed to when it opens a session (the
/// ObjectServerSessionContainer).
pub const SERVER_SESSION_CONTAINER: u32 = 0x0000_0120;

/// Why an S7comm-plus frame was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum S7PlusError {
    /// The first byte is not the protocol id 0x72.
    NotS7Plus {
        /// The byte found.
        byte: u8,
    },
    /// A field runs past the end of the frame.
    Truncated {
        /// What was being read.
        field: &'static str,
        /// Where it starts.
        offset: usize,
    },
}

impl fmt::Display for S7PlusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotS7Plus { byte } => {
                write!(f, "S7comm-plus: protocol id 0x{byte:02x}, expected 0x72")
            }
            Self::Truncated { field, offset } => {
                write!(f, "S7comm-plus: truncated {field} at offset {offset}")
            }
        }
    }
}

impl std::error::Error for S7PlusError {}

/// One S7comm-plus frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// Protocol version: 1, 2, 3, 0xfe (extended keep-alive) or 0xff (keep-alive).
    pub version: u8,
    /// The data part (after the integrity part of version 3; empty for keep-alives).
    pub data: &'a [u8],
    /// Whether a trailer follows the data (no trailer: a fragment with more to come).
    pub has_trailer: bool,
}

impl<'a> Frame<'a> {
    /// Parses a frame (one transport data unit).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, S7PlusError> {
        let [id, version, rest @ ..] = bytes else {
            return Err(S7PlusError::Truncated {
                field: "header",
                offset: 0,
            });
        };
        if *id != PROTOCOL_ID {
            return Err(S7PlusError::NotS7Plus { byte: *id });
        }
        if *version == 0xff {
            return Ok(Self {
                version: *version,
                data: &[],
                has_trailer: true,
            });
        }
        let [l0, l1, rest @ ..] = rest else {
            return Err(S7PlusError::Truncated {
                field: "data length",
                offset: 2,
            });
        };
        let len = usize::from(u16::from_be_bytes([*l0, *l1]));
        let data = &rest[..len.min(rest.len())];
        let has_trailer = rest.len() >= len + 4 && rest.get(len) == Some(&PROTOCOL_ID);
        let data = if *version == 3 {
            // Integrity part: digest length, digest.
            let Some((&digest_len, tail)) = data.split_first() else {
                return Err(S7PlusError::Truncated {
                    field: "integrity part",
                    offset: 4,
                });
            };
            tail.get(usize::from(digest_len)..)
                .ok_or(S7PlusError::Truncated {
                    field: "integrity digest",
                    offset: 5,
                })?
        } else {
            data
        };
        Ok(Self {
            version: *version,
            data,
            has_trailer,
        })
    }
}

/// The data header of a request or response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataHeader {
    /// Opcode (see [`opcode`]).
    pub opcode: u8,
    /// Function code (see [`function`]; 0 for notifications).
    pub function: u16,
    /// Sequence number (0 for notifications).
    pub seq: u16,
    /// Session id (requests only).
    pub session: Option<u32>,
}

impl DataHeader {
    /// Parses the opcode and, for requests and responses, the function, sequence number and
    /// (requests) session id.
    pub fn parse(data: &[u8]) -> Result<Self, S7PlusError> {
        let Some((&op, rest)) = data.split_first() else {
            return Err(S7PlusError::Truncated {
                field: "opcode",
                offset: 0,
            });
        };
        if op == opcode::NOTIFICATION {
            return Ok(Self {
                opcode: op,
                function: 0,
                seq: 0,
                session: None,
            });
        }
        let [_, _, f0, f1, _, _, s0, s1, tail @ ..] = rest else {
            return Err(S7PlusError::Truncated {
                field: "function",
                offset: 1,
            });
        };
        let session = match (op, tail) {
            (opcode::REQUEST, [a, b, c, d, ..]) => Some(u32::from_be_bytes([*a, *b, *c, *d])),
            (opcode::REQUEST, _) => {
                return Err(S7PlusError::Truncated {
                    field: "session id",
                    offset: 9,
                })
            }
            _ => None,
        };
        Ok(Self {
            opcode: op,
            function: u16::from_be_bytes([*f0, *f1]),
            seq: u16::from_be_bytes([*s0, *s1]),
            session,
        })
    }
}

/// The operation and category of a request function.
pub fn operation(function: u16) -> (&'static str, EventCategory) {
    use EventCategory::*;
    match function {
        function::EXPLORE => ("explore", Diagnostics),
        function::CREATE_OBJECT => ("create_object", Other),
        function::DELETE_OBJECT => ("delete_object", Other),
        function::SET_VARIABLE => ("set_variable", Write),
        function::GET_VARIABLE => ("get_variable", Read),
        function::ADD_LINK => ("add_link", Other),
        function::REMOVE_LINK => ("remove_link", Other),
        function::GET_LINK => ("get_link", Read),
        function::SET_MULTI_VARIABLES => ("set_multi_variables", Write),
        function::GET_MULTI_VARIABLES => ("get_multi_variables", Read),
        function::BEGIN_SEQUENCE => ("begin_sequence", Other),
        function::END_SEQUENCE => ("end_sequence", Other),
        function::INVOKE => ("invoke", Other),
        function::SET_VAR_SUB_STREAMED => ("set_var_sub_streamed", Write),
        function::GET_VAR_SUB_STREAMED => ("get_var_sub_streamed", Read),
        function::ERROR => ("error", Other),
        _ => ("unknown_function", Other),
    }
}

/// The server session version (`1;6ES7 511-1AK00-0AB0;V1.0`) in a CreateObject response: the
/// first WString value (flags 0, type 0x15, one-byte length) shaped as
/// `<digits>;<order number>;V<version>`. Returns (order number, firmware).
pub fn server_session_version(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let data = &data[..data.len().min(MAX_IDENTITY_SCAN)];
    let mut at = 0;
    while let Some(pos) = data.get(at..)?.windows(2).position(|w| w == [0x00, 0x15]) {
        let start = at + pos + 2;
        at = start;
        let Some(&len) = data.get(start) else {
            break;
        };
        let len = usize::from(len);
        if len >= 0x80 || len > MAX_IDENTITY_LEN {
            continue;
        }
        let Some(text) = data.get(start + 1..start + 1 + len) else {
            continue;
        };
        let mut parts = text.split(|&b| b == b';');
        let (Some(n), Some(order), Some(version), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let order = order.trim_ascii();
        if !n.is_empty()
            && n.iter().all(u8::is_ascii_digit)
            && order.len() >= 8
            && order
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b" -/.".contains(b))
            && version.first() == Some(&b'V')
            && version.iter().all(|b| b.is_ascii_graphic())
        {
            return Some((order, version));
        }
    }
    None
}

/// One S7comm-plus association (both directions of a port-102 connection).
#[derive(Debug, Default)]
pub struct Session {
    /// Per direction: a fragmented PDU is being received (its first frame was read).
    continuing: [bool; 2],
    /// The session id the controller assigned (first object id of the CreateObject response).
    session: Option<u32>,
    /// The protocol version was reported.
    version_reported: bool,
    /// The server session version was reported.
    identity_reported: bool,
}

impl TsduHandler for Session {
    const PROTOCOL: &'static str = "s7comm_plus";

    fn recognises(tsdu: &[u8]) -> bool {
        tsdu.first() == Some(&PROTOCOL_ID)
    }

    fn on_tsdu(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        tsdu: &[u8],
        out: &mut Observations,
    ) {
        let Ok(frame) = Frame::parse(tsdu) else {
            return;
        };
        let fragment = &mut self.continuing[direction.index()];
        let first = !*fragment;
        *fragment = !frame.has_trailer;
        if !first || !matches!(frame.version, 1..=3) {
            return;
        }
        let Ok(header) = DataHeader::parse(frame.data) else {
            return;
        };
        match header.opcode {
            opcode::REQUEST => {
                let (operation, category) = operation(header.function);
                let session = header.session.unwrap_or_default();
                let mut detail = ValueBuf::<64>::new();
                if header.function == function::CREATE_OBJECT && session == SERVER_SESSION_CONTAINER
                {
                    let _ = write!(detail, "session setup, v{}", frame.version);
                } else {
                    let _ = write!(detail, "session 0x{session:x}");
                }
                if operation == "unknown_function" {
                    let _ = write!(detail, ", function 0x{:04x}", header.function);
                }
                out.event(
                    flow,
                    direction,
                    Self::PROTOCOL,
                    category,
                    operation,
                    detail.as_str(),
                );
            }
            opcode::RESPONSE | opcode::RESPONSE2 | opcode::NOTIFICATION => {
                let server = flow.sender(direction);
                if !self.version_reported {
                    self.version_reported = true;
                    let mut service = ValueBuf::<24>::new();
                    let _ = write!(service, "s7comm_plus v{}", frame.version);
                    out.fact_bytes(
                        server,
                        Attribute::Service,
                        service.as_bytes(),
                        Source::S7commPlus,
                        flow.now,
                    );
                    out.fact(
                        server,
                        Attribute::Vendor,
                        "Siemens",
                        Source::S7commPlus,
                        flow.now,
                    );
                }
                if header.function == function::CREATE_OBJECT
                    && header.opcode != opcode::NOTIFICATION
                {
                    self.create_object_response(flow, direction, frame.data, out);
                }
            }
            _ => {}
        }
    }
}

impl Session {
    fn create_object_response(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        data: &[u8],
        out: &mut Observations,
    ) {
        // Opcode, reserved, function, reserved, sequence number, transport flags, then the
        // return value (a varint, 0 on success), the object id count and the first object id:
        // the session.
        if let Some([0x00, count, rest @ ..]) = data.get(10..) {
            if *count > 0 {
                self.session = read_varint(rest);
            }
        }
        if self.identity_reported {
            return;
        }
        let Some((order, firmware)) = server_session_version(data) else {
            return;
        };
        self.identity_reported = true;
        let server = flow.sender(direction);
        let source = Source::S7commPlus;
        out.fact_bytes(server, Attribute::ProductCode, order, source, flow.now);
        out.fact_bytes(server, Attribute::Firmware, firmware, source, flow.now);
        let model = std::str::from_utf8(order)
            .ok()
            .and_then(crate::s7comm::mlfb_model);
        out.fact_bytes(
            server,
            Attribute::Model,
            model.map_or(order, str::as_bytes),
            source,
            flow.now,
        );
    }

    /// The session id the controller assigned, once its CreateObject response was seen.
    pub fn session_id(&self) -> Option<u32> {
        self.session
    }
}

/// A variable-length unsigned integer (7 bits per byte, high bit: more follow), at most 5 bytes.
fn read_varint(bytes: &[u8]) -> Option<u32> {
    let mut value = 0u32;
    for (i, b) in bytes.iter().take(5).enumerate() {
        value = (value << 7) | u32::from(b & 0x7f);
        if b & 0x80 == 0 {
            return Some(value);
        }
        if i == 4 {
            return None;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use ironward_model::{DeviceKey, Timestamp};

    fn flow() -> FlowMeta {
        FlowMeta {
            id: 1,
            transport: crate::Transport::Tcp,
            client: ([10, 0, 0, 1], 50000).into(),
            server: ([10, 0, 0, 2], 102).into(),
            now: Timestamp(1),
            frame: 1,
        }
    }

    fn frame(version: u8, data: &[u8], trailer: bool) -> Vec<u8> {
        let mut out = vec![PROTOCOL_ID, version];
        out.extend_from_slice(&(data.len() as u16).to_be_bytes());
        out.extend_from_slice(data);
        if trailer {
            out.extend_from_slice(&[PROTOCOL_ID, version, 0, 0]);
        }
        out
    }

    fn request(function: u16, session: u32) -> Vec<u8> {
        let mut d = vec![opcode::REQUEST, 0, 0];
        d.extend_from_slice(&function.to_be_bytes());
        d.extend_from_slice(&[0, 0, 0, 7]);
        d.extend_from_slice(&session.to_be_bytes());
        d.extend_from_slice(&[0x36, 0, 0, 0]);
        d
    }

    #[test]
    fn requests_become_events_and_fragments_count_once() {
        let mut s = Session::default();
        let mut out = Observations::default();
        let f = flow();
        let c2s = Direction::ClientToServer;
        s.on_tsdu(
            &f,
            c2s,
            &frame(1, &request(function::CREATE_OBJECT, 0x120), true),
            &mut out,
        );
        s.on_tsdu(
            &f,
            c2s,
            &frame(2, &request(function::GET_MULTI_VARIABLES, 0x386), true),
            &mut out,
        );
        // A fragmented SetMultiVariables: only the first frame is read.
        s.on_tsdu(
            &f,
            c2s,
            &frame(2, &request(function::SET_MULTI_VARIABLES, 0x386), false),
            &mut out,
        );
        s.on_tsdu(
            &f,
            c2s,
            &frame(2, &request(function::EXPLORE, 0x386), false),
            &mut out,
        );
        s.on_tsdu(&f, c2s, &frame(2, &[0x31, 0, 0, 0], true), &mut out);
        // V3 with an integrity part.
        let mut v3 = vec![0x20];
        v3.extend_from_slice(&[0xaa; 32]);
        v3.extend_from_slice(&request(function::SET_VARIABLE, 0x7000_0e4d));
        s.on_tsdu(&f, c2s, &frame(3, &v3, true), &mut out);
        let events = out.events();
        let ops: Vec<(&str, EventCategory, &str)> = events
            .iter()
            .map(|e| (&*e.operation, e.category, e.detail.as_str()))
            .collect();
        assert_eq!(
            ops,
            vec![
                ("create_object", EventCategory::Other, "session setup, v1"),
                ("get_multi_variables", EventCategory::Read, "session 0x386"),
                ("set_multi_variables", EventCategory::Write, "session 0x386"),
                ("set_variable", EventCategory::Write, "session 0x70000e4d"),
            ]
        );
    }

    #[test]
    fn create_object_response_identity() {
        let mut data = vec![
            opcode::RESPONSE,
            0,
            0,
            0x04,
            0xca,
            0,
            0,
            0,
            1,
            0x36,
            0x00,
            0x02,
            0x87,
            0x06,
            0x87,
            0x07,
        ];
        data.extend_from_slice(&[0xa3, 0x82, 0x3f, 0x00, 0x15, 26]);
        data.extend_from_slice(b"1;6ES7 511-1AK00-0AB0;V1.0");
        let mut s = Session::default();
        let mut out = Observations::default();
        let f = flow();
        s.on_tsdu(
            &f,
            Direction::ServerToClient,
            &frame(1, &data, true),
            &mut out,
        );
        assert_eq!(s.session_id(), Some(0x386));
        let facts: Vec<(Attribute, &str)> = out
            .facts()
            .iter()
            .map(|f| (f.attribute, &*f.value))
            .collect();
        assert!(facts.contains(&(Attribute::Service, "s7comm_plus v1")));
        assert!(facts.contains(&(Attribute::ProductCode, "6ES7 511-1AK00-0AB0")));
        assert!(facts.contains(&(Attribute::Firmware, "V1.0")));
        assert!(facts.contains(&(Attribute::Model, "CPU 1511-1 PN")));
        assert!(out
            .facts()
            .iter()
            .all(|fact| fact.subject == DeviceKey::Ip("10.0.0.2".parse().unwrap())));
    }

    #[test]
    fn hostile_frames_are_refused() {
        assert!(Frame::parse(&[]).is_err());
        assert!(Frame::parse(&[0x32, 1, 0, 0]).is_err());
        assert!(Frame::parse(&[0x72, 3, 0, 0]).is_err());
        assert!(Frame::parse(&[0x72, 3, 0, 2, 0x20, 0]).is_err());
        assert!(DataHeader::parse(&[0x31, 0, 0, 4]).is_err());
        assert!(DataHeader::parse(&[0x31, 0, 0, 4, 0xca, 0, 0, 0, 1]).is_err());
        assert_eq!(read_varint(&[0xff; 8]), None);
        assert_eq!(server_session_version(&[0x00, 0x15, 0xff]), None);
        assert_eq!(
            server_session_version(&[0x00, 0x15, 3, b'1', b';', b'x']),
            None
        );
        let mut s = Session::default();
        let mut out = Observations::default();
        for cut in 0..20 {
            let bytes = frame(2, &request(function::EXPLORE, 1), true);
            s.on_tsdu(
                &flow(),
                Direction::ClientToServer,
                &bytes[..cut.min(bytes.len())],
                &mut out,
            );
        }
    }
}
