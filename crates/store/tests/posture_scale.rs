//! The posture view at scale: an ignored measurement, not a check. Seeds a synthetic inventory
//! (IRONWARD_POSTURE_DEVICES devices, 100,000 unless set; three connections and one write
//! event per device, one device in fifty talking to a public address) through `ingest_batch`
//! into SQLite and PostgreSQL (IRONWARD_TEST_PG; skipped when unreachable), then times `Store::posture_assets` over every
//! device.
//!
//! cargo test --release -p ironward-store --test posture_scale -- --ignored --nocapture
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use ironward_model::{
    Batch, Connection, Device, DeviceId, Event, EventCategory, EventEndpoint, Protocols,
    ReportedFact, Service, Timestamp,
};
use ironward_store::{Scope, Store};

const T0: i64 = 1_700_000_000_000_000_000;

fn ip(i: usize) -> IpAddr {
    let i = u32::try_from(i).unwrap();
    IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | i))
}

fn fact(attribute: &'static str, value: String) -> ReportedFact {
    ReportedFact {
        attribute: Cow::Borrowed(attribute),
        value: Cow::Owned(value),
        source: Cow::Borrowed("bench"),
        confidence: 90,
        selected: true,
        evidence: None,
    }
}

fn device(i: usize) -> Device {
    let address = ip(i);
    let plc = i % 4 == 0;
    Device {
        id: DeviceId(format!("ip:{address}")),
        mac: None,
        ips: vec![address],
        vendor: Some(if plc { "Siemens" } else { "Dell" }.to_owned()),
        hostnames: vec![format!("host-{i}")],
        device_type: Some(if plc { "plc" } else { "workstation" }.to_owned()),
        role: None,
        model: Some(format!("model-{}", i % 50)),
        firmware: Some(format!("V{}.{}", i % 5, i % 7)),
        serial: None,
        os: None,
        state: None,
        purdue_level: Some(if plc { 1 } else { 3 }),
        purdue_reason: None,
        protocols: Protocols {
            client: vec![],
            server: vec!["http".to_owned(), "s7comm".to_owned()],
        },
        services: vec![
            Service {
                transport: "tcp".to_owned(),
                port: 102,
                protocol: Some("s7comm".to_owned()),
            },
            Service {
                transport: "tcp".to_owned(),
                port: 80,
                protocol: Some("http".to_owned()),
            },
            Service {
                transport: "tcp".to_owned(),
                port: 8080,
                protocol: None,
            },
        ],
        findings: if i % 3 == 0 {
            vec!["telnet_in_use".to_owned()]
        } else {
            vec![]
        },
        facts: vec![
            fact("ip", address.to_string()),
            fact("hostname", format!("host-{i}")),
            fact("vendor", "Siemens".to_owned()),
            fact("model", format!("model-{}", i % 50)),
            fact("firmware", format!("V{}.{}", i % 5, i % 7)),
            fact("service", "tcp/102".to_owned()),
        ],
        conflicts: vec![],
        first_seen: Timestamp(T0),
        last_seen: Timestamp(T0 + 1_000),
    }
}

fn connection(a: usize, b: IpAddr, port: u16, protocol: Option<&str>, packets: u64) -> Connection {
    Connection {
        a: Some(DeviceId(format!("ip:{}", ip(a)))),
        b: matches!(b, IpAddr::V4(v4) if v4.is_private()).then(|| DeviceId(format!("ip:{b}"))),
        a_ip: ip(a),
        b_ip: b,
        transport: "tcp".to_owned(),
        port: Some(port),
        protocol: protocol.map(str::to_owned),
        packets,
        bytes: packets * 60,
        flows: 1,
        first_seen: Timestamp(T0),
        last_seen: Timestamp(T0 + 1_000),
    }
}

