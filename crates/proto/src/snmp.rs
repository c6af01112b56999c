//! SNMP v1, v2c and v3 over UDP (agents on port 161, notifications to port 162).
//!
//! Messages are decoded by the bounded BER reader of [`ber`] (definite lengths only, depth
//! limited, every length checked, errors with offsets). Facts are about the *agent*: the sender
//! of a Response, Trap, SNMPv2-Trap or Inform. The manager is never the subject: neither its
//! requests nor its Response acknowledging an Inform (sent from the notification port 162; it
//! echoes the agent's values) say anything about it, and the findings are about the agent, the
//! device whose v1/v2c service has to go. What the agent reports about itself:
//!
//! | seen | fact |
//! |---|---|
//! | v1/v2c Response or Trap | finding `snmp_v1_v2c` |
//! | v1/v2c Response carrying a well-known default community (the agent echoes the community of the request it answers, so the response itself proves the agent accepted it) | finding `snmp_default_community` |
//! | v3 Response, SNMPv2-Trap or Inform without the privacy flag | finding `snmp_v3_without_privacy` |
//! | sysDescr.0 | `Description` (and `Firmware` for Cisco texts) |
//! | sysObjectID.0 | `ObjectId`, and from `1.3.6.1.4.1.<PEN>` the maker via [`enterprises`] |
//! | sysName.0, sysLocation.0, sysContact.0 | `Hostname`, `Location`, `Contact` |
//! | hrDeviceDescr.1 (printers put their model in the first host-resources device) | `Model` |
//! | prtGeneralSerialNumber.1 | `Serial` |
//! | ENTITY-MIB entPhysical{Descr, FirmwareRev, SoftwareRev, SerialNum, MfgName, ModelName}.1 (the chassis) | `Description`, `Firmware`, `Firmware`, `Serial`, `Vendor`, `Model` |
//! | v1 Trap enterprise | maker via [`enterprises`]; `ObjectId` for generic traps (RFC 1157: it is then the agent's sysObjectID) |
//! | v3 msgAuthoritativeEngineID | `ClientId` `snmp-engine:<hex>` and the maker from its enterprise number |
//!
//! The enterprise table tells makers from agent software and operating systems: net-snmp gives
//! `Software`, Microsoft's agent `Os` `Windows`, never a `Vendor`.
//!
//! The v3 engine id belongs to the authoritative engine: the sender of unconfirmed PDUs
//! (Response, Report, Trap: the reportable flag is clear) and the receiver of confirmed ones
//! (Get, Set, Inform: the flag is set, and the fact is then hearsay about the receiver). This
//! holds for encrypted PDUs too, whose type cannot be read.
//!
//! Never stored: the community string (only compared with the table of defaults), the v3 user
//! name, authentication and privacy parameters.
//!
//! Each v1/v2c request (Get, GetNext, GetBulk, Set) records the event `snmp`
//! `community_request` (category authentication: the community is SNMP's password) from the
//! manager to the agent, whose detail names the community only by [`community_tag`], 8 bits of
//! a hash of it: enough for the anomaly engine to tell community guessing (a word list shows
//! nearly as many tags as words) from polling (one or two tags), too few to name a community
//! (each tag stands for one string in 256: some 40 words of a 10,000-word list). The tag is the
//! same in every run, so the same capture gives the same events. Repeats only count (the
//! detail is written once per manager, agent and tag; at most 256 per pair).

pub use crate::ber;
pub mod enterprises;

use std::fmt::{self, Write as _};
use std::net::Ipv4Addr;

use ironward_model::{Attribute, DeviceKey, EventCategory, Finding, Source, Timestamp};

use crate::lldp::ValueBuf;
use crate::observations::Observations;
use crate::session::{Direction, FlowMeta, Transport};
use crate::{Dissector, DissectorFactory, DissectorRegistry};
use ber::{BerError, Element, Oid, Reader, IP_ADDRESS, OBJECT_IDENTIFIER, OCTET_STRING, SEQUENCE};
use enterprises::Origin;

/// Port SNMP agents listen on.
pub const AGENT_PORT: u16 = 161;
/// Port notification receivers (trap and inform) listen on.
pub const TRAP_PORT: u16 = 162;

/// What was wrong with an SNMP message, and where (byte offset from the start of the UDP
/// payload).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnmpError {
    /// The BER encoding is malformed.
    Ber(BerError),
    /// A version other than 0 (v1), 1 (v2c) or 3.
    UnsupportedVersion {
        /// The version number.
        version: i64,
        /// Offset of the version element.
        offset: usize,
    },
    /// A PDU tag other than 0xa0..=0xa8.
    UnknownPdu {
        /// The tag found.
        tag: u8,
        /// Offset of the PDU.
        offset: usize,
    },
    /// A field with an impossible value (msgFlags not one byte, IpAddress not four).
    BadField {
        /// The field.
        field: &'static str,
        /// Offset of its element.
        offset: usize,
    },
}

impl From<BerError> for SnmpError {
    fn from(e: BerError) -> Self {
        Self::Ber(e)
    }
}

impl fmt::Display for SnmpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ber(e) => write!(f, "SNMP: {e}"),
            Self::UnsupportedVersion { version, offset } => {
                write!(f, "SNMP version {version} unsupported at {offset}")
            }
            Self::UnknownPdu { tag, offset } => write!(f, "SNMP PDU tag {tag:#04x} at {offset}"),
            Self::BadField { field, offset } => write!(f, "SNMP {field} malformed at {offset}"),
        }
    }
}

impl std::error::Error for SnmpError {}

/// SNMP protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// SNMPv1 (msgVersion 0).
    V1,
    /// SNMPv2c (msgVersion 1).
    V2c,
    /// SNMPv3 (msgVersion 3).
    V3,
}

