//! From a deserialized [`RawScenario`] to a [`Scenario`]: the cross-field checks (limits,
//! transport and fault combinations, codex settings) that serde's per-field checks cannot do,
//! each error located at its key in the file or at the override that set it.
//!
//! One step per section (target, name, plan, runtime, tools, backend, gate, MCP servers,
//! arrivals), run in the file's order so the first refusal reported is the first in the
//! file; each step refuses through the same locator.

use std::num::{NonZeroU32, NonZeroU64};

use mock_backend::{Faults, MockConfig, StageDelays};
use thread_runtime::Transport;

use super::hash::measurement_hash;
use super::raw::{self, RawScenario, RawTarget, RawTransport};
use super::*;

const MAX_CONCURRENCY: u64 = 4096;
/// Iterations and warmup each: far beyond any real run, and `warmup + iterations` (and every
/// count derived from them) cannot overflow.
const MAX_ITERATIONS: u64 = 1_000_000_000;
const MAX_ROUNDS: u64 = 1000;
/// The longest scenario name, in bytes (what a result file's reader accepts).
const MAX_NAME_BYTES: usize = 200;
/// Most parts an A/B round may be cut into (`[run] interleave`).
const MAX_INTERLEAVE: u32 = 100;
const MAX_INSTRUCTIONS: u64 = 64 * 1024 * 1024;
const MAX_TOOL_SERVERS: u64 = 64;
const MAX_TOOLS_PER_SERVER: u64 = 10_000;

/// How a check refuses: the message, located at the key in the file or the override.
type Refuse<'a> = dyn Fn(&str, String) -> ScenarioError + 'a;

/// The checks in file order (the first refusal is the one reported), then the scenario built
/// from what they accepted.
pub(super) fn validate(
    raw: RawScenario,
    merged: &str,
    at: &Locator<'_>,
) -> Result<Scenario, ScenarioError> {
    let err: &Refuse<'_> = &|key: &str, message: String| at.error_for_key(key, message);
    let (target, turns) = target_and_turns(&raw, err)?;
    check_name(&raw.name, err)?;
    let mut plan = run_plan(&raw, err)?;
    let runtime = runtime_spec(&raw, turns, err)?;
    check_tools(&raw.tools, err)?;
    let backend = backend(&raw, err)?;
    let profile = Profile {
        producer: target.producer(),
        transport: match runtime.transport {
            Transport::Websocket { .. } => TransportKind::Websocket,
            Transport::Http => TransportKind::Http,
        },
    };
    let gate = gate::parse(&raw.gate, profile).map_err(|(key, m)| err(&gate_key(&key), m))?;
    let mcp_servers = super::mcp::servers(&raw, &err)?;
    plan.arrivals = arrivals(&raw, err)?;
    Ok(Scenario {
        content_hash: measurement_hash(merged),
        path: None,
        target,
        plan,
        seed: raw.seed,
        runtime,
        tools: ToolsSpec {
            servers: raw.tools.servers as usize,
            per_server: raw.tools.per_server as usize,
            listing_delay: raw.tools.listing_delay.0.clone(),
        },
        mcp_servers,
        backend,
        budgets: gate.budgets,
        policy: gate.policy,
        name: raw.name,
        description: raw.description,
    })
}

/// The target, with its `[codex]` settings checked, and the turns per iteration.
fn target_and_turns(
    raw: &RawScenario,
    err: &Refuse<'_>,
) -> Result<(TargetKind, NonZeroU32), ScenarioError> {
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
        RawTarget::CodexExec => {
            TargetKind::CodexExec(super::codex::codex_spec(raw, turns, false, &err)?)
        }
        RawTarget::CodexAppServer => {
            TargetKind::CodexAppServer(super::codex::codex_spec(raw, turns, true, &err)?)
        }
    };
    Ok((target, turns))
}

/// The name goes into terminal tables, file names and every result (whose reader refuses
/// what is refused here).
fn check_name(name: &str, err: &Refuse<'_>) -> Result<(), ScenarioError> {
    if name.trim().is_empty() {
        return Err(err("name", "must not be empty".into()));
    }
    if name.len() > MAX_NAME_BYTES || name.chars().any(char::is_control) {
        return Err(err(
            "name",
            format!(
                "use at most {MAX_NAME_BYTES} bytes of printable characters (no control \
                 characters such as escapes or NUL)"
            ),
        ));
    }
    Ok(())
}

