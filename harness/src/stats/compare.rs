//! Comparing runs: per (metric, status) and percentile, an interval of the change with the
//! run or round as the unit ([`super::estimate`]), judged against the practical threshold of
//! the current run's regression policy.
//!
//! Two designs:
//! * **history**: the current run against a baseline history of runs (`compare`,
//!   `run --baseline`). Too short a history gives `inconclusive` with its reason.
//! * **paired**: an A/B run's alternating rounds (`ab`), B − A round by round.
//!
//! Per row, the interval decides: `regressed` when it lies wholly above +threshold,
//! `improved` wholly below −threshold, `unchanged` wholly within ±threshold, otherwise
//! `inconclusive`. Only the policy's *primary* rows can fail the gate, and for them the
//! family-wise error is controlled with Holm's step-down procedure on the one-sided p-values
//! of "the change exceeds +threshold": with six primary rows, a 95% policy keeps the chance
//! that any of them falsely regresses at 2.5%, not 6 × 2.5%. Every other row is
//! informational: shown with its verdict, never failing.
//!
//! Why one long file: both designs (history and paired) share the row judgement, Holm's
//! procedure and the row order; the interval estimators live in [`super::estimate`].

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::model::sample::Resolution;
use crate::model::series::{MetricKey, Series};
use crate::results::{BudgetRow, DecodedRound, LoadedResult, merge_rounds};
use crate::scenario::RegressionPolicy;

use super::estimate::{Interval, NoInterval, against_history, mean, paired, t_quantile};
use super::{budget, needed_for, resolution_ms, round_value};

/// Percentiles compared.
pub(crate) const QUANTILES: [(&str, f64); 4] =
    [("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99)];

/// The outcome for one percentile of one series.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
// `Verdict` in the JSON Schema, as the field calls it; `RowVerdict` here beside the run's
// `Verdict` of a whole run.
#[schemars(rename = "Verdict")]
pub enum RowVerdict {
    Regressed,
    Inconclusive,
    Improved,
    Unchanged,
}

impl RowVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            RowVerdict::Regressed => "regressed",
            RowVerdict::Inconclusive => "inconclusive",
            RowVerdict::Improved => "improved",
            RowVerdict::Unchanged => "unchanged",
        }
    }
}

/// The least share of a change a phase must move by to be named as where it came from.
pub(crate) const EXPLAINING_SHARE: f64 = 0.5;

/// One compared percentile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StatComparison {
    pub metric: String,
    pub status: Option<String>,
    pub statistic: String,
    /// A primary row can fail the gate; the others are informational.
    pub primary: bool,
    /// Samples on each side, pooled.
    pub baseline_count: u64,
    pub current_count: u64,
    /// The estimator's values: means of per-round percentiles (over runs, for a history).
    pub baseline_ms: f64,
    pub current_ms: f64,
    pub delta_ms: f64,
    /// delta / baseline; absent when the baseline is 0.
    pub delta_pct: Option<f64>,
    /// The interval of current − baseline at the policy's confidence; absent when it could
    /// not be formed (the reason says why).
    pub ci_low_ms: Option<f64>,
    pub ci_high_ms: Option<f64>,
    /// One-sided p-value of "the change exceeds +threshold".
    pub p_value: Option<f64>,
    pub threshold_ms: f64,
    pub verdict: RowVerdict,
    pub reason: String,
    /// The unit the series was reported in on both sides; absent when the sides disagree
    /// (then the row is not compared). Reports print a value's digits by it.
    #[serde(default)]
    pub resolution: Option<Resolution>,
    /// For an inconclusive primary row: what would decide it (more iterations per round, more
    /// baseline runs, about how many more round pairs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_decide: Option<String>,
}

impl StatComparison {
    /// The interval rules out a regression beyond the threshold (its upper end is within
    /// it): "not regressed", whether or not it also rules out an improvement.
    pub fn rules_out_regression(&self) -> bool {
        self.verdict != RowVerdict::Regressed
            && self
                .ci_high_ms
                .is_some_and(|high| high <= self.threshold_ms)
    }
}

/// What a comparison says of one metric's p50 ([`Comparison::p50_regression`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Regression {
    /// Some status's row regressed.
    Regressed,
    /// Every status's interval rules a regression out.
    RuledOut,
    /// Neither (or the metric was not compared).
    Undecided,
}

/// Where a first-token change came from ([`Comparison::source_of`]).
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// A startup phase moved with it.
    Phase(&'a StatComparison),
    /// A part of the wait for the first delta, with where that is.
    Part(&'a StatComparison, &'static str),
}

/// How a comparison came out for the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every primary row decided unchanged or improved, and every budget held.
    Pass,
    /// A primary row regressed or a budget was breached.
    Fail,
    /// Nothing failed, but some primary row (or budget) could not be decided: the gate could
    /// not judge, which is not a pass.
    Undecided,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "FAIL",
            Outcome::Undecided => "UNDECIDED",
        }
    }
}

/// Identifies a compared run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunRef {
    pub path: String,
    pub scenario: String,
    pub content_hash: String,
    pub target: String,
    pub target_version: String,
    pub git_commit: Option<String>,
}

