//! The telemetry contract: codex's OpenTelemetry event names, attribute keys, histogram names
//! and startup phases, as the real codex CLI emits them. The reference runtime emits by it and
//! phasebench's decoders read by it, so a name changes in one place for writer and reader.
//! (Codex writes `duration_ms` as a string of whole milliseconds; the reference runtime also
//! writes `duration_us`, integer microseconds.)
#![warn(unreachable_pub)]

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
