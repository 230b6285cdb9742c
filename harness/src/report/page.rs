//! The HTML page of loaded results: one run, or one side's rounds pooled (each round a whole
//! run, as `ab` and a baseline history keep them), with a baseline's or the other side's
//! pooled distributions and the comparison overlaid. `run`, `report` and `ab` all draw their
//! page here, so an A/B's page describes the whole A/B (every round of both sides), never
//! one child round.

use crate::results::pool::{Pooled, Schedule, pool};
use crate::results::{self, LoadedResult, RunSummary};
use crate::stats::compare::Comparison;

/// `files` as one result: a single run as it is, several pooled one after another with their
/// budgets judged again on the pooled rounds and a note that says what was pooled.
fn pooled(files: &[LoadedResult]) -> (RunSummary, Vec<results::DecodedRound>) {
    if let [only] = files {
        return (only.summary.clone(), only.rounds.clone());
    }
    let Pooled {
        mut summary,
        rounds,
    } = pool(files, Schedule::OneAfterAnother);
    let first = &files[0].summary;
    summary.budgets =
        crate::stats::budget::rejudge(&first.budgets, &rounds, first.policy.confidence);
    summary.warnings.push(format!(
        "pooled from {} result files of {} rounds; the critical path's and the waterfall's \
         times are their files' averaged (weighted by iterations), the overhead table is per \
         file and left out",
        files.len(),
        rounds.len()
    ));
    (summary, rounds)
}

/// The HTML report of `current` (one run, or the rounds of one side of an A/B), with
/// `baseline` (its label, its runs, the comparison) overlaid when given.
pub(crate) fn html(
    current: &[LoadedResult],
    baseline: Option<(&str, &[LoadedResult], &Comparison)>,
) -> Vec<u8> {
    let (summary, rounds) = pooled(current);
    let view = super::RunView::new(&summary, &rounds);
    let merged = results::merge_rounds(&rounds);
    let other = baseline.map(|(label, runs, comparison)| {
        let (summary, rounds) = pooled(runs);
        (label, summary, results::merge_rounds(&rounds), comparison)
    });
    let other_view =
        other.as_ref().map(
            |(label, summary, pooled, comparison)| super::html::BaselineView {
                label,
                summary,
                pooled,
                comparison,
            },
        );
    super::render(
        super::Format::Html,
        super::Document::Pictured(&super::html::Pictured {
            view: &view,
            pooled: &merged,
            baseline: other_view.as_ref(),
        }),
    )
}
