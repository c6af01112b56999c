//! `/map`: the device map — an SVG graph of devices and the connections between them, laid
//! out on the server (deterministic: the same inventory gives the same picture), grouped in
//! bands by Purdue level, by /24 subnet or by site. Bounded: at most [`MAX_NODES`] devices
//! (the most recently seen; the page says how many were left out) and [`MAX_EDGES`] edges.
//! Zoom and pan are script on the `viewBox`; each node links to its device.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use axum::extract::{Query, State};
use axum::response::Response;
use axum::Extension;
use ironward_store::{DeviceQuery, DeviceRef, DeviceRow, GroupId, MapEdge};
use maud::{html, Markup};
use serde::Deserialize;

use crate::access::UserPrincipal;
use crate::state::AppState;
use crate::ui::layout::{html_response, page};
use crate::ui::widgets::{device_name, failure, present};

/// Most devices drawn.
pub(crate) const MAX_NODES: usize = 500;
/// Most edges drawn.
const MAX_EDGES: i64 = 2_000;
/// Width of the drawing.
const WIDTH: i64 = 1_600;
/// Narrowest drawing.
const MIN_WIDTH: i64 = 720;
/// Horizontal distance between node centres (room for a label).
const STEP_X: i64 = 96;
/// Vertical distance between rows of nodes.
const STEP: i64 = 60;
/// Height of a band's title.
const BAND_TITLE: i64 = 26;
/// Nodes per row of a band.
const PER_ROW: i64 = (WIDTH - STEP_X) / STEP_X;

/// Query of `GET /map`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct MapFilter {
    /// `purdue` (default), `subnet` or `site`.
    #[serde(default)]
    group: Option<String>,
    #[serde(default)]
    protocol: Option<String>,
    #[serde(default, rename = "type")]
    device_type: Option<String>,
    /// A device group's id: only its members.
    #[serde(default)]
    devices: Option<String>,
}

/// How devices are banded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grouping {
    Purdue,
    Subnet,
    Site,
}

impl Grouping {
    fn parse(text: Option<&str>) -> Self {
        match text {
            Some("subnet") => Self::Subnet,
            Some("site") => Self::Site,
            _ => Self::Purdue,
        }
    }

    /// The band of a device: a sort key (bands are drawn in its order) and a title.
    fn band(self, row: &DeviceRow) -> (String, String) {
        match self {
            // Level 5 (enterprise) on top, field devices at the bottom, unknown last.
            Self::Purdue => match row.device.purdue_level {
                Some(l) => (format!("0{}", 9 - l.min(9)), format!("Purdue level {l}")),
                None => ("1".to_owned(), "Level unknown".to_owned()),
            },
            Self::Subnet => match row.device.ips.iter().find(|ip| ip.is_ipv4()) {
                Some(IpAddr::V4(v4)) => {
                    let o = v4.octets();
                    (
                        format!("0{:08x}", u32::from(*v4) & 0xffff_ff00),
                        format!("{}.{}.{}.0/24", o[0], o[1], o[2]),
                    )
                }
                _ if !row.device.ips.is_empty() => ("1".to_owned(), "IPv6 only".to_owned()),
                _ => ("2".to_owned(), "No IP address".to_owned()),
            },
            Self::Site => (
                format!("{}\u{0}{}", row.site, row.site_id),
                row.site.clone(),
            ),
        }
    }
}

/// A node placed on the drawing.
struct Node<'a> {
    row: &'a DeviceRow,
    x: i64,
    y: i64,
}

/// A band with its nodes.
struct Band<'a> {
    title: String,
    y: i64,
    height: i64,
    nodes: Vec<Node<'a>>,
}

