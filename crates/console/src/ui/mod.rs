//! The web UI: server-rendered HTML (maud), a stylesheet and a little hand-written script, no
//! build step. Pages check the same access as the API and show only the caller's sites.

pub mod layout;
pub mod login;

use crate::routes::RouteSpec;

/// The UI's pages and forms (besides signing in and out, in [`login`]).
pub fn routes() -> Vec<RouteSpec> {
    Vec::new()
}
