//! The alert workflow API: list and detail, status/assign/mute/comments/learn with audit rows,
//! bulk actions, exclusions and custom rules that act at ingest, site scope (a site-A user never
//! sees site B's alerts) and roles (operators act on operational alerts only).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::{Method, StatusCode};
use common::{seed_time, As, Seeded, TestConsole};
use ironward_model::{Alert, AlertEngine, Batch, DeviceId, Evidence, Severity, Technique};
use ironward_store::{IngestCounts, IngestOutcome, SensorId};
use serde_json::{json, Value};

fn alert(id: &str, kind: &str, engine: AlertEngine, src: &str, dst: &str) -> Alert {
    Alert {
        id: id.to_owned(),
        kind: kind.to_owned(),
        title: format!("{kind} from {src}"),
        description: "A client wrote registers it never wrote before.".to_owned(),
        engine,
        severity: Severity::Major,
        src_ip: Some(src.parse().unwrap()),
        dst_ip: Some(dst.parse().unwrap()),
        devices: vec![DeviceId(format!("ip:{src}")), DeviceId(format!("ip:{dst}"))],
        protocol: Some("modbus".to_owned()),
        techniques: vec![Technique {
            id: "T0836".to_owned(),
            name: "Modify Parameter".to_owned(),
        }],
        evidence: vec![Evidence {
            time: seed_time(30),
            summary: "write_multiple_registers unit 1, registers 0-9".to_owned(),
            frame: Some(7),
        }],
        remediation: "Confirm the change with the plant engineer.".to_owned(),
        count: 1,
        first_seen: seed_time(30),
        last_seen: seed_time(40),
        pcap: None,
    }
}

async fn deliver(
    console: &TestConsole,
    sensor: SensorId,
    id: &str,
    alerts: Vec<Alert>,
    events: Vec<ironward_model::Event>,
) -> IngestCounts {
    let batch = Batch {
        id: id.to_owned(),
        created: seed_time(50),
        devices: vec![],
        connections: vec![],
        events,
        alerts,
        alert_captures: Vec::new(),
        health: None,
    };
    match console
        .store
        .ingest_batch(sensor, &batch, seed_time(50))
        .await
        .unwrap()
    {
        IngestOutcome::Committed(c) => c,
        IngestOutcome::Duplicate => panic!("duplicate"),
    }
}

async fn post(console: &TestConsole, path: &str, who: &As, body: Value) -> (StatusCode, Value) {
    let answer = console
        .call(Method::POST, path, who, Some(&body.to_string()))
        .await;
    let status = answer.status;
    let value = if answer.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&answer.body).unwrap_or(Value::Null)
    };
    (status, value)
}

/// The row id of the alert with sensor key `key`, as `who` sees the list.
async fn alert_id(console: &TestConsole, who: &As, key: &str) -> i64 {
    let list = console.get_json("/api/v1/alerts?limit=1000", who).await;
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["key"] == key)
        .unwrap_or_else(|| panic!("no alert {key} in {list}"))["id"]
        .as_i64()
        .unwrap()
}

async fn setup() -> (TestConsole, Seeded) {
    let console = TestConsole::new().await;
    let seeded = console.seed_two_sites().await;
    let write = alert(
        "w1",
        "policy.unauthorized_write",
        AlertEngine::Policy,
        "10.0.0.2",
        "10.0.0.1",
    );
    let stop = alert(
        "op1",
        "operational.plc_stop",
        AlertEngine::Operational,
        "10.0.0.2",
        "10.0.0.1",
    );
    deliver(&console, seeded.sensor_a, "a1", vec![write, stop], vec![]).await;
    let b = alert(
        "b1",
        "anomaly.port_scan",
        AlertEngine::Anomaly,
        "10.1.0.9",
        "10.1.0.1",
    );
    deliver(&console, seeded.sensor_b, "b1", vec![b], vec![]).await;
    (console, seeded)
}

