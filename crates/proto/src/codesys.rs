//! CODESYS V3 runtime communication (the programming, online and gateway protocol of CODESYS
//! controllers) over TCP (11740-11743, and 1217 / 2455 where gateways and OEM runtimes put it)
//! and UDP (1740-1743), with detection of CODESYS V2 (TCP 1200 / 1217 / 2455, `BB BB` header).
//!
//! Layout (CODESYS publishes no wire specification; the facts come from the public runtime
//! headers of the CODESYS Control SDK as shipped in OEM repositories (service group and
//! service numbers, tag numbers), nmap's `codesys3` library and Microsoft's ICS forensics
//! tools (layer layouts)):
//! - block driver (TCP only): magic `00 01 17 E8` (0xE8170100 little-endian), a u32 LE length
//!   of the whole block including these 8 bytes;
//! - datagram layer: `C5`, hop count (5 bits) / header length in 16-bit words (3 bits), packet
//!   info (priority, signal, address type, data length), service id (1/2 address
//!   notification, 3 name service request, 4 name service response, 0x40 channel manager),
//!   message id, receiver / sender address lengths (4 bits each, in 16-bit words), then the
//!   addresses and padding to a multiple of 4;
//! - name service (3/4): package type (0xC201 resolve name, 0xC202 resolve address, 0xC203
//!   resolve gateway, 0xC280 identification), version, request id; an identification carries
//!   the node, device and vendor names (UTF-16LE), the runtime version and the serial number;
//! - channel layer (0x40): 0x01 application block (flags: bit 7 request, bit 0 first block;
//!   channel id, block id, ack id, and in a first block the total size and a CRC), 0x02 ack,
//!   0x03 keep-alive, 0xC3 / 0x83 open channel request / response, 0xC4 close channel;
//! - services layer (at the start of a first block): protocol id (0xCD55 plain, 0x7557
//!   encrypted), header size, service group (0x80 set in replies), service id, session id,
//!   content size, then binary tags (7-bit varint id and size; ids with bit 7 set nest tags).
//!
//! Events (src = requester): name service requests (`name_service_resolve`, Discovery),
//! `open_channel` / `close_channel` (Other), and one per services-layer request, named after
//! the service where it is known (`get_target_ident`, `login`, `logout`, `download`,
//! `online_change`, `start`, `stop`, `reset`, `read_vars`, `write_vars`, file transfer …, see
//! [`service`]; otherwise `<group>_service`), with the group and service numbers in the
//! detail; encrypted services layers give `encrypted_service` events; a login reply with a
//! non-zero result gives `error_response` (Authentication). Credentials are never read.
//! Facts (about the answering device): Service `codesys` (`codesys v2` for V2); from a
//! name service identification or a get-target-ident reply: Hostname (node name), Model
//! (device name), Vendor, Firmware (runtime version), Serial.
//!
//! Only the first block of a services-layer message is read (continuation blocks are
//! skipped); V2 is detected, not decoded.
//!
//! Bounds: one block driver frame / datagram of at most [`MAX_BLOCK`] bytes is read (longer
//! blocks: their first [`MAX_BLOCK`] bytes), tag walks visit at most [`MAX_TAGS`] tags and
//! nest at most [`MAX_DEPTH`] levels.

use std::fmt::{self, Write as _};

use ironward_model::{Attribute, EventCategory, Source};

use crate::framing::{self, Framed, Side};
use crate::value::ValueBuf;
use crate::{
    Direction, Dissector, DissectorFactory, DissectorRegistry, FlowMeta, Observations, StreamChunk,
    Transport,
};

/// TCP ports of the V3 block driver (and of V2 where they coincide).
pub const TCP_PORTS: [u16; 6] = [11740, 11741, 11742, 11743, 1217, 2455];
/// UDP ports of the V3 block driver.
pub const UDP_PORTS: [u16; 4] = [1740, 1741, 1742, 1743];
/// The CODESYS V2 runtime port (besides 1217 / 2455).
pub const V2_PORT: u16 = 1200;
/// Bytes of one block read.
pub const MAX_BLOCK: usize = 4096;
/// Tags visited per message.
pub const MAX_TAGS: usize = 64;
/// Tag nesting followed.
pub const MAX_DEPTH: usize = 3;

const PROTOCOL: &str = "codesys";
/// The block driver magic as it appears on the wire.
const MAGIC: [u8; 4] = [0x00, 0x01, 0x17, 0xe8];
const BLOCK_HEADER: usize = 8;

/// What was wrong with a CODESYS V3 PDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodesysError {
    /// The bytes end before `field` (at `offset`).
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Its offset.
        offset: usize,
    },
    /// `field` (at `offset`) does not hold its fixed value.
    BadMagic {
        /// The field.
        field: &'static str,
        /// Its offset.
        offset: usize,
    },
    /// The block driver length (at 4) is below its own header.
    BadLength(u32),
}

impl fmt::Display for CodesysError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { field, offset } => {
                write!(f, "CODESYS {field} truncated at {offset}")
            }
            Self::BadMagic { field, offset } => write!(f, "CODESYS {field} invalid at {offset}"),
            Self::BadLength(n) => write!(f, "CODESYS block length {n} at 4 too short"),
        }
    }
}

impl std::error::Error for CodesysError {}

/// A datagram layer PDU, zero-copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Datagram<'a> {
    /// Service id (1-4 address / name services, 0x40 channel manager).
    pub service: u8,
    /// Receiver address.
    pub receiver: &'a [u8],
    /// Sender address.
    pub sender: &'a [u8],
    /// What follows the addresses and padding.
    pub payload: &'a [u8],
}

