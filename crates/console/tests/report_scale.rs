//! How long the risk report takes over a large inventory (ignored by default: it seeds
//! `IRONWARD_REPORT_SCALE_DEVICES` devices, 20,000 unless set, with one connection each,
//! through ingest). Run in release:
//! `cargo test --release -p ironward-console --test report_scale -- --ignored --nocapture`.
//! It prints the time and size of each format; it asserts nothing about time (machines
//! differ), only that both answer 200 with a bounded file.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/ui_seed.rs"]
mod ui_seed;

use std::time::Instant;

use axum::http::{Method, StatusCode};
use common::TestConsole;
use ironward_model::{Batch, Connection};
use ironward_store::Scope;

const PER_BATCH: usize = 10_000;

fn address(i: usize) -> std::net::Ipv4Addr {
    std::net::Ipv4Addr::from(0x0a00_0000 + u32::try_from(i).unwrap() + 1)
}

#[tokio::test]
#[ignore = "a measurement: run in release with --ignored --nocapture"]
async fn risk_report_at_scale() {
    let devices: usize = std::env::var("IRONWARD_REPORT_SCALE_DEVICES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let console = TestConsole::new().await;
    let now = ironward_console::state::now();
    let (site, sensor) = common::enrolled_sensor(&console.store, "Scale", now).await;
    let types = ["plc", "hmi", "switch", "workstation", "rtu", "camera"];
    let findings = ["telnet_in_use", "snmp_v1_v2c", "ftp_cleartext"];
    let started = Instant::now();
    let mut i = 0;
    while i < devices {
        let n = PER_BATCH.min(devices - i);
        let mut batch = Batch {
            id: format!("b{i}"),
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
            let mut d = ui_seed::ui_device(
                &ip,
                &format!("host-{k}"),
                "Siemens",
                types[k % types.len()],
                u8::try_from(k % 5).unwrap(),
                now,
            );
            d.findings = if k % 3 == 0 {
                vec![findings[k % findings.len()].to_owned()]
            } else {
                Vec::new()
            };
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
                first_seen: now,
                last_seen: now,
            });
        }
        console
            .store
            .ingest_batch(sensor.id, &batch, now)
            .await
            .unwrap();
        i += n;
    }
    println!(
        "seeded {devices} devices in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // Where the time goes: reading and evaluating the posture, then laying out and writing.
    let t = Instant::now();
    let input = ironward_console::report::gather(&console.store, &Scope::All, Some(site.id), now)
        .await
        .unwrap();
    let gathered = t.elapsed();
    let t = Instant::now();
    let pdf = ironward_console::report::render(&input, ironward_console::report::Format::Pdf);
    println!(
        "gather (posture of {} devices, fixed versions, map) {:.0} ms; PDF layout and writing {:.0} ms ({} bytes)",
        input.assets.len(),
        gathered.as_secs_f64() * 1000.0,
        t.elapsed().as_secs_f64() * 1000.0,
        pdf.len()
    );
    let (_, analyst) = console.user("ana", "analyst", &[]).await;
    println!("| format | time ms | bytes |");
    for format in ["pdf", "html"] {
        let path = format!("/reports/risk?site={}&format={format}", site.id.0);
        let t = Instant::now();
        let answer = console.call(Method::GET, &path, &analyst, None).await;
        let elapsed = t.elapsed();
        assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.text());
        // Bounded tables and map: the file does not grow with the inventory.
        assert!(answer.body.len() < 1 << 20, "{} bytes", answer.body.len());
        println!(
            "| {format} | {:.0} | {} |",
            elapsed.as_secs_f64() * 1000.0,
            answer.body.len()
        );
    }
}
