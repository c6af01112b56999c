//! `/recommendations` and `/recommendations/{id}`: what to fix first in the caller's sites —
//! each recommendation with its severity, state, devices and score impact, filterable by site,
//! device group, domain, severity and state; a recommendation's page says what and why, the
//! remediation steps, the devices it lists (linked to their pages), and its state with author,
//! reason and expiry. Analysts and administrators accept the risk, record an exception (with a
//! reason and an optional expiry) or set it back to active.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use ironward_model::Timestamp;
use ironward_posture::{Asset, Catalog, Recommendation, StateKind, Workload};
use ironward_store::DeviceRef;
use maud::{html, Markup};
use serde::Deserialize;

use crate::access::{Permission, UserPrincipal};
use crate::api::posture::StateBody;
use crate::state::{now, AppState};
use crate::ui::initiatives::back_to;
use crate::ui::layout::{csrf_field, html_response, message_page, page};
use crate::ui::posture_filter::{filter_toolbar, PostureQuery, Scoped};
use crate::ui::posture_view::{
    domain_text, domain_value, points_text, severity_badge, severity_value, state_badge,
    state_text, state_value, DOMAINS, SEVERITIES, STATES,
};
use crate::ui::widgets::{link, present, see_other, when, ClientAddr};

/// Whether `r` passes the page's domain, severity and state filters.
fn selected(r: &Recommendation, query: &PostureQuery) -> bool {
    present(&query.domain).is_none_or(|d| domain_value(r.domain) == d)
        && present(&query.severity).is_none_or(|s| severity_value(r.severity) == s)
        && present(&query.state).is_none_or(|s| state_value(r.state) == s)
}

/// The query pairs of the list: site, group and the recommendation filters.
fn list_pairs(query: &PostureQuery) -> Vec<(&'static str, String)> {
    let mut pairs = query.pairs();
    for (k, v) in [
        ("domain", &query.domain),
        ("severity", &query.severity),
        ("state", &query.state),
    ] {
        pairs.push((k, present(v).unwrap_or_default().to_owned()));
    }
    pairs
}

/// `GET /recommendations`.
pub(crate) async fn recommendations(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    Query(query): Query<PostureQuery>,
) -> Response {
    let scoped = match Scoped::load(&state, &user, &query, now()).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let shown: Vec<&Recommendation> = scoped
        .current
        .posture
        .recommendations
        .iter()
        .filter(|r| selected(r, &query))
        .collect();
    let pairs = list_pairs(&query);
    let is = |value: &Option<String>, option: &str| present(value) == Some(option);
    let extra = html! {
        label { "Domain"
            select name="domain" {
                option value="" { "All" }
                @for d in DOMAINS { option value=(domain_value(d)) selected[is(&query.domain, domain_value(d))] { (domain_text(d)) } }
            }
        }
        label { "Severity"
            select name="severity" {
                option value="" { "All" }
                @for s in SEVERITIES.iter().rev() { option value=(severity_value(*s)) selected[is(&query.severity, severity_value(*s))] { (severity_value(*s)) } }
            }
        }
        label { "State"
            select name="state" {
                option value="" { "All" }
                @for s in STATES { option value=(state_value(s)) selected[is(&query.state, state_value(s))] { (state_text(s)) } }
            }
        }
    };
    let content = html! {
        div.heading {
            h1 { "Recommendations" }
            a.button.secondary href=(link("/api/v1/recommendations.csv", &pairs)) download { "Export CSV" }
        }
        (filter_toolbar("/recommendations", &scoped, &query, extra))
        @if !scoped.current.has_data {
            p.notice { "More data is required: no sensor of the sites shown has reported yet." }
        }
        table.compact.recommendations {
            thead { tr {
                th { "Recommendation" } th { "Domain" } th { "Severity" } th { "State" }
                th.num { "Devices" } th.num { "Score impact" } th { "Workload" } th { "Source" }
            } }
            tbody {
                @for r in &shown {
                    tr {
                        td { a href=(link(&format!("/recommendations/{}", r.id), &query.pairs())) { (r.title) } }
                        td { (domain_text(r.domain)) }
                        td { (severity_badge(r.severity)) }
                        td { (state_badge(r.state)) }
                        td.num { (r.devices.len()) }
                        td.num { (points_text(r.score_impact)) }
                        td { (workload_text(r.workload)) }
                        td { (r.source) }
                    }
                }
                @if shown.is_empty() {
                    tr { td colspan="8" .muted { "No recommendation matches." } }
                }
            }
        }
        p.muted {
            "Score impact: the points the recommendation's initiative gains when every device it "
            "lists is fixed. " a href=(link("/initiatives", &query.pairs())) { "Security initiatives" } "."
        }
    };
    html_response(page(&user, "Recommendations", "/recommendations", content)).into_response()
}

