//! Per-site learning (migration 6): while a site learns, policy alerts arriving at ingest become
//! baseline entries (created by "learning", counted) and later repeats are suppressed by them;
//! other engines and custom rules still alert; other sites are not affected; ending learning
//! keeps the entries; every change to a site's entries moves its baseline version.

use ironward_model::AlertEngine;
use ironward_store::{IngestCounts, IngestOutcome, Scope, SensorRecord, Store, StoreError};

use crate::alerts::alert;
use crate::fixtures::{batch, sensor, t, world};
use crate::support::on_both;

async fn ingest(
    store: &Store,
    s: &SensorRecord,
    id: &str,
    alerts: Vec<ironward_model::Alert>,
    at: i64,
) -> IngestCounts {
    let mut b = batch(id, vec![]);
    b.alerts = alerts;
    match store.ingest_batch(s.id, &b, t(at)).await.unwrap() {
        IngestOutcome::Committed(c) => c,
        IngestOutcome::Duplicate => panic!("duplicate"),
    }
}

async fn learning_turns_policy_alerts_into_baseline(store: Store) {
    let w = world(&store).await;
    let sa = sensor(&store, w.site_a, w.zone_a1, "sa").await;
    let sb = sensor(&store, w.site_b, w.zone_b1, "sb").await;

    // A site created with learning, and one started by hand.
    let c = store
        .create_site_learning("Plant C", t(0), Some(t(500)))
        .await
        .unwrap();
    let state = store.site_learning(&Scope::All, c.id).await.unwrap();
    assert_eq!(state.until, Some(t(500)));
    assert!(state.is_learning(t(499)) && !state.is_learning(t(500)));
    let fresh = store.site_learning(&Scope::All, w.site_a).await.unwrap();
    assert_eq!(
        (fresh.until, fresh.learned, fresh.baseline_version),
        (None, 0, 0)
    );
    assert!(matches!(
        store
            .set_site_learning(&Scope::Sites(vec![w.site_b]), w.site_a, t(200))
            .await,
        Err(StoreError::NotFound)
    ));
    store
        .set_site_learning(&Scope::All, w.site_a, t(200))
        .await
        .unwrap();
    assert_eq!(
        store.sensor_site_learning(sa.id).await.unwrap().until,
        Some(t(200))
    );

    let write = alert(
        "w",
        "policy.unauthorized_write",
        AlertEngine::Policy,
        "10.0.0.1",
        "10.0.0.2",
    );
    let device = alert(
        "d",
        "policy.new_device",
        AlertEngine::Policy,
        "10.0.0.7",
        "10.0.0.2",
    );
    let scan = alert(
        "s",
        "anomaly.port_scan",
        AlertEngine::Anomaly,
        "10.0.0.9",
        "10.0.0.2",
    );
    let custom = alert(
        "custom.1:x",
        "custom.1",
        AlertEngine::Policy,
        "10.0.0.1",
        "10.0.0.2",
    );
    // Site A learns at 100 s: the two policy alerts become entries; the scan and the custom
    // rule's alert are stored.
    let counts = ingest(
        &store,
        &sa,
        "a1",
        vec![write.clone(), device.clone(), scan.clone(), custom],
        100,
    )
    .await;
    assert_eq!(
        (
            counts.alerts,
            counts.alerts_learned,
            counts.alerts_suppressed
        ),
        (2, 2, 0)
    );
    let entries = store
        .list_baseline(&Scope::All, Some(w.site_a), 100, 0)
        .await
        .unwrap();
    assert_eq!(entries.total, 2);
    assert!(entries.items.iter().all(|e| e.created_by == "learning"));
    let kinds: Vec<&str> = entries.items.iter().map(|e| e.kind.as_str()).collect();
    assert!(kinds.contains(&"policy.unauthorized_write") && kinds.contains(&"policy.new_device"));
    let state = store.site_learning(&Scope::All, w.site_a).await.unwrap();
    assert_eq!((state.learned, state.baseline_version), (2, 2));

    // The same alert in site B, which does not learn, is an alert.
    let counts = ingest(&store, &sb, "b1", vec![write.clone()], 100).await;
    assert_eq!((counts.alerts, counts.alerts_learned), (1, 0));

    // After learning: the learned traffic is suppressed (by its entry), new traffic alerts.
    let mut repeat = write.clone();
    repeat.count = 4;
    let other = alert(
        "w2",
        "policy.unauthorized_write",
        AlertEngine::Policy,
        "10.0.0.5",
        "10.0.0.2",
    );
    let counts = ingest(&store, &sa, "a2", vec![repeat, other], 300).await;
    assert_eq!(
        (
            counts.alerts,
            counts.alerts_learned,
            counts.alerts_suppressed
        ),
        (1, 0, 1)
    );
    let entries = store
        .list_baseline(&Scope::All, Some(w.site_a), 100, 0)
        .await
        .unwrap();
    let learned_write = entries
        .items
        .iter()
        .find(|e| e.kind == "policy.unauthorized_write")
        .unwrap();
    assert_eq!(learned_write.suppressed, 4);
    assert_eq!(
        store
            .site_learning(&Scope::All, w.site_a)
            .await
            .unwrap()
            .baseline_version,
        2,
        "suppressing changes no entry"
    );

    // Deleting an entry moves the version; the alert is raised again.
    store
        .delete_baseline_entry(&Scope::All, learned_write.id)
        .await
        .unwrap();
    assert_eq!(
        store
            .site_learning(&Scope::All, w.site_a)
            .await
            .unwrap()
            .baseline_version,
        3
    );
    let counts = ingest(&store, &sa, "a3", vec![write], 300).await;
    assert_eq!((counts.alerts, counts.alerts_learned), (1, 0));

    // Ending learning by hand keeps the time (the site learned) and the entries.
    let ended = store
        .set_site_learning(&Scope::All, c.id, t(50))
        .await
        .unwrap();
    assert!(!ended.is_learning(t(60)));
    assert_eq!(ended.until, Some(t(50)));
}
on_both!(
    site_learning,
    super::learning_turns_policy_alerts_into_baseline
);

