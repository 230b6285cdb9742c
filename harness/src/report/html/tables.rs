//! The HTML report's tables of numbers: the percentile summary (every series at p50 … max,
//! the same cells and `*` marks as the terminal's table) and the harness's own overhead
//! (measured − injected per phase), so a page answers "how fast, and how much of it is the
//! harness" without its plots.

use std::fmt::Write;

use crate::report::number::derived;
use crate::report::text::cell;
use crate::report::view::{MetricTable, STATISTICS};
use crate::results::OverheadRow;

use super::esc;

/// Every series of the run: count, errors, p50, p90, p95, p99, max, resolution.
pub(super) fn percentiles(table: &MetricTable) -> String {
    let mut out = String::from(
        "<table class=\"percentiles\"><tr><th>series</th><th>count</th><th>errors</th>",
    );
    for (name, _) in STATISTICS {
        let _ = write!(out, "<th>{name} ms</th>");
    }
    out.push_str("<th>resolution</th></tr>");
    for line in &table.lines {
        let key = &line.key;
        let _ = write!(
            out,
            "<tr data-series=\"{}\"><td>{}</td><td>{}</td><td>{}</td>",
            esc(&key.label()),
            esc(&key.label()),
            line.count,
            line.errors
        );
        for c in &line.cells {
            let _ = write!(out, "<td>{}</td>", esc(&cell(c, line)));
        }
        let _ = write!(
            out,
            "<td>{}</td></tr>",
            line.resolution.map_or("-", |r| r.step())
        );
    }
    out.push_str("</table>");
    out
}

/// Each phase beside the delay injected into it, over clean iterations.
pub(super) fn overhead(rows: &[OverheadRow]) -> String {
    let mut out = String::from(
        "<table class=\"overhead\"><tr><th>phase</th><th>count</th><th>injected p50 ms</th>\
         <th>overhead p50 ms</th><th>jitter p90−p10 ms</th><th>overhead p99 ms</th><th>overhead max ms</th>\
         <th>below injected</th></tr>",
    );
    for o in rows {
        let _ = write!(
            out,
            "<tr data-metric=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&o.metric),
            esc(&o.metric),
            o.count,
            derived(o.injected_p50_ms, None),
            derived(o.overhead_p50_ms, None),
            o.overhead_jitter_ms
                .map_or_else(|| "-".to_owned(), |j| derived(j, None)),
            derived(o.overhead_p99_ms, None),
            derived(o.overhead_max_ms, None),
            o.below_injected
        );
    }
    out.push_str("</table>");
    out
}
