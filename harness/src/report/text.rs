//! The wording the text formats (terminal and Markdown) share: names made printable, a
//! statistic's cell, a run's headline and trailing lines, budget lines, and a comparison
//! row's cells and headline. One place, so the two formats cannot drift apart.

use crate::results::{BudgetRow, BudgetVerdict, RunSummary};
use crate::stats::compare::{
    Comparison, Design, Outcome, QUANTILES, RowVerdict, Source, StatComparison,
};

use super::number::{derived, measured, percent, signed};
use super::view::{Cell, Line};

/// A name as it may be printed: control characters (escape sequences, newlines) from a
/// hostile file or telemetry body are shown escaped, never interpreted by the terminal.
pub(crate) fn printable(name: &str) -> String {
    if name.chars().any(char::is_control) {
        name.escape_debug().to_string()
    } else {
        name.to_owned()
    }
}

/// A statistic's cell: its value at the series' resolution, `*` when it is the max.
pub(crate) fn cell(cell: &Cell, line: &Line) -> String {
    let value = measured(cell.value, line.resolution);
    if cell.is_max {
        format!("{value}*")
    } else {
        value
    }
}

/// The run's headline: what ran, how long, how much failed.
pub(crate) fn headline(summary: &RunSummary) -> String {
    let run = &summary.run;
    format!(
        "{} ({}): {} iterations in {} round{} (+ {} warmup each) at {}, {:.2} s, \
         {:.1} successful iterations/s, {} failed{}",
        printable(&summary.scenario.name),
        printable(&summary.target.name),
        summary.plan.iterations,
        summary.rounds.len(),
        if summary.rounds.len() == 1 { "" } else { "s" },
        summary.plan.warmup,
        match summary.plan.arrival_rate_per_s {
            Some(rate) => format!(
                "an open-loop rate of {rate:.1}/s (at most {} at once)",
                summary.plan.concurrency
            ),
            None => format!("concurrency {}", summary.plan.concurrency),
        },
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

/// Failures, telemetry health and warnings: the lines every format ends a run with.
pub(crate) fn trailer(summary: &RunSummary) -> Vec<String> {
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
pub(crate) fn budget_line(b: &BudgetRow) -> String {
    format!("{:<7} {}", budget_word(b.verdict), budget_detail(b))
}

/// A budget verdict's word.
pub(crate) fn budget_word(verdict: BudgetVerdict) -> &'static str {
    match verdict {
        BudgetVerdict::Held => "held",
        BudgetVerdict::Breached => "BREACH",
        BudgetVerdict::Inconclusive => "unsure",
    }
}

/// A budget's key, limit and actual value.
pub(crate) fn budget_detail(b: &BudgetRow) -> String {
    let actual = match (b.actual_ms, b.low_ms, b.high_ms) {
        (None, ..) => "no samples".to_owned(),
        (Some(a), Some(lo), Some(hi)) => format!("{a} ms, interval [{lo}, {hi}]"),
        (Some(a), ..) => format!("{a} ms"),
    };
    format!(
        "{} {} {} ms (actual {actual})",
        printable(&b.key),
        if b.inclusive { "<=" } else { "<" },
        b.limit_ms,
    )
}

/// The line saying how many phase samples trace spans refined (runs and `ingest`).
pub(crate) fn span_refinement(refined: u64, unrefined: u64) -> String {
    format!(
        "trace spans: {refined} phase samples refined below 1 ms, {unrefined} kept whole \
         milliseconds (span missing or disagreeing)"
    )
}

pub(crate) fn series(row: &StatComparison) -> String {
    printable(&row.key().label())
}

pub(crate) fn gate(row: &StatComparison) -> &'static str {
    if row.primary { "primary" } else { "info" }
}

/// What was compared with what, in one sentence.
pub(crate) fn design(c: &Comparison) -> String {
    match c.design {
        Design::History => format!(
            "the current run ({} rounds) against a baseline history of {} run{}",
            c.current_rounds,
            c.baseline_runs,
            if c.baseline_runs == 1 { "" } else { "s" }
        ),
        Design::Paired => match c.sequential {
            Some(look) => format!(
                "B against A over {} paired rounds, sequential look {} of {} (up to {} \
                 rounds; this look's intervals at {:.2}%, so that all looks together keep \
                 the {:.0}% level)",
                c.current_rounds,
                look.index,
                look.looks,
                look.max_rounds,
                look.confidence * 100.0,
                c.policy.confidence * 100.0
            ),
            None => format!("B against A over {} paired rounds", c.current_rounds),
        },
    }
}

/// The commit a compared side was built from, shortened, or "unknown".
pub(crate) fn commit(r: &crate::stats::compare::RunRef) -> String {
    r.git_commit
        .as_deref()
        .map_or("unknown".to_owned(), |g| g.chars().take(10).collect())
}

/// Each side's build and target: "A: commit 1a2b3c4d5e (builtin 0.1.0); B: commit …".
pub(crate) fn sides(c: &Comparison) -> String {
    let (a, b) = match c.design {
        Design::Paired => ("A", "B"),
        Design::History => ("baseline (newest run)", "current"),
    };
    format!(
        "{a}: commit {} ({} {}); {b}: commit {} ({} {})",
        commit(&c.baseline),
        printable(&c.baseline.target),
        printable(&c.baseline.target_version),
        commit(&c.current),
        printable(&c.current.target),
        printable(&c.current.target_version)
    )
}

/// The interval of a comparison row's change, or `-`.
pub(crate) fn interval(row: &StatComparison) -> String {
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
pub(crate) fn comparison_cells(r: &StatComparison) -> [String; 9] {
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

/// The rows a comparison table shows, as indices into `c.rows`: grouped per series (the
/// series in the order their worst row comes, so what changed is on top), each series' rows
/// in p50, p90, p95, p99 order. Unless `every_row`, informational rows without an interval
/// (a design that cannot judge that percentile) are left out, to be counted by reason.
pub(crate) fn table_order(c: &Comparison, every_row: bool) -> Vec<usize> {
    let stat_rank = |s: &str| {
        QUANTILES
            .iter()
            .position(|(n, _)| *n == s)
            .unwrap_or(usize::MAX)
    };
    let mut series: Vec<(&str, Option<&str>)> = Vec::new();
    for r in &c.rows {
        let key = (r.metric.as_str(), r.status.as_deref());
        if !series.contains(&key) {
            series.push(key);
        }
    }
    let mut shown: Vec<usize> = (0..c.rows.len())
        .filter(|&i| every_row || c.rows[i].primary || c.rows[i].ci_low_ms.is_some())
        .collect();
    shown.sort_by_key(|&i| {
        let r = &c.rows[i];
        let key = (r.metric.as_str(), r.status.as_deref());
        (
            series.iter().position(|k| *k == key),
            stat_rank(&r.statistic),
        )
    });
    shown
}

/// The primary rows the gate judged (Holm's family): "6 primary rows", or, when some had no
/// interval, "3 of the 6 primary rows (the others had no interval)" — the table marks all 6;
/// with the policy's weights when it has any ("3 primary rows (turn_ttft.p50 weighing 2, the
/// others 1)").
pub(crate) fn primary_family(c: &Comparison) -> String {
    let total = c.rows.iter().filter(|r| r.primary).count();
    let family = if c.primary_rows == total {
        format!("{total} primary rows")
    } else {
        format!(
            "{} of the {total} primary rows (the others had no interval)",
            c.primary_rows
        )
    };
    if c.policy.weights.is_empty() {
        return family;
    }
    let weights: Vec<String> = c
        .policy
        .weights
        .iter()
        .map(|(entry, w)| format!("{entry} weighing {w}"))
        .collect();
    format!("{family} ({}, the others 1)", weights.join(", "))
}

/// "FAIL: N primary regressed; all rows: …", "UNDECIDED: N of M primary rows inconclusive; …"
/// or "pass: …".
pub(crate) fn comparison_headline(c: &Comparison) -> String {
    let primary_regressed = c
        .rows
        .iter()
        .filter(|r| r.primary && r.verdict == RowVerdict::Regressed)
        .count();
    let primary = c.rows.iter().filter(|r| r.primary).count();
    let outcome = c.outcome();
    let lead = match outcome {
        Outcome::Undecided => format!(
            "{} of {primary} primary rows inconclusive",
            c.undecided().count()
        ),
        _ => format!("{primary_regressed} primary regressed"),
    };
    format!(
        "{}: {lead}; all rows: {} regressed, {} inconclusive, {} improved, {} unchanged",
        outcome.as_str(),
        c.count(RowVerdict::Regressed),
        c.count(RowVerdict::Inconclusive),
        c.count(RowVerdict::Improved),
        c.count(RowVerdict::Unchanged)
    )
}

/// The critical-path lines of a run: which branch the prewarm finished on, and what the first
/// tokens waited on (share of iterations, p50 and mean of the wait), next to the TTFT p50.
pub(crate) fn critical_path(
    cp: &crate::results::CriticalPath,
    ttft_p50_ms: Option<f64>,
) -> Vec<String> {
    if cp.iterations == 0 {
        return Vec::new();
    }
    let share = |n: u64| 100.0 * n as f64 / cp.iterations as f64;
    let mut out = Vec::new();
    if !cp.prewarm.is_empty() {
        let branches: Vec<String> = cp
            .prewarm
            .iter()
            .map(|b| format!("{} in {:.0}%", printable(&b.branch), share(b.iterations)))
            .collect();
        out.push(format!(
            "critical path ({} iterations): the prewarm finished on {}",
            cp.iterations,
            branches.join(", ")
        ));
    }
    let waits: Vec<String> = cp
        .first_token
        .iter()
        .filter(|w| w.waited_mean_ms > 0.0)
        .map(|w| {
            format!(
                "{} in {:.0}% (p50 {:.3} ms, mean {:.3} ms)",
                printable(&w.cause),
                share(w.iterations),
                w.waited_p50_ms,
                w.waited_mean_ms
            )
        })
        .collect();
    if !waits.is_empty() {
        out.push(format!(
            "the first token{} waited on {}",
            ttft_p50_ms.map_or(String::new(), |p| format!(" (turn_ttft p50 {p:.3} ms)")),
            waits.join("; ")
        ));
    }
    out
}

/// Where a change of the first token comes from: when `turn_ttft` p50 moved (regressed or
/// improved), the startup phase whose p50 moved most in the same direction, else the part of
/// the first token's wait that did (the runtime before the request, the mock, the runtime
/// after the first delta), else "outside the startup phases".
pub(crate) fn difference_source(c: &Comparison) -> Option<String> {
    let ttft = c
        .rows
        .iter()
        .find(|r| r.metric == "turn_ttft" && r.status.is_none() && r.statistic == "p50")?;
    if !matches!(ttft.verdict, RowVerdict::Regressed | RowVerdict::Improved) {
        return None;
    }
    let delta = signed(ttft.delta_ms, ttft.resolution);
    Some(match c.source_of(ttft) {
        Some(Source::Phase(r)) => format!(
            "turn_ttft p50 {delta} ms: the phase that moved most is {} p50 {} ms ({})",
            series(r),
            signed(r.delta_ms, r.resolution),
            r.verdict.as_str()
        ),
        Some(Source::Part(r, place)) => format!(
            "turn_ttft p50 {delta} ms: no startup phase moved by half of it; the change is in \
             {place}: {} p50 {} ms ({})",
            series(r),
            signed(r.delta_ms, r.resolution),
            r.verdict.as_str()
        ),
        None => format!(
            "turn_ttft p50 {delta} ms: no startup phase moved by half of it; the change is in \
             the model response"
        ),
    })
}
