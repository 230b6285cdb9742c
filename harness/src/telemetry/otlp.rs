//! OTLP log bodies → samples: the same pipeline as the in-memory capture, for telemetry that
//! arrives over the wire (an external process's OTLP/HTTP exporter) or sits on disk (the
//! OpenTelemetry Collector's file exporter). JSON and protobuf bodies, gzip accepted. Trace
//! bodies → the spans [`crate::telemetry::spans`] refines phases with.

use std::io::Read;

use codex_telemetry::ATTR_CONVERSATION_ID;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as ProtoValue;
use prost::Message;

use crate::model::sample::{AttrValue, Sample, decode};
use crate::telemetry::spans::{SpanRecord, known_span_name};

/// How a body is encoded (from its `Content-Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Json,
    Protobuf,
}

impl Encoding {
    /// From a `Content-Type` header: `application/x-protobuf` is protobuf, anything JSON-ish
    /// (or absent) is JSON.
    pub fn from_content_type(content_type: Option<&str>) -> Self {
        match content_type {
            Some(ct) if ct.contains("protobuf") => Encoding::Protobuf,
            _ => Encoding::Json,
        }
    }
}

/// Why a body could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OtlpError {
    #[error("not valid gzip: {0}")]
    Gzip(String),
    #[error("body of {size} bytes is above the {limit}-byte limit")]
    TooLarge { size: usize, limit: usize },
    #[error("not an OTLP {signal} request in JSON: {message}")]
    Json {
        signal: &'static str,
        message: String,
    },
    #[error("not an OTLP {signal} request in protobuf: {message}")]
    Protobuf {
        signal: &'static str,
        message: String,
    },
}

/// A sample from a log record, with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedSample {
    /// The record's `conversation.id`.
    pub thread: String,
    pub sample: Sample,
    /// The span the record was logged in (its `spanId`), when it has one.
    pub span: Option<u64>,
}

/// The samples one or more bodies held.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DecodedLogs {
    /// In body order.
    pub samples: Vec<LoggedSample>,
    /// Log records seen (metric events or not).
    pub records: u64,
    /// Metric events whose attributes could not be decoded.
    pub malformed_events: u64,
    /// Why, for the first [`MALFORMED_EXAMPLES`] of them.
    pub malformed_examples: Vec<String>,
    /// Metric events without a `conversation.id`.
    pub unattributed_events: u64,
}

/// How many malformed events are quoted.
pub(crate) const MALFORMED_EXAMPLES: usize = 3;

impl DecodedLogs {
    pub fn absorb(&mut self, other: DecodedLogs) {
        self.samples.extend(other.samples);
        self.records += other.records;
        self.malformed_events += other.malformed_events;
        let room = MALFORMED_EXAMPLES.saturating_sub(self.malformed_examples.len());
        self.malformed_examples
            .extend(other.malformed_examples.into_iter().take(room));
        self.unattributed_events += other.unattributed_events;
    }
}

/// Inflates a gzip body, refusing to grow past `limit` bytes (a zip bomb stops there).
pub(crate) fn gunzip(body: &[u8], limit: usize) -> Result<Vec<u8>, OtlpError> {
    let mut out = Vec::new();
    let mut decoder = flate2::read::GzDecoder::new(body).take(limit as u64 + 1);
    decoder
        .read_to_end(&mut out)
        .map_err(|e| OtlpError::Gzip(e.to_string()))?;
    if out.len() > limit {
        return Err(OtlpError::TooLarge {
            size: out.len(),
            limit,
        });
    }
    Ok(out)
}

/// The value of attribute `key`, when present and of a kind samples use.
pub(super) fn attr<'a>(attributes: &'a [KeyValue], key: &str) -> Option<AttrValue<'a>> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(attr_value)
}

fn attr_value(kv: &KeyValue) -> Option<AttrValue<'_>> {
    match kv.value.as_ref()?.value.as_ref()? {
        ProtoValue::StringValue(s) => Some(AttrValue::Str(s)),
        ProtoValue::IntValue(i) => Some(AttrValue::Int(*i)),
        ProtoValue::DoubleValue(d) => Some(AttrValue::Double(*d)),
        _ => None,
    }
}

