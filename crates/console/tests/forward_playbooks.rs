#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Playbooks: ordered actions on matching alerts, applied to the store and recorded per run;
//! a step whose receiver is down is retried from that step, not from the start.

mod common;

use std::time::Duration;

use common::{seed_time, TestConsole};
use ironward_console::forward::{webhook, worker, worker::WorkerConfig};
use ironward_store::{AlertFilter, AlertId, AlertRecord, DeviceRef, Scope};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

fn config() -> WorkerConfig {
    WorkerConfig {
        backoff_base: Duration::from_millis(30),
        backoff_max: Duration::from_millis(100),
        timeout: Duration::from_secs(5),
        ..WorkerConfig::default()
    }
}

/// Answers 201 to every POST and sends (signature header, body) to `tx`.
async fn ticketing(listener: TcpListener, tx: mpsc::Sender<(Option<String>, Vec<u8>)>) {
    while let Ok((stream, _)) = listener.accept().await {
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stream);
            let (mut length, mut signature) = (0_usize, None);
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return;
                }
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length: ") {
                    length = v.parse().unwrap();
                }
                if let Some(v) = line.strip_prefix("X-Ironward-Signature: ") {
                    signature = Some(v.to_owned());
                }
            }
            let mut body = vec![0_u8; length];
            reader.read_exact(&mut body).await.unwrap();
            reader
                .into_inner()
                .write_all(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
                .await
                .unwrap();
            let _ = tx.send((signature, body)).await;
        });
    }
}

#[tokio::test]
async fn actions_apply_in_order_are_recorded_and_a_failed_step_is_retried() {
    let console = TestConsole::new().await;
    let store = &console.store;
    let seeded = console.seed_two_sites().await;
    let plc = store
        .get_device(&Scope::All, DeviceRef(seeded.plc_a))
        .await
        .unwrap();
    let key = plc.row.device.id.0.clone();
    let group = store
        .create_group("Crown jewels", "", ironward_console::state::now())
        .await
        .unwrap();
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap().port()
    };
    let playbook = store
        .create_playbook(
            "stop means ticket",
            &AlertFilter {
                engines: vec!["operational".to_owned()],
                ..AlertFilter::default()
            },
            &serde_json::json!([
                {"type": "raise_severity", "to": "critical"},
                {"type": "tag", "tag": "watchlist"},
                {"type": "group", "group": group.id.0},
                {"type": "webhook", "url": format!("http://127.0.0.1:{port}/tickets"),
                 "secret": "ticket-key"},
                {"type": "close_as_expected"},
            ]),
            ironward_console::state::now(),
        )
        .await
        .unwrap();
    let insert = |engine: &'static str, title: &'static str| {
        let key = key.clone();
        async move {
            store
                .insert_alert(&AlertRecord {
                    id: AlertId(0),
                    site_id: seeded.site_a,
                    zone_id: Some(seeded.zone_a),
                    engine: engine.to_owned(),
                    title: title.to_owned(),
                    severity: "minor".to_owned(),
                    status: "new".to_owned(),
                    devices: vec![key],
                    first_seen: seed_time(10),
                    last_seen: seed_time(20),
                    count: 1,
                    payload: serde_json::json!({"kind": "operational.controller_stop"}),
                })
                .await
                .unwrap()
        }
    };
    let alert = insert("operational", "PLC in STOP").await;
    let _other = insert("policy", "not for this playbook").await;

    // The ticketing system is down: steps 1-3 take effect, step 4 is retried later.
    worker::round(store, &config()).await.unwrap();
    let runs = store
        .list_playbook_runs(Some(playbook.id), 10)
        .await
        .unwrap();
    assert_eq!(runs.len(), 1, "only the matching alert starts a run");
    let run = &runs[0];
    assert_eq!(
        (run.alert_id, run.status.as_str(), run.step),
        (alert, "pending", 3)
    );
    assert!(
        run.log[0].contains("severity raised from minor to critical"),
        "{:?}",
        run.log
    );
    assert!(run.log[1].contains("tagged 1 device"), "{:?}", run.log);
    assert!(run.log[3].contains("will retry"), "{:?}", run.log);
    let view = store.get_alert(&Scope::All, alert).await.unwrap();
    let view = serde_json::to_value(&view).unwrap();
    assert_eq!(view["severity"], "critical");
    assert_ne!(view["status"], "closed");
    let groups = store.list_groups().await.unwrap();
    let watchlist = groups.iter().find(|g| g.name == "watchlist").unwrap();
    for g in [watchlist.id, group.id] {
        let members = store.group_members(&Scope::All, g).await.unwrap();
        assert_eq!(members.len(), 1);
        assert_eq!(members[0].id.0, seeded.plc_a);
    }

    // It comes back: the run resumes at step 4 (steps 1-3 are not repeated) and finishes.
    let (tx, mut rx) = mpsc::channel(4);
    tokio::spawn(ticketing(
        TcpListener::bind(("127.0.0.1", port)).await.unwrap(),
        tx,
    ));
    let mut done = false;
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        worker::round(store, &config()).await.unwrap();
        let runs = store
            .list_playbook_runs(Some(playbook.id), 10)
            .await
            .unwrap();
        if runs[0].status == "done" {
            done = true;
            break;
        }
    }
    assert!(done, "the run finished");
    let (signature, body) = rx.recv().await.unwrap();
    assert_eq!(
        signature.as_deref(),
        Some(webhook::signature(b"ticket-key", &body).as_str())
    );
    let ticket: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(ticket["alert_id"], alert.0);
    let run = &store
        .list_playbook_runs(Some(playbook.id), 10)
        .await
        .unwrap()[0];
    assert_eq!(run.step, 5);
    assert!(run.finished_at.is_some());
    assert!(
        run.log.iter().any(|l| l.contains("closed as expected")),
        "{:?}",
        run.log
    );
    assert_eq!(
        run.log.iter().filter(|l| l.contains("severity")).count(),
        1,
        "step 1 ran once"
    );
    let view = serde_json::to_value(store.get_alert(&Scope::All, alert).await.unwrap()).unwrap();
    assert_eq!(view["status"], "closed");
    let detail =
        serde_json::to_value(store.alert_detail(&Scope::All, alert).await.unwrap()).unwrap();
    assert!(
        detail.to_string().contains("playbook"),
        "the alert's history names the playbook: {detail}"
    );

    // Closing the alert is a status change, not a new occurrence: no second run.
    worker::round(store, &config()).await.unwrap();
    assert_eq!(
        store
            .list_playbook_runs(Some(playbook.id), 10)
            .await
            .unwrap()
            .len(),
        1
    );
}
