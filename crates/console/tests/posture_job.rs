//! The posture history job over simulated days, on both store backends, with the clock passed
//! in: the first round stores each initiative's snapshot, an unchanged round stores nothing,
//! devices that appear, a weight change and a risk acceptance each store a change with its
//! reasons and the assets behind it; the trend carries scores over quiet days; a score that
//! falls by 2 points or more within a day raises `posture.score_drop` once per site and day (a
//! second drop the same day adds nothing, one on a later day counts again); site B's devices
//! never appear in site A's history.
//!
//! Scores are worked out by hand from the catalog's OT metrics (High 3, Medium 2, Low 1):
//! unprotected H, insecure protocols M, critical vulnerabilities H, known exploited H,
//! unauthorized M, internet H, unsupported M, unused services L, IT write access H — Σw = 22.
//! No vulnerability data, no learning, no internet peers and no services here: every metric but
//! the two fed by findings stays at 100.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::float_cmp)]

mod backends;

use std::borrow::Cow;

use ironward_console::posture_job::{PostureJob, Round, KIND};
use ironward_console::posture_service;
use ironward_model::{Batch, Device, DeviceId, Protocols, ReportedFact, Timestamp};
use ironward_posture::{AssetChangeKind, Reason, Weight};
use ironward_store::{
    AlertQuery, ChangedBy, RecommendationStateChange, Scope, SensorId, SiteId, Store,
};

const HOUR: i64 = 3_600 * 1_000_000_000;
const DAY: i64 = 24 * HOUR;
/// 2026-01-05T00:00:00Z, a Monday.
const T0: i64 = 1_767_571_200 * 1_000_000_000;

/// Day `day` at `hour` o'clock.
fn at(day: i64, hour: i64) -> Timestamp {
    Timestamp(T0 + day * DAY + hour * HOUR)
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-6)
}

/// A site with a zone and an enrolled sensor.
async fn site(store: &Store, name: &str) -> (SiteId, SensorId) {
    let site = store.create_site(name, at(0, 0)).await.unwrap();
    let zone = store
        .create_zone(&Scope::All, site.id, "cell", at(0, 0))
        .await
        .unwrap();
    let token = store
        .create_enrollment_token(&Scope::All, zone.id, name, at(1, 0), None, at(0, 0))
        .await
        .unwrap();
    (site.id, store.enroll(&token, at(0, 0)).await.unwrap().0.id)
}

/// An OT device of `device_type` at `ip` with these findings.
fn device(ip: &str, device_type: &str, findings: &[&str]) -> Device {
    let fact = |attribute: &'static str, value: &str| ReportedFact {
        attribute: Cow::Borrowed(attribute),
        value: Cow::Owned(value.to_owned()),
        source: Cow::Borrowed("traffic"),
        confidence: 90,
        selected: true,
        evidence: None,
    };
    Device {
        id: DeviceId(format!("ip:{ip}")),
        mac: None,
        ips: vec![ip.parse().unwrap()],
        vendor: None,
        hostnames: vec![],
        device_type: Some(device_type.to_owned()),
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
        findings: findings.iter().map(|f| (*f).to_owned()).collect(),
        facts: vec![fact("ip", ip), fact("device_type", device_type)],
        conflicts: vec![],
        first_seen: at(0, 0),
        last_seen: at(0, 0),
    }
}

async fn ingest(store: &Store, sensor: SensorId, id: &str, devices: Vec<Device>, now: Timestamp) {
    let batch = Batch {
        id: id.to_owned(),
        created: now,
        devices,
        connections: vec![],
        events: vec![],
        alerts: vec![],
        alert_captures: vec![],
        health: Some(ironward_model::SensorHealth {
            at: now,
            version: "test".into(),
            source: "eth1".into(),
            packets: 10,
            bytes: 1_000,
            packets_per_second: 1.0,
            drops: 0,
        }),
    };
    store.ingest_batch(sensor, &batch, now).await.unwrap();
}

async fn round(store: &Store, job: &mut PostureJob, now: Timestamp) -> Round {
    job.run_once(store, now).await.unwrap()
}

async fn drop_alerts(store: &Store, site: SiteId) -> Vec<ironward_store::AlertView> {
    let mut q = AlertQuery::new(Scope::All);
    q.site = Some(site);
    store
        .query_alerts(&q)
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|a| a.kind == KIND)
        .collect()
}

async fn ot_score(store: &Store, site: SiteId, now: Timestamp) -> Option<f64> {
    let filter = posture_service::PostureFilter {
        site: Some(site),
        group: None,
    };
    let current = posture_service::current(store, &Scope::All, &filter, now)
        .await
        .unwrap();
    current.initiative("ot-security").unwrap().score
}

