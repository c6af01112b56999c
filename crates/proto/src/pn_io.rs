//! PROFINET IO: the cyclic real-time process data between IO controllers and IO devices
//! (RT frames, ether type 0x8892) and the context management that sets those exchanges up
//! (CM: DCE/RPC over UDP, port 34964). Detection and identification level.
//!
//! **RT frames** ([`RtDissector`]): the frame id decides. `0x0100..=0x0fff` (RT class 3) and
//! `0x8000..=0xfbff` (RT classes 1 and 2) are cyclic IO data: the sender gets the fact
//! `Service` `pn_io rt`, and each (sender, receiver, frame id) one aggregated `cyclic_data`
//! event (category Read, detail `frame_id=0xc000`: its count is the number of frames).
//! `0xfc01` (high priority) and `0xfe01` (low priority) are acyclic alarms: a Diagnostics
//! `alarm` event with the priority, the RTA PDU type (`data`, `nack`, `ack`, `err`), and for
//! `data` the alarm type of the AlarmNotification block, for `err` the PNIO status. DCP
//! (`0xfefc..=0xfeff`) belongs to [`crate::pn_dcp`]; PTCP and other frame ids are left alone.
//!
//! **CM** ([`CmFactory`]): a UDP flow on any port whose first datagram is a connectionless
//! DCE/RPC (version 4) header with a PNIO interface UUID (`dea00001` device, `dea00002`
//! controller, `dea00003` supervisor, `dea00004` parameter server; the CM answer often comes
//! from another port than the one asked, so flows are recognised by content, not port). The
//! 80-byte header is read in the byte order its data representation says; the body (NDR
//! arguments, then big-endian PNIO blocks, at most [`MAX_BLOCKS`]) of the first fragment of
//! each request and response:
//!
//! | operation | category | event | detail |
//! |---|---|---|---|
//! | 0 Connect | Other | `connect` | AR type, initiator station name |
//! | 1 Release | Other | `release` | |
//! | 2 Read, 5 Read Implicit | Diagnostics for I&M, diagnosis, filter and physical-device records (index 0x8000 and up), Read for the user's records | `read` / `read_implicit` | `api=… slot=… subslot=… index=0x…` |
//! | 3 Write | ConfigurationChange (Write for a single user record, index below 0x8000) | `write` | `slot=… subslot=… index=0x…`, and for a multiple write (index 0xe040) the indexes written |
//! | 4 Control | Other | `prm_end`, `application_ready`, `release`, `prm_begin`, `ready_for_companion`, `ready_for_rt_class_3`, or `control` | the command bits |
//! | a response whose PNIO status is not zero | the request's | `error_response` | `op=… status=0x…` |
//!
//! Events go from the requester to the responder whichever way the flow was opened (the
//! packet type says which is which). Facts: the Connect request's initiator station name is
//! the controller's `Hostname`, and its initiator object UUID (`dea00000-6c97-11d1-8271-`
//! instance, device id, vendor id) the controller's `ProductCode` `pn:0x…/0x…`; a device's
//! answers carry its own object UUID (its `ProductCode`) and give it `Service` `pn_io`; a Read
//! answer with an I&M0 block (index 0xaff0) gives `ProductCode` (order id), `Serial`,
//! `Hardware` (hardware revision), `Firmware` (`V2.6.0`: prefix and the three revision
//! numbers) and `Vendor` for the vendor ids [`crate::pn_dcp::vendor_name`] names. Later
//! fragments of a request or response only count in the flow.

use std::fmt::{self, Write as _};

use ironward_model::{Attribute, DeviceKey, EventCategory, Source};

use crate::observations::Observations;
use crate::pn_dcp::{self, vendor_name};
use crate::session::{Direction, FlowMeta, Transport};
use crate::value::ValueBuf;
use crate::{Dissector, DissectorFactory, DissectorRegistry, FrameDissector, LinkFrame};

/// The well-known UDP port of the PNIO CM endpoint mapper and first requests.
pub const PORT: u16 = 34964;
/// Most PNIO blocks read from one request or response body.
pub const MAX_BLOCKS: usize = 64;
/// Most indexes named in a multiple write's detail.
pub const MAX_DETAIL_WRITES: usize = 8;
/// Length of the connectionless DCE/RPC header.
pub const DCERPC_HEADER_LEN: usize = 80;
/// Length of the NDR arguments before the PNIO blocks (maximum, length, array bounds).
const NDR_LEN: usize = 20;

/// Frame id of high-priority alarms.
pub const FRAME_ALARM_HIGH: u16 = 0xfc01;
/// Frame id of low-priority alarms.
pub const FRAME_ALARM_LOW: u16 = 0xfe01;

/// What was wrong with a PROFINET IO message, and where (byte offset in the frame payload or
/// UDP datagram).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PnioError {
    /// A header, block or field runs past the end of the data.
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Offset of the field.
        offset: usize,
    },
    /// Not DCE/RPC version 4 (connectionless).
    NotDceRpc {
        /// The version byte found.
        version: u8,
    },
}

impl fmt::Display for PnioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { field, offset } => write!(f, "PNIO {field} truncated at {offset}"),
            Self::NotDceRpc { version } => write!(f, "DCE/RPC version {version}, not 4"),
        }
    }
}

