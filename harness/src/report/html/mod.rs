//! A self-contained HTML report (no script, no network, no external font or stylesheet: it
//! opens from a CI artifact): per series, the percentile distribution of its HdrHistogram
//! drawn as HdrHistogram plots are read (latency against a log-scaled percentile axis, 0% …
//! 99.99%), the baseline or side A overlaid with the verdicts and intervals of the comparison;
//! the budgets; the percentile and overhead tables ([`tables`]); the startup waterfall; the
//! run's notes and warnings. Plots sit in a grid that fills the page's width.
//!
//! Plots are hand-written SVG rather than `plotters`: a few hundred lines give exact control of
//! what the markup carries (each series is one `<path class="series">` with its name, sample
//! count and p50 as data attributes, which the browser test reads back), add no dependency,
//! and keep the file small (a 13-series run report is 28 KB).

use std::fmt::Write;

mod tables;

use crate::model::series::MetricKey;
use crate::results::{DecodedRound, RunSummary};
use crate::stats::compare::{Comparison, RowVerdict};

use super::svg::{plot, waterfall};
use super::text::{
    budget_line, comparison_headline, critical_path, design, difference_source, headline,
    printable, trailer,
};
use super::view::RunView;
use super::{Document, Exporter, Format, Unsupported};

/// What the HTML report draws: a run's table and its pooled distributions, and a baseline's
/// (with the comparison) when there is one. Text formats show its run.
#[derive(Debug)]
pub(crate) struct Pictured<'a> {
    pub view: &'a RunView<'a>,
    /// The run's rounds merged.
    pub pooled: &'a DecodedRound,
    pub baseline: Option<&'a BaselineView<'a>>,
}

/// The HTML format.
pub(crate) struct Html;

impl Exporter for Html {
    fn format(&self) -> Format {
        Format::Html
    }

    fn export(&self, document: Document<'_>) -> Result<Vec<u8>, Unsupported> {
        match document {
            Document::Pictured(p) => Ok(render(p.view, p.pooled, p.baseline).into_bytes()),
            _ => Err(self.unsupported(document)),
        }
    }
}

/// The other side of a comparison, as the report overlays it.
#[derive(Debug)]
pub(crate) struct BaselineView<'a> {
    /// "baseline" or "A".
    pub label: &'a str,
    /// Its runs pooled (an A/B side's every round, a history's every run).
    pub summary: &'a RunSummary,
    /// Its rounds (or runs) merged.
    pub pooled: &'a DecodedRound,
    pub comparison: &'a Comparison,
}

