//! The terminal report: aligned tables of the metric rows, the overhead table, budgets,
//! failures and warnings for a run; the verdict table for a comparison.

use std::fmt::Write;

use crate::results::{BudgetRow, BudgetVerdict, RunSummary};
use crate::stats::compare::{Comparison, Design, StatComparison, Verdict};
use crate::telemetry::otlp::AggregatedMetric;

use super::number::{derived, measured, percent, signed};
use super::view::{Cell, Line, MetricTable, RunView, STATISTICS};
use super::{Document, Exporter, Format, Unsupported};

/// The terminal format.
pub struct Terminal;

impl Exporter for Terminal {
    fn format(&self) -> Format {
        Format::Terminal
    }

    fn export(&self, document: Document<'_>) -> Result<Vec<u8>, Unsupported> {
        Ok(match document {
            Document::Run(view) => run(view),
            Document::Metrics(table) => metrics(table),
            Document::Comparison(c) => comparison(c),
        }
        .into_bytes())
    }
}

/// A name as it may be printed: control characters (escape sequences, newlines) from a
/// hostile file or telemetry body are shown escaped, never interpreted by the terminal.
pub fn printable(name: &str) -> String {
    if name.chars().any(char::is_control) {
        name.escape_debug().to_string()
    } else {
        name.to_owned()
    }
}

/// How a column is aligned.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Right,
}