impl std::error::Error for PnioError {}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    let [a, b] = bytes.get(at..at.checked_add(2)?)? else {
        return None;
    };
    Some(u16::from_be_bytes([*a, *b]))
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    let [a, b, c, d] = bytes.get(at..at.checked_add(4)?)? else {
        return None;
    };
    Some(u32::from_be_bytes([*a, *b, *c, *d]))
}

/// What a PROFINET real-time frame id says the frame is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtKind {
    /// Cyclic IO data (RT class 1, 2 or 3).
    Cyclic,
    /// An acyclic alarm, high or low priority.
    Alarm {
        /// High priority (0xfc01) or low (0xfe01).
        high: bool,
    },
    /// Something else (DCP, PTCP, reserved).
    Other,
}

/// Classifies a PROFINET real-time frame id.
pub fn rt_kind(frame_id: u16) -> RtKind {
    match frame_id {
        0x0100..=0x0fff | 0x8000..=0xfbff => RtKind::Cyclic,
        FRAME_ALARM_HIGH => RtKind::Alarm { high: true },
        FRAME_ALARM_LOW => RtKind::Alarm { high: false },
        _ => RtKind::Other,
    }
}

/// An alarm frame's RTA header (after the frame id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alarm {
    /// Destination endpoint.
    pub dst_endpoint: u16,
    /// Source endpoint.
    pub src_endpoint: u16,
    /// PDU type (1 DATA, 2 NACK, 3 ACK, 4 ERR).
    pub pdu_type: u8,
    /// For DATA: the AlarmNotification's alarm type; for ERR: the PNIO status.
    pub code: Option<u32>,
}

impl Alarm {
    /// Parses an alarm frame's payload (from the frame id).
    pub fn parse(payload: &[u8]) -> Result<Self, PnioError> {
        let truncated = |field, offset| PnioError::Truncated { field, offset };
        let dst_endpoint = be16(payload, 2).ok_or(truncated("alarm header", 2))?;
        let src_endpoint = be16(payload, 4).ok_or(truncated("alarm header", 4))?;
        let pdu_type = payload.get(6).ok_or(truncated("alarm header", 6))? & 0x0f;
        // dst, src, type, flags, send seq, ack seq, var part length: 12 bytes after the id.
        let var_part = payload.get(14..).unwrap_or_default();
        let code = match pdu_type {
            // AlarmNotification block header (6 bytes), then the alarm type.
            1 => be16(var_part, 6).map(u32::from),
            4 => be32(var_part, 0),
            _ => None,
        };
        Ok(Self {
            dst_endpoint,
            src_endpoint,
            pdu_type,
            code,
        })
    }

    /// The PDU type's name.
    pub fn pdu_name(&self) -> &'static str {
        match self.pdu_type {
            1 => "data",
            2 => "nack",
            3 => "ack",
            4 => "err",
            _ => "other",
        }
    }
}

/// Dissects PROFINET IO real-time frames (cyclic data and alarms); stateless.
#[derive(Debug, Default)]
pub struct RtDissector;

impl FrameDissector for RtDissector {
    fn protocol(&self) -> &'static str {
        "pn_io"
    }

    fn on_frame(&self, frame: &LinkFrame<'_>, out: &mut Observations) -> bool {
        if frame.ethertype != pn_dcp::ETHERTYPE || frame.snap_oui.is_some() {
            return false;
        }
        let Some(frame_id) = be16(frame.payload, 0) else {
            return false;
        };
        match rt_kind(frame_id) {
            RtKind::Cyclic => {
                out.fact(
                    DeviceKey::Mac(frame.src_mac),
                    Attribute::Service,
                    "pn_io rt",
                    Source::ProfinetIo,
                    frame.now,
                );
                let mut detail = ValueBuf::<24>::new();
                let _ = write!(detail, "frame_id={frame_id:#06x}");
                out.frame_event(
                    frame,
                    "pn_io",
                    EventCategory::Read,
                    "cyclic_data",
                    detail.as_str(),
                );
                true
            }
            RtKind::Alarm { high } => {
                let mut detail = ValueBuf::<96>::new();
                detail.push_bytes(if high { b"high" } else { b"low" });
                match Alarm::parse(frame.payload) {
                    Ok(alarm) => {
                        let _ = write!(detail, " {}", alarm.pdu_name());
                        match (alarm.pdu_type, alarm.code) {
                            (1, Some(code)) => {
                                let _ = write!(detail, " alarm_type={code:#06x}");
                            }
                            (4, Some(code)) => {
                                let _ = write!(detail, " status={code:#010x}");
                            }
                            _ => {}
                        }
                    }
                    Err(e) => {
                        let _ = write!(detail, " {e}");
                    }
                }
                out.frame_event(
                    frame,
                    "pn_io",
                    EventCategory::Diagnostics,
                    "alarm",
                    detail.as_str(),
                );
                true
            }
            RtKind::Other => false,
        }
    }
}

/// Which PNIO interface a DCE/RPC packet addresses (the first field of its UUID).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interface {
    /// `dea00001-…`: the IO device.
    Device,
    /// `dea00002-…`: the IO controller.
    Controller,
    /// `dea00003-…`: the IO supervisor.
    Supervisor,
    /// `dea00004-…`: the parameter server.
    ParameterServer,
}

/// The part of every PNIO UUID after its first field: `-6c97-11d1-8271-00a02442df7d` (the
/// last 8 bytes; the middle two 16-bit fields are checked in the header's byte order).
const PNIO_UUID_NODE: [u8; 8] = [0x82, 0x71, 0x00, 0xa0, 0x24, 0x42, 0xdf, 0x7d];

