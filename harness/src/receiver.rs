//! The OTLP/HTTP receiver an external target (the real codex CLI) exports to: `POST /v1/logs`,
//! `/v1/traces` and `/v1/metrics` on 127.0.0.1, JSON or protobuf, gzip accepted, bodies above
//! a size limit refused. It answers 200 as soon as a body is filed (the exporting process waits
//! on every export), merges every body, and files log samples under their `conversation.id`
//! for the harness to take per thread. A malformed body is counted and answered 400, never
//! fatal. Trace bodies feed a [`SpanIndex`]: a thread's whole-millisecond phases are refined
//! from their spans when the harness takes them (see [`crate::spans`]). Metric bodies are
//! counted only (the same figures arrive, unaggregated, as log events).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use mock_backend::loopback::{LoopbackError, LoopbackServer};
use serde::{Deserialize, Serialize};

use crate::otlp::{self, Encoding};
use crate::sample::Sample;
use crate::spans::{RefinementCounts, SpanIndex};

/// Spans kept at most; past it the index is emptied (spans of the turns after a thread's
/// startup are never asked for, and a run of many thousand threads must not grow without end).
const MAX_SPANS: usize = 200_000;

/// Default largest accepted body, after decompression.
pub const DEFAULT_BODY_LIMIT: usize = 16 * 1024 * 1024;
/// Malformed bodies quoted in the stats.
const ERROR_EXAMPLES: usize = 5;

/// Counters of what arrived.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiverStats {
    pub logs_bodies: u64,
    pub traces_bodies: u64,
    pub metrics_bodies: u64,
    /// Spans seen in trace bodies (all of them, kept or not).
    pub spans: u64,
    /// Phase samples given their span's duration.
    pub refined_samples: u64,
    /// Phase samples whose span never arrived, or disagreed with the logged value.
    pub unrefined_samples: u64,
    pub malformed_bodies: u64,
    pub malformed_events: u64,
    pub unattributed_events: u64,
    /// The first few problems: "POST /v1/logs: why".
    pub errors: Vec<String>,
}

/// A logged sample and the span (`spanId`) its record was logged in.
type SpannedSample = (Sample, Option<u64>);

#[derive(Default)]
struct Shared {
    /// Each sample with the span it was logged in.
    by_thread: Mutex<HashMap<String, Vec<SpannedSample>>>,
    spans: Mutex<SpanIndex>,
    refinements: Mutex<RefinementCounts>,
    spans_seen: AtomicU64,
    logs_bodies: AtomicU64,
    traces_bodies: AtomicU64,
    metrics_bodies: AtomicU64,
    malformed_bodies: AtomicU64,
    malformed_events: AtomicU64,
    unattributed_events: AtomicU64,
    errors: Mutex<Vec<String>>,
    /// Woken whenever log samples were filed.
    arrived: tokio::sync::Notify,
    limit: usize,
}

impl Shared {
    fn malformed(&self, route: &str, why: String) -> Response {
        self.malformed_bodies.fetch_add(1, Ordering::Relaxed);
        let mut errors = self.errors.lock().unwrap_or_else(PoisonError::into_inner);
        if errors.len() < ERROR_EXAMPLES {
            errors.push(format!("POST {route}: {why}"));
        }
        (StatusCode::BAD_REQUEST, why).into_response()
    }
}

/// A running receiver; stops on drop.
pub struct OtlpReceiver {
    server: LoopbackServer,
    shared: Arc<Shared>,
}

