//! The round files an A/B keeps (`a-round01.json`, `b-round01.json`, …), read back for
//! `ab --rejudge`, `rank` and `history`'s pairings, with gaps refused; and, for a sequential
//! A/B, the look its last judgement was made at (`sequential-look.json`), so that `--rejudge`
//! reproduces a look the clock chose (a look judged again as the last) and refuses a plan
//! that does not make it.

use std::path::Path;

use crate::error::Error;
use crate::results::{self, LoadedResult};
use crate::stats::sequential::{Look, SequentialPlan};
use crate::sys::output::Destination;

use super::{AbError, MAX_ROUNDS, MIN_ROUNDS};

/// The round files an earlier run kept (`ab --out-dir`, or each pairing of `history`):
/// `a-round01.json`, `b-round01.json`, … up to the first round missing a side; a round missing
/// before a later one is refused.
pub(crate) fn kept_rounds(dir: &Path) -> Result<(Vec<LoadedResult>, Vec<LoadedResult>), Error> {
    if !dir.is_dir() {
        return Err(AbError::Kept {
            dir: dir.display().to_string(),
            why: "is not a directory".into(),
        }
        .into());
    }
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
        return Err(AbError::Kept {
            dir: dir.display().to_string(),
            why: format!(
                "holds {} round pairs (a-round01.json and b-round01.json, …); judging needs at \
                 least {MIN_ROUNDS}",
                a.len()
            ),
        }
        .into());
    }
    Ok((a, b))
}

/// [`kept_rounds`], refused unless `dir` holds exactly `expected` round pairs when given
/// (`ab --rejudge DIR --rounds N`: this also catches missing last rounds).
pub(super) fn kept_rounds_counted(
    dir: &Path,
    expected: Option<u32>,
) -> Result<(Vec<LoadedResult>, Vec<LoadedResult>), Error> {
    let (a, b) = kept_rounds(dir)?;
    if let Some(expected) = expected
        && a.len() != expected as usize
    {
        return Err(AbError::RoundCount {
            dir: dir.display().to_string(),
            found: a.len(),
            expected,
        }
        .into());
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

/// Where a sequential A/B records the look it judged last, beside its round files.
const LOOK_FILE: &str = "sequential-look.json";
/// A look is a handful of numbers: anything larger is not one.
const LOOK_FILE_LIMIT: u64 = 4096;

/// Records `look` as the one the round files in `dir` were last judged at (replacing the
/// record of an earlier look).
pub(super) fn record_look(dir: &Path, look: &Look) -> Result<(), Error> {
    let mut bytes = serde_json::to_vec_pretty(look).expect("a look serializes");
    bytes.push(b'\n');
    Destination::Path(dir.join(LOOK_FILE)).write(&bytes)?;
    Ok(())
}

/// The look at which `plan` judges the `rounds` round pairs kept in `dir` again: the one the
/// run recorded when it judged these very pairs (a planned look, a last look cut short, or a
/// look judged again as the last), re-derived from `plan` and refused when `plan` does not make
/// it (other `--rounds` or `--max-rounds` than the run's); without a record for these pairs
/// (rounds kept by an older phasebench, or files removed since), the plan's look at `rounds`.
pub(super) fn look_to_rejudge(
    dir: &Path,
    plan: &SequentialPlan,
    rounds: u32,
) -> Result<Look, Error> {
    let refuse = |why: String| -> Error {
        AbError::Kept {
            dir: dir.display().to_string(),
            why,
        }
        .into()
    };
    let planned = plan.look_at(rounds).ok_or_else(|| {
        refuse(format!(
            "holds {rounds} round pairs, past the plan's last look (looks at {:?}): judge with \
             the run's --rounds and --max-rounds",
            plan.rounds()
        ))
    })?;
    let bytes = match crate::sys::read_bounded(&dir.join(LOOK_FILE), LOOK_FILE_LIMIT) {
        Ok(bytes) => bytes,
        Err(crate::sys::BoundedReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(planned);
        }
        Err(e) => return Err(refuse(format!("{LOOK_FILE}: {e}"))),
    };
    let recorded: Look = serde_json::from_slice(&bytes)
        .map_err(|e| refuse(format!("{LOOK_FILE} is not a look: {e}")))?;
    if recorded.rounds != rounds {
        // The record is of other round pairs than those kept now: nothing to reproduce.
        return Ok(planned);
    }
    // Only the numbers this plan derives are used; the record only says which of them.
    let same = |look: &Look| {
        (look.index, look.looks, look.rounds, look.max_rounds)
            == (
                recorded.index,
                recorded.looks,
                recorded.rounds,
                recorded.max_rounds,
            )
            && (look.confidence - recorded.confidence).abs() < 1e-9
    };
    [Some(planned), plan.judged_again_at(rounds)]
        .into_iter()
        .flatten()
        .find(same)
        .ok_or_else(|| {
            refuse(format!(
                "the run judged these {rounds} round pairs at look {} of {} (of {} round pairs, \
                 intervals at {:.4}%), which this plan (looks at {:?}) does not make: judge with \
                 the run's --rounds and --max-rounds",
                recorded.index,
                recorded.looks,
                recorded.max_rounds,
                recorded.confidence * 100.0,
                plan.rounds()
            ))
        })
}
