//! DHCPv4 (RFC 2131, options RFC 2132, client FQDN RFC 4702, leasequery RFC 4388).
//!
//! A DHCP client describes itself in its requests: host name (12), FQDN (81), vendor class (60),
//! the list of options it asks for (55, a fingerprint of the DHCP client software), its client
//! identifier (61) and the address it asks for (50); the messages carry its MAC address
//! (`chaddr`), so these facts are about the MAC, whatever IP address the request is sent from
//! (usually 0.0.0.0, or a relay agent's). A server names itself (option 54), tells the client
//! its routers (3) and domain (15), and in its ACK binds an address (`yiaddr`) to the MAC.
//!
//! The parser is a zero-copy view over the datagram: the fixed BOOTP header, the magic cookie
//! and the options, with option overload (52) honoured (the `file` and `sname` fields then carry
//! options too). Every loop is bounded by the datagram's length.

use std::fmt::{self, Write as _};
use std::net::{IpAddr, Ipv4Addr};

use ironward_model::{Attribute, DeviceKey, EventCategory, MacAddress, Source};

use crate::value::ValueBuf;

use crate::{
    Direction, Dissector, DissectorFactory, DissectorRegistry, FlowMeta, Observations, Transport,
};

/// UDP port of DHCP servers (and relay agents).
pub const SERVER_PORT: u16 = 67;
/// UDP port of DHCP clients.
pub const CLIENT_PORT: u16 = 68;

/// Length of the fixed BOOTP header, up to the options (or the magic cookie).
const HEADER_LEN: usize = 236;
/// The DHCP magic cookie (99.130.83.99) that starts the options.
const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];
/// Offset of the first option, after the header and the cookie.
const OPTIONS_OFFSET: usize = HEADER_LEN + MAGIC_COOKIE.len();
/// Offset and length of the `sname` field.
const SNAME: (usize, usize) = (44, 64);
/// Offset and length of the `file` field.
const FILE: (usize, usize) = (108, 128);

/// Confidence of an address a client only asks for (option 50 in a REQUEST): the server may
/// still refuse it (NAK), so it is weaker than an address the server acknowledged.
const REQUESTED_ADDRESS_CONFIDENCE: u8 = 70;

/// Option codes this module reads.
mod code {
    pub(super) const PAD: u8 = 0;
    pub(super) const ROUTER: u8 = 3;
    pub(super) const HOST_NAME: u8 = 12;
    pub(super) const DOMAIN_NAME: u8 = 15;
    pub(super) const REQUESTED_ADDRESS: u8 = 50;
    pub(super) const OVERLOAD: u8 = 52;
    pub(super) const MESSAGE_TYPE: u8 = 53;
    pub(super) const SERVER_ID: u8 = 54;
    pub(super) const PARAMETER_REQUEST_LIST: u8 = 55;
    pub(super) const VENDOR_CLASS: u8 = 60;
    pub(super) const CLIENT_ID: u8 = 61;
    pub(super) const CLIENT_FQDN: u8 = 81;
    pub(super) const END: u8 = 255;
}

/// Why a datagram is not a readable DHCP message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The datagram ends inside `field`, which starts at `offset`.
    Truncated {
        /// What was being read.
        field: &'static str,
        /// Where it starts in the datagram (for options in `file`/`sname`, within that field).
        offset: usize,
    },
    /// `op` is neither BOOTREQUEST (1) nor BOOTREPLY (2).
    BadOp(u8),
    /// The four bytes after the BOOTP header are not the DHCP magic cookie.
    NoMagicCookie,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { field, offset } => write!(f, "truncated {field} at offset {offset}"),
            Self::BadOp(op) => write!(f, "op {op} is neither request nor reply"),
            Self::NoMagicCookie => f.write_str("no DHCP magic cookie"),
        }
    }
}

impl std::error::Error for Error {}

/// BOOTP `op`: who sent the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// BOOTREQUEST: a client (or a relay agent forwarding a client's message, or a leasequery).
    Request,
    /// BOOTREPLY: a server.
    Reply,
}

/// DHCP message type (option 53).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    /// DHCPDISCOVER (1).
    Discover,
    /// DHCPOFFER (2).
    Offer,
    /// DHCPREQUEST (3).
    Request,
    /// DHCPDECLINE (4).
    Decline,
    /// DHCPACK (5).
    Ack,
    /// DHCPNAK (6).
    Nak,
    /// DHCPRELEASE (7).
    Release,
    /// DHCPINFORM (8).
    Inform,
    /// Any other type (FORCERENEW, the leasequery family, ...), by number.
    Other(u8),
}

