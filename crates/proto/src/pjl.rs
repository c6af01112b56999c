//! Printer Job Language over raw printing (TCP 9100, "JetDirect"/AppSocket). Print jobs are
//! large and tell nothing about the printer; what does is the printer's answer to status
//! readback: `@PJL INFO ID` gives the model (`"HP LaserJet M507"`), `@PJL INFO CONFIG` (and
//! HP's `INFO PRODINFO`) may give firmware version and serial number.
//!
//! The printer echoes each `@PJL INFO` request line before its answer and ends the answer with
//! a form feed, so only the printer's direction is read, line by line with a small line buffer;
//! each direction is given up after [`MAX_DIRECTION`] bytes and print data is never buffered.

use ironward_model::{Attribute, Source};

use crate::dissector::{Dissector, DissectorFactory, DissectorRegistry};
use crate::ftp::LineReader;
use crate::observations::Observations;
use crate::session::{Direction, FlowMeta, StreamChunk, Transport};
use crate::text;

/// The raw printing port.
pub const PORT: u16 = 9100;

/// Bytes of each direction looked at; the rest of the flow (print data) is skipped.
pub const MAX_DIRECTION: u64 = 64 * 1024;

/// Longest line kept from the printer's answers.
pub const MAX_LINE: usize = 256;

/// The Universal Exit Language sequence that starts PJL jobs and answers.
pub const UEL: &[u8] = b"\x1b%-12345X";

/// Form feed: ends each status readback answer.
const FORM_FEED: u8 = 0x0c;

/// `INFO CONFIG` / `INFO PRODINFO` keys that carry the firmware version (Lexmark, HP).
const FIRMWARE_KEYS: [&str; 4] = [
    "SYSTEM FIRMWARE VERSION",
    "FIRMWARE VERSION",
    "FIRMWARE DATECODE",
    "FIRMWAREDATECODE",
];

/// `INFO CONFIG` / `INFO PRODINFO` keys that carry the serial number.
const SERIAL_KEYS: [&str; 4] = [
    "SERIAL NUMBER",
    "SERIALNUMBER",
    "PRODUCTSERIALNUMBER",
    "SERIAL",
];

/// Why a line is not a PJL command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PjlError {
    /// The line does not start with `@PJL` (after a UEL and form feeds).
    NotPjl,
    /// `@PJL` is followed by something other than a space or the end of the line, at `offset`.
    BadPrefix {
        /// Offset in the line.
        offset: usize,
    },
}

impl std::fmt::Display for PjlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotPjl => f.write_str("not a PJL line"),
            Self::BadPrefix { offset } => write!(f, "no space after @PJL at offset {offset}"),
        }
    }
}

impl std::error::Error for PjlError {}

/// A PJL command line: `@PJL INFO ID`, `@PJL SET COPIES=2`, `@PJL` alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Command<'a> {
    /// The command word (`INFO`, `SET`, `JOB`, ...; empty for the bare `@PJL`).
    pub verb: &'a [u8],
    /// The rest of the line, trimmed (`ID`, `COPIES=2`).
    pub arguments: &'a [u8],
}

/// The category of an `@PJL INFO` status readback request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InfoCategory {
    /// `INFO ID`: the printer model.
    Id,
    /// `INFO CONFIG`: configuration, firmware on some printers.
    Config,
    /// `INFO PRODINFO` (HP): product information.
    Prodinfo,
    /// `INFO STATUS`, `INFO VARIABLES`, ...: nothing about identity.
    Other,
}

impl<'a> Command<'a> {
    /// The category when this is an `INFO` request (or its echo).
    pub fn info_category(&self) -> Option<InfoCategory> {
        if !self.verb.eq_ignore_ascii_case(b"INFO") {
            return None;
        }
        let category = self
            .arguments
            .split(|&b| b == b' ')
            .next()
            .unwrap_or_default();
        Some(if category.eq_ignore_ascii_case(b"ID") {
            InfoCategory::Id
        } else if category.eq_ignore_ascii_case(b"CONFIG") {
            InfoCategory::Config
        } else if category.eq_ignore_ascii_case(b"PRODINFO") {
            InfoCategory::Prodinfo
        } else {
            InfoCategory::Other
        })
    }
}

