//! A user of site Alpha never sees site Bravo on any page: inventory, search, filters naming
//! Bravo, device detail (404), the map, events, the dashboard's counts, sites and sensors,
//! group members.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/ui_seed.rs"]
mod ui_seed;

use axum::http::{Method, StatusCode};
use common::TestConsole;
use ui_seed::seed_ui_world;

/// Words that only site Bravo's rows contain.
const BRAVO: &[&str] = &[
    "Bravo",
    "bravo-secret-plc",
    "bravo-station",
    "10.9.0.1",
    "10.9.0.2",
    "Schneider",
    "bravo-sensor",
];

#[tokio::test]
async fn a_user_of_site_alpha_never_sees_site_bravo() {
    let console = TestConsole::new().await;
    let world = seed_ui_world(&console.store).await;
    let now = ironward_console::state::now();
    let group = console.store.create_group("Mixed", "", now).await.unwrap();
    for device in [world.plc_alpha, world.plc_bravo] {
        console
            .store
            .add_group_member(&ironward_store::Scope::All, group.id, device)
            .await
            .unwrap();
    }
    for role in ["admin", "analyst", "viewer"] {
        let name = format!("alpha-{role}");
        console.user(&name, role, &[world.alpha]).await;
        let session = console.sign_in(&name).await;
        let bravo = world.bravo.0;
        let pages = [
            "/".to_owned(),
            "/devices".to_owned(),
            "/devices?q=10.9".to_owned(),
            "/devices?q=bravo".to_owned(),
            format!("/devices?site={bravo}"),
            "/devices?vendor=Schneider".to_owned(),
            "/map".to_owned(),
            "/map?group=site".to_owned(),
            "/map?group=subnet".to_owned(),
            format!("/map?devices={}", group.id),
            "/events".to_owned(),
            format!("/events?site={bravo}"),
            "/sites".to_owned(),
            format!("/groups/{}", group.id),
            format!("/devices/{}", world.plc_alpha),
        ];
        for path in &pages {
            let answer = console.call(Method::GET, path, &session, None).await;
            assert_eq!(answer.status, StatusCode::OK, "{path} as {role}");
            let html = answer.text();
            // A word the caller typed in the query comes back in the form, not from the data.
            for word in BRAVO.iter().filter(|w| !path.contains(*w)) {
                assert!(!html.contains(word), "{path} as {role} shows {word:?}");
            }
        }
        // Alpha's rows are there, so the pages did render the inventory.
        let inventory = console.call(Method::GET, "/devices", &session, None).await;
        assert!(inventory.text().contains("plc-alpha"));
        let home = console.call(Method::GET, "/", &session, None).await.text();
        assert!(home.contains("Alpha") && home.contains("alpha-sensor"));
        // Bravo's device is "not found", exactly like a missing one.
        let answer = console
            .call(
                Method::GET,
                &format!("/devices/{}", world.plc_bravo),
                &session,
                None,
            )
            .await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "as {role}");
        assert!(!answer.text().contains("bravo"));
    }
}

#[tokio::test]
async fn an_analyst_of_alpha_cannot_group_bravo_devices() {
    let console = TestConsole::new().await;
    let world = seed_ui_world(&console.store).await;
    let now = ironward_console::state::now();
    let group = console.store.create_group("G", "", now).await.unwrap();
    console.user("ana", "analyst", &[world.alpha]).await;
    let session = console.sign_in("ana").await;
    let answer = console
        .call(
            Method::POST,
            &format!("/groups/{}/members", group.id),
            &session,
            Some(&format!("device={}", world.plc_bravo)),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", answer.text());
    let members = console
        .store
        .group_members(&ironward_store::Scope::All, group.id)
        .await
        .unwrap();
    assert!(members.is_empty());
}
