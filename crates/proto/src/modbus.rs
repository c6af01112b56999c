//! Modbus/TCP and Modbus/UDP (MBAP + PDU), with Schneider UMAS in function 90 ([`umas`]).
//!
//! Recognised on TCP or UDP port 502 (either end: a device that opens the connection from port
//! 502 is still the server), and on other TCP ports by a strict look at the first ADU
//! ([`looks_like_mbap`]: protocol id 0, a length that matches the payload, a public function
//! code). The side on port 502 (else the side that did not open the flow) is the server:
//! its ADUs are responses, the other side's are requests.
//!
//! What is read: the MBAP header (transaction id, protocol id, length, unit id) of every ADU of
//! the reassembled stream — several per segment and ADUs split across segments, through
//! [`crate::framing`] — and the PDU of every public function code: addresses, quantities and
//! written values of requests (1–6, 15, 16, 22, 23), diagnostics sub-functions (8), comm event
//! counter and log (11, 12), Report Server ID (17), file records (20, 21), FIFO queues (24),
//! Read Device Identification (43/14), UMAS (90), and exception responses (function | 0x80).
//! Responses are paired with their request by transaction id, unit and function; a response
//! whose request was not seen (the capture started mid-stream) is decoded by its function code.
//!
//! Facts (about the server): service `modbus`; `modbus:unit:N` for each unit that answers;
//! Read Device Identification objects — VendorName → Vendor, ProductCode → ProductCode,
//! MajorMinorRevision → Firmware, VendorUrl → Url, ModelName → Model, ProductName → Model when
//! the same answer has no ModelName (ModelName is the more specific of the two; otherwise
//! ProductName → Description), UserApplicationName → Hostname (the name the integrator gave the
//! device's application); Report Server ID's run indicator → State `run`/`stop` and its
//! printable additional data → Description; UMAS Read ID's CPU module → Model, and a
//! successful UMAS start/stop → State.
//!
//! Events: one per request, from the client to the server: category Read (1–4, 20, 24), Write
//! (5, 6, 15, 16, 21, 22, 23), Diagnostics (7, 8, 11, 12, 17, 43), Other (unknown functions);
//! the operation is the function's snake_case name. Diagnostics events are named after their
//! sub-function (`return_query_data`, `force_listen_only_mode`, …); Force Listen Only Mode
//! and Restart Communications Option are ModeChange, because they take the device off the bus
//! and bring it back, which is what an operator must hear about; the other sub-functions are
//! Diagnostics. Details name the unit, the data and its addresses (`unit 1, holding registers
//! 0-9 (10)`) and, for writes, the first [`MAX_SHOWN_VALUES`] values. An exception response
//! adds an `exception` event in the failed request's category (`unit 1,
//! read_holding_registers: illegal data address (2)`); a response without its request adds the
//! request's event with what the response tells. UMAS functions are events of their own
//! (`umas_stop_plc`, ModeChange; `umas_end_download` with the SHA-256 of the downloaded blocks,
//! ProgramDownload; see [`umas`]); UMAS errors are `error_response` events.
//!
//! Bounds: an ADU is at most [`MAX_ADU`] bytes (the MBAP length at most [`MAX_LENGTH`]), the only thing
//! buffered per direction; at most [`MAX_PENDING`] requests wait for their response per flow;
//! a header that is not MBAP (protocol id not 0, length out of range) or a gap in the stream
//! ends the dissection of that direction, since ADU boundaries are lost.

pub mod spec;
pub mod umas;

use std::fmt::Write as _;

use ironward_model::{Attribute, DeviceKey, EventCategory, Source};

use crate::framing::{self, Framed, Side};
use crate::value::ValueBuf;
use crate::{
    Direction, Dissector, DissectorFactory, DissectorRegistry, FlowMeta, Observations, StreamChunk,
    Transport,
};

/// The Modbus/TCP and Modbus/UDP port.
pub const PORT: u16 = 502;

/// Length of the MBAP header, unit id included.
pub const MBAP_LEN: usize = 7;

/// Largest MBAP length field accepted. The specification's largest is 254 (the unit id and a
/// PDU of 253 bytes), but UMAS clients send 255 (Unity's 250-byte echo test, which Modicon
/// controllers answer) and tshark reads such ADUs, so a little slack is allowed before the
/// stream is taken to be out of step.
pub const MAX_LENGTH: u16 = 512;

/// Largest MBAP length field the content check accepts on ports other than 502.
pub const MAX_STRICT_LENGTH: u16 = 256;

/// Largest ADU (MBAP header and PDU), the most buffered per direction.
pub const MAX_ADU: usize = 6 + MAX_LENGTH as usize;

/// Requests remembered per flow while waiting for their response (a bit each in a `u16`).
pub const MAX_PENDING: usize = 16;

/// Written values shown in an event's detail.
pub const MAX_SHOWN_VALUES: usize = 8;

/// Read Device Identification objects read from one answer.
pub const MAX_OBJECTS: usize = 32;

/// Protocol name of this dissector.
const PROTOCOL: &str = "modbus";

/// Why an ADU could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModbusError {
    /// The input ends before `field`, which starts at `offset`.
    Truncated {
        /// The field that is cut.
        field: &'static str,
        /// Where it starts.
        offset: usize,
    },
    /// The MBAP protocol id is not 0 (not Modbus).
    BadProtocolId(u16),
    /// The MBAP length is below 2 or above [`MAX_LENGTH`].
    BadLength(u16),
}

impl std::fmt::Display for ModbusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Truncated { field, offset } => {
                write!(f, "Modbus ADU truncated at {field} (offset {offset})")
            }
            Self::BadProtocolId(id) => write!(f, "MBAP protocol id {id} is not Modbus (offset 2)"),
            Self::BadLength(len) => write!(f, "MBAP length {len} out of range (offset 4)"),
        }
    }
}

impl std::error::Error for ModbusError {}

fn truncated(field: &'static str, offset: usize) -> ModbusError {
    ModbusError::Truncated { field, offset }
}

