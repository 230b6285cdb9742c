//! The HTML report's pictures as plain SVG: a series' percentile distribution on a log
//! percentile axis (HdrHistogram's way of drawing latency), several sides overlaid, and the
//! startup waterfall. Markup only, no script; every series is one `<path class="series">` and
//! every waterfall bar one `<rect class="phase">`, with their figures as data attributes.
//! Axes read like a chart a person drew: value ticks at 1-2-5 steps from 0 (`ticks`), the
//! percentile axis marked at 50%, 90%, 99%, …, every axis named with its unit, and colours
//! that name a track or a side, never a verdict. Plots scale to their container's width.

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

/// Value ticks from 0: the smallest 1-2-5 step (…, 0.1, 0.2, 0.5, 1, 2, 5, 10, …) that
/// reaches `max` in at most five steps; the last tick is the axis's top (at or above `max`).
pub(super) fn ticks(max: f64) -> Vec<f64> {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let raw = max / 5.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|step| *step >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * magnitude);
    let n = (max / step - 1e-9).ceil().max(1.0) as u32;
    (0..=n).map(|k| f64::from(k) * step).collect()
}

/// The opening tag of a plot that scales to its container's width (the `viewBox` keeps its
/// proportions).
fn open(width: f64, height: f64) -> String {
    format!(
        "<svg class=\"plot\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" \
         preserveAspectRatio=\"xMinYMin meet\" role=\"img\">"
    )
}

/// An axis title: centred under the x axis, or turned along the y axis.
fn axis_title(svg: &mut String, x: f64, y: f64, vertical: bool, text: &str) {
    let turn = if vertical {
        format!(" transform=\"rotate(-90 {x:.1} {y:.1})\"")
    } else {
        String::new()
    };
    let _ = write!(
        svg,
        "<text class=\"axis-title\" x=\"{x:.1}\" y=\"{y:.1}\"{turn} text-anchor=\"middle\">{}</text>",
        esc(text)
    );
}

/// The percentile ticks of an axis reaching `x_max` decades: 0%, 50%, 90%, 99%, 99.9%, …
fn percentile_ticks(x_max: f64) -> Vec<(f64, String)> {
    let mut out = vec![(0.0, "0%".to_owned()), (x_of(0.5), "50%".to_owned())];
    for decade in 1..=(x_max as i32) {
        let q = 100.0 - 100.0 / 10f64.powi(decade);
        out.push((f64::from(decade), format!("{q}%")));
    }
    out
}

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
    let y_ticks = ticks(
        curves
            .iter()
            .flat_map(|c| c.2.iter().map(|p| p.1))
            .fold(0.0_f64, f64::max),
    );
    let y_max = y_ticks.last().copied().unwrap_or(1.0);
    let px = |x: f64| LEFT + x / x_max * (WIDTH - LEFT - RIGHT);
    let py = |y: f64| TOP + (1.0 - y / y_max) * (HEIGHT - TOP - BOTTOM);
    let mut svg = open(WIDTH, HEIGHT);
    for (at, label) in percentile_ticks(x_max) {
        let x = px(at);
        let _ = write!(
            svg,
            "<line class=\"grid\" x1=\"{x:.1}\" y1=\"{TOP}\" x2=\"{x:.1}\" y2=\"{:.1}\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{label}</text>",
            HEIGHT - BOTTOM,
            HEIGHT - BOTTOM + 14.0
        );
    }
    y_grid(&mut svg, &y_ticks, py);
    axes(&mut svg, "percentile (log scale)", "latency (ms)");
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
    const LEGEND: f64 = 22.0;
    // In start order, as the phases begin on the timeline (ties: the one ending first).
    let mut rows: Vec<_> = rows
        .iter()
        .filter(|r| r.metric != "client.iteration")
        .collect();
    rows.sort_by(|a, b| {
        a.start_p50_ms
            .total_cmp(&b.start_p50_ms)
            .then(a.end_p50_ms.total_cmp(&b.end_p50_ms))
    });
    let x_ticks = ticks(rows.iter().map(|r| r.end_p90_ms).fold(0.0_f64, f64::max));
    let x_max = x_ticks.last().copied().unwrap_or(1.0);
    let height = LEGEND + TOP + ROW * rows.len() as f64 + BOTTOM;
    let width = WIDTH + 200.0;
    let plot = width - LABEL - RIGHT;
    let px = |ms: f64| LABEL + ms / x_max * plot;
    let mut svg = open(width, height);
    // The legend: one swatch per track drawn.
    let mut tracks: Vec<(&str, u32)> = rows
        .iter()
        .map(|r| super::trace::track(&r.metric))
        .collect();
    tracks.sort_by_key(|t| t.1);
    tracks.dedup();
    let mut at = LABEL;
    for (track, tid) in &tracks {
        let _ = write!(
            svg,
            "<g class=\"legend\"><rect x=\"{at:.1}\" y=\"4\" width=\"12\" height=\"12\" fill=\"{}\"/>\
             <text x=\"{:.1}\" y=\"14\">{track}</text></g>",
            track_colour(*tid),
            at + 16.0
        );
        at += 24.0 + 7.0 * track.len() as f64;
    }
    let top = LEGEND + TOP;
    for &ms in &x_ticks {
        let x = px(ms);
        let _ = write!(
            svg,
            "<line class=\"grid\" x1=\"{x:.1}\" y1=\"{top}\" x2=\"{x:.1}\" y2=\"{:.1}\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            height - BOTTOM,
            height - BOTTOM + 14.0,
            compact(ms)
        );
    }
    axis_title(
        &mut svg,
        LABEL + plot / 2.0,
        height - 4.0,
        false,
        "time since the iteration began (ms)",
    );
    for (i, r) in rows.iter().enumerate() {
        let y = top + ROW * i as f64;
        let (track, tid) = super::trace::track(&r.metric);
        let color = track_colour(tid);
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

/// A track's colour: a categorical palette without red or green, which readers take for
/// "bad" and "good".
fn track_colour(tid: u32) -> &'static str {
    [
        "#777777", "#0072b2", "#6a3fb5", "#e69f00", "#56b4e9", "#cc79a7", "#8c6d31", "#999999",
    ][tid as usize % 8]
}

