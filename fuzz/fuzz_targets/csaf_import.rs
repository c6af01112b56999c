//! Fuzzes the threat-intelligence source importers: any bytes as a CSAF advisory (and as a KEV
//! catalog and an ATT&CK bundle) import or are refused without panicking; what is imported has
//! CVE ids, bounded problems and, per CVE, one record.
#![no_main]

use ironward_intel::ti::{attack, csaf, kev};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    match csaf::import_bytes("fuzz.json", input) {
        Ok(advisory) => {
            assert!(!advisory.id.is_empty());
            assert!(advisory.problems.len() <= csaf::MAX_PROBLEMS);
            for (index, record) in advisory.records.iter().enumerate() {
                assert!(record.cve.starts_with("CVE-"));
                assert_eq!(record.advisories, [advisory.id.clone()]);
                assert!(advisory.records[..index].iter().all(|r| r.cve != record.cve));
                if let Some(score) = record.cvss_score {
                    assert!((0.0..=10.0).contains(&score));
                }
            }
        }
        Err(error) => assert_eq!(error.0.file, "fuzz.json"),
    }
    if let Ok(catalog) = kev::parse("fuzz.json", input) {
        assert!(catalog.problems.len() <= kev::MAX_PROBLEMS);
        let mut records = Vec::new();
        let summary = kev::attach(&mut records, &catalog);
        assert_eq!(summary.added, catalog.items.len());
    }
    if let Ok(catalog) = attack::parse("fuzz.json", input) {
        assert!(catalog.techniques.windows(2).all(|w| w[0].id < w[1].id));
    }
});
