//! Round-level agreement for paired A/B runs.
//!
//! The bootstrap in [`crate::compare`] treats every iteration as independent. In an A/B run
//! they are not quite: each round is one process (one home, one warm page cache, one stretch of
//! the machine's noise), and what a round shares moves all its samples together. A whole-round
//! shift can then look like a confident difference. Paired rounds give a second, coarser view
//! that does see it: round i's percentile difference `d_i = B_i − A_i` (both sides ran back to
//! back), and a Student t interval of their mean. A regression or improvement stands only when
//! the rounds agree on its direction: their interval excludes zero on the same side. Whether
//! the change is large enough to matter stays the pooled bootstrap's call (its interval is far
//! narrower; asking the few rounds to clear the practical threshold as well would cost most of
//! the gate's power for changes near the threshold). Otherwise the row becomes inconclusive and
//! says why.

use crate::compare::{Comparison, QUANTILES, Verdict, snap};
use crate::recorder::MetricKey;
use crate::report::LoadedResult;
use crate::sample::Resolution;

/// Fewest rounds with samples on both sides for an interval.
pub const MIN_ROUNDS: usize = 3;

/// Checks every regressed or improved row of `comparison` (B = current, A = baseline) against
/// the rounds it was merged from, recording the round interval on each row it could compute.
pub fn check_rounds(comparison: &mut Comparison, a: &[LoadedResult], b: &[LoadedResult]) {
    let confidence = comparison.policy.confidence;
    for row in &mut comparison.rows {
        let Some(q) = QUANTILES
            .iter()
            .find(|(name, _)| *name == row.statistic)
            .map(|(_, q)| *q)
        else {
            continue;
        };
        let key = MetricKey {
            metric: row.metric.clone(),
            status: row.status.clone(),
        };
        let whole_ms = a.iter().chain(b).all(|r| {
            r.row(&key)
                .is_none_or(|m| m.resolution == Some(Resolution::Ms))
        });
        let differences: Vec<f64> = a
            .iter()
            .zip(b)
            .filter_map(|(ra, rb)| {
                let (ha, hb) = (ra.histograms.get(&key)?, rb.histograms.get(&key)?);
                let at = |h: &crate::recorder::DurationHistogram| {
                    snap(h.quantile(q).as_secs_f64() * 1e3, whole_ms)
                };
                Some(at(hb) - at(ha))
            })
            .collect();
        let Some((low, high)) = mean_interval(&differences, confidence) else {
            continue;
        };
        row.round_ci_low_ms = Some(low);
        row.round_ci_high_ms = Some(high);
        let disagrees = match row.verdict {
            Verdict::Regressed => low <= 0.0,
            Verdict::Improved => high >= 0.0,
            _ => false,
        };
        if disagrees {
            row.reason = format!(
                "{} by the pooled samples, but the rounds do not agree on it: the {:.0}% \
                 interval of the {} per-round differences is [{low:+.3}, {high:+.3}] ms",
                row.verdict.as_str(),
                confidence * 100.0,
                differences.len()
            );
            row.verdict = Verdict::Inconclusive;
        }
    }
    comparison.sort_rows();
}

