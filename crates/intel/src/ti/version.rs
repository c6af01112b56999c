/*!
Version semantics for matching devices against advisories: a device's firmware text parsed into
a comparable [`Version`], and an advisory's affected-versions text parsed into a
[`VersionRange`], a union of intervals.

Versions in industrial advisories and device answers are written many ways (`V2.9.4`, `2.9.4`,
`V4.0 SP1`, `V4.0_SP1`, `30.014`, `v1.2.3-b45`, `05`, `1.04E`, `R16B_PC3`). A version is read as
segments: the release numbers first (`2.9.4`), then qualifier segments, each a word with its own
numbers (`SP 1`, `Update 8`, `HF 5`, a revision letter `E`). The order that follows from it:

- numbers compare numerically (`2.10 > 2.9`, `05 == 5`), and missing numbers are zeros
  (`2.9 == 2.9.0`);
- the `V` prefix, case and the separator (`.`, `_`, `-`, space) do not matter;
- a qualifier that marks a later build (service pack, update, hotfix, patch, a letter) orders
  after the base (`V4.0 < V4.0 SP1 < V4.0 SP2 < V4.0.1`), one that marks an earlier one
  (`alpha`, `beta`, `rc`) orders before it.

Ranges follow the VERS specification for `vers:` URIs (`vers:all/>=V3.1.0|<V3.1.2`: constraints
sorted by version, `|`-separated, a lower bound opening an interval the next upper bound closes)
and read the free-text forms advisories use with the same algorithm: `<V7.2`, `< 3.0`,
`>=V2.0_and_<V2.1.6`, `>= 20 | <= 30.014`, `>=V3.3.1<V3.3.15`, `8.001|8.002` (exact versions),
`All versions`, `*`. Words after a version that are not part of it (`only when running on ROX II`,
`with switch chip M88E6083`) are kept as a caveat the matcher shows. Text that cannot be read as
versions (`The first 5 digits of serial No.`) is an error, never a guess.
*/

use std::cmp::Ordering;
use std::fmt;

/// Longest version or range text read; advisories' longest real one is about 130 bytes.
const MAX_TEXT: usize = 512;
/// Most segments (release numbers plus qualifiers) in one version.
const MAX_NUMBERS: usize = 12;
/// Most qualifier segments in one version.
const MAX_QUALIFIERS: usize = 6;
/// Most constraints in one range.
const MAX_CONSTRAINTS: usize = 32;
/// Longest qualifier word kept (longer words are not version qualifiers).
const MAX_WORD: usize = 12;

/// Why a version or range text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// Nothing to read.
    #[error("empty version")]
    Empty,
    /// Longer than any real version or range.
    #[error("version text longer than {MAX_TEXT} bytes")]
    TooLong,
    /// No number where a version was expected.
    #[error("no version number in `{0}`")]
    NoNumber(String),
    /// More segments than a real version has, or a number too large.
    #[error("`{0}` is not a version (too many segments or a number too large)")]
    Malformed(String),
    /// A constraint this reader does not support (`!=`), or too many of them.
    #[error("unsupported constraint `{0}`")]
    Unsupported(String),
}

/// What a qualifier word says about the build it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Stage {
    /// Before the release it follows (`beta`, `rc`).
    Pre,
    /// After it (service pack, update, hotfix, patch, revision letter).
    Post,
}

/// One qualifier: `SP1`, `Update 8`, `HF5`, `E` (a revision letter).
#[derive(Debug, Clone)]
struct Qualifier {
    stage: Stage,
    /// The word, lower case, synonyms merged (`upd` → `update`, `hotfix` → `hf`).
    word: String,
    /// Its numbers (`1` of `SP1`), compared like release numbers.
    numbers: Vec<u64>,
}

/// A parsed, comparable version.
#[derive(Debug, Clone)]
pub struct Version {
    /// A leading word that names a release line rather than a prefix (`R` in ABB's `R16B`).
    line: Option<String>,
    /// Release numbers as written; comparison pads the shorter with zeros (`2.9 == 2.9.0`).
    release: Vec<u64>,
    qualifiers: Vec<Qualifier>,
    /// The text ended in a wildcard (`8.x`, `2.0.x`): every version that starts like this one.
    wildcard: bool,
    /// A release number written `X` inside the version (Siemens' `V3.X.16`): it stands for the
    /// compared version's own number there, so `V3.X.16` bounds every `3.n` line at `3.n.16`.
    any_at: Option<usize>,
}

/// Words written before a version that are not part of it (`BIOS_V23.01.08`, `ROS_V5.0.1`,
/// `Firmware V2.1`, `Version v1.0`).
const PREFIX_WORDS: &[&str] = &[
    "v", "ver", "vers", "version", "fw", "firmware", "bios", "ros", "rev", "revision", "release",
    "sv",
];

/// Merges a known qualifier's synonyms and says whether it orders before or after the base;
/// `None` for any other word.
fn qualifier_word(word: &str) -> Option<(Stage, &str)> {
    let merged = match word {
        "sp" | "servicepack" => "sp",
        "update" | "upd" | "u" => "update",
        "hf" | "hotfix" | "hotfixrev" => "hf",
        "uc" => "uc",
        "patch" | "p" => "patch",
        "fp" => "fp",
        "cu" => "cu",
        "build" | "b" | "bld" => "build",
        "r" | "rev" => "rev",
        "pc" => "pc",
        "mp" => "mp",
        "ga" => "ga",
        "alpha" => return Some((Stage::Pre, "alpha")),
        "beta" => return Some((Stage::Pre, "beta")),
        "rc" => return Some((Stage::Pre, "rc")),
        "pre" | "preview" => return Some((Stage::Pre, "pre")),
        _ => return None,
    };
    Some((Stage::Post, merged))
}