/// The Modbus Application Protocol header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mbap {
    /// Transaction id: pairs a response with its request.
    pub transaction: u16,
    /// Protocol id, 0 for Modbus.
    pub protocol: u16,
    /// Bytes that follow the length field (unit id and PDU).
    pub length: u16,
    /// Unit (slave) id: the addressed device behind a gateway, often 0, 1 or 255.
    pub unit: u8,
}

impl Mbap {
    /// Reads the header at the start of `input`, checking the protocol id and length.
    pub fn parse(input: &[u8]) -> Result<Self, ModbusError> {
        let head = input.get(..MBAP_LEN).ok_or(truncated("MBAP header", 0))?;
        let [t0, t1, p0, p1, l0, l1, unit] = *head else {
            return Err(truncated("MBAP header", 0));
        };
        let protocol = u16::from_be_bytes([p0, p1]);
        if protocol != 0 {
            return Err(ModbusError::BadProtocolId(protocol));
        }
        let length = u16::from_be_bytes([l0, l1]);
        if !(2..=MAX_LENGTH).contains(&length) {
            return Err(ModbusError::BadLength(length));
        }
        Ok(Self {
            transaction: u16::from_be_bytes([t0, t1]),
            protocol,
            length,
            unit,
        })
    }

    /// Length of the whole ADU.
    pub fn adu_len(&self) -> usize {
        6 + usize::from(self.length)
    }
}

/// Splits one whole ADU at the start of `input`: its header and PDU (function code first).
pub fn split_adu(input: &[u8]) -> Result<(Mbap, &[u8]), ModbusError> {
    let header = Mbap::parse(input)?;
    let pdu = input
        .get(MBAP_LEN..header.adu_len())
        .ok_or(truncated("PDU", MBAP_LEN))?;
    Ok((header, pdu))
}

/// Whether `function` (without the exception bit) is a public function code this dissector
/// knows.
pub fn is_known_function(function: u8) -> bool {
    matches!(
        function & 0x7f,
        1..=8 | 11 | 12 | 15..=17 | 20..=24 | 43 | umas::FUNCTION
    )
}

/// The strict content check for Modbus/TCP on ports other than 502: the payload is exactly
/// one or more whole ADUs, the first with protocol id 0, a sane length and a known function.
pub fn looks_like_mbap(payload: &[u8]) -> bool {
    let Ok((header, pdu)) = split_adu(payload) else {
        return false;
    };
    if header.length > MAX_STRICT_LENGTH {
        return false;
    }
    let Some(&function) = pdu.first() else {
        return false;
    };
    if !is_known_function(function) {
        return false;
    }
    // What follows the first ADU must be another whole ADU's start, or nothing.
    let rest = payload.get(6 + pdu.len() + 1..).unwrap_or_default();
    rest.is_empty()
        || matches!(
            Mbap::parse(rest),
            Ok(_) | Err(ModbusError::Truncated { .. })
        )
}

/// The snake_case name of a public function code.
pub fn function_name(function: u8) -> &'static str {
    match function & 0x7f {
        1 => "read_coils",
        2 => "read_discrete_inputs",
        3 => "read_holding_registers",
        4 => "read_input_registers",
        5 => "write_single_coil",
        6 => "write_single_register",
        7 => "read_exception_status",
        8 => "diagnostics",
        11 => "get_comm_event_counter",
        12 => "get_comm_event_log",
        15 => "write_multiple_coils",
        16 => "write_multiple_registers",
        17 => "report_server_id",
        20 => "read_file_record",
        21 => "write_file_record",
        22 => "mask_write_register",
        23 => "read_write_multiple_registers",
        24 => "read_fifo_queue",
        43 => "encapsulated_interface_transport",
        umas::FUNCTION => "umas",
        _ => "unknown_function",
    }
}

/// The event category of a public function code.
pub fn function_category(function: u8) -> EventCategory {
    match function & 0x7f {
        1..=4 | 20 | 24 => EventCategory::Read,
        5 | 6 | 15 | 16 | 21..=23 => EventCategory::Write,
        7 | 8 | 11 | 12 | 17 | 43 => EventCategory::Diagnostics,
        _ => EventCategory::Other,
    }
}

/// The snake_case name of a Diagnostics (function 8) sub-function.
pub fn diagnostic_name(sub_function: u16) -> &'static str {
    match sub_function {
        0 => "return_query_data",
        1 => "restart_communications_option",
        2 => "return_diagnostic_register",
        3 => "change_ascii_input_delimiter",
        4 => "force_listen_only_mode",
        10 => "clear_counters_and_diagnostic_register",
        11 => "return_bus_message_count",
        12 => "return_bus_communication_error_count",
        13 => "return_bus_exception_error_count",
        14 => "return_server_message_count",
        15 => "return_server_no_response_count",
        16 => "return_server_nak_count",
        17 => "return_server_busy_count",
        18 => "return_bus_character_overrun_count",
        20 => "clear_overrun_counter_and_flag",
        _ => "diagnostics",
    }
}

/// The event category of a Diagnostics sub-function: leaving and re-entering the bus are mode
/// changes, the rest diagnostics.
pub fn diagnostic_category(sub_function: u16) -> EventCategory {
    match sub_function {
        1 | 4 => EventCategory::ModeChange,
        _ => EventCategory::Diagnostics,
    }
}

/// The name of an exception code.
pub fn exception_name(code: u8) -> &'static str {
    match code {
        1 => "illegal function",
        2 => "illegal data address",
        3 => "illegal data value",
        4 => "server device failure",
        5 => "acknowledge",
        6 => "server device busy",
        7 => "negative acknowledge",
        8 => "memory parity error",
        10 => "gateway path unavailable",
        11 => "gateway target device failed to respond",
        _ => "unknown exception",
    }
}

/// The name of a Read Device Identification object id (0–6).
pub fn object_name(id: u8) -> &'static str {
    match id {
        0 => "VendorName",
        1 => "ProductCode",
        2 => "MajorMinorRevision",
        3 => "VendorUrl",
        4 => "ProductName",
        5 => "ModelName",
        6 => "UserApplicationName",
        _ => "extended object",
    }
}

