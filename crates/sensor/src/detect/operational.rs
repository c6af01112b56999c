//! The operational engine: controllers in stop or program mode, firmware changed within the
//! run, polled servers that stopped answering, failed time synchronisation (NTP), and the
//! sensor's own capture losing frames or falling silent.
//!
//! Thresholds:
//! - `operational.time_sync`: every NTP reply that is a kiss-o'-death or comes from an
//!   unsynchronised server (leap indicator 3, stratum 16), and, per client and server,
//!   [`UNANSWERED_NTP_REQUESTS`] requests to UDP port 123 that got no reply;
//! - `operational.packet_drops`: a stretch of capture (a sensor window) in which the kernel
//!   dropped more than [`DROP_MIN_FRAMES`] frames and more than [`DROP_MIN_PER_MILLE`] ‰ of
//!   the frames it received;
//! - `operational.traffic_stopped`: an interface that had traffic saw none for the sensor's
//!   `--traffic-stopped-after` (once per silence).

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use ironward_model::{AlertEngine, Attribute, DeviceKey, EventCategory, Fact, Severity};

use super::alerts::{AlertStore, Raise, StableHash, Text};
use super::tracker::MAX_KEYS;
use super::{CaptureInput, EventInput, FlowInput, TableFootprint};

/// Unanswered NTP requests from one client to one server that make a time-sync alert: a single
/// lost datagram is normal on UDP, a client that keeps asking in vain is not synchronising.
pub(crate) const UNANSWERED_NTP_REQUESTS: u64 = 3;

/// Fewest frames dropped in one stretch of capture for a packet-drop alert.
pub(crate) const DROP_MIN_FRAMES: u64 = 100;

/// Smallest share of received frames dropped in one stretch for a packet-drop alert, in
/// thousandths (1: 0.1 %).
pub(crate) const DROP_MIN_PER_MILLE: u64 = 1;

/// Most interfaces whose traffic is followed (a sensor has a handful).
const MAX_INTERFACES: usize = 64;

/// UDP port of NTP.
const NTP_PORT: u16 = 123;

/// What the engine remembers of one capture interface.
#[derive(Debug, Clone, Copy, Default)]
struct InterfaceState {
    /// When it last delivered a frame (ns; `None`: never yet).
    last_traffic: Option<i64>,
    /// Whether its current silence has been reported.
    silence_reported: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Operational {
    /// Firmware last reported per device (hash of the value).
    firmware: HashMap<DeviceKey, u64>,
    /// Servers that answered a polled protocol (server, port).
    answered: HashSet<(IpAddr, u16)>,
    /// Unanswered NTP requests per (client, server) not yet reported.
    ntp_unanswered: HashMap<(IpAddr, IpAddr), u64>,
    /// Capture interfaces by hash of (sensor, interface).
    interfaces: HashMap<u64, InterfaceState>,
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
        for (name, entries, limit) in [
            ("operational.firmware", self.firmware.len(), MAX_KEYS),
            (
                "operational.answered_servers",
                self.answered.len(),
                MAX_KEYS,
            ),
            (
                "operational.ntp_unanswered",
                self.ntp_unanswered.len(),
                MAX_KEYS,
            ),
            (
                "operational.interfaces",
                self.interfaces.len(),
                MAX_INTERFACES,
            ),
        ] {
            out.push(TableFootprint {
                name,
                entries,
                limit,
                values: 0,
            });
        }
    }

    /// A dissector event: NTP time-sync failures.
    pub(crate) fn on_event(
        &mut self,
        store: &mut AlertStore,
        e: &EventInput<'_>,
    ) -> Option<(u64, bool)> {
        if e.category != EventCategory::TimeSync
            || e.protocol != "ntp"
            || !matches!(e.operation, "kiss_of_death" | "server_unsynchronised")
        {
            return None;
        }
        let (client, server) = (e.src?, e.dst?);
        Some(raise_time_sync(
            store,
            client,
            server,
            e.time,
            e.frame,
            || {
                match e.operation {
                "kiss_of_death" => format!(
                    "NTP server {server} sent {client} a kiss-o'-death ({}): it refuses to serve the client or asks it to slow down.",
                    e.detail
                ),
                _ => format!(
                    "NTP server {server} answered {client} with an unsynchronised clock ({}): its time cannot be trusted.",
                    e.detail
                ),
            }
            },
            || format!("ntp {} {server} -> {client}: {}", e.operation, e.detail),
        ))
    }

