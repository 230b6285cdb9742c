//! `phasebench history` and `bisect` shown: the history as a terminal table (one row per
//! candidate, p50 ms per phase), and the line naming what moved between two candidates.

use crate::stats::compare::Comparison;
use crate::stats::pairings::History;

/// The columns the history table shows (the phases and the client's timings).
pub(crate) const HISTORY_COLUMNS: [&str; 7] = [
    "websocket_connect",
    "startup_prewarm_websocket_warmup",
    "startup_prewarm_build_tools",
    "startup_prewarm_total",
    "turn_ttft",
    "client.process_answer",
    "client.process_exit",
];

/// The history as a terminal table: one row per candidate, p50 ms per column, `-` where the
/// release does not export the phase.
pub(crate) fn history_table(history: &History) -> String {
    let mut out = format!("p50 ms; each release paired with {}\n", history.reference);
    let mut header = vec!["release".to_owned()];
    header.extend(HISTORY_COLUMNS.iter().map(|c| (*c).to_owned()));
    let mut lines = vec![header];
    for row in &history.rows {
        let mut line = vec![crate::report::printable(&row.candidate)];
        for column in HISTORY_COLUMNS {
            let cell = row.cells.iter().find(|c| c.key.metric == column);
            line.push(cell.map_or("-".into(), |c| format!("{:.1}", c.value_ms)));
        }
        lines.push(line);
    }
    let widths: Vec<usize> = (0..lines[0].len())
        .map(|i| {
            lines
                .iter()
                .map(|l| l[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for line in lines {
        let cells: Vec<String> = line
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:>w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// The phase whose p50 moved most between two candidates (in the metric's direction), or the
/// part of the first token's wait that did.
pub(crate) fn moved_phase(comparison: &Comparison, metric: &str) -> Option<String> {
    use crate::stats::compare::Source;
    let changed = comparison
        .rows
        .iter()
        .find(|r| r.metric == metric && r.statistic == "p50")?;
    let delta = changed.delta_ms;
    let phase = comparison.moved_most(changed, |r| {
        r.metric != metric
            && !r.metric.ends_with("_total")
            && !r.metric.starts_with("client.")
            && !r.metric.starts_with("mock.")
    });
    if let Some(phase) = phase {
        return Some(format!(
            "{metric} p50 {delta:+.3} ms; the phase that moved most: {} p50 {:+.3} ms ({})",
            phase.metric,
            phase.delta_ms,
            phase.verdict.as_str()
        ));
    }
    Some(match comparison.source_of(changed) {
        Some(Source::Part(part, place)) => format!(
            "{metric} p50 {delta:+.3} ms; no startup phase moved by half of it; the change \
             is in {place}: {} p50 {:+.3} ms ({})",
            part.metric,
            part.delta_ms,
            part.verdict.as_str()
        ),
        _ => format!(
            "{metric} p50 {delta:+.3} ms; no startup phase moved by half of it (the change \
             is outside the startup phases: the model response, or process start for the \
             client timings)"
        ),
    })
}
