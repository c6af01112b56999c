//! IEC 60870-5-104 (telecontrol over TCP, port 2404): APCI frames and the ASDUs they carry.
//!
//! The stream of each direction is cut into APDUs (start byte `0x68`, length, four control
//! bytes) with [`crate::framing`]: several APDUs per segment and APDUs split across segments
//! are both read. Bytes that do not start an APDU are skipped up to the next `0x68` and counted
//! (as Wireshark does, a garbage prefix does not lose the APDU after it). I-format APDUs carry
//! an ASDU, decoded by the module shared with IEC 101 ([`asdu`]); S-format APDUs only
//! acknowledge; U-format APDUs start or stop data transfer and test the link.
//!
//! Roles: the TCP client is the controlling station (master), the server the controlled
//! station (outstation). Facts, on the outstation: service `iec104` and each common address
//! as protocol address `iec104:ca:<n>` (hearsay when only the master names it).
//!
//! Events (source = the controlling station, the requester):
//! * commands C_SC … C_BO (with or without time tag) → ControlCommand, one per ASDU from the
//!   master, detail `ca 1, ioa 4001, C_SC_NA_1 on, select` (set-point values included, time
//!   tags left out); interrogation C_IC / C_CI and read C_RD → Read (`ca 1, group station`);
//!   clock synchronisation C_CS and delay acquisition C_CD → TimeSync; test command C_TS →
//!   Diagnostics; reset process C_RP → ModeChange; parameters P_* → ConfigurationChange; file
//!   service F_* from the master → ProgramDownload (sending a file) or ProgramUpload
//!   (selecting, calling, acknowledging a file);
//! * a negative confirmation (P/N bit) from the outstation → `negative_confirmation`, and a
//!   refusal with cause 44–47 (unknown type, cause, common address, object address) →
//!   `error_response`, both in the category of the refused type;
//! * monitoring data (M_*) → Read, operation the type name (`m_me_nc_1`), aggregated per type,
//!   cause and common address (`ca 1, spont`): never per value. The source is the controlling
//!   station too, because the data answers its interrogation or subscription and the Read
//!   category means "this device reads that one" everywhere else; end of initialisation
//!   (M_EI_NA_1) → Other;
//! * a whole file transfer (F_SG_NA_1 segments up to F_LS_NA_1 "file transfer") →
//!   `file_transfer` with the SHA-256 of the segments, ProgramUpload when the outstation sent
//!   it, ProgramDownload otherwise;
//! * U-format: STARTDT/STOPDT act and con → Other, TESTFR act and con → Diagnostics
//!   (`startdt_act`, `testfr_con`, …). S-format frames are not events.
//!
//! Bounds: an APDU is at most [`MAX_APDU`] bytes (the length byte allows no more); one file
//! transfer is hashed per direction, incrementally.

pub mod asdu;

use ironward_model::{Attribute, EventCategory, Source};
use sha2::{Digest, Sha256};

use self::asdu::{Asdu, AsduParams, TypeKind};
use crate::framing::{self, Framed, Side};
use crate::value::ValueBuf;
use crate::{
    Direction, Dissector, DissectorFactory, DissectorRegistry, FlowMeta, Observations, StreamChunk,
    Transport,
};

/// The registered IEC 104 port.
pub const PORT: u16 = 2404;

/// Start byte of every APDU.
pub const START: u8 = 0x68;

/// Largest APDU: start, length byte and at most 253 bytes.
pub const MAX_APDU: usize = 255;

/// Largest APDU length byte (control field and ASDU).
pub const MAX_APDU_LEN: u8 = 253;

/// Why an APDU could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Iec104Error {
    /// The input ends before `field`, which starts at `offset`.
    Truncated {
        /// The field that is cut.
        field: &'static str,
        /// Where it starts.
        offset: usize,
    },
    /// The first byte is not the start byte `0x68`.
    BadStart(u8),
    /// The length byte is below 4 (no room for the control field) or above 253.
    BadLength(u8),
}

impl std::fmt::Display for Iec104Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Truncated { field, offset } => {
                write!(f, "IEC 104 APDU truncated at {field} (offset {offset})")
            }
            Self::BadStart(b) => write!(f, "IEC 104 start byte 0x{b:02x} at offset 0"),
            Self::BadLength(l) => write!(f, "IEC 104 APDU length {l} at offset 1"),
        }
    }
}

