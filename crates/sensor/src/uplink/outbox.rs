//! The durable outbox: batches on disk until the console has committed them.
//!
//! Each batch is one file, `DIR/outbox/<seq>.<batch id>.json`, written atomically (a temporary
//! file, fsync, rename, fsync of the directory), so after a crash or power cut a batch file is
//! either whole or absent. Batches are sent oldest first (by sequence number, then id) and a
//! file is removed only after the console answered 200. What the console refused as malformed
//! moves to `DIR/outbox/rejected/` with the reason in a `.reason` file beside it; a file that
//! cannot be read as a batch (disk damage, a hand edit) moves to `DIR/outbox/corrupt/`, so one
//! bad file never blocks the others.
//!
//! The outbox is bounded in bytes and in files; [`Outbox::push`] answers
//! [`Pushed::Full`] beyond either bound and the caller decides what to drop. Only the index of
//! pending files (sequence, id, size) is kept in memory, never their contents.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// Largest batch file read back (a larger one is corrupt: the sensor never writes one).
pub const MAX_BATCH_FILE: u64 = 64 << 20;
/// Sub-directory for batches the console refused as malformed.
pub const REJECTED_DIR: &str = "rejected";
/// Sub-directory for files that could not be read as batches.
pub const CORRUPT_DIR: &str = "corrupt";
const SUFFIX: &str = ".json";
const TEMP_SUFFIX: &str = ".tmp";

/// Outbox bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxLimits {
    /// Most bytes of pending batches.
    pub max_bytes: u64,
    /// Most pending batch files.
    pub max_files: usize,
}

impl Default for OutboxLimits {
    /// 1 GiB and 100,000 files.
    fn default() -> Self {
        Self {
            max_bytes: 1 << 30,
            max_files: 100_000,
        }
    }
}

/// Why the outbox failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutboxError {
    /// Occurs when a file or directory of the outbox cannot be created, written, renamed or
    /// synced (disk full, permissions).
    #[error("outbox {path}: {op}: {source}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// The operating-system error.
        source: io::Error,
    },
    /// Occurs when a batch id could not name a file (empty, too long, or characters outside
    /// `A-Z a-z 0-9 . _ : -`).
    #[error("outbox: batch id {0:?} cannot name a file")]
    BadId(String),
}

fn io_error<'a>(path: &'a Path, op: &'static str) -> impl FnOnce(io::Error) -> OutboxError + 'a {
    move |source| OutboxError::Io {
        path: path.to_owned(),
        op,
        source,
    }
}

/// One pending batch file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Position in the send order.
    pub seq: u64,
    /// The batch id.
    pub id: String,
    /// File size in bytes.
    pub size: u64,
}

impl Entry {
    fn file_name(&self) -> String {
        file_name(self.seq, &self.id)
    }
}

fn file_name(seq: u64, id: &str) -> String {
    format!("{seq:020}.{id}{SUFFIX}")
}

/// `<seq>.<id>.json` back into its parts.
fn parse_file_name(name: &str) -> Option<(u64, String)> {
    let stem = name.strip_suffix(SUFFIX)?;
    let (seq, id) = stem.split_once('.')?;
    if seq.len() != 20 || !seq.bytes().all(|b| b.is_ascii_digit()) || !valid_id(id) {
        return None;
    }
    Some((seq.parse().ok()?, id.to_owned()))
}

/// A batch id that can name a file: the batch format's own rule (see
/// `ironward_model::batch::MAX_BATCH_ID_LEN`), which excludes `/` and NUL.
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= ironward_model::batch::MAX_BATCH_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// What [`Outbox::push`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// Written and queued.
    Queued,
    /// A batch with this id is already pending (a re-read of the same input): nothing written.
    AlreadyQueued,
    /// Not written: the outbox is at its bound.
    Full,
}

#[derive(Debug, Default)]
struct State {
    pending: BTreeMap<(u64, String), u64>,
    ids: HashSet<String>,
    bytes: u64,
    next_seq: u64,
}

impl State {
    fn insert(&mut self, seq: u64, id: String, size: u64) {
        self.ids.insert(id.clone());
        if let Some(old) = self.pending.insert((seq, id), size) {
            self.bytes = self.bytes.saturating_sub(old);
        }
        self.bytes += size;
        self.next_seq = self.next_seq.max(seq + 1);
    }

    fn forget(&mut self, entry: &Entry) {
        if let Some(size) = self.pending.remove(&(entry.seq, entry.id.clone())) {
            self.bytes = self.bytes.saturating_sub(size);
            self.ids.remove(&entry.id);
        }
    }
}

