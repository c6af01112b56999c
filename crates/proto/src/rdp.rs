/*!
RDP connection setup (MS-RDPBCGR §1.3.1.1): the X.224 Connection Request and Confirm that
negotiate the security protocol, then either a TLS handshake or, with Standard RDP Security,
the MCS Connect Initial and Response that carry the client's name and the server's certificate.

- Connection Request with `Cookie: mstshash=<name>` → an [`Auth`](EventCategory::Authentication) event
  ("RDP connection request, cookie user <name>"): the cookie names the user logging in, which
  is an operation, not a property of the device.
- Connection Confirm → a [`Service`](Attribute::Service) fact on the server naming the security
  protocol it selected (`rdp (security: credssp)`).
- A TLS-based protocol (TLS, CredSSP, RDSTLS, ...) → the TLS handshake that follows on the same
  stream goes through [`TlsSession`], which reports the client's JA3/JA4 and the server's
  certificate and findings as for any TLS connection.
- Standard RDP Security → the client core data's `clientName` is a [`Hostname`](Attribute)
  fact on the client; the leaf of the X.509 chain in the server security data (the last
  certificate) is a [`Certificate`](Attribute::Certificate) fact on the server. It is the
  server's self-generated licensing certificate, self-signed by design, so it raises no finding.

Each direction buffers at most one TPKT PDU of at most [`MAX_PDU`] bytes and stops after the
messages above. The factory takes TCP flows to port 3389 and flows whose first bytes are a TPKT
carrying an X.224 Connection Request with an RDP cookie or negotiation request.
*/

use std::fmt;

use ironward_model::{Attribute, EventCategory, Source};

use crate::observations::clean_value;
use crate::session::{Direction, FlowMeta, StreamChunk, Transport};
use crate::tls::certificate::CertificateSummary;
use crate::tls::{looks_like_handshake, TlsSession};
use crate::{Dissector, DissectorFactory, DissectorRegistry, Observations};

/// The RDP port.
pub const RDP_PORT: u16 = 3389;

/// Largest TPKT PDU buffered (an MCS Connect Response with a certificate chain is a few KiB).
pub const MAX_PDU: usize = 16 << 10;

/// TPKT header size (RFC 1006: version 3, reserved, 16-bit length).
const TPKT_HEADER: usize = 4;

/// X.224 TPDU codes (upper nibble of the second byte).
const X224_CONNECTION_REQUEST: u8 = 0xe0;
const X224_CONNECTION_CONFIRM: u8 = 0xd0;
const X224_DATA: u8 = 0xf0;

/// RDP negotiation structure types (MS-RDPBCGR §2.2.1.1.1, §2.2.1.2.1, §2.2.1.2.2).
const TYPE_RDP_NEG_REQ: u8 = 1;
const TYPE_RDP_NEG_RSP: u8 = 2;
const TYPE_RDP_NEG_FAILURE: u8 = 3;

/// User data block types (MS-RDPBCGR §2.2.1.3.1, §2.2.1.4.1).
const CS_CORE: u16 = 0xc001;
const SC_SECURITY: u16 = 0x0c02;

/// What was wrong with an RDP PDU, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RdpError {
    /// Occurs when the PDU ends inside a field.
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Where it started.
        offset: usize,
    },
    /// Occurs when a field holds a value this PDU cannot have.
    Invalid {
        /// The field.
        field: &'static str,
        /// Where it is.
        offset: usize,
    },
}

impl fmt::Display for RdpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { field, offset } => write!(f, "truncated {field} at offset {offset}"),
            Self::Invalid { field, offset } => write!(f, "invalid {field} at offset {offset}"),
        }
    }
}

impl std::error::Error for RdpError {}

/// Bounds-checked reads.
fn slice<'a>(
    data: &'a [u8],
    at: usize,
    len: usize,
    field: &'static str,
) -> Result<&'a [u8], RdpError> {
    data.get(at..at.saturating_add(len))
        .ok_or(RdpError::Truncated { field, offset: at })
}

fn u16_le(data: &[u8], at: usize, field: &'static str) -> Result<u16, RdpError> {
    let b = slice(data, at, 2, field)?;
    Ok(u16::from_le_bytes([b[0], b[1]]))
}

