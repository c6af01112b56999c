//! Device vulnerabilities of the caller's sites: `GET /api/v1/vulnerabilities` by device (the
//! default), by CVE or by severity, known exploited first, then by CVSS; its CSV export; and
//! analysts' exclusions (`POST /api/v1/vulnerabilities/exclusions`, a reason required, and
//! `DELETE /api/v1/vulnerabilities/exclusions/{id}`), both audited.

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use ironward_store::{
    DeviceRef, Scope, Severity, SiteId, VulnerabilityQuery, VulnerabilityRow, MAX_PAGE,
};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::access::{Access, Permission, UserPrincipal};
use crate::api::devices_csv::push_cell;
use crate::api::extract::{ApiJson, ApiPath, ClientAddr};
use crate::api::json;
use crate::api::params::{integer, present, Paging};
use crate::audit::{self, Outcome};
use crate::error::{ApiError, ApiResult};
use crate::routes::RouteSpec;
use crate::state::{now, AppState};

/// Most rows one CSV export holds.
pub const MAX_CSV_ROWS: i64 = 100_000;

/// The CSV columns, in order.
pub const CSV_COLUMNS: [&str; 17] = [
    "device_id",
    "device",
    "ips",
    "vendor",
    "model",
    "firmware",
    "site",
    "cve",
    "cvss",
    "severity",
    "kev",
    "advisories",
    "fixed_in",
    "confidence",
    "reason",
    "excluded",
    "exclusion_reason",
];

/// The vulnerability routes.
pub fn routes() -> Vec<RouteSpec> {
    let view = Access::User(Permission::ViewInventory);
    let manage = Access::User(Permission::ManageAlerts);
    vec![
        RouteSpec::get("/api/v1/vulnerabilities", view, list),
        RouteSpec::get("/api/v1/vulnerabilities.csv", view, export),
        RouteSpec::get("/api/v1/vulnerabilities/exclusions", view, list_exclusions),
        RouteSpec::post("/api/v1/vulnerabilities/exclusions", manage, exclude),
        RouteSpec::new(
            axum::http::Method::DELETE,
            "/api/v1/vulnerabilities/exclusions/{id}",
            manage,
            delete_exclusion,
        ),
    ]
}

/// Filters of the vulnerability lists (every value as text: a malformed one is a 400 naming it).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct VulnerabilityFilter {
    /// `device` (default), `cve` or `severity`.
    #[serde(default)]
    pub view: Option<String>,
    /// Only this site (within the caller's).
    #[serde(default)]
    pub site: Option<String>,
    /// Only this device.
    #[serde(default)]
    pub device: Option<String>,
    /// `critical`, `high`, `medium`, `low` or `none`.
    #[serde(default)]
    pub severity: Option<String>,
    /// `true`: only known exploited; `false`: only not.
    #[serde(default)]
    pub kev: Option<String>,
    /// Only this CVE.
    #[serde(default)]
    pub cve: Option<String>,
    /// Only devices of this vendor.
    #[serde(default)]
    pub vendor: Option<String>,
    /// `true`: only excluded; `false`: only not excluded; absent: both, flagged.
    #[serde(default)]
    pub excluded: Option<String>,
    /// Paging.
    #[serde(flatten)]
    pub paging: Paging,
}

fn boolean(name: &str, value: &Option<String>) -> Result<Option<bool>, ApiError> {
    present(value)
        .map(|v| match v {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            other => Err(ApiError::bad_request(format!(
                "{name} must be true or false, not {other:?}"
            ))),
        })
        .transpose()
}

impl VulnerabilityFilter {
    /// The store query within `scope`.
    pub fn to_query(&self, scope: Scope) -> Result<VulnerabilityQuery, ApiError> {
        let (limit, offset) = self.paging.bounds()?;
        let severity = present(&self.severity)
            .map(|s| {
                Severity::parse(s).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "severity must be critical, high, medium, low or none, not {s:?}"
                    ))
                })
            })
            .transpose()?;
        Ok(VulnerabilityQuery {
            scope,
            site: integer("site", &self.site)?.map(SiteId),
            device: integer("device", &self.device)?.map(DeviceRef),
            severity,
            kev: boolean("kev", &self.kev)?,
            cve: present(&self.cve).map(str::to_owned),
            vendor: present(&self.vendor).map(str::to_owned),
            excluded: boolean("excluded", &self.excluded)?,
            limit,
            offset,
        })
    }
}

/// A vulnerability row as answered.
pub fn row_json(v: &VulnerabilityRow) -> Result<Value, ApiError> {
    let mut value = json::to_value(v)?;
    if let Some(object) = value.as_object_mut() {
        object.insert("first_matched".into(), json!(v.first_matched.to_rfc3339()));
        object.insert("last_matched".into(), json!(v.last_matched.to_rfc3339()));
    }
    Ok(value)
}

/// `GET /api/v1/vulnerabilities?view=device|cve|severity&...`.
pub async fn list(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    Query(filter): Query<VulnerabilityFilter>,
) -> ApiResult<Json<Value>> {
    let query = filter.to_query(user.scope.clone())?;
    let store = state.store();
    match present(&filter.view).unwrap_or("device") {
        "device" => {
            let page = store.list_vulnerabilities(&query).await?;
            let items = page
                .items
                .iter()
                .map(row_json)
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Json(json!({ "items": items, "total": page.total })))
        }
        "cve" => Ok(Json(json::page(
            &store.vulnerabilities_by_cve(&query).await?,
        )?)),
        "severity" => {
            let counts = store.vulnerabilities_by_severity(&query).await?;
            Ok(Json(json::all(&counts)?))
        }
        other => Err(ApiError::bad_request(format!(
            "view must be device, cve or severity, not {other:?}"
        ))),
    }
}

