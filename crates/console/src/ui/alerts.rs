//! `/alerts`: the alert list (filters, severity badges, checkboxes and a bulk action form),
//! `/alerts/{id}` (evidence, techniques, remediation, comments, history and the workflow
//! actions), `/exclusions` and `/alert-rules`. The checks and audit rows are the API's
//! ([`crate::api::alerts`]): operators act on operational alerts only.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use ironward_store::{
    AlertRuleSpec, AlertStatus, AlertView, ExclusionSpec, SensorId, SiteId, StoreError,
};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;

use crate::access::{Permission, UserPrincipal};
use crate::api::alerts::{actionable, actor, apply, may_act, Action, AlertParams, MAX_BULK};
use crate::api::params::Paging;
use crate::audit::{self, Outcome};
use crate::error::ApiError;
use crate::state::{now, AppState};
use crate::ui::layout::{csrf_field, html_response, message_page, page};
use crate::ui::widgets::{failure, form_error, notice, pager, see_other, when, ClientAddr};

fn api_failure(e: ApiError) -> Response {
    let title = if e.status == StatusCode::FORBIDDEN {
        "Not permitted"
    } else {
        "Cannot do that"
    };
    message_page(e.status, title, &e.message)
}

fn badge(severity: &str) -> Markup {
    html! { span class={"badge " (severity)} { (severity) } }
}

/// Query of `GET /alerts` (as the API's, all optional text).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ListParams {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    engine: Option<String>,
    #[serde(default)]
    site: Option<String>,
    #[serde(default)]
    offset: Option<String>,
}

/// `GET /alerts`.
pub(crate) async fn alerts(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    Query(p): Query<ListParams>,
) -> Response {
    let params = AlertParams {
        status: p.status.clone(),
        severity: p.severity.clone(),
        engine: p.engine.clone(),
        site: p.site.clone(),
        device: None,
        muted: None,
        since: None,
        paging: Paging {
            limit: Some("100".to_owned()),
            offset: p.offset.clone(),
        },
    };
    let query = match params.query(&user) {
        Ok(q) => q,
        Err(e) => return api_failure(e),
    };
    let page_rows = match state.store().query_alerts(&query).await {
        Ok(p) => p,
        Err(e) => return failure(e),
    };
    let sites = state
        .store()
        .list_sites(&user.scope)
        .await
        .unwrap_or_default();
    let can_act = user.role.allows(Permission::ManageOperationalAlerts);
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let pairs = [
        ("status", text(&p.status)),
        ("severity", text(&p.severity)),
        ("engine", text(&p.engine)),
        ("site", text(&p.site)),
    ];
    let selected = |v: &Option<String>, x: &str| v.as_deref() == Some(x);
    let content = html! {
        div.heading {
            h1 { "Alerts" }
            a href="/exclusions" { "Exclusions" }
            " · "
            a href="/alert-rules" { "Custom rules" }
        }
        form.inline.filters method="get" action="/alerts" {
            select name="status" {
                option value="" { "Any status" }
                @for s in AlertStatus::ALL { option value=(s.as_str()) selected[selected(&p.status, s.as_str())] { (s.as_str()) } }
            }
            select name="severity" {
                option value="" { "Any severity" }
                @for s in ironward_model::Severity::ALL { option value=(s.as_str()) selected[selected(&p.severity, s.as_str())] { (s.as_str()) } }
            }
            select name="engine" {
                option value="" { "Any engine" }
                @for e in ironward_model::AlertEngine::ALL { option value=(e.as_str()) selected[selected(&p.engine, e.as_str())] { (e.as_str()) } }
            }
            select name="site" {
                option value="" { "Any site" }
                @for s in &sites { option value=(s.id) selected[selected(&p.site, &s.id.to_string())] { (s.name) } }
            }
            button type="submit" { "Filter" }
        }
        form method="post" action="/alerts/bulk" {
            (csrf_field(&user))
            table {
                thead { tr {
                    @if can_act { th { "" } }
                    th { "Severity" } th { "Alert" } th { "Engine" } th { "Status" } th { "Site" }
                    th { "Count" } th { "Last seen" }
                } }
                tbody {
                    @for a in &page_rows.items {
                        tr {
                            @if can_act { td { input type="checkbox" name="ids" value=(a.id) aria-label={"Select alert " (a.id)}; } }
                            td { (badge(&a.severity)) }
                            td { a href={"/alerts/" (a.id)} { (a.title) } }
                            td { (a.engine) }
                            td { (a.status) @if a.muted { " " span.muted { "(muted)" } } }
                            td { (a.site) }
                            td { (a.count) }
                            td { (when(Some(a.last_seen))) }
                        }
                    }
                    @if page_rows.items.is_empty() { tr { td colspan="8" .muted { "No alerts." } } }
                }
            }
            @if can_act {
                div.inline {
                    label { "With the selected alerts: "
                        select name="action" {
                            option value="active" { "Mark active" }
                            option value="closed" { "Close" }
                            option value="new" { "Reopen as new" }
                            option value="mute" { "Mute" }
                            option value="unmute" { "Unmute" }
                            option value="assign_me" { "Assign to me" }
                        }
                    }
                    button type="submit" { "Apply" }
                }
            }
        }
        (pager("/alerts", &pairs, query.offset, query.limit, page_rows.items.len(), page_rows.total))
    };
    html_response(page(&user, "Alerts", "/alerts", content))
}

