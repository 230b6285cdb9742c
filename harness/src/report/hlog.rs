//! HdrHistogram interval logs (the V2 log format of HdrHistogram's `HistogramLogWriter`, read by
//! its own tools such as `HistogramLogProcessor` and the Python `hdrhistogram` package): one
//! interval per round, one tag per (metric, status), values in microseconds (`MaxValueDivisor`
//! 1000, so each line's max reads in milliseconds). Interval start times are the run's start
//! plus the wall time of the rounds before (rounds run back to back).

use std::time::Duration;

use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};

use crate::results::{DecodedRound, RunSummary};

use super::{Document, Exporter, Format, Unsupported};

/// The HdrHistogram interval-log format: a recorded run's rounds.
pub(crate) struct Hlog;

impl Exporter for Hlog {
    fn format(&self) -> Format {
        Format::Hlog
    }

    fn export(&self, document: Document<'_>) -> Result<Vec<u8>, Unsupported> {
        match document {
            Document::Recorded(r) => Ok(interval_log(r.view.summary, r.rounds)),
            _ => Err(self.unsupported(document)),
        }
    }
}

/// A series label as an interval-log tag: `metric` or `metric[status]`, with the characters
/// tags may not hold (',', ' ', '\r', '\n') replaced by '_'.
pub(crate) fn tag(metric: &str, status: Option<&str>) -> String {
    crate::model::metric::series_label(metric, status)
        .chars()
        .map(|c| {
            if matches!(c, ',' | ' ' | '\r' | '\n') {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// The interval log of a run whose rounds are at hand.
pub(crate) fn interval_log(summary: &RunSummary, rounds: &[DecodedRound]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut serializer = V2DeflateSerializer::new();
    let started =
        std::time::UNIX_EPOCH + Duration::from_millis(summary.environment.started_unix_ms);
    let mut writer = IntervalLogWriterBuilder::new()
        .add_comment(&format!(
            "phasebench {}: scenario {}, target {} {}; one interval per round, values in microseconds",
            summary.tool.version,
            summary.scenario.name.escape_debug(),
            summary.target.name.escape_debug(),
            summary.target.version.escape_debug(),
        ))
        .with_start_time(started)
        .with_base_time(started)
        .with_max_value_divisor(1000.0)
        .begin_log_with(&mut out, &mut serializer)
        .expect("writing into memory cannot fail");
    let mut offset = Duration::ZERO;
    for (round, record) in rounds.iter().zip(&summary.rounds) {
        let length = Duration::from_secs_f64(record.wall_time_s.max(0.0));
        for (key, series) in round {
            let label = tag(&key.metric, key.status.as_deref());
            writer
                .write_histogram(
                    &series.histogram.exported(),
                    offset,
                    length,
                    Tag::new(&label),
                )
                .expect("serializing into memory cannot fail");
        }
        offset += length;
    }
    drop(writer);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_hold_no_separator() {
        assert_eq!(tag("turn_ttft", None), "turn_ttft");
        assert_eq!(tag("a b,c", Some("x\ny")), "a_b_c[x_y]");
        assert!(Tag::new(&tag("a b,c", Some("x\ry"))).is_some());
    }
}
