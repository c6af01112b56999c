//! Roles from behaviour: what a device does on the network (the industrial protocols it answers
//! and speaks, the kinds of operations it performs) says what it is in the plant — a controller
//! answers polls, an engineering workstation downloads programs and stops CPUs, an HMI polls a
//! few controllers — and where it sits in the Purdue model.

use ironward_model::{Attribute, EventCategory, Source};

use crate::classify::Derived;

/// Industrial protocols whose servers are controllers (PLCs and the like).
pub const CONTROLLER_PROTOCOLS: &[&str] = &[
    "modbus",
    "s7comm",
    "s7comm_plus",
    "enip",
    "fins",
    "melsec",
    "srtp",
    "codesys",
];

/// Telecontrol protocols whose servers are outstations (RTUs, gateways).
pub const OUTSTATION_PROTOCOLS: &[&str] = &["dnp3", "iec104", "iec101"];

/// Substation protocols whose servers and publishers are IEDs.
pub const IED_PROTOCOLS: &[&str] = &["mms", "goose"];

/// Building-automation protocols whose servers are field controllers.
pub const BUILDING_PROTOCOLS: &[&str] = &["bacnet", "fox"];

/// Every industrial protocol Ironward dissects or recognises.
pub const OT_PROTOCOLS: &[&str] = &[
    "modbus",
    "s7comm",
    "s7comm_plus",
    "enip",
    "cip_io",
    "dnp3",
    "iec104",
    "iec101",
    "bacnet",
    "opcua",
    "pn_dcp",
    "pn_io",
    "mms",
    "goose",
    "sv",
    "fins",
    "melsec",
    "srtp",
    "codesys",
    "hart_ip",
    "fox",
    "ethercat",
];

/// Whether `protocol` is an industrial protocol.
pub fn is_ot_protocol(protocol: &str) -> bool {
    OT_PROTOCOLS.contains(&protocol)
}

/// Cyclic I/O protocols: their traffic flows between controllers and field devices on its own
/// (an IO controller reads inputs and writes parameter records as a matter of course), so what
/// is done over them is neither an operator's polling nor engineering work (PROFINET IO, CIP
/// class 1 I/O, GOOSE, Sampled Values, EtherCAT). PROFINET DCP is not among them: setting a
/// station's name or address is engineering work.
const CYCLIC_PROTOCOLS: &[&str] = &["pn_io", "cip_io", "goose", "sv", "ethercat"];

/// Whether `protocol` is industrial and not cyclic I/O: reading over it is polling a server
/// (an HMI's or SCADA server's work), programs and modes over it are engineering work.
pub fn is_polled_protocol(protocol: &str) -> bool {
    is_ot_protocol(protocol) && !CYCLIC_PROTOCOLS.contains(&protocol)
}

/// Device types of IT and enterprise-IoT equipment (Purdue levels 4–5 when they speak no
/// industrial protocol).
const IT_TYPES: &[&str] = &[
    "workstation",
    "server",
    "mobile",
    "printer",
    "ip_camera",
    "voip_phone",
    "media_device",
    "storage",
    "access_point",
    "iot_gateway",
    "iot_device",
];

/// What a device was seen doing, summarised for role inference.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Behaviour {
    /// Categories of operations it performed (one bit per [`EventCategory`]).
    pub performed: u16,
    /// Categories of operations performed on it.
    pub answered: u16,
    /// Categories it performed over industrial protocols other than cyclic I/O (an IO
    /// controller writing parameter records at start-up is no engineering work).
    pub performed_ot: u16,
    /// It read from or commanded servers over a polled industrial protocol (not cyclic I/O).
    pub polls: bool,
    /// Connections in which it polled an industrial server (one per server, protocol, port).
    pub ot_servers: u32,
    /// Connections in which an industrial client polled it.
    pub ot_clients: u32,
}

impl Behaviour {
    /// Records an operation the device performed over `protocol`.
    pub fn performed(&mut self, protocol: &str, category: EventCategory) {
        self.performed |= category.bit();
        if is_polled_protocol(protocol) {
            self.performed_ot |= category.bit();
            // Operating the process (reading it, commanding it) is an HMI's or SCADA's work.
            self.polls |= matches!(
                category,
                EventCategory::Read | EventCategory::ControlCommand
            );
        }
    }

