/*!
Exposure management: which devices to fix, how exposed each security initiative is, and how
that changes over time.

Pure functions: the caller (analyze, the console) describes each device as an [`Asset`]
(inventory, findings, vulnerabilities, authorization, connections); [`evaluate`] matches the
[`Catalog`]'s recommendations against them and computes metrics, initiative scores and score
impacts; [`history`] diffs snapshots into reasons, trends, drift and score-drop events;
[`device_scores`] rates each device for the risk report. No I/O: the catalog is data compiled
into the crate (the TOML and CSV files under `data/`). See `docs/POSTURE.md`.
*/

pub mod asset;
pub mod catalog;
pub mod device_score;
pub mod eos;
pub mod evaluate;
pub mod history;
pub mod rule;
pub mod settings;

pub use asset::{
    is_it_side_writer, Asset, AssetService, AssetVulnerability, Authorization, Domain,
};
pub use catalog::{
    Catalog, CatalogError, InitiativeDef, MetricDef, RecommendationDef, Severity, Weight, Workload,
};
pub use device_score::{device_scores, DeviceScore, Rating};
pub use eos::{EndOfSupport, EndOfSupportEntry};
pub use evaluate::{evaluate, score, AffectedDevice, Initiative, Metric, Posture, Recommendation};
pub use history::{
    compare, drift, score_drop, trend, AssetChange, AssetChangeKind, MetricSnapshot, Reason,
    ScoreChange, ScoreDrop, Snapshot, TrendPoint,
};
pub use rule::Rule;
pub use settings::{RecommendationState, Settings, StateKind};