fn u32_le(data: &[u8], at: usize, field: &'static str) -> Result<u32, RdpError> {
    let b = slice(data, at, 4, field)?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// The length a TPKT header at the start of `data` announces: `None` with fewer than four
/// bytes, an error when they are not a TPKT header.
pub fn tpkt_length(data: &[u8]) -> Option<Result<usize, RdpError>> {
    let [version, _, hi, lo, ..] = *data else {
        return None;
    };
    let length = usize::from(u16::from_be_bytes([hi, lo]));
    Some(if version != 3 {
        Err(RdpError::Invalid {
            field: "TPKT version",
            offset: 0,
        })
    } else if length < TPKT_HEADER + 3 {
        Err(RdpError::Invalid {
            field: "TPKT length",
            offset: 2,
        })
    } else {
        Ok(length)
    })
}

/// Security protocols (MS-RDPBCGR §2.2.1.1.1 `requestedProtocols`, §2.2.1.2.1
/// `selectedProtocol`).
pub mod protocol {
    /// Standard RDP Security (RC4, the server's own certificate).
    pub const RDP: u32 = 0;
    /// TLS.
    pub const SSL: u32 = 0x1;
    /// CredSSP (Network Level Authentication) over TLS.
    pub const HYBRID: u32 = 0x2;
    /// RDSTLS.
    pub const RDSTLS: u32 = 0x4;
    /// CredSSP with the Early User Authorization Result PDU.
    pub const HYBRID_EX: u32 = 0x8;
    /// RDS AAD authentication.
    pub const RDSAAD: u32 = 0x10;

    /// A short name for a selected protocol.
    pub fn name(selected: u32) -> &'static str {
        match selected {
            RDP => "rdp",
            SSL => "tls",
            HYBRID => "credssp",
            RDSTLS => "rdstls",
            HYBRID_EX => "credssp-ex",
            RDSAAD => "rdsaad",
            _ => "unknown",
        }
    }
}

/// An X.224 Connection Request: the first PDU of the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionRequest<'a> {
    /// The user name of a `Cookie: mstshash=` line, raw.
    pub cookie_user: Option<&'a [u8]>,
    /// Whether a routing token (`Cookie: msts=` or any other line) was sent instead.
    pub routing_token: bool,
    /// `requestedProtocols` of the RDP_NEG_REQ, when present.
    pub requested_protocols: Option<u32>,
}

impl<'a> ConnectionRequest<'a> {
    /// Parses a whole TPKT PDU.
    pub fn parse(pdu: &'a [u8]) -> Result<Self, RdpError> {
        let data = x224_variable_part(pdu, X224_CONNECTION_REQUEST)?;
        let (mut cookie_user, mut routing_token, mut rest) = (None, false, data);
        // An optional CR LF-terminated token comes first (MS-RDPBCGR §2.2.1.1).
        if rest.starts_with(b"Cookie:") {
            let end = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .ok_or(RdpError::Truncated {
                    field: "cookie",
                    offset: pdu.len() - data.len(),
                })?;
            let line = &rest[..end];
            match line.strip_prefix(b"Cookie: mstshash=") {
                Some(user) => cookie_user = Some(user),
                None => routing_token = true,
            }
            rest = &rest[end + 2..];
        }
        let requested_protocols = match rest {
            [TYPE_RDP_NEG_REQ, _flags, 8, 0, ..] => Some(u32_le(rest, 4, "requestedProtocols")?),
            _ => None,
        };
        Ok(Self {
            cookie_user,
            routing_token,
            requested_protocols,
        })
    }
}

/// The server's answer to the security negotiation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Negotiation {
    /// An RDP_NEG_RSP: the protocol the server selected.
    Selected(u32),
    /// An RDP_NEG_FAILURE: why the server refused.
    Failure(u32),
    /// No negotiation structure: a server that only knows Standard RDP Security.
    Legacy,
}

impl Negotiation {
    /// Parses the X.224 Connection Confirm in a whole TPKT PDU.
    pub fn parse(pdu: &[u8]) -> Result<Self, RdpError> {
        let data = x224_variable_part(pdu, X224_CONNECTION_CONFIRM)?;
        Ok(match data {
            [TYPE_RDP_NEG_RSP, _flags, 8, 0, ..] => {
                Self::Selected(u32_le(data, 4, "selectedProtocol")?)
            }
            [TYPE_RDP_NEG_FAILURE, _flags, 8, 0, ..] => {
                Self::Failure(u32_le(data, 4, "failureCode")?)
            }
            _ => Self::Legacy,
        })
    }

    /// Whether a TLS handshake follows.
    pub fn uses_tls(&self) -> bool {
        matches!(self, Self::Selected(p) if *p != protocol::RDP)
    }
}

/// The variable part (after the fixed seven-byte header) of a Connection Request or Confirm.
fn x224_variable_part(pdu: &[u8], code: u8) -> Result<&[u8], RdpError> {
    let length = match tpkt_length(pdu) {
        Some(Ok(length)) => length,
        Some(Err(e)) => return Err(e),
        None => {
            return Err(RdpError::Truncated {
                field: "TPKT header",
                offset: 0,
            })
        }
    };
    let pdu = slice(pdu, 0, length, "TPKT payload")?;
    let li = usize::from(*pdu.get(4).unwrap_or(&0));
    let tpdu_code = *slice(pdu, 5, 1, "X.224 code")?.first().unwrap_or(&0);
    if tpdu_code & 0xf0 != code {
        return Err(RdpError::Invalid {
            field: "X.224 code",
            offset: 5,
        });
    }
    if li < 6 || 5 + li != length {
        return Err(RdpError::Invalid {
            field: "X.224 length indicator",
            offset: 4,
        });
    }
    slice(pdu, 11, length - 11, "X.224 variable part")
}

