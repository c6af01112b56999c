//! `/sites`: sites with their zones, sensors (status and health) and learning state, with
//! Start/End learning for those who manage the baseline, and for administrators
//! the forms to create, rename and delete sites and zones, remove sensors, and enrol a sensor:
//! a one-time token for a zone, shown once with the exact command to run on the sensor.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use ironward_model::Timestamp;
use ironward_store::{Scope, SensorId, SiteId, SiteLearning, ZoneId};
use maud::{html, Markup};
use serde::Deserialize;

use crate::access::{Permission, UserPrincipal};
use crate::api::sites::{default_learning_until, MAX_LEARNING_SECONDS};
use crate::audit::{self, Outcome};
use crate::state::{now, AppState};
use crate::ui::dashboard::sensor_table;
use crate::ui::layout::{csrf_field, html_response, page};
use crate::ui::widgets::{failure, form_error, notice, see_other, ClientAddr, SECOND};

/// How long an enrolment token stays valid by default, in hours.
const DEFAULT_TOKEN_HOURS: i64 = 24;
/// Longest validity offered, in hours (a week).
const MAX_TOKEN_HOURS: i64 = 24 * 7;

/// A token just created, to show once.
pub(crate) struct Enrolment {
    zone: String,
    sensor_name: String,
    token: String,
    expires_at: Timestamp,
}

/// The command a sensor runs to enrol with this console.
pub(crate) fn enrol_command(state: &AppState, token: &str) -> String {
    format!(
        "ironward sensor --console {} --enroll-token {token} --console-fingerprint {} \
         --data /var/lib/ironward-sensor --interface eth1",
        state.settings().public_url,
        state.fingerprint()
    )
}

/// `GET /sites`.
pub(crate) async fn sites(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
) -> Response {
    render(&state, &user, StatusCode::OK, None, None).await
}

/// The page, with an error above the forms or a fresh enrolment to show.
async fn render(
    state: &AppState,
    user: &UserPrincipal,
    status: StatusCode,
    error: Option<&str>,
    enrolment: Option<Enrolment>,
) -> Response {
    let store = state.store();
    let now = now();
    let (sites, zones, sensors, summary, learning) = match tokio::try_join!(
        store.list_sites(&user.scope),
        store.list_zones(&user.scope, None),
        store.list_sensors(&user.scope),
        store.inventory_summary(&user.scope, now, now),
        store.list_site_learning(&user.scope),
    ) {
        Ok(all) => all,
        Err(e) => return failure(e),
    };
    let ti = crate::ui::ti_distribution::load(state, user).await;
    let admin = user.role.allows(Permission::ManageSites);
    let baseline_manager = user.role.allows(Permission::ManageAlerts);
    let offline_after =
        i64::try_from(state.settings().sensor_offline_after.as_nanos()).unwrap_or(i64::MAX);
    let count = |site: SiteId| {
        summary
            .by_site
            .iter()
            .find(|(id, _, _)| *id == site)
            .map_or(0, |(_, _, n)| *n)
    };
    let content = html! {
        h1 { "Sites & sensors" }
        (notice(error))
        @if let Some(e) = &enrolment {
            section.panel.enrolment {
                h2 { "Enrol sensor “" (e.sensor_name) "” in zone " (e.zone) }
                p { "Run this on the sensor. The token works once, until "
                    (crate::ui::widgets::when(Some(e.expires_at))) "; it is shown only now." }
                pre.command { (enrol_command(state, &e.token)) }
                p.muted { "Change --interface to the port that receives the SPAN or TAP traffic." }
            }
        }
        @if admin {
            section.panel {
                h2 { "New site" }
                form.inline method="post" action="/sites" {
                    (csrf_field(user))
                    input type="text" name="name" required maxlength="200" placeholder="Site name";
                    button type="submit" { "Create site" }
                }
            }
        }
        @for site in &sites {
            section.panel.site {
                div.heading {
                    h2 { (site.name) }
                    a href={"/devices?site=" (site.id)} { (count(site.id)) " devices" }
                }
                @if admin {
                    div.actions {
                        form.inline method="post" action={"/sites/" (site.id) "/rename"} {
                            (csrf_field(user))
                            input type="text" name="name" required value=(site.name);
                            button.secondary type="submit" { "Rename" }
                        }
                        form.inline method="post" action={"/sites/" (site.id) "/delete"} data-confirm={"Delete site " (site.name) " with all its zones and devices?"} {
                            (csrf_field(user))
                            button.danger type="submit" { "Delete site" }
                        }
                    }
                }
                (learning_panel(
                    user,
                    site.id,
                    learning.iter().find(|l| l.site_id == site.id),
                    now,
                    baseline_manager,
                ))
                (crate::ui::ti_distribution::site_package(user, site.id, &ti))
                table.compact {
                    thead { tr { th { "Zone" } th { "Sensors" } @if admin { th { "Actions" } } } }
                    tbody {
                        @for zone in zones.iter().filter(|z| z.site_id == site.id) {
                            tr {
                                td { (zone.name) }
                                td { (sensors.iter().filter(|s| s.zone_id == zone.id).count()) }
                                @if admin {
                                    td {
                                        (zone_forms(user, zone.id, &zone.name))
                                    }
                                }
                            }
                        }
                    }
                }
                @if admin {
                    form.inline method="post" action={"/sites/" (site.id) "/zones"} {
                        (csrf_field(user))
                        input type="text" name="name" required maxlength="200" placeholder="New zone name";
                        button.secondary type="submit" { "Add zone" }
                    }
                }
            }
        }
        @if sites.is_empty() { p.muted { "No site you can see." } }
        section.panel {
            h2 { "Sensors" }
            (sensor_table(&sensors, now, offline_after))
            (crate::ui::ti_distribution::sensors_table(&sensors, &ti, now))
            @if admin && !sensors.is_empty() {
                h2 { "Remove a sensor" }
                p.muted { "Its credential stops working; the devices it saw stay." }
                @for s in &sensors {
                    form.inline method="post" action={"/sensors/" (s.id) "/delete"} data-confirm={"Remove sensor " (s.name) "?"} {
                        (csrf_field(user))
                        button.danger type="submit" { "Remove " (s.name) " (" (s.site) " / " (s.zone) ")" }
                    }
                }
            }
        }
    };
    (
        status,
        html_response(page(user, "Sites & sensors", "/sites", content)),
    )
        .into_response()
}