/// The two axis lines of a plot and their titles.
fn axes(svg: &mut String, x_title: &str, y_title: &str) {
    let b = HEIGHT - BOTTOM;
    let r = WIDTH - RIGHT;
    let _ = write!(
        svg,
        "<line class=\"axis\" x1=\"{LEFT}\" y1=\"{b:.1}\" x2=\"{r:.1}\" y2=\"{b:.1}\"/>\
         <line class=\"axis\" x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{b:.1}\"/>"
    );
    axis_title(svg, (LEFT + r) / 2.0, HEIGHT - 4.0, false, x_title);
    axis_title(svg, 14.0, (TOP + b) / 2.0, true, y_title);
}

/// Horizontal grid lines with their labels at `ticks` (the last is the plot's top).
fn y_grid(svg: &mut String, ticks: &[f64], py: impl Fn(f64) -> f64) {
    for &value in ticks {
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

/// A tick value with the digits a 1-2-5 step needs and no more (0.05, 0.5, 5, 50).
fn compact(value: f64) -> String {
    let text = format!("{value:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text.is_empty() || text == "-0" {
        "0".into()
    } else {
        text.to_owned()
    }
}

/// A series' percentiles against a swept parameter: p50, p90 and p99 as three paths over the
/// points in order (each path `<path class="series">` with its statistic), the x axis labeled
/// with the points' parameter values.
pub(super) fn by_parameter(points: &[super::html::SweepPoint], parameter: &str) -> String {
    let n = points.len().max(2) as f64 - 1.0;
    let y_ticks = ticks(
        points
            .iter()
            .flat_map(|(_, v)| v.iter().flatten())
            .fold(0.0_f64, |a, b| a.max(*b)),
    );
    let y_max = y_ticks.last().copied().unwrap_or(1.0);
    let px = |i: usize| LEFT + i as f64 / n * (WIDTH - LEFT - RIGHT);
    let py = |y: f64| TOP + (1.0 - y / y_max) * (HEIGHT - TOP - BOTTOM);
    let mut svg = open(WIDTH, HEIGHT);
    y_grid(&mut svg, &y_ticks, py);
    axes(&mut svg, parameter, "latency (ms)");
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_step_by_one_two_or_five_from_zero_to_at_least_the_maximum() {
        assert_eq!(ticks(141.0), [0.0, 50.0, 100.0, 150.0]);
        assert_eq!(ticks(40.4), [0.0, 10.0, 20.0, 30.0, 40.0, 50.0]);
        assert_eq!(ticks(100.0), [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        let small = ticks(0.044);
        assert_eq!(small.len(), 6, "{small:?}");
        assert!((small[5] - 0.05).abs() < 1e-12, "{small:?}");
        for max in [0.0, f64::NAN, -3.0] {
            assert_eq!(ticks(max), [0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]);
        }
        let labels: Vec<String> = small.iter().map(|t| compact(*t)).collect();
        assert_eq!(labels, ["0", "0.01", "0.02", "0.03", "0.04", "0.05"]);
    }

    #[test]
    fn the_percentile_axis_marks_the_median() {
        let ticks: Vec<String> = percentile_ticks(3.0).into_iter().map(|t| t.1).collect();
        assert_eq!(ticks, ["0%", "50%", "90%", "99%", "99.9%"]);
    }

    #[test]
    fn the_waterfall_draws_phases_in_start_order_with_a_legend() {
        let row = |metric: &str, start: f64, end: f64| crate::results::WaterfallRow {
            metric: metric.into(),
            count: 10,
            start_p50_ms: start,
            start_p90_ms: start,
            end_p50_ms: end,
            end_p90_ms: end,
        };
        let svg = waterfall(&[
            row("turn_ttft", 60.0, 90.0),
            row("thread_start_total", 0.0, 1.0),
            row("websocket_connect", 1.0, 12.0),
        ]);
        let at = |m: &str| svg.find(&format!("data-metric=\"{m}\"")).unwrap();
        assert!(at("thread_start_total") < at("websocket_connect"));
        assert!(at("websocket_connect") < at("turn_ttft"));
        for track in ["thread", "websocket", "turn"] {
            assert!(
                svg.contains(&format!(">{track}</text></g>")),
                "legend for {track}"
            );
        }
        assert!(
            !svg.contains("#b00020") && !svg.contains("#0a7d32"),
            "no verdict colours"
        );
        assert!(svg.contains("time since the iteration began (ms)"));
    }
}
