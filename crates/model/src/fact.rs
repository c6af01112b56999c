//! Facts: single, sourced statements about a device.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::{DeviceKey, Timestamp};

/// Which attribute of a device a fact is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Attribute {
    /// Manufacturer of the device or of its network interface.
    Vendor,
    /// A name the device goes by.
    Hostname,
    /// An IP address the device uses.
    Ip,
    /// The MAC address is locally administered (often randomised for privacy).
    MacLocallyAdministered,
    /// Device type (PLC, HMI, printer, phone, ...).
    Type,
    /// Network role (router, switch, engineering workstation, ...).
    Role,
    /// Model name or number.
    Model,
    /// Firmware or software version.
    Firmware,
    /// Serial number.
    Serial,
    /// Operating system.
    Os,
}

impl Attribute {
    /// The attribute's JSON name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Vendor => "vendor",
            Self::Hostname => "hostname",
            Self::Ip => "ip",
            Self::MacLocallyAdministered => "mac_locally_administered",
            Self::Type => "type",
            Self::Role => "role",
            Self::Model => "model",
            Self::Firmware => "firmware",
            Self::Serial => "serial",
            Self::Os => "os",
        }
    }
}

/// Where a fact came from. Later issues add sources (dhcp, lldp, modbus, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Source {
    /// The IEEE OUI registry (MA-L, MA-M, MA-S) entry of the MAC address prefix.
    Oui,
    /// The MAC address itself (its U/L bit).
    Mac,
    /// An ARP request or reply binding a MAC to an IPv4 address.
    Arp,
    /// IPv6 Neighbor Discovery (solicitation, advertisement, router advertisement).
    Ndp,
    /// Addresses seen in IP traffic on the local segment.
    Traffic,
}

impl Source {
    /// The source's JSON name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Oui => "oui",
            Self::Mac => "mac",
            Self::Arp => "arp",
            Self::Ndp => "ndp",
            Self::Traffic => "traffic",
        }
    }

    /// How much this source is trusted for identity attributes, 0–100. A device saying what it
    /// is (later: DHCP, LLDP, Modbus FC43) beats what can be inferred about it.
    pub const fn default_confidence(self) -> u8 {
        match self {
            Self::Mac => 100,
            Self::Arp | Self::Ndp => 90,
            Self::Traffic => 70,
            Self::Oui => 40,
        }
    }
}

/// A statement about a device: "MAC 00:80:f4:.. has vendor Schneider Electric (source: oui)".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fact {
    /// The device the fact is about.
    pub subject: DeviceKey,
    /// What the fact is about.
    pub attribute: Attribute,
    /// The value, as shown to the user (borrowed when it comes from a static table, such as an
    /// OUI vendor name, so that thousands of devices do not each copy it).
    pub value: Cow<'static, str>,
    /// 0–100: how much the source is trusted for this attribute.
    pub confidence: u8,
    /// Where it came from.
    pub source: Source,
    /// When it was (last) observed.
    pub seen_at: Timestamp,
}

impl Fact {
    /// A fact with the source's default confidence.
    pub fn new(
        subject: DeviceKey,
        attribute: Attribute,
        value: impl Into<Cow<'static, str>>,
        source: Source,
        seen_at: Timestamp,
    ) -> Self {
        Self {
            subject,
            attribute,
            value: value.into(),
            confidence: source.default_confidence(),
            source,
            seen_at,
        }
    }
}
