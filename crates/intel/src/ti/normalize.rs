/*!
What a device is, in the terms advisories use: its vendor under one canonical name, its order
number in the vendor's canonical spelling, the product names it may go by and its firmware,
each with the protocol fact it comes from so that a match can say why.

Devices and advisories name the same things differently: S7comm answers `6ES7 516-3AN01-0AB0`
where the advisory writes `6ES7516-3AN01-0AB0`; EtherNet/IP says `Rockwell
Automation/Allen-Bradley` and `1756-L73/B LOGIX5573` where advisories say `Rockwell Automation`
and `ControlLogix 5570`; Modbus device identification says `Schneider Electric` and
`BMX P34 2020` where the advisory says `Modicon M340 CPU (part numbers BMXP34*)`. The same
functions normalise both sides, so what they cannot map still compares equal when both sides
spell it alike.
*/

use ironward_model::Attribute;

use crate::identity::Identity;

/// Vendors under their canonical name, with the names devices and advisories use for them
/// (whole words, lower case, matched anywhere in the vendor text).
const VENDOR_ALIASES: &[(&str, &[&str])] = &[
    ("Siemens", &["siemens"]),
    (
        "Rockwell Automation",
        &["rockwell", "allen-bradley", "allen bradley"],
    ),
    (
        "Schneider Electric",
        &["schneider", "telemecanique", "modicon", "square d"],
    ),
    ("Hitachi Energy", &["hitachi energy"]),
    ("ABB", &["abb"]),
    ("Moxa", &["moxa"]),
    ("Mitsubishi Electric", &["mitsubishi", "melco"]),
    ("Omron", &["omron"]),
    ("Phoenix Contact", &["phoenix contact", "phoenixcontact"]),
    ("Honeywell", &["honeywell"]),
    ("Emerson", &["emerson", "fisher-rosemount"]),
    (
        "GE",
        &["general electric", "ge digital", "ge vernova", "ge"],
    ),
    ("Johnson Controls", &["johnson controls"]),
    ("Delta Electronics", &["delta electronics"]),
    ("WAGO", &["wago"]),
    ("Beckhoff", &["beckhoff"]),
    ("Axis", &["axis communications", "axis"]),
];

/// Words that say what kind of company, not which.
const CORPORATE_WORDS: &[&str] = &[
    "ag",
    "inc",
    "gmbh",
    "co",
    "kg",
    "ltd",
    "llc",
    "corp",
    "corporation",
    "company",
    "sa",
    "se",
    "plc",
    "limited",
    "the",
];

/// The canonical name of a vendor as a device or an advisory writes it: a known vendor's
/// canonical name (`Siemens AG` → `Siemens`, `Rockwell Automation/Allen-Bradley` →
/// `Rockwell Automation`), otherwise the text without corporate words and punctuation
/// (`Acme Widgets, Inc.` → `acme widgets`); `None` for a text with no name in it.
pub fn canonical_vendor(text: &str) -> Option<String> {
    let words = words(text);
    if words.is_empty() {
        return None;
    }
    let joined = words.join(" ");
    for (canonical, aliases) in VENDOR_ALIASES {
        if aliases.iter().any(|alias| contains_words(&joined, alias)) {
            return Some((*canonical).to_owned());
        }
    }
    let kept: Vec<&str> = words
        .iter()
        .map(String::as_str)
        .filter(|w| !CORPORATE_WORDS.contains(w))
        .collect();
    (!kept.is_empty()).then(|| kept.join(" "))
}

/// Lower-case words of a text (letters, digits and inner hyphens), at most 32 of them.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '-'))
        .map(|w| w.trim_matches('-'))
        .filter(|w| !w.is_empty())
        .take(32)
        .map(str::to_lowercase)
        .collect()
}

/// `phrase` occurs in `joined` as whole words.
fn contains_words(joined: &str, phrase: &str) -> bool {
    let mut from = 0;
    while let Some(found) = joined[from..].find(phrase) {
        let start = from + found;
        let end = start + phrase.len();
        let before = joined[..start].chars().next_back();
        let after = joined[end..].chars().next();
        let boundary = |c: Option<char>| c.is_none_or(|c| c == ' ');
        if boundary(before) && boundary(after) {
            return true;
        }
        from = start + 1;
        while !joined.is_char_boundary(from) {
            from += 1;
        }
    }
    false
}