/// The outbox directory and the index of its pending batches. Shared between the capture
/// thread (which pushes) and the uploader (which sends and removes).
#[derive(Debug)]
pub struct Outbox {
    dir: PathBuf,
    limits: OutboxLimits,
    state: Mutex<State>,
    changed: Condvar,
}

impl Outbox {
    /// Opens (creating if needed) the outbox in `dir`: removes temporary files a crash left
    /// behind, moves files whose names are not the outbox's own to `corrupt/`, and indexes the
    /// rest.
    pub fn open(dir: &Path, limits: OutboxLimits) -> Result<Self, OutboxError> {
        for sub in [
            dir.to_owned(),
            dir.join(REJECTED_DIR),
            dir.join(CORRUPT_DIR),
        ] {
            fs::create_dir_all(&sub).map_err(io_error(&sub, "create directory"))?;
        }
        let outbox = Self {
            dir: dir.to_owned(),
            limits,
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
        };
        let mut stray = Vec::new();
        for item in fs::read_dir(dir).map_err(io_error(dir, "list"))? {
            let item = item.map_err(io_error(dir, "list"))?;
            let name = item.file_name();
            let path = item.path();
            let meta = item.metadata().map_err(io_error(&path, "stat"))?;
            if meta.is_dir() {
                continue;
            }
            let name = name.to_string_lossy();
            if name.ends_with(TEMP_SUFFIX) {
                // A write that never reached its rename: the batch was never queued.
                fs::remove_file(&path).map_err(io_error(&path, "remove temporary file"))?;
                continue;
            }
            match parse_file_name(&name) {
                Some((seq, id)) => outbox.lock().insert(seq, id, meta.len()),
                None => stray.push(name.into_owned()),
            }
        }
        for name in stray {
            tracing::warn!(file = %name, "outbox: not a batch file name; moved to corrupt/");
            outbox.move_aside(&name, CORRUPT_DIR, "not an outbox file name")?;
        }
        Ok(outbox)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The outbox directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Pending batches.
    pub fn len(&self) -> usize {
        self.lock().pending.len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.lock().pending.is_empty()
    }

    /// Bytes of pending batches.
    pub fn bytes(&self) -> u64 {
        self.lock().bytes
    }

    /// Whether a batch with this id is pending.
    pub fn contains(&self, id: &str) -> bool {
        self.lock().ids.contains(id)
    }

    /// Writes a batch durably and queues it behind every pending one.
    pub fn push(&self, id: &str, body: &[u8]) -> Result<Pushed, OutboxError> {
        if !valid_id(id) {
            return Err(OutboxError::BadId(id.chars().take(80).collect()));
        }
        let seq = {
            let state = self.lock();
            if state.ids.contains(id) {
                return Ok(Pushed::AlreadyQueued);
            }
            let size = body.len() as u64;
            if state.pending.len() >= self.limits.max_files
                || state.bytes.saturating_add(size) > self.limits.max_bytes
            {
                return Ok(Pushed::Full);
            }
            state.next_seq
        };
        // Only the capture thread pushes, so the sequence number cannot be taken twice; it is
        // claimed once the file exists.
        self.write_atomic(&file_name(seq, id), body)?;
        self.lock().insert(seq, id.to_owned(), body.len() as u64);
        self.changed.notify_all();
        Ok(Pushed::Queued)
    }

    /// Replaces a pending batch by its parts, sent in its place (same sequence number, ids in
    /// order). The parts are written before the original is removed: a crash in between leaves
    /// both, and the original, sent first, is split again into the same parts.
    pub fn replace(&self, entry: &Entry, parts: &[(String, Vec<u8>)]) -> Result<(), OutboxError> {
        for (id, body) in parts {
            if !valid_id(id) {
                return Err(OutboxError::BadId(id.chars().take(80).collect()));
            }
            self.write_atomic(&file_name(entry.seq, id), body)?;
            self.lock().insert(entry.seq, id.clone(), body.len() as u64);
        }
        self.remove(entry)
    }

    fn write_atomic(&self, name: &str, body: &[u8]) -> Result<(), OutboxError> {
        let path = self.dir.join(name);
        let temp = self.dir.join(format!(".{name}{TEMP_SUFFIX}"));
        let mut file = File::create(&temp).map_err(io_error(&temp, "create"))?;
        file.write_all(body).map_err(io_error(&temp, "write"))?;
        file.sync_all().map_err(io_error(&temp, "fsync"))?;
        drop(file);
        fs::rename(&temp, &path).map_err(io_error(&path, "rename"))?;
        self.sync_dir(&self.dir)
    }

    fn sync_dir(&self, dir: &Path) -> Result<(), OutboxError> {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_error(dir, "fsync directory"))
    }

