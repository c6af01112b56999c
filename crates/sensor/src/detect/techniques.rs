//! The MITRE ATT&CK for ICS techniques the engines name, read from the intel package's catalog
//! (`crates/intel/data/attack_ics.csv`: id, name).

use std::collections::HashMap;
use std::sync::OnceLock;

use ironward_model::Technique;

/// The catalog, compiled in.
pub const CATALOG: &str = include_str!("../../../intel/data/attack_ics.csv");

fn names() -> &'static HashMap<&'static str, &'static str> {
    static NAMES: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    NAMES.get_or_init(|| {
        CATALOG
            .lines()
            .skip(1)
            .filter_map(|line| line.split_once(','))
            .map(|(id, name)| (id.trim(), name.trim()))
            .collect()
    })
}

/// Whether `id` is in the catalog.
pub fn is_known(id: &str) -> bool {
    names().contains_key(id)
}

/// The catalog's own copy of `id` (so that engines can hold technique ids without owning them),
/// or `None` when it is not in the catalog.
pub(crate) fn static_id(id: &str) -> Option<&'static str> {
    names().get_key_value(id).map(|(&id, _)| id)
}

/// The technique with this id (its name from the catalog; the id itself when unknown).
pub fn technique(id: &str) -> Technique {
    Technique {
        id: id.to_owned(),
        name: names().get(id).copied().unwrap_or(id).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_catalog_names_the_techniques() {
        assert_eq!(super::technique("T0843").name, "Program Download");
        assert!(super::is_known("T0846"));
        assert!(!super::is_known("T9999"));
    }
}
