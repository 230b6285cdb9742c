//! Designs checked before anything runs: can every primary statistic of a scenario be judged
//! with these iterations split into these rounds?
//!
//! Why: a round gives one value of a percentile only when it has enough samples for it (20
//! for p50, 50 for p90, 500 for p99); a row without such rounds is inconclusive, and a
//! comparison of inconclusive rows is undecided. A CI job set up with 60 iterations in 5
//! rounds would be undecided forever, so the commands that judge (`run --baseline`, `ab`,
//! `baseline save`, `history`, `bisect`) refuse such a design before running, naming the fix,
//! and `--rounds auto` picks the most rounds that keep every primary statistic judgeable.
//!
//! A round is counted as one sample per iteration of each primary metric (the plain name;
//! the app-server's `cold.`/`warm.` cohorts split a round's samples and are not checked here).

use crate::model::metric::expected_metrics;
use crate::scenario::{Scenario, policy::parse_primary};
use crate::stats::needed_for;

/// A design under which some primary statistic cannot be judged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{statistic} needs {needed} samples per round, and {iterations} iterations in {rounds} \
     round{} give {per_round}: {fix}",
    if *rounds == 1 { "" } else { "s" }
)]
pub struct DesignError {
    pub statistic: String,
    pub needed: u64,
    pub iterations: u64,
    pub rounds: u32,
    pub per_round: u64,
    pub fix: String,
}

/// The most samples per round any primary statistic of `scenario` needs, with its name.
fn most_needed(scenario: &Scenario) -> Option<(String, u64)> {
    let measured = expected_metrics(scenario.profile());
    scenario
        .policy
        .primary
        .iter()
        .filter_map(|entry| {
            let (metric, q) = parse_primary(entry).ok()?;
            measured
                .iter()
                .any(|m| m == metric)
                .then(|| (entry.clone(), needed_for(q)))
        })
        .max_by_key(|(_, needed)| *needed)
}

/// Checks that `iterations` split into `rounds` leave every primary statistic judgeable;
/// `min_rounds` is the fewest rounds the command can judge with (3 for `ab`, 1 otherwise),
/// used when suggesting fewer rounds.
pub(crate) fn check(
    scenario: &Scenario,
    iterations: u64,
    rounds: u32,
    min_rounds: u32,
) -> Result<(), DesignError> {
    let Some((statistic, needed)) = most_needed(scenario) else {
        return Ok(());
    };
    let per_round = iterations / u64::from(rounds.max(1));
    if per_round >= needed {
        return Ok(());
    }
    let fewer = iterations / needed;
    let fix = if fewer >= u64::from(min_rounds) {
        format!(
            "use at least {} iterations for {rounds} rounds, or {fewer} round{} (`--rounds \
             auto`)",
            needed * u64::from(rounds),
            if fewer == 1 { "" } else { "s" }
        )
    } else {
        format!(
            "use at least {} iterations for {rounds} rounds (at least {} for the fewest, \
             {min_rounds})",
            needed * u64::from(rounds),
            needed * u64::from(min_rounds)
        )
    };
    Err(DesignError {
        statistic,
        needed,
        iterations,
        rounds,
        per_round,
        fix,
    })
}

/// `--rounds auto`: the most rounds, between `min_rounds` and `max_rounds`, that leave every
/// primary statistic of `scenario` judgeable with `iterations`.
pub(crate) fn auto_rounds(
    scenario: &Scenario,
    iterations: u64,
    min_rounds: u32,
    max_rounds: u32,
) -> Result<u32, DesignError> {
    let rounds = match most_needed(scenario) {
        Some((_, needed)) => (iterations / needed).min(u64::from(max_rounds)) as u32,
        None => max_rounds,
    }
    .max(min_rounds);
    check(scenario, iterations, rounds, min_rounds).map(|()| rounds)
}

