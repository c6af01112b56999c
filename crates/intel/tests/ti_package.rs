//! Threat-intelligence packages: built from the shared sources in `$IRONWARD_DATA/intel`
//! (default `../shared/data/intel`), verified, and refused when damaged, signed by another key,
//! truncated or older than the package in force; keys interoperate with openssl.

use std::path::{Path, PathBuf};
use std::process::Command;

use ironward_intel::ti::assemble::{assemble, Sources};
use ironward_intel::ti::package::{
    build, info_unverified, Package, PackageContents, PackageError, MAGIC,
};
use ironward_intel::ti::sign::{self, KeyId, SigningKey};
use ironward_intel::vuln::{AffectedProduct, VulnRecord};

fn intel_dir() -> PathBuf {
    match std::env::var_os("IRONWARD_DATA") {
        Some(dir) => PathBuf::from(dir).join("intel"),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/intel"),
    }
}

fn test_key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn at(seconds: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(seconds).expect("time")
}

fn small_contents() -> PackageContents {
    PackageContents {
        vulnerabilities: vec![VulnRecord {
            cve: "CVE-2022-27481".into(),
            title: "Race condition".into(),
            cvss_score: Some(7.4),
            cvss_vector: None,
            cwe: vec!["CWE-362".into()],
            advisories: vec!["ICSA-22-104-08".into()],
            references: vec![],
            affected: vec![AffectedProduct {
                vendor: "Siemens".into(),
                product: "SCALANCE W1788-1 M12".into(),
                model_numbers: vec!["6GK5788-1GY01-0AA0".into()],
                versions: "<V3.0.0".into(),
                fixed_in: vec!["V3.0.0".into()],
            }],
            remediation: vec![],
            kev: None,
        }],
        techniques: vec![],
        iocs_csv: "kind,value,severity,name,techniques,reference,description\nip,198.51.100.0/24,critical,\"C2, stage 2\",T0869,,\n".into(),
        ics_attack_patterns: String::new(),
        device_profiles: String::new(),
    }
}

/// A small package built on 2026-12-07 and its parts' offsets: (bytes, header start, payload
/// start, signature start).
fn small_package(key: &SigningKey) -> (Vec<u8>, usize, usize, usize) {
    let (_, bytes) =
        build(&small_contents(), vec![], vec![], at(1_796_601_600), key).expect("build");
    let header_len = u32::from_be_bytes([bytes[18], bytes[19], bytes[20], bytes[21]]) as usize;
    let payload_start = 22 + header_len + 8;
    (bytes.clone(), 22, payload_start, bytes.len() - 64)
}

#[test]
fn a_package_round_trips_and_names_itself_by_date() {
    let key = test_key(7);
    let (bytes, ..) = small_package(&key);
    assert_eq!(&bytes[..8], MAGIC);
    let package = Package::from_bytes(&bytes, &key.verifying_key()).expect("valid");
    let info = package.info();
    assert_eq!(info.name, "ironward-ti-2026-12-07.pkg");
    assert_eq!(info.built_at, "2026-12-07T00:00:00Z");
    assert_eq!(info.sequence, 1_796_601_600);
    assert_eq!(info.key_id, KeyId::of(&key.verifying_key()).to_string());
    assert_eq!(info.counts.vulnerabilities, 1);
    assert_eq!(info.counts.affected_products, 1);
    assert_eq!(info.counts.iocs, 1);
    assert_eq!(package.vulnerabilities(), small_contents().vulnerabilities);
    let (index, ioc) = package
        .iocs()
        .match_ip("198.51.100.7".parse().expect("ip"))
        .expect("the package's IoC");
    assert_eq!(index, 0);
    assert_eq!(ioc.name, "C2, stage 2");
    let (unverified, key_id) = info_unverified(&bytes).expect("header");
    assert_eq!(&unverified, info);
    assert_eq!(key_id, KeyId::of(&key.verifying_key()));
}

#[test]
fn a_flipped_byte_anywhere_is_refused() {
    let key = test_key(7);
    let (bytes, header, payload, signature) = small_package(&key);
    let cases = [
        ("format version", 9),
        ("key id", 12),
        ("header", header + 5),
        ("payload", payload + 3),
        ("payload length", payload - 3),
        ("signature", signature + 10),
    ];
    for (part, offset) in cases {
        let mut damaged = bytes.clone();
        damaged[offset] ^= 0x01;
        let error = Package::from_bytes(&damaged, &key.verifying_key())
            .expect_err("a damaged package is refused");
        let expected = match part {
            "format version" => matches!(error, PackageError::UnsupportedFormat(0)),
            "key id" => matches!(error, PackageError::WrongKey { .. }),
            "payload length" => matches!(
                error,
                PackageError::Truncated {
                    part: "payload",
                    ..
                }
            ),
            _ => matches!(error, PackageError::SignatureInvalid),
        };
        assert!(expected, "{part}: {error}");
    }
    let mut not_a_package = bytes.clone();
    not_a_package[0] = b'X';
    assert!(matches!(
        Package::from_bytes(&not_a_package, &key.verifying_key()),
        Err(PackageError::BadMagic)
    ));
    let mut longer = bytes;
    longer.push(0);
    assert!(matches!(
        Package::from_bytes(&longer, &key.verifying_key()),
        Err(PackageError::TrailingBytes { extra: 1, .. })
    ));
}

