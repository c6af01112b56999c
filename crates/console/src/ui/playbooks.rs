//! `/playbooks` (administrators): playbooks — conditions and ordered actions — with a form to
//! create one, enable/disable, delete, and `/playbooks/{id}`, a playbook's recent runs with each step's state,
//! attempts and errors.
//!
//! Like the forwarding rules, the form becomes the API's request and goes through the API's
//! function ([`crate::api::forwarding::add_playbook`]): same checks, same audit. A ticketing
//! webhook's secret is write-only (the pages say whether one is set).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use ironward_store::{DeviceGroup, ForwardRule, Playbook, PlaybookRun, Scope, Site, StoreError};
use maud::{html, Markup};
use serde_json::{json, Value};

use crate::access::UserPrincipal;
use crate::api::forwarding::{add_playbook, remove_playbook, switch_playbook, PlaybookRequest};
use crate::forward::playbooks::MAX_ACTIONS;
use crate::state::AppState;
use crate::ui::forwarding::{
    field, filter_fields, filter_from, filter_summary, raw, refusal, tabs, tls_fields, tls_from,
    Fields, SEVERITIES,
};
use crate::ui::layout::{csrf_field, html_response, page};
use crate::ui::widgets::{failure, notice, see_other, when, ClientAddr};

/// Action slots the creation form offers (the API takes up to [`MAX_ACTIONS`]).
const FORM_STEPS: usize = 6;

/// Runs shown on a playbook's page (the newest).
const RUNS_SHOWN: i64 = 100;

/// The action types, as the API names them, with what the form calls them.
const ACTION_TYPES: [(&str, &str); 6] = [
    ("notify", "Notify through a forwarding rule"),
    ("webhook", "Webhook to a ticketing system"),
    ("tag", "Tag the alert's devices (a group of that name)"),
    ("group", "Add the alert's devices to a group"),
    ("raise_severity", "Raise the alert's severity"),
    ("close_as_expected", "Close the alert as expected"),
];

/// The field `step<i>_<name>` of action slot `i` (1-based).
fn step_field(i: usize, name: &str) -> String {
    format!("step{i}_{name}")
}

/// The ordered actions the form's slots describe (empty slots skipped); the message names the
/// slot whose choice is missing. What the values mean is checked by the API's function.
fn actions_from(form: &Fields) -> Result<Value, String> {
    let mut actions = Vec::new();
    for i in 1..=FORM_STEPS {
        let get = |name: &str| field(form, &step_field(i, name));
        let id = |name: &str, what: &str| {
            get(name)
                .parse::<i64>()
                .map_err(|_| format!("Step {i}: choose {what}."))
        };
        let action = match get("type") {
            "" => continue,
            "notify" => json!({ "type": "notify", "rule": id("rule", "a forwarding rule")? }),
            "webhook" => json!({
                "type": "webhook",
                "url": get("url"),
                "secret": raw(form, &step_field(i, "secret")),
                "tls": tls_from(form, &format!("step{i}_")),
            }),
            "tag" => json!({ "type": "tag", "tag": get("tag") }),
            "group" => json!({ "type": "group", "group": id("group", "a group")? }),
            "raise_severity" => json!({ "type": "raise_severity", "to": get("to") }),
            "close_as_expected" => json!({ "type": "close_as_expected" }),
            other => return Err(format!("Step {i}: unknown action {other:?}.")),
        };
        actions.push(action);
    }
    if actions.is_empty() {
        return Err("Choose at least one action.".to_owned());
    }
    Ok(Value::Array(actions))
}

/// One action in words, from the stored (or redacted) document.
fn action_text(action: &Value, rules: &[ForwardRule], groups: &[DeviceGroup]) -> String {
    let text = |key: &str| action.get(key).and_then(Value::as_str).unwrap_or("");
    let number = |key: &str| action.get(key).and_then(Value::as_i64).unwrap_or(0);
    match text("type") {
        "notify" => {
            let id = number("rule");
            match rules.iter().find(|r| r.id == id) {
                Some(r) => format!("Notify through rule {:?}", r.name),
                None => format!("Notify through rule #{id} (deleted)"),
            }
        }
        "webhook" => {
            let secret = action
                .get("secret")
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty())
                || action.get("has_secret").and_then(Value::as_bool) == Some(true);
            format!(
                "Webhook to {} (secret {})",
                text("url"),
                if secret { "set" } else { "not set" }
            )
        }
        "tag" => format!("Tag the devices {:?}", text("tag")),
        "group" => {
            let id = number("group");
            match groups.iter().find(|g| g.id.0 == id) {
                Some(g) => format!("Add the devices to group {:?}", g.name),
                None => format!("Add the devices to group #{id} (deleted)"),
            }
        }
        "raise_severity" => format!("Raise the severity to {}", text("to")),
        "close_as_expected" => "Close as expected".to_owned(),
        other => other.to_owned(),
    }
}

/// The stored actions, as a list (an unreadable document reads as none).
fn actions_of(playbook: &Playbook) -> Vec<Value> {
    playbook.actions.as_array().cloned().unwrap_or_default()
}

