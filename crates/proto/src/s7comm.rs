//! Siemens S7comm (S7 communication, protocol id 0x32) over ISO-TSAP (TPKT + COTP, port 102):
//! the protocol of S7-300/400 controllers, and of S7-1200/1500 in their compatible mode.
//!
//! [`crate::iso_tsap`] hands every whole S7 PDU to [`Session`]. Read here: the header (ROSCTR
//! job / ack / ack_data / userdata, PDU reference, parameter and data lengths, the error class
//! and code of acknowledgements); setup communication (max AmQ, PDU length); read and write
//! variable with their S7ANY item addresses (area, DB, byte.bit, transport size, count) and item
//! return codes; block download (request download, download block, download ended) and upload
//! (start upload, upload, end upload) with the block name (`DB1`); PI services (hot and cold
//! start, block insert and delete, copy RAM to ROM, compress); PLC stop; userdata functions
//! (programmer commands, cyclic data, block functions, CPU functions with read SZL, security,
//! time functions) with their fragments reassembled for SZL answers.
//!
//! Facts, about the controller that answers: Vendor `Siemens`, ProductCode (order number) and
//! Model, Hardware and Firmware (`V3.2.6`) from SZL 0x0011; Hostname (station name), Model
//! (module type name), Location (plant id, location id), Serial from SZL 0x001C; State (`run`,
//! `stop (memory reset)`, …) from SZL 0x0424 and mode-transition pushes; ProtocolAddress
//! `s7:rack:0:slot:2` from the called TSAP of the connection request.
//!
//! Events (source = requester): every job and userdata request, one per operation —
//! `read_var` Read, `write_var` Write (with the first value bytes), `setup_communication`
//! Other, `plc_stop` / `plc_hot_start` / `plc_cold_start` ModeChange, `block_insert` /
//! `block_delete` / `copy_ram_to_rom` ConfigurationChange, one `download` ProgramDownload and
//! one `upload` ProgramUpload per block with the SHA-256 of the block bytes, `read_szl`,
//! `get_block_info`, … Diagnostics, `read_clock` / `set_clock` TimeSync, `plc_password`
//! Authentication (the password is never kept); failures as `error_response` with the class
//! and code names, in the category of the failed request. Continuation requests of fragmented
//! userdata answers are not operations of their own and make no event.
//!
//! Bounds: [`MAX_PENDING`] outstanding jobs remembered per association, at most
//! [`MAX_USERDATA_REASSEMBLY`] bytes of one fragmented SZL answer buffered, one download and one
//! upload hashed at a time (incrementally, nothing buffered), at most [`MAX_DETAIL_ITEMS`]
//! items and [`MAX_DETAIL_VALUE_BYTES`] value bytes per item written into a detail.

pub mod names;
pub mod szl;

use std::fmt::{self, Write as _};

use ironward_model::{Attribute, EventCategory, Source};
use sha2::{Digest, Sha256};

use crate::cotp::Connect;
use crate::iso_tsap::TsduHandler;
use crate::value::ValueBuf;
use crate::{Direction, FlowMeta, Observations};

pub use names::mlfb_model;
use szl::{Component, ModuleId, SzlList};

/// First byte of every S7comm PDU.
pub const PROTOCOL_ID: u8 = 0x32;

/// Jobs remembered until their acknowledgement (to name the function an error answers).
pub const MAX_PENDING: usize = 8;

/// Most bytes of one fragmented userdata answer (an SZL list) buffered for reassembly.
pub const MAX_USERDATA_REASSEMBLY: usize = 8 * 1024;

/// Most items written into an event detail (the rest are counted).
pub const MAX_DETAIL_ITEMS: usize = 4;

/// Most value bytes of one written item shown in a detail.
pub const MAX_DETAIL_VALUE_BYTES: usize = 8;

/// Detail buffer size (the observations cut details longer than this anyway).
const DETAIL: usize = 512;

/// ROSCTR values (the PDU type).
pub mod rosctr {
    /// A request.
    pub const JOB: u8 = 1;
    /// An acknowledgement without data.
    pub const ACK: u8 = 2;
    /// An acknowledgement with data.
    pub const ACK_DATA: u8 = 3;
    /// Userdata (the extended functions).
    pub const USERDATA: u8 = 7;
}

/// Job function codes (first parameter byte).
pub mod func {
    /// CPU services.
    pub const CPU_SERVICES: u8 = 0x00;
    /// Read variable.
    pub const READ_VAR: u8 = 0x04;
    /// Write variable.
    pub const WRITE_VAR: u8 = 0x05;
    /// Request download.
    pub const REQUEST_DOWNLOAD: u8 = 0x1a;
    /// Download block.
    pub const DOWNLOAD_BLOCK: u8 = 0x1b;
    /// Download ended.
    pub const DOWNLOAD_ENDED: u8 = 0x1c;
    /// Start upload.
    pub const START_UPLOAD: u8 = 0x1d;
    /// Upload.
    pub const UPLOAD: u8 = 0x1e;
    /// End upload.
    pub const END_UPLOAD: u8 = 0x1f;
    /// PI (program invocation) service.
    pub const PI_SERVICE: u8 = 0x28;
    /// PLC stop.
    pub const PLC_STOP: u8 = 0x29;
    /// Setup communication.
    pub const SETUP_COMMUNICATION: u8 = 0xf0;
}

