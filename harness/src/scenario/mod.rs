//! Scenario files: what to run, against what, with which injected delays and faults.
//!
//! Loading is two-stage: the TOML text (with any `--set` overrides applied) is deserialized
//! into [`raw::RawScenario`], which rejects unknown keys and impossible values with the span of
//! the offending value; then [`Scenario`] is built with cross-field checks. Every error names
//! the file, line and key, or the `--set` override it came from.

pub mod gate;
mod locate;
pub mod raw;

use std::num::{NonZeroU32, NonZeroU64};
use std::path::{Path, PathBuf};
use std::time::Duration;

use mock_backend::{DelayDist, Faults, MockConfig, StageDelays};
use thread_runtime::Transport;

pub use gate::{Budget, Gate, RegressionPolicy, Statistic};
pub use locate::LineCol;
use raw::{RawScenario, RawTarget, RawTransport};

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

/// A `--set key=value` override. The value is read as TOML when it parses as TOML
/// (`0.5`, `true`, `{ uniform = ["1ms", "2ms"] }`) and as a string otherwise (`50ms`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub key: String,
    pub value: String,
}

impl std::str::FromStr for Override {
    type Err = String;
    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let (key, value) = spec.split_once('=').ok_or_else(|| {
            format!("`{spec}` is not key=value (e.g. backend.delays.first_token=50ms)")
        })?;
        let key = key.trim();
        toml_edit::Key::parse(key).map_err(|e| format!("`{key}` is not a key path: {e}"))?;
        Ok(Self {
            key: key.to_owned(),
            value: value.trim().to_owned(),
        })
    }
}

impl Override {
    fn spec(&self) -> String {
        format!("{}={}", self.key, self.value)
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
}

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
}

/// Tool servers the harness runs for the runtime to discover.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolsSpec {
    pub servers: usize,
    pub per_server: usize,
    pub listing_delay: DelayDist,
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
    /// measured distributions (see [`UNHASHED_KEYS`]).
    pub content_hash: String,
    pub target: TargetKind,
    pub plan: RunPlan,
    pub seed: u64,
    pub runtime: RuntimeSpec,
    pub tools: ToolsSpec,
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
    pub fn load(path: &Path, overrides: &[Override]) -> Result<Self, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
            origin: Origin::File {
                path: path.display().to_string(),
                position: None,
            },
            key: None,
            message: format!("cannot read the scenario: {e}"),
        })?;
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

struct Locator<'a> {
    text: &'a str,
    source: &'a str,
    overrides: &'a [Override],
}

impl Locator<'_> {
    fn file(&self, position: Option<LineCol>) -> Origin {
        Origin::File {
            path: self.source.to_owned(),
            position,
        }
    }

    /// The override that set `key` (or a table containing it), if any.
    fn override_for(&self, key: &str) -> Option<&Override> {
        self.overrides
            .iter()
            .rev()
            .find(|o| key == o.key || key.starts_with(&format!("{}.", o.key)))
    }

    /// An error about `key`: located at its override, or its line in the file.
    fn error_for_key(&self, key: &str, message: String) -> ScenarioError {
        let origin = match self.override_for(key) {
            Some(o) => Origin::Override { spec: o.spec() },
            None => self.file(locate::position_of(self.text, key)),
        };
        ScenarioError {
            origin,
            key: Some(key.to_owned()),
            message,
        }
    }

    /// An error at a byte offset of the merged text.
    fn error_at(&self, merged: &str, offset: Option<usize>, message: String) -> ScenarioError {
        let key = offset.and_then(|o| locate::key_path_at(merged, o));
        match (key, offset) {
            (Some(key), _) => self.error_for_key(&key, message),
            (None, Some(offset)) if self.overrides.is_empty() => ScenarioError {
                origin: self.file(Some(locate::line_col(self.text, offset))),
                key: None,
                message,
            },
            _ => ScenarioError {
                origin: self.file(None),
                key: None,
                message,
            },
        }
    }
}