/// `GET /playbooks`.
pub(crate) async fn playbooks(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
) -> Response {
    render(&state, &user, StatusCode::OK, None, &Vec::new()).await
}

/// Everything the pages name: rules, groups and sites.
async fn names(
    state: &AppState,
) -> Result<(Vec<ForwardRule>, Vec<DeviceGroup>, Vec<Site>), StoreError> {
    let store = state.store();
    tokio::try_join!(
        store.list_forward_rules(),
        store.list_groups(),
        store.list_sites(&Scope::All),
    )
}

/// The list and the creation form; `form` refills it after a refusal (secrets left out).
async fn render(
    state: &AppState,
    user: &UserPrincipal,
    status: StatusCode,
    error: Option<&str>,
    form: &Fields,
) -> Response {
    let (list, (rules, groups, sites)) =
        match tokio::try_join!(state.store().list_playbooks(), names(state)) {
            Ok(all) => all,
            Err(e) => return failure(e),
        };
    let form: Fields = form
        .iter()
        .filter(|(k, _)| !k.ends_with("_secret"))
        .cloned()
        .collect();
    let content = html! {
        h1 { "Playbooks" }
        (tabs("/playbooks"))
        (notice(error))
        table.playbooks {
            thead { tr { th { "Playbook" } th { "When" } th { "Actions, in order" } th { "State" } th {} } }
            tbody {
                @for p in &list {
                    tr {
                        td { a href={"/playbooks/" (p.id)} { (p.name) } }
                        td { (filter_summary(&p.filter, &sites)) }
                        td { ol.steps { @for a in actions_of(p) { li { (action_text(&a, &rules, &groups)) } } } }
                        td { @if p.enabled { span.badge.ok { "enabled" } } @else { span.badge { "disabled" } } }
                        td {
                            div.actions {
                                a.button.secondary href={"/playbooks/" (p.id)} { "Runs" }
                                form.inline method="post" action={"/playbooks/" (p.id) "/enabled"} {
                                    (csrf_field(user))
                                    input type="hidden" name="enabled" value=(if p.enabled { "false" } else { "true" });
                                    button.secondary type="submit" { @if p.enabled { "Disable" } @else { "Enable" } }
                                }
                                form.inline method="post" action={"/playbooks/" (p.id) "/delete"}
                                    data-confirm={"Delete playbook " (p.name) " and its runs?"} {
                                    (csrf_field(user))
                                    button.danger type="submit" { "Delete" }
                                }
                            }
                        }
                    }
                }
                @if list.is_empty() { tr { td colspan="5" .muted { "No playbooks yet." } } }
            }
        }
        section.panel {
            h2 { "New playbook" }
            (playbook_form(user, &form, &rules, &groups, &sites))
        }
    };
    (
        status,
        html_response(page(user, "Playbooks", "/forwarding", content)),
    )
        .into_response()
}

fn playbook_form(
    user: &UserPrincipal,
    form: &Fields,
    rules: &[ForwardRule],
    groups: &[DeviceGroup],
    sites: &[Site],
) -> Markup {
    html! {
        form.stack.wide method="post" action="/playbooks" {
            (csrf_field(user))
            label { "Name" input type="text" name="name" required maxlength="200" autocomplete="off" value=(field(form, "name")); }
            (filter_fields(form, sites))
            p.muted { "Actions run in this order; empty steps are skipped. A step that fails is retried from that step. (The API takes up to " (MAX_ACTIONS) " steps.)" }
            @for i in 1..=FORM_STEPS {
                @let get = |name: &str| field(form, &step_field(i, name)).to_owned();
                details.step open[i == 1 || !get("type").is_empty()] {
                    summary { "Step " (i) }
                    label { "Action"
                        select name=(step_field(i, "type")) {
                            option value="" { "— none —" }
                            @for (v, label) in ACTION_TYPES {
                                option value=(v) selected[get("type") == v] { (label) }
                            }
                        }
                    }
                    label { "Forwarding rule (notify)"
                        select name=(step_field(i, "rule")) {
                            option value="" { "—" }
                            @for r in rules { option value=(r.id) selected[get("rule") == r.id.to_string()] { (r.name) } }
                        }
                    }
                    label { "Group (add to group)"
                        select name=(step_field(i, "group")) {
                            option value="" { "—" }
                            @for g in groups { option value=(g.id.0) selected[get("group") == g.id.0.to_string()] { (g.name) } }
                        }
                    }
                    label { "Tag (tag)" input type="text" name=(step_field(i, "tag")) maxlength="200" value=(get("tag")); }
                    label { "Raise to (raise severity)"
                        select name=(step_field(i, "to")) {
                            @for s in SEVERITIES { option value=(s) selected[get("to") == s] { (s) } }
                        }
                    }
                    label { "Ticketing URL (webhook)" input type="text" name=(step_field(i, "url")) maxlength="2000" value=(get("url")); }
                    label { "Signing secret (webhook, write-only)" input type="password" name=(step_field(i, "secret")) maxlength="1024" autocomplete="new-password"; }
                    (tls_fields(form, &format!("step{i}_")))
                }
            }
            button type="submit" { "Create playbook" }
        }
    }
}

