//! JSON: the result and comparison files themselves (their schemas are in `schemas/`), or a
//! bare metric table as the result's `metrics` entries.

use serde_json::{Value, json};

use crate::results::json_bytes;

use super::view::{MetricTable, STATISTICS};
use super::{Document, Exporter, Format, Unsupported};

/// The JSON format.
pub(crate) struct Json;

impl Exporter for Json {
    fn format(&self) -> Format {
        Format::Json
    }

    fn export(&self, document: Document<'_>) -> Result<Vec<u8>, Unsupported> {
        Ok(match document {
            Document::Run(view) => json_bytes(view.summary),
            Document::Metrics(table) => json_bytes(&metrics(table)),
            Document::Comparison(c) => json_bytes(c),
            Document::Pictured(_) | Document::Recorded(_) => {
                return Err(self.unsupported(document));
            }
        })
    }
}

fn metrics(table: &MetricTable) -> Value {
    Value::Array(
        table
            .lines
            .iter()
            .map(|l| {
                let mut row = json!({
                    "metric": l.key.metric,
                    "status": l.key.status,
                    "count": l.count,
                    "errors": l.errors,
                    "min_ms": l.min_ms,
                    "mean_ms": l.mean_ms,
                    "stdev_ms": l.stdev_ms,
                    "resolution": l.resolution,
                });
                for ((name, _), cell) in STATISTICS.iter().zip(&l.cells) {
                    row[format!("{name}_ms")] = json!(cell.value);
                }
                row
            })
            .collect(),
    )
}
