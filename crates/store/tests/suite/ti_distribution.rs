//! Threat-intelligence package distribution (migration 8): a package applied to sites reaches
//! the sensors of those sites only, a new one replaces a site's, sites outside the caller's
//! scope and unknown packages change nothing, and each sensor's state weighs what it reported
//! against its site's package.

use ironward_store::{
    NewPackage, PackageCounts, PackageId, Scope, SiteId, Store, StoreError, TiStatusReport,
};

use crate::fixtures::{sensor, t, world};
use crate::support::on_both;

async fn package(store: &Store, sequence: u64) -> PackageId {
    store
        .insert_package(&NewPackage {
            file_name: &format!("ironward-ti-{sequence}.pkg"),
            sequence,
            built_at: "2026-01-01T00:00:00Z",
            key_id: "0011223344556677",
            counts: PackageCounts::default(),
            uploaded_by: "root",
            uploaded_at: t(10),
            bytes: b"signed bytes",
        })
        .await
        .unwrap()
}

fn report<'a>(sequence: Option<i64>, state: &'a str, error: Option<&'a str>) -> TiStatusReport<'a> {
    TiStatusReport {
        sequence,
        package_name: None,
        state,
        error,
        key_id: Some("0011223344556677"),
    }
}

async fn distribution(store: Store) {
    let w = world(&store).await;
    let in_a = sensor(&store, w.site_a, w.zone_a1, "a-1").await;
    let in_b = sensor(&store, w.site_b, w.zone_b1, "b-1").await;
    let first = package(&store, 100).await;
    let state_of = |statuses: &[ironward_store::SensorTiStatus], id| {
        statuses
            .iter()
            .find(|s| s.sensor_id == id)
            .map(|s| (s.state, s.assigned_sequence, s.running_sequence))
            .unwrap()
    };

    // Refused without a change: a site outside the scope, an unknown site or package, none.
    let only_a = Scope::Sites(vec![w.site_a]);
    let refused = [
        store
            .apply_package(&only_a, first, &[w.site_b], "ada", t(20))
            .await,
        store
            .apply_package(&Scope::All, first, &[SiteId(999)], "root", t(20))
            .await,
        store
            .apply_package(&Scope::All, PackageId(999), &[w.site_a], "root", t(20))
            .await,
    ];
    for result in refused {
        assert!(matches!(result, Err(StoreError::NotFound)), "{result:?}");
    }
    let empty = store
        .apply_package(&Scope::All, first, &[], "root", t(20))
        .await;
    assert!(matches!(empty, Err(StoreError::Invalid(_))), "{empty:?}");
    assert!(store.site_packages(&Scope::All).await.unwrap().is_empty());
    assert_eq!(store.sensor_ti_package(in_a.id).await.unwrap(), None);

    // Applied to A: A's sensor is told its sequence, B's is not.
    let applied = store
        .apply_package(&only_a, first, &[w.site_a], "ada", t(20))
        .await
        .unwrap();
    assert_eq!(applied.len(), 1);
    assert_eq!(
        (applied[0].sequence, applied[0].assigned_by.as_str()),
        (100, "ada")
    );
    assert_eq!(
        store.sensor_ti_package(in_a.id).await.unwrap(),
        Some((first, 100))
    );
    assert_eq!(store.sensor_ti_package(in_b.id).await.unwrap(), None);
    let statuses = store.sensor_ti_statuses(&Scope::All).await.unwrap();
    assert_eq!(
        state_of(&statuses, in_a.id),
        ("update_available", Some(100), None)
    );
    assert_eq!(state_of(&statuses, in_b.id), ("none", None, None));

    // The sensor reports it runs it; a newer package for both sites replaces A's.
    store
        .record_ti_status(in_a.id, &report(Some(100), "ok", None), t(30))
        .await
        .unwrap();
    let statuses = store.sensor_ti_statuses(&only_a).await.unwrap();
    assert_eq!(statuses.len(), 1, "B's sensor is outside the scope");
    assert_eq!(state_of(&statuses, in_a.id), ("ok", Some(100), Some(100)));
    let second = package(&store, 200).await;
    store
        .apply_package(&Scope::All, second, &[w.site_a, w.site_b], "root", t(40))
        .await
        .unwrap();
    assert_eq!(store.site_packages(&Scope::All).await.unwrap().len(), 2);
    assert_eq!(
        store.sensor_ti_package(in_a.id).await.unwrap(),
        Some((second, 200))
    );
    let statuses = store.sensor_ti_statuses(&Scope::All).await.unwrap();
    assert_eq!(
        state_of(&statuses, in_a.id),
        ("update_available", Some(200), Some(100))
    );

    // It refuses the new one: failed, its reason bounded, the old one still running.
    let long = "signed by another key ".repeat(100);
    store
        .record_ti_status(in_a.id, &report(Some(100), "failed", Some(&long)), t(50))
        .await
        .unwrap();
    let status = store
        .sensor_ti_statuses(&Scope::All)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.sensor_id == in_a.id)
        .unwrap();
    assert_eq!(
        (status.state, status.running_sequence),
        ("failed", Some(100))
    );
    assert_eq!(
        status.error.unwrap().chars().count(),
        ironward_store::MAX_TI_ERROR_LEN
    );
    assert_eq!(status.reported_at, Some(t(50)));
    let bad = store
        .record_ti_status(in_a.id, &report(None, "great", None), t(60))
        .await;
    assert!(matches!(bad, Err(StoreError::Invalid(_))), "{bad:?}");
}
on_both!(ti_distribution, super::distribution);
