//! `GET /api/v1/alerts/{id}/pcap`: the capture a sensor delivered with an alert, byte for byte,
//! as a pcap attachment; 404 for an alert without one and for an alert of a site outside the
//! caller's scope (exactly like the alert's detail); 401 without credentials; audited; the
//! alert's page links to it only when it exists.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::{header, Method, StatusCode};
use common::{seed_time, As, TestConsole};
use ironward_model::{Alert, AlertCapture, AlertEngine, Batch, Severity};
use ironward_store::{IngestOutcome, SensorId};

fn alert(id: &str, src: &str, dst: &str) -> Alert {
    Alert {
        id: id.to_owned(),
        kind: "malware.s7_plc_stop".to_owned(),
        title: format!("S7 PLC stop from {src}"),
        description: "A client stopped the controller.".to_owned(),
        engine: AlertEngine::Malware,
        severity: Severity::Critical,
        src_ip: Some(src.parse().unwrap()),
        dst_ip: Some(dst.parse().unwrap()),
        devices: vec![],
        protocol: Some("s7comm".to_owned()),
        techniques: vec![],
        evidence: vec![],
        remediation: String::new(),
        count: 1,
        first_seen: seed_time(30),
        last_seen: seed_time(30),
        pcap: None,
    }
}

/// A pcap header and one 60-byte record filled with `tag`.
fn pcap(tag: u8) -> Vec<u8> {
    let mut bytes = vec![0x4d, 0x3c, 0xb2, 0xa1, 2, 0, 4, 0];
    bytes.resize(24, 0);
    bytes.extend([0u8; 8]);
    bytes.extend(60u32.to_le_bytes());
    bytes.extend(60u32.to_le_bytes());
    bytes.extend([tag; 60]);
    bytes
}

async fn deliver(
    console: &TestConsole,
    sensor: SensorId,
    id: &str,
    alerts: Vec<Alert>,
    captures: Vec<AlertCapture>,
) {
    let batch = Batch {
        id: id.to_owned(),
        created: seed_time(50),
        devices: vec![],
        connections: vec![],
        events: vec![],
        alerts,
        alert_captures: captures,
        health: None,
    };
    batch.validate().unwrap();
    let outcome = console
        .store
        .ingest_batch(sensor, &batch, seed_time(50))
        .await
        .unwrap();
    assert!(matches!(outcome, IngestOutcome::Committed(_)));
}

async fn alert_id(console: &TestConsole, who: &As, key: &str) -> i64 {
    let list = console.get_json("/api/v1/alerts?limit=1000", who).await;
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["key"] == key)
        .unwrap_or_else(|| panic!("no alert {key} in {list}"))["id"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn an_alerts_pcap_downloads_within_scope() {
    let console = TestConsole::new().await;
    let seeded = console.seed_two_sites().await;
    deliver(
        &console,
        seeded.sensor_a,
        "a-pcap",
        vec![
            alert("stop-a", "10.0.0.2", "10.0.0.1"),
            alert("bare-a", "10.0.0.3", "10.0.0.1"),
        ],
        vec![AlertCapture {
            alert_id: "stop-a".into(),
            pcap: pcap(7),
        }],
    )
    .await;
    deliver(
        &console,
        seeded.sensor_b,
        "b-pcap",
        vec![alert("stop-b", "10.1.0.2", "10.1.0.1")],
        vec![AlertCapture {
            alert_id: "stop-b".into(),
            pcap: pcap(9),
        }],
    )
    .await;
    let (_, admin) = console.user("root", "admin", &[]).await;
    let (_, viewer_a) = console.user("vic", "viewer", &[seeded.site_a]).await;
    let stop_a = alert_id(&console, &admin, "stop-a").await;
    let bare_a = alert_id(&console, &admin, "bare-a").await;
    let stop_b = alert_id(&console, &admin, "stop-b").await;

    // The bytes as delivered, as a pcap attachment, for anyone who may view the alert.
    for who in [&admin, &viewer_a] {
        let answer = console
            .call(
                Method::GET,
                &format!("/api/v1/alerts/{stop_a}/pcap"),
                who,
                None,
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
        assert_eq!(answer.body, pcap(7));
        assert_eq!(
            answer.headers[header::CONTENT_TYPE],
            "application/vnd.tcpdump.pcap"
        );
        assert_eq!(
            answer.headers[header::CONTENT_DISPOSITION],
            format!("attachment; filename=\"alert-{stop_a}.pcap\"").as_str()
        );
    }
    let answer = console
        .call(
            Method::GET,
            &format!("/api/v1/alerts/{stop_b}/pcap"),
            &admin,
            None,
        )
        .await;
    assert_eq!(answer.body, pcap(9));

    // Another site's alert is as invisible as its detail; an alert without one is 404 too.
    for (id, who) in [(stop_b, &viewer_a), (bare_a, &admin), (999_999, &admin)] {
        let detail = console
            .call(Method::GET, &format!("/api/v1/alerts/{id}"), who, None)
            .await;
        let answer = console
            .call(Method::GET, &format!("/api/v1/alerts/{id}/pcap"), who, None)
            .await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "alert {id}");
        assert!(!answer.body.starts_with(&pcap(0)[..4]));
        if id != bare_a {
            assert_eq!(detail.status, StatusCode::NOT_FOUND);
        }
    }
    let anonymous = console
        .call(
            Method::GET,
            &format!("/api/v1/alerts/{stop_a}/pcap"),
            &As::Nobody,
            None,
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

    // Downloads are audited.
    let log = console.get_json("/api/v1/audit?limit=1000", &admin).await;
    let downloads = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "alert.pcap_download")
        .count();
    assert_eq!(downloads, 3);

    // The alert's page links to the capture only when there is one.
    console.user("ann", "analyst", &[seeded.site_a]).await;
    let browser = console.sign_in("ann").await;
    let page = console
        .call(Method::GET, &format!("/alerts/{stop_a}"), &browser, None)
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(
        html.contains(&format!("href=\"/api/v1/alerts/{stop_a}/pcap\""))
            && html.contains("Download pcap"),
        "{html}"
    );
    let page = console
        .call(Method::GET, &format!("/alerts/{bare_a}"), &browser, None)
        .await
        .text();
    assert!(!page.contains("Download pcap"));
    // The session that shows the link can follow it.
    let answer = console
        .call(
            Method::GET,
            &format!("/api/v1/alerts/{stop_a}/pcap"),
            &browser,
            None,
        )
        .await;
    assert_eq!(answer.body, pcap(7));
}
