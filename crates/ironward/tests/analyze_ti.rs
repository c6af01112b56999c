//! `ironward analyze --ti PKG --pubkey KEY`: the S7 controllers of two shared captures, whose
//! SZL answers give their order numbers and firmware, matched against a package built in the
//! test (`ironward ti keygen` and `ti build`) from four real Siemens advisories and the KEV
//! catalog in `$IRONWARD_DATA` (default `../shared/data`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn data_dir() -> PathBuf {
    match std::env::var_os("IRONWARD_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
}

fn ironward(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ironward"))
        .args(args)
        .output()
        .expect("run ironward")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn s7_controllers_of_shared_captures_match_siemens_advisories() {
    let data = data_dir();
    let white = data.join("intel/csaf/csaf_files/OT/white");
    let captures = [
        data.join("pcaps/s7comm/icsnpp_s7ident.pcap"),
        data.join("pcaps/s7comm/s7comm_reading_plc_status.pcap"),
    ];
    if !white.is_dir() || captures.iter().any(|c| !c.is_file()) {
        println!("skipped: shared advisories or captures not found (set IRONWARD_DATA)");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let csaf = dir.path().join("csaf");
    std::fs::create_dir(&csaf).expect("mkdir");
    // Each names both controllers of the captures (SIMATIC S7-300 CPU 315-2 PN/DP,
    // 6ES7315-2EH14-0AB0, and SIMATIC ET 200S IM151-8 PN/DP CPU, 6ES7151-8AB01-0AB0) with one
    // CVE:
    // - ICSA-18-079-02, CVE-2018-4843 (CVSS 6.5): `vers:all/<V3.2.16`, fixed in V3.2.16;
    // - ICSA-22-104-06, CVE-2022-25622 (5.3): `vers:all/<V3.2.19`;
    // - ICSA-20-042-05, CVE-2019-13940 (5.3): `<V3.X.17` (every V3 line below its .17);
    // - ICSA-20-105-08, CVE-2019-19300 (7.5): `vers:all/*`, every version.
    // Both run V3.2.6: below 3.2.16 and 3.2.19 because 6 < 16 as numbers (not as text).
    for file in [
        "2018/icsa-18-079-02.json",
        "2022/icsa-22-104-06.json",
        "2020/icsa-20-042-05.json",
        "2020/icsa-20-105-08.json",
    ] {
        let name = file.rsplit('/').next().expect("name");
        std::fs::copy(white.join(file), csaf.join(name)).expect("copy");
    }
    let key = dir.path().join("ti.key");
    let keygen = ironward(&[
        "ti".as_ref(),
        "keygen".as_ref(),
        "--out".as_ref(),
        key.as_os_str(),
    ]);
    assert!(keygen.status.success(), "{}", text(&keygen));
    let package = dir.path().join("package.pkg");
    let built = ironward(&[
        "ti".as_ref(),
        "build".as_ref(),
        "--csaf".as_ref(),
        csaf.as_os_str(),
        "--kev".as_ref(),
        data.join("intel/kev/known_exploited_vulnerabilities.json")
            .as_os_str(),
        "--key".as_ref(),
        key.as_os_str(),
        "--out".as_ref(),
        package.as_os_str(),
    ]);
    assert!(built.status.success(), "{}", text(&built));
    let public = dir.path().join("ti.key.pub");

    let analyze = |package: &Path, public: &Path| {
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "analyze".as_ref(),
            "--format".as_ref(),
            "json".as_ref(),
            "--no-progress".as_ref(),
            "--ti".as_ref(),
            package.as_os_str(),
            "--pubkey".as_ref(),
            public.as_os_str(),
        ];
        args.extend(captures.iter().map(|c| c.as_os_str()));
        ironward(&args)
    };
    let output = analyze(&package, &public);
    assert!(output.status.success(), "{}", text(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON report");
    let vulnerabilities = report["vulnerabilities"]
        .as_array()
        .expect("vulnerabilities");

    let mut found: Vec<(String, String, String, String)> = vulnerabilities
        .iter()
        .map(|v| {
            (
                v["ip"].as_str().unwrap_or_default().to_owned(),
                v["cve"].as_str().unwrap_or_default().to_owned(),
                v["advisory"].as_str().unwrap_or_default().to_owned(),
                v["confidence"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    found.sort();
    let mut expected = Vec::new();
    // 172.17.0.2 is the CPU 315-2 PN/DP of icsnpp_s7ident.pcap, 192.168.1.40 the IM151-8 of
    // s7comm_reading_plc_status.pcap; each is recognised by its order number, so high.
    for ip in ["172.17.0.2", "192.168.1.40"] {
        for (cve, advisory) in [
            ("CVE-2018-4843", "ICSA-18-079-02"),
            ("CVE-2019-13940", "ICSA-20-042-05"),
            ("CVE-2019-19300", "ICSA-20-105-08"),
            ("CVE-2022-25622", "ICSA-22-104-06"),
        ] {
            expected.push((
                ip.to_owned(),
                cve.to_owned(),
                advisory.to_owned(),
                "high".to_owned(),
            ));
        }
    }
    expected.sort();
    assert_eq!(found, expected);

    // KEV first (none of these is in the catalog), then CVSS, highest first.
    let keys: Vec<(bool, f64)> = vulnerabilities
        .iter()
        .map(|v| {
            (
                v["kev"].as_bool().expect("kev"),
                v["cvss"].as_f64().expect("cvss"),
            )
        })
        .collect();
    assert!(keys.windows(2).all(|w| w[0] >= w[1]), "{keys:?}");
    assert_eq!(vulnerabilities[0]["cve"], "CVE-2019-19300");

    let cpu_315 = vulnerabilities
        .iter()
        .find(|v| v["ip"] == "172.17.0.2" && v["cve"] == "CVE-2018-4843")
        .expect("CVE-2018-4843 on the CPU 315-2 PN/DP");
    assert_eq!(cpu_315["device"], "ip:172.17.0.2");
    assert_eq!(cpu_315["fixed_in"], serde_json::json!(["V3.2.16"]));
    assert_eq!(cpu_315["cvss"], 6.5);
    assert_eq!(cpu_315["kev"], false);
    assert_eq!(
        cpu_315["reason"],
        "order number 6ES7315-2EH14-0AB0 (s7comm) and firmware V3.2.6 (from s7comm) fall in \
         `vers:all/<V3.2.16` for SIMATIC S7-300 CPU 315-2 PN/DP (6ES7315-2EH14-0AB0) in \
         ICSA-18-079-02"
    );
    // Both controllers resolve; no other device of these captures names a model.
    assert_eq!(report["unmatched"], serde_json::json!([]));
    // The rest of the report is unchanged.
    assert!(report["devices"].as_array().is_some_and(|d| d.len() >= 2));
    assert!(report["stats"].is_object());

    // A package changed after signing is refused before any capture is read.
    let mut bytes = std::fs::read(&package).expect("package");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    let tampered = dir.path().join("tampered.pkg");
    std::fs::write(&tampered, &bytes).expect("write");
    let refused = analyze(&tampered, &public);
    assert!(!refused.status.success());
    assert!(
        refused.stdout.is_empty(),
        "no report from a refused package"
    );
    assert!(
        text(&refused).contains("refusing the package"),
        "{}",
        text(&refused)
    );
    // So is a package signed with another key than the one given.
    let other = dir.path().join("other.key");
    let keygen = ironward(&[
        "ti".as_ref(),
        "keygen".as_ref(),
        "--out".as_ref(),
        other.as_os_str(),
    ]);
    assert!(keygen.status.success(), "{}", text(&keygen));
    let wrong_key = analyze(&package, &dir.path().join("other.key.pub"));
    assert!(!wrong_key.status.success());
    assert!(wrong_key.stdout.is_empty());
    // Vulnerabilities are part of the JSON report only.
    let table = ironward(&[
        "analyze".as_ref(),
        "--ti".as_ref(),
        package.as_os_str(),
        "--pubkey".as_ref(),
        public.as_os_str(),
        captures[0].as_os_str(),
    ]);
    assert!(!table.status.success());
    assert!(
        text(&table).contains("use --format json"),
        "{}",
        text(&table)
    );
}