/// What kind of data a function addresses, for details.
fn data_kind(function: u8) -> &'static str {
    match function {
        1 | 5 | 15 => "coils",
        2 => "discrete inputs",
        3 | 6 | 16 | 22 | 23 => "holding registers",
        4 => "input registers",
        _ => "data",
    }
}

/// A request PDU, read zero-copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request<'a> {
    /// 1–4: read coils, discrete inputs, holding or input registers.
    Read {
        /// Function code.
        function: u8,
        /// First address (0-based, as on the wire).
        start: u16,
        /// Number of bits or registers.
        quantity: u16,
    },
    /// 5: write single coil (0xFF00 on, 0x0000 off).
    WriteSingleCoil {
        /// Coil address.
        address: u16,
        /// Value field.
        value: u16,
    },
    /// 6: write single register.
    WriteSingleRegister {
        /// Register address.
        address: u16,
        /// Value.
        value: u16,
    },
    /// 15, 16: write multiple coils or registers.
    WriteMultiple {
        /// Function code.
        function: u8,
        /// First address.
        start: u16,
        /// Number of bits or registers.
        quantity: u16,
        /// The values (packed bits, or big-endian registers).
        values: &'a [u8],
    },
    /// 8: diagnostics.
    Diagnostics {
        /// Sub-function.
        sub_function: u16,
        /// Data field.
        data: &'a [u8],
    },
    /// 20, 21: read or write file records; the sub-requests (7-byte headers, and the record
    /// data for writes).
    FileRecord {
        /// Function code.
        function: u8,
        /// The sub-requests.
        records: &'a [u8],
    },
    /// 22: mask write register.
    MaskWrite {
        /// Register address.
        address: u16,
        /// AND mask.
        and_mask: u16,
        /// OR mask.
        or_mask: u16,
    },
    /// 23: read/write multiple registers.
    ReadWrite {
        /// First register read.
        read_start: u16,
        /// Registers read.
        read_quantity: u16,
        /// First register written.
        write_start: u16,
        /// Registers written.
        write_quantity: u16,
        /// Values written.
        values: &'a [u8],
    },
    /// 24: read FIFO queue.
    ReadFifo {
        /// FIFO pointer address.
        address: u16,
    },
    /// 43: encapsulated interface transport (MEI 14: Read Device Identification).
    Encapsulated {
        /// MEI type.
        mei: u8,
        /// What follows the MEI type.
        data: &'a [u8],
    },
    /// 90: UMAS.
    Umas(umas::Umas<'a>),
    /// Functions without fields (7, 11, 12, 17) and unknown ones.
    Other {
        /// Function code.
        function: u8,
        /// Whatever follows.
        data: &'a [u8],
    },
}

fn be16(b: &[u8], at: usize, field: &'static str) -> Result<u16, ModbusError> {
    b.get(at..at + 2)
        .map(|s| u16::from_be_bytes([s[0], s[1]]))
        .ok_or(truncated(field, at))
}

impl<'a> Request<'a> {
    /// Reads a request PDU (function code first).
    pub fn parse(pdu: &'a [u8]) -> Result<Self, ModbusError> {
        let (&function, _) = pdu.split_first().ok_or(truncated("function code", 0))?;
        let data = pdu.get(1..).unwrap_or_default();
        Ok(match function {
            1..=4 => Self::Read {
                function,
                start: be16(pdu, 1, "starting address")?,
                quantity: be16(pdu, 3, "quantity")?,
            },
            5 => Self::WriteSingleCoil {
                address: be16(pdu, 1, "output address")?,
                value: be16(pdu, 3, "output value")?,
            },
            6 => Self::WriteSingleRegister {
                address: be16(pdu, 1, "register address")?,
                value: be16(pdu, 3, "register value")?,
            },
            15 | 16 => {
                let start = be16(pdu, 1, "starting address")?;
                let quantity = be16(pdu, 3, "quantity")?;
                let count = usize::from(*pdu.get(5).ok_or(truncated("byte count", 5))?);
                let values = pdu.get(6..).unwrap_or_default();
                Self::WriteMultiple {
                    function,
                    start,
                    quantity,
                    values: values.get(..count).unwrap_or(values),
                }
            }
            8 => Self::Diagnostics {
                sub_function: be16(pdu, 1, "sub-function")?,
                data: pdu.get(3..).unwrap_or_default(),
            },
            20 | 21 => {
                let count = usize::from(*pdu.get(1).ok_or(truncated("byte count", 1))?);
                let records = pdu.get(2..).unwrap_or_default();
                Self::FileRecord {
                    function,
                    records: records.get(..count).unwrap_or(records),
                }
            }
            22 => Self::MaskWrite {
                address: be16(pdu, 1, "reference address")?,
                and_mask: be16(pdu, 3, "and mask")?,
                or_mask: be16(pdu, 5, "or mask")?,
            },
            23 => {
                let values = pdu.get(10..).unwrap_or_default();
                let count = usize::from(*pdu.get(9).ok_or(truncated("write byte count", 9))?);
                Self::ReadWrite {
                    read_start: be16(pdu, 1, "read starting address")?,
                    read_quantity: be16(pdu, 3, "quantity to read")?,
                    write_start: be16(pdu, 5, "write starting address")?,
                    write_quantity: be16(pdu, 7, "quantity to write")?,
                    values: values.get(..count).unwrap_or(values),
                }
            }
            24 => Self::ReadFifo {
                address: be16(pdu, 1, "FIFO pointer address")?,
            },
            43 => Self::Encapsulated {
                mei: *pdu.get(1).ok_or(truncated("MEI type", 1))?,
                data: pdu.get(2..).unwrap_or_default(),
            },
            umas::FUNCTION => {
                Self::Umas(umas::Umas::parse(data).ok_or(truncated("UMAS header", 1))?)
            }
            _ => Self::Other { function, data },
        })
    }
}

/// The objects of a Read Device Identification answer's object list: `(id, value)`; at most
/// [`MAX_OBJECTS`], stopping at the first truncated one.
#[derive(Debug, Clone)]
pub struct DeviceObjects<'a> {
    rest: &'a [u8],
    left: usize,
}

