//! The DNP3 application layer: fragment header (application control, function code, internal
//! indications of responses) and object headers (group, variation, qualifier, range), walked
//! with bounds over a reassembled fragment.
//!
//! Object data is located from the object sizes this module knows ([`object_size`]); objects
//! with a size prefix (free-format qualifiers) carry their own size. When a header's data has
//! no known size the walk stops there with [`ObjectError::UnknownSize`]: what follows cannot
//! be located, and is skipped, never guessed. At most [`MAX_HEADERS`] headers are walked per
//! fragment.

/// Most object headers walked in one fragment.
pub const MAX_HEADERS: usize = 64;

/// Why a fragment or an object header could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectError {
    /// The fragment ends before `field`, which starts at `offset`.
    Truncated {
        /// The field that is cut.
        field: &'static str,
        /// Where it starts, from the start of the fragment.
        offset: usize,
    },
    /// A qualifier's range or prefix code is reserved.
    BadQualifier {
        /// The qualifier.
        qualifier: u8,
        /// Where it is.
        offset: usize,
    },
    /// A start-stop range whose stop is below its start.
    BadRange {
        /// Where the range is.
        offset: usize,
    },
    /// Objects follow whose size this parser does not know.
    UnknownSize {
        /// Group.
        group: u8,
        /// Variation.
        variation: u8,
        /// Where their data starts.
        offset: usize,
    },
}

impl std::fmt::Display for ObjectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Truncated { field, offset } => {
                write!(f, "DNP3 fragment truncated at {field} (offset {offset})")
            }
            Self::BadQualifier { qualifier, offset } => {
                write!(
                    f,
                    "DNP3 reserved qualifier 0x{qualifier:02x} at offset {offset}"
                )
            }
            Self::BadRange { offset } => {
                write!(f, "DNP3 range stop below start at offset {offset}")
            }
            Self::UnknownSize {
                group,
                variation,
                offset,
            } => write!(
                f,
                "DNP3 objects g{group}v{variation} of unknown size at offset {offset}"
            ),
        }
    }
}

impl std::error::Error for ObjectError {}

/// The application header of a fragment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppHeader {
    /// Application control: FIR 0x80, FIN 0x40, CON 0x20, UNS 0x10, sequence 0x0f.
    pub control: u8,
    /// Function code.
    pub function: u8,
    /// Internal indications (IIN1 in the high byte), in responses.
    pub iin: Option<u16>,
}

impl AppHeader {
    /// Reads the header; returns it and the offset of the first object header.
    pub fn parse(fragment: &[u8]) -> Result<(Self, usize), ObjectError> {
        let (control, function) = match fragment {
            [c, f, ..] => (*c, *f),
            _ => {
                return Err(ObjectError::Truncated {
                    field: "application header",
                    offset: 0,
                })
            }
        };
        if is_response(function) {
            let iin = match fragment.get(2..4) {
                Some([a, b]) => u16::from_be_bytes([*a, *b]),
                _ => {
                    return Err(ObjectError::Truncated {
                        field: "internal indications",
                        offset: 2,
                    })
                }
            };
            Ok((
                Self {
                    control,
                    function,
                    iin: Some(iin),
                },
                4,
            ))
        } else {
            Ok((
                Self {
                    control,
                    function,
                    iin: None,
                },
                2,
            ))
        }
    }

    /// The sequence number.
    pub fn sequence(&self) -> u8 {
        self.control & 0x0f
    }

    /// Whether the unsolicited bit is set.
    pub fn unsolicited(&self) -> bool {
        self.control & 0x10 != 0
    }
}

/// Response, unsolicited response and authentication response carry internal indications.
pub fn is_response(function: u8) -> bool {
    matches!(function, 129..=131)
}

/// Whether objects in a fragment of this function carry data after their headers (reads,
/// freezes, class assignments and unsolicited enables carry headers only).
pub fn carries_data(function: u8) -> bool {
    matches!(function, 2..=6 | 11 | 12 | 19 | 25..=33 | 129..=131)
}

