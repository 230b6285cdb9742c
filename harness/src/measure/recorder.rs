//! Histograms, not sample lists: one HdrHistogram per (metric, status), in microseconds with
//! three significant digits, so memory is bounded however many iterations run. Workers record
//! into their own [`Recorder`] and the runner merges them with [`Recorder::merge`].

use std::collections::BTreeMap;

pub(crate) use super::paths::{CriticalStats, PhaseOffsets};
use crate::model::sample::{OverheadSample, Sample};
use crate::model::series::{DurationHistogram, MetricKey, Series};

/// The difference between a measured phase and the delay injected into it.
#[derive(Debug, Clone, Default)]
pub(crate) struct OverheadSeries {
    pub injected: DurationHistogram,
    /// measured − injected, for samples where measured ≥ injected.
    pub excess: DurationHistogram,
    /// Samples whose measured value was below the injected delay (a timing inconsistency).
    pub below_injected: u64,
}

/// Everything measured by one worker (or, merged, by a run).
#[derive(Debug, Clone, Default)]
pub(crate) struct Recorder {
    pub series: BTreeMap<MetricKey, Series>,
    pub overhead: BTreeMap<String, OverheadSeries>,
    /// Per metric name: failed iterations that did not produce it.
    pub errors: BTreeMap<String, u64>,
    pub critical: CriticalStats,
    /// Per metric: when its phases started and ended, relative to their iteration's start.
    pub offsets: BTreeMap<String, PhaseOffsets>,
}

impl Recorder {
    pub(crate) fn record(&mut self, sample: &Sample) {
        // One lookup for a series already seen; the key is cloned only for its first sample.
        if let Some(series) = self.series.get_mut(&sample.key) {
            series.histogram.record(sample.duration);
            series.resolution = series.resolution.max(sample.resolution);
            return;
        }
        let mut histogram = DurationHistogram::default();
        histogram.record(sample.duration);
        self.series.insert(
            sample.key.clone(),
            Series {
                histogram,
                resolution: sample.resolution,
            },
        );
    }

    pub(crate) fn record_overhead(&mut self, sample: &OverheadSample) {
        let series = self.overhead.entry(sample.metric.clone()).or_default();
        series.injected.record(sample.injected);
        match sample.measured.checked_sub(sample.injected) {
            Some(excess) => series.excess.record(excess),
            None => series.below_injected += 1,
        }
    }

    pub(crate) fn record_error(&mut self, metric: &str) {
        *self.errors.entry(metric.to_owned()).or_default() += 1;
    }

    /// Where each timed sample of an iteration started and ended, from `started_at`.
    pub(crate) fn record_offsets(
        &mut self,
        started_at: Option<std::time::SystemTime>,
        samples: &[Sample],
    ) {
        let Some(origin) = started_at else { return };
        for sample in samples {
            let (Some(start), Some(end)) = (sample.started_at(), sample.ended_at) else {
                continue;
            };
            let offsets = match self.offsets.get_mut(&sample.key.metric) {
                Some(o) => o,
                None => self.offsets.entry(sample.key.metric.clone()).or_default(),
            };
            offsets
                .start
                .record(start.duration_since(origin).unwrap_or_default());
            offsets
                .end
                .record(end.duration_since(origin).unwrap_or_default());
        }
    }

    /// The critical path of one successful iteration's samples.
    pub(crate) fn record_critical_path(&mut self, samples: &[Sample]) {
        if let Some(attribution) = crate::model::critical::attribute(samples) {
            self.critical.record(&attribution);
        }
    }

    pub(crate) fn merge(&mut self, other: &Recorder) {
        self.critical.merge(&other.critical);
        for (metric, o) in &other.offsets {
            let mine = self.offsets.entry(metric.clone()).or_default();
            mine.start.merge(&o.start);
            mine.end.merge(&o.end);
        }
        for (key, series) in &other.series {
            match self.series.get_mut(key) {
                Some(mine) => {
                    mine.histogram.merge(&series.histogram);
                    mine.resolution = mine.resolution.max(series.resolution);
                }
                None => {
                    self.series.insert(key.clone(), series.clone());
                }
            }
        }
        for (metric, series) in &other.overhead {
            let mine = self.overhead.entry(metric.clone()).or_default();
            mine.injected.merge(&series.injected);
            mine.excess.merge(&series.excess);
            mine.below_injected += series.below_injected;
        }
        for (metric, n) in &other.errors {
            *self.errors.entry(metric.clone()).or_default() += n;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::sample::Resolution;

    fn sample(metric: &str, status: Option<&str>, us: u64, resolution: Resolution) -> Sample {
        Sample {
            key: crate::model::series::MetricKey::new(metric, status),
            duration: Duration::from_micros(us),
            resolution,
            ended_at: None,
        }
    }

    #[test]
    fn percentiles_come_from_merged_histograms() {
        let mut a = Recorder::default();
        let mut b = Recorder::default();
        for us in 1..=500 {
            a.record(&sample("m", None, us * 10, Resolution::Us));
        }
        for us in 501..=1000 {
            b.record(&sample("m", None, us * 10, Resolution::Ms));
        }
        a.merge(&b);
        let series = &a.series[&MetricKey {
            metric: "m".into(),
            status: None,
        }];
        assert_eq!(series.histogram.count(), 1000);
        let p50 = series.histogram.quantile(0.5).as_micros() as f64;
        assert!((p50 - 5000.0).abs() / 5000.0 < 0.002, "p50 {p50}");
        assert_eq!(
            series.resolution,
            Resolution::Ms,
            "coarsest resolution wins"
        );
    }

    #[test]
    fn statuses_are_separate_series() {
        let mut r = Recorder::default();
        r.record(&sample("resolve", Some("ready"), 5, Resolution::Us));
        r.record(&sample("resolve", Some("timed_out"), 5, Resolution::Us));
        assert_eq!(r.series.len(), 2);
    }

    #[test]
    fn overhead_counts_values_below_the_injection() {
        let mut r = Recorder::default();
        r.record_overhead(&OverheadSample {
            metric: "m".into(),
            measured: Duration::from_millis(41),
            injected: Duration::from_millis(40),
        });
        r.record_overhead(&OverheadSample {
            metric: "m".into(),
            measured: Duration::from_millis(39),
            injected: Duration::from_millis(40),
        });
        let o = &r.overhead["m"];
        assert_eq!(o.excess.count(), 1);
        assert_eq!(o.below_injected, 1);
        assert!(o.excess.quantile(0.5) >= Duration::from_micros(999));
    }
}