/// `GET /api/v1/vulnerabilities.csv`: the filtered by-device list, every page up to
/// [`MAX_CSV_ROWS`], spreadsheet-safe like the devices export.
pub async fn export(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    Query(filter): Query<VulnerabilityFilter>,
) -> ApiResult<Response> {
    let mut query = filter.to_query(user.scope.clone())?;
    query.limit = MAX_PAGE;
    query.offset = 0;
    let mut out = String::new();
    push_row(&mut out, CSV_COLUMNS.iter().map(|c| (*c).to_owned()));
    while query.offset < MAX_CSV_ROWS {
        let page = state.store().list_vulnerabilities(&query).await?;
        let got = i64::try_from(page.items.len()).unwrap_or(i64::MAX);
        for v in &page.items {
            push_row(
                &mut out,
                [
                    v.device_id.0.to_string(),
                    v.device.clone(),
                    v.ips.clone(),
                    v.vendor.clone().unwrap_or_default(),
                    v.model.clone().unwrap_or_default(),
                    v.firmware.clone().unwrap_or_default(),
                    v.site.clone(),
                    v.cve.clone(),
                    v.cvss.map(|s| format!("{s:.1}")).unwrap_or_default(),
                    v.severity.as_str().to_owned(),
                    v.kev.to_string(),
                    v.advisories.join(" "),
                    v.fixed_in.join(" "),
                    v.confidence.clone(),
                    v.reason.clone(),
                    v.excluded.to_string(),
                    v.exclusion_reason.clone().unwrap_or_default(),
                ]
                .into_iter(),
            );
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
                "attachment; filename=\"vulnerabilities.csv\"",
            ),
        ],
        out,
    )
        .into_response())
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

/// Body of an exclusion.
#[derive(Debug, Deserialize)]
pub struct ExcludeBody {
    /// The CVE.
    pub cve: String,
    /// The device (absent: every device, for callers who see every site).
    #[serde(default)]
    pub device_id: Option<i64>,
    /// Why it does not apply (required).
    #[serde(default)]
    pub reason: String,
}

/// Records an exclusion and audits it (shared by the API and the page's form).
pub async fn add_exclusion(
    state: &AppState,
    user: &UserPrincipal,
    address: std::net::IpAddr,
    body: &ExcludeBody,
) -> ApiResult<ironward_store::VulnerabilityExclusion> {
    let exclusion = state
        .store()
        .add_vulnerability_exclusion(
            &user.scope,
            body.device_id.map(DeviceRef),
            &body.cve,
            &body.reason,
            &user.name,
            now(),
        )
        .await?;
    let target = match exclusion.device_id {
        Some(device) => format!("device:{}", device.0),
        None => "all devices".to_owned(),
    };
    audit::record(
        state,
        Some(user),
        address,
        "vulnerability.exclude",
        &target,
        &format!("{}: {}", exclusion.cve, exclusion.reason),
        Outcome::Ok,
    )
    .await;
    // An excluded CVE no longer counts in the posture scores.
    state.posture().changed();
    Ok(exclusion)
}

/// `POST /api/v1/vulnerabilities/exclusions`.
pub async fn exclude(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiJson(body): ApiJson<ExcludeBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let exclusion = add_exclusion(&state, &user, address, &body).await?;
    Ok((StatusCode::CREATED, Json(exclusion_json(&exclusion))))
}

fn exclusion_json(e: &ironward_store::VulnerabilityExclusion) -> Value {
    json!({
        "id": e.id,
        "device_id": e.device_id.map(|d| d.0),
        "cve": e.cve,
        "reason": e.reason,
        "created_by": e.created_by,
        "created_at": e.created_at.to_rfc3339(),
    })
}

/// `GET /api/v1/vulnerabilities/exclusions`: those of the caller's devices and those for every
/// device, newest first.
pub async fn list_exclusions(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    Query(paging): Query<Paging>,
) -> ApiResult<Json<Value>> {
    let (limit, offset) = paging.bounds()?;
    let page = state
        .store()
        .list_vulnerability_exclusions(&user.scope, limit, offset)
        .await?;
    let items: Vec<Value> = page.items.iter().map(exclusion_json).collect();
    Ok(Json(json!({ "items": items, "total": page.total })))
}

/// Deletes an exclusion and audits it (shared by the API and the page's form).
pub async fn remove_exclusion(
    state: &AppState,
    user: &UserPrincipal,
    address: std::net::IpAddr,
    id: i64,
) -> ApiResult<()> {
    let deleted = state
        .store()
        .delete_vulnerability_exclusion(&user.scope, id)
        .await?;
    let target = match deleted.device_id {
        Some(device) => format!("device:{}", device.0),
        None => "all devices".to_owned(),
    };
    audit::record(
        state,
        Some(user),
        address,
        "vulnerability.exclusion_delete",
        &target,
        &format!("{} (was: {})", deleted.cve, deleted.reason),
        Outcome::Ok,
    )
    .await;
    state.posture().changed();
    Ok(())
}

/// `DELETE /api/v1/vulnerabilities/exclusions/{id}`.
pub async fn delete_exclusion(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    remove_exclusion(&state, &user, address, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
