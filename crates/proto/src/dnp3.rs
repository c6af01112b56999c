//! DNP3 (IEEE 1815) over TCP and UDP port 20000: data link, transport and application layers.
//!
//! * Link layer: frames start `0x05 0x64`, then length, control (DIR, PRM, FCB/FCV or DFC,
//!   function), destination and source addresses and a header CRC; user data follows in
//!   blocks of 16 bytes, each with its own CRC. Every CRC is verified: a frame with a bad CRC is
//!   counted ([`ErrorCounts`]) and dropped, never trusted (a bad header CRC also means its
//!   length is not, so the reader looks for the next start bytes). On TCP, frames are cut from
//!   the reassembled stream with [`crate::framing`] (several per segment, split across
//!   segments); on UDP, each datagram is read whole.
//! * Transport layer: FIR/FIN/sequence; fragments are reassembled per direction up to
//!   [`MAX_FRAGMENT`] bytes (a segment out of sequence, or a fragment too long, drops the
//!   fragment in progress).
//! * Application layer ([`app`]): function code, application control, IIN of responses, and
//!   the object headers, walked with bounds.
//!
//! Facts: each link source address as protocol address `dnp3:<addr>` of its sender (master and
//! outstation); service `dnp3` on the outstation (the sender of frames without the DIR bit);
//! device attributes (group 0) in responses: vendor, model, firmware, hardware, serial, name,
//! location.
//!
//! Events (source = the master, the requester, except unsolicited responses, whose source is
//! the outstation that sent them): read → Read (`outstation 5, class 0 (g60v1)`, the groups,
//! variations and ranges read, never values); write → Write, or TimeSync when it writes time
//! (g50); select, operate, direct operate (+ no ack) → ControlCommand with the point, the CROB
//! code (`g12v1 index 1 latch on, count 1, on 100 ms, off 100 ms`) or the analog value;
//! freezes → ControlCommand; cold/warm restart, initialize data/application, start/stop
//! application → ModeChange; enable/disable unsolicited, assign class, save and activate
//! configuration, delete file → ConfigurationChange; delay measure, record current time →
//! TimeSync; open/close/abort file → ProgramUpload (read mode) or ProgramDownload (write,
//! append), get file info → Read, authenticate file → Authentication; a file read or written
//! whole (g70v5 blocks to the last) → `read_file` / `write_file` with the SHA-256 of its
//! content; authentication request and response (SAv5, g120) → Authentication, g120v7 →
//! `authentication_error`; unsolicited responses → Other. Responses are events only when
//! something is wrong: IIN2 errors (function not supported, object unknown, parameter error) →
//! `error_response` in the category of the request, a control status other than success →
//! `error_response` (ControlCommand). The IIN flags of interest (device restart, need time,
//! local control, device trouble, event buffer overflow, configuration corrupt) → `iin`
//! Diagnostics, once per change. Confirms and link-layer services are not events.

pub mod app;

use std::fmt::Write as _;

use ironward_model::{Attribute, EventCategory, Source};
use sha2::{Digest, Sha256};

use self::app::{AppHeader, ObjectHeader, ObjectHeaders, Range};
use crate::framing::{self, Framed, Side};
use crate::value::ValueBuf;
use crate::{
    Direction, Dissector, DissectorFactory, DissectorRegistry, FlowMeta, Observations, StreamChunk,
    Transport,
};

/// The registered DNP3 port (TCP and UDP).
pub const PORT: u16 = 20000;

/// Largest link frame: 10 header bytes, 250 data bytes in 16 blocks with their CRCs.
pub const MAX_FRAME: usize = 292;

/// Largest application fragment reassembled (twice the customary 2048 bytes).
pub const MAX_FRAGMENT: usize = 4096;

/// Most link frames read from one UDP datagram.
pub const MAX_FRAMES_PER_DATAGRAM: usize = 64;

/// Most objects described in one event detail.
const MAX_DESCRIBED: usize = 6;

