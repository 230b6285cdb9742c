//! Threads: starting one (the `thread/start` path with its startup prewarm), and the session
//! task that runs its turns. The API follows codex's `CodexThread`: `submit(op)`,
//! `next_event()`, a telemetry handle, and `shutdown_and_wait()`.
//!
//! The prewarm runs in the background from thread start. The first turn resolves it: waits up
//! to the connect timeout for it (`timed_out` past that), takes its warm socket (`ready`),
//! reconnects or falls back to HTTP when it failed (`failed`), or gives up when the turn is
//! interrupted while waiting (`cancelled`). In HTTP mode nothing is scheduled (`not_scheduled`).
//!
//! Why one long file: the thread is one actor, and its stages (prewarm, resolve, turns,
//! shutdown) share the actor's fields; split across modules they would have to be crate-visible.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::SinkExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use crate::config::{RuntimeConfig, Transport};
use crate::context::{TurnContext, UnknownModel};
use crate::prompt::{self, Prompt};
use crate::telemetry::{PhaseStatus, SessionTelemetry, StartupPhase, TelemetrySink};
use crate::tools::{self, ToolError};
use crate::transport::{self, AnswerStream, ModelSocket, TransportError};

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
        let session = Session {
            shared: Arc::clone(shared),
            telemetry: telemetry.clone(),
            id: id.clone(),
            prewarm,
            prewarm_resolved: false,
            websocket_disabled: false,
            socket: None,
            prompt: None,
            last_response_id: None,
            ops: ops_rx,
            queued: VecDeque::new(),
            events: events_tx,
            state_path,
            shutdown_requested: false,
        };
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

/// The result of a successful prewarm.
struct Prewarmed {
    socket: ModelSocket,
    response_id: String,
    prompt: Prompt,
}

fn connect_timeout(config: &RuntimeConfig) -> Duration {
    match config.transport {
        Transport::Websocket { connect_timeout } => connect_timeout,
        Transport::Http => Duration::ZERO,
    }
}

async fn run_prewarm(
    shared: Arc<Shared>,
    telemetry: SessionTelemetry,
    id: String,
) -> Result<Prewarmed, PrewarmError> {
    let total = Instant::now();
    let result = prewarm_steps(&shared, &telemetry, &id).await;
    let status = if result.is_ok() {
        PhaseStatus::Ready
    } else {
        PhaseStatus::Failed
    };
    telemetry.startup_phase(StartupPhase::PrewarmTotal, Some(status), total.elapsed());
    result
}

async fn prewarm_steps(
    shared: &Shared,
    telemetry: &SessionTelemetry,
    id: &str,
) -> Result<Prewarmed, PrewarmError> {
    let config = &shared.config;
    let started = Instant::now();
    let context = TurnContext::resolve(&config.model, &cwd_of(config))?;
    telemetry.startup_phase(
        StartupPhase::PrewarmCreateTurnContext,
        None,
        started.elapsed(),
    );

    // Tool building and the websocket handshake overlap.
    let build_tools = async {
        let started = Instant::now();
        let tools = tools::discover_and_build(
            &shared.http,
            &config.tool_servers,
            &config.mcp_servers,
            id,
            config.http_timeout,
        )
        .await;
        if tools.is_ok() {
            telemetry.startup_phase(StartupPhase::PrewarmBuildTools, None, started.elapsed());
        }
        tools
    };
    let connect = async {
        let started = Instant::now();
        let socket = transport::connect_websocket(config, id, connect_timeout(config)).await;
        telemetry.websocket_connect(started.elapsed(), socket.is_ok());
        socket
    };
    let (tools, socket) = tokio::join!(build_tools, connect);
    let (tools, mut socket) = (tools?, socket?);

    let started = Instant::now();
    let prompt = prompt::build(
        &context.model.slug,
        id,
        &shared.instructions,
        &tools,
        &context.cwd,
    );
    telemetry.startup_phase(StartupPhase::PrewarmBuildPrompt, None, started.elapsed());

    let started = Instant::now();
    let response_id =
        transport::warmup(&mut socket, prompt::warmup_request(&context.model.slug, id)).await?;
    telemetry.startup_phase(
        StartupPhase::PrewarmWebsocketWarmup,
        None,
        started.elapsed(),
    );
    Ok(Prewarmed {
        socket,
        response_id,
        prompt,
    })
}

fn cwd_of(config: &RuntimeConfig) -> String {
    config.state_dir.display().to_string()
}