impl std::error::Error for Iec104Error {}

/// The U-format functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UFunction {
    /// STARTDT act.
    StartDtAct,
    /// STARTDT con.
    StartDtCon,
    /// STOPDT act.
    StopDtAct,
    /// STOPDT con.
    StopDtCon,
    /// TESTFR act.
    TestFrAct,
    /// TESTFR con.
    TestFrCon,
    /// No single function bit set (the first control byte).
    Other(u8),
}

impl UFunction {
    fn from_control(byte: u8) -> Self {
        match byte & 0xfc {
            0x04 => Self::StartDtAct,
            0x08 => Self::StartDtCon,
            0x10 => Self::StopDtAct,
            0x20 => Self::StopDtCon,
            0x40 => Self::TestFrAct,
            0x80 => Self::TestFrCon,
            _ => Self::Other(byte),
        }
    }

    /// The event operation.
    pub fn operation(self) -> &'static str {
        match self {
            Self::StartDtAct => "startdt_act",
            Self::StartDtCon => "startdt_con",
            Self::StopDtAct => "stopdt_act",
            Self::StopDtCon => "stopdt_con",
            Self::TestFrAct => "testfr_act",
            Self::TestFrCon => "testfr_con",
            Self::Other(_) => "u_format",
        }
    }

    /// Whether this confirms a function the other side activated.
    pub fn is_confirmation(self) -> bool {
        matches!(self, Self::StartDtCon | Self::StopDtCon | Self::TestFrCon)
    }
}

/// The control field of an APDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Apci {
    /// Information transfer, with send and receive sequence numbers.
    I {
        /// Send sequence number N(S).
        send: u16,
        /// Receive sequence number N(R).
        recv: u16,
    },
    /// Supervisory acknowledgement.
    S {
        /// Receive sequence number N(R).
        recv: u16,
    },
    /// Unnumbered control function.
    U(UFunction),
}

/// One APDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Apdu<'a> {
    /// The control field.
    pub apci: Apci,
    /// The ASDU (empty for S- and U-format).
    pub asdu: &'a [u8],
    /// Length of the whole APDU in bytes.
    pub len: usize,
}

impl<'a> Apdu<'a> {
    /// Reads the APDU at the start of `input`.
    pub fn parse(input: &'a [u8]) -> Result<Self, Iec104Error> {
        let (start, length) = match input {
            [s, l, ..] => (*s, *l),
            _ => {
                return Err(Iec104Error::Truncated {
                    field: "APCI",
                    offset: 0,
                })
            }
        };
        if start != START {
            return Err(Iec104Error::BadStart(start));
        }
        if !(4..=MAX_APDU_LEN).contains(&length) {
            return Err(Iec104Error::BadLength(length));
        }
        let len = 2 + usize::from(length);
        let body = input.get(2..len).ok_or(Iec104Error::Truncated {
            field: "APDU",
            offset: 2,
        })?;
        let (control, asdu) = body.split_at(4);
        let [c1, c2, c3, c4] = [control[0], control[1], control[2], control[3]];
        let recv = u16::from_le_bytes([c3, c4]) >> 1;
        let apci = if c1 & 1 == 0 {
            Apci::I {
                send: u16::from_le_bytes([c1, c2]) >> 1,
                recv,
            }
        } else if c1 & 3 == 1 {
            Apci::S { recv }
        } else {
            Apci::U(UFunction::from_control(c1))
        };
        Ok(Self { apci, asdu, len })
    }
}

/// Whether `payload` starts like an APDU (used to accept a flow on port 2404).
pub fn looks_like_apdu(payload: &[u8]) -> bool {
    matches!(payload, [START, l, ..] if (4..=MAX_APDU_LEN).contains(l))
}

/// A file being received in segments.
#[derive(Debug, Clone)]
struct FileTransfer {
    common_address: u16,
    address: u32,
    file: u16,
    bytes: u64,
    hasher: Sha256,
}

