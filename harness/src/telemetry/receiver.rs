//! The OTLP/HTTP receiver an external target (the real codex CLI) exports to: `POST /v1/logs`,
//! `/v1/traces` and `/v1/metrics` on 127.0.0.1, JSON or protobuf, gzip accepted, bodies above
//! a size limit refused. It answers 200 as soon as a body is read (the exporting process waits
//! on every export, at exit too) and decodes it afterwards, merges every body, and files log
//! samples under their `conversation.id` for the harness to take per thread. A body too large
//! or badly compressed is answered 400; one that does not decode is counted. Neither is fatal.
//!
//! Everything it holds is bounded, whoever sends: at most [`BODIES_IN_FLIGHT`] large bodies
//! are read or decoded at once (the others wait their turn, so memory is bounded by the
//! slots, not by how many senders there are), and at most [`SMALL_BODIES_IN_FLIGHT`] small ones (declared at most
//! [`SMALL_BODY`] bytes: codex's exports are a few kilobytes) in a lane of their own, so a few
//! slow senders holding the large slots do not stall a run's telemetry; a body must arrive
//! within [`BODY_DEADLINE`] (well inside an iteration's deadline), and at most [`MAX_THREADS`] threads of at most
//! [`MAX_SAMPLES_PER_THREAD`] samples are kept; what is dropped is counted and reported.
//!
//! Trace bodies feed a [`SpanIndex`]: a thread's whole-millisecond phases are refined from
//! their spans when the harness takes them (see [`crate::telemetry::spans`]). Metric bodies are counted
//! only (the same figures arrive, unaggregated, as log events).
//!
//! Why one long file: the three signal routes share the bounds (body size, concurrent decodes,
//! kept samples) and the filing state; each route is short.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use loopback::{LoopbackError, LoopbackServer};
use serde::{Deserialize, Serialize};

use crate::model::sample::Sample;
use crate::telemetry::otlp::{self, Encoding};
use crate::telemetry::spans::{RefinementCounts, SpanIndex};

/// Spans kept at most; past it the index is emptied (spans of the turns after a thread's
/// startup are never asked for, and a run of many thousand threads must not grow without end).
const MAX_SPANS: usize = 200_000;

/// Large (or unsized) bodies read or being decoded at once.
pub(crate) const BODIES_IN_FLIGHT: usize = 4;
/// Small bodies read or being decoded at once, beside the large ones.
pub(crate) const SMALL_BODIES_IN_FLIGHT: usize = 32;
/// The largest `content-length` of a small body.
pub(crate) const SMALL_BODY: u64 = 256 << 10;
/// How long a body may take to arrive: on loopback a whole export takes milliseconds, and a
/// sender that stalls mid-body holds its slot no longer than this.
pub(crate) const BODY_DEADLINE: std::time::Duration = std::time::Duration::from_secs(3);
/// Threads (`conversation.id`s) with samples waiting to be taken.
pub(crate) const MAX_THREADS: usize = 10_000;
/// Samples kept per thread.
pub(crate) const MAX_SAMPLES_PER_THREAD: usize = 10_000;

/// Default largest accepted body, after decompression.
pub(crate) const DEFAULT_BODY_LIMIT: usize = 16 * 1024 * 1024;
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
    /// Samples not kept: beyond [`MAX_THREADS`] threads or [`MAX_SAMPLES_PER_THREAD`].
    #[serde(default)]
    pub dropped_samples: u64,
    /// The first few problems: "POST /v1/logs: why".
    pub errors: Vec<String>,
}

/// A logged sample and the span (`spanId`) its record was logged in.
type SpannedSample = (Sample, Option<u64>);

/// Permits to read and decode a body: the large lane and the small one.
struct BodySlots {
    large: Arc<tokio::sync::Semaphore>,
    small: Arc<tokio::sync::Semaphore>,
}

impl Default for BodySlots {
    fn default() -> Self {
        Self {
            large: Arc::new(tokio::sync::Semaphore::new(BODIES_IN_FLIGHT)),
            small: Arc::new(tokio::sync::Semaphore::new(SMALL_BODIES_IN_FLIGHT)),
        }
    }
}

#[derive(Default)]
struct Shared {
    slots: BodySlots,
    dropped_samples: AtomicU64,
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
    /// Woken whenever a body was filed.
    arrived: tokio::sync::Notify,
    /// Bodies answered but not yet filed.
    pending: AtomicU64,
    limit: usize,
}

impl Shared {
    fn record_malformed(&self, route: &str, why: String) {
        self.malformed_bodies.fetch_add(1, Ordering::Relaxed);
        let mut errors = self.errors.lock().unwrap_or_else(PoisonError::into_inner);
        if errors.len() < ERROR_EXAMPLES {
            errors.push(format!("POST {route}: {why}"));
        }
    }

