//! IEC 61850-8-1 GOOSE (Generic Object Oriented Substation Event, ether type 0x88b8, usually
//! VLAN-tagged with a priority): how protection relays and bay controllers publish trips,
//! interlocks and positions to each other, multicast, in a few milliseconds.
//!
//! A GOOSE frame is an 8-byte header — APPID, length (header included), reserved 1 (its top
//! bit is the *simulate* bit of edition 2), reserved 2 — then a BER-encoded `goosePdu`
//! (APPLICATION 1, tag 0x61) whose context-tagged fields are read: `[0]` gocbRef, `[1]`
//! timeAllowedtoLive, `[2]` datSet, `[3]` goID, `[4]` t (UtcTime), `[5]` stNum, `[6]` sqNum,
//! `[7]` simulation/test, `[8]` confRev, `[9]` ndsCom, `[10]` numDatSetEntries and `[11]`
//! allData, of which only the number of entries and their types are kept (at most
//! [`MAX_DATA_TYPES`] distinct types; values are the process, not identity). BER is read with
//! [`crate::ber`] at most [`MAX_DEPTH`] levels deep; a `goosePdu` longer than the frame is read
//! as far as it goes, and the first error is kept beside the fields read before it.
//!
//! Facts, about the publisher (the frame's source MAC): `Service` `goose`, `ProtocolAddress`
//! `goose:appid:0x3001`, and `Hostname`: the IED name, taken from gocbRef's logical-device
//! name (before `/`) with a trailing logical-device instance `LD<digits>` removed (the usual
//! naming: `AA1C1Q01A1LD0/LLN0$GO$gcb_A` → `AA1C1Q01A1`, `GEDeviceF650/LLN0$GO$gcb01` →
//! `GEDeviceF650`). The split is a convention, not a rule of the standard: an LD name that
//! does not end in `LD<digits>` is kept whole.
//!
//! Events (`frame_event`, from the publisher to its multicast group), category Other:
//!
//! | when | operation | detail |
//! |---|---|---|
//! | every message | `publish` | `gocbRef=… datSet=… goID=… confRev=… entries=… data=boolean*12,bit-string*12,…` |
//! | the first message of a new state (sqNum 0, which the standard sets on every stNum increment) | `state_change` | gocbRef |
//! | either, with the simulation/test flag or the simulate bit set | same | `… test` appended |
//! | undecodable or cut PDU | `malformed` | the decode error |
//!
//! A state change is recognised from sqNum 0 alone because frame dissectors keep no state: the
//! retransmissions of a state count up from 1, so the first frame of each state is the one
//! with sqNum 0 (a publisher's first message, stNum 1, counts too). stNum, sqNum and t change
//! with every message and never go into a detail.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::hash::{Hash, Hasher};

use ironward_model::{Attribute, DeviceKey, EventCategory, MacAddress, Source};

use crate::ber::{BerError, Element, Reader};
use crate::observations::{key_hasher, Observations};
use crate::value::ValueBuf;
use crate::{DissectorRegistry, FrameDissector, LinkFrame};

/// GOOSE's ether type.
pub const ETHERTYPE: u16 = 0x88b8;
/// Deepest BER nesting read (goosePdu, allData, a structure, ...).
pub const MAX_DEPTH: usize = 8;
/// Most distinct allData types kept in the summary.
pub const MAX_DATA_TYPES: usize = 8;
/// Tag of the goosePdu (APPLICATION 1, constructed).
const GOOSE_PDU: u8 = 0x61;

/// The 8-byte header GOOSE and Sampled Values share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Application id.
    pub appid: u16,
    /// Length of header and PDU, as declared.
    pub length: u16,
    /// Reserved 1 (bit 15: simulate, edition 2).
    pub reserved1: u16,
    /// Reserved 2.
    pub reserved2: u16,
}

impl Header {
    /// Length of the header.
    pub const LEN: usize = 8;

    /// Whether the simulate bit (reserved 1, bit 15) is set.
    pub fn simulated(&self) -> bool {
        self.reserved1 & 0x8000 != 0
    }