/// The CRC-16/DNP table (polynomial 0x3d65, reflected).
const CRC_TABLE: [u16; 256] = {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u16;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xa6bc
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// The DNP3 CRC of `bytes`, as sent on the wire (little-endian).
pub fn crc(bytes: &[u8]) -> u16 {
    let crc = bytes.iter().fold(0u16, |crc, b| {
        (crc >> 8) ^ CRC_TABLE[usize::from((crc ^ u16::from(*b)) & 0xff)]
    });
    !crc
}

fn crc_ok(block: &[u8], check: &[u8]) -> bool {
    matches!(check, [a, b] if u16::from_le_bytes([*a, *b]) == crc(block))
}

/// Why a link frame could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dnp3Error {
    /// The input ends before `field`, which starts at `offset`.
    Truncated {
        /// The field that is cut.
        field: &'static str,
        /// Where it starts.
        offset: usize,
    },
    /// The frame does not start with `0x05 0x64`.
    BadStart,
    /// The length byte is below 5.
    BadLength(u8),
    /// A CRC does not match: of the header (`offset` 8) or of the data block at `offset`.
    BadCrc {
        /// Where the checked block starts.
        offset: usize,
    },
}

impl std::fmt::Display for Dnp3Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Truncated { field, offset } => {
                write!(f, "DNP3 frame truncated at {field} (offset {offset})")
            }
            Self::BadStart => f.write_str("DNP3 start bytes not 0x0564 at offset 0"),
            Self::BadLength(l) => write!(f, "DNP3 link length {l} at offset 2"),
            Self::BadCrc { offset } => {
                write!(f, "DNP3 CRC mismatch for the block at offset {offset}")
            }
        }
    }
}

impl std::error::Error for Dnp3Error {}

/// A link frame, with its user data copied out of the CRC blocks (at most 250 bytes, on the
/// stack).
#[derive(Clone)]
pub struct LinkFrame {
    /// Control: DIR 0x80, PRM 0x40, FCB 0x20, FCV/DFC 0x10, function 0x0f.
    pub control: u8,
    /// Destination address.
    pub destination: u16,
    /// Source address.
    pub source: u16,
    data: [u8; 250],
    data_len: usize,
    /// Bytes the frame occupies on the wire.
    pub wire_len: usize,
}

impl std::fmt::Debug for LinkFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkFrame")
            .field("control", &self.control)
            .field("destination", &self.destination)
            .field("source", &self.source)
            .field("data", &self.data())
            .finish()
    }
}

impl LinkFrame {
    /// Bytes on the wire of a frame whose length byte is `length`.
    pub fn wire_len_of(length: u8) -> usize {
        let data = usize::from(length).saturating_sub(5);
        10 + data + 2 * data.div_ceil(16)
    }

    /// Reads the frame at the start of `input`, checking every CRC.
    pub fn parse(input: &[u8]) -> Result<Self, Dnp3Error> {
        let header = input.get(..10).ok_or(Dnp3Error::Truncated {
            field: "link header",
            offset: 0,
        })?;
        if header[..2] != [0x05, 0x64] {
            return Err(Dnp3Error::BadStart);
        }
        let length = header[2];
        if length < 5 {
            return Err(Dnp3Error::BadLength(length));
        }
        if !crc_ok(&header[..8], &header[8..10]) {
            return Err(Dnp3Error::BadCrc { offset: 0 });
        }
        let wire_len = Self::wire_len_of(length);
        let body = input.get(10..wire_len).ok_or(Dnp3Error::Truncated {
            field: "user data",
            offset: 10,
        })?;
        let mut frame = Self {
            control: header[3],
            destination: u16::from_le_bytes([header[4], header[5]]),
            source: u16::from_le_bytes([header[6], header[7]]),
            data: [0; 250],
            data_len: 0,
            wire_len,
        };
        for (i, block) in body.chunks(18).enumerate() {
            let (data, check) = block.split_at(block.len().saturating_sub(2));
            if !crc_ok(data, check) {
                return Err(Dnp3Error::BadCrc {
                    offset: 10 + i * 18,
                });
            }
            let end = frame.data_len + data.len();
            if let Some(slot) = frame.data.get_mut(frame.data_len..end) {
                slot.copy_from_slice(data);
                frame.data_len = end;
            }
        }
        Ok(frame)
    }

    /// The user data (transport header and application bytes).
    pub fn data(&self) -> &[u8] {
        &self.data[..self.data_len]
    }

    /// Sent by the master (DIR bit).
    pub fn from_master(&self) -> bool {
        self.control & 0x80 != 0
    }

    /// Primary (initiating) frame.
    pub fn primary(&self) -> bool {
        self.control & 0x40 != 0
    }

    /// Link function code.
    pub fn function(&self) -> u8 {
        self.control & 0x0f
    }

