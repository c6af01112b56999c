//! The `ironward` command line, end to end: help and version, every output format, the JSON
//! contract, several inputs as one timeline, standard input, gzip, and bad input.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use ironward_sensor::capture::{self, PcapConfig, PcapWriter};
use serde_json::Value;

fn ironward() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ironward"))
}

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/demo.pcapng")
}

fn run(args: &[&str]) -> Output {
    ironward().args(args).output().expect("ironward runs")
}

fn json_of(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "ironward failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("valid JSON")
}

fn analyze_json(files: &[&Path]) -> Value {
    let mut cmd = ironward();
    cmd.args(["analyze", "--format", "json"]);
    cmd.args(files);
    json_of(&cmd.output().unwrap())
}

fn device<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == id)
        .unwrap_or_else(|| panic!("no device {id}"))
}

#[test]
fn help_and_version_are_clear() {
    let help = run(&["--help"]);
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    for word in ["analyze", "synth", "--verbose", "passively"] {
        assert!(text.contains(word), "--help lacks {word}:\n{text}");
    }
    let version = run(&["--version"]);
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("ironward {}", env!("CARGO_PKG_VERSION"))
    );
    let analyze = String::from_utf8_lossy(&run(&["analyze", "--help"]).stdout).into_owned();
    for word in [
        "--format",
        "json",
        "csv",
        "--out",
        "--interface",
        "standard input",
        "Examples",
    ] {
        assert!(analyze.contains(word), "analyze --help lacks {word}");
    }
    let synth = String::from_utf8_lossy(&run(&["synth", "--help"]).stdout).into_owned();
    assert!(synth.contains("demo") && synth.contains("scale"));
}

#[test]
fn json_report_keeps_its_contract() {
    let report = analyze_json(&[&demo()]);
    let top: Vec<&str> = report
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for key in ["devices", "connections", "events", "stats"] {
        assert!(top.contains(&key), "missing top-level key {key}");
    }
    for d in report["devices"].as_array().unwrap() {
        for key in [
            "id",
            "mac",
            "ips",
            "vendor",
            "hostnames",
            "type",
            "role",
            "model",
            "firmware",
            "serial",
            "os",
            "protocols",
            "services",
            "findings",
            "facts",
            "conflicts",
            "first_seen",
            "last_seen",
        ] {
            assert!(d.get(key).is_some(), "device lacks {key}: {d}");
        }
        assert!(d["protocols"]["client"].is_array() && d["protocols"]["server"].is_array());
        for fact in d["facts"].as_array().unwrap() {
            assert!(fact["attribute"].is_string() && fact["value"].is_string());
            assert!(fact["source"].is_string());
        }
        // RFC 3339 times.
        assert!(d["first_seen"]
            .as_str()
            .unwrap()
            .starts_with("2026-03-02T08:00:"));
    }
    for c in report["connections"].as_array().unwrap() {
        for key in [
            "a",
            "b",
            "a_ip",
            "b_ip",
            "transport",
            "port",
            "protocol",
            "packets",
            "bytes",
            "first_seen",
            "last_seen",
        ] {
            assert!(c.get(key).is_some(), "connection lacks {key}: {c}");
        }
    }
    let stats = &report["stats"];
    for key in [
        "packets",
        "bytes",
        "frames_by_linktype",
        "decode_errors",
        "truncated",
        "flows",
        "flows_evicted",
        "streams_with_gaps",
    ] {
        assert!(stats.get(key).is_some(), "stats lacks {key}");
    }
}

