//! BACnet's tagged encoding (ASHRAE 135 clause 20.2): application and context tags, extended
//! tag numbers and lengths, opening and closing tags, and the primitive values behind them.
//!
//! The reader walks tags one at a time without recursion; opening/closing nesting is counted
//! and capped at [`MAX_DEPTH`], and at most [`MAX_TAGS`] tags are read per reader.

use std::fmt::Write as _;

use super::names;
use super::BacnetError;
use crate::value::ValueBuf;

/// Deepest opening-tag nesting read (constructed values deeper than this are refused).
pub const MAX_DEPTH: usize = 16;

/// Most tags one reader walks (bounded work per APDU).
pub const MAX_TAGS: usize = 2048;

/// Application tag numbers.
pub mod app {
    /// Null.
    pub const NULL: u8 = 0;
    /// Boolean (value in the length bits).
    pub const BOOLEAN: u8 = 1;
    /// Unsigned integer.
    pub const UNSIGNED: u8 = 2;
    /// Signed integer.
    pub const SIGNED: u8 = 3;
    /// IEEE 754 single.
    pub const REAL: u8 = 4;
    /// IEEE 754 double.
    pub const DOUBLE: u8 = 5;
    /// Octet string.
    pub const OCTET_STRING: u8 = 6;
    /// Character string (first byte: character set).
    pub const CHARACTER_STRING: u8 = 7;
    /// Bit string (first byte: unused bits).
    pub const BIT_STRING: u8 = 8;
    /// Enumerated.
    pub const ENUMERATED: u8 = 9;
    /// Date.
    pub const DATE: u8 = 10;
    /// Time.
    pub const TIME: u8 = 11;
    /// Object identifier.
    pub const OBJECT_ID: u8 = 12;
}

/// Whether a tag is an application or a context tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Application tag: the number is the datatype.
    Application,
    /// Context-specific tag: the number is the field's position.
    Context,
}

/// What a tag holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content<'a> {
    /// Primitive content bytes.
    Data(&'a [u8]),
    /// An application boolean (its value is in the tag itself).
    Boolean(bool),
    /// Opening tag of a constructed value.
    Opening,
    /// Closing tag.
    Closing,
}

/// One tag and its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag<'a> {
    /// Tag number (0..=254).
    pub number: u8,
    /// Application or context.
    pub class: Class,
    /// The content.
    pub content: Content<'a>,
    /// Offset of the tag in the reader's input.
    pub offset: usize,
}

impl<'a> Tag<'a> {
    /// Whether this is context tag `n` with primitive data.
    pub fn is_context(&self, n: u8) -> bool {
        self.class == Class::Context && self.number == n && matches!(self.content, Content::Data(_))
    }

    /// Whether this is application tag `n`.
    pub fn is_app(&self, n: u8) -> bool {
        self.class == Class::Application && self.number == n
    }

    /// The primitive content bytes (empty for opening/closing/boolean tags).
    pub fn data(&self) -> &'a [u8] {
        match self.content {
            Content::Data(bytes) => bytes,
            _ => &[],
        }
    }

    /// The content as an unsigned integer (unsigned, enumerated; up to 8 bytes).
    pub fn unsigned(&self) -> Option<u64> {
        unsigned(self.data())
    }

    /// The content as a signed integer (up to 8 bytes, two's complement).
    pub fn signed(&self) -> Option<i64> {
        let data = self.data();
        if data.is_empty() || data.len() > 8 {
            return None;
        }
        let negative = data.first().is_some_and(|b| b & 0x80 != 0);
        let mut value: i64 = if negative { -1 } else { 0 };
        for &b in data {
            value = (value << 8) | i64::from(b);
        }
        Some(value)
    }

    /// The content as an object identifier.
    pub fn object_id(&self) -> Option<ObjectId> {
        match self.data() {
            &[a, b, c, d] => Some(ObjectId::from_u32(u32::from_be_bytes([a, b, c, d]))),
            _ => None,
        }
    }
}

/// An unsigned big-endian integer of 1 to 8 bytes.
pub fn unsigned(data: &[u8]) -> Option<u64> {
    if data.is_empty() || data.len() > 8 {
        return None;
    }
    Some(data.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b)))
}

/// A BACnet object identifier: 10-bit type, 22-bit instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ObjectId {
    /// Object type (8 is device).
    pub object_type: u16,
    /// Instance number (4194303 is the wildcard "this device").
    pub instance: u32,
}

impl ObjectId {
    /// Object type of device objects.
    pub const DEVICE: u16 = 8;
    /// Object type of file objects.
    pub const FILE: u16 = 10;
    /// The wildcard instance (a device addressing itself without knowing its number).
    pub const WILDCARD: u32 = 4_194_303;

