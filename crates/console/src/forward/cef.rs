//! ArcSight Common Event Format (CEF:0) for an alert:
//! `CEF:0|Ironward|Ironward|<version>|<kind>|<title>|<0-10>|<extension>`.
//!
//! Header fields escape `\` and `|`; extension values escape `\`, `=` and line breaks (`\n`,
//! `\r`), as the CEF specification requires. Line breaks in header fields become spaces: the
//! header has no escape for them and a receiver reads one event per line.

use ironward_store::ForwardAlert;

use super::{epoch_millis, techniques, text_field};

/// CEF severity (0-10) of an Ironward severity.
pub fn severity(severity: &str) -> u8 {
    match severity {
        "critical" => 10,
        "major" => 8,
        "minor" => 5,
        "warning" => 3,
        _ => 0,
    }
}

/// Escapes a header field.
pub fn escape_header(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '|' => out.push_str("\\|"),
            '\r' | '\n' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Escapes an extension value.
pub fn escape_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '=' => out.push_str("\\="),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// The alert as one CEF line (no line break at the end).
pub fn format(alert: &ForwardAlert, version: &str) -> String {
    let kind = alert
        .text("kind")
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{}.alert", alert.engine));
    let mut ext: Vec<(&str, String)> = Vec::new();
    if let Some(src) = text_field(alert, "src_ip") {
        ext.push(("src", src));
    }
    if let Some(dst) = text_field(alert, "dst_ip") {
        ext.push(("dst", dst));
    }
    if let Some(protocol) = alert.protocol() {
        ext.push(("app", protocol.to_owned()));
    }
    ext.push(("externalId", alert.id.to_string()));
    ext.push(("cnt", alert.count.to_string()));
    ext.push(("start", epoch_millis(alert.first_seen).to_string()));
    ext.push(("end", epoch_millis(alert.last_seen).to_string()));
    ext.push(("cat", alert.engine.clone()));
    ext.push(("cs1Label", "techniques".to_owned()));
    ext.push(("cs1", techniques(alert)));
    ext.push(("cs2Label", "site".to_owned()));
    ext.push(("cs2", alert.site_id.to_string()));
    ext.push(("cs3Label", "devices".to_owned()));
    ext.push(("cs3", alert.devices.join(",")));
    ext.push(("cs4Label", "status".to_owned()));
    ext.push(("cs4", alert.status.clone()));
    if let Some(description) = alert.text("description") {
        ext.push(("msg", description.to_owned()));
    }
    let extension = ext
        .iter()
        .map(|(k, v)| format!("{k}={}", escape_value(v)))
        .collect::<Vec<_>>()
        .join(" ");
    format!(
        "CEF:0|Ironward|Ironward|{}|{}|{}|{}|{extension}",
        escape_header(version),
        escape_header(&kind),
        escape_header(&alert.title),
        severity(&alert.severity),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::forward::tests::sample;

    #[test]
    fn header_escapes_pipes_backslashes_and_line_breaks() {
        assert_eq!(escape_header(r"a|b\c"), r"a\|b\\c");
        assert_eq!(escape_header("two\nlines\r"), "two lines ");
        assert_eq!(escape_header("a=b"), "a=b");
    }

    #[test]
    fn values_escape_equals_backslashes_and_line_breaks() {
        assert_eq!(escape_value(r"k=v\x"), r"k\=v\\x");
        assert_eq!(escape_value("one\ntwo\r"), r"one\ntwo\r");
        assert_eq!(escape_value("a|b"), "a|b");
    }

    #[test]
    fn formats_an_alert() {
        let line = format(&sample(), "0.1.0");
        assert!(
            line.starts_with(
                r"CEF:0|Ironward|Ironward|0.1.0|policy.unauthorized_write|Write \| from 10.0.0.66 \\ x|8|"
            ),
            "{line}"
        );
        assert!(
            line.contains("src=10.0.0.66 dst=10.0.0.10 app=modbus"),
            "{line}"
        );
        assert!(line.contains(r"msg=a\=b\nsecond line"), "{line}");
        assert!(
            line.contains("cs1=T0855 Unauthorized Command Message"),
            "{line}"
        );
        assert!(!line.contains('\n'));
        let parsed = crate::forward::parse::cef(&line).unwrap();
        assert_eq!(parsed.header[4], "policy.unauthorized_write");
        assert_eq!(parsed.header[5], "Write | from 10.0.0.66 \\ x");
        assert_eq!(parsed.header[6], "8");
        assert_eq!(parsed.ext["msg"], "a=b\nsecond line");
        assert_eq!(parsed.ext["cnt"], "3");
    }
}
