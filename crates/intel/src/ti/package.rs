/*!
The threat-intelligence package: one signed, versioned file (`ironward-ti-2026-12-07.pkg`)
holding vulnerability records, IoCs, the ICS attack patterns of the malware engine, the device
fingerprint profiles and the ATT&CK for ICS technique catalog.

File layout (integers big-endian):

| offset | bytes | content |
|---|---|---|
| 0 | 8 | magic `IRWDTIPK` |
| 8 | 2 | format version ([`FORMAT_VERSION`]) |
| 10 | 8 | id of the signing key ([`KeyId`]) |
| 18 | 4 | header length H (at most [`MAX_HEADER_BYTES`]) |
| 22 | H | header: [`PackageInfo`] as JSON (what `ironward ti info` shows) |
| 22+H | 8 | payload length P (at most [`MAX_PAYLOAD_BYTES`]) |
| 30+H | P | payload: the contents as zlib-compressed JSON |
| 30+H+P | 64 | Ed25519 signature of every byte before it |

The file ends exactly after the signature. [`Package::open`] checks the frame (magic, version,
lengths against the file's size), then the key id, then the signature (`verify_strict`) — and
only then parses the header and inflates the payload (bounded to [`MAX_PAYLOAD_JSON_BYTES`]),
so no byte of an unverified package reaches a JSON parser or the decompressor. The header is
inside the signature too; [`read_info_unverified`] reads it without a key for `ti info`, and says
so.

Versions: `sequence` is the build time in seconds; [`Package::install_over`] refuses a package
whose sequence is not greater than the one in force (a downgrade or a replay), so the old one
stays in force.
*/

use std::io::{Read, Write};
use std::path::Path;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use super::attack::Technique;
use super::sign::KeyId;
use crate::ioc::{IocSet, HEADER as IOC_HEADER};
use crate::vuln::VulnRecord;

/// The first bytes of every package.
pub const MAGIC: &[u8; 8] = b"IRWDTIPK";
/// The format this code writes and reads.
pub const FORMAT_VERSION: u16 = 1;
/// Largest header.
pub const MAX_HEADER_BYTES: u32 = 1 << 20;
/// Largest compressed payload.
pub const MAX_PAYLOAD_BYTES: u64 = 256 << 20;
/// Largest payload once inflated (a deflate bomb stops here).
pub const MAX_PAYLOAD_JSON_BYTES: u64 = 1 << 30;
/// Largest package file read.
pub const MAX_FILE_BYTES: u64 = MAX_PAYLOAD_BYTES + MAX_HEADER_BYTES as u64 + 1024;
/// Bytes before the header.
const PREFIX_BYTES: usize = 22;
/// Bytes of a signature.
const SIGNATURE_BYTES: usize = 64;

/// The ICS attack patterns of the sensor's malware engine, shipped in every package.
pub const BUILTIN_ICS_ATTACK_PATTERNS: &str = include_str!("../../rules/ics_attacks.toml");

/// What a package says about itself (its header).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageInfo {
    /// The format version (also in the binary frame).
    pub format: u16,
    /// The file name it was built as (`ironward-ti-2026-12-07.pkg`).
    pub name: String,
    /// Build time, RFC 3339 UTC.
    pub built_at: String,
    /// Increases with every build (build time in seconds): newer packages replace older ones.
    pub sequence: u64,
    /// The signing key's id, hex.
    pub key_id: String,
    /// What is inside.
    pub counts: PackageCounts,
    /// Where it comes from.
    #[serde(default)]
    pub sources: Vec<SourceSummary>,
    /// Notices the sources require to travel with every copy (MITRE's copyright and licence).
    #[serde(default)]
    pub notices: Vec<String>,
}

/// Numbers of things in a package.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageCounts {
    /// Vulnerability records (one per CVE).
    pub vulnerabilities: u64,
    /// Affected products over all records.
    pub affected_products: u64,
    /// Records flagged known exploited.
    pub known_exploited: u64,
    /// Advisories the records come from.
    pub advisories: u64,
    /// Technique catalog entries.
    pub techniques: u64,
    /// IoCs.
    pub iocs: u64,
}

