//! DNS messages (RFC 1035) and the unicast DNS dissector (UDP and TCP port 53).
//!
//! The message parser is shared with mDNS, LLMNR and NBNS, whose messages have DNS's layout: a
//! 12-byte header, questions, then answer, authority and additional records. It is a zero-copy
//! view over the message: [`Message::entries`] walks the sections one entry at a time, and a
//! record's data is only interpreted when asked for ([`Record::data`]), so a dissector that wants
//! the answers of responses pays for nothing else.
//!
//! Names are validated where they are read (label types, total length at most
//! [`MAX_NAME_LEN`] bytes, at most [`MAX_LABELS`] labels, compression pointers that point to an
//! earlier position than the run of labels they end, so that following them always terminates,
//! and at most [`MAX_POINTERS`] of them); a [`Name`] then stays a reference into the message and
//! is compared ([`Name::eq_ignore_ascii_case`]) or written out ([`Name::to_buf`], a fixed stack
//! buffer) without allocating. Nothing here recurses.
//!
//! The unicast DNS dissector reads responses only, and of them only the answer records: an A or
//! AAAA answer tells which name a server gives an address, a PTR answer for an `in-addr.arpa` or
//! `ip6.arpa` name the same for the reversed address. Both are hearsay ([`Source::Dns`]): what a
//! name server says about another device. Over TCP, messages carry a 2-byte length prefix; a
//! segment may hold several messages and a message may be split across segments.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ironward_model::{Attribute, DeviceKey, Source, HEARSAY_CONFIDENCE};

use crate::{
    Direction, Dissector, DissectorFactory, DissectorRegistry, FlowMeta, Observations, StreamChunk,
    Transport,
};

/// UDP and TCP port of DNS servers.
pub const PORT: u16 = 53;
/// Length of the message header.
pub const HEADER_LEN: usize = 12;
/// Longest name in its uncompressed wire form (length bytes and the final zero included).
pub const MAX_NAME_LEN: usize = 255;
/// Most labels in one name (a name of one-byte labels fills [`MAX_NAME_LEN`] with 127).
pub const MAX_LABELS: usize = 127;
/// Most compression pointers followed while reading one name.
pub const MAX_POINTERS: usize = 64;
/// Largest DNS-over-TCP message buffered when it is split across segments; larger ones (zone
/// transfers) are skipped, so a flow never holds more than this per direction.
pub const MAX_TCP_MESSAGE: usize = 16 * 1024;

/// Record types this module interprets (and a few others callers compare with).
pub mod rtype {
    /// IPv4 address.
    pub const A: u16 = 1;
    /// Authoritative name server.
    pub const NS: u16 = 2;
    /// Canonical name (alias).
    pub const CNAME: u16 = 5;
    /// Domain name pointer (reverse mapping, DNS-SD service enumeration).
    pub const PTR: u16 = 12;
    /// Host information (CPU and OS strings).
    pub const HINFO: u16 = 13;
    /// Text strings (DNS-SD `key=value` pairs).
    pub const TXT: u16 = 16;
    /// IPv6 address.
    pub const AAAA: u16 = 28;
    /// Service location (priority, weight, port, target host).
    pub const SRV: u16 = 33;
    /// EDNS(0) pseudo-record.
    pub const OPT: u16 = 41;
    /// Next secure record (mDNS uses it for negative answers).
    pub const NSEC: u16 = 47;
    /// Query for any type.
    pub const ANY: u16 = 255;
}

/// The Internet class (the top bit is mDNS's cache-flush or unicast-response flag).
pub const CLASS_IN: u16 = 1;

/// A part of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    /// The fixed header.
    Header,
    /// The questions.
    Question,
    /// The answer records.
    Answer,
    /// The authority records.
    Authority,
    /// The additional records.
    Additional,
}

impl Section {
    /// Lower-case name for messages.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Header => "header",
            Self::Question => "question",
            Self::Answer => "answer",
            Self::Authority => "authority",
            Self::Additional => "additional",
        }
    }
}

/// What was wrong with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The message ends inside `field`.
    Truncated {
        /// What was being read.
        field: &'static str,
    },
    /// A label starts with the reserved type bits `01` or `10` (this byte).
    BadLabelType(u8),
    /// A compression pointer to `target` does not point before the labels it ends (a loop, or
    /// a forward reference no encoder produces).
    BadPointer {
        /// Where the pointer points.
        target: usize,
    },
    /// More than [`MAX_POINTERS`] compression pointers in one name.
    TooManyPointers,
    /// The name is longer than [`MAX_NAME_LEN`] bytes.
    NameTooLong,
    /// The name has more than [`MAX_LABELS`] labels.
    TooManyLabels,
    /// The record data does not have the layout of its type.
    BadRdata {
        /// The record type.
        rtype: u16,
    },
}

/// Why a message (or one of its entries) could not be read: what, in which section and entry
/// (0-based within the section), at which byte offset of the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DnsError {
    /// The section being read.
    pub section: Section,
    /// The entry within the section (0 for the header).
    pub index: u16,
    /// Offset in the message where the problem is.
    pub offset: usize,
    /// What the problem is.
    pub kind: ErrorKind,
}

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (section, index, offset) = (self.section.as_str(), self.index, self.offset);
        write!(f, "{section} {index} at offset {offset}: ")?;
        match self.kind {
            ErrorKind::Truncated { field } => write!(f, "truncated {field}"),
            ErrorKind::BadLabelType(byte) => write!(f, "reserved label type 0x{byte:02x}"),
            ErrorKind::BadPointer { target } => {
                write!(
                    f,
                    "compression pointer to {target} does not point backwards"
                )
            }
            ErrorKind::TooManyPointers => {
                write!(f, "more than {MAX_POINTERS} compression pointers in a name")
            }
            ErrorKind::NameTooLong => write!(f, "name longer than {MAX_NAME_LEN} bytes"),
            ErrorKind::TooManyLabels => write!(f, "name with more than {MAX_LABELS} labels"),
            ErrorKind::BadRdata { rtype } => write!(f, "malformed data of record type {rtype}"),
        }
    }
}

impl std::error::Error for DnsError {}

/// The fixed message header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Transaction id.
    pub id: u16,
    /// Flags: QR, opcode, AA, TC, RD, RA, Z, AD, CD, rcode.
    pub flags: u16,
    /// Number of questions.
    pub questions: u16,
    /// Number of answer records.
    pub answers: u16,
    /// Number of authority records.
    pub authorities: u16,
    /// Number of additional records.
    pub additionals: u16,
}