/// A workload as shown.
fn workload_text(w: Workload) -> &'static str {
    match w {
        Workload::Low => "low",
        Workload::Medium => "medium",
        Workload::High => "high",
    }
}

/// The devices one domain's entry of a recommendation lists, with their type and site.
fn devices_table(
    r: &Recommendation,
    assets: &BTreeMap<&str, &Asset>,
    rows: &HashMap<String, DeviceRef>,
) -> Markup {
    html! {
        table.compact.devices {
            thead { tr { th { "Device" } th { "IP" } th { "Type" } th { "Site" } } }
            tbody {
                @for d in &r.devices {
                    @let asset = assets.get(d.id.as_str());
                    @let name = d.name.clone().or_else(|| d.ip.map(|ip| ip.to_string())).unwrap_or_else(|| d.id.clone());
                    tr {
                        td {
                            @if let Some(row) = rows.get(&d.id) {
                                a href={"/devices/" (row)} { (name) }
                            } @else {
                                (name)
                            }
                        }
                        td { (d.ip.map(|ip| ip.to_string()).unwrap_or_default()) }
                        td { (asset.and_then(|a| a.device_type.as_deref()).unwrap_or("")) }
                        td { (asset.and_then(|a| a.site.as_deref()).unwrap_or("")) }
                    }
                }
                @if r.devices.is_empty() {
                    tr { td colspan="4" .muted { "No device of the sites shown needs this." } }
                }
            }
        }
    }
}