/// The kind of a PDU, from its context-specific tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PduKind {
    /// GetRequest (0xa0).
    GetRequest,
    /// GetNextRequest (0xa1).
    GetNextRequest,
    /// Response, GetResponse in v1 (0xa2).
    Response,
    /// SetRequest (0xa3).
    SetRequest,
    /// SNMPv1 Trap (0xa4).
    TrapV1,
    /// GetBulkRequest (0xa5).
    GetBulkRequest,
    /// InformRequest (0xa6).
    InformRequest,
    /// SNMPv2-Trap (0xa7).
    TrapV2,
    /// Report (0xa8).
    Report,
}

impl PduKind {
    /// The kind for a PDU tag.
    pub fn from_tag(tag: u8) -> Option<Self> {
        Some(match tag {
            0xa0 => Self::GetRequest,
            0xa1 => Self::GetNextRequest,
            0xa2 => Self::Response,
            0xa3 => Self::SetRequest,
            0xa4 => Self::TrapV1,
            0xa5 => Self::GetBulkRequest,
            0xa6 => Self::InformRequest,
            0xa7 => Self::TrapV2,
            0xa8 => Self::Report,
            _ => return None,
        })
    }

    /// Whether an agent (or notification originator) sends it, so that its values describe
    /// the sender.
    pub fn from_agent(self) -> bool {
        matches!(
            self,
            Self::Response | Self::TrapV1 | Self::TrapV2 | Self::InformRequest
        )
    }
}

/// The header of an SNMPv1 Trap PDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrapV1Header<'a> {
    /// The enterprise (the agent's sysObjectID for generic traps).
    pub enterprise: Oid<'a>,
    /// The agent's address as it states it.
    pub agent_address: Ipv4Addr,
    /// Generic trap number (0 coldStart .. 5 egpNeighborLoss, 6 enterpriseSpecific).
    pub generic: i64,
    /// Specific trap number.
    pub specific: i64,
}

/// A PDU; its variable bindings are decoded on iteration.
#[derive(Debug, Clone)]
pub struct Pdu<'a> {
    /// What the PDU is.
    pub kind: PduKind,
    /// Request id (0 for v1 traps).
    pub request_id: i64,
    /// Error status (non-repeaters for GetBulk; 0 for v1 traps).
    pub error_status: i64,
    /// The v1 trap header, for [`PduKind::TrapV1`].
    pub trap: Option<TrapV1Header<'a>>,
    varbinds: Reader<'a>,
}

impl<'a> Pdu<'a> {
    fn parse(element: Element<'a>) -> Result<Self, SnmpError> {
        let kind = PduKind::from_tag(element.tag).ok_or(SnmpError::UnknownPdu {
            tag: element.tag,
            offset: element.offset,
        })?;
        let mut fields = element.contents("PDU")?;
        if kind == PduKind::TrapV1 {
            let enterprise = fields.oid("enterprise")?;
            let address = fields.expect(IP_ADDRESS, "agent-addr")?;
            let agent_address = <[u8; 4]>::try_from(address.value)
                .map(Ipv4Addr::from)
                .map_err(|_| SnmpError::BadField {
                    field: "agent-addr",
                    offset: address.offset,
                })?;
            let generic = fields.integer("generic-trap")?;
            let specific = fields.integer("specific-trap")?;
            fields.read("time-stamp")?;
            let varbinds = fields.enter(SEQUENCE, "variable-bindings")?;
            return Ok(Self {
                kind,
                request_id: 0,
                error_status: 0,
                trap: Some(TrapV1Header {
                    enterprise,
                    agent_address,
                    generic,
                    specific,
                }),
                varbinds,
            });
        }
        let request_id = fields.integer("request-id")?;
        let error_status = fields.integer("error-status")?;
        fields.integer("error-index")?;
        let varbinds = fields.enter(SEQUENCE, "variable-bindings")?;
        Ok(Self {
            kind,
            request_id,
            error_status,
            trap: None,
            varbinds,
        })
    }

    /// The variable bindings, in order; after an error, nothing more.
    pub fn varbinds(&self) -> VarBinds<'a> {
        VarBinds {
            list: self.varbinds.clone(),
            done: false,
        }
    }
}

/// One variable binding: an object name and its value element (NULL in requests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VarBind<'a> {
    /// The object.
    pub name: Oid<'a>,
    /// Its value, undecoded (tag and bytes).
    pub value: Element<'a>,
}

/// Iterator over a PDU's variable bindings; each step consumes at least one element header.
#[derive(Debug, Clone)]
pub struct VarBinds<'a> {
    list: Reader<'a>,
    done: bool,
}

impl<'a> VarBinds<'a> {
    fn step(&mut self) -> Result<VarBind<'a>, BerError> {
        let mut varbind = self.list.enter(SEQUENCE, "VarBind")?;
        let name = varbind.oid("name")?;
        let value = varbind.read("value")?;
        Ok(VarBind { name, value })
    }
}

impl<'a> Iterator for VarBinds<'a> {
    type Item = Result<VarBind<'a>, BerError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.list.is_empty() {
            return None;
        }
        let item = self.step();
        self.done = item.is_err();
        Some(item)
    }
}

/// A v1 or v2c message. The community is kept only to be compared with the defaults: it is
/// neither exposed nor printed.
#[derive(Clone)]
pub struct CommunityMessage<'a> {
    /// V1 or V2c.
    pub version: Version,
    community: &'a [u8],
    /// The PDU.
    pub pdu: Pdu<'a>,
}

impl CommunityMessage<'_> {
    /// Whether the community is a well-known default (see [`is_default_community`]).
    pub fn uses_default_community(&self) -> bool {
        is_default_community(self.community)
    }
}

impl fmt::Debug for CommunityMessage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommunityMessage")
            .field("version", &self.version)
            .field("community", &"<not shown>")
            .field("pdu", &self.pdu)
            .finish()
    }
}

/// An SNMPv3 message (RFC 3412), with the user-based security model's authoritative engine id
/// (RFC 3414). The user name and the authentication and privacy parameters are not kept.
#[derive(Debug, Clone)]
pub struct V3Message<'a> {
    /// msgID.
    pub msg_id: i64,
    /// msgMaxSize.
    pub max_size: i64,
    /// msgFlags: bit 0 authentication, bit 1 privacy, bit 2 reportable.
    pub flags: u8,
    /// msgSecurityModel (3 = USM).
    pub security_model: i64,
    /// msgAuthoritativeEngineID (empty in discovery requests and for other security models).
    pub engine_id: &'a [u8],
    /// The plaintext PDU; `None` when it is encrypted.
    pub pdu: Option<Pdu<'a>>,
}

