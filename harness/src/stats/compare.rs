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

use crate::measure::recorder::MetricKey;
use crate::model::sample::Resolution;
use crate::results::{BudgetRow, DecodedRound, LoadedResult, merge_rounds};
use crate::scenario::RegressionPolicy;

use super::estimate::{Interval, against_history, mean, paired};
use super::{budget, needed_for, resolution_ms, round_value};

/// Percentiles compared.
pub const QUANTILES: [(&str, f64); 4] = [("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99)];

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
// [`crate::Verdict`].
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
pub const EXPLAINING_SHARE: f64 = 0.25;

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
pub const COMPARISON_SCHEMA_VERSION: u32 = 2;

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
    /// `changed` with a verdict (regressed or improved) and by at least [`EXPLAINING_SHARE`]
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

    pub fn budgets_breached(&self) -> bool {
        self.budgets.iter().any(|b| !b.passed)
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
pub fn json_schema() -> String {
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

pub use crate::results::differences;

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
    interval: Result<Interval, String>,
}

fn judge(
    key: &MetricKey,
    (name, q): (&str, f64),
    counts: (u64, u64),
    resolution: Resolution,
    estimated: Estimated,
    policy: &RegressionPolicy,
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
    };
    let interval = match interval {
        Ok(i) => i,
        Err(reason) => {
            row.reason = reason;
            return row;
        }
    };
    let (lo, hi, t) = (interval.low, interval.high, threshold_ms);
    row.ci_low_ms = Some(lo);
    row.ci_high_ms = Some(hi);
    row.p_value = Some(interval.p_above(t));
    let conf = policy.confidence * 100.0;
    (row.verdict, row.reason) = if lo > t {
        (
            RowVerdict::Regressed,
            format!("the {conf}% interval lies above +{t:.3} ms"),
        )
    } else if hi < -t {
        (
            RowVerdict::Improved,
            format!("the {conf}% interval lies below -{t:.3} ms"),
        )
    } else if lo >= -t && hi <= t {
        (
            RowVerdict::Unchanged,
            format!("the {conf}% interval lies within ±{t:.3} ms"),
        )
    } else {
        (
            RowVerdict::Inconclusive,
            format!("the {conf}% interval straddles ±{t:.3} ms"),
        )
    };
    row
}

/// Holm's step-down procedure over the primary rows' one-sided p-values, at the one-sided
/// level the policy's two-sided confidence implies. A primary row whose own interval lies
/// above the threshold but that the procedure does not reject becomes inconclusive.
fn holm(rows: &mut [StatComparison], confidence: f64) -> usize {
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
        }
    }
    m
}

/// How to compare.
#[derive(Debug, Clone, Default)]
pub struct CompareOptions {
    pub allow_mismatch: bool,
}

/// The current run against a baseline history (oldest first), under the current run's
/// policy.
pub fn against_baseline(
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
    if !mismatches.is_empty() && !options.allow_mismatch {
        return Err(MismatchError {
            current: current.path.clone(),
            baseline: newest.path.clone(),
            differences: mismatches,
        });
    }
    let policy = current.summary.policy.clone();
    let baseline_pooled: Vec<&DecodedRound> = history.iter().map(|r| &r.pooled).collect();
    let keys: BTreeSet<&MetricKey> = current
        .pooled
        .keys()
        .chain(baseline_pooled.iter().flat_map(|p| p.keys()))
        .collect();
    let mut rows = Vec::new();
    let mut unmatched = Vec::new();
    for key in keys {
        let in_baseline = baseline_pooled.iter().any(|p| p.contains_key(key));
        let Some(current_series) = current.pooled.get(key) else {
            unmatched.push(format!("{} only in the baseline", label(key)));
            continue;
        };
        if !in_baseline {
            unmatched.push(format!("{} only in the current run", label(key)));
            continue;
        }
        let baseline_count: u64 = baseline_pooled
            .iter()
            .filter_map(|p| p.get(key))
            .map(|s| s.histogram.count())
            .sum();
        let counts = (baseline_count, current_series.histogram.count());
        let all_rounds = history
            .iter()
            .flat_map(|r| &r.rounds)
            .chain(&current.rounds);
        let resolution = match resolution_of(all_rounds, key) {
            Ok(r) => r.unwrap_or(Resolution::Us),
            Err(()) => {
                for stat in QUANTILES {
                    rows.push(mixed_resolution_row(key, stat, counts, &policy));
                }
                continue;
            }
        };
        let merged_baseline = merge_rounds(baseline_pooled.iter().copied());
        for (name, q) in QUANTILES {
            let values = |rounds: &[DecodedRound]| -> Vec<f64> {
                rounds
                    .iter()
                    .filter_map(|r| round_value(r, key, q))
                    .collect()
            };
            let history_values: Vec<Vec<f64>> = history.iter().map(|r| values(&r.rounds)).collect();
            let current_values = values(&current.rounds);
            let pooled_at = |p: &DecodedRound| {
                p.get(key)
                    .map_or(0.0, |s| s.histogram.quantile_ms(q, s.resolution))
            };
            let run_means: Vec<f64> = history_values
                .iter()
                .filter(|v| !v.is_empty())
                .map(|v| mean(v))
                .collect();
            let estimated = if current_values.is_empty() || run_means.is_empty() {
                Estimated {
                    baseline_ms: pooled_at(&merged_baseline),
                    current_ms: pooled_at(&current.pooled),
                    interval: Err(format!(
                        "too few samples per round for {name}: it needs {} in a round",
                        needed_for(q)
                    )),
                }
            } else {
                Estimated {
                    baseline_ms: mean(&run_means),
                    current_ms: mean(&current_values),
                    interval: against_history(
                        &history_values,
                        &current_values,
                        resolution_ms(resolution),
                        policy.confidence,
                    ),
                }
            };
            rows.push(judge(
                key,
                (name, q),
                counts,
                resolution,
                estimated,
                &policy,
            ));
        }
    }
    let primary_rows = holm(&mut rows, policy.confidence);
    let mut comparison = Comparison {
        schema_version: COMPARISON_SCHEMA_VERSION,
        design: Design::History,
        baseline: RunRef::of(newest),
        baseline_runs: history.len(),
        current: RunRef::of(current),
        current_rounds: current.rounds.len(),
        policy,
        primary_rows,
        rows,
        unmatched,
        // Judged again from the histograms: a stored verdict is never believed.
        budgets: budget::rejudge(
            &current.summary.budgets,
            &current.rounds,
            current.summary.policy.confidence,
        ),
        mismatches,
    };
    comparison.finish();
    Ok(comparison)
}

