//! Alerts: ingest aggregation and idempotency, the workflow with its history, learn,
//! exclusions (each criterion), custom rules on events, and site scope.

use ironward_model::{Alert, AlertEngine, DeviceId, Evidence, Severity, Technique};
use ironward_store::{
    Actor, AlertQuery, AlertRuleSpec, AlertStatus, ExclusionSpec, IngestOutcome, Scope,
    SensorRecord, Store, StoreError, UserId,
};

use crate::fixtures::{batch, event, sensor, t, world};
use crate::support::on_both;

pub(crate) fn alert(id: &str, kind: &str, engine: AlertEngine, src: &str, dst: &str) -> Alert {
    Alert {
        id: id.to_owned(),
        kind: kind.to_owned(),
        title: format!("{kind} {src} -> {dst}"),
        description: "what happened".to_owned(),
        engine,
        severity: Severity::Major,
        src_ip: Some(src.parse().unwrap()),
        dst_ip: Some(dst.parse().unwrap()),
        devices: vec![DeviceId(format!("ip:{src}")), DeviceId(format!("ip:{dst}"))],
        protocol: Some("modbus".to_owned()),
        techniques: vec![Technique {
            id: "T0855".to_owned(),
            name: "Unauthorized Command Message".to_owned(),
        }],
        evidence: vec![Evidence {
            time: t(10),
            summary: "first".to_owned(),
            frame: Some(1),
        }],
        remediation: "check it".to_owned(),
        count: 1,
        first_seen: t(10),
        last_seen: t(20),
        pcap: None,
    }
}

async fn ingest(store: &Store, s: &SensorRecord, id: &str, alerts: Vec<Alert>) -> IngestOutcome {
    let mut b = batch(id, vec![]);
    b.alerts = alerts;
    store.ingest_batch(s.id, &b, t(100)).await.unwrap()
}

fn committed(outcome: IngestOutcome) -> (u64, u64) {
    match outcome {
        IngestOutcome::Committed(c) => (c.alerts, c.alerts_suppressed),
        IngestOutcome::Duplicate => panic!("duplicate"),
    }
}

async fn all(store: &Store, scope: Scope) -> Vec<ironward_store::AlertView> {
    store
        .query_alerts(&AlertQuery::new(scope))
        .await
        .unwrap()
        .items
}

