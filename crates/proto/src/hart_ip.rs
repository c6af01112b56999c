//! HART-IP (UDP and TCP port 5094): detection and identification of HART-IP servers (gateways,
//! multiplexers, HART-IP field devices) and the HART commands hosts send through them.
//!
//! Read: the 8-byte header (version, message type request/response/publish/error/NAK, message
//! id session initiate/close, keep alive, pass-through, status, sequence number, byte count)
//! of every message, over TCP (several per segment, split across segments, through
//! [`crate::framing`]) and UDP (one per datagram); in pass-through messages the HART PDU
//! (delimiter, short or long address, expansion bytes, command, byte count, response code and
//! device status, data; command 31's 16-bit expanded command number).
//!
//! Facts, about the HART-IP server (the sender of a response), from replies to:
//! * command 0 (Read Unique Identifier): `ProductCode` `hart:0x<manufacturer>-0x<expanded
//!   device type>` (no vendor name: no public manufacturer table is shipped), `Serial` the
//!   device id as hex (`0000d2`, as Wireshark shows it), `Firmware` the device software
//!   revision, `Hardware` the hardware revision, `ProtocolAddress` `hart:<long address>`;
//! * command 13 (tag, packed ASCII) and 20 (long tag): `Hostname` (blank tags, all `@` or
//!   spaces in packed ASCII, are left out).
//!
//! A gateway relays commands to the devices behind it, whose replies describe *them*: identity
//! facts are reported only for the HART-IP server itself, i.e. replies to short-frame
//! (polling address) commands, and long-frame replies to the long address the server gave for
//! itself in such a reply, or, when it never did, as long as the flow addresses one single
//! long address.
//!
//! Events, from the host: `session_initiate`, `session_close`, `keep_alive` (Other);
//! each pass-through command by its HART name and category ([`command`]): universal and
//! common-practice reads → Read (0, 1, 2, 3, 7–9, 12–16, 20, 33, 48, 50, 54, 90), writes and
//! calibrations → Write (6, 17–19, 22, 34–38, 43–47, 49, 51, 53, 59, 79), identification by
//! tag or polling of sub-devices → Discovery (11, 21, 73, 74, 84), 40 → ControlCommand,
//! 41 and 72 → Diagnostics, 42 → ModeChange, 89 → TimeSync, other commands → Other;
//! published (burst) PDUs → `publish` (Read) from the device; error replies (message type
//! error/NAK, header status, HART response codes that are errors, communication errors) →
//! `error_response` in the request's category.
//!
//! Bounds: messages longer than [`MAX_MESSAGE`] are skipped by length.

use std::fmt::Write as _;

use ironward_model::{Attribute, EventCategory, Source};

use crate::framing::{self, Framed, Side};
use crate::value::ValueBuf;
use crate::{
    Direction, Dissector, DissectorFactory, DissectorRegistry, FlowMeta, Observations, StreamChunk,
    Transport,
};

/// The registered HART-IP port.
pub const PORT: u16 = 5094;

/// Length of the HART-IP header.
pub const HEADER_LEN: usize = 8;

/// Largest message read whole (HART PDUs are at most a few hundred bytes).
pub const MAX_MESSAGE: usize = 2048;

/// Most bytes of written data shown in an event detail (as hex).
pub const MAX_VALUE_BYTES: usize = 16;

/// Message types.
pub mod message_type {
    /// Request.
    pub const REQUEST: u8 = 0;
    /// Response.
    pub const RESPONSE: u8 = 1;
    /// Publish (burst) notification.
    pub const PUBLISH: u8 = 2;
    /// Error.
    pub const ERROR: u8 = 3;
    /// NAK.
    pub const NAK: u8 = 15;
}

/// Message ids.
pub mod message_id {
    /// Session Initiate.
    pub const SESSION_INITIATE: u8 = 0;
    /// Session Close.
    pub const SESSION_CLOSE: u8 = 1;
    /// Keep Alive.
    pub const KEEP_ALIVE: u8 = 2;
    /// Pass-through (token-passing) HART PDU.
    pub const PASS_THROUGH: u8 = 3;
    /// Direct PDU (HART-IP 2).
    pub const DIRECT_PDU: u8 = 4;
    /// Read Audit Log.
    pub const READ_AUDIT_LOG: u8 = 128;
}

