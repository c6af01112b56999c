//! Internet Printing Protocol (RFC 8010, 8011): HTTP POSTs with `Content-Type:
//! application/ipp` on TCP 631. The HTTP layer is the HTTP dissector's stream machinery (so
//! `User-Agent`, `Server` and the other HTTP facts come with it); the IPP message after each
//! response head is read here: version, status, and the attribute groups, each attribute's
//! lengths checked against the input.
//!
//! Facts come from printers' responses (Get-Printer-Attributes, mostly): make and model, the
//! IEEE 1284 device id (manufacturer and model), firmware version, info and location, name and
//! UUID.

use ironward_model::{Attribute as FactAttribute, DeviceKey, Source};

use crate::dissector::{Dissector, DissectorFactory, DissectorRegistry};
use crate::http::{self, HttpFacts, HttpHooks, HttpStream, Message as HttpMessage, StartLine};
use crate::observations::Observations;
use crate::session::{Direction, FlowMeta, StreamChunk, Transport};
use crate::text;

/// The IPP port.
pub const PORT: u16 = 631;

/// Most bytes of an IPP response read (Get-Printer-Attributes answers run to tens of KiB; the
/// attributes that identify a printer come early).
pub const MAX_MESSAGE: usize = 64 * 1024;

/// Delimiter tag ending the attribute groups.
pub const END_OF_ATTRIBUTES: u8 = 0x03;
/// Delimiter tag of the printer attributes group.
pub const PRINTER_ATTRIBUTES: u8 = 0x04;
/// Value tag opening a collection.
pub const BEG_COLLECTION: u8 = 0x34;
/// Value tag closing a collection.
pub const END_COLLECTION: u8 = 0x37;
/// Value tag of text with a language.
pub const TEXT_WITH_LANGUAGE: u8 = 0x35;
/// Value tag of a name with a language.
pub const NAME_WITH_LANGUAGE: u8 = 0x36;

/// Why an IPP message could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IppError {
    /// The input ends inside `field`, which starts at `offset`.
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Where it starts.
        offset: usize,
    },
    /// The version's major number is neither 1 nor 2.
    BadVersion {
        /// The major version.
        major: u8,
    },
    /// An attribute comes before any group delimiter.
    NoGroup {
        /// Where the attribute starts.
        offset: usize,
    },
}

impl std::fmt::Display for IppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Truncated { field, offset } => write!(f, "truncated {field} at offset {offset}"),
            Self::BadVersion { major } => write!(f, "IPP major version {major}"),
            Self::NoGroup { offset } => write!(f, "attribute outside a group at offset {offset}"),
        }
    }
}

impl std::error::Error for IppError {}

/// An IPP request or response: the fixed header, and its attributes through
/// [`attributes`](Self::attributes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    /// Version (major, minor): 1.0, 1.1, 2.0, ...
    pub version: (u8, u8),
    /// Operation id (requests) or status code (responses).
    pub code: u16,
    /// Request id.
    pub request_id: u32,
    input: &'a [u8],
}

/// Reads an IPP message's header.
pub fn parse_message(input: &[u8]) -> Result<Message<'_>, IppError> {
    let header = input.get(..8).ok_or(IppError::Truncated {
        field: "header",
        offset: 0,
    })?;
    let major = header[0];
    if !(1..=2).contains(&major) {
        return Err(IppError::BadVersion { major });
    }
    Ok(Message {
        version: (major, header[1]),
        code: u16::from_be_bytes([header[2], header[3]]),
        request_id: u32::from_be_bytes([header[4], header[5], header[6], header[7]]),
        input,
    })
}

impl<'a> Message<'a> {
    /// The attributes, in order, until the end-of-attributes tag, the end of the input or the
    /// first error (which is the last item).
    pub fn attributes(&self) -> Attributes<'a> {
        Attributes {
            input: self.input,
            pos: 8,
            group: None,
            done: false,
        }
    }
}

/// One attribute value as encoded: a name (empty for the further values of a multi-valued
/// attribute and inside collections), a value tag and the value bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribute<'a> {
    /// The group delimiter tag the attribute belongs to (operation 0x01, printer 0x04, ...).
    pub group: u8,
    /// The value tag (0x41 text, 0x42 name, 0x44 keyword, 0x45 uri, ...).
    pub tag: u8,
    /// The attribute's name, empty for additional values.
    pub name: &'a [u8],
    /// The value's bytes.
    pub value: &'a [u8],
    /// Where the attribute starts in the message.
    pub offset: usize,
}

