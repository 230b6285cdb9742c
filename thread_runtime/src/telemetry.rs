//! The runtime's telemetry: OpenTelemetry log events and histograms with codex's names and
//! attribute keys, so the same pipeline reads the reference runtime and the real codex CLI.
//!
//! Codex writes `duration_ms` as a string of whole milliseconds. The reference runtime writes
//! the same, plus `duration_us` (integer microseconds) so sub-millisecond phases are not all 0.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use opentelemetry::KeyValue;
use opentelemetry::logs::{LogRecord, Logger, LoggerProvider, Severity};
use opentelemetry::metrics::{Histogram, Meter};
use opentelemetry_sdk::logs::{SdkLogger, SdkLoggerProvider};

/// Log event names (attribute `event.name`).
pub const STARTUP_PHASE_EVENT: &str = "codex.startup_phase";
pub const TURN_TTFT_EVENT: &str = "codex.turn_ttft";
pub const WEBSOCKET_CONNECT_EVENT: &str = "codex.websocket_connect";

/// Attribute keys.
pub const ATTR_EVENT_NAME: &str = "event.name";
pub const ATTR_CONVERSATION_ID: &str = "conversation.id";
pub const ATTR_PHASE: &str = "startup.phase";
pub const ATTR_STATUS: &str = "startup.status";
pub const ATTR_DURATION_MS: &str = "duration_ms";
/// Our finer-resolution duration (integer microseconds); codex does not send it.
pub const ATTR_DURATION_US: &str = "duration_us";

/// Histogram names.
pub const PHASE_HISTOGRAM: &str = "codex.startup.phase.duration_ms";
pub const TTFT_HISTOGRAM: &str = "codex.turn.ttft.duration_ms";
/// Codex's websocket connect histogram (the reference runtime does not record it).
pub const CONNECT_HISTOGRAM: &str = "codex.websocket.connect.duration_ms";
/// Attribute keys on the phase histogram's points (not those of the log events).
pub const HISTOGRAM_ATTR_PHASE: &str = "phase";
pub const HISTOGRAM_ATTR_STATUS: &str = "status";

/// The instrumentation scope name codex uses for its log events.
pub const SCOPE: &str = "codex_otel.log_only";

/// A startup phase, named as codex names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StartupPhase {
    ThreadStartCreateThread,
    ThreadStartTotal,
    PrewarmCreateTurnContext,
    PrewarmBuildTools,
    PrewarmBuildPrompt,
    PrewarmWebsocketWarmup,
    PrewarmTotal,
    PrewarmResolve,
}

impl StartupPhase {
    pub const ALL: [StartupPhase; 8] = [
        StartupPhase::ThreadStartCreateThread,
        StartupPhase::ThreadStartTotal,
        StartupPhase::PrewarmCreateTurnContext,
        StartupPhase::PrewarmBuildTools,
        StartupPhase::PrewarmBuildPrompt,
        StartupPhase::PrewarmWebsocketWarmup,
        StartupPhase::PrewarmTotal,
        StartupPhase::PrewarmResolve,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            StartupPhase::ThreadStartCreateThread => "thread_start_create_thread",
            StartupPhase::ThreadStartTotal => "thread_start_total",
            StartupPhase::PrewarmCreateTurnContext => "startup_prewarm_create_turn_context",
            StartupPhase::PrewarmBuildTools => "startup_prewarm_build_tools",
            StartupPhase::PrewarmBuildPrompt => "startup_prewarm_build_prompt",
            StartupPhase::PrewarmWebsocketWarmup => "startup_prewarm_websocket_warmup",
            StartupPhase::PrewarmTotal => "startup_prewarm_total",
            StartupPhase::PrewarmResolve => "startup_prewarm_resolve",
        }
    }
}

/// The status attached to a phase (`startup.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PhaseStatus {
    Ready,
    Failed,
    TimedOut,
    Cancelled,
    JoinFailed,
    NotScheduled,
}

impl PhaseStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            PhaseStatus::Ready => "ready",
            PhaseStatus::Failed => "failed",
            PhaseStatus::TimedOut => "timed_out",
            PhaseStatus::Cancelled => "cancelled",
            PhaseStatus::JoinFailed => "join_failed",
            PhaseStatus::NotScheduled => "not_scheduled",
        }
    }
}

