//! Authentication and authorisation of every request, run by the router in front of each
//! route with the [`Access`] that route declared: who is calling (session cookie, API token or
//! sensor credential), whether their role allows it, and — for browser sessions changing
//! anything — whether the request carries the session's CSRF token.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::body::{to_bytes, Body};
use axum::extract::{ConnectInfo, Request};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ironward_store::secret::hash_secret;
use ironward_store::{Scope, StoreError, User};

use crate::access::{Access, Credential, Role, SensorPrincipal, UserPrincipal};
use crate::error::ApiError;
use crate::state::{now, AppState};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "iw_session";
/// The form field carrying the CSRF token.
pub const CSRF_FIELD: &str = "_csrf";
/// The header carrying the CSRF token (for scripts).
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Largest form body read to find the CSRF token.
const MAX_FORM_BODY: usize = 1 << 20;

/// The client's address: the TCP peer (the console does not trust forwarding headers).
pub fn client_address(request: &Request) -> IpAddr {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// Whether the path belongs to the JSON API (errors as JSON) rather than the UI (errors as
/// pages).
pub fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
}

/// The value of cookie `name`, if the request carries it.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The bearer token of the `Authorization` header.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty() && t.len() <= 256)
}

/// Compares two secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The site scope of a user: every site when the user has no restriction.
pub fn scope_of(user: &User) -> Scope {
    if user.sites.is_empty() {
        Scope::All
    } else {
        Scope::Sites(user.sites.clone())
    }
}

/// The middleware: checks `access` for the request and hands the principal to the handler as
/// a request extension ([`UserPrincipal`] or [`SensorPrincipal`]).
pub async fn authorize(state: AppState, access: Access, request: Request, next: Next) -> Response {
    match check(&state, access, request).await {
        Ok(request) => next.run(request).await,
        Err(denied) => denied,
    }
}

async fn check(
    state: &AppState,
    access: Access,
    mut request: Request,
) -> Result<Request, Response> {
    let api = is_api(request.uri().path());
    match access {
        Access::Public => Ok(request),
        Access::Sensor => {
            let credential = bearer(request.headers())
                .ok_or_else(|| deny(api, Denied::Unauthenticated, &request))?;
            match state.store().authenticate_sensor(credential).await {
                Ok(sensor) => {
                    request.extensions_mut().insert(SensorPrincipal {
                        id: sensor.id,
                        name: sensor.name,
                    });
                    Ok(request)
                }
                Err(StoreError::Unauthorized | StoreError::NotFound) => {
                    Err(deny(api, Denied::Unauthenticated, &request))
                }
                Err(other) => Err(ApiError::from(other).into_response()),
            }
        }
        Access::SignedIn | Access::User(_) => {
            let principal = match identify(state, request.headers()).await {
                Ok(Some(p)) => p,
                Ok(None) => return Err(deny(api, Denied::Unauthenticated, &request)),
                Err(e) => return Err(e.into_response()),
            };
            if let Access::User(permission) = access {
                if !principal.role.allows(permission) {
                    return Err(deny(api, Denied::Forbidden, &request));
                }
            }
            let request = if principal.via == Credential::Session && changes_state(request.method())
            {
                verify_csrf(request, principal.csrf.as_deref().unwrap_or_default(), api).await?
            } else {
                request
            };
            let mut request = request;
            request.extensions_mut().insert(principal);
            Ok(request)
        }
    }
}

