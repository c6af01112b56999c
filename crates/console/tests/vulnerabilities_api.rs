//! Threat intelligence in the console, end to end: a package built here from real CISA advisories
//! and the KEV catalog (the shared intel data) is uploaded — refused without a public key, when
//! damaged, signed by another key, by a non-administrator, or not newer than the one in force,
//! each refusal audited and the package in force kept — and devices ingested by a sensor with
//! real identities (a Siemens S7-1500 by its order number and firmware, a Schneider M340) get the
//! CVEs the advisories name, within each caller's sites; a firmware update re-matches the
//! device; exclusions need a reason, are audited and outlive re-matching; CSV and filters.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::{As, TestConsole};
use ironward_console::ConsoleSettings;
use ironward_intel::ti::assemble::{assemble, Sources};
use ironward_intel::ti::package::build;
use ironward_intel::ti::sign::{generate, SigningKey};
use ironward_model::Timestamp;
use serde_json::Value;

/// The shared intel data (`$IRONWARD_DATA/intel`), or `None` with "skipped:" printed.
fn intel_dir() -> Option<PathBuf> {
    let intel = match std::env::var_os("IRONWARD_DATA") {
        Some(dir) => PathBuf::from(dir).join("intel"),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/intel"),
    };
    if intel
        .join("kev/known_exploited_vulnerabilities.json")
        .is_file()
    {
        Some(intel)
    } else {
        println!("skipped: {} not found (set IRONWARD_DATA)", intel.display());
        None
    }
}

/// A package of two real advisories and the KEV catalog, signed with `key`, built at
/// `built_at` (Unix seconds: the package's sequence).
fn package(intel: &Path, key: &SigningKey, built_at: i64) -> Vec<u8> {
    let csaf = tempfile::tempdir().unwrap();
    for advisory in ["2022/icsa-22-349-03.json", "2024/icsa-24-326-04.json"] {
        let from = intel.join("csaf/csaf_files/OT/white").join(advisory);
        let name = Path::new(advisory).file_name().unwrap();
        std::fs::copy(&from, csaf.path().join(name)).unwrap();
    }
    let assembled = assemble(&Sources {
        csaf_dir: csaf.path().to_owned(),
        kev_file: intel.join("kev/known_exploited_vulnerabilities.json"),
        attack_file: None,
        iocs_file: None,
    })
    .unwrap();
    let (_, bytes) = build(
        &assembled.contents,
        assembled.sources,
        assembled.notices,
        time::OffsetDateTime::from_unix_timestamp(built_at).unwrap(),
        key,
    )
    .unwrap();
    bytes
}

async fn upload(console: &TestConsole, who: &As, bytes: Vec<u8>) -> common::Answer {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/ti/packages")
        .header(header::CONTENT_TYPE, "application/octet-stream");
    if let As::Token(token) = who {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    console.send(request.body(Body::from(bytes)).unwrap()).await
}

async fn get(console: &TestConsole, path: &str, who: &As) -> Value {
    let answer = console.call(Method::GET, path, who, None).await;
    assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.text());
    answer.json()
}

/// A PLC as its protocol reports it: vendor, model, product code and firmware, selected.
fn plc(ip: &str, vendor: &str, model: &str, code: &str, firmware: &str) -> ironward_model::Device {
    let mut device = common::seed_device(ip, &format!("plc-{ip}"), vendor, "plc", &[], &[]);
    device.model = Some(model.to_owned());
    device.firmware = Some(firmware.to_owned());
    for (attribute, value) in [
        ("model", model),
        ("product_code", code),
        ("firmware", firmware),
    ] {
        device.facts.push(ironward_model::ReportedFact {
            attribute: attribute.to_owned().into(),
            value: value.to_owned().into(),
            source: "s7comm".into(),
            confidence: 95,
            selected: true,
            evidence: None,
        });
    }
    device
}

