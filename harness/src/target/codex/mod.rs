//! The real codex CLI as a target, in its two shapes: `codex exec` (one process per iteration,
//! [`exec`]) and `codex app-server` (JSON-RPC on stdio, many threads per process,
//! [`app_server`]).
//!
//! What both share lives here, in [`CodexRig`]: finding the binary, the mock backend and OTLP
//! receiver it talks to, and isolation. Every codex process gets a temporary `CODEX_HOME`
//! (fresh, or one reused across the run), a temporary working directory that is also `HOME`,
//! a fake API key, an environment cleared of everything else, and the config switches that
//! keep codex on loopback (analytics, plugins, shell snapshot and update checks off). Its proxy
//! variables point at an [`EgressTrap`], which refuses and counts whatever tries to go further. It runs
//! in its own process group, killed whole when its iteration's deadline passes.
//!
//! The config each home gets is in [`config`], the child-process guards and readers in
//! `child`, the version probe in `version`.
//!
//! Why one long file: the isolated home and the rig every codex process runs in are the one
//! contract of running codex safely; its pieces share the rig's fields.

pub(crate) mod aged;
pub(crate) mod app_server;
mod child;
pub(crate) mod config;
pub(crate) mod egress;
pub(crate) mod exec;
pub(crate) mod releases;
mod version;

use child::{HomesTree, LossyLines, ProcessGroupGuard, RemoveOnDrop, stderr_tail};
pub(crate) use config::{config_toml, mcp_config_toml};
use version::codex_version;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use codex_telemetry::StartupPhase;
use mock_backend::MockBackend;
use thread_runtime::Transport;

use crate::model::sample::{OverheadSample, Sample};

use crate::model::target::TelemetryHealth;
use mock_backend::mcp::McpHttpServer;

use crate::scenario::{CodexCpus, CodexHome, CodexSpec, McpServer, McpTransportKind, Scenario};
use crate::target::codex::egress::EgressTrap;
use crate::telemetry::receiver::{DEFAULT_BODY_LIMIT, OtlpReceiver};

/// Where `scripts/test.sh` (and the README) install the pinned release, relative to the
/// working directory.
pub const NPM_INSTALL_PATH: &str =
    ".codex-bin/node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex";