/// The signed-in user of a request: by API token first, then by session cookie.
pub async fn identify(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<UserPrincipal>, ApiError> {
    let store = state.store();
    if let Some(token) = bearer(headers) {
        return match store.find_api_token(&hash_secret(token)).await {
            Ok((token, user)) => {
                // Last use is shown to the token's owner; a failure to record it is not a
                // reason to refuse the request.
                if let Err(e) = store.touch_api_token(token.id, now()).await {
                    tracing::warn!(error = %e, "recording API token use");
                }
                Ok(principal(user, Credential::ApiToken, None))
            }
            Err(StoreError::Unauthorized | StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        };
    }
    let Some(session_id) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let session = match store.get_session(&hash_secret(session_id), now()).await {
        Ok(session) => session,
        Err(StoreError::NotFound | StoreError::Unauthorized) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    match store.get_user(session.user_id).await {
        Ok(user) => Ok(principal(
            user,
            Credential::Session,
            Some(session.csrf_token),
        )),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn principal(user: User, via: Credential, csrf: Option<String>) -> Option<UserPrincipal> {
    // A role this build does not know grants nothing.
    let role = Role::parse(&user.role)?;
    Some(UserPrincipal {
        scope: scope_of(&user),
        id: user.id,
        name: user.name,
        role,
        via,
        csrf,
    })
}

fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Checks the CSRF token of a state-changing session request: the `x-csrf-token` header, or
/// the `_csrf` field of a URL-encoded form (the body is read and put back).
async fn verify_csrf(request: Request, expected: &str, api: bool) -> Result<Request, Response> {
    if let Some(given) = request
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
    {
        return if !expected.is_empty() && same_secret(given, expected) {
            Ok(request)
        } else {
            Err(deny(api, Denied::Csrf, &request))
        };
    }
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(deny(api, Denied::Csrf, &request));
    }
    let (parts, body) = request.into_parts();
    let bytes = match to_bytes(body, MAX_FORM_BODY).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return Err(
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "form too large").into_response(),
            )
        }
    };
    let given = form_field(&bytes, CSRF_FIELD);
    let request = Request::from_parts(parts, Body::from(bytes));
    match given {
        Some(given) if !expected.is_empty() && same_secret(&given, expected) => Ok(request),
        _ => Err(deny(api, Denied::Csrf, &request)),
    }
}

/// The first value of `name` in a URL-encoded form.
pub fn form_field(body: &[u8], name: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    text.split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.replace('+', " "))
        .and_then(|v| percent_decode(&v))
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[derive(Debug, Clone, Copy)]
enum Denied {
    Unauthenticated,
    Forbidden,
    Csrf,
}

/// The refusal: JSON for the API; for pages, the sign-in form (401) or a short page (403).
fn deny(api: bool, why: Denied, request: &Request) -> Response {
    match (api, why) {
        (true, Denied::Unauthenticated) => ApiError::unauthenticated().into_response(),
        (true, Denied::Forbidden) => ApiError::forbidden().into_response(),
        (true, Denied::Csrf) => {
            ApiError::new(StatusCode::FORBIDDEN, "missing or wrong CSRF token").into_response()
        }
        (false, Denied::Unauthenticated) => {
            let next = request
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_else(|| "/".to_owned());
            crate::ui::login::sign_in_required(&next)
        }
        (false, Denied::Forbidden) => crate::ui::layout::message_page(
            StatusCode::FORBIDDEN,
            "Not permitted",
            "Your role does not allow this page or action.",
        ),
        (false, Denied::Csrf) => crate::ui::layout::message_page(
            StatusCode::FORBIDDEN,
            "Form expired",
            "The form was not sent from this session. Reload the page and try again.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_bearers_and_forms_are_read_strictly() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, "a=1; iw_session=abc; b=2".parse().unwrap());
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "iw"), None);
        headers.insert(header::AUTHORIZATION, "Bearer  tok ".parse().unwrap());
        assert_eq!(bearer(&headers), Some("tok"));
        headers.insert(header::AUTHORIZATION, "Basic dG9r".parse().unwrap());
        assert_eq!(bearer(&headers), None);
        assert_eq!(
            form_field(b"a=1&_csrf=x%2By+z&b=", "_csrf").as_deref(),
            Some("x+y z")
        );
        assert_eq!(form_field(b"_csrf=%zz", "_csrf"), None);
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
    }
}
