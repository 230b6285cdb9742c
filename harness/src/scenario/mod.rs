//! Scenario files: what to run, against what, with which injected delays and faults.
//!
//! Loading is two-stage: the TOML text (with any `--set` overrides applied) is deserialized
//! into [`raw::RawScenario`], which rejects unknown keys and impossible values with the span of
//! the offending value; then [`Scenario`] is built with cross-field checks. Every error names
//! the file, line and key, or the `--set` override it came from.

pub(crate) mod codex;
pub(crate) mod gate;
mod hash;
mod locate;
mod mcp;
pub(crate) mod overrides;
pub(crate) mod policy;
pub(crate) mod raw;
mod validate;

use std::num::{NonZeroU32, NonZeroU64};
use std::path::{Path, PathBuf};
use std::time::Duration;

use mock_backend::{DelayDist, MockConfig};
use thread_runtime::Transport;

pub(crate) use gate::Budget;
pub(crate) use locate::LineCol;
use locate::Locator;
pub(crate) use overrides::Override;
use overrides::apply_overrides;
pub(crate) use policy::{OnUndecided, RegressionPolicy, Statistic};
use raw::RawScenario;
use validate::validate;

use crate::model::metric::{Producer, Profile, TransportKind};

/// A scenario error, located.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}{}: {message}", key.as_ref().map(|k| format!(": key `{k}`")).unwrap_or_default())]
pub struct ScenarioError {
    pub origin: Origin,
    pub key: Option<String>,
    pub message: String,
}

/// Where a scenario error comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    File {
        path: String,
        position: Option<LineCol>,
    },
    Override {
        spec: String,
    },
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::File {
                path,
                position: Some(p),
            } => write!(f, "{path}:{}:{}", p.line, p.column),
            Origin::File {
                path,
                position: None,
            } => write!(f, "{path}"),
            Origin::Override { spec } => write!(f, "--set {spec}"),
        }
    }
}

/// Which thread runtime a scenario drives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetKind {
    /// The reference runtime, in process.
    Builtin,
    /// The real codex CLI, `codex exec` once per iteration.
    CodexExec(CodexSpec),
    /// The real codex CLI as `codex app-server`: a thread (and its turns) per iteration, many
    /// threads per process.
    CodexAppServer(CodexSpec),
}

impl TargetKind {
    /// What emits the telemetry, as far as which metrics exist is concerned.
    pub fn producer(&self) -> Producer {
        match self {
            TargetKind::Builtin => Producer::Builtin,
            TargetKind::CodexExec(_) => Producer::CodexExec,
            TargetKind::CodexAppServer(spec) => Producer::CodexAppServer {
                warm: spec.threads_per_process.get() > 1,
                followup: spec.turns.get() > 1,
            },
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            TargetKind::Builtin => "builtin",
            TargetKind::CodexExec(_) => "codex-exec",
            TargetKind::CodexAppServer(_) => "codex-app-server",
        }
    }
}

/// Whether each iteration gets a new `CODEX_HOME`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodexHome {
    /// A new home per iteration: every run pays state initialization (sqlite migration).
    Fresh,
    /// One home for the whole run: the first iteration pays it (use warmup).
    Reused,
    /// A copy per iteration of a home aged by this many `codex exec` sessions (made once and
    /// cached per codex version; see `target::codex::aged`).
    Aged { sessions: u32 },
}

/// The OTLP encoding codex exports in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtlpProtocol {
    Json,
    Binary,
}

/// How the real codex CLI is driven.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodexSpec {
    /// From the scenario; else `$PHASEBENCH_CODEX_BIN`, else the project's npm install.
    pub binary: Option<PathBuf>,
    /// A published release (`0.169.0`), installed from npm into the cache when first used.
    pub version: Option<String>,
    pub home: CodexHome,
    pub prompt: String,
    pub ephemeral: bool,
    pub otlp_protocol: OtlpProtocol,
    pub export_traces: bool,
    pub export_metrics: bool,
    /// App-server: threads per process (the first is cold, the others warm). Always 1 for exec.
    pub threads_per_process: NonZeroU32,
    /// App-server: turns per thread (`runtime.turns`). Always 1 for exec.
    pub turns: NonZeroU32,
    /// Which CPUs every codex process may run on.
    pub cpus: CodexCpus,
}