/// Why a HART-IP message could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HartIpError {
    /// The input ends before `field`, which starts at `offset`.
    Truncated {
        /// The field that is cut.
        field: &'static str,
        /// Where it starts.
        offset: usize,
    },
    /// Not a HART-IP header (version, message type or id unknown, byte count under 8).
    NotHartIp,
    /// A HART delimiter whose frame type is not STX, ACK or BACK.
    BadDelimiter(u8),
}

impl std::fmt::Display for HartIpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Truncated { field, offset } => {
                write!(f, "HART-IP message truncated at {field} (offset {offset})")
            }
            Self::NotHartIp => f.write_str("not a HART-IP header"),
            Self::BadDelimiter(d) => write!(f, "HART delimiter 0x{d:02x} unknown"),
        }
    }
}

impl std::error::Error for HartIpError {}

fn cut(field: &'static str, offset: usize) -> HartIpError {
    HartIpError::Truncated { field, offset }
}

/// The HART-IP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Version (1 or 2).
    pub version: u8,
    /// Message type (see [`message_type`]).
    pub message_type: u8,
    /// Message id (see [`message_id`]).
    pub message_id: u8,
    /// Status.
    pub status: u8,
    /// Sequence number.
    pub sequence: u16,
    /// Byte count of the whole message, header included.
    pub length: u16,
}

impl Header {
    /// Reads and checks the header at the start of `input`.
    pub fn parse(input: &[u8]) -> Result<Self, HartIpError> {
        let Some(&[version, message_type, message_id, status, s0, s1, l0, l1]) =
            input.get(..HEADER_LEN)
        else {
            return Err(cut("header", 0));
        };
        let header = Self {
            version,
            message_type,
            message_id,
            status,
            sequence: u16::from_be_bytes([s0, s1]),
            length: u16::from_be_bytes([l0, l1]),
        };
        let known_type = matches!(message_type, 0..=3 | message_type::NAK);
        let known_id = matches!(message_id, 0..=4 | message_id::READ_AUDIT_LOG);
        if !(1..=2).contains(&version)
            || !known_type
            || !known_id
            || usize::from(header.length) < HEADER_LEN
        {
            return Err(HartIpError::NotHartIp);
        }
        Ok(header)
    }
}

/// The address of a HART PDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Address {
    /// Short frame: polling address (low 6 bits of the address byte).
    Polling(u8),
    /// Long frame: 5-byte unique address (the top two bits, master and burst flags, cleared).
    Long([u8; 5]),
}

/// A HART PDU carried by a pass-through message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pdu<'a> {
    /// Delimiter.
    pub delimiter: u8,
    /// Address.
    pub address: Address,
    /// Command number (command 31 replaced by its 16-bit expanded number).
    pub command: u16,
    /// Response code and device status, for replies (ACK, BACK).
    pub status: Option<(u8, u8)>,
    /// Data (after the expanded command number, for command 31).
    pub data: &'a [u8],
}

impl<'a> Pdu<'a> {
    /// Reads a PDU.
    pub fn parse(pdu: &'a [u8]) -> Result<Self, HartIpError> {
        let delimiter = *pdu.first().ok_or(cut("delimiter", 0))?;
        let reply = match delimiter & 0x07 {
            2 => false,
            1 | 6 => true,
            _ => return Err(HartIpError::BadDelimiter(delimiter)),
        };
        let (address, mut at) = if delimiter & 0x80 != 0 {
            match pdu.get(1..6) {
                Some(&[a, b, c, d, e]) => (Address::Long([a & 0x3f, b, c, d, e]), 6),
                _ => return Err(cut("long address", 1)),
            }
        } else {
            let a = *pdu.get(1).ok_or(cut("short address", 1))?;
            (Address::Polling(a & 0x3f), 2)
        };
        at += usize::from((delimiter >> 5) & 0x03);
        let command = *pdu.get(at).ok_or(cut("command", at))?;
        let count = usize::from(*pdu.get(at + 1).ok_or(cut("byte count", at + 1))?);
        let body = pdu.get(at + 2..at + 2 + count).ok_or(cut("data", at + 2))?;
        let (status, mut data) = match (reply, body) {
            (true, [code, device, rest @ ..]) => (Some((*code, *device)), rest),
            (true, _) => return Err(cut("response code", at + 2)),
            (false, rest) => (None, rest),
        };
        let mut command = u16::from(command);
        if command == 31 {
            if let [hi, lo, rest @ ..] = data {
                command = u16::from_be_bytes([*hi, *lo]);
                data = rest;
            }
        }
        Ok(Self {
            delimiter,
            address,
            command,
            status,
            data,
        })
    }
}

