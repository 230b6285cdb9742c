//! `phasebench baseline save`: result files, each checked (a design that can be judged
//! against, budgets judged again from the histograms), added to a baseline history.

use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::results::{self, LoadedResult, history};
use crate::stats::{self, design};

/// Adds result files (each checked) to the baseline history `DIR/<name>.json`.
pub fn save(
    results: &[PathBuf],
    dir: &Path,
    name: Option<&str>,
    keep: Option<usize>,
) -> Result<history::Saved, Error> {
    let mut loaded: Vec<LoadedResult> = results
        .iter()
        .map(|p| results::load_result(p))
        .collect::<Result<_, _>>()?;
    // A bad name is refused first: it is the cheaper mistake to name.
    if let Some(first) = loaded.first() {
        history::check_name(name.unwrap_or(&first.summary.scenario.name))?;
    }
    for result in &mut loaded {
        design::check_result(result).map_err(Error::NotABaseline)?;
        // Stored as judged again from the histograms, not as the file said.
        result.summary.budgets = stats::budget::rejudge(
            &result.summary.budgets,
            &result.rounds,
            result.summary.policy.confidence,
        );
    }
    Ok(history::save(&loaded, dir, name, keep)?)
}
