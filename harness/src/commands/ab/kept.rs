//! The round files an A/B keeps (`a-round01.json`, `b-round01.json`, …), read back for
//! `ab --rejudge`, `rank` and `history`'s pairings, with gaps refused.

use std::path::Path;

use crate::error::Error;
use crate::results::{self, LoadedResult};

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
