/*!
SSH identification lines (RFC 4253 §4.2): `SSH-protoversion-softwareversion SP comments CR LF`,
sent in clear text by both sides before anything else.

- The server's line → [`Software`](Attribute::Software) (`OpenSSH_8.9p1 Ubuntu-3ubuntu0.6`:
  software version and comments); the client's → [`UserAgent`](Attribute::UserAgent).
- Either side's line → [`Os`](Attribute::Os) when it names the operating system unambiguously
  (`Ubuntu-3ubuntu0.6` → Ubuntu Linux, `FreeBSD-20200214` → FreeBSD, `OpenSSH_for_Windows` →
  Windows); version numbers alone say nothing about the system.
- A server speaking protocol 1.x other than 1.99 (which also speaks 2.0) →
  [`SshV1`](Finding::SshV1).

A server may send other lines before its identification; the client may not. Per direction at
most [`MAX_LINE`] bytes of a line are buffered and at most [`MAX_PRE_LINES`] other lines are
skipped; each direction stops after its identification line (the key exchange that follows is
binary and, for the facts above, uninteresting).

The factory takes flows on any port whose first bytes are `SSH-` and a digit, and flows to ports
22 and 2222.
*/

use std::fmt;

use ironward_model::{Attribute, Finding, Source};

use crate::session::{Direction, FlowMeta, StreamChunk, Transport};
use crate::{Dissector, DissectorFactory, DissectorRegistry, Observations};

/// Longest identification line, CR LF included (RFC 4253 §4.2).
pub const MAX_LINE: usize = 255;

/// Most lines a server may send before its identification before the flow is given up.
pub const MAX_PRE_LINES: u8 = 16;

/// Ports where SSH is expected whatever the first bytes.
pub const SSH_PORTS: &[u16] = &[22, 2222];

/// What was wrong with an identification line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SshError {
    /// Occurs when the line does not start with `SSH-`.
    NotIdentification,
    /// Occurs when a field is missing (`SSH-2.0` without a software version).
    Missing {
        /// The missing field.
        field: &'static str,
        /// Where it was expected.
        offset: usize,
    },
}

impl fmt::Display for SshError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotIdentification => f.write_str("not an SSH identification line"),
            Self::Missing { field, offset } => write!(f, "missing {field} at offset {offset}"),
        }
    }
}

impl std::error::Error for SshError {}

/// An identification line, without its line end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identification<'a> {
    /// Protocol version (`2.0`, `1.99`, `1.5`).
    pub proto_version: &'a [u8],
    /// Software version (`OpenSSH_8.9p1`).
    pub software: &'a [u8],
    /// Comments after the first space (`Ubuntu-3ubuntu0.6`), if any.
    pub comments: Option<&'a [u8]>,
}

impl<'a> Identification<'a> {
    /// Parses a line (CR LF or LF already removed).
    pub fn parse(line: &'a [u8]) -> Result<Self, SshError> {
        let rest = line
            .strip_prefix(b"SSH-")
            .ok_or(SshError::NotIdentification)?;
        let dash = rest
            .iter()
            .position(|&b| b == b'-')
            .ok_or(SshError::Missing {
                field: "software version",
                offset: line.len(),
            })?;
        let (proto_version, rest) = (&rest[..dash], &rest[dash + 1..]);
        if proto_version.is_empty() {
            return Err(SshError::Missing {
                field: "protocol version",
                offset: 4,
            });
        }
        let (software, comments) = match rest.iter().position(|&b| b == b' ') {
            Some(space) => (&rest[..space], Some(&rest[space + 1..])),
            None => (rest, None),
        };
        if software.is_empty() {
            return Err(SshError::Missing {
                field: "software version",
                offset: 5 + dash,
            });
        }
        Ok(Self {
            proto_version,
            software,
            comments: comments.filter(|c| !c.is_empty()),
        })
    }

    /// The software and comments as one line (`OpenSSH_8.9p1 Ubuntu-3ubuntu0.6`), which is how
    /// the line ends after the protocol version.
    pub fn software_and_comments(&self, line: &'a [u8]) -> &'a [u8] {
        let start = 4 + self.proto_version.len() + 1;
        line.get(start..).unwrap_or_default()
    }

    /// Whether this is SSH protocol 1 only (1.x, except 1.99 which also speaks 2.0).
    pub fn is_v1_only(&self) -> bool {
        self.proto_version.starts_with(b"1.") && self.proto_version != b"1.99"
    }

    /// The operating system the line names unambiguously, if any.
    pub fn os(&self) -> Option<&'static str> {
        if contains_ignore_case(self.software, b"for_windows") {
            return Some("Windows");
        }
        let comments = self.comments?;
        comments
            .split(|b| !b.is_ascii_alphanumeric())
            .find_map(|token| {
                OS_TOKENS
                    .iter()
                    .find(|(name, _)| token.eq_ignore_ascii_case(name.as_bytes()))
                    .map(|(_, os)| *os)
            })
    }
}

