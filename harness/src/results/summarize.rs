//! From the runner's histograms to a [`RunSummary`]: pooled rows, each round's histograms
//! and the overhead table. Budgets arrive judged (by `stats`, a later layer).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::measure::recorder::Recorder;
use crate::measure::runner::RunOutcome;
use crate::model::metric::report_rank;
use crate::model::series::Series;
use crate::model::target::{TargetInfo, TelemetryHealth};
use crate::scenario::Scenario;

use super::{
    BudgetRow, Environment, MetricRow, OverheadRow, PlanInfo, RoundRecord, RoundSeries, RunInfo,
    RunSummary, SCHEMA_VERSION, ScenarioInfo, ToolInfo,
};

/// The phases' places on the timeline, earliest start first.
fn waterfall(pooled: &Recorder) -> Vec<super::WaterfallRow> {
    let mut rows: Vec<super::WaterfallRow> = pooled
        .offsets
        .iter()
        .map(|(metric, o)| super::WaterfallRow {
            metric: metric.clone(),
            count: o.start.count(),
            start_p50_ms: ms_to_the_us(o.start.quantile(0.5)),
            start_p90_ms: ms_to_the_us(o.start.quantile(0.9)),
            end_p50_ms: ms_to_the_us(o.end.quantile(0.5)),
            end_p90_ms: ms_to_the_us(o.end.quantile(0.9)),
        })
        .collect();
    rows.sort_by(|a, b| {
        a.start_p50_ms
            .total_cmp(&b.start_p50_ms)
            .then(b.end_p50_ms.total_cmp(&a.end_p50_ms))
    });
    rows
}

/// The run's critical paths as the result file states them.
fn critical_path(stats: &crate::measure::recorder::CriticalStats) -> super::CriticalPath {
    let mut prewarm: Vec<super::PrewarmBranch> = stats
        .prewarm
        .iter()
        .map(|(branch, n)| super::PrewarmBranch {
            branch: branch.as_str().to_owned(),
            iterations: *n,
        })
        .collect();
    prewarm.sort_by_key(|b| std::cmp::Reverse(b.iterations));
    let mut first_token: Vec<super::WaitedOn> = stats
        .first_token
        .iter()
        .map(|(cause, h)| super::WaitedOn {
            cause: cause.as_str().to_owned(),
            iterations: h.count(),
            waited_p50_ms: ms_to_the_us(h.quantile(0.5)),
            waited_mean_ms: ms_to_the_us(h.mean()),
        })
        .collect();
    first_token.sort_by(|a, b| {
        (b.waited_mean_ms * b.iterations as f64)
            .total_cmp(&(a.waited_mean_ms * a.iterations as f64))
    });
    super::CriticalPath {
        iterations: stats.iterations,
        prewarm,
        first_token,
    }
}

/// How many distinct failure causes a summary names.
pub(crate) const FAILURE_CAUSES: usize = 5;

