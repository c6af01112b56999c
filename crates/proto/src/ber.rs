//! ASN.1 BER, decoded zero-copy with offsets for errors: the subset SNMP uses (RFC 3417
//! restricts it to definite lengths and low tag numbers) and, through [`Reader::extended`], the
//! wider subset of ISO presentation, ACSE and MMS (high tag numbers such as MMS's `[72]`
//! fileOpen, deeper nesting). Indefinite lengths are always refused.
//!
//! A [`Reader`] walks the elements of one container. Entering a constructed element gives a
//! child reader one level deeper; past its depth limit ([`MAX_DEPTH`], or the one given to
//! [`Reader::extended`], at most [`MAX_EXTENDED_DEPTH`]) the decoder refuses with
//! [`BerError::TooDeep`], so hostile nesting costs neither stack nor time. Every length is
//! checked against what is left of the enclosing element before anything is sliced.

use std::fmt;

use crate::lldp::ValueBuf;

/// Deepest nesting accepted. An SNMPv3 varbind sits five levels down (message, scoped PDU,
/// PDU, varbind list, varbind); the USM parameters inside their octet string three.
pub const MAX_DEPTH: usize = 8;

/// Deepest nesting an [`Reader::extended`] reader may be given (MMS data structures nest, and
/// their encoders allow a negotiated nesting level; a reader stops at its own limit).
pub const MAX_EXTENDED_DEPTH: usize = 32;

/// Most identifier octets after the first one of a high tag number (tag numbers below 2^28).
pub const MAX_TAG_OCTETS: usize = 4;

/// Universal BOOLEAN.
pub const BOOLEAN: u8 = 0x01;
/// Universal BIT STRING.
pub const BIT_STRING: u8 = 0x03;
/// Universal VisibleString.
pub const VISIBLE_STRING: u8 = 0x1a;
/// Universal SET (constructed).
pub const SET: u8 = 0x31;

/// Tag class: universal.
pub const UNIVERSAL: u8 = 0;
/// Tag class: application.
pub const APPLICATION: u8 = 1;
/// Tag class: context-specific.
pub const CONTEXT: u8 = 2;
/// Tag class: private.
pub const PRIVATE: u8 = 3;

/// Universal INTEGER.
pub const INTEGER: u8 = 0x02;
/// Universal OCTET STRING.
pub const OCTET_STRING: u8 = 0x04;
/// Universal NULL.
pub const NULL: u8 = 0x05;
/// Universal OBJECT IDENTIFIER.
pub const OBJECT_IDENTIFIER: u8 = 0x06;
/// Universal SEQUENCE (constructed).
pub const SEQUENCE: u8 = 0x30;
/// SNMP application IpAddress.
pub const IP_ADDRESS: u8 = 0x40;

/// What was wrong with BER input, and where (byte offset from the start of the message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BerError {
    /// An element's tag, length or value runs past the end of its container.
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Offset of the element.
        offset: usize,
    },
    /// Another tag than the one the structure requires.
    UnexpectedTag {
        /// The field being read.
        field: &'static str,
        /// The tag required.
        expected: u8,
        /// The tag found.
        found: u8,
        /// Offset of the element.
        offset: usize,
    },
    /// An indefinite length (0x80), which SNMP forbids.
    IndefiniteLength {
        /// The field being read.
        field: &'static str,
        /// Offset of the element.
        offset: usize,
    },
    /// A long-form length of more than four bytes.
    LengthTooLong {
        /// The field being read.
        field: &'static str,
        /// Offset of the element.
        offset: usize,
    },
    /// A high tag number (low five bits all set), which SNMP does not use (or, for an
    /// extended reader, one of more than [`MAX_TAG_OCTETS`] octets).
    HighTagNumber {
        /// The field being read.
        field: &'static str,
        /// Offset of the element.
        offset: usize,
    },
    /// An INTEGER that is empty or does not fit in 64 bits.
    BadInteger {
        /// The field being read.
        field: &'static str,
        /// Offset of the element.
        offset: usize,
    },
    /// An OBJECT IDENTIFIER that is empty, ends inside a sub-identifier or has one above
    /// 64 bits.
    BadOid {
        /// The field being read.
        field: &'static str,
        /// Offset of the element.
        offset: usize,
    },
    /// Constructed elements nested deeper than [`MAX_DEPTH`].
    TooDeep {
        /// The field being read.
        field: &'static str,
        /// Offset of the element.
        offset: usize,
    },
}

