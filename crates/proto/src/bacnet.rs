//! BACnet/IP (ASHRAE 135 annex J) over UDP: BVLC, NPDU and APDU, with the services that name
//! devices and change them.
//!
//! Recognised on any UDP port by a strict look at the BVLC header (type `0x81`, a known
//! function, a length equal to the datagram's and, for NPDU-carrying functions, NPDU version 1);
//! BACnet/IP lives on 47808–47823.
//!
//! Read: BVLC functions (Original-Unicast/Broadcast-NPDU, Distribute-Broadcast-To-Network and
//! Forwarded-NPDU, whose original B/IP address becomes the sender of everything inside; Result,
//! Register-Foreign-Device, BDT/FDT reads and writes), the NPDU (control, DNET/DADR, SNET/SADR,
//! hop count, network-layer messages) and the APDU (confirmed and unconfirmed requests, simple,
//! complex and segment ACKs, Error, Reject, Abort; segmentation, invoke id, service choice),
//! with BACnet's tag encoding (see [`tags`]).
//!
//! Facts, about the device that sent them: I-Am → ProtocolAddress `bacnet:device:<n>` and
//! Vendor (vendor identifier through ASHRAE's registry, `data/bacnet_vendors.csv`); I-Have of
//! a device object → Hostname; ReadProperty and ReadPropertyMultiple ACKs for the device object:
//! vendor-name → Vendor, model-name → Model, firmware-revision → Firmware,
//! application-software-version → Software, object-name → Hostname, description → Description,
//! location → Location, serial-number → Serial, vendor-identifier → Vendor, system-status →
//! State; every answering device gets Service `bacnet`. Devices behind a BACnet router (an
//! NPDU with a source network) have no IP address of their own: no identity fact is recorded
//! for them (it would land on the router), their operations are still events.
//!
//! Events (direction of the request): every confirmed and unconfirmed service with its
//! category (see [`names`]) and a detail naming objects and properties (`device,260001
//! vendor-name`) and, for writes, the value written (first value, bounded) and priority;
//! ReinitializeDevice → ModeChange (`coldstart`…), DeviceCommunicationControl →
//! ConfigurationChange (`disable 60 min`) — their passwords are never read; Error, Reject and
//! Abort → `error_response` with class and code names, in the category of the failed request;
//! network-layer messages (Who-Is-Router-To-Network, I-Am-Router-To-Network → Discovery); BVLC
//! management (foreign-device registration, table reads and writes, NAK results). Reads carry
//! no values. AtomicReadFile/AtomicWriteFile are per-call Read/Write events, and a whole-file
//! stream transfer (from position 0, contiguous, up to end-of-file for reads, up to a shorter
//! last chunk or the end of the flow for writes) also becomes one ProgramUpload /
//! ProgramDownload event with the SHA-256 of the content, hashed as it passes.
//!
//! Bounds: one datagram at a time; at most [`tags::MAX_TAGS`] tags and
//! [`tags::MAX_DEPTH`] nesting per APDU, [`MAX_ITEMS`] objects/properties per detail,
//! [`MAX_PENDING`] outstanding invoke ids and one upload and one download per flow.

pub mod names;
pub mod tags;

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use ironward_model::{Attribute, DeviceKey, EventCategory, Source};
use sha2::{Digest, Sha256};

use crate::value::ValueBuf;
use crate::{
    Direction, Dissector, DissectorFactory, DissectorRegistry, FlowMeta, Observations, Transport,
};
use tags::{app, Content, ObjectId, Tag, TagReader};

/// BACnet/IP's registered UDP port (0xBAC0).
pub const PORT: u16 = 47808;

/// Objects or properties listed in one event detail.
pub const MAX_ITEMS: usize = 8;

/// Outstanding confirmed requests remembered per flow (to name the service of a Reject, an
/// Abort or a file-read ACK).
pub const MAX_PENDING: usize = 32;

// Slots are remembered in a byte (1 + slot, 0 for none).
const _: () = assert!(MAX_PENDING < 255);

/// Event detail buffer size.
const DETAIL: usize = 256;

/// The BVLC type of BACnet/IP.
const BVLC_TYPE: u8 = 0x81;

/// Why a BACnet datagram could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BacnetError {
    /// The input ends inside `field`, which starts at `offset`.
    Truncated {
        /// The field that is cut.
        field: &'static str,
        /// Where it starts.
        offset: usize,
    },
    /// Not a BACnet/IP BVLC header (type or length wrong).
    BadBvlc {
        /// What is wrong.
        field: &'static str,
    },
    /// NPDU version other than 1.
    BadNpduVersion(u8),
    /// An application tag with an opening/closing length code, or a closing tag without an
    /// opening one, at `offset`.
    BadTag {
        /// Where the tag starts.
        offset: usize,
    },
    /// Opening tags nested deeper than [`tags::MAX_DEPTH`], at `offset`.
    TooDeep {
        /// Where the tag starts.
        offset: usize,
    },
    /// More than [`tags::MAX_TAGS`] tags in one APDU, at `offset`.
    TooManyTags {
        /// Where the tag starts.
        offset: usize,
    },
    /// A field the service requires is missing at `offset`.
    Missing {
        /// The missing field.
        field: &'static str,
        /// Where it was expected.
        offset: usize,
    },
}

impl std::fmt::Display for BacnetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Truncated { field, offset } => {
                write!(f, "BACnet truncated at {field} (offset {offset})")
            }
            Self::BadBvlc { field } => write!(f, "not a BACnet/IP BVLC header: {field}"),
            Self::BadNpduVersion(v) => write!(f, "BACnet NPDU version {v} (1 expected)"),
            Self::BadTag { offset } => write!(f, "BACnet bad tag at offset {offset}"),
            Self::TooDeep { offset } => {
                write!(f, "BACnet tags nested too deep at offset {offset}")
            }
            Self::TooManyTags { offset } => write!(f, "BACnet too many tags at offset {offset}"),
            Self::Missing { field, offset } => {
                write!(f, "BACnet {field} missing at offset {offset}")
            }
        }
    }
}

impl std::error::Error for BacnetError {}

/// BVLC function codes.
pub mod function {
    /// BVLC-Result.
    pub const RESULT: u8 = 0x00;
    /// Write-Broadcast-Distribution-Table.
    pub const WRITE_BDT: u8 = 0x01;
    /// Read-Broadcast-Distribution-Table.
    pub const READ_BDT: u8 = 0x02;
    /// Read-Broadcast-Distribution-Table-Ack.
    pub const READ_BDT_ACK: u8 = 0x03;
    /// Forwarded-NPDU.
    pub const FORWARDED_NPDU: u8 = 0x04;
    /// Register-Foreign-Device.
    pub const REGISTER_FOREIGN_DEVICE: u8 = 0x05;
    /// Read-Foreign-Device-Table.
    pub const READ_FDT: u8 = 0x06;
    /// Read-Foreign-Device-Table-Ack.
    pub const READ_FDT_ACK: u8 = 0x07;
    /// Delete-Foreign-Device-Table-Entry.
    pub const DELETE_FDT_ENTRY: u8 = 0x08;
    /// Distribute-Broadcast-To-Network.
    pub const DISTRIBUTE_BROADCAST: u8 = 0x09;
    /// Original-Unicast-NPDU.
    pub const ORIGINAL_UNICAST: u8 = 0x0a;
    /// Original-Broadcast-NPDU.
    pub const ORIGINAL_BROADCAST: u8 = 0x0b;
    /// Secure-BVLL.
    pub const SECURE_BVLL: u8 = 0x0c;
}

/// A BVLC header and what it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bvlc<'a> {
    /// BVLC function.
    pub function: u8,
    /// For Forwarded-NPDU: the original source B/IP address.
    pub original_source: Option<SocketAddr>,
    /// The NPDU, for the functions that carry one.
    pub npdu: Option<&'a [u8]>,
    /// The bytes after the header (and original address) for other functions.
    pub body: &'a [u8],
}

