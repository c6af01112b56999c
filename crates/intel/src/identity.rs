//! Merging a device's facts into the values shown, with explained precedence.
//!
//! For each single-valued attribute (vendor, type, model, firmware, serial, OS, role) the
//! strongest fact wins: highest confidence, then strongest provenance (announced by the device,
//! observed, said by others, inferred by a rule, guessed from a registry), then the most recent.
//! When sources disagree, every fact is kept and a [`Conflict`] says which value won and why.

use std::borrow::Cow;
use std::collections::BTreeMap;

use ironward_model::{Attribute, Conflict, Fact, Provenance, ReportedFact, Source};

use crate::classify::Derived;

/// A device's merged identity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// The winning value of each single-valued attribute that has one.
    pub values: BTreeMap<Attribute, String>,
    /// Every fact (derived ones included), sorted and de-duplicated, winners marked.
    pub facts: Vec<ReportedFact>,
    /// Attributes whose sources disagreed.
    pub conflicts: Vec<Conflict>,
    /// Finding ids, sorted.
    pub findings: Vec<String>,
}

/// One candidate value, from a fact or a rule.
struct Candidate<'a> {
    attribute: Attribute,
    value: &'a str,
    source: Source,
    confidence: u8,
    provenance: Provenance,
    seen_at: i64,
    evidence: Option<&'a str>,
}

/// Merges `facts` and what the rules `derived` from them.
pub fn resolve(facts: &[Fact], derived: &[Derived]) -> Identity {
    let latest = facts.iter().map(|f| f.seen_at.0).max().unwrap_or(0);
    let mut candidates: Vec<Candidate<'_>> = facts
        .iter()
        .map(|f| Candidate {
            attribute: f.attribute,
            value: &f.value,
            source: f.source,
            confidence: f.confidence,
            provenance: f.provenance(),
            seen_at: f.seen_at.0,
            evidence: None,
        })
        .chain(derived.iter().map(|d| Candidate {
            attribute: d.attribute,
            value: &d.value,
            source: d.source,
            confidence: d.confidence,
            provenance: Provenance::Inferred,
            seen_at: latest,
            evidence: Some(&d.evidence),
        }))
        .collect();
    // Strongest first within each attribute.
    candidates.sort_by(|a, b| {
        (a.attribute, std::cmp::Reverse(rank(a)), a.value, a.source).cmp(&(
            b.attribute,
            std::cmp::Reverse(rank(b)),
            b.value,
            b.source,
        ))
    });

    let mut identity = Identity::default();
    let mut start = 0;
    while start < candidates.len() {
        let attribute = candidates[start].attribute;
        let end = start
            + candidates[start..]
                .iter()
                .take_while(|c| c.attribute == attribute)
                .count();
        let group = &candidates[start..end];
        if attribute.is_single_valued() {
            let winner = &group[0];
            identity.values.insert(attribute, winner.value.to_owned());
            let others: Vec<&Candidate<'_>> = group
                .iter()
                .filter(|c| !same_value(c.value, winner.value))
                .collect();
            if let Some(runner_up) = others.first() {
                identity.conflicts.push(Conflict {
                    attribute: attribute.as_str().to_owned(),
                    chosen: winner.value.to_owned(),
                    chosen_source: winner.source.as_str().to_owned(),
                    others: dedup(others.iter().map(|c| reported(c, false)).collect()),
                    reason: format!(
                        "{} ({}, confidence {}) beats {} ({}, confidence {})",
                        winner.source.as_str(),
                        winner.provenance.describe(),
                        winner.confidence,
                        runner_up.source.as_str(),
                        runner_up.provenance.describe(),
                        runner_up.confidence,
                    ),
                });
            }
        }
        if attribute == Attribute::Finding {
            identity
                .findings
                .extend(group.iter().map(|c| c.value.to_owned()));
        }
        for (index, candidate) in group.iter().enumerate() {
            let selected = attribute.is_single_valued() && index == 0;
            identity.facts.push(reported(candidate, selected));
        }
        start = end;
    }
    identity.findings.sort();
    identity.findings.dedup();
    identity.facts = dedup(identity.facts);
    identity
}

/// Precedence key: confidence, then provenance, then recency.
fn rank(c: &Candidate<'_>) -> (u8, Provenance, i64) {
    (c.confidence, c.provenance, c.seen_at)
}

