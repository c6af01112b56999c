//! The NetBIOS datagram service (RFC 1002 §4.4, UDP 138) and the Windows browser protocol
//! ([MS-BRWS]) it carries in SMB mailslot messages (`\MAILSLOT\BROWSE`).
//!
//! Hosts running the Server service announce themselves every few minutes:
//! - a host announcement or local master announcement gives the server's name (Hostname), its
//!   OS version (Os: `Windows 10.0` when the server type says Windows NT, otherwise the raw
//!   `NT 6.1`, as Samba sends), its comment (Description), its server type bits (Capability:
//!   workstation, server, domain controller, master browser, print server, ...) and, from the
//!   NetBIOS name it is sent to (`WORKGROUP<1D>` or `<1E>`), its workgroup (Domain);
//! - a domain (workgroup) announcement, sent by a master browser, gives the workgroup or domain
//!   (Domain) and the master browser's own name (Hostname);
//! - an announcement request carries the name of the host asking (Hostname).
//!
//! All are about the sender ([`Source::Nbns`]). Other mailslots and browser messages give
//! nothing.

use std::fmt::{self, Write as _};
use std::net::Ipv4Addr;

use ironward_model::{Attribute, Source};

use super::{NbName, StackText};
use crate::dns::NameBuf;
use crate::{Direction, FlowMeta, Observations};

/// The browser's mailslot.
pub const BROWSE_MAILSLOT: &[u8] = b"\\MAILSLOT\\BROWSE";

/// Why a datagram, its SMB mailslot message or its browser message could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatagramError {
    /// The bytes end inside `field`, which starts at `offset`.
    Truncated {
        /// What was being read.
        field: &'static str,
        /// Where it starts (in the datagram, the SMB message or the browser message).
        offset: usize,
    },
    /// `field` at `offset` holds a value this parser does not read.
    Invalid {
        /// What was being read.
        field: &'static str,
        /// Where it starts.
        offset: usize,
    },
}

impl fmt::Display for DatagramError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { field, offset } => write!(f, "truncated {field} at offset {offset}"),
            Self::Invalid { field, offset } => write!(f, "unexpected {field} at offset {offset}"),
        }
    }
}

impl std::error::Error for DatagramError {}

fn truncated(field: &'static str, offset: usize) -> DatagramError {
    DatagramError::Truncated { field, offset }
}

fn invalid(field: &'static str, offset: usize) -> DatagramError {
    DatagramError::Invalid { field, offset }
}

/// A direct or broadcast datagram (message types 0x10–0x12).
#[derive(Debug, Clone, Copy)]
pub struct Datagram<'a> {
    /// Message type: 0x10 direct unique, 0x11 direct group, 0x12 broadcast.
    pub msg_type: u8,
    /// Flags (more fragments, first fragment, node type).
    pub flags: u8,
    /// Datagram id.
    pub id: u16,
    /// The source node's address, as it wrote it.
    pub source_ip: Ipv4Addr,
    /// The source node's port.
    pub source_port: u16,
    /// The sending NetBIOS name.
    pub source_name: NbName,
    /// The NetBIOS name the datagram is sent to.
    pub destination_name: NbName,
    /// The payload (an SMB message for mailslots).
    pub user_data: &'a [u8],
}

/// Reads an encoded NetBIOS name in DNS label form at `offset` (no compression in datagrams):
/// the 32-letter label, then the scope's labels up to the final zero. Returns the name and the
/// offset after it.
fn datagram_name(
    bytes: &[u8],
    offset: usize,
    field: &'static str,
) -> Result<(NbName, usize), DatagramError> {
    let first = bytes
        .get(offset + 1..offset + 33)
        .filter(|_| bytes.get(offset) == Some(&32))
        .ok_or_else(|| match bytes.get(offset) {
            Some(&32) | None => truncated(field, offset),
            Some(_) => invalid(field, offset),
        })?;
    let name = NbName::decode(first).ok_or_else(|| invalid(field, offset))?;
    // The scope: labels up to a zero, within the 255 bytes a name may take.
    let mut pos = offset + 33;
    loop {
        let &len = bytes.get(pos).ok_or_else(|| truncated(field, offset))?;
        if len == 0 {
            return Ok((name, pos + 1));
        }
        if len & 0xc0 != 0 || pos + 1 + usize::from(len) - offset > crate::dns::MAX_NAME_LEN {
            return Err(invalid(field, offset));
        }
        pos += 1 + usize::from(len);
    }
}