    /// Parses the header; returns it and the PDU bytes (at most `length - 8`, fewer when the
    /// frame is cut, which the PDU's own length then reveals).
    pub fn parse(payload: &[u8]) -> Result<(Self, &[u8]), GooseError> {
        let [a0, a1, l0, l1, r0, r1, s0, s1, rest @ ..] = payload else {
            return Err(GooseError::Truncated {
                field: "header",
                offset: 0,
            });
        };
        let header = Self {
            appid: u16::from_be_bytes([*a0, *a1]),
            length: u16::from_be_bytes([*l0, *l1]),
            reserved1: u16::from_be_bytes([*r0, *r1]),
            reserved2: u16::from_be_bytes([*s0, *s1]),
        };
        // A length below the header's own is meaningless: read what the frame holds.
        let pdu = match usize::from(header.length).checked_sub(Self::LEN) {
            Some(declared) if declared > 0 => rest.get(..declared).unwrap_or(rest),
            _ => rest,
        };
        Ok((header, pdu))
    }
}

/// What was wrong with a GOOSE or Sampled Values frame, and where (byte offset from the
/// APPID).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GooseError {
    /// The header or a field runs past the end of the frame.
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Offset of the field.
        offset: usize,
    },
    /// The PDU is not the expected APPLICATION element.
    NotPdu {
        /// The tag found.
        tag: u8,
    },
    /// A mandatory field is missing.
    Missing {
        /// The field.
        field: &'static str,
    },
    /// A BER decoding error.
    Ber(BerError),
}

impl fmt::Display for GooseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { field, offset } => write!(f, "{field} truncated at {offset}"),
            Self::NotPdu { tag } => write!(f, "PDU tag {tag:#04x} unexpected"),
            Self::Missing { field } => write!(f, "{field} missing"),
            Self::Ber(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for GooseError {}

impl From<BerError> for GooseError {
    fn from(e: BerError) -> Self {
        Self::Ber(e)
    }
}

/// Opens the APPLICATION element `tag` that starts `pdu` (found at `base` in the frame): a
/// reader over its contents as far as the frame goes, and whether the frame cut it.
pub(crate) fn open_pdu(pdu: &[u8], tag: u8, base: usize) -> Result<(Reader<'_>, bool), GooseError> {
    let truncated = GooseError::Truncated {
        field: "PDU header",
        offset: base,
    };
    let [found, first, rest @ ..] = pdu else {
        return Err(truncated);
    };
    if *found != tag {
        return Err(GooseError::NotPdu { tag: *found });
    }
    let (len, header) = match *first {
        short @ 0..=0x7f => (usize::from(short), 2),
        0x81 => (usize::from(*rest.first().ok_or(truncated)?), 3),
        0x82 => match rest {
            [a, b, ..] => (usize::from(u16::from_be_bytes([*a, *b])), 4),
            _ => return Err(truncated),
        },
        _ => {
            return Err(GooseError::Ber(BerError::LengthTooLong {
                field: "PDU",
                offset: base,
            }))
        }
    };
    let contents = pdu.get(header..).unwrap_or_default();
    let cut = contents.len() < len;
    let contents = contents.get(..len).unwrap_or(contents);
    Ok((Reader::extended(contents, base + header, MAX_DEPTH), cut))
}

/// Summary of allData: how many entries, and of which types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DataSummary {
    /// Number of top-level entries.
    pub entries: u32,
    /// Distinct types (by MMS Data tag number) and how many entries have each, in order of
    /// first appearance; at most [`MAX_DATA_TYPES`].
    types: [(u8, u32); MAX_DATA_TYPES],
    /// How many of `types` are used.
    distinct: usize,
}

impl DataSummary {
    fn add(&mut self, number: u8) {
        self.entries = self.entries.saturating_add(1);
        let used = self.types.get_mut(..self.distinct).unwrap_or_default();
        if let Some(slot) = used.iter_mut().find(|(n, _)| *n == number) {
            slot.1 = slot.1.saturating_add(1);
        } else if let Some(slot) = self.types.get_mut(self.distinct) {
            *slot = (number, 1);
            self.distinct += 1;
        }
    }

    /// The (type tag number, count) pairs.
    pub fn types(&self) -> &[(u8, u32)] {
        self.types.get(..self.distinct).unwrap_or_default()
    }
}

/// Name of an MMS `Data` choice (IEC 61850-8-1 / ISO 9506), by context tag number.
pub fn data_type_name(number: u8) -> &'static str {
    match number {
        1 => "array",
        2 => "structure",
        3 => "boolean",
        4 => "bit-string",
        5 => "integer",
        6 => "unsigned",
        7 => "floating-point",
        8 => "real",
        9 => "octet-string",
        10 => "visible-string",
        11 => "generalized-time",
        12 => "binary-time",
        13 => "bcd",
        14 => "boolean-array",
        15 => "obj-id",
        16 => "mms-string",
        17 => "utc-time",
        _ => "other",
    }
}

