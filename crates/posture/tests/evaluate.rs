//! Scores, weights, states, score impacts and device scores over a small catalog whose numbers
//! are worked out by hand in the comments.

use ironward_model::{Finding, Timestamp};
use ironward_posture::{
    device_scores, evaluate, score, Asset, AssetService, AssetVulnerability, Catalog, Domain,
    Initiative, Metric, Posture, Rating, RecommendationState, Settings, StateKind, Weight,
};

const RECOMMENDATIONS: &str = r#"
[[recommendation]]
id = "telnet"
title = "Disable Telnet"
description = "d"
remediation = ["turn it off"]
domains = ["ot", "enterprise_iot", "it"]
workload = "medium"
severity = "high"
source = "telnet dissector"
rule = "finding:telnet_in_use"

[[recommendation]]
id = "ftp"
title = "Disable FTP"
description = "d"
remediation = ["turn it off"]
domains = ["ot", "enterprise_iot"]
workload = "medium"
severity = "medium"
source = "ftp dissector"
rule = "finding:ftp_cleartext"

[[recommendation]]
id = "kev"
title = "Patch KEV"
description = "d"
remediation = ["patch"]
domains = ["ot", "enterprise_iot"]
workload = "high"
severity = "critical"
source = "threat intelligence"
rule = "vulnerability:kev"

[[recommendation]]
id = "unused"
title = "Close unused services"
description = "d"
remediation = ["close"]
domains = ["ot"]
workload = "low"
severity = "low"
source = "connections"
rule = "unused_services"
"#;

const INITIATIVES: &str = r#"
[[initiative]]
id = "ot"
name = "OT Security"
description = "d"
domain = "ot"
default_target = 70.0

[[initiative]]
id = "iot"
name = "Enterprise IoT Security"
description = "d"
domain = "enterprise_iot"
default_target = 90.0

[[metric]]
id = "ot-protocols"
name = "OT devices using insecure protocols"
description = "d"
initiative = "ot"
applies_to = ["ot"]
recommendations = ["telnet", "ftp"]
default_weight = "high"

[[metric]]
id = "ot-kev"
name = "Devices with known exploited vulnerabilities"
description = "d"
initiative = "ot"
applies_to = ["ot"]
recommendations = ["kev"]
default_weight = "medium"

[[metric]]
id = "ot-unused"
name = "Devices with unused open services"
description = "d"
initiative = "ot"
applies_to = ["ot"]
recommendations = ["unused"]
default_weight = "low"

[[metric]]
id = "iot-protocols"
name = "IoT devices using insecure protocols"
description = "d"
initiative = "iot"
applies_to = ["enterprise_iot"]
recommendations = ["telnet", "ftp"]
default_weight = "high"
"#;

fn catalog() -> Catalog {
    Catalog::parse(
        RECOMMENDATIONS,
        INITIATIVES,
        "field,vendor,pattern,exclude,product,ended,source\n",
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn device(id: &str, domain: Domain, findings: &[Finding], kev: bool) -> Asset {
    let mut a = Asset::new(id, domain);
    a.ip = id.strip_prefix("ip:").and_then(|ip| ip.parse().ok());
    a.findings = findings.to_vec();
    if kev {
        a.vulnerabilities.push(AssetVulnerability {
            cve: "CVE-2021-44228".into(),
            cvss: Some(10.0),
            kev: true,
        });
    }
    a
}

/// p1 telnet; p2 telnet + FTP; p3 a KEV vulnerability; p4 clean.
fn plcs() -> Vec<Asset> {
    vec![
        device("ip:10.0.0.1", Domain::Ot, &[Finding::TelnetInUse], false),
        device(
            "ip:10.0.0.2",
            Domain::Ot,
            &[Finding::TelnetInUse, Finding::FtpCleartext],
            false,
        ),
        device("ip:10.0.0.3", Domain::Ot, &[], true),
        device("ip:10.0.0.4", Domain::Ot, &[], false),
    ]
}

fn initiative<'a>(p: &'a Posture, id: &str) -> &'a Initiative {
    p.initiatives
        .iter()
        .find(|i| i.id == id)
        .unwrap_or_else(|| panic!("{id}"))
}

