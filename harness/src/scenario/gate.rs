//! The `[gate]` table: absolute budgets (`"turn_ttft.p95" = "< 250ms"`) and the regression
//! policy a comparison with a baseline applies (thresholds and confidence), with per-metric
//! overrides (`"turn_ttft.relative_threshold" = 0.10`).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::metric::{Profile, expected_metrics};

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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricThreshold {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relative: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absolute_ms: Option<f64>,
}

/// When a change counts as a regression: its confidence interval must lie wholly beyond
/// max(relative × baseline, absolute). Stored in every result file, so a comparison needs
/// no scenario file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegressionPolicy {
    pub relative_threshold: f64,
    pub absolute_threshold_ms: f64,
    /// Two-sided confidence of the bootstrap interval.
    pub confidence: f64,
    #[serde(default)]
    pub metrics: BTreeMap<String, MetricThreshold>,
}

impl Default for RegressionPolicy {
    fn default() -> Self {
        Self {
            relative_threshold: 0.05,
            absolute_threshold_ms: 0.1,
            confidence: 0.95,
            metrics: BTreeMap::new(),
        }
    }
}

impl RegressionPolicy {
    /// The practical threshold for `metric` at a baseline value, in milliseconds.
    pub fn threshold_ms(&self, metric: &str, baseline_ms: f64) -> f64 {
        let m = self.metrics.get(metric);
        let relative = m
            .and_then(|m| m.relative)
            .unwrap_or(self.relative_threshold);
        let absolute = m
            .and_then(|m| m.absolute_ms)
            .unwrap_or(self.absolute_threshold_ms);
        (relative * baseline_ms.abs()).max(absolute)
    }
}

/// The parsed `[gate]` table.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Gate {
    pub budgets: Vec<Budget>,
    pub policy: RegressionPolicy,
}

const STATISTIC_HELP: &str = "use p50, p90, p95, p99, p999, max or mean";

fn ms(d: Duration) -> f64 {
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
pub fn parse(
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
                gate.policy.absolute_threshold_ms = ms(as_duration(value, key).map_err(fail)?)
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
                         or one of relative_threshold, absolute_threshold, confidence"
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
                        let v = ms(as_duration(value, key).map_err(fail)?);
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
    Ok(gate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::{Producer, TransportKind};

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
        assert_eq!(gate.policy.threshold_ms("turn_ttft", 100.0), 20.0);
        assert_eq!(gate.policy.threshold_ms("thread_start_total", 100.0), 10.0);
        assert_eq!(gate.policy.threshold_ms("thread_start_total", 1.0), 1.0);
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