/// Comment tokens that name an operating system, as distributions' OpenSSH packages write them
/// (`Ubuntu-3ubuntu0.6`, `Debian-5+deb11u1`, `Raspbian-10+deb10u2`, `FreeBSD-20200214`).
const OS_TOKENS: &[(&str, &str)] = &[
    ("Ubuntu", "Ubuntu Linux"),
    ("Debian", "Debian Linux"),
    ("Raspbian", "Raspbian Linux"),
    ("FreeBSD", "FreeBSD"),
    ("NetBSD", "NetBSD"),
    ("OpenBSD", "OpenBSD"),
];

/// Whether `haystack` contains `needle`, ASCII case-insensitively.
fn contains_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window.eq_ignore_ascii_case(needle))
}

/// One direction's line reader.
#[derive(Debug, Default)]
struct Side {
    /// A line split across chunks (at most [`MAX_LINE`] bytes).
    line: Vec<u8>,
    /// Lines skipped before the identification.
    pre_lines: u8,
    done: bool,
}

/// The SSH dissector of one flow.
#[derive(Debug, Default)]
pub struct SshDissector {
    sides: [Side; 2],
}

impl SshDissector {
    /// One complete line (line end removed) from `direction`; returns whether the direction
    /// is finished.
    fn on_line(
        flow: &FlowMeta,
        direction: Direction,
        line: &[u8],
        side: &mut Side,
        out: &mut Observations,
    ) -> bool {
        match Identification::parse(line) {
            Ok(id) => {
                report(flow, direction, line, &id, out);
                true
            }
            Err(SshError::NotIdentification) if direction == Direction::ServerToClient => {
                side.pre_lines += 1;
                side.pre_lines > MAX_PRE_LINES
            }
            Err(_) => true,
        }
    }
}

/// Facts from an identification line.
fn report(
    flow: &FlowMeta,
    direction: Direction,
    line: &[u8],
    id: &Identification<'_>,
    out: &mut Observations,
) {
    let subject = flow.sender(direction);
    let attribute = match direction {
        Direction::ServerToClient => Attribute::Software,
        Direction::ClientToServer => Attribute::UserAgent,
    };
    out.fact_bytes(
        subject,
        attribute,
        id.software_and_comments(line),
        Source::Ssh,
        flow.now,
    );
    if let Some(os) = id.os() {
        out.fact(subject, Attribute::Os, os, Source::Ssh, flow.now);
    }
    if direction == Direction::ServerToClient && id.is_v1_only() {
        out.finding(subject, Finding::SshV1, Source::Ssh, flow.now);
    }
}

/// Strips a trailing CR (lines end in CR LF; some old implementations send LF alone).
fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

impl Dissector for SshDissector {
    fn protocol(&self) -> &'static str {
        "ssh"
    }

    fn on_stream(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        chunk: StreamChunk<'_>,
        out: &mut Observations,
    ) {
        let side = &mut self.sides[direction.index()];
        if side.done {
            return;
        }
        let StreamChunk::Data(mut data) = chunk else {
            side.done = true;
            side.line = Vec::new();
            return;
        };
        while !side.done && !data.is_empty() {
            let newline = data.iter().position(|&b| b == b'\n');
            let end = newline.unwrap_or(data.len());
            let finished = if side.line.is_empty() && newline.is_some() {
                // The whole line is in this chunk: no copy.
                end >= MAX_LINE || Self::on_line(flow, direction, trim_cr(&data[..end]), side, out)
            } else if side.line.len() + end >= MAX_LINE {
                true
            } else {
                side.line.extend_from_slice(&data[..end]);
                if newline.is_none() {
                    return;
                }
                let line = std::mem::take(&mut side.line);
                let finished = Self::on_line(flow, direction, trim_cr(&line), side, out);
                side.line = line;
                side.line.clear();
                finished
            };
            if finished {
                side.done = true;
                side.line = Vec::new();
            }
            data = data.get(end + 1..).unwrap_or_default();
        }
    }
}

