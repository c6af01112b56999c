//! The risk assessment report (issue 9): one site or all sites, as a self-contained HTML file
//! or a PDF made without a browser.
//!
//! [`model`] gathers what the report says from the current posture and the inventory,
//! [`document`] is the format-neutral shape it is laid out in, [`figure`] draws its charts and
//! map, and [`html`] and [`pdf`] write the two formats from the same document.

pub mod charts;
pub mod document;
pub mod download;
pub mod figure;
pub mod gather;
pub mod html;
pub mod model;
pub mod pdf;

pub use gather::gather;
pub use model::{build, ReportInput};

/// The two formats a report is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A PDF file.
    Pdf,
    /// One self-contained HTML file.
    Html,
}

impl Format {
    /// `pdf` or `html`.
    pub fn parse(name: &str) -> Option<Format> {
        match name {
            "pdf" => Some(Format::Pdf),
            "html" => Some(Format::Html),
            _ => None,
        }
    }

    /// The file name extension.
    pub const fn extension(self) -> &'static str {
        match self {
            Format::Pdf => "pdf",
            Format::Html => "html",
        }
    }

    /// The media type of the file.
    pub const fn content_type(self) -> &'static str {
        match self {
            Format::Pdf => "application/pdf",
            Format::Html => "text/html; charset=utf-8",
        }
    }
}

/// The risk report of `input` as a file's bytes in `format`.
pub fn render(input: &ReportInput, format: Format) -> Vec<u8> {
    let document = build(input);
    match format {
        Format::Pdf => pdf::render(&document),
        Format::Html => html::render(&document).into_bytes(),
    }
}

/// A file name for the report of `scope` made at `time`: letters, digits and dashes only, so
/// it is safe in a header and on any file system.
pub fn file_name(scope: &str, time: ironward_model::Timestamp, format: Format) -> String {
    let mut slug = String::new();
    for c in scope.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
        if slug.len() >= 40 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-');
    let day = model::format_time(time);
    let day = day.get(..10).unwrap_or("report");
    format!(
        "risk-report-{}{}{day}.{}",
        slug,
        if slug.is_empty() { "" } else { "-" },
        format.extension()
    )
}

/// `text` with the five HTML/XML special characters escaped, for element content and quoted
/// attribute values alike.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters are not allowed in XML 1.0 (an SVG with one is refused by
            // viewers): shown as a space.
            c if c.is_control() && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_safe() {
        let t = ironward_model::Timestamp(1_796_000_000_000_000_000);
        assert_eq!(
            file_name("Site North \"plant\"/../x", t, Format::Pdf),
            "risk-report-site-north-plant-x-2026-11-30.pdf"
        );
        assert_eq!(
            file_name("ÄÖ", t, Format::Html),
            "risk-report-2026-11-30.html"
        );
        assert_eq!(Format::parse("pdf"), Some(Format::Pdf));
        assert_eq!(Format::parse("PDF"), None);
    }
}
