//! Forwarding rules and playbooks (administrators): `GET/POST /api/v1/forwarding/rules`,
//! `DELETE /api/v1/forwarding/rules/{id}`, `POST /api/v1/forwarding/rules/{id}/enabled`,
//! `GET /api/v1/forwarding/status`, `GET/POST /api/v1/playbooks`,
//! `DELETE /api/v1/playbooks/{id}`, `POST /api/v1/playbooks/{id}/enabled`,
//! `GET /api/v1/playbooks/{id}/runs`.
//!
//! A rule's secret (webhook HMAC key, SMTP password) and a playbook webhook's secret are
//! accepted on creation and never shown back (`has_secret` says whether one is set); the audit
//! log records the change without them.
//!
//! The checks and the audit of each change live in one function per change ([`add_rule`],
//! [`switch_rule`], [`remove_rule`], [`add_playbook`], [`switch_playbook`], [`remove_playbook`])
//! that the web UI's
//! forms call too.

use std::net::IpAddr;

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::{Extension, Json};
use ironward_store::{AlertFilter, ForwardRule, Playbook, PlaybookRun};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::access::{Access, Permission, UserPrincipal};
use crate::api::extract::{ApiJson, ApiPath, ClientAddr};
use crate::api::json;
use crate::audit::{self, Outcome};
use crate::error::{ApiError, ApiResult};
use crate::forward::{playbooks, Destination};
use crate::routes::RouteSpec;
use crate::state::{now, AppState};

/// Longest secret accepted.
pub const MAX_SECRET_LEN: usize = 1024;

/// Largest request body (a destination may carry a CA PEM).
pub const BODY_LIMIT: usize = 128 * 1024;

/// The forwarding and playbook routes.
pub fn routes() -> Vec<RouteSpec> {
    let admin = Access::User(Permission::ManageSettings);
    vec![
        RouteSpec::get("/api/v1/forwarding/rules", admin, list_rules),
        RouteSpec::post("/api/v1/forwarding/rules", admin, create_rule).with_body_limit(BODY_LIMIT),
        RouteSpec::new(
            Method::DELETE,
            "/api/v1/forwarding/rules/{id}",
            admin,
            delete_rule,
        ),
        RouteSpec::post("/api/v1/forwarding/rules/{id}/enabled", admin, enable_rule),
        RouteSpec::get("/api/v1/forwarding/status", admin, status),
        RouteSpec::get("/api/v1/playbooks", admin, list_playbooks),
        RouteSpec::post("/api/v1/playbooks", admin, create_playbook).with_body_limit(BODY_LIMIT),
        RouteSpec::new(
            Method::DELETE,
            "/api/v1/playbooks/{id}",
            admin,
            delete_playbook,
        ),
        RouteSpec::post("/api/v1/playbooks/{id}/enabled", admin, enable_playbook),
        RouteSpec::get("/api/v1/playbooks/{id}/runs", admin, runs),
    ]
}

/// Body of `POST /api/v1/forwarding/rules`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleRequest {
    /// Unique name.
    pub name: String,
    /// Which alerts (empty: all).
    #[serde(default)]
    pub filter: AlertFilter,
    /// Where to ([`Destination`]).
    pub destination: Value,
    /// Webhook HMAC key or SMTP password.
    #[serde(default)]
    pub secret: String,
}

/// Body of `POST /api/v1/forwarding/rules/{id}/enabled` and `POST /api/v1/playbooks/{id}/enabled`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnabledRequest {
    /// Whether new alerts are queued for the rule, or start runs of the playbook.
    pub enabled: bool,
}

/// Body of `POST /api/v1/playbooks`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaybookRequest {
    /// Unique name.
    pub name: String,
    /// Which alerts (empty: all).
    #[serde(default)]
    pub filter: AlertFilter,
    /// Ordered actions ([`playbooks::Action`]).
    pub actions: Value,
}

/// A rule as the API shows it (no secret).
pub fn rule_json(rule: &ForwardRule) -> ApiResult<Value> {
    json::to_value(rule)
}

