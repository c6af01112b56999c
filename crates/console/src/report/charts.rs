//! The report's charts and map, drawn as [`Figure`]s: score gauges, labelled bar charts and a
//! bounded map of devices by Purdue level. Pure functions of numbers and labels.

use std::collections::HashMap;

use super::figure::{arc_point, Anchor, Color, Figure, Shape};

/// Width of a full-width figure: the PDF's text column (A4 less margins).
pub const FULL_WIDTH: f32 = 495.0;

/// One gauge: a half circle filled to the score, with a tick at the target.
#[derive(Debug, Clone, PartialEq)]
pub struct Gauge {
    /// What is measured (an initiative's name).
    pub label: String,
    /// 0..=100; `None`: not enough data.
    pub score: Option<f64>,
    /// The target score.
    pub target: f64,
}

/// The colour of a score against its target: green at or above, amber within 20 points
/// below, red further below.
pub fn score_color(score: f64, target: f64) -> Color {
    if score >= target {
        Color::GREEN
    } else if score >= target - 20.0 {
        Color::AMBER
    } else {
        Color::RED
    }
}

/// The gauges side by side, at most three per row.
pub fn gauges(gauges: &[Gauge]) -> Figure {
    const CELL_W: f32 = 165.0;
    const CELL_H: f32 = 130.0;
    let per_row = 3usize;
    let rows = gauges.len().div_ceil(per_row).max(1);
    let description = gauges
        .iter()
        .map(|g| match g.score {
            Some(s) => format!("{}: {:.1} of target {:.0}", g.label, s, g.target),
            None => format!("{}: more data is required", g.label),
        })
        .collect::<Vec<_>>()
        .join("; ");
    let mut figure = Figure::new(FULL_WIDTH, rows as f32 * CELL_H, description);
    for (i, gauge) in gauges.iter().enumerate() {
        let cx = (i % per_row) as f32 * CELL_W + CELL_W / 2.0;
        let top = (i / per_row) as f32 * CELL_H;
        let cy = top + 80.0;
        let r = 58.0;
        figure.shapes.push(Shape::Arc {
            cx,
            cy,
            r,
            start: 0.0,
            end: 180.0,
            stroke: Color::LIGHT,
            width: 14.0,
        });
        match gauge.score {
            Some(score) => {
                let score = score.clamp(0.0, 100.0);
                if score > 0.0 {
                    figure.shapes.push(Shape::Arc {
                        cx,
                        cy,
                        r,
                        start: 0.0,
                        end: (score * 1.8) as f32,
                        stroke: score_color(score, gauge.target),
                        width: 14.0,
                    });
                }
                figure.bold_text(
                    (cx, cy - 6.0),
                    format!("{score:.1}"),
                    22.0,
                    Anchor::Middle,
                    Color::TEXT,
                );
            }
            None => {
                figure.text(
                    (cx, cy - 10.0),
                    "More data",
                    10.0,
                    Anchor::Middle,
                    Color::GREY,
                );
                figure.text(
                    (cx, cy + 2.0),
                    "is required",
                    10.0,
                    Anchor::Middle,
                    Color::GREY,
                );
            }
        }
        let target = gauge.target.clamp(0.0, 100.0) as f32 * 1.8;
        let inner = arc_point(cx, cy, r - 10.0, target);
        let outer = arc_point(cx, cy, r + 10.0, target);
        figure.line(inner, outer, Color::TEXT, 2.0);
        figure.text(
            (cx, cy + 18.0),
            format!("target {:.0}", gauge.target),
            8.5,
            Anchor::Middle,
            Color::GREY,
        );
        figure.bold_text(
            (cx, cy + 34.0),
            gauge.label.clone(),
            10.0,
            Anchor::Middle,
            Color::TEXT,
        );
    }
    figure
}

/// One bar of a bar chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// Label left of the bar.
    pub label: String,
    /// Length.
    pub value: u64,
    /// Colour.
    pub color: Color,
}