/// Starting failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot start the OTLP receiver: {0}")]
pub struct ReceiverError(#[from] LoopbackError);

impl OtlpReceiver {
    /// Starts on a free port; bodies above `limit` bytes are refused.
    pub fn start(limit: usize) -> Result<Self, ReceiverError> {
        let shared = Arc::new(Shared {
            limit,
            ..Shared::default()
        });
        let app = Router::new()
            .route("/v1/logs", post(logs))
            .route("/v1/traces", post(traces))
            .route("/v1/metrics", post(metrics))
            .with_state(Arc::clone(&shared));
        let server = LoopbackServer::start(app, 0, "otlp-receiver")?;
        Ok(Self { server, shared })
    }

    /// `http://127.0.0.1:PORT`; exporters post to `{uri}/v1/logs` and so on.
    pub fn uri(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// Removes and returns the samples of one thread, each phase with a span refined to the
    /// span's duration (when the span arrived and agrees).
    pub fn take(&self, thread_id: &str) -> Vec<Sample> {
        let logged = self
            .shared
            .by_thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(thread_id)
            .unwrap_or_default();
        let logged_in: Vec<u64> = logged.iter().filter_map(|(_, span)| *span).collect();
        let mut spans = self
            .shared
            .spans
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut counts = RefinementCounts::default();
        let samples = logged
            .into_iter()
            .map(|(mut sample, span)| {
                counts.count(spans.refine(&mut sample, span));
                sample
            })
            .collect();
        // Logged-in spans are per thread: what they hold is of no use once taken.
        for span in logged_in {
            spans.forget(span);
        }
        drop(spans);
        let mut total = self
            .shared
            .refinements
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        total.refined += counts.refined;
        total.missing += counts.missing;
        total.disagreeing += counts.disagreeing;
        samples
    }

    /// Waits until thread `thread_id` has at least `count` samples of `metric`, or `timeout`
    /// passed; returns whether they arrived. A long-lived process exports its telemetry in
    /// batches, after the events it reports.
    pub async fn wait_for(
        &self,
        thread_id: &str,
        metric: &str,
        count: usize,
        timeout: std::time::Duration,
    ) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let arrived = self.shared.arrived.notified();
            tokio::pin!(arrived);
            // Registered before the check, so a body filed in between still wakes us.
            arrived.as_mut().enable();
            let have = self
                .shared
                .by_thread
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(thread_id)
                .map_or(0, |samples| {
                    samples.iter().filter(|(s, _)| s.metric == metric).count()
                });
            if have >= count {
                return true;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return false;
            }
        }
    }

    /// Removes and returns every thread's samples (as logged, unrefined).
    pub fn take_all(&self) -> HashMap<String, Vec<Sample>> {
        std::mem::take(
            &mut *self
                .shared
                .by_thread
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )
        .into_iter()
        .map(|(thread, logged)| (thread, logged.into_iter().map(|(s, _)| s).collect()))
        .collect()
    }

    /// Waits until every phase sample of `thread_id` that has a span can find it, or
    /// `timeout` passed; returns whether they all could. Trace batches are exported on their
    /// own schedule, apart from the logs.
    pub async fn wait_for_spans(&self, thread_id: &str, timeout: std::time::Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let arrived = self.shared.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            let ready = {
                let by_thread = self
                    .shared
                    .by_thread
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                let spans = self
                    .shared
                    .spans
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                by_thread.get(thread_id).is_none_or(|logged| {
                    logged
                        .iter()
                        .all(|(sample, span)| spans.has_span_for(sample, *span))
                })
            };
            if ready {
                return true;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return false;
            }
        }
    }

    pub fn stats(&self) -> ReceiverStats {
        let s = &self.shared;
        let refinements = *s.refinements.lock().unwrap_or_else(PoisonError::into_inner);
        ReceiverStats {
            logs_bodies: s.logs_bodies.load(Ordering::Relaxed),
            traces_bodies: s.traces_bodies.load(Ordering::Relaxed),
            metrics_bodies: s.metrics_bodies.load(Ordering::Relaxed),
            spans: s.spans_seen.load(Ordering::Relaxed),
            refined_samples: refinements.refined,
            unrefined_samples: refinements.missing + refinements.disagreeing,
            malformed_bodies: s.malformed_bodies.load(Ordering::Relaxed),
            malformed_events: s.malformed_events.load(Ordering::Relaxed),
            unattributed_events: s.unattributed_events.load(Ordering::Relaxed),
            errors: s
                .errors
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        }
    }
}

/// Reads, size-checks and inflates a body.
async fn read_body(
    shared: &Shared,
    route: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<(Encoding, Bytes), Response> {
    let bytes = match axum::body::to_bytes(body, shared.limit).await {
        Ok(bytes) => bytes,
        Err(e) => {
            return Err(shared.malformed(
                route,
                format!("body unreadable or above {} bytes: {e}", shared.limit),
            ));
        }
    };
    let encoding = Encoding::from_content_type(
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
    );
    let gzip = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    if !gzip {
        return Ok((encoding, bytes));
    }
    match otlp::gunzip(&bytes, shared.limit) {
        Ok(inflated) => Ok((encoding, Bytes::from(inflated))),
        Err(e) => Err(shared.malformed(route, e.to_string())),
    }
}

/// The success answer: an empty export response in the request's encoding.
fn ok(encoding: Encoding) -> Response {
    match encoding {
        Encoding::Json => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            "{}",
        )
            .into_response(),
        Encoding::Protobuf => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/x-protobuf")],
            Vec::new(),
        )
            .into_response(),
    }
}

async fn logs(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Body) -> Response {
    let (encoding, bytes) = match read_body(&shared, "/v1/logs", &headers, body).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    let decoded = match otlp::decode_logs(&bytes, encoding) {
        Ok(decoded) => decoded,
        Err(e) => return shared.malformed("/v1/logs", e.to_string()),
    };
    shared.logs_bodies.fetch_add(1, Ordering::Relaxed);
    shared
        .malformed_events
        .fetch_add(decoded.malformed_events, Ordering::Relaxed);
    shared
        .unattributed_events
        .fetch_add(decoded.unattributed_events, Ordering::Relaxed);
    let mut by_thread = shared
        .by_thread
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    for logged in decoded.samples {
        by_thread
            .entry(logged.thread)
            .or_default()
            .push((logged.sample, logged.span));
    }
    drop(by_thread);
    shared.arrived.notify_waiters();
    ok(encoding)
}

async fn traces(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Body) -> Response {
    let (encoding, bytes) = match read_body(&shared, "/v1/traces", &headers, body).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    let (kept, seen) = match otlp::decode_spans(&bytes, encoding) {
        Ok(decoded) => decoded,
        Err(e) => return shared.malformed("/v1/traces", e.to_string()),
    };
    shared.traces_bodies.fetch_add(1, Ordering::Relaxed);
    shared.spans_seen.fetch_add(seen, Ordering::Relaxed);
    let mut spans = shared.spans.lock().unwrap_or_else(PoisonError::into_inner);
    if spans.len() + kept.len() > MAX_SPANS {
        *spans = SpanIndex::default();
    }
    for span in kept {
        spans.insert(span);
    }
    drop(spans);
    shared.arrived.notify_waiters();
    ok(encoding)
}

async fn metrics(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Body) -> Response {
    let (encoding, _) = match read_body(&shared, "/v1/metrics", &headers, body).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    shared.metrics_bodies.fetch_add(1, Ordering::Relaxed);
    ok(encoding)
}