/// Where telemetry goes: a logger (and optionally histograms) shared by every thread.
#[derive(Clone)]
pub struct TelemetrySink {
    logger: SdkLogger,
    histograms: Option<Arc<Histograms>>,
}

struct Histograms {
    phase: Histogram<f64>,
    ttft: Histogram<f64>,
}

impl std::fmt::Debug for TelemetrySink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelemetrySink")
            .field("histograms", &self.histograms.is_some())
            .finish_non_exhaustive()
    }
}

impl TelemetrySink {
    /// Logs through `provider`; no histograms.
    pub fn new(provider: &SdkLoggerProvider) -> Self {
        Self {
            logger: provider.logger(SCOPE),
            histograms: None,
        }
    }

    /// Also records codex's histograms on `meter`.
    pub fn with_meter(mut self, meter: &Meter) -> Self {
        self.histograms = Some(Arc::new(Histograms {
            phase: meter.f64_histogram(PHASE_HISTOGRAM).with_unit("ms").build(),
            ttft: meter.f64_histogram(TTFT_HISTOGRAM).with_unit("ms").build(),
        }));
        self
    }

    /// The telemetry handle of one thread.
    pub fn session(&self, conversation_id: &str, model: &str) -> SessionTelemetry {
        SessionTelemetry {
            sink: self.clone(),
            conversation_id: Arc::from(conversation_id),
            model: Arc::from(model),
        }
    }
}

/// A thread's telemetry handle (codex's `SessionTelemetry`): every event carries its
/// `conversation.id`.
#[derive(Clone, Debug)]
pub struct SessionTelemetry {
    sink: TelemetrySink,
    conversation_id: Arc<str>,
    model: Arc<str>,
}

impl SessionTelemetry {
    pub fn conversation_id(&self) -> &str {
        &self.conversation_id
    }

    /// Emits `codex.startup_phase`.
    pub fn startup_phase(
        &self,
        phase: StartupPhase,
        status: Option<PhaseStatus>,
        duration: Duration,
    ) {
        self.emit(STARTUP_PHASE_EVENT, duration, |record| {
            record.add_attribute(ATTR_PHASE, phase.as_str());
            if let Some(status) = status {
                record.add_attribute(ATTR_STATUS, status.as_str());
            }
        });
        if let Some(h) = &self.sink.histograms {
            let mut attrs = vec![KeyValue::new(HISTOGRAM_ATTR_PHASE, phase.as_str())];
            if let Some(status) = status {
                attrs.push(KeyValue::new(HISTOGRAM_ATTR_STATUS, status.as_str()));
            }
            h.phase.record(millis_f64(duration), &attrs);
        }
    }

    /// Emits `codex.turn_ttft`.
    pub fn turn_ttft(&self, duration: Duration) {
        self.emit(TURN_TTFT_EVENT, duration, |_| {});
        if let Some(h) = &self.sink.histograms {
            h.ttft.record(millis_f64(duration), &[]);
        }
    }

    /// Emits `codex.websocket_connect` (connect + upgrade), with `success`.
    pub fn websocket_connect(&self, duration: Duration, success: bool) {
        self.emit(WEBSOCKET_CONNECT_EVENT, duration, |record| {
            record.add_attribute("success", if success { "true" } else { "false" });
        });
    }

    fn emit(
        &self,
        event: &'static str,
        duration: Duration,
        extra: impl FnOnce(&mut opentelemetry_sdk::logs::SdkLogRecord),
    ) {
        let logger = &self.sink.logger;
        let mut record = logger.create_log_record();
        record.set_event_name(event);
        record.set_observed_timestamp(SystemTime::now());
        record.set_severity_number(Severity::Info);
        record.set_severity_text("INFO");
        record.add_attribute(ATTR_EVENT_NAME, event);
        extra(&mut record);
        record.add_attribute(ATTR_DURATION_MS, duration.as_millis().to_string());
        record.add_attribute(
            ATTR_DURATION_US,
            i64::try_from(duration.as_micros()).unwrap_or(i64::MAX),
        );
        record.add_attribute(ATTR_CONVERSATION_ID, self.conversation_id.to_string());
        record.add_attribute("model", self.model.to_string());
        record.add_attribute("originator", "phasebench_thread_runtime");
        logger.emit(record);
    }
}

fn millis_f64(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}
