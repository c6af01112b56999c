//! The risk assessment report (issue 9): one site or all sites, as a self-contained HTML file
//! or a PDF made without a browser.
//!
//! [`model`] gathers what the report says from the current posture and the inventory,
//! [`document`] is the format-neutral shape it is laid out in, [`figure`] draws its charts and
//! map, and [`html`] and [`pdf`] write the two formats from the same document.

pub mod charts;
pub mod document;
pub mod figure;
pub mod html;
pub mod model;
pub mod pdf;

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