    /// Counts a body that could not even be read (too large, bad gzip) and refuses it.
    fn malformed(&self, route: &str, why: String) -> Response {
        self.record_malformed(route, why.clone());
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

    /// Waits until `ready` holds, re-checking whenever a body is filed, or until `timeout`
    /// passed; returns whether it held.
    async fn wait_until(
        &self,
        timeout: std::time::Duration,
        ready: impl Fn(&Shared) -> bool,
    ) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let arrived = self.shared.arrived.notified();
            tokio::pin!(arrived);
            // Registered before the check, so a body filed in between still wakes us.
            arrived.as_mut().enable();
            if ready(&self.shared) {
                return true;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return false;
            }
        }
    }

    /// Waits until every body answered so far has been filed, or `timeout` passed; returns
    /// whether it settled. Call it before [`OtlpReceiver::take`] once the exporting process has
    /// exited (it had every export answered before exiting).
    pub async fn settle(&self, timeout: std::time::Duration) -> bool {
        self.wait_until(timeout, |s| s.pending.load(Ordering::SeqCst) == 0)
            .await
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
        self.wait_until(timeout, |s| {
            s.by_thread
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(thread_id)
                .map_or(0, |samples| {
                    samples
                        .iter()
                        .filter(|(s, _)| s.key.metric == metric)
                        .count()
                })
                >= count
        })
        .await
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
        self.wait_until(timeout, |s| {
            let by_thread = s.by_thread.lock().unwrap_or_else(PoisonError::into_inner);
            let spans = s.spans.lock().unwrap_or_else(PoisonError::into_inner);
            by_thread.get(thread_id).is_none_or(|logged| {
                logged
                    .iter()
                    .all(|(sample, span)| spans.has_span_for(sample, *span))
            })
        })
        .await
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
            dropped_samples: s.dropped_samples.load(Ordering::Relaxed),
            errors: s
                .errors
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        }
    }
}

