//! Codex's own metric histograms (`codex.startup.phase.duration_ms` and the TTFT and
//! connect ones) from OTLP metric bodies, aggregated per (metric, status): counts, sums and
//! extremes, no percentiles (histogram buckets do not hold them). Delta points add up; of
//! cumulative points only the latest of each series counts.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::AggregationTemporality;
use opentelemetry_proto::tonic::metrics::v1::metric::Data as MetricData;

use super::otlp::{Encoding, OtlpError, attr, decode_request};
use crate::model::metric::{TURN_TTFT, WEBSOCKET_CONNECT};
use crate::model::sample::AttrValue;

// Codex's metric histograms, named by the shared telemetry contract.
pub(crate) use codex_telemetry::{CONNECT_HISTOGRAM, PHASE_HISTOGRAM, TTFT_HISTOGRAM};
use codex_telemetry::{HISTOGRAM_ATTR_PHASE, HISTOGRAM_ATTR_STATUS};

/// One (metric, status) as codex's own metric histograms aggregate it: counts and sums only,
/// no per-event values (those come from the log events).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AggregatedMetric {
    pub metric: String,
    pub status: Option<String>,
    pub count: u64,
    pub sum_ms: f64,
    pub min_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

impl AggregatedMetric {
    /// Its series.
    pub fn key(&self) -> crate::model::series::MetricKey {
        crate::model::series::MetricKey::new(&self.metric, self.status.as_deref())
    }
}

impl AggregatedMetric {
    pub fn mean_ms(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum_ms / self.count as f64)
    }
}

/// Decodes one `ExportMetricsServiceRequest` body into codex's phase, TTFT and connect
/// histograms, one entry per (metric, status). Delta points are summed; of cumulative points
/// only the latest per series counts (they repeat what came before).
pub(crate) fn decode_phase_metrics(
    body: &[u8],
    encoding: Encoding,
) -> Result<Vec<AggregatedMetric>, OtlpError> {
    let request: ExportMetricsServiceRequest = match encoding {
        Encoding::Json => {
            let mut value: serde_json::Value =
                serde_json::from_slice(body).map_err(|e| OtlpError::Json {
                    signal: "metrics",
                    message: e.to_string(),
                })?;
            numbers_from_strings(&mut value);
            serde_json::from_value(value).map_err(|e| OtlpError::Json {
                signal: "metrics",
                message: e.to_string(),
            })?
        }
        Encoding::Protobuf => decode_request(body, encoding, "metrics")?,
    };
    // (metric, status, series start) → (time, point) for cumulative; summed for delta.
    let mut delta: Vec<AggregatedMetric> = Vec::new();
    let mut cumulative: std::collections::BTreeMap<
        (String, Option<String>, u64),
        (u64, AggregatedMetric),
    > = Default::default();
    for resource in &request.resource_metrics {
        for scope in &resource.scope_metrics {
            for metric in &scope.metrics {
                let Some(MetricData::Histogram(histogram)) = &metric.data else {
                    continue;
                };
                let cumulative_points =
                    histogram.aggregation_temporality == AggregationTemporality::Cumulative as i32;
                for point in &histogram.data_points {
                    let text = |key: &str| match attr(&point.attributes, key) {
                        Some(AttrValue::Str(s)) => Some(s.to_owned()),
                        _ => None,
                    };
                    let (name, status) = match metric.name.as_str() {
                        PHASE_HISTOGRAM => match text(HISTOGRAM_ATTR_PHASE) {
                            Some(phase) => (phase, text(HISTOGRAM_ATTR_STATUS)),
                            None => continue,
                        },
                        TTFT_HISTOGRAM => (TURN_TTFT.to_owned(), None),
                        CONNECT_HISTOGRAM => (WEBSOCKET_CONNECT.to_owned(), None),
                        _ => continue,
                    };
                    let entry = AggregatedMetric {
                        metric: name,
                        status,
                        count: point.count,
                        sum_ms: point.sum.unwrap_or(0.0),
                        min_ms: point.min,
                        max_ms: point.max,
                    };
                    if cumulative_points {
                        let key = (
                            entry.metric.clone(),
                            entry.status.clone(),
                            point.start_time_unix_nano,
                        );
                        let latest = cumulative.entry(key).or_insert((0, entry.clone()));
                        if point.time_unix_nano >= latest.0 {
                            *latest = (point.time_unix_nano, entry);
                        }
                    } else {
                        delta.push(entry);
                    }
                }
            }
        }
    }
    Ok(merge_aggregates(
        delta
            .into_iter()
            .chain(cumulative.into_values().map(|(_, e)| e)),
    ))
}