fn metric<'a>(p: &'a Posture, id: &str) -> &'a Metric {
    p.initiatives
        .iter()
        .flat_map(|i| &i.metrics)
        .find(|m| m.id == id)
        .unwrap_or_else(|| panic!("{id}"))
}

fn rec<'a>(p: &'a Posture, id: &str, domain: Domain) -> &'a ironward_posture::Recommendation {
    p.recommendations
        .iter()
        .find(|r| r.id == id && r.domain == domain)
        .unwrap_or_else(|| panic!("{id} {domain:?}"))
}

fn close(actual: Option<f64>, expected: f64) -> bool {
    actual.is_some_and(|a| (a - expected).abs() < 1e-9)
}

fn state(recommendation: &str, kind: StateKind, expires_at: Option<i64>) -> RecommendationState {
    RecommendationState {
        recommendation: recommendation.into(),
        kind,
        reason: "compensating firewall rule".into(),
        author: "alice".into(),
        set_at: Timestamp(100),
        expires_at: expires_at.map(Timestamp),
    }
}

#[test]
fn score_metrics_and_impacts() {
    // ot-protocols (high 3): p1, p2 affected → 2 of 4 → progress 100·2/4 = 50
    // ot-kev (medium 2): p3 → 1 of 4 → 75
    // ot-unused (low 1): none → 100
    // score = (3·50 + 2·75 + 1·100) / (3 + 2 + 1) = 400/6 = 66.67
    let p = evaluate(&plcs(), &catalog(), &Settings::default());
    let ot = initiative(&p, "ot");
    assert!(close(ot.score, 400.0 / 6.0), "{:?}", ot.score);
    assert_eq!(ot.target, 70.0);
    let m = metric(&p, "ot-protocols");
    assert_eq!((m.affected, m.total, m.progress), (2, 4, Some(50.0)));
    assert_eq!(m.affected_devices, ["ip:10.0.0.1", "ip:10.0.0.2"]);
    assert_eq!(
        (metric(&p, "ot-kev").affected, metric(&p, "ot-kev").progress),
        (1, Some(75.0))
    );
    assert_eq!(metric(&p, "ot-unused").progress, Some(100.0));
    // Metric impacts: ot-protocols at 100 → (300 + 150 + 100)/6 = 91.67 → +25.0;
    // ot-kev at 100 → (150 + 200 + 100)/6 = 75 → +8.33; ot-unused already 100 → 0.
    assert!((m.score_impact - 25.0).abs() < 1e-9, "{}", m.score_impact);
    assert!((metric(&p, "ot-kev").score_impact - 50.0 / 6.0).abs() < 1e-9);
    assert_eq!(metric(&p, "ot-unused").score_impact, 0.0);
    // Recommendation impacts, by exact re-evaluation: fixing Telnet clears p1 but not p2 (FTP
    // still counts) → ot-protocols 1 of 4 → 75 → (225 + 150 + 100)/6 = 79.17 → +12.5.
    // Fixing FTP alone clears nobody (p2 keeps Telnet) → 0. KEV → +8.33.
    assert!((rec(&p, "telnet", Domain::Ot).score_impact - 12.5).abs() < 1e-9);
    assert_eq!(rec(&p, "ftp", Domain::Ot).score_impact, 0.0);
    assert!((rec(&p, "kev", Domain::Ot).score_impact - 50.0 / 6.0).abs() < 1e-9);
    // Highest impact first, then severity: telnet, kev, ftp (medium), unused (low, resolved).
    let order: Vec<(&str, StateKind)> = p
        .recommendations
        .iter()
        .map(|r| (r.id.as_str(), r.state))
        .collect();
    assert_eq!(
        order,
        [
            ("telnet", StateKind::Active),
            ("kev", StateKind::Active),
            ("ftp", StateKind::Active),
            ("unused", StateKind::Resolved)
        ]
    );
    let telnet = rec(&p, "telnet", Domain::Ot);
    assert_eq!(telnet.key, "telnet/ot");
    assert_eq!(
        telnet
            .devices
            .iter()
            .map(|d| d.id.as_str())
            .collect::<Vec<_>>(),
        ["ip:10.0.0.1", "ip:10.0.0.2"]
    );
    assert_eq!(telnet.devices[0].ip, "10.0.0.1".parse().ok());
    // No IoT device: its metric is not applicable and the initiative has no score.
    let iot = initiative(&p, "iot");
    assert_eq!(iot.score, None);
    assert_eq!(
        (
            iot.metrics[0].total,
            iot.metrics[0].progress,
            iot.metrics[0].score_impact
        ),
        (0, None, 0.0)
    );
}