/// One source of a package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceSummary {
    /// `csaf`, `kev`, `attack`, `iocs`, `ics_attack_patterns`, `device_profiles`.
    pub kind: String,
    /// Where it was read (a path as given to the builder; a file of the repository).
    pub location: String,
    /// What was read: counts, versions, dates.
    pub detail: String,
}

/// What a package carries, before it is signed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PackageContents {
    /// Vulnerability records.
    pub vulnerabilities: Vec<VulnRecord>,
    /// The ATT&CK for ICS technique catalog.
    pub techniques: Vec<Technique>,
    /// IoCs, in the IoC list CSV format of [`crate::ioc`] (re-checked when opened).
    pub iocs_csv: String,
    /// ICS attack patterns (the sensor's `ics_attacks.toml` format).
    pub ics_attack_patterns: String,
    /// Device fingerprint profiles (the `devices.toml` rule format).
    pub device_profiles: String,
}

/// Why a package was refused, or could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
    /// Larger than any package this code writes.
    #[error("{size} bytes: larger than a package can be ({max} bytes)")]
    TooLarge {
        /// The file's size.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// Not a package.
    #[error("not an Ironward threat-intelligence package (bad magic)")]
    BadMagic,
    /// A format this code does not read.
    #[error("package format {0} is not supported (this version reads format {FORMAT_VERSION})")]
    UnsupportedFormat(u16),
    /// The file ends before a part the frame announces.
    #[error("truncated at byte {at}: the {part} needs {needed} bytes from byte {from}")]
    Truncated {
        /// The file's length.
        at: usize,
        /// The part cut off.
        part: &'static str,
        /// Where it starts.
        from: usize,
        /// Its length.
        needed: u64,
    },
    /// A length field beyond its limit.
    #[error("the {part} length {length} exceeds the limit {max}")]
    LengthLimit {
        /// Which part.
        part: &'static str,
        /// The length announced.
        length: u64,
        /// The limit.
        max: u64,
    },
    /// Bytes after the signature.
    #[error("{extra} unexpected bytes after the signature (at byte {at})")]
    TrailingBytes {
        /// Where they start.
        at: usize,
        /// How many.
        extra: usize,
    },
    /// Signed by a key other than the one given.
    #[error(
        "signed by another key (key id {signed_by}), not by the key given (key id {expected})"
    )]
    WrongKey {
        /// The id in the package.
        signed_by: KeyId,
        /// The id of the key given.
        expected: KeyId,
    },
    /// The signature does not verify: the package was altered after signing.
    #[error("signature invalid: the package was altered or damaged after it was signed")]
    SignatureInvalid,
    /// The signed header does not parse.
    #[error("header corrupt: {0}")]
    HeaderCorrupt(String),
    /// The signed payload does not inflate or parse.
    #[error("payload corrupt: {0}")]
    PayloadCorrupt(String),
    /// Not newer than the package in force.
    #[error(
        "downgrade refused: package {offered} (sequence {offered_sequence}) is not newer than {current} (sequence {current_sequence}) in force, which stays"
    )]
    Downgrade {
        /// The package in force.
        current: String,
        /// Its sequence.
        current_sequence: u64,
        /// The package offered.
        offered: String,
        /// Its sequence.
        offered_sequence: u64,
    },
    /// The contents could not be encoded.
    #[error("cannot encode the package: {0}")]
    Encode(String),
}

/// A verified package.
#[derive(Debug, Clone)]
pub struct Package {
    info: PackageInfo,
    contents: PackageContents,
    iocs: IocSet,
}

/// The frame of a package: where its parts are.
struct Frame<'a> {
    key_id: KeyId,
    header: &'a [u8],
    payload: &'a [u8],
    signed: &'a [u8],
    signature: &'a [u8],
}

impl Package {
    /// Reads, verifies with `key` and parses the package at `path`.
    pub fn open(path: &Path, key: &VerifyingKey) -> Result<Package, PackageError> {
        let bytes = read_file(path)?;
        Package::from_bytes(&bytes, key)
    }

