//! `GET /api/v1/devices.csv`: the filtered inventory as CSV, every page up to [`MAX_ROWS`],
//! safe to open in a spreadsheet (cells that a spreadsheet would run as a formula are
//! prefixed with `'`).

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use ironward_store::{DeviceRow, MAX_PAGE};

use crate::access::UserPrincipal;
use crate::error::ApiResult;
use crate::filters::DeviceFilter;
use crate::state::AppState;

/// Most rows one export holds; the rest of a larger inventory needs a narrower filter.
pub const MAX_ROWS: i64 = 100_000;

/// The columns, in order.
pub const COLUMNS: [&str; 17] = [
    "id",
    "name",
    "ips",
    "mac",
    "vendor",
    "type",
    "role",
    "model",
    "firmware",
    "serial",
    "os",
    "site",
    "zone",
    "sensor",
    "protocols",
    "first_seen",
    "last_seen",
];

/// `GET /api/v1/devices.csv` with the filters of `GET /api/v1/devices` (its `limit` and
/// `offset` are ignored: the export is every matching device, up to [`MAX_ROWS`]).
pub async fn export(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    Query(filter): Query<DeviceFilter>,
) -> ApiResult<Response> {
    let mut query = filter.to_query(user.scope.clone())?;
    query.limit = MAX_PAGE;
    query.offset = 0;
    let mut out = String::new();
    push_row(&mut out, COLUMNS.iter().map(|c| (*c).to_owned()));
    while query.offset < MAX_ROWS {
        let page = state.store().list_devices(&query).await?;
        let got = i64::try_from(page.items.len()).unwrap_or(i64::MAX);
        for row in &page.items {
            push_row(&mut out, cells(row));
        }
        query.offset = query.offset.saturating_add(got);
        if got < query.limit || query.offset >= page.total {
            break;
        }
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"devices.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}

/// The device's display name: its first hostname, else its first address, else its MAC.
pub fn display_name(row: &DeviceRow) -> String {
    let device = &row.device;
    device
        .hostnames
        .first()
        .cloned()
        .or_else(|| device.ips.first().map(ToString::to_string))
        .or_else(|| device.mac.map(|m| m.to_string()))
        .unwrap_or_default()
}

fn cells(row: &DeviceRow) -> impl Iterator<Item = String> {
    let d = &row.device;
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let mut protocols: Vec<&str> = d
        .protocols
        .client
        .iter()
        .chain(&d.protocols.server)
        .map(String::as_str)
        .collect();
    protocols.sort_unstable();
    protocols.dedup();
    [
        row.id.to_string(),
        display_name(row),
        d.ips
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" "),
        d.mac.map(|m| m.to_string()).unwrap_or_default(),
        text(&d.vendor),
        text(&d.device_type),
        text(&d.role),
        text(&d.model),
        text(&d.firmware),
        text(&d.serial),
        text(&d.os),
        row.site.clone(),
        row.zone.clone(),
        text(&row.sensor),
        protocols.join(" "),
        d.first_seen.to_rfc3339(),
        d.last_seen.to_rfc3339(),
    ]
    .into_iter()
}

fn push_row(out: &mut String, cells: impl Iterator<Item = String>) {
    for (i, cell) in cells.enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_cell(out, &cell);
    }
    out.push_str("\r\n");
}

/// One cell: neutralised if a spreadsheet would read it as a formula, quoted if it holds a
/// separator, a quote or a line break.
pub fn push_cell(out: &mut String, cell: &str) {
    let formula = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quoted = cell.contains([',', '"', '\n', '\r']);
    if quoted {
        out.push('"');
    }
    if formula {
        out.push('\'');
    }
    for c in cell.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    if quoted {
        out.push('"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(text: &str) -> String {
        let mut out = String::new();
        push_cell(&mut out, text);
        out
    }

    #[test]
    fn cells_are_quoted_and_formulas_neutralised() {
        assert_eq!(cell("plc"), "plc");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("=1+2"), "'=1+2");
        assert_eq!(cell("+cmd"), "'+cmd");
        assert_eq!(cell("-2"), "'-2");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(
            cell("=HYPERLINK(\"x\",\"y\")"),
            "\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\""
        );
        assert_eq!(cell("line\nbreak"), "\"line\nbreak\"");
    }
}
