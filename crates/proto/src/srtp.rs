//! GE SRTP (Service Request Transport Protocol), the GE Fanuc / Emerson Series 90 and
//! PACSystems programming and HMI protocol, over TCP port 18245 (18246 is used by redundant
//! and newer CPUs).
//!
//! Layout (GE documents no public specification; the facts come from the DFRWS 2017 paper
//! "Leveraging the SRTP protocol for over-the-network memory acquisition of a GE Fanuc Series
//! 90-30" (Denton et al.), the public GE SRTP Wireshark plugin and the open gesrtp-py driver's
//! notes): every message is a 56-byte header followed by a text buffer whose length is the
//! little-endian u16 at offset 4. Offset 0 is the type (0x02 request, 0x03 response; a
//! connection starts with an all-zero 56-byte message that the PLC answers with type 0x01),
//! 2 the sequence number, 30 the mailbox sequence number, 31 the mailbox type (0xC0 initial
//! request, 0x80 initial request with text buffer, 0xD4 completion ACK, 0x94 completion ACK
//! with text buffer, 0xD1 error NACK), 32/36 the source and destination mailbox ids, 42 the
//! service request code (requests) or the status code / major error status (responses).
//! Memory services carry a segment selector, a 0-based offset and a length (u16 LE) at 43,
//! 44 and 46 in 0xC0 requests and at 51, 52 and 54 in 0x80 requests (whose text buffer holds
//! the values written). 0xD1 carries the minor error status at 43. ACKs end with the
//! "piggyback" status: control program number (50), privilege level (51), last sweep time
//! (52) and the PLC status word (54; bit 8 the run/stop switch, bits 12-15 the PLC state:
//! 0 run I/O enabled, 1 run I/O disabled, 2 stop I/O disabled, 3 stop faulted, 4 halted,
//! 5 suspended, 6 stop I/O enabled).
//!
//! Events (src = requester): `connection_init` (Other) for the all-zero opening, one per
//! service request, named after the service (`plc_short_status`, `read_system_memory`,
//! `write_system_memory`, `programmer_logon`, `set_plc_state`, `program_store`, …, see
//! [`service`]) with, for memory services, the reference (`%R1 (4 words)`) and for writes
//! the first values; error NACKs become `error_response` events with the major and minor
//! status in the failed service's category. Facts (about the responder): Service `srtp`;
//! State from the piggyback status word of every ACK (`run`, `run (outputs disabled)`,
//! `stop`, `stop (outputs enabled)`, `fault`, `halted`, `suspended`, with the switch:
//! `run (key: run)`).
//!
//! GE's terms: "store" moves a program from the programmer into the PLC and "load" from the
//! PLC to the programmer, so `program_store` is a ProgramDownload and `program_load` a
//! ProgramUpload. Not decoded: the answer of "return controller type and ID" (0x43; its text
//! buffer layout is not public), program and file contents, read data.
//!
//! Bounds: one message's header and at most [`MAX_TEXT`] bytes of its text buffer are read
//! (the rest is skipped by its length); values shown of a write: [`MAX_VALUES`].

use std::fmt::{self, Write as _};

use ironward_model::{Attribute, EventCategory, Source};

use crate::framing::{self, Framed, Side};
use crate::value::ValueBuf;
use crate::{
    Direction, Dissector, DissectorFactory, DissectorRegistry, FlowMeta, Observations, StreamChunk,
    Transport,
};

/// SRTP ports.
pub const PORTS: [u16; 2] = [18245, 18246];
/// The fixed message header length.
pub const HEADER: usize = 56;
/// Text buffer bytes read of one message (enough for the values shown).
pub const MAX_TEXT: usize = 1024;
/// Values of a write shown in the event detail.
pub const MAX_VALUES: usize = 4;

const PROTOCOL: &str = "srtp";

/// What was wrong with an SRTP message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SrtpError {
    /// Fewer than 56 bytes (at `offset` the header ends early).
    Truncated {
        /// Where the bytes end.
        offset: usize,
    },
    /// The type at 0 is not 0x00-0x03.
    BadType(u8),
    /// The mailbox type at 31 is not one of the five known.
    BadMailboxType(u8),
}

