//! The harness measures itself: an injected delay moves its phase by that much plus a small
//! overhead; prewarm branches overlap as designed; deadlines, resets and open-loop arrivals
//! behave as the scenario says (built-in runtime, mock backend).

use std::time::Duration;

use phasebench::{MetricRow, RunSummary};

use crate::support::*;

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
    // The mock's own part is paired with what it injected, not with zero.
    let mock = slow
        .overhead
        .iter()
        .find(|o| o.metric == "mock.first_delta")
        .expect("a mock.first_delta overhead row");
    assert!(
        (mock.injected_p50_ms - 50.0).abs() <= 1.0,
        "mock.first_delta paired with {} ms injected",
        mock.injected_p50_ms
    );
    assert!(mock.overhead_p50_ms < 5.0, "{mock:?}");
    let jitter = mock.overhead_jitter_ms.expect("a new run keeps its jitter");
    assert!((0.0..=mock.overhead_max_ms).contains(&jitter), "{mock:?}");
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
            // The rates matter here, not the default scenario's budgets (see `run.rs`).
            .args(["--undecided", "pass"])
            .args(["--set", &format!("load.rate=\"{rate}\""), "--json"])
            .arg(&json)
            .arg(scenario_path("default.toml"))
            .output()
            .unwrap();
        crate::support::assert_exit(&out, 0);
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

/// `calibrate` sets each phase's overhead beside the bare websocket pair's time for the same
/// step, and the harness's throughput beside the pair's, measured before and after it.
#[test]
fn calibrate_sets_the_harness_beside_the_bare_wire() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("limit.json");
    let out = phasebench()
        .args(["calibrate", "--iterations", "30", "--startups", "200"])
        .args(["--concurrency", "1,8", "--json"])
        .arg(&json)
        .output()
        .unwrap();
    crate::support::assert_exit(&out, 0);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("closeness to the wire"), "{stdout}");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let phases = doc["phases"].as_array().unwrap();
    for metric in [
        "websocket_connect",
        "startup_prewarm_websocket_warmup",
        "turn_ttft",
    ] {
        let row = phases
            .iter()
            .find(|p| p["phase"] == metric)
            .unwrap_or_else(|| panic!("no {metric} row: {doc}"));
        assert_eq!(row["wire_exchanges"], 30, "{row}");
        assert_eq!(row["samples"], 30, "{row}");
        let wire = row["wire_p50_ms"].as_f64().unwrap();
        // Loopback with nothing injected: above zero, far below the injected delays.
        assert!(wire > 0.0 && wire < 10.0, "{row}");
        let floor = row["floor_p50_ms"].as_f64().unwrap();
        assert!((0.0..10.0).contains(&floor), "{row}");
        let overhead = row["overhead_p50_ms"].as_f64().unwrap();
        assert!((0.0..10.0).contains(&overhead), "{row}");
        assert!(row["overhead_jitter_ms"].as_f64().unwrap() >= 0.0, "{row}");
    }
    let throughput = doc["throughput"].as_array().unwrap();
    let concurrency: Vec<u64> = throughput
        .iter()
        .map(|t| t["concurrency"].as_u64().unwrap())
        .collect();
    assert_eq!(concurrency, [1, 8]);
    for t in throughput {
        for key in [
            "wire_before_per_s",
            "wire_after_per_s",
            "harness_per_s",
            "ratio",
            "wire_cpu_us",
            "harness_cpu_us",
            "cpu_ratio",
        ] {
            assert!(t[key].as_f64().unwrap() > 0.0, "{key}: {t}");
        }
        // A startup costs the process more than a microsecond and less than a second of CPU
        // (release ~0.2-0.5 ms, a debug build a few ms).
        for key in ["wire_cpu_us", "harness_cpu_us"] {
            let us = t[key].as_f64().unwrap();
            assert!((1.0..1e6).contains(&us), "{key}: {t}");
        }
    }
    assert_eq!(doc["goals"]["overhead_p50_ms"], 0.1);
}
