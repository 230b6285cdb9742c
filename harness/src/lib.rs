//! phasebench: latency benchmarks and regression checks for the startup path of LLM-agent
//! thread runtimes (thread start, startup prewarm, first turn, time to first token).
//!
//! A [`scenario::Scenario`] says what to run; a [`target::Target`] runs one iteration and
//! reports samples decoded from the runtime's own OpenTelemetry events ([`sample`]); the
//! [`runner`] drives warmup and measured iterations with deadlines into HdrHistograms
//! ([`recorder`]); [`report`] renders the result as a table, JSON and CSV. The binary is a thin
//! shell over [`run`] and [`validate`].
#![forbid(unsafe_code)]

pub mod ab;
pub mod capture;
pub mod compare;
pub mod egress;
pub mod ingest;
pub mod metric;
pub mod otlp;
pub mod output;
pub mod receiver;
pub mod recorder;
pub mod report;
pub mod rounds;
pub mod runner;
pub mod sample;
pub mod scenario;
pub mod spans;
pub mod target;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use compare::{CompareOptions, Comparison, MismatchError};
use output::{Destination, OutputError};
use report::{Environment, LoadedResult, ResultFileError, RunSummary};
use scenario::{Override, Scenario, ScenarioError, TargetKind};
use target::Target;
use target::builtin::BuiltinTarget;

/// What `phasebench run` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    pub scenario: PathBuf,
    pub overrides: Vec<Override>,
    pub json: Option<Destination>,
    pub csv: Option<Destination>,
    /// Bencher Metric Format output.
    pub bmf: Option<Destination>,
    /// Show a progress bar on stderr (only when stderr is a terminal).
    pub progress: bool,
    /// Compare the run with this baseline result when done.
    pub baseline: Option<PathBuf>,
    pub comparison: ComparisonOutputs,
}

/// Where a comparison goes besides the terminal.
#[derive(Debug, Clone, Default)]
pub struct ComparisonOutputs {
    pub json: Option<Destination>,
    pub markdown: Option<Destination>,
    /// Append the Markdown instead of replacing the file (for `$GITHUB_STEP_SUMMARY`).
    pub append_markdown: bool,
    pub allow_mismatch: bool,
}

/// How a run or comparison ended, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Measured, every budget held, and no percentile regressed against the baseline.
    Pass,
    /// At least one `[gate]` budget was breached or a percentile regressed.
    Fail,
    /// No measured iteration succeeded: the target is broken, there is nothing to judge.
    TargetFailure,
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
    Mismatch(#[from] MismatchError),
    #[error(transparent)]
    Ab(#[from] ab::AbError),
}

impl Error {
    /// True for errors in what the user gave (scenario, overrides, result files), false for
    /// the harness's own failures.
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            Error::Scenario(_) | Error::ResultFile(_) | Error::Mismatch(_) | Error::OutputPath(_)
        )
    }
}

impl ComparisonOutputs {
    /// Every file the comparison will write.
    pub fn destinations(&self) -> impl Iterator<Item = &Destination> {
        self.json.iter().chain(&self.markdown)
    }
}

