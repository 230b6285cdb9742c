//! The documents of `phasebench history` and `bisect` (`--json`): candidates (releases or
//! settings) each paired with a reference in an A/B, their p50s side by side, and the steps
//! of a bisection. Built by `commands::history` from its comparisons, shown by `report::pairings`.

use serde::Serialize;

use crate::stats::compare::RowVerdict;

/// One release's row of the history: each series' p50 with the reference's beside it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct HistoryCell {
    #[serde(flatten)]
    pub key: crate::model::series::MetricKey,
    pub reference_ms: f64,
    pub value_ms: f64,
    pub delta_pct: Option<f64>,
    pub verdict: RowVerdict,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct HistoryRow {
    pub candidate: String,
    pub cells: Vec<HistoryCell>,
}

/// The per-phase table across candidates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct History {
    pub reference: String,
    pub rows: Vec<HistoryRow>,
}

/// One bisect step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct BisectStep {
    pub good: String,
    pub tested: String,
    pub regressed: bool,
    /// The pairing could not say whether the metric regressed (within its round pairs).
    pub undecided: bool,
    /// Round pairs the step ran.
    pub rounds: usize,
    /// The metric's p50 change, ms.
    pub delta_ms: Option<f64>,
}

/// Where a regression began.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Bisection {
    pub metric: String,
    pub steps: Vec<BisectStep>,
    /// The last good and first bad candidates (None when the bad end did not regress).
    pub last_good: Option<String>,
    pub first_bad: Option<String>,
    /// The line naming the phase that moved between them.
    pub moved: Option<String>,
    /// Why the bisect stopped without an answer: a step it could not decide.
    pub undecided: Option<String>,
}
