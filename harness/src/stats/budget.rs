//! `[gate]` budgets judged on an interval, not a point: a budget is breached when the whole
//! interval of its statistic lies beyond the limit, held when it lies within, and
//! inconclusive (shown, not failing) when it straddles the limit. A p95 of 101 ± 3 ms against
//! "< 100ms" is not evidence of a breach.
//!
//! The interval is the wider of two: the t interval of the rounds' values (it sees what a
//! round shares) and the order-statistic interval of the pooled samples (it covers when
//! rounds are few or too small for the percentile). `max` has no interval: it is the point.
//! A metric judged by a budget is judged whole, all its statuses merged.

use crate::model::series::Series;
use crate::results::{BudgetRow, BudgetVerdict};
use crate::scenario::{Budget, Statistic};

use super::estimate::{mean, t_quantile, variance};
use super::{enough_for, merged_metric, order_statistic_interval};
use crate::results::{DecodedRound, merge_rounds};

/// Fewest rounds for the rounds' interval.
const MIN_ROUNDS: usize = 3;

fn mean_interval(values: &[f64], confidence: f64) -> Option<(f64, f64)> {
    let n = values.len();
    if n < MIN_ROUNDS {
        return None;
    }
    let mean = mean(values);
    let half =
        t_quantile(0.5 + confidence / 2.0, (n - 1) as f64) * (variance(values) / n as f64).sqrt();
    Some((mean - half, mean + half))
}

fn point(series: &Series, statistic: Statistic) -> f64 {
    match statistic {
        Statistic::Quantile(q) => series.histogram.quantile_ms(q, series.resolution),
        Statistic::Max => series.histogram.max_ms(series.resolution),
        Statistic::Mean => series.histogram.mean().as_secs_f64() * 1e3,
    }
}

/// The interval of `statistic` over `rounds` (pooled `all`), at `confidence`.
fn interval(
    all: &Series,
    rounds: &[DecodedRound],
    metric: &str,
    statistic: Statistic,
    confidence: f64,
) -> Option<(f64, f64)> {
    statistic_interval(
        all,
        rounds.iter().filter_map(|r| merged_metric(r, metric)),
        statistic,
        confidence,
    )
}

/// The interval of `statistic` of one series: the wider of the rounds' t interval (from the
/// `per_round` series with enough samples) and the order-statistic interval of the pooled
/// samples `all`. Budgets use it on whole metrics, reports on each (metric, status) series.
pub(crate) fn statistic_interval(
    all: &Series,
    per_round: impl Iterator<Item = Series>,
    statistic: Statistic,
    confidence: f64,
) -> Option<(f64, f64)> {
    let per_round: Vec<f64> = per_round
        .filter(|s| match statistic {
            Statistic::Quantile(q) => enough_for(s.histogram.count(), q),
            _ => s.histogram.count() >= 2,
        })
        .map(|s| point(&s, statistic))
        .collect();
    let from_rounds = mean_interval(&per_round, confidence);
    let from_samples = match statistic {
        Statistic::Quantile(q) => {
            order_statistic_interval(&all.histogram, all.resolution, q, confidence)
        }
        Statistic::Mean => {
            let n = all.histogram.count();
            (n >= 2).then(|| {
                let mean = point(all, statistic);
                let se = all.histogram.stdev().as_secs_f64() * 1e3 / (n as f64).sqrt();
                let half = t_quantile(0.5 + confidence / 2.0, (n - 1) as f64) * se;
                (mean - half, mean + half)
            })
        }
        Statistic::Max => None,
    };
    match (from_rounds, from_samples) {
        (Some(a), Some(b)) => Some((a.0.min(b.0), a.1.max(b.1))),
        (a, b) => a.or(b),
    }
}

/// Evaluates budgets on a run's rounds.
pub(crate) fn evaluate(
    budgets: &[Budget],
    rounds: &[DecodedRound],
    confidence: f64,
) -> Vec<BudgetRow> {
    let pooled = merge_rounds(rounds);
    budgets
        .iter()
        .map(|budget| {
            let limit_ms = budget.limit.as_secs_f64() * 1e3;
            let Some(all) = merged_metric(&pooled, &budget.metric) else {
                return BudgetRow {
                    key: budget.key.clone(),
                    limit_ms,
                    inclusive: budget.inclusive,
                    actual_ms: None,
                    low_ms: None,
                    high_ms: None,
                    verdict: BudgetVerdict::Breached,
                    passed: false,
                };
            };
            let actual = point(&all, budget.statistic);
            let bounds = interval(&all, rounds, &budget.metric, budget.statistic, confidence);
            let (low, high) =
                bounds.map_or((actual, actual), |(l, h)| (l.min(actual), h.max(actual)));
            let within = |v: f64| {
                if budget.inclusive {
                    v <= limit_ms
                } else {
                    v < limit_ms
                }
            };
            let verdict = if within(high) {
                BudgetVerdict::Held
            } else if !within(low) {
                BudgetVerdict::Breached
            } else {
                BudgetVerdict::Inconclusive
            };
            BudgetRow {
                key: budget.key.clone(),
                limit_ms,
                inclusive: budget.inclusive,
                actual_ms: Some(round3(actual)),
                low_ms: bounds.map(|_| round3(low)),
                high_ms: bounds.map(|_| round3(high)),
                verdict,
                passed: verdict != BudgetVerdict::Breached,
            }
        })
        .collect()
}

