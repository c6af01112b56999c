//! Mitsubishi Electric MELSEC communication protocol (MC protocol / SLMP), 3E and 4E frames,
//! binary and ASCII, over TCP and UDP (ports 5006 and 5007, and any port by a strict content
//! check of the first request).
//!
//! Layout (from Mitsubishi's public "MELSEC Communication Protocol Reference Manual" and the
//! SLMP reference manual): a 3E request is the subheader `50 00`, the access route (network
//! number, PC number, request destination module I/O number (2), station number), the request
//! data length (2, counting from the monitoring timer on), the monitoring timer (2), the
//! command (2), the subcommand (2) and the request data; a 3E response starts `D0 00`, has the
//! same access route and data length, then the end code (2) and the response data (after a
//! non-zero end code: the error information, i.e. the access route and the failed command and
//! subcommand). 4E frames (`54 00` / `D4 00`) add a serial number (2) and two zero bytes after
//! the subheader. Binary fields are little-endian; in ASCII frames every field is upper-case
//! hex text of twice its binary width (the subheader reads `5000`, `D000`, …) and the data
//! length counts characters.
//!
//! Events (src = requester): one per request, named after the command (`batch_read`,
//! `batch_write`, `random_read`, `random_write`, `block_read`, `block_write`, `remote_run`,
//! `remote_stop`, `remote_pause`, `remote_latch_clear`, `remote_reset`, `read_cpu_model`,
//! `loopback_test`, `remote_unlock`, `remote_lock`, file commands …, see [`command`]), with
//! the network / PC numbers and for device access the device and the number of points
//! (`D100 (10 words)`; writes: the first values written). Passwords of remote unlock / lock
//! are never read. Responses with a non-zero end code become `error_response` events in the
//! failed command's category. Facts (about the responder): Service `melsec`, ProtocolAddress
//! `melsec:net:<n>:pc:<n>`; the CPU model answer gives Model (16 ASCII characters), ProductCode
//! (the model code in hex) and Vendor `Mitsubishi Electric`.
//!
//! Not decoded: the contents of file transfers (file commands are reported as events without a
//! content hash), monitor data, and the response data of reads (values change all the time).
//! The command a response answers is the last request seen on the flow (MC clients wait for
//! each answer; 4E serial numbers are not matched).
//!
//! Bounds: one frame at most [`MAX_FRAME`] bytes is read (longer ones are skipped by their
//! length); values shown of a write: [`MAX_VALUES`].

use std::fmt::{self, Write as _};

use ironward_model::{Attribute, EventCategory, Source};

use crate::framing::{self, Framed, Side};
use crate::value::ValueBuf;
use crate::{
    Direction, Dissector, DissectorFactory, DissectorRegistry, FlowMeta, Observations, StreamChunk,
    Transport,
};

/// The MC protocol ports most often configured (the SLMP default is 5007 for UDP and TCP;
/// GX Works' default open settings use 5006/5007).
pub const PORTS: [u16; 2] = [5006, 5007];
/// Largest frame read (an ASCII batch write of 960 words is about 3 900 characters).
pub const MAX_FRAME: usize = 8192;
/// Values of a write shown in the event detail.
pub const MAX_VALUES: usize = 4;

const PROTOCOL: &str = "melsec";
const VENDOR: &str = "Mitsubishi Electric";

/// What was wrong with an MC protocol frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MelsecError {
    /// The bytes end before `field` (at `offset`): more may come on a stream.
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Its offset.
        offset: usize,
    },
    /// The subheader (at 0) is not a 3E / 4E request or response.
    BadSubheader,
    /// A field of an ASCII frame is not hex text, or the 4E fixed bytes are not zero.
    BadField {
        /// The field.
        field: &'static str,
        /// Its offset.
        offset: usize,
    },
    /// The data length (at `offset`) is too short for the fixed fields.
    BadLength {
        /// The length read.
        length: usize,
        /// Its offset.
        offset: usize,
    },
    /// The frame (of `total` bytes) is longer than [`MAX_FRAME`].
    TooLong {
        /// The whole frame's length.
        total: usize,
    },
}

impl fmt::Display for MelsecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { field, offset } => write!(f, "MC {field} truncated at {offset}"),
            Self::BadSubheader => write!(f, "MC subheader at 0 is not 3E/4E"),
            Self::BadField { field, offset } => write!(f, "MC {field} invalid at {offset}"),
            Self::BadLength { length, offset } => {
                write!(f, "MC data length {length} too short at {offset}")
            }
            Self::TooLong { total } => write!(f, "MC frame of {total} bytes over {MAX_FRAME}"),
        }
    }
}

impl std::error::Error for MelsecError {}

/// An MC protocol 3E / 4E frame, zero-copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// ASCII (hex text) rather than binary encoding.
    pub ascii: bool,
    /// A response (`D000` / `D400`).
    pub response: bool,
    /// The 4E serial number.
    pub serial: Option<u16>,
    /// Network number.
    pub network: u8,
    /// PC number.
    pub pc: u8,
    /// Request destination module I/O number.
    pub io: u16,
    /// Request destination module station number.
    pub station: u8,
    /// Monitoring timer (requests).
    pub timer: u16,
    /// Command (requests; in error responses, the failed command).
    pub command: u16,
    /// Subcommand (as `command`).
    pub subcommand: u16,
    /// End code (responses).
    pub end_code: Option<u16>,
    /// Request data, or response data after the end code (still hex text in ASCII frames).
    pub data: &'a [u8],
    /// The whole frame's length.
    pub length: usize,
}