/// Why an S7comm PDU or one of its parts was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum S7Error {
    /// The first byte is not the protocol id 0x32.
    NotS7 {
        /// The byte found.
        byte: u8,
    },
    /// A ROSCTR this dissector does not know.
    UnknownRosctr(u8),
    /// A field runs past the end of the PDU.
    Truncated {
        /// What was being read.
        field: &'static str,
        /// Where it starts, from the start of the part being read.
        offset: usize,
    },
}

impl fmt::Display for S7Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotS7 { byte } => write!(f, "S7comm: protocol id 0x{byte:02x}, expected 0x32"),
            Self::UnknownRosctr(r) => write!(f, "S7comm: unknown ROSCTR {r}"),
            Self::Truncated { field, offset } => {
                write!(f, "S7comm: truncated {field} at offset {offset}")
            }
        }
    }
}

impl std::error::Error for S7Error {}

fn truncated<T>(field: &'static str, offset: usize) -> Result<T, S7Error> {
    Err(S7Error::Truncated { field, offset })
}

/// The S7comm header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// PDU type (see [`rosctr`]).
    pub rosctr: u8,
    /// PDU reference: an acknowledgement carries its job's.
    pub pdu_ref: u16,
    /// Error class (acknowledgements only; 0 when none).
    pub error_class: u8,
    /// Error code (acknowledgements only).
    pub error_code: u8,
}

/// One S7comm PDU: header, parameter and data parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pdu<'a> {
    /// The header.
    pub header: Header,
    /// The parameter part.
    pub param: &'a [u8],
    /// The data part.
    pub data: &'a [u8],
}

impl<'a> Pdu<'a> {
    /// Parses a whole PDU (one transport data unit).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, S7Error> {
        let [id, rosctr, _, _, r0, r1, p0, p1, d0, d1, rest @ ..] = bytes else {
            return truncated("header", 0);
        };
        if *id != PROTOCOL_ID {
            return Err(S7Error::NotS7 { byte: *id });
        }
        let (error_class, error_code, rest, at) = match *rosctr {
            rosctr::JOB | rosctr::USERDATA => (0, 0, rest, 10),
            rosctr::ACK | rosctr::ACK_DATA => {
                let [c, e, rest @ ..] = rest else {
                    return truncated("error class", 10);
                };
                (*c, *e, rest, 12)
            }
            other => return Err(S7Error::UnknownRosctr(other)),
        };
        let param_len = usize::from(u16::from_be_bytes([*p0, *p1]));
        let data_len = usize::from(u16::from_be_bytes([*d0, *d1]));
        let Some(param) = rest.get(..param_len) else {
            return truncated("parameter", at);
        };
        let Some(data) = rest[param_len..].get(..data_len) else {
            return truncated("data", at + param_len);
        };
        Ok(Self {
            header: Header {
                rosctr: *rosctr,
                pdu_ref: u16::from_be_bytes([*r0, *r1]),
                error_class,
                error_code,
            },
            param,
            data,
        })
    }
}

/// An S7ANY item address (syntax id 0x10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnyItem {
    /// Transport size (element type).
    pub transport_size: u8,
    /// Number of elements.
    pub length: u16,
    /// DB number (DB and DI areas).
    pub db: u16,
    /// Memory area.
    pub area: u8,
    /// Address: byte offset × 8 + bit (counters and timers: their number).
    pub address: u32,
}

/// One item address of a read or write variable request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemSpec {
    /// An S7ANY address.
    Any(AnyItem),
    /// Another syntax (DBREAD, NCK, symbolic 1200 access, …), by syntax id.
    Other {
        /// The syntax id.
        syntax: u8,
    },
}

/// The item addresses of a read/write variable parameter (after the function and count).
#[derive(Debug, Clone)]
pub struct ItemSpecs<'a> {
    rest: &'a [u8],
    remaining: u8,
}

impl<'a> ItemSpecs<'a> {
    /// The items of a read or write variable parameter part, and the count it announces.
    pub fn new(param: &'a [u8]) -> (Self, u8) {
        let (count, rest) = match param {
            [_, count, rest @ ..] => (*count, rest),
            _ => (0, &[][..]),
        };
        (
            Self {
                rest,
                remaining: count,
            },
            count,
        )
    }
}

impl Iterator for ItemSpecs<'_> {
    type Item = ItemSpec;

    fn next(&mut self) -> Option<ItemSpec> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let [_spec, len, rest @ ..] = self.rest else {
            self.rest = &[];
            return None;
        };
        let body = rest.get(..usize::from(*len))?;
        self.rest = &rest[usize::from(*len)..];
        match *body {
            [0x10, ts, l0, l1, b0, b1, area, a0, a1, a2, ..] => Some(ItemSpec::Any(AnyItem {
                transport_size: ts,
                length: u16::from_be_bytes([l0, l1]),
                db: u16::from_be_bytes([b0, b1]),
                area,
                address: u32::from_be_bytes([0, a0, a1, a2]),
            })),
            [syntax, ..] => Some(ItemSpec::Other { syntax }),
            [] => None,
        }
    }
}

/// One data item (read variable answer, write variable request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataItem<'a> {
    /// Return code (0xff success; 0 in write requests).
    pub return_code: u8,
    /// Data transport size.
    pub transport_size: u8,
    /// The value bytes.
    pub value: &'a [u8],
}