/// A workflow action from a form (`status:closed`, `mute`, `assign_me`, ...).
fn form_action(user: &UserPrincipal, name: &str) -> Option<Action> {
    Some(match name {
        "new" | "active" | "closed" => Action::Status {
            status: AlertStatus::parse(name).ok()?,
        },
        "mute" => Action::Mute { muted: true },
        "unmute" => Action::Mute { muted: false },
        "assign_me" => Action::Assign {
            user: Some(user.id.0),
        },
        "unassign" => Action::Assign { user: None },
        _ => return None,
    })
}

/// `POST /alerts/bulk`: `ids` (repeated) and `action`.
pub(crate) async fn bulk(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    addr: ClientAddr,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let ids: Vec<i64> = pairs
        .iter()
        .filter(|(k, _)| k == "ids")
        .filter_map(|(_, v)| v.parse().ok())
        .take(MAX_BULK + 1)
        .collect();
    let action = pairs
        .iter()
        .find(|(k, _)| k == "action")
        .and_then(|(_, v)| form_action(&user, v));
    let Some(action) = action else {
        return message_page(StatusCode::BAD_REQUEST, "Cannot do that", "Unknown action.");
    };
    if ids.is_empty() || ids.len() > MAX_BULK {
        return message_page(
            StatusCode::BAD_REQUEST,
            "Cannot do that",
            &format!("Select 1 to {MAX_BULK} alerts."),
        );
    }
    let mut alerts: Vec<AlertView> = Vec::with_capacity(ids.len());
    for id in ids {
        match actionable(&state, &user, id).await {
            Ok(a) => alerts.push(a),
            Err(e) => return api_failure(e),
        }
    }
    for a in &alerts {
        if let Err(e) = apply(&state, &user, addr.0, a, &action).await {
            return api_failure(e);
        }
    }
    see_other("/alerts")
}

