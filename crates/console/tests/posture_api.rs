//! Exposure management through the API, in process: recommendations and initiatives of the
//! caller's sites only (lists, details, history and every CSV), scores worked out by hand, a
//! recommendation state set by an analyst (audited, reflected in the score of its site's view
//! only, cleared again), weights and targets by administrators (audited, reflected), favourites
//! per user, and the history the job stores read back per site.
//!
//! The inventory: site A ("Plant A") has a PLC with Telnet and a clean HMI; site B ("Plant B")
//! a PLC with SNMP v1/v2c and an engineering station with FTP — four OT devices, no IoT device.
//! OT metrics (High 3, Medium 2, Low 1): unprotected H, insecure protocols M, critical
//! vulnerabilities H, known exploited H, unauthorized M, internet H, unsupported M, unused
//! services L, IT write access H — Σw = 22. Only "insecure protocols" has affected devices, so a
//! view's score is (20·100 + 2·p) / 22 with p its progress: A 50 → 95.4545…, B 0 → 90.9090…,
//! all sites 25 (3 of 4) → 93.1818…

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::{Method, StatusCode};
use common::{seed_batch, seed_device, As, TestConsole};
use ironward_console::posture_job::PostureJob;
use ironward_model::Timestamp;
use ironward_store::{Scope, SiteId};
use serde_json::Value;

struct Plant {
    console: TestConsole,
    a: SiteId,
    b: SiteId,
    admin: As,
    analyst_a: As,
    viewer_a: As,
    operator: As,
}

fn close(value: &Value, expected: f64) -> bool {
    value.as_f64().is_some_and(|v| (v - expected).abs() < 1e-6)
}

fn device(ip: &str, name: &str, kind: &str, findings: &[&str]) -> ironward_model::Device {
    let mut device = seed_device(ip, name, "Acme", kind, &[], &[]);
    device.findings = findings.iter().map(|f| (*f).to_owned()).collect();
    device
}

async fn plant() -> Plant {
    let console = TestConsole::new().await;
    let store = &console.store;
    let now = ironward_console::state::now();
    let mut sites = Vec::new();
    for (site, server, client) in [
        (
            "Plant A",
            device("10.0.0.1", "plc-a", "plc", &["telnet_in_use"]),
            device("10.0.0.2", "hmi-a", "hmi", &[]),
        ),
        (
            "Plant B",
            device("10.1.0.1", "plc-b", "plc", &["snmp_v1_v2c"]),
            device(
                "10.1.0.2",
                "station-b",
                "engineering_workstation",
                &["ftp_cleartext"],
            ),
        ),
    ] {
        let created = store.create_site(site, now).await.unwrap();
        let zone = store
            .create_zone(&Scope::All, created.id, "cell", now)
            .await
            .unwrap();
        let expires = Timestamp(now.as_nanos() + 3_600_000_000_000);
        let token = store
            .create_enrollment_token(&Scope::All, zone.id, site, expires, None, now)
            .await
            .unwrap();
        let sensor = store.enroll(&token, now).await.unwrap().0;
        let batch = seed_batch(&format!("batch-{site}").replace(' ', "-"), server, client);
        store.ingest_batch(sensor.id, &batch, now).await.unwrap();
        sites.push(created.id);
    }
    let (a, b) = (sites[0], sites[1]);
    let (_, admin) = console.user("admin", "admin", &[]).await;
    let (_, analyst_a) = console.user("analyst-a", "analyst", &[a]).await;
    let (_, viewer_a) = console.user("viewer-a", "viewer", &[a]).await;
    let (_, operator) = console.user("operator", "operator", &[]).await;
    Plant {
        console,
        a,
        b,
        admin,
        analyst_a,
        viewer_a,
        operator,
    }
}

fn item<'a>(list: &'a Value, id: &str) -> &'a Value {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id)
        .unwrap_or_else(|| panic!("{id} not in {list}"))
}

fn metric<'a>(initiative: &'a Value, id: &str) -> &'a Value {
    initiative["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id)
        .unwrap_or_else(|| panic!("{id} not in {initiative}"))
}

