//! What every handler shares: the store, the login throttle, the TLS fingerprint sensors pin,
//! and the console's settings.

use std::sync::Arc;
use std::time::Duration;

use ironward_model::Timestamp;
use ironward_store::Store;

use crate::throttle::LoginThrottle;

/// Settings the handlers read.
#[derive(Debug, Clone)]
pub struct ConsoleSettings {
    /// How long a browser session lasts without signing in again.
    pub session_lifetime: Duration,
    /// Consecutive failed logins after which a user is locked.
    pub lock_after: i64,
    /// How long a locked user stays locked.
    pub lock_for: Duration,
    /// A sensor not heard from for this long is shown offline.
    pub sensor_offline_after: Duration,
    /// The address sensors use to reach the console (shown in the enrolment command), e.g.
    /// `https://console.plant:8443`.
    pub public_url: String,
    /// How long a new site learns (its policy alerts become baseline entries); zero: new sites
    /// do not learn.
    pub site_learning_period: Duration,
    /// The public key threat-intelligence packages must be signed with (`--ti-pubkey`); without
    /// one, uploads are refused.
    pub ti_public_key: Option<ironward_intel::ti::sign::VerifyingKey>,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        Self {
            session_lifetime: Duration::from_secs(12 * 3600),
            lock_after: 5,
            lock_for: Duration::from_secs(15 * 60),
            sensor_offline_after: Duration::from_secs(5 * 60),
            public_url: "https://localhost:8443".to_owned(),
            site_learning_period: Duration::from_secs(7 * 86_400),
            ti_public_key: None,
        }
    }
}

/// The shared state, cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    throttle: LoginThrottle,
    settings: ConsoleSettings,
    fingerprint: String,
    intel: crate::vuln_matching::Intel,
    posture: crate::posture_job::PostureNudge,
    posture_cache: crate::posture_cache::PostureCache,
}

impl AppState {
    /// State over `store`; `fingerprint` is the console certificate's (`sha256:...`).
    pub fn new(store: Store, settings: ConsoleSettings, fingerprint: String) -> Self {
        let posture = crate::posture_job::PostureNudge::new();
        Self {
            inner: Arc::new(Inner {
                intel: crate::vuln_matching::Intel::new(settings.ti_public_key, posture.clone()),
                store,
                throttle: LoginThrottle::default(),
                settings,
                fingerprint,
                posture,
                posture_cache: crate::posture_cache::PostureCache::default(),
            }),
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Failed logins per client address.
    pub fn throttle(&self) -> &LoginThrottle {
        &self.inner.throttle
    }

    /// The console's settings.
    pub fn settings(&self) -> &ConsoleSettings {
        &self.inner.settings
    }

    /// Threat intelligence: the package in force and matching against it.
    pub fn intel(&self) -> &crate::vuln_matching::Intel {
        &self.inner.intel
    }

    /// Wakes the posture history job (after anything its scores depend on changed).
    pub fn posture(&self) -> &crate::posture_job::PostureNudge {
        &self.inner.posture
    }

    /// The posture of recently asked views (read it through
    /// [`crate::posture_cache::current`]).
    pub fn posture_cache(&self) -> &crate::posture_cache::PostureCache {
        &self.inner.posture_cache
    }

    /// The SHA-256 fingerprint of the console's certificate (`sha256:<hex>`).
    pub fn fingerprint(&self) -> &str {
        &self.inner.fingerprint
    }
}

/// The current time as a model timestamp.
pub fn now() -> Timestamp {
    let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
    Timestamp(i64::try_from(nanos).unwrap_or(i64::MAX))
}
