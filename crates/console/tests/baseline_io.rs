//! A site's baseline as a file: export downloads its entries, import adds them to another site
//! (checked whole first, bounded, audited, within the caller's sites); importing again adds
//! nothing, and every new entry moves the site's baseline version.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::{header, Method, StatusCode};
use common::TestConsole;
use ironward_store::{BaselineImport, Scope};
use serde_json::{json, Value};

fn entry(kind: &str, src: &str, dst: &str) -> BaselineImport {
    BaselineImport {
        kind: kind.to_owned(),
        src: src.to_owned(),
        dst: dst.to_owned(),
        protocol: "modbus".to_owned(),
        detail: format!("{kind} {src} -> {dst}"),
    }
}

#[tokio::test]
async fn a_site_s_baseline_exports_and_imports_into_another_site() {
    let console = TestConsole::new().await;
    let seeded = console.seed_two_sites().await;
    let (_, admin) = console.user("root", "admin", &[]).await;
    let (_, analyst_b) = console.user("bea", "analyst", &[seeded.site_b]).await;
    let (a, b) = (seeded.site_a.0, seeded.site_b.0);
    let now = ironward_console::state::now();
    let imported = console
        .store
        .import_baseline(
            &Scope::All,
            seeded.site_a,
            &[
                entry("policy.new_connection", "10.0.0.2", "10.0.0.1"),
                entry("policy.new_device", "10.0.0.9", ""),
            ],
            "test",
            now,
        )
        .await
        .unwrap();
    assert_eq!(imported, 2);

    let answer = console
        .call(
            Method::GET,
            &format!("/api/v1/baseline/export?site={a}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(
        answer.headers[header::CONTENT_DISPOSITION],
        format!("attachment; filename=\"baseline-site-{a}.json\"")
    );
    let mut file = answer.json();
    assert_eq!(file["format"], "ironward-baseline-1");
    assert_eq!(file["entries"].as_array().unwrap().len(), 2);
    assert_eq!(file["entries"][0]["kind"], "policy.new_connection");
    // Site A is not the analyst's: neither export nor import there.
    let answer = console
        .call(
            Method::GET,
            &format!("/api/v1/baseline/export?site={a}"),
            &analyst_b,
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    let post = |who, body: Value| {
        let console = &console;
        async move {
            let answer = console
                .call(
                    Method::POST,
                    "/api/v1/baseline/import",
                    who,
                    Some(&body.to_string()),
                )
                .await;
            let value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
            (answer.status, value)
        }
    };
    let (status, _) = post(&analyst_b, json!({ "site_id": a, "entries": [] })).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The file, aimed at site B, imports there; a second time adds nothing.
    file["site_id"] = json!(b);
    let (status, answer) = post(&analyst_b, file.clone()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer, json!({ "imported": 2, "entries": 2 }));
    let (_, answer) = post(&analyst_b, file.clone()).await;
    assert_eq!(answer["imported"], 0);
    let listed = console
        .get_json(&format!("/api/v1/baseline?site={b}"), &analyst_b)
        .await;
    assert_eq!(listed["total"], 2);
    assert_eq!(listed["items"][0]["created_by"], "import by bea");
    let state = console
        .get_json(&format!("/api/v1/sites/{b}/learning"), &analyst_b)
        .await;
    assert_eq!(state["baseline_version"], 2);

    // Checked whole: one bad entry and nothing is written.
    for (bad, field) in [
        (json!({ "kind": "" }), "entries[1].kind"),
        (
            json!({ "kind": "policy.x", "src": "not-an-ip" }),
            "entries[1].src",
        ),
        (
            json!({ "kind": "policy.x", "protocol": "p".repeat(65) }),
            "entries[1].protocol",
        ),
        (json!({ "kind": "policy.\u{7}" }), "entries[1].kind"),
    ] {
        let body = json!({
            "site_id": b,
            "entries": [{ "kind": "policy.new_device", "src": "10.1.0.77" }, bad]
        });
        let (status, answer) = post(&analyst_b, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(field),
            "{answer}"
        );
    }
    let too_many: Vec<Value> = (0..=ironward_store::MAX_BASELINE_IMPORT)
        .map(|_| json!({ "kind": "policy.x" }))
        .collect();
    let (status, _) = post(&analyst_b, json!({ "site_id": b, "entries": too_many })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let listed = console
        .get_json(&format!("/api/v1/baseline?site={b}"), &analyst_b)
        .await;
    assert_eq!(listed["total"], 2, "a refused import wrote nothing");

    let audit = console.store.list_audit(100, 0).await.unwrap().items;
    let imports: Vec<_> = audit
        .iter()
        .filter(|e| e.action == "baseline.import")
        .collect();
    assert_eq!(imports.len(), 2, "{audit:?}");
    assert!(imports.iter().all(|e| e.target == format!("site:{b}")));
}
