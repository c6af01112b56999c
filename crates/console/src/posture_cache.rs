//! The posture of recently asked views, kept for a short while: evaluating a view reads and
//! evaluates its whole inventory (seconds at 100,000 devices), and the initiatives and
//! recommendations pages, their API and the risk report ask for the same views again and again.
//!
//! An answer is served again only for exactly the question it answered: the caller's sites
//! (every site, or exactly this set), the filter (site, device group) and the generation of the
//! posture inputs ([`PostureNudge::generation`], which every change the scores depend on bumps
//! — ingest, threat intelligence and matching, vulnerability exclusions, recommendation states,
//! weights, targets, groups and their members, sites, zones, learning windows, baseline
//! entries, sensors). What changes with time alone (a state expiring, a learning window
//! ending) shows after at most [`TTL`]. At most [`CAPACITY`] views of [`MAX_DEVICES`] devices
//! in all are kept, the least recently used leaving first, and answers of an older generation are dropped as soon as a
//! newer one is asked for (each holds a view's whole inventory).
//!
//! The lock is held for lookups and inserts only, never while evaluating: two requests that
//! miss the same view at once both evaluate it, and the later answer replaces the earlier.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use ironward_model::Timestamp;
use ironward_store::{Scope, SiteId, Store, StoreError};

use crate::posture_job::PostureNudge;
use crate::posture_service::{self, CurrentPosture, PostureFilter};
use crate::AppState;

/// Views kept at most.
pub const CAPACITY: usize = 8;

/// Devices the kept views hold at most, together: a view keeps its whole inventory (2 to
/// 2.5 KB a device, measured: two views of 100,000 devices grew the console by 490 MB), so a
/// large console keeps a few views only. A view larger than this on its own is still kept,
/// alone: its request held as much anyway.
pub const MAX_DEVICES: usize = 200_000;

/// How long an answer is served at most (for what changes with time alone).
pub const TTL: Duration = Duration::from_secs(30);

/// Exactly what an answer depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Key {
    /// `None`: every site; otherwise the caller's sites, sorted and each once (the same set
    /// in another order sees the same devices).
    sites: Option<Vec<SiteId>>,
    filter: PostureFilter,
    generation: u64,
}

impl Key {
    fn new(scope: &Scope, filter: &PostureFilter, generation: u64) -> Self {
        let sites = match scope {
            Scope::All => None,
            Scope::Sites(sites) => {
                let mut sites = sites.clone();
                sites.sort_unstable();
                sites.dedup();
                Some(sites)
            }
        };
        Self {
            sites,
            filter: *filter,
            generation,
        }
    }
}

#[derive(Debug)]
struct Entry {
    key: Key,
    /// The `now` the answer was evaluated at.
    computed_at: Timestamp,
    /// When it was last served (a counter, for least-recently-used eviction).
    used: u64,
    value: Arc<CurrentPosture>,
}

#[derive(Debug, Default)]
struct Entries {
    list: Vec<Entry>,
    /// Counts lookups and inserts (the order of use).
    tick: u64,
    /// The newest generation asked for: older answers are never served again.
    generation: u64,
}

/// The cache (one per console, in [`AppState`]).
#[derive(Debug)]
pub struct PostureCache {
    entries: Mutex<Entries>,
    capacity: usize,
    max_devices: usize,
    ttl: i64,
}

impl Default for PostureCache {
    fn default() -> Self {
        Self::new(CAPACITY, MAX_DEVICES, TTL)
    }
}

