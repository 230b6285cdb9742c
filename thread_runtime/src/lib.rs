//! The reference thread runtime phasebench measures: a small LLM-agent runtime whose startup
//! path reproduces codex's (thread start, background startup prewarm, first turn resolving the
//! prewarm, time to first token) with real work at every step (state on disk, tool discovery
//! over HTTP and schema building, prompt assembly, websocket warmup), and that reports it with
//! codex's OpenTelemetry event names and attribute keys.
//!
//! It is the embedded default target of the harness and the baseline against which harness
//! overhead is calibrated: the mock backend injects known delays and the phases must move by
//! exactly that much.
#![forbid(unsafe_code)]
#![warn(unreachable_pub)]

pub mod config;
pub mod context;
pub mod mcp;
pub mod prompt;
pub mod sse;
pub mod telemetry;
mod thread;
pub mod tools;
pub mod transport;

pub use config::{RuntimeConfig, Transport};
pub use telemetry::{PhaseStatus, SessionTelemetry, StartupPhase, TelemetrySink};
pub use thread::{
    CodexThread, Event, Op, PrewarmError, RuntimeError, ThreadRuntime, TurnTransport,
};
