//! LLDP (IEEE 802.1AB, ether type 0x88cc): what a switch, phone, access point or PLC says about
//! itself on each link, every 30 seconds or so.
//!
//! An LLDPDU is a list of TLVs (7-bit type, 9-bit length). The first three are mandatory
//! (chassis id, port id, time to live); the walk stops at the End TLV or the end of the frame and
//! never reads past either. Facts are about the sender, keyed by the frame's source MAC:
//!
//! | TLV | fact |
//! |---|---|
//! | system name | `Hostname` |
//! | system description | `Description` (and `Firmware` for Cisco IOS/NX-OS texts) |
//! | port id, port description | one `Port`: `"<id>"`, or `"<id> (<description>)"` when they differ |
//! | enabled system capabilities | one `Capability` each (`bridge`, `router`, `telephone`, ...) |
//! | management address (IPv4, IPv6, MAC) | `ManagementAddress` (unspecified addresses skipped) |
//! | chassis id, network-address subtype | `ManagementAddress` |
//! | chassis id, locally-assigned subtype | `Hostname`, only when the LLDPDU has no system name and the id looks like a host name (PROFINET stations announce their *NameOfStation* this way) |
//! | IEEE 802.1 port VLAN id | `Vlan` (0, "no VLAN", skipped) |
//! | LLDP-MED capabilities | `Capability` `lldp-med-endpoint-class-1/2/3` or `lldp-med-network-connectivity` |
//! | LLDP-MED inventory | firmware revision → `Firmware`; software revision → `Firmware` when no firmware revision is announced, else `Software`; serial → `Serial`; manufacturer → `Vendor`; model → `Model` |
//!
//! Left out on purpose: a MAC chassis id (usually the device's base MAC, already its identity on
//! the segment), LLDP-MED hardware revision and asset id (no attribute says what they are),
//! the time to live and the IEEE 802.3 link settings.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ironward_model::{Attribute, DeviceKey, Source};

use crate::observations::Observations;
use crate::{DissectorRegistry, FrameDissector, LinkFrame};

/// LLDP's ether type.
pub const ETHERTYPE: u16 = 0x88cc;

/// OUI of IEEE 802.1 organisationally specific TLVs.
const OUI_IEEE_8021: [u8; 3] = [0x00, 0x80, 0xc2];
/// OUI of TIA (LLDP-MED, ANSI/TIA-1057) organisationally specific TLVs.
const OUI_TIA: [u8; 3] = [0x00, 0x12, 0xbb];

/// What was wrong with an LLDPDU, and where (byte offset from the start of the LLDPDU).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LldpError {
    /// A TLV header or value runs past the end of the frame.
    Truncated {
        /// The TLV or field being read.
        field: &'static str,
        /// Offset of the TLV header.
        offset: usize,
    },
    /// A TLV's length is impossible for its type.
    BadLength {
        /// The TLV or field being read.
        field: &'static str,
        /// The length found.
        length: usize,
        /// Offset of the TLV header.
        offset: usize,
    },
    /// One of the three mandatory leading TLVs (chassis id, port id, time to live) is missing
    /// or out of order.
    MissingMandatory {
        /// The TLV expected there.
        expected: &'static str,
        /// Offset where it was expected.
        offset: usize,
    },
}

impl fmt::Display for LldpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { field, offset } => write!(f, "LLDP {field} truncated at {offset}"),
            Self::BadLength {
                field,
                length,
                offset,
            } => write!(f, "LLDP {field} has impossible length {length} at {offset}"),
            Self::MissingMandatory { expected, offset } => {
                write!(f, "LLDP {expected} TLV missing at {offset}")
            }
        }
    }
}

impl std::error::Error for LldpError {}

