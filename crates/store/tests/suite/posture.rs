//! Exposure management (migration 9): recommendation states, metric weights and initiative
//! targets written with their audit record, favourites per user, the score history (retention,
//! points, paged changes, snapshots) and the posture view of the inventory, each within the
//! caller's sites.

use ironward_model::{EventCategory, Service, Timestamp};
use ironward_store::{
    AssetAuthorization, AssetVulnerabilityRow, BaselineImport, ChangedBy, DeviceMatchResult,
    IngestOutcome, NewPackage, NewScoreSnapshot, PackageCounts, PostureAssetRow,
    RecommendationStateChange, Scope, SensorRecord, SiteId, Store, StoreError, UserId,
    VulnerabilityMatch,
};

use crate::fixtures::{batch, connection, device, event, sensor, t, world};
use crate::support::on_both;

async fn user(store: &Store, name: &str, sites: &[SiteId]) -> UserId {
    store
        .create_user(name, "analyst", sites, "$argon2id$x", t(0))
        .await
        .unwrap()
        .id
}

fn by(user: UserId, name: &str) -> ChangedBy<'_> {
    ChangedBy {
        user_id: user,
        name,
        address: "192.0.2.7",
    }
}

fn state<'a>(
    recommendation: &'a str,
    site: Option<SiteId>,
    kind: &'a str,
    reason: &'a str,
) -> RecommendationStateChange<'a> {
    RecommendationStateChange {
        recommendation,
        site,
        kind,
        reason,
        expires_at: None,
    }
}

/// The audit log's (action, target, detail, user), oldest first.
async fn audit(store: &Store) -> Vec<(String, String, String, Option<String>)> {
    let mut page = store.list_audit(1_000, 0).await.unwrap().items;
    page.reverse();
    page.into_iter()
        .map(|e| (e.action, e.target, e.detail, e.user_name))
        .collect()
}

