//! `[run] interleave = K`: each side's round run as K alternating parts (A B B A …) and merged
//! back into one round per side. The round pair is still the statistical unit; interleaving
//! only changes which stretch of time each side's samples come from. Measured on real codex
//! (a launch is ~0.37 s, so a 20-launch round takes ~8 s): the machine's speed drifts over
//! seconds, the B − A difference of round p50s had a standard deviation of 5.5 ms with whole
//! rounds back to back, and 2.6–2.8 ms with each round cut into 4 alternating parts of 5
//! launches (docs/statistics.md, "Interleaved rounds"), which is what the launches' own spread predicts:
//! the drift is gone and a decision needs about a quarter of the round pairs.
//!
//! A part is the child `phasebench run --set run.rounds=K --shard P/K`: round P of a K-round
//! run, with that round's own seed and warmup; the K parts are the shards of one run and are
//! joined by [`crate::commands::merge`] with all its checks, so a merged round file is what one
//! `phasebench run` of K rounds would have written (less the overhead table and waterfall,
//! which `merge` leaves out) and `ab --rejudge` reads it like any other.

use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::results::{self, LoadedResult};
use crate::sys::output::Destination;

/// Where part `part` of a side's round is written before the parts are joined
/// (`a-round05.part2.json`; `kept_rounds` does not read these).
pub(super) fn part_path(round_file: &Path, part: u32) -> PathBuf {
    round_file.with_extension(format!("part{part}.json"))
}

/// Joins one side's parts of a round into `round_file`, removes the part files, and reads
/// the joined file back (with every check a result file gets).
pub(super) fn join(
    parts: &[LoadedResult],
    round_file: &Path,
    interleave: u32,
) -> Result<LoadedResult, Error> {
    let mut joined = crate::commands::merge::merge(parts, false)?;
    // The parts ran one after another, not side by side as shards do.
    let run = &mut joined.run;
    run.wall_time_s = parts.iter().map(|p| p.summary.run.wall_time_s).sum();
    run.measured_wall_time_s = parts
        .iter()
        .map(|p| p.summary.run.measured_wall_time_s)
        .sum();
    run.iterations_per_s = if run.measured_wall_time_s > 0.0 {
        run.succeeded_iterations as f64 / run.measured_wall_time_s
    } else {
        0.0
    };
    joined.warnings.retain(|w| !w.starts_with("merged from"));
    joined.warnings.push(format!(
        "one A/B round run as {interleave} interleaved parts (`[run] interleave`); the overhead \
         table and the waterfall are per part and left out"
    ));
    Destination::Path(round_file.to_path_buf()).write(&results::json_bytes(&joined))?;
    for part in parts {
        let _ = std::fs::remove_file(&part.path);
    }
    Ok(results::load_result(round_file)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_files_are_named_apart_from_round_files() {
        let part = part_path(Path::new("/out/a-round05.json"), 2);
        assert_eq!(part, Path::new("/out/a-round05.part2.json"));
    }
}
