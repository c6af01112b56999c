//! `ironward report risk` on a console filled from real captures (Telnet, VNC, SNMP v1 and a
//! Modbus plant, through a real sensor and console): the PDF renders to PNG pages with
//! `pdftoppm`, its text (`pdftotext`) has every section and the devices the captures show,
//! and the HTML is one self-contained page. The PDF, the HTML and the pages are kept under
//! `target/reports/` for people to look at.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod console_process;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use console_process::{capture, prepare, run_sensor, Console};

/// The sections every risk report has, in order.
const SECTIONS: [&str; 11] = [
    "Overall security score",
    "Device security scores",
    "Top recommendations",
    "Unauthorized devices",
    "Unpatched systems",
    "Unauthorized internet connections",
    "Unused open ports",
    "Insecure protocols",
    "Vulnerabilities",
    "Device inventory summary",
    "Network map",
];

/// `target/reports/` of the workspace's target directory (the one this test was built in).
fn reports_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let dir = tmp.parent().unwrap_or(tmp).join("reports");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Whether `program` runs; `None` (after printing why) when it is missing and the test may be
/// skipped, i.e. when not running as root (root installs it: scripts/test).
fn have(program: &str) -> bool {
    let found = Command::new(program).arg("-v").output().is_ok();
    if !found {
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        assert!(
            !root,
            "{program} is missing: scripts/test installs poppler-utils"
        );
        println!("skipped: {program} is missing (install poppler-utils)");
    }
    found
}

fn report(data: &Path, args: &[&str], out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ironward"))
        .args(["report", "risk"])
        .args(args)
        .arg("--out")
        .arg(out)
        .arg("--data")
        .arg(data)
        .output()
        .unwrap()
}

#[test]
fn the_risk_report_of_real_captures_as_pdf_pages_and_html() {
    let captures = [
        "telnet/suricata_telnet.pcap",
        "rfb/zeek_vncmac.pcap",
        "snmp/zeek_snmpv1_get.pcap",
        "modbus/iti_ModbusTCP.pcap",
    ];
    let Some(captures) = captures
        .iter()
        .map(|c| capture(c))
        .collect::<Option<Vec<PathBuf>>>()
    else {
        return;
    };
    if !have("pdftoppm") || !have("pdftotext") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("console");
    std::fs::create_dir_all(&data).unwrap();
    let (enrolment, _api, _site) = prepare(&data, None);
    {
        let console = Console::start(&data, &[]);
        let mut args: Vec<&OsStr> = vec!["--pcap".as_ref()];
        args.extend(captures.iter().map(|c| c.as_os_str()));
        run_sensor(&console, &enrolment, &dir.path().join("sensor"), &args);
    }
    let out = reports_dir();

    // An unknown site is refused by name, with exit code 2, and nothing is written.
    let missing = out.join("risk-report-missing.pdf");
    let _ = std::fs::remove_file(&missing);
    let refused = report(&data, &["--site", "Atlantis", "--format", "pdf"], &missing);
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("no site named \"Atlantis\" (sites: Plant)"),
        "{stderr}"
    );
    assert!(!missing.exists());

    let pdf = out.join("risk-report-plant.pdf");
    let made = report(&data, &["--site", "Plant", "--format", "pdf"], &pdf);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    println!("{}", String::from_utf8_lossy(&made.stderr).trim());
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF-"));

    // The PDF's text: every section, and the devices the captures show.
    let text = Command::new("pdftotext")
        .args(["-layout"])
        .arg(&pdf)
        .arg("-")
        .output()
        .unwrap();
    assert!(text.status.success(), "pdftotext refused the file");
    let text = String::from_utf8_lossy(&text.stdout);
    let mut at = 0;
    for section in SECTIONS {
        let found = text[at..]
            .find(section)
            .unwrap_or_else(|| panic!("section {section:?} missing or out of order"));
        at += found + section.len();
    }
    for known in [
        "Risk assessment report",
        "Site Plant",
        "192.168.0.1", // the Telnet server
        "141.81.0.10", // the Modbus client of the plant
        "OT Security",
        "telnet",
        "snmp",
    ] {
        assert!(
            text.contains(known),
            "{known:?} not in the PDF's text:\n{text}"
        );
    }
    assert!(text.contains("Page 1 of "), "numbered pages");

    // Rendered to PNG pages, as a reader would see them.
    for old in std::fs::read_dir(&out).unwrap().flatten() {
        if old
            .file_name()
            .to_string_lossy()
            .starts_with("risk-report-plant-page")
        {
            let _ = std::fs::remove_file(old.path());
        }
    }
    let rendered = Command::new("pdftoppm")
        .args(["-r", "60", "-png"])
        .arg(&pdf)
        .arg(out.join("risk-report-plant-page"))
        .output()
        .unwrap();
    assert!(
        rendered.status.success(),
        "pdftoppm: {}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    let pages: Vec<PathBuf> = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("risk-report-plant-page"))
        })
        .collect();
    assert!(pages.len() >= 4, "{} pages", pages.len());
    for page in &pages {
        let png = std::fs::read(page).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 1000);
    }

    // The same report as one self-contained HTML page.
    let html_path = out.join("risk-report-plant.html");
    let made = report(&data, &["--site", "Plant", "--format", "html"], &html_path);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let html = std::fs::read_to_string(&html_path).unwrap();
    for section in SECTIONS {
        assert!(html.contains(&format!("<h2>{section}</h2>")), "{section}");
    }
    assert!(html.contains("192.168.0.1"));
    assert!(html.contains("<svg"));
    for external in ["<script", "<link", "src=\"http", "url("] {
        assert!(!html.contains(external), "{external} in the HTML report");
    }

    // Every site at once works too.
    let all = out.join("risk-report-all.pdf");
    let made = report(&data, &["--all", "--format", "pdf"], &all);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    println!("{}", String::from_utf8_lossy(&made.stderr).trim());
}
