//! Threat-intelligence packages reach the sensors: an administrator uploads a package signed by
//! a key made here to `ironward serve --ti-pubkey` and applies it to a site; `ironward sensor
//! --ti-pubkey` downloads it from its ingest answers, verifies it with its own key, applies its
//! IoCs and reports, and the console shows the sensor "ok" on that package. A package signed by
//! another key is refused at upload. When the console's key changes (a new key, a package
//! signed by it applied), a sensor still configured with the old key refuses the new package,
//! reports "failed" with the reason, and keeps detecting with the package it had.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod console_process;

use std::ffi::OsStr;
use std::path::Path;

use ironward_intel::ti::package::{build, PackageContents};
use ironward_intel::ti::sign::{write_key_pair, SigningKey};
use serde_json::Value;

use console_process::{capture, prepare, run_sensor, Console};

/// The S7 PLC of the capture: the IoC list of the packages names it.
const PLC: &str = "134.249.61.163";

/// `POST /api/v1/ti/packages` with a package's bytes: status and JSON body.
fn upload(console: &Console, token: &str, package: &[u8]) -> (u16, Value) {
    let (status, _, body) = console.request(
        "POST",
        token,
        "/api/v1/ti/packages",
        "application/octet-stream",
        package,
    );
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// A package signed by `key`, built `day` days after 2026-01-01, whose IoC list names the PLC.
fn package(key: &SigningKey, day: i64) -> (u64, Vec<u8>) {
    let contents = PackageContents {
        iocs_csv: format!(
            "kind,value,severity,name,techniques,reference,description\n\
             ip,{PLC},critical,Test implant host,,test,The PLC of the capture\n"
        ),
        ..PackageContents::default()
    };
    let at = time::OffsetDateTime::from_unix_timestamp(1_767_225_600 + day * 86_400).unwrap();
    let (info, bytes) = build(&contents, Vec::new(), Vec::new(), at, key).unwrap();
    (info.sequence, bytes)
}

/// Runs `ironward sensor --ti-pubkey` over one capture until everything is acknowledged.
fn sensor(console: &Console, token: &str, data: &Path, pubkey: &Path, capture: &Path) {
    let args: [&OsStr; 6] = [
        "--ti-pubkey".as_ref(),
        pubkey.as_os_str(),
        "--window".as_ref(),
        "60".as_ref(),
        "--pcap".as_ref(),
        capture.as_os_str(),
    ];
    run_sensor(console, token, data, &args);
}

/// The one sensor's `threat_intel` as `GET /api/v1/sensors` shows it.
fn sensor_ti(console: &Console, api: &str) -> Value {
    let (status, list) = console.get(api, "/api/v1/sensors");
    assert_eq!(status, 200, "{list}");
    list["items"][0]["threat_intel"].clone()
}

/// How many times the console counted the IoC alert on the PLC (0: no such alert).
fn ioc_alert_count(console: &Console, api: &str) -> u64 {
    let (status, list) = console.get(api, "/api/v1/alerts?limit=500");
    assert_eq!(status, 200, "{list}");
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "malware.ioc_ip" && a.to_string().contains(PLC))
        .map(|a| a["count"].as_u64().unwrap())
        .sum()
}

