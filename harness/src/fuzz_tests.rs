//! Property tests over the three places untrusted bytes enter: scenario files, result files
//! (and baseline histories), and OTLP bodies. Each input is a valid fixture mutated at random
//! (bytes replaced, inserted, deleted; the file cut short) or plain random bytes; the property
//! is that the parser answers (accepts or refuses with an error) and never panics. Where a
//! refusal guards an invariant, the property is the invariant: whatever is accepted has a
//! valid policy and re-derived rows, counts that add up and rounds of its plan, a printable
//! bounded name. Bounded: a few hundred cases each, a few seconds in all, run by `cargo test`.

use proptest::prelude::*;

use crate::results::load::parse_result;
use crate::scenario::Scenario;
use crate::telemetry::otlp::{self, Encoding};

/// One edit to a byte string.
#[derive(Debug, Clone)]
enum Edit {
    Replace(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Replace(i, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<usize>().prop_map(Edit::Delete),
        any::<usize>().prop_map(Edit::Truncate),
    ]
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let n = bytes.len().max(1);
        match *e {
            Edit::Replace(i, b) if !bytes.is_empty() => bytes[i % n] = b,
            Edit::Insert(i, b) => bytes.insert(i % (bytes.len() + 1), b),
            Edit::Delete(i) if !bytes.is_empty() => {
                bytes.remove(i % n);
            }
            Edit::Truncate(i) => bytes.truncate(i % n),
            _ => {}
        }
    }
    bytes
}

fn scenario_fixture() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scenarios/default.toml"
    ))
    .unwrap()
}

fn logs_fixture() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/codex-0.169.0/otlp_v1_logs.json"
    ))
    .unwrap()
}