impl RunRequest {
    /// Every file this run will write, checked before it starts.
    pub fn destinations(&self) -> impl Iterator<Item = &Destination> {
        self.json
            .iter()
            .chain(&self.csv)
            .chain(&self.bmf)
            .chain(self.comparison.destinations())
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

/// Loads the scenario (and the baseline, if any, before running), runs it, writes the
/// requested files, and returns the summary with the comparison.
pub async fn run(request: &RunRequest) -> Result<(RunSummary, Option<Comparison>, Verdict), Error> {
    let scenario = Scenario::load(&request.scenario, &request.overrides)?;
    output::check_all(request.destinations()).map_err(Error::OutputPath)?;
    let baseline = request
        .baseline
        .as_deref()
        .map(report::load_result)
        .transpose()?;
    let started = SystemTime::now();
    let summary = match &scenario.target {
        TargetKind::Builtin => {
            let target = Arc::new(BuiltinTarget::start(&scenario).await?);
            run_target(&scenario, target, request.progress, started).await
        }
        TargetKind::CodexExec(spec) => {
            let target = Arc::new(target::codex::exec::CodexExecTarget::start(
                &scenario, spec,
            )?);
            run_target(&scenario, target, request.progress, started).await
        }
        TargetKind::CodexAppServer(spec) => {
            let target = Arc::new(target::codex::app_server::CodexAppServerTarget::start(
                &scenario, spec,
            )?);
            run_target(&scenario, target, request.progress, started).await
        }
    };
    if let Some(out) = &request.json {
        out.write(&report::json_bytes(&summary))?;
    }
    if let Some(out) = &request.csv {
        out.write(&report::csv::render(&summary.metrics))?;
    }
    if let Some(out) = &request.bmf {
        out.write(&report::bmf::render(&summary))?;
    }
    if summary.run.failed_iterations == summary.plan.iterations {
        return Ok((summary, None, Verdict::TargetFailure));
    }
    let comparison = match baseline {
        Some(baseline) => {
            let current = as_loaded(&summary, request.json.as_ref())?;
            Some(compare_loaded(&current, &baseline, &request.comparison)?)
        }
        None => None,
    };
    let failed =
        !summary.budgets_passed() || comparison.as_ref().is_some_and(Comparison::regressed);
    Ok((
        summary,
        comparison,
        if failed { Verdict::Fail } else { Verdict::Pass },
    ))
}

/// A summary as a loaded result (histograms decoded), the form comparisons take.
fn as_loaded(summary: &RunSummary, path: Option<&Destination>) -> Result<LoadedResult, Error> {
    let text = serde_json::to_string(summary).expect("a summary always serializes");
    let name = match path {
        Some(Destination::Path(p)) => p.display().to_string(),
        _ => "(this run)".to_owned(),
    };
    Ok(report::parse_result(&text, &name)?)
}

fn compare_loaded(
    current: &LoadedResult,
    baseline: &LoadedResult,
    outputs: &ComparisonOutputs,
) -> Result<Comparison, Error> {
    let options = CompareOptions {
        allow_mismatch: outputs.allow_mismatch,
        ..CompareOptions::default()
    };
    let comparison = compare::compare(current, baseline, &options)?;
    write_comparison(&comparison, outputs)?;
    Ok(comparison)
}

/// Writes a comparison's JSON and Markdown where asked.
pub fn write_comparison(comparison: &Comparison, outputs: &ComparisonOutputs) -> Result<(), Error> {
    if let Some(out) = &outputs.json {
        out.write(&report::json_bytes(comparison))?;
    }
    if let Some(out) = &outputs.markdown {
        let mut text = report::comparison::render_markdown(comparison);
        if outputs.append_markdown {
            text.push('\n');
            out.append(text.as_bytes())?;
        } else {
            out.write(text.as_bytes())?;
        }
    }
    Ok(())
}

/// `phasebench compare CURRENT BASELINE`: loads both result files and compares them.
pub fn compare_files(
    current: &Path,
    baseline: &Path,
    outputs: &ComparisonOutputs,
) -> Result<(Comparison, Verdict), Error> {
    output::check_all(outputs.destinations()).map_err(Error::OutputPath)?;
    let current = report::load_result(current)?;
    let baseline = report::load_result(baseline)?;
    let comparison = compare_loaded(&current, &baseline, outputs)?;
    let failed = comparison.regressed() || comparison.budgets_breached();
    Ok((
        comparison,
        if failed { Verdict::Fail } else { Verdict::Pass },
    ))
}

/// Stores a result file as the baseline of its scenario: `DIR/<scenario name>.json`, copied
/// byte for byte after it was checked. Returns where it went.
pub fn save_baseline(result: &Path, dir: &Path, name: Option<&str>) -> Result<PathBuf, Error> {
    let loaded = report::load_result(result)?;
    let text = std::fs::read(result).map_err(|source| ResultFileError::Read {
        path: result.display().to_string(),
        source,
    })?;
    let file_name = format!("{}.json", name.unwrap_or(&loaded.summary.scenario.name));
    let destination = dir.join(file_name);
    std::fs::create_dir_all(dir).map_err(|source| OutputError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    Destination::from(destination.as_path()).write(&text)?;
    Ok(destination)
}

/// Runs a scenario's plan against any target and summarizes it.
pub async fn run_target<T: Target>(
    scenario: &Scenario,
    target: Arc<T>,
    progress: bool,
    started: SystemTime,
) -> RunSummary {
    let expected = metric::expected_metrics(scenario.profile());
    let outcome = runner::run(
        Arc::clone(&target),
        scenario.plan,
        expected,
        progress_bar(progress),
    )
    .await;
    let mut summary = RunSummary::new(
        scenario,
        target.info(),
        &outcome,
        target.telemetry_health(),
        Environment::detect(started),
    );
    summary.warnings = target.warnings();
    summary
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
        out.write(&report::json_bytes(&summary))?;
    }
    if let Some(out) = csv {
        out.write(&report::csv::render(&summary.metrics))?;
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
