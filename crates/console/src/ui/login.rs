//! Signing in and out. The sign-in form is protected against cross-site submission by a
//! double-submit token (a short-lived cookie repeated in a hidden field), sessions are random
//! 256-bit ids stored hashed, and failures are throttled per address and lock the user after
//! repeated failures.

use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use ironward_model::Timestamp;
use ironward_store::secret::{hash_secret, new_secret};
use ironward_store::{Session, StoreError};
use maud::html;
use serde::Deserialize;

use crate::access::UserPrincipal;
use crate::audit::{self, Outcome};
use crate::auth::{client_address, cookie, same_secret, SESSION_COOKIE};
use crate::error::ApiError;
use crate::password::verify_password;
use crate::state::{now, AppState};
use crate::ui::layout::{bare_page, html_response};

/// The cookie carrying the sign-in form's token.
const LOGIN_COOKIE: &str = "iw_login";
/// How long a sign-in form stays valid.
const LOGIN_FORM_SECONDS: u32 = 1800;

/// Query of `GET /login`.
#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    /// Where to go after signing in.
    #[serde(default)]
    pub next: Option<String>,
}

/// `GET /login`: the sign-in form.
pub async fn login_page(Query(query): Query<LoginQuery>) -> Response {
    login_form(StatusCode::OK, query.next.as_deref().unwrap_or("/"), None)
}

/// The answer to a page request without a session: 401 with the sign-in form, which returns
/// to `next` afterwards.
pub fn sign_in_required(next: &str) -> Response {
    login_form(StatusCode::UNAUTHORIZED, next, None)
}

