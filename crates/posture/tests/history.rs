//! Fourteen simulated days of one site, evaluated with the built-in catalog each day the way a
//! console does it: snapshot the OT Security initiative, compare with the last stored snapshot,
//! store it when something changed, and read trend, drift and score-drop events from the
//! stored scores.
//!
//!   day 1   50 PLCs appear, clean                                  → score 100
//!   day 2   nothing changes                                        → nothing stored
//!   day 3   150 more PLCs with Telnet appear (> 100 affected)      → insecure protocols 150/200
//!   day 5   50 of them fixed; one PLC written from an IT zone
//!   day 7   insecure protocols weight medium → high
//!   day 9   "Disable insecure administration protocol – Telnet" risk accepted
//!   day 11  TI package 2026.11.1 → 2026.11.2 gives 10 PLCs a KEV vulnerability
//!   day 13  20 PLCs removed (5 of them with the KEV vulnerability)
//!   day 14  nothing changes; now = day 14, 18:00 UTC
//!
//! OT Security weights (Σw = 22): unprotected H3, insecure M2, critical H3, KEV H3,
//! unauthorized M2, internet H3, unsupported M2, unused L1, IT write H3.

use ironward_model::{Finding, Timestamp};
use ironward_posture::{
    compare, drift, evaluate, score_drop, trend, Asset, AssetChangeKind, AssetVulnerability,
    Authorization, Catalog, Domain, Reason, RecommendationState, ScoreChange, Settings, Snapshot,
    StateKind, Weight,
};

const DAY: i64 = 86_400 * 1_000_000_000;
/// 2026-11-01T00:00:00Z, in days since the epoch.
const FIRST_DAY: i64 = 20_758;

fn noon(day: i64) -> Timestamp {
    Timestamp((FIRST_DAY + day - 1) * DAY + 12 * 3_600 * 1_000_000_000)
}

/// Device ids that sort in numeric order.
fn id(i: usize) -> String {
    format!("mac:02:00:00:00:{:02x}:{:02x}", i / 256, i % 256)
}

fn assets_on(day: i64) -> Vec<Asset> {
    let mut assets = Vec::new();
    let count = if day >= 3 { 200 } else { 50 };
    for i in 0..count {
        // Day 13: 0..5 (KEV) and 35..50 (clean) removed.
        if day >= 13 && (i < 5 || (35..50).contains(&i)) {
            continue;
        }
        let mut a = Asset::new(id(i), Domain::Ot);
        a.device_type = Some("plc".into());
        a.authorized = Authorization::Authorized;
        // Devices 50..200 serve Telnet; 50..100 are fixed on day 5.
        if i >= 50 && !(day >= 5 && i < 100) {
            a.findings.push(Finding::TelnetInUse);
        }
        if day >= 5 && i == 20 {
            a.it_write_sources.push("ip:10.20.0.5".into());
        }
        if day >= 11 && i < 10 {
            a.vulnerabilities.push(AssetVulnerability {
                cve: "CVE-2024-0001".into(),
                cvss: Some(7.5),
                kev: true,
            });
        }
        assets.push(a);
    }
    assets
}

fn settings_on(day: i64) -> Settings {
    let mut settings = Settings {
        now: noon(day),
        ..Settings::default()
    };
    if day >= 7 {
        settings
            .weights
            .insert("ot-insecure-protocols".into(), Weight::High);
    }
    if day >= 9 {
        settings.states.push(RecommendationState {
            recommendation: "telnet-disable".into(),
            kind: StateKind::RiskAccepted,
            reason: "replacement PLCs ordered; Telnet blocked at the cell firewall".into(),
            author: "ot-lead".into(),
            set_at: noon(9),
            expires_at: None,
        });
    }
    settings
}

fn ti_on(day: i64) -> &'static str {
    if day >= 11 {
        "2026.11.2"
    } else {
        "2026.11.1"
    }
}

fn close(actual: Option<f64>, expected: f64) -> bool {
    actual.is_some_and(|a| (a - expected).abs() < 1e-9)
}

/// The console's loop: returns every stored change, by day.
fn simulate() -> Vec<(i64, ScoreChange)> {
    let catalog = Catalog::builtin();
    let mut stored: Option<Snapshot> = None;
    let mut changes = Vec::new();
    for day in 1..=14 {
        let settings = settings_on(day);
        let posture = evaluate(&assets_on(day), catalog, &settings);
        let ot = posture
            .initiatives
            .iter()
            .find(|i| i.id == "ot-security")
            .unwrap_or_else(|| panic!("ot-security"));
        let snapshot = Snapshot::of(ot, &settings, Some(ti_on(day)), noon(day));
        // A snapshot survives the console's store (JSON) unchanged.
        let text = serde_json::to_string(&snapshot).unwrap_or_else(|e| panic!("{e}"));
        let snapshot: Snapshot = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        if let Some(change) = compare(stored.as_ref(), &snapshot) {
            changes.push((day, change));
            stored = Some(snapshot);
        }
    }
    changes
}