/// An order or catalog number in canonical spelling: upper case, without spaces
/// (`6ES7 516-3AN01-0AB0` → `6ES7516-3AN01-0AB0`, `BMX P34 2020` → `BMXP342020`). `None`
/// for a text that is no order number (no digit, no letter, too short or too long, other
/// characters than letters, digits, `-`, `/`, `.` and spaces).
pub fn canonical_order_number(text: &str) -> Option<String> {
    let trimmed = text.trim();
    if trimmed.len() < 5 || trimmed.len() > 40 {
        return None;
    }
    if !trimmed
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '/' | '.' | ' '))
    {
        return None;
    }
    let canonical: String = trimmed
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let digits = canonical.chars().any(|c| c.is_ascii_digit());
    let letters = canonical.chars().any(|c| c.is_ascii_alphabetic());
    (digits && letters && canonical.len() >= 5).then_some(canonical)
}

/// Rockwell catalog-number prefixes and the controller family advisories name them by.
/// CIP identity gives the catalog number (`1756-L73/B`); advisories list the family
/// (`ControlLogix 5570 controllers`).
const CATALOG_FAMILIES: &[(&str, &str)] = &[
    ("1756-L6", "ControlLogix 5560"),
    ("1756-L7", "ControlLogix 5570"),
    ("1756-L8", "ControlLogix 5580"),
    // Advisories name the 5370 both as a whole and by its L1/L2/L3 lines, with one range.
    ("1769-L1", "CompactLogix 5370"),
    ("1769-L2", "CompactLogix 5370"),
    ("1769-L3", "CompactLogix 5370"),
    ("5069-L3", "CompactLogix 5380"),
    ("5069-L4", "CompactLogix 5480"),
    ("1766-L32", "MicroLogix 1400"),
    ("1763-L16", "MicroLogix 1100"),
];

/// The family a catalog number belongs to, when it is one advisories name products by.
pub fn catalog_family(order_number: &str) -> Option<&'static str> {
    CATALOG_FAMILIES
        .iter()
        .find(|(prefix, _)| order_number.starts_with(prefix))
        .map(|(_, family)| *family)
}

/// Lower-case name tokens of a product text: runs of letters and digits (`SIMATIC S7-1500
/// CPU 1516-3 PN/DP` → `simatic s7 1500 cpu 1516 3 pn dp`), at most 48.
pub fn product_tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .take(48)
        .map(str::to_lowercase)
        .collect()
}

/// One value of a device with the source of the fact it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced {
    /// The value as the device gave it.
    pub value: String,
    /// The fact's source (`s7comm`, `enip`, `modbus`, ...).
    pub source: String,
}

/// A device in the terms advisories use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceProduct {
    /// Vendor as the device's facts name it.
    pub vendor: Option<Sourced>,
    /// Canonical vendor ([`canonical_vendor`]).
    pub canonical_vendor: Option<String>,
    /// Model as the device's facts name it.
    pub model: Option<Sourced>,
    /// Order or catalog number, canonical ([`canonical_order_number`]), with its source.
    pub order_number: Option<Sourced>,
    /// Product names the device may go by, for name matching: its model, and the family its
    /// catalog number belongs to.
    pub names: Vec<String>,
    /// Firmware version text.
    pub firmware: Option<Sourced>,
}

impl DeviceProduct {
    /// Reads a device's merged identity: vendor, model, product code (order number) and
    /// firmware, each the winning value, with its fact's source.
    pub fn from_identity(identity: &Identity) -> Self {
        let sourced = |attribute: Attribute| -> Option<Sourced> {
            let value = identity.values.get(&attribute)?.trim();
            if value.is_empty() {
                return None;
            }
            let source = identity
                .facts
                .iter()
                .find(|f| f.selected && f.attribute == attribute.as_str())
                .map_or_else(String::new, |f| f.source.clone().into_owned());
            Some(Sourced {
                value: value.to_owned(),
                source,
            })
        };
        Self::from_parts(
            sourced(Attribute::Vendor),
            sourced(Attribute::Model),
            sourced(Attribute::ProductCode),
            sourced(Attribute::Firmware),
        )
    }