    /// Records an operation performed on the device.
    pub fn answered(&mut self, category: EventCategory) {
        self.answered |= category.bit();
    }

    fn did(bits: u16, test: fn(EventCategory) -> bool) -> Vec<&'static str> {
        EventCategory::ALL
            .into_iter()
            .filter(|c| bits & c.bit() != 0 && test(*c))
            .map(EventCategory::as_str)
            .collect()
    }
}

/// The protocols a device answered (`serves`), spoke as a client (`uses`) and sent in
/// link-layer frames (`frames`), as role inference needs them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Protocols<'a> {
    /// Protocols it answered as a server.
    pub serves: &'a [&'a str],
    /// Protocols it spoke as a client.
    pub uses: &'a [&'a str],
    /// Link-layer protocols it sent (GOOSE, Sampled Values, PROFINET DCP, EtherCAT).
    pub frames: &'a [&'a str],
}

fn any_of(have: &[&str], wanted: &[&str]) -> Vec<String> {
    have.iter()
        .filter(|p| wanted.contains(p))
        .map(|p| (*p).to_owned())
        .collect()
}

fn derived(role: &str, rule: &str, evidence: String) -> Derived {
    Derived {
        attribute: Attribute::Role,
        value: role.to_owned(),
        confidence: Source::Behaviour.default_confidence(),
        rule: rule.to_owned(),
        evidence,
        source: Source::Behaviour,
    }
}

/// The OT role a device's behaviour shows, as a derived [`Attribute::Role`] fact with its
/// evidence; `None` when it shows none. Engineering work wins over everything (a workstation
/// that also polls is still the engineering workstation), then serving controller, outstation,
/// IED and building protocols, then polling (HMI for a few servers, SCADA server for many or
/// when it also serves).
pub fn infer_role(behaviour: &Behaviour, protocols: Protocols<'_>) -> Option<Derived> {
    let engineering = Behaviour::did(behaviour.performed_ot, EventCategory::is_engineering);
    if !engineering.is_empty() {
        return Some(derived(
            "engineering_workstation",
            "behaviour.engineering",
            format!("performed {} on industrial devices", engineering.join(", ")),
        ));
    }
    let served_engineering = Behaviour::did(behaviour.answered, EventCategory::is_engineering);
    let controller = any_of(protocols.serves, CONTROLLER_PROTOCOLS);
    let outstation = any_of(protocols.serves, OUTSTATION_PROTOCOLS);
    // A telecontrol outstation restarted or reconfigured is still an outstation.
    if controller.is_empty() && !outstation.is_empty() {
        return Some(derived(
            "rtu",
            "behaviour.outstation",
            format!("answers {} as an outstation", outstation.join(", ")),
        ));
    }
    if !controller.is_empty() || (!served_engineering.is_empty() && !protocols.serves.is_empty()) {
        let mut because = Vec::new();
        if !controller.is_empty() {
            because.push(format!("answers {}", controller.join(", ")));
        }
        if !served_engineering.is_empty() {
            because.push(format!("received {}", served_engineering.join(", ")));
        }
        return Some(derived(
            "controller",
            "behaviour.controller",
            because.join("; "),
        ));
    }
    let mut ied = any_of(protocols.serves, IED_PROTOCOLS);
    ied.extend(any_of(protocols.frames, &["goose", "sv"]));
    if !ied.is_empty() {
        return Some(derived(
            "ied",
            "behaviour.ied",
            format!("serves or publishes {}", ied.join(", ")),
        ));
    }
    let building = any_of(protocols.serves, BUILDING_PROTOCOLS);
    if !building.is_empty() {
        return Some(derived(
            "controller",
            "behaviour.building-controller",
            format!("answers {}", building.join(", ")),
        ));
    }
    if any_of(protocols.serves, &["hart_ip"]).len() == 1 {
        return Some(derived(
            "io_device",
            "behaviour.field-gateway",
            "answers hart_ip (field instrument gateway)".to_owned(),
        ));
    }
    // PROFINET IO roles are not read from the flows (IO devices send ApplicationReady as RPC
    // clients too): the device role a station announces in DCP says it (classification rules).
    let polled: Vec<String> = protocols
        .uses
        .iter()
        .filter(|p| is_polled_protocol(p))
        .map(|p| (*p).to_owned())
        .collect();
    if !polled.is_empty() && behaviour.ot_servers > 0 && behaviour.polls {
        let serves_ot = any_of(protocols.serves, OT_PROTOCOLS);
        let (role, rule) = if behaviour.ot_servers >= 3 || !serves_ot.is_empty() {
            ("scada_server", "behaviour.scada")
        } else {
            ("hmi", "behaviour.hmi")
        };
        let mut evidence = format!(
            "polls {} industrial server connection(s) over {}",
            behaviour.ot_servers,
            polled.join(", ")
        );
        if !serves_ot.is_empty() {
            evidence.push_str(&format!(" and serves {}", serves_ot.join(", ")));
        }
        return Some(derived(role, rule, evidence));
    }
    None
}