/// The release the project pins.
pub(crate) const PINNED_VERSION: &str = "0.169.0";
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
    Receiver(#[from] crate::telemetry::receiver::ReceiverError),
    #[error("cannot create a temporary directory: {0}")]
    TempDir(std::io::Error),
    #[error("cannot find the command for the mock MCP servers: {0}")]
    McpCommand(String),
    #[error("cannot start a mock MCP server: {0}")]
    McpServer(#[from] mock_backend::mcp::McpServeError),
    #[error("codex release {version}: {message}")]
    Release { version: String, message: String },
    #[error("cannot age a codex home in {path}: {message}")]
    Aging { path: PathBuf, message: String },
    #[error(
        "cannot create the codex homes directory {path}: {source} (set PHASEBENCH_HOMES_DIR to a \
         writable directory outside any temporary directory)"
    )]
    Homes {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start the egress trap: {0}")]
    Egress(std::io::Error),
    #[error("codex.cpus: {0}")]
    Cpus(String),
    #[error("cannot write {path}: {source}")]
    Config {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The CPUs `cpus` names on this machine, checked against those phasebench may run on
/// (empty: no restriction).
fn resolve_cpus(cpus: &CodexCpus) -> Result<Vec<usize>, CodexError> {
    let listed = match cpus {
        CodexCpus::Any => return Ok(Vec::new()),
        CodexCpus::Last => None,
        CodexCpus::Listed(listed) => Some(listed.as_slice()),
    };
    let allowed = crate::sys::affinity::allowed_cpus()
        .map_err(|e| CodexError::Cpus(format!("cannot read this process's CPUs: {e}")))?;
    pick_cpus(listed, &allowed).map_err(CodexError::Cpus)
}

/// `listed` (or, when `None`, the last of `allowed`), each one of `allowed`.
fn pick_cpus(listed: Option<&[usize]>, allowed: &[usize]) -> Result<Vec<usize>, String> {
    let allowed_list = crate::sys::affinity::cpu_list(allowed);
    match listed {
        None => allowed
            .last()
            .map(|&cpu| vec![cpu])
            .ok_or_else(|| "phasebench may run on no CPU".to_owned()),
        Some(listed) => match listed.iter().find(|cpu| !allowed.contains(cpu)) {
            Some(cpu) => Err(format!(
                "CPU {cpu} is not one phasebench may run on here (allowed: {allowed_list}); \
                 name others, or use \"last\""
            )),
            None => Ok(listed.to_vec()),
        },
    }
}

/// Finds the codex binary: the scenario's, else `$PHASEBENCH_CODEX_BIN`, else the npm install.
pub(crate) fn resolve_binary(spec: &CodexSpec) -> Result<PathBuf, CodexError> {
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
        // Absolute: codex runs in a temporary working directory, where a relative path
        // would name nothing.
        std::path::absolute(chosen).map_err(|_| CodexError::NotFound {
            looked: chosen.display().to_string(),
        })
    } else {
        Err(CodexError::NotFound {
            looked: chosen.display().to_string(),
        })
    }
}

/// A `CODEX_HOME` for one process: removed when dropped unless it is the run's reused home.
/// It keeps the run's tree of homes alive, so that whichever of the rig and its homes is
/// dropped last removes the tree (fields drop in order: the home, then the tree).
struct Home {
    path: PathBuf,
    _remove: RemoveOnDrop,
    _tree: Arc<HomesTree>,
}

/// What every codex target runs against: the binary, the mock backend, the OTLP receiver and
/// the temporary tree holding homes and the working directory.
pub struct CodexRig {
    binary: PathBuf,
    version: String,
    spec: CodexSpec,
    transport: Transport,
    mock: MockBackend,
    receiver: OtlpReceiver,
    /// Where codex's proxy variables point: anything bound beyond loopback is refused there.
    egress: EgressTrap,
    answer: String,
    /// Codex's `TMPDIR`: scratch space under the system's temporary directory.
    root: tempfile::TempDir,
    /// Holds fresh homes, the reused home and the working directory (codex's `HOME`), where a
    /// real home would be: outside any temporary directory (see [`homes_base`]). Removed when
    /// the rig and every home it handed out are gone.
    homes: Arc<HomesTree>,
    workdir: PathBuf,
    reused_home: Option<PathBuf>,
    /// The cached aged home each iteration's home is copied from (`home = { aged = … }`).
    aged_template: Option<PathBuf>,
    /// The scenario's mock MCP servers and the command that serves them.
    mcp_servers: Vec<McpServer>,
    mcp_command: Option<PathBuf>,
    /// The streamable-HTTP mock MCP servers, by name, served for the round.
    mcp_http: Vec<(String, McpHttpServer)>,
    /// Codex processes that said they refused to create their helper binaries (their
    /// `CODEX_HOME` was under a temporary directory, so they skipped startup work).
    helper_refusals: Arc<AtomicU64>,
    /// The CPUs every measured codex process runs on (`codex.cpus`, resolved at start); empty
    /// when the scheduler decides.
    cpus: Vec<usize>,
}

/// What codex prints when its `CODEX_HOME` lies under a temporary directory.
const HELPER_REFUSAL: &str = "Refusing to create helper binaries under temporary dir";

/// Where runs keep their codex homes: `$PHASEBENCH_HOMES_DIR`, else
/// `$XDG_STATE_HOME/phasebench/codex-homes`, else `~/.local/state/phasebench/codex-homes`. Codex
/// skips work at startup (its helper binaries) when `CODEX_HOME` is under a temporary
/// directory, and real users' homes are not; each run gets its own directory there, removed
/// when the run ends.
pub(crate) fn homes_base() -> PathBuf {
    if let Some(dir) = std::env::var_os("PHASEBENCH_HOMES_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|d| !d.is_empty())
                .map(|h| PathBuf::from(h).join(".local/state"))
        })
        .unwrap_or_else(std::env::temp_dir);
    state.join("phasebench/codex-homes")
}

