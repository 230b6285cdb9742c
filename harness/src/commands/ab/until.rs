//! `ab --until-decided`: the sequential A/B. Round pairs are added at the looks of a
//! [`SequentialPlan`] (the first at `--rounds`), each look judged at its own level, until the
//! comparison decides, the plan ends, or the time budget would be overrun. When the next look
//! would overrun the budget at the pace so far, a last look at the round pairs that fit
//! spends what is left of α, and a look after which no round pair fits is judged again as
//! the last, spending it, so the budget's time and error rate both go to evidence. The
//! looks before it keep the levels of the whole plan: a budget that holds only a look or two
//! leaves most of α to the last one, where a change near the smallest one the budget can see
//! is decided ([`crate::stats::sequential`] measures what re-spreading α over the looks that
//! fit would cost). A round still running when the budget ends (a stalled machine) is cut and
//! the pairs finished before it are judged as a last look. Why the levels and not the fixed-n
//! interval re-checked: [`crate::stats::sequential`].

use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::results::LoadedResult;
use crate::scenario::Scenario;
use crate::stats::compare::{Comparison, Outcome, Regression};
use crate::stats::sequential::SequentialPlan;

use super::AbRequest;

/// The share of `--max-time` the looks are paced to fill: the rest is left for judging the last
/// look and writing the outputs, which the pace of the round pairs does not hold.
const TIME_USED: f64 = 0.97;

/// `ab --until-decided`: round pairs are added at the looks of a [`SequentialPlan`] (the
/// first at `--rounds`) until the comparison decides, the plan's last look, or the time
/// budget.
#[derive(Debug, Clone)]
pub struct UntilDecided {
    /// The plan's last look.
    pub max_rounds: u32,
    /// No look is started that would, at the pace so far, end past this much time, and a
    /// round still running when it ends is cut (the pairs before it are judged).
    pub max_time: Option<Duration>,
    /// What "decided" means.
    pub stop: StopWhen,
}

/// When a sequential A/B has seen enough.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopWhen {
    /// Every primary row decided (or a regression, or a breached budget): the gate's question.
    Gate,
    /// This metric's p50 regressed (any status), or a regression is ruled out (every
    /// status): bisect's question.
    Metric(String),
}

impl StopWhen {
    fn decided(&self, comparison: &Comparison) -> bool {
        match self {
            StopWhen::Gate => comparison.outcome() != Outcome::Undecided,
            StopWhen::Metric(metric) => {
                comparison.p50_regression(metric).0 != Regression::Undecided
            }
        }
    }
}

