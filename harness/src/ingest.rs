//! `phasebench ingest`: per-phase and TTFT distributions from OTLP logs already on disk, for
//! engineers who collect production telemetry. Reads single OTLP/JSON bodies and the
//! OpenTelemetry Collector file exporter's format (one JSON export request per line; lines
//! holding traces or metrics are skipped). A malformed line is counted and reported with its
//! number, never fatal.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::otlp::{self, DecodedLogs, Encoding};
use crate::recorder::Recorder;
use crate::report::{self, MetricRow};

/// How many malformed lines are quoted per file.
const MALFORMED_EXAMPLES: usize = 5;

/// Version of the ingest JSON.
pub const INGEST_SCHEMA_VERSION: u32 = 1;

/// What was read from one file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SourceInfo {
    pub path: String,
    /// `otlp-json` (one body) or `collector-file` (one body per line).
    pub format: String,
    /// Bodies with log records that were decoded.
    pub bodies: u64,
    /// Lines holding other signals (traces, metrics).
    pub skipped_lines: u64,
    pub malformed_lines: u64,
    /// The first few malformed lines: "line N: why".
    pub malformed_examples: Vec<String>,
}

/// The ingest result (`--json`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IngestSummary {
    pub schema_version: u32,
    pub sources: Vec<SourceInfo>,
    /// Distinct `conversation.id`s seen.
    pub threads: usize,
    pub log_records: u64,
    pub malformed_events: u64,
    pub unattributed_events: u64,
    pub metrics: Vec<MetricRow>,
}

/// Why a file could not be ingested at all.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {path}: {source}")]
pub struct IngestError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

fn read_source(path: &Path, text: &[u8], decoded: &mut DecodedLogs) -> SourceInfo {
    let mut info = SourceInfo {
        path: path.display().to_string(),
        format: "otlp-json".into(),
        bodies: 0,
        skipped_lines: 0,
        malformed_lines: 0,
        malformed_examples: Vec::new(),
    };
    // A whole-file body first; else one body per line.
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(text) {
        if value.get("resourceLogs").is_some() {
            match otlp::decode_logs(text, Encoding::Json) {
                Ok(d) => {
                    decoded.absorb(d);
                    info.bodies = 1;
                }
                Err(e) => {
                    info.malformed_lines = 1;
                    info.malformed_examples.push(format!("whole file: {e}"));
                }
            }
        } else {
            info.skipped_lines = 1;
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
            Ok(v) if v.get("resourceLogs").is_none() => info.skipped_lines += 1,
            Ok(_) => match otlp::decode_logs(line, Encoding::Json) {
                Ok(d) => {
                    decoded.absorb(d);
                    info.bodies += 1;
                }
                Err(e) => malformed(&mut info, e.to_string()),
            },
        }
    }
    info
}

/// Reads every file and summarizes the samples they hold.
pub fn ingest(paths: &[PathBuf]) -> Result<IngestSummary, IngestError> {
    let mut decoded = DecodedLogs::default();
    let mut sources = Vec::with_capacity(paths.len());
    for path in paths {
        let text = std::fs::read(path).map_err(|source| IngestError {
            path: path.clone(),
            source,
        })?;
        sources.push(read_source(path, &text, &mut decoded));
    }
    let mut recorder = Recorder::default();
    let mut threads = BTreeSet::new();
    for logged in &decoded.samples {
        threads.insert(logged.thread.as_str());
        recorder.record(&logged.sample);
    }
    Ok(IngestSummary {
        schema_version: INGEST_SCHEMA_VERSION,
        sources,
        threads: threads.len(),
        log_records: decoded.records,
        malformed_events: decoded.malformed_events,
        unattributed_events: decoded.unattributed_events,
        metrics: report::metric_rows(&recorder),
    })
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
        assert_eq!(summary.sources[1].skipped_lines, 1);
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
        assert_eq!(ttft.resolution, Some(crate::sample::Resolution::Ms));
        assert!(ingest(&[dir.path().join("missing.json")]).is_err());
    }
}