/// The range of an object header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    /// Start and stop index (inclusive).
    StartStop(u32, u32),
    /// A count of objects (each with its index prefix, if any).
    Count(u32),
    /// All objects of the type (qualifier 0x06).
    All,
}

/// The size of one object of a group and variation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// Whole bytes.
    Bytes(usize),
    /// Packed bits per object (1 or 2), objects without prefix packed into bytes.
    Bits(usize),
    /// A device attribute: data type, length byte, then that many bytes.
    Attribute,
}

/// The size of objects of `group`/`variation` on the wire, when this parser knows it.
pub fn object_size(group: u8, variation: u8) -> Option<Size> {
    use Size::{Bits, Bytes};
    Some(match (group, variation) {
        (0, 1..=255) => Size::Attribute,
        (1, 1) | (10, 1) | (12, 3) | (80, 1) => Bits(1),
        (3, 1) => Bits(2),
        (1, 2) | (2, 1) | (3, 2) | (4, 1) | (10, 2) | (11, 1) | (13, 1) | (102, 1) => Bytes(1),
        (2, 2) | (4, 2) | (11, 2) | (13, 2) => Bytes(7),
        (2, 3) | (4, 3) => Bytes(3),
        (12, 1) | (12, 2) => Bytes(11),
        (20, 1 | 3) | (22, 1 | 3) | (23, 1 | 3) => Bytes(5),
        (20, 2 | 4) | (22, 2 | 4) | (23, 2 | 4) => Bytes(3),
        (20, 5 | 7) => Bytes(4),
        (20, 6 | 8) => Bytes(2),
        (21, 1 | 3) => Bytes(5),
        (21, 2 | 4) => Bytes(3),
        (21, 5 | 7) | (22, 5 | 7) | (23, 5 | 7) => Bytes(11),
        (21, 6 | 8) | (22, 6 | 8) | (23, 6 | 8) => Bytes(9),
        (21, 9 | 11) => Bytes(4),
        (21, 10 | 12) => Bytes(2),
        (30, 1) | (30, 5) => Bytes(5),
        (30, 2) => Bytes(3),
        (30, 3) => Bytes(4),
        (30, 4) => Bytes(2),
        (30, 6) => Bytes(9),
        (31, 1 | 7) => Bytes(5),
        (31, 2) => Bytes(3),
        (31, 3) => Bytes(11),
        (31, 4) => Bytes(9),
        (31, 5) => Bytes(4),
        (31, 6) => Bytes(2),
        (31, 8) => Bytes(9),
        (32 | 33 | 42, 1 | 5) => Bytes(5),
        (32 | 33 | 42, 2) => Bytes(3),
        (32 | 33 | 42, 3 | 7) => Bytes(11),
        (32 | 33 | 42, 4) => Bytes(9),
        (32 | 33 | 42, 6) => Bytes(9),
        (32 | 33 | 42, 8) => Bytes(15),
        (34, 1) => Bytes(2),
        (34, 2 | 3) => Bytes(4),
        (40 | 41, 1 | 3) => Bytes(5),
        (40 | 41, 2) => Bytes(3),
        (40 | 41, 4) => Bytes(9),
        (43, 1 | 5) => Bytes(6),
        (43, 2) => Bytes(4),
        (43, 3 | 7) => Bytes(12),
        (43, 4 | 6) => Bytes(10),
        (43, 8) => Bytes(16),
        (50, 1 | 3) => Bytes(6),
        (50, 2) => Bytes(10),
        (50, 4) => Bytes(11),
        (51, 1 | 2) => Bytes(6),
        (52, 1 | 2) => Bytes(2),
        (110..=113, v) => Bytes(usize::from(v)),
        (120, 4) => Bytes(2),
        (121, 1) | (122, 1) => Bytes(5),
        (122, 2) => Bytes(11),
        _ => return None,
    })
}

/// One object header and the data of its objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectHeader<'a> {
    /// Object group.
    pub group: u8,
    /// Variation.
    pub variation: u8,
    /// Qualifier: prefix code (bits 4–6) and range code (bits 0–3).
    pub qualifier: u8,
    /// The range.
    pub range: Range,
    /// The objects' bytes (prefixes included); empty when the function carries no data.
    pub data: &'a [u8],
}