/// A connectionless DCE/RPC header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DceRpc<'a> {
    /// Packet type (0 request, 1 ping, 2 response, 3 fault, 4 working, 5 nocall, 6 reject,
    /// 7 ack, 9 fack, ...).
    pub packet_type: u8,
    /// Flags 1 (0x04: fragment, 0x08: no fragment ack, 0x02: last fragment).
    pub flags1: u8,
    /// Whether integers are little-endian (data representation).
    pub little_endian: bool,
    /// Object UUID, as 16 bytes in the header's byte order.
    pub object: [u8; 16],
    /// The PNIO interface, when the interface UUID is one.
    pub interface: Option<Interface>,
    /// Sequence number.
    pub seqnum: u32,
    /// Operation number.
    pub opnum: u16,
    /// Fragment number.
    pub fragment: u16,
    /// The body (at most the declared length).
    pub body: &'a [u8],
}

impl<'a> DceRpc<'a> {
    /// Parses the 80-byte header and takes the body.
    pub fn parse(datagram: &'a [u8]) -> Result<Self, PnioError> {
        let header = datagram
            .get(..DCERPC_HEADER_LEN)
            .ok_or(PnioError::Truncated {
                field: "DCE/RPC header",
                offset: 0,
            })?;
        let version = header.first().copied().unwrap_or_default();
        if version != 4 {
            return Err(PnioError::NotDceRpc { version });
        }
        let little_endian = header.get(4).is_some_and(|d| d & 0x10 != 0);
        let u16_at = |at: usize| {
            let v = be16(header, at).unwrap_or_default();
            if little_endian {
                v.swap_bytes()
            } else {
                v
            }
        };
        let u32_at = |at: usize| {
            let v = be32(header, at).unwrap_or_default();
            if little_endian {
                v.swap_bytes()
            } else {
                v
            }
        };
        let mut object = [0u8; 16];
        object.copy_from_slice(header.get(8..24).unwrap_or(&[0; 16]));
        let interface = (u16_at(28) == 0x6c97
            && u16_at(30) == 0x11d1
            && header.get(32..40) == Some(&PNIO_UUID_NODE[..]))
        .then(|| match u32_at(24) {
            0xdea0_0001 => Some(Interface::Device),
            0xdea0_0002 => Some(Interface::Controller),
            0xdea0_0003 => Some(Interface::Supervisor),
            0xdea0_0004 => Some(Interface::ParameterServer),
            _ => None,
        })
        .flatten();
        let len = usize::from(u16_at(74));
        let rest = datagram.get(DCERPC_HEADER_LEN..).unwrap_or_default();
        Ok(Self {
            packet_type: header.get(1).copied().unwrap_or_default() & 0x1f,
            flags1: header.get(2).copied().unwrap_or_default(),
            little_endian,
            object,
            interface,
            seqnum: u32_at(64),
            opnum: u16_at(68),
            fragment: u16_at(76),
            body: rest.get(..len).unwrap_or(rest),
        })
    }

    /// Whether this is a later fragment (not the first) of a fragmented call.
    pub fn is_later_fragment(&self) -> bool {
        self.flags1 & 0x04 != 0 && self.fragment != 0
    }

    /// The (instance, device id, vendor id) a PNIO object UUID carries in its node field:
    /// `dea00000-6c97-11d1-8271-IIIIDDDDVVVV`.
    pub fn object_ids(&self) -> Option<(u16, u16, u16)> {
        let first = if self.little_endian {
            u32::from_le_bytes(self.object.get(..4)?.try_into().ok()?)
        } else {
            u32::from_be_bytes(self.object.get(..4)?.try_into().ok()?)
        };
        if first != 0xdea0_0000 || self.object.get(8..10)? != [0x82, 0x71] {
            return None;
        }
        Some((
            be16(&self.object, 10)?,
            be16(&self.object, 12)?,
            be16(&self.object, 14)?,
        ))
    }

    /// The PNIO status of a response (first four body bytes), 0 when fine.
    pub fn status(&self) -> Option<u32> {
        be32(self.body, 0)
    }

    /// The PNIO blocks after the NDR arguments (requests and responses alike).
    pub fn blocks(&self) -> Blocks<'a> {
        Blocks {
            data: self.body.get(NDR_LEN..).unwrap_or_default(),
            offset: 0,
            count: 0,
        }
    }
}

/// One PNIO block: type and its bytes from the block header on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block<'a> {
    /// Block type.
    pub block_type: u16,
    /// The whole block, header included (may be cut at the end of a first fragment).
    pub bytes: &'a [u8],
}

/// Iterator over PNIO blocks; stops at [`MAX_BLOCKS`], at the end, or at a block header that
/// does not fit. A block cut by the end of the data is yielded cut (first fragments).
#[derive(Debug, Clone)]
pub struct Blocks<'a> {
    data: &'a [u8],
    offset: usize,
    count: usize,
}

impl<'a> Iterator for Blocks<'a> {
    type Item = Block<'a>;

    fn next(&mut self) -> Option<Block<'a>> {
        if self.count >= MAX_BLOCKS {
            return None;
        }
        let rest = self.data.get(self.offset..)?;
        let block_type = be16(rest, 0)?;
        let len = usize::from(be16(rest, 2)?);
        self.count += 1;
        let end = (4 + len).min(rest.len());
        self.offset += 4 + len;
        Some(Block {
            block_type,
            bytes: rest.get(..end).unwrap_or(rest),
        })
    }
}