impl<'a> Bvlc<'a> {
    /// Reads a BVLC header from a whole datagram.
    pub fn parse(datagram: &'a [u8]) -> Result<Self, BacnetError> {
        let [ty, function, hi, lo, rest @ ..] = datagram else {
            return Err(BacnetError::Truncated {
                field: "bvlc header",
                offset: 0,
            });
        };
        if *ty != BVLC_TYPE {
            return Err(BacnetError::BadBvlc { field: "type" });
        }
        let length = usize::from(u16::from_be_bytes([*hi, *lo]));
        // A length past the datagram's end is read as far as the datagram goes (captures cut
        // by a snap length, stacks that miscount); shorter, the rest is trailing bytes.
        if length < 4 {
            return Err(BacnetError::BadBvlc { field: "length" });
        }
        let body = rest.get(..length - 4).unwrap_or(rest);
        let (original_source, npdu) = match *function {
            function::FORWARDED_NPDU => {
                let [a, b, c, d, p0, p1, npdu @ ..] = body else {
                    return Err(BacnetError::Truncated {
                        field: "original source",
                        offset: 4,
                    });
                };
                let source = SocketAddr::new(
                    IpAddr::V4(Ipv4Addr::new(*a, *b, *c, *d)),
                    u16::from_be_bytes([*p0, *p1]),
                );
                (Some(source), Some(npdu))
            }
            function::ORIGINAL_UNICAST
            | function::ORIGINAL_BROADCAST
            | function::DISTRIBUTE_BROADCAST => (None, Some(body)),
            _ => (None, None),
        };
        Ok(Self {
            function: *function,
            original_source,
            npdu,
            body,
        })
    }
}

/// Whether a datagram starts with a plausible BACnet/IP BVLC header (type `0x81`, a known
/// function, the datagram's length and, when an NPDU follows, NPDU version 1).
pub fn looks_like_bvlc(datagram: &[u8]) -> bool {
    let exact = datagram.get(2..4) == Some(&(datagram.len() as u16).to_be_bytes()[..]);
    exact && looks_like_bvlc_on_port(datagram)
}

/// The looser check used on BACnet/IP's ports: the BVLC length may be shorter than the
/// datagram (some stacks pad, some captures carry trailing bytes).
fn looks_like_bvlc_on_port(datagram: &[u8]) -> bool {
    let Ok(bvlc) = Bvlc::parse(datagram) else {
        return false;
    };
    bvlc.function <= function::SECURE_BVLL && bvlc.npdu.is_none_or(|npdu| npdu.first() == Some(&1))
}

/// BACnet/IP's UDP ports (47808–47823, 0xBAC0–0xBACF).
fn bacnet_port(port: u16) -> bool {
    (PORT..PORT + 16).contains(&port)
}

/// A BACnet network address (network number and MAC; an empty MAC is a broadcast).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetAddress<'a> {
    /// Network number (65535: global broadcast).
    pub network: u16,
    /// MAC address on that network.
    pub mac: &'a [u8],
}

/// An NPDU header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Npdu<'a> {
    /// Control octet.
    pub control: u8,
    /// Destination network and address (DNET/DADR).
    pub destination: Option<NetAddress<'a>>,
    /// Source network and address (SNET/SADR): the message was routed from another network.
    pub source: Option<NetAddress<'a>>,
    /// Hop count (with a destination).
    pub hop_count: Option<u8>,
    /// Network-layer message type, when this is not an APDU.
    pub message_type: Option<u8>,
    /// Vendor id of a proprietary network-layer message.
    pub vendor: Option<u16>,
    /// The APDU or the network-layer message's data.
    pub payload: &'a [u8],
}

impl<'a> Npdu<'a> {
    /// Reads an NPDU.
    pub fn parse(data: &'a [u8]) -> Result<Self, BacnetError> {
        let truncated = |field, offset| BacnetError::Truncated { field, offset };
        let [version, control, ..] = data else {
            return Err(truncated("npdu header", 0));
        };
        if *version != 1 {
            return Err(BacnetError::BadNpduVersion(*version));
        }
        let control = *control;
        let mut at = 2;
        let address = |at: &mut usize, field| -> Result<NetAddress<'a>, BacnetError> {
            let head = data.get(*at..*at + 3).ok_or(truncated(field, *at))?;
            let network = u16::from_be_bytes([head[0], head[1]]);
            let len = usize::from(head[2]);
            let mac = data
                .get(*at + 3..*at + 3 + len)
                .ok_or(truncated(field, *at))?;
            *at += 3 + len;
            Ok(NetAddress { network, mac })
        };
        let destination = if control & 0x20 != 0 {
            Some(address(&mut at, "destination")?)
        } else {
            None
        };
        let source = if control & 0x08 != 0 {
            Some(address(&mut at, "source")?)
        } else {
            None
        };
        let hop_count = if destination.is_some() {
            let hops = *data.get(at).ok_or(truncated("hop count", at))?;
            at += 1;
            Some(hops)
        } else {
            None
        };
        let (mut message_type, mut vendor) = (None, None);
        if control & 0x80 != 0 {
            let ty = *data.get(at).ok_or(truncated("message type", at))?;
            at += 1;
            if ty >= 0x80 {
                let v = data.get(at..at + 2).ok_or(truncated("vendor id", at))?;
                vendor = Some(u16::from_be_bytes([v[0], v[1]]));
                at += 2;
            }
            message_type = Some(ty);
        }
        Ok(Self {
            control,
            destination,
            source,
            hop_count,
            message_type,
            vendor,
            payload: data.get(at..).unwrap_or_default(),
        })
    }
}

/// APDU types.
pub mod pdu {
    /// BACnet-Confirmed-Request-PDU.
    pub const CONFIRMED_REQUEST: u8 = 0;
    /// BACnet-Unconfirmed-Request-PDU.
    pub const UNCONFIRMED_REQUEST: u8 = 1;
    /// BACnet-SimpleACK-PDU.
    pub const SIMPLE_ACK: u8 = 2;
    /// BACnet-ComplexACK-PDU.
    pub const COMPLEX_ACK: u8 = 3;
    /// BACnet-SegmentACK-PDU.
    pub const SEGMENT_ACK: u8 = 4;
    /// BACnet-Error-PDU.
    pub const ERROR: u8 = 5;
    /// BACnet-Reject-PDU.
    pub const REJECT: u8 = 6;
    /// BACnet-Abort-PDU.
    pub const ABORT: u8 = 7;
}

/// An APDU header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Apdu<'a> {
    /// PDU type (see [`pdu`]).
    pub pdu_type: u8,
    /// The low four bits of the first octet (SEG, MOR, SA / NAK, SRV).
    pub flags: u8,
    /// Invoke id (all but unconfirmed requests).
    pub invoke_id: Option<u8>,
    /// Segment sequence number (segmented messages, segment ACKs).
    pub sequence: Option<u8>,
    /// Service choice (requests, ACKs, errors), reject reason or abort reason.
    pub choice: Option<u8>,
    /// Max APDU length accepted (confirmed requests), in bytes.
    pub max_apdu: Option<u16>,
    /// The service data after the header.
    pub body: &'a [u8],
}

impl<'a> Apdu<'a> {
    /// Reads an APDU header.
    #[inline]
    pub fn parse(data: &'a [u8]) -> Result<Self, BacnetError> {
        let first = *data.first().ok_or(BacnetError::Truncated {
            field: "apdu type",
            offset: 0,
        })?;
        let (pdu_type, flags) = (first >> 4, first & 0x0f);
        let segmented = flags & 0x08 != 0;
        let byte = |i: usize, field| {
            data.get(i)
                .copied()
                .ok_or(BacnetError::Truncated { field, offset: i })
        };
        let mut apdu = Self {
            pdu_type,
            flags,
            invoke_id: None,
            sequence: None,
            choice: None,
            max_apdu: None,
            body: &[],
        };
        let at = match pdu_type {
            pdu::CONFIRMED_REQUEST => {
                let sizes = byte(1, "max apdu")?;
                apdu.max_apdu = Some(max_apdu(sizes & 0x0f));
                apdu.invoke_id = Some(byte(2, "invoke id")?);
                let mut at = 3;
                if segmented {
                    apdu.sequence = Some(byte(3, "sequence number")?);
                    at = 5;
                }
                apdu.choice = Some(byte(at, "service choice")?);
                at + 1
            }
            pdu::UNCONFIRMED_REQUEST => {
                apdu.choice = Some(byte(1, "service choice")?);
                2
            }
            pdu::SIMPLE_ACK | pdu::ERROR => {
                apdu.invoke_id = Some(byte(1, "invoke id")?);
                apdu.choice = Some(byte(2, "service choice")?);
                3
            }
            pdu::COMPLEX_ACK => {
                apdu.invoke_id = Some(byte(1, "invoke id")?);
                let mut at = 2;
                if segmented {
                    apdu.sequence = Some(byte(2, "sequence number")?);
                    at = 4;
                }
                apdu.choice = Some(byte(at, "service choice")?);
                at + 1
            }
            pdu::SEGMENT_ACK => {
                apdu.invoke_id = Some(byte(1, "invoke id")?);
                apdu.sequence = Some(byte(2, "sequence number")?);
                byte(3, "window size")?;
                4
            }
            pdu::REJECT | pdu::ABORT => {
                apdu.invoke_id = Some(byte(1, "invoke id")?);
                apdu.choice = Some(byte(2, "reason")?);
                3
            }
            _ => data.len(),
        };
        apdu.body = data.get(at..).unwrap_or_default();
        Ok(apdu)
    }

