//! The score trend chart: daily scores (0–100) of an initiative as an inline SVG — the same
//! drawing on the initiatives overview and on an initiative's page. Inline SVG needs neither
//! a script nor a style attribute (the content security policy allows neither): colours and
//! dashes come from the stylesheet's `svg.trend` rules, geometry from SVG attributes.

use ironward_posture::TrendPoint;
use maud::{html, Markup};

use crate::ui::widgets::when;

/// Drawing width in user units (the SVG scales to its box).
const WIDTH: f64 = 320.0;
/// Drawing height in user units.
const HEIGHT: f64 = 120.0;
/// Room left of the plot for the axis labels.
const LEFT: f64 = 28.0;
/// Room right of the plot.
const RIGHT: f64 = 8.0;
/// Room above the plot.
const TOP: f64 = 8.0;
/// Room below the plot for the day labels.
const BOTTOM: f64 = 20.0;

/// `t`'s UTC day as `MM-DD` (the chart's labels; the year is in each point's tooltip).
fn day_label(t: ironward_model::Timestamp) -> String {
    let full = when(Some(t));
    full.get(5..10).unwrap_or(&full).to_owned()
}

/// A score as the chart's tooltips read it.
fn score_label(score: Option<f64>) -> String {
    score.map_or_else(|| "no score".to_owned(), |s| format!("{s:.1}"))
}

/// The x coordinate of point `i` of `n`.
fn x_of(i: usize, n: usize) -> f64 {
    let plot = WIDTH - LEFT - RIGHT;
    if n <= 1 {
        return LEFT + plot / 2.0;
    }
    // Point counts are small (days); the conversion is exact.
    #[allow(clippy::cast_precision_loss)]
    let (i, last) = (i as f64, (n - 1) as f64);
    LEFT + plot * i / last
}

/// The y coordinate of a score (clamped to 0–100 so a stray value cannot leave the plot).
fn y_of(score: f64) -> f64 {
    let plot = HEIGHT - TOP - BOTTOM;
    TOP + plot * (1.0 - score.clamp(0.0, 100.0) / 100.0)
}

/// The runs of consecutive known scores, as SVG polyline point lists: a day without a score
/// breaks the line instead of drawing a slope through it.
fn segments(points: &[TrendPoint]) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Vec<String> = Vec::new();
    for (i, p) in points.iter().enumerate() {
        match p.score {
            Some(s) if s.is_finite() => {
                current.push(format!("{:.1},{:.1}", x_of(i, points.len()), y_of(s)));
            }
            _ => {
                if !current.is_empty() {
                    out.push(current.join(" "));
                    current.clear();
                }
            }
        }
    }
    if !current.is_empty() {
        out.push(current.join(" "));
    }
    out
}

