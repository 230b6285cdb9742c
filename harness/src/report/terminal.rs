//! The terminal report: aligned tables of the metric rows, the overhead table, budgets,
//! failures and warnings for a run; the verdict table for a comparison. With colour (the CLI's
//! `--color`, off under `NO_COLOR` or when not a terminal), verdicts are painted: regressed
//! and breached red, improved and held green, inconclusive yellow; nothing else changes, so
//! the plain text is the coloured text without its escape sequences.

use std::fmt::Write;

use crate::results::{BudgetRow, BudgetVerdict};
use crate::stats::compare::{Comparison, Outcome, RowVerdict};
use crate::telemetry::metrics::AggregatedMetric;

use super::number::{derived, measured};
use super::text::{
    budget_detail, budget_word, cell, comparison_cells, comparison_headline, critical_path, design,
    difference_source, headline, printable, series, sides, trailer,
};
use super::view::{MetricTable, RunView, STATISTICS};
use super::{Document, Exporter, Format, Unsupported};

/// The terminal format, with or without colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Terminal {
    pub color: bool,
}

impl Terminal {
    pub(crate) const PLAIN: Terminal = Terminal { color: false };
}

impl Exporter for Terminal {
    fn format(&self) -> Format {
        Format::Terminal
    }

    fn export(&self, document: Document<'_>) -> Result<Vec<u8>, Unsupported> {
        let paint = Paint(self.color);
        Ok(match document {
            Document::Run(view) => run(view, paint),
            Document::Metrics(table) => metrics(table),
            Document::Comparison(c) => comparison(c, paint),
            Document::Pictured(_) | Document::Recorded(_) => {
                return Err(self.unsupported(document));
            }
        }
        .into_bytes())
    }
}

/// ANSI SGR colours, or none.
#[derive(Clone, Copy)]
struct Paint(bool);

const RED: &str = "1;31";
const GREEN: &str = "32";
const YELLOW: &str = "33";

impl Paint {
    fn with(self, code: Option<&str>, text: &str) -> String {
        match code {
            Some(code) if self.0 => format!("\x1b[{code}m{text}\x1b[0m"),
            _ => text.to_owned(),
        }
    }

    fn verdict(self, verdict: RowVerdict, text: &str) -> String {
        let code = match verdict {
            RowVerdict::Regressed => Some(RED),
            RowVerdict::Improved => Some(GREEN),
            RowVerdict::Inconclusive => Some(YELLOW),
            RowVerdict::Unchanged => None,
        };
        self.with(code, text)
    }

    /// A budget's line, its verdict word painted.
    fn budget(self, b: &BudgetRow) -> String {
        let code = match b.verdict {
            BudgetVerdict::Breached => RED,
            BudgetVerdict::Held => GREEN,
            BudgetVerdict::Inconclusive => YELLOW,
        };
        let word = budget_word(b.verdict);
        // Padded before painting, so the columns line up either way.
        let padded = format!("{word:<7}");
        format!("{} {}", self.with(Some(code), &padded), budget_detail(b))
    }
}

/// How a column is aligned.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    Left,
    Right,
}

/// Renders rows under headers, each column as wide as its widest cell.
pub(crate) fn grid(headers: &[(&str, Align)], rows: &[Vec<String>], out: &mut String) {
    grid_painted(headers, rows, out, |_, text| text.to_owned());
}

