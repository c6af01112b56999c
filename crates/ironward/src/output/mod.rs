//! Rendering an [`AnalysisReport`] for people (table) and programs (JSON, CSV).

mod csv;
mod device_json;
mod event_json;
mod json;
mod pcap_dir;
mod posture;
mod table;
mod vulnerabilities;

pub(crate) use self::csv::write_csv_dir;
pub(crate) use self::json::JsonStream;
pub(crate) use self::pcap_dir::PcapDir;
pub(crate) use self::posture::{posture_of, PostureSink};
pub(crate) use self::table::write_table;
pub(crate) use self::vulnerabilities::Vulnerabilities;

/// A sink that can write a top-level key of the JSON document after the alerts, before the
/// statistics (`vulnerabilities`, `recommendations`, ...).
pub(crate) trait TopLevel {
    /// Writes `"key": value` at the top level of the document.
    fn top_level<T: serde::Serialize>(&mut self, key: &str, value: &T) -> anyhow::Result<()>;
}

/// The output formats of `ironward analyze`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// Human-friendly tables on standard output.
    Table,
    /// The JSON document (a stable contract: keys are added, never renamed).
    Json,
    /// `devices.csv`, `connections.csv`, `events.csv`, `recommendations.csv` and
    /// `initiatives.csv` (`alerts.csv` with detection) in the directory given with `--out`.
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

/// The serde name of a unit variant (`high`, `risk_accepted`, `enterprise_iot`): the words the
/// JSON document uses, so that every format says the same.
fn serde_name<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}