/// Reads a datagram service message; only direct and broadcast datagrams (which carry the
/// browser's messages) are read.
pub fn parse_datagram(bytes: &[u8]) -> Result<Datagram<'_>, DatagramError> {
    let header = bytes
        .get(..14)
        .ok_or_else(|| truncated("datagram header", 0))?;
    let msg_type = header[0];
    if !(0x10..=0x12).contains(&msg_type) {
        return Err(invalid("message type", 0));
    }
    let length = usize::from(u16::from_be_bytes([header[10], header[11]]));
    let (source_name, next) = datagram_name(bytes, 14, "source name")?;
    let (destination_name, next) = datagram_name(bytes, next, "destination name")?;
    // The length counts both names and the user data; trust it only to shorten the data.
    let end = (14 + length).clamp(next, bytes.len());
    Ok(Datagram {
        msg_type,
        flags: header[1],
        id: u16::from_be_bytes([header[2], header[3]]),
        source_ip: Ipv4Addr::new(header[4], header[5], header[6], header[7]),
        source_port: u16::from_be_bytes([header[8], header[9]]),
        source_name,
        destination_name,
        user_data: &bytes[next..end],
    })
}

/// A mailslot write: an SMB Transaction request with the mailslot's name and the data.
#[derive(Debug, Clone, Copy)]
pub struct Mailslot<'a> {
    /// The mailslot's name (`\MAILSLOT\BROWSE`), without its terminating zero.
    pub name: &'a [u8],
    /// The message written to it.
    pub data: &'a [u8],
}

/// Length of the SMB1 header.
const SMB_HEADER_LEN: usize = 32;
/// SMB_COM_TRANSACTION.
const SMB_TRANSACTION: u8 = 0x25;

/// Reads the SMB1 Transaction request a mailslot datagram carries.
pub fn parse_mailslot(smb: &[u8]) -> Result<Mailslot<'_>, DatagramError> {
    let header = smb
        .get(..SMB_HEADER_LEN)
        .ok_or_else(|| truncated("SMB header", 0))?;
    if header[..4] != *b"\xffSMB" {
        return Err(invalid("SMB signature", 0));
    }
    if header[4] != SMB_TRANSACTION {
        return Err(invalid("SMB command", 4));
    }
    let &word_count = smb
        .get(SMB_HEADER_LEN)
        .ok_or_else(|| truncated("word count", SMB_HEADER_LEN))?;
    let words_at = SMB_HEADER_LEN + 1;
    let words = smb
        .get(words_at..words_at + 2 * usize::from(word_count))
        .ok_or_else(|| truncated("parameter words", words_at))?;
    // Transaction words: ..., DataCount (11), DataOffset (12), SetupCount (13), Setup[...].
    let word = |i: usize| {
        words
            .get(2 * i..2 * i + 2)
            .map(|w| usize::from(u16::from_le_bytes([w[0], w[1]])))
    };
    let (Some(data_count), Some(data_offset)) = (word(11), word(12)) else {
        return Err(invalid("word count", SMB_HEADER_LEN));
    };
    let bytes_at = words_at + words.len() + 2;
    let byte_count_field = smb
        .get(bytes_at - 2..bytes_at)
        .ok_or_else(|| truncated("byte count", bytes_at - 2))?;
    let byte_count = usize::from(u16::from_le_bytes([
        byte_count_field[0],
        byte_count_field[1],
    ]));
    let bytes = smb
        .get(bytes_at..(bytes_at + byte_count).min(smb.len()))
        .unwrap_or_default();
    let name_len = bytes
        .iter()
        .position(|&b| b == 0)
        .ok_or_else(|| truncated("mailslot name", bytes_at))?;
    let data = smb
        .get(data_offset..data_offset + data_count)
        .ok_or_else(|| truncated("mailslot data", data_offset))?;
    Ok(Mailslot {
        name: &bytes[..name_len],
        data,
    })
}

