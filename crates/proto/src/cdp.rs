//! CDP (Cisco Discovery Protocol, versions 1 and 2; LLC/SNAP, OUI 00:00:0c, protocol id 0x2000):
//! what a Cisco switch, router, phone or access point says about itself every 60 seconds.
//!
//! A packet is a 4-byte header (version, time to live, checksum) and a list of TLVs (16-bit
//! type, 16-bit length that counts the 4-byte header). The walk never reads past the frame and
//! stops at the first malformed TLV. Facts are about the sender, keyed by the frame's source MAC:
//!
//! | TLV | fact |
//! |---|---|
//! | device id | `Hostname`; NX-OS's `name(SERIAL)` form gives `Hostname` `name` and `Serial` `SERIAL` |
//! | system name | `Hostname` |
//! | addresses, management addresses (IPv4, IPv6) | `ManagementAddress` (unspecified skipped) |
//! | port id | `Port` |
//! | capabilities | one `Capability` each: `router`, `bridge`, `source-route-bridge`, `switch`, `host`, `igmp`, `repeater`, `phone`, `remotely-managed`, `cvta`, `two-port-mac-relay` |
//! | software version | `Description` (full text); `Firmware` from the `Version X` token of Cisco IOS / IOS XE / IOS XR / NX-OS texts (see [`cisco_version`]), or the whole text when it is a single token (a phone's load name) |
//! | platform | `Model`; `Vendor` `Cisco` when it starts with `cisco` |
//! | VTP management domain | `Domain` |
//! | native VLAN | `Vlan` |
//! | VoIP VLAN reply | `Vlan` `"<id> (voice)"` |
//!
//! Left out: duplex, power, trust, cluster-management hellos, and the prefixes of routers
//! (they describe the network, not the device).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ironward_model::{Attribute, DeviceKey, Source};

use crate::lldp::ValueBuf;
use crate::observations::Observations;
use crate::text::{find, find_ignore_case, starts_with_ignore_case, trim};
use crate::{DissectorRegistry, FrameDissector, LinkFrame};

/// CDP's SNAP organisation code (Cisco).
pub const SNAP_OUI: u32 = 0x00_00_0c;
/// CDP's SNAP protocol id.
pub const SNAP_PROTOCOL: u16 = 0x2000;

/// What was wrong with a CDP packet, and where (byte offset from the start of the CDP header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CdpError {
    /// A header, TLV or field runs past the end of its container.
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Offset of the field (or of its TLV).
        offset: usize,
    },
    /// A length field is impossible (a TLV length below its own header).
    BadLength {
        /// The field being read.
        field: &'static str,
        /// The length found.
        length: usize,
        /// Offset of the field.
        offset: usize,
    },
    /// A CDP version other than 1 or 2.
    UnsupportedVersion {
        /// The version byte.
        version: u8,
    },
}

impl fmt::Display for CdpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { field, offset } => write!(f, "CDP {field} truncated at {offset}"),
            Self::BadLength {
                field,
                length,
                offset,
            } => write!(f, "CDP {field} has impossible length {length} at {offset}"),
            Self::UnsupportedVersion { version } => write!(f, "CDP version {version} unsupported"),
        }
    }
}

impl std::error::Error for CdpError {}

/// A CDP packet whose header was checked; TLVs are decoded on iteration.
#[derive(Debug, Clone, Copy)]
pub struct CdpPacket<'a> {
    /// Protocol version (1 or 2).
    pub version: u8,
    /// Seconds the receiver keeps the information.
    pub ttl: u8,
    /// Header checksum (not verified: a passive monitor reports what was said).
    pub checksum: u16,
    body: &'a [u8],
}

