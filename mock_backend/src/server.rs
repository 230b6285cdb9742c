//! The server: one loopback port serving SSE over HTTP and the websocket, on its own thread
//! and tokio runtime (the `loopback` crate) so the code under test can never starve it.
//!
//! Every delay is drawn while the RNG lock is held and awaited after it is released: a delay
//! never holds shared state (a lesson from wiremock, which once hung holding a lock across one).
//!
//! Why one long file: both transports' routes share the delay and fault engine and the request
//! records; each route is short.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::{SinkExt, StreamExt};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use serde_json::Value;

use crate::config::MockConfig;
use crate::protocol;
use crate::record::{Exchange, InjectedFault, RecordedRequest, RequestLog};
use crate::timer::PreciseTimer;
use loopback::{LoopbackError, LoopbackServer};

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

async fn http_response(
    State(state): State<Arc<ServerState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let received = Instant::now();
    let mut record = RecordedRequest::new(
        Exchange::HttpResponse,
        "/v1/responses",
        thread_id(&headers),
        received,
    );
    record.body_bytes = body.len();
    let request: protocol::CreateRequest<'_> = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(err) => {
            state.log.push(record);
            return json_response(
                StatusCode::BAD_REQUEST,
                protocol::error_body(400, &format!("request body is not JSON: {err}")),
            );
        }
    };
    record.previous_response_id = request.previous_response_id.map(Cow::into_owned);
    let faults = &state.config.faults;
    let (headers_delay, http_fault) = state.draw(|rng| {
        let delay = state.config.delays.response_headers.sample(rng);
        let fault = if faults.http_429.fires(rng) {
            Some(429)
        } else if faults.http_500.fires(rng) {
            Some(500)
        } else {
            None
        };
        (delay, fault)
    });
    record.injected_before_answer = headers_delay;
    state.timer.sleep_until(received + headers_delay).await;
    if let Some(status) = http_fault {
        record.fault = Some(InjectedFault::HttpStatus { status });
        record.completed_sent = Some(Instant::now());
        state.log.push(record);
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return json_response(code, protocol::error_body(status, "injected fault"));
    }
    let plan = state.plan_answer();
    record.injected_first_token = plan.first_token;
    if plan.reset_after_first_delta {
        record.fault = Some(InjectedFault::ResetMidStream);
    }
    let events = state.answer_events(&plan, Instant::now());
    let guard = RecordOnDrop {
        state: Arc::clone(&state),
        record: Some(record),
    };
    let stream = futures_util::stream::unfold(
        (events.into_iter(), guard, StreamStep::Streaming),
        move |(mut events, mut guard, step)| async move {
            match step {
                StreamStep::Finished => return None,
                StreamStep::ResetPending => {
                    // Failing the body makes hyper abort the connection without the terminating
                    // chunk: the client sees a broken stream, not a clean end.
                    let err = std::io::Error::new(
                        std::io::ErrorKind::ConnectionReset,
                        "injected reset mid-stream",
                    );
                    return Some((Err(err), (events, guard, StreamStep::Finished)));
                }
                StreamStep::Streaming => {}
            }
            let (at, event) = events.next()?;
            guard.state.timer.sleep_until(at).await;
            let frame = Bytes::from(protocol::sse_frame(&event));
            let next = if guard.note_sending(&event, plan.reset_after_first_delta) {
                StreamStep::ResetPending
            } else {
                StreamStep::Streaming
            };
            Some((Ok::<_, std::io::Error>(frame), (events, guard, next)))
        },
    );
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// Where an SSE body stream stands.
enum StreamStep {
    Streaming,
    ResetPending,
    Finished,
}

