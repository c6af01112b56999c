//! IEC 60870-5-101 carried over TCP (serial-to-IP gateways and terminal servers): FT1.2 frames
//! recognised by content on any TCP port but IEC 104's, and their ASDUs decoded with the module
//! shared with IEC 104 ([`crate::iec104::asdu`]).
//!
//! FT1.2 frames: the single character `0xE5`; fixed-length frames `0x10 C A CS 0x16`; and
//! variable-length frames `0x68 L L 0x68 C A ASDU CS 0x16`, where CS is the byte sum of the L
//! bytes from C. A flow is taken only when its first payload is a whole sequence of such frames
//! with right checksums and at least one fixed or variable frame (the strict content check of
//! [`looks_like_ft12`]).
//!
//! The field sizes are an installation's choice and are not on the wire, so they are guessed
//! once per flow ([`guess_params`]): the link address size (0, 1 or 2 bytes) from the first
//! fixed frame whose checksum and end byte only fit one size (1 when no fixed frame came
//! first), then, on the first variable frame, the sizes of the cause of transmission (1 or 2),
//! common address (1 or 2) and object address (1, 2 or 3) in this order of preference:
//! (COT 1, CA 1, IOA 2), the standard's usual profile; (2, 2, 3), IEC 104's, common behind
//! gateways; then every other combination. The first combination whose ASDU has a known type
//! and exactly the length its type and count call for is kept for the flow; an ASDU that fits
//! none is counted and skipped. One-object ASDUs can fit two combinations of the same total
//! length (COT 2 + CA 1 against COT 1 + CA 2): the preference order decides, which can name
//! the common address wrongly on such a link.
//!
//! Roles: the TCP client is the controlling station and the server the controlled station
//! (the gateway in front of the RTU). Facts on the server: service `iec101`, common address
//! `iec101:ca:<n>` and link address `iec101:link:<n>` (hearsay when only the master names
//! them). Events: as IEC 104's ASDUs, with protocol `iec101`. Bounds: a frame is at most
//! [`MAX_FRAME`] bytes.

use std::fmt::Write as _;

use ironward_model::{Attribute, Source};

use crate::framing::{self, Framed, Side};
use crate::iec104::asdu::{Asdu, AsduParams};
use crate::iec104::{self, AsduReporter};
use crate::value::ValueBuf;
use crate::{
    Direction, Dissector, DissectorFactory, DissectorRegistry, FlowMeta, Observations, StreamChunk,
    Transport,
};

/// Largest FT1.2 frame: 4 header bytes, 255 bytes of user data, checksum and end byte.
pub const MAX_FRAME: usize = 261;

/// The single-character acknowledgement.
pub const SINGLE: u8 = 0xe5;
/// Start of a fixed-length frame.
pub const FIXED: u8 = 0x10;
/// Start of a variable-length frame.
pub const VARIABLE: u8 = 0x68;
/// End of fixed- and variable-length frames.
pub const END: u8 = 0x16;

/// The combinations tried, in order of preference: (COT, CA, IOA) sizes.
const CANDIDATES: [(u8, u8, u8); 12] = [
    (1, 1, 2),
    (2, 2, 3),
    (1, 2, 2),
    (2, 2, 2),
    (1, 1, 3),
    (1, 2, 3),
    (2, 1, 2),
    (2, 1, 3),
    (1, 1, 1),
    (1, 2, 1),
    (2, 1, 1),
    (2, 2, 1),
];

/// Why an FT1.2 frame could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ft12Error {
    /// The input ends inside a frame (more bytes are needed).
    Incomplete,
    /// The byte at offset 0 starts no frame.
    BadStart(u8),
    /// The two length bytes differ, or the second start byte is wrong (offset 1 to 3).
    BadHeader,
    /// The checksum at `offset` does not match.
    BadChecksum {
        /// Where the checksum is.
        offset: usize,
    },
    /// The end byte at `offset` is not `0x16`.
    BadEnd {
        /// Where the end byte is.
        offset: usize,
    },
}

impl std::fmt::Display for Ft12Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Incomplete => f.write_str("FT1.2 frame incomplete"),
            Self::BadStart(b) => write!(f, "FT1.2 start byte 0x{b:02x} at offset 0"),
            Self::BadHeader => f.write_str("FT1.2 variable header inconsistent at offset 1"),
            Self::BadChecksum { offset } => write!(f, "FT1.2 checksum wrong at offset {offset}"),
            Self::BadEnd { offset } => write!(f, "FT1.2 end byte wrong at offset {offset}"),
        }
    }
}

impl std::error::Error for Ft12Error {}

