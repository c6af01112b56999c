//! EtherNet/IP encapsulation and CIP explicit messaging (TCP and UDP port 44818).
//!
//! Read: the 24-byte encapsulation header (command, length, session handle, status, sender
//! context, options) of every message, over the reassembled TCP stream (several messages per
//! segment and messages split across segments, through [`crate::framing`]) and over UDP (one
//! message per datagram); the commands NOP, ListServices, ListIdentity, ListInterfaces,
//! RegisterSession, UnRegisterSession, SendRRData and SendUnitData; Common Packet Format items
//! (null and connected address, unconnected and connected data, sockaddr info); and the CIP
//! message router requests and responses these carry ([`cip`]): service, request path
//! (class/instance/attribute, symbolic tag names, port segments), general and extended status,
//! Multiple Service Packet (each embedded service), Unconnected Send (the embedded request,
//! decoded recursively up to [`MAX_DEPTH`]), Forward Open / Large Forward Open / Forward Close.
//!
//! Facts, about the device that answers:
//!
//! | seen | fact |
//! |---|---|
//! | ListIdentity reply, Identity object (class 1) Get_Attributes_All reply | `Vendor` (vendor id through [`vendors`]), `Type` (`plc`, `hmi`, `switch`, `io_device` where the CIP device type names one), `Description` (the CIP device type's name, `Programmable Logic Controller`), `ProductCode` (decimal), `Firmware` (revision `major.minor`, minor on two digits as Wireshark shows it: `20.11`), `Serial` (`0x6025cc8a`), `Model` (product name), `State` (identity state: `self-test`, `standby`, `operational`, `fault (major recoverable)`, `fault (major unrecoverable)`) |
//! | ListIdentity reply | `ProtocolAddress` `enip:<ip>:<port>` from its socket address item |
//! | any successful reply | `Service` `enip` |
//!
//! Events, from the requester: ListIdentity / ListServices / ListInterfaces → Discovery;
//! RegisterSession / UnRegisterSession → Other; each CIP service (embedded ones of a Multiple
//! Service Packet or Unconnected Send included, the containers themselves not) → its category
//! ([`cip::classify`]: Get_Attribute* and Read Tag → Read, Set_Attribute* and Write Tag → Write,
//! Reset/Start/Stop → ModeChange, Create/Delete → ConfigurationChange, Forward Open/Close →
//! Other) with the path and the service's parameters in the detail (tag, element count, first
//! [`cip::MAX_VALUE_BYTES`] bytes written, RPIs and connection ids); a failed reply
//! (encapsulation status, or CIP general status other than success and partial transfer) →
//! `error_response` in the failed request's category with the status name. NOP, the keep-alive,
//! is not an event.
//!
//! CIP replies carry no path: requests wait in a small per-flow queue ([`MAX_PENDING`]) keyed by
//! sender context (SendRRData) or CIP sequence count (SendUnitData) to name the service of a
//! reply and find Identity replies.
//!
//! Bounds: messages longer than [`MAX_MESSAGE`] are skipped by length without buffering; at
//! most [`MAX_CPF_ITEMS`] CPF items, [`cip::MAX_SERVICES`] embedded services and
//! [`cip::MAX_SEGMENTS`] path segments are read; a header that is not EtherNet/IP (unknown
//! command, length over [`MAX_ENCAPSULATED`]) ends the direction.

pub mod cip;
pub mod vendors;

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddrV4};

use ironward_model::{Attribute, EventCategory, Source};

use crate::framing::{self, Framed, Side};
use crate::value::ValueBuf;
use crate::{
    Direction, Dissector, DissectorFactory, DissectorRegistry, FlowMeta, Observations, StreamChunk,
    Transport,
};
use cip::{Identity, Operation, Request, Response, Target};

/// The registered EtherNet/IP port (TCP explicit messaging, UDP ListIdentity).
pub const PORT: u16 = 44818;

/// Length of the encapsulation header.
pub const HEADER_LEN: usize = 24;

/// Largest encapsulated data length the specification allows.
pub const MAX_ENCAPSULATED: usize = 65_511;

/// Largest message read whole; longer ones (big tag reads) are skipped by their length.
pub const MAX_MESSAGE: usize = 8 * 1024;

/// Most Common Packet Format items read from one message.
pub const MAX_CPF_ITEMS: usize = 8;

/// Most CIP requests remembered per flow while their replies are awaited.
pub const MAX_PENDING: usize = 8;

/// Most embedded services remembered per pending Multiple Service Packet.
pub const MAX_TRACKED: usize = 16;

/// Deepest nesting of CIP requests decoded (Unconnected Send and Multiple Service Packet
/// embed requests).
pub const MAX_DEPTH: usize = 4;

/// Encapsulation commands.
pub mod command {
    /// NOP (no reply).
    pub const NOP: u16 = 0x0000;
    /// ListServices.
    pub const LIST_SERVICES: u16 = 0x0004;
    /// ListIdentity.
    pub const LIST_IDENTITY: u16 = 0x0063;
    /// ListInterfaces.
    pub const LIST_INTERFACES: u16 = 0x0064;
    /// RegisterSession.
    pub const REGISTER_SESSION: u16 = 0x0065;
    /// UnRegisterSession.
    pub const UNREGISTER_SESSION: u16 = 0x0066;
    /// SendRRData (unconnected messages).
    pub const SEND_RR_DATA: u16 = 0x006f;
    /// SendUnitData (connected messages).
    pub const SEND_UNIT_DATA: u16 = 0x0070;
    /// IndicateStatus.
    pub const INDICATE_STATUS: u16 = 0x0072;
    /// Cancel.
    pub const CANCEL: u16 = 0x0073;
}

/// Common Packet Format item type ids.
pub mod item {
    /// Null address (unconnected messages).
    pub const NULL_ADDRESS: u16 = 0x0000;
    /// ListIdentity reply: CIP identity.
    pub const CIP_IDENTITY: u16 = 0x000c;
    /// Connected address (connection id).
    pub const CONNECTED_ADDRESS: u16 = 0x00a1;
    /// Connected data (CIP sequence count, then the message).
    pub const CONNECTED_DATA: u16 = 0x00b1;
    /// Unconnected data (the message).
    pub const UNCONNECTED_DATA: u16 = 0x00b2;
    /// ListServices reply: communications service.
    pub const LIST_SERVICES: u16 = 0x0100;
    /// Sockaddr info, originator to target.
    pub const SOCKADDR_O_T: u16 = 0x8000;
    /// Sockaddr info, target to originator.
    pub const SOCKADDR_T_O: u16 = 0x8001;
    /// Sequenced address (class 0/1 I/O: connection id and sequence number).
    pub const SEQUENCED_ADDRESS: u16 = 0x8002;
}