#[test]
fn fourteen_days_of_changes_reasons_and_assets() {
    let changes = simulate();
    let days: Vec<i64> = changes.iter().map(|(d, _)| *d).collect();
    assert_eq!(
        days,
        [1, 3, 5, 7, 9, 11, 13],
        "days 2 and 14 change nothing"
    );
    let on = |day: i64| {
        &changes
            .iter()
            .find(|(d, _)| *d == day)
            .unwrap_or_else(|| panic!("day {day}"))
            .1
    };
    let kinds = |c: &ScoreChange| -> Vec<(String, String, AssetChangeKind)> {
        c.top_assets
            .iter()
            .map(|a| (a.device.clone(), a.metric.clone(), a.change))
            .collect()
    };

    // Day 1: 50 clean PLCs, every metric 0 of 50 → 100.
    let c = on(1);
    assert_eq!((c.from, c.to), (None, Some(100.0)));
    assert_eq!(
        c.reasons,
        [
            Reason::VulnerabilityDataChanged {
                from: None,
                to: Some("2026.11.1".into())
            },
            Reason::DevicesAdded { count: 50 }
        ]
    );
    assert!(c.top_assets.is_empty(), "no device is affected");

    // Day 3: 150 Telnet PLCs added; insecure protocols 150 of 200 → progress 25;
    // score = (2200 − 2·75)/22 = 2050/22 = 93.18. 150 assets changed, the first 100 named.
    let c = on(3);
    assert!(close(c.to, 2050.0 / 22.0), "{:?}", c.to);
    assert_eq!(c.reasons, [Reason::DevicesAdded { count: 150 }]);
    assert_eq!(c.top_assets.len(), 100);
    let expected: Vec<_> = (50..150)
        .map(|i| {
            (
                id(i),
                "ot-insecure-protocols".to_owned(),
                AssetChangeKind::Added,
            )
        })
        .collect();
    assert_eq!(kinds(c), expected);

    // Day 5: 50 fixed (insecure 100 of 200 → 50), device 20 written from IT (IT write 1 of
    // 200 → 99.5): score = (2200 − 2·50 − 3·0.5)/22 = 2098.5/22 = 95.39.
    // The IT-write change (weight high) comes before the fixes (medium).
    let c = on(5);
    assert!(close(c.to, 2098.5 / 22.0), "{:?}", c.to);
    assert_eq!(
        c.reasons,
        [
            Reason::DevicesFixed { count: 50 },
            Reason::DevicesNewlyAffected { count: 1 }
        ]
    );
    let mut expected = vec![(
        id(20),
        "ot-it-write-access".to_owned(),
        AssetChangeKind::NewlyAffected,
    )];
    expected.extend((50..100).map(|i| {
        (
            id(i),
            "ot-insecure-protocols".to_owned(),
            AssetChangeKind::Fixed,
        )
    }));
    assert_eq!(kinds(c), expected);

    // Day 7: insecure protocols weighs 3: Σw = 23; (2300 − 3·50 − 3·0.5)/23 = 2148.5/23 = 93.41.
    let c = on(7);
    assert!(close(c.to, 2148.5 / 23.0), "{:?}", c.to);
    assert_eq!(
        c.reasons,
        [Reason::WeightChanged {
            metric: "ot-insecure-protocols".into(),
            from: Weight::Medium,
            to: Weight::High
        }]
    );
    assert!(c.top_assets.is_empty());

    // Day 9: Telnet risk accepted: its 100 devices no longer count; nothing was fixed.
    // score = (2300 − 3·0.5)/23 = 2298.5/23 = 99.93.
    let c = on(9);
    assert!(close(c.to, 2298.5 / 23.0), "{:?}", c.to);
    assert_eq!(
        c.reasons,
        [Reason::RecommendationStateChanged {
            recommendation: "telnet-disable".into(),
            from: StateKind::Active,
            to: StateKind::RiskAccepted
        }]
    );
    let expected: Vec<_> = (100..200)
        .map(|i| {
            (
                id(i),
                "ot-insecure-protocols".to_owned(),
                AssetChangeKind::Accepted,
            )
        })
        .collect();
    assert_eq!(kinds(c), expected);

    // Day 11: the new TI package gives devices 0..10 a KEV vulnerability: 10 of 200 → 95;
    // score = (2300 − 1.5 − 3·5)/23 = 2283.5/23 = 99.28.
    let c = on(11);
    assert!(close(c.to, 2283.5 / 23.0), "{:?}", c.to);
    assert_eq!(
        c.reasons,
        [
            Reason::VulnerabilityDataChanged {
                from: Some("2026.11.1".into()),
                to: Some("2026.11.2".into())
            },
            Reason::DevicesNewlyAffected { count: 10 },
        ]
    );
    let expected: Vec<_> = (0..10)
        .map(|i| {
            (
                id(i),
                "ot-known-exploited".to_owned(),
                AssetChangeKind::NewlyAffected,
            )
        })
        .collect();
    assert_eq!(kinds(c), expected);

    // Day 13: 20 removed, 5 of them affected. Total 180: KEV 5 of 180 → 97.22 (deficit
    // 2.78·3 = 8.33), IT write 1 of 180 → 99.44 (deficit 0.56·3 = 1.67):
    // score = (2300 − 8.33 − 1.67)/23 = 2290/23 = 99.57.
    let c = on(13);
    assert!(close(c.to, 2290.0 / 23.0), "{:?}", c.to);
    assert_eq!(c.reasons, [Reason::DevicesRemoved { count: 20 }]);
    let expected: Vec<_> = (0..5)
        .map(|i| {
            (
                id(i),
                "ot-known-exploited".to_owned(),
                AssetChangeKind::Removed,
            )
        })
        .collect();
    assert_eq!(kinds(c), expected);

    // Every reason reads as a sentence.
    assert_eq!(on(3).reasons[0].describe(), "150 devices added.");
    assert_eq!(on(13).reasons[0].describe(), "20 devices removed.");
    assert_eq!(on(5).reasons[1].describe(), "1 device newly affected.");
    assert_eq!(
        on(9).reasons[0].describe(),
        "Recommendation telnet-disable changed from active to risk accepted."
    );
}

