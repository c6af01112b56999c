//! What posture knows about one device: the caller (analyze, the console) builds an [`Asset`]
//! from its inventory, findings and vulnerability matches; everything downstream is a pure
//! function of these.

use std::net::IpAddr;

use ironward_model::Finding;
use serde::{Deserialize, Serialize};

/// Which security initiative a device belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Domain {
    /// Operational technology: control, supervision and the network that carries them.
    Ot,
    /// Enterprise IoT: cameras, printers, phones, building and office appliances.
    EnterpriseIot,
    /// Everything else (workstations, servers, phones of people): part of no initiative.
    It,
}

/// Device types (and inferred roles) that make a device OT. Types come from the classification
/// rules (`crates/intel/rules/devices.toml`), roles from behaviour (`crates/intel/src/behaviour.rs`).
const OT_TYPES: &[&str] = &[
    "plc",
    "controller",
    "rtu",
    "ied",
    "hmi",
    "scada_server",
    "engineering_workstation",
    "historian",
    "io_device",
    "ot_network_device",
    "building_automation",
    "dcs",
    "safety_controller",
    "drive",
    "robot",
    "gateway_ot",
    "protocol_gateway",
];

/// Device types that make a device Enterprise IoT (when it shows nothing industrial).
const IOT_TYPES: &[&str] = &[
    "ip_camera",
    "camera",
    "printer",
    "voip_phone",
    "ip_phone",
    "media_device",
    "smart_tv",
    "iot_gateway",
    "iot_device",
    "storage",
    "nas",
    "access_point",
    "badge_reader",
    "access_control",
    "ups",
    "sensor",
    "smart_building",
];

/// Whether a device that writes to, programs or commands a controller sits on the IT side
/// (the evidence of [`Asset::it_write_sources`]): Purdue level 4 or above, or classified
/// [`Domain::It`]; never an engineering workstation (by type or role), whose job is to program
/// controllers. `ot_side` is whether the writer itself belongs to the control system (it answers
/// an industrial protocol or runs cyclic I/O) — the writes in question are made over industrial
/// protocols and must not by themselves vouch for the writer.
pub fn is_it_side_writer(
    device_type: Option<&str>,
    role: Option<&str>,
    purdue_level: Option<u8>,
    ot_side: bool,
) -> bool {
    let engineering = |v: Option<&str>| v == Some("engineering_workstation");
    if engineering(device_type) || engineering(role) {
        return false;
    }
    purdue_level.is_some_and(|level| level >= 4)
        || Domain::classify(device_type.or(role), purdue_level, ot_side) == Domain::It
}

impl Domain {
    /// From what the inventory knows: device type (model `device_type` strings such as "plc",
    /// "rtu", "hmi", "ied", "engineering_workstation", "camera", "printer", "ip_phone", ...) or
    /// an inferred role, Purdue level, and whether it speaks industrial protocols.
    ///
    /// OT wins over IoT: an access point or a gateway that speaks PROFINET sits in the control
    /// network and is protected as part of it. Purdue levels 0–2 are OT by definition of the model.
    pub fn classify(
        device_type: Option<&str>,
        purdue_level: Option<u8>,
        speaks_ot: bool,
    ) -> Domain {
        let device_type = device_type.map(str::trim);
        let is = |list: &[&str]| {
            device_type.is_some_and(|t| list.iter().any(|known| t.eq_ignore_ascii_case(known)))
        };
        if is(OT_TYPES) || speaks_ot || purdue_level.is_some_and(|level| level <= 2) {
            Domain::Ot
        } else if is(IOT_TYPES) {
            Domain::EnterpriseIot
        } else {
            Domain::It
        }
    }

    /// The serde name ("ot", "enterprise_iot", "it").
    pub const fn as_str(self) -> &'static str {
        match self {
            Domain::Ot => "ot",
            Domain::EnterpriseIot => "enterprise_iot",
            Domain::It => "it",
        }
    }
}

/// Whether a device was authorized: learned during the site's learning window or approved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Authorization {
    /// Learned during the learning window or approved by a user.
    Authorized,
    /// First seen after the learning window and never approved.
    Unauthorized,
    /// No learning happened: nothing says either way.
    #[default]
    Unknown,
}

