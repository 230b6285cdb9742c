//! Mock MCP servers: the built-in runtime lists their tools during prewarm, as codex does.

use std::time::Duration;

use crate::support::*;

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
    let left = crate::support::processes_naming(&marker);
    assert!(left.is_empty(), "MCP servers left running: {left:?}");
    let files: Vec<_> = std::fs::read_dir(&private_tmp).unwrap().collect();
    assert!(files.is_empty(), "left behind: {files:?}");
}