/// Why an EtherNet/IP message could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnipError {
    /// The input ends before `field`, which starts at `offset`.
    Truncated {
        /// The field that is cut.
        field: &'static str,
        /// Where it starts.
        offset: usize,
    },
    /// A command this reader does not know (the stream is not EtherNet/IP, or out of sync).
    UnknownCommand(u16),
    /// An encapsulated length over [`MAX_ENCAPSULATED`].
    TooLong(usize),
}

impl std::fmt::Display for EnipError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Truncated { field, offset } => {
                write!(
                    f,
                    "EtherNet/IP message truncated at {field} (offset {offset})"
                )
            }
            Self::UnknownCommand(c) => write!(f, "unknown EtherNet/IP command 0x{c:04x}"),
            Self::TooLong(n) => write!(f, "EtherNet/IP length {n} over the maximum"),
        }
    }
}

impl std::error::Error for EnipError {}

fn cut(field: &'static str, offset: usize) -> EnipError {
    EnipError::Truncated { field, offset }
}

fn le16(b: &[u8], at: usize, field: &'static str) -> Result<u16, EnipError> {
    match b.get(at..at + 2) {
        Some(&[x, y]) => Ok(u16::from_le_bytes([x, y])),
        _ => Err(cut(field, at)),
    }
}

fn le32(b: &[u8], at: usize, field: &'static str) -> Result<u32, EnipError> {
    match b.get(at..at + 4) {
        Some(&[a, b2, c, d]) => Ok(u32::from_le_bytes([a, b2, c, d])),
        _ => Err(cut(field, at)),
    }
}

/// The encapsulation header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Command.
    pub command: u16,
    /// Length of the data after the header.
    pub length: u16,
    /// Session handle.
    pub session: u32,
    /// Status (0 success).
    pub status: u32,
    /// Sender context, echoed by replies.
    pub context: [u8; 8],
    /// Options (0).
    pub options: u32,
}

impl Header {
    /// Reads the header at the start of `input`; unknown commands are errors, since they mean
    /// the bytes are not EtherNet/IP.
    pub fn parse(input: &[u8]) -> Result<Self, EnipError> {
        let command = le16(input, 0, "command")?;
        let length = le16(input, 2, "length")?;
        let context = match input.get(12..20) {
            Some(&[a, b, c, d, e, f, g, h]) => [a, b, c, d, e, f, g, h],
            _ => return Err(cut("sender context", 12)),
        };
        let header = Self {
            command,
            length,
            session: le32(input, 4, "session handle")?,
            status: le32(input, 8, "status")?,
            context,
            options: le32(input, 20, "options")?,
        };
        if command_name(command).is_none() {
            return Err(EnipError::UnknownCommand(command));
        }
        if usize::from(length) > MAX_ENCAPSULATED {
            return Err(EnipError::TooLong(usize::from(length)));
        }
        Ok(header)
    }

    /// Length of the whole message.
    pub fn total_len(&self) -> usize {
        HEADER_LEN + usize::from(self.length)
    }
}

/// The snake_case name of a command, `None` for unknown ones.
pub fn command_name(command: u16) -> Option<&'static str> {
    Some(match command {
        command::NOP => "nop",
        command::LIST_SERVICES => "list_services",
        command::LIST_IDENTITY => "list_identity",
        command::LIST_INTERFACES => "list_interfaces",
        command::REGISTER_SESSION => "register_session",
        command::UNREGISTER_SESSION => "unregister_session",
        command::SEND_RR_DATA => "send_rr_data",
        command::SEND_UNIT_DATA => "send_unit_data",
        command::INDICATE_STATUS => "indicate_status",
        command::CANCEL => "cancel",
        _ => return None,
    })
}

/// The name of an encapsulation status.
pub fn status_name(status: u32) -> &'static str {
    match status {
        0x0000 => "success",
        0x0001 => "invalid or unsupported command",
        0x0002 => "insufficient memory",
        0x0003 => "incorrect data",
        0x0064 => "invalid session handle",
        0x0065 => "invalid length",
        0x0069 => "unsupported protocol revision",
        _ => "unknown status",
    }
}

/// One Common Packet Format item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpfItem<'a> {
    /// Item type id (see [`item`]).
    pub type_id: u16,
    /// Item data.
    pub data: &'a [u8],
}

/// The items of a Common Packet Format list (an item count, then type/length/data items), at
/// most [`MAX_CPF_ITEMS`]; stops at the first truncated item.
#[derive(Debug, Clone)]
pub struct CpfItems<'a> {
    list: &'a [u8],
    at: usize,
    left: usize,
}

impl<'a> CpfItems<'a> {
    /// Walks the list starting with its item count.
    pub fn new(list: &'a [u8]) -> Self {
        let count = le16(list, 0, "item count").unwrap_or(0);
        Self {
            list,
            at: 2,
            left: usize::from(count).min(MAX_CPF_ITEMS),
        }
    }
}

impl<'a> Iterator for CpfItems<'a> {
    type Item = CpfItem<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let type_id = le16(self.list, self.at, "item type").ok()?;
        let len = usize::from(le16(self.list, self.at + 2, "item length").ok()?);
        let data = self.list.get(self.at + 4..self.at + 4 + len);
        let Some(data) = data else {
            self.left = 0;
            return None;
        };
        self.at += 4 + len;
        Some(CpfItem { type_id, data })
    }
}

/// How the Common Packet Format list of a SendRRData or SendUnitData breaks its framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpfError {
    /// No item count.
    NoCount,
    /// An item's header or data runs past the end of the message.
    ItemPastEnd {
        /// Which item (1-based).
        index: usize,
        /// The item count.
        count: u16,
        /// Bytes left where the item starts.
        left: usize,
    },
    /// Bytes after the last item the count announces.
    Trailing {
        /// Where the items end.
        end: usize,
        /// Length of the list.
        len: usize,
    },
}

impl CpfError {
    /// `malformed` when the items cannot be read, `violation` when they are read but bytes
    /// follow them.
    pub fn operation(&self) -> &'static str {
        match self {
            Self::Trailing { .. } => "violation",
            _ => "malformed",
        }
    }
}

