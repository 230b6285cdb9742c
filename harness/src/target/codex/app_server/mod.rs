//! `codex app-server`: one long-lived process speaking JSON-RPC on stdio (one JSON object per
//! line, no `"jsonrpc"` field), many threads per process. An iteration is one thread:
//! `thread/start`, then `runtime.turns` × `turn/start`, each awaited to `turn/completed`.
//!
//! The first thread of a process is **cold** (it pays for whatever the process initializes
//! lazily), later ones are **warm**; after `codex.threads_per_process` threads the process is
//! closed (stdin closed: codex flushes its telemetry and exits) and the next iteration starts a
//! new one. Metrics carry their [`Cohort`] in their name (`cold.turn_ttft`, `warm.turn_ttft`,
//! `followup.turn_ttft` for turns after a thread's first), so the three never share a histogram.
//!
//! Processes are pooled: an iteration checks one out and has it to itself, so at concurrency
//! N there are N processes, each serving one thread at a time. A process whose iteration fails
//! or is cancelled is killed (with its process group), never reused.
//!
//! Telemetry: a running process exports its logs in batches, so after the last turn the
//! iteration waits (bounded by [`TELEMETRY_WAIT`]) until the receiver holds the thread's last
//! `turn_ttft`. Events are exported in the order they happened, so every earlier batch was
//! answered before that one; but the receiver decodes bodies on separate blocking tasks, so an
//! earlier batch may still be decoding: the iteration then also waits (same deadline) until
//! every answered body is filed. The batch interval is lowered to [`LOG_EXPORT_INTERVAL_MS`]
//! for this target.
//!
//! The process and its JSON-RPC exchange are in [`process`]; this file is the target: the
//! pool, an iteration's thread and turns, and the telemetry wait.

mod process;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{CodexError, CodexRig};
use crate::model::metric::{
    CLIENT_FIRST_DELTA, CLIENT_INITIALIZE, CLIENT_THREAD_START, CLIENT_TURN_START, Cohort,
    TURN_TTFT,
};
use crate::model::sample::Sample;
use crate::model::target::{TargetInfo, TelemetryHealth};
use crate::scenario::{CodexSpec, Scenario};
use crate::target::{IterationFailure, IterationReport, Target};

use process::{AppServerProcess, Incoming, thread_start_params, turn_start_params};

/// How often the app-server exports its batched logs and spans, in milliseconds (the
/// OpenTelemetry SDK's `OTEL_BLRP_SCHEDULE_DELAY` and `OTEL_BSP_SCHEDULE_DELAY`, 1 s and 5 s by
/// default, which would hold every iteration back while the harness waits for the thread's
/// telemetry).
pub(crate) const LOG_EXPORT_INTERVAL_MS: u64 = 25;
/// How long an iteration waits for its thread's telemetry after the last turn completed.
pub(crate) const TELEMETRY_WAIT: Duration = Duration::from_secs(5);
/// What one turn saw, from the client side.
#[derive(Debug, Default)]
struct ClientTurn {
    response: Option<Duration>,
    first_delta: Option<Duration>,
    answer: Option<String>,
    completed: Option<Value>,
}

/// The codex CLI run as `codex app-server`, with its mock backend and OTLP receiver.
pub struct CodexAppServerTarget {
    rig: CodexRig,
    idle: Mutex<Vec<AppServerProcess>>,
    /// The cohort of each iteration in flight or failed, until the runner asks.
    cohorts: Mutex<HashMap<u64, Cohort>>,
    processes_started: AtomicU64,
}

impl CodexAppServerTarget {
    pub async fn start(scenario: &Scenario, spec: &CodexSpec) -> Result<Self, CodexError> {
        Ok(Self {
            rig: CodexRig::start(scenario, spec).await?,
            idle: Mutex::default(),
            cohorts: Mutex::default(),
            processes_started: AtomicU64::new(0),
        })
    }

    /// The binary, mock backend, receiver and temporary tree (for tests).
    #[cfg(feature = "test-support")]
    pub fn rig(&self) -> &CodexRig {
        &self.rig
    }

    /// App-server processes started so far.
    #[cfg(feature = "test-support")]
    pub fn processes_started(&self) -> u64 {
        self.processes_started.load(Ordering::Relaxed)
    }

    fn checkout(&self) -> Option<AppServerProcess> {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
    }

