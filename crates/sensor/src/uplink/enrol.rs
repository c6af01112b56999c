//! Enrolment: a one-time token buys the sensor its own credential and pins the console's
//! certificate; both are kept in `DIR/credential.json` (mode 0600) for every later start.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ironward_model::Timestamp;
use serde::{Deserialize, Serialize};

use super::client::{ClientError, ConsoleClient, Credential};
use super::pin::{Fingerprint, PinVerifier};

/// The credential file's name in the sensor's data directory.
pub const CREDENTIAL_FILE: &str = "credential.json";
/// Largest credential file read.
const MAX_CREDENTIAL_FILE: u64 = 64 << 10;

/// What a sensor keeps from its enrolment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrolment {
    /// The console it enrolled with (`https://HOST:PORT`).
    pub console: String,
    /// Its id at the console.
    pub sensor_id: i64,
    /// Its credential (redacted in `Debug`).
    pub credential: Credential,
    /// The console certificate it pinned.
    #[serde(with = "fingerprint_text")]
    pub fingerprint: Fingerprint,
    /// The name it enrolled under.
    pub name: String,
    /// The site the console placed it in.
    #[serde(default)]
    pub site: Option<String>,
    /// Its zone.
    #[serde(default)]
    pub zone: Option<String>,
    /// When it enrolled.
    pub enrolled: Timestamp,
}

mod fingerprint_text {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Fingerprint;

    pub(super) fn serialize<S: Serializer>(fp: &Fingerprint, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(fp)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Fingerprint, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Why enrolment, or reading its result, failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnrolError {
    /// Occurs when the data directory holds no credential and no token was given.
    #[error(
        "{0} holds no credential: enrol this sensor with --enroll-token (create a token in the \
         console: Sensors, Enrol a sensor)"
    )]
    NoToken(PathBuf),
    /// Occurs when the console refused the token (unknown, already used or expired).
    #[error("enrolment refused by the console: {0} (tokens are single-use and expire; create a new one)")]
    Refused(String),
    /// Occurs when the console's certificate is not the one given with
    /// `--console-fingerprint`.
    #[error(
        "the console presented certificate {presented}, not {expected} as given with \
         --console-fingerprint; not enrolling"
    )]
    WrongCertificate {
        /// The fingerprint given.
        expected: Fingerprint,
        /// What the console presented.
        presented: Fingerprint,
    },
    /// Occurs when the console cannot be reached or answered outside the contract.
    #[error("enrolment failed: {0}")]
    Client(#[from] ClientError),
    /// Occurs when the credential file cannot be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// Occurs when the credential file is not a credential.
    #[error("{path} is damaged ({reason}); remove it and enrol again with a new token")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// Reads the credential kept in `dir`, if there is one. A file readable by others is
/// tightened to 0600 (with a warning).
pub fn load(dir: &Path) -> Result<Option<Enrolment>, EnrolError> {
    let path = dir.join(CREDENTIAL_FILE);
    let io_err = |source| EnrolError::Io {
        path: path.clone(),
        source,
    };
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(e)),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file.metadata().map_err(io_err)?.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(file = %path.display(), "credential file was readable by others; now 0600");
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).map_err(io_err)?;
        }
    }
    let mut text = Vec::new();
    file.take(MAX_CREDENTIAL_FILE)
        .read_to_end(&mut text)
        .map_err(io_err)?;
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|e| EnrolError::Damaged {
            path: path.clone(),
            reason: e.to_string(),
        })
}