fn apply_overrides(
    text: &str,
    source: &str,
    overrides: &[Override],
) -> Result<String, ScenarioError> {
    if overrides.is_empty() {
        return Ok(text.to_owned());
    }
    let mut doc: toml_edit::DocumentMut =
        text.parse()
            .map_err(|e: toml_edit::TomlError| ScenarioError {
                origin: Origin::File {
                    path: source.to_owned(),
                    position: e.span().map(|s| locate::line_col(text, s.start)),
                },
                key: None,
                message: e.message().to_owned(),
            })?;
    for o in overrides {
        let fail = |message: String| ScenarioError {
            origin: Origin::Override { spec: o.spec() },
            key: Some(o.key.clone()),
            message,
        };
        let keys = toml_edit::Key::parse(&o.key).map_err(|e| fail(e.to_string()))?;
        let value = o
            .value
            .parse::<toml_edit::Value>()
            .unwrap_or_else(|_| toml_edit::Value::from(o.value.as_str()));
        set_in_table(doc.as_table_mut(), &keys, value).map_err(fail)?;
    }
    Ok(doc.to_string())
}

fn set_in_table(
    table: &mut toml_edit::Table,
    keys: &[toml_edit::Key],
    value: toml_edit::Value,
) -> Result<(), String> {
    let Some((first, rest)) = keys.split_first() else {
        return Err("empty key".into());
    };
    if rest.is_empty() {
        table.insert(first.get(), toml_edit::Item::Value(value));
        return Ok(());
    }
    let entry = table.entry(first.get()).or_insert_with(|| {
        let mut t = toml_edit::Table::new();
        t.set_implicit(true);
        toml_edit::Item::Table(t)
    });
    match entry {
        toml_edit::Item::Table(t) => set_in_table(t, rest, value),
        toml_edit::Item::Value(toml_edit::Value::InlineTable(t)) => set_in_inline(t, rest, value),
        _ => Err(format!("`{}` is a value, not a table", first.get())),
    }
}

fn set_in_inline(
    table: &mut toml_edit::InlineTable,
    keys: &[toml_edit::Key],
    value: toml_edit::Value,
) -> Result<(), String> {
    let Some((first, rest)) = keys.split_first() else {
        return Err("empty key".into());
    };
    if rest.is_empty() {
        table.insert(first.get(), value);
        return Ok(());
    }
    match table
        .entry(first.get())
        .or_insert_with(|| toml_edit::Value::InlineTable(toml_edit::InlineTable::new()))
    {
        toml_edit::Value::InlineTable(t) => set_in_inline(t, rest, value),
        _ => Err(format!("`{}` is a value, not a table", first.get())),
    }
}

/// Top-level keys left out of [`Scenario::content_hash`]: how long a run is, what it is called,
/// how it is cut into rounds and how it is judged do not change what it measures.
pub const UNHASHED_KEYS: [&str; 7] = [
    "name",
    "description",
    "iterations",
    "warmup",
    "iteration_timeout",
    "gate",
    "run",
];

/// `[codex]` keys left out too: which binary runs is the target's identity (its version is in
/// every result and compared runs show it), not the scenario's content, so an A/B of two codex
/// releases compares one scenario.
pub const UNHASHED_CODEX_KEYS: [&str; 1] = ["binary"];

fn measurement_hash(merged: &str) -> String {
    let mut table: toml::Table = toml::from_str(merged).unwrap_or_default();
    for key in UNHASHED_KEYS {
        table.remove(key);
    }
    if let Some(toml::Value::Table(codex)) = table.get_mut("codex") {
        for key in UNHASHED_CODEX_KEYS {
            codex.remove(key);
        }
        // An empty table is the same scenario as none at all.
        if codex.is_empty() {
            table.remove("codex");
        }
    }
    fnv1a64(&toml::to_string(&table).unwrap_or_default())
}