    /// Returns a process to the pool, or retires it when it has served its threads.
    fn checkin(&self, process: AppServerProcess) {
        if process.threads >= self.rig.spec.threads_per_process.get() {
            tokio::spawn(process.retire());
        } else {
            self.idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(process);
        }
    }

    async fn thread_once(
        &self,
        index: u64,
        samples: &mut Vec<Sample>,
    ) -> Result<(), IterationFailure> {
        let rig = &self.rig;
        let checked_out = self.checkout();
        let cohort = match &checked_out {
            Some(p) if p.threads > 0 => Cohort::Warm,
            _ => Cohort::Cold,
        };
        self.cohorts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(index, cohort);
        let mut process = match checked_out {
            Some(process) => process,
            None => {
                let n = self.processes_started.fetch_add(1, Ordering::Relaxed);
                let (process, initialized) =
                    AppServerProcess::start(rig, &format!("process-{n}")).await?;
                samples.push(Sample::client(&cohort.name(CLIENT_INITIALIZE), initialized));
                process
            }
        };

        let sent = Instant::now();
        let result = process
            .request("thread/start", thread_start_params(&rig.workdir), |_, _| {})
            .await
            .map_err(IterationFailure::Start)?;
        samples.push(Sample::client(
            &cohort.name(CLIENT_THREAD_START),
            sent.elapsed(),
        ));
        process.threads += 1;
        let thread_id = result["thread"]["id"]
            .as_str()
            .ok_or_else(|| {
                IterationFailure::Start(format!(
                    "thread/start answered no thread id: {result:.300}"
                ))
            })?
            .to_owned();

        let turns = rig.spec.turns.get();
        let outcome = self.turns(&mut process, &thread_id, cohort, samples).await;
        // Telemetry first, also for a failed turn: what arrived is kept.
        let complete = match &outcome {
            Ok(()) => {
                let waited = Instant::now();
                let logs = rig
                    .receiver
                    .wait_for(&thread_id, TURN_TTFT, turns as usize, TELEMETRY_WAIT)
                    .await;
                // Earlier batches were answered first but may still be decoding. Other
                // processes' bodies count too, so an unsettled receiver is not a failure: what
                // arrives after the take is counted as late.
                if logs {
                    let left = TELEMETRY_WAIT.saturating_sub(waited.elapsed());
                    rig.receiver.settle(left).await;
                }
                // Spans come in their own batches; missing ones leave phases at whole ms.
                if logs && rig.spec.export_traces {
                    let left = TELEMETRY_WAIT.saturating_sub(waited.elapsed());
                    rig.receiver.wait_for_spans(&thread_id, left).await;
                }
                logs
            }
            Err(_) => true,
        };
        samples.extend(cohort_samples(rig.receiver.take(&thread_id), cohort));
        let _ = rig.mock.requests().take_thread(&thread_id);
        outcome?;
        if !complete {
            return Err(IterationFailure::Telemetry(format!(
                "the telemetry of thread {thread_id} (its {turns} turn_ttft events) did not \
                 arrive within {TELEMETRY_WAIT:?} of the last turn"
            )));
        }
        self.checkin(process);
        Ok(())
    }

