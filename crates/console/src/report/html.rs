//! The report as one self-contained HTML file: inline CSS and inline SVG, no script and no
//! external reference, so it opens offline and can be mailed or archived as is. Every text
//! from the inventory is escaped.

use std::fmt::Write as _;

use super::document::{Align, Block, Document, Table};
use super::escape;

const STYLE: &str = "\
body{font-family:Helvetica,Arial,sans-serif;color:#1f2937;margin:0 auto;max-width:60rem;\
padding:1.5rem;line-height:1.4}\
h1{font-size:1.8rem;margin:0 0 .5rem}h2{font-size:1.3rem;margin:2rem 0 .6rem;\
border-bottom:2px solid #2f6db5;padding-bottom:.2rem}h3{font-size:1.05rem;margin:1.2rem 0 .4rem}\
.title{border-bottom:3px solid #2f6db5;margin-bottom:1rem;padding-bottom:1rem}\
dl.facts{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem;margin:.4rem 0}\
dl.facts dt{color:#6b7280}dl.facts dd{margin:0}\
table{border-collapse:collapse;width:100%;font-size:.85rem;margin:.4rem 0}\
th{background:#e3e6ea;text-align:left;padding:.25rem .4rem}\
td{border-bottom:1px solid #e3e6ea;padding:.2rem .4rem;vertical-align:top}\
td.num,th.num{text-align:right}.note{color:#6b7280;font-size:.85rem}\
figure{margin:.6rem 0}figure svg{width:100%;max-width:48rem;height:auto}\
@media print{h2{break-before:auto}table{page-break-inside:auto}tr{break-inside:avoid}\
thead{display:table-header-group}figure{break-inside:avoid}}";

/// Writes `document` as a complete HTML page.
pub fn render(document: &Document) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n",
        escape(&document.title)
    );
    let _ = write!(
        out,
        "<header class=\"title\"><h1>{}</h1><dl class=\"facts\">",
        escape(&document.title)
    );
    for (label, value) in &document.title_lines {
        let _ = write!(out, "<dt>{}</dt><dd>{}</dd>", escape(label), escape(value));
    }
    out.push_str("</dl></header>\n");
    for section in &document.sections {
        let _ = writeln!(out, "<section><h2>{}</h2>", escape(&section.title));
        for block in &section.blocks {
            block_html(&mut out, block);
        }
        out.push_str("</section>\n");
    }
    out.push_str("</body></html>\n");
    out
}

fn block_html(out: &mut String, block: &Block) {
    match block {
        Block::Paragraph(text) => {
            let _ = writeln!(out, "<p>{}</p>", escape(text));
        }
        Block::Heading(text) => {
            let _ = writeln!(out, "<h3>{}</h3>", escape(text));
        }
        Block::Facts(facts) => {
            out.push_str("<dl class=\"facts\">");
            for (label, value) in facts {
                let _ = write!(out, "<dt>{}</dt><dd>{}</dd>", escape(label), escape(value));
            }
            out.push_str("</dl>\n");
        }
        Block::Figure(figure) => {
            out.push_str("<figure>");
            out.push_str(&figure.to_svg());
            out.push_str("</figure>\n");
        }
        Block::Table(table) => table_html(out, table),
    }
}

fn table_html(out: &mut String, table: &Table) {
    if table.rows.is_empty() {
        let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(&table.empty));
        return;
    }
    out.push_str("<table><thead><tr>");
    for column in &table.columns {
        let class = match column.align {
            Align::Left => "",
            Align::Right => " class=\"num\"",
        };
        let _ = write!(out, "<th{class}>{}</th>", escape(&column.title));
    }
    out.push_str("</tr></thead><tbody>\n");
    for row in &table.rows {
        out.push_str("<tr>");
        for (cell, column) in row.iter().zip(&table.columns) {
            let class = match column.align {
                Align::Left => "",
                Align::Right => " class=\"num\"",
            };
            let _ = write!(out, "<td{class}>{}</td>", escape(cell));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n");
    if let Some(note) = table.truncation_note() {
        let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(&note));
    }
}

#[cfg(test)]
mod tests {
    use super::super::document::{Column, Section};
    use super::super::figure::{Anchor, Color, Figure};
    use super::*;

    fn document() -> Document {
        let mut section = Section::new("Devices <all>");
        section.paragraph("Tom & Jerry's \"PLC\"");
        let mut figure = Figure::new(100.0, 50.0, "chart");
        figure.rect(0.0, 0.0, 10.0, 10.0, Color::BLUE);
        figure.text((5.0, 5.0), "<b>", 8.0, Anchor::Start, Color::TEXT);
        section.blocks.push(Block::Figure(figure));
        section.blocks.push(Block::Table(
            Table::bounded(
                vec![Column::text("Name", 2.0), Column::number("Score", 1.0)],
                (0..30).map(|i| vec![format!("<img src=x onerror={i}>"), i.to_string()]),
                20,
                "No devices.",
            )
            .with_full_list("Inventory > Export CSV"),
        ));
        section.blocks.push(Block::Table(Table::bounded(
            vec![Column::text("Name", 1.0)],
            Vec::<Vec<String>>::new(),
            20,
            "No unauthorized devices.",
        )));
        Document {
            title: "Risk <report>".into(),
            title_lines: vec![("Site".into(), "Plant & <north>".into())],
            footer: "Plant".into(),
            sections: vec![section],
        }
    }

    #[test]
    fn everything_from_the_inventory_is_escaped() {
        let html = render(&document());
        assert!(!html.contains("<img"));
        assert!(html.contains("&lt;img src=x onerror=0&gt;"));
        assert!(html.contains("Tom &amp; Jerry&#39;s &quot;PLC&quot;"));
        assert!(html.contains("<title>Risk &lt;report&gt;</title>"));
        assert!(html.contains("Plant &amp; &lt;north&gt;"));
        assert!(html.contains("<h2>Devices &lt;all&gt;</h2>"));
    }

    #[test]
    fn the_page_is_self_contained() {
        let html = render(&document());
        assert!(!html.contains("<script"));
        for external in ["<link", "href=", "url(", "@import", "<iframe", "<object"] {
            assert!(
                !html.contains(external),
                "{external} in a self-contained page"
            );
        }
        assert!(html.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    }

    #[test]
    fn tables_are_bounded_and_say_so() {
        let html = render(&document());
        assert_eq!(html.matches("<tr>").count(), 1 + 20, "header + 20 rows");
        assert!(
            html.contains("First 20 of 30 rows shown. The full list: Inventory &gt; Export CSV.")
        );
        assert!(html.contains("No unauthorized devices."));
        assert!(html.contains("<td class=\"num\">19</td>"));
    }
}
