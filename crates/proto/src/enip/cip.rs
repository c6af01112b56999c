//! CIP (Common Industrial Protocol) explicit messages as EtherNet/IP carries them: the message
//! router request and response, EPATHs (logical, port and ANSI extended symbol segments), the
//! names and categories of services (common ones and those of the Connection Manager and of
//! Logix tag access, which share codes: service codes above 0x4a mean something only with the
//! class they are sent to), and the bodies read for events and facts (Forward Open/Close,
//! Unconnected Send, Multiple Service Packet, Identity object attributes).
//!
//! Everything here is a zero-copy view over the message bytes; walks are bounded by
//! [`MAX_SEGMENTS`] path segments and [`MAX_SERVICES`] embedded services.

use std::fmt::Write as _;

use ironward_model::EventCategory;

use crate::value::ValueBuf;

/// Most path segments read from one EPATH.
pub const MAX_SEGMENTS: usize = 16;

/// Most services read from one Multiple Service Packet.
pub const MAX_SERVICES: usize = 32;

/// Most attribute ids of a Get_Attribute_List shown in an event detail.
pub const MAX_ATTRIBUTES: usize = 16;

/// Most bytes of a written value shown in an event detail (as hex).
pub const MAX_VALUE_BYTES: usize = 16;

/// Class id of the Identity object.
pub const CLASS_IDENTITY: u32 = 0x01;
/// Class id of the Message Router.
pub const CLASS_MESSAGE_ROUTER: u32 = 0x02;
/// Class id of the Connection Manager.
pub const CLASS_CONNECTION_MANAGER: u32 = 0x06;
/// Class id of the Logix Symbol object.
pub const CLASS_SYMBOL: u32 = 0x6b;
/// Class id of the Logix Template object.
pub const CLASS_TEMPLATE: u32 = 0x6c;

/// Service: Get_Attributes_All.
pub const GET_ATTRIBUTES_ALL: u8 = 0x01;
/// Service: Multiple_Service_Packet.
pub const MULTIPLE_SERVICE_PACKET: u8 = 0x0a;
/// Connection Manager service: Forward_Close (Logix tag access: Read Modify Write).
pub const FORWARD_CLOSE: u8 = 0x4e;
/// Connection Manager service: Unconnected_Send (Logix tag access: Read Tag Fragmented).
pub const UNCONNECTED_SEND: u8 = 0x52;
/// Connection Manager service: Forward_Open.
pub const FORWARD_OPEN: u8 = 0x54;
/// Connection Manager service: Large_Forward_Open.
pub const LARGE_FORWARD_OPEN: u8 = 0x5b;
/// The response bit of a service code.
pub const RESPONSE: u8 = 0x80;

/// Why a CIP message could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CipError {
    /// The message ends before `field`, which starts at `offset`.
    Truncated {
        /// The field that is cut.
        field: &'static str,
        /// Where it starts.
        offset: usize,
    },
    /// A segment type this reader does not know, at `offset` in the path.
    BadSegment {
        /// The segment's first byte.
        byte: u8,
        /// Where it is in the path.
        offset: usize,
    },
}

impl std::fmt::Display for CipError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Truncated { field, offset } => {
                write!(f, "CIP message truncated at {field} (offset {offset})")
            }
            Self::BadSegment { byte, offset } => {
                write!(
                    f,
                    "unknown CIP path segment 0x{byte:02x} at offset {offset}"
                )
            }
        }
    }
}

impl std::error::Error for CipError {}

fn cut(field: &'static str, offset: usize) -> CipError {
    CipError::Truncated { field, offset }
}

fn u16_at(b: &[u8], at: usize, field: &'static str) -> Result<u16, CipError> {
    match b.get(at..at + 2) {
        Some(&[x, y]) => Ok(u16::from_le_bytes([x, y])),
        _ => Err(cut(field, at)),
    }
}

fn u32_at(b: &[u8], at: usize, field: &'static str) -> Result<u32, CipError> {
    match b.get(at..at + 4) {
        Some(&[a, b2, c, d]) => Ok(u32::from_le_bytes([a, b2, c, d])),
        _ => Err(cut(field, at)),
    }
}

fn u8_at(b: &[u8], at: usize, field: &'static str) -> Result<u8, CipError> {
    b.get(at).copied().ok_or(cut(field, at))
}

/// A message router request: service, request path and service data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    /// Service code (response bit clear).
    pub service: u8,
    /// The request path (an EPATH, padded).
    pub path: &'a [u8],
    /// The service's data.
    pub data: &'a [u8],
}

impl<'a> Request<'a> {
    /// Reads a request (service, path size in words, path, data).
    pub fn parse(msg: &'a [u8]) -> Result<Self, CipError> {
        let service = u8_at(msg, 0, "service")?;
        let words = usize::from(u8_at(msg, 1, "request path size")?);
        let path = msg.get(2..2 + 2 * words).ok_or(cut("request path", 2))?;
        Ok(Self {
            service: service & !RESPONSE,
            path,
            data: msg.get(2 + 2 * words..).unwrap_or_default(),
        })
    }
}

