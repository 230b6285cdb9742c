//! One row's judgement: the interval of a statistic's change against the policy's threshold
//! (`regressed`, `improved`, `unchanged`, `inconclusive`, with why and what would decide it),
//! and Holm's step-down procedure over the primary rows.

use super::*;
use crate::scenario::Statistic;

/// What one row needs from either design: the sides' values and, when it could be formed,
/// the interval of the change.
pub(super) struct Estimated {
    pub(super) baseline_ms: f64,
    pub(super) current_ms: f64,
    pub(super) interval: Result<Interval, Unjudged>,
}

/// Why a row has no interval.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum Unjudged {
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
pub(super) struct Units {
    pub(super) design: Design,
    /// Round pairs (paired), or the current run's rounds (history).
    pub(super) count: usize,
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
                crate::stats::estimate::MIN_HISTORY_RUNS - runs,
                if crate::stats::estimate::MIN_HISTORY_RUNS - runs == 1 {
                    ""
                } else {
                    "s"
                },
                crate::stats::estimate::MIN_HISTORY_RUNS
            ),
            Unjudged::NoInterval(NoInterval::EmptyCurrent) => {
                "the current run needs rounds with enough samples: more iterations per round".into()
            }
            Unjudged::NoInterval(NoInterval::TooFewPairs { .. }) => format!(
                "at least {} round pairs with enough samples on both sides",
                crate::stats::estimate::MIN_PAIRED_ROUNDS
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

pub(super) fn judge(
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
/// level the policy's two-sided confidence implies, with the policy's weights (Holm 1979,
/// weighted form): rows are taken in order of p/w, and each is rejected at α·w / (the weight
/// of the rows not yet rejected) until one is not. With equal weights that is α/m, α/(m−1), …;
/// either way the chance that any primary row is called regressed by noise stays ≤ α. A
/// primary row whose own interval lies above the threshold but that the procedure does not
/// reject becomes inconclusive.
pub(super) fn holm(rows: &mut [StatComparison], policy: &RegressionPolicy, units: Units) -> usize {
    let alpha = (1.0 - policy.confidence) / 2.0;
    let weight = |row: &StatComparison| {
        let q = match Statistic::parse(&row.statistic) {
            Some(Statistic::Quantile(q)) => q,
            _ => return 1.0,
        };
        policy.primary_weight(&row.metric, q).unwrap_or(1.0)
    };
    let mut family: Vec<(usize, f64)> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.primary && r.p_value.is_some())
        .map(|(i, r)| (i, weight(r)))
        .collect();
    let m = family.len();
    let weighted = family.iter().any(|&(_, w)| w != 1.0);
    family.sort_by(|&(a, wa), &(b, wb)| {
        (rows[a].p_value.unwrap() / wa).total_cmp(&(rows[b].p_value.unwrap() / wb))
    });
    let mut remaining: f64 = family.iter().map(|&(_, w)| w).sum();
    let mut rejecting = true;
    for &(i, w) in &family {
        let level = alpha * w / remaining;
        remaining -= w;
        let p = rows[i].p_value.expect("family rows have p-values");
        rejecting = rejecting && p <= level;
        let row = &mut rows[i];
        let procedure = if weighted {
            format!(
                "weighted Holm, {m} primary rows, weight {w} of {}",
                remaining + w
            )
        } else {
            format!("Holm, {m} primary rows")
        };
        if rejecting {
            row.verdict = RowVerdict::Regressed;
            row.reason = format!(
                "the change exceeds +{:.3} ms: p = {p:.2e} ≤ {level:.2e} ({procedure})",
                row.threshold_ms
            );
        } else if row.verdict == RowVerdict::Regressed {
            row.verdict = RowVerdict::Inconclusive;
            row.reason = format!(
                "the interval lies above +{:.3} ms, but not beyond the family-wise correction: \
                 p = {p:.2e} > {level:.2e} ({procedure})",
                row.threshold_ms
            );
            // The t the row would need at Holm's level, against the t it has.
            if let (Some(lo), Some(hi)) = (row.ci_low_ms, row.ci_high_ms) {
                let z = normal_quantile(1.0 - level);
                let z_conf = normal_quantile(0.5 + policy.confidence / 2.0);
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
