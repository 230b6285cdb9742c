//! MCP servers as the runtime's tool sources, next to the HTTP tool servers: each configured
//! server is spawned as a child process (stdio) or reached at its URL (streamable HTTP) and
//! asked, with `rmcp` (the client codex uses), to `initialize` and to list its tools; the listing joins the HTTP ones in tool
//! building. As in codex, a server that fails to start, errors or exceeds its startup timeout
//! costs that time and its tools, never the thread.
//!
//! The session is closed in the background once the tools are listed (this runtime calls no
//! tools), so a server's shutdown is not counted in the startup phases.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use rmcp::ServiceExt;
use rmcp::transport::TokioChildProcess;

/// One MCP server and how to reach it.
#[derive(Debug, Clone, PartialEq)]
pub struct McpServerCommand {
    pub name: String,
    pub transport: McpTransport,
    /// Start, `initialize` and `tools/list` together, as codex's `startup_timeout_sec`.
    pub startup_timeout: Duration,
}

/// How an MCP server is reached.
#[derive(Debug, Clone, PartialEq)]
pub enum McpTransport {
    /// A child process speaking MCP on its stdin and stdout. `{thread_id}` in an argument is
    /// replaced by the id of the thread that starts it (so a server can say whom it served).
    Stdio { command: PathBuf, args: Vec<String> },
    /// Streamable HTTP at this URL.
    Http { url: String },
}

/// Why a server's tools are missing.
#[derive(Debug, thiserror::Error)]
pub enum McpListError {
    #[error("MCP server {name}: cannot start it: {source}")]
    Spawn {
        name: String,
        source: std::io::Error,
    },
    #[error("MCP server {name}: {message}")]
    Session { name: String, message: String },
    #[error("MCP server {name}: no tools within its {timeout:?} startup timeout")]
    Timeout { name: String, timeout: Duration },
}

/// The server's tools as an MCP `tools/list` body (`{"tools":[…]}`).
pub async fn list(server: &McpServerCommand, thread_id: &str) -> Result<Vec<u8>, McpListError> {
    let name = server.name.clone();
    let session = |message: String| McpListError::Session {
        name: name.clone(),
        message,
    };
    let listed = async {
        let client = match &server.transport {
            McpTransport::Stdio { command, args } => {
                let mut command = tokio::process::Command::new(command);
                command
                    .args(args.iter().map(|a| a.replace("{thread_id}", thread_id)))
                    .kill_on_drop(true);
                let (transport, _) = TokioChildProcess::builder(command)
                    .stderr(Stdio::null())
                    .spawn()
                    .map_err(|source| McpListError::Spawn {
                        name: name.clone(),
                        source,
                    })?;
                ().serve(transport).await
            }
            McpTransport::Http { url } => {
                use rmcp::transport::StreamableHttpClientTransport;
                use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
                // Loopback only: never through a proxy from the environment.
                let http = reqwest::Client::builder()
                    .no_proxy()
                    .build()
                    .map_err(|e| session(e.to_string()))?;
                let config = StreamableHttpClientTransportConfig::with_uri(url.as_str());
                ().serve(StreamableHttpClientTransport::with_client(http, config))
                    .await
            }
        }
        .map_err(|e| session(format!("initialize failed: {e}")))?;
        let tools = client
            .list_all_tools()
            .await
            .map_err(|e| session(format!("tools/list failed: {e}")));
        // Closing waits for the child to exit: not part of startup.
        tokio::spawn(async move {
            let _ = client.cancel().await;
        });
        tools
    };
    let tools = tokio::time::timeout(server.startup_timeout, listed)
        .await
        .map_err(|_| McpListError::Timeout {
            name: name.clone(),
            timeout: server.startup_timeout,
        })??;
    Ok(serde_json::to_vec(&serde_json::json!({ "tools": tools })).expect("tools serialize"))
}
