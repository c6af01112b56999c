//! A console in the test process over a fresh SQLite store, with helpers to create users, sign
//! in and call routes as a given user (API token or browser session).

#![allow(dead_code, unreachable_pub)]

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use ironward_console::password::hash_password;
use ironward_console::{router, AppState, ConsoleSettings};
use ironward_model::Timestamp;
use ironward_store::secret::{hash_secret, new_secret};
use ironward_store::{SiteId, Store, UserId};
use tower::ServiceExt;

/// A console with its store.
pub struct TestConsole {
    pub state: AppState,
    pub store: Store,
    pub router: Router,
    _dir: tempfile::TempDir,
}

/// A response, read whole.
pub struct Answer {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// How a test request authenticates.
#[derive(Debug, Clone)]
pub enum As {
    Nobody,
    Token(String),
    Session { cookie: String, csrf: String },
}

pub const PASSWORD: &str = "correct horse battery staple";

impl TestConsole {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(dir.path()).await.unwrap();
        let state = AppState::new(
            store.clone(),
            ConsoleSettings::default(),
            "sha256:test".to_owned(),
        );
        let router = router(state.clone());
        Self {
            state,
            store,
            router,
            _dir: dir,
        }
    }

    /// A user with `role` restricted to `sites` (empty: all sites), and an API token for it.
    pub async fn user(&self, name: &str, role: &str, sites: &[SiteId]) -> (UserId, As) {
        let hash = hash_password(PASSWORD).unwrap();
        let user = self
            .store
            .create_user(name, role, sites, &hash, Timestamp(1))
            .await
            .unwrap();
        let token = new_secret().unwrap();
        self.store
            .create_api_token(user.id, "test", &hash_secret(&token), Timestamp(1))
            .await
            .unwrap();
        (user.id, As::Token(token))
    }

    /// Signs in through the form, as a browser would; returns the session.
    pub async fn sign_in(&self, name: &str) -> As {
        let page = self.call(Method::GET, "/login", &As::Nobody, None).await;
        let login_cookie = set_cookie(&page, "iw_login").expect("login cookie");
        let token = hidden_field(&page.text(), "login_token").expect("login token field");
        let form = format!(
            "username={name}&password={}&login_token={token}&next=/",
            PASSWORD.replace(' ', "+")
        );
        let request = Request::builder()
            .method(Method::POST)
            .uri("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, format!("iw_login={login_cookie}"))
            .body(Body::from(form))
            .unwrap();
        let answer = self.send(request).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text());
        let cookie = set_cookie(&answer, "iw_session").expect("session cookie");
        let session = As::Session {
            cookie: cookie.clone(),
            csrf: String::new(),
        };
        let home = self.call(Method::GET, "/", &session, None).await;
        let csrf = hidden_field(&home.text(), "_csrf").unwrap_or_default();
        As::Session { cookie, csrf }
    }

    /// Calls `path` as `who`, with an optional body (JSON unless it looks like a form).
    pub async fn call(&self, method: Method, path: &str, who: &As, body: Option<&str>) -> Answer {
        let mut request = Request::builder().method(method).uri(path);
        match who {
            As::Nobody => {}
            As::Token(token) => {
                request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
            }
            As::Session { cookie, csrf } => {
                request = request
                    .header(header::COOKIE, format!("iw_session={cookie}"))
                    .header("x-csrf-token", csrf.as_str());
            }
        }
        let body = match body {
            Some(text) => {
                let content_type = if text.starts_with('{') || text.starts_with('[') {
                    "application/json"
                } else {
                    "application/x-www-form-urlencoded"
                };
                request = request.header(header::CONTENT_TYPE, content_type);
                Body::from(text.to_owned())
            }
            None => Body::empty(),
        };
        self.send(request.body(body).unwrap()).await
    }

    pub async fn send(&self, request: Request<Body>) -> Answer {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), 64 << 20)
            .await
            .unwrap()
            .to_vec();
        Answer {
            status,
            headers,
            body,
        }
    }
}

/// The value a `Set-Cookie` header gives cookie `name`.
pub fn set_cookie(answer: &Answer, name: &str) -> Option<String> {
    answer
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, v)| *k == name && !v.is_empty())
        .map(|(_, v)| v.to_owned())
}

/// The value of the hidden input `name` in a page.
pub fn hidden_field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// A concrete path for a route pattern (`{id}` → 1, `{file}` → console.css).
pub fn concrete(path: &str) -> String {
    path.split('/')
        .map(|segment| match segment {
            "{file}" => "console.css",
            s if s.starts_with('{') => "1",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}