/// The record addressed by a read or write header block (IODReadReqHeader 0x0009,
/// IODReadResHeader 0x8009, IODWriteReqHeader 0x0008, IODWriteResHeader 0x8008).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// Application process id.
    pub api: u32,
    /// Slot.
    pub slot: u16,
    /// Subslot.
    pub subslot: u16,
    /// Record index.
    pub index: u16,
    /// Length of the record data after the header block.
    pub data_length: u32,
}

impl RecordHeader {
    /// Reads a record header block (type 0x0008/0x0009/0x8008/0x8009).
    pub fn parse(block: &[u8]) -> Option<Self> {
        Some(Self {
            api: be32(block, 24)?,
            slot: be16(block, 28)?,
            subslot: be16(block, 30)?,
            index: be16(block, 34)?,
            data_length: be32(block, 36)?,
        })
    }
}

/// I&M0 (block type 0x0020): the identification every PROFINET submodule answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Im0<'a> {
    /// PROFINET vendor id.
    pub vendor_id: u16,
    /// Order id (20 characters, space padded).
    pub order_id: &'a [u8],
    /// Serial number (16 characters).
    pub serial: &'a [u8],
    /// Hardware revision.
    pub hardware_revision: u16,
    /// Software revision: prefix (`V`, `R`, `P`, `U`, `T`) and three numbers.
    pub software_revision: (u8, u8, u8, u8),
}

impl<'a> Im0<'a> {
    /// Reads an I&M0 block (from its block header): vendor id at 6, order id at 8, serial at
    /// 28, hardware revision at 44, software revision at 46.
    pub fn parse(block: &'a [u8]) -> Option<Self> {
        if be16(block, 0)? != 0x0020 {
            return None;
        }
        let [p, a, b, c] = block.get(46..50)? else {
            return None;
        };
        Some(Self {
            vendor_id: be16(block, 6)?,
            order_id: block.get(8..28)?,
            serial: block.get(28..44)?,
            hardware_revision: be16(block, 44)?,
            software_revision: (*p, *a, *b, *c),
        })
    }
}

/// The name of a control command (the lowest bit set decides).
fn control_name(command: u16) -> &'static str {
    const NAMES: [(u16, &str); 7] = [
        (0x0001, "prm_end"),
        (0x0002, "application_ready"),
        (0x0004, "release"),
        (0x0008, "done"),
        (0x0010, "ready_for_companion"),
        (0x0020, "ready_for_rt_class_3"),
        (0x0040, "prm_begin"),
    ];
    NAMES
        .iter()
        .find(|(bit, _)| command & bit != 0)
        .map_or("control", |(_, name)| name)
}

/// Category and operation name of a request.
fn classify(opnum: u16, index: Option<u16>) -> (EventCategory, &'static str) {
    let read_category = match index {
        Some(index) if index >= 0x8000 => EventCategory::Diagnostics,
        _ => EventCategory::Read,
    };
    match opnum {
        0 => (EventCategory::Other, "connect"),
        1 => (EventCategory::Other, "release"),
        2 => (read_category, "read"),
        3 => match index {
            Some(index) if index < 0x8000 => (EventCategory::Write, "write"),
            _ => (EventCategory::ConfigurationChange, "write"),
        },
        4 => (EventCategory::Other, "control"),
        5 => (read_category, "read_implicit"),
        _ => (EventCategory::Other, "other"),
    }
}

/// Dissects PNIO CM datagrams of one flow; stateless (every datagram names its operation).
#[derive(Debug, Default)]
pub struct CmDissector;

impl Dissector for CmDissector {
    fn protocol(&self) -> &'static str {
        "pn_io"
    }

    fn on_datagram(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        payload: &[u8],
        out: &mut Observations,
    ) {
        let Ok(rpc) = DceRpc::parse(payload) else {
            return;
        };
        if rpc.interface.is_none() || rpc.is_later_fragment() {
            return;
        }
        match rpc.packet_type {
            0 => request(&rpc, flow, direction, out),
            2 => response(&rpc, flow, direction, out),
            _ => {}
        }
    }
}

/// The ProductCode `pn:0xVVVV/0xDDDD` (and Vendor) of an object UUID, about `key`.
fn object_facts(
    rpc: &DceRpc<'_>,
    key: DeviceKey,
    hearsay: bool,
    now: ironward_model::Timestamp,
    out: &mut Observations,
) {
    let Some((_, device, vendor)) = rpc.object_ids() else {
        return;
    };
    if (vendor, device) == (0, 0) {
        return;
    }
    let mut code = ValueBuf::<24>::new();
    let _ = write!(code, "pn:{vendor:#06x}/{device:#06x}");
    if hearsay {
        out.hearsay(
            key,
            Attribute::ProductCode,
            code.as_str(),
            Source::ProfinetIo,
            now,
        );
    } else {
        out.fact(
            key,
            Attribute::ProductCode,
            code.as_str(),
            Source::ProfinetIo,
            now,
        );
        if let Some(name) = vendor_name(vendor) {
            out.fact(key, Attribute::Vendor, name, Source::ProfinetIo, now);
        }
    }
}