impl<'a> Attribute<'a> {
    /// The value as text: text and names with a language give their text part.
    pub fn text(&self) -> &'a [u8] {
        if self.tag != TEXT_WITH_LANGUAGE && self.tag != NAME_WITH_LANGUAGE {
            return self.value;
        }
        let language_len = match self.value {
            [a, b, ..] => usize::from(u16::from_be_bytes([*a, *b])),
            _ => return &[],
        };
        let rest = self.value.get(2 + language_len..).unwrap_or_default();
        match rest {
            [a, b, text @ ..] => {
                let len = usize::from(u16::from_be_bytes([*a, *b]));
                text.get(..len).unwrap_or(text)
            }
            _ => &[],
        }
    }
}

/// The attributes of a [`Message`].
#[derive(Debug, Clone)]
pub struct Attributes<'a> {
    input: &'a [u8],
    pos: usize,
    group: Option<u8>,
    done: bool,
}

impl<'a> Attributes<'a> {
    fn read_u16(&self, at: usize, field: &'static str) -> Result<usize, IppError> {
        match self.input.get(at..at + 2) {
            Some([a, b]) => Ok(usize::from(u16::from_be_bytes([*a, *b]))),
            _ => Err(IppError::Truncated { field, offset: at }),
        }
    }

    fn next_attribute(&mut self) -> Result<Option<Attribute<'a>>, IppError> {
        // Every turn moves `pos` forward by at least one byte.
        loop {
            let start = self.pos;
            let Some(&tag) = self.input.get(start) else {
                return Ok(None);
            };
            if tag < 0x10 {
                self.pos += 1;
                if tag == END_OF_ATTRIBUTES {
                    return Ok(None);
                }
                self.group = Some(tag);
                continue;
            }
            let group = self.group.ok_or(IppError::NoGroup { offset: start })?;
            let name_len = self.read_u16(start + 1, "name length")?;
            let name_start = start + 3;
            let name =
                self.input
                    .get(name_start..name_start + name_len)
                    .ok_or(IppError::Truncated {
                        field: "name",
                        offset: name_start,
                    })?;
            let value_len = self.read_u16(name_start + name_len, "value length")?;
            let value_start = name_start + name_len + 2;
            let value = self.input.get(value_start..value_start + value_len).ok_or(
                IppError::Truncated {
                    field: "value",
                    offset: value_start,
                },
            )?;
            self.pos = value_start + value_len;
            return Ok(Some(Attribute {
                group,
                tag,
                name,
                value,
                offset: start,
            }));
        }
    }
}

impl<'a> Iterator for Attributes<'a> {
    type Item = Result<Attribute<'a>, IppError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.next_attribute().transpose();
        if !matches!(item, Some(Ok(_))) {
            self.done = true;
        }
        item
    }
}

/// The value of `key` in an IEEE 1284 device id (`MFG:HP;MDL:LaserJet M507;CMD:PJL,PCL;`),
/// keys compared without case.
pub fn device_id_field<'a>(device_id: &'a [u8], keys: &[&str]) -> Option<&'a [u8]> {
    device_id.split(|&b| b == b';').find_map(|field| {
        let colon = field.iter().position(|&b| b == b':')?;
        let key = text::trim(&field[..colon]);
        keys.iter()
            .any(|k| key.eq_ignore_ascii_case(k.as_bytes()))
            .then(|| text::trim(&field[colon + 1..]))
    })
}