impl V3Message<'_> {
    /// Whether the message is authenticated.
    pub fn authenticated(&self) -> bool {
        self.flags & 1 != 0
    }

    /// Whether the scoped PDU is encrypted.
    pub fn private(&self) -> bool {
        self.flags & 2 != 0
    }

    /// Whether the PDU asks for a report (confirmed-class PDUs: the receiver is authoritative).
    pub fn reportable(&self) -> bool {
        self.flags & 4 != 0
    }
}

/// An SNMP message of any version.
#[derive(Debug, Clone)]
pub enum Message<'a> {
    /// SNMPv1 or SNMPv2c.
    Community(CommunityMessage<'a>),
    /// SNMPv3.
    V3(V3Message<'a>),
}

/// Decodes an SNMP message (a UDP payload; bytes after the message are ignored).
pub fn parse(bytes: &[u8]) -> Result<Message<'_>, SnmpError> {
    let mut message = Reader::new(bytes).enter(SEQUENCE, "message")?;
    let version_offset = message.offset();
    let version = message.integer("version")?;
    match version {
        0 | 1 => {
            let community = message.octets("community")?;
            let pdu = Pdu::parse(message.read("PDU")?)?;
            Ok(Message::Community(CommunityMessage {
                version: if version == 0 {
                    Version::V1
                } else {
                    Version::V2c
                },
                community,
                pdu,
            }))
        }
        3 => parse_v3(message).map(Message::V3),
        _ => Err(SnmpError::UnsupportedVersion {
            version,
            offset: version_offset,
        }),
    }
}

fn parse_v3(mut message: Reader<'_>) -> Result<V3Message<'_>, SnmpError> {
    let mut global = message.enter(SEQUENCE, "msgGlobalData")?;
    let msg_id = global.integer("msgID")?;
    let max_size = global.integer("msgMaxSize")?;
    let flags = global.expect(OCTET_STRING, "msgFlags")?;
    let flags = match flags.value {
        [byte] => *byte,
        _ => {
            return Err(SnmpError::BadField {
                field: "msgFlags",
                offset: flags.offset,
            })
        }
    };
    let security_model = global.integer("msgSecurityModel")?;
    let parameters = message.expect(OCTET_STRING, "msgSecurityParameters")?;
    let engine_id = if security_model == 3 {
        parameters
            .contents("msgSecurityParameters")?
            .enter(SEQUENCE, "UsmSecurityParameters")?
            .octets("msgAuthoritativeEngineID")?
    } else {
        &[]
    };
    let pdu = if flags & 2 != 0 {
        message.expect(OCTET_STRING, "encryptedPDU")?;
        None
    } else {
        let mut scoped = message.enter(SEQUENCE, "ScopedPDU")?;
        scoped.octets("contextEngineID")?;
        scoped.octets("contextName")?;
        Some(Pdu::parse(scoped.read("PDU")?)?)
    };
    Ok(V3Message {
        msg_id,
        max_size,
        flags,
        security_model,
        engine_id,
        pdu,
    })
}

/// Well-known default and vendor-default communities (compared ignoring ASCII case).
const DEFAULT_COMMUNITIES: &[&str] = &[
    "0",
    "1234",
    "admin",
    "all private",
    "cable-docsis",
    "cisco",
    "community",
    "default",
    "guest",
    "hp_admin",
    "ilmi",
    "internal",
    "manager",
    "mngt",
    "monitor",
    "netman",
    "network",
    "openview",
    "password",
    "private",
    "public",
    "read",
    "rmon",
    "rmon_admin",
    "root",
    "router",
    "secret",
    "security",
    "snmp",
    "snmpd",
    "switch",
    "system",
    "test",
    "tivoli",
    "write",
];

/// The tag of a community: its 64-bit FNV-1a hash folded to 8 bits (see the module
/// documentation for why so few).
pub fn community_tag(community: &[u8]) -> u8 {
    let hash = community
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, &byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
        });
    hash.to_le_bytes().iter().fold(0, |tag, byte| tag ^ byte)
}

/// The operation of the event a v1/v2c request records (see the module documentation).
pub const COMMUNITY_REQUEST: &str = "community_request";

/// Whether `community` is a well-known default.
pub fn is_default_community(community: &[u8]) -> bool {
    DEFAULT_COMMUNITIES
        .iter()
        .any(|d| d.as_bytes().eq_ignore_ascii_case(community))
}

/// Encoded `1.3.6.1.4.1` (private enterprises).
const ENTERPRISES_PREFIX: &[u8] = &[0x2b, 6, 1, 4, 1];

/// What a known object says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Known {
    /// sysDescr: description, and a Cisco firmware version.
    SysDescr,
    /// sysObjectID: object id and maker.
    SysObjectId,
    /// A text value for this attribute.
    Text(Attribute),
}

