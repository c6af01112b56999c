//! `/devices/{id}`: one device — identity with the source and confidence of each fact (the
//! selected one and the other candidates), conflicts, history, protocols and services,
//! connections (peers link to their devices), events, findings and groups. A fixed number of
//! queries per page; peers are resolved in one lookup.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Extension;
use ironward_store::Result as StoreResult;
use ironward_store::{
    AlertQuery, ConnectionQuery, DeviceRef, EventQuery, FactRecord, Scope, Store, ZoneId,
};
use maud::{html, Markup};

use crate::access::{Permission, UserPrincipal};
use crate::state::AppState;
use crate::ui::layout::{csrf_field, html_response, page};
use crate::ui::widgets::{device_name, failure, when};

/// Connections and events shown on the page (the API pages through all of them).
const SHOWN: i64 = 200;

/// Identity attributes in the order shown.
const IDENTITY: &[(&str, &str)] = &[
    ("vendor", "Vendor"),
    ("type", "Type"),
    ("model", "Model"),
    ("firmware", "Firmware"),
    ("serial", "Serial"),
    ("os", "OS"),
    ("role", "Role"),
    ("state", "State"),
    ("hostname", "Host names"),
    ("ip", "Addresses"),
    ("mac", "MAC"),
    ("purdue_level", "Purdue level"),
];

/// Device links for (zone, key) pairs, resolved in one query.
pub(crate) async fn peer_links(
    store: &Store,
    scope: &Scope,
    keys: Vec<(ZoneId, String)>,
) -> StoreResult<BTreeMap<(ZoneId, String), DeviceRef>> {
    let mut keys = keys;
    keys.sort();
    keys.dedup();
    Ok(store.device_refs(scope, &keys).await?.into_iter().collect())
}

/// A peer: its address, linked to its device when the console knows it.
pub(crate) fn peer(
    links: &BTreeMap<(ZoneId, String), DeviceRef>,
    zone: ZoneId,
    key: Option<&String>,
    address: &str,
) -> Markup {
    let target = key.and_then(|k| links.get(&(zone, k.clone())));
    let shown = if address.is_empty() {
        key.map_or("?", String::as_str)
    } else {
        address
    };
    html! {
        @if let Some(id) = target { a href={"/devices/" (id)} { (shown) } } @else { (shown) }
    }
}

