//! DHCPv6 (RFC 8415; client FQDN RFC 4704).
//!
//! A DHCPv6 client identifies itself by its DUID (client identifier, option 1). DUID-LLT and
//! DUID-LL of Ethernet hardware embed a MAC address, which then keys the facts as well as the
//! sender's address. Clients announce a vendor class (16: an enterprise number and opaque data,
//! "enterprise 311: MSFT 5.0" for Windows) and their name (client FQDN, 39). A server's Reply
//! assigns addresses (IA_NA, 3, holding IA addresses, 5) to the client.
//!
//! Relayed messages (Relay-forward, Relay-reply) are unwrapped without recursion, at most
//! [`MAX_RELAY_DEPTH`] levels; the innermost relay's peer address is the client.

use std::fmt::{self, Write as _};
use std::net::{IpAddr, Ipv6Addr};

use ironward_model::{Attribute, DeviceKey, MacAddress, Source};

use crate::dhcp::{hex_colon, wire_name};
use crate::value::ValueBuf;
use crate::{
    Direction, Dissector, DissectorFactory, DissectorRegistry, FlowMeta, Observations, Transport,
};

/// UDP port of DHCPv6 clients.
pub const CLIENT_PORT: u16 = 546;
/// UDP port of DHCPv6 servers and relay agents.
pub const SERVER_PORT: u16 = 547;
/// Most relay encapsulations unwrapped (RFC 8415 limits relaying to 8 hops: 9 levels with the
/// relay closest to the server).
pub const MAX_RELAY_DEPTH: usize = 9;
/// Most IA_NA options read from one message (each one's addresses become facts).
const MAX_IAS: usize = 16;

/// Option codes this module reads.
mod code {
    pub(super) const CLIENT_ID: u16 = 1;
    pub(super) const SERVER_ID: u16 = 2;
    pub(super) const IA_NA: u16 = 3;
    pub(super) const IA_ADDR: u16 = 5;
    pub(super) const RELAY_MESSAGE: u16 = 9;
    pub(super) const VENDOR_CLASS: u16 = 16;
    pub(super) const CLIENT_FQDN: u16 = 39;
}

/// Why a datagram is not a readable DHCPv6 message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The data ends inside `field`, which starts at `offset` (within the message or option
    /// holding it).
    Truncated {
        /// What was being read.
        field: &'static str,
        /// Where it starts.
        offset: usize,
    },
    /// Message type 0 is reserved.
    ReservedMessageType,
    /// A relay message without a Relay Message option (9).
    NoRelayMessage,
    /// More than [`MAX_RELAY_DEPTH`] nested relay messages.
    TooManyRelays,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { field, offset } => write!(f, "truncated {field} at offset {offset}"),
            Self::ReservedMessageType => f.write_str("reserved message type 0"),
            Self::NoRelayMessage => f.write_str("relay message without relay-message option"),
            Self::TooManyRelays => write!(f, "more than {MAX_RELAY_DEPTH} nested relay messages"),
        }
    }
}

impl std::error::Error for Error {}

/// DHCPv6 message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    /// SOLICIT (1).
    Solicit,
    /// ADVERTISE (2).
    Advertise,
    /// REQUEST (3).
    Request,
    /// CONFIRM (4).
    Confirm,
    /// RENEW (5).
    Renew,
    /// REBIND (6).
    Rebind,
    /// REPLY (7).
    Reply,
    /// RELEASE (8).
    Release,
    /// DECLINE (9).
    Decline,
    /// RECONFIGURE (10).
    Reconfigure,
    /// INFORMATION-REQUEST (11).
    InformationRequest,
    /// RELAY-FORW (12).
    RelayForward,
    /// RELAY-REPL (13).
    RelayReply,
    /// Any other type (leasequery, bulk leasequery, failover, ...), by number.
    Other(u8),
}

