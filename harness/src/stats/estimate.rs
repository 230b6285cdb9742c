//! Interval estimates of a change in a percentile, with the run (or round) as the unit.
//!
//! Why not the iterations: what a run shares (one process, one page cache, one stretch of a
//! shared machine's noise) moves all its iterations together. Treating 300 iterations as 300
//! independent draws gave intervals far narrower than the run-to-run spread, and a stored
//! baseline compared with the same build flagged one run in four. Here every round yields one
//! value per statistic (that round's percentile, from its own histogram), and intervals come
//! from how those values spread: within runs and, above all, between runs.
//!
//! Two designs, one model (a value = true value + run effect + round noise + quantization):
//!
//! * [`against_history`]: the current run against a baseline *history* of runs. The variance
//!   of current − baseline has a between-run part (estimated from how the history's run means
//!   spread, one-way random-effects ANOVA) that one run alone can never show; so a history of
//!   fewer than [`MIN_HISTORY_RUNS`] runs gives no interval, only the reason.
//! * [`paired`]: an A/B run's rounds, A and B back to back in each round; the per-round
//!   differences cancel what the round shared. From 10 rounds on, the interval is Yuen's
//!   trimmed one (the highest and lowest 10% of the differences trimmed, the variance
//!   winsorized): on a shared machine one round pair in ten can be hit by a stretch of noise
//!   on one side only, and a plain t interval let that single round hide a real +5% shift
//!   (1 miss in 5 A/B runs under load).
//!
//! Both use Student t quantiles with (Satterthwaite) degrees of freedom from the number of
//! runs or rounds, not a resampling bootstrap: with 3–20 clusters a percentile bootstrap of
//! cluster means covers far less than its nominal level (the unit tests measure it: about
//! 80% at a nominal 95% with 5 runs), while the t interval holds its level (the same tests).
//! Each round value carries its resolution's quantization noise (res²/12), so whole-millisecond
//! series never get a zero-width interval from identical values: added to the variances of a
//! history, a floor under the spread of paired differences (which already holds it). Round
//! values of whole-millisecond series are Harrell–Davis estimates ([`super::quantile`]).

use statrs::distribution::{ContinuousCDF, StudentsT};

/// Fewest baseline runs for an interval against a history.
pub(crate) const MIN_HISTORY_RUNS: usize = 3;
/// Fewest paired rounds for an A/B interval.
pub(crate) const MIN_PAIRED_ROUNDS: usize = 3;

/// Why no interval could be formed; each says what would give one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum NoInterval {
    #[error(
        "the baseline has {runs} run{} with this statistic; between-run variance is unknown: \
         save at least {MIN_HISTORY_RUNS} runs to the baseline or use `phasebench ab`",
        if *runs == 1 { "" } else { "s" }
    )]
    ShortHistory { runs: usize },
    #[error("the current run has no round with enough samples")]
    EmptyCurrent,
    #[error(
        "{pairs} paired round{} with enough samples on both sides; need {MIN_PAIRED_ROUNDS}",
        if *pairs == 1 { "" } else { "s" }
    )]
    TooFewPairs { pairs: usize },
}

/// An estimate of a difference (current − baseline, or B − A), in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Interval {
    pub estimate: f64,
    pub standard_error: f64,
    pub degrees_of_freedom: f64,
    /// Two-sided interval at the confidence it was made for.
    pub low: f64,
    pub high: f64,
}

impl Interval {
    /// The t interval `estimate ± t(df) × se` at `confidence` (two-sided).
    pub(crate) fn new(
        estimate: f64,
        standard_error: f64,
        degrees_of_freedom: f64,
        confidence: f64,
    ) -> Self {
        let half = t_quantile(0.5 + confidence / 2.0, degrees_of_freedom) * standard_error;
        Self {
            estimate,
            standard_error,
            degrees_of_freedom,
            low: estimate - half,
            high: estimate + half,
        }
    }

    /// One-sided p-value against "the true difference is at most `threshold`": small when the
    /// data say the difference exceeds it (a regression beyond the threshold).
    pub(crate) fn p_above(&self, threshold: f64) -> f64 {
        self.upper_tail((self.estimate - threshold) / self.standard_error)
    }

