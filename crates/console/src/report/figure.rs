//! Vector figures for the report: a small list of shapes that is written as SVG for the HTML
//! report and drawn with the same coordinates in the PDF, so both show the same chart.
//!
//! Coordinates are SVG's: the origin at the top left, y growing downwards, units are points.

use std::fmt::Write as _;

use super::escape;

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Color(pub u8, pub u8, pub u8);

impl Color {
    /// Secure devices, scores at or above target.
    pub const GREEN: Color = Color(0x2e, 0x8b, 0x57);
    /// Devices that need improvement.
    pub const AMBER: Color = Color(0xe0, 0x9b, 0x1a);
    /// Vulnerable devices.
    pub const RED: Color = Color(0xc0, 0x39, 0x2b);
    /// Bars and neutral marks.
    pub const BLUE: Color = Color(0x2f, 0x6d, 0xb5);
    /// Tracks, grid lines and other background marks.
    pub const LIGHT: Color = Color(0xe3, 0xe6, 0xea);
    /// Secondary text.
    pub const GREY: Color = Color(0x6b, 0x72, 0x80);
    /// Body text.
    pub const TEXT: Color = Color(0x1f, 0x29, 0x37);

    /// `#rrggbb`.
    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    /// The components as fractions, for PDF operators.
    pub fn unit(self) -> (f32, f32, f32) {
        (
            f32::from(self.0) / 255.0,
            f32::from(self.1) / 255.0,
            f32::from(self.2) / 255.0,
        )
    }
}

/// Where a text's x coordinate sits on the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// x is the left end.
    Start,
    /// x is the centre.
    Middle,
    /// x is the right end.
    End,
}

/// One drawn element.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// A filled rectangle.
    Rect {
        /// Left.
        x: f32,
        /// Top.
        y: f32,
        /// Width.
        w: f32,
        /// Height.
        h: f32,
        /// Fill colour.
        fill: Color,
    },
    /// A straight stroked line.
    Line {
        /// Start x.
        x1: f32,
        /// Start y.
        y1: f32,
        /// End x.
        x2: f32,
        /// End y.
        y2: f32,
        /// Stroke colour.
        stroke: Color,
        /// Stroke width.
        width: f32,
    },
    /// A filled circle.
    Circle {
        /// Centre x.
        cx: f32,
        /// Centre y.
        cy: f32,
        /// Radius.
        r: f32,
        /// Fill colour.
        fill: Color,
    },
    /// A stroked circular arc from `start` to `end` degrees, clockwise on screen, 0° pointing
    /// left (a gauge runs from 0° to 180° over the top).
    Arc {
        /// Centre x.
        cx: f32,
        /// Centre y.
        cy: f32,
        /// Radius.
        r: f32,
        /// Start angle in degrees.
        start: f32,
        /// End angle in degrees (greater than `start`).
        end: f32,
        /// Stroke colour.
        stroke: Color,
        /// Stroke width.
        width: f32,
    },
    /// One line of text.
    Text {
        /// Anchor x.
        x: f32,
        /// Baseline y.
        y: f32,
        /// The text (escaped when written).
        text: String,
        /// Font size.
        size: f32,
        /// Bold face.
        bold: bool,
        /// How x relates to the text.
        anchor: Anchor,
        /// Fill colour.
        fill: Color,
    },
}

/// A chart or map: a fixed-size canvas of shapes.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// Canvas width in points.
    pub width: f32,
    /// Canvas height in points.
    pub height: f32,
    /// What the figure shows, for screen readers and the PDF's alternative text.
    pub description: String,
    /// The shapes, drawn in order.
    pub shapes: Vec<Shape>,
}

impl Figure {
    /// An empty canvas.
    pub fn new(width: f32, height: f32, description: impl Into<String>) -> Self {
        Self {
            width,
            height,
            description: description.into(),
            shapes: Vec::new(),
        }
    }

