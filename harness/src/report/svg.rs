//! The HTML report's pictures as plain SVG: a series' percentile distribution on a log
//! percentile axis (HdrHistogram's way of drawing latency), several sides overlaid, and the
//! startup waterfall. Markup only, no script; every series is one `<path class="series">` and
//! every waterfall bar one `<rect class="phase">`, with their figures as data attributes.

use std::fmt::Write;

use crate::model::series::Series;

use super::html::esc;

/// Plot geometry.
const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 36.0;

/// Percentiles are plotted at x = log10(1 / (1 − q)): 0% at 0, 90% at 1, 99% at 2, …
pub(super) fn x_of(q: f64) -> f64 {
    -(1.0 - q).max(1e-9).log10()
}

/// The points of a series' percentile distribution: ~20 per decade up to the last sample,
/// then the maximum, in milliseconds at the series' resolution.
pub(super) fn distribution(series: &Series) -> Vec<(f64, f64)> {
    let h = &series.histogram;
    let n = h.count();
    if n == 0 {
        return Vec::new();
    }
    let last = (n as f64).log10();
    let steps = (last * 20.0).ceil() as u32;
    let mut points: Vec<(f64, f64)> = (0..=steps)
        .map(|k| {
            let x = f64::from(k) / 20.0;
            let q = (1.0 - 10f64.powf(-x)).min(1.0 - 1.0 / n as f64);
            (x_of(q), h.quantile_ms(q, series.resolution))
        })
        .collect();
    points.dedup_by(|a, b| (a.0 - b.0).abs() < 1e-9);
    points.push((
        last.max(points.last().map_or(0.0, |p| p.0)),
        h.max_ms(series.resolution),
    ));
    points
}

/// One side of a plot: its label, its series and the points drawn.
type Curve<'a> = (&'a str, &'a Series, Vec<(f64, f64)>);