/// A decoded goosePdu. Fields absent from the PDU (or after a decode error) are `None`/empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Goose<'a> {
    /// The frame header.
    pub header: Header,
    /// GOOSE control block reference (`IED1LD0/LLN0$GO$gcb1`).
    pub gocb_ref: &'a [u8],
    /// Time allowed to live, in milliseconds.
    pub time_allowed_to_live: Option<u64>,
    /// Data set reference.
    pub dat_set: &'a [u8],
    /// GOOSE id.
    pub go_id: &'a [u8],
    /// Time of the last state change (UtcTime, 8 bytes: seconds, fraction, quality).
    pub t: Option<&'a [u8]>,
    /// State number (increments on every change of the data).
    pub st_num: Option<u64>,
    /// Sequence number (retransmissions of one state).
    pub sq_num: Option<u64>,
    /// Simulation (edition 2) / test (edition 1) flag.
    pub simulation: bool,
    /// Configuration revision of the data set.
    pub conf_rev: Option<u64>,
    /// Needs commissioning.
    pub nds_com: bool,
    /// Number of data set entries, as declared.
    pub num_dat_set_entries: Option<u64>,
    /// What allData held.
    pub all_data: DataSummary,
    /// The first decode error, when the PDU is cut or malformed after the fields read; the
    /// fields before it are valid.
    pub error: Option<GooseError>,
}

impl<'a> Goose<'a> {
    /// Parses a GOOSE frame's payload (from the APPID). Fails when not even the header and
    /// gocbRef can be read; a later error is kept in [`error`](Self::error).
    pub fn parse(payload: &'a [u8]) -> Result<Self, GooseError> {
        Self::parse_with(payload, &mut Recording::default())
    }

    /// [`parse`](Self::parse), recording in `layout` where the fields that change from message
    /// to message without changing the report are.
    fn parse_with(payload: &'a [u8], layout: &mut Recording) -> Result<Self, GooseError> {
        let (header, pdu) = Header::parse(payload)?;
        let (mut reader, cut) = open_pdu(pdu, GOOSE_PDU, Header::LEN)?;
        let mut goose = Self {
            header,
            gocb_ref: &[],
            time_allowed_to_live: None,
            dat_set: &[],
            go_id: &[],
            t: None,
            st_num: None,
            sq_num: None,
            simulation: false,
            conf_rev: None,
            nds_com: false,
            num_dat_set_entries: None,
            all_data: DataSummary::default(),
            error: None,
        };
        while !reader.is_empty() {
            let element = match reader.read("goosePdu field") {
                Ok(element) => element,
                Err(e) => {
                    goose.error = Some(e.into());
                    break;
                }
            };
            if let Err(e) = goose.field(&element, layout) {
                goose.error = Some(e);
                break;
            }
        }
        if goose.gocb_ref.is_empty() {
            return Err(goose
                .error
                .unwrap_or(GooseError::Missing { field: "gocbRef" }));
        }
        if goose.error.is_none() && cut {
            goose.error = Some(GooseError::Truncated {
                field: "goosePdu",
                offset: reader.offset(),
            });
        }
        Ok(goose)
    }