/// A small but complete result file.
fn result_fixture() -> Vec<u8> {
    use std::time::Duration;
    let scenario = Scenario::parse(
        "name = \"f\"\ntarget = \"builtin\"\n[gate]\n\"turn_ttft.p50\" = \"< 1s\"\n",
        "f.toml",
        &[],
    )
    .unwrap();
    let mut outcome = crate::measure::runner::RunOutcome::default();
    for ms in 1..=40 {
        outcome
            .recorder
            .record(&crate::model::sample::Sample::client(
                "turn_ttft",
                Duration::from_millis(ms),
            ));
    }
    outcome.iterations = 40;
    let budgets =
        crate::stats::budget::evaluate(&scenario.budgets, &[outcome.recorder.series.clone()], 0.95);
    let summary = crate::results::summarize::summarize(
        &scenario,
        &[outcome],
        crate::results::summarize::RunContext {
            budgets,
            target: crate::model::target::TargetInfo {
                name: "fake".into(),
                version: "0".into(),
            },
            telemetry: crate::model::target::TelemetryHealth::default(),
            warnings: Vec::new(),
            environment: crate::results::Environment::detect(std::time::SystemTime::UNIX_EPOCH),
            total_wall_time: Duration::from_secs(1),
            partial: false,
            shard: None,
        },
    );
    crate::results::json_bytes(&summary)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn scenarios_never_panic(edits in proptest::collection::vec(edit(), 0..12)) {
        let text = String::from_utf8_lossy(&apply(scenario_fixture(), &edits)).into_owned();
        let _ = Scenario::parse(&text, "fuzz.toml", &[]);
    }

    #[test]
    fn random_scenario_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Scenario::parse(&String::from_utf8_lossy(&bytes), "fuzz.toml", &[]);
    }

    #[test]
    fn result_files_never_panic(edits in proptest::collection::vec(edit(), 0..12)) {
        let bytes = apply(result_fixture(), &edits);
        let _ = parse_result(&String::from_utf8_lossy(&bytes), "fuzz.json");
    }

    #[test]
    fn result_numbers_set_to_extremes_are_refused_or_rederived(
        field in 0usize..6,
        value in prop_oneof![Just(-1.0), Just(0.0), Just(1e300), Just(f64::MAX), Just(2.0), Just(1e-300)],
    ) {
        let mut doc: serde_json::Value = serde_json::from_slice(&result_fixture()).unwrap();
        let target = match field {
            0 => &mut doc["policy"]["relative_threshold"],
            1 => &mut doc["policy"]["confidence"],
            2 => &mut doc["policy"]["absolute_threshold_ms"],
            3 => &mut doc["metrics"][0]["p50_ms"],
            4 => &mut doc["budgets"][0]["limit_ms"],
            _ => &mut doc["plan"]["max_failure_ratio"],
        };
        *target = serde_json::json!(value);
        if let Ok(loaded) = parse_result(&doc.to_string(), "fuzz.json") {
            // Whatever was accepted holds a valid policy and re-derived rows.
            prop_assert!(loaded.summary.policy.validate().is_ok());
            let row = &loaded.summary.metrics[0];
            let p50 = loaded.pooled.values().next().unwrap().histogram.quantile_ms(0.5, row.resolution.unwrap());
            prop_assert_eq!(row.p50_ms, Some(p50));
        }
    }

    #[test]
    fn scenario_names_that_pass_are_printable_and_bounded(
        name in proptest::collection::vec(
            prop_oneof![Just('\u{1b}'), Just('\0'), Just('\n'), Just('\u{7f}'), Just('é'), any::<char>(), Just('a')],
            0..260,
        ),
    ) {
        let name: String = name.into_iter().collect();
        let text = format!("name = {}\ntarget = \"builtin\"\n", toml_edit::Value::from(name.as_str()));
        if let Ok(scenario) = Scenario::parse(&text, "fuzz.toml", &[]) {
            prop_assert!(scenario.name.len() <= 200, "{} bytes", scenario.name.len());
            prop_assert!(!scenario.name.chars().any(char::is_control), "{:?}", scenario.name);
            prop_assert!(!scenario.name.is_empty());
        }
    }

    #[test]
    fn tampered_counts_are_refused_or_add_up(
        field in 0usize..5,
        value in prop_oneof![Just(0u64), Just(1), Just(2), Just(39), Just(41), Just(999_999), Just(u64::from(u32::MAX) + 1)],
    ) {
        let mut doc: serde_json::Value = serde_json::from_slice(&result_fixture()).unwrap();
        let target = match field {
            0 => &mut doc["run"]["succeeded_iterations"],
            1 => &mut doc["run"]["failed_iterations"],
            2 => &mut doc["rounds"][0]["iterations"],
            3 => &mut doc["rounds"][0]["round"],
            _ => &mut doc["plan"]["rounds"],
        };
        *target = serde_json::json!(value);
        if let Ok(loaded) = parse_result(&doc.to_string(), "fuzz.json") {
            // Whatever was accepted is a consistent run: its rounds' iterations add up to
            // its counts, and its rounds are the plan's, each once.
            let run = &loaded.summary.run;
            let rounds: u64 = loaded.summary.rounds.iter().map(|r| r.iterations).sum();
            prop_assert_eq!(rounds, run.succeeded_iterations + run.failed_iterations);
            let plan = loaded.summary.plan.rounds;
            for (i, r) in loaded.summary.rounds.iter().enumerate() {
                prop_assert!((1..=plan).contains(&r.round), "round {} of {}", r.round, plan);
                prop_assert!(loaded.summary.rounds[..i].iter().all(|o| o.round != r.round));
            }
        }
    }

    #[test]
    fn otlp_bodies_never_panic(edits in proptest::collection::vec(edit(), 0..12)) {
        let body = apply(logs_fixture(), &edits);
        let _ = otlp::decode_logs(&body, Encoding::Json);
        let _ = otlp::decode_spans(&body, Encoding::Json);
        let _ = crate::telemetry::metrics::decode_phase_metrics(&body, Encoding::Json);
    }

    #[test]
    fn random_otlp_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        for encoding in [Encoding::Json, Encoding::Protobuf] {
            let _ = otlp::decode_logs(&bytes, encoding);
            let _ = otlp::decode_spans(&bytes, encoding);
            let _ = crate::telemetry::metrics::decode_phase_metrics(&bytes, encoding);
        }
        let _ = otlp::gunzip(&bytes, 1 << 20);
    }
}