/// Which announcement a browser message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnnouncementKind {
    /// A server announcing itself (opcode 1).
    Host,
    /// A master browser announcing its workgroup (opcode 12); the server name field holds the
    /// workgroup, the comment the master browser's name.
    Domain,
    /// A local master browser announcing itself (opcode 15).
    LocalMaster,
}

/// A host, domain or local master announcement.
#[derive(Debug, Clone, Copy)]
pub struct Announcement<'a> {
    /// Which announcement.
    pub kind: AnnouncementKind,
    /// Update count.
    pub update_count: u8,
    /// Announcement period, in milliseconds.
    pub periodicity: u32,
    /// The server (or, in a domain announcement, workgroup) name, up to its first zero.
    pub server_name: &'a [u8],
    /// OS major version.
    pub os_major: u8,
    /// OS minor version.
    pub os_minor: u8,
    /// Server type bits (see [`server_type_names`]).
    pub server_type: u32,
    /// Browser protocol major version.
    pub browser_major: u8,
    /// Browser protocol minor version.
    pub browser_minor: u8,
    /// Signature (0xaa55).
    pub signature: u16,
    /// The comment (in a domain announcement, the master browser's name), up to its first zero.
    pub comment: &'a [u8],
}

/// A browser message.
#[derive(Debug, Clone, Copy)]
pub enum BrowseMessage<'a> {
    /// A host, domain or local master announcement.
    Announcement(Announcement<'a>),
    /// A request that servers announce themselves, with the requester's name.
    AnnouncementRequest {
        /// The name to send announcements to (the requester's).
        response_name: &'a [u8],
    },
    /// Another message (election, backup list, ...), not read further.
    Other {
        /// Its opcode.
        opcode: u8,
    },
}

/// Bytes up to the first zero (or all of them).
fn until_nul(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

/// Reads a browser message (the data of a `\MAILSLOT\BROWSE` write).
pub fn parse_browse(data: &[u8]) -> Result<BrowseMessage<'_>, DatagramError> {
    let (&opcode, rest) = data
        .split_first()
        .ok_or_else(|| truncated("browser opcode", 0))?;
    let kind = match opcode {
        1 => AnnouncementKind::Host,
        12 => AnnouncementKind::Domain,
        15 => AnnouncementKind::LocalMaster,
        2 => {
            let name = rest
                .get(1..)
                .ok_or_else(|| truncated("response computer name", 2))?;
            return Ok(BrowseMessage::AnnouncementRequest {
                response_name: until_nul(name),
            });
        }
        _ => return Ok(BrowseMessage::Other { opcode }),
    };
    let fixed = data.get(..32).ok_or_else(|| truncated("announcement", 0))?;
    let comment = data.get(32..).unwrap_or_default();
    Ok(BrowseMessage::Announcement(Announcement {
        kind,
        update_count: fixed[1],
        periodicity: u32::from_le_bytes([fixed[2], fixed[3], fixed[4], fixed[5]]),
        server_name: until_nul(&fixed[6..22]),
        os_major: fixed[22],
        os_minor: fixed[23],
        server_type: u32::from_le_bytes([fixed[24], fixed[25], fixed[26], fixed[27]]),
        browser_major: fixed[28],
        browser_minor: fixed[29],
        signature: u16::from_le_bytes([fixed[30], fixed[31]]),
        comment: until_nul(comment),
    }))
}