/// `GET /devices/{id}`.
pub(crate) async fn device(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    Path(id): Path<i64>,
) -> Response {
    let store = state.store();
    let id = DeviceRef(id);
    let detail = match store.get_device(&user.scope, id).await {
        Ok(d) => d,
        Err(e) => return failure(e),
    };
    let mut cq = ConnectionQuery::new(user.scope.clone());
    cq.device = Some(id);
    cq.limit = SHOWN;
    let mut eq = EventQuery::new(user.scope.clone());
    eq.device = Some(id);
    eq.limit = SHOWN;
    let mut aq = AlertQuery::new(user.scope.clone());
    aq.site = Some(detail.row.site_id);
    aq.device = Some(detail.row.device.id.0.clone());
    aq.limit = SHOWN;
    let mut vq = ironward_store::VulnerabilityQuery::new(user.scope.clone());
    vq.device = Some(id);
    vq.limit = SHOWN;
    let (connections, events, alerts, groups, vulnerabilities) = match tokio::try_join!(
        store.list_connections(&cq),
        store.list_events(&eq),
        store.query_alerts(&aq),
        store.list_groups(),
        store.list_vulnerabilities(&vq),
    ) {
        Ok(all) => all,
        Err(e) => return failure(e),
    };
    let zone = detail.row.zone_id;
    let keys = connections
        .items
        .iter()
        .flat_map(|c| [c.a.clone(), c.b.clone()])
        .chain(
            events
                .items
                .iter()
                .flat_map(|e| [e.src_device.clone(), e.dst_device.clone()]),
        )
        .flatten()
        .map(|k| (zone, k))
        .collect();
    let links = match peer_links(store, &user.scope, keys).await {
        Ok(l) => l,
        Err(e) => return failure(e),
    };
    let d = &detail.row.device;
    let name = device_name(d);
    let mut facts: BTreeMap<&str, Vec<&FactRecord>> = BTreeMap::new();
    for f in &detail.facts {
        facts.entry(f.attribute.as_str()).or_default().push(f);
    }
    for list in facts.values_mut() {
        list.sort_by(|a, b| {
            b.selected
                .cmp(&a.selected)
                .then(b.confidence.cmp(&a.confidence))
        });
    }
    let identity_value = |attr: &str| -> String {
        match attr {
            "vendor" => d.vendor.clone().unwrap_or_default(),
            "type" => d.device_type.clone().unwrap_or_default(),
            "model" => d.model.clone().unwrap_or_default(),
            "firmware" => d.firmware.clone().unwrap_or_default(),
            "serial" => d.serial.clone().unwrap_or_default(),
            "os" => d.os.clone().unwrap_or_default(),
            "role" => d.role.clone().unwrap_or_default(),
            "state" => d.state.clone().unwrap_or_default(),
            "hostname" => d.hostnames.join(", "),
            "ip" => d
                .ips
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            "mac" => d.mac.map(|m| m.to_string()).unwrap_or_default(),
            "purdue_level" => d.purdue_level.map(|l| format!("L{l}")).unwrap_or_default(),
            _ => String::new(),
        }
    };
    let other_attributes: Vec<&str> = facts
        .keys()
        .copied()
        .filter(|a| !IDENTITY.iter().any(|(k, _)| k == a))
        .collect();
    let fact_list = |attr: &str| {
        html! {
            @if let Some(list) = facts.get(attr) {
                ul.facts {
                    @for f in list {
                        li class=[f.selected.then_some("selected")] {
                            @if f.selected { span.badge.ok { "selected" } " " }
                            strong { (f.value) } " · " (f.source) " · " (f.confidence) "%"
                            @if let Some(ev) = &f.evidence { span.muted { " — " (ev) } }
                        }
                    }
                }
            }
        }
    };
    let may_group = user.role.allows(Permission::ManageGroups);
    let content = html! {
        div.heading {
            h1 { (name) }
            span.muted { (d.id) " · " (detail.row.site) " / " (detail.row.zone)
                @if let Some(s) = &detail.row.sensor { " · seen by " (s) } }
        }
        p.muted { "First seen " (when(Some(d.first_seen))) " · last seen " (when(Some(d.last_seen))) }
        div.grid.wide {
            section.panel {
                h2 { "Identity" }
                table.identity {
                    thead { tr { th { "Attribute" } th { "Value" } th { "Evidence (source · confidence)" } } }
                    tbody {
                        @for (key, label) in IDENTITY {
                            @let value = identity_value(key);
                            @if !value.is_empty() || facts.contains_key(key) {
                                tr { th { (label) } td { (value) } td { (fact_list(key)) } }
                            }
                        }
                        @for key in &other_attributes {
                            tr { th { (key) } td {} td { (fact_list(key)) } }
                        }
                    }
                }
                @if let Some(reason) = &d.purdue_reason { p.muted { "Purdue level: " (reason) } }
            }
            section.panel {
                h2 { "Conflicts" }
                @if d.conflicts.is_empty() { p.muted { "Sources agree." } }
                @for c in &d.conflicts {
                    div.conflict {
                        strong { (c.attribute) } ": " (c.chosen) " (" (c.chosen_source) ") — " (c.reason)
                        ul { @for o in &c.others { li { (o.value) " · " (o.source) " · " (o.confidence) "%" } } }
                    }
                }
                h2 { "Findings" }
                @if d.findings.is_empty() { p.muted { "None." } }
                ul { @for f in &d.findings { li { span.badge.warning { (f) } } } }
                h2 { "Protocols" }
                p { "Client: " @for p in &d.protocols.client { span.badge { (p) } " " } }
                p { "Server: " @for p in &d.protocols.server { span.badge { (p) } " " } }
                h2 { "Services" }
                table.compact {
                    thead { tr { th { "Port" } th { "Protocol" } } }
                    tbody {
                        @for s in &d.services { tr { td { (s.transport) "/" (s.port) } td { (s.protocol.as_deref().unwrap_or("?")) } } }
                        @if d.services.is_empty() { tr { td colspan="2" .muted { "None seen." } } }
                    }
                }
                @if may_group && !groups.is_empty() {
                    h2 { "Groups" }
                    form.inline method="post" action="/groups/add-device" {
                        (csrf_field(&user))
                        input type="hidden" name="device" value=(id);
                        select name="group" { @for g in &groups { option value=(g.id) { (g.name) } } }
                        button.secondary type="submit" { "Add to group" }
                    }
                }
            }
        }
        (crate::ui::vulnerabilities::device_section(&user, id, &vulnerabilities))
        section.panel {
            h2 { "Connections (" (connections.total) ")" }
            table.compact {
                thead { tr { th { "Client" } th { "Server" } th { "Port" } th { "Protocol" } th.num { "Packets" } th.num { "Bytes" } th { "Last seen" } } }
                tbody {
                    @for c in &connections.items {
                        tr {
                            td { (peer(&links, c.zone_id, c.a.as_ref(), &c.a_ip)) }
                            td { (peer(&links, c.zone_id, c.b.as_ref(), &c.b_ip)) }
                            td { (c.transport) @if let Some(p) = c.port { "/" (p) } }
                            td { (c.protocol.as_deref().unwrap_or("?")) }
                            td.num { (c.packets) }
                            td.num { (c.bytes) }
                            td { (when(Some(c.last_seen))) }
                        }
                    }
                    @if connections.items.is_empty() { tr { td colspan="7" .muted { "None." } } }
                }
            }
            @if connections.total > SHOWN { p.muted { "The " (SHOWN) " most recent are shown; the API lists all." } }
        }
        section.panel {
            h2 { "Alerts (" (alerts.total) ")" }
            table.compact {
                thead { tr { th { "Severity" } th { "Alert" } th { "Engine" } th { "Status" } th.num { "Count" } th { "Last seen" } } }
                tbody {
                    @for a in &alerts.items {
                        tr {
                            td { span class={"badge " (a.severity)} { (a.severity) } }
                            td { a href={"/alerts/" (a.id.0)} { (a.title) } }
                            td { (a.engine) }
                            td { (a.status) @if a.muted { " (muted)" } }
                            td.num { (a.count) }
                            td { (when(Some(a.last_seen))) }
                        }
                    }
                    @if alerts.items.is_empty() { tr { td colspan="6" .muted { "No alert involves this device." } } }
                }
            }
            @if alerts.total > SHOWN { p.muted { "The " (SHOWN) " most recent are shown; the API lists all." } }
        }
        section.panel {
            h2 { "Events (" (events.total) ")" }
            (event_rows(&events.items, &links))
        }
        section.panel {
            h2 { "History" }
            table.compact {
                thead { tr { th { "When" } th { "Attribute" } th { "Before" } th { "After" } } }
                tbody {
                    @for h in detail.history.iter().rev() {
                        tr {
                            td { (when(Some(h.at))) }
                            td { (h.attribute) }
                            td { (h.old_value.as_deref().unwrap_or("—")) }
                            td { (h.new_value.as_deref().unwrap_or("—")) }
                        }
                    }
                    @if detail.history.is_empty() { tr { td colspan="4" .muted { "No change recorded." } } }
                }
            }
        }
    };
    html_response(page(&user, &name, "/devices", content))
}

/// An events timeline (the device page and the events page).
pub(crate) fn event_rows(
    events: &[ironward_store::EventRecord],
    links: &BTreeMap<(ZoneId, String), DeviceRef>,
) -> Markup {
    html! {
        table.compact.events {
            thead { tr { th { "Last seen" } th { "Source" } th { "Destination" } th { "Protocol" } th { "Category" } th { "Operation" } th { "Detail" } th.num { "Count" } } }
            tbody {
                @for e in events {
                    tr {
                        td { (when(Some(e.last_seen))) }
                        td { (peer(links, e.zone_id, e.src_device.as_ref(), &e.src_addr)) }
                        td { (peer(links, e.zone_id, e.dst_device.as_ref(), &e.dst_addr)) }
                        td { (e.protocol) }
                        td { span class={"badge cat-" (e.category)} { (e.category) } }
                        td { (e.operation) }
                        td.detail { (e.detail) }
                        td.num { (e.count) }
                    }
                }
                @if events.is_empty() { tr { td colspan="8" .muted { "No events." } } }
            }
        }
    }
}