    /// Whether this is a segment of a segmented message.
    pub fn segmented(&self) -> bool {
        matches!(self.pdu_type, pdu::CONFIRMED_REQUEST | pdu::COMPLEX_ACK) && self.flags & 0x08 != 0
    }

    /// Whether this segment is the first one (or the message is not segmented).
    pub fn first_segment(&self) -> bool {
        !self.segmented() || self.sequence == Some(0)
    }
}

/// Max APDU length accepted, from its 4-bit code.
fn max_apdu(code: u8) -> u16 {
    match code {
        0 => 50,
        1 => 128,
        2 => 206,
        3 => 480,
        4 => 1024,
        _ => 1476,
    }
}

/// Writes detail text the way `write!` into a [`ValueBuf`] does — each piece whole or not at
/// all, nothing after the first piece that does not fit — without `core::fmt`'s machinery on the
/// per-packet path. Details come out byte for byte as the formatted ones did, also when they
/// fill their buffer.
struct Pieces<'b, const N: usize> {
    out: &'b mut ValueBuf<N>,
    fits: bool,
}

impl<'b, const N: usize> Pieces<'b, N> {
    fn new(out: &'b mut ValueBuf<N>) -> Self {
        Self { out, fits: true }
    }

    fn text(self, piece: &str) -> Self {
        self.bytes(piece.as_bytes())
    }

    fn bytes(mut self, piece: &[u8]) -> Self {
        if self.fits {
            self.fits = self.out.as_bytes().len() + piece.len() <= N;
            if self.fits {
                self.out.push_bytes(piece);
            }
        }
        self
    }

    /// A decimal number, as `{}` writes any unsigned integer.
    fn num(self, n: u64) -> Self {
        self.bytes(crate::value::decimal(n, &mut [0u8; 20]))
    }

    /// An object identifier, as its `Display` writes it (`device,5`, `1023,7`).
    fn object(self, id: ObjectId) -> Self {
        match names::object_type(id.object_type) {
            Some(name) => self.text(name),
            None => self.num(u64::from(id.object_type)),
        }
        .text(",")
        .num(u64::from(id.instance))
    }
}

/// `bacnet:device:<instance>`, the protocol address of a device.
fn device_address(instance: u32) -> ValueBuf<32> {
    let mut address = ValueBuf::<32>::new();
    address.push_bytes(b"bacnet:device:");
    address.push_u64(u64::from(instance));
    address
}

/// Adds the BACnet/IP dissector to `registry`.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register(Box::new(BacnetFactory));
}

/// Takes UDP flows whose first datagram is a BACnet/IP BVLC message.
#[derive(Debug, Clone, Copy, Default)]
pub struct BacnetFactory;

impl DissectorFactory for BacnetFactory {
    fn protocol(&self) -> &'static str {
        "bacnet"
    }

    fn select(
        &self,
        flow: &FlowMeta,
        _direction: Direction,
        first_payload: &[u8],
    ) -> Option<Box<dyn Dissector>> {
        let on_port = bacnet_port(flow.server.port()) || bacnet_port(flow.client.port());
        let recognised =
            looks_like_bvlc(first_payload) || (on_port && looks_like_bvlc_on_port(first_payload));
        (flow.transport == Transport::Udp && recognised)
            .then(|| Box::<BacnetDissector>::default() as Box<dyn Dissector>)
    }
}

/// A confirmed request waiting for its answer.
#[derive(Debug, Clone, Copy)]
struct Pending {
    invoke_id: u8,
    /// Direction of the request.
    direction: Direction,
    service: u8,
    /// For AtomicReadFile stream access: the file and start position asked for.
    file: Option<(u32, i64)>,
}

/// Distinct [`pending_key`]s: an invoke id in each direction.
const PENDING_KEYS: usize = 512;

/// What identifies an outstanding request: its invoke id and direction.
fn pending_key(invoke_id: u8, direction: Direction) -> usize {
    direction.index() << 8 | usize::from(invoke_id)
}

/// A file transfer being hashed.
#[derive(Debug, Clone)]
struct Transfer {
    file: u32,
    /// Direction of the requests.
    direction: Direction,
    next: i64,
    /// Size of the first chunk of a write (a shorter one is the last).
    chunk: usize,
    hasher: Sha256,
}

/// Per-flow BACnet state.
#[derive(Debug)]
pub struct BacnetDissector {
    pending: [Option<Pending>; MAX_PENDING],
    /// For each [`pending_key`], 1 + the slot of `pending` holding that request (0: none): every
    /// request and every answer looks its invoke id up, in one step rather than a scan.
    slot_of: [u8; PENDING_KEYS],
    next_slot: usize,
    upload: Option<Transfer>,
    download: Option<Transfer>,
    /// Requests (confirmed, Who-Is, Who-Has) sent in each direction.
    asked: [u32; 2],
    /// Answers (ACKs, errors, rejects, I-Am, I-Have) sent in each direction.
    answered: [u32; 2],
}

impl Default for BacnetDissector {
    fn default() -> Self {
        Self {
            pending: [None; MAX_PENDING],
            slot_of: [0; PENDING_KEYS],
            next_slot: 0,
            upload: None,
            download: None,
            asked: [0; 2],
            answered: [0; 2],
        }
    }
}

/// Where a message comes from: the flow as seen by the events (with a forwarded message's
/// original source), and whom identity facts are about (none for routed devices).
#[derive(Debug, Clone, Copy)]
struct Origin<'f> {
    /// The dissected flow, or a copy naming a forwarded message's original source (borrowed:
    /// not copied for every datagram).
    flow: &'f FlowMeta,
    direction: Direction,
    /// The sending device, when it has an IP address of its own.
    device: Option<DeviceKey>,
}

impl Origin<'_> {
    fn fact(&self, out: &mut Observations, attribute: Attribute, value: &str) {
        if let Some(device) = self.device {
            out.fact(device, attribute, value, Source::Bacnet, self.flow.now);
        }
    }
}

impl BacnetDissector {
    /// A request reusing an outstanding invoke id (same direction) takes its slot; otherwise
    /// the oldest slot is reused.
    fn remember(&mut self, pending: Pending) {
        let key = pending_key(pending.invoke_id, pending.direction);
        let slot = match self.slot_of.get(key).copied().unwrap_or_default() {
            0 => self.next_slot,
            taken => usize::from(taken) - 1,
        };
        if let Some(entry) = self.pending.get_mut(slot) {
            if let Some(evicted) = entry.replace(pending) {
                if let Some(index) = self
                    .slot_of
                    .get_mut(pending_key(evicted.invoke_id, evicted.direction))
                {
                    *index = 0;
                }
            }
            if let Some(index) = self.slot_of.get_mut(key) {
                *index = slot as u8 + 1;
            }
        }
        if slot == self.next_slot {
            self.next_slot = (self.next_slot + 1) % MAX_PENDING;
        }
    }

    /// The request answered by a response to `invoke_id` sent in `response_direction`.
    fn answered(&mut self, invoke_id: u8, response_direction: Direction) -> Option<Pending> {
        let index = self
            .slot_of
            .get_mut(pending_key(invoke_id, response_direction.reverse()))?;
        let slot = usize::from(std::mem::take(index)).checked_sub(1)?;
        self.pending.get_mut(slot)?.take()
    }

