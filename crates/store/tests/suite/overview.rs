//! Overview counts and lookups: summary, alert counts, facets, key resolution, map edges, all
//! within the scope.

use ironward_store::{AlertRecord, DeviceQuery, Scope, Store};

use crate::fixtures::{batch, connection, device, sensor, t, world};
use crate::support::on_both;

async fn overview_counts_and_lookups_stay_in_scope(store: Store) {
    let w = world(&store).await;
    let sa = sensor(&store, w.site_a, w.zone_a1, "sa").await;
    let sb = sensor(&store, w.site_b, w.zone_b1, "sb").await;
    let mut plc = device("10.0.0.1", 0, 50);
    plc.device_type = Some("plc".to_owned());
    plc.vendor = Some("Siemens".to_owned());
    plc.protocols.server = vec!["modbus".to_owned()];
    let mut ba = batch("1", vec![plc, device("10.0.0.2", 40, 50)]);
    ba.connections
        .push(connection("10.0.0.2", "10.0.0.1", 502, 7, 0, 1));
    ba.connections
        .push(connection("10.0.0.2", "10.0.0.1", 502, 3, 0, 1));
    let mut bb = batch(
        "1",
        vec![device("10.9.0.1", 0, 1), device("10.9.0.2", 0, 1)],
    );
    bb.connections
        .push(connection("10.9.0.1", "10.9.0.2", 502, 1, 0, 1));
    store.ingest_batch(sa.id, &ba, t(60)).await.unwrap();
    store.ingest_batch(sb.id, &bb, t(60)).await.unwrap();
    for (site, severity) in [(w.site_a, "high"), (w.site_a, "high"), (w.site_b, "low")] {
        store
            .insert_alert(&AlertRecord {
                id: ironward_store::AlertId(0),
                site_id: site,
                zone_id: None,
                engine: "policy".to_owned(),
                title: "t".to_owned(),
                severity: severity.to_owned(),
                status: "open".to_owned(),
                devices: vec![],
                first_seen: t(1),
                last_seen: t(1),
                count: 1,
                payload: serde_json::json!({}),
            })
            .await
            .unwrap();
    }

    let only_a = Scope::Sites(vec![w.site_a]);
    let s = store.inventory_summary(&only_a, t(30), t(0)).await.unwrap();
    assert_eq!((s.total, s.new_day, s.new_week), (2, 1, 2));
    assert_eq!(s.by_site.len(), 1);
    assert_eq!(s.by_site[0].2, 2);
    assert!(s.by_type.contains(&(Some("plc".to_owned()), 1)));
    assert!(s.by_type.contains(&(None, 1)));
    let all = store
        .inventory_summary(&Scope::All, t(30), t(0))
        .await
        .unwrap();
    assert_eq!(all.total, 4);
    assert_eq!(all.by_site.len(), 2);
    let none = store
        .inventory_summary(&Scope::Sites(vec![]), t(30), t(0))
        .await
        .unwrap();
    assert_eq!(none.total, 0);

    assert_eq!(
        store.alert_counts_by_severity(&only_a).await.unwrap(),
        vec![("high".to_owned(), 2)]
    );
    let facets = store.device_facets(&only_a).await.unwrap();
    assert_eq!(facets.types, vec!["plc".to_owned()]);
    assert_eq!(facets.vendors, vec!["Siemens".to_owned()]);
    assert_eq!(facets.protocols, vec!["modbus".to_owned()]);

    let a_devices = store
        .list_devices(&DeviceQuery::new(Scope::All))
        .await
        .unwrap()
        .items;
    let keys: Vec<_> = a_devices
        .iter()
        .map(|d| (d.zone_id, d.device.id.0.clone()))
        .collect();
    let refs = store.device_refs(&only_a, &keys).await.unwrap();
    assert_eq!(refs.len(), 2);
    assert!(refs.iter().all(|((zone, _), _)| *zone == w.zone_a1));
    assert!(store.device_refs(&only_a, &[]).await.unwrap().is_empty());
    // Long lookups over many zones stay within the database's expression limits; keys past
    // the bound are ignored.
    let mut many = keys.clone();
    for i in 0..1_500i64 {
        many.push((
            ironward_store::ZoneId(1_000 + i % 300),
            format!("ip:192.0.2.{i}"),
        ));
    }
    assert_eq!(
        store.device_refs(&Scope::All, &many).await.unwrap().len(),
        4
    );

    let ids: Vec<_> = a_devices.iter().map(|d| d.id).collect();
    let edges = store.map_edges(&only_a, &ids, None, 100).await.unwrap();
    assert_eq!(edges.len(), 1);
    assert_eq!(edges[0].packets, 10);
    assert_eq!(edges[0].protocol.as_deref(), Some("modbus"));
    let all_edges = store.map_edges(&Scope::All, &ids, None, 100).await.unwrap();
    assert_eq!(all_edges.len(), 2);
    assert!(store
        .map_edges(&Scope::All, &ids, Some("s7comm"), 100)
        .await
        .unwrap()
        .is_empty());
}
on_both!(
    overview_counts,
    super::overview_counts_and_lookups_stay_in_scope
);