    /// Verifies with `key` and parses a package held in memory.
    pub fn from_bytes(bytes: &[u8], key: &VerifyingKey) -> Result<Package, PackageError> {
        let frame = frame(bytes)?;
        let expected = KeyId::of(key);
        if frame.key_id != expected {
            return Err(PackageError::WrongKey {
                signed_by: frame.key_id,
                expected,
            });
        }
        let signature =
            Signature::from_slice(frame.signature).map_err(|_| PackageError::SignatureInvalid)?;
        key.verify_strict(frame.signed, &signature)
            .map_err(|_| PackageError::SignatureInvalid)?;
        // Verified: from here on the bytes are the builder's.
        let info = parse_info(frame.header)?;
        let mut json = Vec::new();
        flate2::read::ZlibDecoder::new(frame.payload)
            .take(MAX_PAYLOAD_JSON_BYTES + 1)
            .read_to_end(&mut json)
            .map_err(|e| PackageError::PayloadCorrupt(format!("does not inflate: {e}")))?;
        if json.len() as u64 > MAX_PAYLOAD_JSON_BYTES {
            return Err(PackageError::PayloadCorrupt(format!(
                "inflates beyond {} MiB",
                MAX_PAYLOAD_JSON_BYTES >> 20
            )));
        }
        let contents: PackageContents = serde_json::from_slice(&json)
            .map_err(|e| PackageError::PayloadCorrupt(format!("not the package JSON: {e}")))?;
        let iocs = IocSet::parse("package iocs", contents.iocs_csv.as_bytes()).set;
        let counted = count(&contents, iocs.len());
        if counted != info.counts {
            return Err(PackageError::PayloadCorrupt(format!(
                "the header's counts {:?} differ from the payload's {counted:?}",
                info.counts
            )));
        }
        Ok(Package {
            info,
            contents,
            iocs,
        })
    }

    /// Refuses this package unless it is newer than `current`, the package in force.
    pub fn install_over(&self, current: Option<&PackageInfo>) -> Result<(), PackageError> {
        match current {
            Some(current) if current.sequence >= self.info.sequence => {
                Err(PackageError::Downgrade {
                    current: current.name.clone(),
                    current_sequence: current.sequence,
                    offered: self.info.name.clone(),
                    offered_sequence: self.info.sequence,
                })
            }
            _ => Ok(()),
        }
    }

    /// The header.
    pub fn info(&self) -> &PackageInfo {
        &self.info
    }

    /// The vulnerability records, sorted by CVE id.
    pub fn vulnerabilities(&self) -> &[VulnRecord] {
        &self.contents.vulnerabilities
    }

    /// The ATT&CK for ICS technique catalog.
    pub fn techniques(&self) -> &[Technique] {
        &self.contents.techniques
    }

    /// The IoCs, ready for lookups.
    pub fn iocs(&self) -> &IocSet {
        &self.iocs
    }

    /// The ICS attack patterns (`ics_attacks.toml` format).
    pub fn ics_attack_patterns(&self) -> &str {
        &self.contents.ics_attack_patterns
    }

    /// The device fingerprint profiles (`devices.toml` format).
    pub fn device_profiles(&self) -> &str {
        &self.contents.device_profiles
    }
}

