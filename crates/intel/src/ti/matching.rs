/*!
Devices against vulnerability records: which CVEs affect a device, how sure that is, and why.

A [`Matcher`] indexes the records once (affected products by canonical order number, by
part-number prefix, and by vendor and name token) so that each device costs a few hash lookups,
not a scan of every product. A device is recognised, strongest first:

1. by **order number** (`6ES7516-3AN01-0AB0` from S7comm, the catalog number `1756-EN2T` of a
   CIP model): the advisory's model numbers, the order numbers written in its product names
   (`… (6ES7516-3AN01-0AB0)`, `1756-EN2T Series D`) and its part-number prefixes
   (`part numbers BMXP34*`);
2. by **product name**, vendor first: every token of one of the device's names (its model, the
   family its catalog number belongs to) appears in the advisory's product name.

Then its firmware is compared with the product's affected versions
([`VersionRange`](super::version::VersionRange)). Confidence:

- **high**: order number and firmware in range;
- **medium**: product name and firmware in range;
- **low**: the product is recognised but whether the version is affected is not known: no
  firmware, a firmware text that is no version, affected versions the advisory wrote in a way
  that cannot be read, or words in the advisory that narrow the range beyond versions (`only
  when running on ROX II`). A low match is shown, never dropped: an unreadable range is the
  advisory's problem, not a reason to hide a possibly vulnerable device.

A product whose affected versions are "all" (`vers:all` with `*`) matches whatever the firmware, with
the confidence of how it was recognised.

Devices with a model or order number that no product resolves are reported as [`Unmatched`]
with the reason (vendor unknown to the package, product unknown), and so are recognised devices
without a firmware version, so that users see what the package does not cover.
*/

use std::collections::HashMap;

use serde::Serialize;

use super::normalize::{canonical_order_number, canonical_vendor, product_tokens, DeviceProduct};
use super::version::{Version, VersionError, VersionRange};
use crate::vuln::{AffectedProduct, VulnRecord};

/// How sure a match is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Product recognised, version not known to be affected or not.
    Low,
    /// Product name and firmware in range.
    Medium,
    /// Order number and firmware in range.
    High,
}

impl Confidence {
    /// `low`, `medium`, `high`.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// One vulnerability of one device, borrowing the record's texts (a device can match dozens).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VulnMatch<'a> {
    /// CVE id.
    pub cve: &'a str,
    /// CVSS v3 base score.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cvss: Option<f32>,
    /// Listed in CISA's Known Exploited Vulnerabilities catalog.
    pub kev: bool,
    /// Advisory ids (`ICSA-24-228-11`).
    pub advisories: &'a [String],
    /// The advisory's product the device was recognised as.
    pub product: &'a str,
    /// The affected versions as the advisory writes them.
    pub versions: &'a str,
    /// Versions that fix it.
    pub fixed_in: &'a [String],
    /// How sure the match is.
    pub confidence: Confidence,
    /// Which facts, which range, which advisory.
    pub reason: String,
}

/// Why a device the package should know is not resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnmatchedReason {
    /// No record names the device's vendor.
    VendorUnknown,
    /// The vendor is known, but no product of it resolves from the device's model or order
    /// number.
    ProductUnknown,
    /// Products resolve, but the device's firmware is not known, so versions are not checked.
    NoFirmware,
}

impl UnmatchedReason {
    /// `vendor_unknown`, `product_unknown`, `no_firmware`.
    pub fn as_str(self) -> &'static str {
        match self {
            UnmatchedReason::VendorUnknown => "vendor_unknown",
            UnmatchedReason::ProductUnknown => "product_unknown",
            UnmatchedReason::NoFirmware => "no_firmware",
        }
    }
}

/// A device the package cannot (fully) resolve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unmatched {
    /// Vendor as the device names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// Model as the device names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Canonical order number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_number: Option<String>,
    /// Why.
    pub reason: UnmatchedReason,
    /// The reason in words.
    pub explanation: String,
}

/// What matching says about one device.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeviceMatches<'a> {
    /// Its vulnerabilities, one per record, i.e. per CVE (the most confident way it matched), KEV first, then
    /// by CVSS, highest first.
    pub matches: Vec<VulnMatch<'a>>,
    /// Set when the device is not (fully) resolved.
    pub unmatched: Option<Unmatched>,
}