impl fmt::Display for SrtpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { offset } => write!(f, "SRTP header truncated at {offset}"),
            Self::BadType(t) => write!(f, "SRTP type {t:#04x} at 0 unknown"),
            Self::BadMailboxType(t) => write!(f, "SRTP mailbox type {t:#04x} at 31 unknown"),
        }
    }
}

impl std::error::Error for SrtpError {}

/// The kind of an SRTP message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The all-zero connection opening (type 0x00).
    Init,
    /// The PLC's answer to it (type 0x01).
    InitResponse,
    /// An initial request (0xC0) or one with a text buffer (0x80).
    Request,
    /// A completion ACK (0xD4) or one with a text buffer (0x94).
    Ack,
    /// An error NACK (0xD1).
    Nack,
}

/// One SRTP message: its 56-byte header and the part of its text buffer at hand, zero-copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    /// What the message is.
    pub kind: Kind,
    /// The header.
    pub header: &'a [u8; HEADER],
    /// The text buffer's length as declared.
    pub text_length: usize,
    /// The text buffer bytes present (at most the declared length).
    pub text: &'a [u8],
}

impl<'a> Message<'a> {
    /// Parses the message at the start of `bytes` (the text buffer may be incomplete).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, SrtpError> {
        let Some(header) = bytes
            .get(..HEADER)
            .and_then(|h| <&[u8; HEADER]>::try_from(h).ok())
        else {
            return Err(SrtpError::Truncated {
                offset: bytes.len(),
            });
        };
        let text_length = usize::from(u16::from_le_bytes([header[4], header[5]]));
        let kind = match (header[0], header[31]) {
            (0x00, _) => Kind::Init,
            (0x01, _) => Kind::InitResponse,
            (0x02 | 0x03, 0xc0 | 0x80) => Kind::Request,
            (0x02 | 0x03, 0xd4 | 0x94) => Kind::Ack,
            (0x02 | 0x03, 0xd1) => Kind::Nack,
            (0x02 | 0x03, other) => return Err(SrtpError::BadMailboxType(other)),
            (other, _) => return Err(SrtpError::BadType(other)),
        };
        let end = (HEADER + text_length).min(bytes.len());
        Ok(Self {
            kind,
            header,
            text_length,
            text: bytes.get(HEADER..end).unwrap_or_default(),
        })
    }

    /// The whole message's length.
    pub fn length(&self) -> usize {
        HEADER + self.text_length
    }

    /// The service request code of a request.
    pub fn service(&self) -> u8 {
        self.header[42]
    }

    /// Whether the request carries a text buffer (mailbox type 0x80).
    pub fn with_text(&self) -> bool {
        self.header[31] == 0x80
    }

    /// Segment selector, offset and length of a memory request.
    pub fn memory(&self) -> (u8, u16, u16) {
        let h = self.header;
        let at = if self.with_text() { 51 } else { 43 };
        (
            h[at],
            u16::from_le_bytes([h[at + 1], h[at + 2]]),
            u16::from_le_bytes([h[at + 3], h[at + 4]]),
        )
    }

    /// The PLC status word of an ACK's piggyback status.
    pub fn status_word(&self) -> u16 {
        u16::from_le_bytes([self.header[54], self.header[55]])
    }
}