fn le16(bytes: &[u8], at: usize) -> Option<u16> {
    match bytes.get(at..at + 2)? {
        [a, b] => Some(u16::from_le_bytes([*a, *b])),
        _ => None,
    }
}

/// The value of up to 8 hex characters.
fn hex(text: &[u8]) -> Option<u32> {
    if text.is_empty() || text.len() > 8 {
        return None;
    }
    text.iter().try_fold(0u32, |acc, c| {
        let d = char::from(*c).to_digit(16)?;
        Some(acc << 4 | d)
    })
}

impl<'a> Frame<'a> {
    /// Parses one frame at the start of `bytes` (it may be followed by more).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, MelsecError> {
        let truncated = |field, offset| MelsecError::Truncated { field, offset };
        let Some(first) = bytes.first() else {
            return Err(truncated("subheader", 0));
        };
        if matches!(first, b'5' | b'D' | b'd') {
            return Self::parse_ascii(bytes);
        }
        let [head, 0, ..] = bytes else {
            return if bytes.len() < 2 && matches!(first, 0x50 | 0x54 | 0xd0 | 0xd4) {
                Err(truncated("subheader", 0))
            } else {
                Err(MelsecError::BadSubheader)
            };
        };
        let (response, four) = match head {
            0x50 => (false, false),
            0xd0 => (true, false),
            0x54 => (false, true),
            0xd4 => (true, true),
            _ => return Err(MelsecError::BadSubheader),
        };
        let mut base = 2;
        let mut serial = None;
        if four {
            serial = Some(le16(bytes, 2).ok_or(truncated("serial number", 2))?);
            match bytes.get(4..6) {
                Some([0, 0]) => {}
                Some(_) => {
                    return Err(MelsecError::BadField {
                        field: "fixed",
                        offset: 4,
                    })
                }
                None => return Err(truncated("fixed", 4)),
            }
            base = 6;
        }
        let Some([network, pc, io0, io1, station, l0, l1]) = bytes.get(base..base + 7) else {
            return Err(truncated("access route", base));
        };
        let length = usize::from(u16::from_le_bytes([*l0, *l1]));
        let header = base + 7;
        let total = header + length;
        let min = if response { 2 } else { 6 };
        if length < min {
            return Err(MelsecError::BadLength {
                length,
                offset: base + 5,
            });
        }
        if total > MAX_FRAME {
            return Err(MelsecError::TooLong { total });
        }
        let body = bytes.get(header..total).ok_or(truncated("data", header))?;
        let mut frame = Frame {
            ascii: false,
            response,
            serial,
            network: *network,
            pc: *pc,
            io: u16::from_le_bytes([*io0, *io1]),
            station: *station,
            timer: 0,
            command: 0,
            subcommand: 0,
            end_code: None,
            data: &[],
            length: total,
        };
        if response {
            let end = le16(body, 0).unwrap_or_default();
            frame.end_code = Some(end);
            frame.data = body.get(2..).unwrap_or_default();
            // Error information: access route (5), command, subcommand.
            if end != 0 {
                if let (Some(c), Some(s)) = (le16(frame.data, 5), le16(frame.data, 7)) {
                    frame.command = c;
                    frame.subcommand = s;
                }
            }
        } else {
            frame.timer = le16(body, 0).unwrap_or_default();
            frame.command = le16(body, 2).unwrap_or_default();
            frame.subcommand = le16(body, 4).unwrap_or_default();
            frame.data = body.get(6..).unwrap_or_default();
        }
        Ok(frame)
    }

    fn parse_ascii(bytes: &'a [u8]) -> Result<Self, MelsecError> {
        // The hex value of `n` characters at `at`.
        let field = |name: &'static str, at: usize, n: usize| -> Result<u32, MelsecError> {
            let text = bytes.get(at..at + n).ok_or(MelsecError::Truncated {
                field: name,
                offset: at,
            })?;
            hex(text).ok_or(MelsecError::BadField {
                field: name,
                offset: at,
            })
        };
        let (response, four) = match field("subheader", 0, 4) {
            Ok(0x5000) => (false, false),
            Ok(0xd000) => (true, false),
            Ok(0x5400) => (false, true),
            Ok(0xd400) => (true, true),
            Err(e @ MelsecError::Truncated { .. }) => {
                // Only a prefix of a subheader so far.
                let prefix = bytes;
                let ok = [b"5000", b"D000", b"5400", b"D400"].iter().any(|s| {
                    s.get(..prefix.len())
                        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
                });
                return Err(if ok { e } else { MelsecError::BadSubheader });
            }
            _ => return Err(MelsecError::BadSubheader),
        };
        let mut base = 4;
        let mut serial = None;
        if four {
            serial = Some(field("serial number", 4, 4)? as u16);
            if field("fixed", 8, 4)? != 0 {
                return Err(MelsecError::BadField {
                    field: "fixed",
                    offset: 8,
                });
            }
            base = 12;
        }
        let network = field("network number", base, 2)? as u8;
        let pc = field("PC number", base + 2, 2)? as u8;
        let io = field("module I/O number", base + 4, 4)? as u16;
        let station = field("module station number", base + 8, 2)? as u8;
        let length = field("data length", base + 10, 4)? as usize;
        let header = base + 14;
        let total = header + length;
        let min = if response { 4 } else { 12 };
        if length < min {
            return Err(MelsecError::BadLength {
                length,
                offset: base + 10,
            });
        }
        if total > MAX_FRAME {
            return Err(MelsecError::TooLong { total });
        }
        if bytes.len() < total {
            return Err(MelsecError::Truncated {
                field: "data",
                offset: header,
            });
        }
        let mut frame = Frame {
            ascii: true,
            response,
            serial,
            network,
            pc,
            io,
            station,
            timer: 0,
            command: 0,
            subcommand: 0,
            end_code: None,
            data: &[],
            length: total,
        };
        let body = bytes.get(header..total).unwrap_or_default();
        if response {
            let end = field("end code", header, 4)? as u16;
            frame.end_code = Some(end);
            frame.data = body.get(4..).unwrap_or_default();
            if end != 0 {
                // Error information: access route (10 characters), command, subcommand.
                let info = frame.data;
                if let (Some(c), Some(s)) = (
                    info.get(10..14).and_then(hex),
                    info.get(14..18).and_then(hex),
                ) {
                    frame.command = c as u16;
                    frame.subcommand = s as u16;
                }
            }
        } else {
            frame.timer = field("monitoring timer", header, 4)? as u16;
            frame.command = field("command", header + 4, 4)? as u16;
            frame.subcommand = field("subcommand", header + 8, 4)? as u16;
            frame.data = body.get(12..).unwrap_or_default();
        }
        Ok(frame)
    }
}

