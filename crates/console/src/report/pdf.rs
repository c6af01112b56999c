//! The report as PDF, written directly with `pdf-writer`: no browser, no font files. Text uses
//! the PDF base-14 fonts Helvetica and Helvetica-Bold (every reader has them, so nothing is
//! embedded) in WinAnsi encoding, measured with the fonts' standard metrics for wrapping,
//! truncation and alignment. Figures are drawn from the same [`Figure`] shapes the HTML report
//! writes as SVG.
//!
//! Layout is two passes: the document is laid out into pages of drawing operations first, so
//! the page count is known when the footers ("Page i of N") are written.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use super::document::{Align, Block, Document, Table};
use super::figure::{arc_point, Anchor, Color, Figure, Shape};

/// A4 width in points.
const PAGE_W: f32 = 595.0;
/// A4 height in points.
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 50.0;
const CONTENT_W: f32 = PAGE_W - 2.0 * MARGIN;
/// Lowest y content may reach; the footer sits below.
const BOTTOM: f32 = MARGIN + 20.0;
const TOP: f32 = PAGE_H - MARGIN;
const BODY_SIZE: f32 = 10.0;
const TABLE_SIZE: f32 = 8.0;
const ROW_H: f32 = 13.0;
const CELL_PAD: f32 = 3.0;

/// One drawing operation on a page, in PDF coordinates (origin bottom left).
#[derive(Debug, Clone)]
enum Op {
    Text {
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        color: Color,
        text: String,
    },
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        color: Color,
    },
    Line {
        from: (f32, f32),
        to: (f32, f32),
        color: Color,
        width: f32,
    },
    /// A figure whose top-left corner is at (x, top), scaled by `scale`.
    Figure {
        figure: Figure,
        x: f32,
        top: f32,
        scale: f32,
    },
}

/// Pages being filled top to bottom.
struct Layout {
    pages: Vec<Vec<Op>>,
    y: f32,
}

impl Layout {
    fn new() -> Self {
        Self {
            pages: vec![Vec::new()],
            y: TOP,
        }
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = TOP;
    }

    /// Starts a new page unless `height` more fits on this one (a block taller than a page
    /// starts at the top of a fresh one and is cut by the reader, never lost from the file).
    fn ensure(&mut self, height: f32) {
        if self.y - height < BOTTOM && self.y < TOP {
            self.new_page();
        }
    }

    fn push(&mut self, op: Op) {
        if let Some(page) = self.pages.last_mut() {
            page.push(op);
        }
    }

    fn text(&mut self, x: f32, size: f32, bold: bool, color: Color, text: &str) {
        let y = self.y - size;
        self.push(Op::Text {
            x,
            y,
            size,
            bold,
            color,
            text: text.to_owned(),
        });
    }

    fn paragraph(&mut self, text: &str, size: f32, bold: bool, color: Color, width: f32) {
        let leading = size * 1.35;
        for line in wrap(text, size, bold, width) {
            self.ensure(leading);
            self.text(MARGIN, size, bold, color, &line);
            self.y -= leading;
        }
        self.y -= size * 0.5;
    }

    fn heading(&mut self, text: &str, size: f32, rule: bool) {
        // A heading never sits alone at the bottom of a page.
        self.ensure(size * 1.6 + 3.0 * ROW_H);
        self.y -= size * 0.6;
        self.text(MARGIN, size, true, Color::TEXT, text);
        self.y -= size * 1.3;
        if rule {
            self.push(Op::Line {
                from: (MARGIN, self.y + 2.0),
                to: (PAGE_W - MARGIN, self.y + 2.0),
                color: Color::BLUE,
                width: 1.2,
            });
            self.y -= 6.0;
        }
    }