/// Reads, size-checks and inflates a body (to at most `limit` bytes either way).
async fn read_body(
    shared: &Shared,
    route: &str,
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<(Encoding, Bytes), Response> {
    let bytes = match tokio::time::timeout(BODY_DEADLINE, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) => {
            return Err(shared.malformed(
                route,
                format!("body unreadable or above {limit} bytes: {e}"),
            ));
        }
        Err(_) => {
            return Err(
                shared.malformed(route, format!("body not received within {BODY_DEADLINE:?}"))
            );
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
    match otlp::gunzip(&bytes, limit) {
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

/// Answers at once and files the body in the background: the exporting process waits for
/// the answer (at exit, for its last batch), so decoding must not delay it. A body that turns
/// out malformed is counted, not refused.
fn file_later(
    shared: &Arc<Shared>,
    slot: tokio::sync::OwnedSemaphorePermit,
    route: &'static str,
    encoding: Encoding,
    bytes: Bytes,
    file: fn(&Shared, &[u8], Encoding) -> Result<(), otlp::OtlpError>,
) -> Response {
    shared.pending.fetch_add(1, Ordering::SeqCst);
    let shared = Arc::clone(shared);
    tokio::task::spawn_blocking(move || {
        // The body's slot is freed once it is filed.
        let _slot = slot;
        if let Err(e) = file(&shared, &bytes, encoding) {
            shared.record_malformed(route, e.to_string());
        }
        shared.pending.fetch_sub(1, Ordering::SeqCst);
        shared.arrived.notify_waiters();
    });
    ok(encoding)
}

fn file_logs(shared: &Shared, bytes: &[u8], encoding: Encoding) -> Result<(), otlp::OtlpError> {
    let decoded = otlp::decode_logs(bytes, encoding)?;
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
    let mut dropped = 0;
    for logged in decoded.samples {
        if by_thread.len() >= MAX_THREADS && !by_thread.contains_key(&logged.thread) {
            dropped += 1;
            continue;
        }
        let samples = by_thread.entry(logged.thread).or_default();
        if samples.len() >= MAX_SAMPLES_PER_THREAD {
            dropped += 1;
            continue;
        }
        samples.push((logged.sample, logged.span));
    }
    if dropped > 0 {
        shared.dropped_samples.fetch_add(dropped, Ordering::Relaxed);
    }
    Ok(())
}

fn file_traces(shared: &Shared, bytes: &[u8], encoding: Encoding) -> Result<(), otlp::OtlpError> {
    let (kept, seen) = otlp::decode_spans(bytes, encoding)?;
    shared.traces_bodies.fetch_add(1, Ordering::Relaxed);
    shared.spans_seen.fetch_add(seen, Ordering::Relaxed);
    let mut spans = shared.spans.lock().unwrap_or_else(PoisonError::into_inner);
    if spans.len() + kept.len() > MAX_SPANS {
        *spans = SpanIndex::default();
    }
    for span in kept {
        spans.insert(span);
    }
    Ok(())
}

/// The most a small body may inflate to (gzip), so the small lane's memory stays bounded
/// ([`SMALL_BODIES_IN_FLIGHT`] × this).
const SMALL_INFLATED: usize = 4 << 20;

/// Waits for a body slot in the body's lane: a body that declares at most [`SMALL_BODY`]
/// bytes takes a small slot (and is read and inflated under the small lane's limits), any
/// other a large one. Returns the slot and the body's limit.
async fn slot(shared: &Shared, headers: &HeaderMap) -> (tokio::sync::OwnedSemaphorePermit, usize) {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let (lane, limit) = match declared {
        Some(n) if n <= SMALL_BODY => (&shared.slots.small, shared.limit.min(SMALL_INFLATED)),
        _ => (&shared.slots.large, shared.limit),
    };
    let permit = Arc::clone(lane)
        .acquire_owned()
        .await
        .expect("the semaphore is never closed");
    (permit, limit)
}

async fn logs(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Body) -> Response {
    let (slot, limit) = slot(&shared, &headers).await;
    match read_body(&shared, "/v1/logs", &headers, body, limit).await {
        Ok((encoding, bytes)) => file_later(&shared, slot, "/v1/logs", encoding, bytes, file_logs),
        Err(response) => response,
    }
}

async fn traces(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Body) -> Response {
    let (slot, limit) = slot(&shared, &headers).await;
    match read_body(&shared, "/v1/traces", &headers, body, limit).await {
        Ok((encoding, bytes)) => {
            file_later(&shared, slot, "/v1/traces", encoding, bytes, file_traces)
        }
        Err(response) => response,
    }
}

async fn metrics(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Body) -> Response {
    let (_slot, limit) = slot(&shared, &headers).await;
    let (encoding, _) = match read_body(&shared, "/v1/metrics", &headers, body, limit).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    shared.metrics_bodies.fetch_add(1, Ordering::Relaxed);
    ok(encoding)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const LOGS: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/codex-0.169.0/otlp_v1_logs.json"
    );
    const THREAD: &str = "01a20ae0-451f-7be3-8122-be4b48a18ace";

    /// Senders that start a body and never finish it hold their slots;
    /// a codex export beside them is still filed at once, and the stalled bodies are given
    /// up at the body deadline, not held for an iteration's length.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn slow_senders_do_not_stall_small_exports() {
        use tokio::io::AsyncWriteExt;
        let receiver = OtlpReceiver::start(16 << 20).unwrap();
        let authority = receiver.uri().trim_start_matches("http://").to_owned();
        let mut stalled = Vec::new();
        for declared in [1 << 20, 1 << 20, 1 << 20, 1 << 20, 1000, 1000] {
            let mut stream = tokio::net::TcpStream::connect(&authority).await.unwrap();
            let head = format!(
                "POST /v1/logs HTTP/1.1\r\nhost: {authority}\r\ncontent-type: \
                 application/json\r\ncontent-length: {declared}\r\n\r\n{{\"resourceLogs"
            );
            stream.write_all(head.as_bytes()).await.unwrap();
            stalled.push(stream);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let logs = std::fs::read(LOGS).unwrap();
        let started = std::time::Instant::now();
        assert_eq!(post(&receiver, "/v1/logs", logs, false).await, 200);
        assert!(
            receiver
                .wait_for(THREAD, "turn_ttft", 1, Duration::from_secs(10))
                .await
        );
        assert!(
            started.elapsed() < BODY_DEADLINE,
            "filed after {:?}",
            started.elapsed()
        );
        // The stalled bodies are given up at their deadline and counted.
        assert!(
            receiver
                .settle(BODY_DEADLINE + Duration::from_secs(10))
                .await
        );
        tokio::time::sleep(BODY_DEADLINE + Duration::from_millis(500)).await;
        let stats = receiver.stats();
        assert!(stats.malformed_bodies >= 6, "{stats:?}");
        drop(stalled);
    }

    async fn post(receiver: &OtlpReceiver, path: &str, body: Vec<u8>, gzip: bool) -> u16 {
        let mut request = reqwest::Client::new()
            .post(format!("{}{path}", receiver.uri()))
            .header("content-type", "application/json");
        if gzip {
            request = request.header("content-encoding", "gzip");
        }
        request.body(body).send().await.unwrap().status().as_u16()
    }

    /// A logs body with one TTFT record for each of `threads` distinct conversation ids.
    fn many_threads(threads: usize) -> Vec<u8> {
        let records: Vec<serde_json::Value> = (0..threads)
            .map(|i| {
                serde_json::json!({ "attributes": [
                    { "key": "event.name", "value": { "stringValue": "codex.turn_ttft" } },
                    { "key": "conversation.id", "value": { "stringValue": format!("t-{i}") } },
                    { "key": "duration_ms", "value": { "intValue": "5" } },
                ]})
            })
            .collect();
        serde_json::json!({ "resourceLogs": [{ "scopeLogs": [{ "logRecords": records }] }] })
            .to_string()
            .into_bytes()
    }

    /// Peak resident memory of this process, from /proc (kB).
    fn peak_rss_kb() -> u64 {
        std::fs::read_to_string("/proc/self/status")
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
            .unwrap()
    }

    /// `cargo test --release -p phasebench --lib receiver_memory -- --ignored --nocapture`:
    /// 200 clients each post a 16 MiB body at once; the receiver holds at most
    /// [`BODIES_IN_FLIGHT`] of them. Prints the peak RSS.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "a memory figure, run by hand"]
    async fn receiver_memory_is_bounded() {
        let receiver = OtlpReceiver::start(DEFAULT_BODY_LIMIT).unwrap();
        let body = Bytes::from(vec![b' '; DEFAULT_BODY_LIMIT]);
        let before = peak_rss_kb();
        let client = reqwest::Client::new();
        let posts: Vec<_> = (0..200)
            .map(|_| {
                let request = client
                    .post(format!("{}/v1/logs", receiver.uri()))
                    .header("content-type", "application/json")
                    .body(body.clone());
                tokio::spawn(async move { request.send().await.map(|r| r.status().as_u16()) })
            })
            .collect();
        let mut answered = 0;
        for post in posts {
            if post.await.unwrap().is_ok() {
                answered += 1;
            }
        }
        assert!(receiver.settle(Duration::from_secs(120)).await);
        let peak = peak_rss_kb();
        eprintln!(
            "200 parallel 16 MiB bodies: {answered} answered; peak RSS {} MB (before: {} MB; the client's 16 MiB body is shared)",
            peak / 1024,
            before / 1024
        );
        assert!(peak < before + 512 * 1024, "peak {peak} kB");
    }

    #[tokio::test]
    async fn threads_kept_are_bounded_and_drops_counted() {
        let receiver = OtlpReceiver::start(DEFAULT_BODY_LIMIT).unwrap();
        let extra = 1_500;
        assert_eq!(
            post(
                &receiver,
                "/v1/logs",
                many_threads(MAX_THREADS + extra),
                false
            )
            .await,
            200
        );
        assert!(receiver.settle(Duration::from_secs(30)).await);
        assert_eq!(receiver.stats().dropped_samples, extra as u64);
        assert_eq!(receiver.take_all().len(), MAX_THREADS);
    }

    #[tokio::test]
    async fn bodies_are_answered_at_once_filed_after_and_bad_ones_counted() {
        let receiver = OtlpReceiver::start(256 * 1024).unwrap();
        let logs = std::fs::read(LOGS).unwrap();
        assert_eq!(post(&receiver, "/v1/logs", logs.clone(), false).await, 200);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &logs).unwrap();
        assert_eq!(
            post(&receiver, "/v1/logs", gz.finish().unwrap(), true).await,
            200
        );
        // Garbage is answered (the body was read) and counted once decoding fails.
        assert_eq!(
            post(&receiver, "/v1/logs", b"{not otlp".to_vec(), false).await,
            200
        );
        assert_eq!(
            post(&receiver, "/v1/traces", b"[]".to_vec(), false).await,
            200
        );
        // Unreadable bodies are refused outright: bad gzip, above the limit.
        assert_eq!(
            post(&receiver, "/v1/logs", b"plain".to_vec(), true).await,
            400
        );
        assert_eq!(
            post(&receiver, "/v1/logs", vec![b' '; 300 * 1024], false).await,
            400
        );
        assert_eq!(
            post(&receiver, "/v1/metrics", b"{}".to_vec(), false).await,
            200
        );
        assert!(receiver.settle(Duration::from_secs(5)).await);
        assert!(
            receiver
                .wait_for(THREAD, "turn_ttft", 2, Duration::from_secs(5))
                .await
        );
        let samples = receiver.take(THREAD);
        assert_eq!(samples.len(), 20, "both log bodies were filed: {samples:?}");
        assert!(receiver.take(THREAD).is_empty(), "taken once");
        let stats = receiver.stats();
        assert_eq!(stats.logs_bodies, 2, "{stats:?}");
        assert_eq!(stats.metrics_bodies, 1, "{stats:?}");
        assert_eq!(stats.malformed_bodies, 4, "{stats:?}");
        assert!(
            stats
                .errors
                .iter()
                .any(|e| e.starts_with("POST /v1/traces")),
            "{stats:?}"
        );
        // Nothing arrives for a thread that does not exist: the wait ends at its deadline.
        assert!(
            !receiver
                .wait_for("no-such-thread", "turn_ttft", 1, Duration::from_millis(50))
                .await
        );
    }
}
