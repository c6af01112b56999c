//! Every metric of the built-in catalog, with the score worked out by hand.
//!
//! Weights of the built-in catalog (High 3, Medium 2, Low 1):
//!   OT Security: unprotected H, insecure protocols M, critical vulnerabilities H, known
//!   exploited H, unauthorized M, internet connections H, unsupported M, unused services L,
//!   IT write access H → Σw = 5·3 + 3·2 + 1 = 22.
//!   Enterprise IoT Security: unauthenticated management H, insecure protocols M, critical
//!   vulnerabilities H, known exploited H, unauthorized M, unsupported M, unused services L
//!   → Σw = 3·3 + 3·2 + 1 = 16.
//!
//! Each case: 4 devices of the initiative's domain, device 1 carries the evidence; the same
//! evidence on an IT workstation must count nowhere. The metric: affected 1, total 4, progress
//! 100·3/4 = 75. Every other metric: 0 of 4, progress 100. So
//!   OT:  High   → score = (22·100 − 3·25)/22 = 2125/22 = 96.5909…
//!        Medium → score = (22·100 − 2·25)/22 = 2150/22 = 97.7272…
//!        Low    → score = (22·100 − 1·25)/22 = 2175/22 = 98.8636…
//!   IoT: High   → score = (16·100 − 3·25)/16 = 1525/16 = 95.3125
//!        Medium → score = (16·100 − 2·25)/16 = 1550/16 = 96.875
//!        Low    → score = (16·100 − 1·25)/16 = 1575/16 = 98.4375
//! and the metric's score impact (score with it at 100 minus the score) is 100 − score.

use ironward_model::Finding;
use ironward_posture::{
    evaluate, Asset, AssetService, AssetVulnerability, Authorization, Catalog, Domain, Settings,
    StateKind,
};

fn service(port: u16, protocol: &str) -> AssetService {
    AssetService {
        transport: "tcp".into(),
        port,
        protocol: Some(protocol.into()),
    }
}

fn finding(f: Finding) -> impl Fn(&mut Asset) {
    move |a: &mut Asset| a.findings.push(f)
}

type Evidence = Box<dyn Fn(&mut Asset)>;

/// One case: the metric, the recommendation that lists the device, what the device shows, the
/// expected score and score impact (of the metric and of the recommendation), and other metrics
/// the same evidence rightly affects.
struct Case {
    metric: &'static str,
    rec: &'static str,
    evidence: Evidence,
    score: f64,
    impact: f64,
    also: &'static [&'static str],
}

/// A case where only `metric` moves: the impact is everything the score lacks.
fn case(metric: &'static str, rec: &'static str, evidence: Evidence, score: f64) -> Case {
    Case {
        metric,
        rec,
        evidence,
        score,
        impact: 100.0 - score,
        also: &[],
    }
}

