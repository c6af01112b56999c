/*!
Device profiles, identity resolution and threat intelligence.

- [`rules`]: the device-classification rules, a reviewable data file in the repository
  (`rules/devices.toml`): conditions on a device's facts → type, vendor, model, OS, firmware,
  with a confidence.
- [`classify`]: applies the rules to one device's facts, producing derived facts that say which
  rule and which facts they come from.
- [`identity`]: merges all facts of a device into the values shown, with an explicit precedence
  (what the device announces beats what others say, which beats the OUI registry) and an
  explanation for every conflict.
- [`behaviour`]: OT roles (controller, RTU, IED, HMI, SCADA server, engineering workstation)
  from what a device does, and a Purdue-level estimate with its reason.
- [`ioc`]: indicators of compromise (addresses, domains, JA3/JA4, file hashes): the list
  format, its loader and the lookups the detector makes.
- [`vuln`]: vulnerability records (CVE, CVSS, affected products and versions, KEV), the shape
  threat-intelligence packages carry and the matcher reads.
- [`ti`]: threat-intelligence packages: import of public sources (CSAF advisories, CISA KEV,
  ATT&CK for ICS), the signed package file and its keys.
*/

pub mod behaviour;
pub mod classify;
pub mod identity;
pub mod ioc;
pub mod rules;
pub mod ti;
pub mod vuln;

pub use behaviour::{infer_role, network_role, purdue_level, Behaviour, PurdueEstimate};
pub use classify::{classify, classify_with, Derived, MatchCache};
pub use identity::{resolve, Identity};
pub use rules::{builtin_rules, RuleSet, RulesError};