impl<'a> CdpPacket<'a> {
    /// Checks the header of a CDP packet (the bytes after the LLC/SNAP header).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, CdpError> {
        let [version, ttl, c1, c2, body @ ..] = bytes else {
            return Err(CdpError::Truncated {
                field: "header",
                offset: 0,
            });
        };
        if !matches!(version, 1 | 2) {
            return Err(CdpError::UnsupportedVersion { version: *version });
        }
        Ok(Self {
            version: *version,
            ttl: *ttl,
            checksum: u16::from_be_bytes([*c1, *c2]),
            body,
        })
    }

    /// The TLVs in order; after an error, nothing more.
    pub fn tlvs(&self) -> Tlvs<'a> {
        Tlvs {
            bytes: self.body,
            offset: 0,
            done: false,
        }
    }
}

/// One decoded TLV; values borrow the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tlv<'a> {
    /// Device id (0x0001).
    DeviceId(&'a [u8]),
    /// Addresses of the sending interface (0x0002).
    Addresses(Addresses<'a>),
    /// The port the packet was sent from (0x0003).
    PortId(&'a [u8]),
    /// Capability bits (0x0004).
    Capabilities(u32),
    /// Software version text (0x0005).
    SoftwareVersion(&'a [u8]),
    /// Hardware platform (0x0006).
    Platform(&'a [u8]),
    /// VTP management domain (0x0009).
    VtpDomain(&'a [u8]),
    /// Native VLAN of the port (0x000a).
    NativeVlan(u16),
    /// VoIP VLAN reply (0x000e): the voice VLAN the switch offers.
    VoipVlanReply(u16),
    /// Management addresses (0x0016).
    ManagementAddresses(Addresses<'a>),
    /// System name (0x0014).
    SystemName(&'a [u8]),
    /// Any other TLV.
    Other {
        /// TLV type.
        kind: u16,
        /// TLV value.
        value: &'a [u8],
    },
}

/// Iterator over a CDP packet's TLVs. Each step consumes at least the 4-byte TLV header.
#[derive(Debug, Clone)]
pub struct Tlvs<'a> {
    bytes: &'a [u8],
    offset: usize,
    done: bool,
}

impl<'a> Tlvs<'a> {
    fn step(&mut self) -> Result<Option<Tlv<'a>>, CdpError> {
        let rest = self.bytes.get(self.offset..).unwrap_or_default();
        // Offsets are reported from the start of the CDP header.
        let offset = self.offset + 4;
        if rest.is_empty() {
            return Ok(None);
        }
        let [t1, t2, l1, l2, tail @ ..] = rest else {
            return Err(CdpError::Truncated {
                field: "TLV header",
                offset,
            });
        };
        let kind = u16::from_be_bytes([*t1, *t2]);
        let len = usize::from(u16::from_be_bytes([*l1, *l2]));
        let field = tlv_name(kind);
        if len < 4 {
            return Err(CdpError::BadLength {
                field,
                length: len,
                offset,
            });
        }
        let value = tail
            .get(..len - 4)
            .ok_or(CdpError::Truncated { field, offset })?;
        self.offset += len;
        let bad = || CdpError::BadLength {
            field,
            length: len,
            offset,
        };
        let tlv = match kind {
            0x0001 => Tlv::DeviceId(value),
            0x0002 | 0x0016 => {
                let [a, b, c, d, entries @ ..] = value else {
                    return Err(bad());
                };
                let addresses = Addresses {
                    count: u32::from_be_bytes([*a, *b, *c, *d]),
                    bytes: entries,
                    offset: offset + 8,
                };
                if kind == 0x0002 {
                    Tlv::Addresses(addresses)
                } else {
                    Tlv::ManagementAddresses(addresses)
                }
            }
            0x0003 => Tlv::PortId(value),
            0x0004 => match value {
                [a, b, c, d] => Tlv::Capabilities(u32::from_be_bytes([*a, *b, *c, *d])),
                _ => return Err(bad()),
            },
            0x0005 => Tlv::SoftwareVersion(value),
            0x0006 => Tlv::Platform(value),
            0x0009 => Tlv::VtpDomain(value),
            0x000a => match value {
                [a, b] => Tlv::NativeVlan(u16::from_be_bytes([*a, *b])),
                _ => return Err(bad()),
            },
            0x000e => match value {
                [_, a, b, ..] => Tlv::VoipVlanReply(u16::from_be_bytes([*a, *b])),
                _ => return Err(bad()),
            },
            0x0014 => Tlv::SystemName(value),
            _ => Tlv::Other { kind, value },
        };
        Ok(Some(tlv))
    }
}

impl<'a> Iterator for Tlvs<'a> {
    type Item = Result<Tlv<'a>, CdpError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.step().transpose();
        if matches!(item, None | Some(Err(_))) {
            self.done = true;
        }
        item
    }
}

fn tlv_name(kind: u16) -> &'static str {
    match kind {
        0x0001 => "device id TLV",
        0x0002 => "addresses TLV",
        0x0003 => "port id TLV",
        0x0004 => "capabilities TLV",
        0x0005 => "software version TLV",
        0x0006 => "platform TLV",
        0x0009 => "VTP domain TLV",
        0x000a => "native VLAN TLV",
        0x000e => "VoIP VLAN reply TLV",
        0x0014 => "system name TLV",
        0x0016 => "management addresses TLV",
        _ => "TLV",
    }
}

/// The address list of an addresses or management-addresses TLV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addresses<'a> {
    /// Number of addresses the TLV announces.
    pub count: u32,
    bytes: &'a [u8],
    offset: usize,
}

/// One address of an [`Addresses`] list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Address<'a> {
    /// An IP address (NLPID 0xcc for IPv4, 802.2 SNAP with ether type 0x86dd for IPv6).
    Ip(IpAddr),
    /// Another protocol's address (DECnet, AppleTalk, CLNS, ...).
    Other {
        /// Protocol type (1 NLPID, 2 802.2).
        protocol_type: u8,
        /// Protocol identifier bytes.
        protocol: &'a [u8],
        /// Address bytes.
        address: &'a [u8],
    },
}

/// 802.2 protocol bytes of IPv6 in a CDP address.
const IPV6_PROTOCOL: [u8; 8] = [0xaa, 0xaa, 0x03, 0x00, 0x00, 0x00, 0x86, 0xdd];

impl<'a> Addresses<'a> {
    /// The addresses, at most `count` of them and never past the TLV; after an error, nothing
    /// more.
    pub fn iter(&self) -> AddressIter<'a> {
        AddressIter {
            bytes: self.bytes,
            at: 0,
            base: self.offset,
            remaining: self.count,
        }
    }
}