/// Enrols a sensor in `zone` and sends `devices` through the ingest API, as a sensor would.
async fn ingest(
    console: &TestConsole,
    zone: ironward_store::ZoneId,
    batch: &str,
    devices: Vec<ironward_model::Device>,
) {
    let now = ironward_console::state::now();
    let token = console
        .store
        .create_enrollment_token(
            &ironward_store::Scope::All,
            zone,
            batch,
            Timestamp(now.as_nanos() + 3_600_000_000_000),
            None,
            now,
        )
        .await
        .unwrap();
    let (_, credential) = console.store.enroll(&token, now).await.unwrap();
    let mut body = common::seed_batch(batch, devices[0].clone(), devices[0].clone());
    body.devices = devices;
    body.connections.clear();
    body.events.clear();
    let answer = console
        .call(
            Method::POST,
            "/api/v1/ingest",
            &As::Token(credential),
            Some(&serde_json::to_string(&body).unwrap()),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
}

/// Waits for matching to find what `check` wants in the vulnerabilities of `path`.
async fn eventually(
    console: &TestConsole,
    path: &str,
    who: &As,
    check: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..300 {
        let page = get(console, path, who).await;
        if check(&page) {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "{path} never became as expected: {}",
        get(console, path, who).await
    );
}

fn cves(page: &Value) -> Vec<String> {
    let mut cves: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["cve"].as_str().unwrap().to_owned())
        .collect();
    cves.sort();
    cves
}

async fn audit_actions(console: &TestConsole) -> Vec<(String, String, String)> {
    console
        .store
        .list_audit(1_000, 0)
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.action.starts_with("ti.") || e.action.starts_with("vulnerability."))
        .map(|e| (e.action, e.outcome, e.detail))
        .collect()
}

#[tokio::test]
async fn uploads_are_refused_without_a_public_key() {
    let console = TestConsole::new().await;
    let (_, admin) = console.user("root", "admin", &[]).await;
    let answer = upload(&console, &admin, b"IWTI anything".to_vec()).await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    assert!(answer.text().contains("--ti-pubkey"), "{}", answer.text());
    let page = get(&console, "/api/v1/ti/packages", &admin).await;
    assert_eq!(page["total"], 0);
    assert!(page["public_key"].is_null());
    let audit = audit_actions(&console).await;
    assert_eq!(audit.len(), 1);
    assert_eq!(
        (audit[0].0.as_str(), audit[0].1.as_str()),
        ("ti.upload", "failed")
    );
}

