//! Results: what a run measured, as a versioned file format (`schema_version`, documented in
//! docs/formats.md, units in field names), built once from the runner's histograms
//! ([`summarize`]), read back as untrusted input with everything derivable re-derived
//! ([`load`]), and kept as baseline histories ([`history`]).
//!
//! A result keeps its rounds apart: each round ran on a fresh runtime (or fresh processes),
//! and what a round shares moves all its iterations together, so the statistics take the
//! round, not the iteration, as their unit. The pooled rows (`metrics`) are the merge of the
//! rounds' histograms.

pub(crate) mod comparable;
pub(crate) mod history;
pub(crate) mod ingest;
pub(crate) mod load;
pub(crate) mod pool;
pub(crate) mod summarize;
pub(crate) mod sweep;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::sample::Resolution;
use crate::model::series::{MetricKey, Series};
use crate::model::target::{TargetInfo, TelemetryHealth};
use crate::scenario::RegressionPolicy;

pub(crate) use comparable::{Comparable, differences};
pub(crate) use load::{LoadedResult, ResultFileError, load_result};

/// Version of the JSON result format. Bump on any change a reader could notice.
/// 2: rounds kept apart (`rounds`), `plan.rounds`, budgets judged on intervals, `partial`.
pub(crate) const SCHEMA_VERSION: u32 = 2;

/// The JSON result of one run.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunSummary {
    pub schema_version: u32,
    pub tool: ToolInfo,
    pub scenario: ScenarioInfo,
    pub target: TargetInfo,
    pub environment: Environment,
    pub plan: PlanInfo,
    pub run: RunInfo,
    /// Pooled over the rounds: one row per (metric, status).
    pub metrics: Vec<MetricRow>,
    /// Each round's histograms, the unit the statistics work on.
    pub rounds: Vec<RoundRecord>,
    pub overhead: Vec<OverheadRow>,
    pub budgets: Vec<BudgetRow>,
    /// The scenario's regression policy, applied when this run is compared with a baseline.
    pub policy: RegressionPolicy,
    pub telemetry: TelemetryHealth,
    /// What the target noticed and the numbers cannot say: why telemetry bodies were
    /// malformed, where a refused connection was going.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// The run was interrupted (SIGINT/SIGTERM): these are the rounds finished so far.
    #[serde(default)]
    pub partial: bool,
    /// What the successful iterations' first tokens waited on (informational: derived per
    /// iteration, not from the histograms, so a loaded file's copy is shown, never judged).
    #[serde(default)]
    pub critical_path: CriticalPath,
    /// Where each phase sits on its iteration's timeline (from the iteration's start), for
    /// the waterfall; informational like `critical_path`.
    #[serde(default)]
    pub waterfall: Vec<WaterfallRow>,
    /// A merged result (`phasebench merge`): where each shard ran, which rounds, how long
    /// (`environment` above is the first shard's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<ShardOrigin>,
}

/// One shard of a merged result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ShardOrigin {
    pub shard: ShardInfo,
    /// The shard's file as given to `merge`.
    pub path: String,
    /// The rounds it ran (numbered as in the whole run).
    pub rounds: Vec<u32>,
    pub environment: Environment,
    pub wall_time_s: f64,
}

/// One phase's place on the startup timeline, over the iterations that timed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WaterfallRow {
    pub metric: String,
    pub count: u64,
    pub start_p50_ms: f64,
    pub start_p90_ms: f64,
    pub end_p50_ms: f64,
    pub end_p90_ms: f64,
}

/// Critical paths over a run's successful iterations.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CriticalPath {
    /// Iterations with a first token.
    pub iterations: u64,
    /// The branch the prewarm finished on: "tool building" or "websocket connect".
    pub prewarm: Vec<PrewarmBranch>,
    /// What first tokens waited on, largest share first.
    pub first_token: Vec<WaitedOn>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PrewarmBranch {
    pub branch: String,
    pub iterations: u64,
}

/// How long first tokens waited on one cause, over the iterations that waited on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WaitedOn {
    pub cause: String,
    pub iterations: u64,
    pub waited_p50_ms: f64,
    pub waited_mean_ms: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScenarioInfo {
    pub name: String,
    pub path: Option<String>,
    pub content_hash: String,
    pub seed: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Environment {
    pub os: String,
    pub arch: String,
    pub cpus: usize,
    pub cpu_model: Option<String>,
    /// The git commit the phasebench binary that made this result was built from (embedded at
    /// build time; for the built-in runtime, also the runtime's commit).
    pub git_commit: Option<String>,
    /// That binary's version.
    #[serde(default)]
    pub phasebench_version: Option<String>,
    pub started_unix_ms: u64,
}

/// The commit this binary was built from, when it was built in a git checkout.
pub(crate) fn build_commit() -> Option<String> {
    Some(env!("PHASEBENCH_BUILD_COMMIT"))
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PlanInfo {
    pub iterations: u64,
    /// Per round.
    pub warmup: u64,
    pub concurrency: u32,
    pub iteration_timeout_ms: f64,
    pub rounds: u32,
    pub max_failure_ratio: f64,
    /// Open loop: the intended starts per second (the achieved rate is
    /// `run.iterations_per_s`; queueing shows as `client.start_delay`).
    #[serde(default)]
    pub arrival_rate_per_s: Option<f64>,
    /// This run was shard `index` of `count` (rounds index, index + count, …).
    #[serde(default)]
    pub shard: Option<ShardInfo>,
}

/// Which part of a run a shard ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ShardInfo {
    /// 1-based.
    pub index: u32,
    pub count: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunInfo {
    pub wall_time_s: f64,
    pub measured_wall_time_s: f64,
    /// Measured iterations that completed.
    pub succeeded_iterations: u64,
    /// Successful iterations per second of measured wall time (failures are not throughput).
    pub iterations_per_s: f64,
    pub failed_iterations: u64,
    pub failures_by_kind: BTreeMap<String, u64>,
    pub warmup_failures: u64,
    /// The first distinct failure messages, with how many iterations failed that way.
    pub failure_examples: Vec<String>,
}

/// One (metric, status) series, pooled over the rounds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
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
    #[serde(default)]
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
    /// The unit the values were really reported in: "us" or "ms".
    pub resolution: Option<Resolution>,
    /// The full distribution: an HdrHistogram in microseconds, V2-encoded, deflated, base64
    /// (the HdrHistogram interchange form). Absent for error-only rows.
    pub histogram: Option<String>,
}

impl MetricRow {
    /// Its series.
    pub fn key(&self) -> crate::model::series::MetricKey {
        crate::model::series::MetricKey::new(&self.metric, self.status.as_deref())
    }
}

/// One round: a fresh runtime (or fresh processes) and its share of the iterations.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct RoundRecord {
    /// 1-based.
    pub round: u32,
    /// Measured iterations run in this round.
    pub iterations: u64,
    pub failed_iterations: u64,
    pub wall_time_s: f64,
    pub series: Vec<RoundSeries>,
}

