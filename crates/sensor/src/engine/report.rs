//! The end of an analysis: every flow ends, addresses resolve to devices, each device is
//! classified and identified, and the report goes to a [`ReportSink`] piece by piece.

use std::collections::HashMap;
use std::net::IpAddr;

use ironward_model::{
    AnalysisReport, Attribute, Connection, Device, DeviceKey, Event, Fact, MacAddress, Protocols,
    Service, Stats, Timestamp,
};
use ironward_wire::{LinkType, MacAddr};

use super::{transport_name, Analysis, CurrentFrame, Engine, FlowRecord, Sink};
use crate::defrag::{DefragConfig, Defragmenter};
use crate::flow::{FlowConfig, FlowTable, KeyedState};
use crate::observe::{is_host_address, DeviceMap, ObservedDevice};
use crate::services::ip_proto;

impl Engine {
    /// Ends every flow and builds the whole report in memory.
    pub fn finish(self) -> Analysis {
        let mut collect = CollectReport::default();
        let rest = match self.finish_into(&mut collect) {
            Ok(rest) => rest,
            Err(never) => match never {},
        };
        Analysis {
            report: collect.report,
            flows: rest.flows,
            arp_senders: rest.arp_senders,
            facts: rest.facts,
            event_log: rest.event_log,
            alert_captures: collect.alert_captures,
        }
    }

