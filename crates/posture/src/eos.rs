//! End of support: operating systems and products their makers no longer support, from a small
//! reviewed table (`data/end_of_support.csv`) in which every row names its public source.
//!
//! The table lists only products whose support has already ended, so matching needs no clock
//! (a console evaluating at an old `now` would otherwise disagree with the lifecycle pages).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::asset::Asset;

/// One product whose support has ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndOfSupportEntry {
    /// What is matched: `os` (the asset's operating system) or `model` (vendor and model).
    pub field: EndOfSupportField,
    /// For `model` rows: a lower-case substring of the vendor.
    pub vendor: String,
    /// Lower-case substring of the os or model.
    pub pattern: String,
    /// Lower-case substring that rules the row out (e.g. "smart" for S7-200 SMART), or empty.
    pub exclude: String,
    /// The product, for people.
    pub product: String,
    /// When support ended (YYYY-MM-DD), empty when the source gives no single date.
    pub ended: String,
    /// The public source of the row.
    pub source: String,
}

/// Which asset attribute an end-of-support row reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndOfSupportField {
    /// The operating system.
    Os,
    /// Vendor and model together.
    Model,
}

/// The end-of-support table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EndOfSupport {
    /// Rows in file order; the first matching row wins.
    pub entries: Vec<EndOfSupportEntry>,
}

/// A table that does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndOfSupportError {
    /// 1-based line in the file (0 when the reader could not tell).
    pub line: u64,
    /// What is wrong.
    pub problem: String,
}

impl fmt::Display for EndOfSupportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "end_of_support.csv line {}: {}", self.line, self.problem)
    }
}

impl std::error::Error for EndOfSupportError {}

/// Lower-case substring test without allocating for the common ASCII case.
fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    h.len() >= n.len() && h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

impl EndOfSupport {
    /// Parses the CSV text (header `field,vendor,pattern,exclude,product,ended,source`).
    pub fn parse(text: &str) -> Result<EndOfSupport, EndOfSupportError> {
        let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
        let mut entries = Vec::new();
        for row in reader.deserialize::<EndOfSupportEntry>() {
            let entry = row.map_err(|e| EndOfSupportError {
                line: e.position().map_or(0, |p| p.line()),
                problem: e.to_string(),
            })?;
            let line = entries.len() as u64 + 2;
            let problem = |problem: &str| EndOfSupportError {
                line,
                problem: problem.to_owned(),
            };
            let lower = |s: &str| s == s.to_lowercase();
            if entry.pattern.trim().is_empty() {
                return Err(problem("empty pattern"));
            }
            if !lower(&entry.pattern) || !lower(&entry.vendor) || !lower(&entry.exclude) {
                return Err(problem(
                    "vendor, pattern and exclude are written in lower case",
                ));
            }
            if entry.field == EndOfSupportField::Model && entry.vendor.is_empty() {
                return Err(problem("a model row names its vendor"));
            }
            if entry.source.trim().is_empty() || entry.product.trim().is_empty() {
                return Err(problem("every row names its product and public source"));
            }
            if !entry.ended.is_empty() && !is_date(&entry.ended) {
                return Err(problem("ended is YYYY-MM-DD or empty"));
            }
            entries.push(entry);
        }
        Ok(EndOfSupport { entries })
    }

    /// The first row that matches the asset.
    pub fn find(&self, asset: &Asset) -> Option<&EndOfSupportEntry> {
        self.entries.iter().find(|e| {
            let text = match e.field {
                EndOfSupportField::Os => asset.os.as_deref(),
                EndOfSupportField::Model => {
                    if !asset
                        .vendor
                        .as_deref()
                        .is_some_and(|v| contains_ignore_case(v, &e.vendor))
                    {
                        return false;
                    }
                    asset.model.as_deref()
                }
            };
            text.is_some_and(|t| {
                contains_ignore_case(t, &e.pattern)
                    && (e.exclude.is_empty() || !contains_ignore_case(t, &e.exclude))
            })
        })
    }
}

fn is_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asset::Domain;

    fn table() -> EndOfSupport {
        EndOfSupport::parse(include_str!("../data/end_of_support.csv"))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn asset(vendor: Option<&str>, model: Option<&str>, os: Option<&str>) -> Asset {
        let mut a = Asset::new("ip:10.0.0.1", Domain::Ot);
        a.vendor = vendor.map(str::to_owned);
        a.model = model.map(str::to_owned);
        a.os = os.map(str::to_owned);
        a
    }

    #[test]
    fn the_table_parses_and_every_row_names_a_source() {
        let t = table();
        assert!(t.entries.len() >= 10);
        assert!(t.entries.iter().all(|e| !e.source.is_empty()));
    }

    #[test]
    fn matches_os_and_vendor_model_case_insensitively() {
        let t = table();
        let product = |a: &Asset| t.find(a).map(|e| e.product.clone());
        assert_eq!(
            product(&asset(None, None, Some("Windows XP Professional SP3"))).as_deref(),
            Some("Microsoft Windows XP")
        );
        assert_eq!(
            product(&asset(None, None, Some("Microsoft Windows 8.1 Pro"))).as_deref(),
            Some("Microsoft Windows 8.1")
        );
        assert_eq!(
            product(&asset(None, None, Some("Windows 8 Enterprise"))).as_deref(),
            Some("Microsoft Windows 8")
        );
        assert_eq!(product(&asset(None, None, Some("Windows 11"))), None);
        assert_eq!(
            product(&asset(None, None, Some("Windows Server 2019"))),
            None
        );
        assert_eq!(
            product(&asset(
                Some("Siemens AG"),
                Some("S7-300 CPU 315-2 PN/DP"),
                None
            ))
            .as_deref(),
            Some("Siemens SIMATIC S7-300")
        );
        assert!(product(&asset(Some("SIEMENS"), Some("CPU 224 S7-200"), None)).is_some());
        assert_eq!(
            product(&asset(Some("Siemens"), Some("S7-200 SMART SR40"), None)),
            None
        );
        assert_eq!(
            product(&asset(Some("Siemens"), Some("S7-1500"), None)),
            None
        );
        // A model without its vendor says nothing: "S7-300" clones exist.
        assert_eq!(product(&asset(None, Some("S7-300"), None)), None);
    }

    #[test]
    fn bad_rows_are_refused_with_their_line() {
        let header = "field,vendor,pattern,exclude,product,ended,source\n";
        for (row, problem) in [
            ("os,,,,X,,src", "empty pattern"),
            ("os,,Windows XP,,X,,src", "lower case"),
            ("model,,s7-300,,X,,src", "vendor"),
            ("os,,windows xp,,X,,", "source"),
            ("os,,windows xp,,X,2014-4-8,src", "YYYY-MM-DD"),
        ] {
            let e = EndOfSupport::parse(&format!("{header}{row}\n"))
                .err()
                .unwrap_or_else(|| panic!("{row} parsed"));
            assert!(e.to_string().contains(problem), "{e}");
            assert_eq!(e.line, 2);
        }
        assert!(EndOfSupport::parse(&format!("{header}kernel,,x,,X,,src\n")).is_err());
    }
}