#[test]
fn weights_override_and_risk_accepted_weight_is_left_out() {
    // ot-kev raised to high: (3·50 + 3·75 + 1·100)/7 = 475/7 = 67.86.
    let mut settings = Settings::default();
    settings.weights.insert("ot-kev".into(), Weight::High);
    settings.targets.insert("ot".into(), 85.0);
    let p = evaluate(&plcs(), &catalog(), &settings);
    assert!(close(initiative(&p, "ot").score, 475.0 / 7.0));
    assert_eq!(metric(&p, "ot-kev").weight, Weight::High);
    assert_eq!(initiative(&p, "ot").target, 85.0);

    // ot-protocols risk accepted: (2·75 + 1·100)/3 = 250/3 = 83.33; fixing it or Telnet
    // changes nothing any more.
    let mut settings = Settings::default();
    settings
        .weights
        .insert("ot-protocols".into(), Weight::RiskAccepted);
    let p = evaluate(&plcs(), &catalog(), &settings);
    assert!(close(initiative(&p, "ot").score, 250.0 / 3.0));
    assert_eq!(metric(&p, "ot-protocols").score_impact, 0.0);
    assert_eq!(
        metric(&p, "ot-protocols").affected,
        2,
        "still counted, only not weighed"
    );
    assert_eq!(rec(&p, "telnet", Domain::Ot).score_impact, 0.0);

    // Every metric risk accepted: nothing left to weigh, no score.
    for id in ["ot-protocols", "ot-kev", "ot-unused"] {
        settings.weights.insert(id.into(), Weight::RiskAccepted);
    }
    assert_eq!(
        initiative(&evaluate(&plcs(), &catalog(), &settings), "ot").score,
        None
    );
}

#[test]
fn risk_accepted_and_exception_states_take_devices_out_until_they_expire() {
    // Telnet risk accepted: p1 is no longer affected; p2 still is (FTP).
    // ot-protocols 1 of 4 → 75; score = (3·75 + 2·75 + 100)/6 = 475/6 = 79.17.
    let settings = Settings {
        states: vec![state("telnet", StateKind::RiskAccepted, None)],
        now: Timestamp(1_000),
        ..Settings::default()
    };
    let p = evaluate(&plcs(), &catalog(), &settings);
    assert!(close(initiative(&p, "ot").score, 475.0 / 6.0));
    let m = metric(&p, "ot-protocols");
    assert_eq!(
        (
            m.affected,
            m.affected_devices.clone(),
            m.accepted_devices.clone()
        ),
        (
            1,
            vec!["ip:10.0.0.2".to_owned()],
            vec!["ip:10.0.0.1".to_owned()]
        )
    );
    let telnet = rec(&p, "telnet", Domain::Ot);
    assert_eq!(telnet.state, StateKind::RiskAccepted);
    assert_eq!(
        telnet.state_detail.as_ref().map(|s| s.author.as_str()),
        Some("alice")
    );
    assert_eq!(telnet.devices.len(), 2, "still lists its devices");
    assert_eq!(telnet.score_impact, 0.0);
    // FTP is now the only thing keeping p2 affected: fixing it → 100 → 550/6 = 91.67 → +12.5.
    assert!((rec(&p, "ftp", Domain::Ot).score_impact - 12.5).abs() < 1e-9);

    // An exception that has not expired: the same numbers, state Exception.
    let settings = Settings {
        states: vec![state("telnet", StateKind::Exception, Some(2_000))],
        now: Timestamp(1_000),
        ..Settings::default()
    };
    let p = evaluate(&plcs(), &catalog(), &settings);
    assert!(close(initiative(&p, "ot").score, 475.0 / 6.0));
    assert_eq!(rec(&p, "telnet", Domain::Ot).state, StateKind::Exception);

    // Expired (expiry 1 000 = now): computed again, Active, 400/6 = 66.67.
    let settings = Settings {
        states: vec![state("telnet", StateKind::Exception, Some(1_000))],
        now: Timestamp(1_000),
        ..Settings::default()
    };
    let p = evaluate(&plcs(), &catalog(), &settings);
    assert!(close(initiative(&p, "ot").score, 400.0 / 6.0));
    assert_eq!(rec(&p, "telnet", Domain::Ot).state, StateKind::Active);
    assert!(rec(&p, "telnet", Domain::Ot).state_detail.is_none());

    // A risk-accepted recommendation without devices stays risk accepted (not "resolved").
    let settings = Settings {
        states: vec![state("unused", StateKind::RiskAccepted, None)],
        ..Settings::default()
    };
    let p = evaluate(&plcs(), &catalog(), &settings);
    assert_eq!(rec(&p, "unused", Domain::Ot).state, StateKind::RiskAccepted);
}