/// Server type bits and the capability each announces ([MS-RAP] SV_TYPE_*). The two top bits
/// (local list only, domain enumeration) describe requests and workgroups, not servers.
const SERVER_TYPES: [(u32, &str); 24] = [
    (0x0000_0001, "workstation"),
    (0x0000_0002, "server"),
    (0x0000_0004, "sql server"),
    (0x0000_0008, "domain controller"),
    (0x0000_0010, "backup domain controller"),
    (0x0000_0020, "time source"),
    (0x0000_0040, "apple file server"),
    (0x0000_0080, "novell server"),
    (0x0000_0100, "domain member"),
    (0x0000_0200, "print server"),
    (0x0000_0400, "dial-in server"),
    (0x0000_0800, "unix server"),
    (0x0000_1000, "nt workstation"),
    (0x0000_2000, "windows for workgroups"),
    (0x0000_4000, "netware file and print"),
    (0x0000_8000, "nt server"),
    (0x0001_0000, "potential browser"),
    (0x0002_0000, "backup browser"),
    (0x0004_0000, "master browser"),
    (0x0008_0000, "domain master browser"),
    (0x0010_0000, "osf"),
    (0x0020_0000, "vms"),
    (0x0040_0000, "windows 95+"),
    (0x0080_0000, "dfs server"),
];

/// The capabilities a server type announces, in bit order.
pub fn server_type_names(server_type: u32) -> impl Iterator<Item = &'static str> {
    SERVER_TYPES
        .iter()
        .filter(move |(bit, _)| server_type & bit != 0)
        .map(|&(_, name)| name)
}

/// SV_TYPE_SERVER_UNIX: Samba and other Unix servers.
const UNIX_SERVER: u32 = 0x0000_0800;
/// SV_TYPE_WORKSTATION_NT and SV_TYPE_SERVER_NT.
const WINDOWS_NT: u32 = 0x0000_1000 | 0x0000_8000;

/// Writes the OS an announcement gives: `Windows 10.0` for Windows NT, else the raw version.
fn os_text(announcement: &Announcement<'_>) -> Option<NameBuf> {
    let (major, minor) = (announcement.os_major, announcement.os_minor);
    if major == 0 && minor == 0 {
        return None;
    }
    let windows =
        announcement.server_type & WINDOWS_NT != 0 && announcement.server_type & UNIX_SERVER == 0;
    let prefix = if windows { "Windows" } else { "NT" };
    let mut text = StackText(NameBuf::new());
    write!(text, "{prefix} {major}.{minor}").ok()?;
    Some(text.0)
}

