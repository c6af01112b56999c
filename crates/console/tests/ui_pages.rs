//! Every page of the UI renders for each role its permission allows (200, HTML without inline
//! script or style) and is refused with the 403 page for the others; pages render with their
//! filters, sorts and groupings, and malformed parameters answer a page, not a panic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/ui_seed.rs"]
mod ui_seed;

use axum::http::{Method, StatusCode};
use common::{As, TestConsole};
use ironward_console::access::{Access, Role};
use ironward_console::table;
use ui_seed::{assert_no_inline_code, seed_ui_world, UiWorld};

/// The ids of the pages with one in their path: a group, an alert, a playbook.
struct PageIds {
    group: i64,
    alert: i64,
    playbook: i64,
}

/// The UI's GET pages from the route table, with real ids in their paths.
fn ui_pages(world: &UiWorld, ids: &PageIds) -> Vec<(String, Access)> {
    table()
        .into_iter()
        .filter(|r| r.method == Method::GET && !r.path.starts_with("/api/"))
        .filter(|r| !matches!(r.access, Access::Public))
        // Downloads, not pages (the risk report is a PDF or a self-contained HTML file):
        // report_download tests their roles and scopes.
        .filter(|r| !r.path.starts_with("/reports/"))
        .map(|r| {
            let path = r
                .path
                .replace("/devices/{id}", &format!("/devices/{}", world.plc_alpha))
                .replace("/groups/{id}", &format!("/groups/{}", ids.group))
                .replace("/alerts/{id}", &format!("/alerts/{}", ids.alert))
                .replace("/playbooks/{id}", &format!("/playbooks/{}", ids.playbook))
                .replace("/sites/{id}", &format!("/sites/{}", world.alpha))
                .replace("/initiatives/{id}", "/initiatives/ot-security")
                .replace("/recommendations/{id}", "/recommendations/telnet-disable");
            assert!(!path.contains('{'), "no id for {}", r.path);
            (path, r.access)
        })
        .collect()
}

#[tokio::test]
async fn every_page_renders_for_allowed_roles_and_refuses_the_others() {
    let console = TestConsole::new().await;
    let world = seed_ui_world(&console.store).await;
    let group = console
        .store
        .create_group("Safety PLCs", "", ironward_console::state::now())
        .await
        .unwrap();
    let alerts = console
        .store
        .query_alerts(&ironward_store::AlertQuery::new(ironward_store::Scope::All))
        .await
        .unwrap();
    let playbook = console
        .store
        .create_playbook(
            "close the expected",
            &ironward_store::AlertFilter::default(),
            &serde_json::json!([{"type": "close_as_expected"}]),
            ironward_console::state::now(),
        )
        .await
        .unwrap();
    let ids = PageIds {
        group: group.id.0,
        alert: alerts.items[0].id.0,
        playbook: playbook.id,
    };
    let pages = ui_pages(&world, &ids);
    assert!(pages.len() >= 10, "{pages:?}");
    for role in Role::ALL {
        let name = format!("ui-{}", role.as_str());
        console.user(&name, role.as_str(), &[]).await;
        let session = console.sign_in(&name).await;
        for (path, access) in &pages {
            let allowed = match access {
                Access::User(p) => role.allows(*p),
                _ => true,
            };
            let answer = console.call(Method::GET, path, &session, None).await;
            let html = answer.text();
            if allowed {
                assert_eq!(answer.status, StatusCode::OK, "{path} as {role:?}: {html}");
                assert!(
                    answer.headers["content-type"]
                        .to_str()
                        .unwrap()
                        .starts_with("text/html"),
                    "{path}"
                );
                assert!(html.starts_with("<!DOCTYPE html>"), "{path}");
                assert_no_inline_code(path, &html);
            } else {
                assert_eq!(answer.status, StatusCode::FORBIDDEN, "{path} as {role:?}");
                assert!(html.contains("Not permitted"), "{path}: {html}");
            }
        }
    }
}

