//! `ironward report risk`: the risk assessment report of one site or of every site, written
//! as PDF or HTML from the console's store (the same report the console's UI downloads).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use ironward_console::report::{self, Format};
use ironward_store::{Scope, SiteId};

use crate::console_store::{runtime, StoreArgs};

/// Arguments of `ironward report`.
#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    #[command(subcommand)]
    command: ReportCommand,
}

#[derive(Debug, Subcommand)]
enum ReportCommand {
    /// The risk assessment report: scores, device ratings, unauthorized and unpatched devices,
    /// internet connections, unused ports, insecure protocols, vulnerabilities, inventory, map.
    Risk(RiskArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FormatArg {
    Pdf,
    Html,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  ironward report risk --site North --format pdf --out north.pdf --data /var/lib/ironward\n  ironward report risk --all --format html --out all.html --data /var/lib/ironward"
)]
struct RiskArgs {
    /// The site (by name) the report covers.
    #[arg(
        long,
        value_name = "S",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    site: Option<String>,
    /// Cover every site.
    #[arg(long)]
    all: bool,
    /// pdf or html.
    #[arg(long, value_enum)]
    format: FormatArg,
    /// Where to write the report.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    #[command(flatten)]
    store: StoreArgs,
}

/// Runs `ironward report ...`.
pub(crate) fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        ReportCommand::Risk(risk) => run_risk(risk),
    }
}

fn run_risk(args: RiskArgs) -> anyhow::Result<ExitCode> {
    let format = match args.format {
        FormatArg::Pdf => Format::Pdf,
        FormatArg::Html => Format::Html,
    };
    let started = Instant::now();
    let bytes = runtime()?.block_on(async {
        let store = args.store.open().await?;
        let site = match &args.site {
            Some(name) => {
                let sites = store.list_sites(&Scope::All).await?;
                match sites.iter().find(|s| &s.name == name) {
                    Some(site) => Some(site.id),
                    None => {
                        let known: Vec<&str> = sites.iter().map(|s| s.name.as_str()).collect();
                        return Ok::<_, anyhow::Error>(Err(format!(
                            "no site named {name:?} (sites: {})",
                            if known.is_empty() {
                                "none".to_owned()
                            } else {
                                known.join(", ")
                            }
                        )));
                    }
                }
            }
            None => None::<SiteId>,
        };
        let now = ironward_console::state::now();
        let input = report::gather(&store, &Scope::All, site, now)
            .await
            .context("reading the posture from the store")?;
        let devices = input.assets.len();
        Ok(Ok((report::render(&input, format), devices)))
    })?;
    let (bytes, devices) = match bytes {
        Ok(done) => done,
        Err(message) => {
            let _ = writeln!(std::io::stderr(), "error: {message}");
            return Ok(ExitCode::from(2));
        }
    };
    std::fs::write(&args.out, &bytes).with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!(
        "wrote {} ({} bytes, {devices} devices) in {} ms",
        args.out.display(),
        bytes.len(),
        started.elapsed().as_millis()
    );
    Ok(ExitCode::SUCCESS)
}
