//! The scenario file as written: serde structs with `deny_unknown_fields`, and value types
//! that reject impossible values while deserializing, so the TOML parser's span points at the
//! offending value. [`super::Scenario`] is built from this after cross-field checks.
//!
//! Why one long file: every key of the file format is declared here once, with its doc; it
//! holds types and their value checks, no other logic.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use mock_backend::{DelayDist, Probability, parse_duration};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

/// A duration written as a string: `"20ms"`, `"1.5s"`, `"0"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct DurationValue(pub Duration);

impl<'de> Deserialize<'de> for DurationValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = DurationValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration string such as \"20ms\" or \"1.5s\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                parse_duration(v).map(DurationValue).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                if v == 0 {
                    Ok(DurationValue(Duration::ZERO))
                } else {
                    Err(E::custom(format!(
                        "{v} has no unit: write it as a string, e.g. \"{v}ms\""
                    )))
                }
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Err(E::custom(format!(
                    "{v} has no unit: write it as a string, e.g. \"{v}ms\""
                )))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// A probability in `[0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct ProbabilityValue(pub Probability);

impl<'de> Deserialize<'de> for ProbabilityValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ProbabilityValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a probability between 0 and 1")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Probability::new(v).map(ProbabilityValue).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                self.visit_f64(v as f64)
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// A delay distribution: a duration string (constant) or a table with one of `uniform`,
/// `normal`, `lognormal`, `empirical`.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct DelayValue(pub DelayDist);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NormalParams {
    mean: DurationValue,
    std_dev: DurationValue,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LogNormalParams {
    p50: DurationValue,
    p99: DurationValue,
}

