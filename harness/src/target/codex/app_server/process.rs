//! The client end of one `codex app-server` process: spawned in its own process group with
//! its isolated home, spoken to in JSON-RPC over stdio (one JSON object per line, no
//! `"jsonrpc"` field), its messages told apart ([`Incoming`]), requests it sends the client
//! answered "method not found", and retired by closing stdin (codex flushes its telemetry and
//! exits) with a grace period before the group is killed.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, ChildStdin, ChildStdout};

use super::super::{CodexRig, Home, LossyLines, ProcessGroupGuard};
use super::LOG_EXPORT_INTERVAL_MS;
use crate::target::IterationFailure;

/// How long a retired process may take to flush and exit before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(5);
/// JSON-RPC "method not found", the answer to requests the harness does not serve.
const METHOD_NOT_FOUND: i64 = -32601;

/// One message from the app-server.
#[derive(Debug)]
pub(super) enum Incoming {
    Response {
        id: u64,
        result: Result<Value, Value>,
    },
    Notification {
        method: String,
        params: Value,
    },
    /// A request from the server to the client (approvals and the like).
    Request {
        id: Value,
        method: String,
    },
}

impl Incoming {
    pub(super) fn parse(line: &str) -> Result<Self, String> {
        let mut value: Value =
            serde_json::from_str(line).map_err(|e| format!("not JSON ({e}): {line:.200}"))?;
        let method = value["method"].as_str().map(str::to_owned);
        match (value.get("id").cloned(), method) {
            (Some(id), Some(method)) => Ok(Incoming::Request { id, method }),
            (None, Some(method)) => Ok(Incoming::Notification {
                method,
                params: value["params"].take(),
            }),
            (Some(id), None) => {
                let id = id
                    .as_u64()
                    .ok_or_else(|| format!("response with a non-numeric id: {line:.200}"))?;
                let result = match value.get_mut("error") {
                    Some(error) => Err(error.take()),
                    None => Ok(value["result"].take()),
                };
                Ok(Incoming::Response { id, result })
            }
            (None, None) => Err(format!(
                "neither a response nor a notification: {line:.200}"
            )),
        }
    }
}

/// A running `codex app-server` and the client end of its stdio.
pub(super) struct AppServerProcess {
    child: Child,
    group: ProcessGroupGuard,
    _home: Home,
    stdin: ChildStdin,
    stdout: LossyLines<ChildStdout>,
    stderr: tokio::task::JoinHandle<String>,
    next_id: u64,
    /// Threads started in this process so far.
    pub(super) threads: u32,
}

impl AppServerProcess {
    /// The process id, while it runs.
    #[cfg(feature = "test-support")]
    pub(super) fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Spawns the process and completes the `initialize` handshake; returns it with the time
    /// from spawn to the answer to `initialize`.
    pub(super) async fn start(
        rig: &CodexRig,
        label: &str,
    ) -> Result<(Self, Duration), IterationFailure> {
        let home = rig
            .home(label)
            .map_err(|e| IterationFailure::Start(e.to_string()))?;
        let mut command = rig.command(&home.path, &["app-server"]);
        command
            .env(
                "OTEL_BLRP_SCHEDULE_DELAY",
                LOG_EXPORT_INTERVAL_MS.to_string(),
            )
            .env(
                "OTEL_BSP_SCHEDULE_DELAY",
                LOG_EXPORT_INTERVAL_MS.to_string(),
            )
            .stdin(Stdio::piped());
        let started = Instant::now();
        let mut child = rig.spawn(&mut command).map_err(|e| {
            IterationFailure::Start(format!("cannot spawn {}: {e}", rig.binary.display()))
        })?;
        let group = ProcessGroupGuard { pgid: child.id() };
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = LossyLines::new(child.stdout.take().expect("stdout is piped"));
        let stderr = rig.stderr_tail(child.stderr.take().expect("stderr is piped"));
        let mut process = Self {
            child,
            group,
            _home: home,
            stdin,
            stdout,
            stderr,
            next_id: 1,
            threads: 0,
        };
        process
            .request("initialize", initialize_params(), |_, _| {})
            .await
            .map_err(|e| IterationFailure::Start(format!("initialize: {e}")))?;
        let initialized = started.elapsed();
        process
            .send(&json!({ "method": "initialized" }))
            .await
            .map_err(IterationFailure::Start)?;
        Ok((process, initialized))
    }

