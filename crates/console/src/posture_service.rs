//! Exposure management as the console sees it: the inventory of a view (the caller's sites,
//! narrowed to one site or one device group) turned into posture [`Asset`]s, evaluated with the
//! console's settings (metric weights, initiative targets, recommendation states in force for
//! the view), and the stored history of each initiative (trend, drift, changes).
//!
//! The API, the UI pages, the risk report and the history job all read posture through here, so
//! that they show the same numbers for the same view.
//!
//! Views and settings: weights and targets are the console's (administrators set them for
//! every site). A recommendation state applies to one site or to every site: a view of one site
//! (a `site` filter, or a caller who sees exactly one site) applies that site's states and the
//! all-sites ones (the site's own wins); any other view applies the all-sites states only.
//! History is kept per site and for all sites: a view of one site reads that site's, a caller
//! who sees every site reads the all-sites history, and a caller who sees several sites but
//! not all must name one (the all-sites history counts devices they may not see).

use std::collections::{BTreeMap, HashMap};

use ironward_model::{Finding, Timestamp};
use ironward_posture::{
    device_scores, drift, evaluate, trend, Asset, AssetService, AssetVulnerability, Authorization,
    Catalog, DeviceScore, Domain, Initiative, Posture, Recommendation, RecommendationState,
    ScoreChange, Settings, Snapshot, StateKind, TrendPoint, Weight,
};
use ironward_store::{
    AssetAuthorization, DeviceRef, GroupId, Page, PostureAssetRow, Scope, SiteId, Store,
    StoreError, WriteSource,
};

/// Days of a trend and of drift.
pub const TREND_DAYS: u32 = 14;

/// Changes [`history`] reads (the first page; [`changes`] pages further).
pub const HISTORY_PAGE: i64 = 50;

/// Public peers kept per OT device (the recommendation needs one; the report lists a few).
pub const MAX_INTERNET_PEERS: usize = 32;

const DAY: i64 = 86_400 * 1_000_000_000;

/// Which part of the caller's scope a view shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PostureFilter {
    /// Only this site (it must be within the caller's scope).
    pub site: Option<SiteId>,
    /// Only devices of this group.
    pub group: Option<GroupId>,
}

/// The posture of a view now.
#[derive(Debug, Clone)]
pub struct CurrentPosture {
    /// The view's devices as posture sees them (id: the device key, `mac:…`/`ip:…`).
    pub assets: Vec<Asset>,
    /// Recommendations and initiatives.
    pub posture: Posture,
    /// The settings the evaluation used.
    pub settings: Settings,
    /// Every device's security score, worst first.
    pub device_scores: Vec<DeviceScore>,
    /// false: no sensor in the scope has reported → "More data is required".
    pub has_data: bool,
    /// Device key → the device's row in the store (for links to device pages), per asset.
    pub rows: HashMap<String, DeviceRef>,
}

impl CurrentPosture {
    /// The initiative `id`.
    pub fn initiative(&self, id: &str) -> Option<&Initiative> {
        self.posture.initiatives.iter().find(|i| i.id == id)
    }

    /// Every entry of recommendation `id` (one per domain whose devices it lists; one
    /// resolved entry when it lists none), highest score impact first.
    pub fn recommendation(&self, id: &str) -> Vec<&Recommendation> {
        self.posture
            .recommendations
            .iter()
            .filter(|r| r.id == id)
            .collect()
    }
}

/// The one site a view shows: the filter's, or the caller's only site.
pub fn view_site(scope: &Scope, site: Option<SiteId>) -> Option<SiteId> {
    match (site, scope) {
        (Some(site), _) => Some(site),
        (None, Scope::Sites(sites)) if sites.len() == 1 => Some(sites[0]),
        (None, _) => None,
    }
}

/// Whose history a view reads: `Some(None)` all sites, `Some(Some(site))` one site, `None`
/// none (a caller of several sites but not all, without a site filter).
pub fn history_series(scope: &Scope, site: Option<SiteId>) -> Option<Option<SiteId>> {
    match (view_site(scope, site), scope) {
        (Some(site), _) => Some(Some(site)),
        (None, Scope::All) => Some(None),
        (None, Scope::Sites(_)) => None,
    }
}

