//! The thread runtime under test, behind a narrow trait: run one iteration, report its samples.
//! The runner knows nothing else about a target, so statistics and reports are tested against
//! [`fake::FakeTarget`] without timing noise, and new targets (the real codex CLI) slot in.

pub(crate) mod builtin;
pub(crate) mod codex;
#[cfg(test)]
pub(crate) mod fake;
pub(crate) mod mcp;
pub(crate) mod wire;

use std::future::Future;
use std::time::Duration;

use crate::model::metric::Cohort;
use crate::model::sample::OverheadSample;
use crate::model::sample::Sample;
use crate::model::target::{TargetInfo, TelemetryHealth};

/// Why an iteration did not complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IterationFailure {
    /// It ran past the scenario's `iteration_timeout` and was cancelled.
    Deadline(Duration),
    /// The thread could not be started.
    Start(String),
    /// The turn failed (transport error, truncated stream, HTTP error status).
    Turn(String),
    /// The runtime ended the session or broke the protocol.
    Session(String),
    /// The iteration ran, but the runtime's telemetry of it never arrived whole: without its
    /// phases it measured nothing, and it counts against `max_failure_ratio`.
    Telemetry(String),
}

impl IterationFailure {
    /// A stable name for counting.
    pub fn kind(&self) -> &'static str {
        match self {
            IterationFailure::Deadline(_) => "deadline",
            IterationFailure::Start(_) => "thread_start",
            IterationFailure::Turn(_) => "turn",
            IterationFailure::Session(_) => "session",
            IterationFailure::Telemetry(_) => "telemetry",
        }
    }
}

impl std::fmt::Display for IterationFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IterationFailure::Deadline(d) => {
                write!(f, "iteration exceeded its {d:?} deadline and was cancelled")
            }
            IterationFailure::Start(e) => write!(f, "thread start failed: {e}"),
            IterationFailure::Turn(e) => write!(f, "turn failed: {e}"),
            IterationFailure::Session(e) => write!(f, "session failed: {e}"),
            IterationFailure::Telemetry(e) => write!(f, "telemetry lost: {e}"),
        }
    }
}

/// What one iteration produced.
#[derive(Debug, Clone, Default)]
pub struct IterationReport {
    pub samples: Vec<Sample>,
    /// Measured phases next to the delays injected into them (clean iterations only).
    pub overheads: Vec<OverheadSample>,
    pub failure: Option<IterationFailure>,
    /// When the iteration began (wall clock), for timelines.
    pub started_at: Option<std::time::SystemTime>,
    /// Instants worth seeing on the iteration's timeline (e.g. the mock's server-side events).
    pub marks: Vec<Mark>,
}

/// A named instant on an iteration's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    pub name: String,
    pub at: std::time::SystemTime,
}

/// The mock's server-side view of a thread, as instants on its timeline: when each request
/// arrived and when the first delta of a turn went out.
pub(crate) fn server_marks(records: &[mock_backend::RecordedRequest]) -> Vec<Mark> {
    let mut marks = Vec::with_capacity(records.len() * 2);
    for r in records {
        marks.push(Mark {
            name: format!("server: {:?} received", r.exchange),
            at: r.received_wall,
        });
        if let Some(sent) = r.first_delta_sent {
            marks.push(Mark {
                name: format!("server: {:?} first delta sent", r.exchange),
                at: r.received_wall + sent.saturating_duration_since(r.received),
            });
        }
    }
    marks
}

/// A thread runtime the harness can drive.
pub trait Target: Send + Sync + 'static {
    /// Runs iteration `index` (warmup iterations included) to completion. Dropping the future
    /// must cancel the iteration and release what it holds: the runner does so at the deadline.
    fn run_iteration(&self, index: u64) -> impl Future<Output = IterationReport> + Send;

    fn info(&self) -> TargetInfo;

    /// The cohort iteration `index` ran in, for targets that split their metrics by cohort
    /// (the app-server's cold and warm threads). Asked once per failed iteration (warmup
    /// included), also when the iteration was cancelled at its deadline.
    fn cohort_of(&self, _index: u64) -> Option<Cohort> {
        None
    }

    /// Telemetry problems seen so far.
    fn telemetry_health(&self) -> TelemetryHealth {
        TelemetryHealth::default()
    }

    /// Things worth a line in the report that counts cannot say (a few examples each).
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }
}