    fn on_bvlc(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        datagram: &[u8],
        out: &mut Observations,
    ) {
        let bvlc = match Bvlc::parse(datagram) {
            Ok(bvlc) => bvlc,
            Err(error) => return report(flow, direction, out, "malformed", error),
        };
        if let Some(violation) = check_bvlc(datagram) {
            // Written as `BvlcViolation`'s Display does, without `core::fmt`: a stack sending
            // a wrong length repeats it in every datagram.
            let mut detail = ValueBuf::<128>::new();
            match violation {
                BvlcViolation::Length { length, present } => {
                    detail.push_bytes(b"BVLC length ");
                    detail.push_u64(u64::from(length));
                    detail.push_bytes(b" but the datagram has ");
                    detail.push_u64(present as u64);
                    detail.push_bytes(b" bytes");
                }
                BvlcViolation::Function(code) => {
                    detail.push_bytes(b"BVLC function 0x");
                    detail.push_hex(&[code]);
                    detail.push_bytes(b" not defined");
                }
            }
            let detail = detail.as_str();
            out.event(
                flow,
                direction,
                "bacnet",
                EventCategory::Other,
                "violation",
                detail,
            );
        }
        let forwarded: FlowMeta;
        let mut origin = Origin {
            flow,
            direction,
            device: Some(flow.sender(direction)),
        };
        if let Some(source) = bvlc.original_source {
            // Facts and events are about the device that sent the message the BBMD forwards.
            let mut original = *flow;
            match direction {
                Direction::ClientToServer => original.client = source,
                Direction::ServerToClient => original.server = source,
            }
            forwarded = original;
            origin.flow = &forwarded;
            origin.device = Some(DeviceKey::Ip(source.ip()));
        }
        match bvlc.npdu {
            Some(bytes) => match Npdu::parse(bytes) {
                Ok(npdu) => {
                    if let Some(&control) = bytes.get(1).filter(|&&c| c & NPDU_RESERVED != 0) {
                        let mut detail = ValueBuf::<128>::new();
                        detail.push_bytes(b"NPDU control 0x");
                        detail.push_hex(&[control]);
                        detail.push_bytes(b": reserved bits 0x");
                        detail.push_hex(&[NPDU_RESERVED]);
                        detail.push_bytes(b" must be 0");
                        out.event(
                            origin.flow,
                            direction,
                            "bacnet",
                            EventCategory::Other,
                            "violation",
                            detail.as_str(),
                        );
                    }
                    self.on_npdu(origin, &npdu, out);
                }
                Err(error @ BacnetError::BadNpduVersion(_)) => {
                    report(origin.flow, direction, out, "violation", error);
                }
                Err(error) => report(origin.flow, direction, out, "malformed", error),
            },
            None => on_bvlc_management(flow, direction, &bvlc, out),
        }
    }

    fn on_npdu(&mut self, mut origin: Origin<'_>, npdu: &Npdu<'_>, out: &mut Observations) {
        if npdu.source.is_some() {
            origin.device = None;
        }
        if let Some(ty) = npdu.message_type {
            on_network_message(&origin, ty, npdu.payload, out);
            return;
        }
        let apdu = match Apdu::parse(npdu.payload) {
            Ok(apdu) => apdu,
            Err(error) => {
                return report(origin.flow, origin.direction, out, "malformed", error);
            }
        };
        if let Err(error) = self.on_apdu(&origin, &apdu, out) {
            report(origin.flow, origin.direction, out, "malformed", error);
        }
    }

    fn on_apdu(
        &mut self,
        origin: &Origin<'_>,
        apdu: &Apdu<'_>,
        out: &mut Observations,
    ) -> Result<(), BacnetError> {
        let (flow, direction) = (origin.flow, origin.direction);
        let choice = apdu.choice.unwrap_or_default();
        // Who asks and who answers, for the flow's roles (both ends use port 47808).
        let side = direction.index();
        match (apdu.pdu_type, choice) {
            (pdu::CONFIRMED_REQUEST, _) | (pdu::UNCONFIRMED_REQUEST, 7 | 8) => {
                self.asked[side] = self.asked[side].saturating_add(1);
            }
            (pdu::SIMPLE_ACK | pdu::COMPLEX_ACK | pdu::ERROR | pdu::REJECT, _)
            | (pdu::UNCONFIRMED_REQUEST, 0 | 1) => {
                self.answered[side] = self.answered[side].saturating_add(1);
            }
            _ => {}
        }
        match apdu.pdu_type {
            pdu::CONFIRMED_REQUEST => {
                let invoke_id = apdu.invoke_id.unwrap_or_default();
                let mut pending = Pending {
                    invoke_id,
                    direction,
                    service: choice,
                    file: None,
                };
                if apdu.first_segment() {
                    pending.file = self.confirmed_request(origin, choice, apdu.body, out)?;
                }
                self.remember(pending);
            }
            pdu::UNCONFIRMED_REQUEST => unconfirmed_request(origin, choice, apdu.body, out)?,
            pdu::SIMPLE_ACK => {
                self.answered(apdu.invoke_id.unwrap_or_default(), direction);
                origin.fact(out, Attribute::Service, "bacnet");
            }
            pdu::COMPLEX_ACK => {
                let pending = self.answered(apdu.invoke_id.unwrap_or_default(), direction);
                origin.fact(out, Attribute::Service, "bacnet");
                if apdu.first_segment() {
                    self.complex_ack(origin, choice, pending, apdu.body, out)?;
                }
            }
            pdu::ERROR => {
                self.answered(apdu.invoke_id.unwrap_or_default(), direction);
                let (service, category) = names::confirmed(choice);
                if choice == 7 {
                    self.download = None;
                }
                if choice == 6 {
                    self.upload = None;
                }
                let mut detail = ValueBuf::<DETAIL>::new();
                Pieces::new(&mut detail).text(service).text(": ");
                push_error(&mut detail, apdu.body);
                out.event(
                    flow,
                    direction.reverse(),
                    "bacnet",
                    category,
                    "error_response",
                    detail.as_str(),
                );
            }
            pdu::REJECT | pdu::ABORT => {
                // An Abort with SRV clear comes from the requester; every other one answers.
                let from_requester = apdu.pdu_type == pdu::ABORT && apdu.flags & 0x01 == 0;
                let request_direction = if from_requester {
                    direction
                } else {
                    direction.reverse()
                };
                let pending = self.answered(
                    apdu.invoke_id.unwrap_or_default(),
                    request_direction.reverse(),
                );
                let (service, category) = pending
                    .map(|p| names::confirmed(p.service))
                    .unwrap_or(("unknown_service", EventCategory::Other));
                let (kind, reason) = if apdu.pdu_type == pdu::REJECT {
                    ("reject", names::reject_reason(choice))
                } else {
                    ("abort", names::abort_reason(choice))
                };
                let mut detail = ValueBuf::<DETAIL>::new();
                let written = Pieces::new(&mut detail)
                    .text(service)
                    .text(": ")
                    .text(kind)
                    .text(" ");
                match reason {
                    Some(reason) => written.text(reason),
                    None => written.num(u64::from(choice)),
                };
                out.event(
                    flow,
                    request_direction,
                    "bacnet",
                    category,
                    "error_response",
                    detail.as_str(),
                );
            }
            _ => {}
        }
        Ok(())
    }

