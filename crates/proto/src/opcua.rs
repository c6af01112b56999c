//! OPC UA binary (UA TCP, IEC 62541-6) over TCP: the transport handshake, secure channels,
//! sessions and the services that read, write and call.
//!
//! Recognised on TCP port 4840 and, on any port, by a message header at the start of the
//! stream (`HEL`/`ACK`/`OPN`/`MSG`/`CLO`/`ERR`/`RHE`, chunk type `F`/`C`/`A`, a sane length).
//! Messages are read whole up to [`MAX_MESSAGE`] bytes through [`crate::framing`] (several per
//! segment, split across segments); larger ones are skipped by length. Of a multi-chunk
//! message only the first chunk is decoded (it holds the service type and header).
//!
//! Read: Hello (endpoint URL), Error, OpenSecureChannel (security policy URI, certificate
//! presence and, when the channel is unencrypted, the request's security mode), and, on
//! channels whose policy is `None` (or not seen), the service bodies: GetEndpoints,
//! FindServers, CreateSession, ActivateSession, Read, Write, Call, Browse, subscriptions and
//! monitored items, node management, CloseSession, and every response's ServiceResult.
//! Encrypted channels: only the unencrypted OPN headers (policy URI, certificates present) are
//! read; message bodies are not.
//!
//! Facts. Server: hearsay Url from the client's Hello endpoint URL; Service `opcua <policy>`
//! (`opcua None`, `opcua Basic256Sha256`) from OpenSecureChannel, and `opcua <policy> <mode>`
//! for each endpoint it offers (GetEndpoints and CreateSession answers, mode omitted when
//! None); Url for each endpoint URL; from its ApplicationDescription, application name →
//! Software (the server application, e.g. `open62541-based OPC UA Application`), application
//! URI → Description (an identifier, not a locator) and product URI → ProductCode (it names the
//! product, `http://open62541.org`). Client (CreateSession's client description): application
//! name → UserAgent, application URI → Description, product URI → ProductCode. Findings:
//! `opcua_security_none` on server and client when a channel is opened with policy `None`
//! (mode None), `opcua_anonymous_session` on the server when an ActivateSession with an
//! anonymous identity token succeeds.
//!
//! Events (direction of the request): `hello`, `open_secure_channel` (policy, mode,
//! certificate), every service by its snake_case name with its category — GetEndpoints and
//! FindServers → Discovery, ActivateSession → Authentication (detail `anonymous`, `user name`,
//! `certificate`, `issued token`; user names and passwords are never read), Read → Read
//! (`3 nodes`), Write → Write (node ids and first values, bounded), Call → ControlCommand
//! (method and object ids), Browse → Diagnostics, CreateMonitoredItems and Publish → Read,
//! node management → ConfigurationChange, session and subscription housekeeping → Other;
//! ServiceFault and bad ServiceResults → `error_response` with the status code; ERR →
//! `error_response`.
//!
//! Bounds: [`MAX_MESSAGE`] per buffered message, [`binary::MAX_DEPTH`] nesting,
//! [`binary::MAX_ARRAY`] array elements, [`MAX_ITEMS`] items per detail, [`MAX_PENDING`]
//! outstanding requests per flow.

pub mod binary;

use std::fmt::Write as _;

use ironward_model::{Attribute, EventCategory, Finding, Source};

use crate::framing::{self, Framed, Side};
use crate::value::ValueBuf;
use crate::{
    Direction, Dissector, DissectorFactory, DissectorRegistry, FlowMeta, Observations, StreamChunk,
    Transport,
};
use binary::{Cursor, NodeId};

/// OPC UA's registered TCP port.
pub const PORT: u16 = 4840;

/// Largest message chunk read whole (bigger ones are skipped by length).
pub const MAX_MESSAGE: usize = 64 * 1024;

/// Largest message size accepted as plausible in a header (UA's own limits are lower).
const MAX_DECLARED: u32 = 16 * 1024 * 1024;

/// Items (nodes, methods, endpoints) listed in one event detail.
pub const MAX_ITEMS: usize = 8;

/// Requests remembered per flow while waiting for their responses.
pub const MAX_PENDING: usize = 32;

/// Event detail buffer size.
const DETAIL: usize = 256;

