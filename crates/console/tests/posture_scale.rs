//! What exposure management costs at scale (ignored by default: it seeds
//! `IRONWARD_POSTURE_DEVICES` devices, 100,000 unless set, in two sites through ingest). Run in
//! release: `cargo test --release -p ironward-console --test posture_scale -- --ignored
//! --nocapture`. It prints the API's latency (initiatives, recommendations) and the history
//! job's rounds — the first (every snapshot stored), one with nothing changed (nothing stored:
//! the cost of a quiet minute), one after a device changed; it asserts what was counted and
//! stored, not how fast (machines differ).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use axum::http::Method;
use common::TestConsole;
use ironward_console::posture_job::PostureJob;
use ironward_model::{Batch, Timestamp};
use ironward_store::{Scope, SensorId};

const PER_BATCH: usize = 10_000;

/// Device `i` of site `i % 2`: PLCs, HMIs and cameras in turn; every fifth with Telnet, every
/// seventh with SNMP v1/v2c.
fn device(i: usize) -> ironward_model::Device {
    let ip = std::net::Ipv4Addr::from(0x0a00_0000 + u32::try_from(i).unwrap() + 1).to_string();
    let kind = ["plc", "hmi", "ip_camera"][i % 3];
    let mut d = common::seed_device(&ip, &format!("d{i}"), "Acme", kind, &[], &[]);
    if i % 5 == 0 {
        d.findings.push("telnet_in_use".to_owned());
    }
    if i % 7 == 0 {
        d.findings.push("snmp_v1_v2c".to_owned());
    }
    d
}

fn batch(id: String, devices: Vec<ironward_model::Device>, now: Timestamp) -> Batch {
    Batch {
        id,
        created: now,
        devices,
        connections: vec![],
        events: vec![],
        alerts: vec![],
        alert_captures: vec![],
        health: None,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::test]
#[ignore = "a measurement: run in release with --ignored --nocapture"]
async fn posture_at_scale() {
    let devices: usize = std::env::var("IRONWARD_POSTURE_DEVICES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let console = TestConsole::new().await;
    let store = &console.store;
    let now = ironward_console::state::now();
    let mut sensors: Vec<SensorId> = Vec::new();
    for name in ["Scale A", "Scale B"] {
        let site = store.create_site(name, now).await.unwrap();
        let zone = store
            .create_zone(&Scope::All, site.id, "Cell", now)
            .await
            .unwrap();
        let expires = Timestamp(now.0 + 3_600_000_000_000);
        let token = store
            .create_enrollment_token(&Scope::All, zone.id, name, expires, None, now)
            .await
            .unwrap();
        sensors.push(store.enroll(&token, now).await.unwrap().0.id);
    }
    let started = Instant::now();
    for (n, start) in (0..devices).step_by(PER_BATCH).enumerate() {
        for (s, sensor) in sensors.iter().enumerate() {
            let part: Vec<_> = (start..(start + PER_BATCH).min(devices))
                .filter(|i| i % 2 == s)
                .map(device)
                .collect();
            let mut b = batch(format!("scale-{n}-{s}"), part, now);
            b.health = Some(ironward_model::SensorHealth {
                at: now,
                version: "scale".into(),
                source: "eth1".into(),
                packets: 1,
                bytes: 1,
                packets_per_second: 1.0,
                drops: 0,
            });
            store.ingest_batch(*sensor, &b, now).await.unwrap();
        }
    }
    println!(
        "seeded {devices} devices in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let (_, admin) = console.user("admin", "admin", &[]).await;

    // Where a view's time goes: the store's query, then the evaluation.
    let started = Instant::now();
    let rows = store.posture_assets(&Scope::All, None, None).await.unwrap();
    println!(
        "store.posture_assets: {} rows in {:.0} ms",
        rows.len(),
        ms(started.elapsed())
    );
    assert_eq!(rows.len(), devices);
    let started = Instant::now();
    let current = ironward_console::posture_service::current(
        store,
        &Scope::All,
        &ironward_console::posture_service::PostureFilter::default(),
        now,
    )
    .await
    .unwrap();
    println!(
        "posture_service::current (query, evaluation, device scores): {:.0} ms",
        ms(started.elapsed())
    );
    assert_eq!(current.assets.len(), devices);

    // The API: every request evaluates its view.
    for path in [
        "/api/v1/initiatives",
        "/api/v1/recommendations",
        "/api/v1/recommendations.csv",
    ] {
        let started = Instant::now();
        let answer = console.call(Method::GET, path, &admin, None).await;
        assert_eq!(answer.status, axum::http::StatusCode::OK, "{path}");
        println!(
            "GET {path}: {:.0} ms, {} bytes",
            ms(started.elapsed()),
            answer.body.len()
        );
    }
    let list = console.get_json("/api/v1/initiatives", &admin).await;
    let ot = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "ot-security")
        .unwrap();
    let insecure = ot["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "ot-insecure-protocols")
        .unwrap();
    let ot_devices = (0..devices).filter(|i| i % 3 != 2).count();
    let affected = (0..devices)
        .filter(|i| i % 3 != 2 && (i % 5 == 0 || i % 7 == 0))
        .count();
    assert_eq!(insecure["total"], ot_devices);
    assert_eq!(insecure["affected"], affected);

    // The history job: first round, a quiet round, a round after one device changed.
    let mut job = PostureJob::new();
    let t = ironward_console::state::now();
    let started = Instant::now();
    let first = job.run_once(store, t).await.unwrap();
    println!(
        "job, first round: {:.0} ms, {first:?}",
        ms(started.elapsed())
    );
    assert_eq!((first.views, first.changes), (3, 6));
    let started = Instant::now();
    let quiet = job
        .run_once(store, Timestamp(t.0 + 60_000_000_000))
        .await
        .unwrap();
    println!(
        "job, nothing changed: {:.0} ms, {quiet:?}",
        ms(started.elapsed())
    );
    assert_eq!(quiet.changes, 0);
    let mut changed = device(1);
    changed.findings.push("ftp_cleartext".to_owned());
    store
        .ingest_batch(
            sensors[1],
            &batch("scale-change".into(), vec![changed], now),
            now,
        )
        .await
        .unwrap();
    let started = Instant::now();
    let one = job
        .run_once(store, Timestamp(t.0 + 120_000_000_000))
        .await
        .unwrap();
    println!(
        "job, one device changed: {:.0} ms, {one:?}",
        ms(started.elapsed())
    );
    // Device 1 (an HMI of site B) is newly insecure: B's OT and the all-sites OT.
    assert_eq!(one.changes, 2);
}