    /// Whether the frame carries user data for the transport layer (primary confirmed or
    /// unconfirmed user data).
    pub fn has_user_data(&self) -> bool {
        self.primary() && matches!(self.function(), 3 | 4) && self.data_len > 0
    }
}

/// Protocol errors counted per flow (bad frames are dropped, never fatal).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCounts {
    /// Frames dropped for a bad CRC.
    pub bad_crc: u32,
    /// Bytes skipped looking for start bytes.
    pub skipped_bytes: u64,
    /// Transport segments out of sequence or fragments too long, dropped.
    pub dropped_fragments: u32,
    /// Application fragments whose objects could not be walked to the end.
    pub bad_objects: u32,
}

/// Reassembly of one direction's application fragments.
#[derive(Debug, Default)]
struct Reassembly {
    buf: Vec<u8>,
    next_seq: u8,
    active: bool,
    source: u16,
}

/// A file being opened, read or written (one per flow).
#[derive(Debug, Default)]
struct FileState {
    name: ValueBuf<64>,
    /// 1 read, 2 write, 3 append; 0 unknown.
    mode: u16,
    hasher: Option<Sha256>,
    bytes: u64,
}

impl FileState {
    fn category(&self) -> EventCategory {
        match self.mode {
            1 => EventCategory::ProgramUpload,
            2 | 3 => EventCategory::ProgramDownload,
            _ => EventCategory::ConfigurationChange,
        }
    }
}

/// The IIN bits reported as Diagnostics events: IIN1 device restart, device trouble, local
/// control, need time; IIN2 configuration corrupt, event buffer overflow.
const IIN_OF_INTEREST: u16 = 0x8000 | 0x4000 | 0x2000 | 0x1000 | 0x0020 | 0x0008;

/// IIN2 bits saying a request failed: function not supported, object unknown, parameter error.
const IIN_ERRORS: u16 = 0x0007;

/// The dissector of one DNP3 flow.
#[derive(Debug, Default)]
pub struct Dnp3Dissector {
    sides: [Side; 2],
    reassembly: [Reassembly; 2],
    /// The last request's function code, per direction it was sent in.
    last_request: [Option<u8>; 2],
    /// IIN flags of interest last reported, per direction the responses go.
    iin: [u16; 2],
    reported_source: [Option<u16>; 2],
    /// Link frames sent by a master (DIR bit set) and by an outstation, per direction.
    from_master: [[u32; 2]; 2],
    file: FileState,
    /// Errors seen so far.
    pub errors: ErrorCounts,
}

impl Framed for Dnp3Dissector {
    fn sides(&mut self) -> &mut [Side; 2] {
        &mut self.sides
    }
}

impl Dnp3Dissector {
    /// Reads the link frames at the start of `data`; returns the bytes used (an incomplete
    /// frame at the end is left for later).
    fn consume(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        data: &[u8],
        out: &mut Observations,
        max_frames: usize,
    ) -> usize {
        let mut at = 0;
        let mut frames = 0;
        while let Some(rest) = data.get(at..).filter(|r| !r.is_empty()) {
            if frames >= max_frames {
                return data.len();
            }
            match LinkFrame::parse(rest) {
                Ok(frame) => {
                    frames += 1;
                    at += frame.wire_len;
                    self.on_frame(flow, direction, &frame, out);
                }
                Err(Dnp3Error::Truncated { .. }) => break,
                Err(error) => {
                    match error {
                        Dnp3Error::BadStart => {
                            let what = format_args!("{error}, bytes skipped to the next start");
                            report(flow, direction, out, "malformed", what);
                        }
                        _ => report(flow, direction, out, "violation", error),
                    }
                    match error {
                        Dnp3Error::BadCrc { offset } if offset > 0 => {
                            // The header was sound: skip the whole frame.
                            self.errors.bad_crc += 1;
                            let len = rest.get(2).map_or(1, |l| LinkFrame::wire_len_of(*l));
                            at += len.min(rest.len());
                            self.reassembly[direction.index()].active = false;
                            continue;
                        }
                        Dnp3Error::BadCrc { .. } => self.errors.bad_crc += 1,
                        _ => {}
                    }
                    // Look for the next start bytes after this position.
                    let skip = rest
                        .windows(2)
                        .skip(1)
                        .position(|w| w == [0x05, 0x64])
                        .map_or(rest.len().saturating_sub(1).max(1), |p| p + 1);
                    self.errors.skipped_bytes += skip as u64;
                    at += skip;
                }
            }
        }
        at
    }

