//! Fuzzes threat-intelligence package parsing with a fixed test key. The first byte chooses what
//! the rest is: 0 — a whole package file (the frame and signature checks); 1 — a 2-byte header
//! length, a header and a raw payload, sealed with the key (the header JSON and the inflater
//! behind the signature); otherwise — payload JSON, compressed and sealed under a valid header
//! (the contents parser and the IoC list inside). Nothing panics; a package that opens is
//! consistent with its own header.
#![no_main]

use std::io::Write;

use ironward_intel::ti::package::{info_unverified, seal, Package};
use ironward_intel::ti::sign::SigningKey;
use libfuzzer_sys::fuzz_target;

const HEADER: &str = r#"{"format":1,"name":"ironward-ti-2026-12-07.pkg","built_at":"2026-12-07T00:00:00Z","sequence":1796601600,"key_id":"","counts":{"vulnerabilities":0,"affected_products":0,"known_exploited":0,"advisories":0,"techniques":0,"iocs":0}}"#;

fuzz_target!(|input: &[u8]| {
    let key = SigningKey::from_bytes(&[7; 32]);
    let Some((&mode, rest)) = input.split_first() else {
        return;
    };
    let bytes = match mode {
        0 => rest.to_vec(),
        1 => {
            let Some((length, rest)) = rest.split_first_chunk::<2>() else {
                return;
            };
            let length = usize::from(u16::from_be_bytes(*length)).min(rest.len());
            let (header, payload) = rest.split_at(length);
            seal(header, payload, &key)
        }
        _ => {
            let mut encoder =
                flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            encoder.write_all(rest).expect("in memory");
            seal(HEADER.as_bytes(), &encoder.finish().expect("in memory"), &key)
        }
    };
    if let Ok(package) = Package::from_bytes(&bytes, &key.verifying_key()) {
        let (info, _) = info_unverified(&bytes).expect("a package that opens has a header");
        assert_eq!(&info, package.info());
        assert_eq!(
            package.info().counts.vulnerabilities,
            package.vulnerabilities().len() as u64
        );
        assert_eq!(package.info().counts.iocs, package.iocs().len() as u64);
    }
    let _ = info_unverified(&bytes);
});