fn fnv1a64(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

const MAX_CONCURRENCY: u64 = 4096;
/// Iterations and warmup each: far beyond any real run, and `warmup + iterations` (and every
/// count derived from them) cannot overflow.
const MAX_ITERATIONS: u64 = 1_000_000_000;
const MAX_ROUNDS: u64 = 1000;
const MAX_INSTRUCTIONS: u64 = 64 * 1024 * 1024;
const MAX_TOOL_SERVERS: u64 = 64;
const MAX_TOOLS_PER_SERVER: u64 = 10_000;

fn validate(raw: RawScenario, merged: &str, at: &Locator<'_>) -> Result<Scenario, ScenarioError> {
    let err = |key: &str, message: String| at.error_for_key(key, message);
    let turns = u32::try_from(raw.runtime.turns)
        .ok()
        .filter(|t| *t <= 1000)
        .and_then(NonZeroU32::new)
        .ok_or_else(|| err("runtime.turns", "must be between 1 and 1000".into()))?;
    let target = match raw.target {
        RawTarget::Builtin => {
            if raw.codex.is_some() {
                return Err(err(
                    "codex",
                    "[codex] applies to the codex-exec and codex-app-server targets only".into(),
                ));
            }
            TargetKind::Builtin
        }
        RawTarget::CodexExec => TargetKind::CodexExec(codex_spec(&raw, turns, false, &err)?),
        RawTarget::CodexAppServer => {
            TargetKind::CodexAppServer(codex_spec(&raw, turns, true, &err)?)
        }
    };
    if raw.name.trim().is_empty() {
        return Err(err("name", "must not be empty".into()));
    }
    let iterations = NonZeroU64::new(raw.iterations)
        .filter(|n| n.get() <= MAX_ITERATIONS)
        .ok_or_else(|| {
            err(
                "iterations",
                format!("must be between 1 and {MAX_ITERATIONS}"),
            )
        })?;
    if raw.warmup > MAX_ITERATIONS {
        return Err(err("warmup", format!("must be at most {MAX_ITERATIONS}")));
    }
    if raw.run.rounds == 0 || raw.run.rounds > MAX_ROUNDS {
        return Err(err(
            "run.rounds",
            format!("must be between 1 and {MAX_ROUNDS}"),
        ));
    }
    // More rounds than iterations would leave rounds empty: one iteration per round at most.
    let rounds =
        NonZeroU32::new(raw.run.rounds.min(iterations.get()) as u32).expect("both are at least 1");
    if !(0.0..=1.0).contains(&raw.run.max_failure_ratio) {
        return Err(err(
            "run.max_failure_ratio",
            "must be between 0 and 1 (the share of measured iterations that may fail)".into(),
        ));
    }
    if raw.concurrency == 0 || raw.concurrency > MAX_CONCURRENCY {
        return Err(err(
            "concurrency",
            format!("must be between 1 and {MAX_CONCURRENCY}"),
        ));
    }
    let concurrency = NonZeroU32::new(raw.concurrency as u32).expect("checked above");
    if raw.iteration_timeout.0.is_zero() {
        return Err(err("iteration_timeout", "must be above zero".into()));
    }
    let rt = &raw.runtime;
    let transport = match rt.transport {
        RawTransport::Websocket => {
            if rt.websocket_connect_timeout.0.is_zero() {
                return Err(err(
                    "runtime.websocket_connect_timeout",
                    "must be above zero".into(),
                ));
            }
            Transport::Websocket {
                connect_timeout: rt.websocket_connect_timeout.0,
            }
        }
        RawTransport::Http => Transport::Http,
    };
    if rt.instructions_bytes > MAX_INSTRUCTIONS {
        return Err(err(
            "runtime.instructions_bytes",
            format!("must be at most {MAX_INSTRUCTIONS}"),
        ));
    }
    if thread_runtime::context::TurnContext::resolve(&rt.model, "").is_err() {
        return Err(err(
            "runtime.model",
            format!("{:?} is not in the runtime's model catalog", rt.model),
        ));
    }
    if let Some(interrupt) = rt.interrupt_first_turn_after
        && interrupt.0 >= raw.iteration_timeout.0
    {
        return Err(err(
            "runtime.interrupt_first_turn_after",
            "must be shorter than iteration_timeout".into(),
        ));
    }
    if raw.tools.servers > MAX_TOOL_SERVERS {
        return Err(err(
            "tools.servers",
            format!("must be at most {MAX_TOOL_SERVERS}"),
        ));
    }
    if raw.tools.per_server > MAX_TOOLS_PER_SERVER {
        return Err(err(
            "tools.per_server",
            format!("must be at most {MAX_TOOLS_PER_SERVER}"),
        ));
    }
    if raw.tools.servers == 0 && raw.tools.per_server > 0 {
        return Err(err(
            "tools.per_server",
            "tools need at least one server: set tools.servers".into(),
        ));
    }
    let b = &raw.backend;
    if rt.transport == RawTransport::Websocket {
        // Turns go over the websocket: these HTTP answers are never given.
        let http_only = [
            ("backend.faults.http_429", b.faults.http_429.0.value() > 0.0),
            ("backend.faults.http_500", b.faults.http_500.0.value() > 0.0),
        ];
        if let Some((key, _)) = http_only.iter().find(|(_, set)| *set) {
            return Err(err(
                key,
                "has no effect with runtime.transport = \"websocket\" (turns go over the \
                 websocket): use runtime.transport = \"http\""
                    .into(),
            ));
        }
    }
    if b.tokens == 0 || b.tokens > 100_000 {
        return Err(err("backend.tokens", "must be between 1 and 100000".into()));
    }
    if !(400..=599).contains(&b.faults.ws_upgrade_status) {
        return Err(err(
            "backend.faults.ws_upgrade_status",
            "must be an HTTP error status (400-599)".into(),
        ));
    }
    if rt.transport == RawTransport::Http {
        let websocket_only = [
            (
                "backend.delays.ws_handshake",
                !b.delays.ws_handshake.0.is_zero(),
            ),
            (
                "backend.delays.warmup_response",
                !b.delays.warmup_response.0.is_zero(),
            ),
            (
                "backend.faults.ws_upgrade_reject",
                b.faults.ws_upgrade_reject.0.value() > 0.0,
            ),
            (
                "backend.faults.warmup_stall",
                b.faults.warmup_stall.0.value() > 0.0,
            ),
        ];
        if let Some((key, _)) = websocket_only.iter().find(|(_, set)| *set) {
            return Err(err(
                key,
                "has no effect with runtime.transport = \"http\": remove it or use the websocket"
                    .into(),
            ));
        }
    }
    let profile = Profile {
        producer: target.producer(),
        transport: match transport {
            Transport::Websocket { .. } => TransportKind::Websocket,
            Transport::Http => TransportKind::Http,
        },
    };
    let gate = gate::parse(&raw.gate, profile).map_err(|(key, m)| err(&gate_key(&key), m))?;
    let backend = MockConfig {
        delays: StageDelays {
            ws_handshake: b.delays.ws_handshake.0.clone(),
            warmup_response: b.delays.warmup_response.0.clone(),
            response_headers: b.delays.response_headers.0.clone(),
            first_token: b.delays.first_token.0.clone(),
            inter_token: b.delays.inter_token.0.clone(),
        },
        faults: Faults {
            ws_upgrade_reject: b.faults.ws_upgrade_reject.0,
            ws_upgrade_status: b.faults.ws_upgrade_status,
            warmup_stall: b.faults.warmup_stall.0,
            reset_mid_stream: b.faults.reset_mid_stream.0,
            http_429: b.faults.http_429.0,
            http_500: b.faults.http_500.0,
        },
        tokens: b.tokens as u32,
        seed: raw.seed,
        ..MockConfig::default()
    };
    Ok(Scenario {
        name: raw.name,
        description: raw.description,
        path: None,
        content_hash: measurement_hash(merged),
        target,
        plan: RunPlan {
            iterations,
            warmup: raw.warmup,
            concurrency,
            iteration_timeout: raw.iteration_timeout.0,
            rounds,
            max_failure_ratio: raw.run.max_failure_ratio,
        },
        seed: raw.seed,
        runtime: RuntimeSpec {
            transport,
            instructions_bytes: rt.instructions_bytes as usize,
            model: rt.model.clone(),
            first_turn_after: rt.first_turn_after.0,
            interrupt_first_turn_after: rt.interrupt_first_turn_after.map(|d| d.0),
            turns,
            state_storage: match rt.state_storage {
                raw::RawStateStorage::Temp => StateStorage::Temp,
                raw::RawStateStorage::Memory => StateStorage::Memory,
            },
        },
        tools: ToolsSpec {
            servers: raw.tools.servers as usize,
            per_server: raw.tools.per_server as usize,
            listing_delay: raw.tools.listing_delay.0.clone(),
        },
        backend,
        budgets: gate.budgets,
        policy: gate.policy,
    })
}

/// Builds the codex spec and refuses settings the real CLI does not take from a scenario.
/// `app_server` allows what only a long-lived process can do (several threads and turns).
fn codex_spec(
    raw: &RawScenario,
    turns: NonZeroU32,
    app_server: bool,
    err: &impl Fn(&str, String) -> ScenarioError,
) -> Result<CodexSpec, ScenarioError> {
    let target = if app_server {
        "codex-app-server"
    } else {
        "codex-exec"
    };
    let defaults = raw::RawRuntime::default();
    let rt = &raw.runtime;
    let not_for_codex = [
        (
            "runtime.instructions_bytes",
            rt.instructions_bytes != defaults.instructions_bytes,
        ),
        ("runtime.model", rt.model != defaults.model),
        ("runtime.first_turn_after", !rt.first_turn_after.0.is_zero()),
        (
            "runtime.interrupt_first_turn_after",
            rt.interrupt_first_turn_after.is_some(),
        ),
        ("runtime.turns", !app_server && rt.turns != 1),
        (
            "runtime.state_storage",
            rt.state_storage != defaults.state_storage,
        ),
        ("tools.servers", raw.tools.servers != 0),
    ];
    if let Some((key, _)) = not_for_codex.iter().find(|(_, set)| *set) {
        return Err(err(
            key,
            format!(
                "does not apply to the {target} target (codex brings its own tools, prompt and state{})",
                if app_server {
                    ""
                } else {
                    "; several turns need target = \"codex-app-server\""
                }
            ),
        ));
    }
    let codex = raw.codex.clone().unwrap_or_else(|| {
        toml::from_str::<raw::RawCodex>("").expect("every [codex] key has a default")
    });
    if codex.prompt.trim().is_empty() {
        return Err(err("codex.prompt", "must not be empty".into()));
    }
    if codex
        .prompt
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(err(
            "codex.prompt",
            "must not hold control characters (NUL, escapes): it is passed as an argument".into(),
        ));
    }
    if !codex.exporters.contains(&raw::RawExporter::Logs) {
        return Err(err(
            "codex.exporters",
            "must include \"logs\": the phases and TTFT arrive as log events".into(),
        ));
    }
    let threads_per_process = match codex.threads_per_process {
        Some(_) if !app_server => {
            return Err(err(
                "codex.threads_per_process",
                "applies to the codex-app-server target only (codex exec runs one thread)".into(),
            ));
        }
        None => 1,
        Some(n @ 1..=10_000) => n as u32,
        Some(_) => {
            return Err(err(
                "codex.threads_per_process",
                "must be between 1 and 10000".into(),
            ));
        }
    };
    Ok(CodexSpec {
        threads_per_process: NonZeroU32::new(threads_per_process).expect("checked above"),
        turns,
        binary: codex.binary.map(PathBuf::from),
        home: match codex.home {
            raw::RawCodexHome::Fresh => CodexHome::Fresh,
            raw::RawCodexHome::Reused => CodexHome::Reused,
        },
        prompt: codex.prompt,
        ephemeral: codex.ephemeral,
        otlp_protocol: match codex.otlp_protocol {
            raw::RawOtlpProtocol::Json => OtlpProtocol::Json,
            raw::RawOtlpProtocol::Binary => OtlpProtocol::Binary,
        },
        export_traces: codex.exporters.contains(&raw::RawExporter::Traces),
        export_metrics: codex.exporters.contains(&raw::RawExporter::Metrics),
    })
}

fn gate_key(key: &str) -> String {
    format!("gate.{key:?}")
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
