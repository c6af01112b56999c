//! `/vulnerabilities`: the caller's sites' device vulnerabilities by device, by CVE or by
//! severity, known exploited first, with the API's filters, the CSV link, and — for analysts —
//! Exclude with a reason (and undo); excluded ones stay listed, marked as such.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use ironward_store::{Severity, VulnerabilityRow};
use maud::{html, Markup};
use serde::Deserialize;

use crate::access::{Permission, UserPrincipal};
use crate::api::vulnerabilities::{
    add_exclusion, remove_exclusion, ExcludeBody, VulnerabilityFilter,
};
use crate::state::AppState;
use crate::ui::layout::{csrf_field, html_response, message_page, page};
use crate::ui::widgets::{failure, link, pager, present, see_other, when, ClientAddr};

/// A score as shown.
pub(crate) fn cvss_text(cvss: Option<f64>) -> String {
    cvss.map_or_else(|| "–".to_owned(), |s| format!("{s:.1}"))
}

/// The severity badge.
pub(crate) fn severity_badge(severity: Severity) -> Markup {
    html! { span class={"badge sev-" (severity.as_str())} { (severity.as_str()) } }
}

/// The KEV badge.
pub(crate) fn kev_badge(kev: bool) -> Markup {
    html! { @if kev { span.badge.kev title="Known exploited (CISA KEV)" { "KEV" } } }
}

/// One vulnerability's row cells shared with the device page: CVE, CVSS, KEV, advisories,
/// fixed in, confidence and reason.
pub(crate) fn finding_cells(v: &VulnerabilityRow) -> Markup {
    html! {
        td { (v.cve) }
        td { (cvss_text(v.cvss)) " " (severity_badge(v.severity)) }
        td { (kev_badge(v.kev)) }
        td { (v.advisories.join(", ")) }
        td { (v.fixed_in.join(", ")) }
        td { (v.confidence) }
        td.reason { (v.reason) }
    }
}

/// The Exclude form (analysts), or the exclusion with its reason.
pub(crate) fn exclusion_cell(user: &UserPrincipal, v: &VulnerabilityRow, back: &str) -> Markup {
    let manage = user.role.allows(Permission::ManageAlerts);
    html! {
        td {
            @if let Some(reason) = &v.exclusion_reason {
                span.badge.muted { "excluded" } " " (reason)
            } @else if manage {
                form.inline method="post" action="/vulnerabilities/exclude" {
                    (csrf_field(user))
                    input type="hidden" name="cve" value=(v.cve);
                    input type="hidden" name="device_id" value=(v.device_id.0);
                    input type="hidden" name="back" value=(back);
                    input type="text" name="reason" required placeholder="reason" aria-label="Reason";
                    button.secondary type="submit" { "Exclude" }
                }
            }
        }
    }
}