/// `GET /alerts/{id}`.
pub(crate) async fn alert(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    Path(id): Path<i64>,
) -> Response {
    let d = match state
        .store()
        .alert_detail(&user.scope, ironward_store::AlertId(id))
        .await
    {
        Ok(d) => d,
        Err(e) => return failure(e),
    };
    let a = &d.alert;
    let can_act = may_act(&user, a);
    let can_learn = can_act && user.role.allows(Permission::ManageAlerts);
    // A missing size only hides the link: the page is still worth showing.
    let pcap_size = state
        .store()
        .alert_pcap_size(&user.scope, a.id)
        .await
        .ok()
        .flatten();
    let text = |key: &str| {
        d.payload
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let list = |key: &str| {
        d.payload
            .get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let techniques = list("techniques");
    let evidence = list("evidence");
    let field = |v: &Value, k: &str| match v.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    let content = html! {
        div.heading {
            h1 { (badge(&a.severity)) " " (a.title) }
            a href="/alerts" { "All alerts" }
        }
        p { (text("description")) }
        table.facts {
            tr { th { "Status" } td { (a.status) @if a.muted { " (muted)" } } }
            tr { th { "Engine" } td { (a.engine) } }
            tr { th { "Kind" } td { (a.kind) } }
            tr { th { "Site" } td { (a.site) } }
            tr { th { "Source" } td { (a.src_ip.as_deref().unwrap_or("")) } }
            tr { th { "Destination" } td { (a.dst_ip.as_deref().unwrap_or("")) } }
            tr { th { "Protocol" } td { (a.protocol.as_deref().unwrap_or("")) } }
            tr { th { "Devices" } td { @for dev in &a.devices { code { (dev) } " " } } }
            tr { th { "Assigned to" } td { (a.assignee.as_deref().unwrap_or("nobody")) } }
            tr { th { "Count" } td { (a.count) } }
            tr { th { "First seen" } td { (when(Some(a.first_seen))) } }
            tr { th { "Last seen" } td { (when(Some(a.last_seen))) } }
        }
        @if can_act {
            section.panel {
                h2 { "Actions" }
                form.inline method="post" action={"/alerts/" (a.id) "/action"} {
                    (csrf_field(&user))
                    select name="action" aria-label="Action" {
                        option value="active" { "Mark active" }
                        option value="closed" { "Close" }
                        option value="new" { "Reopen as new" }
                        @if a.muted { option value="unmute" { "Unmute" } } @else { option value="mute" { "Mute" } }
                        option value="assign_me" { "Assign to me" }
                        option value="unassign" { "Unassign" }
                    }
                    button type="submit" { "Apply" }
                }
                @if can_learn {
                    form.inline method="post" action={"/alerts/" (a.id) "/learn"} data-confirm="Add this traffic to the baseline and close the alert?" {
                        (csrf_field(&user))
                        button.secondary type="submit" { "Learn (add to baseline)" }
                    }
                }
            }
        }
        h2 { "MITRE ATT&CK for ICS" }
        ul { @for t in &techniques { li { code { (field(t, "id")) } " " (field(t, "name")) } } }
        @if techniques.is_empty() { p.muted { "None named." } }
        h2 { "Evidence" }
        table {
            thead { tr { th { "Time" } th { "What" } th { "Frame" } } }
            tbody {
                @for e in &evidence { tr { td { (field(e, "time")) } td { (field(e, "summary")) } td { (field(e, "frame")) } } }
                @if evidence.is_empty() { tr { td colspan="3" .muted { "No evidence recorded." } } }
            }
        }
        @if let Some(size) = pcap_size {
            p {
                a href={"/api/v1/alerts/" (a.id) "/pcap"} download { "Download pcap" }
                " " span.muted { "(the packets around its first occurrence, " (size.div_ceil(1024)) " KiB)" }
            }
        }
        h2 { "Remediation" }
        p { (text("remediation")) }
        h2 { "Comments" }
        @for c in &d.comments {
            div.comment { p.muted { (c.user_name) ", " (when(Some(c.at))) } p { (c.text) } }
        }
        @if can_act {
            form method="post" action={"/alerts/" (a.id) "/comments"} {
                (csrf_field(&user))
                textarea name="text" required maxlength="4096" aria-label="Comment" {}
                button type="submit" { "Comment" }
            }
        }
        h2 { "History" }
        table {
            thead { tr { th { "When" } th { "Who" } th { "What" } th { "" } } }
            tbody { @for h in &d.history { tr { td { (when(Some(h.at))) } td { (h.user_name) } td { (h.action) } td { (h.detail) } } } }
        }
    };
    html_response(page(&user, &a.title, "/alerts", content))
}

/// The single-alert action form.
#[derive(Debug, Deserialize)]
pub(crate) struct ActionForm {
    #[serde(default)]
    action: String,
}

/// `POST /alerts/{id}/action`.
pub(crate) async fn act(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    addr: ClientAddr,
    Path(id): Path<i64>,
    Form(form): Form<ActionForm>,
) -> Response {
    let Some(action) = form_action(&user, &form.action) else {
        return message_page(StatusCode::BAD_REQUEST, "Cannot do that", "Unknown action.");
    };
    let alert = match actionable(&state, &user, id).await {
        Ok(a) => a,
        Err(e) => return api_failure(e),
    };
    match apply(&state, &user, addr.0, &alert, &action).await {
        Ok(_) => see_other(&format!("/alerts/{id}")),
        Err(e) => api_failure(e),
    }
}

/// The comment form.
#[derive(Debug, Deserialize)]
pub(crate) struct CommentForm {
    #[serde(default)]
    text: String,
}

/// `POST /alerts/{id}/comments`.
pub(crate) async fn comment(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    addr: ClientAddr,
    Path(id): Path<i64>,
    Form(form): Form<CommentForm>,
) -> Response {
    let alert = match actionable(&state, &user, id).await {
        Ok(a) => a,
        Err(e) => return api_failure(e),
    };
    match state
        .store()
        .comment_alert(&user.scope, alert.id, &form.text, actor(&user), now())
        .await
    {
        Ok(c) => {
            audit::record(
                &state,
                Some(&user),
                addr.0,
                "alert.comment",
                &format!("alert:{id}"),
                &format!("comment {}", c.id),
                Outcome::Ok,
            )
            .await;
            see_other(&format!("/alerts/{id}"))
        }
        Err(e) => failure(e),
    }
}

/// `POST /alerts/{id}/learn` (ManageAlerts).
pub(crate) async fn learn(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    addr: ClientAddr,
    Path(id): Path<i64>,
) -> Response {
    let alert = match actionable(&state, &user, id).await {
        Ok(a) => a,
        Err(e) => return api_failure(e),
    };
    match state
        .store()
        .learn_alert(&user.scope, alert.id, actor(&user), now())
        .await
    {
        Ok(entry) => {
            // Authorization (a posture metric) follows the baseline.
            state.posture().changed();
            audit::record(
                &state,
                Some(&user),
                addr.0,
                "alert.learn",
                &format!("alert:{id}"),
                &format!("baseline entry {} ({})", entry.id, entry.kind),
                Outcome::Ok,
            )
            .await;
            see_other(&format!("/alerts/{id}"))
        }
        Err(e) => failure(e),
    }
}

/// `GET /exclusions`.
pub(crate) async fn exclusions(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
) -> Response {
    render_exclusions(&state, &user, StatusCode::OK, None).await
}

async fn render_exclusions(
    state: &AppState,
    user: &UserPrincipal,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let (rules, sites) = match tokio::try_join!(
        state.store().list_exclusions(&user.scope, None),
        state.store().list_sites(&user.scope)
    ) {
        Ok(all) => all,
        Err(e) => return failure(e),
    };
    let manage = user.role.allows(Permission::ManageAlerts);
    let content = html! {
        div.heading { h1 { "Alert exclusions" } a href="/alerts" { "Alerts" } }
        p.muted { "Alerts matching every criterion a rule sets are suppressed when they arrive (counted, not stored)." }
        (notice(error))
        @if manage {
            section.panel {
                h2 { "New exclusion" }
                form.stacked method="post" action="/exclusions" {
                    (csrf_field(user))
                    label { "Site " select name="site_id" { @for s in &sites { option value=(s.id) { (s.name) } } } }
                    label { "Name " input type="text" name="name" required maxlength="256"; }
                    label { "Device key " input type="text" name="device_key" placeholder="ip:10.0.0.5"; }
                    label { "Subnet " input type="text" name="subnet" placeholder="10.0.0.0/24"; }
                    label { "Alert kind " input type="text" name="kind" placeholder="anomaly.port_scan"; }
                    label { "Engine " select name="engine" { option value="" { "any" } @for e in ironward_model::AlertEngine::ALL { option value=(e.as_str()) { (e.as_str()) } } } }
                    label { "Sensor id " input type="number" name="sensor_id" min="1"; }
                    label { "Week days (0 = Monday, comma separated) " input type="text" name="weekdays" placeholder="5,6"; }
                    label { "From hour (UTC) " input type="number" name="hour_from" min="0" max="23"; }
                    label { "To hour (UTC) " input type="number" name="hour_to" min="0" max="24"; }
                    button type="submit" { "Create exclusion" }
                }
            }
        }
        table {
            thead { tr { th { "Name" } th { "Site" } th { "Criteria" } th { "Suppressed" } th { "By" } @if manage { th {} } } }
            tbody {
                @for r in &rules.items {
                    tr {
                        td { (r.spec.name) }
                        td { (sites.iter().find(|s| s.id == r.spec.site_id).map(|s| s.name.clone()).unwrap_or_default()) }
                        td {
                            @if let Some(v) = &r.spec.device_key { "device " code { (v) } " " }
                            @if let Some(v) = &r.spec.subnet { "subnet " code { (v) } " " }
                            @if let Some(v) = &r.spec.kind { "kind " code { (v) } " " }
                            @if let Some(v) = &r.spec.engine { "engine " code { (v) } " " }
                            @if let Some(v) = r.spec.sensor_id { "sensor " (v) " " }
                            @if !r.spec.weekdays.is_empty() { "days " (format!("{:?}", r.spec.weekdays)) " " }
                            @if let (Some(f), Some(t)) = (r.spec.hour_from, r.spec.hour_to) { (format!("{f}h-{t}h UTC")) }
                        }
                        td { (r.suppressed) }
                        td { (r.created_by) }
                        @if manage {
                            td {
                                form.inline method="post" action={"/exclusions/" (r.id) "/delete"} data-confirm={"Delete exclusion " (r.spec.name) "?"} {
                                    (csrf_field(user))
                                    button.danger type="submit" { "Delete" }
                                }
                            }
                        }
                    }
                }
                @if rules.items.is_empty() { tr { td colspan="6" .muted { "No exclusions." } } }
            }
        }
    };
    (
        status,
        html_response(page(user, "Alert exclusions", "/alerts", content)),
    )
        .into_response()
}

/// The new-exclusion form (all text: empty fields are absent).
#[derive(Debug, Deserialize)]
pub(crate) struct ExclusionForm {
    #[serde(default)]
    site_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    device_key: Option<String>,
    #[serde(default)]
    subnet: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    engine: Option<String>,
    #[serde(default)]
    sensor_id: Option<String>,
    #[serde(default)]
    weekdays: Option<String>,
    #[serde(default)]
    hour_from: Option<String>,
    #[serde(default)]
    hour_to: Option<String>,
}

fn opt_number<T: std::str::FromStr>(
    name: &str,
    v: &Option<String>,
) -> Result<Option<T>, StoreError> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => t
            .parse()
            .map(Some)
            .map_err(|_| StoreError::Invalid(format!("{name}: not a number"))),
    }
}

