/*!
Indicators of compromise (IoCs): the list format, its loader and the lookups the detector makes.

An IoC list is a CSV file, one indicator a line (UTF-8; no field spans lines). Blank lines and
lines starting with `#` are ignored; a line whose first field is `kind` is the header and must
read exactly as below. Columns, in this order (the last three may be left out or empty):

| column | content |
|---|---|
| `kind` | `ip`, `domain`, `ja3`, `ja4` or `sha256` |
| `value` | `ip`: an IPv4 or IPv6 address or CIDR block (no host bits set); `domain`: an exact name, or `*.suffix` for the suffix and every name below it; `ja3`: 32 hex digits; `ja4`: a JA4 fingerprint (`t13d1516h2_8daaf6152771_02713d6af862`); `sha256`: 64 hex digits |
| `severity` | `critical`, `major`, `minor` or `warning` |
| `name` | a short name for the indicator (shown in the alert title) |
| `techniques` | ATT&CK for ICS technique ids separated by `;` (`T0869;T0883`), each in the catalog (`data/attack_ics.csv`); empty: the detector's default |
| `reference` | where the indicator comes from (an URL, a report id) |
| `description` | free text; quote it (`"..."`, with `""` for a quote) when it holds commas |

```text
# kind,value,severity,name,techniques,reference,description
kind,value,severity,name,techniques,reference,description
ip,198.51.100.0/24,critical,Example C2 range,T0869,https://example.org/report-1,"Command and control, stage 2"
domain,*.c2.example,critical,Example C2 domain,,,
ja3,e7d705a3286e19ea42f587b344ee6865,major,Example implant TLS client,T0869,,
sha256,0000000000000000000000000000000000000000000000000000000000000000,critical,Example dropper,,,
```

Names and fingerprints compare case-insensitively (they are kept lowercase; a domain's trailing
dot is dropped). `sha256` entries are matched ([`IocSet::match_sha256`]) against the hashes
industrial dissectors compute of whole file and program transfers (S7 blocks, UMAS, DNP3,
IEC 104, BACnet and MMS files).

Every byte of the file is hostile: the file is at most [`MAX_FILE_BYTES`], a line at most
[`MAX_LINE_BYTES`], a field at most [`MAX_FIELD_BYTES`], an entry has at most
[`MAX_TECHNIQUES`] techniques, and at most [`MAX_ENTRIES`] entries are kept. A bad line is
reported ([`IocIssue`]: file, line, field, why) and skipped; it never fails the whole list. At
most [`MAX_ISSUES`] issues are kept, the rest only counted. Duplicate values keep the first
entry.

Lookups cost O(1) per query: hash maps keyed by the binary value (fingerprints, addresses per
prefix length, longest prefix first), and for names a walk from the full name to its suffixes
label by label, through a buffer on the stack: a lookup never allocates.
*/

use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::net::IpAddr;
use std::path::Path;
use std::sync::OnceLock;

use ironward_model::Severity;

/// Largest IoC file read.
pub const MAX_FILE_BYTES: u64 = 64 << 20;
/// Longest line (bytes, without its line break).
pub const MAX_LINE_BYTES: usize = 4096;
/// Longest field (bytes, after unquoting).
pub const MAX_FIELD_BYTES: usize = 2048;
/// Most entries kept; the rest of the file is reported once and ignored.
pub const MAX_ENTRIES: usize = 1_000_000;
/// Most issues kept; further ones are counted in [`IocParse::issues_not_kept`].
pub const MAX_ISSUES: usize = 1_000;
/// Most technique ids of one entry.
pub const MAX_TECHNIQUES: usize = 8;
/// Longest domain name (bytes, without a trailing dot), as DNS allows.
pub const MAX_DOMAIN_BYTES: usize = 253;

/// The header line.
pub const HEADER: &str = "kind,value,severity,name,techniques,reference,description";

/// The ATT&CK for ICS catalog the technique ids are checked against.
const CATALOG: &str = include_str!("../data/attack_ics.csv");

/// What an indicator is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IocKind {
    /// An address or CIDR block.
    Ip,
    /// A domain name or suffix.
    Domain,
    /// A JA3 TLS client fingerprint (MD5, hex).
    Ja3,
    /// A JA4 TLS client fingerprint.
    Ja4,
    /// A file's SHA-256 (hex).
    Sha256,
}

