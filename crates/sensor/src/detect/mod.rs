/*!
Detection: learning mode and the five alert engines (policy, protocol, malware, anomaly,
operational).

A [`Detector`] outlives engine windows: the sensor's uplink runs a fresh
[`Engine`](crate::engine::Engine) per window, and each gets the same [`SharedDetector`] in its
[`EngineConfig`](crate::engine::EngineConfig). The engine touches it once per dissector event
occurrence, per finished flow, per ARP frame and per fact — never per ordinary packet — and at
the end of each window hands the alerts raised or repeated in it to its report sink.

Learning: the first `learning` nanoseconds of capture time (from the first frame) build the
[`Baseline`]; the policy engine is silent until then (and off entirely without learning or an
imported baseline). The other engines run from the first frame; two anomaly checks learn
too (the DHCP servers that answer, each conversation's most traffic per volume bucket) and
compare with the baseline after learning.

Bounds: alerts ([`MAX_ALERTS`]), evidence per alert, tracker tables
([`tracker::MAX_KEYS`]), baseline entries ([`baseline::MAX_BASELINE_ENTRIES`]).
*/

mod alerts;
pub mod anomaly;
pub mod baseline;
pub mod ioc;
mod malware;
mod operational;
mod policy;
pub mod protocol;
pub mod rules;
pub mod techniques;
pub mod tracker;

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};

use ironward_model::{Alert, AlertEngine, EventCategory, Fact, MacAddress};

pub use self::alerts::{
    AlertStore, AlertStoreFootprint, MAX_ALERTS, MAX_ALERTS_PER_KIND, MAX_ALERTS_PER_SOURCE,
};
pub use self::baseline::{Baseline, BaselineFile};
use self::rules::Pattern;

/// A detector shared by the engines of successive windows.
pub type SharedDetector = Arc<Mutex<Detector>>;

/// Locks a shared detector; a poisoned lock (a panic elsewhere) still yields the detector: its
/// tables are consistent between calls.
pub fn lock(detector: &SharedDetector) -> MutexGuard<'_, Detector> {
    detector
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Detection settings.
#[derive(Debug, Clone, Default)]
pub struct DetectorConfig {
    /// Learning period in capture time from the first frame (nanoseconds); `None`: no learning.
    pub learning_ns: Option<i64>,
    /// A baseline to start from (imported); learning adds to it.
    pub baseline: Option<BaselineFile>,
    /// Indicators of compromise the malware engine matches (`None`: none).
    pub iocs: Option<Arc<ironward_intel::ioc::IocSet>>,
}

/// One occurrence of a dissector event.
#[derive(Debug, Clone, Copy)]
pub struct EventInput<'a> {
    /// Frame number (1-based).
    pub frame: u64,
    /// Capture time (ns).
    pub time: i64,
    /// Source address.
    pub src: Option<IpAddr>,
    /// Destination address.
    pub dst: Option<IpAddr>,
    /// Source MAC (layer-2 protocols).
    pub src_mac: Option<MacAddress>,
    /// Protocol.
    pub protocol: &'static str,
    /// Category.
    pub category: EventCategory,
    /// Operation.
    pub operation: &'static str,
    /// Detail.
    pub detail: &'a str,
}

/// A finished flow.
#[derive(Debug, Clone, Copy)]
pub struct FlowInput {
    /// Frame number current when it ended.
    pub frame: u64,
    /// Client.
    pub client: SocketAddr,
    /// Server.
    pub server: SocketAddr,
    /// IP protocol number.
    pub transport: u8,
    /// Whether the server port is meaningful (TCP, UDP, SCTP, DCCP).
    pub has_ports: bool,
    /// Application protocol, when known.
    pub protocol: Option<&'static str>,
    /// First packet (ns).
    pub first_seen: i64,
    /// Last packet (ns).
    pub last_seen: i64,
    /// Packets client→server, server→client.
    pub packets: [u64; 2],
    /// Payload bytes client→server, server→client.
    pub payload_bytes: [u64; 2],
    /// The server really answered (TCP: handshake completed or data back; UDP: a reply).
    pub answered: bool,
    /// The client's frames went to a broadcast or multicast MAC.
    pub server_is_group: bool,
}

impl FlowInput {
    /// The server port, when the transport has ports.
    pub fn port(&self) -> Option<u16> {
        self.has_ports.then(|| self.server.port())
    }
}