/// Reports what a datagram's browser message says about its sender.
pub(super) fn report(
    flow: &FlowMeta,
    direction: Direction,
    payload: &[u8],
    out: &mut Observations,
) {
    let Ok(datagram) = parse_datagram(payload) else {
        return;
    };
    let Ok(mailslot) = parse_mailslot(datagram.user_data) else {
        return;
    };
    if !mailslot.name.eq_ignore_ascii_case(BROWSE_MAILSLOT) {
        return;
    }
    let Ok(message) = parse_browse(mailslot.data) else {
        return;
    };
    let subject = flow.sender(direction);
    let mut fact = |attribute: Attribute, value: &[u8]| {
        out.fact_bytes(subject, attribute, value, Source::Nbns, flow.now);
    };
    match message {
        BrowseMessage::Announcement(a) if a.kind == AnnouncementKind::Domain => {
            fact(Attribute::Domain, a.server_name);
            fact(Attribute::Hostname, a.comment);
        }
        BrowseMessage::Announcement(a) => {
            fact(Attribute::Hostname, a.server_name);
            if let Some(os) = os_text(&a) {
                fact(Attribute::Os, os.as_bytes());
            }
            fact(Attribute::Description, a.comment);
            for capability in server_type_names(a.server_type) {
                fact(Attribute::Capability, capability.as_bytes());
            }
            let workgroup = &datagram.destination_name;
            if matches!(workgroup.suffix(), 0x1d | 0x1e) {
                fact(Attribute::Domain, workgroup.name());
            }
        }
        BrowseMessage::AnnouncementRequest { response_name } => {
            fact(Attribute::Hostname, response_name);
        }
        BrowseMessage::Other { .. } => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::tests::{facts, flow, hex};
    use crate::Transport;

    /// Frame 20 of ndpi_netbios.pcapng: NVR9's host announcement to VIGILANT_GROUP<1D>.
    const HOST: &str = "110ec2f40a000509008a00bb000020454f46474643444a43414341434143414341434143\
        414341434143414341434100204647454a4548454a454d4542454f4645465045484643455046464641434142\
        4e00ff534d422500000000000000000000000000000000000000000000000000000011000021000000000000\
        000000e803000000000000000021005600030001000000020032005c4d41494c534c4f545c42524f57534500\
        010080fc0a004e5652390000000000000000000000000601071001000f0155aa00";
    /// Frame 3 of tcpdump_eapon1.pcap: DJP95S0J's workgroup announcement for ARBEITSGRUPPE.
    const DOMAIN: &str = "110e891fc0a801f9008a00c30000204545454b4641444a444646444441454b43414341\
        43414341434143414341414100204142414346504650454e4644454346434550464846444546465046504143\
        414200ff534d4225000000000000000000000000000000000000000000000000000000110000290000000000\
        00000000e80300000000000000002900560003000100010002003a005c4d41494c534c4f545c42524f575345\
        000c0060ea000041524245495453475255505045000100030a001000804cfe0403444a50393553304a00";
    /// Frame 7 of tcpdump_eapon1.pcap: DJP95S0J's local master announcement (Windows XP).
    const LOCAL_MASTER: &str = "110e8922c0a801f9008a00bb0000204545454b4641444a444646444441454b43\
        41434143414341434143414341434100204542464345434546454a4645464445484643464646414641454643\
        414341424f00ff534d4225000000000000000000000000000000000000000000000000000000110000210000\
        00000000000000e803000000000000000021005600030001000000020032005c4d41494c534c4f545c42524f\
        575345000f0080fc0a00444a50393553304a000072006f0073000501031005000f0155aa00";
    /// Frame 1 of tcpdump_eapon1.pcap: DJP95S0J asking ARBEITSGRUPPE's servers to announce.
    const REQUEST: &str = "110e891dc0a801f9008a00a50000204545454b4641444a444646444441454b4341434\
        143414341434143414341414100204542464345434546454a464546444548464346464641464145464341434\
        1414100ff534d42250000000000000000000000000000000000000000000000000000001100000b000000000\
        000000000e80300000000000000000b00560003000100010002001c005c4d41494c534c4f545c42524f57534\
        5000200444a50393553304a00";

    fn run(payload: &[u8]) -> Vec<String> {
        let meta = flow(Transport::Udp, "10.0.5.9:138", "10.0.5.255:138");
        let mut out = Observations::default();
        report(&meta, Direction::ClientToServer, payload, &mut out);
        facts(&mut out)
            .iter()
            .inspect(|f| assert_eq!((f.source, f.confidence), (Source::Nbns, 90)))
            .map(|f| format!("{} {}", f.attribute.as_str(), f.value))
            .collect()
    }

    #[test]
    fn host_announcement() {
        let bytes = hex(HOST);
        let datagram = parse_datagram(&bytes).unwrap();
        assert_eq!(datagram.msg_type, 0x11);
        assert_eq!(datagram.source_ip, Ipv4Addr::new(10, 0, 5, 9));
        assert_eq!(datagram.source_name.to_string(), "NVR9<20>");
        assert_eq!(datagram.destination_name.to_string(), "VIGILANT_GROUP<1d>");
        let mailslot = parse_mailslot(datagram.user_data).unwrap();
        assert_eq!(mailslot.name, BROWSE_MAILSLOT);
        let BrowseMessage::Announcement(a) = parse_browse(mailslot.data).unwrap() else {
            panic!("announcement")
        };
        assert_eq!(a.kind, AnnouncementKind::Host);
        assert_eq!(
            (a.server_name, a.os_major, a.os_minor),
            (&b"NVR9"[..], 6, 1)
        );
        assert_eq!(
            (a.server_type, a.periodicity, a.signature),
            (0x0001_1007, 720_000, 0xaa55)
        );
        assert_eq!(
            run(&bytes),
            [
                "hostname NVR9",
                "os Windows 6.1",
                "capability workstation",
                "capability server",
                "capability sql server",
                "capability nt workstation",
                "capability potential browser",
                "domain VIGILANT_GROUP",
            ]
        );
    }

    #[test]
    fn domain_and_local_master_announcements_and_requests() {
        assert_eq!(
            run(&hex(DOMAIN)),
            ["domain ARBEITSGRUPPE", "hostname DJP95S0J"]
        );
        assert_eq!(
            run(&hex(LOCAL_MASTER)),
            [
                "hostname DJP95S0J",
                "os Windows 5.1",
                "capability workstation",
                "capability server",
                "capability nt workstation",
                "capability potential browser",
                "capability master browser",
                "domain ARBEITSGRUPPE",
            ]
        );
        assert_eq!(run(&hex(REQUEST)), ["hostname DJP95S0J"]);
    }

    #[test]
    fn samba_os_and_comment() {
        let mut bytes = hex(HOST);
        // Turn NVR9 into a Samba server (Unix bit) with a comment.
        let data_at = bytes.len() - 33;
        assert_eq!(bytes[data_at], 1);
        bytes[data_at + 25] |= 0x08;
        bytes.pop();
        bytes.extend_from_slice(b"Samba 4.15.13-Ubuntu\0");
        let fixed_len = bytes.len();
        // The SMB data count grows with the comment.
        let count_at = 14 + 34 + 34 + 33 + 22;
        let count = u16::from_le_bytes([bytes[count_at], bytes[count_at + 1]]) + 20;
        bytes[count_at..count_at + 2].copy_from_slice(&count.to_le_bytes());
        let length = u16::from_be_bytes([bytes[10], bytes[11]]) + 20;
        bytes[10..12].copy_from_slice(&length.to_be_bytes());
        assert_eq!(fixed_len, bytes.len());
        let got = run(&bytes);
        assert!(got.contains(&"os NT 6.1".to_owned()), "{got:?}");
        assert!(got.contains(&"description Samba 4.15.13-Ubuntu".to_owned()));
        assert!(got.contains(&"capability unix server".to_owned()));
    }

    #[test]
    fn malformed_datagrams_are_typed_errors() {
        let bytes = hex(HOST);
        for cut in 0..bytes.len() {
            let _ = run(&bytes[..cut]);
        }
        assert_eq!(
            parse_datagram(&bytes[..13]).unwrap_err(),
            DatagramError::Truncated {
                field: "datagram header",
                offset: 0
            }
        );
        assert_eq!(
            parse_datagram(&bytes[..40]).unwrap_err(),
            DatagramError::Truncated {
                field: "source name",
                offset: 14
            }
        );
        let mut bad = bytes.clone();
        bad[0] = 0x13;
        assert_eq!(
            parse_datagram(&bad).unwrap_err(),
            DatagramError::Invalid {
                field: "message type",
                offset: 0
            }
        );
        let mut bad = bytes.clone();
        bad[20] = b'Z';
        assert!(matches!(
            parse_datagram(&bad),
            Err(DatagramError::Invalid {
                field: "source name",
                ..
            })
        ));
        let smb = parse_datagram(&bytes).unwrap().user_data;
        assert_eq!(
            parse_mailslot(&smb[..40]).unwrap_err(),
            DatagramError::Truncated {
                field: "parameter words",
                offset: 33
            }
        );
        let mut other = smb.to_vec();
        other[4] = 0x72;
        assert!(parse_mailslot(&other).is_err());
        assert!(matches!(
            parse_browse(&[]),
            Err(DatagramError::Truncated { .. })
        ));
        assert!(matches!(
            parse_browse(&[8, 1, 2]),
            Ok(BrowseMessage::Other { opcode: 8 })
        ));
        assert!(parse_browse(&[1, 0, 0]).is_err());
        assert_eq!(
            server_type_names(0x8000_0003).collect::<Vec<_>>(),
            ["workstation", "server"]
        );
    }
}