/// The posture of the view `filter` within `scope` at `now`. A site outside the scope is
/// [`StoreError::NotFound`], like a missing one.
pub async fn current(
    store: &Store,
    scope: &Scope,
    filter: &PostureFilter,
    now: Timestamp,
) -> Result<CurrentPosture, StoreError> {
    if filter.site.is_some_and(|site| !scope.allows(site)) {
        return Err(StoreError::NotFound);
    }
    let rows = store
        .posture_assets(scope, filter.site, filter.group)
        .await?;
    let has_data = store.sensors_reported(scope, filter.site).await?;
    let settings = settings(store, scope, view_site(scope, filter.site), now).await?;
    Ok(evaluate_rows(rows, settings, has_data).await)
}

/// The initiatives of one view as the history job needs them (no device lists kept).
#[derive(Debug, Clone)]
pub struct ViewPosture {
    /// The initiatives, evaluated.
    pub initiatives: Vec<Initiative>,
    /// The settings the evaluation used.
    pub settings: Settings,
    /// Some sensor of the view has reported.
    pub has_data: bool,
}

/// The initiatives of each view of `views` (`None`: all sites) for the console itself (the
/// history job): the inventory is read once and converted once; each site's devices, a
/// contiguous run of it, are evaluated on their own and the whole for all sites.
pub async fn current_by_site(
    store: &Store,
    views: &[Option<SiteId>],
    now: Timestamp,
) -> Result<Vec<(Option<SiteId>, ViewPosture)>, StoreError> {
    let mut rows = store.posture_assets(&Scope::All, None, None).await?;
    let mut inputs = Vec::with_capacity(views.len());
    for &view in views {
        let has_data = store.sensors_reported(&Scope::All, view).await?;
        inputs.push((
            view,
            settings(store, &Scope::All, view, now).await?,
            has_data,
        ));
    }
    let work = move || {
        rows.sort_by_key(|r| r.site_id);
        let mut runs: BTreeMap<SiteId, std::ops::Range<usize>> = BTreeMap::new();
        for (i, row) in rows.iter().enumerate() {
            runs.entry(row.site_id)
                .and_modify(|run| run.end = i + 1)
                .or_insert(i..i + 1);
        }
        let assets: Vec<Asset> = rows.into_iter().map(asset).collect();
        inputs
            .into_iter()
            .map(|(view, settings, has_data)| {
                let devices = match view {
                    None => &assets[..],
                    Some(site) => runs.get(&site).map_or(&[][..], |run| &assets[run.clone()]),
                };
                let posture = evaluate(devices, Catalog::builtin(), &settings);
                let view_posture = ViewPosture {
                    initiatives: posture.initiatives,
                    settings,
                    has_data,
                };
                (view, view_posture)
            })
            .collect()
    };
    match tokio::task::spawn_blocking(work).await {
        Ok(views) => Ok(views),
        Err(error) => std::panic::resume_unwind(error.into_panic()),
    }
}

/// Evaluation is CPU work proportional to the inventory: off the async workers.
async fn evaluate_rows(
    rows: Vec<PostureAssetRow>,
    settings: Settings,
    has_data: bool,
) -> CurrentPosture {
    let work = move || {
        let mut device_rows = HashMap::with_capacity(rows.len());
        let mut assets = Vec::with_capacity(rows.len());
        for row in rows {
            device_rows.insert(row.id.clone(), row.device);
            assets.push(asset(row));
        }
        let posture = evaluate(&assets, Catalog::builtin(), &settings);
        let device_scores = device_scores(&assets, &posture);
        CurrentPosture {
            assets,
            posture,
            settings,
            device_scores,
            has_data,
            rows: device_rows,
        }
    };
    match tokio::task::spawn_blocking(work).await {
        Ok(current) => current,
        // Evaluation does not panic on any input; if it ever did, the request fails loudly.
        Err(error) => std::panic::resume_unwind(error.into_panic()),
    }
}

