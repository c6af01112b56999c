//! Exposure management in the API: recommendations (`GET /api/v1/recommendations`, one with all
//! its devices, its state set by analysts), security initiatives (`GET /api/v1/initiatives`,
//! one, its history of score changes, its target set by administrators), metric weights
//! (administrators) and each user's favourite initiatives; CSV exports of every table.
//!
//! Every answer is computed by [`posture_service`] over the caller's sites, narrowed by the
//! `site` and `group` filters, so a user never sees another site's devices in a
//! recommendation, a metric, a history row or an export. Changes are audited and nudge the
//! background job ([`crate::posture_job`]) that keeps the history.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use ironward_model::Timestamp;
use ironward_posture::{Catalog, Initiative, Recommendation, Weight};
use ironward_store::{ChangedBy, GroupId, RecommendationStateChange, Scope, SiteId};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::access::{Access, Permission, UserPrincipal};
use crate::api::devices_csv::push_cell;
use crate::api::extract::{ApiJson, ApiPath, ClientAddr};
use crate::api::json;
use crate::api::params::{integer, present, Paging};
use crate::error::{ApiError, ApiResult};
use crate::posture_cache;
use crate::posture_service::{self, CurrentPosture, InitiativeHistory, PostureFilter};
use crate::routes::RouteSpec;
use crate::state::{now, AppState};

/// Devices listed with each recommendation of a list (the detail and the CSV list them all;
/// `device_count` says how many there are).
pub const LIST_DEVICES: usize = 100;

/// The exposure-management routes.
pub fn routes() -> Vec<RouteSpec> {
    let view = Access::User(Permission::ViewInventory);
    let manage = Access::User(Permission::ManageRecommendations);
    let admin = Access::User(Permission::ManageSettings);
    vec![
        RouteSpec::get("/api/v1/recommendations", view, list_recommendations),
        RouteSpec::get("/api/v1/recommendations.csv", view, recommendations_csv),
        RouteSpec::get(
            "/api/v1/recommendations/{recommendation}",
            view,
            recommendation,
        ),
        RouteSpec::get(
            "/api/v1/recommendations/{recommendation}/devices.csv",
            view,
            recommendation_devices_csv,
        ),
        RouteSpec::new(
            Method::PUT,
            "/api/v1/recommendations/{recommendation}/state",
            manage,
            put_state,
        ),
        RouteSpec::get("/api/v1/initiatives", view, list_initiatives),
        RouteSpec::get("/api/v1/initiatives.csv", view, metrics_csv),
        RouteSpec::get("/api/v1/initiatives/{initiative}", view, initiative),
        RouteSpec::get(
            "/api/v1/initiatives/{initiative}/metrics.csv",
            view,
            initiative_metrics_csv,
        ),
        RouteSpec::get(
            "/api/v1/initiatives/{initiative}/history",
            view,
            initiative_history,
        ),
        RouteSpec::get(
            "/api/v1/initiatives/{initiative}/history.csv",
            view,
            history_csv,
        ),
        RouteSpec::new(
            Method::PUT,
            "/api/v1/initiatives/{initiative}/target",
            admin,
            put_target,
        ),
        RouteSpec::new(
            Method::PUT,
            "/api/v1/initiatives/{initiative}/favourite",
            Access::SignedIn,
            put_favourite,
        ),
        RouteSpec::new(
            Method::DELETE,
            "/api/v1/initiatives/{initiative}/favourite",
            Access::SignedIn,
            delete_favourite,
        ),
        RouteSpec::new(
            Method::PUT,
            "/api/v1/metrics/{metric}/weight",
            admin,
            put_weight,
        ),
    ]
}

/// Query parameters of the posture views (every value as text: a malformed one is a 400
/// naming it).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PostureQuery {
    /// Only this site (within the caller's).
    #[serde(default)]
    pub site: Option<String>,
    /// Only devices of this device group.
    #[serde(default)]
    pub group: Option<String>,
    /// Recommendations: `ot` or `enterprise_iot`.
    #[serde(default)]
    pub domain: Option<String>,
    /// Recommendations: `critical`, `high`, `medium` or `low`.
    #[serde(default)]
    pub severity: Option<String>,
    /// Recommendations: `active`, `resolved`, `risk_accepted` or `exception`.
    #[serde(default)]
    pub state: Option<String>,
    /// Paging of lists.
    #[serde(flatten)]
    pub paging: Paging,
}

