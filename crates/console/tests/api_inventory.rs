//! The inventory API: devices (list, filters, CSV export, detail), connections, events and
//! alerts — happy paths, errors naming the bad parameter, and site scoping: a user of site A
//! never sees site B's rows anywhere and gets 404 (not 403) for B's ids.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::{header, Method, StatusCode};
use common::{ids, TestConsole};

#[tokio::test]
async fn devices_list_filters_sorts_and_pages() {
    let console = TestConsole::new().await;
    let seeded = console.seed_two_sites().await;
    let (_, admin) = console.user("admin", "admin", &[]).await;

    let all = console.get_json("/api/v1/devices", &admin).await;
    assert_eq!(all["total"], 4);
    let plc = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == seeded.plc_a)
        .unwrap();
    // The model's field names, plus where the device lives.
    assert_eq!(plc["key"], "ip:10.0.0.1");
    assert_eq!(plc["ips"][0], "10.0.0.1");
    assert_eq!(plc["vendor"], "Siemens");
    assert_eq!(plc["type"], "plc");
    assert_eq!(plc["hostnames"][0], "plc-a");
    assert_eq!(plc["protocols"]["server"][0], "modbus");
    assert_eq!(plc["site"], "Plant A");
    assert_eq!(plc["site_id"], seeded.site_a.0);
    assert_eq!(plc["zone"], "Cell A");
    assert_eq!(plc["zone_id"], seeded.zone_a.0);
    assert_eq!(plc["sensor"], "sensor-a");
    assert_eq!(plc["first_seen"], "2023-11-14T22:13:20Z");

    let site_b = console
        .get_json(&format!("/api/v1/devices?site={}", seeded.site_b), &admin)
        .await;
    assert_eq!(ids(&site_b).len(), 2);
    let plcs = console
        .get_json("/api/v1/devices?type=plc&sort=name&order=asc", &admin)
        .await;
    assert_eq!(ids(&plcs), vec![seeded.plc_b, seeded.plc_a]);
    let siemens = console
        .get_json("/api/v1/devices?vendor=Siemens&q=hmi", &admin)
        .await;
    assert_eq!(ids(&siemens), vec![seeded.hmi_a]);
    let modbus = console
        .get_json(
            &format!("/api/v1/devices?protocol=modbus&zone={}", seeded.zone_a),
            &admin,
        )
        .await;
    assert_eq!(modbus["total"], 2);
    let page = console
        .get_json("/api/v1/devices?sort=ip&limit=1&offset=1", &admin)
        .await;
    assert_eq!(
        (ids(&page), page["total"].as_i64()),
        (vec![seeded.hmi_a], Some(4))
    );
    let later = console
        .get_json("/api/v1/devices?seen_since=2030-01-01T00:00:00Z", &admin)
        .await;
    assert_eq!(later["total"], 0);

    for (query, name) in [
        ("site=abc", "site"),
        ("zone=1.5", "zone"),
        ("limit=many", "limit"),
        ("offset=x", "offset"),
        ("sort=colour", "sort"),
        ("order=sideways", "order"),
        ("seen_since=yesterday", "seen_since"),
    ] {
        let answer = console
            .call(
                Method::GET,
                &format!("/api/v1/devices?{query}"),
                &admin,
                None,
            )
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{query}");
        let message = answer.json()["error"].as_str().unwrap().to_owned();
        assert!(message.contains(name), "{query}: {message}");
    }
}

#[tokio::test]
async fn device_detail_has_facts_history_connections_and_events() {
    let console = TestConsole::new().await;
    let seeded = console.seed_two_sites().await;
    let (_, viewer) = console.user("viewer", "viewer", &[]).await;

    let detail = console
        .get_json(&format!("/api/v1/devices/{}", seeded.plc_a), &viewer)
        .await;
    assert_eq!(detail["device"]["id"], seeded.plc_a);
    let facts = detail["facts"].as_array().unwrap();
    let vendor = facts.iter().find(|f| f["attribute"] == "vendor").unwrap();
    assert_eq!(vendor["value"], "Siemens");
    assert_eq!(vendor["source"], "traffic");
    assert_eq!(vendor["confidence"], 90);
    assert!(vendor["first_seen"].is_string() && vendor["last_seen"].is_string());
    assert!(!detail["history"].as_array().unwrap().is_empty());
    assert_eq!(detail["connections"]["total"], 1);
    assert_eq!(detail["connections"]["items"][0]["port"], 502);
    assert_eq!(detail["events"]["total"], 1);
    assert_eq!(
        detail["events"]["items"][0]["operation"],
        "write_multiple_registers"
    );

    for (path, status) in [
        ("/api/v1/devices/999999", StatusCode::NOT_FOUND),
        ("/api/v1/devices/plc", StatusCode::BAD_REQUEST),
    ] {
        let answer = console.call(Method::GET, path, &viewer, None).await;
        assert_eq!(answer.status, status, "{path}");
        assert!(answer.json()["error"].is_string());
    }
}

