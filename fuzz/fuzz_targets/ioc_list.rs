//! Fuzzes the IoC list loader: any bytes parse without panicking, within the documented bounds,
//! and every entry kept is found again by the lookup of its own kind.
#![no_main]

use std::net::IpAddr;

use ironward_intel::ioc::{IocKind, IocSet, MAX_ENTRIES, MAX_ISSUES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let parsed = IocSet::parse("fuzz.csv", input);
    assert!(parsed.issues.len() <= MAX_ISSUES);
    let set = &parsed.set;
    assert!(set.len() <= MAX_ENTRIES);
    for (index, ioc) in set.entries().iter().enumerate() {
        let found = match ioc.kind {
            IocKind::Ip => {
                // The network address of a block is covered by it (or by a longer prefix).
                let address = ioc.value.split('/').next().unwrap_or_default();
                let ip: IpAddr = address.parse().expect("a kept address parses");
                set.match_ip(ip)
            }
            IocKind::Domain => set.match_domain(ioc.value.trim_start_matches("*.")),
            IocKind::Ja3 => set.match_ja3(&ioc.value),
            IocKind::Ja4 => set.match_ja4(&ioc.value),
            IocKind::Sha256 => set.match_sha256(&ioc.value),
        };
        let (at, _) = found.expect("a kept entry is found by its own value");
        if matches!(ioc.kind, IocKind::Ja3 | IocKind::Ja4 | IocKind::Sha256) {
            assert_eq!(at, index);
        }
    }
    // Lookups of arbitrary text never panic.
    if let Ok(text) = std::str::from_utf8(input) {
        let _ = set.match_domain(text);
        let _ = set.match_ja3(text);
        let _ = set.match_ja4(text);
        let _ = set.match_sha256(text);
    }
});