/// Decodes one OTLP request body of either encoding.
pub(super) fn decode_request<T>(
    body: &[u8],
    encoding: Encoding,
    signal: &'static str,
) -> Result<T, OtlpError>
where
    T: Message + Default + serde::de::DeserializeOwned,
{
    match encoding {
        Encoding::Json => serde_json::from_slice::<T>(body).map_err(|e| OtlpError::Json {
            signal,
            message: e.to_string(),
        }),
        Encoding::Protobuf => T::decode(body).map_err(|e| OtlpError::Protobuf {
            signal,
            message: e.to_string(),
        }),
    }
}

/// Decodes one `ExportLogsServiceRequest` body.
pub fn decode_logs(body: &[u8], encoding: Encoding) -> Result<DecodedLogs, OtlpError> {
    let request: ExportLogsServiceRequest = decode_request(body, encoding, "logs")?;
    Ok(samples_of(&request))
}

/// An 8-byte span id as a number (`None` for the empty id of a record outside any span).
fn span_id(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?)).filter(|id| *id != 0)
}

/// Decodes one `ExportTraceServiceRequest` body, keeping only the spans phases are read from
/// (see [`crate::telemetry::spans::PHASE_SPANS`]); returns them with the number of spans seen.
pub fn decode_spans(body: &[u8], encoding: Encoding) -> Result<(Vec<SpanRecord>, u64), OtlpError> {
    let request: ExportTraceServiceRequest = decode_request(body, encoding, "traces")?;
    let mut kept = Vec::new();
    let mut seen = 0;
    for resource in &request.resource_spans {
        for scope in &resource.scope_spans {
            for span in &scope.spans {
                seen += 1;
                let (Some(name), Some(id)) = (known_span_name(&span.name), span_id(&span.span_id))
                else {
                    continue;
                };
                kept.push(SpanRecord {
                    id,
                    parent: span_id(&span.parent_span_id),
                    name,
                    duration: std::time::Duration::from_nanos(
                        span.end_time_unix_nano
                            .saturating_sub(span.start_time_unix_nano),
                    ),
                });
            }
        }
    }
    Ok((kept, seen))
}

