//! Omron FINS (Factory Interface Network Service) over UDP and TCP port 9600.
//!
//! A FINS frame is a 10-byte header (ICF — bit 6 set in responses —, RSV, GCT, destination
//! network / node / unit, source network / node / unit, SID), the command code (MRC, SRC) and,
//! in responses, a two-byte end code (MRES, SRES) before the data. Over TCP every frame rides
//! in a FINS/TCP record: `FINS`, a 4-byte length (of what follows it), a 4-byte command (0 / 1
//! node address exchange, 2 frame send, 3 error notification) and a 4-byte error code.
//!
//! Events (src = requester): one per command, named after it (`memory_area_read`,
//! `program_area_write`, `run`, `stop`, `clock_write`, `forced_set_reset`, …, see
//! [`command`]), with the destination node, and for memory area commands the area, address and
//! count (writes: the first words written); responses with an end code other than normal
//! completion become `error_response` events in the command's category. Facts (about the
//! responder): controller data read → Model and Firmware (the CPU unit's version); controller
//! status read → State (`run` / `stop` / `standby`, with the mode: `run (mode: monitor)`);
//! its FINS node → ProtocolAddress `fins:<network>.<node>`.
//!
//! Bounds: one frame at most [`MAX_FRAME`] bytes is read (longer FINS/TCP records are skipped by
//! their length), memory area write values shown: [`MAX_VALUES`].

use std::fmt::{self, Write as _};

use ironward_model::{Attribute, EventCategory, Source};

use crate::framing::{self, Framed, Side};
use crate::value::ValueBuf;
use crate::{
    Direction, Dissector, DissectorFactory, DissectorRegistry, FlowMeta, Observations, StreamChunk,
    Transport,
};

/// FINS port (UDP and TCP).
pub const PORT: u16 = 9600;
/// Largest FINS frame read (a FINS frame carries at most 2012 bytes of command data).
pub const MAX_FRAME: usize = 2048;
/// FINS/TCP header length (magic, length, command, error code).
pub const TCP_HEADER: usize = 16;
/// Words of a memory area write shown in the event detail.
pub const MAX_VALUES: usize = 4;

const PROTOCOL: &str = "fins";

/// What was wrong with a FINS frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinsError {
    /// The frame ends before `field` (at `offset`).
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Its offset.
        offset: usize,
    },
    /// The ICF reserved bits are set (not a FINS frame).
    BadIcf(u8),
}

impl fmt::Display for FinsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { field, offset } => write!(f, "FINS {field} truncated at {offset}"),
            Self::BadIcf(icf) => write!(f, "FINS ICF {icf:#04x} has reserved bits set at 0"),
        }
    }
}

impl std::error::Error for FinsError {}

/// A FINS frame, zero-copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// Information control field.
    pub icf: u8,
    /// Destination network, node, unit.
    pub destination: [u8; 3],
    /// Source network, node, unit.
    pub source: [u8; 3],
    /// Service id.
    pub sid: u8,
    /// Command code (MRC << 8 | SRC).
    pub command: u16,
    /// End code of a response (MRES << 8 | SRES).
    pub end_code: Option<u16>,
    /// Command or response data.
    pub data: &'a [u8],
}

impl<'a> Frame<'a> {
    /// Parses a FINS frame.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, FinsError> {
        let [icf, _rsv, _gct, dna, da1, da2, sna, sa1, sa2, sid, mrc, src, rest @ ..] = bytes
        else {
            return Err(FinsError::Truncated {
                field: "header",
                offset: 0,
            });
        };
        // Bits 1-5 are reserved (zero).
        if icf & 0x3e != 0 {
            return Err(FinsError::BadIcf(*icf));
        }
        let response = icf & 0x40 != 0;
        let (end_code, data) = if response {
            match rest {
                [mres, sres, data @ ..] => (Some(u16::from_be_bytes([*mres, *sres])), data),
                _ => {
                    return Err(FinsError::Truncated {
                        field: "end code",
                        offset: 12,
                    })
                }
            }
        } else {
            (None, rest)
        };
        Ok(Self {
            icf: *icf,
            destination: [*dna, *da1, *da2],
            source: [*sna, *sa1, *sa2],
            sid: *sid,
            command: u16::from_be_bytes([*mrc, *src]),
            end_code,
            data,
        })
    }

    /// Whether this is a response.
    pub fn is_response(&self) -> bool {
        self.icf & 0x40 != 0
    }
}

