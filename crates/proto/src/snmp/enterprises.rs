//! Vendors by IANA private enterprise number (PEN, the `<n>` of `1.3.6.1.4.1.<n>`): the
//! numbers that SNMP sysObjectIDs, v1 trap enterprises and SNMPv3 engine ids carry.
//!
//! About 182 network, printer, camera, phone, UPS, storage, building-automation and
//! industrial vendors commonly seen on enterprise and OT networks, in the data file
//! `crates/proto/data/iana_enterprises.csv` (its first line names the source). Every number was checked
//! against the IANA registry (as shipped with Wireshark, `enterprises.tsv`); names are the
//! short names people use (`Cisco` for `ciscoSystems`). Companies with several numbers
//! (Siemens, Red Lion, Juniper, Brocade, F5, WAGO, ...) appear under each.
//!
//! Numbers that name agent software or an operating system rather than a hardware maker
//! (net-snmp, ucd-snmp, bsnmpd, Microsoft's Windows agent, the BSDs) say so by their
//! [`Origin`]: they must not become the device's vendor (a NAS answering with net-snmp is no
//! net-snmp device).

/// What an enterprise number tells about a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The maker of the device.
    Vendor,
    /// The SNMP agent software (the device's maker is unknown).
    Software,
    /// The operating system.
    Os,
}

use std::sync::OnceLock;

/// The table as shipped: a `#` comment naming the source, then `number,name,origin` rows.
const TABLE: &str = include_str!("../../data/iana_enterprises.csv");

/// The rows of [`TABLE`], sorted by number, parsed once.
fn rows() -> &'static [(u32, &'static str, Origin)] {
    static ROWS: OnceLock<Vec<(u32, &'static str, Origin)>> = OnceLock::new();
    ROWS.get_or_init(|| {
        let mut rows: Vec<(u32, &'static str, Origin)> = TABLE
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| {
                let (number, rest) = line.split_once(',')?;
                let (name, origin) = rest.rsplit_once(',')?;
                let name = name.trim();
                let name = name
                    .strip_prefix('"')
                    .and_then(|n| n.strip_suffix('"'))
                    .unwrap_or(name);
                let origin = match origin.trim() {
                    "vendor" => Origin::Vendor,
                    "software" => Origin::Software,
                    "os" => Origin::Os,
                    _ => return None,
                };
                Some((number.trim().parse().ok()?, name, origin))
            })
            .collect();
        rows.sort_unstable_by_key(|row| row.0);
        rows.dedup_by_key(|row| row.0);
        rows
    })
}

/// The name and origin of an enterprise number, if the table has it.
pub fn lookup(number: u64) -> Option<(&'static str, Origin)> {
    let number = u32::try_from(number).ok()?;
    let rows = rows();
    let index = rows.binary_search_by_key(&number, |(n, _, _)| *n).ok()?;
    rows.get(index).map(|(_, name, origin)| (*name, *origin))
}

#[cfg(test)]
mod tests {
    use super::*;

    use Origin::{Os, Software, Vendor};

    #[test]
    fn every_row_parses_and_is_found() {
        let lines = TABLE.lines().filter(|l| !l.starts_with('#')).count();
        assert_eq!(
            rows().len(),
            lines,
            "a row did not parse or repeats a number"
        );
        assert!(rows().len() >= 150);
        for (number, name, origin) in rows() {
            assert_eq!(lookup(u64::from(*number)), Some((*name, *origin)));
        }
        assert_eq!(lookup(9), Some(("Cisco", Vendor)));
        assert_eq!(lookup(2636), Some(("Juniper Networks", Vendor)));
        assert_eq!(lookup(8072), Some(("net-snmp", Software)));
        assert_eq!(lookup(311), Some(("Windows", Os)));
        assert_eq!(lookup(31337), None);
        assert_eq!(lookup(u64::MAX), None);
    }
}