/// Which CPUs the codex processes may run on (`codex.cpus`), resolved against the CPUs
/// phasebench itself may use when the run starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodexCpus {
    /// Wherever the scheduler puts them (the default).
    Any,
    /// The highest-numbered CPU phasebench may run on: every codex thread on one core, so a
    /// process's threads are not spread over a busy and an idle core.
    Last,
    /// These CPUs (ascending, no repeats, at least one).
    Listed(Vec<usize>),
}

/// The largest scenario file read: the shipped ones are under 4 KiB; a bound keeps a wrong
/// path (a device, a huge generated file) from deciding how much memory validation takes.
pub(crate) const MAX_SCENARIO_BYTES: u64 = 1 << 20;

/// How many iterations, how many at once, and how long each may take.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunPlan {
    pub iterations: NonZeroU64,
    /// Discarded iterations at the start of every round (each round starts a fresh runtime).
    pub warmup: u64,
    pub concurrency: NonZeroU32,
    pub iteration_timeout: Duration,
    /// Rounds the iterations are split into, each with a fresh target (never more than the
    /// iterations).
    pub rounds: NonZeroU32,
    /// A run with a larger share of failed measured iterations fails (exit 3).
    pub max_failure_ratio: f64,
    /// `ab` only: each side's round is run as this many alternating parts (A B B A …), merged
    /// back into one round per side, so drift slower than a part cancels within the pair
    /// (never more parts than a round has iterations).
    pub interleave: NonZeroU32,
    /// Open loop (`[load]`): iterations start on this schedule instead of as soon as one of
    /// `concurrency` workers is free (`concurrency` then caps how many run at once).
    pub arrivals: Option<Arrivals>,
}

/// An open-loop schedule of iteration starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Arrivals {
    pub per_second: f64,
    /// Exponential gaps (a Poisson process) instead of constant ones.
    pub poisson: bool,
}

impl RunPlan {
    /// Measured iterations in round `round` (0-based): as even a split as possible, earlier
    /// rounds taking the remainder.
    pub fn round_iterations(&self, round: u32) -> u64 {
        let rounds = u64::from(self.rounds.get());
        let n = self.iterations.get();
        n / rounds + u64::from(u64::from(round) < n % rounds)
    }
}

/// Where the runtime writes thread state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateStorage {
    /// A fresh directory under the system temporary directory (`TMPDIR`), usually on disk.
    Temp,
    /// A fresh directory under `/dev/shm` (tmpfs). At thousands of thread starts a second,
    /// creating and deleting state files on a disk filesystem measures its inode allocator
    /// more than the runtime.
    Memory,
}

/// The thread runtime's settings and the workload driven through it.
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeSpec {
    pub transport: Transport,
    pub instructions_bytes: usize,
    pub model: String,
    /// Gap between thread start and the first turn (the prewarm race).
    pub first_turn_after: Duration,
    /// Interrupt the first turn this long after submitting it.
    pub interrupt_first_turn_after: Option<Duration>,
    /// Turns per thread.
    pub turns: NonZeroU32,
    pub state_storage: StateStorage,
    /// CPU time the reference runtime spends building each turn request: a simulated
    /// runtime-side slowdown (for checking that a change is attributed to the runtime).
    pub request_build_cpu: Duration,
}

/// Tool servers the harness runs for the runtime to discover.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolsSpec {
    pub servers: usize,
    pub per_server: usize,
    pub listing_delay: DelayDist,
}

/// One mock MCP server of a scenario: what `phasebench mcp-server` serves, and how long the
/// runtime waits for it at startup.
#[derive(Debug, Clone, PartialEq)]
pub struct McpServer {
    pub spec: mock_backend::mcp::McpServerSpec,
    pub startup_timeout: Duration,
    pub transport: McpTransportKind,
}

/// How a mock MCP server is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum McpTransportKind {
    /// A process the runtime spawns (`phasebench mcp-server`), speaking on stdin/stdout.
    Stdio,
    /// Streamable HTTP on loopback, served by the harness for the round.
    Http,
}

/// A validated scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub description: Option<String>,
    /// Where it was loaded from (absent for text parsed directly).
    pub path: Option<PathBuf>,
    /// What makes two runs comparable: FNV-1a 64 (hex) of the scenario with overrides applied,
    /// in canonical TOML (sorted keys, no comments), without the keys that do not shape the
    /// measured distributions (see `hash::UNHASHED_KEYS`).
    pub content_hash: String,
    pub target: TargetKind,
    pub plan: RunPlan,
    pub seed: u64,
    pub runtime: RuntimeSpec,
    pub tools: ToolsSpec,
    /// Mock MCP servers the runtime starts (codex targets).
    pub mcp_servers: Vec<McpServer>,
    pub backend: MockConfig,
    pub budgets: Vec<Budget>,
    pub policy: RegressionPolicy,
}

