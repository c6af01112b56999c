//! Device-classification rules: the data file, its schema and its validation.
//!
//! A rule says: when a device has facts matching all of these conditions (and none of the
//! `unless` ones), it is this type / vendor / model / OS, with this confidence. Values may use
//! the capture groups of the first condition's regular expression (`$1`, `${name}`). Every rule
//! carries at least one example (facts in, values out) that the tests check, so that a rule
//! cannot silently stop matching what it was written for.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use ironward_model::Attribute;
use regex_lite::Regex;
use serde::Deserialize;

/// The rules shipped with Ironward.
pub const BUILTIN_RULES: &str = include_str!("../rules/devices.toml");

/// Device types a rule may assign (the values users see, snake case).
pub const DEVICE_TYPES: &[&str] = &[
    "workstation",
    "server",
    "mobile",
    "printer",
    "ip_camera",
    "voip_phone",
    "media_device",
    "iot_gateway",
    "iot_device",
    "building_automation",
    "switch",
    "router",
    "firewall",
    "access_point",
    "storage",
    "plc",
    "hmi",
    "engineering_workstation",
    "rtu",
    "historian",
    "scada_server",
    "ied",
    "io_device",
];

/// Attributes a rule may set.
pub const SETTABLE: &[Attribute] = &[
    Attribute::Type,
    Attribute::Vendor,
    Attribute::Model,
    Attribute::Os,
    Attribute::Firmware,
    Attribute::Role,
];

/// Why a rules file was rejected.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// The file is not valid TOML or does not follow the schema.
    #[error("rules file: {0}")]
    Syntax(#[from] toml::de::Error),
    /// A rule is invalid.
    #[error("rule {rule}: {problem}")]
    Invalid {
        /// The rule's id.
        rule: String,
        /// What is wrong.
        problem: String,
    },
}

/// One condition on a device's facts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionSpec {
    /// Attribute name (`software`, `model`, `service`, ...), `serves` for a protocol the
    /// device answered as a server (`pjl`, `ipp`, `rtsp`, `modbus`, ...), or `uses` for a
    /// protocol it spoke as a client.
    pub attribute: String,
    /// Only facts from this source (`ssh`, `snmp`, ...).
    #[serde(default)]
    pub source: Option<String>,
    /// Regular expression the value must match (anywhere; anchor it if needed), in the syntax
    /// of the `regex-lite` crate: classes such as `\w`, `\d`, `\b` and `(?i)` are ASCII.
    /// Values are short, so a small backtracking engine matches them fast enough, and sixty
    /// patterns cost kilobytes instead of the megabytes of fully compiled automata.
    #[serde(default)]
    pub matches: Option<String>,
}

/// A rule as written in the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Unique id, `area.what` (e.g. `printer.hp-laserjet`).
    pub id: String,
    /// What the rule recognises and why the evidence is good, for reviewers.
    pub description: String,
    /// All must match.
    pub when: Vec<ConditionSpec>,
    /// None may match.
    #[serde(default)]
    pub unless: Vec<ConditionSpec>,
    /// Attribute name → value (with `$1` / `${name}` from the first condition's captures).
    pub set: BTreeMap<String, String>,
    /// 0–100.
    pub confidence: u8,
    /// Facts in, values out: every rule has at least one.
    pub examples: Vec<ExampleSpec>,
}

/// A worked example of a rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExampleSpec {
    /// Facts as `[attribute, source, value]`; protocols as `["serves", "", "pjl"]` or
    /// `["uses", "", "s7comm"]`.
    pub facts: Vec<[String; 3]>,
    /// Expected values the rule sets for these facts.
    pub expect: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    rule: Vec<RuleSpec>,
}

/// What a condition looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// Facts of this attribute.
    Fact(Attribute),
    /// Protocols the device answered as a server.
    Serves,
    /// Protocols the device spoke as a client.
    Uses,
}

impl Subject {
    /// This subject's bit in [`Rule::needs`] and in a device's set of present subjects.
    pub fn bit(self) -> u64 {
        match self {
            // The declaration order is that of `Attribute::ALL` (a test checks it): the cast is
            // the position without searching, and classification asks for it per fact.
            Subject::Fact(attribute) => 1 << (attribute as usize).min(61),
            Subject::Serves => 1 << 62,
            Subject::Uses => 1 << 63,
        }
    }
}

