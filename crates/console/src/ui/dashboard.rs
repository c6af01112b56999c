//! `/`: the dashboard — devices by type and by site, new devices, alerts by severity, and the
//! sensors' health. Four aggregate queries, whatever the size of the inventory.

use axum::extract::State;
use axum::response::Response;
use axum::Extension;
use ironward_model::Timestamp;
use ironward_store::{DeviceQuery, DeviceSort, SensorRecord};
use maud::{html, Markup};

use crate::access::UserPrincipal;
use crate::state::{now, AppState};
use crate::ui::layout::{html_response, page};
use crate::ui::widgets::{ago, device_name, failure, link, when, SECOND};

/// Newest devices listed.
const NEWEST: i64 = 10;

/// Severities always shown, even with no alert (the alerts table may be empty).
const SEVERITIES: [&str; 4] = ["critical", "high", "medium", "low"];

/// `GET /`.
pub(crate) async fn dashboard(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
) -> Response {
    let store = state.store();
    let now = now();
    let day = Timestamp(now.0.saturating_sub(86_400 * SECOND));
    let week = Timestamp(now.0.saturating_sub(7 * 86_400 * SECOND));
    let summary = match store.inventory_summary(&user.scope, day, week).await {
        Ok(s) => s,
        Err(e) => return failure(e),
    };
    let alerts = match store.alert_counts_by_severity(&user.scope).await {
        Ok(a) => a,
        Err(e) => return failure(e),
    };
    let sensors = match store.list_sensors(&user.scope).await {
        Ok(s) => s,
        Err(e) => return failure(e),
    };
    let mut newest = DeviceQuery::new(user.scope.clone());
    newest.sort = DeviceSort::FirstSeen;
    newest.descending = true;
    newest.limit = NEWEST;
    let newest = match store.inventory_page(&newest).await {
        Ok(page) => page.items,
        Err(e) => return failure(e),
    };
    let mut severities: Vec<(String, i64)> = SEVERITIES
        .iter()
        .map(|s| {
            let n = alerts
                .iter()
                .find(|(name, _)| name == s)
                .map_or(0, |(_, n)| *n);
            ((*s).to_owned(), n)
        })
        .collect();
    severities.extend(
        alerts
            .iter()
            .filter(|(name, _)| !SEVERITIES.contains(&name.as_str()))
            .cloned(),
    );
    let offline_after =
        i64::try_from(state.settings().sensor_offline_after.as_nanos()).unwrap_or(i64::MAX);
    let posture_tile = crate::ui::initiatives::dashboard_tile(&state, &user).await;
    let content = html! {
        h1 { "Dashboard" }
        div.grid.stats {
            div.panel.stat { span.value { (summary.total) } span.label { "devices" } }
            div.panel.stat {
                a href="/devices?sort=first_seen" { span.value { (summary.new_day) } }
                span.label { "new in the last 24 h" }
            }
            div.panel.stat { span.value { (summary.new_week) } span.label { "new in the last 7 days" } }
            div.panel.stat {
                span.value { (sensors.iter().filter(|s| online(s, now, offline_after)).count()) " / " (sensors.len()) }
                span.label { "sensors online" }
            }
        }
        (posture_tile)
        div.grid {
            section.panel {
                h2 { "Devices by type" }
                table.compact {
                    thead { tr { th { "Type" } th.num { "Devices" } } }
                    tbody {
                        @for (kind, n) in &summary.by_type {
                            tr {
                                td {
                                    @if let Some(kind) = kind {
                                        a href=(link("/devices", &[("type", kind.clone())])) { (kind) }
                                    } @else {
                                        span.muted { "unknown" }
                                    }
                                }
                                td.num { (n) }
                            }
                        }
                        @if summary.by_type.is_empty() {
                            tr { td colspan="2" .muted { "No devices yet." } }
                        }
                    }
                }
            }
            section.panel {
                h2 { "Devices by site" }
                table.compact {
                    thead { tr { th { "Site" } th.num { "Devices" } } }
                    tbody {
                        @for (id, name, n) in &summary.by_site {
                            tr {
                                td { a href=(link("/devices", &[("site", id.to_string())])) { (name) } }
                                td.num { (n) }
                            }
                        }
                        @if summary.by_site.is_empty() {
                            tr { td colspan="2" .muted { "No sites you can see." } }
                        }
                    }
                }
            }
            section.panel {
                h2 { "Alerts by severity" }
                table.compact {
                    thead { tr { th { "Severity" } th.num { "Alerts" } } }
                    tbody {
                        @for (severity, n) in &severities {
                            tr { td { span class={"badge " (severity)} { (severity) } } td.num { (n) } }
                        }
                    }
                }
            }
        }
        section.panel {
            div.heading {
                h2 { "Newest devices" }
                a href="/devices?sort=first_seen&order=desc" { "All by first seen" }
            }
            table.compact {
                thead { tr { th { "Device" } th { "Type" } th { "Vendor" } th { "Site" } th { "First seen" } } }
                tbody {
                    @for r in &newest {
                        tr {
                            td { a href={"/devices/" (r.id)} { (device_name(&r.device)) } @if r.device.first_seen >= day { " " span.badge.ok { "new" } } }
                            td { (r.device.device_type.as_deref().unwrap_or("")) }
                            td { (r.device.vendor.as_deref().unwrap_or("")) }
                            td { (r.site) }
                            td { (when(Some(r.device.first_seen))) }
                        }
                    }
                    @if newest.is_empty() { tr { td colspan="5" .muted { "No devices yet." } } }
                }
            }
        }
        section.panel {
            h2 { "Sensors" }
            (sensor_table(&sensors, now, offline_after))
        }
    };
    html_response(page(&user, "Dashboard", "/", content))
}

/// Whether a sensor was heard from recently enough.
pub(crate) fn online(sensor: &SensorRecord, now: Timestamp, offline_after: i64) -> bool {
    sensor
        .last_seen
        .is_some_and(|seen| now.0.saturating_sub(seen.0) <= offline_after)
}

/// The sensors with their status and health (the dashboard and the sites page).
pub(crate) fn sensor_table(sensors: &[SensorRecord], now: Timestamp, offline_after: i64) -> Markup {
    html! {
        table.compact {
            thead {
                tr {
                    th { "Sensor" } th { "Site / zone" } th { "Status" } th.num { "Packets/s" }
                    th.num { "Drops" } th { "Source" } th { "Version" } th { "Last seen" }
                }
            }
            tbody {
                @for s in sensors {
                    @let up = online(s, now, offline_after);
                    tr {
                        td { (s.name) }
                        td { (s.site) " / " (s.zone) }
                        td {
                            @if up { span.badge.online { "online" } } @else { span.badge.offline { "offline" } }
                        }
                        td.num { (s.health.as_ref().map_or("—".to_owned(), |h| format!("{:.1}", h.packets_per_second))) }
                        td.num { (s.health.as_ref().map_or("—".to_owned(), |h| h.drops.to_string())) }
                        td { (s.health.as_ref().map_or("", |h| h.source.as_str())) }
                        td { (s.health.as_ref().map_or("", |h| h.version.as_str())) }
                        td { (ago(s.last_seen, now)) }
                    }
                }
                @if sensors.is_empty() {
                    tr { td colspan="8" .muted { "No sensor enrolled yet. An administrator enrols one from Sites & sensors." } }
                }
            }
        }
    }
}
