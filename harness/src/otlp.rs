//! OTLP log bodies → samples: the same pipeline as the in-memory capture, for telemetry that
//! arrives over the wire (an external process's OTLP/HTTP exporter) or sits on disk (the
//! OpenTelemetry Collector's file exporter). JSON and protobuf bodies, gzip accepted.

use std::io::Read;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as ProtoValue;
use prost::Message;
use thread_runtime::telemetry::ATTR_CONVERSATION_ID;

use crate::sample::{AttrValue, Sample, decode};

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
    #[error("not an OTLP logs request in JSON: {0}")]
    Json(String),
    #[error("not an OTLP logs request in protobuf: {0}")]
    Protobuf(String),
}

/// The samples one or more bodies held.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DecodedLogs {
    /// (conversation id, sample), in body order.
    pub samples: Vec<(String, Sample)>,
    /// Log records seen (metric events or not).
    pub records: u64,
    /// Metric events whose attributes could not be decoded.
    pub malformed_events: u64,
    /// Metric events without a `conversation.id`.
    pub unattributed_events: u64,
}

impl DecodedLogs {
    pub fn absorb(&mut self, other: DecodedLogs) {
        self.samples.extend(other.samples);
        self.records += other.records;
        self.malformed_events += other.malformed_events;
        self.unattributed_events += other.unattributed_events;
    }
}

/// Inflates a gzip body, refusing to grow past `limit` bytes (a zip bomb stops there).
pub fn gunzip(body: &[u8], limit: usize) -> Result<Vec<u8>, OtlpError> {
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

fn attr_value(kv: &KeyValue) -> Option<AttrValue<'_>> {
    match kv.value.as_ref()?.value.as_ref()? {
        ProtoValue::StringValue(s) => Some(AttrValue::Str(s)),
        ProtoValue::IntValue(i) => Some(AttrValue::Int(*i)),
        ProtoValue::DoubleValue(d) => Some(AttrValue::Double(*d)),
        _ => None,
    }
}

/// Decodes one `ExportLogsServiceRequest` body.
pub fn decode_logs(body: &[u8], encoding: Encoding) -> Result<DecodedLogs, OtlpError> {
    let request = match encoding {
        Encoding::Json => serde_json::from_slice::<ExportLogsServiceRequest>(body)
            .map_err(|e| OtlpError::Json(e.to_string()))?,
        Encoding::Protobuf => ExportLogsServiceRequest::decode(body)
            .map_err(|e| OtlpError::Protobuf(e.to_string()))?,
    };
    Ok(samples_of(&request))
}

/// The samples of a decoded request.
pub fn samples_of(request: &ExportLogsServiceRequest) -> DecodedLogs {
    let mut out = DecodedLogs::default();
    for resource in &request.resource_logs {
        for scope in &resource.scope_logs {
            for record in &scope.log_records {
                out.records += 1;
                let get = |key: &str| {
                    record
                        .attributes
                        .iter()
                        .find(|kv| kv.key == key)
                        .and_then(attr_value)
                };
                match decode(get) {
                    Ok(Some(sample)) => match get(ATTR_CONVERSATION_ID) {
                        Some(AttrValue::Str(id)) => out.samples.push((id.to_owned(), sample)),
                        _ => out.unattributed_events += 1,
                    },
                    Ok(None) => {}
                    Err(_) => out.malformed_events += 1,
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
    use crate::sample::Resolution;

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
            .map(|(_, s)| {
                (
                    s.metric.as_str(),
                    s.status.as_deref(),
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
                .all(|(id, s)| id == "01a20ae0-451f-7be3-8122-be4b48a18ace"
                    && s.resolution == Resolution::Ms)
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

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(matches!(
            decode_logs(b"{\"resourceLogs\": 5}", Encoding::Json),
            Err(OtlpError::Json(_))
        ));
        assert!(matches!(
            decode_logs(b"\xff\xff\xff", Encoding::Protobuf),
            Err(OtlpError::Protobuf(_))
        ));
    }
}