/// A capture's counters over one stretch of time (a sensor window), for the operational
/// engine: frames lost by the kernel, and traffic that stopped.
#[derive(Debug, Clone, Copy)]
pub struct CaptureInput<'a> {
    /// The sensor's name.
    pub sensor: &'a str,
    /// The interface captured.
    pub interface: &'a str,
    /// End of the stretch (ns, the clock the frames' timestamps use).
    pub time: i64,
    /// Length of the stretch (ns).
    pub span_ns: i64,
    /// Frames the sensor read in the stretch.
    pub frames: u64,
    /// Time of the last of them (ns), when any.
    pub last_frame: Option<i64>,
    /// Frames the kernel received in the stretch, dropped ones included.
    pub kernel_frames: u64,
    /// Frames the kernel dropped in the stretch (its ring was full).
    pub drops: u64,
    /// How long an interface that had traffic may see none before it is reported (ns).
    pub stopped_after_ns: i64,
}

/// One ARP frame.
#[derive(Debug, Clone, Copy)]
pub struct ArpInput {
    /// Frame number.
    pub frame: u64,
    /// Capture time (ns).
    pub time: i64,
    /// 1 request, 2 reply.
    pub operation: u16,
    /// Sender MAC.
    pub sender_mac: MacAddress,
    /// Sender address.
    pub sender_ip: Ipv4Addr,
    /// Target address.
    pub target_ip: Ipv4Addr,
}

/// Entry counts of one of a detector's tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableFootprint {
    /// The table (`anomaly.vertical_scan`: per source and target, the ports tried).
    pub name: &'static str,
    /// Entries held.
    pub entries: usize,
    /// The most entries it holds (its documented bound).
    pub limit: usize,
    /// Distinct values remembered by its entries' windows (trackers only; at most
    /// [`tracker::MAX_DISTINCT`] per entry).
    pub values: usize,
}

/// Entry counts of a detector's tables and alerts, each against its bound: for the sensor's
/// health and for tests that floods stay bounded.
#[derive(Debug, Clone, Default)]
pub struct DetectorFootprint {
    /// Every per-source, per-target and per-device table of the engines, and the baseline's.
    pub tables: Vec<TableFootprint>,
    /// The alert store.
    pub alerts: AlertStoreFootprint,
    /// New alerts not yet taken by [`Detector::take_new`] (at most [`MAX_ALERTS`]).
    pub new_alerts: usize,
}

/// Learning mode and the engines; see the module documentation.
#[derive(Debug)]
pub struct Detector {
    learning_ns: Option<i64>,
    /// Capture time of the first frame.
    start: Option<i64>,
    /// Whether the policy engine has a baseline to compare with.
    policy_on: bool,
    baseline: Baseline,
    store: AlertStore,
    patterns: Vec<Pattern>,
    policy: policy::Policy,
    protocol: protocol::ProtocolChecks,
    malware: malware::Malware,
    anomaly: anomaly::Anomaly,
    operational: operational::Operational,
    /// The malware engine's IoC matching, when a list was given.
    iocs: Option<ioc::IocMatcher>,
    /// New alerts since the last [`Detector::take_new`] (their id hashes), for pcap capture.
    new_alerts: Vec<u64>,
    /// The site's learning, from the console ([`Detector::set_site_learning`]).
    site_learning: SiteLearning,
    /// The site's baseline entries, from the console ([`Detector::import_site_entries`]).
    site_entries: SiteEntries,
}

/// The learning of the sensor's site, as the console reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SiteLearning {
    /// The site never learned (or no console said otherwise): the policy engine runs only
    /// with local learning or an imported baseline.
    #[default]
    Never,
    /// The site learns now.
    Learning,
    /// The site learned; the policy engine compares with the baseline.
    Learned,
}

/// The key of a console baseline entry: the policy alerts it covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SiteEntry {
    /// Alert kind (`policy.new_device`).
    pub kind: String,
    /// Source address as text (empty: none).
    pub src: String,
    /// Destination address as text (empty: none).
    pub dst: String,
    /// Protocol (empty: none).
    pub protocol: String,
}

impl SiteEntry {
    /// The key of an alert, as the console builds it.
    pub fn of(alert: &Alert) -> Self {
        let text = |ip: Option<IpAddr>| ip.map(|ip| ip.to_string()).unwrap_or_default();
        Self {
            kind: alert.kind.clone(),
            src: text(alert.src_ip),
            dst: text(alert.dst_ip),
            protocol: alert.protocol.clone().unwrap_or_default(),
        }
    }
}

