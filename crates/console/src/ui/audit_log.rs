//! `/audit` (administrators): the audit log, newest first, one page per request.

use axum::extract::{Query, State};
use axum::response::Response;
use axum::Extension;
use maud::html;
use serde::Deserialize;

use crate::access::UserPrincipal;
use crate::state::AppState;
use crate::ui::layout::{html_response, page};
use crate::ui::widgets::{failure, number, pager, when};

/// Entries per page.
const PAGE: i64 = 100;

/// Query of `GET /audit`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct AuditQuery {
    #[serde(default)]
    offset: Option<String>,
}

/// `GET /audit`.
pub(crate) async fn audit_log(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    Query(query): Query<AuditQuery>,
) -> Response {
    let offset = number(query.offset.as_deref(), 0).max(0);
    let entries = match state.store().list_audit(PAGE, offset).await {
        Ok(e) => e,
        Err(e) => return failure(e),
    };
    let content = html! {
        h1 { "Audit log" }
        table.compact {
            thead { tr { th { "When" } th { "User" } th { "Address" } th { "Action" } th { "Target" } th { "Detail" } th { "Outcome" } } }
            tbody {
                @for e in &entries.items {
                    tr {
                        td { (when(Some(e.at))) }
                        td { (e.user_name.as_deref().unwrap_or("—")) }
                        td { (e.address) }
                        td { code { (e.action) } }
                        td { (e.target) }
                        td { (e.detail) }
                        td { span class={"badge " (if e.outcome == "ok" { "ok" } else { "offline" })} { (e.outcome) } }
                    }
                }
            }
        }
        (pager("/audit", &[], offset, PAGE, entries.items.len(), entries.total))
    };
    html_response(page(&user, "Audit log", "/audit", content))
}