impl RunRef {
    pub fn of(result: &LoadedResult) -> Self {
        let s = &result.summary;
        Self {
            path: result.path.clone(),
            scenario: s.scenario.name.clone(),
            content_hash: s.scenario.content_hash.clone(),
            target: s.target.name.clone(),
            target_version: s.target.version.clone(),
            git_commit: s.environment.git_commit.clone(),
        }
    }
}

/// How the two sides were measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Design {
    /// The current run against a baseline history of runs.
    History,
    /// Alternating A/B rounds.
    Paired,
}

/// Version of the comparison JSON.
pub(crate) const COMPARISON_SCHEMA_VERSION: u32 = 2;

/// A whole comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Comparison {
    pub schema_version: u32,
    pub design: Design,
    /// The newest baseline run (history), or side A.
    pub baseline: RunRef,
    /// Runs in the baseline history, or A/B rounds.
    pub baseline_runs: usize,
    pub current: RunRef,
    /// Rounds of the current run, or A/B rounds.
    pub current_rounds: usize,
    pub policy: RegressionPolicy,
    /// Primary rows with an interval: the family Holm's procedure controls.
    pub primary_rows: usize,
    /// Sorted: regressions first, then inconclusive, improved, unchanged; primary rows
    /// before informational ones within each.
    pub rows: Vec<StatComparison>,
    /// Series present on one side only: "`metric[status]` only in baseline/current".
    pub unmatched: Vec<String>,
    /// The current run's absolute budgets.
    pub budgets: Vec<BudgetRow>,
    /// Settings that differ between the runs, when the comparison was forced.
    pub mismatches: Vec<String>,
    /// For a sequential A/B (`ab --until-decided`): the look it was judged at, whose
    /// intervals are at that look's confidence, not the policy's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequential: Option<super::sequential::Look>,
    /// Where `policy` and the budgets came from: a scenario file the judge was given, or the
    /// baseline, never the file under judgment.
    #[serde(default)]
    pub policy_source: String,
}

impl Comparison {
    pub fn count(&self, verdict: RowVerdict) -> usize {
        self.rows.iter().filter(|r| r.verdict == verdict).count()
    }

    /// A primary row regressed: the gate fails.
    pub fn regressed(&self) -> bool {
        self.rows
            .iter()
            .any(|r| r.primary && r.verdict == RowVerdict::Regressed)
    }

    /// Of the p50 rows `is_phase` accepts, the one that moved most in the direction of
    /// `changed` with a verdict (regressed or improved) and by at least `EXPLAINING_SHARE`
    /// of `changed`'s move: where a change came from. (An informational row's verdict alone is
    /// not enough: among dozens of rows one regresses by noise now and then, by a sliver.)
    pub fn moved_most(
        &self,
        changed: &StatComparison,
        is_phase: impl Fn(&StatComparison) -> bool,
    ) -> Option<&StatComparison> {
        self.rows
            .iter()
            .filter(|r| r.statistic == "p50" && is_phase(r))
            .filter(|r| r.delta_ms.signum() == changed.delta_ms.signum())
            .filter(|r| matches!(r.verdict, RowVerdict::Regressed | RowVerdict::Improved))
            .filter(|r| r.delta_ms.abs() >= EXPLAINING_SHARE * changed.delta_ms.abs())
            .max_by(|a, b| a.delta_ms.abs().total_cmp(&b.delta_ms.abs()))
    }

    /// Whether `metric`'s p50 regressed (any status), a regression is ruled out (every status),
    /// or neither; with the first row's change. Bisect's question.
    pub fn p50_regression(&self, metric: &str) -> (Regression, Option<f64>) {
        let rows: Vec<&StatComparison> = self
            .rows
            .iter()
            .filter(|r| r.metric == metric && r.statistic == "p50")
            .collect();
        let answer = if rows.iter().any(|r| r.verdict == RowVerdict::Regressed) {
            Regression::Regressed
        } else if !rows.is_empty() && rows.iter().all(|r| r.rules_out_regression()) {
            Regression::RuledOut
        } else {
            Regression::Undecided
        };
        (answer, rows.first().map(|r| r.delta_ms))
    }