/// A message router response: service, general and extended status, data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Response<'a> {
    /// Service code (response bit clear).
    pub service: u8,
    /// General status (0 success).
    pub status: u8,
    /// Additional status words (raw, little-endian).
    pub extended: &'a [u8],
    /// The reply data.
    pub data: &'a [u8],
}

impl<'a> Response<'a> {
    /// Reads a response (service | 0x80, reserved, general status, extended status size in
    /// words, extended status, data).
    pub fn parse(msg: &'a [u8]) -> Result<Self, CipError> {
        let service = u8_at(msg, 0, "service")?;
        let status = u8_at(msg, 2, "general status")?;
        let words = usize::from(u8_at(msg, 3, "additional status size")?);
        let extended = msg
            .get(4..4 + 2 * words)
            .ok_or(cut("additional status", 4))?;
        Ok(Self {
            service: service & !RESPONSE,
            status,
            extended,
            data: msg.get(4 + 2 * words..).unwrap_or_default(),
        })
    }

    /// The first additional status word, when there is one.
    pub fn extended_status(&self) -> Option<u16> {
        u16_at(self.extended, 0, "additional status").ok()
    }

    /// Whether the status is a failure (0 success and 6 partial transfer, which a fragmented
    /// read answers with while more data follows, are not).
    pub fn failed(&self) -> bool {
        !matches!(self.status, 0x00 | 0x06)
    }
}

/// One segment of an EPATH.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment<'a> {
    /// Port segment (routing): port number and link address.
    Port {
        /// Port number.
        port: u16,
        /// Link address (a slot number, or an IP address as text).
        link: &'a [u8],
    },
    /// Logical class id.
    Class(u32),
    /// Logical instance id.
    Instance(u32),
    /// Logical member id (an array element after a symbol).
    Member(u32),
    /// Logical connection point.
    ConnectionPoint(u32),
    /// Logical attribute id.
    Attribute(u32),
    /// ANSI extended symbol (a tag name part).
    Symbol(&'a [u8]),
    /// A segment passed over (electronic key, network, simple data, ...).
    Other(u8),
}

/// The segments of an EPATH, at most [`MAX_SEGMENTS`]; stops with an error item at a segment it
/// cannot read.
#[derive(Debug, Clone)]
pub struct Segments<'a> {
    path: &'a [u8],
    at: usize,
    count: usize,
}

impl<'a> Segments<'a> {
    /// Walks a padded EPATH.
    pub fn new(path: &'a [u8]) -> Self {
        Self {
            path,
            at: 0,
            count: 0,
        }
    }

    fn read(&self) -> Result<(Segment<'a>, usize), CipError> {
        let p = self.path;
        let at = self.at;
        let first = u8_at(p, at, "segment")?;
        match first >> 5 {
            // Port segment.
            0 => {
                let extended_link = first & 0x10 != 0;
                let mut next = at + 1;
                let link_len = if extended_link {
                    next += 1;
                    usize::from(u8_at(p, at + 1, "link address size")?)
                } else {
                    1
                };
                let mut port = u16::from(first & 0x0f);
                if port == 0x0f {
                    port = u16_at(p, next, "extended port")?;
                    next += 2;
                }
                let link = p
                    .get(next..next + link_len)
                    .ok_or(cut("link address", next))?;
                let len = next + link_len - at;
                Ok((Segment::Port { port, link }, len + len % 2))
            }
            // Logical segment.
            1 => {
                let (value, len) = match first & 0x03 {
                    0 => (u32::from(u8_at(p, at + 1, "logical value")?), 2),
                    1 => (u32::from(u16_at(p, at + 2, "logical value")?), 4),
                    2 => (u32_at(p, at + 2, "logical value")?, 6),
                    _ => {
                        return Err(CipError::BadSegment {
                            byte: first,
                            offset: at,
                        })
                    }
                };
                let segment = match (first >> 2) & 0x07 {
                    0 => Segment::Class(value),
                    1 => Segment::Instance(value),
                    2 => Segment::Member(value),
                    3 => Segment::ConnectionPoint(value),
                    4 => Segment::Attribute(value),
                    5 if first == 0x34 => {
                        // Electronic key: key format 4 is 8 bytes of key data.
                        let format = u8_at(p, at + 1, "electronic key format")?;
                        let len = if format == 4 { 10 } else { 2 };
                        if p.len() < at + len {
                            return Err(cut("electronic key", at));
                        }
                        return Ok((Segment::Other(first), len));
                    }
                    _ => Segment::Other(first),
                };
                Ok((segment, len))
            }
            // Network segment: one byte of data, or a word count and words.
            2 => {
                if first & 0x10 != 0 {
                    let words = usize::from(u8_at(p, at + 1, "network segment size")?);
                    Ok((Segment::Other(first), 2 + 2 * words))
                } else {
                    Ok((Segment::Other(first), 2))
                }
            }
            // Data segment: simple data (word count) or ANSI extended symbol (byte count).
            4 => {
                let size = usize::from(u8_at(p, at + 1, "data segment size")?);
                match first {
                    0x80 => Ok((Segment::Other(first), 2 + 2 * size)),
                    0x91 => {
                        let name = p.get(at + 2..at + 2 + size).ok_or(cut("symbol", at + 2))?;
                        Ok((Segment::Symbol(name), 2 + size + size % 2))
                    }
                    _ => Err(CipError::BadSegment {
                        byte: first,
                        offset: at,
                    }),
                }
            }
            _ => Err(CipError::BadSegment {
                byte: first,
                offset: at,
            }),
        }
    }
}