impl std::fmt::Display for CpfError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Self::NoCount => f.write_str("CPF list without an item count"),
            Self::ItemPastEnd { index, count, left } => write!(
                f,
                "CPF item {index} of {count} runs past the message ({left} bytes left)"
            ),
            Self::Trailing { end, len } => {
                write!(f, "CPF items end at byte {end} of {len}")
            }
        }
    }
}

/// How a CPF list (item count first) breaks its framing, if it does: every item the count
/// announces must fit, and nothing may follow them (lists longer than [`MAX_CPF_ITEMS`] items
/// are only checked that far).
pub fn check_cpf(list: &[u8]) -> Option<CpfError> {
    let Ok(count) = le16(list, 0, "item count") else {
        return Some(CpfError::NoCount);
    };
    let mut at = 2;
    for index in 1..=usize::from(count).min(MAX_CPF_ITEMS) {
        let length = le16(list, at + 2, "item length").ok();
        match length.map(|l| at + 4 + usize::from(l)) {
            Some(end) if end <= list.len() => at = end,
            _ => {
                return Some(CpfError::ItemPastEnd {
                    index,
                    count,
                    left: list.len().saturating_sub(at),
                })
            }
        }
    }
    (usize::from(count) <= MAX_CPF_ITEMS && at != list.len()).then_some(CpfError::Trailing {
        end: at,
        len: list.len(),
    })
}

/// A ListIdentity reply's CIP identity item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdentityItem<'a> {
    /// Encapsulation protocol version.
    pub version: u16,
    /// The socket address the device gives (big-endian sockaddr), when its family is IPv4.
    pub socket: Option<SocketAddrV4>,
    /// The identity attributes.
    pub identity: Identity<'a>,
}

impl<'a> IdentityItem<'a> {
    /// Reads the item data.
    pub fn parse(data: &'a [u8]) -> Result<Self, EnipError> {
        let version = le16(data, 0, "encapsulation version")?;
        let sockaddr = data.get(2..18).ok_or(cut("socket address", 2))?;
        let socket = match sockaddr {
            [0, 2, p0, p1, a, b, c, d, ..] => Some(SocketAddrV4::new(
                Ipv4Addr::new(*a, *b, *c, *d),
                u16::from_be_bytes([*p0, *p1]),
            )),
            _ => None,
        };
        let rest = data.get(18..).unwrap_or_default();
        let identity = Identity::parse(rest).map_err(|_| cut("identity", 18))?;
        Ok(Self {
            version,
            socket,
            identity,
        })
    }
}

/// Reports the identity facts of a ListIdentity reply or an Identity object reply about the
/// sender of the packet going in `direction`.
fn identity_facts(
    flow: &FlowMeta,
    direction: Direction,
    id: &Identity<'_>,
    out: &mut Observations,
) {
    let (who, now, src) = (flow.sender(direction), flow.now, Source::Enip);
    if let Some(vendor) = vendors::vendor_name(id.vendor) {
        out.fact(who, Attribute::Vendor, vendor, src, now);
    }
    if let Some(kind) = cip::inventory_type(id.device_type) {
        out.fact(who, Attribute::Type, kind, src, now);
    }
    if let Some(name) = cip::device_type_name(id.device_type) {
        out.fact(who, Attribute::Description, name, src, now);
    }
    let mut buf = ValueBuf::<32>::new();
    buf.push_u64(u64::from(id.product_code));
    out.fact(who, Attribute::ProductCode, buf.as_str(), src, now);
    buf.clear();
    let _ = write!(buf, "{}.{:02}", id.major, id.minor);
    out.fact(who, Attribute::Firmware, buf.as_str(), src, now);
    buf.clear();
    let _ = write!(buf, "0x{:08x}", id.serial);
    out.fact(who, Attribute::Serial, buf.as_str(), src, now);
    out.fact_bytes(who, Attribute::Model, id.name, src, now);
    if let Some(state) = id.state.and_then(cip::state_name) {
        out.fact(who, Attribute::State, state, src, now);
    }
}

/// The strict content check used off port 44818: a whole RegisterSession, ListIdentity,
/// ListServices or SendRRData message with success status and zero options.
pub fn looks_like_enip(payload: &[u8]) -> bool {
    let Ok(header) = Header::parse(payload) else {
        return false;
    };
    matches!(
        header.command,
        command::REGISTER_SESSION
            | command::LIST_IDENTITY
            | command::LIST_SERVICES
            | command::SEND_RR_DATA
    ) && header.status == 0
        && header.options == 0
        && header.total_len() == payload.len()
}

/// Adds the EtherNet/IP dissector to `registry`.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register(Box::new(EnipFactory));
}

/// Takes TCP and UDP flows on port 44818, and TCP flows opening with an EtherNet/IP message.
#[derive(Debug, Clone, Copy, Default)]
pub struct EnipFactory;

impl DissectorFactory for EnipFactory {
    fn protocol(&self) -> &'static str {
        "enip"
    }

    fn select(
        &self,
        flow: &FlowMeta,
        _direction: Direction,
        first_payload: &[u8],
    ) -> Option<Box<dyn Dissector>> {
        let on_port = flow.server.port() == PORT || flow.client.port() == PORT;
        let take = match flow.transport {
            Transport::Tcp => on_port || looks_like_enip(first_payload),
            Transport::Udp => on_port,
            Transport::Other(_) => false,
        };
        take.then(|| Box::<EnipDissector>::default() as Box<dyn Dissector>)
    }
}

/// A request sent and what it addressed, enough to classify its reply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Sent {
    service: u8,
    target: Target,
}

impl Sent {
    fn operation(&self) -> Operation {
        cip::classify(self.service, &self.target)
    }
}

/// A CIP request awaiting its reply.
#[derive(Debug, Clone, Copy, Default)]
struct Pending {
    key: u64,
    sent: Sent,
    /// The services of a Multiple Service Packet, in order.
    embedded: [Sent; MAX_TRACKED],
    embedded_len: usize,
    /// The request was (or embedded) a Multiple Service Packet.
    multiple: bool,
}

/// Per-flow EtherNet/IP state.
#[derive(Debug, Default)]
pub struct EnipDissector {
    sides: [Side; 2],
    pending: VecDeque<Pending>,
}

impl Framed for EnipDissector {
    fn sides(&mut self) -> &mut [Side; 2] {
        &mut self.sides
    }
}