    /// Where a change of `changed` (a first-token row's p50) came from: the startup phase
    /// whose p50 moved most with it (by `EXPLAINING_SHARE` of it, with a verdict), else the
    /// part of the first token's wait that carries at least half of it, as the mock's
    /// timestamps split it (the runtime before its request reached the mock, the mock, the
    /// runtime after the first delta left it); None when neither can be named.
    pub fn source_of(&self, changed: &StatComparison) -> Option<Source<'_>> {
        use crate::model::metric::{
            CLIENT_DELTA_FROM_MOCK, CLIENT_TURN_TO_MOCK, FIRST_TOKEN_PARTS, MOCK_FIRST_DELTA,
            WEBSOCKET_CONNECT,
        };
        let phase = self.moved_most(changed, |r| {
            r.metric == WEBSOCKET_CONNECT
                || (r.metric.starts_with("startup_prewarm_") && !r.metric.ends_with("_total"))
        });
        if let Some(row) = phase {
            return Some(Source::Phase(row));
        }
        // The parts add up to the harness's own wait for the first delta, so the one that
        // carries at least half of the change is where it is, whether or not its own interval
        // (informational, noisier than the whole) has reached a verdict.
        let part = self
            .rows
            .iter()
            .filter(|r| r.statistic == "p50" && FIRST_TOKEN_PARTS.contains(&r.metric.as_str()))
            .filter(|r| r.delta_ms.signum() == changed.delta_ms.signum())
            .filter(|r| r.delta_ms.abs() >= 0.5 * changed.delta_ms.abs())
            .max_by(|a, b| a.delta_ms.abs().total_cmp(&b.delta_ms.abs()))?;
        let place = match part.metric.as_str() {
            m if m == CLIENT_TURN_TO_MOCK => "the runtime, before its request reached the mock",
            m if m == MOCK_FIRST_DELTA => "the mock's answer (its injected delay and overhead)",
            m if m == CLIENT_DELTA_FROM_MOCK => "the runtime, after the first delta left the mock",
            _ => unreachable!("filtered to the parts"),
        };
        Some(Source::Part(part, place))
    }

    pub fn budgets_breached(&self) -> bool {
        self.budgets.iter().any(|b| !b.passed)
    }

    /// Pass, fail, or undecided: fail on a primary regression or a breached budget; otherwise
    /// undecided while a primary row is inconclusive, a budget unsure, or no primary row was
    /// compared at all.
    pub fn outcome(&self) -> Outcome {
        if self.regressed() || self.budgets_breached() {
            Outcome::Fail
        } else if self.undecided().next().is_some()
            || !self.rows.iter().any(|r| r.primary)
            || self
                .budgets
                .iter()
                .any(|b| b.verdict == crate::results::BudgetVerdict::Inconclusive)
        {
            Outcome::Undecided
        } else {
            Outcome::Pass
        }
    }

    /// The primary rows the comparison could not decide.
    pub fn undecided(&self) -> impl Iterator<Item = &StatComparison> {
        self.rows
            .iter()
            .filter(|r| r.primary && r.verdict == RowVerdict::Inconclusive)
    }

    /// Why the comparison is undecided, one line each (empty when it is not).
    pub fn undecided_reasons(&self) -> Vec<String> {
        if self.outcome() != Outcome::Undecided {
            return Vec::new();
        }
        let mut out = Vec::new();
        if !self.rows.iter().any(|r| r.primary) {
            out.push(format!(
                "no primary statistic was compared: the policy's primary set ({}) names none of \
                 the series both sides have",
                self.policy.primary.join(", ")
            ));
        }
        for r in self.undecided() {
            let label = crate::model::metric::series_label(&r.metric, r.status.as_deref());
            out.push(match &r.to_decide {
                Some(fix) => format!("{label} {}: {}; {fix}", r.statistic, r.reason),
                None => format!("{label} {}: {}", r.statistic, r.reason),
            });
        }
        for b in &self.budgets {
            if b.verdict == crate::results::BudgetVerdict::Inconclusive {
                out.push(format!(
                    "budget {}: its interval straddles the limit; more iterations narrow it",
                    b.key
                ));
            }
        }
        out
    }

    /// Sorts the rows and rounds what the file states to what was measured: milliseconds to
    /// the microsecond, ratios to 1e-6 (after every verdict was reached).
    fn finish(&mut self) {
        let us = |v: f64| (v * 1e3).round() / 1e3;
        for row in &mut self.rows {
            row.baseline_ms = us(row.baseline_ms);
            row.current_ms = us(row.current_ms);
            row.delta_ms = us(row.delta_ms);
            row.threshold_ms = us(row.threshold_ms);
            row.ci_low_ms = row.ci_low_ms.map(us);
            row.ci_high_ms = row.ci_high_ms.map(us);
            row.delta_pct = row.delta_pct.map(|p| (p * 1e6).round() / 1e6);
        }
        self.sort_rows();
    }

    fn sort_rows(&mut self) {
        let stat_rank = |s: &str| QUANTILES.iter().position(|(n, _)| *n == s).unwrap_or(9);
        self.rows.sort_by(|a, b| {
            (
                a.verdict,
                !a.primary,
                crate::model::metric::report_rank(&a.metric),
                &a.metric,
                &a.status,
                stat_rank(&a.statistic),
            )
                .cmp(&(
                    b.verdict,
                    !b.primary,
                    crate::model::metric::report_rank(&b.metric),
                    &b.metric,
                    &b.status,
                    stat_rank(&b.statistic),
                ))
        });
    }
}

/// The JSON Schema of the comparison file (committed as `schemas/comparison.schema.json`).
pub(crate) fn json_schema() -> String {
    let schema = schemars::schema_for!(Comparison);
    String::from_utf8(crate::results::json_bytes(&schema)).expect("JSON is UTF-8")
}

/// Why two runs were not compared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "refusing to compare {current} with {baseline}: {}; pass --allow-mismatch to compare anyway",
    differences.join("; ")
)]
pub struct MismatchError {
    pub current: String,
    pub baseline: String,
    pub differences: Vec<String>,
}

pub(crate) use crate::results::differences;

