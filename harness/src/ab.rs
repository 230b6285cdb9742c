//! Paired A/B: two builds (phasebench binaries from two commits) or two configurations run in
//! alternating rounds on one machine (A B, B A, A B, …), each side's histograms merged across
//! rounds, then B compared with A. Drift in the machine's speed during the job hits both sides
//! alike, which two separate runs at different times cannot promise. The round pair is the
//! unit: the verdict comes from the interval of the per-round differences B − A
//! ([`crate::stats::compare::paired_rounds`]), so a shift shared by one round's samples is
//! not mistaken for evidence.
//!
//! Each side's round is a child `phasebench run` in its own process group, waited on with a
//! deadline; a stop request (Ctrl-C, SIGTERM) is passed on to the running child, which writes
//! what it finished, and `ab` stops after it.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::results::{self, LoadedResult};
use crate::scenario::{Override, Scenario};
use crate::stats::compare::{CompareOptions, Comparison};
use crate::{ComparisonOutputs, Error, Verdict};

/// One side of an A/B run.
#[derive(Debug, Clone)]
pub struct Side {
    /// The phasebench binary that runs this side.
    pub binary: PathBuf,
    /// Overrides for this side only.
    pub overrides: Vec<Override>,
}

/// What `phasebench ab` was asked to do.
#[derive(Debug, Clone)]
pub struct AbRequest {
    pub scenario: PathBuf,
    /// Overrides for both sides.
    pub overrides: Vec<Override>,
    pub a: Side,
    pub b: Side,
    /// Rounds per side; the scenario's iterations are split across them.
    pub rounds: u32,
    /// Keep each round's result here (a temporary directory otherwise).
    pub out_dir: Option<PathBuf>,
    pub comparison: ComparisonOutputs,
    /// Print a line per round on stderr.
    pub progress: bool,
    /// Judge the round files an earlier run kept in this directory (`--out-dir`) instead of
    /// running anything.
    pub rejudge: Option<PathBuf>,
}

/// Why a side's run failed.
#[derive(Debug, thiserror::Error)]
pub enum AbError {
    #[error("cannot start {binary}: {source}")]
    Spawn {
        binary: String,
        source: std::io::Error,
    },
    #[error("{side} round {round} ({binary}) failed (exit {code:?}): {stderr}")]
    Failed {
        side: char,
        round: u32,
        binary: String,
        code: Option<i32>,
        stderr: String,
    },
    #[error("{side} round {round} ({binary}) ran past its {deadline:?} deadline and was killed")]
    Deadline {
        side: char,
        round: u32,
        binary: String,
        deadline: Duration,
    },
    #[error("cannot create the A/B output directory: {0}")]
    OutDir(std::io::Error),
    #[error("--rounds must be between {MIN_ROUNDS} and {MAX_ROUNDS}")]
    Rounds,
    #[error("{side} round {round} ({binary}) wrote no readable result: {source}")]
    Result {
        side: char,
        round: u32,
        binary: String,
        source: Box<results::ResultFileError>,
    },
    #[error("stopped by {}", crate::sys::shutdown::name(*.0))]
    Interrupted(i32),
}

impl AbError {
    /// Only a bad `--rounds` is the user's input; a side that fails is a target failure.
    pub fn is_invalid_input(&self) -> bool {
        matches!(self, AbError::Rounds)
    }
}

/// Fewest rounds: the paired interval needs three.
pub const MIN_ROUNDS: u32 = 3;
pub const MAX_ROUNDS: u32 = 1000;
/// How long a child may take to stop after being asked.
const STOP_GRACE: Duration = Duration::from_secs(10);