async fn audit_actions(console: &TestConsole, admin: &As) -> Vec<String> {
    let log = console.get_json("/api/v1/audit?limit=1000", admin).await;
    log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["action"].as_str().unwrap(),
                e["target"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test]
async fn workflow_is_applied_recorded_and_audited() {
    let (console, seeded) = setup().await;
    let (admin_id, admin) = console.user("admin", "admin", &[]).await;
    let (_, analyst) = console.user("ann", "analyst", &[]).await;

    // List with filters; detail with evidence, techniques and remediation.
    let list = console
        .get_json("/api/v1/alerts?engine=policy&status=new", &analyst)
        .await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["key"], "w1");
    let w1 = alert_id(&console, &analyst, "w1").await;
    let detail = console
        .get_json(&format!("/api/v1/alerts/{w1}"), &analyst)
        .await;
    assert_eq!(detail["status"], "new");
    assert_eq!(detail["site"], "Plant A");
    assert_eq!(detail["techniques"][0]["id"], "T0836");
    assert_eq!(detail["evidence"][0]["frame"], 7);
    assert_eq!(
        detail["remediation"],
        "Confirm the change with the plant engineer."
    );
    assert_eq!(detail["history"][0]["action"], "raised");
    for (path, bad) in [
        ("/api/v1/alerts?status=open", "status"),
        ("/api/v1/alerts?muted=maybe", "muted"),
        ("/api/v1/alerts?site=x", "site"),
        ("/api/v1/alerts?since=yesterday", "since"),
    ] {
        let answer = console.call(Method::GET, path, &analyst, None).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{path}");
        assert!(answer.text().contains(bad), "{path}: {}", answer.text());
    }

    let base = format!("/api/v1/alerts/{w1}");
    let (s, v) = post(
        &console,
        &format!("{base}/status"),
        &analyst,
        json!({"status": "active"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "active");
    let (s, v) = post(
        &console,
        &format!("{base}/assign"),
        &analyst,
        json!({"user": admin_id.0}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["assignee"], "admin");
    let (s, _) = post(
        &console,
        &format!("{base}/assign"),
        &analyst,
        json!({"user": 999_999}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, v) = post(
        &console,
        &format!("{base}/mute"),
        &analyst,
        json!({"muted": true}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["muted"], true);
    let (s, v) = post(
        &console,
        &format!("{base}/comments"),
        &analyst,
        json!({"text": "checking with the plant"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, _) = post(
        &console,
        &format!("{base}/comments"),
        &analyst,
        json!({"text": ""}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = post(
        &console,
        &format!("{base}/status"),
        &analyst,
        json!({"status": "gone"}),
    )
    .await;
    assert!(s.is_client_error());
    let (s, entry) = post(&console, &format!("{base}/learn"), &analyst, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{entry}");
    assert_eq!(entry["kind"], "policy.unauthorized_write");
    assert_eq!(entry["src"], "10.0.0.2");

    let detail = console.get_json(&base, &analyst).await;
    assert_eq!(detail["status"], "closed");
    assert_eq!(detail["comments"][0]["text"], "checking with the plant");
    assert_eq!(detail["comments"][0]["user_name"], "ann");
    let actions: Vec<&str> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["raised", "status", "assign", "mute", "comment", "learn"]
    );
    let audit = audit_actions(&console, &admin).await;
    for action in [
        "alert.status",
        "alert.assign",
        "alert.mute",
        "alert.comment",
        "alert.learn",
    ] {
        assert!(
            audit.contains(&format!("{action} alert:{w1}")),
            "{action} missing from {audit:?}"
        );
    }

    // The baseline exports it, and the same traffic no longer raises an alert.
    let baseline = console.get_json("/api/v1/baseline", &analyst).await;
    assert_eq!(baseline["total"], 1);
    let mut again = alert(
        "w1-later",
        "policy.unauthorized_write",
        AlertEngine::Policy,
        "10.0.0.2",
        "10.0.0.1",
    );
    again.count = 2;
    let counts = deliver(&console, seeded.sensor_a, "a2", vec![again], vec![]).await;
    assert_eq!((counts.alerts, counts.alerts_suppressed), (0, 1));
    let none = console
        .get_json("/api/v1/alerts?engine=policy&status=new", &analyst)
        .await;
    assert_eq!(none["total"], 0);

    // Bulk: close both remaining new alerts of site A and B.
    let op1 = alert_id(&console, &analyst, "op1").await;
    let b1 = alert_id(&console, &analyst, "b1").await;
    let (s, v) = post(
        &console,
        "/api/v1/alerts/bulk",
        &analyst,
        json!({"ids": [op1, b1], "action": "status", "status": "closed"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["total"], 2);
    let closed = console
        .get_json("/api/v1/alerts?status=closed", &analyst)
        .await;
    assert_eq!(closed["total"], 3);
    let (s, _) = post(
        &console,
        "/api/v1/alerts/bulk",
        &analyst,
        json!({"ids": [], "action": "mute", "muted": true}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let audit = audit_actions(&console, &admin).await;
    assert!(audit.contains(&format!("alert.status alert:{b1}")));
}

#[tokio::test]
async fn site_scope_hides_other_sites_alerts() {
    let (console, seeded) = setup().await;
    let (_, analyst_a) = console.user("ann", "analyst", &[seeded.site_a]).await;
    let (_, admin) = console.user("admin", "admin", &[]).await;
    let list = console
        .get_json("/api/v1/alerts?limit=1000", &analyst_a)
        .await;
    assert!(list["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["site_id"] == seeded.site_a.0));
    let b1 = alert_id(&console, &admin, "b1").await;
    let path = format!("/api/v1/alerts/{b1}");
    assert_eq!(
        console
            .call(Method::GET, &path, &analyst_a, None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    for (action, body) in [
        ("status", json!({"status": "closed"})),
        ("mute", json!({"muted": true})),
        ("comments", json!({"text": "hi"})),
        ("learn", json!({})),
    ] {
        let (s, _) = post(&console, &format!("{path}/{action}"), &analyst_a, body).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{action}");
    }
    let w1 = alert_id(&console, &analyst_a, "w1").await;
    let (s, _) = post(
        &console,
        "/api/v1/alerts/bulk",
        &analyst_a,
        json!({"ids": [w1, b1], "action": "mute", "muted": true}),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Nothing changed: the bulk action is checked whole before any change.
    let w = console
        .get_json(&format!("/api/v1/alerts/{w1}"), &analyst_a)
        .await;
    assert_eq!(w["muted"], false);
    // Exclusions and rules of site B are out of reach too.
    let spec = json!({"site_id": seeded.site_b.0, "name": "x", "engine": "anomaly"});
    let (s, _) = post(&console, "/api/v1/exclusions", &analyst_a, spec).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = post(&console, "/api/v1/alert-rules", &analyst_a, json!({"site_id": seeded.site_b.0, "title": "t", "protocol": "modbus", "operation": "*", "severity": "minor"})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn operators_act_on_operational_alerts_only() {
    let (console, _seeded) = setup().await;
    let (_, operator) = console.user("otto", "operator", &[]).await;
    let (_, viewer) = console.user("vera", "viewer", &[]).await;
    let w1 = alert_id(&console, &operator, "w1").await;
    let op1 = alert_id(&console, &operator, "op1").await;
    for (action, body) in [
        ("status", json!({"status": "active"})),
        ("assign", json!({"user": null})),
        ("mute", json!({"muted": true})),
        ("comments", json!({"text": "on it"})),
    ] {
        let (s, _) = post(
            &console,
            &format!("/api/v1/alerts/{w1}/{action}"),
            &operator,
            body.clone(),
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{action} on a policy alert");
        let (s, v) = post(
            &console,
            &format!("/api/v1/alerts/{op1}/{action}"),
            &operator,
            body.clone(),
        )
        .await;
        assert!(s.is_success(), "{action} on an operational alert: {s} {v}");
        let (s, _) = post(
            &console,
            &format!("/api/v1/alerts/{op1}/{action}"),
            &viewer,
            body,
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "viewer {action}");
    }
    // Learn is security work; the operator cannot change exclusions or rules.
    let (s, _) = post(
        &console,
        &format!("/api/v1/alerts/{op1}/learn"),
        &operator,
        json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // A bulk action with one security alert is refused whole.
    let (s, _) = post(
        &console,
        "/api/v1/alerts/bulk",
        &operator,
        json!({"ids": [op1, w1], "action": "status", "status": "closed"}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let op = console
        .get_json(&format!("/api/v1/alerts/{op1}"), &operator)
        .await;
    assert_eq!(op["status"], "active");
    let (s, _) = post(
        &console,
        "/api/v1/alerts/bulk",
        &operator,
        json!({"ids": [op1], "action": "status", "status": "closed"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn exclusions_and_custom_rules_act_at_ingest() {
    let (console, seeded) = setup().await;
    let (_, analyst) = console.user("ann", "analyst", &[]).await;
    let (_, admin) = console.user("admin", "admin", &[]).await;

    // An exclusion by subnet and kind suppresses the matching alert only.
    let spec = json!({
        "site_id": seeded.site_a.0, "name": "scanner of the IT team",
        "subnet": "10.0.0.128/25", "kind": "anomaly.port_scan"
    });
    let (s, ex) = post(&console, "/api/v1/exclusions", &analyst, spec).await;
    assert_eq!(s, StatusCode::CREATED, "{ex}");
    let ex_id = ex["id"].as_i64().unwrap();
    let scan = alert(
        "scan1",
        "anomaly.port_scan",
        AlertEngine::Anomaly,
        "10.0.0.200",
        "10.0.0.1",
    );
    let other = alert(
        "scan2",
        "anomaly.port_scan",
        AlertEngine::Anomaly,
        "10.0.0.20",
        "10.0.0.1",
    );
    let counts = deliver(&console, seeded.sensor_a, "x1", vec![scan, other], vec![]).await;
    assert_eq!((counts.alerts, counts.alerts_suppressed), (1, 1));
    let ex = console
        .get_json(&format!("/api/v1/exclusions/{ex_id}"), &analyst)
        .await;
    assert_eq!(ex["suppressed"], 1);
    assert_eq!(ex["subnet"], "10.0.0.128/25");
    let bad = json!({"site_id": seeded.site_a.0, "name": "everything"});
    let (s, v) = post(&console, "/api/v1/exclusions", &analyst, bad).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let bad = json!({"site_id": seeded.site_a.0, "name": "x", "subnet": "10.0.0.0/99"});
    let (s, _) = post(&console, "/api/v1/exclusions", &analyst, bad).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let updated = console
        .call(
            Method::PUT,
            &format!("/api/v1/exclusions/{ex_id}"),
            &analyst,
            Some(
                &json!({"site_id": seeded.site_a.0, "name": "renamed", "engine": "anomaly"})
                    .to_string(),
            ),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text());
    assert_eq!(updated.json()["name"], "renamed");
    assert_eq!(
        console.get_json("/api/v1/exclusions", &analyst).await["total"],
        1
    );
    let deleted = console
        .call(
            Method::DELETE,
            &format!("/api/v1/exclusions/{ex_id}"),
            &analyst,
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);

    // A custom rule raises a policy alert from the batch's events.
    let rule = json!({
        "site_id": seeded.site_a.0, "title": "Setpoint write",
        "protocol": "modbus", "operation": "write_multiple_registers",
        "detail_contains": "registers 100", "severity": "critical"
    });
    let (s, rule) = post(&console, "/api/v1/alert-rules", &analyst, rule).await;
    assert_eq!(s, StatusCode::CREATED, "{rule}");
    let rule_id = rule["id"].as_i64().unwrap();
    let mut event = ironward_model::Event {
        time: seed_time(60),
        last_seen: seed_time(61),
        count: 4,
        src: ironward_model::EventEndpoint::ip("10.0.0.2".parse().unwrap()),
        dst: ironward_model::EventEndpoint::ip("10.0.0.1".parse().unwrap()),
        protocol: "modbus".into(),
        category: ironward_model::EventCategory::Write,
        operation: "write_multiple_registers".into(),
        detail: "unit 1, registers 100-103".to_owned(),
        content_hash: None,
    };
    let quiet = {
        let mut e = event.clone();
        e.detail = "unit 1, registers 7".to_owned();
        e
    };
    event.src.device = Some(DeviceId("ip:10.0.0.2".to_owned()));
    let counts = deliver(&console, seeded.sensor_a, "r1", vec![], vec![event, quiet]).await;
    assert_eq!(counts.alerts, 1);
    let custom = console
        .get_json("/api/v1/alerts?severity=critical", &analyst)
        .await;
    assert_eq!(custom["total"], 1);
    assert_eq!(custom["items"][0]["kind"], format!("custom.{rule_id}"));
    assert_eq!(custom["items"][0]["engine"], "policy");
    assert_eq!(custom["items"][0]["count"], 4);
    let rule = console
        .get_json(&format!("/api/v1/alert-rules/{rule_id}"), &analyst)
        .await;
    assert_eq!(rule["fired"], 1);
    let (s, _) = post(&console, "/api/v1/alert-rules", &analyst, json!({"site_id": seeded.site_a.0, "title": "t", "protocol": "modbus", "operation": "*", "severity": "high"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let deleted = console
        .call(
            Method::DELETE,
            &format!("/api/v1/alert-rules/{rule_id}"),
            &analyst,
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);

    let audit = audit_actions(&console, &admin).await;
    for a in [
        format!("exclusion.create exclusion:{ex_id}"),
        format!("exclusion.update exclusion:{ex_id}"),
        format!("exclusion.delete exclusion:{ex_id}"),
        format!("alert_rule.create alert_rule:{rule_id}"),
        format!("alert_rule.delete alert_rule:{rule_id}"),
    ] {
        assert!(audit.contains(&a), "{a} missing from {audit:?}");
    }
}

#[tokio::test]
async fn a_device_lists_the_alerts_that_involve_it_in_the_api_and_its_page() {
    let (console, seeded) = setup().await;
    let (_, analyst_a) = console.user("ann", "analyst", &[seeded.site_a]).await;
    let detail = console
        .get_json(&format!("/api/v1/devices/{}", seeded.plc_a), &analyst_a)
        .await;
    let mut keys: Vec<&str> = detail["alerts"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["key"].as_str())
        .collect();
    keys.sort_unstable();
    // w1 and op1 involve 10.0.0.1 (A's PLC); b1 is site B's and involves other addresses.
    assert_eq!(keys, ["op1", "w1"], "{detail}");
    assert_eq!(detail["alerts"]["total"], 2);
    let hmi = console
        .get_json(&format!("/api/v1/devices/{}", seeded.hmi_a), &analyst_a)
        .await;
    assert_eq!(hmi["alerts"]["total"], 2, "the HMI is the alerts' source");
    let station = console
        .call(
            Method::GET,
            &format!("/api/v1/devices/{}", seeded.station_b),
            &analyst_a,
            None,
        )
        .await;
    assert_eq!(station.status, StatusCode::NOT_FOUND, "site B's device");

    let browser = console.sign_in("ann").await;
    let page = console
        .call(
            Method::GET,
            &format!("/devices/{}", seeded.plc_a),
            &browser,
            None,
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("Alerts (2)"), "{html}");
    assert!(html.contains("policy.unauthorized_write from 10.0.0.2"));
    let w1 = alert_id(&console, &analyst_a, "w1").await;
    assert!(html.contains(&format!("href=\"/alerts/{w1}\"")));
}
