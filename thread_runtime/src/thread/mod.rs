//! Threads: starting one (the `thread/start` path with its startup prewarm), and the session
//! task that runs its turns. The API follows codex's `CodexThread`: `submit(op)`,
//! `next_event()`, a telemetry handle, and `shutdown_and_wait()`.
//!
//! The prewarm runs in the background from thread start. The first turn resolves it: waits up
//! to the connect timeout for it (`timed_out` past that), takes its warm socket (`ready`),
//! reconnects or falls back to HTTP when it failed (`failed`), or gives up when the turn is
//! interrupted while waiting (`cancelled`). In HTTP mode nothing is scheduled (`not_scheduled`).
//!
//! The prewarm is in [`prewarm`], the session actor in [`session`].

mod prewarm;
mod session;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::config::{RuntimeConfig, Transport};
use crate::context::{TurnContext, UnknownModel};
use crate::prompt;
use crate::telemetry::{PhaseStatus, SessionTelemetry, StartupPhase, TelemetrySink};
use crate::tools::ToolError;
use crate::transport::TransportError;
use prewarm::run_prewarm;
use session::Session;

/// What a client asks of a thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Run a turn with this user message.
    UserTurn { text: String },
    /// Abort the running turn (no effect when idle).
    Interrupt,
    /// End the session after the running turn is aborted.
    Shutdown,
}

/// How a turn reached the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnTransport {
    /// On the prewarmed socket, chained to the warmup with `previous_response_id`.
    WarmWebsocket,
    /// On a websocket connected by this or an earlier turn.
    Websocket,
    /// HTTP SSE (the transport, or the fallback after a refused upgrade).
    Http,
}

/// What a thread reports.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    TurnStarted,
    /// A piece of the answer (`response.output_text.delta`).
    AgentMessageDelta(String),
    TurnComplete {
        text: String,
        transport: TurnTransport,
    },
    /// The turn was interrupted.
    TurnAborted,
    /// The turn failed; the session goes on.
    Error(String),
    ShutdownComplete,
}

