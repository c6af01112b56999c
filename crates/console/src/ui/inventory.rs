//! `/devices`: the inventory — filters (site, zone, type, vendor, protocol), search, sortable
//! headers, one page of rows per request, a column chooser (script, remembered in the
//! browser; without script the default columns show) and the CSV export link to the API with
//! the same filters.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use ironward_store::DeviceRow;
use maud::{html, Markup};

use crate::access::UserPrincipal;
use crate::filters::DeviceFilter;
use crate::state::AppState;
use crate::ui::layout::{html_response, message_page, page};
use crate::ui::widgets::{device_name, failure, link, pager, present};

/// One column of the table.
struct Column {
    key: &'static str,
    label: &'static str,
    /// The sort name (`crate::filters::SORTS`), when the column sorts.
    sort: Option<&'static str>,
    /// Shown unless the user chose otherwise (and always, without script).
    default: bool,
    cell: fn(&DeviceRow) -> Markup,
}

fn opt(value: &Option<String>) -> Markup {
    html! { @if let Some(v) = value { (v) } @else { span.muted { "—" } } }
}

const COLUMNS: &[Column] = &[
    Column {
        key: "name",
        label: "Name",
        sort: Some("name"),
        default: true,
        cell: |r| html! { a href={"/devices/" (r.id)} { (device_name(&r.device)) } },
    },
    Column {
        key: "ip",
        label: "IP",
        sort: Some("ip"),
        default: true,
        cell: |r| {
            html! { @for (i, ip) in r.device.ips.iter().take(3).enumerate() { @if i > 0 { br; } (ip) }
            @if r.device.ips.len() > 3 { " +" (r.device.ips.len() - 3) } }
        },
    },
    Column {
        key: "mac",
        label: "MAC",
        sort: None,
        default: false,
        cell: |r| html! { @if let Some(m) = r.device.mac { code { (m) } } },
    },
    Column {
        key: "vendor",
        label: "Vendor",
        sort: Some("vendor"),
        default: true,
        cell: |r| opt(&r.device.vendor),
    },
    Column {
        key: "type",
        label: "Type",
        sort: Some("type"),
        default: true,
        cell: |r| opt(&r.device.device_type),
    },
    Column {
        key: "model",
        label: "Model",
        sort: Some("model"),
        default: true,
        cell: |r| opt(&r.device.model),
    },
    Column {
        key: "firmware",
        label: "Firmware",
        sort: Some("firmware"),
        default: false,
        cell: |r| opt(&r.device.firmware),
    },
    Column {
        key: "os",
        label: "OS",
        sort: None,
        default: false,
        cell: |r| opt(&r.device.os),
    },
    Column {
        key: "role",
        label: "Role",
        sort: None,
        default: false,
        cell: |r| opt(&r.device.role),
    },
    Column {
        key: "purdue",
        label: "Purdue",
        sort: None,
        default: false,
        cell: |r| html! { @if let Some(l) = r.device.purdue_level { "L" (l) } },
    },
    Column {
        key: "protocols",
        label: "Protocols",
        sort: None,
        default: true,
        cell: |r| {
            let mut all: Vec<&str> = r
                .device
                .protocols
                .client
                .iter()
                .chain(&r.device.protocols.server)
                .map(String::as_str)
                .collect();
            all.sort_unstable();
            all.dedup();
            html! { @for p in all.iter().take(6) { span.badge { (p) } " " } @if all.len() > 6 { "+" (all.len() - 6) } }
        },
    },
    Column {
        key: "site",
        label: "Site",
        sort: Some("site"),
        default: true,
        cell: |r| html! { (r.site) },
    },
    Column {
        key: "zone",
        label: "Zone",
        sort: None,
        default: false,
        cell: |r| html! { (r.zone) },
    },
    Column {
        key: "sensor",
        label: "Sensor",
        sort: None,
        default: false,
        cell: |r| opt(&r.sensor),
    },
    Column {
        key: "first_seen",
        label: "First seen",
        sort: Some("first_seen"),
        default: false,
        cell: |r| html! { (crate::ui::widgets::when(Some(r.device.first_seen))) },
    },
    Column {
        key: "last_seen",
        label: "Last seen",
        sort: Some("last_seen"),
        default: true,
        cell: |r| html! { (crate::ui::widgets::when(Some(r.device.last_seen))) },
    },
];

/// The filter's parameters as (name, value) pairs, without sort and paging.
fn filter_pairs(f: &DeviceFilter) -> Vec<(&'static str, String)> {
    let v = |o: &Option<String>| present(o).unwrap_or_default().to_owned();
    vec![
        ("site", v(&f.site)),
        ("zone", v(&f.zone)),
        ("type", v(&f.device_type)),
        ("vendor", v(&f.vendor)),
        ("protocol", v(&f.protocol)),
        ("seen_since", v(&f.seen_since)),
        ("q", v(&f.q)),
    ]
}

