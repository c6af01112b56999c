//! Known ICS attack patterns as data: `crates/intel/rules/ics_attacks.toml` (see its header for
//! the fields), compiled in and checked when loaded.

use ironward_model::Severity;
use serde::Deserialize;

/// The built-in patterns file.
pub const BUILTIN_PATTERNS: &str = include_str!("../../../intel/rules/ics_attacks.toml");

/// What counts towards a pattern's threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Distinct {
    /// Occurrences.
    #[default]
    Occurrences,
    /// Distinct operation details (e.g. information object addresses).
    Details,
    /// Distinct destination addresses.
    Targets,
}

/// One attack pattern.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pattern {
    /// Alert type (`malware.s7_plc_stop`).
    pub kind: String,
    /// Alert title.
    pub title: String,
    /// What it means.
    pub description: String,
    /// What to do.
    pub remediation: String,
    /// Severity.
    pub severity: Severity,
    /// ATT&CK for ICS technique ids.
    pub techniques: Vec<String>,
    /// Event match: protocol.
    #[serde(default)]
    pub protocol: Option<String>,
    /// Event match: operations.
    #[serde(default)]
    pub operations: Vec<String>,
    /// Flow match: transport (`tcp`, `udp`).
    #[serde(default)]
    pub transport: Option<String>,
    /// Flow match: server port.
    #[serde(default)]
    pub port: Option<u16>,
    /// Occurrences (or distinct values) within the window before raising.
    #[serde(default = "one")]
    pub threshold: u64,
    /// What counts.
    #[serde(default)]
    pub distinct: Distinct,
    /// The window.
    #[serde(default = "minute")]
    pub window_seconds: u64,
}

fn one() -> u64 {
    1
}

fn minute() -> u64 {
    60
}

impl Pattern {
    /// The IP protocol number of a flow pattern.
    pub fn transport_number(&self) -> Option<u8> {
        match self.transport.as_deref() {
            Some("tcp") => Some(6),
            Some("udp") => Some(17),
            _ => None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatternFile {
    pattern: Vec<Pattern>,
}

/// Why a patterns file was refused.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// Occurs when the file is not valid TOML of the expected shape.
    #[error("attack patterns: {0}")]
    Parse(#[from] toml::de::Error),
    /// Occurs when a pattern names neither an event match nor a flow match, or a technique
    /// that is not in the catalog, or a threshold of 0.
    #[error("attack pattern {kind}: {reason}")]
    Invalid {
        /// The pattern's kind.
        kind: String,
        /// What is wrong.
        reason: &'static str,
    },
}

/// Parses and checks a patterns file.
pub fn parse(text: &str) -> Result<Vec<Pattern>, RulesError> {
    let file: PatternFile = toml::from_str(text)?;
    for p in &file.pattern {
        let invalid = |reason| RulesError::Invalid {
            kind: p.kind.clone(),
            reason,
        };
        let event = p.protocol.is_some() && !p.operations.is_empty();
        let flow = p.transport_number().is_some() && p.port.is_some();
        if event == flow {
            return Err(invalid(
                "needs either protocol + operations or transport + port",
            ));
        }
        if p.threshold == 0 {
            return Err(invalid("threshold must be at least 1"));
        }
        if !p.kind.starts_with("malware.") {
            return Err(invalid("kind must start with `malware.`"));
        }
        if p.techniques.iter().any(|t| !super::techniques::is_known(t)) {
            return Err(invalid("names a technique not in attack_ics.csv"));
        }
    }
    Ok(file.pattern)
}

/// The built-in patterns.
pub fn builtin() -> Result<Vec<Pattern>, RulesError> {
    parse(BUILTIN_PATTERNS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_builtin_patterns_load() {
        let patterns = super::builtin().unwrap();
        assert!(patterns.iter().any(|p| p.kind == "malware.s7_plc_stop"));
        assert!(patterns.iter().any(|p| p.port == Some(1502)));
    }

    #[test]
    fn bad_patterns_are_refused() {
        let text = "[[pattern]]\nkind = \"malware.x\"\ntitle = \"x\"\ndescription = \"\"\nremediation = \"\"\nseverity = \"major\"\ntechniques = [\"T0001\"]\nprotocol = \"modbus\"\noperations = [\"x\"]\n";
        assert!(super::parse(text).is_err());
        assert!(super::parse("nonsense = [").is_err());
    }
}