fn exclusion_spec(f: &ExclusionForm) -> Result<ExclusionSpec, StoreError> {
    let weekdays = match f.weekdays.as_deref().map(str::trim) {
        None | Some("") => Vec::new(),
        Some(t) => t
            .split(',')
            .map(|d| d.trim().parse::<u8>())
            .collect::<Result<_, _>>()
            .map_err(|_| StoreError::Invalid("week days: numbers 0 to 6".to_owned()))?,
    };
    Ok(ExclusionSpec {
        site_id: SiteId(
            f.site_id
                .trim()
                .parse()
                .map_err(|_| StoreError::Invalid("site".to_owned()))?,
        ),
        name: f.name.clone(),
        device_key: f.device_key.clone(),
        subnet: f.subnet.clone(),
        kind: f.kind.clone(),
        engine: f.engine.clone(),
        sensor_id: opt_number::<i64>("sensor", &f.sensor_id)?.map(SensorId),
        weekdays,
        hour_from: opt_number("from hour", &f.hour_from)?,
        hour_to: opt_number("to hour", &f.hour_to)?,
    })
}

/// `POST /exclusions`.
pub(crate) async fn create_exclusion(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    addr: ClientAddr,
    Form(form): Form<ExclusionForm>,
) -> Response {
    let created = match exclusion_spec(&form) {
        Ok(spec) => {
            state
                .store()
                .create_exclusion(&user.scope, &spec, &user.name, now())
                .await
        }
        Err(e) => Err(e),
    };
    match created {
        Ok(e) => {
            audit::record(
                &state,
                Some(&user),
                addr.0,
                "exclusion.create",
                &format!("exclusion:{}", e.id),
                &format!("site {} name {:?}", e.spec.site_id, e.spec.name),
                Outcome::Ok,
            )
            .await;
            see_other("/exclusions")
        }
        Err(e) => {
            let (status, message) = form_error(e);
            render_exclusions(&state, &user, status, Some(&message)).await
        }
    }
}