/// `line` without the UEL sequences, form feeds and spaces that may precede a command.
fn strip_lead(mut line: &[u8]) -> &[u8] {
    loop {
        let before = line.len();
        line = line.strip_prefix(UEL).unwrap_or(line);
        line = match line.iter().position(|&b| b != FORM_FEED && b != b' ') {
            Some(start) => &line[start..],
            None => &[],
        };
        if line.len() == before {
            return line;
        }
    }
}

/// Reads a PJL command line.
pub fn parse_command(line: &[u8]) -> Result<Command<'_>, PjlError> {
    let line = strip_lead(line);
    let rest = line.strip_prefix(b"@PJL").ok_or(PjlError::NotPjl)?;
    let rest = match rest.first() {
        None => rest,
        Some(b' ') | Some(b'\t') => text::trim(rest),
        Some(_) => return Err(PjlError::BadPrefix { offset: 4 }),
    };
    let end = rest
        .iter()
        .position(|&b| b == b' ' || b == b'\t')
        .unwrap_or(rest.len());
    Ok(Command {
        verb: &rest[..end],
        arguments: text::trim(&rest[end..]),
    })
}

/// `"text"` → `text`.
fn unquote(value: &[u8]) -> &[u8] {
    let value = text::trim(value);
    let value = value.strip_prefix(b"\"").unwrap_or(value);
    value.strip_suffix(b"\"").unwrap_or(value)
}

/// A `KEY=VALUE` line of an INFO answer, key and value trimmed (value unquoted).
pub fn key_value(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let equals = line.iter().position(|&b| b == b'=')?;
    Some((text::trim(&line[..equals]), unquote(&line[equals + 1..])))
}

/// The PJL dissector of one flow.
#[derive(Debug)]
pub struct PjlDissector {
    /// The direction the printer's answers travel in.
    printer_direction: Direction,
    lines: LineReader,
    /// Bytes seen per direction.
    seen: [u64; 2],
    /// The INFO answer being read.
    answer: Option<InfoCategory>,
}

impl PjlDissector {
    /// A dissector for a flow whose printer sends in `printer_direction`.
    pub fn new(printer_direction: Direction) -> Self {
        Self {
            printer_direction,
            lines: LineReader::new(MAX_LINE),
            seen: [0; 2],
            answer: None,
        }
    }

    fn on_line(&mut self, flow: &FlowMeta, line: &[u8], out: &mut Observations) {
        // A form feed ends an answer; what follows it on the same line starts the next one.
        for (n, piece) in line.split(|&b| b == FORM_FEED).enumerate() {
            if n > 0 {
                self.answer = None;
            }
            self.on_piece(flow, piece, out);
        }
    }

    fn on_piece(&mut self, flow: &FlowMeta, piece: &[u8], out: &mut Observations) {
        if let Ok(command) = parse_command(piece) {
            // The printer's echo of the request introduces the answer.
            self.answer = command.info_category();
            return;
        }
        let printer = flow.sender(self.printer_direction);
        let piece = text::trim(strip_lead(piece));
        match self.answer {
            Some(InfoCategory::Id) if !piece.is_empty() => {
                out.fact_bytes(
                    printer,
                    Attribute::Model,
                    unquote(piece),
                    Source::Pjl,
                    flow.now,
                );
                self.answer = Some(InfoCategory::Other);
            }
            Some(InfoCategory::Config) | Some(InfoCategory::Prodinfo) => {
                let Some((key, value)) = key_value(piece) else {
                    return;
                };
                let is =
                    |keys: &[&str]| keys.iter().any(|k| key.eq_ignore_ascii_case(k.as_bytes()));
                if is(&FIRMWARE_KEYS) {
                    out.fact_bytes(printer, Attribute::Firmware, value, Source::Pjl, flow.now);
                } else if is(&SERIAL_KEYS) {
                    out.fact_bytes(printer, Attribute::Serial, value, Source::Pjl, flow.now);
                }
            }
            _ => {}
        }
    }
}