    pub(super) async fn send(&mut self, message: &Value) -> Result<(), String> {
        let mut line = serde_json::to_vec(message).expect("a JSON value serializes");
        line.push(b'\n');
        self.stdin
            .write_all(&line)
            .await
            .map_err(|e| format!("cannot write to the app-server: {e}"))?;
        self.stdin
            .flush()
            .await
            .map_err(|e| format!("cannot write to the app-server: {e}"))
    }

    /// Sends a request; returns its id.
    pub(super) async fn send_request(
        &mut self,
        method: &str,
        params: Value,
    ) -> Result<u64, String> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({ "id": id, "method": method, "params": params }))
            .await?;
        Ok(id)
    }

    /// The next message that is not a server request (those are refused on the spot).
    pub(super) async fn next(&mut self) -> Result<Incoming, String> {
        loop {
            let line = match self.stdout.next_line().await {
                Ok(Some(line)) => line,
                Ok(None) => return Err(self.ended().await),
                Err(e) => return Err(format!("cannot read the app-server's stdout: {e}")),
            };
            if line.trim().is_empty() {
                continue;
            }
            match Incoming::parse(&line)? {
                Incoming::Request { id, method } => {
                    let refusal = json!({
                        "id": id,
                        "error": {
                            "code": METHOD_NOT_FOUND,
                            "message": format!("phasebench does not serve {method}"),
                        }
                    });
                    self.send(&refusal).await?;
                }
                other => return Ok(other),
            }
        }
    }

    /// Why stdout ended: the exit status and the end of stderr.
    pub(super) async fn ended(&mut self) -> String {
        let status = tokio::time::timeout(Duration::from_secs(1), self.child.wait()).await;
        let stderr = tokio::time::timeout(Duration::from_secs(1), &mut self.stderr)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        match status {
            Ok(Ok(status)) => format!("the app-server exited ({status}): {stderr}"),
            _ => format!("the app-server closed its stdout: {stderr}"),
        }
    }

    /// Sends a request and reads until its response, passing notifications to `notified`
    /// with the time since the request was sent.
    pub(super) async fn request(
        &mut self,
        method: &str,
        params: Value,
        mut notified: impl FnMut(&str, &Value),
    ) -> Result<Value, String> {
        let id = self.send_request(method, params).await?;
        loop {
            match self.next().await? {
                Incoming::Response { id: got, result } if got == id => {
                    return result.map_err(|e| format!("{method} answered an error: {e}"));
                }
                Incoming::Notification { method, params } => notified(&method, &params),
                _ => {}
            }
        }
    }

    /// Closes stdin (codex flushes its telemetry and exits) and waits for the exit, killing
    /// the process group if it takes longer than [`EXIT_GRACE`].
    pub(super) async fn retire(mut self) {
        drop(self.stdin);
        if let Ok(Ok(_)) = tokio::time::timeout(EXIT_GRACE, self.child.wait()).await {
            self.group.pgid = None;
        }
    }
}

/// Closes `idle` processes the way a client would (stdin closed: codex flushes its telemetry
/// and exits), killing those that take longer than [`EXIT_GRACE`]; returns how many exited by
/// themselves.
pub(super) fn close_all(idle: Vec<AppServerProcess>) -> usize {
    // Stdout and the home stay until the process is gone: it still writes to both.
    let mut children: Vec<_> = idle
        .into_iter()
        .map(|process| {
            drop(process.stdin);
            (process.child, process.group, process.stdout, process._home)
        })
        .collect();
    let mut exited = 0;
    let deadline = Instant::now() + EXIT_GRACE;
    while !children.is_empty() && Instant::now() < deadline {
        children.retain_mut(|(child, group, _, _)| match child.try_wait() {
            Ok(Some(_)) => {
                group.pgid = None;
                exited += 1;
                false
            }
            Ok(None) => true,
            Err(_) => false,
        });
        std::thread::sleep(Duration::from_millis(5));
    }
    // Whatever is left is killed with its group as the guards drop.
    exited
}

pub(super) fn initialize_params() -> Value {
    json!({
        "clientInfo": {
            "name": "phasebench",
            "title": "phasebench",
            "version": env!("CARGO_PKG_VERSION"),
        }
    })
}

pub(super) fn thread_start_params(cwd: &std::path::Path) -> Value {
    json!({ "cwd": cwd.display().to_string() })
}

pub(super) fn turn_start_params(thread_id: &str, prompt: &str) -> Value {
    json!({
        "threadId": thread_id,
        "input": [{ "type": "text", "text": prompt }],
    })
}
