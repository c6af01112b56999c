//! `/forwarding` (administrators): forwarding rules — the list with each rule's queue (waiting
//! messages, last delivery, current error), a form to create one (filter; syslog, webhook or
//! e-mail destination with its TLS trust), enable/disable and delete.
//!
//! The form is turned into the same request the API takes and handed to the API's own
//! functions ([`crate::api::forwarding::add_rule`] and friends): one set of checks, one audit
//! record per change, whichever way an administrator works. Secrets (webhook key, SMTP
//! password) are write-only: password fields are never filled in, not even after a refused
//! form, and the list only says whether one is set.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use ironward_store::{AlertFilter, ForwardRule, RuleQueueStatus, Scope, Site, SiteId};
use maud::{html, Markup};
use serde_json::{json, Map, Value};

use crate::access::UserPrincipal;
use crate::api::forwarding::{add_rule, remove_rule, switch_rule, RuleRequest};
use crate::error::ApiError;
use crate::state::{now, AppState};
use crate::ui::layout::{csrf_field, html_response, page};
use crate::ui::widgets::{conflict_text, failure, notice, see_other, when, ClientAddr, SECOND};

/// A submitted form: every field in order (check boxes repeat their name).
pub(super) type Fields = Vec<(String, String)>;

/// The severities, most urgent first, as the filter and actions name them.
pub(super) const SEVERITIES: [&str; 4] = ["critical", "major", "minor", "warning"];

/// The detection engines a filter can name.
pub(super) const ENGINES: [&str; 5] = ["policy", "protocol", "malware", "anomaly", "operational"];

/// The form fields holding secrets: never written back into a page.
const SECRET_FIELDS: [&str; 2] = ["webhook_secret", "smtp_password"];

/// The first value of `name`, trimmed (empty when absent).
pub(super) fn field<'f>(form: &'f Fields, name: &str) -> &'f str {
    form.iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.trim())
}

/// The raw first value of `name` (secrets and PEM text keep their spaces).
pub(super) fn raw<'f>(form: &'f Fields, name: &str) -> &'f str {
    form.iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// Every value of `name` (ticked check boxes).
pub(super) fn all<'f>(form: &'f Fields, name: &str) -> Vec<&'f str> {
    form.iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// A comma- or line-separated list, without empty entries.
