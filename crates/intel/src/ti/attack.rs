/*!
MITRE ATT&CK for ICS (the STIX 2.0 bundle `ics-attack.json`) → the technique catalog a package
carries.

Per `attack-pattern` object that is neither `revoked` nor `x_mitre_deprecated`: the technique id
and address from `external_references[source_name = "mitre-attack"]`, `name`, the tactics from
`kill_chain_phases[kill_chain_name = "mitre-ics-attack"].phase_name`, and a short description
(the first paragraph of `description`, citations removed, at most [`MAX_SUMMARY_CHARS`]).

MITRE's terms require every copy to keep its copyright designation and licence: the bundle's
`marking-definition` statements are collected into [`AttackCatalog::notice`], and the caller
adds the licence text (`LICENSE.txt` beside the bundle) to the package.

Bounds: the file is at most [`MAX_FILE_BYTES`], nesting is bounded by serde_json's recursion
limit (128), a malformed object is a [`SourceProblem`] with its field path and is skipped.
*/

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::source::{parse_json, read_bounded, SourceProblem};

/// Largest bundle read (the real one is 3 MB).
pub const MAX_FILE_BYTES: u64 = 64 << 20;
/// Longest short description kept.
pub const MAX_SUMMARY_CHARS: usize = 400;
/// Most problems kept.
const MAX_PROBLEMS: usize = 1_000;

/// One technique of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Technique {
    /// `T0843`.
    pub id: String,
    /// `Program Download`.
    pub name: String,
    /// Tactics (`lateral-movement`, `inhibit-response-function`).
    pub tactics: Vec<String>,
    /// The first paragraph of MITRE's description, without citations.
    pub summary: String,
    /// `https://attack.mitre.org/techniques/T0843`.
    pub url: String,
}

/// The catalog, read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttackCatalog {
    /// Active techniques, sorted by id.
    pub techniques: Vec<Technique>,
    /// Revoked or deprecated techniques skipped.
    pub inactive: usize,
    /// MITRE's copyright statements from the bundle's marking definitions.
    pub notice: String,
    /// The newest `modified` date among the techniques (the bundle carries no version).
    pub newest_modified: String,
    /// Objects skipped, with field paths.
    pub problems: Vec<SourceProblem>,
}

/// Why the bundle as a whole could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AttackError(pub SourceProblem);

/// Reads the bundle at `path`.
pub fn load(path: &Path) -> Result<AttackCatalog, AttackError> {
    let (name, bytes) = read_bounded(path, MAX_FILE_BYTES).map_err(AttackError)?;
    parse(&name, &bytes)
}

/// Parses a bundle; `file` names it in problems.
pub fn parse(file: &str, bytes: &[u8]) -> Result<AttackCatalog, AttackError> {
    let fail = |field: &str, message: String| {
        AttackError(SourceProblem {
            file: file.to_owned(),
            field: field.to_owned(),
            message,
        })
    };
    let doc = parse_json(file, bytes, MAX_FILE_BYTES, "").map_err(AttackError)?;
    let objects = match doc.get("objects") {
        Some(Value::Array(objects)) => objects,
        Some(_) => return Err(fail("objects", "not an array".into())),
        None => return Err(fail("objects", "missing: not a STIX bundle".into())),
    };
    let mut catalog = AttackCatalog::default();
    let mut notices: Vec<String> = Vec::new();
    for (index, object) in objects.iter().enumerate() {
        let Some(object) = object.as_object() else {
            continue;
        };
        match object.get("type").and_then(Value::as_str) {
            Some("marking-definition") => {
                if let Some(statement) = object
                    .get("definition")
                    .and_then(|d| d.get("statement"))
                    .and_then(Value::as_str)
                {
                    let statement = statement.trim().to_owned();
                    if !notices.contains(&statement) {
                        notices.push(statement);
                    }
                }
            }
            Some("attack-pattern") => {
                if flag(object, "revoked") || flag(object, "x_mitre_deprecated") {
                    catalog.inactive += 1;
                    continue;
                }
                match technique(object) {
                    Ok(technique) => {
                        if let Some(modified) = object.get("modified").and_then(Value::as_str) {
                            if modified > catalog.newest_modified.as_str() {
                                catalog.newest_modified = modified.to_owned();
                            }
                        }
                        catalog.techniques.push(technique);
                    }
                    Err((field, message)) => {
                        if catalog.problems.len() < MAX_PROBLEMS {
                            catalog.problems.push(SourceProblem {
                                file: file.to_owned(),
                                field: format!("objects[{index}].{field}"),
                                message,
                            });
                        }
                    }
                }
            }
            _ => {}
        }
    }
    catalog.techniques.sort_by(|a, b| a.id.cmp(&b.id));
    catalog.techniques.dedup_by(|a, b| a.id == b.id);
    catalog.notice = notices.join("\n");
    Ok(catalog)
}

