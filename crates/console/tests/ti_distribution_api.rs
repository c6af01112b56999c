//! Package distribution through the API and the Sites page: only administrators apply a
//! package, only to sites of their scope (audited `ti.apply`); a sensor downloads the package
//! of its own site only; what sensors report shows per sensor as ok, update available or
//! failed with the sensor's reason; the page shows it and its form applies a package.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::{Method, StatusCode};
use common::{As, TestConsole};
use ironward_store::{NewPackage, PackageCounts, PackageId, Scope, SensorId, ZoneId};
use serde_json::Value;

/// Enrols one more sensor in `zone`: its id and credential.
async fn enrol(console: &TestConsole, zone: ZoneId, name: &str) -> (SensorId, As) {
    let now = ironward_console::state::now();
    let token = console
        .store
        .create_enrollment_token(
            &Scope::All,
            zone,
            name,
            ironward_model::Timestamp(now.as_nanos() + 3_600_000_000_000),
            None,
            now,
        )
        .await
        .unwrap();
    let (sensor, credential) = console.store.enroll(&token, now).await.unwrap();
    (sensor.id, As::Token(credential))
}

/// A stored package (the console verified it at upload; these bytes are not a real package:
/// the sensor verifies them).
async fn stored(console: &TestConsole, sequence: u64, bytes: &[u8]) -> PackageId {
    console
        .store
        .insert_package(&NewPackage {
            file_name: &format!("ironward-ti-{sequence}.pkg"),
            sequence,
            built_at: "2026-01-01T00:00:00Z",
            key_id: "0011223344556677",
            counts: PackageCounts::default(),
            uploaded_by: "root",
            uploaded_at: ironward_console::state::now(),
            bytes,
        })
        .await
        .unwrap()
}

async fn call(
    console: &TestConsole,
    method: Method,
    path: &str,
    who: &As,
    body: Option<&str>,
) -> (StatusCode, Value) {
    let answer = console.call(method, path, who, body).await;
    (
        answer.status,
        serde_json::from_slice(&answer.body).unwrap_or(Value::Null),
    )
}

/// `threat_intel` of each sensor of `GET /api/v1/sensors`, by sensor id.
async fn ti_of(console: &TestConsole, who: &As, sensor: SensorId) -> Value {
    let list = console.get_json("/api/v1/sensors", who).await;
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == sensor.0)
        .map(|s| s["threat_intel"].clone())
        .unwrap_or_else(|| panic!("sensor {sensor} not in {list}"))
}

