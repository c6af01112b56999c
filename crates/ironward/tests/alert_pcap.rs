//! `ironward analyze --pcap-dir`: each alert's packets written as `<alert id>.pcap`, named in
//! the report, and read back by tshark: the S7 PLC-stop alert's file holds the stop PDU and only
//! frames of the alert's addresses, although unrelated traffic surrounds them in the input.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use ironward_sensor::capture::{self, PcapConfig, PcapWriter};
use serde_json::Value;

/// The shared data directory: `$IRONWARD_DATA`, else `../shared/data` beside the workspace.
fn data_dir() -> PathBuf {
    match std::env::var_os("IRONWARD_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
}

fn tshark_present() -> bool {
    Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Every frame of a capture: (timestamp, data, original length).
fn frames(path: &Path) -> Vec<(i64, Vec<u8>, u32)> {
    let mut reader = capture::open_file(path).unwrap();
    let mut out = Vec::new();
    while let Some(frame) = reader.next_frame() {
        out.push((frame.timestamp_ns, frame.data.to_vec(), frame.original_len));
    }
    out
}

/// The S7 stop capture with Modbus traffic of other hosts before, between and after its frames
/// (timestamps rewritten onto the stop capture's timeline).
fn mixed_capture(stop: &Path, other: &Path, out: &Path) -> usize {
    let stop = frames(stop);
    let other = frames(other);
    let start = stop[0].0;
    let mut all: Vec<(i64, Vec<u8>, u32)> = Vec::new();
    let mut noise = other.into_iter().take(120);
    // 40 unrelated frames in the second before the stop, then one between each stop frame.
    for i in 0..40 {
        if let Some((_, data, len)) = noise.next() {
            all.push((start - 1_000_000_000 + i * 20_000_000, data, len));
        }
    }
    for (i, (ts, data, len)) in stop.into_iter().enumerate() {
        all.push((ts, data, len));
        if let Some((_, d, l)) = noise.next() {
            all.push((ts + 1_000 + i as i64, d, l));
        }
    }
    // The rest 11 s later: the alert's capture ends by time while the input goes on (and is
    // written then, not at the end).
    let last = all.iter().map(|f| f.0).max().unwrap();
    for (i, (_, data, len)) in noise.enumerate() {
        all.push((last + 11_000_000_000 + 1_000_000 * i as i64, data, len));
    }
    all.sort_by_key(|f| f.0);
    let mut writer =
        PcapWriter::new(std::fs::File::create(out).unwrap(), PcapConfig::default()).unwrap();
    for (ts, data, len) in &all {
        writer.write_frame(*ts, data, *len).unwrap();
    }
    writer.flush().unwrap();
    all.len()
}

/// tshark's fields of every frame of `path`, one line per frame, tab-separated.
fn tshark_fields(path: &Path, fields: &[&str]) -> Vec<Vec<String>> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(path).args(["-T", "fields"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "tshark: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

#[test]
fn each_alert_gets_a_pcap_of_its_own_packets() {
    let pcaps = data_dir().join("pcaps");
    let stop = pcaps.join("s7comm/step7_s300_stop.pcap");
    let other = pcaps.join("modbus/iti_ModbusTCP.pcap");
    if !stop.exists() || !other.exists() {
        println!("skipped: shared captures not found (set IRONWARD_DATA)");
        return;
    }
    if !tshark_present() {
        println!("skipped: tshark is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("mixed.pcap");
    let total = mixed_capture(&stop, &other, &input);
    let out_dir = dir.path().join("alerts");
    let output = Command::new(env!("CARGO_BIN_EXE_ironward"))
        .args(["analyze", "--format", "json", "--pcap-dir"])
        .arg(&out_dir)
        .arg(&input)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let alerts = report["alerts"].as_array().unwrap();
    let stop_alert = alerts
        .iter()
        .find(|a| a["kind"] == "malware.s7_plc_stop")
        .unwrap_or_else(|| panic!("no S7 stop alert in {alerts:?}"));
    let id = stop_alert["id"].as_str().unwrap();
    let file = out_dir.join(format!("{id}.pcap"));
    assert_eq!(stop_alert["pcap"].as_str(), file.to_str());
    // Every alert with a file names one that exists.
    for a in alerts {
        if let Some(path) = a["pcap"].as_str() {
            assert!(Path::new(path).is_file(), "{path}");
        }
    }

    let addresses = [
        stop_alert["src_ip"].as_str().unwrap(),
        stop_alert["dst_ip"].as_str().unwrap(),
    ];
    let rows = tshark_fields(&file, &["ip.src", "ip.dst", "s7comm.param.func"]);
    assert!(
        rows.len() >= 2 && rows.len() < total,
        "{} of {total} frames",
        rows.len()
    );
    for row in &rows {
        assert!(
            addresses.contains(&row[0].as_str()) || addresses.contains(&row[1].as_str()),
            "a frame of other hosts in the alert's pcap: {row:?}"
        );
    }
    assert!(
        rows.iter().any(|r| r[2].split(',').any(|f| f == "0x29")),
        "no S7 PLC stop (function 0x29) in {rows:?}"
    );
    // The unrelated traffic was there and is absent from the alert's pcap, and the input's
    // frames of the alert's hosts all made it.
    let input_rows = tshark_fields(&input, &["ip.src", "ip.dst"]);
    let of_alert = input_rows
        .iter()
        .filter(|r| addresses.contains(&r[0].as_str()) || addresses.contains(&r[1].as_str()))
        .count();
    assert!(of_alert < input_rows.len());
    assert_eq!(rows.len(), of_alert);

    // The table names the file too.
    let table = Command::new(env!("CARGO_BIN_EXE_ironward"))
        .args(["analyze", "--pcap-dir"])
        .arg(dir.path().join("again"))
        .arg(&input)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("pcap") && text.contains(id), "{text}");
}
