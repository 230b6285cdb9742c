//! The Prometheus text exposition format (0.0.4), what a Pushgateway accepts and what
//! node_exporter's textfile collector reads. A run becomes, per (metric, status) series, a
//! summary `phasebench_latency_seconds` (quantiles 0.5/0.9/0.95/0.99 with `_sum` and
//! `_count`) plus gauges for the max, the min and the failed iterations without the series;
//! and run-level gauges: iterations by outcome, wall time, whether the run was partial, when
//! it started. Values are in seconds, Prometheus's base unit. A percentile from too few
//! samples to be more than the largest sample is left out, as in BMF.
//!
//! No timestamps: a Pushgateway refuses them, and the push time is what dashboards plot.
//! Label values are escaped per the format; the metric and label names are fixed here, so
//! nothing from a (possibly untrusted) result file becomes a name.

use std::fmt::Write;

use super::view::{Line, MetricTable, STATISTICS};
use super::{Document, Exporter, Format, Unsupported};
use crate::results::RunSummary;
use crate::scenario::Statistic;

/// The Prometheus exposition format.
pub(crate) struct Prometheus;

impl Exporter for Prometheus {
    fn format(&self) -> Format {
        Format::Prometheus
    }

    fn export(&self, document: Document<'_>) -> Result<Vec<u8>, Unsupported> {
        match document {
            Document::Run(view) => Ok(exposition(&view.table, Some(view.summary)).into_bytes()),
            Document::Metrics(table) => Ok(exposition(table, None).into_bytes()),
            Document::Comparison(_) | Document::Pictured(_) | Document::Recorded(_) => {
                Err(self.unsupported(document))
            }
        }
    }
}

/// `value` escaped for a label value: backslash, double quote and line feed.
pub(crate) fn escape_label_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A float as the format writes it (Go's `strconv` style: shortest round-trip digits).
fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{value}")
    }
}

fn seconds(ms: f64) -> f64 {
    // Rounded to the nanosecond: ms / 1000 in binary floating point prints 0.030000000000000002.
    (ms * 1e6).round() / 1e9
}

fn series_labels(line: &Line) -> String {
    format!(
        "metric=\"{}\",status=\"{}\"",
        escape_label_value(&line.key.metric),
        escape_label_value(line.key.status.as_deref().unwrap_or(""))
    )
}

/// One family: its HELP and TYPE lines, then its samples.
struct Family<'a> {
    name: &'a str,
    kind: &'a str,
    help: &'a str,
    samples: Vec<(String, String, f64)>,
}

impl Family<'_> {
    fn write(&self, out: &mut String) {
        if self.samples.is_empty() {
            return;
        }
        let _ = writeln!(out, "# HELP {} {}", self.name, self.help);
        let _ = writeln!(out, "# TYPE {} {}", self.name, self.kind);
        for (suffix, labels, value) in &self.samples {
            let _ = writeln!(out, "{}{suffix}{{{labels}}} {}", self.name, number(*value));
        }
    }
}

/// The exposition of a metric table, with the run-level gauges when it is a run's.
fn exposition(table: &MetricTable, run: Option<&RunSummary>) -> String {
    let mut latency = Family {
        name: "phasebench_latency_seconds",
        kind: "summary",
        help: "Latency of each phase and of time to first token, per (metric, status) series.",
        samples: Vec::new(),
    };
    let mut max = Family {
        name: "phasebench_latency_max_seconds",
        kind: "gauge",
        help: "Largest sample of the series.",
        samples: Vec::new(),
    };
    let mut min = Family {
        name: "phasebench_latency_min_seconds",
        kind: "gauge",
        help: "Smallest sample of the series.",
        samples: Vec::new(),
    };
    let mut errors = Family {
        name: "phasebench_series_errors",
        kind: "gauge",
        help: "Failed iterations that did not produce the series.",
        samples: Vec::new(),
    };
    for line in &table.lines {
        let labels = series_labels(line);
        if line.count > 0 {
            for ((_, statistic), cell) in STATISTICS.iter().zip(&line.cells) {
                let Some(value) = cell.value.filter(|_| !cell.is_max) else {
                    continue;
                };
                match statistic {
                    Statistic::Quantile(q) => latency.samples.push((
                        String::new(),
                        format!("{labels},quantile=\"{q}\""),
                        seconds(value),
                    )),
                    Statistic::Max => {
                        max.samples
                            .push((String::new(), labels.clone(), seconds(value)))
                    }
                    _ => {}
                }
            }
            if let Some(mean) = line.mean_ms {
                latency.samples.push((
                    "_sum".into(),
                    labels.clone(),
                    seconds(mean * line.count as f64),
                ));
            }
            latency
                .samples
                .push(("_count".into(), labels.clone(), line.count as f64));
            if let Some(value) = line.min_ms {
                min.samples
                    .push((String::new(), labels.clone(), seconds(value)));
            }
        }
        errors
            .samples
            .push((String::new(), labels, line.errors as f64));
    }
    let mut out = String::new();
    for family in [&latency, &max, &min, &errors] {
        family.write(&mut out);
    }
    if let Some(run) = run {
        let iterations = Family {
            name: "phasebench_run_iterations",
            kind: "gauge",
            help: "Measured iterations of the run, by outcome.",
            samples: vec![
                (
                    String::new(),
                    "outcome=\"succeeded\"".into(),
                    run.run.succeeded_iterations as f64,
                ),
                (
                    String::new(),
                    "outcome=\"failed\"".into(),
                    run.run.failed_iterations as f64,
                ),
            ],
        };
        let gauge = |name, help, value: f64| Family {
            name,
            kind: "gauge",
            help,
            samples: vec![(String::new(), String::new(), value)],
        };
        iterations.write(&mut out);
        gauge(
            "phasebench_run_wall_seconds",
            "Wall time of the measured rounds.",
            run.run.wall_time_s,
        )
        .write(&mut out);
        gauge(
            "phasebench_run_rounds",
            "Rounds in the result (each a fresh runtime).",
            run.rounds.len() as f64,
        )
        .write(&mut out);
        gauge(
            "phasebench_run_partial",
            "1 when the run was interrupted and holds only the rounds it finished.",
            if run.partial { 1.0 } else { 0.0 },
        )
        .write(&mut out);
        gauge(
            "phasebench_run_start_time_seconds",
            "When the run started, seconds since the Unix epoch.",
            run.environment.started_unix_ms as f64 / 1000.0,
        )
        .write(&mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label_value(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(escape_label_value("x\ny"), "x\\ny");
        assert_eq!(escape_label_value("plain é"), "plain é");
    }

    #[test]
    fn seconds_print_without_binary_noise() {
        assert_eq!(number(seconds(30.0)), "0.03");
        assert_eq!(number(seconds(0.004)), "0.000004");
        assert_eq!(number(f64::INFINITY), "+Inf");
    }
}
