//! Child processes that cannot outlive what started them. Signals go to process groups by
//! system call (`kill(2)` through rustix), never by running a `kill` binary: without one on
//! `PATH`, `ab`'s stop took 22 s. And a child phasebench (an `ab` round's `run`, a mock MCP
//! server) watches its parent: when the parent is gone (killed with SIGKILL, which no handler
//! sees), the child is re-parented, notices within [`WATCH_EVERY`], and stops: an `ab` round
//! in order (as if sent SIGTERM: its own children killed, its temporary trees removed), a mock
//! MCP server at once. Polling the parent's pid instead of `PR_SET_PDEATHSIG`: the death
//! signal follows the *thread* that forked (codex spawns its MCP servers from worker threads
//! that may exit), and setting it needs `unsafe` between fork and exec.

use std::time::Duration;

use rustix::process::{Pid, Signal};

/// Which signal [`signal_group`] sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// SIGTERM: stop in order.
    Ask,
    /// SIGKILL.
    Kill,
}

/// Sends `stop` to every process in group `pgid`; false when there was no such group (or
/// `pgid` is not a valid process id).
pub(crate) fn signal_group(pgid: u32, stop: Stop) -> bool {
    let signal = match stop {
        Stop::Ask => Signal::TERM,
        Stop::Kill => Signal::KILL,
    };
    i32::try_from(pgid)
        .ok()
        .and_then(Pid::from_raw)
        .is_some_and(|pid| rustix::process::kill_process_group(pid, signal).is_ok())
}

/// Set on a child phasebench to its parent's pid: the child stops when that parent is gone.
pub(crate) const WATCH_PARENT_ENV: &str = "PHASEBENCH_WATCH_PARENT";

/// How often a watching child checks its parent.
pub(crate) const WATCH_EVERY: Duration = Duration::from_millis(100);

/// What a child does when its parent is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Orphaned {
    /// Send itself SIGTERM (the usual orderly stop), and exit 143 if that has not ended the
    /// process within `grace`.
    StopInOrder { grace: Duration },
    /// Exit at once.
    Exit,
}

/// Watches (on its own thread) for this process to be orphaned, and acts when it is: when
/// its parent changes from the one it had at the call (re-parented to init or a subreaper),
/// or when `named` (the pid in [`WATCH_PARENT_ENV`]: the `ab` that started this round) no
/// longer exists. The two differ when something sits between them (a wrapper script given
/// as `--a`/`--b` that does not `exec`): then the wrapper is the parent, and `ab`'s exit is
/// seen by its pid.
pub(crate) fn watch_parent(named: Option<u32>, orphaned: Orphaned) {
    let parent = std::os::unix::process::parent_id();
    let still_here =
        move || std::os::unix::process::parent_id() == parent && named.is_none_or(process_exists);
    let _ = std::thread::Builder::new()
        .name("parent-watch".into())
        .spawn(move || {
            while still_here() {
                std::thread::sleep(WATCH_EVERY);
            }
            match orphaned {
                Orphaned::Exit => std::process::exit(0),
                Orphaned::StopInOrder { grace } => {
                    let _ = rustix::process::kill_process(rustix::process::getpid(), Signal::TERM);
                    std::thread::sleep(grace);
                    std::process::exit(143);
                }
            }
        });
}

/// Whether process `pid` exists (one this user may not signal exists too).
fn process_exists(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    match rustix::process::test_kill_process(pid) {
        Ok(()) => true,
        Err(e) => e == rustix::io::Errno::PERM,
    }
}

/// The parent pid [`WATCH_PARENT_ENV`] names, if it is set to one.
pub(crate) fn parent_to_watch() -> Option<u32> {
    std::env::var(WATCH_PARENT_ENV).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_exists_until_it_is_reaped() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        assert!(process_exists(child.id()));
        assert!(
            process_exists(1),
            "init exists, though this user may not signal it"
        );
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!process_exists(child.id()));
        assert!(!process_exists(0), "pid 0 names no single process");
        assert!(!process_exists(u32::MAX));
    }

    #[test]
    fn signalling_a_group_that_does_not_exist_says_so() {
        // Pid 0 is not a group; a huge one is not a valid pid.
        assert!(!signal_group(0, Stop::Kill));
        assert!(!signal_group(u32::MAX, Stop::Kill));
    }

    #[test]
    fn a_group_is_signalled_by_system_call() {
        use std::os::unix::process::CommandExt;
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .unwrap();
        assert!(signal_group(child.id(), Stop::Kill));
        let status = child.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(9));
    }
}
