//! Charts as inline SVG, drawn by plotters' SVG backend: lines over time, marks for events,
//! histograms on a log axis, and lines against a swept parameter. Pure Rust, no fonts or system
//! libraries (the browser sets the text), no script: a page of these works offline.
//!
//! Every chart is one `<svg>`; its data are `<polyline>` elements (lines), `<rect>` elements
//! (histogram bars) and `<circle>` / `<polygon>` marks.

use plotters::coord::Shift;
use plotters::prelude::*;

/// Light grid lines between two labelled ones (each is an SVG element: a few keep pages small).
const LIGHT_LINES: usize = 1;

/// Lines of at most this many points get a dot on each (a sweep, a short run).
const MARKED_POINTS: usize = 30;

/// Chart size, px (the page scales it down to fit).
pub const SIZE: (u32, u32) = (960, 320);

/// Colours of successive series (Tableau 10).
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x17, 0xbe, 0xcf),
];

/// A series' colour by its index.
pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// One line: `(x, y)` points, `None` where there was nothing to measure (a gap).
#[derive(Debug, Clone)]
pub struct Line {
    /// Legend text.
    pub label: String,
    /// Colour.
    pub color: RGBColor,
    /// Drawn as a broad pale band: the base run of a comparison.
    pub faint: bool,
    /// The points, by increasing x.
    pub points: Vec<(f64, Option<f64>)>,
}

/// Events marked at their time, e.g. unexpected disconnects: `(x, y, how many)`.
#[derive(Debug, Clone)]
pub struct Marks {
    /// Legend text.
    pub label: String,
    /// Colour.
    pub color: RGBColor,
    /// Where: x, the y to draw the mark at, and the count (drawn larger for more).
    pub points: Vec<(f64, f64, f64)>,
}

/// One histogram: bin edges and each bin's share of the samples, %.
#[derive(Debug, Clone)]
pub struct Bars {
    /// Legend text.
    pub label: String,
    /// Colour.
    pub color: RGBColor,
    /// `counts.len() + 1` edges, increasing, all above zero.
    pub edges: Vec<f64>,
    /// Share of the samples in each bin, %.
    pub percents: Vec<f64>,
}

/// What a chart shows besides its data.
#[derive(Debug, Clone)]
pub struct Axes<'a> {
    /// Caption.
    pub title: &'a str,
    /// X axis description.
    pub x: &'a str,
    /// Y axis description.
    pub y: &'a str,
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

fn fail<E: std::fmt::Display>(e: E) -> String {
    format!("chart: {e}")
}

