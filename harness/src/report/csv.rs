//! CSV: one row per (metric, status) series, the columns of the JSON `metrics` entries.

use crate::results::MetricRow;

pub const HEADER: [&str; 13] = [
    "metric",
    "status",
    "count",
    "errors",
    "min_ms",
    "mean_ms",
    "stdev_ms",
    "p50_ms",
    "p90_ms",
    "p95_ms",
    "p99_ms",
    "max_ms",
    "resolution",
];

fn opt(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// Metric rows as CSV.
pub fn render(rows: &[MetricRow]) -> Vec<u8> {
    let mut csv = ::csv::Writer::from_writer(Vec::new());
    let written: Result<(), ::csv::Error> = (|| {
        csv.write_record(HEADER)?;
        for row in rows {
            csv.write_record([
                row.metric.clone(),
                row.status.clone().unwrap_or_default(),
                row.count.to_string(),
                row.errors.to_string(),
                opt(row.min_ms),
                opt(row.mean_ms),
                opt(row.stdev_ms),
                opt(row.p50_ms),
                opt(row.p90_ms),
                opt(row.p95_ms),
                opt(row.p99_ms),
                opt(row.max_ms),
                row.resolution
                    .map(|r| r.as_str().to_owned())
                    .unwrap_or_default(),
            ])?;
        }
        Ok(())
    })();
    written.expect("CSV into memory cannot fail");
    csv.into_inner().expect("flushing into memory cannot fail")
}
