//! The catalog: recommendations, metrics and initiatives as reviewable data
//! (`data/recommendations.toml`, `data/initiatives.toml`, `data/end_of_support.csv`), parsed and
//! validated once at first use. A test checks the built-in files, so `Catalog::builtin` never
//! meets a broken file at run time.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::asset::Domain;
use crate::eos::{EndOfSupport, EndOfSupportError};
use crate::rule::{Rule, RuleError};

/// How much harm a recommendation's issue can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Hardening; little direct exposure.
    Low,
    /// Exposure that needs another weakness to be exploited.
    Medium,
    /// Direct exposure of credentials, data or control.
    High,
    /// Anyone on the network can take control or is known to be doing so.
    Critical,
}

/// How much work fixing a recommendation takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    /// A configuration change on the device.
    Low,
    /// A change that touches clients or needs a maintenance window.
    Medium,
    /// Replacing or upgrading devices, or re-engineering the network.
    High,
}

/// A metric's weight in its initiative's score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Weight {
    /// Counts 3.
    High,
    /// Counts 2.
    Medium,
    /// Counts 1.
    Low,
    /// The risk is accepted: the metric is left out of the score.
    RiskAccepted,
}

impl Weight {
    /// The factor in the weighted mean (0 for RiskAccepted: left out).
    pub const fn factor(self) -> f64 {
        match self {
            Weight::High => 3.0,
            Weight::Medium => 2.0,
            Weight::Low => 1.0,
            Weight::RiskAccepted => 0.0,
        }
    }
}

/// A recommendation's definition (from the data file).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecommendationDef {
    /// Stable slug, e.g. "telnet-require-authentication".
    pub id: String,
    /// One line for people.
    pub title: String,
    /// Why it matters.
    pub description: String,
    /// Concrete steps, in order.
    pub remediation: Vec<String>,
    /// Domains whose devices it lists.
    pub domains: Vec<Domain>,
    /// How much work the fix takes.
    pub workload: Workload,
    /// How much harm the issue can do.
    pub severity: Severity,
    /// Which evidence or engine produced it: "telnet dissector", "threat intelligence", ...
    pub source: String,
    /// Which devices it applies to.
    pub rule: Rule,
}

/// A metric's definition (from `data/initiatives.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricDef {
    /// Stable slug, unique over all initiatives.
    pub id: String,
    /// Name for people, e.g. "Unprotected OT devices".
    pub name: String,
    /// What it counts.
    pub description: String,
    /// Id of the initiative it belongs to.
    pub initiative: String,
    /// Domains of the devices it counts (its "applicable" devices).
    pub applies_to: Vec<Domain>,
    /// Recommendation ids: a device is affected if any of them lists it.
    pub recommendations: Vec<String>,
    /// Weight unless a console overrides it.
    pub default_weight: Weight,
}

/// An initiative's definition (from `data/initiatives.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InitiativeDef {
    /// "ot-security", "enterprise-iot-security".
    pub id: String,
    /// "OT Security", "Enterprise IoT Security".
    pub name: String,
    /// What it measures.
    pub description: String,
    /// The domain whose recommendations feed it.
    pub domain: Domain,
    /// Target score unless a console overrides it.
    pub default_target: f64,
}

/// Recommendations, metrics and initiatives, validated together.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Catalog {
    /// Recommendations in file order.
    pub recommendations: Vec<RecommendationDef>,
    /// Metrics in file order.
    pub metrics: Vec<MetricDef>,
    /// Initiatives in file order.
    pub initiatives: Vec<InitiativeDef>,
    /// Products whose support has ended (the `end_of_support` rule).
    pub end_of_support: EndOfSupport,
}

/// What is wrong with a catalog.
#[derive(Debug, Clone, PartialEq)]
pub enum CatalogError {
    /// A data file is not the TOML the catalog expects.
    Syntax {
        /// Which file.
        file: &'static str,
        /// The parser's message (with line and column).
        message: String,
    },
    /// A recommendation's rule does not parse.
    Rule {
        /// The recommendation.
        recommendation: String,
        /// Why.
        error: RuleError,
    },
    /// The end-of-support table does not parse.
    EndOfSupport(EndOfSupportError),
    /// Anything else: duplicate ids, dangling references, empty fields.
    Invalid {
        /// The recommendation, metric or initiative.
        item: String,
        /// Why.
        problem: String,
    },
}

impl fmt::Display for CatalogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CatalogError::Syntax { file, message } => write!(f, "{file}: {message}"),
            CatalogError::Rule {
                recommendation,
                error,
            } => {
                write!(f, "recommendation {recommendation}: {error}")
            }
            CatalogError::EndOfSupport(e) => write!(f, "{e}"),
            CatalogError::Invalid { item, problem } => write!(f, "{item}: {problem}"),
        }
    }
}

