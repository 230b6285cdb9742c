//! `phasebench compare CURRENT BASELINE`, and the comparison's outputs that `run`, `report`
//! and `ab` share: a result judged against a baseline (a history, or one result file) and
//! written as JSON, Markdown and HTML where asked.

use std::path::Path;

use crate::error::{Error, GateVerdict};
use crate::report::{self, render};
use crate::results::history;
use crate::results::{self, LoadedResult};
use crate::scenario::{OnUndecided, Scenario};
use crate::stats;
use crate::stats::compare::{CompareOptions, Comparison};
use crate::sys::output::{self, Destination};

/// Where a comparison goes besides the terminal.
#[derive(Debug, Clone, Default)]
pub struct ComparisonOutputs {
    pub json: Option<Destination>,
    pub markdown: Option<Destination>,
    /// Append the Markdown instead of replacing the file (for `$GITHUB_STEP_SUMMARY`).
    pub append_markdown: bool,
    /// The HTML report (of the run alone when there is no baseline).
    pub html: Option<Destination>,
    pub allow_mismatch: bool,
    /// What an undecided comparison exits with, overriding the policy's `[gate] undecided`.
    pub undecided: Option<OnUndecided>,
}

impl ComparisonOutputs {
    /// Every file the comparison will write.
    pub fn destinations(&self) -> impl Iterator<Item = &Destination> {
        self.json.iter().chain(&self.markdown).chain(&self.html)
    }
}

/// Judges `current` against `history` and writes the comparison where `outputs` asks.
pub(crate) fn compare_and_write(
    current: &LoadedResult,
    history: &[LoadedResult],
    outputs: &ComparisonOutputs,
    judging: Option<stats::compare::Judging>,
) -> Result<Comparison, Error> {
    let options = CompareOptions {
        allow_mismatch: outputs.allow_mismatch,
        look: None,
        judging,
    };
    let comparison = stats::compare::against_baseline(current, history, &options)?;
    write_comparison(&comparison, outputs)?;
    if let Some(out) = &outputs.html {
        out.write(&report::page::html(
            std::slice::from_ref(current),
            Some(("baseline", history, &comparison)),
        ))?;
    }
    Ok(comparison)
}

/// Writes a comparison's JSON and Markdown where asked.
pub(crate) fn write_comparison(
    comparison: &Comparison,
    outputs: &ComparisonOutputs,
) -> Result<(), Error> {
    let document = report::Document::Comparison(comparison);
    if let Some(out) = &outputs.json {
        out.write(&render(report::Format::Json, document))?;
    }
    if let Some(out) = &outputs.markdown {
        write_markdown(
            out,
            render(report::Format::Markdown, document),
            outputs.append_markdown,
        )?;
    }
    Ok(())
}

/// Writes Markdown to `out`, or appends it (with a blank line) when asked.
pub(crate) fn write_markdown(
    out: &Destination,
    mut text: Vec<u8>,
    append: bool,
) -> Result<(), Error> {
    if append {
        text.push(b'\n');
        out.append(&text)?;
    } else {
        out.write(&text)?;
    }
    Ok(())
}

/// What `phasebench compare` produced.
#[derive(Debug)]
pub struct Judgment {
    pub comparison: Comparison,
    /// Baseline runs left out (corrupt or edited), each with why.
    pub skipped_baseline_runs: Vec<String>,
    pub verdict: GateVerdict,
}

/// `phasebench compare CURRENT BASELINE`: a result file against a baseline (a history, or a
/// single result file), under the policy of `scenario` when given, else the baseline's
/// (never the current file's own).
pub fn execute(
    current: &Path,
    baseline: &Path,
    scenario: Option<&Path>,
    outputs: &ComparisonOutputs,
) -> Result<Judgment, Error> {
    output::check_all(outputs.destinations()).map_err(Error::OutputPath)?;
    let judging = scenario
        .map(|path| Scenario::load(path, &[]))
        .transpose()?
        .map(|s| stats::compare::Judging::of_scenario(&s));
    let current = results::load_result(current)?;
    let baseline = history::load(baseline)?;
    let comparison = compare_and_write(&current, &baseline.runs, outputs, judging)?;
    let verdict = GateVerdict::of(&comparison, outputs.undecided);
    Ok(Judgment {
        comparison,
        skipped_baseline_runs: baseline.skipped,
        verdict,
    })
}