/// The two-step inventory page returns exactly what `list_devices` returns, for every sort,
/// both directions, filters, pages and scopes.
async fn inventory_page_matches_list_devices(store: Store) {
    use ironward_store::DeviceSort;
    let w = world(&store).await;
    let sa = sensor(&store, w.site_a, w.zone_a1, "sa").await;
    let sb = sensor(&store, w.site_b, w.zone_b1, "sb").await;
    let mut devices = Vec::new();
    for i in 0..12u8 {
        let mut d = device(
            &format!("10.0.{}.{}", i % 3, 20 - i),
            i64::from(i),
            100 - i64::from(i % 4),
        );
        if i % 3 != 0 {
            d.vendor = Some(["Siemens", "ABB"][usize::from(i % 2)].to_owned());
            d.device_type = Some("plc".to_owned());
        }
        d.hostnames = if i % 4 == 0 {
            vec![format!("h{}", i % 5)]
        } else {
            vec![]
        };
        devices.push(d);
    }
    let (a, b) = devices.split_at(8);
    store
        .ingest_batch(sa.id, &batch("1", a.to_vec()), t(200))
        .await
        .unwrap();
    store
        .ingest_batch(sb.id, &batch("1", b.to_vec()), t(200))
        .await
        .unwrap();
    let sorts = [
        DeviceSort::Name,
        DeviceSort::Ip,
        DeviceSort::Vendor,
        DeviceSort::Type,
        DeviceSort::Model,
        DeviceSort::Firmware,
        DeviceSort::LastSeen,
        DeviceSort::FirstSeen,
        DeviceSort::Site,
    ];
    for scope in [
        Scope::All,
        Scope::Sites(vec![w.site_a]),
        Scope::Sites(vec![]),
    ] {
        for sort in sorts {
            for descending in [false, true] {
                for (offset, limit) in [(0, 100), (0, 5), (5, 5), (11, 5)] {
                    for vendor in [None, Some("ABB")] {
                        let mut q = DeviceQuery::new(scope.clone());
                        q.sort = sort;
                        q.descending = descending;
                        q.offset = offset;
                        q.limit = limit;
                        q.vendor = vendor.map(str::to_owned);
                        let expected = store.list_devices(&q).await.unwrap();
                        let got = store.inventory_page(&q).await.unwrap();
                        assert_eq!(got.total, expected.total, "{q:?}");
                        let ids = |p: &ironward_store::Page<ironward_store::DeviceRow>| {
                            p.items.iter().map(|r| r.id).collect::<Vec<_>>()
                        };
                        assert_eq!(ids(&got), ids(&expected), "{q:?}");
                    }
                }
            }
        }
    }
}
on_both!(inventory_page, super::inventory_page_matches_list_devices);