/// The GCC user data blocks of an MCS Connect Initial or Connect Response in a whole TPKT PDU
/// (X.224 Data, then BER-encoded MCS, then PER-encoded GCC, MS-RDPBCGR §2.2.1.3, §2.2.1.4).
pub fn gcc_user_data(pdu: &[u8]) -> Result<&[u8], RdpError> {
    let length = match tpkt_length(pdu) {
        Some(Ok(length)) => length,
        Some(Err(e)) => return Err(e),
        None => {
            return Err(RdpError::Truncated {
                field: "TPKT header",
                offset: 0,
            })
        }
    };
    let pdu = slice(pdu, 0, length, "TPKT payload")?;
    if slice(pdu, 4, 3, "X.224 data header")? != [2, X224_DATA, 0x80] {
        return Err(RdpError::Invalid {
            field: "X.224 data header",
            offset: 4,
        });
    }
    // MCS Connect-Initial [APPLICATION 101] or Connect-Response [APPLICATION 102].
    let (tag, body, _) = ber_element(pdu, 7)?;
    if tag != 0x7f65 && tag != 0x7f66 {
        return Err(RdpError::Invalid {
            field: "MCS connect PDU",
            offset: 7,
        });
    }
    // Its last OCTET STRING is userData (the first ones of a Connect-Initial are domain
    // selectors).
    let mut at = 0;
    let mut user_data = None;
    while at < body.len() {
        let (tag, value, next) = ber_element(body, at)?;
        if tag == 0x04 {
            user_data = Some(value);
        }
        at = next;
    }
    let user_data = user_data.ok_or(RdpError::Truncated {
        field: "MCS userData",
        offset: 7,
    })?;
    // GCC ConnectData: the T.124 object identifier, the PER length of the connect PDU, then a
    // Conference Create Request or Response whose user data is keyed "Duca" (client) or "McDn"
    // (server) and followed by a PER length.
    if !user_data.starts_with(&[0x00, 0x05, 0x00, 0x14, 0x7c, 0x00, 0x01]) {
        return Err(RdpError::Invalid {
            field: "T.124 identifier",
            offset: 0,
        });
    }
    let head = user_data.get(..user_data.len().min(40)).unwrap_or_default();
    let key = head
        .windows(4)
        .position(|w| w == b"Duca" || w == b"McDn")
        .ok_or(RdpError::Invalid {
            field: "GCC h221 key",
            offset: 7,
        })?;
    let at = key + 4;
    let (len, at) = match *slice(user_data, at, 1, "GCC user data length")?
        .first()
        .unwrap_or(&0)
    {
        b if b & 0x80 == 0 => (usize::from(b), at + 1),
        b => {
            let lo = *slice(user_data, at + 1, 1, "GCC user data length")?
                .first()
                .unwrap_or(&0);
            (usize::from(u16::from_be_bytes([b & 0x3f, lo])), at + 2)
        }
    };
    slice(user_data, at, len, "GCC user data")
}

/// One BER element at `at`: its tag (one or two bytes), value and the offset after it.
fn ber_element(data: &[u8], at: usize) -> Result<(u16, &[u8], usize), RdpError> {
    let first = *slice(data, at, 1, "BER tag")?.first().unwrap_or(&0);
    let (tag, mut pos) = if first & 0x1f == 0x1f {
        let second = *slice(data, at + 1, 1, "BER tag")?.first().unwrap_or(&0);
        (u16::from_be_bytes([first, second]), at + 2)
    } else {
        (u16::from(first), at + 1)
    };
    let len_byte = *slice(data, pos, 1, "BER length")?.first().unwrap_or(&0);
    pos += 1;
    let len = if len_byte & 0x80 == 0 {
        usize::from(len_byte)
    } else {
        let count = usize::from(len_byte & 0x7f);
        if count == 0 || count > 3 {
            return Err(RdpError::Invalid {
                field: "BER length",
                offset: pos - 1,
            });
        }
        let bytes = slice(data, pos, count, "BER length")?;
        pos += count;
        bytes
            .iter()
            .fold(0usize, |acc, b| acc << 8 | usize::from(*b))
    };
    let value = slice(data, pos, len, "BER value")?;
    Ok((tag, value, pos + len))
}