/// Renders rows under headers, each column as wide as its widest cell.
fn grid(headers: &[(&str, Align)], rows: &[Vec<String>], out: &mut String) {
    let mut widths: Vec<usize> = headers.iter().map(|(h, _)| h.chars().count()).collect();
    for row in rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut line = |cells: Vec<&str>| {
        let mut s = String::new();
        for ((c, w), (_, align)) in cells.iter().zip(&widths).zip(headers) {
            let _ = match align {
                Align::Left => write!(s, "{c:<w$}  "),
                Align::Right => write!(s, "{c:>w$}  "),
            };
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    line(headers.iter().map(|(h, _)| *h).collect());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// A statistic's cell: its value at the series' resolution, `*` when it is the max.
pub(super) fn cell(cell: &Cell, line: &Line) -> String {
    let value = measured(cell.value, line.resolution);
    if cell.is_max {
        format!("{value}*")
    } else {
        value
    }
}

fn metrics(table: &MetricTable) -> String {
    use Align::{Left, Right};
    let mut out = String::new();
    let rows: Vec<Vec<String>> = table
        .lines
        .iter()
        .map(|l| {
            let mut row = vec![
                printable(&l.metric),
                l.status.as_deref().map_or_else(|| "-".into(), printable),
                l.count.to_string(),
                l.errors.to_string(),
            ];
            row.extend(l.cells.iter().map(|c| cell(c, l)));
            row.push(l.resolution.map_or("-", |r| r.as_str()).to_owned());
            row
        })
        .collect();
    let stat_headers: Vec<String> = STATISTICS.iter().map(|(n, _)| format!("{n} ms")).collect();
    let mut headers = vec![
        ("metric", Left),
        ("status", Left),
        ("count", Right),
        ("errors", Right),
    ];
    headers.extend(stat_headers.iter().map(|h| (h.as_str(), Right)));
    headers.push(("resolution", Right));
    grid(&headers, &rows, &mut out);
    for note in &table.notes {
        let _ = writeln!(out, "{note}");
    }
    out
}

/// Codex's aggregated metric histograms (no percentiles: only counts and sums exist).
pub fn aggregates(aggregates: &[AggregatedMetric]) -> String {
    use Align::{Left, Right};
    let mut out = String::new();
    let rows: Vec<Vec<String>> = aggregates
        .iter()
        .map(|a| {
            vec![
                printable(&a.metric),
                a.status.as_deref().map_or_else(|| "-".into(), printable),
                a.count.to_string(),
                measured(a.min_ms, None),
                measured(a.mean_ms(), None),
                measured(a.max_ms, None),
            ]
        })
        .collect();
    grid(
        &[
            ("metric", Left),
            ("status", Left),
            ("count", Right),
            ("min ms", Right),
            ("mean ms", Right),
            ("max ms", Right),
        ],
        &rows,
        &mut out,
    );
    out
}

/// The run's headline: what ran, how long, how much failed.
pub(super) fn headline(summary: &RunSummary) -> String {
    let run = &summary.run;
    format!(
        "{} ({}): {} iterations in {} round{} (+ {} warmup each) at concurrency {}, {:.2} s, \
         {:.1} successful iterations/s, {} failed{}",
        printable(&summary.scenario.name),
        printable(&summary.target.name),
        summary.plan.iterations,
        summary.rounds.len(),
        if summary.rounds.len() == 1 { "" } else { "s" },
        summary.plan.warmup,
        summary.plan.concurrency,
        run.wall_time_s,
        run.iterations_per_s,
        run.failed_iterations,
        if summary.partial {
            " (INTERRUPTED: partial results)"
        } else {
            ""
        },
    )
}

fn run(view: &RunView<'_>) -> String {
    use Align::{Left, Right};
    let summary = view.summary;
    let mut out = headline(summary);
    out.push_str("\n\n");
    out.push_str(&metrics(&view.table));
    if !summary.overhead.is_empty() {
        out.push_str("\nharness + runtime overhead (measured - injected, clean iterations):\n");
        let rows: Vec<Vec<String>> = summary
            .overhead
            .iter()
            .map(|o| {
                vec![
                    printable(&o.metric),
                    o.count.to_string(),
                    derived(o.injected_p50_ms, None),
                    derived(o.overhead_p50_ms, None),
                    derived(o.overhead_p99_ms, None),
                    derived(o.overhead_max_ms, None),
                    o.below_injected.to_string(),
                ]
            })
            .collect();
        grid(
            &[
                ("metric", Left),
                ("count", Right),
                ("injected p50", Right),
                ("overhead p50", Right),
                ("overhead p99", Right),
                ("overhead max", Right),
                ("below", Right),
            ],
            &rows,
            &mut out,
        );
    }
    if !summary.budgets.is_empty() {
        out.push_str("\nbudgets:\n");
        for b in &summary.budgets {
            let _ = writeln!(out, "  {}", budget_line(b));
        }
    }
    for line in trailer(summary) {
        let _ = writeln!(out, "{line}");
    }
    out
}

/// Failures, telemetry health and warnings: the lines every format ends a run with.
pub(super) fn trailer(summary: &RunSummary) -> Vec<String> {
    let run = &summary.run;
    let mut out = Vec::new();
    if run.failed_iterations > 0 || run.warmup_failures > 0 {
        let kinds: Vec<String> = run
            .failures_by_kind
            .iter()
            .map(|(k, n)| format!("{k}: {n}"))
            .collect();
        out.push(format!(
            "failed iterations: {} measured ({}), {} warmup",
            run.failed_iterations,
            kinds.join(", "),
            run.warmup_failures
        ));
        for example in &run.failure_examples {
            out.push(format!("  {}", printable(example)));
        }
    }
    let t = &summary.telemetry;
    if t.malformed_events + t.unattributed_events + t.late_samples > 0 {
        out.push(format!(
            "telemetry: {} malformed events, {} without conversation.id, {} late samples (not counted)",
            t.malformed_events, t.unattributed_events, t.late_samples
        ));
    }
    for warning in &summary.warnings {
        out.push(format!("warning: {}", printable(warning)));
    }
    if t.egress_attempts > 0 {
        out.push(format!(
            "warning: the target tried {} connection(s) beyond loopback; all were refused",
            t.egress_attempts
        ));
    }
    if t.span_refined_samples + t.span_unrefined_samples > 0 {
        out.push(span_refinement(
            t.span_refined_samples,
            t.span_unrefined_samples,
        ));
    }
    out
}

/// One budget: its verdict, the limit, the point and the interval it was judged on.
pub fn budget_line(b: &BudgetRow) -> String {
    let verdict = match b.verdict {
        BudgetVerdict::Held => "held",
        BudgetVerdict::Breached => "BREACH",
        BudgetVerdict::Inconclusive => "unsure",
    };
    let actual = match (b.actual_ms, b.low_ms, b.high_ms) {
        (None, ..) => "no samples".to_owned(),
        (Some(a), Some(lo), Some(hi)) => format!("{a} ms, interval [{lo}, {hi}]"),
        (Some(a), ..) => format!("{a} ms"),
    };
    format!(
        "{verdict:<7} {} {} {} ms (actual {actual})",
        printable(&b.key),
        if b.inclusive { "<=" } else { "<" },
        b.limit_ms,
    )
}

/// The line saying how many phase samples trace spans refined (runs and `ingest`).
pub fn span_refinement(refined: u64, unrefined: u64) -> String {
    format!(
        "trace spans: {refined} phase samples refined below 1 ms, {unrefined} kept whole \
         milliseconds (span missing or disagreeing)"
    )
}

pub(super) fn series(row: &StatComparison) -> String {
    match &row.status {
        Some(s) => printable(&format!("{}[{s}]", row.metric)),
        None => printable(&row.metric),
    }
}

pub(super) fn gate(row: &StatComparison) -> &'static str {
    if row.primary { "primary" } else { "info" }
}

/// What was compared with what, in one sentence.
pub(super) fn design(c: &Comparison) -> String {
    match c.design {
        Design::History => format!(
            "the current run ({} rounds) against a baseline history of {} run{}",
            c.current_rounds,
            c.baseline_runs,
            if c.baseline_runs == 1 { "" } else { "s" }
        ),
        Design::Paired => format!("B against A over {} paired rounds", c.current_rounds),
    }
}

/// The interval of a comparison row's change, or `-`.
pub(super) fn interval(row: &StatComparison) -> String {
    match (row.ci_low_ms, row.ci_high_ms) {
        (Some(lo), Some(hi)) => format!(
            "[{}, {}]",
            signed(lo, row.resolution),
            signed(hi, row.resolution)
        ),
        _ => "-".to_owned(),
    }
}

/// A comparison row's cells after its series: statistic, gate, values, change, interval,
/// threshold, verdict. Terminal, Markdown and CSV show these same cells.
pub(super) fn comparison_cells(r: &StatComparison) -> [String; 9] {
    [
        r.statistic.clone(),
        gate(r).to_owned(),
        derived(r.baseline_ms, r.resolution),
        derived(r.current_ms, r.resolution),
        signed(r.delta_ms, r.resolution),
        percent(r.delta_pct),
        interval(r),
        derived(r.threshold_ms, r.resolution),
        r.verdict.as_str().to_owned(),
    ]
}

/// "N primary regressed; all rows: …".
pub(super) fn comparison_headline(c: &Comparison) -> String {
    let primary_regressed = c
        .rows
        .iter()
        .filter(|r| r.primary && r.verdict == Verdict::Regressed)
        .count();
    format!(
        "{primary_regressed} primary regressed; all rows: {} regressed, {} inconclusive, {} improved, {} unchanged",
        c.count(Verdict::Regressed),
        c.count(Verdict::Inconclusive),
        c.count(Verdict::Improved),
        c.count(Verdict::Unchanged)
    )
}

fn comparison(c: &Comparison) -> String {
    use Align::{Left, Right};
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} vs baseline {}: {}",
        printable(&c.current.scenario),
        printable(&c.baseline.path),
        comparison_headline(c)
    );
    let _ = writeln!(
        out,
        "{}; {} primary rows can fail the gate (Holm), the others are informational",
        design(c),
        c.primary_rows
    );
    for m in &c.mismatches {
        let _ = writeln!(out, "warning: compared although {}", printable(m));
    }
    let rows: Vec<Vec<String>> = c
        .rows
        .iter()
        .map(|r| {
            let mut row = vec![series(r)];
            row.extend(comparison_cells(r));
            row
        })
        .collect();
    grid(
        &[
            ("series", Left),
            ("stat", Left),
            ("gate", Left),
            ("baseline ms", Right),
            ("current ms", Right),
            ("delta ms", Right),
            ("delta", Right),
            ("CI of delta ms", Right),
            ("threshold", Right),
            ("verdict", Left),
        ],
        &rows,
        &mut out,
    );
    for u in &c.unmatched {
        let _ = writeln!(out, "note: {}", printable(u));
    }
    for b in &c.budgets {
        let _ = writeln!(out, "budget  {}", budget_line(b));
    }
    // Every primary row that is not unchanged says why. Of the informational rows, those the
    // table cannot explain (no interval) are grouped by reason; the others' interval and
    // threshold are their reason. The Markdown, CSV and JSON give every row's.
    for r in c
        .rows
        .iter()
        .filter(|r| r.primary && r.verdict != Verdict::Unchanged)
    {
        let _ = writeln!(
            out,
            "{} {} {}: {}",
            r.verdict.as_str(),
            series(r),
            r.statistic,
            r.reason
        );
    }
    let mut grouped: Vec<(String, usize)> = Vec::new();
    for r in c
        .rows
        .iter()
        .filter(|r| !r.primary && r.ci_low_ms.is_none())
    {
        let why = format!("{}: {}", r.verdict.as_str(), r.reason);
        match grouped.iter_mut().find(|(w, _)| *w == why) {
            Some((_, n)) => *n += 1,
            None => grouped.push((why, 1)),
        }
    }
    for (why, n) in grouped {
        let _ = writeln!(
            out,
            "{n} informational row{} {why}",
            if n == 1 { "" } else { "s" }
        );
    }
    out
}
