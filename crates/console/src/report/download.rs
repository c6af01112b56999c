//! `GET /reports/risk?site=ID&format=pdf|html`: the risk assessment report of one of the
//! caller's sites (or of all of them without `site`) as a file to save. Analysts and
//! administrators only; a site outside the caller's scope is 404 like a missing one. Every
//! download is audited (`report.risk_download`), refusals included.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use ironward_store::{SiteId, StoreError};
use serde::Deserialize;

use super::gather::gather_with;
use super::{file_name, render, Format};
use crate::access::UserPrincipal;
use crate::api::extract::ClientAddr;
use crate::audit::{self, Outcome};
use crate::error::{ApiError, ApiResult};
use crate::posture_cache;
use crate::posture_service::PostureFilter;
use crate::state::{now, AppState};

/// The query of `GET /reports/risk`.
#[derive(Debug, Default, Deserialize)]
pub struct RiskParams {
    /// A site id; absent or empty: every site of the caller.
    pub site: Option<String>,
    /// `pdf` (the default) or `html`.
    pub format: Option<String>,
}

/// `GET /reports/risk`.
pub async fn risk(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    Query(params): Query<RiskParams>,
) -> ApiResult<Response> {
    let format = match params.format.as_deref() {
        None | Some("") => Format::Pdf,
        Some(name) => Format::parse(name).ok_or_else(|| {
            ApiError::bad_request(format!("unknown format {name:?}: use pdf or html"))
        })?,
    };
    let site = match params.site.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => Some(SiteId(text.parse().map_err(|_| {
            ApiError::bad_request(format!("site must be a site id, not {text:?}"))
        })?)),
    };
    let target = site.map_or_else(|| "all sites".to_owned(), |s| format!("site:{}", s.0));
    let time = now();
    let view = PostureFilter { site, group: None };
    let gathered = match posture_cache::current(&state, &user.scope, &view, time).await {
        // The cache keeps its own reference: the report takes a copy of a kept answer.
        Ok(current) => {
            let current = Arc::unwrap_or_clone(current);
            gather_with(state.store(), &user.scope, site, time, current).await
        }
        Err(error) => Err(error),
    };
    let input = match gathered {
        Ok(input) => input,
        Err(error) => {
            let outcome = if matches!(error, StoreError::NotFound) {
                Outcome::Denied
            } else {
                Outcome::Failed
            };
            let detail = format!("{}: {error}", format.extension());
            audit::record(
                &state,
                Some(&user),
                address,
                "report.risk_download",
                &target,
                &detail,
                outcome,
            )
            .await;
            return Err(error.into());
        }
    };
    let name = file_name(&input.scope, time, format);
    let devices = input.assets.len();
    // Laying out and writing the file is CPU work proportional to the report's bounded size:
    // off the async workers all the same.
    let bytes = tokio::task::spawn_blocking(move || render(&input, format))
        .await
        .map_err(|error| {
            tracing::error!(%error, "rendering the risk report failed");
            ApiError::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "the report could not be made",
            )
        })?;
    audit::record(
        &state,
        Some(&user),
        address,
        "report.risk_download",
        &target,
        &format!(
            "{}, {} bytes, {devices} devices",
            format.extension(),
            bytes.len()
        ),
        Outcome::Ok,
    )
    .await;
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}