/// The user data blocks (type, whole block including its four-byte header), in order.
pub fn user_data_blocks(data: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        let kind = u16_le(data, at, "block type").ok()?;
        let len = usize::from(u16_le(data, at + 2, "block length").ok()?);
        if len < 4 {
            return None;
        }
        let block = slice(data, at, len, "block").ok()?;
        at += len;
        Some((kind, block))
    })
}

/// The `clientName` of a client core data block (UTF-16LE, up to 15 characters and a NUL).
pub fn client_name(core: &[u8]) -> Option<String> {
    let raw = slice(core, 24, 32, "clientName").ok()?;
    let units = raw
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .take_while(|unit| *unit != 0);
    let name: String = char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    (!name.is_empty()).then_some(name)
}

/// The server's certificate in a server security data block: the last certificate of an X.509
/// chain (MS-RDPBCGR §2.2.1.4.3 and MS-RDPELE §2.2.1.4.2: root first, server's own last).
/// `None` for proprietary certificates and for connections without encryption.
pub fn server_certificate(security: &[u8]) -> Option<&[u8]> {
    let method = u32_le(security, 4, "encryptionMethod").ok()?;
    let level = u32_le(security, 8, "encryptionLevel").ok()?;
    if method == 0 && level == 0 {
        return None;
    }
    let random_len = u32_le(security, 12, "serverRandomLen").ok()? as usize;
    let cert_len = u32_le(security, 16, "serverCertLen").ok()? as usize;
    let cert = slice(
        security,
        20usize.saturating_add(random_len),
        cert_len,
        "serverCertificate",
    )
    .ok()?;
    if u32_le(cert, 0, "dwVersion").ok()? & 0x7fff_ffff != 2 {
        return None;
    }
    let count = u32_le(cert, 4, "NumCertBlobs").ok()?;
    let mut at = 8usize;
    let mut last = None;
    // Each blob takes at least four bytes, which bounds the loop by the data.
    for _ in 0..count.min(64) {
        let len = u32_le(cert, at, "cbCert").ok()? as usize;
        last = Some(slice(cert, at + 4, len, "abCert").ok()?);
        at = at + 4 + len;
    }
    last
}

/// What one direction expects next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The X.224 Connection Request (client) or Confirm (server).
    Negotiation,
    /// After it: an MCS PDU (TPKT) or a TLS handshake, told apart by the first byte.
    Next,
    /// The MCS Connect Initial (client) or Response (server).
    Mcs,
    /// Bytes go to the TLS session.
    Tls,
    /// Nothing more of interest.
    Done,
}

/// One direction: its stage and the TPKT PDU being collected.
#[derive(Debug)]
struct Side {
    stage: Stage,
    pdu: Vec<u8>,
}

impl Side {
    fn stop(&mut self) {
        self.stage = Stage::Done;
        self.pdu = Vec::new();
    }

    /// Collects the next TPKT PDU from `data`; returns the bytes used and whether the PDU is
    /// complete (then it is in `self.pdu`). Stops the direction on a bad or oversized header.
    fn collect(&mut self, data: &[u8]) -> (usize, bool) {
        let mut used = 0;
        if self.pdu.len() < TPKT_HEADER {
            used = (TPKT_HEADER - self.pdu.len()).min(data.len());
            self.pdu.extend_from_slice(&data[..used]);
        }
        let length = match tpkt_length(&self.pdu) {
            None => return (used, false),
            Some(Ok(length)) if length <= MAX_PDU => length,
            Some(_) => {
                self.stop();
                return (data.len(), false);
            }
        };
        let take = (length - self.pdu.len()).min(data.len() - used);
        self.pdu.extend_from_slice(&data[used..used + take]);
        (used + take, self.pdu.len() == length)
    }
}

/// The RDP dissector of one flow.
#[derive(Debug)]
pub struct RdpDissector {
    sides: [Side; 2],
    tls: Option<Box<TlsSession>>,
}

impl Default for RdpDissector {
    fn default() -> Self {
        Self {
            sides: [
                Side {
                    stage: Stage::Negotiation,
                    pdu: Vec::new(),
                },
                Side {
                    stage: Stage::Negotiation,
                    pdu: Vec::new(),
                },
            ],
            tls: None,
        }
    }
}

