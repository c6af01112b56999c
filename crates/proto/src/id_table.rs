//! Vendor-id tables shipped as data files (`crates/proto/data/*.csv`): a `#` comment line naming
//! the public source, then `id,name` rows (names with commas quoted). Each table is parsed once,
//! on first use, into a sorted vector looked up by binary search; names stay borrowed from the
//! embedded text.

use std::sync::OnceLock;

/// An embedded id → name table.
pub struct IdTable {
    text: &'static str,
    rows: OnceLock<Vec<(u32, &'static str)>>,
}

impl IdTable {
    /// A table over embedded CSV text (parsed on first lookup).
    pub const fn new(text: &'static str) -> Self {
        Self {
            text,
            rows: OnceLock::new(),
        }
    }

    fn rows(&self) -> &[(u32, &'static str)] {
        self.rows.get_or_init(|| {
            let mut rows: Vec<(u32, &'static str)> = self
                .text
                .lines()
                .filter(|line| !line.starts_with('#'))
                .filter_map(|line| {
                    let (id, name) = line.split_once(',')?;
                    let name = name.trim();
                    let name = name
                        .strip_prefix('"')
                        .and_then(|n| n.strip_suffix('"'))
                        .unwrap_or(name);
                    Some((id.trim().parse().ok()?, name))
                })
                .collect();
            rows.sort_unstable_by_key(|&(id, _)| id);
            rows.dedup_by_key(|row| row.0);
            rows
        })
    }

    /// The name of `id`, when the table knows it.
    pub fn name(&self, id: u64) -> Option<&'static str> {
        let id = u32::try_from(id).ok()?;
        let rows = self.rows();
        rows.binary_search_by_key(&id, |&(id, _)| id)
            .ok()
            .and_then(|i| rows.get(i))
            .map(|&(_, name)| name)
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows().len()
    }

    /// Whether the table has no row.
    pub fn is_empty(&self) -> bool {
        self.rows().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_quotes_and_lookups() {
        static TABLE: IdTable =
            IdTable::new("# source: a test\n3,\"Acme, Inc.\"\n1,First\n1,Again\nx,bad\n");
        assert_eq!(TABLE.len(), 2);
        assert_eq!(TABLE.name(3), Some("Acme, Inc."));
        assert_eq!(TABLE.name(1), Some("First"));
        assert_eq!(TABLE.name(2), None);
        assert_eq!(TABLE.name(u64::MAX), None);
    }
}
