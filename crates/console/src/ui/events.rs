//! `/events`: what conversations did, most recent first, filtered by site, protocol and
//! category, one page per request; endpoints link to their devices (one lookup per page).

use axum::extract::{Query, State};
use axum::response::Response;
use axum::Extension;
use ironward_store::{EventQuery, SiteId};
use maud::html;
use serde::Deserialize;

use crate::access::UserPrincipal;
use crate::state::AppState;
use crate::ui::device::{event_rows, peer_links};
use crate::ui::layout::{html_response, page};
use crate::ui::widgets::{failure, number, pager, present};

/// Events per page.
const PAGE: i64 = 100;

/// Categories offered by the filter (the model's event categories).
const CATEGORIES: &[&str] = &[
    "read",
    "write",
    "program_download",
    "program_upload",
    "mode_change",
    "firmware_update",
    "configuration_change",
    "diagnostics",
    "time_sync",
    "control_command",
    "discovery",
    "authentication",
    "other",
];

/// Query of `GET /events`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct EventFilter {
    #[serde(default)]
    site: Option<String>,
    #[serde(default)]
    protocol: Option<String>,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    offset: Option<String>,
}

/// `GET /events`.
pub(crate) async fn events(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    Query(filter): Query<EventFilter>,
) -> Response {
    let store = state.store();
    let mut q = EventQuery::new(user.scope.clone());
    q.site = present(&filter.site)
        .and_then(|s| s.parse().ok())
        .map(SiteId);
    q.protocol = present(&filter.protocol).map(str::to_owned);
    q.category = present(&filter.category).map(str::to_owned);
    q.limit = PAGE;
    q.offset = number(filter.offset.as_deref(), 0).max(0);
    let (list, sites, facets) = match tokio::try_join!(
        store.list_events(&q),
        store.list_sites(&user.scope),
        store.device_facets(&user.scope),
    ) {
        Ok(all) => all,
        Err(e) => return failure(e),
    };
    let keys = list
        .items
        .iter()
        .flat_map(|e| {
            [e.src_device.clone(), e.dst_device.clone()]
                .into_iter()
                .flatten()
                .map(move |k| (e.zone_id, k))
        })
        .collect();
    let links = match peer_links(store, &user.scope, keys).await {
        Ok(l) => l,
        Err(e) => return failure(e),
    };
    let pairs = vec![
        ("site", present(&filter.site).unwrap_or_default().to_owned()),
        (
            "protocol",
            present(&filter.protocol).unwrap_or_default().to_owned(),
        ),
        (
            "category",
            present(&filter.category).unwrap_or_default().to_owned(),
        ),
    ];
    let is = |v: &Option<String>, o: &str| present(v) == Some(o);
    let content = html! {
        h1 { "Events" }
        form.toolbar method="get" action="/events" {
            label { "Site" select name="site" { option value="" { "All" }
                @for s in &sites { option value=(s.id) selected[is(&filter.site, &s.id.to_string())] { (s.name) } } } }
            label { "Protocol" select name="protocol" { option value="" { "All" }
                @for p in &facets.protocols { option value=(p) selected[is(&filter.protocol, p)] { (p) } } } }
            label { "Category" select name="category" { option value="" { "All" }
                @for c in CATEGORIES { option value=(c) selected[is(&filter.category, c)] { (c) } } } }
            button type="submit" { "Apply" }
            a.button.secondary href="/events" { "Clear" }
        }
        (event_rows(&list.items, &links))
        (pager("/events", &pairs, q.offset, PAGE, list.items.len(), list.total))
    };
    html_response(page(&user, "Events", "/events", content))
}
