//! Statistics on results: interval estimates with the run or round as the unit
//! ([`estimate`]), budgets judged on intervals ([`budget`]), and comparisons with their
//! verdicts and family-wise error control ([`compare`]), and the tables of candidates paired with
//! a reference (`history`, `bisect`: [`pairings`]). Depends on `results` (and the
//! layers below it), never on `report`; `results` never depends on it.

pub(crate) mod budget;
pub(crate) mod compare;
pub(crate) mod design;
pub(crate) mod estimate;
pub(crate) mod pairings;
pub(crate) mod quantile;
pub(crate) mod rank;
pub(crate) mod sequential;

use crate::model::sample::Resolution;
use crate::model::series::{DurationHistogram, MetricKey, Series};
use crate::results::DecodedRound;

/// A round needs at least this many samples of a series to give a percentile...
pub(crate) const MIN_SAMPLES: u64 = 20;
/// ...and at least this many beyond it (n × (1 − q)): p90 needs 50, p99 500.
pub(crate) const MIN_TAIL_SAMPLES: f64 = 5.0;

/// Whether `n` samples are enough for the `q` quantile ([`needed_for`]: one rule, so that a
/// design checked before running agrees with the rounds judged after; 50 × (1 − 0.9) is
/// 4.999… in floating point, which once made 50-sample rounds too few for p90).
pub(crate) fn enough_for(n: u64, q: f64) -> bool {
    n >= needed_for(q)
}

/// Samples needed for the `q` quantile.
pub(crate) fn needed_for(q: f64) -> u64 {
    ((MIN_TAIL_SAMPLES / (1.0 - q) - 1e-9).ceil() as u64).max(MIN_SAMPLES)
}

/// The resolution in milliseconds.
pub(crate) fn resolution_ms(resolution: Resolution) -> f64 {
    match resolution {
        Resolution::Us => 0.001,
        Resolution::Ms => 1.0,
    }
}

/// The `q` percentile of `key` in a round, when the round has enough samples for it: the
/// order statistic for series in microseconds, the Harrell–Davis estimate for whole
/// milliseconds ([`quantile`]: one integer order statistic wastes most of such a round).
pub(crate) fn round_value(round: &DecodedRound, key: &MetricKey, q: f64) -> Option<f64> {
    let series = round.get(key)?;
    if !enough_for(series.histogram.count(), q) {
        return None;
    }
    match series.resolution {
        Resolution::Us => Some(series.histogram.quantile_ms(q, series.resolution)),
        Resolution::Ms => {
            quantile::harrell_davis(series.histogram.reported_values_ms(series.resolution), q)
        }
    }
}

/// All statuses of `metric` in a round merged (budgets judge a metric whole), with the
/// coarsest resolution among them.
pub(crate) fn merged_metric(round: &DecodedRound, metric: &str) -> Option<Series> {
    let mut out: Option<Series> = None;
    for (key, series) in round.iter().filter(|(k, _)| k.metric == metric) {
        let _ = key;
        match &mut out {
            Some(o) => {
                o.histogram.merge(&series.histogram);
                o.resolution = o.resolution.max(series.resolution);
            }
            None => out = Some(series.clone()),
        }
    }
    out
}

/// A distribution-free interval for the `q` quantile of the pooled samples: the order
/// statistics whose ranks bound nq by z·√(nq(1−q)) (the normal form of the binomial
/// interval). Exact enough from a few dozen samples; it assumes independent samples, so it
/// is used only beside the rounds' interval, never alone when rounds can give one.
pub(crate) fn order_statistic_interval(
    h: &DurationHistogram,
    resolution: Resolution,
    q: f64,
    confidence: f64,
) -> Option<(f64, f64)> {
    use statrs::distribution::{ContinuousCDF, Normal};
    let n = h.count();
    if n == 0 {
        return None;
    }
    let z = Normal::standard().inverse_cdf(0.5 + confidence / 2.0);
    let nf = n as f64;
    let spread = z * (nf * q * (1.0 - q)).sqrt();
    let low_rank = (nf * q - spread).floor().max(1.0);
    let high_rank = ((nf * q + spread).ceil() + 1.0).min(nf);
    let at = |rank: f64| h.quantile_ms((rank / nf).clamp(0.0, 1.0), resolution);
    Some((at(low_rank), at(high_rank)))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_order_statistic_interval_brackets_the_quantile() {
        let mut h = DurationHistogram::default();
        for us in 1..=1000u64 {
            h.record(Duration::from_micros(us * 10));
        }
        let (lo, hi) = order_statistic_interval(&h, Resolution::Us, 0.9, 0.95).unwrap();
        let point = h.quantile_ms(0.9, Resolution::Us);
        assert!(lo < point && point < hi, "{lo} {point} {hi}");
        // ±1.96 √(1000 × 0.09) ≈ ±19 ranks of 10 µs.
        assert!(hi - lo > 0.3 && hi - lo < 0.45, "{lo} {hi}");
        assert!(needed_for(0.99) == 500 && needed_for(0.5) == 20 && needed_for(0.9) == 50);
        assert!(enough_for(50, 0.9) && !enough_for(49, 0.9) && enough_for(100, 0.95));
        assert!(enough_for(20, 0.5) && !enough_for(19, 0.5) && !enough_for(499, 0.99));
    }
}