fn label(key: &MetricKey) -> String {
    crate::model::metric::series_label(&key.metric, key.status.as_deref())
}

/// The resolution of `key` across rounds: Err when they disagree.
fn resolution_of<'a>(
    rounds: impl IntoIterator<Item = &'a DecodedRound>,
    key: &MetricKey,
) -> Result<Option<Resolution>, ()> {
    let seen: BTreeSet<Resolution> = rounds
        .into_iter()
        .filter_map(|r| r.get(key).map(|s| s.resolution))
        .collect();
    match seen.len() {
        0 => Ok(None),
        1 => Ok(seen.into_iter().next()),
        _ => Err(()),
    }
}

/// What one row needs from either design: the sides' values and, when it could be formed,
/// the interval of the change.
struct Estimated {
    baseline_ms: f64,
    current_ms: f64,
    interval: Result<Interval, Unjudged>,
}

/// Why a row has no interval.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum Unjudged {
    #[error("too few samples per round for {name}: it needs {needed} in a round")]
    TooFewSamples { name: &'static str, needed: u64 },
    #[error(transparent)]
    NoInterval(#[from] NoInterval),
    #[error(
        "not compared: the runs reported this series at different resolutions (microseconds in \
         some, whole milliseconds in others)"
    )]
    MixedResolution,
}

/// What a comparison's design offers to decide a row: how many units (round pairs, or the
/// current run's rounds) it had, and whether more of them narrow the interval.
#[derive(Debug, Clone, Copy)]
struct Units {
    design: Design,
    /// Round pairs (paired), or the current run's rounds (history).
    count: usize,
}

impl Units {
    /// What would decide a row left without an interval.
    fn unjudged(self, why: &Unjudged, current_count: u64) -> String {
        let n = self.count.max(1) as u64;
        match why {
            Unjudged::TooFewSamples { name, needed } => format!(
                "{name} needs {needed} samples per round and the rounds have about {}: use at \
                 least {} iterations for {n} rounds (or fewer rounds: `--rounds auto`)",
                current_count / n,
                needed * n
            ),
            Unjudged::NoInterval(NoInterval::ShortHistory { runs }) => format!(
                "save at least {} more run{} to the baseline (a history needs {}), or judge with \
                 `phasebench ab --until-decided`, which needs no history",
                super::estimate::MIN_HISTORY_RUNS - runs,
                if super::estimate::MIN_HISTORY_RUNS - runs == 1 {
                    ""
                } else {
                    "s"
                },
                super::estimate::MIN_HISTORY_RUNS
            ),
            Unjudged::NoInterval(NoInterval::EmptyCurrent) => {
                "the current run needs rounds with enough samples: more iterations per round".into()
            }
            Unjudged::NoInterval(NoInterval::TooFewPairs { .. }) => format!(
                "at least {} round pairs with enough samples on both sides",
                super::estimate::MIN_PAIRED_ROUNDS
            ),
            Unjudged::MixedResolution => {
                "compare runs that report the series at one resolution".into()
            }
        }
    }

    /// What would decide a row whose interval (at the level it was judged, `quantile` of t)
    /// is still too wide: more round pairs shrink it as 1/√n.
    fn straddling(self, row: &StatComparison, standard_error: f64, quantile: f64) -> String {
        let estimate = row.delta_ms;
        let distance = (estimate.abs() - row.threshold_ms).abs();
        match self.design {
            Design::History => "the interval holds the runs' spread, which more rounds of this \
                 run cannot narrow: more runs in the baseline do, or judge with `phasebench ab \
                 --until-decided`"
                .into(),
            Design::Paired => {
                let n = self.count.max(1) as f64;
                let wanted = (quantile * standard_error / distance.max(1e-12)).powi(2) * n;
                if !wanted.is_finite() || wanted > 100.0 * n {
                    format!(
                        "the change ({estimate:+.3} ms) sits at the threshold (±{:.3} ms): more \
                         than {} more round pairs, or a threshold that says which side it is on",
                        row.threshold_ms,
                        (99.0 * n) as u64
                    )
                } else {
                    let more = (wanted - n).ceil().max(1.0) as u64;
                    format!(
                        "about {more} more round pair{} (`ab --until-decided` adds them)",
                        if more == 1 { "" } else { "s" }
                    )
                }
            }
        }
    }
}