/// The data items of a data part, each padded to an even length except the last.
#[derive(Debug, Clone)]
pub struct DataItems<'a> {
    rest: &'a [u8],
}

impl<'a> DataItems<'a> {
    /// Iterates over the items of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { rest: data }
    }
}

impl<'a> Iterator for DataItems<'a> {
    type Item = DataItem<'a>;

    fn next(&mut self) -> Option<DataItem<'a>> {
        let [rc, ts, l0, l1, rest @ ..] = self.rest else {
            self.rest = &[];
            return None;
        };
        let len = usize::from(u16::from_be_bytes([*l0, *l1]));
        // BIT, BYTE/WORD/DWORD and INTEGER lengths count bits.
        let bytes = if matches!(*ts, 0x03..=0x05) {
            len.div_ceil(8)
        } else {
            len
        };
        let value = &rest[..bytes.min(rest.len())];
        let mut next = &rest[value.len()..];
        if bytes % 2 == 1 && !next.is_empty() {
            next = &next[1..];
        }
        self.rest = next;
        Some(DataItem {
            return_code: *rc,
            transport_size: *ts,
            value,
        })
    }
}

/// A block named in a file name (`_0A00001P`) or PI argument (`0A00001P`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockName {
    /// Block type code (0x08 OB, 0x0a DB, 0x0b SDB, 0x0c FC, 0x0d SFC, 0x0e FB, 0x0f SFB).
    pub kind: u8,
    /// Block number.
    pub number: u32,
}

impl BlockName {
    /// Reads the type (two hex digits) and the five-digit number at the start of `bytes`.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let [t0, t1, digits @ ..] = bytes else {
            return None;
        };
        let hex = |c: u8| (c as char).to_digit(16);
        let kind = (hex(*t0)? * 16 + hex(*t1)?) as u8;
        let digits = digits.get(..5)?;
        let mut number = 0u32;
        for d in digits {
            number = number * 10 + (*d as char).to_digit(10)?;
        }
        Some(Self { kind, number })
    }

    /// Reads a file name: `_`, block, destination file system.
    pub fn from_file_name(name: &[u8]) -> Option<Self> {
        match name {
            [b'_', rest @ ..] => Self::parse(rest),
            _ => None,
        }
    }
}

impl fmt::Display for BlockName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match names::block_type(self.kind) {
            Some(name) => write!(f, "{name}{}", self.number),
            None => write!(f, "block 0x{:02x} {}", self.kind, self.number),
        }
    }
}

/// The file name of a block-control parameter (request download, download block, download
/// ended, start upload): length at byte 8, name after it.
fn file_name(param: &[u8]) -> Option<&[u8]> {
    let len = usize::from(*param.get(8)?);
    param.get(9..9 + len)
}

/// A userdata parameter part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserdataParam {
    /// Parameter length after the 4-byte head (4, or 8 with the fragment fields).
    pub len: u8,
    /// Type: 0 push, 4 request, 8 response (3, 7, 11 the NC variants).
    pub kind: u8,
    /// Function group.
    pub group: u8,
    /// Subfunction.
    pub subfunction: u8,
    /// Data unit reference (fragmented answers).
    pub data_unit_ref: u8,
    /// Whether this is the last data unit (not followed by more fragments).
    pub last_unit: bool,
    /// Error code of a response.
    pub error: u16,
}

impl UserdataParam {
    /// Parses a userdata parameter part.
    pub fn parse(param: &[u8]) -> Result<Self, S7Error> {
        let [_, _, _, len, _method, type_group, subfunction, _seq, rest @ ..] = param else {
            return truncated("userdata parameter", 0);
        };
        let mut out = Self {
            len: *len,
            kind: type_group >> 4,
            group: type_group & 0x0f,
            subfunction: *subfunction,
            data_unit_ref: 0,
            last_unit: true,
            error: 0,
        };
        if *len >= 8 {
            match *rest {
                [unit, last, e0, e1, ..] => {
                    out.data_unit_ref = unit;
                    out.last_unit = last == 0;
                    out.error = u16::from_be_bytes([e0, e1]);
                }
                // Mode-transition pushes announce 16 bytes and carry 8.
                _ if matches!(out.kind, 0 | 3) => {}
                _ => return truncated("userdata fragment fields", 8),
            }
        }
        Ok(out)
    }

    fn is_request(&self) -> bool {
        matches!(self.kind, 4 | 7)
    }

    fn is_response(&self) -> bool {
        matches!(self.kind, 8 | 11)
    }
}

/// The return code and payload of a userdata data part.
fn userdata_data(data: &[u8]) -> Option<(u8, &[u8])> {
    let [rc, _ts, l0, l1, rest @ ..] = data else {
        return None;
    };
    let len = usize::from(u16::from_be_bytes([*l0, *l1]));
    Some((*rc, &rest[..len.min(rest.len())]))
}