impl MessageType {
    /// The type with this option-53 value.
    pub fn from_u8(value: u8) -> Self {
        match value {
            1 => Self::Discover,
            2 => Self::Offer,
            3 => Self::Request,
            4 => Self::Decline,
            5 => Self::Ack,
            6 => Self::Nak,
            7 => Self::Release,
            8 => Self::Inform,
            other => Self::Other(other),
        }
    }

    /// Whether a client sends this type about itself (as opposed to a leasequery, which a relay
    /// agent sends about someone else).
    pub fn is_from_client(self) -> bool {
        matches!(
            self,
            Self::Discover | Self::Request | Self::Decline | Self::Release | Self::Inform
        )
    }
}

/// One option: its code and its value bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DhcpOption<'a> {
    /// Option code.
    pub code: u8,
    /// Option value (without code and length).
    pub data: &'a [u8],
}

/// A DHCP message, borrowed from the datagram.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    /// Who sent it.
    pub op: Op,
    /// Hardware address type (1 = Ethernet).
    pub htype: u8,
    /// Hardware address length (6 for Ethernet).
    pub hlen: u8,
    /// Relay hops.
    pub hops: u8,
    /// Transaction id.
    pub xid: u32,
    /// Client address, when the client already has one (renewing, informing, releasing).
    pub ciaddr: Ipv4Addr,
    /// "Your" address: the address the server offers or assigns.
    pub yiaddr: Ipv4Addr,
    /// Next server (boot server) address.
    pub siaddr: Ipv4Addr,
    /// Relay agent address.
    pub giaddr: Ipv4Addr,
    /// Client hardware address field (16 bytes, `hlen` of them meaningful).
    pub chaddr: &'a [u8],
    /// Server host name field (64 bytes).
    pub sname: &'a [u8],
    /// Boot file name field (128 bytes).
    pub file: &'a [u8],
    /// The options field (after the magic cookie).
    pub options_field: &'a [u8],
    /// Option overload (52): bit 0 = `file` holds options, bit 1 = `sname` holds options.
    pub overload: u8,
}

/// Reads a DHCP message. Needs the BOOTP header and the magic cookie; a message whose options
/// are cut short still parses (the options iterator reports where they end).
pub fn parse(datagram: &[u8]) -> Result<Message<'_>, Error> {
    let header = datagram.get(..HEADER_LEN).ok_or(Error::Truncated {
        field: "BOOTP header",
        offset: 0,
    })?;
    let op = match header[0] {
        1 => Op::Request,
        2 => Op::Reply,
        other => return Err(Error::BadOp(other)),
    };
    let cookie = datagram
        .get(HEADER_LEN..OPTIONS_OFFSET)
        .ok_or(Error::Truncated {
            field: "magic cookie",
            offset: HEADER_LEN,
        })?;
    if cookie != MAGIC_COOKIE {
        return Err(Error::NoMagicCookie);
    }
    let ip_at =
        |at: usize| Ipv4Addr::new(header[at], header[at + 1], header[at + 2], header[at + 3]);
    let options_field = &datagram[OPTIONS_OFFSET..];
    // The overload option must be in the options field itself (RFC 2131 section 4.1).
    let overload = OptionsArea::new(options_field)
        .filter_map(Result::ok)
        .find(|o| o.code == code::OVERLOAD)
        .and_then(|o| o.data.first().copied())
        .unwrap_or(0)
        & 3;
    Ok(Message {
        op,
        htype: header[1],
        hlen: header[2],
        hops: header[3],
        xid: u32::from_be_bytes([header[4], header[5], header[6], header[7]]),
        ciaddr: ip_at(12),
        yiaddr: ip_at(16),
        siaddr: ip_at(20),
        giaddr: ip_at(24),
        chaddr: &header[28..44],
        sname: &header[SNAME.0..SNAME.0 + SNAME.1],
        file: &header[FILE.0..FILE.0 + FILE.1],
        options_field,
        overload,
    })
}

impl<'a> Message<'a> {
    /// Every option, in order: the options field, then `file` and `sname` when overloaded.
    /// After a malformed option the iterator yields that error and ends.
    pub fn options(&self) -> Options<'a> {
        let mut areas: [&'a [u8]; 3] = [self.options_field, &[], &[]];
        if self.overload & 1 != 0 {
            areas[1] = self.file;
        }
        if self.overload & 2 != 0 {
            areas[2] = self.sname;
        }
        Options {
            areas,
            area: 0,
            current: OptionsArea::new(self.options_field),
        }
    }