async fn websocket_upgrade(
    State(state): State<Arc<ServerState>>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let received = Instant::now();
    let thread = thread_id(&headers);
    let mut record = RecordedRequest::new(
        Exchange::WebsocketUpgrade,
        "/v1/responses",
        thread.clone(),
        received,
    );
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => {
            state.log.push(record);
            return rejection.into_response();
        }
    };
    let faults = &state.config.faults;
    let (handshake, reject, stall) = state.draw(|rng| {
        (
            state.config.delays.ws_handshake.sample(rng),
            faults.ws_upgrade_reject.fires(rng),
            faults.warmup_stall.fires(rng),
        )
    });
    record.injected_before_answer = handshake;
    state.timer.sleep_until(received + handshake).await;
    record.completed_sent = Some(Instant::now());
    if reject {
        let status = faults.ws_upgrade_status;
        record.fault = Some(InjectedFault::UpgradeRejected { status });
        state.log.push(record);
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::NOT_FOUND);
        return (code, "websocket upgrade refused by an injected fault\n").into_response();
    }
    state.log.push(record);
    // tungstenite zero-fills its read buffer on every read: 128 KiB by default is costly.
    upgrade
        .read_buffer_size(16 * 1024)
        .on_upgrade(move |socket| serve_socket(socket, state, thread, stall))
}

async fn serve_socket(
    mut socket: WebSocket,
    state: Arc<ServerState>,
    thread: Option<String>,
    stall: bool,
) {
    while let Some(Ok(message)) = socket.next().await {
        let received = Instant::now();
        let text = match message {
            Message::Text(text) => text,
            Message::Close(_) => return,
            _ => continue,
        };
        let refusal = match serde_json::from_str::<protocol::CreateRequest<'_>>(text.as_str()) {
            Ok(request) if request.kind.as_deref() == Some("response.create") => Ok(request),
            Ok(_) => Err("expected a message of type response.create".to_owned()),
            Err(err) => Err(format!("message is not valid JSON: {err}")),
        };
        let request = match refusal {
            Ok(request) => request,
            // Answer what cannot be acted on, so a client never waits on silence.
            Err(why) => {
                let event = protocol::error_event(&why);
                if socket
                    .send(Message::Text(event.to_string().into()))
                    .await
                    .is_err()
                {
                    return;
                }
                continue;
            }
        };
        let warmup = request.is_warmup();
        let exchange = if warmup {
            Exchange::WebsocketWarmup
        } else {
            Exchange::WebsocketTurn
        };
        let mut guard = RecordOnDrop {
            state: Arc::clone(&state),
            record: Some(RecordedRequest::new(
                exchange,
                "/v1/responses",
                thread.clone(),
                received,
            )),
        };
        let Some(record) = guard.get() else {
            continue;
        };
        record.body_bytes = text.len();
        record.previous_response_id = request.previous_response_id.map(Cow::into_owned);
        if warmup {
            if stall {
                // Never answer; keep reading so the client's close is seen.
                if let Some(record) = guard.get() {
                    record.fault = Some(InjectedFault::WarmupStalled);
                }
                continue;
            }
            let delay = state.draw(|rng| state.config.delays.warmup_response.sample(rng));
            if let Some(record) = guard.get() {
                record.injected_before_answer = delay;
            }
            state.timer.sleep_until(received + delay).await;
            let (response_id, _) = state.next_ids();
            let created = protocol::created(&response_id);
            let completed = protocol::completed(&response_id);
            guard.note_sending(&completed, false);
            if socket
                .feed(Message::Text(created.to_string().into()))
                .await
                .is_err()
                || socket
                    .send(Message::Text(completed.to_string().into()))
                    .await
                    .is_err()
            {
                return;
            }
            continue;
        }
        let plan = state.plan_answer();
        if let Some(record) = guard.get() {
            record.injected_first_token = plan.first_token;
            if plan.reset_after_first_delta {
                record.fault = Some(InjectedFault::ResetMidStream);
            }
        }
        // Frames are queued and flushed before every wait and at the end: a delta due now goes
        // out with whatever else is due now, in as few writes as possible.
        for (at, event) in state.answer_events(&plan, received) {
            if at > Instant::now() {
                if socket.flush().await.is_err() {
                    return;
                }
                state.timer.sleep_until(at).await;
            }
            let reset = guard.note_sending(&event, plan.reset_after_first_delta);
            if socket
                .feed(Message::Text(event.to_string().into()))
                .await
                .is_err()
            {
                return;
            }
            if reset {
                // Deliver the delta, then drop the socket without a close frame.
                let _ = socket.flush().await;
                return;
            }
        }
        if socket.flush().await.is_err() {
            return;
        }
    }
}
