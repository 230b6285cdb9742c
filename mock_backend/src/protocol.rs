//! The Responses-API events the mock sends, shaped like the captures of the real service that
//! codex 0.169.0 accepts (see `shared/fixtures/codex-0.169.0/websocket_session.json`).

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::{Value, json};

/// The fields of a `response.create` request the mock acts on. Everything else in the body
/// (the prompt, tools, metadata) is skipped without being materialized.
#[derive(Debug, Deserialize)]
pub struct CreateRequest<'a> {
    /// `"response.create"` on the websocket; absent over HTTP.
    #[serde(rename = "type", default, borrow)]
    pub kind: Option<Cow<'a, str>>,
    /// `false` marks a warmup.
    #[serde(default)]
    pub generate: Option<bool>,
    #[serde(default, borrow)]
    pub previous_response_id: Option<Cow<'a, str>>,
}

impl CreateRequest<'_> {
    pub fn is_warmup(&self) -> bool {
        self.generate == Some(false)
    }
}

/// An `error` event, sent on the websocket for a message the mock cannot act on.
pub fn error_event(message: &str) -> Value {
    json!({"type": "error", "error": {"type": "invalid_request_error", "message": message}})
}

/// Event types, in the order of one answer.
pub const CREATED: &str = "response.created";
pub const ITEM_ADDED: &str = "response.output_item.added";
pub const TEXT_DELTA: &str = "response.output_text.delta";
pub const ITEM_DONE: &str = "response.output_item.done";
pub const COMPLETED: &str = "response.completed";

fn usage() -> Value {
    json!({
        "input_tokens": 10,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 5,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 15
    })
}

pub fn created(response_id: &str) -> Value {
    json!({"type": CREATED, "response": {"id": response_id, "status": "in_progress"}})
}

pub fn item_added(item_id: &str) -> Value {
    json!({
        "type": ITEM_ADDED,
        "output_index": 0,
        "item": {"type": "message", "role": "assistant", "id": item_id, "status": "in_progress", "content": []}
    })
}

pub fn text_delta(item_id: &str, delta: &str) -> Value {
    json!({"type": TEXT_DELTA, "item_id": item_id, "output_index": 0, "content_index": 0, "delta": delta})
}

pub fn item_done(item_id: &str, text: &str) -> Value {
    json!({
        "type": ITEM_DONE,
        "output_index": 0,
        "item": {
            "type": "message", "role": "assistant", "id": item_id, "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}]
        }
    })
}

pub fn completed(response_id: &str) -> Value {
    json!({"type": COMPLETED, "response": {"id": response_id, "status": "completed", "usage": usage()}})
}

/// One server-sent-events frame: `event: TYPE\ndata: JSON\n\n`.
pub fn sse_frame(event: &Value) -> String {
    let kind = event
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("message");
    format!("event: {kind}\ndata: {event}\n\n")
}

/// Splits the answer into `tokens` non-empty pieces (fewer when the text is shorter).
pub fn split_answer(answer: &str, tokens: u32) -> Vec<String> {
    let chars: Vec<char> = answer.chars().collect();
    let tokens = (tokens.max(1) as usize).min(chars.len().max(1));
    if chars.is_empty() {
        return vec![String::new()];
    }
    let base = chars.len() / tokens;
    let extra = chars.len() % tokens;
    let mut pieces = Vec::with_capacity(tokens);
    let mut start = 0;
    for i in 0..tokens {
        let len = base + usize::from(i < extra);
        pieces.push(chars[start..start + len].iter().collect());
        start += len;
    }
    pieces
}

/// A JSON error body for HTTP faults.
pub fn error_body(status: u16, message: &str) -> String {
    json!({"error": {"message": message, "type": "mock_fault", "code": status}}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_answer_keeps_the_text() {
        let pieces = split_answer("Hello from the mock model.", 5);
        assert_eq!(pieces.len(), 5);
        assert_eq!(pieces.concat(), "Hello from the mock model.");
        assert_eq!(split_answer("ab", 10), vec!["a", "b"]);
    }

    #[test]
    fn sse_frame_names_the_event() {
        let frame = sse_frame(&completed("resp_1"));
        assert!(frame.starts_with("event: response.completed\ndata: {"));
        assert!(frame.ends_with("\n\n"));
    }
}
