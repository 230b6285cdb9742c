//! A scenario's rounds, each on a fresh target (a new runtime and mock, or new processes),
//! measured and summarized into one [`MeasuredRun`]; `run`, `sweep` and the shard tests share
//! this loop.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use crate::error::Error;
use crate::measure;
use crate::measure::meter::Meter;
use crate::measure::runner::{self, RoundPlan, RunOutcome};
use crate::model;
use crate::model::target::{TargetInfo, TelemetryHealth};
use crate::results::summarize::{RunContext, summarize};
use crate::results::{self, Environment, RunSummary};
use crate::scenario::{Scenario, TargetKind};
use crate::stats;
use crate::sys::shutdown;
use crate::target::{self, Target};

/// What one round's target reported besides its outcome.
pub(crate) struct RoundResult {
    pub(crate) outcome: RunOutcome,
    pub(crate) info: TargetInfo,
    pub(crate) telemetry: TelemetryHealth,
    pub(crate) warnings: Vec<String>,
}

pub(crate) async fn measure_on<T: Target>(
    target: Arc<T>,
    plan: RoundPlan,
    expected: Vec<String>,
    meter: Meter,
) -> RoundResult {
    let outcome = runner::measure_round(Arc::clone(&target), plan, expected, meter).await;
    RoundResult {
        outcome,
        info: target.info(),
        telemetry: target.telemetry_health(),
        warnings: target.warnings(),
    }
}

/// Runs every round of `scenario`, each on a fresh target (a new runtime and mock, or new
/// processes), and summarizes them. Stops early on a stop request, keeping finished rounds.
pub(crate) async fn measure_rounds(
    scenario: &Scenario,
    meter: Meter,
    trace: bool,
    shard: Option<(u32, u32)>,
) -> Result<MeasuredRun, Error> {
    measure_rounds_with(scenario, meter, trace, shard, measure_on_fresh_target).await
}

/// What a scenario's rounds measured.
pub(crate) struct MeasuredRun {
    pub(crate) summary: RunSummary,
    /// Each round's series, in round order.
    pub(crate) rounds: Vec<results::DecodedRound>,
    /// The iteration timelines kept (`--trace`).
    pub(crate) timelines: Vec<measure::timeline::Timeline>,
}

/// Starts the scenario's target for one round (a fresh runtime or fresh processes) and runs
/// the round on it.
async fn measure_on_fresh_target(
    scenario: &Scenario,
    round_plan: RoundPlan,
    expected: Vec<String>,
    meter: Meter,
) -> Result<RoundResult, Error> {
    Ok(match &scenario.target {
        TargetKind::Builtin => {
            let target = Arc::new(target::builtin::BuiltinTarget::start(scenario).await?);
            measure_on(target, round_plan, expected, meter).await
        }
        TargetKind::CodexExec(spec) => {
            let target =
                Arc::new(target::codex::exec::CodexExecTarget::start(scenario, spec).await?);
            measure_on(target, round_plan, expected, meter).await
        }
        TargetKind::CodexAppServer(spec) => {
            let target = Arc::new(
                target::codex::app_server::CodexAppServerTarget::start(scenario, spec).await?,
            );
            measure_on(target, round_plan, expected, meter).await
        }
    })
}