impl Header {
    /// Reads the header at the start of `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<Self, DnsError> {
        let Some(h) = bytes.get(..HEADER_LEN) else {
            return Err(DnsError {
                section: Section::Header,
                index: 0,
                offset: 0,
                kind: ErrorKind::Truncated { field: "header" },
            });
        };
        let word = |i: usize| u16::from_be_bytes([h[i], h[i + 1]]);
        Ok(Self {
            id: word(0),
            flags: word(2),
            questions: word(4),
            answers: word(6),
            authorities: word(8),
            additionals: word(10),
        })
    }

    /// Whether the message is a response (QR set).
    pub const fn is_response(&self) -> bool {
        self.flags & 0x8000 != 0
    }

    /// The operation code (0 for a standard query; NBNS uses its own codes).
    pub const fn opcode(&self) -> u8 {
        ((self.flags >> 11) & 0x0f) as u8
    }

    /// The response code (0: no error).
    pub const fn rcode(&self) -> u8 {
        (self.flags & 0x0f) as u8
    }

    /// Whether the message was truncated (TC set).
    pub const fn is_truncated(&self) -> bool {
        self.flags & 0x0200 != 0
    }
}

/// A validated domain name: a reference to where it starts in its message. Reading it again
/// follows the same (checked) labels and pointers.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Name<'a> {
    msg: &'a [u8],
    offset: usize,
}

impl<'a> Name<'a> {
    /// Offset of the name's first byte in the message.
    pub const fn offset(&self) -> usize {
        self.offset
    }

    /// The labels, in order, without the final empty (root) label.
    pub fn labels(&self) -> Labels<'a> {
        Labels {
            msg: self.msg,
            pos: self.offset,
            run_start: self.offset,
            pointers: 0,
            labels: 0,
            done: false,
        }
    }

    /// Whether this is the root name (no labels).
    pub fn is_root(&self) -> bool {
        self.labels().next().is_none()
    }

    /// The name written out with dots between labels (bytes as received), in a stack buffer.
    pub fn to_buf(&self) -> NameBuf {
        let mut buf = NameBuf::new();
        for (i, label) in self.labels().enumerate() {
            if i > 0 {
                buf.push(b".");
            }
            buf.push(label);
        }
        buf
    }

    /// Whether the name equals `dotted` (labels separated by dots, no final dot; `""` for the
    /// root), ignoring ASCII case, without allocating.
    pub fn eq_ignore_ascii_case(&self, dotted: &str) -> bool {
        let mut expected = dotted.as_bytes().split(|&b| b == b'.');
        if dotted.is_empty() {
            return self.is_root();
        }
        let mut labels = self.labels();
        loop {
            match (labels.next(), expected.next()) {
                (None, None) => return true,
                (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => {}
                _ => return false,
            }
        }
    }
}

impl fmt::Debug for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_buf(), f)
    }
}

/// The labels of a [`Name`]. Bounded like the validation that made the name (it stops, rather
/// than fails, if the bytes are not what they were then).
#[derive(Debug, Clone)]
pub struct Labels<'a> {
    msg: &'a [u8],
    pos: usize,
    run_start: usize,
    pointers: usize,
    labels: usize,
    done: bool,
}

impl<'a> Iterator for Labels<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        while !self.done {
            let Some(&len) = self.msg.get(self.pos) else {
                break;
            };
            match len & 0xc0 {
                0x00 if len > 0 && self.labels < MAX_LABELS => {
                    let start = self.pos + 1;
                    let label = self.msg.get(start..start + usize::from(len))?;
                    self.pos = start + usize::from(len);
                    self.labels += 1;
                    return Some(label);
                }
                0xc0 => {
                    let low = *self.msg.get(self.pos + 1)?;
                    let target = usize::from(len & 0x3f) << 8 | usize::from(low);
                    self.pointers += 1;
                    if target >= self.run_start || self.pointers > MAX_POINTERS {
                        break;
                    }
                    self.pos = target;
                    self.run_start = target;
                }
                _ => break,
            }
        }
        self.done = true;
        None
    }
}

/// A name written out with dots, in a fixed buffer on the stack (a valid name always fits).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct NameBuf {
    bytes: [u8; MAX_NAME_LEN],
    len: usize,
}

impl NameBuf {
    /// An empty buffer.
    pub const fn new() -> Self {
        Self {
            bytes: [0; MAX_NAME_LEN],
            len: 0,
        }
    }

    /// The bytes written so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Number of bytes written.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was written.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends `bytes`, cut to the room left; returns whether all of them fitted.
    pub fn push(&mut self, bytes: &[u8]) -> bool {
        let room = MAX_NAME_LEN - self.len;
        let n = bytes.len().min(room);
        self.bytes[self.len..self.len + n].copy_from_slice(&bytes[..n]);
        self.len += n;
        n == bytes.len()
    }
}

impl Default for NameBuf {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for NameBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&String::from_utf8_lossy(self.as_bytes()), f)
    }
}

/// Checks the name at `start`; its labels in place must end by `limit` (a record's data end, or
/// the message end). Returns the offset just after the name in place (after its final zero or
/// its first pointer), or the problem and where it is.
fn walk_name(msg: &[u8], start: usize, limit: usize) -> Result<usize, (ErrorKind, usize)> {
    let limit = limit.min(msg.len());
    let mut pos = start;
    let mut run_start = start;
    let mut end_in_place = None;
    let mut wire_len = 1usize;
    let mut labels = 0usize;
    let mut pointers = 0usize;
    loop {
        let bound = if end_in_place.is_none() {
            limit
        } else {
            msg.len()
        };
        let len = match msg.get(pos) {
            Some(&len) if pos < bound => len,
            _ => return Err((ErrorKind::Truncated { field: "name" }, pos)),
        };
        match len & 0xc0 {
            0x00 if len == 0 => return Ok(end_in_place.unwrap_or(pos + 1)),
            0x00 => {
                let len = usize::from(len);
                labels += 1;
                wire_len += len + 1;
                if labels > MAX_LABELS {
                    return Err((ErrorKind::TooManyLabels, pos));
                }
                if wire_len > MAX_NAME_LEN {
                    return Err((ErrorKind::NameTooLong, pos));
                }
                if pos + 1 + len > bound {
                    return Err((ErrorKind::Truncated { field: "label" }, pos));
                }
                pos += 1 + len;
            }
            0xc0 => {
                let low = match msg.get(pos + 1) {
                    Some(&low) if pos + 1 < bound => low,
                    _ => return Err((ErrorKind::Truncated { field: "pointer" }, pos)),
                };
                let target = usize::from(len & 0x3f) << 8 | usize::from(low);
                if end_in_place.is_none() {
                    end_in_place = Some(pos + 2);
                }
                pointers += 1;
                if pointers > MAX_POINTERS {
                    return Err((ErrorKind::TooManyPointers, pos));
                }
                if target >= run_start {
                    return Err((ErrorKind::BadPointer { target }, pos));
                }
                pos = target;
                run_start = target;
            }
            _ => return Err((ErrorKind::BadLabelType(len), pos)),
        }
    }
}

