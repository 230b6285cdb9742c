//! Comparing a run with a baseline: per (metric, status) and percentile, a bootstrap confidence
//! interval of the difference, judged against the practical threshold of the run's regression
//! policy. A change is `regressed` only when the whole interval lies above the threshold,
//! `improved` when it lies below its negative, `unchanged` when it lies within ±threshold, and
//! `inconclusive` otherwise (it straddles the threshold) or when a side has too few samples.
//!
//! The bootstrap is exact and cheap: the k-th order statistic of n draws from an empirical
//! distribution F is F⁻¹(U₍ₖ₎), where U₍ₖ₎ ~ Beta(k, n − k + 1). One replicate of a percentile
//! is one Beta draw and a binary search over the histogram's buckets, whatever n is.

use std::collections::BTreeSet;

use rand::SeedableRng;
use rand::rngs::SmallRng;
use rand_distr::{Beta, Distribution};
use serde::{Deserialize, Serialize};

use crate::recorder::{DurationHistogram, MetricKey};
use crate::report::{BudgetRow, LoadedResult};
use crate::sample::Resolution;
use crate::scenario::RegressionPolicy;

/// Percentiles compared.
pub const QUANTILES: [(&str, f64); 3] = [("p50", 0.5), ("p90", 0.9), ("p99", 0.99)];

/// A side needs at least this many samples beyond a percentile (n × (1 − q)) to judge it.
pub const MIN_TAIL_SAMPLES: f64 = 5.0;
/// And at least this many samples in all.
pub const MIN_SAMPLES: u64 = 20;

/// The outcome for one percentile of one series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Regressed,
    Inconclusive,
    Improved,
    Unchanged,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Regressed => "regressed",
            Verdict::Inconclusive => "inconclusive",
            Verdict::Improved => "improved",
            Verdict::Unchanged => "unchanged",
        }
    }
}

/// One compared percentile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatComparison {
    pub metric: String,
    pub status: Option<String>,
    pub statistic: String,
    pub baseline_count: u64,
    pub current_count: u64,
    pub baseline_ms: f64,
    pub current_ms: f64,
    pub delta_ms: f64,
    /// delta / baseline; absent when the baseline is 0.
    pub delta_pct: Option<f64>,
    /// Bootstrap interval of current − baseline at the policy's confidence; absent when a
    /// side has too few samples to judge.
    pub ci_low_ms: Option<f64>,
    pub ci_high_ms: Option<f64>,
    /// Paired A/B only: the interval of the mean per-round difference (see [`crate::rounds`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round_ci_low_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round_ci_high_ms: Option<f64>,
    pub threshold_ms: f64,
    pub verdict: Verdict,
    pub reason: String,
}

/// Identifies a compared run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRef {
    pub path: String,
    pub scenario: String,
    pub content_hash: String,
    pub target: String,
    pub target_version: String,
    pub git_commit: Option<String>,
}

impl RunRef {
    fn of(result: &LoadedResult) -> Self {
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

/// Version of the comparison JSON.
pub const COMPARISON_SCHEMA_VERSION: u32 = 1;

/// A whole comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub schema_version: u32,
    pub baseline: RunRef,
    pub current: RunRef,
    pub policy: RegressionPolicy,
    pub bootstrap_resamples: u32,
    /// Sorted: regressions first, then inconclusive, improved, unchanged.
    pub rows: Vec<StatComparison>,
    /// Series present on one side only: "metric[status] only in baseline/current".
    pub unmatched: Vec<String>,
    /// The current run's absolute budgets.
    pub budgets: Vec<BudgetRow>,
    /// Settings that differ between the runs, when the comparison was forced.
    pub mismatches: Vec<String>,
}

impl Comparison {
    pub fn count(&self, verdict: Verdict) -> usize {
        self.rows.iter().filter(|r| r.verdict == verdict).count()
    }

    pub fn regressed(&self) -> bool {
        self.count(Verdict::Regressed) > 0
    }

    pub fn budgets_breached(&self) -> bool {
        self.budgets.iter().any(|b| !b.passed)
    }

