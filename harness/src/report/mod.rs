//! Results: [`RunSummary`] is computed once from a run; each output format (terminal table,
//! JSON, CSV) renders it. The JSON is a versioned contract (`schema_version`), documented in
//! the README; units are in field names.

pub mod csv;
pub mod table;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::metric::report_rank;
use crate::recorder::{DurationHistogram, MetricKey, Recorder};
use crate::runner::RunOutcome;
use crate::sample::Resolution;
use crate::scenario::{Budget, Scenario, Statistic};
use crate::target::{TargetInfo, TelemetryHealth};

/// Version of the JSON result format. Bump on any change a reader could notice.
pub const SCHEMA_VERSION: u32 = 1;

/// The JSON result of one run.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub schema_version: u32,
    pub tool: ToolInfo,
    pub scenario: ScenarioInfo,
    pub target: TargetInfo,
    pub environment: Environment,
    pub plan: PlanInfo,
    pub run: RunInfo,
    pub metrics: Vec<MetricRow>,
    pub overhead: Vec<OverheadRow>,
    pub budgets: Vec<BudgetRow>,
    pub telemetry: TelemetryHealth,
}

#[derive(Debug, Clone, Serialize)]
pub struct ToolInfo {
    pub name: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScenarioInfo {
    pub name: String,
    pub path: Option<String>,
    pub content_hash: String,
    pub seed: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Environment {
    pub os: &'static str,
    pub arch: &'static str,
    pub cpus: usize,
    pub cpu_model: Option<String>,
    pub git_commit: Option<String>,
    pub started_unix_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlanInfo {
    pub iterations: u64,
    pub warmup: u64,
    pub concurrency: u32,
    pub iteration_timeout_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    pub wall_time_s: f64,
    pub measured_wall_time_s: f64,
    pub iterations_per_s: f64,
    pub failed_iterations: u64,
    pub failures_by_kind: BTreeMap<String, u64>,
    pub warmup_failures: u64,
    pub failure_examples: Vec<String>,
}

/// One (metric, status) series.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MetricRow {
    pub metric: String,
    pub status: Option<String>,
    pub count: u64,
    /// Failed iterations that did not produce this metric.
    pub errors: u64,
    pub min_ms: Option<f64>,
    pub mean_ms: Option<f64>,
    pub stdev_ms: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p90_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
    /// The unit the values were really reported in: "us" or "ms".
    pub resolution: Option<Resolution>,
}

/// Measured − injected for one metric, over clean iterations.
#[derive(Debug, Clone, Serialize)]
pub struct OverheadRow {
    pub metric: String,
    pub count: u64,
    pub injected_p50_ms: f64,
    pub overhead_p50_ms: f64,
    pub overhead_p99_ms: f64,
    pub overhead_max_ms: f64,
    /// Samples measured below their injected delay (should be 0).
    pub below_injected: u64,
}

/// An absolute budget from `[gate]`, evaluated.
#[derive(Debug, Clone, Serialize)]
pub struct BudgetRow {
    pub key: String,
    pub limit_ms: f64,
    pub inclusive: bool,
    /// Absent when the metric had no samples (then the budget fails).
    pub actual_ms: Option<f64>,
    pub passed: bool,
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

fn stat(h: &DurationHistogram, statistic: Statistic) -> Duration {
    match statistic {
        Statistic::Quantile(q) => h.quantile(q),
        Statistic::Max => h.max(),
        Statistic::Mean => h.mean(),
    }
}

/// Metric rows in report order, with errors attached: to the metric's only series, or to a
/// status-less row of their own when the metric has several statuses or none.
pub fn metric_rows(recorder: &Recorder) -> Vec<MetricRow> {
    let mut rows: Vec<MetricRow> = recorder
        .series
        .iter()
        .map(|(key, series)| {
            let h = &series.histogram;
            MetricRow {
                metric: key.metric.clone(),
                status: key.status.clone(),
                count: h.count(),
                errors: 0,
                min_ms: Some(ms(h.min())),
                mean_ms: Some(ms(h.mean())),
                stdev_ms: Some(ms(h.stdev())),
                p50_ms: Some(ms(h.quantile(0.5))),
                p90_ms: Some(ms(h.quantile(0.9))),
                p99_ms: Some(ms(h.quantile(0.99))),
                max_ms: Some(ms(h.max())),
                resolution: Some(series.resolution),
            }
        })
        .collect();
    for (metric, &errors) in &recorder.errors {
        let matching: Vec<usize> = rows
            .iter()
            .enumerate()
            .filter(|(_, r)| &r.metric == metric)
            .map(|(i, _)| i)
            .collect();
        if let [only] = matching[..] {
            rows[only].errors += errors;
        } else {
            rows.push(MetricRow {
                metric: metric.clone(),
                status: None,
                count: 0,
                errors,
                min_ms: None,
                mean_ms: None,
                stdev_ms: None,
                p50_ms: None,
                p90_ms: None,
                p99_ms: None,
                max_ms: None,
                resolution: None,
            });
        }
    }
    rows.sort_by(|a, b| {
        (report_rank(&a.metric), &a.metric, &a.status).cmp(&(
            report_rank(&b.metric),
            &b.metric,
            &b.status,
        ))
    });
    rows
}

fn overhead_rows(recorder: &Recorder) -> Vec<OverheadRow> {
    let mut rows: Vec<OverheadRow> = recorder
        .overhead
        .iter()
        .map(|(metric, o)| OverheadRow {
            metric: metric.clone(),
            count: o.injected.count(),
            injected_p50_ms: ms(o.injected.quantile(0.5)),
            overhead_p50_ms: ms(o.excess.quantile(0.5)),
            overhead_p99_ms: ms(o.excess.quantile(0.99)),
            overhead_max_ms: ms(o.excess.max()),
            below_injected: o.below_injected,
        })
        .collect();
    rows.sort_by(|a, b| {
        (report_rank(&a.metric), &a.metric).cmp(&(report_rank(&b.metric), &b.metric))
    });
    rows
}

/// Evaluates budgets; a metric of several statuses is judged on all of them merged.
pub fn evaluate_budgets(budgets: &[Budget], recorder: &Recorder) -> Vec<BudgetRow> {
    budgets
        .iter()
        .map(|budget| {
            let mut merged = DurationHistogram::default();
            let mut any = false;
            for (MetricKey { metric, .. }, series) in &recorder.series {
                if *metric == budget.metric {
                    merged.merge(&series.histogram);
                    any = true;
                }
            }
            let actual = any.then(|| stat(&merged, budget.statistic));
            let passed = actual.is_some_and(|a| {
                if budget.inclusive {
                    a <= budget.limit
                } else {
                    a < budget.limit
                }
            });
            BudgetRow {
                key: budget.key.clone(),
                limit_ms: ms(budget.limit),
                inclusive: budget.inclusive,
                actual_ms: actual.map(ms),
                passed,
            }
        })
        .collect()
}

impl RunSummary {
    pub fn new(
        scenario: &Scenario,
        target: TargetInfo,
        outcome: &RunOutcome,
        telemetry: TelemetryHealth,
        environment: Environment,
    ) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            tool: ToolInfo {
                name: "phasebench",
                version: env!("CARGO_PKG_VERSION"),
            },
            scenario: ScenarioInfo {
                name: scenario.name.clone(),
                path: scenario.path.as_ref().map(|p| p.display().to_string()),
                content_hash: scenario.content_hash.clone(),
                seed: scenario.seed,
            },
            target,
            environment,
            plan: PlanInfo {
                iterations: scenario.plan.iterations.get(),
                warmup: scenario.plan.warmup,
                concurrency: scenario.plan.concurrency.get(),
                iteration_timeout_ms: ms(scenario.plan.iteration_timeout),
            },
            run: RunInfo {
                wall_time_s: outcome.total_wall_time.as_secs_f64(),
                measured_wall_time_s: outcome.measured_wall_time.as_secs_f64(),
                iterations_per_s: outcome.iterations_per_second(),
                failed_iterations: outcome.failed_iterations(),
                failures_by_kind: outcome.failures.clone(),
                warmup_failures: outcome.warmup_failures,
                failure_examples: outcome.failure_examples.clone(),
            },
            metrics: metric_rows(&outcome.recorder),
            overhead: overhead_rows(&outcome.recorder),
            budgets: evaluate_budgets(&scenario.budgets, &outcome.recorder),
            telemetry,
        }
    }

    pub fn budgets_passed(&self) -> bool {
        self.budgets.iter().all(|b| b.passed)
    }
}

impl Environment {
    /// Reads the machine fingerprint and the git commit of the working directory (if any).
    pub fn detect(started: std::time::SystemTime) -> Self {
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_owned())
            });
        let git_commit = std::process::Command::new("git")
            .args(["rev-parse", "HEAD"])
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
        Self {
            os: std::env::consts::OS,
            arch: std::env::consts::ARCH,
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model,
            git_commit,
            started_unix_ms: started
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
        }
    }
}

