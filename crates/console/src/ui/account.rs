//! `/account`: the signed-in user's own API tokens. A new token is shown once (the store keeps
//! only its hash); revoking one stops it at once.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use ironward_store::secret::{hash_secret, new_secret};
use ironward_store::TokenId;
use maud::html;
use serde::Deserialize;

use crate::access::UserPrincipal;
use crate::audit::{self, Outcome};
use crate::state::{now, AppState};
use crate::ui::layout::{csrf_field, html_response, page};
use crate::ui::widgets::{failure, form_error, notice, see_other, when, ClientAddr};

/// `GET /account`.
pub(crate) async fn account(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
) -> Response {
    render(&state, &user, StatusCode::OK, None, None).await
}

async fn render(
    state: &AppState,
    user: &UserPrincipal,
    status: StatusCode,
    error: Option<&str>,
    fresh: Option<(&str, &str)>,
) -> Response {
    let tokens = match state.store().list_api_tokens(user.id).await {
        Ok(t) => t,
        Err(e) => return failure(e),
    };
    let content = html! {
        h1 { "Your account" }
        p { "Signed in as " strong { (user.name) } ", role " strong { (user.role.as_str()) } "." }
        (notice(error))
        @if let Some((name, secret)) = fresh {
            section.panel.enrolment {
                h2 { "New token “" (name) "”" }
                p { "Copy it now: it is shown only once. Use it as " code { "Authorization: Bearer <token>" } "." }
                pre.command { (secret) }
            }
        }
        section.panel {
            h2 { "API tokens" }
            form.inline method="post" action="/account/tokens" {
                (csrf_field(user))
                input type="text" name="name" required maxlength="200" placeholder="What it is for";
                button type="submit" { "Create token" }
            }
            table.compact {
                thead { tr { th { "Name" } th { "Created" } th { "Last used" } th { "Status" } th {} } }
                tbody {
                    @for t in &tokens {
                        tr {
                            td { (t.name) }
                            td { (when(Some(t.created_at))) }
                            td { (when(t.last_used)) }
                            td { @if t.revoked_at.is_some() { span.badge.offline { "revoked" } } @else { span.badge.online { "active" } } }
                            td {
                                @if t.revoked_at.is_none() {
                                    form.inline method="post" action={"/account/tokens/" (t.id) "/revoke"} data-confirm={"Revoke token " (t.name) "?"} {
                                        (csrf_field(user))
                                        button.danger type="submit" { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                    @if tokens.is_empty() { tr { td colspan="5" .muted { "No tokens." } } }
                }
            }
        }
    };
    (
        status,
        html_response(page(user, "Account", "/account", content)),
    )
        .into_response()
}

/// The new-token form.
#[derive(Debug, Deserialize)]
pub(crate) struct TokenForm {
    #[serde(default)]
    name: String,
}

/// `POST /account/tokens`: creates a token and shows it once (the answer is the page itself:
/// the secret must not travel in a URL).
pub(crate) async fn create_token(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    addr: ClientAddr,
    Form(form): Form<TokenForm>,
) -> Response {
    let name = form.name.trim();
    let Ok(secret) = new_secret() else {
        return render(
            &state,
            &user,
            StatusCode::INTERNAL_SERVER_ERROR,
            Some("No randomness available."),
            None,
        )
        .await;
    };
    match state
        .store()
        .create_api_token(user.id, name, &hash_secret(&secret), now())
        .await
    {
        Ok(token) => {
            audit::record(
                &state,
                Some(&user),
                addr.0,
                "token.create",
                &format!("token:{}", token.id),
                &format!("name {name:?}"),
                Outcome::Ok,
            )
            .await;
            render(&state, &user, StatusCode::OK, None, Some((name, &secret))).await
        }
        Err(e) => {
            let (status, message) = form_error(e);
            render(&state, &user, status, Some(&message), None).await
        }
    }
}

/// `POST /account/tokens/{id}/revoke`.
pub(crate) async fn revoke_token(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
    addr: ClientAddr,
    Path(id): Path<i64>,
) -> Response {
    match state
        .store()
        .revoke_api_token(user.id, TokenId(id), now())
        .await
    {
        Ok(()) => {
            audit::record(
                &state,
                Some(&user),
                addr.0,
                "token.revoke",
                &format!("token:{id}"),
                "",
                Outcome::Ok,
            )
            .await;
            see_other("/account")
        }
        Err(e) => {
            let (status, message) = form_error(e);
            render(&state, &user, status, Some(&message), None).await
        }
    }
}