impl BerError {
    /// Offset of the element the error is about.
    pub fn offset(&self) -> usize {
        match *self {
            Self::Truncated { offset, .. }
            | Self::UnexpectedTag { offset, .. }
            | Self::IndefiniteLength { offset, .. }
            | Self::LengthTooLong { offset, .. }
            | Self::HighTagNumber { offset, .. }
            | Self::BadInteger { offset, .. }
            | Self::BadOid { offset, .. }
            | Self::TooDeep { offset, .. } => offset,
        }
    }
}

impl fmt::Display for BerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { field, offset } => write!(f, "BER {field} truncated at {offset}"),
            Self::UnexpectedTag {
                field,
                expected,
                found,
                offset,
            } => write!(
                f,
                "BER {field}: tag {found:#04x} at {offset}, expected {expected:#04x}"
            ),
            Self::IndefiniteLength { field, offset } => {
                write!(f, "BER {field}: indefinite length at {offset}")
            }
            Self::LengthTooLong { field, offset } => {
                write!(f, "BER {field}: length of more than 4 bytes at {offset}")
            }
            Self::HighTagNumber { field, offset } => {
                write!(f, "BER {field}: high tag number at {offset}")
            }
            Self::BadInteger { field, offset } => write!(f, "BER {field}: bad INTEGER at {offset}"),
            Self::BadOid { field, offset } => {
                write!(f, "BER {field}: bad OBJECT IDENTIFIER at {offset}")
            }
            Self::TooDeep { field, offset } => {
                write!(f, "BER {field}: nested too deep at {offset}")
            }
        }
    }
}

impl std::error::Error for BerError {}

/// One element: its tag, its value bytes and where it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Element<'a> {
    /// The identifier octet (class, constructed bit, tag number).
    pub tag: u8,
    /// The value (contents) bytes.
    pub value: &'a [u8],
    /// Offset of the identifier octet in the message.
    pub offset: usize,
    /// Offset of the first value byte in the message.
    pub value_offset: usize,
    /// Nesting depth of the element (the outermost elements are at 0).
    pub depth: usize,
    /// The tag number (the low five bits of `tag`, or the high tag number that follows it).
    pub number: u32,
    /// The reader's limits, inherited by [`contents`](Self::contents).
    limits: Limits,
}

/// What a reader accepts: how deep, and whether high tag numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Limits {
    max_depth: usize,
    high_tags: bool,
}

impl Limits {
    const SNMP: Limits = Limits {
        max_depth: MAX_DEPTH,
        high_tags: false,
    };
}