/// A Read Device Identification answer (after function 43 and MEI type 14).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceIdentification<'a> {
    /// Read device id code (1 basic, 2 regular, 3 extended, 4 one object).
    pub code: u8,
    /// Conformity level.
    pub conformity: u8,
    /// More objects follow in another transaction (0xFF) or not (0x00).
    pub more_follows: u8,
    /// Object id to ask for next.
    pub next_object: u8,
    /// Number of objects in this answer.
    pub count: u8,
    /// The object list.
    pub list: &'a [u8],
}

impl<'a> DeviceIdentification<'a> {
    /// Reads the answer from the bytes after the MEI type.
    pub fn parse(data: &'a [u8]) -> Result<Self, ModbusError> {
        let [code, conformity, more_follows, next_object, count, list @ ..] = data else {
            return Err(truncated("device identification header", 2));
        };
        Ok(Self {
            code: *code,
            conformity: *conformity,
            more_follows: *more_follows,
            next_object: *next_object,
            count: *count,
            list,
        })
    }

    /// The objects.
    pub fn objects(&self) -> DeviceObjects<'a> {
        DeviceObjects {
            rest: self.list,
            left: usize::from(self.count).min(MAX_OBJECTS),
        }
    }
}

impl<'a> Iterator for DeviceObjects<'a> {
    type Item = (u8, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let [id, len, rest @ ..] = self.rest else {
            self.left = 0;
            return None;
        };
        let Some(value) = rest.get(..usize::from(*len)) else {
            self.left = 0;
            return None;
        };
        self.rest = &rest[value.len()..];
        Some((*id, value))
    }
}

/// A Report Server ID answer's parts. The server id's length is device-specific: when the
/// second byte is a run indicator (0x00 or 0xFF) the id is one byte and additional data
/// follows (the common layout); otherwise, when the last byte is one, the id is everything
/// before it (as some stacks, pymodbus among them, send it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerId<'a> {
    /// Server id bytes.
    pub id: &'a [u8],
    /// Run indicator: `Some(true)` for 0xFF (run), `Some(false)` for 0x00 (stop).
    pub running: Option<bool>,
    /// Additional device-specific data.
    pub additional: &'a [u8],
}

impl<'a> ServerId<'a> {
    /// Reads the answer from the bytes after the function code (byte count first).
    pub fn parse(data: &'a [u8]) -> Result<Self, ModbusError> {
        let (&count, rest) = data.split_first().ok_or(truncated("byte count", 1))?;
        let body = rest.get(..usize::from(count)).unwrap_or(rest);
        let run = |b: u8| match b {
            0xff => Some(true),
            0x00 => Some(false),
            _ => None,
        };
        Ok(match body {
            [id, r, additional @ ..] if run(*r).is_some() => Self {
                id: std::slice::from_ref(id),
                running: run(*r),
                additional,
            },
            [id @ .., r] if run(*r).is_some() && !id.is_empty() => Self {
                id,
                running: run(*r),
                additional: &[],
            },
            _ => Self {
                id: body,
                running: None,
                additional: &[],
            },
        })
    }
}

/// A request waiting for its response.
#[derive(Debug, Clone, Copy)]
struct Pending {
    transaction: u16,
    unit: u8,
    function: u8,
    /// Diagnostics sub-function, MEI type or UMAS function.
    sub: u16,
    operation: &'static str,
    category: EventCategory,
}

/// Adds the Modbus dissector to `registry`.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register(Box::new(ModbusFactory));
}

/// Takes TCP and UDP flows on port 502 and TCP flows whose first payload is an MBAP ADU.
#[derive(Debug, Clone, Copy, Default)]
pub struct ModbusFactory;

impl DissectorFactory for ModbusFactory {
    fn protocol(&self) -> &'static str {
        PROTOCOL
    }

    fn select(
        &self,
        flow: &FlowMeta,
        _direction: Direction,
        first_payload: &[u8],
    ) -> Option<Box<dyn Dissector>> {
        let on_port = flow.server.port() == PORT || flow.client.port() == PORT;
        let take = match flow.transport {
            Transport::Tcp => on_port || looks_like_mbap(first_payload),
            Transport::Udp => on_port,
            Transport::Other(_) => false,
        };
        take.then(|| Box::new(ModbusDissector::for_flow(flow)) as Box<dyn Dissector>)
    }
}

/// Per-flow Modbus state.
#[derive(Debug)]
pub struct ModbusDissector {
    sides: [Side; 2],
    /// The direction of responses (from the server).
    responses: Direction,
    pending: [Option<Pending>; MAX_PENDING],
    /// Which slots of `pending` hold a request, a bit each: a response looks only at those
    /// (usually one) instead of every slot.
    occupied: u16,
    next_slot: usize,
    /// Units already reported as answering, a bit per unit id.
    units: [u64; 4],
    service_reported: bool,
    download: umas::Transfer,
    upload: umas::Transfer,
}

impl Framed for ModbusDissector {
    fn sides(&mut self) -> &mut [Side; 2] {
        &mut self.sides
    }
}

impl Default for ModbusDissector {
    fn default() -> Self {
        Self::with_responses(Direction::ServerToClient)
    }
}

/// An event's detail, built on the stack.
type Detail = ValueBuf<256>;

impl ModbusDissector {
    /// A dissector whose responses go in `responses`.
    pub fn with_responses(responses: Direction) -> Self {
        Self {
            sides: Default::default(),
            responses,
            pending: [None; MAX_PENDING],
            occupied: 0,
            next_slot: 0,
            units: [0; 4],
            service_reported: false,
            download: umas::Transfer::default(),
            upload: umas::Transfer::default(),
        }
    }

    /// A dissector for `flow`: the end on port 502 is the server (even when it opened the
    /// connection), else the end that did not open the flow.
    pub fn for_flow(flow: &FlowMeta) -> Self {
        let responses = if flow.server.port() != PORT && flow.client.port() == PORT {
            Direction::ClientToServer
        } else {
            Direction::ServerToClient
        };
        Self::with_responses(responses)
    }