/// One decoded TLV; values borrow the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tlv<'a> {
    /// End of LLDPDU (type 0).
    End,
    /// Chassis id (type 1): subtype (4 MAC, 5 network address, 7 locally assigned, ...) and id.
    ChassisId {
        /// Chassis id subtype.
        subtype: u8,
        /// The id, as sent.
        id: &'a [u8],
    },
    /// Port id (type 2): subtype (3 MAC, 4 network address, 5 interface name, 7 locally
    /// assigned, ...) and id.
    PortId {
        /// Port id subtype.
        subtype: u8,
        /// The id, as sent.
        id: &'a [u8],
    },
    /// Time to live in seconds (type 3).
    TimeToLive(u16),
    /// Port description (type 4).
    PortDescription(&'a [u8]),
    /// System name (type 5).
    SystemName(&'a [u8]),
    /// System description (type 6).
    SystemDescription(&'a [u8]),
    /// System capabilities (type 7): bit 0 other, 1 repeater, 2 bridge, 3 WLAN access point,
    /// 4 router, 5 telephone, 6 DOCSIS, 7 station only, 8 C-VLAN, 9 S-VLAN, 10 two-port MAC
    /// relay.
    Capabilities {
        /// What the system can do.
        system: u16,
        /// What is enabled.
        enabled: u16,
    },
    /// Management address (type 8): IANA address family and the address bytes.
    ManagementAddress {
        /// IANA address family (1 IPv4, 2 IPv6, 6 IEEE 802 MAC).
        family: u8,
        /// The address, as sent.
        address: &'a [u8],
    },
    /// Organisationally specific TLV (type 127).
    OrganizationSpecific {
        /// Organisation (OUI).
        oui: [u8; 3],
        /// Organisation-defined subtype.
        subtype: u8,
        /// The rest of the value.
        info: &'a [u8],
    },
    /// Any other TLV type.
    Other {
        /// TLV type.
        kind: u8,
        /// TLV value.
        value: &'a [u8],
    },
}

/// A validated LLDPDU: its three mandatory TLVs are present and in order.
#[derive(Debug, Clone, Copy)]
pub struct Lldpdu<'a> {
    bytes: &'a [u8],
}

impl<'a> Lldpdu<'a> {
    /// Checks the mandatory leading TLVs (chassis id, port id, time to live) of an LLDPDU (the
    /// bytes after the Ethernet header; trailing padding is fine).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, LldpError> {
        let mut tlvs = Tlvs::new(bytes);
        for (expected, name) in [(1u8, "chassis id"), (2, "port id"), (3, "time to live")] {
            let offset = tlvs.offset;
            match tlvs.next() {
                Some(Ok(tlv)) if tlv_kind(&tlv) == expected => {}
                Some(Err(e)) => return Err(e),
                _ => {
                    return Err(LldpError::MissingMandatory {
                        expected: name,
                        offset,
                    })
                }
            }
        }
        Ok(Self { bytes })
    }

    /// Every TLV in order, up to and including the End TLV; after an error, nothing more.
    pub fn tlvs(&self) -> Tlvs<'a> {
        Tlvs::new(self.bytes)
    }
}

fn tlv_kind(tlv: &Tlv<'_>) -> u8 {
    match tlv {
        Tlv::End => 0,
        Tlv::ChassisId { .. } => 1,
        Tlv::PortId { .. } => 2,
        Tlv::TimeToLive(_) => 3,
        Tlv::PortDescription(_) => 4,
        Tlv::SystemName(_) => 5,
        Tlv::SystemDescription(_) => 6,
        Tlv::Capabilities { .. } => 7,
        Tlv::ManagementAddress { .. } => 8,
        Tlv::OrganizationSpecific { .. } => 127,
        Tlv::Other { kind, .. } => *kind,
    }
}

/// Iterator over an LLDPDU's TLVs (see [`Lldpdu::tlvs`]). Each step consumes at least the
/// two-byte header, so the walk is bounded by the frame length.
#[derive(Debug, Clone)]
pub struct Tlvs<'a> {
    bytes: &'a [u8],
    offset: usize,
    done: bool,
}

