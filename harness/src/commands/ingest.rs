//! `phasebench ingest`: per-phase and TTFT distributions from OTLP logs already on disk, for
//! engineers who collect production telemetry. Reads single OTLP/JSON bodies and the
//! OpenTelemetry Collector file exporter's format (one JSON export request per line). Log
//! bodies give the distributions; trace bodies, when present, refine phases below a
//! millisecond (see [`crate::telemetry::spans`]); metric bodies give codex's own aggregated histograms
//! (counts and means) as a cross-check, or as all there is when only metrics were kept.
//! A malformed line is counted and reported with its number, never fatal.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::measure::recorder::Recorder;
use crate::results::ingest::{INGEST_SCHEMA_VERSION, IngestSummary, SourceInfo};
use crate::results::summarize::metric_rows;
use crate::sys::BoundedReadError;
use crate::telemetry::metrics::{self, AggregatedMetric};
use crate::telemetry::otlp::{self, DecodedLogs, Encoding};
use crate::telemetry::spans::{RefinementCounts, SpanIndex};

/// How many malformed lines are quoted per file.
const MALFORMED_EXAMPLES: usize = 5;

/// Everything read so far, across files.
#[derive(Default)]
struct Gathered {
    logs: DecodedLogs,
    spans: SpanIndex,
    aggregates: Vec<AggregatedMetric>,
}

/// Which signal a JSON body holds.
fn signal_of(value: &serde_json::Value) -> Option<&'static str> {
    ["resourceLogs", "resourceSpans", "resourceMetrics"]
        .into_iter()
        .find(|key| value.get(key).is_some())
}

/// Decodes one body into `gathered`, counting it in `info`.
fn read_body(
    signal: &str,
    body: &[u8],
    gathered: &mut Gathered,
    info: &mut SourceInfo,
) -> Result<(), otlp::OtlpError> {
    match signal {
        "resourceLogs" => {
            gathered
                .logs
                .absorb(otlp::decode_logs(body, Encoding::Json)?);
            info.bodies += 1;
        }
        "resourceSpans" => {
            let (spans, _) = otlp::decode_spans(body, Encoding::Json)?;
            for span in spans {
                gathered.spans.insert(span);
            }
            info.trace_bodies += 1;
        }
        _ => {
            gathered
                .aggregates
                .extend(metrics::decode_phase_metrics(body, Encoding::Json)?);
            info.metric_bodies += 1;
        }
    }
    Ok(())
}

/// Largest file read.
const MAX_FILE_BYTES: u64 = 512 << 20;
/// Distinct (metric, status) series kept: each costs a histogram (~190 KB), so the series a
/// file may name bound what it costs (5,000 names would be a gigabyte). Samples of further series are counted, dropped.
const MAX_SERIES: usize = 256;

/// Why a file could not be ingested at all.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is larger than {MAX_FILE_BYTES} bytes; split it")]
    TooLarge { path: PathBuf },
    #[error(
        "{path}: no usable OTLP/JSON export ({why}); phasebench reads OTLP JSON bodies and the \
         Collector file exporter's JSON lines, uncompressed"
    )]
    Nothing { path: PathBuf, why: String },
    #[error(
        "no usable sample: all {malformed} phase events were malformed (a duration that is not \
         a number, negative, or beyond one hour); nothing to summarize"
    )]
    AllMalformed { malformed: u64 },
}

fn read_source(path: &Path, text: &[u8], gathered: &mut Gathered) -> SourceInfo {
    let mut info = SourceInfo {
        path: path.display().to_string(),
        format: "otlp-json".into(),
        bodies: 0,
        trace_bodies: 0,
        metric_bodies: 0,
        skipped_lines: 0,
        malformed_lines: 0,
        malformed_examples: Vec::new(),
    };
    // A whole-file body first; else one body per line.
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(text) {
        match signal_of(&value) {
            Some(signal) => {
                if let Err(e) = read_body(signal, text, gathered, &mut info) {
                    info.malformed_lines = 1;
                    info.malformed_examples.push(format!("whole file: {e}"));
                }
            }
            None => info.skipped_lines = 1,
        }
        return info;
    }
    info.format = "collector-file".into();
    for (index, line) in text.split(|b| *b == b'\n').enumerate() {
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        let malformed = |info: &mut SourceInfo, why: String| {
            info.malformed_lines += 1;
            if info.malformed_examples.len() < MALFORMED_EXAMPLES {
                info.malformed_examples
                    .push(format!("line {}: {why}", index + 1));
            }
        };
        match serde_json::from_slice::<serde_json::Value>(line) {
            Err(e) => malformed(&mut info, format!("not JSON: {e}")),
            Ok(v) => match signal_of(&v) {
                None => info.skipped_lines += 1,
                Some(signal) => {
                    if let Err(e) = read_body(signal, line, gathered, &mut info) {
                        malformed(&mut info, e.to_string());
                    }
                }
            },
        }
    }
    info
}

