//! Matching devices against real CISA advisories: for each vendor, a device as its protocol
//! reports it, with firmware inside, exactly at the edge of, and outside the affected range.
//! Each test quotes what the advisory says (its product tree and remediation text in
//! `$IRONWARD_DATA/intel/csaf`) and why each expectation follows from it. Records come from the
//! CSAF importer, so these also prove that what it imports can be matched.

use std::path::{Path, PathBuf};

use ironward_intel::ti::csaf;
use ironward_intel::ti::matching::{Confidence, Matcher, UnmatchedReason};
use ironward_intel::ti::normalize::{DeviceProduct, Sourced};
use ironward_intel::vuln::VulnRecord;

fn csaf_dir() -> Option<PathBuf> {
    let intel = match std::env::var_os("IRONWARD_DATA") {
        Some(dir) => PathBuf::from(dir).join("intel"),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/intel"),
    };
    let dir = intel.join("csaf/csaf_files/OT/white");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipped: {} not found (set IRONWARD_DATA)", dir.display());
        None
    }
}

/// The records of one advisory (`2024/icsa-24-326-04.json`).
fn advisory(file: &str) -> Option<Vec<VulnRecord>> {
    let path = csaf_dir()?.join(file);
    let imported = csaf::import_file(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
    assert!(imported.problems.is_empty(), "{:?}", imported.problems);
    Some(imported.records)
}

/// A device as a protocol reports it (`source` is the facts' source).
fn device(
    source: &str,
    vendor: &str,
    model: &str,
    product_code: &str,
    firmware: &str,
) -> DeviceProduct {
    let sourced = |value: &str| {
        (!value.is_empty()).then(|| Sourced {
            value: value.to_owned(),
            source: source.to_owned(),
        })
    };
    DeviceProduct::from_parts(
        sourced(vendor),
        sourced(model),
        sourced(product_code),
        sourced(firmware),
    )
}

/// The CVEs matched, sorted, with their confidence.
fn matched(matcher: &Matcher<'_>, device: &DeviceProduct) -> Vec<(String, Confidence)> {
    let mut found: Vec<(String, Confidence)> = matcher
        .match_device(device)
        .matches
        .into_iter()
        .map(|m| (m.cve.to_owned(), m.confidence))
        .collect();
    found.sort();
    found
}

fn expect(cves: &[&str], confidence: Confidence) -> Vec<(String, Confidence)> {
    let mut expected: Vec<(String, Confidence)> =
        cves.iter().map(|c| ((*c).to_owned(), confidence)).collect();
    expected.sort();
    expected
}

#[test]
fn siemens_s7_1500_cpu_1516_3_pn_dp() {
    // ICSA-22-349-03 "Siemens Multiple Denial of Service Vulnerabilities in Industrial
    // Products": product "SIMATIC S7-1500 CPU 1516-3 PN/DP (6ES7516-3AN01-0AB0)", range
    // `vers:all/<V2.9.7` for CVE-2021-40365, -44693, -44694 and -44695; remediation "Update to
    // V2.9.7 or later version". S7comm's SZL gives the order number with a space
    // (`6ES7 516-3AN01-0AB0`) and the firmware as `V2.9.4`.
    let Some(records) = advisory("2022/icsa-22-349-03.json") else {
        return;
    };
    let matcher = Matcher::new(&records);
    let cves = [
        "CVE-2021-40365",
        "CVE-2021-44693",
        "CVE-2021-44694",
        "CVE-2021-44695",
    ];
    let plc = |firmware| {
        device(
            "s7comm",
            "Siemens",
            "CPU 1516-3 PN/DP",
            "6ES7 516-3AN01-0AB0",
            firmware,
        )
    };
    // Inside: V2.9.4 and V2.9.6 are below V2.9.7.
    for firmware in ["V2.9.4", "V2.9.6", "V2.0"] {
        assert_eq!(
            matched(&matcher, &plc(firmware)),
            expect(&cves, Confidence::High),
            "{firmware}"
        );
    }
    // The edge: V2.9.7 is the fixed version, not below itself; later ones neither.
    for firmware in ["V2.9.7", "V2.9.7.0", "V2.10", "V3.0.1"] {
        assert_eq!(matched(&matcher, &plc(firmware)), [], "{firmware}");
    }
    let found = matcher.match_device(&plc("V2.9.4"));
    let first = &found.matches[0];
    // The highest CVSS first (CVE-2021-40365, 7.5).
    assert_eq!(first.cve, "CVE-2021-40365");
    assert_eq!(first.fixed_in, ["V2.9.7"]);
    assert_eq!(
        first.reason,
        "order number 6ES7516-3AN01-0AB0 (s7comm) and firmware V2.9.4 (from s7comm) fall in \
         `vers:all/<V2.9.7` for SIMATIC S7-1500 CPU 1516-3 PN/DP (6ES7516-3AN01-0AB0) in \
         ICSA-22-349-03"
    );
    // The other hardware variant (AN02) is listed on its own, with the same range: it is
    // recognised by its own order number, not by the shared name.
    let an02 = matcher.match_device(&device(
        "s7comm",
        "Siemens",
        "CPU 1516-3 PN/DP",
        "6ES7 516-3AN02-0AB0",
        "V2.9.4",
    ));
    assert_eq!(an02.matches.len(), 4);
    for m in &an02.matches {
        assert_eq!(m.confidence, Confidence::High);
        assert_eq!(
            m.product,
            "SIMATIC S7-1500 CPU 1516-3 PN/DP (6ES7516-3AN02-0AB0)"
        );
    }
}

#[test]
fn siemens_s7_1200_cpu_1214c() {
    // ICSA-25-044-01 "Siemens SIMATIC S7-1200 CPU Family": "SIMATIC S7-1200 CPU family before
    // V4.7 is affected by two denial of service vulnerabilities" (CVE-2025-24811, -24812);
    // product "SIMATIC S7-1200 CPU 1214C DC/DC/DC (6ES7214-1AG40-0XB0)" `vers:all/<V4.7`;
    // "Update to V4.7 or later version".
    let Some(records) = advisory("2025/icsa-25-044-01.json") else {
        return;
    };
    let matcher = Matcher::new(&records);
    let plc = |firmware| {
        device(
            "s7comm",
            "Siemens AG",
            "CPU 1214C DC/DC/DC",
            "6ES7 214-1AG40-0XB0",
            firmware,
        )
    };
    let cves = ["CVE-2025-24811", "CVE-2025-24812"];
    for firmware in ["V4.6.1", "V4.5.2", "V4.6"] {
        assert_eq!(
            matched(&matcher, &plc(firmware)),
            expect(&cves, Confidence::High),
            "{firmware}"
        );
    }
    for firmware in ["V4.7", "V4.7.0", "V4.7.1", "V5.0"] {
        assert_eq!(matched(&matcher, &plc(firmware)), [], "{firmware}");
    }
}

#[test]
fn siemens_scalance_xm408() {
    // ICSA-21-194-03 "Siemens PROFINET Devices": "SCALANCE XM408-4C (6GK5408-4GP00-2AM2)",
    // `vers:all/<V6.3.1` for CVE-2020-28400; "Update to V6.3.1 or later version". SNMP or
    // PROFINET DCP gives the order number.
    let Some(records) = advisory("2021/icsa-21-194-03.json") else {
        return;
    };
    let matcher = Matcher::new(&records);
    let switch = |firmware| {
        device(
            "snmp",
            "Siemens",
            "SCALANCE XM408-4C",
            "6GK5408-4GP00-2AM2",
            firmware,
        )
    };
    assert_eq!(
        matched(&matcher, &switch("V6.3.0")),
        expect(&["CVE-2020-28400"], Confidence::High)
    );
    assert_eq!(
        matched(&matcher, &switch("V6.2")),
        expect(&["CVE-2020-28400"], Confidence::High)
    );
    assert_eq!(matched(&matcher, &switch("V6.3.1")), []);
    assert_eq!(matched(&matcher, &switch("V6.4")), []);
    // Without the firmware the product is still recognised: a low match, and the device is
    // listed as not fully resolved.
    let unknown = matcher.match_device(&switch(""));
    assert_eq!(unknown.matches.len(), 1);
    assert_eq!(unknown.matches[0].confidence, Confidence::Low);
    assert_eq!(
        unknown.unmatched.map(|u| u.reason),
        Some(UnmatchedReason::NoFirmware)
    );
}

#[test]
fn schneider_modicon_m340() {
    // ICSA-24-326-04 "Schneider Electric Modicon M340, MC80, and Momentum Unity M1E": product
    // "Modicon M340 CPU (part numbers BMXP34*)" `<SV3.65` for CVE-2024-8936, -8937, -8938;
    // "Version SV3.65 of Modicon M340 firmware includes a fix for these vulnerabilities".
    // Modbus device identification gives vendor "Schneider Electric", product code
    // "BMX P34 2020" and the revision "v3.60".
    let Some(records) = advisory("2024/icsa-24-326-04.json") else {
        return;
    };
    let matcher = Matcher::new(&records);
    let plc = |firmware| {
        device(
            "modbus",
            "Schneider Electric",
            "BMX P34 2020",
            "BMX P34 2020",
            firmware,
        )
    };
    let cves = ["CVE-2024-8936", "CVE-2024-8937", "CVE-2024-8938"];
    for firmware in ["v3.60", "SV3.64", "V2.7"] {
        assert_eq!(
            matched(&matcher, &plc(firmware)),
            expect(&cves, Confidence::High),
            "{firmware}"
        );
    }
    for firmware in ["SV3.65", "v3.65", "v3.70"] {
        assert_eq!(matched(&matcher, &plc(firmware)), [], "{firmware}");
    }
    let reason = &matcher.match_device(&plc("v3.60")).matches[0].reason;
    assert!(reason.contains("(part numbers BMXP34*)"), "{reason}");
    // Telemecanique is Schneider's brand: the same device under it matches too.
    let telemecanique = device(
        "modbus",
        "Telemecanique",
        "BMX P34 2020",
        "BMX P34 2020",
        "v3.60",
    );
    assert_eq!(
        matched(&matcher, &telemecanique),
        expect(&cves, Confidence::High)
    );
    // An M580 is not an M340.
    let m580 = device(
        "modbus",
        "Schneider Electric",
        "BME P58 2040",
        "BME P58 2040",
        "v3.60",
    );
    assert_eq!(matched(&matcher, &m580), []);
}

#[test]
fn schneider_modicon_m580() {
    // ICSA-25-035-04 "Schneider Electric Modicon M580 PLCs, BMENOR2200H and EVLink Pro AC":
    // "Modicon M580 CPU (part numbers BMEP* and BMEH*, excluding M580 CPU Safety)" `<SV4.30`
    // for CVE-2024-11425, "Version SV4.30 of Modicon M580 firmware includes a fix"; the CPU
    // Safety (BMEP58-S, BMEH58-S) has its own range `<SV4.21`.
    let Some(records) = advisory("2025/icsa-25-035-04.json") else {
        return;
    };
    let matcher = Matcher::new(&records);
    let plc = |firmware| {
        device(
            "modbus",
            "Schneider Electric",
            "BME P58 2040",
            "BME P58 2040",
            firmware,
        )
    };
    for firmware in ["SV4.20", "SV4.29", "v4.21"] {
        assert_eq!(
            matched(&matcher, &plc(firmware)),
            expect(&["CVE-2024-11425"], Confidence::High),
            "{firmware}"
        );
    }
    for firmware in ["SV4.30", "v4.30.0", "SV5.0"] {
        assert_eq!(matched(&matcher, &plc(firmware)), [], "{firmware}");
    }
}

#[test]
fn rockwell_controllogix_5580() {
    // ICSA-24-284-20 "Rockwell Automation ControlLogix": "ControlLogix 5580" (and "ControlLogix
    // 5580 Process") `<V33.017_V34.014_V35.013_V36.011` for CVE-2024-6207; "Rockwell
    // Automations recommends users update to V33.017, V34.014, V35.013, or V36.011": each
    // release line is fixed at its own version, older lines are not. EtherNet/IP's identity
    // gives "Rockwell Automation/Allen-Bradley", the catalog number in the product name
    // ("1756-L85E/B LOGIX5585E") and the revision as major.minor with two digits ("34.13" is
    // V34.013).
    let Some(records) = advisory("2024/icsa-24-284-20.json") else {
        return;
    };
    let matcher = Matcher::new(&records);
    let plc = |firmware| {
        device(
            "enip",
            "Rockwell Automation/Allen-Bradley",
            "1756-L85E/B LOGIX5585E",
            "",
            firmware,
        )
    };
    for firmware in ["34.13", "33.16", "35.12", "36.10", "32.11", "34.01"] {
        assert_eq!(
            matched(&matcher, &plc(firmware)),
            expect(&["CVE-2024-6207"], Confidence::Medium),
            "{firmware}"
        );
    }
    for firmware in ["33.17", "34.14", "35.13", "36.11", "33.20", "37.11"] {
        assert_eq!(matched(&matcher, &plc(firmware)), [], "{firmware}");
    }
    let reason = &matcher.match_device(&plc("34.13")).matches[0].reason;
    assert!(
        reason.starts_with("product name `ControlLogix 5580` (catalog family) and firmware 34.13"),
        "{reason}"
    );
}

#[test]
fn rockwell_compactlogix_5370() {
    // ICSA-22-144-01 "Rockwell Automation Logix Controllers": "CompactLogix 5370 controllers"
    // `<= 33.013` for CVE-2022-1797 ("Upgrade to v34.011 firmware"); "Compact GuardLogix 5370
    // controllers" is another product. A 1769-L33ER is a CompactLogix 5370 L3.
    let Some(records) = advisory("2022/icsa-22-144-01.json") else {
        return;
    };
    let matcher = Matcher::new(&records);
    let plc = |firmware| {
        device(
            "enip",
            "Rockwell Automation/Allen-Bradley",
            "1769-L33ER/A LOGIX5333ER",
            "",
            firmware,
        )
    };
    // The bound is inclusive: 33.013 itself is affected.
    for firmware in ["33.13", "33.12", "30.14", "20.11"] {
        let found = matcher.match_device(&plc(firmware));
        assert_eq!(found.matches.len(), 1, "{firmware}");
        assert_eq!(found.matches[0].cve, "CVE-2022-1797");
        assert_eq!(found.matches[0].product, "CompactLogix 5370 controllers");
        assert_eq!(found.matches[0].confidence, Confidence::Medium);
    }
    for firmware in ["33.14", "34.11"] {
        assert_eq!(matched(&matcher, &plc(firmware)), [], "{firmware}");
    }
}

#[test]
fn abb_flxeon_controllers() {
    // ICSA-25-051-02 "ABB FLXEON Controllers": "This issue affects FLXEON <=9.3.4"; product
    // "FLXEON Controllers / FBXi" `<=9.3.4`, fixed in ">=9.3.5", for CVE-2024-48841, -48849
    // and -48852 among others. BACnet's device object gives the vendor name and model name;
    // the model is taken here as the advisory names it (FBXi).
    let Some(records) = advisory("2025/icsa-25-051-02.json") else {
        return;
    };
    let matcher = Matcher::new(&records);
    let controller = |firmware| device("bacnet", "ABB", "FBXi", "", firmware);
    let inside = matched(&matcher, &controller("9.3.4"));
    for cve in ["CVE-2024-48841", "CVE-2024-48849", "CVE-2024-48852"] {
        assert!(
            inside.contains(&(cve.to_owned(), Confidence::Medium)),
            "{cve}: {inside:?}"
        );
    }
    // Every CVE of the advisory that names the FBXi with this range, and no other.
    let expected: Vec<&str> = records
        .iter()
        .filter(|r| {
            r.affected
                .iter()
                .any(|a| a.product.ends_with("/ FBXi") && a.versions == "<=9.3.4")
        })
        .map(|r| r.cve.as_str())
        .collect();
    assert_eq!(inside, expect(&expected, Confidence::Medium));
    assert_eq!(matched(&matcher, &controller("9.3.0")), inside);
    assert_eq!(matched(&matcher, &controller("9.3.5")), []);
    assert_eq!(matched(&matcher, &controller("10.0")), []);
}

#[test]
fn moxa_mxview_one() {
    // ICSA-24-268-05 "Moxa MXview One": "MXview One Series" `<=1.4.0` for CVE-2024-6785, -6786,
    // -6787 ("Upgrade to v1.4.1"); "MXview One Central Manager Series" exactly `1.0.0`.
    let Some(records) = advisory("2024/icsa-24-268-05.json") else {
        return;
    };
    let matcher = Matcher::new(&records);
    let server = |firmware| device("http", "Moxa Inc.", "MXview One", "", firmware);
    let cves = ["CVE-2024-6785", "CVE-2024-6786", "CVE-2024-6787"];
    for firmware in ["1.4.0", "v1.3.2", "1.0.0"] {
        assert_eq!(
            matched(&matcher, &server(firmware)),
            expect(&cves, Confidence::Medium),
            "{firmware}"
        );
    }
    for firmware in ["1.4.1", "v2.0"] {
        assert_eq!(matched(&matcher, &server(firmware)), [], "{firmware}");
    }
    // The Central Manager is affected only in 1.0.0.
    let manager = |firmware| device("http", "Moxa", "MXview One Central Manager", "", firmware);
    assert_eq!(
        matched(&matcher, &manager("1.0.0")),
        expect(&cves, Confidence::Medium)
    );
    assert_eq!(matched(&matcher, &manager("1.0.1")), []);
}

#[test]
fn unresolved_devices_say_why() {
    let Some(records) = advisory("2024/icsa-24-326-04.json") else {
        return;
    };
    let matcher = Matcher::new(&records);
    let siemens = matcher.match_device(&device(
        "s7comm",
        "Siemens",
        "CPU 1516-3 PN/DP",
        "6ES7 516-3AN01-0AB0",
        "V2.9.4",
    ));
    let unmatched = siemens.unmatched.unwrap();
    assert_eq!(unmatched.reason, UnmatchedReason::VendorUnknown);
    assert_eq!(unmatched.explanation, "no record names vendor `Siemens`");
    let other = matcher.match_device(&device(
        "modbus",
        "Schneider Electric",
        "TM221CE16R",
        "TM221CE16R",
        "1.10",
    ));
    let unmatched = other.unmatched.unwrap();
    assert_eq!(unmatched.reason, UnmatchedReason::ProductUnknown);
    assert_eq!(
        unmatched.explanation,
        "no product of Schneider Electric resolves from order number TM221CE16R or model \
         `TM221CE16R`"
    );
}

#[test]
fn every_shared_advisory_indexed_and_an_s7_1500_matched_across_them() {
    let Some(dir) = csaf_dir() else { return };
    let report = csaf::import_dir(&dir);
    let matcher = Matcher::new(&report.records);
    // Every affected product is indexed; fewer than 1% of their version texts cannot be read
    // (serial-number ranges, letters-only hardware revisions, several products in one field).
    let products: usize = report.records.iter().map(|r| r.affected.len()).sum();
    assert_eq!(matcher.products(), products);
    let unreadable = matcher.unreadable_ranges();
    println!("{products} affected products, {unreadable} with versions that cannot be read");
    assert!(unreadable * 100 < products, "{unreadable} of {products}");

    let plc = device(
        "s7comm",
        "Siemens",
        "CPU 1516-3 PN/DP",
        "6ES7 516-3AN01-0AB0",
        "V2.9.4",
    );
    let found = matcher.match_device(&plc);
    let cve = |id: &str| found.matches.iter().find(|m| m.cve == id);
    // ICSA-22-349-03 (`vers:all/<V2.9.7`) and ICSA-23-012-08's CVE-2022-38773
    // (`vers:all/*`: every version of the 1516-3 PN/DP) both apply.
    assert_eq!(cve("CVE-2021-40365").unwrap().confidence, Confidence::High);
    let all_versions = cve("CVE-2022-38773").unwrap();
    assert_eq!(all_versions.confidence, Confidence::High);
    assert!(
        all_versions.reason.contains("affected in every version"),
        "{}",
        all_versions.reason
    );
    // KEV first, then CVSS descending.
    assert!(found
        .matches
        .windows(2)
        .all(|w| (w[0].kev, w[0].cvss.unwrap_or(0.0)) >= (w[1].kev, w[1].cvss.unwrap_or(0.0))));
    // Every match names the order number and the advisory it comes from.
    for m in &found.matches {
        assert!(m.reason.contains("6ES7516-3AN01-0AB0"), "{}", m.reason);
        assert!(
            m.advisories.iter().any(|a| m.reason.contains(a.as_str())),
            "{}",
            m.reason
        );
    }
}