    /// Ends every flow and hands the report to `sink` piece by piece, in the order of the JSON
    /// document: every device (sorted by key), every connection (sorted by client device, server
    /// device, transport, port and addresses), then the statistics. Nothing of the report is
    /// held beyond the piece being handed over, so peak memory stays that of the inventory.
    pub fn finish_into<S: ReportSink>(mut self, sink: &mut S) -> Result<Finished, S::Error> {
        self.flush_linktype_cache();
        let mut flow_sink = Sink {
            inv: &mut self.inv,
            registry: &self.registry,
            current: CurrentFrame {
                frame: self.counters.packets,
                ..CurrentFrame::default()
            },
        };
        self.flows.flush(&mut flow_sink);
        // Alerts raised by the flows that just ended get the ring as it is; every capture ends
        // here, and the ring's memory goes before the report is built.
        self.start_captures();
        let alert_captures = match self.ring.take() {
            Some(mut ring) => {
                ring.finish_all();
                let stats = ring.stats();
                if stats.dropped > 0 {
                    tracing::warn!(
                        dropped = stats.dropped,
                        "alerts without a pcap: too many captures at once"
                    );
                }
                ring.take_finished()
            }
            None => Vec::new(),
        };
        let flow_stats = self.flows.stats();
        let defrag_stats = self.defrag.stats();
        // The flow table, the defragmenter and the observer's raw evidence are no longer needed:
        // give their memory back before the report is built (peak memory is set here).
        let flow_config = *self.flows.config();
        self.flows = FlowTable::new(FlowConfig {
            max_flows: 1,
            ..flow_config
        });
        self.defrag = Defragmenter::new(DefragConfig::default());
        let arp_senders = self.inv.observer.arp_senders();
        let observations_dropped = self.inv.observer.dropped()
            + self.inv.connections_dropped
            + self.inv.observations.events_dropped();
        let Devices {
            keys,
            mut devices,
            owner,
        } = Devices::new(std::mem::take(&mut self.inv.observer).devices());
        let map = Resolver { keys, owner };

        // Resolve both ends of every connection while all devices are known; record on each
        // device what it speaks and offers. Devices are named by their index in key order from
        // here on: a vector index instead of a tree search per lookup.
        self.inv.connection_index = HashMap::new();
        let mut connections = std::mem::take(&mut self.inv.connections);
        for entry in &mut connections {
            let (client_ip, server_ip, protocol, port) = entry.key;
            let acc = &entry.acc;
            let a = map.resolve(client_ip, acc.client_mac);
            let b = if is_host_address(server_ip) {
                map.resolve(server_ip, None)
            } else {
                None
            };
            if let (Some(name), Some(device)) =
                (acc.protocol, a.and_then(|a| devices.get_mut(a as usize)))
            {
                device.client_protocols.push(name);
                if ironward_intel::behaviour::is_polled_protocol(name) && acc.answered {
                    device.behaviour.ot_servers += 1;
                }
            }
            if let (Some(device), true) =
                (b.and_then(|b| devices.get_mut(b as usize)), acc.answered)
            {
                if let Some(name) = acc.protocol {
                    device.server_protocols.push(name);
                    if ironward_intel::behaviour::is_ot_protocol(name) {
                        device.behaviour.ot_clients += 1;
                    }
                }
                if let (Some(port), ip_proto::TCP | ip_proto::UDP) = (port, protocol) {
                    device.offered.push((protocol, port, acc.protocol));
                }
            }
            entry.client = a.map(|i| map.keys[i as usize]);
            entry.server = b.map(|i| map.keys[i as usize]);
        }
        connections.sort_unstable_by(|x, y| {
            let ((xc, xs, xp, xport), (yc, ys, yp, yport)) = (x.key, y.key);
            (x.client, x.server, xp, xport, xc, xs).cmp(&(y.client, y.server, yp, yport, yc, ys))
        });

        // Name the devices at both ends of every event, and record on each device what kinds
        // of operations it performed and answered (its behaviour, for roles).
        let mut events = self.inv.observations.take_event_store();
        let mut ends: Vec<(Option<u32>, Option<u32>)> = Vec::with_capacity(events.len());
        for index in 0..events.len() {
            let Some(event) = events.summary(index) else {
                break;
            };
            let src = map.resolve_endpoint(event.src);
            let dst = map.resolve_endpoint(event.dst);
            if let Some(device) = src.and_then(|i| devices.get_mut(i as usize)) {
                device.behaviour.performed(event.protocol, event.category);
            }
            if let Some(device) = dst.and_then(|i| devices.get_mut(i as usize)) {
                device.behaviour.answered(event.category);
            }
            ends.push((src, dst));
        }

        // The alerts raised or repeated in this run, with the devices at their addresses.
        let mut alerts = match self.inv.detector.as_ref() {
            Some(shared) => crate::detect::lock(shared).take_updated(),
            None => Vec::new(),
        };
        for alert in &mut alerts {
            for ip in [alert.src_ip, alert.dst_ip].into_iter().flatten() {
                if let Some(index) = map.resolve(ip, None) {
                    let id = map.keys[index as usize].id();
                    if !alert.devices.contains(&id) {
                        alert.devices.push(id);
                    }
                }
            }
        }

        // Addresses are resolved: only the devices themselves are needed from here on. Each
        // device's id is kept to name it in connections and events: written once per device,
        // not once per mention.
        let Resolver { keys, owner } = map;
        drop(owner);
        let mut ids: Vec<ironward_model::DeviceId> = Vec::with_capacity(keys.len());
        let mut cache = ironward_intel::MatchCache::default();
        for (&key, observed) in keys.iter().zip(devices) {
            let device = device_of(key, observed, &mut cache);
            ids.push(device.id.clone());
            sink.device(device)?;
        }
        let id = |index: Option<u32>| index.and_then(|i| ids.get(i as usize)).cloned();
        let id_of = |key: Option<DeviceKey>| {
            key.and_then(|key| keys.binary_search(&key).ok())
                .and_then(|i| ids.get(i))
                .cloned()
        };
        for entry in connections {
            let (client_ip, server_ip, protocol, port) = entry.key;
            let acc = entry.acc;
            sink.connection(Connection {
                a: id_of(entry.client),
                b: id_of(entry.server),
                a_ip: client_ip,
                b_ip: server_ip,
                transport: transport_name(protocol),
                port,
                protocol: acc.protocol.map(str::to_owned),
                packets: acc.packets,
                bytes: acc.bytes,
                flows: acc.flows,
                first_seen: Timestamp(acc.first_seen),
                last_seen: Timestamp(acc.last_seen),
            })?;
        }

        let named = |mut event: Event, (src, dst): (Option<u32>, Option<u32>)| {
            event.src.device = id(src);
            event.dst.device = id(dst);
            event
        };
        let event_log = std::mem::take(&mut events.log)
            .into_iter()
            .filter_map(|(frame, index)| {
                let index = index as usize;
                Some((frame, named(events.event(index)?, *ends.get(index)?)))
            })
            .collect();
        for (event, ends) in events.into_events().zip(ends) {
            sink.event(named(event, ends))?;
        }
        for capture in alert_captures {
            sink.alert_capture(capture)?;
        }
        for alert in alerts {
            sink.alert(alert)?;
        }

        let c = &self.counters;
        sink.stats(Stats {
            packets: c.packets,
            bytes: c.bytes,
            frames_by_linktype: c
                .by_linktype
                .iter()
                .map(|(&lt, &n)| (LinkType(lt).name().into_owned(), n))
                .collect(),
            decode_errors: c
                .decode_errors
                .iter()
                .map(|(e, &n)| (e.name().to_owned(), n))
                .collect(),
            truncated: c.truncated,
            unsupported_linktype: c.unsupported_linktype,
            flows: flow_stats.flows_created,
            flows_evicted: flow_stats.flows_evicted,
            streams_with_gaps: flow_stats.streams_with_gaps,
            fragments_reassembled: defrag_stats.reassembled,
            fragment_overlaps: defrag_stats.overlaps,
            capture_warnings: c.capture_warnings,
            inputs: c.inputs,
            observations_dropped,
        })?;
        Ok(Finished {
            flows: self.inv.flow_records.unwrap_or_default(),
            arp_senders,
            facts: self.inv.fact_log.unwrap_or_default(),
            event_log,
        })
    }
}