impl RdpDissector {
    /// A whole PDU of `direction` in the negotiation or MCS stage.
    fn on_pdu(&mut self, flow: &FlowMeta, direction: Direction, out: &mut Observations) {
        let side = &mut self.sides[direction.index()];
        let pdu = std::mem::take(&mut side.pdu);
        side.stage = match (side.stage, direction) {
            (Stage::Negotiation, Direction::ClientToServer) => match ConnectionRequest::parse(&pdu)
            {
                Ok(request) => {
                    if let Some(user) = request.cookie_user.and_then(clean_value) {
                        out.event(
                            flow,
                            direction,
                            "rdp",
                            EventCategory::Authentication,
                            "login",
                            format!("RDP connection request, cookie user {user}"),
                        );
                    }
                    Stage::Next
                }
                Err(_) => Stage::Done,
            },
            (Stage::Negotiation, Direction::ServerToClient) => match Negotiation::parse(&pdu) {
                Ok(negotiation) => {
                    let service = match negotiation {
                        Negotiation::Selected(p) => {
                            format!("rdp (security: {})", protocol::name(p))
                        }
                        Negotiation::Legacy => "rdp (security: rdp)".to_owned(),
                        Negotiation::Failure(_) => "rdp".to_owned(),
                    };
                    out.fact(
                        flow.sender(direction),
                        Attribute::Service,
                        &service,
                        Source::Rdp,
                        flow.now,
                    );
                    if matches!(negotiation, Negotiation::Failure(_)) {
                        Stage::Done
                    } else {
                        Stage::Next
                    }
                }
                Err(_) => Stage::Done,
            },
            (Stage::Mcs, _) => {
                if let Ok(blocks) = gcc_user_data(&pdu) {
                    on_user_data(flow, direction, blocks, out);
                }
                Stage::Done
            }
            (stage, _) => stage,
        };
        if side.stage == Stage::Done {
            side.pdu = Vec::new();
        } else {
            side.pdu = pdu;
            side.pdu.clear();
        }
    }
}

/// Facts from the GCC user data blocks of either side.
fn on_user_data(flow: &FlowMeta, direction: Direction, blocks: &[u8], out: &mut Observations) {
    let subject = flow.sender(direction);
    for (kind, block) in user_data_blocks(blocks) {
        match (direction, kind) {
            (Direction::ClientToServer, CS_CORE) => {
                if let Some(name) = client_name(block) {
                    out.fact(subject, Attribute::Hostname, &name, Source::Rdp, flow.now);
                }
            }
            (Direction::ServerToClient, SC_SECURITY) => {
                if let Some(summary) =
                    server_certificate(block).and_then(|der| CertificateSummary::parse(der).ok())
                {
                    out.fact(
                        subject,
                        Attribute::Certificate,
                        &summary.describe(),
                        Source::Rdp,
                        flow.now,
                    );
                }
            }
            _ => {}
        }
    }
}

impl Dissector for RdpDissector {
    fn protocol(&self) -> &'static str {
        "rdp"
    }

    fn on_stream(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        chunk: StreamChunk<'_>,
        out: &mut Observations,
    ) {
        let StreamChunk::Data(mut data) = chunk else {
            if let Some(tls) = &mut self.tls {
                tls.on_stream(flow, direction, chunk, out);
            }
            self.sides[direction.index()].stop();
            return;
        };
        while !data.is_empty() {
            let side = &mut self.sides[direction.index()];
            match side.stage {
                Stage::Done => return,
                Stage::Tls => {
                    let tls = self.tls.get_or_insert_with(Default::default);
                    tls.on_stream(flow, direction, StreamChunk::Data(data), out);
                    if tls.is_done() {
                        side.stop();
                    }
                    return;
                }
                Stage::Next => {
                    side.stage = match data.first() {
                        Some(3) => Stage::Mcs,
                        Some(0x16) => Stage::Tls,
                        _ => Stage::Done,
                    };
                }
                // A server on the RDP port that starts with TLS straight away.
                Stage::Negotiation if side.pdu.is_empty() && looks_like_handshake(data) => {
                    side.stage = Stage::Tls;
                }
                Stage::Negotiation | Stage::Mcs => {
                    let (used, complete) = side.collect(data);
                    data = data.get(used..).unwrap_or_default();
                    if complete {
                        self.on_pdu(flow, direction, out);
                    }
                }
            }
        }
    }
}

/// Recognises RDP flows on port 3389, and elsewhere by an X.224 Connection Request carrying an
/// RDP cookie or negotiation request.
#[derive(Debug, Default)]
pub struct RdpFactory;

impl DissectorFactory for RdpFactory {
    fn protocol(&self) -> &'static str {
        "rdp"
    }

    fn select(
        &self,
        flow: &FlowMeta,
        direction: Direction,
        first_payload: &[u8],
    ) -> Option<Box<dyn Dissector>> {
        if flow.transport != Transport::Tcp {
            return None;
        }
        let by_content = direction == Direction::ClientToServer
            && matches!(
                ConnectionRequest::parse(first_payload),
                Ok(r) if r.cookie_user.is_some() || r.routing_token || r.requested_protocols.is_some()
            );
        (by_content || flow.server.port() == RDP_PORT)
            .then(|| Box::new(RdpDissector::default()) as Box<dyn Dissector>)
    }
}

/// Adds this module's dissectors to `registry`.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register(Box::new(RdpFactory));
}

