//! Threat-intelligence packages and device vulnerabilities (migration 7): packages stored newest
//! in force, a downgrade refused in the inserting transaction, devices to match found by package
//! and identity, matches replaced per device keeping their first time, lists ordered known
//! exploited first then by CVSS within the caller's sites, and exclusions that outlive
//! re-matching.

use ironward_model::Device;
use ironward_store::{
    DeviceMatchResult, DeviceRef, IngestOutcome, NewPackage, PackageCounts, PackageId, Scope,
    SensorRecord, Severity, Store, StoreError, UnmatchedProduct, VulnerabilityMatch,
    VulnerabilityQuery,
};

use crate::fixtures::{batch, device, fact, sensor, t, world};
use crate::support::on_both;

fn plc(ip: &str, vendor: &str, model: &str, firmware: &str, code: &str) -> Device {
    let mut d = device(ip, 0, 10);
    d.vendor = Some(vendor.to_owned());
    d.model = Some(model.to_owned());
    d.firmware = Some(firmware.to_owned());
    for (attribute, value) in [
        ("vendor", vendor),
        ("model", model),
        ("firmware", firmware),
        ("product_code", code),
    ] {
        let mut f = fact(attribute, value, "s7comm.szl", 95);
        f.selected = true;
        d.facts.push(f);
    }
    d
}

async fn ingest(store: &Store, s: &SensorRecord, id: &str, devices: Vec<Device>) {
    let outcome = store.ingest_batch(s.id, &batch(id, devices), t(100)).await;
    assert!(
        matches!(outcome, Ok(IngestOutcome::Committed(_))),
        "{outcome:?}"
    );
}

fn package(sequence: u64, bytes: &[u8]) -> NewPackage<'_> {
    NewPackage {
        file_name: "ironward-ti-test.iwti",
        sequence,
        built_at: "2026-12-07T00:00:00Z",
        key_id: "0011223344556677",
        counts: PackageCounts {
            vulnerabilities: 3,
            affected_products: 4,
            known_exploited: 1,
            advisories: 2,
            techniques: 0,
            iocs: 0,
        },
        uploaded_by: "admin",
        uploaded_at: t(5),
        bytes,
    }
}

fn vuln(cve: &str, cvss: f32, kev: bool) -> VulnerabilityMatch {
    VulnerabilityMatch {
        cve: cve.to_owned(),
        cvss: Some(cvss),
        kev,
        advisories: vec!["ICSA-22-349-03".to_owned()],
        product: "SIMATIC S7-1500 CPU 1516-3 PN/DP".to_owned(),
        versions: "<V2.9.7".to_owned(),
        fixed_in: vec!["V2.9.7".to_owned()],
        confidence: "high".to_owned(),
        reason: format!("order number and firmware in <V2.9.7 ({cve})"),
    }
}

fn result(
    device: DeviceRef,
    site: ironward_store::SiteId,
    identity: &str,
    vulnerabilities: Vec<VulnerabilityMatch>,
) -> DeviceMatchResult {
    DeviceMatchResult {
        device,
        site,
        identity: identity.to_owned(),
        vulnerabilities,
        unmatched: None,
    }
}