/// One series' plot: each side one `<path class="series">`.
pub(super) fn plot(sides: &[(&str, &Series)]) -> String {
    let curves: Vec<Curve<'_>> = sides
        .iter()
        .map(|(label, series)| (*label, *series, distribution(series)))
        .collect();
    let x_max = curves
        .iter()
        .flat_map(|c| c.2.iter().map(|p| p.0))
        .fold(1.0_f64, f64::max)
        .ceil();
    let y_max = curves
        .iter()
        .flat_map(|c| c.2.iter().map(|p| p.1))
        .fold(0.0_f64, f64::max)
        .max(0.001)
        * 1.08;
    let px = |x: f64| LEFT + x / x_max * (WIDTH - LEFT - RIGHT);
    let py = |y: f64| TOP + (1.0 - y / y_max) * (HEIGHT - TOP - BOTTOM);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\">"
    );
    // Percentile grid and labels: 0%, 90%, 99%, 99.9%, …
    for decade in 0..=(x_max as u32) {
        let x = px(f64::from(decade));
        let label = match decade {
            0 => "0%".to_owned(),
            d => format!("{}%", 100.0 - 100.0 / 10f64.powi(d as i32)),
        };
        let _ = write!(
            svg,
            "<line class=\"grid\" x1=\"{x:.1}\" y1=\"{TOP}\" x2=\"{x:.1}\" y2=\"{:.1}\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{label}</text>",
            HEIGHT - BOTTOM,
            HEIGHT - BOTTOM + 14.0
        );
    }
    y_grid(&mut svg, y_max, py);
    let _ = write!(
        svg,
        "<line class=\"axis\" x1=\"{LEFT}\" y1=\"{b:.1}\" x2=\"{r:.1}\" y2=\"{b:.1}\"/>\
         <line class=\"axis\" x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{b:.1}\"/>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">percentile</text>\
         <text x=\"12\" y=\"{:.1}\" transform=\"rotate(-90 12 {:.1})\" text-anchor=\"middle\">ms</text>",
        (LEFT + WIDTH - RIGHT) / 2.0,
        HEIGHT - 4.0,
        HEIGHT / 2.0,
        HEIGHT / 2.0,
        b = HEIGHT - BOTTOM,
        r = WIDTH - RIGHT,
    );
    // Overlaid first, current last (on top).
    for (index, (label, series, points)) in curves.iter().enumerate().rev() {
        let mut d = String::new();
        for (i, (x, y)) in points.iter().enumerate() {
            let _ = write!(
                d,
                "{}{:.1},{:.1}",
                if i == 0 { "M" } else { " L" },
                px(*x),
                py(*y)
            );
        }
        let _ = write!(
            svg,
            "<path class=\"series s{index}\" data-series=\"{}\" data-count=\"{}\" \
             data-p50-ms=\"{}\" d=\"{d}\"><title>{}</title></path>",
            esc(label),
            series.histogram.count(),
            series.histogram.quantile_ms(0.5, series.resolution),
            esc(label)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The startup waterfall: per phase a bar from its median start to its median end (relative
/// to the iteration's start), a whisker on to its p90 end, colored by the track it runs on, so
/// tool building beside the websocket connect shows as two overlapping bars.
pub(super) fn waterfall(rows: &[crate::results::WaterfallRow]) -> String {
    const ROW: f64 = 20.0;
    const LABEL: f64 = 300.0;
    let rows: Vec<_> = rows
        .iter()
        .filter(|r| r.metric != "client.iteration")
        .collect();
    let x_max = rows.iter().map(|r| r.end_p90_ms).fold(0.001_f64, f64::max) * 1.05;
    let height = TOP + ROW * rows.len() as f64 + BOTTOM;
    let plot = WIDTH + 200.0 - LABEL - RIGHT;
    let px = |ms: f64| LABEL + ms / x_max * plot;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{height}\" \
         viewBox=\"0 0 {w} {height}\" role=\"img\">",
        w = WIDTH + 200.0
    );
    for tick in 0..=4 {
        let ms = x_max / 1.05 * f64::from(tick) / 4.0;
        let x = px(ms);
        let _ = write!(
            svg,
            "<line class=\"grid\" x1=\"{x:.1}\" y1=\"{TOP}\" x2=\"{x:.1}\" y2=\"{:.1}\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{} ms</text>",
            height - BOTTOM,
            height - BOTTOM + 14.0,
            compact(ms)
        );
    }
    for (i, r) in rows.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let (track, tid) = super::trace::track(&r.metric);
        let color = [
            "#888", "#1f5fbf", "#6a3fb5", "#d9480f", "#0a7d32", "#b00020", "#555", "#888",
        ][tid as usize % 8];
        let (x0, x1) = (px(r.start_p50_ms), px(r.end_p50_ms.max(r.start_p50_ms)));
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\
             <rect class=\"phase\" data-metric=\"{}\" data-start-p50-ms=\"{}\" data-end-p50-ms=\"{}\" \
             x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{color}\"><title>{} ({track}): \
             start p50 {:.3} / p90 {:.3} ms, end p50 {:.3} / p90 {:.3} ms</title></rect>\
             <line x1=\"{x1:.1}\" y1=\"{ym:.1}\" x2=\"{:.1}\" y2=\"{ym:.1}\" stroke=\"{color}\"/>",
            LABEL - 6.0,
            y + ROW * 0.65,
            esc(&r.metric),
            esc(&r.metric),
            r.start_p50_ms,
            r.end_p50_ms,
            y + 3.0,
            (x1 - x0).max(1.0),
            ROW - 6.0,
            esc(&r.metric),
            r.start_p50_ms,
            r.start_p90_ms,
            r.end_p50_ms,
            r.end_p90_ms,
            px(r.end_p90_ms.max(r.end_p50_ms)),
            ym = y + ROW / 2.0,
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Five horizontal grid lines with their labels, from 0 to the top of a plot whose values
/// reach `y_max` (which has 8% headroom in it).
fn y_grid(svg: &mut String, y_max: f64, py: impl Fn(f64) -> f64) {
    for tick in 0..=4 {
        let value = y_max / 1.08 * f64::from(tick) / 4.0;
        let y = py(value);
        let _ = write!(
            svg,
            "<line class=\"grid\" x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            WIDTH - RIGHT,
            LEFT - 4.0,
            y + 4.0,
            compact(value)
        );
    }
}

/// An axis value with few digits.
fn compact(ms: f64) -> String {
    if ms >= 100.0 {
        format!("{ms:.0}")
    } else if ms >= 1.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.3}")
    }
}

/// A series' percentiles against a swept parameter: p50, p90 and p99 as three paths over the
/// points in order (each path `<path class="series">` with its statistic), the x axis labeled
/// with the points' parameter values.
pub(super) fn by_parameter(points: &[super::html::SweepPoint]) -> String {
    let n = points.len().max(2) as f64 - 1.0;
    let y_max = points
        .iter()
        .flat_map(|(_, v)| v.iter().flatten())
        .fold(0.001_f64, |a, b| a.max(*b))
        * 1.08;
    let px = |i: usize| LEFT + i as f64 / n * (WIDTH - LEFT - RIGHT);
    let py = |y: f64| TOP + (1.0 - y / y_max) * (HEIGHT - TOP - BOTTOM);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\">"
    );
    y_grid(&mut svg, y_max, py);
    for (i, (label, _)) in points.iter().enumerate() {
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            px(i),
            HEIGHT - BOTTOM + 14.0,
            esc(label)
        );
    }
    for (stat, name) in ["p50", "p90", "p99"].iter().enumerate() {
        let mut d = String::new();
        for (i, (_, values)) in points.iter().enumerate() {
            if let Some(v) = values[stat] {
                let _ = write!(
                    d,
                    "{}{:.1},{:.1}",
                    if d.is_empty() { "M" } else { " L" },
                    px(i),
                    py(v)
                );
            }
        }
        let _ = write!(
            svg,
            "<path class=\"series s{stat}\" data-stat=\"{name}\" d=\"{d}\"><title>{name}</title></path>"
        );
    }
    svg.push_str("</svg>");
    svg
}