impl<'a> Tlvs<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            offset: 0,
            done: false,
        }
    }

    fn step(&mut self) -> Result<Option<Tlv<'a>>, LldpError> {
        let offset = self.offset;
        let rest = self.bytes.get(offset..).unwrap_or_default();
        if rest.is_empty() {
            return Ok(None);
        }
        let [hi, lo, body @ ..] = rest else {
            return Err(LldpError::Truncated {
                field: "TLV header",
                offset,
            });
        };
        let kind = hi >> 1;
        let len = usize::from(u16::from_be_bytes([hi & 1, *lo]));
        let field = tlv_name(kind);
        let value = body
            .get(..len)
            .ok_or(LldpError::Truncated { field, offset })?;
        self.offset = offset + 2 + len;
        let bad = || LldpError::BadLength {
            field,
            length: len,
            offset,
        };
        let tlv = match kind {
            0 => Tlv::End,
            1 | 2 => {
                let [subtype, id @ ..] = value else {
                    return Err(bad());
                };
                if id.is_empty() {
                    return Err(bad());
                }
                if kind == 1 {
                    Tlv::ChassisId {
                        subtype: *subtype,
                        id,
                    }
                } else {
                    Tlv::PortId {
                        subtype: *subtype,
                        id,
                    }
                }
            }
            3 => match value {
                [a, b, ..] => Tlv::TimeToLive(u16::from_be_bytes([*a, *b])),
                _ => return Err(bad()),
            },
            4 => Tlv::PortDescription(value),
            5 => Tlv::SystemName(value),
            6 => Tlv::SystemDescription(value),
            7 => match value {
                [a, b, c, d] => Tlv::Capabilities {
                    system: u16::from_be_bytes([*a, *b]),
                    enabled: u16::from_be_bytes([*c, *d]),
                },
                _ => return Err(bad()),
            },
            8 => {
                // Address string length counts the family byte and the address (2..=32).
                let [string_len, family, tail @ ..] = value else {
                    return Err(bad());
                };
                let address_len = usize::from(*string_len);
                if !(2..=32).contains(&address_len) {
                    return Err(bad());
                }
                let address = tail.get(..address_len - 1).ok_or_else(bad)?;
                Tlv::ManagementAddress {
                    family: *family,
                    address,
                }
            }
            127 => match value {
                [a, b, c, subtype, info @ ..] => Tlv::OrganizationSpecific {
                    oui: [*a, *b, *c],
                    subtype: *subtype,
                    info,
                },
                _ => return Err(bad()),
            },
            _ => Tlv::Other { kind, value },
        };
        Ok(Some(tlv))
    }
}

impl<'a> Iterator for Tlvs<'a> {
    type Item = Result<Tlv<'a>, LldpError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.step().transpose();
        if matches!(item, None | Some(Err(_)) | Some(Ok(Tlv::End))) {
            self.done = true;
        }
        item
    }
}

fn tlv_name(kind: u8) -> &'static str {
    match kind {
        0 => "end TLV",
        1 => "chassis id TLV",
        2 => "port id TLV",
        3 => "time to live TLV",
        4 => "port description TLV",
        5 => "system name TLV",
        6 => "system description TLV",
        7 => "system capabilities TLV",
        8 => "management address TLV",
        127 => "organisationally specific TLV",
        _ => "TLV",
    }
}

/// Names of the system capability bits, bit 0 first (IEEE 802.1AB-2016 table 8-4).
const CAPABILITIES: [&str; 11] = [
    "other",
    "repeater",
    "bridge",
    "wlan-access-point",
    "router",
    "telephone",
    "docsis",
    "station",
    "c-vlan",
    "s-vlan",
    "two-port-mac-relay",
];

/// Capability fact for each LLDP-MED device type (ANSI/TIA-1057 10.2.2.2).
fn med_device_type(class: u8) -> Option<&'static str> {
    match class {
        1 => Some("lldp-med-endpoint-class-1"),
        2 => Some("lldp-med-endpoint-class-2"),
        3 => Some("lldp-med-endpoint-class-3"),
        4 => Some("lldp-med-network-connectivity"),
        _ => None,
    }
}

/// Whether a locally assigned chassis id reads as a host name (letters, digits, `-`, `.`, `_`,
/// at least one letter): PROFINET NameOfStation, not a serial or a binary blob.
fn looks_like_hostname(id: &[u8]) -> bool {
    (1..=253).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
        && id.iter().any(u8::is_ascii_alphabetic)
}

