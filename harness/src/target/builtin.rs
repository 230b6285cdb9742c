//! The built-in target: the reference thread runtime in process, against the mock backend and
//! wiremock-served tool servers on loopback, with telemetry captured in memory.
//!
//! Each iteration starts a thread, waits `first_turn_after`, runs its turns (interrupting the
//! first when the scenario says so), shuts the thread down, then takes the thread's telemetry
//! samples and the mock's ground-truth records. For clean iterations (no fault fired, prewarm
//! `ready` or `not_scheduled`) every phase is paired with the delay injected into it, which is
//! how the harness measures its own overhead.
//!
//! Why one long file: the iteration, its leftovers (samples that arrive after the thread ends)
//! and the overhead pairing read the same mock records; apart they would share them through
//! the crate.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use codex_telemetry::StartupPhase;
use mock_backend::{DelayDist, Exchange, MockBackend, RecordedRequest};
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use thread_runtime::{Event, Op, RuntimeConfig, TelemetrySink, ThreadRuntime, Transport};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::{IterationFailure, IterationReport, Target};
use crate::model::metric::{
    CLIENT_DELTA_FROM_MOCK, CLIENT_FIRST_DELTA, CLIENT_ITERATION, CLIENT_THREAD_START,
    CLIENT_TURN_TO_MOCK, MOCK_FIRST_DELTA, TURN_TTFT, WEBSOCKET_CONNECT,
};
use crate::model::sample::OverheadSample;
use crate::model::sample::Sample;
use crate::model::target::{TargetInfo, TelemetryHealth};
use mock_backend::mcp::McpHttpServer;
use thread_runtime::mcp::{McpServerCommand, McpTransport};

use crate::scenario::{McpTransportKind, RuntimeSpec, Scenario, StateStorage};
use crate::telemetry::capture::Capture;