/// `GET /devices`.
pub(crate) async fn inventory(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    Query(filter): Query<DeviceFilter>,
) -> Response {
    let mut filter = filter;
    if present(&filter.limit).is_none() {
        filter.limit = Some("50".to_owned());
    }
    let query = match filter.to_query(user.scope.clone()) {
        Ok(q) => q,
        Err(e) => return message_page(StatusCode::BAD_REQUEST, "Invalid filter", &e.message),
    };
    let store = state.store();
    let (devices, facets, sites, zones) = match tokio::try_join!(
        store.inventory_page(&query),
        store.device_facets(&user.scope),
        store.list_sites(&user.scope),
        store.list_zones(&user.scope, query.site),
    ) {
        Ok(all) => all,
        Err(e) => return failure(e),
    };
    let ids: Vec<_> = devices.items.iter().map(|r| r.id).collect();
    let vulnerabilities = match store.vulnerability_counts(&user.scope, &ids).await {
        Ok(v) => v,
        Err(e) => return failure(e),
    };
    let pairs = filter_pairs(&filter);
    let mut sorted_pairs = pairs.clone();
    sorted_pairs.push(("sort", present(&filter.sort).unwrap_or_default().to_owned()));
    sorted_pairs.push((
        "order",
        present(&filter.order).unwrap_or_default().to_owned(),
    ));
    sorted_pairs.push(("limit", query.limit.to_string()));
    let current_sort = present(&filter.sort).unwrap_or("last_seen");
    let sort_link = |name: &str| {
        let order = if current_sort == name {
            if query.descending {
                "asc"
            } else {
                "desc"
            }
        } else if matches!(name, "last_seen" | "first_seen") {
            "desc"
        } else {
            "asc"
        };
        let mut all = pairs.clone();
        all.push(("sort", name.to_owned()));
        all.push(("order", order.to_owned()));
        link("/devices", &all)
    };
    let csv = link("/api/v1/devices.csv", &{
        let mut all = pairs.clone();
        all.push(("sort", present(&filter.sort).unwrap_or_default().to_owned()));
        all.push((
            "order",
            present(&filter.order).unwrap_or_default().to_owned(),
        ));
        all
    });
    let selected = |value: &Option<String>, option: &str| present(value) == Some(option);
    let content = html! {
        div.heading {
            h1 { "Inventory" }
            a.button.secondary href=(csv) download { "Export CSV" }
        }
        form.toolbar method="get" action="/devices" {
            label { "Search" input type="search" name="q" value=(present(&filter.q).unwrap_or_default()) placeholder="name, IP, MAC, vendor, model…"; }
            label { "Site"
                select name="site" {
                    option value="" { "All" }
                    @for s in &sites { option value=(s.id) selected[selected(&filter.site, &s.id.to_string())] { (s.name) } }
                }
            }
            label { "Zone"
                select name="zone" {
                    option value="" { "All" }
                    @for z in &zones { option value=(z.id) selected[selected(&filter.zone, &z.id.to_string())] { (z.name) } }
                }
            }
            label { "Type"
                select name="type" {
                    option value="" { "All" }
                    @for t in &facets.types { option value=(t) selected[selected(&filter.device_type, t)] { (t) } }
                }
            }
            label { "Vendor"
                select name="vendor" {
                    option value="" { "All" }
                    @for v in &facets.vendors { option value=(v) selected[selected(&filter.vendor, v)] { (v) } }
                }
            }
            label { "Protocol"
                select name="protocol" {
                    option value="" { "All" }
                    @for p in &facets.protocols { option value=(p) selected[selected(&filter.protocol, p)] { (p) } }
                }
            }
            @if let Some(sort) = present(&filter.sort) { input type="hidden" name="sort" value=(sort); }
            @if let Some(order) = present(&filter.order) { input type="hidden" name="order" value=(order); }
            button type="submit" { "Apply" }
            a.button.secondary href="/devices" { "Clear" }
            details.columns {
                summary { "Columns" }
                div.column-list {
                    @for c in COLUMNS {
                        label.inline { input type="checkbox" data-column=(c.key) checked[c.default]; (c.label) }
                    }
                }
            }
        }
        table.inventory data-columns-table="inventory" {
            thead {
                tr {
                    @for c in COLUMNS {
                        th data-col=(c.key) class=[(!c.default).then_some("col-hidden")] {
                            @if let Some(sort) = c.sort {
                                a href=(sort_link(sort)) {
                                    (c.label)
                                    @if current_sort == sort { @if query.descending { " ▼" } @else { " ▲" } }
                                }
                            } @else { (c.label) }
                        }
                    }
                    th { "Vulnerabilities" } th { "Highest CVSS" }
                }
            }
            tbody {
                @for r in &devices.items {
                    tr {
                        @for c in COLUMNS {
                            td data-col=(c.key) class=[(!c.default).then_some("col-hidden")] { ((c.cell)(r)) }
                        }
                        @let (count, highest) = vulnerabilities.get(&r.id).copied().unwrap_or((0, None));
                        td.num { @if count > 0 { a href={"/vulnerabilities?device=" (r.id)} { (count) } } @else { "0" } }
                        td.num { (crate::ui::vulnerabilities::cvss_text(highest)) }
                    }
                }
                @if devices.items.is_empty() {
                    tr { td colspan=(COLUMNS.len() + 2) .muted { "No device matches." } }
                }
            }
        }
        (pager("/devices", &sorted_pairs, query.offset, query.limit, devices.items.len(), devices.total))
    };
    html_response(page(&user, "Inventory", "/devices", content)).into_response()
}
