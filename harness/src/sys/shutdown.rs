//! One shutdown path. SIGINT and SIGTERM set a flag instead of killing the process; every
//! loop that waits (the runner's workers, `ab`'s rounds, the codex targets' children) checks
//! it and stops in order: in-flight iterations are cancelled (their process groups killed,
//! their temporary trees removed as their guards drop), the rounds finished so far are
//! written to the requested outputs marked `"partial": true`, and the process exits with
//! 128 + the signal (130 for SIGINT, 143 for SIGTERM) and a one-line message. A second signal
//! while stopping exits at once with the same code.

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use signal_hook::consts::{SIGINT, SIGTERM};

static SIGNAL: OnceLock<Arc<AtomicUsize>> = OnceLock::new();

/// Routes SIGINT and SIGTERM into the stop flag. Call once, early in `main`.
pub(crate) fn install() -> std::io::Result<()> {
    let signal = Arc::clone(SIGNAL.get_or_init(Arc::default));
    for sig in [SIGINT, SIGTERM] {
        // A second signal, once the first set the flag, terminates right away.
        let stopping = Arc::new(AtomicBool::new(false));
        signal_hook::flag::register_conditional_shutdown(sig, 128 + sig, Arc::clone(&stopping))?;
        signal_hook::flag::register(sig, stopping)?;
        signal_hook::flag::register_usize(sig, Arc::clone(&signal), sig as usize)?;
    }
    Ok(())
}

/// The signal that asked for a stop, if any.
pub(crate) fn requested() -> Option<i32> {
    SIGNAL
        .get()
        .map(|s| s.load(Ordering::Relaxed))
        .filter(|&s| s != 0)
        .map(|s| s as i32)
}

/// Resolves once a stop was requested.
pub(crate) async fn wait() {
    while requested().is_none() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The exit code for a stop by `signal`.
pub(crate) fn exit_code(signal: i32) -> u8 {
    (128 + signal).clamp(0, 255) as u8
}

/// The signal's name, for the one-line message.
pub(crate) fn name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}