fn flag(object: &Map<String, Value>, key: &str) -> bool {
    object.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn technique(object: &Map<String, Value>) -> Result<Technique, (&'static str, String)> {
    let name = match object.get("name") {
        Some(Value::String(name)) if !name.trim().is_empty() => name.trim().to_owned(),
        _ => return Err(("name", "missing or not a string, technique skipped".into())),
    };
    let references = match object.get("external_references") {
        Some(Value::Array(list)) => list,
        _ => {
            return Err((
                "external_references",
                "missing or not an array, technique skipped".into(),
            ))
        }
    };
    let mitre = references
        .iter()
        .find(|r| r.get("source_name").and_then(Value::as_str) == Some("mitre-attack"))
        .ok_or((
            "external_references",
            "no mitre-attack reference, technique skipped".into(),
        ))?;
    let id = match mitre.get("external_id").and_then(Value::as_str) {
        Some(id) if is_technique_id(id) => id.to_owned(),
        _ => {
            return Err((
                "external_references",
                "the mitre-attack external_id is not a technique id (T0800), technique skipped"
                    .into(),
            ))
        }
    };
    let url = mitre
        .get("url")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let tactics = match object.get("kill_chain_phases") {
        Some(Value::Array(phases)) => phases
            .iter()
            .filter(|p| {
                p.get("kill_chain_name").and_then(Value::as_str) == Some("mitre-ics-attack")
            })
            .filter_map(|p| p.get("phase_name").and_then(Value::as_str))
            .take(16)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    let summary = summary(
        object
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default(),
    );
    Ok(Technique {
        id,
        name,
        tactics,
        summary,
        url,
    })
}

fn is_technique_id(id: &str) -> bool {
    id.len() <= 16
        && id
            .strip_prefix('T')
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
}

/// The first paragraph without `(Citation: …)` marks, cut at a word near the limit.
fn summary(description: &str) -> String {
    let paragraph = description.split("\n\n").next().unwrap_or_default();
    let mut text = String::with_capacity(paragraph.len().min(MAX_SUMMARY_CHARS + 4));
    let mut rest = paragraph;
    while let Some(at) = rest.find("(Citation:") {
        text.push_str(&rest[..at]);
        rest = match rest[at..].find(')') {
            Some(end) => &rest[at + end + 1..],
            None => "",
        };
    }
    text.push_str(rest);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let text = text.replace(" .", ".").replace(" ,", ",");
    if text.chars().count() <= MAX_SUMMARY_CHARS {
        return text;
    }
    let cut: String = text.chars().take(MAX_SUMMARY_CHARS).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn active_techniques_with_tactics_and_the_notice() {
        let bundle = br#"{"type":"bundle","objects":[
          {"type":"marking-definition","definition":{"statement":"Copyright 2015-2025, The MITRE Corporation."}},
          {"type":"attack-pattern","name":"Program Download","modified":"2024-01-02T00:00:00.000Z",
           "description":"Adversaries may download a program. (Citation: Someone 2020)\n\nMore text.",
           "kill_chain_phases":[{"kill_chain_name":"mitre-ics-attack","phase_name":"lateral-movement"},
                                {"kill_chain_name":"other","phase_name":"x"}],
           "external_references":[{"source_name":"mitre-attack","external_id":"T0843","url":"https://attack.mitre.org/techniques/T0843"}]},
          {"type":"attack-pattern","name":"Old","revoked":true,"external_references":[{"source_name":"mitre-attack","external_id":"T0999"}]},
          {"type":"attack-pattern","name":"Gone","x_mitre_deprecated":true,"external_references":[{"source_name":"mitre-attack","external_id":"T0998"}]},
          {"type":"attack-pattern","name":"No id","external_references":[{"source_name":"capec","external_id":"CAPEC-1"}]}
        ]}"#;
        let catalog = parse("ics-attack.json", bundle).expect("bundle");
        assert_eq!(catalog.inactive, 2);
        assert_eq!(
            catalog.techniques,
            [Technique {
                id: "T0843".into(),
                name: "Program Download".into(),
                tactics: vec!["lateral-movement".into()],
                summary: "Adversaries may download a program.".into(),
                url: "https://attack.mitre.org/techniques/T0843".into(),
            }]
        );
        assert_eq!(
            catalog.notice,
            "Copyright 2015-2025, The MITRE Corporation."
        );
        assert_eq!(catalog.problems.len(), 1);
        assert_eq!(catalog.problems[0].field, "objects[4].external_references");
        assert!(parse("x", b"{\"objects\":{}}").is_err());
        assert!(parse("x", b"[").is_err());
    }

    #[test]
    fn long_descriptions_are_cut_at_a_word() {
        let long = "word ".repeat(200);
        let cut = summary(&long);
        assert!(cut.chars().count() <= MAX_SUMMARY_CHARS + 1);
        assert!(cut.ends_with("word…"));
    }
}