/// `POST /exclusions/{id}/delete`.
pub(crate) async fn delete_exclusion(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    addr: ClientAddr,
    Path(id): Path<i64>,
) -> Response {
    match state.store().delete_exclusion(&user.scope, id).await {
        Ok(()) => {
            audit::record(
                &state,
                Some(&user),
                addr.0,
                "exclusion.delete",
                &format!("exclusion:{id}"),
                "",
                Outcome::Ok,
            )
            .await;
            see_other("/exclusions")
        }
        Err(e) => failure(e),
    }
}

/// `GET /alert-rules`.
pub(crate) async fn rules(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
) -> Response {
    render_rules(&state, &user, StatusCode::OK, None).await
}

async fn render_rules(
    state: &AppState,
    user: &UserPrincipal,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let (rules, sites) = match tokio::try_join!(
        state.store().list_alert_rules(&user.scope, None),
        state.store().list_sites(&user.scope)
    ) {
        Ok(all) => all,
        Err(e) => return failure(e),
    };
    let manage = user.role.allows(Permission::ManageAlerts);
    let content = html! {
        div.heading { h1 { "Custom alert rules" } a href="/alerts" { "Alerts" } }
        p.muted { "An event matching a rule raises a policy alert of kind custom.<rule id>, one per source and destination." }
        (notice(error))
        @if manage {
            section.panel {
                h2 { "New rule" }
                form.stacked method="post" action="/alert-rules" {
                    (csrf_field(user))
                    label { "Site " select name="site_id" { @for s in &sites { option value=(s.id) { (s.name) } } } }
                    label { "Title " input type="text" name="title" required maxlength="256"; }
                    label { "Protocol " input type="text" name="protocol" required placeholder="modbus"; }
                    label { "Operation (* for any) " input type="text" name="operation" required placeholder="write_multiple_registers"; }
                    label { "Detail contains " input type="text" name="detail_contains"; }
                    label { "Source subnet " input type="text" name="src_subnet" placeholder="10.0.0.0/24"; }
                    label { "Destination subnet " input type="text" name="dst_subnet"; }
                    label { "Severity " select name="severity" { @for s in ironward_model::Severity::ALL { option value=(s.as_str()) { (s.as_str()) } } } }
                    button type="submit" { "Create rule" }
                }
            }
        }
        table {
            thead { tr { th { "Id" } th { "Title" } th { "Site" } th { "Match" } th { "Severity" } th { "Fired" } @if manage { th {} } } }
            tbody {
                @for r in &rules.items {
                    tr {
                        td { (r.id) }
                        td { (r.spec.title) }
                        td { (sites.iter().find(|s| s.id == r.spec.site_id).map(|s| s.name.clone()).unwrap_or_default()) }
                        td {
                            code { (r.spec.protocol) " " (r.spec.operation) }
                            @if let Some(d) = &r.spec.detail_contains { " detail ~ " code { (d) } }
                            @if let Some(s) = &r.spec.src_subnet { " from " code { (s) } }
                            @if let Some(s) = &r.spec.dst_subnet { " to " code { (s) } }
                            @if !r.spec.enabled { " (disabled)" }
                        }
                        td { (badge(&r.spec.severity)) }
                        td { (r.fired) }
                        @if manage {
                            td {
                                form.inline method="post" action={"/alert-rules/" (r.id) "/delete"} data-confirm={"Delete rule " (r.spec.title) "?"} {
                                    (csrf_field(user))
                                    button.danger type="submit" { "Delete" }
                                }
                            }
                        }
                    }
                }
                @if rules.items.is_empty() { tr { td colspan="7" .muted { "No custom rules." } } }
            }
        }
    };
    (
        status,
        html_response(page(user, "Custom alert rules", "/alerts", content)),
    )
        .into_response()
}

