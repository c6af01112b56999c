//! Login throttling by client address: after too many failures in a window, further attempts
//! from that address are refused (429) until the window passes. Per-user lockout lives in the
//! store (it must survive restarts and hold across console instances); this layer stops one
//! address from guessing across many user names. Memory is bounded: the table keeps at most
//! [`MAX_TRACKED`] addresses and forgets the oldest first.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most addresses tracked at once.
pub const MAX_TRACKED: usize = 10_000;

/// Failed logins from one address within [`LoginThrottle::window`] before it is refused.
pub const MAX_FAILURES_PER_ADDRESS: u32 = 20;

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    since: Instant,
}

/// Failed-login counters per client address.
#[derive(Debug)]
pub struct LoginThrottle {
    window: Duration,
    limit: u32,
    entries: Mutex<HashMap<IpAddr, Entry>>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self::new(Duration::from_secs(5 * 60), MAX_FAILURES_PER_ADDRESS)
    }
}

impl LoginThrottle {
    /// At most `limit` failures per address per `window`.
    pub fn new(window: Duration, limit: u32) -> Self {
        Self {
            window,
            limit,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// How long this window lasts.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// Whether `address` may try to log in at `now`; `Err` carries how long to wait.
    pub fn check(&self, address: IpAddr, now: Instant) -> Result<(), Duration> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.get(&address) {
            Some(entry) if entry.failures >= self.limit => {
                let elapsed = now.saturating_duration_since(entry.since);
                if elapsed < self.window {
                    Err(self.window - elapsed)
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }

    /// Counts a failed login from `address`.
    pub fn failure(&self, address: IpAddr, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_TRACKED && !entries.contains_key(&address) {
            let window = self.window;
            entries.retain(|_, e| now.saturating_duration_since(e.since) < window);
            if entries.len() >= MAX_TRACKED {
                if let Some(oldest) = entries.iter().min_by_key(|(_, e)| e.since).map(|(a, _)| *a) {
                    entries.remove(&oldest);
                }
            }
        }
        let entry = entries.entry(address).or_insert(Entry {
            failures: 0,
            since: now,
        });
        if now.saturating_duration_since(entry.since) >= self.window {
            *entry = Entry {
                failures: 0,
                since: now,
            };
        }
        entry.failures += 1;
    }

    /// Forgets `address`'s failures after a successful login.
    pub fn success(&self, address: IpAddr) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.remove(&address);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_after_the_limit_until_the_window_passes() {
        let throttle = LoginThrottle::new(Duration::from_secs(60), 3);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(throttle.check(a, t0).is_ok());
            throttle.failure(a, t0);
        }
        let wait = throttle.check(a, t0 + Duration::from_secs(10)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(50));
        assert!(throttle.check(b, t0).is_ok(), "other addresses unaffected");
        assert!(throttle.check(a, t0 + Duration::from_secs(61)).is_ok());
        throttle.success(a);
        assert!(throttle.check(a, t0).is_ok());
    }

    #[test]
    fn memory_stays_bounded() {
        let throttle = LoginThrottle::new(Duration::from_secs(60), 3);
        let t0 = Instant::now();
        for n in 0..(MAX_TRACKED as u32 + 100) {
            throttle.failure(IpAddr::from(n.to_be_bytes()), t0);
        }
        assert!(throttle.entries.lock().unwrap().len() <= MAX_TRACKED);
    }
}