/// A question.
#[derive(Debug, Clone, Copy)]
pub struct Question<'a> {
    /// Index within the question section.
    pub index: u16,
    /// Offset of the question in the message.
    pub offset: usize,
    /// The name asked about.
    pub name: Name<'a>,
    /// The type asked for.
    pub qtype: u16,
    /// The class (for mDNS, the top bit asks for a unicast response).
    pub qclass: u16,
}

/// A resource record, its data not yet interpreted.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    msg: &'a [u8],
    /// The section the record is in.
    pub section: Section,
    /// Index within its section.
    pub index: u16,
    /// Offset of the record in the message.
    pub offset: usize,
    /// The owner name.
    pub name: Name<'a>,
    /// The record type.
    pub rtype: u16,
    /// The class (for mDNS, the top bit is the cache-flush flag).
    pub class: u16,
    /// Time to live, in seconds.
    pub ttl: u32,
    /// The record data, raw.
    pub rdata: &'a [u8],
    /// Offset of the record data in the message.
    pub rdata_offset: usize,
}

/// The record data of the types this module interprets.
#[derive(Debug, Clone, Copy)]
pub enum RData<'a> {
    /// An IPv4 address.
    A(Ipv4Addr),
    /// An IPv6 address.
    Aaaa(Ipv6Addr),
    /// A pointer to another name.
    Ptr(Name<'a>),
    /// The canonical name of an alias.
    Cname(Name<'a>),
    /// A service's location.
    Srv(Srv<'a>),
    /// Text strings.
    Txt(Txt<'a>),
    /// Host information.
    Hinfo {
        /// The CPU (or hardware) string.
        cpu: &'a [u8],
        /// The operating-system string.
        os: &'a [u8],
    },
    /// Any other type, raw.
    Other(&'a [u8]),
}

/// Service location data (RFC 2782).
#[derive(Debug, Clone, Copy)]
pub struct Srv<'a> {
    /// Priority (lower first).
    pub priority: u16,
    /// Weight among equal priorities.
    pub weight: u16,
    /// The service's port.
    pub port: u16,
    /// The host offering the service.
    pub target: Name<'a>,
}

/// TXT record data: a sequence of length-prefixed strings, checked to fit exactly.
#[derive(Debug, Clone, Copy)]
pub struct Txt<'a> {
    bytes: &'a [u8],
}

impl<'a> Txt<'a> {
    /// The strings, in order (empty strings included).
    pub fn strings(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let mut rest = self.bytes;
        std::iter::from_fn(move || {
            let (&len, tail) = rest.split_first()?;
            let (string, next) = tail.split_at_checked(usize::from(len))?;
            rest = next;
            Some(string)
        })
    }

    /// The DNS-SD entries (RFC 6763 §6): each non-empty string split at its first `=` into a
    /// key and a value (`None` for a key without `=`, a boolean attribute).
    pub fn entries(&self) -> impl Iterator<Item = (&'a [u8], Option<&'a [u8]>)> + 'a {
        self.strings()
            .filter(|s| !s.is_empty())
            .map(|s| match s.iter().position(|&b| b == b'=') {
                Some(eq) => (&s[..eq], Some(&s[eq + 1..])),
                None => (s, None),
            })
    }
}

impl<'a> Record<'a> {
    fn error(&self, offset: usize, kind: ErrorKind) -> DnsError {
        DnsError {
            section: self.section,
            index: self.index,
            offset,
            kind,
        }
    }

    fn bad_rdata(&self) -> DnsError {
        self.error(self.rdata_offset, ErrorKind::BadRdata { rtype: self.rtype })
    }

    /// A name inside the record data, starting `at` bytes into it.
    fn rdata_name(&self, at: usize) -> Result<Name<'a>, DnsError> {
        let start = self.rdata_offset + at;
        let end = self.rdata_offset + self.rdata.len();
        if start >= end {
            return Err(self.bad_rdata());
        }
        walk_name(self.msg, start, end).map_err(|(kind, offset)| self.error(offset, kind))?;
        Ok(Name {
            msg: self.msg,
            offset: start,
        })
    }

    /// The record data interpreted by its type, as DNS defines the types (NBNS gives types 32
    /// and 33 other meanings: its callers read [`rdata`](Self::rdata) themselves).
    pub fn data(&self) -> Result<RData<'a>, DnsError> {
        let rdata = self.rdata;
        Ok(match self.rtype {
            rtype::A => {
                let octets: [u8; 4] = rdata.try_into().map_err(|_| self.bad_rdata())?;
                RData::A(Ipv4Addr::from(octets))
            }
            rtype::AAAA => {
                let octets: [u8; 16] = rdata.try_into().map_err(|_| self.bad_rdata())?;
                RData::Aaaa(Ipv6Addr::from(octets))
            }
            rtype::PTR => RData::Ptr(self.rdata_name(0)?),
            rtype::CNAME => RData::Cname(self.rdata_name(0)?),
            rtype::SRV => {
                let [p0, p1, w0, w1, o0, o1, ..] = *rdata else {
                    return Err(self.bad_rdata());
                };
                RData::Srv(Srv {
                    priority: u16::from_be_bytes([p0, p1]),
                    weight: u16::from_be_bytes([w0, w1]),
                    port: u16::from_be_bytes([o0, o1]),
                    target: self.rdata_name(6)?,
                })
            }
            rtype::TXT => {
                let mut rest = rdata;
                while let Some((&len, tail)) = rest.split_first() {
                    rest = tail
                        .get(usize::from(len)..)
                        .ok_or_else(|| self.bad_rdata())?;
                }
                RData::Txt(Txt { bytes: rdata })
            }
            rtype::HINFO => {
                let (&cpu_len, tail) = rdata.split_first().ok_or_else(|| self.bad_rdata())?;
                let (cpu, tail) = tail
                    .split_at_checked(usize::from(cpu_len))
                    .ok_or_else(|| self.bad_rdata())?;
                let (&os_len, tail) = tail.split_first().ok_or_else(|| self.bad_rdata())?;
                let os = tail
                    .get(..usize::from(os_len))
                    .ok_or_else(|| self.bad_rdata())?;
                RData::Hinfo { cpu, os }
            }
            _ => RData::Other(rdata),
        })
    }

    /// Whether the record is of the Internet class (ignoring mDNS's cache-flush bit).
    pub const fn is_internet(&self) -> bool {
        self.class & 0x7fff == CLASS_IN
    }
}

/// One entry of a message's sections.
#[derive(Debug, Clone, Copy)]
pub enum Entry<'a> {
    /// A question.
    Question(Question<'a>),
    /// An answer, authority or additional record.
    Record(Record<'a>),
}

/// A DNS message: its header, and its sections read on demand.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    bytes: &'a [u8],
    header: Header,
}

