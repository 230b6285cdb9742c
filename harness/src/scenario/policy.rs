//! The regression policy a comparison applies (thresholds, confidence, the primary statistics
//! that can fail the gate and their weights, what "undecided" exits with), and the statistics
//! a `[gate]` entry names. Kept apart from the `[gate]` table's parsing ([`super::gate`])
//! because the policy also lives on without a scenario: every result file stores it, and a
//! comparison re-validates it when read back.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A statistic a budget constrains.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Statistic {
    /// A quantile in (0, 1].
    Quantile(f64),
    Max,
    Mean,
}

impl Statistic {
    /// Parses `p50`, `p999`, `max`, `mean`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "max" => Some(Statistic::Max),
            "mean" => Some(Statistic::Mean),
            p => {
                let digits = p.strip_prefix('p')?;
                // p50 is 0.50, p999 is 0.999; p100 or p500 would read as 0.1 and 0.5: refused
                // (write max, p10, p50).
                if !digits.bytes().all(|b| b.is_ascii_digit())
                    || digits.len() > 6
                    || (digits.len() > 2 && digits.ends_with('0'))
                {
                    return None;
                }
                let n: u32 = digits.parse().ok()?;
                // p50 is 0.50, p999 is 0.999: the digits are the fraction's.
                let q = f64::from(n) / 10f64.powi(digits.len().max(2) as i32);
                (q > 0.0 && q <= 1.0).then_some(Statistic::Quantile(q))
            }
        }
    }
}

/// Per-metric threshold overrides.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MetricThreshold {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relative: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absolute_ms: Option<f64>,
}

/// When a change counts as a regression: its confidence interval must lie wholly beyond
/// max(relative × baseline, absolute, the series' resolution). Stored in every result file,
/// so a comparison needs no scenario file (and is re-validated when read back).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RegressionPolicy {
    pub relative_threshold: f64,
    pub absolute_threshold_ms: f64,
    /// Two-sided confidence of the intervals.
    pub confidence: f64,
    #[serde(default)]
    pub metrics: BTreeMap<String, MetricThreshold>,
    /// The statistics that can fail the gate, as "metric.p50"; every other compared row is
    /// informational. A name also covers its cohort forms (`cold.turn_ttft`, …) and every
    /// status of the metric.
    #[serde(default = "default_primary")]
    pub primary: Vec<String>,
    /// Weights of primary statistics in Holm's correction (absent: 1). A row weighing 2 of a
    /// family weighing 4 is tested at half the error budget where equal weights give it a
    /// third: the scenario's headline statistic keeps more power, the family's error rate
    /// stays the same.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub weights: BTreeMap<String, f64>,
    /// What a comparison that could not decide every primary row exits with.
    #[serde(default)]
    pub undecided: OnUndecided,
}

/// What a comparison exits with when some primary row is inconclusive (the gate could not
/// judge it): its own exit code by default, so that "could not judge" never reads as "pass".
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum OnUndecided {
    /// Exit 4: neither pass nor fail.
    #[default]
    Undecided,
    /// Exit 1, as a regression.
    Fail,
    /// Exit 0, as a pass (the team's choice: a gate that cannot judge lets the change in).
    Pass,
}

impl OnUndecided {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "undecided" => Some(Self::Undecided),
            "fail" => Some(Self::Fail),
            "pass" => Some(Self::Pass),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Undecided => "undecided",
            Self::Fail => "fail",
            Self::Pass => "pass",
        }
    }
}

/// The default relative threshold: a change under 2% never fails the gate.
pub(crate) const DEFAULT_RELATIVE_THRESHOLD: f64 = 0.02;

/// TTFT and the startup totals, at p50 and p90.
pub(crate) fn default_primary() -> Vec<String> {
    [
        "turn_ttft.p50",
        "turn_ttft.p90",
        "thread_start_total.p50",
        "thread_start_total.p90",
        "startup_prewarm_total.p50",
        "startup_prewarm_total.p90",
    ]
    .map(String::from)
    .into()
}

impl Default for RegressionPolicy {
    fn default() -> Self {
        Self {
            relative_threshold: DEFAULT_RELATIVE_THRESHOLD,
            absolute_threshold_ms: 0.1,
            confidence: 0.95,
            metrics: BTreeMap::new(),
            primary: default_primary(),
            weights: BTreeMap::new(),
            undecided: OnUndecided::Undecided,
        }
    }
}