    /// A confirmed request's event; returns the file position asked for by an AtomicReadFile.
    fn confirmed_request(
        &mut self,
        origin: &Origin<'_>,
        choice: u8,
        body: &[u8],
        out: &mut Observations,
    ) -> Result<Option<(u32, i64)>, BacnetError> {
        let (flow, direction) = (origin.flow, origin.direction);
        let (operation, category) = names::confirmed(choice);
        if matches!(choice, 12 | 14 | 26) {
            // Reads repeat at poll rate: the service data (objects, properties, indexes)
            // determines the detail, written only the first time.
            out.event_keyed(
                flow,
                direction,
                "bacnet",
                category,
                operation,
                (choice, body),
                |text| {
                    if let Some((id, property, index)) =
                        plain_read_property(body).filter(|_| choice == 12)
                    {
                        // Far shorter than either buffer: nothing is cut.
                        Pieces::new(text).object(id).text(" ");
                        push_property(text, property);
                        if let Some(index) = index {
                            Pieces::new(text).text("[").num(index).text("]");
                        }
                        return;
                    }
                    let mut detail = ValueBuf::<DETAIL>::new();
                    let mut r = TagReader::new(body);
                    let _ = if choice == 14 {
                        push_read_access_specs(&mut detail, &mut r)
                    } else {
                        push_object_property(&mut detail, &mut r, 0)
                    };
                    text.push_bytes(detail.as_bytes());
                },
            );
            return Ok(None);
        }
        let mut detail = ValueBuf::<DETAIL>::new();
        let mut r = TagReader::new(body);
        let mut file = None;
        // The event is recorded even when the service data is cut or malformed: the request
        // happened; only its detail is short.
        let parsed: Result<(), BacnetError> = (|| {
            match choice {
                // ReadProperty, ReadRange, SubscribeCOVProperty's object/property pair.
                12 | 26 => {
                    push_object_property(&mut detail, &mut r, 0)?;
                }
                // ReadPropertyMultiple.
                14 => push_read_access_specs(&mut detail, &mut r)?,
                // WriteProperty.
                15 => {
                    push_object_property(&mut detail, &mut r, 0)?;
                    if r.opening(3)? {
                        if let Some(value) = r.value_until_closing()? {
                            detail.push_bytes(b" = ");
                            tags::push_value(&mut detail, &value);
                        }
                    }
                    if let Some(priority) = r.context(4)?.and_then(|t| t.unsigned()) {
                        Pieces::new(&mut detail).text(" priority ").num(priority);
                    }
                }
                // WritePropertyMultiple.
                16 => push_write_access_specs(&mut detail, &mut r)?,
                // ReinitializeDevice: the state; the password ([1]) is never read.
                20 => {
                    let state = r.context(0)?.and_then(|t| t.unsigned());
                    match state.and_then(names::reinitialize_state) {
                        Some(name) => detail.push_bytes(name.as_bytes()),
                        None => {
                            Pieces::new(&mut detail)
                                .text("state ")
                                .num(state.unwrap_or_default());
                        }
                    }
                }
                // DeviceCommunicationControl: enable/disable and duration; password skipped.
                17 => {
                    let minutes = r.context(0)?.and_then(|t| t.unsigned());
                    let action = r.context(1)?.and_then(|t| t.unsigned());
                    match action.and_then(names::enable_disable) {
                        Some(name) => detail.push_bytes(name.as_bytes()),
                        None => detail.push_bytes(b"?"),
                    }
                    if let Some(minutes) = minutes {
                        Pieces::new(&mut detail).text(" ").num(minutes).text(" min");
                    }
                }
                // SubscribeCOV / SubscribeCOVProperty: the monitored object.
                5 | 28 => {
                    r.context(0)?;
                    if let Some(id) = r.context(1)?.and_then(|t| t.object_id()) {
                        Pieces::new(&mut detail).object(id);
                    }
                }
                // ConfirmedCOVNotification: initiating device and monitored object.
                1 => push_cov(&mut detail, &mut r)?,
                // AtomicReadFile / AtomicWriteFile.
                6 => {
                    let id = r.application(app::OBJECT_ID)?.and_then(|t| t.object_id());
                    if let Some(id) = id {
                        Pieces::new(&mut detail).object(id);
                    }
                    if r.opening(0)? {
                        detail.push_bytes(b" stream");
                        let start = r.application(app::SIGNED)?.and_then(|t| t.signed());
                        if let (Some(id), Some(start)) = (id, start) {
                            file = Some((id.instance, start));
                        }
                    } else if r.opening(1)? {
                        detail.push_bytes(b" records");
                    }
                }
                7 => {
                    let id = r.application(app::OBJECT_ID)?.and_then(|t| t.object_id());
                    if let Some(id) = id {
                        Pieces::new(&mut detail).object(id);
                    }
                    if r.opening(0)? {
                        detail.push_bytes(b" stream");
                        let start = r.application(app::SIGNED)?.and_then(|t| t.signed());
                        let data = r.application(app::OCTET_STRING)?.map(|t| t.data());
                        if let (Some(id), Some(start), Some(data)) = (id, start, data) {
                            self.file_write(origin, id.instance, start, data, out);
                        }
                    } else if r.opening(1)? {
                        detail.push_bytes(b" records");
                    }
                }
                // CreateObject: the object type or identifier.
                10 if r.opening(0)? => {
                    if let Some(t) = r.context(0)? {
                        let ty = t.unsigned().unwrap_or_default() as u16;
                        match names::object_type(ty) {
                            Some(name) => detail.push_bytes(name.as_bytes()),
                            None => {
                                Pieces::new(&mut detail).num(u64::from(ty));
                            }
                        }
                    } else if let Some(id) = r.context(1)?.and_then(|t| t.object_id()) {
                        Pieces::new(&mut detail).object(id);
                    }
                }
                // DeleteObject.
                11 => {
                    if let Some(id) = r.application(app::OBJECT_ID)?.and_then(|t| t.object_id()) {
                        Pieces::new(&mut detail).object(id);
                    }
                }
                // LifeSafetyOperation: the object operated on ([3]) when present.
                27 => {
                    while let Some(tag) = r.next_tag()? {
                        if tag.is_context(3) {
                            if let Some(id) = tag.object_id() {
                                Pieces::new(&mut detail).object(id);
                            }
                        }
                    }
                }
                _ => {}
            }
            Ok(())
        })();
        out.event(
            flow,
            direction,
            "bacnet",
            category,
            operation,
            detail.as_str(),
        );
        parsed.map(|()| file)
    }