    fn on_frame(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        frame: &LinkFrame,
        out: &mut Observations,
    ) {
        let side = direction.index();
        let by = usize::from(!frame.from_master());
        self.from_master[side][by] = self.from_master[side][by].saturating_add(1);
        if self.reported_source[side] != Some(frame.source) && frame.source < 0xfff0 {
            self.reported_source[side] = Some(frame.source);
            let mut address = ValueBuf::<16>::new();
            let _ = write!(address, "dnp3:{}", frame.source);
            out.fact(
                flow.sender(direction),
                Attribute::ProtocolAddress,
                address.as_str(),
                Source::Dnp3,
                flow.now,
            );
            if !frame.from_master() {
                out.fact(
                    flow.sender(direction),
                    Attribute::Service,
                    "dnp3",
                    Source::Dnp3,
                    flow.now,
                );
            }
        }
        if !frame.has_user_data() {
            return;
        }
        let data = frame.data();
        let Some((&transport, segment)) = data.split_first() else {
            return;
        };
        let (fin, fir, seq) = (
            transport & 0x80 != 0,
            transport & 0x40 != 0,
            transport & 0x3f,
        );
        let r = &mut self.reassembly[side];
        if fir {
            if r.active {
                self.errors.dropped_fragments += 1;
            }
            r.buf.clear();
            r.active = true;
            r.source = frame.source;
        } else if !r.active || seq != r.next_seq || r.source != frame.source {
            if r.active {
                self.errors.dropped_fragments += 1;
            }
            r.active = false;
            r.buf.clear();
            return;
        }
        r.next_seq = (seq + 1) & 0x3f;
        if r.buf.len() + segment.len() > MAX_FRAGMENT {
            self.errors.dropped_fragments += 1;
            r.active = false;
            r.buf = Vec::new();
            return;
        }
        if fin && fir {
            // A fragment in one frame: no copy.
            r.active = false;
            self.on_fragment(flow, direction, frame, segment, out);
            return;
        }
        r.buf.extend_from_slice(segment);
        if fin {
            r.active = false;
            let fragment = std::mem::take(&mut r.buf);
            self.on_fragment(flow, direction, frame, &fragment, out);
            let r = &mut self.reassembly[side];
            if r.buf.capacity() == 0 {
                r.buf = fragment;
                r.buf.clear();
            }
        }
    }

    fn on_fragment(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        frame: &LinkFrame,
        fragment: &[u8],
        out: &mut Observations,
    ) {
        let (header, offset) = match AppHeader::parse(fragment) {
            Ok(parsed) => parsed,
            Err(error) => {
                self.errors.bad_objects += 1;
                return report(flow, direction, out, "malformed", error);
            }
        };
        let objects = ObjectHeaders::new(fragment, offset, app::carries_data(header.function));
        if app::is_response(header.function) {
            self.on_response(flow, direction, frame, &header, objects, out);
        } else {
            self.on_request(flow, direction, frame, header.function, objects, out);
        }
    }

    fn on_request(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        frame: &LinkFrame,
        function: u8,
        objects: ObjectHeaders<'_>,
        out: &mut Observations,
    ) {
        if function == 0 {
            return; // confirm
        }
        self.last_request[direction.index()] = Some(function);
        let mut detail = ValueBuf::<256>::new();
        let _ = write!(detail, "outstation {}", frame.destination);
        let mut category = request_category(function);
        let mut described = 0;
        let mut more = 0;
        for header in objects {
            let Ok(header) = header else {
                self.errors.bad_objects += 1;
                let _ = write!(detail, ", objects malformed");
                break;
            };
            if header.group == 50 && function == 2 {
                category = EventCategory::TimeSync;
            }
            if header.group == 70 {
                self.on_file_objects(flow, direction, frame.destination, function, &header, out);
            }
            if described >= MAX_DESCRIBED {
                more += 1;
                continue;
            }
            described += 1;
            detail.push_bytes(b", ");
            describe_request_header(&mut detail, function, &header);
        }
        if more > 0 {
            let _ = write!(detail, ", +{more} headers");
        }
        if (25..=30).contains(&function) {
            category = self.file_category(function);
        }
        if function == 25 && !self.file.name.is_empty() {
            let mode = match self.file.mode {
                1 => "read",
                2 => "write",
                3 => "append",
                _ => "mode",
            };
            let name = clean_name(self.file.name.as_str());
            let _ = write!(detail, " {}, {mode}", name.as_str());
        }
        out.event(
            flow,
            direction,
            "dnp3",
            category,
            app::function_name(function),
            detail.as_str(),
        );
    }

