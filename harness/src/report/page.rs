//! The HTML page of loaded results: one run, or one side's rounds pooled (each round a whole
//! run), with a baseline's or the other side's pooled distributions and the comparison
//! overlaid. `run`, `report` and `ab` all draw their page here.

use crate::results::{self, LoadedResult};
use crate::stats::compare::Comparison;

/// The HTML report of `current` (one run, or the rounds of one side of an A/B), with
/// `baseline` (its label, its runs, the comparison) overlaid when given.
pub(crate) fn html(
    current: &[LoadedResult],
    baseline: Option<(&str, &[LoadedResult], &Comparison)>,
) -> Vec<u8> {
    let first = &current[0];
    let pooled = results::merge_rounds(current.iter().map(|r| &r.pooled));
    let view = if current.len() == 1 {
        super::RunView::new(&first.summary, &first.rounds)
    } else {
        // One side's rounds, each a whole run: rows pooled across them.
        let rows: Vec<results::MetricRow> = first
            .summary
            .metrics
            .iter()
            .filter_map(|row| {
                let key = crate::model::series::MetricKey {
                    metric: row.metric.clone(),
                    status: row.status.clone(),
                };
                let series = pooled.get(&key)?;
                Some(results::summarize::metric_row(
                    &row.metric,
                    row.status.as_deref(),
                    series,
                ))
            })
            .collect();
        super::RunView {
            summary: &first.summary,
            table: super::MetricTable::new(&rows, None, first.summary.policy.confidence),
        }
    };
    let other_pooled =
        baseline.map(|(_, runs, _)| results::merge_rounds(runs.iter().map(|r| &r.pooled)));
    let other = match (baseline, &other_pooled) {
        (Some((label, _, comparison)), Some(pooled)) => Some(super::html::BaselineView {
            label,
            pooled,
            comparison,
        }),
        _ => None,
    };
    super::render(
        super::Format::Html,
        super::Document::Pictured(&super::html::Pictured {
            view: &view,
            pooled: &pooled,
            baseline: other.as_ref(),
        }),
    )
}
