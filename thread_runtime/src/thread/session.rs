//! The session task of one thread: it takes ops in order, resolves the prewarm on the first
//! turn (warm socket, a new socket, or HTTP), streams each turn's answer as events, queues
//! turns submitted during a turn, and on shutdown closes its socket and removes its state.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::SinkExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use super::prewarm::{Prewarmed, connect_timeout, cwd_of};
use super::{Event, Op, PrewarmError, Shared, TurnTransport};
use crate::config::Transport;
use crate::context::TurnContext;
use crate::prompt::{self, Prompt};
use crate::telemetry::{PhaseStatus, SessionTelemetry, StartupPhase};
use crate::tools;
use crate::transport::{self, AnswerStream, ModelSocket, TransportError};

pub(super) struct Session {
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

impl Session {
    /// A new thread's session: nothing resolved, no socket, no turn yet.
    pub(super) fn new(
        shared: Arc<Shared>,
        telemetry: SessionTelemetry,
        id: String,
        prewarm: Option<JoinHandle<Result<Prewarmed, PrewarmError>>>,
        ops: mpsc::UnboundedReceiver<Op>,
        events: mpsc::UnboundedSender<Event>,
        state_path: PathBuf,
    ) -> Self {
        Self {
            shared,
            telemetry,
            id,
            prewarm,
            prewarm_resolved: false,
            websocket_disabled: false,
            socket: None,
            prompt: None,
            last_response_id: None,
            ops,
            queued: VecDeque::new(),
            events,
            state_path,
            shutdown_requested: false,
        }
    }
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
    pub(super) async fn run(mut self) {
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
        spend_cpu(self.shared.config.request_build_cpu);
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

/// Keeps this thread busy for `duration` (the `request_build_cpu` knob): CPU work, not a
/// sleep, as a slower request builder would be.
fn spend_cpu(duration: Duration) {
    if duration.is_zero() {
        return;
    }
    let start = Instant::now();
    let mut x = 0u64;
    while start.elapsed() < duration {
        for i in 0..1_000u64 {
            x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i));
        }
    }
    std::hint::black_box(x);
}