    /// Reads one goosePdu field. t, stNum and sqNum change with every message and go into
    /// `layout` (stNum and sqNum are checked again on a repeat: they can still be bad
    /// integers, and sqNum 0 is a state change), as do allData's values (only their types are
    /// kept).
    fn field(&mut self, element: &Element<'a>, layout: &mut Recording) -> Result<(), GooseError> {
        if element.class() != crate::ber::CONTEXT {
            return Ok(());
        }
        if (4..=6).contains(&element.number) {
            if let Some(range) = layout.skip(element) {
                let seen = match element.number {
                    4 => &mut layout.t,
                    5 => &mut layout.st_num,
                    _ => &mut layout.sq_num,
                };
                // A repeat re-reads one value: a field sent twice is not remembered.
                if seen.replace(range).is_some() {
                    layout.layout.overflow = true;
                }
            }
        }
        let unsigned = |field| {
            element
                .unsigned()
                .ok_or(GooseError::Ber(BerError::BadInteger {
                    field,
                    offset: element.offset,
                }))
        };
        let flag = || element.value.first().is_some_and(|b| *b != 0);
        match element.number {
            0 => self.gocb_ref = element.value,
            1 => self.time_allowed_to_live = Some(unsigned("timeAllowedtoLive")?),
            2 => self.dat_set = element.value,
            3 => self.go_id = element.value,
            4 => self.t = Some(element.value),
            5 => self.st_num = Some(unsigned("stNum")?),
            6 => self.sq_num = Some(unsigned("sqNum")?),
            7 => self.simulation = flag(),
            8 => self.conf_rev = Some(unsigned("confRev")?),
            9 => self.nds_com = flag(),
            10 => self.num_dat_set_entries = Some(unsigned("numDatSetEntries")?),
            11 => {
                let mut data = element.contents("allData")?;
                while !data.is_empty() {
                    let entry = data.read("allData entry")?;
                    layout.skip(&entry);
                    self.all_data
                        .add(u8::try_from(entry.number).unwrap_or(u8::MAX));
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Whether the simulation/test flag or the header's simulate bit is set.
    pub fn is_test(&self) -> bool {
        self.simulation || self.header.simulated()
    }
}

/// The IED name in an object reference: the logical-device name (before `/`) without a
/// trailing `LD<digits>` instance, when something is left; `None` for an empty name.
pub fn ied_name(reference: &[u8]) -> Option<&[u8]> {
    let ld = reference
        .split(|b| *b == b'/')
        .next()
        .filter(|ld| !ld.is_empty())?;
    let digits = ld.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    let without_digits = ld.get(..ld.len() - digits)?;
    match without_digits.strip_suffix(b"LD") {
        Some(ied) if !ied.is_empty() => Some(ied),
        _ => Some(ld),
    }
}

/// Most ranges a remembered GOOSE message may skip (t, stNum, sqNum and the allData values);
/// a message with more allData entries is always decoded.
const GOOSE_SKIPS: usize = 64;
/// Publishers remembered per thread (see [`Memo`]).
const MEMO_SLOTS: usize = 16;
/// Longest frame payload remembered (a whole Ethernet payload); longer ones are always decoded.
const MAX_TEMPLATE: usize = 1500;

/// Byte ranges of a frame's payload, in order, whose values change from message to message
/// without changing what is reported (counters, timestamps, samples): what a memo of
/// publishers ignores when it compares a frame with the publisher's last one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout<const N: usize> {
    skips: [(u16, u16); N],
    count: usize,
    /// A range could not be recorded: the frame is not to be remembered.
    overflow: bool,
}

impl<const N: usize> Default for Layout<N> {
    fn default() -> Self {
        Self {
            skips: [(0, 0); N],
            count: 0,
            overflow: false,
        }
    }
}

impl<const N: usize> Layout<N> {
    /// Adds the range of `len` bytes at `start` (after the ranges already added); returns it,
    /// or `None` (and the layout is not to be remembered) when it does not fit.
    pub(crate) fn skip(&mut self, start: usize, len: usize) -> Option<(u16, u16)> {
        let end = start.saturating_add(len);
        match (
            u16::try_from(start),
            u16::try_from(end),
            self.skips.get_mut(self.count),
        ) {
            (Ok(start), Ok(end), Some(slot)) => {
                *slot = (start, end);
                self.count += 1;
                Some((start, end))
            }
            _ => {
                self.overflow = true;
                None
            }
        }
    }

    /// Whether a frame with this layout may be remembered: every range fitted, and the
    /// payload is not longer than [`MAX_TEMPLATE`].
    pub(crate) fn rememberable(&self, payload: &[u8]) -> bool {
        !self.overflow && payload.len() <= MAX_TEMPLATE
    }

    /// Whether `payload` repeats `template`: the same length and the same bytes outside the
    /// ranges.
    pub(crate) fn repeats(&self, template: &[u8], payload: &[u8]) -> bool {
        if payload.len() != template.len() {
            return false;
        }
        let mut at = 0;
        for &(start, end) in self.skips.get(..self.count).unwrap_or_default() {
            let start = usize::from(start);
            if payload.get(at..start) != template.get(at..start) {
                return false;
            }
            at = usize::from(end);
        }
        payload.get(at..) == template.get(at..)
    }
}

/// The bytes of `payload` in `range`.
pub(crate) fn part(payload: &[u8], (start, end): (u16, u16)) -> &[u8] {
    payload
        .get(usize::from(start)..usize::from(end))
        .unwrap_or_default()
}

/// The range of `payload` that `inner` (a slice of it, or empty) covers.
pub(crate) fn range_of(payload: &[u8], inner: &[u8]) -> Option<(u16, u16)> {
    if inner.is_empty() {
        return Some((0, 0));
    }
    let start = (inner.as_ptr() as usize).checked_sub(payload.as_ptr() as usize)?;
    let end = start.checked_add(inner.len())?;
    if end > payload.len() {
        return None;
    }
    Some((u16::try_from(start).ok()?, u16::try_from(end).ok()?))
}

/// Where a message's changing fields are (see [`Goose::field`]).
#[derive(Debug, Default)]
struct Recording {
    layout: Layout<GOOSE_SKIPS>,
    t: Option<(u16, u16)>,
    st_num: Option<(u16, u16)>,
    sq_num: Option<(u16, u16)>,
}

impl Recording {
    /// Adds `element`'s value to the ranges; returns its range.
    fn skip(&mut self, element: &Element<'_>) -> Option<(u16, u16)> {
        self.layout.skip(element.value_offset, element.value.len())
    }
}

/// A message a publisher sent, decoded once, its strings kept as ranges of its payload: a later
/// message from the same publisher with the same bytes outside [`Layout`]'s ranges reports the
/// same facts and `publish` event.
#[derive(Debug)]
struct Remembered {
    src_mac: MacAddress,
    payload: Vec<u8>,
    layout: Layout<GOOSE_SKIPS>,
    header: Header,
    gocb_ref: (u16, u16),
    time_allowed_to_live: Option<u64>,
    dat_set: (u16, u16),
    go_id: (u16, u16),
    t: Option<(u16, u16)>,
    st_num: Option<(u16, u16)>,
    sq_num: Option<(u16, u16)>,
    simulation: bool,
    conf_rev: Option<u64>,
    nds_com: bool,
    num_dat_set_entries: Option<u64>,
    all_data: DataSummary,
    keys: Keys,
}

impl Remembered {
    fn new(
        frame: &LinkFrame<'_>,
        goose: &Goose<'_>,
        recording: &Recording,
        keys: Keys,
    ) -> Option<Self> {
        let payload = frame.payload;
        if goose.error.is_some() || !recording.layout.rememberable(payload) {
            return None;
        }
        Some(Self {
            src_mac: frame.src_mac,
            payload: payload.to_vec(),
            layout: recording.layout,
            header: goose.header,
            gocb_ref: range_of(payload, goose.gocb_ref)?,
            time_allowed_to_live: goose.time_allowed_to_live,
            dat_set: range_of(payload, goose.dat_set)?,
            go_id: range_of(payload, goose.go_id)?,
            t: recording.t,
            st_num: recording.st_num,
            sq_num: recording.sq_num,
            simulation: goose.simulation,
            conf_rev: goose.conf_rev,
            nds_com: goose.nds_com,
            num_dat_set_entries: goose.num_dat_set_entries,
            all_data: goose.all_data,
            keys,
        })
    }

    /// `frame`'s message, when it repeats this one and its stNum and sqNum decode (else the
    /// full decoding reports the error).
    fn decode<'a>(&self, frame: &LinkFrame<'a>) -> Option<Goose<'a>> {
        let payload = frame.payload;
        if self.src_mac != frame.src_mac || !self.layout.repeats(&self.payload, payload) {
            return None;
        }
        let number = |range: Option<(u16, u16)>| match range {
            Some(range) => crate::ber::decode_integer(part(payload, range))
                .and_then(|v| u64::try_from(v).ok())
                .map(Some),
            None => Some(None),
        };
        Some(Goose {
            header: self.header,
            gocb_ref: part(payload, self.gocb_ref),
            time_allowed_to_live: self.time_allowed_to_live,
            dat_set: part(payload, self.dat_set),
            go_id: part(payload, self.go_id),
            t: self.t.map(|range| part(payload, range)),
            st_num: number(self.st_num)?,
            sq_num: number(self.sq_num)?,
            simulation: self.simulation,
            conf_rev: self.conf_rev,
            nds_com: self.nds_com,
            num_dat_set_entries: self.num_dat_set_entries,
            all_data: self.all_data,
            error: None,
        })
    }
}

/// The publishers of one thread: frame dissectors are shared by the worker threads, and a
/// thread's own memo needs no lock.
#[derive(Debug, Default)]
struct Memo {
    slots: Vec<Remembered>,
    /// The slot that matched last (a publisher's messages come in runs).
    last: usize,
    /// The slot replaced next when the memo is full.
    next: usize,
}

impl Memo {
    fn find<'a>(&mut self, frame: &LinkFrame<'a>) -> Option<(Goose<'a>, Keys)> {
        if let Some(hit) = self.slots.get(self.last) {
            if let Some(goose) = hit.decode(frame) {
                return Some((goose, hit.keys));
            }
        }
        for (index, slot) in self.slots.iter().enumerate() {
            if let Some(goose) = slot.decode(frame) {
                self.last = index;
                return Some((goose, slot.keys));
            }
        }
        None
    }