impl<'a> ObjectHeader<'a> {
    /// The prefix code.
    pub fn prefix_code(&self) -> u8 {
        (self.qualifier >> 4) & 7
    }

    /// The number of objects.
    pub fn count(&self) -> u32 {
        match self.range {
            Range::StartStop(start, stop) => stop.saturating_sub(start).saturating_add(1),
            Range::Count(n) => n,
            Range::All => 0,
        }
    }

    /// The objects one by one: (index, object bytes without prefix). Objects whose size is
    /// unknown are not listed. Indexes come from the prefix or the range.
    pub fn objects(&self) -> HeaderObjects<'a> {
        HeaderObjects {
            header: *self,
            rest: self.data,
            n: 0,
        }
    }
}

/// Iterator over the objects of one header.
#[derive(Debug, Clone)]
pub struct HeaderObjects<'a> {
    header: ObjectHeader<'a>,
    rest: &'a [u8],
    n: u32,
}

impl<'a> Iterator for HeaderObjects<'a> {
    type Item = (u32, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let h = &self.header;
        if self.n >= h.count() {
            return None;
        }
        let default_index = match h.range {
            Range::StartStop(start, _) => start.wrapping_add(self.n),
            _ => self.n,
        };
        self.n += 1;
        let (index, size) = match h.prefix_code() {
            0 => (default_index, None),
            1..=3 => {
                let width = prefix_width(h.prefix_code());
                let index = le(self.rest.get(..width)?);
                self.rest = self.rest.get(width..)?;
                (index, None)
            }
            code => {
                let width = prefix_width(code);
                let size = le(self.rest.get(..width)?) as usize;
                self.rest = self.rest.get(width..)?;
                (default_index, Some(size))
            }
        };
        let size = match size {
            Some(size) => size,
            None => match object_size(h.group, h.variation)? {
                Size::Bytes(n) => n,
                Size::Bits(_) => return None,
                Size::Attribute => 2 + usize::from(*self.rest.get(1)?),
            },
        };
        if size == 0 && h.prefix_code() == 0 {
            // Nothing on the wire per object: the count alone would bound the walk.
            return None;
        }
        let object = self.rest.get(..size)?;
        self.rest = self.rest.get(size..)?;
        Some((index, object))
    }
}

fn prefix_width(code: u8) -> usize {
    match code {
        1 | 4 => 1,
        2 | 5 => 2,
        3 | 6 => 4,
        _ => 0,
    }
}

fn le(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .take(4)
        .rev()
        .fold(0, |acc, b| (acc << 8) | u32::from(*b))
}

/// Walks the object headers of a fragment, from `offset` (after the application header).
#[derive(Debug, Clone)]
pub struct ObjectHeaders<'a> {
    fragment: &'a [u8],
    at: usize,
    with_data: bool,
    walked: usize,
    failed: bool,
}

impl<'a> ObjectHeaders<'a> {
    /// Headers of `fragment` starting at `offset`; `with_data` when objects follow their
    /// headers ([`carries_data`]).
    pub fn new(fragment: &'a [u8], offset: usize, with_data: bool) -> Self {
        Self {
            fragment,
            at: offset,
            with_data,
            walked: 0,
            failed: false,
        }
    }