/// Runs the plan's looks in turn, judging after each at its level, until `until.stop` says
/// the comparison is decided, the plan ends, or the next look would end past the time budget
/// (or the budget ends during a round).
pub(super) fn run(
    scenario_a: &Scenario,
    scenario_b: &Scenario,
    plan: &SequentialPlan,
    until: &UntilDecided,
    out_dir: &Path,
    request: &AbRequest,
) -> Result<(Comparison, Vec<LoadedResult>, Vec<LoadedResult>), Error> {
    let started = Instant::now();
    // At the budget's end the running round is cut, so it holds even when a round stalls
    // (the looks are paced to TIME_USED of it: the pace's slack is not cut).
    let budget_end = until.max_time.map(|limit| started + limit);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let mut judged = None;
    let mut index = 0;
    while let Some(&planned) = plan.rounds().get(index) {
        let done = a.len() as u32;
        // The planned look, or, when the time budget will not hold it at the pace so far, a
        // last look at the round pairs that fit, spending what is left of α.
        let mut last = None;
        if let (Some(limit), true) = (until.max_time, done > 0) {
            let budget = limit.mul_f64(TIME_USED);
            let elapsed = started.elapsed();
            let more_fit = pairs_that_fit(budget, elapsed, done);
            if more_fit < planned - done {
                // What the planned look would take at the pace so far, for the message.
                let more = elapsed / done * (planned - done);
                if more_fit == 0 {
                    // The look just judged is the last that can run, so it is judged again as
                    // the last look, spending the rest of α. A level fixed by the clock: its
                    // interval at the rest is narrower than at its own level, so whatever its
                    // own level decided the rest decides too, and the looks' levels still sum
                    // to α (the union bound). The look is recorded, so `--rejudge` of these
                    // rounds judges them at it too.
                    let look = plan.last_look_at(index - 1, done);
                    request.progress.say(|| {
                        format!(
                            "--max-time {limit:?}: no more round pair fits (the next look, \
                             {planned}, would take about {more:?} more): the {done} round pairs \
                             judged again as the last look, intervals at {:.2}%",
                            look.confidence * 100.0
                        )
                    });
                    judged = Some(super::judge(
                        scenario_a,
                        scenario_b,
                        &a,
                        &b,
                        request,
                        Some(look),
                    )?);
                    super::kept::record_look(out_dir, &look)?;
                    break;
                }
                let fits = done + more_fit;
                request.progress.say(|| {
                    format!(
                        "--max-time {limit:?}: the next look, {planned}, would take about \
                         {more:?} more; a last look at {fits} round pairs instead"
                    )
                });
                last = Some(fits);
            }
        }
        let rounds = last.unwrap_or(planned);
        let ran =
            super::rounds::run_pairs(scenario_b, done + 1..=rounds, out_dir, request, budget_end)?;
        a.extend(ran.a);
        b.extend(ran.b);
        if ran.out_of_time {
            // The budget ended during a round (a machine that stalled, a pace that slowed):
            // the pairs finished since the last look are judged as a last look, or the last
            // look's judgement stands.
            let finished = a.len() as u32;
            let limit = until.max_time.expect("a budget end comes from --max-time");
            if finished == done {
                request.progress.say(|| {
                    format!(
                        "--max-time {limit:?}: the budget ended during round {}; no round pair \
                         finished since the last look",
                        done + 1
                    )
                });
                if judged.is_none() {
                    return Err(super::AbError::OutOfTime.into());
                }
                break;
            }
            request.progress.say(|| {
                format!(
                    "--max-time {limit:?}: the budget ended during round {}; a last look at the \
                     round pairs before it ({finished})",
                    finished + 1
                )
            });
            last = Some(finished);
        }
        let look = match last {
            Some(rounds) => plan.last_look_at(index, rounds),
            None => plan.look(index),
        };
        let comparison = super::judge(scenario_a, scenario_b, &a, &b, request, Some(look))?;
        super::kept::record_look(out_dir, &look)?;
        let decided = until.stop.decided(&comparison);
        request.progress.say(|| {
            format!(
                "look {} of {} ({} round pairs, intervals at {:.2}%): {}",
                look.index,
                look.looks,
                look.rounds,
                look.confidence * 100.0,
                if decided {
                    "decided"
                } else {
                    "not decided yet"
                }
            )
        });
        judged = Some(comparison);
        if decided || last.is_some() || crate::sys::shutdown::requested().is_some() {
            break;
        }
        index += 1;
    }
    let comparison = judged.expect("the first look always runs");
    Ok((comparison, a, b))
}

/// How many more round pairs `budget` holds after `done` of them took `elapsed`, at that pace.
fn pairs_that_fit(budget: Duration, elapsed: Duration, done: u32) -> u32 {
    if done == 0 {
        return 0;
    }
    let per_pair = elapsed.as_secs_f64() / f64::from(done);
    let left = budget.saturating_sub(elapsed).as_secs_f64();
    // `as` saturates: NaN (nothing left at an instant pace) fits none, infinity all.
    (left / per_pair).floor() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_fit_at_the_pace_so_far() {
        let s = Duration::from_secs;
        // 10 pairs in 225 s, 291 s of budget: 66 s left at 22.5 s a pair.
        assert_eq!(pairs_that_fit(s(291), s(225), 10), 2);
        // A first look that ended with less than a pair's time left: none.
        assert_eq!(pairs_that_fit(s(291), s(280), 10), 0);
        assert_eq!(pairs_that_fit(s(291), s(300), 10), 0);
        assert_eq!(pairs_that_fit(s(291), s(0), 10), u32::MAX);
        assert_eq!(pairs_that_fit(s(291), s(0), 0), 0);
    }
}