impl MessageType {
    /// The type with this number.
    pub fn from_u8(value: u8) -> Self {
        match value {
            1 => Self::Solicit,
            2 => Self::Advertise,
            3 => Self::Request,
            4 => Self::Confirm,
            5 => Self::Renew,
            6 => Self::Rebind,
            7 => Self::Reply,
            8 => Self::Release,
            9 => Self::Decline,
            10 => Self::Reconfigure,
            11 => Self::InformationRequest,
            12 => Self::RelayForward,
            13 => Self::RelayReply,
            other => Self::Other(other),
        }
    }

    /// Whether a client sends this type about itself.
    pub fn is_from_client(self) -> bool {
        matches!(
            self,
            Self::Solicit
                | Self::Request
                | Self::Confirm
                | Self::Renew
                | Self::Rebind
                | Self::Release
                | Self::Decline
                | Self::InformationRequest
        )
    }

    /// Whether a server sends this type to a client.
    pub fn is_from_server(self) -> bool {
        matches!(self, Self::Advertise | Self::Reply | Self::Reconfigure)
    }

    fn is_relay(self) -> bool {
        matches!(self, Self::RelayForward | Self::RelayReply)
    }
}

/// One option: its code and value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dhcpv6Option<'a> {
    /// Option code.
    pub code: u16,
    /// Option value (without code and length).
    pub data: &'a [u8],
}

/// Iterator over options encoded as code (2), length (2), value. After a malformed option it
/// yields that error and ends.
#[derive(Debug, Clone)]
pub struct Options<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Options<'a> {
    /// The options in `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }
}

impl<'a> Iterator for Options<'a> {
    type Item = Result<Dhcpv6Option<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let offset = self.pos;
        if offset >= self.data.len() {
            return None;
        }
        // Every option consumes at least its 4-byte header, or ends the iteration.
        let fail = |this: &mut Self, field| {
            this.pos = this.data.len();
            Some(Err(Error::Truncated { field, offset }))
        };
        let Some(header) = self.data.get(offset..offset + 4) else {
            return fail(self, "option header");
        };
        let code = u16::from_be_bytes([header[0], header[1]]);
        let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
        let Some(data) = self.data.get(offset + 4..offset + 4 + len) else {
            return fail(self, "option value");
        };
        self.pos = offset + 4 + len;
        Some(Ok(Dhcpv6Option { code, data }))
    }
}

/// A client/server message (not a relay message), borrowed from the datagram.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    /// Message type.
    pub msg_type: MessageType,
    /// Transaction id (24 bits).
    pub transaction_id: u32,
    /// The options, undecoded (see [`Message::options`]).
    pub options_data: &'a [u8],
}

impl<'a> Message<'a> {
    /// The message's options.
    pub fn options(&self) -> Options<'a> {
        Options::new(self.options_data)
    }

    /// The first option with this code.
    pub fn option(&self, code: u16) -> Option<&'a [u8]> {
        self.options()
            .map_while(Result::ok)
            .find(|o| o.code == code)
            .map(|o| o.data)
    }
}

/// A message with the relay encapsulation around it removed.
#[derive(Debug, Clone, Copy)]
pub struct Unwrapped<'a> {
    /// The client or server message.
    pub message: Message<'a>,
    /// How many relay messages enclosed it.
    pub relays: usize,
    /// The innermost relay's peer address: the client's address, for relayed messages.
    pub peer: Option<Ipv6Addr>,
}

/// Reads a DHCPv6 datagram, unwrapping relay messages (at most [`MAX_RELAY_DEPTH`]).
pub fn parse(datagram: &[u8]) -> Result<Unwrapped<'_>, Error> {
    let mut data = datagram;
    let mut peer = None;
    for relays in 0..=MAX_RELAY_DEPTH {
        let (&type_byte, rest) = data.split_first().ok_or(Error::Truncated {
            field: "message type",
            offset: 0,
        })?;
        if type_byte == 0 {
            return Err(Error::ReservedMessageType);
        }
        let msg_type = MessageType::from_u8(type_byte);
        if !msg_type.is_relay() {
            let id = rest.get(..3).ok_or(Error::Truncated {
                field: "transaction id",
                offset: 1,
            })?;
            return Ok(Unwrapped {
                message: Message {
                    msg_type,
                    transaction_id: u32::from_be_bytes([0, id[0], id[1], id[2]]),
                    options_data: &rest[3..],
                },
                relays,
                peer,
            });
        }
        // hop-count (1), link-address (16), peer-address (16), options.
        let header = rest.get(..33).ok_or(Error::Truncated {
            field: "relay header",
            offset: 1,
        })?;
        let peer_bytes: [u8; 16] = header[17..33].try_into().map_err(|_| Error::Truncated {
            field: "peer address",
            offset: 18,
        })?;
        peer = Some(Ipv6Addr::from(peer_bytes));
        let inner = Options::new(&rest[33..])
            .map_while(Result::ok)
            .find(|o| o.code == code::RELAY_MESSAGE)
            .ok_or(Error::NoRelayMessage)?;
        data = inner.data;
    }
    Err(Error::TooManyRelays)
}

