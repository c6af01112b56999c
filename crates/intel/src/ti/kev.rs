/*!
CISA's Known Exploited Vulnerabilities catalog (`known_exploited_vulnerabilities.json`) →
[`KevEntry`] per CVE, attached to the vulnerability records.

Per entry: `cveID` (required), `vendorProject`, `product`, `vulnerabilityName`, `dateAdded`
(required), `dueDate`, `knownRansomwareCampaignUse` (`Known` → ransomware), `requiredAction`,
`notes` (its ` ; `-separated addresses become references).

A KEV CVE that no advisory describes is kept as a record of its own ([`attach`]): title from
`vulnerabilityName`, one affected product from `vendorProject` + `product` with **empty
versions** — the catalog names no versions, and a CVE being exploited somewhere in a product is
exactly what an owner of that product must hear about. Such a record has no advisories, so the
matcher can tell it from an advisory's (and should give it a lower confidence: it matches on
vendor and product name alone).

Bounds: the file is at most [`MAX_FILE_BYTES`], nesting is bounded by serde_json's recursion
limit (128), a bad entry is a [`SourceProblem`] with its field path and is skipped.
*/

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use super::source::{parse_json, read_bounded, SourceProblem};
use crate::vuln::{AffectedProduct, KevEntry, VulnRecord};

/// Largest catalog read (the real one is 1.3 MB).
pub const MAX_FILE_BYTES: u64 = 64 << 20;
/// Most problems kept.
pub const MAX_PROBLEMS: usize = 10_000;
/// Longest text kept from a field.
const MAX_TEXT_CHARS: usize = 2_000;

/// One catalog entry, with what the record needs beyond [`KevEntry`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KevItem {
    /// `cveID`.
    pub cve: String,
    /// `vendorProject`.
    pub vendor: String,
    /// `product`.
    pub product: String,
    /// `vulnerabilityName`.
    pub name: String,
    /// Addresses from `notes`.
    pub references: Vec<String>,
    /// `cwes`.
    pub cwe: Vec<String>,
    /// What the record carries.
    pub entry: KevEntry,
}

/// The catalog, read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KevCatalog {
    /// `catalogVersion` (`2025.08.25`).
    pub version: String,
    /// `dateReleased`.
    pub released: String,
    /// Entries by CVE id.
    pub items: BTreeMap<String, KevItem>,
    /// Entries skipped, with field paths.
    pub problems: Vec<SourceProblem>,
}

/// Why the catalog as a whole could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KevError(pub SourceProblem);

/// What [`attach`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KevSummary {
    /// Advisory records flagged as known exploited.
    pub flagged: usize,
    /// Records added for KEV CVEs no advisory describes.
    pub added: usize,
    /// Flagged or added records whose entry says ransomware.
    pub ransomware: usize,
}

/// Reads the catalog at `path`.
pub fn load(path: &Path) -> Result<KevCatalog, KevError> {
    let (name, bytes) = read_bounded(path, MAX_FILE_BYTES).map_err(KevError)?;
    parse(&name, &bytes)
}

/// Parses a catalog; `file` names it in problems.
pub fn parse(file: &str, bytes: &[u8]) -> Result<KevCatalog, KevError> {
    let fail = |field: &str, message: String| {
        KevError(SourceProblem {
            file: file.to_owned(),
            field: field.to_owned(),
            message,
        })
    };
    let doc = parse_json(file, bytes, MAX_FILE_BYTES, "").map_err(KevError)?;
    let root = doc
        .as_object()
        .ok_or_else(|| fail("", "the catalog is not a JSON object".into()))?;
    let list = match root.get("vulnerabilities") {
        Some(Value::Array(list)) => list,
        Some(_) => return Err(fail("vulnerabilities", "not an array".into())),
        None => return Err(fail("vulnerabilities", "missing".into())),
    };
    let mut catalog = KevCatalog {
        version: text(root, "catalogVersion"),
        released: text(root, "dateReleased"),
        ..KevCatalog::default()
    };
    for (index, item) in list.iter().enumerate() {
        let path = format!("vulnerabilities[{index}]");
        match entry(item) {
            Ok(item) => {
                catalog.items.entry(item.cve.clone()).or_insert(item);
            }
            Err((field, message)) => {
                if catalog.problems.len() < MAX_PROBLEMS {
                    catalog.problems.push(SourceProblem {
                        file: file.to_owned(),
                        field: if field.is_empty() {
                            path
                        } else {
                            format!("{path}.{field}")
                        },
                        message,
                    });
                }
            }
        }
    }
    Ok(catalog)
}