impl<'a> Iterator for Segments<'a> {
    type Item = Result<Segment<'a>, CipError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.path.len() || self.count >= MAX_SEGMENTS {
            return None;
        }
        self.count += 1;
        match self.read() {
            Ok((segment, len)) => {
                self.at += len;
                Some(Ok(segment))
            }
            Err(e) => {
                self.at = self.path.len();
                Some(Err(e))
            }
        }
    }
}

/// What a request path addresses, for classifying the service.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Target {
    /// The first class id.
    pub class: Option<u32>,
    /// The first instance id.
    pub instance: Option<u32>,
    /// The first attribute id.
    pub attribute: Option<u32>,
    /// Whether the path names a tag (ANSI extended symbol).
    pub symbolic: bool,
}

impl Target {
    /// The target of a path.
    pub fn of(path: &[u8]) -> Self {
        let mut target = Self::default();
        for segment in Segments::new(path).map_while(Result::ok) {
            match segment {
                Segment::Class(c) if target.class.is_none() => target.class = Some(c),
                Segment::Instance(i) if target.instance.is_none() => target.instance = Some(i),
                Segment::Attribute(a) if target.attribute.is_none() => target.attribute = Some(a),
                Segment::Symbol(_) => target.symbolic = true,
                _ => {}
            }
        }
        target
    }
}

/// Writes a path as text: `class 0x8b instance 1 attribute 8`, `tag Program:Main.Count[3]`,
/// `port 1 link 0`.
pub fn write_path<const N: usize>(buf: &mut ValueBuf<N>, path: &[u8]) {
    let mut in_tag = false;
    for segment in Segments::new(path) {
        let sep = if buf.is_empty() { "" } else { " " };
        let _ = match segment {
            Ok(Segment::Class(c)) => write!(buf, "{sep}class 0x{c:02x}"),
            Ok(Segment::Instance(i)) => write!(buf, "{sep}instance {i}"),
            Ok(Segment::Attribute(a)) => write!(buf, "{sep}attribute {a}"),
            Ok(Segment::ConnectionPoint(p)) => write!(buf, "{sep}connection_point {p}"),
            Ok(Segment::Member(m)) if in_tag => write!(buf, "[{m}]"),
            Ok(Segment::Member(m)) => write!(buf, "{sep}member {m}"),
            Ok(Segment::Symbol(name)) => {
                if in_tag {
                    buf.push_bytes(b".");
                } else {
                    buf.push_bytes(sep.as_bytes());
                    buf.push_bytes(b"tag ");
                }
                push_text(buf, name);
                in_tag = true;
                continue;
            }
            Ok(Segment::Port { port, link }) => {
                let _ = write!(buf, "{sep}port {port} link ");
                if link.len() == 1 {
                    buf.push_u64(u64::from(link.first().copied().unwrap_or(0)));
                } else {
                    push_text(buf, link);
                }
                Ok(())
            }
            Ok(Segment::Other(_)) => Ok(()),
            Err(_) => {
                buf.push_bytes(sep.as_bytes());
                buf.push_bytes(b"bad_path");
                break;
            }
        };
        in_tag = false;
    }
}

/// Appends printable ASCII of `text` (trailing NUL padding dropped), other bytes as `?`.
pub fn push_text<const N: usize>(buf: &mut ValueBuf<N>, text: &[u8]) {
    let end = text.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    for &b in text.get(..end).unwrap_or_default() {
        buf.push_bytes(&[if b.is_ascii_graphic() || b == b' ' {
            b
        } else {
            b'?'
        }]);
    }
}

/// Appends at most [`MAX_VALUE_BYTES`] bytes as hex (`…` marks a cut).
pub fn push_value<const N: usize>(buf: &mut ValueBuf<N>, bytes: &[u8]) {
    buf.push_hex(bytes.get(..MAX_VALUE_BYTES).unwrap_or(bytes));
    if bytes.len() > MAX_VALUE_BYTES {
        buf.push_bytes("…".as_bytes());
    }
}

/// What a service does: its operation name and event category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// snake_case name of the service (`get_attribute_single`, `read_tag`, `forward_open`).
    pub name: &'static str,
    /// The event category.
    pub category: EventCategory,
}

const fn op(name: &'static str, category: EventCategory) -> Operation {
    Operation { name, category }
}

