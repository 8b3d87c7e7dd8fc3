//! SVG charts drawn on the server: bars, a line, and horizontal bars for ranked reasons. No
//! script, no external font or style: the SVG carries its own title and description (read by
//! screen readers through `role="img"`), colours come from presentation attributes (the page's
//! Content-Security-Policy forbids inline styles), and each chart is shown next to a data table
//! with the same figures (`page::Chart`).

use std::fmt::Write;

/// One labelled value. `label` is shown on the axis; `value` decides the length.
#[derive(Clone, Debug)]
pub struct Point {
    pub label: String,
    pub value: f64,
    /// The value as written in the table and tooltip (`¥1,234.56`, `1,234`).
    pub shown: String,
}

impl Point {
    pub fn new(label: impl Into<String>, value: f64, shown: impl Into<String>) -> Point {
        Point {
            label: label.into(),
            value: if value.is_finite() { value } else { 0.0 },
            shown: shown.into(),
        }
    }
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 32.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 48.0;
/// Dark enough on white for WCAG AA (contrast > 4.5:1).
const INK: &str = "#1f3a5f";
const GRID: &str = "#c8d0da";
const TEXT: &str = "#222222";

/// Escape text for SVG/XML content and attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

fn open(id: &str, title: &str, desc: &str, height: f64) -> String {
    let id = escape(id);
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height}\" \
         class=\"svg-chart\" role=\"img\" aria-labelledby=\"{id}-t {id}-d\" id=\"{id}\">\
         <title id=\"{id}-t\">{}</title><desc id=\"{id}-d\">{}</desc>",
        escape(title),
        escape(desc)
    )
}

/// A round upper bound for the axis (1, 2 or 5 × 10ⁿ above the largest value).
fn nice_max(max: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(max.log10().floor());
    for step in [1.0, 2.0, 5.0, 10.0] {
        if step * magnitude >= max {
            return step * magnitude;
        }
    }
    10.0 * magnitude
}