fn entry(item: &Value) -> Result<KevItem, (String, String)> {
    let Some(item) = item.as_object() else {
        return Err((String::new(), "not an object, entry skipped".into()));
    };
    let cve = match item.get("cveID") {
        Some(Value::String(cve)) if cve.trim().starts_with("CVE-") => cve.trim().to_owned(),
        _ => {
            return Err((
                "cveID".into(),
                "missing or not a CVE id, entry skipped".into(),
            ))
        }
    };
    let date_added = match item.get("dateAdded") {
        Some(Value::String(date)) if !date.trim().is_empty() => date.trim().to_owned(),
        _ => {
            return Err((
                "dateAdded".into(),
                "missing or not a string, entry skipped".into(),
            ))
        }
    };
    for field in [
        "vendorProject",
        "product",
        "vulnerabilityName",
        "dueDate",
        "knownRansomwareCampaignUse",
        "requiredAction",
        "notes",
    ] {
        if item
            .get(field)
            .is_some_and(|v| !v.is_string() && !v.is_null())
        {
            return Err((field.into(), "not a string, entry skipped".into()));
        }
    }
    let due = text(item, "dueDate");
    let notes = text(item, "notes");
    let references = notes
        .split(" ; ")
        .flat_map(|part| part.split_whitespace())
        .filter(|word| word.starts_with("https://") || word.starts_with("http://"))
        .take(32)
        .map(str::to_owned)
        .collect();
    let cwe = match item.get("cwes") {
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .take(16)
            .map(|c| cut(c.trim()))
            .collect(),
        _ => Vec::new(),
    };
    Ok(KevItem {
        vendor: text(item, "vendorProject"),
        product: text(item, "product"),
        name: text(item, "vulnerabilityName"),
        references,
        cwe,
        entry: KevEntry {
            date_added,
            due_date: (!due.is_empty()).then_some(due),
            ransomware: text(item, "knownRansomwareCampaignUse").eq_ignore_ascii_case("known"),
            required_action: text(item, "requiredAction"),
        },
        cve,
    })
}

/// Flags every record whose CVE the catalog lists and adds a record for each catalog CVE no
/// record has (see the module documentation); `records` stays sorted by CVE id when it was.
pub fn attach(records: &mut Vec<VulnRecord>, catalog: &KevCatalog) -> KevSummary {
    let mut summary = KevSummary::default();
    let mut seen = std::collections::HashSet::new();
    for record in records.iter_mut() {
        if let Some(item) = catalog.items.get(&record.cve) {
            record.kev = Some(item.entry.clone());
            summary.flagged += 1;
            summary.ransomware += usize::from(item.entry.ransomware);
            seen.insert(record.cve.clone());
        }
    }
    for (cve, item) in &catalog.items {
        if seen.contains(cve) {
            continue;
        }
        records.push(VulnRecord {
            cve: cve.clone(),
            title: item.name.clone(),
            cvss_score: None,
            cvss_vector: None,
            cwe: item.cwe.clone(),
            advisories: Vec::new(),
            references: item.references.clone(),
            affected: vec![AffectedProduct {
                vendor: item.vendor.clone(),
                product: item.product.clone(),
                model_numbers: Vec::new(),
                versions: String::new(),
                fixed_in: Vec::new(),
            }],
            remediation: if item.entry.required_action.is_empty() {
                Vec::new()
            } else {
                vec![item.entry.required_action.clone()]
            },
            kev: Some(item.entry.clone()),
        });
        summary.added += 1;
        summary.ransomware += usize::from(item.entry.ransomware);
    }
    records.sort_by(|a, b| a.cve.cmp(&b.cve));
    summary
}

fn text(object: &Map<String, Value>, key: &str) -> String {
    object
        .get(key)
        .and_then(Value::as_str)
        .map(|t| cut(t.trim()))
        .unwrap_or_default()
}

fn cut(text: &str) -> String {
    match text.char_indices().nth(MAX_TEXT_CHARS) {
        Some((at, _)) => text[..at].to_owned(),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_flag_records_and_unknown_cves_are_added() {
        let catalog = parse(
            "kev.json",
            br#"{"catalogVersion":"1","vulnerabilities":[
                {"cveID":"CVE-2018-7841","vendorProject":"Schneider Electric","product":"U.motion Builder",
                 "vulnerabilityName":"Schneider Electric U.motion Builder SQL Injection","dateAdded":"2022-03-25",
                 "dueDate":"2022-04-15","knownRansomwareCampaignUse":"Known","requiredAction":"Apply updates.",
                 "notes":"https://nvd.nist.gov/vuln/detail/CVE-2018-7841 ; https://example.org/x"},
                {"cveID":"CVE-2000-0001","dateAdded":"2021-11-03"},
                {"cveID":42,"dateAdded":"2021-11-03"},
                {"cveID":"CVE-2000-0002","dateAdded":"2021-11-03","dueDate":7}
            ]}"#,
        )
        .expect("catalog");
        assert_eq!(catalog.items.len(), 2);
        let fields: Vec<&str> = catalog.problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            ["vulnerabilities[2].cveID", "vulnerabilities[3].dueDate"]
        );
        let mut records = vec![VulnRecord {
            cve: "CVE-2000-0001".into(),
            title: "t".into(),
            cvss_score: None,
            cvss_vector: None,
            cwe: vec![],
            advisories: vec!["ICSA-1".into()],
            references: vec![],
            affected: vec![],
            remediation: vec![],
            kev: None,
        }];
        let summary = attach(&mut records, &catalog);
        assert_eq!(
            summary,
            KevSummary {
                flagged: 1,
                added: 1,
                ransomware: 1
            }
        );
        assert_eq!(records[0].kev.as_ref().map(|k| k.ransomware), Some(false));
        let added = &records[1];
        assert_eq!(added.cve, "CVE-2018-7841");
        assert_eq!(added.affected[0].product, "U.motion Builder");
        assert_eq!(added.affected[0].versions, "");
        assert_eq!(added.references.len(), 2);
        let kev = added.kev.as_ref().expect("kev");
        assert!(kev.ransomware);
        assert_eq!(kev.due_date.as_deref(), Some("2022-04-15"));
    }
}