#[cfg(test)]
mod tests {
    use super::*;
    use ironward_model::{DeviceKey, Fact, Timestamp};

    fn unhex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    /// `zeek_rdp-x509.pcap` frame 6: Connection Request with cookie and RDP_NEG_REQ (Standard
    /// RDP Security only).
    const REQUEST: &str =
        "0300002f2ae00000000000436f6f6b69653a206d737473686173683d4a4f484e2d504320200d0a0100080000000000";
    /// `zeek_rdp-x509.pcap` frame 7: Connection Confirm selecting Standard RDP Security.
    const CONFIRM: &str = "030000130ed000001234000200080000000000";
    /// `zeek_rdp-x509.pcap` frame 11: MCS Connect Initial with the client core data (client name JOHN-PC-LAPTOP).
    const CLIENT_DATA: &str = concat!(
        "030001be02f0807f658201b20401010401010101ff30190201220201020201000201010201000201010202ff",
        "ff020102301902010102010102010102010102010002010102020420020102301c0202ffff0202fc170202ff",
        "ff0201010201000201010202ffff02010204820151000500147c00018148000800100001c00044756361813a",
        "01c0ea00040008008007380401ca03aa09040000802500004a004f0048004e002d00500043002d004c004100",
        "500054004f0050000000000004000000000000000c0000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "01ca01000000000010000f00ad07330063003500370031006500640030002d0033003400310035002d003400",
        "3700340062002d0061006500390034002d003700340065003100350031006200000007000000000000000000",
        "000000000000000000000000000004c00c00150000000000000002c00c001b0000000000000003c038000400",
        "0000726470647200000000008080726470736e640000000000c0636c6970726472000000a0c0647264796e76",
        "6300000080c0",
    );

    /// `zeek_rdp-x509.pcap` frame 12: the first 1398 bytes of the MCS Connect Response.
    const SERVER_DATA_1: &str = concat!(
        "0300057d02f0807f668205710a0100020100301a020122020103020100020101020100020101020300fff802",
        "01020482054b000500147c00012a14760a01010001c0004d63446e8534010c0c000400080000000000030c10",
        "00eb030400ec03ed03ee03ef03020c1805020000000200000020000000e40400009fda0605a0e36f690bff0c",
        "a0b121db62dae41b971235375c712b642d8ae3cfa702000080020000005f0100003082015b30820109a00302",
        "0102020859eb28cb02b1a0d4300906052b0e03021d0500302c312a301106035504031e0a0053004500520056",
        "0052301506035504071e0e005400550052004e0042004b004c301e170d3135303231313134313530365a170d",
        "3135303531323030303030305a302c312a301106035504031e0a00530045005200560052301506035504071e",
        "0e005400550052004e0042004b004c305c300d06092a864886f70d0101010500034b003048024100d31474f6",
        "9f983d557757f6680d765c1965f19f8b7d31a605a2aa3b47e14ba9d01a3fce1780402e77838f7bb5e47be12c",
        "18eefcc3e277ffd9d6936ad6ce9809fd0203010001a3133011300f0603551d13040830060101ff0201003009",
        "06052b0e03021d05000341008a9264745d17d5003e74c9039a10e0c1f3ae56d8ef0f5523cda88209f56bdad2",
        "6a18caa9b2a1d12a7aee6b57858a3a07aafb116c5fb9feff7592abaa02feac9c65030000308203613082030f",
        "a00302010202050100000001300906052b0e03021d0500302c312a301106035504031e0a0053004500520056",
        "0052301506035504071e0e005400550052004e0042004b004c301e170d3133303430353135313535355a170d",
        "3136313233313233353935395a30818e31818b302106035504031e1a006e00630061006c007200700063003a",
        "00530045005200560052302106035504071e1a006e00630061006c007200700063003a005300450052005600",
        "52304306035504051e3c003100420063004b006500660059005300460039003700450076006b006100690043",
        "0071006100680050005900380075005000640030003d000d000a305c300d06092a864886f70d010104050003",
        "4b003048024100f22d4e9a36ed8f684449ede380f86db3fc0360ad644dc4e3a5d200e9247b92efa8657610e7",
        "fbe2256f46837c33d8620ccbb366963b13c6772b60428cb221acc70203010001a38201b7308201b330140609",
        "2b06010401823712040101ff040401000500303c06092b06010401823712020101ff042c4d00690063007200",
        "6f0073006f0066007400200043006f00720070006f0072006100740069006f006e0000003081cd06092b0601",
        "0401823712050101ff0481bc003000000100000002000000090400001c004a0066004a00b000010033006400",
        "3200360037003900350034002d0065006500630037002d0031003100640031002d0062003900340065002d00",
        "3000300064003000340066006100330030003800300064000000330064003200360037003900350034002d00",
        "64006500610037002d0031003200640031002d0062003900340065002d003000300063003000340066006100",
        "330030003800300064000000000000100080d40000000000306806092b06010401823712060101ff04580030",
        "000000000c003c00530045005200560052000000360039003700310033002d003000310032002d0034003700",
        "300031003700360033002d003400340037003500310000005400550052004e0042004b004c00000000003023",
        "0603551d230101ff04193017a10ea40c53004500520056005200000082050100000001300906052b0e03021d",
        "0500034100aad15319b38adaf8857735cc8a23af10d4c0c2407ca60092163e4e65e38331c22395ecbe98581f",
        "61d9924279fa483f72aa4064c01d34016491ee237ce26bcce3000000000000000000",
    );

