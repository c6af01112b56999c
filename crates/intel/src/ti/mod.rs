/*!
Threat-intelligence packages: importing public sources, the signed package file, and matching
devices against it.

- [`csaf`]: CSAF 2.0 advisories (CISA's ICS advisories) → vulnerability records.
- [`kev`]: CISA's Known Exploited Vulnerabilities catalog → the records' known-exploited flag.
*/

pub mod csaf;
pub mod kev;
