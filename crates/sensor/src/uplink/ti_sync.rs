//! The sensor follows the threat-intelligence package the console assigned to its site.
//!
//! Every ingest answer carries the sequence of the site's package
//! ([`SiteState::ti_package_sequence`]). When it differs from the package in force, the sensor
//! downloads the package (`GET /api/v1/sensor/ti-package`, at most
//! [`MAX_TI_PACKAGE`](super::client::MAX_TI_PACKAGE) bytes), verifies its signature with the
//! key it was configured with (`--ti-pubkey`; never a key the console sends: a console that was
//! taken over must not be able to push detection content), refuses an older one than it runs,
//! and applies it: the package's IoCs and ICS attack patterns replace the malware engine's.
//! The package is kept as [`TI_PACKAGE_FILE`] (a temporary file renamed over the old one) and
//! verified and applied again when the sensor starts.
//!
//! A package that fails leaves the one in force as it was; the sensor reports "failed" with the
//! error, and does not download that sequence again (the console assigns a new one to fix it).
//! What is in force and the last error go to the console (`POST /api/v1/sensor/ti-status`)
//! whenever they change, retried with each ingest answer until the console took them.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ironward_intel::ti::package::{Package, PackageInfo};
use ironward_intel::ti::sign::{KeyId, VerifyingKey};
use serde::{Deserialize, Serialize};

use super::client::{ConsoleClient, Credential, SiteState, MAX_TI_PACKAGE};
use crate::detect::{lock, rules, SharedDetector};

/// The package in force, inside the sensor's data directory.
pub const TI_PACKAGE_FILE: &str = "ti-package.pkg";

/// Whether the last package offered to the sensor was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TiState {
    /// No package was offered yet.
    None,
    /// The package in force is the last one offered.
    Ok,
    /// The last package offered was refused (the error says why); the one in force, if any,
    /// stays.
    Failed,
}

/// What the sensor reports to the console about its threat intelligence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TiReport {
    /// The sequence of the package in force.
    pub sequence: Option<u64>,
    /// Its file name (`ironward-ti-YYYY-MM-DD.pkg`).
    pub name: Option<String>,
    /// Whether the last package offered was applied.
    pub state: TiState,
    /// Why it was refused (`state` failed).
    pub error: Option<String>,
    /// The id of the key the sensor verifies packages with (`None`: no key configured, it
    /// accepts no package).
    pub key_id: Option<String>,
}

/// The sensor's threat intelligence: the package in force and what became of the last one
/// offered.
#[derive(Debug)]
pub struct TiSync {
    key: Option<VerifyingKey>,
    detector: Option<SharedDetector>,
    dir: PathBuf,
    in_force: Option<PackageInfo>,
    state: TiState,
    error: Option<String>,
    /// An assigned sequence that was downloaded and refused: not downloaded again.
    refused: Option<u64>,
    /// The report the console last took.
    reported: Option<TiReport>,
}

impl TiSync {
    /// Follows packages verified with `key` for `detector`, kept in `dir`.
    pub fn new(key: Option<VerifyingKey>, detector: Option<SharedDetector>, dir: &Path) -> Self {
        Self {
            key,
            detector,
            dir: dir.to_owned(),
            in_force: None,
            state: TiState::None,
            error: None,
            refused: None,
            reported: None,
        }
    }

    /// The header of the package in force.
    pub fn in_force(&self) -> Option<&PackageInfo> {
        self.in_force.as_ref()
    }

    /// What the sensor reports now.
    pub fn report(&self) -> TiReport {
        TiReport {
            sequence: self.in_force.as_ref().map(|i| i.sequence),
            name: self.in_force.as_ref().map(|i| i.name.clone()),
            state: self.state,
            error: self.error.clone(),
            key_id: self.key.as_ref().map(|k| KeyId::of(k).to_string()),
        }
    }