/// Accepted ranges (the same for `[gate]` and for a policy read back from a file).
const MAX_RELATIVE: f64 = 10.0;
const MAX_ABSOLUTE_MS: f64 = 3_600_000.0;
/// A primary statistic's weight is in (0, MAX_WEIGHT].
const MAX_WEIGHT: f64 = 1000.0;

impl RegressionPolicy {
    /// Checks a policy read from a file: a tampered threshold of 1e300 or a confidence of 2
    /// would silence or break every verdict.
    pub fn validate(&self) -> Result<(), String> {
        let relative = |what: &str, v: f64| {
            if (0.0..=MAX_RELATIVE).contains(&v) {
                Ok(())
            } else {
                Err(format!("{what} {v} is outside [0, {MAX_RELATIVE}]"))
            }
        };
        let absolute = |what: &str, v: f64| {
            if (0.0..=MAX_ABSOLUTE_MS).contains(&v) {
                Ok(())
            } else {
                Err(format!("{what} {v} ms is outside [0, {MAX_ABSOLUTE_MS}]"))
            }
        };
        relative("relative_threshold", self.relative_threshold)?;
        absolute("absolute_threshold_ms", self.absolute_threshold_ms)?;
        if !(0.5..1.0).contains(&self.confidence) {
            return Err(format!(
                "confidence {} is outside [0.5, 1)",
                self.confidence
            ));
        }
        for (metric, t) in &self.metrics {
            if let Some(v) = t.relative {
                relative(&format!("{metric}.relative_threshold"), v)?;
            }
            if let Some(v) = t.absolute_ms {
                absolute(&format!("{metric}.absolute_threshold"), v)?;
            }
        }
        for entry in &self.primary {
            parse_primary(entry)?;
        }
        self.validate_weights()
    }

    /// Checks the weights: each names a primary statistic and lies in (0, MAX_WEIGHT].
    pub(crate) fn validate_weights(&self) -> Result<(), String> {
        for (entry, &weight) in &self.weights {
            if !self.primary.contains(entry) {
                return Err(format!(
                    "weights names {entry:?}, which is not a primary statistic ({})",
                    self.primary.join(", ")
                ));
            }
            if !(weight > 0.0 && weight <= MAX_WEIGHT) {
                return Err(format!(
                    "the weight of {entry:?}, {weight}, is outside (0, {MAX_WEIGHT}]"
                ));
            }
        }
        Ok(())
    }

    /// Whether (metric, quantile) is one of the primary statistics.
    pub fn is_primary(&self, metric: &str, q: f64) -> bool {
        self.primary_entry(metric, q).is_some()
    }

    /// The weight of (metric, quantile) in Holm's correction when it is primary: its
    /// `weights` entry, or 1.
    pub fn primary_weight(&self, metric: &str, q: f64) -> Option<f64> {
        let entry = self.primary_entry(metric, q)?;
        Some(self.weights.get(entry).copied().unwrap_or(1.0))
    }

    /// The primary entry that names (metric, quantile), directly or as a cohort form.
    fn primary_entry(&self, metric: &str, q: f64) -> Option<&String> {
        self.primary.iter().find(|entry| {
            parse_primary(entry).is_ok_and(|(name, pq)| {
                (pq - q).abs() < 1e-9 && (metric == name || metric.ends_with(&format!(".{name}")))
            })
        })
    }

    /// The practical threshold for `metric` at a baseline value, in milliseconds, never finer
    /// than the series' resolution (a 0.1 ms threshold on whole milliseconds means nothing).
    pub fn threshold_ms(&self, metric: &str, baseline_ms: f64, resolution_ms: f64) -> f64 {
        let m = self.metrics.get(metric);
        let relative = m
            .and_then(|m| m.relative)
            .unwrap_or(self.relative_threshold);
        let absolute = m
            .and_then(|m| m.absolute_ms)
            .unwrap_or(self.absolute_threshold_ms);
        (relative * baseline_ms.abs())
            .max(absolute)
            .max(resolution_ms)
    }
}

/// Splits a primary entry "metric.p50" into its metric and quantile.
pub(crate) fn parse_primary(entry: &str) -> Result<(&str, f64), String> {
    let (metric, stat) = entry
        .rsplit_once('.')
        .ok_or_else(|| format!("{entry:?} is not \"METRIC.STAT\" (e.g. \"turn_ttft.p50\")"))?;
    match Statistic::parse(stat) {
        Some(Statistic::Quantile(q)) if q < 1.0 => Ok((metric, q)),
        _ => Err(format!(
            "{entry:?}: a primary statistic is a percentile such as p50, p90, p95 or p99"
        )),
    }
}
