//! A site's baseline as a file: `GET /api/v1/baseline/export?site=N` downloads its entries as
//! JSON, `POST /api/v1/baseline/import` adds entries (such a file, with the target `site_id`)
//! to a site — checked whole before anything is written, bounded, audited. Reviewing and
//! deleting single entries is `GET /api/v1/baseline` and `DELETE /api/v1/baseline/{id}`.

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use ironward_store::{BaselineImport, SiteId, MAX_BASELINE_IMPORT};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::access::{Access, Permission, UserPrincipal};
use crate::api::extract::{ApiJson, ClientAddr};
use crate::api::params::integer;
use crate::audit::{self, Outcome};
use crate::error::{ApiError, ApiResult};
use crate::routes::RouteSpec;
use crate::state::{now, AppState};

/// Most entries an export holds (the sensors' own bound on a baseline).
pub const MAX_BASELINE_EXPORT: i64 = 100_000;

/// `format` of an export file.
pub const EXPORT_FORMAT: &str = "ironward-baseline-1";

/// The export and import routes.
pub fn routes() -> Vec<RouteSpec> {
    vec![
        RouteSpec::get(
            "/api/v1/baseline/export",
            Access::User(Permission::ViewAlerts),
            export,
        ),
        RouteSpec::post(
            "/api/v1/baseline/import",
            Access::User(Permission::ManageAlerts),
            import,
        )
        .with_body_limit(4 << 20),
    ]
}

/// Query of the export.
#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    /// The site.
    #[serde(default)]
    pub site: Option<String>,
}

/// `GET /api/v1/baseline/export?site=N`: the site's entries, oldest first, as a JSON file.
pub async fn export(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    Query(query): Query<ExportQuery>,
) -> ApiResult<Response> {
    let site = integer("site", &query.site)?
        .map(SiteId)
        .ok_or_else(|| ApiError::bad_request("site: give the site to export"))?;
    let store = state.store();
    let name = store.get_site(&user.scope, site).await?.name;
    let mut entries = Vec::new();
    loop {
        let offset = i64::try_from(entries.len()).unwrap_or(i64::MAX);
        let page = store
            .list_baseline(&user.scope, Some(site), 1_000, offset)
            .await?;
        let done = page.items.is_empty();
        entries.extend(page.items.into_iter().map(|e| BaselineImport {
            kind: e.kind,
            src: e.src,
            dst: e.dst,
            protocol: e.protocol,
            detail: e.detail,
        }));
        if done || entries.len() as i64 >= page.total.min(MAX_BASELINE_EXPORT) {
            break;
        }
    }
    let body = json!({
        "format": EXPORT_FORMAT,
        "site": name,
        "site_id": site.0,
        "exported_at": now().to_rfc3339(),
        "entries": entries,
    });
    let disposition = format!("attachment; filename=\"baseline-site-{}.json\"", site.0);
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body.to_string(),
    )
        .into_response())
}

/// Body of the import: an export file with `site_id` set to the target site (its other
/// fields are ignored), or just `site_id` and `entries`.
#[derive(Debug, Deserialize)]
pub struct ImportBody {
    /// The site the entries go to.
    pub site_id: i64,
    /// The entries (at most [`MAX_BASELINE_IMPORT`]).
    pub entries: Vec<BaselineImport>,
}

/// Answer of the import.
#[derive(Debug, Serialize)]
pub struct ImportAnswer {
    /// Entries the site did not have.
    pub imported: u64,
    /// Entries in the request.
    pub entries: usize,
}

/// `POST /api/v1/baseline/import`.
pub async fn import(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiJson(body): ApiJson<ImportBody>,
) -> ApiResult<Json<Value>> {
    if body.entries.len() > MAX_BASELINE_IMPORT {
        return Err(ApiError::bad_request(format!(
            "entries: at most {MAX_BASELINE_IMPORT} per import"
        )));
    }
    let imported = state
        .store()
        .import_baseline(
            &user.scope,
            SiteId(body.site_id),
            &body.entries,
            &format!("import by {}", user.name),
            now(),
        )
        .await?;
    // Authorization (a posture metric) follows the baseline.
    state.posture().changed();
    audit::record(
        &state,
        Some(&user),
        address,
        "baseline.import",
        &format!("site:{}", body.site_id),
        &format!("{imported} new of {} entries", body.entries.len()),
        Outcome::Ok,
    )
    .await;
    Ok(Json(json!(ImportAnswer {
        imported,
        entries: body.entries.len(),
    })))
}
