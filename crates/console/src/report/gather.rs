//! Gathering a risk report's input from the store: the posture of the view (through
//! [`crate::posture_service::current`], so the report shows the numbers the pages show), the
//! versions that fix each device's vulnerabilities and the busiest connections for the map.
//! Every read is bounded.

use std::collections::{BTreeMap, HashMap, HashSet};

use ironward_model::Timestamp;
use ironward_store::{
    DeviceRef, Scope, SiteId, Store, StoreError, VulnerabilityQuery, MAX_LOOKUP, MAX_PAGE,
};

use super::model::ReportInput;
use crate::posture_service::{self, CurrentPosture, PostureFilter};

/// Vulnerability rows read for fixed versions at most (KEV and highest CVSS first, so the
/// rows that matter most are always read).
pub const MAX_VULNERABILITY_ROWS: i64 = 20_000;

/// Connections read for the map at most (busiest first).
pub const MAX_MAP_CONNECTIONS: i64 = 400;

/// The input of the report on `site` (or every site of `scope`) at `now`. A site outside the
/// scope is [`StoreError::NotFound`], like a missing one.
pub async fn gather(
    store: &Store,
    scope: &Scope,
    site: Option<SiteId>,
    now: Timestamp,
) -> Result<ReportInput, StoreError> {
    let current =
        posture_service::current(store, scope, &PostureFilter { site, group: None }, now).await?;
    gather_with(store, scope, site, now, current).await
}

/// [`gather`] with the posture of the view already evaluated at `now` (the console's report
/// route reads it through [`crate::posture_cache`], like the pages).
pub async fn gather_with(
    store: &Store,
    scope: &Scope,
    site: Option<SiteId>,
    now: Timestamp,
    current: CurrentPosture,
) -> Result<ReportInput, StoreError> {
    let label = match site {
        Some(id) => format!("Site {}", store.get_site(scope, id).await?.name),
        None => match scope {
            Scope::All => "All sites".to_owned(),
            Scope::Sites(sites) => format!("All sites visible to you ({})", sites.len()),
        },
    };
    let keys: HashMap<DeviceRef, &str> = current
        .rows
        .iter()
        .map(|(key, row)| (*row, key.as_str()))
        .collect();

    let mut fixed_in: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut query = VulnerabilityQuery::new(scope.clone());
    query.site = site;
    query.excluded = Some(false);
    query.limit = MAX_PAGE;
    while query.offset < MAX_VULNERABILITY_ROWS {
        let page = store.list_vulnerabilities(&query).await?;
        let got = i64::try_from(page.items.len()).unwrap_or(i64::MAX);
        for row in page.items {
            if row.fixed_in.is_empty() {
                continue;
            }
            if let Some(key) = keys.get(&row.device_id) {
                fixed_in.insert(((*key).to_owned(), row.cve), row.fixed_in);
            }
        }
        query.offset = query.offset.saturating_add(got);
        if got < query.limit || query.offset >= page.total {
            break;
        }
    }

    // The map draws at most MAP_NODES devices; connections are read among the worst-rated
    // devices (at most MAX_LOOKUP), which is where a truncated map should look.
    let candidates: Vec<DeviceRef> = current
        .device_scores
        .iter()
        .filter_map(|d| current.rows.get(&d.id).copied())
        .take(MAX_LOOKUP)
        .collect();
    let mut connections = Vec::new();
    let mut pairs = HashSet::new();
    for edge in store
        .map_edges(scope, &candidates, None, MAX_MAP_CONNECTIONS)
        .await?
    {
        if let (Some(a), Some(b)) = (keys.get(&edge.a), keys.get(&edge.b)) {
            let pair = if a <= b { (*a, *b) } else { (*b, *a) };
            if pairs.insert(pair) {
                connections.push(((*a).to_owned(), (*b).to_owned()));
            }
        }
    }
    Ok(ReportInput {
        scope: label,
        generated_at: now,
        console_version: env!("CARGO_PKG_VERSION").to_owned(),
        assets: current.assets,
        posture: current.posture,
        device_scores: current.device_scores,
        has_data: current.has_data,
        fixed_in,
        connections,
    })
}