impl<'de> Deserialize<'de> for DelayValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = DelayValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a duration (\"20ms\") or one of { uniform = [lo, hi] }, { normal = { mean, std_dev } }, \
                     { lognormal = { p50, p99 } }, { empirical = [..] }",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                parse_duration(v)
                    .map(|d| DelayValue(DelayDist::Constant(d)))
                    .map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                DurationValue::deserialize(de::value::I64Deserializer::<E>::new(v))
                    .map(|d| DelayValue(DelayDist::Constant(d.0)))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let Some(kind) = map.next_key::<String>()? else {
                    return Err(de::Error::custom(
                        "empty table: name a distribution (uniform, normal, lognormal, empirical)",
                    ));
                };
                let dist = match kind.as_str() {
                    "uniform" => {
                        let [low, high] = map.next_value::<[DurationValue; 2]>()?;
                        DelayDist::Uniform {
                            low: low.0,
                            high: high.0,
                        }
                    }
                    "normal" => {
                        let p = map.next_value::<NormalParams>()?;
                        DelayDist::Normal {
                            mean: p.mean.0,
                            std_dev: p.std_dev.0,
                        }
                    }
                    "lognormal" => {
                        let p = map.next_value::<LogNormalParams>()?;
                        DelayDist::LogNormal {
                            p50: p.p50.0,
                            p99: p.p99.0,
                        }
                    }
                    "empirical" => {
                        let values = map.next_value::<Vec<DurationValue>>()?;
                        DelayDist::Empirical(values.into_iter().map(|v| v.0).collect())
                    }
                    other => {
                        return Err(de::Error::unknown_variant(
                            other,
                            &["uniform", "normal", "lognormal", "empirical"],
                        ));
                    }
                };
                if let Some(extra) = map.next_key::<String>()? {
                    return Err(de::Error::custom(format!(
                        "a delay names one distribution; remove `{extra}`"
                    )));
                }
                dist.validate().map_err(de::Error::custom)?;
                Ok(DelayValue(dist))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, _seq: A) -> Result<Self::Value, A::Error> {
                Err(de::Error::custom(
                    "a bare list is ambiguous: write { uniform = [lo, hi] } or { empirical = [..] }",
                ))
            }
        }
        deserializer.deserialize_any(V)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RawTarget {
    Builtin,
    CodexExec,
    CodexAppServer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RawStateStorage {
    #[default]
    Temp,
    Memory,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RawTransport {
    Websocket,
    Http,
}

fn default_iterations() -> u64 {
    100
}
fn default_concurrency() -> u64 {
    1
}
fn default_timeout() -> DurationValue {
    DurationValue(Duration::from_secs(30))
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScenario {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub target: RawTarget,
    #[serde(default = "default_iterations")]
    pub iterations: u64,
    #[serde(default)]
    pub warmup: u64,
    #[serde(default = "default_concurrency")]
    pub concurrency: u64,
    #[serde(default)]
    pub seed: u64,
    #[serde(default = "default_timeout")]
    pub iteration_timeout: DurationValue,
    #[serde(default)]
    pub runtime: RawRuntime,
    #[serde(default)]
    pub tools: RawTools,
    #[serde(default)]
    pub backend: RawBackend,
    #[serde(default)]
    pub gate: BTreeMap<String, toml::Value>,
    #[serde(default)]
    pub codex: Option<RawCodex>,
    #[serde(default)]
    pub run: RawRun,
    #[serde(default)]
    pub mcp: RawMcp,
    #[serde(default)]
    pub load: Option<RawLoad>,
}

/// `[load]`: open-loop arrivals.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLoad {
    /// `"50/s"` or `"600/m"`.
    pub rate: String,
    #[serde(default)]
    pub arrival: RawArrival,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RawArrival {
    #[default]
    Constant,
    Poisson,
}

/// `[mcp]`: mock MCP servers the runtime starts (`[[mcp.servers]]`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMcp {
    #[serde(default)]
    pub servers: Vec<RawMcpServer>,
}

fn default_mcp_tools() -> u64 {
    8
}
fn default_schema_bytes() -> u64 {
    256
}
fn default_startup_timeout() -> DurationValue {
    DurationValue(Duration::from_secs(10))
}

/// One `[[mcp.servers]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMcpServer {
    pub name: String,
    #[serde(default = "default_mcp_tools")]
    pub tools: u64,
    #[serde(default = "default_schema_bytes")]
    pub schema_bytes: u64,
    /// How long the runtime waits for the server to start and list its tools (codex's
    /// `startup_timeout_sec`).
    #[serde(default = "default_startup_timeout")]
    pub startup_timeout: DurationValue,
    #[serde(default)]
    pub transport: RawMcpTransport,
    #[serde(default)]
    pub delays: RawMcpDelays,
    #[serde(default)]
    pub faults: RawMcpFaults,
}

/// `stdio` (a process the runtime spawns) or `http` (streamable HTTP served by the harness).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RawMcpTransport {
    #[default]
    Stdio,
    Http,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMcpDelays {
    #[serde(default)]
    pub start: DelayValue,
    #[serde(default)]
    pub initialize: DelayValue,
    #[serde(default)]
    pub list_tools: DelayValue,
    #[serde(default)]
    pub call_tool: DelayValue,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMcpFaults {
    #[serde(default)]
    pub crash_at_start: ProbabilityValue,
    #[serde(default)]
    pub hang_initialize: ProbabilityValue,
    #[serde(default)]
    pub error_list_tools: ProbabilityValue,
}

/// `[run]`: how a run is cut into rounds and how many failures it may have.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRun {
    #[serde(default = "default_rounds")]
    pub rounds: u64,
    #[serde(default = "default_max_failure_ratio")]
    pub max_failure_ratio: f64,
    #[serde(default = "default_interleave")]
    pub interleave: u64,
}

impl Default for RawRun {
    fn default() -> Self {
        Self {
            rounds: default_rounds(),
            max_failure_ratio: default_max_failure_ratio(),
            interleave: default_interleave(),
        }
    }
}

fn default_interleave() -> u64 {
    1
}

fn default_rounds() -> u64 {
    5
}

fn default_max_failure_ratio() -> f64 {
    0.1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RawCodexHome {
    Fresh,
    Reused,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RawOtlpProtocol {
    Json,
    Binary,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RawExporter {
    Logs,
    Traces,
    Metrics,
}

fn default_home() -> RawHome {
    RawHome::Kind(RawCodexHome::Fresh)
}

/// `home = "fresh" | "reused"` or `home = { aged = { sessions = N } }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawHome {
    Kind(RawCodexHome),
    Aged { aged: RawAged },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAged {
    pub sessions: u64,
}
fn default_prompt() -> String {
    "hi".to_owned()
}
fn default_protocol() -> RawOtlpProtocol {
    RawOtlpProtocol::Json
}
fn default_exporters() -> Vec<RawExporter> {
    vec![RawExporter::Logs]
}

/// `[codex]`: how the real codex CLI is driven (targets codex-exec and codex-app-server).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCodex {
    /// Path of the codex binary (else $PHASEBENCH_CODEX_BIN, else the project's npm install).
    #[serde(default)]
    pub binary: Option<String>,
    /// A published release to run (installed from npm into phasebench's cache once).
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default = "default_home")]
    pub home: RawHome,
    #[serde(default = "default_prompt")]
    pub prompt: String,
    #[serde(default)]
    pub ephemeral: bool,
    #[serde(default = "default_protocol")]
    pub otlp_protocol: RawOtlpProtocol,
    #[serde(default = "default_exporters")]
    pub exporters: Vec<RawExporter>,
    /// codex-app-server: threads started in one process before it is replaced by a new one.
    #[serde(default)]
    pub threads_per_process: Option<u64>,
    /// Which CPUs every codex process may run on.
    #[serde(default)]
    pub cpus: RawCpus,
}

/// `cpus = "any" | "last"` or `cpus = [1, 2]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawCpus {
    Kind(RawCpuKind),
    Listed(Vec<u64>),
}

