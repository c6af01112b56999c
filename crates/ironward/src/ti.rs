//! `ironward ti`: threat-intelligence packages — make a signing key, build a signed package from
//! public sources, verify one, show what one says about itself.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use ironward_intel::ti::assemble::{assemble, Sources};
use ironward_intel::ti::package::{self, Package, PackageInfo};
use ironward_intel::ti::sign::{self, KeyId};

/// Most skipped-source problems printed; the rest are counted.
const MAX_PROBLEMS_SHOWN: usize = 20;

/// Threat-intelligence packages: keygen, build, verify, info.
#[derive(Debug, Args)]
pub(crate) struct TiArgs {
    #[command(subcommand)]
    command: TiCommand,
}

#[derive(Debug, Subcommand)]
enum TiCommand {
    /// Make an Ed25519 signing key: the private key to KEYFILE (PKCS#8 PEM, mode 0600), the
    /// public key to KEYFILE.pub (what sensors and `ti verify` check packages with).
    Keygen {
        /// The private key file to create (never overwritten).
        #[arg(long, value_name = "KEYFILE")]
        out: PathBuf,
    },
    /// Build a signed package from CISA's CSAF advisories and KEV catalog (and optionally
    /// MITRE ATT&CK for ICS and an IoC list); malformed sources are reported and skipped.
    Build(BuildArgs),
    /// Check a package's signature against a public key: exit status 0 only for a valid package.
    Verify {
        /// The package.
        package: PathBuf,
        /// The public key (KEYFILE.pub from `ti keygen`).
        #[arg(long, value_name = "KEYFILE.pub")]
        pubkey: PathBuf,
    },
    /// Show a package's header (build time, sequence, counts, sources) without a key: not
    /// verified.
    Info {
        /// The package.
        package: PathBuf,
    },
}

#[derive(Debug, Args)]
struct BuildArgs {
    /// Directory of CSAF 2.0 advisories (searched recursively for *.json).
    #[arg(long, value_name = "DIR")]
    csaf: PathBuf,
    /// CISA's known_exploited_vulnerabilities.json.
    #[arg(long, value_name = "FILE")]
    kev: PathBuf,
    /// MITRE's ATT&CK for ICS bundle (ics-attack.json); its LICENSE.txt beside it is carried.
    #[arg(long, value_name = "FILE")]
    attack: Option<PathBuf>,
    /// An IoC list (CSV: kind,value,severity,name,techniques,reference,description).
    #[arg(long, value_name = "FILE")]
    iocs: Option<PathBuf>,
    /// The private signing key (from `ti keygen`).
    #[arg(long, value_name = "KEYFILE")]
    key: PathBuf,
    /// Where to write the package; a directory gets the dated name (ironward-ti-YYYY-MM-DD.pkg).
    #[arg(long, value_name = "PKG")]
    out: PathBuf,
}

/// Runs `ironward ti …`.
pub(crate) fn run(args: TiArgs) -> Result<ExitCode> {
    match args.command {
        TiCommand::Keygen { out } => keygen(out),
        TiCommand::Build(args) => build(args),
        TiCommand::Verify { package, pubkey } => verify(package, pubkey),
        TiCommand::Info { package } => info(package),
    }
}

fn keygen(out: PathBuf) -> Result<ExitCode> {
    let key = sign::generate()?;
    let public = sign::write_key_pair(&key, &out)?;
    println!("private key: {} (mode 0600, keep it secret)", out.display());
    println!("public key:  {}", public.display());
    println!("key id:      {}", KeyId::of(&key.verifying_key()));
    Ok(ExitCode::SUCCESS)
}

