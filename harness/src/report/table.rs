//! The terminal report: the metric table, the overhead table, budgets and failures.

use std::fmt::Write;

use crate::results::{MetricRow, RunSummary};

fn cell(v: Option<f64>) -> String {
    match v {
        None => "-".to_owned(),
        Some(v) if v >= 100.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.3}"),
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

fn render(headers: &[&str], rows: &[Vec<String>], out: &mut String) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>, out: &mut String| {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            if i < 2 {
                let _ = write!(s, "{c:<w$}  ");
            } else {
                let _ = write!(s, "{c:>w$}  ");
            }
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    line(headers.to_vec(), out);
    for row in rows {
        line(row.iter().map(String::as_str).collect(), out);
    }
}

/// The metric table alone.
pub fn render_metrics(metrics: &[MetricRow]) -> String {
    let mut out = String::new();
    let rows: Vec<Vec<String>> = metrics
        .iter()
        .map(|r| {
            vec![
                printable(&r.metric),
                r.status.as_deref().map_or_else(|| "-".into(), printable),
                r.count.to_string(),
                r.errors.to_string(),
                cell(r.p50_ms),
                cell(r.p90_ms),
                cell(r.p95_ms),
                cell(r.p99_ms),
                cell(r.max_ms),
                r.resolution.map_or("-", |r| r.as_str()).to_owned(),
            ]
        })
        .collect();
    render(
        &[
            "metric",
            "status",
            "count",
            "errors",
            "p50 ms",
            "p90 ms",
            "p95 ms",
            "p99 ms",
            "max ms",
            "resolution",
        ],
        &rows,
        &mut out,
    );
    out
}

/// Renders codex's aggregated metric histograms (no percentiles: only counts and sums exist).
pub fn render_aggregates(aggregates: &[crate::telemetry::otlp::AggregatedMetric]) -> String {
    let mut out = String::new();
    let rows: Vec<Vec<String>> = aggregates
        .iter()
        .map(|a| {
            vec![
                printable(&a.metric),
                a.status.as_deref().map_or_else(|| "-".into(), printable),
                a.count.to_string(),
                cell(a.min_ms),
                cell(a.mean_ms()),
                cell(a.max_ms),
            ]
        })
        .collect();
    render(
        &["metric", "status", "count", "min ms", "mean ms", "max ms"],
        &rows,
        &mut out,
    );
    out
}

/// Renders the whole terminal report.
pub fn render_report(summary: &RunSummary) -> String {
    let mut out = String::new();
    let run = &summary.run;
    let _ = writeln!(
        out,
        "{} ({}): {} iterations in {} rounds (+ {} warmup each) at concurrency {}, {:.2} s, \
         {:.1} successful iterations/s, {} failed{}",
        printable(&summary.scenario.name),
        printable(&summary.target.name),
        summary.plan.iterations,
        summary.rounds.len(),
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
    );
    out.push('\n');
    out.push_str(&render_metrics(&summary.metrics));
    if !summary.overhead.is_empty() {
        out.push_str("\nharness + runtime overhead (measured - injected, clean iterations):\n");
        let rows: Vec<Vec<String>> = summary
            .overhead
            .iter()
            .map(|o| {
                vec![
                    o.metric.clone(),
                    String::new(),
                    o.count.to_string(),
                    cell(Some(o.injected_p50_ms)),
                    cell(Some(o.overhead_p50_ms)),
                    cell(Some(o.overhead_p99_ms)),
                    cell(Some(o.overhead_max_ms)),
                    o.below_injected.to_string(),
                ]
            })
            .collect();
        render(
            &[
                "metric",
                "",
                "count",
                "injected p50",
                "overhead p50",
                "overhead p99",
                "overhead max",
                "below",
            ],
            &rows,
            &mut out,
        );
    }
    if !summary.budgets.is_empty() {
        out.push_str("\nbudgets:\n");
        for b in &summary.budgets {
            out.push_str(&budget_line(b));
            out.push('\n');
        }
    }
    if run.failed_iterations > 0 || run.warmup_failures > 0 {
        let kinds: Vec<String> = run
            .failures_by_kind
            .iter()
            .map(|(k, n)| format!("{k}: {n}"))
            .collect();
        let _ = writeln!(
            out,
            "\nfailed iterations: {} measured ({}), {} warmup",
            run.failed_iterations,
            kinds.join(", "),
            run.warmup_failures
        );
        for example in &run.failure_examples {
            let _ = writeln!(out, "  {}", printable(example));
        }
    }
    let t = &summary.telemetry;
    if t.malformed_events + t.unattributed_events + t.late_samples > 0 {
        let _ = writeln!(
            out,
            "\ntelemetry: {} malformed events, {} without conversation.id, {} late samples (not counted)",
            t.malformed_events, t.unattributed_events, t.late_samples
        );
    }
    for warning in &summary.warnings {
        let _ = writeln!(out, "warning: {}", printable(warning));
    }
    if t.egress_attempts > 0 {
        let _ = writeln!(
            out,
            "warning: the target tried {} connection(s) beyond loopback; all were refused",
            t.egress_attempts
        );
    }
    if t.span_refined_samples + t.span_unrefined_samples > 0 {
        let _ = writeln!(
            out,
            "{}",
            span_refinement(t.span_refined_samples, t.span_unrefined_samples)
        );
    }
    out
}

/// One budget: its verdict, the limit, the point and the interval it was judged on.
pub fn budget_line(b: &crate::results::BudgetRow) -> String {
    use crate::results::BudgetVerdict;
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
        "  {verdict:<7} {} {} {} ms (actual {actual})",
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