    /// Regressions first, then inconclusive, improved, unchanged; report order within each.
    pub fn sort_rows(&mut self) {
        self.rows.sort_by(|a, b| {
            (
                a.verdict,
                crate::metric::report_rank(&a.metric),
                &a.metric,
                &a.status,
            )
                .cmp(&(
                    b.verdict,
                    crate::metric::report_rank(&b.metric),
                    &b.metric,
                    &b.status,
                ))
        });
    }
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

/// How to compare.
#[derive(Debug, Clone)]
pub struct CompareOptions {
    pub allow_mismatch: bool,
    pub resamples: u32,
    pub seed: u64,
}

impl Default for CompareOptions {
    fn default() -> Self {
        Self {
            allow_mismatch: false,
            resamples: 10_000,
            seed: 0x5eed,
        }
    }
}

fn differences(current: &LoadedResult, baseline: &LoadedResult) -> Vec<String> {
    let (c, b) = (&current.summary, &baseline.summary);
    let mut out = Vec::new();
    if c.scenario.content_hash != b.scenario.content_hash {
        out.push(format!(
            "the scenario content differs (hash {} vs {}; scenario {:?} vs {:?})",
            c.scenario.content_hash, b.scenario.content_hash, c.scenario.name, b.scenario.name
        ));
    }
    if c.target.name != b.target.name {
        out.push(format!(
            "the target differs ({} vs {})",
            c.target.name, b.target.name
        ));
    }
    if c.plan.concurrency != b.plan.concurrency {
        out.push(format!(
            "the concurrency differs ({} vs {})",
            c.plan.concurrency, b.plan.concurrency
        ));
    }
    out
}

/// The empirical distribution of a histogram, for drawing order statistics.
struct Ecdf {
    values: Vec<f64>,
    cumulative: Vec<u64>,
    n: u64,
}

impl Ecdf {
    /// `whole_ms`: the values were reported in whole milliseconds; a bucket's highest
    /// equivalent value (66 ms reads 66.047) is read back as the whole millisecond it holds.
    fn new(h: &DurationHistogram, whole_ms: bool) -> Self {
        let mut values = Vec::new();
        let mut cumulative = Vec::new();
        let mut n = 0;
        for (value_us, count) in h.buckets() {
            n += count;
            values.push(snap(value_us as f64 / 1e3, whole_ms));
            cumulative.push(n);
        }
        Self {
            values,
            cumulative,
            n,
        }
    }

    /// F⁻¹(u) in milliseconds.
    fn inverse(&self, u: f64) -> f64 {
        let rank = ((u * self.n as f64).ceil() as u64).clamp(1, self.n);
        let index = self.cumulative.partition_point(|&c| c < rank);
        self.values[index.min(self.values.len() - 1)]
    }