async fn baseline_imports_are_checked_whole_and_idempotent(store: Store) {
    use ironward_store::BaselineImport;
    let w = world(&store).await;
    let e = |kind: &str, src: &str| BaselineImport {
        kind: kind.to_owned(),
        src: src.to_owned(),
        dst: String::new(),
        protocol: String::new(),
        detail: String::new(),
    };
    let entries = [
        e("policy.new_device", "10.0.0.1"),
        e("policy.new_device", "::ffff:10.0.0.2"),
        e("policy.new_device", "10.0.0.1"),
    ];
    let n = store
        .import_baseline(&Scope::All, w.site_a, &entries, "import", t(5))
        .await
        .unwrap();
    assert_eq!(n, 2, "a repeat within the request is one entry");
    let again = store
        .import_baseline(&Scope::All, w.site_a, &entries, "import", t(6))
        .await
        .unwrap();
    assert_eq!(again, 0);
    let state = store.site_learning(&Scope::All, w.site_a).await.unwrap();
    assert_eq!(state.baseline_version, 2);
    let listed = store
        .list_baseline(&Scope::All, Some(w.site_a), 10, 0)
        .await
        .unwrap();
    assert_eq!(listed.items[0].detail, "policy.new_device");
    assert_eq!(listed.items[1].src, "::ffff:10.0.0.2");
    assert!(matches!(
        store
            .import_baseline(
                &Scope::All,
                w.site_b,
                &[e("policy.new_device", "10.1.0.1"), e("policy.x", "nope")],
                "import",
                t(7),
            )
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        store
            .list_baseline(&Scope::All, Some(w.site_b), 10, 0)
            .await
            .unwrap()
            .total,
        0,
        "nothing of a refused import is written"
    );
    assert!(matches!(
        store
            .import_baseline(
                &Scope::Sites(vec![w.site_a]),
                w.site_b,
                &entries,
                "import",
                t(7)
            )
            .await,
        Err(StoreError::NotFound)
    ));
}
on_both!(
    baseline_import,
    super::baseline_imports_are_checked_whole_and_idempotent
);
