/*!
Threat-intelligence packages: importing public sources, the signed package file, and (h5's
half) matching devices against it.

- [`version`]: version semantics: device versions and advisories' affected-version ranges.
- [`normalize`]: a device's vendor, product, order number and firmware from its identity.
- [`matching`]: devices against vulnerability records, each match explained, with a confidence.
*/

pub mod matching;
pub mod normalize;
pub mod version;