impl<'a> Message<'a> {
    /// Reads the header of the message in `bytes` (the sections are read by
    /// [`entries`](Self::entries)).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, DnsError> {
        Ok(Self {
            bytes,
            header: Header::parse(bytes)?,
        })
    }

    /// The header.
    pub const fn header(&self) -> &Header {
        &self.header
    }

    /// The whole message.
    pub const fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The questions and records in message order. The first problem is yielded as an error and
    /// ends the walk (a later entry's position depends on every earlier one).
    pub fn entries(&self) -> Entries<'a> {
        let h = &self.header;
        Entries {
            msg: self.bytes,
            pos: HEADER_LEN,
            counts: [h.questions, h.answers, h.authorities, h.additionals],
            section: 0,
            index: 0,
            done: false,
        }
    }

    /// The records (answers, authority, additional), skipping the questions.
    pub fn records(&self) -> impl Iterator<Item = Result<Record<'a>, DnsError>> + 'a {
        self.entries().filter_map(|entry| match entry {
            Ok(Entry::Question(_)) => None,
            Ok(Entry::Record(record)) => Some(Ok(record)),
            Err(e) => Some(Err(e)),
        })
    }
}

/// The walk over a message's entries (see [`Message::entries`]). Every entry read consumes at
/// least five bytes, so the walk is bounded by the message length whatever the counts say.
#[derive(Debug, Clone)]
pub struct Entries<'a> {
    msg: &'a [u8],
    pos: usize,
    counts: [u16; 4],
    section: usize,
    index: u16,
    done: bool,
}

const SECTIONS: [Section; 4] = [
    Section::Question,
    Section::Answer,
    Section::Authority,
    Section::Additional,
];

impl<'a> Entries<'a> {
    fn read(&self, section: Section) -> Result<(Entry<'a>, usize), DnsError> {
        let (msg, pos, index) = (self.msg, self.pos, self.index);
        let error = |offset, kind| DnsError {
            section,
            index,
            offset,
            kind,
        };
        let name_end = walk_name(msg, pos, msg.len()).map_err(|(kind, at)| error(at, kind))?;
        let name = Name { msg, offset: pos };
        let word = |i: usize| msg.get(i..i + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
        if section == Section::Question {
            let (Some(qtype), Some(qclass)) = (word(name_end), word(name_end + 2)) else {
                return Err(error(name_end, ErrorKind::Truncated { field: "question" }));
            };
            let question = Question {
                index,
                offset: pos,
                name,
                qtype,
                qclass,
            };
            return Ok((Entry::Question(question), name_end + 4));
        }
        let Some(fixed) = msg.get(name_end..name_end + 10) else {
            return Err(error(
                name_end,
                ErrorKind::Truncated {
                    field: "record header",
                },
            ));
        };
        let rdlength = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
        let rdata_offset = name_end + 10;
        let Some(rdata) = msg.get(rdata_offset..rdata_offset + rdlength) else {
            return Err(error(rdata_offset, ErrorKind::Truncated { field: "rdata" }));
        };
        let record = Record {
            msg,
            section,
            index,
            offset: pos,
            name,
            rtype: u16::from_be_bytes([fixed[0], fixed[1]]),
            class: u16::from_be_bytes([fixed[2], fixed[3]]),
            ttl: u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]),
            rdata,
            rdata_offset,
        };
        Ok((Entry::Record(record), rdata_offset + rdlength))
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = Result<Entry<'a>, DnsError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        while self.index >= *self.counts.get(self.section)? {
            self.section += 1;
            self.index = 0;
        }
        let section = *SECTIONS.get(self.section)?;
        match self.read(section) {
            Ok((entry, next)) => {
                self.pos = next;
                self.index += 1;
                Some(Ok(entry))
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// The address a reverse-mapping name stands for: `d.c.b.a.in-addr.arpa` (four decimal labels)
/// or the 32 hexadecimal nibbles of `…ip6.arpa`, least significant first. `None` for any other
/// name, including partial (network) reverse names.
pub fn reverse_address(name: &Name<'_>) -> Option<IpAddr> {
    let mut parts: [&[u8]; 34] = [&[]; 34];
    let mut n = 0;
    for label in name.labels() {
        *parts.get_mut(n)? = label;
        n += 1;
    }
    let parts = &parts[..n];
    match parts {
        [d, c, b, a, in_addr, arpa]
            if in_addr.eq_ignore_ascii_case(b"in-addr") && arpa.eq_ignore_ascii_case(b"arpa") =>
        {
            let octet = |label: &[u8]| -> Option<u8> {
                if label.is_empty() || label.len() > 3 || !label.iter().all(u8::is_ascii_digit) {
                    return None;
                }
                std::str::from_utf8(label).ok()?.parse().ok()
            };
            Some(IpAddr::V4(Ipv4Addr::new(
                octet(a)?,
                octet(b)?,
                octet(c)?,
                octet(d)?,
            )))
        }
        [nibbles @ .., ip6, arpa]
            if nibbles.len() == 32
                && ip6.eq_ignore_ascii_case(b"ip6")
                && arpa.eq_ignore_ascii_case(b"arpa") =>
        {
            let mut octets = [0u8; 16];
            for (i, label) in nibbles.iter().enumerate() {
                let [digit] = label else {
                    return None;
                };
                let value = (*digit as char).to_digit(16)? as u8;
                // Nibble i counts from the least significant end.
                let position = 31 - i;
                let byte = &mut octets[position / 2];
                *byte |= if position % 2 == 0 { value << 4 } else { value };
            }
            Some(IpAddr::V6(Ipv6Addr::from(octets)))
        }
        _ => None,
    }
}

/// The address a record gives a name, with that name: an A or AAAA record's address and owner,
/// or a PTR record's reversed address and target. `None` for other records, records outside
/// the Internet class and malformed data.
pub fn address_name<'a>(record: &Record<'a>) -> Option<(IpAddr, Name<'a>)> {
    if !record.is_internet() {
        return None;
    }
    match record.rtype {
        rtype::A | rtype::AAAA | rtype::PTR => {}
        _ => return None,
    }
    match record.data().ok()? {
        RData::A(ip) => Some((IpAddr::V4(ip), record.name)),
        RData::Aaaa(ip) => Some((IpAddr::V6(ip), record.name)),
        RData::Ptr(target) => Some((reverse_address(&record.name)?, target)),
        _ => None,
    }
}

/// Whether `ip` can be one host's address (not unspecified, loopback, multicast or the limited
/// broadcast): names given to other addresses say nothing about a device.
pub fn is_host_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !v4.is_unspecified() && !v4.is_loopback() && !v4.is_multicast() && !v4.is_broadcast()
        }
        IpAddr::V6(v6) => !v6.is_unspecified() && !v6.is_loopback() && !v6.is_multicast(),
    }
}