/// A result that cannot serve to judge against (`baseline save`): a primary statistic none
/// of whose rounds had enough samples for it. Returns the first such statistic, described.
pub(crate) fn check_result(result: &crate::results::LoadedResult) -> Result<(), String> {
    for entry in &result.summary.policy.primary {
        let Ok((metric, q)) = parse_primary(entry) else {
            continue;
        };
        let keys: Vec<_> = result
            .pooled
            .keys()
            .filter(|k| k.metric == metric)
            .collect();
        for key in keys {
            let judgeable = result
                .rounds
                .iter()
                .any(|round| crate::stats::round_value(round, key, q).is_some());
            if !judgeable {
                let most = result
                    .rounds
                    .iter()
                    .filter_map(|r| r.get(key).map(|s| s.histogram.count()))
                    .max()
                    .unwrap_or(0);
                return Err(format!(
                    "{}: {entry} needs {} samples per round and its rounds have at most {most}: \
                     comparisons against it would be undecided; run with more iterations per \
                     round",
                    result.path,
                    needed_for(q)
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(extra: &str) -> Scenario {
        Scenario::parse(
            &format!("name = \"t\"\ntarget = \"builtin\"\n{extra}"),
            "t.toml",
            &[],
        )
        .unwrap()
    }

    #[test]
    fn a_design_too_thin_for_a_primary_statistic_is_refused_with_the_fix() {
        // The default primary set has p90s: 50 samples a round.
        let s = scenario("");
        let e = check(&s, 60, 5, 1).unwrap_err();
        assert_eq!((e.needed, e.per_round), (50, 12));
        let text = e.to_string();
        assert!(
            text.contains("at least 250 iterations for 5 rounds"),
            "{text}"
        );
        assert!(text.contains("or 1 round (`--rounds auto`)"), "{text}");
        assert!(check(&s, 250, 5, 1).is_ok());
        // An A/B cannot go below 3 rounds: the fix is more iterations.
        let e = check(&s, 100, 10, 3).unwrap_err().to_string();
        assert!(e.contains("at least 150 for the fewest, 3"), "{e}");
        // Only p50 primary: 20 a round.
        let p50 = scenario("[gate]\nprimary = [\"turn_ttft.p50\"]\n");
        assert!(check(&p50, 100, 5, 1).is_ok());
        assert!(check(&p50, 99, 5, 1).is_err());
    }

    /// The shipped scenarios users judge with (the embedded default, the HTTP variant, the
    /// CI gate's and the codex gate's) must be judgeable as they stand, with their own
    /// iterations in their own rounds: `run` would warn otherwise, and `baseline save` refuse.
    /// (The fault and MCP demonstrations run a few iterations to show behaviour, and say so
    /// when run.)
    #[test]
    fn the_scenarios_users_judge_with_can_be_judged_with_their_own_design() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
        let mut files = vec![root.join("default.toml"), root.join("http-only.toml")];
        for entry in std::fs::read_dir(root.join("ci")).unwrap() {
            files.push(entry.unwrap().path());
        }
        for name in ["ab-versions", "ab-app-server", "exec-websocket"] {
            files.push(root.join(format!("codex/{name}.toml")));
        }
        let failures: Vec<String> = files
            .iter()
            .filter(|path| path.extension().is_some_and(|e| e == "toml"))
            .filter_map(|path| {
                let s = Scenario::load(path, &[]).unwrap();
                let (iterations, rounds) = (s.plan.iterations.get(), s.plan.rounds.get());
                check(&s, iterations, rounds, 1)
                    .err()
                    .map(|e| format!("{}: {e}", path.display()))
            })
            .collect();
        assert!(files.len() >= 7, "{files:?}");
        assert!(failures.is_empty(), "{failures:#?}");
    }

    #[test]
    fn auto_rounds_takes_the_most_that_stay_judgeable() {
        let s = scenario("");
        assert_eq!(auto_rounds(&s, 600, 3, 40).unwrap(), 12);
        assert_eq!(auto_rounds(&s, 60_000, 3, 40).unwrap(), 40);
        assert!(auto_rounds(&s, 100, 3, 40).is_err());
        assert_eq!(auto_rounds(&s, 100, 1, 40).unwrap(), 2);
    }
}
