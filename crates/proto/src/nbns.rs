//! NetBIOS over TCP/IP (RFC 1001/1002): the name service (UDP 137) and, in the private
//! `browser` submodule, the datagram service's browser announcements (UDP 138).
//!
//! Name service messages have DNS's layout (and use its compression), so they are read with
//! [`crate::dns`]'s parser; names are first-level encoded: 32 letters `A`–`P` for 16 bytes, a
//! 15-byte name padded with spaces and a suffix byte naming the service (`<00>` workstation,
//! `<20>` file server, `<1B>` domain master browser, `<1C>` domain controllers, `<1D>` local
//! master browser, `<1E>` browser elections).
//!
//! Facts ([`Source::Nbns`]):
//! - registrations and refreshes (a host claiming its names) and positive responses give, for
//!   each name and address of their NB records, a Hostname for unique `<00>`/`<20>` names and a
//!   Domain for workgroup and domain names (group `<00>`, `<1E>`, `<1C>`; unique `<1B>`, `<1D>`).
//!   The subject is the address in the record (the sender when it is 0.0.0.0). A response about
//!   another address than the responder's (a WINS server answering) is hearsay;
//! - node status (NBSTAT) responses list the responder's names, read the same way, and its MAC
//!   address (the "unit id"), which is linked to the responder's address by an Ip fact on the
//!   MAC;
//! - browser announcements: see `browser`.
//!
//! Queries, releases and negative responses give nothing; `<03>` names (messenger service,
//! often a user name) are never reported.

mod browser;

pub use browser::{
    parse_browse, parse_datagram, parse_mailslot, server_type_names, Announcement,
    AnnouncementKind, BrowseMessage, Datagram, DatagramError, Mailslot, BROWSE_MAILSLOT,
};

use std::fmt::{self, Write as _};
use std::net::{IpAddr, Ipv4Addr};

use ironward_model::{Attribute, DeviceKey, MacAddress, Source, HEARSAY_CONFIDENCE};

use crate::dns::{self, DnsError, Entry, Header, Message, NameBuf, Section};
use crate::{
    Direction, Dissector, DissectorFactory, DissectorRegistry, FlowMeta, Observations, Transport,
};

/// UDP port of the name service.
pub const NAME_PORT: u16 = 137;
/// UDP port of the datagram service (browser announcements).
pub const DATAGRAM_PORT: u16 = 138;
/// Record type of a name's addresses (NB).
pub const TYPE_NB: u16 = 0x20;
/// Record type of a node status (NBSTAT).
pub const TYPE_NBSTAT: u16 = 0x21;
/// The group bit of NB and name flags.
pub const GROUP_FLAG: u16 = 0x8000;

/// Name service operation codes (the header's opcode field).
pub mod opcode {
    /// Name query (and node status).
    pub const QUERY: u8 = 0;
    /// Name registration.
    pub const REGISTRATION: u8 = 5;
    /// Name release.
    pub const RELEASE: u8 = 6;
    /// Wait for acknowledgement.
    pub const WACK: u8 = 7;
    /// Name refresh.
    pub const REFRESH: u8 = 8;
    /// Name refresh, as Windows sends it.
    pub const REFRESH_ALT: u8 = 9;
    /// Multi-homed name registration.
    pub const MULTIHOMED_REGISTRATION: u8 = 15;
}

/// A NetBIOS name: up to 15 bytes (trailing spaces removed) and the suffix byte.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct NbName {
    bytes: [u8; 15],
    len: u8,
    suffix: u8,
}

impl NbName {
    /// Decodes a first-level encoded name (RFC 1001 §14.1): exactly 32 letters `A`–`P`.
    pub fn decode(encoded: &[u8]) -> Option<Self> {
        if encoded.len() != 32 {
            return None;
        }
        let mut raw = [0u8; 16];
        for (byte, pair) in raw.iter_mut().zip(encoded.chunks_exact(2)) {
            let [hi, lo] = *pair else {
                return None;
            };
            if !(b'A'..=b'P').contains(&hi) || !(b'A'..=b'P').contains(&lo) {
                return None;
            }
            *byte = (hi - b'A') << 4 | (lo - b'A');
        }
        Some(Self::from_raw(&raw))
    }