/// Values that differ only in case or surrounding space agree.
fn same_value(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

fn reported(c: &Candidate<'_>, selected: bool) -> ReportedFact {
    ReportedFact {
        attribute: Cow::Borrowed(c.attribute.as_str()),
        value: Cow::Owned(c.value.to_owned()),
        source: Cow::Borrowed(c.source.as_str()),
        confidence: c.confidence,
        selected,
        evidence: c.evidence.map(str::to_owned),
    }
}

/// Sorted by attribute, value and source; of equal ones the selected (else the most
/// confident) is kept.
fn dedup(mut facts: Vec<ReportedFact>) -> Vec<ReportedFact> {
    facts.sort_by(|x, y| {
        (
            &x.attribute,
            &x.value,
            &x.source,
            !x.selected,
            std::cmp::Reverse(x.confidence),
        )
            .cmp(&(
                &y.attribute,
                &y.value,
                &y.source,
                !y.selected,
                std::cmp::Reverse(y.confidence),
            ))
    });
    facts.dedup_by(|later, kept| {
        later.attribute == kept.attribute
            && later.value == kept.value
            && later.source == kept.source
    });
    facts
}

#[cfg(test)]
mod tests {
    use super::*;
    use ironward_model::{DeviceKey, Timestamp};

    fn fact(attribute: Attribute, value: &'static str, source: Source) -> Fact {
        Fact::new(
            DeviceKey::Ip("10.0.0.9".parse().unwrap()),
            attribute,
            value,
            source,
            Timestamp(5),
        )
    }

    #[test]
    fn announcements_beat_hearsay_beat_the_oui() {
        let facts = [
            fact(Attribute::Vendor, "Intel Corporate", Source::Oui),
            fact(Attribute::Vendor, "Axis Communications AB", Source::Upnp),
            fact(Attribute::Hostname, "cam-7", Source::Dns).hearsay(),
            fact(Attribute::Hostname, "axis-b8a44f", Source::Mdns),
        ];
        let identity = resolve(&facts, &[]);
        assert_eq!(
            identity.values[&Attribute::Vendor],
            "Axis Communications AB"
        );
        let conflict = &identity.conflicts[0];
        assert_eq!(conflict.attribute, "vendor");
        assert_eq!(conflict.chosen_source, "upnp");
        assert_eq!(conflict.others[0].value, "Intel Corporate");
        assert_eq!(
            conflict.reason,
            "upnp (announced by the device, confidence 95) beats oui (guessed from a registry, confidence 40)"
        );
        let selected: Vec<_> = identity.facts.iter().filter(|f| f.selected).collect();
        assert_eq!(selected.len(), 1);
        assert_eq!(selected[0].source, "upnp");
        // Names are a set: both kept, no conflict about them.
        assert_eq!(identity.conflicts.len(), 1);
        assert_eq!(
            identity
                .facts
                .iter()
                .filter(|f| f.attribute == "hostname")
                .count(),
            2
        );
    }

    #[test]
    fn agreeing_sources_are_no_conflict_and_rules_carry_evidence() {
        let facts = [
            fact(Attribute::Model, "HP LaserJet M507", Source::Pjl),
            fact(Attribute::Model, "hp laserjet m507", Source::Snmp),
            fact(Attribute::Finding, "telnet_in_use", Source::Telnet),
        ];
        let derived = [Derived {
            attribute: Attribute::Type,
            value: "printer".into(),
            confidence: 85,
            rule: "printer.hp-laserjet".into(),
            evidence: "rule printer.hp-laserjet: model \"HP LaserJet M507\" (pjl)".into(),
            source: Source::Rules,
        }];
        let identity = resolve(&facts, &derived);
        assert!(identity.conflicts.is_empty());
        assert_eq!(identity.values[&Attribute::Model], "hp laserjet m507");
        assert_eq!(identity.values[&Attribute::Type], "printer");
        assert_eq!(identity.findings, vec!["telnet_in_use".to_owned()]);
        let rule_fact = identity.facts.iter().find(|f| f.source == "rules").unwrap();
        assert!(rule_fact.selected);
        assert!(rule_fact
            .evidence
            .as_deref()
            .unwrap()
            .contains("HP LaserJet M507"));
    }
}