    /// One-sided p-value against "the true difference is at least `−threshold`" (an
    /// improvement beyond the threshold).
    #[cfg(test)]
    pub(crate) fn p_below(&self, threshold: f64) -> f64 {
        self.upper_tail((-threshold - self.estimate) / self.standard_error)
    }

    fn upper_tail(&self, t: f64) -> f64 {
        if t.is_nan() {
            return 1.0;
        }
        match StudentsT::new(0.0, 1.0, self.degrees_of_freedom) {
            Ok(dist) => 1.0 - dist.cdf(t),
            Err(_) => 1.0,
        }
    }
}

/// The `p` quantile of Student's t with `df` degrees of freedom.
pub(crate) fn t_quantile(p: f64, df: f64) -> f64 {
    StudentsT::new(0.0, 1.0, df.max(1.0))
        .map(|d| d.inverse_cdf(p))
        .unwrap_or(f64::INFINITY)
}

pub(super) fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// Sample variance (n − 1); 0 for fewer than two values.
pub(super) fn variance(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return 0.0;
    }
    let m = mean(values);
    values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (values.len() - 1) as f64
}

/// The variance a value reported at `resolution_ms` carries from rounding alone.
fn quantization(resolution_ms: f64) -> f64 {
    resolution_ms * resolution_ms / 12.0
}

/// The current run's value (the mean of its round values) against a history of runs (each the
/// values of its rounds), at `confidence`. `resolution_ms` is the coarser of the two sides'.
pub(crate) fn against_history(
    history: &[Vec<f64>],
    current: &[f64],
    resolution_ms: f64,
    confidence: f64,
) -> Result<Interval, NoInterval> {
    let runs: Vec<&Vec<f64>> = history.iter().filter(|r| !r.is_empty()).collect();
    let m = runs.len();
    if m < MIN_HISTORY_RUNS {
        return Err(NoInterval::ShortHistory { runs: m });
    }
    if current.is_empty() {
        return Err(NoInterval::EmptyCurrent);
    }
    let q = quantization(resolution_ms);
    let run_means: Vec<f64> = runs.iter().map(|r| mean(r)).collect();
    let baseline = mean(&run_means);
    let spread_of_means = variance(&run_means) + q / harmonic_rounds(&runs);
    // Within-run (round-to-round) variance, pooled over the history's runs.
    let within_df: usize = runs.iter().map(|r| r.len() - 1).sum();
    let within_history = if within_df > 0 {
        runs.iter()
            .map(|r| {
                let rm = mean(r);
                r.iter().map(|v| (v - rm).powi(2)).sum::<f64>()
            })
            .sum::<f64>()
            / within_df as f64
            + q
    } else {
        // Runs of one round each: the spread of their means holds the round noise too.
        0.0
    };
    // Between-run variance: what the run means spread beyond their rounds' noise.
    let between = (spread_of_means - within_history / harmonic_rounds(&runs)).max(0.0);
    // The current run's round noise: its own when it has several rounds, never less than the
    // history's (a run on a busier machine is noisier, never quieter, for this purpose).
    let (within_current, within_current_df) = if current.len() >= 2 {
        (
            (variance(current) + q).max(within_history),
            (current.len() - 1) as f64,
        )
    } else {
        (within_history, within_df.max(1) as f64)
    };
    let run_part = spread_of_means / m as f64 + between;
    let round_part = within_current / current.len() as f64;
    let var = run_part + round_part;
    let df = satterthwaite(&[(run_part, (m - 1) as f64), (round_part, within_current_df)]);
    let estimate = mean(current) - baseline;
    Ok(Interval::new(estimate, var.sqrt(), df, confidence))
}

fn harmonic_rounds(runs: &[&Vec<f64>]) -> f64 {
    runs.len() as f64 / runs.iter().map(|r| 1.0 / r.len() as f64).sum::<f64>()
}

