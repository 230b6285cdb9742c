//! phasebench: latency benchmarks and regression checks for the startup path of LLM-agent
//! thread runtimes (thread start, startup prewarm, first turn, time to first token).
//!
//! A [`scenario::Scenario`] says what to run; a [`target::Target`] runs one iteration and
//! reports samples decoded from the runtime's own OpenTelemetry events ([`sample`]); the
//! [`runner`] drives warmup and measured iterations with deadlines into HdrHistograms
//! ([`recorder`]); [`report`] renders the result as a table, JSON and CSV. The binary is a thin
//! shell over [`run`] and [`validate`].
#![forbid(unsafe_code)]

pub mod capture;
pub mod metric;
pub mod recorder;
pub mod report;
pub mod runner;
pub mod sample;
pub mod scenario;
pub mod target;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use report::{Environment, RunSummary};
use scenario::{Override, Scenario, ScenarioError, TargetKind};
use target::Target;
use target::builtin::BuiltinTarget;

/// What `phasebench run` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    pub scenario: PathBuf,
    pub overrides: Vec<Override>,
    pub json: Option<PathBuf>,
    pub csv: Option<PathBuf>,
    /// Show a progress bar on stderr (only when stderr is a terminal).
    pub progress: bool,
}

/// How a run ended, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Measured, and every budget held.
    Pass,
    /// Measured, and at least one `[gate]` budget was breached.
    BudgetBreach,
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
    #[error("cannot write {path}: {source}")]
    Output {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Error {
    /// True for errors in what the user gave (scenario, overrides), false for the harness's.
    pub fn is_invalid_input(&self) -> bool {
        matches!(self, Error::Scenario(_))
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

/// Loads the scenario, runs it, writes the requested files, and returns the summary.
pub async fn run(request: &RunRequest) -> Result<(RunSummary, Verdict), Error> {
    let scenario = Scenario::load(&request.scenario, &request.overrides)?;
    let started = SystemTime::now();
    let summary = match scenario.target {
        TargetKind::Builtin => {
            let target = Arc::new(BuiltinTarget::start(&scenario).await?);
            run_target(&scenario, target, request.progress, started).await
        }
    };
    if let Some(path) = &request.json {
        report::write_json(path, &summary).map_err(|source| Error::Output {
            path: path.clone(),
            source,
        })?;
    }
    if let Some(path) = &request.csv {
        report::csv::write_csv(path, &summary).map_err(|source| Error::Output {
            path: path.clone(),
            source,
        })?;
    }
    let verdict = if summary.run.failed_iterations == summary.plan.iterations {
        Verdict::TargetFailure
    } else if summary.budgets_passed() {
        Verdict::Pass
    } else {
        Verdict::BudgetBreach
    };
    Ok((summary, verdict))
}

/// Runs a scenario's plan against any target and summarizes it.
pub async fn run_target<T: Target>(
    scenario: &Scenario,
    target: Arc<T>,
    progress: bool,
    started: SystemTime,
) -> RunSummary {
    let expected = metric::expected_metrics(scenario.transport_kind());
    let outcome = runner::run(
        Arc::clone(&target),
        scenario.plan,
        expected,
        progress_bar(progress),
    )
    .await;
    RunSummary::new(
        scenario,
        target.info(),
        &outcome,
        target.telemetry_health(),
        Environment::detect(started),
    )
}

/// Validates scenario files; returns one result per file.
pub fn validate(paths: &[impl AsRef<Path>]) -> Vec<Result<Scenario, ScenarioError>> {
    paths
        .iter()
        .map(|p| Scenario::load(p.as_ref(), &[]))
        .collect()
}
