//! `codex --version`, asked the way every codex process is run: isolated, in its own process
//! group, with a deadline.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::{CodexError, ProcessGroupGuard};

/// How long `codex --version` may take.
const VERSION_DEADLINE: Duration = Duration::from_secs(15);

/// Asks the binary its version, isolated like every other codex process (its own temporary
/// `HOME`, `CODEX_HOME` and `TMPDIR`: even `--version` writes `$CODEX_HOME/tmp/arg0-*`), in
/// its own process group, killed whole if it does not answer within [`VERSION_DEADLINE`].
pub(super) fn codex_version(binary: &Path) -> Result<String, CodexError> {
    codex_version_within(binary, VERSION_DEADLINE)
}

pub(super) fn codex_version_within(
    binary: &Path,
    deadline: Duration,
) -> Result<String, CodexError> {
    use std::io::Read;
    use std::os::unix::process::CommandExt;
    let fail = |message: String| CodexError::Version {
        binary: binary.display().to_string(),
        message,
    };
    let scratch = tempfile::Builder::new()
        .prefix("phasebench-codex-version-")
        .tempdir()
        .map_err(CodexError::TempDir)?;
    let mut child = std::process::Command::new(binary)
        .arg("--version")
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", scratch.path())
        .env("CODEX_HOME", scratch.path())
        .env("TMPDIR", scratch.path())
        .current_dir(scratch.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| fail(e.to_string()))?;
    // Armed until the end: whatever the process left behind in its group goes with it.
    let group = ProcessGroupGuard {
        pgid: Some(child.id()),
    };
    let stdout = child.stdout.take().expect("stdout is piped");
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.take(4096).read_to_end(&mut bytes);
        bytes
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > deadline => {
                drop(group);
                let _ = child.wait();
                return Err(fail(format!("no answer within {deadline:?}; killed")));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(fail(e.to_string())),
        }
    };
    drop(group);
    let stdout = reader.join().unwrap_or_default();
    if !status.success() {
        return Err(fail(format!("exit {status}")));
    }
    // "codex-cli 0.169.0"
    let text = String::from_utf8_lossy(&stdout);
    Ok(text
        .split_whitespace()
        .last()
        .unwrap_or("unknown")
        .to_owned())
}
