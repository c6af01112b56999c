//! Threat-intelligence sources: CISA's CSAF advisories and KEV catalog, imported from the shared
//! copies in `$IRONWARD_DATA/intel` (default `../shared/data/intel`), and hostile advisories
//! reported and skipped. The expected values were read by hand from the advisory JSON files
//! named in each test.

use std::path::{Path, PathBuf};

use ironward_intel::ti::{csaf, kev};
use ironward_intel::vuln::{AffectedProduct, VulnRecord};

fn intel_dir() -> PathBuf {
    match std::env::var_os("IRONWARD_DATA") {
        Some(dir) => PathBuf::from(dir).join("intel"),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/intel"),
    }
}

fn csaf_dir() -> Option<PathBuf> {
    let dir = intel_dir().join("csaf/csaf_files/OT/white");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipped: {} not found (set IRONWARD_DATA)", dir.display());
        None
    }
}

fn record<'a>(records: &'a [VulnRecord], cve: &str) -> &'a VulnRecord {
    records
        .iter()
        .find(|r| r.cve == cve)
        .unwrap_or_else(|| panic!("{cve} not imported"))
}

#[test]
fn every_shared_advisory_imports_with_its_records() {
    let Some(dir) = csaf_dir() else { return };
    let report = csaf::import_dir(&dir);
    // SOURCES.md: 719 advisories, 2,898 distinct CVEs, 10,309 products, none malformed; the
    // newest current_release_date (by python over the files) is 2025-02-25.
    assert_eq!(report.files_read, 719);
    assert_eq!(report.advisories, 719, "{:?}", report.problems.first());
    assert_eq!(report.files_skipped, 0);
    assert_eq!(report.records.len(), 2_898);
    assert_eq!(report.products, 10_309);
    assert!(
        report.problems.is_empty(),
        "real advisories are well formed: {:?}",
        &report.problems[..report.problems.len().min(5)]
    );
    assert_eq!(report.newest_release.get(..10), Some("2025-02-25"));
    assert!(report.records.windows(2).all(|w| w[0].cve < w[1].cve));

    // Siemens, ICSA-22-104-08 (2022/icsa-22-104-08.json): four SCALANCE W1788 products, each
    // `<V3.0.0` with its order number; vendor_fix "Update to V3.0.0 or later version".
    let scalance = record(&report.records, "CVE-2022-27481");
    assert_eq!(scalance.advisories, ["ICSA-22-104-08"]);
    assert_eq!(
        scalance.title,
        "Concurrent Execution using Shared Resource with Improper Synchronization ('Race Condition')"
    );
    assert_eq!(scalance.cvss_score, Some(7.4));
    assert_eq!(
        scalance.cvss_vector.as_deref(),
        Some("CVSS:3.1/AV:A/AC:L/PR:N/UI:N/S:C/C:N/I:N/A:H/E:P/RL:O/RC:C")
    );
    assert_eq!(scalance.cwe, ["CWE-362"]);
    let scalance_w1788 = |product: &str, order_number: &str| AffectedProduct {
        vendor: "Siemens".into(),
        product: product.into(),
        model_numbers: vec![order_number.into()],
        versions: "<V3.0.0".into(),
        fixed_in: vec!["V3.0.0".into()],
    };
    assert_eq!(
        scalance.affected,
        [
            scalance_w1788("SCALANCE W1788-1 M12", "6GK5788-1GY01-0AA0"),
            scalance_w1788("SCALANCE W1788-2 EEC M12", "6GK5788-2GY01-0TA0"),
            scalance_w1788("SCALANCE W1788-2 M12", "6GK5788-2GY01-0AA0"),
            scalance_w1788("SCALANCE W1788-2IA M12", "6GK5788-2HY01-0AA0"),
        ]
    );
    assert!(scalance
        .remediation
        .iter()
        .any(|r| r.starts_with("vendor_fix: Update to V3.0.0 or later version")));
    assert!(scalance
        .references
        .iter()
        .any(|r| r.contains("cert-portal.siemens.com")));

    // Schneider Electric, ICSA-24-011-05: Easergy Studio `<v9.3.5`; the fix is worded
    // "Version 9.3.6 of Easergy Studio includes a fix"; no vulnerability title, so the CWE's.
    let easergy = record(&report.records, "CVE-2023-7032");
    assert_eq!(easergy.advisories, ["ICSA-24-011-05"]);
    assert_eq!(easergy.title, "Deserialization of Untrusted Data");
    assert_eq!(easergy.cvss_score, Some(7.8));
    assert_eq!(
        easergy.cvss_vector.as_deref(),
        Some("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H")
    );
    assert_eq!(easergy.cwe, ["CWE-502"]);
    assert_eq!(easergy.affected.len(), 1);
    assert_eq!(easergy.affected[0].vendor, "Schneider Electric");
    assert_eq!(easergy.affected[0].product, "Easergy Studio");
    assert_eq!(easergy.affected[0].versions, "<v9.3.5");
    assert_eq!(easergy.affected[0].fixed_in, ["9.3.6"]);

    // Rockwell Automation, ICSA-24-030-05: exact versions (`product_version` leaves) and one
    // fixed version per release line ("Corrected in v33.016, 34.013, 35.012, 36.011 and later").
    let logix = record(&report.records, "CVE-2024-21916");
    assert_eq!(logix.advisories, ["ICSA-24-030-05"]);
    assert_eq!(logix.cvss_score, Some(8.6));
    assert_eq!(logix.cwe, ["CWE-119"]);
    let names: Vec<(&str, &str)> = logix
        .affected
        .iter()
        .map(|p| (p.product.as_str(), p.versions.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("ControlLogix 5570", "Firmware__20.011"),
            ("ControlLogix 5570 redundant", "Firmware__20.054_kit1"),
            ("GuardLogix 5570", "Firmware__20.011"),
        ]
    );
    assert!(logix
        .affected
        .iter()
        .all(|p| p.vendor == "Rockwell Automation"));
    assert_eq!(
        logix.affected[0].fixed_in,
        ["v33.016", "34.013", "35.012", "36.011"]
    );
    assert_eq!(
        logix.affected[1].fixed_in,
        ["v33.053_kit1", "34.052_kit1", "35.052_kit1", "36.051_kit1"]
    );

    // HTTP/2 Rapid Reset in five Siemens advisories: one record, every advisory, every product.
    let rapid_reset = record(&report.records, "CVE-2023-44487");
    assert_eq!(
        rapid_reset.advisories,
        [
            "ICSA-23-348-10",
            "ICSA-24-074-05",
            "ICSA-24-165-04",
            "ICSA-24-228-06",
            "ICSA-24-319-08"
        ]
    );
    assert_eq!(rapid_reset.cvss_score, Some(7.5));
    assert_eq!(rapid_reset.cwe, ["CWE-400"]);
    assert_eq!(rapid_reset.affected.len(), 9);
}

