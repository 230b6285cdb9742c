//! phasebench: latency benchmarks and regression checks for the startup path of LLM-agent
//! thread runtimes (thread start, startup prewarm, first turn, time to first token).
//!
//! The pipeline, one folder per stage, each using only those before it: `sys` (outputs,
//! stops) → `model` (metric names, samples) → `scenario` (what to run) → `telemetry` (the
//! runtime's own OpenTelemetry events decoded) → `target` (one iteration on the built-in
//! runtime or real codex) → `measure` (rounds of iterations with deadlines into
//! HdrHistograms) → `results` (the versioned result file, rounds kept apart) → `stats`
//! (budgets and comparisons with the round as the unit) → `report` (one exporter per format).
//! The commands (`ab`, `design`, `ingest`, `merge`, `push`, `releases`, `sweep`) and the command line
//! ([`cli`]) sit on top.
//!
//! The public API is this file's facade: [`run`], [`compare_files`], [`run_ab`],
//! [`ingest_files`], [`save_baseline`], [`report_files`], [`push_file`], [`validate`], the
//! requests they take and the result types they return ([`RunSummary`], [`Comparison`], …).
//! The stages are the crate's own (`pub(crate)`); the `test-support` feature makes them
//! public for this crate's integration tests and benches, and is not an API.
//!
//! ```no_run
//! # async fn demo() -> Result<(), phasebench::Error> {
//! use phasebench::{ComparisonOutputs, RunRequest, Verdict};
//!
//! // A run of the default scenario, its result written where a later comparison reads it.
//! let request = RunRequest {
//!     scenario: "scenarios/default.toml".into(),
//!     json: Some("current.json".parse().expect("a path")),
//!     ..RunRequest::default()
//! };
//! let report = phasebench::run(&request).await?;
//! for row in report.summary.metrics.iter().filter(|r| r.metric == "turn_ttft") {
//!     println!("turn_ttft p50 {:?} ms over {} samples", row.p50_ms, row.count);
//! }
//! // Judged against a stored baseline, as `phasebench compare` does (by the baseline's gate,
//! // or by a scenario file's when one is given).
//! let (comparison, _skipped, verdict) = phasebench::compare_files(
//!     "current.json".as_ref(),
//!     "baseline.json".as_ref(),
//!     None,
//!     &ComparisonOutputs::default(),
//! )?;
//! assert_eq!(verdict == Verdict::Fail, comparison.regressed() || comparison.budgets_breached());
//! // A comparison that could not decide a primary row is not a pass.
//! if comparison.outcome() == phasebench::Outcome::Undecided {
//!     assert_ne!(verdict, Verdict::Pass);
//! }
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

/// Declares the crate's own modules: `pub(crate)`, or `pub` with the `test-support` feature
/// (for the integration tests and benches that drive the stages directly; not an API).
macro_rules! internal {
    ($($name:ident),* $(,)?) => {$(
        #[cfg(feature = "test-support")]
        pub mod $name;
        #[cfg(not(feature = "test-support"))]
        pub(crate) mod $name;
    )*};
}

// The pipeline's stages, each folder using only those before it (a test checks):
// sys → model → scenario → telemetry → target → measure → results → stats → report.
internal!(
    sys, model, scenario, telemetry, target, measure, results, stats, report,
);
// Commands on top.
internal!(ab, design, ingest, merge, push, releases, sweep);
// The command line (`src/main.rs` calls `cli::main`).
pub mod cli;

// The facade: the commands' requests and what they return.
pub use ab::{AbError, AbRequest, Side, run_ab, run_ab_shard};
pub use ingest::{IngestError, IngestSummary};
pub use push::{BASIC_AUTH_ENV, ExtraLabel, PushError, Pushgateway};
pub use results::{
    BudgetRow, BudgetVerdict, Environment, LoadedResult, MetricRow, PlanInfo, ResultFileError,
    RoundRecord, RoundSeries, RunInfo, RunSummary, ScenarioInfo, load_result,
};
pub use scenario::{OnUndecided, Override, Scenario, ScenarioError, TargetKind};
pub use stats::compare::{Comparison, MismatchError, Outcome, StatComparison};
pub use sys::output::{Destination, OutputError};
pub use target::TargetInfo;

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod layering_tests;
#[cfg(test)]
mod shard_tests;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use measure::runner::{self, RoundPlan, RunOutcome};
use results::history::{self, Baseline, BaselineError};
use results::summarize::{RunContext, summarize};
use stats::compare::CompareOptions;
use sys::output;
use sys::shutdown;
use target::{Target, TelemetryHealth};

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
    /// Show a progress bar on stderr (only when stderr is a terminal).
    pub progress: bool,
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