    /// Splits the 32-bit encoded form.
    pub fn from_u32(raw: u32) -> Self {
        Self {
            object_type: (raw >> 22) as u16,
            instance: raw & 0x3f_ffff,
        }
    }

    /// Whether this is a device object.
    pub fn is_device(&self) -> bool {
        self.object_type == Self::DEVICE
    }
}

impl std::fmt::Display for ObjectId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match names::object_type(self.object_type) {
            Some(name) => write!(f, "{name},{}", self.instance),
            None => write!(f, "{},{}", self.object_type, self.instance),
        }
    }
}

/// Walks the tags of a buffer.
#[derive(Debug, Clone)]
pub struct TagReader<'a> {
    data: &'a [u8],
    at: usize,
    depth: usize,
    count: usize,
}

impl<'a> TagReader<'a> {
    /// A reader at the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self {
            data,
            at: 0,
            depth: 0,
            count: 0,
        }
    }

    /// Whether every byte was read.
    pub fn is_empty(&self) -> bool {
        self.at >= self.data.len()
    }

    /// Current nesting depth.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// The next tag without consuming it.
    pub fn peek(&self) -> Result<Option<Tag<'a>>, BacnetError> {
        Ok(self.decode()?.map(|(tag, _)| tag))
    }

    /// Reads the next tag (`None` at the end of the input).
    pub fn next_tag(&mut self) -> Result<Option<Tag<'a>>, BacnetError> {
        let Some((tag, end)) = self.decode()? else {
            return Ok(None);
        };
        self.advance(&tag, end);
        Ok(Some(tag))
    }

    /// Consumes a tag [`decode`](Self::decode) returned.
    #[inline]
    fn advance(&mut self, tag: &Tag<'a>, end: usize) {
        self.at = end;
        self.count += 1;
        match tag.content {
            Content::Opening => self.depth += 1,
            // `decode` refuses a closing tag at depth 0.
            Content::Closing => self.depth = self.depth.saturating_sub(1),
            _ => {}
        }
    }

    /// The next tag and where it ends, without consuming it: the callers that take a tag
    /// only when it is the expected one decode it once, not once to look and once to take.
    #[inline]
    fn decode(&self) -> Result<Option<(Tag<'a>, usize)>, BacnetError> {
        let start = self.at;
        let Some(&first) = self.data.get(start) else {
            return Ok(None);
        };
        if self.count >= MAX_TAGS {
            return Err(BacnetError::TooManyTags { offset: start });
        }
        let truncated = |field| BacnetError::Truncated {
            field,
            offset: start,
        };
        let mut at = start + 1;
        let mut number = first >> 4;
        let context = first & 0x08 != 0;
        let lvt = first & 0x07;
        if number == 15 {
            number = *self.data.get(at).ok_or(truncated("extended tag number"))?;
            at += 1;
        }
        let (class, content) = if context {
            match lvt {
                6 => {
                    if self.depth >= MAX_DEPTH {
                        return Err(BacnetError::TooDeep { offset: start });
                    }
                    (Class::Context, Content::Opening)
                }
                7 => {
                    if self.depth == 0 {
                        return Err(BacnetError::BadTag { offset: start });
                    }
                    (Class::Context, Content::Closing)
                }
                _ => {
                    let (bytes, end) = self.content(start, at, lvt)?;
                    at = end;
                    (Class::Context, Content::Data(bytes))
                }
            }
        } else if number == app::BOOLEAN {
            (Class::Application, Content::Boolean(lvt != 0))
        } else if lvt >= 6 {
            return Err(BacnetError::BadTag { offset: start });
        } else {
            let (bytes, end) = self.content(start, at, lvt)?;
            at = end;
            (Class::Application, Content::Data(bytes))
        };
        Ok(Some((
            Tag {
                number,
                class,
                content,
                offset: start,
            },
            at,
        )))
    }

    /// A primitive tag's content from its length/value/type bits, the length octets starting
    /// at `at`; returns the content and where it ends.
    #[inline]
    fn content(
        &self,
        start: usize,
        mut at: usize,
        lvt: u8,
    ) -> Result<(&'a [u8], usize), BacnetError> {
        let truncated = |field| BacnetError::Truncated {
            field,
            offset: start,
        };
        let len = match lvt {
            0..=4 => usize::from(lvt),
            _ => {
                let n = *self.data.get(at).ok_or(truncated("extended length"))?;
                at += 1;
                match n {
                    0..=253 => usize::from(n),
                    254 => {
                        let b = self.data.get(at..at + 2).ok_or(truncated("length"))?;
                        at += 2;
                        usize::from(u16::from_be_bytes([b[0], b[1]]))
                    }
                    255 => {
                        let b = self.data.get(at..at + 4).ok_or(truncated("length"))?;
                        at += 4;
                        u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize
                    }
                }
            }
        };
        let bytes = at
            .checked_add(len)
            .and_then(|end| self.data.get(at..end))
            .ok_or(truncated("tag content"))?;
        Ok((bytes, at + len))
    }

    /// Consumes the next tag if `wanted` accepts it.
    #[inline]
    fn take_if(
        &mut self,
        wanted: impl FnOnce(&Tag<'a>) -> bool,
    ) -> Result<Option<Tag<'a>>, BacnetError> {
        match self.decode()? {
            Some((tag, end)) if wanted(&tag) => {
                self.advance(&tag, end);
                Ok(Some(tag))
            }
            _ => Ok(None),
        }
    }

    /// Consumes the next tag if it is context tag `n` with data; returns its content.
    pub fn context(&mut self, n: u8) -> Result<Option<Tag<'a>>, BacnetError> {
        self.take_if(|tag| tag.is_context(n))
    }

    /// Consumes the next tag if it is application tag `n`.
    pub fn application(&mut self, n: u8) -> Result<Option<Tag<'a>>, BacnetError> {
        self.take_if(|tag| tag.is_app(n))
    }

    /// Consumes the next tag if it is opening tag `n`.
    pub fn opening(&mut self, n: u8) -> Result<bool, BacnetError> {
        let opening = |tag: &Tag<'a>| {
            tag.class == Class::Context && tag.number == n && tag.content == Content::Opening
        };
        Ok(self.take_if(opening)?.is_some())
    }

    /// Consumes the next tag if it is closing tag `n`.
    pub fn closing(&mut self, n: u8) -> Result<bool, BacnetError> {
        let closing = |tag: &Tag<'a>| {
            tag.class == Class::Context && tag.number == n && tag.content == Content::Closing
        };
        Ok(self.take_if(closing)?.is_some())
    }

    /// Reads a constructed value after its opening tag up to and including the closing tag at
    /// the same depth; returns the first primitive tag inside (the value shown in details and
    /// read for facts).
    pub fn value_until_closing(&mut self) -> Result<Option<Tag<'a>>, BacnetError> {
        let depth = self.depth;
        let mut first = None;
        while let Some(tag) = self.next_tag()? {
            match tag.content {
                Content::Closing if self.depth < depth => return Ok(first),
                Content::Data(_) | Content::Boolean(_) if first.is_none() => first = Some(tag),
                _ => {}
            }
        }
        Err(BacnetError::Truncated {
            field: "closing tag",
            offset: self.at,
        })
    }
}