impl Scenario {
    pub fn transport_kind(&self) -> TransportKind {
        match self.runtime.transport {
            Transport::Websocket { .. } => TransportKind::Websocket,
            Transport::Http => TransportKind::Http,
        }
    }

    /// Which metrics this scenario produces.
    pub fn profile(&self) -> Profile {
        Profile {
            producer: self.target.producer(),
            transport: self.transport_kind(),
        }
    }

    /// This scenario as round `round` (0-based) runs it: the same, with the seeds moved on by
    /// the round, so every round draws its own delays while round 0 is the scenario itself
    /// (and round r of two runs draws the same ones).
    pub fn for_round(&self, round: u32) -> Scenario {
        let mut s = self.clone();
        s.seed = self.seed.wrapping_add(u64::from(round));
        s.backend.seed = self.backend.seed.wrapping_add(u64::from(round));
        s
    }

    /// Reads and validates a scenario file.
    /// Reads (at most `MAX_SCENARIO_BYTES` (1 MiB) of a regular file) and validates a scenario.
    pub fn load(path: &Path, overrides: &[Override]) -> Result<Self, ScenarioError> {
        let refused = |message: String| ScenarioError {
            origin: Origin::File {
                path: path.display().to_string(),
                position: None,
            },
            key: None,
            message,
        };
        let bytes = crate::sys::read_bounded(path, MAX_SCENARIO_BYTES).map_err(|e| match e {
            crate::sys::BoundedReadError::TooLarge => refused(format!(
                "the scenario is larger than {MAX_SCENARIO_BYTES} bytes (scenarios are a few \
                 kilobytes: is this the right file?)"
            )),
            e => refused(format!("cannot read the scenario: {e}")),
        })?;
        let text = String::from_utf8(bytes)
            .map_err(|e| refused(format!("the scenario is not UTF-8 text: {e}")))?;
        let mut scenario = Self::parse(&text, &path.display().to_string(), overrides)?;
        scenario.path = Some(path.to_owned());
        Ok(scenario)
    }