    /// A name from its 16 raw bytes (as node status responses list them).
    pub fn from_raw(raw: &[u8; 16]) -> Self {
        let mut bytes = [0u8; 15];
        bytes.copy_from_slice(&raw[..15]);
        let len = bytes.iter().rposition(|&b| b != b' ').map_or(0, |i| i + 1);
        Self {
            bytes,
            len: len as u8,
            suffix: raw[15],
        }
    }

    /// The name without its padding.
    pub fn name(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The suffix byte (service).
    pub const fn suffix(&self) -> u8 {
        self.suffix
    }

    /// The attribute a name is evidence of, by suffix and group bit: a unique workstation or
    /// server name is a host name; workgroup and domain names are a domain. `None` for other
    /// names (services, user names, the browse master name) and for the wildcard `*`.
    pub fn attribute(&self, group: bool) -> Option<Attribute> {
        let name = self.name();
        if name.is_empty() || name.first() == Some(&b'*') {
            return None;
        }
        match (self.suffix, group) {
            (0x00 | 0x20, false) => Some(Attribute::Hostname),
            (0x00 | 0x1c | 0x1e, true) | (0x1b | 0x1d, false) => Some(Attribute::Domain),
            _ => None,
        }
    }
}

impl fmt::Display for NbName {
    /// As Wireshark shows names: printable bytes as they are, others and the suffix as `<xx>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &b in self.name() {
            if (0x20..0x7f).contains(&b) {
                f.write_char(char::from(b))?;
            } else {
                write!(f, "<{b:02x}>")?;
            }
        }
        write!(f, "<{:02x}>", self.suffix)
    }
}

impl fmt::Debug for NbName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// Why a name service message could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NbnsError {
    /// The DNS-layout message itself is malformed.
    Dns(DnsError),
    /// A record's name does not start with a first-level encoded NetBIOS name.
    BadName {
        /// The section of the record.
        section: Section,
        /// Its index within the section.
        index: u16,
        /// Offset of the name in the message.
        offset: usize,
    },
    /// A record's data does not have the layout of its type.
    BadRdata {
        /// What was being read.
        field: &'static str,
        /// The section of the record.
        section: Section,
        /// Its index within the section.
        index: u16,
        /// Offset of the record data in the message.
        offset: usize,
    },
}

impl fmt::Display for NbnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Dns(e) => e.fmt(f),
            Self::BadName {
                section,
                index,
                offset,
            } => write!(
                f,
                "{} {index} at offset {offset}: not an encoded NetBIOS name",
                section.as_str()
            ),
            Self::BadRdata {
                field,
                section,
                index,
                offset,
            } => write!(
                f,
                "{} {index} at offset {offset}: malformed {field}",
                section.as_str()
            ),
        }
    }
}

impl std::error::Error for NbnsError {}

impl From<DnsError> for NbnsError {
    fn from(e: DnsError) -> Self {
        Self::Dns(e)
    }
}

/// A name service record with its NetBIOS name decoded.
#[derive(Debug, Clone, Copy)]
pub struct NbRecord<'a> {
    /// The section the record is in.
    pub section: Section,
    /// Index within its section.
    pub index: u16,
    /// The NetBIOS name (the scope, if any, is not kept).
    pub name: NbName,
    /// The record type ([`TYPE_NB`], [`TYPE_NBSTAT`], ...).
    pub rtype: u16,
    /// The record data, raw.
    pub rdata: &'a [u8],
    /// Offset of the record data in the message.
    pub rdata_offset: usize,
}

impl<'a> NbRecord<'a> {
    fn bad_rdata(&self, field: &'static str) -> NbnsError {
        NbnsError::BadRdata {
            field,
            section: self.section,
            index: self.index,
            offset: self.rdata_offset,
        }
    }

    /// The (NB flags, address) entries of an NB record.
    pub fn addresses(&self) -> Result<impl Iterator<Item = (u16, Ipv4Addr)> + 'a, NbnsError> {
        if self.rtype != TYPE_NB || self.rdata.is_empty() || self.rdata.len() % 6 != 0 {
            return Err(self.bad_rdata("NB address list"));
        }
        Ok(self.rdata.chunks_exact(6).map(|entry| {
            let flags = u16::from_be_bytes([entry[0], entry[1]]);
            (flags, Ipv4Addr::new(entry[2], entry[3], entry[4], entry[5]))
        }))
    }

    /// The node status of an NBSTAT record.
    pub fn node_status(&self) -> Result<NodeStatus<'a>, NbnsError> {
        let (&count, rest) = self
            .rdata
            .split_first()
            .filter(|_| self.rtype == TYPE_NBSTAT)
            .ok_or_else(|| self.bad_rdata("node status"))?;
        let (names, rest) = rest
            .split_at_checked(usize::from(count) * 18)
            .ok_or_else(|| self.bad_rdata("node status name list"))?;
        let unit_id = rest.get(..6).and_then(|id| <[u8; 6]>::try_from(id).ok());
        Ok(NodeStatus { names, unit_id })
    }
}

