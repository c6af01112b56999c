//! The exposure-management pages: the initiatives with their scores, formula, metrics and
//! history, the recommendations with their devices and states. Each page only shows the
//! caller's sites, carries no inline script or style, and its forms need the session's CSRF
//! token and the role: analysts set recommendation states (the score changes), administrators
//! targets and weights, every user their favourites (listed first).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/ui_seed.rs"]
mod ui_seed;

use axum::http::{header, Method, StatusCode};
use common::{Answer, As, TestConsole};
use ironward_model::Batch;
use ironward_store::Scope;
use ui_seed::{assert_no_inline_code, seed_ui_world, ui_device, UiWorld};

/// The recommendation every device serving Telnet gets.
const TELNET: &str = "telnet-disable";

async fn get(console: &TestConsole, who: &As, path: &str) -> String {
    let answer = console.call(Method::GET, path, who, None).await;
    assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.text());
    let html = answer.text();
    assert_no_inline_code(path, &html);
    html
}

async fn post(console: &TestConsole, who: &As, path: &str, form: &str) -> Answer {
    console.call(Method::POST, path, who, Some(form)).await
}

fn location(answer: &Answer) -> &str {
    answer.headers[header::LOCATION].to_str().unwrap()
}

/// The score shown first on a page (`<span class="score value">75.0</span>`).
fn first_score(html: &str) -> String {
    let marker = "class=\"score value\">";
    let start = html.find(marker).expect("a score") + marker.len();
    let end = html[start..].find('<').unwrap() + start;
    html[start..end].to_owned()
}

/// The UI world, with Telnet seen on plc-alpha (site Alpha) and bravo-secret-plc (Bravo).
async fn seed(console: &TestConsole) -> UiWorld {
    let world = seed_ui_world(&console.store).await;
    let now = ironward_console::state::now();
    let sensors = console.store.list_sensors(&Scope::All).await.unwrap();
    for (sensor, ip, name, vendor) in [
        ("alpha-sensor", "10.0.0.1", "plc-alpha", "Siemens"),
        ("bravo-sensor", "10.9.0.1", "bravo-secret-plc", "Schneider"),
    ] {
        let mut device = ui_device(ip, name, vendor, "plc", 1, now);
        device.findings = vec!["telnet_in_use".to_owned()];
        let batch = Batch {
            id: format!("{name}-telnet"),
            created: now,
            alerts: Vec::new(),
            alert_captures: Vec::new(),
            connections: Vec::new(),
            events: Vec::new(),
            devices: vec![device],
            health: None,
        };
        let id = sensors.iter().find(|s| s.name == sensor).unwrap().id;
        console.store.ingest_batch(id, &batch, now).await.unwrap();
    }
    world
}

