//! `ironward synth`: captures Ironward makes itself, for the demo and for benchmarks.

use std::path::PathBuf;

use clap::{Args, Subcommand};

pub(crate) mod demo;
pub(crate) mod scale;

/// Arguments of `ironward synth`.
#[derive(Debug, Args)]
pub(crate) struct SynthArgs {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, Subcommand)]
enum What {
    /// The demo capture: a small plant network (Modbus, S7, EtherNet/IP, a router, a scan,
    /// IPv6 ND, mDNS, a VLAN with fragments), written as pcapng.
    Demo {
        /// Output file.
        #[arg(long, default_value = "testdata/demo.pcapng")]
        out: PathBuf,
    },
    /// A large pcap built from real captures by repeating their Ethernet frames with rewritten
    /// MAC and IPv4 addresses (checksums kept valid), for benchmarks.
    Scale {
        /// Directory searched recursively for pcap/pcapng files.
        #[arg(long)]
        from: PathBuf,
        /// At least this many packets (whole passes over the inputs).
        #[arg(long, default_value_t = 1_000_000)]
        packets: u64,
        /// Output file (pcap).
        #[arg(long)]
        out: PathBuf,
    },
}

/// Runs the command.
pub(crate) fn run(args: SynthArgs) -> anyhow::Result<()> {
    match args.what {
        What::Demo { out } => {
            let frames = demo::generate(&out)?;
            eprintln!("wrote {frames} frames to {}", out.display());
        }
        What::Scale { from, packets, out } => {
            let frames = scale::generate(&from, packets, &out)?;
            eprintln!("wrote {frames} frames to {}", out.display());
        }
    }
    Ok(())
}