impl<'a> Element<'a> {
    /// A reader over this element's contents (a constructed element, or an octet string that
    /// wraps BER such as SNMPv3 security parameters), one level deeper.
    pub fn contents(&self, field: &'static str) -> Result<Reader<'a>, BerError> {
        let depth = self.depth + 1;
        if depth > self.limits.max_depth {
            return Err(BerError::TooDeep {
                field,
                offset: self.offset,
            });
        }
        Ok(Reader {
            bytes: self.value,
            pos: 0,
            base: self.value_offset,
            depth,
            limits: self.limits,
        })
    }

    /// The tag class ([`UNIVERSAL`], [`APPLICATION`], [`CONTEXT`] or [`PRIVATE`]).
    pub fn class(&self) -> u8 {
        self.tag >> 6
    }

    /// Whether the element is constructed (holds elements).
    pub fn is_constructed(&self) -> bool {
        self.tag & 0x20 != 0
    }

    /// Whether the element is context-specific `[number]`, primitive or constructed.
    pub fn is_context(&self, number: u32) -> bool {
        self.class() == CONTEXT && self.number == number
    }

    /// The value as an unsigned INTEGER (the contents of any primitive integer-like element,
    /// such as an implicitly tagged `Unsigned32`); `None` when negative or not 1 to 8 bytes.
    pub fn unsigned(&self) -> Option<u64> {
        decode_integer(self.value).and_then(|v| u64::try_from(v).ok())
    }

    /// The value as a signed INTEGER (two's complement, 1 to 8 bytes).
    pub fn integer(&self, field: &'static str) -> Result<i64, BerError> {
        decode_integer(self.value).ok_or(BerError::BadInteger {
            field,
            offset: self.offset,
        })
    }

    /// The value as an OBJECT IDENTIFIER, validated.
    pub fn oid(&self, field: &'static str) -> Result<Oid<'a>, BerError> {
        Oid::new(self.value).ok_or(BerError::BadOid {
            field,
            offset: self.offset,
        })
    }
}

/// Decodes a two's complement INTEGER of 1 to 8 bytes (longer ones, such as Counter64 values
/// above `i64::MAX`, are refused).
pub fn decode_integer(bytes: &[u8]) -> Option<i64> {
    let (first, _) = bytes.split_first()?;
    if bytes.len() > 8 {
        return None;
    }
    let mut value: i64 = if first & 0x80 != 0 { -1 } else { 0 };
    for b in bytes {
        value = (value << 8) | i64::from(*b);
    }
    Some(value)
}

/// A cursor over the elements of one container.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    base: usize,
    depth: usize,
    limits: Limits,
}

impl<'a> Reader<'a> {
    /// A reader over a whole message (offsets count from its first byte, depth 0), with SNMP's
    /// limits: low tag numbers only, [`MAX_DEPTH`] levels.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            pos: 0,
            base: 0,
            depth: 0,
            limits: Limits::SNMP,
        }
    }

    /// A reader that also accepts high tag numbers (up to [`MAX_TAG_OCTETS`] more identifier
    /// octets) and `max_depth` levels of nesting (capped at [`MAX_EXTENDED_DEPTH`]); `base` is
    /// the offset of `bytes` in the message, for errors.
    pub fn extended(bytes: &'a [u8], base: usize, max_depth: usize) -> Self {
        Self {
            bytes,
            pos: 0,
            base,
            depth: 0,
            limits: Limits {
                max_depth: max_depth.min(MAX_EXTENDED_DEPTH),
                high_tags: true,
            },
        }
    }

    /// The bytes not read yet.
    pub fn rest(&self) -> &'a [u8] {
        self.bytes.get(self.pos..).unwrap_or_default()
    }

    /// Whether every element was read.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    /// Offset (in the message) of the next element.
    pub fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// Reads the next element, whatever its tag.
    pub fn read(&mut self, field: &'static str) -> Result<Element<'a>, BerError> {
        let offset = self.offset();
        let rest = self.bytes.get(self.pos..).unwrap_or_default();
        let truncated = BerError::Truncated { field, offset };
        let (tag, number, rest_after_tag) = match rest.split_first() {
            None => return Err(truncated),
            Some((tag, tail)) if tag & 0x1f != 0x1f => (*tag, u32::from(tag & 0x1f), tail),
            Some((tag, tail)) => {
                if !self.limits.high_tags {
                    return Err(BerError::HighTagNumber { field, offset });
                }
                let mut number: u32 = 0;
                let mut used = 0;
                loop {
                    let b = *tail.get(used).ok_or(truncated)?;
                    used += 1;
                    if used > MAX_TAG_OCTETS {
                        return Err(BerError::HighTagNumber { field, offset });
                    }
                    number = (number << 7) | u32::from(b & 0x7f);
                    if b & 0x80 == 0 {
                        break;
                    }
                }
                (*tag, number, tail.get(used..).unwrap_or_default())
            }
        };
        let tag_len = rest.len() - rest_after_tag.len();
        let [first_len, tail @ ..] = rest_after_tag else {
            return Err(truncated);
        };
        let (len, header) = match *first_len {
            short @ 0..=0x7f => (usize::from(short), tag_len + 1),
            0x80 => return Err(BerError::IndefiniteLength { field, offset }),
            long => {
                let count = usize::from(long & 0x7f);
                if count > 4 {
                    return Err(BerError::LengthTooLong { field, offset });
                }
                let len_bytes = tail.get(..count).ok_or(truncated)?;
                let len = len_bytes
                    .iter()
                    .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
                (len, tag_len + 1 + count)
            }
        };
        let value = rest
            .get(header..)
            .and_then(|v| v.get(..len))
            .ok_or(truncated)?;
        self.pos += header + len;
        Ok(Element {
            tag,
            value,
            offset,
            value_offset: offset + header,
            depth: self.depth,
            number,
            limits: self.limits,
        })
    }

    /// Reads the next element and checks its tag.
    pub fn expect(&mut self, tag: u8, field: &'static str) -> Result<Element<'a>, BerError> {
        let element = self.read(field)?;
        if element.tag != tag {
            return Err(BerError::UnexpectedTag {
                field,
                expected: tag,
                found: element.tag,
                offset: element.offset,
            });
        }
        Ok(element)
    }

    /// Reads a constructed element with this tag and returns a reader over its contents.
    pub fn enter(&mut self, tag: u8, field: &'static str) -> Result<Reader<'a>, BerError> {
        self.expect(tag, field)?.contents(field)
    }

    /// Reads an INTEGER.
    pub fn integer(&mut self, field: &'static str) -> Result<i64, BerError> {
        self.expect(INTEGER, field)?.integer(field)
    }

    /// Reads an OCTET STRING's bytes.
    pub fn octets(&mut self, field: &'static str) -> Result<&'a [u8], BerError> {
        Ok(self.expect(OCTET_STRING, field)?.value)
    }

    /// Reads an OBJECT IDENTIFIER.
    pub fn oid(&mut self, field: &'static str) -> Result<Oid<'a>, BerError> {
        self.expect(OBJECT_IDENTIFIER, field)?.oid(field)
    }
}

/// An OBJECT IDENTIFIER, as its encoded contents (compared byte for byte with known OIDs, so
/// that matching costs no decoding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Oid<'a>(&'a [u8]);

impl<'a> Oid<'a> {
    /// Validates encoded OID contents: non-empty, every sub-identifier complete and within
    /// 64 bits.
    pub fn new(bytes: &'a [u8]) -> Option<Self> {
        let last = bytes.last()?;
        if last & 0x80 != 0 {
            return None;
        }
        let mut value: u64 = 0;
        for b in bytes {
            // Seven more bits would push a set bit past bit 63.
            if value >> 57 != 0 {
                return None;
            }
            value = (value << 7) | u64::from(b & 0x7f);
            if b & 0x80 == 0 {
                value = 0;
            }
        }
        Some(Self(bytes))
    }

    /// The encoded contents.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// The sub-identifiers as encoded (the first one packs the first two arcs: 40 × X + Y).
    fn sub_identifiers(&self) -> impl Iterator<Item = u64> + 'a {
        let mut rest = self.0;
        std::iter::from_fn(move || {
            let mut value: u64 = 0;
            loop {
                let (b, tail) = rest.split_first()?;
                rest = tail;
                value = (value << 7) | u64::from(b & 0x7f);
                if b & 0x80 == 0 {
                    return Some(value);
                }
            }
        })
    }

    /// The arcs, in order (`1.3.6.1...`).
    pub fn arcs(&self) -> impl Iterator<Item = u64> + 'a {
        let mut subs = self.sub_identifiers();
        let first = subs.next();
        let head = first.map(|first| match first {
            0..=39 => [0, first],
            40..=79 => [1, first - 40],
            _ => [2, first - 80],
        });
        head.into_iter().flatten().chain(subs)
    }

    /// The arc after `prefix` (encoded contents), when the OID starts with it.
    pub fn arc_after(&self, prefix: &[u8]) -> Option<u64> {
        let rest = self.0.strip_prefix(prefix)?;
        Oid::new(rest)?.sub_identifiers().next()
    }

    /// Writes the dotted form (`1.3.6.1.2.1.1.1.0`) into `out`.
    pub(crate) fn write_dotted(&self, out: &mut ValueBuf) {
        for (i, arc) in self.arcs().enumerate() {
            if i > 0 {
                out.push_bytes(b".");
            }
            out.push_u64(arc);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        assert_eq!(decode_integer(&[0x00]), Some(0));
        assert_eq!(decode_integer(&[0x7f]), Some(127));
        assert_eq!(decode_integer(&[0x00, 0x80]), Some(128));
        assert_eq!(decode_integer(&[0xff]), Some(-1));
        assert_eq!(decode_integer(&[0x20, 0x7b, 0x2f, 0x72]), Some(544_943_986));
        assert_eq!(decode_integer(&[0x80, 0, 0, 0, 0, 0, 0, 0]), Some(i64::MIN));
        assert_eq!(decode_integer(&[]), None);
        assert_eq!(decode_integer(&[1; 9]), None);
    }

    #[test]
    fn lengths_and_tags() {
        // Long-form length.
        let mut long = vec![0x04, 0x81, 0x80];
        long.extend_from_slice(&[b'a'; 128]);
        let element = Reader::new(&long).octets("s").unwrap();
        assert_eq!(element.len(), 128);
        assert_eq!(
            Reader::new(&[0x30, 0x80, 0, 0]).read("message"),
            Err(BerError::IndefiniteLength {
                field: "message",
                offset: 0
            })
        );
        assert_eq!(
            Reader::new(&[0x30, 0x85, 1, 1, 1, 1, 1]).read("message"),
            Err(BerError::LengthTooLong {
                field: "message",
                offset: 0
            })
        );
        assert_eq!(
            Reader::new(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).read("message"),
            Err(BerError::Truncated {
                field: "message",
                offset: 0
            })
        );
        assert_eq!(
            Reader::new(&[0x1f, 0x01, 0x00]).read("x"),
            Err(BerError::HighTagNumber {
                field: "x",
                offset: 0
            })
        );
        let mut reader = Reader::new(&[0x02, 0x01, 0x05, 0x04, 0x00]);
        assert_eq!(reader.integer("a"), Ok(5));
        assert_eq!(
            reader.integer("b"),
            Err(BerError::UnexpectedTag {
                field: "b",
                expected: INTEGER,
                found: OCTET_STRING,
                offset: 3
            })
        );
    }

    #[test]
    fn extended_reader() {
        // [72] constructed (MMS fileOpen): bf 48, then [0] primitive inside.
        let bytes = [0xbf, 0x48, 0x03, 0x80, 0x01, 0x07];
        assert!(Reader::new(&bytes).read("x").is_err());
        let mut reader = Reader::extended(&bytes, 10, 16);
        let element = reader.read("file_open").unwrap();
        assert_eq!(
            (element.class(), element.is_constructed(), element.number),
            (CONTEXT, true, 72)
        );
        assert_eq!(element.value_offset, 13);
        let inner = element.contents("file_open").unwrap().read("frsm").unwrap();
        assert!(inner.is_context(0));
        assert_eq!(inner.unsigned(), Some(7));
        assert!(reader.is_empty());
        // Tag numbers of more than four octets, and a tag cut short.
        let long = [0x9f, 0x81, 0x81, 0x81, 0x81, 0x01, 0x00];
        assert!(matches!(
            Reader::extended(&long, 0, 4).read("x"),
            Err(BerError::HighTagNumber { .. })
        ));
        assert!(matches!(
            Reader::extended(&[0x9f, 0x81], 0, 4).read("x"),
            Err(BerError::Truncated { .. })
        ));
        // The depth limit is the reader's, capped.
        let nested = [0x30, 0x02, 0x30, 0x00];
        let outer = Reader::extended(&nested, 0, 1).read("a").unwrap();
        let inner = outer.contents("a").unwrap().read("b").unwrap();
        assert!(matches!(inner.contents("b"), Err(BerError::TooDeep { .. })));
    }

    #[test]
    fn depth_is_limited() {
        // 20 nested empty-ended sequences: 30 02 30 00 ... built inside out.
        let mut bytes = vec![0x05, 0x00];
        for _ in 0..20 {
            let mut outer = vec![0x30, bytes.len() as u8];
            outer.extend_from_slice(&bytes);
            bytes = outer;
        }
        let mut reader = Reader::new(&bytes);
        let mut levels = 0;
        let error = loop {
            match reader.enter(SEQUENCE, "nested") {
                Ok(inner) => {
                    reader = inner;
                    levels += 1;
                }
                Err(e) => break e,
            }
        };
        assert_eq!(levels, MAX_DEPTH);
        assert_eq!(
            error,
            BerError::TooDeep {
                field: "nested",
                offset: 2 * MAX_DEPTH
            }
        );
    }

    #[test]
    fn oids() {
        // 1.3.6.1.4.1.2001.1.1.1.297 (zeek_snmpv1_get.pcap frame 2).
        let bytes = [0x2b, 6, 1, 4, 1, 0x8f, 0x51, 1, 1, 1, 0x82, 0x29];
        let oid = Oid::new(&bytes).unwrap();
        assert_eq!(
            oid.arcs().collect::<Vec<_>>(),
            [1, 3, 6, 1, 4, 1, 2001, 1, 1, 1, 297]
        );
        assert_eq!(oid.arc_after(&[0x2b, 6, 1, 4, 1]), Some(2001));
        assert_eq!(oid.arc_after(&[0x2b, 6, 1, 2, 1]), None);
        let mut text = ValueBuf::new();
        oid.write_dotted(&mut text);
        assert_eq!(text.as_bytes(), b"1.3.6.1.4.1.2001.1.1.1.297");
        // 2.999 and a 64-bit arc.
        let big = [
            0x88, 0x37, 0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
        ];
        assert_eq!(
            Oid::new(&big).unwrap().arcs().collect::<Vec<_>>(),
            [2, 999, u64::MAX]
        );
        assert!(Oid::new(&[]).is_none());
        assert!(Oid::new(&[0x2b, 0x86]).is_none());
        assert!(Oid::new(&[0x82, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]).is_none());
    }
}