/// What IEC 101 and IEC 104 share after the framing: turning ASDUs into facts and events.
#[derive(Debug)]
pub(crate) struct AsduReporter {
    protocol: &'static str,
    source: Source,
    /// Files in transfer, by the sender's direction.
    files: [Option<FileTransfer>; 2],
    /// The common address last reported from each direction (saves building the fact value
    /// for every ASDU of a poll).
    last_ca: [Option<u16>; 2],
}

impl AsduReporter {
    pub(crate) fn new(protocol: &'static str, source: Source) -> Self {
        Self {
            protocol,
            source,
            files: [None, None],
            last_ca: [None, None],
        }
    }

    /// Reports one ASDU sent in `direction` (client → server is the controlling direction).
    pub(crate) fn on_asdu(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        asdu: &Asdu<'_>,
        out: &mut Observations,
    ) {
        let from_master = direction == Direction::ClientToServer;
        if self.last_ca[direction.index()] != Some(asdu.common_address) {
            self.last_ca[direction.index()] = Some(asdu.common_address);
            self.report_address(flow, from_master, asdu.common_address, out);
        }
        let master = Direction::ClientToServer;
        let mut detail = ValueBuf::<160>::new();
        let Some(info) = asdu.info() else {
            let _ = std::fmt::Write::write_fmt(
                &mut detail,
                format_args!(
                    "ca {}, type {}, {}",
                    asdu.common_address,
                    asdu.type_id,
                    asdu::cause_name(asdu.cause)
                ),
            );
            out.event(
                flow,
                master,
                self.protocol,
                EventCategory::Other,
                "unknown_type",
                detail.as_str(),
            );
            return;
        };
        if info.kind == TypeKind::File {
            self.on_file(flow, direction, asdu, out);
        }
        let test = if asdu.test { ", test" } else { "" };
        match info.kind {
            TypeKind::Monitor | TypeKind::EndOfInit => {
                let category = if info.kind == TypeKind::Monitor {
                    EventCategory::Read
                } else {
                    EventCategory::Other
                };
                let operation = if asdu.negative || asdu::is_unknown_cause(asdu.cause) {
                    "error_response"
                } else {
                    info.operation
                };
                // Monitoring data streams in at packet rate: the common address, cause and
                // test flag identify a repeat; the detail is written only the first time.
                out.event_keyed(
                    flow,
                    master,
                    self.protocol,
                    category,
                    operation,
                    (asdu.common_address, asdu.cause, asdu.test),
                    |detail| {
                        let _ = std::fmt::Write::write_fmt(
                            detail,
                            format_args!(
                                "ca {}, {}{test}",
                                asdu.common_address,
                                asdu::cause_name(asdu.cause)
                            ),
                        );
                    },
                );
                return;
            }
            _ => {}
        }
        // Commands and the other control-direction types.
        let category = match (info.kind, info.id) {
            (TypeKind::File, 120 | 121 | 123 | 125) if from_master => {
                EventCategory::ProgramDownload
            }
            _ => info.category(),
        };
        let _ = std::fmt::Write::write_fmt(&mut detail, format_args!("ca {}", asdu.common_address));
        let mut objects = asdu.objects();
        match objects.next() {
            Some(Ok(object)) => {
                if !matches!(
                    info.kind,
                    TypeKind::Interrogation | TypeKind::Clock | TypeKind::Test | TypeKind::Reset
                ) || object.address != 0
                {
                    let _ = std::fmt::Write::write_fmt(
                        &mut detail,
                        format_args!(", ioa {}", object.address),
                    );
                }
                match info.kind {
                    TypeKind::Clock | TypeKind::Test | TypeKind::File => {
                        let _ = std::fmt::Write::write_fmt(
                            &mut detail,
                            format_args!(", {}", info.name),
                        );
                    }
                    _ => {
                        detail.push_bytes(b", ");
                        let _ = asdu::describe(&mut detail, info.id, object.element);
                    }
                }
            }
            Some(Err(_)) | None => {
                let _ = std::fmt::Write::write_fmt(
                    &mut detail,
                    format_args!(", {} malformed", info.name),
                );
            }
        }
        let more = usize::from(asdu.count).saturating_sub(1);
        if more > 0 && !asdu.sequence {
            let _ = std::fmt::Write::write_fmt(&mut detail, format_args!(", +{more} objects"));
        }
        if asdu.cause != asdu::COT_ACT {
            let _ = std::fmt::Write::write_fmt(
                &mut detail,
                format_args!(", {}", asdu::cause_name(asdu.cause)),
            );
        }
        detail.push_bytes(test.as_bytes());
        if from_master {
            out.event(
                flow,
                master,
                self.protocol,
                category,
                info.operation,
                detail.as_str(),
            );
        } else if asdu.negative {
            out.event(
                flow,
                master,
                self.protocol,
                category,
                "negative_confirmation",
                detail.as_str(),
            );
        } else if asdu::is_unknown_cause(asdu.cause) {
            out.event(
                flow,
                master,
                self.protocol,
                category,
                "error_response",
                detail.as_str(),
            );
        }
    }