/// The site's baseline entries, indexed for [`SiteEntries::covers`].
#[derive(Debug, Default)]
struct SiteEntries {
    /// Exact keys.
    keys: HashSet<SiteEntry>,
    /// Every address an entry names: the site knows these devices.
    addresses: HashSet<String>,
    /// (client, server, protocol) of new-connection and new-protocol entries.
    conversations: HashSet<(String, String, String)>,
}

impl SiteEntries {
    fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether a policy alert is covered: its exact key; a new device the site's entries name
    /// anywhere; a new connection or new protocol between the same pair in the same protocol
    /// under either kind (which of the two a sensor raises depends on what it learned first,
    /// so a restarted sensor may name the same conversation the other way).
    fn covers(&self, alert: &Alert) -> bool {
        let key = SiteEntry::of(alert);
        match key.kind.as_str() {
            "policy.new_device" => self.addresses.contains(&key.src),
            "policy.new_connection" | "policy.new_protocol" => {
                self.conversations
                    .contains(&(key.src, key.dst, key.protocol))
            }
            _ => self.keys.contains(&key),
        }
    }
}

impl Detector {
    /// A detector with the built-in attack patterns.
    pub fn new(config: DetectorConfig) -> Self {
        let patterns = match rules::builtin() {
            Ok(patterns) => patterns,
            Err(error) => {
                tracing::warn!("attack patterns disabled: {error}");
                Vec::new()
            }
        };
        Self::with_patterns(config, patterns)
    }

    /// A detector with these attack patterns.
    pub fn with_patterns(config: DetectorConfig, patterns: Vec<Pattern>) -> Self {
        let policy_on = config.learning_ns.is_some() || config.baseline.is_some();
        Self {
            learning_ns: config.learning_ns,
            start: None,
            policy_on,
            baseline: config.baseline.map(Baseline::from_file).unwrap_or_default(),
            store: AlertStore::default(),
            malware: malware::Malware::new(&patterns),
            patterns,
            policy: policy::Policy,
            protocol: protocol::ProtocolChecks::default(),
            anomaly: anomaly::Anomaly::default(),
            operational: operational::Operational::default(),
            iocs: config.iocs.map(ioc::IocMatcher::new),
            new_alerts: Vec::new(),
            site_learning: SiteLearning::Never,
            site_entries: SiteEntries::default(),
        }
    }

    /// Shares the detector between engines.
    pub fn shared(self) -> SharedDetector {
        Arc::new(Mutex::new(self))
    }

    /// The capture time of the first frame (only the first call counts).
    pub fn start(&mut self, time: i64) {
        if self.start.is_none() {
            self.start = Some(time);
        }
    }

    /// Whether `time` falls in the learning period.
    pub fn is_learning(&self, time: i64) -> bool {
        match (self.learning_ns, self.start) {
            (Some(learning), Some(start)) => time < start.saturating_add(learning),
            (Some(_), None) => true,
            (None, _) => false,
        }
    }

    /// Whether the policy engine compares with the baseline at `time`.
    fn policy_active(&self, time: i64) -> bool {
        self.policy_on && !self.is_learning(time)
    }

    /// The baseline (learned and imported).
    pub fn baseline(&self) -> &Baseline {
        &self.baseline
    }

    /// The alerts.
    pub fn alerts(&self) -> &AlertStore {
        &self.store
    }

    /// Entry counts of every table, each with its bound (a pass over the trackers: for health
    /// reports, not per packet).
    pub fn footprint(&self) -> DetectorFootprint {
        let mut tables = Vec::new();
        self.anomaly.footprint(&mut tables);
        self.protocol.footprint(&mut tables);
        self.malware.footprint(&mut tables);
        self.operational.footprint(&mut tables);
        self.baseline.footprint(&mut tables);
        DetectorFootprint {
            tables,
            alerts: self.store.footprint(),
            new_alerts: self.new_alerts.len(),
        }
    }

    /// The alerts raised or repeated since the last call, most urgent first.
    pub fn take_updated(&mut self) -> Vec<Alert> {
        let mut updated = self.store.take_updated();
        if !self.site_entries.is_empty() {
            updated.retain(|a| a.engine != AlertEngine::Policy || !self.site_entries.covers(a));
        }
        updated
    }

