//! Every shipped classification rule, checked against its own examples: the rule fires and sets
//! exactly the expected values. A rule whose pattern drifts from what it was written for fails
//! here by name.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ironward_intel::rules::{RuleSet, BUILTIN_RULES, DEVICE_TYPES};
use ironward_intel::{builtin_rules, classify, resolve};
use ironward_model::{Attribute, DeviceKey, Fact, Source, Timestamp};

fn source(name: &str) -> Source {
    const ALL: &[Source] = &[
        Source::Oui,
        Source::Mac,
        Source::Arp,
        Source::Ndp,
        Source::Traffic,
        Source::Dhcp,
        Source::Dhcpv6,
        Source::Dns,
        Source::Mdns,
        Source::Llmnr,
        Source::Nbns,
        Source::Ssdp,
        Source::Upnp,
        Source::Lldp,
        Source::Cdp,
        Source::Snmp,
        Source::Http,
        Source::Tls,
        Source::Ssh,
        Source::Telnet,
        Source::Rfb,
        Source::Mqtt,
        Source::Pjl,
        Source::Ipp,
        Source::Rtsp,
        Source::Sip,
        Source::Smb,
        Source::Ntlmssp,
        Source::Rdp,
        Source::Ftp,
        Source::Ntp,
        Source::Rules,
    ];
    // Sources of protocols the industrial issue adds are stood in for by `traffic`.
    ALL.iter()
        .copied()
        .find(|s| s.as_str() == name)
        .unwrap_or(Source::Traffic)
}

/// Facts and protocol lists of an example.
fn example_input(facts: &[[String; 3]]) -> (Vec<Fact>, Vec<String>, Vec<String>) {
    let key = DeviceKey::Ip("192.0.2.10".parse().unwrap());
    let mut out = Vec::new();
    let (mut serves, mut uses) = (Vec::new(), Vec::new());
    for [attribute, source_name, value] in facts {
        match attribute.as_str() {
            "serves" => serves.push(value.clone()),
            "uses" => uses.push(value.clone()),
            name => {
                let attribute = Attribute::from_name(name)
                    .unwrap_or_else(|| panic!("example uses unknown attribute {name}"));
                out.push(Fact::new(
                    key,
                    attribute,
                    value.clone(),
                    source(source_name),
                    Timestamp(1),
                ));
            }
        }
    }
    (out, serves, uses)
}

#[test]
fn the_shipped_rules_parse_and_use_known_types() {
    let rules = builtin_rules().expect("shipped rules are valid");
    assert!(rules.rules.len() >= 50, "{} rules", rules.rules.len());
    let types: std::collections::BTreeSet<&str> = rules
        .rules
        .iter()
        .filter_map(|r| r.spec.set.get("type").map(String::as_str))
        .collect();
    // Every device type users expect has at least one rule.
    for wanted in DEVICE_TYPES {
        if *wanted == "iot_device" || *wanted == "workstation" || *wanted == "server" {
            continue;
        }
        assert!(types.contains(wanted), "no rule assigns type {wanted}");
    }
}

#[test]
fn every_rule_fires_on_its_examples_with_the_expected_values() {
    let rules = builtin_rules().unwrap();
    let mut checked = 0;
    for rule in &rules.rules {
        for (n, example) in rule.spec.examples.iter().enumerate() {
            let (facts, serves, uses) = example_input(&example.facts);
            let serves: Vec<&str> = serves.iter().map(String::as_str).collect();
            let uses: Vec<&str> = uses.iter().map(String::as_str).collect();
            let derived = classify(rules, &facts, &serves, &uses);
            let mine: Vec<_> = derived.iter().filter(|d| d.rule == rule.spec.id).collect();
            assert!(
                !mine.is_empty(),
                "rule {} did not fire on its example {n}",
                rule.spec.id
            );
            for (attribute, value) in &example.expect {
                let got = mine
                    .iter()
                    .find(|d| d.attribute.as_str() == attribute)
                    .unwrap_or_else(|| panic!("rule {} example {n}: no {attribute}", rule.spec.id));
                assert_eq!(
                    &got.value, value,
                    "rule {} example {n}: {attribute}",
                    rule.spec.id
                );
                assert!(got
                    .evidence
                    .starts_with(&format!("rule {}: ", rule.spec.id)));
            }
            checked += 1;
        }
    }
    assert!(checked >= rules.rules.len());
}

#[test]
fn unless_conditions_veto_a_rule() {
    let rules = builtin_rules().unwrap();
    let (facts, _, _) = example_input(&[
        ["capability".into(), "lldp".into(), "bridge".into()],
        ["capability".into(), "lldp".into(), "telephone".into()],
    ]);
    let derived = classify(rules, &facts, &[], &[]);
    assert!(derived
        .iter()
        .all(|d| d.rule != "network.switch-capability"));
    assert!(!derived.iter().any(|d| d.rule == "phone.lldp-telephone"));
}

#[test]
fn rules_chain_and_the_announced_model_beats_the_oui_vendor() {
    // A Cisco phone whose NIC OUI belongs to another maker: the SIP announcement names it.
    let rules = builtin_rules().unwrap();
    let (mut facts, _, _) = example_input(&[
        [
            "user_agent".into(),
            "sip".into(),
            "Cisco-CP8845/14.1.1".into(),
        ],
        [
            "vendor".into(),
            "oui".into(),
            "Foxconn International".into(),
        ],
    ]);
    facts[1].confidence = Source::Oui.default_confidence();
    let derived = classify(rules, &facts, &[], &[]);
    let identity = resolve(&facts, &derived);
    assert_eq!(identity.values[&Attribute::Vendor], "Cisco");
    assert_eq!(identity.values[&Attribute::Model], "Cisco IP Phone CP-8845");
    assert_eq!(identity.values[&Attribute::Type], "voip_phone");
    assert_eq!(identity.conflicts.len(), 1);
    assert!(identity.conflicts[0].reason.starts_with("rules (inferred"));
}

#[test]
fn invalid_rules_are_rejected_with_the_rule_named() {
    let bad_type = BUILTIN_RULES.replacen("type = \"printer\"", "type = \"toaster\"", 1);
    let err = RuleSet::parse(&bad_type).unwrap_err().to_string();
    assert!(
        err.contains("printer.hp") && err.contains("toaster"),
        "{err}"
    );
    let bad_regex = "[[rule]]\nid = \"x\"\ndescription = \"\"\nwhen = [{ attribute = \"model\", matches = \"(\" }]\nset = { type = \"printer\" }\nconfidence = 1\nexamples = [{ facts = [], expect = {} }]\n";
    let err = RuleSet::parse(bad_regex).unwrap_err().to_string();
    assert!(err.starts_with("rule x: pattern"), "{err}");
    let no_example = "[[rule]]\nid = \"y\"\ndescription = \"\"\nwhen = [{ attribute = \"model\" }]\nset = { type = \"printer\" }\nconfidence = 1\nexamples = []\n";
    assert!(RuleSet::parse(no_example)
        .unwrap_err()
        .to_string()
        .contains("no example"));
}