impl PostureQuery {
    /// The service's filter for `user`; a site outside the caller's scope is 404, like a
    /// missing one.
    pub fn filter(&self, user: &UserPrincipal) -> Result<PostureFilter, ApiError> {
        let site = integer("site", &self.site)?.map(SiteId);
        if site.is_some_and(|site| !user.sees(site)) {
            return Err(ApiError::not_found());
        }
        Ok(PostureFilter {
            site,
            group: integer("group", &self.group)?.map(GroupId),
        })
    }

    /// Whether `value` (a recommendation as JSON) passes the domain, severity and state
    /// filters; an unknown value of one is a 400 naming it.
    fn accepts(&self, value: &Value) -> Result<bool, ApiError> {
        let checks: [(&str, &Option<String>, &[&str]); 3] = [
            ("domain", &self.domain, &["ot", "enterprise_iot", "it"]),
            (
                "severity",
                &self.severity,
                &["critical", "high", "medium", "low"],
            ),
            (
                "state",
                &self.state,
                &["active", "resolved", "risk_accepted", "exception"],
            ),
        ];
        let mut accepted = true;
        for (name, wanted, allowed) in checks {
            let Some(wanted) = present(wanted) else {
                continue;
            };
            if !allowed.contains(&wanted) {
                return Err(ApiError::bad_request(format!(
                    "{name} must be one of {}, not {wanted:?}",
                    allowed.join(", ")
                )));
            }
            accepted &= value[name] == wanted;
        }
        Ok(accepted)
    }
}

async fn current(
    state: &AppState,
    user: &UserPrincipal,
    query: &PostureQuery,
) -> ApiResult<Arc<CurrentPosture>> {
    let filter = query.filter(user)?;
    Ok(posture_cache::current(state, &user.scope, &filter, now()).await?)
}

fn catalog() -> &'static Catalog {
    Catalog::builtin()
}

/// A recommendation as answered: the contract's fields (`title`, `severity`, `domain`,
/// `state`, `score_impact`, `devices` as `{id, ip, name}`, ...) plus `device_count`; a list
/// shows at most `devices` devices and says so with `devices_truncated`.
pub fn recommendation_json(
    recommendation: &Recommendation,
    devices: Option<usize>,
) -> ApiResult<Value> {
    let mut value = json::to_value(recommendation)?;
    value["device_count"] = json!(recommendation.devices.len());
    if let Some(limit) = devices {
        let truncated = recommendation.devices.len() > limit;
        if let Some(list) = value["devices"].as_array_mut() {
            list.truncate(limit);
        }
        value["devices_truncated"] = json!(truncated);
    }
    Ok(value)
}

/// `GET /api/v1/recommendations?site=&group=&domain=&severity=&state=&limit=&offset=`: the
/// recommendations of the caller's devices, most score impact first.
pub async fn list_recommendations(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    Query(query): Query<PostureQuery>,
) -> ApiResult<Json<Value>> {
    let (limit, offset) = query.paging.bounds()?;
    let current = current(&state, &user, &query).await?;
    let mut items = Vec::new();
    let mut total = 0i64;
    for recommendation in &current.posture.recommendations {
        let value = recommendation_json(recommendation, Some(LIST_DEVICES))?;
        if !query.accepts(&value)? {
            continue;
        }
        if total >= offset && i64::try_from(items.len()).unwrap_or(i64::MAX) < limit {
            items.push(value);
        }
        total += 1;
    }
    Ok(Json(json!({
        "items": items,
        "total": total,
        "has_data": current.has_data,
    })))
}

/// Recommendation `id` of the view: its entry for `domain` (one per domain whose devices it
/// lists), or without one the entry with the highest score impact.
fn find_recommendation<'a>(
    current: &'a CurrentPosture,
    id: &str,
    domain: Option<&str>,
) -> ApiResult<&'a Recommendation> {
    current
        .recommendation(id)
        .into_iter()
        .find(|r| domain.is_none_or(|d| r.domain.as_str() == d))
        .ok_or_else(ApiError::not_found)
}

/// The domains recommendation `id` has entries for in the view.
fn domains_of(current: &CurrentPosture, id: &str) -> Vec<&'static str> {
    current
        .recommendation(id)
        .iter()
        .map(|r| r.domain.as_str())
        .collect()
}

