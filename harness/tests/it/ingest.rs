//! `phasebench ingest`: OTLP files on disk read with bounds; what it cannot read is refused.

use crate::support::*;

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
    crate::support::assert_exit(&out, 0);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains('\u{1b}'), "escape sequences printed raw");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(summary["metrics"].as_array().unwrap().len(), 256);
    assert_eq!(summary["dropped_samples"], 744);
}

/// A duration that is no whole number of milliseconds up to an hour (`1e400`, `Infinity`)
/// leaves its event out, and the user is told which and why, not handed a shorter table.
#[test]
fn ingest_names_the_events_it_leaves_out() {
    let dir = tempfile::tempdir().unwrap();
    let original =
        std::fs::read_to_string(repo().join("harness/tests/data/codex-0.169.0/otlp_v1_logs.json"))
            .unwrap();
    let mut edited = original.clone();
    let key = r#""duration_ms", "value": {"stringValue": ""#;
    let mut from = 0;
    for bad in ["1e400", "Infinity"] {
        let at = from + edited[from..].find(key).expect("a duration to edit") + key.len();
        let end = at + edited[at..].find('"').unwrap();
        edited.replace_range(at..end, bad);
        from = at;
    }
    assert_ne!(edited, original);
    let file = dir.path().join("logs.json");
    std::fs::write(&file, edited).unwrap();
    let out = phasebench().arg("ingest").arg(&file).output().unwrap();
    assert_exit(&out, 0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("2 phase events left out as malformed")
            && stderr.contains("\"1e400\"")
            && stderr.contains("\"Infinity\""),
        "{stderr}"
    );
}