/// [`grid`], each row's last cell passed through `paint` (with the row's index) after the
/// widths are measured, so escape sequences do not count as width.
fn grid_painted(
    headers: &[(&str, Align)],
    rows: &[Vec<String>],
    out: &mut String,
    paint: impl Fn(usize, &str) -> String,
) {
    let mut widths: Vec<usize> = headers.iter().map(|(h, _)| h.chars().count()).collect();
    for row in rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut line = |cells: Vec<&str>, row: Option<usize>| {
        let mut s = String::new();
        let last = cells.len().saturating_sub(1);
        for (i, ((c, w), (_, align))) in cells.iter().zip(&widths).zip(headers).enumerate() {
            if i == last
                && let Some(row) = row
            {
                // The last cell ends the line: no trailing padding, so painting it keeps
                // the alignment.
                let aligned = match align {
                    Align::Left => (*c).to_owned(),
                    Align::Right => format!("{c:>w$}"),
                };
                s.push_str(&paint(row, &aligned));
                break;
            }
            let _ = match align {
                Align::Left => write!(s, "{c:<w$}  "),
                Align::Right => write!(s, "{c:>w$}  "),
            };
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    line(headers.iter().map(|(h, _)| *h).collect(), None);
    for (i, row) in rows.iter().enumerate() {
        line(row.iter().map(String::as_str).collect(), Some(i));
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
                printable(&l.key.metric),
                l.key
                    .status
                    .as_deref()
                    .map_or_else(|| "-".into(), printable),
                l.count.to_string(),
                l.errors.to_string(),
            ];
            row.extend(l.cells.iter().map(|c| cell(c, l)));
            row.push(l.resolution.map_or("-", |r| r.step()).to_owned());
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
pub(crate) fn aggregates(aggregates: &[AggregatedMetric]) -> String {
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

fn run(view: &RunView<'_>, paint: Paint) -> String {
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
                    o.overhead_jitter_ms
                        .map_or_else(|| "-".to_owned(), |j| derived(j, None)),
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
                ("jitter p90-p10", Right),
                ("overhead p99", Right),
                ("overhead max", Right),
                ("below", Right),
            ],
            &rows,
            &mut out,
        );
    }
    let critical = critical_path(&summary.critical_path, view.table.p50_of("turn_ttft"));
    if !critical.is_empty() {
        out.push('\n');
        for line in critical {
            let _ = writeln!(out, "{line}");
        }
    }
    if !summary.budgets.is_empty() {
        out.push_str("\nbudgets:\n");
        for b in &summary.budgets {
            let _ = writeln!(out, "  {}", paint.budget(b));
        }
    }
    for line in trailer(summary) {
        let _ = writeln!(out, "{line}");
    }
    out
}

fn comparison(c: &Comparison, paint: Paint) -> String {
    use Align::{Left, Right};
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} vs baseline {}: {}",
        printable(&c.current.scenario),
        printable(&c.baseline.path),
        paint.with(
            Some(match c.outcome() {
                Outcome::Fail => RED,
                Outcome::Undecided => YELLOW,
                Outcome::Pass => GREEN,
            }),
            &comparison_headline(c)
        )
    );
    let _ = writeln!(
        out,
        "{}; {} can fail the gate (Holm), the others are informational{}",
        design(c),
        super::text::primary_family(c),
        policy_source(c)
    );
    let _ = writeln!(out, "{}", sides(c));
    if !c.side_settings.is_empty() {
        let _ = writeln!(
            out,
            "sides set apart by: {}",
            printable(&c.side_settings.join(", "))
        );
    }
    for m in &c.mismatches {
        let _ = writeln!(out, "warning: compared although {}", printable(m));
    }
    // What changed leads: every primary row that is not unchanged, with why.
    for r in c
        .rows
        .iter()
        .filter(|r| r.primary && r.verdict != RowVerdict::Unchanged)
    {
        let _ = writeln!(
            out,
            "{} {} {}: {}{}",
            paint.verdict(r.verdict, r.verdict.as_str()),
            series(r),
            r.statistic,
            r.reason,
            r.to_decide
                .as_deref()
                .map_or(String::new(), |fix| format!("; to decide: {fix}"))
        );
    }
    let shown = super::text::table_order(c, false);
    let rows: Vec<Vec<String>> = shown
        .iter()
        .map(|&i| {
            let r = &c.rows[i];
            let mut row = vec![series(r)];
            row.extend(comparison_cells(r));
            row
        })
        .collect();
    grid_painted(
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
        |i, text| paint.verdict(c.rows[shown[i]].verdict, text),
    );
    for u in &c.unmatched {
        let _ = writeln!(out, "note: {}", printable(u));
    }
    for b in &c.budgets {
        let _ = writeln!(out, "budget  {}", paint.budget(b));
    }
    if let Some(source) = difference_source(c) {
        let _ = writeln!(out, "{source}");
    }
    // The informational rows without an interval are left out of the table and counted here
    // by reason (with the fix); the others' interval and threshold are their reason. The
    // Markdown, CSV and JSON give every row's.
    // Each group with the fix its first row names (the rows of a group need the same).
    let mut grouped: Vec<(String, usize, Option<&str>)> = Vec::new();
    for r in c
        .rows
        .iter()
        .filter(|r| !r.primary && r.ci_low_ms.is_none())
    {
        let why = format!("{}: {}", r.verdict.as_str(), r.reason);
        match grouped.iter_mut().find(|(w, ..)| *w == why) {
            Some((_, n, _)) => *n += 1,
            None => grouped.push((why, 1, r.to_decide.as_deref())),
        }
    }
    for (why, n, fix) in grouped {
        let _ = writeln!(
            out,
            "{n} informational row{} {why} (not in the table){}",
            if n == 1 { "" } else { "s" },
            fix.map_or(String::new(), |fix| format!("; to decide: {fix}"))
        );
    }
    out
}

/// "; gate from the scenario x.toml", when the comparison says where its policy came from.
fn policy_source(c: &Comparison) -> String {
    if c.policy_source.is_empty() {
        String::new()
    } else {
        format!("; gate from {}", printable(&c.policy_source))
    }
}