fn request(rpc: &DceRpc<'_>, flow: &FlowMeta, direction: Direction, out: &mut Observations) {
    let sender = flow.sender(direction);
    let mut detail = ValueBuf::<256>::new();
    let mut index = None;
    let mut operation = None;
    let mut blocks = rpc.blocks();
    match rpc.opnum {
        0 => {
            if let Some(ar) = blocks.find(|b| b.block_type == 0x0101) {
                connect_request(ar.bytes, sender, flow, &mut detail, out);
            }
            if rpc.interface == Some(Interface::Device) {
                object_facts(rpc, flow.receiver(direction), true, flow.now, out);
            }
        }
        2 | 5 => {
            if let Some(header) = blocks
                .find(|b| b.block_type == 0x0009)
                .and_then(|b| RecordHeader::parse(b.bytes))
            {
                index = Some(header.index);
                let _ = write!(
                    detail,
                    "api={} slot={} subslot={:#06x} index={:#06x}",
                    header.api, header.slot, header.subslot, header.index
                );
            }
        }
        3 => write_request(&mut blocks, &mut detail, &mut index),
        4 => {
            if let Some(command) = blocks
                .find(|b| matches!(b.block_type, 0x0110..=0x0118))
                .and_then(|b| be16(b.bytes, 28))
            {
                operation = Some(control_name(command));
                let _ = write!(detail, "command={command:#06x}");
            }
        }
        _ => {
            let _ = write!(detail, "opnum={}", rpc.opnum);
        }
    }
    let (category, name) = classify(rpc.opnum, index);
    out.event(
        flow,
        direction,
        "pn_io",
        category,
        operation.unwrap_or(name),
        detail.as_str(),
    );
}

/// ARBlockReq: the AR type and the initiator's station name (its Hostname) and object UUID
/// (its ProductCode).
fn connect_request(
    ar: &[u8],
    sender: DeviceKey,
    flow: &FlowMeta,
    detail: &mut ValueBuf<256>,
    out: &mut Observations,
) {
    let Some(ar_type) = be16(ar, 6) else {
        return;
    };
    let _ = write!(detail, "ar_type={ar_type:#06x}");
    if let Some(object) = ar.get(32..48) {
        // The initiator object UUID is big-endian inside the block.
        if be32(object, 0) == Some(0xdea0_0000) {
            if let (Some(device), Some(vendor)) = (be16(object, 12), be16(object, 14)) {
                let mut code = ValueBuf::<24>::new();
                let _ = write!(code, "pn:{vendor:#06x}/{device:#06x}");
                out.fact(
                    sender,
                    Attribute::ProductCode,
                    code.as_str(),
                    Source::ProfinetIo,
                    flow.now,
                );
            }
        }
    }
    let name_len = be16(ar, 56).map_or(0, usize::from);
    if let Some(name) = ar.get(58..58 + name_len) {
        detail.push_bytes(b" station=");
        detail.push_bytes(name);
        out.fact_bytes(
            sender,
            Attribute::Hostname,
            name,
            Source::ProfinetIo,
            flow.now,
        );
    }
}

/// A write request: the record written, and for a multiple write the indexes inside.
fn write_request(blocks: &mut Blocks<'_>, detail: &mut ValueBuf<256>, index: &mut Option<u16>) {
    let Some(outer) = blocks.next() else {
        return;
    };
    let Some(header) = RecordHeader::parse(outer.bytes) else {
        return;
    };
    *index = Some(header.index);
    let _ = write!(
        detail,
        "slot={} subslot={:#06x} index={:#06x}",
        header.slot, header.subslot, header.index
    );
    if header.index != 0xe040 {
        return;
    }
    // Multiple write: write headers, each followed by its record data padded to 4 bytes.
    let data = blocks.data.get(blocks.offset..).unwrap_or_default();
    let mut at = 0usize;
    for i in 0..MAX_DETAIL_WRITES {
        let Some(inner) = data.get(at..).and_then(RecordHeader::parse) else {
            break;
        };
        let _ = write!(
            detail,
            "{}{:#06x}",
            if i == 0 { " writes=" } else { "," },
            inner.index
        );
        let Some(len) = be16(data, at + 2) else {
            break;
        };
        let next = at + 4 + usize::from(len) + inner.data_length as usize;
        at = next.div_ceil(4) * 4;
    }
}

fn response(rpc: &DceRpc<'_>, flow: &FlowMeta, direction: Direction, out: &mut Observations) {
    let sender = flow.sender(direction);
    if rpc.interface == Some(Interface::Device) {
        out.fact(
            sender,
            Attribute::Service,
            "pn_io",
            Source::ProfinetIo,
            flow.now,
        );
        object_facts(rpc, sender, false, flow.now, out);
    }
    let status = rpc.status().unwrap_or_default();
    if status != 0 {
        let index = rpc
            .blocks()
            .find(|b| matches!(b.block_type, 0x8008 | 0x8009))
            .and_then(|b| RecordHeader::parse(b.bytes))
            .map(|h| h.index);
        let (category, _) = classify(rpc.opnum, index);
        let mut detail = ValueBuf::<48>::new();
        let _ = write!(detail, "op={} status={status:#010x}", rpc.opnum);
        out.event(
            flow,
            direction.reverse(),
            "pn_io",
            category,
            "error_response",
            detail.as_str(),
        );
        return;
    }
    if matches!(rpc.opnum, 2 | 5) {
        read_response(rpc, sender, flow, out);
    }
}