impl PostureCache {
    /// A cache of at most `capacity` views (at least one) holding `max_devices` devices in all
    /// (see [`MAX_DEVICES`]), each served for at most `ttl`.
    pub fn new(capacity: usize, max_devices: usize, ttl: Duration) -> Self {
        Self {
            entries: Mutex::new(Entries::default()),
            capacity: capacity.max(1),
            max_devices,
            ttl: i64::try_from(ttl.as_nanos()).unwrap_or(i64::MAX),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Entries> {
        // The lock guards plain data changed in one step: a panic elsewhere leaves it whole.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Views kept now.
    pub fn len(&self) -> usize {
        self.lock().list.len()
    }

    /// Whether no view is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The kept answer to `key` at `now`, dropping what may not be served any more.
    fn lookup(&self, key: &Key, now: Timestamp) -> Option<Arc<CurrentPosture>> {
        let ttl = self.ttl;
        let mut entries = self.lock();
        entries.generation = entries.generation.max(key.generation);
        let generation = entries.generation;
        // A clock set back serves nothing older than `ttl` either.
        entries.list.retain(|e| {
            e.key.generation == generation
                && i128::from(now.as_nanos()).abs_diff(i128::from(e.computed_at.as_nanos()))
                    < ttl.unsigned_abs().into()
        });
        entries.tick += 1;
        let tick = entries.tick;
        let entry = entries.list.iter_mut().find(|e| e.key == *key)?;
        entry.used = tick;
        Some(entry.value.clone())
    }

    /// Keeps `value` as the answer to `key` evaluated at `now`, evicting the least recently
    /// used views until it fits; an answer of an older generation than one asked for is not kept.
    fn insert(&self, key: Key, now: Timestamp, value: Arc<CurrentPosture>) {
        let capacity = self.capacity;
        let mut entries = self.lock();
        if key.generation < entries.generation {
            return;
        }
        entries.tick += 1;
        let used = entries.tick;
        entries.list.retain(|e| e.key != key);
        let devices = value.assets.len();
        while entries.list.len() >= capacity
            || entries
                .list
                .iter()
                .map(|e| e.value.assets.len())
                .sum::<usize>()
                .saturating_add(devices)
                > self.max_devices
        {
            let Some(oldest) = entries
                .list
                .iter()
                .enumerate()
                .min_by_key(|(_, e)| e.used)
                .map(|(i, _)| i)
            else {
                break;
            };
            entries.list.swap_remove(oldest);
        }
        entries.list.push(Entry {
            key,
            computed_at: now,
            used,
            value,
        });
    }

    /// The posture of the view `filter` within `scope` at `now` ([`posture_service::current`]),
    /// served from the cache when the same view of the same generation of `nudge` was
    /// evaluated less than [`TTL`] before `now`.
    pub async fn current(
        &self,
        store: &Store,
        nudge: &PostureNudge,
        scope: &Scope,
        filter: &PostureFilter,
        now: Timestamp,
    ) -> Result<Arc<CurrentPosture>, StoreError> {
        // Read before the store: an answer from what is read after is at least this fresh.
        let key = Key::new(scope, filter, nudge.generation());
        if let Some(hit) = self.lookup(&key, now) {
            return Ok(hit);
        }
        let value = Arc::new(posture_service::current(store, scope, filter, now).await?);
        self.insert(key, now, value.clone());
        Ok(value)
    }
}

/// The posture of a view for a request: what the API, the pages and the report route read
/// (see the module docs).
pub async fn current(
    state: &AppState,
    scope: &Scope,
    filter: &PostureFilter,
    now: Timestamp,
) -> Result<Arc<CurrentPosture>, StoreError> {
    state
        .posture_cache()
        .current(state.store(), state.posture(), scope, filter, now)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use ironward_posture::{evaluate, Asset, Catalog, Domain, Settings};

    /// A posture told apart by its one device's id.
    fn answer(device: &str) -> Arc<CurrentPosture> {
        sized(device, 1)
    }

    /// A posture of `devices` devices, the first named `device`.
    fn sized(device: &str, devices: usize) -> Arc<CurrentPosture> {
        let assets: Vec<Asset> = (0..devices)
            .map(|i| {
                let id = if i == 0 {
                    device.to_owned()
                } else {
                    format!("{device}-{i}")
                };
                Asset::new(id, Domain::Ot)
            })
            .collect();
        let settings = Settings::default();
        let posture = evaluate(&assets, Catalog::builtin(), &settings);
        Arc::new(CurrentPosture {
            assets,
            posture,
            settings,
            device_scores: Vec::new(),
            has_data: true,
            rows: Default::default(),
        })
    }

    fn served(cache: &PostureCache, key: &Key, now: Timestamp) -> Option<String> {
        cache.lookup(key, now).map(|c| c.assets[0].id.clone())
    }

    const SECOND: i64 = 1_000_000_000;

    #[test]
    fn scopes_filters_and_generations_are_kept_apart() {
        let cache = PostureCache::default();
        let t = Timestamp(1_000 * SECOND);
        let (a, b) = (SiteId(1), SiteId(2));
        let all = Key::new(&Scope::All, &PostureFilter::default(), 0);
        let site_a = Key::new(&Scope::Sites(vec![a]), &PostureFilter::default(), 0);
        let a_filtered = Key::new(
            &Scope::All,
            &PostureFilter {
                site: Some(a),
                group: None,
            },
            0,
        );
        cache.insert(all.clone(), t, answer("all"));
        cache.insert(site_a.clone(), t, answer("a"));
        assert_eq!(served(&cache, &all, t).as_deref(), Some("all"));
        assert_eq!(served(&cache, &site_a, t).as_deref(), Some("a"));
        // An administrator filtering on site A asked another question than a site-A user.
        assert_eq!(served(&cache, &a_filtered, t), None);
        // The same sites in another order are the same scope; a superset is not.
        let ba = Key::new(&Scope::Sites(vec![b, a]), &PostureFilter::default(), 0);
        cache.insert(ba, t, answer("ab"));
        let ab = Key::new(&Scope::Sites(vec![a, b, a]), &PostureFilter::default(), 0);
        assert_eq!(served(&cache, &ab, t).as_deref(), Some("ab"));
        assert_eq!(served(&cache, &site_a, t).as_deref(), Some("a"));
        // A new generation serves nothing computed before it, and drops it.
        let all_next = Key::new(&Scope::All, &PostureFilter::default(), 1);
        assert_eq!(served(&cache, &all_next, t), None);
        assert!(cache.is_empty());
        assert_eq!(served(&cache, &all, t), None);
        // An evaluation that started before the change is not kept after it.
        cache.insert(all.clone(), t, answer("late"));
        assert!(cache.is_empty());
    }

    #[test]
    fn answers_expire_after_the_ttl() {
        let cache = PostureCache::new(CAPACITY, MAX_DEVICES, Duration::from_secs(30));
        let t = Timestamp(1_000 * SECOND);
        let key = Key::new(&Scope::All, &PostureFilter::default(), 7);
        cache.insert(key.clone(), t, answer("x"));
        let later = |s: i64| Timestamp(t.as_nanos() + s * SECOND);
        assert_eq!(served(&cache, &key, later(29)).as_deref(), Some("x"));
        assert_eq!(served(&cache, &key, later(30)), None);
        assert!(cache.is_empty());
        // A clock set back does not keep an answer alive either.
        cache.insert(key.clone(), t, answer("y"));
        assert_eq!(served(&cache, &key, later(-31)), None);
    }

    #[test]
    fn the_least_recently_used_view_leaves_first() {
        let cache = PostureCache::new(3, MAX_DEVICES, TTL);
        let t = Timestamp(1_000 * SECOND);
        let site = |n: i64| {
            Key::new(
                &Scope::All,
                &PostureFilter {
                    site: Some(SiteId(n)),
                    group: None,
                },
                0,
            )
        };
        for n in 1..=3 {
            cache.insert(site(n), t, answer(&n.to_string()));
        }
        // 1 is used again: 2 is now the least recently used.
        assert!(served(&cache, &site(1), t).is_some());
        cache.insert(site(4), t, answer("4"));
        assert_eq!(cache.len(), 3);
        assert_eq!(served(&cache, &site(2), t), None);
        for n in [1, 3, 4] {
            assert_eq!(served(&cache, &site(n), t), Some(n.to_string()));
        }
        // Replacing a kept view does not evict another.
        cache.insert(site(4), t, answer("4b"));
        assert_eq!(cache.len(), 3);
        assert_eq!(served(&cache, &site(4), t).as_deref(), Some("4b"));
        assert!(PostureCache::new(0, MAX_DEVICES, TTL).capacity == 1);
    }

    #[test]
    fn the_kept_views_hold_a_bounded_number_of_devices() {
        let cache = PostureCache::new(CAPACITY, 10, TTL);
        let t = Timestamp(1_000 * SECOND);
        let site = |n: i64| {
            Key::new(
                &Scope::All,
                &PostureFilter {
                    site: Some(SiteId(n)),
                    group: None,
                },
                0,
            )
        };
        cache.insert(site(1), t, sized("1", 4));
        cache.insert(site(2), t, sized("2", 4));
        assert_eq!(cache.len(), 2);
        // 4 + 4 + 4 > 10: the least recently used leaves.
        cache.insert(site(3), t, sized("3", 4));
        assert_eq!(cache.len(), 2);
        assert_eq!(served(&cache, &site(1), t), None);
        assert_eq!(served(&cache, &site(2), t).as_deref(), Some("2"));
        // A view larger than the budget is kept alone.
        cache.insert(site(4), t, sized("4", 11));
        assert_eq!(cache.len(), 1);
        assert_eq!(served(&cache, &site(4), t).as_deref(), Some("4"));
    }
}