/// `GET /api/v1/recommendations/{recommendation}?domain=`: one recommendation with every
/// device of the caller's view it applies to in one domain (`domains` lists those it has
/// devices in).
pub async fn recommendation(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ApiPath(id): ApiPath<String>,
    Query(query): Query<PostureQuery>,
) -> ApiResult<Json<Value>> {
    let current = current(&state, &user, &query).await?;
    let recommendation = find_recommendation(&current, &id, present(&query.domain))?;
    let mut value = recommendation_json(recommendation, None)?;
    value["domains"] = json!(domains_of(&current, &id));
    Ok(Json(value))
}

/// Body of `PUT /api/v1/recommendations/{recommendation}/state`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateBody {
    /// `risk_accepted`, `exception`, or `active` to clear the state.
    pub state: String,
    /// Why (required for `risk_accepted` and `exception`).
    #[serde(default)]
    pub reason: String,
    /// When the state lapses (RFC 3339; absent: never).
    #[serde(default)]
    pub expires_at: Option<String>,
    /// The site it applies to; absent: every site (callers who see every site), or the
    /// caller's only site.
    #[serde(default)]
    pub site: Option<i64>,
}

/// The site a state applies to: the one named (within the caller's scope), or for a caller
/// seeing every site none (all sites), or the caller's only site.
fn state_site(user: &UserPrincipal, site: Option<i64>) -> ApiResult<Option<SiteId>> {
    match (site.map(SiteId), &user.scope) {
        (Some(site), _) if user.sees(site) => Ok(Some(site)),
        (Some(_), _) => Err(ApiError::not_found()),
        (None, Scope::All) => Ok(None),
        (None, Scope::Sites(sites)) if sites.len() == 1 => Ok(Some(sites[0])),
        (None, Scope::Sites(_)) => Err(ApiError::bad_request(
            "site is required: your account sees some sites only, and the state applies to one",
        )),
    }
}

/// Sets (or clears, with `active`) a recommendation's state for the caller's view; the store
/// writes it with its audit record (`recommendation.state`) in one transaction. Shared by the
/// API and the recommendation page's form. Returns the site it applies to.
pub async fn set_state(
    state: &AppState,
    user: &UserPrincipal,
    address: std::net::IpAddr,
    recommendation: &str,
    body: &StateBody,
) -> ApiResult<Option<SiteId>> {
    if catalog().recommendation(recommendation).is_none() {
        return Err(ApiError::not_found());
    }
    let kind = body.state.trim();
    if !["risk_accepted", "exception", "active"].contains(&kind) {
        return Err(ApiError::bad_request(format!(
            "state must be risk_accepted, exception or active, not {kind:?}"
        )));
    }
    if kind != "active" && body.reason.trim().is_empty() {
        return Err(ApiError::bad_request(
            "reason is required: say why the risk is accepted or the exception made",
        ));
    }
    let expires_at = match present(&body.expires_at) {
        Some(text) if kind != "active" => {
            Some(Timestamp::parse_rfc3339(text).ok_or_else(|| {
                ApiError::bad_request(format!("expires_at must be an RFC 3339 time, not {text:?}"))
            })?)
        }
        _ => None,
    };
    let site = state_site(user, body.site)?;
    let address = address.to_string();
    state
        .store()
        .set_recommendation_state(
            &user.scope,
            changed_by(user, &address),
            &RecommendationStateChange {
                recommendation,
                site,
                kind,
                reason: &body.reason,
                expires_at,
            },
            now(),
        )
        .await?;
    state.posture().changed();
    Ok(site)
}

/// Who makes a change, for the store's audit record.
fn changed_by<'a>(user: &'a UserPrincipal, address: &'a str) -> ChangedBy<'a> {
    ChangedBy {
        user_id: user.id,
        name: &user.name,
        address,
    }
}

/// `PUT /api/v1/recommendations/{recommendation}/state` (analysts, administrators): the
/// recommendation as it stands after the change, in the view of the site it applies to.
pub async fn put_state(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<StateBody>,
) -> ApiResult<Json<Value>> {
    let site = set_state(&state, &user, address, &id, &body).await?;
    let filter = PostureFilter { site, group: None };
    let current = posture_cache::current(&state, &user.scope, &filter, now()).await?;
    let recommendation = find_recommendation(&current, &id, None)?;
    let mut value = recommendation_json(recommendation, Some(LIST_DEVICES))?;
    value["domains"] = json!(domains_of(&current, &id));
    Ok(Json(value))
}