    /// Adds a filled rectangle (negative sizes are drawn as empty).
    pub fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, fill: Color) {
        self.shapes.push(Shape::Rect {
            x,
            y,
            w: w.max(0.0),
            h: h.max(0.0),
            fill,
        });
    }

    /// Adds a line.
    pub fn line(&mut self, (x1, y1): (f32, f32), (x2, y2): (f32, f32), stroke: Color, width: f32) {
        self.shapes.push(Shape::Line {
            x1,
            y1,
            x2,
            y2,
            stroke,
            width,
        });
    }

    /// Adds a filled circle.
    pub fn circle(&mut self, cx: f32, cy: f32, r: f32, fill: Color) {
        self.shapes.push(Shape::Circle { cx, cy, r, fill });
    }

    /// Adds a text line.
    pub fn text(
        &mut self,
        (x, y): (f32, f32),
        text: impl Into<String>,
        size: f32,
        anchor: Anchor,
        fill: Color,
    ) {
        self.shapes.push(Shape::Text {
            x,
            y,
            text: text.into(),
            size,
            bold: false,
            anchor,
            fill,
        });
    }

    /// Adds a bold text line.
    pub fn bold_text(
        &mut self,
        (x, y): (f32, f32),
        text: impl Into<String>,
        size: f32,
        anchor: Anchor,
        fill: Color,
    ) {
        self.shapes.push(Shape::Text {
            x,
            y,
            text: text.into(),
            size,
            bold: true,
            anchor,
            fill,
        });
    }

    /// The figure as a standalone `<svg>` element (no scripts, no external references).
    pub fn to_svg(&self) -> String {
        let mut out = String::with_capacity(256 + self.shapes.len() * 96);
        let _ = write!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" \
             viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{d}\" \
             font-family=\"Helvetica, Arial, sans-serif\"><title>{d}</title>",
            w = num(self.width),
            h = num(self.height),
            d = escape(&self.description),
        );
        for shape in &self.shapes {
            match shape {
                Shape::Rect { x, y, w, h, fill } => {
                    let _ = write!(
                        out,
                        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>",
                        num(*x),
                        num(*y),
                        num(*w),
                        num(*h),
                        fill.hex()
                    );
                }
                Shape::Line {
                    x1,
                    y1,
                    x2,
                    y2,
                    stroke,
                    width,
                } => {
                    let _ = write!(
                        out,
                        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" \
                         stroke-width=\"{}\"/>",
                        num(*x1),
                        num(*y1),
                        num(*x2),
                        num(*y2),
                        stroke.hex(),
                        num(*width)
                    );
                }
                Shape::Circle { cx, cy, r, fill } => {
                    let _ = write!(
                        out,
                        "<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{}\"/>",
                        num(*cx),
                        num(*cy),
                        num(*r),
                        fill.hex()
                    );
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
                    let (x0, y0) = arc_point(*cx, *cy, *r, *start);
                    let (x1, y1) = arc_point(*cx, *cy, *r, *end);
                    let large = u8::from(end - start > 180.0);
                    let _ = write!(
                        out,
                        "<path d=\"M {} {} A {} {} 0 {large} 1 {} {}\" fill=\"none\" \
                         stroke=\"{}\" stroke-width=\"{}\"/>",
                        num(x0),
                        num(y0),
                        num(*r),
                        num(*r),
                        num(x1),
                        num(y1),
                        stroke.hex(),
                        num(*width)
                    );
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
                    let anchor = match anchor {
                        Anchor::Start => "start",
                        Anchor::Middle => "middle",
                        Anchor::End => "end",
                    };
                    let weight = if *bold { " font-weight=\"bold\"" } else { "" };
                    let _ = write!(
                        out,
                        "<text x=\"{}\" y=\"{}\" font-size=\"{}\" text-anchor=\"{anchor}\" \
                         fill=\"{}\"{weight}>{}</text>",
                        num(*x),
                        num(*y),
                        num(*size),
                        fill.hex(),
                        escape(text)
                    );
                }
            }
        }
        out.push_str("</svg>");
        out
    }
}

/// The point at `degrees` on the circle, 0° to the left of the centre, growing clockwise on
/// screen (through the top).
pub fn arc_point(cx: f32, cy: f32, r: f32, degrees: f32) -> (f32, f32) {
    let radians = degrees.to_radians();
    (cx - r * radians.cos(), cy - r * radians.sin())
}