/// Iterator over an [`Addresses`] list.
#[derive(Debug, Clone)]
pub struct AddressIter<'a> {
    bytes: &'a [u8],
    at: usize,
    base: usize,
    remaining: u32,
}

impl<'a> AddressIter<'a> {
    fn step(&mut self) -> Result<Address<'a>, CdpError> {
        let offset = self.base + self.at;
        let truncated = CdpError::Truncated {
            field: "address",
            offset,
        };
        let rest = self.bytes.get(self.at..).ok_or(truncated)?;
        let [protocol_type, protocol_len, tail @ ..] = rest else {
            return Err(truncated);
        };
        let protocol_len = usize::from(*protocol_len);
        let protocol = tail.get(..protocol_len).ok_or(truncated)?;
        let tail = tail.get(protocol_len..).unwrap_or_default();
        let [l1, l2, tail @ ..] = tail else {
            return Err(truncated);
        };
        let address_len = usize::from(u16::from_be_bytes([*l1, *l2]));
        let address = tail.get(..address_len).ok_or(truncated)?;
        self.at += 2 + protocol_len + 2 + address_len;
        Ok(match (protocol_type, protocol, address) {
            (1, [0xcc], [a, b, c, d]) => Address::Ip(IpAddr::V4(Ipv4Addr::new(*a, *b, *c, *d))),
            (2, p, a) if p == IPV6_PROTOCOL && a.len() == 16 => {
                let mut octets = [0u8; 16];
                octets.copy_from_slice(a);
                Address::Ip(IpAddr::V6(Ipv6Addr::from(octets)))
            }
            _ => Address::Other {
                protocol_type: *protocol_type,
                protocol,
                address,
            },
        })
    }
}