impl Dissector for PjlDissector {
    fn protocol(&self) -> &'static str {
        "pjl"
    }

    fn on_stream(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        chunk: StreamChunk<'_>,
        out: &mut Observations,
    ) {
        let i = direction.index();
        let seen = self.seen[i];
        if seen >= MAX_DIRECTION {
            return;
        }
        match chunk {
            StreamChunk::Data(data) => {
                let room = usize::try_from(MAX_DIRECTION - seen).unwrap_or(usize::MAX);
                let data = &data[..data.len().min(room)];
                self.seen[i] = seen + data.len() as u64;
                // The client's side is print data and requests: only counted.
                if direction == self.printer_direction {
                    let mut lines = std::mem::replace(&mut self.lines, LineReader::new(0));
                    lines.feed(data, |line| {
                        self.on_line(flow, line, out);
                        true
                    });
                    self.lines = lines;
                    if self.seen[i] >= MAX_DIRECTION {
                        self.lines.reset();
                    }
                }
            }
            StreamChunk::Gap(_) if direction == self.printer_direction => {
                self.lines.reset();
                self.answer = None;
            }
            StreamChunk::Gap(_) | StreamChunk::End => {}
        }
    }
}

/// Whether a first payload is PJL (a UEL or `@PJL` command first).
pub fn looks_like_pjl(payload: &[u8]) -> bool {
    payload.starts_with(UEL) || parse_command(payload).is_ok() && payload.starts_with(b"@PJL")
}

/// Takes TCP flows to port 9100, and flows on any port that start with PJL.
#[derive(Debug, Default)]
pub struct PjlFactory;

impl DissectorFactory for PjlFactory {
    fn protocol(&self) -> &'static str {
        "pjl"
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
        // Without the handshake the flow's roles may be reversed: the printer is on 9100.
        let printer_direction = if flow.client.port() == PORT && flow.server.port() != PORT {
            Direction::ClientToServer
        } else {
            Direction::ServerToClient
        };
        (flow.server.port() == PORT || flow.client.port() == PORT || looks_like_pjl(first_payload))
            .then(|| Box::new(PjlDissector::new(printer_direction)) as Box<dyn Dissector>)
    }
}

/// Adds this module's dissectors to `registry`.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register(Box::new(PjlFactory));
}

#[cfg(test)]
mod tests {
    use super::*;
    use ironward_model::{DeviceKey, Fact, Timestamp};

    const C2S: Direction = Direction::ClientToServer;
    const S2C: Direction = Direction::ServerToClient;

    fn flow(client_port: u16, server_port: u16) -> FlowMeta {
        FlowMeta {
            id: 1,
            transport: Transport::Tcp,
            client: ([10, 0, 0, 1], client_port).into(),
            server: ([10, 0, 0, 9], server_port).into(),
            now: Timestamp(1),
            frame: 1,
        }
    }

    fn run(flow: FlowMeta, chunks: &[(Direction, &[u8])]) -> Vec<Fact> {
        let mut dissector = PjlFactory.select(&flow, C2S, chunks[0].1).unwrap();
        let mut out = Observations::default();
        for (direction, data) in chunks {
            dissector.on_stream(&flow, *direction, StreamChunk::Data(data), &mut out);
        }
        dissector.on_end(&flow, &mut out);
        out.drain_facts().collect()
    }

    fn pairs(facts: &[Fact]) -> Vec<(Attribute, String)> {
        facts
            .iter()
            .map(|f| (f.attribute, f.value.to_string()))
            .collect()
    }

    /// Status readback as the PJL Technical Reference Manual shows it (chapter 7): the request,
    /// the echoed request line, the answer lines and a form feed.
    const READBACK: &[(Direction, &[u8])] = &[
        (
            C2S,
            b"\x1b%-12345X@PJL INFO ID\r\n@PJL INFO CONFIG\r\n\x1b%-12345X",
        ),
        (S2C, b"@PJL INFO ID\r\n\"HP LaserJet M507\"\r\n\x0c"),
        (
            S2C,
            b"@PJL INFO CONFIG\r\nIN TRAYS [3 ENUMERATED]\r\n\tINTRAY1 MP\r\n",
        ),
        (
            S2C,
            b"SYSTEM FIRMWARE VERSION=\"CXLBL.075.272\"\r\nMEMORY=524288\r\n\x0c",
        ),
        (
            S2C,
            b"@PJL INFO STATUS\r\nCODE=10001\r\nDISPLAY=\"Ready\"\r\nONLINE=TRUE\r\n\x0c",
        ),
    ];

