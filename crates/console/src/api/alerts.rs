//! The alert workflow API: `GET /api/v1/alerts` (filters, paging), `GET /api/v1/alerts/{id}`
//! (evidence, comments, history), `POST /api/v1/alerts/{id}/status|assign|mute|comments|learn`,
//! `POST /api/v1/alerts/bulk`, CRUD `/api/v1/exclusions` and `/api/v1/alert-rules`, and
//! `GET /api/v1/baseline` (what "Learn" recorded, for sensors to import).
//!
//! Analysts and admins act on every alert; operators (ManageOperationalAlerts) only on alerts of
//! the `operational` engine — any other is 403. Every change is audited.

use axum::extract::{Query, State};
use axum::http::{Method, StatusCode};
use axum::{Extension, Json};
use ironward_store::{
    Actor, AlertDetail, AlertId, AlertQuery, AlertRuleSpec, AlertStatus, AlertView, ExclusionSpec,
    SiteId, UserId,
};
use serde::Deserialize;
use serde_json::Value;

use crate::access::{Access, Permission, UserPrincipal};
use crate::api::extract::{ApiJson, ApiPath, ClientAddr};
use crate::api::json;
use crate::api::params::{integer, present, time, Paging};
use crate::audit::{self, Outcome};
use crate::error::{ApiError, ApiResult};
use crate::routes::RouteSpec;
use crate::state::{now, AppState};

/// Most alerts one bulk action takes.
pub const MAX_BULK: usize = 1_000;

/// The alert, exclusion, custom rule and baseline routes.
pub fn routes() -> Vec<RouteSpec> {
    let view = Access::User(Permission::ViewAlerts);
    let act = Access::User(Permission::ManageOperationalAlerts);
    let manage = Access::User(Permission::ManageAlerts);
    vec![
        RouteSpec::get("/api/v1/alerts", view, list),
        RouteSpec::post("/api/v1/alerts/bulk", act, bulk),
        RouteSpec::get("/api/v1/alerts/{id}", view, detail),
        RouteSpec::get("/api/v1/alerts/{id}/pcap", view, pcap),
        RouteSpec::post("/api/v1/alerts/{id}/status", act, set_status),
        RouteSpec::post("/api/v1/alerts/{id}/assign", act, assign),
        RouteSpec::post("/api/v1/alerts/{id}/mute", act, mute),
        RouteSpec::post("/api/v1/alerts/{id}/comments", act, comment),
        RouteSpec::post("/api/v1/alerts/{id}/learn", manage, learn),
        RouteSpec::get("/api/v1/exclusions", view, list_exclusions),
        RouteSpec::post("/api/v1/exclusions", manage, create_exclusion),
        RouteSpec::get("/api/v1/exclusions/{id}", view, get_exclusion),
        RouteSpec::new(
            Method::PUT,
            "/api/v1/exclusions/{id}",
            manage,
            update_exclusion,
        ),
        RouteSpec::new(
            Method::DELETE,
            "/api/v1/exclusions/{id}",
            manage,
            delete_exclusion,
        ),
        RouteSpec::get("/api/v1/alert-rules", view, list_rules),
        RouteSpec::post("/api/v1/alert-rules", manage, create_rule),
        RouteSpec::get("/api/v1/alert-rules/{id}", view, get_rule),
        RouteSpec::new(Method::PUT, "/api/v1/alert-rules/{id}", manage, update_rule),
        RouteSpec::new(
            Method::DELETE,
            "/api/v1/alert-rules/{id}",
            manage,
            delete_rule,
        ),
        RouteSpec::get("/api/v1/baseline", view, baseline),
        RouteSpec::new(
            Method::DELETE,
            "/api/v1/baseline/{id}",
            manage,
            delete_baseline,
        ),
    ]
}