/// A DHCP unique identifier (RFC 8415 section 11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duid<'a> {
    /// DUID-LLT (1): link-layer address plus time.
    LinkLayerTime {
        /// IANA hardware type (1 = Ethernet).
        hardware_type: u16,
        /// Seconds since 2000-01-01 when the DUID was made.
        time: u32,
        /// The link-layer address.
        address: &'a [u8],
    },
    /// DUID-EN (2): enterprise number plus vendor-assigned id.
    Enterprise {
        /// IANA private enterprise number.
        enterprise: u32,
        /// The identifier.
        id: &'a [u8],
    },
    /// DUID-LL (3): link-layer address.
    LinkLayer {
        /// IANA hardware type (1 = Ethernet).
        hardware_type: u16,
        /// The link-layer address.
        address: &'a [u8],
    },
    /// DUID-UUID (4).
    Uuid(&'a [u8]),
    /// Another type.
    Other {
        /// DUID type.
        duid_type: u16,
        /// What follows the type.
        data: &'a [u8],
    },
}

impl<'a> Duid<'a> {
    /// Reads a DUID (the value of a client or server identifier option).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        let truncated = |field| Error::Truncated { field, offset: 0 };
        let kind = bytes.get(..2).ok_or(truncated("DUID type"))?;
        let rest = &bytes[2..];
        let u16_at = |at: usize| {
            rest.get(at..at + 2)
                .map(|b| u16::from_be_bytes([b[0], b[1]]))
        };
        let u32_at = |at: usize| {
            rest.get(at..at + 4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        };
        Ok(match u16::from_be_bytes([kind[0], kind[1]]) {
            1 => Self::LinkLayerTime {
                hardware_type: u16_at(0).ok_or(truncated("DUID-LLT hardware type"))?,
                time: u32_at(2).ok_or(truncated("DUID-LLT time"))?,
                address: &rest[6..],
            },
            2 => Self::Enterprise {
                enterprise: u32_at(0).ok_or(truncated("DUID-EN enterprise number"))?,
                id: &rest[4..],
            },
            3 => Self::LinkLayer {
                hardware_type: u16_at(0).ok_or(truncated("DUID-LL hardware type"))?,
                address: &rest[2..],
            },
            4 => Self::Uuid(rest),
            duid_type => Self::Other {
                duid_type,
                data: rest,
            },
        })
    }

    /// The Ethernet MAC address a DUID-LLT or DUID-LL embeds (hardware type 1, 6 bytes, not
    /// multicast or all zeros).
    pub fn mac(&self) -> Option<MacAddress> {
        let (Self::LinkLayerTime {
            hardware_type: 1,
            address,
            ..
        }
        | Self::LinkLayer {
            hardware_type: 1,
            address,
        }) = self
        else {
            return None;
        };
        let bytes: [u8; 6] = (*address).try_into().ok()?;
        let mac = MacAddress(bytes);
        (bytes != [0; 6] && !mac.is_multicast()).then_some(mac)
    }
}

