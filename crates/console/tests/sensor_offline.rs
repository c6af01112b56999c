//! The sensor-offline check on both store backends, with the clock passed in (no waiting): a
//! sensor silent for longer than `sensor_offline_after` gets one `operational.sensor_offline`
//! alert per outage in its own site (a repeat counts the outage, checking again does not, nor
//! does a restarted console), the forwarding scan sees it like a sensor's alert, a sensor that
//! never reported raises nothing, and an exclusion rule suppresses it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod backends;

use std::time::Duration;

use ironward_console::sensor_watch::{Round, SensorWatch, KIND};
use ironward_model::{SensorHealth, Timestamp};
use ironward_store::{AlertQuery, AlertView, ExclusionSpec, Scope, SensorId, SiteId, Store};

const MINUTE: i64 = 60 * 1_000_000_000;
/// A fixed start (2026-01-05, a Monday), in nanoseconds.
const T0: i64 = 1_767_571_200 * 1_000_000_000;
const OFFLINE_AFTER: Duration = Duration::from_secs(5 * 60);

fn at(minutes: i64) -> Timestamp {
    Timestamp(T0 + minutes * MINUTE)
}

/// A site with a zone and an enrolled sensor called `name`.
async fn sensor(store: &Store, site: &str, name: &str) -> (SiteId, SensorId) {
    let site = store.create_site(site, at(0)).await.unwrap();
    let zone = store
        .create_zone(&Scope::All, site.id, "cell", at(0))
        .await
        .unwrap();
    let token = store
        .create_enrollment_token(&Scope::All, zone.id, name, at(600), None, at(0))
        .await
        .unwrap();
    let (record, _) = store.enroll(&token, at(0)).await.unwrap();
    (site.id, record.id)
}

async fn report(store: &Store, sensor: SensorId, minutes: i64) {
    let health = SensorHealth {
        at: at(minutes),
        version: "test".into(),
        source: "eth1".into(),
        packets: 10,
        bytes: 1000,
        packets_per_second: 1.0,
        drops: 0,
    };
    store
        .record_sensor_health(sensor, &health, at(minutes))
        .await
        .unwrap();
}

async fn offline_alerts(store: &Store, site: SiteId) -> Vec<AlertView> {
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

async fn check(store: &Store, watch: &mut SensorWatch, minutes: i64) -> Round {
    watch
        .check(store, OFFLINE_AFTER, at(minutes))
        .await
        .unwrap()
}

async fn scenario(store: Store) {
    let (site_a, a) = sensor(&store, "Plant A", "sensor-a").await;
    let (site_b, b) = sensor(&store, "Plant B", "sensor-b").await;
    // Sensor C enrols and never reports: it never started, so it has no outage.
    let (site_c, _) = sensor(&store, "Plant C", "sensor-c").await;
    report(&store, a, 0).await;
    report(&store, b, 0).await;
    let mut watch = SensorWatch::new();

    // Within the offline delay: nothing.
    assert_eq!(check(&store, &mut watch, 5).await, Round::default());

    // B keeps reporting; A, silent since 0, is offline from 5 on.
    report(&store, b, 5).await;
    let round = check(&store, &mut watch, 6).await;
    assert_eq!((round.offline, round.raised, round.suppressed), (1, 1, 0));
    let alerts = offline_alerts(&store, site_a).await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let alert = &alerts[0];
    assert_eq!(alert.engine, "operational");
    assert_eq!(alert.severity, "major");
    assert_eq!(alert.status, "new");
    assert_eq!(alert.sensor_id, Some(a));
    assert_eq!(alert.count, 1);
    assert_eq!(
        alert.first_seen,
        at(5),
        "the outage began 5 minutes after the last report"
    );
    assert!(alert.title.contains("sensor-a"), "{}", alert.title);
    assert!(offline_alerts(&store, site_b).await.is_empty());
    assert!(offline_alerts(&store, site_c).await.is_empty());
    let detail = store.alert_detail(&Scope::All, alert.id).await.unwrap();
    let payload = detail.payload.to_string();
    assert!(payload.contains("2026-01-05T00:00:00Z"), "{payload}");
    assert!(payload.contains("T0815"), "{payload}");

    // The forwarding scan reads it like any alert.
    let scan = store.forward_scan(100, 1000, at(6)).await.unwrap();
    assert!(scan.alerts >= 1, "{scan:?}");

    // Later rounds of the same outage, and a restarted console, count nothing more.
    report(&store, b, 7).await;
    assert_eq!(check(&store, &mut watch, 7).await.raised, 0);
    report(&store, b, 29).await;
    assert_eq!(check(&store, &mut watch, 30).await.raised, 0);
    let mut restarted = SensorWatch::new();
    let round = check(&store, &mut restarted, 31).await;
    assert_eq!((round.offline, round.raised), (1, 0));
    assert_eq!(offline_alerts(&store, site_a).await[0].count, 1);

    // A comes back: online again.
    report(&store, a, 40).await;
    report(&store, b, 40).await;
    assert_eq!(check(&store, &mut watch, 41).await, Round::default());

    // An exclusion rule on the kind in B's site; then both fall silent (offline from 45).
    let rule = store
        .create_exclusion(
            &Scope::All,
            &ExclusionSpec {
                site_id: site_b,
                name: "maintenance".into(),
                device_key: None,
                subnet: None,
                kind: Some(KIND.into()),
                engine: None,
                sensor_id: None,
                weekdays: vec![],
                hour_from: None,
                hour_to: None,
            },
            "test",
            at(42),
        )
        .await
        .unwrap();
    let round = check(&store, &mut watch, 46).await;
    assert_eq!((round.offline, round.raised, round.suppressed), (2, 1, 1));
    // A's second outage counts in its alert; B's is suppressed, and counted on the rule once.
    let alerts = offline_alerts(&store, site_a).await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        (alerts[0].count, alerts[0].first_seen, alerts[0].last_seen),
        (2, at(5), at(45))
    );
    assert_eq!(check(&store, &mut watch, 47).await.suppressed, 0);
    assert!(offline_alerts(&store, site_b).await.is_empty());
    let rules = store
        .list_exclusions(&Scope::All, Some(site_b))
        .await
        .unwrap();
    let rule = rules.items.iter().find(|r| r.id == rule.id).unwrap();
    assert_eq!(rule.suppressed, 1);
}

#[tokio::test]
async fn sqlite() {
    backends::on_sqlite(scenario).await;
}

#[tokio::test]
async fn postgres() {
    backends::on_postgres("ironward_offline", scenario).await;
}