    fn complex_ack(
        &mut self,
        origin: &Origin<'_>,
        choice: u8,
        pending: Option<Pending>,
        body: &[u8],
        out: &mut Observations,
    ) -> Result<(), BacnetError> {
        let mut r = TagReader::new(body);
        match choice {
            // ReadProperty-ACK.
            12 => {
                if plain_ack_without_fact(body) {
                    return Ok(());
                }
                let object = r.context(0)?.and_then(|t| t.object_id());
                let property = r.context(1)?.and_then(|t| t.unsigned());
                r.context(2)?;
                if r.opening(3)? {
                    let value = r.value_until_closing()?;
                    if let (Some(object), Some(property), Some(value)) = (object, property, value) {
                        device_property(origin, object, property, &value, out);
                    }
                }
            }
            // ReadPropertyMultiple-ACK.
            14 => {
                while let Some(object) = r.context(0)?.and_then(|t| t.object_id()) {
                    if !r.opening(1)? {
                        break;
                    }
                    loop {
                        if r.closing(1)? {
                            break;
                        }
                        let Some(property) = r.context(2)?.and_then(|t| t.unsigned()) else {
                            return Err(BacnetError::Missing {
                                field: "property identifier",
                                offset: 0,
                            });
                        };
                        r.context(3)?;
                        if r.opening(4)? {
                            if let Some(value) = r.value_until_closing()? {
                                device_property(origin, object, property, &value, out);
                            }
                        } else if r.opening(5)? {
                            r.value_until_closing()?;
                        } else {
                            return Err(BacnetError::Missing {
                                field: "read result",
                                offset: 0,
                            });
                        }
                    }
                }
            }
            // AtomicReadFile-ACK: hash a stream transfer.
            6 => {
                let eof = match r.next_tag()? {
                    Some(Tag {
                        content: Content::Boolean(eof),
                        ..
                    }) => eof,
                    _ => return Ok(()),
                };
                if !r.opening(0)? {
                    return Ok(());
                }
                let start = r.application(app::SIGNED)?.and_then(|t| t.signed());
                let data = r.application(app::OCTET_STRING)?.map(|t| t.data());
                let (Some(start), Some(data), Some(pending)) = (start, data, pending) else {
                    return Ok(());
                };
                let Some((file, _)) = pending.file else {
                    return Ok(());
                };
                self.file_read(origin, pending.direction, file, start, data, eof, out);
            }
            _ => {}
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn file_read(
        &mut self,
        origin: &Origin<'_>,
        request_direction: Direction,
        file: u32,
        start: i64,
        data: &[u8],
        eof: bool,
        out: &mut Observations,
    ) {
        if start == 0 {
            self.upload = Some(Transfer {
                file,
                direction: request_direction,
                next: 0,
                chunk: data.len(),
                hasher: Sha256::new(),
            });
        }
        let Some(transfer) = self.upload.as_mut() else {
            return;
        };
        if transfer.file != file || transfer.next != start {
            self.upload = None;
            return;
        }
        transfer.hasher.update(data);
        transfer.next = start.saturating_add(data.len() as i64);
        if eof {
            if let Some(transfer) = self.upload.take() {
                finish(
                    origin.flow,
                    transfer,
                    EventCategory::ProgramUpload,
                    "atomic_read_file",
                    out,
                );
            }
        }
    }

    fn file_write(
        &mut self,
        origin: &Origin<'_>,
        file: u32,
        start: i64,
        data: &[u8],
        out: &mut Observations,
    ) {
        let flow = origin.flow;
        if start == 0 {
            if let Some(previous) = self.download.take() {
                finish(
                    flow,
                    previous,
                    EventCategory::ProgramDownload,
                    "atomic_write_file",
                    out,
                );
            }
            self.download = Some(Transfer {
                file,
                direction: origin.direction,
                next: 0,
                chunk: data.len(),
                hasher: Sha256::new(),
            });
        }
        let Some(transfer) = self.download.as_mut() else {
            return;
        };
        if transfer.file != file || transfer.next != start || transfer.direction != origin.direction
        {
            self.download = None;
            return;
        }
        transfer.hasher.update(data);
        transfer.next = start.saturating_add(data.len() as i64);
        if data.len() < transfer.chunk {
            if let Some(transfer) = self.download.take() {
                finish(
                    flow,
                    transfer,
                    EventCategory::ProgramDownload,
                    "atomic_write_file",
                    out,
                );
            }
        }
    }
}

/// The event of a whole-file transfer, with the content's hash.
fn finish(
    flow: &FlowMeta,
    transfer: Transfer,
    category: EventCategory,
    operation: &'static str,
    out: &mut Observations,
) {
    let digest = transfer.hasher.finalize();
    let mut hash = ValueBuf::<64>::new();
    hash.push_hex(&digest);
    let mut detail = ValueBuf::<64>::new();
    let _ = write!(detail, "file,{} {} bytes", transfer.file, transfer.next);
    out.event_with_hash(
        flow,
        transfer.direction,
        "bacnet",
        category,
        operation,
        detail.as_str(),
        Some(hash.as_str()),
    );
}

/// An unconfirmed request: its event and, for I-Am and I-Have, facts.
fn unconfirmed_request(
    origin: &Origin<'_>,
    choice: u8,
    body: &[u8],
    out: &mut Observations,
) -> Result<(), BacnetError> {
    let (flow, direction) = (origin.flow, origin.direction);
    let (operation, category) = names::unconfirmed(choice);
    let mut detail = ValueBuf::<DETAIL>::new();
    let mut r = TagReader::new(body);
    let parsed: Result<(), BacnetError> = (|| {
        match choice {
            // I-Am.
            0 => {
                let device = r.application(app::OBJECT_ID)?.and_then(|t| t.object_id());
                let max_apdu = r.application(app::UNSIGNED)?.and_then(|t| t.unsigned());
                let segmentation = r.application(app::ENUMERATED)?.and_then(|t| t.unsigned());
                let vendor = r.application(app::UNSIGNED)?.and_then(|t| t.unsigned());
                let Some(device) = device else {
                    return Err(BacnetError::Missing {
                        field: "device identifier",
                        offset: 0,
                    });
                };
                Pieces::new(&mut detail).object(device);
                if let Some(vendor) = vendor {
                    Pieces::new(&mut detail).text(" vendor ").num(vendor);
                }
                if let Some(max) = max_apdu {
                    Pieces::new(&mut detail).text(" max-apdu ").num(max);
                }
                if let Some(seg) = segmentation {
                    let written = Pieces::new(&mut detail).text(" segmentation ");
                    match names::segmentation(seg) {
                        Some(name) => written.text(name),
                        None => written.num(seg),
                    };
                }
                if device.is_device() && device.instance != ObjectId::WILDCARD {
                    let address = device_address(device.instance);
                    origin.fact(out, Attribute::ProtocolAddress, address.as_str());
                }
                if let Some(name) = vendor.and_then(names::vendor) {
                    origin.fact(out, Attribute::Vendor, name);
                }
                origin.fact(out, Attribute::Service, "bacnet");
            }
            // I-Have: device, object, object name.
            1 => {
                let device = r.application(app::OBJECT_ID)?.and_then(|t| t.object_id());
                let object = r.application(app::OBJECT_ID)?.and_then(|t| t.object_id());
                let name = r.application(app::CHARACTER_STRING)?;
                if let Some(device) = device {
                    Pieces::new(&mut detail).object(device);
                }
                if let Some(object) = object {
                    Pieces::new(&mut detail).text(" ").object(object);
                    if let (true, Some(name)) = (object.is_device(), name) {
                        let mut text = ValueBuf::<256>::new();
                        tags::push_string(&mut text, name.data());
                        origin.fact(out, Attribute::Hostname, text.as_str());
                    }
                }
            }
            // UnconfirmedCOVNotification.
            2 => push_cov(&mut detail, &mut r)?,
            // Who-Has: range, then object id or name.
            7 => {
                let low = r.context(0)?.and_then(|t| t.unsigned());
                let high = r.context(1)?.and_then(|t| t.unsigned());
                if let (Some(low), Some(high)) = (low, high) {
                    Pieces::new(&mut detail)
                        .text("range ")
                        .num(low)
                        .text("-")
                        .num(high)
                        .text(" ");
                }
                if let Some(id) = r.context(2)?.and_then(|t| t.object_id()) {
                    Pieces::new(&mut detail).object(id);
                } else if let Some(name) = r.context(3)? {
                    let mut value = ValueBuf::<64>::new();
                    tags::push_value(
                        &mut value,
                        &Tag {
                            class: tags::Class::Application,
                            number: app::CHARACTER_STRING,
                            ..name
                        },
                    );
                    Pieces::new(&mut detail).text("name ").text(value.as_str());
                }
            }
            // Who-Is: the range, or all devices.
            8 => {
                let low = r.context(0)?.and_then(|t| t.unsigned());
                let high = r.context(1)?.and_then(|t| t.unsigned());
                match (low, high) {
                    (Some(low), Some(high)) => Pieces::new(&mut detail)
                        .text("range ")
                        .num(low)
                        .text("-")
                        .num(high),
                    _ => Pieces::new(&mut detail).text("all"),
                };
            }
            // WriteGroup: the group number.
            10 => {
                if let Some(group) = r.context(0)?.and_then(|t| t.unsigned()) {
                    Pieces::new(&mut detail).text("group ").num(group);
                }
            }
            _ => {}
        }
        Ok(())
    })();
    out.event(
        flow,
        direction,
        "bacnet",
        category,
        operation,
        detail.as_str(),
    );
    parsed
}

/// A property value a device reports about its own device object, as a fact.
fn device_property(
    origin: &Origin<'_>,
    object: ObjectId,
    property: u64,
    value: &Tag<'_>,
    out: &mut Observations,
) {
    if !object.is_device() {
        return;
    }
    let Ok(property) = u32::try_from(property) else {
        return;
    };
    let attribute = match property {
        names::PROP_VENDOR_NAME => Attribute::Vendor,
        names::PROP_MODEL_NAME => Attribute::Model,
        names::PROP_FIRMWARE_REVISION => Attribute::Firmware,
        names::PROP_APPLICATION_SOFTWARE_VERSION => Attribute::Software,
        names::PROP_OBJECT_NAME => Attribute::Hostname,
        names::PROP_DESCRIPTION => Attribute::Description,
        names::PROP_LOCATION => Attribute::Location,
        names::PROP_SERIAL_NUMBER => Attribute::Serial,
        names::PROP_VENDOR_IDENTIFIER => {
            if let Some(name) = value.unsigned().and_then(names::vendor) {
                origin.fact(out, Attribute::Vendor, name);
            }
            return;
        }
        // The device object's own identifier names the instance a wildcard read hides.
        names::PROP_OBJECT_IDENTIFIER => {
            if let Some(id) = value
                .object_id()
                .filter(|id| id.is_device() && value.is_app(app::OBJECT_ID))
            {
                if id.instance != ObjectId::WILDCARD {
                    let address = device_address(id.instance);
                    origin.fact(out, Attribute::ProtocolAddress, address.as_str());
                }
            }
            return;
        }
        names::PROP_SYSTEM_STATUS => {
            if let Some(name) = value.unsigned().and_then(names::system_status) {
                origin.fact(out, Attribute::State, name);
            }
            return;
        }
        _ => return,
    };
    if !value.is_app(app::CHARACTER_STRING) {
        return;
    }
    let mut text = ValueBuf::<256>::new();
    tags::push_string(&mut text, value.data());
    origin.fact(out, attribute, text.as_str());
    if object.instance != ObjectId::WILDCARD {
        let address = device_address(object.instance);
        origin.fact(out, Attribute::ProtocolAddress, address.as_str());
    }
}

/// A context tag `number` of 1 to 4 bytes in its one-octet form at the start of `data`, as an
/// unsigned number, and what follows it.
fn short_context(data: &[u8], number: u8) -> Option<(u64, &[u8])> {
    let (&first, rest) = data.split_first()?;
    let len = first.checked_sub(number << 4 | 0x08)?;
    if !(1..=4).contains(&len) {
        return None;
    }
    let (value, rest) = rest.split_at_checked(usize::from(len))?;
    Some((tags::unsigned(value)?, rest))
}

/// A ReadProperty request in its plain encoding — object, property and optional array index,
/// each a short context tag, and nothing after — decoded without the tag reader. It reads as
/// [`push_object_property`] reads it; any other encoding is left to that.
fn plain_read_property(body: &[u8]) -> Option<(ObjectId, u64, Option<u64>)> {
    let [0x0c, a, b, c, d, rest @ ..] = body else {
        return None;
    };
    let id = ObjectId::from_u32(u32::from_be_bytes([*a, *b, *c, *d]));
    let (property, rest) = short_context(rest, 1)?;
    let (index, rest) = match short_context(rest, 2) {
        Some((index, rest)) => (Some(index), rest),
        None => (None, rest),
    };
    rest.is_empty().then_some((id, property, index))
}

/// Whether [`device_property`] makes a fact of this property of the device object.
fn names_a_fact(property: u64) -> bool {
    u32::try_from(property).is_ok_and(|property| {
        matches!(
            property,
            names::PROP_VENDOR_NAME
                | names::PROP_MODEL_NAME
                | names::PROP_FIRMWARE_REVISION
                | names::PROP_APPLICATION_SOFTWARE_VERSION
                | names::PROP_OBJECT_NAME
                | names::PROP_DESCRIPTION
                | names::PROP_LOCATION
                | names::PROP_SERIAL_NUMBER
                | names::PROP_VENDOR_IDENTIFIER
                | names::PROP_OBJECT_IDENTIFIER
                | names::PROP_SYSTEM_STATUS
        )
    })
}

/// Whether a ReadProperty-ACK in its plain encoding (object, property, optional array index,
/// then primitive values between opening and closing tag 3) records nothing: about an object
/// other than the device, or a device property no fact is made of. A sweep reading every
/// property of every object sends thousands. False for anything else — a property that makes
/// a fact, or any other encoding, well formed or not — which the tag reader then reads (and
/// reports when malformed).
fn plain_ack_without_fact(body: &[u8]) -> bool {
    let [0x0c, a, b, c, d, rest @ ..] = body else {
        return false;
    };
    let device = ObjectId::from_u32(u32::from_be_bytes([*a, *b, *c, *d])).is_device();
    let Some((property, rest)) = short_context(rest, 1) else {
        return false;
    };
    if device && names_a_fact(property) {
        return false;
    }
    let rest = short_context(rest, 2).map_or(rest, |(_, rest)| rest);
    let [0x3e, values @ ..] = rest else {
        return false;
    };
    let mut rest = values;
    // A few primitive values with short tags up to the closing tag; anything longer or more
    // elaborate (constructed values, extended tag numbers or lengths) goes the long way.
    for _ in 0..16 {
        let Some((&first, after)) = rest.split_first() else {
            return false;
        };
        if first == 0x3f {
            return true;
        }
        let (number, context, lvt) = (first >> 4, first & 0x08 != 0, first & 0x07);
        if number == 15 || lvt >= 5 {
            return false;
        }
        let len = if !context && number == app::BOOLEAN {
            0
        } else {
            usize::from(lvt)
        };
        let Some(next) = after.get(len..) else {
            return false;
        };
        rest = next;
    }
    false
}

/// `object property[index]` from context tags `base` (object), `base+1` (property) and
/// `base+2` (array index).
fn push_object_property<const N: usize>(
    detail: &mut ValueBuf<N>,
    r: &mut TagReader<'_>,
    base: u8,
) -> Result<(), BacnetError> {
    if let Some(id) = r.context(base)?.and_then(|t| t.object_id()) {
        Pieces::new(detail).object(id);
    }
    if let Some(property) = r.context(base + 1)?.and_then(|t| t.unsigned()) {
        detail.push_bytes(b" ");
        push_property(detail, property);
    }
    if let Some(index) = r.context(base + 2)?.and_then(|t| t.unsigned()) {
        Pieces::new(detail).text("[").num(index).text("]");
    }
    Ok(())
}

/// A property identifier by name, or by number when unknown.
fn push_property<const N: usize>(detail: &mut ValueBuf<N>, property: u64) {
    match u32::try_from(property).ok().and_then(names::property) {
        Some(name) => detail.push_bytes(name.as_bytes()),
        None => detail.push_u64(property),
    }
}

/// ReadPropertyMultiple's read access specifications: `device,1 object-name,vendor-name;
/// analog-input,2 present-value`, at most [`MAX_ITEMS`] objects and properties per object.
fn push_read_access_specs<const N: usize>(
    detail: &mut ValueBuf<N>,
    r: &mut TagReader<'_>,
) -> Result<(), BacnetError> {
    let mut objects = 0;
    while let Some(id) = r.context(0)?.and_then(|t| t.object_id()) {
        objects += 1;
        if objects <= MAX_ITEMS {
            if objects > 1 {
                detail.push_bytes(b"; ");
            }
            Pieces::new(detail).object(id);
        }
        if !r.opening(1)? {
            break;
        }
        let mut properties = 0;
        while let Some(property) = r.context(0)?.and_then(|t| t.unsigned()) {
            properties += 1;
            let index = r.context(1)?.and_then(|t| t.unsigned());
            if objects <= MAX_ITEMS && properties <= MAX_ITEMS {
                detail.push_bytes(if properties == 1 { b" " } else { b"," });
                push_property(detail, property);
                if let Some(index) = index {
                    Pieces::new(detail).text("[").num(index).text("]");
                }
            }
        }
        if properties > MAX_ITEMS && objects <= MAX_ITEMS {
            detail.push_bytes(b",...");
        }
        if !r.closing(1)? {
            break;
        }
    }
    if objects > MAX_ITEMS {
        detail.push_bytes(b"; ...");
    }
    Ok(())
}

/// WritePropertyMultiple's write access specifications with the first value of each property.
fn push_write_access_specs<const N: usize>(
    detail: &mut ValueBuf<N>,
    r: &mut TagReader<'_>,
) -> Result<(), BacnetError> {
    let mut objects = 0;
    while let Some(id) = r.context(0)?.and_then(|t| t.object_id()) {
        objects += 1;
        let shown = objects <= MAX_ITEMS;
        if shown {
            if objects > 1 {
                detail.push_bytes(b"; ");
            }
            Pieces::new(detail).object(id);
        }
        if !r.opening(1)? {
            break;
        }
        let mut properties = 0;
        while let Some(property) = r.context(0)?.and_then(|t| t.unsigned()) {
            properties += 1;
            let shown = shown && properties <= MAX_ITEMS;
            let index = r.context(1)?.and_then(|t| t.unsigned());
            if shown {
                detail.push_bytes(if properties == 1 { b" " } else { b", " });
                push_property(detail, property);
                if let Some(index) = index {
                    Pieces::new(detail).text("[").num(index).text("]");
                }
            }
            if r.opening(2)? {
                if let (true, Some(value)) = (shown, r.value_until_closing()?) {
                    detail.push_bytes(b" = ");
                    tags::push_value(detail, &value);
                }
            }
            if let Some(priority) = r.context(3)?.and_then(|t| t.unsigned()) {
                if shown {
                    Pieces::new(detail).text(" priority ").num(priority);
                }
            }
        }
        if !r.closing(1)? {
            break;
        }
    }
    if objects > MAX_ITEMS {
        detail.push_bytes(b"; ...");
    }
    Ok(())
}

/// A COV notification's initiating device and monitored object (never the values).
fn push_cov<const N: usize>(
    detail: &mut ValueBuf<N>,
    r: &mut TagReader<'_>,
) -> Result<(), BacnetError> {
    r.context(0)?;
    if let Some(device) = r.context(1)?.and_then(|t| t.object_id()) {
        Pieces::new(detail).object(device);
    }
    if let Some(object) = r.context(2)?.and_then(|t| t.object_id()) {
        Pieces::new(detail).text(" ").object(object);
    }
    Ok(())
}

/// An Error PDU's class and code (the first two application enumerations, whether or not the
/// service wraps them in a context tag).
fn push_error<const N: usize>(detail: &mut ValueBuf<N>, body: &[u8]) {
    let mut r = TagReader::new(body);
    let mut values = [None; 2];
    let mut found = 0;
    while let Ok(Some(tag)) = r.next_tag() {
        if tag.is_app(app::ENUMERATED) {
            if let Some(slot) = values.get_mut(found) {
                *slot = tag.unsigned();
            }
            found += 1;
            if found == 2 {
                break;
            }
        }
    }
    let [class, code] = values;
    match class.and_then(names::error_class) {
        Some(name) => Pieces::new(detail).text(name),
        None => Pieces::new(detail)
            .text("class ")
            .num(class.unwrap_or_default()),
    };
    match code.and_then(names::error_code) {
        Some(name) => Pieces::new(detail).text(" ").text(name),
        None => Pieces::new(detail)
            .text(" code ")
            .num(code.unwrap_or_default()),
    };
}

/// A network-layer message's event.
fn on_network_message(origin: &Origin<'_>, ty: u8, data: &[u8], out: &mut Observations) {
    let operation = names::network_message(ty);
    let mut detail = ValueBuf::<DETAIL>::new();
    let category = match ty {
        0 => {
            match data {
                [hi, lo, ..] => Pieces::new(&mut detail)
                    .text("network ")
                    .num(u64::from(u16::from_be_bytes([*hi, *lo]))),
                _ => Pieces::new(&mut detail).text("all"),
            };
            EventCategory::Discovery
        }
        1 | 2 => {
            detail.push_bytes(b"networks ");
            for (i, pair) in data.chunks_exact(2).enumerate() {
                if i == MAX_ITEMS {
                    detail.push_bytes(b",...");
                    break;
                }
                if i > 0 {
                    detail.push_bytes(b",");
                }
                detail.push_u64(u64::from(u16::from_be_bytes([pair[0], pair[1]])));
            }
            EventCategory::Discovery
        }
        0x12 | 0x13 => EventCategory::Discovery,
        6 | 8 | 9 => EventCategory::ConfigurationChange,
        _ => EventCategory::Other,
    };
    out.event(
        origin.flow,
        origin.direction,
        "bacnet",
        category,
        operation,
        detail.as_str(),
    );
}

/// BVLC management functions (no NPDU): foreign-device registration, table reads and
/// writes, and NAK results.
fn on_bvlc_management(
    flow: &FlowMeta,
    direction: Direction,
    bvlc: &Bvlc<'_>,
    out: &mut Observations,
) {
    let operation = names::bvlc_function(bvlc.function);
    let mut detail = ValueBuf::<64>::new();
    let (category, request_direction) = match bvlc.function {
        function::RESULT => {
            let code = match bvlc.body {
                [hi, lo, ..] => u16::from_be_bytes([*hi, *lo]),
                _ => return,
            };
            if code == 0 {
                return;
            }
            // Each NAK code names the function it refuses.
            let failed = match code {
                0x0010 => function::WRITE_BDT,
                0x0020 => function::READ_BDT,
                0x0030 => function::REGISTER_FOREIGN_DEVICE,
                0x0040 => function::READ_FDT,
                0x0050 => function::DELETE_FDT_ENTRY,
                0x0060 => function::DISTRIBUTE_BROADCAST,
                _ => function::RESULT,
            };
            let category = bvlc_category(failed);
            let _ = write!(detail, "{}: nak 0x{code:04x}", names::bvlc_function(failed));
            out.event(
                flow,
                direction.reverse(),
                "bacnet",
                category,
                "error_response",
                detail.as_str(),
            );
            return;
        }
        function::REGISTER_FOREIGN_DEVICE => {
            if let [hi, lo, ..] = bvlc.body {
                Pieces::new(&mut detail)
                    .text("ttl ")
                    .num(u64::from(u16::from_be_bytes([*hi, *lo])));
            }
            (EventCategory::ConfigurationChange, direction)
        }
        function::WRITE_BDT | function::DELETE_FDT_ENTRY => {
            (EventCategory::ConfigurationChange, direction)
        }
        function::READ_BDT | function::READ_FDT => (EventCategory::Diagnostics, direction),
        // The tables themselves are answers, not operations.
        _ => return,
    };
    out.event(
        flow,
        request_direction,
        "bacnet",
        category,
        operation,
        detail.as_str(),
    );
}

/// The category of a BVLC function (for its NAK).
fn bvlc_category(function: u8) -> EventCategory {
    match function {
        function::WRITE_BDT | function::REGISTER_FOREIGN_DEVICE | function::DELETE_FDT_ENTRY => {
            EventCategory::ConfigurationChange
        }
        function::READ_BDT | function::READ_FDT => EventCategory::Diagnostics,
        _ => EventCategory::Other,
    }
}

/// NPDU control bits that ASHRAE 135 §6.2.2 reserves (bits 6 and 4): they must be 0.
const NPDU_RESERVED: u8 = 0x50;

/// A rule of the BVLC header (annex J) that a datagram breaks while still being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BvlcViolation {
    /// The BVLC length is not the datagram's length.
    Length {
        /// The length field.
        length: u16,
        /// The datagram's length.
        present: usize,
    },
    /// A BVLC function code annex J does not define.
    Function(u8),
}

impl std::fmt::Display for BvlcViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Self::Length { length, present } => {
                write!(
                    f,
                    "BVLC length {length} but the datagram has {present} bytes"
                )
            }
            Self::Function(code) => write!(f, "BVLC function 0x{code:02x} not defined"),
        }
    }
}