impl<'a> Datagram<'a> {
    /// Parses a datagram layer PDU.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, CodesysError> {
        let [magic, hop, _info, service, _message, lengths, ..] = bytes else {
            return Err(CodesysError::Truncated {
                field: "datagram header",
                offset: 0,
            });
        };
        let header = usize::from(hop & 0x07) * 2;
        if *magic != 0xc5 || header < 6 {
            return Err(CodesysError::BadMagic {
                field: "datagram header",
                offset: 0,
            });
        }
        let receiver_len = usize::from(lengths & 0x0f) * 2;
        let sender_len = usize::from(lengths >> 4) * 2;
        let receiver_end = header + receiver_len;
        let sender_end = receiver_end + sender_len;
        let truncated = CodesysError::Truncated {
            field: "addresses",
            offset: header,
        };
        let receiver = bytes.get(header..receiver_end).ok_or(truncated)?;
        let sender = bytes.get(receiver_end..sender_end).ok_or(truncated)?;
        let start = (sender_end + 3) & !3;
        Ok(Self {
            service: *service,
            receiver,
            sender,
            payload: bytes.get(start..).unwrap_or_default(),
        })
    }
}

/// A services layer header, zero-copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Services<'a> {
    /// 0xCD55 plain, 0x7557 encrypted.
    pub protocol_id: u16,
    /// Service group, without the reply bit.
    pub group: u16,
    /// A reply (bit 0x80 of the group).
    pub reply: bool,
    /// Service id within the group.
    pub service: u16,
    /// The tags (plain) or ciphertext (encrypted) at hand.
    pub content: &'a [u8],
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    match b.get(at..at + 2)? {
        [x, y] => Some(u16::from_le_bytes([*x, *y])),
        _ => None,
    }
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    match b.get(at..at + 4)? {
        [a, b2, c, d] => Some(u32::from_le_bytes([*a, *b2, *c, *d])),
        _ => None,
    }
}

impl<'a> Services<'a> {
    /// Parses a services layer header.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, CodesysError> {
        let truncated = |field, offset| CodesysError::Truncated { field, offset };
        let protocol_id = le16(bytes, 0).ok_or(truncated("protocol id", 0))?;
        if protocol_id != 0xcd55 && protocol_id != 0x7557 {
            return Err(CodesysError::BadMagic {
                field: "protocol id",
                offset: 0,
            });
        }
        let header_size = usize::from(le16(bytes, 2).ok_or(truncated("header size", 2))?);
        let group = le16(bytes, 4).ok_or(truncated("service group", 4))?;
        let service = le16(bytes, 6).ok_or(truncated("service id", 6))?;
        Ok(Self {
            protocol_id,
            group: group & !0x80,
            reply: group & 0x80 != 0,
            service,
            content: bytes.get(4 + header_size..).unwrap_or_default(),
        })
    }
}

/// A group's name, used in details and for services without their own name.
fn group_name(group: u16) -> (&'static str, &'static str) {
    match group {
        0x01 => ("device", "CmpDevice"),
        0x02 => ("app", "CmpApp"),
        0x03 => ("monitoring", "CmpMonitor"),
        0x04 => ("visualisation", "CmpVisuServer"),
        0x05 => ("log", "CmpLog"),
        0x06 => ("settings", "CmpSettings"),
        0x07 => ("ethercat", "EtherCAT"),
        0x08 => ("file_transfer", "CmpFileTransfer"),
        0x09 => ("iec_var_access", "CmpIecVarAccess"),
        0x0a => ("component_manager", "CmpMgr"),
        0x0b => ("io_manager", "CmpIoMgr"),
        0x0c => ("user_manager", "CmpUserMgr"),
        0x0d => ("online_params", "OnlineParams"),
        0x0f => ("trace_manager", "CmpTraceMgr"),
        0x11 => ("plc_shell", "PlcShell"),
        0x12 => ("app_breakpoint", "CmpAppBP"),
        0x13 => ("app_force", "CmpAppForce"),
        0x14 => ("redundancy", "CmpRedundancy"),
        0x18 => ("alarm_manager", "CmpAlarmManager"),
        0x19 => ("profinet", "Profinet"),
        0x1b => ("monitoring2", "CmpMonitor2"),
        0x1d => ("codemeter", "CmpCodeMeter"),
        0x1f => ("core_dump", "CmpCoreDump"),
        0x20 => ("backup", "CmpBackup"),
        0x22 => ("x509_cert", "CmpX509Cert"),
        0x23 => ("security_manager", "CmpSecurityManager"),
        _ => ("unknown", "unknown"),
    }
}