    /// Remembers a message decoded without error, in its publisher's slot (or the oldest one
    /// when the memo is full).
    fn remember(&mut self, remembered: Remembered) {
        let (mac, appid) = (remembered.src_mac, remembered.header.appid);
        let same_publisher = self
            .slots
            .iter()
            .position(|s| s.src_mac == mac && s.header.appid == appid);
        let index = match same_publisher {
            Some(index) => index,
            None if self.slots.len() < MEMO_SLOTS => {
                self.slots.push(remembered);
                self.last = self.slots.len() - 1;
                return;
            }
            None => {
                let index = self.next % MEMO_SLOTS;
                self.next = index + 1;
                index
            }
        };
        if let Some(slot) = self.slots.get_mut(index) {
            *slot = remembered;
            self.last = index;
        }
    }
}

thread_local! {
    static MEMO: RefCell<Memo> = RefCell::new(Memo::default());
}

/// The two keys a message's reports are counted under, computed once per distinct message.
#[derive(Debug, Clone, Copy)]
struct Keys {
    /// [`publisher_key`] of the facts.
    facts: u64,
    /// Key of the `publish` event.
    publish: u64,
}

impl Keys {
    fn of(goose: &Goose<'_>, frame: &LinkFrame<'_>) -> Self {
        let test = if goose.is_test() { " test" } else { "" };
        // Publishers repeat the same header every few milliseconds: these fields identify a
        // repeat, and the detail is written only for the first frame that carries them.
        let mut hasher = key_hasher();
        (
            goose.gocb_ref,
            goose.dat_set,
            goose.go_id,
            goose.conf_rev,
            goose.all_data.entries,
            goose.all_data.types(),
            test,
        )
            .hash(&mut hasher);
        Self {
            facts: publisher_key("goose", frame.src_mac, goose.header.appid, goose.gocb_ref),
            publish: hasher.finish(),
        }
    }
}

