//! Rules: which devices a recommendation applies to, written as short selectors in the catalog
//! (`finding:telnet_in_use`, `vulnerability:kev`, `a | b`, ...) so that reviewers read the
//! evidence behind a recommendation next to its text.

use std::fmt;

use serde::Serialize;

use crate::asset::{Asset, Authorization};
use crate::eos::EndOfSupport;

/// CVSS base score from which a vulnerability counts as critical (CVSS v3 "Critical" band).
pub const CRITICAL_CVSS: f32 = 9.0;

/// Which devices a recommendation applies to (parsed from a string in the data file).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Rule {
    /// `finding:ID`: the device has the finding with this id (`ironward_model::Finding::as_str`).
    /// Matched by id, so a rule reads the same in the data file as in the findings it selects.
    Finding(String),
    /// `service:PROTOCOL`: the device offers a service whose protocol, as the inventory names it
    /// (lower case), is this — e.g. `service:http` for a clear-text web interface. Services
    /// whose protocol the inventory does not name never match.
    Service(String),
    /// `vulnerability:critical`: a known vulnerability with CVSS >= 9.0.
    VulnerabilityCritical,
    /// `vulnerability:kev`: a vulnerability in CISA's Known Exploited Vulnerabilities catalog.
    VulnerabilityKev,
    /// `end_of_support`: the operating system or product is in the end-of-support table.
    EndOfSupport,
    /// `unauthorized`: seen after the learning window and never approved.
    Unauthorized,
    /// `internet_peers`: exchanged traffic with public addresses.
    InternetPeers,
    /// `unused_services`: services that answered but never carried application data.
    UnusedServices,
    /// `it_write_access`: written to or programmed from IT-side devices.
    ItWriteAccess,
    /// `A | B | ...`: any of these.
    Any(Vec<Rule>),
}

/// A selector that does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// The selector text.
    pub text: String,
    /// What is wrong with it.
    pub problem: &'static str,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rule {:?}: {}", self.text, self.problem)
    }
}

impl std::error::Error for RuleError {}

impl Rule {
    /// Parses a selector: alternatives separated by `|`, each one of the forms above.
    pub fn parse(text: &str) -> Result<Rule, RuleError> {
        let error = |problem| RuleError {
            text: text.to_owned(),
            problem,
        };
        let mut alternatives = Vec::new();
        for part in text.split('|') {
            let part = part.trim();
            if part.is_empty() {
                return Err(error("empty alternative"));
            }
            alternatives.push(Self::parse_one(part).map_err(error)?);
        }
        match alternatives.len() {
            1 => Ok(alternatives.remove(0)),
            _ => Ok(Rule::Any(alternatives)),
        }
    }