/// The samples of a decoded request.
pub(crate) fn samples_of(request: &ExportLogsServiceRequest) -> DecodedLogs {
    let mut out = DecodedLogs::default();
    for resource in &request.resource_logs {
        for scope in &resource.scope_logs {
            for record in &scope.log_records {
                out.records += 1;
                let get = |key: &str| attr(&record.attributes, key);
                match decode(get) {
                    Ok(Some(mut sample)) => match get(ATTR_CONVERSATION_ID) {
                        Some(AttrValue::Str(id)) => out.samples.push(LoggedSample {
                            thread: id.to_owned(),
                            sample: {
                                let nanos = match record.time_unix_nano {
                                    0 => record.observed_time_unix_nano,
                                    t => t,
                                };
                                sample.ended_at = (nanos > 0).then(|| {
                                    std::time::UNIX_EPOCH + std::time::Duration::from_nanos(nanos)
                                });
                                sample
                            },
                            span: span_id(&record.span_id),
                        }),
                        _ => out.unattributed_events += 1,
                    },
                    Ok(None) => {}
                    Err(e) => {
                        out.malformed_events += 1;
                        if out.malformed_examples.len() < MALFORMED_EXAMPLES {
                            out.malformed_examples.push(e.to_string());
                        }
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::sample::Resolution;

    const FIXTURE: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/codex-0.169.0/otlp_v1_logs.json"
    );

    #[test]
    fn codex_fixture_decodes_to_its_phases() {
        let body = std::fs::read(FIXTURE).unwrap();
        let decoded = decode_logs(&body, Encoding::Json).unwrap();
        let phases: Vec<(&str, Option<&str>, u128)> = decoded
            .samples
            .iter()
            .map(|LoggedSample { sample: s, .. }| {
                (
                    s.key.metric.as_str(),
                    s.key.status.as_deref(),
                    s.duration.as_millis(),
                )
            })
            .collect();
        assert_eq!(
            phases,
            vec![
                ("thread_start_create_thread", Some("ready"), 15),
                ("startup_prewarm_create_turn_context", None, 3),
                ("thread_start_total", Some("ready"), 23),
                ("startup_prewarm_build_tools", None, 2),
                ("websocket_connect", None, 16),
                ("startup_prewarm_build_prompt", None, 0),
                ("startup_prewarm_websocket_warmup", None, 2),
                ("startup_prewarm_total", Some("ready"), 24),
                ("startup_prewarm_resolve", Some("ready"), 0),
                ("turn_ttft", None, 66),
            ]
        );
        assert!(
            decoded
                .samples
                .iter()
                .all(|l| l.thread == "01a20ae0-451f-7be3-8122-be4b48a18ace"
                    && l.sample.resolution == Resolution::Ms
                    && l.span.is_some())
        );
        assert_eq!(decoded.malformed_events, 0);
        assert!(decoded.records > phases.len() as u64);
    }

    #[test]
    fn protobuf_and_gzip_round_trip() {
        let body = std::fs::read(FIXTURE).unwrap();
        let request: ExportLogsServiceRequest = serde_json::from_slice(&body).unwrap();
        let proto = request.encode_to_vec();
        let decoded = decode_logs(&proto, Encoding::Protobuf).unwrap();
        assert_eq!(decoded.samples.len(), 10);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &proto).unwrap();
        let inflated = gunzip(&gz.finish().unwrap(), 1 << 20).unwrap();
        assert_eq!(inflated, proto);
        assert!(matches!(
            gunzip(&inflated, 1 << 20),
            Err(OtlpError::Gzip(_))
        ));
        assert!(matches!(
            gunzip(
                &{
                    let mut gz =
                        flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                    std::io::Write::write_all(&mut gz, &vec![0u8; 10_000]).unwrap();
                    gz.finish().unwrap()
                },
                1000
            ),
            Err(OtlpError::TooLarge { .. })
        ));
        let _ = Duration::ZERO;
    }

    /// Captured here from one `codex exec "hi"` (0.169.0, websocket) with logs and traces
    /// exported; the traces file is cut down to the spans phasebench reads, their parents and
    /// a few unrelated ones.
    const CAPTURED_LOGS: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/codex-0.169.0/captured-exec-logs.json"
    );
    const CAPTURED_TRACES: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/codex-0.169.0/captured-exec-traces.json"
    );

    #[test]
    fn captured_spans_refine_the_phases_they_time() {
        use crate::telemetry::spans::{Refinement, SpanIndex};
        let logs = decode_logs(&std::fs::read(CAPTURED_LOGS).unwrap(), Encoding::Json).unwrap();
        let (spans, seen) =
            decode_spans(&std::fs::read(CAPTURED_TRACES).unwrap(), Encoding::Json).unwrap();
        assert_eq!(seen, 19);
        // Kept: the six phase spans, plus the turn's spans of the same names.
        assert!(spans.len() >= 6 && spans.len() < 19, "{spans:?}");
        let mut index = SpanIndex::default();
        for span in spans {
            index.insert(span);
        }
        let mut got = Vec::new();
        for mut logged in logs.samples {
            let ms = logged.sample.duration.as_millis();
            let outcome = index.refine(&mut logged.sample, logged.span);
            got.push((
                logged.sample.key.metric,
                ms,
                outcome,
                logged.sample.duration.as_micros(),
            ));
        }
        let refined =
            |metric: &str, ms: u128, us: u128| (metric.to_owned(), ms, Refinement::Refined, us);
        let kept =
            |metric: &str, ms: u128| (metric.to_owned(), ms, Refinement::NotMapped, ms * 1000);
        assert_eq!(
            got,
            vec![
                refined("thread_start_create_thread", 47, 47_805),
                refined("startup_prewarm_create_turn_context", 4, 4_645),
                kept("thread_start_total", 69),
                kept("startup_prewarm_build_tools", 54),
                refined("websocket_connect", 51, 51_911),
                refined("startup_prewarm_build_prompt", 0, 5),
                kept("startup_prewarm_websocket_warmup", 0),
                refined("startup_prewarm_total", 61, 61_664),
                refined("startup_prewarm_resolve", 0, 49),
                kept("turn_ttft", 162),
            ]
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(matches!(
            decode_logs(b"{\"resourceLogs\": 5}", Encoding::Json),
            Err(OtlpError::Json { signal: "logs", .. })
        ));
        assert!(matches!(
            decode_logs(b"\xff\xff\xff", Encoding::Protobuf),
            Err(OtlpError::Protobuf { signal: "logs", .. })
        ));
        assert!(matches!(
            decode_spans(b"{\"resourceSpans\": 5}", Encoding::Json),
            Err(OtlpError::Json {
                signal: "traces",
                ..
            })
        ));
    }
}