/// One known vulnerability of a device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssetVulnerability {
    /// CVE id.
    pub cve: String,
    /// CVSS base score, when the advisory gives one.
    pub cvss: Option<f32>,
    /// Listed in CISA's Known Exploited Vulnerabilities catalog.
    pub kev: bool,
}

/// A service the device offers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AssetService {
    /// "tcp" or "udp".
    pub transport: String,
    /// Port number.
    pub port: u16,
    /// Lower-case protocol name, when known.
    pub protocol: Option<String>,
}

/// Everything posture needs to know about one device. Built by the caller (analyze, console).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Asset {
    /// Model `DeviceId` string: "mac:..." or "ip:...".
    pub id: String,
    /// Its (first) address, for people.
    pub ip: Option<IpAddr>,
    /// First hostname, for people.
    pub name: Option<String>,
    /// Site id or name, for filtering.
    pub site: Option<String>,
    /// Zone name, for filtering.
    pub zone: Option<String>,
    /// Device group names.
    pub groups: Vec<String>,
    /// Device type (classification) or role.
    pub device_type: Option<String>,
    /// Manufacturer.
    pub vendor: Option<String>,
    /// Model name.
    pub model: Option<String>,
    /// Firmware version.
    pub firmware: Option<String>,
    /// Operating system.
    pub os: Option<String>,
    /// Purdue level 0–5.
    pub purdue_level: Option<u8>,
    /// Which initiative it belongs to.
    pub domain: Domain,
    /// Insecure configurations seen in its traffic.
    pub findings: Vec<Finding>,
    /// Services it offers.
    pub services: Vec<AssetService>,
    /// Services that answered but never carried application data (only handshakes/scans seen).
    pub unused_services: Vec<AssetService>,
    /// Known vulnerabilities (exclusions already removed by the caller).
    pub vulnerabilities: Vec<AssetVulnerability>,
    /// Whether it was authorized.
    pub authorized: Authorization,
    /// Public (internet) addresses this OT device exchanged traffic with.
    pub internet_peers: Vec<IpAddr>,
    /// Ids of IT-side devices (Purdue level >= 4 or domain It, not engineering workstations)
    /// that wrote to or programmed this device (write, program_download, mode_change,
    /// firmware_update, configuration_change, control_command events).
    pub it_write_sources: Vec<String>,
}

impl Asset {
    /// An asset that knows only its id and domain; everything else empty, `None` or Unknown.
    pub fn new(id: impl Into<String>, domain: Domain) -> Asset {
        Asset {
            id: id.into(),
            ip: None,
            name: None,
            site: None,
            zone: None,
            groups: Vec::new(),
            device_type: None,
            vendor: None,
            model: None,
            firmware: None,
            os: None,
            purdue_level: None,
            domain,
            findings: Vec::new(),
            services: Vec::new(),
            unused_services: Vec::new(),
            vulnerabilities: Vec::new(),
            authorized: Authorization::Unknown,
            internet_peers: Vec::new(),
            it_write_sources: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_by_type_level_and_protocols() {
        for t in [
            "plc",
            "rtu",
            "ied",
            "hmi",
            "engineering_workstation",
            "historian",
            "io_device",
        ] {
            assert_eq!(Domain::classify(Some(t), None, false), Domain::Ot, "{t}");
        }
        for t in [
            "ip_camera",
            "printer",
            "voip_phone",
            "media_device",
            "storage",
            "access_point",
        ] {
            assert_eq!(
                Domain::classify(Some(t), None, false),
                Domain::EnterpriseIot,
                "{t}"
            );
        }
        // An access point speaking PROFINET is part of the control network.
        assert_eq!(
            Domain::classify(Some("access_point"), None, true),
            Domain::Ot
        );
        // Purdue level 2 and below is OT whatever the type says.
        assert_eq!(
            Domain::classify(Some("workstation"), Some(2), false),
            Domain::Ot
        );
        assert_eq!(
            Domain::classify(Some("workstation"), Some(4), false),
            Domain::It
        );
        assert_eq!(Domain::classify(None, None, false), Domain::It);
        assert_eq!(Domain::classify(Some("PLC"), None, false), Domain::Ot);
    }
}
