/*!
Assembling a package's contents from its source files: the CSAF advisories, the KEV catalog,
optionally the ATT&CK for ICS bundle and an IoC list, and the repository's own ICS attack
patterns and device profiles. What `ironward ti build` runs before it signs.

A bad advisory, catalog entry, technique or IoC line is a problem in the report and is skipped;
only a source that cannot be read at all (the KEV catalog, the ATT&CK bundle, the IoC file)
stops the build, because a package silently missing a whole source would look complete.
*/

use std::io::Read;
use std::path::{Path, PathBuf};

use super::attack;
use super::csaf::{self, SourceProblem};
use super::kev;
use super::package::{iocs_to_csv, PackageContents, SourceSummary, BUILTIN_ICS_ATTACK_PATTERNS};
use crate::ioc::{IocIssue, IocSet};

/// Largest licence file carried along with the ATT&CK catalog.
const MAX_LICENSE_BYTES: u64 = 64 << 10;

/// The source files of a package.
#[derive(Debug, Clone)]
pub struct Sources {
    /// A directory of CSAF advisories (searched recursively for `*.json`).
    pub csaf_dir: PathBuf,
    /// CISA's `known_exploited_vulnerabilities.json`.
    pub kev_file: PathBuf,
    /// MITRE's `ics-attack.json`; its `LICENSE.txt`, when beside it, travels in the package.
    pub attack_file: Option<PathBuf>,
    /// An IoC list (the CSV format of [`crate::ioc`]).
    pub iocs_file: Option<PathBuf>,
}

/// Contents ready to sign, and what happened on the way.
#[derive(Debug, Clone)]
pub struct Assembled {
    /// What the package carries.
    pub contents: PackageContents,
    /// Its sources, for the header.
    pub sources: Vec<SourceSummary>,
    /// Notices that must travel with it.
    pub notices: Vec<String>,
    /// What was read and skipped.
    pub report: AssemblyReport,
}

/// What was read and what was skipped, per source.
#[derive(Debug, Clone, Default)]
pub struct AssemblyReport {
    /// Advisory files found.
    pub advisory_files: usize,
    /// Advisories imported.
    pub advisories: usize,
    /// Advisory files skipped as a whole.
    pub advisories_skipped: usize,
    /// CVEs from advisories.
    pub advisory_cves: usize,
    /// Products in the imported advisories' product trees.
    pub products: usize,
    /// KEV catalog entries.
    pub kev_entries: usize,
    /// What attaching KEV did.
    pub kev: kev::KevSummary,
    /// Techniques in the catalog.
    pub techniques: usize,
    /// IoCs kept.
    pub iocs: usize,
    /// Problems in the advisories, the KEV catalog and the ATT&CK bundle.
    pub problems: Vec<SourceProblem>,
    /// Problems not kept (beyond the importers' caps).
    pub problems_not_kept: usize,
    /// Bad IoC lines.
    pub ioc_issues: Vec<IocIssue>,
}

