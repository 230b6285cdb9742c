//! Server-side ground truth: every request the mock answered, with its timestamps and the
//! delays and faults it drew. The harness cross-checks the runtime's telemetry against these.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

/// Requests without a thread id are kept up to this many (oldest dropped first).
const MAX_UNATTRIBUTED: usize = 10_000;

/// What kind of exchange a record describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Exchange {
    /// `POST /v1/responses`, answered with SSE.
    HttpResponse,
    /// `POST /v1/analytics/codex/turn-costs`.
    TurnCosts,
    /// `GET /v1/responses` websocket upgrade (refused or accepted).
    WebsocketUpgrade,
    /// `response.create` with `generate: false` on a websocket.
    WebsocketWarmup,
    /// `response.create` that generates, on a websocket.
    WebsocketTurn,
    /// Anything else (answered 404).
    Unknown,
}

/// A fault the mock injected into an exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InjectedFault {
    UpgradeRejected { status: u16 },
    WarmupStalled,
    ResetMidStream,
    HttpStatus { status: u16 },
}

/// One answered request.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub exchange: Exchange,
    pub path: String,
    /// From the `thread-id` (or `session-id`) header of the request or of the websocket upgrade.
    pub thread_id: Option<String>,
    /// Wall-clock receive time, for correlating with other processes' logs.
    pub received_wall: SystemTime,
    pub received: Instant,
    /// The delay drawn before the answer started: handshake, warmup or response headers.
    pub injected_before_answer: Duration,
    /// The first-token delay drawn (zero for exchanges without one).
    pub injected_first_token: Duration,
    pub fault: Option<InjectedFault>,
    /// `previous_response_id` of a `response.create`, if any.
    pub previous_response_id: Option<String>,
    /// Request body size in bytes.
    pub body_bytes: usize,
    pub first_delta_sent: Option<Instant>,
    pub completed_sent: Option<Instant>,
}

impl RecordedRequest {
    pub(crate) fn new(
        exchange: Exchange,
        path: &str,
        thread_id: Option<String>,
        received: Instant,
    ) -> Self {
        Self {
            exchange,
            path: path.to_owned(),
            thread_id,
            received_wall: SystemTime::now(),
            received,
            injected_before_answer: Duration::ZERO,
            injected_first_token: Duration::ZERO,
            fault: None,
            previous_response_id: None,
            body_bytes: 0,
            first_delta_sent: None,
            completed_sent: None,
        }
    }
}

/// The log of answered requests, grouped by thread so each can be drained when it finishes.
#[derive(Debug, Default)]
pub struct RequestLog {
    enabled: bool,
    /// Requests answered per kind of exchange, whether or not records are kept.
    counts: Mutex<HashMap<Exchange, u64>>,
    by_thread: Mutex<HashMap<String, Vec<RecordedRequest>>>,
    unattributed: Mutex<Vec<RecordedRequest>>,
}

impl RequestLog {
    pub(crate) fn new(enabled: bool) -> Self {
        Self {
            enabled,
            ..Self::default()
        }
    }

    pub(crate) fn push(&self, record: RecordedRequest) {
        *self
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(record.exchange)
            .or_default() += 1;
        if !self.enabled {
            return;
        }
        match &record.thread_id {
            Some(id) => self
                .by_thread
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(id.clone())
                .or_default()
                .push(record),
            None => {
                let mut list = self
                    .unattributed
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                if list.len() >= MAX_UNATTRIBUTED {
                    list.remove(0);
                }
                list.push(record);
            }
        }
    }

    /// How many exchanges of this kind were answered so far (records taken or not).
    pub fn count(&self, exchange: Exchange) -> u64 {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&exchange)
            .copied()
            .unwrap_or(0)
    }

    /// Removes and returns the records of one thread, in the order they finished.
    pub fn take_thread(&self, thread_id: &str) -> Vec<RecordedRequest> {
        self.by_thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(thread_id)
            .unwrap_or_default()
    }

    /// A copy of every record still held (threads in no particular order).
    pub fn snapshot(&self) -> Vec<RecordedRequest> {
        let mut all: Vec<RecordedRequest> = self
            .by_thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .flatten()
            .cloned()
            .collect();
        all.extend(
            self.unattributed
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .cloned(),
        );
        all.sort_by_key(|r| r.received);
        all
    }
}