/// The first BVLC rule a datagram whose header parsed breaks, if any.
pub fn check_bvlc(datagram: &[u8]) -> Option<BvlcViolation> {
    let [_, function, hi, lo, ..] = *datagram else {
        return None;
    };
    if function > function::SECURE_BVLL {
        return Some(BvlcViolation::Function(function));
    }
    let length = u16::from_be_bytes([hi, lo]);
    (usize::from(length) != datagram.len()).then_some(BvlcViolation::Length {
        length,
        present: datagram.len(),
    })
}

/// Reports a message sent in `direction` that breaks the protocol (category Other):
/// `malformed` when it cannot be decoded, `violation` when it decodes but breaks a rule. Only
/// error paths come here; the detail is built on the stack.
fn report(
    flow: &FlowMeta,
    direction: Direction,
    out: &mut Observations,
    operation: &'static str,
    what: impl std::fmt::Display,
) {
    out.spec_report::<128>(flow, direction, "bacnet", operation, what);
}

impl Dissector for BacnetDissector {
    fn protocol(&self) -> &'static str {
        "bacnet"
    }

    /// A device answering a broadcast Who-Is with a unicast I-Am speaks first on the unicast
    /// flow: the side that answers more than it asks is the server.
    fn roles_reversed(&self) -> bool {
        let (c, s) = (
            Direction::ClientToServer.index(),
            Direction::ServerToClient.index(),
        );
        let client_serves = i64::from(self.answered[c]) - i64::from(self.asked[c]);
        let server_serves = i64::from(self.answered[s]) - i64::from(self.asked[s]);
        client_serves > server_serves
    }

    fn on_datagram(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        payload: &[u8],
        out: &mut Observations,
    ) {
        self.on_bvlc(flow, direction, payload, out);
    }

    fn on_end(&mut self, flow: &FlowMeta, out: &mut Observations) {
        // A write transfer whose last chunk was a full one ends with the flow.
        if let Some(transfer) = self.download.take() {
            if transfer.next > 0 {
                finish(
                    flow,
                    transfer,
                    EventCategory::ProgramDownload,
                    "atomic_write_file",
                    out,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests;
