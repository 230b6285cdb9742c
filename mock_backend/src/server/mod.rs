//! The server: one loopback port serving SSE over HTTP and the websocket, on its own thread
//! and tokio runtime (the `loopback` crate) so the code under test can never starve it.
//!
//! Every delay is drawn while the RNG lock is held and awaited after it is released: a delay
//! never holds shared state, so one slow response cannot stall the others behind a lock.
//!
//! The routes of each transport are in [`sse`] and [`websocket`]; this file holds what they
//! share: the state, the delay and fault plan, and the request records.

mod sse;
mod websocket;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use serde_json::Value;

use crate::config::MockConfig;
use crate::protocol;
use crate::record::{Exchange, RecordedRequest, RequestLog};
use crate::timer::PreciseTimer;
use loopback::{LoopbackError, LoopbackServer};
use sse::http_response;
use websocket::websocket_upgrade;

/// Errors starting the mock.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot bind the mock backend to 127.0.0.1:{port}: {source}")]
    Bind { port: u16, source: std::io::Error },
    #[error("cannot start the mock backend's thread: {0}")]
    Thread(std::io::Error),
    #[error("invalid mock configuration: {0}")]
    Config(String),
}

/// Builds a [`MockBackend`].
#[derive(Debug, Clone, Default)]
pub struct MockBackendBuilder {
    config: MockConfig,
    port: u16,
}

impl MockBackendBuilder {
    pub fn config(mut self, config: MockConfig) -> Self {
        self.config = config;
        self
    }

    /// Port to bind on 127.0.0.1; 0 (the default) picks a free one.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Binds and starts serving on a thread of its own.
    pub fn start(self) -> Result<MockBackend, StartError> {
        let d = &self.config.delays;
        for dist in [
            &d.ws_handshake,
            &d.warmup_response,
            &d.response_headers,
            &d.first_token,
            &d.inter_token,
        ] {
            dist.validate()
                .map_err(|e| StartError::Config(e.to_string()))?;
        }
        let state = Arc::new(ServerState {
            rng: Mutex::new(SmallRng::seed_from_u64(self.config.seed)),
            timer: PreciseTimer::start().map_err(StartError::Thread)?,
            log: RequestLog::new(self.config.record_requests),
            next_response: AtomicU64::new(1),
            answer_pieces: protocol::split_answer(&self.config.answer, self.config.tokens),
            config: self.config,
        });
        let server = LoopbackServer::start(router(Arc::clone(&state)), self.port, "mock-backend")
            .map_err(|e| match e {
            LoopbackError::Bind { port, source } => StartError::Bind { port, source },
            LoopbackError::Thread(e) => StartError::Thread(e),
        })?;
        Ok(MockBackend { server, state })
    }
}

/// A running mock. Stops (and joins its thread) on drop.
pub struct MockBackend {
    // Declared first: dropped (server stopped, thread joined) before the state.
    server: LoopbackServer,
    state: Arc<ServerState>,
}

impl std::fmt::Debug for MockBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockBackend")
            .field("addr", &self.server.addr())
            .finish_non_exhaustive()
    }
}

impl MockBackend {
    pub fn builder() -> MockBackendBuilder {
        MockBackendBuilder::default()
    }

