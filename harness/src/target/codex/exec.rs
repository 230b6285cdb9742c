//! `codex exec --json PROMPT` once per iteration: one process, one thread, one turn. Codex
//! flushes its telemetry when it exits, so an iteration's samples are complete once the
//! process is gone. The harness's own clock adds what no phase covers: spawn → the answer line
//! on stdout → exit (process start, config loading, state initialization).

use std::process::Stdio;
use std::time::{Duration, Instant};

use super::{CodexError, CodexRig, LossyLines, ProcessGroupGuard};
use crate::model::metric::{CLIENT_PROCESS_ANSWER, CLIENT_PROCESS_EXIT, TURN_TTFT};
use crate::model::sample::Sample;
use crate::model::target::{TargetInfo, TelemetryHealth};
use crate::scenario::{CodexSpec, Scenario};
use crate::target::{IterationFailure, IterationReport, Target};

/// How long decoding the telemetry of an exited process may take.
const SETTLE_WAIT: Duration = Duration::from_secs(5);

/// The codex CLI run as `codex exec`, with its mock backend and OTLP receiver.
pub struct CodexExecTarget {
    rig: CodexRig,
}

impl CodexExecTarget {
    pub async fn start(scenario: &Scenario, spec: &CodexSpec) -> Result<Self, CodexError> {
        Ok(Self {
            rig: CodexRig::start(scenario, spec).await?,
        })
    }

    /// The binary, mock backend, receiver and temporary tree (for tests).
    #[cfg(feature = "test-support")]
    pub fn rig(&self) -> &CodexRig {
        &self.rig
    }

    async fn exec_once(&self, index: u64) -> Result<IterationReport, IterationFailure> {
        let rig = &self.rig;
        let home = rig
            .home(&index.to_string())
            .map_err(|e| IterationFailure::Start(e.to_string()))?;
        let mut args = vec!["exec", "--skip-git-repo-check", "--json"];
        if rig.spec.ephemeral {
            args.push("--ephemeral");
        }
        // "--": a prompt such as "--help" is the prompt, not an option.
        args.push("--");
        args.push(&rig.spec.prompt);
        let mut command = rig.command(&home.path, &args);
        command.stdin(Stdio::null());
        let started = Instant::now();
        let started_wall = std::time::SystemTime::now();
        let mut child = rig.spawn(&mut command).map_err(|e| {
            IterationFailure::Start(format!("cannot spawn {}: {e}", rig.binary.display()))
        })?;
        let mut group = ProcessGroupGuard { pgid: child.id() };
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = rig.stderr_tail(child.stderr.take().expect("stderr is piped"));
        let mut thread_id = None;
        let mut answer: Option<(String, Duration)> = None;
        let mut errors = Vec::new();
        let mut lines = LossyLines::new(stdout);
        while let Ok(Some(line)) = lines.next_line().await {
            let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            match event["type"].as_str() {
                Some("thread.started") => {
                    thread_id = event["thread_id"].as_str().map(str::to_owned)
                }
                Some("item.completed")
                    if event["item"]["type"] == "agent_message" && answer.is_none() =>
                {
                    answer = Some((
                        event["item"]["text"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        started.elapsed(),
                    ));
                }
                Some("error" | "turn.failed") => {
                    errors.push(line.chars().take(300).collect::<String>())
                }
                _ => {}
            }
        }
        let status = child
            .wait()
            .await
            .map_err(|e| IterationFailure::Session(format!("cannot wait for codex: {e}")))?;
        let exited = started.elapsed();
        group.pgid = None;
        let stderr = stderr.await.unwrap_or_default();
        if !status.success() {
            return Err(IterationFailure::Session(format!(
                "codex exited with {status}: {stderr}"
            )));
        }
        let Some(thread_id) = thread_id else {
            return Err(IterationFailure::Session(format!(
                "codex printed no thread.started event; stderr: {stderr}"
            )));
        };
        // Codex had its last export answered before exiting; its decoding may still run.
        if !rig.receiver.settle(SETTLE_WAIT).await {
            return Err(IterationFailure::Session(format!(
                "the telemetry codex exported was not decoded within {SETTLE_WAIT:?}"
            )));
        }
        let mut samples = rig.receiver.take(&thread_id);
        // A turn codex answered always logs its time to first token: without it, the
        // telemetry of this iteration was lost (a stalled or refused export), and the
        // iteration measured nothing.
        let telemetry_lost = !samples.iter().any(|s| s.key.metric == TURN_TTFT);
        let marks = crate::target::server_marks(&rig.mock.requests().take_thread(&thread_id));
        samples.push(Sample::client_from(
            CLIENT_PROCESS_EXIT,
            exited,
            started_wall,
        ));
        let overheads = rig.mcp_overheads(&home.path, &samples);
        let failure = match answer {
            Some((text, at)) => {
                samples.push(Sample::client_from(CLIENT_PROCESS_ANSWER, at, started_wall));
                (text != rig.answer).then(|| {
                    IterationFailure::Turn(format!(
                        "codex answered {text:?}, not the mock's answer"
                    ))
                })
            }
            None => Some(IterationFailure::Turn(format!(
                "no answer printed; errors: {errors:?}; stderr: {stderr}"
            ))),
        }
        .or_else(|| {
            telemetry_lost.then(|| {
                IterationFailure::Telemetry(format!(
                    "codex answered, but no turn_ttft of thread {thread_id} reached the OTLP \
                     receiver ({})",
                    rig.receiver_problems()
                ))
            })
        });
        Ok(IterationReport {
            samples,
            overheads: if failure.is_none() {
                overheads
            } else {
                Vec::new()
            },
            failure,
            started_at: Some(started_wall),
            marks,
        })
    }
}

impl Target for CodexExecTarget {
    async fn run_iteration(&self, index: u64) -> IterationReport {
        self.exec_once(index)
            .await
            .unwrap_or_else(|failure| IterationReport {
                failure: Some(failure),
                ..IterationReport::default()
            })
    }

    fn info(&self) -> TargetInfo {
        TargetInfo {
            name: "codex-exec".into(),
            version: self.rig.version.clone(),
        }
    }

    fn telemetry_health(&self) -> TelemetryHealth {
        self.rig.telemetry_health()
    }

    fn warnings(&self) -> Vec<String> {
        self.rig.warnings()
    }
}