    /// Follows the learning of the sensor's site, as the console decides it (by its clock,
    /// not capture time: a capture file replayed today belongs to today's learning). While the
    /// site learns, the policy engine reports what the baseline lacks and learns it, so that
    /// each is reported once and the console makes a baseline entry of it; once it learned, it
    /// reports what the baseline lacks.
    pub fn set_site_learning(&mut self, learning: SiteLearning) {
        self.site_learning = learning;
        self.policy_on |= learning != SiteLearning::Never;
    }

    /// Whether the site learns (see [`Detector::set_site_learning`]).
    pub fn is_site_learning(&self) -> bool {
        self.site_learning == SiteLearning::Learning
    }

    /// Replaces the site's baseline entries (from the console): policy alerts they cover are
    /// not reported, so that a restarted sensor, whose local baseline is gone, does not report
    /// again what the site learned. At most [`baseline::MAX_BASELINE_ENTRIES`] are kept.
    pub fn import_site_entries(&mut self, entries: impl IntoIterator<Item = SiteEntry>) {
        let mut index = SiteEntries::default();
        for entry in entries.into_iter().take(baseline::MAX_BASELINE_ENTRIES) {
            for address in [&entry.src, &entry.dst] {
                if !address.is_empty() {
                    index.addresses.insert(address.clone());
                }
            }
            if matches!(
                entry.kind.as_str(),
                "policy.new_connection" | "policy.new_protocol"
            ) {
                index.conversations.insert((
                    entry.src.clone(),
                    entry.dst.clone(),
                    entry.protocol.clone(),
                ));
            }
            index.keys.insert(entry);
        }
        self.site_entries = index;
    }

    /// Replaces the malware engine's IoC list (a threat-intelligence package applied while
    /// the sensor runs); `None` matches no IoC.
    pub fn set_iocs(&mut self, iocs: Option<Arc<ironward_intel::ioc::IocSet>>) {
        self.iocs = iocs.map(ioc::IocMatcher::new);
    }

    /// Replaces the attack patterns; their windows start empty, as each pattern's counts
    /// belong to the pattern they were counted for.
    pub fn set_attack_patterns(&mut self, patterns: Vec<Pattern>) {
        self.malware = malware::Malware::new(&patterns);
        self.patterns = patterns;
    }

