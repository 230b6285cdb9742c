//! What a run shows beyond its table: the critical path of the first token and the
//! per-iteration timelines (Chrome trace JSON).

use crate::support::*;

/// The critical path names the branch the prewarm finished on (the slow handshake, or tool
/// building once tools are slower still) and what the first token waited on.
#[test]
fn critical_path_names_the_slower_prewarm_branch() {
    let dir = tempfile::tempdir().unwrap();
    let run = |sets: &[&str]| -> serde_json::Value {
        let json = dir.path().join("run.json");
        let out = phasebench()
            .args(["run", "-q", "--iterations", "20", "--warmup", "2"])
            // The critical path matters, not the budgets' verdict (see `run.rs`).
            .args(["--undecided", "pass"])
            .args(["--set", "run.rounds=1", "--json"])
            .arg(&json)
            .args(sets.iter().flat_map(|s| ["--set", s]))
            .arg(scenario_path("slow-handshake.toml"))
            .output()
            .unwrap();
        crate::support::assert_exit(&out, 0);
        let doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        doc["critical_path"].clone()
    };
    // Handshake 80 ms against tools 50 ms; the turn comes at 150 ms, after the prewarm.
    let slow_handshake = run(&[]);
    assert_eq!(slow_handshake["iterations"], 20, "{slow_handshake}");
    // Most iterations, not all: with both cores busy, tool building once took longer than
    // the handshake's 80 ms in 1 of 20.
    assert_eq!(slow_handshake["prewarm"][0]["branch"], "websocket connect");
    assert!(
        slow_handshake["prewarm"][0]["iterations"].as_u64().unwrap() >= 15,
        "{slow_handshake}"
    );
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
    assert!(waited["iterations"].as_u64().unwrap() >= 15, "{waited}");
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
    crate::support::assert_exit(&out, 0);
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
    // The handshake (80 ms) is the longer branch: it finishes the prewarm in most iterations
    // (not necessarily in the slowest, which on a busy machine can be one whose tool building
    // was held up).
    let processes: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "process_name")
        .map(|e| &e["pid"])
        .collect();
    let end_of = |pid: &serde_json::Value, name: &str| {
        events
            .iter()
            .find(|e| &e["pid"] == pid && e["ph"] == "X" && e["name"] == name)
            .map(|e| span(e).1)
    };
    let connect_last = processes
        .iter()
        .filter(|pid| end_of(pid, "websocket_connect") > end_of(pid, "startup_prewarm_build_tools"))
        .count();
    assert!(
        2 * connect_last > processes.len(),
        "the websocket connect ended last in {connect_last} of {} iterations",
        processes.len()
    );
    // The mock's server-side instants are on the server track.
    assert!(
        events
            .iter()
            .any(|e| e["pid"] == 1 && e["ph"] == "i" && e["cat"] == "server")
    );
}