/// The operation name and category of a command code.
pub fn command(code: u16) -> (&'static str, EventCategory) {
    use EventCategory::*;
    match code {
        0x0101 => ("memory_area_read", Read),
        0x0102 => ("memory_area_write", Write),
        0x0103 => ("memory_area_fill", Write),
        0x0104 => ("multiple_memory_area_read", Read),
        0x0105 => ("memory_area_transfer", Write),
        0x0201 => ("parameter_area_read", Read),
        0x0202 => ("parameter_area_write", ConfigurationChange),
        0x0203 => ("parameter_area_clear", ConfigurationChange),
        0x0220 => ("data_link_table_read", Read),
        0x0221 => ("data_link_table_write", ConfigurationChange),
        0x0304 => ("program_area_protect", ConfigurationChange),
        0x0305 => ("program_area_protect_clear", ConfigurationChange),
        0x0306 => ("program_area_read", ProgramUpload),
        0x0307 => ("program_area_write", ProgramDownload),
        0x0308 => ("program_area_clear", ProgramDownload),
        0x0401 => ("run", ModeChange),
        0x0402 => ("stop", ModeChange),
        0x0501 => ("controller_data_read", Diagnostics),
        0x0502 => ("connection_data_read", Diagnostics),
        0x0601 => ("controller_status_read", Diagnostics),
        0x0602 => ("network_status_read", Diagnostics),
        0x0603 => ("data_link_status_read", Diagnostics),
        0x0620 => ("cycle_time_read", Diagnostics),
        0x0701 => ("clock_read", TimeSync),
        0x0702 => ("clock_write", TimeSync),
        0x0801 => ("loopback_test", Diagnostics),
        0x0802 => ("broadcast_test_results_read", Diagnostics),
        0x0803 => ("broadcast_test_data_send", Diagnostics),
        0x0920 => ("message_read_clear", Diagnostics),
        0x0c01 => ("access_right_acquire", Other),
        0x0c02 => ("access_right_forced_acquire", Other),
        0x0c03 => ("access_right_release", Other),
        0x2101 => ("error_clear", Diagnostics),
        0x2102 => ("error_log_read", Diagnostics),
        0x2103 => ("error_log_clear", Diagnostics),
        0x2201 => ("file_name_read", Diagnostics),
        0x2202 => ("single_file_read", ProgramUpload),
        0x2203 => ("single_file_write", ProgramDownload),
        0x2204 => ("file_memory_format", ConfigurationChange),
        0x2205 => ("file_delete", ConfigurationChange),
        0x2206 => ("volume_label_create_delete", ConfigurationChange),
        0x2207 => ("file_copy", ConfigurationChange),
        0x2208 => ("file_name_change", ConfigurationChange),
        0x2209 => ("file_data_check", Diagnostics),
        0x220a => ("memory_area_file_transfer", ConfigurationChange),
        0x220b => ("parameter_area_file_transfer", ConfigurationChange),
        0x220c => ("program_area_file_transfer", ProgramDownload),
        0x220f => ("file_memory_index_read", Diagnostics),
        0x2210 => ("file_memory_read", ProgramUpload),
        0x2211 => ("file_memory_write", ProgramDownload),
        0x2301 => ("forced_set_reset", Write),
        0x2302 => ("forced_set_reset_cancel", Write),
        0x230a => ("multiple_forced_status_read", Read),
        0x2601 => ("name_set", ConfigurationChange),
        0x2602 => ("name_delete", ConfigurationChange),
        0x2603 => ("name_read", Diagnostics),
        _ => ("unknown_command", Other),
    }
}