/// A node status response: the names a node holds and its MAC address.
#[derive(Debug, Clone, Copy)]
pub struct NodeStatus<'a> {
    names: &'a [u8],
    /// The adapter's MAC address ("unit id"), when present (Samba sends zeros).
    pub unit_id: Option<[u8; 6]>,
}

impl<'a> NodeStatus<'a> {
    /// The names with their name flags (group bit [`GROUP_FLAG`], state, node type).
    pub fn names(&self) -> impl Iterator<Item = (NbName, u16)> + 'a {
        self.names.chunks_exact(18).filter_map(|entry| {
            let raw: &[u8; 16] = entry.get(..16)?.try_into().ok()?;
            let flags = u16::from_be_bytes([*entry.get(16)?, *entry.get(17)?]);
            Some((NbName::from_raw(raw), flags))
        })
    }
}

/// A name service message.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    message: Message<'a>,
}

impl<'a> Packet<'a> {
    /// Reads the header of a name service message.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, NbnsError> {
        Ok(Self {
            message: Message::parse(bytes)?,
        })
    }

    /// The header (the DNS header's layout; bit 4 of the flags is NBNS's broadcast flag).
    pub fn header(&self) -> &Header {
        self.message.header()
    }

    /// The records (answers, authority, additional) with their names decoded; the first
    /// problem ends the walk.
    pub fn records(&self) -> impl Iterator<Item = Result<NbRecord<'a>, NbnsError>> + 'a {
        let mut entries = self.message.entries();
        let mut done = false;
        std::iter::from_fn(move || {
            while !done {
                let record = match entries.next()? {
                    Ok(Entry::Question(_)) => continue,
                    Ok(Entry::Record(record)) => record,
                    Err(e) => {
                        done = true;
                        return Some(Err(NbnsError::Dns(e)));
                    }
                };
                let Some(name) = record.name.labels().next().and_then(NbName::decode) else {
                    done = true;
                    return Some(Err(NbnsError::BadName {
                        section: record.section,
                        index: record.index,
                        offset: record.name.offset(),
                    }));
                };
                return Some(Ok(NbRecord {
                    section: record.section,
                    index: record.index,
                    name,
                    rtype: record.rtype,
                    rdata: record.rdata,
                    rdata_offset: record.rdata_offset,
                }));
            }
            None
        })
    }
}

/// Text formatted into a stack buffer (a fact value without allocating).
struct StackText(NameBuf);

impl fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.0.push(s.as_bytes()) {
            Ok(())
        } else {
            Err(fmt::Error)
        }
    }
}

/// Reports a name held by the device at `subject`.
fn report_name(
    out: &mut Observations,
    subject: IpAddr,
    name: &NbName,
    group: bool,
    confidence: u8,
    flow: &FlowMeta,
) {
    if let Some(attribute) = name.attribute(group) {
        let key = DeviceKey::Ip(subject);
        let (source, at) = (Source::Nbns, flow.now);
        out.fact_bytes_with(key, attribute, name.name(), source, confidence, at);
    }
}