/// One FT1.2 frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    /// `0xE5`.
    Single,
    /// A fixed-length frame: control field and link address bytes.
    Fixed {
        /// Control field.
        control: u8,
        /// Link address bytes (0 to 2).
        address: &'a [u8],
    },
    /// A variable-length frame: its user data (control field, link address, ASDU).
    Variable {
        /// The L bytes from the control field on.
        user: &'a [u8],
    },
}

fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |s, b| s.wrapping_add(*b))
}

/// Reads the frame at the start of `input`; fixed frames are read with a link address of
/// `address_size` bytes. Returns the frame and its length.
pub fn parse_frame(input: &[u8], address_size: usize) -> Result<(Frame<'_>, usize), Ft12Error> {
    match input.first() {
        None => Err(Ft12Error::Incomplete),
        Some(&SINGLE) => Ok((Frame::Single, 1)),
        Some(&FIXED) => {
            let len = 4 + address_size;
            let frame = input.get(..len).ok_or(Ft12Error::Incomplete)?;
            let body = &frame[1..len - 2];
            if frame[len - 2] != checksum(body) {
                return Err(Ft12Error::BadChecksum { offset: len - 2 });
            }
            if frame[len - 1] != END {
                return Err(Ft12Error::BadEnd { offset: len - 1 });
            }
            Ok((
                Frame::Fixed {
                    control: body[0],
                    address: &body[1..],
                },
                len,
            ))
        }
        Some(&VARIABLE) => {
            let header = input.get(..4).ok_or(Ft12Error::Incomplete)?;
            if header[1] != header[2] || header[3] != VARIABLE || header[1] == 0 {
                return Err(Ft12Error::BadHeader);
            }
            let l = usize::from(header[1]);
            let frame = input.get(..l + 6).ok_or(Ft12Error::Incomplete)?;
            let user = &frame[4..4 + l];
            if frame[4 + l] != checksum(user) {
                return Err(Ft12Error::BadChecksum { offset: 4 + l });
            }
            if frame[5 + l] != END {
                return Err(Ft12Error::BadEnd { offset: 5 + l });
            }
            Ok((Frame::Variable { user }, l + 6))
        }
        Some(&other) => Err(Ft12Error::BadStart(other)),
    }
}

/// The link address size a fixed frame at the start of `input` fits, if exactly one fits.
fn fixed_address_size(input: &[u8]) -> Option<usize> {
    let mut fits = (0..=2).filter(|&size| parse_frame(input, size).is_ok());
    let first = fits.next()?;
    fits.next().is_none().then_some(first)
}

/// Whether `payload` is a whole sequence of FT1.2 frames with at least one fixed or variable
/// frame (the content check that takes a TCP flow as IEC 101).
pub fn looks_like_ft12(payload: &[u8]) -> bool {
    let mut at = 0;
    let mut framed = false;
    let mut address_size = None;
    while let Some(rest) = payload.get(at..).filter(|r| !r.is_empty()) {
        let size = match rest.first() {
            Some(&FIXED) => match address_size.or_else(|| fixed_address_size(rest)) {
                Some(size) => size,
                None => return false,
            },
            _ => 1,
        };
        match parse_frame(rest, size) {
            Ok((frame, len)) => {
                if let Frame::Fixed { .. } = frame {
                    address_size = Some(size);
                }
                framed |= !matches!(frame, Frame::Single);
                at += len;
            }
            Err(_) => return false,
        }
    }
    framed
}

/// The ASDU field sizes (and the ASDU) that fit variable frame user data `user` after a
/// link address of `address_size` bytes, in the documented order of preference.
pub fn guess_params(user: &[u8], address_size: usize) -> Option<(AsduParams, Asdu<'_>)> {
    let asdu = user.get(1 + address_size..)?;
    CANDIDATES
        .iter()
        .find_map(|&(cot_size, ca_size, ioa_size)| {
            let params = AsduParams {
                cot_size,
                ca_size,
                ioa_size,
            };
            Asdu::parse(asdu, params)
                .ok()
                .filter(Asdu::fits_exactly)
                .map(|a| (params, a))
        })
}

/// Errors counted per flow.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCounts {
    /// Bytes skipped to find the next frame.
    pub skipped_bytes: u64,
    /// Variable frames whose ASDU fits no field sizes (or not the flow's).
    pub bad_asdus: u32,
}

/// The dissector of one IEC 101-over-TCP flow.
#[derive(Debug)]
pub struct Iec101Dissector {
    sides: [Side; 2],
    reporter: AsduReporter,
    address_size: Option<usize>,
    params: Option<AsduParams>,
    reported: [bool; 2],
    /// Errors seen so far.
    pub errors: ErrorCounts,
}