/// A playbook as the API shows it (webhook secrets replaced by `has_secret`).
pub fn playbook_json(playbook: &Playbook) -> ApiResult<Value> {
    let mut value = json::to_value(playbook)?;
    value["actions"] = playbooks::redacted(&playbook.actions);
    Ok(value)
}

/// `GET /api/v1/forwarding/rules`.
pub async fn list_rules(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let rules = state.store().list_forward_rules().await?;
    let items = rules.iter().map(rule_json).collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(json!({ "items": items, "total": items.len() })))
}

/// Checks a new rule (the destination, the secret's length, a webhook's need for a secret),
/// creates it and audits it. The API and the web UI both create rules through this, so both
/// refuse the same input with the same message.
pub async fn add_rule(
    state: &AppState,
    user: &UserPrincipal,
    address: IpAddr,
    body: &RuleRequest,
) -> ApiResult<ForwardRule> {
    let destination = Destination::from_json(&body.destination)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    if body.secret.len() > MAX_SECRET_LEN {
        return Err(ApiError::bad_request(format!(
            "secret must be at most {MAX_SECRET_LEN} bytes"
        )));
    }
    if matches!(destination, Destination::Webhook { .. }) && body.secret.is_empty() {
        return Err(ApiError::bad_request(
            "a webhook rule needs a secret to sign its messages",
        ));
    }
    let rule = state
        .store()
        .create_forward_rule(
            &body.name,
            &body.filter,
            &body.destination,
            &body.secret,
            now(),
        )
        .await?;
    let kind = body
        .destination
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("");
    audit::record(
        state,
        Some(user),
        address,
        "forwarding.rule.create",
        &format!("forward_rule:{}", rule.id),
        &format!("name {:?}, {kind}", rule.name),
        Outcome::Ok,
    )
    .await;
    Ok(rule)
}

/// Deletes a rule (its queue goes with it) and audits it (API and UI).
pub async fn remove_rule(
    state: &AppState,
    user: &UserPrincipal,
    address: IpAddr,
    id: i64,
) -> ApiResult<()> {
    let rule = state.store().get_forward_rule(id).await?;
    state.store().delete_forward_rule(id).await?;
    audit::record(
        state,
        Some(user),
        address,
        "forwarding.rule.delete",
        &format!("forward_rule:{id}"),
        &format!("name {:?}", rule.name),
        Outcome::Ok,
    )
    .await;
    Ok(())
}

/// Enables or disables a rule and audits it (API and UI); answers the rule as it now is.
pub async fn switch_rule(
    state: &AppState,
    user: &UserPrincipal,
    address: IpAddr,
    id: i64,
    enabled: bool,
) -> ApiResult<ForwardRule> {
    state.store().set_forward_rule_enabled(id, enabled).await?;
    audit::record(
        state,
        Some(user),
        address,
        "forwarding.rule.enable",
        &format!("forward_rule:{id}"),
        &format!("enabled {enabled}"),
        Outcome::Ok,
    )
    .await;
    Ok(state.store().get_forward_rule(id).await?)
}

/// `POST /api/v1/forwarding/rules` → 201; a taken name is 409, a bad destination 400.
pub async fn create_rule(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiJson(body): ApiJson<RuleRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let rule = add_rule(&state, &user, address, &body).await?;
    Ok((StatusCode::CREATED, Json(rule_json(&rule)?)))
}