fn cases() -> Vec<Case> {
    let ot_h = 2125.0 / 22.0;
    let ot_m = 2150.0 / 22.0;
    let ot_l = 2175.0 / 22.0;
    let iot_h = 1525.0 / 16.0;
    let iot_m = 1550.0 / 16.0;
    let iot_l = 1575.0 / 16.0;
    let critical: Evidence = Box::new(|a: &mut Asset| {
        a.vulnerabilities.push(AssetVulnerability {
            cve: "CVE-2022-0001".into(),
            cvss: Some(9.8),
            kev: false,
        })
    });
    let kev = || -> Evidence {
        Box::new(|a: &mut Asset| {
            a.vulnerabilities.push(AssetVulnerability {
                cve: "CVE-2021-0002".into(),
                cvss: Some(7.5),
                kev: true,
            })
        })
    };
    let mut cases: Vec<Case> = Vec::new();
    let unprotected: [(&str, Finding); 6] = [
        (
            "vnc-require-authentication",
            Finding::VncWithoutAuthentication,
        ),
        ("snmp-default-community", Finding::SnmpDefaultCommunity),
        (
            "mqtt-require-authentication",
            Finding::MqttWithoutAuthentication,
        ),
        ("opcua-security-mode", Finding::OpcuaSecurityNone),
        ("opcua-disable-anonymous", Finding::OpcuaAnonymousSession),
        ("http-basic-cleartext", Finding::HttpBasicCleartext),
    ];
    for (rec, f) in unprotected {
        cases.push(case(
            "ot-unprotected-devices",
            rec,
            Box::new(finding(f)),
            ot_h,
        ));
        if rec != "opcua-security-mode" {
            cases.push(case(
                "iot-unauthenticated-management",
                rec,
                Box::new(finding(f)),
                iot_h,
            ));
        }
    }
    {
        let f = Finding::TelnetWithoutAuthentication;
        // A shell without login is also Telnet in use: the insecure-protocols metric (medium)
        // counts the device too. OT: score = (2200 − 3·25 − 2·25)/22 = 2075/22 = 94.32; fixing
        // the authentication (or the unprotected metric) gains 3·25/22 = 3.41 points, the device
        // still counting as using Telnet. IoT: (1600 − 75 − 50)/16 = 92.19; gain 75/16 = 4.69.
        cases.push(Case {
            metric: "ot-unprotected-devices",
            rec: "telnet-require-authentication",
            evidence: Box::new(finding(f)),
            score: 2075.0 / 22.0,
            impact: 75.0 / 22.0,
            also: &["ot-insecure-protocols"],
        });
        cases.push(Case {
            metric: "iot-unauthenticated-management",
            rec: "telnet-require-authentication",
            evidence: Box::new(finding(f)),
            score: 1475.0 / 16.0,
            impact: 75.0 / 16.0,
            also: &["iot-insecure-protocols"],
        });
    }
    // OPC UA without security is counted as an insecure protocol on IoT devices (where OPC UA is
    // a data interface, not the device's management).
    cases.push(case(
        "iot-insecure-protocols",
        "opcua-security-mode",
        Box::new(finding(Finding::OpcuaSecurityNone)),
        iot_m,
    ));
    let insecure: [(&str, Finding); 10] = [
        ("telnet-disable", Finding::TelnetInUse),
        ("snmp-v1-v2-remove", Finding::SnmpV1V2c),
        ("snmp-v3-privacy", Finding::SnmpV3WithoutPrivacy),
        ("ftp-disable", Finding::FtpCleartext),
        ("mqtt-use-tls", Finding::MqttCleartext),
        ("tls-legacy-disable", Finding::TlsLegacyVersion),
        ("tls-certificate-replace", Finding::TlsSelfSignedCertificate),
        ("tls-certificate-replace", Finding::TlsExpiredCertificate),
        ("ssh-v1-disable", Finding::SshV1),
        ("smb-v1-disable", Finding::SmbV1),
    ];
    for (rec, f) in insecure {
        cases.push(case(
            "ot-insecure-protocols",
            rec,
            Box::new(finding(f)),
            ot_m,
        ));
        cases.push(case(
            "iot-insecure-protocols",
            rec,
            Box::new(finding(f)),
            iot_m,
        ));
    }
    let http = || -> Evidence { Box::new(|a: &mut Asset| a.services.push(service(80, "http"))) };
    cases.push(case(
        "ot-insecure-protocols",
        "http-cleartext-administration",
        http(),
        ot_m,
    ));
    cases.push(case(
        "iot-insecure-protocols",
        "http-cleartext-administration",
        http(),
        iot_m,
    ));
    let critical2: Evidence = Box::new(|a: &mut Asset| {
        a.vulnerabilities.push(AssetVulnerability {
            cve: "CVE-2022-0001".into(),
            cvss: Some(9.0),
            kev: false,
        })
    });
    cases.push(case(
        "ot-critical-vulnerabilities",
        "vulnerabilities-critical",
        critical,
        ot_h,
    ));
    cases.push(case(
        "iot-critical-vulnerabilities",
        "vulnerabilities-critical",
        critical2,
        iot_h,
    ));
    cases.push(case(
        "ot-known-exploited",
        "vulnerabilities-kev",
        kev(),
        ot_h,
    ));
    cases.push(case(
        "iot-known-exploited",
        "vulnerabilities-kev",
        kev(),
        iot_h,
    ));
    let unauthorized =
        || -> Evidence { Box::new(|a: &mut Asset| a.authorized = Authorization::Unauthorized) };
    cases.push(case(
        "ot-unauthorized-devices",
        "unauthorized-devices",
        unauthorized(),
        ot_m,
    ));
    cases.push(case(
        "iot-unauthorized-devices",
        "unauthorized-devices",
        unauthorized(),
        iot_m,
    ));
    cases.push(case(
        "ot-internet-connections",
        "ot-internet-connections",
        Box::new(|a: &mut Asset| {
            a.internet_peers
                .push("198.51.100.7".parse().unwrap_or_else(|e| panic!("{e}")))
        }),
        ot_h,
    ));
    cases.push(case(
        "ot-unsupported",
        "end-of-support",
        Box::new(|a: &mut Asset| {
            a.vendor = Some("Siemens".into());
            a.model = Some("CPU 315-2 PN/DP (S7-300)".into());
        }),
        ot_m,
    ));
    cases.push(case(
        "iot-unsupported",
        "end-of-support",
        Box::new(|a: &mut Asset| a.os = Some("Microsoft Windows 7 Embedded".into())),
        iot_m,
    ));
    let unused =
        || -> Evidence { Box::new(|a: &mut Asset| a.unused_services.push(service(21, "ftp"))) };
    cases.push(case(
        "ot-unused-services",
        "unused-services",
        unused(),
        ot_l,
    ));
    cases.push(case(
        "iot-unused-services",
        "unused-services",
        unused(),
        iot_l,
    ));
    cases.push(case(
        "ot-it-write-access",
        "it-write-access",
        Box::new(|a: &mut Asset| a.it_write_sources.push("ip:10.10.0.50".into())),
        ot_h,
    ));
    cases
}