/// An initiative as answered: the contract's fields (`name`, `score`, `target`, `metrics`
/// with `name`, `weight`, `affected`, `total`, `progress`, `score_impact`) plus the 14-day
/// `trend` and `drift` (each metric's too), whether it is a favourite of the caller, and
/// `has_data` (false: no sensor of the view has reported — "more data is required").
pub fn initiative_json(
    initiative: &Initiative,
    history: &InitiativeHistory,
    favourite: bool,
    has_data: bool,
) -> ApiResult<Value> {
    let mut value = json::to_value(initiative)?;
    if let Some(metrics) = value["metrics"].as_array_mut() {
        for metric in metrics {
            let id = metric["id"].as_str().unwrap_or_default();
            let drift = history.metric_drift.get(id).copied().flatten();
            metric["drift"] = json!(drift);
            // Device lists are bounded in an answer; the recommendations list every device.
            for list in ["affected_devices", "accepted_devices"] {
                if let Some(devices) = metric[list].as_array_mut() {
                    let count = devices.len();
                    devices.truncate(LIST_DEVICES);
                    metric[format!("{list}_count")] = json!(count);
                }
            }
        }
    }
    value["trend"] = json::to_value(&history.trend)?;
    value["drift"] = json!(history.drift);
    value["history_site"] = json!(history.site.map(|s| s.0));
    value["history_available"] = json!(history.available);
    value["favourite"] = json!(favourite);
    value["has_data"] = json!(has_data);
    Ok(value)
}

async fn favourites(state: &AppState, user: &UserPrincipal) -> ApiResult<BTreeSet<String>> {
    Ok(state
        .store()
        .favourite_initiatives(user.id)
        .await?
        .into_iter()
        .collect())
}

/// Every initiative of the view as answered, favourites first.
async fn initiatives_json(
    state: &AppState,
    user: &UserPrincipal,
    query: &PostureQuery,
) -> ApiResult<(Vec<Value>, bool)> {
    let filter = query.filter(user)?;
    let at = now();
    let current = posture_cache::current(state, &user.scope, &filter, at).await?;
    let favourites = favourites(state, user).await?;
    let mut items = Vec::new();
    for initiative in &current.posture.initiatives {
        let history = posture_service::history_summary(
            state.store(),
            &user.scope,
            &initiative.id,
            filter.site,
            at,
        )
        .await?;
        let favourite = favourites.contains(&initiative.id);
        items.push((
            !favourite,
            initiative_json(initiative, &history, favourite, current.has_data)?,
        ));
    }
    // Stable: the catalog's order within favourites and within the others.
    items.sort_by_key(|(not_favourite, _)| *not_favourite);
    Ok((
        items.into_iter().map(|(_, value)| value).collect(),
        current.has_data,
    ))
}

/// `GET /api/v1/initiatives?site=&group=`: every initiative of the caller's view, favourites
/// first.
pub async fn list_initiatives(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    Query(query): Query<PostureQuery>,
) -> ApiResult<Json<Value>> {
    let (items, has_data) = initiatives_json(&state, &user, &query).await?;
    let total = items.len();
    Ok(Json(json!({
        "items": items,
        "total": total,
        "has_data": has_data,
    })))
}

fn known_initiative(id: &str) -> ApiResult<()> {
    if catalog().initiatives.iter().any(|i| i.id == id) {
        Ok(())
    } else {
        Err(ApiError::not_found())
    }
}

/// `GET /api/v1/initiatives/{initiative}`: one initiative with its metrics, trend and drift,
/// and the recommendations of its domain.
pub async fn initiative(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ApiPath(id): ApiPath<String>,
    Query(query): Query<PostureQuery>,
) -> ApiResult<Json<Value>> {
    known_initiative(&id)?;
    let filter = query.filter(&user)?;
    let at = now();
    let current = posture_cache::current(&state, &user.scope, &filter, at).await?;
    let initiative = current
        .posture
        .initiatives
        .iter()
        .find(|i| i.id == id)
        .ok_or_else(ApiError::not_found)?;
    let history =
        posture_service::history_summary(state.store(), &user.scope, &id, filter.site, at).await?;
    let favourite = favourites(&state, &user).await?.contains(&id);
    let mut value = initiative_json(initiative, &history, favourite, current.has_data)?;
    let domain = catalog()
        .initiatives
        .iter()
        .find(|i| i.id == id)
        .map(|i| i.domain);
    let recommendations = current
        .posture
        .recommendations
        .iter()
        .filter(|r| Some(r.domain) == domain)
        .map(|r| recommendation_json(r, Some(LIST_DEVICES)))
        .collect::<ApiResult<Vec<_>>>()?;
    value["recommendations"] = Value::Array(recommendations);
    Ok(Json(value))
}

