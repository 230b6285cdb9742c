//! A series of durations: its key (metric and status), its HdrHistogram in microseconds with
//! three significant digits (bounded memory however many samples), and its resolution. The
//! histogram grows with the largest value it holds (16 KB while every value is below 2 ms,
//! about 64 KB to 100 ms, 196 KB at the one-hour ceiling): a round creates a fresh one per
//! series and worker, and allocating (and the kernel zeroing) the ceiling's size each time
//! was a measurable part of the harness's own cost on short startups. The
//! histogram's serialized form is decoded with bounds checked before anything is allocated,
//! since result files are untrusted input.

use std::time::Duration;

use base64::Engine;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};

use super::sample::Resolution;

/// Highest value recorded as itself: one hour, in microseconds (larger ones are clamped).
const MAX_US: u64 = 3_600_000_000;

/// Longest encoded histogram accepted from a file (base64 characters).
const MAX_ENCODED_LEN: usize = 1 << 20;
/// Largest inflated V2 body accepted.
const MAX_INFLATED: usize = 8 << 20;
/// Largest value bound a V2 header may ask for (in its units; 2^43 µs is about 100 days).
const MAX_DECLARED_HIGH: u64 = 1 << 43;
/// The V2 cookies with the word size (0x10) the Rust, Java and Python writers set.
const V2_COOKIE: u32 = 0x1c84_9313;
const V2_COMPRESSED_COOKIE: u32 = 0x1c84_9314;
/// cookie, payload length, normalizing offset, digits, lowest, highest, ratio.
const V2_HEADER_LEN: usize = 40;

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

fn be_u64(bytes: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

/// The uncompressed V2 form of an encoded histogram, with its header checked.
fn v2_body(bytes: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, String> {
    use std::io::Read;
    if bytes.len() < 8 {
        return Err(format!(
            "{} bytes is too short for a histogram",
            bytes.len()
        ));
    }
    let body: std::borrow::Cow<'_, [u8]> = match be_u32(bytes, 0) {
        V2_COOKIE => bytes.into(),
        V2_COMPRESSED_COOKIE => {
            let claimed = be_u32(bytes, 4) as usize;
            let available = bytes.len() - 8;
            if claimed > available {
                return Err(format!(
                    "its header claims {claimed} compressed bytes but {available} follow"
                ));
            }
            let mut inflated = Vec::new();
            flate2::read::ZlibDecoder::new(&bytes[8..8 + claimed])
                .take(MAX_INFLATED as u64 + 1)
                .read_to_end(&mut inflated)
                .map_err(|e| format!("does not inflate: {e}"))?;
            if inflated.len() > MAX_INFLATED {
                return Err(format!("inflates beyond {MAX_INFLATED} bytes"));
            }
            inflated.into()
        }
        other => return Err(format!("unknown histogram cookie {other:#x}")),
    };
    if body.len() < V2_HEADER_LEN || be_u32(&body, 0) != V2_COOKIE {
        return Err("not a V2 HdrHistogram".into());
    }
    let payload = be_u32(&body, 4) as usize;
    if payload > body.len() - V2_HEADER_LEN {
        return Err(format!(
            "its header claims a {payload}-byte payload but {} bytes follow",
            body.len() - V2_HEADER_LEN
        ));
    }
    let digits = be_u32(&body, 12);
    let (low, high) = (be_u64(&body, 16), be_u64(&body, 24));
    if digits > 5 || low == 0 || high > MAX_DECLARED_HIGH || high < low.saturating_mul(2) {
        return Err(format!(
            "its header asks for bounds {low}..{high} at {digits} digits, outside what is accepted"
        ));
    }
    Ok(body)
}

/// Which series a sample belongs to: a metric and, for phases that end in more than one way,
/// the status it ended with.
///
/// The rows of the on-disk formats (`MetricRow`, `RoundSeries`, `StatComparison`, codex's
/// `AggregatedMetric`) keep `metric` and `status` as fields of their own and hand out a
/// `MetricKey` with `key()`: serde's `flatten` would make every such row buffer whatever
/// unknown fields a file carries, which the bounded decoding of untrusted result files must
/// not do (see `results::load`). Samples and the rows that live only in memory or are only
/// written (`report::view::Line`, the sweep's and the history's rows) carry a `MetricKey`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct MetricKey {
    pub metric: String,
    pub status: Option<String>,
}

impl MetricKey {
    pub fn new(metric: &str, status: Option<&str>) -> Self {
        Self {
            metric: metric.to_owned(),
            status: status.map(str::to_owned),
        }
    }

    /// `metric` or `metric[status]`.
    pub fn label(&self) -> String {
        crate::model::metric::series_label(&self.metric, self.status.as_deref())
    }

