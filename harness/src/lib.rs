//! phasebench: latency benchmarks and regression checks for the startup path of LLM-agent
//! thread runtimes (thread start, startup prewarm, first turn, time to first token).
//!
//! The pipeline, one folder per stage, each using only those before it: `sys` (outputs,
//! stops) → `model` (metric names, samples) → `scenario` (what to run) → `telemetry` (the
//! runtime's own OpenTelemetry events decoded) → `target` (one iteration on the built-in
//! runtime or real codex) → `measure` (rounds of iterations with deadlines into
//! HdrHistograms) → `results` (the versioned result file, rounds kept apart) → `stats`
//! (budgets and comparisons with the round as the unit) → `report` (one exporter per format).
//! On top, `commands/` holds one module per command (`run`, `compare`, `ab`, `baseline`,
//! `report`, `ingest`, `sweep`, `history`, `merge`, `push`, `validate`), each taking a request
//! and returning what it produced without terminal I/O; the command line ([`cli`]) parses
//! arguments, calls a command, renders its outcome and maps it to an exit code
//! ([`error`]). No stage names a command or this file (a test checks).
//!
//! The public API is this file's facade: [`run`], [`compare_files`], [`run_ab`],
//! [`ingest_files`], [`save_baseline`], [`report_files`], [`push_file`], [`validate`], the
//! requests they take and the result types they return ([`RunSummary`], [`Comparison`], …).
//! The stages are the crate's own (`pub(crate)`); the `test-support` feature makes them
//! public for this crate's integration tests and benches, and is not an API.
//!
//! ```no_run
//! # async fn demo() -> Result<(), phasebench::Error> {
//! use phasebench::{ComparisonOutputs, RunRequest, GateVerdict};
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
//! let phasebench::Judgment { comparison, verdict, .. } = phasebench::compare_files(
//!     "current.json".as_ref(),
//!     "baseline.json".as_ref(),
//!     None,
//!     &ComparisonOutputs::default(),
//! )?;
//! assert_eq!(verdict == GateVerdict::Fail, comparison.regressed() || comparison.budgets_breached());
//! // A comparison that could not decide a primary row is not a pass.
//! if comparison.outcome() == phasebench::Outcome::Undecided {
//!     assert_ne!(verdict, GateVerdict::Pass);
//! }
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
// Every `pub` item is reachable from outside: through this facade, or through
// `test_support` when that feature is on (the clippy and test builds); without the feature
// those few are crate-internal in fact, so the check runs with it.
#![cfg_attr(feature = "test-support", warn(unreachable_pub))]

// The pipeline's stages, each folder using only those before it (a test checks):
// sys → model → scenario → telemetry → target → measure → results → stats → report.
pub(crate) mod measure;
pub(crate) mod model;
pub(crate) mod report;
pub(crate) mod results;
pub(crate) mod scenario;
pub(crate) mod stats;
pub(crate) mod sys;
pub(crate) mod target;
pub(crate) mod telemetry;
// The commands on top of the stages.
pub(crate) mod commands;
// How commands end: errors, verdicts, exit codes.
pub mod error;
// The command line (`src/main.rs` calls `cli::main`).
pub mod cli;

// What this crate's integration tests and benches drive directly (targets, decoders); not an
// API, only with the `test-support` feature.
#[cfg(feature = "test-support")]
pub mod test_support;

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod layering_tests;

// The facade: the commands, their requests and what they return.
pub use commands::Progress;
pub use commands::ab::{AbError, AbRequest, Side, run_ab, run_ab_shard};
pub use commands::baseline::save as save_baseline;
pub use commands::compare::{ComparisonOutputs, Judgment, execute as compare_files};
pub use commands::ingest::{IngestError, execute as ingest_files};
pub use commands::push::{
    BASIC_AUTH_ENV, ExtraLabel, PushError, Pushgateway, execute as push_file,
};
pub use commands::report::execute as report_files;
pub use commands::run::{AUTO_MAX_ROUNDS, RunReport, RunRequest, execute as run};
pub use commands::validate::execute as validate;
pub use error::{Error, GateVerdict};
pub use measure::meter::{Meter, MeterSink, RoundStage};
pub use model::target::TargetInfo;
pub use results::ingest::IngestSummary;
pub use results::load::{LoadedResult, ResultFileError, load_result};
pub use results::{
    BudgetRow, BudgetVerdict, Environment, MetricRow, PlanInfo, RoundRecord, RoundSeries, RunInfo,
    RunSummary, ScenarioInfo,
};
pub use scenario::overrides::Override;
pub use scenario::policy::OnUndecided;
pub use scenario::{Scenario, ScenarioError, TargetKind};
pub use stats::compare::{Comparison, MismatchError, Outcome, StatComparison};
pub use sys::output::{Destination, OutputError};