/// Where a CIP message travels: the flow, its direction, the reply key.
#[derive(Clone, Copy)]
struct Ctx<'f> {
    flow: &'f FlowMeta,
    direction: Direction,
    key: u64,
}

impl EnipDissector {
    /// Reads the messages in `view`; returns how many bytes were used (the rest is the start of
    /// a message still incomplete).
    fn messages(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        view: &[u8],
        out: &mut Observations,
    ) -> usize {
        let mut at = 0;
        while let Some(rest) = view.get(at..).filter(|r| !r.is_empty()) {
            let header = match Header::parse(rest) {
                Ok(h) => h,
                Err(EnipError::Truncated { .. }) => return at,
                Err(error) => {
                    // A stream taken by its port that never held a message is another
                    // protocol; one that did has lost its framing or gone bad.
                    let side = &mut self.sides[direction.index()];
                    if side.messages > 0 {
                        report(flow, direction, out, "malformed", error);
                    }
                    self.sides[direction.index()].done = true;
                    return view.len();
                }
            };
            let side = &mut self.sides[direction.index()];
            side.messages = side.messages.saturating_add(1);
            let total = header.total_len();
            if total > MAX_MESSAGE {
                if rest.len() < total {
                    self.sides[direction.index()].skip = total - rest.len();
                    return view.len();
                }
                at += total;
                continue;
            }
            let Some(message) = rest.get(..total) else {
                return at;
            };
            self.message(flow, direction, &header, message, out);
            at += total;
        }
        at
    }

    /// One whole encapsulation message.
    fn message(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        header: &Header,
        message: &[u8],
        out: &mut Observations,
    ) {
        if header.options != 0 {
            let what = format_args!(
                "encapsulation options 0x{:08x} in {}, must be 0",
                header.options,
                command_name(header.command).unwrap_or("a message")
            );
            report(flow, direction, out, "violation", what);
        }
        let body = message.get(HEADER_LEN..).unwrap_or_default();
        let reply = match header.command {
            // Discovery requests carry no data.
            command::LIST_IDENTITY | command::LIST_SERVICES | command::LIST_INTERFACES => {
                !body.is_empty()
            }
            _ => direction == Direction::ServerToClient,
        };
        let Some(name) = command_name(header.command) else {
            return;
        };
        if reply && header.status != 0 {
            let category = match header.command {
                command::LIST_IDENTITY | command::LIST_SERVICES | command::LIST_INTERFACES => {
                    EventCategory::Discovery
                }
                _ => EventCategory::Other,
            };
            let mut detail = ValueBuf::<96>::new();
            let _ = write!(
                detail,
                "{name} status 0x{:04x} {}",
                header.status,
                status_name(header.status)
            );
            out.event(
                flow,
                direction.reverse(),
                "enip",
                category,
                "error_response",
                detail.as_str(),
            );
            return;
        }
        if reply {
            out.fact(
                flow.sender(direction),
                Attribute::Service,
                "enip",
                Source::Enip,
                flow.now,
            );
        }
        match (header.command, reply) {
            (command::LIST_IDENTITY, false) => {
                let op = if flow.server_is_unicast() {
                    ""
                } else {
                    "broadcast"
                };
                out.event(
                    flow,
                    direction,
                    "enip",
                    EventCategory::Discovery,
                    "list_identity",
                    op,
                );
            }
            (command::LIST_IDENTITY, true) => {
                for it in CpfItems::new(body).filter(|i| i.type_id == item::CIP_IDENTITY) {
                    let Ok(identity) = IdentityItem::parse(it.data) else {
                        continue;
                    };
                    identity_facts(flow, direction, &identity.identity, out);
                    if let Some(socket) = identity.socket {
                        let mut buf = ValueBuf::<40>::new();
                        let _ = write!(buf, "enip:{socket}");
                        out.fact(
                            flow.sender(direction),
                            Attribute::ProtocolAddress,
                            buf.as_str(),
                            Source::Enip,
                            flow.now,
                        );
                    }
                }
            }
            (command::LIST_SERVICES, false) => {
                out.event(
                    flow,
                    direction,
                    "enip",
                    EventCategory::Discovery,
                    "list_services",
                    "",
                );
            }
            (command::LIST_INTERFACES, false) => {
                out.event(
                    flow,
                    direction,
                    "enip",
                    EventCategory::Discovery,
                    "list_interfaces",
                    "",
                );
            }
            (command::REGISTER_SESSION, false) => {
                let mut detail = ValueBuf::<32>::new();
                if let Ok(version) = le16(body, 0, "protocol version") {
                    let _ = write!(detail, "protocol version {version}");
                }
                out.event(
                    flow,
                    direction,
                    "enip",
                    EventCategory::Other,
                    "register_session",
                    detail.as_str(),
                );
            }
            (command::UNREGISTER_SESSION, _) => {
                out.event(
                    flow,
                    direction,
                    "enip",
                    EventCategory::Other,
                    "unregister_session",
                    "",
                );
            }
            (command::SEND_RR_DATA | command::SEND_UNIT_DATA, _) => {
                // Interface handle (4) and timeout (2), then the CPF list.
                let list = body.get(6..).unwrap_or_default();
                if let Some(broken) = check_cpf(list) {
                    report(flow, direction, out, broken.operation(), broken);
                }
                let mut key = u64::from_le_bytes(header.context);
                for it in CpfItems::new(list) {
                    let message = match it.type_id {
                        item::UNCONNECTED_DATA => it.data,
                        item::CONNECTED_DATA => {
                            // The CIP sequence count is echoed by the reply.
                            let seq = le16(it.data, 0, "sequence count").unwrap_or(0);
                            key = (1 << 63) | u64::from(seq);
                            it.data.get(2..).unwrap_or_default()
                        }
                        _ => continue,
                    };
                    let ctx = Ctx {
                        flow,
                        direction,
                        key,
                    };
                    self.cip(ctx, message, out);
                }
            }
            _ => {}
        }
    }

    /// A CIP message router request or response.
    fn cip(&mut self, ctx: Ctx<'_>, message: &[u8], out: &mut Observations) {
        let Some(&service) = message.first() else {
            return;
        };
        if service & cip::RESPONSE == 0 {
            let mut pending = Pending {
                key: ctx.key,
                ..Pending::default()
            };
            self.request(ctx, message, &[], 0, &mut pending, out);
            if self.pending.len() >= MAX_PENDING {
                self.pending.pop_front();
            }
            self.pending.push_back(pending);
        } else {
            let found = self.pending.iter().position(|p| p.key == ctx.key);
            let pending = found.and_then(|i| self.pending.remove(i));
            self.response(ctx, message, pending.as_ref(), None, 0, out);
        }
    }