#[test]
fn a_package_checked_against_another_key_is_refused() {
    let (bytes, ..) = small_package(&test_key(7));
    let other = test_key(8).verifying_key();
    let error = Package::from_bytes(&bytes, &other).expect_err("wrong key");
    assert!(matches!(error, PackageError::WrongKey { .. }), "{error}");
    assert!(
        error.to_string().contains("signed by another key"),
        "{error}"
    );
    // The same key id forged onto the other key's check: the signature still fails.
    let mut forged = bytes.clone();
    forged[10..18].copy_from_slice(&KeyId::of(&other).0);
    assert!(matches!(
        Package::from_bytes(&forged, &other),
        Err(PackageError::SignatureInvalid)
    ));
}

#[test]
fn a_truncated_package_is_refused_with_where_it_ends() {
    let key = test_key(7);
    let (bytes, _, payload, signature) = small_package(&key);
    for (length, part) in [
        (0, "magic"),
        (5, "magic"),
        (15, "frame prefix"),
        (40, "header"),
        (payload - 3, "payload length"),
        (payload + 10, "payload"),
        (signature + 63, "signature"),
    ] {
        let error =
            Package::from_bytes(&bytes[..length], &key.verifying_key()).expect_err("truncated");
        match &error {
            PackageError::Truncated { at, part: cut, .. } => {
                assert_eq!((*at, *cut), (length, part), "{error}");
                assert!(error
                    .to_string()
                    .contains(&format!("truncated at byte {length}")));
            }
            other => panic!("{length}: {other}"),
        }
    }
}

#[test]
fn an_older_or_equal_package_does_not_replace_the_one_in_force() {
    let key = test_key(7);
    let contents = small_contents();
    let (_, older) = build(&contents, vec![], vec![], at(1_796_601_600), &key).expect("build");
    let (_, newer) = build(&contents, vec![], vec![], at(1_796_688_000), &key).expect("build");
    let older = Package::from_bytes(&older, &key.verifying_key()).expect("older");
    let newer = Package::from_bytes(&newer, &key.verifying_key()).expect("newer");
    assert!(newer.install_over(None).is_ok());
    assert!(newer.install_over(Some(older.info())).is_ok());
    let error = older
        .install_over(Some(newer.info()))
        .expect_err("downgrade");
    assert!(matches!(
        error,
        PackageError::Downgrade {
            current_sequence: 1_796_688_000,
            offered_sequence: 1_796_601_600,
            ..
        }
    ));
    assert_eq!(
        error.to_string(),
        "downgrade refused: package ironward-ti-2026-12-07.pkg (sequence 1796601600) is not newer than ironward-ti-2026-12-08.pkg (sequence 1796688000) in force, which stays"
    );
    assert!(matches!(
        newer.install_over(Some(newer.info())),
        Err(PackageError::Downgrade { .. })
    ));
}

