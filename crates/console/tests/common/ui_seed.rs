//! An inventory for the UI tests: two sites with a zone, a sensor, two devices, a connection,
//! an event and an alert each, fed through enrolment and ingest as sensors would. Site
//! "Alpha" holds 10.0.0.1 (plc-alpha) and 10.0.0.2 (hmi-alpha); site "Bravo" holds
//! 10.9.0.1 (bravo-secret-plc) and 10.9.0.2 (bravo-station).

#![allow(dead_code, unreachable_pub)]

use std::borrow::Cow;

use ironward_model::{
    Batch, Connection, Device, DeviceId, Event, EventCategory, EventEndpoint, Protocols,
    ReportedFact, SensorHealth, Timestamp,
};
use ironward_store::{
    AlertId, AlertRecord, DeviceQuery, DeviceRef, Scope, SensorId, SiteId, Store, ZoneId,
};

/// What was seeded.
pub struct UiWorld {
    pub alpha: SiteId,
    pub bravo: SiteId,
    pub zone_alpha: ZoneId,
    pub zone_bravo: ZoneId,
    pub sensor_alpha: SensorId,
    pub plc_alpha: DeviceRef,
    pub hmi_alpha: DeviceRef,
    pub plc_bravo: DeviceRef,
}

fn fact(
    attribute: &str,
    value: &str,
    source: &str,
    confidence: u8,
    selected: bool,
) -> ReportedFact {
    ReportedFact {
        attribute: Cow::Owned(attribute.to_owned()),
        value: Cow::Owned(value.to_owned()),
        source: Cow::Owned(source.to_owned()),
        confidence,
        selected,
        evidence: None,
    }
}

/// A device by IP with a name, vendor, type and Purdue level.
pub fn ui_device(
    ip: &str,
    name: &str,
    vendor: &str,
    kind: &str,
    level: u8,
    now: Timestamp,
) -> Device {
    Device {
        id: DeviceId(format!("ip:{ip}")),
        mac: None,
        ips: vec![ip.parse().unwrap()],
        vendor: Some(vendor.to_owned()),
        hostnames: vec![name.to_owned()],
        device_type: Some(kind.to_owned()),
        role: None,
        model: Some(format!("{kind}-model")),
        firmware: Some("V1.2".to_owned()),
        serial: None,
        os: None,
        state: None,
        purdue_level: Some(level),
        purdue_reason: Some("speaks an industrial protocol".to_owned()),
        protocols: Protocols {
            client: vec![],
            server: vec!["modbus".to_owned()],
        },
        services: vec![],
        findings: vec!["cleartext-protocol".to_owned()],
        facts: vec![
            fact("ip", ip, "traffic", 90, false),
            fact("vendor", vendor, "modbus", 90, true),
            fact("vendor", "Other Corp", "oui", 40, false),
            fact("hostname", name, "dns", 80, false),
        ],
        conflicts: vec![],
        first_seen: now,
        last_seen: now,
    }
}

fn batch(id: &str, server: Device, client: Device, now: Timestamp) -> Batch {
    let (s, c) = (server.ips[0], client.ips[0]);
    let mut src = EventEndpoint::ip(c);
    src.device = Some(client.id.clone());
    let mut dst = EventEndpoint::ip(s);
    dst.device = Some(server.id.clone());
    Batch {
        id: id.to_owned(),
        created: now,
        alerts: Vec::new(),
        alert_captures: Vec::new(),
        connections: vec![Connection {
            a: Some(client.id.clone()),
            b: Some(server.id.clone()),
            a_ip: c,
            b_ip: s,
            transport: "tcp".to_owned(),
            port: Some(502),
            protocol: Some("modbus".to_owned()),
            packets: 42,
            bytes: 4200,
            flows: 1,
            first_seen: now,
            last_seen: now,
        }],
        events: vec![Event {
            time: now,
            last_seen: now,
            count: 2,
            src,
            dst,
            protocol: Cow::Borrowed("modbus"),
            category: EventCategory::Write,
            operation: Cow::Borrowed("write_multiple_registers"),
            detail: format!("{id} wrote registers 40001-40010"),
            content_hash: None,
        }],
        devices: vec![server, client],
        health: Some(SensorHealth {
            at: now,
            version: "0.1.0".to_owned(),
            source: "eth1".to_owned(),
            packets: 1000,
            bytes: 100_000,
            packets_per_second: 12.5,
            drops: 7,
        }),
    }
}