/// How much a qualifier word weighs against another after the same release: packs bundle
/// updates, which bundle hotfixes and patches (`V14 Update 20 < V14 SP1 < V14 SP1 Update 1`).
fn word_rank(word: &str) -> u8 {
    match word {
        "sp" | "fp" | "cu" | "mp" | "pc" => 3,
        "update" | "rev" | "uc" => 2,
        "hf" | "patch" | "build" | "ga" => 1,
        _ => 0,
    }
}

/// A lexical piece of a version text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    Number(&'a str),
    Word(&'a str),
    /// `*`, or `x` standing for a number (`8.x`).
    Wildcard,
}

/// Splits `text` into number and word tokens; every other byte separates them. Returns the
/// tokens and, for each, its byte offset (so callers can tell where the version stopped).
fn tokens(text: &str) -> impl Iterator<Item = (usize, Token<'_>)> {
    let bytes = text.as_bytes();
    let mut at = 0;
    std::iter::from_fn(move || {
        while at < bytes.len() && !bytes[at].is_ascii_alphanumeric() && bytes[at] != b'*' {
            at += 1;
        }
        if at >= bytes.len() {
            return None;
        }
        let start = at;
        if bytes[at] == b'*' {
            at += 1;
            return Some((start, Token::Wildcard));
        }
        let digits = bytes[at].is_ascii_digit();
        while at < bytes.len()
            && bytes[at].is_ascii_alphanumeric()
            && bytes[at].is_ascii_digit() == digits
        {
            at += 1;
        }
        let piece = &text[start..at];
        Some((
            start,
            if digits {
                Token::Number(piece)
            } else if piece.eq_ignore_ascii_case("x") {
                Token::Wildcard
            } else {
                Token::Word(piece)
            },
        ))
    })
}

fn number(digits: &str, text: &str) -> Result<u64, VersionError> {
    // Leading zeros do not count (`05 == 5`); a number beyond u64 is no version.
    let significant = digits.trim_start_matches('0');
    if significant.len() > 18 {
        return Err(VersionError::Malformed(text.to_owned()));
    }
    Ok(significant.parse().unwrap_or(0))
}

impl Version {
    /// Parses a whole version text; words after the version are an error.
    pub fn parse(text: &str) -> Result<Self, VersionError> {
        let (version, rest) = Self::parse_prefix(text)?;
        if rest
            .trim_matches(|c: char| !c.is_ascii_alphanumeric())
            .is_empty()
        {
            Ok(version)
        } else {
            Err(VersionError::Malformed(text.to_owned()))
        }
    }