async fn recommendation_states(store: Store) {
    let w = world(&store).await;
    let admin = user(&store, "admin", &[]).await;
    let alice = user(&store, "alice", &[w.site_a]).await;
    let only_a = Scope::Sites(vec![w.site_a]);
    let telnet = "telnet-require-authentication";

    // A state for site A, set by a user of site A, audited with it.
    let set = store
        .set_recommendation_state(
            &only_a,
            by(alice, "alice"),
            &RecommendationStateChange {
                expires_at: Some(t(7_200)),
                ..state(
                    telnet,
                    Some(w.site_a),
                    "risk_accepted",
                    "  isolated test bench ",
                )
            },
            t(10),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            set.site_id,
            set.kind.as_str(),
            set.reason.as_str(),
            set.author.as_str(),
            set.set_at,
            set.expires_at
        ),
        (
            Some(w.site_a),
            "risk_accepted",
            "isolated test bench",
            "alice",
            t(10),
            Some(t(7_200))
        )
    );
    assert_eq!(
        audit(&store).await,
        [(
            "recommendation.state".to_owned(),
            format!("recommendation:{telnet} site:{}", w.site_a),
            format!(
                "active -> risk_accepted until {}: isolated test bench",
                t(7_200).as_nanos()
            ),
            Some("alice".to_owned())
        )]
    );

    // Refusals change nothing and record nothing.
    let refused = [
        (&only_a, state(telnet, Some(w.site_b), "exception", "x")),
        (&only_a, state(telnet, None, "exception", "x")),
        (
            &Scope::All,
            state(telnet, Some(SiteId(9_999)), "exception", "x"),
        ),
        (&Scope::All, state(telnet, Some(w.site_a), "resolved", "x")),
        (
            &Scope::All,
            state(telnet, Some(w.site_a), "exception", "   "),
        ),
        (
            &Scope::All,
            state("bad id!", Some(w.site_a), "exception", "x"),
        ),
        (&Scope::All, state("", Some(w.site_a), "exception", "x")),
        (
            &Scope::All,
            state(telnet, Some(w.site_a), "exception", "a\u{7}b"),
        ),
    ];
    for (scope, change) in &refused {
        let r = store
            .set_recommendation_state(scope, by(admin, "admin"), change, t(11))
            .await;
        assert!(
            matches!(r, Err(StoreError::NotFound | StoreError::Invalid(_))),
            "{change:?}: {r:?}"
        );
    }
    let long = "r".repeat(1_001);
    let r = store
        .set_recommendation_state(
            &Scope::All,
            by(admin, "admin"),
            &state(telnet, Some(w.site_a), "exception", &long),
            t(11),
        )
        .await;
    assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
    let past = RecommendationStateChange {
        expires_at: Some(t(11)),
        ..state(telnet, Some(w.site_a), "exception", "x")
    };
    let r = store
        .set_recommendation_state(&Scope::All, by(admin, "admin"), &past, t(11))
        .await;
    assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
    assert_eq!(audit(&store).await.len(), 1);

    // An exception for every site (an administrator), another recommendation for site B.
    store
        .set_recommendation_state(
            &Scope::All,
            by(admin, "admin"),
            &state(telnet, None, "exception", "vendor contract"),
            t(20),
        )
        .await
        .unwrap();
    store
        .set_recommendation_state(
            &Scope::All,
            by(admin, "admin"),
            &state(
                "vnc-require-authentication",
                Some(w.site_b),
                "exception",
                "b only",
            ),
            t(21),
        )
        .await
        .unwrap();

    // In force for site A: its own telnet state shadows the one for every site.
    let a = store
        .recommendation_states(&only_a, Some(w.site_a))
        .await
        .unwrap();
    assert_eq!(a.len(), 1);
    assert_eq!(
        (a[0].kind.as_str(), a[0].site_id),
        ("risk_accepted", Some(w.site_a))
    );
    // Site B (administrator): the one for every site and its own VNC one.
    let b = store
        .recommendation_states(&Scope::All, Some(w.site_b))
        .await
        .unwrap();
    let b: Vec<(&str, Option<SiteId>)> = b
        .iter()
        .map(|s| (s.recommendation.as_str(), s.site_id))
        .collect();
    assert_eq!(
        b,
        [
            (telnet, None),
            ("vnc-require-authentication", Some(w.site_b))
        ]
    );
    // Every site: only the one for every site.
    let all = store
        .recommendation_states(&Scope::All, None)
        .await
        .unwrap();
    assert_eq!((all.len(), all[0].kind.as_str()), (1, "exception"));
    // Alice never reads site B's.
    assert!(matches!(
        store.recommendation_states(&only_a, Some(w.site_b)).await,
        Err(StoreError::NotFound)
    ));
    let visible = store.list_recommendation_states(&only_a).await.unwrap();
    assert_eq!(
        visible.iter().map(|s| s.site_id).collect::<Vec<_>>(),
        [None, Some(w.site_a)]
    );
    assert_eq!(
        store
            .list_recommendation_states(&Scope::All)
            .await
            .unwrap()
            .len(),
        3
    );

    // Changing a state replaces it; "active" clears it; clearing again records nothing.
    let changed = store
        .set_recommendation_state(
            &only_a,
            by(alice, "alice"),
            &state(telnet, Some(w.site_a), "exception", "approved by OT lead"),
            t(30),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (changed.kind.as_str(), changed.expires_at),
        ("exception", None)
    );
    let cleared = store
        .set_recommendation_state(
            &only_a,
            by(alice, "alice"),
            &state(telnet, Some(w.site_a), "active", ""),
            t(31),
        )
        .await
        .unwrap();
    assert!(cleared.is_none());
    let again = store
        .set_recommendation_state(
            &only_a,
            by(alice, "alice"),
            &state(telnet, Some(w.site_a), "active", ""),
            t(32),
        )
        .await
        .unwrap();
    assert!(again.is_none());
    let log = audit(&store).await;
    let details: Vec<&str> = log.iter().map(|e| e.2.as_str()).collect();
    assert_eq!(
        details[3..],
        [
            "risk_accepted -> exception: approved by OT lead",
            "exception -> active"
        ]
    );
    // Site A now sees the state for every site again.
    let a = store
        .recommendation_states(&only_a, Some(w.site_a))
        .await
        .unwrap();
    assert_eq!((a.len(), a[0].site_id), (1, None));
}
on_both!(
    recommendation_states_audited_and_scoped,
    super::recommendation_states
);

