//! Per-iteration timelines as Chrome trace-event JSON (the format ui.perfetto.dev and
//! chrome://tracing open): one process per kept iteration (named with its round, index and
//! length, the slowest first), one thread (track) per concurrent task of the startup path, a
//! complete event (`"ph": "X"`) per phase, and the mock's server-side instants as instant
//! events (`"ph": "i"`). Times are microseconds since the earliest kept iteration's start.
//!
//! Tracks: `thread` (thread start), `prewarm` (turn context, prompt, resolve, total), `tools`
//! (tool building, which runs beside the websocket), `websocket` (connect and warmup), `turn`
//! (time to first token), `client` (the harness's own timings), `server` (the mock's events).

use std::time::SystemTime;

use serde_json::{Value, json};

use crate::measure::timeline::Timeline;
use crate::results::RunSummary;

/// The track a metric's phase is drawn on, and its thread id.
pub(crate) fn track(metric: &str) -> (&'static str, u32) {
    let bare = metric.split_once('.').map_or(metric, |(cohort, rest)| {
        if matches!(cohort, "cold" | "warm" | "followup") {
            rest
        } else {
            metric
        }
    });
    match bare {
        m if m.starts_with("client.") => ("client", 6),
        m if m.starts_with("thread_start_") => ("thread", 1),
        "startup_prewarm_build_tools" => ("tools", 3),
        "websocket_connect" | "startup_prewarm_websocket_warmup" => ("websocket", 4),
        m if m.starts_with("startup_prewarm_") => ("prewarm", 2),
        "turn_ttft" => ("turn", 5),
        _ => ("other", 8),
    }
}

const SERVER_TRACK: u32 = 7;

fn micros(at: SystemTime, origin: SystemTime) -> u64 {
    at.duration_since(origin).unwrap_or_default().as_micros() as u64
}

/// The Chrome trace-event format: a recorded run's kept timelines.
pub(crate) struct Trace;

impl super::Exporter for Trace {
    fn format(&self) -> super::Format {
        super::Format::Trace
    }

    fn export(&self, document: super::Document<'_>) -> Result<Vec<u8>, super::Unsupported> {
        match document {
            super::Document::Recorded(r) => Ok(chrome_trace(r.view.summary, r.timelines)),
            _ => Err(self.unsupported(document)),
        }
    }
}

/// The trace document of a run's kept timelines.
pub(crate) fn chrome_trace(summary: &RunSummary, timelines: &[Timeline]) -> Vec<u8> {
    let origin = timelines
        .iter()
        .map(|t| t.started_at)
        .min()
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let mut events: Vec<Value> = Vec::new();
    for (rank, t) in timelines.iter().enumerate() {
        let pid = rank as u64 + 1;
        events.push(json!({
            "ph": "M", "name": "process_name", "pid": pid,
            "args": { "name": format!(
                "round {} iteration {}: {:.3} ms{}",
                t.round,
                t.index,
                t.length.as_secs_f64() * 1e3,
                if t.failed { " (failed)" } else { "" }
            ) }
        }));
        events.push(json!({
            "ph": "M", "name": "process_sort_index", "pid": pid, "args": { "sort_index": pid }
        }));
        let mut named = Vec::new();
        for phase in &t.phases {
            let (Some(start), Some(_)) = (phase.started_at(), phase.ended_at) else {
                continue;
            };
            let (track, tid) = track(&phase.key.metric);
            if !named.contains(&tid) {
                named.push(tid);
                events.push(json!({
                    "ph": "M", "name": "thread_name", "pid": pid, "tid": tid,
                    "args": { "name": track }
                }));
            }
            let mut args = json!({ "duration_ms": phase.duration.as_secs_f64() * 1e3 });
            if let Some(status) = &phase.key.status {
                args["status"] = json!(status);
            }
            events.push(json!({
                "ph": "X", "name": phase.key.metric, "cat": track, "pid": pid, "tid": tid,
                "ts": micros(start, origin), "dur": phase.duration.as_micros() as u64,
                "args": args
            }));
        }
        if !t.marks.is_empty() {
            events.push(json!({
                "ph": "M", "name": "thread_name", "pid": pid, "tid": SERVER_TRACK,
                "args": { "name": "server" }
            }));
        }
        for mark in &t.marks {
            events.push(json!({
                "ph": "i", "s": "t", "name": mark.name, "cat": "server", "pid": pid,
                "tid": SERVER_TRACK, "ts": micros(mark.at, origin)
            }));
        }
    }
    crate::results::json_bytes(&json!({
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": {
            "tool": format!("phasebench {}", summary.tool.version),
            "scenario": summary.scenario.name,
            "target": format!("{} {}", summary.target.name, summary.target.version),
            "kept": timelines.len(),
            "policy": format!(
                "the {} slowest iterations, then a systematic sample of at most {}",
                crate::measure::timeline::SLOWEST,
                crate::measure::timeline::SAMPLED
            ),
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_and_the_websocket_get_tracks_of_their_own() {
        assert_eq!(track("startup_prewarm_build_tools").0, "tools");
        assert_eq!(track("websocket_connect").0, "websocket");
        assert_eq!(track("startup_prewarm_websocket_warmup").0, "websocket");
        assert_eq!(track("startup_prewarm_resolve").0, "prewarm");
        assert_eq!(track("thread_start_total").0, "thread");
        assert_eq!(track("cold.turn_ttft").0, "turn");
        assert_eq!(track("client.iteration").0, "client");
    }
}