/// Text of a fixed-width ASCII field (NULs and trailing spaces dropped).
fn ascii_field(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    bytes.get(..end).unwrap_or_default().trim_ascii()
}

type Detail = ValueBuf<192>;

fn request_detail(frame: &Frame<'_>) -> Detail {
    let mut d = Detail::new();
    let [net, node, unit] = frame.destination;
    let _ = write!(d, "dst {net}.{node}.{unit}");
    let data = frame.data;
    match (frame.command, data) {
        // Area, 2-byte word address, bit, 2-byte count (and the values of a write / fill).
        (0x0101..=0x0103, [area, a0, a1, bit, n0, n1, values @ ..]) => {
            let count = u16::from_be_bytes([*n0, *n1]);
            let _ = write!(
                d,
                ", area {area:#04x}, address {}.{bit}, count {count}",
                u16::from_be_bytes([*a0, *a1])
            );
            if frame.command != 0x0101 && !values.is_empty() {
                d.push_bytes(b", values ");
                for (i, word) in values.chunks(2).take(MAX_VALUES).enumerate() {
                    if i > 0 {
                        d.push_bytes(b" ");
                    }
                    d.push_hex(word);
                }
                if values.len() > 2 * MAX_VALUES {
                    d.push_bytes(b" ...");
                }
            }
        }
        (0x0104, items) => {
            let _ = write!(d, ", items {}", items.len() / 4);
        }
        // Run: program number, then the mode (2 monitor, 4 run).
        (0x0401, [_, _, mode, ..]) => {
            d.push_bytes(match mode {
                0x02 => b", mode monitor".as_slice(),
                0x04 => b", mode run",
                _ => b", mode other",
            });
        }
        (0x0306..=0x0308, [_, _, a0, a1, a2, a3, rest @ ..]) => {
            let _ = write!(d, ", address {}", u32::from_be_bytes([*a0, *a1, *a2, *a3]));
            if let [n0, n1, ..] = rest {
                let _ = write!(d, ", bytes {}", u16::from_be_bytes([*n0, *n1]));
            }
        }
        (0x2301, [n0, n1, ..]) => {
            let _ = write!(d, ", points {}", u16::from_be_bytes([*n0, *n1]));
        }
        _ => {}
    }
    d
}

/// Per-flow FINS state (the TCP framing; UDP datagrams are whole frames).
#[derive(Debug, Default)]
pub struct FinsDissector {
    sides: [Side; 2],
    /// Commands and responses sent over UDP, per direction.
    udp_kinds: [[u32; 2]; 2],
}

impl Framed for FinsDissector {
    fn sides(&mut self) -> &mut [Side; 2] {
        &mut self.sides
    }
}