pub(super) fn list(text: &str) -> Vec<String> {
    text.split([',', '\n'])
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The filter part of a form (`min_severity`, `engine`, `site`, `protocols`, `kinds`); the
/// store checks it ([`AlertFilter::validate`]) when the rule or playbook is created.
pub(super) fn filter_from(form: &Fields) -> Result<AlertFilter, String> {
    let min_severity = Some(field(form, "min_severity"))
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let mut sites = Vec::new();
    for site in all(form, "site") {
        let id = site
            .parse::<i64>()
            .map_err(|_| format!("Unknown site {site:?}."))?;
        sites.push(SiteId(id));
    }
    Ok(AlertFilter {
        min_severity,
        engines: all(form, "engine").into_iter().map(str::to_owned).collect(),
        sites,
        protocols: list(field(form, "protocols")),
        kinds: list(field(form, "kinds")),
    })
}

/// The filter's fields, filled from a refused form when there is one.
pub(super) fn filter_fields(form: &Fields, sites: &[Site]) -> Markup {
    let engines = all(form, "engine");
    let chosen_sites = all(form, "site");
    html! {
        fieldset {
            legend { "Which alerts (nothing chosen: all)" }
            label { "Least severity"
                select name="min_severity" {
                    option value="" { "any" }
                    @for s in SEVERITIES {
                        option value=(s) selected[field(form, "min_severity") == s] {
                            (s) @if s != "critical" { " or more urgent" }
                        }
                    }
                }
            }
            div { "Engines"
                span.checks {
                    @for e in ENGINES {
                        label.inline { input type="checkbox" name="engine" value=(e) checked[engines.contains(&e)]; (e) }
                    }
                }
            }
            @if !sites.is_empty() {
                div { "Sites"
                    span.checks {
                        @for s in sites {
                            @let id = s.id.to_string();
                            label.inline { input type="checkbox" name="site" value=(id) checked[chosen_sites.contains(&id.as_str())]; (s.name) }
                        }
                    }
                }
            }
            label { "Protocols (comma-separated, e.g. modbus, s7comm)"
                input type="text" name="protocols" maxlength="2000" value=(field(form, "protocols"));
            }
            label { "Alert kinds (comma-separated, e.g. policy.unauthorized_write)"
                input type="text" name="kinds" maxlength="4000" value=(field(form, "kinds"));
            }
        }
    }
}

/// The filter in a few words (`major or more · policy, malware · modbus`).
pub(super) fn filter_summary(filter: &AlertFilter, sites: &[Site]) -> String {
    let mut parts = Vec::new();
    match filter.min_severity.as_deref() {
        Some("critical") => parts.push("critical".to_owned()),
        Some(s) => parts.push(format!("{s} or more urgent")),
        None => {}
    }
    if !filter.engines.is_empty() {
        parts.push(filter.engines.join(", "));
    }
    if !filter.sites.is_empty() {
        let names: Vec<String> = filter
            .sites
            .iter()
            .map(|id| {
                sites
                    .iter()
                    .find(|s| s.id == *id)
                    .map_or_else(|| format!("site #{id}"), |s| s.name.clone())
            })
            .collect();
        parts.push(names.join(", "));
    }
    if !filter.protocols.is_empty() {
        parts.push(filter.protocols.join(", "));
    }
    if !filter.kinds.is_empty() {
        parts.push(filter.kinds.join(", "));
    }
    if parts.is_empty() {
        "all alerts".to_owned()
    } else {
        parts.join(" · ")
    }
}

/// The TLS trust fields named `<prefix>ca_pem`, `<prefix>fingerprint`, `<prefix>server_name`
/// as the `tls` object of a destination (only what was filled in).
pub(super) fn tls_from(form: &Fields, prefix: &str) -> Value {
    let mut tls = Map::new();
    for (key, name) in [
        ("ca_pem", "ca_pem"),
        ("fingerprint", "fingerprint"),
        ("server_name", "server_name"),
    ] {
        let value = raw(form, &format!("{prefix}{name}")).trim();
        if !value.is_empty() {
            tls.insert(key.to_owned(), Value::String(value.to_owned()));
        }
    }
    Value::Object(tls)
}

/// A port field as a number; the destination's checks refuse 0.
fn port(form: &Fields, name: &str, what: &str) -> Result<u16, String> {
    field(form, name)
        .parse()
        .map_err(|_| format!("{what}: the port is a number from 1 to 65535."))
}

/// The rule request a form describes; the message says which field could not be read. What
/// the values mean (hosts, URL, PEM, addresses) is checked by the API's function.
fn request_from(form: &Fields) -> Result<RuleRequest, String> {
    let filter = filter_from(form)?;
    let tls = tls_from(form, "");
    let (destination, secret) = match field(form, "kind") {
        "syslog" => {
            let facility: u8 = match field(form, "facility") {
                "" => 16,
                f => f
                    .parse()
                    .map_err(|_| "Syslog: the facility is a number from 0 to 23.".to_owned())?,
            };
            (
                json!({
                    "type": "syslog",
                    "host": field(form, "syslog_host"),
                    "port": port(form, "syslog_port", "Syslog")?,
                    "transport": field(form, "transport"),
                    "format": field(form, "format"),
                    "facility": facility,
                    "tls": tls,
                }),
                String::new(),
            )
        }
        "webhook" => (
            json!({ "type": "webhook", "url": field(form, "url"), "tls": tls }),
            raw(form, "webhook_secret").to_owned(),
        ),
        "email" => {
            let mut doc = json!({
                "type": "email",
                "host": field(form, "smtp_host"),
                "port": port(form, "smtp_port", "E-mail")?,
                "from": field(form, "from"),
                "to": list(field(form, "to")),
                "tls": tls,
            });
            let user = field(form, "smtp_user");
            if !user.is_empty() {
                doc["username"] = Value::String(user.to_owned());
            }
            (doc, raw(form, "smtp_password").to_owned())
        }
        _ => return Err("Choose where to send: syslog, webhook or e-mail.".to_owned()),
    };
    Ok(RuleRequest {
        name: field(form, "name").to_owned(),
        filter,
        destination,
        secret,
    })
}

/// Where a rule sends, in a few words (`syslog tls siem.example:6514`).
fn destination_summary(destination: &Value) -> String {
    let text = |key: &str| destination.get(key).and_then(Value::as_str).unwrap_or("");
    let port = destination.get("port").and_then(Value::as_u64).unwrap_or(0);
    match text("type") {
        "syslog" => format!("syslog {} {}:{port}", text("transport"), text("host")),
        "webhook" => format!("webhook {}", text("url")),
        "email" => {
            let to: Vec<&str> = destination
                .get("to")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            format!("e-mail via {}:{port} to {}", text("host"), to.join(", "))
        }
        other => other.to_owned(),
    }
}

/// The message format a rule's receivers get.
fn format_of(destination: &Value) -> &str {
    match destination.get("type").and_then(Value::as_str) {
        Some("syslog") => destination
            .get("format")
            .and_then(Value::as_str)
            .unwrap_or(""),
        Some("webhook") => "json (signed)",
        Some("email") => "text",
        _ => "",
    }
}

/// Whether the rule's destination uses a secret at all (syslog does not).
fn uses_secret(destination: &Value) -> bool {
    matches!(
        destination.get("type").and_then(Value::as_str),
        Some("webhook" | "email")
    )
}

/// The links between the two pages of forwarding.
pub(super) fn tabs(active: &str) -> Markup {
    html! {
        nav.tabs {
            a href="/forwarding" class=[(active == "/forwarding").then_some("active")] { "Forwarding rules" }
            a href="/playbooks" class=[(active == "/playbooks").then_some("active")] { "Playbooks" }
        }
    }
}

/// `GET /forwarding`.
pub(crate) async fn forwarding(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
) -> Response {
    render(&state, &user, StatusCode::OK, None, &Vec::new()).await
}

/// The page; `form` refills the creation form after a refusal (secrets left out).
async fn render(
    state: &AppState,
    user: &UserPrincipal,
    status: StatusCode,
    error: Option<&str>,
    form: &Fields,
) -> Response {
    let store = state.store();
    let (rules, queues, stats, sites) = match tokio::try_join!(
        store.list_forward_rules(),
        store.forward_rule_status(),
        store.forward_stats(),
        store.list_sites(&Scope::All),
    ) {
        Ok(all) => all,
        Err(e) => return failure(e),
    };
    let form: Fields = form
        .iter()
        .filter(|(k, _)| !SECRET_FIELDS.contains(&k.as_str()))
        .cloned()
        .collect();
    let now = now();
    let content = html! {
        h1 { "Forwarding" }
        (tabs("/forwarding"))
        (notice(error))
        section.panel.stats {
            div.grid {
                div.stat { span.value { (stats.queued) } span.label { "waiting in the queue" } }
                div.stat { span.value { (stats.delivered) } span.label { "delivered" } }
                div.stat { span.value { (stats.overflow) } span.label { "dropped: queue full" } }
                div.stat { span.value { (stats.playbook_overflow) } span.label { "playbook runs dropped" } }
            }
        }
        table.rules {
            thead { tr {
                th { "Rule" } th { "Destination" } th { "Format" } th { "Alerts" } th { "Secret" }
                th { "State" } th.num { "Waiting" } th { "Last delivery" } th { "Last error" } th {}
            } }
            tbody {
                @for rule in &rules {
                    (rule_row(user, rule, queues.iter().find(|q| q.rule_id == rule.id), &sites, now))
                }
                @if rules.is_empty() { tr { td colspan="10" .muted { "No forwarding rules yet." } } }
            }
        }
        section.panel {
            h2 { "New forwarding rule" }
            (rule_form(user, &form, &sites))
        }
    };
    (
        status,
        html_response(page(user, "Forwarding", "/forwarding", content)),
    )
        .into_response()
}

fn rule_row(
    user: &UserPrincipal,
    rule: &ForwardRule,
    queue: Option<&RuleQueueStatus>,
    sites: &[Site],
    now: ironward_model::Timestamp,
) -> Markup {
    let queue = queue.cloned().unwrap_or_default();
    html! {
        tr {
            td { (rule.name) }
            td.detail { (destination_summary(&rule.destination)) }
            td { (format_of(&rule.destination)) }
            td { (filter_summary(&rule.filter, sites)) }
            td {
                @if !uses_secret(&rule.destination) { span.muted { "none needed" } }
                @else if rule.has_secret { "set" }
                @else { span.muted { "not set" } }
            }
            td {
                @if rule.enabled { span.badge.ok { "enabled" } } @else { span.badge { "disabled" } }
            }
            td.num {
                (queue.queued)
                @if queue.attempts > 0 { br; span.muted { (queue.attempts) " attempt(s); next " (ago_or_due(queue.next_attempt, now)) } }
            }
            td { (when(queue.last_delivery)) @if queue.delivered > 0 { br; span.muted { (queue.delivered) " delivered" } } }
            td.detail { @if let Some(e) = &queue.last_error { span.error-text { (e) } } @else { span.muted { "—" } } }
            td {
                div.actions {
                    form.inline method="post" action={"/forwarding/rules/" (rule.id) "/enabled"} {
                        (csrf_field(user))
                        input type="hidden" name="enabled" value=(if rule.enabled { "false" } else { "true" });
                        button.secondary type="submit" { @if rule.enabled { "Disable" } @else { "Enable" } }
                    }
                    form.inline method="post" action={"/forwarding/rules/" (rule.id) "/delete"}
                        data-confirm={"Delete forwarding rule " (rule.name) " and the messages waiting for it?"} {
                        (csrf_field(user))
                        button.danger type="submit" { "Delete" }
                    }
                }
            }
        }
    }
}

/// "in 5 min" for a time ahead, "now" once due.
fn ago_or_due(t: Option<ironward_model::Timestamp>, now: ironward_model::Timestamp) -> String {
    match t {
        Some(t) if t > now => {
            let s = (t.0 - now.0) / SECOND;
            if s < 60 {
                format!("in {s} s")
            } else if s < 3600 {
                format!("in {} min", s / 60)
            } else {
                format!("in {} h", s / 3600)
            }
        }
        Some(_) => "now".to_owned(),
        None => "—".to_owned(),
    }
}

/// The TLS trust fields (used by syslog over TLS, https webhooks and STARTTLS).
pub(super) fn tls_fields(form: &Fields, prefix: &str) -> Markup {
    let name = |n: &str| format!("{prefix}{n}");
    html! {
        label { "Receiver certificate pin (sha256:<64 hex digits>)"
            input type="text" name=(name("fingerprint")) maxlength="200" autocomplete="off" value=(field(form, &name("fingerprint")));
        }
        label { "or CA certificates (PEM) the receiver's certificate must chain to"
            textarea name=(name("ca_pem")) rows="3" maxlength="65536" { (raw(form, &name("ca_pem"))) }
        }
    }
}

fn rule_form(user: &UserPrincipal, form: &Fields, sites: &[Site]) -> Markup {
    let kind = field(form, "kind");
    let or = |name: &str, default: &'static str| -> String {
        match field(form, name) {
            "" => default.to_owned(),
            v => v.to_owned(),
        }
    };
    html! {
        form.stack.wide method="post" action="/forwarding/rules" {
            (csrf_field(user))
            label { "Name" input type="text" name="name" required maxlength="200" autocomplete="off" value=(field(form, "name")); }
            (filter_fields(form, sites))
            fieldset {
                legend { "Where to" }
                div.checks {
                    label.inline { input type="radio" name="kind" value="syslog" checked[kind.is_empty() || kind == "syslog"]; "Syslog (SIEM)" }
                    label.inline { input type="radio" name="kind" value="webhook" checked[kind == "webhook"]; "Webhook" }
                    label.inline { input type="radio" name="kind" value="email" checked[kind == "email"]; "E-mail" }
                }
                fieldset {
                    legend { "Syslog (RFC 5424)" }
                    label { "Host" input type="text" name="syslog_host" maxlength="253" value=(field(form, "syslog_host")); }
                    label { "Port" input.short type="number" name="syslog_port" min="1" max="65535" value=(or("syslog_port", "514")); }
                    label { "Transport"
                        select name="transport" {
                            @for (v, label) in [("udp", "UDP"), ("tcp", "TCP"), ("tls", "TLS")] {
                                option value=(v) selected[field(form, "transport") == v] { (label) }
                            }
                        }
                    }
                    label { "Format"
                        select name="format" {
                            @for (v, label) in [("cef", "CEF (ArcSight)"), ("leef", "LEEF 2.0 (QRadar)"), ("json", "JSON")] {
                                option value=(v) selected[field(form, "format") == v] { (label) }
                            }
                        }
                    }
                    label { "Facility (0-23)" input.short type="number" name="facility" min="0" max="23" value=(or("facility", "16")); }
                }
                fieldset {
                    legend { "Webhook (JSON, signed with HMAC-SHA256)" }
                    label { "URL (http:// or https://)" input type="text" name="url" maxlength="2000" value=(field(form, "url")); }
                    label { "Signing secret (write-only)" input type="password" name="webhook_secret" maxlength="1024" autocomplete="new-password"; }
                }
                fieldset {
                    legend { "E-mail (SMTP with STARTTLS)" }
                    label { "SMTP server" input type="text" name="smtp_host" maxlength="253" value=(field(form, "smtp_host")); }
                    label { "Port" input.short type="number" name="smtp_port" min="1" max="65535" value=(or("smtp_port", "587")); }
                    label { "From" input type="email" name="from" maxlength="320" value=(field(form, "from")); }
                    label { "To (comma-separated)" input type="text" name="to" maxlength="8000" value=(field(form, "to")); }
                    label { "User name (when the server wants one)" input type="text" name="smtp_user" maxlength="256" autocomplete="off" value=(field(form, "smtp_user")); }
                    label { "Password (write-only)" input type="password" name="smtp_password" maxlength="1024" autocomplete="new-password"; }
                }
                fieldset {
                    legend { "TLS (syslog over TLS, https webhooks, STARTTLS): how the receiver is trusted" }
                    (tls_fields(form, ""))
                    label { "Name on the certificate (default: the host)"
                        input type="text" name="server_name" maxlength="253" value=(field(form, "server_name"));
                    }
                }
            }
            button type="submit" { "Create rule" }
        }
    }
}