impl<'a> Iterator for AddressIter<'a> {
    type Item = Result<Address<'a>, CdpError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        let item = self.step();
        // Each entry takes at least 4 bytes, so `count` cannot make this loop longer than the
        // TLV; an error ends it.
        self.remaining = if item.is_ok() { self.remaining - 1 } else { 0 };
        Some(item)
    }
}

/// Names of the capability bits, bit 0 first.
const CAPABILITIES: [&str; 11] = [
    "router",
    "bridge",
    "source-route-bridge",
    "switch",
    "host",
    "igmp",
    "repeater",
    "phone",
    "remotely-managed",
    "cvta",
    "two-port-mac-relay",
];

/// The version of a Cisco software description (CDP software version, LLDP system
/// description, SNMP sysDescr): the token after `Version ` up to a comma, space or `[`, when
/// the text mentions Cisco and the token starts with a digit.
///
/// `Cisco IOS Software, C3560 Software (C3560-ADVIPSERVICESK9-M), Version 12.2(44)SE, RELEASE
/// SOFTWARE (fc1)` gives `12.2(44)SE`; `Cisco Nexus Operating System (NX-OS) Software, Version
/// 9.3(8)` gives `9.3(8)`; `Cisco IOS XR Software, Version 6.1.2[Default]` gives `6.1.2`.
pub(crate) fn cisco_version(text: &[u8]) -> Option<&[u8]> {
    find_ignore_case(text, b"cisco")?;
    let start = find(text, b"Version ")? + b"Version ".len();
    let rest = text.get(start..)?;
    let end = rest
        .iter()
        .position(|b| b.is_ascii_whitespace() || matches!(b, b',' | b'[' | b';'))
        .unwrap_or(rest.len());
    let version = rest.get(..end)?;
    (version.len() <= 64 && version.first().is_some_and(u8::is_ascii_digit)).then_some(version)
}

/// Splits an NX-OS device id `name(SERIAL)` into name and serial.
fn split_serial(device_id: &[u8]) -> Option<(&[u8], &[u8])> {
    let inner = device_id.strip_suffix(b")")?;
    let open = inner.iter().rposition(|b| *b == b'(')?;
    let (name, serial) = (inner.get(..open)?, inner.get(open + 1..)?);
    (!name.is_empty()
        && (4..=32).contains(&serial.len())
        && serial.iter().all(u8::is_ascii_alphanumeric))
    .then_some((name, serial))
}