/// Why an OPC UA message could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpcuaError {
    /// The input ends inside `field`, which starts at `offset`.
    Truncated {
        /// The field that is cut.
        field: &'static str,
        /// Where it starts.
        offset: usize,
    },
    /// An encoding byte or header value that cannot be, in `field` at `offset`.
    Invalid {
        /// The field.
        field: &'static str,
        /// Where it starts.
        offset: usize,
    },
    /// An array longer than [`binary::MAX_ARRAY`] or than the bytes left, at `offset`.
    TooLong {
        /// The array.
        field: &'static str,
        /// Where its length is.
        offset: usize,
    },
    /// Nesting deeper than [`binary::MAX_DEPTH`], at `offset`.
    TooDeep {
        /// Where the nested value starts.
        offset: usize,
    },
}

impl std::fmt::Display for OpcuaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Truncated { field, offset } => {
                write!(f, "OPC UA message truncated at {field} (offset {offset})")
            }
            Self::Invalid { field, offset } => {
                write!(f, "OPC UA invalid {field} at offset {offset}")
            }
            Self::TooLong { field, offset } => {
                write!(f, "OPC UA array {field} too long at offset {offset}")
            }
            Self::TooDeep { offset } => write!(f, "OPC UA nesting too deep at offset {offset}"),
        }
    }
}

impl std::error::Error for OpcuaError {}

/// A UA TCP message header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Message type: `HEL`, `ACK`, `ERR`, `RHE`, `OPN`, `MSG`, `CLO`.
    pub kind: [u8; 3],
    /// Chunk type: `F` (final), `C` (intermediate), `A` (abort).
    pub chunk: u8,
    /// Size of the whole chunk, header included.
    pub size: u32,
}

impl Header {
    /// Reads the 8-byte header.
    pub fn parse(input: &[u8]) -> Result<Self, OpcuaError> {
        let [a, b, c, chunk, s0, s1, s2, s3, ..] = *input else {
            return Err(OpcuaError::Truncated {
                field: "message header",
                offset: 0,
            });
        };
        let kind = [a, b, c];
        let known = matches!(
            &kind,
            b"HEL" | b"ACK" | b"ERR" | b"RHE" | b"OPN" | b"MSG" | b"CLO"
        );
        let size = u32::from_le_bytes([s0, s1, s2, s3]);
        if !known || !matches!(chunk, b'F' | b'C' | b'A') || !(8..=MAX_DECLARED).contains(&size) {
            return Err(OpcuaError::Invalid {
                field: "message header",
                offset: 0,
            });
        }
        Ok(Self { kind, chunk, size })
    }
}

/// Whether `payload` starts with a plausible UA TCP message header.
pub fn looks_like_opcua(payload: &[u8]) -> bool {
    Header::parse(payload).is_ok_and(|h| h.chunk == b'F' || &h.kind == b"MSG")
}

/// Service types (DefaultBinary encoding ids, namespace 0): name, category, whether a
/// request. Responses share the request's name.
fn service(type_id: u32) -> Option<(&'static str, EventCategory, bool)> {
    use EventCategory::*;
    let (name, category) = match type_id {
        397 => ("service_fault", Other),
        422 | 425 => ("find_servers", Discovery),
        428 | 431 => ("get_endpoints", Discovery),
        437 | 440 => ("register_server", ConfigurationChange),
        446 | 449 => ("open_secure_channel", Other),
        452 | 455 => ("close_secure_channel", Other),
        461 | 464 => ("create_session", Other),
        467 | 470 => ("activate_session", Authentication),
        473 | 476 => ("close_session", Other),
        479 | 482 => ("cancel", Other),
        488 | 491 => ("add_nodes", ConfigurationChange),
        494 | 497 => ("add_references", ConfigurationChange),
        500 | 503 => ("delete_nodes", ConfigurationChange),
        506 | 509 => ("delete_references", ConfigurationChange),
        527 | 530 => ("browse", Diagnostics),
        533 | 536 => ("browse_next", Diagnostics),
        554 | 557 => ("translate_browse_paths_to_node_ids", Diagnostics),
        560 | 563 => ("register_nodes", Other),
        566 | 569 => ("unregister_nodes", Other),
        615 | 618 => ("query_first", Read),
        621 | 624 => ("query_next", Read),
        631 | 634 => ("read", Read),
        664 | 667 => ("history_read", Read),
        673 | 676 => ("write", Write),
        700 | 703 => ("history_update", Write),
        712 | 715 => ("call", ControlCommand),
        751 | 754 => ("create_monitored_items", Read),
        763 | 766 => ("modify_monitored_items", Other),
        769 | 772 => ("set_monitoring_mode", Other),
        775 | 778 => ("set_triggering", Other),
        781 | 784 => ("delete_monitored_items", Other),
        787 | 790 => ("create_subscription", Other),
        793 | 796 => ("modify_subscription", Other),
        799 | 802 => ("set_publishing_mode", Other),
        826 | 829 => ("publish", Read),
        832 | 835 => ("republish", Read),
        841 | 844 => ("transfer_subscriptions", Other),
        847 | 850 => ("delete_subscriptions", Other),
        12208 | 12209 => ("find_servers_on_network", Discovery),
        12211 | 12212 => ("register_server2", ConfigurationChange),
        _ => return None,
    };
    // Request encodings are the lower id of each pair (and 12208/12211).
    let request = matches!(
        type_id,
        422 | 428
            | 437
            | 446
            | 452
            | 461
            | 467
            | 473
            | 479
            | 488
            | 494
            | 500
            | 506
            | 527
            | 533
            | 554
            | 560
            | 566
            | 615
            | 621
            | 631
            | 664
            | 673
            | 700
            | 712
            | 751
            | 763
            | 769
            | 775
            | 781
            | 787
            | 793
            | 799
            | 826
            | 832
            | 841
            | 847
            | 12208
            | 12211
    );
    Some((name, category, request))
}