/// Reports the names a unicast DNS response's answers give addresses, as hearsay.
fn report_answers(message: &[u8], flow: &FlowMeta, out: &mut Observations) {
    let Ok(message) = Message::parse(message) else {
        return;
    };
    let header = message.header();
    if !header.is_response() || header.opcode() != 0 || header.answers == 0 {
        return;
    }
    let confidence = Source::Dns.default_confidence().min(HEARSAY_CONFIDENCE);
    for entry in message.entries() {
        let record = match entry {
            Ok(Entry::Question(_)) => continue,
            Ok(Entry::Record(record)) if record.section == Section::Answer => record,
            _ => break,
        };
        let Some((ip, name)) = address_name(&record) else {
            continue;
        };
        if !is_host_address(ip) {
            continue;
        }
        out.fact_bytes_with(
            DeviceKey::Ip(ip),
            Attribute::Hostname,
            name.to_buf().as_bytes(),
            Source::Dns,
            confidence,
            flow.now,
        );
    }
}

/// DNS over UDP: each datagram is one message.
#[derive(Debug, Default)]
struct DnsUdp;

impl Dissector for DnsUdp {
    fn protocol(&self) -> &'static str {
        "dns"
    }

    fn on_datagram(
        &mut self,
        flow: &FlowMeta,
        _direction: Direction,
        payload: &[u8],
        out: &mut Observations,
    ) {
        report_answers(payload, flow, out);
    }
}

/// Splits one direction of a DNS-over-TCP stream into messages (2-byte length prefix, RFC 1035
/// §4.2.2). Whole messages are handed over straight from the segment; only a message split
/// across segments is copied, and only up to [`MAX_TCP_MESSAGE`] bytes (larger ones are
/// skipped). After a gap the framing is lost and the direction is ignored.
#[derive(Debug, Default)]
struct Framer {
    /// A message begun in an earlier segment (length prefix included).
    buf: Vec<u8>,
    /// Bytes of an oversized message still to skip.
    skip: usize,
    /// Framing lost (a gap in the stream).
    lost: bool,
}

impl Framer {
    fn push(&mut self, mut data: &[u8], mut on_message: impl FnMut(&[u8])) {
        while !self.lost && !data.is_empty() {
            if self.skip > 0 {
                let n = self.skip.min(data.len());
                self.skip -= n;
                data = &data[n..];
                continue;
            }
            if self.buf.is_empty() {
                if let [hi, lo, rest @ ..] = data {
                    let len = usize::from(u16::from_be_bytes([*hi, *lo]));
                    if let Some((message, next)) = rest.split_at_checked(len) {
                        on_message(message);
                        data = next;
                        continue;
                    }
                    if len > MAX_TCP_MESSAGE {
                        self.skip = len - rest.len();
                        return;
                    }
                }
                // A message (or a length prefix) that goes on in the next segment.
                self.buf.extend_from_slice(data);
                return;
            }
            if self.buf.len() < 2 {
                let take = (2 - self.buf.len()).min(data.len());
                self.buf.extend_from_slice(&data[..take]);
                data = &data[take..];
            }
            let [hi, lo, ..] = self.buf[..] else {
                return;
            };
            let len = usize::from(u16::from_be_bytes([hi, lo]));
            if len > MAX_TCP_MESSAGE {
                self.skip = len;
                self.buf.clear();
                continue;
            }
            let take = (2 + len - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.buf.len() == 2 + len {
                on_message(&self.buf[2..]);
                self.buf.clear();
            }
        }
    }
}

/// DNS over TCP: messages with a length prefix, framed per direction.
#[derive(Debug, Default)]
struct DnsTcp {
    framers: [Framer; 2],
}

impl Dissector for DnsTcp {
    fn protocol(&self) -> &'static str {
        "dns"
    }

    fn on_stream(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        chunk: StreamChunk<'_>,
        out: &mut Observations,
    ) {
        let Some(framer) = self.framers.get_mut(direction.index()) else {
            return;
        };
        match chunk {
            StreamChunk::Data(bytes) => {
                framer.push(bytes, |message| report_answers(message, flow, out));
            }
            StreamChunk::Gap(_) => {
                framer.lost = true;
                framer.buf = Vec::new();
            }
            StreamChunk::End => {}
        }
    }
}

/// Takes UDP and TCP flows to or from port 53.
#[derive(Debug)]
struct DnsFactory;

impl DissectorFactory for DnsFactory {
    fn protocol(&self) -> &'static str {
        "dns"
    }

    fn select(
        &self,
        flow: &FlowMeta,
        _direction: Direction,
        _first_payload: &[u8],
    ) -> Option<Box<dyn Dissector>> {
        if flow.client.port() != PORT && flow.server.port() != PORT {
            return None;
        }
        match flow.transport {
            Transport::Udp => Some(Box::new(DnsUdp)),
            Transport::Tcp => Some(Box::new(DnsTcp::default())),
            Transport::Other(_) => None,
        }
    }
}

