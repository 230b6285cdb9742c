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

mod kept;
mod parts;
mod rounds;
mod side_process;
mod until;

pub(crate) use kept::kept_rounds;
pub(crate) use until::{StopWhen, UntilDecided};

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::commands::compare::ComparisonOutputs;
use crate::error::{Error, GateVerdict};
use crate::results::{self, LoadedResult};
use crate::scenario::{Override, Scenario};
use crate::stats::compare::{CompareOptions, Comparison};
use crate::stats::sequential::{Look, SequentialPlan};

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
    /// Choose `rounds` instead: the most, up to this many, that keep every primary
    /// statistic judgeable (`design::auto_rounds`): `DEFAULT_AUTO_MAX` for `--rounds auto`,
    /// `DEFAULT_ROUNDS` when no `--rounds` was given (a scenario whose iterations are too
    /// few for ten rounds gets fewer, not a refusal).
    pub auto_rounds: Option<u32>,
    /// Keep each round's result here (a temporary directory otherwise).
    pub out_dir: Option<PathBuf>,
    pub comparison: ComparisonOutputs,
    /// Where a line per round goes (nowhere by default).
    pub progress: crate::commands::Progress,
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
    /// Add round pairs until decided (`--until-decided`); `rounds` is then the first look.
    pub until_decided: Option<UntilDecided>,
    /// Refuse, before running, a design under which some primary statistic cannot be judged
    /// (`history` only tabulates, and leaves it to the rows to say so).
    pub require_judgeable: bool,
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
    #[error(
        "the --max-time budget ended before one round pair finished: allow more time, or fewer \
         iterations a round"
    )]
    OutOfTime,
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
    #[error(
        "the A/B would run {total} iterations (warmup included, both sides, every round); at most \
         {MAX_TOTAL_ITERATIONS}: fewer iterations, warmup or rounds"
    )]
    TooLarge { total: u64 },
    #[error("kept rounds {dir}: {why}")]
    Kept { dir: String, why: String },
    #[error("--until-decided: {0}")]
    Sequential(String),
    #[error("the A/B cannot judge every primary statistic: {0}")]
    Design(#[from] crate::stats::design::DesignError),
}

impl AbError {
    /// A bad `--rounds` or `--shard`, or a gathered directory with a gap, is the user's input;
    /// a side that fails is a target failure.
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            AbError::Rounds
                | AbError::Shard(_)
                | AbError::Gap { .. }
                | AbError::RoundCount { .. }
                | AbError::Sequential(_)
                | AbError::Kept { .. }
                | AbError::TooLarge { .. }
                | AbError::Design(_)
        )
    }
}