    /// `zeek_rdp-x509.pcap` frame 13: its last 7 bytes.
    const SERVER_DATA_2: &str = "00000000000000";

    fn flow() -> FlowMeta {
        FlowMeta {
            id: 1,
            transport: Transport::Tcp,
            client: "192.168.1.1:54990".parse().unwrap(),
            server: "192.168.1.2:3389".parse().unwrap(),
            now: Timestamp(1),
            frame: 1,
        }
    }

    fn client() -> DeviceKey {
        DeviceKey::Ip("192.168.1.1".parse().unwrap())
    }

    fn server() -> DeviceKey {
        DeviceKey::Ip("192.168.1.2".parse().unwrap())
    }

    fn run(
        dissector: &mut RdpDissector,
        steps: &[(Direction, &str)],
        piece: usize,
    ) -> (Vec<Fact>, Vec<ironward_model::Event>) {
        let meta = flow();
        let mut out = Observations::default();
        for (direction, hex) in steps {
            let bytes = unhex(hex);
            for part in bytes.chunks(piece) {
                dissector.on_stream(&meta, *direction, StreamChunk::Data(part), &mut out);
            }
        }
        (out.drain_facts().collect(), out.drain_events().collect())
    }

    fn facts_of(facts: &[Fact], subject: DeviceKey) -> Vec<(Attribute, String)> {
        facts
            .iter()
            .filter(|f| f.subject == subject)
            .map(|f| (f.attribute, f.value.to_string()))
            .collect()
    }

    const C2S: Direction = Direction::ClientToServer;
    const S2C: Direction = Direction::ServerToClient;

    #[test]
    fn standard_security_connection_from_the_capture() {
        for piece in [1, 5, 100, usize::MAX] {
            let mut dissector = RdpDissector::default();
            let (facts, events) = run(
                &mut dissector,
                &[
                    (C2S, REQUEST),
                    (S2C, CONFIRM),
                    (C2S, CLIENT_DATA),
                    (S2C, SERVER_DATA_1),
                    (S2C, SERVER_DATA_2),
                ],
                piece,
            );
            assert_eq!(events.len(), 1, "pieces of {piece}");
            assert_eq!(events[0].category, EventCategory::Authentication);
            assert_eq!(
                events[0].detail,
                "RDP connection request, cookie user JOHN-PC"
            );
            assert_eq!(
                events[0].src.ip.unwrap(),
                "192.168.1.1".parse::<std::net::IpAddr>().unwrap()
            );
            assert_eq!(
                facts_of(&facts, client()),
                [(Attribute::Hostname, "JOHN-PC-LAPTOP".to_owned())]
            );
            assert_eq!(
                facts_of(&facts, server()),
                [
                    (Attribute::Service, "rdp (security: rdp)".to_owned()),
                    (
                        Attribute::Certificate,
                        "CN=ncalrpc:SERVR; issuer CN=SERVR; valid 2013-04-05..2016-12-31"
                            .to_owned()
                    ),
                ]
            );
            assert!(dissector.sides.iter().all(|s| s.stage == Stage::Done));
        }
    }

    #[test]
    fn request_and_confirm_are_parsed() {
        let bytes = unhex(REQUEST);
        let request = ConnectionRequest::parse(&bytes).unwrap();
        assert_eq!(request.cookie_user, Some(&b"JOHN-PC  "[..]));
        assert!(!request.routing_token);
        assert_eq!(request.requested_protocols, Some(protocol::RDP));
        assert_eq!(
            Negotiation::parse(&unhex(CONFIRM)).unwrap(),
            Negotiation::Selected(protocol::RDP)
        );
        assert!(Negotiation::parse(&unhex(REQUEST)).is_err());
        assert!(ConnectionRequest::parse(&unhex(CONFIRM)).is_err());
        // Truncated and lying length fields are errors, not panics.
        for cut in 0..bytes.len() {
            assert!(ConnectionRequest::parse(&bytes[..cut]).is_err());
        }
    }