/// Default learning period offered by the Start form, in days.
const DEFAULT_LEARNING_DAYS: u64 = 7;

/// A site's learning state, and Start/End forms for those who manage the baseline.
fn learning_panel(
    user: &UserPrincipal,
    site: SiteId,
    learning: Option<&SiteLearning>,
    now: Timestamp,
    manage: bool,
) -> Markup {
    let until = learning.and_then(|l| l.until);
    let active = learning.is_some_and(|l| l.is_learning(now));
    let learned = learning.map_or(0, |l| l.learned);
    html! {
        div.learning {
            p {
                @if active {
                    span.badge.learning { "Learning" } " until "
                    (crate::ui::widgets::when(until))
                    ": policy alerts become baseline entries (" (learned) " so far)."
                } @else if until.is_some() {
                    "Learned until " (crate::ui::widgets::when(until)) " (" (learned)
                    " baseline entries learned); policy alerts compare with the baseline."
                } @else {
                    "Not learning: policy alerts compare with the baseline."
                }
            }
            p { a href={"/sites/" (site) "/baseline"} { "Baseline entries" } }
            @if manage {
                div.actions {
                    form.inline method="post" action={"/sites/" (site) "/learning"} {
                        (csrf_field(user))
                        input.short type="number" name="days" min="1" max=(MAX_LEARNING_SECONDS / 86_400) value=(DEFAULT_LEARNING_DAYS) title="Learn for (days)";
                        button.secondary type="submit" { @if active { "Restart learning" } @else { "Start learning" } }
                    }
                    @if active {
                        form.inline method="post" action={"/sites/" (site) "/learning"} {
                            (csrf_field(user))
                            input type="hidden" name="stop" value="1";
                            button.secondary type="submit" { "End learning" }
                        }
                    }
                }
            }
        }
    }
}