/// Reports what a printer's response says about it: the first value of each identifying
/// printer attribute outside collections.
pub fn response_facts(
    message: &Message<'_>,
    printer: DeviceKey,
    flow: &FlowMeta,
    out: &mut Observations,
) {
    let mut current: &[u8] = &[];
    let mut depth = 0usize;
    for attribute in message.attributes() {
        let Ok(attribute) = attribute else {
            break; // What was read before the error still counts.
        };
        let first_value = !attribute.name.is_empty();
        if depth == 0 && first_value {
            current = attribute.name;
        }
        match attribute.tag {
            BEG_COLLECTION => {
                depth = depth.saturating_add(1);
                continue;
            }
            END_COLLECTION => {
                depth = depth.saturating_sub(1);
                continue;
            }
            _ => {}
        }
        if depth > 0 || !first_value || attribute.group != PRINTER_ATTRIBUTES {
            continue;
        }
        let value = attribute.text();
        let fact = |out: &mut Observations, what: FactAttribute, value: &[u8]| {
            out.fact_bytes(printer, what, value, Source::Ipp, flow.now);
        };
        match current {
            b"printer-make-and-model" => fact(out, FactAttribute::Model, value),
            b"printer-device-id" => {
                if let Some(vendor) = device_id_field(value, &["MFG", "MANUFACTURER"]) {
                    fact(out, FactAttribute::Vendor, vendor);
                }
                if let Some(model) = device_id_field(value, &["MDL", "MODEL"]) {
                    fact(out, FactAttribute::Model, model);
                }
            }
            b"printer-firmware-string-version" => fact(out, FactAttribute::Firmware, value),
            b"printer-info" => fact(out, FactAttribute::Description, value),
            b"printer-location" => fact(out, FactAttribute::Location, value),
            b"printer-name" => fact(out, FactAttribute::Hostname, value),
            b"printer-uuid" => fact(out, FactAttribute::ClientId, value),
            _ => {}
        }
    }
}

/// HTTP facts, plus the IPP message of each `application/ipp` response.
#[derive(Debug, Default)]
struct IppHooks {
    http: HttpFacts,
    /// Whether each direction's captured body is an IPP response.
    ipp: [bool; 2],
}

fn is_ipp(message: &HttpMessage<'_>) -> bool {
    message
        .head
        .header("content-type")
        .is_some_and(|value| text::starts_with_ignore_case(value, b"application/ipp"))
}

impl HttpHooks for IppHooks {
    fn on_head(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        message: &HttpMessage<'_>,
        out: &mut Observations,
    ) -> usize {
        let want = self.http.on_head(flow, direction, message, out);
        let response = matches!(message.start, StartLine::Response { .. });
        // Requests carry the client's operation attributes (and user names): not read.
        self.ipp[direction.index()] = response && is_ipp(message);
        if self.ipp[direction.index()] {
            MAX_MESSAGE
        } else {
            want
        }
    }

    fn on_body(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        body: &[u8],
        out: &mut Observations,
    ) {
        if std::mem::take(&mut self.ipp[direction.index()]) {
            if let Ok(message) = parse_message(body) {
                response_facts(&message, flow.sender(direction), flow, out);
            }
        } else {
            self.http.on_body(flow, direction, body, out);
        }
    }
}

/// The IPP dissector of one flow.
#[derive(Debug, Default)]
pub struct IppDissector {
    stream: HttpStream,
    hooks: IppHooks,
}

impl Dissector for IppDissector {
    fn protocol(&self) -> &'static str {
        "ipp"
    }

    fn on_stream(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        chunk: StreamChunk<'_>,
        out: &mut Observations,
    ) {
        self.stream
            .on_stream(&mut self.hooks, flow, direction, chunk, out);
    }

    fn on_end(&mut self, flow: &FlowMeta, out: &mut Observations) {
        self.stream.on_end(&mut self.hooks, flow, out);
    }
}

/// Whether a first payload is an HTTP POST carrying IPP (the content type within its head).
pub fn looks_like_ipp(payload: &[u8]) -> bool {
    let head = &payload[..payload.len().min(http::MAX_HEAD)];
    let head = match text::find(head, b"\r\n\r\n") {
        Some(end) => &head[..end],
        None => head,
    };
    payload.starts_with(b"POST ")
        && http::looks_like_http(payload)
        && text::find_ignore_case(head, b"application/ipp").is_some()
}

/// Takes TCP flows to port 631 and HTTP POSTs of `application/ipp` on any port.
#[derive(Debug, Default)]
pub struct IppFactory;

impl DissectorFactory for IppFactory {
    fn protocol(&self) -> &'static str {
        "ipp"
    }

    fn select(
        &self,
        flow: &FlowMeta,
        _direction: Direction,
        first_payload: &[u8],
    ) -> Option<Box<dyn Dissector>> {
        if flow.transport != Transport::Tcp {
            return None;
        }
        (flow.server.port() == PORT || looks_like_ipp(first_payload))
            .then(|| Box::new(IppDissector::default()) as Box<dyn Dissector>)
    }
}

/// Adds this module's dissectors to `registry`.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register(Box::new(IppFactory));
}