fn speaks_ot(protocols: &[String]) -> bool {
    protocols
        .iter()
        .any(|p| ironward_intel::behaviour::is_ot_protocol(p))
}

/// Whether a device that changed this one sits on the IT side
/// ([`ironward_posture::is_it_side_writer`]); the store names a writer's protocols without
/// saying which it answers, so any industrial protocol counts as its OT side.
fn is_it_side(source: &WriteSource) -> bool {
    ironward_posture::is_it_side_writer(
        source.device_type.as_deref(),
        None,
        source.purdue_level,
        speaks_ot(&source.protocols),
    )
}

fn service(s: &ironward_model::Service) -> AssetService {
    AssetService {
        transport: s.transport.clone(),
        port: s.port,
        protocol: s.protocol.clone(),
    }
}

/// One device of the store as posture sees it.
pub fn asset(row: PostureAssetRow) -> Asset {
    let domain = Domain::classify(
        row.device_type.as_deref(),
        row.purdue_level,
        speaks_ot(&row.protocols),
    );
    let mut asset = Asset::new(row.id, domain);
    asset.ip = row.ip;
    asset.name = row.name;
    asset.site = Some(row.site);
    asset.zone = Some(row.zone);
    asset.groups = row.groups;
    asset.device_type = row.device_type;
    asset.vendor = row.vendor;
    asset.model = row.model;
    asset.firmware = row.firmware;
    asset.os = row.os;
    asset.purdue_level = row.purdue_level;
    asset.findings = row
        .findings
        .iter()
        .filter_map(|id| Finding::from_id(id))
        .collect();
    asset.services = row.services.iter().map(service).collect();
    asset.unused_services = row.unused_services.iter().map(service).collect();
    asset.vulnerabilities = row
        .vulnerabilities
        .into_iter()
        .map(|v| AssetVulnerability {
            cve: v.cve,
            cvss: v.cvss,
            kev: v.kev,
        })
        .collect();
    asset.authorized = match row.authorization {
        AssetAuthorization::Authorized => Authorization::Authorized,
        AssetAuthorization::Unauthorized => Authorization::Unauthorized,
        AssetAuthorization::Unknown => Authorization::Unknown,
    };
    // Internet connections matter for OT devices (an office PC browsing is not exposure).
    if domain == Domain::Ot {
        asset.internet_peers = row
            .public_peers
            .into_iter()
            .take(MAX_INTERNET_PEERS)
            .collect();
    }
    asset.it_write_sources = row
        .write_sources
        .iter()
        .filter(|s| is_it_side(s))
        .map(|s| s.id.clone())
        .collect();
    asset
}

fn weight(name: &str) -> Option<Weight> {
    match name {
        "high" => Some(Weight::High),
        "medium" => Some(Weight::Medium),
        "low" => Some(Weight::Low),
        "risk_accepted" => Some(Weight::RiskAccepted),
        _ => None,
    }
}

fn state_kind(name: &str) -> Option<StateKind> {
    match name {
        "risk_accepted" => Some(StateKind::RiskAccepted),
        "exception" => Some(StateKind::Exception),
        _ => None,
    }
}

/// The console's settings for a view of one site (`Some`) or of all sites or several
/// (`None`: the all-sites states only), with `now` to expire states.
pub async fn settings(
    store: &Store,
    scope: &Scope,
    site: Option<SiteId>,
    now: Timestamp,
) -> Result<Settings, StoreError> {
    let weights = store
        .metric_weights()
        .await?
        .into_iter()
        .filter_map(|row| weight(&row.weight).map(|w| (row.metric, w)))
        .collect();
    let targets = store
        .initiative_targets()
        .await?
        .into_iter()
        .map(|row| (row.initiative, row.target))
        .collect();
    // The store answers the states in force for the view, the site's own winning over an
    // all-sites one of the same recommendation.
    let states = store
        .recommendation_states(scope, site)
        .await?
        .into_iter()
        .filter_map(|row| {
            Some(RecommendationState {
                kind: state_kind(&row.kind)?,
                recommendation: row.recommendation,
                reason: row.reason,
                author: row.author,
                set_at: row.set_at,
                expires_at: row.expires_at,
            })
        })
        .collect();
    Ok(Settings {
        weights,
        targets,
        states,
        now,
    })
}