impl RunRequest {
    /// Every file this run will write, checked before it starts.
    pub fn destinations(&self) -> impl Iterator<Item = &Destination> {
        self.json
            .iter()
            .chain(&self.csv)
            .chain(&self.bmf)
            .chain(&self.hlog)
            .chain(&self.trace)
            .chain(&self.prometheus)
            .chain(self.comparison.destinations())
    }
}

/// How a run or comparison ended, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Measured, no budget breached, and no primary statistic regressed.
    Pass,
    /// A `[gate]` budget was breached or a primary statistic regressed.
    Fail,
    /// Nothing failed, but a primary statistic (or a budget) could not be decided; what that
    /// exits with is the policy's (`[gate] undecided`, `--undecided`).
    Undecided(OnUndecided),
    /// More iterations failed than `[run] max_failure_ratio` allows (or all did): the target
    /// is broken, there is nothing to judge.
    TargetFailure,
    /// Stopped by this signal; what was finished was written, marked partial.
    Interrupted(i32),
}

/// Errors that stop a run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error(transparent)]
    Builtin(#[from] target::builtin::BuiltinError),
    #[error(transparent)]
    Codex(#[from] target::codex::CodexError),
    #[error(transparent)]
    Ingest(#[from] ingest::IngestError),
    /// An output that cannot be written, found before anything ran.
    #[error(transparent)]
    OutputPath(OutputError),
    /// An output that could not be written after the work was done.
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error(transparent)]
    ResultFile(#[from] ResultFileError),
    #[error(transparent)]
    Baseline(#[from] BaselineError),
    #[error(transparent)]
    Mismatch(#[from] MismatchError),
    #[error(transparent)]
    Ab(#[from] Box<ab::AbError>),
    #[error(transparent)]
    Sweep(#[from] sweep::SweepError),
    #[error("{0}")]
    Shard(String),
    /// A design that cannot judge every primary statistic, refused before running.
    #[error("this run could not be judged: {0}")]
    Design(#[from] design::DesignError),
    /// A result that cannot serve as a baseline.
    #[error("{0}")]
    NotABaseline(String),
    #[error(transparent)]
    Merge(#[from] merge::MergeError),
    #[error(transparent)]
    Push(#[from] push::PushError),
}

impl Verdict {
    /// The verdict of a comparison: its outcome, an undecided one as `on_undecided` (the
    /// command line's choice) or the policy says.
    pub fn of(comparison: &Comparison, on_undecided: Option<OnUndecided>) -> Self {
        match comparison.outcome() {
            Outcome::Pass => Verdict::Pass,
            Outcome::Fail => Verdict::Fail,
            Outcome::Undecided => {
                Verdict::Undecided(on_undecided.unwrap_or(comparison.policy.undecided))
            }
        }
    }

    /// The verdict of a run judged on its budgets alone (no baseline).
    fn of_budgets(summary: &RunSummary, on_undecided: Option<OnUndecided>) -> Self {
        if !summary.budgets_passed() {
            Verdict::Fail
        } else if summary
            .budgets
            .iter()
            .any(|b| b.verdict == BudgetVerdict::Inconclusive)
        {
            Verdict::Undecided(on_undecided.unwrap_or(summary.policy.undecided))
        } else {
            Verdict::Pass
        }
    }
}

impl From<ab::AbError> for Error {
    fn from(e: ab::AbError) -> Self {
        Error::Ab(Box::new(e))
    }
}

impl Error {
    /// True for errors in what the user gave (scenario, overrides, result files, output
    /// paths), false for the harness's own failures.
    pub fn is_invalid_input(&self) -> bool {
        match self {
            Error::Scenario(_)
            | Error::Sweep(_)
            | Error::Shard(_)
            | Error::Design(_)
            | Error::NotABaseline(_)
            | Error::Merge(_)
            | Error::ResultFile(_)
            | Error::Mismatch(_)
            | Error::OutputPath(_) => true,
            Error::Baseline(e) => !matches!(e, BaselineError::Output(_)),
            Error::Ingest(e) => e.is_invalid_input(),
            Error::Push(e) => e.is_invalid_input(),
            Error::Ab(e) => e.is_invalid_input(),
            _ => false,
        }
    }
}

fn progress_bar(enabled: bool) -> ProgressBar {
    if !enabled || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} {msg:>9} [{bar:30}] {pos}/{len} iterations  {per_sec}  eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(std::time::Duration::from_millis(100));
    bar
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
    pub verdict: Verdict,
    /// Why this run could not be judged against (nor serve as a baseline), when it could not.
    pub design: Option<design::DesignError>,
}

/// Differences between a scenario about to run and a baseline, found before running (exit 2
/// then means nothing ran).
fn baseline_mismatch(scenario: &Scenario, baseline: &Baseline) -> Vec<String> {
    let mut out = Vec::new();
    for run in &baseline.runs {
        let s = &run.summary;
        if s.scenario.content_hash != scenario.content_hash {
            let d = format!(
                "the scenario content differs (hash {} vs {}; scenario {:?} vs {:?})",
                scenario.content_hash, s.scenario.content_hash, scenario.name, s.scenario.name
            );
            if !out.contains(&d) {
                out.push(d);
            }
        }
        if s.plan.concurrency != scenario.plan.concurrency.get() {
            let d = format!(
                "the concurrency differs ({} vs {})",
                scenario.plan.concurrency, s.plan.concurrency
            );
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
pub async fn run(request: &RunRequest) -> Result<RunReport, Error> {
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
    let (summary, current, timelines) = run_rounds(
        &scenario,
        request.progress,
        request.trace.is_some(),
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
            verdict: Verdict::Interrupted(signal),
            design: design.err(),
        });
    }
    let view = report::RunView {
        summary: &summary,
        table: table.clone(),
    };
    for (format, out) in [
        (report::Format::Json, &request.json),
        (report::Format::Csv, &request.csv),
        (report::Format::Bmf, &request.bmf),
        (report::Format::Prometheus, &request.prometheus),
    ] {
        if let Some(out) = out {
            out.write(&export(format, report::Document::Run(&view)))?;
        }
    }
    if let Some(out) = &request.hlog {
        out.write(&report::hlog::interval_log(&summary, &current))?;
    }
    if let Some(out) = &request.trace {
        out.write(&report::trace::chrome_trace(&summary, &timelines))?;
    }
    // Without a baseline, `--markdown` is the run's own report.
    if baseline.is_none()
        && let Some(out) = &request.comparison.markdown
    {
        write_markdown(
            out,
            export(report::Format::Markdown, report::Document::Run(&view)),
            request.comparison.append_markdown,
        )?;
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
        out.write(&html_report(std::slice::from_ref(&current), None))?;
    }
    if let Some(signal) = shutdown::requested() {
        return Ok(RunReport {
            summary,
            table,
            comparison: None,
            skipped_baseline_runs,
            verdict: Verdict::Interrupted(signal),
            design: design.err(),
        });
    }
    if summary.mostly_failed() {
        return Ok(RunReport {
            summary,
            table,
            comparison: None,
            skipped_baseline_runs,
            verdict: Verdict::TargetFailure,
            design: design.err(),
        });
    }
    let comparison = match &baseline {
        // Judged by the scenario this run was given (the run's own policy, from the same file).
        Some(baseline) => Some(compare_and_write(
            &current,
            &baseline.runs,
            &request.comparison,
            Some(stats::compare::Judging::of_scenario(&scenario)),
        )?),
        None => {
            if let Some(out) = &request.comparison.html {
                out.write(&html_report(std::slice::from_ref(&current), None))?;
            }
            None
        }
    };
    let verdict = match &comparison {
        Some(c) => Verdict::of(c, request.comparison.undecided),
        None => Verdict::of_budgets(&summary, request.comparison.undecided),
    };
    Ok(RunReport {
        summary,
        table,
        comparison,
        skipped_baseline_runs,
        verdict,
        design: design.err(),
    })
}

/// What one round's target reported besides its outcome.
struct RoundResult {
    outcome: RunOutcome,
    info: TargetInfo,
    telemetry: TelemetryHealth,
    warnings: Vec<String>,
}

async fn run_round<T: Target>(
    target: Arc<T>,
    plan: RoundPlan,
    expected: Vec<String>,
    progress: ProgressBar,
) -> RoundResult {
    let outcome = runner::run(Arc::clone(&target), plan, expected, progress).await;
    RoundResult {
        outcome,
        info: target.info(),
        telemetry: target.telemetry_health(),
        warnings: target.warnings(),
    }
}

/// Runs every round of `scenario`, each on a fresh target (a new runtime and mock, or new
/// processes), and summarizes them. Stops early on a stop request, keeping finished rounds.
pub(crate) async fn run_rounds(
    scenario: &Scenario,
    progress: bool,
    trace: bool,
    shard: Option<(u32, u32)>,
) -> Result<RunRounds, Error> {
    run_rounds_on(scenario, progress, trace, shard, start_and_run_round).await
}

/// A run's summary, its rounds' series, and the timelines it kept.
pub(crate) type RunRounds = (
    RunSummary,
    Vec<results::DecodedRound>,
    Vec<measure::timeline::Timeline>,
);

/// Starts the scenario's target for one round (a fresh runtime or fresh processes) and runs
/// the round on it.
async fn start_and_run_round(
    scenario: &Scenario,
    round_plan: RoundPlan,
    expected: Vec<String>,
    bar: ProgressBar,
) -> Result<RoundResult, Error> {
    Ok(match &scenario.target {
        TargetKind::Builtin => {
            let target = Arc::new(target::builtin::BuiltinTarget::start(scenario).await?);
            run_round(target, round_plan, expected, bar).await
        }
        TargetKind::CodexExec(spec) => {
            let target =
                Arc::new(target::codex::exec::CodexExecTarget::start(scenario, spec).await?);
            run_round(target, round_plan, expected, bar).await
        }
        TargetKind::CodexAppServer(spec) => {
            let target = Arc::new(
                target::codex::app_server::CodexAppServerTarget::start(scenario, spec).await?,
            );
            run_round(target, round_plan, expected, bar).await
        }
    })
}

/// [`run_rounds`] with each round run by `round` (the scenario's target, or a test's).
async fn run_rounds_on(
    scenario: &Scenario,
    progress: bool,
    trace: bool,
    shard: Option<(u32, u32)>,
    round: impl AsyncFn(&Scenario, RoundPlan, Vec<String>, ProgressBar) -> Result<RoundResult, Error>,
) -> Result<RunRounds, Error> {
    let started = SystemTime::now();
    let clock = Instant::now();
    let plan = scenario.plan;
    let bar = progress_bar(progress);
    let rounds = plan.rounds.get();
    bar.set_length(
        (0..rounds)
            .map(|r| plan.warmup + plan.round_iterations(r))
            .sum(),
    );
    let expected = model::metric::expected_metrics(scenario.profile());
    let mut outcomes = Vec::new();
    let mut info = None;
    let mut telemetry = TelemetryHealth::default();
    let mut warnings: Vec<String> = Vec::new();
    for index in 0..rounds {
        if shutdown::requested().is_some() {
            break;
        }
        // A shard runs its share of the rounds, numbered and seeded as in the whole run.
        if let Some((k, n)) = shard
            && index % n != k - 1
        {
            continue;
        }
        let scenario = scenario.for_round(index);
        let round_plan = RoundPlan {
            iterations: plan.round_iterations(index),
            warmup: plan.warmup,
            concurrency: plan.concurrency,
            iteration_timeout: plan.iteration_timeout,
            timelines: trace,
            arrivals: plan.arrivals.map(|a| (a, scenario.seed)),
        };
        let result = round(&scenario, round_plan, expected.clone(), bar.clone()).await?;
        info.get_or_insert(result.info);
        telemetry.add(&result.telemetry);
        for w in result.warnings {
            if !warnings.contains(&w) {
                warnings.push(w);
            }
        }
        // A round cut short by a stop keeps what it measured.
        if result.outcome.iterations > 0 || shutdown::requested().is_none() {
            let mut outcome = result.outcome;
            outcome.round = index + 1;
            outcomes.push(outcome);
        }
    }
    bar.finish_and_clear();
    let mut timelines = measure::timeline::TimelineKeeper::default();
    for (round, outcome) in outcomes.iter_mut().enumerate() {
        let mut kept = std::mem::take(&mut outcome.timelines);
        kept.set_round(round as u32 + 1);
        timelines.merge(kept);
    }
    let decoded: Vec<results::DecodedRound> =
        outcomes.iter().map(|o| o.recorder.series.clone()).collect();
    let summary = summarize(
        scenario,
        &outcomes,
        RunContext {
            budgets: stats::budget::evaluate(
                &scenario.budgets,
                &decoded,
                scenario.policy.confidence,
            ),
            target: info.unwrap_or_else(|| TargetInfo {
                name: scenario.target.as_str().to_owned(),
                version: "unknown".to_owned(),
            }),
            telemetry,
            warnings,
            environment: Environment::detect(started),
            total_wall_time: clock.elapsed(),
            partial: shutdown::requested().is_some(),
            shard,
        },
    );
    Ok((summary, decoded, timelines.into_timelines()))
}

/// Runs a scenario's iterations as one round on a target the caller started (and may
/// inspect afterwards: tests look at the mock and the receiver), and summarizes them.
#[cfg(feature = "test-support")]
pub async fn run_target<T: Target>(
    scenario: &Scenario,
    target: Arc<T>,
    progress: bool,
) -> RunSummary {
    let started = SystemTime::now();
    let clock = Instant::now();
    let plan = scenario.plan;
    let bar = progress_bar(progress);
    bar.set_length(plan.warmup + plan.iterations.get());
    let round_plan = RoundPlan {
        iterations: plan.iterations.get(),
        warmup: plan.warmup,
        concurrency: plan.concurrency,
        iteration_timeout: plan.iteration_timeout,
        timelines: false,
        arrivals: plan.arrivals.map(|a| (a, scenario.seed)),
    };
    let expected = model::metric::expected_metrics(scenario.profile());
    let result = run_round(target, round_plan, expected, bar.clone()).await;
    bar.finish_and_clear();
    let mut one_round = scenario.clone();
    one_round.plan.rounds = std::num::NonZeroU32::MIN;
    let decoded = [result.outcome.recorder.series.clone()];
    summarize(
        &one_round,
        std::slice::from_ref(&result.outcome),
        RunContext {
            budgets: stats::budget::evaluate(
                &scenario.budgets,
                &decoded,
                scenario.policy.confidence,
            ),
            target: result.info,
            telemetry: result.telemetry,
            warnings: result.warnings,
            environment: Environment::detect(started),
            total_wall_time: clock.elapsed(),
            partial: shutdown::requested().is_some(),
            shard: None,
        },
    )
}

fn compare_and_write(
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
        out.write(&html_report(
            std::slice::from_ref(current),
            Some(("baseline", history, &comparison)),
        ))?;
    }
    Ok(comparison)
}

/// The HTML report of `current` (one run, or the rounds of one side of an A/B), with
/// `baseline` (its label, its runs, the comparison) overlaid when given.
pub(crate) fn html_report(
    current: &[LoadedResult],
    baseline: Option<(&str, &[LoadedResult], &Comparison)>,
) -> Vec<u8> {
    let first = &current[0];
    let pooled = results::merge_rounds(current.iter().map(|r| &r.pooled));
    let view = if current.len() == 1 {
        report::RunView::new(&first.summary, &first.rounds)
    } else {
        // One side's rounds, each a whole run: rows pooled across them.
        let rows: Vec<results::MetricRow> = first
            .summary
            .metrics
            .iter()
            .filter_map(|row| {
                let key = measure::recorder::MetricKey {
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
        report::RunView {
            summary: &first.summary,
            table: report::MetricTable::new(&rows, None, first.summary.policy.confidence),
        }
    };
    let other_pooled =
        baseline.map(|(_, runs, _)| results::merge_rounds(runs.iter().map(|r| &r.pooled)));
    let other = match (baseline, &other_pooled) {
        (Some((label, _, comparison)), Some(pooled)) => Some(report::html::BaselineView {
            label,
            pooled,
            comparison,
        }),
        _ => None,
    };
    export(
        report::Format::Html,
        report::Document::Pictured(&report::html::Pictured {
            view: &view,
            pooled: &pooled,
            baseline: other.as_ref(),
        }),
    )
}

/// Pushes a run's Prometheus exposition to `gateway` (`run --push`); returns where it went.
pub(crate) async fn push_run(
    view: &report::RunView<'_>,
    gateway: &push::Pushgateway,
    labels: &[push::ExtraLabel],
) -> Result<String, Error> {
    let body = export(report::Format::Prometheus, report::Document::Run(view));
    let group = push::Group::of(view.summary, labels);
    Ok(push::push(gateway, &group, body).await?.to_string())
}

/// `phasebench push RESULT URL`: a result file (rows re-derived from its histograms) pushed
/// as `run --push` would have pushed it.
pub async fn push_file(
    path: &Path,
    gateway: &push::Pushgateway,
    labels: &[push::ExtraLabel],
) -> Result<String, Error> {
    let loaded = results::load_result(path)?;
    let view = report::RunView::new(&loaded.summary, &loaded.rounds);
    push_run(&view, gateway, labels).await
}

/// `phasebench report RESULT [--baseline B]`: the HTML report of a result file, against a
/// baseline when given (the comparison is judged again from the files).
pub fn report_files(
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
                out.write(&html_report(std::slice::from_ref(&current), None))?;
            }
            Ok(None)
        }
    }
}

/// Writes a comparison's JSON and Markdown where asked.
pub(crate) fn write_comparison(
    comparison: &Comparison,
    outputs: &ComparisonOutputs,
) -> Result<(), Error> {
    let document = report::Document::Comparison(comparison);
    if let Some(out) = &outputs.json {
        out.write(&export(report::Format::Json, document))?;
    }
    if let Some(out) = &outputs.markdown {
        write_markdown(
            out,
            export(report::Format::Markdown, document),
            outputs.append_markdown,
        )?;
    }
    Ok(())
}

/// A document the format can show (every format shows runs; comparisons all but BMF and
/// Prometheus).
fn export(format: report::Format, document: report::Document<'_>) -> Vec<u8> {
    report::export(format, document).expect("the format shows this document")
}

fn write_markdown(out: &Destination, mut text: Vec<u8>, append: bool) -> Result<(), Error> {
    if append {
        text.push(b'\n');
        out.append(&text)?;
    } else {
        out.write(&text)?;
    }
    Ok(())
}

/// `phasebench compare CURRENT BASELINE`: a result file against a baseline (a history, or a
/// single result file), under the policy of `scenario` when given, else the baseline's
/// (never the current file's own).
pub fn compare_files(
    current: &Path,
    baseline: &Path,
    scenario: Option<&Path>,
    outputs: &ComparisonOutputs,
) -> Result<(Comparison, Vec<String>, Verdict), Error> {
    output::check_all(outputs.destinations()).map_err(Error::OutputPath)?;
    let judging = scenario
        .map(|path| Scenario::load(path, &[]))
        .transpose()?
        .map(|s| stats::compare::Judging::of_scenario(&s));
    let current = results::load_result(current)?;
    let baseline = history::load(baseline)?;
    let comparison = compare_and_write(&current, &baseline.runs, outputs, judging)?;
    let verdict = Verdict::of(&comparison, outputs.undecided);
    Ok((comparison, baseline.skipped, verdict))
}

/// Adds result files (each checked) to the baseline history `DIR/<name>.json`.
pub fn save_baseline(
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

/// `phasebench ingest`: distributions from OTLP logs on disk, written where asked.
pub fn ingest_files(
    files: &[PathBuf],
    json: Option<&Destination>,
    csv: Option<&Destination>,
) -> Result<ingest::IngestSummary, Error> {
    output::check_all(json.into_iter().chain(csv)).map_err(Error::OutputPath)?;
    let summary = ingest::ingest(files)?;
    if let Some(out) = json {
        out.write(&results::json_bytes(&summary))?;
    }
    if let Some(out) = csv {
        let table = report::MetricTable::new(&summary.metrics, None, 0.95);
        out.write(&export(
            report::Format::Csv,
            report::Document::Metrics(&table),
        ))?;
    }
    Ok(summary)
}

/// Validates scenario files; returns one result per file.
pub fn validate(paths: &[impl AsRef<Path>]) -> Vec<Result<Scenario, ScenarioError>> {
    paths
        .iter()
        .map(|p| Scenario::load(p.as_ref(), &[]))
        .collect()
}
