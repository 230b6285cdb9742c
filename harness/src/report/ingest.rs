//! `phasebench ingest` shown in the terminal: the warnings about what could not be read, then
//! the distributions, the span refinement and codex's own aggregated histograms.

use crate::report::terminal::{Terminal, aggregates};
use crate::report::text::span_refinement;
use crate::report::{Document, Exporter, MetricTable, printable};
use crate::results::ingest::IngestSummary;

/// What could not be read, a line each (without the `warning: ` prefix).
pub(crate) fn warnings(summary: &IngestSummary) -> Vec<String> {
    let mut lines = Vec::new();
    for source in &summary.sources {
        for example in &source.malformed_examples {
            lines.push(format!("{}: {}", source.path, printable(example)));
        }
    }
    if summary.malformed_events > 0 {
        lines.push(format!(
            "{} phase events left out as malformed, e.g. {}",
            summary.malformed_events,
            printable(&summary.malformed_event_examples.join("; "))
        ));
    }
    if summary.dropped_samples > 0 {
        lines.push(format!(
            "{} samples of series beyond the first 256 distinct ones were dropped",
            summary.dropped_samples
        ));
    }
    lines
}

/// The distributions and what goes with them, verdict colours when `color`.
pub(crate) fn text(summary: &IngestSummary, color: bool) -> String {
    let mut out = format!(
        "{} threads, {} log records from {} files\n",
        summary.threads,
        summary.log_records,
        summary.sources.len()
    );
    let table = MetricTable::new(&summary.metrics, None, 0.95);
    let bytes = Terminal { color }
        .export(Document::Metrics(&table))
        .expect("the terminal shows every document");
    out.push_str(&String::from_utf8_lossy(&bytes));
    if summary.span_refined_samples + summary.span_unrefined_samples > 0 {
        out.push_str(&span_refinement(
            summary.span_refined_samples,
            summary.span_unrefined_samples,
        ));
        out.push('\n');
    }
    if !summary.metric_histograms.is_empty() {
        out.push_str("\ncodex's own metric histograms (aggregated):\n");
        out.push_str(&aggregates(&summary.metric_histograms));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::ingest::SourceInfo;

    fn summary() -> IngestSummary {
        IngestSummary {
            schema_version: 1,
            sources: vec![SourceInfo {
                path: "logs.json".into(),
                format: "collector-file".into(),
                bodies: 2,
                trace_bodies: 0,
                metric_bodies: 0,
                skipped_lines: 0,
                malformed_lines: 1,
                malformed_examples: vec!["line 3: not JSON \u{1b}[31m".into()],
            }],
            threads: 4,
            log_records: 40,
            malformed_events: 2,
            malformed_event_examples: vec!["a".into(), "b".into()],
            unattributed_events: 0,
            span_refined_samples: 0,
            span_unrefined_samples: 0,
            metrics: Vec::new(),
            metric_histograms: Vec::new(),
            dropped_samples: 7,
        }
    }

    #[test]
    fn warnings_name_the_file_escape_control_characters_and_count_what_was_lost() {
        let lines = warnings(&summary());
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(
            lines[0].starts_with("logs.json: line 3: not JSON "),
            "{lines:?}"
        );
        assert!(
            !lines[0].contains('\u{1b}'),
            "escape codes printed: {lines:?}"
        );
        assert_eq!(lines[1], "2 phase events left out as malformed, e.g. a; b");
        assert!(lines[2].starts_with("7 samples"), "{lines:?}");
    }

    #[test]
    fn the_text_leads_with_what_was_read_and_leaves_out_empty_sections() {
        let shown = text(&summary(), false);
        assert!(
            shown.starts_with("4 threads, 40 log records from 1 files\n"),
            "{shown}"
        );
        assert!(!shown.contains("aggregated"), "{shown}");
        assert!(!shown.contains('\u{1b}'), "coloured without color: {shown}");
    }
}