    /// The first option with this code.
    pub fn option(&self, code: u8) -> Option<&'a [u8]> {
        self.options()
            .filter_map(Result::ok)
            .find(|o| o.code == code)
            .map(|o| o.data)
    }

    /// The message type (option 53), `None` for plain BOOTP.
    pub fn message_type(&self) -> Option<MessageType> {
        self.option(code::MESSAGE_TYPE)
            .and_then(|d| d.first().copied())
            .map(MessageType::from_u8)
    }

    /// The client's MAC address, when the hardware type is Ethernet with 6-byte addresses and
    /// the address is a plausible unicast one.
    pub fn client_mac(&self) -> Option<MacAddress> {
        if self.htype != 1 || self.hlen != 6 {
            return None;
        }
        let bytes: [u8; 6] = self.chaddr.get(..6)?.try_into().ok()?;
        let mac = MacAddress(bytes);
        (bytes != [0; 6] && !mac.is_multicast()).then_some(mac)
    }
}

/// Options of one area (options field, `file` or `sname`).
#[derive(Debug, Clone)]
struct OptionsArea<'a> {
    data: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> OptionsArea<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self {
            data,
            pos: 0,
            done: false,
        }
    }
}

impl<'a> Iterator for OptionsArea<'a> {
    type Item = Result<DhcpOption<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        // Every step consumes at least one byte, so this ends within `data.len()` steps.
        while !self.done {
            let Some(&code) = self.data.get(self.pos) else {
                // Running off the end without an END option is common enough (padding cut by
                // a snap length, sloppy clients): treat it as the end.
                self.done = true;
                return None;
            };
            match code {
                code::PAD => self.pos += 1,
                code::END => self.done = true,
                _ => {
                    let offset = self.pos;
                    let Some(&len) = self.data.get(offset + 1) else {
                        self.done = true;
                        return Some(Err(Error::Truncated {
                            field: "option length",
                            offset,
                        }));
                    };
                    let start = offset + 2;
                    let end = start + usize::from(len);
                    let Some(data) = self.data.get(start..end) else {
                        self.done = true;
                        return Some(Err(Error::Truncated {
                            field: "option value",
                            offset,
                        }));
                    };
                    self.pos = end;
                    return Some(Ok(DhcpOption { code, data }));
                }
            }
        }
        None
    }
}

/// Iterator over a message's options (see [`Message::options`]).
#[derive(Debug, Clone)]
pub struct Options<'a> {
    areas: [&'a [u8]; 3],
    area: usize,
    current: OptionsArea<'a>,
}

impl<'a> Iterator for Options<'a> {
    type Item = Result<DhcpOption<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.current.next() {
                Some(Ok(option)) => return Some(Ok(option)),
                Some(Err(error)) => {
                    self.area = self.areas.len();
                    return Some(Err(error));
                }
                None => {
                    self.area += 1;
                    let next = self.areas.get(self.area)?;
                    self.current = OptionsArea::new(next);
                }
            }
        }
    }
}

/// The options of a message this module turns into facts, gathered in one pass.
#[derive(Debug, Default, Clone, Copy)]
struct Interesting<'a> {
    message_type: Option<u8>,
    host_name: Option<&'a [u8]>,
    fqdn: Option<&'a [u8]>,
    vendor_class: Option<&'a [u8]>,
    parameter_requests: Option<&'a [u8]>,
    client_id: Option<&'a [u8]>,
    requested_address: Option<Ipv4Addr>,
    server_id: Option<Ipv4Addr>,
    routers: Option<&'a [u8]>,
    domain_name: Option<&'a [u8]>,
}

impl<'a> Interesting<'a> {
    fn gather(message: &Message<'a>) -> Self {
        let mut found = Self::default();
        // Options that appear twice keep their first instance.
        for option in message.options().map_while(Result::ok) {
            let data = option.data;
            match option.code {
                code::MESSAGE_TYPE => {
                    found.message_type = found.message_type.or(data.first().copied())
                }
                code::HOST_NAME => found.host_name = found.host_name.or(Some(data)),
                code::CLIENT_FQDN => found.fqdn = found.fqdn.or(Some(data)),
                code::VENDOR_CLASS => found.vendor_class = found.vendor_class.or(Some(data)),
                code::PARAMETER_REQUEST_LIST => {
                    found.parameter_requests = found.parameter_requests.or(Some(data))
                }
                code::CLIENT_ID => found.client_id = found.client_id.or(Some(data)),
                code::REQUESTED_ADDRESS => {
                    found.requested_address = found.requested_address.or(ipv4(data))
                }
                code::SERVER_ID => found.server_id = found.server_id.or(ipv4(data)),
                code::ROUTER => found.routers = found.routers.or(Some(data)),
                code::DOMAIN_NAME => found.domain_name = found.domain_name.or(Some(data)),
                _ => {}
            }
        }
        found
    }
}

/// A 4-byte option value as an address (`None` for other lengths).
fn ipv4(data: &[u8]) -> Option<Ipv4Addr> {
    let octets: [u8; 4] = data.try_into().ok()?;
    Some(Ipv4Addr::from(octets))
}