/// Places `rows` in bands, in a grid inside each band; returns the bands, the width and the
/// height (a small map is drawn narrower, so that it is not shrunk to fit the page).
fn layout(rows: &[DeviceRow], grouping: Grouping) -> (Vec<Band<'_>>, i64, i64) {
    let mut groups: BTreeMap<String, (String, Vec<&DeviceRow>)> = BTreeMap::new();
    for row in rows {
        let (key, title) = grouping.band(row);
        groups
            .entry(key)
            .or_insert_with(|| (title, Vec::new()))
            .1
            .push(row);
    }
    let mut bands = Vec::with_capacity(groups.len());
    let mut y = 4;
    for (_, (title, mut members)) in groups {
        members.sort_by(|a, b| {
            a.device
                .ips
                .first()
                .cmp(&b.device.ips.first())
                .then_with(|| a.id.cmp(&b.id))
        });
        let count = i64::try_from(members.len()).unwrap_or(i64::MAX);
        let rows_needed = (count + PER_ROW - 1) / PER_ROW;
        let height = BAND_TITLE + rows_needed * STEP + 10;
        let nodes = members
            .into_iter()
            .enumerate()
            .map(|(i, row)| {
                let i = i64::try_from(i).unwrap_or(0);
                Node {
                    row,
                    x: STEP_X / 2 + 20 + (i % PER_ROW) * STEP_X,
                    y: y + BAND_TITLE + STEP / 2 + (i / PER_ROW) * STEP,
                }
            })
            .collect();
        bands.push(Band {
            title,
            y,
            height,
            nodes,
        });
        y += height + 8;
    }
    let widest = bands
        .iter()
        .map(|b| {
            i64::try_from(b.nodes.len())
                .unwrap_or(i64::MAX)
                .min(PER_ROW)
        })
        .max()
        .unwrap_or(0);
    let width = (widest * STEP_X + 40).clamp(MIN_WIDTH, WIDTH);
    (bands, width, y.max(STEP))
}

/// A CSS class name from a device type (`plc` → `t-plc`).
fn type_class(kind: Option<&str>) -> String {
    let clean: String = kind
        .unwrap_or("unknown")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(32)
        .collect();
    format!("node t-{clean}")
}

