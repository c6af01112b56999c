//! Timing the console's pages and API calls in-process: the real router (authentication,
//! authorisation, handlers, rendering) without the network, as signed-in users.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use tower::ServiceExt;

/// How a request authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Who {
    /// A browser session (cookie).
    Session(String),
    /// An API token.
    Token(String),
}

/// A response, read whole.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: axum::http::HeaderMap,
    pub(crate) body: Vec<u8>,
}

/// Sends one request through the router.
pub(crate) async fn send(router: &Router, request: Request<Body>) -> Result<Answer> {
    let response = router.clone().oneshot(request).await?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), 256 << 20)
        .await?
        .to_vec();
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// `GET path` as `who`.
pub(crate) async fn get(router: &Router, path: &str, who: &Who) -> Result<Answer> {
    let request = Request::builder().method(Method::GET).uri(path);
    let request = match who {
        Who::Session(cookie) => request.header(header::COOKIE, format!("iw_session={cookie}")),
        Who::Token(token) => request.header(header::AUTHORIZATION, format!("Bearer {token}")),
    };
    send(router, request.body(Body::empty())?).await
}

fn cookie(answer: &Answer, name: &str) -> Option<String> {
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

fn hidden_field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// Signs in through the login form, as a browser does; returns the session cookie.
pub(crate) async fn sign_in(router: &Router, name: &str, password: &str) -> Result<Who> {
    let request = Request::builder()
        .method(Method::GET)
        .uri("/login")
        .body(Body::empty())?;
    let page = send(router, request).await?;
    let login_cookie = cookie(&page, "iw_login").context("no login cookie")?;
    let token = hidden_field(&String::from_utf8_lossy(&page.body), "login_token")
        .context("no login token field")?;
    let form = format!(
        "username={name}&password={}&login_token={token}&next=/",
        password.replace(' ', "+")
    );
    let request = Request::builder()
        .method(Method::POST)
        .uri("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("iw_login={login_cookie}"))
        .body(Body::from(form))?;
    let answer = send(router, request).await?;
    if answer.status != StatusCode::SEE_OTHER {
        bail!("sign-in of {name} answered {}", answer.status);
    }
    Ok(Who::Session(
        cookie(&answer, "iw_session").context("no session cookie")?,
    ))
}

/// The latencies of one request, repeated.
#[derive(Debug, Clone)]
pub(crate) struct Timing {
    /// Runs timed.
    pub(crate) runs: usize,
    /// Median.
    pub(crate) p50: Duration,
    /// 95th percentile (nearest rank).
    pub(crate) p95: Duration,
}

impl Timing {
    fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort_unstable();
        let rank =
            |p: usize| samples[(samples.len() * p).div_ceil(100).clamp(1, samples.len()) - 1];
        Self {
            runs: samples.len(),
            p50: rank(50),
            p95: rank(95),
        }
    }
}

/// Runs `f` a few times untimed (caches, prepared statements), then `runs` times timed, but
/// stops early (after at least 20) once `budget` is spent, so one slow query cannot take the
/// whole run.
pub(crate) async fn time<F, Fut>(runs: usize, budget: Duration, mut f: F) -> Result<Timing>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    for _ in 0..3 {
        f().await?;
    }
    let started = Instant::now();
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        f().await?;
        samples.push(t.elapsed());
        if samples.len() >= 20.min(runs) && started.elapsed() > budget {
            break;
        }
    }
    Ok(Timing::of(samples))
}