/// Reports what a name service message says about its sender or the addresses it names.
fn report_name_service(
    flow: &FlowMeta,
    direction: Direction,
    payload: &[u8],
    out: &mut Observations,
) {
    let Ok(packet) = Packet::parse(payload) else {
        return;
    };
    let header = packet.header();
    use opcode::*;
    let (section, from_owner) = match (header.is_response(), header.opcode()) {
        (false, REGISTRATION | REFRESH | REFRESH_ALT | MULTIHOMED_REGISTRATION) => {
            (Section::Additional, true)
        }
        (true, QUERY | REGISTRATION | REFRESH | REFRESH_ALT | MULTIHOMED_REGISTRATION)
            if header.rcode() == 0 =>
        {
            (Section::Answer, false)
        }
        _ => return,
    };
    let sender = flow.source(direction).ip();
    let announced = Source::Nbns.default_confidence();
    let hearsay = announced.min(HEARSAY_CONFIDENCE);
    for record in packet.records() {
        let Ok(record) = record else {
            break;
        };
        if record.section != section {
            continue;
        }
        match record.rtype {
            TYPE_NB => {
                let Ok(addresses) = record.addresses() else {
                    continue;
                };
                for (flags, address) in addresses {
                    let address = IpAddr::V4(address);
                    let subject = if dns::is_host_address(address) {
                        address
                    } else {
                        sender
                    };
                    let confidence = if from_owner || subject == sender {
                        announced
                    } else {
                        hearsay
                    };
                    let group = flags & GROUP_FLAG != 0;
                    report_name(out, subject, &record.name, group, confidence, flow);
                }
            }
            TYPE_NBSTAT if header.is_response() => {
                let Ok(status) = record.node_status() else {
                    continue;
                };
                for (name, flags) in status.names() {
                    let group = flags & GROUP_FLAG != 0;
                    report_name(out, sender, &name, group, announced, flow);
                }
                let Some(mac) = status.unit_id else {
                    continue;
                };
                if mac == [0; 6] || mac[0] & 1 != 0 {
                    continue;
                }
                let mut text = StackText(NameBuf::new());
                if write!(text, "{sender}").is_ok() {
                    let key = DeviceKey::Mac(MacAddress(mac));
                    let (value, at) = (text.0.as_bytes(), flow.now);
                    out.fact_bytes(key, Attribute::Ip, value, Source::Nbns, at);
                }
            }
            _ => {}
        }
    }
}

/// The name service: every datagram is one message.
#[derive(Debug, Default)]
struct NameService;

impl Dissector for NameService {
    fn protocol(&self) -> &'static str {
        "nbns"
    }

    fn on_datagram(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        payload: &[u8],
        out: &mut Observations,
    ) {
        report_name_service(flow, direction, payload, out);
    }
}

/// The datagram service: browser announcements in SMB mailslot messages.
#[derive(Debug, Default)]
struct DatagramService;

impl Dissector for DatagramService {
    fn protocol(&self) -> &'static str {
        "nbdgm"
    }

    fn on_datagram(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        payload: &[u8],
        out: &mut Observations,
    ) {
        browser::report(flow, direction, payload, out);
    }
}

/// Whether either end of a UDP flow is on `port`.
fn on_udp_port(flow: &FlowMeta, port: u16) -> bool {
    flow.transport == Transport::Udp && (flow.client.port() == port || flow.server.port() == port)
}

/// Takes UDP flows to or from port 137.
#[derive(Debug)]
struct NameServiceFactory;

impl DissectorFactory for NameServiceFactory {
    fn protocol(&self) -> &'static str {
        "nbns"
    }

    fn select(
        &self,
        flow: &FlowMeta,
        _direction: Direction,
        _first_payload: &[u8],
    ) -> Option<Box<dyn Dissector>> {
        on_udp_port(flow, NAME_PORT).then(|| Box::new(NameService) as Box<dyn Dissector>)
    }
}

/// Takes UDP flows to or from port 138.
#[derive(Debug)]
struct DatagramServiceFactory;

impl DissectorFactory for DatagramServiceFactory {
    fn protocol(&self) -> &'static str {
        "nbdgm"
    }

    fn select(
        &self,
        flow: &FlowMeta,
        _direction: Direction,
        _first_payload: &[u8],
    ) -> Option<Box<dyn Dissector>> {
        on_udp_port(flow, DATAGRAM_PORT).then(|| Box::new(DatagramService) as Box<dyn Dissector>)
    }
}