    #[test]
    fn commands_are_typed() {
        let command = parse_command(b"\x1b%-12345X@PJL INFO ID").unwrap();
        assert_eq!(command.verb, b"INFO");
        assert_eq!(command.arguments, b"ID");
        assert_eq!(command.info_category(), Some(InfoCategory::Id));
        assert_eq!(
            parse_command(b"\x0c@PJL  JOB NAME=\"report.pdf\"")
                .unwrap()
                .info_category(),
            None
        );
        assert_eq!(parse_command(b"@PJL").unwrap().verb, b"");
        assert_eq!(
            parse_command(b"@PJLX"),
            Err(PjlError::BadPrefix { offset: 4 })
        );
        assert_eq!(parse_command(b"\"HP LaserJet\""), Err(PjlError::NotPjl));
        assert_eq!(
            key_value(b"DISPLAY=\"Ready\""),
            Some((&b"DISPLAY"[..], &b"Ready"[..]))
        );
        assert_eq!(key_value(b"IN TRAYS [3 ENUMERATED]"), None);
    }

    #[test]
    fn readback_gives_model_and_firmware() {
        let facts = run(flow(50000, PORT), READBACK);
        assert_eq!(
            pairs(&facts),
            [
                (Attribute::Model, "HP LaserJet M507".to_owned()),
                (Attribute::Firmware, "CXLBL.075.272".to_owned()),
            ]
        );
        assert!(facts
            .iter()
            .all(|f| f.subject == DeviceKey::Ip([10, 0, 0, 9].into())));
        // Byte by byte, the same.
        let bytes: Vec<(Direction, [u8; 1])> = READBACK
            .iter()
            .flat_map(|(d, data)| data.iter().map(move |b| (*d, [*b])))
            .collect();
        let chunks: Vec<(Direction, &[u8])> = bytes.iter().map(|(d, b)| (*d, &b[..])).collect();
        assert_eq!(run(flow(50000, PORT), &chunks), facts);
    }

    #[test]
    fn print_data_is_counted_not_read_and_directions_stop() {
        let job = vec![b'@'; 100_000];
        let late = b"@PJL INFO ID\r\n\"Too Late\"\r\n\x0c";
        let mut padding = vec![b'\n'; MAX_DIRECTION as usize];
        padding.extend_from_slice(late);
        let facts = run(
            flow(50000, PORT),
            &[
                (C2S, b"\x1b%-12345X@PJL JOB NAME=\"x\"\r\n"),
                (C2S, &job),
                (S2C, &padding),
                (S2C, late),
            ],
        );
        assert!(facts.is_empty());
        // Reversed roles (the printer's port is the flow's client port), one answer line
        // holding the form feed and the next echo.
        let facts = run(
            flow(PORT, 50000),
            &[(
                C2S,
                b"@PJL INFO ID\r\nLexmark MC3224dwe\x0c@PJL INFO PRODINFO\r\nSerialNumber=7531D8N\r\n\x0c",
            )],
        );
        assert_eq!(
            pairs(&facts),
            [
                (Attribute::Model, "Lexmark MC3224dwe".to_owned()),
                (Attribute::Serial, "7531D8N".to_owned()),
            ]
        );
    }

    #[test]
    fn flows_are_selected_by_port_or_content() {
        assert!(PjlFactory.select(&flow(50000, 9101), C2S, UEL).is_some());
        assert!(PjlFactory
            .select(&flow(50000, 9101), C2S, b"@PJL INFO ID\r\n")
            .is_some());
        assert!(PjlFactory
            .select(&flow(50000, 9101), C2S, b"%!PS-Adobe")
            .is_none());
        assert!(PjlFactory
            .select(&flow(50000, PORT), C2S, b"%!PS-Adobe")
            .is_some());
    }
}