/// Budgets as a result file states them, judged again from its histograms: a stored verdict
/// is never believed (a file edited to say `passed` says nothing). A key that is not a budget
/// is breached, so a tampered file cannot pass by naming nonsense.
pub(crate) fn rejudge(
    rows: &[BudgetRow],
    rounds: &[DecodedRound],
    confidence: f64,
) -> Vec<BudgetRow> {
    rows.iter()
        .map(
            |row| match budget_of(&row.key, row.limit_ms, row.inclusive) {
                Some(budget) => evaluate(std::slice::from_ref(&budget), rounds, confidence)
                    .pop()
                    .expect("one budget, one row"),
                None => BudgetRow {
                    key: row.key.clone(),
                    limit_ms: row.limit_ms,
                    inclusive: row.inclusive,
                    actual_ms: None,
                    low_ms: None,
                    high_ms: None,
                    verdict: BudgetVerdict::Breached,
                    passed: false,
                },
            },
        )
        .collect()
}

/// A budget back from its row: "metric.stat" with a limit.
pub(crate) fn budget_of(key: &str, limit_ms: f64, inclusive: bool) -> Option<Budget> {
    let (metric, stat) = key.rsplit_once('.')?;
    let statistic = Statistic::parse(stat)?;
    if !(0.0..=3.6e6).contains(&limit_ms) || metric.is_empty() {
        return None;
    }
    Some(Budget {
        key: key.to_owned(),
        metric: metric.to_owned(),
        statistic,
        inclusive,
        limit: std::time::Duration::from_secs_f64(limit_ms / 1e3),
    })
}

fn round3(v: f64) -> f64 {
    (v * 1e3).round() / 1e3
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::sample::Resolution;
    use crate::model::series::{DurationHistogram, MetricKey};

    fn round_of(ms: impl Iterator<Item = f64>) -> DecodedRound {
        let mut h = DurationHistogram::default();
        for v in ms {
            h.record(Duration::from_secs_f64(v / 1e3));
        }
        let mut r = DecodedRound::new();
        r.insert(
            MetricKey {
                metric: "turn_ttft".into(),
                status: None,
            },
            Series {
                histogram: h,
                resolution: Resolution::Us,
            },
        );
        r
    }

    fn budget(q: f64, limit_ms: u64) -> Budget {
        Budget {
            key: format!("turn_ttft.p{}", (q * 100.0) as u32),
            metric: "turn_ttft".into(),
            statistic: Statistic::Quantile(q),
            inclusive: false,
            limit: Duration::from_millis(limit_ms),
        }
    }

    #[test]
    fn budgets_are_judged_on_the_interval() {
        // Five rounds of 100 samples spread over 90..110 ms: p50 ≈ 100.
        let rounds: Vec<DecodedRound> = (0..5)
            .map(|r| {
                round_of((0..100).map(move |i| 90.0 + 0.2 * f64::from(i) + 0.01 * f64::from(r)))
            })
            .collect();
        let rows = evaluate(
            &[budget(0.5, 200), budget(0.5, 50), budget(0.5, 100)],
            &rounds,
            0.95,
        );
        assert_eq!(rows[0].verdict, BudgetVerdict::Held, "{:?}", rows[0]);
        assert_eq!(rows[1].verdict, BudgetVerdict::Breached, "{:?}", rows[1]);
        // The limit inside the interval: not a breach, not a pass either.
        assert_eq!(
            rows[2].verdict,
            BudgetVerdict::Inconclusive,
            "{:?}",
            rows[2]
        );
        assert!(rows[2].passed);
        let (lo, hi) = (rows[2].low_ms.unwrap(), rows[2].high_ms.unwrap());
        assert!(lo < 100.0 && hi > 100.0, "{lo} {hi}");
        // A metric that never appeared fails its budget.
        let missing = Budget {
            metric: "thread_start_total".into(),
            ..budget(0.5, 10)
        };
        let rows = evaluate(&[missing], &rounds, 0.95);
        assert_eq!(rows[0].verdict, BudgetVerdict::Breached);
        assert!(!rows[0].passed && rows[0].actual_ms.is_none());
    }
}