/// Writes `path` atomically: a temporary file in the same directory, synced, then renamed
/// over the target, so a reader never sees half a file.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".phasebench-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    {
        let mut buffered = std::io::BufWriter::new(tmp.as_file_mut());
        write(&mut buffered)?;
        buffered.flush()?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Writes the JSON result.
pub fn write_json(path: &Path, summary: &RunSummary) -> std::io::Result<()> {
    write_atomically(path, |w| {
        serde_json::to_writer_pretty(&mut *w, summary)?;
        w.write_all(b"\n")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::Sample;

    #[test]
    fn errors_go_to_the_only_series_or_a_row_of_their_own() {
        let mut r = Recorder::default();
        r.record(&Sample::client("turn_ttft", Duration::from_millis(5)));
        r.record(&Sample {
            metric: "startup_prewarm_resolve".into(),
            status: Some("ready".into()),
            duration: Duration::ZERO,
            resolution: Resolution::Us,
        });
        r.record(&Sample {
            metric: "startup_prewarm_resolve".into(),
            status: Some("failed".into()),
            duration: Duration::ZERO,
            resolution: Resolution::Us,
        });
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
        // Report order follows the startup path.
        let order: Vec<&str> = rows.iter().map(|r| r.metric.as_str()).collect();
        assert!(
            order.iter().position(|m| *m == "thread_start_total")
                < order.iter().position(|m| *m == "turn_ttft")
        );
    }

    #[test]
    fn budgets_pass_fail_and_fail_when_empty() {
        let mut r = Recorder::default();
        for ms in 1..=100 {
            r.record(&Sample::client("turn_ttft", Duration::from_millis(ms)));
        }
        let budget = |key: &str, metric: &str, q: f64, limit: u64| Budget {
            key: key.into(),
            metric: metric.into(),
            statistic: Statistic::Quantile(q),
            inclusive: false,
            limit: Duration::from_millis(limit),
        };
        let rows = evaluate_budgets(
            &[
                budget("a", "turn_ttft", 0.95, 200),
                budget("b", "turn_ttft", 0.95, 50),
                budget("c", "thread_start_total", 0.5, 10),
            ],
            &r,
        );
        assert!(rows[0].passed);
        assert!(!rows[1].passed);
        assert!(!rows[2].passed && rows[2].actual_ms.is_none());
    }

    #[test]
    fn atomic_write_replaces_whole_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("out.json");
        write_atomically(&path, |w| w.write_all(b"first")).unwrap();
        write_atomically(&path, |w| w.write_all(b"second")).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "second");
        // A failing writer leaves the previous file intact and no temporary behind.
        let err = write_atomically(&path, |w| {
            w.write_all(b"partial")?;
            Err(std::io::Error::other("boom"))
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "second");
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );
    }
}