/// `DELETE /api/v1/forwarding/rules/{id}` → 204 (its queue goes with it).
pub async fn delete_rule(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    remove_rule(&state, &user, address, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/forwarding/rules/{id}/enabled` → the rule.
pub async fn enable_rule(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<EnabledRequest>,
) -> ApiResult<Json<Value>> {
    let rule = switch_rule(&state, &user, address, id, body.enabled).await?;
    Ok(Json(rule_json(&rule)?))
}

/// `GET /api/v1/forwarding/status`: the queue and its counters.
pub async fn status(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    Ok(Json(json::to_value(&state.store().forward_stats().await?)?))
}

/// `GET /api/v1/playbooks`.
pub async fn list_playbooks(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let list = state.store().list_playbooks().await?;
    let items = list
        .iter()
        .map(playbook_json)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(json!({ "items": items, "total": items.len() })))
}

/// Checks a new playbook (its actions, the rules and groups they name, webhook secrets'
/// lengths), creates it and audits it. The API and the web UI both create playbooks through
/// this.
pub async fn add_playbook(
    state: &AppState,
    user: &UserPrincipal,
    address: IpAddr,
    body: &PlaybookRequest,
) -> ApiResult<Playbook> {
    let actions = playbooks::parse_actions(&body.actions)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let groups = state.store().list_groups().await?;
    for action in &actions {
        let problem = match action {
            playbooks::Action::Notify { rule } => state
                .store()
                .get_forward_rule(*rule)
                .await
                .is_err()
                .then(|| format!("no forwarding rule {rule}")),
            playbooks::Action::Group { group } => {
                (!groups.iter().any(|g| g.id.0 == *group)).then(|| format!("no group {group}"))
            }
            playbooks::Action::Webhook { secret, .. } => (secret.len() > MAX_SECRET_LEN)
                .then(|| format!("secret must be at most {MAX_SECRET_LEN} bytes")),
            _ => None,
        };
        if let Some(problem) = problem {
            return Err(ApiError::bad_request(problem));
        }
    }
    let playbook = state
        .store()
        .create_playbook(&body.name, &body.filter, &body.actions, now())
        .await?;
    audit::record(
        state,
        Some(user),
        address,
        "playbook.create",
        &format!("playbook:{}", playbook.id),
        &format!("name {:?}, {} action(s)", playbook.name, actions.len()),
        Outcome::Ok,
    )
    .await;
    Ok(playbook)
}

/// Enables or disables a playbook and audits it (API and UI); answers the playbook as it now
/// is.
pub async fn switch_playbook(
    state: &AppState,
    user: &UserPrincipal,
    address: IpAddr,
    id: i64,
    enabled: bool,
) -> ApiResult<Playbook> {
    state.store().set_playbook_enabled(id, enabled).await?;
    audit::record(
        state,
        Some(user),
        address,
        "playbook.enable",
        &format!("playbook:{id}"),
        &format!("enabled {enabled}"),
        Outcome::Ok,
    )
    .await;
    state
        .store()
        .list_playbooks()
        .await?
        .into_iter()
        .find(|p| p.id == id)
        .ok_or_else(ApiError::not_found)
}

/// `POST /api/v1/playbooks/{id}/enabled` → the playbook.
pub async fn enable_playbook(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<EnabledRequest>,
) -> ApiResult<Json<Value>> {
    let playbook = switch_playbook(&state, &user, address, id, body.enabled).await?;
    Ok(Json(playbook_json(&playbook)?))
}

/// Deletes a playbook (its runs go with it) and audits it (API and UI).
pub async fn remove_playbook(
    state: &AppState,
    user: &UserPrincipal,
    address: IpAddr,
    id: i64,
) -> ApiResult<()> {
    state.store().delete_playbook(id).await?;
    audit::record(
        state,
        Some(user),
        address,
        "playbook.delete",
        &format!("playbook:{id}"),
        "",
        Outcome::Ok,
    )
    .await;
    Ok(())
}

/// `POST /api/v1/playbooks` → 201; unknown rules or groups in the actions are 400.
pub async fn create_playbook(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiJson(body): ApiJson<PlaybookRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let playbook = add_playbook(&state, &user, address, &body).await?;
    Ok((StatusCode::CREATED, Json(playbook_json(&playbook)?)))
}

/// `DELETE /api/v1/playbooks/{id}` → 204 (its runs go with it).
pub async fn delete_playbook(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    ClientAddr(address): ClientAddr,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    remove_playbook(&state, &user, address, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/playbooks/{id}/runs`: the newest 100 runs.
pub async fn runs(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Value>> {
    if !state
        .store()
        .list_playbooks()
        .await?
        .iter()
        .any(|p| p.id == id)
    {
        return Err(ApiError::not_found());
    }
    let runs: Vec<PlaybookRun> = state.store().list_playbook_runs(Some(id), 100).await?;
    Ok(Json(json::all(&runs)?))
}