impl Default for Iec101Dissector {
    fn default() -> Self {
        Self {
            sides: Default::default(),
            reporter: AsduReporter::new("iec101", Source::Iec101),
            address_size: None,
            params: None,
            reported: [false; 2],
            errors: ErrorCounts::default(),
        }
    }
}

impl Framed for Iec101Dissector {
    fn sides(&mut self) -> &mut [Side; 2] {
        &mut self.sides
    }
}

impl Iec101Dissector {
    fn consume(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        data: &[u8],
        out: &mut Observations,
    ) -> usize {
        let mut at = 0;
        while let Some(rest) = data.get(at..).filter(|r| !r.is_empty()) {
            if rest.first() == Some(&FIXED) && self.address_size.is_none() {
                if rest.len() < 6 {
                    break;
                }
                self.address_size = fixed_address_size(rest);
            }
            match parse_frame(rest, self.address_size.unwrap_or(1)) {
                Ok((frame, len)) => {
                    self.on_frame(flow, direction, frame, out);
                    at += len;
                }
                Err(Ft12Error::Incomplete) => break,
                Err(_) => {
                    let skip = rest
                        .iter()
                        .skip(1)
                        .position(|b| matches!(*b, SINGLE | FIXED | VARIABLE))
                        .map_or(rest.len(), |p| p + 1);
                    self.errors.skipped_bytes += skip as u64;
                    at += skip;
                }
            }
        }
        at
    }

    fn on_frame(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        frame: Frame<'_>,
        out: &mut Observations,
    ) {
        if direction == Direction::ServerToClient && !self.reported[1] {
            self.reported[1] = true;
            out.fact(
                flow.server_device(),
                Attribute::Service,
                "iec101",
                Source::Iec101,
                flow.now,
            );
        }
        let address_size = self.address_size.unwrap_or(1);
        let (user, address) = match frame {
            Frame::Single => return,
            Frame::Fixed { address, .. } => (None, address),
            Frame::Variable { user } => (
                Some(user),
                user.get(1..1 + address_size).unwrap_or_default(),
            ),
        };
        if !address.is_empty() {
            let number = address
                .iter()
                .rev()
                .fold(0u32, |acc, b| (acc << 8) | u32::from(*b));
            let mut text = ValueBuf::<32>::new();
            let _ = write!(text, "iec101:link:{number}");
            if direction == Direction::ServerToClient {
                out.fact(
                    flow.server_device(),
                    Attribute::ProtocolAddress,
                    text.as_str(),
                    Source::Iec101,
                    flow.now,
                );
            } else {
                out.hearsay(
                    flow.server_device(),
                    Attribute::ProtocolAddress,
                    text.as_str(),
                    Source::Iec101,
                    flow.now,
                );
            }
        }
        let Some(user) = user else {
            return;
        };
        let asdu = match self.params {
            Some(params) => user
                .get(1 + address_size..)
                .and_then(|bytes| Asdu::parse(bytes, params).ok())
                .filter(Asdu::fits_exactly),
            None => guess_params(user, address_size).map(|(params, asdu)| {
                self.params = Some(params);
                asdu
            }),
        };
        match asdu {
            Some(asdu) => self.reporter.on_asdu(flow, direction, &asdu, out),
            None => self.errors.bad_asdus += 1,
        }
    }
}

impl Dissector for Iec101Dissector {
    fn protocol(&self) -> &'static str {
        "iec101"
    }

    fn on_stream(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        chunk: StreamChunk<'_>,
        out: &mut Observations,
    ) {
        framing::feed(self, direction.index(), chunk, MAX_FRAME, |state, data| {
            state.consume(flow, direction, data, out)
        });
    }
}

/// Takes TCP flows, not on IEC 104's port, whose first payload is FT1.2 frames.
#[derive(Debug, Default)]
pub struct Iec101Factory;

impl DissectorFactory for Iec101Factory {
    fn protocol(&self) -> &'static str {
        "iec101"
    }

    fn select(&self, flow: &FlowMeta, _: Direction, first: &[u8]) -> Option<Box<dyn Dissector>> {
        let iec104_port = flow.server.port() == iec104::PORT || flow.client.port() == iec104::PORT;
        (flow.transport == Transport::Tcp && !iec104_port && looks_like_ft12(first))
            .then(|| Box::<Iec101Dissector>::default() as Box<dyn Dissector>)
    }
}

