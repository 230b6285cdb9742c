//! A mock MCP server (built on `rmcp`, the official Rust MCP SDK, whose client codex uses) for
//! startup benchmarks: what surrounds the model call is where real startup regressions come
//! from, and MCP servers slow to start or to list their tools are the first of them.
//!
//! Per server: how many tools and how large their input schemas are; injected delays, each a
//! [`DelayDist`], before the process serves at all (start), before answering `initialize`,
//! `tools/list` and a tool call; and faults with probabilities: exit at start, never answer
//! `initialize` (the client's startup timeout fires), answer `tools/list` with an error.
//! Every request is recorded with server-side timestamps and the delay injected into it, as
//! JSON lines in an optional record file, so a harness can pair MCP phases with injections.
//!
//! Two transports, as codex supports: stdio, a process the runtime spawns (`phasebench
//! mcp-server …`; [`McpServerSpec`] travels as command-line arguments,
//! [`McpServerSpec::to_args`]), and streamable HTTP, served on loopback by [`McpHttpServer`].
//! Over HTTP there is no process to start or crash: the start delay is added before each
//! session's `initialize` answer, and a crash-at-start fault refuses the session (the
//! `initialize` request gets an error status), each drawn per session.

use std::borrow::Cow;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    InitializeRequestParams, InitializeResult, JsonObject, ListToolsResult, PaginatedRequestParams,
    ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};

use crate::{DelayDist, Probability};

/// One mock MCP server.
#[derive(Debug, Clone, PartialEq)]
pub struct McpServerSpec {
    /// The server's name (the key under `[mcp_servers]` in codex's config).
    pub name: String,
    pub tools: u32,
    /// Approximate size of each tool's input schema in bytes (padding in its description).
    pub schema_bytes: u32,
    pub delays: McpDelays,
    pub faults: McpFaults,
    pub seed: u64,
    /// Where to append one JSON line per request (server-side timestamps, injected delays).
    pub record: Option<PathBuf>,
}

/// Delays injected by a mock MCP server.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct McpDelays {
    /// Before the process serves anything (a slow `npx` or interpreter start).
    pub start: DelayDist,
    pub initialize: DelayDist,
    pub list_tools: DelayDist,
    pub call_tool: DelayDist,
}

/// Faults of a mock MCP server, each drawn once per process.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct McpFaults {
    /// Exit with status 1 before serving.
    pub crash_at_start: Probability,
    /// Read `initialize` and never answer it.
    pub hang_initialize: Probability,
    /// Answer `tools/list` with an internal error.
    pub error_list_tools: Probability,
}

/// The largest tool count and schema size a spec may ask for.
pub const MAX_TOOLS: u32 = 10_000;
pub const MAX_SCHEMA_BYTES: u32 = 1 << 20;

impl McpServerSpec {
    /// A server with `tools` small tools and no delays or faults.
    pub fn new(name: &str, tools: u32) -> Self {
        Self {
            name: name.to_owned(),
            tools,
            schema_bytes: 256,
            delays: McpDelays::default(),
            faults: McpFaults::default(),
            seed: 0,
            record: None,
        }
    }

    /// The command-line arguments after `mcp-server` that describe this spec.
    pub fn to_args(&self) -> Vec<String> {
        let mut args = vec![
            "--name".into(),
            self.name.clone(),
            "--tools".into(),
            self.tools.to_string(),
            "--schema-bytes".into(),
            self.schema_bytes.to_string(),
            "--seed".into(),
            self.seed.to_string(),
        ];
        for (flag, dist) in [
            ("--start-delay", &self.delays.start),
            ("--initialize-delay", &self.delays.initialize),
            ("--list-tools-delay", &self.delays.list_tools),
            ("--call-tool-delay", &self.delays.call_tool),
        ] {
            if !dist.is_zero() {
                args.extend([flag.to_owned(), dist.to_string()]);
            }
        }
        for (flag, p) in [
            ("--crash-at-start", self.faults.crash_at_start),
            ("--hang-initialize", self.faults.hang_initialize),
            ("--error-list-tools", self.faults.error_list_tools),
        ] {
            if p.value() > 0.0 {
                args.extend([flag.to_owned(), p.value().to_string()]);
            }
        }
        if let Some(record) = &self.record {
            args.extend(["--record".to_owned(), record.display().to_string()]);
        }
        args
    }
}

/// What a served process does, drawn once when it starts.
struct Plan {
    hang_initialize: bool,
    error_list_tools: bool,
}