impl Plant {
    async fn ot_score(&self, who: &As, query: &str) -> Value {
        let list = self
            .console
            .get_json(&format!("/api/v1/initiatives{query}"), who)
            .await;
        item(&list, "ot-security")["score"].clone()
    }

    async fn text(&self, path: &str, who: &As) -> String {
        let answer = self.console.call(Method::GET, path, who, None).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.text());
        answer.text()
    }

    async fn put(&self, path: &str, who: &As, body: &str) -> common::Answer {
        self.console.call(Method::PUT, path, who, Some(body)).await
    }

    async fn audit_actions(&self) -> Vec<(String, String, String)> {
        let log = self
            .console
            .get_json("/api/v1/audit?limit=1000", &self.admin)
            .await;
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["action"].as_str().unwrap_or_default().to_owned(),
                    e["user_name"].as_str().unwrap_or_default().to_owned(),
                    e["target"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }
}

#[tokio::test]
async fn each_caller_sees_the_posture_of_their_sites_only() {
    let p = plant().await;
    let c = &p.console;

    // Initiatives: the issue's keys, scores by view.
    let all = c.get_json("/api/v1/initiatives", &p.admin).await;
    assert_eq!(all["total"], 2);
    assert_eq!(all["has_data"], true);
    let ot = item(&all, "ot-security");
    assert_eq!(ot["name"], "OT Security");
    assert!(close(&ot["score"], 2050.0 / 22.0), "{}", ot["score"]);
    assert!(ot["target"].is_number());
    assert_eq!(ot["trend"].as_array().unwrap().len(), 14);
    assert_eq!(ot["favourite"], false);
    let insecure = metric(ot, "ot-insecure-protocols");
    for key in [
        "name",
        "weight",
        "affected",
        "total",
        "progress",
        "score_impact",
    ] {
        assert!(!insecure[key].is_null(), "{key} in {insecure}");
    }
    assert_eq!(
        (insecure["affected"].as_u64(), insecure["total"].as_u64()),
        (Some(3), Some(4))
    );
    assert_eq!(insecure["weight"], "medium");
    assert!(close(&insecure["progress"], 25.0));
    // Fully fixed: (22·100) / 22 − 93.18… = 6.8181…
    assert!(close(&insecure["score_impact"], 100.0 - 2050.0 / 22.0));
    // No IoT device: no applicable metric, no score.
    let iot = item(&all, "enterprise-iot-security");
    assert!(iot["score"].is_null(), "{iot}");

    assert!(close(&p.ot_score(&p.analyst_a, "").await, 2100.0 / 22.0));
    assert!(close(
        &p.ot_score(&p.admin, &format!("?site={}", p.b.0)).await,
        2000.0 / 22.0
    ));
    assert!(close(
        &p.ot_score(&p.admin, &format!("?site={}", p.a.0)).await,
        2100.0 / 22.0
    ));
    // Another site is not found, like a missing one; a malformed one is named.
    let other = c
        .call(
            Method::GET,
            &format!("/api/v1/initiatives?site={}", p.b.0),
            &p.analyst_a,
            None,
        )
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    let bad = c
        .call(
            Method::GET,
            "/api/v1/initiatives?site=north",
            &p.admin,
            None,
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.text().contains("site"), "{}", bad.text());
    // An unknown group has no devices: nothing applies, no score.
    assert!(p.ot_score(&p.admin, "?group=999").await.is_null());

    // Site A's caller: no trace of B's devices anywhere.
    let a_initiatives = c.get_json("/api/v1/initiatives", &p.analyst_a).await;
    let a_ot = item(&a_initiatives, "ot-security");
    assert_eq!(
        metric(a_ot, "ot-insecure-protocols")["affected_devices"],
        serde_json::json!(["ip:10.0.0.1"])
    );
    let recommendations = c.get_json("/api/v1/recommendations", &p.viewer_a).await;
    let telnet = item(&recommendations, "telnet-disable");
    assert_eq!(telnet["domain"], "ot");
    assert_eq!(telnet["state"], "active");
    assert!(telnet["severity"].is_string() && telnet["title"].is_string());
    assert_eq!(
        telnet["devices"],
        serde_json::json!([{ "id": "ip:10.0.0.1", "ip": "10.0.0.1", "name": "plc-a" }])
    );
    // Fixing Telnet in A: 22·100 / 22 − 95.45… = 4.5454…
    assert!(close(&telnet["score_impact"], 100.0 - 2100.0 / 22.0));
    assert_eq!(
        item(&recommendations, "snmp-v1-v2-remove")["state"],
        "resolved"
    );
    for (path, who) in [
        ("/api/v1/initiatives", &p.analyst_a),
        ("/api/v1/initiatives/ot-security", &p.analyst_a),
        ("/api/v1/recommendations", &p.viewer_a),
        ("/api/v1/recommendations/snmp-v1-v2-remove", &p.viewer_a),
        ("/api/v1/recommendations.csv", &p.viewer_a),
        (
            "/api/v1/recommendations/snmp-v1-v2-remove/devices.csv",
            &p.viewer_a,
        ),
        (
            "/api/v1/recommendations/ftp-disable/devices.csv",
            &p.analyst_a,
        ),
        ("/api/v1/initiatives.csv", &p.analyst_a),
        ("/api/v1/initiatives/ot-security/metrics.csv", &p.analyst_a),
    ] {
        let text = p.text(path, who).await;
        assert!(!text.contains("10.1.0."), "{path} shows site B: {text}");
        assert!(!text.contains("station-b"), "{path} shows site B: {text}");
    }
    // The administrator sees B's devices in the same places.
    let snmp = c
        .get_json("/api/v1/recommendations/snmp-v1-v2-remove", &p.admin)
        .await;
    assert_eq!(snmp["devices"][0]["id"], "ip:10.1.0.1");
    assert_eq!(snmp["domains"], serde_json::json!(["ot"]));
    let csv = p
        .text(
            "/api/v1/recommendations/snmp-v1-v2-remove/devices.csv",
            &p.admin,
        )
        .await;
    assert_eq!(
        csv,
        "recommendation,domain,device,ip,name\r\nsnmp-v1-v2-remove,ot,ip:10.1.0.1,10.1.0.1,plc-b\r\n"
    );

    // Filters and CSV columns.
    let active = c
        .get_json("/api/v1/recommendations?state=active", &p.admin)
        .await;
    let ids: Vec<&str> = active["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
    for id in ["telnet-disable", "snmp-v1-v2-remove", "ftp-disable"] {
        assert!(ids.contains(&id), "{ids:?}");
    }
    assert_eq!(active["total"], 3);
    let page = c
        .get_json(
            "/api/v1/recommendations?state=active&limit=1&offset=1",
            &p.admin,
        )
        .await;
    assert_eq!(
        (page["items"].as_array().unwrap().len(), &page["total"]),
        (1, &Value::from(3))
    );
    let bad = c
        .call(
            Method::GET,
            "/api/v1/recommendations?severity=urgent",
            &p.admin,
            None,
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.text().contains("severity"), "{}", bad.text());
    let csv = p
        .text("/api/v1/recommendations.csv?state=active", &p.analyst_a)
        .await;
    let mut lines = csv.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("id,title,severity,domain,state,score_impact,devices"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 1, "{csv}");
    assert!(rows[0].starts_with("telnet-disable,"), "{csv}");
    let metrics = p
        .text("/api/v1/initiatives/ot-security/metrics.csv", &p.analyst_a)
        .await;
    assert!(metrics.contains("ot-security,95.5,ot-insecure-protocols,OT devices using insecure protocols,medium,1,2,50.0"), "{metrics}");
    let missing = c
        .call(
            Method::GET,
            "/api/v1/recommendations/no-such-thing",
            &p.admin,
            None,
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let missing = c
        .call(
            Method::GET,
            "/api/v1/initiatives/no-such-thing",
            &p.admin,
            None,
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_recommendation_state_is_audited_and_counts_in_its_sites_view() {
    let p = plant().await;
    let c = &p.console;
    let path = "/api/v1/recommendations/telnet-disable/state";

    // Only analysts and administrators; a reason is required; the site must be the caller's.
    for who in [&p.viewer_a, &p.operator] {
        let answer = p
            .put(
                path,
                who,
                r#"{"state":"risk_accepted","reason":"isolated"}"#,
            )
            .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN);
    }
    let answer = p
        .put(path, &p.analyst_a, r#"{"state":"risk_accepted"}"#)
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.text().contains("reason"), "{}", answer.text());
    let answer = p
        .put(path, &p.analyst_a, r#"{"state":"ignored","reason":"x"}"#)
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let answer = p
        .put(
            path,
            &p.analyst_a,
            r#"{"state":"exception","reason":"x","expires_at":"2001-01-01T00:00:00Z"}"#,
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let answer = p
        .put(
            path,
            &p.analyst_a,
            &format!(
                r#"{{"state":"risk_accepted","reason":"x","site":{}}}"#,
                p.b.0
            ),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    let answer = p
        .put(
            "/api/v1/recommendations/no-such-thing/state",
            &p.analyst_a,
            r#"{"state":"risk_accepted","reason":"x"}"#,
        )
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert!(
        !p.audit_actions()
            .await
            .iter()
            .any(|(action, ..)| action == "recommendation.state"),
        "a refused change is not recorded as made"
    );

    // Site A's analyst accepts Telnet for A (their only site): A's insecure-protocol metric
    // drops to 0 of 2 → (22·100) / 22 = 100.
    let answer = p
        .put(
            path,
            &p.analyst_a,
            r#"{"state":"risk_accepted","reason":"isolated cell, replacement ordered","expires_at":"2099-01-01T00:00:00Z"}"#,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let body = answer.json();
    assert_eq!(body["state"], "risk_accepted");
    assert_eq!(body["state_detail"]["author"], "analyst-a");
    assert_eq!(
        body["state_detail"]["reason"],
        "isolated cell, replacement ordered"
    );
    assert_eq!(body["state_detail"]["expires_at"], "2099-01-01T00:00:00Z");
    assert_eq!(body["score_impact"], 0.0);
    assert!(close(&p.ot_score(&p.analyst_a, "").await, 100.0));
    assert!(close(
        &p.ot_score(&p.admin, &format!("?site={}", p.a.0)).await,
        100.0
    ));
    // The all-sites view applies all-sites states only: unchanged.
    assert!(close(&p.ot_score(&p.admin, "").await, 2050.0 / 22.0));
    let filtered = c
        .get_json("/api/v1/recommendations?state=risk_accepted", &p.viewer_a)
        .await;
    assert_eq!(filtered["total"], 1);
    let audit = p.audit_actions().await;
    assert!(
        audit.contains(&(
            "recommendation.state".to_owned(),
            "analyst-a".to_owned(),
            format!("recommendation:telnet-disable site:{}", p.a.0)
        )),
        "{audit:?}"
    );

    // An administrator accepts it for every site: the all-sites view now counts 2 of 4
    // (B's PLC and station) → (20·100 + 2·50) / 22 = 95.4545…
    let answer = p
        .put(
            path,
            &p.admin,
            r#"{"state":"exception","reason":"compensating firewall"}"#,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert!(close(&p.ot_score(&p.admin, "").await, 2100.0 / 22.0));

    // Back to active in A: A's view follows the all-sites exception, still 100.
    let answer = p.put(path, &p.analyst_a, r#"{"state":"active"}"#).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(answer.json()["state"], "exception");
    assert!(close(&p.ot_score(&p.analyst_a, "").await, 100.0));
    // And for all sites: Telnet counts again everywhere.
    let answer = p.put(path, &p.admin, r#"{"state":"active"}"#).await;
    assert_eq!(answer.json()["state"], "active");
    assert!(close(&p.ot_score(&p.analyst_a, "").await, 2100.0 / 22.0));
    assert!(close(&p.ot_score(&p.admin, "").await, 2050.0 / 22.0));
    let audit = p.audit_actions().await;
    assert_eq!(
        audit
            .iter()
            .filter(|(a, ..)| a == "recommendation.state")
            .count(),
        4,
        "{audit:?}"
    );
}

#[tokio::test]
async fn administrators_set_weights_and_targets() {
    let p = plant().await;

    let weight = "/api/v1/metrics/ot-insecure-protocols/weight";
    let answer = p.put(weight, &p.analyst_a, r#"{"weight":"low"}"#).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    let answer = p.put(weight, &p.admin, r#"{"weight":"huge"}"#).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let answer = p
        .put(
            "/api/v1/metrics/no-such-metric/weight",
            &p.admin,
            r#"{"weight":"low"}"#,
        )
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    // Low: Σw = 21, A: (20·100 + 1·50) / 21 = 97.6190…
    let answer = p.put(weight, &p.admin, r#"{"weight":"low"}"#).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text());
    let list = p
        .console
        .get_json("/api/v1/initiatives", &p.analyst_a)
        .await;
    let ot = item(&list, "ot-security");
    assert!(close(&ot["score"], 2050.0 / 21.0), "{}", ot["score"]);
    assert_eq!(metric(ot, "ot-insecure-protocols")["weight"], "low");
    // Risk accepted: left out, A scores (20·100) / 20 = 100.
    let answer = p
        .put(weight, &p.admin, r#"{"weight":"risk_accepted"}"#)
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert!(close(&p.ot_score(&p.analyst_a, "").await, 100.0));

    let target = "/api/v1/initiatives/ot-security/target";
    assert_eq!(
        p.put(target, &p.analyst_a, r#"{"target":90}"#).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        p.put(target, &p.admin, r#"{"target":150}"#).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        p.put(target, &p.admin, r#"{"target":90}"#).await.status,
        StatusCode::NO_CONTENT
    );
    let list = p.console.get_json("/api/v1/initiatives", &p.viewer_a).await;
    assert_eq!(item(&list, "ot-security")["target"], 90.0);

    let audit = p.audit_actions().await;
    assert!(
        audit.contains(&(
            "metric.weight".to_owned(),
            "admin".to_owned(),
            "metric:ot-insecure-protocols".to_owned()
        )),
        "{audit:?}"
    );
    assert!(
        audit.contains(&(
            "initiative.target".to_owned(),
            "admin".to_owned(),
            "initiative:ot-security".to_owned()
        )),
        "{audit:?}"
    );
}

#[tokio::test]
async fn favourites_belong_to_each_user() {
    let p = plant().await;
    let c = &p.console;
    let favourite = "/api/v1/initiatives/enterprise-iot-security/favourite";
    let first = |list: &Value| list["items"][0]["id"].as_str().unwrap().to_owned();

    assert_eq!(
        first(&c.get_json("/api/v1/initiatives", &p.viewer_a).await),
        "ot-security"
    );
    let answer = c.call(Method::PUT, favourite, &p.viewer_a, None).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text());
    // Twice is still one favourite.
    let answer = c.call(Method::PUT, favourite, &p.viewer_a, None).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    let mine = c.get_json("/api/v1/initiatives", &p.viewer_a).await;
    assert_eq!(first(&mine), "enterprise-iot-security");
    assert_eq!(mine["items"][0]["favourite"], true);
    assert_eq!(mine["items"][1]["favourite"], false);
    // Someone else's list is untouched.
    let theirs = c.get_json("/api/v1/initiatives", &p.admin).await;
    assert_eq!(first(&theirs), "ot-security");
    assert_eq!(item(&theirs, "enterprise-iot-security")["favourite"], false);
    let one = c
        .get_json("/api/v1/initiatives/enterprise-iot-security", &p.viewer_a)
        .await;
    assert_eq!(one["favourite"], true);

    let answer = c.call(Method::DELETE, favourite, &p.viewer_a, None).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert_eq!(
        first(&c.get_json("/api/v1/initiatives", &p.viewer_a).await),
        "ot-security"
    );
    let answer = c
        .call(
            Method::PUT,
            "/api/v1/initiatives/no-such/favourite",
            &p.viewer_a,
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn history_is_read_per_site() {
    let p = plant().await;
    let c = &p.console;
    let mut job = PostureJob::new();
    let round = job
        .run_once(&c.store, ironward_console::state::now())
        .await
        .unwrap();
    assert_eq!(round.changes, 6, "{round:?}");

    let path = "/api/v1/initiatives/ot-security/history";
    let mine = c.get_json(path, &p.analyst_a).await;
    assert_eq!(mine["total"], 1);
    assert_eq!(mine["history_site"], p.a.0);
    let change = &mine["items"][0];
    assert!(change["from"].is_null());
    assert!(close(&change["to"], 2100.0 / 22.0));
    let reasons = change["reasons"].as_array().unwrap();
    assert!(
        reasons
            .iter()
            .any(|r| r["kind"] == "devices_added" && r["count"] == 2 && r["text"].is_string()),
        "{reasons:?}"
    );
    let text = mine.to_string();
    assert!(text.contains("ip:10.0.0.1"), "{text}");
    assert!(!text.contains("10.1.0."), "{text}");
    // The initiative's trend has today's score.
    let list = c.get_json("/api/v1/initiatives", &p.analyst_a).await;
    let trend = item(&list, "ot-security")["trend"]
        .as_array()
        .unwrap()
        .clone();
    assert!(close(&trend[13]["score"], 2100.0 / 22.0), "{trend:?}");
    assert!(trend[12]["score"].is_null());

    // B's history for the administrator; not found for A's analyst.
    let theirs = c
        .get_json(&format!("{path}?site={}", p.b.0), &p.admin)
        .await;
    assert!(theirs.to_string().contains("ip:10.1.0.1"));
    let refused = c
        .call(
            Method::GET,
            &format!("{path}?site={}", p.b.0),
            &p.analyst_a,
            None,
        )
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    // The administrator's own view is all sites.
    let all = c.get_json(path, &p.admin).await;
    assert!(all["history_site"].is_null());
    assert!(close(&all["items"][0]["to"], 2050.0 / 22.0));

    let csv = p
        .text("/api/v1/initiatives/ot-security/history.csv", &p.analyst_a)
        .await;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "time,initiative,from,to,score_drop,reasons,top_assets"
    );
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[1].contains(",ot-security,,95.5,false,"), "{csv}");
    assert!(!csv.contains("10.1.0."), "{csv}");
}

#[tokio::test]
async fn the_openapi_document_names_slug_parameters_as_text() {
    let p = plant().await;
    let doc = p
        .console
        .get_json("/api/v1/openapi.json", &p.viewer_a)
        .await;
    for (path, method, name) in [
        ("/api/v1/initiatives/{initiative}", "get", "initiative"),
        (
            "/api/v1/recommendations/{recommendation}/state",
            "put",
            "recommendation",
        ),
        ("/api/v1/metrics/{metric}/weight", "put", "metric"),
    ] {
        let parameters = doc["paths"][path][method]["parameters"].as_array().unwrap();
        let parameter = parameters.iter().find(|p| p["name"] == name).unwrap();
        assert_eq!(parameter["schema"]["type"], "string", "{path}");
    }
    let device = &doc["paths"]["/api/v1/devices/{id}"]["get"]["parameters"][0];
    assert_eq!(device["schema"]["type"], "integer");
    let state = &doc["paths"]["/api/v1/recommendations/{recommendation}/state"]["put"];
    assert_eq!(
        state["x-ironward-permission"], "manage_recommendations",
        "{state}"
    );
}

/// Enrolls a sensor in a new zone of `site` and returns its credential.
async fn sensor_of(p: &Plant, site: SiteId, zone: &str) -> (ironward_store::SensorId, String) {
    let store = &p.console.store;
    let now = ironward_console::state::now();
    let zone = store
        .create_zone(&Scope::All, site, zone, now)
        .await
        .unwrap();
    let token = store
        .create_enrollment_token(
            &Scope::All,
            zone.id,
            "extra",
            Timestamp(now.as_nanos() + 3_600_000_000_000),
            None,
            now,
        )
        .await
        .unwrap();
    let (sensor, credential) = store.enroll(&token, now).await.unwrap();
    (sensor.id, credential)
}

/// A batch of `devices` only (no connections, no events).
fn devices_batch(id: &str, devices: Vec<ironward_model::Device>) -> ironward_model::Batch {
    let mut batch = seed_batch(id, devices[0].clone(), devices[0].clone());
    batch.devices = devices;
    batch.connections.clear();
    batch.events.clear();
    batch
}

#[tokio::test]
async fn cached_views_never_cross_scopes() {
    let p = plant().await;
    let (_, viewer_b) = p.console.user("viewer-b", "viewer", &[p.b]).await;
    let site_b = format!("?site={}", p.b.0);
    // Each caller asks again and again, in turn: each answer is that caller's view only.
    for _ in 0..3 {
        assert!(close(&p.ot_score(&p.viewer_a, "").await, 2100.0 / 22.0));
        assert!(close(&p.ot_score(&p.admin, "").await, 2050.0 / 22.0));
        assert!(close(&p.ot_score(&viewer_b, "").await, 2000.0 / 22.0));
        assert!(close(&p.ot_score(&p.admin, &site_b).await, 2000.0 / 22.0));
        // Site A's user cannot reach B's view, cached for others or not.
        let answer = p
            .console
            .call(
                Method::GET,
                &format!("/api/v1/initiatives{site_b}"),
                &p.viewer_a,
                None,
            )
            .await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND);
    }
    // One kept view per question: site A, all sites, site B's user, all sites filtered on B.
    assert_eq!(p.console.state.posture_cache().len(), 4);
}

#[tokio::test]
async fn a_change_is_visible_on_the_next_request() {
    let p = plant().await;
    let c = &p.console;
    assert!(close(&p.ot_score(&p.admin, "").await, 2050.0 / 22.0));

    // Written behind the console's back (no nudge): the kept answer is served, which shows
    // that it is kept.
    let (sensor, credential) = sensor_of(&p, p.a, "cell-2").await;
    let quiet = devices_batch(
        "quiet",
        vec![device("10.0.2.1", "plc-a2", "plc", &["telnet_in_use"])],
    );
    c.store
        .ingest_batch(sensor, &quiet, ironward_console::state::now())
        .await
        .unwrap();
    assert!(close(&p.ot_score(&p.admin, "").await, 2050.0 / 22.0));

    // An ingest through the API is seen by the very next request, with the write before it:
    // 4 of 6 devices with insecure protocols → (2000 + 2·100/3) / 22.
    let batch = devices_batch("loud", vec![device("10.0.2.2", "hmi-a2", "hmi", &[])]);
    let answer = c
        .call(
            Method::POST,
            "/api/v1/ingest",
            &As::Token(credential),
            Some(&serde_json::to_string(&batch).unwrap()),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let score = p.ot_score(&p.admin, "").await;
    assert!(close(&score, (2000.0 + 200.0 / 3.0) / 22.0), "{score}");

    // A group's members change the view narrowed to it at once.
    let group = c
        .call(
            Method::POST,
            "/api/v1/groups",
            &p.admin,
            Some(r#"{"name":"cell A","description":""}"#),
        )
        .await;
    assert_eq!(group.status, StatusCode::CREATED, "{}", group.text());
    let group = group.json()["id"].as_i64().unwrap();
    let narrowed = format!("?group={group}");
    assert!(p.ot_score(&p.admin, &narrowed).await.is_null());
    let plc_a = c.get_json("/api/v1/devices?limit=100", &p.admin).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d.to_string().contains("\"plc-a\""))
        .map(|d| d["id"].as_i64().unwrap())
        .expect("plc-a listed");
    let answer = c
        .call(
            Method::POST,
            &format!("/api/v1/groups/{group}/members"),
            &p.admin,
            Some(&format!(r#"{{"device":{plc_a}}}"#)),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text());
    // Its one device has insecure protocols: (20·100 + 2·0) / 22.
    let score = p.ot_score(&p.admin, &narrowed).await;
    assert!(close(&score, 2000.0 / 22.0), "{score}");
}