    /// A Beta(k, n − k + 1) distribution for the q-quantile's order statistic.
    fn order_statistic(&self, q: f64) -> Option<Beta<f64>> {
        let k = ((q * self.n as f64).ceil()).clamp(1.0, self.n as f64);
        Beta::new(k, self.n as f64 - k + 1.0).ok()
    }
}

/// A value read from a histogram, as the whole millisecond it was reported in when `whole_ms`.
pub(crate) fn snap(value_ms: f64, whole_ms: bool) -> f64 {
    if whole_ms { value_ms.round() } else { value_ms }
}

fn too_few(n: u64, q: f64) -> bool {
    n < MIN_SAMPLES || (n as f64) * (1.0 - q) < MIN_TAIL_SAMPLES
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// Compares one percentile of one series; `whole_ms` when both sides were reported in whole
/// milliseconds.
fn compare_stat(
    key: &MetricKey,
    (name, q): (&str, f64),
    (baseline, current): (&DurationHistogram, &DurationHistogram),
    whole_ms: bool,
    policy: &RegressionPolicy,
    options: &CompareOptions,
) -> StatComparison {
    let baseline_ms = snap(baseline.quantile(q).as_secs_f64() * 1e3, whole_ms);
    let current_ms = snap(current.quantile(q).as_secs_f64() * 1e3, whole_ms);
    let delta_ms = current_ms - baseline_ms;
    let threshold_ms = policy.threshold_ms(&key.metric, baseline_ms);
    let mut row = StatComparison {
        metric: key.metric.clone(),
        status: key.status.clone(),
        statistic: name.to_owned(),
        baseline_count: baseline.count(),
        current_count: current.count(),
        baseline_ms,
        current_ms,
        delta_ms,
        delta_pct: (baseline_ms > 0.0).then(|| delta_ms / baseline_ms),
        ci_low_ms: None,
        ci_high_ms: None,
        round_ci_low_ms: None,
        round_ci_high_ms: None,
        threshold_ms,
        verdict: Verdict::Inconclusive,
        reason: String::new(),
    };
    if too_few(baseline.count(), q) || too_few(current.count(), q) {
        let needed = ((MIN_TAIL_SAMPLES / (1.0 - q)).ceil() as u64).max(MIN_SAMPLES);
        row.reason = format!(
            "too few samples for {name}: {} and {}, need {needed} on each side",
            baseline.count(),
            current.count()
        );
        return row;
    }
    let (b, c) = (Ecdf::new(baseline, whole_ms), Ecdf::new(current, whole_ms));
    let (Some(b_beta), Some(c_beta)) = (b.order_statistic(q), c.order_statistic(q)) else {
        row.reason = "cannot form the bootstrap distribution".into();
        return row;
    };
    // Seeded per series and statistic: the same inputs always give the same verdict.
    let mut seed = options.seed;
    for byte in key
        .metric
        .bytes()
        .chain(key.status.iter().flat_map(|s| s.bytes()))
        .chain(name.bytes())
    {
        seed = seed.wrapping_mul(0x100_0000_01b3) ^ u64::from(byte);
    }
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut deltas: Vec<f64> = (0..options.resamples.max(100))
        .map(|_| c.inverse(c_beta.sample(&mut rng)) - b.inverse(b_beta.sample(&mut rng)))
        .collect();
    deltas.sort_by(f64::total_cmp);
    let alpha = 1.0 - policy.confidence;
    let (lo, hi, t) = (
        percentile(&deltas, alpha / 2.0),
        percentile(&deltas, 1.0 - alpha / 2.0),
        threshold_ms,
    );
    row.ci_low_ms = Some(lo);
    row.ci_high_ms = Some(hi);
    let conf = policy.confidence * 100.0;
    (row.verdict, row.reason) = if lo > t {
        (
            Verdict::Regressed,
            format!("the {conf}% interval lies above +{t:.3} ms"),
        )
    } else if hi < -t {
        (
            Verdict::Improved,
            format!("the {conf}% interval lies below -{t:.3} ms"),
        )
    } else if lo >= -t && hi <= t {
        (
            Verdict::Unchanged,
            format!("the {conf}% interval lies within ±{t:.3} ms"),
        )
    } else {
        (
            Verdict::Inconclusive,
            format!("the {conf}% interval straddles ±{t:.3} ms"),
        )
    };
    row
}

/// Compares `current` with `baseline` under the current run's regression policy.
pub fn compare(
    current: &LoadedResult,
    baseline: &LoadedResult,
    options: &CompareOptions,
) -> Result<Comparison, MismatchError> {
    let mismatches = differences(current, baseline);
    if !mismatches.is_empty() && !options.allow_mismatch {
        return Err(MismatchError {
            current: current.path.clone(),
            baseline: baseline.path.clone(),
            differences: mismatches,
        });
    }
    let policy = current.summary.policy.clone();
    let keys: BTreeSet<&MetricKey> = current
        .histograms
        .keys()
        .chain(baseline.histograms.keys())
        .collect();
    let mut rows = Vec::new();
    let mut unmatched = Vec::new();
    for key in keys {
        let label = match &key.status {
            Some(s) => format!("{}[{s}]", key.metric),
            None => key.metric.clone(),
        };
        match (baseline.histograms.get(key), current.histograms.get(key)) {
            (Some(b), Some(c)) => {
                let whole_ms = [current, baseline].iter().all(|r| {
                    r.row(key)
                        .is_some_and(|row| row.resolution == Some(Resolution::Ms))
                });
                for stat in QUANTILES {
                    rows.push(compare_stat(key, stat, (b, c), whole_ms, &policy, options));
                }
            }
            (Some(_), None) => unmatched.push(format!("{label} only in the baseline")),
            (None, Some(_)) => unmatched.push(format!("{label} only in the current run")),
            (None, None) => {}
        }
    }
    let mut comparison = Comparison {
        schema_version: COMPARISON_SCHEMA_VERSION,
        baseline: RunRef::of(baseline),
        current: RunRef::of(current),
        policy,
        bootstrap_resamples: options.resamples,
        rows,
        unmatched,
        budgets: current.summary.budgets.clone(),
        mismatches,
    };
    comparison.sort_rows();
    Ok(comparison)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rand_distr::LogNormal;

    use super::*;

    fn histogram(median_ms: f64, n: usize, seed: u64) -> DurationHistogram {
        let mut rng = SmallRng::seed_from_u64(seed);
        let dist = LogNormal::new(median_ms.ln(), 0.2).unwrap();
        let mut h = DurationHistogram::default();
        for _ in 0..n {
            h.record(Duration::from_secs_f64(dist.sample(&mut rng) / 1e3));
        }
        h
    }

    fn verdict(base: f64, cur: f64, n: usize, seed: u64) -> StatComparison {
        let key = MetricKey {
            metric: "turn_ttft".into(),
            status: None,
        };
        compare_stat(
            &key,
            QUANTILES[0],
            (&histogram(base, n, seed), &histogram(cur, n, seed + 1000)),
            false,
            &RegressionPolicy::default(),
            &CompareOptions::default(),
        )
    }

    #[test]
    fn a_large_slowdown_regresses_and_a_speedup_improves() {
        assert_eq!(verdict(50.0, 60.0, 1000, 1).verdict, Verdict::Regressed);
        assert_eq!(verdict(60.0, 50.0, 1000, 2).verdict, Verdict::Improved);
    }

    #[test]
    fn same_distribution_is_unchanged() {
        let row = verdict(50.0, 50.0, 2000, 3);
        assert_eq!(row.verdict, Verdict::Unchanged, "{row:?}");
        let (lo, hi) = (row.ci_low_ms.unwrap(), row.ci_high_ms.unwrap());
        assert!(lo >= -row.threshold_ms && hi <= row.threshold_ms, "{row:?}");
    }

    #[test]
    fn a_change_near_the_threshold_with_few_samples_is_inconclusive() {
        // +5% is exactly the default relative threshold: the interval must straddle it.
        let row = verdict(50.0, 52.5, 200, 4);
        assert_eq!(row.verdict, Verdict::Inconclusive, "{row:?}");
    }

    #[test]
    fn too_few_samples_for_the_tail() {
        let key = MetricKey {
            metric: "turn_ttft".into(),
            status: None,
        };
        let row = compare_stat(
            &key,
            QUANTILES[2],
            (&histogram(50.0, 100, 1), &histogram(90.0, 100, 2)),
            false,
            &RegressionPolicy::default(),
            &CompareOptions::default(),
        );
        assert_eq!(row.verdict, Verdict::Inconclusive);
        assert!(row.reason.contains("too few samples"), "{}", row.reason);
        assert_eq!(row.ci_low_ms, None);
    }

    #[test]
    fn whole_millisecond_series_compare_in_whole_milliseconds() {
        let whole = |center: u64, seed: u64| {
            let mut rng = SmallRng::seed_from_u64(seed);
            let mut h = DurationHistogram::default();
            for _ in 0..400 {
                let jitter = rand::Rng::random_range(&mut rng, 0..5);
                h.record(Duration::from_millis(center + jitter));
            }
            h
        };
        let key = MetricKey {
            metric: "turn_ttft".into(),
            status: None,
        };
        let row = compare_stat(
            &key,
            QUANTILES[0],
            (&whole(66, 1), &whole(80, 2)),
            true,
            &RegressionPolicy::default(),
            &CompareOptions::default(),
        );
        for v in [
            row.baseline_ms,
            row.current_ms,
            row.ci_low_ms.unwrap(),
            row.ci_high_ms.unwrap(),
        ] {
            assert_eq!(v, v.round(), "{row:?}");
        }
        assert_eq!(row.delta_ms, 14.0, "{row:?}");
        assert_eq!(row.verdict, Verdict::Regressed);
    }

    #[test]
    fn the_interval_covers_the_true_difference() {
        // 60 / 50 lognormal medians: the true p50 difference is 10 ms.
        let row = verdict(50.0, 60.0, 3000, 7);
        let (lo, hi) = (row.ci_low_ms.unwrap(), row.ci_high_ms.unwrap());
        assert!(lo < 10.0 && hi > 10.0, "{row:?}");
        assert!(hi - lo < 3.0, "interval too wide: {row:?}");
    }

    #[test]
    fn order_statistic_inverse_matches_quantiles() {
        let h = histogram(50.0, 5000, 9);
        let e = Ecdf::new(&h, false);
        for q in [0.1, 0.5, 0.9, 0.99] {
            let direct = h.quantile(q).as_secs_f64() * 1e3;
            assert!(
                (e.inverse(q) - direct).abs() < 0.1,
                "q {q}: {} vs {direct}",
                e.inverse(q)
            );
        }
    }
}