impl IngestError {
    /// A file that cannot be read or holds nothing readable is the user's input, not the
    /// harness failing.
    pub fn is_invalid_input(&self) -> bool {
        true
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, IngestError> {
    crate::sys::read_bounded(path, MAX_FILE_BYTES).map_err(|e| match e {
        BoundedReadError::Io(source) => IngestError::Read {
            path: path.to_owned(),
            source,
        },
        BoundedReadError::TooLarge => IngestError::TooLarge {
            path: path.to_owned(),
        },
        e @ BoundedReadError::NotAFile(_) => IngestError::Read {
            path: path.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()),
        },
    })
}

/// Why a file gave nothing, from its first bytes.
fn nothing_in(bytes: &[u8]) -> &'static str {
    match bytes {
        [] => "the file is empty",
        [0x1f, 0x8b, ..] => "it is gzip-compressed",
        b if b.trim_ascii().first().is_some_and(|c| *c == b'{') => {
            "it holds JSON, but no resourceLogs, resourceSpans or resourceMetrics"
        }
        _ => "it is not JSON (protobuf?)",
    }
}

/// Reads every file and summarizes the samples they hold.
pub(crate) fn ingest(paths: &[PathBuf]) -> Result<IngestSummary, IngestError> {
    let mut gathered = Gathered::default();
    let mut sources = Vec::with_capacity(paths.len());
    for path in paths {
        let text = read_file(path)?;
        let info = read_source(path, &text, &mut gathered);
        if info.bodies + info.trace_bodies + info.metric_bodies == 0 {
            // JSON that was there but could not be decoded says why, not what it lacked.
            let looks_like_json = text.trim_ascii().first() == Some(&b'{');
            let why = match info.malformed_examples.first() {
                Some(example) if looks_like_json => format!(
                    "{} malformed: {}",
                    if info.malformed_lines == 1 {
                        "its only body is".to_owned()
                    } else {
                        format!("all {} bodies are", info.malformed_lines)
                    },
                    crate::report::printable(example)
                ),
                _ => nothing_in(&text).to_owned(),
            };
            return Err(IngestError::Nothing {
                path: path.clone(),
                why,
            });
        }
        sources.push(info);
    }
    let mut recorder = Recorder::default();
    let mut threads = BTreeSet::new();
    let mut refinements = RefinementCounts::default();
    let mut dropped_samples = 0;
    for logged in &mut gathered.logs.samples {
        if recorder.series.len() >= MAX_SERIES && !recorder.series.contains_key(&logged.sample.key)
        {
            dropped_samples += 1;
            continue;
        }
        threads.insert(logged.thread.as_str());
        refinements.count(gathered.spans.refine(&mut logged.sample, logged.span));
        recorder.record(&logged.sample);
    }
    let aggregates = metrics::merge_aggregates(gathered.aggregates);
    // Events were there, and every one was refused: an empty table would read as "no phases".
    if recorder.series.is_empty() && aggregates.is_empty() && gathered.logs.malformed_events > 0 {
        return Err(IngestError::AllMalformed {
            malformed: gathered.logs.malformed_events,
        });
    }
    Ok(IngestSummary {
        schema_version: INGEST_SCHEMA_VERSION,
        sources,
        threads: threads.len(),
        log_records: gathered.logs.records,
        malformed_events: gathered.logs.malformed_events,
        malformed_event_examples: gathered.logs.malformed_examples.clone(),
        unattributed_events: gathered.logs.unattributed_events,
        span_refined_samples: refinements.refined,
        // Without trace files there was nothing to refine with: nothing was "kept whole".
        span_unrefined_samples: if gathered.spans.is_empty() {
            0
        } else {
            refinements.missing + refinements.disagreeing
        },
        metrics: metric_rows(&recorder),
        metric_histograms: aggregates,
        dropped_samples,
    })
}

