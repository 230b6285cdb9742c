//! One side's round: a child `phasebench run` in its own process group, its standard error
//! drained while it runs, waited on with a deadline (and stopped in order when the A/B's
//! time budget ends); a stop request (Ctrl-C, SIGTERM) is passed on to the child, which
//! writes what it finished; whatever is left in its group is killed when it is reaped or
//! abandoned, and the child stops by itself if `ab` dies first
//! ([`crate::sys::process::watch_parent`]).

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{AbError, AbRequest, Side};
use crate::sys::process::{Stop, WATCH_PARENT_ENV, signal_group};

/// How long a child may take to stop after being asked.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Kills a child's process group unless it was reaped.
struct GroupGuard(Option<u32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.0 {
            signal_group(pgid, Stop::Kill);
        }
    }
}

/// Part `index` (1-based) of `of` of a side's round (`[run] interleave`).
#[derive(Debug, Clone, Copy)]
pub(super) struct Part {
    pub index: u32,
    pub of: u32,
}

/// What one child runs: its round's iterations, which part of the round (if any), how long
/// it may take, and when the A/B's time budget (`--max-time`) ends, if it has one.
#[derive(Debug, Clone, Copy)]
pub(super) struct Share {
    pub iterations: u64,
    pub part: Option<Part>,
    pub deadline: Duration,
    pub budget_end: Option<Instant>,
}

pub(super) fn run_side(
    side: char,
    round: u32,
    spec: &Side,
    request: &AbRequest,
    share: Share,
    json: &Path,
) -> Result<(), AbError> {
    let Share {
        iterations,
        part,
        deadline,
        budget_end,
    } = share;
    let out_of_time = || budget_end.is_some_and(|end| Instant::now() >= end);
    if out_of_time() {
        return Err(AbError::OutOfTime);
    }
    let mut command = Command::new(&spec.binary);
    command
        .arg("run")
        .arg(&request.scenario)
        .arg("--quiet")
        .arg("--iterations")
        .arg(iterations.to_string())
        .arg("--json")
        .arg(json);
    // The round pair is the unit: each child is one round (its own warmup, one runtime), or
    // one part of it: round P of a run of K rounds (`parts`).
    match part {
        None => command.arg("--set").arg("run.rounds=1"),
        Some(Part { index, of }) => command
            .arg("--set")
            .arg(format!("run.rounds={of}"))
            .arg("--shard")
            .arg(format!("{index}/{of}")),
    };
    command
        // Stops (in order) if this process dies, even by SIGKILL.
        .env(WATCH_PARENT_ENV, std::process::id().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0);
    for o in request.overrides.iter().chain(&spec.overrides) {
        command.arg("--set").arg(format!("{}={}", o.key, o.value));
    }
    let binary = spec.binary.display().to_string();
    let mut child = command.spawn().map_err(|source| AbError::Spawn {
        binary: binary.clone(),
        source,
    })?;
    let mut group = GroupGuard(Some(child.id()));
    // Drained while the child runs: a full pipe would stall it.
    let stderr = child.stderr.take().map(|mut pipe| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = (&mut pipe).take(1 << 20).read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    });
    let started = Instant::now();
    let mut stop_sent: Option<Instant> = None;
    // When the time budget's end asked the child to stop.
    let mut cut_sent: Option<Instant> = None;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(source) => return Err(AbError::Spawn { binary, source }),
        }
        if let Some(signal) = crate::sys::shutdown::requested() {
            match stop_sent {
                None => {
                    // The child stops in order: it writes what it finished and exits.
                    signal_group(child.id(), Stop::Ask);
                    stop_sent = Some(Instant::now());
                }
                Some(at) if at.elapsed() > STOP_GRACE => {
                    drop(group);
                    let _ = child.wait();
                    return Err(AbError::Interrupted(signal));
                }
                Some(_) => {}
            }
        } else if started.elapsed() > deadline {
            drop(group);
            let _ = child.wait();
            return Err(AbError::Deadline {
                side,
                round,
                binary,
                deadline,
            });
        } else if let Some(at) = cut_sent {
            if at.elapsed() > STOP_GRACE {
                drop(group);
                let _ = child.wait();
                return Err(AbError::OutOfTime);
            }
        } else if out_of_time() {
            // The budget is the user's: a stalled machine does not stretch it. The child
            // stops in order, its own children and temporary trees with it.
            signal_group(child.id(), Stop::Ask);
            cut_sent = Some(Instant::now());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // Reaped: anything left in its group goes with it.
    signal_group(child.id(), Stop::Kill);
    group.0 = None;
    let stderr = stderr.and_then(|h| h.join().ok()).unwrap_or_default();
    if let Some(signal) = crate::sys::shutdown::requested() {
        return Err(AbError::Interrupted(signal));
    }
    if cut_sent.is_some() {
        return Err(AbError::OutOfTime);
    }
    // 0 pass, 1 budget breach and 4 a budget left undecided all measured; anything else did
    // not.
    if matches!(status.code(), Some(0 | 1 | 4)) {
        return Ok(());
    }
    Err(AbError::Failed {
        side,
        round,
        binary,
        code: status.code(),
        stderr: stderr.trim().chars().take(2000).collect(),
    })
}
