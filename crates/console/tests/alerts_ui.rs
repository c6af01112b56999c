//! The alert pages: list with badges and bulk form, detail with evidence and actions,
//! exclusions and custom rules forms — CSRF-protected, audited, role- and site-checked, and
//! free of inline script and style (CSP).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::{header, Method, StatusCode};
use common::{seed_time, As, TestConsole};
use ironward_model::{Alert, AlertEngine, Batch, DeviceId, Evidence, Severity, Technique};
use ironward_store::{AlertQuery, IngestOutcome, Scope, SensorId};

fn alert(id: &str, kind: &str, engine: AlertEngine) -> Alert {
    Alert {
        id: id.to_owned(),
        kind: kind.to_owned(),
        title: format!("Title of {id}"),
        description: "Described <b>here</b>".to_owned(),
        engine,
        severity: Severity::Critical,
        src_ip: Some("10.0.0.2".parse().unwrap()),
        dst_ip: Some("10.0.0.1".parse().unwrap()),
        devices: vec![DeviceId("ip:10.0.0.2".to_owned())],
        protocol: Some("s7comm".to_owned()),
        techniques: vec![Technique {
            id: "T0816".to_owned(),
            name: "Device Restart/Shutdown".to_owned(),
        }],
        evidence: vec![Evidence {
            time: seed_time(30),
            summary: "PLC STOP request".to_owned(),
            frame: Some(12),
        }],
        remediation: "Put the PLC back in RUN.".to_owned(),
        count: 1,
        first_seen: seed_time(30),
        last_seen: seed_time(40),
        pcap: None,
    }
}

async fn deliver(console: &TestConsole, sensor: SensorId, id: &str, alerts: Vec<Alert>) {
    let batch = Batch {
        id: id.to_owned(),
        created: seed_time(50),
        devices: vec![],
        connections: vec![],
        events: vec![],
        alerts,
        alert_captures: Vec::new(),
        health: None,
    };
    let outcome = console
        .store
        .ingest_batch(sensor, &batch, seed_time(50))
        .await
        .unwrap();
    assert!(matches!(outcome, IngestOutcome::Committed(_)));
}

async fn id_of(console: &TestConsole, key: &str) -> i64 {
    let page = console
        .store
        .query_alerts(&AlertQuery::new(Scope::All))
        .await
        .unwrap();
    page.items
        .iter()
        .find(|a| a.key.as_deref() == Some(key))
        .unwrap()
        .id
        .0
}

fn no_inline_script_or_style(html: &str) {
    assert!(!html.contains("style=\""), "inline style");
    assert!(!html.contains("<script>"), "inline script");
    assert!(!html.contains(" onclick="), "inline handler");
}

