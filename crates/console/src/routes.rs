//! The console's one route table. Every route names the [`Access`] it needs; the router wraps
//! each handler in [`crate::auth::authorize`] with that access, so a route cannot be added
//! without deciding who may call it, and tests enumerate [`table`] to prove none is open by
//! accident.

use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;

use crate::access::{Access, Permission};
use crate::state::AppState;

/// Largest request body, except where a route sets its own.
pub const DEFAULT_BODY_LIMIT: usize = 1 << 20;

/// One route: method, path, who may call it, and the handler.
pub struct RouteSpec {
    /// The HTTP method.
    pub method: Method,
    /// The path, in axum's syntax (`/api/v1/devices/{id}`).
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// Largest body accepted.
    pub body_limit: usize,
    handler: MethodRouter<AppState>,
}

impl std::fmt::Debug for RouteSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteSpec")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("access", &self.access)
            .finish_non_exhaustive()
    }
}

impl RouteSpec {
    /// A route served by `handler`.
    pub fn new<H, T>(method: Method, path: &'static str, access: Access, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = match method {
            Method::POST => MethodFilter::POST,
            Method::PUT => MethodFilter::PUT,
            Method::PATCH => MethodFilter::PATCH,
            Method::DELETE => MethodFilter::DELETE,
            _ => MethodFilter::GET,
        };
        Self {
            method,
            path,
            access,
            body_limit: DEFAULT_BODY_LIMIT,
            handler: on(filter, handler),
        }
    }

    /// A GET route.
    pub fn get<H, T>(path: &'static str, access: Access, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        Self::new(Method::GET, path, access, handler)
    }

    /// A POST route.
    pub fn post<H, T>(path: &'static str, access: Access, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        Self::new(Method::POST, path, access, handler)
    }

    /// Sets the largest body this route accepts.
    pub fn with_body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }
}

/// Every route of the console.
pub fn table() -> Vec<RouteSpec> {
    use crate::ui::login;
    let mut routes = vec![
        RouteSpec::get("/login", Access::Public, login::login_page),
        RouteSpec::post("/login", Access::Public, login::login),
        RouteSpec::post("/logout", Access::SignedIn, login::logout),
        RouteSpec::get("/static/{file}", Access::Public, crate::assets::serve),
        RouteSpec::get(
            "/api/v1/openapi.json",
            Access::User(Permission::ViewInventory),
            crate::api::openapi::document,
        ),
    ];
    routes.extend(crate::api::ingest::routes());
    routes.extend(crate::api::routes());
    routes.extend(crate::ui::routes());
    routes
}

/// The router: every route of [`table`] behind its access check, security headers on every
/// answer, 404 for anything else.
pub fn router(state: AppState) -> Router {
    let mut router = Router::new();
    for spec in table() {
        let access = spec.access;
        let guard_state = state.clone();
        let handler = spec
            .handler
            .route_layer(middleware::from_fn(
                move |request: axum::extract::Request, next: Next| {
                    crate::auth::authorize(guard_state.clone(), access, request, next)
                },
            ))
            .layer(DefaultBodyLimit::max(spec.body_limit));
        router = router.route(spec.path, handler);
    }
    router
        .fallback(not_found)
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

async fn not_found() -> Response {
    crate::error::ApiError::new(StatusCode::NOT_FOUND, "no such page").into_response()
}

/// Headers that keep pages from being framed, sniffed, cached or made to run foreign code.
async fn security_headers(request: axum::extract::Request, next: Next) -> Response {
    let is_static = request.uri().path().starts_with("/static/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let set = |headers: &mut axum::http::HeaderMap, name, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
         frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    );
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::REFERRER_POLICY, "same-origin");
    set(
        headers,
        header::STRICT_TRANSPORT_SECURITY,
        "max-age=31536000",
    );
    if !is_static {
        set(headers, header::CACHE_CONTROL, "no-store");
    }
    response
}
