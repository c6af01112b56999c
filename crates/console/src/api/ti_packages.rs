//! Threat-intelligence packages: `POST /api/v1/ti/packages` (administrators; the package file
//! as the body) verifies the upload with the console's public key and refuses a package that
//! does not verify or is not newer than the one in force — which stays — before anything is
//! stored; `GET /api/v1/ti/packages` lists the uploads and how matching goes;
//! `GET /api/v1/ti/unmatched` lists the products of the caller's sites the package cannot
//! resolve, with why.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use ironward_store::{NewPackage, PackageCounts, SiteId, StoredPackage};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::access::{Access, Permission, UserPrincipal};
use crate::api::extract::ClientAddr;
use crate::api::json;
use crate::api::params::{integer, Paging};
use crate::audit::{self, Outcome};
use crate::error::{ApiError, ApiResult};
use crate::routes::RouteSpec;
use crate::state::{now, AppState};

/// Largest package upload: a package of all of CISA's ICS advisories, KEV and ATT&CK for ICS is
/// under 1 MiB; room for many more sources and IoCs.
pub const MAX_UPLOAD_BYTES: usize = 64 << 20;

/// The package routes.
pub fn routes() -> Vec<RouteSpec> {
    vec![
        RouteSpec::post(
            "/api/v1/ti/packages",
            Access::User(Permission::ManageSettings),
            upload,
        )
        .with_body_limit(MAX_UPLOAD_BYTES),
        RouteSpec::get(
            "/api/v1/ti/packages",
            Access::User(Permission::ViewInventory),
            list,
        ),
        RouteSpec::get(
            "/api/v1/ti/unmatched",
            Access::User(Permission::ViewInventory),
            unmatched,
        ),
    ]
}

/// A stored package as answered.
pub fn package_json(p: &StoredPackage) -> Value {
    json!({
        "id": p.id.0,
        "file_name": p.file_name,
        "sequence": p.sequence,
        "built_at": p.built_at,
        "uploaded_at": p.uploaded_at.to_rfc3339(),
        "uploaded_by": p.uploaded_by,
        "key_id": p.key_id,
        "counts": p.counts,
        "size": p.size,
        "in_force": p.in_force,
    })
}

/// Verifies and stores an upload, puts it in force and starts matching; the refusal's words
/// when it is refused. Shared by the API and the settings page.
pub async fn accept_upload(
    state: &AppState,
    user: &UserPrincipal,
    address: std::net::IpAddr,
    bytes: Bytes,
) -> ApiResult<StoredPackage> {
    let refuse = |status: StatusCode, message: String| async move {
        audit::record(
            state,
            Some(user),
            address,
            "ti.upload",
            "ti_package",
            &message,
            Outcome::Failed,
        )
        .await;
        ApiError::new(status, message)
    };
    if bytes.is_empty() {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "the body is empty: send the package file".to_owned(),
        )
        .await);
    }
    let checker = state.clone();
    let checked = {
        let bytes = bytes.clone();
        tokio::task::spawn_blocking(move || checker.intel().verify(&bytes)).await
    };
    let package = match checked {
        Ok(Ok(package)) => package,
        Ok(Err(error)) => {
            let status = match error {
                crate::vuln_matching::UploadError::NoKey => StatusCode::CONFLICT,
                crate::vuln_matching::UploadError::Package(
                    ironward_intel::ti::package::PackageError::Downgrade { .. },
                ) => StatusCode::CONFLICT,
                crate::vuln_matching::UploadError::Package(_) => StatusCode::BAD_REQUEST,
            };
            return Err(refuse(status, error.to_string()).await);
        }
        Err(_) => {
            return Err(refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the package check failed".to_owned(),
            )
            .await)
        }
    };
    let info = package.info().clone();
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let stored = state
        .store()
        .insert_package(&NewPackage {
            file_name: &info.name,
            sequence: info.sequence,
            built_at: &info.built_at,
            key_id: &info.key_id,
            counts: PackageCounts {
                vulnerabilities: count(info.counts.vulnerabilities),
                affected_products: count(info.counts.affected_products),
                known_exploited: count(info.counts.known_exploited),
                advisories: count(info.counts.advisories),
                techniques: count(info.counts.techniques),
                iocs: count(info.counts.iocs),
            },
            uploaded_by: &user.name,
            uploaded_at: now(),
            bytes: &bytes,
        })
        .await;
    let id = match stored {
        Ok(id) => id,
        Err(ironward_store::StoreError::Conflict(reason)) => {
            return Err(refuse(StatusCode::CONFLICT, format!("package refused: {reason}")).await)
        }
        Err(other) => return Err(other.into()),
    };
    state.intel().install(state.store(), id, package);
    // The package in force is part of every score's history (matching results follow on the
    // job's next rounds).
    state.posture().changed();
    audit::record(
        state,
        Some(user),
        address,
        "ti.upload",
        &format!("ti_package:{}", id.0),
        &format!(
            "{} (sequence {}, key {}): {} vulnerabilities, {} known exploited",
            info.name,
            info.sequence,
            info.key_id,
            info.counts.vulnerabilities,
            info.counts.known_exploited
        ),
        Outcome::Ok,
    )
    .await;
    Ok(state.store().get_package(id).await?)
}

/// `POST /api/v1/ti/packages`: the package file as the body.
pub async fn upload(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let stored = accept_upload(&state, &user, address, body).await?;
    Ok((StatusCode::CREATED, Json(package_json(&stored))))
}

/// `GET /api/v1/ti/packages`: uploads, newest first, with the one in force flagged, whether
/// uploads are possible (a public key) and how matching goes.
pub async fn list(
    State(state): State<AppState>,
    Query(paging): Query<Paging>,
) -> ApiResult<Json<Value>> {
    let (limit, offset) = paging.bounds()?;
    let page = state.store().list_packages(limit, offset).await?;
    let items: Vec<Value> = page.items.iter().map(package_json).collect();
    Ok(Json(json!({
        "items": items,
        "total": page.total,
        "public_key": state.intel().key().map(|k| ironward_intel::ti::sign::KeyId::of(k).to_string()),
        "matching": state.intel().status(),
    })))
}

/// Query of the unmatched list.
#[derive(Debug, Deserialize)]
pub struct UnmatchedQuery {
    /// Only this site.
    #[serde(default)]
    pub site: Option<String>,
    /// Paging.
    #[serde(flatten)]
    pub paging: Paging,
}

/// `GET /api/v1/ti/unmatched`: products of the caller's sites the package in force cannot
/// resolve, grouped, most devices first, with why.
pub async fn unmatched(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    Query(query): Query<UnmatchedQuery>,
) -> ApiResult<Json<Value>> {
    let (limit, offset) = query.paging.bounds()?;
    let site = integer("site", &query.site)?.map(SiteId);
    let page = state
        .store()
        .list_unmatched(&user.scope, site, limit, offset)
        .await?;
    json::page(&page).map(Json)
}