/// A read answer: I&M0 identity, when the record holds it.
fn read_response(rpc: &DceRpc<'_>, sender: DeviceKey, flow: &FlowMeta, out: &mut Observations) {
    for block in rpc.blocks() {
        let Some(im) = Im0::parse(block.bytes) else {
            continue;
        };
        let now = flow.now;
        out.fact_bytes(
            sender,
            Attribute::ProductCode,
            im.order_id,
            Source::ProfinetIo,
            now,
        );
        out.fact_bytes(
            sender,
            Attribute::Serial,
            im.serial,
            Source::ProfinetIo,
            now,
        );
        let mut text = ValueBuf::<24>::new();
        let _ = write!(text, "{}", im.hardware_revision);
        out.fact(
            sender,
            Attribute::Hardware,
            text.as_str(),
            Source::ProfinetIo,
            now,
        );
        let (prefix, a, b, c) = im.software_revision;
        text.clear();
        if prefix.is_ascii_alphabetic() {
            let _ = write!(text, "{}{a}.{b}.{c}", char::from(prefix));
        } else {
            let _ = write!(text, "{a}.{b}.{c}");
        }
        out.fact(
            sender,
            Attribute::Firmware,
            text.as_str(),
            Source::ProfinetIo,
            now,
        );
        if let Some(name) = vendor_name(im.vendor_id) {
            out.fact(sender, Attribute::Vendor, name, Source::ProfinetIo, now);
        }
        return;
    }
}

/// Whether a datagram is a connectionless DCE/RPC packet for a PNIO interface.
pub fn looks_like_pnio_cm(payload: &[u8]) -> bool {
    DceRpc::parse(payload).is_ok_and(|rpc| rpc.interface.is_some())
}

/// Takes UDP flows whose first datagram is PNIO CM (DCE/RPC to a PNIO interface), on any
/// port.
#[derive(Debug, Default)]
pub struct CmFactory;

impl DissectorFactory for CmFactory {
    fn protocol(&self) -> &'static str {
        "pn_io"
    }

    fn select(
        &self,
        flow: &FlowMeta,
        _direction: Direction,
        first_payload: &[u8],
    ) -> Option<Box<dyn Dissector>> {
        (flow.transport == Transport::Udp && looks_like_pnio_cm(first_payload))
            .then(|| Box::new(CmDissector) as Box<dyn Dissector>)
    }
}

/// Adds the CM factory (UDP) to `registry`.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register(Box::new(CmFactory));
}

