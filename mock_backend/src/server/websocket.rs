//! The websocket at `/v1/responses`: the upgrade (with its injected handshake delay, refusal
//! or stall) and the socket's messages, a warmup `response.create` answered at once
//! (or stalled) and a turn streamed with the same plan as SSE; a message the mock cannot act
//! on is answered with an error event.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};

use super::{RecordOnDrop, ServerState, thread_id};
use crate::protocol;
use crate::record::{Exchange, InjectedFault, RecordedRequest};

pub(super) async fn websocket_upgrade(
    State(state): State<Arc<ServerState>>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let received = Instant::now();
    let thread = thread_id(&headers);
    let mut record = RecordedRequest::new(
        Exchange::WebsocketUpgrade,
        "/v1/responses",
        thread.clone(),
        received,
    );
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => {
            state.log.push(record);
            return rejection.into_response();
        }
    };
    let faults = &state.config.faults;
    let (handshake, reject, stall) = state.draw(|rng| {
        (
            state.config.delays.ws_handshake.sample(rng),
            faults.ws_upgrade_reject.fires(rng),
            faults.warmup_stall.fires(rng),
        )
    });
    record.injected_before_answer = handshake;
    state.timer.sleep_until(received + handshake).await;
    record.completed_sent = Some(Instant::now());
    if reject {
        let status = faults.ws_upgrade_status;
        record.fault = Some(InjectedFault::UpgradeRejected { status });
        state.log.push(record);
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::NOT_FOUND);
        return (code, "websocket upgrade refused by an injected fault\n").into_response();
    }
    state.log.push(record);
    // tungstenite zero-fills its read buffer on every read: 128 KiB by default is costly.
    upgrade
        .read_buffer_size(16 * 1024)
        .on_upgrade(move |socket| serve_socket(socket, state, thread, stall))
}

async fn serve_socket(
    mut socket: WebSocket,
    state: Arc<ServerState>,
    thread: Option<String>,
    stall: bool,
) {
    while let Some(Ok(message)) = socket.next().await {
        let received = Instant::now();
        let text = match message {
            Message::Text(text) => text,
            Message::Close(_) => return,
            _ => continue,
        };
        let refusal = match serde_json::from_str::<protocol::CreateRequest<'_>>(text.as_str()) {
            Ok(request) if request.kind.as_deref() == Some("response.create") => Ok(request),
            Ok(_) => Err("expected a message of type response.create".to_owned()),
            Err(err) => Err(format!("message is not valid JSON: {err}")),
        };
        let request = match refusal {
            Ok(request) => request,
            // Answer what cannot be acted on, so a client never waits on silence.
            Err(why) => {
                let event = protocol::error_event(&why);
                if socket
                    .send(Message::Text(event.to_string().into()))
                    .await
                    .is_err()
                {
                    return;
                }
                continue;
            }
        };
        let warmup = request.is_warmup();
        let exchange = if warmup {
            Exchange::WebsocketWarmup
        } else {
            Exchange::WebsocketTurn
        };
        let mut guard = RecordOnDrop {
            state: Arc::clone(&state),
            record: Some(RecordedRequest::new(
                exchange,
                "/v1/responses",
                thread.clone(),
                received,
            )),
        };
        let Some(record) = guard.get() else {
            continue;
        };
        record.body_bytes = text.len();
        record.previous_response_id = request.previous_response_id.map(Cow::into_owned);
        if warmup {
            if stall {
                // Never answer; keep reading so the client's close is seen.
                if let Some(record) = guard.get() {
                    record.fault = Some(InjectedFault::WarmupStalled);
                }
                continue;
            }
            let delay = state.draw(|rng| state.config.delays.warmup_response.sample(rng));
            if let Some(record) = guard.get() {
                record.injected_before_answer = delay;
            }
            state.timer.sleep_until(received + delay).await;
            let (response_id, _) = state.next_ids();
            let created = protocol::created(&response_id);
            let completed = protocol::completed(&response_id);
            guard.note_sending(&completed, false);
            if socket
                .feed(Message::Text(created.to_string().into()))
                .await
                .is_err()
                || socket
                    .send(Message::Text(completed.to_string().into()))
                    .await
                    .is_err()
            {
                return;
            }
            continue;
        }
        let plan = state.plan_answer();
        if let Some(record) = guard.get() {
            record.injected_first_token = plan.first_token;
            if plan.reset_after_first_delta {
                record.fault = Some(InjectedFault::ResetMidStream);
            }
        }
        // Frames are queued and flushed before every wait and at the end: a delta due now goes
        // out with whatever else is due now, in as few writes as possible.
        for (at, event) in state.answer_events(&plan, received) {
            if at > Instant::now() {
                if socket.flush().await.is_err() {
                    return;
                }
                state.timer.sleep_until(at).await;
            }
            let reset = guard.note_sending(&event, plan.reset_after_first_delta);
            if socket
                .feed(Message::Text(event.to_string().into()))
                .await
                .is_err()
            {
                return;
            }
            if reset {
                // Deliver the delta, then drop the socket without a close frame.
                let _ = socket.flush().await;
                return;
            }
        }
        if socket.flush().await.is_err() {
            return;
        }
    }
}
