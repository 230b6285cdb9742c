//! What every codex child process is held by: its process group killed when dropped, its
//! temporary trees removed, its stdout read as bounded lossy lines, its stderr drained to a
//! tail (and a helper-binary refusal counted).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::AsyncReadExt;

use super::{HELPER_REFUSAL, STDERR_TAIL};

/// Kills a process group when dropped, unless disarmed after the process exited.
pub(super) struct ProcessGroupGuard {
    pub(super) pgid: Option<u32>,
}

impl Drop for ProcessGroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.pgid {
            crate::sys::process::signal_group(pgid, crate::sys::process::Stop::Kill);
        }
    }
}

/// Removes a directory tree when dropped.
pub(super) struct RemoveOnDrop(pub(super) Option<PathBuf>);

/// A run's tree of codex homes, shared by the rig and every home handed out from it, and
/// removed when the last of them is dropped: a codex process still running when the rig goes
/// (one checked out by an iteration cut short) writes into its home, so removing the tree at
/// the rig's drop could fail on a directory that is not empty and leave the run's directory
/// behind for good.
pub(super) struct HomesTree(tempfile::TempDir);

impl HomesTree {
    pub(super) fn new(dir: tempfile::TempDir) -> Arc<Self> {
        Arc::new(Self(dir))
    }

    pub(super) fn path(&self) -> &std::path::Path {
        self.0.path()
    }
}

impl Drop for HomesTree {
    /// Removes the tree, again if a first try fails: a codex process that just exited may
    /// have left a helper that writes in the working directory for a moment longer, and one
    /// failed removal (ENOTEMPTY) would leave the tree behind (`TempDir` ignores it).
    fn drop(&mut self) {
        for _ in 0..20 {
            match std::fs::remove_dir_all(self.0.path()) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                _ => break,
            }
        }
    }
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(path) = &self.0 {
            let _ = std::fs::remove_dir_all(path);
        }
    }
}

/// The longest stdout line kept from a child; the rest of a longer line is skipped.
pub(super) const MAX_LINE: usize = 1 << 20;

/// A child's stdout as lines, whatever it prints: invalid UTF-8 is replaced (a line-based
/// reader that stops at the first invalid byte would leave the child blocked on a full pipe
/// until the iteration's deadline), and lines are bounded.
pub(crate) struct LossyLines<R> {
    reader: tokio::io::BufReader<R>,
    line: Vec<u8>,
}

impl<R: tokio::io::AsyncRead + Unpin> LossyLines<R> {
    pub(crate) fn new(reader: R) -> Self {
        Self {
            reader: tokio::io::BufReader::new(reader),
            line: Vec::new(),
        }
    }

    /// The next line without its line break; `None` at the end.
    pub(crate) async fn next_line(&mut self) -> std::io::Result<Option<String>> {
        use tokio::io::AsyncBufReadExt;
        self.line.clear();
        loop {
            let buffer = self.reader.fill_buf().await?;
            if buffer.is_empty() {
                return Ok((!self.line.is_empty()).then(|| self.take_line()));
            }
            let (used, done) = match buffer.iter().position(|b| *b == b'\n') {
                Some(at) => (at + 1, true),
                None => (buffer.len(), false),
            };
            let room = MAX_LINE.saturating_sub(self.line.len());
            self.line.extend_from_slice(&buffer[..used.min(room)]);
            self.reader.consume(used);
            if done {
                return Ok(Some(self.take_line()));
            }
        }
    }

    fn take_line(&mut self) -> String {
        let line = self.line.strip_suffix(b"\n").unwrap_or(&self.line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        String::from_utf8_lossy(line).into_owned()
    }
}

/// Reads a child's stderr to the end in the background; yields its last [`STDERR_TAIL`] bytes.
pub(super) fn stderr_tail(
    mut stderr: tokio::process::ChildStderr,
    helper_refusals: Arc<AtomicU64>,
) -> tokio::task::JoinHandle<String> {
    tokio::spawn(async move {
        let mut all = Vec::new();
        let _ = stderr.read_to_end(&mut all).await;
        let text = String::from_utf8_lossy(&all).into_owned();
        if text.contains(HELPER_REFUSAL) {
            helper_refusals.fetch_add(1, Ordering::Relaxed);
        }
        let cut = text.len().saturating_sub(STDERR_TAIL);
        text[text.floor_char_boundary(cut)..].trim().to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rig dropped while an iteration still holds a home (its codex writing there): the
    /// tree stays until that home goes, then nothing of the run is left.
    #[test]
    fn the_homes_tree_goes_with_the_last_of_the_rig_and_its_homes() {
        let base = tempfile::tempdir().unwrap();
        let tree = HomesTree::new(
            tempfile::Builder::new()
                .prefix("run-")
                .tempdir_in(base.path())
                .unwrap(),
        );
        let run = tree.path().to_owned();
        let home = run.join("home-1");
        std::fs::create_dir_all(&home).unwrap();
        // What a `Home` holds, in its drop order: the home's own guard, then the tree.
        let held = (RemoveOnDrop(Some(home.clone())), Arc::clone(&tree));
        drop(tree);
        std::fs::write(home.join("late-write"), "codex still running").unwrap();
        assert!(run.exists(), "removed under a live home");
        drop(held);
        assert!(!run.exists(), "left behind: {}", run.display());
        assert_eq!(std::fs::read_dir(base.path()).unwrap().count(), 0);
    }
}