/// The vendor class option (16) as text: "enterprise 311: MSFT 5.0", data items joined by
/// ", ". `None` when the option is malformed.
pub fn vendor_class<const N: usize>(option: &[u8], out: &mut ValueBuf<N>) -> Option<()> {
    let enterprise = u32::from_be_bytes(option.get(..4)?.try_into().ok()?);
    write!(out, "enterprise {enterprise}:").ok()?;
    let mut pos = 4;
    let mut items = 0usize;
    // Every item consumes at least its 2-byte length.
    while let Some(len) = option.get(pos..pos + 2) {
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        let item = option.get(pos + 2..pos + 2 + len)?;
        out.push(if items == 0 { b" " } else { b", " });
        out.push(item);
        items += 1;
        pos += 2 + len;
    }
    (items > 0 && pos == option.len()).then_some(())
}

/// The addresses of an IA_NA option (3): IAID, T1, T2, then options, of which IA Address (5)
/// holds an address, its lifetimes and options. Addresses with a valid lifetime of zero are
/// being withdrawn and are left out.
pub fn ia_na_addresses(option: &[u8]) -> impl Iterator<Item = Ipv6Addr> + '_ {
    Options::new(option.get(12..).unwrap_or_default())
        .map_while(Result::ok)
        .filter(|o| o.code == code::IA_ADDR)
        .filter_map(|o| {
            let address: [u8; 16] = o.data.get(..16)?.try_into().ok()?;
            let valid = o.data.get(20..24)?;
            (valid != [0; 4]).then_some(Ipv6Addr::from(address))
        })
}

/// The options of a message this module turns into facts, gathered in one pass.
#[derive(Debug, Default, Clone, Copy)]
struct Interesting<'a> {
    client_id: Option<&'a [u8]>,
    server_id: bool,
    vendor_class: Option<&'a [u8]>,
    fqdn: Option<&'a [u8]>,
    ia_na: [Option<&'a [u8]>; MAX_IAS],
}

impl<'a> Interesting<'a> {
    fn gather(message: &Message<'a>) -> Self {
        let mut found = Self::default();
        let mut ias = 0;
        for option in message.options().map_while(Result::ok) {
            let data = Some(option.data);
            match option.code {
                code::CLIENT_ID => found.client_id = found.client_id.or(data),
                code::SERVER_ID => found.server_id = true,
                code::VENDOR_CLASS => found.vendor_class = found.vendor_class.or(data),
                code::CLIENT_FQDN => found.fqdn = found.fqdn.or(data),
                code::IA_NA => {
                    if let Some(slot) = found.ia_na.get_mut(ias) {
                        *slot = data;
                        ias += 1;
                    }
                }
                _ => {}
            }
        }
        found
    }
}

/// Whether an address can name one host (not multicast, not unspecified).
fn is_host(ip: Ipv6Addr) -> bool {
    !ip.is_multicast() && !ip.is_unspecified()
}

/// Reports the facts one DHCPv6 datagram carries.
pub fn observe(
    unwrapped: &Unwrapped<'_>,
    flow: &FlowMeta,
    direction: Direction,
    out: &mut Observations,
) {
    let message = &unwrapped.message;
    let found = Interesting::gather(message);
    let duid_mac = found
        .client_id
        .and_then(|id| Duid::parse(id).ok())
        .and_then(|duid| duid.mac());
    let now = flow.now;
    if message.msg_type.is_from_client() {
        // The client is the sender, or the peer a relay agent names.
        let address = match unwrapped.peer {
            Some(peer) => Some(IpAddr::V6(peer)),
            None => Some(flow.source(direction).ip()),
        };
        let subjects = subjects(duid_mac, address);
        for subject in subjects.into_iter().flatten() {
            client_facts(&found, subject, now, out);
        }
    } else if message.msg_type.is_from_server() {
        // The sender is the server (a relay agent passing a Reply on to the client sends it
        // from its own address, but then without the relay encapsulation; there is no telling,
        // so a relay agent may be named a server too).
        if found.server_id {
            out.fact(
                flow.sender(direction),
                Attribute::Service,
                "dhcpv6-server",
                Source::Dhcpv6,
                now,
            );
        }
        if message.msg_type != MessageType::Reply {
            return;
        }
        let address = match unwrapped.peer {
            Some(peer) => Some(IpAddr::V6(peer)),
            None => Some(flow.destination(direction).ip()),
        };
        let mut text = ValueBuf::<64>::new();
        for subject in subjects(duid_mac, address).into_iter().flatten() {
            for ia in found.ia_na.iter().flatten() {
                for assigned in ia_na_addresses(ia) {
                    text.clear();
                    if write!(text, "{assigned}").is_ok() {
                        out.fact_bytes(
                            subject,
                            Attribute::Ip,
                            text.as_bytes(),
                            Source::Dhcpv6,
                            now,
                        );
                    }
                }
            }
        }
    }
}