    /// Parses the version at the start of `text` and returns it with the text after it (a
    /// caveat such as `only when running on ROX II`, or nothing).
    pub fn parse_prefix(text: &str) -> Result<(Self, &str), VersionError> {
        if text.len() > MAX_TEXT {
            return Err(VersionError::TooLong);
        }
        if text.trim().is_empty() {
            return Err(VersionError::Empty);
        }
        // Lower case keeps every byte offset, so offsets into it are offsets into `text`.
        let lower = text.to_ascii_lowercase();
        let mut version = Version {
            line: None,
            release: Vec::new(),
            qualifiers: Vec::new(),
            wildcard: false,
            any_at: None,
        };
        let mut consumed = 0;
        // Where the last qualifier started, and whether it is a glued letter (`E` of `1.04E`).
        let mut last_qualifier = (0, false);
        let pieces: Vec<(usize, Token<'_>)> = tokens(&lower).collect();
        let mut first = 0;
        // Prefix words, and a leading word that names a release line (`R16B`).
        while let Some(&(at, Token::Word(word))) = pieces.get(first) {
            let glued_number = matches!(
                pieces.get(first + 1),
                Some(&(next, Token::Number(_))) if next == at + word.len()
            );
            if PREFIX_WORDS.contains(&word) {
                first += 1;
            } else if word.len() <= 2 && glued_number {
                version.line = Some(word.to_owned());
                first += 1;
                break;
            } else {
                return Err(VersionError::NoNumber(text.to_owned()));
            }
        }
        let mut numbers = 0;
        for (index, &(at, token)) in pieces.iter().enumerate().skip(first) {
            let glued = at == consumed;
            match token {
                Token::Number(digits) => {
                    numbers += 1;
                    if numbers > MAX_NUMBERS {
                        return Err(VersionError::Malformed(text.to_owned()));
                    }
                    let value = number(digits, text)?;
                    match version.qualifiers.last_mut() {
                        Some(qualifier) => qualifier.numbers.push(value),
                        None => version.release.push(value),
                    }
                    consumed = at + digits.len();
                }
                Token::Wildcard => {
                    if numbers == 0 {
                        return Err(VersionError::NoNumber(text.to_owned()));
                    }
                    let number_follows =
                        matches!(pieces.get(index + 1), Some((_, Token::Number(_))));
                    if number_follows && version.qualifiers.is_empty() && version.any_at.is_none() {
                        version.any_at = Some(version.release.len());
                        version.release.push(0);
                        consumed = at + 1;
                        continue;
                    }
                    version.wildcard = true;
                    consumed = at + 1;
                    break;
                }
                Token::Word(word) => {
                    // A known qualifier continues the version, and so does a letter or two
                    // glued to the number before it (`1.04E`); any other word ends it.
                    let letter = glued && word.len() <= 2;
                    let qualifier = if letter && word.len() == 1 {
                        Some((Stage::Post, word))
                    } else {
                        qualifier_word(word).or_else(|| letter.then_some((Stage::Post, word)))
                    };
                    let Some((stage, merged)) = qualifier.filter(|_| word.len() <= MAX_WORD) else {
                        break;
                    };
                    if numbers == 0 || version.qualifiers.len() >= MAX_QUALIFIERS {
                        return Err(VersionError::Malformed(text.to_owned()));
                    }
                    version.qualifiers.push(Qualifier {
                        stage,
                        word: merged.to_owned(),
                        numbers: Vec::new(),
                    });
                    last_qualifier = (consumed, letter);
                    consumed = at + word.len();
                }
            }
        }
        if numbers == 0 {
            return Err(VersionError::NoNumber(text.to_owned()));
        }
        // A qualifier word without its number (`1.3.0 (Build Nr. …)`) is the start of the
        // words after the version, not a later build.
        if let Some(last) = version.qualifiers.last() {
            if last.numbers.is_empty() && !last_qualifier.1 {
                version.qualifiers.pop();
                consumed = last_qualifier.0;
            }
        }
        Ok((version, &text[consumed..]))
    }

    /// The text ended in a wildcard (`8.x`): it stands for every version starting like it.
    pub fn is_wildcard(&self) -> bool {
        self.wildcard
    }

    /// The first version after every one this version's wildcard covers (`8.x` → `9`,
    /// `2.0.x` → `2.1`); for a version without a wildcard, the version itself.
    fn wildcard_end(&self) -> Version {
        let mut next = self.clone();
        next.wildcard = false;
        if !self.wildcard {
            return next;
        }
        if let Some(qualifier) = next.qualifiers.last_mut() {
            match qualifier.numbers.last_mut() {
                Some(last) => *last = last.saturating_add(1),
                None => qualifier.numbers.push(1),
            }
        } else {
            match next.release.last_mut() {
                Some(last) => *last = last.saturating_add(1),
                None => next.release.push(1),
            }
        }
        next
    }
}

/// Compares number lists, a missing number counting as zero.
fn compare_numbers(a: &[u64], b: &[u64]) -> Ordering {
    let len = a.len().max(b.len());
    (0..len)
        .map(|i| {
            a.get(i)
                .copied()
                .unwrap_or(0)
                .cmp(&b.get(i).copied().unwrap_or(0))
        })
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.line
            .cmp(&other.line)
            .then_with(|| compare_numbers(&self.release, &other.release))
            .then_with(|| {
                let len = self.qualifiers.len().max(other.qualifiers.len());
                for i in 0..len {
                    let order = match (self.qualifiers.get(i), other.qualifiers.get(i)) {
                        (Some(a), Some(b)) => a
                            .stage
                            .cmp(&b.stage)
                            .then_with(|| word_rank(&a.word).cmp(&word_rank(&b.word)))
                            .then_with(|| a.word.cmp(&b.word))
                            .then_with(|| compare_numbers(&a.numbers, &b.numbers)),
                        // A later build after the base, an earlier one before it.
                        (Some(a), None) => match a.stage {
                            Stage::Pre => Ordering::Less,
                            Stage::Post => Ordering::Greater,
                        },
                        (None, Some(b)) => match b.stage {
                            Stage::Pre => Ordering::Greater,
                            Stage::Post => Ordering::Less,
                        },
                        (None, None) => Ordering::Equal,
                    };
                    if order.is_ne() {
                        return order;
                    }
                }
                Ordering::Equal
            })
            .then_with(|| self.wildcard.cmp(&other.wildcard))
    }
}

impl PartialEq for Version {
    /// Equal as versions (`2.9 == V2.9.0`), not as texts.
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Version {}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Version {
    /// The canonical form (`2.9.4`, `4 SP1`, `R16 B`), for explanations.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = &self.line {
            f.write_str(&line.to_ascii_uppercase())?;
        }
        let mut first = true;
        for n in &self.release {
            if !first {
                f.write_str(".")?;
            }
            write!(f, "{n}")?;
            first = false;
        }
        if self.release.is_empty() {
            f.write_str("0")?;
        }
        for q in &self.qualifiers {
            write!(f, " {}", q.word.to_ascii_uppercase())?;
            for (i, n) in q.numbers.iter().enumerate() {
                f.write_str(if i == 0 { "" } else { "." })?;
                write!(f, "{n}")?;
            }
        }
        if self.wildcard {
            f.write_str(".x")?;
        }
        Ok(())
    }
}

/// One end of an interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bound {
    /// No limit on this side.
    Unbounded,
    /// Up to and including this version.
    Included(Version),
    /// Up to but not including this version.
    Excluded(Version),
}

/// A contiguous set of versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interval {
    /// Lowest version (or none).
    pub low: Bound,
    /// Highest version (or none).
    pub high: Bound,
}

impl Interval {
    /// Every version.
    pub const ALL: Interval = Interval {
        low: Bound::Unbounded,
        high: Bound::Unbounded,
    };

    /// `version` lies in this interval.
    pub fn contains(&self, version: &Version) -> bool {
        let above = match &self.low {
            Bound::Unbounded => true,
            Bound::Included(low) => version >= &*low.filled_from(version),
            Bound::Excluded(low) => version > &*low.filled_from(version),
        };
        let below = match &self.high {
            Bound::Unbounded => true,
            Bound::Included(high) => version <= &*high.filled_from(version),
            Bound::Excluded(high) => version < &*high.filled_from(version),
        };
        above && below
    }
}

/// An advisory's affected versions: a union of intervals, with what the advisory adds in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRange {
    /// The intervals; a version in any of them is affected.
    pub intervals: Vec<Interval>,
    /// Words the advisory adds that narrow the range beyond versions (`only when running on
    /// ROX II V2.14.0`, `with switch chip M88E6083`): a version in range is then only
    /// possibly affected.
    pub caveat: Option<String>,
}

