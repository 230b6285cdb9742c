//! CSV: one row per (metric, status) series, the columns of the JSON `metrics` entries.

use std::path::Path;

use super::{MetricRow, RunSummary, write_atomically};

pub const HEADER: [&str; 12] = [
    "metric",
    "status",
    "count",
    "errors",
    "min_ms",
    "mean_ms",
    "stdev_ms",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "max_ms",
    "resolution",
];

fn opt(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// Writes a run's CSV atomically.
pub fn write_csv(path: &Path, summary: &RunSummary) -> std::io::Result<()> {
    write_rows(path, &summary.metrics)
}

/// Writes metric rows as CSV atomically.
pub fn write_rows(path: &Path, rows: &[MetricRow]) -> std::io::Result<()> {
    write_atomically(path, |w| {
        let mut csv = ::csv::Writer::from_writer(w);
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
                opt(row.p99_ms),
                opt(row.max_ms),
                row.resolution
                    .map(|r| r.as_str().to_owned())
                    .unwrap_or_default(),
            ])?;
        }
        csv.flush()?;
        Ok(())
    })
}
