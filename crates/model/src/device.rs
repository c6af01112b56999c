//! Devices as reported: identity attributes merged from facts.

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::{Fact, MacAddress, Timestamp};

/// How a device is identified. On the local segment a device is its MAC address; hosts seen only
/// behind a router (many addresses behind one router MAC) are identified by IP address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum DeviceKey {
    /// A device on the monitored segment.
    Mac(MacAddress),
    /// A host known only by its IP address.
    Ip(IpAddr),
}

impl DeviceKey {
    /// The stable device id: `mac:00:80:f4:0a:0b:0c` or `ip:10.1.2.3`.
    pub fn id(&self) -> DeviceId {
        DeviceId(self.to_string())
    }
}

impl fmt::Display for DeviceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Mac(mac) => write!(f, "mac:{mac}"),
            Self::Ip(ip) => write!(f, "ip:{ip}"),
        }
    }
}

/// A device id as it appears in reports (see [`DeviceKey::id`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DeviceId(pub String);

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Protocols a device speaks, as client and as server (lower-case names, sorted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Protocols {
    /// Protocols the device initiates.
    pub client: Vec<String>,
    /// Protocols the device answers.
    pub server: Vec<String>,
}

/// A service a device offers: it answered on this port.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Service {
    /// `tcp` or `udp`.
    pub transport: String,
    /// Port number.
    pub port: u16,
    /// Lower-case protocol name, `null` when unknown.
    pub protocol: Option<String>,
}

/// A device in the inventory. Every attribute comes from one of its `facts`; unknown values are
/// `None` (JSON `null`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// Stable id (see [`DeviceKey::id`]).
    pub id: DeviceId,
    /// MAC address, when the device is on the monitored segment.
    pub mac: Option<MacAddress>,
    /// IP addresses, sorted.
    pub ips: Vec<IpAddr>,
    /// Manufacturer.
    pub vendor: Option<String>,
    /// Names, sorted.
    pub hostnames: Vec<String>,
    /// Device type.
    #[serde(rename = "type")]
    pub device_type: Option<String>,
    /// Network role.
    pub role: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Firmware version.
    pub firmware: Option<String>,
    /// Serial number.
    pub serial: Option<String>,
    /// Operating system.
    pub os: Option<String>,
    /// A controller's operating state (`run`, `stop`, ...), when its protocol reports it.
    #[serde(default)]
    pub state: Option<String>,
    /// Purdue-model level estimate, 0 (field) to 5 (enterprise and beyond).
    #[serde(default)]
    pub purdue_level: Option<u8>,
    /// Why that level.
    #[serde(default)]
    pub purdue_reason: Option<String>,
    /// Protocols spoken.
    pub protocols: Protocols,
    /// Services offered.
    pub services: Vec<Service>,
    /// Insecure configurations seen (finding ids, see [`crate::Finding`]), sorted.
    #[serde(default)]
    pub findings: Vec<String>,
    /// The evidence behind every attribute.
    pub facts: Vec<ReportedFact>,
    /// Attributes for which sources disagreed: which value won and why.
    #[serde(default)]
    pub conflicts: Vec<Conflict>,
    /// First time the device was seen.
    pub first_seen: Timestamp,
    /// Last time the device was seen.
    pub last_seen: Timestamp,
}

/// A fact as shown inside a device: the subject is the device itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportedFact {
    /// Attribute name (`vendor`, `ip`, `role`, ...).
    pub attribute: Cow<'static, str>,
    /// Value.
    pub value: Cow<'static, str>,
    /// Source name (`oui`, `arp`, ...).
    pub source: Cow<'static, str>,
    /// 0–100.
    pub confidence: u8,
    /// This fact decided the device's value of a single-valued attribute (vendor, type, model,
    /// firmware, serial, OS, role).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub selected: bool,
    /// Why the fact holds, for derived facts: the classification rule and the facts it matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
}

/// Sources disagreed on a single-valued attribute; the strongest fact won.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    /// Attribute name.
    pub attribute: String,
    /// The value shown.
    pub chosen: String,
    /// Its source.
    pub chosen_source: String,
    /// The other values, each with its source and confidence.
    pub others: Vec<ReportedFact>,
    /// Why the chosen value won, in words.
    pub reason: String,
}

impl From<&Fact> for ReportedFact {
    fn from(fact: &Fact) -> Self {
        Self {
            attribute: Cow::Borrowed(fact.attribute.as_str()),
            value: fact.value.clone(),
            source: Cow::Borrowed(fact.source.as_str()),
            confidence: fact.confidence,
            selected: false,
            evidence: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_readable_and_stable() {
        let mac: MacAddress = "00:80:f4:01:02:03".parse().unwrap();
        assert_eq!(DeviceKey::Mac(mac).id().0, "mac:00:80:f4:01:02:03");
        let ip: IpAddr = "10.1.2.3".parse().unwrap();
        assert_eq!(DeviceKey::Ip(ip).id().0, "ip:10.1.2.3");
    }
}