/// Command 0 (Read Unique Identifier) reply data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UniqueIdentifier {
    /// Manufacturer id (HART 7: 16-bit, bytes 17–18; earlier: byte 1).
    pub manufacturer: u16,
    /// Expanded device type (HART 7) or device type (byte 2, earlier revisions).
    pub device_type: u16,
    /// HART universal revision.
    pub universal_revision: u8,
    /// Device revision.
    pub device_revision: u8,
    /// Device software revision.
    pub software_revision: u8,
    /// Hardware revision (top 5 bits of byte 7).
    pub hardware_revision: u8,
    /// Device id (3 bytes).
    pub device_id: [u8; 3],
}

impl UniqueIdentifier {
    /// Reads the reply data (after response code and device status).
    pub fn parse(data: &[u8]) -> Result<Self, HartIpError> {
        let Some(&[_, b1, b2, _, universal, device_rev, software, hw, _, i0, i1, i2]) =
            data.get(..12)
        else {
            return Err(cut("unique identifier", 0));
        };
        let (manufacturer, device_type) = if universal >= 7 {
            match data.get(17..19) {
                Some(&[m0, m1]) => (u16::from_be_bytes([m0, m1]), u16::from_be_bytes([b1, b2])),
                _ => return Err(cut("manufacturer id", 17)),
            }
        } else {
            (u16::from(b1), u16::from(b2))
        };
        Ok(Self {
            manufacturer,
            device_type,
            universal_revision: universal,
            device_revision: device_rev,
            software_revision: software,
            hardware_revision: hw >> 3,
            device_id: [i0, i1, i2],
        })
    }

    /// The long address this identifier gives (expanded device type's low 14 bits, device id).
    pub fn long_address(&self) -> [u8; 5] {
        let [hi, lo] = self.device_type.to_be_bytes();
        let [a, b, c] = self.device_id;
        [hi & 0x3f, lo, a, b, c]
    }
}

/// Unpacks HART packed ASCII (four 6-bit characters per three bytes) into `buf`.
pub fn unpack_ascii<const N: usize>(packed: &[u8], buf: &mut ValueBuf<N>) {
    for chunk in packed.chunks_exact(3) {
        let &[a, b, c] = chunk else { continue };
        let bits = u32::from(a) << 16 | u32::from(b) << 8 | u32::from(c);
        for shift in [18, 12, 6, 0] {
            let c = ((bits >> shift) & 0x3f) as u8;
            buf.push_bytes(&[if c < 0x20 { c + 0x40 } else { c }]);
        }
    }
}

