//! CSV: one row per (metric, status) series with the columns of the JSON `metrics` entries and
//! which percentiles are only the largest sample; or one row per compared statistic with its
//! verdict and reason.

use crate::stats::compare::Comparison;

use super::number::plain;
use super::view::{MetricTable, STATISTICS};
use super::{Document, Exporter, Format, Unsupported};

/// The CSV format.
pub(crate) struct Csv;

impl Exporter for Csv {
    fn format(&self) -> Format {
        Format::Csv
    }

    fn export(&self, document: Document<'_>) -> Result<Vec<u8>, Unsupported> {
        Ok(match document {
            Document::Run(view) => metrics(&view.table),
            Document::Metrics(table) => metrics(table),
            Document::Comparison(c) => comparison(c),
            Document::Pictured(_) | Document::Recorded(_) => {
                return Err(self.unsupported(document));
            }
        })
    }
}

/// The header of a metric table.
pub(crate) const METRICS_HEADER: [&str; 14] = [
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
    "percentiles_at_max",
];

/// The header of a comparison.
pub(crate) const COMPARISON_HEADER: [&str; 15] = [
    "metric",
    "status",
    "statistic",
    "primary",
    "baseline_count",
    "current_count",
    "baseline_ms",
    "current_ms",
    "delta_ms",
    "delta_pct",
    "ci_low_ms",
    "ci_high_ms",
    "threshold_ms",
    "verdict",
    "reason",
];

fn write<const N: usize>(header: [&str; N], rows: impl Iterator<Item = [String; N]>) -> Vec<u8> {
    table(&header, rows)
}

/// A CSV table, every cell [`neutralised`]: the one writer of phasebench's CSV outputs.
pub(crate) fn table<R: IntoIterator<Item = String>>(
    header: &[impl AsRef<str>],
    rows: impl IntoIterator<Item = R>,
) -> Vec<u8> {
    let mut csv = ::csv::Writer::from_writer(Vec::new());
    let written: Result<(), ::csv::Error> = (|| {
        csv.write_record(header.iter().map(|h| neutralised(h.as_ref()).into_owned()))?;
        for row in rows {
            csv.write_record(row.into_iter().map(|cell| neutralised(&cell).into_owned()))?;
        }
        Ok(())
    })();
    written.expect("CSV into memory cannot fail");
    csv.into_inner().expect("flushing into memory cannot fail")
}

/// A cell a spreadsheet will not run as a formula (OWASP's CSV injection advice): text
/// starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`. Numbers
/// (`-0.25`, `+1.5`) are left alone: they are what the columns hold, and not formulas.
pub(crate) fn neutralised(cell: &str) -> std::borrow::Cow<'_, str> {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && cell.parse::<f64>().is_err() {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

fn metrics(table: &MetricTable) -> Vec<u8> {
    write(
        METRICS_HEADER,
        table.lines.iter().map(|l| {
            let at_max: Vec<&str> = STATISTICS
                .iter()
                .zip(&l.cells)
                .filter(|(_, c)| c.is_max)
                .map(|((name, _), _)| *name)
                .collect();
            [
                l.key.metric.clone(),
                l.key.status.clone().unwrap_or_default(),
                l.count.to_string(),
                l.errors.to_string(),
                plain(l.min_ms),
                plain(l.mean_ms),
                plain(l.stdev_ms),
                plain(l.cells[0].value),
                plain(l.cells[1].value),
                plain(l.cells[2].value),
                plain(l.cells[3].value),
                plain(l.cells[4].value),
                l.resolution
                    .map(|r| r.as_str().to_owned())
                    .unwrap_or_default(),
                at_max.join(" "),
            ]
        }),
    )
}

fn comparison(c: &Comparison) -> Vec<u8> {
    write(
        COMPARISON_HEADER,
        c.rows.iter().map(|r| {
            [
                r.metric.clone(),
                r.status.clone().unwrap_or_default(),
                r.statistic.clone(),
                r.primary.to_string(),
                r.baseline_count.to_string(),
                r.current_count.to_string(),
                plain(Some(r.baseline_ms)),
                plain(Some(r.current_ms)),
                plain(Some(r.delta_ms)),
                r.delta_pct.map(|p| p.to_string()).unwrap_or_default(),
                plain(r.ci_low_ms),
                plain(r.ci_high_ms),
                plain(Some(r.threshold_ms)),
                r.verdict.as_str().to_owned(),
                r.reason.clone(),
            ]
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised_and_numbers_kept() {
        for risky in [
            "=HYPERLINK(\"http://x\")",
            "+cmd",
            "-2+3",
            "@SUM(A1)",
            "\tx",
            "\rx",
        ] {
            assert_eq!(neutralised(risky), format!("'{risky}"), "{risky:?}");
        }
        for kept in ["-0.25", "+1.5", "turn_ttft", "", "1e3", "a=b"] {
            assert_eq!(neutralised(kept), kept);
        }
        let bytes = table(&["name"], [vec!["=1+1".to_owned()], vec!["-3".to_owned()]]);
        assert_eq!(String::from_utf8(bytes).unwrap(), "name\n'=1+1\n-3\n");
    }
}
