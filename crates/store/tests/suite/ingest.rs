//! Enrolment and ingest: one-time tokens, idempotent batches, merging, rollback.

use ironward_model::MacAddress;
use ironward_store::{
    ConnectionQuery, DeviceQuery, EventQuery, IngestOutcome, Scope, Store, StoreError,
};

use crate::fixtures::{batch, connection, device, event, fact, sensor, t, world};
use crate::support::on_both;

async fn enrolment_is_one_time_and_expires(store: Store) {
    let w = world(&store).await;
    let token = store
        .create_enrollment_token(&Scope::All, w.zone_a1, "s1", t(60), None, t(0))
        .await
        .unwrap();
    let (sensor, credential) = store.enroll(&token, t(10)).await.unwrap();
    assert_eq!(sensor.name, "s1");
    assert_eq!(sensor.site, "Plant A");
    assert_eq!(sensor.zone, "A1");
    assert_eq!(sensor.last_seen, None);
    // A second use of the same token fails, and so does a wrong one.
    assert!(matches!(
        store.enroll(&token, t(11)).await,
        Err(StoreError::Unauthorized)
    ));
    assert!(matches!(
        store.enroll("nope", t(11)).await,
        Err(StoreError::Unauthorized)
    ));
    // The credential authenticates; anything else does not.
    assert_eq!(
        store.authenticate_sensor(&credential).await.unwrap().id,
        sensor.id
    );
    assert!(matches!(
        store.authenticate_sensor(&token).await,
        Err(StoreError::Unauthorized)
    ));
    // An expired token is refused.
    let late = store
        .create_enrollment_token(&Scope::All, w.zone_a1, "s2", t(60), None, t(0))
        .await
        .unwrap();
    assert!(matches!(
        store.enroll(&late, t(60)).await,
        Err(StoreError::Unauthorized)
    ));
    // A zone outside the caller's scope is not found.
    assert!(matches!(
        store
            .create_enrollment_token(
                &Scope::Sites(vec![w.site_b]),
                w.zone_a1,
                "s3",
                t(60),
                None,
                t(0)
            )
            .await,
        Err(StoreError::NotFound)
    ));
    // Sensors are listed within scope, and a site with sensors cannot be deleted.
    assert_eq!(store.list_sensors(&Scope::All).await.unwrap().len(), 1);
    assert!(store
        .list_sensors(&Scope::Sites(vec![w.site_b]))
        .await
        .unwrap()
        .is_empty());
    assert!(matches!(
        store.delete_site(&Scope::All, w.site_a).await,
        Err(StoreError::Conflict(_))
    ));
}
on_both!(enrolment, super::enrolment_is_one_time_and_expires);

async fn ingest_is_idempotent(store: Store) {
    let w = world(&store).await;
    let s = sensor(&store, w.site_a, w.zone_a1, "s1").await;
    let mut b = batch(
        "b1",
        vec![device("10.0.0.1", 0, 10), device("10.0.0.2", 0, 10)],
    );
    b.connections
        .push(connection("10.0.0.1", "10.0.0.2", 502, 10, 0, 10));
    b.events
        .push(event("10.0.0.1", "10.0.0.2", "unit 1", 4, 0, 10));
    let IngestOutcome::Committed(counts) = store.ingest_batch(s.id, &b, t(100)).await.unwrap()
    else {
        panic!("first delivery must commit");
    };
    assert_eq!(counts.devices_created, 2);
    assert_eq!(counts.connections, 1);
    assert_eq!(counts.events, 1);
    assert_eq!(
        store.ingest_batch(s.id, &b, t(101)).await.unwrap(),
        IngestOutcome::Duplicate
    );
    let devices = store
        .list_devices(&DeviceQuery::new(Scope::All))
        .await
        .unwrap();
    assert_eq!(devices.total, 2);
    let conns = store
        .list_connections(&ConnectionQuery::new(Scope::All))
        .await
        .unwrap();
    assert_eq!((conns.total, conns.items[0].packets), (1, 10));
    let events = store
        .list_events(&EventQuery::new(Scope::All))
        .await
        .unwrap();
    assert_eq!((events.total, events.items[0].count), (1, 4));
    // The sensor was marked seen with its health, by the first delivery only.
    let s = store.get_sensor(&Scope::All, s.id).await.unwrap();
    assert_eq!(s.last_seen, Some(t(100)));
    let health = s.health.unwrap();
    assert_eq!(
        (health.packets, health.drops, health.packets_per_second),
        (1_000, 3, 12.5)
    );
    // The same batch id from another sensor is a different batch.
    let s2 = sensor(&store, w.site_a, w.zone_a1, "s2").await;
    assert!(matches!(
        store.ingest_batch(s2.id, &b, t(102)).await.unwrap(),
        IngestOutcome::Committed(_)
    ));
    let conns = store
        .list_connections(&ConnectionQuery::new(Scope::All))
        .await
        .unwrap();
    assert_eq!((conns.total, conns.items[0].packets), (1, 20));
}
on_both!(idempotent_ingest, super::ingest_is_idempotent);