/// Writes an address of IANA family `family` (1 IPv4, 2 IPv6, 6 MAC) into `out`; false when the
/// family is unknown, the length wrong or the address unspecified (all zeros).
fn push_address(out: &mut ValueBuf, family: u8, address: &[u8]) -> bool {
    if address.iter().all(|b| *b == 0) {
        return false;
    }
    match (family, address.len()) {
        (1, 4) => {
            let mut octets = [0u8; 4];
            octets.copy_from_slice(address);
            out.push_ip(IpAddr::V4(Ipv4Addr::from(octets)));
        }
        (2, 16) => {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(address);
            out.push_ip(IpAddr::V6(Ipv6Addr::from(octets)));
        }
        (6, 6) => out.push_mac(address),
        _ => return false,
    }
    true
}

/// Reports the facts of one LLDPDU about `subject`.
fn observe(pdu: &Lldpdu<'_>, subject: DeviceKey, frame: &LinkFrame<'_>, out: &mut Observations) {
    let at = frame.now;
    let source = Source::Lldp;
    let mut port = ValueBuf::new();
    let mut port_description: Option<&[u8]> = None;
    let mut chassis_name: Option<&[u8]> = None;
    let mut has_system_name = false;
    let mut has_firmware = false;
    let mut software: Option<&[u8]> = None;
    // Facts of valid TLVs before a malformed one are kept: each TLV stands alone.
    for tlv in pdu.tlvs().map_while(Result::ok) {
        match tlv {
            Tlv::ChassisId {
                subtype: 5,
                id: [family, address @ ..],
            } => {
                let mut text = ValueBuf::new();
                if push_address(&mut text, *family, address) {
                    out.fact_bytes(
                        subject,
                        Attribute::ManagementAddress,
                        text.as_bytes(),
                        source,
                        at,
                    );
                }
            }
            Tlv::ChassisId { subtype: 7, id } if looks_like_hostname(id) => {
                chassis_name = Some(id);
            }
            Tlv::PortId { subtype, id } => {
                let formatted = match (subtype, id) {
                    (3, mac) if mac.len() == 6 => {
                        port.push_mac(mac);
                        true
                    }
                    (4, [family, address @ ..]) => push_address(&mut port, *family, address),
                    _ => false,
                };
                if !formatted {
                    port.push_bytes(id);
                }
            }
            Tlv::PortDescription(text) => port_description = Some(text),
            Tlv::SystemName(name) => {
                has_system_name = true;
                out.fact_bytes(subject, Attribute::Hostname, name, source, at);
            }
            Tlv::SystemDescription(text) => {
                out.fact_bytes(subject, Attribute::Description, text, source, at);
                if let Some(version) = crate::cdp::cisco_version(text) {
                    out.fact_bytes(subject, Attribute::Firmware, version, source, at);
                }
            }
            Tlv::Capabilities { enabled, .. } => {
                for (bit, name) in CAPABILITIES.iter().enumerate() {
                    if enabled & (1 << bit) != 0 {
                        out.fact(subject, Attribute::Capability, name, source, at);
                    }
                }
            }
            Tlv::ManagementAddress { family, address } => {
                let mut text = ValueBuf::new();
                if push_address(&mut text, family, address) {
                    out.fact_bytes(
                        subject,
                        Attribute::ManagementAddress,
                        text.as_bytes(),
                        source,
                        at,
                    );
                }
            }
            Tlv::OrganizationSpecific {
                oui: OUI_IEEE_8021,
                subtype: 1,
                info: [hi, lo, ..],
            } => {
                let vlan = u16::from_be_bytes([*hi, *lo]);
                if vlan != 0 {
                    let mut text = ValueBuf::new();
                    text.push_u64(u64::from(vlan));
                    out.fact_bytes(subject, Attribute::Vlan, text.as_bytes(), source, at);
                }
            }
            Tlv::OrganizationSpecific {
                oui: OUI_TIA,
                subtype,
                info,
            } => match (subtype, info) {
                (1, [_, _, class, ..]) => {
                    if let Some(name) = med_device_type(*class) {
                        out.fact(subject, Attribute::Capability, name, source, at);
                    }
                }
                (6, text) => {
                    has_firmware = true;
                    out.fact_bytes(subject, Attribute::Firmware, text, source, at);
                }
                (7, text) => software = Some(text),
                (8, text) => out.fact_bytes(subject, Attribute::Serial, text, source, at),
                (9, text) => out.fact_bytes(subject, Attribute::Vendor, text, source, at),
                (10, text) => out.fact_bytes(subject, Attribute::Model, text, source, at),
                _ => {}
            },
            _ => {}
        }
    }
    if let Some(text) = software {
        let attribute = if has_firmware {
            Attribute::Software
        } else {
            Attribute::Firmware
        };
        out.fact_bytes(subject, attribute, text, source, at);
    }
    if let (false, Some(name)) = (has_system_name, chassis_name) {
        out.fact_bytes(subject, Attribute::Hostname, name, source, at);
    }
    if !port.is_empty() {
        if let Some(description) = port_description {
            let description = crate::text::trim(description);
            if !description.is_empty() && description != crate::text::trim(port.as_bytes()) {
                port.push_bytes(b" (");
                port.push_bytes(description);
                port.push_bytes(b")");
            }
        }
        out.fact_bytes(subject, Attribute::Port, port.as_bytes(), source, at);
    }
}