/// The operation name and category of a service request code.
pub fn service(code: u8) -> (&'static str, EventCategory) {
    use EventCategory::*;
    match code {
        0x00 => ("plc_short_status", Diagnostics),
        0x01 => ("plc_long_status", Diagnostics),
        0x02 => ("plc_memory_usage", Diagnostics),
        0x03 => ("return_control_program_names", Diagnostics),
        0x04 => ("read_system_memory", Read),
        0x05 => ("read_task_memory", Read),
        0x06 => ("read_program_block_memory", Read),
        0x07 => ("write_system_memory", Write),
        0x08 => ("write_task_memory", Write),
        0x09 => ("write_program_block_memory", Write),
        0x0a => ("define_symbol", ConfigurationChange),
        0x0b => ("delete_symbol", ConfigurationChange),
        0x0c..=0x0e => ("read_symbolic_variable", Read),
        0x0f..=0x11 => ("write_symbolic_variable", Write),
        0x12..=0x14 => ("resolve_memory_name", Diagnostics),
        0x15 => ("establish_datagram", Read),
        0x16 => ("update_datagram", Read),
        0x17 => ("cancel_datagram", Read),
        0x18 => ("format_disk", ConfigurationChange),
        0x19 => ("open_file", Other),
        0x1a => ("close_file", Other),
        0x1b => ("create_file", ConfigurationChange),
        0x1c => ("unlink_file", ConfigurationChange),
        0x1d => ("read_file", ProgramUpload),
        0x1e => ("write_file", ProgramDownload),
        0x1f => ("seek_file", Other),
        0x20 => ("programmer_logon", Authentication),
        0x21 => ("change_privilege_level", Authentication),
        0x22 => ("set_controller_id", ConfigurationChange),
        0x23 => ("set_plc_state", ModeChange),
        0x24 => ("set_plc_time", TimeSync),
        0x25 => ("return_plc_time", Diagnostics),
        0x26 => ("return_program_block_sizes", Diagnostics),
        0x27 => ("return_program_block_list", Diagnostics),
        0x28 => ("store_program_block", ProgramDownload),
        0x29 => ("sequence_control", Other),
        0x2a => ("program_block_program_store", ProgramDownload),
        0x2b => ("program_block_load", ProgramUpload),
        0x2c => ("program_block_program_load", ProgramUpload),
        0x2d => ("verify_program_block", Diagnostics),
        0x2e => ("delete_program_block", ProgramDownload),
        0x2f => ("change_program_block_size", ProgramDownload),
        0x31 => ("clear_configuration", ConfigurationChange),
        0x32 => ("autoconfigure_io", ConfigurationChange),
        0x33 => ("replace_io_module", ConfigurationChange),
        0x35 => ("clear_all_plc_memory", ConfigurationChange),
        0x36 => ("clear_reference_memory", Write),
        0x37 => ("clear_logic_memory", ProgramDownload),
        0x38 => ("return_fault_table", Diagnostics),
        0x39 => ("clear_fault_table", Diagnostics),
        0x3c => ("return_configuration_sizes", Diagnostics),
        0x3d => ("store_block", ProgramDownload),
        0x3e => ("load_block", ProgramUpload),
        0x3f => ("program_store", ProgramDownload),
        0x40 => ("program_load", ProgramUpload),
        0x41 => ("program_change", ProgramDownload),
        0x42 => ("verify_program", Diagnostics),
        0x43 => ("return_controller_type_and_id", Diagnostics),
        0x44 => ("toggle_force_system_memory", Write),
        0x47 => ("lock_unlock_oem", Authentication),
        0x4f => ("session_control", Other),
        0x52 => ("store_os_extension", FirmwareUpdate),
        0x53 => ("load_os_extension", ProgramUpload),
        0x5a => ("program_store_extended", ProgramDownload),
        0x5b => ("program_load_extended", ProgramUpload),
        0x5c => ("program_verify_extended", Diagnostics),
        0x60 => ("clear_selected_fault", Diagnostics),
        0x61 => ("return_plc_features", Diagnostics),
        _ => ("unknown_service", Other),
    }
}

/// Memory name and unit of a segment selector.
fn selector(code: u8) -> Option<(&'static str, Unit)> {
    use Unit::*;
    Some(match code {
        0x08 => ("%R", Word),
        0x0a => ("%AI", Word),
        0x0c => ("%AQ", Word),
        0x10 => ("%I", Byte),
        0x12 => ("%Q", Byte),
        0x14 => ("%T", Byte),
        0x16 => ("%M", Byte),
        0x18 => ("%SA", Byte),
        0x1a => ("%SB", Byte),
        0x1c => ("%SC", Byte),
        0x1e => ("%S", Byte),
        0x38 => ("%G", Byte),
        0x46 => ("%I", Bit),
        0x48 => ("%Q", Bit),
        0x4a => ("%T", Bit),
        0x4c => ("%M", Bit),
        0x4e => ("%SA", Bit),
        0x50 => ("%SB", Bit),
        0x52 => ("%SC", Bit),
        0x54 => ("%S", Bit),
        0x56 => ("%G", Bit),
        _ => return None,
    })
}

