//! The real codex CLI as a target: each iteration runs `codex exec --json PROMPT` against the
//! mock backend, with its OpenTelemetry exporters pointed at phasebench's OTLP receiver.
//!
//! Isolation, every iteration: a temporary `CODEX_HOME` (fresh, or one reused across the run),
//! a temporary working directory that is also `HOME`, a fake API key, an environment cleared
//! of everything else, stdin closed (codex exec reads it to EOF), and the config switches that
//! keep codex on loopback (analytics, plugins, shell snapshot and update checks off). The
//! process runs in its own process group, killed whole when the iteration's deadline passes.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use mock_backend::MockBackend;
use thread_runtime::Transport;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

use super::{IterationFailure, IterationReport, Target, TargetInfo, TelemetryHealth};
use crate::metric::{CLIENT_PROCESS_ANSWER, CLIENT_PROCESS_EXIT};
use crate::receiver::{DEFAULT_BODY_LIMIT, OtlpReceiver};
use crate::sample::Sample;
use crate::scenario::{CodexHome, CodexSpec, OtlpProtocol, Scenario};

/// Where `scripts/test.sh` (and the README) install the pinned release, relative to the
/// working directory.
pub const NPM_INSTALL_PATH: &str =
    ".codex-bin/node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex";
/// The release the project pins.
pub const PINNED_VERSION: &str = "0.169.0";
/// Bytes of stderr kept for failure messages.
const STDERR_TAIL: usize = 2000;

