//! Pieces many pages share: times, device names, links with query strings, pagers, the
//! client's address, and answers for failures and redirects.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use ironward_model::{Device, Timestamp};
use ironward_store::StoreError;
use maud::{html, Markup};

use crate::ui::layout::message_page;

/// Nanoseconds in a second.
pub(crate) const SECOND: i64 = 1_000_000_000;

/// A time as `2026-12-07 06:00:05` (UTC), or a dash for "never".
pub(crate) fn when(t: Option<Timestamp>) -> String {
    match t {
        Some(t) => {
            let text = t.to_rfc3339();
            // RFC 3339 with the fraction dropped reads better in tables.
            let seconds = text.get(..19).unwrap_or(&text);
            format!("{} UTC", seconds.replacen('T', " ", 1))
        }
        None => "—".to_owned(),
    }
}

/// How long ago `t` was, in one unit (`5 min ago`).
pub(crate) fn ago(t: Option<Timestamp>, now: Timestamp) -> String {
    let Some(t) = t else {
        return "never".to_owned();
    };
    let seconds = now.0.saturating_sub(t.0) / SECOND;
    match seconds {
        s if s < 0 => "in the future".to_owned(),
        s if s < 60 => format!("{s} s ago"),
        s if s < 3600 => format!("{} min ago", s / 60),
        s if s < 86_400 => format!("{} h ago", s / 3600),
        s => format!("{} days ago", s / 86_400),
    }
}

/// The name a device is shown by: its first host name, else its first address, else its MAC,
/// else its id.
pub(crate) fn device_name(d: &Device) -> String {
    d.hostnames
        .first()
        .cloned()
        .or_else(|| d.ips.first().map(ToString::to_string))
        .or_else(|| d.mac.map(|m| m.to_string()))
        .unwrap_or_else(|| d.id.0.clone())
}

/// `value` percent-encoded for a query string.
pub(crate) fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `path?k=v&...` over the pairs whose value is not empty.
pub(crate) fn link(path: &str, pairs: &[(&str, String)]) -> String {
    let query: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

/// "Rows a–b of n" with previous/next links; `pairs` are the page's other parameters.
pub(crate) fn pager(
    path: &str,
    pairs: &[(&str, String)],
    offset: i64,
    limit: i64,
    shown: usize,
    total: i64,
) -> Markup {
    let shown = i64::try_from(shown).unwrap_or(i64::MAX);
    let page_link = |offset: i64| {
        let mut all = pairs.to_vec();
        all.push(("offset", offset.to_string()));
        link(path, &all)
    };
    html! {
        nav.pager {
            @if shown == 0 {
                span.muted { "No rows." }
            } @else {
                span { "Rows " (offset + 1) "–" (offset + shown) " of " (total) }
            }
            @if offset > 0 {
                a.button.secondary href=(page_link((offset - limit).max(0))) rel="prev" { "← Previous" }
            }
            @if offset + shown < total {
                a.button.secondary href=(page_link(offset + limit)) rel="next" { "Next →" }
            }
        }
    }
}

/// The client's TCP address (0.0.0.0 when the connection's address is unknown, as in
/// in-process tests).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientAddr(pub(crate) IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip())
                .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        ))
    }
}

/// The page for a store failure: not found, conflict, invalid input; anything else is logged
/// and answered without detail.
pub(crate) fn failure(error: StoreError) -> Response {
    match error {
        StoreError::NotFound => message_page(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such item, or it belongs to a site you cannot see.",
        ),
        StoreError::Conflict(reason) => message_page(StatusCode::CONFLICT, "Conflict", &reason),
        StoreError::Invalid(reason) => {
            message_page(StatusCode::BAD_REQUEST, "Invalid request", &reason)
        }
        other => {
            tracing::error!(error = %other, "store failure on a page");
            message_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The console could not read or write its database. The cause is in its log.",
            )
        }
    }
}

/// The status a store error answers a form with, and the message shown above the form.
pub(crate) fn form_error(error: StoreError) -> (StatusCode, String) {
    match error {
        StoreError::NotFound => (
            StatusCode::NOT_FOUND,
            "No such item, or it belongs to a site you cannot see.".to_owned(),
        ),
        StoreError::Conflict(reason) => (StatusCode::CONFLICT, conflict_text(&reason)),
        StoreError::Invalid(reason) => (StatusCode::BAD_REQUEST, reason),
        other => {
            tracing::error!(error = %other, "store failure on a form");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The console could not write its database; the cause is in its log.".to_owned(),
            )
        }
    }
}

/// A unique-key violation reads as "already exists"; other conflicts say their reason.
pub(crate) fn conflict_text(reason: &str) -> String {
    if reason.contains("unique") || reason.contains("UNIQUE") || reason.contains("duplicate") {
        "That name is already taken.".to_owned()
    } else {
        reason.to_owned()
    }
}

/// 303 See Other to `to` (after a successful form).
pub(crate) fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_owned())]).into_response()
}

/// A message box above a form (error or notice).
pub(crate) fn notice(error: Option<&str>) -> Markup {
    html! {
        @if let Some(error) = error {
            p.error role="alert" { (error) }
        }
    }
}

/// A number of the query string, or `default` when absent or unreadable.
pub(crate) fn number(value: Option<&str>, default: i64) -> i64 {
    value
        .map(str::trim)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// An optional text parameter: trimmed, empty counts as absent.
pub(crate) fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_encode_and_skip_empty_values() {
        assert_eq!(
            link(
                "/devices",
                &[("q", "a b&c".into()), ("site", String::new())]
            ),
            "/devices?q=a%20b%26c"
        );
        assert_eq!(link("/devices", &[]), "/devices");
        let now = Timestamp(100 * SECOND);
        assert_eq!(ago(Some(Timestamp(40 * SECOND)), now), "1 min ago");
        assert_eq!(ago(None, now), "never");
        assert_eq!(when(Some(Timestamp(0))), "1970-01-01 00:00:00 UTC");
        assert_eq!(number(Some("x"), 3), 3);
    }
}