/// The segments of a line between its gaps.
fn segments(points: &[(f64, Option<f64>)]) -> Vec<Vec<(f64, f64)>> {
    let mut out = vec![Vec::new()];
    for &(x, y) in points {
        match y.filter(|v| v.is_finite()) {
            Some(y) if x.is_finite() => out.last_mut().map_or((), |s| s.push((x, y))),
            _ => {
                if out.last().is_some_and(|s| !s.is_empty()) {
                    out.push(Vec::new());
                }
            }
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

/// Whether any line has a point to draw.
pub fn has_data(lines: &[Line]) -> bool {
    lines.iter().any(|l| {
        l.points
            .iter()
            .any(|(x, y)| x.is_finite() && y.is_some_and(f64::is_finite))
    })
}

/// A number for an axis label: short, without trailing zeros.
pub fn tick_label(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 1e9 {
        format!("{:.1}G", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// Labelled ticks (1, 2, 5 in each decade; only the 1s over more than five decades) and
/// light grid lines (1 to 9 in each decade) for a log axis over `lo..hi`.
pub fn log_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    if !(lo > 0.0 && hi > lo && lo.is_finite() && hi.is_finite()) {
        return (Vec::new(), Vec::new());
    }
    let (first, last) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let steps: &[f64] = if last - first > 5 {
        &[1.0]
    } else {
        &[1.0, 2.0, 5.0]
    };
    let mut ticks = Vec::new();
    let mut light = Vec::new();
    for e in first..=last {
        for m in 1..=9 {
            // Divide for negative exponents: 3 / 10 is 0.3, 3 * 0.1 is not.
            let v = if e < 0 {
                f64::from(m) / 10f64.powi(-e)
            } else {
                f64::from(m) * 10f64.powi(e)
            };
            if v < lo || v > hi {
                continue;
            }
            if steps.contains(&f64::from(m)) {
                ticks.push(v);
            } else {
                light.push(v);
            }
        }
    }
    if ticks.len() < 3 {
        // A narrow range: label every step it holds, or at least its ends.
        ticks.append(&mut light);
        ticks.sort_by(f64::total_cmp);
        if ticks.len() < 2 {
            let round2 = |v: f64| {
                let scale = 10f64.powi(1 - v.log10().floor() as i32);
                (v * scale).round() / scale
            };
            ticks = vec![round2(lo), round2(hi)];
        }
    }
    (ticks, light)
}

fn y_top(max: f64) -> f64 {
    // Headroom above the data for the legend.
    if max > 0.0 && max.is_finite() {
        max * 1.3
    } else {
        1.0
    }
}

fn new_area(svg: &mut String) -> Result<Area<'_>, String> {
    let root = SVGBackend::with_string(svg, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(fail)?;
    Ok(root)
}

/// Lines (and marks) against x: time in a run, or a swept parameter (`log_x` for a sweep over
/// orders of magnitude). `target`: a horizontal line to stay under or over, with its label.
pub fn lines(
    axes: &Axes,
    lines: &[Line],
    marks: &[Marks],
    target: Option<(f64, &str)>,
    log_x: bool,
) -> Result<String, String> {
    let xs = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.0))
        .chain(marks.iter().flat_map(|m| m.points.iter().map(|p| p.0)))
        .filter(|x| x.is_finite() && (!log_x || *x > 0.0));
    let (mut x0, mut x1) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
        (a.min(x), b.max(x))
    });
    if !x0.is_finite() {
        (x0, x1) = (if log_x { 1.0 } else { 0.0 }, 1.0);
    }
    if !log_x {
        x0 = x0.min(0.0);
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    if log_x {
        (x0, x1) = (x0 / 1.25, x1 * 1.25);
    }
    let y_max = lines
        .iter()
        .flat_map(|l| l.points.iter().filter_map(|p| p.1))
        .chain(marks.iter().flat_map(|m| m.points.iter().map(|p| p.1)))
        .chain(target.map(|t| t.0))
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let y1 = y_top(y_max);
    let corner = legend_corner(lines, (x0, x1), y_max, log_x);
    let mut svg = String::new();
    {
        let root = new_area(&mut svg)?;
        let x_fmt = |v: &f64| tick_label(*v);
        let y_fmt = |v: &f64| tick_label(*v);
        if log_x {
            let (ticks, light) = log_ticks(x0, x1);
            let x_axis = (x0..x1)
                .log_scale()
                .with_key_points(ticks)
                .with_light_points(light);
            let mut chart = builder(&root, axes.title)
                .build_cartesian_2d(x_axis, 0f64..y1)
                .map_err(fail)?;
            chart
                .configure_mesh()
                .x_desc(axes.x)
                .y_desc(axes.y)
                .x_label_formatter(&x_fmt)
                .y_label_formatter(&y_fmt)
                .light_line_style(RGBColor(240, 240, 240))
                .max_light_lines(LIGHT_LINES)
                .draw()
                .map_err(fail)?;
            draw_lines(&mut chart, lines, marks, target, (x0, x1), corner)?;
        } else {
            let mut chart = builder(&root, axes.title)
                .build_cartesian_2d(x0..x1, 0f64..y1)
                .map_err(fail)?;
            chart
                .configure_mesh()
                .x_desc(axes.x)
                .y_desc(axes.y)
                .x_label_formatter(&x_fmt)
                .y_label_formatter(&y_fmt)
                .light_line_style(RGBColor(240, 240, 240))
                .max_light_lines(LIGHT_LINES)
                .draw()
                .map_err(fail)?;
            draw_lines(&mut chart, lines, marks, target, (x0, x1), corner)?;
        }
        root.present().map_err(fail)?;
    }
    Ok(svg)
}

fn builder<'a, 'b>(root: &'a Area<'b>, title: &'a str) -> ChartBuilder<'a, 'b, SVGBackend<'b>> {
    let mut b = ChartBuilder::on(root);
    b.caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(42)
        .y_label_area_size(64);
    b
}

/// The upper corner where the legend hides the fewest points: those in the top 40% of the
/// data's height and the outer 30% of the width on that side.
fn legend_corner(
    lines: &[Line],
    (x0, x1): (f64, f64),
    y_max: f64,
    log_x: bool,
) -> SeriesLabelPosition {
    let at = |x: f64| {
        if log_x {
            (x.ln() - x0.ln()) / (x1.ln() - x0.ln())
        } else {
            (x - x0) / (x1 - x0)
        }
    };
    let high = lines
        .iter()
        .flat_map(|l| l.points.iter())
        .filter_map(|&(x, y)| Some((at(x), y?)))
        .filter(|(_, y)| *y > 0.6 * y_max);
    let (left, right) = high.fold((0, 0), |(l, r), (fx, _)| {
        (l + usize::from(fx < 0.3), r + usize::from(fx > 0.7))
    });
    if right < left {
        SeriesLabelPosition::UpperRight
    } else {
        SeriesLabelPosition::UpperLeft
    }
}

fn draw_lines<'a, X>(
    chart: &mut ChartContext<
        'a,
        SVGBackend<'a>,
        Cartesian2d<X, plotters::coord::types::RangedCoordf64>,
    >,
    lines: &[Line],
    marks: &[Marks],
    target: Option<(f64, &str)>,
    (x0, x1): (f64, f64),
    corner: SeriesLabelPosition,
) -> Result<(), String>
where
    X: Ranged<ValueType = f64>,
{
    let mut legend = false;
    if let Some((y, label)) = target {
        let style = ShapeStyle::from(&RGBColor(0xd6, 0x27, 0x28).mix(0.6)).stroke_width(1);
        chart
            .draw_series(LineSeries::new([(x0, y), (x1, y)], style))
            .map_err(fail)?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
        legend = true;
    }
    for line in lines {
        let style = if line.faint {
            // A broad pale band under the new run's line.
            ShapeStyle::from(&line.color.mix(0.35)).stroke_width(5)
        } else {
            ShapeStyle::from(&line.color).stroke_width(2)
        };
        let mut labelled = false;
        for segment in segments(&line.points) {
            if (2..=MARKED_POINTS).contains(&segment.len()) && !line.faint {
                chart
                    .draw_series(segment.iter().map(|&p| Circle::new(p, 3, style.filled())))
                    .map_err(fail)?;
            }
            let drawn = if segment.len() == 1 {
                chart
                    .draw_series(segment.iter().map(|&p| Circle::new(p, 3, style.filled())))
                    .map_err(fail)?
            } else {
                chart
                    .draw_series(LineSeries::new(segment, style))
                    .map_err(fail)?
            };
            if !labelled && !line.label.is_empty() {
                drawn
                    .label(line.label.as_str())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
                labelled = true;
                legend = true;
            }
        }
    }
    for m in marks {
        if m.points.is_empty() {
            continue;
        }
        let color = m.color;
        chart
            .draw_series(m.points.iter().map(|&(x, y, n)| {
                let size = 5 + (n.max(1.0).log2().min(6.0) as i32);
                TriangleMarker::new((x, y), size, color.filled())
            }))
            .map_err(fail)?
            .label(m.label.as_str())
            .legend(move |(x, y)| TriangleMarker::new((x + 9, y), 5, color.filled()));
        legend = true;
    }
    if legend {
        chart
            .configure_series_labels()
            .position(corner)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(200, 200, 200))
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(fail)?;
    }
    Ok(())
}

/// Histograms over a log x axis, overlaid (each drawn translucent).
pub fn histogram(axes: &Axes, sets: &[Bars]) -> Result<String, String> {
    let edges = sets
        .iter()
        .flat_map(|s| s.edges.iter().copied())
        .filter(|e| e.is_finite() && *e > 0.0);
    let (mut x0, mut x1) = edges.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), e| {
        (a.min(e), b.max(e))
    });
    if !x0.is_finite() || x1 <= x0 {
        (x0, x1) = (0.01, 100.0);
    }
    let y_max = sets
        .iter()
        .flat_map(|s| s.percents.iter().copied())
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let mut svg = String::new();
    {
        let root = new_area(&mut svg)?;
        let x_fmt = |v: &f64| tick_label(*v);
        let y_fmt = |v: &f64| format!("{}%", tick_label(*v));
        let (x0, x1) = (x0 / 1.1, x1 * 1.1);
        let (ticks, light) = log_ticks(x0, x1);
        let x_axis = (x0..x1)
            .log_scale()
            .with_key_points(ticks)
            .with_light_points(light);
        let mut chart = builder(&root, axes.title)
            .build_cartesian_2d(x_axis, 0f64..y_top(y_max))
            .map_err(fail)?;
        chart
            .configure_mesh()
            .x_desc(axes.x)
            .y_desc(axes.y)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .light_line_style(RGBColor(240, 240, 240))
            .max_light_lines(LIGHT_LINES)
            .draw()
            .map_err(fail)?;
        for set in sets {
            let fill = set
                .color
                .mix(if sets.len() > 1 { 0.45 } else { 0.75 })
                .filled();
            let bars = set
                .edges
                .windows(2)
                .zip(&set.percents)
                .filter(|(e, p)| **p > 0.0 && e[0] > 0.0 && e[1] > e[0])
                .map(|(e, &p)| Rectangle::new([(e[0], 0.0), (e[1], p)], fill));
            let color = set.color;
            chart
                .draw_series(bars)
                .map_err(fail)?
                .label(set.label.as_str())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 14, y + 5)], color.filled())
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(200, 200, 200))
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(fail)?;
        root.present().map_err(fail)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axes() -> Axes<'static> {
        Axes {
            title: "RTT",
            x: "s",
            y: "ms",
        }
    }

    #[test]
    fn a_line_chart_is_one_svg_with_a_polyline_per_segment() {
        let line = Line {
            label: "p99".into(),
            color: color(0),
            faint: false,
            points: vec![
                (1.0, Some(1.0)),
                (2.0, Some(2.0)),
                (3.0, None),
                (4.0, Some(1.5)),
                (5.0, Some(1.0)),
            ],
        };
        let marks = Marks {
            label: "disconnects".into(),
            color: color(3),
            points: vec![(2.0, 2.0, 3.0)],
        };
        let svg = lines(&axes(), &[line], &[marks], Some((2.5, "target")), false).expect("svg");
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        assert_eq!(svg.matches("<svg").count(), 1);
        // Two segments, the target, the legend's samples.
        assert!(svg.matches("<polyline").count() >= 3);
        assert!(svg.contains("<polygon"), "the mark");
        assert!(svg.contains(">\np99\n</text>") || svg.contains("p99"));
        assert!(!svg.contains("NaN"));
    }

    #[test]
    fn a_sweep_on_a_log_axis_and_a_histogram_draw() {
        let line = Line {
            label: "full".into(),
            color: color(1),
            faint: true,
            points: vec![(10.0, Some(5.0)), (100.0, Some(50.0)), (500.0, Some(80.0))],
        };
        let svg = lines(&axes(), &[line], &[], None, true).expect("svg");
        assert!(svg.matches("<polyline").count() >= 1);
        let bars = Bars {
            label: "rtt".into(),
            color: color(0),
            edges: vec![0.1, 0.126, 0.158, 0.2],
            percents: vec![10.0, 0.0, 90.0],
        };
        let svg = histogram(&axes(), &[bars]).expect("svg");
        // Background, two bars (the empty bin is not drawn), the legend's box and sample.
        assert!(svg.matches("<rect").count() >= 3, "{svg}");
    }

    #[test]
    fn log_axes_tick_at_one_two_five() {
        let (ticks, light) = log_ticks(0.11, 8.7);
        assert_eq!(ticks, vec![0.2, 0.5, 1.0, 2.0, 5.0]);
        assert!(light.contains(&0.3) && light.contains(&8.0) && !light.contains(&9.0));
        let (wide, _) = log_ticks(0.001, 60_000.0);
        assert_eq!(wide.len(), 8, "{wide:?}");
        assert_eq!(log_ticks(0.0, 1.0), (vec![], vec![]));
        // Narrow: every step is labelled, or the ends.
        assert_eq!(log_ticks(22.8, 43.8).0, vec![30.0, 40.0]);
        assert_eq!(log_ticks(31.0, 39.0).0, vec![31.0, 39.0]);
    }

    #[test]
    fn gaps_split_lines_and_nothing_is_no_data() {
        let pts = [
            (0.0, Some(1.0)),
            (1.0, None),
            (2.0, Some(f64::NAN)),
            (3.0, Some(2.0)),
        ];
        assert_eq!(segments(&pts), vec![vec![(0.0, 1.0)], vec![(3.0, 2.0)]]);
        let empty = Line {
            label: String::new(),
            color: color(0),
            faint: false,
            points: vec![(1.0, None)],
        };
        assert!(!has_data(&[empty]));
        assert_eq!(tick_label(1500.0), "1500");
        assert_eq!(tick_label(25_000.0), "25k");
        assert_eq!(tick_label(2.5), "2.5");
        assert_eq!(tick_label(0.125), "0.125");
        assert_eq!(tick_label(3.0e6), "3.0M");
    }
}