/// Horizontal bars with their labels and values, at most `limit` bars (a last line says how
/// many were left out).
pub fn bars(description: &str, bars: &[Bar], limit: usize) -> Figure {
    const BAR_H: f32 = 14.0;
    const GAP: f32 = 5.0;
    const LABEL_W: f32 = 170.0;
    const VALUE_W: f32 = 50.0;
    let shown = &bars[..bars.len().min(limit)];
    let left_out = bars.len() - shown.len();
    let lines = shown.len() + usize::from(left_out > 0);
    let height = (lines.max(1) as f32) * (BAR_H + GAP) + GAP;
    let mut figure = Figure::new(FULL_WIDTH, height, description);
    let max = shown.iter().map(|b| b.value).max().unwrap_or(0).max(1) as f32;
    let span = FULL_WIDTH - LABEL_W - VALUE_W;
    for (i, bar) in shown.iter().enumerate() {
        let y = GAP + i as f32 * (BAR_H + GAP);
        figure.text(
            (LABEL_W - 6.0, y + BAR_H - 3.5),
            shorten(&bar.label, 34),
            9.0,
            Anchor::End,
            Color::TEXT,
        );
        figure.rect(LABEL_W, y, span, BAR_H, Color(0xf3, 0xf4, 0xf6));
        let length = span * bar.value as f32 / max;
        figure.rect(LABEL_W, y, length, BAR_H, bar.color);
        figure.text(
            (LABEL_W + length + 4.0, y + BAR_H - 3.5),
            bar.value.to_string(),
            9.0,
            Anchor::Start,
            Color::TEXT,
        );
    }
    if left_out > 0 {
        let y = GAP + shown.len() as f32 * (BAR_H + GAP);
        figure.text(
            (LABEL_W, y + BAR_H - 3.5),
            format!("… and {left_out} more"),
            9.0,
            Anchor::Start,
            Color::GREY,
        );
    }
    if shown.is_empty() {
        figure.text(
            (LABEL_W, GAP + BAR_H - 3.5),
            "No data",
            9.0,
            Anchor::Start,
            Color::GREY,
        );
    }
    figure
}

/// A device on the map.
#[derive(Debug, Clone, PartialEq)]
pub struct MapNode {
    /// Key the edges refer to.
    pub id: String,
    /// Short label.
    pub label: String,
    /// Purdue level (`None`: unknown, drawn in its own row).
    pub level: Option<u8>,
    /// Fill colour (its rating).
    pub color: Color,
}

/// A connection on the map (ids of [`MapNode`]s).
#[derive(Debug, Clone, PartialEq)]
pub struct MapEdge {
    /// One end.
    pub a: String,
    /// Other end.
    pub b: String,
}

/// Devices in rows by Purdue level (highest level on top, unknown last) with their
/// connections. Nodes past `limit` are left out, as are edges to them; the caller says so.
pub fn map(nodes: &[MapNode], edges: &[MapEdge], limit: usize) -> Figure {
    const PER_ROW: usize = 8;
    const ROW_H: f32 = 62.0;
    const LEFT: f32 = 70.0;
    let nodes = &nodes[..nodes.len().min(limit)];
    let mut levels: Vec<Option<u8>> = nodes.iter().map(|n| n.level).collect();
    levels.sort_by(|a, b| match (a, b) {
        (None, None) => std::cmp::Ordering::Equal,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (Some(_), None) => std::cmp::Ordering::Less,
        (Some(x), Some(y)) => y.cmp(x),
    });
    levels.dedup();
    // Each level takes as many rows as its nodes need.
    let mut rows: Vec<(Option<u8>, Vec<&MapNode>)> = Vec::new();
    for level in &levels {
        let members: Vec<&MapNode> = nodes.iter().filter(|n| n.level == *level).collect();
        for (i, chunk) in members.chunks(PER_ROW).enumerate() {
            rows.push((if i == 0 { *level } else { Some(u8::MAX) }, chunk.to_vec()));
        }
    }
    let height = (rows.len().max(1) as f32) * ROW_H + 10.0;
    let mut figure = Figure::new(
        FULL_WIDTH,
        height,
        format!(
            "Map of {} devices by Purdue level with their connections",
            nodes.len()
        ),
    );
    let spacing = (FULL_WIDTH - LEFT) / PER_ROW as f32;
    let mut position: HashMap<&str, (f32, f32)> = HashMap::new();
    for (r, (level, members)) in rows.iter().enumerate() {
        let y = r as f32 * ROW_H + 24.0;
        if r % 2 == 0 {
            figure.rect(0.0, y - 20.0, FULL_WIDTH, ROW_H, Color(0xf8, 0xf9, 0xfa));
        }
        let title = match level {
            Some(u8::MAX) => String::new(),
            Some(level) => format!("Level {level}"),
            None => "Level unknown".to_owned(),
        };
        figure.bold_text((4.0, y + 3.0), title, 8.5, Anchor::Start, Color::GREY);
        for (i, node) in members.iter().enumerate() {
            let x = LEFT + spacing * (i as f32 + 0.5);
            position.insert(node.id.as_str(), (x, y));
        }
    }
    // Edges under the nodes.
    let mut edge_shapes = Vec::new();
    for edge in edges {
        if let (Some(a), Some(b)) = (position.get(edge.a.as_str()), position.get(edge.b.as_str())) {
            edge_shapes.push(Shape::Line {
                x1: a.0,
                y1: a.1,
                x2: b.0,
                y2: b.1,
                stroke: Color(0x9c, 0xa3, 0xaf),
                width: 0.7,
            });
        }
    }
    figure.shapes.extend(edge_shapes);
    for (_, members) in &rows {
        for node in members {
            if let Some(&(x, y)) = position.get(node.id.as_str()) {
                figure.circle(x, y, 7.0, node.color);
                let label = shorten(&node.label, 15);
                // A backing under the label keeps the lines passing behind it readable
                // (its width estimated from Helvetica's average advance).
                let width = label.chars().count() as f32 * 6.5 * 0.56 + 4.0;
                figure.rect(
                    x - width / 2.0,
                    y + 12.0,
                    width,
                    9.5,
                    Color(0xff, 0xff, 0xff),
                );
                figure.text((x, y + 19.0), label, 6.5, Anchor::Middle, Color::TEXT);
            }
        }
    }
    figure
}

