//! Reading what the forwarder writes: RFC 5424 syslog headers and octet-counted frames, CEF and
//! LEEF 2.0 lines. The receivers in the tests use it, and so can anyone checking a capture. It
//! never panics on hostile text; it answers `None` for what it cannot read.

use std::collections::BTreeMap;

/// An RFC 5424 message split into its header fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Syslog {
    /// Priority (facility × 8 + severity).
    pub pri: u16,
    /// Version (1).
    pub version: u8,
    /// Timestamp text.
    pub timestamp: String,
    /// Host name.
    pub hostname: String,
    /// Application name.
    pub app_name: String,
    /// Process id.
    pub procid: String,
    /// Message id.
    pub msgid: String,
    /// Structured data (`-` when none).
    pub structured_data: String,
    /// The message.
    pub msg: String,
}

/// Parses one RFC 5424 message (without framing). Structured data must be `-`, as the
/// forwarder writes it.
pub fn syslog(text: &str) -> Option<Syslog> {
    let rest = text.strip_prefix('<')?;
    let (pri, rest) = rest.split_once('>')?;
    let pri: u16 = pri.parse().ok().filter(|p| *p < 192)?;
    let mut parts = rest.splitn(8, ' ');
    let version = parts.next()?.parse().ok()?;
    let timestamp = parts.next()?.to_owned();
    let hostname = parts.next()?.to_owned();
    let app_name = parts.next()?.to_owned();
    let procid = parts.next()?.to_owned();
    let msgid = parts.next()?.to_owned();
    let structured_data = parts.next()?.to_owned();
    let msg = parts.next().unwrap_or("").to_owned();
    Some(Syslog {
        pri,
        version,
        timestamp,
        hostname,
        app_name,
        procid,
        msgid,
        structured_data,
        msg,
    })
}

/// Splits one octet-counted frame (`LEN SP MSG`, RFC 6587) off the front of `buf`: the message
/// and the bytes it used, or `None` when more bytes are needed or the frame is malformed.
pub fn octet_frame(buf: &[u8]) -> Option<(&[u8], usize)> {
    let space = buf.iter().take(10).position(|b| *b == b' ')?;
    let len: usize = std::str::from_utf8(&buf[..space]).ok()?.parse().ok()?;
    let end = space.checked_add(1)?.checked_add(len)?;
    let msg = buf.get(space + 1..end)?;
    Some((msg, end))
}

/// A CEF or LEEF event: the header fields after the format marker, unescaped, and the
/// key-value pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Header fields (CEF: version, vendor, product, product version, signature id, name,
    /// severity; LEEF: version, vendor, product, product version, event id, delimiter).
    pub header: Vec<String>,
    /// Extension (CEF) or attributes (LEEF).
    pub ext: BTreeMap<String, String>,
}

/// Splits `text` at unescaped `|` into `n` header fields and the rest.
fn header(text: &str, n: usize) -> Option<(Vec<String>, &str)> {
    let mut fields = Vec::with_capacity(n);
    let mut current = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => current.push(chars.next()?.1),
            '|' => {
                fields.push(std::mem::take(&mut current));
                if fields.len() == n {
                    return Some((fields, &text[i + 1..]));
                }
            }
            c => current.push(c),
        }
    }
    None
}

fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Parses a CEF line.
pub fn cef(line: &str) -> Option<Event> {
    let rest = line.strip_prefix("CEF:")?;
    let (header, ext_text) = header(rest, 7)?;
    // Keys are `[A-Za-z0-9_]+` followed by an unescaped `=`; a value runs to the next key.
    let bytes = ext_text.as_bytes();
    let mut starts = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            i += 2;
            continue;
        }
        if bytes[i] == b'=' {
            let mut k = i;
            while k > 0 && (bytes[k - 1].is_ascii_alphanumeric() || bytes[k - 1] == b'_') {
                k -= 1;
            }
            if k < i && (k == 0 || bytes[k - 1] == b' ') {
                starts.push((k, i));
            }
        }
        i += 1;
    }
    let mut ext = BTreeMap::new();
    for (n, (k, eq)) in starts.iter().enumerate() {
        let end = starts
            .get(n + 1)
            .map(|(next, _)| next.saturating_sub(1))
            .unwrap_or(bytes.len());
        let key = ext_text.get(*k..*eq)?;
        let value = ext_text.get(eq + 1..end.max(eq + 1))?;
        ext.insert(key.to_owned(), unescape(value));
    }
    Some(Event { header, ext })
}

/// Parses a tab-delimited LEEF 2.0 line.
pub fn leef(line: &str) -> Option<Event> {
    let rest = line.strip_prefix("LEEF:")?;
    let (header, attrs) = header(rest, 6)?;
    let mut ext = BTreeMap::new();
    for attr in attrs.split('\t').filter(|a| !a.is_empty()) {
        let (k, v) = attr.split_once('=')?;
        ext.insert(k.to_owned(), unescape(v));
    }
    Some(Event { header, ext })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn hostile_text_is_refused_not_panicked_on() {
        for text in [
            "",
            "<",
            "<999>1",
            "CEF:",
            "CEF:0|a\\",
            "LEEF:2.0|a|b|c|d|e|novalue",
            "\\",
        ] {
            let _ = syslog(text);
            let _ = cef(text);
            let _ = leef(text);
            let _ = octet_frame(text.as_bytes());
        }
        assert!(octet_frame(b"99999999999999999999 x").is_none());
        assert_eq!(octet_frame(b"3 abcdef").unwrap(), (&b"abc"[..], 5));
        assert!(octet_frame(b"10 abc").is_none());
    }
}
