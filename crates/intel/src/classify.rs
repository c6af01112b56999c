//! Applies classification rules to one device's facts.

use ironward_model::{Attribute, Fact, Source};

use crate::rules::{Condition, Rule, RuleSet, Subject};

/// Rules may build on each other's results (a model derived from a SIP `User-Agent` makes the
/// device a phone); this many passes settle any sensible rule file.
const MAX_PASSES: usize = 3;

/// A fact derived by a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Derived {
    /// The attribute set.
    pub attribute: Attribute,
    /// Its value.
    pub value: String,
    /// The rule's confidence.
    pub confidence: u8,
    /// The rule's id.
    pub rule: String,
    /// Which facts the rule matched, in words.
    pub evidence: String,
    /// What derived it: [`Source::Rules`], or [`Source::Behaviour`] for roles from behaviour.
    pub source: Source,
}

/// What an item is: a fact, or a protocol the device served or used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Fact(Attribute),
    Serves,
    Uses,
}

impl Kind {
    fn subject(self) -> Subject {
        match self {
            Kind::Fact(attribute) => Subject::Fact(attribute),
            Kind::Serves => Subject::Serves,
            Kind::Uses => Subject::Uses,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Fact(attribute) => attribute.as_str(),
            Kind::Serves => "serves",
            Kind::Uses => "uses",
        }
    }
}

/// One fact as the rules see it.
struct Item<'a> {
    kind: Kind,
    source: &'a str,
    value: std::borrow::Cow<'a, str>,
}

/// Most pattern results a [`MatchCache`] remembers before it starts afresh.
const MAX_CACHED: usize = 1 << 16;

/// Remembers which values a rule's patterns match, across the devices of one analysis: devices
/// of one kind carry the same values (vendors, banners, protocol names), and a pattern test
/// costs far more than a lookup.
///
/// It also remembers whole classifications: a plant has many devices whose facts are the same
/// apart from their addresses (a row of identical PLCs, the same model of camera everywhere),
/// and the rules give them the same result.
#[derive(Debug, Default)]
pub struct MatchCache {
    results: std::collections::HashMap<(usize, u64), bool>,
    /// Classifications by the hash of their inputs, each with the inputs themselves (see
    /// [`encode_inputs`]) so that a hit is verified, never assumed.
    classified: std::collections::HashMap<u64, Vec<Classified>>,
    /// What `classified` holds, in bytes (inputs and results): the bound on its memory.
    classified_bytes: usize,
    /// The inputs of the call in progress, reused from call to call.
    scratch: Vec<u8>,
}

/// The inputs of one classification (see [`encode_inputs`]) and what the rules derived.
type Classified = (Vec<u8>, Vec<Derived>);

/// Most bytes a [`MatchCache`] keeps for whole classifications (inputs and results) before it
/// starts afresh: a few thousand distinct devices' worth.
const MAX_CLASSIFIED_BYTES: usize = 1 << 20;

impl MatchCache {
    /// Whether `pattern` matches `value`, remembered by the pattern's address and a 64-bit hash
    /// of the value.
    fn is_match(&mut self, pattern: &regex_lite::Regex, value: &str) -> bool {
        // FNV-1a: values are short, and a collision only mistakes one value for another.
        let hash = fnv1a(value.as_bytes());
        let key = (std::ptr::from_ref(pattern) as usize, hash);
        if let Some(&hit) = self.results.get(&key) {
            return hit;
        }
        if self.results.len() >= MAX_CACHED {
            self.results.clear();
        }
        let hit = pattern.is_match(value);
        self.results.insert(key, hit);
        hit
    }
}

/// Every value the rules derive from `facts` and from the protocols the device answered as a
/// server (`serves`) and spoke as a client (`uses`), in rule order.
pub fn classify<'a>(
    rules: &RuleSet,
    facts: &'a [Fact],
    serves: &'a [&'a str],
    uses: &'a [&'a str],
) -> Vec<Derived> {
    classify_with(rules, &mut MatchCache::default(), facts, serves, uses)
}

/// [`classify`] with pattern results and whole classifications remembered across calls (one
/// cache per rule set).
pub fn classify_with<'a>(
    rules: &RuleSet,
    cache: &mut MatchCache,
    facts: &'a [Fact],
    serves: &'a [&'a str],
    uses: &'a [&'a str],
) -> Vec<Derived> {
    let mut inputs = std::mem::take(&mut cache.scratch);
    encode_inputs(&mut inputs, rules.subjects, facts, serves, uses);
    let hash = fnv1a(&inputs);
    if let Some(derived) = cache
        .classified
        .get(&hash)
        .and_then(|list| list.iter().find(|(seen, _)| *seen == inputs))
        .map(|(_, derived)| derived.clone())
    {
        cache.scratch = inputs;
        return derived;
    }
    let derived = classify_uncached(rules, cache, facts, serves, uses);
    let size = inputs.len()
        + derived
            .iter()
            .map(|d| {
                std::mem::size_of::<Derived>() + d.value.len() + d.rule.len() + d.evidence.len()
            })
            .sum::<usize>();
    if cache.classified_bytes + size > MAX_CLASSIFIED_BYTES {
        cache.classified.clear();
        cache.classified_bytes = 0;
    }
    cache.classified_bytes += size;
    cache.scratch = Vec::with_capacity(inputs.len());
    cache
        .classified
        .entry(hash)
        .or_default()
        .push((inputs, derived.clone()));
    derived
}