impl IocKind {
    /// The name used in the file and in alert kinds (`malware.ioc_<name>`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ip => "ip",
            Self::Domain => "domain",
            Self::Ja3 => "ja3",
            Self::Ja4 => "ja4",
            Self::Sha256 => "sha256",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [Self::Ip, Self::Domain, Self::Ja3, Self::Ja4, Self::Sha256]
            .into_iter()
            .find(|k| text.eq_ignore_ascii_case(k.as_str()))
    }
}

impl fmt::Display for IocKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One indicator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ioc {
    /// What it is.
    pub kind: IocKind,
    /// Its value, canonical (lowercase; a CIDR block as `address/length`; `*.suffix`).
    pub value: String,
    /// How urgent a match is.
    pub severity: Severity,
    /// A short name.
    pub name: String,
    /// ATT&CK for ICS technique ids (each in the catalog); empty: the detector's default.
    pub techniques: Vec<String>,
    /// Where it comes from (may be empty).
    pub reference: String,
    /// Free text (may be empty).
    pub description: String,
    /// The line of the file it was read from (1-based).
    pub line: usize,
}

/// A bad line, skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IocIssue {
    /// The file (as given to the loader).
    pub file: String,
    /// The line (1-based).
    pub line: usize,
    /// The column (`value`), or `line` for the line as a whole.
    pub field: &'static str,
    /// Why it was skipped.
    pub message: String,
}

impl fmt::Display for IocIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.file, self.line, self.field, self.message
        )
    }
}

/// A parsed list and what was wrong with it.
#[derive(Debug, Clone, Default)]
pub struct IocParse {
    /// The indicators kept.
    pub set: IocSet,
    /// The bad lines (at most [`MAX_ISSUES`]).
    pub issues: Vec<IocIssue>,
    /// Bad lines beyond [`MAX_ISSUES`], counted only.
    pub issues_not_kept: u64,
}

/// An IoC list ready for lookups; see the module documentation.
#[derive(Debug, Clone, Default)]
pub struct IocSet {
    source: String,
    entries: Vec<Ioc>,
    /// Per IPv4 prefix length (longest first): network → entry.
    v4: Vec<(u8, HashMap<u32, u32>)>,
    /// Per IPv6 prefix length (longest first): network → entry.
    v6: Vec<(u8, HashMap<u128, u32>)>,
    /// Exact names.
    domains: HashMap<Box<str>, u32>,
    /// `*.suffix` entries, by suffix.
    suffixes: HashMap<Box<str>, u32>,
    ja3: HashMap<[u8; 16], u32>,
    ja4: HashMap<Box<str>, u32>,
    sha256: HashMap<[u8; 32], u32>,
}

/// The column names, in file order.
const COLUMNS: [&str; 7] = [
    "kind",
    "value",
    "severity",
    "name",
    "techniques",
    "reference",
    "description",
];

/// A value ready to be indexed.
enum Key {
    V4(u32, u8),
    V6(u128, u8),
    Domain(String),
    Suffix(String),
    Ja3([u8; 16]),
    Ja4(String),
    Sha256([u8; 32]),
}

