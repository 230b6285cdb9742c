//! `phasebench merge`: the shards of one run (`run --shard K/N` on N machines, e.g. a CI
//! matrix) joined into one result. Lossless where the statistics look: the rounds are kept
//! apart exactly as each shard wrote them (histograms and all), the pooled rows are re-derived
//! from their merge, budgets judged again on the merged rounds; so `compare` and `ab` on the
//! merged file compute what one machine would from the same rounds.
//!
//! Refused: shards of different scenarios (content hash), seeds, plans, targets or target
//! versions, shard counts, or rounds that overlap. The pooling itself is `results::pool`'s;
//! what cannot be merged exactly is left out and said so: the overhead table and the
//! waterfall (percentiles of per-iteration values that the rounds do not keep); the critical
//! path's counts are added, its waits averaged.

use std::collections::BTreeMap;

use crate::results::pool::{Schedule, pool};
use crate::results::{LoadedResult, RunSummary, ShardOrigin};

/// Why shards were not merged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    #[error("give at least two shards")]
    TooFew,
    #[error("{path} is not a shard (run it with --shard K/N)")]
    NotAShard { path: String },
    #[error("refusing to merge {path} with {first}: {differences}")]
    Incompatible {
        path: String,
        first: String,
        differences: String,
    },
    #[error("round {round} is in both {a} and {b}")]
    Overlap { round: u32, a: String, b: String },
    #[error(
        "shard(s) {missing:?} of {count} are missing: the merge would not be the whole run \
         (give every shard, or --partial to merge what there is, marked partial)"
    )]
    Missing { missing: Vec<u32>, count: u32 },
}

/// What must agree between shards, as (name, value) pairs.
fn identity(s: &RunSummary) -> Vec<(&'static str, String)> {
    vec![
        ("scenario content", s.scenario.content_hash.clone()),
        ("seed", s.scenario.seed.to_string()),
        ("target", s.target.name.clone()),
        ("target version", s.target.version.clone()),
        ("iterations", s.plan.iterations.to_string()),
        ("warmup", s.plan.warmup.to_string()),
        ("concurrency", s.plan.concurrency.to_string()),
        ("rounds", s.plan.rounds.to_string()),
        (
            "shard count",
            s.plan
                .shard
                .map_or("none".into(), |sh| sh.count.to_string()),
        ),
    ]
}

/// Joins `shards` into one result: every shard of the run, or with `partial` what there is
/// (the result then marked partial, as an interrupted run is).
pub(crate) fn merge(shards: &[LoadedResult], partial: bool) -> Result<RunSummary, MergeError> {
    if shards.len() < 2 {
        return Err(MergeError::TooFew);
    }
    let first = &shards[0];
    let wanted = identity(&first.summary);
    let mut owner: BTreeMap<u32, &str> = BTreeMap::new();
    for shard in shards {
        if shard.summary.plan.shard.is_none() {
            return Err(MergeError::NotAShard {
                path: shard.path.clone(),
            });
        }
        let differences: Vec<String> = identity(&shard.summary)
            .into_iter()
            .zip(&wanted)
            .filter(|(mine, theirs)| mine.1 != theirs.1)
            .map(|((name, mine), (_, theirs))| format!("{name} {mine} vs {theirs}"))
            .collect();
        if !differences.is_empty() {
            return Err(MergeError::Incompatible {
                path: shard.path.clone(),
                first: first.path.clone(),
                differences: differences.join("; "),
            });
        }
        for round in &shard.summary.rounds {
            if let Some(other) = owner.insert(round.round, &shard.path) {
                return Err(MergeError::Overlap {
                    round: round.round,
                    a: other.to_owned(),
                    b: shard.path.clone(),
                });
            }
        }
    }
    let count = first.summary.plan.shard.map_or(0, |s| s.count);
    let given: std::collections::BTreeSet<u32> = shards
        .iter()
        .filter_map(|s| s.summary.plan.shard.map(|sh| sh.index))
        .collect();
    let missing: Vec<u32> = (1..=count).filter(|k| !given.contains(k)).collect();
    if !missing.is_empty() && !partial {
        return Err(MergeError::Missing { missing, count });
    }
    // The rounds in run order, each exactly as its shard wrote it.
    let pooled = pool(shards, Schedule::SideBySide);
    let mut merged = pooled.summary;
    merged.plan.shard = None;
    merged.budgets = crate::stats::budget::rejudge(
        &first.summary.budgets,
        &pooled.rounds,
        first.summary.policy.confidence,
    );
    // Pooling approximates the waterfall from the shards'; a merge keeps only what is exact.
    merged.waterfall = Vec::new();
    if !missing.is_empty() {
        merged.partial = true;
        merged.warnings.push(format!(
            "partial: shard(s) {missing:?} of {count} were not merged (--partial)"
        ));
    }
    merged.merged_from = shards
        .iter()
        .filter_map(|s| {
            Some(ShardOrigin {
                shard: s.summary.plan.shard?,
                path: s.path.clone(),
                rounds: s.summary.rounds.iter().map(|r| r.round).collect(),
                environment: s.summary.environment.clone(),
                wall_time_s: s.summary.run.wall_time_s,
            })
        })
        .collect();
    merged.merged_from.sort_by_key(|o| o.shard.index);
    merged.warnings.push(format!(
        "merged from {} shards ({}); the overhead table and the waterfall are per shard and \
         left out; the critical path's waits are averaged over shards",
        shards.len(),
        shards
            .iter()
            .map(|s| s.path.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    Ok(merged)
}
