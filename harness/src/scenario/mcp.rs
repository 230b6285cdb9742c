//! `[[mcp.servers]]`: the mock MCP servers a run starts (codex from its config, the built-in
//! runtime through its rmcp client), validated (names usable as TOML
//! keys and unique, counts and sizes bounded, a sane startup timeout) and seeded from the
//! scenario's seed.

use std::time::Duration;

use super::raw::{RawMcpTransport, RawScenario};
use super::{McpServer, McpTransportKind, ScenarioError};

/// The largest number of mock MCP servers a scenario may start.
const MAX_MCP_SERVERS: usize = 32;
/// The most tool-schema bytes all servers together may list (tools × schema_bytes, summed):
/// every listed schema is held by the server, the runtime and its prompt, so 10,000 tools of
/// 1 MiB each (each within its own bound) would ask for gigabytes several times over.
pub(super) const MAX_LISTED_SCHEMA_BYTES: u64 = 16 << 20;

/// `[[mcp.servers]]`: names usable as TOML keys and unique, counts and sizes bounded, delays
/// valid; each server's seed follows the scenario's.
pub(super) fn servers(
    raw: &RawScenario,
    err: &impl Fn(&str, String) -> ScenarioError,
) -> Result<Vec<McpServer>, ScenarioError> {
    use mock_backend::mcp::{MAX_SCHEMA_BYTES, MAX_TOOLS, McpDelays, McpFaults, McpServerSpec};
    let servers = &raw.mcp.servers;
    if servers.len() > MAX_MCP_SERVERS {
        return Err(err(
            "mcp.servers",
            format!("{} servers; at most {MAX_MCP_SERVERS}", servers.len()),
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::with_capacity(servers.len());
    let mut listed: u64 = 0;
    for (i, server) in servers.iter().enumerate() {
        let key = |field: &str| format!("mcp.servers.{field}");
        let name = &server.name;
        if name.is_empty()
            || name.len() > 64
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(err(
                &key("name"),
                format!("{name:?}: use 1 to 64 letters, digits, '_' or '-'"),
            ));
        }
        if !seen.insert(name.clone()) {
            return Err(err(&key("name"), format!("{name:?} is used twice")));
        }
        if server.tools > u64::from(MAX_TOOLS) {
            return Err(err(&key("tools"), format!("at most {MAX_TOOLS}")));
        }
        if server.schema_bytes > u64::from(MAX_SCHEMA_BYTES) {
            return Err(err(
                &key("schema_bytes"),
                format!("at most {MAX_SCHEMA_BYTES}"),
            ));
        }
        listed = listed.saturating_add(server.tools.saturating_mul(server.schema_bytes));
        if listed > MAX_LISTED_SCHEMA_BYTES {
            return Err(err(
                &key("schema_bytes"),
                format!(
                    "the servers would list {listed} bytes of tool schemas (tools × \
                     schema_bytes, summed over servers); at most {MAX_LISTED_SCHEMA_BYTES}"
                ),
            ));
        }
        let timeout = server.startup_timeout.0;
        if timeout < Duration::from_millis(100) || timeout > Duration::from_secs(600) {
            return Err(err(
                &key("startup_timeout"),
                format!("{timeout:?}: between 100ms and 600s"),
            ));
        }
        let d = &server.delays;
        let delays = McpDelays {
            start: d.start.0.clone(),
            initialize: d.initialize.0.clone(),
            list_tools: d.list_tools.0.clone(),
            call_tool: d.call_tool.0.clone(),
        };
        let f = &server.faults;
        out.push(McpServer {
            spec: McpServerSpec {
                name: name.clone(),
                tools: server.tools as u32,
                schema_bytes: server.schema_bytes as u32,
                delays,
                faults: McpFaults {
                    crash_at_start: f.crash_at_start.0,
                    hang_initialize: f.hang_initialize.0,
                    error_list_tools: f.error_list_tools.0,
                },
                seed: raw.seed.wrapping_add(1000 + i as u64),
                record: None,
            },
            startup_timeout: timeout,
            transport: match server.transport {
                RawMcpTransport::Stdio => McpTransportKind::Stdio,
                RawMcpTransport::Http => McpTransportKind::Http,
            },
        });
    }
    Ok(out)
}
