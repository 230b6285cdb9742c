//! The CPU time this process has used (all its threads, user and system), so a measurement
//! can say what each unit of work cost the machine, not only how long it took: at saturation a
//! rate is bounded by the cores over the CPU time per unit.

use std::time::Duration;

use rustix::time::{ClockId, clock_gettime};

/// CPU time used by the whole process so far.
pub(crate) fn process_cpu_time() -> Duration {
    let t = clock_gettime(ClockId::ProcessCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

/// CPU time used by `work`, and its result.
pub(crate) async fn cpu_of<T>(work: impl Future<Output = T>) -> (T, Duration) {
    let before = process_cpu_time();
    let value = work.await;
    (value, process_cpu_time().saturating_sub(before))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn busy_work_costs_cpu_time() {
        let (_, busy) = cpu_of(async {
            let until = std::time::Instant::now() + Duration::from_millis(30);
            let mut spins = 0u64;
            while std::time::Instant::now() < until {
                spins = std::hint::black_box(spins + 1);
            }
        })
        .await;
        // 30 ms of spinning on this thread: at least most of it is CPU time (wide margin
        // for a preempted thread on a busy machine).
        // (The clock counts the whole test binary's threads, so there is no upper bound to
        // check here.)
        assert!(busy >= Duration::from_millis(5), "{busy:?}");
    }
}