fn zone_forms(user: &UserPrincipal, zone: ZoneId, name: &str) -> Markup {
    html! {
        div.actions {
            form.inline method="post" action={"/zones/" (zone) "/enroll"} {
                (csrf_field(user))
                input type="text" name="sensor_name" required maxlength="200" placeholder="Sensor name";
                input.short type="number" name="hours" min="1" max=(MAX_TOKEN_HOURS) value=(DEFAULT_TOKEN_HOURS) title="Token valid for (hours)";
                button type="submit" { "Enrol a sensor" }
            }
            form.inline method="post" action={"/zones/" (zone) "/rename"} {
                (csrf_field(user))
                input type="text" name="name" required value=(name);
                button.secondary type="submit" { "Rename" }
            }
            form.inline method="post" action={"/zones/" (zone) "/delete"} data-confirm={"Delete zone " (name) " with its devices?"} {
                (csrf_field(user))
                button.danger type="submit" { "Delete" }
            }
        }
    }
}

/// A form with one name.
#[derive(Debug, Deserialize)]
pub(crate) struct NameForm {
    #[serde(default)]
    name: String,
}

/// The enrolment form.
#[derive(Debug, Deserialize)]
pub(crate) struct EnrolForm {
    #[serde(default)]
    sensor_name: String,
    #[serde(default)]
    hours: Option<String>,
}

/// Audits `action`, then redirects to the page, or re-renders it with the error.
#[allow(clippy::too_many_arguments)]
async fn finish(
    state: &AppState,
    user: &UserPrincipal,
    addr: ClientAddr,
    action: &str,
    target: &str,
    detail: &str,
    result: ironward_store::Result<()>,
) -> Response {
    match result {
        Ok(()) => {
            audit::record(
                state,
                Some(user),
                addr.0,
                action,
                target,
                detail,
                Outcome::Ok,
            )
            .await;
            see_other("/sites")
        }
        Err(e) => {
            let (status, message) = form_error(e);
            audit::record(
                state,
                Some(user),
                addr.0,
                action,
                target,
                &message,
                Outcome::Failed,
            )
            .await;
            render(state, user, status, Some(&message), None).await
        }
    }
}

/// `POST /sites`.
pub(crate) async fn create_site(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    addr: ClientAddr,
    Form(form): Form<NameForm>,
) -> Response {
    let name = form.name.trim();
    let at = now();
    let result = state
        .store()
        .create_site_learning(name, at, default_learning_until(&state, at))
        .await;
    let target = match &result {
        Ok(site) => format!("site:{}", site.id),
        Err(_) => "site".to_owned(),
    };
    finish(
        &state,
        &user,
        addr,
        "site.create",
        &target,
        &format!("name {name:?}"),
        result.map(|_| ()),
    )
    .await
}

/// The learning form: `days` starts learning, `stop` ends it.
#[derive(Debug, Deserialize)]
pub(crate) struct LearningForm {
    #[serde(default)]
    days: Option<String>,
    #[serde(default)]
    stop: Option<String>,
}

/// `POST /sites/{id}/learning`.
pub(crate) async fn set_learning(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    addr: ClientAddr,
    Path(id): Path<i64>,
    Form(form): Form<LearningForm>,
) -> Response {
    let at = now();
    let (until, detail) = if form.stop.is_some() {
        (at, "stop".to_owned())
    } else {
        let days = form
            .days
            .as_deref()
            .and_then(|d| d.trim().parse::<u64>().ok())
            .unwrap_or(DEFAULT_LEARNING_DAYS)
            .clamp(1, MAX_LEARNING_SECONDS / 86_400);
        let nanos = i64::try_from(days * 86_400)
            .unwrap_or(i64::MAX)
            .saturating_mul(SECOND);
        (
            Timestamp(at.0.saturating_add(nanos)),
            format!("start for {} s", days * 86_400),
        )
    };
    let result = state
        .store()
        .set_site_learning(&user.scope, SiteId(id), until)
        .await;
    if result.is_ok() {
        // Authorization (a posture metric) follows the learning window.
        state.posture().changed();
    }
    finish(
        &state,
        &user,
        addr,
        "site.learning",
        &format!("site:{id}"),
        &detail,
        result.map(|_| ()),
    )
    .await
}

/// `POST /sites/{id}/rename`.
pub(crate) async fn rename_site(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    addr: ClientAddr,
    Path(id): Path<i64>,
    Form(form): Form<NameForm>,
) -> Response {
    let name = form.name.trim();
    let result = state
        .store()
        .rename_site(&user.scope, SiteId(id), name)
        .await;
    if result.is_ok() {
        // Posture names each device's site.
        state.posture().changed();
    }
    finish(
        &state,
        &user,
        addr,
        "site.rename",
        &format!("site:{id}"),
        &format!("name {name:?}"),
        result.map(|_| ()),
    )
    .await
}