#[derive(Clone, Copy)]
enum Unit {
    Word,
    Byte,
    Bit,
}

type Detail = ValueBuf<128>;

fn request_detail(m: &Message<'_>) -> Detail {
    let mut d = Detail::new();
    match m.service() {
        0x04..=0x09 => {
            let (sel, offset, length) = m.memory();
            let offset = u32::from(offset);
            match selector(sel) {
                // References are 1-based; the offset counts units of the access mode.
                Some((name, Unit::Word)) => {
                    let _ = write!(d, "{name}{} ({length} words)", offset + 1);
                }
                Some((name, Unit::Byte)) => {
                    let _ = write!(d, "{name}{} ({length} bytes)", offset * 8 + 1);
                }
                Some((name, Unit::Bit)) => {
                    let _ = write!(d, "{name}{} ({length} bits)", offset + 1);
                }
                None => {
                    let _ = write!(d, "selector {sel:#04x}, offset {offset}, length {length}");
                }
            }
            if (0x07..=0x09).contains(&m.service()) {
                // Values in the text buffer, or inline after the length (short writes).
                let values = if m.with_text() {
                    m.text
                } else {
                    m.header.get(48..50).unwrap_or_default()
                };
                if !values.is_empty() {
                    d.push_bytes(b", values");
                    for word in values.chunks(2).take(MAX_VALUES) {
                        d.push_bytes(b" ");
                        d.push_hex(word);
                    }
                    if values.len() > 2 * MAX_VALUES {
                        d.push_bytes(b" ...");
                    }
                }
            }
        }
        0x21 => {
            let _ = write!(d, "level {}", m.header[43]);
        }
        0x23 => {
            let _ = write!(d, "state {}", m.header[43]);
        }
        _ => {}
    }
    d
}

/// The State fact value of a PLC status word, or `None` for an undocumented state.
fn state(word: u16) -> Option<ValueBuf<40>> {
    let text = match word >> 12 {
        0 => "run",
        1 => "run (outputs disabled)",
        2 => "stop",
        3 => "fault",
        4 => "halted",
        5 => "suspended",
        6 => "stop (outputs enabled)",
        _ => return None,
    };
    let key = if word & 0x0100 != 0 { "run" } else { "stop" };
    let mut v = ValueBuf::<40>::new();
    match text.split_once(" (") {
        Some((head, tail)) => {
            let _ = write!(v, "{head} (key: {key}, {tail}");
        }
        None => {
            let _ = write!(v, "{text} (key: {key})");
        }
    }
    Some(v)
}

/// Per-flow SRTP state.
#[derive(Debug, Default)]
pub struct SrtpDissector {
    sides: [Side; 2],
    /// The service code of the last request, which the next answer is for.
    pending: Option<u8>,
}

impl Framed for SrtpDissector {
    fn sides(&mut self) -> &mut [Side; 2] {
        &mut self.sides
    }
}

impl SrtpDissector {
    /// Handles one message sent in `direction`.
    pub fn on_message(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        m: &Message<'_>,
        out: &mut Observations,
    ) {
        let sender = flow.sender(direction);
        match m.kind {
            Kind::Init => out.event(
                flow,
                direction,
                PROTOCOL,
                EventCategory::Other,
                "connection_init",
                "",
            ),
            Kind::InitResponse => {
                out.fact(sender, Attribute::Service, PROTOCOL, Source::Srtp, flow.now)
            }
            Kind::Request => {
                self.pending = Some(m.service());
                let (name, category) = service(m.service());
                let mut d = request_detail(m);
                if name == "unknown_service" {
                    let _ = write!(d, "service {:#04x}", m.service());
                }
                out.event(flow, direction, PROTOCOL, category, name, d.as_str());
            }
            Kind::Ack => {
                self.pending = None;
                out.fact(sender, Attribute::Service, PROTOCOL, Source::Srtp, flow.now);
                if let Some(v) = state(m.status_word()) {
                    out.fact(sender, Attribute::State, v.as_str(), Source::Srtp, flow.now);
                }
            }
            Kind::Nack => {
                out.fact(sender, Attribute::Service, PROTOCOL, Source::Srtp, flow.now);
                let code = self.pending.take();
                let (name, category) = code
                    .map(service)
                    .unwrap_or(("unknown", EventCategory::Other));
                let mut d = Detail::new();
                if let Some(code) = code {
                    let _ = write!(d, "service {code:02x} {name}, ");
                }
                let _ = write!(d, "major {:02x} minor {:02x}", m.header[42], m.header[43]);
                out.event(
                    flow,
                    direction.reverse(),
                    PROTOCOL,
                    category,
                    "error_response",
                    d.as_str(),
                );
            }
        }
    }