/// A job waiting for its acknowledgement.
#[derive(Debug, Clone, Copy, Default)]
struct Pending {
    used: bool,
    pdu_ref: u16,
    function: u8,
    pi: Option<(&'static str, EventCategory)>,
    block: Option<BlockName>,
}

/// A block transfer being hashed.
#[derive(Debug, Clone)]
struct Transfer {
    block: Option<BlockName>,
    hasher: Sha256,
    bytes: u64,
    requester: Direction,
}

impl Transfer {
    fn new(block: Option<BlockName>, requester: Direction) -> Self {
        Self {
            block,
            hasher: Sha256::new(),
            bytes: 0,
            requester,
        }
    }
}

/// Reassembly of a fragmented userdata answer.
#[derive(Debug, Default)]
struct Fragments {
    active: bool,
    buf: Vec<u8>,
}

/// One S7comm association (both directions of a port-102 connection).
#[derive(Debug, Default)]
pub struct Session {
    pending: [Pending; MAX_PENDING],
    next_pending: usize,
    download: Option<Transfer>,
    upload: Option<Transfer>,
    fragments: Fragments,
    /// Connection type and rack/slot byte of the called TSAP.
    tsap: Option<(u8, u8)>,
    /// The module type name was reported (the order number then names no model).
    model_named: bool,
}

impl TsduHandler for Session {
    const PROTOCOL: &'static str = "s7comm";

    fn recognises(tsdu: &[u8]) -> bool {
        tsdu.first() == Some(&PROTOCOL_ID)
    }

    fn on_connect(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        connect: &Connect<'_>,
        confirm: bool,
        out: &mut Observations,
    ) {
        if confirm {
            return;
        }
        if let Some(&[kind, rack_slot]) = connect.called_tsap {
            self.tsap = Some((kind, rack_slot));
            let mut value = ValueBuf::<32>::new();
            let _ = write!(
                value,
                "s7:rack:{}:slot:{}",
                rack_slot >> 5,
                rack_slot & 0x1f
            );
            out.fact_bytes(
                flow.receiver(direction),
                Attribute::ProtocolAddress,
                value.as_bytes(),
                Source::S7comm,
                flow.now,
            );
        }
    }

    fn on_tsdu(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        tsdu: &[u8],
        out: &mut Observations,
    ) {
        let pdu = match Pdu::parse(tsdu) {
            Ok(pdu) => pdu,
            Err(error) => return report(flow, direction, out, "malformed", error),
        };
        if let Some(violation) = check_pdu(tsdu, &pdu) {
            report(flow, direction, out, "violation", violation);
        }
        match pdu.header.rosctr {
            rosctr::JOB => self.job(flow, direction, &pdu, out),
            rosctr::ACK | rosctr::ACK_DATA => self.ack(flow, direction, &pdu, out),
            _ => self.userdata(flow, direction, &pdu, out),
        }
    }

    fn on_end(&mut self, flow: &FlowMeta, out: &mut Observations) {
        // A transfer cut short is still a transfer: report what was moved.
        if let Some(t) = self.download.take() {
            transfer_event(
                flow,
                out,
                t,
                EventCategory::ProgramDownload,
                "download",
                true,
            );
        }
        if let Some(t) = self.upload.take() {
            transfer_event(flow, out, t, EventCategory::ProgramUpload, "upload", true);
        }
    }
}

/// A rule of the S7comm header that a PDU breaks while still being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum S7Violation {
    /// The reserved (redundancy identification) field after the ROSCTR is not 0.
    Reserved(u16),
    /// The data unit holds more than the header, parameter and data lengths announce.
    Length {
        /// Header, parameter and data lengths together.
        announced: usize,
        /// Bytes of the data unit.
        present: usize,
    },
}

impl fmt::Display for S7Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Reserved(value) => {
                write!(f, "S7comm reserved header field 0x{value:04x}, must be 0")
            }
            Self::Length { announced, present } => write!(
                f,
                "S7comm header and lengths announce {announced} bytes but the PDU has {present}"
            ),
        }
    }
}

/// The first header rule a parsed PDU breaks, if any (`tsdu` is what it was parsed from).
pub fn check_pdu(tsdu: &[u8], pdu: &Pdu<'_>) -> Option<S7Violation> {
    let reserved = u16::from_be_bytes([*tsdu.get(2)?, *tsdu.get(3)?]);
    if reserved != 0 {
        return Some(S7Violation::Reserved(reserved));
    }
    let header = if matches!(pdu.header.rosctr, rosctr::ACK | rosctr::ACK_DATA) {
        12
    } else {
        10
    };
    let announced = header + pdu.param.len() + pdu.data.len();
    (announced != tsdu.len()).then_some(S7Violation::Length {
        announced,
        present: tsdu.len(),
    })
}

/// Reports a PDU sent in `direction` that breaks the protocol (category Other): `malformed`
/// when it cannot be decoded, `violation` when it decodes but breaks a rule of the header.
/// Only error paths come here; the detail is built on the stack.
fn report(
    flow: &FlowMeta,
    direction: Direction,
    out: &mut Observations,
    operation: &'static str,
    what: impl std::fmt::Display,
) {
    out.spec_report::<128>(flow, direction, Session::PROTOCOL, operation, what);
}

fn transfer_event(
    flow: &FlowMeta,
    out: &mut Observations,
    transfer: Transfer,
    category: EventCategory,
    operation: &'static str,
    incomplete: bool,
) {
    let mut detail = ValueBuf::<96>::new();
    match transfer.block {
        Some(block) => {
            let _ = write!(detail, "block {block}, {} bytes", transfer.bytes);
        }
        None => {
            let _ = write!(detail, "{} bytes", transfer.bytes);
        }
    }
    if incomplete {
        let _ = detail.write_str(", incomplete");
    }
    let digest = transfer.hasher.finalize();
    let mut hex = ValueBuf::<64>::new();
    hex.push_hex(&digest);
    out.event_with_hash(
        flow,
        transfer.requester,
        Session::PROTOCOL,
        category,
        operation,
        detail.as_str(),
        Some(hex.as_str()),
    );
}