fn batch(n: usize, from: usize, to: usize) -> Batch {
    let mut connections = Vec::new();
    let mut events = Vec::new();
    for i in from..to {
        let peer = (i + 1) % n;
        if let IpAddr::V4(v4) = ip(peer) {
            connections.push(connection(i, IpAddr::V4(v4), 102, Some("s7comm"), 40));
            connections.push(connection(i, IpAddr::V4(v4), 8080, None, 3));
        }
        if i % 50 == 0 {
            connections.push(connection(
                i,
                "8.8.8.8".parse().unwrap(),
                443,
                Some("tls"),
                20,
            ));
        }
        let mut src = EventEndpoint::ip(ip(i));
        src.device = Some(DeviceId(format!("ip:{}", ip(i))));
        let mut dst = EventEndpoint::ip(ip(peer));
        dst.device = Some(DeviceId(format!("ip:{}", ip(peer))));
        events.push(Event {
            time: Timestamp(T0),
            last_seen: Timestamp(T0 + 1_000),
            count: 1,
            src,
            dst,
            protocol: Cow::Borrowed("s7comm"),
            category: EventCategory::Write,
            operation: Cow::Borrowed("write_var"),
            detail: format!("DB{}", i % 100),
            content_hash: None,
        });
    }
    Batch {
        id: format!("b{from}"),
        created: Timestamp(T0),
        devices: (from..to).map(device).collect(),
        connections,
        events,
        alerts: vec![],
        alert_captures: vec![],
        health: None,
    }
}

/// CPU time of this process so far, in seconds (user + system; SQLite works in its threads).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Fields 14 and 15 (utime, stime) of proc(5), counted after the command's ')'.
    (ticks(11) + ticks(12)) / 100.0
}

async fn measure(store: Store, label: &str) {
    let n: usize = std::env::var("IRONWARD_POSTURE_DEVICES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    if store.sensors_reported(&Scope::All, None).await.unwrap() {
        println!("{label}: reusing the seeded database");
        time(&store, label, n).await;
        return;
    }
    let site = store.create_site("Scale", Timestamp(T0)).await.unwrap();
    let zone = store
        .create_zone(&Scope::All, site.id, "Z", Timestamp(T0))
        .await
        .unwrap();
    let token = store
        .create_enrollment_token(
            &Scope::All,
            zone.id,
            "s",
            Timestamp(T0 + 3_600_000_000_000),
            None,
            Timestamp(T0),
        )
        .await
        .unwrap();
    let sensor = store.enroll(&token, Timestamp(T0)).await.unwrap().0;
    let started = Instant::now();
    let step = 5_000;
    for from in (0..n).step_by(step) {
        let b = batch(n, from, (from + step).min(n));
        store
            .ingest_batch(sensor.id, &b, Timestamp(T0))
            .await
            .unwrap();
    }
    println!(
        "{label}: seeded {n} devices in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    time(&store, label, n).await;
}

async fn time(store: &Store, label: &str, n: usize) {
    let mut times = Vec::new();
    let mut cpu = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let cpu_started = cpu_seconds();
        let assets = store.posture_assets(&Scope::All, None, None).await.unwrap();
        times.push(started.elapsed().as_secs_f64());
        cpu.push(cpu_seconds() - cpu_started);
        assert_eq!(assets.len(), n);
        let unused = assets
            .iter()
            .filter(|a| !a.unused_services.is_empty())
            .count();
        let public = assets.iter().filter(|a| !a.public_peers.is_empty()).count();
        let sources = assets
            .iter()
            .filter(|a| !a.write_sources.is_empty())
            .count();
        assert_eq!((unused, public, sources), (n, n.div_ceil(50), n));
    }
    println!("{label}: posture_assets over {n} devices: wall {times:.3?} s, CPU {cpu:.2?} s");
}

#[tokio::test]
#[ignore = "a measurement: minutes, not a check"]
async fn posture_assets_at_scale_sqlite() {
    // IRONWARD_POSTURE_KEEP=DIR keeps the seeded database there for the next run.
    let dir = tempfile::tempdir().unwrap();
    let path = std::env::var_os("IRONWARD_POSTURE_KEEP")
        .map_or_else(|| dir.path().to_owned(), std::path::PathBuf::from);
    let store = Store::open_sqlite(&path).await.unwrap();
    measure(store, "sqlite").await;
}

#[tokio::test]
#[ignore = "a measurement: minutes, not a check"]
async fn posture_assets_at_scale_postgres() {
    let url = std::env::var("IRONWARD_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let Ok(mut conn) = <sqlx::PgConnection as sqlx::Connection>::connect(&url).await else {
        println!("skipped: PostgreSQL at {url} is unreachable");
        return;
    };
    let name = format!("ironward_posture_scale_{}", std::process::id());
    let base = url.rsplit_once('/').map_or(url.as_str(), |(b, _)| b);
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let store = Store::connect(&format!("{base}/{name}")).await.unwrap();
    measure(store.clone(), "postgres").await;
    store.close().await;
    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();
}