/// Welch–Satterthwaite degrees of freedom of a sum of variance estimates.
fn satterthwaite(parts: &[(f64, f64)]) -> f64 {
    let total: f64 = parts.iter().map(|(v, _)| v).sum();
    let denominator: f64 = parts
        .iter()
        .filter(|(v, df)| *v > 0.0 && *df > 0.0)
        .map(|(v, df)| v * v / df)
        .sum();
    if denominator <= 0.0 {
        return parts.iter().map(|(_, df)| *df).fold(1.0, f64::max);
    }
    (total * total / denominator).max(1.0)
}

/// B − A over paired rounds (`a[i]` and `b[i]` ran back to back), at `confidence`. Rounds
/// where either side has no value are left out.
pub(crate) fn paired(
    a: &[Option<f64>],
    b: &[Option<f64>],
    resolution_ms: f64,
    confidence: f64,
) -> Result<Interval, NoInterval> {
    let differences: Vec<f64> = a
        .iter()
        .zip(b)
        .filter_map(|(a, b)| Some((*b)? - (*a)?))
        .collect();
    let n = differences.len();
    if n < MIN_PAIRED_ROUNDS {
        return Err(NoInterval::TooFewPairs { pairs: n });
    }
    Ok(trimmed_interval(
        &differences,
        2.0 * quantization(resolution_ms),
        confidence,
    ))
}

/// Share of the values trimmed from each end by [`trimmed_interval`].
pub(crate) const TRIM: f64 = 0.1;

