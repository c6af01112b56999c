//! Bounded sliding-window counters: how often (and to how many distinct things) a key did
//! something within a time window. A full table first drops its stale keys; when a flood keeps
//! nearly every key fresh it drops the least recently active half instead, so a flood of spoofed
//! keys costs at most [`MAX_KEYS`] entries, and making room (a pass over the table) happens at
//! most once per [`MAX_KEYS`]` / 4` new keys: the work per key stays constant however the
//! flood ages its keys.

use std::collections::HashMap;
use std::hash::Hash;

/// Most keys a tracker table holds.
pub const MAX_KEYS: usize = 65_536;

/// Most distinct values a window remembers (enough for every threshold in use).
pub const MAX_DISTINCT: usize = 64;

/// One key's window.
#[derive(Debug, Clone, Default)]
pub(crate) struct Window {
    start: i64,
    last: i64,
    count: u64,
    distinct: Vec<u64>,
}

impl Window {
    /// Occurrences in the window.
    pub(crate) fn count(&self) -> u64 {
        self.count
    }

    /// Distinct values in the window (at most [`MAX_DISTINCT`]).
    pub(crate) fn distinct(&self) -> usize {
        self.distinct.len()
    }
}

/// A table of windows by key.
#[derive(Debug)]
pub(crate) struct Tracker<K> {
    windows: HashMap<K, Window>,
    window_ns: i64,
}

impl<K: Hash + Eq + Copy> Tracker<K> {
    /// Windows of `window_ns` nanoseconds.
    pub(crate) fn new(window_ns: i64) -> Self {
        Self {
            windows: HashMap::new(),
            window_ns,
        }
    }

    /// Counts one occurrence of `key` at `now`, with `value` among its distinct values
    /// (`None` counts only). Returns the window after counting.
    pub(crate) fn hit(&mut self, key: K, now: i64, value: Option<u64>) -> &Window {
        if self.windows.len() >= MAX_KEYS && !self.windows.contains_key(&key) {
            make_room(&mut self.windows, now.saturating_sub(self.window_ns), |w| {
                w.last
            });
        }
        let window_ns = self.window_ns;
        let w = self.windows.entry(key).or_default();
        if w.count == 0 || now.saturating_sub(w.start) > window_ns {
            // The distinct values' buffer is kept: a key's next window reuses it.
            w.start = now;
            w.last = now;
            w.count = 0;
            w.distinct.clear();
        }
        w.count += 1;
        w.last = w.last.max(now);
        if let Some(value) = value {
            if w.distinct.len() < MAX_DISTINCT && !w.distinct.contains(&value) {
                w.distinct.push(value);
            }
        }
        w
    }

    /// Keys held, and distinct values remembered across all their windows.
    pub(crate) fn footprint(&self) -> (usize, usize) {
        let values = self.windows.values().map(|w| w.distinct.len()).sum();
        (self.windows.len(), values)
    }

    /// Keys held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.windows.len()
    }
}

/// Makes room in a full table keyed by hostile input: drops the entries last active before
/// `horizon`; if that leaves more than three quarters of [`MAX_KEYS`] (a flood whose keys are
/// all fresh), drops the least recently active half. Either way at least a quarter of the
/// table is free afterwards, so the pass over it is paid once per [`MAX_KEYS`]` / 4` new keys.
pub(crate) fn make_room<K, V>(
    map: &mut HashMap<K, V>,
    horizon: i64,
    last_active: impl Fn(&V) -> i64,
) {
    map.retain(|_, v| last_active(v) >= horizon);
    if map.len() <= MAX_KEYS - MAX_KEYS / 4 {
        return;
    }
    // Allocated here, once per MAX_KEYS / 4 new keys at most, not kept between floods.
    let mut times: Vec<i64> = map.values().map(&last_active).collect();
    let middle = times.len() / 2;
    let (_, &mut cut, _) = times.select_nth_unstable(middle);
    // Entries at the cut go too: if every entry shares one time, the table empties.
    map.retain(|_, v| last_active(v) > cut);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_restart_and_tables_stay_bounded() {
        let mut t = Tracker::new(10);
        assert_eq!(t.hit(1u32, 0, Some(1)).distinct(), 1);
        assert_eq!(t.hit(1, 5, Some(2)).distinct(), 2);
        assert_eq!(t.hit(1, 5, Some(2)).count(), 3);
        assert_eq!(t.hit(1, 50, Some(3)).count(), 1, "a new window");
        for k in 0..(MAX_KEYS as u32 * 2) {
            t.hit(k, 100, None);
        }
        assert!(t.len() <= MAX_KEYS);
    }

    #[test]
    fn a_flood_of_fresh_keys_evicts_the_least_recently_active_half() {
        // Keys one nanosecond apart in a window far longer than the flood: none is stale.
        let mut t = Tracker::new(i64::MAX / 2);
        for k in 0..MAX_KEYS as u32 {
            t.hit(k, i64::from(k), Some(1));
        }
        assert_eq!(t.len(), MAX_KEYS);
        t.hit(u32::MAX, i64::from(u32::MAX), None);
        assert_eq!(
            t.len(),
            MAX_KEYS / 2,
            "the older half went, the newcomer came in"
        );
        assert_eq!(
            t.hit(MAX_KEYS as u32 - 1, 1 << 40, None).count(),
            2,
            "fresh keys stay"
        );
        assert_eq!(
            t.hit(0, 1 << 40, None).count(),
            1,
            "the oldest key was dropped"
        );
        assert_eq!(t.footprint(), (MAX_KEYS / 2 + 1, MAX_KEYS / 2 - 1));
    }

    #[test]
    fn making_room_in_an_aging_flood_costs_a_pass_per_quarter_table() {
        // Keys arrive at the rate at which they age out: each retain of stale keys alone would
        // free a handful of entries and run again a few keys later.
        let mut map: HashMap<u32, i64> = HashMap::new();
        let mut passes = 0;
        for k in 0..(MAX_KEYS as u32 * 4) {
            if map.len() >= MAX_KEYS {
                make_room(&mut map, i64::from(k) - MAX_KEYS as i64 + 8, |&t| t);
                passes += 1;
                assert!(map.len() <= MAX_KEYS - MAX_KEYS / 4, "{}", map.len());
            }
            map.insert(k, i64::from(k));
        }
        assert!(passes <= 4 * 4, "{passes} passes over the table");
    }
}