/// Seeds the two sites.
pub async fn seed_ui_world(store: &Store) -> UiWorld {
    let now = ironward_console::state::now();
    let alpha = store.create_site("Alpha", now).await.unwrap();
    let bravo = store.create_site("Bravo", now).await.unwrap();
    let za = store
        .create_zone(&Scope::All, alpha.id, "Alpha cell", now)
        .await
        .unwrap();
    let zb = store
        .create_zone(&Scope::All, bravo.id, "Bravo cell", now)
        .await
        .unwrap();
    let mut sensors = Vec::new();
    for (zone, name) in [(za.id, "alpha-sensor"), (zb.id, "bravo-sensor")] {
        let token = store
            .create_enrollment_token(
                &Scope::All,
                zone,
                name,
                Timestamp(now.0 + 3_600_000_000_000),
                None,
                now,
            )
            .await
            .unwrap();
        sensors.push(store.enroll(&token, now).await.unwrap().0);
    }
    let a = batch(
        "alpha-1",
        ui_device("10.0.0.1", "plc-alpha", "Siemens", "plc", 1, now),
        ui_device("10.0.0.2", "hmi-alpha", "Siemens", "hmi", 2, now),
        now,
    );
    let b = batch(
        "bravo-1",
        ui_device("10.9.0.1", "bravo-secret-plc", "Schneider", "plc", 1, now),
        ui_device("10.9.0.2", "bravo-station", "Dell", "workstation", 3, now),
        now,
    );
    store.ingest_batch(sensors[0].id, &a, now).await.unwrap();
    store.ingest_batch(sensors[1].id, &b, now).await.unwrap();
    for (site, severity) in [(alpha.id, "critical"), (bravo.id, "low")] {
        store
            .insert_alert(&AlertRecord {
                id: AlertId(0),
                site_id: site,
                zone_id: None,
                engine: "policy".to_owned(),
                title: "seeded".to_owned(),
                severity: severity.to_owned(),
                status: "open".to_owned(),
                devices: vec![],
                first_seen: now,
                last_seen: now,
                count: 1,
                payload: serde_json::json!({}),
            })
            .await
            .unwrap();
    }
    let find = |ip: &'static str| async move {
        let mut q = DeviceQuery::new(Scope::All);
        q.text = Some(format!("ip:{ip}"));
        let page = store.list_devices(&q).await.unwrap();
        assert_eq!(page.items.len(), 1, "{ip}");
        page.items[0].id
    };
    UiWorld {
        alpha: alpha.id,
        bravo: bravo.id,
        zone_alpha: za.id,
        zone_bravo: zb.id,
        sensor_alpha: sensors[0].id,
        plc_alpha: find("10.0.0.1").await,
        hmi_alpha: find("10.0.0.2").await,
        plc_bravo: find("10.9.0.1").await,
    }
}

/// Asserts that a page carries no inline script or style (the content security policy would
/// block them): every `<script` has a `src`, no element has a `style=` attribute, no `<style>`
/// element, no `on...=` handler.
pub fn assert_no_inline_code(path: &str, html: &str) {
    for (i, _) in html.match_indices("<script") {
        let tag_end = html[i..].find('>').map_or(html.len(), |e| i + e);
        assert!(
            html[i..tag_end].contains(" src="),
            "{path}: inline <script> at byte {i}"
        );
    }
    assert!(!html.contains(" style="), "{path}: style attribute");
    assert!(!html.contains("<style"), "{path}: <style> element");
    for handler in [
        " onclick=",
        " onload=",
        " onsubmit=",
        " onchange=",
        " onerror=",
    ] {
        assert!(!html.contains(handler), "{path}: inline handler {handler}");
    }
}