/// Errors from the runtime's API.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("cannot write thread state under {path}: {source}")]
    State {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    UnknownModel(#[from] UnknownModel),
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(reqwest::Error),
    #[error("the thread's session has ended")]
    SessionClosed,
    #[error("the thread's session task failed: {0}")]
    SessionPanicked(String),
}

/// Why the prewarm failed.
#[derive(Debug, thiserror::Error)]
pub enum PrewarmError {
    #[error(transparent)]
    Context(#[from] UnknownModel),
    #[error(transparent)]
    Tools(#[from] ToolError),
    #[error(transparent)]
    Transport(#[from] TransportError),
}

struct Shared {
    config: RuntimeConfig,
    http: reqwest::Client,
    telemetry: TelemetrySink,
    instructions: Arc<str>,
}

/// Starts threads; cheap to clone.
#[derive(Clone)]
pub struct ThreadRuntime {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for ThreadRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadRuntime")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl ThreadRuntime {
    /// Checks the configuration (model known, state directory writable) and builds the shared
    /// HTTP client (connection pool, TCP_NODELAY).
    pub fn new(config: RuntimeConfig, telemetry: TelemetrySink) -> Result<Self, RuntimeError> {
        std::fs::create_dir_all(&config.state_dir).map_err(|source| RuntimeError::State {
            path: config.state_dir.clone(),
            source,
        })?;
        TurnContext::resolve(&config.model, "")?;
        let http = reqwest::Client::builder()
            .tcp_nodelay(true)
            .no_proxy()
            .build()
            .map_err(RuntimeError::HttpClient)?;
        let instructions = Arc::from(prompt::instructions(config.instructions_bytes));
        Ok(Self {
            shared: Arc::new(Shared {
                config,
                http,
                telemetry,
                instructions,
            }),
        })
    }

    pub fn config(&self) -> &RuntimeConfig {
        &self.shared.config
    }

    /// `thread/start`: creates the session (state on disk), schedules the prewarm when the
    /// transport is the websocket, and starts the session task.
    pub async fn start_thread(&self) -> Result<CodexThread, RuntimeError> {
        let total = Instant::now();
        let shared = &self.shared;
        let id = new_thread_id();
        let telemetry = shared.telemetry.session(&id, &shared.config.model);

        let create = Instant::now();
        let state_path = write_state(&shared.config, &id)?;
        telemetry.startup_phase(
            StartupPhase::ThreadStartCreateThread,
            Some(PhaseStatus::Ready),
            create.elapsed(),
        );

        let prewarm = match shared.config.transport {
            Transport::Websocket { .. } => Some(tokio::spawn(run_prewarm(
                Arc::clone(shared),
                telemetry.clone(),
                id.clone(),
            ))),
            Transport::Http => None,
        };
        let (ops_tx, ops_rx) = mpsc::unbounded_channel();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let session = Session::new(
            Arc::clone(shared),
            telemetry.clone(),
            id.clone(),
            prewarm,
            ops_rx,
            events_tx,
            state_path,
        );
        let task = tokio::spawn(session.run());
        telemetry.startup_phase(
            StartupPhase::ThreadStartTotal,
            Some(PhaseStatus::Ready),
            total.elapsed(),
        );
        Ok(CodexThread {
            id,
            ops: ops_tx,
            events: events_rx,
            telemetry,
            task: Some(task),
        })
    }
}

/// A running thread. Dropping it aborts its session (and prewarm) at once.
pub struct CodexThread {
    id: String,
    ops: mpsc::UnboundedSender<Op>,
    events: mpsc::UnboundedReceiver<Event>,
    telemetry: SessionTelemetry,
    task: Option<JoinHandle<()>>,
}

impl CodexThread {
    /// The thread id (`conversation.id` in telemetry).
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn submit(&self, op: Op) -> Result<(), RuntimeError> {
        self.ops.send(op).map_err(|_| RuntimeError::SessionClosed)
    }

    /// The next event; `None` once the session has ended and every event was read.
    pub async fn next_event(&mut self) -> Option<Event> {
        self.events.recv().await
    }

    pub fn telemetry(&self) -> &SessionTelemetry {
        &self.telemetry
    }

    /// Asks the session to end and waits until it has (socket closed, state removed).
    pub async fn shutdown_and_wait(mut self) -> Result<(), RuntimeError> {
        let _ = self.ops.send(Op::Shutdown);
        match self.task.take() {
            Some(task) => task
                .await
                .map_err(|e| RuntimeError::SessionPanicked(e.to_string())),
            None => Ok(()),
        }
    }
}

impl Drop for CodexThread {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn new_thread_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64;
    let hi = splitmix64(nanos ^ u64::from(std::process::id()).rotate_left(32));
    let lo = splitmix64(hi ^ n);
    format!(
        "{:08x}-{:04x}-7{:03x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0xfff,
        0x8000 | (lo >> 48) & 0x3fff,
        lo & 0xffff_ffff_ffff
    )
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn write_state(config: &RuntimeConfig, id: &str) -> Result<PathBuf, RuntimeError> {
    let path = config.state_dir.join(format!("{id}.json"));
    let transport = match config.transport {
        Transport::Websocket { connect_timeout } => {
            format!("websocket(connect_timeout={connect_timeout:?})")
        }
        Transport::Http => "http".to_owned(),
    };
    let snapshot = serde_json::json!({
        "thread_id": id,
        "created_unix_ms": SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64,
        "model": config.model,
        "base_url": config.base_url,
        "transport": transport,
        "tool_servers": config.tool_servers,
        "instructions_bytes": config.instructions_bytes,
    });
    // A small synchronous write, as codex's own state init does; a thread pool hop would cost more.
    std::fs::write(&path, snapshot.to_string()).map_err(|source| RuntimeError::State {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_ids_are_unique_and_uuid_shaped() {
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| new_thread_id()).collect();
        assert_eq!(ids.len(), 1000);
        let id = ids.iter().next().unwrap();
        assert_eq!(id.len(), 36);
        assert_eq!(id.as_bytes()[14], b'7');
    }
}
