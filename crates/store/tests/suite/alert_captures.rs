//! Alert captures: stored in the ingest transaction with their alert (first one kept, none for
//! unknown or suppressed alerts), read back by alert id within the caller's site scope.

use ironward_model::{AlertCapture, AlertEngine};
use ironward_store::{AlertQuery, ExclusionSpec, Scope, Store, StoreError};

use crate::alerts::alert;
use crate::fixtures::{batch, sensor, t, world};
use crate::support::on_both;

fn pcap(tag: u8) -> Vec<u8> {
    let mut bytes = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
    bytes.resize(24, 0);
    bytes.extend([tag; 40]);
    bytes
}

fn capture(key: &str, tag: u8) -> AlertCapture {
    AlertCapture {
        alert_id: key.to_owned(),
        pcap: pcap(tag),
    }
}

async fn alert_id(store: &Store, key: &str) -> ironward_store::AlertId {
    store
        .query_alerts(&AlertQuery::new(Scope::All))
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|a| a.key.as_deref() == Some(key))
        .unwrap_or_else(|| panic!("no alert {key}"))
        .id
}

async fn captures_are_kept_once_per_stored_alert_and_scoped(store: Store) {
    let w = world(&store).await;
    let sa = sensor(&store, w.site_a, w.zone_a1, "sa").await;
    let sb = sensor(&store, w.site_b, w.zone_b1, "sb").await;
    let x = alert(
        "x",
        "malware.s7_plc_stop",
        AlertEngine::Malware,
        "10.0.0.1",
        "10.0.0.2",
    );
    let y = alert(
        "y",
        "anomaly.port_scan",
        AlertEngine::Anomaly,
        "10.0.0.9",
        "10.0.0.2",
    );

    // The capture travels with its alert; one for an alert the console does not hold is dropped.
    let mut b = batch("b1", vec![]);
    b.alerts = vec![x.clone(), y.clone()];
    b.alert_captures = vec![capture("x", 1), capture("nobody", 2)];
    store.ingest_batch(sa.id, &b, t(100)).await.unwrap();
    let (xa, ya) = (alert_id(&store, "x").await, alert_id(&store, "y").await);
    assert_eq!(store.alert_pcap(&Scope::All, xa).await.unwrap(), pcap(1));
    assert_eq!(
        store.alert_pcap_size(&Scope::All, xa).await.unwrap(),
        Some(pcap(1).len() as u64)
    );
    assert!(matches!(
        store.alert_pcap(&Scope::All, ya).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.alert_pcap_size(&Scope::All, ya).await.unwrap(), None);

    // The first capture of an alert stays; a later one fills only an alert without one.
    let mut b = batch("b2", vec![]);
    b.alerts = vec![x.clone(), y.clone()];
    b.alert_captures = vec![capture("x", 3), capture("y", 4)];
    store.ingest_batch(sa.id, &b, t(200)).await.unwrap();
    assert_eq!(store.alert_pcap(&Scope::All, xa).await.unwrap(), pcap(1));
    assert_eq!(store.alert_pcap(&Scope::All, ya).await.unwrap(), pcap(4));

    // Site scope: exactly like the alert itself.
    let only_a = Scope::Sites(vec![w.site_a]);
    let only_b = Scope::Sites(vec![w.site_b]);
    assert_eq!(store.alert_pcap(&only_a, xa).await.unwrap(), pcap(1));
    assert!(matches!(
        store.alert_pcap(&only_b, xa).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.alert_pcap_size(&only_b, xa).await.unwrap(), None);
    assert!(matches!(
        store.alert_pcap(&Scope::Sites(vec![]), xa).await,
        Err(StoreError::NotFound)
    ));

    // Another site's sensor naming the same alert key stores its capture with its own alert.
    let mut b = batch("b3", vec![]);
    b.alerts = vec![x.clone()];
    b.alert_captures = vec![capture("x", 5)];
    store.ingest_batch(sb.id, &b, t(300)).await.unwrap();
    let xb = store
        .query_alerts(&AlertQuery::new(only_b.clone()))
        .await
        .unwrap()
        .items[0]
        .id;
    assert_ne!(xb, xa);
    assert_eq!(store.alert_pcap(&only_b, xb).await.unwrap(), pcap(5));
    assert_eq!(store.alert_pcap(&only_a, xa).await.unwrap(), pcap(1));

    // A suppressed alert is not stored, and neither is its capture.
    store
        .create_exclusion(
            &Scope::All,
            &ExclusionSpec {
                site_id: w.site_a,
                name: "scans are expected".into(),
                device_key: None,
                subnet: None,
                kind: Some("anomaly.sweep".into()),
                engine: None,
                sensor_id: None,
                weekdays: vec![],
                hour_from: None,
                hour_to: None,
            },
            "admin",
            t(300),
        )
        .await
        .unwrap();
    let z = alert(
        "z",
        "anomaly.sweep",
        AlertEngine::Anomaly,
        "10.0.0.7",
        "10.0.0.2",
    );
    let mut b = batch("b4", vec![]);
    b.alerts = vec![z];
    b.alert_captures = vec![capture("z", 6)];
    store.ingest_batch(sa.id, &b, t(400)).await.unwrap();
    let keys: Vec<Option<String>> = store
        .query_alerts(&AlertQuery::new(Scope::All))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|a| a.key)
        .collect();
    assert!(!keys.contains(&Some("z".to_owned())), "{keys:?}");
    assert_eq!(
        store
            .query_alerts(&AlertQuery::new(Scope::All))
            .await
            .unwrap()
            .total,
        3
    );
}

on_both!(
    kept_once_and_scoped,
    super::captures_are_kept_once_per_stored_alert_and_scoped
);