/// The operation of `service` sent to `target`. Codes from 0x4b up are class-specific: the
/// Connection Manager's (class 6) are connection services; the same codes sent to a tag (a
/// symbolic path, the Symbol or Template class, or no class at all) are Logix tag services.
pub fn classify(service: u8, target: &Target) -> Operation {
    use EventCategory::*;
    let tag_target = target.symbolic
        || target.class.is_none()
        || matches!(target.class, Some(CLASS_SYMBOL | CLASS_TEMPLATE));
    match (service, target.class) {
        (0x01, _) => op("get_attributes_all", Read),
        (0x02, _) => op("set_attributes_all", Write),
        (0x03, _) => op("get_attribute_list", Read),
        (0x04, _) => op("set_attribute_list", Write),
        (0x05, _) => op("reset", ModeChange),
        (0x06, _) => op("start", ModeChange),
        (0x07, _) => op("stop", ModeChange),
        (0x08, _) => op("create", ConfigurationChange),
        (0x09, _) => op("delete", ConfigurationChange),
        (0x0a, _) => op("multiple_service_packet", Other),
        (0x0d, _) => op("apply_attributes", ConfigurationChange),
        (0x0e, _) => op("get_attribute_single", Read),
        (0x10, _) => op("set_attribute_single", Write),
        (0x11, _) => op("find_next_object_instance", Read),
        (0x15, _) => op("restore", ConfigurationChange),
        (0x16, _) => op("save", ConfigurationChange),
        (0x17, _) => op("nop", Other),
        (0x18, _) => op("get_member", Read),
        (0x19, _) => op("set_member", Write),
        (0x1a, _) => op("insert_member", Write),
        (0x1b, _) => op("remove_member", Write),
        (FORWARD_CLOSE, Some(CLASS_CONNECTION_MANAGER)) => op("forward_close", Other),
        (UNCONNECTED_SEND, Some(CLASS_CONNECTION_MANAGER)) => op("unconnected_send", Other),
        (FORWARD_OPEN, Some(CLASS_CONNECTION_MANAGER)) => op("forward_open", Other),
        (LARGE_FORWARD_OPEN, Some(CLASS_CONNECTION_MANAGER)) => op("large_forward_open", Other),
        (0x56, Some(CLASS_CONNECTION_MANAGER)) => op("get_connection_data", Read),
        (0x57, Some(CLASS_CONNECTION_MANAGER)) => op("search_connection_data", Read),
        (0x5a, Some(CLASS_CONNECTION_MANAGER)) => op("get_connection_owner", Read),
        (0x4c, _) if tag_target => op("read_tag", Read),
        (0x4d, _) if tag_target => op("write_tag", Write),
        (0x4e, _) if tag_target => op("read_modify_write_tag", Write),
        (0x52, _) if tag_target => op("read_tag_fragmented", Read),
        (0x53, _) if tag_target => op("write_tag_fragmented", Write),
        (0x55, _) if tag_target => op("get_instance_attribute_list", Read),
        _ => op("cip_service", Other),
    }
}

/// The name of a CIP general status.
pub fn status_name(status: u8) -> &'static str {
    match status {
        0x00 => "success",
        0x01 => "connection failure",
        0x02 => "resource unavailable",
        0x03 => "invalid parameter value",
        0x04 => "path segment error",
        0x05 => "path destination unknown",
        0x06 => "partial transfer",
        0x07 => "connection lost",
        0x08 => "service not supported",
        0x09 => "invalid attribute value",
        0x0a => "attribute list error",
        0x0b => "already in requested mode/state",
        0x0c => "object state conflict",
        0x0d => "object already exists",
        0x0e => "attribute not settable",
        0x0f => "privilege violation",
        0x10 => "device state conflict",
        0x11 => "reply data too large",
        0x12 => "fragmentation of a primitive value",
        0x13 => "not enough data",
        0x14 => "attribute not supported",
        0x15 => "too much data",
        0x16 => "object does not exist",
        0x17 => "service fragmentation sequence not in progress",
        0x18 => "no stored attribute data",
        0x19 => "store operation failure",
        0x1a => "routing failure, request packet too large",
        0x1b => "routing failure, response packet too large",
        0x1c => "missing attribute list entry data",
        0x1d => "invalid attribute value list",
        0x1e => "embedded service error",
        0x1f => "vendor specific error",
        0x20 => "invalid parameter",
        0x21 => "write-once value or medium already written",
        0x22 => "invalid reply received",
        0x23 => "buffer overflow",
        0x24 => "invalid message format",
        0x25 => "key failure in path",
        0x26 => "path size invalid",
        0x27 => "unexpected attribute in list",
        0x28 => "invalid member id",
        0x29 => "member not settable",
        0x2a => "group 2 only server general failure",
        0x2b => "unknown modbus error",
        0x2c => "attribute not gettable",
        _ => "unknown status",
    }
}

