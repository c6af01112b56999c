//! Builders for batches, devices and enrolled sensors.

use std::borrow::Cow;

use ironward_model::{
    Batch, Connection, Device, DeviceId, Event, EventCategory, EventEndpoint, Protocols,
    ReportedFact, SensorHealth, Timestamp,
};
use ironward_store::{Scope, SensorRecord, SiteId, Store, ZoneId};

pub(crate) const T0: i64 = 1_700_000_000_000_000_000;
pub(crate) const SECOND: i64 = 1_000_000_000;

pub(crate) fn t(seconds: i64) -> Timestamp {
    Timestamp(T0 + seconds * SECOND)
}

pub(crate) fn fact(attribute: &str, value: &str, source: &str, confidence: u8) -> ReportedFact {
    ReportedFact {
        attribute: Cow::Owned(attribute.to_owned()),
        value: Cow::Owned(value.to_owned()),
        source: Cow::Owned(source.to_owned()),
        confidence,
        selected: false,
        evidence: None,
    }
}

/// A device known by its IP address, seen from `first` to `last` seconds after T0.
pub(crate) fn device(ip: &str, first: i64, last: i64) -> Device {
    Device {
        id: DeviceId(format!("ip:{ip}")),
        mac: None,
        ips: vec![ip.parse().unwrap()],
        vendor: None,
        hostnames: vec![],
        device_type: None,
        role: None,
        model: None,
        firmware: None,
        serial: None,
        os: None,
        state: None,
        purdue_level: None,
        purdue_reason: None,
        protocols: Protocols::default(),
        services: vec![],
        findings: vec![],
        facts: vec![fact("ip", ip, "traffic", 90)],
        conflicts: vec![],
        first_seen: t(first),
        last_seen: t(last),
    }
}

pub(crate) fn connection(
    a: &str,
    b: &str,
    port: u16,
    packets: u64,
    first: i64,
    last: i64,
) -> Connection {
    Connection {
        a: Some(DeviceId(format!("ip:{a}"))),
        b: Some(DeviceId(format!("ip:{b}"))),
        a_ip: a.parse().unwrap(),
        b_ip: b.parse().unwrap(),
        transport: "tcp".to_owned(),
        port: Some(port),
        protocol: Some("modbus".to_owned()),
        packets,
        bytes: packets.saturating_mul(100),
        flows: 1,
        first_seen: t(first),
        last_seen: t(last),
    }
}

pub(crate) fn event(
    src: &str,
    dst: &str,
    detail: &str,
    count: u64,
    first: i64,
    last: i64,
) -> Event {
    let mut s = EventEndpoint::ip(src.parse().unwrap());
    s.device = Some(DeviceId(format!("ip:{src}")));
    let mut d = EventEndpoint::ip(dst.parse().unwrap());
    d.device = Some(DeviceId(format!("ip:{dst}")));
    Event {
        time: t(first),
        last_seen: t(last),
        count,
        src: s,
        dst: d,
        protocol: Cow::Borrowed("modbus"),
        category: EventCategory::Write,
        operation: Cow::Borrowed("write_multiple_registers"),
        detail: detail.to_owned(),
        content_hash: None,
    }
}

pub(crate) fn batch(id: &str, devices: Vec<Device>) -> Batch {
    Batch {
        id: id.to_owned(),
        created: t(100),
        devices,
        connections: vec![],
        events: vec![],
        alerts: Vec::new(),
        alert_captures: Vec::new(),
        health: Some(SensorHealth {
            at: t(100),
            version: "0.1.0".to_owned(),
            source: "eth1".to_owned(),
            packets: 1_000,
            bytes: 100_000,
            packets_per_second: 12.5,
            drops: 3,
        }),
    }
}

/// Two sites: A with zones A1 and A2, B with zone B1.
pub(crate) struct World {
    pub(crate) site_a: SiteId,
    pub(crate) site_b: SiteId,
    pub(crate) zone_a1: ZoneId,
    pub(crate) zone_a2: ZoneId,
    pub(crate) zone_b1: ZoneId,
}

pub(crate) async fn world(store: &Store) -> World {
    let a = store.create_site("Plant A", t(0)).await.unwrap();
    let b = store.create_site("Plant B", t(0)).await.unwrap();
    let a1 = store
        .create_zone(&Scope::All, a.id, "A1", t(0))
        .await
        .unwrap();
    let a2 = store
        .create_zone(&Scope::All, a.id, "A2", t(0))
        .await
        .unwrap();
    let b1 = store
        .create_zone(&Scope::All, b.id, "B1", t(0))
        .await
        .unwrap();
    World {
        site_a: a.id,
        site_b: b.id,
        zone_a1: a1.id,
        zone_a2: a2.id,
        zone_b1: b1.id,
    }
}

pub(crate) async fn sensor(store: &Store, _site: SiteId, zone: ZoneId, name: &str) -> SensorRecord {
    let token = store
        .create_enrollment_token(&Scope::All, zone, name, t(3600), None, t(0))
        .await
        .unwrap();
    store.enroll(&token, t(1)).await.unwrap().0
}