    fn read(&mut self) -> Result<ObjectHeader<'a>, ObjectError> {
        let start = self.at;
        let (group, variation, qualifier) = match self.fragment.get(start..start + 3) {
            Some([g, v, q]) => (*g, *v, *q),
            _ => {
                return Err(ObjectError::Truncated {
                    field: "object header",
                    offset: start,
                })
            }
        };
        let mut at = start + 3;
        let range_code = qualifier & 0x0f;
        let prefix = (qualifier >> 4) & 7;
        let field = |at: usize, width: usize| {
            self.fragment
                .get(at..at + width)
                .map(le)
                .ok_or(ObjectError::Truncated {
                    field: "range",
                    offset: at,
                })
        };
        let range = match range_code {
            0..=5 => {
                let width = [1, 2, 4][usize::from(range_code % 3)];
                let start_index = field(at, width)?;
                let stop_index = field(at + width, width)?;
                at += 2 * width;
                if stop_index < start_index {
                    return Err(ObjectError::BadRange { offset: at });
                }
                Range::StartStop(start_index, stop_index)
            }
            6 => Range::All,
            7..=9 | 0x0b => {
                let width = match range_code {
                    8 => 2,
                    9 => 4,
                    _ => 1,
                };
                let n = field(at, width)?;
                at += width;
                Range::Count(n)
            }
            _ => {
                return Err(ObjectError::BadQualifier {
                    qualifier,
                    offset: start + 2,
                })
            }
        };
        if prefix == 7 {
            return Err(ObjectError::BadQualifier {
                qualifier,
                offset: start + 2,
            });
        }
        let mut header = ObjectHeader {
            group,
            variation,
            qualifier,
            range,
            data: &[],
        };
        // Class data (g60), and variation 0 ("any variation") never carry objects.
        // Size-prefixed (free-format) objects always carry their data, whatever the function
        // (a file read names its handle and block that way).
        let no_data = (!self.with_data && !(4..=6).contains(&prefix))
            || range == Range::All
            || group == 60
            || variation == 0;
        let data_len = if no_data {
            0
        } else {
            self.data_len(&header, at)?
        };
        header.data = self
            .fragment
            .get(at..at + data_len)
            .ok_or(ObjectError::Truncated {
                field: "object data",
                offset: at,
            })?;
        self.at = at + data_len;
        Ok(header)
    }

    /// Bytes of object data after a header at `at`.
    fn data_len(&self, header: &ObjectHeader<'_>, at: usize) -> Result<usize, ObjectError> {
        let count = header.count() as usize;
        let rest = self.fragment.get(at..).unwrap_or_default();
        let unknown = ObjectError::UnknownSize {
            group: header.group,
            variation: header.variation,
            offset: at,
        };
        let truncated = ObjectError::Truncated {
            field: "object data",
            offset: at,
        };
        // Never more objects than bytes: bounds the walk whatever the count claims.
        if count > rest.len().saturating_mul(8) {
            return Err(truncated);
        }
        let prefix = header.prefix_code();
        if (4..=6).contains(&prefix) {
            let width = prefix_width(prefix);
            let mut used = 0;
            for _ in 0..count {
                let size = rest.get(used..used + width).map(le).ok_or(truncated)? as usize;
                used += width + size;
            }
            return Ok(used);
        }
        let width = prefix_width(prefix);
        match object_size(header.group, header.variation).ok_or(unknown)? {
            Size::Bits(bits) if prefix == 0 => Ok((count * bits).div_ceil(8)),
            Size::Bits(_) => Ok(count * (width + 1)),
            Size::Bytes(n) => Ok(count * (width + n)),
            Size::Attribute => {
                let mut used = 0;
                for _ in 0..count {
                    let len = rest.get(used + width + 1).ok_or(truncated)?;
                    used += width + 2 + usize::from(*len);
                }
                Ok(used)
            }
        }
    }
}

impl<'a> Iterator for ObjectHeaders<'a> {
    type Item = Result<ObjectHeader<'a>, ObjectError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.at >= self.fragment.len() || self.walked >= MAX_HEADERS {
            return None;
        }
        self.walked += 1;
        let header = self.read();
        if header.is_err() {
            self.failed = true;
        }
        Some(header)
    }
}