impl IocSet {
    /// Reads and parses the list at `path` (at most [`MAX_FILE_BYTES`]); only reading it can fail.
    pub fn load(path: &Path) -> std::io::Result<IocParse> {
        let file = std::fs::File::open(path)?;
        let mut bytes = Vec::new();
        file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "{}: an IoC list is at most {} MiB",
                    path.display(),
                    MAX_FILE_BYTES >> 20
                ),
            ));
        }
        Ok(Self::parse(&path.display().to_string(), &bytes))
    }

    /// Parses a list; `file` names it in issues.
    pub fn parse(file: &str, bytes: &[u8]) -> IocParse {
        let mut out = IocParse {
            set: IocSet {
                source: file.to_owned(),
                ..IocSet::default()
            },
            ..IocParse::default()
        };
        let issue = |out: &mut IocParse, line: usize, field: &'static str, message: String| {
            if out.issues.len() < MAX_ISSUES {
                out.issues.push(IocIssue {
                    file: file.to_owned(),
                    line,
                    field,
                    message,
                });
            } else {
                out.issues_not_kept += 1;
            }
        };
        for (index, raw) in bytes.split(|&b| b == b'\n').enumerate() {
            let line = index + 1;
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            if raw.len() > MAX_LINE_BYTES {
                issue(
                    &mut out,
                    line,
                    "line",
                    format!("longer than {MAX_LINE_BYTES} bytes"),
                );
                continue;
            }
            let Ok(text) = std::str::from_utf8(raw) else {
                issue(&mut out, line, "line", "not UTF-8".to_owned());
                continue;
            };
            let trimmed = text.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let fields = match split_fields(trimmed) {
                Ok(fields) => fields,
                Err((field, message)) => {
                    issue(&mut out, line, field, message);
                    continue;
                }
            };
            if fields
                .first()
                .is_some_and(|k| k.eq_ignore_ascii_case("kind"))
            {
                if !fields.iter().map(String::as_str).eq(COLUMNS) {
                    issue(
                        &mut out,
                        line,
                        "line",
                        format!("a header must read `{HEADER}`"),
                    );
                }
                continue;
            }
            if out.set.entries.len() >= MAX_ENTRIES {
                issue(
                    &mut out,
                    line,
                    "line",
                    format!("more than {MAX_ENTRIES} entries: the rest of the file is ignored"),
                );
                break;
            }
            match parse_entry(&fields, line) {
                Ok((ioc, key)) => {
                    if let Err(message) = out.set.insert(ioc, key) {
                        issue(&mut out, line, "value", message);
                    }
                }
                Err((field, message)) => issue(&mut out, line, field, message),
            }
        }
        out
    }

    /// Indexes an entry; a value already listed keeps its first entry.
    fn insert(&mut self, ioc: Ioc, key: Key) -> Result<(), String> {
        let index = u32::try_from(self.entries.len()).map_err(|_| "too many entries".to_owned())?;
        let first = match key {
            Key::V4(net, len) => {
                let bucket = bucket(&mut self.v4, len);
                bucket.try_insert_first(net, index)
            }
            Key::V6(net, len) => {
                let bucket = bucket(&mut self.v6, len);
                bucket.try_insert_first(net, index)
            }
            Key::Domain(name) => self.domains.try_insert_first(name.into(), index),
            Key::Suffix(name) => self.suffixes.try_insert_first(name.into(), index),
            Key::Ja3(hash) => self.ja3.try_insert_first(hash, index),
            Key::Ja4(print) => self.ja4.try_insert_first(print.into(), index),
            Key::Sha256(hash) => self.sha256.try_insert_first(hash, index),
        };
        match first {
            None => {
                self.entries.push(ioc);
                Ok(())
            }
            Some(existing) => Err(format!(
                "{} {} is already listed on line {}",
                ioc.kind,
                ioc.value,
                self.entries.get(existing as usize).map_or(0, |e| e.line)
            )),
        }
    }

    /// The file the list came from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// All entries, in file order (an entry's index is its position here).
    pub fn entries(&self) -> &[Ioc] {
        &self.entries
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn entry(&self, index: Option<&u32>) -> Option<(usize, &Ioc)> {
        let index = *index? as usize;
        Some((index, self.entries.get(index)?))
    }

    /// The `ip` entry covering `ip` (the longest prefix), with its index.
    pub fn match_ip(&self, ip: IpAddr) -> Option<(usize, &Ioc)> {
        match ip {
            IpAddr::V4(v4) => {
                let ip = u32::from(v4);
                self.v4
                    .iter()
                    .find_map(|(len, map)| map.get(&(ip & mask32(*len))))
                    .and_then(|i| self.entry(Some(i)))
            }
            IpAddr::V6(v6) => {
                if let Some(v4) = v6.to_ipv4_mapped() {
                    return self.match_ip(IpAddr::V4(v4));
                }
                let ip = u128::from(v6);
                self.v6
                    .iter()
                    .find_map(|(len, map)| map.get(&(ip & mask128(*len))))
                    .and_then(|i| self.entry(Some(i)))
            }
        }
    }

    /// The `domain` entry matching `name` (any case, trailing dot or not): the exact name first,
    /// then the longest listed suffix.
    pub fn match_domain(&self, name: &str) -> Option<(usize, &Ioc)> {
        if self.domains.is_empty() && self.suffixes.is_empty() {
            return None;
        }
        let mut buf = [0u8; MAX_DOMAIN_BYTES];
        let name = lowercase(name.strip_suffix('.').unwrap_or(name), &mut buf)?;
        if let Some(found) = self.entry(self.domains.get(name)) {
            return Some(found);
        }
        let mut rest = name;
        loop {
            if let Some(found) = self.entry(self.suffixes.get(rest)) {
                return Some(found);
            }
            rest = rest.split_once('.')?.1;
        }
    }

    /// The `ja3` entry for this fingerprint (32 hex digits, any case).
    pub fn match_ja3(&self, ja3: &str) -> Option<(usize, &Ioc)> {
        if self.ja3.is_empty() {
            return None;
        }
        self.entry(self.ja3.get(&hex::<16>(ja3)?))
    }

    /// The `ja4` entry for this fingerprint (any case).
    pub fn match_ja4(&self, ja4: &str) -> Option<(usize, &Ioc)> {
        if self.ja4.is_empty() {
            return None;
        }
        let mut buf = [0u8; 64];
        self.entry(self.ja4.get(lowercase(ja4, &mut buf)?))
    }

    /// The `sha256` entry for this file hash (64 hex digits, any case): the sensor asks it for
    /// each file or program an industrial dissector saw transferred whole.
    pub fn match_sha256(&self, sha256: &str) -> Option<(usize, &Ioc)> {
        if self.sha256.is_empty() {
            return None;
        }
        self.entry(self.sha256.get(&hex::<32>(sha256)?))
    }
}

