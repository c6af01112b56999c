//! SSDP, the discovery half of UPnP (UPnP Device Architecture, section 1): HTTP-formatted
//! messages over UDP port 1900, multicast to 239.255.255.250 (`ff02::c`, `ff05::c`, ... in
//! IPv6) or unicast in answer to a search.
//!
//! A device announces itself in `NOTIFY * HTTP/1.1` messages (`NTS: ssdp:alive`, `ssdp:byebye`)
//! and answers `M-SEARCH * HTTP/1.1` requests with `HTTP/1.1 200 OK`. Both describe the sender:
//! `SERVER` → Software (the whole value, e.g. `Linux/3.14 UPnP/1.0 Sonos/70.3-35220`), `NT` or
//! `ST` → Service when it is a `urn:` device or service type (`upnp:rootdevice`, `uuid:` and
//! `ssdp:all` say nothing about what the device is), the `uuid:` of `USN` → ClientId (the same
//! value as the description's `UDN`, see [`upnp`](crate::upnp)), `LOCATION` → Url. A search
//! request describes the control point that sends it: `USER-AGENT` → UserAgent.
//!
//! Each datagram is parsed on its own (no per-flow state) with [`text::Head`](crate::text::Head),
//! in one pass over its headers, without allocating.

use std::net::IpAddr;

use ironward_model::{Attribute, DeviceKey, Source, Timestamp};

use crate::dissector::{Dissector, DissectorFactory, DissectorRegistry};
use crate::observations::Observations;
use crate::session::{Direction, FlowMeta, Transport};
use crate::text::{find, starts_with_ignore_case, Head, HeadError};

/// The SSDP port.
pub const PORT: u16 = 1900;

/// The IPv4 SSDP multicast group.
pub const GROUP_V4: [u8; 4] = [239, 255, 255, 250];

/// Longest datagram re-read with an empty line appended when the sender left it out.
const MAX_UNTERMINATED: usize = 2048;

/// What an SSDP message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `NOTIFY * HTTP/1.1`: an announcement (`ssdp:alive`, `ssdp:byebye`, `ssdp:update`).
    Notify,
    /// `M-SEARCH * HTTP/1.1`: a control point searching.
    Search,
    /// `HTTP/1.x <status>`: a device answering a search.
    Response {
        /// The status code (200 for a real answer).
        status: u16,
    },
}

/// Why a datagram is not an SSDP message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsdpError {
    /// The message head is not text, or not terminated by an empty line.
    Head(HeadError),
    /// The start line is neither `NOTIFY *`, `M-SEARCH *` nor an `HTTP/1.x` status line.
    UnknownStartLine,
    /// The status line's code is not three digits.
    BadStatus,
}

impl std::fmt::Display for SsdpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Head(error) => write!(f, "SSDP message head: {error}"),
            Self::UnknownStartLine => {
                f.write_str("SSDP start line is not NOTIFY, M-SEARCH or a status line")
            }
            Self::BadStatus => f.write_str("SSDP status line has no three-digit code"),
        }
    }
}

impl std::error::Error for SsdpError {}

/// The headers of an SSDP message that say something about a device, borrowed from the datagram.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Headers<'a> {
    /// `SERVER`: OS, UPnP version and product of the announcing device.
    pub server: Option<&'a [u8]>,
    /// `NT` (notifications) or `ST` (searches and their answers): the type announced or sought.
    pub target: Option<&'a [u8]>,
    /// `NTS`: `ssdp:alive`, `ssdp:byebye` or `ssdp:update`.
    pub nts: Option<&'a [u8]>,
    /// `USN`: unique service name, `uuid:<device>[::<type>]`.
    pub usn: Option<&'a [u8]>,
    /// `LOCATION`: the URL of the device description.
    pub location: Option<&'a [u8]>,
    /// `USER-AGENT`: the searching control point's software.
    pub user_agent: Option<&'a [u8]>,
}