/// Why the built-in target could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum BuiltinError {
    #[error("cannot start the mock backend: {0}")]
    Mock(#[from] mock_backend::StartError),
    #[error("cannot create the runtime's temporary state directory under {dir}: {source}")]
    TempDir { dir: String, source: std::io::Error },
    #[error("cannot start the thread runtime: {0}")]
    Runtime(#[from] thread_runtime::RuntimeError),
    #[error("cannot find the command for the mock MCP servers: {0}")]
    McpCommand(String),
    #[error("cannot start a mock MCP server: {0}")]
    McpServer(#[from] mock_backend::mcp::McpServeError),
}

/// How the runtime reaches the scenario's mock MCP servers: stdio ones as `phasebench
/// mcp-server` child processes, HTTP ones served here for the round (returned to keep alive).
/// Stdio servers record into `records/mcp-{thread_id}.jsonl` (the runtime fills in the id).
fn mcp_servers(
    scenario: &Scenario,
    records: &Path,
) -> Result<(Vec<McpServerCommand>, Vec<McpHttpServer>), BuiltinError> {
    let mut commands = Vec::with_capacity(scenario.mcp_servers.len());
    let mut http = Vec::new();
    for server in &scenario.mcp_servers {
        let transport = match server.transport {
            McpTransportKind::Stdio => {
                let mut spec = server.spec.clone();
                spec.record = Some(records.join("mcp-{thread_id}.jsonl"));
                McpTransport::Stdio {
                    command: super::mcp::server_command().map_err(BuiltinError::McpCommand)?,
                    args: std::iter::once("mcp-server".to_owned())
                        .chain(spec.to_args())
                        .collect(),
                }
            }
            McpTransportKind::Http => {
                let served = McpHttpServer::start(&server.spec)?;
                let url = served.uri();
                http.push(served);
                McpTransport::Http { url }
            }
        };
        commands.push(McpServerCommand {
            name: server.spec.name.clone(),
            transport,
            startup_timeout: server.startup_timeout,
        });
    }
    Ok((commands, http))
}

/// Largest listing delay drawn per thread, across tool servers.
type ToolDraws = Arc<Mutex<HashMap<String, Duration>>>;

/// Serves `GET /tools` with a fixed listing after a drawn delay, noting the draw per thread.
struct ToolListing {
    body: Vec<u8>,
    delay: DelayDist,
    rng: Mutex<SmallRng>,
    draws: ToolDraws,
}

impl Respond for ToolListing {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let delay = self
            .delay
            .sample(&mut *self.rng.lock().unwrap_or_else(PoisonError::into_inner));
        if let Some(thread) = request
            .headers
            .get("thread-id")
            .and_then(|v| v.to_str().ok())
        {
            let mut draws = self.draws.lock().unwrap_or_else(PoisonError::into_inner);
            let slot = draws.entry(thread.to_owned()).or_default();
            *slot = (*slot).max(delay);
        }
        ResponseTemplate::new(200)
            .set_body_raw(self.body.clone(), "application/json")
            .set_delay(delay)
    }
}

/// The reference runtime with its mock backend and tool servers.
pub struct BuiltinTarget {
    runtime: ThreadRuntime,
    spec: RuntimeSpec,
    /// The scenario's MCP servers: stdio ones record per thread (read back for the overhead
    /// pairing); HTTP sessions are not attributed to threads, so with any HTTP server there
    /// are no overhead rows.
    mcp_stdio: usize,
    mcp_http_count: usize,
    /// The streamable-HTTP mock MCP servers, served for the round.
    _mcp_http: Vec<McpHttpServer>,
    mock: MockBackend,
    _tool_servers: Vec<MockServer>,
    tool_draws: ToolDraws,
    capture: Capture,
    late: Arc<std::sync::atomic::AtomicU64>,
    _logs: SdkLoggerProvider,
    _metrics: SdkMeterProvider,
    state_dir: tempfile::TempDir,
}

impl BuiltinTarget {
    /// Starts the mock backend and tool servers on loopback and builds the runtime.
    pub async fn start(scenario: &Scenario) -> Result<Self, BuiltinError> {
        let mut backend = scenario.backend.clone();
        backend.record_requests = true;
        let mock = MockBackend::start(backend)?;
        let tool_draws = ToolDraws::default();
        let mut tool_servers = Vec::with_capacity(scenario.tools.servers);
        for index in 0..scenario.tools.servers {
            let server = MockServer::builder()
                .disable_request_recording()
                .start()
                .await;
            let body = thread_runtime::tools::synthetic_listing(index, scenario.tools.per_server)
                .to_string();
            Mock::given(method("GET"))
                .and(path("/tools"))
                .respond_with(ToolListing {
                    body: body.into_bytes(),
                    delay: scenario.tools.listing_delay.clone(),
                    rng: Mutex::new(SmallRng::seed_from_u64(
                        scenario.seed.wrapping_add(1 + index as u64),
                    )),
                    draws: Arc::clone(&tool_draws),
                })
                .mount(&server)
                .await;
            tool_servers.push(server);
        }
        let capture = Capture::default();
        let logs = SdkLoggerProvider::builder()
            .with_log_processor(capture.clone())
            .build();
        // Histograms are recorded as codex records them; nothing reads them in process.
        let metrics = SdkMeterProvider::builder().build();
        let meter = opentelemetry::metrics::MeterProvider::meter(&metrics, "phasebench.builtin");
        let state_parent = match scenario.runtime.state_storage {
            StateStorage::Temp => std::env::temp_dir(),
            StateStorage::Memory => std::path::PathBuf::from("/dev/shm"),
        };
        let state = tempfile::Builder::new()
            .prefix("phasebench-state-")
            .tempdir_in(&state_parent)
            .map_err(|source| BuiltinError::TempDir {
                dir: state_parent.display().to_string(),
                source,
            })?;
        let mut config = RuntimeConfig::new(mock.uri(), state.path());
        config.transport = scenario.runtime.transport;
        config.tool_servers = tool_servers.iter().map(MockServer::uri).collect();
        config.instructions_bytes = scenario.runtime.instructions_bytes;
        config.model = scenario.runtime.model.clone();
        config.http_timeout = scenario.plan.iteration_timeout;
        let (mcp_servers, mcp_http) = mcp_servers(scenario, state.path())?;
        config.mcp_servers = mcp_servers;
        config.request_build_cpu = scenario.runtime.request_build_cpu;
        let runtime = ThreadRuntime::new(config, TelemetrySink::new(&logs).with_meter(&meter))?;
        Ok(Self {
            runtime,
            spec: scenario.runtime.clone(),
            mcp_stdio: scenario
                .mcp_servers
                .iter()
                .filter(|s| s.transport == McpTransportKind::Stdio)
                .count(),
            mcp_http_count: mcp_http.len(),
            _mcp_http: mcp_http,
            mock,
            _tool_servers: tool_servers,
            tool_draws,
            capture,
            late: Arc::default(),
            _logs: logs,
            _metrics: metrics,
            state_dir: state,
        })
    }

    /// The mock backend (for tests that check ground truth).
    #[cfg(feature = "test-support")]
    pub fn mock(&self) -> &MockBackend {
        &self.mock
    }
}

/// Takes a thread's telemetry, records and draws when dropped, so a cancelled iteration
/// leaves nothing behind.
struct ThreadLeftovers<'a> {
    target: &'a BuiltinTarget,
    thread_id: String,
}

