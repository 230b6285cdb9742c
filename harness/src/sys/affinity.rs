//! Which CPUs a child process may run on. A target pinned to one CPU keeps all its threads
//! there, so the scheduler cannot spread one process's threads over a busy and an idle core
//! differently from the next process (what pinning did to codex's noise is measured in
//! docs/measurements.md, "Pinned to one CPU").
//!
//! The child inherits the affinity of the thread that spawns it, so [`spawn_on`] narrows the
//! calling thread's own affinity for the length of the spawn and restores it after: no code
//! between fork and exec (which would need `unsafe`), and nothing else runs on that thread
//! meanwhile, since the spawn is synchronous.

use std::io;

use rustix::thread::{CpuSet, sched_getaffinity, sched_setaffinity};

/// CPU numbers a set can hold: below this (Linux's `CPU_SETSIZE`).
pub(crate) const MAX_CPUS: usize = CpuSet::MAX_CPU;

/// The CPUs this thread may run on, in ascending order.
pub(crate) fn allowed_cpus() -> io::Result<Vec<usize>> {
    let set = sched_getaffinity(None)?;
    Ok((0..MAX_CPUS).filter(|&cpu| set.is_set(cpu)).collect())
}

/// Spawns `command` restricted to `cpus` (every one below [`MAX_CPUS`]; an empty
/// slice leaves the child unrestricted).
pub(crate) fn spawn_on(
    command: &mut tokio::process::Command,
    cpus: &[usize],
) -> io::Result<tokio::process::Child> {
    if cpus.is_empty() {
        return command.spawn();
    }
    let mut set = CpuSet::new();
    for &cpu in cpus {
        if cpu >= MAX_CPUS {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("CPU {cpu} is beyond the largest CPU set ({MAX_CPUS})"),
            ));
        }
        set.set(cpu);
    }
    let own = sched_getaffinity(None)?;
    sched_setaffinity(None, &set)?;
    let spawned = command.spawn();
    // A worker thread left pinned would skew everything after it: a failed restore fails the
    // spawn (the child, killed on drop, goes with it).
    sched_setaffinity(None, &own)?;
    spawned
}

/// The CPU list in `/proc/PID/status` form (`0-1,3`).
pub(crate) fn cpu_list(cpus: &[usize]) -> String {
    let mut out = Vec::new();
    let mut i = 0;
    while i < cpus.len() {
        let start = cpus[i];
        let mut end = start;
        while i + 1 < cpus.len() && cpus[i + 1] == end + 1 {
            i += 1;
            end = cpus[i];
        }
        out.push(if end == start {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    out.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn child_cpus(cpus: &[usize]) -> String {
        let mut command = tokio::process::Command::new("sh");
        command
            .args(["-c", "grep '^Cpus_allowed_list' /proc/self/status"])
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true);
        let child = spawn_on(&mut command, cpus).expect("sh runs");
        let out =
            tokio::time::timeout(std::time::Duration::from_secs(30), child.wait_with_output())
                .await
                .expect("sh exits")
                .expect("sh's output");
        String::from_utf8(out.stdout)
            .expect("utf-8")
            .split_whitespace()
            .last()
            .expect("a list")
            .to_owned()
    }

    #[tokio::test]
    async fn a_child_runs_on_the_cpus_named_and_the_spawner_keeps_its_own() {
        let mine = allowed_cpus().unwrap();
        let last = *mine.last().expect("at least one CPU");
        assert_eq!(child_cpus(&[last]).await, last.to_string());
        assert_eq!(child_cpus(&[]).await, cpu_list(&mine));
        // The spawning thread's own affinity was restored.
        assert_eq!(allowed_cpus().unwrap(), mine);
    }

    #[test]
    fn a_cpu_beyond_any_set_is_refused_before_anything_runs() {
        let mut command = tokio::process::Command::new("/nonexistent/never-run");
        let err = spawn_on(&mut command, &[MAX_CPUS]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    }

    #[test]
    fn cpu_lists_read_like_the_kernels() {
        assert_eq!(cpu_list(&[]), "");
        assert_eq!(cpu_list(&[1]), "1");
        assert_eq!(cpu_list(&[0, 1, 2, 5, 7, 8]), "0-2,5,7-8");
    }
}