fn login_form(status: StatusCode, next: &str, error: Option<&str>) -> Response {
    let token = match new_secret() {
        Ok(token) => token,
        Err(_) => {
            return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "no randomness")
                .into_response()
        }
    };
    let next = safe_next(next);
    let body = bare_page(
        "Sign in",
        html! {
            div.signin {
                h1 { "Ironward" }
                p.muted { "OT and IoT security monitoring" }
                @if let Some(error) = error {
                    p.error role="alert" { (error) }
                }
                form method="post" action="/login" {
                    input type="hidden" name="login_token" value=(token);
                    input type="hidden" name="next" value=(next);
                    label { "User name" input type="text" name="username" autocomplete="username" required autofocus; }
                    label { "Password" input type="password" name="password" autocomplete="current-password" required; }
                    button type="submit" { "Sign in" }
                }
            }
        },
    );
    let cookie = format!(
        "{LOGIN_COOKIE}={token}; Path=/login; Max-Age={LOGIN_FORM_SECONDS}; HttpOnly; Secure; SameSite=Strict"
    );
    let mut response = (status, html_response(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// Only paths of this console: an absolute path, not `//host` nor a scheme.
fn safe_next(next: &str) -> &str {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.contains(['\r', '\n']);
    if local {
        next
    } else {
        "/"
    }
}

/// The sign-in form as posted.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    login_token: String,
    #[serde(default)]
    next: String,
}

/// `POST /login`.
pub async fn login(State(state): State<AppState>, request: Request) -> Response {
    let address = client_address(&request);
    let form_cookie = cookie(request.headers(), LOGIN_COOKIE).map(str::to_owned);
    let Form(form) = match read_form(request, &state).await {
        Ok(form) => form,
        Err(response) => return response,
    };
    let next = safe_next(&form.next).to_owned();
    if !form_cookie.is_some_and(|c| !c.is_empty() && same_secret(&c, &form.login_token)) {
        return login_form(
            StatusCode::FORBIDDEN,
            &next,
            Some("The sign-in form expired. Please try again."),
        );
    }
    let instant = std::time::Instant::now();
    if let Err(wait) = state.throttle().check(address, instant) {
        audit::record(
            &state,
            None,
            address,
            "login",
            &format!("user:{}", form.username),
            "throttled",
            Outcome::Denied,
        )
        .await;
        return login_form(
            StatusCode::TOO_MANY_REQUESTS,
            &next,
            Some(&format!(
                "Too many failed sign-ins from your address. Try again in {} minutes.",
                wait.as_secs().div_ceil(60)
            )),
        );
    }
    let at = now();
    let user = match state.store().get_user_by_name(&form.username).await {
        Ok(user) => Some(user),
        Err(StoreError::NotFound) => None,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let locked = user
        .as_ref()
        .and_then(|u| u.locked_until)
        .is_some_and(|until| until > at);
    // The hash is verified even for locked or unknown users so that timing tells nothing.
    let password_ok = verify_password(
        &form.password,
        user.as_ref().map(|u| u.password_hash.as_str()),
    );
    let Some(user) = user.filter(|_| password_ok && !locked) else {
        state.throttle().failure(address, instant);
        let detail = if locked {
            "locked"
        } else {
            "wrong name or password"
        };
        if let Ok(known) = state.store().get_user_by_name(&form.username).await {
            let settings = state.settings();
            if !locked {
                if let Err(e) = state
                    .store()
                    .record_login_failure(known.id, at, settings.lock_after, settings.lock_for)
                    .await
                {
                    tracing::warn!(error = %e, "recording a failed login");
                }
            }
        }
        audit::record(
            &state,
            None,
            address,
            "login",
            &format!("user:{}", form.username),
            detail,
            Outcome::Denied,
        )
        .await;
        return login_form(
            StatusCode::UNAUTHORIZED,
            &next,
            Some("Wrong user name or password, or the account is locked for a while after repeated failures."),
        );
    };
    state.throttle().success(address);
    if let Err(e) = state.store().record_login_success(user.id, at).await {
        return ApiError::from(e).into_response();
    }
    let (Ok(session_id), Ok(csrf)) = (new_secret(), new_secret()) else {
        return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "no randomness").into_response();
    };
    let lifetime = state.settings().session_lifetime;
    let session = Session {
        id_hash: hash_secret(&session_id),
        user_id: user.id,
        csrf_token: csrf,
        created_at: at,
        expires_at: Timestamp(
            at.0.saturating_add(i64::try_from(lifetime.as_nanos()).unwrap_or(i64::MAX)),
        ),
        address: address.to_string(),
    };
    if let Err(e) = state.store().create_session(&session).await {
        return ApiError::from(e).into_response();
    }
    audit::record_named(
        &state,
        Some((user.id, &user.name)),
        address,
        "login",
        &format!("user:{}", user.name),
        "",
        Outcome::Ok,
    )
    .await;
    let mut response = Redirect::to(&next).into_response();
    let cookies = [
        format!(
            "{SESSION_COOKIE}={session_id}; Path=/; Max-Age={}; HttpOnly; Secure; SameSite=Strict",
            lifetime.as_secs()
        ),
        format!("{LOGIN_COOKIE}=; Path=/login; Max-Age=0; HttpOnly; Secure; SameSite=Strict"),
    ];
    for c in cookies {
        if let Ok(value) = HeaderValue::from_str(&c) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// `POST /logout`: ends the session (the CSRF check ran before).
pub async fn logout(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    request: Request,
) -> Response {
    let address = client_address(&request);
    if let Some(id) = cookie(request.headers(), SESSION_COOKIE) {
        if let Err(e) = state.store().delete_session(&hash_secret(id)).await {
            return ApiError::from(e).into_response();
        }
    }
    audit::record(
        &state,
        Some(&user),
        address,
        "logout",
        &format!("user:{}", user.name),
        "",
        Outcome::Ok,
    )
    .await;
    let mut response = Redirect::to("/login").into_response();
    let clear = format!("{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict");
    if let Ok(value) = HeaderValue::from_str(&clear) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// Reads the sign-in form, answering a malformed one with the sign-in page.
async fn read_form(request: Request, state: &AppState) -> Result<Form<LoginForm>, Response> {
    use axum::extract::FromRequest;
    Form::<LoginForm>::from_request(request, state)
        .await
        .map_err(|_| {
            login_form(
                StatusCode::BAD_REQUEST,
                "/",
                Some("The sign-in form was incomplete."),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next("/devices?q=plc"), "/devices?q=plc");
        assert_eq!(safe_next("//evil.example/"), "/");
        assert_eq!(safe_next("/\\evil.example"), "/");
        assert_eq!(safe_next("https://evil.example/"), "/");
        assert_eq!(safe_next("/a\r\nSet-Cookie: x"), "/");
    }
}