    /// Reads the messages of `bytes`; returns the bytes used.
    fn messages(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        bytes: &[u8],
        out: &mut Observations,
    ) -> usize {
        let mut used = 0;
        while let Some(rest) = bytes.get(used..).filter(|r| !r.is_empty()) {
            match Message::parse(rest) {
                Ok(m) if m.text.len() == m.text_length => {
                    self.on_message(flow, direction, &m, out);
                    used += m.length();
                }
                Ok(m) if m.text_length > MAX_TEXT && rest.len() >= HEADER + MAX_TEXT => {
                    // Too long to wait for whole: use what is here, skip the rest.
                    self.on_message(flow, direction, &m, out);
                    self.sides[direction.index()].skip = m.length().saturating_sub(rest.len());
                    return bytes.len();
                }
                Ok(_) | Err(SrtpError::Truncated { .. }) => return used,
                Err(_) => {
                    self.sides[direction.index()].done = true;
                    return bytes.len();
                }
            }
        }
        used
    }
}

impl Dissector for SrtpDissector {
    fn protocol(&self) -> &'static str {
        PROTOCOL
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
            HEADER + MAX_TEXT,
            |this, bytes| this.messages(flow, direction, bytes, out),
        );
    }
}

/// Takes TCP flows on the SRTP ports whose first payload can start an SRTP message.
struct Factory;

impl DissectorFactory for Factory {
    fn protocol(&self) -> &'static str {
        PROTOCOL
    }

    fn select(
        &self,
        flow: &FlowMeta,
        _direction: Direction,
        first_payload: &[u8],
    ) -> Option<Box<dyn Dissector>> {
        let by_port = PORTS.contains(&flow.server.port()) || PORTS.contains(&flow.client.port());
        let plausible = match Message::parse(first_payload) {
            Ok(_) | Err(SrtpError::Truncated { .. }) => {
                first_payload.first().is_none_or(|t| *t <= 0x03)
            }
            Err(_) => false,
        };
        (flow.transport == Transport::Tcp && by_port && plausible)
            .then(|| Box::<SrtpDissector>::default() as Box<dyn Dissector>)
    }
}

/// Registers the SRTP dissector.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register(Box::new(Factory));
}

#[cfg(test)]
mod tests {
    use super::*;
    use ironward_model::Timestamp;

    fn flow() -> FlowMeta {
        FlowMeta {
            id: 1,
            transport: Transport::Tcp,
            client: ([10, 0, 0, 1], 50000).into(),
            server: ([10, 0, 0, 2], 18245).into(),
            now: Timestamp(1),
            frame: 1,
        }
    }

    /// A 0xC0 request for `code` with header bytes 43.. set from `params`.
    fn request(code: u8, params: &[u8]) -> Vec<u8> {
        let mut h = vec![0u8; HEADER];
        h[0] = 0x02;
        h[2] = 7;
        h[9] = 1;
        h[17] = 1;
        h[30] = 7;
        h[31] = 0xc0;
        h[36..40].copy_from_slice(&[0x10, 0x0e, 0, 0]);
        h[40] = 1;
        h[41] = 1;
        h[42] = code;
        h[43..43 + params.len()].copy_from_slice(params);
        h
    }

    /// A 0x80 request with a text buffer.
    fn request_text(code: u8, params: &[u8], text: &[u8]) -> Vec<u8> {
        let mut h = request(code, &[]);
        h[4..6].copy_from_slice(&(text.len() as u16).to_le_bytes());
        h[31] = 0x80;
        h[48] = 1;
        h[49] = 1;
        h[51..51 + params.len()].copy_from_slice(params);
        h.extend_from_slice(text);
        h
    }

