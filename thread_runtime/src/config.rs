//! How a [`crate::ThreadRuntime`] is set up: where the model backend and tool servers are,
//! which transport to use, and how much work a prompt is.

use std::path::PathBuf;
use std::time::Duration;

/// The model transport. Only the websocket transport schedules a startup prewarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Websocket with a startup prewarm; `connect_timeout` bounds the connect and is also how
    /// long the first turn waits for the prewarm (codex's `websocket_connect_timeout_ms`).
    Websocket { connect_timeout: Duration },
    /// Plain HTTP `POST /responses` streamed as SSE; no prewarm.
    Http,
}

/// Configuration of a runtime; every thread it starts shares it.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Base URL of the Responses API, e.g. `http://127.0.0.1:8080/v1`.
    pub base_url: String,
    pub transport: Transport,
    /// Base URLs of tool servers; each serves `GET /tools`.
    pub tool_servers: Vec<String>,
    /// MCP servers (stdio child processes) listed beside the tool servers.
    pub mcp_servers: Vec<crate::mcp::McpServerCommand>,
    /// Size of the instructions in the prompt, in bytes.
    pub instructions_bytes: usize,
    /// Directory where thread state is written (created if missing).
    pub state_dir: PathBuf,
    /// Model slug; must be in the runtime's model catalog.
    pub model: String,
    /// Sent as `Authorization: Bearer …`; use a fake key.
    pub api_key: String,
    /// Bound on each HTTP exchange (tool listing, SSE response headers).
    pub http_timeout: Duration,
    /// CPU time spent (busy, on the session's task) building each turn request before it is
    /// sent: a knob that simulates a slower request builder, so that a harness can check it
    /// attributes a change to the runtime's side of the first token. Zero by default.
    pub request_build_cpu: Duration,
}

impl RuntimeConfig {
    /// A configuration with sensible defaults for a backend at `base_url`.
    pub fn new(base_url: impl Into<String>, state_dir: impl Into<PathBuf>) -> Self {
        Self {
            base_url: base_url.into(),
            transport: Transport::Websocket {
                connect_timeout: Duration::from_secs(5),
            },
            tool_servers: Vec::new(),
            mcp_servers: Vec::new(),
            instructions_bytes: 16 * 1024,
            state_dir: state_dir.into(),
            model: "gpt-6.1-sol".to_owned(),
            api_key: "sk-test".to_owned(),
            http_timeout: Duration::from_secs(30),
            request_build_cpu: Duration::ZERO,
        }
    }

    /// `ws://…/responses` for an `http://…` base URL.
    pub fn websocket_url(&self) -> String {
        let base = self.base_url.trim_end_matches('/');
        let rest = base
            .strip_prefix("http://")
            .map(|r| format!("ws://{r}"))
            .or_else(|| base.strip_prefix("https://").map(|r| format!("wss://{r}")))
            .unwrap_or_else(|| base.to_owned());
        format!("{rest}/responses")
    }

    pub fn responses_url(&self) -> String {
        format!("{}/responses", self.base_url.trim_end_matches('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websocket_url_swaps_the_scheme() {
        let cfg = RuntimeConfig::new("http://127.0.0.1:9/v1/", "/tmp/x");
        assert_eq!(cfg.websocket_url(), "ws://127.0.0.1:9/v1/responses");
        assert_eq!(cfg.responses_url(), "http://127.0.0.1:9/v1/responses");
    }
}