/// Iterations, warmup, rounds, parts, failure ratio, concurrency and deadline (the arrivals
/// come last, after the sections before them in the file).
fn run_plan(raw: &RawScenario, err: &Refuse<'_>) -> Result<RunPlan, ScenarioError> {
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
    let interleave = u32::try_from(raw.run.interleave)
        .ok()
        .filter(|k| (1..=MAX_INTERLEAVE).contains(k))
        .and_then(NonZeroU32::new)
        .ok_or_else(|| {
            err(
                "run.interleave",
                format!("must be between 1 and {MAX_INTERLEAVE} (parts per A/B round)"),
            )
        })?;
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
    Ok(RunPlan {
        iterations,
        warmup: raw.warmup,
        concurrency,
        iteration_timeout: raw.iteration_timeout.0,
        rounds,
        max_failure_ratio: raw.run.max_failure_ratio,
        interleave,
        arrivals: None,
    })
}

/// The runtime's transport, prompt, model and turn settings.
fn runtime_spec(
    raw: &RawScenario,
    turns: NonZeroU32,
    err: &Refuse<'_>,
) -> Result<RuntimeSpec, ScenarioError> {
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
    Ok(RuntimeSpec {
        transport,
        instructions_bytes: rt.instructions_bytes as usize,
        model: rt.model.clone(),
        first_turn_after: rt.first_turn_after.0,
        interrupt_first_turn_after: rt.interrupt_first_turn_after.map(|d| d.0),
        request_build_cpu: rt.request_build_cpu.0,
        turns,
        state_storage: match rt.state_storage {
            raw::RawStateStorage::Temp => StateStorage::Temp,
            raw::RawStateStorage::Memory => StateStorage::Memory,
        },
    })
}

/// The mock tool servers' counts.
fn check_tools(tools: &raw::RawTools, err: &Refuse<'_>) -> Result<(), ScenarioError> {
    if tools.servers > MAX_TOOL_SERVERS {
        return Err(err(
            "tools.servers",
            format!("must be at most {MAX_TOOL_SERVERS}"),
        ));
    }
    if tools.per_server > MAX_TOOLS_PER_SERVER {
        return Err(err(
            "tools.per_server",
            format!("must be at most {MAX_TOOLS_PER_SERVER}"),
        ));
    }
    if tools.servers == 0 && tools.per_server > 0 {
        return Err(err(
            "tools.per_server",
            "tools need at least one server: set tools.servers".into(),
        ));
    }
    Ok(())
}

/// The mock backend's delays and faults, each only where the transport can meet it.
fn backend(raw: &RawScenario, err: &Refuse<'_>) -> Result<MockConfig, ScenarioError> {
    let rt = &raw.runtime;
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
    Ok(MockConfig {
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
    })
}

/// Open-loop arrivals (`[load]`), for the targets that keep a runtime alive.
fn arrivals(raw: &RawScenario, err: &Refuse<'_>) -> Result<Option<Arrivals>, ScenarioError> {
    let Some(load) = &raw.load else {
        return Ok(None);
    };
    if matches!(raw.target, RawTarget::CodexExec) {
        return Err(err(
            "load",
            "open-loop arrivals drive long-lived runtimes (builtin, codex-app-server); \
             codex-exec starts a process per iteration"
                .into(),
        ));
    }
    let per_second = parse_rate(&load.rate).ok_or_else(|| {
        err(
            "load.rate",
            format!(
                "{:?}: write a rate such as \"50/s\" or \"600/m\" (0.01/s to 100000/s)",
                load.rate
            ),
        )
    })?;
    Ok(Some(Arrivals {
        per_second,
        poisson: load.arrival == raw::RawArrival::Poisson,
    }))
}

/// `N/s` or `N/m` as starts per second, within 0.01/s and 100,000/s.
fn parse_rate(text: &str) -> Option<f64> {
    let (count, unit) = text.trim().split_once('/')?;
    let count: f64 = count.trim().parse().ok()?;
    let per_second = match unit.trim() {
        "s" => count,
        "m" => count / 60.0,
        _ => return None,
    };
    (per_second.is_finite() && (0.01..=100_000.0).contains(&per_second)).then_some(per_second)
}

fn gate_key(key: &str) -> String {
    format!("gate.{key:?}")
}