#[test]
fn kev_flags_advisory_records_and_keeps_the_rest() {
    let Some(dir) = csaf_dir() else { return };
    let catalog = kev::load(&intel_dir().join("kev/known_exploited_vulnerabilities.json"))
        .expect("KEV catalog");
    assert_eq!(catalog.version, "2025.08.25");
    assert_eq!(catalog.items.len(), 1_404);
    assert!(
        catalog.problems.is_empty(),
        "{:?}",
        catalog.problems.first()
    );
    let mut records = csaf::import_dir(&dir).records;
    let summary = kev::attach(&mut records, &catalog);
    // SOURCES.md: 28 of the advisories' CVEs are in KEV.
    assert_eq!(summary.flagged, 28);
    assert_eq!(summary.added, 1_404 - 28);
    assert_eq!(records.len(), 2_898 + 1_404 - 28);
    let rapid_reset = record(&records, "CVE-2023-44487");
    let entry = rapid_reset.kev.as_ref().expect("Rapid Reset is in KEV");
    assert_eq!(entry.date_added, "2023-10-10");
    assert_eq!(entry.due_date.as_deref(), Some("2023-10-31"));
    assert!(!entry.ransomware);
    assert_eq!(rapid_reset.advisories.len(), 5);
    // Not in any selected advisory: a record of its own, vendor and product from the catalog.
    let umotion = record(&records, "CVE-2018-7841");
    assert!(umotion.advisories.is_empty());
    assert_eq!(umotion.affected.len(), 1);
    assert_eq!(umotion.affected[0].vendor, "Schneider Electric");
    assert_eq!(umotion.affected[0].product, "U.motion Builder");
    assert_eq!(umotion.affected[0].versions, "");
    assert!(umotion.kev.is_some());
    assert!(record(&records, "CVE-2023-7032").kev.is_none());
}

/// Writes `name` with `contents` into `dir`.
fn write(dir: &Path, name: &str, contents: &[u8]) {
    std::fs::write(dir.join(name), contents).expect("write");
}