    fn ack(status_word: u16, text: &[u8]) -> Vec<u8> {
        let mut h = vec![0u8; HEADER];
        h[0] = 0x03;
        h[2] = 7;
        h[4..6].copy_from_slice(&(text.len() as u16).to_le_bytes());
        h[30] = 7;
        h[31] = if text.is_empty() { 0xd4 } else { 0x94 };
        h[54..56].copy_from_slice(&status_word.to_le_bytes());
        h.extend_from_slice(text);
        h
    }

    fn nack(major: u8, minor: u8) -> Vec<u8> {
        let mut h = ack(0, &[]);
        h[31] = 0xd1;
        h[42] = major;
        h[43] = minor;
        h
    }

    fn ops(out: &Observations) -> Vec<(String, String, EventCategory)> {
        out.events()
            .iter()
            .map(|e| (e.operation.to_string(), e.detail.clone(), e.category))
            .collect()
    }

    fn op(name: &str, detail: &str, c: EventCategory) -> (String, String, EventCategory) {
        (name.into(), detail.into(), c)
    }

    #[test]
    fn services_coalesced_in_one_segment() {
        use EventCategory::*;
        let f = flow();
        let mut d = SrtpDissector::default();
        let mut out = Observations::default();
        let client = [
            vec![0u8; HEADER],
            request(0x00, &[]),
            // %R1, 4 words; %I1.., 8 bytes; %Q5, 3 bits.
            request(0x04, &[0x08, 0, 0, 4, 0]),
            request(0x04, &[0x10, 0, 0, 8, 0]),
            request(0x04, &[0x48, 4, 0, 3, 0]),
            request(0x06, &[0x99, 2, 0, 1, 0]),
            // Short write inline, long write in a text buffer.
            request(0x07, &[0x08, 9, 0, 1, 0, 0x34, 0x12]),
            request_text(0x07, &[0x0c, 0, 0, 5, 0], &[1, 0, 2, 0, 3, 0, 4, 0, 5, 0]),
            request(0x20, &[]),
            request(0x21, &[2]),
            request(0x23, &[1]),
            request(0x24, &[]),
            request(0x3f, &[]),
            request(0x40, &[]),
            request(0x43, &[]),
            request(0xee, &[]),
        ]
        .concat();
        d.on_stream(
            &f,
            Direction::ClientToServer,
            StreamChunk::Data(&client),
            &mut out,
        );
        assert_eq!(
            ops(&out),
            [
                op("connection_init", "", Other),
                op("plc_short_status", "", Diagnostics),
                op("read_system_memory", "%R1 (4 words)", Read),
                op("read_system_memory", "%I1 (8 bytes)", Read),
                op("read_system_memory", "%Q5 (3 bits)", Read),
                op(
                    "read_program_block_memory",
                    "selector 0x99, offset 2, length 1",
                    Read
                ),
                op("write_system_memory", "%R10 (1 words), values 3412", Write),
                op(
                    "write_system_memory",
                    "%AQ1 (5 words), values 0100 0200 0300 0400 ...",
                    Write
                ),
                op("programmer_logon", "", Authentication),
                op("change_privilege_level", "level 2", Authentication),
                op("set_plc_state", "state 1", ModeChange),
                op("set_plc_time", "", TimeSync),
                op("program_store", "", ProgramDownload),
                op("program_load", "", ProgramUpload),
                op("return_controller_type_and_id", "", Diagnostics),
                op("unknown_service", "service 0xee", Other),
            ]
        );
    }

