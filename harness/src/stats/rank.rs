//! N-way comparison: several results (builds, configurations, sweep points) ranked per
//! statistic, fastest first, each with how many times slower than the fastest it ran and the
//! uncertainty of that ratio, the way hyperfine says "A ran 1.23 ± 0.04 times faster than B".
//!
//! A result's value is the mean of its rounds' percentiles (the round is the unit, as in every
//! comparison here), with the standard error of that mean; the ratio's uncertainty follows by
//! propagation of the two relative errors (hyperfine's formula). With one round the error is
//! unknown and the ratio is printed without one.

use serde::Serialize;

use crate::results::LoadedResult;

use super::estimate::{mean, variance};
use super::{enough_for, merged_metric};

/// One result's place for one statistic.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Ranked {
    /// The result's label: a sweep point's parameter values, else its path.
    pub label: String,
    pub value_ms: f64,
    /// Standard error of the mean over rounds (absent with fewer than 2 rounds).
    pub stderr_ms: Option<f64>,
    /// value / the fastest's value (1 for the fastest).
    pub ratio: f64,
    /// The ratio's standard error.
    pub ratio_stderr: Option<f64>,
    pub rounds: usize,
}

/// A statistic's ranking.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Ranking {
    pub metric: String,
    pub statistic: String,
    /// Fastest first; results without the series are left out.
    pub ranked: Vec<Ranked>,
}

fn mean_and_stderr(values: &[f64]) -> (f64, Option<f64>) {
    let mean = mean(values);
    if values.len() < 2 {
        return (mean, None);
    }
    (mean, Some((variance(values) / values.len() as f64).sqrt()))
}

/// Ranks `results` on the `q` quantile of `metric`, all its statuses merged (as budgets judge a
/// metric); a round counts when it has enough samples for the quantile.
pub(crate) fn rank(
    results: &[(String, &LoadedResult)],
    metric: &str,
    (name, q): (&str, f64),
) -> Ranking {
    let mut rows: Vec<Ranked> = results
        .iter()
        .filter_map(|(label, result)| {
            let values: Vec<f64> = result
                .rounds
                .iter()
                .filter_map(|round| merged_metric(round, metric))
                .filter(|s| enough_for(s.histogram.count(), q))
                .map(|s| s.histogram.quantile_ms(q, s.resolution))
                .collect();
            if values.is_empty() {
                return None;
            }
            let (value_ms, stderr_ms) = mean_and_stderr(&values);
            Some(Ranked {
                label: label.clone(),
                value_ms,
                stderr_ms,
                ratio: 1.0,
                ratio_stderr: None,
                rounds: values.len(),
            })
        })
        .collect();
    rows.sort_by(|a, b| a.value_ms.total_cmp(&b.value_ms));
    if let Some(fastest) = rows.first().cloned() {
        for row in &mut rows {
            if fastest.value_ms <= 0.0 {
                continue;
            }
            row.ratio = row.value_ms / fastest.value_ms;
            row.ratio_stderr = match (row.stderr_ms, fastest.stderr_ms) {
                (Some(a), Some(b)) if row.value_ms > 0.0 => Some(
                    row.ratio
                        * ((a / row.value_ms).powi(2) + (b / fastest.value_ms).powi(2)).sqrt(),
                ),
                _ => None,
            };
        }
    }
    Ranking {
        metric: metric.to_owned(),
        statistic: name.to_owned(),
        ranked: rows,
    }
}

/// The ranking in words: the fastest, then "ran R ± E times faster than" each other.
pub(crate) fn describe(ranking: &Ranking) -> Vec<String> {
    let Some(fastest) = ranking.ranked.first() else {
        return vec![format!(
            "{} {}: no result has it",
            ranking.metric, ranking.statistic
        )];
    };
    let stderr =
        |e: Option<f64>, digits: usize| e.map_or(String::new(), |e| format!(" ± {e:.digits$}"));
    // A tie is not crowned: with the runner-up within the error, nothing is fastest.
    let tied = ranking.ranked.get(1).is_some_and(indistinguishable);
    let mut out = vec![format!(
        "{} {}: {} {} ({:.3} ms{})",
        ranking.metric,
        ranking.statistic,
        fastest.label,
        if tied {
            "leads, within the error of the next"
        } else {
            "is fastest"
        },
        fastest.value_ms,
        stderr(fastest.stderr_ms, 3)
    )];
    for other in &ranking.ranked[1..] {
        out.push(if indistinguishable(other) {
            format!(
                "  indistinguishable from {}: {} ({:.3} ms, ratio {:.2}{})",
                fastest.label,
                other.label,
                other.value_ms,
                other.ratio,
                stderr(other.ratio_stderr, 2)
            )
        } else {
            format!(
                "  {:.2}{} times faster than {} ({:.3} ms)",
                other.ratio,
                stderr(other.ratio_stderr, 2),
                other.label,
                other.value_ms
            )
        });
    }
    out
}

