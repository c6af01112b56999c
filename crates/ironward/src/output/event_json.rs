//! One [`Event`] as pretty-printed JSON, byte for byte what `serde_json::to_writer_pretty` writes
//! for it at the same depth — written by hand because events are the bulk of a report (tens of
//! thousands of them, most of its bytes) and serde's generic path spends most of its time
//! dispatching and escaping strings that need no escape.

use std::net::IpAddr;

use ironward_model::{Event, EventEndpoint};

/// Appends `event` to `out` as serde_json's pretty formatter writes it when the object starts
/// `level` levels deep (two spaces per level; the caller has written the indentation before `{`).
pub(crate) fn push_event(out: &mut Vec<u8>, event: &Event, level: usize) {
    let inner = level + 1;
    out.push(b'{');
    key(out, inner, "time", true);
    quoted_timestamp(out, event.time);
    key(out, inner, "last_seen", false);
    quoted_timestamp(out, event.last_seen);
    key(out, inner, "count", false);
    out.extend_from_slice(itoa::Buffer::new().format(event.count).as_bytes());
    key(out, inner, "src", false);
    push_endpoint(out, &event.src, inner);
    key(out, inner, "dst", false);
    push_endpoint(out, &event.dst, inner);
    key(out, inner, "protocol", false);
    push_str(out, &event.protocol);
    key(out, inner, "category", false);
    push_str(out, event.category.as_str());
    key(out, inner, "operation", false);
    push_str(out, &event.operation);
    key(out, inner, "detail", false);
    push_str(out, &event.detail);
    if let Some(hash) = &event.content_hash {
        key(out, inner, "content_hash", false);
        push_str(out, hash);
    }
    close(out, level, b'}');
}

/// An endpoint object; `{}` when it has no field, as serde writes an empty object.
fn push_endpoint(out: &mut Vec<u8>, endpoint: &EventEndpoint, level: usize) {
    let inner = level + 1;
    out.push(b'{');
    let mut first = true;
    if let Some(device) = &endpoint.device {
        key(out, inner, "device", first);
        push_str(out, &device.0);
        first = false;
    }
    if let Some(ip) = endpoint.ip {
        key(out, inner, "ip", first);
        push_ip(out, ip);
        first = false;
    }
    if let Some(mac) = endpoint.mac {
        key(out, inner, "mac", first);
        push_mac(out, mac);
        first = false;
    }
    if first {
        out.push(b'}');
    } else {
        close(out, level, b'}');
    }
}

/// The deepest level [`key`] writes from [`KEY_PREFIXES`]; deeper ones are built piece by piece.
const PREFIXED_LEVELS: usize = 8;

/// For each level, `,\n`, the indentation and the opening quote of a key, in one piece: keys
/// are the bulk of the JSON written, and one copy costs less than four.
const KEY_PREFIXES: [[u8; 3 + 2 * PREFIXED_LEVELS]; PREFIXED_LEVELS + 1] = {
    let mut table = [[b' '; 3 + 2 * PREFIXED_LEVELS]; PREFIXED_LEVELS + 1];
    let mut level = 0;
    while level <= PREFIXED_LEVELS {
        table[level][0] = b',';
        table[level][1] = b'\n';
        table[level][2 + 2 * level] = b'"';
        level += 1;
    }
    table
};

/// `,\n` (or `\n` for the first key), the indentation, the quoted key and `": "`.
pub(super) fn key(out: &mut Vec<u8>, level: usize, name: &str, first: bool) {
    if let Some(prefix) = KEY_PREFIXES.get(level) {
        let start = usize::from(first);
        out.extend_from_slice(&prefix[start..3 + 2 * level]);
    } else {
        out.extend_from_slice(if first { b"\n" } else { b",\n" });
        indent(out, level);
        out.push(b'"');
    }
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\": ");
}

pub(super) fn close(out: &mut Vec<u8>, level: usize, bracket: u8) {
    out.push(b'\n');
    indent(out, level);
    out.push(bracket);
}

pub(super) fn indent(out: &mut Vec<u8>, level: usize) {
    // Copied from a constant: filling byte by byte costs more than the rest of a key.
    const SPACES: &[u8; 32] = &[b' '; 32];
    let mut n = level * 2;
    while n > 0 {
        let k = n.min(SPACES.len());
        out.extend_from_slice(&SPACES[..k]);
        n -= k;
    }
}

/// A MAC address as its `Display` writes it, quoted (hex digits and colons need no escape).
pub(super) fn push_mac(out: &mut Vec<u8>, mac: ironward_model::MacAddress) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut text = [b':'; 19];
    text[0] = b'"';
    text[18] = b'"';
    for (i, byte) in mac.0.iter().enumerate() {
        text[1 + i * 3] = HEX[usize::from(byte >> 4)];
        text[2 + i * 3] = HEX[usize::from(byte & 0x0f)];
    }
    out.extend_from_slice(&text);
}

pub(super) fn quoted_timestamp(out: &mut Vec<u8>, time: ironward_model::Timestamp) {
    out.push(b'"');
    time.push_rfc3339(out);
    out.push(b'"');
}

pub(super) fn push_ip(out: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            out.push(b'"');
            let mut digits = itoa::Buffer::new();
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                out.extend_from_slice(digits.format(octet).as_bytes());
            }
            out.push(b'"');
        }
        IpAddr::V6(v6) => push_str(out, &v6.to_string()),
    }
}