    /// The common address as a protocol address of the outstation (hearsay from the master).
    fn report_address(
        &self,
        flow: &FlowMeta,
        from_master: bool,
        common_address: u16,
        out: &mut Observations,
    ) {
        let mut address = ValueBuf::<32>::new();
        let _ = std::fmt::Write::write_fmt(
            &mut address,
            format_args!("{}:ca:{}", self.protocol, common_address),
        );
        if from_master {
            out.hearsay(
                flow.server_device(),
                Attribute::ProtocolAddress,
                address.as_str(),
                self.source,
                flow.now,
            );
        } else {
            out.fact(
                flow.server_device(),
                Attribute::ProtocolAddress,
                address.as_str(),
                self.source,
                flow.now,
            );
        }
    }

    /// Follows a file transfer: segments are hashed as they pass; the last segment of the file
    /// reports the transfer.
    fn on_file(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        asdu: &Asdu<'_>,
        out: &mut Observations,
    ) {
        let Some(Ok(object)) = asdu.objects().next() else {
            return;
        };
        let file = object
            .element
            .get(..2)
            .map_or(0, |b| u16::from_le_bytes([b[0], b[1]]));
        let slot = &mut self.files[direction.index()];
        match asdu.type_id {
            asdu::F_SG_NA_1 => {
                let same = slot.as_ref().is_some_and(|t| {
                    (t.common_address, t.address, t.file)
                        == (asdu.common_address, object.address, file)
                });
                if !same {
                    *slot = Some(FileTransfer {
                        common_address: asdu.common_address,
                        address: object.address,
                        file,
                        bytes: 0,
                        hasher: Sha256::new(),
                    });
                }
                if let Some(transfer) = slot.as_mut() {
                    let segment = object.element.get(4..).unwrap_or_default();
                    transfer.hasher.update(segment);
                    transfer.bytes += segment.len() as u64;
                }
            }
            asdu::F_LS_NA_1 => {
                // Last section or segment qualifier: 1 and 2 end the file, 3 and 4 a section.
                let lsq = object.element.get(3).copied().unwrap_or(0);
                if !matches!(lsq, 1 | 2) {
                    return;
                }
                let Some(transfer) = slot.take() else {
                    return;
                };
                let digest = transfer.hasher.finalize();
                let mut hex = ValueBuf::<64>::new();
                hex.push_hex(&digest);
                let mut detail = ValueBuf::<96>::new();
                let _ = std::fmt::Write::write_fmt(
                    &mut detail,
                    format_args!(
                        "ca {}, ioa {}, file {}, {} bytes",
                        transfer.common_address, transfer.address, transfer.file, transfer.bytes
                    ),
                );
                let category = if direction == Direction::ServerToClient {
                    EventCategory::ProgramUpload
                } else {
                    EventCategory::ProgramDownload
                };
                out.event_with_hash(
                    flow,
                    Direction::ClientToServer,
                    self.protocol,
                    category,
                    "file_transfer",
                    detail.as_str(),
                    Some(hex.as_str()),
                );
            }
            _ => {}
        }
    }
}

/// What is wrong in a stream, counted per flow (a bad APDU never ends the flow).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCounts {
    /// Bytes skipped to find the next start byte.
    pub skipped_bytes: u64,
    /// APDUs with a length below 4.
    pub bad_lengths: u32,
    /// I-format APDUs whose ASDU could not be read.
    pub bad_asdus: u32,
}

