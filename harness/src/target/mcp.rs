//! What both targets share about the mock MCP servers: the command that serves them (this
//! phasebench binary), the record files they append to, and reading back from a record the
//! delay injected before tool building could finish.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The file each home's mock MCP servers append their requests to.
pub(crate) const RECORD: &str = "mcp-requests.jsonl";
/// The most of one home's MCP record that is read.
const MAX_RECORD: u64 = 1 << 20;

/// One record file, at most [`MAX_RECORD`] bytes of it.
pub(crate) fn read_record(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(MAX_RECORD)
        .read_to_string(&mut text)?;
    Ok(text)
}

/// The delay injected before tool building could finish, from one iteration's MCP records:
/// per server start + initialize + tools/list, the slowest server's. None when a server did
/// not get that far (crashed, never answered, or `expected` servers did not all report).
pub(crate) fn injected(records: &str, expected: usize) -> Option<Duration> {
    use std::collections::BTreeMap;
    let mut per_server: BTreeMap<String, (Duration, bool)> = BTreeMap::new();
    for line in records.lines() {
        let value: serde_json::Value = serde_json::from_str(line).ok()?;
        let server = value["server"].as_str()?.to_owned();
        let injected = Duration::from_micros(value["injected_us"].as_u64()?);
        let entry = per_server.entry(server).or_insert((Duration::ZERO, false));
        match value["method"].as_str()? {
            "start" | "initialize" => entry.0 += injected,
            "tools/list" => {
                entry.0 += injected;
                entry.1 = true;
            }
            "tools/call" => {}
            _ => return None,
        }
    }
    if per_server.len() != expected || per_server.values().any(|(_, listed)| !listed) {
        return None;
    }
    per_server.values().map(|(d, _)| *d).max()
}

/// The phasebench binary that serves mock MCP servers: this process when it is phasebench,
/// else `phasebench` beside it or one directory up (a test binary in `target/*/deps`).
pub(crate) fn server_command() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let is_phasebench = |p: &Path| {
        p.file_name()
            .is_some_and(|n| n.to_string_lossy() == "phasebench")
    };
    if is_phasebench(&exe) {
        return Ok(exe);
    }
    exe.ancestors()
        .skip(1)
        .take(2)
        .map(|dir| dir.join("phasebench"))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            format!(
                "no phasebench binary beside {} to serve the mock MCP servers",
                exe.display()
            )
        })
}
