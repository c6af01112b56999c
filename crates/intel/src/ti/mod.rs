/*!
Threat-intelligence packages: importing public sources, the signed package file, and matching
devices against it.

- [`csaf`]: CSAF 2.0 advisories (CISA's ICS advisories) → vulnerability records.
- [`kev`]: CISA's Known Exploited Vulnerabilities catalog → the records' known-exploited flag.
- [`attack`]: MITRE ATT&CK for ICS (STIX bundle) → the technique catalog.
- [`source`]: what the importers share: problem reports, bounded reading of JSON files.
- [`assemble`]: every source read into a package's contents, with what was skipped.
- [`package`]: the signed package file: format, build, verification, downgrade refusal.
- [`sign`]: Ed25519 signing keys as PEM files (openssl-compatible), key ids.
- [`version`]: version semantics: device versions and advisories' affected-version ranges.
- [`normalize`]: a device's vendor, product, order number and firmware from its identity.
- [`matching`]: devices against vulnerability records, each match explained, with a confidence.
*/

pub mod assemble;
pub mod attack;
pub mod csaf;
pub mod kev;
pub mod matching;
pub mod normalize;
pub mod package;
pub mod sign;
pub mod source;
pub mod version;