/// A coordinate with at most two decimals and no trailing zeros; non-finite values as 0 so a
/// bad input never produces an invalid document.
pub fn num(value: f32) -> String {
    if !value.is_finite() {
        return "0".to_owned();
    }
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" || text.is_empty() {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}

/// Checks that `xml` is well-formed in the subset the report writes: every element closed in
/// order, attributes quoted, `&` only as an entity, no `<` or control character in text.
#[cfg(test)]
pub(crate) fn assert_well_formed(xml: &str) {
    let mut stack: Vec<&str> = Vec::new();
    let mut rest = xml;
    while let Some(open) = rest.find('<') {
        assert_text(&rest[..open]);
        let Some(close) = rest[open..].find('>') else {
            panic!(
                "unclosed tag at {:?}",
                &rest[open..rest.len().min(open + 40)]
            );
        };
        let tag = &rest[open + 1..open + close];
        rest = &rest[open + close + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop(), Some(name), "closing </{name}> out of order");
            continue;
        }
        let self_closing = tag.ends_with('/');
        let body = tag.trim_end_matches('/');
        let name = body.split_whitespace().next().unwrap_or_default();
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric()),
            "bad element name in <{tag}>"
        );
        let attributes = &body[name.len()..];
        assert_eq!(
            attributes.matches('"').count() % 2,
            0,
            "unbalanced quotes in <{tag}>"
        );
        for value in attributes.split('"').skip(1).step_by(2) {
            assert!(!value.contains('<'), "< in an attribute of <{tag}>");
            assert_text(value);
        }
        if !self_closing {
            stack.push(name);
        }
    }
    assert_text(rest);
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
}

#[cfg(test)]
fn assert_text(text: &str) {
    assert!(!text.contains('>'), "unescaped > in {text:?}");
    assert!(
        !text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t'),
        "control character in {text:?}"
    );
    for (i, _) in text.match_indices('&') {
        let entity = &text[i..text.len().min(i + 6)];
        assert!(
            ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"]
                .iter()
                .any(|e| entity.starts_with(e)),
            "bare & in {text:?}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_well_formedness_check_catches_what_it_should() {
        assert_well_formed("<svg a=\"1\"><g><text>a &amp; b</text></g><rect/></svg>");
        for bad in [
            "<svg><g></svg></g>",
            "<svg>a & b</svg>",
            "<svg a=\"1><rect/></svg>",
            "<svg>",
            "<svg>\u{1}</svg>",
        ] {
            assert!(
                std::panic::catch_unwind(|| assert_well_formed(bad)).is_err(),
                "{bad} passed"
            );
        }
    }

    #[test]
    fn every_shape_writes_well_formed_svg_even_from_hostile_text() {
        let mut figure = Figure::new(100.0, 100.0, "</svg><script>&\u{7}");
        figure.rect(0.0, 0.0, -5.0, 10.0, Color::BLUE);
        figure.line((0.0, 0.0), (f32::NAN, 1.0), Color::RED, 1.0);
        figure.circle(5.0, 5.0, 2.0, Color::GREEN);
        figure.shapes.push(Shape::Arc {
            cx: 50.0,
            cy: 50.0,
            r: 20.0,
            start: 0.0,
            end: 270.0,
            stroke: Color::AMBER,
            width: 3.0,
        });
        figure.bold_text(
            (1.0, 1.0),
            "\"quoted\" <b> & 'single'\u{0}",
            9.0,
            Anchor::End,
            Color::TEXT,
        );
        let svg = figure.to_svg();
        assert_well_formed(&svg);
        assert!(
            svg.contains(" 0 1 1 "),
            "a 270° arc takes the large-arc flag: {svg}"
        );
    }

    #[test]
    fn numbers_are_short_and_always_valid() {
        assert_eq!(num(1.0), "1");
        assert_eq!(num(1.25), "1.25");
        assert_eq!(num(0.001), "0");
        assert_eq!(num(-0.001), "0");
        assert_eq!(num(f32::NAN), "0");
        assert_eq!(num(f32::INFINITY), "0");
    }

    #[test]
    fn arcs_start_left_and_pass_over_the_top() {
        let (x, y) = arc_point(100.0, 100.0, 50.0, 0.0);
        assert!((x - 50.0).abs() < 1e-3 && (y - 100.0).abs() < 1e-3);
        let (x, y) = arc_point(100.0, 100.0, 50.0, 90.0);
        assert!((x - 100.0).abs() < 1e-3 && (y - 50.0).abs() < 1e-3);
        let (x, y) = arc_point(100.0, 100.0, 50.0, 180.0);
        assert!((x - 150.0).abs() < 1e-3 && (y - 100.0).abs() < 1e-3);
    }

    #[test]
    fn svg_text_is_escaped() {
        let mut figure = Figure::new(10.0, 10.0, "a <b> & \"c\"");
        figure.text(
            (1.0, 2.0),
            "<script>x</script>",
            8.0,
            Anchor::Start,
            Color::TEXT,
        );
        let svg = figure.to_svg();
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;x&lt;/script&gt;"));
        assert!(svg.contains("aria-label=\"a &lt;b&gt; &amp; &quot;c&quot;\""));
    }
}