/// The operation name and category of a service type id (for tests and peers).
pub fn service_operation(type_id: u32) -> Option<(&'static str, EventCategory)> {
    service(type_id).map(|(name, category, _)| (name, category))
}

/// The user identity token kind of an ExtensionObject type id.
fn identity_token(type_id: u32) -> &'static str {
    match type_id {
        319..=321 => "anonymous",
        322..=324 => "user name",
        325..=327 => "certificate",
        938..=940 => "issued token",
        _ => "unknown token",
    }
}

/// The short name of a security policy URI (`None`, `Basic256Sha256`).
pub fn policy_name(uri: &[u8]) -> &[u8] {
    uri.rsplit(|&b| b == b'#').next().unwrap_or(uri)
}

/// MessageSecurityMode names.
fn mode_name(mode: u32) -> &'static str {
    match mode {
        1 => "None",
        2 => "Sign",
        3 => "SignAndEncrypt",
        _ => "Invalid",
    }
}

/// Names of the status codes seen most in failed services.
fn status_name(code: u32) -> Option<&'static str> {
    Some(match code {
        0x8001_0000 => "BadUnexpectedError",
        0x8002_0000 => "BadInternalError",
        0x800A_0000 => "BadTimeout",
        0x800B_0000 => "BadServiceUnsupported",
        0x801F_0000 => "BadUserAccessDenied",
        0x8020_0000 => "BadIdentityTokenInvalid",
        0x8021_0000 => "BadIdentityTokenRejected",
        0x8025_0000 => "BadSessionIdInvalid",
        0x8026_0000 => "BadSessionClosed",
        0x8027_0000 => "BadSessionNotActivated",
        0x8033_0000 => "BadNodeIdInvalid",
        0x8034_0000 => "BadNodeIdUnknown",
        0x803B_0000 => "BadNotWritable",
        0x8074_0000 => "BadTypeMismatch",
        0x8075_0000 => "BadMethodInvalid",
        0x8079_0000 => "BadNoSubscription",
        _ => return None,
    })
}

/// `0x803b0000 BadNotWritable`.
fn push_status<const N: usize>(out: &mut ValueBuf<N>, code: u32) {
    let _ = write!(out, "0x{code:08x}");
    if let Some(name) = status_name(code) {
        let _ = write!(out, " {name}");
    }
}

/// Adds the OPC UA dissector to `registry`.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register(Box::new(OpcuaFactory));
}

/// Takes TCP flows to port 4840 and flows that open with a UA TCP message.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpcuaFactory;

impl DissectorFactory for OpcuaFactory {
    fn protocol(&self) -> &'static str {
        "opcua"
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
        (flow.server.port() == PORT || looks_like_opcua(first_payload))
            .then(|| Box::<OpcuaDissector>::default() as Box<dyn Dissector>)
    }
}