/// The devices of a report in key order, and the owner of every host address by index.
struct Devices {
    keys: Vec<DeviceKey>,
    devices: Vec<ObservedDevice>,
    owner: HashMap<IpAddr, u32, KeyedState>,
}

impl Devices {
    fn new(map: DeviceMap) -> Self {
        let (keys, devices): (Vec<DeviceKey>, Vec<ObservedDevice>) =
            map.devices.into_iter().unzip();
        let mut owner = HashMap::with_capacity_and_hasher(map.owner.len(), KeyedState::random());
        for (ip, key) in map.owner {
            // The observer only names owners among its devices.
            if let Ok(index) = keys.binary_search(&key) {
                owner.insert(ip, index as u32);
            }
        }
        Self {
            keys,
            devices,
            owner,
        }
    }
}

/// Addresses to device indices (see [`Devices`]), once the devices have been taken out.
struct Resolver {
    keys: Vec<DeviceKey>,
    owner: HashMap<IpAddr, u32, KeyedState>,
}

impl Resolver {
    /// The device that owns `ip`, falling back to `mac` (as [`DeviceMap::resolve`]).
    fn resolve(&self, ip: IpAddr, mac: Option<MacAddr>) -> Option<u32> {
        if let Some(&index) = self.owner.get(&ip) {
            return Some(index);
        }
        self.mac(MacAddress(mac?.0))
    }

    /// The device with this MAC.
    fn mac(&self, mac: MacAddress) -> Option<u32> {
        self.keys
            .binary_search(&DeviceKey::Mac(mac))
            .ok()
            .map(|index| index as u32)
    }

    /// The device at one end of an event: the owner of its IP address, or the device with its
    /// MAC.
    fn resolve_endpoint(&self, (ip, mac): (Option<IpAddr>, Option<MacAddress>)) -> Option<u32> {
        match ip {
            Some(ip) => self.resolve(ip, None),
            None => self.mac(mac?),
        }
    }
}

/// Builds a reported device from what the observer resolved and what its connections showed:
/// the classification rules add derived facts, and identity resolution picks each attribute's
/// value with explained precedence.
fn device_of(
    key: DeviceKey,
    mut observed: ObservedDevice,
    cache: &mut ironward_intel::MatchCache,
) -> Device {
    let mut client = std::mem::take(&mut observed.client_protocols);
    let mut server = std::mem::take(&mut observed.server_protocols);
    let mut offered = std::mem::take(&mut observed.offered);
    let mut frames = std::mem::take(&mut observed.frame_protocols);
    for list in [&mut client, &mut server, &mut frames] {
        list.sort_unstable();
        list.dedup();
    }
    offered.sort_unstable();
    offered.dedup();
    let protocols = ironward_intel::behaviour::Protocols {
        serves: &server,
        uses: &client,
        frames: &frames,
    };
    // The role behaviour shows is a fact the rules build on (a controller role names a PLC).
    let role = ironward_intel::infer_role(&observed.behaviour, protocols);
    let latest = Timestamp(observed.last_seen_ns);
    let mut derived = match ironward_intel::builtin_rules() {
        Ok(rules) => {
            // The role joins the facts the rules see for this call only.
            if let Some(role) = &role {
                let mut fact = Fact::new(
                    key,
                    Attribute::Role,
                    role.value.clone(),
                    role.source,
                    latest,
                );
                fact.confidence = role.confidence;
                observed.facts.push(fact);
            }
            let uses: Vec<&str> = client.iter().chain(&frames).copied().collect();
            let derived =
                ironward_intel::classify_with(rules, cache, &observed.facts, &server, &uses);
            if role.is_some() {
                observed.facts.pop();
            }
            derived
        }
        Err(_) => Vec::new(),
    };
    let has_role = role.is_some();
    derived.extend(role);
    let mut identity = ironward_intel::resolve(&observed.facts, &derived);
    // Network equipment in the plant: known only once the type is resolved.
    if !has_role {
        let device_type = identity.values.get(&Attribute::Type).map(String::as_str);
        if let Some(role) = ironward_intel::network_role(device_type, protocols) {
            derived.push(role);
            identity = ironward_intel::resolve(&observed.facts, &derived);
        }
    }
    let value = |attribute| identity.values.get(&attribute).cloned();
    let mut hostnames: Vec<String> = observed
        .facts
        .iter()
        .filter(|f| f.attribute == Attribute::Hostname)
        .map(|f| f.value.clone().into_owned())
        .collect();
    hostnames.sort();
    hostnames.dedup();
    let local = observed.mac.is_some()
        || observed.ips.iter().any(|ip| match ip {
            IpAddr::V4(v4) => v4.is_private() || v4.is_link_local(),
            IpAddr::V6(v6) => {
                (v6.segments()[0] & 0xfe00) == 0xfc00 || (v6.segments()[0] & 0xffc0) == 0xfe80
            }
        });
    let purdue = ironward_intel::purdue_level(
        identity.values.get(&Attribute::Role).map(String::as_str),
        identity.values.get(&Attribute::Type).map(String::as_str),
        protocols,
        local,
    );
    Device {
        id: key.id(),
        mac: observed.mac,
        ips: observed.ips.clone(),
        vendor: value(Attribute::Vendor),
        hostnames,
        device_type: value(Attribute::Type),
        role: value(Attribute::Role),
        model: value(Attribute::Model),
        firmware: value(Attribute::Firmware),
        serial: value(Attribute::Serial),
        os: value(Attribute::Os),
        state: value(Attribute::State),
        purdue_level: purdue.as_ref().map(|p| p.level),
        purdue_reason: purdue.map(|p| p.reason),
        protocols: Protocols {
            client: client.into_iter().map(str::to_owned).collect(),
            server: server.into_iter().map(str::to_owned).collect(),
        },
        services: offered
            .into_iter()
            .map(|(protocol, port, name)| Service {
                transport: transport_name(protocol),
                port,
                protocol: name.map(str::to_owned),
            })
            .collect(),
        findings: identity.findings,
        facts: identity.facts,
        conflicts: identity.conflicts,
        first_seen: Timestamp(observed.first_seen_ns),
        last_seen: Timestamp(observed.last_seen_ns),
    }
}