/// Whether an address may name a host (not 0.0.0.0, not broadcast, not multicast).
fn is_host(ip: Ipv4Addr) -> bool {
    !ip.is_unspecified() && !ip.is_broadcast() && !ip.is_multicast()
}

/// The parameter request list as the fingerprint tools use it: codes in order, "1,3,6,15".
pub fn fingerprint(codes: &[u8], out: &mut impl fmt::Write) -> fmt::Result {
    for (i, code) in codes.iter().enumerate() {
        if i > 0 {
            out.write_char(',')?;
        }
        write!(out, "{code}")?;
    }
    Ok(())
}

/// Bytes as lower-case hex pairs joined by colons, "01:aa:bb".
pub fn hex_colon(bytes: &[u8], out: &mut impl fmt::Write) -> fmt::Result {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, byte) in bytes.iter().enumerate() {
        if i > 0 {
            out.write_char(':')?;
        }
        out.write_char(char::from(HEX[usize::from(byte >> 4)]))?;
        out.write_char(char::from(HEX[usize::from(byte & 15)]))?;
    }
    Ok(())
}

/// The domain name of a client FQDN option (81): flags, two obsolete RCODE bytes, then the
/// name, in DNS wire format when the E flag (0x04) is set and in ASCII otherwise. Wire-format
/// labels are joined with dots into `out`. `None` when the option holds no usable name.
pub fn fqdn_name<const N: usize>(option: &[u8], out: &mut ValueBuf<N>) -> Option<()> {
    let (&flags, rest) = option.split_first()?;
    let name = rest.get(2..)?;
    if flags & 0x04 == 0 {
        // ASCII encoding (deprecated but common): the bytes as they are, minus a final dot.
        let name = name.strip_suffix(b".").unwrap_or(name);
        if name.is_empty() {
            return None;
        }
        out.push(name);
        return Some(());
    }
    wire_name(name, out)
}

/// A domain name in DNS wire format without compression (DHCP options forbid it): labels
/// joined with dots into `out`. A name may be partial (no final root label). `None` when
/// malformed or empty.
pub fn wire_name<const N: usize>(name: &[u8], out: &mut ValueBuf<N>) -> Option<()> {
    let mut pos = 0;
    let mut labels = 0usize;
    // Each step consumes at least one byte.
    while let Some(&len) = name.get(pos) {
        if len == 0 {
            break;
        }
        if len & 0xc0 != 0 {
            return None;
        }
        let label = name.get(pos + 1..pos + 1 + usize::from(len))?;
        if labels > 0 {
            out.push(b".");
        }
        out.push(label);
        labels += 1;
        pos += 1 + usize::from(len);
    }
    (labels > 0).then_some(())
}

/// Reports the facts one DHCP message carries.
pub fn observe(
    message: &Message<'_>,
    flow: &FlowMeta,
    direction: Direction,
    out: &mut Observations,
) {
    let found = Interesting::gather(message);
    match message.op {
        Op::Request => observe_client(message, &found, flow, direction, out),
        Op::Reply => observe_server(message, &found, flow, direction, out),
    }
}

/// A client's message: facts about the client, keyed by its MAC address.
fn observe_client(
    message: &Message<'_>,
    found: &Interesting<'_>,
    flow: &FlowMeta,
    direction: Direction,
    out: &mut Observations,
) {
    let message_type = found.message_type.map(MessageType::from_u8);
    // Plain BOOTP requests (no type) come from clients too; leasequeries do not.
    if message_type.is_some_and(|t| !t.is_from_client()) {
        return;
    }
    let subject = match message.client_mac() {
        Some(mac) => DeviceKey::Mac(mac),
        None => {
            // Without an Ethernet chaddr, the sender is the client only when no relay agent
            // forwarded the message and it already has an address.
            let sender = flow.source(direction).ip();
            if !message.giaddr.is_unspecified() || sender.is_unspecified() {
                return;
            }
            DeviceKey::Ip(sender)
        }
    };
    let now = flow.now;
    if let Some(name) = found.host_name {
        out.fact_bytes(subject, Attribute::Hostname, name, Source::Dhcp, now);
    }
    if let Some(option) = found.fqdn {
        let mut name = ValueBuf::<256>::new();
        if fqdn_name(option, &mut name).is_some() {
            out.fact_bytes(
                subject,
                Attribute::Hostname,
                name.as_bytes(),
                Source::Dhcp,
                now,
            );
        }
    }
    if let Some(class) = found.vendor_class {
        out.fact_bytes(subject, Attribute::VendorClass, class, Source::Dhcp, now);
    }
    if let Some(codes) = found.parameter_requests {
        // At most 255 codes of at most 3 digits and a comma each.
        let mut text = ValueBuf::<1024>::new();
        if fingerprint(codes, &mut text).is_ok() {
            out.fact_bytes(
                subject,
                Attribute::DhcpFingerprint,
                text.as_bytes(),
                Source::Dhcp,
                now,
            );
        }
    }
    if let Some(id) = found.client_id {
        let mut text = ValueBuf::<768>::new();
        if hex_colon(id, &mut text).is_ok() {
            out.fact_bytes(
                subject,
                Attribute::ClientId,
                text.as_bytes(),
                Source::Dhcp,
                now,
            );
        }
    }
    let mut text = ValueBuf::<16>::new();
    if message_type == Some(MessageType::Request) {
        if let Some(ip) = found.requested_address.filter(|ip| is_host(*ip)) {
            if write!(text, "{ip}").is_ok() {
                out.fact_bytes_with(
                    subject,
                    Attribute::Ip,
                    text.as_bytes(),
                    Source::Dhcp,
                    REQUESTED_ADDRESS_CONFIDENCE,
                    now,
                );
            }
        }
    }
    // A client fills in ciaddr only with an address it holds (renewing, informing, releasing).
    if message_type != Some(MessageType::Decline) && is_host(message.ciaddr) {
        text.clear();
        if write!(text, "{}", message.ciaddr).is_ok() {
            out.fact_bytes(subject, Attribute::Ip, text.as_bytes(), Source::Dhcp, now);
        }
    }
}