/// One SSDP message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    /// What the message is.
    pub kind: Kind,
    /// Its identifying headers.
    pub headers: Headers<'a>,
}

/// Parses one SSDP message from a message head (the datagram's start line and headers).
pub fn parse_head<'a>(head: &Head<'a>) -> Result<Message<'a>, SsdpError> {
    let [first, second, third] = head.start_parts();
    let kind = if first.eq_ignore_ascii_case(b"NOTIFY") && second == b"*" {
        Kind::Notify
    } else if first.eq_ignore_ascii_case(b"M-SEARCH") && second == b"*" {
        Kind::Search
    } else if starts_with_ignore_case(first, b"HTTP/1.") {
        let status = match second {
            [a, b, c] if second.iter().all(u8::is_ascii_digit) => {
                u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0')
            }
            _ => return Err(SsdpError::BadStatus),
        };
        Kind::Response { status }
    } else {
        return Err(SsdpError::UnknownStartLine);
    };
    // Requests end in the version: `NOTIFY * HTTP/1.1`.
    if matches!(kind, Kind::Notify | Kind::Search) && !starts_with_ignore_case(third, b"HTTP/1.") {
        return Err(SsdpError::UnknownStartLine);
    }
    let mut headers = Headers::default();
    for (name, value) in head.headers() {
        let slot = if name.eq_ignore_ascii_case(b"SERVER") {
            &mut headers.server
        } else if name.eq_ignore_ascii_case(b"NT") || name.eq_ignore_ascii_case(b"ST") {
            &mut headers.target
        } else if name.eq_ignore_ascii_case(b"NTS") {
            &mut headers.nts
        } else if name.eq_ignore_ascii_case(b"USN") {
            &mut headers.usn
        } else if name.eq_ignore_ascii_case(b"LOCATION") {
            &mut headers.location
        } else if name.eq_ignore_ascii_case(b"USER-AGENT") {
            &mut headers.user_agent
        } else {
            continue;
        };
        // The first occurrence wins, as with `Head::header`.
        if slot.is_none() && !value.is_empty() {
            *slot = Some(value);
        }
    }
    Ok(Message { kind, headers })
}