    /// Reads the whole ADUs at the start of `view`; returns how many bytes were used (the rest
    /// is the start of an ADU still incomplete).
    fn adus(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        view: &[u8],
        out: &mut Observations,
    ) -> usize {
        let mut at = 0;
        while let Some(rest) = view.get(at..).filter(|r| !r.is_empty()) {
            match split_adu(rest) {
                Ok((header, pdu)) => {
                    at += header.adu_len();
                    let side = &mut self.sides[direction.index()];
                    side.messages = side.messages.saturating_add(1);
                    self.on_adu(flow, direction, header, pdu, out);
                }
                Err(ModbusError::Truncated { .. }) => return at,
                Err(error) => {
                    // Not Modbus, or the ADU boundaries are lost: stop reading this side. A
                    // stream taken by its port that never held an ADU is another protocol, not
                    // a broken Modbus one; a bad length after protocol id 0 is Modbus gone bad.
                    let side = &mut self.sides[direction.index()];
                    if side.messages > 0 || matches!(error, ModbusError::BadLength(_)) {
                        report(flow, direction, out, "violation", error);
                    }
                    self.sides[direction.index()].done = true;
                    return view.len();
                }
            }
        }
        at
    }

    fn on_adu(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        header: Mbap,
        pdu: &[u8],
        out: &mut Observations,
    ) {
        if direction == self.responses {
            self.on_response(flow, header, pdu, out);
        } else {
            self.on_request(flow, header, pdu, out);
        }
    }

    fn remember(&mut self, pending: Pending) {
        let slot = self.next_slot % MAX_PENDING;
        self.pending[slot] = Some(pending);
        self.occupied |= 1 << slot;
        self.next_slot = (slot + 1) % MAX_PENDING;
    }

    /// The oldest waiting request this response answers, removed from the table.
    fn take_pending(&mut self, header: &Mbap, function: u8) -> Option<Pending> {
        // Oldest first: the occupied slots, starting at the one written longest ago.
        let mut left = self.occupied.rotate_right(self.next_slot as u32 % 16);
        while left != 0 {
            let slot = (self.next_slot + left.trailing_zeros() as usize) % MAX_PENDING;
            left &= left - 1;
            let matches = self.pending[slot].is_some_and(|p| {
                p.transaction == header.transaction
                    && p.unit == header.unit
                    && p.function == function & 0x7f
            });
            if matches {
                self.occupied &= !(1 << slot);
                return self.pending[slot].take();
            }
        }
        None
    }

    /// Records a request that repeats at packet rate (a poll, a cyclic write) as an event keyed
    /// by `key`, which must determine the detail (written only the first time), and remembers
    /// it for its response.
    fn repeating_request(
        &mut self,
        flow: &FlowMeta,
        to_server: Direction,
        (header, function): (Mbap, u8),
        request: &Request<'_>,
        key: impl std::hash::Hash,
        out: &mut Observations,
    ) {
        let (operation, category) = (function_name(function), function_category(function));
        out.event_keyed(
            flow,
            to_server,
            PROTOCOL,
            category,
            operation,
            key,
            |detail| {
                let mut text = Detail::new();
                describe(request, header.unit, &mut text);
                detail.push_bytes(text.as_bytes());
            },
        );
        self.remember(Pending {
            transaction: header.transaction,
            unit: header.unit,
            function,
            sub: 0,
            operation,
            category,
        });
    }

    fn on_request(&mut self, flow: &FlowMeta, header: Mbap, pdu: &[u8], out: &mut Observations) {
        let to_server = self.responses.reverse();
        let function = pdu.first().copied().unwrap_or_default();
        let parsed = Request::parse(pdu);
        match &parsed {
            Ok(_) => {
                if let Some(violation) = spec::check_request(pdu) {
                    let what = format_args!("unit {}, {violation}", header.unit);
                    report(flow, to_server, out, "violation", what);
                }
            }
            Err(error) => {
                let what =
                    format_args!("unit {}, {}: {error}", header.unit, function_name(function));
                report(flow, to_server, out, "malformed", what);
            }
        }
        if let Ok(request @ Request::Read { .. }) = parsed {
            // Polls repeat at packet rate: the unit and the request bytes (function, start,
            // quantity) determine the detail.
            self.repeating_request(
                flow,
                to_server,
                (header, function),
                &request,
                (header.unit, pdu),
                out,
            );
            return;
        }
        if let Ok(request) = parsed {
            if let Some(shown) = write_key(&request) {
                // Cyclic writes repeat too: the unit and the fields the detail shows (the
                // function, addresses and the values shown) determine it.
                self.repeating_request(
                    flow,
                    to_server,
                    (header, function),
                    &request,
                    (header.unit, shown),
                    out,
                );
                return;
            }
        }
        let mut detail = Detail::new();
        let (operation, category, sub, hash) = match parsed {
            Ok(request) => {
                let (operation, category, sub) = describe(&request, header.unit, &mut detail);
                let hash = match request {
                    Request::Umas(u) => self.umas_request(&mut detail, u),
                    _ => None,
                };
                (operation, category, sub, hash)
            }
            Err(_) => {
                // A request too short for its function's fields: still an operation.
                let _ = write!(detail, "unit {}, truncated request", header.unit);
                (
                    function_name(function),
                    function_category(function),
                    0,
                    None,
                )
            }
        };
        let hex = hash.as_ref().and_then(|h| std::str::from_utf8(h).ok());
        out.event_with_hash(
            flow,
            to_server,
            PROTOCOL,
            category,
            operation,
            detail.as_str(),
            hex,
        );
        self.remember(Pending {
            transaction: header.transaction,
            unit: header.unit,
            function,
            sub,
            operation,
            category,
        });
    }

    /// UMAS transfer bookkeeping and the details only a transfer knows; the hex SHA-256 of a
    /// finished transfer.
    fn umas_request(&mut self, detail: &mut Detail, u: umas::Umas<'_>) -> Option<[u8; 64]> {
        match u.code {
            umas::INITIALIZE_DOWNLOAD => self.download.reset(),
            umas::DOWNLOAD_BLOCK => {
                if let Some(payload) = umas::download_block_payload(u.data) {
                    self.download.add(payload);
                }
            }
            umas::INITIALIZE_UPLOAD => self.upload.reset(),
            umas::END_DOWNLOAD | umas::END_UPLOAD => {
                let transfer = if u.code == umas::END_DOWNLOAD {
                    &mut self.download
                } else {
                    &mut self.upload
                };
                let _ = write!(
                    detail,
                    ", {} blocks, {} bytes",
                    transfer.blocks, transfer.bytes
                );
                return Some(transfer.finish());
            }
            _ => {}
        }
        None
    }

