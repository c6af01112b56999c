//! Alerts: unauthorized or unplanned activity, protocol abuse, known threats, anomalies and
//! operational trouble, each raised by one of five engines, explained (description, evidence,
//! MITRE ATT&CK for ICS techniques, remediation) and aggregated (repeats of the same alert raise
//! its count and widen its first/last seen).

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::{DeviceId, Timestamp};

/// The engine that raised an alert, in the words users of OT monitors know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertEngine {
    /// Deviations from the learned baseline: new devices, connections, protocols, masters,
    /// unauthorized writes, program transfers, mode, firmware and configuration changes.
    Policy,
    /// Malformed or illegal protocol use: bad lengths, illegal function codes, reserved bits,
    /// exception storms.
    Protocol,
    /// Threat-intelligence matches: indicators of compromise and known ICS attack patterns.
    Malware,
    /// Scans, sweeps, brute force, spoofing, rogue services, unusual volumes.
    Anomaly,
    /// Devices that stopped answering, controllers in stop or program mode, sensor trouble,
    /// firmware changes, time-sync failures.
    Operational,
}

impl AlertEngine {
    /// Every engine.
    pub const ALL: [AlertEngine; 5] = [
        Self::Policy,
        Self::Protocol,
        Self::Malware,
        Self::Anomaly,
        Self::Operational,
    ];

    /// The JSON name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Policy => "policy",
            Self::Protocol => "protocol",
            Self::Malware => "malware",
            Self::Anomaly => "anomaly",
            Self::Operational => "operational",
        }
    }
}

/// How urgent an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Act now: a controller stopped, a program changed, malware.
    Critical,
    /// Act soon: unauthorized writes, new engineering access, brute force.
    Major,
    /// Look at it: new devices or connections, scans.
    Minor,
    /// For the record.
    Warning,
}

impl Severity {
    /// Every severity, most urgent first.
    pub const ALL: [Severity; 4] = [Self::Critical, Self::Major, Self::Minor, Self::Warning];

    /// The JSON name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Critical => "critical",
            Self::Major => "major",
            Self::Minor => "minor",
            Self::Warning => "warning",
        }
    }
}

/// A MITRE ATT&CK for ICS technique, e.g. `T0843` "Program Download".
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Technique {
    /// The technique id (`T0843`).
    pub id: String,
    /// Its name (`Program Download`).
    pub name: String,
}

/// One piece of evidence: what was seen, when, and where in the capture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// When.
    pub time: Timestamp,
    /// What, in words (`write_multiple_registers unit 1, registers 0-9 from 10.0.0.66`).
    pub summary: String,
    /// The frame number in the capture (1-based), when the alert came from a capture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame: Option<u64>,
}

/// Most pieces of evidence an alert keeps (the first ones: they explain why it was raised; the
/// count says how often it happened since).
pub const MAX_EVIDENCE: usize = 20;

/// An alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// A stable id: the same alert (same kind, same key such as source and destination) has the
    /// same id across sensors and runs, so that repeats aggregate and resends are idempotent.
    pub id: String,
    /// The alert type (`policy.new_device`, `anomaly.port_scan`, `malware.s7_plc_stop_sequence`):
    /// what exclusion rules and custom rules refer to.
    pub kind: String,
    /// One line.
    pub title: String,
    /// What happened and why it matters.
    pub description: String,
    /// The engine that raised it.
    pub engine: AlertEngine,
    /// How urgent.
    pub severity: Severity,
    /// The source address, when one.
    #[serde(default)]
    pub src_ip: Option<IpAddr>,
    /// The destination address, when one.
    #[serde(default)]
    pub dst_ip: Option<IpAddr>,
    /// The devices involved (as in the report's `devices`).
    #[serde(default)]
    pub devices: Vec<DeviceId>,
    /// The protocol concerned, when one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// MITRE ATT&CK for ICS techniques.
    #[serde(default)]
    pub techniques: Vec<Technique>,
    /// What was seen (at most [`MAX_EVIDENCE`]).
    #[serde(default)]
    pub evidence: Vec<Evidence>,
    /// What to do about it.
    #[serde(default)]
    pub remediation: String,
    /// How often it happened.
    pub count: u64,
    /// First occurrence.
    pub first_seen: Timestamp,
    /// Last occurrence.
    pub last_seen: Timestamp,
    /// The file holding the packets around it (`--pcap-dir`), when written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pcap: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_json_names() {
        for engine in AlertEngine::ALL {
            assert_eq!(
                serde_json::to_value(engine).unwrap(),
                serde_json::json!(engine.as_str())
            );
        }
        for severity in Severity::ALL {
            assert_eq!(
                serde_json::to_value(severity).unwrap(),
                serde_json::json!(severity.as_str())
            );
        }
    }
}