    /// Whether this is `metric` with `status`.
    pub fn is(&self, metric: &str, status: Option<&str>) -> bool {
        self.metric == metric && self.status.as_deref() == status
    }
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
            // Auto-resizing, from 1 µs; never beyond `MAX_US`, since larger values are clamped.
            histogram: Histogram::new(3).expect("3 significant digits are valid"),
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
        // `record`, not `saturating_record`: the latter clamps to the current size instead of
        // growing. Growing to at most `MAX_US` cannot fail.
        if self.histogram.record(us.min(MAX_US)).is_err() {
            self.histogram.saturating_record(us.min(MAX_US));
        }
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

    /// The HdrHistogram (microseconds) as files carry it, for writers of its interchange
    /// formats: always declaring the full range, 1 µs to one hour. In memory a histogram is
    /// only as large as its largest value, but readers that cannot grow one (hdrhistogram.py,
    /// a Java histogram built with bounds) refuse to merge a histogram declaring a larger
    /// range into one declaring a smaller; with one declared range, every series of every
    /// file merges. The encoding is no longer for it: it holds counts only up to the largest
    /// value.
    pub fn exported(&self) -> Histogram<u64> {
        let mut full = Histogram::new_with_bounds(1, MAX_US, 3).expect("static bounds are valid");
        // Every value is at most `MAX_US`: it fits.
        let _ = full.add(&self.histogram);
        full
    }