/// The operation name and category of a service (group without the reply bit).
pub fn service(group: u16, id: u16) -> (&'static str, EventCategory) {
    use EventCategory::*;
    match (group, id) {
        (0x01, 0x01) => ("get_target_ident", Diagnostics),
        (0x01, 0x02) => ("login", Authentication),
        (0x01, 0x03) => ("logout", Authentication),
        (0x01, 0x04) => ("reset_origin", ConfigurationChange),
        (0x01, 0x05) => ("echo", Diagnostics),
        (0x01, 0x06) => ("set_operation_mode", ConfigurationChange),
        (0x01, 0x07) => ("get_operation_mode", Diagnostics),
        (0x01, 0x08) => ("interactive_login", Authentication),
        (0x01, 0x09) => ("set_node_name", ConfigurationChange),
        (0x02, 0x01) => ("app_login", Authentication),
        (0x02, 0x02) => ("app_logout", Authentication),
        (0x02, 0x03) => ("create_app", ProgramDownload),
        (0x02, 0x04) => ("delete_app", ProgramDownload),
        (0x02, 0x05) => ("download", ProgramDownload),
        (0x02, 0x06) => ("online_change", ProgramDownload),
        (0x02, 0x07) => ("device_download", ProgramDownload),
        (0x02, 0x08) => ("create_dev_app", ProgramDownload),
        (0x02, 0x10) => ("start", ModeChange),
        (0x02, 0x11) => ("stop", ModeChange),
        (0x02, 0x12) => ("reset", ModeChange),
        (0x02, 0x13) => ("set_breakpoint", Other),
        (0x02, 0x14) => ("read_status", Diagnostics),
        (0x02, 0x15) => ("delete_breakpoint", Other),
        (0x02, 0x16) => ("read_callstack", Diagnostics),
        (0x02, 0x18) => ("read_application_list", Diagnostics),
        (0x02, 0x20) => ("release_force_list", Write),
        (0x02, 0x21) => ("upload_force_list", Write),
        (0x02, 0x22) => ("single_cycle", ModeChange),
        (0x02, 0x23) => ("create_boot_project", ProgramDownload),
        (0x02, 0x24) => ("reinit_app", ModeChange),
        (0x02, 0x25) => ("read_app_state_list", Diagnostics),
        (0x02, 0x26) => ("load_boot_application", ModeChange),
        (0x02, 0x29) => ("read_application_info", Diagnostics),
        (0x02, 0x30) => ("download_compact", ProgramDownload),
        (0x02, 0x31) => ("read_project_info", Diagnostics),
        (0x02, 0x34) => ("download_encrypted", ProgramDownload),
        (0x02, 0x35) => ("read_application_content", ProgramUpload),
        (0x02, 0x36) => ("save_retains", Other),
        (0x02, 0x37) => ("restore_retains", Write),
        (0x03 | 0x1b, 0x01) => ("monitor_read", Read),
        (0x03 | 0x1b, 0x02) => ("write_variables", Write),
        (0x03 | 0x1b, 0x03) => ("force_variables", Write),
        (0x06, 0x01 | 0x03 | 0x06) => ("read_settings", Diagnostics),
        (0x06, 0x02 | 0x04 | 0x05 | 0x07) => ("write_settings", ConfigurationChange),
        (0x08, 0x01) => ("get_file_info", Diagnostics),
        (0x08, 0x02) => ("start_file_download", ProgramDownload),
        (0x08, 0x03) => ("restart_file_download", ProgramDownload),
        (0x08, 0x04) => ("file_download", ProgramDownload),
        (0x08, 0x05) => ("start_file_upload", ProgramUpload),
        (0x08, 0x06) => ("restart_file_upload", ProgramUpload),
        (0x08, 0x07) => ("file_upload", ProgramUpload),
        (0x08, 0x08) => ("file_transfer_end", Other),
        (0x08, 0x09) => ("file_transfer_cancel", Other),
        (0x08, 0x0c) => ("get_directory_info", Diagnostics),
        (0x08, 0x0e) => ("delete_file", ConfigurationChange),
        (0x08, 0x0f) => ("rename_file", ConfigurationChange),
        (0x08, 0x10) => ("create_directory", ConfigurationChange),
        (0x08, 0x11) => ("delete_directory", ConfigurationChange),
        (0x08, 0x12) => ("rename_directory", ConfigurationChange),
        (0x09, 0x01) => ("register_var_list", Read),
        (0x09, 0x02) => ("unregister_var_list", Read),
        (0x09, 0x03) => ("read_var_list", Read),
        (0x09, 0x04) => ("write_var_list", Write),
        (0x09, 0x05) => ("read_vars", Read),
        (0x09, 0x06) => ("write_vars", Write),
        (0x09, 0x07..=0x0a | 0x0c) => ("browse_symbols", Diagnostics),
        (0x09, 0x0d) => ("configure_symbolset", ConfigurationChange),
        (0x0c, 0x01 | 0x03) => ("read_user_management", Diagnostics),
        (0x0c, 0x02 | 0x04) => ("write_user_management", ConfigurationChange),
        (0x0c, 0x05) => ("user_add", ConfigurationChange),
        (0x0c, 0x06) => ("user_delete", ConfigurationChange),
        (0x0c, 0x07) => ("user_change_password", Authentication),
        (0x11, _) => ("plc_shell_command", Other),
        (0x13, _) => ("app_force_service", Write),
        (0x01, _) => ("device_service", Other),
        (0x02, _) => ("app_service", Other),
        (0x08, _) => ("file_transfer_service", Other),
        (0x09, _) => ("iec_var_access_service", Other),
        (0x04, _) => ("visualisation_service", Other),
        (0x05, _) => ("log_service", Diagnostics),
        (0x0b, _) => ("io_manager_service", Diagnostics),
        (0x0f, _) => ("trace_manager_service", Diagnostics),
        (0x12, _) => ("app_breakpoint_service", Other),
        (0x18, _) => ("alarm_manager_service", Other),
        (0x1d, _) => ("codemeter_service", Other),
        (0x1f, _) => ("core_dump_service", Diagnostics),
        (0x22, _) => ("x509_cert_service", ConfigurationChange),
        (0x23, _) => ("security_manager_service", ConfigurationChange),
        _ => ("unknown_service", Other),
    }
}

/// Reads a tag varint at `at`: the value and the offset after it (alignment padding shows as
/// extra continuation bytes, which add nothing).
fn varint(b: &[u8], mut at: usize) -> Option<(u32, usize)> {
    let mut value = 0u32;
    for shift in (0..).step_by(7).take(10) {
        let byte = *b.get(at)?;
        at += 1;
        if shift < 32 {
            value |= u32::from(byte & 0x7f) << shift;
        }
        if byte & 0x80 == 0 {
            return Some((value, at));
        }
    }
    None
}