/// The operation name and category of a command.
pub fn command(code: u16) -> (&'static str, EventCategory) {
    use EventCategory::*;
    match code {
        0x0401 => ("batch_read", Read),
        0x1401 => ("batch_write", Write),
        0x0403 => ("random_read", Read),
        0x1402 => ("random_write", Write),
        0x0406 => ("block_read", Read),
        0x1406 => ("block_write", Write),
        0x0801 => ("monitor_registration", Read),
        0x0802 => ("monitor", Read),
        0x0601 => ("buffer_memory_read", Read),
        0x1601 => ("buffer_memory_write", Write),
        0x0613 => ("intelligent_module_read", Read),
        0x1613 => ("intelligent_module_write", Write),
        0x1001 => ("remote_run", ModeChange),
        0x1002 => ("remote_stop", ModeChange),
        0x1003 => ("remote_pause", ModeChange),
        0x1005 => ("remote_latch_clear", ModeChange),
        0x1006 => ("remote_reset", ModeChange),
        0x0101 => ("read_cpu_model", Diagnostics),
        0x0619 => ("loopback_test", Diagnostics),
        0x1630 => ("remote_unlock", Authentication),
        0x1631 => ("remote_lock", Authentication),
        0x1810 => ("read_directory", Diagnostics),
        0x1811 => ("search_directory", Diagnostics),
        0x1820 => ("create_file", ConfigurationChange),
        0x1822 => ("delete_file", ConfigurationChange),
        0x1824 => ("copy_file", ConfigurationChange),
        0x1825 => ("change_file_attribute", ConfigurationChange),
        0x1826 => ("change_file_date", ConfigurationChange),
        0x1827 => ("open_file", Other),
        0x1828 => ("read_file", ProgramUpload),
        0x1829 => ("write_file", ProgramDownload),
        0x182a => ("close_file", Other),
        _ => ("unknown_command", Other),
    }
}

/// The name and numbering (hex or decimal) of a binary device code.
fn device_code(code: u16) -> Option<(&'static str, bool)> {
    Some(match code {
        0x91 => ("SM", false),
        0xa9 => ("SD", false),
        0x9c => ("X", true),
        0x9d => ("Y", true),
        0x90 => ("M", false),
        0x92 => ("L", false),
        0x93 => ("F", false),
        0x94 => ("V", false),
        0xa0 => ("B", true),
        0xa8 => ("D", false),
        0xb4 => ("W", true),
        0xc1 => ("TS", false),
        0xc0 => ("TC", false),
        0xc2 => ("TN", false),
        0xc7 => ("SS", false),
        0xc6 => ("SC", false),
        0xc8 => ("SN", false),
        0xc4 => ("CS", false),
        0xc3 => ("CC", false),
        0xc5 => ("CN", false),
        0xa1 => ("SB", true),
        0xb5 => ("SW", true),
        0x98 => ("S", false),
        0xa2 => ("DX", true),
        0xa3 => ("DY", true),
        0xcc => ("Z", false),
        0xaf => ("R", false),
        0xb0 => ("ZR", false),
        _ => return None,
    })
}

type Detail = ValueBuf<160>;

/// Whether the subcommand addresses bits (rather than words).
fn bit_units(subcommand: u16) -> bool {
    subcommand & 0x01 != 0
}

/// Whether the subcommand uses the iQ-R device specification (4-byte number, 2-byte code).
fn long_device(subcommand: u16) -> bool {
    subcommand & 0x02 != 0
}