/// What a HART command does: its name and category.
pub fn command(command: u16) -> (&'static str, EventCategory) {
    use EventCategory::*;
    match command {
        0 => ("read_unique_identifier", Read),
        1 => ("read_primary_variable", Read),
        2 => ("read_loop_current_and_percent_of_range", Read),
        3 => ("read_dynamic_variables_and_loop_current", Read),
        6 => ("write_polling_address", Write),
        7 => ("read_loop_configuration", Read),
        8 => ("read_dynamic_variable_classifications", Read),
        9 => ("read_device_variables_with_status", Read),
        11 => ("read_unique_identifier_associated_with_tag", Discovery),
        12 => ("read_message", Read),
        13 => ("read_tag_descriptor_date", Read),
        14 => ("read_primary_variable_transducer_information", Read),
        15 => ("read_device_information", Read),
        16 => ("read_final_assembly_number", Read),
        17 => ("write_message", Write),
        18 => ("write_tag_descriptor_date", Write),
        19 => ("write_final_assembly_number", Write),
        20 => ("read_long_tag", Read),
        21 => ("read_unique_identifier_associated_with_long_tag", Discovery),
        22 => ("write_long_tag", Write),
        33 => ("read_device_variables", Read),
        34 => ("write_primary_variable_damping_value", Write),
        35 => ("write_primary_variable_range_values", Write),
        36 => ("set_primary_variable_upper_range_value", Write),
        37 => ("set_primary_variable_lower_range_value", Write),
        38 => ("reset_configuration_changed_flag", Write),
        40 => ("enter_exit_fixed_current_mode", ControlCommand),
        41 => ("perform_self_test", Diagnostics),
        42 => ("perform_device_reset", ModeChange),
        43 => ("set_primary_variable_zero", Write),
        44 => ("write_primary_variable_units", Write),
        45 => ("trim_loop_current_zero", Write),
        46 => ("trim_loop_current_gain", Write),
        47 => ("write_primary_variable_transfer_function", Write),
        48 => ("read_additional_device_status", Read),
        49 => ("write_primary_variable_transducer_serial_number", Write),
        50 => ("read_dynamic_variable_assignments", Read),
        51 => ("write_dynamic_variable_assignments", Write),
        53 => ("write_device_variable_units", Write),
        54 => ("read_device_variable_information", Read),
        59 => ("write_number_of_response_preambles", Write),
        72 => ("squawk", Diagnostics),
        73 => ("find_device", Discovery),
        74 => ("read_io_system_capabilities", Discovery),
        79 => ("write_device_variable", Write),
        84 => ("read_sub_device_identity_summary", Discovery),
        89 => ("set_real_time_clock", TimeSync),
        90 => ("read_real_time_clock", Read),
        128..=253 => ("device_specific_command", Other),
        _ => ("hart_command", Other),
    }
}

/// Whether a HART response code is an error (warnings 8, 14, 30, 31 and 96–111 are not;
/// bit 7 marks a communication error).
pub fn is_error(code: u8) -> bool {
    code != 0 && !matches!(code, 8 | 14 | 30 | 31 | 96..=111)
}

/// The strict content check used off port 5094: a HART-IP header whose byte count is the
/// whole payload.
pub fn looks_like_hart_ip(payload: &[u8]) -> bool {
    Header::parse(payload).is_ok_and(|h| usize::from(h.length) == payload.len())
}

/// Adds the HART-IP dissector to `registry`.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register(Box::new(HartIpFactory));
}

/// Takes TCP and UDP flows on port 5094, and flows on any port starting with a whole HART-IP
/// message (a UDP server may answer from another port than 5094).
#[derive(Debug, Clone, Copy, Default)]
pub struct HartIpFactory;

impl DissectorFactory for HartIpFactory {
    fn protocol(&self) -> &'static str {
        "hart_ip"
    }

    fn select(
        &self,
        flow: &FlowMeta,
        _direction: Direction,
        first_payload: &[u8],
    ) -> Option<Box<dyn Dissector>> {
        let on_port = flow.server.port() == PORT || flow.client.port() == PORT;
        let ip = matches!(flow.transport, Transport::Tcp | Transport::Udp);
        let take = ip && (on_port || looks_like_hart_ip(first_payload));
        take.then(|| Box::<HartIpDissector>::default() as Box<dyn Dissector>)
    }
}

/// Per-flow HART-IP state.
#[derive(Debug, Default)]
pub struct HartIpDissector {
    sides: [Side; 2],
    /// The long address the server gave for itself (command 0 by polling address).
    own: Option<[u8; 5]>,
    /// The long address hosts sent commands to, when there was one only.
    addressed: Option<[u8; 5]>,
    /// Hosts addressed several long addresses.
    several: bool,
}

impl Framed for HartIpDissector {
    fn sides(&mut self) -> &mut [Side; 2] {
        &mut self.sides
    }
}

