//! `phasebench report RESULT [--baseline B]`: the HTML report of a result file, against a
//! baseline when given (the comparison judged again from the files), else with its budgets
//! judged again from its histograms, never as stored.

use std::path::Path;

use super::compare::{ComparisonOutputs, compare_and_write};
use crate::error::Error;
use crate::report;
use crate::results::{self, history};
use crate::stats::{self, compare::Comparison};
use crate::sys::output;

/// Writes the report of `result` (against `baseline` when given) where `outputs` asks.
pub fn execute(
    result: &Path,
    baseline: Option<&Path>,
    outputs: &ComparisonOutputs,
) -> Result<Option<Comparison>, Error> {
    output::check_all(outputs.destinations()).map_err(Error::OutputPath)?;
    let current = results::load_result(result)?;
    match baseline {
        Some(path) => {
            let history = history::load(path)?;
            Ok(Some(compare_and_write(
                &current,
                &history.runs,
                outputs,
                None,
            )?))
        }
        None => {
            // The budgets' verdicts judged again from the histograms, never as stored.
            let mut current = current;
            current.summary.budgets = stats::budget::rejudge(
                &current.summary.budgets,
                &current.rounds,
                current.summary.policy.confidence,
            );
            if let Some(out) = &outputs.html {
                out.write(&report::page::html(std::slice::from_ref(&current), None))?;
            }
            Ok(None)
        }
    }
}
