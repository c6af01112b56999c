//! Device lists: scope, filters, sort, paging, search, totals.

use ironward_store::{
    ConnectionQuery, DeviceQuery, DeviceSort, EventQuery, Scope, Store, StoreError,
};

use crate::fixtures::{batch, connection, device, event, sensor, t, world};
use crate::support::on_both;

async fn scope_filters_every_read(store: Store) {
    let w = world(&store).await;
    let sa = sensor(&store, w.site_a, w.zone_a1, "sa").await;
    let sb = sensor(&store, w.site_b, w.zone_b1, "sb").await;
    let mut ba = batch(
        "1",
        vec![device("10.0.0.1", 0, 1), device("10.0.0.2", 0, 1)],
    );
    ba.connections
        .push(connection("10.0.0.1", "10.0.0.2", 502, 1, 0, 1));
    ba.events.push(event("10.0.0.1", "10.0.0.2", "a", 1, 0, 1));
    let mut bb = batch("1", vec![device("10.9.0.1", 0, 1)]);
    bb.connections
        .push(connection("10.9.0.1", "10.9.0.2", 502, 1, 0, 1));
    bb.events.push(event("10.9.0.1", "10.9.0.2", "b", 1, 0, 1));
    store.ingest_batch(sa.id, &ba, t(10)).await.unwrap();
    store.ingest_batch(sb.id, &bb, t(10)).await.unwrap();

    let only_a = Scope::Sites(vec![w.site_a]);
    let devices = store
        .list_devices(&DeviceQuery::new(only_a.clone()))
        .await
        .unwrap();
    assert_eq!(devices.total, 2);
    assert!(devices.items.iter().all(|d| d.site_id == w.site_a));
    // Search and filters cannot reach outside the scope either.
    let mut q = DeviceQuery::new(only_a.clone());
    q.text = Some("10.9.".to_owned());
    assert_eq!(store.list_devices(&q).await.unwrap().total, 0);
    q.text = None;
    q.site = Some(w.site_b);
    assert_eq!(store.list_devices(&q).await.unwrap().total, 0);
    let b_device = store
        .list_devices(&DeviceQuery::new(Scope::Sites(vec![w.site_b])))
        .await
        .unwrap()
        .items[0]
        .id;
    assert!(matches!(
        store.get_device(&only_a, b_device).await,
        Err(StoreError::NotFound)
    ));
    assert!(store.get_device(&Scope::All, b_device).await.is_ok());
    let conns = store
        .list_connections(&ConnectionQuery::new(only_a.clone()))
        .await
        .unwrap();
    assert_eq!(conns.total, 1);
    assert_eq!(conns.items[0].site_id, w.site_a);
    let mut cq = ConnectionQuery::new(only_a.clone());
    cq.device = Some(b_device);
    assert!(matches!(
        store.list_connections(&cq).await,
        Err(StoreError::NotFound)
    ));
    let events = store
        .list_events(&EventQuery::new(only_a.clone()))
        .await
        .unwrap();
    assert_eq!((events.total, events.items[0].detail.as_str()), (1, "a"));
    assert_eq!(store.list_sensors(&only_a).await.unwrap().len(), 1);
    assert!(matches!(
        store.get_sensor(&only_a, sb.id).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.list_zones(&only_a, None).await.unwrap().len(), 2);
    assert!(matches!(
        store.get_zone(&only_a, w.zone_b1).await,
        Err(StoreError::NotFound)
    ));
    // No sites at all sees nothing.
    let none = Scope::Sites(vec![]);
    assert_eq!(
        store
            .list_devices(&DeviceQuery::new(none.clone()))
            .await
            .unwrap()
            .total,
        0
    );
    assert_eq!(
        store
            .list_events(&EventQuery::new(none))
            .await
            .unwrap()
            .total,
        0
    );
    // Per-device connection and event lists.
    let a_device = devices
        .items
        .iter()
        .find(|d| d.device.id.0 == "ip:10.0.0.1")
        .unwrap()
        .id;
    cq.device = Some(a_device);
    assert_eq!(store.list_connections(&cq).await.unwrap().total, 1);
    let mut eq = EventQuery::new(only_a);
    eq.device = Some(a_device);
    eq.category = Some("write".to_owned());
    assert_eq!(store.list_events(&eq).await.unwrap().total, 1);
    eq.category = Some("read".to_owned());
    assert_eq!(store.list_events(&eq).await.unwrap().total, 0);
}
on_both!(scope, super::scope_filters_every_read);

async fn filters_sort_paging_and_search(store: Store) {
    let w = world(&store).await;
    let s = sensor(&store, w.site_a, w.zone_a1, "s").await;
    let mut devices = Vec::new();
    for i in 0..25u8 {
        let mut d = device(
            &format!("10.0.0.{}", 100 - i),
            i64::from(i),
            i64::from(i) + 100,
        );
        d.vendor = Some(if i % 2 == 0 { "Siemens" } else { "Rockwell" }.to_owned());
        d.device_type = Some(if i % 5 == 0 { "plc" } else { "hmi" }.to_owned());
        if i % 3 == 0 {
            d.protocols.server = vec!["s7comm".to_owned()];
        }
        if i == 7 {
            d.hostnames = vec!["Boiler-Room_HMI".to_owned()];
        }
        devices.push(d);
    }
    store
        .ingest_batch(s.id, &batch("1", devices), t(200))
        .await
        .unwrap();

    let mut q = DeviceQuery::new(Scope::All);
    q.limit = 10;
    let first = store.list_devices(&q).await.unwrap();
    assert_eq!((first.total, first.items.len()), (25, 10));
    assert_eq!(
        first.items[0].device.last_seen,
        t(124),
        "most recent first by default"
    );
    q.offset = 20;
    let last = store.list_devices(&q).await.unwrap();
    assert_eq!(last.items.len(), 5);
    assert_eq!(last.items[4].device.last_seen, t(100));

    let mut q = DeviceQuery::new(Scope::All);
    q.sort = DeviceSort::Ip;
    q.descending = false;
    let by_ip = store.list_devices(&q).await.unwrap();
    let ips: Vec<String> = by_ip
        .items
        .iter()
        .map(|r| r.device.ips[0].to_string())
        .collect();
    assert_eq!(ips[0], "10.0.0.76");
    assert_eq!(ips[24], "10.0.0.100", "numeric, not text, order");

    let mut q = DeviceQuery::new(Scope::All);
    q.vendor = Some("Siemens".to_owned());
    assert_eq!(store.list_devices(&q).await.unwrap().total, 13);
    q.device_type = Some("plc".to_owned());
    assert_eq!(store.list_devices(&q).await.unwrap().total, 3);
    let mut q = DeviceQuery::new(Scope::All);
    q.protocol = Some("s7comm".to_owned());
    assert_eq!(store.list_devices(&q).await.unwrap().total, 9);
    q.protocol = Some("s7".to_owned());
    assert_eq!(
        store.list_devices(&q).await.unwrap().total,
        0,
        "whole names only"
    );
    let mut q = DeviceQuery::new(Scope::All);
    q.seen_since = Some(t(120));
    assert_eq!(store.list_devices(&q).await.unwrap().total, 5);
    let mut q = DeviceQuery::new(Scope::All);
    q.text = Some("boiler-room".to_owned());
    let found = store.list_devices(&q).await.unwrap();
    assert_eq!(found.total, 1);
    assert_eq!(found.items[0].device.hostnames, ["Boiler-Room_HMI"]);
    q.text = Some("room_h".to_owned());
    assert_eq!(
        store.list_devices(&q).await.unwrap().total,
        1,
        "_ is literal"
    );
    q.text = Some("room%h".to_owned());
    assert_eq!(
        store.list_devices(&q).await.unwrap().total,
        0,
        "% is literal"
    );
    q.text = Some("ROCKWELL".to_owned());
    assert_eq!(store.list_devices(&q).await.unwrap().total, 12);

    let mut q = DeviceQuery::new(Scope::All);
    q.sort = DeviceSort::Name;
    q.descending = false;
    q.limit = 1;
    let top = store.list_devices(&q).await.unwrap();
    assert_eq!(top.items[0].device.ips[0].to_string(), "10.0.0.100");
    q.sort = DeviceSort::Vendor;
    q.limit = 100_000;
    let all = store.list_devices(&q).await.unwrap();
    assert_eq!(all.items.len(), 25, "limits are bounded, not refused");
    assert_eq!(all.items[0].device.vendor.as_deref(), Some("Rockwell"));
    for sort in [
        DeviceSort::Type,
        DeviceSort::Model,
        DeviceSort::Firmware,
        DeviceSort::FirstSeen,
        DeviceSort::Site,
    ] {
        q.sort = sort;
        assert_eq!(store.list_devices(&q).await.unwrap().items.len(), 25);
    }
}
on_both!(device_queries, super::filters_sort_paging_and_search);
