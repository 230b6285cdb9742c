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