/// The file name of a package built at `built_at`: `ironward-ti-YYYY-MM-DD.pkg`.
pub fn package_file_name(built_at: time::OffsetDateTime) -> String {
    let date = built_at.to_offset(time::UtcOffset::UTC).date();
    format!(
        "ironward-ti-{:04}-{:02}-{:02}.pkg",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// Builds and signs a package of `contents` built at `built_at`; returns its header and bytes.
pub fn build(
    contents: &PackageContents,
    sources: Vec<SourceSummary>,
    notices: Vec<String>,
    built_at: time::OffsetDateTime,
    key: &SigningKey,
) -> Result<(PackageInfo, Vec<u8>), PackageError> {
    let built_at = built_at.to_offset(time::UtcOffset::UTC);
    let sequence = u64::try_from(built_at.unix_timestamp())
        .map_err(|_| PackageError::Encode("build time before 1970".into()))?;
    let key_id = KeyId::of(&key.verifying_key());
    let iocs = IocSet::parse("package iocs", contents.iocs_csv.as_bytes()).set;
    let info = PackageInfo {
        format: FORMAT_VERSION,
        name: package_file_name(built_at),
        built_at: built_at
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(|e| PackageError::Encode(e.to_string()))?,
        sequence,
        key_id: key_id.to_string(),
        counts: count(contents, iocs.len()),
        sources,
        notices,
    };
    let header = serde_json::to_vec(&info).map_err(|e| PackageError::Encode(e.to_string()))?;
    if header.len() as u64 > u64::from(MAX_HEADER_BYTES) {
        return Err(PackageError::Encode(format!(
            "the header is {} bytes, more than {MAX_HEADER_BYTES}",
            header.len()
        )));
    }
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    serde_json::to_writer(&mut encoder, contents)
        .map_err(|e| PackageError::Encode(e.to_string()))?;
    let payload = encoder
        .finish()
        .map_err(|e| PackageError::Encode(e.to_string()))?;
    if payload.len() as u64 > MAX_PAYLOAD_BYTES {
        return Err(PackageError::Encode(format!(
            "the payload is {} bytes, more than {MAX_PAYLOAD_BYTES}",
            payload.len()
        )));
    }
    Ok((info, seal(&header, &payload, key)))
}

/// Frames a header (JSON bytes) and a payload (zlib bytes) as a package and signs it — what
/// [`build`] does after encoding; public so that tests and fuzzing can sign arbitrary contents
/// and reach the parsers behind the signature check. The lengths must be within
/// [`MAX_HEADER_BYTES`] and [`MAX_PAYLOAD_BYTES`] for the result to open.
pub fn seal(header: &[u8], payload: &[u8], key: &SigningKey) -> Vec<u8> {
    let mut bytes =
        Vec::with_capacity(PREFIX_BYTES + header.len() + 8 + payload.len() + SIGNATURE_BYTES);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&FORMAT_VERSION.to_be_bytes());
    bytes.extend_from_slice(&KeyId::of(&key.verifying_key()).0);
    bytes.extend_from_slice(&(header.len() as u32).to_be_bytes());
    bytes.extend_from_slice(header);
    bytes.extend_from_slice(&(payload.len() as u64).to_be_bytes());
    bytes.extend_from_slice(payload);
    let signature = key.sign(&bytes);
    bytes.extend_from_slice(&signature.to_bytes());
    bytes
}

/// Writes `bytes` to `path` through a temporary file renamed over it, so a reader never sees a
/// half-written package.
pub fn write_package(path: &Path, bytes: &[u8]) -> Result<(), PackageError> {
    let io = |source| PackageError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = std::path::PathBuf::from(temporary);
    let mut file = std::fs::File::create(&temporary).map_err(io)?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(io)?;
    std::fs::rename(&temporary, path).map_err(io)
}

/// The header of the package at `path` and the id of the key that signed it, **without
/// verifying** the signature: for showing what a file claims to be, never for using it.
pub fn read_info_unverified(path: &Path) -> Result<(PackageInfo, KeyId), PackageError> {
    let bytes = read_file(path)?;
    info_unverified(&bytes)
}

/// [`read_info_unverified`] for bytes in memory.
pub fn info_unverified(bytes: &[u8]) -> Result<(PackageInfo, KeyId), PackageError> {
    let frame = frame(bytes)?;
    Ok((parse_info(frame.header)?, frame.key_id))
}

fn read_file(path: &Path) -> Result<Vec<u8>, PackageError> {
    let io = |source| PackageError::Io {
        path: path.display().to_string(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    if size > MAX_FILE_BYTES {
        return Err(PackageError::TooLarge {
            size,
            max: MAX_FILE_BYTES,
        });
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(PackageError::TooLarge {
            size: bytes.len() as u64,
            max: MAX_FILE_BYTES,
        });
    }
    Ok(bytes)
}

fn parse_info(header: &[u8]) -> Result<PackageInfo, PackageError> {
    serde_json::from_slice(header).map_err(|e| PackageError::HeaderCorrupt(e.to_string()))
}

/// Splits a package into its parts, checking every length against the bytes there are.
fn frame(bytes: &[u8]) -> Result<Frame<'_>, PackageError> {
    let truncated = |part, from: usize, needed: u64| PackageError::Truncated {
        at: bytes.len(),
        part,
        from,
        needed,
    };
    let magic = bytes
        .get(..MAGIC.len())
        .ok_or_else(|| truncated("magic", 0, MAGIC.len() as u64))?;
    if magic != MAGIC {
        return Err(PackageError::BadMagic);
    }
    let prefix = bytes
        .get(..PREFIX_BYTES)
        .ok_or_else(|| truncated("frame prefix", 0, PREFIX_BYTES as u64))?;
    let format = u16::from_be_bytes([prefix[8], prefix[9]]);
    if format != FORMAT_VERSION {
        return Err(PackageError::UnsupportedFormat(format));
    }
    let mut key_id = [0; 8];
    key_id.copy_from_slice(&prefix[10..18]);
    let header_len = u32::from_be_bytes([prefix[18], prefix[19], prefix[20], prefix[21]]);
    if header_len > MAX_HEADER_BYTES {
        return Err(PackageError::LengthLimit {
            part: "header",
            length: u64::from(header_len),
            max: u64::from(MAX_HEADER_BYTES),
        });
    }
    let header_end = PREFIX_BYTES + header_len as usize;
    let header = bytes
        .get(PREFIX_BYTES..header_end)
        .ok_or_else(|| truncated("header", PREFIX_BYTES, u64::from(header_len)))?;
    let length_field = bytes
        .get(header_end..header_end + 8)
        .ok_or_else(|| truncated("payload length", header_end, 8))?;
    let mut length = [0; 8];
    length.copy_from_slice(length_field);
    let payload_len = u64::from_be_bytes(length);
    if payload_len > MAX_PAYLOAD_BYTES {
        return Err(PackageError::LengthLimit {
            part: "payload",
            length: payload_len,
            max: MAX_PAYLOAD_BYTES,
        });
    }
    let payload_start = header_end + 8;
    let payload_end = payload_start + payload_len as usize;
    let payload = bytes
        .get(payload_start..payload_end)
        .ok_or_else(|| truncated("payload", payload_start, payload_len))?;
    let signature_end = payload_end + SIGNATURE_BYTES;
    let signature = bytes
        .get(payload_end..signature_end)
        .ok_or_else(|| truncated("signature", payload_end, SIGNATURE_BYTES as u64))?;
    if bytes.len() > signature_end {
        return Err(PackageError::TrailingBytes {
            at: signature_end,
            extra: bytes.len() - signature_end,
        });
    }
    Ok(Frame {
        key_id: KeyId(key_id),
        header,
        payload,
        signed: &bytes[..payload_end],
        signature,
    })
}

fn count(contents: &PackageContents, iocs: usize) -> PackageCounts {
    let mut advisories: Vec<&str> = contents
        .vulnerabilities
        .iter()
        .flat_map(|r| r.advisories.iter().map(String::as_str))
        .collect();
    advisories.sort_unstable();
    advisories.dedup();
    PackageCounts {
        vulnerabilities: contents.vulnerabilities.len() as u64,
        affected_products: contents
            .vulnerabilities
            .iter()
            .map(|r| r.affected.len() as u64)
            .sum(),
        known_exploited: contents
            .vulnerabilities
            .iter()
            .filter(|r| r.kev.is_some())
            .count() as u64,
        advisories: advisories.len() as u64,
        techniques: contents.techniques.len() as u64,
        iocs: iocs as u64,
    }
}

/// An IoC list in the CSV format of [`crate::ioc`], holding the entries of `set` (what a package
/// carries: only the entries that loaded, canonical).
pub fn iocs_to_csv(set: &IocSet) -> String {
    let mut csv = String::from(IOC_HEADER);
    csv.push('\n');
    for ioc in set.entries() {
        let fields = [
            ioc.kind.as_str().to_owned(),
            ioc.value.clone(),
            ioc.severity.as_str().to_owned(),
            ioc.name.clone(),
            ioc.techniques.join(";"),
            ioc.reference.clone(),
            ioc.description.clone(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        csv.push_str(&line.join(","));
        csv.push('\n');
    }
    csv
}

fn csv_field(field: &str) -> String {
    if field.contains([',', '"']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        // Line breaks cannot occur: the loader reads one entry per line.
        field.to_owned()
    }
}