/// At most `n` characters of `text`, with an ellipsis when cut.
fn short(text: &str, n: usize) -> String {
    if text.chars().count() <= n {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(n.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// The SVG drawing.
fn drawing(bands: &[Band<'_>], width: i64, height: i64, edges: &[MapEdge]) -> Markup {
    let place: HashMap<DeviceRef, (i64, i64)> = bands
        .iter()
        .flat_map(|b| b.nodes.iter().map(|n| (n.row.id, (n.x, n.y))))
        .collect();
    let view = format!("0 0 {width} {height}");
    html! {
        svg.map id="device-map" xmlns="http://www.w3.org/2000/svg" viewBox=(view) preserveAspectRatio="xMinYMin meet" data-zoom="" role="img" aria-label="Device map" {
            @for b in bands {
                rect.band x="4" y=(b.y) width=(width - 8) height=(b.height) rx="6" {}
                text.band-title x="14" y=(b.y + 18) { (b.title) " (" (b.nodes.len()) ")" }
            }
            g.edges {
                @for e in edges {
                    @if let (Some(a), Some(b)) = (place.get(&e.a), place.get(&e.b)) {
                        line.edge x1=(a.0) y1=(a.1) x2=(b.0) y2=(b.1)
                            stroke-width=(edge_width(e.packets)) {
                            title { (e.protocol.as_deref().unwrap_or("unknown")) " · " (e.packets) " packets" }
                        }
                    }
                }
            }
            g.nodes {
                @for b in bands {
                    @for n in &b.nodes {
                        @let d = &n.row.device;
                        @let name = device_name(d);
                        a href={"/devices/" (n.row.id)} {
                            title {
                                (name)
                                @if let Some(t) = &d.device_type { " · " (t) }
                                @if let Some(v) = &d.vendor { " · " (v) }
                                @for ip in d.ips.iter().take(3) { " · " (ip) }
                            }
                            circle class=(type_class(d.device_type.as_deref())) cx=(n.x) cy=(n.y) r="11" {}
                            text.label x=(n.x) y=(n.y + 24) text-anchor="middle" { (short(&name, 15)) }
                        }
                    }
                }
            }
        }
    }
}

/// Thicker lines for busier edges (logarithmic, 1 to 5).
fn edge_width(packets: i64) -> String {
    let digits = packets.max(1).ilog10();
    format!("{}", 1 + digits.min(4))
}

/// `GET /map`.
pub(crate) async fn map(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    Query(filter): Query<MapFilter>,
) -> Response {
    let store = state.store();
    let grouping = Grouping::parse(present(&filter.group));
    let protocol = present(&filter.protocol).map(str::to_owned);
    let kind = present(&filter.device_type).map(str::to_owned);
    let set = present(&filter.devices)
        .and_then(|g| g.parse().ok())
        .map(GroupId);
    let (mut rows, total) = match set {
        Some(group) => {
            let members = match store.group_members(&user.scope, group).await {
                Ok(m) => m,
                Err(e) => return failure(e),
            };
            let kept: Vec<DeviceRow> = members
                .into_iter()
                .filter(|r| kind.is_none() || r.device.device_type == kind)
                .filter(|r| {
                    protocol.as_ref().is_none_or(|p| {
                        r.device.protocols.client.contains(p)
                            || r.device.protocols.server.contains(p)
                    })
                })
                .collect();
            let total = i64::try_from(kept.len()).unwrap_or(i64::MAX);
            (kept, total)
        }
        None => {
            let mut q = DeviceQuery::new(user.scope.clone());
            q.device_type = kind.clone();
            q.protocol = protocol.clone();
            q.limit = i64::try_from(MAX_NODES).unwrap_or(500);
            match store.inventory_page(&q).await {
                Ok(page) => (page.items, page.total),
                Err(e) => return failure(e),
            }
        }
    };
    rows.truncate(MAX_NODES);
    let ids: Vec<DeviceRef> = rows.iter().map(|r| r.id).collect();
    let (edges, facets, groups) = match tokio::try_join!(
        store.map_edges(&user.scope, &ids, protocol.as_deref(), MAX_EDGES),
        store.device_facets(&user.scope),
        store.list_groups(),
    ) {
        Ok(all) => all,
        Err(e) => return failure(e),
    };
    let (bands, width, height) = layout(&rows, grouping);
    let left_out = total - i64::try_from(rows.len()).unwrap_or(0);
    let is = |v: &Option<String>, o: &str| present(v) == Some(o);
    let content = html! {
        div.heading {
            h1 { "Device map" }
            span.muted { (rows.len()) " devices, " (edges.len()) " links" }
        }
        form.toolbar method="get" action="/map" {
            label { "Group by" select name="group" {
                option value="purdue" selected[grouping == Grouping::Purdue] { "Purdue level" }
                option value="subnet" selected[grouping == Grouping::Subnet] { "Subnet (/24)" }
                option value="site" selected[grouping == Grouping::Site] { "Site" }
            } }
            label { "Protocol" select name="protocol" { option value="" { "All" }
                @for p in &facets.protocols { option value=(p) selected[is(&filter.protocol, p)] { (p) } } } }
            label { "Type" select name="type" { option value="" { "All" }
                @for t in &facets.types { option value=(t) selected[is(&filter.device_type, t)] { (t) } } } }
            label { "Device group" select name="devices" { option value="" { "All devices" }
                @for g in &groups { option value=(g.id) selected[is(&filter.devices, &g.id.to_string())] { (g.name) } } } }
            button type="submit" { "Apply" }
            span.zoom-controls {
                button.secondary type="button" data-zoom-in="device-map" title="Zoom in" { "+" }
                button.secondary type="button" data-zoom-out="device-map" title="Zoom out" { "−" }
                button.secondary type="button" data-zoom-reset="device-map" title="Whole map" { "Reset" }
            }
        }
        @if left_out > 0 {
            p.notice { (left_out) " more devices match but are not drawn: the map shows the "
                (MAX_NODES) " most recently seen. Narrow it with the filters." }
        }
        @if rows.is_empty() {
            p.muted { "No device to draw." }
        } @else {
            div.map-frame { (drawing(&bands, width, height, &edges)) }
            p.muted { "Scroll to zoom, drag to pan; click a device to open it." }
        }
    };
    html_response(page(&user, "Device map", "/map", content))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_widths_are_bounded() {
        assert_eq!(short("abcdefghijklmnopqrstuvwxyz", 5), "abcd…");
        assert_eq!(short("abc", 5), "abc");
        assert_eq!(type_class(Some("PLC \"x\"")), "node t-plc--x-");
        assert_eq!(edge_width(0), "1");
        assert_eq!(edge_width(i64::MAX), "5");
    }
}