/// Query of `GET /api/v1/alerts`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AlertParams {
    /// `new`, `active` or `closed`.
    #[serde(default)]
    pub status: Option<String>,
    /// `critical`, `major`, `minor`, `warning`.
    #[serde(default)]
    pub severity: Option<String>,
    /// Engine.
    #[serde(default)]
    pub engine: Option<String>,
    /// Site id.
    #[serde(default)]
    pub site: Option<String>,
    /// Device key (`ip:10.0.0.1`).
    #[serde(default)]
    pub device: Option<String>,
    /// `true` or `false`.
    #[serde(default)]
    pub muted: Option<String>,
    /// RFC 3339 time: only alerts seen since.
    #[serde(default)]
    pub since: Option<String>,
    /// Paging.
    #[serde(flatten)]
    pub paging: Paging,
}

impl AlertParams {
    /// The store query for `user`.
    pub fn query(&self, user: &UserPrincipal) -> ApiResult<AlertQuery> {
        let mut q = AlertQuery::new(user.scope.clone());
        q.status = present(&self.status)
            .map(AlertStatus::parse)
            .transpose()
            .map_err(|_| ApiError::bad_request("status must be new, active or closed"))?;
        q.severity = present(&self.severity).map(str::to_owned);
        q.engine = present(&self.engine).map(str::to_owned);
        q.site = integer("site", &self.site)?.map(SiteId);
        q.device = present(&self.device).map(str::to_owned);
        q.muted = match present(&self.muted) {
            None => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(_) => return Err(ApiError::bad_request("muted must be true or false")),
        };
        q.since = time("since", &self.since)?;
        (q.limit, q.offset) = self.paging.bounds()?;
        Ok(q)
    }
}

/// `GET /api/v1/alerts`, most recent first.
pub async fn list(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    Query(params): Query<AlertParams>,
) -> ApiResult<Json<Value>> {
    let page = state.store().query_alerts(&params.query(&user)?).await?;
    Ok(Json(json::page(&page)?))
}

/// An alert's detail as JSON: the list fields plus description, techniques, evidence,
/// remediation and pcap from what the sensor reported, and comments and history.
pub fn detail_json(d: &AlertDetail) -> ApiResult<Value> {
    let mut v = json::to_value(&d.alert)?;
    if let Value::Object(map) = &mut v {
        for key in [
            "description",
            "techniques",
            "evidence",
            "remediation",
            "pcap",
        ] {
            map.insert(
                key.to_owned(),
                d.payload.get(key).cloned().unwrap_or(Value::Null),
            );
        }
        map.insert("comments".to_owned(), json::to_value(&d.comments)?);
        map.insert("history".to_owned(), json::to_value(&d.history)?);
    }
    Ok(v)
}

/// `GET /api/v1/alerts/{id}`.
pub async fn detail(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Value>> {
    let d = state.store().alert_detail(&user.scope, AlertId(id)).await?;
    Ok(Json(detail_json(&d)?))
}

/// `GET /api/v1/alerts/{id}/pcap`: the packets around the alert's first occurrence, as the
/// sensor captured them (404 outside the caller's sites or when there is none). Audited: it
/// hands out raw traffic.
pub async fn pcap(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<axum::response::Response> {
    use axum::http::header;
    use axum::response::IntoResponse;
    let bytes = state.store().alert_pcap(&user.scope, AlertId(id)).await?;
    audit::record(
        &state,
        Some(&user),
        address,
        "alert.pcap_download",
        &format!("alert:{id}"),
        &format!("{} bytes", bytes.len()),
        Outcome::Ok,
    )
    .await;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.tcpdump.pcap".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"alert-{id}.pcap\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// Whether `user` may act on `alert`: security engines need ManageAlerts, operational alerts
/// ManageOperationalAlerts.
pub fn may_act(user: &UserPrincipal, alert: &AlertView) -> bool {
    let needed = if alert.engine == "operational" {
        Permission::ManageOperationalAlerts
    } else {
        Permission::ManageAlerts
    };
    user.role.allows(needed)
}

/// The alert, if in the caller's scope (404) and theirs to act on (403).
pub async fn actionable(state: &AppState, user: &UserPrincipal, id: i64) -> ApiResult<AlertView> {
    let alert = state.store().get_alert(&user.scope, AlertId(id)).await?;
    if may_act(user, &alert) {
        Ok(alert)
    } else {
        Err(ApiError::forbidden())
    }
}

/// The store's view of who acts.
pub fn actor(user: &UserPrincipal) -> Actor<'_> {
    Actor {
        id: user.id,
        name: &user.name,
    }
}

/// Body of `POST /api/v1/alerts/{id}/status`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    /// `new`, `active` or `closed`.
    pub status: AlertStatus,
}

/// Body of `POST /api/v1/alerts/{id}/assign`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// The user's id; `null` unassigns.
    pub user: Option<i64>,
}