    fn facts(&mut self, facts: &[(String, String)]) {
        let label_w = facts
            .iter()
            .map(|(label, _)| text_width(label, BODY_SIZE, false))
            .fold(0.0f32, f32::max)
            .min(CONTENT_W * 0.4)
            + 12.0;
        let leading = BODY_SIZE * 1.35;
        for (label, value) in facts {
            let lines = wrap(value, BODY_SIZE, false, CONTENT_W - label_w);
            self.ensure(leading * lines.len().max(1) as f32);
            let label = fit(label, BODY_SIZE, false, label_w - 6.0);
            self.text(MARGIN, BODY_SIZE, false, Color::GREY, &label);
            for line in lines {
                self.text(MARGIN + label_w, BODY_SIZE, false, Color::TEXT, &line);
                self.y -= leading;
            }
        }
        self.y -= BODY_SIZE * 0.5;
    }

    fn figure(&mut self, figure: &Figure) {
        // Scaled down to the column's width and to a page's height (a map of many rows).
        let scale = (CONTENT_W / figure.width.max(1.0))
            .min((TOP - BOTTOM - 8.0) / figure.height.max(1.0))
            .min(1.0);
        let height = figure.height * scale;
        self.ensure(height + 6.0);
        self.push(Op::Figure {
            figure: figure.clone(),
            x: MARGIN,
            top: self.y,
            scale,
        });
        self.y -= height + 8.0;
    }

    fn table(&mut self, table: &Table) {
        if table.rows.is_empty() {
            self.paragraph(&table.empty, BODY_SIZE, false, Color::GREY, CONTENT_W);
            return;
        }
        let total_weight: f32 = table.columns.iter().map(|c| c.weight.max(0.1)).sum();
        let widths: Vec<f32> = table
            .columns
            .iter()
            .map(|c| CONTENT_W * c.weight.max(0.1) / total_weight)
            .collect();
        self.ensure(2.0 * ROW_H);
        self.table_header(table, &widths);
        for (i, row) in table.rows.iter().enumerate() {
            if self.y - ROW_H < BOTTOM {
                self.new_page();
                self.table_header(table, &widths);
            }
            if i % 2 == 1 {
                self.push(Op::Rect {
                    x: MARGIN,
                    y: self.y - ROW_H,
                    w: CONTENT_W,
                    h: ROW_H,
                    color: Color(0xf5, 0xf6, 0xf8),
                });
            }
            self.row(row, table, &widths, false);
        }
        self.y -= 4.0;
        if let Some(note) = table.truncation_note() {
            self.paragraph(&note, TABLE_SIZE, false, Color::GREY, CONTENT_W);
        }
        self.y -= 4.0;
    }

    fn table_header(&mut self, table: &Table, widths: &[f32]) {
        self.push(Op::Rect {
            x: MARGIN,
            y: self.y - ROW_H,
            w: CONTENT_W,
            h: ROW_H,
            color: Color::LIGHT,
        });
        let titles: Vec<String> = table.columns.iter().map(|c| c.title.clone()).collect();
        self.row(&titles, table, widths, true);
    }

    fn row(&mut self, cells: &[String], table: &Table, widths: &[f32], bold: bool) {
        let baseline = self.y - ROW_H + 4.0;
        let mut x = MARGIN;
        for ((cell, column), width) in cells.iter().zip(&table.columns).zip(widths) {
            let text = fit(cell, TABLE_SIZE, bold, width - 2.0 * CELL_PAD);
            let tx = match column.align {
                Align::Left => x + CELL_PAD,
                Align::Right => x + width - CELL_PAD - text_width(&text, TABLE_SIZE, bold),
            };
            self.push(Op::Text {
                x: tx,
                y: baseline,
                size: TABLE_SIZE,
                bold,
                color: Color::TEXT,
                text,
            });
            x += width;
        }
        self.y -= ROW_H;
    }
}

/// Writes `document` as a PDF file's bytes.
pub fn render(document: &Document) -> Vec<u8> {
    let mut layout = Layout::new();
    title_page(&mut layout, document);
    for section in &document.sections {
        if layout.y < TOP {
            layout.y -= 8.0;
        }
        layout.heading(&section.title, 15.0, true);
        for block in &section.blocks {
            match block {
                Block::Paragraph(text) => {
                    layout.paragraph(text, BODY_SIZE, false, Color::TEXT, CONTENT_W)
                }
                Block::Heading(text) => layout.heading(text, 11.5, false),
                Block::Facts(facts) => layout.facts(facts),
                Block::Figure(figure) => layout.figure(figure),
                Block::Table(table) => layout.table(table),
            }
        }
    }
    write_pdf(document, &layout.pages)
}

