//! Rendering a [`Comparison`]: the terminal verdict table, Markdown for a pull request (fits
//! `$GITHUB_STEP_SUMMARY`; regressions first, unchanged rows folded), and JSON.

use std::fmt::Write;

use crate::stats::compare::{Comparison, StatComparison, Verdict};

use super::table::{budget_line, printable};

fn series(row: &StatComparison) -> String {
    match &row.status {
        Some(s) => printable(&format!("{}[{s}]", row.metric)),
        None => printable(&row.metric),
    }
}

fn gate(row: &StatComparison) -> &'static str {
    if row.primary { "primary" } else { "info" }
}

/// What was compared with what, in one sentence.
fn design(c: &Comparison) -> String {
    match c.design {
        crate::stats::compare::Design::History => format!(
            "the current run ({} rounds) against a baseline history of {} run{}",
            c.current_rounds,
            c.baseline_runs,
            if c.baseline_runs == 1 { "" } else { "s" }
        ),
        crate::stats::compare::Design::Paired => {
            format!("B against A over {} paired rounds", c.current_rounds)
        }
    }
}

fn signed(v: f64) -> String {
    format!("{v:+.3}")
}

fn interval(row: &StatComparison) -> String {
    match (row.ci_low_ms, row.ci_high_ms) {
        (Some(lo), Some(hi)) => format!("[{}, {}]", signed(lo), signed(hi)),
        _ => "-".to_owned(),
    }
}

fn pct(v: Option<f64>) -> String {
    v.map_or("-".into(), |p| format!("{:+.1}%", p * 100.0))
}

fn headline(c: &Comparison) -> String {
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

/// The terminal table.
pub fn render_terminal(c: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} vs baseline {}: {}",
        printable(&c.current.scenario),
        printable(&c.baseline.path),
        headline(c)
    );
    let _ = writeln!(
        out,
        "{}; {} primary rows can fail the gate (Holm), the others are informational",
        design(c),
        c.primary_rows
    );
    for m in &c.mismatches {
        let _ = writeln!(out, "warning: compared although {m}");
    }
    let headers = [
        "series",
        "stat",
        "gate",
        "baseline ms",
        "current ms",
        "delta ms",
        "delta",
        "CI of delta ms",
        "threshold",
        "verdict",
    ];
    let rows: Vec<[String; 10]> = c
        .rows
        .iter()
        .map(|r| {
            [
                series(r),
                r.statistic.clone(),
                gate(r).to_owned(),
                format!("{:.3}", r.baseline_ms),
                format!("{:.3}", r.current_ms),
                signed(r.delta_ms),
                pct(r.delta_pct),
                interval(r),
                format!("{:.3}", r.threshold_ms),
                r.verdict.as_str().to_owned(),
            ]
        })
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let mut line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i < 3 || i == 9 {
                let _ = write!(s, "{cell:<w$}  ");
            } else {
                let _ = write!(s, "{cell:>w$}  ");
            }
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    line(headers.to_vec());
    for row in &rows {
        line(row.iter().map(String::as_str).collect());
    }
    for u in &c.unmatched {
        let _ = writeln!(out, "note: {u}");
    }
    for b in &c.budgets {
        let _ = writeln!(out, "budget{}", budget_line(b));
    }
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
    out
}

fn markdown_row(r: &StatComparison) -> String {
    let verdict = match r.verdict {
        Verdict::Regressed if r.primary => "**regressed**".to_owned(),
        v => v.as_str().to_owned(),
    };
    format!(
        "| `{}` | {} | {} | {:.3} | {:.3} | {} | {} | {} | {:.3} | {} | {} |\n",
        series(r).replace('|', "\\|").replace('`', "'"),
        r.statistic,
        gate(r),
        r.baseline_ms,
        r.current_ms,
        signed(r.delta_ms),
        pct(r.delta_pct),
        interval(r),
        r.threshold_ms,
        verdict,
        r.reason.replace('|', "\\|")
    )
}

const MARKDOWN_HEADER: &str = "| series | stat | gate | baseline ms | current ms | Δ ms | Δ | CI of Δ ms | threshold ms | verdict | why |\n\
                               |---|---|---|---:|---:|---:|---:|---|---:|---|---|\n";

/// Markdown for a pull request.
pub fn render_markdown(c: &Comparison) -> String {
    let mut out = String::new();
    let mark = if c.regressed() || c.budgets_breached() {
        "FAIL"
    } else {
        "pass"
    };
    let _ = writeln!(
        out,
        "### phasebench `{}`: {mark} ({})\n",
        printable(&c.current.scenario).replace('`', "'"),
        headline(c)
    );
    let commit = |r: &crate::stats::compare::RunRef| {
        r.git_commit
            .as_deref()
            .map_or("unknown".to_owned(), |g| g.chars().take(10).collect())
    };
    let _ = writeln!(
        out,
        "Baseline `{}` ({} {}), current `{}` ({} {}): {}. {:.0}% intervals of current − baseline with the run as the unit; \
         a change counts when its interval lies beyond max({:.0}% of baseline, {} ms, the resolution), \
         and only the {} primary rows can fail (Holm's correction over them).\n",
        commit(&c.baseline),
        c.baseline.target,
        c.baseline.target_version,
        commit(&c.current),
        c.current.target,
        c.current.target_version,
        design(c),
        c.policy.confidence * 100.0,
        c.policy.relative_threshold * 100.0,
        c.policy.absolute_threshold_ms,
        c.primary_rows
    );
    for m in &c.mismatches {
        let _ = writeln!(out, "> **Warning:** compared although {m}.\n");
    }
    if !c.budgets.is_empty() {
        out.push_str("**Budgets** (judged on their interval):\n\n");
        for b in &c.budgets {
            let _ = writeln!(
                out,
                "-{}",
                budget_line(b).trim_start_matches(' ').replace("  ", " ")
            );
        }
        out.push('\n');
    }
    let primary: Vec<&StatComparison> = c.rows.iter().filter(|r| r.primary).collect();
    if !primary.is_empty() {
        out.push_str("**Primary rows** (these can fail the gate):\n\n");
        out.push_str(MARKDOWN_HEADER);
        for r in primary {
            out.push_str(&markdown_row(r));
        }
        out.push('\n');
    }
    let informational: Vec<&StatComparison> = c.rows.iter().filter(|r| !r.primary).collect();
    if !informational.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>{} informational rows (never fail)</summary>\n",
            informational.len()
        );
        out.push_str(MARKDOWN_HEADER);
        for r in informational {
            out.push_str(&markdown_row(r));
        }
        out.push_str("\n</details>\n");
    }
    for u in &c.unmatched {
        let _ = writeln!(out, "- note: {u}");
    }
    out
}