/// The running server's state.
struct MockMcp {
    spec: McpServerSpec,
    plan: Plan,
    rng: Mutex<SmallRng>,
    tools: Arc<Vec<Tool>>,
    record: Option<Arc<Mutex<std::fs::File>>>,
    /// Over HTTP: the drawn start delay, served before the `initialize` answer.
    start_before_initialize: Duration,
}

fn unix_us(at: SystemTime) -> u128 {
    at.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros()
}

impl MockMcp {
    fn draw(&self, dist: &DelayDist) -> Duration {
        dist.sample(&mut *self.rng.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Sleeps the drawn delay (the lock is released first) and records the request.
    async fn delay(&self, method: &str, dist: &DelayDist) -> Duration {
        let received = SystemTime::now();
        let injected = self.draw(dist);
        if !injected.is_zero() {
            tokio::time::sleep(injected).await;
        }
        self.record(method, received, injected);
        injected
    }

    fn record(&self, method: &str, received: SystemTime, injected: Duration) {
        let Some(file) = &self.record else { return };
        let line = serde_json::json!({
            "server": self.spec.name,
            "method": method,
            "received_unix_us": unix_us(received) as u64,
            "answered_unix_us": unix_us(SystemTime::now()) as u64,
            "injected_us": injected.as_micros() as u64,
        });
        let mut file = file.lock().unwrap_or_else(PoisonError::into_inner);
        // A lost record line is not worth failing the server for.
        let _ = writeln!(file, "{line}");
    }
}

/// `count` tools whose input schemas are about `schema_bytes` each.
fn tools(count: u32, schema_bytes: u32) -> Vec<Tool> {
    let padding = "x".repeat(schema_bytes.min(MAX_SCHEMA_BYTES) as usize);
    (0..count.min(MAX_TOOLS))
        .map(|i| {
            let schema: JsonObject = serde_json::from_value(serde_json::json!({
                "type": "object",
                "properties": {
                    "query": { "type": "string", "description": padding },
                    "limit": { "type": "integer" }
                },
                "required": ["query"]
            }))
            .expect("a JSON object");
            Tool::new(
                Cow::Owned(format!("tool_{i:04}")),
                Cow::Owned(format!("Mock tool {i}.")),
                Arc::new(schema),
            )
        })
        .collect()
}

impl ServerHandler for MockMcp {
    fn get_info(&self) -> ServerConfig {
        InitializeResult::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(
                format!("phasebench-mock-{}", self.spec.name),
                env!("CARGO_PKG_VERSION"),
            ))
    }

    async fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, ErrorData> {
        if self.plan.hang_initialize {
            self.record(
                "initialize (never answered)",
                SystemTime::now(),
                Duration::MAX,
            );
            std::future::pending::<()>().await;
        }
        if !self.start_before_initialize.is_zero() {
            let received = SystemTime::now();
            tokio::time::sleep(self.start_before_initialize).await;
            self.record("start", received, self.start_before_initialize);
        }
        self.delay("initialize", &self.spec.delays.initialize).await;
        context.peer.set_peer_info(request.clone());
        self.negotiate_initialize(&request)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        self.delay("tools/list", &self.spec.delays.list_tools).await;
        if self.plan.error_list_tools {
            return Err(ErrorData::internal_error("injected tools/list error", None));
        }
        Ok(ListToolsResult::with_all_items(self.tools.to_vec()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        self.delay("tools/call", &self.spec.delays.call_tool).await;
        Ok(CallToolResponse::Complete(CallToolResult::success(vec![
            ContentBlock::text(format!("{} ok", request.name)),
        ])))
    }
}

/// Why the stdio server stopped.
#[derive(Debug, thiserror::Error)]
pub enum McpServeError {
    #[error("injected crash at start")]
    InjectedCrash,
    #[error("cannot open the record file {path}: {source}")]
    Record {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the MCP session failed: {0}")]
    Session(String),
}

fn open_record(spec: &McpServerSpec) -> Result<Option<Arc<Mutex<std::fs::File>>>, McpServeError> {
    let Some(path) = &spec.record else {
        return Ok(None);
    };
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map(|file| Some(Arc::new(Mutex::new(file))))
        .map_err(|source| McpServeError::Record {
            path: path.clone(),
            source,
        })
}

/// One server instance (a process, or an HTTP session) and what it drew: its start delay and
/// whether it crashes.
fn instance(
    spec: &McpServerSpec,
    mut rng: SmallRng,
    tools: Arc<Vec<Tool>>,
    record: Option<Arc<Mutex<std::fs::File>>>,
) -> (MockMcp, Duration, bool) {
    let start = spec.delays.start.sample(&mut rng);
    let crash = rng.random_bool(spec.faults.crash_at_start.value());
    let plan = Plan {
        hang_initialize: rng.random_bool(spec.faults.hang_initialize.value()),
        error_list_tools: rng.random_bool(spec.faults.error_list_tools.value()),
    };
    let server = MockMcp {
        tools,
        plan,
        rng: Mutex::new(rng),
        record,
        spec: spec.clone(),
        start_before_initialize: Duration::ZERO,
    };
    (server, start, crash)
}

/// Serves `spec` on this process's stdin and stdout until the client closes them.
pub async fn serve_stdio(spec: McpServerSpec) -> Result<(), McpServeError> {
    let rng = SmallRng::seed_from_u64(spec.seed ^ u64::from(std::process::id()));
    let record = open_record(&spec)?;
    let tools = Arc::new(tools(spec.tools, spec.schema_bytes));
    let (server, start, crash) = instance(&spec, rng, tools, record);
    let launched = SystemTime::now();
    if !start.is_zero() {
        tokio::time::sleep(start).await;
    }
    server.record("start", launched, start);
    if crash {
        return Err(McpServeError::InjectedCrash);
    }
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| McpServeError::Session(e.to_string()))?;
    running
        .waiting()
        .await
        .map_err(|e| McpServeError::Session(e.to_string()))?;
    Ok(())
}

/// A mock MCP server on streamable HTTP at `http://127.0.0.1:PORT/mcp`, one `MockMcp` per
/// session (each drawing its own start delay and faults from one seeded generator). Dropping
/// it stops the server.
pub struct McpHttpServer {
    server: loopback::LoopbackServer,
}

impl McpHttpServer {
    pub fn start(spec: &McpServerSpec) -> Result<Self, McpServeError> {
        use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
        use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
        let record = open_record(spec)?;
        let tools = Arc::new(tools(spec.tools, spec.schema_bytes));
        let sessions = Mutex::new(SmallRng::seed_from_u64(spec.seed));
        let spec = spec.clone();
        let factory = move || {
            let rng = {
                let mut sessions = sessions.lock().unwrap_or_else(PoisonError::into_inner);
                SmallRng::seed_from_u64(sessions.random())
            };
            let (mut server, start, crash) =
                instance(&spec, rng, Arc::clone(&tools), record.clone());
            if crash {
                server.record("start (refused)", SystemTime::now(), Duration::ZERO);
                return Err(std::io::Error::other("injected crash at start"));
            }
            server.start_before_initialize = start;
            Ok(server)
        };
        let service = StreamableHttpService::new(
            factory,
            Arc::new(LocalSessionManager::default()),
            StreamableHttpServerConfig::default(),
        );
        let app = axum::Router::new().nest_service("/mcp", service);
        let server = loopback::LoopbackServer::start(app, 0, "mock-mcp")
            .map_err(|e| McpServeError::Session(e.to_string()))?;
        Ok(Self { server })
    }

    /// `http://127.0.0.1:PORT/mcp`.
    pub fn uri(&self) -> String {
        format!("http://{}/mcp", self.server.addr())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_schemas_have_the_asked_size() {
        let small = tools(3, 10);
        let large = tools(3, 5000);
        assert_eq!(small.len(), 3);
        let size = |t: &Tool| serde_json::to_string(&*t.input_schema).unwrap().len();
        assert!(size(&large[0]) > 5000 && size(&large[0]) < 5200);
        assert!(size(&small[0]) < 200);
        assert_eq!(tools(MAX_TOOLS + 5, 1).len() as u32, MAX_TOOLS);
    }

    #[test]
    fn a_spec_travels_as_arguments() {
        let mut spec = McpServerSpec::new("slow", 20);
        spec.delays.initialize = crate::parse_delay("uniform:300ms,400ms").unwrap();
        spec.faults.hang_initialize = Probability::new(0.25).unwrap();
        let args = spec.to_args();
        let joined = args.join(" ");
        assert!(joined.contains("--name slow --tools 20"), "{joined}");
        assert!(
            joined.contains("--initialize-delay uniform:300ms,400ms"),
            "{joined}"
        );
        assert!(joined.contains("--hang-initialize 0.25"), "{joined}");
        assert!(
            !joined.contains("--list-tools-delay"),
            "zero delays are left out"
        );
    }
}
