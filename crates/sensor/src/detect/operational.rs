//! The operational engine: controllers in stop or program mode, firmware changed within the
//! run, polled servers that stopped answering.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use ironward_model::{AlertEngine, Attribute, DeviceKey, Fact, Severity};

use super::alerts::{AlertStore, Raise, StableHash, Text};
use super::tracker::MAX_KEYS;
use super::FlowInput;

#[derive(Debug, Default)]
pub(crate) struct Operational {
    /// Firmware last reported per device (hash of the value).
    firmware: HashMap<DeviceKey, u64>,
    /// Servers that answered a polled protocol (server, port).
    answered: HashSet<(IpAddr, u16)>,
}

fn ip_of(key: &DeviceKey) -> Option<IpAddr> {
    match key {
        DeviceKey::Ip(ip) => Some(*ip),
        DeviceKey::Mac(_) => None,
    }
}

impl Operational {
    pub(crate) fn on_fact(
        &mut self,
        store: &mut AlertStore,
        frame: u64,
        fact: &Fact,
    ) -> Option<(u64, bool)> {
        let subject = fact.subject;
        let value: &str = &fact.value;
        let key = StableHash::default().bytes(subject.to_string().as_bytes());
        match fact.attribute {
            Attribute::State => {
                let lower = value.to_ascii_lowercase();
                if !(lower.starts_with("stop")
                    || lower.starts_with("program")
                    || lower.contains("halt"))
                {
                    return None;
                }
                Some(store.raise(
                    &Raise {
                        kind: "operational.controller_stopped",
                        engine: AlertEngine::Operational,
                        severity: Severity::Major,
                        src: ip_of(&subject),
                        dst: None,
                        key: key.finish(),
                        protocol: None,
                        techniques: &["T0858", "T0816"],
                        time: fact.seen_at.0,
                        frame: Some(frame),
                    },
                    || Text {
                        title: format!("Controller {subject} is in {value} mode"),
                        description: format!("{subject} reported its operating state as {value}: it is not executing its program (or can be reprogrammed)."),
                        remediation: "Confirm with operations that the controller is stopped or in program mode on purpose; return it to run mode and lock the mode switch when work is done.".to_owned(),
                    },
                    || format!("state {value} ({:?})", fact.source),
                ))
            }
            Attribute::Firmware => {
                let hash = StableHash::default().bytes(value.as_bytes()).finish();
                if self.firmware.len() >= MAX_KEYS && !self.firmware.contains_key(&subject) {
                    self.firmware.clear();
                }
                let before = self.firmware.insert(subject, hash)?;
                if before == hash {
                    return None;
                }
                Some(store.raise(
                    &Raise {
                        kind: "operational.firmware_changed",
                        engine: AlertEngine::Operational,
                        severity: Severity::Major,
                        src: ip_of(&subject),
                        dst: None,
                        key: key.finish(),
                        protocol: None,
                        techniques: &["T0857"],
                        time: fact.seen_at.0,
                        frame: Some(frame),
                    },
                    || Text {
                        title: format!("Firmware of {subject} changed"),
                        description: format!("{subject} now reports firmware {value}, different from what it reported earlier in this run."),
                        remediation: "Verify the firmware update was planned and the image is authentic (vendor signature, hash).".to_owned(),
                    },
                    || format!("firmware {value}"),
                ))
            }
            _ => None,
        }
    }

    pub(crate) fn on_flow(&mut self, store: &mut AlertStore, f: &FlowInput) -> Option<(u64, bool)> {
        let polled = f
            .protocol
            .is_some_and(ironward_intel::behaviour::is_polled_protocol);
        let port = f.port()?;
        let server = (f.server.ip(), port);
        if f.answered {
            if polled && self.answered.len() < MAX_KEYS {
                self.answered.insert(server);
            }
            return None;
        }
        if f.packets[0] == 0 || !self.answered.contains(&server) {
            return None;
        }
        Some(store.raise(
            &Raise {
                kind: "operational.device_not_answering",
                engine: AlertEngine::Operational,
                severity: Severity::Major,
                src: Some(f.server.ip()),
                dst: None,
                key: u64::from(port),
                protocol: f.protocol,
                techniques: &["T0814"],
                time: f.first_seen,
                frame: Some(f.frame),
            },
            || Text {
                title: format!("{} stopped answering on port {port}", f.server.ip()),
                description: format!("{} answered requests on port {port} earlier, then a client's requests ({}) went unanswered: the device may be down, overloaded or cut off.", f.server.ip(), f.client),
                remediation: "Check the device's power, network link and state; check for a denial-of-service.".to_owned(),
            },
            || format!("unanswered flow {} -> {} ({} packets)", f.client, f.server, f.packets[0]),
        ))
    }
}
