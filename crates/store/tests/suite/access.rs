//! Users, roles, tokens, sessions, groups, audit and alerts.

use std::time::Duration;

use ironward_store::secret::{hash_secret, new_secret};
use ironward_store::{
    AlertId, AlertRecord, AuditEntry, DeviceQuery, Scope, Session, Store, StoreError,
};

use crate::fixtures::{batch, device, sensor, t, world};
use crate::support::on_both;

async fn users_tokens_and_sessions(store: Store) {
    let w = world(&store).await;
    let roles: Vec<String> = store
        .list_roles()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(roles, ["admin", "analyst", "operator", "viewer"]);
    let alice = store
        .create_user("alice", "admin", &[], "$argon2id$x", t(0))
        .await
        .unwrap();
    assert_eq!(alice.scope(), Scope::All);
    let bob = store
        .create_user("bob", "viewer", &[w.site_a], "$argon2id$y", t(0))
        .await
        .unwrap();
    assert_eq!(bob.scope(), Scope::Sites(vec![w.site_a]));
    assert!(matches!(
        store.create_user("bob", "viewer", &[], "h", t(0)).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.create_user("carol", "root", &[], "h", t(0)).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(store.get_user_by_name("bob").await.unwrap().id, bob.id);
    assert_eq!(store.list_users().await.unwrap().len(), 2);
    let bob = store
        .update_user_access(bob.id, "analyst", &[w.site_a, w.site_b])
        .await
        .unwrap();
    assert_eq!((bob.role.as_str(), bob.sites.len()), ("analyst", 2));
    // A site in someone's scope cannot be deleted (that would widen their scope to all).
    assert!(matches!(
        store.delete_site(&Scope::All, w.site_b).await,
        Err(StoreError::Conflict(_))
    ));

    // Lockout after three failures, cleared by a success.
    for _ in 0..2 {
        let u = store
            .record_login_failure(bob.id, t(10), 3, Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(u.locked_until, None);
    }
    let u = store
        .record_login_failure(bob.id, t(10), 3, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!((u.failed_logins, u.locked_until), (3, Some(t(70))));
    store.record_login_success(bob.id, t(80)).await.unwrap();
    let u = store.get_user(bob.id).await.unwrap();
    assert_eq!(
        (u.failed_logins, u.locked_until, u.last_login),
        (0, None, Some(t(80)))
    );
    store
        .update_user_password(bob.id, "$argon2id$z")
        .await
        .unwrap();
    assert_eq!(
        store.get_user(bob.id).await.unwrap().password_hash,
        "$argon2id$z"
    );

    // API tokens: found by hash until revoked.
    let secret = new_secret().unwrap();
    let token = store
        .create_api_token(bob.id, "ci", &hash_secret(&secret), t(1))
        .await
        .unwrap();
    let (found, user) = store.find_api_token(&hash_secret(&secret)).await.unwrap();
    assert_eq!((found.id, user.name.as_str()), (token.id, "bob"));
    store.touch_api_token(token.id, t(5)).await.unwrap();
    assert_eq!(
        store.list_api_tokens(bob.id).await.unwrap()[0].last_used,
        Some(t(5))
    );
    assert!(matches!(
        store.revoke_api_token(alice.id, token.id, t(6)).await,
        Err(StoreError::NotFound)
    ));
    store
        .revoke_api_token(bob.id, token.id, t(6))
        .await
        .unwrap();
    assert!(matches!(
        store.find_api_token(&hash_secret(&secret)).await,
        Err(StoreError::Unauthorized)
    ));

    // Sessions: live until they expire; purge removes the expired.
    let session = Session {
        id_hash: hash_secret("cookie"),
        user_id: bob.id,
        csrf_token: "csrf".to_owned(),
        created_at: t(0),
        expires_at: t(100),
        address: "127.0.0.1".to_owned(),
    };
    store.create_session(&session).await.unwrap();
    assert_eq!(
        store.get_session(&session.id_hash, t(99)).await.unwrap(),
        session
    );
    assert!(matches!(
        store.get_session(&session.id_hash, t(100)).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.purge_expired_sessions(t(100)).await.unwrap(), 1);
    store.create_session(&session).await.unwrap();
    store.delete_session(&session.id_hash).await.unwrap();
    assert!(store.get_session(&session.id_hash, t(1)).await.is_err());

    // A new password signs the user out everywhere.
    store.create_session(&session).await.unwrap();
    store
        .update_user_password(bob.id, "$argon2id$new")
        .await
        .unwrap();
    assert!(matches!(
        store.get_session(&session.id_hash, t(1)).await,
        Err(StoreError::NotFound)
    ));

    // Deleting a user takes their tokens along.
    store.delete_user(bob.id).await.unwrap();
    assert!(matches!(
        store.get_user(bob.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(store.list_api_tokens(bob.id).await.unwrap().is_empty());
}
on_both!(users, super::users_tokens_and_sessions);

async fn groups_audit_and_alerts(store: Store) {
    let w = world(&store).await;
    let sa = sensor(&store, w.site_a, w.zone_a1, "sa").await;
    let sb = sensor(&store, w.site_b, w.zone_b1, "sb").await;
    store
        .ingest_batch(sa.id, &batch("1", vec![device("10.0.0.1", 0, 1)]), t(5))
        .await
        .unwrap();
    store
        .ingest_batch(sb.id, &batch("1", vec![device("10.9.0.1", 0, 1)]), t(5))
        .await
        .unwrap();
    let all = store
        .list_devices(&DeviceQuery::new(Scope::All))
        .await
        .unwrap();
    let group = store
        .create_group("crown jewels", "PLCs", t(0))
        .await
        .unwrap();
    assert!(matches!(
        store.create_group("crown jewels", "", t(0)).await,
        Err(StoreError::Conflict(_))
    ));
    for row in &all.items {
        store
            .add_group_member(&Scope::All, group.id, row.id)
            .await
            .unwrap();
        store
            .add_group_member(&Scope::All, group.id, row.id)
            .await
            .unwrap();
    }
    assert_eq!(
        store
            .group_members(&Scope::All, group.id)
            .await
            .unwrap()
            .len(),
        2
    );
    let only_a = Scope::Sites(vec![w.site_a]);
    let members = store.group_members(&only_a, group.id).await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].site_id, w.site_a);
    store
        .remove_group_member(&only_a, group.id, members[0].id)
        .await
        .unwrap();
    assert_eq!(
        store
            .group_members(&Scope::All, group.id)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(store.list_groups().await.unwrap(), vec![group.clone()]);
    store.delete_group(group.id).await.unwrap();
    assert!(store.list_groups().await.unwrap().is_empty());

    for i in 0..3 {
        store
            .append_audit(&AuditEntry {
                at: t(i),
                user_id: None,
                user_name: Some("alice".to_owned()),
                address: "127.0.0.1".to_owned(),
                action: "login".to_owned(),
                target: "user:alice".to_owned(),
                detail: String::new(),
                outcome: if i == 0 { "failed" } else { "ok" }.to_owned(),
            })
            .await
            .unwrap();
    }
    let audit = store.list_audit(2, 0).await.unwrap();
    assert_eq!((audit.total, audit.items.len()), (3, 2));
    assert_eq!(audit.items[0].at, t(2), "newest first");

    let alert = AlertRecord {
        id: AlertId(0),
        site_id: w.site_b,
        zone_id: Some(w.zone_b1),
        engine: "policy".to_owned(),
        title: "PLC stop".to_owned(),
        severity: "high".to_owned(),
        status: "open".to_owned(),
        devices: vec!["ip:10.9.0.1".to_owned()],
        first_seen: t(1),
        last_seen: t(2),
        count: 1,
        payload: serde_json::json!({"technique": "T0816"}),
    };
    let id = store.insert_alert(&alert).await.unwrap();
    let alerts = store.list_alerts(&Scope::All, 10, 0).await.unwrap();
    assert_eq!(alerts.items, vec![AlertRecord { id, ..alert }]);
    assert_eq!(store.list_alerts(&only_a, 10, 0).await.unwrap().total, 0);
}
on_both!(groups_audit_alerts, super::groups_audit_and_alerts);
