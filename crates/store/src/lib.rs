/*!
Ironward's persistence: every table, every query, both databases.

One async interface, [`Store`], with two backends: an embedded SQLite file (the default: WAL,
foreign keys on, a busy timeout) and PostgreSQL for fleets. Nothing outside this crate writes
SQL. Numbered migrations are embedded and applied when a store is opened; the same test suite
(`tests/suite.rs`) runs against both backends.

Rules every method keeps:
- every list and get takes a [`Scope`] and never returns rows outside it; a row outside the scope
  is [`StoreError::NotFound`], exactly like a missing one;
- secrets (enrolment tokens, sensor credentials, API tokens, session ids) are stored as SHA-256
  only ([`secret`]); passwords arrive already hashed (PHC strings, argon2id in the console);
- lists are paged and bounded ([`MAX_PAGE`]); batches are validated before anything is written
  and committed in one transaction;
- timestamps are `ironward_model::Timestamp` (nanoseconds since the epoch) throughout.
*/

mod access;
mod alert_captures;
mod alert_ingest;
mod alert_rules;
mod alert_workflow;
mod alerts;
mod audit;
mod baseline;
mod cidr;
mod db;
mod devices;
mod error;
mod forwarding;
mod groups;
mod ids;
mod ingest;
mod migrate;
mod overview;
mod posture_assets;
mod posture_history;
mod posture_settings;
pub mod secret;
mod sensors;
mod sites;
mod ti_distribution;
mod ti_packages;
mod traffic;
mod unlock;
mod users;
mod vulnerabilities;

pub use access::{ApiToken, Session};
pub use alert_captures::MAX_CAPTURES_PER_SITE;
pub use alert_ingest::Raised;
pub use alert_rules::{
    AlertRule, AlertRuleSpec, Exclusion, ExclusionSpec, MAX_RULES_PER_SITE, MAX_RULE_TEXT,
};
pub use alert_workflow::{Actor, MAX_COMMENTS_PER_ALERT, MAX_COMMENT_LEN};
pub use alerts::{
    AlertComment, AlertDetail, AlertHistoryEntry, AlertQuery, AlertRecord, AlertStatus, AlertView,
    MAX_ALERT_COMMENTS,
};
pub use audit::AuditEntry;
pub use baseline::{BaselineEntry, BaselineImport, MAX_BASELINE_IMPORT};
pub use cidr::Subnet;
pub use db::{Backend, Store, SQLITE_FILE};
pub use devices::{DeviceDetail, DeviceQuery, DeviceRow, DeviceSort, FactRecord, HistoryRecord};
pub use error::{Result, StoreError};
pub use forwarding::{
    AlertFilter, ForwardAlert, ForwardRule, ForwardStats, Playbook, PlaybookRun, QueuedDelivery,
    RuleQueueStatus, ScanOutcome,
};
pub use groups::DeviceGroup;
pub use ids::{
    AlertId, DeviceRef, GroupId, Page, Scope, SensorId, SiteId, TokenId, UserId, ZoneId, MAX_PAGE,
};
pub use ingest::{IngestCounts, IngestOutcome, MAX_FACTS_PER_DEVICE};
pub use migrate::SCHEMA_VERSION;
pub use overview::{
    DeviceFacets, InventorySummary, MapEdge, MAX_GROUPS, MAX_LOOKUP, MAX_MAP_EDGES,
};
pub use posture_assets::{
    AssetAuthorization, AssetVulnerabilityRow, PostureAssetRow, WriteSource, MAX_POSTURE_ASSETS,
    MAX_PUBLIC_PEERS, MAX_WRITE_SOURCES,
};
pub use posture_history::{
    NewScoreSnapshot, ScoreChangeRow, ScorePoint, StoredSnapshot, MAX_CHANGE_BYTES,
    MAX_HISTORY_PER_SERIES, MAX_SCORE_POINTS, MAX_SNAPSHOT_BYTES,
};
pub use posture_settings::{
    ChangedBy, InitiativeTargetRow, MetricWeightRow, RecommendationStateChange,
    RecommendationStateRow, MAX_FAVOURITES, MAX_POSTURE_ID_LEN, MAX_STATES, MAX_STATE_REASON,
};
pub use sensors::SensorRecord;
pub use sites::{Site, SiteLearning, Zone, MAX_NAME_LEN};
pub use ti_distribution::{
    SensorTiStatus, SitePackage, TiStatusReport, MAX_APPLY_SITES, MAX_TI_ERROR_LEN,
};
pub use ti_packages::{
    DeviceMatchResult, MatchCandidate, NewPackage, PackageCounts, PackageId, StoredPackage,
    UnmatchedProduct, VulnerabilityMatch, MAX_PACKAGE_BYTES,
};
pub use traffic::{ConnectionQuery, ConnectionRecord, EventQuery, EventRecord};
pub use users::{Role, User};
pub use vulnerabilities::{
    CveSummary, Severity, SeverityCount, UnmatchedGroup, VulnerabilityExclusion,
    VulnerabilityQuery, VulnerabilityRow, MAX_EXCLUSION_REASON,
};

use ironward_model::Timestamp;

/// The current time as a [`Timestamp`] (migrations record when they ran).
pub(crate) fn now() -> Timestamp {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    Timestamp(nanos)
}

impl Store {
    /// The migrations applied to this database, oldest first: (version, name).
    pub async fn applied_migrations(&self) -> Result<Vec<(i64, String)>> {
        migrate::applied(self).await
    }

    /// Applies the migrations not yet applied ([`Store::connect`] already did; a second run is
    /// a no-op).
    pub async fn migrate(&self) -> Result<()> {
        migrate::run(self).await
    }
}
