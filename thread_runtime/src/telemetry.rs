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

// The names and keys are the contract every reader shares (`codex_telemetry`).
pub use codex_telemetry::*;

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
