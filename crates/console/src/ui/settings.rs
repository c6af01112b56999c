//! `/settings` (administrators): the console's facts — version, database backend, the
//! certificate fingerprint sensors pin, the public address, session lifetime and lockout.

use axum::extract::State;
use axum::response::Response;
use axum::Extension;
use ironward_store::Backend;
use maud::html;

use crate::access::UserPrincipal;
use crate::state::AppState;
use crate::ui::layout::{html_response, page};

/// A duration in the largest whole unit (`12 h`, `15 min`).
fn duration(d: std::time::Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 && s % 3600 == 0 {
        format!("{} h", s / 3600)
    } else if s >= 60 && s % 60 == 0 {
        format!("{} min", s / 60)
    } else {
        format!("{s} s")
    }
}

/// `GET /settings`.
pub(crate) async fn settings(
    State(state): State<AppState>,
    Extension(user): Extension<UserPrincipal>,
) -> Response {
    let s = state.settings();
    let backend = match state.store().backend() {
        Backend::Sqlite => "SQLite (embedded)",
        Backend::Postgres => "PostgreSQL",
    };
    let schema = state
        .store()
        .applied_migrations()
        .await
        .ok()
        .and_then(|m| m.last().map(|(v, name)| format!("{v} ({name})")))
        .unwrap_or_else(|| "unknown".to_owned());
    let content = html! {
        h1 { "Settings" }
        section.panel {
            table.identity {
                tbody {
                    tr { th { "Version" } td { "Ironward " (env!("CARGO_PKG_VERSION")) } }
                    tr { th { "Database" } td { (backend) } }
                    tr { th { "Schema" } td { (schema) } }
                    tr { th { "Certificate fingerprint" } td { code { (state.fingerprint()) } } }
                    tr { th { "Public address (for sensors)" } td { code { (s.public_url) } } }
                    tr { th { "Session lifetime" } td { (duration(s.session_lifetime)) } }
                    tr { th { "Lockout" } td { "after " (s.lock_after) " failed sign-ins, for " (duration(s.lock_for)) } }
                    tr { th { "Sensor shown offline after" } td { (duration(s.sensor_offline_after)) } }
                }
            }
            p.muted { "These are set when the console starts (command-line options of ironward serve)." }
        }
    };
    html_response(page(&user, "Settings", "/settings", content))
}