/// Calls `f(id, content)` for each tag of `b` and of the tags nested in parent tags, up to
/// [`MAX_DEPTH`] levels and [`MAX_TAGS`] tags in all.
fn walk_tags(b: &[u8], depth: usize, budget: &mut usize, f: &mut dyn FnMut(u32, &[u8])) {
    let mut at = 0;
    while at < b.len() && *budget > 0 {
        *budget -= 1;
        let Some((id, next)) = varint(b, at) else {
            return;
        };
        let Some((size, start)) = varint(b, next) else {
            return;
        };
        let Some(content) = start
            .checked_add(size as usize)
            .and_then(|end| b.get(start..end))
        else {
            return;
        };
        if id & 0x80 != 0 {
            if depth + 1 < MAX_DEPTH {
                walk_tags(content, depth + 1, budget, f);
            }
        } else {
            f(id, content);
        }
        at = start + content.len();
    }
}

/// A name in UTF-16LE (or plain ASCII) as ASCII text, up to its NUL.
fn text(bytes: &[u8]) -> ValueBuf<64> {
    let mut v = ValueBuf::<64>::new();
    let wide = bytes.len() >= 2 && bytes.get(1) == Some(&0);
    let step = if wide { 2 } else { 1 };
    for chunk in bytes.chunks(step) {
        let (c, high) = match chunk {
            [c, h] => (*c, *h),
            [c] => (*c, 0),
            _ => break,
        };
        if c == 0 && high == 0 {
            break;
        }
        v.push_bytes(if high == 0 && c.is_ascii() {
            std::slice::from_ref(&c)
        } else {
            b"?"
        });
    }
    v
}

/// A 4-byte version (little-endian u32 printed most significant byte first).
fn version(v: u32) -> ValueBuf<20> {
    let [a, b, c, d] = v.to_le_bytes();
    let mut out = ValueBuf::<20>::new();
    let _ = write!(out, "{d}.{c}.{b}.{a}");
    out
}

/// Per-flow CODESYS state.
#[derive(Debug, Default)]
pub struct CodesysDissector {
    sides: [Side; 2],
    /// A V2 flow (nothing more is decoded).
    v2: bool,
}

impl Framed for CodesysDissector {
    fn sides(&mut self) -> &mut [Side; 2] {
        &mut self.sides
    }
}

impl CodesysDissector {
    /// Handles one datagram layer PDU sent in `direction`.
    pub fn on_datagram_pdu(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        bytes: &[u8],
        out: &mut Observations,
    ) {
        let Ok(dg) = Datagram::parse(bytes) else {
            return;
        };
        match dg.service {
            0x03 => {
                let mut d = ValueBuf::<32>::new();
                if let Some(kind) = le16(dg.payload, 0) {
                    let _ = write!(d, "package {kind:04x}");
                }
                out.event(
                    flow,
                    direction,
                    PROTOCOL,
                    EventCategory::Discovery,
                    "name_service_resolve",
                    d.as_str(),
                );
            }
            0x04 => self.identification(flow, direction, dg.payload, out),
            0x40 => self.channel(flow, direction, dg.payload, out),
            _ => {}
        }
    }

    /// A name service response: the identification of the sender.
    fn identification(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        p: &[u8],
        out: &mut Observations,
    ) {
        if le16(p, 0) != Some(0xc280) {
            return;
        }
        let sender = flow.sender(direction);
        out.fact(
            sender,
            Attribute::Service,
            PROTOCOL,
            Source::Codesys,
            flow.now,
        );
        let (Some(parent), Some(node), Some(device), Some(vendor), Some(fw), Some(&serial)) = (
            le16(p, 12),
            le16(p, 14),
            le16(p, 16),
            le16(p, 18),
            le32(p, 28),
            p.get(36),
        ) else {
            return;
        };
        out.fact(
            sender,
            Attribute::Firmware,
            version(fw).as_str(),
            Source::Codesys,
            flow.now,
        );
        let mut at = 48 + usize::from(parent);
        for (chars, attribute) in [
            (node, Attribute::Hostname),
            (device, Attribute::Model),
            (vendor, Attribute::Vendor),
        ] {
            let len = 2 * usize::from(chars);
            let Some(name) = p.get(at..at + len) else {
                return;
            };
            out.fact(
                sender,
                attribute,
                text(name).as_str(),
                Source::Codesys,
                flow.now,
            );
            at += len + 2;
        }
        if let Some(serial) = p.get(at..at + usize::from(serial)) {
            out.fact(
                sender,
                Attribute::Serial,
                text(serial).as_str(),
                Source::Codesys,
                flow.now,
            );
        }
    }

    /// A channel layer PDU.
    fn channel(&mut self, flow: &FlowMeta, direction: Direction, p: &[u8], out: &mut Observations) {
        match p.first() {
            Some(0xc3) => out.event(
                flow,
                direction,
                PROTOCOL,
                EventCategory::Other,
                "open_channel",
                "",
            ),
            Some(0x83) => {
                let sender = flow.sender(direction);
                out.fact(
                    sender,
                    Attribute::Service,
                    PROTOCOL,
                    Source::Codesys,
                    flow.now,
                );
            }
            Some(0xc4) => out.event(
                flow,
                direction,
                PROTOCOL,
                EventCategory::Other,
                "close_channel",
                "",
            ),
            // The first block of an application message holds the services layer header.
            Some(0x01) if p.get(1).is_some_and(|flags| flags & 0x01 != 0) => {
                if let Ok(s) = Services::parse(p.get(20..).unwrap_or_default()) {
                    self.services(flow, direction, &s, out);
                }
            }
            _ => {}
        }
    }