#[tokio::test]
async fn packages_from_real_advisories_match_devices_within_each_caller_s_sites() {
    let Some(intel) = intel_dir() else { return };
    let key = generate().unwrap();
    let console = TestConsole::with_settings(ConsoleSettings {
        ti_public_key: Some(key.verifying_key()),
        ..ConsoleSettings::default()
    })
    .await;
    let seeded = console.seed_two_sites().await;
    let (_, admin) = console.user("root", "admin", &[]).await;
    let (_, analyst_a) = console.user("ann", "analyst", &[seeded.site_a]).await;
    let (_, viewer) = console.user("vic", "viewer", &[]).await;

    // Devices first, as a sensor reports them: S7comm's SZL gives the order number with a space
    // and the firmware; Modbus device identification the M340's product code and revision.
    ingest(
        &console,
        seeded.zone_a,
        "s7",
        vec![
            plc(
                "10.0.0.50",
                "Siemens",
                "CPU 1516-3 PN/DP",
                "6ES7 516-3AN01-0AB0",
                "V2.9.4",
            ),
            // No advisory of this package names Moxa: listed as unmatched, with why.
            plc("10.0.0.51", "Moxa", "NPort 5110", "NPort 5110", "2.10"),
        ],
    )
    .await;
    ingest(
        &console,
        seeded.zone_b,
        "m340",
        vec![plc(
            "10.1.0.50",
            "Schneider Electric",
            "BMX P34 2020",
            "BMX P34 2020",
            "v3.60",
        )],
    )
    .await;

    let good = package(&intel, &key, 1_780_000_000);
    // Refusals: not a package, a flipped byte, another key, a non-administrator.
    let answer = upload(&console, &admin, b"not a package".to_vec()).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.text().contains("bad magic"), "{}", answer.text());
    let mut flipped = good.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x40;
    let answer = upload(&console, &admin, flipped).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(
        answer.text().contains("signature invalid"),
        "{}",
        answer.text()
    );
    let other = package(&intel, &generate().unwrap(), 1_780_000_000);
    let answer = upload(&console, &admin, other).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.text().contains("another key"), "{}", answer.text());
    let answer = upload(&console, &analyst_a, good.clone()).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(
        get(&console, "/api/v1/ti/packages", &admin).await["total"],
        0
    );

    // The good one is stored and put in force.
    let answer = upload(&console, &admin, good.clone()).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text());
    let stored = answer.json();
    assert_eq!(stored["in_force"], true);
    assert_eq!(stored["sequence"], 1_780_000_000);
    // The same package again, and an older one: downgrades, the one in force stays.
    for bytes in [good.clone(), package(&intel, &key, 1_770_000_000)] {
        let answer = upload(&console, &admin, bytes).await;
        assert_eq!(answer.status, StatusCode::CONFLICT);
        assert!(
            answer.text().contains("downgrade refused"),
            "{}",
            answer.text()
        );
    }
    let packages = get(&console, "/api/v1/ti/packages", &viewer).await;
    assert_eq!(packages["total"], 1);
    assert_eq!(packages["items"][0]["id"], stored["id"]);

    // ICSA-22-349-03: the 1516-3 PN/DP (6ES7516-3AN01-0AB0) below V2.9.7 has CVE-2021-40365,
    // -44693, -44694, -44695. ICSA-24-326-04: the M340 (BMXP34*) below SV3.65 has
    // CVE-2024-8936, -8937, -8938.
    let s7_cves = [
        "CVE-2021-40365",
        "CVE-2021-44693",
        "CVE-2021-44694",
        "CVE-2021-44695",
    ];
    let m340_cves = ["CVE-2024-8936", "CVE-2024-8937", "CVE-2024-8938"];
    let all = eventually(
        &console,
        "/api/v1/vulnerabilities?limit=1000",
        &admin,
        |p| p["total"] == 7,
    )
    .await;
    let mut expected: Vec<String> = s7_cves
        .iter()
        .chain(&m340_cves)
        .map(|c| (*c).to_owned())
        .collect();
    expected.sort();
    assert_eq!(cves(&all), expected);
    let s7_row = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["cve"] == "CVE-2021-40365")
        .unwrap();
    assert_eq!(s7_row["confidence"], "high");
    assert_eq!(s7_row["fixed_in"], serde_json::json!(["V2.9.7"]));
    assert!(
        s7_row["reason"]
            .as_str()
            .unwrap()
            .contains("ICSA-22-349-03"),
        "{s7_row}"
    );
    let s7_device = s7_row["device_id"].as_i64().unwrap();
    // KEV first, then CVSS, highest first.
    let ranks: Vec<(bool, f64)> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["kev"].as_bool().unwrap(),
                v["cvss"].as_f64().unwrap_or(-1.0),
            )
        })
        .collect();
    assert!(ranks.windows(2).all(|w| w[0] >= w[1]), "{ranks:?}");

    // The analyst of site A sees only the S7's; filters.
    let a = get(&console, "/api/v1/vulnerabilities", &analyst_a).await;
    assert_eq!(cves(&a), s7_cves);
    let b_only = get(
        &console,
        &format!("/api/v1/vulnerabilities?site={}", seeded.site_b.0),
        &analyst_a,
    )
    .await;
    assert_eq!(
        b_only["total"], 0,
        "another site is not reachable by filter"
    );
    let one = get(
        &console,
        "/api/v1/vulnerabilities?cve=CVE-2024-8936",
        &admin,
    )
    .await;
    assert_eq!(one["total"], 1);
    let vendor = get(&console, "/api/v1/vulnerabilities?vendor=Siemens", &admin).await;
    assert_eq!(vendor["total"], 4);
    let by_cve = get(&console, "/api/v1/vulnerabilities?view=cve", &admin).await;
    assert_eq!(by_cve["total"], 7);
    let by_severity = get(
        &console,
        "/api/v1/vulnerabilities?view=severity",
        &analyst_a,
    )
    .await;
    let counted: i64 = by_severity["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["vulnerabilities"].as_i64().unwrap())
        .sum();
    assert_eq!(counted, 4);
    for bad in ["severity=huge", "kev=maybe", "view=everything", "site=x"] {
        let answer = console
            .call(
                Method::GET,
                &format!("/api/v1/vulnerabilities?{bad}"),
                &admin,
                None,
            )
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{bad}");
    }

    // The device and the inventory carry them.
    let detail = get(&console, &format!("/api/v1/devices/{s7_device}"), &admin).await;
    assert_eq!(detail["vulnerabilities"]["total"], 4);
    let devices = get(&console, "/api/v1/devices?limit=1000", &analyst_a).await;
    let listed = devices["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == s7_device)
        .unwrap();
    assert_eq!(listed["vulnerabilities"], 4);
    assert_eq!(listed["highest_cvss"], 7.5);

    // Products the package cannot resolve are listed with why, within the caller's sites.
    let unmatched = get(&console, "/api/v1/ti/unmatched", &admin).await;
    let moxa = unmatched["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["vendor"] == "Moxa")
        .unwrap_or_else(|| panic!("{unmatched}"));
    assert_eq!(moxa["reason"], "vendor_unknown");
    assert_eq!(moxa["devices"], 1);
    assert!(
        moxa["explanation"].as_str().unwrap().contains("Moxa"),
        "{moxa}"
    );
    let (_, viewer_b) = console.user("val", "viewer", &[seeded.site_b]).await;
    let unmatched_b = get(&console, "/api/v1/ti/unmatched", &viewer_b).await;
    assert!(unmatched_b["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|u| u["vendor"] != "Moxa"));

    // Exclusions: analysts with a reason, within their sites; audited.
    let exclude = |device: i64, cve: &str, reason: &str| {
        serde_json::json!({ "device_id": device, "cve": cve, "reason": reason }).to_string()
    };
    let answer = console
        .call(
            Method::POST,
            "/api/v1/vulnerabilities/exclusions",
            &viewer,
            Some(&exclude(s7_device, "CVE-2021-44693", "x")),
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    let answer = console
        .call(
            Method::POST,
            "/api/v1/vulnerabilities/exclusions",
            &analyst_a,
            Some(&exclude(s7_device, "CVE-2021-44693", "  ")),
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let m340_device = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["cve"] == "CVE-2024-8936")
        .unwrap()["device_id"]
        .as_i64()
        .unwrap();
    let answer = console
        .call(
            Method::POST,
            "/api/v1/vulnerabilities/exclusions",
            &analyst_a,
            Some(&exclude(m340_device, "CVE-2024-8936", "not mine")),
        )
        .await;
    assert_eq!(
        answer.status,
        StatusCode::NOT_FOUND,
        "another site's device"
    );
    let answer = console
        .call(
            Method::POST,
            "/api/v1/vulnerabilities/exclusions",
            &analyst_a,
            Some(&exclude(
                s7_device,
                "CVE-2021-44693",
                "web server disabled on this CPU",
            )),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text());
    let exclusion = answer.json()["id"].as_i64().unwrap();
    let excluded = get(&console, "/api/v1/vulnerabilities?excluded=true", &admin).await;
    assert_eq!(cves(&excluded), ["CVE-2021-44693"]);
    assert_eq!(
        excluded["items"][0]["exclusion_reason"],
        "web server disabled on this CPU"
    );
    let devices = get(&console, "/api/v1/devices?limit=1000", &analyst_a).await;
    let listed = devices["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == s7_device)
        .unwrap();
    assert_eq!(
        listed["vulnerabilities"], 3,
        "an excluded one is not counted"
    );

    // CSV: the caller's rows, spreadsheet-safe, excluded ones flagged.
    let csv = console
        .call(Method::GET, "/api/v1/vulnerabilities.csv", &analyst_a, None)
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert!(lines[0].starts_with("device_id,device,ips,vendor,model,firmware,site,cve,cvss"));
    assert!(text.contains("CVE-2021-44693") && text.contains("web server disabled on this CPU"));
    assert!(!text.contains("CVE-2024-8936"));

    // A firmware update to the fixed version: the S7 is matched again and has none; the
    // exclusion stays for when it would match again.
    ingest(
        &console,
        seeded.zone_a,
        "s7-fixed",
        vec![plc(
            "10.0.0.50",
            "Siemens",
            "CPU 1516-3 PN/DP",
            "6ES7 516-3AN01-0AB0",
            "V2.9.7",
        )],
    )
    .await;
    eventually(
        &console,
        &format!("/api/v1/vulnerabilities?device={s7_device}"),
        &admin,
        |p| p["total"] == 0,
    )
    .await;
    assert_eq!(
        get(&console, "/api/v1/vulnerabilities", &admin).await["total"],
        3
    );
    let exclusions = get(&console, "/api/v1/vulnerabilities/exclusions", &analyst_a).await;
    assert_eq!(exclusions["total"], 1);
    // Back to V2.9.4: matched again, the exclusion applies at once.
    ingest(
        &console,
        seeded.zone_a,
        "s7-back",
        vec![plc(
            "10.0.0.50",
            "Siemens",
            "CPU 1516-3 PN/DP",
            "6ES7 516-3AN01-0AB0",
            "V2.9.4",
        )],
    )
    .await;
    let again = eventually(
        &console,
        &format!("/api/v1/vulnerabilities?device={s7_device}"),
        &admin,
        |p| p["total"] == 4,
    )
    .await;
    let still = again["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["cve"] == "CVE-2021-44693")
        .unwrap();
    assert_eq!(still["excluded"], true);

    // Deleting the exclusion: analysts of the device's site only; audited.
    let path = format!("/api/v1/vulnerabilities/exclusions/{exclusion}");
    let (_, analyst_b) = console.user("bob", "analyst", &[seeded.site_b]).await;
    assert_eq!(
        console
            .call(Method::DELETE, &path, &analyst_b, None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        console
            .call(Method::DELETE, &path, &analyst_a, None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );

    let audit = audit_actions(&console).await;
    let count = |action: &str, outcome: &str| {
        audit
            .iter()
            .filter(|(a, o, _)| a == action && o == outcome)
            .count()
    };
    assert_eq!(count("ti.upload", "ok"), 1);
    assert_eq!(count("ti.upload", "failed"), 5, "{audit:?}");
    assert_eq!(count("vulnerability.exclude", "ok"), 1);
    assert_eq!(count("vulnerability.exclusion_delete", "ok"), 1);
    assert!(audit.iter().any(|(a, _, d)| a == "vulnerability.exclude"
        && d == "CVE-2021-44693: web server disabled on this CPU"));

    // The pages render with what was matched.
    let session = console.sign_in("root").await;
    let page = console
        .call(Method::GET, "/vulnerabilities", &session, None)
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("CVE-2024-8936"));
    let page = console
        .call(
            Method::GET,
            &format!("/devices/{s7_device}"),
            &session,
            None,
        )
        .await;
    assert!(page.text().contains("CVE-2021-40365") && page.text().contains("ICSA-22-349-03"));
    let page = console
        .call(Method::GET, "/threat-intelligence", &session, None)
        .await;
    assert!(page.text().contains("ironward-ti-"), "{}", page.text());
}
