//! Results: [`RunSummary`] is computed once from a run; each output format (terminal table,
//! JSON, CSV) renders it. The JSON is a versioned contract (`schema_version`), documented in
//! the README; units are in field names.

pub mod bmf;
pub mod comparison;
pub mod csv;
pub mod table;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::metric::report_rank;
use crate::recorder::{DurationHistogram, MetricKey, Recorder};
use crate::runner::RunOutcome;
use crate::sample::Resolution;
use crate::scenario::{Budget, RegressionPolicy, Scenario, Statistic};
use crate::target::{TargetInfo, TelemetryHealth};

/// Version of the JSON result format. Bump on any change a reader could notice.
pub const SCHEMA_VERSION: u32 = 1;

/// The JSON result of one run.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
    /// The scenario's regression policy, applied when this run is compared with a baseline.
    pub policy: RegressionPolicy,
    pub telemetry: TelemetryHealth,
    /// What the target noticed and the numbers cannot say: why telemetry bodies were
    /// malformed, where a refused connection was going. Absent in older files.
    #[serde(default)]
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioInfo {
    pub name: String,
    pub path: Option<String>,
    pub content_hash: String,
    pub seed: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Environment {
    pub os: String,
    pub arch: String,
    pub cpus: usize,
    pub cpu_model: Option<String>,
    pub git_commit: Option<String>,
    pub started_unix_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanInfo {
    pub iterations: u64,
    pub warmup: u64,
    pub concurrency: u32,
    pub iteration_timeout_ms: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
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
    /// The full distribution: an HdrHistogram in microseconds, V2-encoded, deflated, base64
    /// (the HdrHistogram interchange form). Absent for error-only rows.
    pub histogram: Option<String>,
}

/// Measured − injected for one metric, over clean iterations.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
            // A histogram reports a bucket's highest equivalent value (66 ms reads 66.047 at
            // three significant digits); values reported in whole milliseconds are shown as such.
            let at = |d: Duration| match series.resolution {
                Resolution::Ms => ms(d).round(),
                Resolution::Us => ms(d),
            };
            MetricRow {
                metric: key.metric.clone(),
                status: key.status.clone(),
                count: h.count(),
                errors: 0,
                min_ms: Some(at(h.min())),
                mean_ms: Some(ms(h.mean())),
                stdev_ms: Some(ms(h.stdev())),
                p50_ms: Some(at(h.quantile(0.5))),
                p90_ms: Some(at(h.quantile(0.9))),
                p99_ms: Some(at(h.quantile(0.99))),
                max_ms: Some(at(h.max())),
                resolution: Some(series.resolution),
                histogram: Some(h.encode()),
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
                histogram: None,
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
                name: "phasebench".to_owned(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
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
            policy: scenario.policy.clone(),
            telemetry,
            warnings: Vec::new(),
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
            os: std::env::consts::OS.to_owned(),
            arch: std::env::consts::ARCH.to_owned(),
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model,
            git_commit,
            started_unix_ms: started
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
        }
    }
}

/// Why a result file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ResultFileError {
    #[error("cannot read result file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a phasebench result: {message} (line {line}, column {column})")]
    Json {
        path: String,
        message: String,
        line: usize,
        column: usize,
    },
    #[error(
        "{path} has schema_version {found}; this phasebench reads version {SCHEMA_VERSION}: \
         re-run the scenario with this version to compare"
    )]
    Version { path: String, found: String },
    #[error("{path}: metric {metric:?} (status {status:?}) has a corrupt histogram: {message}")]
    Histogram {
        path: String,
        metric: String,
        status: Option<String>,
        message: String,
    },
    #[error("{path}: metric {metric:?} (status {status:?}) has {count} samples but no histogram")]
    MissingHistogram {
        path: String,
        metric: String,
        status: Option<String>,
        count: u64,
    },
}

/// A result file read back, with its histograms decoded.
#[derive(Debug, Clone)]
pub struct LoadedResult {
    pub path: String,
    pub summary: RunSummary,
    /// Per (metric, status) with samples, the decoded histogram.
    pub histograms: BTreeMap<MetricKey, DurationHistogram>,
}

impl LoadedResult {
    /// The summary row of one (metric, status) series.
    pub fn row(&self, key: &MetricKey) -> Option<&MetricRow> {
        self.summary
            .metrics
            .iter()
            .find(|r| r.metric == key.metric && r.status == key.status)
    }
}

/// Reads and checks a result file: JSON, schema version, every histogram.
pub fn load_result(path: &Path) -> Result<LoadedResult, ResultFileError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ResultFileError::Read {
        path: shown.clone(),
        source,
    })?;
    parse_result(&text, &shown)
}