impl Default for RawCpus {
    fn default() -> Self {
        Self::Kind(RawCpuKind::Any)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RawCpuKind {
    Any,
    Last,
}

fn default_transport() -> RawTransport {
    RawTransport::Websocket
}
fn default_connect_timeout() -> DurationValue {
    DurationValue(Duration::from_secs(5))
}
fn default_instructions() -> u64 {
    16 * 1024
}
fn default_model() -> String {
    "gpt-6.1-sol".to_owned()
}
fn default_turns() -> u64 {
    1
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRuntime {
    #[serde(default = "default_transport")]
    pub transport: RawTransport,
    #[serde(default = "default_connect_timeout")]
    pub websocket_connect_timeout: DurationValue,
    #[serde(default = "default_instructions")]
    pub instructions_bytes: u64,
    #[serde(default = "default_model")]
    pub model: String,
    #[serde(default)]
    pub first_turn_after: DurationValue,
    #[serde(default)]
    pub interrupt_first_turn_after: Option<DurationValue>,
    #[serde(default = "default_turns")]
    pub turns: u64,
    #[serde(default)]
    pub state_storage: RawStateStorage,
    /// CPU time the runtime spends building each turn request (a simulated slowdown).
    #[serde(default)]
    pub request_build_cpu: DurationValue,
}

impl Default for RawRuntime {
    fn default() -> Self {
        Self {
            transport: default_transport(),
            websocket_connect_timeout: default_connect_timeout(),
            instructions_bytes: default_instructions(),
            model: default_model(),
            first_turn_after: DurationValue::default(),
            interrupt_first_turn_after: None,
            turns: default_turns(),
            state_storage: RawStateStorage::default(),
            request_build_cpu: DurationValue::default(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTools {
    #[serde(default)]
    pub servers: u64,
    #[serde(default)]
    pub per_server: u64,
    #[serde(default)]
    pub listing_delay: DelayValue,
}

fn default_tokens() -> u64 {
    5
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBackend {
    #[serde(default = "default_tokens")]
    pub tokens: u64,
    #[serde(default)]
    pub delays: RawDelays,
    #[serde(default)]
    pub faults: RawFaults,
}

impl Default for RawBackend {
    fn default() -> Self {
        Self {
            tokens: default_tokens(),
            delays: RawDelays::default(),
            faults: RawFaults::default(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDelays {
    #[serde(default)]
    pub ws_handshake: DelayValue,
    #[serde(default)]
    pub warmup_response: DelayValue,
    #[serde(default)]
    pub response_headers: DelayValue,
    #[serde(default)]
    pub first_token: DelayValue,
    #[serde(default)]
    pub inter_token: DelayValue,
}

fn default_upgrade_status() -> u16 {
    404
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFaults {
    #[serde(default)]
    pub ws_upgrade_reject: ProbabilityValue,
    #[serde(default = "default_upgrade_status")]
    pub ws_upgrade_status: u16,
    #[serde(default)]
    pub warmup_stall: ProbabilityValue,
    #[serde(default)]
    pub reset_mid_stream: ProbabilityValue,
    #[serde(default)]
    pub http_429: ProbabilityValue,
    #[serde(default)]
    pub http_500: ProbabilityValue,
}

impl Default for RawFaults {
    fn default() -> Self {
        Self {
            ws_upgrade_reject: ProbabilityValue::default(),
            ws_upgrade_status: default_upgrade_status(),
            warmup_stall: ProbabilityValue::default(),
            reset_mid_stream: ProbabilityValue::default(),
            http_429: ProbabilityValue::default(),
            http_500: ProbabilityValue::default(),
        }
    }
}