    fn parse_one(part: &str) -> Result<Rule, &'static str> {
        let name_ok = |name: &str| {
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        };
        if let Some(id) = part.strip_prefix("finding:") {
            return if name_ok(id) {
                Ok(Rule::Finding(id.to_owned()))
            } else {
                Err("a finding id is lower-case letters, digits and '_'")
            };
        }
        if let Some(protocol) = part.strip_prefix("service:") {
            return if name_ok(protocol) {
                Ok(Rule::Service(protocol.to_owned()))
            } else {
                Err("a protocol name is lower-case letters, digits, '_' and '-'")
            };
        }
        match part {
            "vulnerability:critical" => Ok(Rule::VulnerabilityCritical),
            "vulnerability:kev" => Ok(Rule::VulnerabilityKev),
            "end_of_support" => Ok(Rule::EndOfSupport),
            "unauthorized" => Ok(Rule::Unauthorized),
            "internet_peers" => Ok(Rule::InternetPeers),
            "unused_services" => Ok(Rule::UnusedServices),
            "it_write_access" => Ok(Rule::ItWriteAccess),
            _ => Err("unknown selector"),
        }
    }

    /// Whether the rule selects this device.
    pub fn matches(&self, asset: &Asset, end_of_support: &EndOfSupport) -> bool {
        match self {
            Rule::Finding(id) => asset.findings.iter().any(|f| f.as_str() == id),
            Rule::Service(protocol) => asset
                .services
                .iter()
                .any(|s| s.protocol.as_deref() == Some(protocol.as_str())),
            Rule::VulnerabilityCritical => asset
                .vulnerabilities
                .iter()
                .any(|v| v.cvss.is_some_and(|cvss| cvss >= CRITICAL_CVSS)),
            Rule::VulnerabilityKev => asset.vulnerabilities.iter().any(|v| v.kev),
            Rule::EndOfSupport => end_of_support.find(asset).is_some(),
            Rule::Unauthorized => asset.authorized == Authorization::Unauthorized,
            Rule::InternetPeers => !asset.internet_peers.is_empty(),
            Rule::UnusedServices => !asset.unused_services.is_empty(),
            Rule::ItWriteAccess => !asset.it_write_sources.is_empty(),
            Rule::Any(rules) => rules.iter().any(|r| r.matches(asset, end_of_support)),
        }
    }

    /// Whether the rule reads vulnerability data (its devices change with the TI package).
    pub fn uses_vulnerability_data(&self) -> bool {
        match self {
            Rule::VulnerabilityCritical | Rule::VulnerabilityKev => true,
            Rule::Any(rules) => rules.iter().any(Rule::uses_vulnerability_data),
            _ => false,
        }
    }

    /// Finding ids the rule names (to check them against the model's findings).
    pub fn finding_ids(&self) -> Vec<&str> {
        match self {
            Rule::Finding(id) => vec![id.as_str()],
            Rule::Any(rules) => rules.iter().flat_map(Rule::finding_ids).collect(),
            _ => Vec::new(),
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::Finding(id) => write!(f, "finding:{id}"),
            Rule::Service(protocol) => write!(f, "service:{protocol}"),
            Rule::VulnerabilityCritical => f.write_str("vulnerability:critical"),
            Rule::VulnerabilityKev => f.write_str("vulnerability:kev"),
            Rule::EndOfSupport => f.write_str("end_of_support"),
            Rule::Unauthorized => f.write_str("unauthorized"),
            Rule::InternetPeers => f.write_str("internet_peers"),
            Rule::UnusedServices => f.write_str("unused_services"),
            Rule::ItWriteAccess => f.write_str("it_write_access"),
            Rule::Any(rules) => {
                for (i, rule) in rules.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" | ")?;
                    }
                    write!(f, "{rule}")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asset::{AssetService, AssetVulnerability, Domain};
    use ironward_model::Finding;

    fn eos() -> EndOfSupport {
        EndOfSupport::default()
    }

    #[test]
    fn parses_and_prints_every_form() {
        for text in [
            "finding:telnet_in_use",
            "finding:telnet_in_use | finding:telnet_without_authentication",
            "service:http",
            "vulnerability:critical",
            "vulnerability:kev",
            "end_of_support",
            "unauthorized",
            "internet_peers",
            "unused_services",
            "it_write_access",
        ] {
            let rule = Rule::parse(text).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(rule.to_string(), text);
        }
        for bad in [
            "",
            "finding:",
            "finding:Telnet",
            "a |",
            "vulnerability:high",
            "service:h p",
        ] {
            assert!(Rule::parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn matches_its_evidence_only() {
        let mut a = Asset::new("ip:10.0.0.1", Domain::Ot);
        let telnet = Rule::parse("finding:telnet_in_use").unwrap_or_else(|e| panic!("{e}"));
        assert!(!telnet.matches(&a, &eos()));
        a.findings.push(Finding::TelnetInUse);
        assert!(telnet.matches(&a, &eos()));

        let critical = Rule::VulnerabilityCritical;
        a.vulnerabilities.push(AssetVulnerability {
            cve: "CVE-1".into(),
            cvss: Some(8.9),
            kev: false,
        });
        assert!(!critical.matches(&a, &eos()));
        assert!(!Rule::VulnerabilityKev.matches(&a, &eos()));
        a.vulnerabilities.push(AssetVulnerability {
            cve: "CVE-2".into(),
            cvss: Some(9.0),
            kev: true,
        });
        assert!(critical.matches(&a, &eos()));
        assert!(Rule::VulnerabilityKev.matches(&a, &eos()));

        let http = Rule::Service("http".into());
        a.services.push(AssetService {
            transport: "tcp".into(),
            port: 80,
            protocol: None,
        });
        assert!(!http.matches(&a, &eos()), "a port alone says nothing");
        a.services.push(AssetService {
            transport: "tcp".into(),
            port: 8080,
            protocol: Some("http".into()),
        });
        assert!(http.matches(&a, &eos()));

        assert!(!Rule::Unauthorized.matches(&a, &eos()));
        a.authorized = Authorization::Unauthorized;
        assert!(Rule::Unauthorized.matches(&a, &eos()));
        assert!(!Rule::InternetPeers.matches(&a, &eos()));
        a.internet_peers
            .push("8.8.8.8".parse().unwrap_or_else(|e| panic!("{e}")));
        assert!(Rule::InternetPeers.matches(&a, &eos()));
        assert!(!Rule::UnusedServices.matches(&a, &eos()));
        a.unused_services.push(AssetService {
            transport: "tcp".into(),
            port: 21,
            protocol: Some("ftp".into()),
        });
        assert!(Rule::UnusedServices.matches(&a, &eos()));
        assert!(!Rule::ItWriteAccess.matches(&a, &eos()));
        a.it_write_sources.push("ip:10.9.9.9".into());
        assert!(Rule::ItWriteAccess.matches(&a, &eos()));
    }
}
