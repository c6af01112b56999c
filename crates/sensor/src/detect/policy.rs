//! The policy engine: after learning, what the baseline did not contain.

use std::net::IpAddr;

use ironward_model::{AlertEngine, EventCategory, Severity};

use super::alerts::{AlertStore, Raise, StableHash, Text};
use super::baseline::Baseline;
use super::{EventInput, FlowInput};

/// Stateless: everything it compares with is in the baseline.
#[derive(Debug, Default)]
pub(crate) struct Policy;

type Raised = [Option<(u64, bool)>; 3];

/// Whether an address is one device's (not a group, not unspecified).
fn is_host(ip: IpAddr) -> bool {
    crate::observe::is_host_address(ip)
}

/// Whether an operation is a device's answer to someone's command (a rejection or an error)
/// rather than a command: the command itself is what policy judges, and its answer would
/// only repeat that alert under another name.
fn is_answer(operation: &str) -> bool {
    matches!(
        operation,
        "error_response" | "negative_confirmation" | "reject" | "exception"
    )
}

/// The policy alert for operations of a category the pair never performed, if any.
fn operation_policy(
    category: EventCategory,
) -> Option<(
    &'static str,
    Severity,
    &'static [&'static str],
    &'static str,
)> {
    Some(match category {
        EventCategory::Write => (
            "policy.unauthorized_write",
            Severity::Major,
            &["T0836", "T0855"][..],
            "Unauthorized write",
        ),
        EventCategory::ControlCommand => (
            "policy.unauthorized_command",
            Severity::Major,
            &["T0855"][..],
            "Unauthorized control command",
        ),
        EventCategory::ProgramDownload => (
            "policy.program_download",
            Severity::Critical,
            &["T0843"][..],
            "Program download",
        ),
        EventCategory::ProgramUpload => (
            "policy.program_upload",
            Severity::Major,
            &["T0845"][..],
            "Program upload",
        ),
        EventCategory::FirmwareUpdate => (
            "policy.firmware_update",
            Severity::Critical,
            &["T0857"][..],
            "Firmware update",
        ),
        EventCategory::ModeChange => (
            "policy.mode_change",
            Severity::Critical,
            &["T0858", "T0816"][..],
            "Controller mode change",
        ),
        EventCategory::ConfigurationChange => (
            "policy.configuration_change",
            Severity::Major,
            &["T0836"][..],
            "Configuration change",
        ),
        _ => return None,
    })
}

impl Policy {
    pub(crate) fn on_event(
        &mut self,
        baseline: &Baseline,
        store: &mut AlertStore,
        e: &EventInput<'_>,
    ) -> Raised {
        let mut out: Raised = [None; 3];
        let (Some(src), Some(dst)) = (e.src, e.dst) else {
            return out;
        };
        if !is_host(dst) {
            return out;
        }
        let base = Raise {
            kind: "",
            engine: AlertEngine::Policy,
            severity: Severity::Major,
            src: Some(src),
            dst: Some(dst),
            key: StableHash::default().bytes(e.protocol.as_bytes()).finish(),
            protocol: Some(e.protocol),
            techniques: &[],
            time: e.time,
            frame: Some(e.frame),
        };
        let evidence = || format!("{} {} {}", e.protocol, e.operation, e.detail);
        // A new master for a controller: someone else speaks its protocol to it.
        if ironward_intel::behaviour::is_ot_protocol(e.protocol)
            && baseline.has_server(dst, e.protocol)
            && !baseline.has_pair(src, dst, e.protocol)
        {
            out[0] = Some(store.raise(
                &Raise {
                    kind: "policy.new_master",
                    techniques: &["T0848"],
                    ..base
                },
                || Text {
                    title: format!("New {} client {src} for {dst}", e.protocol),
                    description: format!(
                        "{src} spoke {} to {dst}, which during learning only its usual clients did: a new master (HMI, engineering station or rogue device) for this controller.",
                        e.protocol
                    ),
                    remediation: "Confirm the new client is an authorised station; if not, block it and review what it did. If it is, learn it into the baseline.".to_owned(),
                },
                evidence,
            ));
        }
        if let Some((kind, severity, techniques, what)) =
            operation_policy(e.category).filter(|_| !is_answer(e.operation))
        {
            if !baseline.has_category(src, dst, e.protocol, e.category) {
                let key = StableHash::default()
                    .bytes(e.protocol.as_bytes())
                    .bytes(e.operation.as_bytes())
                    .finish();
                out[1] = Some(store.raise(
                    &Raise {
                        kind,
                        severity,
                        techniques,
                        key,
                        ..base
                    },
                    || Text {
                        title: format!("{what}: {} {} from {src} to {dst}", e.protocol, e.operation),
                        description: format!(
                            "{src} performed {} {} ({}) on {dst}; during learning this client never performed {} operations on this device.",
                            e.protocol,
                            e.operation,
                            e.detail,
                            e.category.as_str()
                        ),
                        remediation: "Check with operations and engineering whether this change was planned (change ticket); if not, isolate the source and verify the controller's program and parameters.".to_owned(),
                    },
                    evidence,
                ));
            }
            if e.category.is_engineering() && !baseline.is_engineering(src) {
                out[2] = Some(store.raise(
                    &Raise {
                        kind: "policy.new_engineering_workstation",
                        severity: Severity::Major,
                        techniques: &["T0886"],
                        dst: None,
                        key: 0,
                        ..base
                    },
                    || Text {
                        title: format!("New engineering workstation {src}"),
                        description: format!(
                            "{src} performed engineering operations ({} {}) though it did none during learning.",
                            e.protocol, e.operation
                        ),
                        remediation: "Verify the host is an approved engineering workstation; restrict engineering protocols to approved hosts.".to_owned(),
                    },
                    evidence,
                ));
            }
        }
        out
    }