/// [`measure_rounds`] with each round run by `round` (the scenario's target, or a test's).
pub(crate) async fn measure_rounds_with(
    scenario: &Scenario,
    meter: Meter,
    trace: bool,
    shard: Option<(u32, u32)>,
    round: impl AsyncFn(&Scenario, RoundPlan, Vec<String>, Meter) -> Result<RoundResult, Error>,
) -> Result<MeasuredRun, Error> {
    let started = SystemTime::now();
    let clock = Instant::now();
    let plan = scenario.plan;
    let rounds = plan.rounds.get();
    meter.planned(
        (0..rounds)
            .filter(|r| shard.is_none_or(|(k, n)| r % n == k - 1))
            .map(|r| plan.round_iterations(r))
            .sum(),
    );
    let expected = model::metric::expected_metrics(scenario.profile());
    let mut outcomes = Vec::new();
    let mut info = None;
    let mut telemetry = TelemetryHealth::default();
    let mut warnings: Vec<String> = Vec::new();
    for index in 0..rounds {
        if shutdown::requested().is_some() {
            break;
        }
        // A shard runs its share of the rounds, numbered and seeded as in the whole run.
        if let Some((k, n)) = shard
            && index % n != k - 1
        {
            continue;
        }
        let scenario = scenario.for_round(index);
        let round_plan = RoundPlan {
            iterations: plan.round_iterations(index),
            warmup: plan.warmup,
            concurrency: plan.concurrency,
            iteration_timeout: plan.iteration_timeout,
            timelines: trace,
            arrivals: plan.arrivals.map(|a| (a, scenario.seed)),
        };
        let result = round(&scenario, round_plan, expected.clone(), meter.clone()).await?;
        info.get_or_insert(result.info);
        telemetry.add(&result.telemetry);
        for w in result.warnings {
            if !warnings.contains(&w) {
                warnings.push(w);
            }
        }
        // A round cut short by a stop keeps what it measured.
        if result.outcome.iterations > 0 || shutdown::requested().is_none() {
            let mut outcome = result.outcome;
            outcome.round = index + 1;
            outcomes.push(outcome);
        }
    }
    meter.finish();
    let mut timelines = measure::timeline::TimelineKeeper::default();
    for (round, outcome) in outcomes.iter_mut().enumerate() {
        let mut kept = std::mem::take(&mut outcome.timelines);
        kept.set_round(round as u32 + 1);
        timelines.merge(kept);
    }
    let decoded: Vec<results::DecodedRound> =
        outcomes.iter().map(|o| o.recorder.series.clone()).collect();
    let summary = summarize(
        scenario,
        &outcomes,
        RunContext {
            budgets: stats::budget::evaluate(
                &scenario.budgets,
                &decoded,
                scenario.policy.confidence,
            ),
            target: info.unwrap_or_else(|| TargetInfo {
                name: scenario.target.as_str().to_owned(),
                version: "unknown".to_owned(),
            }),
            telemetry,
            warnings,
            environment: Environment::detect(started),
            total_wall_time: clock.elapsed(),
            partial: shutdown::requested().is_some(),
            shard,
        },
    );
    Ok(MeasuredRun {
        summary,
        rounds: decoded,
        timelines: timelines.into_timelines(),
    })
}

/// Runs a scenario's iterations as one round on a target the caller started (and may
/// inspect afterwards: tests look at the mock and the receiver), and summarizes them.
#[cfg(feature = "test-support")]
pub async fn run_target<T: Target>(scenario: &Scenario, target: Arc<T>) -> RunSummary {
    let started = SystemTime::now();
    let clock = Instant::now();
    let plan = scenario.plan;
    let round_plan = RoundPlan {
        iterations: plan.iterations.get(),
        warmup: plan.warmup,
        concurrency: plan.concurrency,
        iteration_timeout: plan.iteration_timeout,
        timelines: false,
        arrivals: plan.arrivals.map(|a| (a, scenario.seed)),
    };
    let expected = model::metric::expected_metrics(scenario.profile());
    let result = measure_on(target, round_plan, expected, Meter::off()).await;
    let mut one_round = scenario.clone();
    one_round.plan.rounds = std::num::NonZeroU32::MIN;
    let decoded = [result.outcome.recorder.series.clone()];
    summarize(
        &one_round,
        std::slice::from_ref(&result.outcome),
        RunContext {
            budgets: stats::budget::evaluate(
                &scenario.budgets,
                &decoded,
                scenario.policy.confidence,
            ),
            target: result.info,
            telemetry: result.telemetry,
            warnings: result.warnings,
            environment: Environment::detect(started),
            total_wall_time: clock.elapsed(),
            partial: shutdown::requested().is_some(),
            shard: None,
        },
    )
}