/// A Student t interval of the mean of `values` at `confidence`; `None` below
/// [`MIN_ROUNDS`] values.
pub fn mean_interval(values: &[f64], confidence: f64) -> Option<(f64, f64)> {
    let n = values.len();
    if n < MIN_ROUNDS {
        return None;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let half = student_t_quantile(0.5 + confidence / 2.0, (n - 1) as f64) * (var / n as f64).sqrt();
    Some((mean - half, mean + half))
}

/// The `p` quantile (p > 0.5) of Student's t with `df` degrees of freedom, by bisection on its
/// CDF (Simpson integration of the density from 0).
pub fn student_t_quantile(p: f64, df: f64) -> f64 {
    let log_norm =
        ln_gamma((df + 1.0) / 2.0) - ln_gamma(df / 2.0) - 0.5 * (df * std::f64::consts::PI).ln();
    let density = |t: f64| (log_norm - (df + 1.0) / 2.0 * (1.0 + t * t / df).ln()).exp();
    // P(0 < T < x) by Simpson's rule.
    let mass = |x: f64| {
        let steps = 2000;
        let h = x / steps as f64;
        let inner: f64 = (1..steps)
            .map(|i| density(i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 })
            .sum();
        h / 3.0 * (density(0.0) + inner + density(x))
    };
    let target = p - 0.5;
    let (mut lo, mut hi) = (0.0, 1.0);
    while mass(hi) < target {
        hi *= 2.0;
    }
    for _ in 0..60 {
        let mid = (lo + hi) / 2.0;
        if mass(mid) < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo + hi) / 2.0
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9).
fn ln_gamma(x: f64) -> f64 {
    const COEFFICIENTS: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection.
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let series = COEFFICIENTS[1..]
        .iter()
        .enumerate()
        .fold(COEFFICIENTS[0], |acc, (i, c)| {
            acc + c / (x + i as f64 + 1.0)
        });
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + series.ln()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::compare::{CompareOptions, compare};
    use crate::recorder::Recorder;
    use crate::report::{Environment, RunSummary, parse_result};
    use crate::runner::RunOutcome;
    use crate::sample::Sample;
    use crate::scenario::Scenario;
    use crate::target::{TargetInfo, TelemetryHealth};

    /// One round's result: 200 TTFT samples spread evenly over center ± 5 ms.
    fn round(center_ms: f64) -> LoadedResult {
        let scenario =
            Scenario::parse("name = \"t\"\ntarget = \"builtin\"\n", "t.toml", &[]).unwrap();
        let mut outcome = RunOutcome {
            recorder: Recorder::default(),
            iterations: 200,
            ..RunOutcome::default()
        };
        for i in 0..200 {
            let ms = center_ms - 5.0 + 10.0 * f64::from(i) / 200.0;
            outcome.recorder.record(&Sample::client(
                "turn_ttft",
                Duration::from_secs_f64(ms / 1e3),
            ));
        }
        let target = TargetInfo {
            name: "fake".into(),
            version: "0".into(),
        };
        let summary = RunSummary::new(
            &scenario,
            target,
            &outcome,
            TelemetryHealth::default(),
            Environment::detect(std::time::SystemTime::now()),
        );
        parse_result(&serde_json::to_string(&summary).unwrap(), "round.json").unwrap()
    }

    fn merged(rounds: &[LoadedResult]) -> LoadedResult {
        let mut all = rounds[0].clone();
        for r in &rounds[1..] {
            for (key, h) in &r.histograms {
                all.histograms.get_mut(key).unwrap().merge(h);
            }
        }
        all
    }

    fn p50_row(a: &[LoadedResult], b: &[LoadedResult]) -> crate::compare::StatComparison {
        let mut comparison = compare(&merged(b), &merged(a), &CompareOptions::default()).unwrap();
        let pooled = comparison
            .rows
            .iter()
            .find(|r| r.statistic == "p50")
            .unwrap()
            .verdict;
        assert_eq!(
            pooled,
            Verdict::Regressed,
            "the pooled samples see a regression"
        );
        check_rounds(&mut comparison, a, b);
        comparison
            .rows
            .into_iter()
            .find(|r| r.statistic == "p50")
            .unwrap()
    }

    #[test]
    fn a_shift_every_round_agrees_with_stands() {
        let a: Vec<_> = [50.0, 51.0, 49.0, 50.0, 52.0, 48.0].map(round).into();
        let b: Vec<_> = [60.0, 62.0, 59.0, 61.0, 62.0, 58.0].map(round).into();
        let row = p50_row(&a, &b);
        assert_eq!(row.verdict, Verdict::Regressed, "{row:?}");
        assert!(row.round_ci_low_ms.unwrap() > 0.0, "{row:?}");
    }

    #[test]
    fn a_shift_some_rounds_contradict_is_inconclusive() {
        let a: Vec<_> = [50.0; 6].map(round).into();
        let b: Vec<_> = [66.0, 66.0, 66.0, 66.0, 40.0, 40.0].map(round).into();
        let row = p50_row(&a, &b);
        assert_eq!(row.verdict, Verdict::Inconclusive, "{row:?}");
        assert!(row.reason.contains("rounds do not agree"), "{}", row.reason);
        assert!(row.round_ci_low_ms.unwrap() < 0.0, "{row:?}");
    }

    #[test]
    fn t_quantiles_match_the_tables() {
        // Two-sided 95%: 12.706 (1 df), 2.571 (5), 2.228 (10), 2.042 (30); 99% at 5 df: 4.032.
        for (df, want) in [(1.0, 12.706), (5.0, 2.571), (10.0, 2.228), (30.0, 2.042)] {
            let got = student_t_quantile(0.975, df);
            assert!((got - want).abs() < 0.002, "df {df}: {got} vs {want}");
        }
        assert!((student_t_quantile(0.995, 5.0) - 4.032).abs() < 0.002);
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-10);
    }

    #[test]
    fn intervals_need_rounds_and_widen_with_their_spread() {
        assert_eq!(mean_interval(&[1.0, 2.0], 0.95), None);
        let (lo, hi) = mean_interval(&[10.0, 10.0, 10.0], 0.95).unwrap();
        assert_eq!((lo, hi), (10.0, 10.0));
        // Rounds that disagree in sign straddle zero, however large their mean.
        let (lo, hi) = mean_interval(&[30.0, -10.0, 25.0, -5.0, 20.0, -8.0], 0.95).unwrap();
        assert!(lo < 0.0 && hi > 0.0, "[{lo}, {hi}]");
        let (lo, _) = mean_interval(&[9.0, 11.0, 10.0, 12.0, 8.0, 10.0], 0.95).unwrap();
        assert!(lo > 8.0, "{lo}");
    }
}