/// `POST /sites/{id}/delete`.
pub(crate) async fn delete_site(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    addr: ClientAddr,
    Path(id): Path<i64>,
) -> Response {
    let result = state.store().delete_site(&user.scope, SiteId(id)).await;
    if result.is_ok() {
        // The site's devices leave every view.
        state.posture().changed();
    }
    finish(
        &state,
        &user,
        addr,
        "site.delete",
        &format!("site:{id}"),
        "",
        result,
    )
    .await
}

/// `POST /sites/{id}/zones`.
pub(crate) async fn create_zone(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    addr: ClientAddr,
    Path(id): Path<i64>,
    Form(form): Form<NameForm>,
) -> Response {
    let name = form.name.trim();
    let result = state
        .store()
        .create_zone(&user.scope, SiteId(id), name, now())
        .await;
    let target = match &result {
        Ok(zone) => format!("zone:{}", zone.id),
        Err(_) => format!("site:{id}"),
    };
    finish(
        &state,
        &user,
        addr,
        "zone.create",
        &target,
        &format!("site:{id} name {name:?}"),
        result.map(|_| ()),
    )
    .await
}

/// `POST /zones/{id}/rename`.
pub(crate) async fn rename_zone(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    addr: ClientAddr,
    Path(id): Path<i64>,
    Form(form): Form<NameForm>,
) -> Response {
    let name = form.name.trim();
    let result = state
        .store()
        .rename_zone(&user.scope, ZoneId(id), name)
        .await;
    if result.is_ok() {
        // Posture names each device's zone.
        state.posture().changed();
    }
    finish(
        &state,
        &user,
        addr,
        "zone.rename",
        &format!("zone:{id}"),
        &format!("name {name:?}"),
        result.map(|_| ()),
    )
    .await
}

/// `POST /zones/{id}/delete`.
pub(crate) async fn delete_zone(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    addr: ClientAddr,
    Path(id): Path<i64>,
) -> Response {
    let result = state.store().delete_zone(&user.scope, ZoneId(id)).await;
    if result.is_ok() {
        // The zone's devices leave every view.
        state.posture().changed();
    }
    finish(
        &state,
        &user,
        addr,
        "zone.delete",
        &format!("zone:{id}"),
        "",
        result,
    )
    .await
}

/// `POST /sensors/{id}/delete`.
pub(crate) async fn delete_sensor(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    addr: ClientAddr,
    Path(id): Path<i64>,
) -> Response {
    let result = state.store().delete_sensor(&user.scope, SensorId(id)).await;
    if result.is_ok() {
        // Whether a view has data depends on its sensors.
        state.posture().changed();
    }
    finish(
        &state,
        &user,
        addr,
        "sensor.delete",
        &format!("sensor:{id}"),
        "",
        result,
    )
    .await
}

/// `POST /zones/{id}/enroll`: creates a one-time token and shows the command once (the
/// answer is the page itself, not a redirect: the token must not travel in a URL).
pub(crate) async fn enrol_sensor(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    addr: ClientAddr,
    Path(id): Path<i64>,
    Form(form): Form<EnrolForm>,
) -> Response {
    let store = state.store();
    let name = form.sensor_name.trim().to_owned();
    let hours = form
        .hours
        .as_deref()
        .and_then(|h| h.trim().parse::<i64>().ok())
        .unwrap_or(DEFAULT_TOKEN_HOURS)
        .clamp(1, MAX_TOKEN_HOURS);
    let at = now();
    let expires_at = Timestamp(at.0.saturating_add(hours * 3600 * SECOND));
    let zone = match store.get_zone(&user.scope, ZoneId(id)).await {
        Ok(z) => z,
        Err(e) => {
            let (status, message) = form_error(e);
            return render(&state, &user, status, Some(&message), None).await;
        }
    };
    let target = format!("zone:{id}");
    let result = store
        .create_enrollment_token(&user.scope, zone.id, &name, expires_at, Some(user.id), at)
        .await;
    match result {
        Ok(token) => {
            audit::record(
                &state,
                Some(&user),
                addr.0,
                "sensor.enrollment_token.create",
                &target,
                &format!("sensor {name:?}, valid {hours} h"),
                Outcome::Ok,
            )
            .await;
            let site = store
                .get_site(&Scope::All, zone.site_id)
                .await
                .map(|s| s.name)
                .unwrap_or_default();
            let enrolment = Enrolment {
                zone: format!("{site} / {}", zone.name),
                sensor_name: name,
                token,
                expires_at,
            };
            render(&state, &user, StatusCode::OK, None, Some(enrolment)).await
        }
        Err(e) => {
            let (status, message) = form_error(e);
            audit::record(
                &state,
                Some(&user),
                addr.0,
                "sensor.enrollment_token.create",
                &target,
                &message,
                Outcome::Failed,
            )
            .await;
            render(&state, &user, status, Some(&message), None).await
        }
    }
}