/// Recognises SSH flows by their first bytes on any port, and by port on [`SSH_PORTS`].
#[derive(Debug, Default)]
pub struct SshFactory;

impl DissectorFactory for SshFactory {
    fn protocol(&self) -> &'static str {
        "ssh"
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
        let by_content =
            matches!(first_payload, [b'S', b'S', b'H', b'-', d, ..] if d.is_ascii_digit());
        (by_content || SSH_PORTS.contains(&flow.server.port()))
            .then(|| Box::new(SshDissector::default()) as Box<dyn Dissector>)
    }
}

/// Adds this module's dissectors to `registry`.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register(Box::new(SshFactory));
}

#[cfg(test)]
mod tests {
    use super::*;
    use ironward_model::{DeviceKey, Fact, Timestamp};

    fn flow(port: u16) -> FlowMeta {
        FlowMeta {
            id: 1,
            transport: Transport::Tcp,
            client: "192.150.186.169:49244".parse().unwrap(),
            server: format!("131.159.14.23:{port}").parse().unwrap(),
            now: Timestamp(1),
            frame: 1,
        }
    }

    fn server() -> DeviceKey {
        DeviceKey::Ip("131.159.14.23".parse().unwrap())
    }

    fn client() -> DeviceKey {
        DeviceKey::Ip("192.150.186.169".parse().unwrap())
    }

    fn run(steps: &[(Direction, &[u8])], piece: usize) -> (Vec<Fact>, SshDissector) {
        let meta = flow(22);
        let mut dissector = SshDissector::default();
        let mut out = Observations::default();
        for (direction, bytes) in steps {
            for part in bytes.chunks(piece) {
                dissector.on_stream(&meta, *direction, StreamChunk::Data(part), &mut out);
            }
        }
        (out.drain_facts().collect(), dissector)
    }

    fn facts_of(facts: &[Fact], subject: DeviceKey) -> Vec<(Attribute, String)> {
        facts
            .iter()
            .filter(|f| f.subject == subject)
            .map(|f| (f.attribute, f.value.to_string()))
            .collect()
    }

    /// `zeek_ssh_single-conn.pcap` frames 4 and 6: a server offering 1.99 (v1 and v2) and a
    /// 2.0 client, lines ending in LF alone; here each is followed by the start of a binary
    /// packet, which must be ignored.
    const SERVER_199: &[u8] = b"SSH-1.99-OpenSSH_3.9p1\n\x00\x00\x02\x3c\x0a\x14";
    const CLIENT_20: &[u8] = b"SSH-2.0-OpenSSH_3.8.1p1\n\x00\x00\x02\x3c\x0a\x14";

    #[test]
    fn banners_from_the_capture() {
        for piece in [1, 2, 7, usize::MAX] {
            let (facts, dissector) = run(
                &[
                    (Direction::ServerToClient, SERVER_199),
                    (Direction::ClientToServer, CLIENT_20),
                ],
                piece,
            );
            assert_eq!(
                facts_of(&facts, server()),
                [(Attribute::Software, "OpenSSH_3.9p1".to_owned())]
            );
            assert_eq!(
                facts_of(&facts, client()),
                [(Attribute::UserAgent, "OpenSSH_3.8.1p1".to_owned())]
            );
            assert!(dissector
                .sides
                .iter()
                .all(|s| s.done && s.line.capacity() == 0));
        }
    }

    #[test]
    fn distribution_comments_name_the_os() {
        let (facts, _) = run(
            &[
                (
                    Direction::ServerToClient,
                    b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6\r\n",
                ),
                (
                    Direction::ClientToServer,
                    b"SSH-2.0-OpenSSH_for_Windows_8.1\r\n",
                ),
            ],
            usize::MAX,
        );
        assert_eq!(
            facts_of(&facts, server()),
            [
                (
                    Attribute::Software,
                    "OpenSSH_8.9p1 Ubuntu-3ubuntu0.6".to_owned()
                ),
                (Attribute::Os, "Ubuntu Linux".to_owned())
            ]
        );
        assert_eq!(
            facts_of(&facts, client()),
            [
                (Attribute::UserAgent, "OpenSSH_for_Windows_8.1".to_owned()),
                (Attribute::Os, "Windows".to_owned())
            ]
        );
    }