/// Body of `POST /api/v1/alerts/{id}/mute`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MuteRequest {
    /// Mute (`true`) or unmute.
    pub muted: bool,
}

/// Body of `POST /api/v1/alerts/{id}/comments`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommentRequest {
    /// The text.
    pub text: String,
}

/// One workflow action, on one alert or in bulk.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Set the status.
    Status {
        /// The new status.
        status: AlertStatus,
    },
    /// Assign (or unassign with `null`).
    Assign {
        /// The user's id.
        user: Option<i64>,
    },
    /// Mute or unmute.
    Mute {
        /// Mute or unmute.
        muted: bool,
    },
}

/// Applies `action` to one alert already checked (see [`actionable`]), with its audit row.
pub async fn apply(
    state: &AppState,
    user: &UserPrincipal,
    address: std::net::IpAddr,
    alert: &AlertView,
    action: &Action,
) -> ApiResult<AlertView> {
    let store = state.store();
    let (name, detail, result) = match action {
        Action::Status { status } => (
            "alert.status",
            format!("{} -> {}", alert.status, status.as_str()),
            store
                .set_alert_status(&user.scope, alert.id, *status, actor(user), now())
                .await,
        ),
        Action::Assign { user: to } => (
            "alert.assign",
            to.map_or_else(|| "unassigned".to_owned(), |u| format!("to user:{u}")),
            store
                .assign_alert(&user.scope, alert.id, to.map(UserId), actor(user), now())
                .await,
        ),
        Action::Mute { muted } => (
            "alert.mute",
            if *muted { "muted" } else { "unmuted" }.to_owned(),
            store
                .mute_alert(&user.scope, alert.id, *muted, actor(user), now())
                .await,
        ),
    };
    let outcome = if result.is_ok() {
        Outcome::Ok
    } else {
        Outcome::Failed
    };
    audit::record(
        state,
        Some(user),
        address,
        name,
        &format!("alert:{}", alert.id),
        &detail,
        outcome,
    )
    .await;
    Ok(result?)
}

async fn single(
    state: AppState,
    user: UserPrincipal,
    address: std::net::IpAddr,
    id: i64,
    action: Action,
) -> ApiResult<Json<Value>> {
    let alert = actionable(&state, &user, id).await?;
    let updated = apply(&state, &user, address, &alert, &action).await?;
    Ok(Json(json::to_value(&updated)?))
}

/// `POST /api/v1/alerts/{id}/status` `{"status": "active"}`.
pub async fn set_status(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<StatusRequest>,
) -> ApiResult<Json<Value>> {
    let action = Action::Status {
        status: body.status,
    };
    single(state, user, address, id, action).await
}

/// `POST /api/v1/alerts/{id}/assign` `{"user": 3}`.
pub async fn assign(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<AssignRequest>,
) -> ApiResult<Json<Value>> {
    single(state, user, address, id, Action::Assign { user: body.user }).await
}

/// `POST /api/v1/alerts/{id}/mute` `{"muted": true}`.
pub async fn mute(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<MuteRequest>,
) -> ApiResult<Json<Value>> {
    single(state, user, address, id, Action::Mute { muted: body.muted }).await
}