/// Why a whole source could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AssembleError {
    /// The advisory directory is missing.
    #[error("{0}: not a directory of CSAF advisories")]
    NoCsafDir(PathBuf),
    /// The KEV catalog could not be read.
    #[error("KEV catalog: {0}")]
    Kev(#[from] kev::KevError),
    /// The ATT&CK bundle could not be read.
    #[error("ATT&CK bundle: {0}")]
    Attack(#[from] attack::AttackError),
    /// The IoC file could not be read.
    #[error("IoC list: {0}")]
    Iocs(std::io::Error),
}

/// Reads every source into package contents.
pub fn assemble(sources: &Sources) -> Result<Assembled, AssembleError> {
    if !sources.csaf_dir.is_dir() {
        return Err(AssembleError::NoCsafDir(sources.csaf_dir.clone()));
    }
    let catalog = kev::load(&sources.kev_file)?;
    let attack_catalog = match &sources.attack_file {
        Some(path) => Some(attack::load(path)?),
        None => None,
    };
    let ioc_parse = match &sources.iocs_file {
        Some(path) => Some(IocSet::load(path).map_err(AssembleError::Iocs)?),
        None => None,
    };

    let imported = csaf::import_dir(&sources.csaf_dir);
    let mut report = AssemblyReport {
        advisory_files: imported.files_read,
        advisories: imported.advisories,
        advisories_skipped: imported.files_skipped,
        advisory_cves: imported.records.len(),
        products: imported.products,
        kev_entries: catalog.items.len(),
        problems: imported.problems,
        problems_not_kept: imported.problems_not_kept,
        ..AssemblyReport::default()
    };
    let mut records = imported.records;
    report.kev = kev::attach(&mut records, &catalog);
    report.problems.extend(catalog.problems.iter().cloned());

    let mut summaries = vec![
        SourceSummary {
            kind: "csaf".into(),
            location: sources.csaf_dir.display().to_string(),
            detail: format!(
                "{} advisories imported, {} skipped, {} CVEs, {} products, newest release {}",
                report.advisories,
                report.advisories_skipped,
                report.advisory_cves,
                report.products,
                if imported.newest_release.is_empty() {
                    "unknown"
                } else {
                    &imported.newest_release
                }
            ),
        },
        SourceSummary {
            kind: "kev".into(),
            location: sources.kev_file.display().to_string(),
            detail: format!(
                "catalog {} released {}, {} entries: {} flag advisory records, {} kept as records of their own",
                or_unknown(&catalog.version),
                or_unknown(&catalog.released),
                catalog.items.len(),
                report.kev.flagged,
                report.kev.added
            ),
        },
    ];
    let mut notices = Vec::new();
    let mut techniques = Vec::new();
    if let (Some(path), Some(catalog)) = (&sources.attack_file, attack_catalog) {
        report.techniques = catalog.techniques.len();
        report.problems.extend(catalog.problems.iter().cloned());
        summaries.push(SourceSummary {
            kind: "attack".into(),
            location: path.display().to_string(),
            detail: format!(
                "{} techniques ({} revoked or deprecated skipped), newest modified {}",
                catalog.techniques.len(),
                catalog.inactive,
                or_unknown(&catalog.newest_modified)
            ),
        });
        if !catalog.notice.is_empty() {
            notices.push(catalog.notice.clone());
        }
        if let Some(license) = path.parent().map(|dir| dir.join("LICENSE.txt")) {
            if let Some(text) = read_small_text(&license) {
                notices.push(text);
            }
        }
        techniques = catalog.techniques;
    }
    let mut iocs_csv = String::new();
    if let (Some(path), Some(parse)) = (&sources.iocs_file, ioc_parse) {
        report.iocs = parse.set.len();
        summaries.push(SourceSummary {
            kind: "iocs".into(),
            location: path.display().to_string(),
            detail: format!(
                "{} indicators, {} lines skipped",
                parse.set.len(),
                parse.issues.len() as u64 + parse.issues_not_kept
            ),
        });
        report.ioc_issues = parse.issues;
        iocs_csv = iocs_to_csv(&parse.set);
    }
    summaries.push(SourceSummary {
        kind: "ics_attack_patterns".into(),
        location: "crates/intel/rules/ics_attacks.toml".into(),
        detail: "built into this version of Ironward".into(),
    });
    summaries.push(SourceSummary {
        kind: "device_profiles".into(),
        location: "crates/intel/rules/devices.toml".into(),
        detail: "built into this version of Ironward".into(),
    });
    Ok(Assembled {
        contents: PackageContents {
            vulnerabilities: records,
            techniques,
            iocs_csv,
            ics_attack_patterns: BUILTIN_ICS_ATTACK_PATTERNS.to_owned(),
            device_profiles: crate::rules::BUILTIN_RULES.to_owned(),
        },
        sources: summaries,
        notices,
        report,
    })
}

fn or_unknown(text: &str) -> &str {
    if text.is_empty() {
        "unknown"
    } else {
        text
    }
}

fn read_small_text(path: &Path) -> Option<String> {
    let file = std::fs::File::open(path).ok()?;
    let mut text = String::new();
    file.take(MAX_LICENSE_BYTES)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}