/// The version of the threat-intelligence package in force (part of every snapshot: a new
/// package changes vulnerabilities without any device changing).
pub async fn vulnerability_data(store: &Store) -> Result<Option<String>, StoreError> {
    Ok(store
        .package_in_force()
        .await?
        .map(|p| format!("{} (sequence {})", p.file_name, p.sequence)))
}

/// A stored change of an initiative's score.
#[derive(Debug, Clone)]
pub struct StoredChange {
    /// Its row.
    pub id: i64,
    /// What changed and why.
    pub change: ScoreChange,
    /// The change ended a drop of 2 points or more within a day.
    pub score_drop: bool,
}

/// An initiative's history in a view.
#[derive(Debug, Clone)]
pub struct InitiativeHistory {
    /// The initiative.
    pub initiative: String,
    /// Whose history: a site, or `None` for all sites.
    pub site: Option<SiteId>,
    /// false: the view has no history of its own (see the module docs); trend, drift and
    /// changes are then empty.
    pub available: bool,
    /// One point per day, [`TREND_DAYS`] days ending today.
    pub trend: Vec<TrendPoint>,
    /// Score now minus [`TREND_DAYS`] days ago.
    pub drift: Option<f64>,
    /// Per metric: progress now minus [`TREND_DAYS`] days ago.
    pub metric_drift: BTreeMap<String, Option<f64>>,
    /// The newest changes (at most [`HISTORY_PAGE`]).
    pub changes: Vec<StoredChange>,
    /// Changes stored in all.
    pub total: i64,
}

fn metric_progress(snapshot: &Snapshot) -> BTreeMap<String, Option<f64>> {
    snapshot
        .metrics
        .iter()
        .map(|m| (m.id.clone(), m.progress))
        .collect()
}

fn parse_snapshot(text: &str) -> Option<Snapshot> {
    match serde_json::from_str(text) {
        Ok(snapshot) => Some(snapshot),
        Err(error) => {
            tracing::warn!(%error, "stored posture snapshot unreadable: left out");
            None
        }
    }
}

/// Trend ([`TREND_DAYS`] daily points), drift ([`TREND_DAYS`] days, the initiative's and each
/// metric's) and the newest stored changes of `initiative` in the view of `site` within `scope`.
pub async fn history(
    store: &Store,
    scope: &Scope,
    initiative: &str,
    site: Option<SiteId>,
    now: Timestamp,
) -> Result<InitiativeHistory, StoreError> {
    let mut history = history_summary(store, scope, initiative, site, now).await?;
    if history.available {
        let page = changes(store, scope, initiative, site, HISTORY_PAGE, 0).await?;
        history.changes = page.items;
        history.total = page.total;
    }
    Ok(history)
}

