//! ISO-TSAP port 102: one TCP port, three protocols. S7comm, S7comm-plus and IEC 61850 MMS (and
//! ICCP, which is MMS) all ride on TPKT + COTP, and the first data unit says which: `0x32` starts
//! an S7comm PDU, `0x72` an S7comm-plus frame, and an ISO session CONNECT / DATA SPDU an MMS
//! association. This dissector reads both directions with [`CotpReader`], remembers the
//! connection request's TSAPs until the first data unit decides, and then hands every
//! transport data unit to that protocol's [`TsduHandler`]. Its protocol name is the decided
//! one (`cotp` until then).

use ironward_model::EventCategory;

use crate::cotp::{self, Connect, CotpReader, Tpdu, Unit};
use crate::{
    Direction, Dissector, DissectorFactory, DissectorRegistry, FlowMeta, Observations, StreamChunk,
    Transport,
};

/// ISO-TSAP over TCP (RFC 1006).
pub const PORT: u16 = 102;

/// Largest transport data unit reassembled from COTP DT TPDUs. S7 PDUs are at most 960 bytes
/// (the negotiated PDU size); S7comm-plus and MMS PDUs stay well under this.
pub const MAX_TSDU: usize = 64 * 1024;

/// A protocol carried in COTP data units.
pub trait TsduHandler: Default + Send {
    /// The protocol's name.
    const PROTOCOL: &'static str;

    /// Whether a flow's first data unit belongs to this protocol.
    fn recognises(tsdu: &[u8]) -> bool;

    /// A connection request or confirm (TSAPs), sent in `direction`.
    fn on_connect(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        connect: &Connect<'_>,
        confirm: bool,
        out: &mut Observations,
    ) {
        let _ = (flow, direction, connect, confirm, out);
    }

    /// A whole transport data unit sent in `direction`.
    fn on_tsdu(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        tsdu: &[u8],
        out: &mut Observations,
    );

    /// The flow ended.
    fn on_end(&mut self, flow: &FlowMeta, out: &mut Observations) {
        let _ = (flow, out);
    }
}

/// The connection TPDUs seen before the protocol was known, replayed to it once known.
#[derive(Debug, Clone, Copy, Default)]
struct PendingConnect {
    direction: Option<Direction>,
    confirm: bool,
    dst_ref: u16,
    src_ref: u16,
    class: u8,
    tpdu_size: Option<u8>,
    calling: ([u8; 16], usize),
    called: ([u8; 16], usize),
}

fn copy_tsap(tsap: Option<&[u8]>) -> ([u8; 16], usize) {
    let mut buf = [0u8; 16];
    let tsap = tsap.unwrap_or_default();
    let n = tsap.len().min(16);
    buf[..n].copy_from_slice(&tsap[..n]);
    (buf, n)
}

impl PendingConnect {
    fn new(direction: Direction, connect: &Connect<'_>, confirm: bool) -> Self {
        Self {
            direction: Some(direction),
            confirm,
            dst_ref: connect.dst_ref,
            src_ref: connect.src_ref,
            class: connect.class,
            tpdu_size: connect.tpdu_size,
            calling: copy_tsap(connect.calling_tsap),
            called: copy_tsap(connect.called_tsap),
        }
    }

    fn replay<H: TsduHandler>(&self, handler: &mut H, flow: &FlowMeta, out: &mut Observations) {
        let Some(direction) = self.direction else {
            return;
        };
        let connect = Connect {
            dst_ref: self.dst_ref,
            src_ref: self.src_ref,
            class: self.class,
            tpdu_size: self.tpdu_size,
            calling_tsap: (self.calling.1 > 0).then_some(&self.calling.0[..self.calling.1]),
            called_tsap: (self.called.1 > 0).then_some(&self.called.0[..self.called.1]),
        };
        handler.on_connect(flow, direction, &connect, self.confirm, out);
    }
}

/// What the flow turned out to carry.
#[allow(clippy::large_enum_variant)]
enum Carried {
    Undecided([PendingConnect; 2]),
    S7comm(crate::s7comm::Session),
    S7commPlus(crate::s7comm_plus::Session),
    Mms(crate::mms::Session),
    Unknown,
}

/// The port-102 dissector.
pub struct IsoTsapDissector {
    readers: [CotpReader; 2],
    carried: Carried,
}

impl Default for IsoTsapDissector {
    fn default() -> Self {
        Self {
            readers: [CotpReader::default(), CotpReader::default()],
            carried: Carried::Undecided([PendingConnect::default(); 2]),
        }
    }
}

fn decided<H: TsduHandler>(
    pending: &[PendingConnect; 2],
    flow: &FlowMeta,
    out: &mut Observations,
) -> H {
    let mut handler = H::default();
    for p in pending {
        p.replay(&mut handler, flow, out);
    }
    handler
}

