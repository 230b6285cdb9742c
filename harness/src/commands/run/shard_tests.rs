//! Shards merge exactly: on a deterministic target (no timing noise), N shards of a run,
//! merged, hold the same rounds, rows and budgets as the whole run on one machine, and a
//! comparison with a baseline reaches the same verdicts on either.

use std::sync::Arc;
use std::time::Duration;

use crate::measure::meter::Meter;

use super::rounds::{RoundResult, measure_on, measure_rounds_with};
use crate::error::Error;
use crate::measure::runner::RoundPlan;
use crate::results::RunSummary;
use crate::results::load::parse_result;
use crate::scenario::{Override, Scenario};
use crate::stats::compare::{CompareOptions, against_baseline};
use crate::target::fake::FakeTarget;

fn scenario(sets: &[&str]) -> Scenario {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/default.toml");
    let overrides: Vec<Override> = sets.iter().map(|s| s.parse().unwrap()).collect();
    Scenario::load(&path, &overrides).unwrap()
}

/// A fake whose durations follow the iteration index and the round's seed, so rounds differ
/// from each other but each is the same wherever it runs.
fn fake(scenario: &Scenario, slowdown: Duration) -> FakeTarget {
    let spread = Duration::from_micros(scenario.seed % 997);
    FakeTarget {
        phases: vec![
            (
                "thread_start_total".into(),
                Some("ready".into()),
                Duration::from_micros(900) + spread,
            ),
            (
                "turn_ttft".into(),
                None,
                Duration::from_millis(30) + spread + slowdown,
            ),
        ],
        step: Duration::from_micros(350),
        ..FakeTarget::default()
    }
}

async fn run(sets: &[&str], shard: Option<(u32, u32)>, slowdown: Duration) -> RunSummary {
    let scenario = scenario(sets);
    let round = async |scenario: &Scenario,
                       plan: RoundPlan,
                       _expected: Vec<String>,
                       meter: Meter|
           -> Result<RoundResult, Error> {
        let target = Arc::new(fake(scenario, slowdown));
        let expected = vec!["thread_start_total".into(), "turn_ttft".into()];
        Ok(measure_on(target, plan, expected, meter).await)
    };
    measure_rounds_with(&scenario, Meter::off(), false, shard, round)
        .await
        .unwrap()
        .summary
}

fn loaded(summary: &RunSummary, name: &str) -> crate::results::LoadedResult {
    let text = String::from_utf8(crate::results::json_bytes(summary)).unwrap();
    parse_result(&text, name).unwrap()
}

#[tokio::test]
async fn merged_shards_equal_the_whole_run() {
    let sets = [
        "run.rounds=5",
        "iterations=100",
        "warmup=1",
        "concurrency=4",
    ];
    let whole = run(&sets, None, Duration::ZERO).await;
    // Three shards of five rounds: uneven (rounds 1 and 4, 2 and 5, 3).
    let mut shards = Vec::new();
    for k in 1..=3 {
        let shard = run(&sets, Some((k, 3)), Duration::ZERO).await;
        shards.push(loaded(&shard, &format!("shard{k}.json")));
    }
    // A shard missing is refused, or merged marked partial when asked.
    let two = &shards[..2];
    let refused = crate::commands::merge::merge(two, false).unwrap_err();
    assert!(
        matches!(&refused, crate::commands::merge::MergeError::Missing { missing, count: 3 } if missing == &[3]),
        "{refused}"
    );
    let partial = crate::commands::merge::merge(two, true).unwrap();
    assert!(partial.partial);
    assert_eq!(partial.rounds.len(), 4);
    let merged = crate::commands::merge::merge(&shards, false).unwrap();
    assert_eq!(merged.rounds.len(), 5);
    assert!(!merged.partial);
    for (m, w) in merged.rounds.iter().zip(&whole.rounds) {
        assert_eq!(m.round, w.round);
        assert_eq!(m.iterations, w.iterations);
        assert_eq!(m.series, w.series, "round {}", w.round);
    }
    assert_eq!(merged.metrics, whole.metrics);
    // Every shard's machine and rounds are kept.
    let origins: Vec<(u32, Vec<u32>)> = merged
        .merged_from
        .iter()
        .map(|o| (o.shard.index, o.rounds.clone()))
        .collect();
    assert_eq!(origins, [(1, vec![1, 4]), (2, vec![2, 5]), (3, vec![3])]);
    assert_eq!(
        merged.merged_from[0].environment,
        shards[0].summary.environment
    );
    assert_eq!(merged.budgets, whole.budgets);
    assert!(!whole.budgets.is_empty(), "the scenario's [gate] budgets");

    // A baseline history of three runs (other seeds), the current run 10 ms slower on
    // turn_ttft: the same verdict and interval on every row, whole or from shards.
    let mut history = Vec::new();
    for seed in 11..=13 {
        let seed = format!("seed={seed}");
        let sets = [&sets[..], &[seed.as_str()][..]].concat();
        history.push(loaded(
            &run(&sets, None, Duration::ZERO).await,
            "baseline.json",
        ));
    }
    let current_sets = [&sets[..], &["seed=14"][..]].concat();
    let slowdown = Duration::from_millis(10);
    let current = run(&current_sets, None, slowdown).await;
    let mut current_shards = Vec::new();
    for k in 1..=3 {
        let shard = run(&current_sets, Some((k, 3)), slowdown).await;
        current_shards.push(loaded(&shard, &format!("current{k}.json")));
    }
    let merged_current = crate::commands::merge::merge(&current_shards, false).unwrap();
    let options = CompareOptions {
        allow_mismatch: true,
        look: None,
        judging: None,
    };
    let one_machine =
        against_baseline(&loaded(&current, "current.json"), &history, &options).unwrap();
    let from_shards =
        against_baseline(&loaded(&merged_current, "current.json"), &history, &options).unwrap();
    let verdicts = |c: &crate::stats::compare::Comparison| {
        c.rows
            .iter()
            .map(|r| {
                (
                    r.metric.clone(),
                    r.statistic.clone(),
                    r.verdict,
                    r.ci_low_ms,
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(verdicts(&one_machine), verdicts(&from_shards));
    assert!(one_machine.regressed(), "{:?}", verdicts(&one_machine));
}
