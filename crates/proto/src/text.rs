//! Helpers for text protocols built like HTTP (HTTP, SSDP, RTSP, SIP, IPP over HTTP): a start
//! line, header lines and an empty line, all zero-copy over the received bytes.

/// Most header lines read from one message head; the rest are ignored.
pub const MAX_HEADERS: usize = 64;

/// Why a message head could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadError {
    /// The empty line ending the head was not (yet) received.
    Incomplete,
    /// The first line is empty or holds bytes no text protocol uses (NUL, most controls).
    NotText,
}

impl std::fmt::Display for HeadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Incomplete => "message head incomplete (no empty line yet)",
            Self::NotText => "start line is not text",
        })
    }
}

/// A message head: start line and header lines, borrowed from the input.
#[derive(Debug, Clone, Copy)]
pub struct Head<'a> {
    /// The start line (request or status line), without its line end.
    pub start_line: &'a [u8],
    /// The header lines, without the start line and the empty line.
    block: &'a [u8],
    /// Length of the head in bytes, the empty line included: the body starts here.
    pub len: usize,
}

impl<'a> Head<'a> {
    /// Reads a head at the start of `input`. Lines may end in CRLF or LF alone.
    pub fn parse(input: &'a [u8]) -> Result<Self, HeadError> {
        let first_end = find(input, b"\n").ok_or(HeadError::Incomplete)?;
        let start_line = trim_cr(&input[..first_end]);
        if start_line.is_empty()
            || start_line
                .iter()
                .any(|&b| b < 0x20 && b != b'\t' || b == 0x7f)
        {
            return Err(HeadError::NotText);
        }
        let rest = &input[first_end + 1..];
        let mut pos = 0;
        loop {
            let Some(end) = find(&rest[pos..], b"\n") else {
                return Err(HeadError::Incomplete);
            };
            let line = trim_cr(&rest[pos..pos + end]);
            if line.is_empty() {
                return Ok(Self {
                    start_line,
                    block: &rest[..pos],
                    len: first_end + 1 + pos + end + 1,
                });
            }
            pos += end + 1;
        }
    }

    /// The header lines as (name, value) pairs, values trimmed; at most [`MAX_HEADERS`].
    pub fn headers(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + 'a {
        self.block
            .split(|&b| b == b'\n')
            .take(MAX_HEADERS)
            .filter_map(|line| {
                let line = trim_cr(line);
                let colon = line.iter().position(|&b| b == b':')?;
                Some((trim(&line[..colon]), trim(&line[colon + 1..])))
            })
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'a [u8]> {
        self.headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v)
    }

    /// The start line split at spaces: up to three parts, the last one keeping its spaces
    /// (`GET /path HTTP/1.1`, `HTTP/1.1 200 OK`, `NOTIFY * HTTP/1.1`).
    pub fn start_parts(&self) -> [&'a [u8]; 3] {
        let mut parts = [&[][..]; 3];
        let mut rest = self.start_line;
        for (i, part) in parts.iter_mut().enumerate() {
            if i == 2 {
                *part = rest;
                break;
            }
            match rest.iter().position(|&b| b == b' ') {
                Some(space) => {
                    *part = &rest[..space];
                    rest = &rest[space + 1..];
                }
                None => {
                    *part = rest;
                    rest = &[];
                }
            }
        }
        parts
    }
}

/// Position of `needle` in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Position of `needle` in `haystack`, ignoring ASCII case.
pub fn find_ignore_case(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

/// Whether `input` starts with `prefix`, ignoring ASCII case.
pub fn starts_with_ignore_case(input: &[u8], prefix: &[u8]) -> bool {
    input.len() >= prefix.len() && input[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// `input` without leading and trailing ASCII whitespace.
pub fn trim(input: &[u8]) -> &[u8] {
    let start = input
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(input.len());
    let end = input
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |p| p + 1);
    &input[start..end]
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The text between `<tag>` and `</tag>` (case-insensitive, attributes on the opening tag
/// allowed), searched within the first `limit` bytes: `<title>`, UPnP `<modelName>`.
pub fn element<'a>(document: &'a [u8], tag: &str, limit: usize) -> Option<&'a [u8]> {
    let document = &document[..document.len().min(limit)];
    let mut from = 0;
    while from < document.len() {
        let open = from + find(&document[from..], b"<")?;
        let name_start = open + 1;
        let name_end = name_start + tag.len();
        from = name_start;
        if name_end > document.len()
            || !document[name_start..name_end].eq_ignore_ascii_case(tag.as_bytes())
        {
            continue;
        }
        match document.get(name_end) {
            Some(b'>') | Some(b' ') | Some(b'\t') | Some(b'\r') | Some(b'\n') => {}
            _ => continue,
        }
        let content_start = name_end + find(&document[name_end..], b">")? + 1;
        let content_end = content_start + find(&document[content_start..], b"</")?;
        return Some(trim(&document[content_start..content_end]));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_split_into_start_line_headers_and_body() {
        let message =
            b"HTTP/1.1 200 OK\r\nServer: Boa/0.94\r\nX-Empty:\r\n  Bad line\r\n\r\n<html>";
        let head = Head::parse(message).unwrap();
        assert_eq!(head.start_line, b"HTTP/1.1 200 OK");
        assert_eq!(head.start_parts(), [&b"HTTP/1.1"[..], b"200", b"OK"]);
        assert_eq!(head.header("server"), Some(&b"Boa/0.94"[..]));
        assert_eq!(head.header("x-empty"), Some(&b""[..]));
        assert_eq!(&message[head.len..], b"<html>");
        assert_eq!(
            Head::parse(b"GET / HTTP/1.1\r\nHost: a\r\n").unwrap_err(),
            HeadError::Incomplete
        );
        assert_eq!(
            Head::parse(b"\x00\x01\r\n\r\n").unwrap_err(),
            HeadError::NotText
        );
        assert_eq!(Head::parse(b"NOTIFY * HTTP/1.1\n\n").unwrap().len, 19);
    }

    #[test]
    fn elements_are_found_case_insensitively() {
        let doc = b"<root><TITLE lang=en> Printer  </TITLE><modelName>M507</modelName><modelNameX>";
        assert_eq!(element(doc, "title", 1000), Some(&b"Printer"[..]));
        assert_eq!(element(doc, "modelname", 1000), Some(&b"M507"[..]));
        assert_eq!(element(doc, "missing", 1000), None);
        assert_eq!(element(b"<title>never closed", "title", 1000), None);
    }
}
