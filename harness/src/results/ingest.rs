//! The ingest document (`ingest --json`): what was read from each file, the distributions
//! of the phase samples found, and codex's own aggregated metric histograms. Written by
//! `phasebench ingest`, shown by `report::ingest`.

use serde::{Deserialize, Serialize};

use crate::results::MetricRow;
use crate::telemetry::metrics::AggregatedMetric;

/// Version of the ingest JSON.
pub(crate) const INGEST_SCHEMA_VERSION: u32 = 1;

/// What was read from one file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SourceInfo {
    pub path: String,
    /// `otlp-json` (one body) or `collector-file` (one body per line).
    pub format: String,
    /// Bodies with log records that were decoded.
    pub bodies: u64,
    /// Trace bodies decoded.
    #[serde(default)]
    pub trace_bodies: u64,
    /// Metric bodies decoded.
    #[serde(default)]
    pub metric_bodies: u64,
    /// Lines holding nothing phasebench reads (other JSON).
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
    /// Why, for the first few of them.
    #[serde(default)]
    pub malformed_event_examples: Vec<String>,
    pub unattributed_events: u64,
    /// Phase samples refined to their trace span's duration.
    #[serde(default)]
    pub span_refined_samples: u64,
    /// Phase samples with a span that was missing or disagreed (kept whole milliseconds).
    #[serde(default)]
    pub span_unrefined_samples: u64,
    pub metrics: Vec<MetricRow>,
    /// Codex's own metric histograms (`codex.startup.phase.duration_ms` and the TTFT and
    /// connect ones), aggregated: counts, sums and extremes, no percentiles.
    #[serde(default)]
    pub metric_histograms: Vec<AggregatedMetric>,
    /// Samples of (metric, status) series beyond the first 256 distinct ones, not kept.
    #[serde(default)]
    pub dropped_samples: u64,
}