struct Session {
    shared: Arc<Shared>,
    telemetry: SessionTelemetry,
    id: String,
    prewarm: Option<JoinHandle<Result<Prewarmed, PrewarmError>>>,
    prewarm_resolved: bool,
    /// Set after a websocket failure in a turn: later turns go straight to HTTP.
    websocket_disabled: bool,
    socket: Option<ModelSocket>,
    prompt: Option<Prompt>,
    last_response_id: Option<String>,
    ops: mpsc::UnboundedReceiver<Op>,
    /// Turns submitted while another ran.
    queued: VecDeque<String>,
    events: mpsc::UnboundedSender<Event>,
    state_path: PathBuf,
    shutdown_requested: bool,
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(prewarm) = self.prewarm.take() {
            prewarm.abort();
        }
    }
}

/// What an op received during a turn means for it: a new turn is queued, an interrupt or a
/// shutdown (or the client going away) aborts.
fn classify_op(
    queued: &mut VecDeque<String>,
    shutdown_requested: &mut bool,
    op: Option<Op>,
) -> TurnInterrupt {
    match op {
        Some(Op::UserTurn { text }) => {
            queued.push_back(text);
            TurnInterrupt::None
        }
        Some(Op::Interrupt) => TurnInterrupt::Abort,
        Some(Op::Shutdown) | None => {
            *shutdown_requested = true;
            TurnInterrupt::Abort
        }
    }
}

/// What an op received during a turn means for it.
enum TurnInterrupt {
    None,
    Abort,
}

enum Resolved {
    Warm(Box<Prewarmed>),
    Cold,
    Interrupted,
}

impl Session {
    async fn run(mut self) {
        loop {
            if self.shutdown_requested {
                break;
            }
            let text = match self.queued.pop_front() {
                Some(text) => text,
                None => match self.ops.recv().await {
                    Some(Op::UserTurn { text }) => text,
                    Some(Op::Interrupt) => continue,
                    Some(Op::Shutdown) | None => break,
                },
            };
            self.run_turn(text).await;
        }
        if let Some(prewarm) = self.prewarm.take() {
            prewarm.abort();
        }
        if let Some(mut socket) = self.socket.take() {
            let _ = tokio::time::timeout(Duration::from_millis(200), socket.close(None)).await;
        }
        let _ = std::fs::remove_file(&self.state_path);
        let _ = self.events.send(Event::ShutdownComplete);
    }

    fn emit(&self, event: Event) {
        let _ = self.events.send(event);
    }

    /// Classifies an op that arrived while a turn runs.
    fn on_op_during_turn(&mut self, op: Option<Op>) -> TurnInterrupt {
        classify_op(&mut self.queued, &mut self.shutdown_requested, op)
    }

    async fn resolve_prewarm(&mut self) -> Resolved {
        let Some(mut handle) = self.prewarm.take() else {
            if !self.prewarm_resolved {
                self.prewarm_resolved = true;
                self.telemetry.startup_phase(
                    StartupPhase::PrewarmResolve,
                    Some(PhaseStatus::NotScheduled),
                    Duration::ZERO,
                );
            }
            return Resolved::Cold;
        };
        self.prewarm_resolved = true;
        let started = Instant::now();
        let deadline = tokio::time::Instant::now() + connect_timeout(&self.shared.config);
        let (status, resolved) = loop {
            tokio::select! {
                joined = tokio::time::timeout_at(deadline, &mut handle) => break match joined {
                    Err(_elapsed) => {
                        handle.abort();
                        (PhaseStatus::TimedOut, Resolved::Cold)
                    }
                    Ok(Err(_join_error)) => (PhaseStatus::JoinFailed, Resolved::Cold),
                    Ok(Ok(Err(_prewarm_error))) => (PhaseStatus::Failed, Resolved::Cold),
                    Ok(Ok(Ok(warm))) => (PhaseStatus::Ready, Resolved::Warm(Box::new(warm))),
                },
                op = self.ops.recv() => {
                    if let TurnInterrupt::Abort = self.on_op_during_turn(op) {
                        handle.abort();
                        break (PhaseStatus::Cancelled, Resolved::Interrupted);
                    }
                }
            }
        };
        self.telemetry.startup_phase(
            StartupPhase::PrewarmResolve,
            Some(status),
            started.elapsed(),
        );
        resolved
    }

    async fn run_turn(&mut self, text: String) {
        let turn_start = Instant::now();
        self.emit(Event::TurnStarted);
        let warm = match self.resolve_prewarm().await {
            Resolved::Interrupted => {
                self.emit(Event::TurnAborted);
                return;
            }
            Resolved::Warm(warm) => Some(warm),
            Resolved::Cold => None,
        };
        let outcome = match warm {
            Some(warm) => {
                let warm = *warm;
                self.socket = Some(warm.socket);
                self.prompt = Some(warm.prompt);
                self.last_response_id = Some(warm.response_id);
                self.stream_turn(&text, turn_start, TurnTransport::WarmWebsocket)
                    .await
            }
            None => self.cold_turn(&text, turn_start).await,
        };
        match outcome {
            Ok(Some((answer, transport))) => self.emit(Event::TurnComplete {
                text: answer,
                transport,
            }),
            Ok(None) => self.emit(Event::TurnAborted),
            Err(err) => {
                self.socket = None;
                self.emit(Event::Error(err.to_string()));
            }
        }
    }