/// Objects whose values describe the agent, by their encoded OID (matched without decoding).
const KNOWN_OBJECTS: &[(&[u8], Known)] = &[
    // system group, 1.3.6.1.2.1.1.x.0
    (&[0x2b, 6, 1, 2, 1, 1, 1, 0], Known::SysDescr),
    (&[0x2b, 6, 1, 2, 1, 1, 2, 0], Known::SysObjectId),
    (
        &[0x2b, 6, 1, 2, 1, 1, 4, 0],
        Known::Text(Attribute::Contact),
    ),
    (
        &[0x2b, 6, 1, 2, 1, 1, 5, 0],
        Known::Text(Attribute::Hostname),
    ),
    (
        &[0x2b, 6, 1, 2, 1, 1, 6, 0],
        Known::Text(Attribute::Location),
    ),
    // hrDeviceDescr.1, 1.3.6.1.2.1.25.3.2.1.3.1
    (
        &[0x2b, 6, 1, 2, 1, 25, 3, 2, 1, 3, 1],
        Known::Text(Attribute::Model),
    ),
    // prtGeneralSerialNumber.1, 1.3.6.1.2.1.43.5.1.1.17.1
    (
        &[0x2b, 6, 1, 2, 1, 43, 5, 1, 1, 17, 1],
        Known::Text(Attribute::Serial),
    ),
    // entPhysicalTable columns of the chassis (index 1), 1.3.6.1.2.1.47.1.1.1.1.c.1
    (
        &[0x2b, 6, 1, 2, 1, 47, 1, 1, 1, 1, 2, 1],
        Known::Text(Attribute::Description),
    ),
    (
        &[0x2b, 6, 1, 2, 1, 47, 1, 1, 1, 1, 9, 1],
        Known::Text(Attribute::Firmware),
    ),
    (
        &[0x2b, 6, 1, 2, 1, 47, 1, 1, 1, 1, 10, 1],
        Known::Text(Attribute::Firmware),
    ),
    (
        &[0x2b, 6, 1, 2, 1, 47, 1, 1, 1, 1, 11, 1],
        Known::Text(Attribute::Serial),
    ),
    (
        &[0x2b, 6, 1, 2, 1, 47, 1, 1, 1, 1, 12, 1],
        Known::Text(Attribute::Vendor),
    ),
    (
        &[0x2b, 6, 1, 2, 1, 47, 1, 1, 1, 1, 13, 1],
        Known::Text(Attribute::Model),
    ),
];

/// Reports one fact, as the subject's own or, when `hearsay`, as another device's word.
fn report(
    out: &mut Observations,
    subject: DeviceKey,
    attribute: Attribute,
    value: &[u8],
    hearsay: bool,
    at: Timestamp,
) {
    let source = Source::Snmp;
    let mut confidence = source.default_confidence();
    if hearsay {
        confidence = confidence.min(ironward_model::HEARSAY_CONFIDENCE);
    }
    out.fact_bytes_with(subject, attribute, value, source, confidence, at);
}

/// Reports what an enterprise number says about a device.
fn report_enterprise(
    out: &mut Observations,
    subject: DeviceKey,
    number: u64,
    hearsay: bool,
    at: Timestamp,
) {
    if let Some((name, origin)) = enterprises::lookup(number) {
        let attribute = match origin {
            Origin::Vendor => Attribute::Vendor,
            Origin::Software => Attribute::Software,
            Origin::Os => Attribute::Os,
        };
        report(out, subject, attribute, name.as_bytes(), hearsay, at);
    }
}

/// Reports an object identifier value (sysObjectID, v1 trap enterprise) and its maker.
fn report_object_id(out: &mut Observations, subject: DeviceKey, oid: Oid<'_>, at: Timestamp) {
    let mut text = ValueBuf::new();
    oid.write_dotted(&mut text);
    report(
        out,
        subject,
        Attribute::ObjectId,
        text.as_bytes(),
        false,
        at,
    );
    if let Some(number) = oid.arc_after(ENTERPRISES_PREFIX) {
        report_enterprise(out, subject, number, false, at);
    }
}

/// The enterprise number in an SNMPv3 engine id (RFC 3411 SnmpEngineID): the first four
/// bytes, with the high bit set in the current format, or as they are in the old 12-byte one.
pub fn engine_enterprise(engine_id: &[u8]) -> Option<u32> {
    let [a, b, c, d, ..] = engine_id else {
        return None;
    };
    let number = u32::from_be_bytes([*a, *b, *c, *d]);
    if number & 0x8000_0000 != 0 {
        Some(number & 0x7fff_ffff)
    } else {
        (engine_id.len() == 12).then_some(number)
    }
}

/// Reports an SNMPv3 engine id (5 to 32 bytes, RFC 3411) and its maker.
fn report_engine(
    out: &mut Observations,
    subject: DeviceKey,
    engine_id: &[u8],
    hearsay: bool,
    at: Timestamp,
) {
    if !(5..=32).contains(&engine_id.len()) {
        return;
    }
    let mut text = ValueBuf::new();
    text.push_bytes(b"snmp-engine:");
    text.push_hex(engine_id);
    report(
        out,
        subject,
        Attribute::ClientId,
        text.as_bytes(),
        hearsay,
        at,
    );
    if let Some(number) = engine_enterprise(engine_id) {
        report_enterprise(out, subject, u64::from(number), hearsay, at);
    }
}

/// Reports what an agent's PDU says about the agent.
fn describe(pdu: &Pdu<'_>, agent: DeviceKey, at: Timestamp, out: &mut Observations) {
    if let Some(trap) = &pdu.trap {
        if (0..6).contains(&trap.generic) {
            report_object_id(out, agent, trap.enterprise, at);
        } else if let Some(number) = trap.enterprise.arc_after(ENTERPRISES_PREFIX) {
            report_enterprise(out, agent, number, false, at);
        }
    }
    for varbind in pdu.varbinds().map_while(Result::ok) {
        let name = varbind.name.as_bytes();
        let Some((_, known)) = KNOWN_OBJECTS.iter().find(|(oid, _)| *oid == name) else {
            continue;
        };
        let value = varbind.value;
        match (known, value.tag) {
            (Known::SysObjectId, OBJECT_IDENTIFIER) => {
                if let Ok(oid) = value.oid("sysObjectID") {
                    report_object_id(out, agent, oid, at);
                }
            }
            (Known::SysDescr, OCTET_STRING) => {
                report(out, agent, Attribute::Description, value.value, false, at);
                if let Some(version) = crate::cdp::cisco_version(value.value) {
                    report(out, agent, Attribute::Firmware, version, false, at);
                }
            }
            (Known::Text(attribute), OCTET_STRING) => {
                report(out, agent, *attribute, value.value, false, at);
            }
            _ => {}
        }
    }
}