/// `phasebench ingest`: distributions from OTLP logs on disk, written where asked.
pub fn execute(
    files: &[PathBuf],
    json: Option<&crate::sys::output::Destination>,
    csv: Option<&crate::sys::output::Destination>,
) -> Result<IngestSummary, crate::error::Error> {
    crate::sys::output::check_all(json.into_iter().chain(csv))
        .map_err(crate::error::Error::OutputPath)?;
    let summary = ingest(files)?;
    if let Some(out) = json {
        out.write(&crate::results::json_bytes(&summary))?;
    }
    if let Some(out) = csv {
        let table = crate::report::MetricTable::new(&summary.metrics, None, 0.95);
        out.write(&crate::report::render(
            crate::report::Format::Csv,
            crate::report::Document::Metrics(&table),
        ))?;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> Vec<u8> {
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/codex-0.169.0/otlp_v1_logs.json"
        ))
        .unwrap()
    }

    #[test]
    fn a_file_of_only_malformed_durations_is_refused_not_an_empty_table() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge.json");
        let body = serde_json::json!({"resourceLogs": [{"scopeLogs": [{"logRecords": [
            {"attributes": [
                {"key": "event.name", "value": {"stringValue": "codex.turn_ttft"}},
                {"key": "conversation.id", "value": {"stringValue": "t-1"}},
                {"key": "duration_ms", "value": {"doubleValue": 1e308}}
            ]}
        ]}]}]});
        std::fs::write(&path, body.to_string()).unwrap();
        let err = ingest(&[path]).unwrap_err();
        assert!(
            matches!(err, IngestError::AllMalformed { malformed: 1 }),
            "{err}"
        );
    }

    #[test]
    fn single_bodies_and_collector_files() {
        let dir = tempfile::tempdir().unwrap();
        let single = dir.path().join("body.json");
        std::fs::write(&single, fixture()).unwrap();
        // A collector file: the body compacted to one line, twice, with a traces line, a blank
        // line and a broken line between.
        let body: serde_json::Value = serde_json::from_slice(&fixture()).unwrap();
        let line = body.to_string();
        let collector = dir.path().join("logs.jsonl");
        std::fs::write(
            &collector,
            format!("{line}\n{{\"resourceSpans\":[]}}\n\n{{broken\n{line}\n"),
        )
        .unwrap();
        let summary = ingest(&[single.clone(), collector.clone()]).unwrap();
        assert_eq!(summary.sources[0].format, "otlp-json");
        assert_eq!(summary.sources[1].format, "collector-file");
        assert_eq!(summary.sources[1].bodies, 2);
        assert_eq!(summary.sources[1].trace_bodies, 1);
        assert_eq!(summary.sources[1].skipped_lines, 0);
        assert_eq!(summary.sources[1].malformed_lines, 1);
        assert!(
            summary.sources[1].malformed_examples[0].starts_with("line 4:"),
            "{:?}",
            summary.sources[1]
        );
        assert_eq!(summary.threads, 1);
        let ttft = summary
            .metrics
            .iter()
            .find(|m| m.metric == "turn_ttft")
            .unwrap();
        assert_eq!(ttft.count, 3);
        assert_eq!(ttft.p50_ms, Some(66.0));
        assert_eq!(ttft.resolution, Some(crate::model::sample::Resolution::Ms));
        assert!(ingest(&[dir.path().join("missing.json")]).is_err());
    }

    fn data(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/codex-0.169.0")
            .join(name)
    }

    #[test]
    fn traces_refine_and_metrics_aggregate_across_files() {
        let summary = ingest(&[
            data("captured-exec-logs.json"),
            data("captured-exec-traces.json"),
            data("otlp_v1_metrics.json"),
        ])
        .unwrap();
        assert_eq!(summary.span_refined_samples, 6);
        assert_eq!(summary.span_unrefined_samples, 0);
        let row = |m: &str| summary.metrics.iter().find(|r| r.metric == m).unwrap();
        assert_eq!(
            row("startup_prewarm_total").resolution,
            Some(crate::model::sample::Resolution::Us)
        );
        assert_eq!(
            row("thread_start_total").resolution,
            Some(crate::model::sample::Resolution::Ms)
        );
        assert_eq!(summary.sources[2].metric_bodies, 1);
        let ttft = summary
            .metric_histograms
            .iter()
            .find(|m| m.metric == "turn_ttft")
            .unwrap();
        assert_eq!((ttft.count, ttft.mean_ms()), (1, Some(66.0)));
        assert_eq!(summary.metric_histograms.len(), 10);
    }

    /// A body that is there but cannot be decoded (a number beyond f64, `"Infinity"` where a
    /// double goes) is named as malformed, not as missing.
    #[test]
    fn an_undecodable_body_is_called_malformed_not_missing() {
        let dir = tempfile::tempdir().unwrap();
        for (name, duration) in [("big.json", "1e400"), ("inf.json", "\"Infinity\"")] {
            let path = dir.path().join(name);
            let body = format!(
                r#"{{"resourceLogs":[{{"scopeLogs":[{{"logRecords":[{{"attributes":[
                {{"key":"event.name","value":{{"stringValue":"codex.turn_ttft"}}}},
                {{"key":"conversation.id","value":{{"stringValue":"t"}}}},
                {{"key":"duration_ms","value":{{"doubleValue":{duration}}}}}]}}]}}]}}]}}"#
            );
            std::fs::write(&path, body).unwrap();
            let message = ingest(&[path]).unwrap_err().to_string();
            assert!(message.contains("malformed"), "{name}: {message}");
            assert!(!message.contains("no resourceLogs"), "{name}: {message}");
        }
    }
}