    fn file_category(&self, function: u8) -> EventCategory {
        match function {
            27 => EventCategory::ConfigurationChange,
            28 => EventCategory::Read,
            29 => EventCategory::Authentication,
            _ => self.file.category(),
        }
    }

    /// Files: the open request names the file and its mode; file transport blocks (g70v5),
    /// from the master (write) or in responses (read), are hashed up to the last block.
    fn on_file_objects(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        outstation: u16,
        function: u8,
        header: &ObjectHeader<'_>,
        out: &mut Observations,
    ) {
        for (_, object) in header.objects().take(app::MAX_HEADERS) {
            match (header.variation, function) {
                (3, 25) => {
                    let u16_at = |at: usize| {
                        object
                            .get(at..at + 2)
                            .map_or(0, |b| u16::from_le_bytes([b[0], b[1]]))
                    };
                    let (offset, len) = (usize::from(u16_at(0)), usize::from(u16_at(2)));
                    self.file = FileState {
                        mode: u16_at(20),
                        ..FileState::default()
                    };
                    if let Some(name) = object.get(offset..offset.saturating_add(len)) {
                        self.file.name.push_bytes(name);
                    }
                }
                (5, 2 | 129 | 130) => {
                    let block = object
                        .get(4..8)
                        .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
                    let content = object.get(8..).unwrap_or_default();
                    let hasher = self.file.hasher.get_or_insert_with(Sha256::new);
                    hasher.update(content);
                    self.file.bytes += content.len() as u64;
                    if block & 0x8000_0000 != 0 {
                        let Some(hasher) = self.file.hasher.take() else {
                            continue;
                        };
                        let mut hex = ValueBuf::<64>::new();
                        hex.push_hex(&hasher.finalize());
                        let mut detail = ValueBuf::<128>::new();
                        let _ = write!(detail, "outstation {outstation}, file ");
                        let name = clean_name(self.file.name.as_str());
                        let _ = write!(detail, "{}, {} bytes", name.as_str(), self.file.bytes);
                        self.file.bytes = 0;
                        let (operation, category, requester) = if function == 2 {
                            ("write_file", EventCategory::ProgramDownload, direction)
                        } else {
                            (
                                "read_file",
                                EventCategory::ProgramUpload,
                                direction.reverse(),
                            )
                        };
                        out.event_with_hash(
                            flow,
                            requester,
                            "dnp3",
                            category,
                            operation,
                            detail.as_str(),
                            Some(hex.as_str()),
                        );
                    }
                }
                _ => {}
            }
        }
    }