    /// The oldest pending batch.
    pub fn oldest(&self) -> Option<Entry> {
        let state = self.lock();
        let ((seq, id), size) = state.pending.iter().next()?;
        Some(Entry {
            seq: *seq,
            id: id.clone(),
            size: *size,
        })
    }

    /// Waits until a batch is pushed or removed, or the timeout passes.
    pub fn wait_for_change(&self, timeout: Duration) {
        let state = self.lock();
        let _ = self
            .changed
            .wait_timeout(state, timeout)
            .unwrap_or_else(PoisonError::into_inner);
    }

    /// Reads a pending batch's bytes (at most [`MAX_BATCH_FILE`]).
    pub fn read(&self, entry: &Entry) -> Result<Vec<u8>, OutboxError> {
        let path = self.dir.join(entry.file_name());
        let file = File::open(&path).map_err(io_error(&path, "open"))?;
        let mut body = Vec::new();
        file.take(MAX_BATCH_FILE + 1)
            .read_to_end(&mut body)
            .map_err(io_error(&path, "read"))?;
        if body.len() as u64 > MAX_BATCH_FILE {
            return Err(OutboxError::Io {
                path,
                op: "read",
                source: io::Error::new(io::ErrorKind::InvalidData, "larger than any batch"),
            });
        }
        Ok(body)
    }