    fn on_response(&mut self, flow: &FlowMeta, header: Mbap, pdu: &[u8], out: &mut Observations) {
        let server = flow.sender(self.responses);
        let now = flow.now;
        if !self.service_reported {
            self.service_reported = true;
            out.fact(server, Attribute::Service, "modbus", Source::Modbus, now);
        }
        let bit = 1u64 << (header.unit % 64);
        let word = &mut self.units[usize::from(header.unit / 64)];
        if *word & bit == 0 {
            *word |= bit;
            let mut value = ValueBuf::<24>::new();
            let _ = write!(value, "modbus:unit:{}", header.unit);
            out.fact(
                server,
                Attribute::ProtocolAddress,
                value.as_str(),
                Source::Modbus,
                now,
            );
        }
        let Some((&function, data)) = pdu.split_first() else {
            return;
        };
        let pending = self.take_pending(&header, function);
        let to_server = self.responses.reverse();
        let broken = if function & 0x80 != 0 {
            spec::check_exception(pdu)
        } else {
            spec::check_response(pdu)
        };
        if let Some(violation) = broken {
            let what = format_args!("unit {}, {violation}", header.unit);
            report(flow, self.responses, out, "violation", what);
        }
        if function & 0x80 != 0 {
            let code = data.first().copied().unwrap_or_default();
            let (operation, category) = match pending {
                Some(p) => (p.operation, p.category),
                None => (function_name(function), function_category(function)),
            };
            let mut detail = Detail::new();
            let _ = write!(
                detail,
                "unit {}, {operation}: {} ({code})",
                header.unit,
                exception_name(code)
            );
            out.event(
                flow,
                to_server,
                PROTOCOL,
                category,
                "exception",
                detail.as_str(),
            );
            return;
        }
        if pending.is_none() {
            self.orphan_response(flow, header, pdu, out);
        }
        match function {
            17 => {
                if let Ok(id) = ServerId::parse(data) {
                    server_id_facts(server, &id, now, out);
                }
            }
            43 if data.first() == Some(&14) => {
                if let Ok(ident) = DeviceIdentification::parse(data.get(1..).unwrap_or_default()) {
                    identification_facts(server, &ident, now, out);
                }
            }
            umas::FUNCTION => {
                if let Some(u) = umas::Umas::parse(data) {
                    self.umas_response(flow, header, pending, u, out);
                }
            }
            _ => {}
        }
    }

    /// The event of a request not seen, from what its response tells.
    fn orphan_response(
        &mut self,
        flow: &FlowMeta,
        header: Mbap,
        pdu: &[u8],
        out: &mut Observations,
    ) {
        let (&function, data) = pdu.split_first().unwrap_or((&0, &[]));
        let mut detail = Detail::new();
        let (operation, category) = match (function, Request::parse(pdu)) {
            // These answers echo the request's fields.
            (5 | 6 | 8 | 22, Ok(request)) => {
                let (operation, category, _) = describe(&request, header.unit, &mut detail);
                let _ = write!(detail, ", response only");
                (operation, category)
            }
            (15 | 16, _) => {
                let _ = write!(detail, "unit {}", header.unit);
                if let (Ok(start), Ok(quantity)) = (be16(pdu, 1, "start"), be16(pdu, 3, "n")) {
                    let _ = write!(detail, ",");
                    range(&mut detail, data_kind(function), start, quantity);
                }
                let _ = write!(detail, ", response only");
                (function_name(function), function_category(function))
            }
            (1..=4, _) => {
                let count = data.first().copied().unwrap_or_default();
                let _ = write!(
                    detail,
                    "unit {}, {}, {count} bytes, response only",
                    header.unit,
                    data_kind(function)
                );
                (function_name(function), function_category(function))
            }
            (43, _) if data.first() == Some(&14) => {
                let _ = write!(detail, "unit {}, response only", header.unit);
                ("read_device_identification", EventCategory::Diagnostics)
            }
            _ => {
                let _ = write!(detail, "unit {}", header.unit);
                if !is_known_function(function) {
                    let _ = write!(detail, ", function {function}");
                }
                let _ = write!(detail, ", response only");
                (function_name(function), function_category(function))
            }
        };
        out.event(
            flow,
            self.responses.reverse(),
            PROTOCOL,
            category,
            operation,
            detail.as_str(),
        );
    }

    fn umas_response(
        &mut self,
        flow: &FlowMeta,
        header: Mbap,
        pending: Option<Pending>,
        u: umas::Umas<'_>,
        out: &mut Observations,
    ) {
        let server = flow.sender(self.responses);
        let Some(request) = pending.filter(|p| p.function == umas::FUNCTION) else {
            return;
        };
        let function = u8::try_from(request.sub).unwrap_or_default();
        if u.code == umas::STATUS_ERROR {
            let mut detail = Detail::new();
            let _ = write!(detail, "unit {}, {}: error", header.unit, request.operation);
            if let Some(code) = u.data.first() {
                let _ = write!(detail, " 0x{code:02x}");
            }
            out.event(
                flow,
                self.responses.reverse(),
                PROTOCOL,
                request.category,
                "error_response",
                detail.as_str(),
            );
            return;
        }
        if u.code != umas::STATUS_OK {
            return;
        }
        match function {
            umas::READ_ID => {
                if let Some(model) = umas::read_id_model(u.data) {
                    out.fact_bytes(server, Attribute::Model, model, Source::Modbus, flow.now);
                }
            }
            umas::UPLOAD_BLOCK => {
                if let Some((_, payload)) = umas::upload_block_payload(u.data) {
                    self.upload.add(payload);
                }
            }
            umas::START_PLC => {
                out.fact(server, Attribute::State, "run", Source::Modbus, flow.now);
            }
            umas::STOP_PLC => {
                out.fact(server, Attribute::State, "stop", Source::Modbus, flow.now);
            }
            _ => {}
        }
    }
}

