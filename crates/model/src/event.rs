//! Events: what a conversation did — one record per distinct operation between two endpoints,
//! with how often and when it was first and last seen.

use std::borrow::Cow;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::{DeviceId, MacAddress, Timestamp};

/// The kind of operation an event records, in words users of OT monitors know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventCategory {
    /// Reading process values, tags, registers or points.
    Read,
    /// Writing process values, tags, registers or points.
    Write,
    /// Sending a program (logic, blocks, project) to a controller.
    ProgramDownload,
    /// Reading a program back from a controller.
    ProgramUpload,
    /// Changing a controller's operating mode: run, stop, restart, reset.
    ModeChange,
    /// Sending new firmware to a device.
    FirmwareUpdate,
    /// Changing a device's configuration: names, addresses, communication settings, deleting
    /// program blocks.
    ConfigurationChange,
    /// Diagnostics and identification requests (device identity, status lists, test frames).
    Diagnostics,
    /// Setting or synchronising a device's clock.
    TimeSync,
    /// Commands to the process: operate a breaker, select/operate, set points.
    ControlCommand,
    /// Discovery and announcement traffic (Who-Is, Identify, ListIdentity).
    Discovery,
    /// Authentication attempts and results.
    Authentication,
    /// Anything else worth recording (session set-up, protocol housekeeping).
    Other,
}

impl EventCategory {
    /// Every category, in declaration order.
    pub const ALL: [EventCategory; 13] = [
        Self::Read,
        Self::Write,
        Self::ProgramDownload,
        Self::ProgramUpload,
        Self::ModeChange,
        Self::FirmwareUpdate,
        Self::ConfigurationChange,
        Self::Diagnostics,
        Self::TimeSync,
        Self::ControlCommand,
        Self::Discovery,
        Self::Authentication,
        Self::Other,
    ];

    /// The category's JSON name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::ProgramDownload => "program_download",
            Self::ProgramUpload => "program_upload",
            Self::ModeChange => "mode_change",
            Self::FirmwareUpdate => "firmware_update",
            Self::ConfigurationChange => "configuration_change",
            Self::Diagnostics => "diagnostics",
            Self::TimeSync => "time_sync",
            Self::ControlCommand => "control_command",
            Self::Discovery => "discovery",
            Self::Authentication => "authentication",
            Self::Other => "other",
        }
    }

    /// One bit per category, to keep sets of categories (what a device did) in a `u16`.
    pub const fn bit(self) -> u16 {
        1 << (self as u16)
    }

    /// Whether the operation changes what a controller does (writes, programs, modes,
    /// firmware, configuration, commands): the operations an engineering workstation or an
    /// attacker performs, and the ones policies restrict.
    pub const fn is_change(self) -> bool {
        matches!(
            self,
            Self::Write
                | Self::ProgramDownload
                | Self::ModeChange
                | Self::FirmwareUpdate
                | Self::ConfigurationChange
                | Self::ControlCommand
        )
    }

    /// Whether the operation is engineering work on a controller (programs, firmware, modes,
    /// configuration), as opposed to operating the process.
    pub const fn is_engineering(self) -> bool {
        matches!(
            self,
            Self::ProgramDownload
                | Self::ProgramUpload
                | Self::ModeChange
                | Self::FirmwareUpdate
                | Self::ConfigurationChange
        )
    }
}

/// One end of an event: the device (once the report resolved it) and its address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EventEndpoint {
    /// The device, as in the report's `devices`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceId>,
    /// Its IP address, for operations carried over IP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    /// Its MAC address, for layer-2 protocols (PROFINET DCP, GOOSE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<MacAddress>,
}

impl EventEndpoint {
    /// An endpoint known by its IP address.
    pub fn ip(ip: IpAddr) -> Self {
        Self {
            ip: Some(ip),
            ..Self::default()
        }
    }

    /// An endpoint known by its MAC address.
    pub fn mac(mac: MacAddress) -> Self {
        Self {
            mac: Some(mac),
            ..Self::default()
        }
    }
}

/// One operation seen between two endpoints, e.g. Modbus `write_multiple_registers` with detail
/// `unit 1, registers 0-9`. Repeats of the same operation with the same detail between the same
/// endpoints aggregate into one event (`count`, `time` of the first, `last_seen`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// When it first happened.
    pub time: Timestamp,
    /// When it last happened.
    pub last_seen: Timestamp,
    /// How often it happened.
    pub count: u64,
    /// Who did it (the requester; the sender for unsolicited messages).
    pub src: EventEndpoint,
    /// To whom.
    pub dst: EventEndpoint,
    /// Lower-case protocol name.
    pub protocol: Cow<'static, str>,
    /// What kind of operation.
    pub category: EventCategory,
    /// The protocol's operation (`write_multiple_registers`, `plc_stop`, `who_is`).
    pub operation: Cow<'static, str>,
    /// Protocol details: addresses, quantities, values, result.
    pub detail: String,
    /// SHA-256 of transferred content (program blocks, firmware, files), lower-case hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
}