    /// Id hashes of the alerts raised for the first time since the last call.
    pub fn take_new(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.new_alerts)
    }

    /// The alert with this id hash (from [`Detector::take_new`]), when held.
    pub fn alert_by_hash(&self, hash: u64) -> Option<&Alert> {
        self.store.get(hash)
    }

    fn note(&mut self, (hash, new): (u64, bool)) {
        if new && self.new_alerts.len() < MAX_ALERTS {
            self.new_alerts.push(hash);
        }
    }

    /// One occurrence of a dissector event.
    pub fn on_event(&mut self, event: &EventInput<'_>) {
        if self.is_learning(event.time) || self.is_site_learning() {
            // Site learning: what the baseline lacks is reported (the console makes baseline
            // entries of it), then learned, so that it is reported once.
            if self.policy_active(event.time) {
                let raised = self.policy.on_event(&self.baseline, &mut self.store, event);
                for r in raised.into_iter().flatten() {
                    self.note(r);
                }
            }
            if let (Some(src), Some(dst)) = (event.src, event.dst) {
                self.baseline.learn_device(src);
                self.baseline.learn_operation(
                    src,
                    dst,
                    event.protocol,
                    event.category,
                    event.operation,
                );
            }
        } else if self.policy_active(event.time) {
            let raised = self.policy.on_event(&self.baseline, &mut self.store, event);
            for r in raised.into_iter().flatten() {
                self.note(r);
            }
        }
        if let Some(r) = self.protocol.on_event(&mut self.store, event) {
            self.note(r);
        }
        if let Some(r) = self
            .malware
            .on_event(&self.patterns, &mut self.store, event)
        {
            self.note(r);
        }
        if let Some(r) = self.anomaly.on_event(&mut self.store, event) {
            self.note(r);
        }
        if let Some(r) = self.operational.on_event(&mut self.store, event) {
            self.note(r);
        }
    }

    /// The counters of a stretch of live capture (see [`CaptureInput`]).
    pub fn on_capture(&mut self, input: &CaptureInput<'_>) {
        let raised = self.operational.on_capture(&mut self.store, input);
        for r in raised.into_iter().flatten() {
            self.note(r);
        }
    }

    /// The end of a file or program transfer (an event a dissector gave the content's SHA-256,
    /// in hex): the hash against the `sha256` indicators. Called once per finished transfer,
    /// after [`Detector::on_event`] for the same occurrence.
    pub fn on_file_transfer(&mut self, event: &EventInput<'_>, sha256: &str) {
        if let Some(r) = self
            .iocs
            .as_ref()
            .and_then(|iocs| iocs.on_file_transfer(&mut self.store, event, sha256))
        {
            self.note(r);
        }
    }

    /// A finished flow.
    pub fn on_flow(&mut self, flow: &FlowInput) {
        if self.is_learning(flow.first_seen) || self.is_site_learning() {
            if self.policy_active(flow.first_seen) {
                let raised = self.policy.on_flow(&self.baseline, &mut self.store, flow);
                for r in raised.into_iter().flatten() {
                    self.note(r);
                }
            }
            let (client, server) = (flow.client.ip(), flow.server.ip());
            self.baseline.learn_device(client);
            if flow.answered && !flow.server_is_group {
                self.baseline.learn_device(server);
            }
            self.baseline.learn_connection(
                client,
                server,
                flow.transport,
                flow.port(),
                flow.protocol,
            );
        } else if self.policy_active(flow.first_seen) {
            let raised = self.policy.on_flow(&self.baseline, &mut self.store, flow);
            for r in raised.into_iter().flatten() {
                self.note(r);
            }
        }
        if let Some(r) = self.malware.on_flow(&self.patterns, &mut self.store, flow) {
            self.note(r);
        }
        let raised = self.iocs.as_ref().map(|i| i.on_flow(&mut self.store, flow));
        for r in raised.into_iter().flatten().flatten() {
            self.note(r);
        }
        let raised = self.anomaly.on_flow(&mut self.store, flow);
        for r in raised.into_iter().flatten() {
            self.note(r);
        }
        if self.policy_on {
            let learning = self.is_learning(flow.first_seen) || self.is_site_learning();
            let raised =
                self.anomaly
                    .on_volume(&mut self.store, &mut self.baseline, learning, flow);
            if let Some(r) = raised {
                self.note(r);
            }
        }
        let raised = self.operational.on_flow(&mut self.store, flow);
        for r in raised.into_iter().flatten() {
            self.note(r);
        }
    }

    /// One ARP frame.
    pub fn on_arp(&mut self, arp: &ArpInput) {
        if self.is_learning(arp.time) && !arp.sender_ip.is_unspecified() {
            self.baseline.learn_device(IpAddr::V4(arp.sender_ip));
        }
        let raised = self.anomaly.on_arp(&mut self.store, arp);
        for r in raised.into_iter().flatten() {
            self.note(r);
        }
    }

    /// A fact a dissector reported (state, firmware).
    pub fn on_fact(&mut self, frame: u64, fact: &Fact) {
        if let Some(server) = dhcp_server(fact) {
            let time = fact.seen_at.0;
            let learning = self.is_learning(time) || self.is_site_learning();
            if learning {
                self.baseline.learn_dhcp_server(server);
            }
            let raised = self.anomaly.on_dhcp_server(
                &mut self.store,
                &self.baseline,
                learning,
                server,
                time,
                frame,
            );
            if let Some(r) = raised {
                self.note(r);
            }
        }
        if let Some(r) = self.operational.on_fact(&mut self.store, frame, fact) {
            self.note(r);
        }
        if let Some(r) = self
            .iocs
            .as_ref()
            .and_then(|iocs| iocs.on_fact(&mut self.store, frame, fact))
        {
            self.note(r);
        }
    }
}

/// The DHCP server a fact names: the DHCP dissector reports `service dhcp-server` about the
/// server identifier of every offer and acknowledgement (or their sender, without one).
fn dhcp_server(fact: &Fact) -> Option<IpAddr> {
    match fact.subject {
        ironward_model::DeviceKey::Ip(ip)
            if fact.source == ironward_model::Source::Dhcp
                && fact.attribute == ironward_model::Attribute::Service
                && fact.value == "dhcp-server" =>
        {
            Some(ip)
        }
        _ => None,
    }
}