#[tokio::test]
async fn pages_render_with_filters_sorts_and_groupings() {
    let console = TestConsole::new().await;
    let world = seed_ui_world(&console.store).await;
    let (_, admin) = console.user("admin", "admin", &[]).await;
    let site = world.alpha.0;
    let zone = world.zone_alpha.0;
    for path in [
        "/devices?q=plc".to_owned(),
        format!("/devices?site={site}&zone={zone}&type=plc&vendor=Siemens&protocol=modbus"),
        "/devices?sort=vendor&order=desc&limit=1&offset=1".to_owned(),
        "/devices?sort=ip".to_owned(),
        "/map?group=subnet".to_owned(),
        "/map?group=site&protocol=modbus&type=plc".to_owned(),
        "/map?group=purdue".to_owned(),
        format!("/events?site={site}&protocol=modbus&category=write"),
        "/events?offset=100".to_owned(),
        "/audit?offset=5".to_owned(),
        format!("/devices/{}", world.hmi_alpha),
    ] {
        let answer = console.call(Method::GET, &path, &admin, None).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.text());
        assert_no_inline_code(&path, &answer.text());
    }
    // The filtered inventory has the PLC, its CSV link carries the filters, sort headers link.
    let page = console
        .call(Method::GET, "/devices?type=plc&q=alpha", &admin, None)
        .await
        .text();
    assert!(page.contains("plc-alpha"));
    assert!(!page.contains("hmi-alpha"));
    assert!(
        page.contains("/api/v1/devices.csv?type=plc&amp;q=alpha"),
        "{page}"
    );
    assert!(page.contains("sort=vendor&amp;order=asc"));
    assert!(page.contains("data-column=\"firmware\""));
    // The map draws both sites' devices as links with tooltips, and the edge between them.
    let map = console.call(Method::GET, "/map", &admin, None).await.text();
    for id in [world.plc_alpha, world.hmi_alpha, world.plc_bravo] {
        assert!(map.contains(&format!("href=\"/devices/{id}\"")), "{map}");
    }
    assert!(map.contains("<title>plc-alpha · plc · Siemens · 10.0.0.1</title>"));
    assert!(map.contains("Purdue level 1"));
    assert!(map.contains("<line"));
    let subnets = console
        .call(Method::GET, "/map?group=subnet", &admin, None)
        .await
        .text();
    assert!(subnets.contains("10.0.0.0/24") && subnets.contains("10.9.0.0/24"));
    // The device page shows the selected fact and the other candidate, and links its peer.
    let device = console
        .call(
            Method::GET,
            &format!("/devices/{}", world.plc_alpha),
            &admin,
            None,
        )
        .await
        .text();
    assert!(device.contains("selected"));
    assert!(device.contains("Other Corp"));
    assert!(device.contains(&format!("href=\"/devices/{}\"", world.hmi_alpha)));
    assert!(device.contains("write_multiple_registers"));
    assert!(device.contains("cleartext-protocol"));
    // The dashboard counts devices by type and site, alerts by severity, and sensor health.
    let home = console.call(Method::GET, "/", &admin, None).await.text();
    assert!(home.contains("Alpha") && home.contains("Bravo"));
    assert!(home.contains("alpha-sensor") && home.contains("online"));
    assert!(home.contains("critical"));
    assert!(home.contains(&format!("href=\"/devices/{}\"", world.plc_alpha)));
    // Events filter by category and protocol.
    let writes = console
        .call(
            Method::GET,
            "/events?category=write&protocol=modbus",
            &admin,
            None,
        )
        .await
        .text();
    assert!(writes.contains("alpha-1 wrote registers") && writes.contains("bravo-1 wrote"));
    let reads = console
        .call(Method::GET, "/events?category=read", &admin, None)
        .await
        .text();
    assert!(!reads.contains("wrote registers"));
}

#[tokio::test]
async fn malformed_parameters_answer_pages() {
    let console = TestConsole::new().await;
    let world = seed_ui_world(&console.store).await;
    let (_, admin) = console.user("admin", "admin", &[]).await;
    for (path, status) in [
        ("/devices?site=x".to_owned(), StatusCode::BAD_REQUEST),
        ("/devices?sort=nope".to_owned(), StatusCode::BAD_REQUEST),
        ("/devices?offset=-5&limit=999999".to_owned(), StatusCode::OK),
        ("/devices/999999".to_owned(), StatusCode::NOT_FOUND),
        ("/groups/999999".to_owned(), StatusCode::NOT_FOUND),
        ("/map?group=%00&devices=abc".to_owned(), StatusCode::OK),
        ("/map?devices=999999".to_owned(), StatusCode::OK),
        ("/events?site=abc&offset=zz".to_owned(), StatusCode::OK),
        (
            format!("/devices?q=%25%27%22%3Cscript%3E{}", world.alpha),
            StatusCode::OK,
        ),
    ] {
        let answer = console.call(Method::GET, &path, &admin, None).await;
        assert_eq!(answer.status, status, "{path}: {}", answer.text());
        assert!(answer.text().contains("<html"), "{path}");
        assert_no_inline_code(&path, &answer.text());
    }
}

#[tokio::test]
async fn pages_without_a_session_ask_to_sign_in() {
    let console = TestConsole::new().await;
    let answer = console
        .call(Method::GET, "/devices", &As::Nobody, None)
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(answer.text().contains("name=\"next\" value=\"/devices\""));
}