/// Decodes a character string's content (character set byte first) into `out`: UTF-8 and
/// ISO 8859-1 and UCS-2/UCS-4 (big-endian) as text; other sets as raw bytes.
pub fn push_string<const N: usize>(out: &mut ValueBuf<N>, data: &[u8]) {
    let Some((&charset, text)) = data.split_first() else {
        return;
    };
    let push_char = |out: &mut ValueBuf<N>, c: char| {
        let mut utf8 = [0u8; 4];
        out.push_bytes(c.encode_utf8(&mut utf8).as_bytes());
    };
    match charset {
        // ISO 10646 UCS-2.
        4 => {
            for pair in text.chunks_exact(2) {
                let unit = u16::from_be_bytes([pair[0], pair[1]]);
                push_char(out, char::from_u32(u32::from(unit)).unwrap_or('\u{fffd}'));
            }
        }
        // ISO 10646 UCS-4.
        3 => {
            for quad in text.chunks_exact(4) {
                let unit = u32::from_be_bytes([quad[0], quad[1], quad[2], quad[3]]);
                push_char(out, char::from_u32(unit).unwrap_or('\u{fffd}'));
            }
        }
        // ISO 8859-1.
        5 => {
            for &b in text {
                push_char(out, char::from(b));
            }
        }
        // IBM/Microsoft DBCS: a two-byte code page precedes the text.
        1 => out.push_bytes(text.get(2..).unwrap_or_default()),
        _ => out.push_bytes(text),
    }
}

/// Longest character string shown in an event detail (in bytes).
pub const MAX_DETAIL_STRING: usize = 32;