    /// A services layer message.
    fn services(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        s: &Services<'_>,
        out: &mut Observations,
    ) {
        let sender = flow.sender(direction);
        let (name, category) = service(s.group, s.service);
        let (_, label) = group_name(s.group);
        if s.protocol_id == 0x7557 {
            if !s.reply {
                out.event(
                    flow,
                    direction,
                    PROTOCOL,
                    EventCategory::Other,
                    "encrypted_service",
                    "",
                );
            }
            return;
        }
        if !s.reply {
            let mut d = ValueBuf::<64>::new();
            let _ = write!(d, "{label} ({:#04x}), service {:#04x}", s.group, s.service);
            out.event(flow, direction, PROTOCOL, category, name, d.as_str());
            return;
        }
        out.fact(
            sender,
            Attribute::Service,
            PROTOCOL,
            Source::Codesys,
            flow.now,
        );
        let mut budget = MAX_TAGS;
        match (s.group, s.service) {
            (0x01, 0x01) => walk_tags(s.content, 0, &mut budget, &mut |id, c| {
                let attribute = match id {
                    0x02 => Attribute::Model,
                    0x03 => Attribute::Vendor,
                    0x04 => Attribute::Hostname,
                    0x09 => Attribute::Serial,
                    0x06 => {
                        if let Some(v) = le32(c, 0).filter(|_| c.len() == 4) {
                            out.fact(
                                sender,
                                Attribute::Firmware,
                                version(v).as_str(),
                                Source::Codesys,
                                flow.now,
                            );
                        }
                        return;
                    }
                    _ => return,
                };
                out.fact(
                    sender,
                    attribute,
                    text(c).as_str(),
                    Source::Codesys,
                    flow.now,
                );
            }),
            (0x01, 0x02) => {
                let mut result = None;
                walk_tags(s.content, 0, &mut budget, &mut |id, c| {
                    if id == 0x20 {
                        result = le16(c, 0);
                    }
                });
                if let Some(code) = result.filter(|r| *r != 0) {
                    let mut d = ValueBuf::<32>::new();
                    let _ = write!(d, "login result {code:#06x}");
                    out.event(
                        flow,
                        direction.reverse(),
                        PROTOCOL,
                        EventCategory::Authentication,
                        "error_response",
                        d.as_str(),
                    );
                }
            }
            _ => {}
        }
    }

    /// Reads the block driver frames of `bytes`; returns the bytes used.
    fn blocks(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        bytes: &[u8],
        out: &mut Observations,
    ) -> usize {
        let mut used = 0;
        while let Some(rest) = bytes.get(used..).filter(|r| !r.is_empty()) {
            match block(rest) {
                Ok((total, body)) if total <= rest.len() => {
                    self.on_datagram_pdu(flow, direction, body, out);
                    used += total;
                }
                Ok((total, body)) if total > MAX_BLOCK && rest.len() >= MAX_BLOCK => {
                    self.on_datagram_pdu(flow, direction, body, out);
                    self.sides[direction.index()].skip = total - rest.len();
                    return bytes.len();
                }
                Ok(_) | Err(CodesysError::Truncated { .. }) => return used,
                Err(_) => {
                    self.sides[direction.index()].done = true;
                    return bytes.len();
                }
            }
        }
        used
    }
}

/// The whole length of the block driver frame at the start of `bytes`, and its datagram bytes
/// at hand.
fn block(bytes: &[u8]) -> Result<(usize, &[u8]), CodesysError> {
    let prefix = bytes.len().min(4);
    if bytes.get(..prefix) != MAGIC.get(..prefix) {
        return Err(CodesysError::BadMagic {
            field: "block driver magic",
            offset: 0,
        });
    }
    let length = le32(bytes, 4).ok_or(CodesysError::Truncated {
        field: "block length",
        offset: 4,
    })?;
    if (length as usize) < BLOCK_HEADER + 6 {
        return Err(CodesysError::BadLength(length));
    }
    let total = length as usize;
    let end = total.min(bytes.len());
    Ok((total, bytes.get(BLOCK_HEADER..end).unwrap_or_default()))
}

impl Dissector for CodesysDissector {
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
        self.on_datagram_pdu(flow, direction, payload, out);
    }

    fn on_stream(
        &mut self,
        flow: &FlowMeta,
        direction: Direction,
        chunk: StreamChunk<'_>,
        out: &mut Observations,
    ) {
        let index = direction.index();
        if let StreamChunk::Data(data) = chunk {
            let side = &mut self.sides[index];
            if side.messages == 0 && side.buf.is_empty() && side.skip == 0 && !side.done {
                side.messages = 1;
                if data.starts_with(&[0xbb, 0xbb]) {
                    // CODESYS V2: detected, not decoded.
                    self.v2 = true;
                    if direction == Direction::ClientToServer {
                        out.event(
                            flow,
                            direction,
                            PROTOCOL,
                            EventCategory::Other,
                            "v2_session",
                            "",
                        );
                    } else {
                        let sender = flow.sender(direction);
                        out.fact(
                            sender,
                            Attribute::Service,
                            "codesys v2",
                            Source::Codesys,
                            flow.now,
                        );
                    }
                }
            }
        }
        if self.v2 {
            return;
        }
        framing::feed(self, index, chunk, MAX_BLOCK, |this, bytes| {
            this.blocks(flow, direction, bytes, out)
        });
    }
}