    /// Verifies, applies and keeps the package saved by an earlier run (at start). A package
    /// that no longer verifies (the key changed) is reported failed and not applied.
    pub fn load_saved(&mut self) {
        let path = self.dir.join(TI_PACKAGE_FILE);
        let bytes = match read_bounded(&path) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return,
            Err(error) => {
                self.failed(format!("the saved package {}: {error}", path.display()));
                return;
            }
        };
        match self.verify(&bytes).and_then(|package| {
            self.apply(&package)?;
            Ok(package)
        }) {
            Ok(package) => {
                tracing::info!(
                    package = %package.info().name,
                    sequence = package.info().sequence,
                    "threat-intelligence package in force (saved by an earlier run)"
                );
                self.in_force = Some(package.info().clone());
                self.state = TiState::Ok;
                self.error = None;
            }
            Err(error) => self.failed(format!("the saved package: {error}")),
        }
    }

    /// Verifies `bytes` as a package, refuses it unless it is newer than the one in force,
    /// applies it and saves it. On error the package in force stays, and the error is the
    /// status reported.
    pub fn offer(&mut self, bytes: &[u8]) -> Result<&PackageInfo, String> {
        let applied = self.verify(bytes).and_then(|package| {
            package
                .install_over(self.in_force.as_ref())
                .map_err(|e| e.to_string())?;
            self.apply(&package)?;
            Ok(package)
        });
        let package = match applied {
            Ok(package) => package,
            Err(error) => {
                self.failed(error.clone());
                return Err(error);
            }
        };
        self.save(bytes);
        tracing::info!(
            package = %package.info().name,
            sequence = package.info().sequence,
            iocs = package.iocs().len(),
            "threat-intelligence package applied"
        );
        self.state = TiState::Ok;
        self.error = None;
        Ok(self.in_force.insert(package.info().clone()))
    }

    /// Follows an ingest answer: downloads and offers the site's package when it is not the
    /// one in force (and was not refused already), then reports a changed status.
    pub fn on_ack(&mut self, client: &ConsoleClient, credential: &Credential, state: SiteState) {
        if let Some(assigned) = state.ti_package_sequence {
            if self.in_force.as_ref().map(|i| i.sequence) == Some(assigned) {
                // The site went back to the package in force: nothing failed any more.
                self.state = TiState::Ok;
                self.error = None;
            } else if self.wants(assigned) {
                match client.ti_package(credential) {
                    Ok(bytes) => {
                        if self.offer(&bytes).is_err() {
                            self.refused = Some(assigned);
                        }
                    }
                    // The console may be restarting: the next answer tries again.
                    Err(error) => {
                        tracing::warn!("downloading the threat-intelligence package: {error}");
                    }
                }
            }
        }
        self.send_report(client, credential);
    }

    /// Whether the assigned sequence is to be downloaded.
    fn wants(&self, assigned: u64) -> bool {
        self.in_force.as_ref().map(|i| i.sequence) != Some(assigned)
            && self.refused != Some(assigned)
    }

    /// Sends the status when the console has not taken it yet.
    pub fn send_report(&mut self, client: &ConsoleClient, credential: &Credential) {
        let report = self.report();
        if self.reported.as_ref() == Some(&report) {
            return;
        }
        match client.ti_status(credential, &report) {
            Ok(()) => self.reported = Some(report),
            // A console without package distribution: nothing to report to.
            Err(super::client::ClientError::Status { status: 404, .. }) => {
                self.reported = Some(report);
            }
            Err(error) => tracing::warn!("reporting the threat-intelligence status: {error}"),
        }
    }

    fn verify(&self, bytes: &[u8]) -> Result<Package, String> {
        let Some(key) = &self.key else {
            return Err(
                "no package signing key configured (--ti-pubkey): the sensor accepts no package"
                    .to_owned(),
            );
        };
        Package::from_bytes(bytes, key).map_err(|e| e.to_string())
    }

    /// Hands the package's IoCs and attack patterns to the detector. Patterns that do not
    /// parse refuse the package before anything changed; a package without patterns keeps
    /// the built-in ones.
    fn apply(&self, package: &Package) -> Result<(), String> {
        let text = package.ics_attack_patterns();
        let patterns = if text.trim().is_empty() {
            None
        } else {
            Some(rules::parse(text).map_err(|e| format!("the package's attack patterns: {e}"))?)
        };
        if let Some(detector) = &self.detector {
            let mut detector = lock(detector);
            detector.set_iocs(Some(Arc::new(package.iocs().clone())));
            if let Some(patterns) = patterns {
                detector.set_attack_patterns(patterns);
            }
        }
        Ok(())
    }

    fn failed(&mut self, error: String) {
        tracing::error!(
            in_force = self.in_force.as_ref().map(|i| i.name.as_str()),
            "threat-intelligence package refused: {error}"
        );
        self.state = TiState::Failed;
        self.error = Some(error);
    }

    /// Keeps the package for the next start (a temporary file renamed over the old one). A
    /// failure is logged: the package is in force all the same.
    fn save(&self, bytes: &[u8]) {
        let temporary = self.dir.join(format!("{TI_PACKAGE_FILE}.tmp"));
        let written = std::fs::write(&temporary, bytes)
            .and_then(|()| std::fs::rename(&temporary, self.dir.join(TI_PACKAGE_FILE)));
        if let Err(e) = written {
            tracing::warn!(dir = %self.dir.display(), "cannot save the threat-intelligence package: {e}");
        }
    }
}