/// `GET /vulnerabilities`.
pub(crate) async fn vulnerabilities(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    Query(filter): Query<VulnerabilityFilter>,
) -> Response {
    let query = match filter.to_query(user.scope.clone()) {
        Ok(q) => q,
        Err(e) => return message_page(e.status, "Invalid filter", &e.message),
    };
    let store = state.store();
    let sites = store.list_sites(&user.scope).await.unwrap_or_default();
    let view = present(&filter.view).unwrap_or("device");
    let pairs: Vec<(&str, String)> = vec![
        (
            "device",
            present(&filter.device).unwrap_or_default().to_owned(),
        ),
        ("site", present(&filter.site).unwrap_or_default().to_owned()),
        (
            "severity",
            present(&filter.severity).unwrap_or_default().to_owned(),
        ),
        ("kev", present(&filter.kev).unwrap_or_default().to_owned()),
        ("cve", present(&filter.cve).unwrap_or_default().to_owned()),
        (
            "vendor",
            present(&filter.vendor).unwrap_or_default().to_owned(),
        ),
        (
            "excluded",
            present(&filter.excluded).unwrap_or_default().to_owned(),
        ),
    ];
    let with_view = |v: &str| {
        let mut all = pairs.clone();
        all.push(("view", v.to_owned()));
        all
    };
    let back = link("/vulnerabilities", &with_view(view));
    let selected = |value: &Option<String>, option: &str| present(value) == Some(option);
    let body = match view {
        "cve" => match store.vulnerabilities_by_cve(&query).await {
            Ok(page) => html! {
                table.compact {
                    thead { tr { th { "CVE" } th { "CVSS" } th { "KEV" } th { "Devices" } th { "Excluded" } th { "Advisories" } } }
                    tbody {
                        @for c in &page.items {
                            tr {
                                td { a href=(link("/vulnerabilities", &[("cve", c.cve.clone())])) { (c.cve) } }
                                td { (cvss_text(c.cvss)) " " (severity_badge(c.severity)) }
                                td { (kev_badge(c.kev)) }
                                td { (c.devices) } td { (c.excluded) }
                                td { (c.advisories.join(", ")) }
                            }
                        }
                    }
                }
                (pager("/vulnerabilities", &with_view("cve"), query.offset, query.limit, page.items.len(), page.total))
            },
            Err(e) => return failure(e),
        },
        "severity" => match store.vulnerabilities_by_severity(&query).await {
            Ok(counts) => html! {
                table.compact {
                    thead { tr { th { "Severity" } th { "Vulnerabilities" } th { "Known exploited" } th { "Devices" } th { "CVEs" } } }
                    tbody {
                        @for s in &counts {
                            tr {
                                td { a href=(link("/vulnerabilities", &[("severity", s.severity.as_str().to_owned())])) { (severity_badge(s.severity)) } }
                                td { (s.vulnerabilities) } td { (s.kev) } td { (s.devices) } td { (s.cves) }
                            }
                        }
                    }
                }
                p.muted { "Excluded vulnerabilities are not counted." }
            },
            Err(e) => return failure(e),
        },
        _ => match store.list_vulnerabilities(&query).await {
            Ok(page) => html! {
                table.compact {
                    thead { tr {
                        th { "Device" } th { "Site" } th { "Firmware" }
                        th { "CVE" } th { "CVSS" } th { "KEV" } th { "Advisories" } th { "Fixed in" }
                        th { "Confidence" } th { "Why" } th { "Exclusion" }
                    } }
                    tbody {
                        @for v in &page.items {
                            tr class=[v.excluded.then_some("excluded")] {
                                td { a href={"/devices/" (v.device_id.0)} { (v.device) } }
                                td { (v.site) }
                                td { (v.firmware.as_deref().unwrap_or("")) }
                                (finding_cells(v))
                                (exclusion_cell(&user, v, &back))
                            }
                        }
                        @if page.items.is_empty() {
                            tr { td colspan="11" .muted { "No vulnerability matches." } }
                        }
                    }
                }
                (pager("/vulnerabilities", &with_view("device"), query.offset, query.limit, page.items.len(), page.total))
            },
            Err(e) => return failure(e),
        },
    };
    let content = html! {
        div.heading {
            h1 { "Vulnerabilities" }
            a.button.secondary href=(link("/api/v1/vulnerabilities.csv", &pairs)) download { "Export CSV" }
        }
        nav.tabs {
            @for (key, label) in [("device", "By device"), ("cve", "By CVE"), ("severity", "By severity")] {
                a href=(link("/vulnerabilities", &with_view(key))) class=[(key == view).then_some("active")] { (label) }
            }
        }
        form.toolbar method="get" action="/vulnerabilities" {
            input type="hidden" name="view" value=(view);
            label { "Site"
                select name="site" {
                    option value="" { "All" }
                    @for s in &sites { option value=(s.id) selected[selected(&filter.site, &s.id.to_string())] { (s.name) } }
                }
            }
            label { "Severity"
                select name="severity" {
                    option value="" { "All" }
                    @for s in Severity::ALL { option value=(s.as_str()) selected[selected(&filter.severity, s.as_str())] { (s.as_str()) } }
                }
            }
            label { "Known exploited"
                select name="kev" {
                    option value="" { "All" }
                    option value="true" selected[selected(&filter.kev, "true")] { "Only KEV" }
                    option value="false" selected[selected(&filter.kev, "false")] { "Not KEV" }
                }
            }
            label { "CVE" input type="search" name="cve" value=(present(&filter.cve).unwrap_or_default()) placeholder="CVE-2024-…"; }
            label { "Vendor" input type="search" name="vendor" value=(present(&filter.vendor).unwrap_or_default()); }
            label { "Excluded"
                select name="excluded" {
                    option value="" { "Shown, marked" }
                    option value="false" selected[selected(&filter.excluded, "false")] { "Hidden" }
                    option value="true" selected[selected(&filter.excluded, "true")] { "Only excluded" }
                }
            }
            button type="submit" { "Apply" }
            a.button.secondary href="/vulnerabilities" { "Clear" }
        }
        (body)
        p.muted {
            "Matched against the threat-intelligence package in force: "
            a href="/threat-intelligence" { "package, coverage and unmatched products" } "."
        }
    };
    html_response(page(&user, "Vulnerabilities", "/vulnerabilities", content)).into_response()
}