/// Dissects GOOSE frames. What it reports depends on each frame alone; a small memo per
/// thread ([`MEMO_SLOTS`] publishers, each with the last message it sent) lets a message that
/// repeats its publisher's last one outside t, stNum, sqNum and the allData values skip the
/// BER decoding and the keys, since they would come out the same.
#[derive(Debug, Default)]
pub struct GooseDissector;

impl FrameDissector for GooseDissector {
    fn protocol(&self) -> &'static str {
        "goose"
    }

    fn on_frame(&self, frame: &LinkFrame<'_>, out: &mut Observations) -> bool {
        if frame.ethertype != ETHERTYPE || frame.snap_oui.is_some() {
            return false;
        }
        let memoised = MEMO.try_with(|memo| match memo.try_borrow_mut() {
            Ok(mut memo) => match memo.find(frame) {
                Some((goose, keys)) => observe(&goose, keys, frame, out),
                None => dissect(frame, out, Some(&mut memo)),
            },
            Err(_) => dissect(frame, out, None),
        });
        if memoised.is_err() {
            // The thread is shutting down and its memo is gone.
            dissect(frame, out, None);
        }
        true
    }
}

/// Decodes the frame and reports it; remembers it in `memo` when it decoded cleanly.
fn dissect(frame: &LinkFrame<'_>, out: &mut Observations, memo: Option<&mut Memo>) {
    let mut recording = Recording::default();
    match Goose::parse_with(frame.payload, &mut recording) {
        Ok(goose) => {
            let keys = Keys::of(&goose, frame);
            observe(&goose, keys, frame, out);
            if let (Some(memo), Some(remembered)) =
                (memo, Remembered::new(frame, &goose, &recording, keys))
            {
                memo.remember(remembered);
            }
        }
        Err(e) => malformed(frame, out, "goose", &e),
    }
}

/// Counts a decode error as a `malformed` event (detail: the error).
pub(crate) fn malformed(
    frame: &LinkFrame<'_>,
    out: &mut Observations,
    protocol: &'static str,
    error: &GooseError,
) {
    let mut detail = ValueBuf::<128>::new();
    let _ = write!(detail, "{error}");
    out.frame_event(
        frame,
        protocol,
        EventCategory::Other,
        "malformed",
        detail.as_str(),
    );
}