/// Appends a short rendering of a primitive application value to an event detail.
pub fn push_value<const N: usize>(out: &mut ValueBuf<N>, tag: &Tag<'_>) {
    if tag.class == Class::Context {
        out.push_bytes(b"[");
        out.push_u64(u64::from(tag.number));
        out.push_bytes(b"]");
        return;
    }
    let data = tag.data();
    let _ = match tag.number {
        app::NULL => write!(out, "null"),
        app::BOOLEAN => write!(out, "{}", matches!(tag.content, Content::Boolean(true))),
        app::UNSIGNED | app::ENUMERATED => match tag.unsigned() {
            Some(v) => write!(out, "{v}"),
            None => write!(out, "?"),
        },
        app::SIGNED => match tag.signed() {
            Some(v) => write!(out, "{v}"),
            None => write!(out, "?"),
        },
        app::REAL => match data {
            &[a, b, c, d] => write!(out, "{}", f32::from_be_bytes([a, b, c, d])),
            _ => write!(out, "?"),
        },
        app::DOUBLE => match <[u8; 8]>::try_from(data) {
            Ok(bytes) => write!(out, "{}", f64::from_be_bytes(bytes)),
            Err(_) => write!(out, "?"),
        },
        app::CHARACTER_STRING => {
            let mut text = ValueBuf::<MAX_DETAIL_STRING>::new();
            push_string(&mut text, data);
            write!(out, "\"{}\"", text.as_str())
        }
        app::OBJECT_ID => match tag.object_id() {
            Some(id) => write!(out, "{id}"),
            None => write!(out, "?"),
        },
        app::OCTET_STRING => {
            out.push_bytes(b"0x");
            out.push_hex(data.get(..8).unwrap_or(data));
            Ok(())
        }
        app::BIT_STRING => {
            out.push_bytes(b"bits 0x");
            out.push_hex(data.get(..8).unwrap_or(data));
            Ok(())
        }
        app::DATE => write!(out, "date"),
        app::TIME => write!(out, "time"),
        n => write!(out, "tag{n}"),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_of_every_form() {
        // Context 0 object id, context 1 enum (1 byte), extended tag number 20 with 1 byte,
        // extended length 6, opening/closing 3, app boolean true, app real.
        let data = [
            0x0c, 0x02, 0x00, 0x00, 0x05, 0x19, 0x4d, 0xf9, 0x14, 0x07, 0x75, 0x06, 0x00, b'a',
            b'b', b'c', b'd', b'e', 0x3e, 0x11, 0x44, 0x42, 0x90, 0x00, 0x00, 0x3f,
        ];
        let mut r = TagReader::new(&data);
        let t = r.next_tag().unwrap().unwrap();
        assert!(t.is_context(0));
        assert_eq!(
            t.object_id(),
            Some(ObjectId {
                object_type: 8,
                instance: 5
            })
        );
        assert_eq!(r.next_tag().unwrap().unwrap().unsigned(), Some(77));
        let t = r.next_tag().unwrap().unwrap();
        assert_eq!(
            (t.number, t.class, t.unsigned()),
            (20, Class::Context, Some(7))
        );
        let t = r.next_tag().unwrap().unwrap();
        assert!(t.is_app(app::CHARACTER_STRING));
        let mut s = ValueBuf::<16>::new();
        push_string(&mut s, t.data());
        assert_eq!(s.as_str(), "abcde");
        assert!(r.opening(3).unwrap());
        assert_eq!(r.depth(), 1);
        let t = r.next_tag().unwrap().unwrap();
        assert_eq!(t.content, Content::Boolean(true));
        let t = r.next_tag().unwrap().unwrap();
        let mut v = ValueBuf::<16>::new();
        push_value(&mut v, &t);
        assert_eq!(v.as_str(), "72");
        assert!(r.closing(3).unwrap());
        assert!(r.is_empty());
    }

    #[test]
    fn bad_nesting_and_truncation_are_errors() {
        assert!(matches!(
            TagReader::new(&[0x1f]).next_tag(),
            Err(BacnetError::BadTag { .. })
        ));
        let deep = [0x0e; MAX_DEPTH + 1];
        let mut r = TagReader::new(&deep);
        let mut result = Ok(None);
        for _ in 0..=MAX_DEPTH {
            result = r.next_tag();
        }
        assert!(matches!(result, Err(BacnetError::TooDeep { .. })));
        for data in [&[0xf9][..], &[0x0d], &[0x0d, 0xfe, 0x00], &[0x0c, 1, 2]] {
            assert!(matches!(
                TagReader::new(data).next_tag(),
                Err(BacnetError::Truncated { .. })
            ));
        }
        // Huge declared length.
        assert!(TagReader::new(&[0x0d, 0xff, 0xff, 0xff, 0xff, 0xff])
            .next_tag()
            .is_err());
    }

    #[test]
    fn strings_in_other_character_sets() {
        let mut s = ValueBuf::<32>::new();
        push_string(&mut s, &[4, 0, b'K', 0, b'B', 0x00, 0xe9]);
        assert_eq!(s.as_str(), "KBé");
        s.clear();
        push_string(&mut s, &[5, b'a', 0xe9]);
        assert_eq!(s.as_str(), "aé");
        s.clear();
        push_string(&mut s, &[3, 0, 0, 0, b'x']);
        assert_eq!(s.as_str(), "x");
        let t = Tag {
            number: app::SIGNED,
            class: Class::Application,
            content: Content::Data(&[0xff, 0xfe]),
            offset: 0,
        };
        assert_eq!(t.signed(), Some(-2));
    }
}
