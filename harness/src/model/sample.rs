//! The one pipeline every telemetry source feeds: an event's attributes become a
//! (thread, metric, status, duration) sample. The in-memory capture of the built-in runtime
//! uses it now; an OTLP receiver for external processes decodes into the same attributes.

use std::time::Duration;

use codex_telemetry::{
    ATTR_DURATION_MS, ATTR_DURATION_US, ATTR_EVENT_NAME, ATTR_PHASE, ATTR_STATUS,
    STARTUP_PHASE_EVENT, TURN_TTFT_EVENT, WEBSOCKET_CONNECT_EVENT,
};

use crate::model::metric::{TURN_TTFT, WEBSOCKET_CONNECT};
use crate::model::series::MetricKey;

/// The finest unit a metric's values were really reported in.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Resolution {
    /// Whole microseconds (the reference runtime's `duration_us`, the harness's own clock).
    Us,
    /// Whole milliseconds (codex's `duration_ms`): sub-millisecond phases read as 0.
    Ms,
}

impl Resolution {
    /// The machine-readable name (JSON, CSV): `us` or `ms`.
    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::Us => "us",
            Resolution::Ms => "ms",
        }
    }

    /// The step a reader sees (terminal, Markdown): `1 µs` or `1 ms`, so the column beside
    /// the millisecond columns says what it is.
    pub fn step(self) -> &'static str {
        match self {
            Resolution::Us => "1 µs",
            Resolution::Ms => "1 ms",
        }
    }
}

/// One measured duration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    pub key: MetricKey,
    pub duration: Duration,
    pub resolution: Resolution,
    /// When the phase ended, by the wall clock (the telemetry record's timestamp, or the
    /// harness's clock for its own timings); absent when unknown. Only timelines use it.
    pub ended_at: Option<std::time::SystemTime>,
}

impl Sample {
    /// A harness-measured (client-side) sample.
    pub fn client(metric: &str, duration: Duration) -> Self {
        Self {
            key: MetricKey::new(metric, None),
            duration,
            resolution: Resolution::Us,
            ended_at: None,
        }
    }

    /// A harness-measured sample of a span that began at `started` (wall clock).
    pub fn client_from(metric: &str, duration: Duration, started: std::time::SystemTime) -> Self {
        Self {
            ended_at: Some(started + duration),
            ..Self::client(metric, duration)
        }
    }

    /// When the phase started, if its end is known.
    pub fn started_at(&self) -> Option<std::time::SystemTime> {
        self.ended_at.map(|end| end - self.duration)
    }
}

/// One measured phase of one iteration next to the delay injected into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverheadSample {
    pub metric: String,
    pub measured: Duration,
    pub injected: Duration,
}

/// An attribute value as OpenTelemetry carries it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum AttrValue<'a> {
    Str(&'a str),
    Int(i64),
    Double(f64),
}

/// Why an event that should carry a duration could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DecodeError {
    #[error("{event}: missing attribute `{key}`")]
    Missing { event: String, key: &'static str },
    #[error("{event}: attribute `{key}` is not a non-negative number up to one hour: {value}")]
    BadNumber {
        event: String,
        key: &'static str,
        value: String,
    },
}

/// Reads a sample from an event's attributes; `Ok(None)` for events that carry no metric.
pub(crate) fn decode<'a>(
    get: impl Fn(&str) -> Option<AttrValue<'a>>,
) -> Result<Option<Sample>, DecodeError> {
    let Some(AttrValue::Str(event)) = get(ATTR_EVENT_NAME) else {
        return Ok(None);
    };
    let (metric, status) = match event {
        STARTUP_PHASE_EVENT => {
            let Some(AttrValue::Str(phase)) = get(ATTR_PHASE) else {
                return Err(DecodeError::Missing {
                    event: event.to_owned(),
                    key: ATTR_PHASE,
                });
            };
            let status = match get(ATTR_STATUS) {
                Some(AttrValue::Str(s)) => Some(s.to_owned()),
                _ => None,
            };
            (phase.to_owned(), status)
        }
        TURN_TTFT_EVENT => (TURN_TTFT.to_owned(), None),
        WEBSOCKET_CONNECT_EVENT => (WEBSOCKET_CONNECT.to_owned(), None),
        _ => return Ok(None),
    };
    let (duration, resolution) = if let Some(us) = get(ATTR_DURATION_US) {
        (
            Duration::from_micros(number(event, ATTR_DURATION_US, us, MAX_DURATION_MS * 1000)?),
            Resolution::Us,
        )
    } else if let Some(ms) = get(ATTR_DURATION_MS) {
        (
            Duration::from_millis(number(event, ATTR_DURATION_MS, ms, MAX_DURATION_MS)?),
            Resolution::Ms,
        )
    } else {
        return Err(DecodeError::Missing {
            event: event.to_owned(),
            key: ATTR_DURATION_MS,
        });
    };
    Ok(Some(Sample {
        key: MetricKey { metric, status },
        duration,
        resolution,
        ended_at: None,
    }))
}