    /// A request (possibly embedded, `depth` levels down, sent along `route`): its event, and
    /// what the reply will need in `pending`.
    fn request(
        &mut self,
        ctx: Ctx<'_>,
        message: &[u8],
        route: &[u8],
        depth: usize,
        pending: &mut Pending,
        out: &mut Observations,
    ) -> Option<Sent> {
        if depth >= MAX_DEPTH {
            return None;
        }
        let request = Request::parse(message).ok()?;
        let target = Target::of(request.path);
        let sent = Sent {
            service: request.service,
            target,
        };
        let class6 = target.class == Some(cip::CLASS_CONNECTION_MANAGER);
        if depth == 0 || !pending.multiple {
            pending.sent = sent;
        }
        if request.service == cip::MULTIPLE_SERVICE_PACKET {
            let first = !pending.multiple;
            pending.multiple = true;
            for service in cip::embedded(request.data) {
                let inner = self.request(ctx, service, route, depth + 1, pending, out);
                if first && pending.embedded_len < MAX_TRACKED {
                    if let Some(slot) = pending.embedded.get_mut(pending.embedded_len) {
                        *slot = inner.unwrap_or_default();
                    }
                    pending.embedded_len += 1;
                }
            }
            return Some(sent);
        }
        if request.service == cip::UNCONNECTED_SEND && class6 {
            if let Ok(send) = cip::UnconnectedSend::parse(request.data) {
                // The reply is the embedded request's reply.
                return self.request(ctx, send.message, send.route, depth + 1, pending, out);
            }
        }
        let op = sent.operation();
        let mut detail = ValueBuf::<256>::new();
        cip::write_path(&mut detail, request.path);
        cip::write_body(&mut detail, request.service, &target, request.data);
        if !route.is_empty() {
            detail.push_bytes(b" route ");
            let mut text = ValueBuf::<64>::new();
            cip::write_path(&mut text, route);
            detail.push_bytes(text.as_bytes());
        }
        out.event(
            ctx.flow,
            ctx.direction,
            "enip",
            op.category,
            op.name,
            detail.as_str().trim_start(),
        );
        Some(sent)
    }

    /// A response: errors become events; Identity replies become facts. `sent` is the request
    /// it answers when known (from `pending`, or the embedded request of a Multiple Service
    /// Packet).
    fn response(
        &mut self,
        ctx: Ctx<'_>,
        message: &[u8],
        pending: Option<&Pending>,
        embedded: Option<Sent>,
        depth: usize,
        out: &mut Observations,
    ) {
        if depth >= MAX_DEPTH {
            return;
        }
        let Ok(response) = Response::parse(message) else {
            return;
        };
        let sent = match (embedded, pending) {
            (Some(sent), _) => Some(sent),
            (None, Some(p)) if depth == 0 => Some(p.sent),
            _ => None,
        }
        .filter(|s| s.service == response.service)
        .unwrap_or(Sent {
            service: response.service,
            target: Target::default(),
        });
        if response.service == cip::MULTIPLE_SERVICE_PACKET
            && matches!(response.status, 0x00 | 0x1e)
        {
            // Embedded service errors are reported by the embedded replies themselves.
            for (i, reply) in cip::embedded(response.data).enumerate() {
                let inner = pending
                    .filter(|p| p.multiple)
                    .and_then(|p| p.embedded.get(i).filter(|_| i < p.embedded_len))
                    .copied();
                self.response(ctx, reply, None, inner, depth + 1, out);
            }
            return;
        }
        if response.failed() {
            let op = sent.operation();
            let mut detail = ValueBuf::<128>::new();
            let _ = write!(
                detail,
                "{} status 0x{:02x} {}",
                op.name,
                response.status,
                cip::status_name(response.status)
            );
            if let Some(extended) = response.extended_status() {
                let _ = write!(detail, " extended 0x{extended:04x}");
            }
            out.event(
                ctx.flow,
                ctx.direction.reverse(),
                "enip",
                op.category,
                "error_response",
                detail.as_str(),
            );
            return;
        }
        if response.service == cip::GET_ATTRIBUTES_ALL
            && sent.target.class == Some(cip::CLASS_IDENTITY)
            && sent.target.attribute.is_none()
        {
            if let Ok(identity) = Identity::parse(response.data) {
                identity_facts(ctx.flow, ctx.direction, &identity, out);
            }
        }
    }
}

/// Reports a message sent in `direction` that breaks the protocol (category Other):
/// `malformed` when it cannot be decoded, `violation` when it decodes but breaks a rule of the
/// encapsulation. Only error paths come here; the detail is built on the stack.
fn report(
    flow: &FlowMeta,
    direction: Direction,
    out: &mut Observations,
    operation: &'static str,
    what: impl std::fmt::Display,
) {
    out.spec_report::<128>(flow, direction, "enip", operation, what);
}