/// The file's bytes (`None`: no file), refusing one larger than a package can be downloaded.
fn read_bounded(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut bytes = Vec::new();
    file.take(MAX_TI_PACKAGE + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_TI_PACKAGE {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {} MiB", MAX_TI_PACKAGE >> 20),
        ));
    }
    Ok(Some(bytes))
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use ironward_intel::ti::package::{build, PackageContents};
    use ironward_intel::ti::sign::SigningKey;

    use super::*;
    use crate::detect::{Detector, DetectorConfig, FlowInput};

    /// An address of the IoC list of every package built here.
    const C2: &str = "203.0.113.9";

    const IOCS: &str = "kind,value,severity,name,techniques,reference,description\n\
                        ip,203.0.113.0/24,critical,Test C2 range,,ref-1,Test range\n";

    /// A flow pattern of this test (a tool talking to port 40001), in the built-in format.
    const PATTERN: &str = r#"
[[pattern]]
kind = "malware.test_tool"
title = "Test tool"
description = "A flow to the test tool's port."
remediation = "None: a test."
severity = "major"
techniques = ["T0869"]
transport = "tcp"
port = 40001
"#;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    /// A package signed by `key`, built `day` days after 2026-01-01.
    fn package(key: &SigningKey, day: i64, iocs: &str, patterns: &str) -> Vec<u8> {
        let contents = PackageContents {
            iocs_csv: iocs.to_owned(),
            ics_attack_patterns: patterns.to_owned(),
            ..PackageContents::default()
        };
        let at = time::OffsetDateTime::from_unix_timestamp(1_767_225_600 + day * 86_400).unwrap();
        build(&contents, Vec::new(), Vec::new(), at, key).unwrap().1
    }

    fn flow(client: &str, server: &str, frame: u64) -> FlowInput {
        FlowInput {
            frame,
            client: client.parse::<SocketAddr>().unwrap(),
            server: server.parse::<SocketAddr>().unwrap(),
            transport: 6,
            has_ports: true,
            protocol: None,
            first_seen: 1_000,
            last_seen: 2_000,
            packets: [3, 2],
            payload_bytes: [100, 200],
            answered: true,
            server_is_group: false,
        }
    }

    /// Kinds of the alerts a flow from a plant host to `server` raises now.
    fn alerts_for(detector: &SharedDetector, server: &str, frame: u64) -> Vec<String> {
        let mut detector = lock(detector);
        detector.on_flow(&flow("10.0.0.5:50000", server, frame));
        detector
            .take_updated()
            .into_iter()
            .map(|a| a.kind)
            .filter(|k| k.starts_with("malware."))
            .collect()
    }

    fn setup(key_seed: Option<u8>) -> (tempfile::TempDir, SharedDetector, TiSync) {
        let dir = tempfile::tempdir().unwrap();
        let detector = Detector::new(DetectorConfig::default()).shared();
        let sync = TiSync::new(
            key_seed.map(|s| key(s).verifying_key()),
            Some(detector.clone()),
            dir.path(),
        );
        (dir, detector, sync)
    }

    #[test]
    fn a_good_package_applies_its_iocs_and_patterns_and_survives_a_restart() {
        let (dir, detector, mut sync) = setup(Some(1));
        assert_eq!(sync.report().state, TiState::None);
        // Before the package: the C2 address and the tool's port raise nothing.
        assert!(alerts_for(&detector, &format!("{C2}:443"), 1).is_empty());
        assert!(alerts_for(&detector, "10.0.0.7:40001", 2).is_empty());

        let bytes = package(&key(1), 10, IOCS, PATTERN);
        let sequence = sync.offer(&bytes).unwrap().sequence;
        assert_eq!(
            alerts_for(&detector, &format!("{C2}:443"), 3),
            ["malware.ioc_ip"]
        );
        assert_eq!(
            alerts_for(&detector, "10.0.0.7:40001", 4),
            ["malware.test_tool"]
        );
        let report = sync.report();
        assert_eq!(report.state, TiState::Ok);
        assert_eq!(report.sequence, Some(sequence));
        assert_eq!(report.error, None);
        assert_eq!(
            report.key_id,
            Some(KeyId::of(&key(1).verifying_key()).to_string())
        );
        assert_eq!(
            std::fs::read(dir.path().join(TI_PACKAGE_FILE)).unwrap(),
            bytes
        );

        // A restarted sensor verifies and applies the saved package before any console says so.
        let restarted = Detector::new(DetectorConfig::default()).shared();
        let mut again = TiSync::new(
            Some(key(1).verifying_key()),
            Some(restarted.clone()),
            dir.path(),
        );
        again.load_saved();
        assert_eq!(again.report().sequence, Some(sequence));
        assert_eq!(again.report().state, TiState::Ok);
        assert_eq!(
            alerts_for(&restarted, &format!("{C2}:443"), 5),
            ["malware.ioc_ip"]
        );
    }

    #[test]
    fn refused_packages_leave_the_one_in_force_and_say_why() {
        let (_dir, detector, mut sync) = setup(Some(1));
        let good = package(&key(1), 10, IOCS, "");
        let in_force = sync.offer(&good).unwrap().sequence;

        let other_key = package(&key(2), 20, "", "");
        let mut truncated = package(&key(1), 30, "", "");
        truncated.truncate(truncated.len() - 10);
        let mut flipped = package(&key(1), 40, "", "");
        let middle = flipped.len() / 2;
        flipped[middle] ^= 0x40;
        let older = package(&key(1), 5, "", "");
        let bad_patterns = package(&key(1), 50, "", "[[pattern]]\nkind = \"not-malware\"\n");
        for (bytes, expected) in [
            (&other_key, "signed by another key"),
            (&truncated, "truncated at byte"),
            (&flipped, "signature invalid"),
            (&older, "downgrade refused"),
            (&good, "downgrade refused"),
            (&bad_patterns, "attack patterns"),
        ] {
            let error = sync.offer(bytes).unwrap_err();
            assert!(error.contains(expected), "{error}");
            let report = sync.report();
            assert_eq!(report.state, TiState::Failed);
            assert_eq!(report.error.as_deref(), Some(error.as_str()));
            assert_eq!(report.sequence, Some(in_force), "{expected}");
            // The package in force still matches its IoCs.
            assert_eq!(
                alerts_for(&detector, &format!("{C2}:443"), 1),
                ["malware.ioc_ip"]
            );
        }
        // A newer good package clears the failure.
        let newer = package(&key(1), 60, "", "");
        sync.offer(&newer).unwrap();
        assert_eq!(sync.report().state, TiState::Ok);
        assert_eq!(sync.report().error, None);
        // Its empty IoC list replaced the old one.
        assert!(alerts_for(&detector, &format!("{C2}:443"), 3).is_empty());
    }

    #[test]
    fn without_a_key_and_with_another_key_nothing_is_applied() {
        let (dir, detector, mut sync) = setup(None);
        let error = sync.offer(&package(&key(1), 10, IOCS, "")).unwrap_err();
        assert!(error.contains("--ti-pubkey"), "{error}");
        assert_eq!(sync.report().sequence, None);
        assert_eq!(sync.report().key_id, None);
        assert!(alerts_for(&detector, &format!("{C2}:443"), 1).is_empty());
        assert!(!dir.path().join(TI_PACKAGE_FILE).exists());

        // A package saved under one key does not load under another.
        let (dir, detector, mut sync) = setup(Some(1));
        sync.offer(&package(&key(1), 10, IOCS, "")).unwrap();
        let restarted = Detector::new(DetectorConfig::default()).shared();
        let mut other = TiSync::new(
            Some(key(2).verifying_key()),
            Some(restarted.clone()),
            dir.path(),
        );
        other.load_saved();
        let report = other.report();
        assert_eq!((report.state, report.sequence), (TiState::Failed, None));
        assert!(report.error.unwrap().contains("signed by another key"));
        assert!(alerts_for(&restarted, &format!("{C2}:443"), 2).is_empty());
        drop(detector);
    }

    #[test]
    fn a_refused_sequence_is_not_downloaded_again() {
        let (_dir, _detector, mut sync) = setup(Some(1));
        assert!(sync.wants(7));
        sync.refused = Some(7);
        assert!(!sync.wants(7));
        assert!(sync.wants(8));
        let sequence = sync.offer(&package(&key(1), 10, "", "")).unwrap().sequence;
        assert!(!sync.wants(sequence));
    }
}
