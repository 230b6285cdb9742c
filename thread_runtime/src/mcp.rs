//! MCP servers as the runtime's tool sources, next to the HTTP tool servers: each configured
//! server is spawned as a child process and asked, over stdio with `rmcp` (the client codex
//! uses), to `initialize` and to list its tools; the listing joins the HTTP ones in tool
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

/// How to start one MCP server.
#[derive(Debug, Clone, PartialEq)]
pub struct McpServerCommand {
    pub name: String,
    pub command: PathBuf,
    pub args: Vec<String>,
    /// Start, `initialize` and `tools/list` together, as codex's `startup_timeout_sec`.
    pub startup_timeout: Duration,
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
pub async fn list(server: &McpServerCommand) -> Result<Vec<u8>, McpListError> {
    let name = server.name.clone();
    let mut command = tokio::process::Command::new(&server.command);
    command.args(&server.args).kill_on_drop(true);
    let (transport, _) = TokioChildProcess::builder(command)
        .stderr(Stdio::null())
        .spawn()
        .map_err(|source| McpListError::Spawn {
            name: name.clone(),
            source,
        })?;
    let session = |message: String| McpListError::Session {
        name: name.clone(),
        message,
    };
    let listed = async {
        let client =
            ().serve(transport)
                .await
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