/// The LLDP frame dissector.
#[derive(Debug, Default, Clone, Copy)]
pub struct LldpDissector;

impl FrameDissector for LldpDissector {
    fn protocol(&self) -> &'static str {
        "lldp"
    }

    fn on_frame(&self, frame: &LinkFrame<'_>, out: &mut Observations) -> bool {
        if frame.ethertype != ETHERTYPE || frame.snap_oui.is_some() {
            return false;
        }
        if let Ok(pdu) = Lldpdu::parse(frame.payload) {
            observe(&pdu, DeviceKey::Mac(frame.src_mac), frame, out);
        }
        true
    }
}

/// Adds this module's dissectors to `registry`.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register_frame(Box::new(LldpDissector));
}

/// Capacity of a [`ValueBuf`]: more than a fact value keeps (values are cut at
/// [`MAX_VALUE_LEN`](crate::observations::MAX_VALUE_LEN) bytes anyway).
const VALUE_BUF_LEN: usize = 320;

/// Fact values of the LLDP, CDP and SNMP modules are built in this much stack space.
pub(crate) type ValueBuf = crate::value::ValueBuf<VALUE_BUF_LEN>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::hex;
    use ironward_model::{Fact, MacAddress, Timestamp};

    /// Runs the dissector over a whole Ethernet II frame (hex), returning its facts.
    fn facts_of(frame_hex: &str) -> Vec<Fact> {
        let bytes = hex(frame_hex);
        let mut src = [0u8; 6];
        src.copy_from_slice(&bytes[6..12]);
        let frame = LinkFrame {
            src_mac: MacAddress(src),
            dst_mac: MacAddress([0x01, 0x80, 0xc2, 0, 0, 0x0e]),
            vlan: None,
            ethertype: u16::from_be_bytes([bytes[12], bytes[13]]),
            snap_oui: None,
            payload: &bytes[14..],
            now: Timestamp(1),
            frame: 1,
        };
        let mut out = Observations::default();
        assert!(LldpDissector.on_frame(&frame, &mut out));
        out.drain_facts().collect()
    }

    fn values(facts: &[Fact], attribute: Attribute) -> Vec<String> {
        facts
            .iter()
            .filter(|f| f.attribute == attribute)
            .map(|f| f.value.to_string())
            .collect()
    }

    /// tcpdump_LLDP_and_CDP.pcap frame 3: Cisco 3560, port id an interface alias.
    const CISCO: &str = "0180c200000e00192fa7b28d88cc02070400192fa7b28d040d0155706c696e6b20746f205331060200780a0c53322e636973636f2e636f6d0cbe436973636f20494f5320536f6674776172652c20433335363020536f667477617265202843333536302d414456495053455256494345534b392d4d292c2056657273696f6e2031322e322834342953452c2052454c4541534520534f4654574152452028666331290a436f707972696768742028632920313938362d3230303820627920436973636f2053797374656d732c20496e632e0a436f6d70696c6564205361742030352d4a616e2d30382030303a3135206279207765696c697508134769676162697445746865726e6574302f31330e0400140004fe060080c2010001fe0900120f0103c03600100000";

    #[test]
    fn cisco_switch() {
        let facts = facts_of(CISCO);
        assert!(facts.iter().all(|f| f.source == Source::Lldp
            && f.subject == DeviceKey::Mac("00:19:2f:a7:b2:8d".parse().unwrap())));
        assert_eq!(values(&facts, Attribute::Hostname), ["S2.cisco.com"]);
        assert_eq!(
            values(&facts, Attribute::Description),
            ["Cisco IOS Software, C3560 Software (C3560-ADVIPSERVICESK9-M), Version 12.2(44)SE, \
              RELEASE SOFTWARE (fc1) Copyright (c) 1986-2008 by Cisco Systems, Inc. Compiled Sat \
              05-Jan-08 00:15 by weiliu"]
        );
        assert_eq!(values(&facts, Attribute::Firmware), ["12.2(44)SE"]);
        assert_eq!(
            values(&facts, Attribute::Port),
            ["Uplink to S1 (GigabitEthernet0/13)"]
        );
        assert_eq!(values(&facts, Attribute::Capability), ["bridge"]);
        assert_eq!(values(&facts, Attribute::Vlan), ["1"]);
        assert!(values(&facts, Attribute::ManagementAddress).is_empty());
    }

    /// zeek_lldp.pcap frame 1 (with its FCS): an SMC switch with an IPv4 management address.
    #[test]
    fn smc_switch_management_address() {
        let facts = facts_of("0180c200000e00222d81db1088cc02070400222d81db1004020731060200780807506f72742023310a0d534d43475338502d536d6172740c23534d43475338502d536d617274202d20534d43475338502d536d6172742076332e32300e0400040004100c0501c0a8020a0200000001000000bb14272c");
        assert_eq!(values(&facts, Attribute::Hostname), ["SMCGS8P-Smart"]);
        assert_eq!(
            values(&facts, Attribute::Description),
            ["SMCGS8P-Smart - SMCGS8P-Smart v3.20"]
        );
        assert!(values(&facts, Attribute::Firmware).is_empty());
        assert_eq!(values(&facts, Attribute::Port), ["1 (Port #1)"]);
        assert_eq!(
            values(&facts, Attribute::ManagementAddress),
            ["192.168.2.10"]
        );
        assert_eq!(values(&facts, Attribute::Capability), ["bridge"]);
    }

    /// icsnpp_profinet_io_cm_mixed_1.pcap frame 29: a Siemens SCALANCE switch port naming its
    /// station in a locally assigned chassis id, management address 0.0.0.0.
    #[test]
    fn profinet_station_name() {
        let facts = facts_of("0180c200000e000e8cef75c988cc0214077369656d656e732d783230382d737769746368040907706f72742d303034060200140c325369656d656e732041472053494d41544943205337204d554c5449504f5254205343414c414e43452058203230302046414d0e040080008010140501000000000200000004082b0601040181c06efe08000ecf0200000000fe0a000ecf05000e8cef75c5fe0900120f01036c0000100000");
        assert_eq!(values(&facts, Attribute::Hostname), ["siemens-x208-switch"]);
        assert_eq!(values(&facts, Attribute::Port), ["port-004"]);
        assert_eq!(values(&facts, Attribute::Capability), ["station"]);
        assert!(values(&facts, Attribute::ManagementAddress).is_empty());
        assert_eq!(
            values(&facts, Attribute::Description),
            ["Siemens AG SIMATIC S7 MULTIPORT SCALANCE X 200 FAM"]
        );
    }

    /// icsnpp_bsap-ip_example.pcap frame 1: MAC port id and an LLDP-MED endpoint class I.
    #[test]
    fn med_endpoint() {
        let facts = facts_of("0180c200000e644bf02b317188cc020704644bf02b3171040703644bf02b317106020e11fe0900120f010300010000fe070012bb0100010100000000");
        assert_eq!(values(&facts, Attribute::Port), ["64:4b:f0:2b:31:71"]);
        assert_eq!(
            values(&facts, Attribute::Capability),
            ["lldp-med-endpoint-class-1"]
        );
        assert!(values(&facts, Attribute::Hostname).is_empty());
    }

    /// LLDP-MED inventory, built by hand from ANSI/TIA-1057 10.2.6 (a Cisco IP phone's TLVs).
    #[test]
    fn med_inventory() {
        let mut pdu = hex("020704001122334455040703001122334455060200b4");
        let mut med = |subtype: u8, text: &str| {
            let len = 4 + text.len();
            pdu.extend_from_slice(&[
                0xfe | (len >> 8) as u8,
                len as u8,
                0x00,
                0x12,
                0xbb,
                subtype,
            ]);
            pdu.extend_from_slice(text.as_bytes());
        };
        med(5, "12");
        med(6, "sip88xx.14-1-1-0001-136");
        med(7, "sip88xx.14-1-1-0001-136.loads");
        med(8, "FCH2233A1BC");
        med(9, "Cisco Systems, Inc.");
        med(10, "CP-8845");
        med(11, "asset-42");
        pdu.extend_from_slice(&[0, 0]);
        let frame = format!("0180c200000e00112233445588cc{}", hex_string(&pdu));
        let facts = facts_of(&frame);
        assert_eq!(
            values(&facts, Attribute::Firmware),
            ["sip88xx.14-1-1-0001-136"]
        );
        assert_eq!(
            values(&facts, Attribute::Software),
            ["sip88xx.14-1-1-0001-136.loads"]
        );
        assert_eq!(values(&facts, Attribute::Serial), ["FCH2233A1BC"]);
        assert_eq!(values(&facts, Attribute::Vendor), ["Cisco Systems, Inc."]);
        assert_eq!(values(&facts, Attribute::Model), ["CP-8845"]);
        assert!(facts.iter().all(|f| !f.value.contains("asset")));
    }

    fn hex_string(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn errors_are_typed() {
        assert_eq!(
            Lldpdu::parse(&[]).unwrap_err(),
            LldpError::MissingMandatory {
                expected: "chassis id",
                offset: 0
            }
        );
        // Chassis id TLV claiming 7 bytes with 3 present.
        assert_eq!(
            Lldpdu::parse(&hex("0207040011")).unwrap_err(),
            LldpError::Truncated {
                field: "chassis id TLV",
                offset: 0
            }
        );
        // Port id first.
        assert_eq!(
            Lldpdu::parse(&hex("0403070031")).unwrap_err(),
            LldpError::MissingMandatory {
                expected: "chassis id",
                offset: 0
            }
        );
        // Time to live of one byte.
        assert_eq!(
            Lldpdu::parse(&hex("02020731040207310601ff")).unwrap_err(),
            LldpError::BadLength {
                field: "time to live TLV",
                length: 1,
                offset: 8
            }
        );
        // A management address whose string length overruns the TLV.
        let bytes = hex("0202073104020731060200781003091fc0a8");
        let pdu = Lldpdu::parse(&bytes).unwrap();
        let last = pdu.tlvs().last().unwrap();
        assert_eq!(
            last,
            Err(LldpError::BadLength {
                field: "management address TLV",
                length: 3,
                offset: 12
            })
        );
        assert!(LldpError::Truncated {
            field: "x",
            offset: 3
        }
        .to_string()
        .contains("at 3"));
    }

    #[test]
    fn other_frames_are_not_taken() {
        let frame = LinkFrame {
            src_mac: MacAddress([0; 6]),
            dst_mac: MacAddress([0x01, 0x80, 0xc2, 0, 0, 0x0e]),
            vlan: None,
            ethertype: 0x2000,
            snap_oui: Some(0x00_00_0c),
            payload: &[],
            now: Timestamp(1),
            frame: 1,
        };
        assert!(!LldpDissector.on_frame(&frame, &mut Observations::default()));
    }

    #[test]
    fn value_buf_cuts_and_formats() {
        let mut buf = ValueBuf::new();
        buf.push_u64(0);
        buf.push_bytes(b" ");
        buf.push_u64(u64::MAX);
        buf.push_bytes(b" ");
        buf.push_mac(&[0, 0x1b, 0xff, 1, 2, 3]);
        buf.push_bytes(b" ");
        buf.push_ip("2001:db8::1".parse().unwrap());
        assert_eq!(
            buf.as_bytes(),
            b"0 18446744073709551615 00:1b:ff:01:02:03 2001:db8::1"
        );
        buf.push_bytes(&[b'x'; 1000]);
        assert_eq!(buf.as_bytes().len(), VALUE_BUF_LEN);
    }
}