#[test]
fn a_package_applied_to_a_site_reaches_its_sensor_which_enforces_its_own_key() {
    let (Some(stop), Some(other)) = (
        capture("s7comm/step7_s300_stop.pcap"),
        capture("modbus/zeek_modbus-and-non-modbus-p502.pcap"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let console_data = dir.path().join("console");
    let sensor_data = dir.path().join("sensor");
    std::fs::create_dir_all(&console_data).unwrap();
    let console_key = SigningKey::from_bytes(&[7; 32]);
    let console_pub = write_key_pair(&console_key, &dir.path().join("console.key")).unwrap();
    let other_key = SigningKey::from_bytes(&[9; 32]);
    let other_pub = write_key_pair(&other_key, &dir.path().join("other.key")).unwrap();
    let (enrolment, api, site) = prepare(&console_data, None);
    let console = Console::start(
        &console_data,
        &["--ti-pubkey".as_ref(), console_pub.as_os_str()],
    );

    // A package signed by another key never gets in.
    let (status, answer) = upload(&console, &api, &package(&other_key, 5).1);
    assert!((400..500).contains(&status), "{status} {answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("another key"),
        "{answer}"
    );
    // The console's own package, applied to the site.
    let (sequence, bytes) = package(&console_key, 10);
    let (status, uploaded) = upload(&console, &api, &bytes);
    assert_eq!(status, 201, "{uploaded}");
    let id = uploaded["id"].as_i64().unwrap();
    let (status, applied) = console.post(
        &api,
        &format!("/api/v1/ti/packages/{id}/apply"),
        &format!(r#"{{"sites": [{site}]}}"#),
    );
    assert_eq!(status, 200, "{applied}");
    assert_eq!(applied["items"][0]["sequence"], sequence, "{applied}");
    let (_, audit) = console.get(&api, "/api/v1/audit?limit=100");
    assert!(
        audit.to_string().contains("ti.apply"),
        "no ti.apply in the audit log: {audit}"
    );

    // The sensor's first run (a capture without the PLC): its ingest answers name the package;
    // it downloads, verifies, applies, keeps and reports it.
    sensor(&console, &enrolment, &sensor_data, &console_pub, &other);
    let ti = sensor_ti(&console, &api);
    assert_eq!(ti["state"], "ok", "{ti}");
    assert_eq!(ti["running_sequence"], sequence, "{ti}");
    assert_eq!(ti["assigned_sequence"], sequence, "{ti}");
    assert_eq!(ti["error"], Value::Null, "{ti}");
    assert_eq!(
        std::fs::read(sensor_data.join("ti-package.pkg")).unwrap(),
        bytes
    );
    assert_eq!(ioc_alert_count(&console, &api), 0);

    // Restarted over the S7 capture: the saved package is in force from the first frame, and
    // traffic of the PLC its IoC list names is an alert at the console.
    sensor(&console, &enrolment, &sensor_data, &console_pub, &stop);
    let before = ioc_alert_count(&console, &api);
    if before == 0 {
        let (_, list) = console.get(&api, "/api/v1/alerts?limit=500");
        panic!("no IoC alert on {PLC}: {list:#}");
    }

    // The console's key changes; a package signed by the new key is applied. The sensor still
    // trusts the old key only: it refuses the package and says why, and the old one stays.
    drop(console);
    let console = Console::start(
        &console_data,
        &["--ti-pubkey".as_ref(), other_pub.as_os_str()],
    );
    let (newer, newer_bytes) = package(&other_key, 20);
    let (status, uploaded) = upload(&console, &api, &newer_bytes);
    assert_eq!(status, 201, "{uploaded}");
    let id = uploaded["id"].as_i64().unwrap();
    let (status, applied) = console.post(
        &api,
        &format!("/api/v1/ti/packages/{id}/apply"),
        &format!(r#"{{"sites": [{site}]}}"#),
    );
    assert_eq!(status, 200, "{applied}");
    let copy = dir.path().join("stop-again.pcap");
    std::fs::copy(&stop, &copy).unwrap();
    sensor(&console, &enrolment, &sensor_data, &console_pub, &copy);
    let ti = sensor_ti(&console, &api);
    assert_eq!(ti["state"], "failed", "{ti}");
    assert_eq!(ti["running_sequence"], sequence, "{ti}");
    assert_eq!(ti["assigned_sequence"], newer, "{ti}");
    assert!(
        ti["error"]
            .as_str()
            .unwrap()
            .contains("signed by another key"),
        "{ti}"
    );
    // The old package's IoCs still raise: the alert's count grew with the replay.
    assert!(ioc_alert_count(&console, &api) > before);
    assert_eq!(
        std::fs::read(sensor_data.join("ti-package.pkg")).unwrap(),
        bytes
    );
}