#[test]
fn keys_and_signatures_interoperate_with_openssl() {
    if Command::new("openssl").arg("version").output().is_err() {
        println!("skipped: openssl not found");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let private = dir.path().join("ti.key");
    let key = sign::generate().expect("key");
    let public = sign::write_key_pair(&key, &private).expect("write");
    // openssl reads our private key and derives the same public key file.
    let derived = Command::new("openssl")
        .args(["pkey", "-in"])
        .arg(&private)
        .arg("-pubout")
        .output()
        .expect("openssl pkey");
    assert!(
        derived.status.success(),
        "{}",
        String::from_utf8_lossy(&derived.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&derived.stdout),
        std::fs::read_to_string(&public).expect("public")
    );
    // openssl verifies a package's signature over its signed bytes with our public key.
    let (_, bytes) =
        build(&small_contents(), vec![], vec![], at(1_796_601_600), &key).expect("build");
    let (signed, signature) = bytes.split_at(bytes.len() - 64);
    std::fs::write(dir.path().join("signed"), signed).expect("write");
    std::fs::write(dir.path().join("signature"), signature).expect("write");
    let verify = |signature_file: &str| {
        Command::new("openssl")
            .args(["pkeyutl", "-verify", "-pubin", "-inkey"])
            .arg(&public)
            .arg("-rawin")
            .arg("-in")
            .arg(dir.path().join("signed"))
            .arg("-sigfile")
            .arg(dir.path().join(signature_file))
            .output()
            .expect("openssl pkeyutl")
    };
    let verified = verify("signature");
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stdout)
    );
    let mut bad = signature.to_vec();
    bad[0] ^= 1;
    std::fs::write(dir.path().join("bad"), &bad).expect("write");
    assert!(!verify("bad").status.success());
    // And a key openssl generated signs packages we verify.
    let openssl_key = dir.path().join("openssl.key");
    let made = Command::new("openssl")
        .args(["genpkey", "-algorithm", "ed25519", "-out"])
        .arg(&openssl_key)
        .output()
        .expect("openssl genpkey");
    assert!(made.status.success());
    let key = sign::read_signing_key(&openssl_key).expect("openssl's key reads");
    let (_, bytes) =
        build(&small_contents(), vec![], vec![], at(1_796_601_600), &key).expect("build");
    assert!(Package::from_bytes(&bytes, &key.verifying_key()).is_ok());
}

#[test]
fn a_package_from_the_shared_sources_carries_them() {
    let intel = intel_dir();
    let csaf_dir = intel.join("csaf/csaf_files/OT/white");
    if !csaf_dir.is_dir() {
        println!(
            "skipped: {} not found (set IRONWARD_DATA)",
            csaf_dir.display()
        );
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let iocs = dir.path().join("iocs.csv");
    std::fs::write(
        &iocs,
        "kind,value,severity,name,techniques,reference,description\n\
         domain,*.c2.example,critical,Example C2,T0869,,\n\
         ip,not-an-address,critical,Bad,,,\n",
    )
    .expect("iocs");
    let assembled = assemble(&Sources {
        csaf_dir,
        kev_file: intel.join("kev/known_exploited_vulnerabilities.json"),
        attack_file: Some(intel.join("attack/ics-attack.json")),
        iocs_file: Some(iocs),
    })
    .expect("assemble");
    let report = &assembled.report;
    assert_eq!(report.advisories, 719);
    assert_eq!(report.advisory_cves, 2_898);
    assert_eq!(report.kev.flagged, 28);
    // SOURCES.md: 83 active ATT&CK for ICS techniques, 12 revoked or deprecated.
    assert_eq!(report.techniques, 83);
    assert_eq!(report.iocs, 1);
    assert_eq!(report.ioc_issues.len(), 1);
    assert_eq!(report.ioc_issues[0].line, 3);
    assert!(report.problems.is_empty(), "{:?}", report.problems.first());

    let key = test_key(3);
    let (info, bytes) = build(
        &assembled.contents,
        assembled.sources.clone(),
        assembled.notices.clone(),
        at(1_796_601_600),
        &key,
    )
    .expect("build");
    let path = dir.path().join(&info.name);
    ironward_intel::ti::package::write_package(&path, &bytes).expect("write");
    let package = Package::open(&path, &key.verifying_key()).expect("open");
    let counts = package.info().counts;
    assert_eq!(counts.vulnerabilities, 2_898 + 1_404 - 28);
    assert_eq!(counts.known_exploited, 1_404);
    assert_eq!(counts.advisories, 719);
    assert_eq!(counts.techniques, 83);
    assert_eq!(counts.iocs, 1);
    assert_eq!(
        package.vulnerabilities(),
        assembled.contents.vulnerabilities
    );
    let program_download = package
        .techniques()
        .iter()
        .find(|t| t.id == "T0843")
        .expect("T0843");
    assert_eq!(program_download.name, "Program Download");
    assert_eq!(program_download.tactics, ["lateral-movement"]);
    assert_eq!(
        program_download.url,
        "https://attack.mitre.org/techniques/T0843"
    );
    assert!(package
        .info()
        .notices
        .iter()
        .any(|n| n.contains("Copyright 2015-2025, The MITRE Corporation")));
    assert!(package
        .info()
        .notices
        .iter()
        .any(|n| n.contains("hereby grants you a non-exclusive, royalty-free license")));
    assert!(package
        .ics_attack_patterns()
        .contains("malware.s7_plc_stop"));
    assert!(package.device_profiles().contains("[[rule]]"));
    let kinds: Vec<&str> = package
        .info()
        .sources
        .iter()
        .map(|s| s.kind.as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "csaf",
            "kev",
            "attack",
            "iocs",
            "ics_attack_patterns",
            "device_profiles"
        ]
    );
    assert!(package.info().sources[1]
        .detail
        .contains("catalog 2025.08.25"));
}
