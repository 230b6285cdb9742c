//! End-to-end tests: the harness driving the built-in runtime against the mock backend, and the
//! `phasebench` binary's exit codes and outputs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use phasebench::test_support::BuiltinTarget;
use phasebench::{MetricRow, RunSummary};
use phasebench::{Override, Scenario};

use crate::phasebench;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn scenario_path(name: &str) -> PathBuf {
    repo().join("scenarios").join(name)
}

fn overrides(sets: &[&str]) -> Vec<Override> {
    sets.iter().map(|s| s.parse().unwrap()).collect()
}

async fn run(file: &str, sets: &[&str]) -> RunSummary {
    let scenario = Scenario::load(&scenario_path(file), &overrides(sets)).unwrap();
    let target = Arc::new(BuiltinTarget::start(&scenario).await.unwrap());
    phasebench::test_support::run_target(&scenario, target, false).await
}

fn row<'a>(summary: &'a RunSummary, metric: &str, status: Option<&str>) -> &'a MetricRow {
    summary
        .metrics
        .iter()
        .find(|r| r.metric == metric && r.status.as_deref() == status)
        .unwrap_or_else(|| panic!("no row {metric} {status:?} in {:#?}", summary.metrics))
}

fn p50(summary: &RunSummary, metric: &str, status: Option<&str>) -> f64 {
    row(summary, metric, status).p50_ms.unwrap()
}

fn overhead_line(summary: &RunSummary, metric: &str) -> String {
    summary
        .overhead
        .iter()
        .find(|o| o.metric == metric)
        .map(|o| {
            format!(
                "{metric}: overhead p50 {} ms p99 {} ms",
                o.overhead_p50_ms, o.overhead_p99_ms
            )
        })
        .unwrap_or_default()
}