impl Dissector for EnipDissector {
    fn protocol(&self) -> &'static str {
        "enip"
    }

    fn on_datagram(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        payload: &[u8],
        out: &mut Observations,
    ) {
        let header = match Header::parse(payload) {
            Ok(header) => header,
            Err(error) => return report(flow, direction, out, "malformed", error),
        };
        let present = payload.len() - HEADER_LEN;
        if usize::from(header.length) != present {
            // A datagram is whole: the length field must match what came.
            let what = format_args!(
                "encapsulation length {} but {present} bytes follow the header",
                header.length
            );
            report(flow, direction, out, "violation", what);
        }
        if let Some(message) = payload.get(..header.total_len()) {
            self.message(flow, direction, &header, message, out);
        }
    }

    fn on_stream(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        chunk: StreamChunk<'_>,
        out: &mut Observations,
    ) {
        framing::feed(self, direction.index(), chunk, MAX_MESSAGE, |this, view| {
            this.messages(flow, direction, view, out)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::hex;
    use ironward_model::Timestamp;

    use Direction::{ClientToServer as C, ServerToClient as S};

    fn flow(transport: Transport) -> FlowMeta {
        FlowMeta {
            id: 1,
            transport,
            client: ([10, 1, 1, 167], 5262).into(),
            server: ([10, 1, 1, 164], PORT).into(),
            now: Timestamp(1),
            frame: 1,
        }
    }

    /// An encapsulation message: header with `command`, `context`, then `body`.
    fn encap(command: u16, status: u32, context: u64, body: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&command.to_le_bytes());
        m.extend_from_slice(&(body.len() as u16).to_le_bytes());
        m.extend_from_slice(&0x1102_0100u32.to_le_bytes());
        m.extend_from_slice(&status.to_le_bytes());
        m.extend_from_slice(&context.to_le_bytes());
        m.extend_from_slice(&0u32.to_le_bytes());
        m.extend_from_slice(body);
        m
    }

    /// SendRRData carrying a CIP message in an unconnected data item.
    fn rr(context: u64, cip: &[u8]) -> Vec<u8> {
        let mut body = vec![0, 0, 0, 0, 10, 0, 2, 0, 0, 0, 0, 0, 0xb2, 0];
        body.extend_from_slice(&(cip.len() as u16).to_le_bytes());
        body.extend_from_slice(cip);
        encap(command::SEND_RR_DATA, 0, context, &body)
    }

    /// SendUnitData carrying a CIP message with sequence count `seq` on connection 0x1234.
    fn unit(seq: u16, cip: &[u8]) -> Vec<u8> {
        let mut body = vec![
            0, 0, 0, 0, 1, 0, 2, 0, 0xa1, 0, 4, 0, 0x34, 0x12, 0, 0, 0xb1, 0,
        ];
        body.extend_from_slice(&(cip.len() as u16 + 2).to_le_bytes());
        body.extend_from_slice(&seq.to_le_bytes());
        body.extend_from_slice(cip);
        encap(command::SEND_UNIT_DATA, 0, 0, &body)
    }

    type Run = (
        Vec<(bool, Attribute, String)>,
        Vec<(String, EventCategory, String, bool)>,
    );

    fn run(transport: Transport, messages: &[(Direction, Vec<u8>)]) -> Run {
        let f = flow(transport);
        let mut d = EnipFactory
            .select(&f, messages[0].0, &messages[0].1)
            .expect("selected");
        let mut out = Observations::default();
        for (dir, bytes) in messages {
            match transport {
                Transport::Udp => d.on_datagram(&f, *dir, bytes, &mut out),
                _ => d.on_stream(&f, *dir, StreamChunk::Data(bytes), &mut out),
            }
        }
        let facts = out
            .drain_facts()
            .map(|x| {
                (
                    x.subject == f.server_device(),
                    x.attribute,
                    x.value.into_owned(),
                )
            })
            .collect();
        let events = out
            .drain_events()
            .map(|e| {
                let from_client = e.src.ip == Some(f.client.ip());
                (e.operation.into_owned(), e.category, e.detail, from_client)
            })
            .collect();
        (facts, events)
    }

    /// ListIdentity reply of a 1756-ENBT/A (enip_test.pcap, frame 7, TCP payload).
    const LIST_IDENTITY_REPLY: &str = "63003300000000000000000000000000c1debed100000000\
        01000c002d00010000 02af120a0101a40000000000000000 01000c003a000403 30008e4d5200\
        0b313735362d454e42542f4103";

    #[test]
    fn list_identity_reply_facts() {
        let request = encap(command::LIST_IDENTITY, 0, 0xd1be_dec1_0000, &[]);
        let (facts, events) = run(
            Transport::Tcp,
            &[(C, request), (S, hex(LIST_IDENTITY_REPLY))],
        );
        let want = [
            (Attribute::Service, "enip"),
            (Attribute::Vendor, "Rockwell Automation/Allen-Bradley"),
            (Attribute::Description, "Communications Adapter"),
            (Attribute::ProductCode, "58"),
            (Attribute::Firmware, "4.03"),
            (Attribute::Serial, "0x00524d8e"),
            (Attribute::Model, "1756-ENBT/A"),
            (Attribute::State, "operational"),
            (Attribute::ProtocolAddress, "enip:10.1.1.164:44818"),
        ];
        let got: Vec<(Attribute, &str)> = facts
            .iter()
            .map(|(server, a, v)| {
                assert!(server);
                (*a, v.as_str())
            })
            .collect();
        assert_eq!(got, want);
        assert_eq!(
            events,
            vec![(
                "list_identity".into(),
                EventCategory::Discovery,
                String::new(),
                true
            )]
        );
    }

    #[test]
    fn list_identity_over_udp_and_broadcast() {
        let mut f = flow(Transport::Udp);
        f.server = ([10, 1, 1, 255], PORT).into();
        let mut d = EnipFactory.select(&f, C, &[]).unwrap();
        let mut out = Observations::default();
        d.on_datagram(&f, C, &encap(command::LIST_IDENTITY, 0, 0, &[]), &mut out);
        let events: Vec<_> = out.drain_events().map(|e| e.detail).collect();
        assert_eq!(events, vec!["broadcast".to_owned()]);
        // A reply datagram (from the device's port 44818) gives the facts.
        let (facts, _) = run(Transport::Udp, &[(S, hex(LIST_IDENTITY_REPLY))]);
        assert!(facts.contains(&(true, Attribute::Model, "1756-ENBT/A".into())));
    }

    #[test]
    fn split_and_coalesced_messages() {
        let mut stream = encap(command::REGISTER_SESSION, 0, 0, &[1, 0, 0, 0]);
        stream.extend(rr(7, &[0x0e, 0x03, 0x20, 0x01, 0x24, 0x01, 0x30, 0x07]));
        stream.extend(unit(5, &[0x07, 0x02, 0x20, 0x8e, 0x24, 0x01]));
        // Byte by byte, and all at once, give the same events.
        let bytes: Vec<(Direction, Vec<u8>)> = stream.iter().map(|b| (C, vec![*b])).collect();
        let (_, one_by_one) = run(Transport::Tcp, &bytes);
        let (_, whole) = run(Transport::Tcp, &[(C, stream)]);
        assert_eq!(one_by_one, whole);
        let ops: Vec<(&str, &str)> = whole
            .iter()
            .map(|(op, _, d, _)| (op.as_str(), d.as_str()))
            .collect();
        assert_eq!(
            ops,
            vec![
                ("register_session", "protocol version 1"),
                ("get_attribute_single", "class 0x01 instance 1 attribute 7"),
                ("stop", "class 0x8e instance 1"),
            ]
        );
        assert_eq!(whole[2].1, EventCategory::ModeChange);
    }

    #[test]
    fn identity_object_reply_and_errors() {
        let get_all = [0x01, 0x02, 0x20, 0x01, 0x24, 0x01];
        let mut reply = vec![0x81, 0, 0, 0];
        reply.extend_from_slice(&[
            1, 0, 14, 0, 0x36, 0, 20, 11, 0x60, 0x30, 0x8a, 0xcc, 0x25, 0x60,
        ]);
        reply.push(20);
        reply.extend_from_slice(b"1756-L73/B LOGIX5573");
        reply.push(3);
        let write = [0x10, 0x03, 0x20, 0x01, 0x24, 0x01, 0x30, 0x07, 0x41];
        let error = [0x90, 0, 0x0e, 0];
        let (facts, events) = run(
            Transport::Tcp,
            &[
                (C, rr(1, &get_all)),
                (C, rr(2, &write)),
                (S, rr(1, &reply)),
                (S, rr(2, &error)),
            ],
        );
        let server: Vec<(Attribute, &str)> = facts
            .iter()
            .filter(|f| f.0)
            .map(|(_, a, v)| (*a, v.as_str()))
            .collect();
        assert!(server.contains(&(Attribute::Type, "plc")));
        assert!(server.contains(&(Attribute::Serial, "0x6025cc8a")));
        assert!(server.contains(&(Attribute::Firmware, "20.11")));
        assert!(server.contains(&(Attribute::Model, "1756-L73/B LOGIX5573")));
        assert!(server.contains(&(Attribute::Description, "Programmable Logic Controller")));
        assert_eq!(
            events[1],
            (
                "set_attribute_single".into(),
                EventCategory::Write,
                "class 0x01 instance 1 attribute 7 value 41".into(),
                true
            )
        );
        assert_eq!(
            events[2],
            (
                "error_response".into(),
                EventCategory::Write,
                "set_attribute_single status 0x0e attribute not settable".into(),
                true
            )
        );
    }

    #[test]
    fn tags_forward_open_and_unconnected_send() {
        // Read Tag "Count" 1 element, Write Tag DINT 42 to "Out[2]".
        let mut read = vec![0x4c, 0x04, 0x91, 0x05];
        read.extend_from_slice(b"Count\0");
        read.extend_from_slice(&[1, 0]);
        let mut write = vec![0x4d, 0x04, 0x91, 0x03];
        write.extend_from_slice(b"Out\0");
        write.extend_from_slice(&[0x28, 0x02, 0xc4, 0x00, 1, 0, 42, 0, 0, 0]);
        // Unconnected Send to the Identity object through the backplane, slot 0.
        let inner = [0x01, 0x02, 0x20, 0x01, 0x24, 0x01];
        let mut send = vec![0x52, 0x02, 0x20, 0x06, 0x24, 0x01, 0x0a, 0x0e, 6, 0];
        send.extend_from_slice(&inner);
        send.extend_from_slice(&[1, 0, 0x01, 0x00]);
        let mut open = vec![0x54, 0x02, 0x20, 0x06, 0x24, 0x01, 0x0a, 0x0e];
        open.extend_from_slice(&0u32.to_le_bytes());
        open.extend_from_slice(&0x8000_0001u32.to_le_bytes());
        open.extend_from_slice(&[0x34, 0x12, 1, 0, 4, 3, 2, 1, 3, 0, 0, 0]);
        open.extend_from_slice(&2_000_000u32.to_le_bytes());
        open.extend_from_slice(&0x43f8u16.to_le_bytes());
        open.extend_from_slice(&2_000_000u32.to_le_bytes());
        open.extend_from_slice(&0x43f8u16.to_le_bytes());
        open.extend_from_slice(&[0xa3, 3, 0x01, 0x00, 0x20, 0x02, 0x24, 0x01]);
        let close = [
            0x4e, 0x02, 0x20, 0x06, 0x24, 0x01, 0x0a, 0x0e, 0x34, 0x12, 1, 0, 4, 3, 2, 1, 0, 0,
        ];
        let (_, events) = run(
            Transport::Tcp,
            &[
                (C, unit(1, &read)),
                (C, unit(2, &write)),
                (C, rr(3, &send)),
                (C, rr(4, &open)),
                (C, rr(5, &close)),
            ],
        );
        let got: Vec<(&str, &str)> = events
            .iter()
            .map(|(op, _, d, _)| (op.as_str(), d.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("read_tag", "tag Count elements 1"),
                (
                    "write_tag",
                    "tag Out[2] type 0x00c4 elements 1 values 2a000000"
                ),
                (
                    "get_attributes_all",
                    "class 0x01 instance 1 route port 1 link 0"
                ),
                (
                    "forward_open",
                    "class 0x06 instance 1 o_t_rpi_us 2000000 t_o_rpi_us 2000000 \
                     o_t_connection 0x00000000 t_o_connection 0x80000001 transport_class 3 \
                     serial 0x1234 path port 1 link 0 class 0x02 instance 1"
                ),
                (
                    "forward_close",
                    "class 0x06 instance 1 serial 0x1234 vendor 1 originator 0x01020304"
                ),
            ]
        );
    }

    #[test]
    fn multiple_service_packet_with_embedded_error() {
        let a = [0x0e, 0x03, 0x20, 0x01, 0x24, 0x01, 0x30, 0x01];
        let b = [0x03, 0x02, 0x20, 0x8b, 0x24, 0x01, 1, 0, 8, 0];
        let mut req = vec![0x0a, 0x02, 0x20, 0x02, 0x24, 0x01, 2, 0, 6, 0, 14, 0];
        req.extend_from_slice(&a);
        req.extend_from_slice(&b);
        let mut resp = vec![0x8a, 0, 0x1e, 0, 2, 0, 6, 0, 12, 0];
        resp.extend_from_slice(&[0x8e, 0, 0, 0, 1, 0]);
        resp.extend_from_slice(&[0x83, 0, 0x05, 0]);
        let (_, events) = run(Transport::Tcp, &[(C, unit(9, &req)), (S, unit(9, &resp))]);
        let got: Vec<(&str, EventCategory, &str)> = events
            .iter()
            .map(|(op, c, d, _)| (op.as_str(), *c, d.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "get_attribute_single",
                    EventCategory::Read,
                    "class 0x01 instance 1 attribute 1"
                ),
                (
                    "get_attribute_list",
                    EventCategory::Read,
                    "class 0x8b instance 1 attributes 8"
                ),
                (
                    "error_response",
                    EventCategory::Read,
                    "get_attribute_list status 0x05 path destination unknown"
                ),
            ]
        );
    }

    #[test]
    fn encapsulation_errors_and_session_commands() {
        let (_, events) = run(
            Transport::Tcp,
            &[
                (C, encap(command::REGISTER_SESSION, 0, 0, &[1, 0, 0, 0])),
                (S, encap(command::REGISTER_SESSION, 0x69, 0, &[1, 0, 0, 0])),
                (C, encap(command::NOP, 0, 0, &[])),
                (C, encap(command::UNREGISTER_SESSION, 0, 0, &[])),
            ],
        );
        let got: Vec<(&str, &str)> = events
            .iter()
            .map(|(op, _, d, _)| (op.as_str(), d.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("register_session", "protocol version 1"),
                (
                    "error_response",
                    "register_session status 0x0069 unsupported protocol revision"
                ),
                ("unregister_session", ""),
            ]
        );
    }

    #[test]
    fn truncation_and_garbage() {
        // Truncated CIP inside a whole message: no event, no panic.
        let (_, events) = run(Transport::Tcp, &[(C, rr(1, &[0x0e, 0x09, 0x20]))]);
        assert!(events.is_empty());
        // An unknown command ends the direction.
        let mut garbage = encap(0x1234, 0, 0, &[]);
        garbage.extend(encap(command::REGISTER_SESSION, 0, 0, &[1, 0, 0, 0]));
        let (_, events) = run(Transport::Tcp, &[(C, garbage)]);
        assert!(events.is_empty());
        assert_eq!(Header::parse(&[0x65, 0]), Err(cut("length", 2)));
        assert_eq!(
            Header::parse(&encap(0x1234, 0, 0, &[])),
            Err(EnipError::UnknownCommand(0x1234))
        );
        // An oversize message is skipped by length and the next one read.
        let mut body = vec![0u8; MAX_MESSAGE];
        body[..2].copy_from_slice(&[0, 0]);
        let mut stream = encap(command::SEND_RR_DATA, 0, 0, &body);
        stream.extend(encap(command::UNREGISTER_SESSION, 0, 0, &[]));
        let (first, second) = stream.split_at(1000);
        let (_, events) = run(Transport::Tcp, &[(C, first.to_vec()), (C, second.to_vec())]);
        assert_eq!(events.len(), 1);
        assert!(looks_like_enip(&encap(
            command::REGISTER_SESSION,
            0,
            0,
            &[1, 0, 0, 0]
        )));
        assert!(!looks_like_enip(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    }

    #[test]
    fn deep_nesting_is_bounded() {
        // Unconnected Sends nested deeper than MAX_DEPTH: decoding stops, no event.
        let mut msg = vec![0x0e, 0x03, 0x20, 0x01, 0x24, 0x01, 0x30, 0x01];
        for _ in 0..MAX_DEPTH + 2 {
            let mut outer = vec![0x52, 0x02, 0x20, 0x06, 0x24, 0x01, 0x0a, 0x0e];
            outer.extend_from_slice(&(msg.len() as u16).to_le_bytes());
            outer.extend_from_slice(&msg);
            if msg.len() % 2 == 1 {
                outer.push(0);
            }
            outer.extend_from_slice(&[1, 0, 0x01, 0x00]);
            msg = outer;
        }
        let (_, events) = run(Transport::Tcp, &[(C, rr(1, &msg))]);
        assert!(events.is_empty());
    }

    fn spec(events: &[(String, EventCategory, String, bool)]) -> Vec<(&str, &str, bool)> {
        events
            .iter()
            .filter(|(op, ..)| op == "malformed" || op == "violation")
            .map(|(op, _, detail, from_client)| (op.as_str(), detail.as_str(), *from_client))
            .collect()
    }

    #[test]
    fn encapsulation_rules() {
        let mut options = encap(command::LIST_IDENTITY, 0, 1, &[]);
        options[20] = 1;
        let mut long = encap(command::LIST_IDENTITY, 0, 2, &[]);
        long[2] = 8;
        let (_, events) = run(
            Transport::Udp,
            &[
                (C, options),
                (C, long),
                (C, vec![0x63, 0, 0, 0]),
                (C, encap(0x0999, 0, 3, &[])),
            ],
        );
        assert_eq!(
            spec(&events),
            [
                (
                    "violation",
                    "encapsulation options 0x00000001 in list_identity, must be 0",
                    true
                ),
                (
                    "violation",
                    "encapsulation length 8 but 0 bytes follow the header",
                    true
                ),
                (
                    "malformed",
                    "EtherNet/IP message truncated at sender context (offset 12)",
                    true
                ),
                ("malformed", "unknown EtherNet/IP command 0x0999", true),
            ]
        );
    }

    #[test]
    fn a_stream_that_goes_bad_is_malformed_and_one_never_enip_is_not() {
        let mut stream = encap(command::LIST_IDENTITY, 0, 1, &[]);
        stream.extend_from_slice(&encap(0x0999, 0, 3, &[]));
        let (_, events) = run(Transport::Tcp, &[(C, stream)]);
        assert_eq!(
            spec(&events),
            [("malformed", "unknown EtherNet/IP command 0x0999", true)]
        );
        let (_, events) = run(
            Transport::Tcp,
            &[(C, b"GET / HTTP/1.1\r\nHost: plc\r\n\r\n".to_vec())],
        );
        assert_eq!(spec(&events), []);
    }

    #[test]
    fn cpf_framing_rules() {
        let mut past = rr(9, &[0x4c, 2, 0x20, 0x02, 0x24, 0x01]);
        let n = past.len();
        past[n - 8] = 40;
        let mut trailing = rr(10, &[0x4c, 2, 0x20, 0x02, 0x24, 0x01]);
        trailing.extend_from_slice(&[0, 0]);
        trailing[2] += 2;
        let (_, events) = run(
            Transport::Tcp,
            &[
                (C, rr(8, &[0x4c, 2, 0x20, 0x02, 0x24, 0x01])),
                (C, past),
                (C, trailing),
            ],
        );
        assert_eq!(
            spec(&events),
            [
                (
                    "malformed",
                    "CPF item 2 of 2 runs past the message (10 bytes left)",
                    true
                ),
                ("violation", "CPF items end at byte 16 of 18", true),
            ]
        );
        assert_eq!(check_cpf(&[]), Some(CpfError::NoCount));
        assert_eq!(check_cpf(&[0, 0]), None);
    }
}
