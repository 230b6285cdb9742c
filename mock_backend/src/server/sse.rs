//! `POST /v1/responses` answered as server-sent events: the planned delays before the
//! response starts and between deltas, the injected faults (an error status, a reset after the
//! first delta), each exchange recorded with what was injected.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{RecordOnDrop, ServerState, json_response, thread_id};
use crate::protocol;
use crate::record::{Exchange, InjectedFault, RecordedRequest};

pub(super) async fn http_response(
    State(state): State<Arc<ServerState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let received = Instant::now();
    let mut record = RecordedRequest::new(
        Exchange::HttpResponse,
        "/v1/responses",
        thread_id(&headers),
        received,
    );
    record.body_bytes = body.len();
    let request: protocol::CreateRequest<'_> = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(err) => {
            state.log.push(record);
            return json_response(
                StatusCode::BAD_REQUEST,
                protocol::error_body(400, &format!("request body is not JSON: {err}")),
            );
        }
    };
    record.previous_response_id = request.previous_response_id.map(Cow::into_owned);
    let faults = &state.config.faults;
    let (headers_delay, http_fault) = state.draw(|rng| {
        let delay = state.config.delays.response_headers.sample(rng);
        let fault = if faults.http_429.fires(rng) {
            Some(429)
        } else if faults.http_500.fires(rng) {
            Some(500)
        } else {
            None
        };
        (delay, fault)
    });
    record.injected_before_answer = headers_delay;
    state.timer.sleep_until(received + headers_delay).await;
    if let Some(status) = http_fault {
        record.fault = Some(InjectedFault::HttpStatus { status });
        record.completed_sent = Some(Instant::now());
        state.log.push(record);
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return json_response(code, protocol::error_body(status, "injected fault"));
    }
    let plan = state.plan_answer();
    record.injected_first_token = plan.first_token;
    if plan.reset_after_first_delta {
        record.fault = Some(InjectedFault::ResetMidStream);
    }
    let events = state.answer_events(&plan, Instant::now());
    let guard = RecordOnDrop {
        state: Arc::clone(&state),
        record: Some(record),
    };
    let stream = futures_util::stream::unfold(
        (events.into_iter(), guard, StreamStep::Streaming),
        move |(mut events, mut guard, step)| async move {
            match step {
                StreamStep::Finished => return None,
                StreamStep::ResetPending => {
                    // Failing the body makes hyper abort the connection without the terminating
                    // chunk: the client sees a broken stream, not a clean end.
                    let err = std::io::Error::new(
                        std::io::ErrorKind::ConnectionReset,
                        "injected reset mid-stream",
                    );
                    return Some((Err(err), (events, guard, StreamStep::Finished)));
                }
                StreamStep::Streaming => {}
            }
            let (at, event) = events.next()?;
            guard.state.timer.sleep_until(at).await;
            let frame = Bytes::from(protocol::sse_frame(&event));
            let next = if guard.note_sending(&event, plan.reset_after_first_delta) {
                StreamStep::ResetPending
            } else {
                StreamStep::Streaming
            };
            Some((Ok::<_, std::io::Error>(frame), (events, guard, next)))
        },
    );
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// Where an SSE body stream stands.
enum StreamStep {
    Streaming,
    ResetPending,
    Finished,
}
