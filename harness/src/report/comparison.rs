//! Rendering a [`Comparison`]: the terminal verdict table, Markdown for a pull request (fits
//! `$GITHUB_STEP_SUMMARY`; regressions first, unchanged rows folded), and JSON.

use std::fmt::Write;

use crate::compare::{Comparison, StatComparison, Verdict};

fn series(row: &StatComparison) -> String {
    match &row.status {
        Some(s) => format!("{}[{s}]", row.metric),
        None => row.metric.clone(),
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
    format!(
        "{} regressed, {} inconclusive, {} improved, {} unchanged",
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
        c.current.scenario,
        c.baseline.path,
        headline(c)
    );
    for m in &c.mismatches {
        let _ = writeln!(out, "warning: compared although {m}");
    }
    let headers = [
        "series",
        "stat",
        "baseline ms",
        "current ms",
        "delta ms",
        "delta",
        "CI of delta ms",
        "threshold",
        "verdict",
    ];
    let rows: Vec<[String; 9]> = c
        .rows
        .iter()
        .map(|r| {
            [
                series(r),
                r.statistic.clone(),
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
            if i < 2 || i == 8 {
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
    for b in c.budgets.iter().filter(|b| !b.passed) {
        let _ = writeln!(
            out,
            "BUDGET BREACH: {} {} {} ms (actual {})",
            b.key,
            if b.inclusive { "<=" } else { "<" },
            b.limit_ms,
            b.actual_ms
                .map_or("no samples".into(), |a| format!("{a} ms"))
        );
    }
    for r in c.rows.iter().filter(|r| r.verdict == Verdict::Inconclusive) {
        let _ = writeln!(
            out,
            "inconclusive {} {}: {}",
            series(r),
            r.statistic,
            r.reason
        );
    }
    out
}

fn markdown_row(r: &StatComparison) -> String {
    let verdict = match r.verdict {
        Verdict::Regressed => "**regressed**".to_owned(),
        v => v.as_str().to_owned(),
    };
    format!(
        "| `{}` | {} | {:.3} | {:.3} | {} | {} | {} | {:.3} | {} |\n",
        series(r),
        r.statistic,
        r.baseline_ms,
        r.current_ms,
        signed(r.delta_ms),
        pct(r.delta_pct),
        interval(r),
        r.threshold_ms,
        verdict
    )
}

const MARKDOWN_HEADER: &str = "| series | stat | baseline ms | current ms | Δ ms | Δ | CI of Δ ms | threshold ms | verdict |\n\
                               |---|---|---:|---:|---:|---:|---|---:|---|\n";

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
        c.current.scenario,
        headline(c)
    );
    let commit = |r: &crate::compare::RunRef| {
        r.git_commit
            .as_deref()
            .map_or("unknown".to_owned(), |g| g.chars().take(10).collect())
    };
    let _ = writeln!(
        out,
        "Baseline `{}` ({} {}), current `{}` ({} {}). {:.0}% bootstrap intervals of current − baseline ({} resamples); \
         a change counts when its interval lies beyond max({:.0}% of baseline, {} ms).\n",
        commit(&c.baseline),
        c.baseline.target,
        c.baseline.target_version,
        commit(&c.current),
        c.current.target,
        c.current.target_version,
        c.policy.confidence * 100.0,
        c.bootstrap_resamples,
        c.policy.relative_threshold * 100.0,
        c.policy.absolute_threshold_ms
    );
    for m in &c.mismatches {
        let _ = writeln!(out, "> **Warning:** compared although {m}.\n");
    }
    let breached: Vec<_> = c.budgets.iter().filter(|b| !b.passed).collect();
    if !breached.is_empty() {
        out.push_str("**Budget breaches:**\n\n");
        for b in breached {
            let _ = writeln!(
                out,
                "- `{}` {} {} ms: actual {}",
                b.key,
                if b.inclusive { "<=" } else { "<" },
                b.limit_ms,
                b.actual_ms
                    .map_or("no samples".into(), |a| format!("{a} ms"))
            );
        }
        out.push('\n');
    }
    let shown: Vec<&StatComparison> = c
        .rows
        .iter()
        .filter(|r| r.verdict != Verdict::Unchanged)
        .collect();
    if !shown.is_empty() {
        out.push_str(MARKDOWN_HEADER);
        for r in shown {
            out.push_str(&markdown_row(r));
        }
        out.push('\n');
    }
    let unchanged: Vec<&StatComparison> = c
        .rows
        .iter()
        .filter(|r| r.verdict == Verdict::Unchanged)
        .collect();
    if !unchanged.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>{} unchanged</summary>\n",
            unchanged.len()
        );
        out.push_str(MARKDOWN_HEADER);
        for r in unchanged {
            out.push_str(&markdown_row(r));
        }
        out.push_str("\n</details>\n");
    }
    for u in &c.unmatched {
        let _ = writeln!(out, "- note: {u}");
    }
    out
}
