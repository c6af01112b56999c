//! The UI's forms: they need the session's CSRF token (header or `_csrf` field) and fail with
//! 403 without it; success redirects (303), failure re-renders the form with a message; every
//! change lands in the audit log; the enrolment form shows the exact command, once, with a
//! token that enrols a sensor.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/ui_seed.rs"]
mod ui_seed;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::{Answer, As, TestConsole};
use ironward_store::Scope;
use ui_seed::{assert_no_inline_code, seed_ui_world};

async fn post(console: &TestConsole, who: &As, path: &str, form: &str) -> Answer {
    console.call(Method::POST, path, who, Some(form)).await
}

fn location(answer: &Answer) -> &str {
    answer.headers[header::LOCATION].to_str().unwrap()
}

async fn audit_actions(console: &TestConsole) -> Vec<(String, String, String)> {
    console
        .store
        .list_audit(1000, 0)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| (e.action, e.target, e.outcome))
        .collect()
}

#[tokio::test]
async fn forms_need_the_csrf_token() {
    let console = TestConsole::new().await;
    console.user("root", "admin", &[]).await;
    let session = console.sign_in("root").await;
    let As::Session { cookie, csrf } = &session else {
        unreachable!()
    };
    assert!(!csrf.is_empty());
    // Without the token (or with a wrong one): 403, nothing created.
    for wrong in ["", "not-the-token"] {
        let forged = As::Session {
            cookie: cookie.clone(),
            csrf: wrong.to_owned(),
        };
        let answer = post(&console, &forged, "/sites", "name=Forged").await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN);
        assert!(answer.text().contains("Form expired"));
    }
    let request = Request::builder()
        .method(Method::POST)
        .uri("/sites")
        .header(header::COOKIE, format!("iw_session={cookie}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("name=Forged"))
        .unwrap();
    assert_eq!(console.send(request).await.status, StatusCode::FORBIDDEN);
    assert!(console
        .store
        .list_sites(&Scope::All)
        .await
        .unwrap()
        .is_empty());
    // With the form's hidden field, as a browser sends it: created.
    let request = Request::builder()
        .method(Method::POST)
        .uri("/sites")
        .header(header::COOKIE, format!("iw_session={cookie}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("_csrf={csrf}&name=Plant+North")))
        .unwrap();
    let answer = console.send(request).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text());
    assert_eq!(location(&answer), "/sites");
    let sites = console.store.list_sites(&Scope::All).await.unwrap();
    assert_eq!(sites[0].name, "Plant North");
}

#[tokio::test]
async fn sites_zones_and_enrolment() {
    let console = TestConsole::new().await;
    console.user("root", "admin", &[]).await;
    let admin = console.sign_in("root").await;
    let answer = post(&console, &admin, "/sites", "name=Plant+North").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let site = console.store.list_sites(&Scope::All).await.unwrap()[0].clone();
    // A duplicate re-renders the page with the reason.
    let answer = post(&console, &admin, "/sites", "name=Plant+North").await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    assert!(answer.text().contains("already taken"), "{}", answer.text());
    assert_no_inline_code("/sites (error)", &answer.text());
    let answer = post(&console, &admin, "/sites", "name=").await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let answer = post(
        &console,
        &admin,
        &format!("/sites/{}/rename", site.id),
        "name=Plant+N",
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let answer = post(
        &console,
        &admin,
        &format!("/sites/{}/zones", site.id),
        "name=Cell+1",
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let zone = console.store.list_zones(&Scope::All, None).await.unwrap()[0].clone();
    let answer = post(
        &console,
        &admin,
        &format!("/zones/{}/rename", zone.id),
        "name=Cell+One",
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);

    // Enrolment: the page shows the command with the token, the URL and the fingerprint.
    let answer = post(
        &console,
        &admin,
        &format!("/zones/{}/enroll", zone.id),
        "sensor_name=north-1&hours=2",
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let html = answer.text();
    assert_no_inline_code("/zones/enroll", &html);
    let marker = "--enroll-token ";
    let start = html.find(marker).expect("command on the page") + marker.len();
    let token: String = html[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    assert!(token.len() >= 32, "{token}");
    assert!(html.contains(&format!(
        "ironward sensor --console https://localhost:8443 --enroll-token {token} \
         --console-fingerprint sha256:test --data /var/lib/ironward-sensor --interface eth1"
    )));
    // Shown once: the sites page does not show it again.
    let again = console
        .call(Method::GET, "/sites", &admin, None)
        .await
        .text();
    assert!(!again.contains(&token));
    // The token enrols a sensor in that zone.
    let (sensor, _) = console
        .store
        .enroll(&token, ironward_console::state::now())
        .await
        .unwrap();
    assert_eq!(sensor.zone_id, zone.id);
    assert_eq!(sensor.name, "north-1");
    let page = console
        .call(Method::GET, "/sites", &admin, None)
        .await
        .text();
    assert!(page.contains("north-1"));
    // A zone with a sensor cannot go; the sensor can, then the zone and the site.
    let answer = post(&console, &admin, &format!("/zones/{}/delete", zone.id), "").await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    assert!(answer.text().contains("sensor"));
    for path in [
        format!("/sensors/{}/delete", sensor.id),
        format!("/zones/{}/delete", zone.id),
        format!("/sites/{}/delete", site.id),
    ] {
        let answer = post(&console, &admin, &path, "").await;
        assert_eq!(
            answer.status,
            StatusCode::SEE_OTHER,
            "{path}: {}",
            answer.text()
        );
    }
    assert!(console
        .store
        .list_sites(&Scope::All)
        .await
        .unwrap()
        .is_empty());
    let audit = audit_actions(&console).await;
    for action in [
        "site.create",
        "site.rename",
        "zone.create",
        "zone.rename",
        "sensor.enrollment_token.create",
        "sensor.delete",
        "zone.delete",
        "site.delete",
    ] {
        assert!(
            audit.iter().any(|(a, _, o)| a == action && o == "ok"),
            "{action} not audited: {audit:?}"
        );
    }
    assert!(audit
        .iter()
        .any(|(a, _, o)| a == "site.create" && o == "failed"));
    // The token never reaches the audit log.
    let entries = console.store.list_audit(1000, 0).await.unwrap().items;
    assert!(entries.iter().all(|e| !e.detail.contains(&token)));
}

#[tokio::test]
async fn users_are_created_changed_reset_and_deleted() {
    let console = TestConsole::new().await;
    let world = seed_ui_world(&console.store).await;
    let (root_id, _) = console.user("root", "admin", &[]).await;
    let admin = console.sign_in("root").await;
    let password = "a-long+enough+password";
    let answer = post(
        &console,
        &admin,
        "/users",
        &format!(
            "name=olga&role=operator&password={password}&site_{}=on",
            world.alpha
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text());
    let olga = console.store.get_user_by_name("olga").await.unwrap();
    assert_eq!(olga.role, "operator");
    assert_eq!(olga.sites, vec![world.alpha]);
    assert!(olga.password_hash.starts_with("$argon2id$"));
    // Bad input re-renders with a reason.
    let answer = post(
        &console,
        &admin,
        "/users",
        "name=short&role=viewer&password=x",
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.text().contains("characters or more"));
    let answer = post(
        &console,
        &admin,
        "/users",
        &format!("name=x&role=root&password={password}"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let answer = post(
        &console,
        &admin,
        "/users",
        &format!("name=olga&role=viewer&password={password}"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    // Change role and sites, reset the password.
    let answer = post(
        &console,
        &admin,
        &format!("/users/{}/access", olga.id),
        &format!(
            "role=analyst&site_{}=on&site_{}=on",
            world.alpha, world.bravo
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let changed = console.store.get_user(olga.id).await.unwrap();
    assert_eq!(changed.role, "analyst");
    assert_eq!(changed.sites, vec![world.alpha, world.bravo]);
    let answer = post(
        &console,
        &admin,
        &format!("/users/{}/password", olga.id),
        "password=another+long+password",
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_ne!(
        console.store.get_user(olga.id).await.unwrap().password_hash,
        olga.password_hash
    );
    // An administrator cannot lock themselves out.
    let answer = post(&console, &admin, &format!("/users/{root_id}/delete"), "").await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let answer = post(
        &console,
        &admin,
        &format!("/users/{root_id}/access"),
        "role=viewer",
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let answer = post(&console, &admin, &format!("/users/{}/delete", olga.id), "").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert!(console.store.get_user(olga.id).await.is_err());
    let page = console.call(Method::GET, "/users", &admin, None).await;
    assert_no_inline_code("/users", &page.text());
    let audit = audit_actions(&console).await;
    for action in [
        "user.create",
        "user.access",
        "user.password.reset",
        "user.delete",
    ] {
        assert!(
            audit.iter().any(|(a, _, o)| a == action && o == "ok"),
            "{action}"
        );
    }
    let entries = console.store.list_audit(1000, 0).await.unwrap().items;
    assert!(entries.iter().all(|e| !e.detail.contains("password+")
        && !e.detail.contains("long password")
        && !e.detail.contains(password)));
}

#[tokio::test]
async fn own_api_tokens_are_shown_once_and_revoked() {
    let console = TestConsole::new().await;
    console.user("vic", "viewer", &[]).await;
    let session = console.sign_in("vic").await;
    let answer = post(&console, &session, "/account/tokens", "name=grafana").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let html = answer.text();
    let start = html.find("<pre class=\"command\">").unwrap() + "<pre class=\"command\">".len();
    let token = html[start..html[start..].find('<').unwrap() + start].to_owned();
    // The token works, and is not shown again.
    let with_token = As::Token(token.clone());
    assert_eq!(
        console
            .call(Method::GET, "/devices", &with_token, None)
            .await
            .status,
        StatusCode::OK
    );
    let again = console
        .call(Method::GET, "/account", &session, None)
        .await
        .text();
    assert!(!again.contains(&token));
    assert!(again.contains("grafana"));
    let vic = console.store.get_user_by_name("vic").await.unwrap();
    let tokens = console.store.list_api_tokens(vic.id).await.unwrap();
    let grafana = tokens.iter().find(|t| t.name == "grafana").unwrap();
    let answer = post(
        &console,
        &session,
        &format!("/account/tokens/{}/revoke", grafana.id),
        "",
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(location(&answer), "/account");
    assert_eq!(
        console
            .call(Method::GET, "/devices", &with_token, None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    // Someone else's token cannot be revoked from this account.
    let (other, _) = console.user("other", "viewer", &[]).await;
    let theirs = console.store.list_api_tokens(other).await.unwrap()[0].id;
    let answer = post(
        &console,
        &session,
        &format!("/account/tokens/{theirs}/revoke"),
        "",
    )
    .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    let audit = audit_actions(&console).await;
    assert!(audit.iter().any(|(a, _, _)| a == "token.create"));
    assert!(audit.iter().any(|(a, _, _)| a == "token.revoke"));
}

#[tokio::test]
async fn groups_are_created_filled_and_deleted() {
    let console = TestConsole::new().await;
    let world = seed_ui_world(&console.store).await;
    console.user("ana", "analyst", &[]).await;
    let analyst = console.sign_in("ana").await;
    let answer = post(
        &console,
        &analyst,
        "/groups",
        "name=Safety&description=SIS+controllers",
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text());
    let group = location(&answer).to_owned();
    assert!(group.starts_with("/groups/"));
    let answer = post(
        &console,
        &analyst,
        &format!("{group}/members"),
        &format!("device={}", world.plc_alpha),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let gid = group.trim_start_matches("/groups/");
    let answer = post(
        &console,
        &analyst,
        "/groups/add-device",
        &format!("group={gid}&device={}", world.hmi_alpha),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(location(&answer), format!("/devices/{}", world.hmi_alpha));
    let page = console
        .call(Method::GET, &group, &analyst, None)
        .await
        .text();
    assert!(page.contains("plc-alpha") && page.contains("hmi-alpha"));
    let map = console
        .call(Method::GET, &format!("/map?devices={gid}"), &analyst, None)
        .await
        .text();
    assert!(map.contains("plc-alpha") && !map.contains("bravo"));
    let answer = post(
        &console,
        &analyst,
        &format!("{group}/members/remove"),
        &format!("device={}", world.plc_alpha),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let page = console
        .call(Method::GET, &group, &analyst, None)
        .await
        .text();
    assert!(!page.contains("plc-alpha"));
    let answer = post(
        &console,
        &analyst,
        &format!("{group}/members"),
        "device=abc",
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let answer = post(&console, &analyst, &format!("{group}/delete"), "").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert!(console.store.list_groups().await.unwrap().is_empty());
    // A viewer sees groups but has no forms, and may not post.
    console.user("vic", "viewer", &[]).await;
    let viewer = console.sign_in("vic").await;
    let page = console
        .call(Method::GET, "/groups", &viewer, None)
        .await
        .text();
    assert!(!page.contains("action=\"/groups\""));
    let answer = post(&console, &viewer, "/groups", "name=Nope").await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    let audit = audit_actions(&console).await;
    for action in [
        "group.create",
        "group.member.add",
        "group.member.remove",
        "group.delete",
    ] {
        assert!(audit.iter().any(|(a, _, _)| a == action), "{action}");
    }
}
