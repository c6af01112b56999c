//! Migrations and the value types both backends must carry alike.

use ironward_store::{Store, SCHEMA_VERSION};

use crate::support::on_both;

async fn migrations_are_idempotent(store: Store) {
    let first = store.applied_migrations().await.unwrap();
    // Numbers may be reserved by work in flight (5 was, while 6 landed): the newest is the
    // schema version and every applied one is known.
    assert_eq!(first.last().map(|m| m.0), Some(SCHEMA_VERSION));
    assert!(first.len() as i64 <= SCHEMA_VERSION);
    assert_eq!(first[0], (1, "init".to_owned()));
    // Opening again (what `connect` does on every start) changes nothing.
    store.migrate().await.unwrap();
    assert_eq!(store.applied_migrations().await.unwrap(), first);
}
on_both!(migrations_idempotent, super::migrations_are_idempotent);

async fn sites_and_zones_round_trip(store: Store) {
    use ironward_model::Timestamp;
    use ironward_store::{Scope, StoreError};
    let t = Timestamp(1_000);
    let a = store.create_site("Plant A", t).await.unwrap();
    let b = store.create_site("Plant B", t).await.unwrap();
    assert!(matches!(
        store.create_site("Plant A", t).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.create_site(" ", t).await,
        Err(StoreError::Invalid(_))
    ));
    let names: Vec<String> = store
        .list_sites(&Scope::All)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["Plant A", "Plant B"]);
    let only_a = Scope::Sites(vec![a.id]);
    assert_eq!(store.list_sites(&only_a).await.unwrap(), vec![a.clone()]);
    assert!(matches!(
        store.get_site(&only_a, b.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(store
        .list_sites(&Scope::Sites(vec![]))
        .await
        .unwrap()
        .is_empty());
    let renamed = store.rename_site(&only_a, a.id, "Plant A1").await.unwrap();
    assert_eq!(renamed.name, "Plant A1");
    assert!(matches!(
        store.rename_site(&only_a, b.id, "x").await,
        Err(StoreError::NotFound)
    ));

    let cell = store
        .create_zone(&Scope::All, a.id, "Cell 1", t)
        .await
        .unwrap();
    store
        .create_zone(&Scope::All, b.id, "Cell 1", t)
        .await
        .unwrap();
    assert!(matches!(
        store.create_zone(&Scope::All, a.id, "Cell 1", t).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.create_zone(&only_a, b.id, "Cell 2", t).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store.list_zones(&only_a, None).await.unwrap(),
        vec![cell.clone()]
    );
    assert_eq!(store.list_zones(&Scope::All, None).await.unwrap().len(), 2);
    assert_eq!(
        store
            .rename_zone(&only_a, cell.id, "Cell 9")
            .await
            .unwrap()
            .name,
        "Cell 9"
    );
    store.delete_zone(&only_a, cell.id).await.unwrap();
    assert!(matches!(
        store.get_zone(&Scope::All, cell.id).await,
        Err(StoreError::NotFound)
    ));
    store.delete_site(&Scope::All, b.id).await.unwrap();
    assert_eq!(store.list_sites(&Scope::All).await.unwrap().len(), 1);
    assert_eq!(store.list_zones(&Scope::All, None).await.unwrap().len(), 0);
}
on_both!(sites_and_zones, super::sites_and_zones_round_trip);