/// Inserting without replacing: the index of the entry already there, if any.
trait InsertFirst<K> {
    fn try_insert_first(&mut self, key: K, index: u32) -> Option<u32>;
}

impl<K: std::hash::Hash + Eq> InsertFirst<K> for HashMap<K, u32> {
    fn try_insert_first(&mut self, key: K, index: u32) -> Option<u32> {
        match self.entry(key) {
            std::collections::hash_map::Entry::Occupied(e) => Some(*e.get()),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(index);
                None
            }
        }
    }
}

/// The map of one prefix length, created in order (longest first) when new.
fn bucket<T>(buckets: &mut Vec<(u8, HashMap<T, u32>)>, len: u8) -> &mut HashMap<T, u32> {
    let at = match buckets.binary_search_by(|(l, _)| len.cmp(l)) {
        Ok(at) => at,
        Err(at) => {
            buckets.insert(at, (len, HashMap::new()));
            at
        }
    };
    &mut buckets[at].1
}

fn mask32(len: u8) -> u32 {
    u32::MAX
        .checked_shl(32 - u32::from(len.min(32)))
        .unwrap_or(0)
}

fn mask128(len: u8) -> u128 {
    u128::MAX
        .checked_shl(128 - u32::from(len.min(128)))
        .unwrap_or(0)
}

/// `text` lowercased into `buf` (ASCII only; `None` when longer than `buf` or not ASCII).
fn lowercase<'b>(text: &str, buf: &'b mut [u8]) -> Option<&'b str> {
    let out = buf.get_mut(..text.len())?;
    for (o, b) in out.iter_mut().zip(text.bytes()) {
        if !b.is_ascii() {
            return None;
        }
        *o = b.to_ascii_lowercase();
    }
    std::str::from_utf8(out).ok()
}

/// Exactly `2 * N` hex digits as bytes.
fn hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let bytes = text.as_bytes();
    if bytes.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (o, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        let digit = |b: u8| (b as char).to_digit(16);
        *o = u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?).ok()?;
    }
    Some(out)
}

/// Splits one CSV line into fields (`"..."` quoting, `""` for a quote), bounded.
fn split_fields(line: &str) -> Result<Vec<String>, (&'static str, String)> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let column = COLUMNS.get(fields.len()).copied().unwrap_or("line");
        if fields.len() >= COLUMNS.len() {
            return Err((
                "line",
                format!("more than {} columns (quote commas)", COLUMNS.len()),
            ));
        }
        let mut field = String::new();
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                    None => return Err((column, "unterminated quote".to_owned())),
                }
            }
            while chars.peek() == Some(&' ') {
                chars.next();
            }
            match chars.peek() {
                None | Some(',') => {}
                Some(_) => return Err((column, "text after a closing quote".to_owned())),
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                if c == '"' {
                    return Err((column, "a quote inside an unquoted field".to_owned()));
                }
                field.push(c);
                chars.next();
            }
        }
        if field.len() > MAX_FIELD_BYTES {
            return Err((column, format!("longer than {MAX_FIELD_BYTES} bytes")));
        }
        if field.chars().any(char::is_control) {
            return Err((column, "control characters".to_owned()));
        }
        fields.push(field.trim().to_owned());
        if chars.next().is_none() {
            return Ok(fields);
        }
    }
}