#[tokio::test]
async fn administrators_apply_packages_to_their_sites_and_sensors_report_back() {
    let console = TestConsole::new().await;
    let seeded = console.seed_two_sites().await;
    let (_, admin) = console.user("root", "admin", &[]).await;
    let (_, admin_a) = console.user("ada", "admin", &[seeded.site_a]).await;
    let (_, analyst) = console.user("ann", "analyst", &[]).await;
    let (sensor_a, credential_a) = enrol(&console, seeded.zone_a, "sensor-a2").await;
    let (sensor_b, credential_b) = enrol(&console, seeded.zone_b, "sensor-b2").await;
    let (a, b) = (seeded.site_a.0, seeded.site_b.0);
    let package = stored(&console, 100, b"package one").await;
    let apply = format!("/api/v1/ti/packages/{}/apply", package.0);

    // Nothing applied yet: the sensor has nothing to download.
    let (status, _) = call(
        &console,
        Method::GET,
        "/api/v1/sensor/ti-package",
        &credential_a,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(ti_of(&console, &admin, sensor_a).await["state"], "none");

    // Refusals: not an administrator, another scope's site, an unknown package, no site.
    let body = format!(r#"{{"sites": [{a}]}}"#);
    let (status, _) = call(&console, Method::POST, &apply, &analyst, Some(&body)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call(
        &console,
        Method::POST,
        &apply,
        &admin_a,
        Some(&format!(r#"{{"sites": [{b}]}}"#)),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(
        &console,
        Method::POST,
        "/api/v1/ti/packages/999/apply",
        &admin,
        Some(&body),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(
        &console,
        Method::POST,
        &apply,
        &admin,
        Some(r#"{"sites": []}"#),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // A sensor's credential is not a user's.
    let (status, _) = call(&console, Method::POST, &apply, &credential_a, Some(&body)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Applied to site A by its administrator: A's sensors download it, B's do not.
    let (status, applied) = call(&console, Method::POST, &apply, &admin_a, Some(&body)).await;
    assert_eq!(status, StatusCode::OK, "{applied}");
    assert_eq!(applied["items"][0]["site_id"], a);
    assert_eq!(applied["items"][0]["sequence"], 100);
    assert_eq!(applied["items"][0]["assigned_by"], "ada");
    let audit = console.store.list_audit(100, 0).await.unwrap().items;
    assert!(audit.iter().any(|e| e.action == "ti.apply"
        && e.target == format!("ti_package:{}", package.0)
        && e.detail.contains(&a.to_string())));
    let download = console
        .call(
            Method::GET,
            "/api/v1/sensor/ti-package",
            &credential_a,
            None,
        )
        .await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.body, b"package one".to_vec());
    let (status, _) = call(
        &console,
        Method::GET,
        "/api/v1/sensor/ti-package",
        &credential_b,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let assignments = console.get_json("/api/v1/ti/assignments", &admin).await;
    assert_eq!(assignments["total"], 1, "{assignments}");

    // Assigned, not yet reported: an update is available. B's sensor has nothing assigned.
    let ti = ti_of(&console, &admin, sensor_a).await;
    assert_eq!(ti["state"], "update_available", "{ti}");
    assert_eq!(ti["assigned_sequence"], 100);
    assert_eq!(ti["running_sequence"], Value::Null);
    assert_eq!(ti_of(&console, &admin, sensor_b).await["state"], "none");

    // The sensor reports it runs it: ok.
    let ok = r#"{"sequence": 100, "name": "ironward-ti-100.pkg", "state": "ok", "error": null, "key_id": "0011223344556677"}"#;
    let (status, _) = call(
        &console,
        Method::POST,
        "/api/v1/sensor/ti-status",
        &credential_a,
        Some(ok),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let ti = ti_of(&console, &admin, sensor_a).await;
    assert_eq!(ti["state"], "ok", "{ti}");
    assert_eq!(ti["running_name"], "ironward-ti-100.pkg");
    assert_eq!(ti["key_id"], "0011223344556677");
    assert!(ti["reported_at"].is_string(), "{ti}");

    // A newer package applied: the sensor still runs the old one until it reports.
    let newer = stored(&console, 200, b"package two").await;
    let (status, _) = call(
        &console,
        Method::POST,
        &format!("/api/v1/ti/packages/{}/apply", newer.0),
        &admin,
        Some(&format!(r#"{{"sites": [{a}, {b}]}}"#)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        ti_of(&console, &admin, sensor_a).await["state"],
        "update_available"
    );
    // It refuses it: failed, with its reason (control characters blanked), the old one running.
    let failed = "{\"sequence\": 100, \"name\": \"ironward-ti-100.pkg\", \"state\": \"failed\", \
                  \"error\": \"signed by another key (key id 99)\\nnot by the key given\"}";
    let (status, _) = call(
        &console,
        Method::POST,
        "/api/v1/sensor/ti-status",
        &credential_a,
        Some(failed),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let ti = ti_of(&console, &admin, sensor_a).await;
    assert_eq!(ti["state"], "failed", "{ti}");
    assert_eq!(ti["running_sequence"], 100);
    assert_eq!(ti["assigned_sequence"], 200);
    assert_eq!(
        ti["error"],
        "signed by another key (key id 99) not by the key given"
    );
    // A state outside the contract is refused; a user cannot report for a sensor.
    let (status, _) = call(
        &console,
        Method::POST,
        "/api/v1/sensor/ti-status",
        &credential_a,
        Some(r#"{"state": "great"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = call(
        &console,
        Method::POST,
        "/api/v1/sensor/ti-status",
        &admin,
        Some(ok),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The single sensor's view says the same; site A's administrator does not see B's sensor.
    let one = console
        .get_json(&format!("/api/v1/sensors/{}", sensor_a.0), &admin_a)
        .await;
    assert_eq!(one["threat_intel"]["state"], "failed", "{one}");
    let (status, _) = call(
        &console,
        Method::GET,
        &format!("/api/v1/sensors/{}", sensor_b.0),
        &admin_a,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_sites_page_shows_each_sensor_s_package_and_applies_one() {
    let console = TestConsole::new().await;
    let seeded = console.seed_two_sites().await;
    console.user("root", "admin", &[]).await;
    console.user("ann", "analyst", &[]).await;
    let (_, credential_a) = enrol(&console, seeded.zone_a, "sensor-a2").await;
    let package = stored(&console, 100, b"package one").await;
    let a = seeded.site_a.0;
    let failed = r#"{"sequence": null, "state": "failed", "error": "signature invalid: the package was altered"}"#;
    let (status, _) = call(
        &console,
        Method::POST,
        "/api/v1/sensor/ti-status",
        &credential_a,
        Some(failed),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let session = console.sign_in("root").await;
    let page = console.call(Method::GET, "/sites", &session, None).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("Threat-intelligence packages"), "{html}");
    assert!(
        html.contains("signature invalid: the package was altered"),
        "{html}"
    );
    let action = format!("/sites/{a}/ti-package");
    assert!(html.contains(&format!("action=\"{action}\"")), "{html}");
    let As::Session { csrf, .. } = &session else {
        unreachable!()
    };
    let form = format!("_csrf={csrf}&package={}", package.0);
    let answer = console
        .call(Method::POST, &action, &session, Some(&form))
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text());
    let html = console
        .call(Method::GET, "/sites", &session, None)
        .await
        .text();
    assert!(html.contains("ironward-ti-100.pkg"), "{html}");
    assert!(html.contains("applied by root"), "{html}");

    // An analyst sees the states but has no form, and the form's route refuses her.
    let analyst = console.sign_in("ann").await;
    let html = console
        .call(Method::GET, "/sites", &analyst, None)
        .await
        .text();
    assert!(html.contains("Threat-intelligence packages"));
    assert!(!html.contains(&format!("action=\"{action}\"")), "{html}");
    let As::Session { csrf, .. } = &analyst else {
        unreachable!()
    };
    let form = format!("_csrf={csrf}&package={}", package.0);
    let answer = console
        .call(Method::POST, &action, &analyst, Some(&form))
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
}