/// The devices a client's facts are about: the MAC its DUID embeds and its unicast address.
fn subjects(mac: Option<MacAddress>, address: Option<IpAddr>) -> [Option<DeviceKey>; 2] {
    let ip = address.filter(|ip| match ip {
        IpAddr::V6(v6) => is_host(*v6),
        IpAddr::V4(v4) => !v4.is_unspecified() && !v4.is_broadcast() && !v4.is_multicast(),
    });
    [mac.map(DeviceKey::Mac), ip.map(DeviceKey::Ip)]
}

/// What a client says about itself.
fn client_facts(
    found: &Interesting<'_>,
    subject: DeviceKey,
    now: ironward_model::Timestamp,
    out: &mut Observations,
) {
    if let Some(id) = found.client_id {
        let mut text = ValueBuf::<768>::new();
        // DUIDs are at most 130 bytes; a longer one is cut like any long value.
        let _ = hex_colon(id.get(..255).unwrap_or(id), &mut text);
        out.fact_bytes(
            subject,
            Attribute::ClientId,
            text.as_bytes(),
            Source::Dhcpv6,
            now,
        );
    }
    if let Some(option) = found.vendor_class {
        let mut text = ValueBuf::<512>::new();
        if vendor_class(option, &mut text).is_some() {
            out.fact_bytes(
                subject,
                Attribute::VendorClass,
                text.as_bytes(),
                Source::Dhcpv6,
                now,
            );
        }
    }
    if let Some(option) = found.fqdn {
        // Flags (1 byte), then the name in DNS wire format.
        let mut name = ValueBuf::<256>::new();
        if wire_name(option.get(1..).unwrap_or_default(), &mut name).is_some() {
            out.fact_bytes(
                subject,
                Attribute::Hostname,
                name.as_bytes(),
                Source::Dhcpv6,
                now,
            );
        }
    }
}

/// Dissects DHCPv6 datagrams; stateless (every message stands alone).
#[derive(Debug, Default)]
pub struct Dhcpv6Dissector;

impl Dissector for Dhcpv6Dissector {
    fn protocol(&self) -> &'static str {
        "dhcpv6"
    }

    fn on_datagram(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        payload: &[u8],
        out: &mut Observations,
    ) {
        if let Ok(unwrapped) = parse(payload) {
            observe(&unwrapped, flow, direction, out);
        }
    }
}

/// Takes UDP flows on port 546 or 547 whose first datagram starts with a known message type.
#[derive(Debug, Default)]
pub struct Dhcpv6Factory;

impl DissectorFactory for Dhcpv6Factory {
    fn protocol(&self) -> &'static str {
        "dhcpv6"
    }

    fn select(
        &self,
        flow: &FlowMeta,
        _direction: Direction,
        first_payload: &[u8],
    ) -> Option<Box<dyn Dissector>> {
        let on_port = [flow.client.port(), flow.server.port()]
            .iter()
            .any(|p| *p == SERVER_PORT || *p == CLIENT_PORT);
        // Types 1-13 are the base protocol; leasequery and later extensions go up to 36.
        let plausible = first_payload.len() >= 4 && matches!(first_payload[0], 1..=36);
        (flow.transport == Transport::Udp && on_port && plausible)
            .then(|| Box::new(Dhcpv6Dissector) as Box<dyn Dissector>)
    }
}

/// Adds this module's dissectors to `registry`.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register(Box::new(Dhcpv6Factory));
}