/// Whether `id` is a technique of the catalog.
fn known_technique(id: &str) -> bool {
    static IDS: OnceLock<Vec<&'static str>> = OnceLock::new();
    IDS.get_or_init(|| {
        let mut ids: Vec<&str> = CATALOG
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(',').map(|(id, _)| id.trim()))
            .collect();
        ids.sort_unstable();
        ids
    })
    .binary_search(&id)
    .is_ok()
}

fn parse_entry(fields: &[String], line: usize) -> Result<(Ioc, Key), (&'static str, String)> {
    let field = |i: usize| fields.get(i).map_or("", String::as_str);
    if fields.len() < 4 {
        return Err((
            "line",
            format!(
                "{} columns; at least kind, value, severity and name",
                fields.len()
            ),
        ));
    }
    let kind = IocKind::parse(field(0)).ok_or_else(|| {
        (
            "kind",
            format!(
                "`{}` is none of ip, domain, ja3, ja4, sha256",
                field(0).escape_debug()
            ),
        )
    })?;
    let (value, key) = parse_value(kind, field(1)).map_err(|m| ("value", m))?;
    let severity = Severity::ALL
        .into_iter()
        .find(|s| field(2).eq_ignore_ascii_case(s.as_str()))
        .ok_or_else(|| {
            (
                "severity",
                format!(
                    "`{}` is none of critical, major, minor, warning",
                    field(2).escape_debug()
                ),
            )
        })?;
    let name = field(3);
    if name.is_empty() {
        return Err(("name", "empty".to_owned()));
    }
    let mut techniques = Vec::new();
    for id in field(4).split(';').map(str::trim).filter(|t| !t.is_empty()) {
        let id = id.to_ascii_uppercase();
        if !known_technique(&id) {
            return Err((
                "techniques",
                format!(
                    "`{}` is not in the ATT&CK for ICS catalog",
                    id.escape_debug()
                ),
            ));
        }
        if techniques.len() >= MAX_TECHNIQUES {
            return Err(("techniques", format!("more than {MAX_TECHNIQUES}")));
        }
        if !techniques.contains(&id) {
            techniques.push(id);
        }
    }
    Ok((
        Ioc {
            kind,
            value,
            severity,
            name: name.to_owned(),
            techniques,
            reference: field(5).to_owned(),
            description: field(6).to_owned(),
            line,
        },
        key,
    ))
}

fn parse_value(kind: IocKind, text: &str) -> Result<(String, Key), String> {
    let shown = || text.escape_debug().to_string();
    match kind {
        IocKind::Ip => {
            let (addr, len) = match text.split_once('/') {
                Some((addr, len)) => (
                    addr,
                    Some(
                        len.parse::<u8>()
                            .map_err(|_| format!("`{}`: bad prefix length", shown()))?,
                    ),
                ),
                None => (text, None),
            };
            let ip: IpAddr = addr
                .parse()
                .map_err(|_| format!("`{}` is not an IP address or CIDR block", shown()))?;
            match ip {
                IpAddr::V4(v4) => {
                    let len = len.unwrap_or(32);
                    if len > 32 {
                        return Err(format!("`{}`: an IPv4 prefix is at most /32", shown()));
                    }
                    let net = u32::from(v4);
                    if net & !mask32(len) != 0 {
                        return Err(format!("`{}` has host bits set", shown()));
                    }
                    Ok((format!("{v4}/{len}"), Key::V4(net, len)))
                }
                IpAddr::V6(v6) => {
                    let len = len.unwrap_or(128);
                    if len > 128 {
                        return Err(format!("`{}`: an IPv6 prefix is at most /128", shown()));
                    }
                    if v6.to_ipv4_mapped().is_some() {
                        return Err(format!(
                            "`{}`: write IPv4-mapped addresses as IPv4",
                            shown()
                        ));
                    }
                    let net = u128::from(v6);
                    if net & !mask128(len) != 0 {
                        return Err(format!("`{}` has host bits set", shown()));
                    }
                    Ok((format!("{v6}/{len}"), Key::V6(net, len)))
                }
            }
        }
        IocKind::Domain => {
            let (wild, name) = match text.strip_prefix("*.") {
                Some(rest) => (true, rest),
                None => (false, text),
            };
            let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
            let label_ok = |l: &str| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            };
            if name.is_empty() || name.len() > MAX_DOMAIN_BYTES || !name.split('.').all(label_ok) {
                return Err(format!(
                    "`{}` is not a domain name (ASCII labels of 1-63 letters, digits, - or _; at most {MAX_DOMAIN_BYTES} bytes; IDNs in punycode) nor `*.suffix`",
                    shown()
                ));
            }
            if wild {
                Ok((format!("*.{name}"), Key::Suffix(name)))
            } else {
                Ok((name.clone(), Key::Domain(name)))
            }
        }
        IocKind::Ja3 => {
            let hash =
                hex::<16>(text).ok_or_else(|| format!("`{}` is not 32 hex digits", shown()))?;
            Ok((text.to_ascii_lowercase(), Key::Ja3(hash)))
        }
        IocKind::Ja4 => {
            let print = text.to_ascii_lowercase();
            if !is_ja4(&print) {
                return Err(format!(
                    "`{}` is not a JA4 fingerprint (like t13d1516h2_8daaf6152771_02713d6af862)",
                    shown()
                ));
            }
            Ok((print.clone(), Key::Ja4(print)))
        }
        IocKind::Sha256 => {
            let hash =
                hex::<32>(text).ok_or_else(|| format!("`{}` is not 64 hex digits", shown()))?;
            Ok((text.to_ascii_lowercase(), Key::Sha256(hash)))
        }
    }
}