#[test]
fn trend_drift_and_score_drops() {
    let changes = simulate();
    let points: Vec<(Timestamp, Option<f64>)> =
        changes.iter().map(|(_, c)| (c.time, c.to)).collect();
    let now = Timestamp(noon(14).0 + 6 * 3_600 * 1_000_000_000);
    let day_scores = [
        100.0,         // day 1
        100.0,         // day 2 carries day 1
        2050.0 / 22.0, // day 3
        2050.0 / 22.0, // day 4
        2098.5 / 22.0, // day 5
        2098.5 / 22.0, // day 6
        2148.5 / 23.0, // day 7
        2148.5 / 23.0, // day 8
        2298.5 / 23.0, // day 9
        2298.5 / 23.0, // day 10
        2283.5 / 23.0, // day 11
        2283.5 / 23.0, // day 12
        2290.0 / 23.0, // day 13
        2290.0 / 23.0, // day 14
    ];
    let t = trend(&points, now, 14);
    assert_eq!(t.len(), 14);
    for (i, (point, expected)) in t.iter().zip(day_scores).enumerate() {
        assert_eq!(
            point.day_start,
            Timestamp((FIRST_DAY + i as i64) * DAY),
            "day {}",
            i + 1
        );
        assert!(
            close(point.score, expected),
            "day {}: {:?} vs {expected}",
            i + 1,
            point.score
        );
    }
    // Days before the first point are None.
    let t = trend(&points, now, 16);
    assert_eq!((t[0].score, t[1].score), (None, None));
    assert!(close(t[2].score, 100.0));

    // Drift over 14 days: nothing was known 14 days before now (day 0) → None.
    assert_eq!(drift(&points, now, 14), None);
    // Over 13 days: day 14 (99.57) − day 1 (100) = −0.43.
    assert!(close(drift(&points, now, 13), 2290.0 / 23.0 - 100.0));
    // Over 5 days: day 14 − day 9 (99.93) = 2290/23 − 2298.5/23 = −8.5/23 = −0.37.
    assert!(close(drift(&points, now, 5), -8.5 / 23.0));

    // Score drops of 2 points or more within a day, checked as each point arrives: day 3 only
    // (100 → 93.18, the day-1 score still in force 24 hours before). Day 7 falls 95.39 → 93.41
    // = 1.97 points: no event. Day 11 falls 0.65: no event.
    let mut events = Vec::new();
    for n in 1..=points.len() {
        if let Some(drop) = score_drop(&points[..n]) {
            events.push((changes[n - 1].0, drop));
        }
    }
    assert_eq!(events.len(), 1, "{events:?}");
    let (day, drop) = events[0];
    assert_eq!(day, 3);
    assert_eq!(drop.from, 100.0);
    assert!((drop.to - 2050.0 / 22.0).abs() < 1e-9);
    assert_eq!(drop.since, Timestamp(noon(3).0 - DAY));
}
