//! Rendering an [`AnalysisReport`] for people (table) and programs (JSON, CSV).

mod csv;
mod event_json;
mod json;
mod pcap_dir;
mod table;
mod vulnerabilities;

pub(crate) use self::csv::write_csv_dir;
pub(crate) use self::json::JsonStream;
pub(crate) use self::pcap_dir::PcapDir;
pub(crate) use self::table::write_table;
pub(crate) use self::vulnerabilities::Vulnerabilities;

/// The output formats of `ironward analyze`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// Human-friendly tables on standard output.
    Table,
    /// The JSON document (a stable contract: keys are added, never renamed).
    Json,
    /// `devices.csv` and `connections.csv` in the directory given with `--out`.
    Csv,
}

fn join<T: std::fmt::Display>(items: &[T], separator: &str) -> String {
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(separator);
        }
        out.push_str(&item.to_string());
    }
    out
}