/// Handles one FINS frame sent in `direction`.
pub fn on_frame(flow: &FlowMeta, direction: Direction, bytes: &[u8], out: &mut Observations) {
    let Ok(frame) = Frame::parse(bytes) else {
        return;
    };
    let (name, category) = command(frame.command);
    if !frame.is_response() {
        let mut d = request_detail(&frame);
        if name == "unknown_command" {
            let _ = write!(d, ", command {:04x}", frame.command);
        }
        out.event(flow, direction, PROTOCOL, category, name, d.as_str());
        return;
    }
    let end = frame.end_code.unwrap_or_default();
    // Bit 15 (relay error) and bits 6-7 (PLC fatal / non-fatal error) are flags.
    let main = end & 0x7f3f;
    let sender = flow.sender(direction);
    if main != 0 {
        let mut d = Detail::new();
        let _ = write!(
            d,
            "command {:04x} {name}, end code {main:04x}",
            frame.command
        );
        out.event(
            flow,
            direction.reverse(),
            PROTOCOL,
            category,
            "error_response",
            d.as_str(),
        );
        return;
    }
    let mut address = ValueBuf::<24>::new();
    let _ = write!(address, "fins:{}.{}", frame.source[0], frame.source[1]);
    out.fact(
        sender,
        Attribute::ProtocolAddress,
        address.as_str(),
        Source::Fins,
        flow.now,
    );
    match frame.command {
        0x0501 => {
            if let Some(model) = frame.data.get(..20) {
                out.fact_bytes(
                    sender,
                    Attribute::Model,
                    ascii_field(model),
                    Source::Fins,
                    flow.now,
                );
            }
            if let Some(version) = frame.data.get(20..40) {
                out.fact_bytes(
                    sender,
                    Attribute::Firmware,
                    ascii_field(version),
                    Source::Fins,
                    flow.now,
                );
            }
        }
        0x0601 => {
            if let [status, mode, ..] = frame.data {
                let status = match status {
                    0x00 => "stop",
                    0x01 => "run",
                    0x80 => "standby",
                    _ => return,
                };
                let mode = match mode {
                    0x00 => "program",
                    0x02 => "monitor",
                    0x04 => "run",
                    _ => "unknown",
                };
                let mut v = ValueBuf::<40>::new();
                let _ = write!(v, "{status} (mode: {mode})");
                out.fact(sender, Attribute::State, v.as_str(), Source::Fins, flow.now);
            }
        }
        _ => {}
    }
}

impl FinsDissector {
    /// Reads the FINS/TCP records of `bytes`; returns the bytes used.
    fn records(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        bytes: &[u8],
        out: &mut Observations,
    ) -> usize {
        let mut used = 0;
        loop {
            let rest = bytes.get(used..).unwrap_or_default();
            let [b'F', b'I', b'N', b'S', l0, l1, l2, l3, c0, c1, c2, c3, ..] = rest else {
                if rest.len() >= 4 && !rest.starts_with(b"FINS") {
                    self.sides[direction.index()].done = true;
                }
                return used;
            };
            let length = u32::from_be_bytes([*l0, *l1, *l2, *l3]) as usize;
            let total = 8usize.saturating_add(length);
            if total > MAX_FRAME + TCP_HEADER {
                self.sides[direction.index()].skip = total.saturating_sub(rest.len());
                return bytes.len();
            }
            let Some(record) = rest.get(..total) else {
                return used;
            };
            if u32::from_be_bytes([*c0, *c1, *c2, *c3]) == 2 {
                if let Some(frame) = record.get(TCP_HEADER..) {
                    on_frame(flow, direction, frame, out);
                }
            }
            used += total;
        }
    }
}

impl Dissector for FinsDissector {
    fn protocol(&self) -> &'static str {
        PROTOCOL
    }

    fn on_datagram(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        payload: &[u8],
        out: &mut Observations,
    ) {
        if let Ok(frame) = Frame::parse(payload) {
            let kind = usize::from(frame.is_response());
            let counts = &mut self.udp_kinds[direction.index()];
            counts[kind] = counts[kind].saturating_add(1);
        }
        on_frame(flow, direction, payload, out);
    }

    /// FINS over UDP runs from port 9600 to port 9600: when the flow's first sender only
    /// answered (ICF response bit) and the other end sent commands, the first sender is the
    /// server.
    fn roles_reversed(&self) -> bool {
        let [c_commands, c_responses] = self.udp_kinds[Direction::ClientToServer.index()];
        let [s_commands, s_responses] = self.udp_kinds[Direction::ServerToClient.index()];
        c_responses > c_commands && s_commands > s_responses
    }

    fn on_stream(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        chunk: StreamChunk<'_>,
        out: &mut Observations,
    ) {
        framing::feed(
            self,
            direction.index(),
            chunk,
            MAX_FRAME + TCP_HEADER,
            |this, bytes| this.records(flow, direction, bytes, out),
        );
    }
}

/// Takes UDP and TCP flows on port 9600, and TCP flows that start with a FINS/TCP header.
struct Factory;