impl CodexRig {
    pub async fn start(scenario: &Scenario, spec: &CodexSpec) -> Result<Self, CodexError> {
        let binary = match &spec.version {
            Some(version) => releases::binary_for(version).await?,
            None => resolve_binary(spec)?,
        };
        let version = codex_version(&binary)?;
        let cpus = resolve_cpus(&spec.cpus)?;
        let mut backend = scenario.backend.clone();
        backend.record_requests = true;
        let answer = backend.answer.clone();
        let mock = MockBackend::start(backend)?;
        let receiver = OtlpReceiver::start(DEFAULT_BODY_LIMIT)?;
        let egress = EgressTrap::start().map_err(CodexError::Egress)?;
        let root = tempfile::Builder::new()
            .prefix("phasebench-codex-")
            .tempdir()
            .map_err(CodexError::TempDir)?;
        let base = homes_base();
        let homes = std::fs::create_dir_all(&base)
            .and_then(|()| tempfile::Builder::new().prefix("run-").tempdir_in(&base))
            .map_err(|source| CodexError::Homes {
                path: base.clone(),
                source,
            })?;
        let homes = HomesTree::new(homes);
        let workdir = homes.path().join("work");
        std::fs::create_dir_all(&workdir).map_err(CodexError::TempDir)?;
        let mut rig = Self {
            binary,
            version,
            spec: spec.clone(),
            transport: scenario.runtime.transport,
            mock,
            receiver,
            egress,
            answer,
            root,
            homes,
            workdir,
            reused_home: None,
            aged_template: None,
            mcp_command: if scenario.mcp_servers.is_empty() {
                None
            } else {
                Some(super::mcp::server_command().map_err(CodexError::McpCommand)?)
            },
            mcp_servers: scenario.mcp_servers.clone(),
            mcp_http: Vec::new(),
            helper_refusals: Arc::new(AtomicU64::new(0)),
            cpus,
        };
        for server in &scenario.mcp_servers {
            if server.transport == McpTransportKind::Http {
                let mut served = server.spec.clone();
                served.record = Some(rig.mcp_record_path());
                let http = McpHttpServer::start(&served)?;
                rig.mcp_http.push((server.spec.name.clone(), http));
            }
        }
        match spec.home {
            CodexHome::Reused => {
                let home = rig.homes.path().join("home");
                rig.write_home(&home)?;
                rig.reused_home = Some(home);
            }
            CodexHome::Aged { sessions } => {
                rig.aged_template = Some(aged::template(&rig, sessions).await?);
            }
            CodexHome::Fresh => {}
        }
        Ok(rig)
    }

    /// The mock backend (for tests that check what codex asked of it).
    #[cfg(feature = "test-support")]
    pub fn mock(&self) -> &MockBackend {
        &self.mock
    }

    /// The receiver (for tests that check what codex exported).
    #[cfg(feature = "test-support")]
    pub fn receiver(&self) -> &OtlpReceiver {
        &self.receiver
    }

    /// The trap codex's proxy variables point at (for tests that check nothing left loopback).
    #[cfg(feature = "test-support")]
    pub fn egress(&self) -> &EgressTrap {
        &self.egress
    }

    /// Every MCP request of the run (one JSON line each), gathered from the homes' records as
    /// their iterations end.
    pub fn mcp_record_path(&self) -> PathBuf {
        self.homes.path().join(super::mcp::RECORD)
    }

