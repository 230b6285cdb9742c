//! Tool discovery and schema building: list tools from each tool server over HTTP (concurrently),
//! then turn every listed input schema into a Responses-API function tool, sanitized the way
//! codex sanitizes MCP schemas (types made explicit, objects closed, arrays given items).
//!
//! A tool server answers `GET {base}/tools` with `{"tools":[{"name","description","inputSchema"}]}`
//! (the shape of an MCP `tools/list` result).

use std::collections::HashSet;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Why tools could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("listing tools from {server} failed: {source}")]
    Request {
        server: String,
        source: reqwest::Error,
    },
    #[error("tool server {server} answered HTTP {status}")]
    Status { server: String, status: u16 },
    #[error("tool server {server} sent an invalid listing: {reason}")]
    InvalidListing { server: String, reason: String },
}

#[derive(Debug, Deserialize)]
struct Listing {
    tools: Vec<ListedTool>,
}

#[derive(Debug, Deserialize)]
struct ListedTool {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(rename = "inputSchema", default)]
    input_schema: Option<Value>,
}

/// A tool ready for the prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    pub name: String,
    /// The Responses-API tool object (`{"type":"function",…}`).
    pub json: Value,
}

/// Lists every server concurrently and builds the specs, in server order.
/// `thread_id` travels as the `thread-id` header so tool servers can attribute requests.
pub async fn discover_and_build(
    client: &reqwest::Client,
    servers: &[String],
    mcp_servers: &[crate::mcp::McpServerCommand],
    thread_id: &str,
    timeout: Duration,
) -> Result<Vec<ToolSpec>, ToolError> {
    let (listings, mcp_listings) = tokio::join!(
        futures_util::future::join_all(
            servers
                .iter()
                .map(|server| list_tools(client, server, thread_id, timeout)),
        ),
        futures_util::future::join_all(
            mcp_servers
                .iter()
                .map(|server| crate::mcp::list(server, thread_id))
        ),
    );
    let mut bodies = Vec::with_capacity(servers.len() + mcp_servers.len());
    for (server, body) in servers.iter().zip(listings) {
        bodies.push((server.as_str(), body?));
    }
    // A failed MCP server costs its time and its tools, not the thread (as in codex).
    for (server, body) in mcp_servers.iter().zip(mcp_listings) {
        if let Ok(body) = body {
            bodies.push((server.name.as_str(), body));
        }
    }
    let borrowed: Vec<(&str, &[u8])> = bodies.iter().map(|(s, b)| (*s, b.as_slice())).collect();
    build_specs(&borrowed)
}

/// Parses each server's listing and builds the specs, in server order: the CPU-bound half of
/// tool discovery. Fails on an invalid listing, an invalid name, or a name listed twice.
pub fn build_specs(listings: &[(&str, &[u8])]) -> Result<Vec<ToolSpec>, ToolError> {
    let mut specs = Vec::new();
    let mut seen = HashSet::new();
    for (server, body) in listings {
        let listing: Listing =
            serde_json::from_slice(body).map_err(|e| ToolError::InvalidListing {
                server: (*server).to_owned(),
                reason: e.to_string(),
            })?;
        for tool in listing.tools {
            if !seen.insert(tool.name.clone()) {
                return Err(ToolError::InvalidListing {
                    server: (*server).to_owned(),
                    reason: format!("tool name {:?} is listed twice", tool.name),
                });
            }
            specs.push(build_spec(server, tool)?);
        }
    }
    Ok(specs)
}