/// Yuen's interval for the trimmed mean of `values`: trim ⌊0.1 n⌋ from each end, take the
/// mean of the rest, and the winsorized variance (the trimmed values replaced by the nearest
/// kept ones) scaled by 1/(1 − 2g/n)²; Student t with n − 2g − 1 degrees of freedom. With
/// fewer than 10 values nothing is trimmed and it is the ordinary t interval of the mean.
/// `variance_floor` is the least variance each value is taken to have (its quantization): the
/// values' own spread already holds their rounding, so the floor is not added to it, only
/// keeps identical whole-millisecond values from giving a zero-width interval.
pub(crate) fn trimmed_interval(values: &[f64], variance_floor: f64, confidence: f64) -> Interval {
    let n = values.len();
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let g = (TRIM * n as f64).floor() as usize;
    let kept = &sorted[g..n - g];
    let (low, high) = (sorted[g], sorted[n - g - 1]);
    let winsorized: Vec<f64> = sorted.iter().map(|v| v.clamp(low, high)).collect();
    let kept_share = kept.len() as f64 / n as f64;
    let var = variance(&winsorized).max(variance_floor) / (kept_share * kept_share * n as f64);
    Interval::new(
        mean(kept),
        var.sqrt(),
        (kept.len() - 1).max(1) as f64,
        confidence,
    )
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::SmallRng;
    use rand_distr::{Distribution, Normal};

    use super::*;

    /// Runs of `rounds` values: true value + run effect (sd `between`) + round noise (sd
    /// `within`).
    fn runs(
        rng: &mut SmallRng,
        count: usize,
        rounds: usize,
        center: f64,
        between: f64,
        within: f64,
    ) -> Vec<Vec<f64>> {
        let run_effect = Normal::new(0.0, between).unwrap();
        let noise = Normal::new(0.0, within).unwrap();
        (0..count)
            .map(|_| {
                let effect = run_effect.sample(rng);
                (0..rounds)
                    .map(|_| center + effect + noise.sample(rng))
                    .collect()
            })
            .collect()
    }

    /// How often the 95% interval of current − history covers the true difference, over
    /// `trials` seeded trials.
    fn coverage(history_runs: usize, rounds: usize, between: f64, within: f64) -> f64 {
        let mut rng = SmallRng::seed_from_u64(42 + history_runs as u64 * 7 + rounds as u64);
        let trials = 4000;
        let true_difference = 1.5;
        let mut covered = 0;
        for _ in 0..trials {
            let history = runs(&mut rng, history_runs, rounds, 50.0, between, within);
            let current = runs(&mut rng, 1, rounds, 50.0 + true_difference, between, within)
                .pop()
                .unwrap();
            let i = against_history(&history, &current, 0.001, 0.95).unwrap();
            if i.low <= true_difference && true_difference <= i.high {
                covered += 1;
            }
        }
        covered as f64 / trials as f64
    }

    #[test]
    fn history_intervals_hold_their_level_with_known_between_run_variance() {
        // Between-run variance dominating (the case the iteration bootstrap missed), equal
        // parts, and round noise dominating; few and many runs. Nominal 95%; 4000 trials give
        // a standard error of 0.35 points, so ±2 points is a wide margin.
        for (m, r, between, within) in [
            (3, 5, 1.0, 0.2),
            (5, 5, 1.0, 0.2),
            (10, 5, 0.5, 0.5),
            (20, 10, 0.2, 1.0),
            (8, 1, 0.6, 0.3),
        ] {
            let c = coverage(m, r, between, within);
            eprintln!("coverage {m} runs x {r} rounds, between {between}, within {within}: {c}");
            assert!(
                (0.93..=0.975).contains(&c),
                "{m} runs × {r} rounds, between {between}, within {within}: coverage {c}"
            );
        }
    }

    /// The alternative the issue proposed, kept here as the measured reason it was not used:
    /// resample the history's runs (then rounds within them) and take the spread of
    /// current − resampled baseline. With few runs it cannot see how far the current run's
    /// own run effect may fall and covers well below 95%.
    #[test]
    fn a_cluster_percentile_bootstrap_under_covers_with_few_runs() {
        use rand::Rng;
        let mut rng = SmallRng::seed_from_u64(7);
        let (trials, resamples) = (600, 400);
        let mut covered = 0;
        for _ in 0..trials {
            let history = runs(&mut rng, 5, 5, 50.0, 1.0, 0.2);
            let current = runs(&mut rng, 1, 5, 51.5, 1.0, 0.2).pop().unwrap();
            let current_mean = mean(&current);
            let mut deltas: Vec<f64> = (0..resamples)
                .map(|_| {
                    let runs: Vec<f64> = (0..history.len())
                        .map(|_| {
                            let run = &history[rng.random_range(0..history.len())];
                            let draws: Vec<f64> = (0..run.len())
                                .map(|_| run[rng.random_range(0..run.len())])
                                .collect();
                            mean(&draws)
                        })
                        .collect();
                    let cur: Vec<f64> = (0..current.len())
                        .map(|_| current[rng.random_range(0..current.len())])
                        .collect();
                    mean(&cur) - mean(&runs)
                })
                .collect();
            deltas.sort_by(f64::total_cmp);
            let (lo, hi) = (
                deltas[resamples / 40],
                deltas[resamples - resamples / 40 - 1],
            );
            let _ = current_mean;
            if lo <= 1.5 && 1.5 <= hi {
                covered += 1;
            }
        }
        let c = f64::from(covered) / f64::from(trials);
        eprintln!("cluster percentile bootstrap, 5 runs x 5 rounds: coverage {c}");
        assert!(c < 0.85, "the cluster bootstrap covered {c}");
    }

    #[test]
    fn too_little_history_says_why() {
        let err = against_history(&[vec![1.0, 1.1]], &[1.0], 0.001, 0.95)
            .unwrap_err()
            .to_string();
        assert!(err.contains("1 run with this statistic"), "{err}");
        assert!(err.contains("phasebench ab"), "{err}");
        let err = against_history(&[vec![1.0], vec![], vec![1.0]], &[1.0], 0.001, 0.95)
            .unwrap_err()
            .to_string();
        assert!(err.contains("2 runs"), "{err}");
    }

    #[test]
    fn identical_whole_millisecond_values_still_have_width() {
        let history = vec![vec![52.0; 5]; 6];
        let i = against_history(&history, &[52.0; 5], 1.0, 0.95).unwrap();
        assert!(i.low < 0.0 && i.high > 0.0, "{i:?}");
        assert!(i.high - i.low < 1.0, "{i:?}");
    }

    #[test]
    fn a_noisier_current_run_widens_the_interval() {
        let mut rng = SmallRng::seed_from_u64(3);
        let history = runs(&mut rng, 10, 5, 50.0, 0.1, 0.1);
        let calm = runs(&mut rng, 1, 5, 50.0, 0.0, 0.1).pop().unwrap();
        let noisy = runs(&mut rng, 1, 5, 50.0, 0.0, 2.0).pop().unwrap();
        let a = against_history(&history, &calm, 0.001, 0.95).unwrap();
        let b = against_history(&history, &noisy, 0.001, 0.95).unwrap();
        assert!(b.high - b.low > 3.0 * (a.high - a.low), "{a:?} {b:?}");
    }

    #[test]
    fn paired_rounds_cancel_what_a_round_shared() {
        // Rounds drift by several ms; B is A + 1 ms in each: a tight interval around 1.
        let a: Vec<Option<f64>> = [50.0, 55.0, 48.0, 60.0, 52.0, 57.0].map(Some).into();
        let b: Vec<Option<f64>> = [51.0, 56.1, 48.9, 61.0, 53.05, 57.95].map(Some).into();
        let i = paired(&a, &b, 0.001, 0.95).unwrap();
        assert!(i.low > 0.8 && i.high < 1.2, "{i:?}");
        assert!(i.p_above(0.5) < 0.001, "{}", i.p_above(0.5));
        assert!(i.p_below(0.5) > 0.99);
        let err = paired(&a[..2], &b[..2], 0.001, 0.95)
            .unwrap_err()
            .to_string();
        assert!(err.contains("need 3"), "{err}");
        // Rounds missing a side are left out.
        let holes = [Some(1.0), None, Some(1.0), Some(1.0)];
        assert!(paired(&holes, &[Some(2.0); 4], 0.001, 0.95).is_ok());
    }

    /// How often the 95% paired interval over `rounds` rounds covers a true +1 ms, when the
    /// rounds drift by 3 ms (shared by both sides) and each side adds 0.4 ms of its own.
    fn paired_coverage(rounds: usize, seed: u64) -> f64 {
        let mut rng = SmallRng::seed_from_u64(seed);
        let drift = Normal::new(0.0, 3.0).unwrap();
        let noise = Normal::new(0.0, 0.4).unwrap();
        let trials = 4000;
        let mut covered = 0;
        for _ in 0..trials {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            for _ in 0..rounds {
                let d = drift.sample(&mut rng);
                a.push(Some(50.0 + d + noise.sample(&mut rng)));
                b.push(Some(51.0 + d + noise.sample(&mut rng)));
            }
            let i = paired(&a, &b, 0.001, 0.95).unwrap();
            if i.low <= 1.0 && 1.0 <= i.high {
                covered += 1;
            }
        }
        f64::from(covered) / f64::from(trials)
    }

    #[test]
    fn paired_intervals_hold_their_level() {
        let c = paired_coverage(6, 11);
        eprintln!("paired coverage, 6 rounds: {c}");
        assert!((0.93..=0.97).contains(&c), "coverage {c}");
    }

    #[test]
    fn trimmed_paired_intervals_hold_their_level_and_shrug_off_one_wild_round() {
        let c = paired_coverage(10, 13);
        eprintln!("trimmed paired coverage, 10 rounds: {c}");
        assert!((0.93..=0.97).contains(&c), "coverage {c}");
        // The A/B run that an untrimmed interval missed under load: B is +1.25 ms in nine
        // rounds, and one round's A ran 3 ms slow.
        let d = [1.33, 1.26, 1.22, 1.28, 1.2, 1.2, 1.23, 1.2, 1.34, -1.71];
        let a: Vec<Option<f64>> = d.iter().map(|_| Some(25.0)).collect();
        let b: Vec<Option<f64>> = d.iter().map(|x| Some(25.0 + x)).collect();
        let i = paired(&a, &b, 0.001, 0.95).unwrap();
        assert!(i.p_above(0.51) < 0.025 / 6.0, "{i:?}");
        assert!((i.estimate - 1.25).abs() < 0.05, "{i:?}");
    }

    #[test]
    fn t_quantiles_match_the_tables() {
        for (df, want) in [(1.0, 12.706), (5.0, 2.571), (10.0, 2.228), (30.0, 2.042)] {
            let got = t_quantile(0.975, df);
            assert!((got - want).abs() < 0.002, "df {df}: {got} vs {want}");
        }
    }
}