    /// A turn without a prewarmed socket: build the prompt if no earlier turn did, then use
    /// the open socket, a new socket, or HTTP.
    async fn cold_turn(
        &mut self,
        text: &str,
        turn_start: Instant,
    ) -> Result<Option<(String, TurnTransport)>, TurnError> {
        if self.prompt.is_none() {
            let config = &self.shared.config;
            let context =
                TurnContext::resolve(&config.model, &cwd_of(config)).map_err(PrewarmError::from)?;
            let tools = tools::discover_and_build(
                &self.shared.http,
                &config.tool_servers,
                &config.mcp_servers,
                &self.id,
                config.http_timeout,
            )
            .await
            .map_err(PrewarmError::from)?;
            self.prompt = Some(prompt::build(
                &context.model.slug,
                &self.id,
                &self.shared.instructions,
                &tools,
                &context.cwd,
            ));
        }
        let websocket = matches!(self.shared.config.transport, Transport::Websocket { .. })
            && !self.websocket_disabled;
        if websocket && self.socket.is_none() {
            match transport::connect_websocket(
                &self.shared.config,
                &self.id,
                connect_timeout(&self.shared.config),
            )
            .await
            {
                Ok(socket) => {
                    self.socket = Some(socket);
                    self.last_response_id = None;
                }
                // Codex falls back to HTTP for the rest of the session.
                Err(_) => self.websocket_disabled = true,
            }
        }
        let transport = if self.socket.is_some() {
            TurnTransport::Websocket
        } else {
            TurnTransport::Http
        };
        self.stream_turn(text, turn_start, transport).await
    }

    /// Sends the turn and reads its answer; `Ok(None)` when interrupted.
    async fn stream_turn(
        &mut self,
        text: &str,
        turn_start: Instant,
        transport: TurnTransport,
    ) -> Result<Option<(String, TurnTransport)>, TurnError> {
        let Some(prompt) = self.prompt.as_ref() else {
            return Err(TurnError::NoPrompt);
        };
        let on_socket = transport != TurnTransport::Http;
        let request = prompt::turn_request(
            prompt,
            text,
            if on_socket {
                self.last_response_id.as_deref()
            } else {
                None
            },
            on_socket,
        );
        let Session {
            shared,
            telemetry,
            id,
            socket,
            ops,
            events,
            queued,
            shutdown_requested,
            ..
        } = self;
        let finished = {
            let work = async {
                let mut stream = if on_socket {
                    let socket = socket.as_mut().ok_or(TurnError::NoPrompt)?;
                    socket
                        .send(Message::text(request))
                        .await
                        .map_err(TransportError::from)?;
                    AnswerStream::Websocket(socket)
                } else {
                    transport::post_turn(&shared.http, &shared.config, id, request).await?
                };
                let mut answer = String::new();
                let mut first_delta = true;
                while let Some(event) = stream.next_event().await? {
                    match event.kind.as_str() {
                        "response.output_text.delta" => {
                            if first_delta {
                                telemetry.turn_ttft(turn_start.elapsed());
                                first_delta = false;
                            }
                            let delta = event.delta.unwrap_or_default();
                            answer.push_str(&delta);
                            let _ = events.send(Event::AgentMessageDelta(delta));
                        }
                        "response.completed" => {
                            let id = event.response_id().map(str::to_owned);
                            return Ok::<_, TurnError>((answer, id));
                        }
                        _ => {}
                    }
                }
                Err(TransportError::Truncated.into())
            };
            tokio::pin!(work);
            loop {
                tokio::select! {
                    result = &mut work => break Some(result),
                    op = ops.recv() => {
                        if let TurnInterrupt::Abort = classify_op(queued, shutdown_requested, op) {
                            break None;
                        }
                    }
                }
            }
        };
        match finished {
            Some(result) => {
                let (answer, response_id) = result?;
                if on_socket {
                    self.last_response_id = response_id;
                }
                Ok(Some((answer, transport)))
            }
            None => {
                // The socket is mid-answer: it cannot carry the next turn.
                self.socket = None;
                Ok(None)
            }
        }
    }
}

/// Why a turn failed.
#[derive(Debug, thiserror::Error)]
enum TurnError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("building the turn failed: {0}")]
    Build(#[from] PrewarmError),
    #[error("no prompt was built for the turn")]
    NoPrompt,
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