/// Rounds per side when none are given.
pub(crate) const DEFAULT_ROUNDS: u32 = 10;
/// Fewest rounds: the paired interval needs three.
pub(crate) const MIN_ROUNDS: u32 = 3;
pub(crate) const MAX_ROUNDS: u32 = 1000;
/// Runs both sides in alternating rounds and compares B with A, round pair by round pair.
pub fn run_ab(request: &AbRequest) -> Result<(Comparison, GateVerdict), Error> {
    let (scenario_a, scenario_b, request) = checked_sides(request)?;
    let request = &request;
    let plan = request
        .until_decided
        .as_ref()
        .map(|until| {
            SequentialPlan::new(
                request.rounds,
                until.max_rounds,
                scenario_b.policy.confidence,
            )
            .map_err(AbError::Sequential)
        })
        .transpose()?;
    if let Some(dir) = &request.rejudge {
        crate::sys::output::check_all(request.comparison.destinations())
            .map_err(Error::OutputPath)?;
        let (a, b) = kept::kept_rounds_counted(dir, request.expected_rounds)?;
        // Kept rounds of a sequential run are judged at the level of the look that judged them.
        let look = match &plan {
            Some(plan) => Some(kept::look_to_rejudge(dir, plan, a.len() as u32)?),
            None => None,
        };
        let comparison = judge(&scenario_a, &scenario_b, &a, &b, request, look)?;
        write_outputs(&comparison, &a, &b, request)?;
        return Ok(with_verdict(comparison, request));
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
    let (comparison, results_a, results_b) = match (&plan, &request.until_decided) {
        (Some(plan), Some(until)) => {
            until::run(&scenario_a, &scenario_b, plan, until, out_dir, request)?
        }
        _ => {
            let rounds::Pairs { a, b, .. } =
                rounds::run_pairs(&scenario_b, 1..=request.rounds, out_dir, request, None)?;
            let comparison = judge(&scenario_a, &scenario_b, &a, &b, request, None)?;
            (comparison, a, b)
        }
    };
    write_outputs(&comparison, &results_a, &results_b, request)?;
    Ok(with_verdict(comparison, request))
}

/// The most iterations (warmup included, both sides) an A/B may plan.
pub(crate) const MAX_TOTAL_ITERATIONS: u64 = 1_000_000_000;

/// Most rounds `--rounds auto` chooses.
pub(crate) const DEFAULT_AUTO_MAX: u32 = 40;

/// Loads both sides' scenarios (shared and per-side overrides), resolves `--rounds auto`,
/// and checks the rounds and the design (every primary statistic judgeable with the rounds'
/// share of the iterations): a mistake fails before anything runs. Returns the request with
/// its rounds resolved.
fn checked_sides(request: &AbRequest) -> Result<(Scenario, Scenario, AbRequest), Error> {
    let with = |side: &Side| [request.overrides.clone(), side.overrides.clone()].concat();
    let scenario_a = Scenario::load(&request.scenario, &with(&request.a))?;
    let scenario_b = Scenario::load(&request.scenario, &with(&request.b))?;
    let mut resolved = request.clone();
    let iterations = scenario_b.plan.iterations.get();
    if let Some(most) = request.auto_rounds {
        match crate::stats::design::auto_rounds(&scenario_b, iterations, MIN_ROUNDS, most) {
            Ok(rounds) => resolved.rounds = rounds,
            Err(e) if request.rejudge.is_none() => return Err(AbError::Design(e).into()),
            // Kept rounds are judged whatever their design (the plan's first look, with
            // --until-decided, is then the default).
            Err(_) => resolved.rounds = DEFAULT_ROUNDS.min(most),
        }
        if resolved.rounds < most && most == DEFAULT_ROUNDS && request.rejudge.is_none() {
            request.progress.say(|| {
                format!(
                    "{} rounds, not {DEFAULT_ROUNDS}: {iterations} iterations in {DEFAULT_ROUNDS} \
                     rounds would leave a primary statistic too few samples a round (give \
                     --rounds to choose)",
                    resolved.rounds
                )
            });
        }
    }
    if !(MIN_ROUNDS..=MAX_ROUNDS).contains(&resolved.rounds) {
        return Err(AbError::Rounds.into());
    }
    // Every child's iterations, both sides, every round the run may reach: refused before
    // anything starts when beyond what any machine finishes (a typo of 1e9 warmup).
    if request.rejudge.is_none() {
        let rounds = request
            .until_decided
            .as_ref()
            .map_or(resolved.rounds, |u| u.max_rounds.max(resolved.rounds));
        let per_child = iterations
            .div_ceil(u64::from(resolved.rounds))
            .saturating_add(scenario_b.plan.warmup);
        let total = per_child
            .saturating_mul(u64::from(rounds))
            .saturating_mul(2);
        if total > MAX_TOTAL_ITERATIONS {
            return Err(AbError::TooLarge { total }.into());
        }
    }
    // Kept rounds are judged whatever their design; a new run must be judgeable.
    if request.rejudge.is_none() && request.require_judgeable {
        crate::stats::design::check(&scenario_b, iterations, resolved.rounds, MIN_ROUNDS)
            .map_err(AbError::Design)?;
    }
    Ok((scenario_a, scenario_b, resolved))
}

/// Fails on a primary regression or a breached budget; undecided while a primary row is.
fn with_verdict(comparison: Comparison, request: &AbRequest) -> (Comparison, GateVerdict) {
    let verdict = GateVerdict::of(&comparison, request.comparison.undecided);
    (comparison, verdict)
}

/// `ab --shard K/N`: round pairs K, K+N, … of the request's rounds, each written to its
/// `--out-dir` under its number in the whole run (`a-round05.json`), nothing judged. Gathered
/// in one directory, the shards' files are the whole run's; `ab --rejudge DIR` judges them as
/// one machine would have. Returns the rounds run.
pub fn run_ab_shard(request: &AbRequest) -> Result<Vec<u32>, Error> {
    let Some((k, n)) = request.shard else {
        return Err(AbError::Shard("was not given".into()).into());
    };
    let (_, scenario_b, request) = checked_sides(request)?;
    let request = &request;
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
    rounds::run_pairs(&scenario_b, rounds.iter().copied(), out_dir, request, None)?;
    Ok(rounds)
}

/// The comparison's JSON, Markdown and HTML (B's rounds, A's overlaid), where asked.
fn write_outputs(
    comparison: &Comparison,
    a: &[LoadedResult],
    b: &[LoadedResult],
    request: &AbRequest,
) -> Result<(), Error> {
    crate::commands::compare::write_comparison(comparison, &request.comparison)?;
    if let Some(out) = &request.comparison.html {
        out.write(&crate::report::page::html(b, Some(("A", a, comparison))))?;
    }
    Ok(())
}

/// B's budgets on its rounds (each round pair's B run is a unit), and the paired comparison.
fn judge(
    scenario_a: &Scenario,
    scenario_b: &Scenario,
    a: &[LoadedResult],
    b: &[LoadedResult],
    request: &AbRequest,
    look: Option<Look>,
) -> Result<Comparison, Error> {
    let b_units: Vec<crate::results::DecodedRound> = b.iter().map(|r| r.pooled.clone()).collect();
    let budgets = crate::stats::budget::evaluate(
        &scenario_b.budgets,
        &b_units,
        look.map_or(scenario_b.policy.confidence, |l| l.confidence),
    );
    let options = CompareOptions {
        // The scenario file given, not what the round files say (kept files may be edited).
        judging: Some(crate::stats::compare::Judging::of_scenario(scenario_b)),
        // Different per-side overrides are the point of such a run.
        allow_mismatch: request.comparison.allow_mismatch
            || scenario_a.content_hash != scenario_b.content_hash,
        look,
    };
    let mut comparison = crate::stats::compare::paired_rounds(a, b, budgets, &options)?;
    // Sides told apart by `--a-set`/`--b-set` differ in content by design: that difference
    // is the setting, said as such, not a mismatch to warn about.
    let sides = [("A", &request.a.overrides), ("B", &request.b.overrides)];
    if scenario_a.content_hash != scenario_b.content_hash
        && sides.iter().any(|(_, o)| !o.is_empty())
    {
        comparison
            .mismatches
            .retain(|m| !m.starts_with("the scenario content differs"));
        comparison.side_settings = sides
            .iter()
            .flat_map(|(side, overrides)| {
                overrides
                    .iter()
                    .map(move |o| format!("{side}: {}={}", o.key, o.value))
            })
            .collect();
    }
    Ok(comparison)
}