/// The service bodies an event detail shows, after the path: element counts, attribute
/// lists, values written (first [`MAX_VALUE_BYTES`]), connection parameters.
pub fn write_body<const N: usize>(
    buf: &mut ValueBuf<N>,
    service: u8,
    target: &Target,
    data: &[u8],
) {
    let class6 = target.class == Some(CLASS_CONNECTION_MANAGER);
    match classify(service, target).name {
        "get_attribute_list" => {
            let Ok(count) = u16_at(data, 0, "attribute count") else {
                return;
            };
            buf.push_bytes(b" attributes ");
            for i in 0..usize::from(count).min(MAX_ATTRIBUTES) {
                let Ok(id) = u16_at(data, 2 + 2 * i, "attribute") else {
                    break;
                };
                if i > 0 {
                    buf.push_bytes(b",");
                }
                buf.push_u64(u64::from(id));
            }
        }
        "set_attribute_list" => {
            let (Ok(count), Ok(first)) = (u16_at(data, 0, "count"), u16_at(data, 2, "attribute"))
            else {
                return;
            };
            let _ = write!(buf, " count {count} attributes {first} data ");
            push_value(buf, data.get(4..).unwrap_or_default());
        }
        "set_attribute_single" | "set_attributes_all" | "set_member" if !data.is_empty() => {
            buf.push_bytes(b" value ");
            push_value(buf, data);
        }
        "reset" => {
            if let Some(kind) = data.first() {
                let _ = write!(buf, " type {kind}");
            }
        }
        "read_tag" | "read_tag_fragmented" => {
            // The fragment offset changes from request to request: left out so they aggregate.
            if let Ok(n) = u16_at(data, 0, "elements") {
                let _ = write!(buf, " elements {n}");
            }
        }
        "write_tag" | "write_tag_fragmented" => {
            let Ok(kind) = u16_at(data, 0, "data type") else {
                return;
            };
            // A structure's type is followed by its handle.
            let at = if kind == 0x02a0 { 4 } else { 2 };
            let Ok(n) = u16_at(data, at, "elements") else {
                return;
            };
            let _ = write!(buf, " type 0x{kind:04x} elements {n}");
            let mut values = at + 2;
            if service == 0x53 {
                if let Ok(offset) = u32_at(data, values, "offset") {
                    let _ = write!(buf, " offset {offset}");
                }
                values += 4;
            }
            buf.push_bytes(b" values ");
            push_value(buf, data.get(values..).unwrap_or_default());
        }
        "read_modify_write_tag" => {
            let Ok(size) = u16_at(data, 0, "mask size") else {
                return;
            };
            let size = usize::from(size);
            buf.push_bytes(b" or_mask ");
            push_value(buf, data.get(2..2 + size).unwrap_or_default());
            buf.push_bytes(b" and_mask ");
            push_value(buf, data.get(2 + size..2 + 2 * size).unwrap_or_default());
        }
        "forward_open" | "large_forward_open" if class6 => {
            if let Ok(open) = ForwardOpen::parse(data, service == LARGE_FORWARD_OPEN) {
                let _ = write!(
                    buf,
                    " o_t_rpi_us {} t_o_rpi_us {} o_t_connection 0x{:08x} t_o_connection 0x{:08x} \
                     transport_class {} serial 0x{:04x}",
                    open.o_t_rpi,
                    open.t_o_rpi,
                    open.o_t_connection,
                    open.t_o_connection,
                    open.transport & 0x0f,
                    open.serial,
                );
                if !open.path.is_empty() {
                    buf.push_bytes(b" path ");
                    let mut path = ValueBuf::<96>::new();
                    write_path(&mut path, open.path);
                    buf.push_bytes(path.as_bytes());
                }
            }
        }
        "forward_close" if class6 => {
            if let (Ok(serial), Ok(vendor), Ok(originator)) = (
                u16_at(data, 2, "connection serial"),
                u16_at(data, 4, "originator vendor"),
                u32_at(data, 6, "originator serial"),
            ) {
                let _ = write!(
                    buf,
                    " serial 0x{serial:04x} vendor {vendor} originator 0x{originator:08x}"
                );
            }
        }
        "cip_service" => {
            let _ = write!(buf, " service 0x{service:02x}");
        }
        _ => {}
    }
}

/// A Forward Open (or Large Forward Open) request's connection parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForwardOpen<'a> {
    /// O→T network connection id (chosen by the target; usually 0 in the request).
    pub o_t_connection: u32,
    /// T→O network connection id (chosen by the originator).
    pub t_o_connection: u32,
    /// Connection serial number.
    pub serial: u16,
    /// Originator vendor id.
    pub vendor: u16,
    /// Originator serial number.
    pub originator_serial: u32,
    /// O→T requested packet interval, microseconds.
    pub o_t_rpi: u32,
    /// T→O requested packet interval, microseconds.
    pub t_o_rpi: u32,
    /// Transport type/trigger byte (low nibble: transport class).
    pub transport: u8,
    /// The connection path.
    pub path: &'a [u8],
}

impl<'a> ForwardOpen<'a> {
    /// Reads the request data; `large` for Large Forward Open (32-bit network parameters).
    pub fn parse(data: &'a [u8], large: bool) -> Result<Self, CipError> {
        let params = if large { 4 } else { 2 };
        let o_t_rpi_at = 22;
        let t_o_rpi_at = o_t_rpi_at + 4 + params;
        let transport_at = t_o_rpi_at + 4 + params;
        let words = usize::from(u8_at(data, transport_at + 1, "connection path size")?);
        let path_at = transport_at + 2;
        Ok(Self {
            o_t_connection: u32_at(data, 2, "O->T connection id")?,
            t_o_connection: u32_at(data, 6, "T->O connection id")?,
            serial: u16_at(data, 10, "connection serial")?,
            vendor: u16_at(data, 12, "originator vendor")?,
            originator_serial: u32_at(data, 14, "originator serial")?,
            o_t_rpi: u32_at(data, o_t_rpi_at, "O->T RPI")?,
            t_o_rpi: u32_at(data, t_o_rpi_at, "T->O RPI")?,
            transport: u8_at(data, transport_at, "transport type")?,
            path: data
                .get(path_at..path_at + 2 * words)
                .ok_or(cut("connection path", path_at))?,
        })
    }
}