fn judge(
    key: &MetricKey,
    (name, q): (&'static str, f64),
    counts: (u64, u64),
    resolution: Resolution,
    estimated: Estimated,
    policy: &RegressionPolicy,
    units: Units,
) -> StatComparison {
    let Estimated {
        baseline_ms,
        current_ms,
        interval,
    } = estimated;
    let delta_ms = current_ms - baseline_ms;
    let threshold_ms = policy.threshold_ms(&key.metric, baseline_ms, resolution_ms(resolution));
    let mut row = StatComparison {
        metric: key.metric.clone(),
        status: key.status.clone(),
        statistic: name.to_owned(),
        primary: policy.is_primary(&key.metric, q),
        baseline_count: counts.0,
        current_count: counts.1,
        baseline_ms,
        current_ms,
        delta_ms,
        delta_pct: (baseline_ms > 0.0).then(|| delta_ms / baseline_ms),
        ci_low_ms: None,
        ci_high_ms: None,
        p_value: None,
        threshold_ms,
        verdict: RowVerdict::Inconclusive,
        reason: String::new(),
        resolution: Some(resolution),
        to_decide: None,
    };
    let interval = match interval {
        Ok(i) => i,
        Err(why) => {
            row.reason = why.to_string();
            if row.primary {
                row.to_decide = Some(units.unjudged(&why, counts.1));
            }
            return row;
        }
    };
    let (lo, hi, t) = (interval.low, interval.high, threshold_ms);
    row.ci_low_ms = Some(lo);
    row.ci_high_ms = Some(hi);
    row.p_value = Some(interval.p_above(t));
    let conf = percent_label(policy.confidence);
    row.verdict = classify(lo, hi, t);
    row.reason = match row.verdict {
        RowVerdict::Regressed => format!("the {conf}% interval lies above +{t:.3} ms"),
        RowVerdict::Improved => format!("the {conf}% interval lies below -{t:.3} ms"),
        RowVerdict::Unchanged => format!("the {conf}% interval lies within ±{t:.3} ms"),
        RowVerdict::Inconclusive => format!("the {conf}% interval straddles ±{t:.3} ms"),
    };
    if row.primary && row.verdict == RowVerdict::Inconclusive {
        let quantile = t_quantile(0.5 + policy.confidence / 2.0, interval.degrees_of_freedom);
        row.to_decide = Some(units.straddling(&row, interval.standard_error, quantile));
    }
    row
}

/// A row's verdict from its interval `[low, high]` of the change and its threshold: regressed
/// wholly above +threshold, improved wholly below −threshold, unchanged wholly within,
/// inconclusive otherwise.
pub(crate) fn classify(low: f64, high: f64, threshold: f64) -> RowVerdict {
    if low > threshold {
        RowVerdict::Regressed
    } else if high < -threshold {
        RowVerdict::Improved
    } else if low >= -threshold && high <= threshold {
        RowVerdict::Unchanged
    } else {
        RowVerdict::Inconclusive
    }
}

/// A confidence as a percentage with the digits it needs ("95", "99.17").
fn percent_label(confidence: f64) -> String {
    let text = format!("{:.2}", confidence * 100.0);
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Holm's step-down procedure over the primary rows' one-sided p-values, at the one-sided
/// level the policy's two-sided confidence implies. A primary row whose own interval lies
/// above the threshold but that the procedure does not reject becomes inconclusive.
fn holm(rows: &mut [StatComparison], confidence: f64, units: Units) -> usize {
    let alpha = (1.0 - confidence) / 2.0;
    let mut family: Vec<usize> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.primary && r.p_value.is_some())
        .map(|(i, _)| i)
        .collect();
    let m = family.len();
    family.sort_by(|&a, &b| {
        rows[a]
            .p_value
            .unwrap()
            .total_cmp(&rows[b].p_value.unwrap())
    });
    let mut rejecting = true;
    for (k, &i) in family.iter().enumerate() {
        let level = alpha / (m - k) as f64;
        let p = rows[i].p_value.expect("family rows have p-values");
        rejecting = rejecting && p <= level;
        let row = &mut rows[i];
        if rejecting {
            row.verdict = RowVerdict::Regressed;
            row.reason = format!(
                "the change exceeds +{:.3} ms: p = {p:.2e} ≤ {level:.2e} (Holm, {m} primary rows)",
                row.threshold_ms
            );
        } else if row.verdict == RowVerdict::Regressed {
            row.verdict = RowVerdict::Inconclusive;
            row.reason = format!(
                "the interval lies above +{:.3} ms, but not beyond the family-wise correction: \
                 p = {p:.2e} > {level:.2e} (Holm, {m} primary rows)",
                row.threshold_ms
            );
            // The t the row would need at Holm's level, against the t it has.
            if let (Some(lo), Some(hi)) = (row.ci_low_ms, row.ci_high_ms) {
                let z = normal_quantile(1.0 - level);
                let z_conf = normal_quantile(0.5 + confidence / 2.0);
                let standard_error = (hi - lo) / 2.0 / z_conf;
                row.to_decide = Some(units.straddling(row, standard_error, z));
            }
        }
    }
    m
}

/// The standard normal's `p` quantile (Holm's levels are small; the degrees of freedom are
/// not known there, so the advice it feeds is "about").
fn normal_quantile(p: f64) -> f64 {
    use statrs::distribution::{ContinuousCDF, Normal};
    Normal::standard().inverse_cdf(p)
}

/// How to compare.
#[derive(Debug, Clone, Default)]
pub(crate) struct CompareOptions {
    pub allow_mismatch: bool,
    /// A sequential A/B's look: its intervals are formed at the look's confidence.
    pub look: Option<super::sequential::Look>,
    /// The policy to judge by; none: the baseline's (the newest run of the history, or A).
    pub judging: Option<Judging>,
}

/// The policy a comparison judges by (thresholds, confidence, primary rows, budgets) and
/// where it came from: a scenario file the judge was given, or the baseline, never the file
/// under judgment (a result edited to raise a limit or delete a budget would pass itself).
#[derive(Debug, Clone)]
pub(crate) struct Judging {
    pub policy: RegressionPolicy,
    pub budgets: Vec<crate::scenario::Budget>,
    /// Shown with the comparison: "the scenario scenarios/ci/x.toml", "the baseline b.json".
    pub source: String,
}

impl Judging {
    /// The scenario's own gate.
    pub(crate) fn of_scenario(scenario: &crate::scenario::Scenario) -> Self {
        Self {
            policy: scenario.policy.clone(),
            budgets: scenario.budgets.clone(),
            // The file's name, not its path: the same scenario judged on two machines (a
            // CI matrix and its rejudge) names its gate alike.
            source: match scenario.path.as_deref().and_then(|p| p.file_name()) {
                Some(file) => format!("the scenario {}", file.to_string_lossy()),
                None => format!("the scenario {}", scenario.name),
            },
        }
    }

    /// The gate a stored run was judged by (its policy and budget limits).
    pub(crate) fn of_result(result: &LoadedResult, what: &str) -> Self {
        Self {
            policy: result.summary.policy.clone(),
            budgets: result
                .summary
                .budgets
                .iter()
                .filter_map(|row| budget::budget_of(&row.key, row.limit_ms, row.inclusive))
                .collect(),
            source: format!("{what} {}", result.path),
        }
    }
}

/// Refuses two sides that measured different things, unless allowed (then they are listed
/// with the comparison).
fn check_comparable(
    mismatches: Vec<String>,
    options: &CompareOptions,
    current: &str,
    baseline: &str,
) -> Result<Vec<String>, MismatchError> {
    if !mismatches.is_empty() && !options.allow_mismatch {
        return Err(MismatchError {
            current: current.to_owned(),
            baseline: baseline.to_owned(),
            differences: mismatches,
        });
    }
    Ok(mismatches)
}

/// How a design estimates one statistic's change from its sides' units: the history design
/// from the baseline's runs against the current run's rounds, the paired design from B − A
/// round by round.
enum Estimator<'a> {
    History {
        history: &'a [LoadedResult],
        current: &'a LoadedResult,
        /// The baseline's runs pooled (its value when no interval can be formed).
        merged_baseline: DecodedRound,
    },
    Paired {
        a: Vec<&'a DecodedRound>,
        b: Vec<&'a DecodedRound>,
    },
}

