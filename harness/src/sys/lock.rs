//! Exclusive locks for read-modify-write of shared files (a baseline history, an appended
//! job summary): parallel CI jobs writing one file queue instead of losing each other's work.

use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::path::Path;
use std::time::{Duration, Instant};

use super::output::OutputError;

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> OutputError + '_ {
    move |source| OutputError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// How long [`lock_for_update`] waits for another writer to finish.
pub(crate) const LOCK_DEADLINE: Duration = Duration::from_secs(120);

/// An exclusive lock for one read-modify-write of `target`, released when dropped.
#[derive(Debug)]
pub(crate) struct UpdateLock {
    _file: File,
}

/// Locks `target` for a read-modify-write: `flock(2)` on a lock file beside it,
/// `.NAME.lock` (the target itself is replaced by a rename, so a lock on it would be on an
/// inode about to go). The lock file stays (removing it would race with the next writer).
/// Waits at most [`LOCK_DEADLINE`] for another writer.
pub(crate) fn lock_for_update(target: &Path) -> Result<UpdateLock, OutputError> {
    let name = target
        .file_name()
        .map_or("output".into(), |n| n.to_string_lossy().into_owned());
    let lock_path = super::output::parent_of(target).join(format!(".{name}.lock"));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(io_error(&lock_path))?;
    let started = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(UpdateLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < LOCK_DEADLINE => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(io_error(target)(std::io::Error::new(
                    ErrorKind::TimedOut,
                    format!(
                        "another writer held {} for {} s",
                        lock_path.display(),
                        LOCK_DEADLINE.as_secs()
                    ),
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io_error(&lock_path)(e)),
        }
    }
}
