//! Standard output that may go away: a reader that stops early (`phasebench compare … | head
//! -1`) closes the pipe, a full device (`> /dev/full`) refuses the bytes. Neither is worth a
//! panic (Rust's `print!` panics on both, exit 101) nor a different exit code: like ripgrep,
//! a broken pipe ends the printing quietly, and the command still exits with its verdict (a
//! regression piped into `head` still fails the job). Any other write error is said once on
//! standard error.

use std::io::{ErrorKind, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once standard output refused a write: nothing more is tried.
static GONE: AtomicBool = AtomicBool::new(false);

/// Writes `bytes` to standard output, unless it is gone. False when it failed for another
/// reason than a closed pipe (for commands whose only product is what they print).
pub(crate) fn write(bytes: &[u8]) -> bool {
    if GONE.load(Ordering::Relaxed) {
        return true;
    }
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => true,
        Err(e) => {
            GONE.store(true, Ordering::Relaxed);
            if e.kind() == ErrorKind::BrokenPipe {
                return true;
            }
            eprintln!("error: cannot write to standard output: {e}");
            false
        }
    }
}

/// [`write`] of text shown beside a command's real outputs (tables, lines of status): a
/// failure is said, and the command's verdict stands.
pub(crate) fn print(text: &str) {
    let _ = write(text.as_bytes());
}

/// The exit code of a command whose product is what it printed.
pub(crate) fn printed(ok: bool) -> std::process::ExitCode {
    std::process::ExitCode::from(if ok {
        super::EXIT_PASS
    } else {
        super::EXIT_FAILURE
    })
}