/// A comparison operator of one constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Comparator {
    Less,
    LessEqual,
    Greater,
    GreaterEqual,
    Equal,
}

impl VersionRange {
    /// Every version (`vers:all/*`, an empty range text).
    pub fn all() -> Self {
        VersionRange {
            intervals: vec![Interval::ALL],
            caveat: None,
        }
    }

    /// `version` is in the range.
    pub fn contains(&self, version: &Version) -> bool {
        self.intervals.iter().any(|i| i.contains(version))
    }

    /// The range covers every version (no bound at all).
    pub fn is_all(&self) -> bool {
        self.intervals.contains(&Interval::ALL)
    }

    /// Parses an advisory's affected-versions text (see the module documentation for the
    /// forms read). An empty text means every version, as in CSAF product trees that name no
    /// version.
    pub fn parse(text: &str) -> Result<Self, VersionError> {
        if text.len() > MAX_TEXT {
            return Err(VersionError::TooLong);
        }
        let mut body = text.trim();
        // `vers:all/…`, `vers:/…` (and advisories that put the scheme after a comparator,
        // `>=vers:/_V5.4<V5.5_SP1`, handled by dropping it wherever it stands).
        let without_scheme;
        if let Some(position) = find_ignore_case(body, "vers:") {
            let after = &body[position + 5..];
            let slash = after.find('/').map_or(0, |s| s + 1);
            without_scheme = format!("{}{}", &body[..position], &after[slash..]);
            body = without_scheme.trim();
        }
        let body = body.trim_matches(|c: char| c.is_whitespace() || c == '_');
        if body.is_empty() || body == "*" {
            return Ok(Self::all());
        }
        if let Some(range) = all_versions(body)? {
            return Ok(range);
        }
        let constraints = constraints(body)?;
        intervals(constraints)
    }
}

/// `All versions`, `All versions between V2.5 (including) and V2.7 (excluding)`,
/// `All_versions_with_…`, `=ANY`.
fn all_versions(body: &str) -> Result<Option<VersionRange>, VersionError> {
    let normalized: String = body
        .chars()
        .map(|c| {
            if c == '_' {
                ' '
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    let normalized = normalized.trim_start_matches(['=', ' ']);
    if normalized == "any" || normalized == "all" {
        return Ok(Some(VersionRange::all()));
    }
    let Some(rest) = normalized.strip_prefix("all versions") else {
        return Ok(None);
    };
    let rest = rest.trim();
    if let Some(between) = rest.strip_prefix("between ") {
        // `V2.5 (including) and V2.7 (excluding)`
        let (low_text, high_text) = between
            .split_once(" and ")
            .ok_or_else(|| VersionError::Unsupported(body.to_owned()))?;
        let bound = |t: &str| -> Result<Bound, VersionError> {
            let t = t.trim();
            let (version, rest) = Version::parse_prefix(t)?;
            Ok(if rest.contains("excluding") {
                Bound::Excluded(version)
            } else {
                Bound::Included(version)
            })
        };
        return Ok(Some(VersionRange {
            intervals: vec![Interval {
                low: bound(low_text)?,
                high: bound(high_text)?,
            }],
            caveat: None,
        }));
    }
    Ok(Some(VersionRange {
        intervals: vec![Interval::ALL],
        caveat: (!rest.is_empty()).then(|| rest.to_owned()),
    }))
}

fn find_ignore_case(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// One comparator and its version, with any words after the version.
struct Constraint {
    comparator: Comparator,
    version: Version,
    /// More upper bounds, one per later release line (`<V33.017_V34.014`: `V34.014`).
    lines: Vec<Version>,
    caveat: Option<String>,
}

/// The versions that follow an upper bound's version, when each is on another release line
/// (`<V33.017_V34.014_V35.013`, in any order: every line below its own fix), and the text
/// after them. More versions of one line, or after another comparator, cannot be read.
fn line_bounds<'t>(
    comparator: Comparator,
    first: &Version,
    mut rest: &'t str,
    body: &str,
) -> Result<(Vec<Version>, &'t str), VersionError> {
    let mut lines: Vec<Version> = Vec::new();
    while let Ok((next, after)) = Version::parse_prefix(rest) {
        let other_line = |seen: &Version| {
            next.line == seen.line
                && matches!((next.release.first(), seen.release.first()), (Some(a), Some(b)) if a != b)
        };
        let upper = matches!(comparator, Comparator::Less | Comparator::LessEqual);
        let readable = upper && other_line(first) && lines.iter().all(other_line);
        if !readable || lines.len() >= MAX_CONSTRAINTS {
            return Err(VersionError::Unsupported(body.to_owned()));
        }
        lines.push(next);
        rest = strip_trailing_and(after.trim_matches(|c: char| !c.is_ascii_alphanumeric()));
    }
    Ok((lines, rest))
}

/// Splits a range body into constraints: a comparator starts one, `|` and the words `and`
/// between constraints separate them; a version without a comparator is an exact one.
fn constraints(body: &str) -> Result<Vec<Constraint>, VersionError> {
    // `20-33`, `28  - 32`, `01.14.000 -01.47.000`: an inclusive span of versions.
    if !body.contains(['<', '>', '=', '|']) {
        if let Some(span) = dash_span(body) {
            return span;
        }
    }
    let mut found = Vec::new();
    let bytes = body.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        // Skip separators and the joining words between constraints.
        let rest = &body[at..];
        let trimmed = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '_' || c == '|');
        let trimmed = strip_word(trimmed, "and")
            .unwrap_or(trimmed)
            .trim_start_matches(|c: char| c.is_whitespace() || c == '_' || c == '"');
        at = body.len() - trimmed.len();
        if at >= bytes.len() {
            break;
        }
        let (comparator, width) = match bytes[at..] {
            [b'<', b'=', ..] => (Comparator::LessEqual, 2),
            [b'>', b'=', ..] => (Comparator::GreaterEqual, 2),
            [b'<', b'>', ..] | [b'!', b'=', ..] => {
                return Err(VersionError::Unsupported(body.to_owned()));
            }
            [b'<', ..] => (Comparator::Less, 1),
            [b'>', ..] => (Comparator::Greater, 1),
            [b'=', ..] => (Comparator::Equal, 1),
            _ => (Comparator::Equal, 0),
        };
        at += width;
        // The version runs to the next comparator or `|`.
        let stop = body[at..]
            .find(['<', '>', '=', '|', '!'])
            .map_or(body.len(), |s| at + s);
        let piece =
            body[at..stop].trim_matches(|c: char| c.is_whitespace() || c == '_' || c == '"');
        let (version, rest) = Version::parse_prefix(piece)?;
        let rest = rest.trim_matches(|c: char| !c.is_ascii_alphanumeric());
        let rest = strip_trailing_and(rest);
        // `<V33.017_V34.014_V35.013_V36.011` (Rockwell): one upper bound per release line.
        let (lines, rest) = line_bounds(comparator, &version, rest, body)?;
        let caveat = (!rest.is_empty()).then(|| rest.replace('_', " "));
        found.push(Constraint {
            comparator,
            version,
            lines,
            caveat,
        });
        if found.len() > MAX_CONSTRAINTS {
            return Err(VersionError::Unsupported(body.to_owned()));
        }
        at = stop;
    }
    if found.is_empty() {
        return Err(VersionError::NoNumber(body.to_owned()));
    }
    Ok(found)
}

fn strip_word<'a>(text: &'a str, word: &str) -> Option<&'a str> {
    let head = text.get(..word.len())?;
    let after = &text[word.len()..];
    (head.eq_ignore_ascii_case(word) && after.starts_with(|c: char| c.is_whitespace() || c == '_'))
        .then_some(after)
}