async fn two_sensors_of_a_zone_see_one_device(store: Store) {
    let w = world(&store).await;
    let s1 = sensor(&store, w.site_a, w.zone_a1, "s1").await;
    let s2 = sensor(&store, w.site_a, w.zone_a1, "s2").await;
    let mut d1 = device("10.0.0.5", 10, 20);
    d1.vendor = Some("Siemens".to_owned());
    d1.firmware = Some("V2.0".to_owned());
    d1.hostnames = vec!["plc-1".to_owned()];
    d1.facts.push(fact("vendor", "Siemens", "oui", 50));
    d1.facts.push(fact("firmware", "V2.0", "s7comm", 90));
    store
        .ingest_batch(s1.id, &batch("a", vec![d1]), t(100))
        .await
        .unwrap();

    let mut d2 = device("10.0.0.5", 5, 30);
    d2.mac = Some("00:1b:1b:01:02:03".parse::<MacAddress>().unwrap());
    d2.firmware = Some("V2.1".to_owned());
    d2.ips.push("10.0.1.5".parse().unwrap());
    d2.facts.push(fact("vendor", "Siemens", "oui", 70));
    d2.facts.push(fact("firmware", "V2.1", "s7comm", 90));
    store
        .ingest_batch(s2.id, &batch("b", vec![d2]), t(200))
        .await
        .unwrap();

    let page = store
        .list_devices(&DeviceQuery::new(Scope::All))
        .await
        .unwrap();
    assert_eq!(page.total, 1);
    let row = &page.items[0];
    assert_eq!(row.sensor.as_deref(), Some("s2"));
    let d = &row.device;
    assert_eq!(
        d.vendor.as_deref(),
        Some("Siemens"),
        "kept where the new batch has none"
    );
    assert_eq!(
        d.firmware.as_deref(),
        Some("V2.1"),
        "the incoming value wins"
    );
    assert_eq!(d.hostnames, ["plc-1"]);
    assert_eq!(d.ips.len(), 2, "addresses unioned");
    assert_eq!((d.first_seen, d.last_seen), (t(5), t(30)));
    let detail = store.get_device(&Scope::All, row.id).await.unwrap();
    let vendor: Vec<_> = detail
        .facts
        .iter()
        .filter(|f| f.attribute == "vendor")
        .collect();
    assert_eq!(
        vendor.len(),
        1,
        "same attribute, value and source is one fact"
    );
    assert_eq!(vendor[0].confidence, 70);
    assert_eq!((vendor[0].first_seen, vendor[0].last_seen), (t(5), t(30)));
    assert_eq!(
        detail
            .facts
            .iter()
            .filter(|f| f.attribute == "firmware")
            .count(),
        2
    );
    let changes: Vec<(&str, Option<&str>, Option<&str>)> = detail
        .history
        .iter()
        .map(|h| {
            (
                h.attribute.as_str(),
                h.old_value.as_deref(),
                h.new_value.as_deref(),
            )
        })
        .collect();
    for expected in [
        ("vendor", None, Some("Siemens")),
        ("firmware", None, Some("V2.0")),
        ("firmware", Some("V2.0"), Some("V2.1")),
        ("hostname", None, Some("plc-1")),
        ("ip", None, Some("10.0.0.5")),
        ("ip", None, Some("10.0.1.5")),
        ("mac", None, Some("00:1b:1b:01:02:03")),
    ] {
        assert!(
            changes.contains(&expected),
            "{expected:?} missing from {changes:?}"
        );
    }
    assert_eq!(changes.len(), 7, "{changes:?}");
    // Reporting the same values again adds no history.
    let mut again = device("10.0.0.5", 40, 50);
    again.firmware = Some("V2.1".to_owned());
    store
        .ingest_batch(s1.id, &batch("c", vec![again]), t(300))
        .await
        .unwrap();
    let detail = store.get_device(&Scope::All, row.id).await.unwrap();
    assert_eq!(detail.history.len(), 7);
    assert_eq!(detail.row.device.last_seen, t(50));
}
on_both!(
    one_device_per_zone,
    super::two_sensors_of_a_zone_see_one_device
);

async fn sensors_in_different_zones_see_two_devices(store: Store) {
    let w = world(&store).await;
    let s1 = sensor(&store, w.site_a, w.zone_a1, "s1").await;
    let s2 = sensor(&store, w.site_a, w.zone_a2, "s2").await;
    store
        .ingest_batch(s1.id, &batch("x", vec![device("10.0.0.9", 0, 1)]), t(100))
        .await
        .unwrap();
    store
        .ingest_batch(s2.id, &batch("x", vec![device("10.0.0.9", 0, 1)]), t(100))
        .await
        .unwrap();
    let page = store
        .list_devices(&DeviceQuery::new(Scope::All))
        .await
        .unwrap();
    assert_eq!(page.total, 2);
    let mut zones: Vec<&str> = page.items.iter().map(|r| r.zone.as_str()).collect();
    zones.sort_unstable();
    assert_eq!(zones, ["A1", "A2"]);
}
on_both!(
    one_device_per_zone_only,
    super::sensors_in_different_zones_see_two_devices
);