async fn weights_targets_and_favourites(store: Store) {
    let w = world(&store).await;
    let admin = user(&store, "admin", &[]).await;
    let bob = user(&store, "bob", &[w.site_b]).await;
    let metric = "ot-critical-vulnerabilities";

    store
        .set_metric_weight(&Scope::All, by(admin, "admin"), metric, Some("high"), t(1))
        .await
        .unwrap();
    store
        .set_metric_weight(
            &Scope::All,
            by(admin, "admin"),
            metric,
            Some("risk_accepted"),
            t(2),
        )
        .await
        .unwrap();
    // The same weight again changes nothing and records nothing.
    store
        .set_metric_weight(
            &Scope::All,
            by(admin, "admin"),
            metric,
            Some("risk_accepted"),
            t(3),
        )
        .await
        .unwrap();
    store
        .set_metric_weight(
            &Scope::All,
            by(admin, "admin"),
            "unauthorized-devices",
            Some("low"),
            t(4),
        )
        .await
        .unwrap();
    for (scope, weight) in [
        (Scope::All, Some("huge")),
        (Scope::Sites(vec![w.site_b]), Some("low")),
    ] {
        let r = store
            .set_metric_weight(&scope, by(bob, "bob"), metric, weight, t(5))
            .await;
        assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
    }
    let weights = store.metric_weights().await.unwrap();
    let weights: Vec<(&str, &str, &str, Timestamp)> = weights
        .iter()
        .map(|w| {
            (
                w.metric.as_str(),
                w.weight.as_str(),
                w.set_by.as_str(),
                w.set_at,
            )
        })
        .collect();
    assert_eq!(
        weights,
        [
            (metric, "risk_accepted", "admin", t(2)),
            ("unauthorized-devices", "low", "admin", t(4))
        ]
    );
    // Back to the default.
    store
        .set_metric_weight(&Scope::All, by(admin, "admin"), metric, None, t(6))
        .await
        .unwrap();
    assert_eq!(store.metric_weights().await.unwrap().len(), 1);

    store
        .set_initiative_target(
            &Scope::All,
            by(admin, "admin"),
            "ot-security",
            Some(85.5),
            t(7),
        )
        .await
        .unwrap();
    for target in [Some(100.5), Some(-1.0), Some(f64::NAN)] {
        let r = store
            .set_initiative_target(&Scope::All, by(admin, "admin"), "ot-security", target, t(8))
            .await;
        assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
    }
    let r = store
        .set_initiative_target(
            &Scope::Sites(vec![w.site_b]),
            by(bob, "bob"),
            "ot-security",
            Some(10.0),
            t(8),
        )
        .await;
    assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
    let targets = store.initiative_targets().await.unwrap();
    assert_eq!(
        (
            targets.len(),
            targets[0].initiative.as_str(),
            targets[0].target
        ),
        (1, "ot-security", 85.5)
    );

    let log = audit(&store).await;
    let got: Vec<(&str, &str, &str)> = log
        .iter()
        .map(|e| (e.0.as_str(), e.1.as_str(), e.2.as_str()))
        .collect();
    let target = format!("metric:{metric}");
    assert_eq!(
        got,
        [
            ("metric.weight", target.as_str(), "default -> high"),
            ("metric.weight", target.as_str(), "high -> risk_accepted"),
            (
                "metric.weight",
                "metric:unauthorized-devices",
                "default -> low"
            ),
            ("metric.weight", target.as_str(), "risk_accepted -> default"),
            (
                "initiative.target",
                "initiative:ot-security",
                "default -> 85.5"
            ),
        ]
    );

    // Favourites are per user.
    store
        .add_favourite_initiative(admin, "ot-security", t(1))
        .await
        .unwrap();
    store
        .add_favourite_initiative(admin, "ot-security", t(2))
        .await
        .unwrap();
    store
        .add_favourite_initiative(admin, "enterprise-iot-security", t(3))
        .await
        .unwrap();
    store
        .add_favourite_initiative(bob, "enterprise-iot-security", t(3))
        .await
        .unwrap();
    assert_eq!(
        store.favourite_initiatives(admin).await.unwrap(),
        ["enterprise-iot-security", "ot-security"]
    );
    store
        .remove_favourite_initiative(admin, "enterprise-iot-security")
        .await
        .unwrap();
    store
        .remove_favourite_initiative(admin, "never-added")
        .await
        .unwrap();
    assert_eq!(
        store.favourite_initiatives(admin).await.unwrap(),
        ["ot-security"]
    );
    assert_eq!(
        store.favourite_initiatives(bob).await.unwrap(),
        ["enterprise-iot-security"]
    );
    assert!(matches!(
        store
            .add_favourite_initiative(UserId(9_999), "ot-security", t(4))
            .await,
        Err(StoreError::NotFound)
    ));
    for i in 1..100 {
        store
            .add_favourite_initiative(admin, &format!("i-{i:03}"), t(5))
            .await
            .unwrap();
    }
    assert!(matches!(
        store
            .add_favourite_initiative(admin, "one-too-many", t(6))
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.favourite_initiatives(admin).await.unwrap().len(), 100);
    // Favourites go with their user.
    store.delete_user(bob).await.unwrap();
    assert!(store.favourite_initiatives(bob).await.unwrap().is_empty());
}
on_both!(
    weights_targets_favourites,
    super::weights_targets_and_favourites
);

fn snapshot<'a>(
    site: Option<SiteId>,
    at: i64,
    score: Option<f64>,
    json: &'a str,
    change: Option<&'a str>,
) -> NewScoreSnapshot<'a> {
    NewScoreSnapshot {
        initiative: "ot-security",
        site,
        at: t(at),
        score,
        snapshot: json,
        change,
        score_drop: false,
    }
}