impl HartIpDissector {
    /// Reads the messages in `view`; returns how many bytes were used.
    fn messages(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        view: &[u8],
        out: &mut Observations,
    ) -> usize {
        let mut at = 0;
        while let Some(rest) = view.get(at..).filter(|r| !r.is_empty()) {
            let header = match Header::parse(rest) {
                Ok(h) => h,
                Err(HartIpError::Truncated { .. }) => return at,
                Err(_) => {
                    self.sides[direction.index()].done = true;
                    return view.len();
                }
            };
            let total = usize::from(header.length);
            if total > MAX_MESSAGE {
                if rest.len() < total {
                    self.sides[direction.index()].skip = total - rest.len();
                    return view.len();
                }
                at += total;
                continue;
            }
            let Some(message) = rest.get(..total) else {
                return at;
            };
            self.message(flow, direction, &header, message, out);
            at += total;
        }
        at
    }

    /// One whole message.
    fn message(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        header: &Header,
        message: &[u8],
        out: &mut Observations,
    ) {
        let body = message.get(HEADER_LEN..).unwrap_or_default();
        let request_dir = match header.message_type {
            message_type::REQUEST => direction,
            _ => direction.reverse(),
        };
        let failed = matches!(header.message_type, message_type::ERROR | message_type::NAK)
            || (header.message_type == message_type::RESPONSE && header.status != 0);
        if header.message_type != message_type::REQUEST && !failed {
            out.fact(
                flow.sender(direction),
                Attribute::Service,
                "hart_ip",
                Source::HartIp,
                flow.now,
            );
        }
        let pdu = if header.message_id == message_id::PASS_THROUGH {
            Pdu::parse(body).ok()
        } else {
            None
        };
        if failed {
            let (name, category) = match (&pdu, header.message_id) {
                (Some(pdu), _) => command(pdu.command),
                (None, message_id::SESSION_INITIATE) => ("session_initiate", EventCategory::Other),
                (None, message_id::SESSION_CLOSE) => ("session_close", EventCategory::Other),
                (None, message_id::KEEP_ALIVE) => ("keep_alive", EventCategory::Other),
                _ => ("message", EventCategory::Other),
            };
            let mut detail = ValueBuf::<96>::new();
            let _ = write!(
                detail,
                "{name} message_type {} status {}",
                header.message_type, header.status
            );
            out.event(
                flow,
                request_dir,
                "hart_ip",
                category,
                "error_response",
                detail.as_str(),
            );
            return;
        }
        match (header.message_type, header.message_id) {
            (message_type::REQUEST, message_id::SESSION_INITIATE) => {
                let host = match body.first() {
                    Some(1) => "primary host",
                    Some(0) => "secondary host",
                    _ => "",
                };
                out.event(
                    flow,
                    direction,
                    "hart_ip",
                    EventCategory::Other,
                    "session_initiate",
                    host,
                );
            }
            (message_type::REQUEST, message_id::SESSION_CLOSE) => {
                out.event(
                    flow,
                    direction,
                    "hart_ip",
                    EventCategory::Other,
                    "session_close",
                    "",
                );
            }
            (message_type::REQUEST, message_id::KEEP_ALIVE) => {
                out.event(
                    flow,
                    direction,
                    "hart_ip",
                    EventCategory::Other,
                    "keep_alive",
                    "",
                );
            }
            (message_type::REQUEST, message_id::PASS_THROUGH) => {
                if let Some(pdu) = pdu {
                    self.request(flow, direction, &pdu, out);
                }
            }
            (message_type::RESPONSE, message_id::PASS_THROUGH) => {
                if let Some(pdu) = pdu {
                    self.reply(flow, direction, &pdu, out);
                }
            }
            (message_type::PUBLISH, message_id::PASS_THROUGH) => {
                if let Some(pdu) = pdu {
                    let mut detail = ValueBuf::<64>::new();
                    let _ = write!(detail, "command {}", pdu.command);
                    out.event(
                        flow,
                        direction,
                        "hart_ip",
                        EventCategory::Read,
                        "publish",
                        detail.as_str(),
                    );
                }
            }
            _ => {}
        }
    }

    fn request(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        pdu: &Pdu<'_>,
        out: &mut Observations,
    ) {
        if let Address::Long(address) = pdu.address {
            match self.addressed {
                None => self.addressed = Some(address),
                Some(seen) if seen != address => self.several = true,
                Some(_) => {}
            }
        }
        let (name, category) = command(pdu.command);
        let mut detail = ValueBuf::<128>::new();
        let _ = write!(detail, "command {} ", pdu.command);
        push_address(&mut detail, pdu.address);
        if category != EventCategory::Read && !pdu.data.is_empty() {
            detail.push_bytes(b" data ");
            detail.push_hex(pdu.data.get(..MAX_VALUE_BYTES).unwrap_or(pdu.data));
            if pdu.data.len() > MAX_VALUE_BYTES {
                detail.push_bytes("…".as_bytes());
            }
        }
        out.event(flow, direction, "hart_ip", category, name, detail.as_str());
    }