/// `pairs` and the entry's domain (each domain's devices table exports its own devices).
fn with_domain(
    pairs: &[(&'static str, String)],
    r: &Recommendation,
) -> Vec<(&'static str, String)> {
    let mut all = pairs.to_vec();
    all.push(("domain", domain_value(r.domain).to_owned()));
    all
}

/// What fixing one domain's devices is worth, in one sentence naming the initiative.
fn impact_sentence(r: &Recommendation) -> Markup {
    let devices = match r.devices.len() {
        1 => "its device is".to_owned(),
        n => format!("its {n} devices are"),
    };
    let initiative = Catalog::builtin()
        .initiatives
        .iter()
        .find(|i| i.domain == r.domain);
    html! {
        @if let Some(i) = initiative {
            (i.name) " gains " strong { (points_text(r.score_impact)) } " points when " (devices) " fixed."
        } @else {
            (domain_text(r.domain)) " devices (" (r.devices.len()) "): no security initiative counts them."
        }
    }
}

/// `GET /recommendations/{id}`: the definition, the state, and one devices table per domain
/// the recommendation lists devices in (each domain feeds its own initiative).
pub(crate) async fn recommendation(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    Path(id): Path<String>,
    Query(query): Query<PostureQuery>,
) -> Response {
    let Some(def) = Catalog::builtin()
        .recommendations
        .iter()
        .find(|d| d.id == id)
    else {
        return message_page(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such recommendation.",
        );
    };
    let scoped = match Scoped::load(&state, &user, &query, now()).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let entries: Vec<&Recommendation> = scoped
        .current
        .posture
        .recommendations
        .iter()
        .filter(|r| r.id == id)
        .collect();
    let assets: BTreeMap<&str, &Asset> = scoped
        .current
        .assets
        .iter()
        .map(|a| (a.id.as_str(), a))
        .collect();
    let in_force = scoped
        .current
        .settings
        .state_of(&def.id)
        .filter(|s| s.in_force(scoped.current.settings.now));
    let current = match in_force {
        Some(s) => s.kind,
        None if entries.iter().any(|r| !r.devices.is_empty()) => StateKind::Active,
        None => StateKind::Resolved,
    };
    let pairs = query.pairs();
    let path = format!("/recommendations/{}", def.id);
    let back = link(&path, &pairs);
    let manage = user.role.allows(Permission::ManageRecommendations);
    let content = html! {
        div.heading {
            h1 { (def.title) }
            a.button.secondary href=(link("/recommendations", &pairs)) { "All recommendations" }
        }
        p {
            (severity_badge(def.severity)) " " (state_badge(current)) " "
            span.muted {
                (def.domains.iter().map(|d| domain_text(*d)).collect::<Vec<_>>().join(", "))
                " · workload " (workload_text(def.workload)) " · source: " (def.source)
            }
        }
        (filter_toolbar(&path, &scoped, &query, html! {}))
        div.grid {
            section.panel {
                h2 { "What and why" }
                p { (def.description) }
                @for r in &entries {
                    p { (impact_sentence(r)) }
                }
            }
            section.panel {
                h2 { "Remediation" }
                ol.steps { @for step in &def.remediation { li { (step) } } }
            }
        }
        section.panel.state {
            h2 { "State" }
            p { "Now: " (state_badge(current)) }
            @if let Some(detail) = in_force {
                dl.state-detail {
                    dt { "Set by" } dd { (detail.author) }
                    dt { "Set at" } dd { (when(Some(detail.set_at))) }
                    dt { "Reason" } dd { (detail.reason) }
                    dt { "Expires" } dd { (detail.expires_at.map_or_else(|| "never".to_owned(), |t| when(Some(t)))) }
                }
            }
            @if manage {
                form.stack method="post" action={"/recommendations/" (def.id) "/state"} {
                    (csrf_field(&user))
                    input type="hidden" name="back" value=(back);
                    input type="hidden" name="site" value=(present(&query.site).unwrap_or_default());
                    label { "New state"
                        select name="state" {
                            option value="risk_accepted" { "Risk accepted" }
                            option value="exception" { "Exception" }
                            option value="active" { "Active (withdraw acceptance or exception)" }
                        }
                    }
                    label { "Reason (required to accept or except)"
                        textarea name="reason" rows="2" maxlength="2000" {}
                    }
                    label { "Expires on (optional, UTC)"
                        input type="date" name="expires";
                    }
                    button type="submit" { "Set state" }
                }
            }
        }
        @for r in &entries {
            section.panel {
                div.heading {
                    h2 { (domain_text(r.domain)) " devices (" (r.devices.len()) ")" }
                    a.button.secondary href=(link(&format!("/api/v1/recommendations/{}/devices.csv", def.id), &with_domain(&pairs, r))) download { "Export CSV" }
                }
                (devices_table(r, &assets, &scoped.current.rows))
            }
        }
        @if entries.is_empty() {
            section.panel { p.muted { "No device of the sites shown needs this." } }
        }
    };
    html_response(page(&user, &def.title, "/recommendations", content)).into_response()
}

/// The state form.
#[derive(Debug, Deserialize)]
pub(crate) struct StateForm {
    state: String,
    #[serde(default)]
    reason: String,
    /// `YYYY-MM-DD` (the date input's value), the end of that UTC day.
    #[serde(default)]
    expires: Option<String>,
    #[serde(default)]
    site: Option<String>,
    #[serde(default)]
    back: Option<String>,
}

/// The end (last nanosecond) of the UTC day `YYYY-MM-DD`.
pub(crate) fn end_of_day(date: &str) -> Option<Timestamp> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let day = time::Date::parse(date.trim(), &format).ok()?;
    let next = day.next_day()?.midnight().assume_utc();
    let nanos = i64::try_from(next.unix_timestamp_nanos()).ok()?;
    Some(Timestamp(nanos - 1))
}

/// `POST /recommendations/{id}/state`.
pub(crate) async fn set_state(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    addr: ClientAddr,
    Path(id): Path<String>,
    Form(form): Form<StateForm>,
) -> Response {
    let expires_at = match present(&form.expires) {
        None => None,
        Some(d) => match end_of_day(d) {
            Some(t) => Some(t),
            None => {
                return message_page(
                    StatusCode::BAD_REQUEST,
                    "Invalid expiry",
                    "The expiry is a date (YYYY-MM-DD).",
                )
            }
        },
    };
    let site = match present(&form.site).map(str::parse::<i64>).transpose() {
        Ok(s) => s,
        Err(_) => {
            return message_page(
                StatusCode::BAD_REQUEST,
                "Invalid request",
                "site must be an id",
            )
        }
    };
    let body = StateBody {
        state: form.state,
        reason: form.reason,
        expires_at: expires_at.map(Timestamp::to_rfc3339),
        site,
    };
    match crate::api::posture::set_state(&state, &user, addr.0, &id, &body).await {
        Ok(_) => see_other(&back_to(form.back.as_deref())),
        Err(e) => message_page(e.status, "State not changed", &e.message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expiry_date_ends_with_its_utc_day() {
        // 2026-12-07 00:00:00 UTC is 1 796 601 600 s after the epoch; the day ends 86 400 s later.
        let end = end_of_day("2026-12-07").unwrap_or(Timestamp(0));
        assert_eq!(end.0, (1_796_601_600 + 86_400) * 1_000_000_000 - 1);
        assert!(end_of_day("2026-13-01").is_none());
        assert!(end_of_day("tomorrow").is_none());
    }
}
