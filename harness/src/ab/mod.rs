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

mod child;

use std::path::{Path, PathBuf};
use std::time::Duration;

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
    /// With `rejudge`: refuse unless the directory holds exactly this many round pairs (a
    /// gap is always refused; this also catches missing last rounds).
    pub expected_rounds: Option<u32>,
    /// Run only round pairs K, K+N, … of the `rounds` (1-based K of N) into `out_dir`, and
    /// judge nothing: the shards' round files, gathered in one directory, are judged with
    /// `rejudge` ([`run_ab_shard`]).
    pub shard: Option<(u32, u32)>,
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
    #[error("--shard {0}")]
    Shard(String),
    #[error(
        "{dir}: round {missing} is missing but round {later} is there (a shard's files were not gathered?)"
    )]
    Gap {
        dir: String,
        missing: u32,
        later: u32,
    },
    #[error("{dir} holds {found} round pairs, not the {expected} of --rounds")]
    RoundCount {
        dir: String,
        found: usize,
        expected: u32,
    },
}

impl AbError {
    /// A bad `--rounds` or `--shard`, or a gathered directory with a gap, is the user's input;
    /// a side that fails is a target failure.
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            AbError::Rounds | AbError::Shard(_) | AbError::Gap { .. } | AbError::RoundCount { .. }
        )
    }
}

/// Rounds per side when none are given.
pub const DEFAULT_ROUNDS: u32 = 10;
/// Fewest rounds: the paired interval needs three.
pub const MIN_ROUNDS: u32 = 3;
pub const MAX_ROUNDS: u32 = 1000;
/// Runs both sides in alternating rounds and compares B with A, round pair by round pair.
pub fn run_ab(request: &AbRequest) -> Result<(Comparison, Verdict), Error> {
    let (scenario_a, scenario_b) = checked_sides(request)?;
    if let Some(dir) = &request.rejudge {
        crate::sys::output::check_all(request.comparison.destinations())
            .map_err(Error::OutputPath)?;
        let (a, b) = kept_rounds(dir)?;
        if let Some(expected) = request.expected_rounds
            && a.len() != expected as usize
        {
            return Err(AbError::RoundCount {
                dir: dir.display().to_string(),
                found: a.len(),
                expected,
            }
            .into());
        }
        let comparison = judge(&scenario_a, &scenario_b, &a, &b, request)?;
        write_outputs(&comparison, &a, &b, request)?;
        return Ok(with_verdict(comparison));
    }
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
    let (results_a, results_b) = run_rounds(&scenario_b, 1..=request.rounds, out_dir, request)?;
    let comparison = judge(&scenario_a, &scenario_b, &results_a, &results_b, request)?;
    write_outputs(&comparison, &results_a, &results_b, request)?;
    Ok(with_verdict(comparison))
}

/// Checks `--rounds` and loads both sides' scenarios (shared and per-side overrides): a
/// mistake fails before anything runs.
fn checked_sides(request: &AbRequest) -> Result<(Scenario, Scenario), Error> {
    if !(MIN_ROUNDS..=MAX_ROUNDS).contains(&request.rounds) {
        return Err(AbError::Rounds.into());
    }
    let with = |side: &Side| [request.overrides.clone(), side.overrides.clone()].concat();
    let scenario_a = Scenario::load(&request.scenario, &with(&request.a))?;
    let scenario_b = Scenario::load(&request.scenario, &with(&request.b))?;
    Ok((scenario_a, scenario_b))
}

/// Fails on a primary regression or a breached budget.
fn with_verdict(comparison: Comparison) -> (Comparison, Verdict) {
    let failed = comparison.regressed() || comparison.budgets_breached();
    (
        comparison,
        if failed { Verdict::Fail } else { Verdict::Pass },
    )
}

/// `ab --shard K/N`: round pairs K, K+N, … of the request's rounds, each written to its
/// `--out-dir` under its number in the whole run (`a-round05.json`), nothing judged. Gathered
/// in one directory, the shards' files are the whole run's; `ab --rejudge DIR` judges them as
/// one machine would have. Returns the rounds run.
pub fn run_ab_shard(request: &AbRequest) -> Result<Vec<u32>, Error> {
    let Some((k, n)) = request.shard else {
        return Err(AbError::Shard("was not given".into()).into());
    };
    let (_, scenario_b) = checked_sides(request)?;
    if n > request.rounds {
        return Err(AbError::Shard(format!(
            "{k}/{n}: the run has {} rounds; a shard needs at least one",
            request.rounds
        ))
        .into());
    }
    let Some(out_dir) = &request.out_dir else {
        return Err(AbError::Shard(format!(
            "{k}/{n} needs --out-dir: the shard's round files are its result"
        ))
        .into());
    };
    if request.rejudge.is_some() || request.comparison.destinations().next().is_some() {
        return Err(AbError::Shard(format!(
            "{k}/{n} judges nothing: gather the shards' files and judge them with --rejudge"
        ))
        .into());
    }
    std::fs::create_dir_all(out_dir).map_err(AbError::OutDir)?;
    let rounds: Vec<u32> = (k..=request.rounds).step_by(n as usize).collect();
    run_rounds(&scenario_b, rounds.iter().copied(), out_dir, request)?;
    Ok(rounds)
}

/// Runs `rounds` (numbers in the whole run) of both sides in alternating order (odd rounds
/// A first, even rounds B first), each round's files in `out_dir`, and loads them.
fn run_rounds(
    scenario_b: &Scenario,
    rounds: impl Iterator<Item = u32>,
    out_dir: &Path,
    request: &AbRequest,
) -> Result<(Vec<LoadedResult>, Vec<LoadedResult>), Error> {
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

    let mut results_a = Vec::new();
    let mut results_b = Vec::new();
    for round in rounds {
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
            child::run_side(side, round, spec, request, iterations, &json, deadline)?;
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
    Ok((results_a, results_b))
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

/// The round files an earlier run kept (`ab --out-dir`, or each pairing of `history`):
/// `a-round01.json`, `b-round01.json`, … up to the first round missing a side; a round missing
/// before a later one is refused.
pub fn kept_rounds(dir: &Path) -> Result<(Vec<LoadedResult>, Vec<LoadedResult>), Error> {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for round in 1..=MAX_ROUNDS {
        let (pa, pb) = (
            dir.join(format!("a-round{round:02}.json")),
            dir.join(format!("b-round{round:02}.json")),
        );
        if !pa.exists() || !pb.exists() {
            if let Some(later) = last_kept_round(dir).filter(|&last| last >= round) {
                return Err(AbError::Gap {
                    dir: dir.display().to_string(),
                    missing: round,
                    later,
                }
                .into());
            }
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

/// The highest round number of any side's file in `dir` (`a-round07.json` → 7).
fn last_kept_round(dir: &Path) -> Option<u32> {
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name();
            let name = name.to_str()?;
            let number = name
                .strip_prefix("a-round")
                .or_else(|| name.strip_prefix("b-round"))?
                .strip_suffix(".json")?;
            number.parse::<u32>().ok()
        })
        .max()
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