/// Reports the facts of one CDP packet about `subject`.
fn observe(
    packet: &CdpPacket<'_>,
    subject: DeviceKey,
    frame: &LinkFrame<'_>,
    out: &mut Observations,
) {
    let at = frame.now;
    let source = Source::Cdp;
    for tlv in packet.tlvs().map_while(Result::ok) {
        match tlv {
            Tlv::DeviceId(id) => match split_serial(id) {
                Some((name, serial)) => {
                    out.fact_bytes(subject, Attribute::Hostname, name, source, at);
                    out.fact_bytes(subject, Attribute::Serial, serial, source, at);
                }
                None => out.fact_bytes(subject, Attribute::Hostname, id, source, at),
            },
            Tlv::SystemName(name) => out.fact_bytes(subject, Attribute::Hostname, name, source, at),
            Tlv::Addresses(list) | Tlv::ManagementAddresses(list) => {
                for address in list.iter().map_while(Result::ok) {
                    if let Address::Ip(ip) = address {
                        if !ip.is_unspecified() {
                            let mut text = ValueBuf::new();
                            text.push_ip(ip);
                            out.fact_bytes(
                                subject,
                                Attribute::ManagementAddress,
                                text.as_bytes(),
                                source,
                                at,
                            );
                        }
                    }
                }
            }
            Tlv::PortId(port) => out.fact_bytes(subject, Attribute::Port, port, source, at),
            Tlv::Capabilities(bits) => {
                for (bit, name) in CAPABILITIES.iter().enumerate() {
                    if bits & (1 << bit) != 0 {
                        out.fact(subject, Attribute::Capability, name, source, at);
                    }
                }
            }
            Tlv::SoftwareVersion(text) => {
                out.fact_bytes(subject, Attribute::Description, text, source, at);
                let trimmed = trim(text);
                let version = cisco_version(text).or_else(|| {
                    (!trimmed.is_empty()
                        && trimmed.len() <= 64
                        && !trimmed.iter().any(u8::is_ascii_whitespace))
                    .then_some(trimmed)
                });
                if let Some(version) = version {
                    out.fact_bytes(subject, Attribute::Firmware, version, source, at);
                }
            }
            Tlv::Platform(platform) => {
                out.fact_bytes(subject, Attribute::Model, platform, source, at);
                if starts_with_ignore_case(trim(platform), b"cisco") {
                    out.fact(subject, Attribute::Vendor, "Cisco", source, at);
                }
            }
            Tlv::VtpDomain(domain) => {
                out.fact_bytes(subject, Attribute::Domain, domain, source, at)
            }
            Tlv::NativeVlan(vlan) => {
                let mut text = ValueBuf::new();
                text.push_u64(u64::from(vlan));
                out.fact_bytes(subject, Attribute::Vlan, text.as_bytes(), source, at);
            }
            Tlv::VoipVlanReply(vlan) => {
                let mut text = ValueBuf::new();
                text.push_u64(u64::from(vlan));
                text.push_bytes(b" (voice)");
                out.fact_bytes(subject, Attribute::Vlan, text.as_bytes(), source, at);
            }
            Tlv::Other { .. } => {}
        }
    }
}

/// The CDP frame dissector.
#[derive(Debug, Default, Clone, Copy)]
pub struct CdpDissector;

impl FrameDissector for CdpDissector {
    fn protocol(&self) -> &'static str {
        "cdp"
    }

    fn on_frame(&self, frame: &LinkFrame<'_>, out: &mut Observations) -> bool {
        if frame.snap_oui != Some(SNAP_OUI) || frame.ethertype != SNAP_PROTOCOL {
            return false;
        }
        if let Ok(packet) = CdpPacket::parse(frame.payload) {
            observe(&packet, DeviceKey::Mac(frame.src_mac), frame, out);
        }
        true
    }
}

