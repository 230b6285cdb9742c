//! The sweep's table three ways: the terminal's (a line per point, the p50 of the primary
//! startup series), CSV (every series, parameters first), and the series the HTML page plots.

use crate::report::html::SweepSeries;
use crate::results::sweep::SweepReport;

/// The sweep as CSV: the parameter columns, then the series and its percentiles.
pub(crate) fn csv(report: &SweepReport) -> Vec<u8> {
    let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    let mut header = report.keys.clone();
    header.extend(["metric", "status", "count", "p50_ms", "p90_ms", "p99_ms"].map(String::from));
    let rows = report.rows.iter().map(|row| {
        let mut record = row.params.clone();
        record.extend([
            row.key.metric.clone(),
            row.key.status.clone().unwrap_or_default(),
            row.count.to_string(),
            opt(row.p50_ms),
            opt(row.p90_ms),
            opt(row.p99_ms),
        ]);
        record
    });
    crate::report::csv::table(&header, rows)
}

/// Per series (`metric[status]`), its points in order: (parameter label, p50, p90, p99).
pub(crate) fn series(report: &SweepReport) -> Vec<SweepSeries> {
    let mut out: Vec<SweepSeries> = Vec::new();
    for row in &report.rows {
        let name = row.key.label();
        let point = (row.params.join(", "), [row.p50_ms, row.p90_ms, row.p99_ms]);
        match out.iter_mut().find(|(n, _)| *n == name) {
            Some((_, points)) => points.push(point),
            None => out.push((name, vec![point])),
        }
    }
    out
}

/// The terminal table: one line per point, the parameter columns then the p50 of the primary
/// startup series.
pub(crate) fn table(report: &SweepReport) -> String {
    const SHOWN: [&str; 4] = [
        "thread_start_total",
        "startup_prewarm_build_tools",
        "startup_prewarm_total",
        "turn_ttft",
    ];
    let mut headers: Vec<String> = report.keys.clone();
    headers.extend(SHOWN.iter().map(|m| format!("{m} p50 ms")));
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut seen: Vec<&Vec<String>> = Vec::new();
    for row in &report.rows {
        if seen.contains(&&row.params) {
            continue;
        }
        seen.push(&row.params);
        let mut cells = row.params.clone();
        for metric in SHOWN {
            let value = report
                .rows
                .iter()
                .filter(|r| r.params == row.params && r.key.metric == metric)
                .filter_map(|r| r.p50_ms)
                .next();
            cells.push(value.map_or("-".into(), |v| format!("{v:.3}")));
        }
        rows.push(cells);
    }
    let widths: Vec<usize> = (0..headers.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([headers[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for line in std::iter::once(&headers).chain(&rows) {
        let cells: Vec<String> = line
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{:>w$}", crate::report::printable(c)))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}
