//! `[codex]`: how the real codex CLI is driven, checked against what the CLI takes from a
//! scenario (`codex-exec` runs one thread of one turn per process; `codex-app-server` may run
//! several), the release or binary, the home (fresh, reused or aged), the exporters.

use std::num::NonZeroU32;
use std::path::PathBuf;

use super::raw::{self, RawScenario};
use super::*;

/// Builds the codex spec and refuses settings the real CLI does not take from a scenario.
/// `app_server` allows what only a long-lived process can do (several threads and turns).
pub(super) fn codex_spec(
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
        (
            "runtime.request_build_cpu",
            !rt.request_build_cpu.0.is_zero(),
        ),
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
        version: match (&codex.version, &codex.binary) {
            (Some(_), Some(_)) => {
                return Err(err(
                    "codex.version",
                    "give codex.version or codex.binary, not both".into(),
                ));
            }
            (Some(v), None) if !valid_version(v) => {
                return Err(err(
                    "codex.version",
                    format!("{v:?} is not a release version such as 0.169.0"),
                ));
            }
            (v, _) => v.clone(),
        },
        binary: codex.binary.map(PathBuf::from),
        home: match codex.home {
            raw::RawHome::Kind(raw::RawCodexHome::Fresh) => CodexHome::Fresh,
            raw::RawHome::Kind(raw::RawCodexHome::Reused) => CodexHome::Reused,
            raw::RawHome::Aged { aged } => match u32::try_from(aged.sessions) {
                Ok(sessions) if (1..=MAX_AGED_SESSIONS).contains(&sessions) => {
                    CodexHome::Aged { sessions }
                }
                _ => {
                    return Err(err(
                        "codex.home",
                        format!("aged sessions must be between 1 and {MAX_AGED_SESSIONS}"),
                    ));
                }
            },
        },
        prompt: codex.prompt,
        ephemeral: codex.ephemeral,
        otlp_protocol: match codex.otlp_protocol {
            raw::RawOtlpProtocol::Json => OtlpProtocol::Json,
            raw::RawOtlpProtocol::Binary => OtlpProtocol::Binary,
        },
        export_traces: codex.exporters.contains(&raw::RawExporter::Traces),
        export_metrics: codex.exporters.contains(&raw::RawExporter::Metrics),
        cpus: codex_cpus(&codex.cpus, err)?,
    })
}

fn codex_cpus(
    cpus: &raw::RawCpus,
    err: &impl Fn(&str, String) -> ScenarioError,
) -> Result<CodexCpus, ScenarioError> {
    Ok(match cpus {
        raw::RawCpus::Kind(raw::RawCpuKind::Any) => CodexCpus::Any,
        raw::RawCpus::Kind(raw::RawCpuKind::Last) => CodexCpus::Last,
        raw::RawCpus::Listed(list) => {
            if list.is_empty() {
                return Err(err(
                    "codex.cpus",
                    "names no CPU: give at least one, or \"any\"".into(),
                ));
            }
            let max = crate::sys::affinity::MAX_CPUS;
            if let Some(cpu) = list
                .iter()
                .find(|&&cpu| usize::try_from(cpu).map_or(true, |cpu| cpu >= max))
            {
                return Err(err(
                    "codex.cpus",
                    format!("CPU {cpu} is beyond the largest CPU number ({})", max - 1),
                ));
            }
            let mut listed: Vec<usize> = list
                .iter()
                .map(|&cpu| usize::try_from(cpu).expect("below MAX_CPUS, checked above"))
                .collect();
            listed.sort_unstable();
            listed.dedup();
            CodexCpus::Listed(listed)
        }
    })
}

/// The most sessions an aged home is made with (each is one `codex exec`, ~0.3 s).
const MAX_AGED_SESSIONS: u32 = 20_000;

/// `MAJOR.MINOR.PATCH` with an optional `-pre.release` of letters, digits and dots.
pub(crate) fn valid_version(v: &str) -> bool {
    let (core, pre) = v.split_once('-').unwrap_or((v, ""));
    let numbers: Vec<&str> = core.split('.').collect();
    numbers.len() == 3
        && numbers
            .iter()
            .all(|n| !n.is_empty() && n.len() <= 6 && n.bytes().all(|b| b.is_ascii_digit()))
        && pre.len() <= 32
        && pre.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.')
}