/// Registers the IEC 101-over-TCP dissector.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register(Box::new(Iec101Factory));
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use ironward_model::{EventCategory, Timestamp};

    fn flow() -> FlowMeta {
        FlowMeta {
            id: 1,
            transport: Transport::Tcp,
            client: "10.0.0.1:40000".parse().unwrap(),
            server: "10.0.0.2:4001".parse().unwrap(),
            now: Timestamp(1),
            frame: 1,
        }
    }

    fn variable(control: u8, address: &[u8], asdu: &[u8]) -> Vec<u8> {
        let mut user = vec![control];
        user.extend_from_slice(address);
        user.extend_from_slice(asdu);
        let mut frame = vec![VARIABLE, user.len() as u8, user.len() as u8, VARIABLE];
        frame.extend_from_slice(&user);
        frame.push(checksum(&user));
        frame.push(END);
        frame
    }

    fn fixed(control: u8, address: &[u8]) -> Vec<u8> {
        let mut body = vec![control];
        body.extend_from_slice(address);
        let mut frame = vec![FIXED];
        frame.extend_from_slice(&body);
        frame.push(checksum(&body));
        frame.push(END);
        frame
    }

    #[test]
    fn content_check_is_strict() {
        let f = fixed(0x49, &[1]);
        assert!(looks_like_ft12(&f));
        let mut two = f.clone();
        two.push(SINGLE);
        two.extend_from_slice(&variable(0x73, &[1], &[100, 1, 6, 1, 0, 0, 20]));
        assert!(looks_like_ft12(&two));
        assert!(!looks_like_ft12(&[SINGLE]));
        assert!(!looks_like_ft12(b"GET / HTTP/1.1\r\n"));
        let mut bad = f.clone();
        bad[3] ^= 1;
        assert!(!looks_like_ft12(&bad));
        assert!(!looks_like_ft12(&f[..4]));
    }

    #[test]
    fn standard_profile_interrogation_and_command() {
        // Link address 1 byte; COT 1, CA 1, IOA 2.
        let gi = variable(0x73, &[7], &[100, 1, 6, 3, 0, 0, 20]);
        let cmd = variable(0x53, &[7], &[45, 1, 6, 3, 0x10, 0x27, 0x01]);
        let reply = variable(0x08, &[7], &[1, 1, 20, 3, 1, 0, 1]);
        let mut d = Iec101Dissector::default();
        let mut out = Observations::default();
        let mut both = fixed(0x49, &[7]);
        both.extend_from_slice(&gi);
        both.extend_from_slice(&cmd);
        for chunk in both.chunks(5) {
            d.on_stream(
                &flow(),
                Direction::ClientToServer,
                StreamChunk::Data(chunk),
                &mut out,
            );
        }
        d.on_stream(
            &flow(),
            Direction::ServerToClient,
            StreamChunk::Data(&reply),
            &mut out,
        );
        let ops: Vec<_> = out
            .events()
            .iter()
            .map(|e| format!("{} {}", e.operation, e.detail))
            .collect();
        assert_eq!(
            ops,
            [
                "c_ic_na_1 ca 3, group station",
                "c_sc_na_1 ca 3, ioa 10000, C_SC_NA_1 on, execute",
                "m_sp_na_1 ca 3, inrogen"
            ]
        );
        assert_eq!(out.events()[1].category, EventCategory::ControlCommand);
        assert_eq!(d.address_size, Some(1));
        let facts: Vec<_> = out.drain_facts().collect();
        assert!(facts.iter().any(|f| f.value == "iec101:ca:3"));
        assert!(facts.iter().any(|f| f.value == "iec101:link:7"));
        assert!(facts.iter().any(|f| f.value == "iec101"));
    }

    #[test]
    fn gateway_profile_is_guessed() {
        // No link address byte guessable without a fixed frame: 1 assumed. COT 2, CA 2, IOA 3.
        let asdu = [45, 1, 6, 0, 1, 0, 0xa1, 0x0f, 0, 0x81];
        let frame = variable(0x53, &[1], &asdu);
        let Frame::Variable { user } = parse_frame(&frame, 1).unwrap().0 else {
            panic!()
        };
        let (params, parsed) = guess_params(user, 1).unwrap();
        assert_eq!(params, crate::iec104::asdu::IEC104);
        assert_eq!(parsed.common_address, 1);
    }

    #[test]
    fn garbage_and_unknown_asdus_are_counted() {
        let mut d = Iec101Dissector::default();
        let mut out = Observations::default();
        let mut stream = vec![0x01, 0x02];
        stream.extend_from_slice(&variable(0x53, &[1], &[200, 1, 6, 1]));
        d.on_stream(
            &flow(),
            Direction::ClientToServer,
            StreamChunk::Data(&stream),
            &mut out,
        );
        assert_eq!(d.errors.skipped_bytes, 2);
        assert_eq!(d.errors.bad_asdus, 1);
        assert!(out.events().is_empty());
    }
}
