//! Bounded sliding-window counters: how often (and to how many distinct things) a key did
//! something within a time window. Tables evict stale keys when full, and clear outright if
//! everything is fresh, so a flood of spoofed keys costs at most [`MAX_KEYS`] entries.

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
        if !self.windows.contains_key(&key) && self.windows.len() >= MAX_KEYS {
            let horizon = now.saturating_sub(self.window_ns);
            self.windows.retain(|_, w| w.last >= horizon);
            if self.windows.len() >= MAX_KEYS {
                self.windows.clear();
            }
        }
        let window_ns = self.window_ns;
        let w = self.windows.entry(key).or_default();
        if w.count == 0 || now.saturating_sub(w.start) > window_ns {
            *w = Window {
                start: now,
                last: now,
                count: 0,
                distinct: Vec::new(),
            };
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

    /// Keys held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.windows.len()
    }
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
}