#[test]
fn malformed_advisories_are_reported_with_file_and_field_and_skipped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = br#"{"document":{"title":"Good","tracking":{"id":"ICSA-00-000-01"}},
        "product_tree":{"branches":[{"category":"vendor","name":"Siemens","branches":[
          {"category":"product_name","name":"SIMATIC S7-1500","branches":[
            {"category":"product_version_range","name":"vers:all/<V3.1.0",
             "product":{"name":"SIMATIC S7-1500","product_id":"CSAFPID-0001"}}]}]}]},
        "vulnerabilities":[
          {"cve":"CVE-2000-0001","product_status":{"known_affected":["CSAFPID-0001","CSAFPID-0099"]},
           "scores":[{"cvss_v3":{"baseScore":"high"}}]},
          {"cve":12}
        ]}"#;
    write(dir.path(), "a-good.json", good);
    write(dir.path(), "b-not-json.json", b"{\"document\": [1, 2");
    write(
        dir.path(),
        "c-wrong-type.json",
        br#"{"document":{"tracking":{"id":7}},"product_tree":{"branches":[]}}"#,
    );
    write(
        dir.path(),
        "d-no-tree.json",
        br#"{"document":{"tracking":{"id":"ICSA-00-000-04"}},"vulnerabilities":[]}"#,
    );
    let mut deep = Vec::new();
    deep.extend_from_slice(
        br#"{"document":{"tracking":{"id":"ICSA-00-000-05"}},"product_tree":{"branches":"#,
    );
    deep.extend(std::iter::repeat_n(b'[', 100_000));
    deep.extend(std::iter::repeat_n(b']', 100_000));
    deep.extend_from_slice(b"}}");
    write(dir.path(), "e-deep.json", &deep);
    let mut deep_tree = String::from(
        r#"{"document":{"tracking":{"id":"ICSA-00-000-06"}},"product_tree":{"branches":"#,
    );
    for _ in 0..40 {
        deep_tree.push_str(r#"[{"category":"product_family","name":"x","branches":"#);
    }
    deep_tree.push_str("[]");
    for _ in 0..40 {
        deep_tree.push_str("}]");
    }
    deep_tree.push_str("}}");
    write(dir.path(), "f-deep-tree.json", deep_tree.as_bytes());
    write(dir.path(), "g-not-an-advisory.txt", b"ignored");

    let report = csaf::import_dir(dir.path());
    assert_eq!(report.files_read, 6);
    assert_eq!(report.advisories, 2, "{:#?}", report.problems);
    assert_eq!(report.files_skipped, 4);
    assert_eq!(report.records.len(), 1);
    let good = &report.records[0];
    assert_eq!(good.cve, "CVE-2000-0001");
    assert_eq!(good.cvss_score, None);
    assert_eq!(good.affected.len(), 1);
    assert_eq!(good.affected[0].versions, "vers:all/<V3.1.0");

    let found = |file: &str, field: &str| {
        report
            .problems
            .iter()
            .find(|p| p.file.ends_with(file) && p.field == field)
            .unwrap_or_else(|| panic!("no problem for {file} {field}: {:#?}", report.problems))
    };
    found(
        "a-good.json",
        "vulnerabilities[0].scores[0].cvss_v3.baseScore",
    );
    assert!(found(
        "a-good.json",
        "vulnerabilities[0].product_status.known_affected[1]"
    )
    .message
    .contains("CSAFPID-0099"));
    found("a-good.json", "vulnerabilities[1].cve");
    assert!(found("b-not-json.json", "")
        .message
        .contains("not valid JSON"));
    found("c-wrong-type.json", "document.tracking.id");
    found("d-no-tree.json", "product_tree");
    // serde_json's recursion limit refuses the 100 000 nested arrays as a parse error.
    assert!(found("e-deep.json", "").message.contains("recursion limit"));
    // 40 nested families stay within serde_json's limit; the walk stops at its own.
    assert!(report
        .problems
        .iter()
        .any(|p| p.file.ends_with("f-deep-tree.json") && p.message.contains("deeper than")));
}

#[test]
fn an_oversized_file_is_refused_before_parsing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("huge.json");
    let file = std::fs::File::create(&path).expect("create");
    file.set_len(csaf::MAX_FILE_BYTES + 1).expect("sparse file");
    let error = csaf::import_file(&path).expect_err("too large");
    assert!(error.0.message.contains("larger than"), "{error}");
}
