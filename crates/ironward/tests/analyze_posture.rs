//! `ironward analyze`: the top-level `recommendations` and `initiatives` over real traffic — the
//! shipped demo plant (`testdata/demo.pcapng`) and three shared captures (`$IRONWARD_DATA`,
//! default `../shared/data`) with a Telnet server, a VNC server and an SNMPv1 agent, analysed as
//! one timeline; the expected device lists, metric counts and scores are worked out by hand
//! below from the devices the report lists.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn data_dir() -> PathBuf {
    match std::env::var_os("IRONWARD_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
}

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/demo.pcapng")
}

fn ironward(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ironward"))
        .args(args)
        .output()
        .expect("run ironward")
}

fn json_report(extra: &[&str], files: &[PathBuf]) -> Value {
    let mut args: Vec<&std::ffi::OsStr> =
        vec!["analyze".as_ref(), "--format".as_ref(), "json".as_ref()];
    args.extend(extra.iter().map(|a| std::ffi::OsStr::new(*a)));
    args.extend(files.iter().map(|f| f.as_os_str()));
    let output = ironward(&args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON report")
}

/// The shared captures, or `None` (the test is skipped) when they are not there.
fn shared_captures() -> Option<Vec<PathBuf>> {
    let pcaps = data_dir().join("pcaps");
    let files = vec![
        // 192.168.0.2 logs into the Telnet server 192.168.0.1 (login prompt, then a shell).
        pcaps.join("telnet/suricata_telnet.pcap"),
        // 192.168.2.16 serves VNC offering security types 30 and 35 (Apple's), never None.
        pcaps.join("rfb/zeek_vncmac.pcap"),
        // 172.31.19.54 polls the SNMPv1 agent 172.31.19.73 with the community `public`.
        pcaps.join("snmp/zeek_snmpv1_get.pcap"),
    ];
    if files.iter().all(|f| f.is_file()) {
        Some(files)
    } else {
        println!("skipped: shared captures not found (set IRONWARD_DATA)");
        None
    }
}

/// Every recommendation that lists devices: (id, domain) → device ids.
fn listed(report: &Value) -> BTreeMap<(String, String), Vec<String>> {
    let mut out = BTreeMap::new();
    for r in report["recommendations"]
        .as_array()
        .expect("recommendations")
    {
        let devices: Vec<String> = r["devices"]
            .as_array()
            .expect("devices")
            .iter()
            .map(|d| d["id"].as_str().expect("id").to_owned())
            .collect();
        if !devices.is_empty() {
            let key = (
                r["id"].as_str().expect("id").to_owned(),
                r["domain"].as_str().expect("domain").to_owned(),
            );
            assert!(out.insert(key, devices).is_none(), "twice: {r}");
        }
    }
    out
}

/// The devices of every recommendation titled `title` (one per domain it lists devices of).
fn devices_titled(report: &Value, title: &str) -> Vec<String> {
    let recommendations = report["recommendations"].as_array().expect("array");
    assert!(
        recommendations.iter().any(|r| r["title"] == title),
        "no recommendation titled {title:?}"
    );
    let mut ids: Vec<String> = recommendations
        .iter()
        .filter(|r| r["title"] == title)
        .flat_map(|r| r["devices"].as_array().expect("devices").clone())
        .map(|d| d["id"].as_str().expect("id").to_owned())
        .collect();
    ids.sort();
    ids
}

fn initiative<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["initiatives"]
        .as_array()
        .expect("initiatives")
        .iter()
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("no initiative {name}"))
}

/// Each metric as (name, weight, affected, total).
fn metrics(initiative: &Value) -> Vec<(String, String, u64, u64)> {
    initiative["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .map(|m| {
            (
                m["name"].as_str().expect("name").to_owned(),
                m["weight"].as_str().expect("weight").to_owned(),
                m["affected"].as_u64().expect("affected"),
                m["total"].as_u64().expect("total"),
            )
        })
        .collect()
}