/// `text` cut to `max` characters with an ellipsis.
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::super::figure::assert_well_formed;
    use super::*;

    #[test]
    fn bar_charts_are_bounded_and_say_what_they_left_out() {
        let many: Vec<Bar> = (0..25)
            .map(|i| Bar {
                label: format!("type {i}"),
                value: 25 - i,
                color: Color::BLUE,
            })
            .collect();
        let figure = bars("types", &many, 10);
        let svg = figure.to_svg();
        assert_well_formed(&svg);
        assert!(svg.contains(">type 9<") && !svg.contains(">type 10<"));
        assert!(svg.contains("… and 15 more"));
        // The longest bar spans the whole track.
        assert!(figure.shapes.iter().any(
            |s| matches!(s, Shape::Rect { w, fill, .. } if *fill == Color::BLUE && (*w - 275.0).abs() < 0.01)
        ));
    }

    #[test]
    fn gauges_show_score_or_missing_data() {
        let figure = gauges(&[
            Gauge {
                label: "OT Security".into(),
                score: Some(62.5),
                target: 80.0,
            },
            Gauge {
                label: "Enterprise IoT Security".into(),
                score: None,
                target: 70.0,
            },
        ]);
        let svg = figure.to_svg();
        assert_well_formed(&svg);
        assert!(svg.contains(">62.5<"));
        assert!(svg.contains("More data"));
        assert!(svg.contains(&Color::AMBER.hex()), "62.5 is within 20 of 80");
        assert_eq!(score_color(85.0, 80.0), Color::GREEN);
        assert_eq!(score_color(40.0, 80.0), Color::RED);
    }

    #[test]
    fn the_map_keeps_at_most_the_limit_and_only_their_edges() {
        let nodes: Vec<MapNode> = (0..30)
            .map(|i| MapNode {
                id: format!("d{i}"),
                label: format!("device {i}"),
                level: if i % 3 == 0 {
                    None
                } else {
                    Some((i % 4) as u8)
                },
                color: Color::GREEN,
            })
            .collect();
        let edges = vec![
            MapEdge {
                a: "d1".into(),
                b: "d2".into(),
            },
            MapEdge {
                a: "d1".into(),
                b: "d29".into(),
            },
        ];
        let figure = map(&nodes, &edges, 12);
        let circles = figure
            .shapes
            .iter()
            .filter(|s| matches!(s, Shape::Circle { .. }))
            .count();
        let lines = figure
            .shapes
            .iter()
            .filter(|s| matches!(s, Shape::Line { .. }))
            .count();
        assert_eq!(circles, 12);
        assert_eq!(lines, 1, "the edge to a left-out node is not drawn");
        let svg = figure.to_svg();
        assert_well_formed(&svg);
        assert!(svg.contains("Level unknown") && svg.contains("Level 3"));
        let level3 = svg.find("Level 3").unwrap_or(usize::MAX);
        let unknown = svg.find("Level unknown").unwrap_or(0);
        assert!(level3 < unknown, "higher levels first, unknown last");
    }

    #[test]
    fn shortening_counts_characters() {
        assert_eq!(shorten("abc", 3), "abc");
        assert_eq!(shorten("abcdef", 4), "abc…");
        assert_eq!(shorten("ééééé", 3), "éé…");
    }
}
