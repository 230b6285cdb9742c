//! Aged codex homes: a `CODEX_HOME` grown the way months of use grow it (recorded sessions,
//! the state and log databases they fill), because a large home is where real startup
//! regressions hide (one report: `codex mcp list` 1.7 s with 564 sessions, 79 ms with a clean
//! home). A home with N sessions is made once per codex version, N and prompt by running
//! `codex exec` N times against the mock, kept in a cache ([`cache_base`]), and copied for each
//! iteration, so every iteration starts from the same aged state.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use super::{CodexError, CodexRig};

/// How long one aging session may take.
const SESSION_DEADLINE: Duration = Duration::from_secs(60);

/// Where aged homes are cached: `$PHASEBENCH_CACHE_DIR`, else `$XDG_CACHE_HOME/phasebench`,
/// else `~/.cache/phasebench` (`.phasebench-cache/` is git-ignored for a cache inside the
/// repository).
pub(crate) fn cache_base() -> PathBuf {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = var("PHASEBENCH_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    var("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("phasebench")
}

/// The cache entry of a home aged by `sessions` sessions of `prompt` with codex `version`.
pub fn template_dir(version: &str, sessions: u32, prompt: &str) -> PathBuf {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in prompt.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    let version = crate::sys::path_safe(version);
    cache_base()
        .join("aged-homes")
        .join(format!("codex-{version}-sessions-{sessions}-{hash:016x}"))
}

/// The aged template for `sessions`, made now unless the cache has it. Made in a scratch
/// directory beside it and renamed into place when complete, so an interrupted aging never
/// leaves a half-aged home that a later run would take for a whole one.
pub(crate) async fn template(rig: &CodexRig, sessions: u32) -> Result<PathBuf, CodexError> {
    let dir = template_dir(&rig.version, sessions, &rig.spec.prompt);
    if dir.join("config.toml").is_file() {
        return Ok(dir);
    }
    let fail = |message: String| CodexError::Aging {
        path: dir.clone(),
        message,
    };
    let parent = dir.parent().expect("the template has a parent");
    std::fs::create_dir_all(parent).map_err(|e| fail(e.to_string()))?;
    let scratch = tempfile::Builder::new()
        .prefix("aging-")
        .tempdir_in(parent)
        .map_err(|e| fail(e.to_string()))?;
    let home = scratch.path().join("home");
    rig.write_home(&home)?;
    let args = [
        "exec",
        "--skip-git-repo-check",
        "--json",
        "--",
        &rig.spec.prompt,
    ];
    for session in 0..sessions {
        let mut command = rig.command(&home, &args);
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = command
            .spawn()
            .map_err(|e| fail(format!("cannot spawn codex: {e}")))?;
        let group = super::ProcessGroupGuard { pgid: child.id() };
        let status = tokio::time::timeout(SESSION_DEADLINE, child.wait())
            .await
            .map_err(|_| fail(format!("session {session} took over {SESSION_DEADLINE:?}")))?
            .map_err(|e| fail(e.to_string()))?;
        let mut group = group;
        group.pgid = None;
        if !status.success() {
            return Err(fail(format!(
                "session {session}: codex exited with {status}"
            )));
        }
        if crate::sys::shutdown::requested().is_some() {
            return Err(fail("interrupted".into()));
        }
    }
    // Aging sessions are not measurements.
    let _ = rig.receiver.take_all();
    match std::fs::rename(&home, &dir) {
        Ok(()) => Ok(dir),
        // Another run finished the same template first: use theirs.
        Err(_) if dir.join("config.toml").is_file() => Ok(dir),
        Err(e) => Err(fail(e.to_string())),
    }
}

/// Copies a directory tree (files, directories and symbolic links as links).
pub(crate) fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path())?, &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// Files and bytes under a directory.
#[cfg(test)]
fn tree_size(dir: &Path) -> (u64, u64) {
    let mut files = 0;
    let mut bytes = 0;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => {
                    let (f, b) = tree_size(&entry.path());
                    files += f;
                    bytes += b;
                }
                Ok(kind) if kind.is_file() => {
                    files += 1;
                    bytes += entry.metadata().map_or(0, |m| m.len());
                }
                _ => {}
            }
        }
    }
    (files, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trees_copy_whole_and_templates_are_named_by_what_made_them() {
        let dir = tempfile::tempdir().unwrap();
        let from = dir.path().join("from");
        std::fs::create_dir_all(from.join("sessions/2026/11")).unwrap();
        std::fs::write(from.join("sessions/2026/11/a.jsonl"), "x".repeat(10)).unwrap();
        std::fs::write(from.join("state.sqlite"), "y").unwrap();
        std::os::unix::fs::symlink("state.sqlite", from.join("link")).unwrap();
        let to = dir.path().join("to");
        copy_tree(&from, &to).unwrap();
        assert_eq!(tree_size(&to), (2, 11));
        assert_eq!(
            std::fs::read_link(to.join("link")).unwrap(),
            Path::new("state.sqlite")
        );
        let a = template_dir("0.169.0", 500, "hi");
        let name = a.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("codex-0.169.0-sessions-500-"), "{name}");
        assert_ne!(a, template_dir("0.169.0", 500, "hello"));
        assert_ne!(a, template_dir("0.170.0", 500, "hi"));
        assert_ne!(a, template_dir("0.169.0", 50, "hi"));
        assert!(
            !template_dir("../../x", 1, "hi")
                .to_string_lossy()
                .contains("../")
        );
    }
}