fn close(actual: &Value, expected: f64) {
    let actual = actual
        .as_f64()
        .unwrap_or_else(|| panic!("not a number: {actual}"));
    assert!((actual - expected).abs() < 1e-9, "{actual} != {expected}");
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

// The devices of the four captures (ids as the report gives them):
const SWITCH: &str = "mac:00:1c:0e:5a:00:01"; // demo 10.10.1.2: Telnet (failed login), SNMPv2c `public`
const TELNET_SERVER: &str = "mac:00:00:c0:9f:a0:97"; // 192.168.0.1: a login prompt first
const SNMP_AGENT: &str = "mac:08:00:37:15:e6:bc"; // 172.31.19.73: SNMPv1 `public`
const CAMERA: &str = "mac:3c:6a:9d:00:00:05"; // demo 10.10.20.5: HTTP Basic in clear text
const HMI_MQTT: &str = "mac:00:0b:ab:44:55:66"; // demo 10.10.1.40: MQTT broker, no login
const MQTT_CLIENT: &str = "mac:00:90:e8:11:22:33"; // demo 10.10.1.50: untyped MQTT client
const MODBUS_PLC: &str = "mac:00:80:f4:12:34:56"; // demo 10.10.1.10, written by 10.10.1.66
const INTRUDER: &str = "mac:b8:27:eb:66:66:66"; // demo 10.10.1.66: Purdue 3, writes Modbus
const PRINTER: &str = "mac:00:1b:21:3d:4e:5f"; // demo 10.10.1.60
const PHONE: &str = "mac:00:1e:7a:45:67:89"; // demo 10.10.1.80

#[test]
fn recommendations_list_exactly_the_devices_their_evidence_shows() {
    let Some(mut files) = shared_captures() else {
        return;
    };
    files.insert(0, demo());
    let report = json_report(&[], &files);

    // The four named recommendations: Telnet with a login prompt is cleartext administration
    // to disable, not a shell without login; no VNC server offers None; both SNMP v1/v2c
    // agents, not their managers (the workstation 10.10.1.30, 172.31.19.54).
    assert_eq!(
        devices_titled(
            &report,
            "Require authentication for Telnet management interface"
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        devices_titled(&report, "Disable insecure administration protocol – Telnet"),
        strings(&[TELNET_SERVER, SWITCH])
    );
    assert_eq!(
        devices_titled(
            &report,
            "Remove insecure administration protocols SNMP v1 and v2"
        ),
        strings(&[SWITCH, SNMP_AGENT])
    );
    assert_eq!(
        devices_titled(
            &report,
            "Require authentication for VNC management interface"
        ),
        Vec::<String>::new()
    );

    // Every recommendation that lists a device, per domain. The switch, the Telnet server,
    // the SNMP agent and the MQTT client have no OT or IoT type, level or protocol: IT.
    let expected: BTreeMap<(String, String), Vec<String>> = [
        ("http-basic-cleartext", "enterprise_iot", vec![CAMERA]),
        (
            "http-cleartext-administration",
            "enterprise_iot",
            vec![CAMERA],
        ),
        // 10.10.1.66 has no type and speaks Modbus only as a client: the writes do not make
        // it OT, its Purdue level 3 alone says nothing, so it is the IT side.
        ("it-write-access", "ot", vec![MODBUS_PLC]),
        ("mqtt-require-authentication", "ot", vec![HMI_MQTT]),
        ("mqtt-require-authentication", "it", vec![MQTT_CLIENT]),
        ("mqtt-use-tls", "ot", vec![HMI_MQTT]),
        ("snmp-default-community", "it", vec![SWITCH, SNMP_AGENT]),
        ("snmp-v1-v2-remove", "it", vec![SWITCH, SNMP_AGENT]),
        ("telnet-disable", "it", vec![TELNET_SERVER, SWITCH]),
    ]
    .into_iter()
    .map(|(id, domain, devices)| ((id.to_owned(), domain.to_owned()), strings(&devices)))
    .collect();
    assert_eq!(listed(&report), expected);
    for r in report["recommendations"].as_array().expect("array") {
        let listed = !r["devices"].as_array().expect("devices").is_empty();
        assert_eq!(
            r["state"],
            if listed { "active" } else { "resolved" },
            "{r}"
        );
    }

    // OT Security covers the 7 OT devices: PLCs 10.10.1.10, .11, .12 (type plc), HMIs .20 and
    // .40 (hmi), the engineering workstation .30 and 10.10.1.66 (speaks Modbus). Affected:
    // "Unprotected OT devices" and "... insecure protocols": the MQTT broker .40 (no
    // authentication, clear text); "Controllers written from IT zones": the PLC .10.
    let ot = initiative(&report, "OT Security");
    let m = |name: &str, weight: &str, affected: u64, total: u64| {
        (name.to_owned(), weight.to_owned(), affected, total)
    };
    assert_eq!(
        metrics(ot),
        [
            m("Unprotected OT devices", "high", 1, 7),
            m("OT devices using insecure protocols", "medium", 1, 7),
            m("OT devices with critical vulnerabilities", "high", 0, 7),
            m("Devices with known exploited vulnerabilities", "high", 0, 7),
            m("Unauthorized devices", "medium", 0, 7),
            m("OT devices with internet connections", "high", 0, 7),
            m("Devices with unsupported firmware", "medium", 0, 7),
            m("Devices with unused open services", "low", 0, 7),
            m("Controllers written from IT zones", "high", 1, 7),
        ]
    );
    // Progress 100·6/7 = 85.714… for the three affected metrics, 100 for the others.
    // Weights: high 3 (5 metrics), medium 2 (3), low 1 (1): Σw = 15 + 6 + 1 = 22.
    // Σw·p = 3·(85.714 + 100 + 100 + 100 + 85.714) + 2·(85.714 + 100 + 100) + 1·100
    //      = 2200 − (3 + 2 + 3)·100/7 = 2085.714…; score = 2085.714/22 = 94.805…
    let six_sevenths = 600.0 / 7.0;
    close(&ot["metrics"][0]["progress"], six_sevenths);
    close(&ot["metrics"][2]["progress"], 100.0);
    close(&ot["score"], (2200.0 - 8.0 * 100.0 / 7.0) / 22.0);
    close(&ot["target"], 80.0);
    // Fixing the PLC's writers raises "Controllers written from IT zones" to 100: 3·(100/7)/22.
    let it_write = report["recommendations"]
        .as_array()
        .expect("array")
        .iter()
        .find(|r| r["id"] == "it-write-access" && r["domain"] == "ot")
        .expect("it-write-access");
    close(&it_write["score_impact"], 3.0 * 100.0 / 7.0 / 22.0);

    // Enterprise IoT Security covers the camera, the printer and the phone: 3. The camera is
    // affected by the unauthenticated (HTTP Basic) and insecure-protocol metrics.
    let iot = initiative(&report, "Enterprise IoT Security");
    assert_eq!(
        metrics(iot),
        [
            m(
                "IoT devices with unauthenticated management interfaces",
                "high",
                1,
                3
            ),
            m("IoT devices using insecure protocols", "medium", 1, 3),
            m("IoT devices with critical vulnerabilities", "high", 0, 3),
            m("Devices with known exploited vulnerabilities", "high", 0, 3),
            m("Unauthorized devices", "medium", 0, 3),
            m("Devices with unsupported firmware", "medium", 0, 3),
            m("Devices with unused open services", "low", 0, 3),
        ]
    );
    // Σw = 3·3 + 2·3 + 1 = 16; Σw·p = 1600 − (3 + 2)·100/3 = 1433.33…; score = 89.583…
    close(&iot["score"], (1600.0 - 5.0 * 100.0 / 3.0) / 16.0);
    close(&iot["metrics"][0]["progress"], 200.0 / 3.0);
}

#[test]
fn learning_makes_the_devices_seen_afterwards_unauthorized() {
    // The demo's first 8 seconds: the router, PLCs, HMIs and the engineering workstation
    // appear; afterwards the policy engine reports as new every device in an answered
    // conversation — among OT devices 10.10.1.66, among IoT devices the camera, the printer
    // and the phone.
    let report = json_report(&["--learning", "8s"], &[demo()]);
    let ot = initiative(&report, "OT Security");
    let iot = initiative(&report, "Enterprise IoT Security");
    let unauthorized = |initiative: &Value| -> Value {
        initiative["metrics"]
            .as_array()
            .expect("metrics")
            .iter()
            .find(|m| m["name"] == "Unauthorized devices")
            .expect("metric")["affected_devices"]
            .clone()
    };
    assert_eq!(unauthorized(ot), serde_json::json!([INTRUDER]));
    let mut iot_devices: Vec<String> = serde_json::from_value(unauthorized(iot)).expect("ids");
    iot_devices.sort();
    assert_eq!(iot_devices, strings(&[PRINTER, PHONE, CAMERA]));
    // OT: "Unauthorized devices" (medium) falls to 6/7 as well: Σw·p = 2200 − (3+2+3+2)·100/7.
    close(&ot["score"], (2200.0 - 10.0 * 100.0 / 7.0) / 22.0);
    // IoT: all 3 unauthorized (medium, progress 0): Σw·p = 1600 − 5·100/3 − 2·100.
    close(&iot["score"], (1600.0 - 5.0 * 100.0 / 3.0 - 200.0) / 16.0);
}

#[test]
fn the_json_contract_of_recommendations_and_initiatives() {
    let report = json_report(&[], &[demo()]);
    let recommendations = report["recommendations"].as_array().expect("array");
    assert!(!recommendations.is_empty());
    for r in recommendations {
        assert!(r["title"].is_string(), "{r}");
        assert!(
            ["low", "medium", "high", "critical"]
                .contains(&r["severity"].as_str().expect("severity")),
            "{r}"
        );
        assert!(
            ["ot", "enterprise_iot", "it"].contains(&r["domain"].as_str().expect("domain")),
            "{r}"
        );
        assert!(
            ["active", "resolved", "risk_accepted", "exception"]
                .contains(&r["state"].as_str().expect("state")),
            "{r}"
        );
        assert!(r["score_impact"].as_f64().is_some_and(|v| v >= 0.0), "{r}");
        for d in r["devices"].as_array().expect("devices") {
            assert!(d["id"].is_string(), "{d}");
            assert!(d["ip"].is_string() || d["ip"].is_null(), "{d}");
            if let Some(ip) = d["ip"].as_str() {
                ip.parse::<std::net::IpAddr>().expect("an address");
            }
        }
    }
    let initiatives = report["initiatives"].as_array().expect("array");
    let names: Vec<&str> = initiatives
        .iter()
        .map(|i| i["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["OT Security", "Enterprise IoT Security"]);
    for i in initiatives {
        assert!(i["score"].is_f64() || i["score"].is_null(), "{i}");
        assert!(i["target"].is_f64(), "{i}");
        let metrics = i["metrics"].as_array().expect("metrics");
        assert!(!metrics.is_empty());
        for m in metrics {
            assert!(m["name"].is_string(), "{m}");
            assert!(
                ["high", "medium", "low", "risk_accepted"]
                    .contains(&m["weight"].as_str().expect("weight")),
                "{m}"
            );
            let (affected, total) = (
                m["affected"].as_u64().expect("affected"),
                m["total"].as_u64().expect("total"),
            );
            assert!(affected <= total, "{m}");
            // progress = 100·(total − affected)/total; null when no device applies.
            if total == 0 {
                assert!(m["progress"].is_null(), "{m}");
            } else {
                close(
                    &m["progress"],
                    100.0 * (total - affected) as f64 / total as f64,
                );
            }
        }
    }
}

#[test]
fn table_and_csv_show_the_recommendations_and_initiatives() {
    let output = ironward(&["analyze".as_ref(), demo().as_os_str()]);
    assert!(output.status.success());
    let table = String::from_utf8(output.stdout).expect("utf-8");
    let recommendations = table
        .find("\nRecommendations (")
        .expect("recommendations section");
    let initiatives = table.find("\nInitiatives\n").expect("initiatives section");
    let statistics = table.find("\nStatistics\n").expect("statistics");
    assert!(table.find("\nConnections (").expect("connections") < recommendations);
    assert!(recommendations < initiatives && initiatives < statistics);
    assert!(table[recommendations..initiatives]
        .contains("Disable insecure administration protocol – Telnet"));
    assert!(table[initiatives..statistics].contains("OT Security: score 94.8 (target 80.0)"));
    assert!(table[initiatives..statistics]
        .contains("Enterprise IoT Security: score 89.6 (target 80.0)"));

    let dir = tempfile::tempdir().expect("tempdir");
    let output = ironward(&[
        "analyze".as_ref(),
        "--format".as_ref(),
        "csv".as_ref(),
        "--out".as_ref(),
        dir.path().as_os_str(),
        demo().as_os_str(),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let read = |name: &str| -> Vec<csv::StringRecord> {
        csv::Reader::from_path(dir.path().join(name))
            .expect(name)
            .records()
            .map(|r| r.expect("record"))
            .collect()
    };
    let report = json_report(&[], &[demo()]);
    // One row per recommendation, as in the JSON; its devices joined with `;`.
    let rows = read("recommendations.csv");
    assert_eq!(
        rows.len(),
        report["recommendations"].as_array().expect("array").len()
    );
    let telnet = rows
        .iter()
        .find(|r| &r[0] == "telnet-disable" && &r[3] == "it")
        .expect("telnet-disable");
    assert_eq!(
        &telnet[1],
        "Disable insecure administration protocol – Telnet"
    );
    assert_eq!(&telnet[4], "active");
    assert_eq!(&telnet[8], SWITCH);
    assert_eq!(&telnet[9], "10.10.1.2");
    // One row per metric: 9 of OT Security, 7 of Enterprise IoT Security.
    let rows = read("initiatives.csv");
    assert_eq!(rows.len(), 16);
    let it_write = rows
        .iter()
        .find(|r| &r[5] == "Controllers written from IT zones")
        .expect("metric");
    assert_eq!(
        [
            &it_write[1],
            &it_write[2],
            &it_write[3],
            &it_write[6],
            &it_write[7],
            &it_write[8],
            &it_write[11]
        ],
        ["OT Security", "94.8", "80.0", "high", "1", "7", MODBUS_PLC]
    );
}
