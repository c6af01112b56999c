/*!
Ironward's console: the HTTPS server that security and operations teams use — REST API under
`/api/v1`, server-rendered web UI, authentication (argon2id passwords, session cookies with CSRF
protection, API tokens), authorisation by role and site scope on every route, the audit log,
sensor enrolment and ingest.

Every route is declared once in [`routes`] with the access it needs; the router is built from
that table, so no handler can be reached without its check, and a test enumerates the table.
*/

pub mod access;
pub mod api;
pub mod assets;
pub mod audit;
pub mod auth;
pub mod error;
pub mod filters;
pub mod forward;
pub mod password;
pub mod posture_cache;
pub mod posture_job;
pub mod posture_service;
pub mod report;
pub mod routes;
pub mod sensor_watch;
pub mod server;
pub mod state;
pub mod throttle;
pub mod tls;
pub mod ui;
pub mod vuln_matching;

pub use routes::{router, table, RouteSpec};
pub use server::{start, Running, ServeError};
pub use state::{AppState, ConsoleSettings};
pub use tls::TlsIdentity;