    pub(crate) fn on_flow(
        &mut self,
        baseline: &Baseline,
        store: &mut AlertStore,
        f: &FlowInput,
    ) -> Raised {
        let mut out: Raised = [None; 3];
        let (client, server) = (f.client.ip(), f.server.ip());
        // Only conversations that happened: unanswered probes are the anomaly engine's.
        if !f.answered || f.server_is_group || !is_host(server) {
            return out;
        }
        let base = Raise {
            kind: "",
            engine: AlertEngine::Policy,
            severity: Severity::Minor,
            src: Some(client),
            dst: None,
            key: 0,
            protocol: f.protocol,
            techniques: &[],
            time: f.first_seen,
            frame: Some(f.frame),
        };
        let evidence = || {
            format!(
                "{} {} -> {} ({} packets)",
                f.protocol.unwrap_or("flow"),
                f.client,
                f.server,
                f.packets[0] + f.packets[1]
            )
        };
        for (slot, ip) in [client, server].into_iter().enumerate() {
            // A DHCP server's broadcast reply makes 255.255.255.255 the client: no device.
            if is_host(ip) && !baseline.has_device(ip) {
                out[slot] = Some(store.raise(
                    &Raise {
                        kind: "policy.new_device",
                        src: Some(ip),
                        protocol: None,
                        ..base
                    },
                    || Text {
                        title: format!("New device {ip}"),
                        description: format!("{ip} was not seen during learning."),
                        remediation: "Identify the device and its owner; if it belongs, learn it into the baseline, else disconnect it.".to_owned(),
                    },
                    evidence,
                ));
            }
        }
        let port = f.port();
        // A broadcast reply (DHCP's to 255.255.255.255) is the answer to a conversation, not
        // one: no device opened it.
        if is_host(client) && !baseline.has_connection(client, server, f.transport, port) {
            let new_protocol = f.protocol.filter(|p| !baseline.has_protocol(p));
            let kind = match new_protocol {
                Some(_) => "policy.new_protocol",
                None => "policy.new_connection",
            };
            // Written only when the alert is new, not for every flow that repeats it.
            let title = move || match new_protocol {
                Some(p) => format!("New protocol {p}: {client} to {server}"),
                None => format!(
                    "New connection {client} to {server} port {}",
                    port.unwrap_or(0)
                ),
            };
            out[2] = Some(store.raise(
                &Raise {
                    kind,
                    dst: Some(server),
                    key: StableHash::default()
                        .num(u64::from(f.transport))
                        .num(u64::from(port.unwrap_or(0)))
                        .finish(),
                    ..base
                },
                move || Text {
                    title: title(),
                    description: format!(
                        "{client} talked to {server} ({} port {}) which it did not during learning.",
                        f.protocol.unwrap_or("unknown protocol"),
                        port.unwrap_or(0)
                    ),
                    remediation: "Confirm the conversation is expected; learn it into the baseline or block it at the firewall.".to_owned(),
                },
                evidence,
            ));
        }
        out
    }
}