/// What the flow's secure channel is known to be.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Channel {
    /// No OpenSecureChannel seen: bodies are decoded when they look like services.
    #[default]
    Unknown,
    /// Policy None: bodies are clear.
    Clear,
    /// Another policy: bodies are signed or encrypted and not read.
    Secured,
}

/// Per-flow OPC UA state.
#[derive(Debug, Default)]
pub struct OpcuaDissector {
    sides: [Side; 2],
    channel: Channel,
    /// A multi-chunk message is being passed over, per direction.
    continuing: [bool; 2],
    /// Requests waiting for their response: (request id, request type id).
    pending: [Option<(u32, u32)>; MAX_PENDING],
    next_slot: usize,
    /// The request id of an ActivateSession with an anonymous token.
    anonymous: Option<u32>,
}

impl Framed for OpcuaDissector {
    fn sides(&mut self) -> &mut [Side; 2] {
        &mut self.sides
    }
}

impl OpcuaDissector {
    /// Reads the whole messages in `view`; returns the bytes used.
    fn messages(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        view: &[u8],
        out: &mut Observations,
    ) -> usize {
        let mut at = 0;
        while at < view.len() {
            let rest = &view[at..];
            let header = match Header::parse(rest) {
                Ok(h) => h,
                Err(OpcuaError::Truncated { .. }) => return at,
                Err(_) => {
                    // A stream taken by its port that never held a message is another
                    // protocol; one that did has lost its framing or gone bad.
                    if self.sides[direction.index()].messages > 0 {
                        report(flow, direction, out, "malformed", BadHeader(rest));
                    }
                    self.sides[direction.index()].done = true;
                    return view.len();
                }
            };
            if header.chunk != b'F' && &header.kind != b"MSG" {
                let what = format_args!(
                    "OPC UA {} chunk type {}, only MSG may be split or aborted",
                    std::str::from_utf8(&header.kind).unwrap_or("?"),
                    char::from(header.chunk)
                );
                report(flow, direction, out, "violation", what);
            }
            let size = header.size as usize;
            if size > MAX_MESSAGE {
                let side = &mut self.sides[direction.index()];
                side.messages += 1;
                // Too big to buffer: pass over it (a huge chunk is a bulk transfer).
                if rest.len() < size {
                    side.skip = size - rest.len();
                    return view.len();
                }
                at += size;
                continue;
            }
            let Some(message) = rest.get(..size) else {
                return at;
            };
            self.sides[direction.index()].messages += 1;
            at += size;
            if let Err(error) = self.on_message(flow, direction, &header, message, out) {
                report(flow, direction, out, "malformed", error);
            }
        }
        at
    }