/// Whether `payload` starts a V3 block driver frame carrying a datagram (the content check off
/// the CODESYS ports).
pub fn looks_like_block(payload: &[u8]) -> bool {
    matches!(block(payload), Ok((_, body)) if Datagram::parse(body).is_ok())
}

/// Takes TCP flows on the V3 / V2 ports and TCP flows that start with a V3 block driver frame;
/// UDP flows on 1740-1743 whose first datagram is a datagram layer PDU.
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
        let on = |ports: &[u16]| {
            ports.contains(&flow.server.port()) || ports.contains(&flow.client.port())
        };
        let ok = match flow.transport {
            Transport::Tcp => {
                looks_like_block(first_payload)
                    || ((on(&TCP_PORTS) || on(&[V2_PORT]))
                        && (first_payload.starts_with(&[0xbb, 0xbb])
                            || !matches!(block(first_payload), Err(CodesysError::BadMagic { .. }))))
            }
            Transport::Udp => on(&UDP_PORTS) && Datagram::parse(first_payload).is_ok(),
            Transport::Other(_) => false,
        };
        ok.then(|| Box::<CodesysDissector>::default() as Box<dyn Dissector>)
    }
}

/// Registers the CODESYS dissector.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register(Box::new(Factory));
}

#[cfg(test)]
mod tests {
    use super::*;
    use ironward_model::Timestamp;

    fn flow(transport: Transport, port: u16) -> FlowMeta {
        FlowMeta {
            id: 1,
            transport,
            client: ([10, 0, 0, 1], 50000).into(),
            server: ([10, 0, 0, 2], port).into(),
            now: Timestamp(1),
            frame: 1,
        }
    }

    /// A datagram layer PDU with 6-byte TCP-style addresses (3 words each).
    fn datagram(service: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![0xc5, 0x6b, 0x40, service, 0, 0x33];
        v.extend_from_slice(&[0x2d, 0xdc, 10, 0, 0, 2]);
        v.extend_from_slice(&[0xc3, 0x50, 10, 0, 0, 1]);
        // 18 bytes: padded to 20.
        v.extend_from_slice(&[0, 0]);
        v.extend_from_slice(payload);
        v
    }

    fn tcp(dg: &[u8]) -> Vec<u8> {
        let mut v = MAGIC.to_vec();
        v.extend_from_slice(&((dg.len() + 8) as u32).to_le_bytes());
        v.extend_from_slice(dg);
        v
    }

    fn varint(mut n: usize, v: &mut Vec<u8>) {
        loop {
            let low = (n & 0x7f) as u8;
            n >>= 7;
            v.push(if n > 0 { low | 0x80 } else { low });
            if n == 0 {
                return;
            }
        }
    }

    /// A tag: id and size as 7-bit varints (ids 0x80 and up, the parents, take two bytes).
    fn tag(id: usize, content: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        varint(id, &mut v);
        varint(content.len(), &mut v);
        v.extend_from_slice(content);
        v
    }