/// Why the target could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum CodexError {
    #[error(
        "codex binary not found (looked at {looked}): set [codex] binary or PHASEBENCH_CODEX_BIN, \
         or install the pinned release with `npm install --prefix .codex-bin @openai/codex@{PINNED_VERSION}`"
    )]
    NotFound { looked: String },
    #[error("cannot run {binary} --version: {message}")]
    Version { binary: String, message: String },
    #[error("cannot start the mock backend: {0}")]
    Mock(#[from] mock_backend::StartError),
    #[error(transparent)]
    Receiver(#[from] crate::receiver::ReceiverError),
    #[error("cannot create a temporary directory: {0}")]
    TempDir(std::io::Error),
    #[error("cannot write {path}: {source}")]
    Config {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Finds the codex binary: the scenario's, else `$PHASEBENCH_CODEX_BIN`, else the npm install.
pub fn resolve_binary(spec: &CodexSpec) -> Result<PathBuf, CodexError> {
    let candidates: Vec<PathBuf> = spec
        .binary
        .clone()
        .into_iter()
        .chain(std::env::var_os("PHASEBENCH_CODEX_BIN").map(PathBuf::from))
        .chain(std::iter::once(PathBuf::from(NPM_INSTALL_PATH)))
        .collect();
    // The first one named wins: a wrong explicit path is an error, not a fallback.
    let chosen = &candidates[0];
    if chosen.is_file() {
        Ok(chosen.clone())
    } else {
        Err(CodexError::NotFound {
            looked: chosen.display().to_string(),
        })
    }
}

/// The `config.toml` written into each `CODEX_HOME`.
pub fn config_toml(
    mock_uri: &str,
    receiver_uri: &str,
    transport: Transport,
    spec: &CodexSpec,
) -> String {
    let (websockets, timeout_ms) = match transport {
        Transport::Websocket { connect_timeout } => (true, connect_timeout.as_millis()),
        Transport::Http => (false, 5000),
    };
    let protocol = match spec.otlp_protocol {
        OtlpProtocol::Json => "json",
        OtlpProtocol::Binary => "binary",
    };
    let exporter = |enabled: bool, signal: &str| {
        if enabled {
            format!(
                "{{ otlp-http = {{ endpoint = \"{receiver_uri}/v1/{signal}\", protocol = \"{protocol}\" }} }}"
            )
        } else {
            "\"none\"".to_owned()
        }
    };
    format!(
        r#"# Written by phasebench for one benchmark run; points codex at loopback only.
model_provider = "mock"
check_for_update_on_startup = false

[model_providers.mock]
name = "Mock"
base_url = "{mock_uri}"
wire_api = "responses"
env_key = "OPENAI_API_KEY"
supports_websockets = {websockets}
websocket_connect_timeout_ms = {timeout_ms}
request_max_retries = 0
stream_max_retries = 0

[analytics]
enabled = false

[otel]
environment = "bench"
log_user_prompt = false
exporter = {logs}
trace_exporter = {traces}
metrics_exporter = {metrics}

[features]
plugins = false
remote_plugin = false
apps = false
shell_snapshot = false
"#,
        logs = exporter(true, "logs"),
        traces = exporter(spec.export_traces, "traces"),
        metrics = exporter(spec.export_metrics, "metrics"),
    )
}

/// Kills a process group when dropped, unless disarmed after the process exited.
struct ProcessGroupGuard {
    pgid: Option<u32>,
}

impl Drop for ProcessGroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.pgid {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pgid}")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// The codex CLI with its mock backend and OTLP receiver.
pub struct CodexExecTarget {
    binary: PathBuf,
    version: String,
    spec: CodexSpec,
    transport: Transport,
    mock: MockBackend,
    receiver: OtlpReceiver,
    answer: String,
    /// Holds fresh homes, the reused home and the working directory.
    root: tempfile::TempDir,
    workdir: PathBuf,
    reused_home: Option<PathBuf>,
}

impl CodexExecTarget {
    pub fn start(scenario: &Scenario, spec: &CodexSpec) -> Result<Self, CodexError> {
        let binary = resolve_binary(spec)?;
        let version = codex_version(&binary)?;
        let mut backend = scenario.backend.clone();
        backend.record_requests = true;
        let answer = backend.answer.clone();
        let mock = MockBackend::start(backend)?;
        let receiver = OtlpReceiver::start(DEFAULT_BODY_LIMIT, spec.export_traces)?;
        let root = tempfile::Builder::new()
            .prefix("phasebench-codex-")
            .tempdir()
            .map_err(CodexError::TempDir)?;
        let workdir = root.path().join("work");
        std::fs::create_dir_all(&workdir).map_err(CodexError::TempDir)?;
        let mut target = Self {
            binary,
            version,
            spec: spec.clone(),
            transport: scenario.runtime.transport,
            mock,
            receiver,
            answer,
            root,
            workdir,
            reused_home: None,
        };
        if spec.home == CodexHome::Reused {
            let home = target.root.path().join("home");
            target.write_home(&home)?;
            target.reused_home = Some(home);
        }
        Ok(target)
    }

    /// The mock backend (for tests that check what codex asked of it).
    pub fn mock(&self) -> &MockBackend {
        &self.mock
    }

    /// The receiver (for tests that check what codex exported).
    pub fn receiver(&self) -> &OtlpReceiver {
        &self.receiver
    }

    /// The temporary root holding every home and the working directory.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    fn write_home(&self, home: &Path) -> Result<(), CodexError> {
        std::fs::create_dir_all(home).map_err(CodexError::TempDir)?;
        let path = home.join("config.toml");
        let text = config_toml(
            &self.mock.uri(),
            &self.receiver.uri(),
            self.transport,
            &self.spec,
        );
        std::fs::write(&path, text).map_err(|source| CodexError::Config { path, source })
    }

    async fn exec_once(&self, index: u64) -> Result<IterationReport, IterationFailure> {
        let fresh_home;
        let home = match &self.reused_home {
            Some(home) => home.clone(),
            None => {
                fresh_home = self.root.path().join(format!("home-{index}"));
                self.write_home(&fresh_home)
                    .map_err(|e| IterationFailure::Start(e.to_string()))?;
                fresh_home
            }
        };
        let _remove_fresh_home = RemoveOnDrop(self.reused_home.is_none().then(|| home.clone()));
        let mut command = tokio::process::Command::new(&self.binary);
        command
            .arg("exec")
            .arg("--skip-git-repo-check")
            .arg("--json");
        if self.spec.ephemeral {
            command.arg("--ephemeral");
        }
        command
            .arg(&self.spec.prompt)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", &self.workdir)
            .env("CODEX_HOME", &home)
            .env("OPENAI_API_KEY", "sk-test")
            .env("TMPDIR", self.root.path())
            .current_dir(&self.workdir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .process_group(0);
        let started = Instant::now();
        let mut child = command.spawn().map_err(|e| {
            IterationFailure::Start(format!("cannot spawn {}: {e}", self.binary.display()))
        })?;
        let mut group = ProcessGroupGuard { pgid: child.id() };
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let stderr_tail = tokio::spawn(async move {
            let mut all = Vec::new();
            let _ = stderr.read_to_end(&mut all).await;
            let text = String::from_utf8_lossy(&all).into_owned();
            let cut = text.len().saturating_sub(STDERR_TAIL);
            text[text.floor_char_boundary(cut)..].trim().to_owned()
        });
        let mut thread_id = None;
        let mut answer: Option<(String, Duration)> = None;
        let mut errors = Vec::new();
        let mut lines = BufReader::new(stdout).lines();
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
        let stderr = stderr_tail.await.unwrap_or_default();
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
        let mut samples = self.receiver.take(&thread_id);
        let _ = self.mock.requests().take_thread(&thread_id);
        samples.push(Sample::client(CLIENT_PROCESS_EXIT, exited));
        let failure = match answer {
            Some((text, at)) => {
                samples.push(Sample::client(CLIENT_PROCESS_ANSWER, at));
                (text != self.answer).then(|| {
                    IterationFailure::Turn(format!(
                        "codex answered {text:?}, not the mock's answer"
                    ))
                })
            }
            None => Some(IterationFailure::Turn(format!(
                "no answer printed; errors: {errors:?}; stderr: {stderr}"
            ))),
        };
        Ok(IterationReport {
            samples,
            overheads: Vec::new(),
            failure,
        })
    }
}

/// Removes a directory tree when dropped.
struct RemoveOnDrop(Option<PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(path) = &self.0 {
            let _ = std::fs::remove_dir_all(path);
        }
    }
}

fn codex_version(binary: &Path) -> Result<String, CodexError> {
    let fail = |message: String| CodexError::Version {
        binary: binary.display().to_string(),
        message,
    };
    let out = std::process::Command::new(binary)
        .arg("--version")
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| fail(e.to_string()))?;
    if !out.status.success() {
        return Err(fail(format!("exit {}", out.status)));
    }
    // "codex-cli 0.169.0"
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .split_whitespace()
        .last()
        .unwrap_or("unknown")
        .to_owned())
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
            version: self.version.clone(),
        }
    }

    fn telemetry_health(&self) -> TelemetryHealth {
        let stats = self.receiver.stats();
        TelemetryHealth {
            malformed_events: stats.malformed_events + stats.malformed_bodies,
            unattributed_events: stats.unattributed_events,
            late_samples: self
                .receiver
                .take_all()
                .values()
                .map(|v| v.len() as u64)
                .sum(),
        }
    }
}