fn title_page(layout: &mut Layout, document: &Document) {
    layout.y = TOP - 160.0;
    layout.push(Op::Rect {
        x: MARGIN,
        y: layout.y + 12.0,
        w: CONTENT_W,
        h: 6.0,
        color: Color::BLUE,
    });
    layout.paragraph(&document.title, 26.0, true, Color::TEXT, CONTENT_W);
    layout.y -= 10.0;
    layout.facts(&document.title_lines);
    layout.new_page();
}

fn write_pdf(document: &Document, pages: &[Vec<Op>]) -> Vec<u8> {
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let regular = Ref::new(3);
    let bold = Ref::new(4);
    let info = Ref::new(5);
    let first = 6;
    let page_ref = |i: usize| Ref::new(first + 2 * i32::try_from(i).unwrap_or(i32::MAX / 4));
    let content_ref = |i: usize| Ref::new(first + 1 + 2 * i32::try_from(i).unwrap_or(i32::MAX / 4));

    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids((0..pages.len()).map(page_ref))
        .count(i32::try_from(pages.len()).unwrap_or(i32::MAX));
    pdf.type1_font(regular)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.document_info(info)
        .title(TextStr(&document.title))
        .producer(TextStr("Ironward"));

    let count = pages.len();
    for (i, ops) in pages.iter().enumerate() {
        let mut content = Content::new();
        for op in ops {
            draw(&mut content, op);
        }
        // Footer: the scope on the left, the page number on the right.
        let footer = fit(&document.footer, 8.0, false, CONTENT_W * 0.6);
        draw_text(
            &mut content,
            MARGIN,
            MARGIN - 10.0,
            8.0,
            false,
            Color::GREY,
            &footer,
        );
        let number = format!("Page {} of {count}", i + 1);
        let x = PAGE_W - MARGIN - text_width(&number, 8.0, false);
        draw_text(
            &mut content,
            x,
            MARGIN - 10.0,
            8.0,
            false,
            Color::GREY,
            &number,
        );
        let bytes = content.finish();

        let mut page = pdf.page(page_ref(i));
        page.parent(tree)
            .media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H))
            .contents(content_ref(i));
        let mut resources = page.resources();
        let mut fonts = resources.fonts();
        fonts.pair(Name(b"F1"), regular);
        fonts.pair(Name(b"F2"), bold);
        fonts.finish();
        resources.finish();
        page.finish();
        pdf.stream(content_ref(i), &bytes);
    }
    pdf.finish()
}

fn draw(content: &mut Content, op: &Op) {
    match op {
        Op::Text {
            x,
            y,
            size,
            bold,
            color,
            text,
        } => draw_text(content, *x, *y, *size, *bold, *color, text),
        Op::Rect { x, y, w, h, color } => {
            let (r, g, b) = color.unit();
            content
                .set_fill_rgb(r, g, b)
                .rect(*x, *y, *w, *h)
                .fill_nonzero();
        }
        Op::Line {
            from,
            to,
            color,
            width,
        } => {
            let (r, g, b) = color.unit();
            content
                .set_stroke_rgb(r, g, b)
                .set_line_width(*width)
                .move_to(from.0, from.1)
                .line_to(to.0, to.1)
                .stroke();
        }
        Op::Figure {
            figure,
            x,
            top,
            scale,
        } => draw_figure(content, figure, *x, *top, *scale),
    }
}

fn draw_text(
    content: &mut Content,
    x: f32,
    y: f32,
    size: f32,
    bold: bool,
    color: Color,
    text: &str,
) {
    let (r, g, b) = color.unit();
    let font = if bold { Name(b"F2") } else { Name(b"F1") };
    let bytes = win_ansi(text);
    content
        .begin_text()
        .set_fill_rgb(r, g, b)
        .set_font(font, size)
        .next_line(x, y)
        .show(Str(&bytes))
        .end_text();
}