fn strip_trailing_and(text: &str) -> &str {
    let lower = text.len().checked_sub(3).and_then(|i| text.get(i..));
    match lower {
        Some(tail) if tail.eq_ignore_ascii_case("and") => {
            text[..text.len() - 3].trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
        }
        _ => text,
    }
}

/// `20-33`, `28  - 32`, `01.14.000 -01.47.000`, `1.265B -1.285X`: two versions joined by a
/// dash that has space around it, or two bare numbers.
fn dash_span(body: &str) -> Option<Result<Vec<Constraint>, VersionError>> {
    let (low, high) = if let Some(split) = body.find(" -").or_else(|| body.find("- ")) {
        let (low, high) = body.split_at(split);
        (low, high.trim_start_matches([' ', '-']))
    } else {
        let (low, high) = body.split_once('-')?;
        let numeric =
            |t: &str| !t.trim().is_empty() && t.trim().bytes().all(|b| b.is_ascii_digit());
        if !(numeric(low) && numeric(high)) {
            return None;
        }
        (low, high)
    };
    let span = Version::parse(low.trim()).and_then(|low| {
        Ok(vec![
            Constraint {
                comparator: Comparator::GreaterEqual,
                version: low,
                lines: Vec::new(),
                caveat: None,
            },
            Constraint {
                comparator: Comparator::LessEqual,
                version: Version::parse(high.trim())?,
                lines: Vec::new(),
                caveat: None,
            },
        ])
    });
    Some(span)
}

/// VERS's algorithm over constraints in the advisory's order: a lower bound opens an
/// interval, the next upper bound closes it (an upper bound with none open starts at the
/// lowest version), an exact version is an interval of its own, a lower bound left open runs
/// to the highest version.
fn intervals(constraints: Vec<Constraint>) -> Result<VersionRange, VersionError> {
    let mut intervals = Vec::new();
    let mut open: Option<Bound> = None;
    let mut caveats: Vec<String> = Vec::new();
    for constraint in constraints {
        if let Some(caveat) = constraint.caveat {
            if !caveats.contains(&caveat) {
                caveats.push(caveat);
            }
        }
        let (version, lines) = if constraint.lines.is_empty() {
            (constraint.version, constraint.lines)
        } else {
            // The lowest line's bound closes the open interval; the others start at their line.
            let mut all = constraint.lines;
            all.push(constraint.version);
            all.sort();
            let lowest = all.remove(0);
            (lowest, all)
        };
        match constraint.comparator {
            Comparator::Greater | Comparator::GreaterEqual => {
                if let Some(low) = open.take() {
                    intervals.push(Interval {
                        low,
                        high: Bound::Unbounded,
                    });
                }
                open = Some(if version.is_wildcard() {
                    if constraint.comparator == Comparator::Greater {
                        Bound::Included(version.wildcard_end())
                    } else {
                        Bound::Included(version.without_wildcard())
                    }
                } else if constraint.comparator == Comparator::Greater {
                    Bound::Excluded(version)
                } else {
                    Bound::Included(version)
                });
            }
            Comparator::Less | Comparator::LessEqual => {
                for line in &lines {
                    // From the line's first version (`V34` of `V34.014`) to its bound.
                    let start = Version {
                        line: line.line.clone(),
                        release: line.release.first().copied().into_iter().collect(),
                        qualifiers: Vec::new(),
                        wildcard: false,
                        any_at: None,
                    };
                    intervals.push(Interval {
                        low: Bound::Included(start),
                        high: if constraint.comparator == Comparator::Less {
                            Bound::Excluded(line.clone())
                        } else {
                            Bound::Included(line.clone())
                        },
                    });
                }
                let high = if version.is_wildcard() {
                    if constraint.comparator == Comparator::LessEqual {
                        Bound::Excluded(version.wildcard_end())
                    } else {
                        Bound::Excluded(version.without_wildcard())
                    }
                } else if constraint.comparator == Comparator::Less {
                    Bound::Excluded(version)
                } else {
                    Bound::Included(version)
                };
                intervals.push(Interval {
                    low: open.take().unwrap_or(Bound::Unbounded),
                    high,
                });
            }
            Comparator::Equal => {
                if let Some(low) = open.take() {
                    intervals.push(Interval {
                        low,
                        high: Bound::Unbounded,
                    });
                }
                intervals.push(if version.is_wildcard() {
                    Interval {
                        low: Bound::Included(version.without_wildcard()),
                        high: Bound::Excluded(version.wildcard_end()),
                    }
                } else {
                    Interval {
                        low: Bound::Included(version.clone()),
                        high: Bound::Included(version),
                    }
                });
            }
        }
    }
    if let Some(low) = open {
        intervals.push(Interval {
            low,
            high: Bound::Unbounded,
        });
    }
    Ok(VersionRange {
        intervals,
        caveat: (!caveats.is_empty()).then(|| caveats.join("; ")),
    })
}