/// Reports the facts and findings of one message going in `direction`. `engine_announced`
/// remembers, per flow, that the authoritative engine named itself, so that the managers'
/// requests repeating its engine id add no hearsay.
fn observe(
    message: &Message<'_>,
    flow: &FlowMeta,
    direction: Direction,
    engine_announced: &mut bool,
    out: &mut Observations,
) {
    let sender = flow.sender(direction);
    let at = flow.now;
    let source = Source::Snmp;
    // A notification receiver (a manager) acknowledging an Inform: no agent speaks.
    let acknowledges_inform = flow.source(direction).port() == TRAP_PORT;
    match message {
        Message::Community(message) => {
            let kind = message.pdu.kind;
            if matches!(
                kind,
                PduKind::GetRequest
                    | PduKind::GetNextRequest
                    | PduKind::GetBulkRequest
                    | PduKind::SetRequest
            ) {
                let tag = community_tag(message.community);
                out.event_keyed(
                    flow,
                    direction,
                    "snmp",
                    EventCategory::Authentication,
                    COMMUNITY_REQUEST,
                    tag,
                    |detail| {
                        let _ = write!(detail, "community tag {tag:02x}");
                    },
                );
            }
            if !kind.from_agent() || (kind == PduKind::Response && acknowledges_inform) {
                return;
            }
            out.finding(sender, Finding::SnmpV1V2c, source, at);
            if kind == PduKind::Response && message.uses_default_community() {
                out.finding(sender, Finding::SnmpDefaultCommunity, source, at);
            }
            describe(&message.pdu, sender, at, out);
        }
        Message::V3(message) => {
            if !message.reportable() {
                report_engine(out, sender, message.engine_id, false, at);
                *engine_announced |= !message.engine_id.is_empty();
            } else if !*engine_announced {
                report_engine(out, flow.receiver(direction), message.engine_id, true, at);
            }
            let Some(pdu) = &message.pdu else {
                return;
            };
            if pdu.kind == PduKind::Response && acknowledges_inform {
                return;
            }
            if matches!(
                pdu.kind,
                PduKind::Response | PduKind::TrapV2 | PduKind::InformRequest
            ) {
                out.finding(sender, Finding::SnmpV3WithoutPrivacy, source, at);
            }
            if pdu.kind.from_agent() {
                describe(pdu, sender, at, out);
            }
        }
    }
}

/// Per-flow SNMP dissector. Every datagram is a whole message; the only state is whether the
/// authoritative SNMPv3 engine has named itself on this flow.
#[derive(Debug, Default)]
pub struct SnmpDissector {
    engine_announced: bool,
}

impl Dissector for SnmpDissector {
    fn protocol(&self) -> &'static str {
        "snmp"
    }

    fn on_datagram(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        payload: &[u8],
        out: &mut Observations,
    ) {
        if let Ok(message) = parse(payload) {
            observe(&message, flow, direction, &mut self.engine_announced, out);
        }
    }
}

/// Takes UDP flows on port 161 or 162 (either end) whose first payload starts like an SNMP
/// message: a SEQUENCE whose first element is the INTEGER version 0, 1 or 3.
#[derive(Debug, Default)]
pub struct SnmpFactory;

/// Whether `payload` starts like an SNMP message (cheap: two element headers).
pub fn looks_like_snmp(payload: &[u8]) -> bool {
    let Ok(mut message) = Reader::new(payload).enter(SEQUENCE, "message") else {
        return false;
    };
    matches!(message.integer("version"), Ok(0 | 1 | 3))
}

impl DissectorFactory for SnmpFactory {
    fn protocol(&self) -> &'static str {
        "snmp"
    }

    fn select(
        &self,
        flow: &FlowMeta,
        _direction: Direction,
        first_payload: &[u8],
    ) -> Option<Box<dyn Dissector>> {
        let port = |p: u16| p == AGENT_PORT || p == TRAP_PORT;
        (flow.transport == Transport::Udp
            && (port(flow.server.port()) || port(flow.client.port()))
            && looks_like_snmp(first_payload))
        .then(|| Box::<SnmpDissector>::default() as Box<dyn Dissector>)
    }
}