/// Writes an S7ANY item as `DB1 0.0 BYTE x4`.
fn write_item(detail: &mut ValueBuf<DETAIL>, item: &ItemSpec) {
    match item {
        ItemSpec::Any(any) => {
            match names::area(any.area) {
                Some(name) => {
                    let _ = detail.write_str(name);
                }
                None => {
                    let _ = write!(detail, "area 0x{:02x}", any.area);
                }
            }
            if matches!(any.area, 0x84 | 0x85) {
                let _ = write!(detail, "{}", any.db);
            }
            if matches!(any.area, 0x1c..=0x1f) {
                let _ = write!(detail, " {}", any.address);
            } else {
                let _ = write!(detail, " {}.{}", any.address >> 3, any.address & 7);
            }
            match names::transport_size(any.transport_size) {
                Some(name) => {
                    let _ = write!(detail, " {name}");
                }
                None => {
                    let _ = write!(detail, " size 0x{:02x}", any.transport_size);
                }
            }
            let _ = write!(detail, " x{}", any.length);
        }
        ItemSpec::Other { syntax } => match names::syntax(*syntax) {
            Some(name) => {
                let _ = detail.write_str(name);
            }
            None => {
                let _ = write!(detail, "syntax 0x{syntax:02x}");
            }
        },
    }
}

/// The items of a read/write variable request, with the values of a write.
fn items_detail(param: &[u8], values: Option<&[u8]>) -> ValueBuf<DETAIL> {
    let mut detail = ValueBuf::new();
    let (items, count) = ItemSpecs::new(param);
    let mut data = values.map(DataItems::new);
    for (i, item) in items.take(MAX_DETAIL_ITEMS).enumerate() {
        if i > 0 {
            let _ = detail.write_str("; ");
        }
        write_item(&mut detail, &item);
        if let Some(value) = data.as_mut().and_then(Iterator::next) {
            let shown = &value.value[..value.value.len().min(MAX_DETAIL_VALUE_BYTES)];
            let _ = detail.write_str(" = 0x");
            detail.push_hex(shown);
            if value.value.len() > shown.len() {
                let _ = detail.write_str("…");
            }
        }
    }
    if usize::from(count) > MAX_DETAIL_ITEMS {
        let _ = write!(detail, "; +{} more", usize::from(count) - MAX_DETAIL_ITEMS);
    }
    detail
}

/// The operation and category of a job function (PI services are named by their service).
fn job_operation(function: u8) -> (&'static str, EventCategory) {
    use EventCategory::*;
    match function {
        func::CPU_SERVICES => ("cpu_services", Other),
        func::READ_VAR => ("read_var", Read),
        func::WRITE_VAR => ("write_var", Write),
        func::REQUEST_DOWNLOAD => ("request_download", ProgramDownload),
        func::DOWNLOAD_BLOCK => ("download_block", ProgramDownload),
        func::DOWNLOAD_ENDED => ("download_ended", ProgramDownload),
        func::START_UPLOAD => ("start_upload", ProgramUpload),
        func::UPLOAD => ("upload", ProgramUpload),
        func::END_UPLOAD => ("end_upload", ProgramUpload),
        func::PI_SERVICE => ("pi_service", Other),
        func::PLC_STOP => ("plc_stop", ModeChange),
        func::SETUP_COMMUNICATION => ("setup_communication", Other),
        _ => ("unknown_function", Other),
    }
}

/// A PI service: its operation, category and detail (service name, arguments, blocks).
fn pi_service(param: &[u8]) -> Option<(&'static str, EventCategory, ValueBuf<DETAIL>)> {
    use EventCategory::*;
    let block_len = usize::from(u16::from_be_bytes([*param.get(8)?, *param.get(9)?]));
    let block = param.get(10..10 + block_len)?;
    let name_len = usize::from(*param.get(10 + block_len)?);
    let name = param.get(11 + block_len..11 + block_len + name_len)?;
    let mut detail = ValueBuf::<DETAIL>::new();
    detail.push_bytes(name);
    let (operation, category) = match name {
        b"P_PROGRAM" if block.trim_ascii().is_empty() => ("plc_hot_start", ModeChange),
        b"P_PROGRAM" if block.trim_ascii() == b"C" => ("plc_cold_start", ModeChange),
        b"P_PROGRAM" => ("plc_start", ModeChange),
        b"_INSE" => ("block_insert", ConfigurationChange),
        b"_DELE" => ("block_delete", ConfigurationChange),
        b"_MODU" => ("copy_ram_to_rom", ConfigurationChange),
        b"_GARB" => ("compress_memory", Other),
        _ => ("pi_service", Other),
    };
    if matches!(name, b"_INSE" | b"_DELE") {
        // Count, a reserved byte, then 8-byte block names (`0A00001P`).
        let count = usize::from(*block.first()?);
        let names = block.get(2..).unwrap_or_default();
        for (i, chunk) in names.chunks_exact(8).take(count.min(16)).enumerate() {
            let _ = detail.write_str(if i == 0 { " " } else { ", " });
            match BlockName::parse(chunk) {
                Some(b) => {
                    let _ = write!(detail, "{b}");
                }
                None => detail.push_bytes(chunk),
            }
        }
    } else if !block.trim_ascii().is_empty()
        && block.iter().all(|b| b.is_ascii_graphic() || *b == b' ')
    {
        let _ = detail.write_str(" ");
        detail.push_bytes(block.trim_ascii());
    }
    Some((operation, category, detail))
}

