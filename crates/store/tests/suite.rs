//! The store's shared suite: every test runs on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "suite/support.rs"]
mod support;

#[path = "suite/schema.rs"]
mod schema;

#[path = "suite/fixtures.rs"]
mod fixtures;

#[path = "suite/ingest.rs"]
mod ingest;

#[path = "suite/inventory.rs"]
mod inventory;

#[path = "suite/access.rs"]
mod access;

#[path = "suite/overview.rs"]
mod overview;

#[path = "suite/unlock.rs"]
mod unlock;

#[path = "suite/alerts.rs"]
mod alerts;

#[path = "suite/alert_captures.rs"]
mod alert_captures;

#[path = "suite/forwarding.rs"]
mod forwarding;

#[path = "suite/site_learning.rs"]
mod site_learning;

#[path = "suite/ti_distribution.rs"]
mod ti_distribution;
#[path = "suite/vulnerabilities.rs"]
mod vulnerabilities;

#[path = "suite/posture.rs"]
mod posture;