/// The status and message a refused change is shown with: the API's message, except that a
/// taken name reads as such rather than as the database's words.
pub(super) fn refusal(error: ApiError) -> (StatusCode, String) {
    let message = if error.status == StatusCode::CONFLICT {
        conflict_text(&error.message)
    } else {
        error.message
    };
    (error.status, message)
}

/// `POST /forwarding/rules`.
pub(crate) async fn create_rule(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    Form(form): Form<Fields>,
) -> Response {
    let request = match request_from(&form) {
        Ok(r) => r,
        Err(problem) => {
            return render(
                &state,
                &user,
                StatusCode::BAD_REQUEST,
                Some(&problem),
                &form,
            )
            .await
        }
    };
    match add_rule(&state, &user, address, &request).await {
        Ok(_) => see_other("/forwarding"),
        Err(e) => {
            let (status, message) = refusal(e);
            render(&state, &user, status, Some(&message), &form).await
        }
    }
}

/// `POST /forwarding/rules/{id}/enabled` (`enabled=true|false`).
pub(crate) async fn set_enabled(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    Path(id): Path<i64>,
    Form(form): Form<Fields>,
) -> Response {
    let enabled = match field(&form, "enabled") {
        "true" => true,
        "false" => false,
        _ => {
            let message = "Say whether the rule is enabled.";
            return render(
                &state,
                &user,
                StatusCode::BAD_REQUEST,
                Some(message),
                &Vec::new(),
            )
            .await;
        }
    };
    changed(
        &state,
        &user,
        switch_rule(&state, &user, address, id, enabled).await,
    )
    .await
}

/// `POST /forwarding/rules/{id}/delete`.
pub(crate) async fn delete_rule(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    Path(id): Path<i64>,
) -> Response {
    changed(&state, &user, remove_rule(&state, &user, address, id).await).await
}

/// Back to the list after a change, or the list with why it was refused.
async fn changed<T>(
    state: &AppState,
    user: &UserPrincipal,
    outcome: Result<T, ApiError>,
) -> Response {
    match outcome {
        Ok(_) => see_other("/forwarding"),
        Err(e) => {
            let (status, message) = refusal(e);
            render(state, user, status, Some(&message), &Vec::new()).await
        }
    }
}
