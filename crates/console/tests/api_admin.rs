//! The administrative API: sites and zones, sensors and enrolment tokens, groups, users, the
//! caller's tokens and profile, the audit log. Every change writes an audit row; passwords and
//! tokens never appear in an answer (except the one-time token creation) nor in the log.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::{Method, StatusCode};
use common::{ids, As, TestConsole, PASSWORD};
use serde_json::Value;

async fn send(
    console: &TestConsole,
    method: Method,
    path: &str,
    who: &As,
    body: Option<&str>,
) -> (StatusCode, Value) {
    let answer = console.call(method, path, who, body).await;
    let value = if answer.body.is_empty() {
        Value::Null
    } else {
        answer.json()
    };
    (answer.status, value)
}

/// The audit rows, newest first, as (action, target, detail).
async fn audit(console: &TestConsole, admin: &As) -> Vec<(String, String, String)> {
    let log = console.get_json("/api/v1/audit?limit=1000", admin).await;
    log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["target"].as_str().unwrap().to_owned(),
                e["detail"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn error_of(value: &Value) -> &str {
    value["error"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn sites_and_zones_lifecycle_with_audit() {
    let console = TestConsole::new().await;
    let (_, admin) = console.user("admin", "admin", &[]).await;
    let post = |path: &'static str, body: &'static str| {
        let console = &console;
        let admin = &admin;
        async move { send(console, Method::POST, path, admin, Some(body)).await }
    };

    let (status, site) = post("/api/v1/sites", r#"{"name":"Plant North"}"#).await;
    assert_eq!(status, StatusCode::CREATED);
    let site_id = site["id"].as_i64().unwrap();
    assert_eq!(site["name"], "Plant North");
    let (status, body) = post("/api/v1/sites", r#"{"name":"Plant North"}"#).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = post("/api/v1/sites", r#"{"name":" padded "}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_of(&body).contains("name"));
    let (status, body) = post("/api/v1/sites", r#"{"title":"x"}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        error_of(&body).contains("title") || error_of(&body).contains("name"),
        "{body}"
    );
    let (status, _) = post("/api/v1/sites", "{not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let site_path = format!("/api/v1/sites/{site_id}");
    let (status, site) = send(
        &console,
        Method::PATCH,
        &site_path,
        &admin,
        Some(r#"{"name":"Plant South"}"#),
    )
    .await;
    assert_eq!(
        (status, site["name"].as_str()),
        (StatusCode::OK, Some("Plant South"))
    );
    assert_eq!(
        console.get_json(&site_path, &admin).await["name"],
        "Plant South"
    );

    let zones_path = format!("{site_path}/zones");
    let (status, zone) = send(
        &console,
        Method::POST,
        &zones_path,
        &admin,
        Some(r#"{"name":"Cell 1"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let zone_id = zone["id"].as_i64().unwrap();
    assert_eq!(zone["site_id"], site_id);
    let (status, _) = send(
        &console,
        Method::POST,
        &zones_path,
        &admin,
        Some(r#"{"name":"Cell 1"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = send(
        &console,
        Method::POST,
        "/api/v1/sites/999/zones",
        &admin,
        Some(r#"{"name":"Z"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        ids(&console.get_json(&zones_path, &admin).await),
        vec![zone_id]
    );
    let zone_path = format!("/api/v1/zones/{zone_id}");
    let (status, zone) = send(
        &console,
        Method::PATCH,
        &zone_path,
        &admin,
        Some(r#"{"name":"Cell 2"}"#),
    )
    .await;
    assert_eq!(
        (status, zone["name"].as_str()),
        (StatusCode::OK, Some("Cell 2"))
    );

    // A zone with a sensor cannot go (409); without it, it can (204).
    let (status, token) = send(
        &console,
        Method::POST,
        "/api/v1/enrollment-tokens",
        &admin,
        Some(&format!(r#"{{"zone":{zone_id},"name":"s1"}}"#)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, enrolled) = send(
        &console,
        Method::POST,
        "/api/v1/sensors/enroll",
        &As::Nobody,
        Some(&format!(
            r#"{{"token":"{}"}}"#,
            token["token"].as_str().unwrap()
        )),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{enrolled}");
    let sensor_id = enrolled["sensor_id"].as_i64().unwrap();
    let (status, body) = send(&console, Method::DELETE, &zone_path, &admin, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = send(&console, Method::DELETE, &site_path, &admin, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, _) = send(
        &console,
        Method::DELETE,
        &format!("/api/v1/sensors/{sensor_id}"),
        &admin,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = send(
        &console,
        Method::DELETE,
        &format!("/api/v1/sensors/{sensor_id}"),
        &admin,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send(&console, Method::DELETE, &zone_path, &admin, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = send(&console, Method::DELETE, &zone_path, &admin, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send(&console, Method::DELETE, &site_path, &admin, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = send(&console, Method::GET, &site_path, &admin, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = send(&console, Method::GET, "/api/v1/sites/north", &admin, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    let actions: Vec<String> = audit(&console, &admin)
        .await
        .into_iter()
        .map(|a| a.0)
        .collect();
    for action in [
        "site.create",
        "site.rename",
        "zone.create",
        "zone.rename",
        "enrollment_token.create",
        "sensor.enroll",
        "sensor.delete",
        "zone.delete",
        "site.delete",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} not in {actions:?}"
        );
    }
}

#[tokio::test]
async fn sensors_show_status_and_tokens_give_the_exact_command() {
    let console = TestConsole::new().await;
    let s = console.seed_two_sites().await;
    let (_, admin) = console.user("admin", "admin", &[]).await;

    let sensors = console.get_json("/api/v1/sensors", &admin).await;
    assert_eq!(sensors["total"], 2);
    let a = console
        .get_json(&format!("/api/v1/sensors/{}", s.sensor_a), &admin)
        .await;
    assert_eq!(a["name"], "sensor-a");
    assert_eq!(a["status"], "online");
    assert_eq!(a["health"]["packets_per_second"], 12.5);
    assert_eq!(a["site"], "Plant A");

    let (status, token) = send(
        &console,
        Method::POST,
        "/api/v1/enrollment-tokens",
        &admin,
        Some(&format!(
            r#"{{"zone":{},"name":"sensor-c","expires_in_hours":2}}"#,
            s.zone_a
        )),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let secret = token["token"].as_str().unwrap().to_owned();
    assert_eq!(
        token["command"],
        format!(
            "ironward sensor --console https://localhost:8443 --enroll-token {secret} \
             --console-fingerprint sha256:test --data /var/lib/ironward-sensor --interface <IFACE>"
        )
    );
    assert!(token["expires_at"].is_string());
    // A fresh sensor has never reported: offline.
    let (status, enrolled) = send(
        &console,
        Method::POST,
        "/api/v1/sensors/enroll",
        &As::Nobody,
        Some(&format!(r#"{{"token":"{secret}"}}"#)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let c = console
        .get_json(
            &format!("/api/v1/sensors/{}", enrolled["sensor_id"]),
            &admin,
        )
        .await;
    assert_eq!(c["status"], "offline");

    for (body, status, name) in [
        (
            format!(r#"{{"zone":{},"name":"x","expires_in_hours":0}}"#, s.zone_a),
            StatusCode::BAD_REQUEST,
            "expires_in_hours",
        ),
        (
            format!(
                r#"{{"zone":{},"name":"x","expires_in_hours":100000}}"#,
                s.zone_a
            ),
            StatusCode::BAD_REQUEST,
            "expires_in_hours",
        ),
        (
            r#"{"zone":"one","name":"x"}"#.to_owned(),
            StatusCode::BAD_REQUEST,
            "zone",
        ),
        (
            format!(r#"{{"zone":{}}}"#, s.zone_a),
            StatusCode::BAD_REQUEST,
            "name",
        ),
        (
            r#"{"zone":99999,"name":"x"}"#.to_owned(),
            StatusCode::NOT_FOUND,
            "",
        ),
    ] {
        let (got, value) = send(
            &console,
            Method::POST,
            "/api/v1/enrollment-tokens",
            &admin,
            Some(&body),
        )
        .await;
        assert_eq!(got, status, "{body}: {value}");
        assert!(error_of(&value).contains(name), "{body}: {value}");
    }
    // The token is in no other answer and not in the audit log.
    let log = console
        .call(Method::GET, "/api/v1/audit", &admin, None)
        .await
        .text();
    assert!(!log.contains(&secret));
    let sensors = console
        .call(Method::GET, "/api/v1/sensors", &admin, None)
        .await
        .text();
    assert!(!sensors.contains(&secret));
}

#[tokio::test]
async fn groups_and_members() {
    let console = TestConsole::new().await;
    let s = console.seed_two_sites().await;
    let (_, analyst) = console.user("analyst", "analyst", &[]).await;
    let (_, viewer_a) = console.user("viewer-a", "viewer", &[s.site_a]).await;

    let (status, group) = send(
        &console,
        Method::POST,
        "/api/v1/groups",
        &analyst,
        Some(r#"{"name":"crown jewels","description":"PLCs"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = group["id"].as_i64().unwrap();
    let (status, _) = send(
        &console,
        Method::POST,
        "/api/v1/groups",
        &analyst,
        Some(r#"{"name":"crown jewels"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let members = format!("/api/v1/groups/{id}/members");
    for device in [s.plc_a, s.plc_b] {
        let (status, _) = send(
            &console,
            Method::POST,
            &members,
            &analyst,
            Some(&format!(r#"{{"device":{device}}}"#)),
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    let (status, _) = send(
        &console,
        Method::POST,
        &members,
        &analyst,
        Some(r#"{"device":999999}"#),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = send(
        &console,
        Method::POST,
        &members,
        &analyst,
        Some(r#"{"device":"plc"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_of(&body).contains("device"), "{body}");
    let (status, _) = send(
        &console,
        Method::POST,
        "/api/v1/groups/999/members",
        &analyst,
        Some(&format!(r#"{{"device":{}}}"#, s.plc_a)),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let all = console.get_json(&members, &analyst).await;
    assert_eq!(all["total"], 2);
    // The viewer of site A sees the group but only A's member.
    assert_eq!(
        console.get_json("/api/v1/groups", &viewer_a).await["total"],
        1
    );
    assert_eq!(
        ids(&console.get_json(&members, &viewer_a).await),
        vec![s.plc_a]
    );

    let (status, _) = send(
        &console,
        Method::DELETE,
        &format!("{members}/{}", s.plc_b),
        &analyst,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        ids(&console.get_json(&members, &analyst).await),
        vec![s.plc_a]
    );
    let (status, _) = send(
        &console,
        Method::DELETE,
        &format!("/api/v1/groups/{id}"),
        &analyst,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = send(
        &console,
        Method::DELETE,
        &format!("/api/v1/groups/{id}"),
        &analyst,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send(&console, Method::GET, &members, &analyst, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (_, admin) = console.user("admin", "admin", &[]).await;
    let actions: Vec<String> = audit(&console, &admin)
        .await
        .into_iter()
        .map(|a| a.0)
        .collect();
    for action in [
        "group.create",
        "group.member.add",
        "group.member.remove",
        "group.delete",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action}");
    }
}

#[tokio::test]
async fn users_are_managed_without_ever_showing_a_password() {
    let console = TestConsole::new().await;
    let s = console.seed_two_sites().await;
    let (admin_id, admin) = console.user("admin", "admin", &[]).await;
    // The password the sign-in helper types.
    let secret_password = PASSWORD;

    let body = format!(
        r#"{{"name":"olga","role":"operator","sites":[{}],"password":"{secret_password}"}}"#,
        s.site_a
    );
    let answer = console
        .call(Method::POST, "/api/v1/users", &admin, Some(&body))
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text());
    assert!(!answer.text().contains(secret_password) && !answer.text().contains("argon2"));
    let olga = answer.json();
    let olga_id = olga["id"].as_i64().unwrap();
    assert_eq!(olga["role"], "operator");
    assert_eq!(olga["sites"], serde_json::json!([s.site_a.0]));
    assert_eq!(olga["locked"], false);
    let (status, _) = send(&console, Method::POST, "/api/v1/users", &admin, Some(&body)).await;
    assert_eq!(status, StatusCode::CONFLICT);

    for (body, name) in [
        (
            r#"{"name":"x","role":"root","password":"long enough pw"}"#,
            "role",
        ),
        (
            r#"{"name":"x","role":"viewer","password":"short"}"#,
            "password",
        ),
        (
            r#"{"name":"x","role":"viewer","sites":[999],"password":"long enough pw"}"#,
            "sites",
        ),
        (r#"{"name":"x","role":"viewer"}"#, "password"),
        (
            r#"{"name":"","role":"viewer","password":"long enough pw"}"#,
            "name",
        ),
    ] {
        let (status, value) =
            send(&console, Method::POST, "/api/v1/users", &admin, Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(error_of(&value).contains(name), "{body}: {value}");
    }

    // The new user signs in with that password (argon2id verifies it) and sees site A only.
    let olga_session = console.sign_in("olga").await;
    let devices = console.get_json("/api/v1/devices", &olga_session).await;
    assert_eq!(devices["total"], 2);

    let user_path = format!("/api/v1/users/{olga_id}");
    let (status, updated) = send(
        &console,
        Method::PATCH,
        &user_path,
        &admin,
        Some(r#"{"role":"analyst","sites":[]}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            updated["role"].as_str(),
            updated["sites"].as_array().map(Vec::len)
        ),
        (Some("analyst"), Some(0))
    );
    let (status, _) = send(
        &console,
        Method::PATCH,
        &user_path,
        &admin,
        Some(&format!(r#"{{"password":"{secret_password} 2"}}"#)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, value) = send(&console, Method::PATCH, &user_path, &admin, Some("{}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{value}");
    let (status, _) = send(
        &console,
        Method::PATCH,
        "/api/v1/users/99999",
        &admin,
        Some(r#"{"role":"viewer"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Administrators keep their own administration.
    let own = format!("/api/v1/users/{}", admin_id.0);
    let (status, _) = send(
        &console,
        Method::PATCH,
        &own,
        &admin,
        Some(r#"{"role":"viewer"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = send(&console, Method::DELETE, &own, &admin, None).await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Locked out by failed logins, unlocked by an administrator.
    for _ in 0..5 {
        console
            .store
            .record_login_failure(
                ironward_store::UserId(olga_id),
                ironward_console::state::now(),
                5,
                std::time::Duration::from_secs(600),
            )
            .await
            .unwrap();
    }
    let users = console.get_json("/api/v1/users", &admin).await;
    let locked = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == olga_id)
        .unwrap()
        .clone();
    assert_eq!(locked["locked"], true);
    let (status, unlocked) = send(
        &console,
        Method::POST,
        &format!("{user_path}/unlock"),
        &admin,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            unlocked["locked"].as_bool(),
            unlocked["failed_logins"].as_i64()
        ),
        (Some(false), Some(0))
    );
    let (status, _) = send(
        &console,
        Method::POST,
        "/api/v1/users/99999/unlock",
        &admin,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, _) = send(&console, Method::DELETE, &user_path, &admin, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = send(&console, Method::DELETE, &user_path, &admin, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let everything = [
        console
            .call(Method::GET, "/api/v1/users", &admin, None)
            .await
            .text(),
        console
            .call(Method::GET, "/api/v1/audit?limit=1000", &admin, None)
            .await
            .text(),
    ]
    .concat();
    assert!(!everything.contains(secret_password));
    assert!(!everything.contains("argon2") && !everything.contains("password_hash"));
    let actions: Vec<String> = audit(&console, &admin)
        .await
        .into_iter()
        .map(|a| a.0)
        .collect();
    for action in ["user.create", "user.update", "user.unlock", "user.delete"] {
        assert!(actions.iter().any(|a| a == action), "{action}");
    }
}

#[tokio::test]
async fn own_tokens_show_their_secret_once_and_can_be_revoked() {
    let console = TestConsole::new().await;
    let (_, viewer) = console.user("vera", "viewer", &[]).await;
    let (_, other) = console.user("otto", "viewer", &[]).await;

    let me = console.get_json("/api/v1/me", &viewer).await;
    assert_eq!(
        (me["name"].as_str(), me["role"].as_str()),
        (Some("vera"), Some("viewer"))
    );
    assert_eq!(me["sites"], Value::Null);
    assert_eq!(me["authenticated_by"], "api_token");
    let permissions = me["permissions"].as_array().unwrap();
    assert!(permissions.contains(&Value::from("view_inventory")));
    assert!(!permissions.contains(&Value::from("manage_users")));

    let answer = console
        .call(
            Method::POST,
            "/api/v1/tokens",
            &viewer,
            Some(r#"{"name":"grafana"}"#),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED);
    let created = answer.json();
    let secret = created["secret"].as_str().unwrap().to_owned();
    let token_id = created["id"].as_i64().unwrap();
    assert_eq!(created["name"], "grafana");
    let new = As::Token(secret.clone());
    assert_eq!(console.get_json("/api/v1/me", &new).await["name"], "vera");

    let listed = console
        .call(Method::GET, "/api/v1/tokens", &viewer, None)
        .await;
    assert_eq!(listed.json()["total"], 2);
    assert!(!listed.text().contains(&secret));
    assert!(!listed.text().contains("hash"));
    // Someone else's token is not found, and theirs is not listed.
    assert_eq!(console.get_json("/api/v1/tokens", &other).await["total"], 1);
    let (status, _) = send(
        &console,
        Method::DELETE,
        &format!("/api/v1/tokens/{token_id}"),
        &other,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, value) = send(
        &console,
        Method::POST,
        "/api/v1/tokens",
        &viewer,
        Some(r#"{"name":""}"#),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_of(&value).contains("name"));

    let (status, _) = send(
        &console,
        Method::DELETE,
        &format!("/api/v1/tokens/{token_id}"),
        &viewer,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let refused = console.call(Method::GET, "/api/v1/me", &new, None).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let (status, _) = send(
        &console,
        Method::DELETE,
        &format!("/api/v1/tokens/{token_id}"),
        &viewer,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (_, admin) = console.user("admin", "admin", &[]).await;
    let log = console
        .call(Method::GET, "/api/v1/audit?limit=1000", &admin, None)
        .await
        .text();
    assert!(!log.contains(&secret));
    let actions: Vec<String> = audit(&console, &admin)
        .await
        .into_iter()
        .map(|a| a.0)
        .collect();
    assert!(actions.iter().any(|a| a == "token.create"));
    assert!(actions.iter().any(|a| a == "token.revoke"));
}

#[tokio::test]
async fn sessions_need_the_csrf_token_to_change_anything() {
    let console = TestConsole::new().await;
    console.user("admin", "admin", &[]).await;
    let session = console.sign_in("admin").await;
    let As::Session { cookie, csrf } = session.clone() else {
        unreachable!()
    };
    assert!(!csrf.is_empty(), "the home page carries the CSRF token");
    let me = console.get_json("/api/v1/me", &session).await;
    assert_eq!(me["authenticated_by"], "session");
    let forged = As::Session {
        cookie,
        csrf: "forged".to_owned(),
    };
    let (status, _) = send(
        &console,
        Method::POST,
        "/api/v1/sites",
        &forged,
        Some(r#"{"name":"X"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = send(
        &console,
        Method::POST,
        "/api/v1/sites",
        &session,
        Some(r#"{"name":"X"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn audit_log_pages_newest_first_with_who_and_where() {
    let console = TestConsole::new().await;
    let (_, admin) = console.user("admin", "admin", &[]).await;
    for name in ["S1", "S2", "S3"] {
        let (status, _) = send(
            &console,
            Method::POST,
            "/api/v1/sites",
            &admin,
            Some(&format!(r#"{{"name":"{name}"}}"#)),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let page = console.get_json("/api/v1/audit?limit=2", &admin).await;
    assert_eq!(page["total"], 3);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["detail"], "name \"S3\"");
    assert_eq!(items[0]["user_name"], "admin");
    assert_eq!(items[0]["address"], "0.0.0.0");
    assert_eq!(items[0]["outcome"], "ok");
    let rest = console
        .get_json("/api/v1/audit?limit=2&offset=2", &admin)
        .await;
    assert_eq!(rest["items"][0]["detail"], "name \"S1\"");
    let (status, value) = send(&console, Method::GET, "/api/v1/audit?limit=x", &admin, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_of(&value).contains("limit"));
}

/// An administrator restricted to site A manages only users of site A and grants only A.
#[tokio::test]
async fn a_site_admin_manages_only_their_sites_users() {
    let console = TestConsole::new().await;
    let s = console.seed_two_sites().await;
    let (_, admin_a) = console.user("admin-a", "admin", &[s.site_a]).await;
    let (b_user, _) = console.user("bert", "viewer", &[s.site_b]).await;
    let (everywhere, _) = console.user("eve", "viewer", &[]).await;

    let listed = console.get_json("/api/v1/users", &admin_a).await;
    let names: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin-a"]);
    for id in [b_user.0, everywhere.0] {
        for (method, path, body) in [
            (
                Method::PATCH,
                format!("/api/v1/users/{id}"),
                Some(r#"{"role":"admin"}"#),
            ),
            (Method::DELETE, format!("/api/v1/users/{id}"), None),
            (Method::POST, format!("/api/v1/users/{id}/unlock"), None),
        ] {
            let (status, _) = send(&console, method.clone(), &path, &admin_a, body).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
        }
    }
    for sites in [
        "[]".to_owned(),
        format!("[{}]", s.site_b),
        format!("[{},{}]", s.site_a, s.site_b),
    ] {
        let body = format!(
            r#"{{"name":"new","role":"admin","sites":{sites},"password":"long enough pw"}}"#
        );
        let (status, value) = send(
            &console,
            Method::POST,
            "/api/v1/users",
            &admin_a,
            Some(&body),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{sites}: {value}");
        assert!(error_of(&value).contains("sites"));
    }
    let body = format!(
        r#"{{"name":"new","role":"operator","sites":[{}],"password":"long enough pw"}}"#,
        s.site_a
    );
    let (status, created) = send(
        &console,
        Method::POST,
        "/api/v1/users",
        &admin_a,
        Some(&body),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let path = format!("/api/v1/users/{}", created["id"]);
    let (status, _) = send(
        &console,
        Method::PATCH,
        &path,
        &admin_a,
        Some(&format!(r#"{{"sites":[{}]}}"#, s.site_b)),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // A refused password changes nothing else either.
    let (status, _) = send(
        &console,
        Method::PATCH,
        &path,
        &admin_a,
        Some(r#"{"role":"viewer","password":"short"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        console.get_json("/api/v1/users", &admin_a).await["items"][1]["role"],
        "operator"
    );
}
