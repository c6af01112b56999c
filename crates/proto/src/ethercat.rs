//! EtherCAT (IEC 61158 type 12): the master's frames that run through a ring of slave devices,
//! each slave reading and writing its part on the fly. Over Ethernet (ether type 0x88a4) and
//! over UDP (port 34980). Detection level.
//!
//! The 2-byte little-endian EtherCAT header holds the length of what follows (11 bits) and the
//! type (4 bits; 1 = EtherCAT commands). A type-1 frame is a chain of datagrams — command,
//! index, 32-bit address (position or station address and register offset, or a logical
//! address), 11-bit length with the *more follows* bit, interrupt, data, working counter — of
//! which at most [`MAX_DATAGRAMS`] are read, never past the declared length or the frame.
//!
//! Facts: the sender of the commands gets `Service` `ethercat master`. Events, one per
//! datagram, aggregated: operation the command's name in snake case (`aprd`, `fpwr`, `lrw`,
//! ...), category Read for reads (APRD, FPRD, BRD, LRD), Write for writes and read-writes
//! (APWR, APRW, FPWR, FPRW, BWR, BRW, LWR, LRW, ARMW, FRMW), Other for NOP; detail the address
//! (`adp=0xfffe ado=0x0130`, `ado=0x0130` for broadcasts, `addr=0x00010000` for logical
//! commands) and the data length — never the data or the working counter, which change every
//! cycle. Other frame types (network variables, mailbox gateway) give one `frame_type_<n>`
//! Other event.
//!
//! A frame coming back from the ring carries the master's source address with the
//! locally-administered bit set by the first slave: it is recognised as EtherCAT but not counted
//! again (so a master whose own address is locally administered is not seen over Ethernet).

use std::fmt::{self, Write as _};

use ironward_model::{Attribute, DeviceKey, EventCategory, Source};

use crate::observations::Observations;
use crate::session::{Direction, FlowMeta, Transport};
use crate::value::ValueBuf;
use crate::{Dissector, DissectorFactory, DissectorRegistry, FrameDissector, LinkFrame};

/// EtherCAT's ether type.
pub const ETHERTYPE: u16 = 0x88a4;
/// EtherCAT's UDP port.
pub const PORT: u16 = 34980;
/// Most datagrams read from one frame.
pub const MAX_DATAGRAMS: usize = 64;

/// What was wrong with an EtherCAT frame, and where (offset from the EtherCAT header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EthercatError {
    /// The header or a datagram runs past the end of the frame or the declared length.
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Offset of the field.
        offset: usize,
    },
    /// More than [`MAX_DATAGRAMS`] datagrams.
    TooManyDatagrams {
        /// Offset of the first datagram not read.
        offset: usize,
    },
}

impl fmt::Display for EthercatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { field, offset } => {
                write!(f, "EtherCAT {field} truncated at {offset}")
            }
            Self::TooManyDatagrams { offset } => {
                write!(
                    f,
                    "EtherCAT: more than {MAX_DATAGRAMS} datagrams, stopped at {offset}"
                )
            }
        }
    }
}

impl std::error::Error for EthercatError {}

/// The EtherCAT header and the bytes it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// Declared length.
    pub length: u16,
    /// Type (1 commands, 4 network variables, 5 mailbox).
    pub frame_type: u8,
    body: &'a [u8],
}

impl<'a> Frame<'a> {
    /// Parses the header; the body is cut to the declared length (or the frame).
    pub fn parse(payload: &'a [u8]) -> Result<Self, EthercatError> {
        let [lo, hi, body @ ..] = payload else {
            return Err(EthercatError::Truncated {
                field: "header",
                offset: 0,
            });
        };
        let word = u16::from_le_bytes([*lo, *hi]);
        let length = word & 0x07ff;
        let body = body.get(..usize::from(length)).unwrap_or(body);
        Ok(Self {
            length,
            frame_type: (word >> 12) as u8,
            body,
        })
    }

    /// The datagrams of a type-1 frame.
    pub fn datagrams(&self) -> Datagrams<'a> {
        Datagrams {
            body: if self.frame_type == 1 { self.body } else { &[] },
            offset: 0,
            count: 0,
            done: false,
        }
    }
}