/// The dissector of one IEC 104 connection.
#[derive(Debug)]
pub struct Iec104Dissector {
    sides: [Side; 2],
    reporter: AsduReporter,
    server_seen: bool,
    /// Errors seen so far.
    pub errors: ErrorCounts,
}

impl Default for Iec104Dissector {
    fn default() -> Self {
        Self {
            sides: Default::default(),
            reporter: AsduReporter::new("iec104", Source::Iec104),
            server_seen: false,
            errors: ErrorCounts::default(),
        }
    }
}

impl Framed for Iec104Dissector {
    fn sides(&mut self) -> &mut [Side; 2] {
        &mut self.sides
    }
}

impl Iec104Dissector {
    /// Reads the APDUs at the start of `data`; returns the bytes used (an incomplete APDU at
    /// the end is left for the next chunk).
    fn consume(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        data: &[u8],
        out: &mut Observations,
    ) -> usize {
        let mut at = 0;
        while let Some(rest) = data.get(at..).filter(|r| !r.is_empty()) {
            match Apdu::parse(rest) {
                Ok(apdu) => {
                    if let Some(violation) = check_apci(&rest[..apdu.len]) {
                        report(flow, direction, out, "violation", violation);
                    }
                    self.on_apdu(flow, direction, &apdu, out);
                    at += apdu.len;
                }
                Err(Iec104Error::Truncated { .. }) => break,
                Err(error @ Iec104Error::BadStart(_)) => {
                    let skip = rest.iter().position(|&b| b == START).unwrap_or(rest.len());
                    self.errors.skipped_bytes += skip as u64;
                    let what = format_args!("{error}, bytes skipped to the next start byte");
                    report(flow, direction, out, "malformed", what);
                    at += skip;
                }
                Err(Iec104Error::BadLength(length)) => {
                    self.errors.bad_lengths += 1;
                    let what = format_args!("APDU length {length} outside 4-{MAX_APDU_LEN}");
                    report(flow, direction, out, "violation", what);
                    // A length too small to hold a control field: pass over what it claims.
                    let skip = if length < 4 {
                        2 + usize::from(length)
                    } else {
                        1
                    };
                    at += skip.min(rest.len());
                }
            }
        }
        at
    }

    fn on_apdu(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        apdu: &Apdu<'_>,
        out: &mut Observations,
    ) {
        if direction == Direction::ServerToClient && !self.server_seen {
            self.server_seen = true;
            out.fact(
                flow.server_device(),
                Attribute::Service,
                "iec104",
                Source::Iec104,
                flow.now,
            );
        }
        match apdu.apci {
            Apci::S { .. } => {}
            Apci::U(function) => {
                let category = match function {
                    UFunction::TestFrAct | UFunction::TestFrCon => EventCategory::Diagnostics,
                    _ => EventCategory::Other,
                };
                // A confirmation answers the other side's activation: its requester is the
                // receiver.
                let requester = if function.is_confirmation() {
                    direction.reverse()
                } else {
                    direction
                };
                out.event(
                    flow,
                    requester,
                    "iec104",
                    category,
                    function.operation(),
                    "",
                );
            }
            Apci::I { .. } => match Asdu::parse(apdu.asdu, asdu::IEC104) {
                Ok(asdu) => self.reporter.on_asdu(flow, direction, &asdu, out),
                Err(error) => {
                    self.errors.bad_asdus += 1;
                    report(flow, direction, out, "malformed", error);
                }
            },
        }
    }
}

/// A rule of the APCI (IEC 60870-5-104 §5) that an APDU breaks while still being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Iec104Violation {
    /// Bits the format reserves (must be 0) are set in the control field.
    Reserved {
        /// `I`, `S` or `U`.
        format: char,
        /// The four control octets.
        control: [u8; 4],
    },
    /// An S- or U-format APDU with bytes after its control field.
    Length {
        /// `S` or `U`.
        format: char,
        /// The APDU length byte.
        length: u8,
    },
    /// A U-format control octet without exactly one function bit.
    UFunction(u8),
}

