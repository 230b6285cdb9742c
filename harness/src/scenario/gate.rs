//! The `[gate]` table: absolute budgets (`"turn_ttft.p95" = "< 250ms"`) and the regression
//! policy a comparison with a baseline applies ([`super::policy`]: thresholds, confidence,
//! primary statistics and their weights), with per-metric overrides
//! (`"turn_ttft.relative_threshold" = 0.10`).

use std::collections::BTreeMap;
use std::time::Duration;

use super::policy::{OnUndecided, RegressionPolicy, Statistic, parse_primary};
use crate::model::metric::{Profile, expected_metrics};

/// An absolute budget from `[gate]`, e.g. `"turn_ttft.p95" = "< 250ms"`.
#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    pub key: String,
    pub metric: String,
    pub statistic: Statistic,
    pub inclusive: bool,
    pub limit: Duration,
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
            "weights" => {
                let toml::Value::Table(items) = value else {
                    return Err(fail(
                        "weights is a table such as { \"turn_ttft.p50\" = 2 }".into(),
                    ));
                };
                let mut weights = BTreeMap::new();
                for (entry, weight) in items {
                    let weight = match weight {
                        toml::Value::Float(f) => *f,
                        toml::Value::Integer(i) => *i as f64,
                        other => {
                            return Err(fail(format!(
                                "the weight of {entry:?} is a number such as 2, not {other}"
                            )));
                        }
                    };
                    weights.insert(entry.clone(), weight);
                }
                gate.policy.weights = weights;
                // `primary` sorts before `weights`, so the primaries are already in place.
                gate.policy.validate_weights().map_err(fail)?;
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
                         or one of relative_threshold, absolute_threshold, confidence, primary, weights, undecided"
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
    fn weights_name_primary_statistics() {
        let table = |pairs: &[(&str, toml::Value)]| {
            toml::Value::Table(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect(),
            )
        };
        let gate = parse(
            &entries(&[
                (
                    "primary",
                    toml::Value::Array(vec![
                        toml::Value::String("turn_ttft.p50".into()),
                        toml::Value::String("thread_start_total.p50".into()),
                    ]),
                ),
                (
                    "weights",
                    table(&[("turn_ttft.p50", toml::Value::Integer(2))]),
                ),
            ]),
            builtin(TransportKind::Websocket),
        )
        .unwrap();
        assert_eq!(gate.policy.primary_weight("warm.turn_ttft", 0.5), Some(2.0));
        assert_eq!(
            gate.policy.primary_weight("thread_start_total", 0.5),
            Some(1.0)
        );
        assert_eq!(gate.policy.primary_weight("turn_ttft", 0.9), None);
        for (weights, message) in [
            (
                table(&[("turn_ttft.p99", toml::Value::Integer(2))]),
                "not a primary statistic",
            ),
            (
                table(&[("turn_ttft.p50", toml::Value::Float(0.0))]),
                "outside",
            ),
            (
                table(&[("turn_ttft.p50", toml::Value::Float(f64::NAN))]),
                "outside",
            ),
            (
                table(&[("turn_ttft.p50", toml::Value::String("2".into()))]),
                "a number",
            ),
            (toml::Value::Integer(2), "a table"),
        ] {
            let (key, m) = parse(
                &entries(&[("weights", weights)]),
                builtin(TransportKind::Websocket),
            )
            .unwrap_err();
            assert_eq!(key, "weights");
            assert!(m.contains(message), "{m}");
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