/// One EtherCAT datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Datagram {
    /// Command (0 NOP … 14 FRMW).
    pub command: u8,
    /// Index (the master's tag for the datagram).
    pub index: u8,
    /// Address: position/station address in the low 16 bits (ADP) and register offset in the
    /// high 16 bits (ADO), or a logical address.
    pub address: u32,
    /// Data length.
    pub length: u16,
    /// Working counter.
    pub working_counter: u16,
}

impl Datagram {
    /// The position or station address (ADP).
    pub fn adp(&self) -> u16 {
        self.address as u16
    }

    /// The register offset (ADO).
    pub fn ado(&self) -> u16 {
        (self.address >> 16) as u16
    }
}

/// Iterator over a frame's datagrams (see [`Frame::datagrams`]).
#[derive(Debug, Clone)]
pub struct Datagrams<'a> {
    body: &'a [u8],
    offset: usize,
    count: usize,
    done: bool,
}

impl Iterator for Datagrams<'_> {
    type Item = Result<Datagram, EthercatError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let offset = 2 + self.offset;
        let rest = self.body.get(self.offset..).unwrap_or_default();
        if rest.is_empty() {
            self.done = true;
            return None;
        }
        if self.count >= MAX_DATAGRAMS {
            self.done = true;
            return Some(Err(EthercatError::TooManyDatagrams { offset }));
        }
        self.count += 1;
        let [command, index, a0, a1, a2, a3, l0, l1, _irq0, _irq1, data @ ..] = rest else {
            self.done = true;
            return Some(Err(EthercatError::Truncated {
                field: "datagram header",
                offset,
            }));
        };
        let len_word = u16::from_le_bytes([*l0, *l1]);
        let length = len_word & 0x07ff;
        let Some([w0, w1]) = data
            .get(usize::from(length)..usize::from(length) + 2)
            .map(|w| [w[0], w[1]])
        else {
            self.done = true;
            return Some(Err(EthercatError::Truncated {
                field: "datagram data",
                offset,
            }));
        };
        self.offset += 10 + usize::from(length) + 2;
        if len_word & 0x8000 == 0 {
            self.done = true;
        }
        Some(Ok(Datagram {
            command: *command,
            index: *index,
            address: u32::from_le_bytes([*a0, *a1, *a2, *a3]),
            length,
            working_counter: u16::from_le_bytes([w0, w1]),
        }))
    }
}

/// A command's name and category.
pub fn command(command: u8) -> (&'static str, EventCategory) {
    use EventCategory::{Other, Read, Write};
    match command {
        0 => ("nop", Other),
        1 => ("aprd", Read),
        2 => ("apwr", Write),
        3 => ("aprw", Write),
        4 => ("fprd", Read),
        5 => ("fpwr", Write),
        6 => ("fprw", Write),
        7 => ("brd", Read),
        8 => ("bwr", Write),
        9 => ("brw", Write),
        10 => ("lrd", Read),
        11 => ("lwr", Write),
        12 => ("lrw", Write),
        13 => ("armw", Write),
        14 => ("frmw", Write),
        _ => ("unknown_command", Other),
    }
}

/// Frame types, for the event of a non-command frame.
fn frame_type_name(frame_type: u8) -> &'static str {
    match frame_type {
        4 => "frame_type_4",
        5 => "frame_type_5",
        _ => "frame_type_other",
    }
}

