//! IBM QRadar Log Event Extended Format 2.0 for an alert, tab-delimited:
//! `LEEF:2.0|Ironward|Ironward|<version>|<kind>|x09|key=value<TAB>key=value...`.
//!
//! Header fields escape `\` and `|`. Attribute values escape `\`, the tab delimiter and line
//! breaks (`\t`, `\n`, `\r`) so that one event stays one line and one attribute stays one
//! field; `=` needs no escape in a value (a receiver splits an attribute at its first `=`).

use ironward_store::ForwardAlert;

use super::{epoch_millis, techniques, text_field};

/// Escapes a header field.
pub fn escape_header(value: &str) -> String {
    super::cef::escape_header(value)
}

/// Escapes an attribute value.
pub fn escape_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// LEEF severity (1-10) of an Ironward severity.
pub fn severity(severity: &str) -> u8 {
    super::cef::severity(severity).max(1)
}

/// The alert as one LEEF 2.0 line (no line break at the end).
pub fn format(alert: &ForwardAlert, version: &str) -> String {
    let kind = alert
        .text("kind")
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{}.alert", alert.engine));
    let mut attrs: Vec<(&str, String)> = vec![
        ("cat", alert.engine.clone()),
        ("sev", severity(&alert.severity).to_string()),
        ("devTime", epoch_millis(alert.last_seen).to_string()),
    ];
    if let Some(src) = text_field(alert, "src_ip") {
        attrs.push(("src", src));
    }
    if let Some(dst) = text_field(alert, "dst_ip") {
        attrs.push(("dst", dst));
    }
    if let Some(protocol) = alert.protocol() {
        attrs.push(("proto", protocol.to_owned()));
    }
    attrs.push(("alertId", alert.id.to_string()));
    attrs.push(("title", alert.title.clone()));
    attrs.push(("severity", alert.severity.clone()));
    attrs.push(("status", alert.status.clone()));
    attrs.push(("count", alert.count.to_string()));
    attrs.push(("firstSeen", epoch_millis(alert.first_seen).to_string()));
    attrs.push(("site", alert.site_id.to_string()));
    attrs.push(("devices", alert.devices.join(",")));
    attrs.push(("techniques", techniques(alert)));
    if let Some(description) = alert.text("description") {
        attrs.push(("description", description.to_owned()));
    }
    let attributes = attrs
        .iter()
        .map(|(k, v)| format!("{k}={}", escape_value(v)))
        .collect::<Vec<_>>()
        .join("\t");
    format!(
        "LEEF:2.0|Ironward|Ironward|{}|{}|x09|{attributes}",
        escape_header(version),
        escape_header(&kind),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::forward::tests::sample;

    #[test]
    fn values_escape_tabs_backslashes_and_line_breaks() {
        assert_eq!(escape_value("a\tb\\c\nd\re"), r"a\tb\\c\nd\re");
        assert_eq!(escape_value("k=v|w"), "k=v|w");
        assert_eq!(escape_header("a|b"), r"a\|b");
    }

    #[test]
    fn formats_an_alert() {
        let line = format(&sample(), "0.1.0");
        assert!(
            line.starts_with("LEEF:2.0|Ironward|Ironward|0.1.0|policy.unauthorized_write|x09|cat=policy\tsev=8\t"),
            "{line}"
        );
        assert!(!line.contains('\n'));
        let parsed = crate::forward::parse::leef(&line).unwrap();
        assert_eq!(parsed.header[4], "policy.unauthorized_write");
        assert_eq!(parsed.ext["src"], "10.0.0.66");
        assert_eq!(parsed.ext["title"], "Write | from 10.0.0.66 \\ x");
        assert_eq!(parsed.ext["description"], "a=b\nsecond line");
    }
}
