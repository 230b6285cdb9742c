//! The `[gate]` table: absolute budgets (`"turn_ttft.p95" = "< 250ms"`) and the regression
//! policy a comparison with a baseline applies (thresholds and confidence), with per-metric
//! overrides (`"turn_ttft.relative_threshold" = 0.10`).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::metric::{Profile, expected_metrics};

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

/// An absolute budget from `[gate]`, e.g. `"turn_ttft.p95" = "< 250ms"`.
#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    pub key: String,
    pub metric: String,
    pub statistic: Statistic,
    pub inclusive: bool,
    pub limit: Duration,
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
            undecided: OnUndecided::Undecided,
        }
    }
}

/// Accepted ranges (the same for `[gate]` and for a policy read back from a file).
const MAX_RELATIVE: f64 = 10.0;
const MAX_ABSOLUTE_MS: f64 = 3_600_000.0;

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
        Ok(())
    }

    /// Whether (metric, quantile) is one of the primary statistics.
    pub fn is_primary(&self, metric: &str, q: f64) -> bool {
        self.primary.iter().any(|entry| {
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

/// The parsed `[gate]` table.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Gate {
    pub budgets: Vec<Budget>,
    pub policy: RegressionPolicy,
}

const STATISTIC_HELP: &str = "use p50, p90, p95, p99, p999, max or mean";

/// A duration in milliseconds, unrounded (a threshold as the user wrote it).
fn exact_ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn as_fraction(value: &toml::Value, what: &str) -> Result<f64, String> {
    let v = match value {
        toml::Value::Float(f) => *f,
        toml::Value::Integer(i) => *i as f64,
        other => return Err(format!("{what} is a number such as 0.05, not {other}")),
    };
    if !(0.0..=10.0).contains(&v) {
        return Err(format!("{what} {v} is outside [0, 10]"));
    }
    Ok(v)
}

fn as_duration(value: &toml::Value, what: &str) -> Result<Duration, String> {
    match value {
        toml::Value::String(s) => mock_backend::parse_duration(s).map_err(|e| e.to_string()),
        other => Err(format!(
            "{what} is a duration string such as \"0.5ms\", not {other}"
        )),
    }
}

/// Parses the `[gate]` entries. Errors carry the key they are about (as written in the table).
pub(crate) fn parse(
    entries: &BTreeMap<String, toml::Value>,
    profile: Profile,
) -> Result<Gate, (String, String)> {
    let mut gate = Gate::default();
    let known = expected_metrics(profile);
    let check_metric = |metric: &str| -> Result<(), String> {
        if known.iter().any(|m| m == metric) {
            Ok(())
        } else {
            Err(format!(
                "no metric {metric:?} in this scenario; its metrics are: {}",
                known.join(", ")
            ))
        }
    };
    for (key, value) in entries {
        let fail = |message: String| (key.clone(), message);
        match key.as_str() {
            "relative_threshold" => {
                gate.policy.relative_threshold = as_fraction(value, key).map_err(fail)?
            }
            "absolute_threshold" => {
                gate.policy.absolute_threshold_ms = exact_ms(as_duration(value, key).map_err(fail)?)
            }
            "primary" => {
                let toml::Value::Array(items) = value else {
                    return Err(fail(
                        "primary is a list such as [\"turn_ttft.p50\", \"turn_ttft.p90\"]".into(),
                    ));
                };
                let mut primary = Vec::new();
                for item in items {
                    let toml::Value::String(entry) = item else {
                        return Err(fail(format!("{item} is not a string \"METRIC.STAT\"")));
                    };
                    let (metric, _) = parse_primary(entry).map_err(fail)?;
                    check_metric(metric).map_err(fail)?;
                    primary.push(entry.clone());
                }
                gate.policy.primary = primary;
            }
            "undecided" => {
                let toml::Value::String(text) = value else {
                    return Err(fail(format!(
                        "undecided is \"undecided\", \"fail\" or \"pass\", not {value}"
                    )));
                };
                gate.policy.undecided = OnUndecided::parse(text).ok_or_else(|| {
                    fail(format!(
                        "undecided = {text:?}: use \"undecided\" (exit 4, the default), \"fail\" \
                         (exit 1) or \"pass\" (exit 0)"
                    ))
                })?;
            }
            "confidence" => {
                let c = as_fraction(value, key).map_err(fail)?;
                if !(0.5..1.0).contains(&c) {
                    return Err(fail(format!(
                        "confidence {c} must be in [0.5, 1), e.g. 0.95"
                    )));
                }
                gate.policy.confidence = c;
            }
            _ => {
                let Some((metric, what)) = key.rsplit_once('.') else {
                    return Err(fail(format!(
                        "unknown gate setting {key:?}: write a budget \"METRIC.STAT\" = \"< DURATION\", \
                         or one of relative_threshold, absolute_threshold, confidence, primary, undecided"
                    )));
                };
                check_metric(metric).map_err(fail)?;
                match what {
                    "relative_threshold" => {
                        let v = as_fraction(value, key).map_err(fail)?;
                        gate.policy
                            .metrics
                            .entry(metric.to_owned())
                            .or_default()
                            .relative = Some(v);
                    }
                    "absolute_threshold" => {
                        let v = exact_ms(as_duration(value, key).map_err(fail)?);
                        gate.policy
                            .metrics
                            .entry(metric.to_owned())
                            .or_default()
                            .absolute_ms = Some(v);
                    }
                    stat => {
                        let statistic = Statistic::parse(stat).ok_or_else(|| {
                            fail(format!("{stat:?} is not a statistic: {STATISTIC_HELP}"))
                        })?;
                        let toml::Value::String(text) = value else {
                            return Err(fail(format!(
                                "a budget is a string such as \"< 250ms\", not {value}"
                            )));
                        };
                        let text = text.trim();
                        let (inclusive, rest) = if let Some(r) = text.strip_prefix("<=") {
                            (true, r)
                        } else if let Some(r) = text.strip_prefix('<') {
                            (false, r)
                        } else {
                            return Err(fail(format!(
                                "a budget is \"< DURATION\" or \"<= DURATION\", not {text:?}"
                            )));
                        };
                        let limit =
                            mock_backend::parse_duration(rest).map_err(|e| fail(e.to_string()))?;
                        gate.budgets.push(Budget {
                            key: key.clone(),
                            metric: metric.to_owned(),
                            statistic,
                            inclusive,
                            limit,
                        });
                    }
                }
            }
        }
    }
    gate.policy
        .validate()
        .map_err(|m| ("relative_threshold".to_owned(), m))?;
    Ok(gate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::metric::{Producer, TransportKind};

    fn builtin(transport: TransportKind) -> Profile {
        Profile {
            producer: Producer::Builtin,
            transport,
        }
    }

    fn entries(pairs: &[(&str, toml::Value)]) -> BTreeMap<String, toml::Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn budgets_and_policy() {
        let gate = parse(
            &entries(&[
                ("turn_ttft.p999", toml::Value::String("<= 250ms".into())),
                ("relative_threshold", toml::Value::Float(0.1)),
                ("absolute_threshold", toml::Value::String("1ms".into())),
                ("turn_ttft.relative_threshold", toml::Value::Float(0.2)),
            ]),
            builtin(TransportKind::Websocket),
        )
        .unwrap();
        assert_eq!(gate.budgets[0].statistic, Statistic::Quantile(0.999));
        assert!(gate.budgets[0].inclusive);
        assert_eq!(gate.policy.threshold_ms("turn_ttft", 100.0, 0.001), 20.0);
        assert_eq!(
            gate.policy.threshold_ms("thread_start_total", 100.0, 0.001),
            10.0
        );
        assert_eq!(
            gate.policy.threshold_ms("thread_start_total", 1.0, 0.001),
            1.0
        );
        // Whole-millisecond series: never below 1 ms.
        let default = RegressionPolicy::default();
        assert_eq!(default.threshold_ms("turn_ttft", 10.0, 1.0), 1.0);
    }

    #[test]
    fn errors_name_their_key() {
        let cases = [
            ("nonsense", toml::Value::Float(1.0), "unknown gate setting"),
            (
                "turn_ttft.p0",
                toml::Value::String("< 1ms".into()),
                "not a statistic",
            ),
            (
                "turn_ttft.pfast",
                toml::Value::String("< 1ms".into()),
                "not a statistic",
            ),
            (
                "warp_drive.p50",
                toml::Value::String("< 1ms".into()),
                "no metric",
            ),
            (
                "turn_ttft.p50",
                toml::Value::String("> 1ms".into()),
                "a budget is",
            ),
            ("confidence", toml::Value::Float(0.3), "confidence"),
            (
                "relative_threshold",
                toml::Value::String("5%".into()),
                "a number",
            ),
        ];
        for (key, value, message) in cases {
            let (k, m) =
                parse(&entries(&[(key, value)]), builtin(TransportKind::Websocket)).unwrap_err();
            assert_eq!(k, key);
            assert!(m.contains(message), "{key}: {m}");
        }
    }

    #[test]
    fn http_has_no_prewarm_metrics() {
        let e = entries(&[(
            "startup_prewarm_total.p50",
            toml::Value::String("< 1s".into()),
        )]);
        assert!(parse(&e, builtin(TransportKind::Http)).is_err());
        assert!(parse(&e, builtin(TransportKind::Websocket)).is_ok());
    }
}