/// One event to report: category, operation and detail.
type Report = (EventCategory, &'static str, ValueBuf<64>);

/// Walks a frame and calls `emit` for each event; returns whether it was read whole.
fn reports(frame: &Frame<'_>, mut emit: impl FnMut(Report)) {
    if frame.frame_type != 1 {
        let mut detail = ValueBuf::new();
        let _ = write!(detail, "type={}", frame.frame_type);
        emit((
            EventCategory::Other,
            frame_type_name(frame.frame_type),
            detail,
        ));
        return;
    }
    for datagram in frame.datagrams() {
        let mut detail = ValueBuf::new();
        let Ok(d) = datagram else {
            if let Err(e) = datagram {
                let _ = write!(detail, "{e}");
            }
            emit((EventCategory::Other, "malformed", detail));
            return;
        };
        let (name, category) = command(d.command);
        let _ = match d.command {
            1..=6 | 13 | 14 => write!(detail, "adp={:#06x} ado={:#06x}", d.adp(), d.ado()),
            7..=9 => write!(detail, "ado={:#06x}", d.ado()),
            10..=12 => write!(detail, "addr={:#010x}", d.address),
            _ => Ok(()),
        };
        let _ = write!(detail, " len={}", d.length);
        emit((category, name, detail));
    }
}

/// Dissects EtherCAT frames on Ethernet; stateless.
#[derive(Debug, Default)]
pub struct EthercatFrameDissector;

impl FrameDissector for EthercatFrameDissector {
    fn protocol(&self) -> &'static str {
        "ethercat"
    }

    fn on_frame(&self, frame: &LinkFrame<'_>, out: &mut Observations) -> bool {
        if frame.ethertype != ETHERTYPE || frame.snap_oui.is_some() {
            return false;
        }
        // Returning from the ring: the first slave set the locally-administered bit.
        if frame.src_mac.0[0] & 0x02 != 0 {
            return true;
        }
        let Ok(parsed) = Frame::parse(frame.payload) else {
            return true;
        };
        out.fact(
            DeviceKey::Mac(frame.src_mac),
            Attribute::Service,
            "ethercat master",
            Source::Ethercat,
            frame.now,
        );
        reports(&parsed, |(category, operation, detail)| {
            out.frame_event(frame, "ethercat", category, operation, detail.as_str());
        });
        true
    }
}

/// Dissects EtherCAT over UDP; stateless.
#[derive(Debug, Default)]
pub struct EthercatUdpDissector;

impl Dissector for EthercatUdpDissector {
    fn protocol(&self) -> &'static str {
        "ethercat"
    }

    fn on_datagram(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        payload: &[u8],
        out: &mut Observations,
    ) {
        let Ok(parsed) = Frame::parse(payload) else {
            return;
        };
        // The master sends to the port; answers come back from it.
        if flow.destination(direction).port() != PORT {
            return;
        }
        out.fact(
            flow.sender(direction),
            Attribute::Service,
            "ethercat master",
            Source::Ethercat,
            flow.now,
        );
        reports(&parsed, |(category, operation, detail)| {
            out.event(
                flow,
                direction,
                "ethercat",
                category,
                operation,
                detail.as_str(),
            );
        });
    }
}

/// Whether a UDP payload starts like an EtherCAT command frame: type 1 and a declared length
/// that the payload holds.
pub fn looks_like_ethercat(payload: &[u8]) -> bool {
    Frame::parse(payload).is_ok_and(|f| {
        f.frame_type == 1 && f.length >= 12 && usize::from(f.length) + 2 <= payload.len()
    })
}

/// Takes UDP flows on port 34980 that start like EtherCAT.
#[derive(Debug, Default)]
pub struct EthercatUdpFactory;

impl DissectorFactory for EthercatUdpFactory {
    fn protocol(&self) -> &'static str {
        "ethercat"
    }

    fn select(
        &self,
        flow: &FlowMeta,
        _direction: Direction,
        first_payload: &[u8],
    ) -> Option<Box<dyn Dissector>> {
        let on_port = flow.client.port() == PORT || flow.server.port() == PORT;
        (flow.transport == Transport::Udp && on_port && looks_like_ethercat(first_payload))
            .then(|| Box::new(EthercatUdpDissector) as Box<dyn Dissector>)
    }
}

/// Adds the UDP factory to `registry`.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register(Box::new(EthercatUdpFactory));
}