async fn packages_matches_and_exclusions(store: Store) {
    let w = world(&store).await;
    let sa = sensor(&store, w.site_a, w.zone_a1, "sa").await;
    let sb = sensor(&store, w.site_b, w.zone_b1, "sb").await;
    ingest(
        &store,
        &sa,
        "a1",
        vec![
            plc(
                "10.0.0.1",
                "Siemens",
                "CPU 1516-3 PN/DP",
                "V2.9.4",
                "6ES7516-3AN01-0AB0",
            ),
            plc("10.0.0.2", "Acme", "Widget", "1.0", "W-1"),
        ],
    )
    .await;
    ingest(
        &store,
        &sb,
        "b1",
        vec![plc(
            "10.1.0.1",
            "Siemens",
            "CPU 1214C",
            "V4.5.0",
            "6ES7214-1AG40-0XB0",
        )],
    )
    .await;

    // Packages: the newest is in force; the same or an older sequence is refused.
    let p1 = store
        .insert_package(&package(100, b"signed one"))
        .await
        .unwrap();
    for sequence in [100, 99] {
        assert!(matches!(
            store.insert_package(&package(sequence, b"older")).await,
            Err(StoreError::Conflict(_))
        ));
    }
    assert_eq!(store.package_bytes(p1).await.unwrap(), b"signed one");
    let in_force = store.package_in_force().await.unwrap().unwrap();
    assert_eq!(
        (in_force.id, in_force.in_force, in_force.size),
        (p1, true, 10)
    );
    assert_eq!(in_force.counts.known_exploited, 1);
    assert!(matches!(
        store.package_bytes(PackageId(p1.0 + 100)).await,
        Err(StoreError::NotFound)
    ));

    // Every device is to be matched, with its identity and the facts' sources.
    let todo = store.devices_to_match(p1, DeviceRef(0), 100).await.unwrap();
    assert_eq!(todo.len(), 3);
    let s7 = todo
        .iter()
        .find(|c| c.model.as_ref().is_some_and(|m| m.0 == "CPU 1516-3 PN/DP"))
        .unwrap();
    assert_eq!(
        s7.product_code,
        Some(("6ES7516-3AN01-0AB0".to_owned(), "s7comm.szl".to_owned()))
    );
    assert_eq!(
        s7.identity,
        "Siemens|CPU 1516-3 PN/DP|6ES7516-3AN01-0AB0|V2.9.4"
    );
    let acme = todo
        .iter()
        .find(|c| c.vendor.as_ref().is_some_and(|v| v.0 == "Acme"))
        .unwrap();
    let s1200 = todo.iter().find(|c| c.site == w.site_b).unwrap();
    let paged = store.devices_to_match(p1, s7.device, 100).await.unwrap();
    assert!(paged.iter().all(|c| c.device > s7.device));

    let mut results = vec![
        result(
            s7.device,
            s7.site,
            &s7.identity,
            vec![
                vuln("CVE-2022-0001", 5.0, false),
                vuln("CVE-2022-0002", 9.8, true),
            ],
        ),
        result(
            s1200.device,
            s1200.site,
            &s1200.identity,
            vec![vuln("CVE-2022-0003", 7.5, false)],
        ),
        result(acme.device, acme.site, &acme.identity, vec![]),
    ];
    results[2].unmatched = Some(UnmatchedProduct {
        vendor: Some("Acme".to_owned()),
        model: Some("Widget".to_owned()),
        order_number: None,
        reason: "unknown_vendor".to_owned(),
        explanation: "no advisory names the vendor Acme".to_owned(),
    });
    store.store_matches(p1, &results, t(10)).await.unwrap();
    assert!(store
        .devices_to_match(p1, DeviceRef(0), 100)
        .await
        .unwrap()
        .is_empty());

    // Known exploited first, then by CVSS; the caller's sites only.
    let all = store
        .list_vulnerabilities(&VulnerabilityQuery::new(Scope::All))
        .await
        .unwrap();
    let order: Vec<&str> = all.items.iter().map(|v| v.cve.as_str()).collect();
    assert_eq!(order, ["CVE-2022-0002", "CVE-2022-0003", "CVE-2022-0001"]);
    assert_eq!(all.total, 3);
    assert_eq!(all.items[0].cvss, Some(9.8));
    assert_eq!(all.items[0].severity, Severity::Critical);
    assert_eq!(all.items[0].fixed_in, ["V2.9.7"]);
    let only_b = store
        .list_vulnerabilities(&VulnerabilityQuery::new(Scope::Sites(vec![w.site_b])))
        .await
        .unwrap();
    assert_eq!(only_b.total, 1);
    assert_eq!(only_b.items[0].cve, "CVE-2022-0003");
    let mut q = VulnerabilityQuery::new(Scope::All);
    q.severity = Some(Severity::High);
    assert_eq!(
        store.list_vulnerabilities(&q).await.unwrap().items[0].cve,
        "CVE-2022-0003"
    );
    let mut q = VulnerabilityQuery::new(Scope::All);
    q.kev = Some(true);
    assert_eq!(store.list_vulnerabilities(&q).await.unwrap().total, 1);
    let mut q = VulnerabilityQuery::new(Scope::All);
    q.cve = Some("cve-2022-0001".to_owned());
    assert_eq!(store.list_vulnerabilities(&q).await.unwrap().total, 1);
    let mut q = VulnerabilityQuery::new(Scope::All);
    q.vendor = Some("Acme".to_owned());
    assert_eq!(store.list_vulnerabilities(&q).await.unwrap().total, 0);
    let mut q = VulnerabilityQuery::new(Scope::All);
    q.site = Some(w.site_a);
    q.limit = 1;
    q.offset = 1;
    let page = store.list_vulnerabilities(&q).await.unwrap();
    assert_eq!(
        (page.total, page.items[0].cve.as_str()),
        (2, "CVE-2022-0001")
    );

    // Exclusions: a reason, a device in scope; every device only for a caller seeing all.
    let scope_a = Scope::Sites(vec![w.site_a]);
    for (scope, device, reason) in [
        (&scope_a, Some(s7.device), " "),
        (&Scope::Sites(vec![w.site_b]), Some(s7.device), "not here"),
        (&scope_a, None, "everywhere"),
    ] {
        assert!(store
            .add_vulnerability_exclusion(scope, device, "CVE-2022-0001", reason, "ana", t(20))
            .await
            .is_err());
    }
    assert!(matches!(
        store
            .add_vulnerability_exclusion(&scope_a, Some(s7.device), "no-cve", "x", "ana", t(20))
            .await,
        Err(StoreError::Invalid(_))
    ));
    let exclusion = store
        .add_vulnerability_exclusion(
            &scope_a,
            Some(s7.device),
            "cve-2022-0001",
            "service disabled on this CPU",
            "ana",
            t(20),
        )
        .await
        .unwrap();
    assert_eq!(exclusion.cve, "CVE-2022-0001");
    assert!(matches!(
        store
            .add_vulnerability_exclusion(
                &scope_a,
                Some(s7.device),
                "CVE-2022-0001",
                "x",
                "ana",
                t(21)
            )
            .await,
        Err(StoreError::Conflict(_))
    ));
    let mut q = VulnerabilityQuery::new(Scope::All);
    q.excluded = Some(true);
    let excluded = store.list_vulnerabilities(&q).await.unwrap();
    assert_eq!(excluded.total, 1);
    assert_eq!(
        excluded.items[0].exclusion_reason.as_deref(),
        Some("service disabled on this CPU")
    );
    let counts = store
        .vulnerability_counts(&Scope::All, &[s7.device, s1200.device, acme.device])
        .await
        .unwrap();
    assert_eq!(counts.get(&s7.device), Some(&(1, Some(9.8))));
    assert_eq!(counts.get(&s1200.device), Some(&(1, Some(7.5))));
    assert_eq!(counts.get(&acme.device), None);
    assert!(store
        .vulnerability_counts(&Scope::Sites(vec![w.site_b]), &[s7.device])
        .await
        .unwrap()
        .is_empty());

    let by_cve = store
        .vulnerabilities_by_cve(&VulnerabilityQuery::new(Scope::All))
        .await
        .unwrap();
    assert_eq!(by_cve.total, 3);
    assert_eq!(
        (by_cve.items[0].cve.as_str(), by_cve.items[0].kev),
        ("CVE-2022-0002", true)
    );
    assert_eq!(by_cve.items[2].excluded, 1);
    let by_severity = store
        .vulnerabilities_by_severity(&VulnerabilityQuery::new(Scope::All))
        .await
        .unwrap();
    let counted: Vec<(Severity, i64, i64)> = by_severity
        .iter()
        .map(|s| (s.severity, s.vulnerabilities, s.kev))
        .collect();
    assert_eq!(
        counted,
        [
            (Severity::Critical, 1, 1),
            (Severity::High, 1, 0),
            (Severity::Medium, 0, 0),
            (Severity::Low, 0, 0),
            (Severity::None, 0, 0),
        ],
        "the excluded medium one is not counted"
    );

    // New firmware: only that device is matched again; its CVE keeps its first time and the
    // exclusion stays.
    let mut updated = plc(
        "10.0.0.1",
        "Siemens",
        "CPU 1516-3 PN/DP",
        "V2.9.5",
        "6ES7516-3AN01-0AB0",
    );
    updated.last_seen = t(20);
    ingest(&store, &sa, "a2", vec![updated]).await;
    let todo = store.devices_to_match(p1, DeviceRef(0), 100).await.unwrap();
    assert_eq!(todo.len(), 1);
    assert_eq!(todo[0].device, s7.device);
    assert!(todo[0].identity.ends_with("|V2.9.5"));
    store
        .store_matches(
            p1,
            &[result(
                s7.device,
                s7.site,
                &todo[0].identity,
                vec![vuln("CVE-2022-0001", 5.0, false)],
            )],
            t(30),
        )
        .await
        .unwrap();
    let mut q = VulnerabilityQuery::new(Scope::All);
    q.device = Some(s7.device);
    let s7_vulns = store.list_vulnerabilities(&q).await.unwrap();
    assert_eq!(s7_vulns.total, 1, "CVE-2022-0002 no longer matches");
    assert_eq!(s7_vulns.items[0].first_matched, t(10));
    assert_eq!(s7_vulns.items[0].last_matched, t(30));
    assert!(
        s7_vulns.items[0].excluded,
        "the exclusion outlives re-matching"
    );

    // Coverage: the product the package cannot resolve, within the caller's sites.
    let unmatched = store
        .list_unmatched(&Scope::All, None, 100, 0)
        .await
        .unwrap();
    assert_eq!(unmatched.total, 1);
    assert_eq!(
        (
            unmatched.items[0].reason.as_str(),
            unmatched.items[0].devices
        ),
        ("unknown_vendor", 1)
    );
    assert_eq!(
        store
            .list_unmatched(&Scope::Sites(vec![w.site_b]), None, 100, 0)
            .await
            .unwrap()
            .total,
        0
    );

    // A new package: every device is matched again.
    let p2 = store
        .insert_package(&package(200, b"signed two"))
        .await
        .unwrap();
    assert_eq!(
        store
            .devices_to_match(p2, DeviceRef(0), 100)
            .await
            .unwrap()
            .len(),
        3
    );
    let listed = store.list_packages(10, 0).await.unwrap();
    assert_eq!(listed.total, 2);
    assert_eq!(
        listed
            .items
            .iter()
            .map(|p| (p.id, p.in_force))
            .collect::<Vec<_>>(),
        [(p2, true), (p1, false)]
    );

    // Exclusions are listed and deleted within the caller's sites.
    assert_eq!(
        store
            .list_vulnerability_exclusions(&Scope::Sites(vec![w.site_b]), 10, 0)
            .await
            .unwrap()
            .total,
        0
    );
    assert_eq!(
        store
            .list_vulnerability_exclusions(&scope_a, 10, 0)
            .await
            .unwrap()
            .total,
        1
    );
    assert!(matches!(
        store
            .delete_vulnerability_exclusion(&Scope::Sites(vec![w.site_b]), exclusion.id)
            .await,
        Err(StoreError::NotFound)
    ));
    let deleted = store
        .delete_vulnerability_exclusion(&scope_a, exclusion.id)
        .await
        .unwrap();
    assert_eq!(deleted.reason, "service disabled on this CPU");
    assert!(!store.list_vulnerabilities(&q).await.unwrap().items[0].excluded);
}
on_both!(
    packages_and_vulnerabilities,
    super::packages_matches_and_exclusions
);