/// Adds this module's dissectors to `registry`.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register(Box::new(SnmpFactory));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::hex;
    use ironward_model::Fact;

    fn flow(server_port: u16) -> FlowMeta {
        FlowMeta {
            id: 1,
            transport: Transport::Udp,
            client: ([172, 31, 19, 54], 1024).into(),
            server: ([172, 31, 19, 73], server_port).into(),
            now: Timestamp(1),
            frame: 1,
        }
    }

    fn facts_of(messages: &[(Direction, &str)], server_port: u16) -> Vec<Fact> {
        let flow = flow(server_port);
        let first = hex(messages[0].1);
        let mut dissector = SnmpFactory
            .select(&flow, messages[0].0, &first)
            .expect("SNMP flow");
        let mut out = Observations::default();
        for (direction, payload) in messages {
            dissector.on_datagram(&flow, *direction, &hex(payload), &mut out);
        }
        out.drain_facts().collect()
    }

    fn values(facts: &[Fact], attribute: Attribute) -> Vec<String> {
        facts
            .iter()
            .filter(|f| f.attribute == attribute)
            .map(|f| f.value.to_string())
            .collect()
    }

    fn agent() -> DeviceKey {
        DeviceKey::Ip([172, 31, 19, 73].into())
    }

    const C2S: Direction = Direction::ClientToServer;
    const S2C: Direction = Direction::ServerToClient;

    /// zeek_snmpv1_get.pcap frames 1-4: an OKI printer answers sysObjectID, sysName and
    /// sysLocation to community "public".
    #[test]
    fn v1_printer() {
        let facts = facts_of(
            &[
                (C2S, "302602010004067075626c6963a019020126020100020100300e300c06082b060102010102000500"),
                (S2C, "303802010004067075626c6963a22b0201260201000201003020301e06082b0601020101020006122b060104018f5101010182295d011b020201"),
                (C2S, "303402010004067075626c6963a027020127020100020100301c300c06082b060102010105000500300c06082b060102010106000500"),
                (S2C, "304702010004067075626c6963a23a020127020100020100302f301106082b0601020101050004054236333030301a06082b06010201010600040e4368616e64726127732063756265"),
            ],
            AGENT_PORT,
        );
        assert!(facts
            .iter()
            .all(|f| f.subject == agent() && f.source == Source::Snmp));
        assert_eq!(
            values(&facts, Attribute::Finding),
            ["snmp_v1_v2c", "snmp_default_community"]
        );
        assert_eq!(
            values(&facts, Attribute::ObjectId),
            ["1.3.6.1.4.1.2001.1.1.1.297.93.1.27.2.2.1"]
        );
        assert_eq!(values(&facts, Attribute::Vendor), ["OKI"]);
        assert_eq!(values(&facts, Attribute::Hostname), ["B6300"]);
        assert_eq!(values(&facts, Attribute::Location), ["Chandra's cube"]);
        // The community never appears in a fact.
        assert!(facts.iter().all(|f| !f.value.contains("public")));
    }

    /// Each v1/v2c request records a `community_request` from the manager to the agent whose
    /// detail tells communities apart by their tag only: a repeated community counts in
    /// one event, another community makes another, and neither detail holds the community.
    /// (zeek_snmpv1_get.pcap frame 1, and the same request with the community `private`.)
    #[test]
    fn requests_name_their_community_by_a_tag_only() {
        let public =
            "302602010004067075626c6963a019020126020100020100300e300c06082b060102010102000500";
        let private =
            "3027020100040770726976617465a019020126020100020100300e300c06082b060102010102000500";
        let response = "303802010004067075626c6963a22b0201260201000201003020301e06082b0601020101020006122b060104018f5101010182295d011b020201";
        let flow = flow(AGENT_PORT);
        let mut dissector = SnmpFactory
            .select(&flow, C2S, &hex(public))
            .expect("SNMP flow");
        let mut out = Observations::default();
        for (direction, payload) in [
            (C2S, public),
            (S2C, response),
            (C2S, public),
            (C2S, private),
        ] {
            dissector.on_datagram(&flow, direction, &hex(payload), &mut out);
        }
        let events = out.events();
        let details: Vec<(&str, u64)> = events
            .iter()
            .map(|e| {
                assert_eq!(
                    (e.protocol.as_ref(), e.operation.as_ref()),
                    ("snmp", COMMUNITY_REQUEST)
                );
                assert_eq!(e.category, EventCategory::Authentication);
                (e.detail.as_str(), e.count)
            })
            .collect();
        assert_eq!(details.len(), 2, "{details:?}");
        assert_eq!(
            details[0].1, 2,
            "the repeated community counts in one event"
        );
        assert_eq!(details[1].1, 1);
        assert_ne!(details[0].0, details[1].0);
        // FNV-1a of "public" is 0xf4b72165f60f5b60, its bytes xored 0xc5: the same every run.
        assert_eq!(details[0].0, "community tag c5");
        assert_eq!(community_tag(b"private"), 0x47);
        for (detail, _) in &details {
            assert!(!detail.contains("public") && !detail.contains("private"));
        }
    }

    /// zeek_snmpwalk-short.pcap frames 2 and 4: a v2c walk of a Linux net-snmp agent.
    #[test]
    fn v2c_walk_net_snmp() {
        let facts = facts_of(
            &[
                (S2C, "30819002010104067075626c6963a28182020409584e450201000201003074307206082b0601020101010004664c696e7578207562756e74752d3531326d622d73666f322d303120342e342e302d33312d67656e65726963202335307e31342e30342e312d5562756e747520534d5020576564204a756c2031332030313a30373a3332205554432032303136207838365f3634"),
                (S2C, "303302010104067075626c6963a226020409584e460201000201003018301606082b06010201010200060a2b06010401bf0803020a"),
            ],
            AGENT_PORT,
        );
        assert_eq!(
            values(&facts, Attribute::Description),
            [
                "Linux ubuntu-512mb-sfo2-01 4.4.0-31-generic #50~14.04.1-Ubuntu SMP Wed Jul 13 \
              01:07:32 UTC 2016 x86_64"
            ]
        );
        assert!(values(&facts, Attribute::Firmware).is_empty());
        assert_eq!(
            values(&facts, Attribute::ObjectId),
            ["1.3.6.1.4.1.8072.3.2.10"]
        );
        // net-snmp is agent software, not the device's maker.
        assert_eq!(values(&facts, Attribute::Software), ["net-snmp"]);
        assert!(values(&facts, Attribute::Vendor).is_empty());
    }

    /// zeek_snmpv1_trap.pcap frame 1: a v1 coldStart trap to port 162.
    #[test]
    fn v1_trap() {
        let bytes = hex("303b02010004067075626c6963a42e06092b0601040181f4690040047f000001020100020100430400000000300f300d06082b06010201020100020121");
        let Ok(Message::Community(message)) = parse(&bytes) else {
            panic!("v1 trap");
        };
        assert_eq!(message.version, Version::V1);
        assert!(message.uses_default_community());
        assert!(!format!("{message:?}").contains("public"));
        let trap = message.pdu.trap.unwrap();
        assert_eq!(trap.agent_address, Ipv4Addr::LOCALHOST);
        assert_eq!((trap.generic, trap.specific), (0, 0));
        let varbinds: Vec<_> = message.pdu.varbinds().collect();
        assert_eq!(varbinds.len(), 1);

        let facts = facts_of(&[(C2S, "303b02010004067075626c6963a42e06092b0601040181f4690040047f000001020100020100430400000000300f300d06082b06010201020100020121")], TRAP_PORT);
        let sender = DeviceKey::Ip([172, 31, 19, 54].into());
        assert!(facts.iter().all(|f| f.subject == sender));
        // A trap is no answer: v1/v2c in use, but no proof that "public" is accepted.
        assert_eq!(values(&facts, Attribute::Finding), ["snmp_v1_v2c"]);
        assert_eq!(values(&facts, Attribute::ObjectId), ["1.3.6.1.4.1.31337.0"]);
    }

    /// zeek_snmpv3_get_next.pcap: discovery, report, get-next, response without privacy.
    #[test]
    fn v3_exchange() {
        let messages = [
            (C2S, "303d02010330100204207b2f72020240000401040201030410300e040002012a02012a040004000400301404000400a00e0204207b2f720201000201003000"),
            (S2C, "306a02010330100204207b2f7202024000040100020103041d301b040d80001f8880a9498e5e3a2c30430201dd0201dd0400040004003034040d80001f8880a9498e5e3a2c30430400a8210204207b2f720201000201003013301106092b060106030f010100410400000003"),
            (C2S, "307902010330100204207b2f72020240000401040201030431302f040d80001f8880a9498e5e3a2c30430201dd0201dd0408757365726e616d65040c0000000000000000000000000400302f040d80001f8880a9498e5e3a2c30430400a11c0204207b2f72020100020100300e300c06082b060102010106000500"),
            (S2C, "306d02010330100204207b2f720202400004010002010304253023040d80001f8880a9498e5e3a2c30430201dd0201dd0408757365726e616d6504000400302f040d80001f8880a9498e5e3a2c30430400a21c0204207b2f72020100020100300e300c06082b060102010106000400"),
        ];
        let bytes = hex(messages[1].1);
        let Ok(Message::V3(report)) = parse(&bytes) else {
            panic!("v3 report");
        };
        assert_eq!(report.msg_id, 544_943_986);
        assert_eq!(report.max_size, 16384);
        assert_eq!(report.security_model, 3);
        assert_eq!(report.engine_id, hex("80001f8880a9498e5e3a2c3043"));
        assert_eq!(report.pdu.as_ref().unwrap().kind, PduKind::Report);
        assert!(!report.authenticated() && !report.private() && !report.reportable());

        let facts = facts_of(&messages, AGENT_PORT);
        assert!(facts.iter().all(|f| f.subject == agent()));
        assert_eq!(
            values(&facts, Attribute::ClientId),
            ["snmp-engine:80001f8880a9498e5e3a2c3043"]
        );
        assert_eq!(values(&facts, Attribute::Software), ["net-snmp"]);
        assert_eq!(
            values(&facts, Attribute::Finding),
            ["snmp_v3_without_privacy"]
        );
        // The user name is never reported.
        assert!(facts.iter().all(|f| !f.value.contains("username")));
        // The engine id the manager names in its request is hearsay about the agent.
        let hearsay = facts_of(&messages[2..3], AGENT_PORT);
        assert_eq!(hearsay.len(), 2);
        assert!(hearsay
            .iter()
            .all(|f| f.subject == agent() && f.confidence == ironward_model::HEARSAY_CONFIDENCE));
    }

    /// A BER element (definite length, short or two-byte long form).
    fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        if value.len() < 128 {
            out.push(value.len() as u8);
        } else {
            out.push(0x82);
            out.extend_from_slice(&(value.len() as u16).to_be_bytes());
        }
        out.extend_from_slice(value);
        out
    }

    /// A v2c Inform from an agent to a manager's port 162 and the manager's Response echoing
    /// it: the agent runs v2c (the finding is its own), the manager is no agent (no finding,
    /// the echoed sysName does not describe it).
    #[test]
    fn inform_acknowledged_by_the_manager_describes_the_agent_only() {
        let varbinds = tlv(
            0x30,
            &[
                tlv(
                    0x30,
                    &[tlv(0x06, &hex("2b06010201010300")), tlv(0x43, &[1])].concat(),
                ),
                tlv(
                    0x30,
                    &[tlv(0x06, &hex("2b06010201010500")), tlv(0x04, b"lab-agent")].concat(),
                ),
            ]
            .concat(),
        );
        let message = |pdu: u8| {
            let pdu = tlv(
                pdu,
                &[
                    tlv(0x02, &[7]),
                    tlv(0x02, &[0]),
                    tlv(0x02, &[0]),
                    varbinds.clone(),
                ]
                .concat(),
            );
            let message = tlv(0x30, &[tlv(0x02, &[1]), tlv(0x04, b"public"), pdu].concat());
            message
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        };
        let (inform, response) = (message(0xa6), message(0xa2));
        let facts = facts_of(&[(C2S, &inform), (S2C, &response)], TRAP_PORT);
        let originator = DeviceKey::Ip([172, 31, 19, 54].into());
        assert!(facts.iter().all(|f| f.subject == originator), "{facts:?}");
        assert_eq!(values(&facts, Attribute::Finding), ["snmp_v1_v2c"]);
        assert_eq!(values(&facts, Attribute::Hostname), ["lab-agent"]);
        // The same Response from an agent's port 161 is the agent's answer.
        let facts = facts_of(&[(S2C, &response)], AGENT_PORT);
        assert!(facts.iter().all(|f| f.subject == agent()));
        assert_eq!(
            values(&facts, Attribute::Finding),
            ["snmp_v1_v2c", "snmp_default_community"]
        );
    }

    /// An encrypted SNMPv3 response (authPriv, built by hand from RFC 3412/3414): the engine
    /// id still names the agent; no finding, and the user name is not reported.
    #[test]
    fn v3_encrypted_response() {
        let engine = hex("800000090300aabbccddeeff");
        let usm = [
            tlv(0x04, &engine),
            tlv(0x02, &[7]),
            tlv(0x02, &[0x01, 0x00]),
            tlv(0x04, b"operator"),
            tlv(0x04, &[0x11; 12]),
            tlv(0x04, &[0x22; 8]),
        ]
        .concat();
        let global = [
            tlv(0x02, &[0x42]),
            tlv(0x02, &[0x05, 0xdc]),
            tlv(0x04, &[0x03]),
            tlv(0x02, &[3]),
        ]
        .concat();
        let message = tlv(
            0x30,
            &[
                tlv(0x02, &[3]),
                tlv(0x30, &global),
                tlv(0x04, &tlv(0x30, &usm)),
                tlv(0x04, &[0xde, 0xad, 0xbe, 0xef]),
            ]
            .concat(),
        );
        let Ok(Message::V3(parsed)) = parse(&message) else {
            panic!("v3 message");
        };
        assert!(parsed.authenticated() && parsed.private() && !parsed.reportable());
        assert!(parsed.pdu.is_none());
        let text: String = message.iter().map(|b| format!("{b:02x}")).collect();
        let facts = facts_of(&[(S2C, &text)], AGENT_PORT);
        assert!(facts.iter().all(|f| f.subject == agent()));
        assert_eq!(
            values(&facts, Attribute::ClientId),
            ["snmp-engine:800000090300aabbccddeeff"]
        );
        assert_eq!(values(&facts, Attribute::Vendor), ["Cisco"]);
        assert!(values(&facts, Attribute::Finding).is_empty());
        assert!(facts.iter().all(|f| !f.value.contains("operator")));
    }

    /// A v2c response carrying ENTITY-MIB chassis values, a Cisco sysDescr and a private
    /// community, built by hand from RFC 3416 / RFC 6933.
    #[test]
    fn entity_mib_and_cisco() {
        let varbind = |oid: &[u8], tag: u8, value: &[u8]| {
            let mut body = tlv(0x06, oid);
            body.extend(tlv(tag, value));
            tlv(0x30, &body)
        };
        let entity = |column: u8| vec![0x2b, 6, 1, 2, 1, 47, 1, 1, 1, 1, column, 1];
        let mut list = Vec::new();
        list.extend(varbind(&[0x2b, 6, 1, 2, 1, 1, 1, 0], 0x04, b"Cisco IOS Software, C2960 Software (C2960-LANBASEK9-M), Version 15.0(2)SE11, RELEASE SOFTWARE (fc3)"));
        list.extend(varbind(
            &[0x2b, 6, 1, 2, 1, 1, 2, 0],
            0x06,
            &[0x2b, 6, 1, 4, 1, 9, 1, 0x86, 0x70],
        ));
        list.extend(varbind(&entity(11), 0x04, b"FOC1234X0AB"));
        list.extend(varbind(&entity(12), 0x04, b"Cisco Systems"));
        list.extend(varbind(&entity(13), 0x04, b"WS-C2960-24TT-L"));
        list.extend(varbind(&entity(11)[..11], 0x04, b"not a chassis"));
        let mut entity2 = entity(11);
        entity2[11] = 2;
        list.extend(varbind(&entity2, 0x04, b"SECOND"));
        list.extend(varbind(&[0x2b, 6, 1, 2, 1, 1, 5, 0], 0x80, &[]));
        let mut pdu = tlv(0x02, &[7]);
        pdu.extend(tlv(0x02, &[0]));
        pdu.extend(tlv(0x02, &[0]));
        pdu.extend(tlv(0x30, &list));
        let mut message = tlv(0x02, &[1]);
        message.extend(tlv(0x04, b"Private"));
        message.extend(tlv(0xa2, &pdu));
        let message = tlv(0x30, &message);
        let text: String = message.iter().map(|b| format!("{b:02x}")).collect();
        let facts = facts_of(&[(S2C, &text)], AGENT_PORT);
        assert_eq!(values(&facts, Attribute::Firmware), ["15.0(2)SE11"]);
        assert_eq!(values(&facts, Attribute::ObjectId), ["1.3.6.1.4.1.9.1.880"]);
        assert_eq!(
            values(&facts, Attribute::Vendor),
            ["Cisco", "Cisco Systems"]
        );
        assert_eq!(values(&facts, Attribute::Serial), ["FOC1234X0AB"]);
        assert_eq!(values(&facts, Attribute::Model), ["WS-C2960-24TT-L"]);
        assert!(values(&facts, Attribute::Hostname).is_empty());
        assert_eq!(
            values(&facts, Attribute::Finding),
            ["snmp_v1_v2c", "snmp_default_community"]
        );
    }

    #[test]
    fn engine_ids() {
        assert_eq!(
            engine_enterprise(&hex("80001f8880a9498e5e3a2c3043")),
            Some(8072)
        );
        assert_eq!(engine_enterprise(&hex("800000090300001122334455")), Some(9));
        // RFC 1910 style: 12 bytes, high bit clear.
        assert_eq!(engine_enterprise(&hex("000000090000001122334455")), Some(9));
        assert_eq!(engine_enterprise(&hex("0000000900")), None);
        assert_eq!(engine_enterprise(&hex("8000")), None);
    }

    #[test]
    fn errors_are_typed() {
        assert_eq!(
            parse(&[]).unwrap_err(),
            SnmpError::Ber(BerError::Truncated {
                field: "message",
                offset: 0
            })
        );
        assert_eq!(
            parse(&hex("3003020102")).unwrap_err(),
            SnmpError::UnsupportedVersion {
                version: 2,
                offset: 2
            }
        );
        assert_eq!(
            parse(&hex("300b020101040170a903020100")).unwrap_err(),
            SnmpError::UnknownPdu {
                tag: 0xa9,
                offset: 8
            }
        );
        assert_eq!(
            parse(&hex("300a020101040170a2040201")).unwrap_err(),
            SnmpError::Ber(BerError::Truncated {
                field: "PDU",
                offset: 8
            })
        );
        // msgFlags of two bytes.
        assert_eq!(
            parse(&hex("3012020103300d02010102010104020000020103")).unwrap_err(),
            SnmpError::BadField {
                field: "msgFlags",
                offset: 13
            }
        );
        assert!(SnmpError::UnknownPdu {
            tag: 0xa9,
            offset: 8
        }
        .to_string()
        .contains("0xa9"));
    }

    #[test]
    fn flows_are_selected_by_port_and_content() {
        let get =
            hex("302602010004067075626c6963a019020126020100020100300e300c06082b060102010102000500");
        assert!(SnmpFactory.select(&flow(161), C2S, &get).is_some());
        assert!(SnmpFactory.select(&flow(53), C2S, &get).is_none());
        assert!(SnmpFactory
            .select(&flow(161), C2S, b"GET / HTTP/1.1")
            .is_none());
        let mut tcp = flow(161);
        tcp.transport = Transport::Tcp;
        assert!(SnmpFactory.select(&tcp, C2S, &get).is_none());
        assert!(is_default_community(b"PUBLIC"));
        assert!(!is_default_community(b"s3cr3t-Community"));
    }
}