/// What identifies a publisher's facts for [`Observations::first_time`] (publishers repeat the
/// same header thousands of times a second: the facts are built once per publisher, application
/// id and reference), folded into one word that the memos keep.
pub(crate) fn publisher_key(
    protocol: &'static str,
    mac: MacAddress,
    appid: u16,
    reference: &[u8],
) -> u64 {
    let mut hasher = key_hasher();
    (protocol, mac, appid, reference).hash(&mut hasher);
    hasher.finish()
}

/// The publisher's facts: service, APPID and IED name (callers skip them when
/// [`publisher_key`] is not new).
pub(crate) fn new_publisher_facts(
    frame: &LinkFrame<'_>,
    out: &mut Observations,
    protocol: &'static str,
    source: Source,
    appid: u16,
    reference: &[u8],
) {
    let key = DeviceKey::Mac(frame.src_mac);
    out.fact(key, Attribute::Service, protocol, source, frame.now);
    let mut address = ValueBuf::<24>::new();
    let _ = write!(address, "{protocol}:appid:{appid:#06x}");
    out.fact(
        key,
        Attribute::ProtocolAddress,
        address.as_str(),
        source,
        frame.now,
    );
    if let Some(ied) = ied_name(reference) {
        out.fact_bytes(key, Attribute::Hostname, ied, source, frame.now);
    }
}

fn observe(goose: &Goose<'_>, keys: Keys, frame: &LinkFrame<'_>, out: &mut Observations) {
    if out.first_time(keys.facts) {
        new_publisher_facts(
            frame,
            out,
            "goose",
            Source::Goose,
            goose.header.appid,
            goose.gocb_ref,
        );
    }
    let test = if goose.is_test() { " test" } else { "" };
    out.frame_event_keyed(
        frame,
        "goose",
        EventCategory::Other,
        "publish",
        keys.publish,
        |detail| {
            detail.push_bytes(b"gocbRef=");
            detail.push_bytes(goose.gocb_ref);
            detail.push_bytes(b" datSet=");
            detail.push_bytes(goose.dat_set);
            detail.push_bytes(b" goID=");
            detail.push_bytes(goose.go_id);
            if let Some(rev) = goose.conf_rev {
                let _ = write!(detail, " confRev={rev}");
            }
            let _ = write!(detail, " entries={}", goose.all_data.entries);
            for (i, (number, count)) in goose.all_data.types().iter().enumerate() {
                let sep = if i == 0 { " data=" } else { "," };
                let _ = write!(detail, "{sep}{}*{count}", data_type_name(*number));
            }
            detail.push_bytes(test.as_bytes());
        },
    );
    if goose.sq_num == Some(0) {
        let mut detail = ValueBuf::<280>::new();
        detail.push_bytes(goose.gocb_ref);
        detail.push_bytes(test.as_bytes());
        out.frame_event(
            frame,
            "goose",
            EventCategory::Other,
            "state_change",
            detail.as_str(),
        );
    }
    if let Some(error) = &goose.error {
        malformed(frame, out, "goose", error);
    }
}

/// Adds this module's dissector to `registry`.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register_frame(Box::new(GooseDissector));
}

#[cfg(test)]
mod tests {
    use super::*;
    use ironward_model::{Fact, MacAddress, Timestamp};

    pub(crate) use crate::test_support::hex;

    /// goose_all_data_primitives_fallbacks.pcap frame 1, from the APPID.
    const PRIMITIVES: &str = "0001 00a0 0000 0000 6181 95
        801a 4745446576696365463635302f4c4c4e3024474f2467636230 31
        8103 009c40
        8218 4745446576696365463635302f4c4c4e3024474f4f534531
        830b 463635305f474f4f534531
        8408 6543000040000000
        8501 01 8601 14 8701 00 8801 01 8901 00 8a01 0c
        ab2f 830101 84020780 8501ff 860201f4 8705083f800000 8903deadbe 8a024f4b 880100
             8d0112 8e020780 8f022b01 90014d";

    type Events = Vec<(String, String, u64)>;

    fn run(payload: &[u8]) -> (Vec<Fact>, Events) {
        let frame = LinkFrame {
            src_mac: MacAddress([0x00, 0xa0, 0xf4, 0x08, 0x2f, 0x77]),
            dst_mac: MacAddress([0x01, 0xa0, 0xf4, 0x08, 0x2f, 0x77]),
            vlan: Some(0),
            ethertype: ETHERTYPE,
            snap_oui: None,
            payload,
            now: Timestamp(1),
            frame: 1,
        };
        let mut out = Observations::default();
        assert!(GooseDissector.on_frame(&frame, &mut out));
        let facts = out.drain_facts().collect();
        let events = out
            .drain_events()
            .map(|e| (e.operation.into_owned(), e.detail, e.count))
            .collect();
        (facts, events)
    }