#[tokio::test]
async fn pages_show_alerts_and_forms_change_them() {
    let console = TestConsole::new().await;
    let seeded = console.seed_two_sites().await;
    deliver(
        &console,
        seeded.sensor_a,
        "a1",
        vec![
            alert("stop", "policy.plc_stop", AlertEngine::Policy),
            alert("down", "operational.no_answer", AlertEngine::Operational),
        ],
    )
    .await;
    deliver(
        &console,
        seeded.sensor_b,
        "b1",
        vec![alert("bscan", "anomaly.port_scan", AlertEngine::Anomaly)],
    )
    .await;
    console.user("ann", "analyst", &[seeded.site_a]).await;
    console.user("otto", "operator", &[]).await;
    let ann = console.sign_in("ann").await;
    let otto = console.sign_in("otto").await;
    let stop = id_of(&console, "stop").await;
    let down = id_of(&console, "down").await;
    let bscan = id_of(&console, "bscan").await;

    // The list: A's alerts with badges and checkboxes, never B's.
    let list = console.call(Method::GET, "/alerts", &ann, None).await;
    assert_eq!(list.status, StatusCode::OK);
    let html = list.text();
    no_inline_script_or_style(&html);
    assert!(html.contains("Title of stop"));
    assert!(html.contains("badge critical"));
    assert!(html.contains(&format!("name=\"ids\" value=\"{stop}\"")));
    assert!(!html.contains("Title of bscan"));
    assert!(html.contains("href=\"/alerts\""), "navigation entry");
    let filtered = console
        .call(Method::GET, "/alerts?engine=operational", &ann, None)
        .await
        .text();
    assert!(filtered.contains("Title of down") && !filtered.contains("Title of stop"));
    assert_eq!(
        console
            .call(Method::GET, &format!("/alerts/{bscan}"), &ann, None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // The detail: evidence, technique, remediation, escaped description, the actions.
    let detail = console
        .call(Method::GET, &format!("/alerts/{stop}"), &ann, None)
        .await;
    assert_eq!(detail.status, StatusCode::OK);
    let html = detail.text();
    no_inline_script_or_style(&html);
    for text in [
        "PLC STOP request",
        "T0816",
        "Put the PLC back in RUN.",
        "Described &lt;b&gt;here",
    ] {
        assert!(html.contains(text), "{text}");
    }
    assert!(html.contains(&format!("action=\"/alerts/{stop}/learn\"")));

    // Actions through the forms, with the session's CSRF token.
    let answer = console
        .call(
            Method::POST,
            &format!("/alerts/{stop}/action"),
            &ann,
            Some("action=active"),
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text());
    let answer = console
        .call(
            Method::POST,
            &format!("/alerts/{stop}/comments"),
            &ann,
            Some("text=called+the+plant"),
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let html = console
        .call(Method::GET, &format!("/alerts/{stop}"), &ann, None)
        .await
        .text();
    assert!(html.contains("called the plant"));
    let v = console
        .store
        .get_alert(&Scope::All, ironward_store::AlertId(stop))
        .await
        .unwrap();
    assert_eq!(v.status, "active");

    // Bulk: mute both of A's alerts (repeated ids fields, as a browser sends them).
    let answer = console
        .call(
            Method::POST,
            "/alerts/bulk",
            &ann,
            Some(&format!("ids={stop}&ids={down}&action=mute")),
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text());
    for id in [stop, down] {
        let v = console
            .store
            .get_alert(&Scope::All, ironward_store::AlertId(id))
            .await
            .unwrap();
        assert!(v.muted);
    }
    // B's alert is out of ann's reach in a bulk action too.
    let answer = console
        .call(
            Method::POST,
            "/alerts/bulk",
            &ann,
            Some(&format!("ids={bscan}&action=closed")),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);

    // The operator: operational alerts only; no learn.
    let answer = console
        .call(
            Method::POST,
            &format!("/alerts/{stop}/action"),
            &otto,
            Some("action=closed"),
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    let answer = console
        .call(
            Method::POST,
            &format!("/alerts/{down}/action"),
            &otto,
            Some("action=closed"),
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let answer = console
        .call(
            Method::POST,
            &format!("/alerts/{down}/learn"),
            &otto,
            Some("x=1"),
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);

    // Learn from the page.
    let answer = console
        .call(
            Method::POST,
            &format!("/alerts/{stop}/learn"),
            &ann,
            Some("x=1"),
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text());
    let v = console
        .store
        .get_alert(&Scope::All, ironward_store::AlertId(stop))
        .await
        .unwrap();
    assert_eq!(v.status, "closed");

    // Exclusions and custom rules pages.
    let site = seeded.site_a.0;
    let answer = console
        .call(
            Method::POST,
            "/exclusions",
            &ann,
            Some(&format!(
                "site_id={site}&name=IT+scanner&subnet=10.9.0.0%2F16&engine=&weekdays=5%2C6"
            )),
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text());
    let html = console
        .call(Method::GET, "/exclusions", &ann, None)
        .await
        .text();
    no_inline_script_or_style(&html);
    assert!(html.contains("IT scanner") && html.contains("10.9.0.0/16"));
    let answer = console
        .call(
            Method::POST,
            "/exclusions",
            &ann,
            Some(&format!("site_id={site}&name=all")),
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.text().contains("at least one criterion"));
    let answer = console
        .call(
            Method::POST,
            "/alert-rules",
            &ann,
            Some(&format!(
                "site_id={site}&title=Setpoint+write&protocol=modbus&operation=*&severity=major"
            )),
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text());
    let html = console
        .call(Method::GET, "/alert-rules", &ann, None)
        .await
        .text();
    no_inline_script_or_style(&html);
    assert!(html.contains("Setpoint write"));
    let answer = console
        .call(
            Method::POST,
            "/alert-rules",
            &otto,
            Some(&format!(
                "site_id={site}&title=x&protocol=modbus&operation=*&severity=major"
            )),
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);

    // Without the CSRF token, nothing changes.
    let As::Session { cookie, .. } = &ann else {
        panic!("session")
    };
    let request = axum::http::Request::builder()
        .method(Method::POST)
        .uri(format!("/alerts/{down}/action"))
        .header(header::COOKIE, format!("iw_session={cookie}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(axum::body::Body::from("action=new"))
        .unwrap();
    assert_eq!(console.send(request).await.status, StatusCode::FORBIDDEN);

    // Audited like the API.
    let log = console.store.list_audit(100, 0).await.unwrap();
    let actions: Vec<String> = log.items.iter().map(|e| e.action.clone()).collect();
    for a in [
        "alert.status",
        "alert.comment",
        "alert.mute",
        "alert.learn",
        "exclusion.create",
        "alert_rule.create",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
}
