//! What a result file says about the target that ran: its identity and the health of the
//! telemetry it sent. Shared by `target` (which reports them) and `results` (which stores
//! them), so the file format does not depend on the targets.

/// Identity of a target, for result files.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct TargetInfo {
    pub name: String,
    pub version: String,
}

/// Telemetry that arrived but could not be used, reported with the run.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
pub struct TelemetryHealth {
    /// Metric events whose attributes could not be decoded.
    pub malformed_events: u64,
    /// Metric events without a `conversation.id`.
    pub unattributed_events: u64,
    /// Samples that arrived after their iteration ended.
    pub late_samples: u64,
    /// Connections an external target tried to open beyond loopback (refused by the trap).
    #[serde(default)]
    pub egress_attempts: u64,
    /// Whole-millisecond phase samples refined to their trace span's duration.
    #[serde(default)]
    pub span_refined_samples: u64,
    /// Phase samples that have a span but kept whole milliseconds (span missing or disagreeing).
    #[serde(default)]
    pub span_unrefined_samples: u64,
}

impl TelemetryHealth {
    /// Adds another round's counts.
    pub fn add(&mut self, other: &TelemetryHealth) {
        self.malformed_events += other.malformed_events;
        self.unattributed_events += other.unattributed_events;
        self.late_samples += other.late_samples;
        self.egress_attempts += other.egress_attempts;
        self.span_refined_samples += other.span_refined_samples;
        self.span_unrefined_samples += other.span_unrefined_samples;
    }
}