/// [`load_result`] on text already read; `path` names it in errors.
pub fn parse_result(text: &str, path: &str) -> Result<LoadedResult, ResultFileError> {
    let json_error = |e: serde_json::Error| ResultFileError::Json {
        path: path.to_owned(),
        message: e.to_string(),
        line: e.line(),
        column: e.column(),
    };
    // Check the version before the shape, so an old or future file says so.
    let value: serde_json::Value = serde_json::from_str(text).map_err(json_error)?;
    match value.get("schema_version") {
        Some(v) if v.as_u64() == Some(u64::from(SCHEMA_VERSION)) => {}
        other => {
            return Err(ResultFileError::Version {
                path: path.to_owned(),
                found: other.map_or("none".to_owned(), ToString::to_string),
            });
        }
    }
    let summary: RunSummary = serde_json::from_value(value).map_err(json_error)?;
    let mut histograms = BTreeMap::new();
    for row in &summary.metrics {
        let key = MetricKey {
            metric: row.metric.clone(),
            status: row.status.clone(),
        };
        match &row.histogram {
            Some(text) => {
                let h =
                    DurationHistogram::decode(text).map_err(|e| ResultFileError::Histogram {
                        path: path.to_owned(),
                        metric: row.metric.clone(),
                        status: row.status.clone(),
                        message: e.0,
                    })?;
                if h.count() != row.count {
                    return Err(ResultFileError::Histogram {
                        path: path.to_owned(),
                        metric: row.metric.clone(),
                        status: row.status.clone(),
                        message: format!(
                            "it holds {} samples but count says {}",
                            h.count(),
                            row.count
                        ),
                    });
                }
                histograms.insert(key, h);
            }
            None if row.count > 0 => {
                return Err(ResultFileError::MissingHistogram {
                    path: path.to_owned(),
                    metric: row.metric.clone(),
                    status: row.status.clone(),
                    count: row.count,
                });
            }
            None => {}
        }
    }
    Ok(LoadedResult {
        path: path.to_owned(),
        summary,
        histograms,
    })
}

/// A value as pretty JSON with a final newline, the form every JSON output takes.
pub fn json_bytes(value: &impl Serialize) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("output types always serialize");
    bytes.push(b'\n');
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::Sample;
    use crate::target::{TargetInfo, TelemetryHealth};

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

    fn summary_with(samples: &[(&str, u64)]) -> RunSummary {
        let scenario =
            Scenario::parse("name = \"t\"\ntarget = \"builtin\"\n", "t.toml", &[]).unwrap();
        let mut outcome = RunOutcome::default();
        for (metric, us) in samples {
            outcome
                .recorder
                .record(&Sample::client(metric, Duration::from_micros(*us)));
        }
        outcome.iterations = samples.len() as u64;
        let target = TargetInfo {
            name: "fake".into(),
            version: "0".into(),
        };
        RunSummary::new(
            &scenario,
            target,
            &outcome,
            TelemetryHealth::default(),
            Environment::detect(std::time::SystemTime::now()),
        )
    }

    #[test]
    fn results_round_trip_with_their_histograms() {
        let summary = summary_with(&[
            ("turn_ttft", 1000),
            ("turn_ttft", 3000),
            ("thread_start_total", 50),
        ]);
        let text = serde_json::to_string(&summary).unwrap();
        let loaded = parse_result(&text, "r.json").unwrap();
        let key = MetricKey {
            metric: "turn_ttft".into(),
            status: None,
        };
        assert_eq!(loaded.histograms[&key].count(), 2);
        assert_eq!(
            loaded.summary.scenario.content_hash,
            summary.scenario.content_hash
        );
        assert_eq!(loaded.summary.policy, RegressionPolicy::default());
    }

    #[test]
    fn bad_result_files_get_clear_errors() {
        let summary = summary_with(&[("turn_ttft", 1000)]);
        let text = serde_json::to_string_pretty(&summary).unwrap();
        let truncated = &text[..text.len() / 2];
        let err = parse_result(truncated, "r.json").unwrap_err();
        assert!(matches!(err, ResultFileError::Json { .. }), "{err}");
        assert!(err.to_string().contains("r.json"), "{err}");

        let future = text.replace("\"schema_version\": 1", "\"schema_version\": 99");
        let err = parse_result(&future, "r.json").unwrap_err();
        assert!(err.to_string().contains("schema_version 99"), "{err}");

        let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
        value["metrics"][0]["histogram"] = serde_json::Value::String("HISTFAAAgarbage".into());
        let err = parse_result(&value.to_string(), "r.json").unwrap_err();
        assert!(matches!(err, ResultFileError::Histogram { .. }), "{err}");
        assert!(err.to_string().contains("turn_ttft"), "{err}");

        let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
        value["metrics"][0]["count"] = serde_json::Value::from(7);
        let err = parse_result(&value.to_string(), "r.json").unwrap_err();
        assert!(err.to_string().contains("count says 7"), "{err}");

        let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
        value["metrics"][0]["histogram"] = serde_json::Value::Null;
        assert!(matches!(
            parse_result(&value.to_string(), "r.json"),
            Err(ResultFileError::MissingHistogram { .. })
        ));

        let err = parse_result("[1, 2]", "r.json").unwrap_err();
        assert!(matches!(err, ResultFileError::Version { .. }), "{err}");
    }
}