    #[test]
    fn os_only_from_unambiguous_tokens() {
        let os = |line: &[u8]| Identification::parse(line).unwrap().os();
        assert_eq!(
            os(b"SSH-2.0-OpenSSH_7.9p1 Raspbian-10+deb10u2"),
            Some("Raspbian Linux")
        );
        assert_eq!(
            os(b"SSH-2.0-OpenSSH_8.4p1 Debian-5+deb11u1"),
            Some("Debian Linux")
        );
        assert_eq!(os(b"SSH-2.0-OpenSSH_7.8 FreeBSD-20180909"), Some("FreeBSD"));
        assert_eq!(os(b"SSH-2.0-OpenSSH_7.4"), None);
        assert_eq!(os(b"SSH-2.0-dropbear_2019.78"), None);
        assert_eq!(os(b"SSH-2.0-OpenSSH_9.0 Ubuntuish"), None);
        assert_eq!(os(b"SSH-2.0-Cisco-1.25"), None);
    }

    #[test]
    fn protocol_1_is_a_finding_on_the_server() {
        let (facts, _) = run(
            &[
                (Direction::ServerToClient, b"SSH-1.5-1.2.27\r\n"),
                (Direction::ClientToServer, b"SSH-1.5-OpenSSH_2.1\r\n"),
            ],
            usize::MAX,
        );
        assert_eq!(
            facts_of(&facts, server()),
            [
                (Attribute::Software, "1.2.27".to_owned()),
                (Attribute::Finding, Finding::SshV1.as_str().to_owned())
            ]
        );
        assert!(facts_of(&facts, client())
            .iter()
            .all(|(a, _)| *a != Attribute::Finding));
        let v199 = Identification::parse(b"SSH-1.99-OpenSSH_3.9p1").unwrap();
        assert!(!v199.is_v1_only());
    }

    #[test]
    fn server_lines_before_the_identification_are_skipped() {
        let (facts, _) = run(
            &[(
                Direction::ServerToClient,
                b"Welcome\r\nAuthorized use only\r\nSSH-2.0-dropbear_2019.78\r\n",
            )],
            5,
        );
        assert_eq!(
            facts_of(&facts, server()),
            [(Attribute::Software, "dropbear_2019.78".to_owned())]
        );
        // A client must start with its identification.
        let (facts, dissector) = run(
            &[(Direction::ClientToServer, b"hello\r\nSSH-2.0-x\r\n")],
            usize::MAX,
        );
        assert!(facts.is_empty());
        assert!(dissector.sides[0].done);
    }

    #[test]
    fn endless_lines_and_line_floods_are_bounded() {
        let long = vec![b'a'; 10_000];
        let (facts, dissector) = run(&[(Direction::ServerToClient, &long)], 100);
        assert!(facts.is_empty());
        assert!(dissector.sides[1].done);
        let flood = b"x\n".repeat(100);
        let (_, dissector) = run(&[(Direction::ServerToClient, &flood)], usize::MAX);
        assert!(dissector.sides[1].done);
    }

    #[test]
    fn malformed_identifications_are_errors() {
        assert_eq!(
            Identification::parse(b"SSH-2.0"),
            Err(SshError::Missing {
                field: "software version",
                offset: 7
            })
        );
        assert_eq!(
            Identification::parse(b"SSH-2.0-"),
            Err(SshError::Missing {
                field: "software version",
                offset: 8
            })
        );
        assert_eq!(
            Identification::parse(b"SSH--x"),
            Err(SshError::Missing {
                field: "protocol version",
                offset: 4
            })
        );
        assert_eq!(
            Identification::parse(b"HTTP/1.1"),
            Err(SshError::NotIdentification)
        );
        let id = Identification::parse(b"SSH-2.0-OpenSSH_7.4 ").unwrap();
        assert_eq!(id.comments, None);
    }

    #[test]
    fn factory_takes_ssh_by_content_and_port() {
        let c2s = Direction::ClientToServer;
        assert!(SshFactory
            .select(&flow(8022), c2s, b"SSH-2.0-x\r\n")
            .is_some());
        assert!(SshFactory.select(&flow(8022), c2s, b"SSH-x").is_none());
        assert!(SshFactory.select(&flow(8022), c2s, b"GET /").is_none());
        assert!(SshFactory.select(&flow(22), c2s, b"\x00\x01").is_some());
        let mut udp = flow(22);
        udp.transport = Transport::Udp;
        assert!(SshFactory.select(&udp, c2s, b"SSH-2.0-x\r\n").is_none());
    }
}