async fn list_tools(
    client: &reqwest::Client,
    server: &str,
    thread_id: &str,
    timeout: Duration,
) -> Result<Vec<u8>, ToolError> {
    let url = format!("{}/tools", server.trim_end_matches('/'));
    let request_error = |source| ToolError::Request {
        server: server.to_owned(),
        source,
    };
    let response = client
        .get(&url)
        .header("thread-id", thread_id)
        .timeout(timeout)
        .send()
        .await
        .map_err(request_error)?;
    if !response.status().is_success() {
        return Err(ToolError::Status {
            server: server.to_owned(),
            status: response.status().as_u16(),
        });
    }
    let body = response.bytes().await.map_err(request_error)?;
    Ok(body.to_vec())
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn build_spec(server: &str, tool: ListedTool) -> Result<ToolSpec, ToolError> {
    if !valid_name(&tool.name) {
        return Err(ToolError::InvalidListing {
            server: server.to_owned(),
            reason: format!(
                "tool name {:?} must be 1-64 characters of [A-Za-z0-9_-]",
                tool.name
            ),
        });
    }
    let mut parameters = tool
        .input_schema
        .unwrap_or_else(|| json!({"type": "object"}));
    sanitize_schema(&mut parameters);
    // Built field by field: `json!` runs interpolated values through `to_value`, which would
    // copy every schema tree once more.
    let mut object = Map::with_capacity(5);
    object.insert("type".into(), Value::String("function".into()));
    object.insert("name".into(), Value::String(tool.name.clone()));
    object.insert("description".into(), Value::String(tool.description));
    object.insert("strict".into(), Value::Bool(false));
    object.insert("parameters".into(), parameters);
    let json = Value::Object(object);
    Ok(ToolSpec {
        name: tool.name,
        json,
    })
}

/// Makes a JSON schema acceptable to the Responses API: every node gets an explicit `type`,
/// objects get `properties` and `additionalProperties: false`, arrays get `items`, and
/// keywords the API rejects are dropped.
pub fn sanitize_schema(schema: &mut Value) {
    let Value::Object(map) = schema else {
        *schema = json!({"type": "string"});
        return;
    };
    map.retain(|key, _| {
        matches!(
            key.as_str(),
            "type"
                | "description"
                | "properties"
                | "required"
                | "items"
                | "enum"
                | "additionalProperties"
                | "default"
        )
    });
    if !map.contains_key("type") {
        let inferred = if map.contains_key("properties") {
            "object"
        } else if map.contains_key("items") {
            "array"
        } else if map.contains_key("enum") {
            "string"
        } else {
            "object"
        };
        map.insert("type".into(), Value::String(inferred.into()));
    }
    match map.get("type").and_then(Value::as_str) {
        Some("object") => {
            let properties = map
                .entry("properties")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(props) = properties {
                for value in props.values_mut() {
                    sanitize_schema(value);
                }
            }
            let names: HashSet<String> = map
                .get("properties")
                .and_then(Value::as_object)
                .map(|p| p.keys().cloned().collect())
                .unwrap_or_default();
            if let Some(Value::Array(required)) = map.get_mut("required") {
                required.retain(|r| r.as_str().is_some_and(|r| names.contains(r)));
            }
            map.insert("additionalProperties".into(), Value::Bool(false));
        }
        Some("array") => {
            let items = map
                .entry("items")
                .or_insert_with(|| json!({"type": "string"}));
            sanitize_schema(items);
        }
        _ => {}
    }
}

/// A deterministic listing of `count` tools, as a tool server would send it. Used by the
/// harness's tool servers and by tests; names carry `server` so listings never collide.
pub fn synthetic_listing(server: usize, count: usize) -> Value {
    let tools: Vec<Value> = (0..count)
        .map(|i| {
            json!({
                "name": format!("s{server}_tool_{i}"),
                "description": format!(
                    "Tool {i} of server {server}: reads, searches or edits files in the workspace \
                     and reports what it found in a structured form the model can act on."
                ),
                "inputSchema": {
                    "type": "object",
                    "properties": {
                        "path": {"type": "string", "description": "Workspace-relative path."},
                        "query": {"description": "What to look for."},
                        "limit": {"type": "integer", "description": "At most this many results."},
                        "options": {
                            "properties": {
                                "case_sensitive": {"type": "boolean"},
                                "globs": {"items": {"type": "string"}},
                                "mode": {"enum": ["fast", "thorough"]}
                            },
                            "$comment": "dropped by sanitizing"
                        }
                    },
                    "required": ["path", "not_a_property"]
                }
            })
        })
        .collect();
    json!({ "tools": tools })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizing_makes_types_explicit_and_closes_objects() {
        let listing = synthetic_listing(0, 1);
        let tool: ListedTool = serde_json::from_value(listing["tools"][0].clone()).unwrap();
        let spec = build_spec("srv", tool).unwrap();
        let params = &spec.json["parameters"];
        assert_eq!(params["additionalProperties"], false);
        assert_eq!(params["required"], json!(["path"]));
        assert_eq!(params["properties"]["query"]["type"], "object");
        let options = &params["properties"]["options"];
        assert_eq!(options["type"], "object");
        assert!(options.get("$comment").is_none());
        assert_eq!(options["properties"]["globs"]["type"], "array");
        assert_eq!(options["properties"]["mode"]["type"], "string");
    }

    #[test]
    fn duplicate_names_across_servers_are_rejected() {
        let a = synthetic_listing(0, 2).to_string().into_bytes();
        assert_eq!(build_specs(&[("a", &a)]).unwrap().len(), 2);
        let err = build_specs(&[("a", &a), ("b", &a)]).unwrap_err();
        assert!(err.to_string().contains("listed twice"), "{err}");
        assert!(build_specs(&[("c", b"{")]).is_err());
    }

    #[test]
    fn bad_names_are_rejected() {
        let tool = ListedTool {
            name: "has space".into(),
            description: String::new(),
            input_schema: None,
        };
        assert!(matches!(
            build_spec("srv", tool),
            Err(ToolError::InvalidListing { .. })
        ));
    }
}