#[tokio::test]
async fn initiatives_show_scores_formula_metrics_and_charts() {
    let console = TestConsole::new().await;
    let world = seed(&console).await;
    console.user("admin", "admin", &[]).await;
    let admin = console.sign_in("admin").await;
    let list = get(&console, &admin, "/initiatives").await;
    for name in ["OT Security", "Enterprise IoT Security"] {
        assert!(list.contains(name), "{list}");
    }
    assert!(list.contains("<svg class=\"trend\""), "{list}");
    assert!(list.contains("href=\"/initiatives/ot-security\""));
    // Both sites' PLCs count: the OT score is a number, not "More data is required".
    let ot = get(&console, &admin, "/initiatives/ot-security").await;
    first_score(&ot).parse::<f64>().expect("an OT score");
    assert!(
        ot.contains("score = Σ (weightᵢ × progressᵢ) ÷ Σ weightᵢ"),
        "{ot}"
    );
    assert!(ot.contains("High counts 3, Medium 2, Low 1"));
    assert!(
        ot.contains("Now: <code>score = ("),
        "the formula with the numbers"
    );
    assert!(ot.contains("<meter"), "progress bars");
    assert!(ot.contains("/api/v1/initiatives/ot-security/metrics.csv"));
    assert!(ot.contains("/reports/risk?format=pdf") && ot.contains("/reports/risk?format=html"));
    assert!(ot.contains(&format!("/recommendations/{TELNET}")), "{ot}");
    // Administrators get the target form and a weight selector per metric.
    assert!(ot.contains("action=\"/initiatives/ot-security/target\""));
    assert!(ot.contains("name=\"weight\""));
    // A site filter keeps to the site; the risk report links carry it.
    let alpha = get(
        &console,
        &admin,
        &format!("/initiatives/ot-security?site={}", world.alpha),
    )
    .await;
    assert!(alpha.contains(&format!(
        "/reports/risk?site={}&amp;format=pdf",
        world.alpha
    )));
    // Unknown initiative, malformed filter: pages, not panics.
    let missing = console
        .call(Method::GET, "/initiatives/no-such", &admin, None)
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let bad = console
        .call(Method::GET, "/initiatives?site=x", &admin, None)
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn pages_show_only_the_callers_sites() {
    let console = TestConsole::new().await;
    let world = seed(&console).await;
    console
        .user("alpha-analyst", "analyst", &[world.alpha])
        .await;
    let alpha = console.sign_in("alpha-analyst").await;
    let rec = get(&console, &alpha, &format!("/recommendations/{TELNET}")).await;
    assert!(rec.contains("plc-alpha"), "{rec}");
    assert!(!rec.contains("bravo-secret-plc"), "{rec}");
    assert!(!rec.contains("10.9.0.1"));
    let list = get(&console, &alpha, "/recommendations").await;
    assert!(!list.contains("Bravo"), "the site filter offers Alpha only");
    for path in [
        format!("/initiatives?site={}", world.bravo),
        format!("/initiatives/ot-security?site={}", world.bravo),
        format!("/recommendations?site={}", world.bravo),
        format!("/recommendations/{TELNET}?site={}", world.bravo),
    ] {
        let answer = console.call(Method::GET, &path, &alpha, None).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
        assert!(!answer.text().contains("bravo-secret-plc"));
    }
    // A user of several sites but not all has no history of their own without a site filter.
    console
        .user("two-sites", "viewer", &[world.alpha, world.bravo])
        .await;
    let two = console.sign_in("two-sites").await;
    let list = get(&console, &two, "/initiatives").await;
    assert!(list.contains("choose a site to see its trend"), "{list}");
    let one = get(
        &console,
        &two,
        &format!("/initiatives?site={}", world.alpha),
    )
    .await;
    assert!(!one.contains("choose a site to see its trend"));
    assert!(one.contains("<svg class=\"trend\""));
    // An administrator sees both.
    console.user("admin", "admin", &[]).await;
    let admin = console.sign_in("admin").await;
    let rec = get(&console, &admin, &format!("/recommendations/{TELNET}")).await;
    assert!(
        rec.contains("plc-alpha") && rec.contains("bravo-secret-plc"),
        "{rec}"
    );
    assert!(
        rec.contains(&format!("href=\"/devices/{}\"", world.plc_alpha)),
        "{rec}"
    );
    // Each domain's devices table exports its own devices.
    let csv_link = format!("/api/v1/recommendations/{TELNET}/devices.csv?domain=ot");
    assert!(rec.contains(&csv_link), "{rec}");
    let csv = console.call(Method::GET, &csv_link, &admin, None).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.text().contains("plc-alpha") && csv.text().contains("bravo-secret-plc"));
    // A device group narrows every page to its members.
    let group = console
        .store
        .create_group("Alpha PLCs", "", ironward_console::state::now())
        .await
        .unwrap();
    console
        .store
        .add_group_member(&Scope::All, group.id, world.plc_alpha)
        .await
        .unwrap();
    let grouped = get(
        &console,
        &admin,
        &format!("/recommendations/{TELNET}?group={}", group.id),
    )
    .await;
    assert!(grouped.contains("plc-alpha"), "{grouped}");
    assert!(!grouped.contains("bravo-secret-plc"), "{grouped}");
    assert!(grouped.contains(&format!(
        "<option value=\"{}\" selected>Alpha PLCs",
        group.id
    )));
    let ot = get(
        &console,
        &admin,
        &format!("/initiatives/ot-security?group={}", group.id),
    )
    .await;
    // The group's one device serves Telnet: one of one affected in the insecure-protocols metric.
    let row = &ot[ot
        .find("id=\"metric-ot-insecure-protocols\"")
        .expect("the metric")..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("1 / 1"), "{row}");
    let filtered = get(
        &console,
        &admin,
        &format!(
            "/recommendations?site={}&severity=&state=active",
            world.bravo
        ),
    )
    .await;
    assert!(filtered.contains("Disable insecure administration protocol – Telnet"));
}

