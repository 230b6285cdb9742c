//! Histograms, not sample lists: one HdrHistogram per (metric, status), in microseconds with
//! three significant digits, so memory is fixed however many iterations run. Workers record
//! into their own [`Recorder`] and the runner merges them with [`Recorder::merge`].

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};

use crate::sample::{Resolution, Sample};

/// Highest trackable value: one hour, in microseconds.
const MAX_US: u64 = 3_600_000_000;

/// Which series a sample belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MetricKey {
    pub metric: String,
    pub status: Option<String>,
}

/// A duration histogram in microseconds.
#[derive(Debug, Clone)]
pub struct DurationHistogram {
    histogram: Histogram<u64>,
    /// Values above [`MAX_US`], recorded as the maximum.
    pub clamped: u64,
}

impl Default for DurationHistogram {
    fn default() -> Self {
        Self {
            histogram: Histogram::new_with_bounds(1, MAX_US, 3).expect("static bounds are valid"),
            clamped: 0,
        }
    }
}

impl DurationHistogram {
    pub fn record(&mut self, duration: Duration) {
        let us = u64::try_from(duration.as_micros()).unwrap_or(u64::MAX);
        if us > MAX_US {
            self.clamped += 1;
        }
        self.histogram.saturating_record(us.min(MAX_US));
    }

    pub fn merge(&mut self, other: &DurationHistogram) {
        // Same bounds on both sides: adding cannot fail.
        let _ = self.histogram.add(&other.histogram);
        self.clamped += other.clamped;
    }

    pub fn count(&self) -> u64 {
        self.histogram.len()
    }

    /// Value at quantile `q` in (0, 1].
    pub fn quantile(&self, q: f64) -> Duration {
        Duration::from_micros(self.histogram.value_at_quantile(q))
    }

    pub fn max(&self) -> Duration {
        Duration::from_micros(self.histogram.max())
    }

    pub fn min(&self) -> Duration {
        Duration::from_micros(self.histogram.min())
    }

    pub fn mean(&self) -> Duration {
        Duration::from_secs_f64(self.histogram.mean() / 1e6)
    }

    pub fn stdev(&self) -> Duration {
        Duration::from_secs_f64(self.histogram.stdev() / 1e6)
    }

    /// The HdrHistogram interchange form: V2 encoding, deflated, base64 (`HISTF…`), values in
    /// microseconds. Other HdrHistogram implementations read it.
    pub fn encode(&self) -> String {
        let mut bytes = Vec::new();
        V2DeflateSerializer::new()
            .serialize(&self.histogram, &mut bytes)
            .expect("serializing into memory cannot fail");
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// Reads [`DurationHistogram::encode`]'s form. Values are re-recorded into this crate's
    /// bounds, so a histogram written with other bounds still merges.
    pub fn decode(text: &str) -> Result<Self, HistogramDecodeError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|e| HistogramDecodeError(format!("not base64: {e}")))?;
        let decoded: Histogram<u64> = Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| HistogramDecodeError(format!("not an HdrHistogram: {e:?}")))?;
        let mut out = DurationHistogram::default();
        for value in decoded.iter_recorded() {
            let v = value.value_iterated_to();
            if v > MAX_US {
                out.clamped += value.count_at_value();
            }
            out.histogram
                .record_n(v.min(MAX_US), value.count_at_value())
                .map_err(|e| {
                    HistogramDecodeError(format!("value {v} cannot be recorded: {e:?}"))
                })?;
        }
        Ok(out)
    }

    /// Recorded values and their counts, ascending: (highest equivalent value in µs, count).
    pub fn buckets(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.histogram.iter_recorded().map(|v| {
            (
                self.histogram.highest_equivalent(v.value_iterated_to()),
                v.count_at_value(),
            )
        })
    }
}

/// A serialized histogram that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HistogramDecodeError(pub String);

/// One series: its histogram and the coarsest resolution any of its samples had.
#[derive(Debug, Clone)]
pub struct Series {
    pub histogram: DurationHistogram,
    pub resolution: Resolution,
}

/// The difference between a measured phase and the delay injected into it.
#[derive(Debug, Clone, Default)]
pub struct OverheadSeries {
    pub injected: DurationHistogram,
    /// measured − injected, for samples where measured ≥ injected.
    pub excess: DurationHistogram,
    /// Samples whose measured value was below the injected delay (a timing inconsistency).
    pub below_injected: u64,
}

/// One measured phase of one iteration next to the delay injected into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverheadSample {
    pub metric: String,
    pub measured: Duration,
    pub injected: Duration,
}

/// Everything measured by one worker (or, merged, by a run).
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    pub series: BTreeMap<MetricKey, Series>,
    pub overhead: BTreeMap<String, OverheadSeries>,
    /// Per metric name: failed iterations that did not produce it.
    pub errors: BTreeMap<String, u64>,
}

impl Recorder {
    pub fn record(&mut self, sample: &Sample) {
        let key = MetricKey {
            metric: sample.metric.clone(),
            status: sample.status.clone(),
        };
        let series = self.series.entry(key).or_insert_with(|| Series {
            histogram: DurationHistogram::default(),
            resolution: sample.resolution,
        });
        series.histogram.record(sample.duration);
        series.resolution = series.resolution.max(sample.resolution);
    }

    pub fn record_overhead(&mut self, sample: &OverheadSample) {
        let series = self.overhead.entry(sample.metric.clone()).or_default();
        series.injected.record(sample.injected);
        match sample.measured.checked_sub(sample.injected) {
            Some(excess) => series.excess.record(excess),
            None => series.below_injected += 1,
        }
    }

    pub fn record_error(&mut self, metric: &str) {
        *self.errors.entry(metric.to_owned()).or_default() += 1;
    }

    pub fn merge(&mut self, other: &Recorder) {
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
    use super::*;

    fn sample(metric: &str, status: Option<&str>, us: u64, resolution: Resolution) -> Sample {
        Sample {
            metric: metric.into(),
            status: status.map(Into::into),
            duration: Duration::from_micros(us),
            resolution,
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

    #[test]
    fn encoding_round_trips() {
        let mut h = DurationHistogram::default();
        for us in [0, 1, 7, 999, 12_345, 2_000_000] {
            h.record(Duration::from_micros(us));
        }
        let text = h.encode();
        assert!(text.starts_with("HISTF"), "{text}");
        let back = DurationHistogram::decode(&text).unwrap();
        assert_eq!(back.count(), 6);
        assert_eq!(back.quantile(0.5), h.quantile(0.5));
        assert_eq!(back.max(), h.max());
        assert!(DurationHistogram::decode("not base64!").is_err());
        assert!(DurationHistogram::decode("aGVsbG8=").is_err());
    }

    #[test]
    fn huge_values_are_clamped_and_counted() {
        let mut h = DurationHistogram::default();
        h.record(Duration::from_secs(7200));
        assert_eq!(h.clamped, 1);
        assert_eq!(h.count(), 1);
    }
}
