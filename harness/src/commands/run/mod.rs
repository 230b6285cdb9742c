//! `phasebench run`: loads the scenario and the baseline and checks both (and every output
//! path) before running, runs the scenario's rounds ([`rounds`]), writes the requested files
//! (partial ones too, when interrupted), and judges the result against the baseline, or on
//! its budgets alone.

pub(crate) mod rounds;
#[cfg(test)]
mod shard_tests;

use std::path::PathBuf;

use super::compare::{ComparisonOutputs, compare_and_write, write_markdown};
use crate::error::{Error, GateVerdict};
use crate::measure::meter::Meter;
use crate::report;
use crate::report::outputs::OutputSet;
use crate::results::history::{self, Baseline};
use crate::results::{self, LoadedResult, RunSummary};
use crate::scenario::{Override, Scenario};
use crate::stats;
use crate::stats::compare::{Comparison, MismatchError};
use crate::stats::design;
use crate::sys::output::{self, Destination, OutputError};
use crate::sys::shutdown;

/// What `phasebench run` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    pub scenario: PathBuf,
    pub overrides: Vec<Override>,
    pub json: Option<Destination>,
    pub csv: Option<Destination>,
    /// Bencher Metric Format output.
    pub bmf: Option<Destination>,
    /// HdrHistogram interval log output.
    pub hlog: Option<Destination>,
    /// Per-iteration timelines as Chrome trace-event JSON (Perfetto).
    pub trace: Option<Destination>,
    /// The Prometheus text exposition of the run.
    pub prometheus: Option<Destination>,
    /// Run only shard K of N of the rounds (1-based K): rounds K, K+N, … with their own seeds,
    /// so the shards' union is the whole run (`phasebench merge`).
    pub shard: Option<(u32, u32)>,
    /// Told how far the run has got (off by default; the command line draws a bar from it).
    pub meter: Meter,
    /// Compare the run with this baseline (a history or a result file) when done.
    pub baseline: Option<PathBuf>,
    /// Refuse, before running, a design under which some primary statistic cannot be judged
    /// (too few iterations per round); implied by `baseline`.
    pub require_judgeable: bool,
    /// Choose the rounds: the most (up to [`AUTO_MAX_ROUNDS`]) that keep every primary
    /// statistic judgeable.
    pub auto_rounds: bool,
    pub comparison: ComparisonOutputs,
}

/// Where a comparison goes besides the terminal.
impl RunRequest {
    /// The run's own outputs (the comparison's are [`Self::comparison`]), in the order they
    /// are written.
    fn outputs(&self) -> OutputSet {
        use report::Format;
        OutputSet::default()
            .with(Format::Json, self.json.as_ref())
            .with(Format::Csv, self.csv.as_ref())
            .with(Format::Bmf, self.bmf.as_ref())
            .with(Format::Prometheus, self.prometheus.as_ref())
            .with(Format::Hlog, self.hlog.as_ref())
            .with(Format::Trace, self.trace.as_ref())
    }

    /// The run's own outputs' destinations, in the order they are written.
    fn run_destinations(&self) -> impl Iterator<Item = &Destination> {
        self.json
            .iter()
            .chain(&self.csv)
            .chain(&self.bmf)
            .chain(&self.prometheus)
            .chain(&self.hlog)
            .chain(&self.trace)
    }

    /// Every file this run will write, checked before it starts.
    pub fn destinations(&self) -> impl Iterator<Item = &Destination> {
        self.run_destinations()
            .chain(self.comparison.destinations())
    }
}

/// Most rounds `run --rounds auto` chooses.
pub const AUTO_MAX_ROUNDS: u32 = 40;

/// What `phasebench run` produced.
#[derive(Debug)]
pub struct RunReport {
    pub summary: RunSummary,
    /// The summary's metric table as every format shows it.
    pub(crate) table: report::MetricTable,
    pub comparison: Option<Comparison>,
    /// Baseline runs left out (corrupt or edited), each with why.
    pub skipped_baseline_runs: Vec<String>,
    pub verdict: GateVerdict,
    /// Why this run could not be judged against (nor serve as a baseline), when it could not.
    pub design: Option<design::DesignError>,
    /// The outputs written, in order.
    pub written: Vec<Destination>,
}

/// Differences between a scenario about to run and a baseline, found before running (exit 2
/// then means nothing ran), by the one comparability rule ([`results::Comparable`]).
fn baseline_mismatch(scenario: &Scenario, baseline: &Baseline) -> Vec<String> {
    let about_to_run = results::Comparable {
        content_hash: &scenario.content_hash,
        scenario: &scenario.name,
        target: None,
        concurrency: scenario.plan.concurrency.get(),
    };
    let mut out = Vec::new();
    for run in &baseline.runs {
        for d in about_to_run.differences(&results::Comparable::of(&run.summary)) {
            if !out.contains(&d) {
                out.push(d);
            }
        }
    }
    out
}