/// What the current side is called beside a baseline.
fn current_label(baseline: Option<&BaselineView<'_>>) -> &'static str {
    match baseline {
        Some(b) if b.label == "A" => "B",
        _ => "current",
    }
}

/// HTML-escapes text.
pub(super) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in printable(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}\
.plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(460px,1fr));gap:0 28px}\
svg.plot{width:100%;height:auto;display:block}.waterfall svg.plot{max-width:1100px}\
.axis-title{font-size:12px;fill:#555}.legend text{font-size:12px}\
h1{font-size:20px}h2{font-size:16px;margin:28px 0 6px}table{border-collapse:collapse;font-size:13px}\
td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right}td:first-child,th:first-child,td:last-child,th:last-child{text-align:left}\
.regressed{color:#b00020;font-weight:bold}.improved{color:#0a7d32}.inconclusive{color:#8a6d00}\
.note{color:#555;font-size:13px}svg text{font-size:11px;fill:#333}\
.axis{stroke:#888;stroke-width:1}.grid{stroke:#eee;stroke-width:1}\
.s0{stroke:#1f5fbf;fill:none;stroke-width:2}.s1{stroke:#d9480f;fill:none;stroke-width:2;stroke-dasharray:6 3}.s2{stroke:#6a3fb5;fill:none;stroke-width:1.5;stroke-dasharray:2 3}";

/// The comparison rows of one series, as a small table.
/// In the comparison table's order (p50 … p99); informational rows the design could not
/// judge are folded into one line under the table, as the terminal and Markdown fold them.
fn verdict_rows(c: &Comparison, key: &MetricKey, labels: (&str, &str)) -> String {
    let mine = |r: &&crate::stats::compare::StatComparison| {
        r.metric == key.metric && r.status == key.status
    };
    let rows: Vec<_> = super::text::table_order(c, false)
        .into_iter()
        .map(|i| &c.rows[i])
        .filter(mine)
        .collect();
    let folded: Vec<String> = c
        .rows
        .iter()
        .filter(mine)
        .filter(|r| !rows.iter().any(|shown| std::ptr::eq(*shown, *r)))
        .map(|r| r.reason.clone())
        .collect();
    if rows.is_empty() && folded.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "<table><tr><th>stat</th><th>gate</th><th>{} ms</th><th>{} ms</th>\
         <th>Δ</th><th>CI of Δ ms</th><th>verdict</th><th>why</th></tr>",
        esc(labels.0),
        esc(labels.1)
    );
    for r in rows {
        let class = match r.verdict {
            RowVerdict::Regressed => "regressed",
            RowVerdict::Improved => "improved",
            RowVerdict::Inconclusive => "inconclusive",
            RowVerdict::Unchanged => "",
        };
        let interval = match (r.ci_low_ms, r.ci_high_ms) {
            (Some(lo), Some(hi)) => format!("[{lo:+.3}, {hi:+.3}]"),
            _ => "-".into(),
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{:.3}</td><td>{:.3}</td><td>{}</td><td>{}</td>\
             <td class=\"{class}\">{}</td><td>{}</td></tr>",
            esc(&r.statistic),
            if r.primary { "primary" } else { "info" },
            r.baseline_ms,
            r.current_ms,
            r.delta_pct
                .map_or("-".into(), |p| format!("{:+.1}%", p * 100.0)),
            interval,
            r.verdict.as_str(),
            esc(&r.reason)
        );
    }
    out.push_str("</table>");
    if !folded.is_empty() {
        let _ = write!(
            out,
            "<p class=\"note folded\">Not judged (informational, not in the table): {}</p>",
            esc(&folded.join("; "))
        );
    }
    out
}

/// The whole report.
fn render(
    view: &RunView<'_>,
    pooled: &DecodedRound,
    baseline: Option<&BaselineView<'_>>,
) -> String {
    let summary = view.summary;
    let mut out = String::from("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">");
    let _ = write!(
        out,
        "<title>phasebench: {}</title><style>{STYLE}</style></head><body>",
        esc(&summary.scenario.name)
    );
    let current = current_label(baseline);
    let _ = write!(out, "<h1>phasebench: {}</h1>", esc(&summary.scenario.name));
    match baseline {
        // Both sides as wholes: every round each ran, not one child round.
        Some(b) => {
            let _ = write!(
                out,
                "<p class=\"side\">{current}: {}</p><p class=\"side\">{}: {}</p>",
                esc(&headline(summary)),
                esc(b.label),
                esc(&headline(b.summary))
            );
        }
        None => {
            let _ = write!(out, "<p>{}</p>", esc(&headline(summary)));
        }
    }
    if let Some(b) = baseline {
        let c = b.comparison;
        let headline = esc(&comparison_headline(c));
        let headline = match c.outcome() {
            crate::stats::compare::Outcome::Fail => {
                format!("<span class=\"regressed\">{headline}</span>")
            }
            _ => headline,
        };
        let _ = write!(
            out,
            "<p>{headline} ({}). The solid line is {current}, the dashed one {}.</p>",
            esc(&design(c)),
            esc(b.label)
        );
        // What changed leads: every primary row that regressed or improved, with why.
        let moved: Vec<_> = c
            .rows
            .iter()
            .filter(|r| {
                r.primary && matches!(r.verdict, RowVerdict::Regressed | RowVerdict::Improved)
            })
            .collect();
        if !moved.is_empty() {
            out.push_str("<ul class=\"changed\">");
            for r in moved {
                let _ = write!(
                    out,
                    "<li><span class=\"{v}\">{v}</span> {} {}: {}</li>",
                    esc(&r.key().label()),
                    esc(&r.statistic),
                    esc(&r.reason),
                    v = r.verdict.as_str()
                );
            }
            out.push_str("</ul>");
        }
        let undecided = c.undecided_reasons();
        if !undecided.is_empty() {
            out.push_str("<p>Undecided: the gate could not judge these; not a pass.</p><ul>");
            for reason in undecided {
                let _ = write!(out, "<li>{}</li>", esc(&reason));
            }
            out.push_str("</ul>");
        }
        if let Some(source) = difference_source(c) {
            let _ = write!(out, "<p>{}</p>", esc(&source));
        }
    }
    let critical = critical_path(&summary.critical_path, view.table.p50_of("turn_ttft"));
    if !critical.is_empty() {
        out.push_str("<h2>Critical path</h2><ul>");
        for line in critical {
            let _ = write!(out, "<li>{}</li>", esc(&line));
        }
        out.push_str("</ul>");
    }
    let budgets = baseline.map_or(&summary.budgets, |b| &b.comparison.budgets);
    if !budgets.is_empty() {
        out.push_str("<h2>Budgets</h2><ul>");
        for b in budgets {
            let _ = write!(out, "<li>{}</li>", esc(&budget_line(b)));
        }
        out.push_str("</ul>");
    }
    let _ = write!(
        out,
        "<h2>Percentiles ({current})</h2>{}",
        tables::percentiles(&view.table)
    );
    if !summary.overhead.is_empty() {
        let _ = write!(
            out,
            "<h2>Harness overhead</h2><p class=\"note\">Each phase beside the delay the mock \
             injected into it, over clean iterations: overhead = measured − injected (for a \
             phase with nothing injected, its whole cost).</p>{}",
            tables::overhead(&summary.overhead)
        );
    }
    if !summary.waterfall.is_empty() {
        out.push_str(
            "<h2>Startup waterfall</h2><p class=\"note\">Per phase in start order, from its \
             median start to its median end after the iteration began; the whisker reaches its \
             p90 end; colours are the tracks the phases run on.</p><div class=\"waterfall\">",
        );
        out.push_str(&waterfall(&summary.waterfall));
        out.push_str("</div>");
    }
    out.push_str(
        "<h2>Distributions</h2><p class=\"note\">Each plot is a series' percentile \
         distribution (HdrHistogram), percentiles on a log scale.</p><div class=\"plots\">",
    );
    // Beside a comparison, the series in its table's order (the worst verdict first).
    let mut lines: Vec<_> = view.table.lines.iter().collect();
    if let Some(b) = baseline {
        let c = b.comparison;
        let order: Vec<(&str, Option<&str>)> = super::text::table_order(c, true)
            .into_iter()
            .map(|i| (c.rows[i].metric.as_str(), c.rows[i].status.as_deref()))
            .collect();
        lines.sort_by_key(|l| {
            order
                .iter()
                .position(|k| l.key.is(k.0, k.1))
                .unwrap_or(usize::MAX)
        });
    }
    for line in lines {
        let key = &line.key;
        let Some(series) = pooled.get(key) else {
            continue;
        };
        let mut sides = vec![(current, series)];
        if let Some(other) = baseline.and_then(|b| b.pooled.get(key).map(|s| (b.label, s))) {
            sides.push(other);
        }
        let _ = write!(
            out,
            "<section class=\"metric\" data-series=\"{}\"><h2>{}</h2><p class=\"note\">{} samples, \
             p50 {} ms, p99 {} ms, resolution {}</p>{}",
            esc(&key.label()),
            esc(&key.label()),
            line.count,
            super::number::measured(line.cells[0].value, line.resolution),
            super::number::measured(line.cells[3].value, line.resolution),
            line.resolution.map_or("-", |r| r.step()),
            plot(&sides)
        );
        if let Some(b) = baseline {
            out.push_str(&verdict_rows(b.comparison, key, (b.label, current)));
        }
        out.push_str("</section>");
    }
    out.push_str("</div>");
    let notes: Vec<String> = view
        .table
        .notes
        .iter()
        .cloned()
        .chain(trailer(summary))
        .collect();
    if !notes.is_empty() {
        out.push_str("<h2>Notes</h2><ul>");
        for note in notes {
            let _ = write!(out, "<li>{}</li>", esc(note.trim_start()));
        }
        out.push_str("</ul>");
    }
    out.push_str("</body></html>\n");
    out
}

/// One point of a swept series: its parameter label and p50, p90, p99.
pub(crate) type SweepPoint = (String, [Option<f64>; 3]);
/// A swept series: its name and points in order.
pub(crate) type SweepSeries = (String, Vec<SweepPoint>);

/// The HTML of a sweep: per series, its p50/p90/p99 against the swept parameter.
pub(crate) fn sweep(keys: &[String], series: &[SweepSeries]) -> String {
    let mut out = String::from("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">");
    let axis = keys.join(", ");
    let _ = write!(
        out,
        "<title>phasebench sweep</title><style>{STYLE}</style></head><body>\
         <h1>phasebench sweep over {}</h1><p class=\"note\">Per series, p50 (solid), p90 \
         (dashed) and p99 (dotted) against the parameter; one whole run per point.</p>\
         <div class=\"plots\">",
        esc(&axis)
    );
    for (name, points) in series {
        let _ = write!(
            out,
            "<section class=\"metric\" data-series=\"{}\"><h2>{}</h2>{}</section>",
            esc(name),
            esc(name),
            super::svg::by_parameter(points, &axis)
        );
    }
    out.push_str("</div></body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::series::Series;
    use crate::report::svg::{distribution, x_of};

    #[test]
    fn percentiles_sit_on_a_log_axis_and_text_is_escaped() {
        assert!((x_of(0.0)).abs() < 1e-12);
        assert!((x_of(0.9) - 1.0).abs() < 1e-9);
        assert!((x_of(0.99) - 2.0).abs() < 1e-9);
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(esc("\u{1b}[31m"), "\\u{1b}[31m");
    }

    #[test]
    fn a_distribution_rises_to_the_maximum() {
        let mut h = crate::model::series::DurationHistogram::default();
        for us in 1..=1000u64 {
            h.record(std::time::Duration::from_micros(us * 10));
        }
        let series = Series {
            histogram: h,
            resolution: crate::model::sample::Resolution::Us,
        };
        let points = distribution(&series);
        assert!(points.len() > 40, "{}", points.len());
        assert!(
            points
                .windows(2)
                .all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1)
        );
        let last = points.last().unwrap();
        assert!((last.1 - 10.0).abs() < 0.02, "{last:?}");
        assert!((last.0 - 3.0).abs() < 1e-9);
    }
}