/// Draws a figure's shapes: figure coordinates (y down) mapped to the page (y up).
fn draw_figure(content: &mut Content, figure: &Figure, ox: f32, top: f32, scale: f32) {
    let map = |x: f32, y: f32| (ox + x * scale, top - y * scale);
    content.save_state();
    for shape in &figure.shapes {
        match shape {
            Shape::Rect { x, y, w, h, fill } => {
                let (px, py) = map(*x, *y + *h);
                let (r, g, b) = fill.unit();
                content
                    .set_fill_rgb(r, g, b)
                    .rect(px, py, w * scale, h * scale)
                    .fill_nonzero();
            }
            Shape::Line {
                x1,
                y1,
                x2,
                y2,
                stroke,
                width,
            } => {
                let (r, g, b) = stroke.unit();
                let (ax, ay) = map(*x1, *y1);
                let (bx, by) = map(*x2, *y2);
                content
                    .set_stroke_rgb(r, g, b)
                    .set_line_width(width * scale)
                    .move_to(ax, ay)
                    .line_to(bx, by)
                    .stroke();
            }
            Shape::Circle { cx, cy, r, fill } => {
                let (red, green, blue) = fill.unit();
                content.set_fill_rgb(red, green, blue);
                arc_path(content, &map, (*cx, *cy, *r), 0.0, 360.0);
                content.close_path().fill_nonzero();
            }
            Shape::Arc {
                cx,
                cy,
                r,
                start,
                end,
                stroke,
                width,
            } => {
                let (red, green, blue) = stroke.unit();
                content
                    .set_stroke_rgb(red, green, blue)
                    .set_line_width(width * scale);
                arc_path(content, &map, (*cx, *cy, *r), *start, *end);
                content.stroke();
            }
            Shape::Text {
                x,
                y,
                text,
                size,
                bold,
                anchor,
                fill,
            } => {
                let size = size * scale;
                let width = text_width(text, size, *bold);
                let (px, py) = map(*x, *y);
                let px = match anchor {
                    Anchor::Start => px,
                    Anchor::Middle => px - width / 2.0,
                    Anchor::End => px - width,
                };
                draw_text(content, px, py, size, *bold, *fill, text);
            }
        }
    }
    content.restore_state();
}

/// Appends a circular arc as Bézier curves of at most 90° each (the usual 4/3·tan(θ/4)
/// control distance), starting with a move to its first point.
fn arc_path(
    content: &mut Content,
    map: &impl Fn(f32, f32) -> (f32, f32),
    (cx, cy, r): (f32, f32, f32),
    start: f32,
    end: f32,
) {
    let sweep = (end - start).clamp(0.0, 360.0);
    let segments = (sweep / 90.0).ceil().max(1.0);
    let step = sweep / segments;
    let k = 4.0 / 3.0 * (step.to_radians() / 4.0).tan();
    // The derivative of arc_point with respect to the angle, in radians.
    let tangent = |deg: f32| {
        let t = deg.to_radians();
        (r * t.sin(), -r * t.cos())
    };
    let (x0, y0) = arc_point(cx, cy, r, start);
    let (mx, my) = map(x0, y0);
    content.move_to(mx, my);
    let mut a0 = start;
    for _ in 0..segments as u32 {
        let a1 = a0 + step;
        let p0 = arc_point(cx, cy, r, a0);
        let p1 = arc_point(cx, cy, r, a1);
        let t0 = tangent(a0);
        let t1 = tangent(a1);
        let c1 = map(p0.0 + k * t0.0, p0.1 + k * t0.1);
        let c2 = map(p1.0 - k * t1.0, p1.1 - k * t1.1);
        let e = map(p1.0, p1.1);
        content.cubic_to(c1.0, c1.1, c2.0, c2.1, e.0, e.1);
        a0 = a1;
    }
}