async fn ingest_aggregates_alerts(store: Store) {
    let w = world(&store).await;
    let sa = sensor(&store, w.site_a, w.zone_a1, "sa").await;
    let sb = sensor(&store, w.site_b, w.zone_b1, "sb").await;
    let x = alert(
        "x",
        "policy.unauthorized_write",
        AlertEngine::Policy,
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
    // Twice the same id in one batch aggregates too.
    let (n, _) = committed(ingest(&store, &sa, "b1", vec![x.clone(), y, x.clone()]).await);
    assert_eq!(n, 2);
    let list = all(&store, Scope::All).await;
    assert_eq!(list.len(), 2);
    let stored = list.iter().find(|a| a.key.as_deref() == Some("x")).unwrap();
    assert_eq!(stored.count, 2);
    assert_eq!(stored.status, "new");
    assert_eq!(stored.engine, "policy");
    assert_eq!(stored.kind, "policy.unauthorized_write");
    assert_eq!(stored.devices, vec!["ip:10.0.0.1", "ip:10.0.0.2"]);
    assert_eq!(stored.src_ip.as_deref(), Some("10.0.0.1"));
    assert_eq!(stored.sensor_id, Some(sa.id));

    // A resent batch writes nothing.
    assert_eq!(
        ingest(&store, &sa, "b1", vec![x.clone()]).await,
        IngestOutcome::Duplicate
    );
    // Work on it; a repeat keeps the status, adds the count, widens the times and keeps the
    // first MAX_EVIDENCE pieces of evidence.
    let actor = Actor {
        id: UserId(0),
        name: "ann",
    };
    store
        .set_alert_status(&Scope::All, stored.id, AlertStatus::Active, actor, t(50))
        .await
        .unwrap();
    let mut repeat = x.clone();
    repeat.count = 3;
    repeat.first_seen = t(1);
    repeat.last_seen = t(90);
    repeat.evidence = (0..20)
        .map(|i| Evidence {
            time: t(i),
            summary: format!("piece {i}"),
            frame: None,
        })
        .collect();
    repeat.devices.push(DeviceId("ip:10.0.0.3".to_owned()));
    committed(ingest(&store, &sa, "b2", vec![repeat]).await);
    let detail = store.alert_detail(&Scope::All, stored.id).await.unwrap();
    assert_eq!(detail.alert.count, 5);
    assert_eq!(detail.alert.status, "active");
    assert_eq!(detail.alert.first_seen, t(1));
    assert_eq!(detail.alert.last_seen, t(90));
    assert_eq!(detail.alert.devices.len(), 3);
    let evidence = detail.payload["evidence"].as_array().unwrap();
    assert_eq!(evidence.len(), ironward_model::alert::MAX_EVIDENCE);
    assert_eq!(evidence[0]["summary"], "first");
    assert_eq!(detail.payload["techniques"][0]["id"], "T0855");
    assert_eq!(detail.payload["remediation"], "check it");

    // The same alert id in site B is a different alert; each site sees only its own.
    committed(ingest(&store, &sb, "b1", vec![x]).await);
    assert_eq!(all(&store, Scope::All).await.len(), 3);
    let only_a = all(&store, Scope::Sites(vec![w.site_a])).await;
    assert_eq!(only_a.len(), 2);
    assert!(only_a.iter().all(|a| a.site_id == w.site_a));
    let b_alert = all(&store, Scope::Sites(vec![w.site_b])).await[0].clone();
    assert_eq!(b_alert.count, 1);
    assert!(matches!(
        store
            .get_alert(&Scope::Sites(vec![w.site_a]), b_alert.id)
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .set_alert_status(
                &Scope::Sites(vec![w.site_a]),
                b_alert.id,
                AlertStatus::Closed,
                actor,
                t(60)
            )
            .await,
        Err(StoreError::NotFound)
    ));

    // Filters.
    let mut q = AlertQuery::new(Scope::All);
    q.engine = Some("anomaly".to_owned());
    assert_eq!(store.query_alerts(&q).await.unwrap().total, 1);
    let mut q = AlertQuery::new(Scope::All);
    q.status = Some(AlertStatus::Active);
    assert_eq!(store.query_alerts(&q).await.unwrap().total, 1);
    let mut q = AlertQuery::new(Scope::All);
    q.device = Some("ip:10.0.0.9".to_owned());
    assert_eq!(store.query_alerts(&q).await.unwrap().total, 1);
    let mut q = AlertQuery::new(Scope::All);
    q.site = Some(w.site_b);
    assert_eq!(store.query_alerts(&q).await.unwrap().total, 1);
    let mut q = AlertQuery::new(Scope::All);
    q.since = Some(t(80));
    assert_eq!(store.query_alerts(&q).await.unwrap().total, 1);
}
on_both!(aggregation, super::ingest_aggregates_alerts);

async fn workflow_records_history_and_learn_suppresses(store: Store) {
    let w = world(&store).await;
    let sa = sensor(&store, w.site_a, w.zone_a1, "sa").await;
    let user = store
        .create_user("bob", "analyst", &[], "$argon2id$x", t(0))
        .await
        .unwrap();
    let x = alert(
        "x",
        "policy.new_connection",
        AlertEngine::Policy,
        "10.0.0.1",
        "10.0.0.2",
    );
    committed(ingest(&store, &sa, "b1", vec![x.clone()]).await);
    let id = all(&store, Scope::All).await[0].id;
    let actor = Actor {
        id: user.id,
        name: "bob",
    };
    let scope = Scope::All;
    let a = store
        .set_alert_status(&scope, id, AlertStatus::Active, actor, t(30))
        .await
        .unwrap();
    assert_eq!(a.status, "active");
    let a = store
        .assign_alert(&scope, id, Some(user.id), actor, t(31))
        .await
        .unwrap();
    assert_eq!(a.assignee.as_deref(), Some("bob"));
    assert!(matches!(
        store
            .assign_alert(&scope, id, Some(UserId(9_999)), actor, t(31))
            .await,
        Err(StoreError::Invalid(_))
    ));
    let a = store
        .mute_alert(&scope, id, true, actor, t(32))
        .await
        .unwrap();
    assert!(a.muted);
    let mut q = AlertQuery::new(Scope::All);
    q.muted = Some(false);
    assert_eq!(store.query_alerts(&q).await.unwrap().total, 0);
    store
        .comment_alert(&scope, id, "looks like maintenance", actor, t(33))
        .await
        .unwrap();
    assert!(matches!(
        store.comment_alert(&scope, id, "   ", actor, t(33)).await,
        Err(StoreError::Invalid(_))
    ));
    let entry = store.learn_alert(&scope, id, actor, t(34)).await.unwrap();
    assert_eq!(entry.kind, "policy.new_connection");
    assert_eq!(entry.src, "10.0.0.1");
    assert_eq!(entry.dst, "10.0.0.2");
    assert_eq!(entry.protocol, "modbus");
    let detail = store.alert_detail(&scope, id).await.unwrap();
    assert_eq!(detail.alert.status, "closed");
    assert_eq!(detail.comments.len(), 1);
    assert_eq!(detail.comments[0].user_name, "bob");
    let actions: Vec<&str> = detail.history.iter().map(|h| h.action.as_str()).collect();
    assert_eq!(
        actions,
        vec!["raised", "status", "assign", "mute", "comment", "learn"]
    );
    assert_eq!(detail.history[1].detail, "new -> active");

    // Later identical traffic (even under another alert id) is suppressed and counted.
    let mut again = x.clone();
    again.id = "x-again".to_owned();
    again.count = 4;
    assert_eq!(
        committed(ingest(&store, &sa, "b2", vec![again]).await),
        (0, 1)
    );
    assert_eq!(all(&store, Scope::All).await.len(), 1);
    let baseline = store.list_baseline(&scope, None, 100, 0).await.unwrap();
    assert_eq!(baseline.total, 1);
    assert_eq!(baseline.items[0].suppressed, 4);
    // Other traffic still raises.
    let other = alert(
        "z",
        "policy.new_connection",
        AlertEngine::Policy,
        "10.0.0.7",
        "10.0.0.2",
    );
    assert_eq!(
        committed(ingest(&store, &sa, "b3", vec![other]).await),
        (1, 0)
    );
    // Another site's user does not see the baseline.
    let only_b = Scope::Sites(vec![w.site_b]);
    assert_eq!(
        store
            .list_baseline(&only_b, None, 100, 0)
            .await
            .unwrap()
            .total,
        0
    );
    // Deleting the entry raises the traffic again.
    store
        .delete_baseline_entry(&scope, baseline.items[0].id)
        .await
        .unwrap();
    let mut again = x;
    again.id = "x-again".to_owned();
    assert_eq!(
        committed(ingest(&store, &sa, "b4", vec![again]).await),
        (1, 0)
    );
}
on_both!(
    workflow,
    super::workflow_records_history_and_learn_suppresses
);

async fn exclusions_suppress_by_each_criterion(store: Store) {
    let w = world(&store).await;
    let sa = sensor(&store, w.site_a, w.zone_a1, "sa").await;
    let sa2 = sensor(&store, w.site_a, w.zone_a2, "sa2").await;
    let base = ExclusionSpec {
        site_id: w.site_a,
        name: "maintenance".to_owned(),
        device_key: None,
        subnet: None,
        kind: None,
        engine: None,
        sensor_id: None,
        weekdays: vec![],
        hour_from: None,
        hour_to: None,
    };
    // t(20) is Tuesday 2023-11-14 22:13:40 UTC (weekday 1, hour 22).
    let cases: Vec<(&str, ExclusionSpec)> = vec![
        (
            "device",
            ExclusionSpec {
                device_key: Some("ip:10.0.0.1".to_owned()),
                ..base.clone()
            },
        ),
        (
            "subnet",
            ExclusionSpec {
                subnet: Some("10.0.0.0/29".to_owned()),
                ..base.clone()
            },
        ),
        (
            "kind",
            ExclusionSpec {
                kind: Some("anomaly.port_scan".to_owned()),
                ..base.clone()
            },
        ),
        (
            "engine",
            ExclusionSpec {
                engine: Some("anomaly".to_owned()),
                ..base.clone()
            },
        ),
        (
            "sensor",
            ExclusionSpec {
                sensor_id: Some(sa.id),
                ..base.clone()
            },
        ),
        (
            "weekday",
            ExclusionSpec {
                weekdays: vec![1],
                ..base.clone()
            },
        ),
        (
            "hours (wrapping midnight)",
            ExclusionSpec {
                hour_from: Some(22),
                hour_to: Some(2),
                ..base.clone()
            },
        ),
    ];
    let scope = Scope::All;
    for (i, (what, spec)) in cases.into_iter().enumerate() {
        let rule = store
            .create_exclusion(&scope, &spec, "ann", t(0))
            .await
            .unwrap();
        // Matches: 10.0.0.1 -> 10.0.0.2, port scan, from sensor sa, Tuesday 22h.
        let hit = alert(
            &format!("hit{i}"),
            "anomaly.port_scan",
            AlertEngine::Anomaly,
            "10.0.0.1",
            "10.0.0.2",
        );
        assert_eq!(
            committed(ingest(&store, &sa, &format!("h{i}"), vec![hit]).await),
            (0, 1),
            "{what} suppresses"
        );
        // Misses on exactly the criterion under test.
        let mut miss = alert(
            &format!("miss{i}"),
            "anomaly.port_scan",
            AlertEngine::Anomaly,
            "10.0.0.1",
            "10.0.0.2",
        );
        let mut from = &sa;
        match what {
            "device" => miss.devices = vec![DeviceId("ip:10.0.0.5".to_owned())],
            "subnet" => {
                miss.src_ip = Some("10.0.1.1".parse().unwrap());
                miss.dst_ip = Some("10.0.1.2".parse().unwrap());
            }
            "kind" => miss.kind = "anomaly.address_sweep".to_owned(),
            "engine" => miss.engine = AlertEngine::Protocol,
            "sensor" => from = &sa2,
            "weekday" => {
                miss.last_seen = t(86_400);
                miss.first_seen = t(86_400);
            }
            _ => {
                // 12:13 the next day.
                miss.last_seen = t(50_400);
                miss.first_seen = t(50_400);
            }
        }
        assert_eq!(
            committed(ingest(&store, from, &format!("m{i}"), vec![miss]).await),
            (1, 0),
            "{what} lets others through"
        );
        let stored = store.get_exclusion(&scope, rule.id).await.unwrap();
        assert_eq!(stored.suppressed, 1, "{what}");
        store.delete_exclusion(&scope, rule.id).await.unwrap();
    }
    // Every criterion together must match.
    let both = ExclusionSpec {
        kind: Some("anomaly.port_scan".to_owned()),
        subnet: Some("192.168.0.0/16".to_owned()),
        ..base.clone()
    };
    store
        .create_exclusion(&scope, &both, "ann", t(0))
        .await
        .unwrap();
    let a = alert(
        "k",
        "anomaly.port_scan",
        AlertEngine::Anomaly,
        "10.0.0.1",
        "10.0.0.2",
    );
    assert_eq!(
        committed(ingest(&store, &sa, "both", vec![a]).await),
        (1, 0)
    );
    // An exclusion of site A does not touch site B.
    let sb = sensor(&store, w.site_b, w.zone_b1, "sb").await;
    store
        .create_exclusion(
            &scope,
            &ExclusionSpec {
                engine: Some("policy".to_owned()),
                ..base.clone()
            },
            "ann",
            t(0),
        )
        .await
        .unwrap();
    let p = alert(
        "p",
        "policy.new_device",
        AlertEngine::Policy,
        "10.0.0.1",
        "10.0.0.2",
    );
    assert_eq!(committed(ingest(&store, &sb, "b", vec![p]).await), (1, 0));

    // Validation and scope.
    for bad in [
        base.clone(),
        ExclusionSpec {
            subnet: Some("10.0.0.0/40".to_owned()),
            ..base.clone()
        },
        ExclusionSpec {
            engine: Some("nope".to_owned()),
            ..base.clone()
        },
        ExclusionSpec {
            weekdays: vec![7],
            ..base.clone()
        },
        ExclusionSpec {
            hour_from: Some(3),
            ..base.clone()
        },
    ] {
        assert!(matches!(
            store.create_exclusion(&scope, &bad, "ann", t(0)).await,
            Err(StoreError::Invalid(_))
        ));
    }
    let only_b = Scope::Sites(vec![w.site_b]);
    let spec = ExclusionSpec {
        kind: Some("x".to_owned()),
        ..base.clone()
    };
    assert!(matches!(
        store.create_exclusion(&only_b, &spec, "ann", t(0)).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.list_exclusions(&only_b, None).await.unwrap().total, 0);
    let mine = store.list_exclusions(&scope, Some(w.site_a)).await.unwrap();
    assert_eq!(mine.total, 2);
    assert!(matches!(
        store.delete_exclusion(&only_b, mine.items[0].id).await,
        Err(StoreError::NotFound)
    ));
    let updated = store
        .update_exclusion(&scope, mine.items[0].id, &spec)
        .await
        .unwrap();
    assert_eq!(updated.spec.kind.as_deref(), Some("x"));
    assert_eq!(updated.spec.subnet, None);
}
on_both!(exclusions, super::exclusions_suppress_by_each_criterion);

async fn custom_rules_raise_alerts_from_events(store: Store) {
    let w = world(&store).await;
    let sa = sensor(&store, w.site_a, w.zone_a1, "sa").await;
    let scope = Scope::All;
    let spec = AlertRuleSpec {
        site_id: w.site_a,
        title: "Writes to the setpoints".to_owned(),
        protocol: "Modbus".to_owned(),
        operation: "write_multiple_registers".to_owned(),
        detail_contains: Some("Registers 100".to_owned()),
        src_subnet: Some("10.0.0.0/24".to_owned()),
        dst_subnet: None,
        severity: "critical".to_owned(),
        enabled: true,
    };
    let rule = store
        .create_alert_rule(&scope, &spec, "ann", t(0))
        .await
        .unwrap();
    assert_eq!(rule.spec.protocol, "modbus");
    let mut b = batch("e1", vec![]);
    b.events = vec![
        event("10.0.0.1", "10.0.0.2", "registers 100-109", 3, 10, 20),
        event("10.0.0.1", "10.0.0.2", "registers 100-101", 2, 30, 40),
        // Wrong detail, wrong source subnet.
        event("10.0.0.1", "10.0.0.2", "registers 200-209", 1, 10, 20),
        event("10.0.9.1", "10.0.0.2", "registers 100-109", 1, 10, 20),
    ];
    let outcome = store.ingest_batch(sa.id, &b, t(100)).await.unwrap();
    assert_eq!(committed(outcome), (1, 0));
    let list = all(&store, scope.clone()).await;
    assert_eq!(list.len(), 1);
    let a = &list[0];
    assert_eq!(a.kind, format!("custom.{}", rule.id));
    assert_eq!(a.engine, "policy");
    assert_eq!(a.severity, "critical");
    assert_eq!(a.title, "Writes to the setpoints");
    assert_eq!(a.count, 5);
    assert_eq!(a.first_seen, t(10));
    assert_eq!(a.last_seen, t(40));
    assert_eq!(a.devices, vec!["ip:10.0.0.1", "ip:10.0.0.2"]);
    let detail = store.alert_detail(&scope, a.id).await.unwrap();
    assert_eq!(detail.payload["evidence"].as_array().unwrap().len(), 2);
    assert_eq!(
        store.get_alert_rule(&scope, rule.id).await.unwrap().fired,
        2
    );
    // An exclusion also suppresses custom alerts; a disabled rule raises nothing.
    let mut off = spec.clone();
    off.enabled = false;
    store
        .update_alert_rule(&scope, rule.id, &off)
        .await
        .unwrap();
    let mut b = batch("e2", vec![]);
    b.events = vec![event("10.0.0.1", "10.0.0.3", "registers 100", 1, 50, 60)];
    assert_eq!(
        committed(store.ingest_batch(sa.id, &b, t(100)).await.unwrap()),
        (0, 0)
    );
    // Validation and scope.
    let mut bad = spec.clone();
    bad.severity = "high".to_owned();
    assert!(matches!(
        store.create_alert_rule(&scope, &bad, "ann", t(0)).await,
        Err(StoreError::Invalid(_))
    ));
    let only_b = Scope::Sites(vec![w.site_b]);
    assert!(matches!(
        store.get_alert_rule(&only_b, rule.id).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store.list_alert_rules(&only_b, None).await.unwrap().total,
        0
    );
    store.delete_alert_rule(&scope, rule.id).await.unwrap();
    assert_eq!(store.list_alert_rules(&scope, None).await.unwrap().total, 0);
}
on_both!(custom_rules, super::custom_rules_raise_alerts_from_events);