impl Version {
    /// This bound with its `X` release number taken from `other` (`V3.X.16` against 3.2.9 is
    /// 3.2.16); itself when it has none.
    fn filled_from(&self, other: &Version) -> std::borrow::Cow<'_, Version> {
        match self.any_at {
            None => std::borrow::Cow::Borrowed(self),
            Some(index) => {
                let mut filled = self.clone();
                filled.any_at = None;
                if let Some(slot) = filled.release.get_mut(index) {
                    *slot = other.release.get(index).copied().unwrap_or(0);
                }
                std::borrow::Cow::Owned(filled)
            }
        }
    }

    fn without_wildcard(&self) -> Version {
        let mut plain = self.clone();
        plain.wildcard = false;
        plain
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Version {
        Version::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn range(text: &str) -> VersionRange {
        VersionRange::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    /// Asserts that each version in `inside` is in `text`'s range and each in `outside` is not.
    fn check(text: &str, inside: &[&str], outside: &[&str]) {
        let r = range(text);
        for version in inside {
            assert!(
                r.contains(&v(version)),
                "{version} should be in {text}: {r:?}"
            );
        }
        for version in outside {
            assert!(
                !r.contains(&v(version)),
                "{version} should not be in {text}: {r:?}"
            );
        }
    }

    #[test]
    fn numbers_compare_numerically_and_missing_ones_are_zero() {
        assert!(v("2.10") > v("2.9"));
        assert!(v("V2.9.4") < v("V2.10.0"));
        assert_eq!(v("2.9"), v("2.9.0"));
        assert_eq!(v("2.9"), v("2.9.0.0"));
        assert!(v("2.9.0.1") > v("2.9"));
        assert_eq!(v("05"), v("5"));
        assert_eq!(v("30.014"), v("30.14"));
        assert!(v("30.014") > v("30.011"));
        assert!(v("1") < v("1.0.1"));
    }

    #[test]
    fn prefix_case_and_separators_do_not_matter() {
        assert_eq!(v("V2.9.4"), v("2.9.4"));
        assert_eq!(v("v2.9.4"), v("V2.9.4"));
        assert_eq!(v("V4.0 SP1"), v("v4.0_sp1"));
        assert_eq!(v("V4.0 SP1"), v("V4.0-SP1"));
        assert_eq!(v("V16 Update 8"), v("V16_Upd8"));
        assert_eq!(v("BIOS_V23.01.08"), v("23.1.8"));
        assert_eq!(v("Firmware V2.1"), v("2.1"));
        assert_eq!(v("ROS_V5.0.1"), v("V5.0.1"));
    }

    #[test]
    fn service_packs_updates_and_letters_order_after_the_base() {
        assert!(v("V4.0") < v("V4.0 SP1"));
        assert!(v("V4.0 SP1") < v("V4.0 SP2"));
        assert!(v("V4.0 SP2") < v("V4.0.1"));
        assert!(v("V4.7 SP10 HF5") > v("V4.7 SP10"));
        assert!(v("V4.7 SP10 HF5") < v("V4.7 SP10 HF6"));
        assert!(v("V14 SP1 Update 14") > v("V14 SP1 Update 9"));
        assert!(
            v("V14 SP1") > v("V14 Update 20"),
            "qualifiers compare by word first"
        );
        assert!(v("1.04E") > v("1.04"));
        assert!(v("1.04E") > v("1.04D"));
        assert!(v("2.102G") > v("1.04E"));
        assert!(v("v1.2.3-b45") > v("v1.2.3"));
        assert!(v("v1.2.3-b45") < v("v1.2.3-b46"));
        assert!(v("v1.2.3-b45") < v("v1.2.4"));
        assert!(v("2021 CU3 Hotfix 2") < v("2021_CU3_Hotfix_3"));
    }

    #[test]
    fn pre_releases_order_before_the_base() {
        assert!(v("2.0 beta 3") < v("2.0"));
        assert!(v("2.0 rc1") < v("2.0"));
        assert!(v("2.0 beta 3") < v("2.0 rc1"));
        assert!(v("2.0 rc1") > v("1.9.9"));
    }

    #[test]
    fn release_lines_compare_within_the_line() {
        // ABB FOX615 releases: R15B < R16A < R16B.
        assert!(v("R15B") < v("R16A"));
        assert!(v("R16A") < v("R16B"));
        assert!(v("R16B_PC3") > v("R16B"));
        assert!(v("R16B_PC3") < v("R16B_PC4"));
    }

    #[test]
    fn texts_without_a_version_are_errors() {
        for text in [
            "",
            "   ",
            "FB",
            "ANY",
            "The_first_5_digits_of_serial_No.",
            "with_Nozomi_Guardian",
            "*",
            "x",
            "V",
        ] {
            assert!(Version::parse(text).is_err(), "{text:?} parsed");
        }
        assert!(Version::parse("99999999999999999999999").is_err());
        assert!(Version::parse("1.2.3.4.5.6.7.8.9.10.11.12.13").is_err());
        assert!(Version::parse(&"1.".repeat(400)).is_err());
        assert!(Version::parse("2.9.4 only on Tuesdays").is_err());
    }

    #[test]
    fn a_prefix_parse_returns_what_follows() {
        let (version, rest) = Version::parse_prefix("V5.3_only_when_running_on_ROX_II").unwrap();
        assert_eq!(version, v("5.3"));
        assert_eq!(rest, "_only_when_running_on_ROX_II");
        let (version, rest) = Version::parse_prefix("1.3.0 (Build Nr. 1.3.0.1339)").unwrap();
        assert_eq!(version, v("1.3.0"));
        assert_eq!(rest, " (Build Nr. 1.3.0.1339)");
    }

    #[test]
    fn display_is_canonical() {
        assert_eq!(v("V2.9.4").to_string(), "2.9.4");
        assert_eq!(v("v4.0_sp1").to_string(), "4.0 SP1");
        assert_eq!(v("R16B").to_string(), "R16 B");
        assert_eq!(v("8.x").to_string(), "8.x");
    }

    #[test]
    fn vers_upper_bound_edges() {
        // The first version outside is the bound itself.
        check(
            "vers:all/<V3.0.3",
            &["V3.0.2", "V3.0.2 SP9", "3", "0.1", "V2.9.4"],
            &["V3.0.3", "3.0.3.0", "V3.0.3 SP1", "V3.0.4", "V3.1", "V10.0"],
        );
        check("<V7.2", &["7.1.99", "7.1"], &["7.2", "7.2.0.0", "7.3"]);
        check("< 3.0", &["2.99"], &["3", "3.0.1"]);
        check("<=05", &["5", "05", "04", "1"], &["5.0.1", "06"]);
        check("<= 2.005", &["2.005", "2.5", "2.004"], &["2.006"]);
    }

    #[test]
    fn vers_intervals_edges() {
        check(
            "vers:all/>=V3.1.0|<V3.1.2",
            &["V3.1.0", "V3.1", "V3.1.1", "V3.1.1 SP1"],
            &["V3.0.9", "V3.1.2", "V3.2"],
        );
        // Some advisories leave out the `|`.
        check(
            "vers:all/>=V3.3.1<V3.3.15",
            &["V3.3.1", "V3.3.14"],
            &["V3.3.0", "V3.3.15", "V3.3.16"],
        );
        check(
            ">=V2.0_and_<V2.1.6",
            &["V2.0", "V2.1.5"],
            &["V1.9", "V2.1.6"],
        );
        check(
            ">= 20 | <= 30.014",
            &["20", "20.011", "30.014"],
            &["19.99", "30.015", "31.011"],
        );
        check(">V2|<V4", &["V2.0.1", "V3.9"], &["V2", "V2.0.0", "V4"]);
        check(
            "vers:all/>=V8.80|<V9.90",
            &["8.80", "9.89"],
            &["8.79", "9.90"],
        );
        check(
            ">=V4.0|<V4.0_SP1",
            &["V4.0", "V4.0.0"],
            &["V4.0 SP1", "V3.9"],
        );
        check(
            ">=vers:/_V5.4<V5.5_SP1",
            &["V5.4", "V5.5"],
            &["V5.3", "V5.5 SP1", "V5.6"],
        );
        check(
            "All versions between V2.5 (including) and V2.7 (excluding)",
            &["V2.5", "V2.6.9"],
            &["V2.4", "V2.7"],
        );
        // Two lower bounds: the later one's interval lies inside the first.
        check(">=13.2.1|>=13.2.7", &["13.2.1", "99"], &["13.2.0"]);
    }

    #[test]
    fn exact_versions_and_spans() {
        check(
            "8.001|8.002|9.001",
            &["8.1", "8.002", "9.001"],
            &["8.003", "9"],
        );
        check("V4.4|V4.5|V5.0|V5.1", &["4.4", "5"], &["4.6", "5.2"]);
        check("=1.0.2", &["1.0.2"], &["1.0.1", "1.0.3"]);
        check("20-33", &["20", "33"], &["19", "34"]);
        check("28  - 32", &["28", "32"], &["27", "32.1"]);
        check(
            "01.14.000 -01.47.000",
            &["1.14", "1.47"],
            &["1.13", "1.47.1"],
        );
    }

    #[test]
    fn wildcards_cover_their_line() {
        check("2.0.x", &["2.0", "2.0.9"], &["2.1", "1.9"]);
        check("8.x", &["8", "8.99"], &["9", "7.9"]);
        check(">= 6.x | <= 10.x", &["6", "10.5"], &["5.9", "11"]);
        check(">=4.0|<4.5.x", &["4.0", "4.4.9"], &["4.5", "4.5.1"]);
    }

    #[test]
    fn every_version_forms() {
        for text in [
            "vers:all/*",
            "*",
            "",
            "  ",
            "All versions",
            "=ANY",
            "vers:all/",
        ] {
            let r = range(text);
            assert!(r.is_all(), "{text:?}: {r:?}");
            assert!(r.caveat.is_none());
            assert!(r.contains(&v("0.0.1")) && r.contains(&v("99")));
        }
        let r = range("All_versions_with_switch_chip_M88E6083");
        assert!(r.is_all());
        assert_eq!(r.caveat.as_deref(), Some("with switch chip m88e6083"));
    }

    #[test]
    fn words_after_a_version_become_a_caveat() {
        let r = range("vers:all/>=V5.2.0|<V5.3_only_when_running_on_ROX_II_V2.14.0");
        assert!(r.contains(&v("5.2.5")) && !r.contains(&v("5.3")));
        assert_eq!(
            r.caveat.as_deref(),
            Some("only when running on ROX II V2.14.0")
        );
        let r = range(">= 20.8 (only affected by CVE-2019-10943)");
        assert!(r.contains(&v("20.8")) && !r.contains(&v("20.7")));
        assert_eq!(r.caveat.as_deref(), Some("only affected by CVE-2019-10943"));
        let r = range("<V4.3.8_except_for_switch_chip_M88E6083");
        assert!(r.contains(&v("4.3.7")));
        assert!(r.caveat.is_some());
        assert!(range("<V7.2").caveat.is_none());
    }

    #[test]
    fn unreadable_ranges_are_errors() {
        for text in [
            "<=The_first_5_digits_of_serial_No._\"26061\"",
            "<= Serial Numbers 2310****",
            "<with_Nozomi_Guardian_/_CMC_23.4.1",
            "<=FB",
            "<>_V1.0_and_V1.6",
            "!=1.0",
            "<V14_V14_SP3",
            "<v36.011_v36.014",
            ">=V1.0_V2.0",
            "<=<_V6.23_in_connection_with_using_Create_MyConfig_CMC_V6.6",
            "TSXETY5103 *",
            "<",
            "|||",
        ] {
            assert!(
                VersionRange::parse(text).is_err(),
                "{text:?} parsed: {:?}",
                VersionRange::parse(text)
            );
        }
        assert!(matches!(
            VersionRange::parse(&"<1|".repeat(40)),
            Err(VersionError::Unsupported(_))
        ));
        assert_eq!(
            VersionRange::parse(&"1".repeat(600)),
            Err(VersionError::TooLong)
        );
    }

    #[test]
    fn every_real_advisory_range_parses_or_is_refused_without_panic() {
        // The shapes listed from the 719 CSAF advisories that the matcher must read.
        for text in [
            "vers:all/<V4.5.0",
            "<V5.2.4",
            "vers:all/<V2.8",
            "<V1.1",
            "<V3.16_P013",
            "<V16_Update_8",
            "< 3.01",
            "<V8.4.0.1",
            "<=6.3.13",
            ">=V8.00<V8.22",
            "<V4.7_SP10_HF5",
            "<BIOS_V1.0.212N",
            "<V4.6_Patch_01",
            "<V2010_SP3",
            ">=1.220|<=1.281",
            ">=V7.80_<V9.30",
            "<=\"1.154L\"",
            "<V14_SP1_Update_14",
            "<ROS_V5.0.1",
            ">=4.00.00|<4.20.00",
            "<=V2.5.0_and_Function_State_FS_9",
            "<=16.0.0.23211",
            "<vers:/_V20.2_HotfixRev14",
            ">FW19_up_to_and_including_FW26",
            "<V10.3.3.1.45",
            "<=1.01B",
            "> 6.8.6 | < 6.9.2 CU01",
            "5.011  | < 8.011",
            ">= 9.3.0 -  but not including 9.3.8",
            "<V222.0MP12",
            "vers:all/<V22R2",
            "<V24Q3",
            "<=2021_CU3_Hotfix_2",
        ] {
            assert!(
                VersionRange::parse(text).is_ok(),
                "{text:?}: {:?}",
                VersionRange::parse(text)
            );
        }
        check(
            "<V16_Update_8",
            &["V16 Update 7", "V15.1"],
            &["V16 Update 8", "V17"],
        );
        // Rockwell ICSA-24-284-20: fixed in V33.017, V34.014, V35.013 and V36.011: each line
        // below its fix, and every older line.
        check(
            "<V33.017_V34.014_V35.013_V36.011",
            &["V32.9", "V33.016", "V34.0", "V34.013", "V35.012", "V36.010"],
            &[
                "V33.017", "V33.99", "V34.014", "V35.013", "V36.011", "V37.0",
            ],
        );
        check(
            "<v36.011_v35.013_v34.014",
            &["v36.010", "v34.011"],
            &["v36.011", "v35.013"],
        );
        check(
            "<V9.1_SP2_UC04",
            &["V9.1 SP2 UC03", "V9.1 SP1"],
            &["V9.1 SP2 UC04"],
        );
        // S7-300: "All versions < V3.X.16": every V3 line below its .16, and older lines.
        check(
            "<V3.X.16",
            &["V3.2.15", "V3.3.0", "V2.6.9"],
            &["V3.2.16", "V3.3.17", "V4.0"],
        );
        check("<=\"1.154L\"", &["1.154L", "1.154"], &["1.154M", "1.155"]);
        check(
            "> 6.8.6 | < 6.9.2 CU01",
            &["6.8.7", "6.9.2"],
            &["6.8.6", "6.9.2 CU01", "6.9.3"],
        );
    }
}