/// `POST /api/v1/alerts/{id}/comments` `{"text": "..."}` → 201.
pub async fn comment(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<CommentRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let alert = actionable(&state, &user, id).await?;
    let c = state
        .store()
        .comment_alert(&user.scope, alert.id, &body.text, actor(&user), now())
        .await?;
    audit::record(
        &state,
        Some(&user),
        address,
        "alert.comment",
        &format!("alert:{}", alert.id),
        &format!("comment {}", c.id),
        Outcome::Ok,
    )
    .await;
    Ok((StatusCode::CREATED, Json(json::to_value(&c)?)))
}

/// `POST /api/v1/alerts/{id}/learn`: adds the alert's traffic to the site's baseline and closes
/// it; answers the baseline entry.
pub async fn learn(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Value>> {
    let alert = actionable(&state, &user, id).await?;
    let entry = state
        .store()
        .learn_alert(&user.scope, alert.id, actor(&user), now())
        .await?;
    // Authorization (a posture metric) follows the baseline.
    state.posture().changed();
    audit::record(
        &state,
        Some(&user),
        address,
        "alert.learn",
        &format!("alert:{}", alert.id),
        &format!("baseline entry {} ({})", entry.id, entry.kind),
        Outcome::Ok,
    )
    .await;
    Ok(Json(json::to_value(&entry)?))
}

/// Body of `POST /api/v1/alerts/bulk`: `{"ids": [..], "action": "status", "status": "closed"}`.
#[derive(Debug, Clone, Deserialize)]
pub struct BulkRequest {
    /// The alerts (at most [`MAX_BULK`]).
    pub ids: Vec<i64>,
    /// The action and its argument.
    #[serde(flatten)]
    pub action: Action,
}

/// `POST /api/v1/alerts/bulk`: all or nothing as far as access goes — an alert outside the
/// caller's scope is 404, one they may not act on 403, before any change.
pub async fn bulk(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiJson(body): ApiJson<BulkRequest>,
) -> ApiResult<Json<Value>> {
    if body.ids.is_empty() || body.ids.len() > MAX_BULK {
        return Err(ApiError::bad_request(format!(
            "ids: 1 to {MAX_BULK} alerts"
        )));
    }
    let mut alerts = Vec::with_capacity(body.ids.len());
    for id in &body.ids {
        alerts.push(actionable(&state, &user, *id).await?);
    }
    let mut items = Vec::with_capacity(alerts.len());
    for alert in &alerts {
        items.push(apply(&state, &user, address, alert, &body.action).await?);
    }
    Ok(Json(json::all(&items)?))
}

/// Query of the exclusion, rule and baseline lists.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SiteParams {
    /// Site id.
    #[serde(default)]
    pub site: Option<String>,
    /// Paging (baseline only).
    #[serde(flatten)]
    pub paging: Paging,
}

/// `GET /api/v1/exclusions`.
pub async fn list_exclusions(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    Query(params): Query<SiteParams>,
) -> ApiResult<Json<Value>> {
    let site = integer("site", &params.site)?.map(SiteId);
    let page = state.store().list_exclusions(&user.scope, site).await?;
    Ok(Json(json::page(&page)?))
}