/// Adds this module's dissectors to `registry`.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register(Box::new(DnsFactory));
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use ironward_model::{Fact, Timestamp};

    pub(crate) use crate::test_support::hex;

    /// A message with the given header flags and counts, followed by `body`.
    pub(crate) fn message(flags: u16, counts: [u16; 4], body: &[u8]) -> Vec<u8> {
        let mut m = vec![0x12, 0x34];
        m.extend_from_slice(&flags.to_be_bytes());
        for count in counts {
            m.extend_from_slice(&count.to_be_bytes());
        }
        m.extend_from_slice(body);
        m
    }

    /// A name in uncompressed wire form.
    pub(crate) fn name(dotted: &str) -> Vec<u8> {
        let mut out = Vec::new();
        for label in dotted.split('.').filter(|l| !l.is_empty()) {
            out.push(label.len() as u8);
            out.extend_from_slice(label.as_bytes());
        }
        out.push(0);
        out
    }

    /// A record: owner (wire form), type, class, TTL 120, data.
    pub(crate) fn record(owner: &[u8], rtype: u16, class: u16, rdata: &[u8]) -> Vec<u8> {
        let mut out = owner.to_vec();
        out.extend_from_slice(&rtype.to_be_bytes());
        out.extend_from_slice(&class.to_be_bytes());
        out.extend_from_slice(&120u32.to_be_bytes());
        out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        out.extend_from_slice(rdata);
        out
    }

    pub(crate) fn flow(transport: Transport, client: &str, server: &str) -> FlowMeta {
        FlowMeta {
            id: 1,
            transport,
            client: client.parse().unwrap(),
            server: server.parse().unwrap(),
            now: Timestamp(1),
            frame: 1,
        }
    }

    pub(crate) fn facts(out: &mut Observations) -> Vec<Fact> {
        out.drain_facts().collect()
    }

    /// Frame 2 of tcpdump_dns_udp.pcap: the answer to `A www.tcpdump.org`, with compressed names
    /// in every section.
    const UDP_RESPONSE: &str = "593485000001000200020005037777770774637064756d70036f72670000010001\
        c00c000100010000003c0004c08b2e42c00c000100010000003c0004c6c75868c0100002000100015180001203\
        736e7308636f6f7065726978036e657400c01000020001000151800012036e69630973616e64656c6d616e0263\
        6100c06b000100010000012c0004d157f912c06b001c00010000012c00102607f0b0000f000000000000babef0\
        0dc04d0001000100001c200004616b850fc04d001c000100001c20001026003c0300000000f03c91fffe96e8ef\
        0000291000000000000000";

    /// Frame 6 of tcpdump_dns_tcp.pcap: the same answer over TCP, with its length prefix.
    const TCP_RESPONSE: &str = "00e0431985000001000200020005037777770774637064756d70036f7267000001\
        0001c00c000100010000003c0004c08b2e42c00c000100010000003c0004c6c75868c010000200010001518000\
        12036e69630973616e64656c6d616e02636100c0100002000100015180001203736e7308636f6f706572697803\
        6e657400c04d000100010000012c0004d157f912c04d001c00010000012c00102607f0b0000f000000000000ba\
        bef00dc06b0001000100001c200004616b850fc06b001c000100001c20001026003c0300000000f03c91fffe96\
        e8ef0000291000000000000000";

    #[test]
    fn real_response_sections_and_names() {
        let bytes = hex(UDP_RESPONSE);
        let message = Message::parse(&bytes).unwrap();
        let h = message.header();
        assert_eq!((h.id, h.flags), (0x5934, 0x8500));
        assert!(h.is_response() && h.opcode() == 0 && h.rcode() == 0 && !h.is_truncated());
        assert_eq!(
            (h.questions, h.answers, h.authorities, h.additionals),
            (1, 2, 2, 5)
        );
        let entries: Vec<_> = message.entries().map(Result::unwrap).collect();
        assert_eq!(entries.len(), 10);
        let Entry::Question(q) = entries[0] else {
            panic!("question first")
        };
        assert!(q.name.eq_ignore_ascii_case("WWW.tcpdump.org"));
        assert!(!q.name.eq_ignore_ascii_case("www.tcpdump"));
        assert!(!q.name.eq_ignore_ascii_case("www.tcpdump.org.uk"));
        assert_eq!((q.qtype, q.qclass), (rtype::A, CLASS_IN));
        let records: Vec<_> = message.records().map(Result::unwrap).collect();
        let described: Vec<String> = records
            .iter()
            .map(|r| {
                let owner = String::from_utf8(r.name.to_buf().as_bytes().to_vec()).unwrap();
                let data = match r.data().unwrap() {
                    RData::A(ip) => ip.to_string(),
                    RData::Aaaa(ip) => ip.to_string(),
                    RData::Other(raw) => format!("{} raw bytes", raw.len()),
                    other => format!("{other:?}"),
                };
                format!("{:?} {owner} {} {data}", r.section, r.rtype)
            })
            .collect();
        assert_eq!(
            described,
            [
                "Answer www.tcpdump.org 1 192.139.46.66",
                "Answer www.tcpdump.org 1 198.199.88.104",
                "Authority tcpdump.org 2 18 raw bytes",
                "Authority tcpdump.org 2 18 raw bytes",
                "Additional nic.sandelman.ca 1 209.87.249.18",
                "Additional nic.sandelman.ca 28 2607:f0b0:f::babe:f00d",
                "Additional sns.cooperix.net 1 97.107.133.15",
                "Additional sns.cooperix.net 28 2600:3c03::f03c:91ff:fe96:e8ef",
                "Additional  41 0 raw bytes",
            ]
        );
        assert!(records[8].name.is_root());
    }

    #[test]
    fn udp_response_answers_are_hearsay_hostnames() {
        let bytes = hex(UDP_RESPONSE);
        let meta = flow(Transport::Udp, "192.168.1.11:41234", "209.87.249.18:53");
        let mut dissector = DnsFactory
            .select(&meta, Direction::ServerToClient, &bytes)
            .unwrap();
        let mut out = Observations::default();
        dissector.on_datagram(&meta, Direction::ServerToClient, &bytes, &mut out);
        let facts = facts(&mut out);
        let got: Vec<_> = facts
            .iter()
            .map(|f| {
                (
                    f.subject.to_string(),
                    f.value.as_ref(),
                    f.confidence,
                    f.source,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "ip:192.139.46.66".into(),
                    "www.tcpdump.org",
                    60,
                    Source::Dns
                ),
                (
                    "ip:198.199.88.104".into(),
                    "www.tcpdump.org",
                    60,
                    Source::Dns
                ),
            ]
        );
        assert!(facts.iter().all(|f| f.attribute == Attribute::Hostname));
        // The query itself says nothing.
        let query = hex("593401000001000000000000037777770774637064756d70036f72670000010001");
        dissector.on_datagram(&meta, Direction::ClientToServer, &query, &mut out);
        assert!(out.is_empty());
    }

    fn tcp_facts(segments: &[&[u8]]) -> Vec<String> {
        let meta = flow(Transport::Tcp, "192.168.1.11:41234", "209.87.249.18:53");
        let mut dissector = DnsFactory
            .select(&meta, Direction::ClientToServer, &[])
            .unwrap();
        let mut out = Observations::default();
        for segment in segments {
            dissector.on_stream(
                &meta,
                Direction::ServerToClient,
                StreamChunk::Data(segment),
                &mut out,
            );
        }
        dissector.on_stream(&meta, Direction::ServerToClient, StreamChunk::End, &mut out);
        facts(&mut out)
            .iter()
            .map(|f| format!("{} {}", f.subject, f.value))
            .collect()
    }

    #[test]
    fn tcp_messages_whole_split_and_several_per_segment() {
        let stream = hex(TCP_RESPONSE);
        let expected = [
            "ip:192.139.46.66 www.tcpdump.org",
            "ip:198.199.88.104 www.tcpdump.org",
        ];
        assert_eq!(tcp_facts(&[&stream]), expected);
        for cut in 0..=stream.len() {
            let (a, b) = stream.split_at(cut);
            assert_eq!(tcp_facts(&[a, b]), expected, "cut at {cut}");
        }
        let bytewise: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(tcp_facts(&bytewise), expected);
        // A query and the response in one segment, then a response split in three.
        let mut both = hex(
            "0038431901200001000000000001037777770774637064756d70036f7267000001000100\
            0029100000000000000c000a00088f06be7d691442f0",
        );
        both.extend_from_slice(&stream);
        assert_eq!(
            tcp_facts(&[&both, &stream[..5], &stream[5..9], &stream[9..]]),
            expected
        );
    }

    #[test]
    fn tcp_oversized_messages_are_skipped_and_gaps_stop_framing() {
        let stream = hex(TCP_RESPONSE);
        let big = MAX_TCP_MESSAGE + 100;
        let mut data = (big as u16).to_be_bytes().to_vec();
        data.extend(std::iter::repeat_n(0xffu8, big));
        data.extend_from_slice(&stream);
        let (a, b) = data.split_at(1000);
        let (b, c) = b.split_at(10_000);
        assert_eq!(tcp_facts(&[a, b, c]).len(), 2);
        // A gap loses the framing: nothing more is read in that direction.
        let meta = flow(Transport::Tcp, "192.168.1.11:41234", "209.87.249.18:53");
        let mut dissector = DnsTcp::default();
        let mut out = Observations::default();
        let dir = Direction::ServerToClient;
        dissector.on_stream(&meta, dir, StreamChunk::Data(&stream[..10]), &mut out);
        dissector.on_stream(&meta, dir, StreamChunk::Gap(20), &mut out);
        dissector.on_stream(&meta, dir, StreamChunk::Data(&stream), &mut out);
        assert!(out.is_empty());
        assert!(dissector.framers[1].buf.capacity() == 0);
    }

    #[test]
    fn factory_takes_port_53_only() {
        let udp = flow(Transport::Udp, "10.0.0.1:40000", "10.0.0.2:53");
        assert!(DnsFactory
            .select(&udp, Direction::ClientToServer, &[])
            .is_some());
        let reply_first = flow(Transport::Udp, "10.0.0.2:53", "10.0.0.1:40000");
        assert!(DnsFactory
            .select(&reply_first, Direction::ClientToServer, &[])
            .is_some());
        let other = flow(Transport::Udp, "10.0.0.1:40000", "10.0.0.2:5353");
        assert!(DnsFactory
            .select(&other, Direction::ClientToServer, &[])
            .is_none());
        let icmp = flow(Transport::Other(1), "10.0.0.1:53", "10.0.0.2:53");
        assert!(DnsFactory
            .select(&icmp, Direction::ClientToServer, &[])
            .is_none());
    }

    #[test]
    fn ptr_answers_name_the_reversed_address() {
        let mut body = name("66.46.139.192.in-addr.arpa");
        body.extend_from_slice(&[0, 12, 0, 1]);
        body.extend(record(
            &[0xc0, 0x0c],
            rtype::PTR,
            1,
            &name("www.tcpdump.org"),
        ));
        let v6 = "d.0.0.f.e.b.a.b.0.0.0.0.0.0.0.0.0.0.0.0.f.0.0.0.0.b.0.f.7.0.6.2.ip6.arpa";
        body.extend(record(&name(v6), rtype::PTR, 1, &name("v6.tcpdump.org")));
        // Partial reverse names (networks) and addresses that are no host's are ignored.
        body.extend(record(
            &name("139.192.in-addr.arpa"),
            rtype::PTR,
            1,
            &name("x.org"),
        ));
        body.extend(record(
            &name("1.0.0.127.in-addr.arpa"),
            rtype::PTR,
            1,
            &name("lo"),
        ));
        body.extend(record(&name("zero.org"), rtype::A, 1, &[0, 0, 0, 0]));
        let bytes = message(0x8180, [1, 5, 0, 0], &body);
        let mut out = Observations::default();
        let meta = flow(Transport::Udp, "10.0.0.1:40000", "10.0.0.2:53");
        report_answers(&bytes, &meta, &mut out);
        let got: Vec<_> = facts(&mut out)
            .iter()
            .map(|f| format!("{} {}", f.subject, f.value))
            .collect();
        assert_eq!(
            got,
            [
                "ip:192.139.46.66 www.tcpdump.org",
                "ip:2607:f0b0:f::babe:f00d v6.tcpdump.org"
            ]
        );
    }

    fn first_record_error(bytes: &[u8]) -> DnsError {
        let message = Message::parse(bytes).unwrap();
        message.entries().find_map(Result::err).expect("an error")
    }

    #[test]
    fn pointer_loops_and_forward_pointers_are_refused() {
        // An answer whose owner points to itself, then one pointing forward.
        let itself = message(0x8400, [0, 1, 0, 0], &[0xc0, 0x0c, 0, 1, 0, 1]);
        let e = first_record_error(&itself);
        assert_eq!(
            (e.section, e.index, e.offset, e.kind),
            (Section::Answer, 0, 12, ErrorKind::BadPointer { target: 12 })
        );
        assert!(e.to_string().contains("answer 0 at offset 12"));
        // Two names pointing at each other: the second jump goes forward.
        let mut body = vec![1, b'a', 0xc0, 0x10, 0, 1, 0, 1];
        body.extend_from_slice(&[1, b'b', 0xc0, 0x0c]);
        let pair = message(0x0000, [2, 0, 0, 0], &body);
        let e = first_record_error(&pair);
        assert_eq!(e.section, Section::Question);
        assert!(matches!(e.kind, ErrorKind::BadPointer { .. }));
        // A chain of pointers to pointers, each one further back: a root name at 12, then 100
        // pointers, the first to the root, each later one to the one before it.
        let mut m = message(0x8400, [0, 0, 0, 0], &[0]);
        for i in 0..100u16 {
            let target = if i == 0 { 12 } else { 13 + 2 * (i - 1) };
            m.extend_from_slice(&(0xc000 | target).to_be_bytes());
        }
        let (kind, _) = walk_name(&m, m.len() - 2, m.len()).unwrap_err();
        assert_eq!(kind, ErrorKind::TooManyPointers);
        let ok = walk_name(&m, 13 + 2 * 40, m.len());
        assert_eq!(ok, Ok(13 + 2 * 40 + 2));
    }

    #[test]
    fn long_names_bad_labels_and_truncation_are_typed() {
        let mut long = Vec::new();
        for _ in 0..5 {
            long.push(63);
            long.extend(std::iter::repeat_n(b'x', 63));
        }
        long.push(0);
        long.extend_from_slice(&[0, 1, 0, 1]);
        let e = first_record_error(&message(0, [1, 0, 0, 0], &long));
        assert_eq!((e.kind, e.offset), (ErrorKind::NameTooLong, 12 + 64 * 3));
        // 127 one-byte labels fit exactly; 128 do not.
        let many = |n: usize| {
            let mut body: Vec<u8> = std::iter::repeat_n([1, b'a'], n).flatten().collect();
            body.extend_from_slice(&[0, 0, 1, 0, 1]);
            message(0, [1, 0, 0, 0], &body)
        };
        let fits = many(127);
        let message127 = Message::parse(&fits).unwrap();
        let Some(Ok(Entry::Question(q))) = message127.entries().next() else {
            panic!("question")
        };
        assert_eq!(q.name.labels().count(), 127);
        assert_eq!(q.name.to_buf().len(), 253);
        assert_eq!(
            first_record_error(&many(128)).kind,
            ErrorKind::TooManyLabels
        );
        let e = first_record_error(&message(0, [1, 0, 0, 0], &[0x41, 0]));
        assert_eq!(e.kind, ErrorKind::BadLabelType(0x41));
        let e = first_record_error(&message(0, [1, 0, 0, 0], &[3, b'a', b'b']));
        assert_eq!(e.kind, ErrorKind::Truncated { field: "label" });
        let e = first_record_error(&message(0, [1, 0, 0, 0], &[0, 0, 1]));
        assert_eq!(e.kind, ErrorKind::Truncated { field: "question" });
        let e = first_record_error(&message(0, [0, 0, 0, 1], &[0, 0, 1, 0, 1, 0]));
        assert_eq!(
            (e.section, e.kind),
            (
                Section::Additional,
                ErrorKind::Truncated {
                    field: "record header"
                }
            )
        );
        let e = first_record_error(&message(
            0,
            [0, 2, 0, 0],
            &record(&[0], 1, 1, &[1, 2, 3, 4]),
        ));
        assert_eq!(
            (e.section, e.index, e.kind),
            (Section::Answer, 1, ErrorKind::Truncated { field: "name" })
        );
        let mut short = record(&[0], 1, 1, &[1, 2, 3, 4]);
        short.pop();
        let e = first_record_error(&message(0, [0, 1, 0, 0], &short));
        assert_eq!(
            (e.kind, e.offset),
            (ErrorKind::Truncated { field: "rdata" }, 23)
        );
        let e = Header::parse(&[0; 11]).unwrap_err();
        assert_eq!(
            (e.section, e.kind),
            (Section::Header, ErrorKind::Truncated { field: "header" })
        );
        // Counts larger than the message end the walk with an error, never a long loop.
        let huge = message(0x8000, [u16::MAX; 4], &[]);
        assert_eq!(Message::parse(&huge).unwrap().entries().count(), 1);
    }

    #[test]
    fn typed_record_data() {
        let mut body = record(&name("host.local"), rtype::SRV, 0x8001, &{
            let mut d = vec![0, 0, 0, 0, 0x02, 0x77];
            d.extend(name("printer.local"));
            d
        });
        let txt = b"\x0ety=HP LaserJet\x08usb_MFG=\x04flag\x00";
        body.extend(record(&[0xc0, 0x0c], rtype::TXT, 1, txt));
        body.extend(record(
            &[0xc0, 0x0c],
            rtype::HINFO,
            1,
            b"\x06X86_64\x05LINUX",
        ));
        body.extend(record(&[0xc0, 0x0c], rtype::CNAME, 1, &[0xc0, 0x0c]));
        body.extend(record(&[0xc0, 0x0c], rtype::A, 1, &[1, 2, 3]));
        body.extend(record(&[0xc0, 0x0c], rtype::TXT, 1, b"\x05ab"));
        body.extend(record(&[0xc0, 0x0c], rtype::PTR, 1, &[5, b'a']));
        let bytes = message(0x8400, [0, 7, 0, 0], &body);
        let message = Message::parse(&bytes).unwrap();
        let records: Vec<_> = message.records().map(Result::unwrap).collect();
        let RData::Srv(srv) = records[0].data().unwrap() else {
            panic!("srv")
        };
        assert_eq!(
            (srv.port, srv.target.to_buf().as_bytes()),
            (631, &b"printer.local"[..])
        );
        assert!(records[0].is_internet());
        let RData::Txt(t) = records[1].data().unwrap() else {
            panic!("txt")
        };
        let entries: Vec<_> = t.entries().collect();
        assert_eq!(
            entries,
            [
                (&b"ty"[..], Some(&b"HP LaserJet"[..])),
                (&b"usb_MFG"[..], Some(&b""[..])),
                (&b"flag"[..], None),
            ]
        );
        assert_eq!(t.strings().count(), 4);
        let RData::Hinfo { cpu, os } = records[2].data().unwrap() else {
            panic!("hinfo")
        };
        assert_eq!((cpu, os), (&b"X86_64"[..], &b"LINUX"[..]));
        let RData::Cname(target) = records[3].data().unwrap() else {
            panic!("cname")
        };
        assert!(target.eq_ignore_ascii_case("HOST.local"));
        for (i, field) in [(4, rtype::A), (5, rtype::TXT)] {
            let e = records[i].data().unwrap_err();
            assert_eq!(e.kind, ErrorKind::BadRdata { rtype: field });
            assert_eq!((e.section, e.index), (Section::Answer, i as u16));
        }
        // A name in record data may not run past the data.
        let e = records[6].data().unwrap_err();
        assert_eq!(e.kind, ErrorKind::Truncated { field: "label" });
    }

    #[test]
    fn reverse_names() {
        let v4 = name("7.2.0.10.in-addr.arpa");
        let v6 = name("4.c.d.4.1.e.e.f.f.f.6.d.c.3.8.8.5.3.2.8.c.3.0.c.e.9.2.4.2.5.d.f.IP6.ARPA");
        let parse = |wire: &[u8]| {
            let mut bytes = message(0, [1, 0, 0, 0], wire);
            bytes.extend_from_slice(&[0, 12, 0, 1]);
            let message = Message::parse(&bytes).unwrap();
            let Some(Ok(Entry::Question(q))) = message.entries().next() else {
                panic!("question")
            };
            reverse_address(&q.name)
        };
        assert_eq!(parse(&v4), Some("10.0.2.7".parse().unwrap()));
        assert_eq!(
            parse(&v6),
            Some("fd52:429e:c03c:8235:883c:d6ff:fee1:4dc4".parse().unwrap())
        );
        assert_eq!(parse(&name("256.2.0.10.in-addr.arpa")), None);
        assert_eq!(parse(&name("a.2.0.10.in-addr.arpa")), None);
        assert_eq!(parse(&name("1.7.2.0.10.in-addr.arpa")), None);
        assert_eq!(parse(&name("7.2.0.10.in-addr.arpa.com")), None);
        assert_eq!(
            parse(&name(
                "g.c.d.4.1.e.e.f.f.f.6.d.c.3.8.8.5.3.2.8.c.3.0.c.e.9.2.4.2.5.d.f.ip6.arpa"
            )),
            None
        );
        assert_eq!(parse(&name("ip6.arpa")), None);
        assert!(is_host_address("10.0.2.7".parse().unwrap()));
        for bad in [
            "0.0.0.0",
            "127.0.0.1",
            "224.0.0.251",
            "255.255.255.255",
            "::",
            "::1",
            "ff02::fb",
        ] {
            assert!(!is_host_address(bad.parse().unwrap()), "{bad}");
        }
    }
}
