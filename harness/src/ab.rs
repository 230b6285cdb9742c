//! Paired A/B: two builds (phasebench binaries from two commits) or two configurations run in
//! alternating rounds on one machine (A B, B A, A B, …), each side's histograms merged across
//! rounds, then B compared with A. Drift in the machine's speed during the job hits both sides
//! alike, which two separate runs at different times cannot promise. A verdict must also hold
//! round by round ([`crate::rounds`]): a shift shared by one round's samples is not evidence.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::compare::{self, CompareOptions, Comparison};
use crate::recorder::{Recorder, Series};
use crate::report::{self, LoadedResult};
use crate::scenario::{Override, Scenario};
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
}

/// Why a side's run failed.
#[derive(Debug, thiserror::Error)]
pub enum AbError {
    #[error("cannot start {binary}: {source}")]
    Spawn {
        binary: String,
        source: std::io::Error,
    },
    #[error("{side} round {round} ({binary}) exited with {code:?}: {stderr}")]
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
    #[error("--rounds must be at least 1")]
    NoRounds,
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
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for o in request.overrides.iter().chain(&spec.overrides) {
        command.arg("--set").arg(format!("{}={}", o.key, o.value));
    }
    let binary = spec.binary.display().to_string();
    let mut child = command.spawn().map_err(|source| AbError::Spawn {
        binary: binary.clone(),
        source,
    })?;
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(AbError::Deadline {
                    side,
                    round,
                    binary,
                    deadline,
                });
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(source) => return Err(AbError::Spawn { binary, source }),
        }
    };
    // 0 pass and 1 budget breach both measured; 2 and 3 did not.
    if matches!(status.code(), Some(0 | 1)) {
        return Ok(());
    }
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        use std::io::Read;
        let _ = pipe.read_to_string(&mut stderr);
    }
    Err(AbError::Failed {
        side,
        round,
        binary,
        code: status.code(),
        stderr: stderr.trim().chars().take(2000).collect(),
    })
}

/// Merges the rounds of one side into one result.
fn merge(rounds: &[LoadedResult], label: &str) -> LoadedResult {
    let mut merged = rounds[0].clone();
    let mut count = 1;
    for round in &rounds[1..] {
        count += 1;
        for (key, h) in &round.histograms {
            merged.histograms.entry(key.clone()).or_default().merge(h);
        }
    }
    merged.path = format!("{label} ({count} rounds)");
    merged
}

/// Runs both sides in alternating rounds and compares B with A.
pub fn run_ab(request: &AbRequest) -> Result<(Comparison, Verdict), Error> {
    if request.rounds == 0 {
        return Err(AbError::NoRounds.into());
    }

    // Validate both sides' scenarios here first: a mistake fails before anything runs.
    let with = |side: &Side| [request.overrides.clone(), side.overrides.clone()].concat();
    let scenario_a = Scenario::load(&request.scenario, &with(&request.a))?;
    let scenario_b = Scenario::load(&request.scenario, &with(&request.b))?;
    let iterations = scenario_b
        .plan
        .iterations
        .get()
        .div_ceil(u64::from(request.rounds))
        .max(1);
    let plan = scenario_b.plan;
    let per_iteration = plan.iteration_timeout.as_secs_f64() / f64::from(plan.concurrency.get());
    let deadline = Duration::from_secs_f64(per_iteration * (iterations + plan.warmup) as f64)
        + Duration::from_secs(60);

    let temp;
    let out_dir: &Path = match &request.out_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(AbError::OutDir)?;
            dir
        }
        None => {
            temp = tempfile::tempdir().map_err(AbError::OutDir)?;
            temp.path()
        }
    };
    // After --out-dir exists: the comparison may be asked to go inside it.
    crate::output::check_all(request.comparison.destinations()).map_err(Error::OutputPath)?;
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
            let loaded = report::load_result(&json)?;
            if side == 'A' {
                results_a.push(loaded);
            } else {
                results_b.push(loaded);
            }
        }
    }
    let a = merge(&results_a, "A");
    let mut b = merge(&results_b, "B");
    // Budgets apply to B's merged distributions.
    let mut recorder = Recorder::default();
    for (key, h) in &b.histograms {
        let resolution = b
            .row(key)
            .and_then(|r| r.resolution)
            .unwrap_or(crate::sample::Resolution::Us);
        recorder.series.insert(
            key.clone(),
            Series {
                histogram: h.clone(),
                resolution,
            },
        );
    }
    b.summary.budgets = report::evaluate_budgets(&scenario_b.budgets, &recorder);
    let side_overrides_differ = scenario_a.content_hash != scenario_b.content_hash;
    let options = CompareOptions {
        // Different per-side overrides are the point of such a run.
        allow_mismatch: request.comparison.allow_mismatch || side_overrides_differ,
        ..CompareOptions::default()
    };
    let mut comparison = compare::compare(&b, &a, &options)?;
    // A verdict must hold round by round too, not only in the pooled samples.
    crate::rounds::check_rounds(&mut comparison, &results_a, &results_b);
    crate::write_comparison(&comparison, &request.comparison)?;
    let failed = comparison.regressed() || comparison.budgets_breached();
    Ok((
        comparison,
        if failed { Verdict::Fail } else { Verdict::Pass },
    ))
}