/// Writes one device specification at the start of `data`; returns its length.
fn push_device(d: &mut Detail, data: &[u8], ascii: bool, long: bool) -> Option<usize> {
    if ascii {
        let (code_len, num_len) = if long { (4, 8) } else { (2, 6) };
        let code = data.get(..code_len)?;
        let number = data.get(code_len..code_len + num_len)?;
        if !code.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'*')
            || !number.iter().all(u8::is_ascii_hexdigit)
        {
            return None;
        }
        let name_end = code.iter().position(|c| *c == b'*').unwrap_or(code.len());
        d.push_bytes(code.get(..name_end).unwrap_or_default());
        let digits = number
            .iter()
            .position(|c| *c != b'0')
            .unwrap_or(num_len - 1);
        d.push_bytes(number.get(digits..).unwrap_or_default());
        Some(code_len + num_len)
    } else {
        let (number, code, len) = if long {
            let [n0, n1, n2, n3, c0, c1, ..] = data else {
                return None;
            };
            (
                u32::from_le_bytes([*n0, *n1, *n2, *n3]),
                u16::from_le_bytes([*c0, *c1]),
                6,
            )
        } else {
            let [n0, n1, n2, c, ..] = data else {
                return None;
            };
            (u32::from_le_bytes([*n0, *n1, *n2, 0]), u16::from(*c), 4)
        };
        match device_code(code) {
            Some((name, true)) => {
                let _ = write!(d, "{name}{number:X}");
            }
            Some((name, false)) => {
                let _ = write!(d, "{name}{number}");
            }
            None => {
                let _ = write!(d, "device {code:#x}:{number}");
            }
        }
        Some(len)
    }
}

/// Reads a count of `width` binary bytes (LE) or `2 * width` hex characters at `at`.
fn count(data: &[u8], at: usize, width: usize, ascii: bool) -> Option<u32> {
    if ascii {
        data.get(at..at + 2 * width).and_then(hex)
    } else {
        let mut v = 0u32;
        for (i, b) in data.get(at..at + width)?.iter().enumerate() {
            v |= u32::from(*b) << (8 * i);
        }
        Some(v)
    }
}

fn request_detail(frame: &Frame<'_>) -> Detail {
    let mut d = Detail::new();
    let _ = write!(d, "net {} pc {}", frame.network, frame.pc);
    if frame.io != 0x03ff || frame.station != 0 {
        let _ = write!(d, " module {:04X}.{}", frame.io, frame.station);
    }
    let data = frame.data;
    let ascii = frame.ascii;
    let long = long_device(frame.subcommand);
    let width = if ascii { 2 } else { 1 };
    match frame.command {
        0x0401 | 0x1401 => {
            d.push_bytes(b", ");
            let Some(n) = push_device(&mut d, data, ascii, long) else {
                return d;
            };
            let Some(points) = count(data, n, 2, ascii) else {
                return d;
            };
            let unit = if bit_units(frame.subcommand) {
                "bits"
            } else {
                "words"
            };
            let _ = write!(d, " ({points} {unit})");
            let values = data.get(n + 2 * width..).unwrap_or_default();
            if frame.command == 0x1401 && !values.is_empty() {
                push_values(&mut d, values, bit_units(frame.subcommand), ascii);
            }
        }
        0x0403 | 0x1402 | 0x0406 | 0x1406 => {
            let (first, second, lead) = match frame.command {
                0x0406 | 0x1406 => ("word blocks", "bit blocks", 2),
                0x1402 if bit_units(frame.subcommand) => ("bits", "", 1),
                _ => ("words", "dwords", 2),
            };
            let Some(a) = count(data, 0, 1, ascii) else {
                return d;
            };
            let _ = write!(d, ", {first} {a}");
            if lead == 2 {
                if let Some(b) = count(data, width, 1, ascii) {
                    let _ = write!(d, ", {second} {b}");
                }
            }
            let first_device = data.get(lead * width..).unwrap_or_default();
            let mut dev = Detail::new();
            if push_device(&mut dev, first_device, ascii, long).is_some() {
                d.push_bytes(b", first ");
                d.push_bytes(dev.as_bytes());
            }
        }
        0x1001 => {
            if let Some(mode) = count(data, 0, 2, ascii) {
                d.push_bytes(if mode == 3 {
                    b", force".as_slice()
                } else {
                    b", no force"
                });
            }
            if let Some(clear) = count(data, 2 * width, 1, ascii) {
                let _ = write!(
                    d,
                    ", clear {}",
                    match clear {
                        0 => "none",
                        1 => "except latch",
                        2 => "all",
                        _ => "other",
                    }
                );
            }
        }
        _ => {}
    }
    d
}

/// Appends the first values of a batch write.
fn push_values(d: &mut Detail, values: &[u8], bits: bool, ascii: bool) {
    d.push_bytes(b", values");
    let mut shown = 0;
    if bits {
        // One character per point (ASCII) or one nibble per point, high nibble first.
        let mut points = values
            .iter()
            .flat_map(|b| {
                if ascii {
                    [*b, 0xff]
                } else {
                    [b >> 4, b & 0x0f]
                }
            })
            .filter(|b| *b != 0xff);
        for p in points.by_ref().take(2 * MAX_VALUES) {
            let bit = if ascii { p == b'1' } else { p != 0 };
            d.push_bytes(if bit { b" 1" } else { b" 0" });
            shown += 1;
        }
        if shown == 2 * MAX_VALUES && points.next().is_some() {
            d.push_bytes(b" ...");
        }
        return;
    }
    let word = if ascii { 4 } else { 2 };
    for chunk in values.chunks(word).take(MAX_VALUES) {
        d.push_bytes(b" ");
        if ascii {
            d.push_bytes(chunk);
        } else if let [lo, hi] = chunk {
            let _ = write!(d, "{:04x}", u16::from_le_bytes([*lo, *hi]));
        }
    }
    if values.len() > word * MAX_VALUES {
        d.push_bytes(b" ...");
    }
}

