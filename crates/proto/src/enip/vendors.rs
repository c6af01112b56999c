//! The CIP vendor id → name table (Identity object attribute 1, ListIdentity vendor id), shipped
//! as `data/cip_vendors.csv` (its first line names the public source) and parsed once.

use crate::id_table::IdTable;

/// The table as shipped: a `#` comment line, then `id,name` rows (names with commas quoted).
static TABLE: IdTable = IdTable::new(include_str!("../../data/cip_vendors.csv"));

/// The vendor name of a CIP vendor id, when the table knows it.
pub fn vendor_name(id: u16) -> Option<&'static str> {
    TABLE.name(u64::from(id))
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
