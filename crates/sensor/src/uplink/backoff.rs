//! Exponential backoff with jitter between attempts to reach the console.
//!
//! Every sensor of a site loses the console at the same moment (a restart, a network cut), so
//! without jitter they would all come back in lock-step. Each delay is drawn uniformly from
//! the upper half of the current step ("equal jitter"): never zero, never more than the cap.

use std::time::Duration;

/// Backoff settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffConfig {
    /// The first step.
    pub initial: Duration,
    /// The largest step (and so the longest delay).
    pub max: Duration,
}

impl Default for BackoffConfig {
    /// Half a second, doubling up to 30 seconds.
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(30),
        }
    }
}

/// The state of one backoff sequence: grows on each failure, resets on success.
#[derive(Debug, Clone)]
pub struct Backoff {
    config: BackoffConfig,
    step: Duration,
    rng: u64,
}

impl Backoff {
    /// A fresh sequence, its jitter seeded from the operating system.
    pub fn new(config: BackoffConfig) -> Self {
        let mut seed = [0u8; 8];
        // A failed seed only makes the jitter predictable, never the delays wrong.
        let _ = getrandom::fill(&mut seed);
        Self::with_seed(config, u64::from_le_bytes(seed))
    }

    /// A sequence with a fixed jitter seed (for tests).
    pub fn with_seed(config: BackoffConfig, seed: u64) -> Self {
        let max = config.max.max(Duration::from_millis(1));
        let initial = config.initial.clamp(Duration::from_millis(1), max);
        Self {
            config: BackoffConfig { initial, max },
            step: initial,
            // splitmix64 spreads small or similar seeds; xorshift needs a non-zero state.
            rng: splitmix64(seed) | 1,
        }
    }

    /// The delay before the next attempt; the following one will be twice as long (up to the
    /// cap).
    pub fn next_delay(&mut self) -> Duration {
        let step = self.step;
        self.step = step.saturating_mul(2).min(self.config.max);
        let half = step / 2;
        let span = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        let jitter = if span == 0 {
            0
        } else {
            self.next_random() % (span + 1)
        };
        (step - half) + Duration::from_nanos(jitter)
    }

    /// Starts over after a success.
    pub fn reset(&mut self) {
        self.step = self.config.initial;
    }

    /// xorshift64*: jitter needs spread, not secrecy.
    fn next_random(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_within_jitter_up_to_the_cap_and_reset() {
        let config = BackoffConfig {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(30),
        };
        let mut backoff = Backoff::with_seed(config, 42);
        let mut step = Duration::from_millis(100);
        for _ in 0..20 {
            let delay = backoff.next_delay();
            assert!(
                delay >= step / 2 && delay <= step,
                "{delay:?} for step {step:?}"
            );
            step = (step * 2).min(config.max);
        }
        // Capped: never above 30 s, however many failures.
        assert!(backoff.next_delay() <= Duration::from_secs(30));
        backoff.reset();
        assert!(backoff.next_delay() <= Duration::from_millis(100));
    }

    #[test]
    fn jitter_spreads_sensors_apart() {
        let config = BackoffConfig::default();
        let delays: std::collections::HashSet<Duration> = (0..16)
            .map(|seed| {
                let mut b = Backoff::with_seed(config, seed);
                for _ in 0..5 {
                    b.next_delay();
                }
                b.next_delay()
            })
            .collect();
        assert!(delays.len() > 8, "{delays:?}");
    }

    #[test]
    fn degenerate_settings_still_wait() {
        let mut b = Backoff::with_seed(
            BackoffConfig {
                initial: Duration::ZERO,
                max: Duration::ZERO,
            },
            7,
        );
        for _ in 0..5 {
            assert!(b.next_delay() > Duration::ZERO);
        }
    }
}