    /// The HdrHistogram interchange form: V2 encoding, deflated, base64 (`HISTF…`), values in
    /// microseconds, declaring the full range ([`DurationHistogram::exported`]). Other
    /// HdrHistogram implementations read it.
    pub fn encode(&self) -> String {
        let mut bytes = Vec::new();
        V2DeflateSerializer::new()
            .serialize(&self.exported(), &mut bytes)
            .expect("serializing into memory cannot fail");
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// Reads [`DurationHistogram::encode`]'s form. Values are re-recorded into this crate's
    /// bounds, so a histogram written with other bounds still merges.
    ///
    /// The text is untrusted (result files, baselines): its length, the compressed length its
    /// header claims, the inflated size and the bounds the V2 header asks for are all checked
    /// before anything is allocated for them (a 52-character string whose header claimed a
    /// 4 GiB payload once made `compare` allocate 4.2 GB).
    pub fn decode(text: &str) -> Result<Self, HistogramDecodeError> {
        let fail = |m: String| HistogramDecodeError(m);
        let text = text.trim();
        if text.len() > MAX_ENCODED_LEN {
            return Err(fail(format!(
                "{} characters, more than the {MAX_ENCODED_LEN} accepted",
                text.len()
            )));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|e| fail(format!("not base64: {e}")))?;
        let v2 = v2_body(&bytes).map_err(fail)?;
        let decoded: Histogram<u64> = Deserializer::new()
            .deserialize(&mut &v2[..])
            .map_err(|e| fail(format!("not an HdrHistogram: {e:?}")))?;
        let mut out = DurationHistogram::default();
        for value in decoded.iter_recorded() {
            let v = value.value_iterated_to();
            if v > MAX_US {
                out.clamped += value.count_at_value();
            }
            out.histogram
                .record_n(v.min(MAX_US), value.count_at_value())
                .map_err(|e| fail(format!("value {v} cannot be recorded: {e:?}")))?;
        }
        Ok(out)
    }

    /// The value at quantile `q`, in milliseconds, as it was reported: microseconds to three
    /// decimals, or whole milliseconds read back exactly (the middle of the histogram bucket,
    /// rounded: a bucket's highest value reads 533 ms as 533.247, its middle never crosses
    /// into the next millisecond while buckets are narrower than 1 ms, i.e. below 2,097 ms).
    pub fn quantile_ms(&self, q: f64, resolution: Resolution) -> f64 {
        self.reported_ms(self.histogram.value_at_quantile(q), resolution)
    }

    /// The smallest and largest values, in milliseconds as reported.
    pub fn min_ms(&self, resolution: Resolution) -> f64 {
        self.reported_ms(self.histogram.min(), resolution)
    }

    pub fn max_ms(&self, resolution: Resolution) -> f64 {
        self.reported_ms(self.histogram.max(), resolution)
    }

    fn reported_ms(&self, value_us: u64, resolution: Resolution) -> f64 {
        match resolution {
            Resolution::Us => value_us as f64 / 1e3,
            Resolution::Ms => (self.histogram.median_equivalent(value_us) as f64 / 1e3).round(),
        }
    }

    /// Recorded values and their counts, ascending, in milliseconds as reported (see
    /// [`DurationHistogram::quantile_ms`]).
    pub fn reported_values_ms(
        &self,
        resolution: Resolution,
    ) -> impl Iterator<Item = (f64, u64)> + '_ {
        self.histogram.iter_recorded().map(move |v| {
            (
                self.reported_ms(v.value_iterated_to(), resolution),
                v.count_at_value(),
            )
        })
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

impl PartialEq for DurationHistogram {
    fn eq(&self, other: &Self) -> bool {
        self.clamped == other.clamped && self.histogram == other.histogram
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips() {
        let mut h = DurationHistogram::default();
        for us in [0, 1, 7, 999, 12_345, 2_000_000] {
            h.record(Duration::from_micros(us));
        }
        let text = h.encode();
        assert!(text.starts_with("HISTF"), "{text}");
        // Whatever its largest value, a histogram declares the full range in files.
        let mut short = DurationHistogram::default();
        short.record(Duration::from_micros(5));
        assert_eq!(short.exported().high(), h.exported().high());
        assert!(short.exported().high() >= MAX_US);
        let back = DurationHistogram::decode(&text).unwrap();
        assert_eq!(back.count(), 6);
        assert_eq!(back.quantile(0.5), h.quantile(0.5));
        assert_eq!(back.max(), h.max());
        assert!(DurationHistogram::decode("not base64!").is_err());
        assert!(DurationHistogram::decode("aGVsbG8=").is_err());
    }

    #[test]
    fn hostile_encodings_are_refused_before_allocating() {
        use base64::Engine;
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
        // A compressed header claiming 4 GiB of payload in a few bytes.
        let mut claim = V2_COMPRESSED_COOKIE.to_be_bytes().to_vec();
        claim.extend(u32::MAX.to_be_bytes());
        claim.extend([0u8; 30]);
        let err = DurationHistogram::decode(&b64(&claim)).unwrap_err();
        assert!(err.0.contains("claims"), "{err}");
        // An uncompressed header asking for absurd bounds or a payload that is not there.
        let header = |payload: u32, digits: u32, high: u64| {
            let mut h = V2_COOKIE.to_be_bytes().to_vec();
            h.extend(payload.to_be_bytes());
            h.extend(0u32.to_be_bytes());
            h.extend(digits.to_be_bytes());
            h.extend(1u64.to_be_bytes());
            h.extend(high.to_be_bytes());
            h.extend(1f64.to_be_bytes());
            h
        };
        for (bytes, message) in [
            (header(u32::MAX, 3, 1000), "payload"),
            (header(0, 3, u64::MAX), "bounds"),
            (header(0, 9, 1000), "bounds"),
        ] {
            let err = DurationHistogram::decode(&b64(&bytes)).unwrap_err();
            assert!(err.0.contains(message), "{message}: {err}");
        }
        let long = "A".repeat(MAX_ENCODED_LEN + 4);
        assert!(DurationHistogram::decode(&long).is_err());
    }

    #[test]
    fn whole_milliseconds_read_back_exactly() {
        for ms in [0u64, 1, 7, 66, 533, 999, 1_049, 1_500, 2_000, 2_096] {
            let mut h = DurationHistogram::default();
            h.record(Duration::from_millis(ms));
            assert_eq!(h.quantile_ms(0.5, Resolution::Ms), ms as f64, "{ms} ms");
            assert_eq!(h.max_ms(Resolution::Ms), ms as f64, "{ms} ms");
        }
    }

    /// Short startups keep small histograms, and merging histograms of different sizes
    /// loses nothing.
    #[test]
    fn histograms_grow_with_their_largest_value_and_merge_across_sizes() {
        let mut short = DurationHistogram::default();
        for us in [3, 250, 1_900] {
            short.record(Duration::from_micros(us));
        }
        assert!(
            short.histogram.distinct_values() <= 2048,
            "{} counters for values below 2 ms",
            short.histogram.distinct_values()
        );
        let mut long = DurationHistogram::default();
        long.record(Duration::from_secs(3599));
        assert!(long.histogram.distinct_values() > 8 * 2048);
        short.merge(&long);
        long.merge(&short.clone());
        assert_eq!(short.count(), 4);
        assert_eq!(short.min(), Duration::from_micros(3));
        assert_eq!(short.quantile(0.5), Duration::from_micros(250));
        assert!(
            short.max() >= Duration::from_secs(3598),
            "{:?}",
            short.max()
        );
        assert_eq!(long.count(), 5);
    }

    #[test]
    fn huge_values_are_clamped_and_counted() {
        let mut h = DurationHistogram::default();
        h.record(Duration::from_secs(7200));
        assert_eq!(h.clamped, 1);
        assert_eq!(h.count(), 1);
    }
}