    /// Starts a mock with this configuration on a free port.
    pub fn start(config: MockConfig) -> Result<Self, StartError> {
        Self::builder().config(config).start()
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The base URL a client configures: `http://127.0.0.1:PORT/v1`.
    pub fn uri(&self) -> String {
        format!("http://{}/v1", self.server.addr())
    }

    /// The websocket endpoint: `ws://127.0.0.1:PORT/v1/responses`.
    pub fn ws_uri(&self) -> String {
        format!("ws://{}/v1/responses", self.server.addr())
    }

    /// Requests answered so far (ground truth).
    pub fn requests(&self) -> &RequestLog {
        &self.state.log
    }
}

struct ServerState {
    config: MockConfig,
    rng: Mutex<SmallRng>,
    timer: PreciseTimer,
    log: RequestLog,
    next_response: AtomicU64,
    answer_pieces: Vec<String>,
}

impl ServerState {
    /// Draws from the shared RNG; the lock is held only for the draw.
    fn draw<T>(&self, f: impl FnOnce(&mut SmallRng) -> T) -> T {
        f(&mut self.rng.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn next_ids(&self) -> (String, String) {
        let n = self.next_response.fetch_add(1, Ordering::Relaxed);
        (format!("resp_mock_{n}"), format!("msg_mock_{n}"))
    }
}

fn router(state: Arc<ServerState>) -> Router {
    Router::new()
        .route("/v1/responses", get(websocket_upgrade).post(http_response))
        .route("/v1/analytics/codex/turn-costs", post(turn_costs))
        .fallback(unknown)
        .with_state(state)
}

fn thread_id(headers: &HeaderMap) -> Option<String> {
    ["thread-id", "session-id"]
        .iter()
        .find_map(|name| headers.get(*name))
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn unknown(State(state): State<Arc<ServerState>>, uri: Uri, headers: HeaderMap) -> Response {
    state.log.push(RecordedRequest::new(
        Exchange::Unknown,
        uri.path(),
        thread_id(&headers),
        Instant::now(),
    ));
    (
        StatusCode::NOT_FOUND,
        "no such route on the phasebench mock backend\n",
    )
        .into_response()
}

async fn turn_costs(
    State(state): State<Arc<ServerState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut record = RecordedRequest::new(
        Exchange::TurnCosts,
        "/v1/analytics/codex/turn-costs",
        thread_id(&headers),
        Instant::now(),
    );
    record.body_bytes = body.len();
    record.completed_sent = Some(Instant::now());
    state.log.push(record);
    json_response(StatusCode::OK, r#"{"turns":[]}"#.to_owned())
}

fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// A turn's plan: what was drawn for it, decided before any waiting.
struct AnswerPlan {
    first_token: Duration,
    inter_token: Vec<Duration>,
    reset_after_first_delta: bool,
}

impl ServerState {
    fn plan_answer(&self) -> AnswerPlan {
        let cfg = &self.config;
        self.draw(|rng| AnswerPlan {
            first_token: cfg.delays.first_token.sample(rng),
            inter_token: (1..self.answer_pieces.len())
                .map(|_| cfg.delays.inter_token.sample(rng))
                .collect(),
            reset_after_first_delta: cfg.faults.reset_mid_stream.fires(rng),
        })
    }

    /// The events of one answer with the absolute time each may be sent at, starting `start`.
    fn answer_events(&self, plan: &AnswerPlan, start: Instant) -> Vec<(Instant, Value)> {
        let (response_id, item_id) = self.next_ids();
        let mut events = vec![
            (start, protocol::created(&response_id)),
            (start, protocol::item_added(&item_id)),
        ];
        let mut at = start + plan.first_token;
        for (i, piece) in self.answer_pieces.iter().enumerate() {
            if i > 0 {
                at += plan.inter_token[i - 1];
            }
            events.push((at, protocol::text_delta(&item_id, piece)));
        }
        events.push((at, protocol::item_done(&item_id, &self.config.answer)));
        events.push((at, protocol::completed(&response_id)));
        events
    }
}

/// Pushes its record when dropped, so a stream the client abandons is still logged.
struct RecordOnDrop {
    state: Arc<ServerState>,
    record: Option<RecordedRequest>,
}

impl RecordOnDrop {
    /// Notes that `event` is about to be sent. Pushes the record before the exchange's last
    /// frame (the completion, or the delta a reset follows). Returns true when the connection
    /// is to be reset after this frame.
    fn note_sending(&mut self, event: &Value, reset_after_first_delta: bool) -> bool {
        let now = Instant::now();
        let Some(record) = self.record.as_mut() else {
            return false;
        };
        if event["type"] == protocol::TEXT_DELTA && record.first_delta_sent.is_none() {
            record.first_delta_sent = Some(now);
            if reset_after_first_delta {
                self.push_now();
                return true;
            }
        }
        if event["type"] == protocol::COMPLETED {
            record.completed_sent = Some(now);
            self.push_now();
        }
        false
    }

    /// The record, while it has not been pushed yet.
    fn get(&mut self) -> Option<&mut RecordedRequest> {
        self.record.as_mut()
    }

    /// Pushes the record now. Called before the last frame the client waits for is sent, so a
    /// client that has seen the end of an exchange always finds its record.
    fn push_now(&mut self) {
        if let Some(record) = self.record.take() {
            self.state.log.push(record);
        }
    }
}

impl Drop for RecordOnDrop {
    fn drop(&mut self) {
        if let Some(record) = self.record.take() {
            self.state.log.push(record);
        }
    }
}