    fn on_response(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        frame: &LinkFrame,
        header: &AppHeader,
        objects: ObjectHeaders<'_>,
        out: &mut Observations,
    ) {
        let master = direction.reverse();
        let iin = header.iin.unwrap_or(0);
        let unsolicited = header.function == 130;
        let request = if unsolicited {
            None
        } else {
            self.last_request[master.index()]
        };
        // IIN flags of interest, once per change.
        let flags = iin & IIN_OF_INTEREST;
        let last = &mut self.iin[direction.index()];
        if flags != *last {
            *last = flags;
            let mut detail = ValueBuf::<160>::new();
            let _ = write!(detail, "outstation {}", frame.source);
            write_iin(&mut detail, flags);
            out.event(
                flow,
                master,
                "dnp3",
                EventCategory::Diagnostics,
                "iin",
                detail.as_str(),
            );
        }
        if iin & IIN_ERRORS != 0 {
            let mut detail = ValueBuf::<160>::new();
            let request_name = request.map_or("request", app::function_name);
            let _ = write!(detail, "outstation {}, {request_name}", frame.source);
            write_iin(&mut detail, iin & IIN_ERRORS);
            let category = request.map_or(EventCategory::Other, request_category);
            out.event(
                flow,
                master,
                "dnp3",
                category,
                "error_response",
                detail.as_str(),
            );
        }
        let mut groups = ValueBuf::<160>::new();
        let mut listed = 0;
        for object_header in objects {
            let Ok(object_header) = object_header else {
                self.errors.bad_objects += 1;
                break;
            };
            if unsolicited && listed < MAX_DESCRIBED {
                listed += 1;
                let _ = write!(
                    groups,
                    ", g{}v{}",
                    object_header.group, object_header.variation
                );
            }
            match object_header.group {
                0 => device_attributes(flow, direction, &object_header, out),
                12 | 41 => {
                    for (index, object) in object_header.objects().take(MAX_DESCRIBED) {
                        let status =
                            control_status(object_header.group, object_header.variation, object);
                        if status != 0 {
                            let mut detail = ValueBuf::<128>::new();
                            let _ = write!(
                                detail,
                                "outstation {}, g{}v{} index {index} status {status} ({})",
                                frame.source,
                                object_header.group,
                                object_header.variation,
                                status_name(status)
                            );
                            out.event(
                                flow,
                                master,
                                "dnp3",
                                EventCategory::ControlCommand,
                                "error_response",
                                detail.as_str(),
                            );
                        }
                    }
                }
                70 => self.on_file_objects(
                    flow,
                    direction,
                    frame.source,
                    header.function,
                    &object_header,
                    out,
                ),
                120 => {
                    let mut detail = ValueBuf::<96>::new();
                    let _ = write!(
                        detail,
                        "outstation {}, {} (g120v{})",
                        frame.source,
                        auth_name(object_header.variation),
                        object_header.variation
                    );
                    let operation = if object_header.variation == 7 {
                        "authentication_error"
                    } else if header.function == 131 {
                        "authentication_response"
                    } else {
                        continue;
                    };
                    out.event(
                        flow,
                        master,
                        "dnp3",
                        EventCategory::Authentication,
                        operation,
                        detail.as_str(),
                    );
                }
                _ => {}
            }
        }
        if unsolicited {
            let mut detail = ValueBuf::<192>::new();
            let _ = write!(detail, "outstation {}{}", frame.source, groups.as_str());
            out.event(
                flow,
                direction,
                "dnp3",
                EventCategory::Other,
                "unsolicited_response",
                detail.as_str(),
            );
        }
    }
}

/// The category of a request's event (before looking at its objects).
fn request_category(function: u8) -> EventCategory {
    match function {
        1 | 28 => EventCategory::Read,
        2 => EventCategory::Write,
        3..=12 => EventCategory::ControlCommand,
        13..=18 => EventCategory::ModeChange,
        19..=22 | 27 | 31 => EventCategory::ConfigurationChange,
        23 | 24 => EventCategory::TimeSync,
        25 | 26 | 30 => EventCategory::ProgramUpload,
        29 | 32 | 33 | 131 => EventCategory::Authentication,
        _ => EventCategory::Other,
    }
}

/// Writes one request header: `class 1 (g60v2)`, `g30v1 0-9`, `g12v1 index 1 latch on, …`.
fn describe_request_header(out: &mut ValueBuf<256>, function: u8, header: &ObjectHeader<'_>) {
    let (group, variation) = (header.group, header.variation);
    if group == 60 && (1..=4).contains(&variation) {
        let _ = write!(out, "class {} (g60v{variation})", variation - 1);
        return;
    }
    if group == 120 {
        let _ = write!(out, "{} (g120v{variation})", auth_name(variation));
        return;
    }
    let _ = write!(out, "g{group}v{variation}");
    if function == 2 && group == 80 {
        // Writing internal indications: in practice clearing IIN1.7 (device restart).
        if let Range::StartStop(start, stop) = header.range {
            let first = header.data.first().copied().unwrap_or(0) & 1;
            let verb = if first == 0 { "clear" } else { "set" };
            let _ = write!(out, " index {start}");
            if stop > start {
                let _ = write!(out, "-{stop}");
            }
            let _ = write!(out, " {verb}");
        }
        return;
    }
    let control = matches!(function, 3..=6) && matches!(group, 12 | 41);
    if control {
        let mut objects = header.objects();
        if let Some((index, object)) = objects.next() {
            let _ = write!(out, " index {index}");
            describe_control(out, group, variation, object);
        }
        let rest = header.count().saturating_sub(1);
        if rest > 0 {
            let _ = write!(out, " (+{rest} objects)");
        }
        return;
    }
    if group == 50 || group == 70 {
        return;
    }
    match header.range {
        Range::All => {}
        Range::StartStop(start, stop) if start == stop => {
            let _ = write!(out, " {start}");
        }
        Range::StartStop(start, stop) => {
            let _ = write!(out, " {start}-{stop}");
        }
        Range::Count(n) => {
            let _ = write!(out, " count {n}");
        }
    }
}