/// `[tqd]` + version (2) + `d|i` + cipher count (2) + extension count (2) + ALPN (2), then two
/// 12-hex-digit hashes, joined by `_` (lowercase).
fn is_ja4(print: &str) -> bool {
    let mut parts = print.split('_');
    let (Some(a), Some(b), Some(c), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let a = a.as_bytes();
    let hex12 = |p: &str| p.len() == 12 && p.bytes().all(|b| b.is_ascii_hexdigit());
    a.len() == 10
        && matches!(a[0], b't' | b'q' | b'd')
        && a[1..3].iter().all(u8::is_ascii_alphanumeric)
        && matches!(a[3], b'd' | b'i')
        && a[4..8].iter().all(u8::is_ascii_digit)
        && a[8..10].iter().all(u8::is_ascii_alphanumeric)
        && hex12(b)
        && hex12(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = "\
# test list
kind,value,severity,name,techniques,reference,description
ip,198.51.100.0/24,critical,Range,T0869,https://example.org/r1,\"C2, stage 2\"
ip,198.51.100.7,major,Host,,,
ip,2001:db8::/32,minor,V6 range,,,
domain,evil.example,critical,Exact,,,
domain,*.c2.example.,major,Suffix,t0869;T0883,,
ja3,E7D705A3286E19EA42F587B344EE6865,major,JA3,,,
ja4,t13d1516h2_8daaf6152771_02713d6af862,major,JA4,,,
sha256,00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff,critical,File,,,
";

    fn set() -> IocSet {
        let parsed = IocSet::parse("list.csv", LIST.as_bytes());
        assert!(parsed.issues.is_empty(), "{:?}", parsed.issues);
        parsed.set
    }

    fn name(found: Option<(usize, &Ioc)>) -> Option<&str> {
        found.map(|(_, ioc)| ioc.name.as_str())
    }

    #[test]
    fn parses_every_kind_with_its_columns() {
        let set = set();
        assert_eq!(set.len(), 8);
        let first = &set.entries()[0];
        assert_eq!(first.value, "198.51.100.0/24");
        assert_eq!(first.severity, Severity::Critical);
        assert_eq!(first.techniques, ["T0869"]);
        assert_eq!(first.reference, "https://example.org/r1");
        assert_eq!(first.description, "C2, stage 2");
        assert_eq!(first.line, 3);
        assert_eq!(set.entries()[4].value, "*.c2.example");
        assert_eq!(set.entries()[4].techniques, ["T0869", "T0883"]);
    }

    #[test]
    fn addresses_match_the_longest_prefix() {
        let set = set();
        assert_eq!(
            name(set.match_ip("198.51.100.7".parse().unwrap())),
            Some("Host")
        );
        assert_eq!(
            name(set.match_ip("198.51.100.8".parse().unwrap())),
            Some("Range")
        );
        assert_eq!(
            name(set.match_ip("::ffff:198.51.100.8".parse().unwrap())),
            Some("Range")
        );
        assert_eq!(name(set.match_ip("198.51.101.1".parse().unwrap())), None);
        assert_eq!(
            name(set.match_ip("2001:db8:1::5".parse().unwrap())),
            Some("V6 range")
        );
        assert_eq!(name(set.match_ip("2001:db9::5".parse().unwrap())), None);
    }

    #[test]
    fn names_match_exactly_or_by_suffix_label_by_label() {
        let set = set();
        assert_eq!(name(set.match_domain("EVIL.example.")), Some("Exact"));
        assert_eq!(name(set.match_domain("www.evil.example")), None);
        assert_eq!(name(set.match_domain("c2.example")), Some("Suffix"));
        assert_eq!(name(set.match_domain("a.b.C2.example")), Some("Suffix"));
        assert_eq!(name(set.match_domain("xc2.example")), None);
        assert_eq!(name(set.match_domain("example")), None);
        assert_eq!(name(set.match_domain(&"a.".repeat(200))), None);
        assert_eq!(name(set.match_domain("ünï.c2.example")), None);
    }

    #[test]
    fn fingerprints_and_hashes_match_in_any_case() {
        let set = set();
        assert_eq!(
            name(set.match_ja3("e7d705a3286e19ea42f587b344ee6865")),
            Some("JA3")
        );
        assert_eq!(
            name(set.match_ja3("e7d705a3286e19ea42f587b344ee6866")),
            None
        );
        assert_eq!(name(set.match_ja3("e7d7")), None);
        assert_eq!(
            name(set.match_ja4("T13D1516H2_8daaf6152771_02713d6af862")),
            Some("JA4")
        );
        assert_eq!(
            name(
                set.match_sha256(
                    "00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff"
                )
            ),
            Some("File")
        );
    }

    #[test]
    fn bad_lines_are_reported_with_line_and_field_and_skipped() {
        let text = "\
kind,value,severity
ip,10.0.0.0/8,critical,ok
ip,10.0.0.1/8,critical,host bits
ip,10.0.0.0/33,critical,prefix
bogus,x,critical,kind
domain,bad..name,critical,domain
domain,ok.example,urgent,severity
ja3,xyz,major,ja3
ja4,t13d1516h2_8daaf6152771,major,ja4
ip,10.0.0.0/8,minor,duplicate
ip,10.1.0.0/16,minor,,
ip,10.2.0.0/16,minor,t,T9999
ip,10.3.0.0/16,minor,\"unterminated
ip,10.4.0.0/16
ip,10.5.0.0/16,minor,a,,,d,extra
ip,10.6.0.0/16,minor,a\u{1},,
\u{ff}
";
        let mut bytes = text.as_bytes().to_vec();
        // A line that is not UTF-8, then an overlong one.
        bytes.extend_from_slice(b"ip,\xff\xfe,minor,x\n");
        bytes.extend_from_slice(format!("{}\n", "x".repeat(MAX_LINE_BYTES + 1)).as_bytes());
        let parsed = IocSet::parse("bad.csv", &bytes);
        let got: Vec<(usize, &str)> = parsed.issues.iter().map(|i| (i.line, i.field)).collect();
        assert_eq!(
            got,
            [
                (1, "line"),
                (3, "value"),
                (4, "value"),
                (5, "kind"),
                (6, "value"),
                (7, "severity"),
                (8, "value"),
                (9, "value"),
                (10, "value"),
                (11, "name"),
                (12, "techniques"),
                (13, "name"),
                (14, "line"),
                (15, "line"),
                (16, "name"),
                (17, "line"),
                (18, "line"),
                (19, "line"),
            ]
        );
        assert_eq!(parsed.set.len(), 1);
        assert_eq!(
            parsed.issues[1].to_string(),
            "bad.csv:3: value: `10.0.0.1/8` has host bits set"
        );
        assert!(parsed.issues[8]
            .message
            .contains("already listed on line 2"));
    }

    #[test]
    fn issues_are_bounded() {
        let text = "nope,x,y,z\n".repeat(MAX_ISSUES + 5);
        let parsed = IocSet::parse("many.csv", text.as_bytes());
        assert_eq!(parsed.issues.len(), MAX_ISSUES);
        assert_eq!(parsed.issues_not_kept, 5);
    }
}