/// `text` in WinAnsiEncoding: ASCII and Latin-1 as themselves, the typographic marks the
/// encoding has at 0x80–0x9F, control characters as spaces, anything else as `?`.
pub(crate) fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            ' '..='~' => c as u8,
            '\u{a0}'..='\u{ff}' => c as u32 as u8,
            '€' => 0x80,
            '‚' => 0x82,
            '„' => 0x84,
            '…' => 0x85,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '™' => 0x99,
            c if c.is_control() => b' ',
            _ => b'?',
        })
        .collect()
}

/// Helvetica's advance widths (1/1000 em) for ASCII 32..=126, from the standard AFM metrics.
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278,
    278, // space../
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, // 0..?
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, // @..O
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, // P.._
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, // `..o
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, // p..~
];

/// Helvetica-Bold's advance widths for ASCII 32..=126.
const HELVETICA_BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278,
    278, // space../
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, // 0..?
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778, // @..O
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556, // P.._
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611, // `..o
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584, // p..~
];

/// The width of `text` in points at `size` (characters outside ASCII count as an average
/// letter, or a full em for the wide marks).
pub(crate) fn text_width(text: &str, size: f32, bold: bool) -> f32 {
    let table = if bold { &HELVETICA_BOLD } else { &HELVETICA };
    let units: u32 = text
        .chars()
        .map(|c| match c {
            ' '..='~' => u32::from(table[(c as usize) - 32]),
            '…' | '—' | '™' => 1000,
            _ => 556,
        })
        .sum();
    units as f32 * size / 1000.0
}