/// An Unconnected Send request: the embedded message and its route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnconnectedSend<'a> {
    /// The embedded message router request.
    pub message: &'a [u8],
    /// The route path (port segments).
    pub route: &'a [u8],
}

impl<'a> UnconnectedSend<'a> {
    /// Reads the request data (priority/tick, timeout ticks, message size, message, pad, route
    /// path size in words, reserved, route path).
    pub fn parse(data: &'a [u8]) -> Result<Self, CipError> {
        let size = usize::from(u16_at(data, 2, "message request size")?);
        let message = data.get(4..4 + size).ok_or(cut("message request", 4))?;
        let at = 4 + size + size % 2;
        let words = usize::from(u8_at(data, at, "route path size")?);
        let route = data
            .get(at + 2..at + 2 + 2 * words)
            .ok_or(cut("route path", at + 2))?;
        Ok(Self { message, route })
    }
}

/// The services of a Multiple Service Packet (request or reply data: a count and offsets from
/// the count), at most [`MAX_SERVICES`].
pub fn embedded(data: &[u8]) -> impl Iterator<Item = &[u8]> + '_ {
    let count = u16_at(data, 0, "number of services").unwrap_or(0);
    let count = usize::from(count).min(MAX_SERVICES);
    (0..count).map_while(move |i| {
        let start = usize::from(u16_at(data, 2 + 2 * i, "offset").ok()?);
        let end = if i + 1 < count {
            usize::from(u16_at(data, 4 + 2 * i, "offset").ok()?)
        } else {
            data.len()
        };
        data.get(start..end)
    })
}

/// The Identity object's attributes 1–8 as Get_Attributes_All (class 1) and a ListIdentity
/// reply give them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity<'a> {
    /// Vendor id.
    pub vendor: u16,
    /// Device type.
    pub device_type: u16,
    /// Product code.
    pub product_code: u16,
    /// Major revision.
    pub major: u8,
    /// Minor revision.
    pub minor: u8,
    /// Status word.
    pub status: u16,
    /// Serial number.
    pub serial: u32,
    /// Product name.
    pub name: &'a [u8],
    /// State (attribute 8), when present.
    pub state: Option<u8>,
}

impl<'a> Identity<'a> {
    /// Reads attributes 1 to 7 and, when present, 8.
    pub fn parse(data: &'a [u8]) -> Result<Self, CipError> {
        let len = usize::from(u8_at(data, 14, "product name length")?);
        Ok(Self {
            vendor: u16_at(data, 0, "vendor id")?,
            device_type: u16_at(data, 2, "device type")?,
            product_code: u16_at(data, 4, "product code")?,
            major: u8_at(data, 6, "major revision")?,
            minor: u8_at(data, 7, "minor revision")?,
            status: u16_at(data, 8, "status")?,
            serial: u32_at(data, 10, "serial number")?,
            name: data.get(15..15 + len).ok_or(cut("product name", 15))?,
            state: data.get(15 + len).copied(),
        })
    }
}

/// The readable name of a CIP device type (Identity attribute 2).
pub fn device_type_name(device_type: u16) -> Option<&'static str> {
    Some(match device_type {
        0 => "Generic Device (deprecated)",
        2 => "AC Drive",
        3 => "Motor Overload",
        4 => "Limit Switch",
        5 => "Inductive Proximity Switch",
        6 => "Photoelectric Sensor",
        7 => "General Purpose Discrete I/O",
        9 => "Resolver",
        12 => "Communications Adapter",
        14 => "Programmable Logic Controller",
        16 => "Position Controller",
        19 => "DC Drive",
        21 => "Contactor",
        22 => "Motor Starter",
        23 => "Soft Start",
        24 => "Human-Machine Interface",
        26 => "Mass Flow Controller",
        27 => "Pneumatic Valve",
        28 => "Vacuum Pressure Gauge",
        29 => "Process Control Value",
        30 => "Residual Gas Analyzer",
        31 => "DC Power Generator",
        32 => "RF Power Generator",
        33 => "Turbomolecular Vacuum Pump",
        34 => "Encoder",
        35 => "Safety Discrete I/O Device",
        36 => "Fluid Flow Controller",
        37 => "CIP Motion Drive",
        38 => "CompoNet Repeater",
        39 => "Mass Flow Controller, Enhanced",
        40 => "CIP Modbus Device",
        41 => "CIP Modbus Translator",
        42 => "Safety Analog I/O Device",
        43 => "Generic Device (keyable)",
        44 => "Managed Ethernet Switch",
        45 => "CIP Motion Safety Drive Device",
        46 => "Safety Drive Device",
        47 => "CIP Motion Encoder",
        48 => "CIP Motion Converter",
        49 => "CIP Motion I/O",
        50 => "ControlNet Physical Layer Component",
        51 => "Circuit Breaker",
        52 => "HART Device",
        53 => "CIP-HART Translator",
        200 => "Embedded Component",
        _ => return None,
    })
}