    /// After an iteration in `home`: moves its MCP records to the run's file and, for a fresh
    /// home whose servers all started and listed their tools, pairs the measured tool
    /// building with the delay injected into it (the slowest server's start + initialize +
    /// tools/list; codex starts its servers side by side).
    fn mcp_overheads(&self, home: &Path, samples: &[Sample]) -> Vec<OverheadSample> {
        if self.mcp_servers.is_empty() {
            return Vec::new();
        }
        if self.reused_home.is_some() {
            // A reused home's record spans iterations: nothing to pair.
            return Vec::new();
        }
        let path = home.join(super::mcp::RECORD);
        let Ok(text) = super::mcp::read_record(&path) else {
            return Vec::new();
        };
        let _ = std::fs::remove_file(&path);
        if let Ok(mut all) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.mcp_record_path())
        {
            let _ = std::io::Write::write_all(&mut all, text.as_bytes());
        }
        if !self.mcp_http.is_empty() {
            // HTTP sessions are not attributed to iterations.
            return Vec::new();
        }
        let Some(injected) = super::mcp::injected(&text, self.mcp_servers.len()) else {
            return Vec::new();
        };
        samples
            .iter()
            .filter(|s| s.key.metric == StartupPhase::PrewarmBuildTools.as_str())
            .map(|s| OverheadSample {
                metric: s.key.metric.clone(),
                measured: s.duration,
                injected,
            })
            .collect()
    }

    /// The directory holding this run's homes and codex's `HOME`.
    #[cfg(feature = "test-support")]
    pub fn homes(&self) -> &Path {
        self.homes.path()
    }

    /// Reads a child's stderr to its end (counting helper-binary refusals); returns its tail.
    fn stderr_tail(&self, stderr: tokio::process::ChildStderr) -> tokio::task::JoinHandle<String> {
        stderr_tail(stderr, Arc::clone(&self.helper_refusals))
    }

    /// The codex version this rig runs.
    #[cfg(feature = "test-support")]
    pub fn version(&self) -> &str {
        &self.version
    }

    fn write_home(&self, home: &Path) -> Result<(), CodexError> {
        std::fs::create_dir_all(home).map_err(CodexError::TempDir)?;
        let path = home.join("config.toml");
        let mut text = config_toml(
            &self.mock.uri(),
            &self.receiver.uri(),
            self.transport,
            &self.spec,
        );
        if let Some(command) = &self.mcp_command {
            text.push('\n');
            let urls = self
                .mcp_http
                .iter()
                .map(|(name, server)| (name.clone(), server.uri()))
                .collect();
            text.push_str(&mcp_config_toml(
                &self.mcp_servers,
                command,
                &home.join(super::mcp::RECORD),
                &urls,
            ));
        }
        std::fs::write(&path, text).map_err(|source| CodexError::Config { path, source })
    }

    /// The reused home, or a fresh one named by `label` (removed when dropped).
    fn home(&self, label: &str) -> Result<Home, CodexError> {
        match &self.reused_home {
            Some(path) => Ok(Home {
                path: path.clone(),
                _remove: RemoveOnDrop(None),
                _tree: Arc::clone(&self.homes),
            }),
            None => {
                let path = self.homes.path().join(format!("home-{label}"));
                let remove = RemoveOnDrop(Some(path.clone()));
                if let Some(template) = &self.aged_template {
                    aged::copy_tree(template, &path).map_err(|e| CodexError::Aging {
                        path: path.clone(),
                        message: format!("cannot copy the aged home: {e}"),
                    })?;
                }
                self.write_home(&path)?;
                Ok(Home {
                    path,
                    _remove: remove,
                    _tree: Arc::clone(&self.homes),
                })
            }
        }
    }

    /// `codex ARGS` isolated in `home`, stdout and stderr piped, in its own process group.
    fn command(&self, home: &Path, args: &[&str]) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(&self.binary);
        command
            .args(args)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", &self.workdir)
            .env("CODEX_HOME", home)
            .env("OPENAI_API_KEY", "sk-test")
            .env("TMPDIR", self.root.path())
            .envs(self.egress.env())
            .current_dir(&self.workdir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .process_group(0);
        command
    }

    /// Spawns a measured codex process on the scenario's CPUs.
    fn spawn(
        &self,
        command: &mut tokio::process::Command,
    ) -> std::io::Result<tokio::process::Child> {
        crate::sys::affinity::spawn_on(command, &self.cpus)
    }

    /// Why telemetry bodies were refused or undecodable, and where refused connections went.
    fn warnings(&self) -> Vec<String> {
        let stats = self.receiver.stats();
        let dropped = (stats.dropped_samples > 0).then(|| {
            format!(
                "telemetry: {} samples dropped (more than {} threads or {} samples per thread)",
                stats.dropped_samples,
                crate::telemetry::receiver::MAX_THREADS,
                crate::telemetry::receiver::MAX_SAMPLES_PER_THREAD
            )
        });
        let refusals = self.helper_refusals.load(Ordering::Relaxed);
        let refused = (refusals > 0).then(|| {
            format!(
                "codex refused to create its helper binaries in {refusals} process(es): its \
                 CODEX_HOME was under a temporary directory, so it skipped startup work real \
                 users pay (set PHASEBENCH_HOMES_DIR outside any temporary directory)"
            )
        });
        let otlp = stats.errors.into_iter();
        let egress = self
            .egress
            .examples()
            .into_iter()
            .map(|line| format!("refused a connection beyond loopback: {line}"));
        otlp.map(|e| format!("telemetry: {e}"))
            .chain(dropped)
            .chain(refused)
            .chain(egress)
            .collect()
    }

    /// What the receiver refused or could not decode so far, for an iteration's failure.
    pub(super) fn receiver_problems(&self) -> String {
        let stats = self.receiver.stats();
        match stats.errors.last() {
            Some(last) => format!(
                "{} malformed or late bodies so far, the last: {last}",
                stats.malformed_bodies
            ),
            None => "the receiver saw no malformed or late body".into(),
        }
    }

    fn telemetry_health(&self) -> TelemetryHealth {
        let stats = self.receiver.stats();
        TelemetryHealth {
            malformed_events: stats.malformed_events + stats.malformed_bodies,
            unattributed_events: stats.unattributed_events,
            egress_attempts: self.egress.attempts(),
            // Without the trace exporter no span was asked for: nothing to report.
            span_refined_samples: if self.spec.export_traces {
                stats.refined_samples
            } else {
                0
            },
            span_unrefined_samples: if self.spec.export_traces {
                stats.unrefined_samples
            } else {
                0
            },
            late_samples: self
                .receiver
                .take_all()
                .values()
                .map(|v| v.len() as u64)
                .sum(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::time::{Duration, Instant};

    use super::child::MAX_LINE;
    use super::version::codex_version_within;
    use super::*;
    use crate::scenario::OtlpProtocol;

    #[test]
    fn mcp_servers_are_written_as_commands_or_urls() {
        use crate::scenario::McpTransportKind;
        let server = |name: &str, transport| McpServer {
            spec: mock_backend::mcp::McpServerSpec::new(name, 2),
            startup_timeout: Duration::from_millis(1500),
            transport,
        };
        let servers = [
            server("local", McpTransportKind::Stdio),
            server("remote", McpTransportKind::Http),
        ];
        let urls = [("remote".to_owned(), "http://127.0.0.1:9/mcp".to_owned())].into();
        let text = mcp_config_toml(
            &servers,
            Path::new("/opt/phasebench"),
            Path::new("/h/mcp-requests.jsonl"),
            &urls,
        );
        let doc: toml::Table = toml::from_str(&text).unwrap();
        let local = &doc["mcp_servers"]["local"];
        assert_eq!(local["command"].as_str(), Some("/opt/phasebench"));
        let args: Vec<&str> = local["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(args[..3], ["mcp-server", "--name", "local"]);
        assert!(
            args.windows(2)
                .any(|w| w == ["--record", "/h/mcp-requests.jsonl"])
        );
        assert_eq!(local["startup_timeout_sec"].as_float(), Some(1.5));
        let remote = &doc["mcp_servers"]["remote"];
        assert_eq!(remote["url"].as_str(), Some("http://127.0.0.1:9/mcp"));
        assert!(remote.get("command").is_none());
        assert!(mcp_config_toml(&[], Path::new("x"), Path::new("y"), &urls).is_empty());
    }

    #[test]
    fn mcp_injection_is_the_slowest_servers_start_initialize_and_listing() {
        let line = |server: &str, method: &str, us: u64| {
            format!(
                "{{\"server\":\"{server}\",\"method\":\"{method}\",\"injected_us\":{us},\
                 \"received_unix_us\":1,\"answered_unix_us\":2}}\n"
            )
        };
        let both = [
            line("a", "start", 100_000),
            line("a", "initialize", 200_000),
            line("b", "start", 0),
            line("a", "tools/list", 300_000),
            line("b", "initialize", 50_000),
            line("b", "tools/list", 50_000),
            line("a", "tools/call", 9_000_000),
        ]
        .concat();
        assert_eq!(
            super::super::mcp::injected(&both, 2),
            Some(Duration::from_millis(600))
        );
        // A server missing, crashed before listing, or never answering: nothing to pair.
        assert_eq!(super::super::mcp::injected(&both, 3), None);
        let crashed = [line("a", "start", 0)].concat();
        assert_eq!(super::super::mcp::injected(&crashed, 1), None);
        let hung = [
            line("a", "start", 0),
            line("a", "initialize (never answered)", 1),
        ]
        .concat();
        assert_eq!(super::super::mcp::injected(&hung, 1), None);
        assert_eq!(super::super::mcp::injected("not json\n", 1), None);
    }

    #[tokio::test]
    async fn helper_binary_refusals_on_stderr_are_counted() {
        let refusals = Arc::new(AtomicU64::new(0));
        for line in [
            "WARNING: proceeding, even though we could not create PATH aliases: Refusing to \
             create helper binaries under temporary dir \"/tmp/x\" (codex_home: \"/tmp/x/h\")",
            "something else",
        ] {
            let mut child = tokio::process::Command::new("sh")
                .args(["-c", "printf '%s\\n' \"$1\" >&2", "sh", line])
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let tail = stderr_tail(child.stderr.take().unwrap(), Arc::clone(&refusals))
                .await
                .unwrap();
            assert_eq!(tail, line);
            child.wait().await.unwrap();
        }
        assert_eq!(refusals.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn homes_live_where_the_environment_says_or_under_the_state_directory() {
        // Read-only checks of the rule on this process's environment.
        let base = homes_base();
        match std::env::var_os("PHASEBENCH_HOMES_DIR").filter(|d| !d.is_empty()) {
            Some(dir) => assert_eq!(base, PathBuf::from(dir)),
            None => assert!(
                base.ends_with("phasebench/codex-homes"),
                "{}",
                base.display()
            ),
        }
    }

    #[tokio::test]
    async fn stdout_lines_survive_invalid_utf8_and_huge_lines() {
        let mut bytes = b"first\n\xff\xfe bad \xc3\n".to_vec();
        bytes.extend(std::iter::repeat_n(b'x', MAX_LINE + 10));
        bytes.extend(b"\nlast\r\nunterminated");
        let mut lines = LossyLines::new(&bytes[..]);
        assert_eq!(lines.next_line().await.unwrap().unwrap(), "first");
        let bad = lines.next_line().await.unwrap().unwrap();
        assert!(bad.contains("bad") && bad.contains('\u{fffd}'), "{bad:?}");
        assert_eq!(lines.next_line().await.unwrap().unwrap().len(), MAX_LINE);
        assert_eq!(lines.next_line().await.unwrap().unwrap(), "last");
        assert_eq!(lines.next_line().await.unwrap().unwrap(), "unterminated");
        assert_eq!(lines.next_line().await.unwrap(), None);
    }

    fn script(dir: &Path, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join("codex");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[test]
    fn version_probe_is_isolated_and_has_a_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let seen = dir.path().join("seen");
        let binary = script(
            dir.path(),
            &format!(
                "echo \"$HOME|$CODEX_HOME|$TMPDIR\" > {}; echo codex-cli 9.9.9",
                seen.display()
            ),
        );
        assert_eq!(codex_version(&binary).unwrap(), "9.9.9");
        let seen = std::fs::read_to_string(&seen).unwrap();
        let dirs: Vec<&str> = seen.trim().split('|').collect();
        let real_home = std::env::var("HOME").unwrap_or_default();
        for d in &dirs {
            assert!(d.contains("phasebench-codex-version-"), "{seen}");
            assert_ne!(*d, real_home);
            assert!(!Path::new(d).exists(), "the scratch home is removed: {d}");
        }
        // A probe that never answers is killed with its group at the deadline.
        let hang = script(dir.path(), "sleep 30 & sleep 30");
        let started = Instant::now();
        let err = codex_version_within(&hang, Duration::from_millis(300)).unwrap_err();
        assert!(err.to_string().contains("no answer"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    /// Dotted paths of every key (inline tables included).
    fn keys(value: &toml::Value, prefix: &str, out: &mut BTreeSet<String>) {
        if let toml::Value::Table(table) = value {
            for (key, child) in table {
                let path = format!("{prefix}{key}");
                out.insert(path.clone());
                keys(child, &format!("{path}."), out);
            }
        }
    }

    fn spec(exporters: bool) -> CodexSpec {
        CodexSpec {
            binary: None,
            version: None,
            home: CodexHome::Fresh,
            prompt: "hi".into(),
            ephemeral: false,
            otlp_protocol: OtlpProtocol::Json,
            export_traces: exporters,
            export_metrics: exporters,
            threads_per_process: std::num::NonZeroU32::MIN,
            turns: std::num::NonZeroU32::MIN,
            cpus: CodexCpus::Any,
        }
    }

    #[test]
    fn pinned_cpus_are_the_last_allowed_or_the_listed_ones_if_allowed() {
        assert_eq!(pick_cpus(None, &[0, 1, 2]), Ok(vec![2]));
        assert_eq!(pick_cpus(Some(&[0, 2]), &[0, 1, 2]), Ok(vec![0, 2]));
        let err = pick_cpus(Some(&[1, 5]), &[0, 1, 2]).unwrap_err();
        assert!(err.contains("CPU 5") && err.contains("0-2"), "{err}");
        assert!(pick_cpus(None, &[]).is_err());
        assert_eq!(resolve_cpus(&CodexCpus::Any).unwrap(), Vec::<usize>::new());
        let mine = crate::sys::affinity::allowed_cpus().unwrap();
        assert_eq!(
            resolve_cpus(&CodexCpus::Last).unwrap(),
            vec![*mine.last().unwrap()]
        );
    }

    /// The config phasebench writes has exactly the keys of the one the loopback facts were
    /// observed with (../shared/fixtures/codex-0.169.0/config.toml), pointing at our servers.
    #[test]
    fn generated_config_matches_the_observed_one() {
        let observed: toml::Value = toml::from_str(
            &std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/data/codex-0.169.0/config.toml"
            ))
            .unwrap(),
        )
        .unwrap();
        let transport = Transport::Websocket {
            connect_timeout: Duration::from_secs(5),
        };
        let ours: toml::Value = toml::from_str(&config_toml(
            "http://127.0.0.1:1/v1",
            "http://127.0.0.1:2",
            transport,
            &spec(true),
        ))
        .unwrap();
        let (mut a, mut b) = (BTreeSet::new(), BTreeSet::new());
        keys(&observed, "", &mut a);
        keys(&ours, "", &mut b);
        assert_eq!(a, b);
        assert_eq!(
            ours["model_providers"]["mock"]["base_url"].as_str(),
            Some("http://127.0.0.1:1/v1")
        );
        assert_eq!(
            ours["otel"]["trace_exporter"]["otlp-http"]["endpoint"].as_str(),
            Some("http://127.0.0.1:2/v1/traces")
        );
        // Exporters off are "none"; HTTP mode turns websockets off.
        let http: toml::Value =
            toml::from_str(&config_toml("u", "r", Transport::Http, &spec(false))).unwrap();
        assert_eq!(http["otel"]["metrics_exporter"].as_str(), Some("none"));
        assert_eq!(
            http["model_providers"]["mock"]["supports_websockets"].as_bool(),
            Some(false)
        );
    }
}