impl std::fmt::Display for Iec104Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Self::Reserved { format, control } => {
                let [a, b, c, d] = control;
                write!(
                    f,
                    "{format}-format control {a:02x} {b:02x} {c:02x} {d:02x}: reserved bits set"
                )
            }
            Self::Length { format, length } => write!(
                f,
                "{format}-format APDU length {length}, S and U frames have 4"
            ),
            Self::UFunction(c) => {
                write!(f, "U-format control 0x{c:02x} without exactly one function")
            }
        }
    }
}

/// The first rule the control field of a whole APDU (start byte first) breaks, if any.
pub fn check_apci(apdu: &[u8]) -> Option<Iec104Violation> {
    let [_, length, c1, c2, c3, c4, ..] = *apdu else {
        return None;
    };
    let control = [c1, c2, c3, c4];
    let (format, reserved) = if c1 & 1 == 0 {
        ('I', c3 & 1 != 0)
    } else if c1 & 3 == 1 {
        ('S', c1 != 1 || c2 != 0 || c3 & 1 != 0)
    } else {
        if UFunction::from_control(c1) == UFunction::Other(c1) {
            return Some(Iec104Violation::UFunction(c1));
        }
        ('U', c2 != 0 || c3 != 0 || c4 != 0)
    };
    if reserved {
        return Some(Iec104Violation::Reserved { format, control });
    }
    (format != 'I' && length != 4).then_some(Iec104Violation::Length { format, length })
}

/// Reports an APDU sent in `direction` that breaks the protocol (category Other): `malformed`
/// when it cannot be decoded, `violation` when it decodes but breaks a rule of the APCI. Only
/// error paths come here; the detail is built on the stack.
fn report(
    flow: &FlowMeta,
    direction: Direction,
    out: &mut Observations,
    operation: &'static str,
    what: impl std::fmt::Display,
) {
    out.spec_report::<128>(flow, direction, "iec104", operation, what);
}

impl Dissector for Iec104Dissector {
    fn protocol(&self) -> &'static str {
        "iec104"
    }

    fn on_stream(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        chunk: StreamChunk<'_>,
        out: &mut Observations,
    ) {
        framing::feed(self, direction.index(), chunk, MAX_APDU, |state, data| {
            state.consume(flow, direction, data, out)
        });
    }
}

/// Takes TCP flows to or from port 2404.
#[derive(Debug, Default)]
pub struct Iec104Factory;

impl DissectorFactory for Iec104Factory {
    fn protocol(&self) -> &'static str {
        "iec104"
    }

    fn select(&self, flow: &FlowMeta, _: Direction, _: &[u8]) -> Option<Box<dyn Dissector>> {
        (flow.transport == Transport::Tcp
            && (flow.server.port() == PORT || flow.client.port() == PORT))
            .then(|| Box::<Iec104Dissector>::default() as Box<dyn Dissector>)
    }
}

/// Registers the IEC 104 dissector.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register(Box::new(Iec104Factory));
}

