//! Fuzzes version semantics: any text parses as an advisory's version range and as a device's
//! version without panicking, and what parses compares consistently — a range answers for any
//! version, and version order is antisymmetric and reflexive.
#![no_main]

use ironward_intel::ti::version::{Version, VersionRange};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let text = String::from_utf8_lossy(input);
    // First line: a range; the next two: versions.
    let mut lines = text.splitn(3, '\n');
    let range = lines.next().unwrap_or_default();
    let first = lines.next().unwrap_or_default();
    let second = lines.next().unwrap_or_default();
    let range = VersionRange::parse(range);
    let a = Version::parse(first);
    let b = Version::parse(second);
    let _ = Version::parse_prefix(&text);
    for version in [&a, &b].into_iter().flatten() {
        assert_eq!(version.cmp(version), std::cmp::Ordering::Equal);
        let _ = version.to_string();
        if let Ok(range) = &range {
            let _ = range.contains(version);
        }
    }
    if let (Ok(a), Ok(b)) = (&a, &b) {
        assert_eq!(a.cmp(b), b.cmp(a).reverse(), "{a:?} {b:?}");
        assert_eq!(a == b, a.cmp(b).is_eq());
    }
});
