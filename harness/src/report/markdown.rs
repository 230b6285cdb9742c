//! Markdown, for a pull request or `$GITHUB_STEP_SUMMARY`: a run's metric table (with its
//! budgets and notes), or a comparison with regressions first, every row with its reason, and
//! the informational rows folded.

use std::fmt::Write;

use crate::stats::compare::{Comparison, RowVerdict, StatComparison};

use super::text::{
    budget_line, cell, commit, comparison_cells, comparison_headline, critical_path, design,
    difference_source, headline, printable, series, trailer,
};
use super::view::{MetricTable, RunView, STATISTICS};
use super::{Document, Exporter, Format, Unsupported};

/// The Markdown format.
pub(crate) struct Markdown;

impl Exporter for Markdown {
    fn format(&self) -> Format {
        Format::Markdown
    }

    fn export(&self, document: Document<'_>) -> Result<Vec<u8>, Unsupported> {
        Ok(match document {
            Document::Run(view) => run(view),
            Document::Metrics(table) => metrics(table),
            Document::Comparison(c) => comparison(c),
            Document::Pictured(_) | Document::Recorded(_) => {
                return Err(self.unsupported(document));
            }
        }
        .into_bytes())
    }
}

/// Text safe inside inline code in a table cell: printable, no `|`, no backtick to end the
/// span early.
fn code(text: &str) -> String {
    printable(text).replace('|', "\\|").replace('`', "'")
}

/// Text safe outside code: [`code`]'s rules, and no HTML (`<img src=…>` is shown, not
/// rendered) since names and reasons come from files and telemetry.
fn escaped(text: &str) -> String {
    code(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn metrics(table: &MetricTable) -> String {
    let mut out = String::from("| series | count | errors |");
    let mut rule = String::from("|---|---:|---:|");
    for (name, _) in STATISTICS {
        let _ = write!(out, " {name} ms |");
        rule.push_str("---:|");
    }
    let _ = writeln!(out, " resolution |\n{rule}---|");
    for l in &table.lines {
        let _ = write!(
            out,
            "| `{}` | {} | {} |",
            code(&l.series()),
            l.count,
            l.errors
        );
        for c in &l.cells {
            let _ = write!(out, " {} |", cell(c, l));
        }
        let _ = writeln!(out, " {} |", l.resolution.map_or("-", |r| r.step()));
    }
    for note in &table.notes {
        let _ = writeln!(out, "\n{}", note.replacen('*', "\\*", 1));
    }
    out
}

fn run(view: &RunView<'_>) -> String {
    let summary = view.summary;
    let mut out = format!("### phasebench `{}`\n\n", code(&summary.scenario.name));
    let _ = writeln!(out, "{}\n", escaped(&headline(summary)));
    out.push_str(&metrics(&view.table));
    let critical = critical_path(&summary.critical_path, view.table.p50_of("turn_ttft"));
    if !critical.is_empty() {
        out.push('\n');
        for line in critical {
            let _ = writeln!(out, "- {}", escaped(&line));
        }
    }
    if !summary.budgets.is_empty() {
        out.push_str("\n**Budgets** (judged on their interval):\n\n");
        for b in &summary.budgets {
            let _ = writeln!(out, "- {}", escaped(&budget_line(b)).replace("  ", " "));
        }
    }
    let trailer = trailer(summary);
    if !trailer.is_empty() {
        out.push('\n');
        for line in trailer {
            let _ = writeln!(out, "- {}", escaped(line.trim_start()));
        }
    }
    out
}

fn comparison_row(r: &StatComparison) -> String {
    let mut cells = comparison_cells(r);
    if r.primary && r.verdict == RowVerdict::Regressed {
        cells[8] = format!("**{}**", cells[8]);
    }
    format!(
        "| `{}` | {} | {} |\n",
        code(&series(r)),
        cells.join(" | "),
        escaped(&r.reason)
    )
}

const COMPARISON_HEADER: &str = "| series | stat | gate | baseline ms | current ms | Δ ms | Δ | CI of Δ ms | threshold ms | verdict | why |\n\
                                 |---|---|---|---:|---:|---:|---:|---|---:|---|---|\n";

fn comparison(c: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### phasebench `{}`: {}\n",
        code(&c.current.scenario),
        comparison_headline(c)
    );
    let undecided = c.undecided_reasons();
    if !undecided.is_empty() {
        out.push_str(
            "**Undecided**: the gate could not judge these, so this is not a pass; what would \
             decide each:\n\n",
        );
        for reason in &undecided {
            let _ = writeln!(out, "- {}", escaped(reason));
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "Baseline `{}` ({} {}), current `{}` ({} {}): {}. {:.0}% intervals of current − baseline with the run as the unit; \
         a change counts when its interval lies beyond max({:.0}% of baseline, {} ms, the resolution), \
         and only the {} can fail (Holm's correction over them).{}\n",
        commit(&c.baseline),
        code(&c.baseline.target),
        escaped(&c.baseline.target_version),
        commit(&c.current),
        code(&c.current.target),
        escaped(&c.current.target_version),
        design(c),
        c.policy.confidence * 100.0,
        c.policy.relative_threshold * 100.0,
        c.policy.absolute_threshold_ms,
        super::text::primary_family(c),
        if c.policy_source.is_empty() {
            String::new()
        } else {
            format!(" Gate from {}.", escaped(&c.policy_source))
        }
    );
    if !c.side_settings.is_empty() {
        let settings: Vec<String> = c.side_settings.iter().map(|s| code(s)).collect();
        let _ = writeln!(out, "Sides set apart by: {}.\n", settings.join(", "));
    }
    for m in &c.mismatches {
        let _ = writeln!(out, "> **Warning:** compared although {}.\n", escaped(m));
    }
    if let Some(source) = difference_source(c) {
        let _ = writeln!(out, "{}\n", escaped(&source));
    }
    if !c.budgets.is_empty() {
        out.push_str("**Budgets** (judged on their interval):\n\n");
        for b in &c.budgets {
            let _ = writeln!(out, "- {}", escaped(&budget_line(b)).replace("  ", " "));
        }
        out.push('\n');
    }
    // Grouped per series, p50 to p99 (what changed first), every row.
    let ordered: Vec<&StatComparison> = super::text::table_order(c, true)
        .into_iter()
        .map(|i| &c.rows[i])
        .collect();
    let primary: Vec<&StatComparison> = ordered.iter().copied().filter(|r| r.primary).collect();
    if !primary.is_empty() {
        out.push_str("**Primary rows** (these can fail the gate):\n\n");
        out.push_str(COMPARISON_HEADER);
        for r in primary {
            out.push_str(&comparison_row(r));
        }
        out.push('\n');
    }
    let informational: Vec<&StatComparison> =
        ordered.iter().copied().filter(|r| !r.primary).collect();
    if !informational.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>{} informational rows (never fail)</summary>\n",
            informational.len()
        );
        out.push_str(COMPARISON_HEADER);
        for r in informational {
            out.push_str(&comparison_row(r));
        }
        out.push_str("\n</details>\n");
    }
    for u in &c.unmatched {
        let _ = writeln!(out, "- note: {}", escaped(u));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_end_their_code_span_or_render_html() {
        let name = "x`<img src=y>|# h";
        assert_eq!(code(name), "x'<img src=y>\\|# h");
        assert_eq!(escaped(name), "x'&lt;img src=y&gt;\\|# h");
        assert_eq!(escaped("a & b"), "a &amp; b");
    }
}