async fn counters_add_up_and_times_widen(store: Store) {
    let w = world(&store).await;
    let s = sensor(&store, w.site_a, w.zone_a1, "s1").await;
    let mut b1 = batch("1", vec![]);
    b1.connections
        .push(connection("10.0.0.1", "10.0.0.2", 502, 10, 10, 20));
    b1.events
        .push(event("10.0.0.1", "10.0.0.2", "unit 1", 3, 10, 20));
    b1.events
        .push(event("10.0.0.1", "10.0.0.2", "unit 2", 1, 10, 20));
    let mut b2 = batch("2", vec![]);
    b2.connections
        .push(connection("10.0.0.1", "10.0.0.2", 502, 5, 5, 15));
    b2.connections
        .push(connection("10.0.0.1", "10.0.0.2", 503, 1, 5, 15));
    b2.events
        .push(event("10.0.0.1", "10.0.0.2", "unit 1", 2, 30, 40));
    let mut huge = connection("10.0.0.1", "10.0.0.2", 502, u64::MAX, 5, 15);
    huge.bytes = u64::MAX;
    let mut b3 = batch("3", vec![]);
    b3.connections.push(huge.clone());
    b3.connections.push(huge);
    store.ingest_batch(s.id, &b1, t(100)).await.unwrap();
    store.ingest_batch(s.id, &b2, t(100)).await.unwrap();
    let mut q = ConnectionQuery::new(Scope::All);
    let conns = store.list_connections(&q).await.unwrap();
    assert_eq!(conns.total, 2);
    let c = conns.items.iter().find(|c| c.port == Some(502)).unwrap();
    assert_eq!((c.packets, c.bytes, c.flows), (15, 1500, 2));
    assert_eq!((c.first_seen, c.last_seen), (t(5), t(20)));
    assert_eq!(c.protocol.as_deref(), Some("modbus"));
    let events = store
        .list_events(&EventQuery::new(Scope::All))
        .await
        .unwrap();
    assert_eq!(events.total, 2);
    let e = events.items.iter().find(|e| e.detail == "unit 1").unwrap();
    assert_eq!((e.count, e.first_seen, e.last_seen), (5, t(10), t(40)));
    assert_eq!(e.category, "write");
    // Counters saturate instead of overflowing on either backend.
    store.ingest_batch(s.id, &b3, t(100)).await.unwrap();
    q.protocol = Some("modbus".to_owned());
    let conns = store.list_connections(&q).await.unwrap();
    let c = conns.items.iter().find(|c| c.port == Some(502)).unwrap();
    assert_eq!(c.packets, 1 << 62);
}
on_both!(upsert_arithmetic, super::counters_add_up_and_times_widen);

async fn a_failing_batch_writes_nothing(store: Store) {
    let w = world(&store).await;
    let s = sensor(&store, w.site_a, w.zone_a1, "s1").await;
    let mut b = batch(
        "bad",
        vec![device("10.0.0.1", 0, 1), device("10.0.0.2", 0, 1)],
    );
    b.connections
        .push(connection("10.0.0.1", "10.0.0.2", 502, 10, 0, 1));
    // The third device's key violates the schema's CHECK midway through the batch.
    let mut bogus = device("10.0.0.3", 0, 1);
    bogus.id.0 = "bogus:1".to_owned();
    b.devices.push(bogus);
    assert!(matches!(
        store.ingest_batch(s.id, &b, t(100)).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        store
            .list_devices(&DeviceQuery::new(Scope::All))
            .await
            .unwrap()
            .total,
        0
    );
    assert_eq!(
        store
            .list_connections(&ConnectionQuery::new(Scope::All))
            .await
            .unwrap()
            .total,
        0
    );
    assert_eq!(
        store.get_sensor(&Scope::All, s.id).await.unwrap().last_seen,
        None
    );
    // The batch id was not recorded: the corrected batch commits under the same id.
    b.devices.pop();
    assert!(matches!(
        store.ingest_batch(s.id, &b, t(100)).await.unwrap(),
        IngestOutcome::Committed(_)
    ));
    // A malformed batch is refused before anything is written.
    let mut invalid = batch("", vec![]);
    invalid.id.clear();
    assert!(matches!(
        store.ingest_batch(s.id, &invalid, t(100)).await,
        Err(StoreError::Invalid(_))
    ));
}
on_both!(rollback, super::a_failing_batch_writes_nothing);