/// Parses a datagram and hands the message to `with`. A datagram whose head lacks the final
/// empty line (some embedded stacks leave it out) is read as if it were there.
pub fn parse<R>(datagram: &[u8], with: impl FnOnce(Result<Message<'_>, SsdpError>) -> R) -> R {
    match Head::parse(datagram) {
        Ok(head) => with(parse_head(&head)),
        Err(HeadError::Incomplete) if datagram.len() <= MAX_UNTERMINATED => {
            let mut buffer = [0u8; MAX_UNTERMINATED + 4];
            let end = if datagram.ends_with(b"\n") {
                b"\r\n" as &[u8]
            } else {
                b"\r\n\r\n"
            };
            let len = datagram.len() + end.len();
            match buffer.get_mut(..len) {
                Some(dst) => {
                    let (text, tail) = dst.split_at_mut(datagram.len());
                    text.copy_from_slice(datagram);
                    tail.copy_from_slice(end);
                }
                None => return with(Err(SsdpError::Head(HeadError::Incomplete))),
            }
            let buffer = buffer.get(..len).unwrap_or_default();
            match Head::parse(buffer) {
                Ok(head) => with(parse_head(&head)),
                Err(error) => with(Err(SsdpError::Head(error))),
            }
        }
        Err(error) => with(Err(SsdpError::Head(error))),
    }
}

/// Reports what a message says about its sender, `subject`.
pub fn report(message: &Message<'_>, subject: DeviceKey, at: Timestamp, out: &mut Observations) {
    let headers = &message.headers;
    match message.kind {
        Kind::Search => {
            if let Some(agent) = headers.user_agent {
                out.fact_bytes(subject, Attribute::UserAgent, agent, Source::Ssdp, at);
            }
            return;
        }
        Kind::Response { status } if status != 200 => return,
        Kind::Notify | Kind::Response { .. } => {}
    }
    if let Some(server) = headers.server {
        out.fact_bytes(subject, Attribute::Software, server, Source::Ssdp, at);
    }
    if let Some(target) = headers.target.filter(|t| is_device_or_service_type(t)) {
        out.fact_bytes(subject, Attribute::Service, target, Source::Ssdp, at);
    }
    if let Some(uuid) = headers.usn.and_then(usn_uuid) {
        out.fact_bytes(subject, Attribute::ClientId, uuid, Source::Ssdp, at);
    }
    if let Some(location) = headers.location {
        out.fact_bytes(subject, Attribute::Url, location, Source::Ssdp, at);
    }
}

/// Whether an `NT`/`ST` value is a UPnP device or service type
/// (`urn:schemas-upnp-org:device:MediaRenderer:1`, `urn:dial-multiscreen-org:service:dial:1`).
pub fn is_device_or_service_type(target: &[u8]) -> bool {
    starts_with_ignore_case(target, b"urn:")
        && (find(target, b":device:").is_some() || find(target, b":service:").is_some())
}

/// The device part of a `USN` (`uuid:2f402f80-...` of `uuid:2f402f80-...::upnp:rootdevice`).
pub fn usn_uuid(usn: &[u8]) -> Option<&[u8]> {
    if !starts_with_ignore_case(usn, b"uuid:") {
        return None;
    }
    let uuid = match find(usn, b"::") {
        Some(end) => usn.get(..end)?,
        None => usn,
    };
    (uuid.len() > 5).then_some(uuid)
}

/// Whether `ip` is an SSDP multicast group: 239.255.255.250 or `ff0X::c`.
pub fn is_ssdp_group(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => ip.octets() == GROUP_V4,
        IpAddr::V6(ip) => {
            let segments = ip.segments();
            segments[0] & 0xfff0 == 0xff00 && segments[1..7] == [0; 6] && segments[7] == 0xc
        }
    }
}

/// Whether a datagram starts like an SSDP message (cheap: the start line's first token).
fn looks_like_ssdp(payload: &[u8]) -> bool {
    starts_with_ignore_case(payload, b"NOTIFY * HTTP/1.")
        || starts_with_ignore_case(payload, b"M-SEARCH * HTTP/1.")
        || starts_with_ignore_case(payload, b"HTTP/1.")
}

/// The SSDP dissector of one UDP flow. Stateless: every datagram stands alone.
#[derive(Debug, Default)]
pub struct SsdpDissector;

impl Dissector for SsdpDissector {
    fn protocol(&self) -> &'static str {
        "ssdp"
    }

    fn on_datagram(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        payload: &[u8],
        out: &mut Observations,
    ) {
        parse(payload, |message| {
            if let Ok(message) = message {
                report(&message, flow.sender(direction), flow.now, out);
            }
        });
    }
}

/// Takes UDP flows to or from port 1900 (or to an SSDP group) whose first datagram starts like
/// an SSDP message. HTTP over TCP port 1900 (description documents) is left to HTTP.
#[derive(Debug, Default)]
pub struct SsdpFactory;

impl DissectorFactory for SsdpFactory {
    fn protocol(&self) -> &'static str {
        "ssdp"
    }

    fn select(
        &self,
        flow: &FlowMeta,
        _direction: Direction,
        first_payload: &[u8],
    ) -> Option<Box<dyn Dissector>> {
        let ssdp_flow = flow.transport == Transport::Udp
            && (flow.client.port() == PORT
                || flow.server.port() == PORT
                || is_ssdp_group(flow.server.ip()));
        (ssdp_flow && looks_like_ssdp(first_payload))
            .then(|| Box::new(SsdpDissector) as Box<dyn Dissector>)
    }
}