/// Adds this module's dissectors to `registry`.
pub fn register(registry: &mut DissectorRegistry) {
    registry.register_frame(Box::new(CdpDissector));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::hex;
    use ironward_model::{Fact, MacAddress, Timestamp};

    /// Runs the dissector over a whole 802.3 + LLC/SNAP frame (hex), returning its facts.
    fn facts_of(frame_hex: &str) -> Vec<Fact> {
        let bytes = hex(frame_hex);
        let mut src = [0u8; 6];
        src.copy_from_slice(&bytes[6..12]);
        assert_eq!(&bytes[14..17], &[0xaa, 0xaa, 0x03]);
        let frame = LinkFrame {
            src_mac: MacAddress(src),
            dst_mac: MacAddress([0x01, 0x80, 0xc2, 0, 0, 0x0e]),
            vlan: None,
            ethertype: u16::from_be_bytes([bytes[20], bytes[21]]),
            snap_oui: Some(u32::from_be_bytes([0, bytes[17], bytes[18], bytes[19]])),
            payload: &bytes[22..],
            now: Timestamp(1),
            frame: 1,
        };
        let mut out = Observations::default();
        assert!(CdpDissector.on_frame(&frame, &mut out));
        out.drain_facts().collect()
    }

    fn values(facts: &[Fact], attribute: Attribute) -> Vec<String> {
        facts
            .iter()
            .filter(|f| f.attribute == attribute)
            .map(|f| f.value.to_string())
            .collect()
    }

    /// tcpdump_3560_CDP.pcap frame 1: a Catalyst 3560G with management address 192.168.0.1.
    const C3560: &str = "01000ccccccc001906eab8850182aaaa0300000c200002b4b0bd0001000a537769746368000500c4436973636f20494f5320536f6674776172652c20433335363020536f667477617265202843333536302d414456495053455256494345534b392d4d292c2056657273696f6e2031322e3228323529534542342c2052454c4541534520534f4654574152452028666331290a436f707972696768742028632920313938362d3230303520627920436973636f2053797374656d732c20496e632e0a436f6d70696c6564205475652033302d4175672d30352031373a35362062792079656e616e6800060018636973636f2057532d4333353630472d3234505300020011000000010101cc0004c0a80001000300164769676162697445746865726e6574302f3500040008000000280008002400000c011200000000ffffffff010221ff000000000000001906eab880ff0000000900074c6162000a00060001000b0005010012000500001300050000160011000000010101cc0004c0a80001001a00100000000100000000ffffffff";

    #[test]
    fn catalyst_3560() {
        let facts = facts_of(C3560);
        assert!(facts.iter().all(|f| f.source == Source::Cdp
            && f.subject == DeviceKey::Mac("00:19:06:ea:b8:85".parse().unwrap())));
        assert_eq!(values(&facts, Attribute::Hostname), ["Switch"]);
        assert_eq!(values(&facts, Attribute::Firmware), ["12.2(25)SEB4"]);
        assert_eq!(
            values(&facts, Attribute::Description),
            ["Cisco IOS Software, C3560 Software (C3560-ADVIPSERVICESK9-M), Version 12.2(25)SEB4, \
              RELEASE SOFTWARE (fc1) Copyright (c) 1986-2005 by Cisco Systems, Inc. Compiled Tue \
              30-Aug-05 17:56 by yenanh"]
        );
        assert_eq!(values(&facts, Attribute::Model), ["cisco WS-C3560G-24PS"]);
        assert_eq!(values(&facts, Attribute::Vendor), ["Cisco"]);
        // Both the addresses and the management addresses TLV carry it: one fact.
        assert_eq!(
            values(&facts, Attribute::ManagementAddress),
            ["192.168.0.1"]
        );
        assert_eq!(values(&facts, Attribute::Port), ["GigabitEthernet0/5"]);
        assert_eq!(values(&facts, Attribute::Capability), ["switch", "igmp"]);
        assert_eq!(values(&facts, Attribute::Domain), ["Lab"]);
        assert_eq!(values(&facts, Attribute::Vlan), ["1"]);
    }

    #[test]
    fn cisco_versions() {
        let cases: [(&[u8], Option<&[u8]>); 6] = [
            (
                b"Cisco IOS Software, C3560 Software (C3560-ADVIPSERVICESK9-M), Version 12.2(44)SE, RELEASE",
                Some(b"12.2(44)SE"),
            ),
            (
                b"Cisco Nexus Operating System (NX-OS) Software, Version 9.3(8)",
                Some(b"9.3(8)"),
            ),
            (b"Cisco IOS XR Software, Version 6.1.2[Default]", Some(b"6.1.2")),
            (
                b"Cisco Internetwork Operating System Software \nIOS (tm) C2950 Software (C2950-I6Q4L2-M), Version 12.1(22)EA14, RELEASE",
                Some(b"12.1(22)EA14"),
            ),
            (b"Linux 5.10 Version 5", None),
            (b"Cisco Version X", None),
        ];
        for (text, want) in cases {
            assert_eq!(
                cisco_version(text),
                want,
                "{}",
                String::from_utf8_lossy(text)
            );
        }
    }

    /// A phone's packet built by hand (device id with the MAC, a bare load name, IPv6 address,
    /// VoIP VLAN reply) and an NX-OS device id with its serial.
    #[test]
    fn phone_and_nexus() {
        fn tlv(kind: u16, value: &[u8]) -> Vec<u8> {
            let mut out = kind.to_be_bytes().to_vec();
            out.extend_from_slice(&((value.len() + 4) as u16).to_be_bytes());
            out.extend_from_slice(value);
            out
        }
        let mut address = vec![0, 0, 0, 1, 2, 8];
        address.extend_from_slice(&IPV6_PROTOCOL);
        address.extend_from_slice(&[0, 16]);
        address.extend_from_slice(&"2001:db8::5".parse::<Ipv6Addr>().unwrap().octets());
        let mut packet = vec![2, 180, 0, 0];
        packet.extend(tlv(1, b"SEP00112233AABB"));
        packet.extend(tlv(5, b"sip88xx.14-1-1-0001-136"));
        packet.extend(tlv(6, b"Cisco IP Phone 8845"));
        packet.extend(tlv(2, &address));
        packet.extend(tlv(4, &[0, 0, 0x04, 0x90]));
        packet.extend(tlv(0x0e, &[1, 0, 110]));
        let frame = format!(
            "01000ccccccc00112233aabb0000aaaa0300000c2000{}",
            packet
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        let facts = facts_of(&frame);
        assert_eq!(values(&facts, Attribute::Hostname), ["SEP00112233AABB"]);
        assert_eq!(
            values(&facts, Attribute::Firmware),
            ["sip88xx.14-1-1-0001-136"]
        );
        assert_eq!(values(&facts, Attribute::Model), ["Cisco IP Phone 8845"]);
        assert_eq!(
            values(&facts, Attribute::ManagementAddress),
            ["2001:db8::5"]
        );
        assert_eq!(
            values(&facts, Attribute::Capability),
            ["host", "phone", "two-port-mac-relay"]
        );
        assert_eq!(values(&facts, Attribute::Vlan), ["110 (voice)"]);

        assert_eq!(
            split_serial(b"N9K-CORE-1(FDO21120U8N)"),
            Some((&b"N9K-CORE-1"[..], &b"FDO21120U8N"[..]))
        );
        assert_eq!(split_serial(b"router"), None);
        assert_eq!(split_serial(b"(FDO21120U8N)"), None);
    }

    #[test]
    fn errors_are_typed() {
        assert_eq!(
            CdpPacket::parse(&[2, 180]).unwrap_err(),
            CdpError::Truncated {
                field: "header",
                offset: 0
            }
        );
        assert_eq!(
            CdpPacket::parse(&[7, 180, 0, 0]).unwrap_err(),
            CdpError::UnsupportedVersion { version: 7 }
        );
        let bytes = hex("02b40000000100025300");
        let packet = CdpPacket::parse(&bytes).unwrap();
        assert_eq!(
            packet.tlvs().collect::<Vec<_>>(),
            [Err(CdpError::BadLength {
                field: "device id TLV",
                length: 2,
                offset: 4
            })]
        );
        let bytes = hex("02b400000001000a5300");
        let packet = CdpPacket::parse(&bytes).unwrap();
        assert_eq!(
            packet.tlvs().collect::<Vec<_>>(),
            [Err(CdpError::Truncated {
                field: "device id TLV",
                offset: 4
            })]
        );
        // An address list announcing more entries than it holds.
        let bytes = hex("02b4000000020011000000050101cc0004c0a80001");
        let packet = CdpPacket::parse(&bytes).unwrap();
        let Some(Ok(Tlv::Addresses(list))) = packet.tlvs().next() else {
            panic!("addresses TLV");
        };
        let parsed: Vec<_> = list.iter().collect();
        assert_eq!(parsed.len(), 2);
        assert_eq!(
            parsed[0],
            Ok(Address::Ip(IpAddr::V4(Ipv4Addr::new(192, 168, 0, 1))))
        );
        assert_eq!(
            parsed[1],
            Err(CdpError::Truncated {
                field: "address",
                offset: 21
            })
        );
    }

    #[test]
    fn lldp_frames_are_not_taken() {
        let frame = LinkFrame {
            src_mac: MacAddress([0; 6]),
            dst_mac: MacAddress([0x01, 0x80, 0xc2, 0, 0, 0x0e]),
            vlan: None,
            ethertype: 0x88cc,
            snap_oui: None,
            payload: &[],
            now: Timestamp(1),
            frame: 1,
        };
        assert!(!CdpDissector.on_frame(&frame, &mut Observations::default()));
    }
}
