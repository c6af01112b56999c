//! `ironward ti keygen | build | verify | info` on real advisories from
//! `$IRONWARD_DATA/intel` (default `../shared/data/intel`) plus a malformed one.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn ironward() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ironward"))
}

fn run(args: &[&std::ffi::OsStr]) -> Output {
    ironward().args(args).output().expect("run ironward")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn intel_dir() -> PathBuf {
    match std::env::var_os("IRONWARD_DATA") {
        Some(dir) => PathBuf::from(dir).join("intel"),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/intel"),
    }
}

#[test]
fn keygen_build_verify_and_info() {
    let intel = intel_dir();
    let white = intel.join("csaf/csaf_files/OT/white");
    if !white.is_dir() {
        println!("skipped: {} not found (set IRONWARD_DATA)", white.display());
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let csaf = dir.path().join("csaf");
    std::fs::create_dir(&csaf).expect("mkdir");
    // One advisory per vendor (Siemens, Schneider Electric, Rockwell Automation) and a broken one.
    for file in [
        "2022/icsa-22-104-08.json",
        "2024/icsa-24-011-05.json",
        "2024/icsa-24-030-05.json",
    ] {
        let name = file.rsplit('/').next().expect("name");
        std::fs::copy(white.join(file), csaf.join(name)).expect("copy");
    }
    std::fs::write(
        csaf.join("broken.json"),
        b"{\"document\": {\"tracking\": {}}}",
    )
    .expect("write");

    let key = dir.path().join("ti.key");
    let keygen = run(&[
        "ti".as_ref(),
        "keygen".as_ref(),
        "--out".as_ref(),
        key.as_os_str(),
    ]);
    assert!(keygen.status.success(), "{}", text(&keygen));
    assert!(text(&keygen).contains("key id:"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).expect("key").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let public = dir.path().join("ti.key.pub");
    assert!(std::fs::read_to_string(&public)
        .expect("public key")
        .starts_with("-----BEGIN PUBLIC KEY-----"));
    let again = run(&[
        "ti".as_ref(),
        "keygen".as_ref(),
        "--out".as_ref(),
        key.as_os_str(),
    ]);
    assert!(!again.status.success());
    assert!(
        text(&again).contains("never overwritten"),
        "{}",
        text(&again)
    );

    let built = run(&[
        "ti".as_ref(),
        "build".as_ref(),
        "--csaf".as_ref(),
        csaf.as_os_str(),
        "--kev".as_ref(),
        intel
            .join("kev/known_exploited_vulnerabilities.json")
            .as_os_str(),
        "--attack".as_ref(),
        intel.join("attack/ics-attack.json").as_os_str(),
        "--key".as_ref(),
        key.as_os_str(),
        "--out".as_ref(),
        dir.path().as_os_str(),
    ]);
    let summary = text(&built);
    assert!(built.status.success(), "{summary}");
    assert!(
        summary.contains("4 files read, 3 imported, 1 skipped"),
        "{summary}"
    );
    assert!(
        summary.contains("broken.json: document.tracking.id: missing"),
        "{summary}"
    );
    assert!(summary.contains("techniques:   83"), "{summary}");
    // ICSA-22-104-08 has 3 CVEs, ICSA-24-011-05 and ICSA-24-030-05 one each; none is in KEV.
    assert!(
        summary.contains("CVEs:         5 from advisories"),
        "{summary}"
    );
    assert!(
        summary.contains("1404 entries; 0 advisory CVEs flagged"),
        "{summary}"
    );
    let today = time::OffsetDateTime::now_utc().date();
    let name = format!(
        "ironward-ti-{:04}-{:02}-{:02}.pkg",
        today.year(),
        u8::from(today.month()),
        today.day()
    );
    let package = dir.path().join(&name);
    assert!(package.is_file(), "{summary}");

    let verify = |package: &Path, public: &Path| {
        run(&[
            "ti".as_ref(),
            "verify".as_ref(),
            package.as_os_str(),
            "--pubkey".as_ref(),
            public.as_os_str(),
        ])
    };
    let valid = verify(&package, &public);
    assert!(valid.status.success(), "{}", text(&valid));
    assert!(text(&valid).starts_with("valid: "), "{}", text(&valid));

    let other = dir.path().join("other.key");
    assert!(run(&[
        "ti".as_ref(),
        "keygen".as_ref(),
        "--out".as_ref(),
        other.as_os_str()
    ])
    .status
    .success());
    let wrong = verify(&package, &dir.path().join("other.key.pub"));
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        text(&wrong).contains("signed by another key"),
        "{}",
        text(&wrong)
    );

    let mut bytes = std::fs::read(&package).expect("package");
    let last = bytes.len() - 1;
    bytes[last] ^= 0x80;
    let damaged = dir.path().join("damaged.pkg");
    std::fs::write(&damaged, &bytes).expect("write");
    let refused = verify(&damaged, &public);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused).contains("signature invalid"),
        "{}",
        text(&refused)
    );

    let info = run(&["ti".as_ref(), "info".as_ref(), package.as_os_str()]);
    let shown = text(&info);
    assert!(info.status.success(), "{shown}");
    assert!(shown.starts_with("NOT VERIFIED"), "{shown}");
    assert!(shown.contains(&format!("name:          {name}")), "{shown}");
    assert!(shown.contains("techniques:    83"), "{shown}");
    assert!(
        shown.contains("Copyright 2015-2025, The MITRE Corporation"),
        "{shown}"
    );
    assert!(shown.contains("csaf: "), "{shown}");
    let garbage = dir.path().join("garbage.pkg");
    std::fs::write(&garbage, b"not a package").expect("write");
    let refused = run(&["ti".as_ref(), "info".as_ref(), garbage.as_os_str()]);
    assert!(!refused.status.success());
    assert!(text(&refused).contains("bad magic"), "{}", text(&refused));
}
