//! Bencher Metric Format (BMF) JSON, so teams keeping history in Bencher can ingest runs:
//! `{ "<scenario>/<metric>[<status>]": { "p50_ms": { "value", "lower_value", "upper_value" },
//! …, "max_ms": …, "count": … } }`. Each measure is a latency in milliseconds with the
//! interval of its statistic as bounds (when the run had one); a percentile with too few
//! samples to be more than the largest sample is left out (Bencher would chart the max under
//! its name); `count` is carried as its own measure.

use serde_json::{Map, Value, json};

use super::view::{MetricTable, STATISTICS};
use super::{Document, Exporter, Format, Unsupported};

/// The BMF format.
pub(crate) struct Bmf;

impl Exporter for Bmf {
    fn format(&self) -> Format {
        Format::Bmf
    }

    fn export(&self, document: Document<'_>) -> Result<Vec<u8>, Unsupported> {
        match document {
            Document::Run(view) => Ok(crate::results::json_bytes(&bmf(
                Some(&view.summary.scenario.name),
                &view.table,
            ))),
            Document::Metrics(table) => Ok(crate::results::json_bytes(&bmf(None, table))),
            Document::Comparison(_) | Document::Pictured(_) | Document::Recorded(_) => {
                Err(self.unsupported(document))
            }
        }
    }
}

/// The BMF document of a metric table, benchmark names prefixed with `scenario/`.
fn bmf(scenario: Option<&str>, table: &MetricTable) -> Value {
    let mut benchmarks = Map::new();
    for line in table.lines.iter().filter(|l| l.count > 0) {
        let name = match scenario {
            Some(s) => format!("{s}/{}", line.series()),
            None => line.series(),
        };
        let mut measures = Map::new();
        for ((statistic, _), cell) in STATISTICS.iter().zip(&line.cells) {
            let Some(value) = cell.value.filter(|_| !cell.is_max) else {
                continue;
            };
            let mut measure = json!({ "value": value });
            if let Some((low, high)) = cell.interval {
                measure["lower_value"] = json!(low.min(value));
                measure["upper_value"] = json!(high.max(value));
            }
            measures.insert(format!("{statistic}_ms"), measure);
        }
        measures.insert("count".into(), json!({ "value": line.count }));
        benchmarks.insert(name, Value::Object(measures));
    }
    Value::Object(benchmarks)
}
