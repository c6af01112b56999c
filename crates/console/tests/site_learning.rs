//! A site's learning mode through the API and the Sites page: new sites learn for the
//! configured period, analysts start and end it (audited), site scope holds, the page shows the
//! state with Start/End forms (CSRF), and sensors read their own site's baseline entries.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::{Method, StatusCode};
use common::{As, TestConsole};
use ironward_model::AlertEngine;
use serde_json::Value;

async fn audit_actions(console: &TestConsole) -> Vec<(String, String, String)> {
    console
        .store
        .list_audit(1000, 0)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| (e.action, e.target, e.detail))
        .collect()
}

async fn post(console: &TestConsole, who: &As, path: &str, body: &str) -> (StatusCode, Value) {
    let answer = console.call(Method::POST, path, who, Some(body)).await;
    let value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    (answer.status, value)
}

#[tokio::test]
async fn sites_learn_by_default_and_on_demand_within_their_scope() {
    let console = TestConsole::new().await;
    let seeded = console.seed_two_sites().await;
    let (_, admin) = console.user("root", "admin", &[]).await;
    let (_, analyst_a) = console.user("ann", "analyst", &[seeded.site_a]).await;
    let (_, viewer) = console.user("vic", "viewer", &[]).await;

    // A site created through the API learns for the default period (7 days).
    let (status, site) = post(&console, &admin, "/api/v1/sites", r#"{"name":"Plant C"}"#).await;
    assert_eq!(status, StatusCode::CREATED, "{site}");
    let c = site["id"].as_i64().unwrap();
    let state = console
        .get_json(&format!("/api/v1/sites/{c}/learning"), &viewer)
        .await;
    assert_eq!(state["learning"], true, "{state}");
    let until = ironward_model::Timestamp::parse_rfc3339(state["until"].as_str().unwrap()).unwrap();
    let week = 7 * 86_400 * 1_000_000_000_i64;
    let now = ironward_console::state::now();
    assert!((until.as_nanos() - now.as_nanos() - week).abs() < 60 * 1_000_000_000);

    // The seeded sites never learned.
    let a = seeded.site_a.0;
    let state = console
        .get_json(&format!("/api/v1/sites/{a}/learning"), &analyst_a)
        .await;
    assert_eq!(state["until"], Value::Null);
    assert_eq!(state["learning"], false);

    // An analyst of site A starts learning there, for an hour; not in site B (404).
    let path = format!("/api/v1/sites/{a}/learning");
    let (status, state) = post(&console, &analyst_a, &path, r#"{"duration_s":3600}"#).await;
    assert_eq!(status, StatusCode::OK, "{state}");
    assert_eq!(state["learning"], true);
    let b = seeded.site_b.0;
    let (status, _) = post(
        &console,
        &analyst_a,
        &format!("/api/v1/sites/{b}/learning"),
        r#"{"duration_s":3600}"#,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = post(&console, &viewer, &path, r#"{"stop":true}"#).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for bad in [
        r#"{}"#,
        r#"{"duration_s":0}"#,
        r#"{"duration_s":99999999999}"#,
        r#"{"duration_s":5,"stop":true}"#,
        r#"{"stop":false}"#,
        r#"{"until":"x"}"#,
    ] {
        let (status, answer) = post(&console, &analyst_a, &path, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {answer}");
    }

    // While A learns, a sensor's policy alert becomes a baseline entry; an anomaly alerts.
    let alert = |id: &str, kind: &str, engine| ironward_model::Alert {
        id: id.to_owned(),
        kind: kind.to_owned(),
        title: kind.to_owned(),
        description: String::new(),
        engine,
        severity: ironward_model::Severity::Major,
        src_ip: Some("10.0.0.5".parse().unwrap()),
        dst_ip: Some("10.0.0.1".parse().unwrap()),
        devices: Vec::new(),
        protocol: Some("modbus".to_owned()),
        techniques: Vec::new(),
        evidence: Vec::new(),
        remediation: String::new(),
        count: 1,
        first_seen: common::seed_time(10),
        last_seen: common::seed_time(10),
        pcap: None,
    };
    let mut batch: ironward_model::Batch = serde_json::from_value(serde_json::json!({
        "id": "learning-1",
        "created": common::seed_time(100),
        "devices": [],
        "connections": [],
        "events": []
    }))
    .unwrap();
    batch.alerts = vec![
        alert("p1", "policy.new_connection", AlertEngine::Policy),
        alert("s1", "anomaly.port_scan", AlertEngine::Anomaly),
    ];
    let outcome = console
        .store
        .ingest_batch(seeded.sensor_a, &batch, ironward_console::state::now())
        .await
        .unwrap();
    let ironward_store::IngestOutcome::Committed(counts) = outcome else {
        panic!("duplicate")
    };
    assert_eq!((counts.alerts, counts.alerts_learned), (1, 1));
    let state = console.get_json(&path, &analyst_a).await;
    assert_eq!(state["learned"], 1, "{state}");
    assert_eq!(state["baseline_version"], 1, "{state}");

    // The Sites page shows it, with the forms; ending through the page's form is audited.
    let session = console.sign_in("ann").await;
    let page = console.call(Method::GET, "/sites", &session, None).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("Learning"), "{html}");
    assert!(html.contains("End learning") && html.contains("Restart learning"));
    assert!(html.contains(&format!("action=\"/sites/{a}/learning\"")));
    let As::Session { csrf, .. } = &session else {
        unreachable!()
    };
    let answer = console
        .call(
            Method::POST,
            &format!("/sites/{a}/learning"),
            &session,
            Some(&format!("_csrf={csrf}&stop=1")),
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text());
    let state = console.get_json(&path, &analyst_a).await;
    assert_eq!(state["learning"], false, "{state}");
    assert!(state["until"].is_string(), "ending keeps the time: {state}");
    let answer = console
        .call(
            Method::POST,
            &format!("/sites/{a}/learning"),
            &session,
            Some(&format!("_csrf={csrf}&days=2")),
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(console.get_json(&path, &analyst_a).await["learning"], true);

    let audit = audit_actions(&console).await;
    let learning: Vec<&(String, String, String)> = audit
        .iter()
        .filter(|(a, _, _)| a == "site.learning")
        .collect();
    assert_eq!(learning.len(), 3, "{audit:?}");
    assert!(learning.iter().any(|(_, _, d)| d == "stop"));
    assert!(learning.iter().all(|(_, t, _)| t == &format!("site:{a}")));
}

#[tokio::test]
async fn a_sensor_reads_its_own_site_s_baseline_and_state() {
    let console = TestConsole::new().await;
    let seeded = console.seed_two_sites().await;
    let (_, admin) = console.user("root", "admin", &[]).await;
    // Both sites learn; their sensors' policy alerts become entries: two in A, one in B.
    let now = ironward_console::state::now();
    let later = ironward_model::Timestamp(now.as_nanos() + 3_600_000_000_000);
    for site in [seeded.site_a, seeded.site_b] {
        console
            .store
            .set_site_learning(&ironward_store::Scope::All, site, later)
            .await
            .unwrap();
    }
    for (sensor, id, dsts) in [
        (seeded.sensor_a, "a-1", &["10.0.0.1", "10.0.0.2"][..]),
        (seeded.sensor_b, "b-1", &["10.1.0.1"][..]),
    ] {
        let alerts: Vec<Value> = dsts
            .iter()
            .map(|dst| {
                serde_json::json!({
                    "id": format!("n-{dst}"), "kind": "policy.new_connection",
                    "title": "New connection", "description": "", "engine": "policy",
                    "severity": "minor", "src_ip": "10.9.9.9", "dst_ip": dst,
                    "protocol": "modbus", "count": 1,
                    "first_seen": common::seed_time(5), "last_seen": common::seed_time(5)
                })
            })
            .collect();
        let batch: ironward_model::Batch = serde_json::from_value(serde_json::json!({
            "id": id, "created": common::seed_time(10), "devices": [], "connections": [],
            "events": [], "alerts": alerts
        }))
        .unwrap();
        console
            .store
            .ingest_batch(sensor, &batch, now)
            .await
            .unwrap();
    }
    let all = console.get_json("/api/v1/baseline", &admin).await;
    assert_eq!(all["total"], 3, "{all}");
    let in_a = 2;

    // A sensor of site A reads site A's entries only.
    let token = console
        .store
        .create_enrollment_token(
            &ironward_store::Scope::All,
            seeded.zone_a,
            "sensor-a2",
            ironward_model::Timestamp(now.as_nanos() + 3_600_000_000_000),
            None,
            now,
        )
        .await
        .unwrap();
    let (_, credential) = console.store.enroll(&token, now).await.unwrap();
    let answer = console
        .call(
            Method::GET,
            "/api/v1/sensor/baseline",
            &As::Token(credential),
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let page = answer.json();
    assert_eq!(page["total"].as_u64().unwrap() as usize, in_a, "{page}");
    assert_eq!(page["entries"].as_array().unwrap().len(), in_a);
    assert!(page["baseline_version"].as_i64().unwrap() >= in_a as i64);
    assert!(page["learning_until"].is_string(), "{page}");
    // A user's token is not a sensor credential.
    let answer = console
        .call(Method::GET, "/api/v1/sensor/baseline", &admin, None)
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_baseline_page_lists_a_site_s_entries_and_deletes_them() {
    let console = TestConsole::new().await;
    let seeded = console.seed_two_sites().await;
    console.user("ann", "analyst", &[seeded.site_a]).await;
    let (a, b) = (seeded.site_a.0, seeded.site_b.0);
    let entry = |src: &str| ironward_store::BaselineImport {
        kind: "policy.new_device".to_owned(),
        src: src.to_owned(),
        dst: String::new(),
        protocol: String::new(),
        detail: format!("New device {src}"),
    };
    for (site, src) in [(seeded.site_a, "10.0.0.77"), (seeded.site_b, "10.1.0.77")] {
        console
            .store
            .import_baseline(
                &ironward_store::Scope::All,
                site,
                &[entry(src)],
                "test",
                ironward_console::state::now(),
            )
            .await
            .unwrap();
    }
    let session = console.sign_in("ann").await;
    let page = console
        .call(Method::GET, &format!("/sites/{a}/baseline"), &session, None)
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("New device 10.0.0.77"), "{html}");
    assert!(!html.contains("10.1.0.77"));
    assert!(html.contains(&format!("/api/v1/baseline/export?site={a}")));
    let listed = console
        .get_json(&format!("/api/v1/baseline?site={a}"), &session)
        .await;
    let id = listed["items"][0]["id"].as_i64().unwrap();
    let action = format!("/sites/{a}/baseline/{id}/delete");
    assert!(html.contains(&format!("action=\"{action}\"")), "{html}");
    // Site B is not hers.
    let other = console
        .call(Method::GET, &format!("/sites/{b}/baseline"), &session, None)
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    let As::Session { csrf, .. } = &session else {
        unreachable!()
    };
    let answer = console
        .call(
            Method::POST,
            &action,
            &session,
            Some(&format!("_csrf={csrf}")),
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text());
    let listed = console
        .get_json(&format!("/api/v1/baseline?site={a}"), &session)
        .await;
    assert_eq!(listed["total"], 0);
    let audit = audit_actions(&console).await;
    assert!(audit
        .iter()
        .any(|(action, target, _)| action == "baseline.delete"
            && target == &format!("baseline:{id}")));
}