/// A server's message: the server offers DHCP, names routers, and (ACK) binds an address to
/// the client's MAC.
fn observe_server(
    message: &Message<'_>,
    found: &Interesting<'_>,
    flow: &FlowMeta,
    direction: Direction,
    out: &mut Observations,
) {
    let now = flow.now;
    let sender = flow.source(direction).ip();
    // The server identifier names the server itself; without it the sender is the server,
    // unless it is a relay agent passing the reply on.
    let server = match found.server_id.filter(|ip| is_host(*ip)) {
        Some(id) => Some(IpAddr::V4(id)),
        None if sender.is_unspecified() || sender == IpAddr::V4(message.giaddr) => None,
        None => Some(sender),
    };
    if let Some(server) = server {
        out.fact(
            DeviceKey::Ip(server),
            Attribute::Service,
            "dhcp-server",
            Source::Dhcp,
            now,
        );
    }
    if let Some(routers) = found.routers {
        for chunk in routers.chunks_exact(4) {
            if let Some(router) = ipv4(chunk).filter(|ip| is_host(*ip)) {
                out.hearsay(
                    DeviceKey::Ip(IpAddr::V4(router)),
                    Attribute::Role,
                    "router",
                    Source::Dhcp,
                    now,
                );
            }
        }
    }
    let Some(mac) = message.client_mac() else {
        return;
    };
    let client = DeviceKey::Mac(mac);
    if let Some(domain) = found.domain_name {
        let confidence = Source::Dhcp
            .default_confidence()
            .min(ironward_model::HEARSAY_CONFIDENCE);
        out.fact_bytes_with(
            client,
            Attribute::Domain,
            domain,
            Source::Dhcp,
            confidence,
            now,
        );
    }
    let message_type = found.message_type.map(MessageType::from_u8);
    if message_type == Some(MessageType::Ack) && is_host(message.yiaddr) {
        let mut text = ValueBuf::<16>::new();
        if write!(text, "{}", message.yiaddr).is_ok() {
            out.fact_bytes(client, Attribute::Ip, text.as_bytes(), Source::Dhcp, now);
        }
        out.event(
            flow,
            direction,
            "dhcp",
            EventCategory::Discovery,
            "dhcp_ack",
            format!("DHCP ACK {} to {mac}", message.yiaddr),
        );
    }
}

/// Whether a datagram starts like a DHCP message: BOOTP op, sane address length, magic cookie.
fn looks_like_dhcp(payload: &[u8]) -> bool {
    matches!(payload.first(), Some(1 | 2))
        && payload.get(2).is_some_and(|&hlen| hlen <= 16)
        && payload.get(HEADER_LEN..OPTIONS_OFFSET) == Some(&MAGIC_COOKIE[..])
}

/// Dissects DHCP datagrams; stateless (every message stands alone).
#[derive(Debug, Default)]
pub struct DhcpDissector;

impl Dissector for DhcpDissector {
    fn protocol(&self) -> &'static str {
        "dhcp"
    }

    fn on_datagram(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        payload: &[u8],
        out: &mut Observations,
    ) {
        if let Ok(message) = parse(payload) {
            observe(&message, flow, direction, out);
        }
    }
}

/// Takes UDP flows on port 67 or 68 whose first datagram carries the DHCP magic cookie.
#[derive(Debug, Default)]
pub struct DhcpFactory;