/// One affected product of one record, prepared for matching.
struct Target<'a> {
    record: &'a VulnRecord,
    /// The record's position, which identifies its CVE.
    record_index: u32,
    affected: &'a AffectedProduct,
    vendor: Option<u32>,
    /// The advisory gives this product's order numbers: a device with another order number is
    /// another variant, whatever its name.
    has_order_numbers: bool,
    /// Name token ids, sorted, de-duplicated.
    tokens: Vec<u32>,
    range: Result<VersionRange, VersionError>,
}

/// Records indexed for matching many devices.
pub struct Matcher<'a> {
    targets: Vec<Target<'a>>,
    /// Canonical order number → targets.
    by_order_number: HashMap<String, Vec<u32>>,
    /// Part-number prefixes (`BMXP34` of `BMXP34*`) and their target, per vendor id.
    prefixes: HashMap<u32, Vec<(String, u32)>>,
    /// (vendor id, token id) → targets whose product name has the token.
    by_token: HashMap<(u32, u32), Vec<u32>>,
    /// The same for targets the advisory lists without order numbers: all that name matching
    /// can add for a device that has one.
    by_token_unnumbered: HashMap<(u32, u32), Vec<u32>>,
    vendor_ids: HashMap<String, u32>,
    token_ids: HashMap<String, u32>,
}

/// Order numbers written in a product name: Siemens' `(6ES7516-3AN01-0AB0)`, a catalog number
/// `1756-EN2T` (words that start with a digit and have a hyphen), and part-number prefixes
/// `BMXP34*` (returned separately).
fn order_numbers_in_name(product: &str) -> (Vec<String>, Vec<String>) {
    let mut exact = Vec::new();
    let mut prefixes = Vec::new();
    for word in product.split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | ',' | ';')) {
        let word = word.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '*');
        if let Some(prefix) = word.strip_suffix('*') {
            if prefix.len() >= 3
                && prefix
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-')
            {
                prefixes.push(prefix.to_ascii_uppercase());
            }
        } else if word.starts_with(|c: char| c.is_ascii_digit()) && word.contains('-') {
            if let Some(canonical) = canonical_order_number(word) {
                exact.push(canonical);
            }
        }
    }
    (exact, prefixes)
}

impl<'a> Matcher<'a> {
    /// Indexes `records` (each affected product's vendor, order numbers, name tokens and
    /// parsed version range).
    pub fn new(records: &'a [VulnRecord]) -> Self {
        let mut matcher = Matcher {
            targets: Vec::new(),
            by_order_number: HashMap::new(),
            prefixes: HashMap::new(),
            by_token: HashMap::new(),
            by_token_unnumbered: HashMap::new(),
            vendor_ids: HashMap::new(),
            token_ids: HashMap::new(),
        };
        let mut ranges: HashMap<&str, Result<VersionRange, VersionError>> = HashMap::new();
        for (record_index, record) in records.iter().enumerate() {
            let Ok(record_index) = u32::try_from(record_index) else {
                return matcher;
            };
            for affected in &record.affected {
                let Ok(id) = u32::try_from(matcher.targets.len()) else {
                    return matcher;
                };
                let vendor = canonical_vendor(&affected.vendor).map(|v| {
                    let next = u32::try_from(matcher.vendor_ids.len()).unwrap_or(u32::MAX);
                    *matcher.vendor_ids.entry(v).or_insert(next)
                });
                let mut tokens: Vec<u32> = product_tokens(&affected.product)
                    .into_iter()
                    .map(|t| {
                        let next = u32::try_from(matcher.token_ids.len()).unwrap_or(u32::MAX);
                        *matcher.token_ids.entry(t).or_insert(next)
                    })
                    .collect();
                tokens.sort_unstable();
                tokens.dedup();
                if let Some(vendor) = vendor {
                    for &token in &tokens {
                        matcher
                            .by_token
                            .entry((vendor, token))
                            .or_default()
                            .push(id);
                    }
                }
                let (mut order_numbers, prefixes) = order_numbers_in_name(&affected.product);
                for model in &affected.model_numbers {
                    match model.split_once('*') {
                        Some((prefix, _)) if prefix.len() >= 3 => {
                            if let (Some(vendor), Some(prefix)) =
                                (vendor, canonical_order_number(prefix))
                            {
                                matcher
                                    .prefixes
                                    .entry(vendor)
                                    .or_default()
                                    .push((prefix, id));
                            }
                        }
                        Some(_) => {}
                        None => order_numbers.extend(canonical_order_number(model)),
                    }
                }
                order_numbers.sort_unstable();
                order_numbers.dedup();
                let has_order_numbers = !order_numbers.is_empty();
                if let Some(vendor) = vendor {
                    for &token in &tokens {
                        matcher
                            .by_token
                            .entry((vendor, token))
                            .or_default()
                            .push(id);
                        if !has_order_numbers {
                            matcher
                                .by_token_unnumbered
                                .entry((vendor, token))
                                .or_default()
                                .push(id);
                        }
                    }
                }
                for number in order_numbers {
                    matcher.by_order_number.entry(number).or_default().push(id);
                }
                if let Some(vendor) = vendor {
                    for prefix in prefixes {
                        matcher
                            .prefixes
                            .entry(vendor)
                            .or_default()
                            .push((prefix, id));
                    }
                }
                let range = ranges
                    .entry(affected.versions.as_str())
                    .or_insert_with(|| VersionRange::parse(&affected.versions))
                    .clone();
                matcher.targets.push(Target {
                    record,
                    record_index,
                    affected,
                    vendor,
                    has_order_numbers,
                    tokens,
                    range,
                });
            }
        }
        matcher
    }

