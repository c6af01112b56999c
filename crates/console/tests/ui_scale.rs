//! How long the UI's pages take over a large inventory (ignored by default: it seeds
//! `IRONWARD_UI_SCALE_DEVICES` devices, 100,000 unless set, with one connection each, through
//! ingest). Run in release:
//! `cargo test --release -p ironward-console --test ui_scale -- --ignored --nocapture`.
//! It prints the first request (the posture pages' first of a view evaluates it, the others
//! are served from the cache) and p50/p95 per page; it asserts nothing about time (machines
//! differ), only that every page answers 200.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/ui_seed.rs"]
mod ui_seed;

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use common::TestConsole;
use ironward_model::{Batch, Connection, Timestamp};
use ironward_store::Scope;

const PER_BATCH: usize = 10_000;

fn address(i: usize) -> std::net::Ipv4Addr {
    let i = u32::try_from(i).unwrap();
    std::net::Ipv4Addr::from(0x0a00_0000 + i + 1)
}

#[tokio::test]
#[ignore = "a measurement: run in release with --ignored --nocapture"]
async fn page_latency_at_scale() {
    let devices: usize = std::env::var("IRONWARD_UI_SCALE_DEVICES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let console = TestConsole::new().await;
    let now = ironward_console::state::now();
    let (site, sensor) = common::enrolled_sensor(&console.store, "Scale", now).await;
    let types = [
        "plc",
        "hmi",
        "switch",
        "workstation",
        "server",
        "rtu",
        "camera",
    ];
    let vendors = [
        "Siemens",
        "Rockwell",
        "Schneider",
        "ABB",
        "Dell",
        "Cisco",
        "Axis",
        "Moxa",
    ];
    let started = Instant::now();
    let mut i = 0;
    let mut batch_no = 0;
    while i < devices {
        let n = PER_BATCH.min(devices - i);
        let mut batch = Batch {
            id: format!("b{batch_no}"),
            created: now,
            devices: Vec::with_capacity(n),
            connections: Vec::with_capacity(n),
            events: vec![],
            alerts: Vec::new(),
            alert_captures: Vec::new(),
            health: None,
        };
        for k in i..i + n {
            let ip = address(k).to_string();
            let t = Timestamp(now.0 - i64::try_from(k).unwrap() * 1_000_000_000);
            let mut d = ui_seed::ui_device(
                &ip,
                &format!("host-{k}"),
                vendors[k % vendors.len()],
                types[k % types.len()],
                u8::try_from(k % 5).unwrap(),
                t,
            );
            d.firmware = Some(format!("V{}.{}", k % 4, k % 10));
            // One device in ten serves Telnet: the posture pages list devices to fix.
            if k % 10 == 0 {
                d.findings.push("telnet_in_use".to_owned());
            }
            batch.devices.push(d);
            let peer = address((k / 50) * 50);
            batch.connections.push(Connection {
                a: Some(ironward_model::DeviceId(format!("ip:{ip}"))),
                b: Some(ironward_model::DeviceId(format!("ip:{peer}"))),
                a_ip: address(k).into(),
                b_ip: peer.into(),
                transport: "tcp".to_owned(),
                port: Some(502),
                protocol: Some("modbus".to_owned()),
                packets: 10,
                bytes: 1000,
                flows: 1,
                first_seen: t,
                last_seen: t,
            });
        }
        console
            .store
            .ingest_batch(sensor.id, &batch, now)
            .await
            .unwrap();
        i += n;
        batch_no += 1;
    }
    println!(
        "seeded {devices} devices in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    console.user("admin", "admin", &[]).await;
    let admin = console.sign_in("admin").await;
    console.user("scoped", "viewer", &[site.id]).await;
    let scoped = console.sign_in("scoped").await;
    let device = console
        .store
        .list_devices(&ironward_store::DeviceQuery::new(Scope::All))
        .await
        .unwrap()
        .items[0]
        .id;
    let pages = [
        ("/", &admin),
        ("/devices", &admin),
        ("/devices", &scoped),
        ("/devices?sort=vendor", &admin),
        ("/devices?q=host-9999", &admin),
        ("/devices?offset=50000", &admin),
        ("/devices?type=plc&protocol=modbus", &admin),
        ("/map", &admin),
        ("/events", &admin),
        ("/sites", &admin),
        ("/initiatives", &admin),
        ("/initiatives/ot-security", &admin),
        ("/initiatives/ot-security", &scoped),
        ("/recommendations", &admin),
        ("/recommendations/telnet-disable", &admin),
    ];
    let device_path = format!("/devices/{device}");
    let mut all: Vec<(String, &common::As)> =
        pages.iter().map(|(p, w)| ((*p).to_owned(), *w)).collect();
    all.push((device_path, &admin));
    // The first request of a posture page evaluates the view; the others of the same view
    // within the cache's TTL are served from `posture_cache` (nothing changes meanwhile).
    println!("{}", resident("before the pages"));
    println!("| page | first ms | p50 ms | p95 ms |");
    for (path, who) in all {
        let mut times = Vec::new();
        for _ in 0..20 {
            let t = Instant::now();
            let answer = console.call(Method::GET, &path, who, None).await;
            times.push(t.elapsed());
            assert_eq!(answer.status, StatusCode::OK, "{path}");
        }
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let first = ms(times[0]);
        times.sort();
        println!(
            "| {path} | {first:.1} | {:.1} | {:.1} |",
            ms(times[times.len() / 2]),
            ms(times[times.len() * 95 / 100])
        );
    }
    println!(
        "{} ({} views kept by the posture cache)",
        resident("after the pages"),
        console.state.posture_cache().len()
    );
}

/// The process's resident memory now (Linux), for the memory the kept views cost.
fn resident(when: &str) -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .map_or("unknown", |l| l.trim_start_matches("VmRSS:").trim());
    format!("resident memory {when}: {rss}")
}