async fn score_history(store: Store) {
    let w = world(&store).await;
    let only_a = Scope::Sites(vec![w.site_a]);
    let a = Some(w.site_a);
    let day = 86_400;

    // Site A: a first state (no change to show), then changes over days.
    store
        .append_score_snapshot(&snapshot(a, 0, None, r#"{"n":0}"#, None))
        .await
        .unwrap();
    for d in 1..=5_i64 {
        let json = format!(r#"{{"n":{d}}}"#);
        let change = format!(r#"{{"day":{d}}}"#);
        let mut row = snapshot(a, d * day, Some(50.0 + d as f64), &json, Some(&change));
        row.score_drop = d == 5;
        store.append_score_snapshot(&row).await.unwrap();
    }
    // Site B and every site have series of their own.
    store
        .append_score_snapshot(&snapshot(Some(w.site_b), day, Some(10.0), "{}", Some("{}")))
        .await
        .unwrap();
    store
        .append_score_snapshot(&snapshot(
            None,
            day,
            Some(30.0),
            r#"{"all":true}"#,
            Some("[]"),
        ))
        .await
        .unwrap();

    // Points from day 2 to day 4 are led by the score in force at day 2's start (day 1's).
    let points = store
        .score_points(&only_a, "ot-security", a, t(2 * day - 1), t(4 * day))
        .await
        .unwrap();
    let got: Vec<(Timestamp, Option<f64>)> = points.iter().map(|p| (p.at, p.score)).collect();
    assert_eq!(
        got,
        [
            (t(day), Some(51.0)),
            (t(2 * day), Some(52.0)),
            (t(3 * day), Some(53.0)),
            (t(4 * day), Some(54.0))
        ]
    );
    let all = store
        .score_points(&only_a, "ot-security", a, t(0), t(10 * day))
        .await
        .unwrap();
    assert_eq!((all.len(), all[0].score), (6, None));

    // Changes: newest first, paged, the first state (no change) not among them.
    let page = store
        .score_changes(&only_a, "ot-security", a, 2, 0)
        .await
        .unwrap();
    assert_eq!(page.total, 5);
    let got: Vec<(&str, bool)> = page
        .items
        .iter()
        .map(|c| (c.change.as_str(), c.score_drop))
        .collect();
    assert_eq!(got, [(r#"{"day":5}"#, true), (r#"{"day":4}"#, false)]);
    let last = store
        .score_changes(&only_a, "ot-security", a, 2, 4)
        .await
        .unwrap();
    assert_eq!(
        (
            last.items.len(),
            last.items[0].change.as_str(),
            last.items[0].score
        ),
        (1, r#"{"day":1}"#, Some(51.0))
    );

    // Snapshots: the newest, and the one in force at a time.
    let latest = store
        .latest_score_snapshot(&only_a, "ot-security", a)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (latest.snapshot.as_str(), latest.score),
        (r#"{"n":5}"#, Some(55.0))
    );
    let then = store
        .score_snapshot_at(&only_a, "ot-security", a, t(3 * day - 1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (then.snapshot.as_str(), then.at),
        (r#"{"n":2}"#, t(2 * day))
    );
    assert!(store
        .score_snapshot_at(&only_a, "ot-security", a, t(-1))
        .await
        .unwrap()
        .is_none());
    assert!(store
        .latest_score_snapshot(&Scope::All, "enterprise-iot-security", a)
        .await
        .unwrap()
        .is_none());
    let every = store
        .latest_score_snapshot(&Scope::All, "ot-security", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(every.snapshot, r#"{"all":true}"#);

    // A user of site A reads neither site B's series nor the one of every site.
    for site in [Some(w.site_b), None] {
        assert!(matches!(
            store
                .score_points(&only_a, "ot-security", site, t(0), t(day))
                .await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            store
                .score_changes(&only_a, "ot-security", site, 10, 0)
                .await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            store
                .latest_score_snapshot(&only_a, "ot-security", site)
                .await,
            Err(StoreError::NotFound)
        ));
    }

    // Refused rows write nothing.
    let big = format!("\"{}\"", "x".repeat(ironward_store::MAX_CHANGE_BYTES));
    for row in [
        snapshot(a, 9 * day, Some(f64::NAN), "{}", None),
        snapshot(a, 9 * day, Some(1.0), "not json", None),
        snapshot(a, 9 * day, Some(1.0), "{}", Some("{")),
        snapshot(a, 9 * day, Some(1.0), "{}", Some(&big)),
    ] {
        let r = store.append_score_snapshot(&row).await;
        assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
    }
    let r = store
        .append_score_snapshot(&snapshot(Some(SiteId(9_999)), 9 * day, None, "{}", None))
        .await;
    assert!(matches!(r, Err(StoreError::NotFound)), "{r:?}");
    assert_eq!(
        store
            .score_changes(&Scope::All, "ot-security", a, 10, 0)
            .await
            .unwrap()
            .total,
        5
    );

    // Retention: keeping 4, the oldest go (by time, not by insertion order); other series stay.
    store
        .append_score_snapshot_keeping(&snapshot(a, day / 2, Some(1.0), "{}", Some("{}")), 4)
        .await
        .unwrap();
    let kept = store
        .score_points(&Scope::All, "ot-security", a, t(0), t(10 * day))
        .await
        .unwrap();
    let got: Vec<Timestamp> = kept.iter().map(|p| p.at).collect();
    assert_eq!(got, [t(2 * day), t(3 * day), t(4 * day), t(5 * day)]);
    for site in [Some(w.site_b), None] {
        assert_eq!(
            store
                .score_points(&Scope::All, "ot-security", site, t(0), t(10 * day))
                .await
                .unwrap()
                .len(),
            1
        );
    }
    // Snapshots to the hour: of four rows in two hours, the last of the first hour and the
    // newest keep theirs; every score and change stays.
    let hour = 3_600;
    for (minute, n) in [(0, 1), (20, 2), (40, 3), (65, 4)] {
        let json = format!(r#"{{"n":{n}}}"#);
        let mut row = snapshot(
            a,
            100 * hour + minute * 60,
            Some(n as f64),
            &json,
            Some("{}"),
        );
        row.initiative = "enterprise-iot-security";
        store.append_score_snapshot(&row).await.unwrap();
    }
    let at = |minute: i64| t(100 * hour + minute * 60);
    let snapshot_at = |minute: i64| {
        let store = store.clone();
        async move {
            store
                .score_snapshot_at(&Scope::All, "enterprise-iot-security", a, at(minute))
                .await
                .unwrap()
                .map(|s| (s.at, s.snapshot))
        }
    };
    assert_eq!(snapshot_at(30).await, None);
    assert_eq!(
        snapshot_at(50).await,
        Some((at(40), r#"{"n":3}"#.to_owned()))
    );
    assert_eq!(
        snapshot_at(70).await,
        Some((at(65), r#"{"n":4}"#.to_owned()))
    );
    let iot = store
        .score_points(&Scope::All, "enterprise-iot-security", a, at(0), at(70))
        .await
        .unwrap();
    let scores: Vec<Option<f64>> = iot.iter().map(|p| p.score).collect();
    assert_eq!(scores, [Some(1.0), Some(2.0), Some(3.0), Some(4.0)]);
    assert_eq!(
        store
            .score_changes(&Scope::All, "enterprise-iot-security", a, 10, 0)
            .await
            .unwrap()
            .total,
        4
    );
    // A row of the next hour keeps the previous newest.
    let mut row = snapshot(a, 102 * hour, Some(5.0), r#"{"n":5}"#, None);
    row.initiative = "enterprise-iot-security";
    store.append_score_snapshot(&row).await.unwrap();
    assert_eq!(
        snapshot_at(70).await,
        Some((at(65), r#"{"n":4}"#.to_owned()))
    );

    // Deleting a site deletes its history.
    store.delete_site(&Scope::All, w.site_b).await.unwrap();
    assert!(matches!(
        store
            .append_score_snapshot(&snapshot(Some(w.site_b), day, None, "{}", None))
            .await,
        Err(StoreError::NotFound)
    ));
}
on_both!(score_history_retained_paged_scoped, super::score_history);

fn service(transport: &str, port: u16, protocol: Option<&str>) -> Service {
    Service {
        transport: transport.to_owned(),
        port,
        protocol: protocol.map(str::to_owned),
    }
}

fn vulnerability(cve: &str, cvss: Option<f32>, kev: bool) -> VulnerabilityMatch {
    VulnerabilityMatch {
        cve: cve.to_owned(),
        cvss,
        kev,
        advisories: vec!["ICSA-00-000-00".to_owned()],
        product: "Controller".to_owned(),
        versions: "<2.0".to_owned(),
        fixed_in: vec!["2.0".to_owned()],
        confidence: "high".to_owned(),
        reason: "model and firmware".to_owned(),
    }
}

async fn ingest(store: &Store, s: &SensorRecord, b: ironward_model::Batch) {
    let outcome = store.ingest_batch(s.id, &b, t(100)).await;
    assert!(
        matches!(outcome, Ok(IngestOutcome::Committed(_))),
        "{outcome:?}"
    );
}

fn find<'a>(assets: &'a [PostureAssetRow], id: &str) -> &'a PostureAssetRow {
    assets
        .iter()
        .find(|a| a.id == id)
        .unwrap_or_else(|| panic!("{id} missing"))
}

fn ids(assets: &[PostureAssetRow]) -> Vec<&str> {
    let mut ids: Vec<&str> = assets.iter().map(|a| a.id.as_str()).collect();
    ids.sort_unstable();
    ids
}

async fn posture_assets(store: Store) {
    let w = world(&store).await;
    let site_c = store.create_site("Plant C", t(0)).await.unwrap();
    let zone_c = store
        .create_zone(&Scope::All, site_c.id, "C1", t(0))
        .await
        .unwrap();
    sensor(&store, site_c.id, zone_c.id, "sc").await;
    let sa = sensor(&store, w.site_a, w.zone_a1, "sa").await;
    let sb = sensor(&store, w.site_b, w.zone_b1, "sb").await;
    let only_a = Scope::Sites(vec![w.site_a]);

    // Nothing reported yet: "more data is required" everywhere.
    assert!(!store.sensors_reported(&Scope::All, None).await.unwrap());

    // Site A learned until 50 s; site B never learned.
    store
        .set_site_learning(&Scope::All, w.site_a, t(50))
        .await
        .unwrap();
    let mut plc = device("10.0.0.1", 0, 90);
    plc.hostnames = vec!["plc-1".to_owned(), "zz-plc".to_owned()];
    plc.device_type = Some("plc".to_owned());
    plc.vendor = Some("Acme".to_owned());
    plc.model = Some("C-100".to_owned());
    plc.firmware = Some("1.2".to_owned());
    plc.os = Some("RTOS".to_owned());
    plc.purdue_level = Some(1);
    plc.protocols.server = vec!["modbus".to_owned(), "telnet".to_owned()];
    plc.services = vec![
        service("tcp", 23, None),
        service("tcp", 502, Some("modbus")),
        service("tcp", 8080, None),
        service("udp", 161, None),
    ];
    plc.findings = vec![
        "telnet_in_use".to_owned(),
        "telnet_without_authentication".to_owned(),
    ];
    let mut ws = device("10.0.0.5", 10, 95);
    ws.device_type = Some("workstation".to_owned());
    ws.purdue_level = Some(4);
    ws.protocols.client = vec!["modbus".to_owned()];
    let hmi = device("10.0.0.9", 60, 99);
    let known = device("10.0.0.10", 70, 99);
    let mut b = batch("a1", vec![plc, ws, hmi, known]);
    let mut to_internet = connection("10.0.0.1", "8.8.8.8", 443, 20, 1, 2);
    to_internet.b = None;
    let mut from_internet = connection("1.1.1.1", "10.0.0.1", 502, 20, 1, 2);
    from_internet.a = None;
    let mut documentation = connection("10.0.0.1", "203.0.113.5", 80, 20, 1, 2);
    documentation.b = None;
    let mut private = connection("10.0.0.1", "192.168.1.1", 80, 20, 1, 2);
    private.b = None;
    // 8080: three frames of 60 bytes, no protocol: a port scan's handshake.
    let mut scanned = connection("10.0.0.5", "10.0.0.1", 8080, 3, 1, 2);
    scanned.protocol = None;
    scanned.bytes = 180;
    // 23: no protocol named, but 40 frames of 100 bytes carried data.
    let mut telnet = connection("10.0.0.5", "10.0.0.1", 23, 40, 1, 2);
    telnet.protocol = None;
    // 161: few frames, but large ones.
    let mut snmp = connection("10.0.0.5", "10.0.0.1", 161, 2, 1, 2);
    snmp.transport = "udp".to_owned();
    snmp.protocol = None;
    snmp.bytes = 400;
    b.connections = vec![
        to_internet,
        from_internet,
        documentation,
        private,
        connection("10.0.0.5", "10.0.0.1", 502, 100, 1, 2),
        scanned,
        telnet,
        snmp,
    ];
    let mut program = event("10.0.0.5", "10.0.0.1", "block OB1", 1, 1, 2);
    program.category = EventCategory::ProgramDownload;
    let mut read = event("10.0.0.9", "10.0.0.1", "read 40001", 1, 1, 2);
    read.category = EventCategory::Read;
    b.events = vec![
        event("10.0.0.5", "10.0.0.1", "40001=1", 3, 1, 2),
        program,
        read,
        event("10.0.0.9", "10.0.0.1", "40002=7", 1, 1, 2),
    ];
    ingest(&store, &sa, b).await;
    ingest(&store, &sb, batch("b1", vec![device("10.1.0.1", 0, 10)])).await;
    assert!(store.sensors_reported(&Scope::All, None).await.unwrap());
    assert!(store.sensors_reported(&only_a, None).await.unwrap());
    assert!(store
        .sensors_reported(&Scope::All, Some(w.site_b))
        .await
        .unwrap());
    assert!(!store
        .sensors_reported(&Scope::All, Some(site_c.id))
        .await
        .unwrap());
    assert!(matches!(
        store.sensors_reported(&only_a, Some(w.site_b)).await,
        Err(StoreError::NotFound)
    ));

    // A user learned 10.0.0.10 into site A's baseline.
    store
        .import_baseline(
            &Scope::All,
            w.site_a,
            &[BaselineImport {
                kind: "policy.new_device".to_owned(),
                src: "10.0.0.10".to_owned(),
                dst: String::new(),
                protocol: String::new(),
                detail: String::new(),
            }],
            "alice",
            t(100),
        )
        .await
        .unwrap();

    // Vulnerabilities of the PLC; one excluded by an analyst.
    let before = store.posture_assets(&Scope::All, None, None).await.unwrap();
    let plc_ref = find(&before, "ip:10.0.0.1").device;
    let package = store
        .insert_package(&NewPackage {
            file_name: "ti.iwti",
            sequence: 1,
            built_at: "2026-12-07T00:00:00Z",
            key_id: "0011223344556677",
            counts: PackageCounts {
                vulnerabilities: 3,
                affected_products: 1,
                known_exploited: 1,
                advisories: 1,
                techniques: 0,
                iocs: 0,
            },
            uploaded_by: "admin",
            uploaded_at: t(5),
            bytes: b"package",
        })
        .await
        .unwrap();
    store
        .store_matches(
            package,
            &[DeviceMatchResult {
                device: plc_ref,
                site: w.site_a,
                identity: "Acme|C-100||1.2".to_owned(),
                vulnerabilities: vec![
                    vulnerability("CVE-2024-0002", Some(9.8), true),
                    vulnerability("CVE-2024-0001", None, false),
                    vulnerability("CVE-2024-0003", Some(5.3), false),
                ],
                unmatched: None,
            }],
            t(110),
        )
        .await
        .unwrap();
    store
        .add_vulnerability_exclusion(
            &Scope::All,
            Some(plc_ref),
            "CVE-2024-0003",
            "not reachable",
            "alice",
            t(111),
        )
        .await
        .unwrap();
    let group = store.create_group("Crown jewels", "", t(0)).await.unwrap();
    store.create_group("Line 1", "", t(0)).await.unwrap();
    store
        .add_group_member(&Scope::All, group.id, plc_ref)
        .await
        .unwrap();

    // Every site: all five devices; a user of site A sees its four only.
    let all = store.posture_assets(&Scope::All, None, None).await.unwrap();
    assert_eq!(
        ids(&all),
        [
            "ip:10.0.0.1",
            "ip:10.0.0.10",
            "ip:10.0.0.5",
            "ip:10.0.0.9",
            "ip:10.1.0.1"
        ]
    );
    let a = store.posture_assets(&only_a, None, None).await.unwrap();
    assert_eq!(
        ids(&a),
        ["ip:10.0.0.1", "ip:10.0.0.10", "ip:10.0.0.5", "ip:10.0.0.9"]
    );
    assert_eq!(
        store
            .posture_assets(&only_a, Some(w.site_a), None)
            .await
            .unwrap()
            .len(),
        4
    );
    assert!(matches!(
        store.posture_assets(&only_a, Some(w.site_b), None).await,
        Err(StoreError::NotFound)
    ));
    assert!(store
        .posture_assets(&Scope::Sites(vec![]), None, None)
        .await
        .unwrap()
        .is_empty());

    let plc = find(&a, "ip:10.0.0.1");
    assert_eq!(
        (
            plc.site_id,
            plc.site.as_str(),
            plc.zone.as_str(),
            plc.ip,
            plc.name.as_deref()
        ),
        (
            w.site_a,
            "Plant A",
            "A1",
            Some("10.0.0.1".parse().unwrap()),
            Some("plc-1")
        )
    );
    assert_eq!(
        (
            plc.device_type.as_deref(),
            plc.vendor.as_deref(),
            plc.model.as_deref(),
            plc.firmware.as_deref(),
            plc.os.as_deref(),
            plc.purdue_level
        ),
        (
            Some("plc"),
            Some("Acme"),
            Some("C-100"),
            Some("1.2"),
            Some("RTOS"),
            Some(1)
        )
    );
    assert_eq!(plc.groups, ["Crown jewels"]);
    assert_eq!(plc.protocols, ["modbus", "telnet"]);
    assert_eq!(
        plc.findings,
        ["telnet_in_use", "telnet_without_authentication"]
    );
    assert_eq!(plc.services.len(), 4);
    // 8080 only: 23 carried data, 161 large frames, 502 is Modbus.
    assert_eq!(plc.unused_services, [service("tcp", 8080, None)]);
    assert_eq!(
        plc.vulnerabilities,
        [
            AssetVulnerabilityRow {
                cve: "CVE-2024-0001".to_owned(),
                cvss: None,
                kev: false
            },
            AssetVulnerabilityRow {
                cve: "CVE-2024-0002".to_owned(),
                cvss: Some(9.8),
                kev: true
            },
        ]
    );
    assert_eq!(plc.authorization, AssetAuthorization::Authorized);
    let peers: Vec<std::net::IpAddr> = vec!["1.1.1.1".parse().unwrap(), "8.8.8.8".parse().unwrap()];
    assert_eq!(plc.public_peers, peers);
    // Changes came from the workstation (write, program download) and the HMI (write); its
    // read is no change.
    type Source<'a> = (&'a str, Option<&'a str>, Option<u8>, Vec<&'a str>);
    let sources: Vec<Source> = plc
        .write_sources
        .iter()
        .map(|s| {
            (
                s.id.as_str(),
                s.device_type.as_deref(),
                s.purdue_level,
                s.categories.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        sources,
        [
            (
                "ip:10.0.0.5",
                Some("workstation"),
                Some(4),
                vec!["program_download", "write"]
            ),
            ("ip:10.0.0.9", None, None, vec!["write"]),
        ]
    );
    assert_eq!(plc.write_sources[0].protocols, ["modbus"]);
    assert_eq!((plc.first_seen, plc.last_seen), (t(0), t(90)));

    // Authorization: learned (first seen before 50 s), seen after and unknown to the baseline,
    // seen after but learned by a user, and a site that never learned.
    let auth: Vec<(&str, AssetAuthorization)> = ["ip:10.0.0.5", "ip:10.0.0.9", "ip:10.0.0.10"]
        .into_iter()
        .map(|id| (id, find(&a, id).authorization))
        .collect();
    assert_eq!(
        auth,
        [
            ("ip:10.0.0.5", AssetAuthorization::Authorized),
            ("ip:10.0.0.9", AssetAuthorization::Unauthorized),
            ("ip:10.0.0.10", AssetAuthorization::Authorized),
        ]
    );
    let b_device = find(&all, "ip:10.1.0.1");
    assert_eq!(b_device.authorization, AssetAuthorization::Unknown);
    assert!(b_device.public_peers.is_empty() && b_device.vulnerabilities.is_empty());

    // The group filter: the PLC alone, still with its write sources outside the group.
    let jewels = store
        .posture_assets(&Scope::All, None, Some(group.id))
        .await
        .unwrap();
    assert_eq!(ids(&jewels), ["ip:10.0.0.1"]);
    assert_eq!(jewels[0], *plc);
    // Site B's user does not see the group's device.
    assert!(store
        .posture_assets(&Scope::Sites(vec![w.site_b]), None, Some(group.id))
        .await
        .unwrap()
        .is_empty());
}
on_both!(posture_assets_of_a_view, super::posture_assets);