impl Estimator<'_> {
    /// The baseline's and the current side's values of quantile `q` of `key` and, when it can
    /// be formed, the interval of the change.
    fn estimate(
        &self,
        key: &MetricKey,
        (name, q): (&'static str, f64),
        resolution: Resolution,
        sides: (&Series, &Series),
        confidence: f64,
    ) -> Estimated {
        let too_few = |baseline_ms, current_ms| Estimated {
            baseline_ms,
            current_ms,
            interval: Err(Unjudged::TooFewSamples {
                name,
                needed: needed_for(q),
            }),
        };
        match self {
            Estimator::History {
                history,
                current,
                merged_baseline,
            } => {
                let values = |rounds: &[DecodedRound]| -> Vec<f64> {
                    rounds
                        .iter()
                        .filter_map(|r| round_value(r, key, q))
                        .collect()
                };
                let history_values: Vec<Vec<f64>> =
                    history.iter().map(|r| values(&r.rounds)).collect();
                let current_values = values(&current.rounds);
                let run_means: Vec<f64> = history_values
                    .iter()
                    .filter(|v| !v.is_empty())
                    .map(|v| mean(v))
                    .collect();
                if current_values.is_empty() || run_means.is_empty() {
                    let pooled_at = |p: &DecodedRound| {
                        p.get(key)
                            .map_or(0.0, |s| s.histogram.quantile_ms(q, s.resolution))
                    };
                    return too_few(pooled_at(merged_baseline), pooled_at(&current.pooled));
                }
                Estimated {
                    baseline_ms: mean(&run_means),
                    current_ms: mean(&current_values),
                    interval: against_history(
                        &history_values,
                        &current_values,
                        resolution_ms(resolution),
                        confidence,
                    )
                    .map_err(Unjudged::from),
                }
            }
            Estimator::Paired { a, b } => {
                let av: Vec<Option<f64>> = a.iter().map(|r| round_value(r, key, q)).collect();
                let bv: Vec<Option<f64>> = b.iter().map(|r| round_value(r, key, q)).collect();
                let pairs: Vec<(f64, f64)> = av
                    .iter()
                    .zip(&bv)
                    .filter_map(|(a, b)| Some(((*a)?, (*b)?)))
                    .collect();
                if pairs.is_empty() {
                    let (sa, sb) = sides;
                    return too_few(
                        sa.histogram.quantile_ms(q, sa.resolution),
                        sb.histogram.quantile_ms(q, sb.resolution),
                    );
                }
                let a_vals: Vec<f64> = pairs.iter().map(|p| p.0).collect();
                let b_vals: Vec<f64> = pairs.iter().map(|p| p.1).collect();
                Estimated {
                    baseline_ms: mean(&a_vals),
                    current_ms: mean(&b_vals),
                    interval: paired(&av, &bv, resolution_ms(resolution), confidence)
                        .map_err(Unjudged::from),
                }
            }
        }
    }
}