    #[test]
    fn answers_split_state_and_errors() {
        let f = flow();
        let mut d = SrtpDissector::default();
        let mut out = Observations::default();
        let mut init_answer = vec![0u8; HEADER];
        init_answer[0] = 1;
        // Run, switch in run, then a read answered with data split byte by byte.
        let server = [
            init_answer,
            ack(0x0100, &[]),
            ack(0x2000, &[1, 2, 3, 4, 5, 6, 7, 8]),
        ]
        .concat();
        for b in server.chunks(1) {
            d.on_stream(
                &f,
                Direction::ServerToClient,
                StreamChunk::Data(b),
                &mut out,
            );
        }
        d.on_stream(
            &f,
            Direction::ClientToServer,
            StreamChunk::Data(&request(0x23, &[0])),
            &mut out,
        );
        d.on_stream(
            &f,
            Direction::ServerToClient,
            StreamChunk::Data(&nack(0x02, 0xfe)),
            &mut out,
        );
        d.on_stream(
            &f,
            Direction::ServerToClient,
            StreamChunk::Data(&ack(0x1180, &[])),
            &mut out,
        );
        let events = ops(&out);
        assert_eq!(
            events[1],
            op(
                "error_response",
                "service 23 set_plc_state, major 02 minor fe",
                EventCategory::ModeChange
            )
        );
        assert_eq!(out.events()[1].src, out.events()[0].src);
        let facts: Vec<(String, Attribute, String)> = out
            .drain_facts()
            .map(|f| (f.subject.to_string(), f.attribute, f.value.to_string()))
            .collect();
        for (attribute, value) in [
            (Attribute::Service, "srtp"),
            (Attribute::State, "run (key: run)"),
            (Attribute::State, "stop (key: stop)"),
            (Attribute::State, "run (key: run, outputs disabled)"),
        ] {
            assert!(
                facts.contains(&("ip:10.0.0.2".into(), attribute, value.into())),
                "{value} {facts:?}"
            );
        }
    }

    #[test]
    fn malformed_truncated_and_hostile() {
        assert_eq!(
            Message::parse(&[2; 10]).unwrap_err().to_string(),
            "SRTP header truncated at 10"
        );
        assert_eq!(Message::parse(&[9; HEADER]), Err(SrtpError::BadType(9)));
        let mut bad = request(0, &[]);
        bad[31] = 0x11;
        assert_eq!(Message::parse(&bad), Err(SrtpError::BadMailboxType(0x11)));
        let f = flow();
        // A huge text buffer is read in part and skipped; the next message is still seen.
        let mut d = SrtpDissector::default();
        let mut out = Observations::default();
        let mut big = request_text(0x07, &[0x08, 0, 0, 0xff, 0x7f], &[0xaa; 0xfff0]);
        big.extend(request(0x39, &[]));
        for chunk in big.chunks(1400) {
            d.on_stream(
                &f,
                Direction::ClientToServer,
                StreamChunk::Data(chunk),
                &mut out,
            );
        }
        assert_eq!(
            ops(&out),
            [
                op(
                    "write_system_memory",
                    "%R1 (32767 words), values aaaa aaaa aaaa aaaa ...",
                    EventCategory::Write
                ),
                op("clear_fault_table", "", EventCategory::Diagnostics)
            ]
        );
        // Garbage ends the direction; a gap too.
        let mut d = SrtpDissector::default();
        let mut out = Observations::default();
        d.on_stream(
            &f,
            Direction::ServerToClient,
            StreamChunk::Data(&[0x77; 80]),
            &mut out,
        );
        d.on_stream(
            &f,
            Direction::ServerToClient,
            StreamChunk::Data(&ack(0, &[])),
            &mut out,
        );
        d.on_stream(
            &f,
            Direction::ClientToServer,
            StreamChunk::Gap(10),
            &mut out,
        );
        d.on_stream(
            &f,
            Direction::ClientToServer,
            StreamChunk::Data(&request(0, &[])),
            &mut out,
        );
        assert!(out.events().is_empty() && out.facts().is_empty());
        // Undocumented PLC states give no State fact.
        assert!(state(0x7000).is_none() && state(0xf100).is_none());
    }

    #[test]
    fn selection() {
        let mut r = DissectorRegistry::new();
        register(&mut r);
        let f = flow();
        assert!(r
            .select(&f, Direction::ClientToServer, &[0; HEADER])
            .is_some());
        assert!(r.select(&f, Direction::ClientToServer, &[0; 20]).is_some());
        assert!(r
            .select(&f, Direction::ClientToServer, b"GET / HTTP/1.1")
            .is_none());
        let mut other = flow();
        other.server = ([10, 0, 0, 2], 18000).into();
        assert!(r
            .select(&other, Direction::ClientToServer, &[0; HEADER])
            .is_none());
        other.server = ([10, 0, 0, 2], 18245).into();
        other.transport = Transport::Udp;
        assert!(r
            .select(&other, Direction::ClientToServer, &[0; HEADER])
            .is_none());
    }
}