/// Most baseline entries the page lists (the API pages through all of them).
const BASELINE_PAGE: i64 = 500;

/// `GET /sites/{id}/baseline`: the site's baseline entries, newest last, with Delete for those
/// who manage the baseline, and the export link.
pub(crate) async fn baseline(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    Path(id): Path<i64>,
) -> Response {
    let store = state.store();
    let site = match store.get_site(&user.scope, SiteId(id)).await {
        Ok(site) => site,
        Err(e) => return failure(e),
    };
    let page = match store
        .list_baseline(&user.scope, Some(site.id), BASELINE_PAGE, 0)
        .await
    {
        Ok(page) => page,
        Err(e) => return failure(e),
    };
    let manage = user.role.allows(Permission::ManageAlerts);
    let content = html! {
        h1 { "Baseline of " (site.name) }
        p {
            (page.total) " entries: alerts with their kind, source, destination and protocol are "
            "suppressed at ingest. "
            a href={"/api/v1/baseline/export?site=" (site.id)} { "Export (JSON)" }
            " · import with POST /api/v1/baseline/import."
        }
        @if page.total > BASELINE_PAGE {
            p.muted { "The first " (BASELINE_PAGE) " are listed." }
        }
        table.compact {
            thead { tr {
                th { "Kind" } th { "Source" } th { "Destination" } th { "Protocol" }
                th { "Learned" } th { "By" } th { "Suppressed" } @if manage { th { "Actions" } }
            } }
            tbody {
                @for e in &page.items {
                    tr {
                        td { (e.kind) } td { (e.src) } td { (e.dst) } td { (e.protocol) }
                        td { (e.detail) " (" (crate::ui::widgets::when(Some(e.created_at))) ")" }
                        td { (e.created_by) } td { (e.suppressed) }
                        @if manage {
                            td {
                                form.inline method="post" action={"/sites/" (site.id) "/baseline/" (e.id) "/delete"} data-confirm="Delete this entry? Its traffic alerts again." {
                                    (csrf_field(&user))
                                    button.danger type="submit" { "Delete" }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    html_response(page_markup(&user, &site.name, content)).into_response()
}

fn page_markup(user: &UserPrincipal, site: &str, content: Markup) -> Markup {
    page(user, &format!("Baseline of {site}"), "/sites", content)
}

/// `POST /sites/{id}/baseline/{entry}/delete`.
pub(crate) async fn delete_baseline_entry(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    addr: ClientAddr,
    Path((site, entry)): Path<(i64, i64)>,
) -> Response {
    // The entry must belong to this site, and the site be the caller's.
    let result = if user.scope.allows(SiteId(site)) {
        state
            .store()
            .delete_baseline_entry(&Scope::Sites(vec![SiteId(site)]), entry)
            .await
    } else {
        Err(ironward_store::StoreError::NotFound)
    };
    match result {
        Ok(e) => {
            // Authorization (a posture metric) follows the baseline.
            state.posture().changed();
            let detail = format!("{} {} -> {} {}", e.kind, e.src, e.dst, e.protocol);
            audit::record(
                &state,
                Some(&user),
                addr.0,
                "baseline.delete",
                &format!("baseline:{entry}"),
                &detail,
                Outcome::Ok,
            )
            .await;
            see_other(&format!("/sites/{site}/baseline"))
        }
        Err(e) => failure(e),
    }
}
