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
//! The comparison loop both designs share, and the designs themselves, are in [`designs`];
//! one row's judgement and Holm's procedure in [`judge`]; here: the comparison's types. The
//! interval estimators live in [`super::estimate`].
//!
//! Why one long file: the comparison's types are the committed JSON Schema
//! (`schemas/comparison.schema.json`) and their methods (outcome, undecided reasons, where a
//! change came from) are what every report reads; one file keeps the format in one view.

mod designs;
mod judge;

pub(crate) use designs::{against_baseline, paired_rounds};
#[cfg(test)]
pub(crate) use judge::classify;
use judge::{Estimated, Units, Unjudged, holm, judge};

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
// `Verdict` in the JSON Schema, as the field calls it; `RowVerdict` here beside the
// `GateVerdict` of a whole run or comparison and the `BudgetVerdict` of a budget.
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
    /// Its series.
    pub fn key(&self) -> crate::model::series::MetricKey {
        crate::model::series::MetricKey::new(&self.metric, self.status.as_deref())
    }

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
    /// An A/B's per-side settings (`--a-set`, `--b-set`): the difference the run was asked
    /// to measure, shown as what it is rather than as a mismatch.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub side_settings: Vec<String>,
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
            let label = r.key().label();
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
        let m = holm(&mut rows, &RegressionPolicy::default(), units);
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
            side_settings: vec![],
            sequential: None,
            policy_source: String::new(),
        };
        assert!(!c.regressed(), "an informational regression never fails");
        c.rows.push(rows[0].clone());
        assert!(c.regressed());
    }

    fn three_primaries(weight_of_a: Option<f64>) -> RegressionPolicy {
        RegressionPolicy {
            primary: vec!["a.p50".into(), "b.p50".into(), "c.p50".into()],
            weights: weight_of_a
                .map(|w| [("a.p50".to_owned(), w)].into())
                .unwrap_or_default(),
            ..RegressionPolicy::default()
        }
    }

    /// Rows a, b, c with the given one-sided p-values, judged by (weighted) Holm; which were
    /// called regressed.
    fn holm_of(p: [f64; 3], policy: &RegressionPolicy) -> [bool; 3] {
        let mut rows: Vec<_> = ["a", "b", "c"]
            .iter()
            .zip(p)
            .map(|(m, p)| row(m, p, 0.5, true))
            .collect();
        let units = Units {
            design: Design::Paired,
            count: 10,
        };
        holm(&mut rows, policy, units);
        [0, 1, 2].map(|i| rows[i].verdict == RowVerdict::Regressed)
    }

    #[test]
    fn weighted_holm_gives_the_heavy_row_more_of_alpha_and_keeps_the_family_level() {
        // a weighs 2 of 4: tested first at 0.025 · 2/4 = 0.0125, where equal weights give it
        // 0.025 / 3 = 0.0083.
        let equal = three_primaries(None);
        let weighted = three_primaries(Some(2.0));
        assert_eq!(holm_of([0.01, 0.5, 0.5], &equal), [false; 3]);
        assert_eq!(holm_of([0.01, 0.5, 0.5], &weighted), [true, false, false]);
        // Step-down: once a is rejected, b is tested at 0.025 · 1/2.
        assert_eq!(holm_of([0.01, 0.012, 0.5], &weighted), [true, true, false]);
        // A light row pays: 0.007 would pass equal Holm's first step (0.0083), not 0.025/4.
        assert_eq!(holm_of([0.5, 0.007, 0.5], &equal), [false, true, false]);
        assert_eq!(holm_of([0.5, 0.007, 0.5], &weighted), [false; 3]);

        // The family level by simulation: all three rows at the threshold (p uniform), the
        // rows independent or all equal (Holm needs no assumption on their dependence).
        use rand::{Rng, SeedableRng, rngs::SmallRng};
        use rand_distr::{Distribution, Normal};
        use statrs::distribution::{ContinuousCDF, Normal as StdNormal};
        const TRIALS: u32 = 4000;
        let mut rng = SmallRng::seed_from_u64(23);
        let (mut independent, mut equal_p) = (0u32, 0u32);
        for _ in 0..TRIALS {
            let p = [rng.random::<f64>(), rng.random(), rng.random()];
            independent += u32::from(holm_of(p, &weighted).contains(&true));
            equal_p += u32::from(holm_of([p[0]; 3], &weighted).contains(&true));
        }
        println!(
            "weighted Holm, all rows at the threshold: {independent} of {TRIALS} false \
             regressions (independent rows), {equal_p} of {TRIALS} (equal rows); level 2.5%"
        );
        // 2.5% of 4000 is 100; three binomial sds (≈ 10) above it is the bound. A level
        // spread without dividing by the weights' sum would give ~200.
        for count in [independent, equal_p] {
            assert!(count <= 130, "{count} of {TRIALS} false regressions");
        }
        // Power for a shift of a alone (its z-statistic 2.5 above the threshold on average).
        let shifted = Normal::new(2.5, 1.0).unwrap();
        let standard = StdNormal::standard();
        let (mut caught_equal, mut caught_weighted) = (0u32, 0u32);
        for _ in 0..TRIALS {
            let z = shifted.sample(&mut rng);
            let p = [1.0 - standard.cdf(z), rng.random(), rng.random()];
            caught_equal += u32::from(holm_of(p, &equal)[0]);
            caught_weighted += u32::from(holm_of(p, &weighted)[0]);
        }
        println!(
            "a shifted (z 2.5): caught {caught_equal} of {TRIALS} with equal weights, \
             {caught_weighted} of {TRIALS} with a weighing 2 of 4"
        );
        assert!(caught_weighted > caught_equal + TRIALS / 20);
    }
}