impl Session {
    fn remember(&mut self, pending: Pending) {
        let slot = self.next_pending % MAX_PENDING;
        self.pending[slot] = pending;
        self.next_pending = (slot + 1) % MAX_PENDING;
    }

    fn take_pending(&mut self, pdu_ref: u16) -> Option<Pending> {
        let slot = self
            .pending
            .iter_mut()
            .find(|p| p.used && p.pdu_ref == pdu_ref)?;
        let pending = *slot;
        slot.used = false;
        Some(pending)
    }

    fn job(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        pdu: &Pdu<'_>,
        out: &mut Observations,
    ) {
        let Some(&function) = pdu.param.first() else {
            return;
        };
        let mut pending = Pending {
            used: true,
            pdu_ref: pdu.header.pdu_ref,
            function,
            pi: None,
            block: None,
        };
        let (operation, category) = job_operation(function);
        match function {
            func::READ_VAR => {
                out.event(
                    flow,
                    direction,
                    Self::PROTOCOL,
                    category,
                    operation,
                    items_detail(pdu.param, None).as_str(),
                );
            }
            func::WRITE_VAR => {
                let detail = items_detail(pdu.param, Some(pdu.data));
                out.event(
                    flow,
                    direction,
                    Self::PROTOCOL,
                    category,
                    operation,
                    detail.as_str(),
                );
            }
            func::SETUP_COMMUNICATION => {
                let mut detail = ValueBuf::<96>::new();
                if let [_, _, c0, c1, d0, d1, l0, l1, ..] = *pdu.param {
                    let _ = write!(
                        detail,
                        "pdu {}, amq {}/{}",
                        u16::from_be_bytes([l0, l1]),
                        u16::from_be_bytes([c0, c1]),
                        u16::from_be_bytes([d0, d1])
                    );
                }
                if let Some((kind, rack_slot)) = self.tsap {
                    let kind = match kind {
                        1 => "pg",
                        2 => "op",
                        3 => "s7 basic",
                        _ => "other",
                    };
                    let _ = write!(
                        detail,
                        ", {kind}, rack {} slot {}",
                        rack_slot >> 5,
                        rack_slot & 0x1f
                    );
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
            func::REQUEST_DOWNLOAD => {
                let block = file_name(pdu.param).and_then(BlockName::from_file_name);
                if let Some(previous) = self.download.take() {
                    transfer_event(
                        flow,
                        out,
                        previous,
                        EventCategory::ProgramDownload,
                        "download",
                        true,
                    );
                }
                self.download = Some(Transfer::new(block, direction));
                pending.block = block;
            }
            func::DOWNLOAD_BLOCK => {}
            func::DOWNLOAD_ENDED => {
                // Sent by the controller; the download belongs to whoever requested it.
                if let Some(t) = self.download.take() {
                    transfer_event(
                        flow,
                        out,
                        t,
                        EventCategory::ProgramDownload,
                        "download",
                        false,
                    );
                }
            }
            func::START_UPLOAD => {
                pending.block = file_name(pdu.param).and_then(BlockName::from_file_name);
            }
            func::UPLOAD => {}
            func::END_UPLOAD => {
                if let Some(t) = self.upload.take() {
                    transfer_event(flow, out, t, EventCategory::ProgramUpload, "upload", false);
                }
            }
            func::PI_SERVICE => {
                if let Some((op, cat, detail)) = pi_service(pdu.param) {
                    out.event(flow, direction, Self::PROTOCOL, cat, op, detail.as_str());
                    pending.pi = Some((op, cat));
                }
            }
            func::PLC_STOP => {
                let name = pdu
                    .param
                    .get(6)
                    .and_then(|&len| pdu.param.get(7..7 + usize::from(len)))
                    .unwrap_or_default();
                let mut detail = ValueBuf::<64>::new();
                detail.push_bytes(name);
                out.event(
                    flow,
                    direction,
                    Self::PROTOCOL,
                    category,
                    operation,
                    detail.as_str(),
                );
            }
            _ => {
                let mut detail = ValueBuf::<16>::new();
                let _ = write!(detail, "0x{function:02x}");
                out.event(
                    flow,
                    direction,
                    Self::PROTOCOL,
                    category,
                    operation,
                    detail.as_str(),
                );
            }
        }
        self.remember(pending);
    }

    fn ack(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        pdu: &Pdu<'_>,
        out: &mut Observations,
    ) {
        let pending = self.take_pending(pdu.header.pdu_ref);
        let function = pdu.param.first().copied().or(pending.map(|p| p.function));
        let requester = direction.reverse();
        let (mut operation, mut category) =
            function.map_or(("unknown_function", EventCategory::Other), job_operation);
        if let Some((op, cat)) = pending.and_then(|p| p.pi) {
            (operation, category) = (op, cat);
        }
        let code = u16::from_be_bytes([pdu.header.error_class, pdu.header.error_code]);
        if code != 0 {
            let mut detail = ValueBuf::<DETAIL>::new();
            let _ = write!(
                detail,
                "{operation}: {}, {} (0x{code:04x})",
                names::error_class(pdu.header.error_class),
                names::error_code(code).unwrap_or("unknown error code")
            );
            out.event(
                flow,
                requester,
                Self::PROTOCOL,
                category,
                "error_response",
                detail.as_str(),
            );
            if matches!(function, Some(func::START_UPLOAD | func::UPLOAD)) {
                self.upload = None;
            }
            if matches!(
                function,
                Some(func::DOWNLOAD_BLOCK | func::REQUEST_DOWNLOAD)
            ) {
                self.download = None;
            }
            return;
        }
        match function {
            Some(func::READ_VAR) => {
                let failures = DataItems::new(pdu.data)
                    .enumerate()
                    .filter(|(_, item)| item.return_code != 0xff);
                item_errors(flow, requester, out, operation, category, failures);
            }
            Some(func::WRITE_VAR) => {
                let failures = pdu
                    .data
                    .iter()
                    .enumerate()
                    .filter(|(_, rc)| **rc != 0xff)
                    .map(|(i, rc)| {
                        (
                            i,
                            DataItem {
                                return_code: *rc,
                                transport_size: 0,
                                value: &[],
                            },
                        )
                    });
                item_errors(flow, requester, out, operation, category, failures);
            }
            Some(func::DOWNLOAD_BLOCK) => {
                // The engineering station answers the controller's request with block bytes.
                if let (Some(t), [l0, l1, _, _, rest @ ..]) = (self.download.as_mut(), pdu.data) {
                    let len = usize::from(u16::from_be_bytes([*l0, *l1]));
                    let bytes = &rest[..len.min(rest.len())];
                    t.hasher.update(bytes);
                    t.bytes += bytes.len() as u64;
                }
            }
            Some(func::START_UPLOAD) => {
                if let Some(previous) = self.upload.take() {
                    transfer_event(
                        flow,
                        out,
                        previous,
                        EventCategory::ProgramUpload,
                        "upload",
                        true,
                    );
                }
                self.upload = Some(Transfer::new(pending.and_then(|p| p.block), requester));
            }
            Some(func::UPLOAD) => {
                if let (Some(t), [l0, l1, _, _, rest @ ..]) = (self.upload.as_mut(), pdu.data) {
                    let len = usize::from(u16::from_be_bytes([*l0, *l1]));
                    let bytes = &rest[..len.min(rest.len())];
                    t.hasher.update(bytes);
                    t.bytes += bytes.len() as u64;
                }
            }
            _ => {}
        }
    }

    fn userdata(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        pdu: &Pdu<'_>,
        out: &mut Observations,
    ) {
        let Ok(param) = UserdataParam::parse(pdu.param) else {
            return;
        };
        let (operation, category) = names::userdata_operation(param.group, param.subfunction);
        if param.is_request() {
            let data = userdata_data(pdu.data);
            // A request for the next fragment of an answer carries no data of its own.
            if param.len >= 8 && matches!(data, Some((0x0a, []))) {
                return;
            }
            let payload = data.map(|(_, p)| p).unwrap_or_default();
            let detail = request_detail(param.group, param.subfunction, payload);
            out.event(
                flow,
                direction,
                Self::PROTOCOL,
                category,
                operation,
                detail.as_str(),
            );
        } else if param.is_response() {
            if param.error != 0 {
                let mut detail = ValueBuf::<DETAIL>::new();
                let _ = write!(
                    detail,
                    "{operation}: {} (0x{:04x})",
                    names::error_code(param.error).unwrap_or("unknown error code"),
                    param.error
                );
                out.event(
                    flow,
                    direction.reverse(),
                    Self::PROTOCOL,
                    category,
                    "error_response",
                    detail.as_str(),
                );
                self.fragments.active = false;
                return;
            }
            if (param.group, param.subfunction) == (4, 1) {
                self.szl_answer(flow, direction, &param, pdu.data, out);
            }
        } else if param.group == 0 {
            // Mode-transition push from the controller: its new state.
            if let Some(state) = names::mode_transition(param.subfunction) {
                out.fact(
                    flow.sender(direction),
                    Attribute::State,
                    state,
                    Source::S7comm,
                    flow.now,
                );
            }
        }
    }

    /// A read-SZL answer or one of its fragments.
    fn szl_answer(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        param: &UserdataParam,
        data: &[u8],
        out: &mut Observations,
    ) {
        let Some((rc, payload)) = userdata_data(data) else {
            return;
        };
        if rc != 0xff {
            self.fragments.active = false;
            return;
        }
        if !self.fragments.active && param.last_unit {
            report_szl(flow, direction, payload, &mut self.model_named, out);
            return;
        }
        if !self.fragments.active {
            self.fragments.active = true;
            self.fragments.buf.clear();
        }
        if self.fragments.buf.len() + payload.len() > MAX_USERDATA_REASSEMBLY {
            self.fragments = Fragments::default();
            return;
        }
        self.fragments.buf.extend_from_slice(payload);
        if param.last_unit {
            let buf = std::mem::take(&mut self.fragments.buf);
            report_szl(flow, direction, &buf, &mut self.model_named, out);
            self.fragments.buf = buf;
            self.fragments.buf.clear();
            self.fragments.active = false;
        }
    }
}

fn item_errors<'a>(
    flow: &FlowMeta,
    requester: Direction,
    out: &mut Observations,
    operation: &'static str,
    category: EventCategory,
    failures: impl Iterator<Item = (usize, DataItem<'a>)>,
) {
    let mut detail = ValueBuf::<DETAIL>::new();
    let mut n = 0;
    for (i, item) in failures {
        if n < MAX_DETAIL_ITEMS {
            let _ = write!(
                detail,
                "{}item {}: {} (0x{:02x})",
                if n == 0 { "" } else { "; " },
                i + 1,
                names::return_code(item.return_code),
                item.return_code
            );
        }
        n += 1;
    }
    if n == 0 {
        return;
    }
    let mut full = ValueBuf::<DETAIL>::new();
    let _ = write!(full, "{operation}: {}", detail.as_str());
    if n > MAX_DETAIL_ITEMS {
        let _ = write!(full, "; +{} more", n - MAX_DETAIL_ITEMS);
    }
    out.event(
        flow,
        requester,
        Session::PROTOCOL,
        category,
        "error_response",
        full.as_str(),
    );
}

/// The detail of a userdata request: SZL id and index, block, clock set.
fn request_detail(group: u8, subfunction: u8, payload: &[u8]) -> ValueBuf<DETAIL> {
    let mut detail = ValueBuf::new();
    match (group, subfunction, payload) {
        (4, 1, [i0, i1, x0, x1, ..]) => {
            let _ = write!(
                detail,
                "szl 0x{:04x} index 0x{:04x}",
                u16::from_be_bytes([*i0, *i1]),
                u16::from_be_bytes([*x0, *x1])
            );
        }
        (3, 2, [t0, t1, ..]) => {
            if let Some(kind) = BlockName::parse(&[*t0, *t1, b'0', b'0', b'0', b'0', b'0'])
                .and_then(|b| names::block_type(b.kind))
            {
                let _ = detail.write_str(kind);
            }
        }
        (3, 3, _) => {
            if let Some(block) = BlockName::parse(payload) {
                let _ = write!(detail, "{block}");
            }
        }
        (7, 2 | 4, [_, y1, y2, mo, d, h, mi, s, ..]) => {
            let bcd = |b: u8| u32::from(b >> 4) * 10 + u32::from(b & 0x0f);
            let year = bcd(*y2) + if bcd(*y2) < 90 { 2000 } else { 1900 };
            let _ = y1;
            let _ = write!(
                detail,
                "{year:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                bcd(*mo),
                bcd(*d),
                bcd(*h),
                bcd(*mi),
                bcd(*s)
            );
        }
        _ => {}
    }
    detail
}

/// Facts from an SZL list answered by `direction`'s sender.
fn report_szl(
    flow: &FlowMeta,
    direction: Direction,
    payload: &[u8],
    model_named: &mut bool,
    out: &mut Observations,
) {
    let Ok(list) = SzlList::parse(payload) else {
        return;
    };
    let device = flow.sender(direction);
    let fact = |out: &mut Observations, attribute, value: &[u8]| {
        out.fact_bytes(device, attribute, value, Source::S7comm, flow.now);
    };
    match list.list() {
        0x11 => {
            let records = || list.records().filter_map(ModuleId::parse);
            let has_hw = records().any(|m| m.index == 6);
            for m in records() {
                match m.index {
                    1 => {
                        let mlfb = m.mlfb.trim_ascii();
                        if mlfb.is_empty() {
                            continue;
                        }
                        fact(out, Attribute::Vendor, b"Siemens");
                        fact(out, Attribute::ProductCode, mlfb);
                        if !*model_named {
                            let model = std::str::from_utf8(mlfb).ok().and_then(mlfb_model);
                            fact(out, Attribute::Model, model.map_or(mlfb, str::as_bytes));
                        }
                        if !has_hw {
                            fact(out, Attribute::Hardware, m.version().as_bytes());
                        }
                    }
                    6 => fact(out, Attribute::Hardware, m.version().as_bytes()),
                    7 if m.ausbg >> 8 == u16::from(b'V') => {
                        fact(out, Attribute::Firmware, m.version().as_bytes());
                    }
                    _ => {}
                }
            }
        }
        0x1c => {
            let records = || list.records().filter_map(Component::parse);
            let has_type_name = records().any(|c| c.index == 7 && !c.text.trim_ascii().is_empty());
            for c in records() {
                let attribute = match c.index {
                    1 => Attribute::Hostname,
                    2 if !has_type_name => Attribute::Model,
                    3 | 0x0b => Attribute::Location,
                    5 => Attribute::Serial,
                    7 => Attribute::Model,
                    _ => continue,
                };
                if c.text.trim_ascii().is_empty() {
                    continue;
                }
                if attribute == Attribute::Model {
                    *model_named = true;
                    fact(out, Attribute::Vendor, b"Siemens");
                }
                fact(out, attribute, c.text);
            }
        }
        0x24 => {
            if let Some(state) = list
                .records()
                .next()
                .and_then(szl::mode)
                .and_then(|(mode, _)| names::szl_mode(mode))
            {
                fact(out, Attribute::State, state.as_bytes());
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests;