/// Network equipment types.
const NETWORK_TYPES: &[&str] = &["switch", "router", "firewall", "access_point"];

/// The OT network device role of a switch, router, firewall or access point that takes part in
/// industrial protocols (PROFINET DCP answers, industrial services), once its type is known;
/// `None` for other devices and for network equipment that speaks none.
pub fn network_role(device_type: Option<&str>, protocols: Protocols<'_>) -> Option<Derived> {
    let device_type = device_type.filter(|t| NETWORK_TYPES.contains(t))?;
    let mut ot = any_of(protocols.serves, OT_PROTOCOLS);
    ot.extend(any_of(protocols.uses, OT_PROTOCOLS));
    ot.extend(any_of(protocols.frames, OT_PROTOCOLS));
    ot.sort();
    ot.dedup();
    if ot.is_empty() {
        return None;
    }
    Some(derived(
        "ot_network_device",
        "behaviour.ot-network-device",
        format!("{device_type} speaking {}", ot.join(", ")),
    ))
}

/// A Purdue-model level estimate with its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurdueEstimate {
    /// 0 (field devices) to 5 (enterprise and beyond).
    pub level: u8,
    /// Why, in words.
    pub reason: String,
}

/// The Purdue level of a device from its role, type and protocols: 0 field devices (I/O,
/// instruments, merging units), 1 controllers (PLC, RTU, IED), 2 supervisory control (HMI,
/// SCADA, engineering workstations, OT network devices), 3 site operations (historians, OT
/// servers), 4 enterprise IT, 5 hosts outside the local networks. `None` when nothing says.
pub fn purdue_level(
    role: Option<&str>,
    device_type: Option<&str>,
    protocols: Protocols<'_>,
    local: bool,
) -> Option<PurdueEstimate> {
    let estimate = |level: u8, reason: String| Some(PurdueEstimate { level, reason });
    let ot: Vec<String> = {
        let mut all = any_of(protocols.serves, OT_PROTOCOLS);
        all.extend(any_of(protocols.uses, OT_PROTOCOLS));
        all.extend(any_of(protocols.frames, OT_PROTOCOLS));
        all.sort();
        all.dedup();
        all
    };
    if let Some(role) = role {
        match role {
            "io_device" => return estimate(0, "field device (I/O, instrument gateway)".into()),
            "controller" | "rtu" => return estimate(1, format!("{role}: basic control")),
            "ied" => {
                if protocols.frames.contains(&"sv") && !protocols.serves.contains(&"mms") {
                    return estimate(0, "publishes sampled values (merging unit)".into());
                }
                return estimate(1, "IED: protection and control".into());
            }
            "hmi" | "scada_server" | "engineering_workstation" | "ot_network_device" => {
                return estimate(2, format!("{role}: supervisory control"));
            }
            "historian" => return estimate(3, "historian: site operations".into()),
            _ => {}
        }
    }
    match device_type {
        Some("plc" | "rtu" | "ied" | "building_automation") => {
            return estimate(1, format!("{}: basic control", device_type.unwrap_or("")))
        }
        Some("io_device") => return estimate(0, "field device".into()),
        Some("hmi" | "scada_server" | "engineering_workstation") => {
            return estimate(
                2,
                format!("{}: supervisory control", device_type.unwrap_or("")),
            )
        }
        Some("historian") => return estimate(3, "historian: site operations".into()),
        _ => {}
    }
    if !ot.is_empty() {
        return estimate(
            3,
            format!("speaks {} without a control role", ot.join(", ")),
        );
    }
    if !local {
        return estimate(5, "outside the local networks".into());
    }
    if let Some(t) = device_type.filter(|t| IT_TYPES.contains(t)) {
        return estimate(4, format!("{t}: enterprise IT or IoT"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn protocols<'a>(serves: &'a [&'a str], uses: &'a [&'a str]) -> Protocols<'a> {
        Protocols {
            serves,
            uses,
            frames: &[],
        }
    }

    #[test]
    fn engineering_work_makes_an_engineering_workstation() {
        let mut b = Behaviour::default();
        b.performed("s7comm", EventCategory::Read);
        b.performed("s7comm", EventCategory::ProgramDownload);
        b.ot_servers = 1;
        let role = infer_role(&b, protocols(&[], &["s7comm"])).unwrap();
        assert_eq!(role.value, "engineering_workstation");
        assert!(role.evidence.contains("program_download"));
        // The same operation over an IT protocol says nothing about the plant.
        let mut it = Behaviour::default();
        it.performed("ftp", EventCategory::ProgramDownload);
        assert!(infer_role(&it, protocols(&[], &["ftp"])).is_none());
    }

    #[test]
    fn servers_and_pollers() {
        let b = Behaviour::default();
        assert_eq!(
            infer_role(&b, protocols(&["modbus", "http"], &[]))
                .unwrap()
                .value,
            "controller"
        );
        assert_eq!(
            infer_role(&b, protocols(&["dnp3"], &[])).unwrap().value,
            "rtu"
        );
        let mut poller = Behaviour::default();
        poller.performed("modbus", EventCategory::Read);
        poller.ot_servers = 1;
        assert_eq!(
            infer_role(&poller, protocols(&[], &["modbus"]))
                .unwrap()
                .value,
            "hmi"
        );
        poller.ot_servers = 5;
        assert_eq!(
            infer_role(&poller, protocols(&[], &["modbus", "dnp3"]))
                .unwrap()
                .value,
            "scada_server"
        );
        assert!(infer_role(&b, protocols(&["pn_io"], &["pn_io"])).is_none());
        // An outstation that was cold-restarted is still an outstation.
        let mut restarted = Behaviour::default();
        restarted.answered(EventCategory::ModeChange);
        assert_eq!(
            infer_role(&restarted, protocols(&["dnp3"], &[]))
                .unwrap()
                .value,
            "rtu"
        );
        // A master that only operates (select/operate) is an HMI.
        let mut operator = Behaviour::default();
        operator.performed("dnp3", EventCategory::ControlCommand);
        operator.ot_servers = 1;
        assert_eq!(
            infer_role(&operator, protocols(&[], &["dnp3"]))
                .unwrap()
                .value,
            "hmi"
        );
        let goose = Protocols {
            serves: &[],
            uses: &[],
            frames: &["goose"],
        };
        assert_eq!(infer_role(&b, goose).unwrap().value, "ied");
    }

    #[test]
    fn industrial_network_equipment() {
        let dcp = Protocols {
            serves: &[],
            uses: &[],
            frames: &["lldp", "pn_dcp"],
        };
        let role = network_role(Some("switch"), dcp).unwrap();
        assert_eq!(role.value, "ot_network_device");
        assert!(role.evidence.contains("pn_dcp"));
        assert!(network_role(Some("switch"), protocols(&["ssh"], &[])).is_none());
        assert!(network_role(Some("plc"), dcp).is_none());
        assert_eq!(
            purdue_level(Some("ot_network_device"), Some("switch"), dcp, true)
                .unwrap()
                .level,
            2
        );
    }

    #[test]
    fn purdue_levels() {
        let none = protocols(&[], &[]);
        assert_eq!(
            purdue_level(Some("controller"), None, none, true)
                .unwrap()
                .level,
            1
        );
        assert_eq!(
            purdue_level(Some("hmi"), None, none, true).unwrap().level,
            2
        );
        assert_eq!(
            purdue_level(None, Some("printer"), none, true)
                .unwrap()
                .level,
            4
        );
        assert_eq!(purdue_level(None, None, none, false).unwrap().level, 5);
        assert!(purdue_level(None, None, none, true).is_none());
        let opc = protocols(&["opcua"], &[]);
        assert_eq!(purdue_level(None, None, opc, true).unwrap().level, 3);
    }
}