    #[test]
    fn every_field_and_data_type() {
        let bytes = hex(PRIMITIVES);
        let goose = Goose::parse(&bytes).unwrap();
        assert_eq!(goose.header.appid, 1);
        assert_eq!(goose.gocb_ref, b"GEDeviceF650/LLN0$GO$gcb01");
        assert_eq!(goose.time_allowed_to_live, Some(40_000));
        assert_eq!(goose.dat_set, b"GEDeviceF650/LLN0$GOOSE1");
        assert_eq!(goose.go_id, b"F650_GOOSE1");
        assert_eq!(goose.t.map(<[u8]>::len), Some(8));
        assert_eq!((goose.st_num, goose.sq_num), (Some(1), Some(20)));
        assert_eq!(
            (goose.conf_rev, goose.num_dat_set_entries),
            (Some(1), Some(12))
        );
        assert!(!goose.simulation && !goose.nds_com && goose.error.is_none());
        assert_eq!(goose.all_data.entries, 12);
        // 12 entries of 12 types: the summary keeps the first MAX_DATA_TYPES.
        assert_eq!(goose.all_data.types().len(), MAX_DATA_TYPES);
        let (facts, events) = run(&bytes);
        let values: Vec<_> = facts
            .iter()
            .map(|f| (f.attribute, f.value.to_string()))
            .collect();
        assert_eq!(
            values,
            [
                (Attribute::Service, "goose".into()),
                (Attribute::ProtocolAddress, "goose:appid:0x0001".into()),
                (Attribute::Hostname, "GEDeviceF650".into()),
            ]
        );
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].0, "publish");
        assert_eq!(
            events[0].1,
            "gocbRef=GEDeviceF650/LLN0$GO$gcb01 datSet=GEDeviceF650/LLN0$GOOSE1 \
             goID=F650_GOOSE1 confRev=1 entries=12 data=boolean*1,bit-string*1,integer*1,\
             unsigned*1,floating-point*1,octet-string*1,visible-string*1,real*1"
        );
    }

    #[test]
    fn state_change_and_test_flag() {
        let mut bytes = hex(PRIMITIVES);
        // sqNum 20 -> 0, simulation true.
        let sq = bytes.windows(3).position(|w| w == [0x86, 1, 0x14]).unwrap();
        bytes[sq + 2] = 0;
        bytes[sq + 5] = 1;
        let (_, events) = run(&bytes);
        assert_eq!(events.len(), 2);
        assert!(events[0].1.ends_with(" test"));
        assert_eq!(
            (events[1].0.as_str(), events[1].1.as_str()),
            ("state_change", "GEDeviceF650/LLN0$GO$gcb01 test")
        );
    }

    #[test]
    fn truncated_frames_are_counted() {
        // goose_truncated.pcap: the PDU says 134 bytes, the frame stops inside allData.
        let bytes = hex(PRIMITIVES);
        let cut = &bytes[..125];
        let goose = Goose::parse(cut).unwrap();
        assert_eq!(goose.num_dat_set_entries, Some(12));
        assert!(matches!(goose.error, Some(GooseError::Ber(_))));
        let (_, events) = run(cut);
        assert_eq!(events[1].0, "malformed");
        for len in 0..bytes.len() {
            let _ = run(&bytes[..len]);
        }
        let (facts, events) = run(&bytes[..12]);
        assert!(facts.is_empty());
        assert_eq!(events[0].0, "malformed");
        assert_eq!(
            Goose::parse(&hex("0001 0010 0000 0000 6003 800101")),
            Err(GooseError::NotPdu { tag: 0x60 })
        );
        assert_eq!(
            Goose::parse(&hex("0001 0010 0000 0000 6103 810101")),
            Err(GooseError::Missing { field: "gocbRef" })
        );
    }

    #[test]
    fn ied_names() {
        assert_eq!(
            ied_name(b"AA1C1Q01A1LD0/LLN0$GO$gcb_A"),
            Some(&b"AA1C1Q01A1"[..])
        );
        assert_eq!(ied_name(b"IED1LD/LLN0"), Some(&b"IED1"[..]));
        assert_eq!(ied_name(b"LD0/LLN0"), Some(&b"LD0"[..]));
        assert_eq!(ied_name(b"GEDeviceF650/LLN0"), Some(&b"GEDeviceF650"[..]));
        assert_eq!(ied_name(b"/LLN0"), None);
        assert_eq!(ied_name(b""), None);
    }
}