impl std::error::Error for CatalogError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecommendationFile {
    recommendation: Vec<RawRecommendation>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecommendation {
    id: String,
    title: String,
    description: String,
    remediation: Vec<String>,
    domains: Vec<Domain>,
    workload: Workload,
    severity: Severity,
    source: String,
    rule: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InitiativeFile {
    initiative: Vec<InitiativeDef>,
    metric: Vec<MetricDef>,
}

static BUILTIN: OnceLock<Catalog> = OnceLock::new();

impl Catalog {
    /// The catalog compiled into this crate, parsed once at first use.
    pub fn builtin() -> &'static Catalog {
        BUILTIN.get_or_init(|| {
            Catalog::parse(
                include_str!("../data/recommendations.toml"),
                include_str!("../data/initiatives.toml"),
                include_str!("../data/end_of_support.csv"),
            )
            // The built-in files are checked by `builtin_catalog_is_valid`; a failure here is a
            // build that skipped its tests, and no partial catalog would be honest.
            .unwrap_or_else(|e| panic!("built-in posture catalog: {e}"))
        })
    }

    /// Parses and validates a catalog from the texts of its three data files.
    pub fn parse(
        recommendations: &str,
        initiatives: &str,
        end_of_support: &str,
    ) -> Result<Catalog, CatalogError> {
        let recs: RecommendationFile =
            toml::from_str(recommendations).map_err(|e| CatalogError::Syntax {
                file: "recommendations.toml",
                message: e.to_string(),
            })?;
        let inits: InitiativeFile =
            toml::from_str(initiatives).map_err(|e| CatalogError::Syntax {
                file: "initiatives.toml",
                message: e.to_string(),
            })?;
        let end_of_support =
            EndOfSupport::parse(end_of_support).map_err(CatalogError::EndOfSupport)?;
        let mut recommendations = Vec::with_capacity(recs.recommendation.len());
        for raw in recs.recommendation {
            let rule = Rule::parse(&raw.rule).map_err(|error| CatalogError::Rule {
                recommendation: raw.id.clone(),
                error,
            })?;
            recommendations.push(RecommendationDef {
                id: raw.id,
                title: raw.title,
                description: raw.description,
                remediation: raw.remediation,
                domains: raw.domains,
                workload: raw.workload,
                severity: raw.severity,
                source: raw.source,
                rule,
            });
        }
        let catalog = Catalog {
            recommendations,
            metrics: inits.metric,
            initiatives: inits.initiative,
            end_of_support,
        };
        catalog.validate()?;
        Ok(catalog)
    }

    /// Checks what the types cannot: unique ids, references that resolve, no empty text.
    pub fn validate(&self) -> Result<(), CatalogError> {
        let invalid = |item: &str, problem: String| CatalogError::Invalid {
            item: item.to_owned(),
            problem,
        };
        let slug = |id: &str| {
            !id.is_empty()
                && id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        };
        let mut ids = BTreeSet::new();
        for rec in &self.recommendations {
            let item = format!("recommendation {}", rec.id);
            if !slug(&rec.id) {
                return Err(invalid(&item, "ids are lower-case slugs".into()));
            }
            if !ids.insert(rec.id.as_str()) {
                return Err(invalid(&item, "duplicate id".into()));
            }
            if [&rec.title, &rec.description, &rec.source]
                .iter()
                .any(|t| t.trim().is_empty())
                || rec.remediation.is_empty()
                || rec.remediation.iter().any(|s| s.trim().is_empty())
            {
                return Err(invalid(
                    &item,
                    "title, description, source and remediation steps are required".into(),
                ));
            }
            if rec.domains.is_empty() {
                return Err(invalid(&item, "no domain".into()));
            }
            let distinct: BTreeSet<_> = rec.domains.iter().collect();
            if distinct.len() != rec.domains.len() {
                return Err(invalid(&item, "a domain is listed twice".into()));
            }
            for id in rec.rule.finding_ids() {
                if ironward_model::Finding::from_id(id).is_none() {
                    return Err(invalid(&item, format!("unknown finding {id:?}")));
                }
            }
        }
        let mut initiative_ids = BTreeSet::new();
        for initiative in &self.initiatives {
            let item = format!("initiative {}", initiative.id);
            if !slug(&initiative.id) {
                return Err(invalid(&item, "ids are lower-case slugs".into()));
            }
            if !initiative_ids.insert(initiative.id.as_str()) {
                return Err(invalid(&item, "duplicate id".into()));
            }
            if initiative.name.trim().is_empty() || initiative.description.trim().is_empty() {
                return Err(invalid(&item, "name and description are required".into()));
            }
            if !(0.0..=100.0).contains(&initiative.default_target) {
                return Err(invalid(&item, "target outside 0..=100".into()));
            }
        }
        let mut metric_ids = BTreeSet::new();
        for metric in &self.metrics {
            let item = format!("metric {}", metric.id);
            if !slug(&metric.id) {
                return Err(invalid(&item, "ids are lower-case slugs".into()));
            }
            if !metric_ids.insert(metric.id.as_str()) {
                return Err(invalid(&item, "duplicate id".into()));
            }
            if metric.name.trim().is_empty() || metric.description.trim().is_empty() {
                return Err(invalid(&item, "name and description are required".into()));
            }
            if !initiative_ids.contains(metric.initiative.as_str()) {
                return Err(invalid(
                    &item,
                    format!("unknown initiative {:?}", metric.initiative),
                ));
            }
            if metric.applies_to.is_empty() || metric.recommendations.is_empty() {
                return Err(invalid(&item, "needs domains and recommendations".into()));
            }
            let distinct: BTreeSet<&String> = metric.recommendations.iter().collect();
            if distinct.len() != metric.recommendations.len() {
                return Err(invalid(&item, "a recommendation is listed twice".into()));
            }
            for rec in &metric.recommendations {
                let Some(def) = self.recommendations.iter().find(|r| &r.id == rec) else {
                    return Err(invalid(&item, format!("unknown recommendation {rec:?}")));
                };
                // A recommendation that lists none of the metric's devices could never count.
                if !def.domains.iter().any(|d| metric.applies_to.contains(d)) {
                    return Err(invalid(
                        &item,
                        format!("recommendation {rec:?} lists none of its domains"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The recommendation with this id.
    pub fn recommendation(&self, id: &str) -> Option<&RecommendationDef> {
        self.recommendations.iter().find(|r| r.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalog_is_valid() {
        let catalog = Catalog::parse(
            include_str!("../data/recommendations.toml"),
            include_str!("../data/initiatives.toml"),
            include_str!("../data/end_of_support.csv"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(&catalog, Catalog::builtin());
        let titles: Vec<&str> = catalog
            .recommendations
            .iter()
            .map(|r| r.title.as_str())
            .collect();
        for title in [
            "Require authentication for Telnet management interface",
            "Disable insecure administration protocol \u{2013} Telnet",
            "Remove insecure administration protocols SNMP v1 and v2",
            "Require authentication for VNC management interface",
        ] {
            assert!(titles.contains(&title), "{title} missing");
        }
        let initiatives: Vec<&str> = catalog
            .initiatives
            .iter()
            .map(|i| i.name.as_str())
            .collect();
        assert_eq!(initiatives, ["OT Security", "Enterprise IoT Security"]);
        // Every recommendation feeds some metric, or it could never move a score.
        for rec in &catalog.recommendations {
            assert!(
                catalog
                    .metrics
                    .iter()
                    .any(|m| m.recommendations.contains(&rec.id)),
                "{} feeds no metric",
                rec.id
            );
        }
    }

    fn parse(recs: &str, inits: &str) -> Result<Catalog, CatalogError> {
        Catalog::parse(
            recs,
            inits,
            "field,vendor,pattern,exclude,product,ended,source\n",
        )
    }

    const REC: &str = r#"
[[recommendation]]
id = "a"
title = "A"
description = "d"
remediation = ["do"]
domains = ["ot"]
workload = "low"
severity = "high"
source = "s"
rule = "finding:telnet_in_use"
"#;
    const INIT: &str = r#"
[[initiative]]
id = "ot"
name = "OT"
description = "d"
domain = "ot"
default_target = 80.0

[[metric]]
id = "m"
name = "M"
description = "d"
initiative = "ot"
applies_to = ["ot"]
recommendations = ["a"]
default_weight = "high"
"#;

    #[test]
    fn validation_names_what_is_wrong() {
        assert!(parse(REC, INIT).is_ok());
        let cases = [
            (format!("{REC}{REC}"), INIT.to_owned(), "duplicate id"),
            (
                REC.replace("finding:telnet_in_use", "finding:nope"),
                INIT.to_owned(),
                "unknown finding",
            ),
            (
                REC.replace("finding:telnet_in_use", "telnet"),
                INIT.to_owned(),
                "unknown selector",
            ),
            (
                REC.to_owned(),
                INIT.replace("recommendations = [\"a\"]", "recommendations = [\"b\"]"),
                "unknown recommendation",
            ),
            (
                REC.to_owned(),
                INIT.replace("initiative = \"ot\"", "initiative = \"x\""),
                "unknown initiative",
            ),
            (
                REC.to_owned(),
                INIT.replace("applies_to = [\"ot\"]", "applies_to = [\"it\"]"),
                "lists none",
            ),
            (
                REC.replace("remediation = [\"do\"]", "remediation = []"),
                INIT.to_owned(),
                "remediation",
            ),
            (
                REC.replace("severity = \"high\"", "severity = \"severe\""),
                INIT.to_owned(),
                "severe",
            ),
            (
                REC.to_owned(),
                INIT.replace("id = \"m\"", "id = \"M\""),
                "lower-case slugs",
            ),
            (
                REC.to_owned(),
                INIT.replace(
                    "recommendations = [\"a\"]",
                    "recommendations = [\"a\", \"a\"]",
                ),
                "listed twice",
            ),
        ];
        for (recs, inits, expect) in cases {
            let error = parse(&recs, &inits)
                .err()
                .unwrap_or_else(|| panic!("{expect}: parsed"));
            assert!(error.to_string().contains(expect), "{expect}: {error}");
        }
    }
}
