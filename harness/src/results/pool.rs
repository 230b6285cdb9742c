//! One result from several result files of one design: the shards of one run (`merge`: run
//! side by side on several machines) or one side's rounds of an A/B (each round a whole run,
//! run one after another). Lossless where the statistics look: the rounds are kept apart
//! exactly as each file wrote them (histograms and all), the pooled rows are re-derived from
//! their merge. Budgets are left for the caller to judge again on the pooled rounds
//! (`stats::budget::rejudge`: statistics come after results). What the files do not keep exactly
//! is approximated and said so in a warning: the waterfall's and the critical path's waits
//! are averaged over the files, weighted by the iterations behind them; the overhead table
//! (percentiles of per-iteration differences) is left out.

use std::collections::BTreeMap;

use crate::measure::recorder::Recorder;
use crate::results::summarize::{attach_errors, metric_rows};
use crate::results::{
    CriticalPath, DecodedRound, LoadedResult, PrewarmBranch, RoundRecord, RunSummary, WaitedOn,
    WaterfallRow, merge_rounds,
};

/// How the pooled files were run, which decides how their wall times add up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Schedule {
    /// Shards of one run, side by side: the run took as long as the slowest, and the plan
    /// (iterations, rounds) is already the whole run's; rounds keep their numbers.
    SideBySide,
    /// Rounds of one A/B side (or a history's runs), one after another: wall times, iterations
    /// and rounds add up; rounds are numbered 1.. in the order given.
    OneAfterAnother,
}

/// A pooled result and its rounds' decoded histograms, in the summary's round order.
pub(crate) struct Pooled {
    /// Budgets empty: judge `first.summary.budgets` again on `rounds`.
    pub(crate) summary: RunSummary,
    pub(crate) rounds: Vec<DecodedRound>,
}

/// The pooled result of `files` (at least one; the first gives the identity and policy).
pub(crate) fn pool(files: &[LoadedResult], schedule: Schedule) -> Pooled {
    let first = &files[0];
    let mut pairs: Vec<(RoundRecord, &DecodedRound)> = files
        .iter()
        .flat_map(|s| s.summary.rounds.iter().cloned().zip(&s.rounds))
        .collect();
    match schedule {
        Schedule::SideBySide => pairs.sort_by_key(|(record, _)| record.round),
        Schedule::OneAfterAnother => {
            for (number, (record, _)) in (1u32..).zip(pairs.iter_mut()) {
                record.round = number;
            }
        }
    }
    let decoded: Vec<DecodedRound> = pairs.iter().map(|(_, d)| (*d).clone()).collect();
    let mut recorder = Recorder {
        series: merge_rounds(&decoded),
        ..Recorder::default()
    };
    for file in files {
        for row in &file.summary.metrics {
            *recorder.errors.entry(row.metric.clone()).or_default() += row.errors;
        }
    }
    let mut metrics = metric_rows(&recorder);
    attach_errors(&mut metrics, &recorder.errors);

    let mut pooled = first.summary.clone();
    pooled.rounds = pairs.into_iter().map(|(r, _)| r).collect();
    pooled.metrics = metrics;
    pooled.overhead = Vec::new();
    pooled.waterfall = waterfalls(files);
    pooled.critical_path = critical_paths(files);
    pooled.budgets = Vec::new();
    if schedule == Schedule::OneAfterAnother {
        pooled.plan.iterations = files.iter().map(|f| f.summary.plan.iterations).sum();
        pooled.plan.rounds = u32::try_from(pooled.rounds.len()).unwrap_or(u32::MAX);
    }
    let run = &mut pooled.run;
    run.wall_time_s = 0.0;
    run.measured_wall_time_s = 0.0;
    run.succeeded_iterations = 0;
    run.failed_iterations = 0;
    run.warmup_failures = 0;
    run.failures_by_kind.clear();
    run.failure_examples.clear();
    pooled.telemetry = Default::default();
    pooled.warnings.clear();
    pooled.partial = false;
    for file in files {
        let s = &file.summary;
        match schedule {
            Schedule::SideBySide => {
                run.wall_time_s = run.wall_time_s.max(s.run.wall_time_s);
                run.measured_wall_time_s = run.measured_wall_time_s.max(s.run.measured_wall_time_s);
            }
            Schedule::OneAfterAnother => {
                run.wall_time_s += s.run.wall_time_s;
                run.measured_wall_time_s += s.run.measured_wall_time_s;
            }
        }
        run.succeeded_iterations += s.run.succeeded_iterations;
        run.failed_iterations += s.run.failed_iterations;
        run.warmup_failures += s.run.warmup_failures;
        for (kind, n) in &s.run.failures_by_kind {
            *run.failures_by_kind.entry(kind.clone()).or_default() += n;
        }
        for example in &s.run.failure_examples {
            if !run.failure_examples.contains(example) {
                run.failure_examples.push(example.clone());
            }
        }
        pooled.telemetry.add(&s.telemetry);
        for w in &s.warnings {
            if !pooled.warnings.contains(w) {
                pooled.warnings.push(w.clone());
            }
        }
        pooled.partial |= s.partial;
    }
    run.iterations_per_s = if run.measured_wall_time_s > 0.0 {
        run.succeeded_iterations as f64 / run.measured_wall_time_s
    } else {
        0.0
    };
    Pooled {
        summary: pooled,
        rounds: decoded,
    }
}

