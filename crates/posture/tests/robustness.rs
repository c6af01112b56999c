//! Hostile and degenerate inputs: no panic anywhere, whatever the caller, the data files or the
//! stored history hold.

use std::net::IpAddr;

use ironward_model::{Finding, Timestamp};
use ironward_posture::{
    compare, device_scores, drift, evaluate, score_drop, trend, Asset, AssetService,
    AssetVulnerability, Authorization, Catalog, Domain, EndOfSupport, RecommendationState, Rule,
    Settings, Snapshot, StateKind, Weight,
};

/// xorshift64*: reproducible without a dependency.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const TEXTS: &[&str] = &[
    "",
    " ",
    "Windows XP",
    "wINDOWS 8.1",
    "S7-300",
    "s7-200 smart",
    "Siemens",
    "SIEMENS AG",
    "ünïcödé Σ S7-300",
    "\u{0}\u{7f}\u{ffff}",
    "windows server 2008 r2 / s7-300 / siemens",
];

fn hostile_asset(random: &mut Random, i: usize) -> Asset {
    let domains = [Domain::Ot, Domain::EnterpriseIot, Domain::It];
    // Some ids repeat: a caller's duplicate must not break anything.
    let id = if random.below(5) == 0 {
        "dup".to_owned()
    } else {
        format!("id-{i}")
    };
    let mut a = Asset::new(id, *random.pick(&domains));
    let text = |random: &mut Random| {
        if random.below(3) == 0 {
            None
        } else {
            Some((*random.pick(TEXTS)).to_owned())
        }
    };
    a.os = text(random);
    a.vendor = text(random);
    a.model = text(random);
    a.device_type = text(random);
    a.purdue_level = Some(random.next() as u8);
    a.ip = Some(IpAddr::from([255, 255, 255, 255]));
    for f in Finding::ALL {
        if random.below(3) == 0 {
            a.findings.push(f);
            a.findings.push(f);
        }
    }
    let cvss = [
        Some(f32::NAN),
        Some(f32::INFINITY),
        Some(-1.0),
        Some(9.0),
        Some(8.99),
        None,
    ];
    for _ in 0..random.below(4) {
        a.vulnerabilities.push(AssetVulnerability {
            cve: String::new(),
            cvss: *random.pick(&cvss),
            kev: random.below(2) == 0,
        });
    }
    let protocols = [
        None,
        Some(String::new()),
        Some("http".to_owned()),
        Some("HTTP".to_owned()),
    ];
    for _ in 0..random.below(3) {
        let s = AssetService {
            transport: String::new(),
            port: random.next() as u16,
            protocol: random.pick(&protocols).clone(),
        };
        a.services.push(s.clone());
        a.unused_services.push(s);
    }
    a.authorized = *random.pick(&[
        Authorization::Authorized,
        Authorization::Unauthorized,
        Authorization::Unknown,
    ]);
    if random.below(2) == 0 {
        a.internet_peers.push(IpAddr::from([0, 0, 0, 0]));
        a.it_write_sources.push(String::new());
    }
    a
}