/// Per-flow MC protocol state.
#[derive(Debug, Default)]
pub struct MelsecDissector {
    sides: [Side; 2],
    /// The last request's command and subcommand, which the next response answers.
    pending: Option<(u16, u16)>,
}

impl Framed for MelsecDissector {
    fn sides(&mut self) -> &mut [Side; 2] {
        &mut self.sides
    }
}

impl MelsecDissector {
    /// Handles one frame sent in `direction`.
    pub fn on_frame(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        frame: &Frame<'_>,
        out: &mut Observations,
    ) {
        if !frame.response {
            self.pending = Some((frame.command, frame.subcommand));
            let (name, category) = command(frame.command);
            let mut d = request_detail(frame);
            if name == "unknown_command" {
                let _ = write!(d, ", command {:04x}", frame.command);
            }
            out.event(flow, direction, PROTOCOL, category, name, d.as_str());
            return;
        }
        let sender = flow.sender(direction);
        out.fact(
            sender,
            Attribute::Service,
            PROTOCOL,
            Source::Melsec,
            flow.now,
        );
        let mut address = ValueBuf::<32>::new();
        let _ = write!(address, "melsec:net:{}:pc:{}", frame.network, frame.pc);
        out.fact(
            sender,
            Attribute::ProtocolAddress,
            address.as_str(),
            Source::Melsec,
            flow.now,
        );
        let end = frame.end_code.unwrap_or_default();
        let pending = self.pending.take();
        if end != 0 {
            let code = if frame.command != 0 {
                frame.command
            } else {
                pending.map(|p| p.0).unwrap_or_default()
            };
            let (name, category) = command(code);
            let mut d = Detail::new();
            let _ = write!(d, "command {code:04x} {name}, end code {end:04X}");
            out.event(
                flow,
                direction.reverse(),
                PROTOCOL,
                category,
                "error_response",
                d.as_str(),
            );
            return;
        }
        if pending.map(|p| p.0) == Some(0x0101) {
            let Some(model) = frame.data.get(..16) else {
                return;
            };
            out.fact_bytes(
                sender,
                Attribute::Model,
                model.trim_ascii(),
                Source::Melsec,
                flow.now,
            );
            out.fact(sender, Attribute::Vendor, VENDOR, Source::Melsec, flow.now);
            if let Some(code) = count(frame.data, 16, 2, frame.ascii) {
                let mut v = ValueBuf::<8>::new();
                let _ = write!(v, "{code:04X}");
                out.fact(
                    sender,
                    Attribute::ProductCode,
                    v.as_str(),
                    Source::Melsec,
                    flow.now,
                );
            }
        }
    }

    /// Reads the frames of `bytes`; returns the bytes used.
    fn frames(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        bytes: &[u8],
        out: &mut Observations,
    ) -> usize {
        let mut used = 0;
        while let Some(rest) = bytes.get(used..).filter(|r| !r.is_empty()) {
            match Frame::parse(rest) {
                Ok(frame) => {
                    self.on_frame(flow, direction, &frame, out);
                    used += frame.length;
                }
                Err(MelsecError::Truncated { .. }) => return used,
                Err(MelsecError::TooLong { total }) => {
                    self.sides[direction.index()].skip = total.saturating_sub(rest.len());
                    return bytes.len();
                }
                Err(_) => {
                    self.sides[direction.index()].done = true;
                    return bytes.len();
                }
            }
        }
        used
    }
}

impl Dissector for MelsecDissector {
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
        // A datagram carries whole frames; nothing is kept between datagrams.
        let mut rest = payload;
        while let Ok(frame) = Frame::parse(rest) {
            self.on_frame(flow, direction, &frame, out);
            rest = rest.get(frame.length..).unwrap_or_default();
        }
    }

    fn on_stream(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        chunk: StreamChunk<'_>,
        out: &mut Observations,
    ) {
        framing::feed(self, direction.index(), chunk, MAX_FRAME, |this, bytes| {
            this.frames(flow, direction, bytes, out)
        });
    }
}

/// Whether `payload` is one or more whole MC requests of known commands (the strict check for
/// flows off the MC ports).
pub fn looks_like_request(payload: &[u8]) -> bool {
    let mut rest = payload;
    let mut frames = 0;
    while !rest.is_empty() {
        match Frame::parse(rest) {
            Ok(f)
                if !f.response
                    && f.subcommand <= 0x00ff
                    && command(f.command).0 != "unknown_command" =>
            {
                rest = rest.get(f.length..).unwrap_or_default();
                frames += 1;
            }
            _ => return false,
        }
    }
    frames > 0
}