/// [`history`] without the changes (`changes` empty, `total` 0): trend and drift only, for
/// lists of initiatives.
pub async fn history_summary(
    store: &Store,
    scope: &Scope,
    initiative: &str,
    site: Option<SiteId>,
    now: Timestamp,
) -> Result<InitiativeHistory, StoreError> {
    if site.is_some_and(|site| !scope.allows(site)) {
        return Err(StoreError::NotFound);
    }
    let Some(series) = history_series(scope, site) else {
        return Ok(InitiativeHistory {
            initiative: initiative.to_owned(),
            site: None,
            available: false,
            trend: trend(&[], now, TREND_DAYS),
            drift: None,
            metric_drift: BTreeMap::new(),
            changes: Vec::new(),
            total: 0,
        });
    };
    let then = Timestamp(now.as_nanos().saturating_sub(i64::from(TREND_DAYS) * DAY));
    // From the start of the trend's first day (the store leads with the score in force then).
    let first_day = Timestamp((now.as_nanos().div_euclid(DAY) - i64::from(TREND_DAYS) + 1) * DAY);
    let points: Vec<(Timestamp, Option<f64>)> = store
        .score_points(scope, initiative, series, first_day.min(then), now)
        .await?
        .into_iter()
        .map(|p| (p.at, p.score))
        .collect();
    let latest = store
        .latest_score_snapshot(scope, initiative, series)
        .await?;
    let before = store
        .score_snapshot_at(scope, initiative, series, then)
        .await?;
    let mut metric_drift = BTreeMap::new();
    if let (Some(latest), Some(before)) = (
        latest.as_ref().and_then(|s| parse_snapshot(&s.snapshot)),
        before.as_ref().and_then(|s| parse_snapshot(&s.snapshot)),
    ) {
        let before = metric_progress(&before);
        for (metric, progress) in metric_progress(&latest) {
            let was = before.get(&metric).copied().flatten();
            metric_drift.insert(metric, progress.zip(was).map(|(now, was)| now - was));
        }
    }
    Ok(InitiativeHistory {
        initiative: initiative.to_owned(),
        site: series,
        available: true,
        trend: trend(&points, now, TREND_DAYS),
        drift: drift(&points, now, TREND_DAYS),
        metric_drift,
        changes: Vec::new(),
        total: 0,
    })
}

/// A page of the stored changes of `initiative` in the view of `site`, newest first (empty for
/// a view without history of its own).
pub async fn changes(
    store: &Store,
    scope: &Scope,
    initiative: &str,
    site: Option<SiteId>,
    limit: i64,
    offset: i64,
) -> Result<Page<StoredChange>, StoreError> {
    if site.is_some_and(|site| !scope.allows(site)) {
        return Err(StoreError::NotFound);
    }
    let Some(series) = history_series(scope, site) else {
        return Ok(Page {
            items: Vec::new(),
            total: 0,
        });
    };
    let page = store
        .score_changes(scope, initiative, series, limit, offset)
        .await?;
    let mut items = Vec::with_capacity(page.items.len());
    for row in page.items {
        match serde_json::from_str::<ScoreChange>(&row.change) {
            Ok(change) => items.push(StoredChange {
                id: row.id,
                change,
                score_drop: row.score_drop,
            }),
            Err(error) => tracing::warn!(%error, id = row.id, "stored score change unreadable"),
        }
    }
    Ok(Page {
        items,
        total: page.total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_of_one_site_reads_that_sites_history() {
        let (a, b) = (SiteId(1), SiteId(2));
        assert_eq!(history_series(&Scope::All, None), Some(None));
        assert_eq!(history_series(&Scope::All, Some(b)), Some(Some(b)));
        assert_eq!(history_series(&Scope::Sites(vec![a]), None), Some(Some(a)));
        assert_eq!(history_series(&Scope::Sites(vec![a, b]), None), None);
        assert_eq!(
            history_series(&Scope::Sites(vec![a, b]), Some(b)),
            Some(Some(b))
        );
        assert_eq!(view_site(&Scope::Sites(vec![a, b]), None), None);
    }

    fn source(device_type: Option<&str>, level: Option<u8>, protocols: &[&str]) -> WriteSource {
        WriteSource {
            id: "ip:10.9.9.9".into(),
            device_type: device_type.map(str::to_owned),
            purdue_level: level,
            protocols: protocols.iter().map(|p| (*p).to_owned()).collect(),
            categories: vec!["write".into()],
        }
    }

    #[test]
    fn it_side_sources_exclude_engineering_workstations() {
        // An office PC (no type, level 4) writing to a PLC is IT-side.
        assert!(is_it_side(&source(
            Some("workstation"),
            Some(4),
            &["modbus"]
        )));
        // Without a level, a workstation that speaks only IT protocols is IT.
        assert!(is_it_side(&source(None, None, &["http"])));
        // An engineering workstation programs controllers: never counted.
        assert!(!is_it_side(&source(
            Some("engineering_workstation"),
            Some(4),
            &["s7comm"]
        )));
        // An HMI at level 2 is OT.
        assert!(!is_it_side(&source(Some("hmi"), Some(2), &["modbus"])));
    }
}
