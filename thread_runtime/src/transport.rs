//! The two model transports: a websocket (connect, warmup, turns on one socket) and HTTP
//! `POST /responses` streamed as SSE. Both yield the same Responses-API JSON events.

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::config::RuntimeConfig;
use crate::sse::SseParser;

/// A connected model websocket.
pub type ModelSocket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Read buffer per socket. tungstenite zero-fills its read buffer on every read; its 128 KiB
/// default made buffer zeroing the largest single cost of a startup at high concurrency.
pub const WEBSOCKET_READ_BUFFER: usize = 16 * 1024;

/// The beta header codex 0.169.0 sends on the websocket upgrade.
pub const WEBSOCKET_BETA: &str = "responses_websockets=2026-02-06";

/// What went wrong talking to the model backend.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("websocket upgrade refused with HTTP {status}")]
    UpgradeRefused { status: u16 },
    #[error("{what} timed out after {after:?}")]
    Timeout { what: &'static str, after: Duration },
    #[error("websocket error: {0}")]
    Websocket(#[from] tungstenite::Error),
    #[error("HTTP error: {0}")]
    Http(#[from] reqwest::Error),
    #[error("POST /responses answered HTTP {status}: {body}")]
    Status { status: u16, body: String },
    #[error("the backend sent an event that is not JSON: {0}")]
    BadEvent(String),
    #[error("the backend sent an error event: {0}")]
    ErrorEvent(String),
    #[error("the stream ended before response.completed")]
    Truncated,
    #[error("invalid request: {0}")]
    InvalidRequest(String),
}

fn header(value: &str) -> Result<HeaderValue, TransportError> {
    HeaderValue::from_str(value).map_err(|e| TransportError::InvalidRequest(e.to_string()))
}

/// Connects and upgrades, with TCP_NODELAY (Nagle would add ~40 ms per small frame).
pub async fn connect_websocket(
    config: &RuntimeConfig,
    thread_id: &str,
    timeout: Duration,
) -> Result<ModelSocket, TransportError> {
    let mut request = config.websocket_url().into_client_request()?;
    let headers = request.headers_mut();
    headers.insert(
        "authorization",
        header(&format!("Bearer {}", config.api_key))?,
    );
    headers.insert("openai-beta", header(WEBSOCKET_BETA)?);
    headers.insert("originator", header("phasebench_thread_runtime")?);
    headers.insert("thread-id", header(thread_id)?);
    headers.insert("session-id", header(thread_id)?);
    match tokio::time::timeout(
        timeout,
        tokio_tungstenite::connect_async_with_config(
            request,
            Some(WebSocketConfig::default().read_buffer_size(WEBSOCKET_READ_BUFFER)),
            true,
        ),
    )
    .await
    {
        Err(_) => Err(TransportError::Timeout {
            what: "websocket connect",
            after: timeout,
        }),
        Ok(Err(tungstenite::Error::Http(response))) => Err(TransportError::UpgradeRefused {
            status: response.status().as_u16(),
        }),
        Ok(Err(err)) => Err(err.into()),
        Ok(Ok((socket, _response))) => Ok(socket),
    }
}

/// Sends the warmup (`generate: false`) and waits for `response.completed`; returns its id.
pub async fn warmup(socket: &mut ModelSocket, request: String) -> Result<String, TransportError> {
    socket.send(Message::text(request)).await?;
    let mut events = AnswerStream::Websocket(socket);
    while let Some(event) = events.next_event().await? {
        if event.kind == "response.completed" {
            return Ok(event.response_id().unwrap_or_default().to_owned());
        }
    }
    Err(TransportError::Truncated)
}

/// Posts a turn over HTTP and returns the stream once the headers arrived.
pub async fn post_turn(
    client: &reqwest::Client,
    config: &RuntimeConfig,
    thread_id: &str,
    body: String,
) -> Result<AnswerStream<'static>, TransportError> {
    let send = client
        .post(config.responses_url())
        .header("authorization", format!("Bearer {}", config.api_key))
        .header("content-type", "application/json")
        .header("accept", "text/event-stream")
        .header("originator", "phasebench_thread_runtime")
        .header("thread-id", thread_id)
        .header("session-id", thread_id)
        .body(body)
        .send();
    let response = tokio::time::timeout(config.http_timeout, send)
        .await
        .map_err(|_| TransportError::Timeout {
            what: "POST /responses headers",
            after: config.http_timeout,
        })??;
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        return Err(TransportError::Status {
            status: status.as_u16(),
            body: body.chars().take(200).collect(),
        });
    }
    Ok(AnswerStream::Sse {
        response,
        parser: SseParser::default(),
        pending: VecDeque::new(),
    })
}

/// A source of Responses-API events.
pub enum AnswerStream<'a> {
    Websocket(&'a mut ModelSocket),
    Sse {
        response: reqwest::Response,
        parser: SseParser,
        pending: VecDeque<ResponseEvent>,
    },
}

/// The fields of a Responses-API event the runtime acts on; the rest is skipped unparsed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ResponseEvent {
    #[serde(rename = "type")]
    pub kind: String,
    /// Text of a `response.output_text.delta`.
    #[serde(default)]
    pub delta: Option<String>,
    #[serde(default)]
    response: Option<ResponseRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
struct ResponseRef {
    #[serde(default)]
    id: Option<String>,
}

impl ResponseEvent {
    /// `response.id` of `response.created` / `response.completed`.
    pub fn response_id(&self) -> Option<&str> {
        self.response.as_ref()?.id.as_deref()
    }
}

impl AnswerStream<'_> {
    /// The next event; `None` when the stream ended.
    pub async fn next_event(&mut self) -> Result<Option<ResponseEvent>, TransportError> {
        match self {
            AnswerStream::Websocket(socket) => loop {
                match socket.next().await {
                    None => return Ok(None),
                    Some(Err(err)) => return Err(err.into()),
                    Some(Ok(Message::Text(text))) => return parse_event(text.as_str()).map(Some),
                    Some(Ok(Message::Close(_))) => return Ok(None),
                    Some(Ok(_)) => continue,
                }
            },
            AnswerStream::Sse {
                response,
                parser,
                pending,
            } => loop {
                if let Some(event) = pending.pop_front() {
                    return Ok(Some(event));
                }
                match response.chunk().await? {
                    None => return Ok(None),
                    Some(chunk) => {
                        for frame in parser.push(&chunk) {
                            pending.push_back(parse_event(&frame.data)?);
                        }
                    }
                }
            },
        }
    }
}

fn parse_event(text: &str) -> Result<ResponseEvent, TransportError> {
    let event: ResponseEvent = serde_json::from_str(text)
        .map_err(|_| TransportError::BadEvent(text.chars().take(200).collect()))?;
    if matches!(event.kind.as_str(), "error" | "response.failed") {
        return Err(TransportError::ErrorEvent(text.chars().take(200).collect()));
    }
    Ok(event)
}
