//! The rounds of an A/B: both sides' children in alternating order, each round's result file
//! written and read back (with `[run] interleave`, each round's parts joined first).

use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::results::{self, LoadedResult};
use crate::scenario::Scenario;

use super::{AbError, AbRequest, Side, parts, side_process};

/// The round pairs [`run_pairs`] ran, each side's in round order.
pub(super) struct Pairs {
    pub a: Vec<LoadedResult>,
    pub b: Vec<LoadedResult>,
    /// The time budget ended during a round: the pairs before it are here, and that round's
    /// files are removed (half a pair judges nothing).
    pub out_of_time: bool,
}

/// Runs `rounds` (numbers in the whole run) of both sides in alternating order (odd rounds
/// A first, even rounds B first), each round's files in `out_dir`, and loads them. With
/// `[run] interleave = K`, each round is K parts per side, the two sides alternating within a
/// round and each opening every other round ([`a_goes_first`]), each side's parts joined into
/// its round file ([`parts`]). At `budget_end` the running child is asked to stop (killed
/// if it does not) and the round pairs finished before it are returned.
pub(super) fn run_pairs(
    scenario_b: &Scenario,
    rounds: impl Iterator<Item = u32>,
    out_dir: &Path,
    request: &AbRequest,
    budget_end: Option<Instant>,
) -> Result<Pairs, Error> {
    let plan = scenario_b.plan;
    let iterations = plan
        .iterations
        .get()
        .div_ceil(u64::from(request.rounds))
        .max(1);
    // Never more parts than a round has iterations (a part runs at least one).
    let interleave = u32::try_from(u64::from(plan.interleave.get()).min(iterations))
        .expect("at most the interleave");
    let per_iteration = plan.iteration_timeout.as_secs_f64() / f64::from(plan.concurrency.get());
    // A part runs its share of the round (the larger share) and its own warmup.
    let child_iterations = iterations
        .div_ceil(u64::from(interleave))
        .saturating_add(plan.warmup);
    let deadline =
        Duration::from_secs_f64((per_iteration * child_iterations as f64).min(7.0 * 24.0 * 3600.0))
            + Duration::from_secs(60);

    let mut results_a = Vec::new();
    let mut results_b = Vec::new();
    for round in rounds {
        let mut parts_a = Vec::new();
        let mut parts_b = Vec::new();
        for index in 1..=interleave {
            let order: [(char, &Side); 2] = if a_goes_first(round, index) {
                [('A', &request.a), ('B', &request.b)]
            } else {
                [('B', &request.b), ('A', &request.a)]
            };
            let part = (interleave > 1).then_some(side_process::Part {
                index,
                of: interleave,
            });
            for (side, spec) in order {
                let round_file = out_dir.join(format!(
                    "{}-round{round:02}.json",
                    side.to_ascii_lowercase()
                ));
                let json = match part {
                    Some(p) => parts::part_path(&round_file, p.index),
                    None => round_file,
                };
                request.progress.say(|| {
                    let planned = request
                        .until_decided
                        .as_ref()
                        .map_or(request.rounds, |until| until.max_rounds);
                    match part {
                        Some(p) => format!(
                            "round {round}/{planned}, part {index}/{}: {side} ({iterations} iterations a round)",
                            p.of
                        ),
                        None => format!("round {round}/{planned}: {side} ({iterations} iterations)"),
                    }
                });
                let share = side_process::Share {
                    iterations,
                    part,
                    deadline,
                    budget_end,
                };
                match side_process::run_side(side, round, spec, request, share, &json) {
                    Ok(()) => {}
                    Err(AbError::OutOfTime) => {
                        remove_round_files(out_dir, round, interleave);
                        return Ok(Pairs {
                            a: results_a,
                            b: results_b,
                            out_of_time: true,
                        });
                    }
                    Err(e) => return Err(e.into()),
                }
                let loaded = results::load_result(&json).map_err(|source| AbError::Result {
                    side,
                    round,
                    binary: spec.binary.display().to_string(),
                    source: Box::new(source),
                })?;
                if side == 'A' {
                    parts_a.push(loaded);
                } else {
                    parts_b.push(loaded);
                }
            }
        }
        for (side, parts, results) in [
            ('a', parts_a, &mut results_a),
            ('b', parts_b, &mut results_b),
        ] {
            let joined = if interleave > 1 {
                let round_file = out_dir.join(format!("{side}-round{round:02}.json"));
                parts::join(&parts, &round_file, interleave)?
            } else {
                parts.into_iter().next().expect("one part a round")
            };
            results.push(joined);
        }
    }
    Ok(Pairs {
        a: results_a,
        b: results_b,
        out_of_time: false,
    })
}

/// Removes what a round cut short by the time budget left: either side's round file and
/// part files (absent ones are no error), so the kept rounds are whole pairs only.
fn remove_round_files(out_dir: &Path, round: u32, interleave: u32) {
    for side in ['a', 'b'] {
        let round_file = out_dir.join(format!("{side}-round{round:02}.json"));
        for index in 1..=interleave {
            let _ = std::fs::remove_file(parts::part_path(&round_file, index));
        }
        let _ = std::fs::remove_file(&round_file);
    }
}

/// Whether side A runs first in part `index` (1-based) of round `round` (1-based): the parts
/// of a round alternate (A B, B A, …), and so do the rounds' openings (odd rounds open with
/// A, even ones with B). Counting parts across the whole run instead would, with an even
/// number of parts, open every round with A, right after the parent's own work between
/// rounds (joining parts, judging a look): a cost of going first that a warmup launch per
/// part used to hide would then fall on one side only.
fn a_goes_first(round: u32, index: u32) -> bool {
    (round - 1 + index - 1).is_multiple_of(2)
}

#[cfg(test)]
mod tests {
    use super::a_goes_first;

    #[test]
    fn each_side_opens_half_the_rounds_and_parts_alternate() {
        let opened_by_a = (1..=10).filter(|&r| a_goes_first(r, 1)).count();
        assert_eq!(opened_by_a, 5);
        for interleave in 1..=5u32 {
            for round in 1..=10 {
                for index in 2..=interleave {
                    assert_ne!(
                        a_goes_first(round, index),
                        a_goes_first(round, index - 1),
                        "round {round}, part {index}"
                    );
                }
            }
        }
        // Four parts: A B B A A B B A in round 1, then B A A B B A A B.
        let order = |round| (1..=4).map(|i| a_goes_first(round, i)).collect::<Vec<_>>();
        assert_eq!(order(1), [true, false, true, false]);
        assert_eq!(order(2), [false, true, false, true]);
    }
}