/// Takes TCP and UDP flows on the MC ports whose first payload parses as a frame, and flows on
/// other ports whose first payload is whole MC requests of known commands.
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
        if matches!(flow.transport, Transport::Other(_)) {
            return None;
        }
        let by_port = PORTS.contains(&flow.server.port()) || PORTS.contains(&flow.client.port());
        let ok = (by_port
            && !matches!(
                Frame::parse(first_payload),
                Err(MelsecError::BadSubheader | MelsecError::BadField { .. })
            ))
            || looks_like_request(first_payload);
        ok.then(|| Box::<MelsecDissector>::default() as Box<dyn Dissector>)
    }
}

/// Registers the MC protocol dissector.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register(Box::new(Factory));
}

#[cfg(test)]
mod tests {
    use super::*;
    use ironward_model::Timestamp;

    fn flow(transport: Transport, port: u16) -> FlowMeta {
        FlowMeta {
            id: 1,
            transport,
            client: ([10, 0, 0, 1], 50000).into(),
            server: ([10, 0, 0, 2], port).into(),
            now: Timestamp(1),
            frame: 1,
        }
    }

    fn unhex(text: &str) -> Vec<u8> {
        let text: String = text.split_whitespace().collect();
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    /// A binary 3E request to net 0 / PC FF / module 03FF station 0.
    fn req3e(command: u16, sub: u16, data: &[u8]) -> Vec<u8> {
        let mut v = vec![0x50, 0x00, 0x00, 0xff, 0xff, 0x03, 0x00];
        v.extend_from_slice(&((6 + data.len()) as u16).to_le_bytes());
        v.extend_from_slice(&[0x10, 0x00]);
        v.extend_from_slice(&command.to_le_bytes());
        v.extend_from_slice(&sub.to_le_bytes());
        v.extend_from_slice(data);
        v
    }

    fn resp3e(end: u16, data: &[u8]) -> Vec<u8> {
        let mut v = vec![0xd0, 0x00, 0x00, 0xff, 0xff, 0x03, 0x00];
        v.extend_from_slice(&((2 + data.len()) as u16).to_le_bytes());
        v.extend_from_slice(&end.to_le_bytes());
        v.extend_from_slice(data);
        v
    }

    fn ops(out: &Observations) -> Vec<(String, String, EventCategory)> {
        out.events()
            .iter()
            .map(|e| (e.operation.to_string(), e.detail.clone(), e.category))
            .collect()
    }

    fn facts(out: &mut Observations) -> Vec<(String, Attribute, String)> {
        out.drain_facts()
            .map(|f| (f.subject.to_string(), f.attribute, f.value.to_string()))
            .collect()
    }

    fn op(name: &str, detail: &str, c: EventCategory) -> (String, String, EventCategory) {
        (name.into(), detail.into(), c)
    }

    #[test]
    fn binary_commands_over_tcp() {
        use EventCategory::*;
        let f = flow(Transport::Tcp, 5007);
        let mut d = MelsecDissector::default();
        let mut out = Observations::default();
        let requests = [
            // D100, 10 words.
            req3e(0x0401, 0x0000, &unhex("640000 a8 0a00")),
            // M0, 16 bits.
            req3e(0x0401, 0x0001, &unhex("000000 90 1000")),
            // X1A0 (hex numbering), iQ-R long form: 4-byte number, 2-byte code.
            req3e(0x0401, 0x0002, &unhex("a0010000 9c00 0100")),
            // D100 <- 0x0001 0x00ff.
            req3e(0x1401, 0x0000, &unhex("640000 a8 0200 0100 ff00")),
            // Y10..Y13 <- 1 0 1 1 (nibbles).
            req3e(0x1401, 0x0001, &unhex("100000 9d 0400 1011")),
            req3e(0x0403, 0x0000, &unhex("02 01 640000a8 650000a8 000000b4")),
            req3e(0x1402, 0x0001, &unhex("01 000000 90 01")),
            req3e(
                0x0406,
                0x0000,
                &unhex("01 01 640000 a8 0a00 000000 90 0100"),
            ),
            req3e(0x1406, 0x0000, &unhex("01 00 640000 a8 0100 3412")),
            req3e(0x1001, 0x0000, &unhex("0300 02 00")),
            req3e(0x1002, 0x0000, &unhex("0100")),
            req3e(0x1003, 0x0000, &unhex("0100")),
            req3e(0x1005, 0x0000, &unhex("0100")),
            req3e(0x1006, 0x0000, &unhex("0100")),
            req3e(0x0619, 0x0000, &unhex("0500 4142434445")),
            req3e(0x1630, 0x0000, &unhex("0400 73656372")),
            req3e(0x1631, 0x0000, &unhex("0400 73656372")),
            req3e(0x1829, 0x0000, &unhex("00000000")),
            req3e(0x9999, 0x0000, &[]),
        ];
        // All requests in one segment.
        let all = requests.concat();
        d.on_stream(
            &f,
            Direction::ClientToServer,
            StreamChunk::Data(&all),
            &mut out,
        );
        assert_eq!(
            ops(&out),
            [
                op("batch_read", "net 0 pc 255, D100 (10 words)", Read),
                op("batch_read", "net 0 pc 255, M0 (16 bits)", Read),
                op("batch_read", "net 0 pc 255, X1A0 (1 words)", Read),
                op(
                    "batch_write",
                    "net 0 pc 255, D100 (2 words), values 0001 00ff",
                    Write
                ),
                op(
                    "batch_write",
                    "net 0 pc 255, Y10 (4 bits), values 1 0 1 1",
                    Write
                ),
                op(
                    "random_read",
                    "net 0 pc 255, words 2, dwords 1, first D100",
                    Read
                ),
                op("random_write", "net 0 pc 255, bits 1, first M0", Write),
                op(
                    "block_read",
                    "net 0 pc 255, word blocks 1, bit blocks 1, first D100",
                    Read
                ),
                op(
                    "block_write",
                    "net 0 pc 255, word blocks 1, bit blocks 0, first D100",
                    Write
                ),
                op("remote_run", "net 0 pc 255, force, clear all", ModeChange),
                op("remote_stop", "net 0 pc 255", ModeChange),
                op("remote_pause", "net 0 pc 255", ModeChange),
                op("remote_latch_clear", "net 0 pc 255", ModeChange),
                op("remote_reset", "net 0 pc 255", ModeChange),
                op("loopback_test", "net 0 pc 255", Diagnostics),
                op("remote_unlock", "net 0 pc 255", Authentication),
                op("remote_lock", "net 0 pc 255", Authentication),
                op("write_file", "net 0 pc 255", ProgramDownload),
                op("unknown_command", "net 0 pc 255, command 9999", Other),
            ]
        );
        // The password never reaches a detail.
        assert!(out.events().iter().all(|e| !e.detail.contains("secr")));
    }

    #[test]
    fn cpu_model_split_and_error_response() {
        let f = flow(Transport::Tcp, 5007);
        let mut d = MelsecDissector::default();
        let mut out = Observations::default();
        d.on_stream(
            &f,
            Direction::ClientToServer,
            StreamChunk::Data(&req3e(0x0101, 0, &[])),
            &mut out,
        );
        let answer = resp3e(0, &[b"Q03UDVCPU       ".as_slice(), &[0x66, 0x02]].concat());
        for chunk in answer.chunks(3) {
            d.on_stream(
                &f,
                Direction::ServerToClient,
                StreamChunk::Data(chunk),
                &mut out,
            );
        }
        // Batch read refused: end code C059 with error information naming the command.
        d.on_stream(
            &f,
            Direction::ClientToServer,
            StreamChunk::Data(&req3e(0x0401, 0, &unhex("640000 a8 0a00"))),
            &mut out,
        );
        let refused = resp3e(0xc059, &unhex("00 ff ff03 00 0104 0000"));
        // A refusal without error information falls back on the pending request.
        d.on_stream(
            &f,
            Direction::ServerToClient,
            StreamChunk::Data(&refused),
            &mut out,
        );
        d.on_stream(
            &f,
            Direction::ClientToServer,
            StreamChunk::Data(&req3e(0x1002, 0, &unhex("0100"))),
            &mut out,
        );
        d.on_stream(
            &f,
            Direction::ServerToClient,
            StreamChunk::Data(&resp3e(0x4013, &[])),
            &mut out,
        );
        let events = ops(&out);
        assert_eq!(
            events[2],
            op(
                "error_response",
                "command 0401 batch_read, end code C059",
                EventCategory::Read
            )
        );
        assert_eq!(
            events[4],
            op(
                "error_response",
                "command 1002 remote_stop, end code 4013",
                EventCategory::ModeChange
            )
        );
        assert_eq!(out.events()[2].src, out.events()[0].src);
        let facts = facts(&mut out);
        for (attribute, value) in [
            (Attribute::Model, "Q03UDVCPU"),
            (Attribute::ProductCode, "0266"),
            (Attribute::Vendor, "Mitsubishi Electric"),
            (Attribute::Service, "melsec"),
            (Attribute::ProtocolAddress, "melsec:net:0:pc:255"),
        ] {
            assert!(
                facts.contains(&("ip:10.0.0.2".into(), attribute, value.into())),
                "{attribute:?} {facts:?}"
            );
        }
    }

    #[test]
    fn four_e_and_ascii_frames() {
        use EventCategory::*;
        let f = flow(Transport::Udp, 5006);
        let mut d = MelsecDissector::default();
        let mut out = Observations::default();
        // 4E binary: serial 0x1234, net 1 pc 2, module 03E0 station 1.
        let req4e = unhex("5400 3412 0000 01 02 e003 01 0c00 1000 0104 0000 640000a8 0100");
        d.on_datagram(&f, Direction::ClientToServer, &req4e, &mut out);
        // ASCII 3E batch read D100 x 2 and write M10 <- 1 0 (bits, one character each).
        let a1 = b"500000FF03FF000018001004010000D*0001000002";
        let a2 = b"500000FF03FF00001A001014010001M*0000100002" as &[u8];
        let a2 = [a2, b"10"].concat();
        d.on_datagram(&f, Direction::ClientToServer, a1, &mut out);
        // ASCII error response: end code C051, error info with command 1401 / 0001.
        d.on_datagram(&f, Direction::ClientToServer, &a2, &mut out);
        d.on_datagram(
            &f,
            Direction::ServerToClient,
            b"D00000FF03FF000016C05100FF03FF0014010001",
            &mut out,
        );
        // ASCII 4E CPU model answer.
        d.on_datagram(
            &f,
            Direction::ClientToServer,
            b"5400ABCD000000FF03FF00000C001001010000",
            &mut out,
        );
        d.on_datagram(
            &f,
            Direction::ServerToClient,
            b"D400ABCD000000FF03FF0000180000R04CPU          4800",
            &mut out,
        );
        assert_eq!(
            ops(&out),
            [
                op(
                    "batch_read",
                    "net 1 pc 2 module 03E0.1, D100 (1 words)",
                    Read
                ),
                op("batch_read", "net 0 pc 255, D100 (2 words)", Read),
                op(
                    "batch_write",
                    "net 0 pc 255, M10 (2 bits), values 1 0",
                    Write
                ),
                op(
                    "error_response",
                    "command 1401 batch_write, end code C051",
                    Write
                ),
                op("read_cpu_model", "net 0 pc 255", Diagnostics),
            ]
        );
        let facts = facts(&mut out);
        assert!(facts.contains(&("ip:10.0.0.2".into(), Attribute::Model, "R04CPU".into())));
        assert!(facts.contains(&("ip:10.0.0.2".into(), Attribute::ProductCode, "4800".into())));
    }

    #[test]
    fn malformed_truncated_and_hostile() {
        assert_eq!(
            Frame::parse(b"").unwrap_err().to_string(),
            "MC subheader truncated at 0"
        );
        assert_eq!(Frame::parse(&[0x51, 0]), Err(MelsecError::BadSubheader));
        assert!(matches!(
            Frame::parse(&unhex("5000 00ff ff03 00 0200 1000")),
            Err(MelsecError::BadLength { length: 2, .. })
        ));
        assert!(matches!(
            Frame::parse(&unhex("5400 0000 0100")),
            Err(MelsecError::BadField { field: "fixed", .. })
        ));
        assert!(matches!(
            Frame::parse(b"5000ZZFF03FF0000"),
            Err(MelsecError::BadField { .. })
        ));
        assert!(matches!(
            Frame::parse(&unhex("5000 00ff ff03 00 ffff")),
            Err(MelsecError::TooLong { .. })
        ));
        let whole = req3e(0x1401, 0, &unhex("640000 a8 0200 0100 ff00"));
        for n in 0..whole.len() {
            assert!(matches!(
                Frame::parse(&whole[..n]),
                Err(MelsecError::Truncated { .. })
            ));
        }
        let ascii = b"500000FF03FF000018001004010000D*0001000002";
        for n in 0..ascii.len() {
            assert!(matches!(
                Frame::parse(&ascii[..n]),
                Err(MelsecError::Truncated { .. })
            ));
        }
        // A huge frame is skipped by its length and the stream goes on; garbage ends a side.
        let f = flow(Transport::Tcp, 5007);
        let mut d = MelsecDissector::default();
        let mut out = Observations::default();
        let mut huge = unhex("5000 00ff ff03 00 f03f");
        huge.extend(std::iter::repeat_n(0, 0x3ff0));
        huge.extend(req3e(0x1002, 0, &unhex("0100")));
        for chunk in huge.chunks(1000) {
            d.on_stream(
                &f,
                Direction::ClientToServer,
                StreamChunk::Data(chunk),
                &mut out,
            );
        }
        d.on_stream(
            &f,
            Direction::ServerToClient,
            StreamChunk::Data(b"HTTP/1.1 200"),
            &mut out,
        );
        d.on_stream(
            &f,
            Direction::ServerToClient,
            StreamChunk::Data(&resp3e(0, &[])),
            &mut out,
        );
        assert_eq!(
            ops(&out),
            [op("remote_stop", "net 0 pc 255", EventCategory::ModeChange)]
        );
        // Short device specifications and odd counts leave the detail short.
        let mut out = Observations::default();
        let mut d = MelsecDissector::default();
        for data in [&[][..], &[1], &[1, 2, 3, 0xa8, 1], &[1, 2, 3, 0xee, 1, 0]] {
            for c in [0x0401, 0x1401, 0x0403, 0x1402, 0x0406, 0x1001] {
                d.on_datagram(&f, Direction::ClientToServer, &req3e(c, 0, data), &mut out);
            }
        }
        assert!(out
            .events()
            .iter()
            .any(|e| e.detail == "net 0 pc 255, device 0xee:197121 (1 words)"));
    }

    #[test]
    fn selection() {
        let registry = {
            let mut r = DissectorRegistry::new();
            register(&mut r);
            r
        };
        let req = req3e(0x0401, 0, &unhex("640000 a8 0a00"));
        let on = |port, transport, payload: &[u8]| {
            registry
                .select(&flow(transport, port), Direction::ClientToServer, payload)
                .is_some()
        };
        assert!(on(5007, Transport::Tcp, &req));
        assert!(on(5006, Transport::Udp, &req[..5]));
        assert!(on(1025, Transport::Tcp, &req));
        assert!(on(
            1025,
            Transport::Udp,
            b"500000FF03FF000018001004010000D*0001000002"
        ));
        // Off the ports: partial frames, unknown commands and other text are not taken.
        assert!(!on(1025, Transport::Tcp, &req[..10]));
        assert!(!on(1025, Transport::Tcp, &req3e(0x9999, 0, &[])));
        assert!(!on(1025, Transport::Tcp, b"5000 is a number"));
        assert!(!on(5007, Transport::Tcp, b"GET / HTTP/1.1\r\n"));
    }
}