impl DissectorFactory for DhcpFactory {
    fn protocol(&self) -> &'static str {
        "dhcp"
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
        (flow.transport == Transport::Udp && on_port && looks_like_dhcp(first_payload))
            .then(|| Box::new(DhcpDissector) as Box<dyn Dissector>)
    }
}

/// Adds this module's dissectors to `registry`.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register(Box::new(DhcpFactory));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::hex;
    use ironward_model::{Fact, Timestamp};

    /// Frame 1 of zeek_dhcp_discover_param_req_and_client_id.pcap: a Grandstream phone's
    /// DISCOVER with client id, requested address, parameter request list and host name.
    const DISCOVER: &str = "0101060000003d110000000000000000000000000000000000000000000b8201fc4200000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000638253633501013d0701000b8201fc423204d043dede37040103062a0c087465737430303030ff000000000000";
    /// Frame 3 of zeek_dhcp.pcap: a REQUEST with server id, requested address and host name.
    const REQUEST: &str = "01010600000007c0000000000000000000000000000000000000000090b11c99492900000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000638253633501033604800206983204c0a8d3c20c0d62746573742e69732e636f6f6cff";
    /// Frame 6 of zeek_dhcp.pcap: the server's ACK (router, domain, and an echoed vendor
    /// class that is the server's, not the client's).
    const ACK: &str = "02010600000007c00000000000000000800206bdac13e6070000000090b11c99492900000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000638253633501053604800206983304000003840104ffffff0003048002060106088002010b8002010a04088002011480020115430d6e6574776f726b2d636f6e66671c04800206ff2a0c8002011480020115800201162b0b3137322e31382e362e33373c07417275626141502c088002681d8002681e2e01020f07636d752e656475ff";

    fn flow(client: [u8; 4], server: [u8; 4]) -> FlowMeta {
        FlowMeta {
            id: 1,
            transport: Transport::Udp,
            client: (client, CLIENT_PORT).into(),
            server: (server, SERVER_PORT).into(),
            now: Timestamp(7),
            frame: 1,
        }
    }

    /// A message built by hand: BOOTP header for `mac`, cookie, then `options`.
    fn build(op: u8, mac: [u8; 6], yiaddr: [u8; 4], options: &[u8]) -> Vec<u8> {
        let mut m = vec![0u8; HEADER_LEN];
        m[0] = op;
        m[1] = 1;
        m[2] = 6;
        m[16..20].copy_from_slice(&yiaddr);
        m[28..34].copy_from_slice(&mac);
        m.extend_from_slice(&MAGIC_COOKIE);
        m.extend_from_slice(options);
        m
    }

    fn run(payload: &[u8], flow: &FlowMeta, direction: Direction) -> (Vec<Fact>, Vec<String>) {
        let mut out = Observations::default();
        let mut dissector = DhcpDissector;
        dissector.on_datagram(flow, direction, payload, &mut out);
        let events = out.drain_events().map(|e| e.detail).collect();
        (out.drain_facts().collect(), events)
    }

    fn values(facts: &[Fact], attribute: Attribute) -> Vec<(String, DeviceKey, u8)> {
        facts
            .iter()
            .filter(|f| f.attribute == attribute)
            .map(|f| (f.value.to_string(), f.subject, f.confidence))
            .collect()
    }

    fn mac(text: &str) -> DeviceKey {
        DeviceKey::Mac(text.parse().unwrap())
    }

    fn ip(text: &str) -> DeviceKey {
        DeviceKey::Ip(text.parse().unwrap())
    }

    #[test]
    fn parses_a_real_discover() {
        let bytes = hex(DISCOVER);
        let message = parse(&bytes).unwrap();
        assert_eq!(message.op, Op::Request);
        assert_eq!(message.xid, 0x3d11);
        assert_eq!(message.message_type(), Some(MessageType::Discover));
        assert_eq!(
            message.client_mac().unwrap().to_string(),
            "00:0b:82:01:fc:42"
        );
        let codes: Vec<u8> = message.options().map(|o| o.unwrap().code).collect();
        assert_eq!(codes, [53, 61, 50, 55, 12]);
    }

    #[test]
    fn a_discover_describes_the_client_mac() {
        let (facts, events) = run(
            &hex(DISCOVER),
            &flow([0; 4], [255; 4]),
            Direction::ClientToServer,
        );
        let phone = mac("00:0b:82:01:fc:42");
        assert_eq!(
            values(&facts, Attribute::Hostname),
            [("test0000".into(), phone, 90)]
        );
        assert_eq!(
            values(&facts, Attribute::DhcpFingerprint),
            [("1,3,6,42".into(), phone, 90)]
        );
        assert_eq!(
            values(&facts, Attribute::ClientId),
            [("01:00:0b:82:01:fc:42".into(), phone, 90)]
        );
        // A DISCOVER's requested address is only a wish (here 208.67.222.222): no binding.
        assert!(values(&facts, Attribute::Ip).is_empty());
        assert!(events.is_empty());
        assert!(facts.iter().all(|f| f.source == Source::Dhcp));
    }

    #[test]
    fn a_request_asks_for_an_address_at_lower_confidence() {
        let (facts, _) = run(
            &hex(REQUEST),
            &flow([0; 4], [255; 4]),
            Direction::ClientToServer,
        );
        let client = mac("90:b1:1c:99:49:29");
        assert_eq!(
            values(&facts, Attribute::Hostname),
            [("btest.is.cool".into(), client, 90)]
        );
        assert_eq!(
            values(&facts, Attribute::Ip),
            [(
                "192.168.211.194".into(),
                client,
                REQUESTED_ADDRESS_CONFIDENCE
            )]
        );
    }

    #[test]
    fn an_ack_binds_the_address_and_names_server_and_router() {
        let flow = flow([128, 2, 6, 189], [128, 2, 6, 152]);
        let (facts, events) = run(&hex(ACK), &flow, Direction::ServerToClient);
        let client = mac("90:b1:1c:99:49:29");
        assert_eq!(
            values(&facts, Attribute::Ip),
            [("128.2.6.189".into(), client, 90)]
        );
        assert_eq!(
            values(&facts, Attribute::Service),
            [("dhcp-server".into(), ip("128.2.6.152"), 90)]
        );
        assert_eq!(
            values(&facts, Attribute::Role),
            [("router".into(), ip("128.2.6.1"), 60)]
        );
        assert_eq!(
            values(&facts, Attribute::Domain),
            [("cmu.edu".into(), client, 60)]
        );
        // The vendor class in a server's reply is the server's business, not the client's.
        assert!(values(&facts, Attribute::VendorClass).is_empty());
        assert_eq!(events, ["DHCP ACK 128.2.6.189 to 90:b1:1c:99:49:29"]);
    }

    #[test]
    fn fqdn_in_ascii_and_wire_encodings() {
        let mut text = ValueBuf::<256>::new();
        fqdn_name(b"\x01\x00\x00laptop.example.com.", &mut text).unwrap();
        assert_eq!(text.as_bytes(), b"laptop.example.com");
        let mut text = ValueBuf::<256>::new();
        fqdn_name(b"\x05\x00\x00\x06laptop\x07example\x03com\x00", &mut text).unwrap();
        assert_eq!(text.as_bytes(), b"laptop.example.com");
        // A partial name (no root label) is allowed.
        let mut text = ValueBuf::<256>::new();
        fqdn_name(b"\x04\xff\xff\x06laptop", &mut text).unwrap();
        assert_eq!(text.as_bytes(), b"laptop");
        // Compression pointers, labels running past the end and empty names are refused.
        for bad in [
            &b"\x04\x00\x00\xc0\x0c"[..],
            b"\x04\x00\x00\x09abc",
            b"\x04\x00\x00\x00",
            b"\x00\x00\x00",
            b"\x00",
        ] {
            assert!(
                fqdn_name(bad, &mut ValueBuf::<256>::new()).is_none(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn fqdn_and_vendor_class_of_a_built_request() {
        let mut options = vec![53, 1, 3, 60, 8];
        options.extend_from_slice(b"MSFT 5.0");
        options.extend_from_slice(&[81, 23, 0x05, 0, 0, 6]);
        options.extend_from_slice(b"laptop\x07example\x03com\x00");
        options.extend_from_slice(&[50, 4, 10, 0, 0, 5, 255]);
        let m = [0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee];
        let (facts, _) = run(
            &build(1, m, [0; 4], &options),
            &flow([0; 4], [255; 4]),
            Direction::ClientToServer,
        );
        let client = DeviceKey::Mac(MacAddress(m));
        assert_eq!(
            values(&facts, Attribute::VendorClass),
            [("MSFT 5.0".into(), client, 90)]
        );
        assert_eq!(
            values(&facts, Attribute::Hostname),
            [("laptop.example.com".into(), client, 90)]
        );
        assert_eq!(
            values(&facts, Attribute::Ip),
            [("10.0.0.5".into(), client, 70)]
        );
    }

    #[test]
    fn overloaded_file_field_carries_options() {
        let mut bytes = build(1, [2, 0, 0, 0, 0, 1], [0; 4], &[53, 1, 1, 52, 1, 1, 255]);
        // Host name option inside the `file` field.
        let file = &mut bytes[FILE.0..FILE.0 + FILE.1];
        file[..8].copy_from_slice(&[12, 5, b'h', b'o', b's', b't', b'1', 255]);
        let message = parse(&bytes).unwrap();
        assert_eq!(message.overload, 1);
        assert_eq!(message.option(code::HOST_NAME), Some(&b"host1"[..]));
        let (facts, _) = run(&bytes, &flow([0; 4], [255; 4]), Direction::ClientToServer);
        assert_eq!(values(&facts, Attribute::Hostname).len(), 1);
    }

    #[test]
    fn malformed_messages_are_refused_with_a_reason() {
        assert_eq!(
            parse(&[1; 100]).unwrap_err(),
            Error::Truncated {
                field: "BOOTP header",
                offset: 0
            }
        );
        let mut bytes = build(1, [2, 0, 0, 0, 0, 1], [0; 4], &[]);
        bytes[0] = 3;
        assert_eq!(parse(&bytes).unwrap_err(), Error::BadOp(3));
        bytes[0] = 1;
        bytes[HEADER_LEN] = 0;
        assert_eq!(parse(&bytes).unwrap_err(), Error::NoMagicCookie);
        let bytes = build(1, [2, 0, 0, 0, 0, 1], [0; 4], &[53, 1, 1, 12, 9, b'a']);
        let message = parse(&bytes).unwrap();
        let items: Vec<_> = message.options().collect();
        assert_eq!(
            items,
            [
                Ok(DhcpOption {
                    code: 53,
                    data: &[1][..]
                }),
                Err(Error::Truncated {
                    field: "option value",
                    offset: 3
                })
            ]
        );
    }

    #[test]
    fn a_renewing_client_names_the_address_it_holds() {
        let m = [0x02, 0, 0, 0, 0, 9];
        let client = DeviceKey::Mac(MacAddress(m));
        let mut renew = build(1, m, [0; 4], &[53, 1, 3, 255]);
        renew[12..16].copy_from_slice(&[10, 0, 0, 9]);
        let (facts, _) = run(
            &renew,
            &flow([10, 0, 0, 9], [10, 0, 0, 1]),
            Direction::ClientToServer,
        );
        assert_eq!(
            values(&facts, Attribute::Ip),
            [("10.0.0.9".into(), client, 90)]
        );
        // A DECLINE names an address the client refuses: no binding.
        let decline = build(1, m, [0; 4], &[53, 1, 4, 50, 4, 10, 0, 0, 9, 255]);
        let (facts, _) = run(&decline, &flow([0; 4], [255; 4]), Direction::ClientToServer);
        assert!(values(&facts, Attribute::Ip).is_empty());
    }

    #[test]
    fn leasequery_and_multicast_chaddr_say_nothing_about_clients() {
        let query = build(
            1,
            [2, 0, 0, 0, 0, 1],
            [0; 4],
            &[53, 1, 10, 12, 1, b'x', 255],
        );
        let (facts, _) = run(
            &query,
            &flow([10, 0, 0, 1], [10, 0, 0, 2]),
            Direction::ClientToServer,
        );
        assert!(facts.is_empty());
        let multicast = build(
            1,
            [1, 0, 0x5e, 0, 0, 1],
            [0; 4],
            &[53, 1, 1, 12, 1, b'x', 255],
        );
        let (facts, _) = run(
            &multicast,
            &flow([0; 4], [255; 4]),
            Direction::ClientToServer,
        );
        assert!(facts.is_empty());
    }

    #[test]
    fn every_prefix_of_real_messages_is_safe() {
        for text in [DISCOVER, REQUEST, ACK] {
            let bytes = hex(text);
            for end in 0..=bytes.len() {
                let _ = run(
                    &bytes[..end],
                    &flow([0; 4], [255; 4]),
                    Direction::ClientToServer,
                );
                let _ = run(
                    &bytes[..end],
                    &flow([0; 4], [255; 4]),
                    Direction::ServerToClient,
                );
            }
        }
    }

    #[test]
    fn factory_takes_dhcp_ports_with_the_cookie_only() {
        let bytes = hex(DISCOVER);
        let factory = DhcpFactory;
        let dhcp = flow([0; 4], [255; 4]);
        assert!(factory
            .select(&dhcp, Direction::ClientToServer, &bytes)
            .is_some());
        assert!(factory
            .select(&dhcp, Direction::ClientToServer, b"\x01\x01\x06\x00")
            .is_none());
        let mut dns = dhcp;
        dns.client.set_port(5353);
        dns.server.set_port(53);
        assert!(factory
            .select(&dns, Direction::ClientToServer, &bytes)
            .is_none());
        let mut tcp = dhcp;
        tcp.transport = Transport::Tcp;
        assert!(factory
            .select(&tcp, Direction::ClientToServer, &bytes)
            .is_none());
    }
}
