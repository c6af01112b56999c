//! The CIP vendor id → name table (Identity object attribute 1, ListIdentity vendor id), shipped
//! as `data/cip_vendors.csv` (its first line names the public source) and parsed once.

use std::sync::OnceLock;

/// The table as shipped: a `#` comment line, then `id,name` rows (names with commas quoted).
const TABLE: &str = include_str!("../../data/cip_vendors.csv");

/// The vendor name of a CIP vendor id, when the table knows it.
pub fn vendor_name(id: u16) -> Option<&'static str> {
    static SORTED: OnceLock<Vec<(u32, &'static str)>> = OnceLock::new();
    let table = SORTED.get_or_init(|| {
        let mut rows: Vec<(u32, &'static str)> = TABLE
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
    });
    table
        .binary_search_by_key(&u32::from(id), |&(id, _)| id)
        .ok()
        .and_then(|i| table.get(i))
        .map(|&(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown_ids() {
        assert_eq!(vendor_name(1), Some("Rockwell Automation/Allen-Bradley"));
        assert_eq!(vendor_name(283), Some("Hilscher GmbH"));
        assert_eq!(vendor_name(88), Some("Industrial Indexing Systems, Inc."));
        assert_eq!(vendor_name(0), None);
        assert_eq!(vendor_name(65535), None);
    }
}