#[allow(clippy::too_many_lines)] // one story over five days, read top to bottom
async fn scenario(store: Store) {
    let (a, sensor_a) = site(&store, "Plant A").await;
    let (b, sensor_b) = site(&store, "Plant B").await;
    let admin = store
        .create_user("admin", "admin", &[], "$argon2id$not-used", at(0, 0))
        .await
        .unwrap();
    let by = ChangedBy {
        user_id: admin.id,
        name: "admin",
        address: "127.0.0.1",
    };
    let mut job = PostureJob::new();

    // Nothing reported yet: no view has data, nothing is stored.
    let first = round(&store, &mut job, at(0, 9)).await;
    assert_eq!(first, Round::default());

    // Day 0, 10:00. A: a PLC with Telnet, a clean HMI — insecure protocols 1/2 (50):
    // (20·100 + 2·50) / 22 = 95.4545… B: a PLC with SNMP v1 and a station with FTP — 2/2 (0):
    // 2000 / 22 = 90.9090…
    ingest(
        &store,
        sensor_a,
        "a-0",
        vec![
            device("10.0.0.1", "plc", &["telnet_in_use"]),
            device("10.0.0.2", "hmi", &[]),
        ],
        at(0, 10),
    )
    .await;
    ingest(
        &store,
        sensor_b,
        "b-0",
        vec![
            device("10.1.0.1", "plc", &["snmp_v1_v2c"]),
            device("10.1.0.2", "engineering_workstation", &["ftp_cleartext"]),
        ],
        at(0, 10),
    )
    .await;
    let r = round(&store, &mut job, at(0, 10)).await;
    // All sites, A and B, each with its two initiatives: six first snapshots, no drop.
    assert_eq!((r.views, r.changes, r.alerts), (3, 6, 0), "{r:?}");
    assert!(close(ot_score(&store, a, at(0, 10)).await, 2100.0 / 22.0));
    assert!(close(ot_score(&store, b, at(0, 10)).await, 2000.0 / 22.0));

    // Nothing changed: nothing stored, by this job or by a restarted one (which reads the
    // stored snapshots first).
    let r = round(&store, &mut job, at(0, 11)).await;
    assert_eq!((r.views, r.changes), (3, 0), "{r:?}");
    let mut restarted = PostureJob::new();
    assert_eq!(round(&store, &mut restarted, at(0, 12)).await.changes, 0);

    // Day 1, 12:00. A third PLC appears in A with FTP: insecure 2/3 →
    // (20·100 + 2·33.33…) / 22 = 93.9393…, a fall of 1.5: a change, no alert.
    ingest(
        &store,
        sensor_a,
        "a-1",
        vec![device("10.0.0.3", "plc", &["ftp_cleartext"])],
        at(1, 12),
    )
    .await;
    let r = round(&store, &mut job, at(1, 12)).await;
    // A's OT and the all-sites OT changed (IoT: still no device of its domain).
    assert_eq!((r.changes, r.alerts), (2, 0), "{r:?}");
    assert!(close(
        ot_score(&store, a, at(1, 12)).await,
        (2000.0 + 200.0 / 3.0) / 22.0
    ));

    // Day 1, 13:00. The HMI turns out to speak Telnet too: insecure 3/3 → 2000 / 22 = 90.9090…
    // Within the day A's score fell from 95.45 (in force since day 0) by 4.5: one alert in A.
    ingest(
        &store,
        sensor_a,
        "a-2",
        vec![device("10.0.0.2", "hmi", &["telnet_in_use"])],
        at(1, 13),
    )
    .await;
    let r = round(&store, &mut job, at(1, 13)).await;
    assert_eq!((r.changes, r.alerts, r.suppressed), (2, 1, 0), "{r:?}");
    let alerts = drop_alerts(&store, a).await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].count, 1);
    assert_eq!(alerts[0].engine, "operational");
    assert_eq!(alerts[0].sensor_id, Some(sensor_a));
    assert_eq!(alerts[0].first_seen, at(1, 0), "stamped with its day");
    assert!(
        alerts[0].title.contains("OT Security"),
        "{}",
        alerts[0].title
    );
    assert!(alerts[0].title.contains("Plant A"), "{}", alerts[0].title);
    // It names the device behind the change that ended the drop.
    assert_eq!(alerts[0].devices, vec!["ip:10.0.0.2".to_owned()]);
    assert!(drop_alerts(&store, b).await.is_empty());
    // The forwarding scan reads it like any alert.
    let scan = store.forward_scan(100, 1000, at(1, 13)).await.unwrap();
    assert!(scan.alerts >= 1, "{scan:?}");

    // Day 1, 15:00. An administrator raises the insecure-protocol metric to High: Σw = 23. A:
    // 2000 / 23 = 86.9565…, another drop the same day: stored, flagged, no second alert. B
    // (insecure 0 since day 0): 90.91 → 86.96, its first drop: B's own alert.
    store
        .set_metric_weight(
            &Scope::All,
            by,
            "ot-insecure-protocols",
            Some("high"),
            at(1, 15),
        )
        .await
        .unwrap_or_else(|e| panic!("weight: {e}"));
    let r = round(&store, &mut job, at(1, 15)).await;
    // Every view's OT initiative changed weight (A, B, all sites); B's drop is the one alert.
    assert_eq!((r.changes, r.alerts), (3, 1), "{r:?}");
    assert!(close(ot_score(&store, a, at(1, 15)).await, 2000.0 / 23.0));
    assert_eq!(drop_alerts(&store, a).await[0].count, 1);
    let b_alerts = drop_alerts(&store, b).await;
    assert_eq!(b_alerts.len(), 1);
    assert_eq!(b_alerts[0].sensor_id, Some(sensor_b));
    assert!(b_alerts[0].title.contains("Plant B"));

    // Day 3, 09:00. A fourth device in A with a default SNMP community and FTP: unprotected 1/4
    // (75), insecure 4/4 (0): (3·75 + 0 + 17·100) / 23 = 1925 / 23 = 83.6956…, 3.26 below
    // the score in force since day 1: a new day, the alert counts a second occurrence.
    ingest(
        &store,
        sensor_a,
        "a-3",
        vec![device(
            "10.0.0.5",
            "plc",
            &["snmp_default_community", "ftp_cleartext"],
        )],
        at(3, 9),
    )
    .await;
    let r = round(&store, &mut job, at(3, 9)).await;
    assert_eq!(r.alerts, 1, "{r:?}");
    assert!(close(ot_score(&store, a, at(3, 9)).await, 1925.0 / 23.0));
    let alerts = drop_alerts(&store, a).await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        (alerts[0].count, alerts[0].last_seen),
        (2, at(3, 0)),
        "{alerts:#?}"
    );

    // Day 4, 08:00. An analyst accepts the risk of Telnet in A (until day 30): Telnet no longer
    // counts — the PLC and the HMI stay affected by nothing else, the third and fifth by FTP:
    // insecure 2/4 (50): (3·75 + 3·50 + 1700) / 23 = 2075 / 23 = 90.2173…
    store
        .set_recommendation_state(
            &Scope::All,
            by,
            &RecommendationStateChange {
                recommendation: "telnet-disable",
                site: Some(a),
                kind: "risk_accepted",
                reason: "isolated cell, replacement ordered",
                expires_at: Some(at(30, 0)),
            },
            at(4, 8),
        )
        .await
        .unwrap();
    let r = round(&store, &mut job, at(4, 8)).await;
    // A's initiatives only (IoT's too: the state is one of its inputs, though it has no
    // device): the all-sites view applies all-sites states, B has its own.
    assert_eq!((r.changes, r.alerts), (2, 0), "{r:?}");
    assert!(close(ot_score(&store, a, at(4, 8)).await, 2075.0 / 23.0));

    // A's history, newest first: the acceptance, the new device, the weight, the HMI, the
    // third PLC, the first snapshot.
    let history = posture_service::history(&store, &Scope::All, "ot-security", Some(a), at(4, 8))
        .await
        .unwrap();
    assert!(history.available);
    assert_eq!(history.site, Some(a));
    assert_eq!(history.total, 6, "{:#?}", history.changes);
    let changes: Vec<_> = history.changes.iter().map(|c| &c.change).collect();
    assert!(changes[0].reasons.iter().any(|r| matches!(
        r,
        Reason::RecommendationStateChanged { recommendation, .. } if recommendation == "telnet-disable"
    )), "{:#?}", changes[0]);
    assert!(changes[0]
        .top_assets
        .iter()
        .all(|t| t.device.starts_with("ip:10.0.0.")));
    assert!(close(changes[0].to, 2075.0 / 23.0));
    assert!(
        changes[1]
            .reasons
            .contains(&Reason::DevicesAdded { count: 1 }),
        "{:#?}",
        changes[1]
    );
    assert!(changes[1]
        .top_assets
        .iter()
        .any(|t| t.device == "ip:10.0.0.5"
            && matches!(
                t.change,
                AssetChangeKind::NewlyAffected | AssetChangeKind::Added
            )));
    assert!(
        changes[2].reasons.contains(&Reason::WeightChanged {
            metric: "ot-insecure-protocols".into(),
            from: Weight::Medium,
            to: Weight::High,
        }),
        "{:#?}",
        changes[2]
    );
    assert!(
        history.changes[2].score_drop,
        "the weight change fell 3.95 within the day"
    );
    assert!(
        history.changes[3].score_drop,
        "the HMI's Telnet ended the first drop"
    );
    assert!(!history.changes[4].score_drop);
    assert!(changes[4]
        .reasons
        .contains(&Reason::DevicesAdded { count: 1 }));
    assert!(changes[4]
        .top_assets
        .iter()
        .any(|t| t.device == "ip:10.0.0.3"));
    // Site B's devices never appear in A's history.
    let text = format!("{:?}", history.changes);
    assert!(!text.contains("10.1.0."), "{text}");

    // Trend: 14 days ending day 4; days before day 0 unknown; the last score of each day, carried
    // over the quiet day 2.
    assert_eq!(history.trend.len(), 14);
    assert_eq!(history.trend[13].day_start, at(4, 0));
    assert!(history.trend[..9].iter().all(|p| p.score.is_none()));
    assert!(
        close(history.trend[9].score, 2100.0 / 22.0),
        "{:?}",
        history.trend
    );
    assert!(close(history.trend[10].score, 2000.0 / 23.0));
    assert!(close(history.trend[11].score, 2000.0 / 23.0));
    assert!(close(history.trend[12].score, 1925.0 / 23.0));
    assert!(close(history.trend[13].score, 2075.0 / 23.0));
    // Drift over 14 days: no score 14 days ago.
    assert_eq!(history.drift, None);
    let later = posture_service::history(&store, &Scope::All, "ot-security", Some(a), at(14, 12))
        .await
        .unwrap();
    // Day 14, 12:00: 14 days earlier is day 0, 12:00 (95.45); now 90.22.
    assert!(
        close(later.drift, 2075.0 / 23.0 - 2100.0 / 22.0),
        "{:?}",
        later.drift
    );
    // Per metric: insecure protocols 50 now, 50 on day 0.
    assert_eq!(
        later
            .metric_drift
            .get("ot-insecure-protocols")
            .copied()
            .flatten(),
        Some(0.0)
    );
    // Unprotected devices: 75 now, 100 on day 0.
    assert_eq!(
        later
            .metric_drift
            .get("ot-unprotected-devices")
            .copied()
            .flatten(),
        Some(-25.0)
    );

    // Without a nudge, a round is due 10 minutes after the last one, or when a state in
    // force expires. Day 5: B's SNMP accepted for 3 minutes.
    assert!(!job.due(Timestamp(at(4, 8).0 + 9 * 60 * 1_000_000_000)));
    assert!(job.due(Timestamp(at(4, 8).0 + 10 * 60 * 1_000_000_000)));
    let expiry = Timestamp(at(5, 0).0 + 3 * 60 * 1_000_000_000);
    store
        .set_recommendation_state(
            &Scope::All,
            by,
            &RecommendationStateChange {
                recommendation: "snmp-v1-v2-remove",
                site: Some(b),
                kind: "exception",
                reason: "until the maintenance window",
                expires_at: Some(expiry),
            },
            at(5, 0),
        )
        .await
        .unwrap();
    // B's OT and IoT (the state is an input of both).
    assert_eq!(round(&store, &mut job, at(5, 0)).await.changes, 2);
    assert!(!job.due(Timestamp(expiry.0 - 1)));
    assert!(job.due(expiry));
    assert_eq!(round(&store, &mut job, expiry).await.changes, 2);
    let b_now = posture_service::history(&store, &Scope::All, "ot-security", Some(b), expiry)
        .await
        .unwrap();
    assert!(
        b_now.changes[0].change.reasons.iter().any(|r| matches!(
            r,
            Reason::RecommendationStateChanged { recommendation, .. }
                if recommendation == "snmp-v1-v2-remove"
        )),
        "{:#?}",
        b_now.changes[0]
    );
    // Back to where it was before the exception: 2000 / 23.
    assert!(close(b_now.changes[0].change.to, 2000.0 / 23.0));

    // A caller of site B only reads B's history; A's is not found for them.
    let scope_b = Scope::Sites(vec![b]);
    let b_history = posture_service::history(&store, &scope_b, "ot-security", None, at(4, 8))
        .await
        .unwrap();
    assert_eq!(b_history.site, Some(b));
    assert!(!format!("{:?}", b_history.changes).contains("10.0.0."));
    assert!(
        posture_service::history(&store, &scope_b, "ot-security", Some(a), at(4, 8))
            .await
            .is_err()
    );
    // A caller of both sites (not all) without a site filter has no history of their own.
    let both = Scope::Sites(vec![a, b]);
    let none = posture_service::history(&store, &both, "ot-security", None, at(4, 8))
        .await
        .unwrap();
    assert!(!none.available);
    assert!(none.changes.is_empty());
    assert!(none.trend.iter().all(|p| p.score.is_none()));
}

#[tokio::test]
async fn sqlite() {
    backends::on_sqlite(scenario).await;
}

#[tokio::test]
async fn postgres() {
    backends::on_postgres("ironward_posture_job", scenario).await;
}
