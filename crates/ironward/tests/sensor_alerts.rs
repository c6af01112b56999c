//! Alerts reach users: `ironward sensor` runs the detector over real captures with an attack and
//! uploads to `ironward serve`; the alerts are then read back through the console's REST API
//! (HTTPS, an API token) with their engine, ATT&CK techniques and evidence, and the counts the
//! console holds equal those of a whole-file `ironward analyze --detect` — batches carry
//! deltas, the console adds them up, so an alert repeated across windows is not counted twice.
//! The alert's pcap (the sensor's packet ring) downloads through the same API and tshark reads
//! the stop PDU in it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
mod console_process;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use ironward_model::Timestamp;
use serde_json::Value;

use console_process::{capture, prepare, run_sensor, Console};

/// Runs `ironward sensor` over the captures until everything is acknowledged.
fn sensor(console: &Console, token: &str, data: &Path, window: &str, captures: &[PathBuf]) {
    let mut args: Vec<&OsStr> = vec!["--window".as_ref(), window.as_ref(), "--pcap".as_ref()];
    args.extend(captures.iter().map(|c| c.as_os_str()));
    run_sensor(console, token, data, &args);
}

/// What `ironward analyze --detect` raises over the captures: count per alert id.
fn analyzed(captures: &[PathBuf]) -> BTreeMap<String, u64> {
    let out = Command::new(env!("CARGO_BIN_EXE_ironward"))
        .args(["analyze", "--detect", "--format", "json"])
        .args(captures)
        .output()
        .unwrap();
    assert!(out.status.success());
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    report["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["id"].as_str().unwrap().to_owned(),
                a["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_sensor_s_alerts_reach_the_console_api_with_their_evidence_and_true_counts() {
    let (Some(stop), Some(modbus)) = (
        capture("s7comm/step7_s300_stop.pcap"),
        capture("modbus/zeek_modbus-and-non-modbus-p502.pcap"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let console_data = dir.path().join("console");
    std::fs::create_dir_all(&console_data).unwrap();
    let (enrolment, api, _) = prepare(&console_data, None);
    let console = Console::start(&console_data, &[]);
    // The attack three times (copies are other files to the sensor: each is read, in windows
    // of its own), then a Modbus capture whose unanswered device repeats 16 s apart, in 5 s
    // windows: repeats reach the console in several windows, each with its window's count.
    let mut captures = vec![stop.clone()];
    for n in 1..3 {
        let copy = dir.path().join(format!("stop-{n}.pcap"));
        std::fs::copy(&stop, &copy).unwrap();
        captures.push(copy);
    }
    captures.push(modbus);
    sensor(
        &console,
        &enrolment,
        &dir.path().join("sensor"),
        "5",
        &captures,
    );

    let (status, list) = console.get(&api, "/api/v1/alerts?limit=500");
    assert_eq!(status, 200, "{list}");
    let items = list["items"].as_array().unwrap();
    let stop_alert = items
        .iter()
        .find(|a| a["kind"].as_str().unwrap_or_default().contains("plc_stop"))
        .unwrap_or_else(|| panic!("no PLC stop alert in {list:#}"));
    let id = stop_alert["id"].as_i64().unwrap();
    let (status, detail) = console.get(&api, &format!("/api/v1/alerts/{id}"));
    assert_eq!(status, 200, "{detail}");
    let engine = detail["engine"].as_str().unwrap();
    assert!(
        ["malware", "operational", "policy", "protocol"].contains(&engine),
        "{detail:#}"
    );
    let techniques: Vec<&str> = detail["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert!(
        techniques.contains(&"T0816") || techniques.contains(&"T0858"),
        "{detail:#}"
    );
    let evidence = detail["evidence"].as_array().unwrap();
    assert!(!evidence.is_empty(), "{detail:#}");
    assert!(
        evidence[0]["summary"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("stop"),
        "{detail:#}"
    );
    assert_eq!(detail["src_ip"], "134.249.62.199", "{detail:#}");
    assert_eq!(detail["dst_ip"], "134.249.61.163", "{detail:#}");

    // The console's counts are the detector's: what `analyze --detect` raises from each file,
    // added up (a copy replayed into one engine would be taken for TCP retransmissions; the
    // sensor reads each file in windows of its own). Cumulative counts would give the attack
    // 1 + 2 + 3.
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for file in &captures {
        for (id, count) in analyzed(std::slice::from_ref(file)) {
            *expected.entry(id).or_default() += count;
        }
    }
    assert!(
        expected.values().any(|&n| n > 1),
        "some alert must repeat for the count to prove anything: {expected:?}"
    );
    let held: BTreeMap<String, u64> = items
        .iter()
        .map(|a| {
            (
                a["key"].as_str().unwrap().to_owned(),
                a["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(held, expected);
}

/// The console's alerts of one engine.
fn alerts_of(console: &Console, api: &str, engine: &str) -> Vec<Value> {
    let (status, list) = console.get(api, &format!("/api/v1/alerts?engine={engine}&limit=1000"));
    assert_eq!(status, 200, "{list}");
    list["items"].as_array().unwrap().clone()
}

#[test]
fn a_sensor_follows_its_site_s_learning_and_keeps_the_baseline_after_a_restart() {
    let Some(plant) = capture("modbus/iti_ModbusTCP.pcap") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let console_data = dir.path().join("console");
    std::fs::create_dir_all(&console_data).unwrap();
    let day = 86_400 * 1_000_000_000;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64;
    let (enrolment, api, site) = prepare(&console_data, Some(Timestamp(now + day)));
    let console = Console::start(&console_data, &[]);
    let sensor_data = dir.path().join("sensor");

    // The site learns: the sensor reports each new device, connection and operation once, and
    // the console makes baseline entries of them instead of alerts.
    sensor(
        &console,
        &enrolment,
        &sensor_data,
        "10",
        std::slice::from_ref(&plant),
    );
    let (status, state) = console.get(&api, &format!("/api/v1/sites/{site}/learning"));
    assert_eq!(status, 200, "{state}");
    assert_eq!(state["learning"], true, "{state}");
    let learned = state["learned"].as_i64().unwrap();
    assert!(learned > 3, "{state}");
    assert!(alerts_of(&console, &api, "policy").is_empty());
    let (_, entries) = console.get(&api, &format!("/api/v1/baseline?site={site}&limit=1000"));
    let entries = entries["items"].as_array().unwrap().clone();
    assert_eq!(entries.len() as i64, learned, "each reported once");
    assert!(entries.iter().all(|e| e["created_by"] == "learning"));
    let kinds: std::collections::BTreeSet<&str> = entries
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains("policy.new_device"), "{kinds:?}");
    assert!(kinds.contains("policy.new_connection") || kinds.contains("policy.new_protocol"));

    // Learning ends by hand; the sensor restarts (its own learned baseline is gone) and sees the
    // same plant again: it imports the site's entries and reports none of it.
    let (status, state) = console.post(
        &api,
        &format!("/api/v1/sites/{site}/learning"),
        r#"{"stop":true}"#,
    );
    assert_eq!(status, 200, "{state}");
    assert_eq!(state["learning"], false, "{state}");
    let (status, _) = console.post(&api, &format!("/api/v1/sites/{site}/learning"), "{}");
    assert_eq!(status, 400);
    let again = dir.path().join("plant-again.pcap");
    std::fs::copy(&plant, &again).unwrap();
    sensor(&console, &enrolment, &sensor_data, "10", &[again]);
    let policy = alerts_of(&console, &api, "policy");
    assert!(
        policy.is_empty(),
        "learned traffic raised policy alerts: {policy:#?}"
    );
    let (_, after) = console.get(&api, &format!("/api/v1/baseline?site={site}&limit=1000"));
    let after = after["items"].as_array().unwrap();
    assert_eq!(after.len(), entries.len());
    let suppressed: i64 = after
        .iter()
        .map(|e| e["suppressed"].as_i64().unwrap())
        .sum();
    assert_eq!(
        suppressed, 0,
        "the sensor sent alerts the site's baseline covers: it did not import it"
    );
    let (_, state) = console.get(&api, &format!("/api/v1/sites/{site}/learning"));
    assert_eq!(state["learned"].as_i64().unwrap(), learned);
}

/// The S7 stop alert's pcap, made by the sensor's packet ring, downloads from the console and
/// tshark reads the stop PDU in it; it is the same file `ironward analyze --pcap-dir` writes.
#[test]
fn a_sensor_s_alert_pcap_downloads_from_the_console() {
    let Some(stop) = capture("s7comm/step7_s300_stop.pcap") else {
        return;
    };
    if Command::new("tshark").arg("--version").output().is_err() {
        println!("skipped: tshark is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let console_data = dir.path().join("console");
    std::fs::create_dir_all(&console_data).unwrap();
    let (enrolment, api, _) = prepare(&console_data, None);
    let console = Console::start(&console_data, &[]);
    sensor(
        &console,
        &enrolment,
        &dir.path().join("sensor"),
        "60",
        std::slice::from_ref(&stop),
    );

    let (status, list) = console.get(&api, "/api/v1/alerts?limit=500");
    assert_eq!(status, 200, "{list}");
    let stop_alert = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "malware.s7_plc_stop")
        .unwrap_or_else(|| panic!("no S7 stop alert in {list:#}"));
    let id = stop_alert["id"].as_i64().unwrap();
    let key = stop_alert["key"].as_str().unwrap();
    let (status, head, pcap) = console.request(
        "GET",
        &api,
        &format!("/api/v1/alerts/{id}/pcap"),
        "application/json",
        b"",
    );
    assert_eq!(status, 200, "{head}");
    assert!(
        head.contains("content-type: application/vnd.tcpdump.pcap"),
        "{head}"
    );
    let file = dir.path().join("download.pcap");
    std::fs::write(&file, &pcap).unwrap();
    let out = Command::new("tshark")
        .arg("-r")
        .arg(&file)
        .args([
            "-T",
            "fields",
            "-e",
            "ip.src",
            "-e",
            "ip.dst",
            "-e",
            "s7comm.param.func",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.lines().any(|l| l.ends_with("0x29")), "{text}");
    for line in text.lines() {
        assert!(
            line.contains("134.249.62.199") || line.contains("134.249.61.163"),
            "{line}"
        );
    }

    // The same packets `analyze --pcap-dir` writes for the same alert.
    let pcaps = dir.path().join("pcaps");
    let out = Command::new(env!("CARGO_BIN_EXE_ironward"))
        .args(["analyze", "--format", "json", "--pcap-dir"])
        .arg(&pcaps)
        .arg(&stop)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        std::fs::read(pcaps.join(format!("{key}.pcap"))).unwrap(),
        pcap
    );

    // An alert without a capture, or none at all, is 404.
    let (status, _, _) = console.request(
        "GET",
        &api,
        "/api/v1/alerts/999999/pcap",
        "application/json",
        b"",
    );
    assert_eq!(status, 404);
}
