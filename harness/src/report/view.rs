//! The one summary every format renders: the metric rows with the same statistics
//! (p50, p90, p95, p99, max), the same intervals and the same notes, built once. A format
//! decides layout, never content, so a p95 or a warning cannot be in one format and missing
//! from another.

use crate::model::sample::Resolution;
use crate::model::series::MetricKey;
use crate::results::{DecodedRound, MetricRow, RunSummary};
use crate::scenario::Statistic;
use crate::stats::budget::statistic_interval;

/// The statistics every format shows, in order.
pub(crate) const STATISTICS: [(&str, Statistic); 5] = [
    ("p50", Statistic::Quantile(0.5)),
    ("p90", Statistic::Quantile(0.9)),
    ("p95", Statistic::Quantile(0.95)),
    ("p99", Statistic::Quantile(0.99)),
    ("max", Statistic::Max),
];

/// One statistic of one series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Cell {
    pub value: Option<f64>,
    /// The interval of the statistic at the run's confidence (rounds and order statistics,
    /// as budgets are judged); absent for `max`, without samples, or without rounds.
    pub interval: Option<(f64, f64)>,
    /// Too few samples for this percentile to be more than the largest sample
    /// (n × (1 − q) < 1): the value is the maximum, not a tail estimate.
    pub is_max: bool,
}

/// One (metric, status) series.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Line {
    pub key: MetricKey,
    pub count: u64,
    pub errors: u64,
    pub min_ms: Option<f64>,
    pub mean_ms: Option<f64>,
    pub stdev_ms: Option<f64>,
    /// In the order of [`STATISTICS`].
    pub cells: [Cell; 5],
    pub resolution: Option<Resolution>,
}

impl MetricTable {
    /// The p50 of `metric` (no status), if the table has it.
    pub(crate) fn p50_of(&self, metric: &str) -> Option<f64> {
        self.lines
            .iter()
            .find(|l| l.key.is(metric, None))
            .and_then(|l| l.cells[0].value)
    }
}

impl Line {
    /// `metric` or `metric[status]`.
    pub(crate) fn series(&self) -> String {
        self.key.label()
    }
}

/// The metric rows of a run (or of ingested logs), with their notes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MetricTable {
    pub lines: Vec<Line>,
    /// Confidence of the cells' intervals.
    pub confidence: f64,
    /// What a reader must know to read the table right, e.g. which percentiles are the max.
    pub notes: Vec<String>,
}

/// Whether `n` samples put the `q` quantile at the largest sample.
fn at_max(n: u64, q: f64) -> bool {
    n > 0 && (n as f64) * (1.0 - q) < 1.0
}

impl MetricTable {
    /// The table of `rows`; with the run's `rounds`, each percentile also carries its
    /// interval at `confidence`.
    pub(crate) fn new(
        rows: &[MetricRow],
        rounds: Option<&[DecodedRound]>,
        confidence: f64,
    ) -> Self {
        let pooled = rounds.map(crate::results::merge_rounds);
        let mut lines = Vec::with_capacity(rows.len());
        let mut thin = Vec::new();
        for row in rows {
            let key = row.key();
            let all = pooled.as_ref().and_then(|p| p.get(&key));
            let values = [row.p50_ms, row.p90_ms, row.p95_ms, row.p99_ms, row.max_ms];
            let cells = std::array::from_fn(|i| {
                let (_, statistic) = STATISTICS[i];
                let interval = match (all, rounds) {
                    (Some(all), Some(rounds)) if row.count > 0 => statistic_interval(
                        all,
                        rounds.iter().filter_map(|r| r.get(&key).cloned()),
                        statistic,
                        confidence,
                    )
                    .map(|(l, h)| (round_us(l), round_us(h))),
                    _ => None,
                };
                let is_max = match statistic {
                    Statistic::Quantile(q) => at_max(row.count, q),
                    _ => false,
                };
                Cell {
                    value: values[i],
                    interval,
                    is_max,
                }
            });
            let line = Line {
                key: key.clone(),
                count: row.count,
                errors: row.errors,
                min_ms: row.min_ms,
                mean_ms: row.mean_ms,
                stdev_ms: row.stdev_ms,
                cells,
                resolution: row.resolution,
            };
            if line.cells.iter().any(|c| c.is_max) {
                thin.push(line.count);
            }
            lines.push(line);
        }
        let mut notes = Vec::new();
        if let Some(fewest) = thin.iter().min() {
            let named: Vec<&str> = STATISTICS
                .iter()
                .zip(0..)
                .filter(|(_, i)| lines.iter().any(|l| l.cells[*i].is_max))
                .map(|((name, _), _)| *name)
                .collect();
            notes.push(format!(
                "* = the largest sample, not a tail estimate: {} of {} series had too few \
                 samples for {} (a pN needs at least 100/(100 − N) samples; fewest here: {fewest})",
                thin.len(),
                lines.len(),
                named.join(", ")
            ));
        }
        Self {
            lines,
            confidence,
            notes,
        }
    }
}

fn round_us(v: f64) -> f64 {
    (v * 1e3).round() / 1e3
}

/// A run as every format sees it: the result and its metric table.
#[derive(Debug, Clone)]
pub(crate) struct RunView<'a> {
    pub summary: &'a RunSummary,
    pub table: MetricTable,
}

impl<'a> RunView<'a> {
    /// The view of a run whose rounds are at hand (decoded from its histograms).
    pub(crate) fn new(summary: &'a RunSummary, rounds: &[DecodedRound]) -> Self {
        Self {
            summary,
            table: MetricTable::new(&summary.metrics, Some(rounds), summary.policy.confidence),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(metric: &str, count: u64) -> MetricRow {
        MetricRow {
            metric: metric.into(),
            status: None,
            count,
            errors: 0,
            min_ms: Some(1.0),
            mean_ms: Some(2.0),
            stdev_ms: Some(0.5),
            p50_ms: Some(2.0),
            p90_ms: Some(3.0),
            p95_ms: Some(3.5),
            p99_ms: Some(4.0),
            max_ms: Some(4.0),
            resolution: Some(Resolution::Us),
            histogram: None,
        }
    }

    #[test]
    fn thin_tails_are_marked_and_explained() {
        let table = MetricTable::new(&[row("a", 40), row("b", 1000)], None, 0.95);
        let a = &table.lines[0];
        assert_eq!(
            a.cells.map(|c| c.is_max),
            [false, false, false, true, false],
            "40 samples: p95 is the 39th of 40, p99 the max"
        );
        assert!(table.lines[1].cells.iter().all(|c| !c.is_max));
        assert_eq!(table.notes.len(), 1);
        assert!(
            table.notes[0].contains("1 of 2 series"),
            "{}",
            table.notes[0]
        );
        assert!(table.notes[0].contains("p99") && table.notes[0].contains("40"));
        let none = MetricTable::new(&[row("b", 1000)], None, 0.95);
        assert!(none.notes.is_empty());
    }

    #[test]
    fn twenty_samples_put_p95_and_p99_at_the_max() {
        assert!(at_max(20, 0.99) && !at_max(20, 0.95) && at_max(19, 0.95));
        assert!(!at_max(0, 0.99));
    }
}