/// `text` cut to fit `width`, ending in an ellipsis when cut.
pub(crate) fn fit(text: &str, size: f32, bold: bool, width: f32) -> String {
    if text_width(text, size, bold) <= width {
        return text.to_owned();
    }
    let budget = width - text_width("…", size, bold);
    let mut out = String::new();
    let mut used = 0.0;
    for c in text.chars() {
        let w = text_width(c.encode_utf8(&mut [0; 4]), size, bold);
        if used + w > budget {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    out
}

/// `text` broken into lines no wider than `width` at word boundaries (a word longer than a
/// line is broken inside). Line breaks in the text are kept.
pub(crate) fn wrap(text: &str, size: f32, bold: bool, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_owned()
            } else {
                format!("{line} {word}")
            };
            if text_width(&candidate, size, bold) <= width {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            // The word alone: cut off the longest prefix that fits (at least one character)
            // while it is too wide.
            let mut rest = word.to_owned();
            while text_width(&rest, size, bold) > width {
                let mut used = 0.0;
                let mut split = rest.len();
                for (index, c) in rest.char_indices() {
                    let w = text_width(c.encode_utf8(&mut [0; 4]), size, bold);
                    if used + w > width && index > 0 {
                        split = index;
                        break;
                    }
                    used += w;
                }
                let tail = rest.split_off(split);
                lines.push(rest);
                rest = tail;
            }
            line = rest;
        }
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::super::document::{Column, Section};
    use super::*;

    fn table(rows: usize) -> Table {
        Table::bounded(
            vec![Column::text("Device", 3.0), Column::number("Score", 1.0)],
            (0..rows).map(|i| vec![format!("device-{i}"), format!("{i}")]),
            rows,
            "none",
        )
    }

    fn document(rows: usize) -> Document {
        let mut section = Section::new("Devices");
        section.paragraph("(Parentheses) and back\\slashes survive.");
        section.blocks.push(Block::Table(table(rows)));
        Document {
            title: "Risk assessment".into(),
            title_lines: vec![("Site".into(), "North".into())],
            footer: "North".into(),
            sections: vec![section],
        }
    }

    #[test]
    fn long_tables_repeat_their_header_on_every_page() {
        let mut layout = Layout::new();
        layout.table(&table(200));
        assert!(layout.pages.len() >= 3, "{} pages", layout.pages.len());
        for (i, page) in layout.pages.iter().enumerate() {
            let headers = page
                .iter()
                .filter(|op| matches!(op, Op::Text { text, bold: true, .. } if text == "Device"))
                .count();
            assert_eq!(headers, 1, "page {i} has its header once");
            for op in page {
                if let Op::Text { y, .. } = op {
                    assert!(*y >= BOTTOM - 1.0 && *y <= TOP, "page {i}: text at {y}");
                }
            }
        }
        let rows: usize = layout
            .pages
            .iter()
            .flatten()
            .filter(|op| matches!(op, Op::Text { text, .. } if text.starts_with("device-")))
            .count();
        assert_eq!(rows, 200, "every row is drawn once");
    }

    #[test]
    fn pages_are_numbered_and_the_file_is_a_pdf() {
        let bytes = render(&document(120));
        assert!(bytes.starts_with(b"%PDF-"));
        assert!(bytes.ends_with(b"%%EOF") || bytes.ends_with(b"%%EOF\n"));
        let text = String::from_utf8_lossy(&bytes);
        // Title page + the table's pages.
        let pages = text.matches("/Type /Page\n").count() + text.matches("/Type /Page ").count();
        assert!(text.contains("(Page 1 of "), "footer with the page count");
        let last = format!("(Page {pages} of {pages})");
        assert!(pages >= 3 && text.contains(&last), "{pages} pages, {last}");
        assert!(text.contains("/BaseFont /Helvetica"));
        // pdf-writer leaves balanced parentheses as they are and escapes the backslash.
        assert!(text.contains("((Parentheses) and back\\\\slashes survive.)"));
    }

    #[test]
    fn figures_taller_than_a_page_are_scaled_to_fit_one() {
        let mut layout = Layout::new();
        layout.y -= 100.0;
        let tall = Figure::new(400.0, 2000.0, "tall");
        layout.figure(&tall);
        assert_eq!(layout.pages.len(), 2, "moved to a fresh page");
        let Some(Op::Figure { top, scale, .. }) = layout.pages[1].first() else {
            panic!("no figure on the second page");
        };
        assert_eq!(*top, TOP);
        assert!(TOP - 2000.0 * scale >= BOTTOM, "scale {scale}");
        let mut layout = Layout::new();
        layout.figure(&Figure::new(990.0, 100.0, "wide"));
        let Some(Op::Figure { scale, .. }) = layout.pages[0].first() else {
            panic!("no figure");
        };
        assert!((scale - 0.5).abs() < 1e-6);
    }

    #[test]
    fn text_is_encoded_for_win_ansi() {
        assert_eq!(win_ansi("a(b)"), b"a(b)".to_vec());
        assert_eq!(win_ansi("café…"), vec![b'c', b'a', b'f', 0xe9, 0x85]);
        assert_eq!(win_ansi("\u{1}x\u{2603}"), b" x?".to_vec());
    }

    #[test]
    fn widths_follow_the_metrics() {
        assert!((text_width("0", 10.0, false) - 5.56).abs() < 1e-4);
        assert!((text_width("W", 10.0, true) - 9.44).abs() < 1e-4);
        assert!(text_width("iiii", 10.0, false) < text_width("MMMM", 10.0, false));
    }

    #[test]
    fn cells_are_cut_with_an_ellipsis() {
        let cut = fit("a very long device name indeed", 8.0, false, 40.0);
        assert!(cut.ends_with('…'), "{cut}");
        assert!(text_width(&cut, 8.0, false) <= 40.0);
        assert_eq!(fit("short", 8.0, false, 40.0), "short");
    }

    #[test]
    fn wrapping_keeps_every_word_and_the_width() {
        let text = "the quick brown fox jumps over the lazy dog ".repeat(20)
            + "an-extremely-long-token-without-any-space-that-must-be-broken-somewhere";
        let lines = wrap(&text, 10.0, false, 200.0);
        assert!(lines.len() > 5);
        for line in &lines {
            assert!(text_width(line, 10.0, false) <= 200.0, "{line}");
        }
        let joined: String = lines.concat().split_whitespace().collect();
        let original: String = text.split_whitespace().collect();
        assert_eq!(joined, original);
    }
}