#[test]
fn demo_plant_is_understood() {
    let report = analyze_json(&[&demo()]);
    assert_eq!(report["stats"]["packets"], 284);
    assert_eq!(report["stats"]["frames_by_linktype"]["ethernet"], 284);
    assert_eq!(report["stats"]["fragments_reassembled"], 1);

    // The router: many internet addresses behind its MAC, plus its own ARP-claimed address.
    let router = device(&report, "mac:00:00:0c:9f:f0:01");
    assert_eq!(router["role"], "router");
    assert_eq!(router["vendor"], "Cisco Systems, Inc");
    assert!(router["ips"]
        .as_array()
        .unwrap()
        .contains(&Value::from("10.10.1.1")));
    assert!(!router["ips"]
        .as_array()
        .unwrap()
        .contains(&Value::from("203.0.113.10")));
    // Hosts behind it are keyed by IP.
    let remote = device(&report, "ip:203.0.113.10");
    assert_eq!(remote["mac"], Value::Null);
    assert_eq!(remote["services"][0]["port"], 443);

    // The Modicon: vendor and model from Modbus device identification (over its OUI), Modbus
    // service; the scan of 23 and 80 invents nothing.
    let plc = device(&report, "mac:00:80:f4:12:34:56");
    assert_eq!(plc["vendor"], "Schneider Electric");
    assert_eq!(plc["model"], "BMX P34 2020");
    assert_eq!(plc["firmware"], "v3.10");
    assert_eq!(plc["role"], "controller");
    assert_eq!(plc["purdue_level"], 1);
    assert_eq!(plc["ips"], serde_json::json!(["10.10.1.10"]));
    let services = plc["services"].as_array().unwrap();
    assert_eq!(services.len(), 1, "{services:?}");
    assert_eq!(services[0]["port"], 502);
    assert_eq!(services[0]["protocol"], "modbus");
    let ip_fact = plc["facts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["attribute"] == "ip")
        .unwrap();
    assert_eq!(ip_fact["source"], "arp");
    assert_eq!(plc["hostnames"], serde_json::json!([]));

    // The S7-1500: identity from SZL reads, state from the CPU, role from behaviour.
    let s7 = device(&report, "mac:00:1b:1b:6a:10:22");
    assert_eq!(s7["vendor"], "Siemens");
    assert_eq!(s7["model"], "CPU 1516-3 PN/DP");
    assert_eq!(s7["firmware"], "V2.9.4");
    assert_eq!(s7["serial"], "S C-J5U123456789");
    assert_eq!(s7["type"], "plc");
    assert_eq!(s7["role"], "controller");
    assert!(
        s7["state"].as_str().unwrap().starts_with("stop"),
        "{}",
        s7["state"]
    );
    assert!(s7["facts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["attribute"] == "product_code" && f["value"] == "6ES7 516-3AN01-0AB0"));
    // The Logix controller: ListIdentity.
    let logix = device(&report, "mac:00:1d:9c:c8:02:11");
    assert_eq!(logix["model"], "1756-L83E/B");
    assert_eq!(logix["firmware"], "33.11");
    assert_eq!(logix["purdue_level"], 1);
    // The Raspberry Pi that only wrote registers has no OT role.
    let scanner = device(&report, "mac:b8:27:eb:66:66:66");
    assert_eq!(scanner["role"], Value::Null);

    // Operations: the download carries the block's hash; the stop is a mode change; the
    // unknown host's write names both devices.
    let events = report["events"].as_array().unwrap();
    let find = |operation: &str| {
        events
            .iter()
            .find(|e| e["operation"] == operation)
            .unwrap_or_else(|| panic!("no {operation} event"))
    };
    let download = find("download");
    assert_eq!(download["category"], "program_download");
    assert_eq!(download["src"]["ip"], "10.10.1.30");
    assert_eq!(download["dst"]["device"], "mac:00:1b:1b:6a:10:22");
    assert_eq!(download["content_hash"].as_str().unwrap().len(), 64);
    assert_eq!(find("plc_stop")["category"], "mode_change");
    let write = find("write_multiple_registers");
    assert_eq!(write["src"]["device"], "mac:b8:27:eb:66:66:66");
    assert_eq!(write["dst"]["device"], "mac:00:80:f4:12:34:56");
    assert!(write["detail"].as_str().unwrap().contains("100-129 (30)"));
    let polls = events
        .iter()
        .find(|e| e["operation"] == "read_holding_registers")
        .unwrap();
    assert_eq!(polls["count"], 8);

    // The phone's randomised MAC: marked, no vendor guessed from it.
    let phone = device(&report, "mac:da:a1:19:3e:5f:70");
    assert_eq!(phone["vendor"], Value::Null);
    assert!(phone["facts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["attribute"] == "mac_locally_administered" && f["source"] == "mac"));

    // The workstation's IPv6 link-local address comes from Neighbor Discovery.
    let ws = device(&report, "mac:00:14:22:0a:0b:0c");
    assert!(ws["ips"]
        .as_array()
        .unwrap()
        .contains(&Value::from("fe80::214:22ff:fe0a:b0c")));
    assert_eq!(
        ws["protocols"]["client"],
        serde_json::json!(["dns", "pjl", "s7comm", "snmp", "ssh", "telnet", "tls"])
    );
    assert_eq!(ws["type"], "engineering_workstation");
    assert_eq!(ws["role"], "engineering_workstation");
    assert_eq!(ws["purdue_level"], 2);

    // Identity from what devices announce: the printer behind an Intel NIC is an HP LaserJet.
    let printer = device(&report, "mac:00:1b:21:3d:4e:5f");
    assert_eq!(printer["type"], "printer");
    assert_eq!(printer["vendor"], "HP");
    assert_eq!(printer["model"], "HP LaserJet M507");
    let vendor_conflict = printer["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["attribute"] == "vendor")
        .unwrap();
    assert_eq!(vendor_conflict["others"][0]["value"], "Intel Corporate");
    // The switch: LLDP and SNMP name it; SNMP with `public` and Telnet are findings.
    let switch = device(&report, "mac:00:1c:0e:5a:00:01");
    assert_eq!(switch["type"], "switch");
    assert_eq!(switch["hostnames"], serde_json::json!(["plant-sw-01"]));
    assert_eq!(switch["firmware"], "15.2(7)E4");
    assert_eq!(
        switch["findings"],
        serde_json::json!(["snmp_default_community", "snmp_v1_v2c", "telnet_in_use"])
    );
    // No secret crosses into the report: the community, the Telnet password, Basic credentials.
    // (What the traffic gave; the recommendations' catalog text names default communities.)
    let mut observed = report.clone();
    for catalog in ["recommendations", "initiatives"] {
        observed.as_object_mut().unwrap().remove(catalog);
    }
    let text = observed.to_string();
    for secret in ["public", "cisco123", "cm9vdDpwYXNz"] {
        assert!(!text.contains(secret), "{secret} leaked into the report");
    }
    let camera = device(&report, "mac:3c:6a:9d:00:00:05");
    assert_eq!(camera["type"], "ip_camera");
    assert_eq!(camera["model"], "AXIS Q1615 Mk III");
    assert_eq!(camera["serial"], "ACCC8E5A6B7C");
    let phone = device(&report, "mac:00:1e:7a:45:67:89");
    assert_eq!(phone["model"], "Cisco IP Phone CP-8845");
    let laptop = device(&report, "mac:00:14:22:77:88:99");
    assert_eq!(laptop["hostnames"], serde_json::json!(["eng-laptop-04"]));

    // Connections name both ends and the server port.
    let modbus = report["connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["b"] == "mac:00:80:f4:12:34:56" && c["a"] == "mac:00:14:22:01:02:03")
        .unwrap();
    assert_eq!(modbus["transport"], "tcp");
    assert_eq!(modbus["port"], 502);
    assert_eq!(modbus["packets"], 42);
    assert_eq!(modbus["flows"], 2);
}

#[test]
fn shipped_demo_capture_is_what_the_generator_makes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo.pcapng");
    let status = ironward()
        .args(["synth", "demo", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(status.status.success());
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(demo()).unwrap(),
        "testdata/demo.pcapng is stale: run `ironward synth demo`"
    );
}

#[test]
fn table_output_is_the_default() {
    let output = run(&["analyze", demo().to_str().unwrap()]);
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.starts_with("Devices (19)"), "{text}");
    assert!(text.contains("Connections (27)"));
    assert!(text.contains("Schneider Electric"));
    assert!(text.contains("Industrial devices (7)"));
    assert!(text.contains("Operations ("));
    assert!(text.contains("HP LaserJet M507") && text.contains("telnet_in_use"));
    assert!(text.contains("Conflicting sources"));
    assert!(text.contains("284 frames"));
}

#[test]
fn csv_output_writes_both_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    let output = ironward()
        .args(["analyze", "--format", "csv", "--out"])
        .arg(&out)
        .arg(demo())
        .output()
        .unwrap();
    assert!(output.status.success());
    let devices = std::fs::read_to_string(out.join("devices.csv")).unwrap();
    assert!(devices.starts_with("id,mac,ips,vendor,"));
    assert_eq!(devices.lines().count(), 20);
    assert!(
        devices.contains("mac:00:80:f4:12:34:56,00:80:f4:12:34:56,10.10.1.10,Schneider Electric")
    );
    let events = std::fs::read_to_string(out.join("events.csv")).unwrap();
    assert!(events.starts_with("time,last_seen,count,src_device,src,"));
    assert!(events.contains("write_multiple_registers"));
    let connections = std::fs::read_to_string(out.join("connections.csv")).unwrap();
    assert!(connections.starts_with("a,b,a_ip,b_ip,transport,port,protocol,packets,bytes"));
    assert_eq!(connections.lines().count(), 28);

    let without_dir = run(&["analyze", "--format", "csv", demo().to_str().unwrap()]);
    assert!(!without_dir.status.success());
    assert!(String::from_utf8_lossy(&without_dir.stderr).contains("--out DIR"));
}

#[test]
fn a_file_that_is_not_a_capture_is_refused_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("index.html");
    std::fs::write(&html, "<!DOCTYPE html><html></html>").unwrap();
    let output = run(&["analyze", html.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "error: {}: not a pcap or pcapng file (first bytes 3c 21 44 4f 43 54 59 50)",
            html.display()
        )),
        "{stderr}"
    );

    let empty = dir.path().join("empty.pcap");
    std::fs::write(&empty, b"").unwrap();
    let output = run(&["analyze", empty.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));

    let missing = run(&["analyze", "/nonexistent/capture.pcap"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/capture.pcap"));
}

#[test]
fn a_truncated_capture_yields_what_is_readable_and_names_the_offset() {
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.pcapng");
    let bytes = std::fs::read(demo()).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let output = run(&["analyze", "--format", "json", cut.to_str().unwrap()]);
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("warning:") && stderr.contains("offset"),
        "{stderr}"
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let packets = report["stats"]["packets"].as_u64().unwrap();
    assert!(packets > 50 && packets < 209, "{packets}");
    assert_eq!(report["stats"]["capture_warnings"], 1);
}

#[test]
fn standard_input_reads_like_a_file() {
    let mut child = ironward()
        .args(["analyze", "--format", "json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let bytes = std::fs::read(demo()).unwrap();
    child.stdin.take().unwrap().write_all(&bytes).unwrap();
    let from_stdin = json_of(&child.wait_with_output().unwrap());
    assert_eq!(from_stdin, analyze_json(&[&demo()]));
}

#[test]
fn gzip_compressed_captures_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("demo.pcapng.gz");
    let mut encoder = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    encoder.write_all(&std::fs::read(demo()).unwrap()).unwrap();
    encoder.finish().unwrap();
    assert_eq!(analyze_json(&[&gz]), analyze_json(&[&demo()]));
}

#[test]
fn several_files_are_one_timeline() {
    // Split the demo into two pcaps of alternate frames: analysed together they must give the
    // same report as the original (apart from counting two inputs).
    let dir = tempfile::tempdir().unwrap();
    let paths = [dir.path().join("even.pcap"), dir.path().join("odd.pcap")];
    let mut writers: Vec<_> = paths
        .iter()
        .map(|p| {
            PcapWriter::new(
                std::fs::File::create(p).unwrap(),
                PcapConfig {
                    nanosecond: true,
                    ..PcapConfig::default()
                },
            )
            .unwrap()
        })
        .collect();
    let mut reader = capture::open_file(&demo()).unwrap();
    let mut n = 0;
    while let Some(frame) = reader.next_frame() {
        writers[n % 2]
            .write_frame(frame.timestamp_ns, frame.data, frame.original_len)
            .unwrap();
        n += 1;
    }
    for mut w in writers {
        w.flush().unwrap();
    }
    let mut merged = analyze_json(&[&paths[1], &paths[0]]);
    let mut original = analyze_json(&[&demo()]);
    assert_eq!(merged["stats"]["inputs"], 2);
    merged["stats"]["inputs"] = Value::Null;
    original["stats"]["inputs"] = Value::Null;
    assert_eq!(merged, original);
}

#[test]
fn verbose_turns_on_logging() {
    let quiet = run(&["analyze", "--format", "json", demo().to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&quiet.stderr).is_empty());
    let loud = run(&[
        "-v",
        "analyze",
        "--format",
        "json",
        demo().to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&loud.stderr);
    assert!(
        stderr.contains("INFO") && stderr.contains("opened"),
        "{stderr}"
    );
}

/// Network namespace and veth pair owned by one test; removed on drop, also on panic.
struct Lab {
    namespace: String,
    host_link: String,
}

impl Lab {
    /// Creates namespace `iwcli-<pid>` with `10.215.<n>.2/24` on its end of a veth pair whose
    /// other end (`10.215.<n>.1/24`) stays in the test's namespace. `None` (with a printed
    /// reason) when the test cannot create it.
    fn create() -> Option<Lab> {
        let uid = Command::new("id").arg("-u").output().ok()?;
        if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
            println!("skipped: live capture through the CLI needs root (network namespaces)");
            return None;
        }
        let pid = std::process::id();
        let lab = Lab {
            namespace: format!("iwcli-{pid}"),
            host_link: format!("iwc{pid}a"),
        };
        let peer = format!("iwc{pid}b");
        let n = pid % 200 + 20;
        let ok = |args: &[&str]| {
            Command::new("ip")
                .args(args)
                .status()
                .is_ok_and(|s| s.success())
        };
        let steps: Vec<Vec<String>> = vec![
            vec!["netns".into(), "add".into(), lab.namespace.clone()],
            vec![
                "link".into(),
                "add".into(),
                lab.host_link.clone(),
                "type".into(),
                "veth".into(),
                "peer".into(),
                "name".into(),
                peer.clone(),
            ],
            vec![
                "link".into(),
                "set".into(),
                peer.clone(),
                "netns".into(),
                lab.namespace.clone(),
            ],
            vec![
                "addr".into(),
                "add".into(),
                format!("10.215.{n}.1/24"),
                "dev".into(),
                lab.host_link.clone(),
            ],
            vec![
                "link".into(),
                "set".into(),
                lab.host_link.clone(),
                "up".into(),
            ],
            vec![
                "-n".into(),
                lab.namespace.clone(),
                "addr".into(),
                "add".into(),
                format!("10.215.{n}.2/24"),
                "dev".into(),
                peer.clone(),
            ],
            vec![
                "-n".into(),
                lab.namespace.clone(),
                "link".into(),
                "set".into(),
                peer,
                "up".into(),
            ],
        ];
        for step in &steps {
            let args: Vec<&str> = step.iter().map(String::as_str).collect();
            if !ok(&args) {
                println!(
                    "skipped: could not set up the lab network (ip {})",
                    args.join(" ")
                );
                return None;
            }
        }
        Some(lab)
    }

    fn subnet(&self) -> u32 {
        std::process::id() % 200 + 20
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.host_link])
            .status();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.namespace])
            .status();
    }
}

#[test]
fn live_capture_through_the_cli() {
    if Command::new("python3").arg("--version").output().is_err() {
        println!("skipped: python3 is needed to make traffic in the lab namespace");
        return;
    }
    let Some(lab) = Lab::create() else { return };
    let n = lab.subnet();
    let analyzer = ironward()
        .args([
            "analyze",
            "--format",
            "json",
            "--duration",
            "4",
            "--interface",
        ])
        .arg(&lab.host_link)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    // The namespace's kernel ARPs for us, then sends UDP datagrams we never answer.
    let sender = Command::new("ip")
        .args(["netns", "exec", &lab.namespace, "python3", "-c"])
        .arg(format!(
            "import socket, time\n\
             s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
             for i in range(20):\n    s.sendto(b'ironward' * 10, ('10.215.{n}.1', 47808)); time.sleep(0.02)\n"
        ))
        .status()
        .unwrap();
    assert!(sender.success());
    let output = analyzer.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("kernel:"),
        "no kernel counters reported: {stderr}"
    );
    let report = json_of(&output);
    let peer_ip = format!("10.215.{n}.2");
    let peer = report["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| {
            d["ips"]
                .as_array()
                .unwrap()
                .contains(&Value::from(peer_ip.as_str()))
        })
        .unwrap_or_else(|| panic!("peer not found: {report}"));
    assert!(peer["id"].as_str().unwrap().starts_with("mac:"));
    assert!(peer["facts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["attribute"] == "ip" && f["source"] == "arp"));
    assert_eq!(peer["protocols"]["client"], serde_json::json!(["bacnet"]));
    let bacnet = report["connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["port"] == 47808)
        .unwrap();
    assert_eq!(bacnet["packets"], 20);
}