#[test]
fn a_recommendation_is_split_per_domain_and_it_devices_move_no_score() {
    // Add a camera (IoT) and a workstation (IT) with Telnet.
    // IoT: iot-protocols 1 of 1 affected → progress 0 → score 0 (a score, not None); fixing
    // Telnet on the camera → 100: +100 points.
    let mut assets = plcs();
    assets.push(device(
        "ip:10.1.0.1",
        Domain::EnterpriseIot,
        &[Finding::TelnetInUse],
        false,
    ));
    assets.push(device(
        "ip:10.2.0.1",
        Domain::It,
        &[Finding::TelnetInUse],
        false,
    ));
    let p = evaluate(&assets, &catalog(), &Settings::default());
    assert_eq!(initiative(&p, "iot").score, Some(0.0));
    let entries: Vec<(Domain, Vec<&str>, f64)> = p
        .recommendations
        .iter()
        .filter(|r| r.id == "telnet")
        .map(|r| {
            (
                r.domain,
                r.devices.iter().map(|d| d.id.as_str()).collect(),
                r.score_impact,
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            (Domain::EnterpriseIot, vec!["ip:10.1.0.1"], 100.0),
            (Domain::Ot, vec!["ip:10.0.0.1", "ip:10.0.0.2"], 12.5),
            (Domain::It, vec!["ip:10.2.0.1"], 0.0),
        ]
    );
    // The OT score is untouched by the other domains' devices: 400/6.
    assert!(close(initiative(&p, "ot").score, 400.0 / 6.0));
}

#[test]
fn empty_scope_has_no_scores_and_resolved_recommendations() {
    let p = evaluate(&[], &catalog(), &Settings::default());
    for i in &p.initiatives {
        assert_eq!(i.score, None, "{}", i.id);
        assert!(i
            .metrics
            .iter()
            .all(|m| m.total == 0 && m.progress.is_none() && m.score_impact == 0.0));
    }
    assert_eq!(p.recommendations.len(), 4);
    assert!(p
        .recommendations
        .iter()
        .all(|r| r.state == StateKind::Resolved && r.devices.is_empty()));
    // A resolved recommendation shows its first domain.
    assert_eq!(rec(&p, "telnet", Domain::Ot).domain, Domain::Ot);
    assert!(device_scores(&[], &p).is_empty());
}

#[test]
fn score_formula() {
    let m = |weight, progress| Metric {
        id: "m".into(),
        name: "m".into(),
        description: String::new(),
        initiative: "i".into(),
        weight,
        affected: 0,
        total: 1,
        progress,
        score_impact: 0.0,
        recommendations: Vec::new(),
        affected_devices: Vec::new(),
        accepted_devices: Vec::new(),
    };
    // (3·40 + 2·70 + 1·100) / 6 = 360/6 = 60; the risk-accepted 0 and the not-applicable
    // metric are left out.
    let metrics = [
        m(Weight::High, Some(40.0)),
        m(Weight::Medium, Some(70.0)),
        m(Weight::Low, Some(100.0)),
        m(Weight::RiskAccepted, Some(0.0)),
        m(Weight::High, None),
    ];
    assert_eq!(score(&metrics), Some(60.0));
    assert_eq!(score(&metrics[3..]), None);
    assert_eq!(score(&[]), None);
}

#[test]
fn device_scores_and_ratings() {
    // p1: Telnet (high, 25) → 75, needs improvement (below 80)
    // p2: Telnet 25 + FTP (medium, 10) → 65, needs improvement
    // p3: KEV (critical, 40) → 60, vulnerable (any critical)
    // p4: nothing → 100, secure
    // u1: unused services only (low, 5) → 95, secure
    // x1: Telnet + FTP + KEV + unused: 100 − 25 − 10 − 40 − 5 = 20 → vulnerable
    let mut assets = plcs();
    let mut u1 = device("ip:10.0.0.5", Domain::Ot, &[], false);
    u1.unused_services.push(AssetService {
        transport: "tcp".into(),
        port: 21,
        protocol: Some("ftp".into()),
    });
    let mut x1 = device(
        "ip:10.0.0.6",
        Domain::Ot,
        &[Finding::TelnetInUse, Finding::FtpCleartext],
        true,
    );
    x1.unused_services = u1.unused_services.clone();
    assets.push(u1);
    assets.push(x1);
    let p = evaluate(&assets, &catalog(), &Settings::default());
    let all = device_scores(&assets, &p);
    let scores: Vec<(&str, f64, Rating)> = all
        .iter()
        .map(|d| (d.id.as_str(), d.score, d.rating))
        .collect();
    assert_eq!(
        scores,
        [
            ("ip:10.0.0.6", 20.0, Rating::Vulnerable),
            ("ip:10.0.0.3", 60.0, Rating::Vulnerable),
            ("ip:10.0.0.2", 65.0, Rating::NeedsImprovement),
            ("ip:10.0.0.1", 75.0, Rating::NeedsImprovement),
            ("ip:10.0.0.5", 95.0, Rating::Secure),
            ("ip:10.0.0.4", 100.0, Rating::Secure),
        ]
    );
    // The worst device names its four recommendations, in the posture's order.
    let in_order: Vec<&str> = p.recommendations.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(all[0].recommendations, in_order);
    // Risk-accepted recommendations cost nothing: p1 is secure without Telnet counted.
    let settings = Settings {
        states: vec![state("telnet", StateKind::RiskAccepted, None)],
        ..Settings::default()
    };
    let p = evaluate(&assets, &catalog(), &settings);
    let p1 = device_scores(&assets, &p)
        .into_iter()
        .find(|d| d.id == "ip:10.0.0.1");
    assert_eq!(
        p1.map(|d| (d.score, d.rating)),
        Some((100.0, Rating::Secure))
    );
}

#[test]
fn serialised_shapes_carry_the_keys_the_issue_fixes() {
    let p = evaluate(&plcs(), &catalog(), &Settings::default());
    let json = serde_json::to_value(&p).unwrap_or_else(|e| panic!("{e}"));
    let r = &json["recommendations"][0];
    for key in ["title", "severity", "domain", "state", "score_impact"] {
        assert!(!r[key].is_null(), "recommendation {key}");
    }
    assert_eq!(r["devices"][0]["id"], "ip:10.0.0.1");
    assert_eq!(r["devices"][0]["ip"], "10.0.0.1");
    assert_eq!(r["domain"], "ot");
    assert_eq!(r["state"], "active");
    assert_eq!(r["severity"], "high");
    let i = &json["initiatives"][0];
    assert_eq!(i["name"], "OT Security");
    assert!(i["score"].is_f64() && i["target"].is_f64());
    assert!(i.get("devices").is_none(), "device ids are not serialised");
    let m = &i["metrics"][0];
    assert_eq!(m["name"], "OT devices using insecure protocols");
    assert_eq!(m["weight"], "high");
    assert_eq!(
        (
            m["affected"].as_u64(),
            m["total"].as_u64(),
            m["progress"].as_f64()
        ),
        (Some(2), Some(4), Some(50.0))
    );
    assert!(json["initiatives"][1]["score"].is_null());
}