/// Adds the SSDP dissector to `registry`.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register(Box::new(SsdpFactory));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(transport: Transport, client: &str, server: &str) -> FlowMeta {
        FlowMeta {
            id: 1,
            transport,
            client: client.parse().unwrap(),
            server: server.parse().unwrap(),
            now: Timestamp(42),
            frame: 1,
        }
    }

    fn dissect(flow: &FlowMeta, direction: Direction, datagram: &[u8]) -> Vec<(Attribute, String)> {
        let mut out = Observations::default();
        let mut dissector = SsdpFactory
            .select(flow, direction, datagram)
            .expect("SSDP flow");
        dissector.on_datagram(flow, direction, datagram, &mut out);
        out.drain_facts()
            .map(|fact| {
                assert_eq!(fact.subject, flow.sender(direction));
                assert_eq!(fact.source, Source::Ssdp);
                (fact.attribute, fact.value.into_owned())
            })
            .collect()
    }

    fn pairs(list: &[(Attribute, &str)]) -> Vec<(Attribute, String)> {
        list.iter().map(|(a, v)| (*a, (*v).to_owned())).collect()
    }

    /// A Sonos player's root-device announcement.
    const SONOS_NOTIFY: &[u8] = b"NOTIFY * HTTP/1.1\r\n\
HOST: 239.255.255.250:1900\r\n\
CACHE-CONTROL: max-age = 1800\r\n\
LOCATION: http://192.168.1.20:1400/xml/device_description.xml\r\n\
NT: upnp:rootdevice\r\n\
NTS: ssdp:alive\r\n\
SERVER: Linux UPnP/1.0 Sonos/70.3-35220 (ZPS12)\r\n\
USN: uuid:RINCON_5CAAFD12345601400::upnp:rootdevice\r\n\
X-RINCON-HOUSEHOLD: Sonos_abcdefghijklmnopqrstuvwx\r\n\
X-RINCON-BOOTSEQ: 88\r\n\
BOOTID.UPNP.ORG: 88\r\n\
X-RINCON-WIFIMODE: 0\r\n\
X-RINCON-VARIANT: 1\r\n\
HOUSEHOLD.SMARTSPEAKER.AUDIO: Sonos_abcdefghijklmnopqrstuvwx.AbCdEfGhIjKlMnOpQrSt\r\n\
LOCATION.SMARTSPEAKER.AUDIO: lc_0123456789abcdef0123456789abcdef\r\n\
SECURELOCATION.UPNP.ORG: https://192.168.1.20:1443/xml/device_description.xml\r\n\
\r\n";

    #[test]
    fn notify_describes_the_announcing_device() {
        let flow = flow(Transport::Udp, "192.168.1.20:1900", "239.255.255.250:1900");
        let facts = dissect(&flow, Direction::ClientToServer, SONOS_NOTIFY);
        assert_eq!(
            facts,
            pairs(&[
                (
                    Attribute::Software,
                    "Linux UPnP/1.0 Sonos/70.3-35220 (ZPS12)"
                ),
                (Attribute::ClientId, "uuid:RINCON_5CAAFD12345601400"),
                (
                    Attribute::Url,
                    "http://192.168.1.20:1400/xml/device_description.xml"
                ),
            ])
        );
        // The device type announcement of the same device adds its type.
        let typed = b"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nNT: urn:schemas-upnp-org:device:ZonePlayer:1\r\nNTS: ssdp:alive\r\nUSN: uuid:RINCON_5CAAFD12345601400::urn:schemas-upnp-org:device:ZonePlayer:1\r\n\r\n";
        assert_eq!(
            dissect(&flow, Direction::ClientToServer, typed),
            pairs(&[
                (
                    Attribute::Service,
                    "urn:schemas-upnp-org:device:ZonePlayer:1"
                ),
                (Attribute::ClientId, "uuid:RINCON_5CAAFD12345601400"),
            ])
        );
    }

    #[test]
    fn byebye_still_names_the_device() {
        let flow = flow(Transport::Udp, "[fe80::1]:1900", "[ff02::c]:1900");
        let byebye = b"NOTIFY * HTTP/1.1\r\nHost: [FF02::C]:1900\r\nNT: urn:schemas-upnp-org:service:ContentDirectory:1\r\nNTS: ssdp:byebye\r\nUSN: uuid:4d696e69-444c-164e-9d41-b827eb5c0e2a::urn:schemas-upnp-org:service:ContentDirectory:1\r\n\r\n";
        assert_eq!(
            dissect(&flow, Direction::ClientToServer, byebye),
            pairs(&[
                (
                    Attribute::Service,
                    "urn:schemas-upnp-org:service:ContentDirectory:1"
                ),
                (
                    Attribute::ClientId,
                    "uuid:4d696e69-444c-164e-9d41-b827eb5c0e2a"
                ),
            ])
        );
    }

    #[test]
    fn search_response_describes_the_responder() {
        // A home router answering an IGD search, unicast from port 1900 to the searcher.
        let response = b"HTTP/1.1 200 OK\r\n\
CACHE-CONTROL: max-age=120\r\n\
DATE: Tue, 05 Mar 2024 10:12:44 GMT\r\n\
ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\
USN: uuid:824ff22b-8c7d-41c5-a131-44f534e12e3a::urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\
EXT:\r\n\
SERVER: AsusWRT/386 UPnP/1.1 MiniUPnPd/2.3.0\r\n\
LOCATION: http://192.168.1.1:50561/rootDesc.xml\r\n\
OPT: \"http://schemas.upnp.org/upnp/1/0/\"; ns=01\r\n\
01-NLS: 1709633564\r\n\
BOOTID.UPNP.ORG: 1709633564\r\n\
CONFIGID.UPNP.ORG: 1337\r\n\
\r\n";
        let flow = flow(Transport::Udp, "192.168.1.1:1900", "192.168.1.50:53211");
        assert_eq!(
            dissect(&flow, Direction::ClientToServer, response),
            pairs(&[
                (Attribute::Software, "AsusWRT/386 UPnP/1.1 MiniUPnPd/2.3.0"),
                (
                    Attribute::Service,
                    "urn:schemas-upnp-org:device:InternetGatewayDevice:1"
                ),
                (
                    Attribute::ClientId,
                    "uuid:824ff22b-8c7d-41c5-a131-44f534e12e3a"
                ),
                (Attribute::Url, "http://192.168.1.1:50561/rootDesc.xml"),
            ])
        );
    }

    #[test]
    fn search_request_describes_the_control_point() {
        let chrome = b"M-SEARCH * HTTP/1.1\r\n\
HOST: 239.255.255.250:1900\r\n\
MAN: \"ssdp:discover\"\r\n\
MX: 1\r\n\
ST: urn:dial-multiscreen-org:service:dial:1\r\n\
USER-AGENT: Google Chrome/120.0.6099.130 Windows\r\n\
\r\n";
        let flow = flow(Transport::Udp, "192.168.1.50:53211", "239.255.255.250:1900");
        // The searched-for type is not the searcher's service.
        assert_eq!(
            dissect(&flow, Direction::ClientToServer, chrome),
            pairs(&[(Attribute::UserAgent, "Google Chrome/120.0.6099.130 Windows")])
        );
        // The search of the shared capture zeek_home-multicast-short.pcap: nothing to say.
        let plain = b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: urn:dial-multiscreen-org:service:dial:1\r\n\r\n";
        assert!(dissect(&flow, Direction::ClientToServer, plain).is_empty());
    }

    #[test]
    fn unterminated_heads_are_read() {
        let flow = flow(Transport::Udp, "10.0.0.7:1900", "239.255.255.250:1900");
        for datagram in [
            &b"NOTIFY * HTTP/1.1\r\nSERVER: Roku/9.4.0 UPnP/1.0 Roku/9.4.0\r\n"[..],
            b"NOTIFY * HTTP/1.1\r\nSERVER: Roku/9.4.0 UPnP/1.0 Roku/9.4.0",
        ] {
            assert_eq!(
                dissect(&flow, Direction::ClientToServer, datagram),
                pairs(&[(Attribute::Software, "Roku/9.4.0 UPnP/1.0 Roku/9.4.0")])
            );
        }
    }

    #[test]
    fn targets_and_usns() {
        assert!(is_device_or_service_type(
            b"urn:schemas-upnp-org:device:MediaRenderer:1"
        ));
        assert!(is_device_or_service_type(
            b"urn:dial-multiscreen-org:service:dial:1"
        ));
        assert!(!is_device_or_service_type(b"upnp:rootdevice"));
        assert!(!is_device_or_service_type(b"uuid:abc"));
        assert!(!is_device_or_service_type(b"ssdp:all"));
        assert_eq!(
            usn_uuid(b"uuid:abc::upnp:rootdevice"),
            Some(&b"uuid:abc"[..])
        );
        assert_eq!(usn_uuid(b"uuid:abc"), Some(&b"uuid:abc"[..]));
        assert_eq!(usn_uuid(b"uuid:::x"), None);
        assert_eq!(usn_uuid(b"urn:x"), None);
    }

    #[test]
    fn factory_is_strict() {
        let notify = SONOS_NOTIFY;
        let udp = flow(Transport::Udp, "192.168.1.20:1900", "239.255.255.250:1900");
        assert!(SsdpFactory
            .select(&udp, Direction::ClientToServer, notify)
            .is_some());
        // Not on other ports, not over TCP (descriptions served over HTTP on port 1900).
        let other = flow(Transport::Udp, "192.168.1.20:5000", "192.168.1.1:5001");
        assert!(SsdpFactory
            .select(&other, Direction::ClientToServer, notify)
            .is_none());
        let tcp = flow(Transport::Tcp, "192.168.1.5:40000", "192.168.1.1:1900");
        let http = b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n\r\n";
        assert!(SsdpFactory
            .select(&tcp, Direction::ServerToClient, http)
            .is_none());
        // The group on another port is still SSDP; other content on port 1900 is not.
        let group = flow(Transport::Udp, "192.168.1.20:40000", "239.255.255.250:1901");
        assert!(SsdpFactory
            .select(&group, Direction::ClientToServer, notify)
            .is_some());
        assert!(SsdpFactory
            .select(&udp, Direction::ClientToServer, b"\x01\x02garbage")
            .is_none());
        assert!(is_ssdp_group("ff05::c".parse().unwrap()));
        assert!(!is_ssdp_group("ff02::fb".parse().unwrap()));
    }

    #[test]
    fn errors_name_what_was_wrong() {
        let result = |datagram: &[u8]| parse(datagram, |m| m.map(|m| m.kind));
        assert_eq!(
            result(b"GET / HTTP/1.1\r\n\r\n"),
            Err(SsdpError::UnknownStartLine)
        );
        assert_eq!(
            result(b"NOTIFY * RTSP/1.0\r\n\r\n"),
            Err(SsdpError::UnknownStartLine)
        );
        assert_eq!(
            result(b"HTTP/1.1 2x0 OK\r\n\r\n"),
            Err(SsdpError::BadStatus)
        );
        assert_eq!(
            result(b"\x00\r\n\r\n"),
            Err(SsdpError::Head(HeadError::NotText))
        );
        assert_eq!(
            result(b"HTTP/1.1 404 Not Found\r\n\r\n"),
            Ok(Kind::Response { status: 404 })
        );
        let long = vec![b'a'; 5000];
        assert_eq!(result(&long), Err(SsdpError::Head(HeadError::Incomplete)));
        // A non-200 answer says nothing.
        let mut out = Observations::default();
        parse(b"HTTP/1.1 500 Error\r\nSERVER: x\r\n\r\n", |m| {
            report(
                &m.unwrap(),
                DeviceKey::Ip("10.0.0.1".parse().unwrap()),
                Timestamp(0),
                &mut out,
            )
        });
        assert!(out.is_empty());
    }
}