#[cfg(test)]
mod tests {
    use super::*;
    use ironward_model::{Fact, Timestamp};

    /// Encodes one attribute value (RFC 8010 section 3.1.4).
    fn attribute(out: &mut Vec<u8>, tag: u8, name: &str, value: &[u8]) {
        out.push(tag);
        out.extend_from_slice(&(name.len() as u16).to_be_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&(value.len() as u16).to_be_bytes());
        out.extend_from_slice(value);
    }

    /// A Get-Printer-Attributes response as an HP LaserJet sends it (RFC 8011 section 4.2.5.2),
    /// built field by field.
    fn printer_response() -> Vec<u8> {
        let mut m = vec![0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01];
        m.push(0x01); // operation-attributes-tag
        attribute(&mut m, 0x47, "attributes-charset", b"utf-8");
        attribute(&mut m, 0x48, "attributes-natural-language", b"en");
        m.push(PRINTER_ATTRIBUTES);
        attribute(&mut m, 0x41, "printer-make-and-model", b"HP LaserJet M507");
        attribute(
            &mut m,
            0x41,
            "printer-device-id",
            b"MFG:HP;MDL:HP LaserJet M507;CMD:PJL,PCL,POSTSCRIPT,PDF;CLS:PRINTER;",
        );
        // A collection whose members must not be taken for printer attributes.
        attribute(&mut m, BEG_COLLECTION, "printer-icc-profiles", b"");
        attribute(&mut m, 0x4a, "", b"printer-name");
        attribute(&mut m, 0x42, "", b"not the printer name");
        attribute(&mut m, END_COLLECTION, "", b"");
        attribute(
            &mut m,
            0x41,
            "printer-firmware-string-version",
            b"2409048_052549",
        );
        attribute(&mut m, 0x41, "", b"second value ignored");
        // printer-info as textWithLanguage: language "en", then the text.
        let mut info = vec![0, 2, b'e', b'n', 0, 12];
        info.extend_from_slice(b"Floor 2 copy");
        attribute(&mut m, TEXT_WITH_LANGUAGE, "printer-info", &info);
        attribute(&mut m, 0x41, "printer-location", b"Building A");
        attribute(&mut m, 0x42, "printer-name", b"NPI3C1B2A");
        attribute(
            &mut m,
            0x45,
            "printer-uuid",
            b"urn:uuid:564e4333-4c30-3538-3332-a0b3cc3c1b2a",
        );
        m.push(END_OF_ATTRIBUTES);
        m
    }

    fn flow() -> FlowMeta {
        FlowMeta {
            id: 1,
            transport: Transport::Tcp,
            client: ([10, 0, 0, 1], 50000).into(),
            server: ([10, 0, 0, 9], PORT).into(),
            now: Timestamp(1),
            frame: 1,
        }
    }