/// The two sides as the comparison loop sees them.
struct Sides<'a> {
    /// Each side's series pooled over all its units.
    baseline: DecodedRound,
    current: DecodedRound,
    /// What the sides are called in "… only in X".
    names: (&'static str, &'static str),
    /// Every unit whose series' resolution must agree.
    resolution_units: Vec<&'a DecodedRound>,
}

/// Rows judged, Holm applied over the primary ones, and the series one side lacks.
struct Judged {
    rows: Vec<StatComparison>,
    primary_rows: usize,
    unmatched: Vec<String>,
}

/// The one comparison loop both designs share: every series either side has (those only one
/// side has listed), each of its quantiles estimated by the design's `estimator` and judged
/// against the policy's threshold, then Holm's procedure over the primary rows.
fn judge_rows(
    sides: &Sides<'_>,
    estimator: &Estimator<'_>,
    policy: &RegressionPolicy,
    units: Units,
) -> Judged {
    let keys: BTreeSet<&MetricKey> = sides.baseline.keys().chain(sides.current.keys()).collect();
    let mut rows = Vec::new();
    let mut unmatched = Vec::new();
    for key in keys {
        let (Some(baseline), Some(current)) = (sides.baseline.get(key), sides.current.get(key))
        else {
            let only = if sides.current.contains_key(key) {
                sides.names.1
            } else {
                sides.names.0
            };
            unmatched.push(format!("{} only in {only}", label(key)));
            continue;
        };
        let counts = (baseline.histogram.count(), current.histogram.count());
        let resolution = match resolution_of(sides.resolution_units.iter().copied(), key) {
            Ok(r) => r.unwrap_or(Resolution::Us),
            Err(()) => {
                for stat in QUANTILES {
                    rows.push(mixed_resolution_row(key, stat, counts, policy, units));
                }
                continue;
            }
        };
        for stat in QUANTILES {
            let estimated = estimator.estimate(
                key,
                stat,
                resolution,
                (baseline, current),
                policy.confidence,
            );
            rows.push(judge(
                key, stat, counts, resolution, estimated, policy, units,
            ));
        }
    }
    let primary_rows = holm(&mut rows, policy.confidence, units);
    Judged {
        rows,
        primary_rows,
        unmatched,
    }
}

/// The current run against a baseline history (oldest first), under the policy
/// `options.judging` names (the baseline's when none).
pub(crate) fn against_baseline(
    current: &LoadedResult,
    history: &[LoadedResult],
    options: &CompareOptions,
) -> Result<Comparison, MismatchError> {
    let newest = history.last().expect("a history has at least one run");
    let mut mismatches = Vec::new();
    for run in history {
        for d in differences(current, run) {
            if !mismatches.contains(&d) {
                mismatches.push(d);
            }
        }
    }
    let mismatches = check_comparable(mismatches, options, &current.path, &newest.path)?;
    let judging = options
        .judging
        .clone()
        .unwrap_or_else(|| Judging::of_result(newest, "the baseline"));
    let policy = judging.policy.clone();
    let units = Units {
        design: Design::History,
        count: current.rounds.len(),
    };
    let baseline = merge_rounds(history.iter().map(|r| &r.pooled));
    let sides = Sides {
        baseline: baseline.clone(),
        current: current.pooled.clone(),
        names: ("the baseline", "the current run"),
        resolution_units: history
            .iter()
            .flat_map(|r| &r.rounds)
            .chain(&current.rounds)
            .collect(),
    };
    let estimator = Estimator::History {
        history,
        current,
        merged_baseline: baseline,
    };
    let judged = judge_rows(&sides, &estimator, &policy, units);
    // Judged again from the histograms, by the trusted budgets: a stored verdict (or limit)
    // is never believed.
    let budgets = budget::evaluate(&judging.budgets, &current.rounds, policy.confidence);
    let mut comparison = Comparison {
        schema_version: COMPARISON_SCHEMA_VERSION,
        design: Design::History,
        baseline: RunRef::of(newest),
        baseline_runs: history.len(),
        current: RunRef::of(current),
        current_rounds: current.rounds.len(),
        policy,
        primary_rows: judged.primary_rows,
        rows: judged.rows,
        unmatched: judged.unmatched,
        budgets,
        mismatches,
        sequential: None,
        policy_source: judging.source,
    };
    comparison.finish();
    Ok(comparison)
}

