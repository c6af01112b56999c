//! Forwarding: filters by kind through the scan, and each rule's queue status — waiting
//! messages, the current error, deliveries and the last delivery's time — kept per rule and
//! gone with the rule.

use ironward_model::AlertEngine;
use ironward_store::{AlertFilter, Store};

use crate::alerts::alert;
use crate::fixtures::{batch, sensor, t, world};
use crate::support::on_both;

async fn rule_status_follows_the_queue(store: Store) {
    let w = world(&store).await;
    let s = sensor(&store, w.site_a, w.zone_a1, "sa").await;
    let destination = serde_json::json!({"type": "syslog", "host": "siem", "port": 514,
        "transport": "udp", "format": "cef"});
    let writes = store
        .create_forward_rule(
            "writes",
            &AlertFilter {
                kinds: vec!["Policy.Unauthorized_Write".to_owned()],
                ..AlertFilter::default()
            },
            &destination,
            "",
            t(1),
        )
        .await
        .unwrap();
    let all = store
        .create_forward_rule("all", &AlertFilter::default(), &destination, "", t(1))
        .await
        .unwrap();
    let too_long = AlertFilter {
        kinds: vec!["k".repeat(201)],
        ..AlertFilter::default()
    };
    assert!(store
        .create_forward_rule("bad", &too_long, &destination, "", t(1))
        .await
        .is_err());

    let mut b = batch("b1", vec![]);
    b.alerts = vec![
        alert(
            "w",
            "policy.unauthorized_write",
            AlertEngine::Policy,
            "10.0.0.2",
            "10.0.0.1",
        ),
        alert(
            "scan",
            "anomaly.port_scan",
            AlertEngine::Anomaly,
            "10.0.0.9",
            "10.0.0.1",
        ),
    ];
    store.ingest_batch(s.id, &b, t(100)).await.unwrap();
    let scan = store.forward_scan(100, 1000, t(101)).await.unwrap();
    assert_eq!(scan.queued, 3, "the write for both rules, the scan for one");

    let status = store.forward_rule_status().await.unwrap();
    let of = |id: i64| status.iter().find(|s| s.rule_id == id).unwrap().clone();
    assert_eq!(status.len(), 2);
    assert_eq!((of(writes.id).queued, of(all.id).queued), (1, 2));
    assert_eq!(of(all.id).next_attempt, Some(t(101)));
    assert_eq!(of(all.id).last_delivery, None);

    // The receiver of "all" refuses, then takes the first message.
    let due = store.forward_due(t(102), 10).await.unwrap();
    let mine: Vec<_> = due.iter().filter(|d| d.rule_id == all.id).collect();
    store
        .forward_failed(mine[0].id, "connection refused", t(200))
        .await
        .unwrap();
    let failing = of_status(&store, all.id).await;
    assert_eq!(failing.attempts, 1);
    assert_eq!(failing.last_error.as_deref(), Some("connection refused"));
    store.forward_delivered(mine[0].id, t(300)).await.unwrap();
    // Reported twice (a second console): counted once.
    store.forward_delivered(mine[0].id, t(301)).await.unwrap();
    let after = of_status(&store, all.id).await;
    assert_eq!(
        (after.queued, after.delivered, after.last_delivery),
        (1, 1, Some(t(300)))
    );
    assert_eq!(after.last_error, None, "the failed message went through");
    assert_eq!(store.forward_stats().await.unwrap().delivered, 1);
    assert_eq!(of_status(&store, writes.id).await.delivered, 0);

    // A deleted rule takes its queue and counters with it; a new rule starts from nothing.
    store.delete_forward_rule(all.id).await.unwrap();
    let status = store.forward_rule_status().await.unwrap();
    assert_eq!(status.len(), 1);
    assert_eq!(status[0].rule_id, writes.id);
    assert_eq!(store.forward_stats().await.unwrap().delivered, 1);
}

async fn of_status(store: &Store, rule: i64) -> ironward_store::RuleQueueStatus {
    store
        .forward_rule_status()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.rule_id == rule)
        .unwrap()
}

on_both!(rule_status, super::rule_status_follows_the_queue);

async fn a_disabled_playbook_starts_no_runs(store: Store) {
    let w = world(&store).await;
    let s = sensor(&store, w.site_a, w.zone_a1, "sa").await;
    let playbook = store
        .create_playbook(
            "close",
            &AlertFilter::default(),
            &serde_json::json!([{"type": "close_as_expected"}]),
            t(1),
        )
        .await
        .unwrap();
    store
        .set_playbook_enabled(playbook.id, false)
        .await
        .unwrap();
    assert!(!store.list_playbooks().await.unwrap()[0].enabled);
    let mut b = batch("b1", vec![]);
    let scan = alert(
        "scan",
        "anomaly.port_scan",
        AlertEngine::Anomaly,
        "10.0.0.9",
        "10.0.0.1",
    );
    b.alerts = vec![scan.clone()];
    store.ingest_batch(s.id, &b, t(100)).await.unwrap();
    assert_eq!(store.forward_scan(100, 1000, t(101)).await.unwrap().runs, 0);
    // Enabled again, the next occurrence starts a run.
    store.set_playbook_enabled(playbook.id, true).await.unwrap();
    let mut b = batch("b2", vec![]);
    b.alerts = vec![scan];
    store.ingest_batch(s.id, &b, t(200)).await.unwrap();
    assert_eq!(store.forward_scan(100, 1000, t(201)).await.unwrap().runs, 1);
    assert!(matches!(
        store.set_playbook_enabled(playbook.id + 1, true).await,
        Err(ironward_store::StoreError::NotFound)
    ));
}

on_both!(playbook_enabled, super::a_disabled_playbook_starts_no_runs);
