#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The forwarding and playbook API: administrators only, destinations validated, secrets never
//! shown back or audited, every change audited.

mod common;

use axum::http::{Method, StatusCode};
use common::TestConsole;

#[tokio::test]
async fn rules_and_playbooks_are_validated_and_secrets_never_shown() {
    let console = TestConsole::new().await;
    let (_, admin) = console.user("root", "admin", &[]).await;
    let (_, analyst) = console.user("ana", "analyst", &[]).await;
    let secret = "very-secret-hmac-key";

    let hook = serde_json::json!({
        "name": "SOAR",
        "filter": {"min_severity": "major", "engines": ["policy", "malware"]},
        "destination": {"type": "webhook", "url": "https://soar.example/hook",
                        "tls": {"fingerprint": format!("sha256:{}", "ab".repeat(32))}},
        "secret": secret,
    })
    .to_string();
    let created = console
        .call(
            Method::POST,
            "/api/v1/forwarding/rules",
            &admin,
            Some(&hook),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let rule = created.json();
    assert_eq!(rule["has_secret"], true);
    assert!(!created.text().contains(secret));
    let again = console
        .call(
            Method::POST,
            "/api/v1/forwarding/rules",
            &admin,
            Some(&hook),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    let listed = console
        .call(Method::GET, "/api/v1/forwarding/rules", &admin, None)
        .await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.json()["total"], 1);
    assert!(!listed.text().contains(secret));
    let forbidden = console
        .call(Method::GET, "/api/v1/forwarding/rules", &analyst, None)
        .await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);

    for (destination, why) in [
        (
            serde_json::json!({"type": "syslog", "host": "siem", "port": 6514,
            "transport": "tls", "format": "cef"}),
            "TLS without CA or pin",
        ),
        (
            serde_json::json!({"type": "syslog", "host": "siem", "port": 0,
            "transport": "udp", "format": "cef"}),
            "port 0",
        ),
        (
            serde_json::json!({"type": "syslog", "host": "siem", "port": 514,
            "transport": "udp", "format": "xml"}),
            "unknown format",
        ),
        (
            serde_json::json!({"type": "webhook", "url": "http://soar/hook"}),
            "webhook without secret",
        ),
        (
            serde_json::json!({"type": "email", "host": "mail", "port": 587,
            "from": "not an address", "to": ["soc@x.example"], "tls": {"ca_pem": "x"}}),
            "bad sender",
        ),
    ] {
        let body = serde_json::json!({"name": "bad", "destination": destination}).to_string();
        let answer = console
            .call(
                Method::POST,
                "/api/v1/forwarding/rules",
                &admin,
                Some(&body),
            )
            .await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{why}: {}",
            answer.text()
        );
    }

    let id = rule["id"].as_i64().unwrap();
    let disabled = console
        .call(
            Method::POST,
            &format!("/api/v1/forwarding/rules/{id}/enabled"),
            &admin,
            Some(r#"{"enabled": false}"#),
        )
        .await;
    assert_eq!(disabled.status, StatusCode::OK);
    assert_eq!(disabled.json()["enabled"], false);

    let playbook = serde_json::json!({
        "name": "escalate",
        "filter": {"engines": ["malware"]},
        "actions": [
            {"type": "notify", "rule": id},
            {"type": "webhook", "url": "http://tickets.example/new", "secret": secret},
            {"type": "raise_severity", "to": "critical"},
            {"type": "close_as_expected"}
        ],
    })
    .to_string();
    let created = console
        .call(Method::POST, "/api/v1/playbooks", &admin, Some(&playbook))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    assert!(!created.text().contains(secret));
    assert_eq!(created.json()["actions"][1]["has_secret"], true);
    let pid = created.json()["id"].as_i64().unwrap();
    let listed = console
        .call(Method::GET, "/api/v1/playbooks", &admin, None)
        .await;
    assert!(!listed.text().contains(secret));
    for bad in [
        serde_json::json!([{"type": "notify", "rule": 999}]),
        serde_json::json!([{"type": "group", "group": 999}]),
        serde_json::json!([{"type": "raise_severity", "to": "urgent"}]),
        serde_json::json!([{"type": "launch_missiles"}]),
        serde_json::json!([]),
    ] {
        let body = serde_json::json!({"name": "bad", "actions": bad}).to_string();
        let answer = console
            .call(Method::POST, "/api/v1/playbooks", &admin, Some(&body))
            .await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{bad}: {}",
            answer.text()
        );
    }
    let disabled = console
        .call(
            Method::POST,
            &format!("/api/v1/playbooks/{pid}/enabled"),
            &admin,
            Some(r#"{"enabled": false}"#),
        )
        .await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.text());
    assert_eq!(disabled.json()["enabled"], false);
    assert!(!disabled.text().contains(secret));
    let missing = console
        .call(
            Method::POST,
            "/api/v1/playbooks/999/enabled",
            &admin,
            Some(r#"{"enabled": true}"#),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let runs = console
        .call(
            Method::GET,
            &format!("/api/v1/playbooks/{pid}/runs"),
            &admin,
            None,
        )
        .await;
    assert_eq!(
        (runs.status, runs.json()["total"].as_i64()),
        (StatusCode::OK, Some(0))
    );
    let status = console
        .call(Method::GET, "/api/v1/forwarding/status", &admin, None)
        .await;
    assert_eq!(status.json()["queued"], 0);

    for path in [
        format!("/api/v1/playbooks/{pid}"),
        format!("/api/v1/forwarding/rules/{id}"),
    ] {
        let answer = console.call(Method::DELETE, &path, &admin, None).await;
        assert_eq!(answer.status, StatusCode::NO_CONTENT, "{path}");
        let answer = console.call(Method::DELETE, &path, &admin, None).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
    }

    let audit = console.store.list_audit(100, 0).await.unwrap();
    let actions: Vec<&str> = audit.items.iter().map(|e| e.action.as_str()).collect();
    for action in [
        "forwarding.rule.create",
        "forwarding.rule.enable",
        "forwarding.rule.delete",
        "playbook.create",
        "playbook.enable",
        "playbook.delete",
    ] {
        assert!(actions.contains(&action), "{action} audited: {actions:?}");
    }
    assert!(!serde_json::to_string(&audit.items)
        .unwrap()
        .contains(secret));
}