/// The operation, category and sub-code (diagnostics sub-function, MEI type or UMAS function)
/// of a request, with its detail written to `detail`.
fn describe(
    request: &Request<'_>,
    unit: u8,
    detail: &mut Detail,
) -> (&'static str, EventCategory, u16) {
    let _ = write!(detail, "unit {unit}");
    let function = match request {
        Request::Read { function, .. }
        | Request::WriteMultiple { function, .. }
        | Request::FileRecord { function, .. }
        | Request::Other { function, .. } => *function,
        Request::WriteSingleCoil { .. } => 5,
        Request::WriteSingleRegister { .. } => 6,
        Request::Diagnostics { .. } => 8,
        Request::MaskWrite { .. } => 22,
        Request::ReadWrite { .. } => 23,
        Request::ReadFifo { .. } => 24,
        Request::Encapsulated { .. } => 43,
        Request::Umas(_) => umas::FUNCTION,
    };
    let (mut operation, mut category, mut sub) =
        (function_name(function), function_category(function), 0u16);
    match *request {
        Request::Read {
            function,
            start,
            quantity,
        } => {
            let _ = write!(detail, ",");
            range(detail, data_kind(function), start, quantity);
        }
        Request::WriteSingleCoil { address, value } => {
            let _ = write!(detail, ", coil {address} = ");
            let _ = match value {
                0xff00 => write!(detail, "on"),
                0x0000 => write!(detail, "off"),
                v => write!(detail, "0x{v:04x}"),
            };
        }
        Request::WriteSingleRegister { address, value } => {
            let _ = write!(detail, ", holding register {address} = {value}");
        }
        Request::WriteMultiple {
            function,
            start,
            quantity,
            values,
        } => {
            let _ = write!(detail, ",");
            range(detail, data_kind(function), start, quantity);
            if !values.is_empty() {
                if function == 15 {
                    bits(detail, values, quantity);
                } else {
                    registers(detail, values, quantity);
                }
            }
        }
        Request::Diagnostics { sub_function, data } => {
            operation = diagnostic_name(sub_function);
            category = diagnostic_category(sub_function);
            sub = sub_function;
            let _ = write!(detail, ", sub-function {sub_function}");
            if sub_function == 1 && data.starts_with(&[0xff, 0x00]) {
                let _ = write!(detail, ", clear event log");
            }
        }
        Request::FileRecord { function, records } => file_records(detail, function, records),
        Request::MaskWrite {
            address,
            and_mask,
            or_mask,
        } => {
            let _ = write!(
                detail,
                ", holding register {address}, and 0x{and_mask:04x}, or 0x{or_mask:04x}"
            );
        }
        Request::ReadWrite {
            read_start,
            read_quantity,
            write_start,
            write_quantity,
            values,
        } => {
            let _ = write!(detail, ", read");
            range(detail, "holding registers", read_start, read_quantity);
            let _ = write!(detail, ", write");
            range(detail, "holding registers", write_start, write_quantity);
            registers(detail, values, write_quantity);
        }
        Request::ReadFifo { address } => {
            let _ = write!(detail, ", fifo {address}");
        }
        Request::Encapsulated { mei, data } => {
            sub = u16::from(mei);
            match mei {
                14 => {
                    operation = "read_device_identification";
                    let code = data.first().copied().unwrap_or_default();
                    let object = data.get(1).copied().unwrap_or_default();
                    let level = match code {
                        1 => "basic",
                        2 => "regular",
                        3 => "extended",
                        4 => "individual",
                        _ => "unknown",
                    };
                    let _ = write!(detail, ", {level} ({code}), object {object}");
                }
                13 => {
                    operation = "can_open_general_reference";
                    category = EventCategory::Other;
                }
                _ => {
                    let _ = write!(detail, ", mei type {mei}");
                }
            }
        }
        Request::Umas(u) => {
            operation = umas::function_name(u.code);
            category = umas::category(u.code);
            sub = u16::from(u.code);
            if let (0x20, Some((block, offset, count))) = (u.code, umas::read_memory_block(u.data))
            {
                let _ = write!(detail, ", block {block}, offset {offset}, {count} bytes");
            }
            if operation == "umas_function" {
                let _ = write!(detail, ", umas function 0x{:02x}", u.code);
            }
        }
        Request::Other { function, .. } => {
            if operation == "unknown_function" {
                let _ = write!(detail, ", function {function}");
            }
        }
    }
    (operation, category, sub)
}

/// What a write's detail shows, for [`Observations::event_keyed`]: exactly the fields
/// [`describe`] writes, so that two writes have the same key when, and only when, they have the
/// same detail (fields it does not show, such as values past the first [`MAX_SHOWN_VALUES`],
/// stay out of the key, or equal details would be counted apart). `None` for the requests that
/// are not keyed.
fn write_key<'a>(request: &Request<'a>) -> Option<(u8, u16, u16, Shown<'a>)> {
    Some(match *request {
        Request::WriteSingleCoil { address, value } => (5, address, value, Shown::None),
        Request::WriteSingleRegister { address, value } => (6, address, value, Shown::None),
        Request::WriteMultiple {
            function,
            start,
            quantity,
            values,
        } => {
            let shown = usize::from(quantity).min(MAX_SHOWN_VALUES);
            let values = if values.is_empty() {
                Shown::None
            } else if function == 15 {
                // `bits` shows the low `shown` bits of the first byte.
                let mask = u8::try_from((1u16 << shown) - 1).unwrap_or(u8::MAX);
                Shown::Bits(values.first().map_or(0, |b| b & mask))
            } else {
                // `registers` shows the first `shown` whole registers.
                let len = (shown * 2).min(values.len() / 2 * 2);
                Shown::Registers(values.get(..len).unwrap_or_default())
            };
            (function, start, quantity, values)
        }
        _ => return None,
    })
}