/// Receives the report of [`Engine::finish_into`] piece by piece.
pub trait ReportSink {
    /// What the sink can fail with (e.g. an I/O error while writing).
    type Error;
    /// The next device.
    fn device(&mut self, device: Device) -> Result<(), Self::Error>;
    /// The next connection (after all devices).
    fn connection(&mut self, connection: Connection) -> Result<(), Self::Error>;
    /// The next event a dissector reported (after all connections, in the order seen).
    fn event(&mut self, event: Event) -> Result<(), Self::Error>;
    /// The next alert (after all events, most urgent first). Sinks that do not report
    /// alerts ignore them.
    fn alert(&mut self, alert: ironward_model::Alert) -> Result<(), Self::Error> {
        let _ = alert;
        Ok(())
    }
    /// The packets around the first occurrence of an alert (after all events, before the
    /// alerts: a sink that writes files can name them in the alerts). Sinks that keep no
    /// captures ignore them.
    fn alert_capture(&mut self, capture: ironward_model::AlertCapture) -> Result<(), Self::Error> {
        let _ = capture;
        Ok(())
    }
    /// The statistics (last).
    fn stats(&mut self, stats: Stats) -> Result<(), Self::Error>;
}

/// A [`ReportSink`] that keeps the whole report.
#[derive(Debug, Default)]
pub struct CollectReport {
    /// The report collected so far.
    pub report: AnalysisReport,
    /// The alerts' captures collected so far.
    pub alert_captures: Vec<ironward_model::AlertCapture>,
}

impl ReportSink for CollectReport {
    type Error = std::convert::Infallible;

    fn device(&mut self, device: Device) -> Result<(), Self::Error> {
        self.report.devices.push(device);
        Ok(())
    }

    fn connection(&mut self, connection: Connection) -> Result<(), Self::Error> {
        self.report.connections.push(connection);
        Ok(())
    }

    fn event(&mut self, event: Event) -> Result<(), Self::Error> {
        self.report.events.push(event);
        Ok(())
    }

    fn alert(&mut self, alert: ironward_model::Alert) -> Result<(), Self::Error> {
        self.report.alerts.push(alert);
        Ok(())
    }

    fn alert_capture(&mut self, capture: ironward_model::AlertCapture) -> Result<(), Self::Error> {
        self.alert_captures.push(capture);
        Ok(())
    }

    fn stats(&mut self, stats: Stats) -> Result<(), Self::Error> {
        self.report.stats = stats;
        Ok(())
    }
}

/// What [`Engine::finish_into`] returns besides the report.
#[derive(Debug, Clone, Default)]
pub struct Finished {
    /// Every finished flow, when [`EngineConfig::keep_flow_records`] was set.
    pub flows: Vec<FlowRecord>,
    /// Every (MAC, IPv4) binding claimed by an ARP sender.
    pub arp_senders: Vec<(MacAddr, std::net::Ipv4Addr)>,
    /// Every fact reported by a dissector with its frame number, when
    /// [`EngineConfig::keep_fact_log`] was set.
    pub facts: Vec<(u64, Fact)>,
    /// Every occurrence of an event with its frame number, when
    /// [`EngineConfig::keep_fact_log`] was set.
    pub event_log: Vec<(u64, Event)>,
}