/// The new-rule form.
#[derive(Debug, Deserialize)]
pub(crate) struct RuleForm {
    #[serde(default)]
    site_id: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    protocol: String,
    #[serde(default)]
    operation: String,
    #[serde(default)]
    detail_contains: Option<String>,
    #[serde(default)]
    src_subnet: Option<String>,
    #[serde(default)]
    dst_subnet: Option<String>,
    #[serde(default)]
    severity: String,
}

/// `POST /alert-rules`.
pub(crate) async fn create_rule(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    addr: ClientAddr,
    Form(f): Form<RuleForm>,
) -> Response {
    let created = match f.site_id.trim().parse::<i64>() {
        Ok(site) => {
            let spec = AlertRuleSpec {
                site_id: SiteId(site),
                title: f.title,
                protocol: f.protocol,
                operation: f.operation,
                detail_contains: f.detail_contains,
                src_subnet: f.src_subnet,
                dst_subnet: f.dst_subnet,
                severity: f.severity,
                enabled: true,
            };
            state
                .store()
                .create_alert_rule(&user.scope, &spec, &user.name, now())
                .await
        }
        Err(_) => Err(StoreError::Invalid("site".to_owned())),
    };
    match created {
        Ok(r) => {
            audit::record(
                &state,
                Some(&user),
                addr.0,
                "alert_rule.create",
                &format!("alert_rule:{}", r.id),
                &format!(
                    "site {} {} {}",
                    r.spec.site_id, r.spec.protocol, r.spec.operation
                ),
                Outcome::Ok,
            )
            .await;
            see_other("/alert-rules")
        }
        Err(e) => {
            let (status, message) = form_error(e);
            render_rules(&state, &user, status, Some(&message)).await
        }
    }
}

/// `POST /alert-rules/{id}/delete`.
pub(crate) async fn delete_rule(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    addr: ClientAddr,
    Path(id): Path<i64>,
) -> Response {
    match state.store().delete_alert_rule(&user.scope, id).await {
        Ok(()) => {
            audit::record(
                &state,
                Some(&user),
                addr.0,
                "alert_rule.delete",
                &format!("alert_rule:{id}"),
                "",
                Outcome::Ok,
            )
            .await;
            see_other("/alert-rules")
        }
        Err(e) => failure(e),
    }
}