/// The CROB control code, or the analog output value, of a control object.
fn describe_control(out: &mut ValueBuf<256>, group: u8, variation: u8, object: &[u8]) {
    let u32_at = |at: usize| {
        object
            .get(at..at + 4)
            .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    match (group, variation) {
        (12, 1 | 2) => {
            let code = object.first().copied().unwrap_or(0);
            let trip_close = match code >> 6 {
                1 => Some("close"),
                2 => Some("trip"),
                3 => Some("reserved"),
                _ => None,
            };
            let op = match code & 0x0f {
                0 => None,
                1 => Some("pulse on"),
                2 => Some("pulse off"),
                3 => Some("latch on"),
                4 => Some("latch off"),
                _ => Some("operation"),
            };
            match (trip_close, op) {
                (Some(tc), Some(op)) => {
                    let _ = write!(out, " {tc} {op}");
                }
                (Some(tc), None) => {
                    let _ = write!(out, " {tc}");
                }
                (None, Some(op)) => {
                    let _ = write!(out, " {op}");
                }
                (None, None) => {
                    let _ = write!(out, " nul");
                }
            }
            if code & 0x30 != 0 {
                let _ = write!(out, " (code 0x{code:02x})");
            }
            let count = object.get(1).copied().unwrap_or(0);
            let _ = write!(
                out,
                ", count {count}, on {} ms, off {} ms",
                u32_at(2),
                u32_at(6)
            );
        }
        (41, 1) => {
            let _ = write!(out, " value {}", u32_at(0) as i32);
        }
        (41, 2) => {
            let v = object
                .get(..2)
                .map_or(0, |b| i16::from_le_bytes([b[0], b[1]]));
            let _ = write!(out, " value {v}");
        }
        (41, 3) => {
            let _ = write!(out, " value {}", f32::from_bits(u32_at(0)));
        }
        (41, 4) => {
            let v = object.get(..8).map_or(0.0, |b| {
                f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
            });
            let _ = write!(out, " value {v}");
        }
        _ => {}
    }
}

/// The status byte of a CROB or analog output echoed in a response (7 bits).
fn control_status(group: u8, variation: u8, object: &[u8]) -> u8 {
    let at = match (group, variation) {
        (12, 1 | 2) => 10,
        (41, 1 | 3) => 4,
        (41, 2) => 2,
        (41, 4) => 8,
        _ => return 0,
    };
    object.get(at).map_or(0, |s| s & 0x7f)
}

fn status_name(status: u8) -> &'static str {
    match status {
        1 => "timeout",
        2 => "no select",
        3 => "format error",
        4 => "not supported",
        5 => "already active",
        6 => "hardware error",
        7 => "local",
        8 => "too many objects",
        9 => "not authorized",
        10 => "automation inhibit",
        11 => "processing limited",
        12 => "out of range",
        13 => "downstream local",
        14 => "already complete",
        15 => "blocked",
        16 => "cancelled",
        17 => "blocked other master",
        18 => "downstream fail",
        126 => "non participating",
        _ => "undefined",
    }
}

fn auth_name(variation: u8) -> &'static str {
    match variation {
        1 => "challenge",
        2 => "reply",
        3 => "aggressive mode request",
        4 => "session key status request",
        5 => "session key status",
        6 => "session key change",
        7 => "error",
        8 => "user certificate",
        9 => "message authentication code",
        10 => "user status change",
        11 => "update key change request",
        12 => "update key change reply",
        13 => "update key change",
        14 => "update key change signature",
        15 => "update key change confirmation",
        _ => "authentication object",
    }
}

/// Appends the names of the IIN bits set in `iin` (or `, cleared`).
fn write_iin(out: &mut impl std::fmt::Write, iin: u16) {
    const NAMES: [(u16, &str); 9] = [
        (0x8000, "device restart"),
        (0x4000, "device trouble"),
        (0x2000, "local control"),
        (0x1000, "need time"),
        (0x0020, "config corrupt"),
        (0x0008, "event buffer overflow"),
        (0x0001, "function not supported"),
        (0x0002, "object unknown"),
        (0x0004, "parameter error"),
    ];
    if iin == 0 {
        let _ = out.write_str(", cleared");
    }
    for (bit, name) in NAMES {
        if iin & bit != 0 {
            let _ = write!(out, ", {name}");
        }
    }
}