#[tokio::test]
async fn analysts_accept_a_risk_and_the_score_changes() {
    let console = TestConsole::new().await;
    let world = seed(&console).await;
    console.user("analyst", "analyst", &[]).await;
    console.user("operator", "operator", &[]).await;
    let analyst = console.sign_in("analyst").await;
    let operator = console.sign_in("operator").await;
    let page = format!("/initiatives/ot-security?site={}", world.alpha);
    let before = first_score(&get(&console, &analyst, &page).await);
    // The history job's first round: the scores as they stand.
    let mut job = ironward_console::posture_job::PostureJob::new();
    let start = ironward_console::state::now();
    job.run_once(&console.store, start).await.unwrap();
    let rec_path = format!("/recommendations/{TELNET}?site={}", world.alpha);
    let rec = get(&console, &analyst, &rec_path).await;
    assert!(rec.contains(&format!("action=\"/recommendations/{TELNET}/state\"")));
    // Operators read but do not set states (no form, and 403 when posted).
    let as_operator = get(&console, &operator, &rec_path).await;
    assert!(!as_operator.contains("/state\""));
    let form = format!(
        "state=risk_accepted&reason=Telnet+only+on+the+isolated+test+bench&expires=2099-01-31&site={}&back=%2Frecommendations%2F{TELNET}",
        world.alpha
    );
    let refused = post(
        &console,
        &operator,
        &format!("/recommendations/{TELNET}/state"),
        &form,
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // Without the CSRF token: refused, nothing set.
    let As::Session { cookie, .. } = &analyst else {
        unreachable!()
    };
    let forged = As::Session {
        cookie: cookie.clone(),
        csrf: String::new(),
    };
    let answer = post(
        &console,
        &forged,
        &format!("/recommendations/{TELNET}/state"),
        &form,
    )
    .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    // A risk acceptance needs a reason.
    let no_reason = post(
        &console,
        &analyst,
        &format!("/recommendations/{TELNET}/state"),
        &format!("state=risk_accepted&reason=&site={}", world.alpha),
    )
    .await;
    assert_eq!(
        no_reason.status,
        StatusCode::BAD_REQUEST,
        "{}",
        no_reason.text()
    );
    let done = post(
        &console,
        &analyst,
        &format!("/recommendations/{TELNET}/state"),
        &form,
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
    assert_eq!(location(&done), format!("/recommendations/{TELNET}"));
    let rec = get(&console, &analyst, &rec_path).await;
    assert!(rec.contains("Risk accepted"), "{rec}");
    assert!(rec.contains("Telnet only on the isolated test bench"));
    assert!(rec.contains("analyst"));
    assert!(rec.contains("2099-01-31 23:59:59 UTC"), "{rec}");
    let after = first_score(&get(&console, &analyst, &page).await);
    assert_ne!(
        before, after,
        "accepting the Telnet risk changes the OT score"
    );
    // The history job's next round stores the change with its reason and the device behind
    // it; the page lists it, and the trend chart draws the day's score.
    let later = ironward_model::Timestamp(start.0 + 60 * 1_000_000_000);
    job.run_once(&console.store, later).await.unwrap();
    let ot = get(&console, &analyst, &page).await;
    let history = &ot[ot
        .find("<table class=\"compact history\">")
        .expect("history")..];
    assert!(
        history.contains("Recommendation telnet-disable changed from"),
        "{history}"
    );
    assert!(
        history.contains(&format!("{before} → {after}")),
        "{history}"
    );
    assert!(
        history.contains(&format!("href=\"/devices/{}\"", world.plc_alpha)),
        "{history}"
    );
    assert!(history.contains("no longer counted (risk accepted or exception)"));
    assert!(ot.contains("<circle class=\"point\""), "a trend point");
    // Back to active.
    let undo = post(
        &console,
        &analyst,
        &format!("/recommendations/{TELNET}/state"),
        &format!("state=active&reason=bench+connected&site={}", world.alpha),
    )
    .await;
    assert_eq!(undo.status, StatusCode::SEE_OTHER, "{}", undo.text());
    assert_eq!(first_score(&get(&console, &analyst, &page).await), before);
}

#[tokio::test]
async fn administrators_set_targets_and_weights_and_everyone_keeps_favourites() {
    let console = TestConsole::new().await;
    seed(&console).await;
    console.user("admin", "admin", &[]).await;
    console.user("analyst", "analyst", &[]).await;
    console.user("viewer", "viewer", &[]).await;
    let admin = console.sign_in("admin").await;
    let analyst = console.sign_in("analyst").await;
    let viewer = console.sign_in("viewer").await;
    let target = post(
        &console,
        &admin,
        "/initiatives/ot-security/target",
        "target=92.5&back=%2Finitiatives%2Fot-security",
    )
    .await;
    assert_eq!(target.status, StatusCode::SEE_OTHER, "{}", target.text());
    let ot = get(&console, &admin, "/initiatives/ot-security").await;
    assert!(ot.contains("<strong>92.5</strong>"), "{ot}");
    let refused = post(
        &console,
        &analyst,
        "/initiatives/ot-security/target",
        "target=10",
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let out_of_range = post(
        &console,
        &admin,
        "/initiatives/ot-security/target",
        "target=150",
    )
    .await;
    assert_eq!(out_of_range.status, StatusCode::BAD_REQUEST);
    // A metric's weight: the first metric of the page set to Low.
    let metric_form = "action=\"/metrics/";
    let start = ot.find(metric_form).expect("a weight form") + metric_form.len();
    let metric = &ot[start..start + ot[start..].find('/').unwrap()];
    let weight = post(
        &console,
        &admin,
        &format!("/metrics/{metric}/weight"),
        "weight=risk_accepted&back=%2Finitiatives%2Fot-security",
    )
    .await;
    assert_eq!(weight.status, StatusCode::SEE_OTHER, "{}", weight.text());
    let ot = get(&console, &admin, "/initiatives/ot-security").await;
    let row = &ot[ot.find(&format!("id=\"metric-{metric}\"")).unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("value=\"risk_accepted\" selected"), "{row}");
    let refused = post(
        &console,
        &analyst,
        &format!("/metrics/{metric}/weight"),
        "weight=low",
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // Favourites: the viewer's Enterprise IoT card comes first, the admin's order is unchanged.
    let list = get(&console, &viewer, "/initiatives").await;
    assert!(list.find("initiative-ot-security") < list.find("initiative-enterprise-iot-security"));
    let fav = post(
        &console,
        &viewer,
        "/initiatives/enterprise-iot-security/favourite",
        "favourite=true&back=%2Finitiatives",
    )
    .await;
    assert_eq!(fav.status, StatusCode::SEE_OTHER, "{}", fav.text());
    let list = get(&console, &viewer, "/initiatives").await;
    assert!(
        list.find("initiative-enterprise-iot-security") < list.find("initiative-ot-security"),
        "favourites first"
    );
    assert!(list.contains("★ Favourite"));
    let list = get(&console, &admin, "/initiatives").await;
    assert!(list.find("initiative-ot-security") < list.find("initiative-enterprise-iot-security"));
    let unfav = post(
        &console,
        &viewer,
        "/initiatives/enterprise-iot-security/favourite",
        "favourite=false",
    )
    .await;
    assert_eq!(unfav.status, StatusCode::SEE_OTHER);
    let list = get(&console, &viewer, "/initiatives").await;
    assert!(!list.contains("★ Favourite"));
}

#[tokio::test]
async fn the_dashboard_tile_shows_both_initiatives() {
    let console = TestConsole::new().await;
    seed(&console).await;
    console.user("viewer", "viewer", &[]).await;
    let viewer = console.sign_in("viewer").await;
    let home = get(&console, &viewer, "/").await;
    assert!(home.contains("href=\"/initiatives\""), "{home}");
    assert!(home.contains("OT Security") && home.contains("Enterprise IoT Security"));
    // The navigation leads there for every role.
    assert!(home.contains(">Initiatives</a>") && home.contains(">Recommendations</a>"));
}