    /// Reads a device of a report: its shown vendor, model and firmware, and its product code,
    /// each with the source of the fact that decided it.
    pub fn from_device(device: &ironward_model::Device) -> Self {
        let source_of = |attribute: Attribute, value: &str| {
            device
                .facts
                .iter()
                .find(|f| f.selected && f.attribute == attribute.as_str() && f.value == value)
                .or_else(|| {
                    device
                        .facts
                        .iter()
                        .find(|f| f.attribute == attribute.as_str() && f.value == value)
                })
                .map_or_else(String::new, |f| f.source.clone().into_owned())
        };
        let sourced = |attribute: Attribute, value: Option<&String>| {
            let value = value?.trim();
            (!value.is_empty()).then(|| Sourced {
                value: value.to_owned(),
                source: source_of(attribute, value),
            })
        };
        let product_code = device
            .facts
            .iter()
            .find(|f| f.selected && f.attribute == Attribute::ProductCode.as_str())
            .map(|f| Sourced {
                value: f.value.clone().into_owned(),
                source: f.source.clone().into_owned(),
            });
        Self::from_parts(
            sourced(Attribute::Vendor, device.vendor.as_ref()),
            sourced(Attribute::Model, device.model.as_ref()),
            product_code,
            sourced(Attribute::Firmware, device.firmware.as_ref()),
        )
    }