/// Adds this module's dissectors to `registry`.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register(Box::new(NameServiceFactory));
    registry.register(Box::new(DatagramServiceFactory));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::tests::{facts, flow, hex};

    fn run(payload: &[u8], client: &str, server: &str) -> Vec<String> {
        let meta = flow(Transport::Udp, client, server);
        let mut dissector = NameServiceFactory
            .select(&meta, Direction::ClientToServer, payload)
            .unwrap();
        let mut out = Observations::default();
        dissector.on_datagram(&meta, Direction::ClientToServer, payload, &mut out);
        facts(&mut out)
            .iter()
            .inspect(|f| assert_eq!(f.source, Source::Nbns))
            .map(|f| {
                let (subject, attribute) = (&f.subject, f.attribute.as_str());
                format!("{subject} {attribute} {} {}", f.value, f.confidence)
            })
            .collect()
    }

    /// Frame 45 of tcpdump_eapon1.pcap: DJP95S0J<00> registration (the additional record's
    /// name is a pointer to the question's).
    const REGISTRATION: &str = "892e29100001000000000001204545454b4641444a444646444441454b434143\
        414341434143414341434141410000200001c00c00200001000493e000066000a9fe43c2";
    /// Frame 52: ARBEITSGRUPPE<00> group registration.
    const GROUP_REGISTRATION: &str = "892f29100001000000000001204542464345434546454a464546444548\
        464346464641464145464341434141410000200001c00c00200001000493e00006e000a9fe43c2";
    /// Frame 55 of ndpi_netbios.pcapng: GUNNAR's node status.
    const NODE_STATUS: &str = "20a88400000000010000000020434b41414141414141414141414141414141414\
        141414141414141414141414100002100010000000000770447554e4e4152202020202020202020000400564\
        947494c414e545f47524f55502000840047554e4e4152202020202020202020200400564947494c414e545f4\
        7524f5550201e8400001cc410790f00000000000000000000000000000000000000000000000000000000000\
        000000000000000000000";
    /// Frame 69 of ndpi_netbios.pcapng: 10.0.4.24 answering for GUNNAR<00> with its address.
    const POSITIVE: &str = "8486850000000001000000002045484646454f454f45424643434143414341434143\
        41434143414341434141410000200001000493e0000600000a000418";

    #[test]
    fn names_decode() {
        let name = NbName::decode(b"EEEKFADJDFFDDAEKCACACACACACACAAA").unwrap();
        assert_eq!((name.name(), name.suffix()), (&b"DJP95S0J"[..], 0));
        assert_eq!(name.to_string(), "DJP95S0J<00>");
        let browse = NbName::decode(b"ABACFPFPENFDECFCEPFHFDEFFPFPACAB").unwrap();
        assert_eq!(browse.to_string(), "<01><02>__MSBROWSE__<02><01>");
        assert_eq!(browse.attribute(true), None);
        assert!(NbName::decode(b"EEEKFADJDFFDDAEKCACACACACACACAA").is_none());
        assert!(NbName::decode(b"EEEKFADJDFFDDAEKCACACACACACACAAQ").is_none());
        let raw = |name: &[u8; 15], suffix| {
            let mut r = [0u8; 16];
            r[..15].copy_from_slice(name);
            r[15] = suffix;
            NbName::from_raw(&r)
        };
        let h = Some(Attribute::Hostname);
        let d = Some(Attribute::Domain);
        assert_eq!(raw(b"PC             ", 0x00).attribute(false), h);
        assert_eq!(raw(b"PC             ", 0x20).attribute(false), h);
        assert_eq!(raw(b"PC             ", 0x03).attribute(false), None);
        assert_eq!(raw(b"WG             ", 0x00).attribute(true), d);
        assert_eq!(raw(b"WG             ", 0x1e).attribute(true), d);
        assert_eq!(raw(b"CORP           ", 0x1c).attribute(true), d);
        assert_eq!(raw(b"CORP           ", 0x1b).attribute(false), d);
        assert_eq!(raw(b"WG             ", 0x1d).attribute(false), d);
        assert_eq!(raw(b"WG             ", 0x20).attribute(true), None);
        assert_eq!(
            raw(b"*\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 0x00).attribute(false),
            None
        );
        assert_eq!(raw(b"               ", 0x00).attribute(false), None);
    }

    #[test]
    fn registrations_announce_names() {
        let c = "169.254.67.194:137";
        let s = "169.254.255.255:137";
        assert_eq!(
            run(&hex(REGISTRATION), c, s),
            ["ip:169.254.67.194 hostname DJP95S0J 90"]
        );
        assert_eq!(
            run(&hex(GROUP_REGISTRATION), c, s),
            ["ip:169.254.67.194 domain ARBEITSGRUPPE 90"]
        );
        // A query for the same name says nothing.
        let mut query = hex(REGISTRATION);
        query[2] = 0x01;
        query[3] = 0x10;
        query[11] = 0;
        assert!(run(&query, c, s).is_empty());
    }

    #[test]
    fn positive_responses_and_hearsay() {
        let bytes = hex(POSITIVE);
        let responder = "10.0.4.24:137";
        assert_eq!(
            run(&bytes, responder, "10.0.4.165:137"),
            ["ip:10.0.4.24 hostname GUNNAR 90"]
        );
        // The same answer from a name server is hearsay about the named address.
        assert_eq!(
            run(&bytes, "10.0.0.2:137", "10.0.4.165:137"),
            ["ip:10.0.4.24 hostname GUNNAR 60"]
        );
        // A negative response (rcode 3) says nothing.
        let mut negative = bytes.clone();
        negative[3] |= 0x03;
        assert!(run(&negative, responder, "10.0.4.165:137").is_empty());
    }

    #[test]
    fn node_status_names_and_mac() {
        let bytes = hex(NODE_STATUS);
        let packet = Packet::parse(&bytes).unwrap();
        let record = packet.records().next().unwrap().unwrap();
        assert_eq!(record.rtype, TYPE_NBSTAT);
        let status = record.node_status().unwrap();
        let names: Vec<String> = status
            .names()
            .map(|(n, flags)| format!("{n} {flags:04x}"))
            .collect();
        assert_eq!(
            names,
            [
                "GUNNAR<00> 0400",
                "VIGILANT_GROUP<00> 8400",
                "GUNNAR<20> 0400",
                "VIGILANT_GROUP<1e> 8400"
            ]
        );
        assert_eq!(status.unit_id, Some([0x00, 0x1c, 0xc4, 0x10, 0x79, 0x0f]));
        assert_eq!(
            run(&bytes, "10.0.4.24:137", "10.0.1.87:57836"),
            [
                "ip:10.0.4.24 hostname GUNNAR 90",
                "ip:10.0.4.24 domain VIGILANT_GROUP 90",
                "mac:00:1c:c4:10:79:0f ip 10.0.4.24 90",
            ]
        );
    }

    #[test]
    fn malformed_messages_are_typed_errors() {
        let bytes = hex(NODE_STATUS);
        for cut in 0..bytes.len() {
            let _ = run(&bytes[..cut], "10.0.4.24:137", "10.0.1.87:57836");
        }
        let mut short = bytes.clone();
        short[12 + 34 + 8] = 0x02; // rdlength 0x0277: past the end
        assert!(matches!(
            Packet::parse(&short).unwrap().records().next(),
            Some(Err(NbnsError::Dns(_)))
        ));
        let mut many = bytes.clone();
        many[12 + 34 + 10] = 200; // 200 names do not fit
        let record = Packet::parse(&many)
            .unwrap()
            .records()
            .next()
            .unwrap()
            .unwrap();
        assert_eq!(
            record.node_status().unwrap_err(),
            NbnsError::BadRdata {
                field: "node status name list",
                section: Section::Answer,
                index: 0,
                offset: 12 + 34 + 10
            }
        );
        assert!(record.addresses().is_err());
        let mut not_encoded = hex(POSITIVE);
        not_encoded[13] = b'z';
        let e = Packet::parse(&not_encoded)
            .unwrap()
            .records()
            .next()
            .unwrap()
            .unwrap_err();
        assert_eq!(
            e,
            NbnsError::BadName {
                section: Section::Answer,
                index: 0,
                offset: 12
            }
        );
        assert!(e.to_string().contains("answer 0 at offset 12"));
    }

    #[test]
    fn factories_by_port() {
        let ns = flow(Transport::Udp, "10.0.0.1:137", "10.0.0.255:137");
        let dgm = flow(Transport::Udp, "10.0.0.1:138", "10.0.0.255:138");
        assert!(NameServiceFactory
            .select(&ns, Direction::ClientToServer, &[])
            .is_some());
        assert!(NameServiceFactory
            .select(&dgm, Direction::ClientToServer, &[])
            .is_none());
        assert!(DatagramServiceFactory
            .select(&dgm, Direction::ClientToServer, &[])
            .is_some());
        let tcp = flow(Transport::Tcp, "10.0.0.1:50000", "10.0.0.2:137");
        assert!(NameServiceFactory
            .select(&tcp, Direction::ClientToServer, &[])
            .is_none());
    }
}