/// A compiled condition.
#[derive(Debug, Clone)]
pub struct Condition {
    /// What it looks at.
    pub subject: Subject,
    /// Only facts from this source (by name).
    pub source: Option<String>,
    /// The value pattern; `None` matches any value.
    pub pattern: Option<Regex>,
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Bit set of the subjects every `when` condition needs (see [`Subject::bit`]): a device
    /// lacking one of them cannot match, and the rule is skipped without looking at values.
    pub needs: u64,
    /// The rule as written.
    pub spec: RuleSpec,
    /// Compiled `when` conditions.
    pub when: Vec<Condition>,
    /// Compiled `unless` conditions.
    pub unless: Vec<Condition>,
    /// Attributes and value templates to set.
    pub set: Vec<(Attribute, String)>,
}

/// A validated set of rules.
#[derive(Debug, Clone)]
pub struct RuleSet {
    /// The rules in file order.
    pub rules: Vec<Rule>,
    /// Bit set of every subject any condition (`when` or `unless`) looks at: facts of other
    /// attributes can never change what the rules derive.
    pub subjects: u64,
}

impl RuleSet {
    /// Parses and validates a rules file.
    pub fn parse(text: &str) -> Result<Self, RulesError> {
        let file: RulesFile = toml::from_str(text)?;
        let mut seen = std::collections::HashSet::new();
        let mut rules = Vec::with_capacity(file.rule.len());
        for spec in file.rule {
            let invalid = |problem: String| RulesError::Invalid {
                rule: spec.id.clone(),
                problem,
            };
            if !seen.insert(spec.id.clone()) {
                return Err(invalid("duplicate id".into()));
            }
            if spec.when.is_empty() {
                return Err(invalid("no `when` condition".into()));
            }
            if spec.examples.is_empty() {
                return Err(invalid("no example".into()));
            }
            if spec.confidence > 100 {
                return Err(invalid("confidence above 100".into()));
            }
            let when = spec
                .when
                .iter()
                .map(compile)
                .collect::<Result<Vec<_>, _>>()
                .map_err(invalid)?;
            let unless = spec
                .unless
                .iter()
                .map(compile)
                .collect::<Result<Vec<_>, _>>()
                .map_err(invalid)?;
            let mut set = Vec::new();
            for (name, value) in &spec.set {
                let attribute = Attribute::from_name(name)
                    .filter(|a| SETTABLE.contains(a))
                    .ok_or_else(|| invalid(format!("cannot set `{name}`")))?;
                if attribute == Attribute::Type && !DEVICE_TYPES.contains(&value.as_str()) {
                    return Err(invalid(format!("unknown device type `{value}`")));
                }
                set.push((attribute, value.clone()));
            }
            if set.is_empty() {
                return Err(invalid("sets nothing".into()));
            }
            let needs = when.iter().fold(0u64, |mask, c| mask | c.subject.bit());
            rules.push(Rule {
                needs,
                spec,
                when,
                unless,
                set,
            });
        }
        let subjects = rules
            .iter()
            .flat_map(|rule| rule.when.iter().chain(&rule.unless))
            .fold(0u64, |mask, c| mask | c.subject.bit());
        Ok(Self { rules, subjects })
    }
}

fn compile(spec: &ConditionSpec) -> Result<Condition, String> {
    let subject = if spec.attribute == "serves" {
        Subject::Serves
    } else if spec.attribute == "uses" {
        Subject::Uses
    } else {
        Subject::Fact(
            Attribute::from_name(&spec.attribute)
                .ok_or_else(|| format!("unknown attribute `{}`", spec.attribute))?,
        )
    };
    let pattern = spec
        .matches
        .as_deref()
        .map(|p| Regex::new(p).map_err(|e| format!("pattern `{p}`: {e}")))
        .transpose()?;
    Ok(Condition {
        subject,
        source: spec.source.clone(),
        pattern,
    })
}

/// The shipped rules, parsed once. An error here is a defect of the shipped file (the tests
/// parse it), reported rather than panicking.
pub fn builtin_rules() -> Result<&'static RuleSet, &'static RulesError> {
    static RULES: OnceLock<Result<RuleSet, RulesError>> = OnceLock::new();
    RULES.get_or_init(|| RuleSet::parse(BUILTIN_RULES)).as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_bits_follow_the_order_of_all_attributes() {
        for (index, attribute) in Attribute::ALL.into_iter().enumerate() {
            assert_eq!(Subject::Fact(attribute).bit(), 1 << index.min(61));
        }
    }
}