/// Axis labels, the same in both languages: `7500`, `12k`, `1.5M`.
fn short(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn axes(svg: &mut String, max: f64) {
    let plot_h = HEIGHT - TOP - BOTTOM;
    for i in 0..=4 {
        let v = max * f64::from(i) / 4.0;
        let y = TOP + plot_h - plot_h * f64::from(i) / 4.0;
        let _ = write!(
            svg,
            "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"{GRID}\" stroke-width=\"1\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\" fill=\"{TEXT}\">{}</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            escape(&short(v))
        );
    }
}

/// Every how many labels to write one, so they do not overlap.
fn label_step(n: usize) -> usize {
    (n / 12).max(1)
}

/// Vertical bars, one per point, in order.
pub fn bars(id: &str, title: &str, desc: &str, points: &[Point]) -> String {
    let mut svg = open(id, title, desc, HEIGHT);
    let max = nice_max(points.iter().map(|p| p.value).fold(0.0, f64::max));
    axes(&mut svg, max);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let n = points.len().max(1) as f64;
    let slot = plot_w / n;
    let bar = (slot * 0.7).max(1.0);
    let step = label_step(points.len());
    for (i, p) in points.iter().enumerate() {
        let h = (p.value.max(0.0) / max) * plot_h;
        let x = LEFT + slot * i as f64 + (slot - bar) / 2.0;
        let y = TOP + plot_h - h;
        let _ = write!(
            svg,
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bar:.1}\" height=\"{h:.1}\" fill=\"{INK}\">\
             <title>{}: {}</title></rect>",
            escape(&p.label),
            escape(&p.shown)
        );
        if i % step == 0 {
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\" fill=\"{TEXT}\">{}</text>",
                x + bar / 2.0,
                HEIGHT - BOTTOM + 16.0,
                escape(&p.label)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// A line through the points, with a marker on each.
pub fn line(id: &str, title: &str, desc: &str, points: &[Point]) -> String {
    let mut svg = open(id, title, desc, HEIGHT);
    let max = nice_max(points.iter().map(|p| p.value).fold(0.0, f64::max));
    axes(&mut svg, max);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let n = points.len();
    let x_of = |i: usize| {
        if n <= 1 {
            LEFT + plot_w / 2.0
        } else {
            LEFT + plot_w * i as f64 / (n - 1) as f64
        }
    };
    let y_of = |v: f64| TOP + plot_h - (v.max(0.0) / max) * plot_h;
    let path: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{:.1},{:.1}", x_of(i), y_of(p.value)))
        .collect();
    if n > 1 {
        let _ = write!(
            svg,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{INK}\" stroke-width=\"2.5\"/>",
            path.join(" ")
        );
    }
    let step = label_step(n);
    for (i, p) in points.iter().enumerate() {
        let _ = write!(
            svg,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\" fill=\"{INK}\"><title>{}: {}</title></circle>",
            x_of(i),
            y_of(p.value),
            escape(&p.label),
            escape(&p.shown)
        );
        if i % step == 0 {
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\" fill=\"{TEXT}\">{}</text>",
                x_of(i),
                HEIGHT - BOTTOM + 16.0,
                escape(&p.label)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// Horizontal bars, one row per point (ranked reasons, statuses): labels stay readable.
pub fn rows(id: &str, title: &str, desc: &str, points: &[Point]) -> String {
    let row_h = 26.0;
    let label_w = 250.0;
    let height = TOP * 2.0 + row_h * points.len().max(1) as f64;
    let mut svg = open(id, title, desc, height);
    let max = points.iter().map(|p| p.value).fold(0.0, f64::max).max(1.0);
    let plot_w = WIDTH - label_w - RIGHT - 90.0;
    for (i, p) in points.iter().enumerate() {
        let y = TOP + row_h * i as f64;
        let w = (p.value.max(0.0) / max) * plot_w;
        let label: String = p.label.chars().take(28).collect();
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"end\" fill=\"{TEXT}\">{}</text>\
             <rect x=\"{label_w}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"{INK}\"><title>{}: {}</title></rect>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" fill=\"{TEXT}\">{}</text>",
            label_w - 8.0,
            y + row_h * 0.65,
            escape(&label),
            y + 4.0,
            row_h - 8.0,
            escape(&p.label),
            escape(&p.shown),
            label_w + w + 6.0,
            y + row_h * 0.65,
            escape(&p.shown)
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points() -> Vec<Point> {
        vec![
            Point::new("2026-10", 100.0, "100.0"),
            Point::new("2026-11", 104.5, "104.5"),
            Point::new("<b>", 0.0, "0"),
        ]
    }

    #[test]
    fn charts_carry_a_title_a_description_and_one_mark_per_point() {
        let svg = bars(
            "c1",
            "Index & history",
            "Monthly index, base = 100",
            &points(),
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("<title id=\"c1-t\">Index &amp; history</title>"));
        assert!(svg.contains("<desc id=\"c1-d\">Monthly index, base = 100</desc>"));
        assert_eq!(svg.matches("<rect").count(), 3);
        assert!(!svg.contains("<b>"), "labels are escaped");
        let svg = line("c2", "t", "d", &points());
        assert_eq!(svg.matches("<circle").count(), 3);
        assert!(svg.contains("<polyline"));
        let svg = rows("c3", "t", "d", &points());
        assert_eq!(svg.matches("<rect").count(), 3);
        assert!(!svg.contains("style="), "no inline style (CSP)");
    }

    #[test]
    fn empty_and_odd_data_draw_without_panicking() {
        for svg in [
            bars("e", "t", "d", &[]),
            line("e", "t", "d", &[]),
            rows("e", "t", "d", &[]),
            line("e", "t", "d", &[Point::new("x", f64::NAN, "?")]),
            bars("e", "t", "d", &[Point::new("x", -5.0, "-5")]),
        ] {
            assert!(svg.ends_with("</svg>"));
            assert!(!svg.contains("NaN") && !svg.contains("inf"));
        }
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(104.5), 200.0);
        assert_eq!(nice_max(38.0), 50.0);
    }
}
