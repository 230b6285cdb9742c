//! Bencher Metric Format (BMF) JSON, so teams keeping history in Bencher can ingest runs:
//! `{ "<scenario>/<metric>[<status>]": { "p50_ms": { "value": … }, "p90_ms": …, "p99_ms": … } }`.
//! Each measure is a latency in milliseconds; `count` is carried as its own measure.

use serde_json::{Map, Value, json};

use crate::results::RunSummary;

/// The BMF document of a run.
pub fn bmf(summary: &RunSummary) -> Value {
    let mut benchmarks = Map::new();
    for row in summary.metrics.iter().filter(|r| r.count > 0) {
        let name = match &row.status {
            Some(s) => format!("{}/{}[{s}]", summary.scenario.name, row.metric),
            None => format!("{}/{}", summary.scenario.name, row.metric),
        };
        let mut measures = Map::new();
        for (measure, value) in [
            ("p50_ms", row.p50_ms),
            ("p90_ms", row.p90_ms),
            ("p95_ms", row.p95_ms),
            ("p99_ms", row.p99_ms),
        ] {
            if let Some(v) = value {
                measures.insert(measure.into(), json!({ "value": v }));
            }
        }
        measures.insert("count".into(), json!({ "value": row.count }));
        benchmarks.insert(name, Value::Object(measures));
    }
    Value::Object(benchmarks)
}

/// The BMF document as bytes.
pub fn render(summary: &RunSummary) -> Vec<u8> {
    crate::results::json_bytes(&bmf(summary))
}