    fn reply(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        pdu: &Pdu<'_>,
        out: &mut Observations,
    ) {
        let (code, _) = pdu.status.unwrap_or((0, 0));
        if is_error(code) {
            let (name, category) = command(pdu.command);
            let mut detail = ValueBuf::<128>::new();
            let _ = write!(detail, "{name} response code {code}");
            out.event(
                flow,
                direction.reverse(),
                "hart_ip",
                category,
                "error_response",
                detail.as_str(),
            );
            return;
        }
        let identifier = match pdu.command {
            0 => UniqueIdentifier::parse(pdu.data).ok(),
            _ => None,
        };
        if let (Address::Polling(_), Some(id)) = (pdu.address, &identifier) {
            self.own = Some(id.long_address());
        }
        let about_server = match (pdu.address, self.own) {
            (Address::Polling(_), _) => true,
            (Address::Long(address), Some(own)) => address == own,
            (Address::Long(_), None) => !self.several,
        };
        if !about_server {
            return;
        }
        let (who, now, src) = (flow.sender(direction), flow.now, Source::HartIp);
        let mut buf = ValueBuf::<64>::new();
        match (pdu.command, identifier) {
            (0, Some(id)) => {
                let _ = write!(
                    buf,
                    "hart:0x{:02x}-0x{:04x}",
                    id.manufacturer, id.device_type
                );
                out.fact(who, Attribute::ProductCode, buf.as_str(), src, now);
                buf.clear();
                buf.push_hex(&id.device_id);
                out.fact(who, Attribute::Serial, buf.as_str(), src, now);
                buf.clear();
                buf.push_u64(u64::from(id.software_revision));
                out.fact(who, Attribute::Firmware, buf.as_str(), src, now);
                buf.clear();
                buf.push_u64(u64::from(id.hardware_revision));
                out.fact(who, Attribute::Hardware, buf.as_str(), src, now);
                buf.clear();
                buf.push_bytes(b"hart:");
                buf.push_hex(&id.long_address());
                out.fact(who, Attribute::ProtocolAddress, buf.as_str(), src, now);
            }
            (13, _) => {
                unpack_ascii(pdu.data.get(..6).unwrap_or_default(), &mut buf);
                let tag = buf.as_str().trim_end_matches(['@', ' ']);
                out.fact(who, Attribute::Hostname, tag, src, now);
            }
            (20, _) => {
                let tag = pdu.data.get(..32).unwrap_or(pdu.data);
                let end = tag.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
                out.fact_bytes(
                    who,
                    Attribute::Hostname,
                    tag.get(..end).unwrap_or_default(),
                    src,
                    now,
                );
            }
            _ => {}
        }
    }
}

/// Appends `polling 0` or `address 264e0000d2`.
fn push_address<const N: usize>(buf: &mut ValueBuf<N>, address: Address) {
    match address {
        Address::Polling(a) => {
            buf.push_bytes(b"polling ");
            buf.push_u64(u64::from(a));
        }
        Address::Long(a) => {
            buf.push_bytes(b"address ");
            buf.push_hex(&a);
        }
    }
}