/// A stored score change as answered: time, from, to, the reasons (each with its sentence as
/// `text`), the assets behind it (at most 100) and whether it was a score drop.
pub fn change_json(change: &posture_service::StoredChange) -> ApiResult<Value> {
    let mut reasons = Vec::with_capacity(change.change.reasons.len());
    for reason in &change.change.reasons {
        let mut value = json::to_value(reason)?;
        value["text"] = json!(reason.describe());
        reasons.push(value);
    }
    Ok(json!({
        "time": change.change.time.to_rfc3339(),
        "initiative": change.change.initiative,
        "from": change.change.from,
        "to": change.change.to,
        "reasons": reasons,
        "top_assets": json::to_value(&change.change.top_assets)?,
        "score_drop": change.score_drop,
    }))
}

/// `GET /api/v1/initiatives/{initiative}/history?site=&limit=&offset=`: the initiative's
/// stored score changes, newest first, with the 14-day trend and drift.
pub async fn initiative_history(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ApiPath(id): ApiPath<String>,
    Query(query): Query<PostureQuery>,
) -> ApiResult<Json<Value>> {
    known_initiative(&id)?;
    let (limit, offset) = query.paging.bounds()?;
    let filter = query.filter(&user)?;
    let at = now();
    let history =
        posture_service::history_summary(state.store(), &user.scope, &id, filter.site, at).await?;
    let page =
        posture_service::changes(state.store(), &user.scope, &id, filter.site, limit, offset)
            .await?;
    let items = page
        .items
        .iter()
        .map(change_json)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(json!({
        "items": items,
        "total": page.total,
        "trend": json::to_value(&history.trend)?,
        "drift": history.drift,
        "history_site": history.site.map(|s| s.0),
        "history_available": history.available,
    })))
}

/// Body of `PUT /api/v1/initiatives/{initiative}/target`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetBody {
    /// The score to reach, 0 to 100.
    pub target: f64,
}

/// Sets an initiative's target score (administrators); the store writes it with its audit
/// record (`initiative.target`). Shared by the API and the initiative page's form.
pub async fn set_target(
    state: &AppState,
    user: &UserPrincipal,
    address: std::net::IpAddr,
    initiative: &str,
    target: f64,
) -> ApiResult<()> {
    known_initiative(initiative)?;
    if !(0.0..=100.0).contains(&target) {
        return Err(ApiError::bad_request("target must be between 0 and 100"));
    }
    let address = address.to_string();
    state
        .store()
        .set_initiative_target(
            &user.scope,
            changed_by(user, &address),
            initiative,
            Some(target),
            now(),
        )
        .await?;
    state.posture().changed();
    Ok(())
}