    /// Validates scenario text; `source` names it in errors.
    pub fn parse(text: &str, source: &str, overrides: &[Override]) -> Result<Self, ScenarioError> {
        let located = Locator {
            text,
            source,
            overrides,
        };
        let merged = apply_overrides(text, source, overrides)?;
        let raw: RawScenario = toml::from_str(&merged).map_err(|err| {
            let offset = err.span().map(|s| s.start);
            located.error_at(&merged, offset, err.message().to_owned())
        })?;
        validate(raw, &merged, &located)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "name = \"t\"\ntarget = \"builtin\"\n";

    fn parse(text: &str) -> Result<Scenario, ScenarioError> {
        Scenario::parse(text, "s.toml", &[])
    }

    fn parse_with(text: &str, sets: &[&str]) -> Result<Scenario, ScenarioError> {
        let overrides: Vec<Override> = sets.iter().map(|s| s.parse().unwrap()).collect();
        Scenario::parse(text, "s.toml", &overrides)
    }

    fn line_of(err: &ScenarioError) -> Option<usize> {
        match &err.origin {
            Origin::File { position, .. } => position.map(|p| p.line),
            Origin::Override { .. } => None,
        }
    }

    #[test]
    fn interleave_defaults_to_whole_rounds_and_is_bounded() {
        assert_eq!(parse(MINIMAL).unwrap().plan.interleave.get(), 1);
        let s = parse_with(MINIMAL, &["run.interleave=4"]).unwrap();
        assert_eq!(s.plan.interleave.get(), 4);
        // A design choice, not what is measured: the content hash does not change.
        assert_eq!(s.content_hash, parse(MINIMAL).unwrap().content_hash);
        for bad in ["name=\"x\\u001b[2J\"", "name=\"a\\u0000b\""] {
            let err = parse_with(MINIMAL, &[bad]).unwrap_err();
            assert_eq!(err.key.as_deref(), Some("name"), "{err}");
        }
        let long = format!("name=\"{}\"", "a".repeat(201));
        assert!(parse_with(MINIMAL, &[long.as_str()]).is_err());
        for bad in ["run.interleave=0", "run.interleave=101"] {
            let err = parse_with(MINIMAL, &[bad]).unwrap_err();
            assert_eq!(err.key.as_deref(), Some("run.interleave"), "{err}");
        }
    }

    #[test]
    fn codex_targets_take_only_what_each_can_do() {
        let exec = "name = \"c\"\ntarget = \"codex-exec\"\n";
        let s = parse(exec).unwrap();
        let TargetKind::CodexExec(spec) = &s.target else {
            panic!("{:?}", s.target)
        };
        assert_eq!((spec.threads_per_process.get(), spec.turns.get()), (1, 1));
        let err = parse_with(exec, &["runtime.turns=2"]).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("runtime.turns"), "{err}");
        assert!(err.message.contains("codex-app-server"), "{err}");
        let err = parse_with(exec, &["codex.threads_per_process=3"]).unwrap_err();
        assert_eq!(
            err.key.as_deref(),
            Some("codex.threads_per_process"),
            "{err}"
        );

        let app = "name = \"a\"\ntarget = \"codex-app-server\"\n[codex]\nthreads_per_process = 4\n\n[runtime]\nturns = 3\n";
        let s = parse(app).unwrap();
        let TargetKind::CodexAppServer(spec) = &s.target else {
            panic!("{:?}", s.target)
        };
        assert_eq!((spec.threads_per_process.get(), spec.turns.get()), (4, 3));
        assert_eq!(
            s.profile().producer,
            Producer::CodexAppServer {
                warm: true,
                followup: true
            }
        );
        let err = parse_with(app, &["codex.threads_per_process=0"]).unwrap_err();
        assert!(err.message.contains("between 1 and"), "{err}");
        let err = parse_with(app, &["runtime.turns=0"]).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("runtime.turns"), "{err}");
        let err = parse_with(app, &["tools.servers=2"]).unwrap_err();
        assert!(err.message.contains("codex-app-server"), "{err}");
        // Gates name app-server metrics with their cohort.
        let gated = format!("{app}[gate]\n\"warm.turn_ttft.p90\" = \"< 150ms\"\n");
        assert!(parse(&gated).is_ok());
        let err = parse(&format!("{app}[gate]\n\"turn_ttft.p90\" = \"< 150ms\"\n")).unwrap_err();
        assert!(err.message.contains("cold.turn_ttft"), "{err}");
    }

    #[test]
    fn codex_cpus_are_any_last_or_a_list_and_change_what_is_measured() {
        let exec = "name = \"c\"\ntarget = \"codex-exec\"\n";
        let cpus = |sets: &[&str]| match parse_with(exec, sets).unwrap().target {
            TargetKind::CodexExec(spec) => spec.cpus,
            other => panic!("{other:?}"),
        };
        assert_eq!(cpus(&[]), CodexCpus::Any);
        assert_eq!(cpus(&["codex.cpus=\"last\""]), CodexCpus::Last);
        assert_eq!(
            cpus(&["codex.cpus=[3, 1, 3]"]),
            CodexCpus::Listed(vec![1, 3])
        );
        for bad in ["codex.cpus=[]", "codex.cpus=[1024]"] {
            let err = parse_with(exec, &[bad]).unwrap_err();
            assert_eq!(err.key.as_deref(), Some("codex.cpus"), "{bad}: {err}");
        }
        assert!(parse_with(exec, &["codex.cpus=\"first\""]).is_err());
        // Pinning moves codex's phases (one core, no migrations): not the same measurement.
        assert_ne!(
            parse_with(exec, &["codex.cpus=\"last\""])
                .unwrap()
                .content_hash,
            parse(exec).unwrap().content_hash
        );
    }

    #[test]
    fn mcp_servers_are_validated_and_carried_to_the_codex_targets() {
        let codex = "name = \"t\"\ntarget = \"codex-exec\"\n\
                     [[mcp.servers]]\nname = \"slow\"\ntools = 3\n\
                     [mcp.servers.delays]\ninitialize = \"400ms\"\n\
                     [mcp.servers.faults]\nhang_initialize = 0.5\n";
        let s = parse(codex).unwrap();
        assert_eq!(s.mcp_servers.len(), 1);
        let server = &s.mcp_servers[0];
        assert_eq!(server.spec.name, "slow");
        assert_eq!(server.spec.tools, 3);
        assert_eq!(server.startup_timeout, Duration::from_secs(10));
        assert_eq!(
            server.spec.delays.initialize,
            DelayDist::Constant(Duration::from_millis(400))
        );
        assert_eq!(server.spec.faults.hang_initialize.value(), 0.5);
        let refused = [
            ("[[mcp.servers]]\nname = \"a b\"\n", "mcp.servers.name"),
            (
                "[[mcp.servers]]\nname = \"a\"\n[[mcp.servers]]\nname = \"a\"\n",
                "mcp.servers.name",
            ),
            (
                "[[mcp.servers]]\nname = \"a\"\ntools = 20000\n",
                "mcp.servers.tools",
            ),
            (
                "[[mcp.servers]]\nname = \"a\"\nstartup_timeout = \"1ms\"\n",
                "mcp.servers.startup_timeout",
            ),
            // Each within its own bound, 10 GB listed together.
            (
                "[[mcp.servers]]\nname = \"a\"\ntools = 10000\nschema_bytes = 1048576\n",
                "mcp.servers.schema_bytes",
            ),
        ];
        for (tail, key) in refused {
            let text = format!("name = \"t\"\ntarget = \"codex-exec\"\n{tail}");
            let err = parse(&text).unwrap_err();
            assert_eq!(err.key.as_deref(), Some(key), "{text}: {err}");
        }
        // The built-in runtime meets the same servers through its rmcp client.
        let builtin = format!("{MINIMAL}[[mcp.servers]]\nname = \"a\"\n");
        assert_eq!(parse(&builtin).unwrap().mcp_servers.len(), 1);
        // Unknown keys are refused like everywhere else.
        assert!(parse(&format!("{codex}bogus = 1\n")).is_err());
    }

    #[test]
    fn open_loop_rates_are_read_and_bounded() {
        let s = parse(&format!(
            "{MINIMAL}[load]\nrate = \"600/m\"\narrival = \"poisson\"\n"
        ))
        .unwrap();
        let arrivals = s.plan.arrivals.unwrap();
        assert!((arrivals.per_second - 10.0).abs() < 1e-12 && arrivals.poisson);
        assert!(parse(MINIMAL).unwrap().plan.arrivals.is_none());
        for bad in ["0/s", "50", "50/h", "1e9/s", "x/s"] {
            let err = parse(&format!("{MINIMAL}[load]\nrate = \"{bad}\"\n")).unwrap_err();
            assert_eq!(err.key.as_deref(), Some("load.rate"), "{bad}: {err}");
        }
        let exec = "name = \"t\"\ntarget = \"codex-exec\"\n[load]\nrate = \"5/s\"\n";
        assert_eq!(parse(exec).unwrap_err().key.as_deref(), Some("load"));
    }

    #[test]
    fn minimal_scenario_has_defaults() {
        let s = parse(MINIMAL).unwrap();
        assert_eq!(s.plan.iterations.get(), 100);
        assert_eq!(s.plan.concurrency.get(), 1);
        assert!(matches!(s.runtime.transport, Transport::Websocket { .. }));
        assert_eq!(s.backend.tokens, 5);
    }

    #[test]
    fn unknown_key_names_line_and_key() {
        let err = parse(&format!(
            "{MINIMAL}\n[backend.delays]\nfirst_tokn = \"5ms\"\n"
        ))
        .unwrap_err();
        assert_eq!(line_of(&err), Some(5), "{err}");
        assert_eq!(
            err.key.as_deref(),
            Some("backend.delays.first_tokn"),
            "{err}"
        );
        assert!(err.message.contains("unknown field"), "{err}");
        assert!(err.to_string().starts_with("s.toml:5:"), "{err}");
    }

    #[test]
    fn negative_and_unparseable_durations() {
        let err = parse(&format!(
            "{MINIMAL}[backend.delays]\nfirst_token = \"-5ms\"\n"
        ))
        .unwrap_err();
        assert_eq!(line_of(&err), Some(4));
        assert_eq!(err.key.as_deref(), Some("backend.delays.first_token"));
        assert!(err.message.contains("negative"), "{err}");
        let err = parse(&format!(
            "{MINIMAL}[backend.delays]\nfirst_token = \"soon\"\n"
        ))
        .unwrap_err();
        assert!(err.message.contains("not a duration"), "{err}");
        let err = parse(&format!(
            "{MINIMAL}[backend.delays]\nfirst_token = {{ uniform = [\"9ms\", \"1ms\"] }}\n"
        ))
        .unwrap_err();
        assert!(err.message.contains("reversed"), "{err}");
        assert_eq!(line_of(&err), Some(4));
    }

    #[test]
    fn probability_above_one() {
        let err = parse(&format!("{MINIMAL}[backend.faults]\nwarmup_stall = 1.5\n")).unwrap_err();
        assert_eq!(line_of(&err), Some(4));
        assert_eq!(err.key.as_deref(), Some("backend.faults.warmup_stall"));
        assert!(err.message.contains("outside [0, 1]"), "{err}");
    }

    #[test]
    fn unknown_target() {
        let err = parse("name = \"t\"\ntarget = \"quantum\"\n").unwrap_err();
        assert_eq!(line_of(&err), Some(2));
        assert_eq!(err.key.as_deref(), Some("target"));
        assert!(err.message.contains("unknown variant"), "{err}");
    }

    #[test]
    fn gate_on_a_missing_metric() {
        let text = "name = \"t\"\ntarget = \"builtin\"\n[runtime]\ntransport = \"http\"\n[gate]\n\"startup_prewarm_total.p95\" = \"< 1s\"\n";
        let err = parse(text).unwrap_err();
        assert_eq!(line_of(&err), Some(6), "{err}");
        assert!(err.message.contains("no metric"), "{err}");
        let ok = parse(&format!(
            "{MINIMAL}[gate]\n\"turn_ttft.p999\" = \"<= 250ms\"\n"
        ))
        .unwrap();
        assert_eq!(ok.budgets[0].statistic, Statistic::Quantile(0.999));
        assert!(ok.budgets[0].inclusive);
    }

    #[test]
    fn websocket_settings_with_http_are_rejected() {
        let text = format!(
            "{MINIMAL}[runtime]\ntransport = \"http\"\n[backend.delays]\nws_handshake = \"5ms\"\n"
        );
        let err = parse(&text).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("backend.delays.ws_handshake"));
        assert_eq!(line_of(&err), Some(6));
    }

    #[test]
    fn overrides_apply_and_are_blamed() {
        let s = parse_with(
            MINIMAL,
            &["backend.delays.first_token=50ms", "iterations=7"],
        )
        .unwrap();
        assert_eq!(s.plan.iterations.get(), 7);
        assert_eq!(
            s.backend.delays.first_token,
            DelayDist::Constant(Duration::from_millis(50))
        );
        let s = parse_with(
            MINIMAL,
            &["backend.delays.first_token={ uniform = [\"1ms\", \"2ms\"] }"],
        )
        .unwrap();
        assert!(matches!(
            s.backend.delays.first_token,
            DelayDist::Uniform { .. }
        ));
        let err = parse_with(MINIMAL, &["backend.faults.warmup_stall=2"]).unwrap_err();
        assert_eq!(
            err.origin,
            Origin::Override {
                spec: "backend.faults.warmup_stall=2".into()
            }
        );
        // A file error is still located in the file when overrides are present.
        let text = format!("{MINIMAL}[tools]\nservers = 1\nper_sever = 3\n");
        let err = parse_with(&text, &["iterations=3"]).unwrap_err();
        assert_eq!(line_of(&err), Some(5), "{err}");
    }

    #[test]
    fn the_hash_follows_what_shapes_measurements() {
        let a = parse(MINIMAL).unwrap();
        assert_eq!(a.content_hash, parse(MINIMAL).unwrap().content_hash);
        // Run length, names, comments and gates do not change it.
        let longer = parse_with(
            MINIMAL,
            &["iterations=3", "warmup=9", "gate.\"turn_ttft.p50\"=< 1s"],
        )
        .unwrap();
        assert_eq!(a.content_hash, longer.content_hash);
        let commented = parse(&format!("# a comment\n{MINIMAL}description = \"x\"\n")).unwrap();
        assert_eq!(a.content_hash, commented.content_hash);
        // Delays, seeds and concurrency do.
        for set in ["backend.delays.first_token=5ms", "seed=3", "concurrency=2"] {
            assert_ne!(
                a.content_hash,
                parse_with(MINIMAL, &[set]).unwrap().content_hash,
                "{set}"
            );
        }
        // Which codex binary runs is the target's identity, not the scenario's; its exporters
        // are part of what is measured.
        let codex = "name = \"c\"\ntarget = \"codex-exec\"\n";
        let base = parse(codex).unwrap().content_hash;
        let other_binary = parse_with(codex, &["codex.binary=\"/opt/codex-0.168/codex\""]).unwrap();
        assert_eq!(base, other_binary.content_hash);
        let traced = parse_with(codex, &[r#"codex.exporters=["logs","traces"]"#]).unwrap();
        assert_ne!(base, traced.content_hash);
    }

    #[test]
    fn syntax_errors_are_located() {
        let err = parse("name = \"t\"\ntarget = \n").unwrap_err();
        assert_eq!(line_of(&err), Some(2), "{err}");
    }
}