#[cfg(test)]
mod tests {
    use super::*;
    use ironward_model::{Fact, Timestamp};

    const CLIENT_MAC: [u8; 6] = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55];

    fn option(code: u16, data: &[u8]) -> Vec<u8> {
        let mut out = code.to_be_bytes().to_vec();
        out.extend_from_slice(&(data.len() as u16).to_be_bytes());
        out.extend_from_slice(data);
        out
    }

    /// DUID-LLT (RFC 8415 section 11.2): type 1, hardware type 1, time, MAC.
    fn duid_llt() -> Vec<u8> {
        let mut duid = vec![0, 1, 0, 1, 0x2a, 0x3b, 0x4c, 0x5d];
        duid.extend_from_slice(&CLIENT_MAC);
        duid
    }

    /// A SOLICIT as Windows sends it: client id, elapsed time, vendor class, FQDN, empty IA_NA,
    /// option request.
    fn solicit(duid: &[u8]) -> Vec<u8> {
        let mut m = vec![1, 0x10, 0x20, 0x30];
        m.extend(option(code::CLIENT_ID, duid));
        m.extend(option(8, &[0, 0]));
        let mut class = 311u32.to_be_bytes().to_vec();
        class.extend_from_slice(&8u16.to_be_bytes());
        class.extend_from_slice(b"MSFT 5.0");
        m.extend(option(code::VENDOR_CLASS, &class));
        m.extend(option(
            code::CLIENT_FQDN,
            b"\x00\x07desktop\x04corp\x07example\x03com\x00",
        ));
        m.extend(option(code::IA_NA, &[0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0]));
        m.extend(option(6, &[0, 23, 0, 24]));
        m
    }

    /// A REPLY assigning 2001:db8::5 (valid) and 2001:db8::6 (withdrawn, valid lifetime 0).
    fn reply() -> Vec<u8> {
        let mut m = vec![7, 0x10, 0x20, 0x30];
        m.extend(option(
            code::SERVER_ID,
            &[0, 3, 0, 1, 0x02, 0, 0, 0, 0, 0x53],
        ));
        m.extend(option(code::CLIENT_ID, &duid_llt()));
        let mut ia = vec![0, 0, 0, 7, 0, 0, 0x0e, 0x10, 0, 0, 0x15, 0x18];
        let mut addr = "2001:db8::5".parse::<Ipv6Addr>().unwrap().octets().to_vec();
        addr.extend_from_slice(&[0, 0, 0x0e, 0x10, 0, 0, 0x1c, 0x20]);
        ia.extend(option(code::IA_ADDR, &addr));
        let mut gone = "2001:db8::6".parse::<Ipv6Addr>().unwrap().octets().to_vec();
        gone.extend_from_slice(&[0; 8]);
        ia.extend(option(code::IA_ADDR, &gone));
        m.extend(option(code::IA_NA, &ia));
        m
    }

    fn relay_forward(inner: &[u8], peer: Ipv6Addr) -> Vec<u8> {
        let mut m = vec![12, 0];
        m.extend_from_slice(&"2001:db8:1::1".parse::<Ipv6Addr>().unwrap().octets());
        m.extend_from_slice(&peer.octets());
        m.extend(option(18, b"eth0"));
        m.extend(option(code::RELAY_MESSAGE, inner));
        m
    }

    fn flow(client: &str, server: &str) -> FlowMeta {
        FlowMeta {
            id: 1,
            transport: Transport::Udp,
            client: (client.parse::<IpAddr>().unwrap(), CLIENT_PORT).into(),
            server: (server.parse::<IpAddr>().unwrap(), SERVER_PORT).into(),
            now: Timestamp(9),
            frame: 1,
        }
    }

    fn run(payload: &[u8], flow: &FlowMeta, direction: Direction) -> Vec<Fact> {
        let mut out = Observations::default();
        Dhcpv6Dissector.on_datagram(flow, direction, payload, &mut out);
        out.drain_facts().collect()
    }

    fn values(facts: &[Fact], attribute: Attribute) -> Vec<(String, String)> {
        facts
            .iter()
            .filter(|f| f.attribute == attribute)
            .map(|f| (f.subject.to_string(), f.value.to_string()))
            .collect()
    }

    fn pair(subject: &str, value: &str) -> (String, String) {
        (subject.to_owned(), value.to_owned())
    }

    #[test]
    fn parses_a_solicit() {
        let bytes = solicit(&duid_llt());
        let unwrapped = parse(&bytes).unwrap();
        assert_eq!(unwrapped.message.msg_type, MessageType::Solicit);
        assert_eq!(unwrapped.message.transaction_id, 0x102030);
        assert_eq!((unwrapped.relays, unwrapped.peer), (0, None));
        let codes: Vec<u16> = unwrapped
            .message
            .options()
            .map(|o| o.unwrap().code)
            .collect();
        assert_eq!(codes, [1, 8, 16, 39, 3, 6]);
        let duid = Duid::parse(unwrapped.message.option(code::CLIENT_ID).unwrap()).unwrap();
        assert_eq!(
            duid,
            Duid::LinkLayerTime {
                hardware_type: 1,
                time: 0x2a3b4c5d,
                address: &CLIENT_MAC
            }
        );
        assert_eq!(duid.mac(), Some(MacAddress(CLIENT_MAC)));
    }

    #[test]
    fn a_solicit_describes_the_client_by_duid_mac_and_address() {
        let flow = flow("fe80::211:22ff:fe33:4455", "ff02::1:2");
        let facts = run(&solicit(&duid_llt()), &flow, Direction::ClientToServer);
        let mac = "mac:00:11:22:33:44:55";
        let ip = "ip:fe80::211:22ff:fe33:4455";
        let duid = "00:01:00:01:2a:3b:4c:5d:00:11:22:33:44:55";
        assert_eq!(
            values(&facts, Attribute::ClientId),
            [pair(mac, duid), pair(ip, duid)]
        );
        let class = "enterprise 311: MSFT 5.0";
        assert_eq!(
            values(&facts, Attribute::VendorClass),
            [pair(mac, class), pair(ip, class)]
        );
        let name = "desktop.corp.example.com";
        assert_eq!(
            values(&facts, Attribute::Hostname),
            [pair(mac, name), pair(ip, name)]
        );
        assert!(facts
            .iter()
            .all(|f| f.source == Source::Dhcpv6 && f.confidence == 90));
    }

    #[test]
    fn a_duid_without_a_mac_keys_facts_by_address_only() {
        // DUID-EN (type 2): enterprise 9 (Cisco) and an opaque id.
        let duid = [0, 2, 0, 0, 0, 9, 0xde, 0xad, 0xbe, 0xef];
        let flow = flow("fe80::1", "ff02::1:2");
        let facts = run(&solicit(&duid), &flow, Direction::ClientToServer);
        assert_eq!(
            values(&facts, Attribute::ClientId),
            [pair("ip:fe80::1", "00:02:00:00:00:09:de:ad:be:ef")]
        );
        assert_eq!(
            Duid::parse(&duid).unwrap(),
            Duid::Enterprise {
                enterprise: 9,
                id: &[0xde, 0xad, 0xbe, 0xef]
            }
        );
        // DUID-LL of another hardware type has no MAC.
        assert_eq!(
            Duid::parse(&[0, 3, 0, 6, 1, 2, 3, 4, 5, 6]).unwrap().mac(),
            None
        );
    }

    #[test]
    fn a_reply_assigns_addresses_to_the_client() {
        let flow = flow("fe80::211:22ff:fe33:4455", "fe80::53");
        let facts = run(&reply(), &flow, Direction::ServerToClient);
        assert_eq!(
            values(&facts, Attribute::Ip),
            [
                pair("mac:00:11:22:33:44:55", "2001:db8::5"),
                pair("ip:fe80::211:22ff:fe33:4455", "2001:db8::5")
            ]
        );
        assert_eq!(
            values(&facts, Attribute::Service),
            [pair("ip:fe80::53", "dhcpv6-server")]
        );
        // The server's own DUID is not the client's id.
        assert!(values(&facts, Attribute::ClientId).is_empty());
    }

    #[test]
    fn relayed_messages_are_unwrapped_and_keyed_by_the_peer() {
        let peer: Ipv6Addr = "fe80::211:22ff:fe33:4455".parse().unwrap();
        let relayed = relay_forward(&solicit(&duid_llt()), peer);
        let unwrapped = parse(&relayed).unwrap();
        assert_eq!((unwrapped.relays, unwrapped.peer), (1, Some(peer)));
        let flow = flow("2001:db8:1::1", "2001:db8:2::53");
        let facts = run(&relayed, &flow, Direction::ClientToServer);
        let subjects: Vec<String> = facts.iter().map(|f| f.subject.to_string()).collect();
        assert!(subjects
            .iter()
            .all(|s| s == "mac:00:11:22:33:44:55" || s == "ip:fe80::211:22ff:fe33:4455"));
        assert_eq!(values(&facts, Attribute::Hostname).len(), 2);
    }

    #[test]
    fn relay_nesting_is_bounded() {
        let peer: Ipv6Addr = "fe80::1".parse().unwrap();
        let mut message = solicit(&duid_llt());
        for _ in 0..MAX_RELAY_DEPTH {
            message = relay_forward(&message, peer);
        }
        assert_eq!(parse(&message).unwrap().relays, MAX_RELAY_DEPTH);
        let message = relay_forward(&message, peer);
        assert_eq!(parse(&message).unwrap_err(), Error::TooManyRelays);
    }

    #[test]
    fn malformed_messages_are_refused_with_a_reason() {
        assert_eq!(
            parse(&[]).unwrap_err(),
            Error::Truncated {
                field: "message type",
                offset: 0
            }
        );
        assert_eq!(
            parse(&[0, 1, 2, 3]).unwrap_err(),
            Error::ReservedMessageType
        );
        assert_eq!(
            parse(&[1, 2]).unwrap_err(),
            Error::Truncated {
                field: "transaction id",
                offset: 1
            }
        );
        assert_eq!(
            parse(&[12, 0, 1]).unwrap_err(),
            Error::Truncated {
                field: "relay header",
                offset: 1
            }
        );
        assert_eq!(parse(&[12; 34]).unwrap_err(), Error::NoRelayMessage);
        let message = parse(&[1, 0, 0, 1, 0, 1, 0, 9, 0]).unwrap().message;
        assert_eq!(
            message.options().collect::<Vec<_>>(),
            [Err(Error::Truncated {
                field: "option value",
                offset: 0
            })]
        );
        let mut text = ValueBuf::<64>::new();
        assert!(vendor_class(&[0, 0, 1, 0x37, 0, 9, b'x'], &mut text).is_none());
        assert!(Duid::parse(&[0]).is_err());
        assert!(Duid::parse(&[0, 1, 0]).is_err());
    }

    #[test]
    fn every_prefix_is_safe() {
        let peer: Ipv6Addr = "fe80::1".parse().unwrap();
        let flow = flow("fe80::1", "ff02::1:2");
        for bytes in [solicit(&duid_llt()), reply(), relay_forward(&reply(), peer)] {
            for end in 0..=bytes.len() {
                for direction in [Direction::ClientToServer, Direction::ServerToClient] {
                    let _ = run(&bytes[..end], &flow, direction);
                }
            }
        }
    }

    #[test]
    fn factory_takes_dhcpv6_ports_only() {
        let bytes = solicit(&duid_llt());
        let dhcp = flow("fe80::1", "ff02::1:2");
        assert!(Dhcpv6Factory
            .select(&dhcp, Direction::ClientToServer, &bytes)
            .is_some());
        assert!(Dhcpv6Factory
            .select(&dhcp, Direction::ClientToServer, &[0, 0, 0, 0])
            .is_none());
        let mut other = dhcp;
        other.client.set_port(40000);
        other.server.set_port(53);
        assert!(Dhcpv6Factory
            .select(&other, Direction::ClientToServer, &bytes)
            .is_none());
    }
}