impl ThreadLeftovers<'_> {
    /// The thread's samples, mock records, the largest tool-listing draw, and what its stdio
    /// MCP servers injected before listing their tools (None when one did not get that far).
    fn take(
        &self,
    ) -> (
        Vec<Sample>,
        Vec<RecordedRequest>,
        Option<Duration>,
        Option<Duration>,
    ) {
        let samples = self.target.capture.take(&self.thread_id);
        let records = self.target.mock.requests().take_thread(&self.thread_id);
        let tools = self
            .target
            .tool_draws
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.thread_id);
        let mcp = (self.target.mcp_stdio > 0)
            .then(|| {
                let path = self
                    .records_dir()
                    .join(format!("mcp-{}.jsonl", self.thread_id));
                let text = super::mcp::read_record(&path).ok();
                let _ = std::fs::remove_file(&path);
                super::mcp::injected(&text?, self.target.mcp_stdio)
            })
            .flatten();
        (samples, records, tools, mcp)
    }

    fn records_dir(&self) -> &Path {
        self.target.state_dir.path()
    }
}

impl Drop for ThreadLeftovers<'_> {
    fn drop(&mut self) {
        let (samples, ..) = self.take();
        if !samples.is_empty() {
            self.target
                .late
                .fetch_add(samples.len() as u64, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// What the harness saw of one turn.
struct ObservedTurn {
    /// When the turn was submitted.
    submitted: Instant,
    /// Submit → first delta, when (wall clock) the delta came, and when on this process's
    /// monotonic clock (the mock's records use the same one).
    first_delta: Option<(Duration, SystemTime, Instant)>,
    failure: Option<IterationFailure>,
}

impl BuiltinTarget {
    async fn drive_turn(
        &self,
        thread: &mut thread_runtime::CodexThread,
        interrupt_after: Option<Duration>,
    ) -> ObservedTurn {
        let submitted = Instant::now();
        if let Err(e) = thread.submit(Op::UserTurn { text: "hi".into() }) {
            return ObservedTurn {
                submitted,
                first_delta: None,
                failure: Some(IterationFailure::Session(e.to_string())),
            };
        }
        let interrupt_at = interrupt_after.map(|d| tokio::time::Instant::from_std(submitted + d));
        let mut interrupt_sent = false;
        let mut first_delta = None;
        loop {
            let event = match interrupt_at {
                Some(at) if !interrupt_sent => tokio::select! {
                    event = thread.next_event() => event,
                    () = tokio::time::sleep_until(at) => {
                        interrupt_sent = true;
                        let _ = thread.submit(Op::Interrupt);
                        continue;
                    }
                },
                _ => thread.next_event().await,
            };
            match event {
                Some(Event::AgentMessageDelta(_)) if first_delta.is_none() => {
                    let now = Instant::now();
                    first_delta = Some((now - submitted, SystemTime::now(), now))
                }
                Some(Event::TurnComplete { .. }) => {
                    return ObservedTurn {
                        submitted,
                        first_delta,
                        failure: None,
                    };
                }
                Some(Event::TurnAborted) if interrupt_after.is_some() => {
                    return ObservedTurn {
                        submitted,
                        first_delta,
                        failure: None,
                    };
                }
                Some(Event::TurnAborted) => {
                    return ObservedTurn {
                        submitted,
                        first_delta,
                        failure: Some(IterationFailure::Session(
                            "turn aborted without an interrupt".into(),
                        )),
                    };
                }
                Some(Event::Error(e)) => {
                    return ObservedTurn {
                        submitted,
                        first_delta,
                        failure: Some(IterationFailure::Turn(e)),
                    };
                }
                Some(_) => {}
                None => {
                    return ObservedTurn {
                        submitted,
                        first_delta,
                        failure: Some(IterationFailure::Session(
                            "session ended during a turn".into(),
                        )),
                    };
                }
            }
        }
    }
}

/// The first turn's wait for its first delta split at the mock's timestamps (one process,
/// one monotonic clock): the runtime before its turn request reached the mock, the mock's
/// answer up to the first delta, and the runtime after it. None when the mock has no record
/// of a turn request after `submitted` with a first delta sent.
fn first_token_parts(
    records: &[RecordedRequest],
    submitted: Instant,
    arrived: Instant,
    arrived_wall: SystemTime,
) -> Vec<Sample> {
    use mock_backend::Exchange;
    let Some(turn) = records
        .iter()
        .filter(|r| matches!(r.exchange, Exchange::WebsocketTurn | Exchange::HttpResponse))
        .filter(|r| r.received >= submitted)
        .min_by_key(|r| r.received)
    else {
        return Vec::new();
    };
    let Some(sent) = turn.first_delta_sent.filter(|&s| s <= arrived) else {
        return Vec::new();
    };
    let at = |instant: Instant| arrived_wall.checked_sub(arrived - instant);
    [
        (
            CLIENT_TURN_TO_MOCK,
            turn.received - submitted,
            at(turn.received),
        ),
        (MOCK_FIRST_DELTA, sent - turn.received, at(sent)),
        (CLIENT_DELTA_FROM_MOCK, arrived - sent, Some(arrived_wall)),
    ]
    .into_iter()
    .map(|(metric, duration, ended_at)| Sample {
        ended_at,
        ..Sample::client(metric, duration)
    })
    .collect()
}

impl Target for BuiltinTarget {
    async fn run_iteration(&self, _index: u64) -> IterationReport {
        let started = Instant::now();
        let started_wall = SystemTime::now();
        let mut thread = match self.runtime.start_thread().await {
            Ok(thread) => thread,
            Err(e) => {
                return IterationReport {
                    failure: Some(IterationFailure::Start(e.to_string())),
                    ..IterationReport::default()
                };
            }
        };
        let thread_start = started.elapsed();
        let leftovers = ThreadLeftovers {
            target: self,
            thread_id: thread.id().to_owned(),
        };
        if !self.spec.first_turn_after.is_zero() {
            tokio::time::sleep(self.spec.first_turn_after).await;
        }
        let mut failure = None;
        let mut first_delta = None;
        let mut first_submitted = None;
        for turn in 0..self.spec.turns.get() {
            let interrupt = if turn == 0 {
                self.spec.interrupt_first_turn_after
            } else {
                None
            };
            let outcome = self.drive_turn(&mut thread, interrupt).await;
            if turn == 0 {
                first_delta = outcome.first_delta;
                first_submitted = Some(outcome.submitted);
            }
            if outcome.failure.is_some() {
                failure = outcome.failure;
                break;
            }
        }
        if let Err(e) = thread.shutdown_and_wait().await {
            failure.get_or_insert(IterationFailure::Session(e.to_string()));
        }
        let iteration = started.elapsed();

        let (mut samples, records, tool_delay, mcp_delay) = leftovers.take();
        samples.push(Sample::client_from(
            CLIENT_THREAD_START,
            thread_start,
            started_wall,
        ));
        if let Some((first_delta, at, arrived)) = first_delta {
            samples.push(Sample {
                ended_at: Some(at),
                ..Sample::client(CLIENT_FIRST_DELTA, first_delta)
            });
            if let Some(submitted) = first_submitted {
                samples.extend(first_token_parts(&records, submitted, arrived, at));
            }
        }
        if failure.is_none() {
            samples.push(Sample::client_from(
                CLIENT_ITERATION,
                iteration,
                started_wall,
            ));
        }
        let marks = super::server_marks(&records);
        // Tool building waits for the slowest source: HTTP tool servers and MCP servers.
        let tool_delay = match (self.mcp_stdio, mcp_delay) {
            (0, _) => Some(tool_delay.unwrap_or_default()),
            (_, Some(mcp)) => Some(tool_delay.unwrap_or_default().max(mcp)),
            (_, None) => None,
        };
        let overheads = match tool_delay {
            Some(tool_delay)
                if failure.is_none()
                    && self.spec.interrupt_first_turn_after.is_none()
                    && self.mcp_http_count == 0 =>
            {
                overheads(&samples, &records, tool_delay, &self.spec)
            }
            _ => Vec::new(),
        };
        IterationReport {
            samples,
            overheads,
            started_at: Some(started_wall),
            marks,
            failure,
        }
    }

    fn info(&self) -> TargetInfo {
        TargetInfo {
            name: "builtin".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }

    fn telemetry_health(&self) -> TelemetryHealth {
        TelemetryHealth {
            malformed_events: self.capture.malformed(),
            unattributed_events: self.capture.unattributed(),
            late_samples: self.late.load(std::sync::atomic::Ordering::Relaxed)
                + self.capture.untaken() as u64,
            ..TelemetryHealth::default()
        }
    }
}

/// Pairs each measured phase with the delay injected into it. Returns nothing when a fault
/// fired or the prewarm was not used as planned (then phases measure recovery, not overhead).
fn overheads(
    samples: &[Sample],
    records: &[RecordedRequest],
    tool_delay: Duration,
    spec: &RuntimeSpec,
) -> Vec<OverheadSample> {
    let transport = spec.transport;
    if records.iter().any(|r| r.fault.is_some()) {
        return Vec::new();
    }
    let resolve_status = samples
        .iter()
        .find(|s| s.key.metric == StartupPhase::PrewarmResolve.as_str())
        .and_then(|s| s.key.status.as_deref());
    // Without a prewarm (HTTP), the first turn discovers and builds the tools itself, so the
    // tool-listing delay is part of what its first token waited for.
    let first_turn_builds_tools = match resolve_status {
        Some("ready") => false,
        Some("not_scheduled") => true,
        _ => return Vec::new(),
    };
    let first = |exchange: Exchange| records.iter().find(|r| r.exchange == exchange);
    let handshake =
        first(Exchange::WebsocketUpgrade).map_or(Duration::ZERO, |r| r.injected_before_answer);
    let warmup =
        first(Exchange::WebsocketWarmup).map_or(Duration::ZERO, |r| r.injected_before_answer);
    let turn_exchange = match transport {
        Transport::Websocket { .. } => Exchange::WebsocketTurn,
        Transport::Http => Exchange::HttpResponse,
    };
    let prewarm = handshake.max(tool_delay) + warmup;
    // What the first turn waited for before it could be sent: building the tools itself
    // (no prewarm), or the rest of a prewarm still running when the turn came
    // `first_turn_after` the thread's start (resolve waits for it).
    let first_turn_tools = if first_turn_builds_tools {
        tool_delay
    } else {
        prewarm.saturating_sub(spec.first_turn_after)
    };
    let resolve_wait = if first_turn_builds_tools {
        Duration::ZERO
    } else {
        first_turn_tools
    };
    let mut turn_delays = records
        .iter()
        .filter(|r| r.exchange == turn_exchange)
        .map(|r| r.injected_before_answer + r.injected_first_token)
        .enumerate()
        .map(|(turn, d)| if turn == 0 { d + first_turn_tools } else { d });
    // What the mock itself waited, from the first turn request's arrival to its first delta.
    let first_turn_at_mock = records
        .iter()
        .find(|r| r.exchange == turn_exchange)
        .map_or(Duration::ZERO, |r| {
            r.injected_before_answer + r.injected_first_token
        });
    let first_turn_delay = first_turn_at_mock + first_turn_tools;
    let mut out = Vec::with_capacity(samples.len());
    for sample in samples {
        let injected = match sample.key.metric.as_str() {
            m if m == WEBSOCKET_CONNECT => handshake,
            m if m == StartupPhase::PrewarmBuildTools.as_str() => tool_delay,
            m if m == StartupPhase::PrewarmWebsocketWarmup.as_str() => warmup,
            m if m == StartupPhase::PrewarmTotal.as_str() => prewarm,
            m if m == StartupPhase::PrewarmResolve.as_str() => resolve_wait,
            m if m == TURN_TTFT => match turn_delays.next() {
                Some(d) => d,
                None => continue,
            },
            m if m == CLIENT_FIRST_DELTA => first_turn_delay,
            m if m == MOCK_FIRST_DELTA => first_turn_at_mock,
            m if m == CLIENT_ITERATION => continue,
            _ => Duration::ZERO,
        };
        out.push(OverheadSample {
            metric: sample.key.metric.clone(),
            measured: sample.duration,
            injected,
        });
    }
    out
}
