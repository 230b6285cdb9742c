//! How a command ended, and the exit code of each ending, in one place: a [`GateVerdict`] (pass,
//! fail, undecided, target failure, interrupted) when the command ran to a judgment, an
//! [`Error`] when it could not (exit 2 for what the user gave, 3 for the harness's or the
//! target's own failures). The command line only prints and exits with these codes.

use crate::commands::{ab, calibrate, ingest, merge, push, rank, sweep};
use crate::results::history::BaselineError;
use crate::results::{BudgetVerdict, ResultFileError, RunSummary};
use crate::scenario::{OnUndecided, ScenarioError};
use crate::stats::compare::{Comparison, MismatchError, Outcome};
use crate::stats::design;
use crate::sys::output::OutputError;
use crate::target;

/// The exit codes (documented in the README, beside 130 and 143 for SIGINT and SIGTERM).
pub mod exit_code {
    /// Measured and judged: nothing regressed, every budget held.
    pub const PASS: u8 = 0;
    /// A primary statistic regressed or a `[gate]` budget was breached.
    pub const FAIL: u8 = 1;
    /// What the user gave (scenario, overrides, result files, output paths) is invalid;
    /// nothing ran, or nothing was judged.
    pub const INVALID_INPUT: u8 = 2;
    /// The harness or the target failed (most iterations failed, a process could not start).
    pub const FAILURE: u8 = 3;
    /// The gate could not judge every primary statistic (and the policy says so).
    pub const UNDECIDED: u8 = 4;
}

/// The gate's verdict on a run or comparison (beside [`crate::stats::compare::RowVerdict`], one
/// statistic's, and [`crate::results::BudgetVerdict`], one budget's), for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateVerdict {
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
    #[error(transparent)]
    Rank(#[from] rank::RankError),
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
    #[error(transparent)]
    Calibrate(#[from] calibrate::CalibrateError),
}

impl GateVerdict {
    /// The verdict of a comparison: its outcome, an undecided one as `on_undecided` (the
    /// command line's choice) or the policy says.
    pub fn of(comparison: &Comparison, on_undecided: Option<OnUndecided>) -> Self {
        match comparison.outcome() {
            Outcome::Pass => GateVerdict::Pass,
            Outcome::Fail => GateVerdict::Fail,
            Outcome::Undecided => {
                GateVerdict::Undecided(on_undecided.unwrap_or(comparison.policy.undecided))
            }
        }
    }

    /// The verdict of a run judged on its budgets alone (no baseline).
    pub(crate) fn of_budgets(summary: &RunSummary, on_undecided: Option<OnUndecided>) -> Self {
        if !summary.budgets_passed() {
            GateVerdict::Fail
        } else if summary
            .budgets
            .iter()
            .any(|b| b.verdict == BudgetVerdict::Inconclusive)
        {
            GateVerdict::Undecided(on_undecided.unwrap_or(summary.policy.undecided))
        } else {
            GateVerdict::Pass
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
            | Error::Rank(_)
            | Error::Shard(_)
            | Error::Design(_)
            | Error::NotABaseline(_)
            | Error::Merge(_)
            | Error::ResultFile(_)
            | Error::Mismatch(_)
            | Error::OutputPath(_) => true,
            Error::Calibrate(e) => matches!(e, calibrate::CalibrateError::Empty),
            Error::Baseline(e) => !matches!(e, BaselineError::Output(_)),
            Error::Ingest(e) => e.is_invalid_input(),
            Error::Push(e) => e.is_invalid_input(),
            Error::Ab(e) => e.is_invalid_input(),
            _ => false,
        }
    }
}

impl GateVerdict {
    /// The process's exit code for this verdict.
    pub fn exit_code(self) -> u8 {
        match self {
            GateVerdict::Pass => exit_code::PASS,
            GateVerdict::Fail => exit_code::FAIL,
            GateVerdict::Undecided(OnUndecided::Undecided) => exit_code::UNDECIDED,
            GateVerdict::Undecided(OnUndecided::Fail) => exit_code::FAIL,
            GateVerdict::Undecided(OnUndecided::Pass) => exit_code::PASS,
            GateVerdict::TargetFailure => exit_code::FAILURE,
            GateVerdict::Interrupted(signal) => crate::sys::shutdown::exit_code(signal),
        }
    }
}

impl Error {
    /// How a command that failed with this error ended: interrupted when a stop was asked
    /// for (an install or a child cut short by it is the stop's doing, not a failure), else
    /// `None` (the error's own exit code, [`Error::exit_code`]).
    pub fn interruption(&self) -> Option<GateVerdict> {
        if let Error::Ab(e) = self
            && let ab::AbError::Interrupted(signal) = **e
        {
            return Some(GateVerdict::Interrupted(signal));
        }
        crate::sys::shutdown::requested().map(GateVerdict::Interrupted)
    }

    /// The process's exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self.interruption() {
            Some(verdict) => verdict.exit_code(),
            None if self.is_invalid_input() => exit_code::INVALID_INPUT,
            None => exit_code::FAILURE,
        }
    }
}