/// OTLP/JSON may write 64-bit integers as strings (the Collector does: `"count": "3"`); the
/// generated types read a histogram point's `count` and `bucketCounts` only as numbers, and
/// drop the whole histogram otherwise. Rewrites those fields as numbers.
fn numbers_from_strings(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            for (key, field) in map.iter_mut() {
                match (key.as_str(), &mut *field) {
                    ("count", Value::String(text)) => {
                        if let Ok(n) = text.parse::<u64>() {
                            *field = Value::from(n);
                        }
                    }
                    ("bucketCounts", Value::Array(items)) => {
                        for item in items {
                            if let Value::String(text) = item
                                && let Ok(n) = text.parse::<u64>()
                            {
                                *item = Value::from(n);
                            }
                        }
                    }
                    _ => numbers_from_strings(field),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(numbers_from_strings),
        _ => {}
    }
}

/// Merges entries of the same (metric, status): counts and sums add, extremes widen.
pub(crate) fn merge_aggregates(
    entries: impl IntoIterator<Item = AggregatedMetric>,
) -> Vec<AggregatedMetric> {
    let mut merged: Vec<AggregatedMetric> = Vec::new();
    for e in entries {
        match merged
            .iter_mut()
            .find(|m| m.metric == e.metric && m.status == e.status)
        {
            Some(m) => {
                m.count += e.count;
                m.sum_ms += e.sum_ms;
                m.min_ms = match (m.min_ms, e.min_ms) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                m.max_ms = match (m.max_ms, e.max_ms) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b),
                };
            }
            None => merged.push(e),
        }
    }
    merged.sort_by(|a, b| {
        (
            crate::model::metric::report_rank(&a.metric),
            &a.metric,
            &a.status,
        )
            .cmp(&(
                crate::model::metric::report_rank(&b.metric),
                &b.metric,
                &b.status,
            ))
    });
    merged
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;
    use crate::telemetry::otlp::decode_logs;

    const FIXTURE: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/codex-0.169.0/otlp_v1_logs.json"
    );

    /// The metrics fixture comes from the same process as the logs fixture: its histograms
    /// hold the same phases, each once, with the logged values.
    #[test]
    fn codex_metrics_fixture_holds_the_logged_phases() {
        let metrics = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/codex-0.169.0/otlp_v1_metrics.json"
        ))
        .unwrap();
        let aggregated = decode_phase_metrics(&metrics, Encoding::Json).unwrap();
        let logs = decode_logs(&std::fs::read(FIXTURE).unwrap(), Encoding::Json).unwrap();
        let mut from_logs: Vec<(String, Option<String>, f64)> = logs
            .samples
            .iter()
            .map(|l| {
                (
                    l.sample.key.metric.clone(),
                    l.sample.key.status.clone(),
                    l.sample.duration.as_millis() as f64,
                )
            })
            .collect();
        let mut from_metrics: Vec<(String, Option<String>, f64)> = aggregated
            .iter()
            .map(|m| {
                assert_eq!(m.count, 1, "{m:?}");
                assert_eq!((m.min_ms, m.max_ms), (Some(m.sum_ms), Some(m.sum_ms)));
                (m.metric.clone(), m.status.clone(), m.sum_ms)
            })
            .collect();
        from_logs.sort_by(|a, b| a.partial_cmp(b).unwrap());
        from_metrics.sort_by(|a, b| a.partial_cmp(b).unwrap());
        assert_eq!(from_metrics, from_logs);
        // The same through protobuf.
        let request: ExportMetricsServiceRequest = serde_json::from_slice(&metrics).unwrap();
        let proto = decode_phase_metrics(&request.encode_to_vec(), Encoding::Protobuf).unwrap();
        assert_eq!(proto, aggregated);
    }

    /// Points with `count` as a string (as the Collector writes 64-bit integers).
    #[test]
    fn cumulative_points_count_once_delta_points_add() {
        let point = |count: u64, sum: f64, time: u64| {
            serde_json::json!({
                "attributes": [{"key": "phase", "value": {"stringValue": "thread_start_total"}}],
                "startTimeUnixNano": "1", "timeUnixNano": time.to_string(),
                "count": count.to_string(), "sum": sum, "bucketCounts": [], "explicitBounds": [],
                "exemplars": [], "flags": 0
            })
        };
        let body = |temporality: i32| {
            serde_json::json!({"resourceMetrics": [{"scopeMetrics": [{"metrics": [{
                "name": PHASE_HISTOGRAM, "description": "", "unit": "ms", "metadata": [],
                "histogram": {"aggregationTemporality": temporality,
                              "dataPoints": [point(2, 30.0, 10), point(5, 80.0, 20)]}
            }]}]}]})
            .to_string()
        };
        let cumulative = decode_phase_metrics(body(2).as_bytes(), Encoding::Json).unwrap();
        assert_eq!((cumulative[0].count, cumulative[0].sum_ms), (5, 80.0));
        let delta = decode_phase_metrics(body(1).as_bytes(), Encoding::Json).unwrap();
        assert_eq!((delta[0].count, delta[0].sum_ms), (7, 110.0));
        assert_eq!(delta[0].mean_ms(), Some(110.0 / 7.0));
    }
}