    /// A finished flow to UDP port 123 that got no answer: counted per client and server.
    fn on_ntp_flow(&mut self, store: &mut AlertStore, f: &FlowInput) -> Option<(u64, bool)> {
        if f.transport != 17 || f.port() != Some(NTP_PORT) || f.server_is_group {
            return None;
        }
        let key = (f.client.ip(), f.server.ip());
        if f.answered {
            self.ntp_unanswered.remove(&key);
            return None;
        }
        if self.ntp_unanswered.len() >= MAX_KEYS && !self.ntp_unanswered.contains_key(&key) {
            self.ntp_unanswered.clear();
        }
        let unanswered = self.ntp_unanswered.entry(key).or_default();
        *unanswered = unanswered.saturating_add(f.packets[0].max(1));
        if *unanswered < UNANSWERED_NTP_REQUESTS {
            return None;
        }
        let requests = std::mem::take(unanswered);
        let (client, server) = key;
        Some(raise_time_sync(
            store,
            client,
            server,
            f.first_seen,
            f.frame,
            || {
                format!("{client} sent {requests} NTP requests to {server} that got no answer: the server is down, unreachable or filtered.")
            },
            || {
                format!(
                    "{requests} unanswered NTP requests {} -> {}",
                    f.client, f.server
                )
            },
        ))
    }