fn mixed_resolution_row(
    key: &MetricKey,
    (name, q): (&str, f64),
    counts: (u64, u64),
    policy: &RegressionPolicy,
) -> StatComparison {
    let mut row = judge(
        key,
        (name, q),
        counts,
        Resolution::Ms,
        Estimated {
            baseline_ms: 0.0,
            current_ms: 0.0,
            interval: Err(
                "not compared: the runs reported this series at different resolutions \
                 (microseconds in some, whole milliseconds in others)"
                    .into(),
            ),
        },
        policy,
    );
    row.resolution = None;
    row
}

/// B against A over alternating rounds (`a[i]` and `b[i]` ran back to back; each is one
/// `phasebench run`, taken whole), under B's policy; `budgets` are B's, already evaluated.
pub fn paired_rounds(
    a: &[LoadedResult],
    b: &[LoadedResult],
    budgets: Vec<BudgetRow>,
    options: &CompareOptions,
) -> Result<Comparison, MismatchError> {
    let (first_a, first_b) = (&a[0], &b[0]);
    let mismatches = differences(first_b, first_a);
    if !mismatches.is_empty() && !options.allow_mismatch {
        return Err(MismatchError {
            current: first_b.path.clone(),
            baseline: first_a.path.clone(),
            differences: mismatches,
        });
    }
    let policy = first_b.summary.policy.clone();
    let a_units: Vec<&DecodedRound> = a.iter().map(|r| &r.pooled).collect();
    let b_units: Vec<&DecodedRound> = b.iter().map(|r| &r.pooled).collect();
    let a_all = merge_rounds(a_units.iter().copied());
    let b_all = merge_rounds(b_units.iter().copied());
    let keys: BTreeSet<&MetricKey> = a_all.keys().chain(b_all.keys()).collect();
    let mut rows = Vec::new();
    let mut unmatched = Vec::new();
    for key in keys {
        let (Some(sa), Some(sb)) = (a_all.get(key), b_all.get(key)) else {
            let side = if a_all.contains_key(key) { "A" } else { "B" };
            unmatched.push(format!("{} only in {side}", label(key)));
            continue;
        };
        let counts = (sa.histogram.count(), sb.histogram.count());
        let resolution = match resolution_of(a_units.iter().chain(&b_units).copied(), key) {
            Ok(r) => r.unwrap_or(Resolution::Us),
            Err(()) => {
                for stat in QUANTILES {
                    rows.push(mixed_resolution_row(key, stat, counts, &policy));
                }
                continue;
            }
        };
        for (name, q) in QUANTILES {
            let av: Vec<Option<f64>> = a_units.iter().map(|r| round_value(r, key, q)).collect();
            let bv: Vec<Option<f64>> = b_units.iter().map(|r| round_value(r, key, q)).collect();
            let pairs: Vec<(f64, f64)> = av
                .iter()
                .zip(&bv)
                .filter_map(|(a, b)| Some(((*a)?, (*b)?)))
                .collect();
            let estimated = if pairs.is_empty() {
                Estimated {
                    baseline_ms: sa.histogram.quantile_ms(q, sa.resolution),
                    current_ms: sb.histogram.quantile_ms(q, sb.resolution),
                    interval: Err(format!(
                        "too few samples per round for {name}: it needs {} in a round",
                        needed_for(q)
                    )),
                }
            } else {
                let a_vals: Vec<f64> = pairs.iter().map(|p| p.0).collect();
                let b_vals: Vec<f64> = pairs.iter().map(|p| p.1).collect();
                Estimated {
                    baseline_ms: mean(&a_vals),
                    current_ms: mean(&b_vals),
                    interval: paired(&av, &bv, resolution_ms(resolution), policy.confidence),
                }
            };
            rows.push(judge(
                key,
                (name, q),
                counts,
                resolution,
                estimated,
                &policy,
            ));
        }
    }
    let primary_rows = holm(&mut rows, policy.confidence);
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
        policy,
        primary_rows,
        rows,
        unmatched,
        budgets,
        mismatches,
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
        let m = holm(&mut rows, 0.95);
        assert_eq!(m, 6);
        assert_eq!(rows[0].verdict, RowVerdict::Regressed);
        // 0.02 > 0.025 / 5: not after the correction.
        assert_eq!(rows[1].verdict, RowVerdict::Inconclusive, "{}", rows[1].reason);
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
        };
        assert!(!c.regressed(), "an informational regression never fails");
        c.rows.push(rows[0].clone());
        assert!(c.regressed());
    }
}