/// The trend chart of `points` (one per day, oldest first) with the `target` line; `label`
/// names the chart for screen readers and in its tooltip (`OT Security score, 14 days`).
pub(crate) fn trend_chart(points: &[TrendPoint], target: Option<f64>, label: &str) -> Markup {
    let known = points
        .iter()
        .filter(|p| p.score.is_some_and(f64::is_finite))
        .count();
    let view_box = format!("0 0 {WIDTH} {HEIGHT}");
    let bottom = HEIGHT - BOTTOM;
    let right = WIDTH - RIGHT;
    html! {
        svg.trend viewBox=(view_box) role="img" aria-label=(label) xmlns="http://www.w3.org/2000/svg" {
            title { (label) }
            @for grid in [0.0, 50.0, 100.0] {
                line.gridline x1=(LEFT) x2=(right) y1=(format!("{:.1}", y_of(grid))) y2=(format!("{:.1}", y_of(grid))) {}
                text.axis x=(LEFT - 4.0) y=(format!("{:.1}", y_of(grid) + 3.0)) text-anchor="end" { (grid) }
            }
            @if let Some(target) = target.filter(|t| t.is_finite()) {
                line.target x1=(LEFT) x2=(right) y1=(format!("{:.1}", y_of(target))) y2=(format!("{:.1}", y_of(target))) {
                    title { "Target " (format!("{target:.1}")) }
                }
            }
            @if let (Some(first), Some(last)) = (points.first(), points.last()) {
                text.axis x=(LEFT) y=(bottom + 14.0) text-anchor="start" { (day_label(first.day_start)) }
                @if points.len() > 1 {
                    text.axis x=(right) y=(bottom + 14.0) text-anchor="end" { (day_label(last.day_start)) }
                }
            }
            @if known == 0 {
                text.empty x=(WIDTH / 2.0) y=(HEIGHT / 2.0) text-anchor="middle" { "More data is required" }
            }
            @for run in segments(points) {
                polyline.score points=(run) {}
            }
            @for (i, p) in points.iter().enumerate() {
                @if let Some(s) = p.score.filter(|s| s.is_finite()) {
                    circle.point cx=(format!("{:.1}", x_of(i, points.len()))) cy=(format!("{:.1}", y_of(s))) r="2.5" {
                        title { (when(Some(p.day_start)).get(..10).unwrap_or_default()) ": " (score_label(Some(s))) }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ironward_model::Timestamp;

    const DAY: i64 = 86_400 * 1_000_000_000;

    fn points(scores: &[Option<f64>]) -> Vec<TrendPoint> {
        scores
            .iter()
            .enumerate()
            .map(|(i, s)| TrendPoint {
                day_start: Timestamp(i64::try_from(i).unwrap_or(0) * DAY),
                score: *s,
            })
            .collect()
    }

    #[test]
    fn a_gap_breaks_the_line_and_scores_map_to_the_plot() {
        // Days 0-1 known, day 2 unknown, days 3-4 known: two runs, four dots.
        let p = points(&[Some(100.0), Some(50.0), None, Some(0.0), Some(75.0)]);
        let runs = segments(&p);
        assert_eq!(runs.len(), 2, "{runs:?}");
        // 100 is the top of the plot (y = TOP), 0 its bottom (y = HEIGHT - BOTTOM).
        assert!(runs[0].starts_with("28.0,8.0 "), "{}", runs[0]);
        assert!(runs[1].starts_with(&format!("{:.1},100.0", x_of(3, 5))));
        let svg = trend_chart(&p, Some(80.0), "OT Security score, 14 days").into_string();
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("<circle").count(), 4);
        assert!(svg.contains("1970-01-02: 50.0"), "{svg}");
        assert!(svg.contains("class=\"target\"") && svg.contains("Target 80.0"));
        assert!(svg.contains("01-01") && svg.contains("01-05"));
        assert!(!svg.contains("style="), "{svg}");
        assert!(!svg.contains("More data is required"));
    }

    #[test]
    fn no_known_score_says_more_data_is_required() {
        let svg = trend_chart(&points(&[None; 14]), None, "x").into_string();
        assert!(svg.contains("More data is required"));
        assert!(!svg.contains("<polyline") && !svg.contains("<circle"));
        assert!(!svg.contains("class=\"target\""));
        // No point at all still draws the frame.
        let empty = trend_chart(&[], Some(50.0), "x").into_string();
        assert!(empty.starts_with("<svg") && empty.ends_with("</svg>"));
    }

    #[test]
    fn out_of_range_scores_stay_inside_the_plot() {
        assert!((y_of(250.0) - TOP).abs() < f64::EPSILON);
        assert!((y_of(-3.0) - (HEIGHT - BOTTOM)).abs() < f64::EPSILON);
        // A single point sits in the middle.
        assert!((x_of(0, 1) - (LEFT + (WIDTH - LEFT - RIGHT) / 2.0)).abs() < f64::EPSILON);
        let svg = trend_chart(&points(&[Some(f64::NAN)]), None, "x").into_string();
        assert!(svg.contains("More data is required"));
    }
}