/// `GET /api/v1/exclusions/{id}`.
pub async fn get_exclusion(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Value>> {
    let e = state.store().get_exclusion(&user.scope, id).await?;
    Ok(Json(json::to_value(&e)?))
}

async fn audit_ok(
    state: &AppState,
    user: &UserPrincipal,
    a: std::net::IpAddr,
    action: &str,
    target: String,
    detail: &str,
) {
    audit::record(state, Some(user), a, action, &target, detail, Outcome::Ok).await;
}

/// `POST /api/v1/exclusions` → 201.
pub async fn create_exclusion(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiJson(body): ApiJson<ExclusionSpec>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let e = state
        .store()
        .create_exclusion(&user.scope, &body, &user.name, now())
        .await?;
    let detail = format!("site {} name {:?}", e.spec.site_id, e.spec.name);
    audit_ok(
        &state,
        &user,
        address,
        "exclusion.create",
        format!("exclusion:{}", e.id),
        &detail,
    )
    .await;
    Ok((StatusCode::CREATED, Json(json::to_value(&e)?)))
}

/// `PUT /api/v1/exclusions/{id}`: replaces the criteria.
pub async fn update_exclusion(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<ExclusionSpec>,
) -> ApiResult<Json<Value>> {
    let e = state
        .store()
        .update_exclusion(&user.scope, id, &body)
        .await?;
    let detail = format!("site {} name {:?}", e.spec.site_id, e.spec.name);
    audit_ok(
        &state,
        &user,
        address,
        "exclusion.update",
        format!("exclusion:{id}"),
        &detail,
    )
    .await;
    Ok(Json(json::to_value(&e)?))
}

/// `DELETE /api/v1/exclusions/{id}` → 204.
pub async fn delete_exclusion(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    state.store().delete_exclusion(&user.scope, id).await?;
    audit_ok(
        &state,
        &user,
        address,
        "exclusion.delete",
        format!("exclusion:{id}"),
        "",
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/alert-rules`.
pub async fn list_rules(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    Query(params): Query<SiteParams>,
) -> ApiResult<Json<Value>> {
    let site = integer("site", &params.site)?.map(SiteId);
    let page = state.store().list_alert_rules(&user.scope, site).await?;
    Ok(Json(json::page(&page)?))
}

/// `GET /api/v1/alert-rules/{id}`.
pub async fn get_rule(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Value>> {
    let r = state.store().get_alert_rule(&user.scope, id).await?;
    Ok(Json(json::to_value(&r)?))
}

/// `POST /api/v1/alert-rules` → 201.
pub async fn create_rule(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiJson(body): ApiJson<AlertRuleSpec>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let r = state
        .store()
        .create_alert_rule(&user.scope, &body, &user.name, now())
        .await?;
    let detail = format!(
        "site {} {} {}",
        r.spec.site_id, r.spec.protocol, r.spec.operation
    );
    audit_ok(
        &state,
        &user,
        address,
        "alert_rule.create",
        format!("alert_rule:{}", r.id),
        &detail,
    )
    .await;
    Ok((StatusCode::CREATED, Json(json::to_value(&r)?)))
}

/// `PUT /api/v1/alert-rules/{id}`: replaces the rule.
pub async fn update_rule(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<AlertRuleSpec>,
) -> ApiResult<Json<Value>> {
    let r = state
        .store()
        .update_alert_rule(&user.scope, id, &body)
        .await?;
    let detail = format!(
        "site {} {} {}",
        r.spec.site_id, r.spec.protocol, r.spec.operation
    );
    audit_ok(
        &state,
        &user,
        address,
        "alert_rule.update",
        format!("alert_rule:{id}"),
        &detail,
    )
    .await;
    Ok(Json(json::to_value(&r)?))
}

/// `DELETE /api/v1/alert-rules/{id}` → 204.
pub async fn delete_rule(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    state.store().delete_alert_rule(&user.scope, id).await?;
    audit_ok(
        &state,
        &user,
        address,
        "alert_rule.delete",
        format!("alert_rule:{id}"),
        "",
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/baseline`: learned entries of the caller's sites, oldest first.
pub async fn baseline(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    Query(params): Query<SiteParams>,
) -> ApiResult<Json<Value>> {
    let site = integer("site", &params.site)?.map(SiteId);
    let (limit, offset) = params.paging.bounds()?;
    let page = state
        .store()
        .list_baseline(&user.scope, site, limit, offset)
        .await?;
    Ok(Json(json::page(&page)?))
}

/// `DELETE /api/v1/baseline/{id}` → 204 (the traffic alerts again).
pub async fn delete_baseline(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    let e = state.store().delete_baseline_entry(&user.scope, id).await?;
    // Authorization (a posture metric) follows the baseline.
    state.posture().changed();
    let detail = format!("{} {} -> {} {}", e.kind, e.src, e.dst, e.protocol);
    audit_ok(
        &state,
        &user,
        address,
        "baseline.delete",
        format!("baseline:{id}"),
        &detail,
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