/// The name of a function code as an event operation.
pub fn function_name(function: u8) -> &'static str {
    match function {
        0 => "confirm",
        1 => "read",
        2 => "write",
        3 => "select",
        4 => "operate",
        5 => "direct_operate",
        6 => "direct_operate_no_ack",
        7 => "immediate_freeze",
        8 => "immediate_freeze_no_ack",
        9 => "freeze_clear",
        10 => "freeze_clear_no_ack",
        11 => "freeze_at_time",
        12 => "freeze_at_time_no_ack",
        13 => "cold_restart",
        14 => "warm_restart",
        15 => "initialize_data",
        16 => "initialize_application",
        17 => "start_application",
        18 => "stop_application",
        19 => "save_configuration",
        20 => "enable_unsolicited",
        21 => "disable_unsolicited",
        22 => "assign_class",
        23 => "delay_measure",
        24 => "record_current_time",
        25 => "open_file",
        26 => "close_file",
        27 => "delete_file",
        28 => "get_file_info",
        29 => "authenticate_file",
        30 => "abort_file",
        31 => "activate_config",
        32 => "authentication_request",
        33 => "authentication_request_no_ack",
        129 => "response",
        130 => "unsolicited_response",
        131 => "authentication_response",
        _ => "unknown_function",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn read_request_headers() {
        // Read: class 1, 2, 3, 0 and g30v1 indexes 0-9.
        let frag = [
            0xc3, 1, 60, 2, 6, 60, 3, 6, 60, 4, 6, 60, 1, 6, 30, 1, 0, 0, 9,
        ];
        let (h, at) = AppHeader::parse(&frag).unwrap();
        assert_eq!((h.function, h.iin, h.sequence()), (1, None, 3));
        let headers: Vec<_> = ObjectHeaders::new(&frag, at, carries_data(1))
            .map(Result::unwrap)
            .collect();
        assert_eq!(headers.len(), 5);
        assert_eq!(headers[4].range, Range::StartStop(0, 9));
        assert!(headers.iter().all(|h| h.data.is_empty()));
    }

    #[test]
    fn response_objects_and_unknown_sizes() {
        // Response IIN 0x9000: g1v2 0-1, g30v2 0-0, then g99v1 (unknown) 0-0.
        let frag = [
            0xc0, 129, 0x90, 0, 1, 2, 0, 0, 1, 0x01, 0x81, 30, 2, 0, 0, 0, 1, 0x34, 0x12, 99, 1, 0,
            0, 0, 7,
        ];
        let (h, at) = AppHeader::parse(&frag).unwrap();
        assert_eq!(h.iin, Some(0x9000));
        let mut walk = ObjectHeaders::new(&frag, at, true);
        let g1 = walk.next().unwrap().unwrap();
        assert_eq!(
            g1.objects().collect::<Vec<_>>(),
            [(0, &[1][..]), (1, &[0x81][..])]
        );
        let g30 = walk.next().unwrap().unwrap();
        assert_eq!(g30.data, [1, 0x34, 0x12]);
        assert!(matches!(
            walk.next(),
            Some(Err(ObjectError::UnknownSize { group: 99, .. }))
        ));
        assert!(walk.next().is_none());
    }

    #[test]
    fn prefixed_and_free_format_objects() {
        // Select g12v1, qualifier 0x28 (2-byte index prefix, 2-byte count).
        let frag = [
            0xc7, 3, 12, 1, 0x28, 1, 0, 1, 0, 3, 1, 100, 0, 0, 0, 100, 0, 0, 0, 0,
        ];
        let (_, at) = AppHeader::parse(&frag).unwrap();
        let h = ObjectHeaders::new(&frag, at, true).next().unwrap().unwrap();
        let (index, crob) = h.objects().next().unwrap();
        assert_eq!((index, crob.len(), crob[0]), (1, 11, 3));
        // Free format g70v3 qualifier 0x5b: count 1, size 3.
        let frag = [0xc0, 25, 70, 3, 0x5b, 1, 3, 0, 9, 9, 9];
        let h = ObjectHeaders::new(&frag, 2, true).next().unwrap().unwrap();
        assert_eq!(h.objects().next().unwrap().1, [9, 9, 9]);
        // Bad qualifiers, reversed ranges, huge counts.
        assert!(ObjectHeaders::new(&[1, 2, 0x0c], 0, true)
            .next()
            .unwrap()
            .is_err());
        assert!(ObjectHeaders::new(&[1, 2, 0x00, 5, 1], 0, true)
            .next()
            .unwrap()
            .is_err());
        assert!(
            ObjectHeaders::new(&[30, 1, 0x09, 0xff, 0xff, 0xff, 0xff], 0, true)
                .next()
                .unwrap()
                .is_err()
        );
    }
}