/// A weighted mean, rounded to the microsecond as result files store milliseconds.
fn weighted(sum: f64, n: u64) -> f64 {
    (sum / n as f64 * 1e3).round() / 1e3
}

/// Counts added; waits averaged, weighted by the iterations that waited.
fn critical_paths(files: &[LoadedResult]) -> CriticalPath {
    let mut out = CriticalPath::default();
    let mut prewarm: BTreeMap<String, u64> = BTreeMap::new();
    let mut waits: BTreeMap<String, (u64, f64, f64)> = BTreeMap::new();
    for file in files {
        let cp = &file.summary.critical_path;
        out.iterations += cp.iterations;
        for b in &cp.prewarm {
            *prewarm.entry(b.branch.clone()).or_default() += b.iterations;
        }
        for w in &cp.first_token {
            let e = waits.entry(w.cause.clone()).or_default();
            e.0 += w.iterations;
            e.1 += w.waited_p50_ms * w.iterations as f64;
            e.2 += w.waited_mean_ms * w.iterations as f64;
        }
    }
    out.prewarm = prewarm
        .into_iter()
        .map(|(branch, iterations)| PrewarmBranch { branch, iterations })
        .collect();
    out.prewarm.sort_by_key(|b| std::cmp::Reverse(b.iterations));
    out.first_token = waits
        .into_iter()
        .filter(|(_, (n, ..))| *n > 0)
        .map(|(cause, (n, p50, mean))| WaitedOn {
            cause,
            iterations: n,
            waited_p50_ms: weighted(p50, n),
            waited_mean_ms: weighted(mean, n),
        })
        .collect();
    out.first_token
        .sort_by_key(|w| std::cmp::Reverse(w.iterations));
    out
}

/// Per phase, counts added and the start and end percentiles averaged, weighted by count;
/// phases in the first file's order, then any the others add.
fn waterfalls(files: &[LoadedResult]) -> Vec<WaterfallRow> {
    let mut order: Vec<String> = Vec::new();
    let mut sums: BTreeMap<String, (u64, [f64; 4])> = BTreeMap::new();
    for row in files.iter().flat_map(|f| &f.summary.waterfall) {
        if !sums.contains_key(&row.metric) {
            order.push(row.metric.clone());
        }
        let (n, s) = sums.entry(row.metric.clone()).or_default();
        let w = row.count as f64;
        *n += row.count;
        for (acc, v) in s.iter_mut().zip([
            row.start_p50_ms,
            row.start_p90_ms,
            row.end_p50_ms,
            row.end_p90_ms,
        ]) {
            *acc += v * w;
        }
    }
    order
        .into_iter()
        .filter_map(|metric| {
            let (count, [s50, s90, e50, e90]) = *sums.get(&metric)?;
            (count > 0).then(|| WaterfallRow {
                metric,
                count,
                start_p50_ms: weighted(s50, count),
                start_p90_ms: weighted(s90, count),
                end_p50_ms: weighted(e50, count),
                end_p90_ms: weighted(e90, count),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(round: u32, iterations: u64, wall: f64, wait: f64) -> LoadedResult {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/results/a-round01.json");
        let mut f = crate::results::load_result(&path).unwrap();
        f.summary.rounds[0].round = round;
        f.summary.plan.iterations = iterations;
        f.summary.run.wall_time_s = wall;
        f.summary.run.measured_wall_time_s = wall;
        f.summary.critical_path = CriticalPath {
            iterations,
            prewarm: vec![PrewarmBranch {
                branch: "tool building".into(),
                iterations,
            }],
            first_token: vec![WaitedOn {
                cause: "model response".into(),
                iterations,
                waited_p50_ms: wait,
                waited_mean_ms: wait,
            }],
        };
        f.summary.waterfall = vec![WaterfallRow {
            metric: "websocket_connect".into(),
            count: iterations,
            start_p50_ms: 0.0,
            start_p90_ms: 0.0,
            end_p50_ms: wait,
            end_p90_ms: wait,
        }];
        f
    }

    #[test]
    fn rounds_one_after_another_add_up_and_are_renumbered() {
        let files = [file(1, 30, 1.0, 10.0), file(1, 10, 3.0, 30.0)];
        let pooled = pool(&files, Schedule::OneAfterAnother).summary;
        assert_eq!(pooled.plan.iterations, 40);
        assert_eq!(pooled.plan.rounds, 2);
        let numbers: Vec<u32> = pooled.rounds.iter().map(|r| r.round).collect();
        assert_eq!(numbers, [1, 2]);
        assert_eq!(pooled.run.wall_time_s, 4.0);
        assert_eq!(pooled.critical_path.iterations, 40);
        // Weighted by iterations: (30 × 10 + 10 × 30) / 40.
        assert_eq!(pooled.critical_path.first_token[0].waited_p50_ms, 15.0);
        assert_eq!(pooled.waterfall[0].end_p50_ms, 15.0);
        assert_eq!(pooled.waterfall[0].count, 40);
    }

    #[test]
    fn shards_side_by_side_take_the_slowest_wall_time_and_keep_round_numbers() {
        let files = [file(3, 30, 1.0, 10.0), file(1, 30, 3.0, 30.0)];
        let pooled = pool(&files, Schedule::SideBySide).summary;
        let numbers: Vec<u32> = pooled.rounds.iter().map(|r| r.round).collect();
        assert_eq!(numbers, [1, 3]);
        assert_eq!(pooled.run.wall_time_s, 3.0);
        assert_eq!(pooled.plan.iterations, files[0].summary.plan.iterations);
    }
}