/// `POST /playbooks`.
pub(crate) async fn create_playbook(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    Form(form): Form<Fields>,
) -> Response {
    let request = filter_from(&form).and_then(|filter| {
        Ok(PlaybookRequest {
            name: field(&form, "name").to_owned(),
            filter,
            actions: actions_from(&form)?,
        })
    });
    let outcome = match request {
        Ok(request) => add_playbook(&state, &user, address, &request)
            .await
            .map_err(refusal),
        Err(problem) => Err((StatusCode::BAD_REQUEST, problem)),
    };
    match outcome {
        Ok(_) => see_other("/playbooks"),
        Err((status, message)) => render(&state, &user, status, Some(&message), &form).await,
    }
}

/// `POST /playbooks/{id}/enabled` (`enabled=true|false`).
pub(crate) async fn set_enabled(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    Path(id): Path<i64>,
    Form(form): Form<Fields>,
) -> Response {
    let outcome = match field(&form, "enabled") {
        "true" => switch_playbook(&state, &user, address, id, true).await,
        "false" => switch_playbook(&state, &user, address, id, false).await,
        _ => Err(crate::error::ApiError::bad_request(
            "Say whether the playbook is enabled.",
        )),
    };
    match outcome {
        Ok(_) => see_other("/playbooks"),
        Err(e) => {
            let (status, message) = refusal(e);
            render(&state, &user, status, Some(&message), &Vec::new()).await
        }
    }
}

/// `POST /playbooks/{id}/delete`.
pub(crate) async fn delete_playbook(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    Path(id): Path<i64>,
) -> Response {
    match remove_playbook(&state, &user, address, id).await {
        Ok(()) => see_other("/playbooks"),
        Err(e) => {
            let (status, message) = refusal(e);
            render(&state, &user, status, Some(&message), &Vec::new()).await
        }
    }
}

/// Where a run stands on step `index` (0-based), and the run's last log line about it.
fn step_state(run: &PlaybookRun, index: usize) -> (&'static str, &'static str, Option<&str>) {
    let step = usize::try_from(run.step).unwrap_or(usize::MAX);
    let prefix = format!("step {}:", index + 1);
    let line = run
        .log
        .iter()
        .rev()
        .find(|l| l.starts_with(&prefix))
        .map(|l| l[prefix.len()..].trim());
    let (label, class) = if index < step {
        ("done", "badge ok")
    } else if index > step {
        ("not reached", "badge")
    } else {
        match run.status.as_str() {
            "failed" => ("failed", "badge critical"),
            _ if run.attempts > 0 => ("retrying", "badge warning"),
            _ => ("waiting", "badge"),
        }
    };
    (label, class, line)
}

/// `GET /playbooks/{id}`: the playbook and its newest runs.
pub(crate) async fn playbook(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    Path(id): Path<i64>,
) -> Response {
    let (list, runs, (rules, groups, sites)) = match tokio::try_join!(
        state.store().list_playbooks(),
        state.store().list_playbook_runs(Some(id), RUNS_SHOWN),
        names(&state),
    ) {
        Ok(all) => all,
        Err(e) => return failure(e),
    };
    let Some(playbook) = list.into_iter().find(|p| p.id == id) else {
        return failure(StoreError::NotFound);
    };
    let actions = actions_of(&playbook);
    let content = html! {
        h1 { "Playbook " (playbook.name) }
        (tabs("/playbooks"))
        section.panel {
            p { "When: " (filter_summary(&playbook.filter, &sites)) }
            ol.steps { @for a in &actions { li { (action_text(a, &rules, &groups)) } } }
        }
        h2 { "Recent runs" }
        table.runs {
            thead { tr {
                th { "Run" } th { "Alert" } th { "Status" } th.num { "Attempts" } th { "Steps" }
                th { "Started" } th { "Finished" }
            } }
            tbody {
                @for run in &runs {
                    tr {
                        td { (run.id) }
                        td { a href={"/alerts/" (run.alert_id.0)} { (run.alert.title) } br; span.muted { "occurrence " (run.occurrence) } }
                        td {
                            @let class = match run.status.as_str() { "done" => "ok", "failed" => "critical", _ => "warning" };
                            span class={"badge " (class)} { (run.status) }
                        }
                        td.num { (run.attempts) }
                        td.detail {
                            ol.steps {
                                @for (index, a) in actions.iter().enumerate() {
                                    @let (label, class, line) = step_state(run, index);
                                    li {
                                        (action_text(a, &rules, &groups)) " "
                                        span class=(class) { (label) }
                                        @if let Some(line) = line { br; span.muted { (line) } }
                                    }
                                }
                            }
                        }
                        td { (when(Some(run.created_at))) }
                        td { (when(run.finished_at)) }
                    }
                }
                @if runs.is_empty() { tr { td colspan="7" .muted { "No runs yet: a run starts when a matching alert arrives." } } }
            }
        }
    };
    html_response(page(
        &user,
        &format!("Playbook {}", playbook.name),
        "/forwarding",
        content,
    ))
}