fn build(args: BuildArgs) -> Result<ExitCode> {
    let started = Instant::now();
    // The key first: a build that cannot be signed should not spend time reading sources.
    let key = sign::read_signing_key(&args.key)?;
    let assembled = assemble(&Sources {
        csaf_dir: args.csaf,
        kev_file: args.kev,
        attack_file: args.attack,
        iocs_file: args.iocs,
    })?;
    let report = &assembled.report;
    let (info, bytes) = package::build(
        &assembled.contents,
        assembled.sources.clone(),
        assembled.notices.clone(),
        time::OffsetDateTime::now_utc(),
        &key,
    )?;
    let out = if args.out.is_dir() {
        args.out.join(&info.name)
    } else {
        args.out
    };
    package::write_package(&out, &bytes)?;

    println!("package:      {} ({} bytes)", out.display(), bytes.len());
    println!(
        "built at:     {} (sequence {})",
        info.built_at, info.sequence
    );
    println!("signed by:    key id {}", info.key_id);
    println!(
        "advisories:   {} files read, {} imported, {} skipped",
        report.advisory_files, report.advisories, report.advisories_skipped
    );
    println!(
        "CVEs:         {} from advisories, {} in all, {} affected products",
        report.advisory_cves, info.counts.vulnerabilities, info.counts.affected_products
    );
    println!(
        "KEV:          {} entries; {} advisory CVEs flagged known exploited, {} KEV-only records, {} with ransomware use",
        report.kev_entries, report.kev.flagged, report.kev.added, report.kev.ransomware
    );
    println!("techniques:   {}", report.techniques);
    println!(
        "IoCs:         {} ({} lines skipped)",
        report.iocs,
        report.ioc_issues.len()
    );
    let problems = report.problems.len() + report.problems_not_kept;
    println!("problems:     {problems} (skipped, see below)");
    for problem in report.problems.iter().take(MAX_PROBLEMS_SHOWN) {
        println!("  skipped: {problem}");
    }
    for issue in report.ioc_issues.iter().take(MAX_PROBLEMS_SHOWN) {
        println!("  skipped: {issue}");
    }
    if problems > MAX_PROBLEMS_SHOWN {
        println!("  … and {} more", problems - MAX_PROBLEMS_SHOWN);
    }
    println!("time:         {:.2} s", started.elapsed().as_secs_f64());
    Ok(ExitCode::SUCCESS)
}

fn verify(path: PathBuf, pubkey: PathBuf) -> Result<ExitCode> {
    let key = sign::read_verifying_key(&pubkey)?;
    match Package::open(&path, &key) {
        Ok(package) => {
            let info = package.info();
            println!(
                "valid: {} signed by key id {}, built {} (sequence {}), {} vulnerabilities, {} techniques, {} IoCs",
                path.display(),
                info.key_id,
                info.built_at,
                info.sequence,
                info.counts.vulnerabilities,
                info.counts.techniques,
                info.counts.iocs
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            eprintln!("invalid: {}: {error}", path.display());
            Ok(ExitCode::from(1))
        }
    }
}

fn info(path: PathBuf) -> Result<ExitCode> {
    let (info, key_id) =
        package::read_info_unverified(&path).with_context(|| format!("{}", path.display()))?;
    print_info(&info, key_id);
    Ok(ExitCode::SUCCESS)
}

fn print_info(info: &PackageInfo, key_id: KeyId) {
    println!("NOT VERIFIED: header as the file states it; check it with `ironward ti verify`");
    println!("name:          {}", info.name);
    println!("format:        {}", info.format);
    println!("built at:      {}", info.built_at);
    println!("sequence:      {}", info.sequence);
    println!("key id:        {key_id}");
    let counts = &info.counts;
    println!("vulnerabilities: {}", counts.vulnerabilities);
    println!("  affected products: {}", counts.affected_products);
    println!("  known exploited:   {}", counts.known_exploited);
    println!("  advisories:        {}", counts.advisories);
    println!("techniques:    {}", counts.techniques);
    println!("IoCs:          {}", counts.iocs);
    println!("sources:");
    for source in &info.sources {
        println!("  {}: {} — {}", source.kind, source.location, source.detail);
    }
    if !info.notices.is_empty() {
        println!("notices:");
        for notice in &info.notices {
            if let Some(first) = notice.lines().find(|l| !l.trim().is_empty()) {
                println!("  {}", first.trim());
            }
        }
    }
}
