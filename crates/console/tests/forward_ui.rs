//! The forwarding and playbook pages: rules and playbooks created through the forms (with the
//! session's CSRF token), listed, refused with the API's own message when invalid, secrets
//! never in any page, every change audited, analysts and operators refused; a playbook's runs
//! listed with each step's state once an alert triggered it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::{seed_time, As, TestConsole};
use ironward_console::forward::worker::{self, WorkerConfig};
use ironward_store::{AlertId, AlertRecord};

const HOOK_SECRET: &str = "hmac-key-that-must-never-show";
const SMTP_SECRET: &str = "smtp-password-that-must-never-show";
const TICKET_SECRET: &str = "ticket-key-that-must-never-show";

/// `pairs` as an `application/x-www-form-urlencoded` body.
fn form(pairs: &[(&str, &str)]) -> String {
    let encode = |text: &str| {
        let mut out = String::new();
        for b in text.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    out.push(char::from(b));
                }
                b' ' => out.push('+'),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
        out
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

async fn post(
    console: &TestConsole,
    path: &str,
    who: &As,
    pairs: &[(&str, &str)],
) -> (StatusCode, String) {
    let answer = console
        .call(Method::POST, path, who, Some(&form(pairs)))
        .await;
    (answer.status, answer.text())
}

async fn get(console: &TestConsole, path: &str, who: &As) -> String {
    let answer = console.call(Method::GET, path, who, None).await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "GET {path}: {}",
        answer.text()
    );
    answer.text()
}

fn no_secret_in(html: &str, what: &str) {
    for secret in [HOOK_SECRET, SMTP_SECRET, TICKET_SECRET] {
        assert!(!html.contains(secret), "{what} shows a secret");
    }
}

fn no_inline_script_or_style(html: &str) {
    assert!(!html.contains("style=\""), "inline style");
    assert!(!html.contains("<script>"), "inline script");
    assert!(!html.contains(" onclick="), "inline handler");
}