/// The parameters IEC 104 uses, for callers that parse ASDUs themselves.
pub const PARAMS: AsduParams = asdu::IEC104;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use ironward_model::{Event, Timestamp};

    fn flow() -> FlowMeta {
        FlowMeta {
            id: 1,
            transport: Transport::Tcp,
            client: "10.0.0.1:40000".parse().unwrap(),
            server: "10.0.0.2:2404".parse().unwrap(),
            now: Timestamp(1),
            frame: 1,
        }
    }

    fn i_frame(asdu: &[u8]) -> Vec<u8> {
        let mut v = vec![START, 4 + asdu.len() as u8, 0, 0, 0, 0];
        v.extend_from_slice(asdu);
        v
    }

    fn run(chunks: &[(Direction, &[u8])]) -> (Vec<Event>, Observations, Iec104Dissector) {
        let mut d = Iec104Dissector::default();
        let mut out = Observations::default();
        for (dir, bytes) in chunks {
            d.on_stream(&flow(), *dir, StreamChunk::Data(bytes), &mut out);
        }
        (out.events().to_vec(), out, d)
    }

    fn ops(events: &[Event]) -> Vec<(String, u64)> {
        events
            .iter()
            .map(|e| (format!("{} {}", e.operation, e.detail), e.count))
            .collect()
    }

    const C2S: Direction = Direction::ClientToServer;
    const S2C: Direction = Direction::ServerToClient;

    #[test]
    fn apci_formats() {
        let apdu = Apdu::parse(&[0x68, 4, 0x07, 0, 0, 0]).unwrap();
        assert_eq!(apdu.apci, Apci::U(UFunction::StartDtAct));
        let apdu = Apdu::parse(&[0x68, 4, 0x01, 0, 0x0a, 0]).unwrap();
        assert_eq!(apdu.apci, Apci::S { recv: 5 });
        let apdu = Apdu::parse(&[0x68, 4, 0x02, 0, 0x04, 0]).unwrap();
        assert_eq!(apdu.apci, Apci::I { send: 1, recv: 2 });
        assert_eq!(Apdu::parse(&[0x68, 2, 0]), Err(Iec104Error::BadLength(2)));
        assert_eq!(Apdu::parse(&[0x15, 4]), Err(Iec104Error::BadStart(0x15)));
        assert!(matches!(
            Apdu::parse(&[0x68, 4, 1]),
            Err(Iec104Error::Truncated { .. })
        ));
    }

    #[test]
    fn commands_interrogation_and_confirmations() {
        let select = i_frame(&[45, 1, 6, 0, 1, 0, 0xa1, 0x0f, 0, 0x81]);
        let negative = i_frame(&[45, 1, 0x47, 0, 1, 0, 0xa1, 0x0f, 0, 0x81]);
        let gi = i_frame(&[100, 1, 6, 0, 1, 0, 0, 0, 0, 20]);
        let mut both = gi.clone();
        both.extend_from_slice(&select);
        let (events, mut out, _) = run(&[(C2S, &both), (S2C, &negative)]);
        assert_eq!(
            ops(&events),
            [
                ("c_ic_na_1 ca 1, group station".to_owned(), 1),
                (
                    "c_sc_na_1 ca 1, ioa 4001, C_SC_NA_1 on, select".to_owned(),
                    1
                ),
                (
                    "negative_confirmation ca 1, ioa 4001, C_SC_NA_1 on, select, actcon".to_owned(),
                    1
                ),
            ]
        );
        assert!(events.iter().all(|e| e.src.ip == Some(flow().client.ip())));
        assert_eq!(events[0].category, EventCategory::Read);
        assert_eq!(events[1].category, EventCategory::ControlCommand);
        let facts: Vec<_> = out.drain_facts().collect();
        assert!(facts
            .iter()
            .any(|f| f.attribute == Attribute::Service && f.value == "iec104"));
        assert!(facts.iter().any(
            |f| f.value == "iec104:ca:1" && f.confidence == Source::Iec104.default_confidence()
        ));
    }

    #[test]
    fn split_and_coalesced_apdus_and_garbage() {
        let mut stream = vec![0x15, 0x06, 0x06];
        stream.extend_from_slice(&[0x68, 4, 0x43, 0, 0, 0]);
        stream.extend_from_slice(&i_frame(&[
            13, 2, 3, 0, 7, 0, 1, 0, 0, 0, 0, 0x80, 0x3f, 0, 2, 0, 0, 0, 0, 0x80, 0x3f, 0,
        ]));
        let mut d = Iec104Dissector::default();
        let mut out = Observations::default();
        for byte in stream.chunks(1) {
            d.on_stream(&flow(), S2C, StreamChunk::Data(byte), &mut out);
        }
        assert_eq!(d.errors.skipped_bytes, 3);
        let (garbage, events): (Vec<_>, Vec<_>) = out
            .events()
            .into_iter()
            .partition(|e| e.operation == "malformed");
        assert_eq!(
            ops(&events),
            [
                ("testfr_act ".to_owned(), 1),
                ("m_me_nc_1 ca 7, spont".to_owned(), 1)
            ]
        );
        assert!(!garbage.is_empty());
        assert!(garbage[0].detail.starts_with("IEC 104 start byte 0x15"));
        // Monitoring repeats aggregate.
        d.on_stream(&flow(), S2C, StreamChunk::Data(&stream[6..]), &mut out);
        let poll = out
            .events()
            .into_iter()
            .find(|e| e.operation == "m_me_nc_1");
        assert_eq!(poll.map(|e| e.count), Some(2));
    }

    #[test]
    fn u_frames_and_confirmation_direction() {
        let (events, _, _) = run(&[
            (C2S, &[0x68, 4, 0x07, 0, 0, 0]),
            (S2C, &[0x68, 4, 0x0b, 0, 0, 0]),
            (S2C, &[0x68, 4, 0x01, 0, 0, 0]),
        ]);
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].operation, "startdt_con");
        assert_eq!(events[1].src.ip, Some(flow().client.ip()));
    }

    #[test]
    fn short_length_and_bad_asdu_are_counted() {
        let (events, _, d) = run(&[(C2S, &[0x68, 2, 0, 1, 0x68, 5, 0, 0, 0, 0, 45])]);
        assert_eq!(d.errors.bad_lengths, 1);
        assert_eq!(d.errors.bad_asdus, 1);
        assert_eq!(
            ops(&events),
            [
                ("violation APDU length 2 outside 4-253".to_owned(), 1),
                (
                    "malformed ASDU truncated at data unit identifier (offset 0)".to_owned(),
                    1
                )
            ]
        );
    }

    #[test]
    fn control_field_rules() {
        let (events, _, _) = run(&[
            // S-format with a reserved bit in the first octet, and with an ASDU after it.
            (C2S, &[0x68, 4, 0x05, 0, 2, 0]),
            (C2S, &[0x68, 5, 0x01, 0, 2, 0, 9]),
            // U-format with two function bits, and with a non-zero second octet.
            (C2S, &[0x68, 4, 0x0f, 0, 0, 0]),
            (C2S, &[0x68, 4, 0x43, 1, 0, 0]),
            // Well-formed S and U frames break nothing.
            (C2S, &[0x68, 4, 0x01, 0, 2, 0]),
            (C2S, &[0x68, 4, 0x43, 0, 0, 0]),
        ]);
        let spec: Vec<_> = ops(&events)
            .into_iter()
            .filter(|(op, _)| op.starts_with("violation"))
            .collect();
        assert_eq!(
            spec,
            [
                "violation S-format control 05 00 02 00: reserved bits set",
                "violation S-format APDU length 5, S and U frames have 4",
                "violation U-format control 0x0f without exactly one function",
                "violation U-format control 43 01 00 00: reserved bits set",
            ]
            .map(|d| (d.to_owned(), 1))
        );
        assert!(events
            .iter()
            .filter(|e| e.operation == "violation")
            .all(|e| e.src.ip == Some(flow().client.ip())));
    }

    #[test]
    fn file_transfer_is_hashed() {
        let seg = |data: &[u8]| {
            let mut a = vec![125, 1, 13, 0, 1, 0, 5, 0, 0, 1, 0, 1, data.len() as u8];
            a.extend_from_slice(data);
            i_frame(&a)
        };
        let last = i_frame(&[123, 1, 13, 0, 1, 0, 5, 0, 0, 1, 0, 1, 1, 0]);
        let (events, _, _) = run(&[(S2C, &seg(b"hello ")), (S2C, &seg(b"world")), (S2C, &last)]);
        let transfer = events
            .iter()
            .find(|e| e.operation == "file_transfer")
            .unwrap();
        assert_eq!(transfer.category, EventCategory::ProgramUpload);
        assert_eq!(transfer.detail, "ca 1, ioa 5, file 1, 11 bytes");
        let expected: String = Sha256::digest(b"hello world")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(transfer.content_hash.as_deref(), Some(expected.as_str()));
    }

    #[test]
    fn gap_ends_the_direction() {
        let mut d = Iec104Dissector::default();
        let mut out = Observations::default();
        d.on_stream(&flow(), C2S, StreamChunk::Data(&[0x68, 4, 0x07]), &mut out);
        d.on_stream(&flow(), C2S, StreamChunk::Gap(10), &mut out);
        d.on_stream(
            &flow(),
            C2S,
            StreamChunk::Data(&[0x68, 4, 0x07, 0, 0, 0]),
            &mut out,
        );
        assert!(out.events().is_empty());
    }
}