/// Adds the Ethernet frame dissector to `registry`.
pub fn register_frames(registry: &mut DissectorRegistry) {
    registry.register_frame(Box::new(EthercatFrameDissector));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::hex;
    use ironward_model::{MacAddress, Timestamp};

    /// Two datagrams: FPRD of station 0x1001 register 0x0130 (2 bytes, more follows), LRW
    /// of logical 0x00010000 (4 bytes).
    const FRAME: &str = "1e10
        04 01 0110 3001 0280 0000 0800 0100
        0c 02 00000100 0400 0000 01020304 0300";

    fn run(payload: &[u8], src0: u8) -> (bool, Vec<(String, EventCategory, String)>, usize) {
        let frame = LinkFrame {
            src_mac: MacAddress([src0, 0x01, 0x05, 0x00, 0x00, 0x01]),
            dst_mac: MacAddress([0xff; 6]),
            vlan: None,
            ethertype: ETHERTYPE,
            snap_oui: None,
            payload,
            now: Timestamp(1),
            frame: 1,
        };
        let mut out = Observations::default();
        let taken = EthercatFrameDissector.on_frame(&frame, &mut out);
        let facts = out.drain_facts().count();
        let events = out
            .drain_events()
            .map(|e| (e.operation.into_owned(), e.category, e.detail))
            .collect();
        (taken, events, facts)
    }

    #[test]
    fn datagrams() {
        let bytes = hex(FRAME);
        let frame = Frame::parse(&bytes).unwrap();
        assert_eq!((frame.length, frame.frame_type), (30, 1));
        let datagrams: Vec<_> = frame.datagrams().map(Result::unwrap).collect();
        assert_eq!(datagrams.len(), 2);
        assert_eq!(
            (datagrams[0].adp(), datagrams[0].ado(), datagrams[0].length),
            (0x1001, 0x0130, 2)
        );
        assert_eq!(datagrams[0].working_counter, 1);
        assert_eq!(
            (datagrams[1].address, datagrams[1].working_counter),
            (0x0001_0000, 3)
        );
        let (taken, events, facts) = run(&bytes, 0x00);
        assert!(taken);
        assert_eq!(facts, 1);
        assert_eq!(
            events,
            [
                (
                    "fprd".into(),
                    EventCategory::Read,
                    "adp=0x1001 ado=0x0130 len=2".into()
                ),
                (
                    "lrw".into(),
                    EventCategory::Write,
                    "addr=0x00010000 len=4".into()
                ),
            ]
        );
        // The same frame back from the ring: recognised, not counted.
        assert_eq!(run(&bytes, 0x02), (true, vec![], 0));
    }

    #[test]
    fn truncation_and_bounds() {
        let bytes = hex(FRAME);
        for cut in 0..bytes.len() {
            let _ = run(&bytes[..cut], 0);
        }
        let (_, events, _) = run(&bytes[..20], 0);
        assert_eq!(events.last().unwrap().0, "malformed");
        // A chain of empty NOPs that all say "more follows" stops at MAX_DATAGRAMS.
        let mut many = vec![0xff, 0x17];
        for _ in 0..200 {
            many.extend(hex("00 00 00000000 0080 0000 0000"));
        }
        let frame = Frame::parse(&many).unwrap();
        let all: Vec<_> = frame.datagrams().collect();
        assert_eq!(all.len(), MAX_DATAGRAMS + 1);
        assert!(matches!(
            all.last(),
            Some(Err(EthercatError::TooManyDatagrams { .. }))
        ));
        let (taken, events, _) = run(&hex("1050 00"), 0);
        assert!(taken);
        assert_eq!(events[0].0, "frame_type_5");
    }

    #[test]
    fn over_udp() {
        let bytes = hex(FRAME);
        assert!(looks_like_ethercat(&bytes));
        assert!(!looks_like_ethercat(&bytes[..10]));
        let flow = FlowMeta {
            id: 1,
            transport: Transport::Udp,
            client: ([192, 0, 2, 1], 40000).into(),
            server: ([192, 0, 2, 2], PORT).into(),
            now: Timestamp(1),
            frame: 1,
        };
        let mut dissector = EthercatUdpFactory
            .select(&flow, Direction::ClientToServer, &bytes)
            .unwrap();
        let mut out = Observations::default();
        dissector.on_datagram(&flow, Direction::ClientToServer, &bytes, &mut out);
        dissector.on_datagram(&flow, Direction::ServerToClient, &bytes, &mut out);
        let events: Vec<_> = out.drain_events().collect();
        assert_eq!(events.len(), 2);
        assert!(events.iter().all(|e| e.count == 1));
    }
}