/// A measured duration in milliseconds, rounded to the microsecond the histograms resolve.
pub(crate) fn ms_to_the_us(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// A pooled row from one series.
pub(crate) fn metric_row(metric: &str, status: Option<&str>, series: &Series) -> MetricRow {
    let h = &series.histogram;
    let r = series.resolution;
    MetricRow {
        metric: metric.to_owned(),
        status: status.map(str::to_owned),
        count: h.count(),
        errors: 0,
        min_ms: Some(h.min_ms(r)),
        mean_ms: Some(ms_to_the_us(h.mean())),
        stdev_ms: Some(ms_to_the_us(h.stdev())),
        p50_ms: Some(h.quantile_ms(0.5, r)),
        p90_ms: Some(h.quantile_ms(0.9, r)),
        p95_ms: Some(h.quantile_ms(0.95, r)),
        p99_ms: Some(h.quantile_ms(0.99, r)),
        max_ms: Some(h.max_ms(r)),
        resolution: Some(r),
        histogram: Some(h.encode()),
    }
}

fn error_row(metric: &str, errors: u64) -> MetricRow {
    MetricRow {
        metric: metric.to_owned(),
        status: None,
        count: 0,
        errors,
        min_ms: None,
        mean_ms: None,
        stdev_ms: None,
        p50_ms: None,
        p90_ms: None,
        p95_ms: None,
        p99_ms: None,
        max_ms: None,
        resolution: None,
        histogram: None,
    }
}

/// Sorts rows in report order (the startup path), then by name and status.
pub(crate) fn sort_rows(rows: &mut [MetricRow]) {
    rows.sort_by(|a, b| {
        (report_rank(&a.metric), &a.metric, &a.status).cmp(&(
            report_rank(&b.metric),
            &b.metric,
            &b.status,
        ))
    });
}

/// Metric rows in report order, with errors attached: to the metric's only series, or to a
/// status-less row of their own when the metric has several statuses or none.
pub(crate) fn metric_rows(recorder: &Recorder) -> Vec<MetricRow> {
    let mut rows: Vec<MetricRow> = recorder
        .series
        .iter()
        .map(|(key, series)| metric_row(&key.metric, key.status.as_deref(), series))
        .collect();
    attach_errors(&mut rows, &recorder.errors);
    sort_rows(&mut rows);
    rows
}

/// Adds each metric's errors to its only row, or to an error row of its own.
pub(crate) fn attach_errors(rows: &mut Vec<MetricRow>, errors: &BTreeMap<String, u64>) {
    for (metric, &n) in errors {
        let matching: Vec<usize> = rows
            .iter()
            .enumerate()
            .filter(|(_, r)| &r.metric == metric)
            .map(|(i, _)| i)
            .collect();
        if let [only] = matching[..] {
            rows[only].errors += n;
        } else {
            rows.push(error_row(metric, n));
        }
    }
}

fn overhead_rows(recorder: &Recorder) -> Vec<OverheadRow> {
    let mut rows: Vec<OverheadRow> = recorder
        .overhead
        .iter()
        .map(|(metric, o)| OverheadRow {
            metric: metric.clone(),
            count: o.injected.count(),
            injected_p50_ms: ms_to_the_us(o.injected.quantile(0.5)),
            overhead_p50_ms: ms_to_the_us(o.excess.quantile(0.5)),
            overhead_p99_ms: ms_to_the_us(o.excess.quantile(0.99)),
            overhead_max_ms: ms_to_the_us(o.excess.max()),
            overhead_jitter_ms: Some(ms_to_the_us(
                o.excess
                    .quantile(0.9)
                    .saturating_sub(o.excess.quantile(0.1)),
            )),
            below_injected: o.below_injected,
        })
        .collect();
    rows.sort_by(|a, b| {
        (report_rank(&a.metric), &a.metric).cmp(&(report_rank(&b.metric), &b.metric))
    });
    rows
}

fn round_record(index: usize, outcome: &RunOutcome) -> RoundRecord {
    RoundRecord {
        round: if outcome.round > 0 {
            outcome.round
        } else {
            index as u32 + 1
        },
        iterations: outcome.iterations,
        failed_iterations: outcome.failed_iterations(),
        wall_time_s: outcome.total_wall_time.as_secs_f64(),
        series: outcome
            .recorder
            .series
            .iter()
            .map(|(key, s)| RoundSeries {
                metric: key.metric.clone(),
                status: key.status.clone(),
                count: s.histogram.count(),
                resolution: s.resolution,
                histogram: s.histogram.encode(),
            })
            .collect(),
    }
}

/// What a run produced besides its rounds.
pub(crate) struct RunContext {
    pub target: TargetInfo,
    /// The scenario's budgets, already judged on the rounds.
    pub budgets: Vec<BudgetRow>,
    pub telemetry: TelemetryHealth,
    pub warnings: Vec<String>,
    pub environment: Environment,
    pub total_wall_time: Duration,
    pub partial: bool,
    /// The shard (K, N) this run was, if any.
    pub shard: Option<(u32, u32)>,
}

/// Summarizes a run's rounds.
pub(crate) fn summarize(
    scenario: &Scenario,
    rounds: &[RunOutcome],
    context: RunContext,
) -> RunSummary {
    let mut pooled = Recorder::default();
    let mut failures: BTreeMap<String, u64> = BTreeMap::new();
    let mut causes: BTreeMap<String, u64> = BTreeMap::new();
    let (mut iterations, mut warmup_failures) = (0, 0);
    let mut measured = Duration::ZERO;
    for round in rounds {
        pooled.merge(&round.recorder);
        for (kind, n) in &round.failures {
            *failures.entry(kind.clone()).or_default() += n;
        }
        for (cause, n) in &round.failure_causes {
            *causes.entry(cause.clone()).or_default() += n;
        }
        iterations += round.iterations;
        warmup_failures += round.warmup_failures;
        measured += round.measured_wall_time;
    }
    let failed: u64 = failures.values().sum();
    let succeeded = iterations.saturating_sub(failed);
    let mut ranked: Vec<(String, u64)> = causes.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    RunSummary {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo {
            name: "phasebench".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        },
        scenario: ScenarioInfo {
            name: scenario.name.clone(),
            path: scenario.path.as_ref().map(|p| p.display().to_string()),
            content_hash: scenario.content_hash.clone(),
            seed: scenario.seed,
        },
        target: context.target,
        environment: context.environment,
        plan: PlanInfo {
            iterations: scenario.plan.iterations.get(),
            warmup: scenario.plan.warmup,
            concurrency: scenario.plan.concurrency.get(),
            iteration_timeout_ms: ms_to_the_us(scenario.plan.iteration_timeout),
            rounds: scenario.plan.rounds.get(),
            max_failure_ratio: scenario.plan.max_failure_ratio,
            arrival_rate_per_s: scenario.plan.arrivals.map(|a| a.per_second),
            shard: context
                .shard
                .map(|(index, count)| super::ShardInfo { index, count }),
        },
        run: RunInfo {
            wall_time_s: context.total_wall_time.as_secs_f64(),
            measured_wall_time_s: measured.as_secs_f64(),
            succeeded_iterations: succeeded,
            iterations_per_s: if measured.is_zero() {
                0.0
            } else {
                succeeded as f64 / measured.as_secs_f64()
            },
            failed_iterations: failed,
            failures_by_kind: failures,
            warmup_failures,
            failure_examples: ranked
                .into_iter()
                .take(FAILURE_CAUSES)
                .map(|(cause, n)| format!("{n}× {cause}"))
                .collect(),
        },
        metrics: metric_rows(&pooled),
        rounds: rounds
            .iter()
            .enumerate()
            .map(|(i, r)| round_record(i, r))
            .collect(),
        overhead: overhead_rows(&pooled),
        critical_path: critical_path(&pooled.critical),
        waterfall: waterfall(&pooled),
        merged_from: Vec::new(),
        budgets: context.budgets,
        policy: scenario.policy.clone(),
        telemetry: context.telemetry,
        warnings: context.warnings,
        partial: context.partial,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::sample::{Resolution, Sample};

    #[test]
    fn errors_go_to_the_only_series_or_a_row_of_their_own() {
        let mut r = Recorder::default();
        r.record(&Sample::client("turn_ttft", Duration::from_millis(5)));
        for status in ["ready", "failed"] {
            r.record(&Sample {
                key: crate::model::series::MetricKey::new("startup_prewarm_resolve", Some(status)),
                duration: Duration::ZERO,
                resolution: Resolution::Us,
                ended_at: None,
            });
        }
        r.record_error("turn_ttft");
        r.record_error("startup_prewarm_resolve");
        r.record_error("thread_start_total");
        let rows = metric_rows(&r);
        let ttft = rows.iter().find(|r| r.metric == "turn_ttft").unwrap();
        assert_eq!((ttft.count, ttft.errors), (1, 1));
        let resolve: Vec<_> = rows
            .iter()
            .filter(|r| r.metric == "startup_prewarm_resolve")
            .collect();
        assert_eq!(resolve.len(), 3);
        assert!(
            resolve
                .iter()
                .any(|r| r.status.is_none() && r.errors == 1 && r.count == 0)
        );
        let total = rows
            .iter()
            .find(|r| r.metric == "thread_start_total")
            .unwrap();
        assert_eq!((total.count, total.errors, total.p50_ms), (0, 1, None));
        let order: Vec<&str> = rows.iter().map(|r| r.metric.as_str()).collect();
        assert!(
            order.iter().position(|m| *m == "thread_start_total")
                < order.iter().position(|m| *m == "turn_ttft")
        );
    }
}