    fn run(chunks: &[(Direction, StreamChunk<'_>)]) -> Vec<Fact> {
        let flow = flow();
        let mut dissector = IppDissector::default();
        let mut out = Observations::default();
        for (direction, chunk) in chunks {
            dissector.on_stream(&flow, *direction, *chunk, &mut out);
        }
        dissector.on_end(&flow, &mut out);
        out.drain_facts().collect()
    }

    fn pairs(facts: &[Fact]) -> Vec<(FactAttribute, String)> {
        facts
            .iter()
            .map(|f| (f.attribute, f.value.to_string()))
            .collect()
    }

    #[test]
    fn attributes_are_read_with_their_groups() {
        let bytes = printer_response();
        let message = parse_message(&bytes).unwrap();
        assert_eq!(message.version, (2, 0));
        assert_eq!(message.code, 0);
        assert_eq!(message.request_id, 1);
        let attributes: Vec<_> = message.attributes().map(Result::unwrap).collect();
        assert_eq!(attributes.len(), 14);
        assert_eq!(attributes[0].group, 0x01);
        assert_eq!(attributes[0].name, b"attributes-charset");
        assert_eq!(attributes[2].group, PRINTER_ATTRIBUTES);
        assert_eq!(attributes[10].text(), b"Floor 2 copy");
        assert_eq!(
            parse_message(&[0x01, 0x01, 0, 0]),
            Err(IppError::Truncated {
                field: "header",
                offset: 0
            })
        );
        assert_eq!(
            parse_message(b"GET / HT"),
            Err(IppError::BadVersion { major: b'G' })
        );
        // Truncated anywhere: the attributes before the cut, then one error, then nothing.
        for cut in 8..bytes.len() - 1 {
            let message = parse_message(&bytes[..cut]).unwrap();
            let items: Vec<_> = message.attributes().collect();
            assert!(items.iter().filter(|i| i.is_err()).count() <= 1);
            assert!(items.iter().rev().skip(1).all(Result::is_ok));
        }
        let orphan = [1, 1, 0, 2, 0, 0, 0, 1, 0x41, 0, 1, b'a', 0, 0];
        let items: Vec<_> = parse_message(&orphan).unwrap().attributes().collect();
        assert_eq!(items, [Err(IppError::NoGroup { offset: 8 })]);
    }

    #[test]
    fn device_ids_give_vendor_and_model() {
        let id = b"MANUFACTURER:Brother;COMMAND SET:PJL,PCL;MODEL: HL-L2350DW series ;";
        assert_eq!(
            device_id_field(id, &["MFG", "MANUFACTURER"]),
            Some(&b"Brother"[..])
        );
        assert_eq!(
            device_id_field(id, &["MDL", "MODEL"]),
            Some(&b"HL-L2350DW series"[..])
        );
        assert_eq!(device_id_field(id, &["SN"]), None);
    }

    #[test]
    fn printer_responses_over_http_give_identity() {
        let request = b"POST /ipp/print HTTP/1.1\r\nContent-Type: application/ipp\r\n\
Host: npi3c1b2a.local:631\r\nUser-Agent: CUPS/2.4.2 (Linux 6.1.0; x86_64) IPP/2.0\r\n\
Transfer-Encoding: chunked\r\n\r\n9\r\n\x02\x00\x00\x0b\x00\x00\x00\x01\x03\r\n0\r\n\r\n";
        let body = printer_response();
        let mut response = format!(
            "HTTP/1.1 200 OK\r\nServer: HP HTTP Server; HP LaserJet M507 - 1PV87A\r\n\
Content-Type: application/ipp\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        response.extend_from_slice(&body);
        let mut chunks = vec![(Direction::ClientToServer, StreamChunk::Data(&request[..]))];
        chunks.extend(
            response
                .chunks(100)
                .map(|c| (Direction::ServerToClient, StreamChunk::Data(c))),
        );
        let facts = run(&chunks);
        let printer = DeviceKey::Ip([10, 0, 0, 9].into());
        assert!(facts
            .iter()
            .filter(|f| f.source == Source::Ipp)
            .all(|f| f.subject == printer));
        assert_eq!(
            pairs(&facts),
            [
                (FactAttribute::Hostname, "npi3c1b2a.local".to_owned()),
                (
                    FactAttribute::UserAgent,
                    "CUPS/2.4.2 (Linux 6.1.0; x86_64) IPP/2.0".to_owned()
                ),
                (
                    FactAttribute::Software,
                    "HP HTTP Server; HP LaserJet M507 - 1PV87A".to_owned()
                ),
                (FactAttribute::Model, "HP LaserJet M507".to_owned()),
                (FactAttribute::Vendor, "HP".to_owned()),
                (FactAttribute::Firmware, "2409048_052549".to_owned()),
                (FactAttribute::Description, "Floor 2 copy".to_owned()),
                (FactAttribute::Location, "Building A".to_owned()),
                (FactAttribute::Hostname, "NPI3C1B2A".to_owned()),
                (
                    FactAttribute::ClientId,
                    "urn:uuid:564e4333-4c30-3538-3332-a0b3cc3c1b2a".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn flows_are_selected_by_port_or_ipp_post() {
        let post = b"POST /printers/x HTTP/1.1\r\nContent-Type: application/ipp\r\n\r\n";
        let mut flow = flow();
        assert!(IppFactory
            .select(&flow, Direction::ClientToServer, b"x")
            .is_some());
        flow.server.set_port(8631);
        assert!(IppFactory
            .select(&flow, Direction::ClientToServer, post)
            .is_some());
        assert!(IppFactory
            .select(&flow, Direction::ClientToServer, b"POST / HTTP/1.1\r\n\r\n")
            .is_none());
        assert!(!looks_like_ipp(
            b"POST / HTTP/1.1\r\nContent-Type: text/plain\r\n\r\napplication/ipp"
        ));
    }
}