/// The id of the rule or playbook called `name` in a list answer of the API.
fn id_named(list: &serde_json::Value, name: &str) -> i64 {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {list}"))["id"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn rules_are_created_listed_switched_and_deleted_through_the_forms() {
    let console = TestConsole::new().await;
    let seeded = console.seed_two_sites().await;
    let (_, admin_token) = console.user("root", "admin", &[]).await;
    console.user("ann", "analyst", &[]).await;
    console.user("otto", "operator", &[]).await;
    let admin = console.sign_in("root").await;
    let ann = console.sign_in("ann").await;
    let otto = console.sign_in("otto").await;

    // The page, reachable from the navigation.
    let html = get(&console, "/forwarding", &admin).await;
    no_inline_script_or_style(&html);
    assert!(html.contains("href=\"/forwarding\""), "navigation entry");
    assert!(html.contains("No forwarding rules yet."));
    assert!(html.contains("Plant A"), "sites offered in the filter");

    // A syslog rule over TCP, CEF, for major policy alerts of plant A.
    let site_a = seeded.site_a.to_string();
    let (status, text) = post(
        &console,
        "/forwarding/rules",
        &admin,
        &[
            ("name", "SIEM"),
            ("min_severity", "major"),
            ("engine", "policy"),
            ("engine", "malware"),
            ("site", &site_a),
            ("protocols", "modbus, s7comm"),
            ("kinds", "policy.unauthorized_write"),
            ("kind", "syslog"),
            ("syslog_host", "siem.example"),
            ("syslog_port", "6514"),
            ("transport", "tcp"),
            ("format", "cef"),
            ("facility", "16"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{text}");

    // A webhook rule with its signing secret, sent as a browser would: the CSRF token in the
    // form's hidden field, not in a header.
    let page = get(&console, "/forwarding", &admin).await;
    let csrf = common::hidden_field(&page, "_csrf").unwrap();
    let As::Session { cookie, .. } = &admin else {
        unreachable!()
    };
    let fields = form(&[
        ("name", "SOAR"),
        ("kind", "webhook"),
        ("url", "http://soar.example/hook"),
        ("webhook_secret", HOOK_SECRET),
    ]);
    let body = format!("{}&{fields}", form(&[("_csrf", &csrf)]));
    let request = |body: String| {
        Request::builder()
            .method(Method::POST)
            .uri("/forwarding/rules")
            .header(header::COOKIE, format!("iw_session={cookie}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap()
    };
    let answer = console.send(request(body.clone())).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text());
    // Without the token, refused.
    assert_eq!(
        console.send(request(fields)).await.status,
        StatusCode::FORBIDDEN
    );

    // Listed with what they do; the secret only as "set".
    let html = get(&console, "/forwarding", &admin).await;
    no_secret_in(&html, "the rule list");
    for text in [
        "SIEM",
        "syslog tcp siem.example:6514",
        "cef",
        "major or more urgent · policy, malware · Plant A · modbus, s7comm · policy.unauthorized_write",
        "SOAR",
        "webhook http://soar.example/hook",
        "json (signed)",
        ">set<",
    ] {
        assert!(html.contains(text), "{text} listed");
    }
    // The API sees exactly what the form made.
    let rules = console
        .get_json("/api/v1/forwarding/rules", &admin_token)
        .await;
    assert_eq!(rules["total"], 2);
    let siem = id_named(&rules, "SIEM");
    let soar = id_named(&rules, "SOAR");
    let stored = rules["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == siem)
        .unwrap();
    assert_eq!(
        stored["filter"]["sites"],
        serde_json::json!([seeded.site_a.0])
    );
    assert_eq!(stored["filter"]["kinds"][0], "policy.unauthorized_write");
    assert_eq!(stored["destination"]["transport"], "tcp");
    assert_eq!(stored["destination"]["port"], 6514);

    // Refused input: the form comes back with the API's own message, filled in again except
    // for the secret.
    let bad_email = [
        ("name", "Mail the SOC"),
        ("kind", "email"),
        ("smtp_host", "mail.example"),
        ("smtp_port", "587"),
        ("from", "not an address"),
        ("to", "soc@example.com"),
        ("smtp_password", SMTP_SECRET),
        ("fingerprint", &format!("sha256:{}", "ab".repeat(32))),
    ];
    let (status, html) = post(&console, "/forwarding/rules", &admin, &bad_email).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    no_secret_in(&html, "the refused form");
    assert!(html.contains("role=\"alert\""), "{html}");
    assert!(html.contains("value=\"Mail the SOC\""), "name kept");
    assert!(html.contains("value=\"mail.example\""), "host kept");
    let api = console
        .call(
            Method::POST,
            "/api/v1/forwarding/rules",
            &admin_token,
            Some(
                &serde_json::json!({"name": "Mail the SOC", "secret": SMTP_SECRET,
                    "destination": {"type": "email", "host": "mail.example", "port": 587,
                    "from": "not an address", "to": ["soc@example.com"],
                    "tls": {"fingerprint": format!("sha256:{}", "ab".repeat(32))}}})
                .to_string(),
            ),
        )
        .await;
    assert_eq!(api.status, StatusCode::BAD_REQUEST);
    let message = api.json()["error"].as_str().unwrap().to_owned();
    let escaped = message.replace('"', "&quot;");
    assert!(
        html.contains(&escaped),
        "the page says what the API says ({message})"
    );
    for (pairs, says) in [
        (
            vec![
                ("name", "tls without trust"),
                ("kind", "syslog"),
                ("syslog_host", "siem"),
                ("syslog_port", "6514"),
                ("transport", "tls"),
                ("format", "leef"),
            ],
            "invalid destination",
        ),
        (
            vec![
                ("name", "bad port"),
                ("kind", "syslog"),
                ("syslog_host", "siem"),
                ("syslog_port", "ninety"),
                ("transport", "udp"),
                ("format", "json"),
            ],
            "the port is a number",
        ),
        (
            vec![
                ("name", "unsigned"),
                ("kind", "webhook"),
                ("url", "http://soar.example/x"),
            ],
            "needs a secret",
        ),
        (
            vec![
                ("name", "ftp hook"),
                ("kind", "webhook"),
                ("url", "ftp://soar.example/x"),
                ("webhook_secret", HOOK_SECRET),
            ],
            "invalid destination",
        ),
        (
            vec![
                ("name", "SIEM"),
                ("kind", "syslog"),
                ("syslog_host", "other"),
                ("syslog_port", "514"),
                ("transport", "udp"),
                ("format", "cef"),
            ],
            "already",
        ),
    ] {
        let (status, html) = post(&console, "/forwarding/rules", &admin, &pairs).await;
        assert!(status.is_client_error(), "{says}: {status}");
        assert!(html.contains(says), "{says}: {html}");
        no_secret_in(&html, says);
    }
    let rules = console
        .get_json("/api/v1/forwarding/rules", &admin_token)
        .await;
    assert_eq!(rules["total"], 2, "nothing refused was created");

    // Disable, enable, delete.
    let path = format!("/forwarding/rules/{soar}/enabled");
    let (status, _) = post(&console, &path, &admin, &[("enabled", "false")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(!console.store.get_forward_rule(soar).await.unwrap().enabled);
    assert!(get(&console, "/forwarding", &admin)
        .await
        .contains("disabled"));
    let (status, _) = post(&console, &path, &admin, &[("enabled", "true")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(console.store.get_forward_rule(soar).await.unwrap().enabled);
    let (status, _) = post(&console, &path, &admin, &[("enabled", "maybe")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let delete = format!("/forwarding/rules/{siem}/delete");
    assert!(get(&console, "/forwarding", &admin)
        .await
        .contains(&format!("action=\"{delete}\" data-confirm=")));
    let (status, _) = post(&console, &delete, &admin, &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _) = post(&console, &delete, &admin, &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let html = get(&console, "/forwarding", &admin).await;
    assert!(!html.contains("siem.example") && html.contains("SOAR"));

    // Analysts and operators: no entry in the navigation, 403 on every page and form.
    for who in [&ann, &otto] {
        let home = get(&console, "/", who).await;
        assert!(!home.contains("href=\"/forwarding\""));
        for path in ["/forwarding", "/playbooks", "/playbooks/1"] {
            let answer = console.call(Method::GET, path, who, None).await;
            assert_eq!(answer.status, StatusCode::FORBIDDEN, "{path}");
        }
        let (status, _) = post(
            &console,
            "/forwarding/rules",
            who,
            &[("name", "mine"), ("kind", "webhook"), ("url", "http://x/")],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = post(
            &console,
            &format!("/forwarding/rules/{soar}/delete"),
            who,
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    assert!(console.store.get_forward_rule(soar).await.is_ok());

    // Audited like the API, without secrets.
    let audit = console.store.list_audit(200, 0).await.unwrap();
    let actions: Vec<&str> = audit.items.iter().map(|e| e.action.as_str()).collect();
    for action in [
        "forwarding.rule.create",
        "forwarding.rule.enable",
        "forwarding.rule.delete",
    ] {
        assert!(actions.contains(&action), "{action} audited: {actions:?}");
    }
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "forwarding.rule.create")
            .count(),
        2
    );
    let audit_text = serde_json::to_string(&audit.items).unwrap();
    no_secret_in(&audit_text, "the audit log");
    no_secret_in(&get(&console, "/audit", &admin).await, "the audit page");
}

#[tokio::test]
async fn a_playbook_made_in_the_form_lists_its_runs_step_by_step() {
    let console = TestConsole::new().await;
    let seeded = console.seed_two_sites().await;
    let (_, admin_token) = console.user("root", "admin", &[]).await;
    let admin = console.sign_in("root").await;
    let store = &console.store;
    let group = store
        .create_group("Crown jewels", "", ironward_console::state::now())
        .await
        .unwrap();
    let (status, text) = post(
        &console,
        "/forwarding/rules",
        &admin,
        &[
            ("name", "SIEM"),
            ("kind", "syslog"),
            ("syslog_host", "127.0.0.1"),
            ("syslog_port", "514"),
            ("transport", "udp"),
            ("format", "json"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{text}");
    let rule = id_named(
        &console
            .get_json("/api/v1/forwarding/rules", &admin_token)
            .await,
        "SIEM",
    );

    // A second rule whose receiver is down (nothing listens on its TCP port).
    let down_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port().to_string()
    };
    let (status, text) = post(
        &console,
        "/forwarding/rules",
        &admin,
        &[
            ("name", "Down"),
            ("kinds", "operational.controller_stop"),
            ("kind", "syslog"),
            ("syslog_host", "127.0.0.1"),
            ("syslog_port", &down_port),
            ("transport", "tcp"),
            ("format", "leef"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{text}");

    let html = get(&console, "/playbooks", &admin).await;
    no_inline_script_or_style(&html);
    assert!(html.contains("No playbooks yet."));
    assert!(
        html.contains(">Crown jewels<") && html.contains(">SIEM<"),
        "choices offered"
    );

    // The ticketing system is down (nothing listens on its port): steps 1-2 take effect, the
    // webhook waits to be retried, the last step is not reached.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/tickets");
    let rule_id = rule.to_string();
    let group_id = group.id.0.to_string();
    let site_a = seeded.site_a.to_string();
    let steps = [
        ("name", "PLC stop means ticket"),
        ("engine", "operational"),
        ("site", site_a.as_str()),
        ("kinds", "operational.controller_stop"),
        ("step1_type", "raise_severity"),
        ("step1_to", "critical"),
        ("step2_type", "group"),
        ("step2_group", group_id.as_str()),
        ("step3_type", "webhook"),
        ("step3_url", url.as_str()),
        ("step3_secret", TICKET_SECRET),
        ("step4_type", ""),
        ("step5_type", "notify"),
        ("step5_rule", rule_id.as_str()),
    ];
    // A notify step without its rule is refused, the form filled in again (not the secret).
    let mut missing = steps.to_vec();
    missing.retain(|(k, _)| *k != "step5_rule");
    let (status, html) = post(&console, "/playbooks", &admin, &missing).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("Step 5: choose a forwarding rule."), "{html}");
    assert!(html.contains("value=\"PLC stop means ticket\""));
    no_secret_in(&html, "the refused playbook form");
    // A group that does not exist: the API's message.
    let mut unknown = steps.to_vec();
    unknown.retain(|(k, _)| *k != "step2_group");
    unknown.push(("step2_group", "999"));
    let (status, html) = post(&console, "/playbooks", &admin, &unknown).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("no group 999"), "{html}");

    let (status, text) = post(&console, "/playbooks", &admin, &steps).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{text}");
    let listed = console.get_json("/api/v1/playbooks", &admin_token).await;
    let id = id_named(&listed, "PLC stop means ticket");
    assert_eq!(
        listed["items"][0]["actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["type"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["raise_severity", "group", "webhook", "notify"],
        "in order, the empty step skipped"
    );
    let html = get(&console, "/playbooks", &admin).await;
    no_secret_in(&html, "the playbook list");
    for text in [
        "operational · Plant A · operational.controller_stop",
        "Raise the severity to critical",
        "Add the devices to group &quot;Crown jewels&quot;",
        &format!("Webhook to {url} (secret set)"),
        "Notify through rule &quot;SIEM&quot;",
    ] {
        assert!(html.contains(text), "{text} listed: {html}");
    }

    // A matching alert and one that is not for this playbook.
    let insert = |engine: &str, kind: &str, title: &str| {
        let record = AlertRecord {
            id: AlertId(0),
            site_id: seeded.site_a,
            zone_id: Some(seeded.zone_a),
            engine: engine.to_owned(),
            title: title.to_owned(),
            severity: "minor".to_owned(),
            status: "new".to_owned(),
            devices: vec!["ip:10.0.0.1".to_owned()],
            first_seen: seed_time(10),
            last_seen: seed_time(20),
            count: 1,
            payload: serde_json::json!({ "kind": kind }),
        };
        async move { store.insert_alert(&record).await.unwrap() }
    };
    let alert = insert("operational", "operational.controller_stop", "PLC in STOP").await;
    insert("operational", "operational.no_answer", "PLC silent").await;
    let config = WorkerConfig {
        timeout: Duration::from_secs(5),
        ..WorkerConfig::default()
    };
    worker::round(store, &config).await.unwrap();

    let html = get(&console, &format!("/playbooks/{id}"), &admin).await;
    no_inline_script_or_style(&html);
    no_secret_in(&html, "the runs page");
    assert!(html.contains(&format!("href=\"/alerts/{}\"", alert.0)));
    assert!(html.contains("PLC in STOP") && !html.contains("PLC silent"));
    assert!(html.contains("badge warning\">pending"), "{html}");
    let done = html.matches("badge ok\">done").count();
    assert_eq!(done, 2, "steps 1 and 2 done: {html}");
    assert!(
        html.contains("badge warning\">retrying"),
        "step 3 waits: {html}"
    );
    assert!(html.contains("will retry"), "step 3's error shown: {html}");
    assert!(html.contains("severity raised from minor to critical"));
    assert!(html.contains("badge\">not reached"), "step 4: {html}");

    // Each rule's share of the queue: SIEM delivered the four alerts (the two seeded, the two
    // inserted), Down keeps its one message with the receiver's error.
    let html = get(&console, "/forwarding", &admin).await;
    assert!(html.contains("4 delivered"), "{html}");
    assert!(html.contains("1 attempt(s); next in"), "{html}");
    assert!(html.contains("Connection refused"), "{html}");
    assert_eq!(store.forward_stats().await.unwrap().queued, 1);

    // Disabled, a playbook starts no run for a new alert; enabled again, it does.
    let switch = format!("/playbooks/{id}/enabled");
    let (status, _) = post(&console, &switch, &admin, &[("enabled", "false")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(get(&console, "/playbooks", &admin)
        .await
        .contains(">disabled<"));
    insert("operational", "operational.controller_stop", "Second STOP").await;
    worker::round(store, &config).await.unwrap();
    assert_eq!(
        store.list_playbook_runs(Some(id), 10).await.unwrap().len(),
        1
    );
    let (status, _) = post(&console, &switch, &admin, &[("enabled", "true")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    insert("operational", "operational.controller_stop", "Third STOP").await;
    worker::round(store, &config).await.unwrap();
    assert_eq!(
        store.list_playbook_runs(Some(id), 10).await.unwrap().len(),
        2
    );
    let html = get(&console, &format!("/playbooks/{id}"), &admin).await;
    assert!(html.contains("Third STOP") && !html.contains("Second STOP"));
    let (status, _) = post(&console, &switch, &admin, &[("enabled", "perhaps")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Deleted with its runs, audited like the API.
    let (status, _) = post(&console, &format!("/playbooks/{id}/delete"), &admin, &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let answer = console
        .call(Method::GET, &format!("/playbooks/{id}"), &admin, None)
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert!(store
        .list_playbook_runs(Some(id), 10)
        .await
        .unwrap()
        .is_empty());
    let audit = store.list_audit(200, 0).await.unwrap();
    let actions: Vec<&str> = audit.items.iter().map(|e| e.action.as_str()).collect();
    for action in ["playbook.create", "playbook.enable", "playbook.delete"] {
        assert!(actions.contains(&action), "{action} audited: {actions:?}");
    }
    no_secret_in(
        &serde_json::to_string(&audit.items).unwrap(),
        "the audit log",
    );
}