/// A JSON string with serde_json's escapes: `\"`, `\\`, the short forms `\b \t \n \f \r`, and
/// `\u00XX` (lower-case hex) for the other control characters. Eight bytes are checked at a
/// time, since almost every string needs no escape at all.
pub(crate) fn push_str(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    let bytes = text.as_bytes();
    let mut clean = 0;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        if needs_escape(u64::from_le_bytes(word)) {
            break;
        }
        clean += 8;
    }
    if let Some(rest) = bytes.get(clean..).filter(|rest| rest.len() < 8) {
        // The last few bytes, padded with a byte that needs no escape: a clean string (almost
        // every one) is then copied whole, without looking at its bytes one by one.
        let mut word = [b'a'; 8];
        word[..rest.len()].copy_from_slice(rest);
        if !needs_escape(u64::from_le_bytes(word)) {
            out.extend_from_slice(bytes);
            out.push(b'"');
            return;
        }
    }
    out.extend_from_slice(&bytes[..clean]);
    let mut start = clean;
    for (i, &byte) in bytes.iter().enumerate().skip(clean) {
        let short = match byte {
            b'"' => b'"',
            b'\\' => b'\\',
            0x08 => b'b',
            0x09 => b't',
            0x0a => b'n',
            0x0c => b'f',
            0x0d => b'r',
            0x00..=0x1f => b'u',
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.push(b'\\');
        out.push(short);
        if short == b'u' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"00");
            out.push(HEX[usize::from(byte >> 4)]);
            out.push(HEX[usize::from(byte & 0x0f)]);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Whether any of the eight bytes of `word` is a control character, `"` or `\` (the classic
/// "has a zero byte" and "has a byte below n" bit tricks, both exact).
fn needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS != 0;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGHS != 0;
    below_space
        || has_zero(word ^ (ONES * u64::from(b'"')))
        || has_zero(word ^ (ONES * u64::from(b'\\')))
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use ironward_model::{DeviceId, EventCategory, MacAddress, Timestamp};

    use super::*;

    fn serde_pretty(event: &Event) -> String {
        serde_json::to_string_pretty(event).unwrap()
    }

    fn by_hand(event: &Event) -> String {
        let mut out = Vec::new();
        push_event(&mut out, event, 0);
        String::from_utf8(out).unwrap()
    }

    fn event(detail: &str) -> Event {
        Event {
            time: Timestamp(1_700_000_000_123_456_789),
            last_seen: Timestamp(1_700_000_100_000_000_000),
            count: 12_345,
            src: EventEndpoint {
                device: Some(DeviceId("mac:00:80:f4:01:02:03".to_owned())),
                ip: Some("10.0.0.1".parse().unwrap()),
                mac: None,
            },
            dst: EventEndpoint {
                device: None,
                ip: Some("fe80::1:2".parse().unwrap()),
                mac: Some(MacAddress([1, 0x0c, 0xcd, 1, 0, 1])),
            },
            protocol: Cow::Borrowed("modbus"),
            category: EventCategory::Write,
            operation: Cow::Borrowed("write_multiple_registers"),
            detail: detail.to_owned(),
            content_hash: None,
        }
    }

    #[test]
    fn writes_the_bytes_serde_writes() {
        for detail in [
            "",
            "unit 1, registers 0-9",
            "exactly8",
            "quote \" and backslash \\ past the first eight bytes",
            "\"",
            "tab\there, newline\n, nul \0, bell \x07, del \x7f, unit sep \x1f, é ü 中",
            "\u{8}\u{c}\r",
        ] {
            let mut e = event(detail);
            assert_eq!(by_hand(&e), serde_pretty(&e), "{detail:?}");
            e.content_hash = Some("ab".repeat(32));
            e.src = EventEndpoint::default();
            e.dst = EventEndpoint::mac(MacAddress([0xff; 6]));
            e.category = EventCategory::ProgramDownload;
            assert_eq!(by_hand(&e), serde_pretty(&e), "{detail:?}");
        }
    }

    #[test]
    fn nested_level_matches_serde_inside_an_array() {
        let e = event("x");
        let mut out = b"[\n  ".to_vec();
        push_event(&mut out, &e, 1);
        out.extend_from_slice(b"\n]");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            serde_json::to_string_pretty(&vec![e]).unwrap()
        );
    }

    #[test]
    fn keys_are_indented_at_every_level() {
        for level in 0..PREFIXED_LEVELS + 4 {
            for first in [true, false] {
                let mut out = Vec::new();
                key(&mut out, level, "name", first);
                let expected = format!(
                    "{}\n{}\"name\": ",
                    if first { "" } else { "," },
                    " ".repeat(level * 2)
                );
                assert_eq!(String::from_utf8(out).unwrap(), expected, "{level} {first}");
            }
        }
    }

    #[test]
    fn escape_detection_is_exact_for_every_byte_in_every_lane() {
        for lane in 0..8 {
            for byte in 0..=255u8 {
                let mut word = [b'a'; 8];
                word[lane] = byte;
                let expected = byte < 0x20 || byte == b'"' || byte == b'\\';
                assert_eq!(
                    needs_escape(u64::from_le_bytes(word)),
                    expected,
                    "{byte:#x} at {lane}"
                );
            }
        }
    }
}