    /// How many affected products are indexed.
    pub fn products(&self) -> usize {
        self.targets.len()
    }

    /// How many affected products have a version range that cannot be read (they match
    /// with low confidence).
    pub fn unreadable_ranges(&self) -> usize {
        self.targets.iter().filter(|t| t.range.is_err()).count()
    }

    /// Matches one device.
    pub fn match_device(&self, device: &DeviceProduct) -> DeviceMatches<'a> {
        let vendor = device
            .canonical_vendor
            .as_ref()
            .and_then(|v| self.vendor_ids.get(v).copied());
        let mut found: Vec<(u32, Basis<'_>)> = Vec::new();
        if let Some(order) = &device.order_number {
            let exact = self.by_order_number.get(&order.value).into_iter().flatten();
            found.extend(exact.map(|&id| (id, Basis::OrderNumber(None))));
            if let Some(prefixes) = vendor.and_then(|v| self.prefixes.get(&v)) {
                found.extend(
                    prefixes
                        .iter()
                        .filter(|(prefix, _)| order.value.starts_with(prefix.as_str()))
                        .map(|(prefix, id)| (*id, Basis::OrderNumber(Some(prefix)))),
                );
            }
            // The vendor, when known on both sides, must agree.
            found.retain(|(id, _)| match (&device.canonical_vendor, vendor) {
                (Some(_), Some(v)) => self.target_vendor(*id) == Some(v),
                (Some(_), None) => false,
                (None, _) => true,
            });
        }
        if let Some(vendor) = vendor {
            let has_order_number = device.order_number.is_some();
            for name in &device.names {
                self.match_name(vendor, name, has_order_number, &mut found);
            }
        }
        // One entry per product, the order number's (found first) before a name's.
        found.sort_by_key(|(id, _)| *id);
        found.dedup_by_key(|(id, _)| *id);
        let firmware = device.firmware.as_ref().map(|f| Version::parse(&f.value));
        // Decided cheaply for every product, worded only for the one kept per record (CVE):
        // the most confident, the first found among equals.
        let mut decided: Vec<(u32, std::cmp::Reverse<Confidence>, usize, Outcome<'_>)> =
            Vec::with_capacity(found.len());
        for (index, (id, basis)) in found.iter().enumerate() {
            let Some(target) = self.targets.get(*id as usize) else {
                continue;
            };
            if let Some((confidence, outcome)) =
                decide(target, basis_confidence(basis), firmware.as_ref())
            {
                decided.push((
                    target.record_index,
                    std::cmp::Reverse(confidence),
                    index,
                    outcome,
                ));
            }
        }
        decided.sort_by_key(|(record, confidence, index, _)| (*record, *confidence, *index));
        decided.dedup_by_key(|(record, ..)| *record);
        let mut matches: Vec<VulnMatch<'a>> = decided
            .iter()
            .filter_map(|(_, confidence, index, outcome)| {
                let (id, basis) = found.get(*index)?;
                let target = self.targets.get(*id as usize)?;
                Some(describe(device, target, basis, confidence.0, *outcome))
            })
            .collect();
        matches.sort_by(|a, b| {
            b.kev
                .cmp(&a.kev)
                .then_with(|| b.cvss.unwrap_or(0.0).total_cmp(&a.cvss.unwrap_or(0.0)))
                .then_with(|| a.cve.cmp(b.cve))
        });
        let unmatched = self.unmatched(device, vendor, !found.is_empty());
        DeviceMatches { matches, unmatched }
    }

    fn target_vendor(&self, id: u32) -> Option<u32> {
        self.targets.get(id as usize)?.vendor
    }

    /// Products of `vendor` whose name has every token of `name` (and `name` has a token that
    /// names something: `PLC` or `CPU module` alone names no product), and not another variant (a product listed by order numbers when the device's own did not
    /// match).
    fn match_name<'m>(
        &'m self,
        vendor: u32,
        name: &'m str,
        has_order_number: bool,
        found: &mut Vec<(u32, Basis<'m>)>,
    ) {
        let tokens = product_tokens(name);
        if !tokens.iter().any(|t| is_distinctive(t)) {
            return;
        }
        let mut ids = Vec::with_capacity(tokens.len());
        for token in &tokens {
            // A token no product has: no product has them all.
            let Some(&id) = self.token_ids.get(token) else {
                return;
            };
            ids.push(id);
        }
        // Candidates from the rarest token, then every token checked.
        let index = if has_order_number {
            &self.by_token_unnumbered
        } else {
            &self.by_token
        };
        let Some(rarest) = ids
            .iter()
            .map(|&t| index.get(&(vendor, t)))
            .min_by_key(|postings| postings.map_or(0, Vec::len))
            .flatten()
        else {
            return;
        };
        for &target_id in rarest {
            let Some(target) = self.targets.get(target_id as usize) else {
                continue;
            };
            if !(has_order_number && target.has_order_numbers)
                && ids.iter().all(|t| target.tokens.binary_search(t).is_ok())
            {
                found.push((target_id, Basis::Name(name)));
            }
        }
    }

    fn unmatched(
        &self,
        device: &DeviceProduct,
        vendor: Option<u32>,
        resolved: bool,
    ) -> Option<Unmatched> {
        if device.model.is_none() && device.order_number.is_none() {
            return None;
        }
        let (reason, explanation) = if resolved {
            if device.firmware.is_some() {
                return None;
            }
            (
                UnmatchedReason::NoFirmware,
                "products resolve but the firmware version is not known: affected versions \
                 not checked"
                    .to_owned(),
            )
        } else if vendor.is_none() {
            (
                UnmatchedReason::VendorUnknown,
                match &device.vendor {
                    Some(v) => format!("no record names vendor `{}`", v.value),
                    None => "the device's vendor is not known".to_owned(),
                },
            )
        } else {
            (
                UnmatchedReason::ProductUnknown,
                format!(
                    "no product of {} resolves from {}",
                    device.canonical_vendor.as_deref().unwrap_or(""),
                    describe_identity(device)
                ),
            )
        };
        Some(Unmatched {
            vendor: device.vendor.as_ref().map(|v| v.value.clone()),
            model: device.model.as_ref().map(|m| m.value.clone()),
            order_number: device.order_number.as_ref().map(|o| o.value.clone()),
            reason,
            explanation,
        })
    }
}

/// Words that say what kind of device, not which product.
const GENERIC_WORDS: &[&str] = &[
    "plc",
    "cpu",
    "controller",
    "controllers",
    "device",
    "module",
    "modules",
    "series",
    "system",
    "server",
    "switch",
    "router",
    "gateway",
    "hmi",
    "panel",
    "station",
    "unit",
    "network",
    "ethernet",
    "web",
    "firmware",
    "adapter",
    "communications",
    "programmable",
    "logic",
    "industrial",
    "family",
    "the",
    "and",
    "for",
    "with",
];

/// A name token that can tell products apart: one with a digit (`1516`, `s7`), or a word of
/// at least three letters that is not generic (`fbxi`, `mxview`).
fn is_distinctive(token: &str) -> bool {
    token.chars().any(|c| c.is_ascii_digit())
        || (token.len() >= 3 && !GENERIC_WORDS.contains(&token))
}

fn describe_identity(device: &DeviceProduct) -> String {
    let mut parts = Vec::new();
    if let Some(order) = &device.order_number {
        parts.push(format!("order number {}", order.value));
    }
    if let Some(model) = &device.model {
        parts.push(format!("model `{}`", model.value));
    }
    parts.join(" or ")
}

/// How a device was recognised as a target's product.
#[derive(Debug, Clone, Copy)]
enum Basis<'m> {
    /// Its order number, exactly or by the advisory's part-number prefix.
    OrderNumber(Option<&'m str>),
    /// One of its names.
    Name(&'m str),
}

fn sourced_text(label: &str, value: &str, source: &str) -> String {
    if source.is_empty() {
        format!("{label} {value}")
    } else {
        format!("{label} {value} ({source})")
    }
}

/// What the version check says about a recognised product.
#[derive(Debug, Clone, Copy)]
enum Outcome<'t> {
    /// The advisory's versions cannot be read.
    UnreadableRange(&'t VersionError),
    /// Every version is affected.
    AllVersions,
    /// The device's firmware is not known.
    NoFirmware,
    /// The device's firmware is no version.
    BadFirmware(&'t VersionError),
    /// The firmware falls in the range (with the advisory's caveat, if any).
    InRange(Option<&'t str>),
}

/// Whether a recognised product's vulnerability affects the device, and how sure that is;
/// cheap (no text is built), so that only the match kept per CVE is worded.
fn decide<'t>(
    target: &'t Target<'_>,
    product_confidence: Confidence,
    firmware: Option<&'t Result<Version, VersionError>>,
) -> Option<(Confidence, Outcome<'t>)> {
    Some(match (&target.range, firmware) {
        (Err(error), _) => (Confidence::Low, Outcome::UnreadableRange(error)),
        (Ok(range), _) if range.is_all() && range.caveat.is_none() => {
            (product_confidence, Outcome::AllVersions)
        }
        (Ok(_), None) => (Confidence::Low, Outcome::NoFirmware),
        (Ok(_), Some(Err(error))) => (Confidence::Low, Outcome::BadFirmware(error)),
        (Ok(range), Some(Ok(version))) => {
            if !range.contains(version) {
                return None;
            }
            match &range.caveat {
                Some(caveat) => (Confidence::Low, Outcome::InRange(Some(caveat))),
                None => (product_confidence, Outcome::InRange(None)),
            }
        }
    })
}

fn basis_confidence(basis: &Basis<'_>) -> Confidence {
    match basis {
        Basis::OrderNumber(_) => Confidence::High,
        Basis::Name(_) => Confidence::Medium,
    }
}

/// Words a match: which facts, which range, which advisory.
fn describe<'a>(
    device: &DeviceProduct,
    target: &Target<'a>,
    basis: &Basis<'_>,
    confidence: Confidence,
    outcome: Outcome<'_>,
) -> VulnMatch<'a> {
    let record = target.record;
    let affected = target.affected;
    let recognised_by = match basis {
        Basis::OrderNumber(prefix) => {
            let (value, source) = device
                .order_number
                .as_ref()
                .map_or(("", ""), |o| (o.value.as_str(), o.source.as_str()));
            let mut text = sourced_text("order number", value, source);
            if let Some(prefix) = prefix {
                text.push_str(&format!(" (part numbers {prefix}*)"));
            }
            text
        }
        Basis::Name(name) => {
            let source = device
                .model
                .as_ref()
                .filter(|m| m.value == *name)
                .map_or("catalog family", |m| m.source.as_str());
            sourced_text("product name", &format!("`{name}`"), source)
        }
    };
    // The first advisory names where to read; a CVE many advisories repeat (OpenSSL's) says
    // how many more rather than list them all in every match.
    let advisories = match record.advisories.as_slice() {
        [] => record.cve.clone(),
        [one] => one.clone(),
        [first, two] => format!("{first}, {two}"),
        [first, rest @ ..] => format!("{first} and {} more", rest.len()),
    };
    let versions = if affected.versions.trim().is_empty() {
        "all versions"
    } else {
        affected.versions.as_str()
    };
    let product = &affected.product;
    let firmware = device.firmware.as_ref();
    let reason = match outcome {
        Outcome::UnreadableRange(error) => format!(
            "{recognised_by} names {product} in {advisories}, whose affected versions \
             `{versions}` cannot be read ({error}): the version is not checked"
        ),
        Outcome::AllVersions => format!(
            "{recognised_by} names {product}, affected in every version (`{versions}`) in \
             {advisories}"
        ),
        Outcome::NoFirmware => format!(
            "{recognised_by} names {product} in {advisories}; its firmware is not known, so \
             whether it falls in `{versions}` is not known"
        ),
        Outcome::BadFirmware(error) => format!(
            "{recognised_by} names {product} in {advisories}; firmware `{}` is not a version \
             ({error}), so whether it falls in `{versions}` is not known",
            firmware.map_or("", |f| f.value.as_str())
        ),
        Outcome::InRange(caveat) => {
            let (value, source) =
                firmware.map_or(("", ""), |f| (f.value.as_str(), f.source.as_str()));
            let facts = if source.is_empty() {
                String::new()
            } else {
                format!(" (from {source})")
            };
            let mut reason = format!(
                "{recognised_by} and firmware {value}{facts} fall in `{versions}` for {product} \
                 in {advisories}"
            );
            if let Some(caveat) = caveat {
                reason.push_str(&format!(
                    "; the advisory adds `{caveat}`, which facts cannot confirm"
                ));
            }
            reason
        }
    };
    VulnMatch {
        cve: &record.cve,
        cvss: record.cvss_score,
        kev: record.kev.is_some(),
        advisories: &record.advisories,
        product: &affected.product,
        versions: &affected.versions,
        fixed_in: &affected.fixed_in,
        confidence,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ti::normalize::Sourced;

    fn record(cve: &str, cvss: f32, kev: bool, affected: Vec<AffectedProduct>) -> VulnRecord {
        VulnRecord {
            cve: cve.to_owned(),
            title: String::new(),
            cvss_score: Some(cvss),
            cvss_vector: None,
            cwe: Vec::new(),
            advisories: vec![format!("ICSA-{cve}")],
            references: Vec::new(),
            affected,
            remediation: Vec::new(),
            kev: kev.then(|| crate::vuln::KevEntry {
                date_added: "2024-01-01".to_owned(),
                due_date: None,
                ransomware: false,
                required_action: String::new(),
            }),
        }
    }

    fn product(vendor: &str, name: &str, models: &[&str], versions: &str) -> AffectedProduct {
        AffectedProduct {
            vendor: vendor.to_owned(),
            product: name.to_owned(),
            model_numbers: models.iter().map(|m| (*m).to_owned()).collect(),
            versions: versions.to_owned(),
            fixed_in: vec!["V9".to_owned()],
        }
    }

    fn device(vendor: &str, model: &str, code: &str, firmware: &str) -> DeviceProduct {
        let sourced = |value: &str| {
            (!value.is_empty()).then(|| Sourced {
                value: value.to_owned(),
                source: "test".to_owned(),
            })
        };
        DeviceProduct::from_parts(
            sourced(vendor),
            sourced(model),
            sourced(code),
            sourced(firmware),
        )
    }

    fn records() -> Vec<VulnRecord> {
        vec![
            record(
                "CVE-1",
                7.5,
                false,
                vec![product(
                    "Siemens",
                    "SIMATIC S7-1500 CPU 1516-3 PN/DP (6ES7516-3AN01-0AB0)",
                    &["6ES7516-3AN01-0AB0"],
                    "vers:all/<V3.0.3",
                )],
            ),
            record(
                "CVE-2",
                5.0,
                true,
                vec![product(
                    "Siemens AG",
                    "SIMATIC S7-1500 CPU 1516-3 PN/DP",
                    &[],
                    "vers:all/*",
                )],
            ),
            record(
                "CVE-3",
                9.8,
                false,
                vec![product(
                    "Schneider Electric",
                    "Modicon M340 CPU (part numbers BMXP34*)",
                    &[],
                    "<SV3.65",
                )],
            ),
            record(
                "CVE-4",
                6.0,
                false,
                vec![product(
                    "Siemens",
                    "SCALANCE X200",
                    &[],
                    "<=The_first_5_digits",
                )],
            ),
        ]
    }

    #[test]
    fn order_number_and_firmware_in_range_is_high() {
        let records = records();
        let matcher = Matcher::new(&records);
        let found = matcher.match_device(&device(
            "Siemens",
            "CPU 1516-3 PN/DP",
            "6ES7 516-3AN01-0AB0",
            "V2.9.4",
        ));
        let cves: Vec<_> = found
            .matches
            .iter()
            .map(|m| (m.cve, m.confidence))
            .collect();
        // KEV first even with the lower score; CVE-2's product is named, without order number.
        assert_eq!(
            cves,
            [("CVE-2", Confidence::Medium), ("CVE-1", Confidence::High)]
        );
        assert_eq!(
            found.matches[1].reason,
            "order number 6ES7516-3AN01-0AB0 (test) and firmware V2.9.4 (from test) fall in \
             `vers:all/<V3.0.3` for SIMATIC S7-1500 CPU 1516-3 PN/DP (6ES7516-3AN01-0AB0) in \
             ICSA-CVE-1"
        );
        assert!(found.unmatched.is_none());
        // The fixed version is out of the range.
        let fixed = matcher.match_device(&device("Siemens", "", "6ES7516-3AN01-0AB0", "V3.0.3"));
        assert!(fixed.matches.is_empty());
        // Another variant of the same name is not recognised by name.
        let variant = matcher.match_device(&device(
            "Siemens",
            "CPU 1516-3 PN/DP",
            "6ES7516-3AN02-0AB0",
            "V2.9.4",
        ));
        let cves: Vec<_> = variant.matches.iter().map(|m| m.cve).collect();
        assert_eq!(cves, ["CVE-2"]);
    }

    #[test]
    fn a_name_match_is_medium_and_unknown_firmware_is_low() {
        let records = records();
        let matcher = Matcher::new(&records);
        let found = matcher.match_device(&device("Siemens AG", "CPU 1516-3 PN/DP", "", "V2.0"));
        let cves: Vec<_> = found
            .matches
            .iter()
            .map(|m| (m.cve, m.confidence))
            .collect();
        assert_eq!(
            cves,
            [("CVE-2", Confidence::Medium), ("CVE-1", Confidence::Medium)]
        );
        let found = matcher.match_device(&device("Siemens AG", "CPU 1516-3 PN/DP", "", ""));
        let cves: Vec<_> = found
            .matches
            .iter()
            .map(|m| (m.cve, m.confidence))
            .collect();
        assert_eq!(
            cves,
            [("CVE-2", Confidence::Medium), ("CVE-1", Confidence::Low)]
        );
        assert_eq!(found.unmatched.unwrap().reason, UnmatchedReason::NoFirmware);
        // Another vendor's device of the same name is not Siemens'.
        let other = matcher.match_device(&device("Acme", "CPU 1516-3 PN/DP", "", "V2.0"));
        assert!(other.matches.is_empty());
        assert_eq!(
            other.unmatched.unwrap().reason,
            UnmatchedReason::VendorUnknown
        );
    }

    #[test]
    fn part_number_prefixes_and_unreadable_ranges() {
        let records = records();
        let matcher = Matcher::new(&records);
        assert_eq!(matcher.unreadable_ranges(), 1);
        let m340 = matcher.match_device(&device("Schneider Electric", "", "BMX P34 2020", "v3.60"));
        assert_eq!(m340.matches.len(), 1);
        assert_eq!(m340.matches[0].confidence, Confidence::High);
        assert!(
            m340.matches[0].reason.contains("part numbers BMXP34*"),
            "{}",
            m340.matches[0].reason
        );
        let patched =
            matcher.match_device(&device("Schneider Electric", "", "BMXP342020", "SV3.65"));
        assert!(patched.matches.is_empty());
        assert!(patched.unmatched.is_none(), "resolved, just not affected");
        let scalance = matcher.match_device(&device("Siemens", "SCALANCE X200", "", "V5.2"));
        assert_eq!(scalance.matches.len(), 1);
        assert_eq!(scalance.matches[0].confidence, Confidence::Low);
        assert!(scalance.matches[0].reason.contains("cannot be read"));
        let unknown = matcher.match_device(&device("Siemens", "LOGO! 8", "", "V1"));
        assert_eq!(
            unknown.unmatched.unwrap().reason,
            UnmatchedReason::ProductUnknown
        );
        let vendor_only = matcher.match_device(&device("Siemens", "", "", ""));
        assert!(vendor_only.matches.is_empty() && vendor_only.unmatched.is_none());
    }
}