/// FNV-1a over `bytes`: inputs are short, and a collision only costs a comparison.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Writes everything the rules look at, in order (rules take the first item that matches):
/// the attribute, source and value of each fact of an attribute some condition looks at (in
/// `subjects`; a device's addresses are facts no rule reads), then the protocols served and
/// used. Lengths prefix the values, so that two different inputs never encode alike.
fn encode_inputs(out: &mut Vec<u8>, subjects: u64, facts: &[Fact], serves: &[&str], uses: &[&str]) {
    out.clear();
    let mut push = |kind: &str, source: &str, value: &str| {
        for part in [kind, source] {
            out.extend_from_slice(part.as_bytes());
            out.push(0);
        }
        out.extend_from_slice(&value.len().to_le_bytes());
        out.extend_from_slice(value.as_bytes());
    };
    for fact in facts {
        if Subject::Fact(fact.attribute).bit() & subjects != 0 {
            push(fact.attribute.as_str(), fact.source.as_str(), &fact.value);
        }
    }
    // Attribute names are never empty: an empty kind cannot be mistaken for a fact.
    for protocol in serves {
        push("", "serves", protocol);
    }
    for protocol in uses {
        push("", "uses", protocol);
    }
}

/// [`classify_with`] without the memory of whole classifications.
fn classify_uncached<'a>(
    rules: &RuleSet,
    cache: &mut MatchCache,
    facts: &'a [Fact],
    serves: &'a [&'a str],
    uses: &'a [&'a str],
) -> Vec<Derived> {
    let protocol = |kind: Kind| {
        move |p: &&'a str| Item {
            kind,
            source: "traffic",
            value: std::borrow::Cow::Borrowed(*p),
        }
    };
    let mut items: Vec<Item<'_>> = facts
        .iter()
        .map(|f| Item {
            kind: Kind::Fact(f.attribute),
            source: f.source.as_str(),
            value: std::borrow::Cow::Borrowed(&f.value),
        })
        .chain(serves.iter().map(protocol(Kind::Serves)))
        .chain(uses.iter().map(protocol(Kind::Uses)))
        .collect();
    let mut present = items
        .iter()
        .fold(0u64, |mask, item| mask | item.kind.subject().bit());
    let mut fired = vec![false; rules.rules.len()];
    let mut derived = Vec::new();
    for _ in 0..MAX_PASSES {
        let mut new = Vec::new();
        for (index, rule) in rules.rules.iter().enumerate() {
            if fired[index] || rule.needs & present != rule.needs {
                continue;
            }
            if let Some(results) = apply(rule, &items, cache) {
                fired[index] = true;
                new.extend(results);
            }
        }
        if new.is_empty() {
            break;
        }
        derived.extend(new.iter().cloned());
        present |= new
            .iter()
            .fold(0u64, |mask, d| mask | Subject::Fact(d.attribute).bit());
        items.extend(new.into_iter().map(|d: Derived| Item {
            kind: Kind::Fact(d.attribute),
            source: "rules",
            value: std::borrow::Cow::Owned(d.value),
        }));
    }
    derived
}

fn apply(rule: &Rule, items: &[Item<'_>], cache: &mut MatchCache) -> Option<Vec<Derived>> {
    let mut evidence = Vec::with_capacity(rule.when.len());
    let mut expanded: Vec<String> = Vec::new();
    for (position, condition) in rule.when.iter().enumerate() {
        let (item, captures) = items
            .iter()
            .find_map(|item| matches(condition, item, cache).map(|c| (item, c)))?;
        if position == 0 {
            expanded = rule
                .set
                .iter()
                .map(|(_, template)| match &captures {
                    Some(caps) => {
                        let mut out = String::new();
                        caps.expand(template, &mut out);
                        out.trim().to_owned()
                    }
                    None => template.clone(),
                })
                .collect();
        }
        evidence.push(format!(
            "{} \"{}\" ({})",
            item.kind.name(),
            item.value,
            item.source
        ));
    }
    if rule.unless.iter().any(|condition| {
        items
            .iter()
            .any(|item| matches(condition, item, cache).is_some())
    }) {
        return None;
    }
    let evidence = format!("rule {}: {}", rule.spec.id, evidence.join(", "));
    Some(
        rule.set
            .iter()
            .zip(expanded)
            .filter(|(_, value)| !value.is_empty())
            .map(|((attribute, _), value)| Derived {
                attribute: *attribute,
                value,
                confidence: rule.spec.confidence,
                rule: rule.spec.id.clone(),
                evidence: evidence.clone(),
                source: Source::Rules,
            })
            .collect(),
    )
}

/// Whether `item` satisfies `condition`: `Some(captures)` (captures when the condition has a
/// pattern) or `None`.
fn matches<'i>(
    condition: &Condition,
    item: &'i Item<'_>,
    cache: &mut MatchCache,
) -> Option<Option<regex_lite::Captures<'i>>> {
    let subject_ok = match condition.subject {
        Subject::Fact(attribute) => item.kind == Kind::Fact(attribute),
        Subject::Serves => item.kind == Kind::Serves,
        Subject::Uses => item.kind == Kind::Uses,
    };
    if !subject_ok {
        return None;
    }
    if let Some(source) = &condition.source {
        if source != item.source {
            return None;
        }
    }
    match &condition.pattern {
        None => Some(None),
        // Most tests fail: a plain match is cheaper than tracking captures.
        Some(pattern) if !cache.is_match(pattern, &item.value) => None,
        Some(pattern) => pattern.captures(&item.value).map(Some),
    }
}
