//! The sensor follows its site's learning, as the console decides it.
//!
//! Every ingest answer carries the site's `learning_until` and the version of its baseline
//! entries ([`SiteState`]). While the site learns, the sensor's detector reports what its
//! baseline lacks once and learns it (the console turns those policy alerts into baseline
//! entries); after, it alerts on what the baseline lacks. The sensor's own learned baseline is
//! lost when it restarts, so it fetches the site's entries (`GET /api/v1/sensor/baseline`) when
//! it starts and whenever the version grows, and imports them: policy alerts matching an entry
//! are not reported again.
//!
//! An unreachable console changes nothing: the sensor keeps what it had, and the next answer
//! brings the state again.

use super::client::{BaselinePage, ClientError, ConsoleClient, Credential, SiteState};
use crate::detect::baseline::MAX_BASELINE_ENTRIES;
use crate::detect::{lock, SharedDetector, SiteEntry, SiteLearning};

/// Most pages fetched for one import ([`MAX_BASELINE_ENTRIES`] in pages of 1,000, and some
/// slack for entries added while paging).
const MAX_PAGES: usize = MAX_BASELINE_ENTRIES / 1_000 + 10;

/// What the sensor applied of its site's state.
#[derive(Debug)]
pub struct SiteSync {
    detector: Option<SharedDetector>,
    /// The learning state applied to the detector (`None`: none yet).
    learning: Option<SiteLearning>,
    /// The version of the entries imported (`None`: none yet).
    baseline_version: Option<i64>,
}

impl SiteSync {
    /// Follows the site for `detector` (`None`: detection is off, nothing to follow).
    pub fn new(detector: Option<SharedDetector>) -> Self {
        Self {
            detector,
            learning: None,
            baseline_version: None,
        }
    }

    /// The version of the site's entries imported so far.
    pub fn baseline_version(&self) -> Option<i64> {
        self.baseline_version
    }

    /// Fetches the site's state and entries (at start); an error leaves everything as it was.
    pub fn fetch(
        &mut self,
        client: &ConsoleClient,
        credential: &Credential,
    ) -> Result<(), ClientError> {
        if self.detector.is_none() {
            return Ok(());
        }
        let (state, entries) = fetch_all(client, credential)?;
        if let Some(state) = state {
            self.apply_learning(state.learning_until);
        }
        self.import(entries, state.map(|s| s.baseline_version));
        Ok(())
    }

    /// Applies what an ingest answer said; fetches the entries again when their version grew.
    pub fn on_ack(&mut self, client: &ConsoleClient, credential: &Credential, state: SiteState) {
        if self.detector.is_none() {
            return;
        }
        self.apply_learning(state.learning_until);
        if self.baseline_version != Some(state.baseline_version) {
            if let Err(error) = self.fetch(client, credential) {
                tracing::warn!("fetching the site's baseline: {error}; trying again later");
            }
        }
    }

    /// Applies the site's learning, judged by this machine's clock at each answer (the
    /// console judges by its own; the two differ by the clocks' skew).
    fn apply_learning(&mut self, until: Option<i64>) {
        let learning = match until {
            None => SiteLearning::Never,
            Some(until) if super::enrol::now().as_nanos() < until => SiteLearning::Learning,
            Some(_) => SiteLearning::Learned,
        };
        if self.learning == Some(learning) {
            return;
        }
        if let Some(detector) = &self.detector {
            lock(detector).set_site_learning(learning);
        }
        tracing::info!(?learning, "following the site's learning");
        self.learning = Some(learning);
    }

    fn import(&mut self, entries: Vec<SiteEntry>, version: Option<i64>) {
        if let Some(detector) = &self.detector {
            let n = entries.len();
            lock(detector).import_site_entries(entries);
            tracing::info!(entries = n, version, "imported the site's baseline");
        }
        self.baseline_version = version;
    }
}

/// Every entry of the site, page by page; the state is that of the last page.
fn fetch_all(
    client: &ConsoleClient,
    credential: &Credential,
) -> Result<(Option<SiteState>, Vec<SiteEntry>), ClientError> {
    let mut entries = Vec::new();
    let mut state = None;
    for _ in 0..MAX_PAGES {
        let page: BaselinePage = client.baseline_page(credential, entries.len())?;
        state = page.state();
        let n = page.entries.len();
        entries.extend(page.entries.into_iter().map(|e| SiteEntry {
            kind: e.kind,
            src: e.src,
            dst: e.dst,
            protocol: e.protocol,
        }));
        let total = usize::try_from(page.total).unwrap_or(0);
        if n == 0 || entries.len() >= total || entries.len() >= MAX_BASELINE_ENTRIES {
            break;
        }
    }
    entries.truncate(MAX_BASELINE_ENTRIES);
    Ok((state, entries))
}