const CALIBRATION: &[&str] = &["iterations=40", "warmup=3"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warmup_delay_moves_the_warmup_phase_by_exactly_that_much() {
    let base = run(
        "calibration.toml",
        &[CALIBRATION, &["backend.delays.warmup_response=0"]].concat(),
    )
    .await;
    let slow = run(
        "calibration.toml",
        &[CALIBRATION, &["backend.delays.warmup_response=40ms"]].concat(),
    )
    .await;
    let phase = "startup_prewarm_websocket_warmup";
    let moved = p50(&slow, phase, None) - p50(&base, phase, None);
    println!(
        "{phase} moved {moved:.3} ms for 40 ms injected; {}",
        overhead_line(&slow, phase)
    );
    assert!((moved - 40.0).abs() <= 5.0, "moved {moved} ms");
    assert_eq!(
        slow.overhead
            .iter()
            .find(|o| o.metric == phase)
            .unwrap()
            .below_injected,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_token_delay_moves_ttft_by_exactly_that_much() {
    let base = run(
        "calibration.toml",
        &[CALIBRATION, &["backend.delays.first_token=0"]].concat(),
    )
    .await;
    let slow = run(
        "calibration.toml",
        &[CALIBRATION, &["backend.delays.first_token=50ms"]].concat(),
    )
    .await;
    let moved = p50(&slow, "turn_ttft", None) - p50(&base, "turn_ttft", None);
    let client_moved =
        p50(&slow, "client.turn_first_delta", None) - p50(&base, "client.turn_first_delta", None);
    println!(
        "turn_ttft moved {moved:.3} ms for 50 ms injected; {}",
        overhead_line(&slow, "turn_ttft")
    );
    assert!((moved - 50.0).abs() <= 5.0, "moved {moved} ms");
    assert!(
        (client_moved - 50.0).abs() <= 5.0,
        "client-side first delta moved {client_moved} ms"
    );
    // Telemetry and the harness's own clock agree: the client sees the delta after the runtime.
    assert!(p50(&slow, "client.turn_first_delta", None) >= p50(&slow, "turn_ttft", None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tool_building_and_handshake_overlap() {
    let s = run(
        "slow-handshake.toml",
        &[
            "iterations=12",
            "warmup=1",
            "backend.delays.warmup_response=0",
            "tools.listing_delay=50ms",
            "backend.delays.ws_handshake=80ms",
        ],
    )
    .await;
    let total = p50(&s, "startup_prewarm_total", Some("ready"));
    let tools = p50(&s, "startup_prewarm_build_tools", None);
    let connect = p50(&s, "websocket_connect", None);
    println!("prewarm total {total} ms, tools {tools} ms, connect {connect} ms");
    assert!(tools >= 50.0 && connect >= 80.0);
    assert!(total >= 80.0, "total {total} below the handshake");
    assert!(
        total < 80.0 + 50.0 - 20.0,
        "total {total} ms looks like a sum, not a max"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_prewarm_status_comes_from_its_scenario() {
    let n = 8;
    let sets = ["iterations=8", "warmup=1"];
    let cases = [
        ("default.toml", "ready", true),
        ("http-only.toml", "not_scheduled", true),
        ("warmup-timeout.toml", "timed_out", true),
        ("upgrade-rejected.toml", "failed", true),
        ("turn-cancelled.toml", "cancelled", false),
    ];
    for (file, status, turn_completes) in cases {
        let s = run(file, &sets).await;
        assert_eq!(
            s.run.failed_iterations, 0,
            "{file}: {:?}",
            s.run.failure_examples
        );
        let resolve: Vec<&MetricRow> = s
            .metrics
            .iter()
            .filter(|r| r.metric == "startup_prewarm_resolve")
            .collect();
        assert_eq!(resolve.len(), 1, "{file}: {resolve:?}");
        assert_eq!(resolve[0].status.as_deref(), Some(status), "{file}");
        assert_eq!(resolve[0].count, n, "{file}");
        let ttft = s
            .metrics
            .iter()
            .find(|r| r.metric == "turn_ttft")
            .map_or(0, |r| r.count);
        assert_eq!(ttft, if turn_completes { n } else { 0 }, "{file}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timed_out_resolve_waits_the_connect_timeout() {
    let s = run(
        "warmup-timeout.toml",
        &[
            "iterations=4",
            "warmup=0",
            "runtime.websocket_connect_timeout=200ms",
        ],
    )
    .await;
    let wait = p50(&s, "startup_prewarm_resolve", Some("timed_out"));
    assert!(
        (200.0..260.0).contains(&wait),
        "resolve waited {wait} ms for a 200 ms timeout"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_iteration_hits_its_deadline_and_is_counted() {
    let started = std::time::Instant::now();
    let s = run(
        "warmup-timeout.toml",
        &[
            "iterations=3",
            "warmup=0",
            "runtime.websocket_connect_timeout=30s",
            "iteration_timeout=300ms",
        ],
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the run must not wait for the stuck prewarm"
    );
    assert_eq!(s.run.failures_by_kind.get("deadline"), Some(&3));
    assert_eq!(row(&s, "turn_ttft", None).errors, 3);
    assert_eq!(row(&s, "turn_ttft", None).count, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_resets_fail_iterations_without_hanging() {
    let s = run(
        "default.toml",
        &[
            "iterations=6",
            "warmup=0",
            "backend.faults.reset_mid_stream=1.0",
        ],
    )
    .await;
    assert_eq!(s.run.failures_by_kind.get("turn"), Some(&6), "{:?}", s.run);
    // The first delta arrived before each reset, so TTFT was still measured.
    assert_eq!(row(&s, "turn_ttft", None).count, 6);
    assert_eq!(row(&s, "client.iteration", None).errors, 6);
}

#[test]
fn default_scenario_json_has_every_phase_with_full_counts() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("out.json");
    let csv = dir.path().join("out.csv");
    let markdown = dir.path().join("out.md");
    let status = phasebench()
        .args(["run", "-q", "--iterations", "20", "--warmup", "2"])
        .arg(scenario_path("default.toml"))
        .arg("--json")
        .arg(&json)
        .arg("--csv")
        .arg(&csv)
        .arg("--markdown")
        .arg(&markdown)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(doc["schema_version"], 2);
    // Five rounds by default, each with its own histograms; their merge is the pooled row.
    assert_eq!(doc["rounds"].as_array().unwrap().len(), 5);
    let metrics = doc["metrics"].as_array().unwrap();
    for phase in codex_telemetry::StartupPhase::ALL
        .iter()
        .map(|p| p.as_str())
        .chain(["turn_ttft"])
    {
        let entry = metrics
            .iter()
            .find(|m| m["metric"] == phase)
            .unwrap_or_else(|| panic!("{phase} missing"));
        assert_eq!(entry["count"], 20, "{phase}");
        assert_eq!(entry["errors"], 0, "{phase}");
        for key in [
            "status",
            "p50_ms",
            "p90_ms",
            "p99_ms",
            "max_ms",
            "resolution",
        ] {
            assert!(entry.get(key).is_some(), "{phase} lacks {key}");
        }
        assert!(entry["p50_ms"].as_f64().unwrap() <= entry["p99_ms"].as_f64().unwrap());
    }
    let csv = std::fs::read_to_string(&csv).unwrap();
    assert!(csv.starts_with("metric,status,count,errors,"));
    let ttft_csv = csv
        .lines()
        .find(|l| l.starts_with("turn_ttft,,20,0,"))
        .unwrap_or_else(|| panic!("{csv}"));
    // Without a baseline, --markdown is the run's own report, with the same rows and values
    // as the CSV (p95 included) and the note that p99 of 20 samples is only their maximum.
    let markdown = std::fs::read_to_string(&markdown).unwrap();
    assert!(
        markdown.contains("| p50 ms | p90 ms | p95 ms | p99 ms | max ms |"),
        "{markdown}"
    );
    let ttft_md = markdown
        .lines()
        .find(|l| l.starts_with("| `turn_ttft` | 20 | 0 |"))
        .unwrap_or_else(|| panic!("{markdown}"));
    let fields: Vec<&str> = ttft_csv.split(',').collect();
    let (p95, p99) = (fields[9], fields[10]);
    let p95: f64 = p95.parse().unwrap();
    assert!(
        ttft_md.contains(&format!(" {p95:.3} |")),
        "{ttft_md} vs {ttft_csv}"
    );
    assert!(ttft_md.contains(&format!(" {:.3}* |", p99.parse::<f64>().unwrap())));
    assert!(markdown.contains("too few samples for p99"), "{markdown}");
    assert_eq!(fields[13], "p99", "{ttft_csv}");
}

#[test]
fn bad_scenarios_are_rejected_with_file_line_and_key_and_nothing_runs() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let cases = [
        (
            "unknown-key.toml",
            5,
            "backend.delays.first_tokn",
            "unknown field",
        ),
        (
            "negative-duration.toml",
            4,
            "backend.delays.first_token",
            "negative",
        ),
        (
            "unparseable-duration.toml",
            4,
            "backend.delays.first_token",
            "not a duration",
        ),
        (
            "probability-above-one.toml",
            4,
            "backend.faults.warmup_stall",
            "outside [0, 1]",
        ),
        ("unknown-target.toml", 2, "target", "unknown variant"),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (file, line, key, message) in cases {
        let path = data.join(file);
        let json = dir.path().join(format!("{file}.json"));
        let out = phasebench()
            .arg("run")
            .arg(&path)
            .arg("--json")
            .arg(&json)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{file}: {stderr}");
        assert!(
            stderr.contains(&format!("{}:{line}:", path.display())),
            "{file}: {stderr}"
        );
        assert!(stderr.contains(&format!("`{key}`")), "{file}: {stderr}");
        assert!(stderr.contains(message), "{file}: {stderr}");
        assert!(
            !json.exists(),
            "{file}: a result was written for an invalid scenario"
        );
        let out = phasebench().arg("validate").arg(&path).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "validate {file}");
    }
}

#[test]
fn bad_override_is_blamed_on_the_flag() {
    let out = phasebench()
        .args(["run", "-q", "--set", "backend.faults.http_500=3"])
        .arg(scenario_path("default.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--set backend.faults.http_500=3"));
}

#[test]
fn a_breached_budget_exits_1() {
    let out = phasebench()
        .args([
            "run",
            "-q",
            "--iterations",
            "5",
            "--warmup",
            "0",
            "--set",
            "gate.\"turn_ttft.p50\"=< 1ms",
        ])
        .arg(scenario_path("calibration.toml"))
        .output()
        .unwrap();
    crate::assert_exit(&out, 1);
}

#[test]
fn every_shipped_scenario_validates() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("scenarios"))
        .unwrap()
        .chain(std::fs::read_dir(repo().join("scenarios/ci")).unwrap())
        .chain(std::fs::read_dir(repo().join("scenarios/codex")).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 15);
    for (file, result) in files.iter().zip(phasebench::validate(&files)) {
        assert!(
            result.is_ok(),
            "{}: {}",
            file.display(),
            result.unwrap_err()
        );
    }
}

/// Runs the calibration scenario through the CLI into `json` (60 iterations in 3 rounds of
/// 20: enough per round for p50), with extra arguments.
/// The default primary statistics at p50 only.
const P50_PRIMARY: &str =
    r#"gate.primary=["turn_ttft.p50","thread_start_total.p50","startup_prewarm_total.p50"]"#;

fn run_calibration(json: &Path, extra: &[&str]) {
    let out = phasebench()
        .args(["run", "-q", "--iterations", "60", "--warmup", "2"])
        .args(["--set", "run.rounds=3"])
        // Rounds of 20 judge p50s, not p90s (50 a round): the primary set says so, or the
        // runs could not serve as a baseline.
        .args(["--set", P50_PRIMARY])
        .arg(scenario_path("calibration.toml"))
        .arg("--json")
        .arg(json)
        .args(extra)
        .output()
        .unwrap();
    crate::assert_exit(&out, 0);
}

fn calibration_runs(dir: &Path, names: &[&str], extra: &[&str]) -> Vec<PathBuf> {
    let paths: Vec<PathBuf> = names.iter().map(|n| dir.join(n)).collect();
    std::thread::scope(|scope| {
        for p in &paths {
            scope.spawn(|| run_calibration(p, extra));
        }
    });
    paths
}

fn comparison_row<'a>(c: &'a serde_json::Value, metric: &str, stat: &str) -> &'a serde_json::Value {
    c["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["metric"] == metric && r["statistic"] == stat)
        .unwrap_or_else(|| panic!("no {metric} {stat} row"))
}

#[test]
fn baselines_are_histories_and_only_primary_regressions_fail() {
    let dir = tempfile::tempdir().unwrap();
    // The history and the run judged against it are made side by side, under the same
    // conditions (other tests load this machine unevenly; a history must cover the
    // conditions the runs it judges are made under).
    let mut base = calibration_runs(
        dir.path(),
        &["b1.json", "b2.json", "b3.json", "same.json"],
        &[],
    );
    let same = base.pop().unwrap();
    let slow = calibration_runs(
        dir.path(),
        &["slow.json"],
        &["--set", "backend.delays.first_token=30ms"],
    )
    .pop()
    .unwrap();
    let bmf = dir.path().join("b.bmf.json");

    // A single run as the baseline: between-run variance unknown, so never `regressed`, and
    // never a pass either: undecided (exit 4), with what would decide it.
    let cj = dir.path().join("single.json");
    let out = phasebench()
        .args(["compare", "--allow-mismatch", "--comparison-json"])
        .arg(&cj)
        .arg(&slow)
        .arg(&base[0])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("UNDECIDED: 3 of 3 primary rows inconclusive"),
        "{stdout}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("exit 4, not a pass"));
    let c: serde_json::Value = serde_json::from_slice(&std::fs::read(&cj).unwrap()).unwrap();
    let ttft = comparison_row(&c, "turn_ttft", "p50");
    assert_eq!(ttft["verdict"], "inconclusive");
    assert!(
        ttft["reason"]
            .as_str()
            .unwrap()
            .contains("the baseline has 1 run"),
        "{ttft}"
    );
    assert!(
        ttft["to_decide"]
            .as_str()
            .unwrap()
            .contains("save at least 2 more runs to the baseline"),
        "{ttft}"
    );
    // A team may choose otherwise, by flag or by `[gate] undecided`.
    for (choice, code) in [("fail", 1), ("pass", 0)] {
        let out = phasebench()
            .args(["compare", "-q", "--allow-mismatch", "--undecided", choice])
            .arg(&slow)
            .arg(&base[0])
            .output()
            .unwrap();
        crate::assert_exit(&out, code);
    }

    // Three runs saved as a history.
    let baselines = dir.path().join("baselines");
    let out = phasebench()
        .args(["baseline", "save"])
        .args(&base)
        .arg("--dir")
        .arg(&baselines)
        .output()
        .unwrap();
    crate::assert_exit(&out, 0);
    assert!(String::from_utf8_lossy(&out.stdout).contains("3 run(s) added"));
    let history = baselines.join("calibration.json");
    // Saving the same file again adds nothing.
    let out = phasebench()
        .args(["baseline", "save"])
        .arg(&base[2])
        .arg("--dir")
        .arg(&baselines)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 run(s) added, 1 already there"));

    // A 10 ms first-token slowdown against the history: exit 1, turn_ttft p50 regressed.
    let md = dir.path().join("c.md");
    let cj = dir.path().join("c.json");
    let out = phasebench()
        .args(["compare", "--allow-mismatch", "--markdown"])
        .arg(&md)
        .arg("--comparison-json")
        .arg(&cj)
        .arg(&slow)
        .arg(&history)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let c: serde_json::Value = serde_json::from_slice(&std::fs::read(&cj).unwrap()).unwrap();
    assert_eq!(c["design"], "history");
    assert_eq!(c["baseline_runs"], 3);
    let ttft = comparison_row(&c, "turn_ttft", "p50");
    assert_eq!(ttft["verdict"], "regressed", "{ttft}");
    assert_eq!(ttft["primary"], true);
    let delta = ttft["delta_ms"].as_f64().unwrap();
    assert!((delta - 10.0).abs() < 2.0, "delta {delta}");
    let markdown = std::fs::read_to_string(&md).unwrap();
    assert!(
        markdown.contains("FAIL") && markdown.contains("**regressed**"),
        "{markdown}"
    );

    // The same build against the history: nothing fails (a pass, or undecided when three
    // runs' spread is too wide to call every row unchanged).
    let out = phasebench()
        .args(["compare", "-q"])
        .arg(&same)
        .arg(&history)
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 4)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Another scenario's content is refused (nothing compared) unless forced.
    let out = phasebench()
        .arg("compare")
        .arg(&slow)
        .arg(&history)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing to compare"));

    // run --baseline judges in one step; a baseline of another scenario stops it before
    // anything runs.
    let started = std::time::Instant::now();
    let out = phasebench()
        .args(["run", "-q", "--baseline"])
        .arg(&history)
        .arg(scenario_path("default.toml"))
        .output()
        .unwrap();
    crate::assert_exit(&out, 2);
    assert!(started.elapsed() < Duration::from_secs(3), "nothing ran");

    // Bencher Metric Format.
    let out = phasebench()
        .args(["run", "-q", "--iterations", "20", "--warmup", "0", "--bmf"])
        .arg(&bmf)
        .arg(scenario_path("calibration.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let bmf: serde_json::Value = serde_json::from_slice(&std::fs::read(&bmf).unwrap()).unwrap();
    let p50 = &bmf["calibration/turn_ttft"]["p50_ms"];
    let value = p50["value"].as_f64().unwrap();
    assert!(value > 20.0, "{bmf}");
    // The interval the budgets use, as Bencher's bounds.
    let (low, high) = (
        p50["lower_value"].as_f64().unwrap(),
        p50["upper_value"].as_f64().unwrap(),
    );
    assert!(low <= value && value <= high && low < high, "{p50}");
    // 20 samples: p99 would be the largest sample, so it is left out, the max is not.
    assert!(
        bmf["calibration/turn_ttft"].get("p99_ms").is_none(),
        "{bmf}"
    );
    assert!(
        bmf["calibration/turn_ttft"]["max_ms"]["value"]
            .as_f64()
            .unwrap()
            >= value
    );
}

#[test]
fn corrupt_foreign_or_tampered_results_are_invalid_input() {
    let dir = tempfile::tempdir().unwrap();
    let base = calibration_runs(dir.path(), &["base.json"], &[])
        .pop()
        .unwrap();
    let text = std::fs::read_to_string(&base).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let tamper = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut d = doc.clone();
        edit(&mut d);
        d.to_string()
    };
    let ttft = doc["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .position(|m| m["metric"] == "turn_ttft")
        .unwrap();
    let other = (ttft + 1) % doc["metrics"].as_array().unwrap().len();
    let cases = [
        (
            "truncated.json",
            text[..text.len() / 3].to_owned(),
            "is not a phasebench result",
        ),
        (
            "future.json",
            text.replace("\"schema_version\": 2", "\"schema_version\": 9"),
            "schema_version 9",
        ),
        ("empty.json", String::new(), "is not a phasebench result"),
        (
            "p50.json",
            tamper(&|d| d["metrics"][ttft]["p50_ms"] = 1.0.into()),
            "p50_ms",
        ),
        (
            "swapped.json",
            tamper(&|d| {
                let h = d["metrics"][other]["histogram"].clone();
                d["metrics"][ttft]["histogram"] = h;
            }),
            "turn_ttft",
        ),
        (
            "deleted.json",
            tamper(&|d| {
                d["metrics"].as_array_mut().unwrap().remove(ttft);
            }),
            "rows were deleted",
        ),
        (
            "policy.json",
            tamper(&|d| d["policy"]["relative_threshold"] = 1e300.into()),
            "policy is invalid",
        ),
        (
            "confidence.json",
            tamper(&|d| d["policy"]["confidence"] = 2.into()),
            "policy is invalid",
        ),
        (
            "escape.json",
            tamper(&|d| d["scenario"]["name"] = "x\u{1b}[2J".into()),
            "control characters",
        ),
        (
            "count.json",
            tamper(&|d| d["run"]["succeeded_iterations"] = 999_999.into()),
            "999999 succeeded",
        ),
        (
            "beyond.json",
            tamper(&|d| {
                let rounds = d["plan"]["rounds"].as_u64().unwrap();
                d["rounds"][0]["round"] = (rounds + 2).into();
            }),
            "-round plan",
        ),
        (
            "lost-round.json",
            tamper(&|d| {
                let gone = d["rounds"].as_array_mut().unwrap().pop().unwrap();
                let n = gone["iterations"].as_u64().unwrap();
                let ok = d["run"]["succeeded_iterations"].as_u64().unwrap();
                d["run"]["succeeded_iterations"] = (ok - n).into();
            }),
            "not marked partial",
        ),
    ];
    for (name, content, message) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        let out = phasebench()
            .arg("compare")
            .arg(&path)
            .arg(&base)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(
            stderr.contains(message) && stderr.contains(name),
            "{name}: {stderr}"
        );
    }
    let out = phasebench()
        .arg("compare")
        .arg(dir.path().join("missing.json"))
        .arg(&base)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // A budget added to the file under judgment is not the gate: the baseline's is (the
    // edited file cannot judge itself).
    let edited = dir.path().join("budget.json");
    std::fs::write(
        &edited,
        tamper(&|d| {
            d["budgets"] = serde_json::json!([{
                "key": "turn_ttft.p50", "limit_ms": 1.0, "inclusive": false,
                "actual_ms": 0.5, "low_ms": 0.4, "high_ms": 0.6,
                "verdict": "held", "passed": true
            }]);
        }),
    )
    .unwrap();
    let out = phasebench()
        .arg("compare")
        .arg(&edited)
        .arg(&base)
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("BREACH") && stdout.contains("gate from the baseline"),
        "{stdout}"
    );
    // Baseline names stay inside the baselines directory.
    for name in ["../../x", "/abs/x"] {
        let out = phasebench()
            .args(["baseline", "save", "--name", name, "--dir"])
            .arg(dir.path().join("baselines"))
            .arg(&base)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("invalid baseline name"));
    }
    assert!(!dir.path().join("x.json").exists());
}

#[test]
fn outputs_go_to_stdout_devices_and_fifos_and_bad_paths_fail_first() {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let dir = tempfile::tempdir().unwrap();
    // `--json -`: the JSON alone on stdout, the human report on stderr.
    let out = phasebench()
        .args(["run", "--iterations", "20", "--warmup", "2", "--json", "-"])
        .arg(scenario_path("default.toml"))
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["scenario"]["name"], "default");
    assert!(String::from_utf8_lossy(&out.stderr).contains("turn_ttft"));
    assert!(!dir.path().join("-").exists(), "no file named -");

    // Devices are written through, never replaced (run as root, a rename would replace them).
    let before = std::fs::metadata("/dev/null").unwrap();
    let status = phasebench()
        .args(["run", "-q", "--iterations", "5", "--warmup", "0"])
        .args([
            "--json",
            "/dev/null",
            "--csv",
            "/dev/null",
            "--bmf",
            "/dev/null",
        ])
        .arg(scenario_path("default.toml"))
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let after = std::fs::metadata("/dev/null").unwrap();
    assert!(after.file_type().is_char_device());
    assert_eq!(before.rdev(), after.rdev());

    // A missing directory is found before the run (exit 2, quickly) and is not created.
    let started = std::time::Instant::now();
    let missing = dir.path().join("nowhere/out.json");
    let out = phasebench()
        .args(["run", "-q", "--iterations", "100000", "--json"])
        .arg(&missing)
        .arg(scenario_path("default.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
    assert!(started.elapsed() < Duration::from_secs(5), "nothing ran");
    assert!(!dir.path().join("nowhere").exists());
}

/// Processes whose environment mentions `marker` (children put their temporary trees there).
fn processes_mentioning(marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if String::from_utf8_lossy(&environ).contains(marker) {
            found.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    found
}

/// Sends `signal` to the process group `pgid`.
fn signal_group(pgid: u32, signal: &str) {
    let status = Command::new("kill")
        .args([signal, "--", &format!("-{pgid}")])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn sigint_and_sigterm_stop_in_order_and_leave_nothing_behind() {
    use std::os::unix::process::CommandExt;
    for (signal, code) in [("-INT", 130), ("-TERM", 143)] {
        let tmp = tempfile::tempdir().unwrap();
        let json = tmp.path().join("partial.json");
        let private_tmp = tmp.path().join("tmp");
        std::fs::create_dir(&private_tmp).unwrap();
        let mut child = phasebench()
            .args(["run", "-q", "--iterations", "100000", "--json"])
            .arg(&json)
            .arg(scenario_path("default.toml"))
            .env("TMPDIR", &private_tmp)
            .process_group(0)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Into the second round (rounds of 20,000 iterations; wait for some to finish).
        std::thread::sleep(Duration::from_millis(2500));
        signal_group(child.id(), signal);
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{signal}: no exit within 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
        assert_eq!(status.code(), Some(code), "{signal}: {stderr}");
        assert!(stderr.contains("interrupted by SIG"), "{stderr}");
        // What finished was written, marked partial.
        let doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        assert_eq!(doc["partial"], true);
        assert!(doc["run"]["succeeded_iterations"].as_u64().unwrap() > 0);
        // No temporary tree left (runtime state lives under TMPDIR).
        let left: Vec<_> = std::fs::read_dir(&private_tmp).unwrap().collect();
        assert!(left.is_empty(), "{signal}: left behind {left:?}");
        assert!(processes_mentioning(&private_tmp.display().to_string()).is_empty());
    }
}

#[test]
fn a_run_that_mostly_failed_exits_3_with_its_causes() {
    let dir = tempfile::tempdir().unwrap();
    let (json, html) = (dir.path().join("r.json"), dir.path().join("r.html"));
    let out = phasebench()
        .args(["run", "-q", "--iterations", "40", "--warmup", "0"])
        .args(["--set", "backend.faults.reset_mid_stream=0.5", "--json"])
        .arg(&json)
        .arg("--html")
        .arg(&html)
        .arg(scenario_path("default.toml"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    // Every output it was asked for is written, the HTML page too.
    assert!(json.exists() && html.exists(), "{stderr}");
    assert!(stderr.contains("measured iterations failed"), "{stderr}");
    assert!(
        stderr.contains("× turn failed"),
        "causes with counts: {stderr}"
    );
    // Allowed by the scenario: the same run passes.
    let out = phasebench()
        .args(["run", "-q", "--iterations", "40", "--warmup", "0"])
        .args(["--set", "backend.faults.reset_mid_stream=0.5"])
        .args(["--set", "run.max_failure_ratio=0.9"])
        .arg(scenario_path("default.toml"))
        .output()
        .unwrap();
    crate::assert_exit(&out, 0);
}

#[test]
fn overflowing_and_ambiguous_values_are_refused_before_anything_runs() {
    let cases: &[&[&str]] = &[
        &["run", "--set", "warmup=18446744073709551615"],
        &["run", "--set", "iterations=18446744073709551615"],
        &["run", "--set", "run.rounds=0"],
        &["run", "--set", "gate.\"turn_ttft.p100\"=\"< 1s\""],
        &["run", "--set", "backend.faults.http_429=0.5"],
        &["ab", "--set", "warmup=9223372036854775807"],
        &["ab", "--rounds", "2"],
        // Each value within its bound, the whole A/B beyond any machine.
        &[
            "ab",
            "--set",
            "iterations=1000000000",
            "--set",
            "warmup=1000000000",
            "--rounds",
            "1000",
        ],
        // A comparison output without a baseline would silently write nothing.
        &["run", "--comparison-json", "/dev/null"],
    ];
    for args in cases {
        let started = std::time::Instant::now();
        let out = phasebench()
            .args(*args)
            .arg(scenario_path("default.toml"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(started.elapsed() < Duration::from_secs(5), "{args:?} ran");
    }
    // A prompt with a NUL is refused by validate.
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("nul.toml");
    std::fs::write(
        &scenario,
        "name = \"x\"\ntarget = \"codex-exec\"\n[codex]\nprompt = \"hi\\u0000there\"\n",
    )
    .unwrap();
    let out = phasebench()
        .arg("validate")
        .arg(&scenario)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("control characters"));
}

#[test]
fn ingest_refuses_what_it_cannot_read_and_bounds_what_it_keeps() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, "").unwrap();
    let gz = dir.path().join("logs.json.gz");
    std::fs::write(&gz, [0x1f, 0x8b, 8, 0, 0, 0]).unwrap();
    for (path, why) in [(&empty, "empty"), (&gz, "gzip")] {
        let out = phasebench().arg("ingest").arg(path).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{why}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(why));
    }
    let out = phasebench()
        .arg("ingest")
        .arg(dir.path().join("missing.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // 1,000 distinct phase names, some with escape sequences: 256 series kept, the rest
    // counted; names printed escaped.
    let records: Vec<serde_json::Value> = (0..1000)
        .map(|i| {
            serde_json::json!({ "attributes": [
                { "key": "event.name", "value": { "stringValue": "codex.startup_phase" } },
                { "key": "startup.phase", "value": { "stringValue": format!("p{i}\u{1b}[2J\n") } },
                { "key": "conversation.id", "value": { "stringValue": "t" } },
                { "key": "duration_ms", "value": { "intValue": "5" } },
            ]})
        })
        .collect();
    let body = dir.path().join("many.json");
    std::fs::write(
        &body,
        serde_json::json!({ "resourceLogs": [{ "scopeLogs": [{ "logRecords": records }] }] })
            .to_string(),
    )
    .unwrap();
    let json = dir.path().join("summary.json");
    let out = phasebench()
        .arg("ingest")
        .arg(&body)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    crate::assert_exit(&out, 0);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains('\u{1b}'), "escape sequences printed raw");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(summary["metrics"].as_array().unwrap().len(), 256);
    assert_eq!(summary["dropped_samples"], 744);
}

/// Waits (at most 10 s) until a round's child `phasebench run` of the `ab` with pid `ab` is
/// running: a process other than `ab` whose environment mentions `marker` (the private
/// TMPDIR both inherit).
fn wait_for_a_round(marker: &str, ab: u32) {
    let own = ab.to_string();
    let waiting = std::time::Instant::now();
    while !processes_mentioning(marker).iter().any(|pid| *pid != own) {
        assert!(
            waiting.elapsed() < Duration::from_secs(10),
            "no round started"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn ctrl_c_stops_ab_and_its_running_round() {
    use std::os::unix::process::CommandExt;
    let tmp = tempfile::tempdir().unwrap();
    let private_tmp = tmp.path().join("tmp");
    std::fs::create_dir(&private_tmp).unwrap();
    let mut child = phasebench()
        .args(["ab", "--quiet", "--rounds", "3"])
        .arg(repo().join("scenarios/ci/startup-http.toml"))
        .env("TMPDIR", &private_tmp)
        .process_group(0)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let marker = private_tmp.display().to_string();
    wait_for_a_round(&marker, child.id());
    std::thread::sleep(Duration::from_millis(500));
    signal_group(child.id(), "-INT");
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no exit");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted by SIGINT"), "{stderr}");
    assert!(
        processes_mentioning(&marker).is_empty(),
        "left running: {:?}",
        processes_mentioning(&marker)
    );
    // The ab's own temporary directory for round files is gone too.
    let left: Vec<_> = std::fs::read_dir(&private_tmp).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// The built-in runtime meets the same mock MCP servers as codex (through its rmcp client):
/// injected initialize + tools/list delays move tool building by the injection plus a small
/// overhead, and a server that crashes costs its tools, not the thread.
#[test]
fn builtin_runtime_lists_tools_from_mock_mcp_servers() {
    let dir = tempfile::tempdir().unwrap();
    // The runtime's state (and the MCP records in it) goes to a TMPDIR of this test's own.
    let private_tmp = dir.path().join("tmp");
    std::fs::create_dir(&private_tmp).unwrap();
    let p50_with = |scenario: &str, sets: &[&str]| -> f64 {
        let json = dir.path().join(format!("{scenario}.json"));
        let out = phasebench()
            .env("TMPDIR", &private_tmp)
            .args(["run", "-q", "--iterations", "6", "--warmup", "1"])
            .args(["--set", "run.rounds=1", "--json"])
            .arg(&json)
            .args(sets.iter().flat_map(|s| ["--set", s]))
            .arg(scenario_path(&format!("{scenario}.toml")))
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{scenario}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        doc["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["metric"] == "startup_prewarm_build_tools")
            .and_then(|m| m["p50_ms"].as_f64())
            .unwrap_or_else(|| panic!("{scenario}: no build_tools"))
    };
    let p50 = |scenario: &str| p50_with(scenario, &[]);
    let slow = p50("mcp-slow");
    // Each thread's stdio servers recorded what they injected; tool building, the prewarm,
    // resolve (the first turn is sent at once) and TTFT are paired with it.
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("mcp-slow.json")).unwrap()).unwrap();
    let row = |metric: &str| {
        doc["overhead"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["metric"] == metric)
            .cloned()
            .unwrap_or_else(|| panic!("no overhead row for {metric}: {doc}"))
    };
    let tools = row("startup_prewarm_build_tools");
    assert!(
        (tools["injected_p50_ms"].as_f64().unwrap() - 800.0).abs() < 2.0,
        "{tools}"
    );
    for metric in [
        "startup_prewarm_build_tools",
        "startup_prewarm_resolve",
        "turn_ttft",
    ] {
        let o = row(metric);
        let overhead = o["overhead_p50_ms"].as_f64().unwrap();
        assert!((0.0..400.0).contains(&overhead), "{metric}: {o}");
        assert!(
            o["injected_p50_ms"].as_f64().unwrap() >= 800.0,
            "{metric}: {o}"
        );
    }
    // The same server over streamable HTTP.
    let over_http = p50_with(
        "mcp-slow",
        &[
            r#"mcp.servers=[{name="slow",transport="http",delays={initialize="400ms",list_tools="400ms"}}]"#,
        ],
    );
    assert!(
        (800.0..1400.0).contains(&over_http),
        "slow over HTTP: {over_http} ms"
    );
    assert!((800.0..1400.0).contains(&slow), "slow: {slow} ms");
    let fast = p50("mcp-fast");
    assert!(fast < 400.0, "fast: {fast} ms");
    let crashing = p50("mcp-crashing");
    assert!(crashing < 400.0, "crashing: {crashing} ms");
    // No MCP server outlives its run, and the run's temporary tree is gone.
    std::thread::sleep(Duration::from_millis(200));
    let marker = private_tmp.display().to_string();
    let left = crate::processes_naming(&marker);
    assert!(left.is_empty(), "MCP servers left running: {left:?}");
    let files: Vec<_> = std::fs::read_dir(&private_tmp).unwrap().collect();
    assert!(files.is_empty(), "left behind: {files:?}");
}

/// The critical path names the branch the prewarm finished on (the slow handshake, or tool
/// building once tools are slower still) and what the first token waited on.
#[test]
fn critical_path_names_the_slower_prewarm_branch() {
    let dir = tempfile::tempdir().unwrap();
    let run = |sets: &[&str]| -> serde_json::Value {
        let json = dir.path().join("run.json");
        let out = phasebench()
            .args(["run", "-q", "--iterations", "20", "--warmup", "2"])
            .args(["--set", "run.rounds=1", "--json"])
            .arg(&json)
            .args(sets.iter().flat_map(|s| ["--set", s]))
            .arg(scenario_path("slow-handshake.toml"))
            .output()
            .unwrap();
        crate::assert_exit(&out, 0);
        let doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        doc["critical_path"].clone()
    };
    // Handshake 80 ms against tools 50 ms; the turn comes at 150 ms, after the prewarm.
    let slow_handshake = run(&[]);
    assert_eq!(slow_handshake["iterations"], 20, "{slow_handshake}");
    assert_eq!(slow_handshake["prewarm"][0]["branch"], "websocket connect");
    assert_eq!(slow_handshake["prewarm"][0]["iterations"], 20);
    assert_eq!(slow_handshake["first_token"][0]["cause"], "model response");
    // Tools slower than the handshake, and the turn sent at once: the first token waits on
    // tool building for most of the 150 ms.
    let slow_tools = run(&["tools.listing_delay=150ms", "runtime.first_turn_after=0ms"]);
    assert_eq!(
        slow_tools["prewarm"][0]["branch"], "tool building",
        "{slow_tools}"
    );
    let waited = slow_tools["first_token"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["cause"] == "tool building")
        .unwrap_or_else(|| panic!("{slow_tools}"));
    assert_eq!(waited["iterations"], 20);
    assert!(
        waited["waited_p50_ms"].as_f64().unwrap() > 100.0,
        "{waited}"
    );
}

/// `--trace` writes Chrome trace-event JSON: bounded, the slowest iteration first, its tool
/// building and websocket connect on their own tracks and overlapping in time.
#[test]
fn traces_show_the_slowest_iteration_with_tools_beside_the_websocket() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace.json");
    let out = phasebench()
        .args(["run", "-q", "--iterations", "300", "--warmup", "2"])
        .args(["--set", "run.rounds=2", "--set", "concurrency=8", "--trace"])
        .arg(&trace)
        .arg(scenario_path("slow-handshake.toml"))
        .output()
        .unwrap();
    crate::assert_exit(&out, 0);
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&trace).unwrap()).unwrap();
    let events = doc["traceEvents"].as_array().unwrap();
    let kept = doc["otherData"]["kept"].as_u64().unwrap();
    assert!((20..=220).contains(&kept), "{kept} iterations kept of 300");
    let names: Vec<&str> = events
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "process_name")
        .map(|e| e["args"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len() as u64, kept);
    // Slowest first: the first process's length is the largest.
    let length = |name: &str| -> f64 {
        name.rsplit_once(": ")
            .unwrap()
            .1
            .trim_end_matches(" ms")
            .parse()
            .unwrap()
    };
    assert!(
        names.iter().all(|n| length(n) <= length(names[0])),
        "{names:?}"
    );
    let phase = |name: &str| {
        events
            .iter()
            .find(|e| e["pid"] == 1 && e["ph"] == "X" && e["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in the slowest iteration"))
    };
    let span = |e: &serde_json::Value| {
        let ts = e["ts"].as_u64().unwrap();
        (ts, ts + e["dur"].as_u64().unwrap())
    };
    let (tools, connect) = (
        phase("startup_prewarm_build_tools"),
        phase("websocket_connect"),
    );
    assert_ne!(tools["tid"], connect["tid"], "one track each");
    let (t, c) = (span(tools), span(connect));
    assert!(
        t.0 < c.1 && c.0 < t.1,
        "tools {t:?} and connect {c:?} overlap"
    );
    // The handshake (80 ms) is the longer branch: it finishes the prewarm.
    assert!(c.1 > t.1, "the websocket connect ends last: {c:?} vs {t:?}");
    // The mock's server-side instants are on the server track.
    assert!(
        events
            .iter()
            .any(|e| e["pid"] == 1 && e["ph"] == "i" && e["cat"] == "server")
    );
}

/// A sweep of the handshake delay: the prewarm follows max(handshake + connect, tool
/// building) plus the warmup, not their sum; one result file per point, and the table.
#[test]
fn a_handshake_sweep_shows_the_prewarm_following_the_slower_branch() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("sweep.json");
    let out = phasebench()
        .args([
            "sweep",
            "-q",
            "--param",
            "backend.delays.ws_handshake=0ms..80ms:80ms",
        ])
        .args([
            "--set",
            "iterations=20",
            "--set",
            "warmup=2",
            "--set",
            "run.rounds=1",
        ])
        .args(["--set", "runtime.first_turn_after=0ms", "--out-dir"])
        .arg(dir.path().join("points"))
        .arg("--json")
        .arg(&json)
        .arg(scenario_path("slow-handshake.toml"))
        .output()
        .unwrap();
    crate::assert_exit(&out, 0);
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(
        doc["keys"],
        serde_json::json!(["backend.delays.ws_handshake"])
    );
    assert_eq!(doc["points"].as_array().unwrap().len(), 2);
    assert!(dir.path().join("points/point-02.json").is_file());
    let p50 = |point: &str, metric: &str| -> f64 {
        doc["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["params"][0] == point && r["metric"] == metric)
            .and_then(|r| r["p50_ms"].as_f64())
            .unwrap_or_else(|| panic!("{metric} at {point}"))
    };
    // Tool listing takes 50 ms.
    let (tools0, prewarm0) = (
        p50("0ms", "startup_prewarm_build_tools"),
        p50("0ms", "startup_prewarm_total"),
    );
    let (tools80, prewarm80) = (
        p50("80ms", "startup_prewarm_build_tools"),
        p50("80ms", "startup_prewarm_total"),
    );
    assert!(
        prewarm0 >= tools0 && prewarm0 < tools0 + 40.0,
        "no handshake: the prewarm is tool building plus the warmup ({prewarm0} vs {tools0})"
    );
    assert!(
        prewarm80 >= 80.0 && prewarm80 < 80.0 + tools80 - 10.0,
        "an 80 ms handshake: the prewarm follows it, not handshake + tools ({prewarm80} vs {tools80})"
    );
    // Ranking the points: the handshake-free one is fastest, the 80 ms one slower by a ratio.
    let ranked = dir.path().join("rank.json");
    let out = phasebench()
        .args(["rank", "--metric", "startup_prewarm_total", "--json"])
        .arg(&ranked)
        .arg(dir.path().join("points"))
        .output()
        .unwrap();
    crate::assert_exit(&out, 0);
    let rankings: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&ranked).unwrap()).unwrap();
    let order = rankings[0]["ranked"].as_array().unwrap();
    assert!(
        order[0]["label"]
            .as_str()
            .unwrap()
            .ends_with("point-01.json"),
        "{rankings}"
    );
    let ratio = order[1]["ratio"].as_f64().unwrap();
    assert!(
        (ratio - prewarm80 / prewarm0).abs() < 0.2 && ratio > 1.1,
        "{rankings}"
    );
}

/// Bisect over the values of a scenario key: each step a paired A/B, the first bad value
/// found and the change named.
#[test]
fn bisect_finds_the_first_value_where_ttft_regressed() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("bisect.json");
    let out = phasebench()
        .args([
            "bisect",
            "--axis",
            "backend.delays.first_token=20ms,20ms,20ms,60ms,60ms",
        ])
        .args([
            "--set",
            "iterations=60",
            "--set",
            "warmup=2",
            // The question is where TTFT jumped by more than 10%: with rounds of 20 the
            // harness's own jitter (about 1 ms between rounds' p50s here) would take some 40
            // round pairs to rule out a 2% regression between equal values; 10% takes a few,
            // and more are added when the machine is busy.
            "--set",
            "gate.relative_threshold=0.1",
            "--rounds",
            "3",
            "--out-dir",
        ])
        .arg(dir.path().join("steps"))
        .arg("--json")
        .arg(&json)
        .arg(scenario_path("default.toml"))
        .output()
        .unwrap();
    crate::assert_exit(&out, 0);
    let found: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(
        found["first_bad"], "#4 backend.delays.first_token=60ms",
        "{found}"
    );
    assert_eq!(found["last_good"], "#3 backend.delays.first_token=20ms");
    let steps = found["steps"].as_array().unwrap();
    assert!(
        steps[0]["regressed"].as_bool().unwrap(),
        "the ends differ: {found}"
    );
    assert!(steps.len() <= 4, "{found}");
    // Every step decided, in at least the first look's 3 round pairs.
    for step in steps {
        assert_eq!(step["undecided"], false, "{found}");
        assert!(step["rounds"].as_u64().unwrap() >= 3, "{found}");
    }
    // Only the first token was delayed: no startup phase explains it (an informational
    // row's noise, once websocket_connect +1.1 ms "regressed" under load, is not named).
    let moved = found["moved"].as_str().unwrap();
    assert!(moved.starts_with("turn_ttft p50 +"), "{found}");
    assert!(
        moved.contains("no startup phase moved by half of it"),
        "{found}"
    );
}

/// Open loop: at a rate the target sustains, latencies from the intended start match the
/// closed-loop ones; above it, the start delay (queueing) grows instead of the latency
/// staying flat (no coordinated omission).
#[test]
fn open_loop_arrivals_show_queueing_above_capacity() {
    let dir = tempfile::tempdir().unwrap();
    let run = |rate: &str| -> serde_json::Value {
        let json = dir.path().join("run.json");
        let out = phasebench()
            .args(["run", "-q", "--iterations", "60", "--warmup", "2"])
            .args(["--set", "run.rounds=1", "--set", "concurrency=4"])
            .args(["--set", &format!("load.rate=\"{rate}\""), "--json"])
            .arg(&json)
            .arg(scenario_path("default.toml"))
            .output()
            .unwrap();
        crate::assert_exit(&out, 0);
        serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap()
    };
    let stat = |doc: &serde_json::Value, metric: &str, key: &str| -> f64 {
        doc["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["metric"] == metric)
            .and_then(|m| m[key].as_f64())
            .unwrap_or_else(|| panic!("{metric} {key}"))
    };
    // Each iteration takes ~150 ms (first turn after 60 ms): 4 at once sustain ~25/s.
    let sustained = run("8/s");
    assert_eq!(sustained["plan"]["arrival_rate_per_s"], 8.0);
    let delta = stat(&sustained, "client.turn_first_delta", "p50_ms");
    let from_intended = stat(&sustained, "client.first_delta_from_intended", "p50_ms");
    assert!(
        from_intended - delta < 25.0,
        "sustained: from the intended start {from_intended} ms vs {delta} ms"
    );
    let overloaded = run("400/s");
    let queued = stat(&overloaded, "client.start_delay", "p90_ms");
    assert!(queued > 300.0, "overloaded: start delay p90 {queued} ms");
    let ttft = stat(&overloaded, "turn_ttft", "p90_ms");
    let late = stat(&overloaded, "client.first_delta_from_intended", "p90_ms");
    assert!(
        late > 3.0 * ttft,
        "overloaded: {late} ms from intended vs TTFT {ttft} ms"
    );
}

/// Ranking pairings (directories of alternating A/B rounds against a common reference) is
/// paired: per round the candidate over the reference, so the order follows the ratios.
#[test]
fn ranking_pairings_uses_the_paired_ratios() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/results");
    // Two pairings: as committed (B has +60 ms first token), and swapped (A slower).
    let (slower, faster) = (dir.path().join("slower"), dir.path().join("faster"));
    for (target, swap) in [(&slower, false), (&faster, true)] {
        std::fs::create_dir(target).unwrap();
        for round in 1..=3 {
            for (from, to) in [("a", "b"), ("b", "a")] {
                let to = if swap { to } else { from };
                std::fs::copy(
                    fixtures.join(format!("{from}-round{round:02}.json")),
                    target.join(format!("{to}-round{round:02}.json")),
                )
                .unwrap();
            }
        }
    }
    let json = dir.path().join("rank.json");
    let out = phasebench()
        .args(["rank", "--metric", "turn_ttft", "--json"])
        .arg(&json)
        .arg(dir.path())
        .output()
        .unwrap();
    crate::assert_exit(&out, 0);
    let rankings: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let ranked = rankings[0]["ranked"].as_array().unwrap();
    assert!(
        ranked[0]["label"].as_str().unwrap().ends_with("faster"),
        "{rankings}"
    );
    assert!(ranked[1]["label"].as_str().unwrap().ends_with("slower"));
    // B over A is ~2 (30 → 60 ms) one way and ~1/2 the other: ~4 between them.
    let ratio = ranked[1]["ratio"].as_f64().unwrap();
    assert!((2.5..6.0).contains(&ratio), "{rankings}");
    assert!(ranked[1]["ratio_stderr"].as_f64().is_some(), "{rankings}");
}

/// Shards of one run merge losslessly: every round as its shard wrote it, in run order, the
/// pooled rows re-derived (the merged file passes the result checks); shards of another
/// scenario or overlapping rounds are refused with what differs.
#[test]
fn shards_merge_into_the_whole_run() {
    let dir = tempfile::tempdir().unwrap();
    let shard = |k: u32, sets: &[&str]| -> PathBuf {
        let json = dir.path().join(format!("shard{k}-{}.json", sets.len()));
        let out = phasebench()
            .args(["run", "-q", "--iterations", "60", "--warmup", "1"])
            .args([
                "--set",
                "run.rounds=3",
                "--shard",
                &format!("{k}/2"),
                "--json",
            ])
            .arg(&json)
            .args(sets.iter().flat_map(|s| ["--set", s]))
            .arg(scenario_path("default.toml"))
            .output()
            .unwrap();
        crate::assert_exit(&out, 0);
        json
    };
    let (one, two) = (shard(1, &[]), shard(2, &[]));
    let merged = dir.path().join("merged.json");
    let out = phasebench()
        .arg("merge")
        .args([&one, &two])
        .arg("--json")
        .arg(&merged)
        .output()
        .unwrap();
    crate::assert_exit(&out, 0);
    let read = |p: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    };
    let (m, a, b) = (read(&merged), read(&one), read(&two));
    let rounds: Vec<u64> = m["rounds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["round"].as_u64().unwrap())
        .collect();
    assert_eq!(
        rounds,
        [1, 2, 3],
        "shard 1 ran rounds 1 and 3, shard 2 round 2"
    );
    assert_eq!(m["rounds"][0], a["rounds"][0]);
    assert_eq!(m["rounds"][1], b["rounds"][0]);
    assert_eq!(m["rounds"][2], a["rounds"][1]);
    assert_eq!(m["run"]["succeeded_iterations"], 60);
    // The merged file is a result like any other: compare re-derives and accepts it (against
    // a baseline of one run, which can only be undecided).
    let out = phasebench()
        .args(["compare", "-q"])
        .arg(&merged)
        .arg(&one)
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(4)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Another scenario's shard, or the same shard twice, is refused.
    let other = shard(2, &["backend.delays.first_token=40ms"]);
    let out = phasebench()
        .arg("merge")
        .args([&one, &other])
        .arg("--json")
        .arg(dir.path().join("x.json"))
        .output()
        .unwrap();
    crate::assert_exit(&out, 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("scenario content"));
    let out = phasebench()
        .arg("merge")
        .args([&one, &one])
        .arg("--json")
        .arg(dir.path().join("x.json"))
        .output()
        .unwrap();
    crate::assert_exit(&out, 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("is in both"));
}

/// `--color always` paints the verdicts (the committed A/B rounds: turn_ttft regressed, red)
/// and changes nothing else: without its escape sequences the text is `--color never`'s;
/// `auto` is plain when the output is not a terminal, and NO_COLOR is honoured.
#[test]
fn color_paints_verdicts_and_nothing_else() {
    let rounds = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/results");
    let report = |color: &str, no_color: bool| -> String {
        let mut command = phasebench();
        command
            .args(["ab", "--color", color, "--rejudge"])
            .arg(&rounds)
            .arg(scenario_path("default.toml"))
            .args(["--b-set", "backend.delays.first_token=60ms"]);
        if no_color {
            command.env("NO_COLOR", "1");
        }
        let out = command.output().unwrap();
        crate::assert_exit(&out, 1);
        String::from_utf8(out.stdout).unwrap()
    };
    let painted = report("always", false);
    let plain = report("never", false);
    assert!(
        painted.contains("\u{1b}[1;31mregressed\u{1b}[0m"),
        "{painted}"
    );
    assert!(!plain.contains('\u{1b}'));
    let mut stripped = String::new();
    let mut rest = painted.as_str();
    while let Some(start) = rest.find('\u{1b}') {
        stripped.push_str(&rest[..start]);
        let end = rest[start..].find('m').unwrap();
        rest = &rest[start + end + 1..];
    }
    stripped.push_str(rest);
    assert_eq!(stripped, plain);
    assert_eq!(report("auto", false), plain, "not a terminal: no colour");
    assert_eq!(report("auto", true), plain);
}

/// A first token delayed by a startup phase names that phase: slower tool listing while the
/// first turn waits on the prewarm moves `turn_ttft` and `startup_prewarm_build_tools` alike.
#[test]
fn a_comparison_names_the_phase_a_ttft_change_came_from() {
    let out = phasebench()
        .args(["ab", "--rounds", "3", "--set", "iterations=150"])
        .args(["--b-set", "tools.listing_delay=60ms"])
        .arg(scenario_path("prewarm-race.toml"))
        .output()
        .unwrap();
    crate::assert_exit(&out, 1);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("the phase that moved most is startup_prewarm_build_tools p50 +"),
        "{report}"
    );
}

/// A first token delayed inside the runtime, before its request reaches the mock (5 ms of CPU
/// building each turn request), is attributed to the runtime from the mock's timestamps, not
/// to the model response; the mock's own part of the wait does not move.
#[test]
fn a_runtime_side_slowdown_is_attributed_to_the_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("c.json");
    let out = phasebench()
        .args([
            "ab",
            "--rounds",
            "5",
            "--iterations",
            "150",
            "--warmup",
            "2",
        ])
        .args(["--set", "backend.delays.first_token=20ms"])
        .args(["--set", r#"gate.primary=["turn_ttft.p50"]"#])
        .args(["--b-set", "runtime.request_build_cpu=5ms"])
        .arg("--comparison-json")
        .arg(&json)
        .arg(scenario_path("default.toml"))
        .output()
        .unwrap();
    crate::assert_exit(&out, 1);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains(
            "the change is in the runtime, before its request reached the mock: \
             client.turn_to_mock p50 +"
        ),
        "{report}"
    );
    let c: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let before = comparison_row(&c, "client.turn_to_mock", "p50")["delta_ms"]
        .as_f64()
        .unwrap();
    let mock = comparison_row(&c, "mock.first_delta", "p50")["delta_ms"]
        .as_f64()
        .unwrap();
    assert!((4.0..8.0).contains(&before), "{before}");
    assert!(mock.abs() < 1.5, "{mock}");
    // The three parts account for what the harness measured (medians of parts need not add
    // up to the median of their sum exactly: within 15%, under load too).
    for side in ["baseline_ms", "current_ms"] {
        let part = |m: &str| comparison_row(&c, m, "p50")[side].as_f64().unwrap();
        let sum =
            part("client.turn_to_mock") + part("mock.first_delta") + part("client.delta_from_mock");
        let whole = part("client.turn_first_delta");
        assert!(
            (sum - whole).abs() < 0.15 * whole,
            "{side}: {sum} vs {whole}"
        );
    }
}

/// `[run] interleave = 2`: each side's round runs as two alternating parts, joined back into
/// one round file per side (two rounds inside, every iteration kept, no part files left);
/// the A/B judges the joined rounds, and `--rejudge` reads them like any others.
#[test]
fn ab_runs_each_round_as_interleaved_parts() {
    let dir = tempfile::tempdir().unwrap();
    let ab = |extra: &[&str]| {
        phasebench()
            .args(["ab", "--quiet", "--rounds", "3", "--iterations", "150"])
            .args(["--set", "backend.delays.first_token=20ms"])
            .args(["--set", r#"gate.primary=["turn_ttft.p50"]"#])
            .args(["--b-set", "backend.delays.first_token=60ms"])
            .args(extra)
            .arg(scenario_path("default.toml"))
            .output()
            .unwrap()
    };
    let out_dir = dir.path().to_str().unwrap();
    let out = ab(&["--set", "run.interleave=2", "--out-dir", out_dir]);
    crate::assert_exit(&out, 1);
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let expected: Vec<String> = ["a", "b"]
        .iter()
        .flat_map(|s| (1..=3).map(move |r| format!("{s}-round{r:02}.json")))
        .collect();
    assert_eq!(names, expected);
    let round: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("b-round02.json")).unwrap()).unwrap();
    assert_eq!(round["plan"]["rounds"], 2, "{}", round["plan"]);
    assert_eq!(round["rounds"].as_array().unwrap().len(), 2);
    assert_eq!(round["run"]["succeeded_iterations"], 50);
    let rejudged = ab(&["--rejudge", out_dir]);
    crate::assert_exit(&rejudged, 1);
}

/// Twenty `baseline save`s of distinct runs into one history at once (parallel CI jobs):
/// every run is kept (each save locks the history from its read to its rename).
#[test]
fn concurrent_baseline_saves_keep_every_run() {
    let dir = tempfile::tempdir().unwrap();
    let runs: Vec<PathBuf> = (0..20)
        .map(|i| {
            let json = dir.path().join(format!("r{i}.json"));
            let out = phasebench()
                .args(["run", "-q", "--iterations", "20", "--warmup", "0"])
                .args(["--set", "run.rounds=1", "--set"])
                .arg(r#"gate.primary=["turn_ttft.p50"]"#)
                .arg("--json")
                .arg(&json)
                .arg(repo().join("scenarios/calibration.toml"))
                .output()
                .unwrap();
            assert!(matches!(out.status.code(), Some(0 | 4)), "{out:?}");
            json
        })
        .collect();
    let baselines = dir.path().join("baselines");
    let saves: Vec<std::process::Child> = runs
        .iter()
        .map(|json| {
            phasebench()
                .args(["baseline", "save", "--name", "shared", "--dir"])
                .arg(&baselines)
                .arg(json)
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut save in saves {
        assert!(save.wait().unwrap().success());
    }
    let history: serde_json::Value =
        serde_json::from_slice(&std::fs::read(baselines.join("shared.json")).unwrap()).unwrap();
    assert_eq!(history["runs"].as_array().unwrap().len(), 20);
}

/// A reader that stops early (`| head -1`) ends the printing quietly, with the usual exit
/// code, not a panic; a full device is an error for a command whose product is its output.
#[test]
fn a_closed_or_full_stdout_is_no_panic() {
    let scenario = repo().join("scenarios/default.toml");
    let mut child = phasebench()
        .arg("validate")
        .args(std::iter::repeat_n(&scenario, 3000))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Close our end at once: every write after the pipe buffer fills gets EPIPE.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = phasebench()
        .args(["schema", "result"])
        .stdout(full)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("cannot write to standard output"),
        "{stderr}"
    );
}

/// `ab` killed outright (SIGKILL: no handler runs) does not leave its running round behind:
/// the round's `phasebench run` sees its parent gone and stops in order by itself.
#[test]
fn a_killed_ab_takes_its_running_round_with_it() {
    let tmp = tempfile::tempdir().unwrap();
    let private_tmp = tmp.path().join("tmp");
    std::fs::create_dir(&private_tmp).unwrap();
    // Rounds of minutes: only the watchdog can end this one in time.
    let mut child = phasebench()
        .args(["ab", "--quiet", "--rounds", "3", "--iterations", "600000"])
        .arg(repo().join("scenarios/ci/startup-http.toml"))
        .env("TMPDIR", &private_tmp)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let marker = private_tmp.display().to_string();
    wait_for_a_round(&marker, child.id());
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    let killed = std::time::Instant::now();
    while !processes_mentioning(&marker).is_empty() {
        assert!(
            killed.elapsed() < Duration::from_secs(15),
            "the round outlived its ab: {:?}",
            processes_mentioning(&marker)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The gate a comparison judges by comes from the baseline (or a scenario given with
/// `--scenario`), never from the file under judgment: a result edited to say a breached
/// budget held, to raise its limit, or to drop it, still fails; `baseline save` and `report`
/// judge stored budgets again from the histograms.
#[test]
fn the_gate_comes_from_the_baseline_or_a_given_scenario_never_the_judged_file() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str| {
        let json = dir.path().join(name);
        let out = phasebench()
            .args(["run", "-q", "--iterations", "100"])
            .args(["--set", r#"gate."turn_ttft.p50"="< 1ms""#])
            .args(["--set", r#"gate.primary=["turn_ttft.p50"]"#, "--json"])
            .arg(&json)
            .arg(repo().join("scenarios/default.toml"))
            .output()
            .unwrap();
        crate::assert_exit(&out, 1);
        json
    };
    let (base, current) = (run("base.json"), run("current.json"));
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&current).unwrap()).unwrap();
    for budget in doc["budgets"].as_array_mut().unwrap() {
        budget["passed"] = true.into();
        budget["verdict"] = "held".into();
    }
    let lied = dir.path().join("lied.json");
    std::fs::write(&lied, serde_json::to_vec(&doc).unwrap()).unwrap();
    for budget in doc["budgets"].as_array_mut().unwrap() {
        budget["limit_ms"] = 1e6.into();
    }
    let raised = dir.path().join("raised.json");
    std::fs::write(&raised, serde_json::to_vec(&doc).unwrap()).unwrap();
    doc["budgets"] = serde_json::json!([]);
    let dropped = dir.path().join("dropped.json");
    std::fs::write(&dropped, serde_json::to_vec(&doc).unwrap()).unwrap();
    for edited in [&lied, &raised, &dropped] {
        let out = phasebench()
            .args(["compare", "--undecided", "pass"])
            .arg(edited)
            .arg(&base)
            .output()
            .unwrap();
        crate::assert_exit(&out, 1);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("gate from the baseline"), "{stdout}");
        assert!(stdout.contains("turn_ttft.p50 < 1 ms"), "{stdout}");
    }
    // A scenario given names the gate instead (default.toml has no 1 ms budget).
    let out = phasebench()
        .args(["compare", "--undecided", "pass", "--scenario"])
        .arg(repo().join("scenarios/default.toml"))
        .arg(&raised)
        .arg(&base)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("gate from the scenario"), "{stdout}");
    assert!(!stdout.contains("turn_ttft.p50 < 1 ms"), "{stdout}");
    // Stored and shown as judged from the histograms.
    let baselines = dir.path().join("baselines");
    let out = phasebench()
        .args(["baseline", "save", "--dir"])
        .arg(&baselines)
        .arg(&lied)
        .output()
        .unwrap();
    crate::assert_exit(&out, 0);
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(baselines.join("default.json")).unwrap()).unwrap();
    let budgets = stored["runs"][0]["budgets"].as_array().unwrap();
    let p50 = budgets
        .iter()
        .find(|b| b["key"] == "turn_ttft.p50")
        .unwrap();
    assert_eq!(p50["verdict"], "breached", "{p50}");
    let html = dir.path().join("r.html");
    let out = phasebench()
        .args(["report", "--html"])
        .arg(&html)
        .arg(&lied)
        .output()
        .unwrap();
    crate::assert_exit(&out, 0);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("BREACH  turn_ttft.p50"), "{page}");
}