    /// Builds it from the four values (what [`from_identity`](Self::from_identity) reads).
    pub fn from_parts(
        vendor: Option<Sourced>,
        model: Option<Sourced>,
        product_code: Option<Sourced>,
        firmware: Option<Sourced>,
    ) -> Self {
        let canonical_vendor = vendor.as_ref().and_then(|v| canonical_vendor(&v.value));
        // The product code is the order number; a model that is a catalog number
        // (`1756-L73/B LOGIX5573`: its first word, series after the slash dropped) is one too.
        let order_number = product_code
            .as_ref()
            .and_then(|code| {
                canonical_order_number(&code.value).map(|value| Sourced {
                    value,
                    source: code.source.clone(),
                })
            })
            .or_else(|| {
                let model = model.as_ref()?;
                let first = model.value.split_whitespace().next()?;
                let catalog = first.split('/').next()?;
                (catalog.contains('-') && catalog.starts_with(|c: char| c.is_ascii_digit()))
                    .then(|| canonical_order_number(catalog))
                    .flatten()
                    .map(|value| Sourced {
                        value,
                        source: model.source.clone(),
                    })
            });
        let mut names = Vec::new();
        if let Some(model) = &model {
            names.push(model.value.clone());
        }
        if let Some(family) = order_number.as_ref().and_then(|o| catalog_family(&o.value)) {
            names.push(family.to_owned());
        }
        DeviceProduct {
            vendor,
            canonical_vendor,
            model,
            order_number,
            names,
            firmware,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ironward_model::{DeviceKey, Fact, Source, Timestamp};

    #[test]
    fn vendor_aliases_name_one_vendor() {
        for (text, canonical) in [
            ("Siemens AG", "Siemens"),
            ("SIEMENS", "Siemens"),
            ("Rockwell Automation/Allen-Bradley", "Rockwell Automation"),
            ("Allen-Bradley", "Rockwell Automation"),
            ("Rockwell Automation ", "Rockwell Automation"),
            ("Schneider Electric", "Schneider Electric"),
            ("Telemecanique", "Schneider Electric"),
            ("Schneider Electric Software, LLC", "Schneider Electric"),
            ("ABB", "ABB"),
            ("ABB Ltd", "ABB"),
            ("Moxa Inc.", "Moxa"),
            ("MOXA", "Moxa"),
            ("Mitsubishi Electric Corporation", "Mitsubishi Electric"),
            (" Hitachi Energy", "Hitachi Energy"),
            ("Johnson Controls, Inc.", "Johnson Controls"),
            ("GE Digital", "GE"),
        ] {
            assert_eq!(canonical_vendor(text).as_deref(), Some(canonical), "{text}");
        }
        // Not a vendor's alias inside another word.
        assert_eq!(
            canonical_vendor("Gabbro Systems").as_deref(),
            Some("gabbro systems")
        );
        assert_eq!(
            canonical_vendor("Acme Widgets, Inc.").as_deref(),
            Some("acme widgets")
        );
        assert_eq!(canonical_vendor(" , . "), None);
        assert_eq!(canonical_vendor("Inc."), None);
    }

    #[test]
    fn order_numbers_lose_spaces_and_case() {
        assert_eq!(
            canonical_order_number("6ES7 516-3AN01-0AB0").as_deref(),
            Some("6ES7516-3AN01-0AB0")
        );
        assert_eq!(
            canonical_order_number("6es7516-3an01-0ab0").as_deref(),
            Some("6ES7516-3AN01-0AB0")
        );
        assert_eq!(
            canonical_order_number("BMX P34 2020").as_deref(),
            Some("BMXP342020")
        );
        assert_eq!(canonical_order_number("54"), None);
        assert_eq!(canonical_order_number("ABCDEF"), None);
        assert_eq!(canonical_order_number("6ES7;DROP"), None);
        assert_eq!(canonical_order_number(&"6ES7".repeat(20)), None);
    }

    #[test]
    fn catalog_numbers_name_their_family() {
        assert_eq!(catalog_family("1756-L73"), Some("ControlLogix 5570"));
        assert_eq!(catalog_family("1769-L33ER"), Some("CompactLogix 5370"));
        assert_eq!(catalog_family("1756-EN2T"), None);
    }

    #[test]
    fn s7_identity_gives_order_number_and_firmware_with_sources() {
        let device = DeviceKey::Ip("10.0.0.5".parse().unwrap());
        let fact = |attribute, value: &'static str| {
            Fact::new(device, attribute, value, Source::S7comm, Timestamp(1))
        };
        let facts = [
            fact(Attribute::Vendor, "Siemens"),
            fact(Attribute::ProductCode, "6ES7 516-3AN01-0AB0"),
            fact(Attribute::Model, "CPU 1516-3 PN/DP"),
            fact(Attribute::Firmware, "V2.9.4"),
        ];
        let identity = crate::identity::resolve(&facts, &[]);
        let product = DeviceProduct::from_identity(&identity);
        assert_eq!(product.canonical_vendor.as_deref(), Some("Siemens"));
        let order = product.order_number.unwrap();
        assert_eq!(order.value, "6ES7516-3AN01-0AB0");
        assert_eq!(order.source, "s7comm");
        assert_eq!(product.firmware.unwrap().value, "V2.9.4");
        assert_eq!(product.names, ["CPU 1516-3 PN/DP"]);
    }

    #[test]
    fn a_cip_catalog_model_is_an_order_number_and_names_its_family() {
        let sourced = |value: &str| Sourced {
            value: value.to_owned(),
            source: "enip".to_owned(),
        };
        let product = DeviceProduct::from_parts(
            Some(sourced("Rockwell Automation/Allen-Bradley")),
            Some(sourced("1756-L73/B LOGIX5573")),
            Some(sourced("54")),
            Some(sourced("20.11")),
        );
        assert_eq!(
            product.canonical_vendor.as_deref(),
            Some("Rockwell Automation")
        );
        assert_eq!(product.order_number.unwrap().value, "1756-L73");
        assert_eq!(product.names, ["1756-L73/B LOGIX5573", "ControlLogix 5570"]);
    }

    #[test]
    fn product_tokens_split_on_punctuation() {
        assert_eq!(
            product_tokens("SIMATIC S7-1500 CPU 1516-3 PN/DP (6ES7516-3AN01-0AB0)"),
            ["simatic", "s7", "1500", "cpu", "1516", "3", "pn", "dp", "6es7516", "3an01", "0ab0"]
        );
    }
}