#[tokio::test]
async fn csv_export_is_complete_and_spreadsheet_safe() {
    let console = TestConsole::new().await;
    let seeded = console.seed_two_sites().await;
    let (_, analyst) = console.user("analyst", "analyst", &[]).await;

    let answer = console
        .call(
            Method::GET,
            "/api/v1/devices.csv?sort=ip&limit=1",
            &analyst,
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(answer.headers[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let text = answer.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "id,name,ips,mac,vendor,type,role,model,firmware,serial,os,site,zone,sensor,protocols,first_seen,last_seen"
    );
    // Every page, whatever `limit` says.
    assert_eq!(lines.len(), 5, "{text}");
    assert!(lines[1].starts_with(&format!("{},plc-a,10.0.0.1,,Siemens,plc,", seeded.plc_a)));
    assert!(lines[1]
        .ends_with(",Plant A,Cell A,sensor-a,modbus,2023-11-14T22:13:20Z,2023-11-14T22:14:20Z"));
    // The formula hostname is neutralised and quoted; the vendor with a space is left alone.
    let b = lines
        .iter()
        .find(|l| l.starts_with(&format!("{},", seeded.plc_b)))
        .unwrap();
    assert!(
        b.contains(",\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\",10.1.0.1,"),
        "{b}"
    );
    assert!(b.contains(",Schneider Electric,"));

    let filtered = console
        .call(
            Method::GET,
            "/api/v1/devices.csv?vendor=Dell",
            &analyst,
            None,
        )
        .await;
    assert_eq!(filtered.text().lines().count(), 2);
    let bad = console
        .call(Method::GET, "/api/v1/devices.csv?site=x", &analyst, None)
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.json()["error"].as_str().unwrap().contains("site"));
}

#[tokio::test]
async fn connections_events_and_alerts_filter_and_page() {
    let console = TestConsole::new().await;
    let seeded = console.seed_two_sites().await;
    let (_, operator) = console.user("operator", "operator", &[]).await;

    let all = console.get_json("/api/v1/connections", &operator).await;
    assert_eq!(all["total"], 2);
    let mine = console
        .get_json(
            &format!(
                "/api/v1/connections?device={}&protocol=modbus",
                seeded.hmi_a
            ),
            &operator,
        )
        .await;
    assert_eq!(mine["total"], 1);
    assert_eq!(mine["items"][0]["a_ip"], "10.0.0.2");
    assert_eq!(mine["items"][0]["b_ip"], "10.0.0.1");
    let none = console
        .get_json("/api/v1/connections?protocol=s7comm", &operator)
        .await;
    assert_eq!(none["total"], 0);

    let events = console
        .get_json(
            &format!("/api/v1/events?site={}&category=write", seeded.site_b),
            &operator,
        )
        .await;
    assert_eq!(events["total"], 1);
    assert_eq!(
        events["items"][0]["detail"],
        "batch-b registers 40001-40010"
    );
    assert_eq!(events["items"][0]["count"], 3);
    let since = console
        .get_json("/api/v1/events?since=2030-01-01T00:00:00Z", &operator)
        .await;
    assert_eq!(since["total"], 0);
    let paged = console.get_json("/api/v1/events?limit=1", &operator).await;
    assert_eq!(
        (
            paged["items"].as_array().unwrap().len(),
            paged["total"].as_i64()
        ),
        (1, Some(2))
    );

    let alerts = console.get_json("/api/v1/alerts", &operator).await;
    assert_eq!(alerts["total"], 2);

    for (path, name) in [
        ("/api/v1/connections?device=x", "device"),
        ("/api/v1/connections?limit=0", "limit"),
        ("/api/v1/events?since=noon", "since"),
        ("/api/v1/events?site=-", "site"),
        ("/api/v1/alerts?offset=-3", "offset"),
    ] {
        let answer = console.call(Method::GET, path, &operator, None).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{path}");
        assert!(
            answer.json()["error"].as_str().unwrap().contains(name),
            "{path}"
        );
    }
    let answer = console
        .call(Method::GET, "/api/v1/events?device=999999", &operator, None)
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
}

/// A user of site A, by token and by browser session, never sees site B.
#[tokio::test]
async fn a_user_of_site_a_never_sees_site_b() {
    let console = TestConsole::new().await;
    let s = console.seed_two_sites().await;
    let (_, token) = console.user("alice", "analyst", &[s.site_a]).await;
    let session = console.sign_in("alice").await;
    for who in [token, session] {
        let devices = console.get_json("/api/v1/devices", &who).await;
        assert_eq!(devices["total"], 2);
        let mut seen = ids(&devices);
        seen.sort_unstable();
        let mut expected = vec![s.plc_a, s.hmi_a];
        expected.sort_unstable();
        assert_eq!(seen, expected);
        // Asking for B explicitly, or searching for B's devices, finds nothing.
        for path in [
            format!("/api/v1/devices?site={}", s.site_b),
            format!("/api/v1/devices?zone={}", s.zone_b),
            "/api/v1/devices?q=10.1.0".to_owned(),
            "/api/v1/devices?vendor=Dell".to_owned(),
            format!("/api/v1/connections?site={}", s.site_b),
            format!("/api/v1/events?site={}", s.site_b),
        ] {
            assert_eq!(console.get_json(&path, &who).await["total"], 0, "{path}");
        }
        let csv = console
            .call(Method::GET, "/api/v1/devices.csv", &who, None)
            .await
            .text();
        assert_eq!(csv.lines().count(), 3, "{csv}");
        assert!(!csv.contains("Plant B") && !csv.contains("10.1.0."));
        for path in ["/api/v1/connections", "/api/v1/events", "/api/v1/alerts"] {
            let list = console.get_json(path, &who).await;
            assert_eq!(list["total"], 1, "{path}");
            assert_eq!(list["items"][0]["site_id"], s.site_a.0, "{path}");
        }
        let sensors = console.get_json("/api/v1/sensors", &who).await;
        assert_eq!(ids(&sensors), vec![s.sensor_a.0]);
        let sites = console.get_json("/api/v1/sites", &who).await;
        assert_eq!(ids(&sites), vec![s.site_a.0]);
        let zones = console
            .get_json(&format!("/api/v1/sites/{}/zones", s.site_a), &who)
            .await;
        assert_eq!(ids(&zones), vec![s.zone_a.0]);
        // B's ids are 404, exactly like ids that do not exist.
        for path in [
            format!("/api/v1/devices/{}", s.plc_b),
            format!("/api/v1/devices/{}", s.station_b),
            format!("/api/v1/connections?device={}", s.plc_b),
            format!("/api/v1/events?device={}", s.plc_b),
            format!("/api/v1/sensors/{}", s.sensor_b),
            format!("/api/v1/sites/{}", s.site_b),
            format!("/api/v1/sites/{}/zones", s.site_b),
        ] {
            let answer = console.call(Method::GET, &path, &who, None).await;
            assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
            assert!(!answer.text().contains("Plant B"));
        }
    }
}

/// An administrator restricted to site A is restricted too: B's rows cannot be changed.
#[tokio::test]
async fn a_site_a_admin_cannot_touch_site_b() {
    let console = TestConsole::new().await;
    let s = console.seed_two_sites().await;
    let (_, admin_a) = console.user("admin-a", "admin", &[s.site_a]).await;
    let body = r#"{"name":"renamed"}"#;
    for (method, path, body) in [
        (
            Method::PATCH,
            format!("/api/v1/sites/{}", s.site_b),
            Some(body),
        ),
        (Method::DELETE, format!("/api/v1/sites/{}", s.site_b), None),
        (
            Method::POST,
            format!("/api/v1/sites/{}/zones", s.site_b),
            Some(body),
        ),
        (
            Method::PATCH,
            format!("/api/v1/zones/{}", s.zone_b),
            Some(body),
        ),
        (Method::DELETE, format!("/api/v1/zones/{}", s.zone_b), None),
        (
            Method::DELETE,
            format!("/api/v1/sensors/{}", s.sensor_b),
            None,
        ),
    ] {
        let answer = console.call(method.clone(), &path, &admin_a, body).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{method} {path}");
    }
    let token = console
        .call(
            Method::POST,
            "/api/v1/enrollment-tokens",
            &admin_a,
            Some(&format!(r#"{{"zone":{},"name":"sneaky"}}"#, s.zone_b)),
        )
        .await;
    assert_eq!(token.status, StatusCode::NOT_FOUND);
    let group = console
        .call(
            Method::POST,
            "/api/v1/groups",
            &admin_a,
            Some(r#"{"name":"g"}"#),
        )
        .await;
    assert_eq!(group.status, StatusCode::CREATED);
    let group = group.json()["id"].as_i64().unwrap();
    let add = console
        .call(
            Method::POST,
            &format!("/api/v1/groups/{group}/members"),
            &admin_a,
            Some(&format!(r#"{{"device":{}}}"#, s.plc_b)),
        )
        .await;
    assert_eq!(add.status, StatusCode::NOT_FOUND);
    assert_eq!(
        console.get_json("/api/v1/sites", &admin_a).await["total"],
        1
    );
}