impl DissectorFactory for Factory {
    fn protocol(&self) -> &'static str {
        PROTOCOL
    }

    fn select(
        &self,
        flow: &FlowMeta,
        _direction: Direction,
        first_payload: &[u8],
    ) -> Option<Box<dyn Dissector>> {
        let by_port = flow.server.port() == PORT || flow.client.port() == PORT;
        let ok = match flow.transport {
            Transport::Udp => by_port,
            Transport::Tcp => by_port || first_payload.starts_with(b"FINS"),
            Transport::Other(_) => false,
        };
        ok.then(|| Box::<FinsDissector>::default() as Box<dyn Dissector>)
    }
}

/// Registers the FINS dissector.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register(Box::new(Factory));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::hex;
    use ironward_model::Timestamp;

    fn flow(transport: Transport) -> FlowMeta {
        FlowMeta {
            id: 1,
            transport,
            client: ([10, 0, 0, 1], 50000).into(),
            server: ([10, 0, 0, 2], PORT).into(),
            now: Timestamp(1),
            frame: 1,
        }
    }

    fn ops(out: &Observations) -> Vec<(String, String, EventCategory)> {
        out.events()
            .iter()
            .map(|e| (e.operation.to_string(), e.detail.clone(), e.category))
            .collect()
    }

    #[test]
    fn the_side_that_answers_is_the_server() {
        let f = flow(Transport::Udp);
        let command = hex("8000020000000000007a010100cccccc0001");
        let response = hex("c000020000000000007a0101000000");
        let mut d = FinsDissector::default();
        let mut out = Observations::default();
        // The controller's answer opened the flow (its command was not captured); then the
        // client asks again from the flow's server side.
        d.on_datagram(&f, Direction::ClientToServer, &response, &mut out);
        d.on_datagram(&f, Direction::ServerToClient, &command, &mut out);
        assert!(d.roles_reversed());
        let mut d = FinsDissector::default();
        d.on_datagram(&f, Direction::ClientToServer, &command, &mut out);
        d.on_datagram(&f, Direction::ServerToClient, &response, &mut out);
        assert!(!d.roles_reversed());
    }

    #[test]
    fn udp_commands() {
        let mut d = FinsDissector::default();
        let mut out = Observations::default();
        let f = flow(Transport::Udp);
        for (dir, h) in [
            // ndpi_fins frame 1: memory area read CIO 0.0 x1.
            (
                Direction::ClientToServer,
                "8000020000000000007a010100cccccc0001",
            ),
            (
                Direction::ClientToServer,
                "8000020000000000007a0102820064000002",
            ),
            (
                Direction::ClientToServer,
                "8000020000000000007a0102820064000002000100ff",
            ),
            (Direction::ClientToServer, "8000020000000000007a0401ffff04"),
            (Direction::ClientToServer, "8000020000000000007a0402ffff"),
            (
                Direction::ClientToServer,
                "8000020000000000007a0307ffff00000000000a",
            ),
            (Direction::ClientToServer, "8000020000000000007a0702"),
            (Direction::ClientToServer, "8000020000000000007a9999"),
            // Error response: 0401 with end code 0x1001 (command too long).
            (Direction::ServerToClient, "c000020000000000007a04011001"),
            // Controller status: run, monitor mode.
            (
                Direction::ServerToClient,
                "c000020000000000007a060100000102",
            ),
        ] {
            d.on_datagram(&f, dir, &hex(h), &mut out);
        }
        assert_eq!(
            ops(&out),
            [
                (
                    "memory_area_read".into(),
                    "dst 0.0.0, area 0x00, address 52428.204, count 1".into(),
                    EventCategory::Read
                ),
                (
                    "memory_area_write".into(),
                    "dst 0.0.0, area 0x82, address 100.0, count 2".into(),
                    EventCategory::Write
                ),
                (
                    "memory_area_write".into(),
                    "dst 0.0.0, area 0x82, address 100.0, count 2, values 0001 00ff".into(),
                    EventCategory::Write
                ),
                (
                    "run".into(),
                    "dst 0.0.0, mode run".into(),
                    EventCategory::ModeChange
                ),
                ("stop".into(), "dst 0.0.0".into(), EventCategory::ModeChange),
                (
                    "program_area_write".into(),
                    "dst 0.0.0, address 0, bytes 10".into(),
                    EventCategory::ProgramDownload
                ),
                (
                    "clock_write".into(),
                    "dst 0.0.0".into(),
                    EventCategory::TimeSync
                ),
                (
                    "unknown_command".into(),
                    "dst 0.0.0, command 9999".into(),
                    EventCategory::Other
                ),
                (
                    "error_response".into(),
                    "command 0401 run, end code 1001".into(),
                    EventCategory::ModeChange
                ),
            ]
        );
        // The error's source is the requester.
        assert_eq!(out.events()[8].src, out.events()[0].src);
        let facts: Vec<(Attribute, String)> = out
            .drain_facts()
            .map(|f| (f.attribute, f.value.to_string()))
            .collect();
        assert!(facts.contains(&(Attribute::State, "run (mode: monitor)".into())));
        assert!(facts.contains(&(Attribute::ProtocolAddress, "fins:0.0".into())));
    }

    #[test]
    fn tcp_controller_data_split_and_coalesced() {
        // ndpi_fins frames 249-252 (node address exchange, 0501 request and response).
        let client = [
            hex("46494e530000000c000000000000000000000000"),
            hex("46494e5300000015000000020000000080000200c8000000ef05050100"),
        ]
        .concat();
        let server = [
            hex("46494e53000000100000000100000000000000fb000000c8"),
            hex("46494e53000000720000000200000000c0000200fbef00c80005050100004350314c2d454c323044522d440000002020202030312e3030000000000030312e3036000000000000000000000000000000000000000000000000010000000000000000000000000000000000010003000a172a1008000000000000"),
        ]
        .concat();
        let f = flow(Transport::Tcp);
        let mut d = FinsDissector::default();
        let mut out = Observations::default();
        d.on_stream(
            &f,
            Direction::ClientToServer,
            StreamChunk::Data(&client),
            &mut out,
        );
        for chunk in server.chunks(5) {
            d.on_stream(
                &f,
                Direction::ServerToClient,
                StreamChunk::Data(chunk),
                &mut out,
            );
        }
        assert_eq!(
            ops(&out),
            [(
                "controller_data_read".into(),
                "dst 0.200.0".into(),
                EventCategory::Diagnostics
            )]
        );
        let facts: Vec<(String, Attribute, String)> = out
            .drain_facts()
            .map(|f| (f.subject.to_string(), f.attribute, f.value.to_string()))
            .collect();
        assert!(facts.contains(&(
            "ip:10.0.0.2".into(),
            Attribute::Model,
            "CP1L-EL20DR-D".into()
        )));
        assert!(facts.contains(&("ip:10.0.0.2".into(), Attribute::Firmware, "01.00".into())));
    }

    #[test]
    fn malformed() {
        assert!(Frame::parse(&[0x80, 0, 2]).is_err());
        assert!(Frame::parse(&hex("8200020000000000007a0101")).is_err());
        assert!(Frame::parse(&hex("c000020000000000007a0101")).is_err());
        // A huge FINS/TCP length is skipped, a non-FINS stream ends the direction.
        let f = flow(Transport::Tcp);
        let mut d = FinsDissector::default();
        let mut out = Observations::default();
        d.on_stream(
            &f,
            Direction::ClientToServer,
            StreamChunk::Data(&hex("46494e53ffffff0000000002")),
            &mut out,
        );
        d.on_stream(
            &f,
            Direction::ServerToClient,
            StreamChunk::Data(b"GET / HTTP/1.0"),
            &mut out,
        );
        for n in 0..40 {
            let frame = hex("c000020000000000007a0501000043503100000000000000000000000000000000");
            let _ = Frame::parse(&frame[..n.min(frame.len())]);
        }
        assert!(out.events().is_empty());
    }
}