/// `PUT /api/v1/initiatives/{initiative}/target` → 204.
pub async fn put_target(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<TargetBody>,
) -> ApiResult<StatusCode> {
    set_target(&state, &user, address, &id, body.target).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Body of `PUT /api/v1/metrics/{metric}/weight`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightBody {
    /// `high`, `medium`, `low` or `risk_accepted`.
    pub weight: String,
}

/// The weight called `name`.
pub fn parse_weight(name: &str) -> ApiResult<Weight> {
    match name.trim() {
        "high" => Ok(Weight::High),
        "medium" => Ok(Weight::Medium),
        "low" => Ok(Weight::Low),
        "risk_accepted" => Ok(Weight::RiskAccepted),
        other => Err(ApiError::bad_request(format!(
            "weight must be high, medium, low or risk_accepted, not {other:?}"
        ))),
    }
}

/// Sets a metric's weight (administrators); the store writes it with its audit record
/// (`metric.weight`). Shared by the API and the initiative page's form.
pub async fn set_weight(
    state: &AppState,
    user: &UserPrincipal,
    address: std::net::IpAddr,
    metric: &str,
    weight: &str,
) -> ApiResult<()> {
    if !catalog().metrics.iter().any(|m| m.id == metric) {
        return Err(ApiError::not_found());
    }
    let weight = parse_weight(weight)?;
    let name = json::to_value(&weight)?
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let address = address.to_string();
    state
        .store()
        .set_metric_weight(
            &user.scope,
            changed_by(user, &address),
            metric,
            Some(&name),
            now(),
        )
        .await?;
    state.posture().changed();
    Ok(())
}

/// `PUT /api/v1/metrics/{metric}/weight` → 204.
pub async fn put_weight(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<WeightBody>,
) -> ApiResult<StatusCode> {
    set_weight(&state, &user, address, &id, &body.weight).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /api/v1/initiatives/{initiative}/favourite` → 204: the caller's own favourite.
pub async fn put_favourite(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    known_initiative(&id)?;
    state
        .store()
        .add_favourite_initiative(user.id, &id, now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/v1/initiatives/{initiative}/favourite` → 204.
pub async fn delete_favourite(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    known_initiative(&id)?;
    state
        .store()
        .remove_favourite_initiative(user.id, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- CSV -------------------------------------------------------------------------------

fn push_row<I, S>(out: &mut String, cells: I)
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    for (i, cell) in cells.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_cell(out, cell.as_ref());
    }
    out.push_str("\r\n");
}

fn csv(file: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        body,
    )
        .into_response()
}

fn number(value: Option<f64>) -> String {
    value.map(|v| format!("{v:.1}")).unwrap_or_default()
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The columns of `recommendations.csv`.
pub const RECOMMENDATION_COLUMNS: [&str; 13] = [
    "id",
    "title",
    "severity",
    "domain",
    "state",
    "score_impact",
    "devices",
    "workload",
    "source",
    "state_reason",
    "state_author",
    "state_expires_at",
    "remediation",
];

/// `GET /api/v1/recommendations.csv` with the list's filters (every matching one).
pub async fn recommendations_csv(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    Query(query): Query<PostureQuery>,
) -> ApiResult<Response> {
    let current = current(&state, &user, &query).await?;
    let mut out = String::new();
    push_row(&mut out, RECOMMENDATION_COLUMNS);
    for recommendation in &current.posture.recommendations {
        let value = recommendation_json(recommendation, Some(0))?;
        if !query.accepts(&value)? {
            continue;
        }
        let detail = &value["state_detail"];
        push_row(
            &mut out,
            [
                text_of(&value["id"]),
                text_of(&value["title"]),
                text_of(&value["severity"]),
                text_of(&value["domain"]),
                text_of(&value["state"]),
                format!("{:.1}", recommendation.score_impact),
                recommendation.devices.len().to_string(),
                text_of(&value["workload"]),
                text_of(&value["source"]),
                text_of(&detail["reason"]),
                text_of(&detail["author"]),
                text_of(&detail["expires_at"]),
                recommendation.remediation.join(" | "),
            ],
        );
    }
    Ok(csv("recommendations.csv", out))
}

/// `GET /api/v1/recommendations/{recommendation}/devices.csv`: every device of the view the
/// recommendation applies to.
pub async fn recommendation_devices_csv(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ApiPath(id): ApiPath<String>,
    Query(query): Query<PostureQuery>,
) -> ApiResult<Response> {
    let current = current(&state, &user, &query).await?;
    find_recommendation(&current, &id, present(&query.domain))?;
    let mut out = String::new();
    push_row(
        &mut out,
        ["recommendation", "domain", "device", "ip", "name"],
    );
    let entries = current.recommendation(&id);
    let wanted = present(&query.domain);
    for recommendation in entries
        .iter()
        .filter(|r| wanted.is_none_or(|d| r.domain.as_str() == d))
    {
        for device in &recommendation.devices {
            push_row(
                &mut out,
                [
                    recommendation.id.clone(),
                    recommendation.domain.as_str().to_owned(),
                    device.id.clone(),
                    device.ip.map(|ip| ip.to_string()).unwrap_or_default(),
                    device.name.clone().unwrap_or_default(),
                ],
            );
        }
    }
    Ok(csv(
        &format!("recommendation-{}-devices.csv", slug(&id)),
        out,
    ))
}

/// A file-name-safe form of an id.
fn slug(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect()
}

/// The columns of the metrics exports.
pub const METRIC_COLUMNS: [&str; 11] = [
    "initiative",
    "initiative_score",
    "metric",
    "name",
    "weight",
    "affected",
    "total",
    "progress",
    "score_impact",
    "drift",
    "has_data",
];

fn push_metrics(out: &mut String, initiative: &Value) {
    let Some(metrics) = initiative["metrics"].as_array() else {
        return;
    };
    for metric in metrics {
        push_row(
            out,
            [
                text_of(&initiative["id"]),
                number(initiative["score"].as_f64()),
                text_of(&metric["id"]),
                text_of(&metric["name"]),
                text_of(&metric["weight"]),
                text_of(&metric["affected"]),
                text_of(&metric["total"]),
                number(metric["progress"].as_f64()),
                number(metric["score_impact"].as_f64()),
                number(metric["drift"].as_f64()),
                text_of(&initiative["has_data"]),
            ],
        );
    }
}

/// `GET /api/v1/initiatives.csv`: every metric of every initiative of the view.
pub async fn metrics_csv(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    Query(query): Query<PostureQuery>,
) -> ApiResult<Response> {
    let (items, _) = initiatives_json(&state, &user, &query).await?;
    let mut out = String::new();
    push_row(&mut out, METRIC_COLUMNS);
    for initiative in &items {
        push_metrics(&mut out, initiative);
    }
    Ok(csv("initiatives.csv", out))
}

/// `GET /api/v1/initiatives/{initiative}/metrics.csv`: the initiative's metrics.
pub async fn initiative_metrics_csv(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ApiPath(id): ApiPath<String>,
    Query(query): Query<PostureQuery>,
) -> ApiResult<Response> {
    known_initiative(&id)?;
    let (items, _) = initiatives_json(&state, &user, &query).await?;
    let mut out = String::new();
    push_row(&mut out, METRIC_COLUMNS);
    for initiative in items.iter().filter(|i| i["id"] == id.as_str()) {
        push_metrics(&mut out, initiative);
    }
    Ok(csv(&format!("initiative-{}-metrics.csv", slug(&id)), out))
}

/// The columns of `history.csv`.
pub const HISTORY_COLUMNS: [&str; 7] = [
    "time",
    "initiative",
    "from",
    "to",
    "score_drop",
    "reasons",
    "top_assets",
];

/// Most changes one history export holds.
pub const MAX_HISTORY_ROWS: i64 = 10_000;

/// `GET /api/v1/initiatives/{initiative}/history.csv?site=`: the stored changes, newest
/// first, reasons in words, the assets behind each as `device metric change` entries.
pub async fn history_csv(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ApiPath(id): ApiPath<String>,
    Query(query): Query<PostureQuery>,
) -> ApiResult<Response> {
    known_initiative(&id)?;
    let filter = query.filter(&user)?;
    let mut out = String::new();
    push_row(&mut out, HISTORY_COLUMNS);
    let mut offset = 0;
    while offset < MAX_HISTORY_ROWS {
        let page = posture_service::changes(
            state.store(),
            &user.scope,
            &id,
            filter.site,
            ironward_store::MAX_PAGE,
            offset,
        )
        .await?;
        for stored in &page.items {
            let change = &stored.change;
            let reasons: Vec<String> = change.reasons.iter().map(|r| r.describe()).collect();
            let mut assets = Vec::with_capacity(change.top_assets.len());
            for asset in &change.top_assets {
                let kind = json::to_value(&asset.change)?;
                assets.push(format!(
                    "{} {} {}",
                    asset.device,
                    asset.metric,
                    text_of(&kind)
                ));
            }
            push_row(
                &mut out,
                [
                    change.time.to_rfc3339(),
                    change.initiative.clone(),
                    number(change.from),
                    number(change.to),
                    stored.score_drop.to_string(),
                    reasons.join("; "),
                    assets.join("; "),
                ],
            );
        }
        let got = i64::try_from(page.items.len()).unwrap_or(i64::MAX);
        offset = offset.saturating_add(got);
        if got == 0 || offset >= page.total {
            break;
        }
    }
    Ok(csv(&format!("initiative-{}-history.csv", slug(&id)), out))
}