    #[test]
    fn the_x509_chain_leaf_is_the_last_certificate() {
        let server = unhex(&[SERVER_DATA_1, SERVER_DATA_2].concat());
        let blocks = gcc_user_data(&server).unwrap();
        let kinds: Vec<u16> = user_data_blocks(blocks).map(|(k, _)| k).collect();
        assert_eq!(kinds, [0x0c01, 0x0c03, 0x0c02]);
        let security = user_data_blocks(blocks)
            .find(|(k, _)| *k == SC_SECURITY)
            .unwrap()
            .1;
        let leaf = CertificateSummary::parse(server_certificate(security).unwrap()).unwrap();
        assert_eq!(leaf.subject, "CN=ncalrpc:SERVR");
        assert!(!leaf.self_signed);
        // The root before it is self-signed: BMPString names, same subject and issuer.
        let count = u32_le(security, 16, "").unwrap();
        assert_eq!(count, 1252);
        let chain = &security[20 + 32..];
        let root_len = u32_le(chain, 8, "").unwrap() as usize;
        let root = CertificateSummary::parse(&chain[12..12 + root_len]).unwrap();
        assert_eq!(root.subject, "CN=SERVR");
        assert!(root.self_signed);
    }

    /// A Connection Request asking for TLS and CredSSP, and a Confirm selecting CredSSP
    /// (MS-RDPBCGR §4.1.1 and §4.1.2 layouts).
    const REQUEST_NLA: &str =
        "0300002b26e00000000000436f6f6b69653a206d737473686173683d61646d696e0d0a0100080003000000";
    const CONFIRM_NLA: &str = "030000130ed000001234000200080002000000";

    #[test]
    fn tls_after_negotiation_goes_to_the_tls_session() {
        // A ClientHello built by hand (RFC 5246 §7.4.1.2) with SNI server1.example.com.
        let hello = concat!(
            "160301007c010000780303000000000000000000000000000000000000000000000000000000000000000000",
            "0010c02bc02fc02cc030009c009d002f00350100003f000000180016000013736572766572312e6578616d70",
            "6c652e636f6d000a00080006001d00170018000b00020100000d00080006040105010601ff01000100",
        );
        let mut dissector = RdpDissector::default();
        let (facts, events) = run(
            &mut dissector,
            &[(C2S, REQUEST_NLA), (S2C, CONFIRM_NLA), (C2S, hello)],
            usize::MAX,
        );
        assert_eq!(
            events[0].detail,
            "RDP connection request, cookie user admin"
        );
        assert_eq!(
            facts_of(&facts, server()),
            [
                (Attribute::Service, "rdp (security: credssp)".to_owned()),
                (Attribute::Hostname, "server1.example.com".to_owned()),
            ]
        );
        let client_facts = facts_of(&facts, client());
        assert_eq!(client_facts.len(), 2);
        assert_eq!(client_facts[0].0, Attribute::Ja3);
        assert_eq!(client_facts[1].0, Attribute::Ja4);
        assert!(facts
            .iter()
            .all(|f| f.source == Source::Rdp || f.source == Source::Tls));
        assert_eq!(dissector.sides[0].stage, Stage::Tls);
    }

    #[test]
    fn negotiation_failure_ends_the_flow() {
        let failure = "030000130ed000001234000300080005000000";
        let mut dissector = RdpDissector::default();
        let (facts, _) = run(
            &mut dissector,
            &[(C2S, REQUEST_NLA), (S2C, failure)],
            usize::MAX,
        );
        assert_eq!(
            facts_of(&facts, server()),
            [(Attribute::Service, "rdp".to_owned())]
        );
        assert_eq!(dissector.sides[1].stage, Stage::Done);
    }

    #[test]
    fn oversized_and_foreign_pdus_stop_the_direction() {
        let mut dissector = RdpDissector::default();
        run(&mut dissector, &[(C2S, "0300ffff02f080")], usize::MAX);
        assert_eq!(dissector.sides[0].stage, Stage::Done);
        assert_eq!(dissector.sides[0].pdu.capacity(), 0);
        let mut dissector = RdpDissector::default();
        run(
            &mut dissector,
            &[(C2S, "474554202f20485454502f312e310d0a")],
            usize::MAX,
        );
        assert_eq!(dissector.sides[0].stage, Stage::Done);
    }

    #[test]
    fn factory_takes_the_rdp_port_and_connection_requests() {
        let c2s = Direction::ClientToServer;
        let mut other = flow();
        other.server.set_port(13389);
        assert!(RdpFactory.select(&flow(), c2s, b"anything").is_some());
        assert!(RdpFactory.select(&other, c2s, &unhex(REQUEST)).is_some());
        assert!(RdpFactory.select(&other, c2s, &unhex(CONFIRM)).is_none());
        assert!(RdpFactory
            .select(&other, c2s, b"\x03\x00\x00\x07\x02\xf0\x80")
            .is_none());
    }
}