/// The inventory device type (`plc`, `hmi`, `switch`, `io_device`) of a CIP device type, for
/// those that name one; adapters and generic devices name none.
pub fn inventory_type(device_type: u16) -> Option<&'static str> {
    match device_type {
        14 => Some("plc"),
        24 => Some("hmi"),
        44 => Some("switch"),
        2..=7 | 9 | 16 | 19 | 21..=23 | 26..=37 | 39 | 42 | 45..=49 | 51 | 52 => Some("io_device"),
        _ => None,
    }
}

/// The Identity state (attribute 8) as a controller state, when it says something.
pub fn state_name(state: u8) -> Option<&'static str> {
    match state {
        1 => Some("self-test"),
        2 => Some("standby"),
        3 => Some("operational"),
        4 => Some("fault (major recoverable)"),
        5 => Some("fault (major unrecoverable)"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path_text(path: &[u8]) -> String {
        let mut buf = ValueBuf::<128>::new();
        write_path(&mut buf, path);
        buf.as_str().to_owned()
    }

    #[test]
    fn logical_paths() {
        assert_eq!(
            path_text(&[0x20, 0x8b, 0x24, 0x01, 0x30, 0x08]),
            "class 0x8b instance 1 attribute 8"
        );
        assert_eq!(
            path_text(&[0x20, 0x68, 0x25, 0x00, 0x20, 0x24]),
            "class 0x68 instance 9248"
        );
        assert_eq!(
            path_text(&[0x21, 0x00, 0x06, 0x00, 0x26, 0x00, 0x01, 0x00, 0x00, 0x00]),
            "class 0x06 instance 1"
        );
        assert_eq!(path_text(&[0x2c, 0x64]), "connection_point 100");
        let target = Target::of(&[0x20, 0x06, 0x24, 0x01]);
        assert_eq!(target.class, Some(6));
        assert_eq!(target.instance, Some(1));
        assert!(!target.symbolic);
    }

    #[test]
    fn symbolic_and_port_paths() {
        let mut path = vec![0x91, 0x0c];
        path.extend_from_slice(b"Program:Main");
        path.extend_from_slice(&[0x91, 0x05]);
        path.extend_from_slice(b"Count\0");
        path.extend_from_slice(&[0x28, 0x03]);
        assert_eq!(path_text(&path), "tag Program:Main.Count[3]");
        assert!(Target::of(&path).symbolic);
        assert_eq!(path_text(&[0x01, 0x00]), "port 1 link 0");
        let mut ip = vec![0x12, 0x09];
        ip.extend_from_slice(b"10.0.0.1\0\0");
        assert_eq!(path_text(&ip), "port 2 link 10.0.0.1");
        // Electronic key then class/instance (a Forward Open connection path).
        let keyed = [
            0x34, 0x04, 1, 0, 14, 0, 0x36, 0, 20, 11, 0x20, 0x02, 0x24, 0x01,
        ];
        assert_eq!(path_text(&keyed), "class 0x02 instance 1");
    }

    #[test]
    fn bad_and_cut_paths() {
        assert_eq!(path_text(&[0x20]), "bad_path");
        assert_eq!(path_text(&[0x20, 0x01, 0xe0, 0x00]), "class 0x01 bad_path");
        assert_eq!(path_text(&[0x91, 0x10, b'a']), "bad_path");
        assert!(matches!(
            Segments::new(&[0x23, 0]).next(),
            Some(Err(CipError::BadSegment {
                byte: 0x23,
                offset: 0
            }))
        ));
        // Bounded: a path of many segments stops at MAX_SEGMENTS.
        let long = [0x24u8, 0x01].repeat(100);
        assert_eq!(Segments::new(&long).count(), MAX_SEGMENTS);
    }

    #[test]
    fn class_specific_services() {
        let cm = Target {
            class: Some(6),
            instance: Some(1),
            ..Target::default()
        };
        let tag = Target {
            symbolic: true,
            ..Target::default()
        };
        let other = Target {
            class: Some(0x8e),
            ..Target::default()
        };
        assert_eq!(classify(0x4e, &cm).name, "forward_close");
        assert_eq!(classify(0x4e, &tag).name, "read_modify_write_tag");
        assert_eq!(classify(0x52, &cm).name, "unconnected_send");
        assert_eq!(classify(0x52, &tag).name, "read_tag_fragmented");
        assert_eq!(classify(0x54, &cm).name, "forward_open");
        assert_eq!(classify(0x4c, &tag).category, EventCategory::Read);
        assert_eq!(classify(0x4d, &tag).category, EventCategory::Write);
        assert_eq!(classify(0x4c, &other).name, "cip_service");
        assert_eq!(classify(0x07, &other).category, EventCategory::ModeChange);
    }

    #[test]
    fn requests_responses_and_errors() {
        let req = Request::parse(&[0x0e, 0x03, 0x20, 0x01, 0x24, 0x01, 0x30, 0x07]).unwrap();
        assert_eq!(req.service, 0x0e);
        assert_eq!(req.path.len(), 6);
        assert!(req.data.is_empty());
        assert_eq!(
            Request::parse(&[0x0e, 0x03, 0x20]),
            Err(CipError::Truncated {
                field: "request path",
                offset: 2
            })
        );
        let resp = Response::parse(&[0x8e, 0, 0x05, 1, 0x34, 0x12]).unwrap();
        assert_eq!((resp.service, resp.status), (0x0e, 5));
        assert_eq!(resp.extended_status(), Some(0x1234));
        assert!(resp.failed());
        assert!(!Response::parse(&[0xd2, 0, 0x06, 0]).unwrap().failed());
        assert!(Response::parse(&[0x8e, 0, 0]).is_err());
        assert_eq!(status_name(0x08), "service not supported");
    }

    #[test]
    fn forward_open_and_unconnected_send() {
        let mut fo = vec![0x0a, 0x0e];
        fo.extend_from_slice(&0u32.to_le_bytes());
        fo.extend_from_slice(&0x2000_0001u32.to_le_bytes());
        fo.extend_from_slice(&0x1234u16.to_le_bytes());
        fo.extend_from_slice(&1u16.to_le_bytes());
        fo.extend_from_slice(&0xdead_beefu32.to_le_bytes());
        fo.extend_from_slice(&[3, 0, 0, 0]);
        fo.extend_from_slice(&100_000u32.to_le_bytes());
        fo.extend_from_slice(&0x43f4u16.to_le_bytes());
        fo.extend_from_slice(&50_000u32.to_le_bytes());
        fo.extend_from_slice(&0x43f4u16.to_le_bytes());
        fo.extend_from_slice(&[0xa3, 3, 0x01, 0x00, 0x20, 0x02, 0x24, 0x01]);
        let open = ForwardOpen::parse(&fo, false).unwrap();
        assert_eq!(open.t_o_connection, 0x2000_0001);
        assert_eq!((open.o_t_rpi, open.t_o_rpi), (100_000, 50_000));
        assert_eq!(open.transport & 0x0f, 3);
        let mut buf = ValueBuf::<256>::new();
        let cm = Target {
            class: Some(6),
            ..Target::default()
        };
        write_body(&mut buf, FORWARD_OPEN, &cm, &fo);
        assert_eq!(
            buf.as_str(),
            " o_t_rpi_us 100000 t_o_rpi_us 50000 o_t_connection 0x00000000 t_o_connection \
             0x20000001 transport_class 3 serial 0x1234 path port 1 link 0 class 0x02 instance 1"
        );
        assert!(ForwardOpen::parse(&fo[..30], false).is_err());

        let inner = [0x0e, 0x03, 0x20, 0x01, 0x24, 0x01, 0x30, 0x07];
        let mut us = vec![0x0a, 0x0e, 8, 0];
        us.extend_from_slice(&inner);
        us.extend_from_slice(&[1, 0, 0x01, 0x00]);
        let send = UnconnectedSend::parse(&us).unwrap();
        assert_eq!(send.message, &inner);
        assert_eq!(send.route, &[0x01, 0x00]);
        assert!(UnconnectedSend::parse(&us[..10]).is_err());
    }

    #[test]
    fn multiple_service_packet_walk() {
        let a = [0x0e, 0x02, 0x20, 0x01, 0x24, 0x01];
        let b = [0x01, 0x02, 0x20, 0x01, 0x24, 0x01];
        let mut msp = vec![2, 0, 6, 0, 12, 0];
        msp.extend_from_slice(&a);
        msp.extend_from_slice(&b);
        let services: Vec<&[u8]> = embedded(&msp).collect();
        assert_eq!(services, vec![&a[..], &b[..]]);
        // Offsets past the end stop the walk; huge counts are bounded.
        assert_eq!(embedded(&[2, 0, 200, 0, 0, 1]).count(), 0);
        let mut many = vec![0xff, 0xff];
        many.extend(std::iter::repeat_n([2u8, 0], 100).flatten());
        assert_eq!(embedded(&many).count(), MAX_SERVICES);
    }

    #[test]
    fn identity_attributes() {
        let mut data = vec![
            1, 0, 14, 0, 0x36, 0, 20, 11, 0x60, 0x30, 0x8a, 0xcc, 0x25, 0x60, 4,
        ];
        data.extend_from_slice(b"1756");
        data.push(3);
        let id = Identity::parse(&data).unwrap();
        assert_eq!((id.vendor, id.device_type, id.product_code), (1, 14, 0x36));
        assert_eq!((id.major, id.minor, id.serial), (20, 11, 0x6025_cc8a));
        assert_eq!(id.name, b"1756");
        assert_eq!(id.state, Some(3));
        assert!(Identity::parse(&data[..17]).is_err());
        assert_eq!(device_type_name(14), Some("Programmable Logic Controller"));
        assert_eq!(inventory_type(14), Some("plc"));
        assert_eq!(inventory_type(12), None);
        assert_eq!(state_name(3), Some("operational"));
        assert_eq!(state_name(255), None);
    }
}