#[test]
fn evaluation_survives_hostile_assets_and_settings() {
    let mut random = Random(7);
    let catalog = Catalog::builtin();
    for round in 0..40 {
        let assets: Vec<Asset> = (0..random.below(60))
            .map(|i| hostile_asset(&mut random, i))
            .collect();
        let mut settings = Settings {
            now: *random.pick(&[Timestamp(i64::MIN), Timestamp(0), Timestamp(i64::MAX)]),
            ..Settings::default()
        };
        settings
            .weights
            .insert("no-such-metric".into(), Weight::High);
        settings.weights.insert(
            "ot-insecure-protocols".into(),
            *random.pick(&[Weight::RiskAccepted, Weight::Low]),
        );
        settings.targets.insert("ot-security".into(), f64::NAN);
        for rec in [
            "no-such-recommendation",
            "telnet-disable",
            "vulnerabilities-kev",
        ] {
            settings.states.push(RecommendationState {
                recommendation: rec.into(),
                kind: *random.pick(&[
                    StateKind::Active,
                    StateKind::Resolved,
                    StateKind::RiskAccepted,
                    StateKind::Exception,
                ]),
                reason: String::new(),
                author: String::new(),
                set_at: Timestamp(random.next() as i64),
                expires_at: *random.pick(&[
                    None,
                    Some(Timestamp(i64::MIN)),
                    Some(Timestamp(i64::MAX)),
                ]),
            });
        }
        let posture = evaluate(&assets, catalog, &settings);
        for initiative in &posture.initiatives {
            if let Some(score) = initiative.score {
                assert!(
                    (0.0..=100.0).contains(&score),
                    "round {round}: score {score}"
                );
            }
            for m in &initiative.metrics {
                assert!(m.affected <= m.total);
                assert!(m.progress.is_none_or(|p| (0.0..=100.0).contains(&p)));
                assert!(m.score_impact >= 0.0 && m.score_impact.is_finite());
            }
        }
        for r in &posture.recommendations {
            assert!(
                r.score_impact >= 0.0 && r.score_impact.is_finite(),
                "{}: {}",
                r.id,
                r.score_impact
            );
        }
        for d in device_scores(&assets, &posture) {
            assert!((0.0..=100.0).contains(&d.score));
        }
        let snapshots: Vec<Snapshot> = posture
            .initiatives
            .iter()
            .map(|i| Snapshot::of(i, &settings, Some(""), settings.now))
            .collect();
        for (a, b) in snapshots.iter().zip(snapshots.iter().rev()) {
            let _ = compare(Some(a), b);
            let _ = compare(None, b);
        }
    }
}

#[test]
fn history_survives_any_points() {
    let mut random = Random(11);
    let scores = [
        None,
        Some(f64::NAN),
        Some(f64::INFINITY),
        Some(-5.0),
        Some(50.0),
        Some(100.0),
    ];
    let times = [i64::MIN, -1, 0, 1, i64::MAX];
    for _ in 0..200 {
        let points: Vec<(Timestamp, Option<f64>)> = (0..random.below(8))
            .map(|_| {
                let time = if random.below(2) == 0 {
                    *random.pick(&times)
                } else {
                    random.next() as i64
                };
                (Timestamp(time), *random.pick(&scores))
            })
            .collect();
        let now = Timestamp(*random.pick(&times));
        let days = *random.pick(&[0u32, 1, 14, u32::MAX / 1_000_000]);
        assert_eq!(trend(&points, now, days).len(), days as usize);
        let _ = drift(&points, now, days);
        let _ = score_drop(&points);
    }
}

#[test]
fn data_files_that_do_not_parse_are_errors() {
    let recs = include_str!("../data/recommendations.toml");
    let inits = include_str!("../data/initiatives.toml");
    let eos = include_str!("../data/end_of_support.csv");
    let mut random = Random(3);
    for _ in 0..150 {
        // Truncated, or a byte replaced, somewhere in one of the three files.
        let mutate = |text: &str, random: &mut Random| -> String {
            let mut bytes = text.as_bytes().to_vec();
            let at = random.below(bytes.len());
            if random.below(2) == 0 {
                bytes.truncate(at);
            } else {
                bytes[at] = *random.pick(b"\"[]=,|\n#x\xff");
            }
            String::from_utf8_lossy(&bytes).into_owned()
        };
        let which = random.below(3);
        let (r, i, e) = match which {
            0 => (mutate(recs, &mut random), inits.to_owned(), eos.to_owned()),
            1 => (recs.to_owned(), mutate(inits, &mut random), eos.to_owned()),
            _ => (recs.to_owned(), inits.to_owned(), mutate(eos, &mut random)),
        };
        if let Err(error) = Catalog::parse(&r, &i, &e) {
            assert!(!error.to_string().is_empty());
        }
    }
    for text in [
        "|",
        "||",
        "finding:",
        "finding:a|",
        " | finding:x",
        "service:",
        "\u{0}",
        "vulnerability:critical |",
    ] {
        assert!(Rule::parse(text).is_err(), "{text:?}");
    }
    assert!(EndOfSupport::parse("not,a,header\n1,2,3\n").is_err());
    assert!(EndOfSupport::parse("")
        .map(|t| t.entries.is_empty())
        .unwrap_or(false));
}
