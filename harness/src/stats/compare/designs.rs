//! The one comparison loop ([`judge_rows`]): every series either side has, each quantile
//! estimated by the design's [`Estimator`] and judged, then Holm's procedure; and the two
//! designs that feed it: a run against a baseline history ([`against_baseline`]) and an A/B's
//! alternating rounds ([`paired_rounds`]).

use super::*;

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
            unmatched.push(format!("{} only in {only}", key.label()));
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
    let primary_rows = holm(&mut rows, policy, units);
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
        side_settings: Vec::new(),
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
        side_settings: Vec::new(),
        sequential: options.look,
        policy_source: judging.source,
    };
    comparison.finish();
    Ok(comparison)
}