    /// Runs the thread's turns one after the other, recording the client-side timings.
    async fn turns(
        &self,
        process: &mut AppServerProcess,
        thread_id: &str,
        cohort: Cohort,
        samples: &mut Vec<Sample>,
    ) -> Result<(), IterationFailure> {
        let rig = &self.rig;
        for turn in 0..rig.spec.turns.get() {
            let turn_cohort = if turn == 0 { cohort } else { Cohort::Followup };
            let params = turn_start_params(thread_id, &rig.spec.prompt);
            let sent = Instant::now();
            let id = process
                .send_request("turn/start", params)
                .await
                .map_err(IterationFailure::Turn)?;
            let mut seen = ClientTurn::default();
            while seen.response.is_none() || seen.completed.is_none() {
                match process.next().await.map_err(IterationFailure::Turn)? {
                    Incoming::Response { id: got, result } if got == id => {
                        seen.response = Some(sent.elapsed());
                        result.map_err(|e| {
                            IterationFailure::Turn(format!("turn/start answered an error: {e}"))
                        })?;
                    }
                    Incoming::Notification { method, params }
                        if params["threadId"].as_str() == Some(thread_id) =>
                    {
                        observe(&mut seen, &method, params, sent);
                    }
                    _ => {}
                }
            }
            let turn_state = seen.completed.take().unwrap_or_default();
            if turn_state["status"] != "completed" {
                return Err(IterationFailure::Turn(format!(
                    "turn {} ended {}: {}",
                    turn + 1,
                    turn_state["status"],
                    turn_state["error"]
                )));
            }
            let response = seen.response.expect("loop ends with a response");
            samples.push(Sample::client(
                &turn_cohort.name(CLIENT_TURN_START),
                response,
            ));
            if let Some(first_delta) = seen.first_delta {
                samples.push(Sample::client(
                    &turn_cohort.name(CLIENT_FIRST_DELTA),
                    first_delta,
                ));
            }
            match seen.answer {
                Some(text) if text == rig.answer => {}
                Some(text) => {
                    return Err(IterationFailure::Turn(format!(
                        "codex answered {text:?}, not the mock's answer"
                    )));
                }
                None => {
                    return Err(IterationFailure::Turn(format!(
                        "turn {} completed without an agent message",
                        turn + 1
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Folds one notification about the turn's thread into what the turn saw.
fn observe(seen: &mut ClientTurn, method: &str, mut params: Value, sent: Instant) {
    match method {
        "item/agentMessage/delta" => {
            seen.first_delta.get_or_insert_with(|| sent.elapsed());
        }
        "item/completed" if params["item"]["type"] == "agentMessage" => {
            seen.answer = params["item"]["text"].as_str().map(str::to_owned);
        }
        "turn/completed" => seen.completed = Some(params["turn"].take()),
        _ => {}
    }
}

/// Names a thread's telemetry by cohort: the first event of each metric belongs to the
/// thread's startup and first turn (`cohort`), later ones to its follow-up turns (events
/// arrive in the order they happened).
fn cohort_samples(samples: Vec<Sample>, cohort: Cohort) -> impl Iterator<Item = Sample> {
    let mut seen: HashSet<(String, Option<String>)> = HashSet::new();
    samples.into_iter().map(move |mut sample| {
        let first = seen.insert((sample.key.metric.clone(), sample.key.status.clone()));
        let in_cohort = if first { cohort } else { Cohort::Followup };
        sample.key.metric = in_cohort.name(&sample.key.metric);
        sample
    })
}

impl Drop for CodexAppServerTarget {
    fn drop(&mut self) {
        self.close_idle();
    }
}

impl CodexAppServerTarget {
    /// The process ids of the processes idle in the pool (for tests).
    #[cfg(feature = "test-support")]
    pub fn idle_pids(&self) -> Vec<u32> {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter_map(AppServerProcess::pid)
            .collect()
    }

    /// Closes the processes idle in the pool the way a client would (stdin closed: codex
    /// flushes its telemetry and exits), killing those that take longer than a grace period;
    /// returns how many exited by themselves. Runs when the target is dropped.
    pub fn close_idle(&self) -> usize {
        let idle = std::mem::take(&mut *self.idle.lock().unwrap_or_else(PoisonError::into_inner));
        process::close_all(idle)
    }
}

impl Target for CodexAppServerTarget {
    async fn run_iteration(&self, index: u64) -> IterationReport {
        let mut samples = Vec::new();
        let started_at = Some(std::time::SystemTime::now());
        let failure = self.thread_once(index, &mut samples).await.err();
        if failure.is_none() {
            self.cohorts
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&index);
        }
        IterationReport {
            samples,
            overheads: Vec::new(),
            failure,
            started_at,
            marks: Vec::new(),
        }
    }

    fn info(&self) -> TargetInfo {
        TargetInfo {
            name: "codex-app-server".into(),
            version: self.rig.version.clone(),
        }
    }

    fn cohort_of(&self, index: u64) -> Option<Cohort> {
        self.cohorts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&index)
    }

    fn telemetry_health(&self) -> TelemetryHealth {
        self.rig.telemetry_health()
    }

    fn warnings(&self) -> Vec<String> {
        self.rig.warnings()
    }
}

#[cfg(test)]
mod tests {
    use super::process::initialize_params;
    use super::*;

    #[test]
    fn messages_are_told_apart() {
        let response = Incoming::parse(r#"{"id":2,"result":{"thread":{"id":"t"}}}"#).unwrap();
        assert!(matches!(
            response,
            Incoming::Response {
                id: 2,
                result: Ok(_)
            }
        ));
        let error = Incoming::parse(r#"{"id":3,"error":{"code":1,"message":"no"}}"#).unwrap();
        assert!(matches!(
            error,
            Incoming::Response {
                id: 3,
                result: Err(_)
            }
        ));
        let note =
            Incoming::parse(r#"{"method":"turn/started","params":{"threadId":"t"}}"#).unwrap();
        assert!(
            matches!(note, Incoming::Notification { ref method, .. } if method == "turn/started")
        );
        let request =
            Incoming::parse(r#"{"id":"a","method":"item/commandExecution/requestApproval"}"#)
                .unwrap();
        assert!(matches!(request, Incoming::Request { .. }));
        let bad = Incoming::parse("not json").unwrap_err();
        assert!(bad.contains("not JSON"), "{bad}");
        assert!(Incoming::parse(r#"{"id":"x","result":1}"#).is_err());
    }

    /// The JSON shape of every key, recursively (values dropped), to compare messages.
    fn shape(value: &Value) -> Value {
        match value {
            Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), shape(v))).collect(),
            Value::Array(items) => items.iter().map(shape).collect(),
            other => Value::String(
                match other {
                    Value::String(_) => "string",
                    Value::Number(_) => "number",
                    Value::Bool(_) => "bool",
                    _ => "null",
                }
                .into(),
            ),
        }
    }

    /// A real app-server session (codex 0.169.0, captured against a mock): phasebench sends
    /// requests of the same shape, and reads the answer and the turn's end from what came back.
    #[test]
    fn captured_app_server_transcript() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/codex-0.169.0/appserver_transcript.jsonl"
        ))
        .unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let sent: HashMap<&str, &Value> = lines
            .iter()
            .filter(|l| l["dir"] == "->")
            .filter_map(|l| Some((l["msg"]["method"].as_str()?, &l["msg"]["params"])))
            .collect();
        let ours = [
            ("initialize", initialize_params()),
            (
                "thread/start",
                thread_start_params(std::path::Path::new("/w")),
            ),
            ("turn/start", turn_start_params("t", "hi")),
        ];
        for (method, params) in ours {
            assert_eq!(shape(&params), shape(sent[method]), "{method} params");
        }
        assert!(sent.contains_key("initialized"));

        let mut thread_id = None;
        let mut seen = ClientTurn::default();
        let start = Instant::now();
        let mut responses = Vec::new();
        for line in lines.iter().filter(|l| l["dir"] == "<-") {
            match Incoming::parse(&line["msg"].to_string()).unwrap() {
                Incoming::Response { id, result } => {
                    let result = result.unwrap();
                    if id == 2 {
                        thread_id = result["thread"]["id"].as_str().map(str::to_owned);
                    }
                    responses.push(id);
                }
                Incoming::Notification { method, params } => {
                    if params["threadId"].as_str() == thread_id.as_deref() {
                        observe(&mut seen, &method, params, start);
                    }
                }
                Incoming::Request { method, .. } => panic!("unexpected request {method}"),
            }
        }
        assert_eq!(responses, [1, 2, 3]);
        assert!(thread_id.is_some());
        assert!(seen.first_delta.is_some());
        assert_eq!(seen.answer.as_deref(), Some("Hello from the mock model."));
        assert_eq!(seen.completed.unwrap()["status"], "completed");
    }

    #[test]
    fn first_events_go_to_the_cohort_later_ones_to_follow_ups() {
        let ms = |m: &str, v| Sample {
            key: crate::model::series::MetricKey::new(m, None),
            duration: Duration::from_millis(v),
            resolution: crate::model::sample::Resolution::Ms,
            ended_at: None,
        };
        let named: Vec<(String, u64)> = cohort_samples(
            vec![
                ms("thread_start_total", 20),
                ms("turn_ttft", 60),
                ms("turn_ttft", 30),
                ms("turn_ttft", 31),
            ],
            Cohort::Warm,
        )
        .map(|s| (s.key.metric, s.duration.as_millis() as u64))
        .collect();
        assert_eq!(
            named,
            [
                ("warm.thread_start_total".to_owned(), 20),
                ("warm.turn_ttft".to_owned(), 60),
                ("followup.turn_ttft".to_owned(), 30),
                ("followup.turn_ttft".to_owned(), 31),
            ]
        );
    }
}
