//! Prompt assembly: instructions of the configured size, the tools, and the environment
//! context, serialized into the `response.create` request the way codex lays it out (tools
//! travel as the first input item, of type `additional_tools`).

use serde::Serialize;
use serde::ser::SerializeSeq;
use serde_json::{Value, json};

use crate::tools::ToolSpec;

const PARAGRAPH: &str = "You are a coding agent running in a terminal. Read the workspace before \
you change it, keep edits small and reviewable, run the tests that cover what you touched, and \
report what you did and what is left. Prefer the tools you were given over guessing. ";

/// Instructions text of exactly `bytes` bytes (ASCII), built from a fixed paragraph.
pub fn instructions(bytes: usize) -> String {
    let mut text = String::with_capacity(bytes);
    while text.len() < bytes {
        let take = (bytes - text.len()).min(PARAGRAPH.len());
        text.push_str(&PARAGRAPH[..take]);
    }
    text
}

/// The parts of a turn request that do not depend on the user's message.
#[derive(Debug, Clone)]
pub struct Prompt {
    pub model: String,
    /// Input items before the user message: tools, instructions, environment context.
    pub base_input: Vec<Value>,
    pub thread_id: String,
}

/// Assembles a prompt.
pub fn build(
    model: &str,
    thread_id: &str,
    instructions: &str,
    tools: &[ToolSpec],
    cwd: &str,
) -> Prompt {
    let tool_values: Vec<Value> = tools.iter().map(|t| t.json.clone()).collect();
    // Values are placed, not interpolated into `json!`, which would copy each tree again.
    let mut namespace = json!({"type": "namespace", "name": "functions", "description": ""});
    namespace["tools"] = Value::Array(tool_values);
    let mut additional_tools = json!({"type": "additional_tools", "role": "developer"});
    additional_tools["id"] = Value::String(format!("at_{thread_id}"));
    additional_tools["tools"] = Value::Array(vec![namespace]);
    let environment = format!(
        "<environment_context>\n  <cwd>{cwd}</cwd>\n  <shell>bash</shell>\n</environment_context>"
    );
    Prompt {
        model: model.to_owned(),
        base_input: vec![
            additional_tools,
            message("developer", instructions.to_owned()),
            message("user", environment),
        ],
        thread_id: thread_id.to_owned(),
    }
}

fn message(role: &str, text: String) -> Value {
    let mut content = json!({"type": "input_text"});
    content["text"] = Value::String(text);
    let mut item = json!({"type": "message", "role": role});
    item["content"] = Value::Array(vec![content]);
    item
}

/// The `input` array of a turn: the prompt's shared items, serialized by reference, then the
/// user's message.
struct TurnInput<'a> {
    base: &'a [Value],
    user: Value,
}

impl Serialize for TurnInput<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.base.len() + 1))?;
        for item in self.base {
            seq.serialize_element(item)?;
        }
        seq.serialize_element(&self.user)?;
        seq.end()
    }
}

#[derive(Serialize)]
struct TurnBody<'a> {
    #[serde(flatten)]
    fields: serde_json::Map<String, Value>,
    input: TurnInput<'a>,
}

fn common_fields(model: &str, thread_id: &str) -> serde_json::Map<String, Value> {
    let Value::Object(map) = json!({
        "model": model,
        "stream": true,
        "tool_choice": "auto",
        "parallel_tool_calls": false,
        "reasoning": {"effort": "low", "context": "all_turns"},
        "store": false,
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": thread_id,
        "text": {"verbosity": "low"},
        "client_metadata": {"thread_id": thread_id, "session_id": thread_id}
    }) else {
        unreachable!("a json object literal is an object")
    };
    map
}

/// The websocket warmup request: empty input, `generate: false`.
pub fn warmup_request(model: &str, thread_id: &str) -> String {
    let mut map = common_fields(model, thread_id);
    map.insert("type".into(), json!("response.create"));
    map.insert("input".into(), json!([]));
    map.insert("generate".into(), json!(false));
    Value::Object(map).to_string()
}

/// A turn request. `websocket` adds the `type` field of a websocket message.
pub fn turn_request(
    prompt: &Prompt,
    user_text: &str,
    previous_response_id: Option<&str>,
    websocket: bool,
) -> String {
    let mut map = common_fields(&prompt.model, &prompt.thread_id);
    if websocket {
        map.insert("type".into(), json!("response.create"));
    }
    if let Some(previous) = previous_response_id {
        map.insert("previous_response_id".into(), json!(previous));
    }
    let body = TurnBody {
        fields: map,
        input: TurnInput {
            base: &prompt.base_input,
            user: message("user", user_text.to_owned()),
        },
    };
    serde_json::to_string(&body).expect("a JSON body always serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructions_have_the_configured_size() {
        for n in [0, 1, 100, 16_384] {
            assert_eq!(instructions(n).len(), n);
        }
    }

    #[test]
    fn turn_request_carries_previous_id_and_tools_first() {
        let prompt = build("m", "t1", "do things", &[], "/w");
        let body: Value =
            serde_json::from_str(&turn_request(&prompt, "hi", Some("resp_1"), true)).unwrap();
        assert_eq!(body["type"], "response.create");
        assert_eq!(body["previous_response_id"], "resp_1");
        assert_eq!(body["input"][0]["type"], "additional_tools");
        assert_eq!(body["input"][3]["content"][0]["text"], "hi");
        let warm: Value = serde_json::from_str(&warmup_request("m", "t1")).unwrap();
        assert_eq!(warm["generate"], false);
        assert_eq!(warm["input"], json!([]));
    }
}
