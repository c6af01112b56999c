//! `ironward`: agentless security monitoring for OT and enterprise IoT networks.
//!
//! The binary is wiring only: each subcommand lives in its own module and calls the library
//! crates.

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod analyze;
mod console_store;
mod demo;
mod output;
mod report;
mod sensor;
mod serve;
mod synth;
mod ti;
mod users;

/// Agentless security monitoring for OT (industrial control) and enterprise IoT networks.
///
/// Ironward listens passively — to capture files or a SPAN/TAP interface — and discovers every
/// device and conversation. It never sends anything to the monitored network.
#[derive(Debug, Parser)]
#[command(name = "ironward", version, propagate_version = true)]
struct Cli {
    /// More logging on standard error (-v info, -vv debug, -vvv trace). `RUST_LOG` overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Analyse capture files (or a live interface): devices, connections and statistics.
    Analyze(analyze::AnalyzeArgs),
    /// Generate captures: the shipped demo capture, or large benchmark captures from real ones.
    Synth(synth::SynthArgs),
    /// Capture (files or an interface) and stream to a console through a durable outbox.
    Sensor(sensor::SensorArgs),
    /// The console: inventory, map, API and users over HTTPS, optionally with an embedded
    /// sensor.
    Serve(serve::ServeArgs),
    /// The console filled from the shipped demo plant, with an administrator ready.
    Demo(demo::DemoArgs),
    /// Console users: add, passwd, list.
    User(users::UserArgs),
    /// Console API tokens.
    Token(users::TokenArgs),
    /// Threat-intelligence packages: keygen, build (CSAF, KEV, ATT&CK for ICS), verify, info.
    Ti(ti::TiArgs),
    /// Reports from the console's store: the risk assessment report as PDF or HTML.
    Report(report::ReportArgs),
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let result = match cli.command {
        Command::Analyze(args) => analyze::run(args),
        Command::Synth(args) => synth::run(args).map(|()| ExitCode::SUCCESS),
        Command::Sensor(args) => sensor::run(args),
        Command::Serve(args) => serve::run(args).map(|()| ExitCode::SUCCESS),
        Command::Demo(args) => demo::run(args).map(|()| ExitCode::SUCCESS),
        Command::User(args) => users::run_user(args).map(|()| ExitCode::SUCCESS),
        Command::Token(args) => users::run_token(args).map(|()| ExitCode::SUCCESS),
        Command::Ti(args) => ti::run(args),
        Command::Report(args) => report::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            // A closed pipe (`ironward analyze x | head`) is not an error worth reporting.
            if err
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return ExitCode::SUCCESS;
            }
            let _ = writeln!(std::io::stderr(), "error: {err:#}");
            ExitCode::from(1)
        }
    }
}