/// One (metric, status) series of one round.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct RoundSeries {
    pub metric: String,
    pub status: Option<String>,
    pub count: u64,
    pub resolution: Resolution,
    /// Encoded like [`MetricRow::histogram`].
    pub histogram: String,
}

impl RoundSeries {
    /// Its series.
    pub fn key(&self) -> crate::model::series::MetricKey {
        crate::model::series::MetricKey::new(&self.metric, self.status.as_deref())
    }
}

/// Measured − injected for one metric, over clean iterations.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OverheadRow {
    pub metric: String,
    pub count: u64,
    pub injected_p50_ms: f64,
    pub overhead_p50_ms: f64,
    pub overhead_p99_ms: f64,
    pub overhead_max_ms: f64,
    /// The overhead's own spread, p90 − p10: it bounds the smallest change the harness can
    /// resolve. Absent from files written before it was kept.
    #[serde(default)]
    pub overhead_jitter_ms: Option<f64>,
    /// Samples measured below their injected delay (should be 0).
    pub below_injected: u64,
}

/// How a budget came out, judged on the interval of its statistic, not the point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BudgetVerdict {
    /// The whole interval lies within the limit.
    Held,
    /// The whole interval lies beyond the limit (or the metric has no samples): fails.
    Breached,
    /// The interval straddles the limit: shown, does not fail.
    Inconclusive,
}

/// An absolute budget from `[gate]`, evaluated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BudgetRow {
    pub key: String,
    pub limit_ms: f64,
    pub inclusive: bool,
    /// Absent when the metric had no samples (then the budget is breached).
    pub actual_ms: Option<f64>,
    /// The interval of the statistic at the policy's confidence (rounds, or order statistics
    /// of the pooled samples); absent for `max` and without samples.
    pub low_ms: Option<f64>,
    pub high_ms: Option<f64>,
    pub verdict: BudgetVerdict,
    /// False only when breached.
    pub passed: bool,
}

impl RunSummary {
    pub fn budgets_passed(&self) -> bool {
        self.budgets.iter().all(|b| b.passed)
    }

    /// The share of measured iterations that failed.
    pub fn failure_ratio(&self) -> f64 {
        let attempted = self.run.succeeded_iterations + self.run.failed_iterations;
        if attempted == 0 {
            return 0.0;
        }
        self.run.failed_iterations as f64 / attempted as f64
    }

    /// More iterations failed than the plan allows (or none succeeded).
    pub fn mostly_failed(&self) -> bool {
        self.run.succeeded_iterations == 0 || self.failure_ratio() > self.plan.max_failure_ratio
    }
}

impl Environment {
    /// Reads the machine fingerprint; names this binary's build (commit, version).
    pub fn detect(started: std::time::SystemTime) -> Self {
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_owned())
            });
        Self {
            os: std::env::consts::OS.to_owned(),
            arch: std::env::consts::ARCH.to_owned(),
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model,
            git_commit: build_commit(),
            phasebench_version: Some(env!("CARGO_PKG_VERSION").to_owned()),
            started_unix_ms: started
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
        }
    }
}

/// One round's series, decoded: what statistics work on.
pub(crate) type DecodedRound = BTreeMap<MetricKey, Series>;

/// Several rounds merged into one (histograms added, the coarsest resolution kept).
pub(crate) fn merge_rounds<'a>(rounds: impl IntoIterator<Item = &'a DecodedRound>) -> DecodedRound {
    let mut out = DecodedRound::new();
    for round in rounds {
        for (key, series) in round {
            match out.get_mut(key) {
                Some(o) => {
                    o.histogram.merge(&series.histogram);
                    o.resolution = o.resolution.max(series.resolution);
                }
                None => {
                    out.insert(key.clone(), series.clone());
                }
            }
        }
    }
    out
}

/// The JSON Schema of the result file, generated from these types (committed as
/// `schemas/result.schema.json`; a test keeps the two equal).
pub(crate) fn json_schema() -> String {
    let schema = schemars::schema_for!(RunSummary);
    String::from_utf8(json_bytes(&schema)).expect("JSON is UTF-8")
}

/// A value as pretty JSON with a final newline, the form every JSON output takes.
pub(crate) fn json_bytes(value: &impl Serialize) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("output types always serialize");
    bytes.push(b'\n');
    bytes
}