/// Adds the RT frame dissector to `registry` (after [`crate::pn_dcp`]'s).
pub fn register_frames(registry: &mut DissectorRegistry) {
    registry.register_frame(Box::new(RtDissector));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::hex;
    use ironward_model::{Fact, MacAddress, Timestamp};

    /// icsnpp_profinet_io_cm_mixed_1.pcap frame 9: Control (PrmEnd), big-endian.
    const PRM_END: &str = "0400200000000000dea000006c9711d1827100010101014ddea000016c9711d1827100a02442df7d35fda900358a12128004001c060b26ed0000000000000001000000020004ffffffff00340000000000000020000000200000002000000000000000200110001c0100000009f1a530c75f6d47b67f8073439deaad0002000000010000";
    /// Frame 11: its answer, little-endian.
    const PRM_END_OK: &str = "04020a00100000000000a0de976cd111827100010101014d0100a0de976cd111827100a02442df7d00a9fd358a3512128004001c060b26ed0000000001000000020000000400ffffffff34000000000000000000200000002000000000000000200000008110001c0100000009f1a530c75f6d47b67f8073439deaad0002000000080000";
    /// Frame 25: Read of index 0xf841 (PDRealData) from device 0x015a/0x0003.
    const READ: &str = "0400200000000000dea000006c9711d1827100010003015adea000016c9711d1827100a02442df7d13142f9000001000a994d2106890ca5a0000000000000001000000030002ffffffff00540000000000001000000000400000100000000000000000400009003c010000047c74224e166c4a58bf6b6c25a75870f000000000000000000000f84100001000000000000000000000000000000000000000000000000000";

    fn flow() -> FlowMeta {
        FlowMeta {
            id: 1,
            transport: Transport::Udp,
            client: ([192, 168, 1, 11], 49155).into(),
            server: ([192, 168, 1, 20], PORT).into(),
            now: Timestamp(1),
            frame: 1,
        }
    }

    type Events = Vec<(String, EventCategory, String, String)>;

    fn run(datagrams: &[(Direction, Vec<u8>)]) -> (Vec<Fact>, Events) {
        let meta = flow();
        let mut out = Observations::default();
        let mut dissector = CmFactory
            .select(&meta, datagrams[0].0, &datagrams[0].1)
            .expect("PNIO CM");
        for (direction, bytes) in datagrams {
            dissector.on_datagram(&meta, *direction, bytes, &mut out);
        }
        let facts = out.drain_facts().collect();
        let events = out
            .drain_events()
            .map(|e| {
                (
                    e.operation.into_owned(),
                    e.category,
                    e.detail,
                    e.src.ip.map(|ip| ip.to_string()).unwrap_or_default(),
                )
            })
            .collect();
        (facts, events)
    }

    /// A DCE/RPC request (big-endian) to the device interface with these PNIO blocks.
    fn request(opnum: u16, object: [u8; 6], blocks: &[u8]) -> Vec<u8> {
        let mut out = hex("04 00 20 00 00 00 00 00 dea00000 6c97 11d1 8271");
        out.extend_from_slice(&object);
        out.extend(hex("dea00001 6c97 11d1 8271 00a02442df7d"));
        out.extend([0u8; 16]); // activity
        out.extend([0u8; 8]); // boot time, interface version
        out.extend(hex("00000001"));
        out.extend(opnum.to_be_bytes());
        out.extend(hex("ffff ffff"));
        out.extend(((NDR_LEN + blocks.len()) as u16).to_be_bytes());
        out.extend(hex("0000 00 00"));
        out.extend(hex("00001000"));
        out.extend((blocks.len() as u32).to_be_bytes());
        out.extend(hex("00001000 00000000"));
        out.extend((blocks.len() as u32).to_be_bytes());
        out.extend_from_slice(blocks);
        out
    }

    /// The same as an answer (packet type 2) with a PNIO status.
    fn answer(opnum: u16, object: [u8; 6], status: u32, blocks: &[u8]) -> Vec<u8> {
        let mut out = request(opnum, object, blocks);
        out[1] = 2;
        out[80..84].copy_from_slice(&status.to_be_bytes());
        out
    }

    #[test]
    fn dcerpc_headers_in_both_byte_orders() {
        let be = hex(PRM_END);
        let rpc = DceRpc::parse(&be).unwrap();
        assert_eq!(
            (rpc.packet_type, rpc.little_endian, rpc.interface, rpc.opnum),
            (0, false, Some(Interface::Device), 4)
        );
        assert_eq!(rpc.object_ids(), Some((0x0001, 0x0101, 0x014d)));
        let le = hex(PRM_END_OK);
        let rpc = DceRpc::parse(&le).unwrap();
        assert_eq!(
            (rpc.packet_type, rpc.little_endian, rpc.interface, rpc.opnum),
            (2, true, Some(Interface::Device), 4)
        );
        assert_eq!(rpc.object_ids(), Some((0x0001, 0x0101, 0x014d)));
        assert_eq!(rpc.status(), Some(0));
        assert!(!looks_like_pnio_cm(&le[..79]));
        let mut other = le.clone();
        other[24] = 0x99;
        assert!(!looks_like_pnio_cm(&other));
        assert_eq!(
            DceRpc::parse(&[5; 80]),
            Err(PnioError::NotDceRpc { version: 5 })
        );
    }

    #[test]
    fn control_read_and_answers() {
        let (facts, events) = run(&[
            (Direction::ClientToServer, hex(PRM_END)),
            (Direction::ServerToClient, hex(PRM_END_OK)),
            (Direction::ClientToServer, hex(READ)),
        ]);
        assert_eq!(
            events,
            [
                (
                    "prm_end".into(),
                    EventCategory::Other,
                    "command=0x0001".into(),
                    "192.168.1.11".into()
                ),
                (
                    "read".into(),
                    EventCategory::Diagnostics,
                    "api=0 slot=0 subslot=0x0000 index=0xf841".into(),
                    "192.168.1.11".into()
                ),
            ]
        );
        let device: Vec<_> = facts
            .iter()
            .filter(|f| f.subject == DeviceKey::Ip([192, 168, 1, 20].into()))
            .map(|f| (f.attribute, f.value.to_string()))
            .collect();
        assert!(device.contains(&(Attribute::Service, "pn_io".into())));
        assert!(device.contains(&(Attribute::ProductCode, "pn:0x014d/0x0101".into())));
    }

    #[test]
    fn connect_names_the_controller() {
        let mut ar = hex("0101 0000 0100 0001");
        ar.extend([0x11; 16]); // AR UUID
        ar.extend(hex("0001 0002030405 06"));
        ar.extend(hex("dea00000 6c97 11d1 8271 0001 0102 002a")); // initiator object
        ar.extend(hex("00000011 0064 8892"));
        ar.extend(hex("0007"));
        ar.extend(b"plc-one");
        let len = (ar.len() - 4) as u16;
        ar[2..4].copy_from_slice(&len.to_be_bytes());
        let (facts, events) = run(&[(
            Direction::ClientToServer,
            request(0, [0, 1, 0, 3, 1, 0x5a], &ar),
        )]);
        assert_eq!(events[0].0, "connect");
        assert_eq!(events[0].2, "ar_type=0x0001 station=plc-one");
        let controller: Vec<_> = facts
            .iter()
            .filter(|f| f.subject == DeviceKey::Ip([192, 168, 1, 11].into()))
            .map(|f| (f.attribute, f.value.to_string()))
            .collect();
        assert!(controller.contains(&(Attribute::Hostname, "plc-one".into())));
        assert!(controller.contains(&(Attribute::ProductCode, "pn:0x002a/0x0102".into())));
        // What the controller says of the device is hearsay.
        assert!(facts
            .iter()
            .any(|f| f.value == "pn:0x015a/0x0003"
                && f.confidence <= ironward_model::HEARSAY_CONFIDENCE));
    }

    /// A record header block (read/write, request/answer) for `index`, `data_length` bytes of
    /// record data following.
    fn record_header(block_type: u16, index: u16, data_length: u32) -> Vec<u8> {
        let mut block = block_type.to_be_bytes().to_vec();
        block.extend(hex("003c 0100 0001"));
        block.extend([0x22; 16]);
        block.extend(hex("00000000 0001 8000 0000"));
        block.extend(index.to_be_bytes());
        block.extend(data_length.to_be_bytes());
        block.extend([0u8; 24]);
        block
    }

    #[test]
    fn writes_and_errors() {
        let mut multiple = record_header(0x0008, 0xe040, 0);
        let mut inner = record_header(0x0008, 0x8051, 5);
        inner.extend([1, 2, 3, 4, 5, 0, 0, 0]);
        inner.extend(record_header(0x0008, 0x0001, 4));
        inner.extend([9, 9, 9, 9]);
        multiple.extend(inner);
        let single = {
            let mut b = record_header(0x0008, 0x0002, 2);
            b.extend([7, 7]);
            b
        };
        let (_, events) = run(&[
            (Direction::ClientToServer, request(3, [0; 6], &multiple)),
            (Direction::ClientToServer, request(3, [0; 6], &single)),
            (
                Direction::ServerToClient,
                answer(3, [0; 6], 0xde80_b000, &record_header(0x8008, 0x0002, 0)),
            ),
        ]);
        assert_eq!(
            events,
            [
                (
                    "write".into(),
                    EventCategory::ConfigurationChange,
                    "slot=1 subslot=0x8000 index=0xe040 writes=0x8051,0x0001".into(),
                    "192.168.1.11".into()
                ),
                (
                    "write".into(),
                    EventCategory::Write,
                    "slot=1 subslot=0x8000 index=0x0002".into(),
                    "192.168.1.11".into()
                ),
                (
                    "error_response".into(),
                    EventCategory::Write,
                    "op=3 status=0xde80b000".into(),
                    "192.168.1.11".into()
                ),
            ]
        );
    }

    #[test]
    fn im0_identity_from_a_read_answer() {
        let mut record = record_header(0x8009, 0xaff0, 64);
        record.extend(hex("0020 0038 0100 002a"));
        record.extend(b"6ES7 516-3AN01-0AB0 ");
        record.extend(b"S C-X4U421302016");
        record.extend(hex("0003 56 02 06 00 0000 0000 0000 0101 001e"));
        let (facts, _) = run(&[(
            Direction::ServerToClient,
            answer(2, [0, 1, 0, 3, 0, 0x2a], 0, &record),
        )]);
        let values: Vec<_> = facts
            .iter()
            .map(|f| (f.attribute, f.value.to_string()))
            .collect();
        for expected in [
            (Attribute::ProductCode, "6ES7 516-3AN01-0AB0"),
            (Attribute::ProductCode, "pn:0x002a/0x0003"),
            (Attribute::Serial, "S C-X4U421302016"),
            (Attribute::Hardware, "3"),
            (Attribute::Firmware, "V2.6.0"),
            (Attribute::Vendor, "Siemens"),
        ] {
            assert!(
                values.contains(&(expected.0, expected.1.into())),
                "{expected:?} in {values:?}"
            );
        }
    }

    #[test]
    fn truncated_bodies_never_panic() {
        for bytes in [hex(PRM_END), hex(PRM_END_OK), hex(READ)] {
            for cut in 80..bytes.len() {
                let meta = flow();
                let mut out = Observations::default();
                CmDissector.on_datagram(&meta, Direction::ClientToServer, &bytes[..cut], &mut out);
                CmDissector.on_datagram(&meta, Direction::ServerToClient, &bytes[..cut], &mut out);
            }
        }
    }

    fn rt(payload: &[u8]) -> (bool, Vec<(String, EventCategory, String)>) {
        let frame = LinkFrame {
            src_mac: MacAddress([0x00, 0xa0, 0x45, 0x6d, 0xd3, 0x43]),
            dst_mac: MacAddress([0x00, 0x09, 0x91, 0x43, 0xe0, 0x67]),
            vlan: None,
            ethertype: pn_dcp::ETHERTYPE,
            snap_oui: None,
            payload,
            now: Timestamp(1),
            frame: 1,
        };
        let mut out = Observations::default();
        let taken = RtDissector.on_frame(&frame, &mut out);
        let events = out
            .drain_events()
            .map(|e| (e.operation.into_owned(), e.category, e.detail))
            .collect();
        (taken, events)
    }

    #[test]
    fn rt_frames() {
        let mut cyclic = hex("c000");
        cyclic.extend([0u8; 40]);
        cyclic.extend(hex("1234 35 00"));
        assert_eq!(
            rt(&cyclic),
            (
                true,
                vec![(
                    "cyclic_data".into(),
                    EventCategory::Read,
                    "frame_id=0xc000".into()
                )]
            )
        );
        // icsnpp_profinet_io_cm_mixed_1.pcap frame 602: an ERR-RTA alarm, low priority.
        let alarm = hex("fe01 8001 8001 14 01 ffff fffe 0004 cf81fd02 0000");
        assert_eq!(
            rt(&alarm).1,
            [(
                "alarm".into(),
                EventCategory::Diagnostics,
                "low err status=0xcf81fd02".into()
            )]
        );
        let data = hex("fc01 8001 8001 11 01 0000 ffff 0020 0002 001c 0100 0001 00000000");
        assert_eq!(rt(&data).1[0].2, "high data alarm_type=0x0001");
        assert_eq!(
            rt(&hex("fc01 80")).1[0].2,
            "high PNIO alarm header truncated at 2"
        );
        // DCP and PTCP are not RT IO frames.
        assert!(!rt(&hex("fefe 0500")).0);
        assert!(!rt(&hex("ff40 0000")).0);
        assert!(!rt(&hex("c0")).0);
    }
}