/// Whether `other` cannot be told from the fastest: its ratio within two standard errors of
/// 1, or (without an error) 1 at the digits shown.
fn indistinguishable(other: &Ranked) -> bool {
    let margin = other.ratio_stderr.map_or(0.005, |e| (2.0 * e).max(0.005));
    (other.ratio - 1.0).abs() <= margin
}

/// One candidate run in alternating rounds against a common reference (an `ab` pair
/// directory, such as each release of `history`): its rounds and the reference's, in pairs.
pub(crate) struct Paired<'a> {
    pub label: String,
    pub reference: &'a [LoadedResult],
    pub candidate: &'a [LoadedResult],
}

/// Ranks candidates that were each paired with the same reference: per round pair the ratio
/// candidate / reference (drift shared by a pair cancels), their mean and standard error; the
/// ratio between two candidates is the ratio of their mean ratios, errors propagated.
pub(crate) fn rank_paired(pairs: &[Paired<'_>], metric: &str, (name, q): (&str, f64)) -> Ranking {
    let value = |round: &crate::results::DecodedRound| {
        merged_metric(round, metric)
            .filter(|s| enough_for(s.histogram.count(), q))
            .map(|s| s.histogram.quantile_ms(q, s.resolution))
    };
    let mut rows: Vec<Ranked> = pairs
        .iter()
        .filter_map(|pair| {
            let ratios: Vec<f64> = pair
                .reference
                .iter()
                .zip(pair.candidate)
                .filter_map(|(r, c)| Some((value(&r.pooled)?, value(&c.pooled)?)))
                .filter(|(r, _)| *r > 0.0)
                .map(|(r, c)| c / r)
                .collect();
            if ratios.is_empty() {
                return None;
            }
            let (ratio, stderr) = mean_and_stderr(&ratios);
            let values: Vec<f64> = pair
                .candidate
                .iter()
                .filter_map(|c| value(&c.pooled))
                .collect();
            Some(Ranked {
                label: pair.label.clone(),
                // The candidate's own level, for reading; the order comes from the ratios.
                value_ms: values.iter().sum::<f64>() / values.len().max(1) as f64,
                stderr_ms: None,
                ratio,
                ratio_stderr: stderr,
                rounds: ratios.len(),
            })
        })
        .collect();
    rows.sort_by(|a, b| a.ratio.total_cmp(&b.ratio));
    if let Some(fastest) = rows.first().cloned() {
        for row in &mut rows {
            if row.label == fastest.label {
                row.ratio = 1.0;
                row.ratio_stderr = None;
                continue;
            }
            let r = row.ratio / fastest.ratio;
            row.ratio_stderr = match (row.ratio_stderr, fastest.ratio_stderr) {
                (Some(a), Some(b)) => {
                    Some(r * ((a / row.ratio).powi(2) + (b / fastest.ratio).powi(2)).sqrt())
                }
                _ => None,
            };
            row.ratio = r;
        }
    }
    Ranking {
        metric: metric.to_owned(),
        statistic: name.to_owned(),
        ranked: rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_carry_propagated_errors() {
        let (mean, se) = mean_and_stderr(&[10.0, 12.0, 11.0, 13.0]);
        assert!((mean - 11.5).abs() < 1e-12);
        assert!((se.unwrap() - (1.6667f64 / 4.0).sqrt()).abs() < 1e-3);
        assert_eq!(mean_and_stderr(&[3.0]).1, None);
        let ranking = Ranking {
            metric: "turn_ttft".into(),
            statistic: "p50".into(),
            ranked: vec![
                Ranked {
                    label: "a".into(),
                    value_ms: 10.0,
                    stderr_ms: Some(0.1),
                    ratio: 1.0,
                    ratio_stderr: None,
                    rounds: 5,
                },
                Ranked {
                    label: "b".into(),
                    value_ms: 12.3,
                    stderr_ms: Some(0.2),
                    ratio: 1.23,
                    ratio_stderr: Some(0.03),
                    rounds: 5,
                },
            ],
        };
        let lines = describe(&ranking);
        assert_eq!(lines[0], "turn_ttft p50: a is fastest (10.000 ms ± 0.100)");
        assert_eq!(lines[1], "  1.23 ± 0.03 times faster than b (12.300 ms)");
        // The runner-up within two standard errors: no crown.
        let mut tie = ranking.clone();
        tie.ranked[1].ratio = 1.04;
        let lines = describe(&tie);
        assert_eq!(
            lines[0],
            "turn_ttft p50: a leads, within the error of the next (10.000 ms ± 0.100)"
        );
        assert_eq!(
            lines[1],
            "  indistinguishable from a: b (12.300 ms, ratio 1.04 ± 0.03)"
        );
        // Equal values without an error are a tie too.
        tie.ranked[1].ratio = 1.0;
        tie.ranked[1].ratio_stderr = None;
        assert!(describe(&tie)[1].starts_with("  indistinguishable from a: b"));
    }
}