/// The longest duration an event may carry: one hour (what the histograms track). Beyond it
/// the value is malformed, never silently clamped.
const MAX_DURATION_MS: u64 = 3_600_000;

fn number(
    event: &str,
    key: &'static str,
    value: AttrValue<'_>,
    max: u64,
) -> Result<u64, DecodeError> {
    let bad = |v: String| DecodeError::BadNumber {
        event: event.to_owned(),
        key,
        value: v,
    };
    let n = match value {
        AttrValue::Int(i) => u64::try_from(i).map_err(|_| bad(i.to_string()))?,
        AttrValue::Str(s) => s.trim().parse::<u64>().map_err(|_| bad(format!("{s:?}")))?,
        AttrValue::Double(d) if d >= 0.0 && d <= max as f64 => d.round() as u64,
        AttrValue::Double(d) => return Err(bad(d.to_string())),
    };
    if n > max {
        return Err(bad(format!("{n} (beyond one hour)")));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs<'a>(
        pairs: &'a [(&'a str, AttrValue<'a>)],
    ) -> impl Fn(&str) -> Option<AttrValue<'a>> + 'a {
        move |k| pairs.iter().find(|(key, _)| *key == k).map(|(_, v)| *v)
    }

    #[test]
    fn codex_phase_in_whole_milliseconds() {
        let pairs = [
            ("event.name", AttrValue::Str("codex.startup_phase")),
            ("startup.phase", AttrValue::Str("thread_start_total")),
            ("startup.status", AttrValue::Str("ready")),
            ("duration_ms", AttrValue::Str("23")),
        ];
        let sample = decode(attrs(&pairs)).unwrap().unwrap();
        assert_eq!(sample.key.metric, "thread_start_total");
        assert_eq!(sample.key.status.as_deref(), Some("ready"));
        assert_eq!(sample.duration, Duration::from_millis(23));
        assert_eq!(sample.resolution, Resolution::Ms);
    }

    #[test]
    fn finer_attribute_wins() {
        let pairs = [
            ("event.name", AttrValue::Str("codex.turn_ttft")),
            ("duration_ms", AttrValue::Str("0")),
            ("duration_us", AttrValue::Int(734)),
        ];
        let sample = decode(attrs(&pairs)).unwrap().unwrap();
        assert_eq!(sample.key.metric, "turn_ttft");
        assert_eq!(sample.duration, Duration::from_micros(734));
        assert_eq!(sample.resolution, Resolution::Us);
    }

    #[test]
    fn other_events_are_skipped_and_bad_ones_reported() {
        let pairs = [("event.name", AttrValue::Str("codex.user_prompt"))];
        assert_eq!(decode(attrs(&pairs)).unwrap(), None);
        let pairs = [
            ("event.name", AttrValue::Str("codex.turn_ttft")),
            ("duration_ms", AttrValue::Str("-3")),
        ];
        assert!(matches!(
            decode(attrs(&pairs)),
            Err(DecodeError::BadNumber { .. })
        ));
        let pairs = [("event.name", AttrValue::Str("codex.turn_ttft"))];
        assert!(matches!(
            decode(attrs(&pairs)),
            Err(DecodeError::Missing { .. })
        ));
        // Beyond an hour is malformed, never clamped to the histogram's top.
        for value in [
            AttrValue::Double(1e308),
            AttrValue::Str("3600001"),
            AttrValue::Int(i64::MAX),
        ] {
            let pairs = [
                ("event.name", AttrValue::Str("codex.turn_ttft")),
                ("duration_ms", value),
            ];
            assert!(
                matches!(decode(attrs(&pairs)), Err(DecodeError::BadNumber { .. })),
                "{value:?}"
            );
        }
    }
}