    /// The counters of one stretch of a capture: frames lost by the kernel, and an interface
    /// that had traffic falling silent for `input.stopped_after_ns`.
    pub(crate) fn on_capture(
        &mut self,
        store: &mut AlertStore,
        input: &CaptureInput<'_>,
    ) -> [Option<(u64, bool)>; 2] {
        let key = StableHash::default()
            .bytes(input.sensor.as_bytes())
            .bytes(input.interface.as_bytes())
            .finish();
        if self.interfaces.len() >= MAX_INTERFACES && !self.interfaces.contains_key(&key) {
            self.interfaces.clear();
        }
        let state = self.interfaces.entry(key).or_default();
        if input.frames > 0 {
            state.last_traffic = Some(input.last_frame.unwrap_or(input.time));
            state.silence_reported = false;
        }
        let silent_since = state
            .last_traffic
            .filter(|&last| input.time.saturating_sub(last) >= input.stopped_after_ns);
        let stopped = match silent_since {
            Some(last) if !state.silence_reported => {
                state.silence_reported = true;
                Some(raise_traffic_stopped(store, input, key, last))
            }
            _ => None,
        };
        let received = input.kernel_frames.max(input.drops);
        let drops = (input.drops > DROP_MIN_FRAMES
            && input.drops.saturating_mul(1000) > received.saturating_mul(DROP_MIN_PER_MILLE))
        .then(|| raise_packet_drops(store, input, key, received));
        [drops, stopped]
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

    pub(crate) fn on_flow(
        &mut self,
        store: &mut AlertStore,
        f: &FlowInput,
    ) -> [Option<(u64, bool)>; 2] {
        [self.on_ntp_flow(store, f), self.on_unanswered(store, f)]
    }

    /// A polled server that answered before and now leaves a client's requests unanswered.
    fn on_unanswered(&mut self, store: &mut AlertStore, f: &FlowInput) -> Option<(u64, bool)> {
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

/// One `operational.time_sync` alert per client and server, every failure counted in it.
fn raise_time_sync(
    store: &mut AlertStore,
    client: IpAddr,
    server: IpAddr,
    time: i64,
    frame: u64,
    description: impl FnOnce() -> String,
    evidence: impl FnOnce() -> String,
) -> (u64, bool) {
    store.raise(
        &Raise {
            kind: "operational.time_sync",
            engine: AlertEngine::Operational,
            severity: Severity::Minor,
            src: Some(client),
            dst: Some(server),
            key: 0,
            protocol: Some("ntp"),
            // No ATT&CK for ICS technique is a time-sync failure as such.
            techniques: &[],
            time,
            frame: Some(frame),
        },
        || Text {
            title: format!("{client} fails to synchronise its clock with NTP server {server}"),
            description: description(),
            remediation: "Check the NTP server's own synchronisation and its access rules for this client; give the client a working time source: event logs, sequence-of-events records and certificates depend on correct time.".to_owned(),
        },
        evidence,
    )
}

fn raise_traffic_stopped(
    store: &mut AlertStore,
    input: &CaptureInput<'_>,
    key: u64,
    last: i64,
) -> (u64, bool) {
    let silent_s = input.time.saturating_sub(last) / 1_000_000_000;
    store.raise(
        &Raise {
            kind: "operational.traffic_stopped",
            engine: AlertEngine::Operational,
            severity: Severity::Major,
            src: None,
            dst: None,
            key,
            protocol: None,
            techniques: &["T0815"],
            time: input.time,
            frame: None,
        },
        || Text {
            title: format!(
                "Sensor {} sees no traffic on {}",
                input.sensor, input.interface
            ),
            description: format!(
                "Interface {} of sensor {} had traffic, then received no frame for {silent_s} s (alert after {} s): the SPAN port or TAP, its cable or the switch's mirror session may have stopped, and nothing on that link is monitored meanwhile.",
                input.interface,
                input.sensor,
                input.stopped_after_ns / 1_000_000_000
            ),
            remediation: "Check the interface's link, the TAP and the switch's mirror (SPAN) configuration; find out whether it was changed on purpose.".to_owned(),
        },
        || {
            format!(
                "{} on sensor {}: no frame for {silent_s} s",
                input.interface, input.sensor
            )
        },
    )
}

fn raise_packet_drops(
    store: &mut AlertStore,
    input: &CaptureInput<'_>,
    key: u64,
    received: u64,
) -> (u64, bool) {
    // Hundredths of a percent, in integers.
    let share = input.drops.saturating_mul(10_000) / received.max(1);
    let share = format!("{}.{:02} %", share / 100, share % 100);
    store.raise(
        &Raise {
            kind: "operational.packet_drops",
            engine: AlertEngine::Operational,
            severity: Severity::Major,
            src: None,
            dst: None,
            key,
            protocol: None,
            techniques: &["T0815"],
            time: input.time,
            frame: None,
        },
        || Text {
            title: format!(
                "Sensor {} drops packets on {}",
                input.sensor, input.interface
            ),
            description: format!(
                "The kernel dropped {} of the {received} frames interface {} of sensor {} received in {} s ({share}): the sensor cannot keep up, and attacks in the lost traffic go unseen. Alerted above {DROP_MIN_FRAMES} frames and {DROP_MIN_PER_MILLE} ‰ in a window.",
                input.drops,
                input.interface,
                input.sensor,
                input.span_ns / 1_000_000_000
            ),
            remediation: "Give the sensor more CPU or a larger capture ring, filter the mirrored traffic to what needs monitoring, or check for a flood on the monitored link.".to_owned(),
        },
        || {
            format!(
                "{} on sensor {}: {} of {received} frames dropped ({share})",
                input.interface, input.sensor, input.drops
            )
        },
    )
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;

    const SECOND: i64 = 1_000_000_000;

    fn capture(time_s: i64, frames: u64, kernel_frames: u64, drops: u64) -> CaptureInput<'static> {
        CaptureInput {
            sensor: "plant-a",
            interface: "eth1",
            time: time_s * SECOND,
            span_ns: 60 * SECOND,
            frames,
            last_frame: (frames > 0).then_some(time_s * SECOND - SECOND),
            kernel_frames,
            drops,
            stopped_after_ns: 300 * SECOND,
        }
    }

    fn raised(r: [Option<(u64, bool)>; 2]) -> [bool; 2] {
        r.map(|r| r.is_some())
    }

    #[test]
    fn drops_above_both_thresholds_raise_one_alert_per_interface_counted() {
        let mut op = Operational::default();
        let mut store = AlertStore::default();
        // 100 drops is not more than 100; 150 of 200,000 is under 0.1 %.
        assert_eq!(
            raised(op.on_capture(&mut store, &capture(60, 9_900, 10_000, 100))),
            [false, false]
        );
        assert_eq!(
            raised(op.on_capture(&mut store, &capture(120, 199_850, 200_000, 150))),
            [false, false]
        );
        // 250 of 200,000 (0.125 %), then 5,000 of 20,000 (25 %): both count in one alert.
        assert_eq!(
            raised(op.on_capture(&mut store, &capture(180, 199_750, 200_000, 250))),
            [true, false]
        );
        assert_eq!(
            raised(op.on_capture(&mut store, &capture(240, 15_000, 20_000, 5_000))),
            [true, false]
        );
        // Another interface of the sensor has its own alert.
        let other = CaptureInput {
            interface: "eth2",
            ..capture(240, 0, 1_000, 1_000)
        };
        assert_eq!(raised(op.on_capture(&mut store, &other)), [true, false]);
        let alerts = store.take_updated();
        assert_eq!(alerts.len(), 2, "{alerts:#?}");
        let eth1 = alerts.iter().find(|a| a.title.contains("eth1")).unwrap();
        assert_eq!(eth1.kind, "operational.packet_drops");
        assert_eq!(eth1.engine, AlertEngine::Operational);
        assert_eq!(eth1.count, 2);
        assert!(eth1.title.contains("plant-a"), "{}", eth1.title);
        assert!(
            eth1.description.contains("250 of the 200000 frames"),
            "{}",
            eth1.description
        );
        assert!(
            eth1.evidence[0].summary.contains("(0.12 %)"),
            "{}",
            eth1.evidence[0].summary
        );
        assert!(eth1.evidence[1]
            .summary
            .contains("5000 of 20000 frames dropped (25.00 %)"));
        assert_eq!(eth1.techniques[0].id, "T0815");
    }

    #[test]
    fn traffic_that_stops_is_reported_once_per_silence() {
        let mut op = Operational::default();
        let mut store = AlertStore::default();
        // An interface that never had traffic is not reported.
        for t in [60, 600, 1200] {
            assert_eq!(
                raised(op.on_capture(&mut store, &capture(t, 0, 0, 0))),
                [false, false]
            );
        }
        // Traffic until 1259 s, then silence: reported once 300 s after the last frame.
        assert_eq!(
            raised(op.on_capture(&mut store, &capture(1260, 500, 500, 0))),
            [false, false]
        );
        for (t, report) in [
            (1320, false),
            (1500, false),
            (1560, true),
            (1620, false),
            (3000, false),
        ] {
            let r = raised(op.on_capture(&mut store, &capture(t, 0, 0, 0)));
            assert_eq!(r, [false, report], "at {t} s");
        }
        // Traffic comes back, then stops again: a second silence, counted in the same alert.
        op.on_capture(&mut store, &capture(3060, 10, 10, 0));
        assert_eq!(
            raised(op.on_capture(&mut store, &capture(3300, 0, 0, 0))),
            [false, false]
        );
        assert_eq!(
            raised(op.on_capture(&mut store, &capture(3360, 0, 0, 0))),
            [false, true]
        );
        let alerts = store.take_updated();
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        let stopped = &alerts[0];
        assert_eq!(stopped.kind, "operational.traffic_stopped");
        assert_eq!(stopped.severity, Severity::Major);
        assert_eq!(stopped.count, 2);
        assert!(stopped.title.contains("plant-a") && stopped.title.contains("eth1"));
        assert!(
            stopped.evidence[0].summary.contains("no frame for 301 s"),
            "{}",
            stopped.evidence[0].summary
        );
        assert_eq!(stopped.first_seen.0, 1560 * SECOND);
    }

    fn ntp_flow(client: &str, server: &str, requests: u64, answered: bool) -> FlowInput {
        FlowInput {
            frame: 10,
            client: client.parse::<SocketAddr>().unwrap(),
            server: server.parse::<SocketAddr>().unwrap(),
            transport: 17,
            has_ports: true,
            protocol: Some("ntp"),
            first_seen: 5 * SECOND,
            last_seen: 6 * SECOND,
            packets: [requests, u64::from(answered)],
            payload_bytes: [48 * requests, 48 * u64::from(answered)],
            answered,
            server_is_group: false,
        }
    }

    #[test]
    fn repeated_unanswered_ntp_requests_from_a_client_raise_time_sync() {
        let mut op = Operational::default();
        let mut store = AlertStore::default();
        let count = |r: [Option<(u64, bool)>; 2]| r.iter().flatten().count();
        // Two lost requests, then an answer: nothing; the count starts again.
        for _ in 0..2 {
            assert_eq!(
                count(op.on_flow(
                    &mut store,
                    &ntp_flow("10.0.0.5:123", "10.0.0.1:123", 1, false)
                )),
                0
            );
        }
        assert_eq!(
            count(op.on_flow(
                &mut store,
                &ntp_flow("10.0.0.5:123", "10.0.0.1:123", 1, true)
            )),
            0
        );
        assert_eq!(
            count(op.on_flow(
                &mut store,
                &ntp_flow("10.0.0.5:123", "10.0.0.1:123", 2, false)
            )),
            0
        );
        // The third unanswered request since the answer.
        assert_eq!(
            count(op.on_flow(
                &mut store,
                &ntp_flow("10.0.0.5:40000", "10.0.0.1:123", 1, false)
            )),
            1
        );
        // Another port, or a group address, is not NTP to a server.
        assert_eq!(
            count(op.on_flow(
                &mut store,
                &ntp_flow("10.0.0.6:123", "10.0.0.1:124", 9, false)
            )),
            0
        );
        let mut group = ntp_flow("10.0.0.6:123", "224.0.1.1:123", 9, false);
        group.server_is_group = true;
        assert_eq!(count(op.on_flow(&mut store, &group)), 0);
        let alerts = store.take_updated();
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        let sync = &alerts[0];
        assert_eq!(sync.kind, "operational.time_sync");
        assert_eq!(sync.severity, Severity::Minor);
        assert_eq!(sync.src_ip, Some("10.0.0.5".parse().unwrap()));
        assert_eq!(sync.dst_ip, Some("10.0.0.1".parse().unwrap()));
        assert!(
            sync.description.contains("3 NTP requests"),
            "{}",
            sync.description
        );
    }

    fn ntp_event(operation: &'static str, detail: &'static str, frame: u64) -> EventInput<'static> {
        EventInput {
            frame,
            time: 9 * SECOND,
            src: Some("10.0.0.5".parse().unwrap()),
            dst: Some("10.0.0.1".parse().unwrap()),
            src_mac: None,
            protocol: "ntp",
            category: EventCategory::TimeSync,
            operation,
            detail,
        }
    }

    #[test]
    fn kisses_and_unsynchronised_servers_raise_one_time_sync_alert_per_pair() {
        let mut op = Operational::default();
        let mut store = AlertStore::default();
        let first = op.on_event(&mut store, &ntp_event("kiss_of_death", "code RATE", 3));
        assert!(first.is_some_and(|(_, new)| new));
        let second = op.on_event(
            &mut store,
            &ntp_event("server_unsynchronised", "leap 3, stratum 16", 4),
        );
        assert_eq!(second.map(|(h, _)| h), first.map(|(h, _)| h));
        // Other NTP or time-sync events are not failures.
        assert!(op
            .on_event(&mut store, &ntp_event("client_request", "", 5))
            .is_none());
        let mut iec = ntp_event("kiss_of_death", "code RATE", 6);
        iec.protocol = "iec104";
        assert!(op.on_event(&mut store, &iec).is_none());
        let alerts = store.take_updated();
        assert_eq!(alerts.len(), 1);
        let sync = &alerts[0];
        assert_eq!(
            (sync.kind.as_str(), sync.count),
            ("operational.time_sync", 2)
        );
        assert!(
            sync.description.contains("kiss-o'-death (code RATE)"),
            "{}",
            sync.description
        );
        assert!(sync.evidence[1].summary.contains("leap 3, stratum 16"));
        assert_eq!(sync.evidence[0].frame, Some(3));
    }
}
