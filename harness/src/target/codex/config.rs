//! The `config.toml` each codex process gets in its isolated home: the mock as its model
//! provider (websocket or HTTP), telemetry to the harness's OTLP receiver, everything that
//! would leave loopback switched off, and the scenario's mock MCP servers.

use std::path::Path;

use thread_runtime::Transport;

use crate::scenario::{CodexSpec, McpServer, OtlpProtocol};

/// The `config.toml` written into each `CODEX_HOME`.
pub fn config_toml(
    mock_uri: &str,
    receiver_uri: &str,
    transport: Transport,
    spec: &CodexSpec,
) -> String {
    let (websockets, timeout_ms) = match transport {
        Transport::Websocket { connect_timeout } => (true, connect_timeout.as_millis()),
        Transport::Http => (false, 5000),
    };
    let protocol = match spec.otlp_protocol {
        OtlpProtocol::Json => "json",
        OtlpProtocol::Binary => "binary",
    };
    let exporter = |enabled: bool, signal: &str| {
        if enabled {
            format!(
                "{{ otlp-http = {{ endpoint = \"{receiver_uri}/v1/{signal}\", protocol = \"{protocol}\" }} }}"
            )
        } else {
            "\"none\"".to_owned()
        }
    };
    format!(
        r#"# Written by phasebench for one benchmark run; points codex at loopback only.
model_provider = "mock"
check_for_update_on_startup = false

[model_providers.mock]
name = "Mock"
base_url = "{mock_uri}"
wire_api = "responses"
env_key = "OPENAI_API_KEY"
supports_websockets = {websockets}
websocket_connect_timeout_ms = {timeout_ms}
request_max_retries = 0
stream_max_retries = 0

[analytics]
enabled = false

[otel]
environment = "bench"
log_user_prompt = false
exporter = {logs}
trace_exporter = {traces}
metrics_exporter = {metrics}

[features]
plugins = false
remote_plugin = false
apps = false
shell_snapshot = false
"#,
        logs = exporter(true, "logs"),
        traces = exporter(spec.export_traces, "traces"),
        metrics = exporter(spec.export_metrics, "metrics"),
    )
}

/// The `[mcp_servers.NAME]` tables for a scenario's mock MCP servers: each runs
/// `COMMAND mcp-server ARGS` (this phasebench binary), with the scenario's startup timeout,
/// appending what it was asked to `record`.
/// Streamable-HTTP servers are written as `url` entries (`http` maps their names to URLs).
pub(crate) fn mcp_config_toml(
    servers: &[McpServer],
    command: &Path,
    record: &Path,
    http: &std::collections::BTreeMap<String, String>,
) -> String {
    let mut tables = toml::Table::new();
    for server in servers {
        let mut table = toml::Table::new();
        match http.get(&server.spec.name) {
            Some(url) => {
                table.insert("url".into(), toml::Value::from(url.as_str()));
            }
            None => {
                let mut spec = server.spec.clone();
                spec.record = Some(record.to_owned());
                let mut args = vec![toml::Value::from("mcp-server")];
                args.extend(spec.to_args().into_iter().map(toml::Value::from));
                table.insert(
                    "command".into(),
                    toml::Value::from(command.display().to_string()),
                );
                table.insert("args".into(), toml::Value::Array(args));
            }
        }
        table.insert(
            "startup_timeout_sec".into(),
            toml::Value::from(server.startup_timeout.as_secs_f64()),
        );
        tables.insert(server.spec.name.clone(), toml::Value::Table(table));
    }
    if tables.is_empty() {
        return String::new();
    }
    let mut root = toml::Table::new();
    root.insert("mcp_servers".into(), toml::Value::Table(tables));
    toml::to_string(&root).expect("a table of strings and numbers serializes")
}