    /// Removes a batch the console acknowledged.
    pub fn remove(&self, entry: &Entry) -> Result<(), OutboxError> {
        let path = self.dir.join(entry.file_name());
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(&path, "remove")(e)),
        }
        self.sync_dir(&self.dir)?;
        self.lock().forget(entry);
        self.changed.notify_all();
        Ok(())
    }

    /// Moves a batch the console refused to `rejected/`, with the reason beside it.
    pub fn reject(&self, entry: &Entry, reason: &str) -> Result<(), OutboxError> {
        self.move_aside(&entry.file_name(), REJECTED_DIR, reason)?;
        self.lock().forget(entry);
        self.changed.notify_all();
        Ok(())
    }

    /// Moves a file that is not a readable batch to `corrupt/`, with the error beside it.
    pub fn quarantine(&self, entry: &Entry, error: &str) -> Result<(), OutboxError> {
        self.move_aside(&entry.file_name(), CORRUPT_DIR, error)?;
        self.lock().forget(entry);
        self.changed.notify_all();
        Ok(())
    }

    fn move_aside(&self, name: &str, sub: &str, reason: &str) -> Result<(), OutboxError> {
        let target_dir = self.dir.join(sub);
        let reason_path = target_dir.join(format!("{name}.reason"));
        let mut file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&reason_path)
            .map_err(io_error(&reason_path, "create"))?;
        file.write_all(reason.as_bytes())
            .and_then(|()| file.write_all(b"\n"))
            .and_then(|()| file.sync_all())
            .map_err(io_error(&reason_path, "write"))?;
        let from = self.dir.join(name);
        let to = target_dir.join(name);
        match fs::rename(&from, &to) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(&from, "move aside")(e)),
        }
        self.sync_dir(&target_dir)?;
        self.sync_dir(&self.dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dir: &Path) -> Outbox {
        Outbox::open(dir, OutboxLimits::default()).unwrap()
    }

    fn drain(outbox: &Outbox) -> Vec<String> {
        let mut ids = Vec::new();
        while let Some(entry) = outbox.oldest() {
            ids.push(entry.id.clone());
            outbox.remove(&entry).unwrap();
        }
        ids
    }

    #[test]
    fn batches_go_out_oldest_first_and_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = open(dir.path());
        for id in ["z-first", "a-second", "m-third"] {
            assert_eq!(outbox.push(id, id.as_bytes()).unwrap(), Pushed::Queued);
        }
        assert_eq!(outbox.len(), 3);
        assert_eq!(outbox.bytes(), 7 + 8 + 7);
        drop(outbox);
        let outbox = open(dir.path());
        let first = outbox.oldest().unwrap();
        assert_eq!(outbox.read(&first).unwrap(), b"z-first");
        // New batches after a restart queue behind the old ones.
        outbox.push("0-fourth", b"4").unwrap();
        assert_eq!(
            drain(&outbox),
            ["z-first", "a-second", "m-third", "0-fourth"]
        );
        assert!(outbox.is_empty() && outbox.bytes() == 0);
        drop(outbox);
        assert!(open(dir.path()).is_empty());
    }

    #[test]
    fn a_pending_id_is_not_queued_twice() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = open(dir.path());
        assert_eq!(outbox.push("b1", b"x").unwrap(), Pushed::Queued);
        assert_eq!(outbox.push("b1", b"x").unwrap(), Pushed::AlreadyQueued);
        assert_eq!(outbox.len(), 1);
        assert!(outbox.contains("b1"));
    }

    #[test]
    fn writes_are_atomic_and_leftover_temporary_files_are_discarded() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = open(dir.path());
        outbox.push("b1", b"{}").unwrap();
        // No temporary file survives a completed write.
        let names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.ends_with(TEMP_SUFFIX)), "{names:?}");
        // A crash between create and rename leaves a temporary file: never sent, removed.
        fs::write(
            dir.path()
                .join(format!(".{}{TEMP_SUFFIX}", file_name(9, "torn"))),
            b"{\"id\":",
        )
        .unwrap();
        drop(outbox);
        let outbox = open(dir.path());
        assert_eq!(drain(&outbox), ["b1"]);
        assert!(fs::read_dir(dir.path()).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(TEMP_SUFFIX)));
    }

    #[test]
    fn stray_and_corrupt_files_are_moved_aside_with_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("garbage.bin"), b"\x00\x01").unwrap();
        let outbox = open(dir.path());
        assert!(outbox.is_empty());
        let corrupt = dir.path().join(CORRUPT_DIR);
        assert!(corrupt.join("garbage.bin").exists());
        assert!(fs::read_to_string(corrupt.join("garbage.bin.reason"))
            .unwrap()
            .contains("not an outbox file name"));

        outbox.push("good-1", b"{}").unwrap();
        outbox.push("bad", b"\x00torn").unwrap();
        outbox.push("good-2", b"{}").unwrap();
        let mut sent = Vec::new();
        while let Some(entry) = outbox.oldest() {
            if entry.id == "bad" {
                outbox
                    .quarantine(&entry, "expected value at line 1")
                    .unwrap();
            } else {
                sent.push(entry.id.clone());
                outbox.remove(&entry).unwrap();
            }
        }
        assert_eq!(sent, ["good-1", "good-2"]);
        let name = file_name(1, "bad");
        assert!(corrupt.join(&name).exists());
        assert!(fs::read_to_string(corrupt.join(format!("{name}.reason")))
            .unwrap()
            .contains("expected value"));
    }

    #[test]
    fn rejected_batches_are_kept_with_their_reason() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = open(dir.path());
        outbox.push("r1", b"{}").unwrap();
        let entry = outbox.oldest().unwrap();
        outbox.reject(&entry, "devices[0].id is empty").unwrap();
        assert!(outbox.is_empty());
        let rejected = dir.path().join(REJECTED_DIR);
        assert!(rejected.join(entry.file_name()).exists());
        drop(outbox);
        // Rejected batches are not resent after a restart.
        assert!(open(dir.path()).is_empty());
    }

    #[test]
    fn a_split_batch_is_replaced_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = open(dir.path());
        outbox.push("big", b"1234").unwrap();
        outbox.push("next", b"5").unwrap();
        let big = outbox.oldest().unwrap();
        outbox
            .replace(
                &big,
                &[
                    ("big.a".into(), b"12".to_vec()),
                    ("big.b".into(), b"34".to_vec()),
                ],
            )
            .unwrap();
        assert_eq!(outbox.bytes(), 5);
        assert_eq!(drain(&outbox), ["big.a", "big.b", "next"]);
    }

    #[test]
    fn the_outbox_is_bounded_in_bytes_and_files() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(
            dir.path(),
            OutboxLimits {
                max_bytes: 10,
                max_files: 2,
            },
        )
        .unwrap();
        assert_eq!(outbox.push("a", b"123456").unwrap(), Pushed::Queued);
        assert_eq!(outbox.push("b", b"123456").unwrap(), Pushed::Full);
        assert_eq!(outbox.push("c", b"1234").unwrap(), Pushed::Queued);
        assert_eq!(outbox.push("d", b"").unwrap(), Pushed::Full);
        assert!(matches!(
            outbox.push("../x", b"").unwrap_err(),
            OutboxError::BadId(_)
        ));
        assert!(outbox.push("", b"").is_err());
    }
}