/// Loads the scenario and the baseline (and checks both, and every output path, before
/// running), runs the scenario's rounds, writes the requested files (partial ones too, when
/// interrupted), and judges the result.
pub async fn execute(request: &RunRequest) -> Result<RunReport, Error> {
    let mut scenario = Scenario::load(&request.scenario, &request.overrides)?;
    if request.auto_rounds {
        let rounds = design::auto_rounds(
            &scenario,
            scenario.plan.iterations.get(),
            1,
            AUTO_MAX_ROUNDS,
        )?;
        scenario.plan.rounds = std::num::NonZeroU32::new(rounds).expect("at least one round");
    }
    if let Some((_, n)) = request.shard
        && n > scenario.plan.rounds.get()
    {
        return Err(Error::Shard(format!(
            "--shard .../{n}: the scenario has {} rounds; a shard needs at least one",
            scenario.plan.rounds
        )));
    }
    let design = design::check(
        &scenario,
        scenario.plan.iterations.get(),
        scenario.plan.rounds.get(),
        1,
    );
    if let Err(e) = &design
        && (request.require_judgeable || request.baseline.is_some())
    {
        return Err(e.clone().into());
    }
    output::check_all(request.destinations()).map_err(Error::OutputPath)?;
    if request.baseline.is_none() && request.comparison.json.is_some() {
        return Err(Error::OutputPath(OutputError::NoComparison));
    }
    let baseline = request.baseline.as_deref().map(history::load).transpose()?;
    if let Some(baseline) = &baseline {
        let differences = baseline_mismatch(&scenario, baseline);
        if !differences.is_empty() && !request.comparison.allow_mismatch {
            return Err(MismatchError {
                current: request.scenario.display().to_string(),
                baseline: baseline
                    .runs
                    .last()
                    .map_or_else(String::new, |r| r.path.clone()),
                differences,
            }
            .into());
        }
    }
    let outputs = request.outputs();
    let rounds::MeasuredRun {
        summary,
        rounds: current,
        timelines,
    } = rounds::measure_rounds(
        &scenario,
        request.meter.clone(),
        outputs.wants(report::Format::Trace),
        request.shard,
    )
    .await?;
    let table = report::RunView::new(&summary, &current).table;
    // Stopped before a round finished: nothing was measured, and a result without rounds is
    // one every reader refuses; no file is written.
    if summary.rounds.is_empty()
        && let Some(signal) = shutdown::requested()
    {
        return Ok(RunReport {
            summary,
            table,
            comparison: None,
            skipped_baseline_runs: Vec::new(),
            verdict: GateVerdict::Interrupted(signal),
            design: design.err(),
            written: Vec::new(),
        });
    }
    let view = report::RunView {
        summary: &summary,
        table: table.clone(),
    };
    outputs.write(report::Document::Recorded(&report::Recorded {
        view: &view,
        rounds: &current,
        timelines: &timelines,
    }))?;
    let mut written: Vec<Destination> = request.run_destinations().cloned().collect();
    // Without a baseline, `--markdown` is the run's own report.
    if baseline.is_none()
        && let Some(out) = &request.comparison.markdown
    {
        write_markdown(
            out,
            report::render(report::Format::Markdown, report::Document::Run(&view)),
            request.comparison.append_markdown,
        )?;
        written.push(out.clone());
    }
    let skipped_baseline_runs = baseline
        .as_ref()
        .map(|b| b.skipped.clone())
        .unwrap_or_default();
    let current = LoadedResult {
        path: match &request.json {
            Some(Destination::Path(p)) => p.display().to_string(),
            _ => "(this run)".to_owned(),
        },
        summary: summary.clone(),
        pooled: results::merge_rounds(&current),
        rounds: current,
    };
    // A run that stops here (interrupted, or mostly failed) still writes its HTML page, as
    // it wrote every other output: what it finished, without a comparison.
    let unjudged = shutdown::requested().is_some() || summary.mostly_failed();
    if unjudged && let Some(out) = &request.comparison.html {
        out.write(&report::page::html(std::slice::from_ref(&current), None))?;
        written.push(out.clone());
    }
    if let Some(signal) = shutdown::requested() {
        return Ok(RunReport {
            summary,
            table,
            comparison: None,
            skipped_baseline_runs,
            verdict: GateVerdict::Interrupted(signal),
            design: design.err(),
            written,
        });
    }
    if summary.mostly_failed() {
        return Ok(RunReport {
            summary,
            table,
            comparison: None,
            skipped_baseline_runs,
            verdict: GateVerdict::TargetFailure,
            design: design.err(),
            written,
        });
    }
    let comparison = match &baseline {
        // Judged by the scenario this run was given (the run's own policy, from the same file).
        Some(baseline) => {
            let comparison = compare_and_write(
                &current,
                &baseline.runs,
                &request.comparison,
                Some(stats::compare::Judging::of_scenario(&scenario)),
            )?;
            written.extend(request.comparison.destinations().cloned());
            Some(comparison)
        }
        None => {
            if let Some(out) = &request.comparison.html {
                out.write(&report::page::html(std::slice::from_ref(&current), None))?;
                written.push(out.clone());
            }
            None
        }
    };
    let verdict = match &comparison {
        Some(c) => GateVerdict::of(c, request.comparison.undecided),
        None => GateVerdict::of_budgets(&summary, request.comparison.undecided),
    };
    Ok(RunReport {
        summary,
        table,
        comparison,
        skipped_baseline_runs,
        verdict,
        design: design.err(),
        written,
    })
}