fn mixed_resolution_row(
    key: &MetricKey,
    (name, q): (&'static str, f64),
    counts: (u64, u64),
    policy: &RegressionPolicy,
    units: Units,
) -> StatComparison {
    let mut row = judge(
        key,
        (name, q),
        counts,
        Resolution::Ms,
        Estimated {
            baseline_ms: 0.0,
            current_ms: 0.0,
            interval: Err(Unjudged::MixedResolution),
        },
        policy,
        units,
    );
    row.resolution = None;
    row
}

/// B against A over alternating rounds (`a[i]` and `b[i]` ran back to back; each is one
/// `phasebench run`, taken whole), under B's policy; `budgets` are B's, already evaluated.
pub(crate) fn paired_rounds(
    a: &[LoadedResult],
    b: &[LoadedResult],
    budgets: Vec<BudgetRow>,
    options: &CompareOptions,
) -> Result<Comparison, MismatchError> {
    let (first_a, first_b) = (&a[0], &b[0]);
    let mismatches = check_comparable(
        differences(first_b, first_a),
        options,
        &first_b.path,
        &first_a.path,
    )?;
    let judging = options
        .judging
        .clone()
        .unwrap_or_else(|| Judging::of_result(first_b, "B's round"));
    let stated = judging.policy.clone();
    // A look of a sequential plan judges at its own (higher) confidence.
    let policy = RegressionPolicy {
        confidence: options.look.map_or(stated.confidence, |l| l.confidence),
        ..stated.clone()
    };
    let units = Units {
        design: Design::Paired,
        count: a.len().min(b.len()),
    };
    let a_units: Vec<&DecodedRound> = a.iter().map(|r| &r.pooled).collect();
    let b_units: Vec<&DecodedRound> = b.iter().map(|r| &r.pooled).collect();
    let sides = Sides {
        baseline: merge_rounds(a_units.iter().copied()),
        current: merge_rounds(b_units.iter().copied()),
        names: ("A", "B"),
        resolution_units: a_units.iter().chain(&b_units).copied().collect(),
    };
    let estimator = Estimator::Paired {
        a: a_units,
        b: b_units,
    };
    let judged = judge_rows(&sides, &estimator, &policy, units);
    let reference = |side: &LoadedResult, label: &str, n: usize| RunRef {
        path: format!("{label} ({n} rounds)"),
        ..RunRef::of(side)
    };
    let mut comparison = Comparison {
        schema_version: COMPARISON_SCHEMA_VERSION,
        design: Design::Paired,
        baseline: reference(first_a, "A", a.len()),
        baseline_runs: a.len(),
        current: reference(first_b, "B", b.len()),
        current_rounds: b.len(),
        policy: stated,
        primary_rows: judged.primary_rows,
        rows: judged.rows,
        unmatched: judged.unmatched,
        budgets,
        mismatches,
        sequential: options.look,
        policy_source: judging.source,
    };
    comparison.finish();
    Ok(comparison)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(metric: &str, p: f64, low: f64, primary: bool) -> StatComparison {
        StatComparison {
            metric: metric.into(),
            status: None,
            statistic: "p50".into(),
            primary,
            baseline_count: 100,
            current_count: 100,
            baseline_ms: 10.0,
            current_ms: 11.0,
            delta_ms: 1.0,
            delta_pct: Some(0.1),
            ci_low_ms: Some(low),
            ci_high_ms: Some(low + 1.0),
            p_value: Some(p),
            threshold_ms: 0.2,
            verdict: if low > 0.2 {
                RowVerdict::Regressed
            } else {
                RowVerdict::Inconclusive
            },
            reason: String::new(),
            resolution: Some(Resolution::Us),
            to_decide: None,
        }
    }

    #[test]
    fn holm_controls_the_family_and_ignores_informational_rows() {
        // Six primary rows: one clear, one that a single test would call (p = 0.02), and an
        // informational row with p = 0.0001 that must stay out of the family.
        let mut rows = vec![
            row("a", 0.000_01, 0.5, true),
            row("b", 0.02, 0.25, true),
            row("c", 0.5, 0.0, true),
            row("d", 0.6, 0.0, true),
            row("e", 0.7, 0.0, true),
            row("f", 0.8, 0.0, true),
            row("g", 0.000_1, 0.5, false),
        ];
        let units = Units {
            design: Design::Paired,
            count: 10,
        };
        let m = holm(&mut rows, 0.95, units);
        assert_eq!(m, 6);
        assert_eq!(rows[0].verdict, RowVerdict::Regressed);
        // 0.02 > 0.025 / 5: not after the correction.
        assert_eq!(
            rows[1].verdict,
            RowVerdict::Inconclusive,
            "{}",
            rows[1].reason
        );
        assert!(rows[1].reason.contains("Holm"), "{}", rows[1].reason);
        // The informational row keeps its own verdict and never fails the comparison.
        assert_eq!(rows[6].verdict, RowVerdict::Regressed);
        let mut c = Comparison {
            schema_version: 2,
            design: Design::History,
            baseline: RunRef {
                path: String::new(),
                scenario: String::new(),
                content_hash: String::new(),
                target: String::new(),
                target_version: String::new(),
                git_commit: None,
            },
            baseline_runs: 3,
            current: RunRef {
                path: String::new(),
                scenario: String::new(),
                content_hash: String::new(),
                target: String::new(),
                target_version: String::new(),
                git_commit: None,
            },
            current_rounds: 5,
            policy: RegressionPolicy::default(),
            primary_rows: m,
            rows: vec![rows[6].clone()],
            unmatched: vec![],
            budgets: vec![],
            mismatches: vec![],
            sequential: None,
            policy_source: String::new(),
        };
        assert!(!c.regressed(), "an informational regression never fails");
        c.rows.push(rows[0].clone());
        assert!(c.regressed());
    }
}