/// The values a write's detail shows (see [`write_key`]).
#[derive(Debug, Clone, Copy, Hash)]
enum Shown<'a> {
    /// None (single writes, whose value is in the key, or no values).
    None,
    /// The coils shown, a bit each.
    Bits(u8),
    /// The register bytes shown.
    Registers(&'a [u8]),
}

/// ` holding registers 0-9 (10)` (after a comma or a word such as `read`).
fn range(detail: &mut Detail, kind: &str, start: u16, quantity: u16) {
    let end = (u32::from(start) + u32::from(quantity)).saturating_sub(1);
    if quantity == 0 {
        let _ = write!(detail, " {kind} {start} (0)");
    } else {
        let _ = write!(detail, " {kind} {start}-{end} ({quantity})");
    }
}

/// ` = 1,0,1…`: the first coil values, least significant bit first.
fn bits(detail: &mut Detail, values: &[u8], quantity: u16) {
    let shown = usize::from(quantity).min(MAX_SHOWN_VALUES);
    let _ = write!(detail, " =");
    for i in 0..shown {
        let Some(byte) = values.get(i / 8) else {
            break;
        };
        let sep = if i == 0 { " " } else { "," };
        let _ = write!(detail, "{sep}{}", (byte >> (i % 8)) & 1);
    }
    if usize::from(quantity) > shown {
        let _ = write!(detail, ",…");
    }
}

/// ` = 170,187…`: the first register values.
fn registers(detail: &mut Detail, values: &[u8], quantity: u16) {
    let shown = usize::from(quantity).min(MAX_SHOWN_VALUES);
    let _ = write!(detail, " =");
    for (i, pair) in values.chunks_exact(2).take(shown).enumerate() {
        let sep = if i == 0 { " " } else { "," };
        let _ = write!(detail, "{sep}{}", u16::from_be_bytes([pair[0], pair[1]]));
    }
    if usize::from(quantity) > shown {
        let _ = write!(detail, ",…");
    }
}

/// `, file 4 records 1-2 (2)` for the first sub-request, and how many more there are.
fn file_records(detail: &mut Detail, function: u8, records: &[u8]) {
    let mut rest = records;
    let mut count = 0usize;
    while let [_reference, f0, f1, r0, r1, l0, l1, tail @ ..] = rest {
        let file = u16::from_be_bytes([*f0, *f1]);
        let record = u16::from_be_bytes([*r0, *r1]);
        let length = u16::from_be_bytes([*l0, *l1]);
        if count == 0 {
            let _ = write!(detail, ", file {file}");
            range(detail, "registers", record, length);
        }
        count += 1;
        // A write carries the record data after each sub-request header.
        let skip = if function == 21 {
            usize::from(length) * 2
        } else {
            0
        };
        rest = tail.get(skip..).unwrap_or_default();
    }
    if count > 1 {
        let _ = write!(detail, ", +{} more", count - 1);
    }
}

fn server_id_facts(
    server: DeviceKey,
    id: &ServerId<'_>,
    now: ironward_model::Timestamp,
    out: &mut Observations,
) {
    if let Some(running) = id.running {
        let state = if running { "run" } else { "stop" };
        out.fact(server, Attribute::State, state, Source::Modbus, now);
    }
    // Text the device sends about itself: the additional data, or a textual server id.
    for text in [id.additional, id.id] {
        let printable = text
            .iter()
            .filter(|b| b.is_ascii_graphic() || **b == b' ')
            .count();
        if printable >= 4 && printable * 10 >= text.len() * 9 {
            out.fact_bytes(server, Attribute::Description, text, Source::Modbus, now);
            break;
        }
    }
}

fn identification_facts(
    server: DeviceKey,
    ident: &DeviceIdentification<'_>,
    now: ironward_model::Timestamp,
    out: &mut Observations,
) {
    let has_model_name = ident.objects().any(|(id, _)| id == 5);
    for (id, value) in ident.objects() {
        let attribute = match id {
            0 => Attribute::Vendor,
            1 => Attribute::ProductCode,
            2 => Attribute::Firmware,
            3 => Attribute::Url,
            4 if has_model_name => Attribute::Description,
            4 | 5 => Attribute::Model,
            6 => Attribute::Hostname,
            _ => continue,
        };
        out.fact_bytes(server, attribute, value, Source::Modbus, now);
    }
}

impl Dissector for ModbusDissector {
    fn protocol(&self) -> &'static str {
        PROTOCOL
    }

    fn on_datagram(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        payload: &[u8],
        out: &mut Observations,
    ) {
        let mut rest = payload;
        while !rest.is_empty() {
            match split_adu(rest) {
                Ok((header, pdu)) => {
                    self.on_adu(flow, direction, header, pdu, out);
                    rest = rest.get(header.adu_len()..).unwrap_or_default();
                }
                Err(ModbusError::Truncated { .. }) => {
                    // A datagram is whole: the length field must match what came.
                    return match Mbap::parse(rest) {
                        Ok(header) => {
                            let violation = spec::Violation::MbapLength {
                                length: header.length,
                                present: rest.len() - 6,
                            };
                            report(flow, direction, out, "violation", violation)
                        }
                        Err(_) => {
                            let error = truncated("MBAP header", payload.len() - rest.len());
                            report(flow, direction, out, "malformed", error)
                        }
                    };
                }
                Err(error) => return report(flow, direction, out, "violation", error),
            }
        }
    }

    fn on_stream(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        chunk: StreamChunk<'_>,
        out: &mut Observations,
    ) {
        framing::feed(self, direction.index(), chunk, MAX_ADU, |this, bytes| {
            this.adus(flow, direction, bytes, out)
        });
    }
}

/// Reports a PDU sent in `direction` that breaks the protocol (category Other): `malformed`
/// when it cannot be decoded, `violation` when it decodes but breaks a rule of the
/// specification. Only error paths come here; the detail is built on the stack.
fn report(
    flow: &FlowMeta,
    direction: Direction,
    out: &mut Observations,
    operation: &'static str,
    what: impl std::fmt::Display,
) {
    out.spec_report::<192>(flow, direction, PROTOCOL, operation, what);
}

#[cfg(test)]
mod tests;