    fn utf16(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    /// A first application block carrying a services layer message.
    fn app_block(request: bool, group: u16, id: u16, tags: &[u8]) -> Vec<u8> {
        let mut s = vec![0x55, 0xcd, 12, 0];
        s.extend_from_slice(&group.to_le_bytes());
        s.extend_from_slice(&id.to_le_bytes());
        s.extend_from_slice(&0x1234_5678u32.to_le_bytes());
        s.extend_from_slice(&(tags.len() as u32).to_le_bytes());
        s.extend_from_slice(tags);
        let mut b = vec![0x01, if request { 0x81 } else { 0x01 }, 0x01, 0x00];
        b.extend_from_slice(&1u32.to_le_bytes());
        b.extend_from_slice(&1u32.to_le_bytes());
        b.extend_from_slice(&(s.len() as u32).to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&s);
        datagram(0x40, &b)
    }

    fn ops(out: &Observations) -> Vec<(String, String, EventCategory)> {
        out.events()
            .iter()
            .map(|e| (e.operation.to_string(), e.detail.clone(), e.category))
            .collect()
    }

    fn op(name: &str, detail: &str, c: EventCategory) -> (String, String, EventCategory) {
        (name.into(), detail.into(), c)
    }

    fn facts(out: &mut Observations) -> Vec<(String, Attribute, String)> {
        out.drain_facts()
            .map(|f| (f.subject.to_string(), f.attribute, f.value.to_string()))
            .collect()
    }

    #[test]
    fn tcp_session_services() {
        use EventCategory::*;
        let f = flow(Transport::Tcp, 11740);
        let mut d = CodesysDissector::default();
        let mut out = Observations::default();
        // Credentials in the login request are never read.
        let login = [tag(0x22, &[1, 0, 0, 0]), tag(0x81, &tag(0x10, b"admin"))].concat();
        let client = [
            tcp(&datagram(0x40, &[0xc3, 0, 1, 1, 0, 0, 0, 0])),
            tcp(&app_block(true, 0x01, 0x01, &[])),
            tcp(&app_block(true, 0x01, 0x02, &login)),
            tcp(&app_block(true, 0x02, 0x05, &[])),
            tcp(&app_block(true, 0x02, 0x06, &[])),
            tcp(&app_block(true, 0x02, 0x10, &[])),
            tcp(&app_block(true, 0x02, 0x11, &[])),
            tcp(&app_block(true, 0x02, 0x12, &[])),
            tcp(&app_block(true, 0x09, 0x05, &[])),
            tcp(&app_block(true, 0x09, 0x06, &[])),
            tcp(&app_block(true, 0x08, 0x02, &[])),
            tcp(&app_block(true, 0x04, 0x01, &[])),
            tcp(&app_block(true, 0x66, 0x01, &[])),
            tcp(&datagram(0x40, &[0xc4, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0])),
        ]
        .concat();
        // Split at every 7 bytes: blocks straddle chunks.
        for chunk in client.chunks(7) {
            d.on_stream(
                &f,
                Direction::ClientToServer,
                StreamChunk::Data(chunk),
                &mut out,
            );
        }
        assert_eq!(
            ops(&out),
            [
                op("open_channel", "", Other),
                op(
                    "get_target_ident",
                    "CmpDevice (0x01), service 0x01",
                    Diagnostics
                ),
                op("login", "CmpDevice (0x01), service 0x02", Authentication),
                op("download", "CmpApp (0x02), service 0x05", ProgramDownload),
                op(
                    "online_change",
                    "CmpApp (0x02), service 0x06",
                    ProgramDownload
                ),
                op("start", "CmpApp (0x02), service 0x10", ModeChange),
                op("stop", "CmpApp (0x02), service 0x11", ModeChange),
                op("reset", "CmpApp (0x02), service 0x12", ModeChange),
                op("read_vars", "CmpIecVarAccess (0x09), service 0x05", Read),
                op("write_vars", "CmpIecVarAccess (0x09), service 0x06", Write),
                op(
                    "start_file_download",
                    "CmpFileTransfer (0x08), service 0x02",
                    ProgramDownload
                ),
                op(
                    "visualisation_service",
                    "CmpVisuServer (0x04), service 0x01",
                    Other
                ),
                op("unknown_service", "unknown (0x66), service 0x01", Other),
                op("close_channel", "", Other),
            ]
        );
        assert!(out.events().iter().all(|e| !e.detail.contains("admin")));
    }

    #[test]
    fn identity_from_target_ident_and_name_service() {
        let f = flow(Transport::Tcp, 11740);
        let mut d = CodesysDissector::default();
        let mut out = Observations::default();
        // Reply tags, one of them nested in a parent tag, the size padded by alignment.
        let nested = tag(0x81, &tag(0x04, &utf16("plc-line-3\0")));
        let padded = [vec![0x03, 0x8a, 0x00], utf16("WAGO\0")].concat();
        let reply = [
            tag(0x02, &utf16("PFC200 V3\0")),
            padded,
            nested,
            tag(0x06, &[0x1e, 0x0a, 0x05, 0x03]),
            tag(0x09, b"SN-0001\0"),
        ]
        .concat();
        let server = [
            tcp(&datagram(0x40, &[0x83, 0, 1, 1, 0, 0, 0, 0])),
            tcp(&app_block(false, 0x81, 0x01, &reply)),
            tcp(&app_block(
                false,
                0x81,
                0x02,
                &tag(0x82, &tag(0x20, &[0x12, 0x00])),
            )),
        ]
        .concat();
        d.on_stream(
            &f,
            Direction::ServerToClient,
            StreamChunk::Data(&server),
            &mut out,
        );
        assert_eq!(
            ops(&out),
            [op(
                "error_response",
                "login result 0x0012",
                EventCategory::Authentication
            )]
        );
        assert_eq!(out.events()[0].src.ip, Some([10, 0, 0, 1].into()));
        let got = facts(&mut out);
        for (attribute, value) in [
            (Attribute::Service, "codesys"),
            (Attribute::Model, "PFC200 V3"),
            (Attribute::Vendor, "WAGO"),
            (Attribute::Hostname, "plc-line-3"),
            (Attribute::Firmware, "3.5.10.30"),
            (Attribute::Serial, "SN-0001"),
        ] {
            assert!(
                got.contains(&("ip:10.0.0.2".into(), attribute, value.into())),
                "{value} {got:?}"
            );
        }
        // UDP name service: request (broadcast discovery) and identification.
        let u = flow(Transport::Udp, 1740);
        let mut d = CodesysDissector::default();
        let mut out = Observations::default();
        let request = datagram(0x03, &[0x02, 0xc2, 0x00, 0x04, 1, 2, 3, 4]);
        d.on_datagram(&u, Direction::ClientToServer, &request, &mut out);
        let mut ident = vec![0x80, 0xc2, 0x00, 0x04, 1, 2, 3, 4];
        let (node, device, vendor) = (
            utf16("node1"),
            utf16("CODESYS Control for Linux SL"),
            utf16("CODESYS GmbH"),
        );
        ident.extend_from_slice(&[0x10, 0x00, 1, 0]);
        ident.extend_from_slice(&2u16.to_le_bytes()); // parent address size
        for n in [&node, &device, &vendor] {
            ident.extend_from_slice(&((n.len() / 2) as u16).to_le_bytes());
        }
        ident.extend_from_slice(&0x1006u32.to_le_bytes());
        ident.extend_from_slice(&0x0000_0010u32.to_le_bytes());
        ident.extend_from_slice(&0x0305_1400u32.to_le_bytes());
        ident.extend_from_slice(&0u32.to_le_bytes());
        ident.extend_from_slice(&[4, 0, 2]);
        ident.extend_from_slice(&[0; 9]);
        ident.extend_from_slice(&[0xaa, 0xbb]);
        for n in [&node, &device, &vendor] {
            ident.extend_from_slice(n);
            ident.extend_from_slice(&[0, 0]);
        }
        ident.extend_from_slice(b"1234\0");
        d.on_datagram(
            &u,
            Direction::ServerToClient,
            &datagram(0x04, &ident),
            &mut out,
        );
        assert_eq!(
            ops(&out),
            [op(
                "name_service_resolve",
                "package c202",
                EventCategory::Discovery
            )]
        );
        let got = facts(&mut out);
        for (attribute, value) in [
            (Attribute::Hostname, "node1"),
            (Attribute::Model, "CODESYS Control for Linux SL"),
            (Attribute::Vendor, "CODESYS GmbH"),
            (Attribute::Firmware, "3.5.20.0"),
            (Attribute::Serial, "1234"),
        ] {
            assert!(
                got.contains(&("ip:10.0.0.2".into(), attribute, value.into())),
                "{value} {got:?}"
            );
        }
    }

    #[test]
    fn encrypted_v2_and_hostile() {
        let f = flow(Transport::Tcp, 11740);
        let mut d = CodesysDissector::default();
        let mut out = Observations::default();
        let mut secure = app_block(true, 0x02, 0x05, &[0xde, 0xad]);
        // Protocol id 0x7557 at the services layer start (datagram 20 + channel 20).
        secure[40] = 0x57;
        secure[41] = 0x75;
        d.on_stream(
            &f,
            Direction::ClientToServer,
            StreamChunk::Data(&tcp(&secure)),
            &mut out,
        );
        assert_eq!(
            ops(&out),
            [op("encrypted_service", "", EventCategory::Other)]
        );
        // V2.
        let v2 = flow(Transport::Tcp, 1200);
        let mut d = CodesysDissector::default();
        let mut out = Observations::default();
        d.on_stream(
            &v2,
            Direction::ClientToServer,
            StreamChunk::Data(&[0xbb, 0xbb, 1, 0, 0, 0, 9]),
            &mut out,
        );
        d.on_stream(
            &v2,
            Direction::ServerToClient,
            StreamChunk::Data(&[0xbb, 0xbb, 1, 0]),
            &mut out,
        );
        d.on_stream(
            &v2,
            Direction::ClientToServer,
            StreamChunk::Data(&[0xbb, 0xbb, 1, 0]),
            &mut out,
        );
        assert_eq!(ops(&out), [op("v2_session", "", EventCategory::Other)]);
        assert_eq!(facts(&mut out)[0].2, "codesys v2");
        // Errors.
        assert!(matches!(
            Datagram::parse(&[0xc5, 0x6b]),
            Err(CodesysError::Truncated { .. })
        ));
        assert!(matches!(
            Datagram::parse(&[0xc4, 0x6b, 0, 0, 0, 0]),
            Err(CodesysError::BadMagic { .. })
        ));
        assert!(matches!(
            Datagram::parse(&[0xc5, 0x6b, 0, 0, 0, 0xff]),
            Err(CodesysError::Truncated { .. })
        ));
        assert!(matches!(
            Services::parse(&[0x11, 0x11, 0, 0]),
            Err(CodesysError::BadMagic { .. })
        ));
        assert_eq!(
            block(&[0, 1, 0x17, 0xe8, 2, 0, 0, 0]),
            Err(CodesysError::BadLength(2))
        );
        assert_eq!(
            CodesysError::BadLength(2).to_string(),
            "CODESYS block length 2 at 4 too short"
        );
        // Every prefix of a valid stream, and garbage tags, are harmless.
        let whole = tcp(&app_block(
            false,
            0x81,
            0x01,
            &[0x82, 0xff, 0xff, 0xff, 0xff, 0x0f, 0xff, 0xff, 0xff],
        ));
        for n in 0..whole.len() {
            let mut d = CodesysDissector::default();
            let mut out = Observations::default();
            d.on_stream(
                &f,
                Direction::ServerToClient,
                StreamChunk::Data(&whole[..n]),
                &mut out,
            );
            d.on_datagram(&f, Direction::ServerToClient, &whole[..n], &mut out);
        }
        // A huge block is read in part and skipped; the next is still seen.
        let mut d = CodesysDissector::default();
        let mut out = Observations::default();
        let mut big = app_block(true, 0x02, 0x05, &[0u8; 30000]);
        big = tcp(&big);
        big.extend(tcp(&app_block(true, 0x02, 0x10, &[])));
        for chunk in big.chunks(1000) {
            d.on_stream(
                &f,
                Direction::ClientToServer,
                StreamChunk::Data(chunk),
                &mut out,
            );
        }
        assert_eq!(out.events().len(), 2);
        // Garbage ends the direction.
        d.on_stream(
            &f,
            Direction::ServerToClient,
            StreamChunk::Data(b"HTTP/1.1 200 OK"),
            &mut out,
        );
        d.on_stream(
            &f,
            Direction::ServerToClient,
            StreamChunk::Data(&tcp(&app_block(false, 0x81, 1, &[]))),
            &mut out,
        );
        assert!(facts(&mut out).is_empty());
    }

    #[test]
    fn selection() {
        let mut r = DissectorRegistry::new();
        register(&mut r);
        let block = tcp(&app_block(true, 1, 1, &[]));
        let pick = |transport, port, p: &[u8]| {
            r.select(&flow(transport, port), Direction::ClientToServer, p)
                .is_some()
        };
        assert!(pick(Transport::Tcp, 11740, &block));
        assert!(pick(Transport::Tcp, 4444, &block));
        assert!(pick(Transport::Tcp, 1217, &block[..3]));
        assert!(pick(Transport::Tcp, 1200, &[0xbb, 0xbb, 0]));
        assert!(pick(Transport::Udp, 1740, &datagram(3, &[])));
        assert!(!pick(Transport::Udp, 1740, b"hello"));
        assert!(!pick(Transport::Tcp, 4444, &block[..7]));
        assert!(!pick(Transport::Tcp, 11740, b"GET / HTTP/1.1"));
    }
}
