//! What every source importer shares: the problem report naming file and field, and reading a
//! hostile JSON file within a size bound.

use std::fmt;
use std::io::Read;
use std::path::Path;

use serde_json::Value;

/// Something wrong in a source file, skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceProblem {
    /// The file.
    pub file: String,
    /// The JSON field path (`vulnerabilities[2].scores[0].cvss_v3.baseScore`), or `` for the
    /// file as a whole.
    pub field: String,
    /// What is wrong and what was skipped.
    pub message: String,
}

impl SourceProblem {
    /// A problem at `field` of `file`.
    pub fn new(file: &str, field: &str, message: String) -> Self {
        Self {
            file: file.to_owned(),
            field: field.to_owned(),
            message,
        }
    }
}

impl fmt::Display for SourceProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}: {}: {}", self.file, self.field, self.message)
        }
    }
}

/// Reads at most `max_bytes + 1` bytes of `path` (one more than allowed, so that
/// [`parse_json`] can say the file is too large); the name it gives is the path as text.
pub(crate) fn read_bounded(
    path: &Path,
    max_bytes: u64,
) -> Result<(String, Vec<u8>), SourceProblem> {
    let name = path.display().to_string();
    let fail = |message: String| SourceProblem::new(&name, "", message);
    let file = std::fs::File::open(path).map_err(|e| fail(format!("cannot open: {e}")))?;
    let mut bytes = Vec::new();
    file.take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(format!("cannot read: {e}")))?;
    Ok((name, bytes))
}

/// Parses a JSON document of at most `max_bytes` (nesting is bounded by serde_json's recursion
/// limit); `consequence` ends the size message (`, skipped` where a file is one of many).
pub(crate) fn parse_json(
    file: &str,
    bytes: &[u8],
    max_bytes: u64,
    consequence: &str,
) -> Result<Value, SourceProblem> {
    if bytes.len() as u64 > max_bytes {
        return Err(SourceProblem::new(
            file,
            "",
            format!("larger than {} MiB{consequence}", max_bytes >> 20),
        ));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| SourceProblem::new(file, "", format!("not valid JSON: {e}")))
}