#[test]
fn every_metric_counts_its_evidence() {
    let catalog = Catalog::builtin();
    let cases = cases();
    // Every metric of the catalog is exercised.
    for m in &catalog.metrics {
        assert!(
            cases.iter().any(|c| c.metric == m.id.as_str()),
            "metric {} untested",
            m.id
        );
    }
    for c in &cases {
        let (metric_id, rec_id, expected_score) = (c.metric, c.rec, c.score);
        let def = catalog
            .metrics
            .iter()
            .find(|m| m.id == metric_id)
            .unwrap_or_else(|| panic!("{metric_id}"));
        let (domain, device_type) = match def.applies_to[0] {
            Domain::Ot => (Domain::Ot, "plc"),
            _ => (Domain::EnterpriseIot, "ip_camera"),
        };
        let mut assets: Vec<Asset> = (1..=4)
            .map(|i| {
                let mut a = Asset::new(format!("ip:10.0.0.{i}"), domain);
                a.device_type = Some(device_type.into());
                a.authorized = Authorization::Authorized;
                a
            })
            .collect();
        (c.evidence)(&mut assets[0]);
        let mut workstation = Asset::new("ip:10.9.0.1", Domain::It);
        workstation.authorized = Authorization::Authorized;
        (c.evidence)(&mut workstation);
        assets.push(workstation);

        let posture = evaluate(&assets, catalog, &Settings::default());
        let initiative = posture
            .initiatives
            .iter()
            .find(|i| i.id == def.initiative)
            .unwrap_or_else(|| panic!("{}", def.initiative));
        let label = format!("{metric_id} via {rec_id}");
        for m in &initiative.metrics {
            if m.id == metric_id || c.also.contains(&m.id.as_str()) {
                assert_eq!((m.affected, m.total), (1, 4), "{label}: {}", m.id);
                assert_eq!(m.progress, Some(75.0), "{label}");
                assert_eq!(m.affected_devices, ["ip:10.0.0.1"], "{label}");
                if m.id == metric_id {
                    assert!(
                        (m.score_impact - c.impact).abs() < 1e-9,
                        "{label}: impact {}",
                        m.score_impact
                    );
                }
            } else {
                assert_eq!(
                    (m.affected, m.total, m.progress),
                    (0, 4, Some(100.0)),
                    "{label}: {} moved",
                    m.id
                );
            }
        }
        let score = initiative.score.unwrap_or(f64::NAN);
        assert!(
            (score - expected_score).abs() < 1e-9,
            "{label}: score {score}, expected {expected_score}"
        );
        // The recommendation lists the device in the metric's domain, Active, worth the points.
        let rec = posture
            .recommendations
            .iter()
            .find(|r| r.id == rec_id && r.domain == domain)
            .unwrap_or_else(|| panic!("{label}: recommendation not listed"));
        assert_eq!(rec.state, StateKind::Active, "{label}");
        assert_eq!(
            rec.devices
                .iter()
                .map(|d| d.id.as_str())
                .collect::<Vec<_>>(),
            ["ip:10.0.0.1"],
            "{label}"
        );
        assert!(
            (rec.score_impact - c.impact).abs() < 1e-9,
            "{label}: rec impact {}",
            rec.score_impact
        );
        // The workstation is listed under domain it (when the recommendation covers IT) and
        // moves no score: score impact 0.
        if let Some(it) = posture
            .recommendations
            .iter()
            .find(|r| r.id == rec_id && r.domain == Domain::It)
        {
            assert_eq!(
                it.devices.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
                ["ip:10.9.0.1"],
                "{label}"
            );
            assert_eq!(it.score_impact, 0.0, "{label}");
        }
    }
}