    fn on_message(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        header: &Header,
        message: &[u8],
        out: &mut Observations,
    ) -> Result<(), OpcuaError> {
        let mut c = Cursor::new(message);
        c.skip(8, "message header")?;
        let (client, server, now) = (flow.client_device(), flow.server_device(), flow.now);
        match &header.kind {
            b"HEL" => {
                c.skip(20, "hello")?;
                let url = c.string("endpoint url")?.unwrap_or_default();
                if let Ok(text) = std::str::from_utf8(url) {
                    out.hearsay(server, Attribute::Url, text, Source::Opcua, now);
                }
                let mut detail = ValueBuf::<DETAIL>::new();
                detail.push_bytes(url);
                out.event(
                    flow,
                    direction,
                    "opcua",
                    EventCategory::Other,
                    "hello",
                    detail.as_str(),
                );
            }
            b"ERR" => {
                let code = c.u32("error")?;
                let mut detail = ValueBuf::<64>::new();
                push_status(&mut detail, code);
                out.event(
                    flow,
                    direction.reverse(),
                    "opcua",
                    EventCategory::Other,
                    "error_response",
                    detail.as_str(),
                );
            }
            b"OPN" => {
                c.skip(4, "secure channel id")?;
                let policy = c.string("security policy uri")?.unwrap_or_default();
                let certificate = c
                    .string("sender certificate")?
                    .is_some_and(|cert| !cert.is_empty());
                c.string("receiver thumbprint")?;
                let name = policy_name(policy);
                let none = name == b"None";
                self.channel = if none {
                    Channel::Clear
                } else {
                    Channel::Secured
                };
                let mut service = ValueBuf::<96>::new();
                service.push_bytes(b"opcua ");
                service.push_bytes(name);
                out.fact_bytes(
                    server,
                    Attribute::Service,
                    service.as_bytes(),
                    Source::Opcua,
                    now,
                );
                if direction == Direction::ServerToClient {
                    if none {
                        for device in [server, client] {
                            out.finding(device, Finding::OpcuaSecurityNone, Source::Opcua, now);
                        }
                    }
                    return Ok(());
                }
                // The request: its mode is readable only on an unencrypted channel.
                let mut mode = None;
                let mut renew = false;
                if none {
                    c.skip(8, "sequence header")?;
                    let type_id = c.node_id("type id")?;
                    if type_id.ns0() == Some(446) {
                        c.request_header()?;
                        c.skip(4, "client protocol version")?;
                        renew = c.u32("request type")? == 1;
                        mode = Some(c.u32("security mode")?);
                    }
                }
                let mut detail = ValueBuf::<DETAIL>::new();
                if renew {
                    detail.push_bytes(b"renew ");
                }
                detail.push_bytes(b"policy ");
                detail.push_bytes(name);
                if let Some(mode) = mode {
                    let _ = write!(detail, " mode {}", mode_name(mode));
                }
                if certificate {
                    detail.push_bytes(b", certificate");
                }
                out.event(
                    flow,
                    direction,
                    "opcua",
                    EventCategory::Other,
                    "open_secure_channel",
                    detail.as_str(),
                );
            }
            b"MSG" | b"CLO" => {
                let side = direction.index();
                let first_chunk = !self.continuing[side];
                self.continuing[side] = header.chunk == b'C';
                if !first_chunk || self.channel == Channel::Secured {
                    return Ok(());
                }
                c.skip(8, "security header")?;
                c.skip(4, "sequence number")?;
                let request_id = c.u32("request id")?;
                let type_id = c.node_id("type id")?;
                let Some(type_id) = type_id.ns0() else {
                    return Ok(());
                };
                let Some((name, category, request)) = service(type_id) else {
                    return Ok(());
                };
                if request && direction == Direction::ClientToServer {
                    self.remember(request_id, type_id);
                    self.request(
                        flow, direction, request_id, type_id, name, category, &mut c, out,
                    )?;
                } else if !request && direction == Direction::ServerToClient {
                    let asked = self.answered(request_id);
                    self.response(flow, type_id, asked, &mut c, out)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn remember(&mut self, request_id: u32, type_id: u32) {
        if let Some(slot) = self.pending.get_mut(self.next_slot) {
            *slot = Some((request_id, type_id));
        }
        self.next_slot = (self.next_slot + 1) % MAX_PENDING;
    }

    fn answered(&mut self, request_id: u32) -> Option<u32> {
        self.pending.iter_mut().find_map(|slot| {
            let (id, type_id) = (*slot)?;
            (id == request_id).then(|| {
                *slot = None;
                type_id
            })
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn request(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        request_id: u32,
        type_id: u32,
        name: &'static str,
        category: EventCategory,
        c: &mut Cursor<'_>,
        out: &mut Observations,
    ) -> Result<(), OpcuaError> {
        let mut detail = ValueBuf::<DETAIL>::new();
        // The event is recorded whatever the body holds; a cut body only shortens the detail.
        let parsed = (|| -> Result<(), OpcuaError> {
            c.request_header()?;
            match type_id {
                // GetEndpoints, FindServers: the endpoint URL asked about.
                428 | 422 => detail.push_bytes(c.string("endpoint url")?.unwrap_or_default()),
                // CreateSession: the client describes itself.
                461 => {
                    let app = application_description(c)?;
                    let (client, now) = (flow.client_device(), flow.now);
                    out.fact_bytes(client, Attribute::UserAgent, app.name, Source::Opcua, now);
                    out.fact_bytes(client, Attribute::Description, app.uri, Source::Opcua, now);
                    out.fact_bytes(
                        client,
                        Attribute::ProductCode,
                        app.product,
                        Source::Opcua,
                        now,
                    );
                    c.string("server uri")?;
                    detail.push_bytes(c.string("endpoint url")?.unwrap_or_default());
                }
                // ActivateSession: the kind of identity, never its content.
                467 => {
                    c.string("signature algorithm")?;
                    c.string("signature")?;
                    let n = c.array_len("client software certificates", 8)?;
                    for _ in 0..n {
                        c.string("certificate data")?;
                        c.string("signature")?;
                    }
                    let n = c.array_len("locale ids", 4)?;
                    for _ in 0..n {
                        c.string("locale id")?;
                    }
                    let (token, _) = c.extension_object("user identity token")?;
                    let kind = token.ns0().map_or("unknown token", identity_token);
                    detail.push_bytes(kind.as_bytes());
                    self.anonymous = (kind == "anonymous").then_some(request_id);
                }
                // Read: how many nodes (their values are never kept).
                631 => {
                    c.skip(8 + 4, "max age, timestamps")?;
                    let n = c.array_len("nodes to read", 1)?;
                    let _ = write!(detail, "{n} nodes");
                }
                // Write: node ids and the first values.
                673 => {
                    let n = c.array_len("nodes to write", 1)?;
                    for i in 0..n.min(MAX_ITEMS) {
                        if i > 0 {
                            detail.push_bytes(b", ");
                        }
                        c.node_id("node id")?.push_to(&mut detail);
                        let attribute = c.u32("attribute id")?;
                        if attribute != 13 {
                            let _ = write!(detail, " attribute {attribute}");
                        }
                        c.string("index range")?;
                        detail.push_bytes(b" = ");
                        c.data_value(0, Some(&mut detail))?;
                    }
                    if n > MAX_ITEMS {
                        detail.push_bytes(b", ...");
                    }
                }
                // Call: method and object ids, with the argument count.
                712 => {
                    let n = c.array_len("methods to call", 1)?;
                    for i in 0..n.min(MAX_ITEMS) {
                        if i > 0 {
                            detail.push_bytes(b", ");
                        }
                        let object = c.node_id("object id")?;
                        c.node_id("method id")?.push_to(&mut detail);
                        detail.push_bytes(b" on ");
                        object.push_to(&mut detail);
                        let args = c.array_len("input arguments", 1)?;
                        let _ = write!(detail, " ({args} args)");
                        for _ in 0..args {
                            c.variant::<8>(0, None)?;
                        }
                    }
                    if n > MAX_ITEMS {
                        detail.push_bytes(b", ...");
                    }
                }
                // Browse: how many nodes.
                527 => {
                    c.node_id("view id")?;
                    c.skip(8 + 4 + 4, "view, max references")?;
                    let n = c.array_len("nodes to browse", 1)?;
                    let _ = write!(detail, "{n} nodes");
                }
                // TranslateBrowsePathsToNodeIds, RegisterNodes: how many paths / nodes.
                554 | 560 | 566 => {
                    let n = c.array_len("items", 1)?;
                    let _ = write!(detail, "{n} nodes");
                }
                // CreateMonitoredItems: how many items.
                751 => {
                    c.skip(4 + 4, "subscription id, timestamps")?;
                    let n = c.array_len("items to create", 1)?;
                    let _ = write!(detail, "{n} items");
                }
                // AddNodes, AddReferences, DeleteNodes, DeleteReferences: how many.
                488 | 494 | 500 | 506 => {
                    let n = c.array_len("items", 1)?;
                    let _ = write!(detail, "{n} items");
                }
                _ => {}
            }
            Ok(())
        })();
        out.event(flow, direction, "opcua", category, name, detail.as_str());
        parsed
    }

    fn response(
        &mut self,
        flow: &FlowMeta,
        type_id: u32,
        asked: Option<u32>,
        c: &mut Cursor<'_>,
        out: &mut Observations,
    ) -> Result<(), OpcuaError> {
        let result = c.response_header()?;
        let (server, now) = (flow.server_device(), flow.now);
        if type_id == 397 || result & 0x8000_0000 != 0 {
            let (name, category) = asked
                .and_then(service_operation)
                .unwrap_or(("unknown_service", EventCategory::Other));
            let mut detail = ValueBuf::<96>::new();
            let _ = write!(detail, "{name}: ");
            push_status(&mut detail, result);
            out.event(
                flow,
                Direction::ClientToServer,
                "opcua",
                category,
                "error_response",
                detail.as_str(),
            );
            return Ok(());
        }
        match type_id {
            431 => endpoints(flow, c, out)?,
            464 => {
                c.node_id("session id")?;
                c.node_id("authentication token")?;
                c.skip(8, "revised session timeout")?;
                c.string("server nonce")?;
                c.string("server certificate")?;
                endpoints(flow, c, out)?;
            }
            470 if asked == Some(467) && self.anonymous.take().is_some() => {
                out.finding(server, Finding::OpcuaAnonymousSession, Source::Opcua, now);
            }
            _ => {}
        }
        Ok(())
    }
}

/// An ApplicationDescription's identity fields.
struct Application<'a> {
    uri: &'a [u8],
    product: &'a [u8],
    name: &'a [u8],
}

fn application_description<'a>(c: &mut Cursor<'a>) -> Result<Application<'a>, OpcuaError> {
    let uri = c.string("application uri")?.unwrap_or_default();
    let product = c.string("product uri")?.unwrap_or_default();
    let name = c.localized_text("application name")?.unwrap_or_default();
    c.u32("application type")?;
    c.string("gateway server uri")?;
    c.string("discovery profile uri")?;
    let n = c.array_len("discovery urls", 4)?;
    for _ in 0..n {
        c.string("discovery url")?;
    }
    Ok(Application { uri, product, name })
}

/// An EndpointDescription array (GetEndpoints and CreateSession answers): the server's URLs,
/// application and offered security.
fn endpoints(
    flow: &FlowMeta,
    c: &mut Cursor<'_>,
    out: &mut Observations,
) -> Result<(), OpcuaError> {
    let (server, now) = (flow.server_device(), flow.now);
    let n = c.array_len("endpoints", 1)?;
    for _ in 0..n {
        let url = c.string("endpoint url")?.unwrap_or_default();
        out.fact_bytes(server, Attribute::Url, url, Source::Opcua, now);
        let app = application_description(c)?;
        out.fact_bytes(server, Attribute::Software, app.name, Source::Opcua, now);
        out.fact_bytes(server, Attribute::Description, app.uri, Source::Opcua, now);
        out.fact_bytes(
            server,
            Attribute::ProductCode,
            app.product,
            Source::Opcua,
            now,
        );
        c.string("server certificate")?;
        let mode = c.u32("security mode")?;
        let policy = c.string("security policy uri")?.unwrap_or_default();
        let mut service = ValueBuf::<96>::new();
        service.push_bytes(b"opcua ");
        service.push_bytes(policy_name(policy));
        if mode != 1 {
            let _ = write!(service, " {}", mode_name(mode));
        }
        out.fact_bytes(
            server,
            Attribute::Service,
            service.as_bytes(),
            Source::Opcua,
            now,
        );
        let tokens = c.array_len("user identity tokens", 4)?;
        for _ in 0..tokens {
            c.string("policy id")?;
            c.u32("token type")?;
            c.string("issued token type")?;
            c.string("issuer endpoint url")?;
            c.string("security policy uri")?;
        }
        c.string("transport profile uri")?;
        c.u8("security level")?;
    }
    Ok(())
}

/// Whether a NodeId is a namespace-0 numeric id (helper for peers' tests).
pub fn numeric_ns0(id: &NodeId<'_>) -> Option<u32> {
    id.ns0()
}

/// Why the message header at the start of its bytes was refused (type, chunk type or size),
/// for the report.
struct BadHeader<'a>(&'a [u8]);

impl std::fmt::Display for BadHeader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [a, b, c, chunk, s0, s1, s2, s3, ..] = *self.0 else {
            return f.write_str("OPC UA message header truncated");
        };
        let size = u32::from_le_bytes([s0, s1, s2, s3]);
        if Header::parse(&[a, b, c, b'F', 8, 0, 0, 0]).is_err() {
            write!(f, "OPC UA message type 0x{a:02x}{b:02x}{c:02x} unknown")
        } else if !matches!(chunk, b'F' | b'C' | b'A') {
            write!(f, "OPC UA chunk type 0x{chunk:02x}, not F, C or A")
        } else {
            write!(f, "OPC UA message size {size} outside 8-{MAX_DECLARED}")
        }
    }
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
    out.spec_report::<128>(flow, direction, "opcua", operation, what);
}

impl Dissector for OpcuaDissector {
    fn protocol(&self) -> &'static str {
        "opcua"
    }

    fn on_stream(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        chunk: StreamChunk<'_>,
        out: &mut Observations,
    ) {
        if matches!(chunk, StreamChunk::Gap(_)) {
            self.continuing[direction.index()] = false;
        }
        framing::feed(
            self,
            direction.index(),
            chunk,
            MAX_MESSAGE,
            |this, bytes| this.messages(flow, direction, bytes, out),
        );
    }
}

#[cfg(test)]
mod tests;