/// The Exclude form.
#[derive(Debug, Deserialize)]
pub(crate) struct ExcludeForm {
    cve: String,
    #[serde(default)]
    device_id: Option<String>,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    back: Option<String>,
}

/// Where to go after a form: the page it came from, if it is one of ours.
fn back_to(back: Option<&str>) -> String {
    match back {
        Some(b)
            if (b.starts_with("/vulnerabilities") || b.starts_with("/devices/"))
                && !b.contains("//") =>
        {
            b.to_owned()
        }
        _ => "/vulnerabilities".to_owned(),
    }
}

/// `POST /vulnerabilities/exclude`.
pub(crate) async fn exclude(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    addr: ClientAddr,
    Form(form): Form<ExcludeForm>,
) -> Response {
    let device_id = match present(&form.device_id).map(str::parse::<i64>).transpose() {
        Ok(d) => d,
        Err(_) => {
            return message_page(
                StatusCode::BAD_REQUEST,
                "Invalid request",
                "device_id must be an integer",
            )
        }
    };
    let body = ExcludeBody {
        cve: form.cve,
        device_id,
        reason: form.reason,
    };
    match add_exclusion(&state, &user, addr.0, &body).await {
        Ok(_) => see_other(&back_to(form.back.as_deref())),
        Err(e) => message_page(e.status, "Not excluded", &e.message),
    }
}

/// `POST /vulnerabilities/exclusions/{id}/delete`.
pub(crate) async fn delete_exclusion(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    addr: ClientAddr,
    Path(id): Path<i64>,
) -> Response {
    match remove_exclusion(&state, &user, addr.0, id).await {
        Ok(()) => see_other("/threat-intelligence"),
        Err(e) => message_page(e.status, "Not deleted", &e.message),
    }
}

/// Formats a time for the exclusion list.
pub(crate) fn at(t: ironward_model::Timestamp) -> String {
    when(Some(t))
}

/// The device page's section: the device's vulnerabilities with why they match and how sure,
/// known exploited first, excluded ones marked.
pub(crate) fn device_section(
    user: &UserPrincipal,
    device: ironward_store::DeviceRef,
    page: &ironward_store::Page<VulnerabilityRow>,
) -> Markup {
    let back = format!("/devices/{}", device.0);
    html! {
        section.panel {
            h2 { "Vulnerabilities (" (page.total) ")" }
            @if page.items.is_empty() {
                p.muted { "None matched by the threat-intelligence package in force." }
            } @else {
                table.compact {
                    thead { tr {
                        th { "CVE" } th { "CVSS" } th { "KEV" } th { "Advisories" } th { "Fixed in" }
                        th { "Confidence" } th { "Why" } th { "Exclusion" }
                    } }
                    tbody {
                        @for v in &page.items {
                            tr class=[v.excluded.then_some("excluded")] {
                                (finding_cells(v))
                                (exclusion_cell(user, v, &back))
                            }
                        }
                    }
                }
                @if page.total > i64::try_from(page.items.len()).unwrap_or(i64::MAX) {
                    p { a href=(link("/vulnerabilities", &[("device", device.0.to_string())])) { "All " (page.total) } }
                }
            }
        }
    }
}