/// Writes the credential to `dir` atomically, readable by its owner only.
pub fn save(dir: &Path, enrolment: &Enrolment) -> Result<(), EnrolError> {
    let path = dir.join(CREDENTIAL_FILE);
    let temp = dir.join(format!(".{CREDENTIAL_FILE}.tmp"));
    let io_err = |source| EnrolError::Io {
        path: path.clone(),
        source,
    };
    fs::create_dir_all(dir).map_err(io_err)?;
    let body = serde_json::to_vec_pretty(enrolment).map_err(|e| io_err(io::Error::other(e)))?;
    let _ = fs::remove_file(&temp);
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Created 0600: the secret is never readable by others, not even for an instant.
        options.mode(0o600);
    }
    let mut file = options.open(&temp).map_err(io_err)?;
    file.write_all(&body)
        .and_then(|()| file.sync_all())
        .map_err(io_err)?;
    drop(file);
    fs::rename(&temp, &path).map_err(io_err)?;
    File::open(dir).and_then(|d| d.sync_all()).map_err(io_err)?;
    Ok(())
}

/// What enrolment needs.
#[derive(Debug, Clone)]
pub struct EnrolRequest<'a> {
    /// The console (`https://HOST:PORT`).
    pub console: &'a str,
    /// The one-time token.
    pub token: &'a str,
    /// The name to enrol under.
    pub name: &'a str,
    /// The sensor's software version.
    pub version: &'a str,
    /// The console certificate expected (from `--console-fingerprint`); `None` trusts the
    /// first certificate seen.
    pub expected: Option<Fingerprint>,
    /// Bound on the request.
    pub timeout: Duration,
}

/// Enrols with the console and returns the enrolment (not yet saved).
pub fn enroll(request: &EnrolRequest<'_>) -> Result<Enrolment, EnrolError> {
    let verifier = Arc::new(match request.expected {
        Some(fp) => PinVerifier::pinned(fp),
        None => PinVerifier::trust_on_first_use(),
    });
    let client = ConsoleClient::new(request.console, Arc::clone(&verifier), request.timeout)?;
    let answer = client
        .enroll(request.token, request.name, request.version)
        .map_err(|e| match e {
            ClientError::Refused(reason) => EnrolError::Refused(reason),
            ClientError::PinMismatch {
                expected,
                presented,
            } => EnrolError::WrongCertificate {
                expected,
                presented,
            },
            other => EnrolError::Client(other),
        })?;
    // The answer came over the connection whose certificate the verifier just recorded.
    let fingerprint = client
        .presented_certificate()
        .ok_or_else(|| ClientError::Transport("no certificate was presented".into()))?;
    if answer.credential.expose().is_empty() {
        return Err(ClientError::BadResponse("empty credential".into()).into());
    }
    Ok(Enrolment {
        console: request.console.trim_end_matches('/').to_owned(),
        sensor_id: answer.sensor_id,
        credential: answer.credential,
        fingerprint,
        name: request.name.to_owned(),
        site: answer.site,
        zone: answer.zone,
        enrolled: now(),
    })
}

/// The current time as a [`Timestamp`].
pub(crate) fn now() -> Timestamp {
    let ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    Timestamp(ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Enrolment {
        Enrolment {
            console: "https://127.0.0.1:8443".into(),
            sensor_id: 7,
            credential: Credential::new("top-secret".into()),
            fingerprint: Fingerprint([0xab; 32]),
            name: "sensor-a".into(),
            site: Some("Plant A".into()),
            zone: None,
            enrolled: Timestamp(1_700_000_000_000_000_000),
        }
    }

    #[test]
    fn the_credential_file_round_trips_owner_only_and_never_prints_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(dir.path()).unwrap().is_none());
        save(dir.path(), &sample()).unwrap();
        assert_eq!(load(dir.path()).unwrap(), Some(sample()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join(CREDENTIAL_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(!format!("{:?}", sample()).contains("top-secret"));
        let text = fs::read_to_string(dir.path().join(CREDENTIAL_FILE)).unwrap();
        assert!(text.contains(&format!("{}", Fingerprint([0xab; 32]))));
    }

    #[test]
    fn a_damaged_credential_file_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(CREDENTIAL_FILE), b"{not json").unwrap();
        let err = load(dir.path()).unwrap_err();
        assert!(err.to_string().contains("enrol again"), "{err}");
    }
}
