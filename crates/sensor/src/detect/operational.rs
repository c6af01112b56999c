//! The operational engine: controllers in stop or program mode, firmware changed within the
//! run, polled servers that stopped answering.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use ironward_model::{AlertEngine, Attribute, DeviceKey, Fact, Severity};

use super::alerts::{AlertStore, Raise, StableHash, Text};
use super::tracker::MAX_KEYS;
use super::{FlowInput, TableFootprint};

#[derive(Debug, Default)]
pub(crate) struct Operational {
    /// Firmware last reported per device (hash of the value).
    firmware: HashMap<DeviceKey, u64>,
    /// Servers that answered a polled protocol (server, port).
    answered: HashSet<(IpAddr, u16)>,
}

/// Whether `value` starts with `prefix`, ignoring ASCII case (without a lowercased copy).
fn starts_with_ignore_case(value: &str, prefix: &str) -> bool {
    value
        .as_bytes()
        .get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
}

/// The hash of a device key's text form (as alert ids always used), written into a buffer on
/// the stack: a fact repeated per response must not allocate.
fn subject_key(subject: &DeviceKey) -> u64 {
    use std::fmt::Write;
    struct Buf {
        bytes: [u8; 64],
        len: usize,
    }
    impl Write for Buf {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            let end = self.len + s.len();
            self.bytes
                .get_mut(self.len..end)
                .ok_or(std::fmt::Error)?
                .copy_from_slice(s.as_bytes());
            self.len = end;
            Ok(())
        }
    }
    let mut buf = Buf {
        bytes: [0; 64],
        len: 0,
    };
    let hash = StableHash::default();
    match write!(buf, "{subject}") {
        Ok(()) => hash.bytes(&buf.bytes[..buf.len]).finish(),
        // Longer than any key's text; kept correct rather than fast.
        Err(_) => hash.bytes(subject.to_string().as_bytes()).finish(),
    }
}

fn ip_of(key: &DeviceKey) -> Option<IpAddr> {
    match key {
        DeviceKey::Ip(ip) => Some(*ip),
        DeviceKey::Mac(_) => None,
    }
}

impl Operational {
    pub(crate) fn footprint(&self, out: &mut Vec<TableFootprint>) {
        for (name, entries) in [
            ("operational.firmware", self.firmware.len()),
            ("operational.answered_servers", self.answered.len()),
        ] {
            out.push(TableFootprint {
                name,
                entries,
                limit: MAX_KEYS,
                values: 0,
            });
        }
    }

    pub(crate) fn on_fact(
        &mut self,
        store: &mut AlertStore,
        frame: u64,
        fact: &Fact,
    ) -> Option<(u64, bool)> {
        let subject = fact.subject;
        let value: &str = &fact.value;
        match fact.attribute {
            Attribute::State => {
                if !(starts_with_ignore_case(value, "stop")
                    || starts_with_ignore_case(value, "program")
                    || value
                        .as_bytes()
                        .windows(4)
                        .any(|w| w.eq_ignore_ascii_case(b"halt")))
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
                        key: subject_key(&subject),
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
                        key: subject_key(&subject),
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