impl Dissector for HartIpDissector {
    fn protocol(&self) -> &'static str {
        "hart_ip"
    }

    fn on_datagram(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        payload: &[u8],
        out: &mut Observations,
    ) {
        let Ok(header) = Header::parse(payload) else {
            return;
        };
        if let Some(message) = payload.get(..usize::from(header.length)) {
            self.message(flow, direction, &header, message, out);
        }
    }

    fn on_stream(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        chunk: StreamChunk<'_>,
        out: &mut Observations,
    ) {
        framing::feed(self, direction.index(), chunk, MAX_MESSAGE, |this, view| {
            this.messages(flow, direction, view, out)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::hex;
    use ironward_model::Timestamp;

    use Direction::{ClientToServer as C, ServerToClient as S};

    fn flow(transport: Transport) -> FlowMeta {
        FlowMeta {
            id: 1,
            transport,
            client: ([192, 168, 0, 101], 49559).into(),
            server: ([192, 168, 0, 10], PORT).into(),
            now: Timestamp(1),
            frame: 1,
        }
    }

    // iti_hart_ip.pcapng, TCP session (frames 76, 78, 80, 81) and UDP frames 17, 18.
    const INITIATE: &str = "0100000000020 00d0100007530";
    const INITIATE_REPLY: &str = "01010000000200 0d010000ea60";
    const CMD0_SHORT: &str = "0100030000030 00d0200000002";
    const CMD0_SHORT_REPLY: &str =
        "0101030000030025 06000018 00d0fe264e0507 04010e0c0000d205020002d0002600 2684de";
    const CMD20: &str = "0100030000090 011 82264e0000d2140000";
    const CMD20_REPLY: &str = "010103000 00a0033 86264e0000d21422 00d0 7769686172746777\
        000000000000000000000000000000000000000000000000 db";

    type Run = (
        Vec<(bool, Attribute, String)>,
        Vec<(String, EventCategory, String, bool)>,
    );

    fn run(transport: Transport, messages: &[(Direction, Vec<u8>)]) -> Run {
        let f = flow(transport);
        let mut d = HartIpFactory
            .select(&f, messages[0].0, &messages[0].1)
            .expect("selected");
        let mut out = Observations::default();
        for (dir, bytes) in messages {
            match transport {
                Transport::Udp => d.on_datagram(&f, *dir, bytes, &mut out),
                _ => d.on_stream(&f, *dir, StreamChunk::Data(bytes), &mut out),
            }
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
            .map(|e| {
                let from_client = e.src.ip == Some(f.client.ip());
                (e.operation.into_owned(), e.category, e.detail, from_client)
            })
            .collect();
        (facts, events)
    }

    #[test]
    fn real_session_over_tcp_split_and_coalesced() {
        let client: Vec<u8> = [INITIATE, CMD0_SHORT, CMD20]
            .iter()
            .flat_map(|m| hex(m))
            .collect();
        let server: Vec<u8> = [INITIATE_REPLY, CMD0_SHORT_REPLY, CMD20_REPLY]
            .iter()
            .flat_map(|m| hex(m))
            .collect();
        // Whole streams in one chunk each; then byte by byte, interleaved.
        let whole = run(Transport::Tcp, &[(C, client.clone()), (S, server.clone())]);
        let mut bytes = Vec::new();
        for i in 0..client.len().max(server.len()) {
            if let Some(b) = client.get(i) {
                bytes.push((C, vec![*b]));
            }
            if let Some(b) = server.get(i) {
                bytes.push((S, vec![*b]));
            }
        }
        let split = run(Transport::Tcp, &bytes);
        assert_eq!(whole.1, split.1);
        let (facts, events) = whole;
        let server_facts: Vec<(Attribute, &str)> = facts
            .iter()
            .filter(|f| f.0)
            .map(|(_, a, v)| (*a, v.as_str()))
            .collect();
        assert_eq!(
            server_facts,
            vec![
                (Attribute::Service, "hart_ip"),
                (Attribute::ProductCode, "hart:0x26-0x264e"),
                (Attribute::Serial, "0000d2"),
                (Attribute::Firmware, "1"),
                (Attribute::Hardware, "1"),
                (Attribute::ProtocolAddress, "hart:264e0000d2"),
                (Attribute::Hostname, "wihartgw"),
            ]
        );
        let ops: Vec<(&str, &str)> = events
            .iter()
            .map(|(o, _, d, _)| (o.as_str(), d.as_str()))
            .collect();
        assert_eq!(
            ops,
            vec![
                ("session_initiate", "primary host"),
                ("read_unique_identifier", "command 0 polling 0"),
                ("read_long_tag", "command 20 address 264e0000d2"),
            ]
        );
        assert!(events.iter().all(|e| e.3 && e.1 != EventCategory::Write));
    }

    #[test]
    fn writes_errors_and_sub_devices() {
        // Write tag (18) to a device behind the gateway, refused with response code 7
        // (in write protect mode); then command 0 of two sub-devices: no identity facts.
        let mut write = hex("0100030000050000 82 264e0000d3 12 15");
        write.extend_from_slice(&[0x41; 21]);
        write.push(0);
        let len = write.len() as u16;
        write[6..8].copy_from_slice(&len.to_be_bytes());
        let refused = {
            let mut m = hex("0101030000050000 86 264e0000d3 12 02 0700 00");
            let len = m.len() as u16;
            m[6..8].copy_from_slice(&len.to_be_bytes());
            m
        };
        let sub0 = |last: u8| {
            let mut m = hex("0100030000060000 82 264e0000 00 00 00 00");
            m[13] = last;
            let len = m.len() as u16;
            m[6..8].copy_from_slice(&len.to_be_bytes());
            m
        };
        let sub0_reply = {
            let mut m = hex(CMD0_SHORT_REPLY);
            // Turn the short-frame reply into a long-frame one to 264e0000d3.
            m.splice(8..10, hex("86264e0000d3"));
            let len = m.len() as u16;
            m[6..8].copy_from_slice(&len.to_be_bytes());
            m
        };
        let (facts, events) = run(
            Transport::Udp,
            &[
                (C, write),
                (S, refused),
                (C, sub0(0xd3)),
                (C, sub0(0xd4)),
                (S, sub0_reply),
            ],
        );
        assert!(facts.iter().all(|f| f.1 == Attribute::Service), "{facts:?}");
        assert_eq!(events[0].0, "write_tag_descriptor_date");
        assert_eq!(events[0].1, EventCategory::Write);
        assert!(events[0]
            .2
            .starts_with("command 18 address 264e0000d3 data 414141"));
        assert_eq!(
            (
                events[1].0.as_str(),
                events[1].1,
                events[1].2.as_str(),
                events[1].3
            ),
            (
                "error_response",
                EventCategory::Write,
                "write_tag_descriptor_date response code 7",
                true
            )
        );
    }

    #[test]
    fn headers_pdus_and_garbage() {
        assert_eq!(Header::parse(&hex(INITIATE)).unwrap().length, 13);
        assert_eq!(Header::parse(&[1, 0, 0]), Err(cut("header", 0)));
        assert_eq!(
            Header::parse(&[9, 0, 0, 0, 0, 0, 0, 8]),
            Err(HartIpError::NotHartIp)
        );
        assert_eq!(
            Header::parse(&[1, 0, 0, 0, 0, 0, 0, 7]),
            Err(HartIpError::NotHartIp)
        );
        assert!(looks_like_hart_ip(&hex(INITIATE)));
        assert!(!looks_like_hart_ip(b"GET / HTTP/1.1\r\n\r\n"));
        assert_eq!(Pdu::parse(&[0x03]), Err(HartIpError::BadDelimiter(3)));
        assert_eq!(Pdu::parse(&[0x82, 1, 2]), Err(cut("long address", 1)));
        assert_eq!(Pdu::parse(&[0x06, 0, 0, 0]), Err(cut("response code", 4)));
        // Command 31 carries the expanded command number.
        let pdu = Pdu::parse(&[0x02, 0x00, 31, 3, 0x02, 0x00, 0x99]).unwrap();
        assert_eq!(pdu.command, 512);
        assert_eq!(pdu.data, &[0x99]);
        let mut tag = ValueBuf::<16>::new();
        unpack_ascii(&[0, 0, 0, 0, 0, 0], &mut tag);
        assert_eq!(tag.as_str(), "@@@@@@@@");
        tag.clear();
        // "TT-101  " packed.
        unpack_ascii(&[0x51, 0x4b, 0x71, 0xc3, 0x18, 0x20], &mut tag);
        assert_eq!(tag.as_str(), "TT-101  ");
        // Garbage on the TCP stream ends the direction without events.
        let (_, events) = run(Transport::Tcp, &[(C, hex(INITIATE)), (C, vec![0xff; 40])]);
        assert_eq!(events.len(), 1);
        assert!(is_error(7) && is_error(0x80) && !is_error(8) && !is_error(0));
    }
}
