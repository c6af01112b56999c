//! Capture files: who they are, and which ones the sensor has finished.
//!
//! A file's identity is its absolute path, its size and the SHA-256 of its first MiB, hashed
//! together: stable across restarts (so window ids repeat and the console deduplicates), cheap
//! to compute on a huge file, and different for a file rewritten in place. Finished files are
//! listed in `DIR/finished-files` (one identity and path per line, appended and synced) so a
//! restarted sensor does not read them again at all.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The list of finished files in the sensor's data directory.
pub const FINISHED_FILE: &str = "finished-files";
/// Bytes of a file's start that go into its identity.
const HEAD_BYTES: u64 = 1 << 20;
/// Hex digits of a file identity (80 bits).
const IDENTITY_HEX: usize = 20;
/// Most lines read from the finished list (beyond, older entries are ignored and those files
/// would be re-read: the console still deduplicates them).
const MAX_FINISHED: usize = 1_000_000;

/// A capture file's identity, as hex.
pub fn file_identity(path: &Path) -> io::Result<String> {
    let absolute = std::fs::canonicalize(path)?;
    let mut file = File::open(&absolute)?;
    let size = file.metadata()?.len();
    let mut head = Sha256::new();
    let mut buf = vec![0u8; 64 << 10];
    let mut left = HEAD_BYTES;
    while left > 0 {
        let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
        let n = file.read(&mut buf[..want])?;
        if n == 0 {
            break;
        }
        head.update(&buf[..n]);
        left -= n as u64;
    }
    let mut id = Sha256::new();
    id.update(absolute.as_os_str().as_encoded_bytes());
    id.update([0]);
    id.update(size.to_le_bytes());
    id.update(head.finalize());
    let digest = id.finalize();
    let mut hex = String::with_capacity(IDENTITY_HEX);
    for b in digest.iter().take(IDENTITY_HEX / 2) {
        hex.push_str(&format!("{b:02x}"));
    }
    Ok(hex)
}

/// The set of finished files, backed by `DIR/finished-files`.
#[derive(Debug)]
pub struct FinishedFiles {
    path: PathBuf,
    done: HashSet<String>,
}

impl FinishedFiles {
    /// Loads the list in `dir` (empty when absent).
    pub fn load(dir: &Path) -> io::Result<Self> {
        let path = dir.join(FINISHED_FILE);
        let mut done = HashSet::new();
        match File::open(&path) {
            Ok(file) => {
                for line in BufReader::new(file).lines().take(MAX_FINISHED) {
                    let line = line?;
                    // A torn last line (a crash while appending) fails this check and is
                    // ignored: that file is read again and deduplicated by the console.
                    if let Some(id) = line.split(' ').next() {
                        if id.len() == IDENTITY_HEX && id.bytes().all(|b| b.is_ascii_hexdigit()) {
                            done.insert(id.to_owned());
                        }
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        Ok(Self { path, done })
    }

    /// Whether the file with this identity was finished.
    pub fn contains(&self, identity: &str) -> bool {
        self.done.contains(identity)
    }

    /// Records a finished file durably.
    pub fn record(&mut self, identity: &str, path: &Path) -> io::Result<()> {
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        let shown: String = path
            .display()
            .to_string()
            .chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect();
        // The leading newline ends a line torn by a crash, so this record stands on its own.
        file.write_all(format!("\n{identity} {shown}\n").as_bytes())?;
        file.sync_all()?;
        self.done.insert(identity.to_owned());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_is_stable_and_tells_files_apart() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.pcap");
        let b = dir.path().join("b.pcap");
        std::fs::write(&a, b"same bytes").unwrap();
        std::fs::write(&b, b"same bytes").unwrap();
        let id = file_identity(&a).unwrap();
        assert_eq!(id.len(), IDENTITY_HEX);
        assert_eq!(
            id,
            file_identity(&dir.path().join(".").join("a.pcap")).unwrap()
        );
        assert_ne!(id, file_identity(&b).unwrap());
        std::fs::write(&a, b"same bytes, longer").unwrap();
        assert_ne!(id, file_identity(&a).unwrap());
    }

    #[test]
    fn finished_files_survive_a_restart_and_torn_lines_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let mut done = FinishedFiles::load(dir.path()).unwrap();
        done.record("0123456789abcdef0123", Path::new("/x/a.pcap"))
            .unwrap();
        let mut raw = OpenOptions::new()
            .append(true)
            .open(dir.path().join(FINISHED_FILE))
            .unwrap();
        raw.write_all(b"fedcba98").unwrap();
        let mut done = FinishedFiles::load(dir.path()).unwrap();
        assert!(done.contains("0123456789abcdef0123"));
        assert!(!done.contains("fedcba98"));
        // A record after a torn line still counts.
        done.record("11112222333344445555", Path::new("b.pcap"))
            .unwrap();
        let done = FinishedFiles::load(dir.path()).unwrap();
        assert!(done.contains("11112222333344445555"));
    }
}