fn signal_group(pgid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([signal, "--", &format!("-{pgid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Kills a child's process group unless it was reaped.
struct GroupGuard(Option<u32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.0 {
            signal_group(pgid, "-KILL");
        }
    }
}

fn run_side(
    side: char,
    round: u32,
    spec: &Side,
    request: &AbRequest,
    iterations: u64,
    json: &Path,
    deadline: Duration,
) -> Result<(), AbError> {
    let mut command = Command::new(&spec.binary);
    command
        .arg("run")
        .arg(&request.scenario)
        .arg("--quiet")
        .arg("--iterations")
        .arg(iterations.to_string())
        .arg("--json")
        .arg(json)
        // The round pair is the unit: each child is one round (its own warmup, one runtime).
        .arg("--set")
        .arg("run.rounds=1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0);
    for o in request.overrides.iter().chain(&spec.overrides) {
        command.arg("--set").arg(format!("{}={}", o.key, o.value));
    }
    let binary = spec.binary.display().to_string();
    let mut child = command.spawn().map_err(|source| AbError::Spawn {
        binary: binary.clone(),
        source,
    })?;
    let mut group = GroupGuard(Some(child.id()));
    // Drained while the child runs: a full pipe would stall it.
    let stderr = child.stderr.take().map(|mut pipe| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = (&mut pipe).take(1 << 20).read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    });
    let started = Instant::now();
    let mut stop_sent: Option<Instant> = None;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(source) => return Err(AbError::Spawn { binary, source }),
        }
        if let Some(signal) = crate::sys::shutdown::requested() {
            match stop_sent {
                None => {
                    // The child stops in order: it writes what it finished and exits.
                    signal_group(child.id(), "-TERM");
                    stop_sent = Some(Instant::now());
                }
                Some(at) if at.elapsed() > STOP_GRACE => {
                    drop(group);
                    let _ = child.wait();
                    return Err(AbError::Interrupted(signal));
                }
                Some(_) => {}
            }
        } else if started.elapsed() > deadline {
            drop(group);
            let _ = child.wait();
            return Err(AbError::Deadline {
                side,
                round,
                binary,
                deadline,
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // Reaped: anything left in its group goes with it.
    signal_group(child.id(), "-KILL");
    group.0 = None;
    let stderr = stderr.and_then(|h| h.join().ok()).unwrap_or_default();
    if let Some(signal) = crate::sys::shutdown::requested() {
        return Err(AbError::Interrupted(signal));
    }
    // 0 pass and 1 budget breach both measured; anything else did not.
    if matches!(status.code(), Some(0 | 1)) {
        return Ok(());
    }
    Err(AbError::Failed {
        side,
        round,
        binary,
        code: status.code(),
        stderr: stderr.trim().chars().take(2000).collect(),
    })
}

/// Runs both sides in alternating rounds and compares B with A, round pair by round pair.
pub fn run_ab(request: &AbRequest) -> Result<(Comparison, Verdict), Error> {
    if !(MIN_ROUNDS..=MAX_ROUNDS).contains(&request.rounds) {
        return Err(AbError::Rounds.into());
    }
    // Validate both sides' scenarios here first: a mistake fails before anything runs.
    let with = |side: &Side| [request.overrides.clone(), side.overrides.clone()].concat();
    let scenario_a = Scenario::load(&request.scenario, &with(&request.a))?;
    let scenario_b = Scenario::load(&request.scenario, &with(&request.b))?;
    if let Some(dir) = &request.rejudge {
        crate::sys::output::check_all(request.comparison.destinations())
            .map_err(Error::OutputPath)?;
        let (a, b) = kept_rounds(dir)?;
        let comparison = judge(&scenario_a, &scenario_b, &a, &b, request)?;
        write_outputs(&comparison, &a, &b, request)?;
        let failed = comparison.regressed() || comparison.budgets_breached();
        return Ok((
            comparison,
            if failed { Verdict::Fail } else { Verdict::Pass },
        ));
    }
    let plan = scenario_b.plan;
    let iterations = plan
        .iterations
        .get()
        .div_ceil(u64::from(request.rounds))
        .max(1);
    let per_iteration = plan.iteration_timeout.as_secs_f64() / f64::from(plan.concurrency.get());
    let child_iterations = iterations.saturating_add(plan.warmup);
    let deadline =
        Duration::from_secs_f64((per_iteration * child_iterations as f64).min(7.0 * 24.0 * 3600.0))
            + Duration::from_secs(60);

    let temp;
    let out_dir: &Path = match &request.out_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(AbError::OutDir)?;
            dir
        }
        None => {
            temp = tempfile::Builder::new()
                .prefix("phasebench-ab-")
                .tempdir()
                .map_err(AbError::OutDir)?;
            temp.path()
        }
    };
    // After --out-dir exists: the comparison may be asked to go inside it.
    crate::sys::output::check_all(request.comparison.destinations()).map_err(Error::OutputPath)?;
    let mut results_a = Vec::new();
    let mut results_b = Vec::new();
    for round in 1..=request.rounds {
        let order: [(char, &Side); 2] = if round % 2 == 1 {
            [('A', &request.a), ('B', &request.b)]
        } else {
            [('B', &request.b), ('A', &request.a)]
        };
        for (side, spec) in order {
            let json = out_dir.join(format!(
                "{}-round{round:02}.json",
                side.to_ascii_lowercase()
            ));
            if request.progress {
                eprintln!(
                    "round {round}/{}: {side} ({iterations} iterations)",
                    request.rounds
                );
            }
            run_side(side, round, spec, request, iterations, &json, deadline)?;
            let loaded = results::load_result(&json).map_err(|source| AbError::Result {
                side,
                round,
                binary: spec.binary.display().to_string(),
                source: Box::new(source),
            })?;
            if side == 'A' {
                results_a.push(loaded);
            } else {
                results_b.push(loaded);
            }
        }
    }
    let comparison = judge(&scenario_a, &scenario_b, &results_a, &results_b, request)?;
    write_outputs(&comparison, &results_a, &results_b, request)?;
    let failed = comparison.regressed() || comparison.budgets_breached();
    Ok((
        comparison,
        if failed { Verdict::Fail } else { Verdict::Pass },
    ))
}

/// The comparison's JSON, Markdown and HTML (B's rounds, A's overlaid), where asked.
fn write_outputs(
    comparison: &Comparison,
    a: &[LoadedResult],
    b: &[LoadedResult],
    request: &AbRequest,
) -> Result<(), Error> {
    crate::write_comparison(comparison, &request.comparison)?;
    if let Some(out) = &request.comparison.html {
        out.write(&crate::html_report(b, Some(("A", a, comparison))))?;
    }
    Ok(())
}

/// The round files an earlier run kept (`ab --out-dir`, or each pairing of `history`): `a-round01.json`, `b-round01.json`, … up to the first
/// round missing a side.
pub fn kept_rounds(dir: &Path) -> Result<(Vec<LoadedResult>, Vec<LoadedResult>), Error> {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for round in 1..=MAX_ROUNDS {
        let (pa, pb) = (
            dir.join(format!("a-round{round:02}.json")),
            dir.join(format!("b-round{round:02}.json")),
        );
        if !pa.exists() || !pb.exists() {
            break;
        }
        a.push(results::load_result(&pa)?);
        b.push(results::load_result(&pb)?);
    }
    if a.len() < MIN_ROUNDS as usize {
        return Err(AbError::Rounds.into());
    }
    Ok((a, b))
}

/// B's budgets on its rounds (each round pair's B run is a unit), and the paired comparison.
fn judge(
    scenario_a: &Scenario,
    scenario_b: &Scenario,
    a: &[LoadedResult],
    b: &[LoadedResult],
    request: &AbRequest,
) -> Result<Comparison, Error> {
    let b_units: Vec<crate::results::DecodedRound> = b.iter().map(|r| r.pooled.clone()).collect();
    let budgets =
        crate::stats::budget::evaluate(&scenario_b.budgets, &b_units, scenario_b.policy.confidence);
    let options = CompareOptions {
        // Different per-side overrides are the point of such a run.
        allow_mismatch: request.comparison.allow_mismatch
            || scenario_a.content_hash != scenario_b.content_hash,
    };
    Ok(crate::stats::compare::paired_rounds(
        a, b, budgets, &options,
    )?)
}