/// A file name made safe for a detail: printable ASCII only.
fn clean_name(name: &str) -> ValueBuf<64> {
    let mut clean = ValueBuf::<64>::new();
    for c in name.chars() {
        clean.push_bytes(&[if c.is_ascii_graphic() || c == ' ' {
            c as u8
        } else {
            b'?'
        }]);
    }
    clean
}

/// Device attributes (group 0) in a response: identity facts of the outstation.
fn device_attributes(
    flow: &FlowMeta,
    direction: Direction,
    header: &ObjectHeader<'_>,
    out: &mut Observations,
) {
    let attribute = match header.variation {
        242 => Attribute::Firmware,
        243 => Attribute::Hardware,
        245 => Attribute::Location,
        246 | 247 => Attribute::Hostname,
        248 => Attribute::Serial,
        250 => Attribute::Model,
        252 => Attribute::Vendor,
        _ => return,
    };
    for (_, object) in header.objects().take(1) {
        // Data type code 1: visible string; then the length byte.
        if let Some((&1, [_, value @ ..])) = object.split_first() {
            out.fact_bytes(
                flow.sender(direction),
                attribute,
                value,
                Source::Dnp3,
                flow.now,
            );
        }
    }
}

impl Dissector for Dnp3Dissector {
    fn protocol(&self) -> &'static str {
        "dnp3"
    }

    /// The link layer's DIR bit says who is the master: when the flow's first sender (an
    /// outstation's unsolicited response over UDP, both ends on port 20000) sent only
    /// outstation frames and the other end master frames, the outstation is the server.
    fn roles_reversed(&self) -> bool {
        let (c, s) = (
            Direction::ClientToServer.index(),
            Direction::ServerToClient.index(),
        );
        let [c_master, c_outstation] = self.from_master[c];
        let [s_master, s_outstation] = self.from_master[s];
        c_outstation > c_master && s_master >= s_outstation && s_master > 0
    }

    fn on_stream(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        chunk: StreamChunk<'_>,
        out: &mut Observations,
    ) {
        if matches!(chunk, StreamChunk::Gap(_)) {
            self.reassembly[direction.index()] = Reassembly::default();
        }
        framing::feed(self, direction.index(), chunk, MAX_FRAME, |state, data| {
            state.consume(flow, direction, data, out, usize::MAX)
        });
    }

    fn on_datagram(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        payload: &[u8],
        out: &mut Observations,
    ) {
        self.consume(flow, direction, payload, out, MAX_FRAMES_PER_DATAGRAM);
    }
}

/// Reports a frame sent in `direction` that breaks the protocol (category Other): `malformed`
/// when it cannot be decoded, `violation` when it breaks a rule of the link layer (a CRC, the
/// length). Only error paths come here; the detail is built on the stack.
fn report(
    flow: &FlowMeta,
    direction: Direction,
    out: &mut Observations,
    operation: &'static str,
    what: impl std::fmt::Display,
) {
    out.spec_report::<128>(flow, direction, "dnp3", operation, what);
}

/// Whether `payload` starts with a DNP3 link header whose CRC is right (a strict content
/// check, used on any port).
pub fn looks_like_dnp3(payload: &[u8]) -> bool {
    matches!(payload, [0x05, 0x64, l, ..] if *l >= 5)
        && payload.get(..10).is_some_and(|h| crc_ok(&h[..8], &h[8..]))
}

/// Takes TCP and UDP flows on port 20000, and flows on other ports that start with a DNP3
/// link header with a correct CRC.
#[derive(Debug, Default)]
pub struct Dnp3Factory;

impl DissectorFactory for Dnp3Factory {
    fn protocol(&self) -> &'static str {
        "dnp3"
    }

    fn select(&self, flow: &FlowMeta, _: Direction, first: &[u8]) -> Option<Box<dyn Dissector>> {
        let transport = matches!(flow.transport, Transport::Tcp | Transport::Udp);
        let port = flow.server.port() == PORT || flow.client.port() == PORT;
        (transport && (port || looks_like_dnp3(first)))
            .then(|| Box::<Dnp3Dissector>::default() as Box<dyn Dissector>)
    }
}

/// Registers the DNP3 dissector.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register(Box::new(Dnp3Factory));
}

#[cfg(test)]
mod tests;
