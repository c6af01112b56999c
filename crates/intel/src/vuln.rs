/*!
Vulnerability records: what a threat-intelligence package says about one CVE, in the shape the
matcher needs, independent of the source format it was imported from (CSAF advisories, the KEV
catalog).

Versions stay as the advisory wrote them (`vers:all/>=V3.1.0|<V3.1.2`, `<V7.2`,
`>= 20 | <= 30.014`): the matcher parses them with its version semantics, so a better parser
improves every package already built, and an expression it cannot read is shown, not lost.
*/

use serde::{Deserialize, Serialize};

/// One CVE with what it affects and how to fix it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VulnRecord {
    /// CVE id (`CVE-2024-38876`).
    pub cve: String,
    /// Short title.
    pub title: String,
    /// CVSS v3 base score (0.0–10.0), when the source gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvss_score: Option<f32>,
    /// CVSS v3 vector (`CVSS:3.1/AV:N/...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvss_vector: Option<String>,
    /// CWE ids (`CWE-787`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cwe: Vec<String>,
    /// Advisories that describe it (`ICSA-24-228-11`, a vendor's SSA id).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub advisories: Vec<String>,
    /// Reference addresses (advisory pages).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    /// Affected products.
    #[serde(default)]
    pub affected: Vec<AffectedProduct>,
    /// Remediation advice (vendor fix, mitigation, workaround), as the advisory words it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remediation: Vec<String>,
    /// Known exploited in the wild (CISA KEV), when listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kev: Option<KevEntry>,
}

/// One affected product of a vulnerability, with its affected versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AffectedProduct {
    /// Vendor as the advisory names it (`Siemens`, `Schneider Electric`).
    pub vendor: String,
    /// Product as the advisory names it, family branches joined by " / " when the advisory
    /// nests them (`SIMATIC S7-1500 CPU 1513R-1 PN (6ES7513-1RM03-0AB0)`).
    pub product: String,
    /// Model or order numbers from the advisory's product identification helpers
    /// (`6ES7513-1RM03-0AB0`), the surest way to recognise a device.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub model_numbers: Vec<String>,
    /// Affected versions as the advisory writes them (`vers:all/<V3.0.3`, `<V4.4`, `vers:all/*`;
    /// empty: the advisory gives none, which means every version).
    #[serde(default)]
    pub versions: String,
    /// Versions that fix it, when the advisory names them (`V3.0.3`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fixed_in: Vec<String>,
}

/// A CISA Known Exploited Vulnerabilities catalog entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KevEntry {
    /// Date added to the catalog (`2024-07-09`).
    pub date_added: String,
    /// Date by which US federal agencies must remediate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<String>,
    /// Known use in ransomware campaigns (`knownRansomwareCampaignUse` is `Known`).
    #[serde(default)]
    pub ransomware: bool,
    /// Required action, as the catalog words it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub required_action: String,
}