impl IsoTsapDissector {
    fn unit(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        unit: Unit<'_>,
        out: &mut Observations,
    ) {
        if let Carried::Undecided(pending) = &mut self.carried {
            match unit {
                Unit::Violation(_) => {}
                Unit::Connect(Tpdu::ConnectionRequest(c)) => {
                    pending[0] = PendingConnect::new(direction, &c, false);
                    return;
                }
                Unit::Connect(Tpdu::ConnectionConfirm(c)) => {
                    pending[1] = PendingConnect::new(direction, &c, true);
                    return;
                }
                Unit::Connect(_) => return,
                Unit::Data(tsdu) => {
                    let pending = *pending;
                    self.carried = if crate::s7comm::Session::recognises(tsdu) {
                        Carried::S7comm(decided(&pending, flow, out))
                    } else if crate::s7comm_plus::Session::recognises(tsdu) {
                        Carried::S7commPlus(decided(&pending, flow, out))
                    } else if crate::mms::Session::recognises(tsdu) {
                        Carried::Mms(decided(&pending, flow, out))
                    } else {
                        Carried::Unknown
                    };
                }
            }
        }
        if let Unit::Violation(violation) = unit {
            report(self.name(), flow, direction, out, "violation", violation);
            return;
        }
        match (&mut self.carried, unit) {
            (Carried::S7comm(h), Unit::Data(tsdu)) => h.on_tsdu(flow, direction, tsdu, out),
            (Carried::S7commPlus(h), Unit::Data(tsdu)) => h.on_tsdu(flow, direction, tsdu, out),
            (Carried::Mms(h), Unit::Data(tsdu)) => h.on_tsdu(flow, direction, tsdu, out),
            _ => {}
        }
    }
}

/// Reports a record sent in `direction` that breaks TPKT or COTP (category Other): `malformed`
/// when it cannot be framed or parsed, `violation` when it is read but breaks a rule. Only
/// error paths come here; the detail is built on the stack.
fn report(
    protocol: &'static str,
    flow: &FlowMeta,
    direction: Direction,
    out: &mut Observations,
    operation: &'static str,
    what: impl std::fmt::Display,
) {
    use std::fmt::Write as _;
    let mut detail = crate::value::ValueBuf::<128>::new();
    let _ = write!(detail, "{what}");
    out.event(
        flow,
        direction,
        protocol,
        EventCategory::Other,
        operation,
        detail.as_str(),
    );
}

impl IsoTsapDissector {
    /// The decided protocol's name (`cotp` until a data unit decides).
    fn name(&self) -> &'static str {
        match self.carried {
            Carried::S7comm(_) => crate::s7comm::Session::PROTOCOL,
            Carried::S7commPlus(_) => crate::s7comm_plus::Session::PROTOCOL,
            Carried::Mms(_) => crate::mms::Session::PROTOCOL,
            Carried::Undecided(_) | Carried::Unknown => "cotp",
        }
    }
}

impl Dissector for IsoTsapDissector {
    fn protocol(&self) -> &'static str {
        self.name()
    }

    fn on_stream(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        chunk: StreamChunk<'_>,
        out: &mut Observations,
    ) {
        if matches!(self.carried, Carried::Unknown) {
            return;
        }
        let mut reader = std::mem::take(&mut self.readers[direction.index()]);
        // Framing errors end the direction (the reader stops itself).
        let framing = reader.feed(chunk, MAX_TSDU, |unit| {
            self.unit(flow, direction, unit, out)
        });
        self.readers[direction.index()] = reader;
        if let Err(error) = framing {
            report(self.name(), flow, direction, out, "malformed", error);
        }
    }

    fn on_end(&mut self, flow: &FlowMeta, out: &mut Observations) {
        match &mut self.carried {
            Carried::S7comm(h) => h.on_end(flow, out),
            Carried::S7commPlus(h) => h.on_end(flow, out),
            Carried::Mms(h) => h.on_end(flow, out),
            Carried::Undecided(_) | Carried::Unknown => {}
        }
    }
}

/// Takes TCP flows on port 102, and on any port flows whose first bytes are a TPKT record
/// holding a COTP connection request.
struct Factory;

impl DissectorFactory for Factory {
    fn protocol(&self) -> &'static str {
        "cotp"
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
        let by_port = flow.server.port() == PORT || flow.client.port() == PORT;
        let by_content = cotp::looks_like_tpkt(first_payload)
            && first_payload
                .get(5)
                .is_some_and(|code| code & 0xf0 == cotp::tpdu::CR);
        (by_port || by_content).then(|| Box::new(IsoTsapDissector::default()) as Box<dyn Dissector>)
    }
}

/// Registers the port-102 dissector.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register(Box::new(Factory));
}
