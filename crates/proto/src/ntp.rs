//! ntp dissector (being written).

use crate::DissectorRegistry;

/// Adds this module's dissectors to `registry`.
pub fn register(registry: &mut DissectorRegistry) {
    let _ = registry;
}
