//! Drives a target: warmup then measured iterations, `concurrency` at a time, each under the
//! scenario's deadline (a stuck iteration is cancelled and counted, never waited on).
//!
//! Workers record into a few shared [`Recorder`] shards (one per core), merged at the end: a
//! recorder holds dozens of HdrHistograms (~190 KB each), so one per worker would cost ~7 MB
//! per unit of concurrency; a shard's lock is held only to record one iteration's samples.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use indicatif::ProgressBar;

use crate::measure::recorder::Recorder;
use crate::measure::timeline::TimelineKeeper;
use crate::model::sample::Sample;
use crate::target::{IterationFailure, Target};
use std::num::NonZeroU32;

/// How many distinct failure causes are counted by name; the rest are counted together.
const FAILURE_CAUSES: usize = 20;
const OTHER_CAUSES: &str = "other failures";

/// One round's share of a run: measured iterations after warmup, `concurrency` at a time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RoundPlan {
    pub iterations: u64,
    pub warmup: u64,
    pub concurrency: NonZeroU32,
    pub iteration_timeout: Duration,
    /// Keep per-iteration timelines (`--trace`).
    pub timelines: bool,
    /// Open loop: iterations start on this schedule (seeded), `concurrency` capping how many
    /// run at once; latencies are also measured from each intended start.
    pub arrivals: Option<(crate::scenario::Arrivals, u64)>,
}

/// Client side, open loop: the intended start to the actual start (queueing when the target
/// cannot keep up).
pub(crate) const CLIENT_START_DELAY: &str = "client.start_delay";
/// Client side, open loop: the intended start to the first delta (or to the iteration's end
/// when there is none), free of coordinated omission.
pub(crate) const CLIENT_FROM_INTENDED: &str = "client.first_delta_from_intended";

/// Hands out iteration indices with their intended start times, in order.
struct Schedule {
    origin: Instant,
    next: u64,
    offset: Duration,
    per_second: f64,
    poisson: bool,
    rng: rand::rngs::SmallRng,
}

impl Schedule {
    fn new(arrivals: crate::scenario::Arrivals, seed: u64) -> Self {
        use rand::SeedableRng;
        Self {
            origin: Instant::now(),
            next: 0,
            offset: Duration::ZERO,
            per_second: arrivals.per_second,
            poisson: arrivals.poisson,
            rng: rand::rngs::SmallRng::seed_from_u64(seed),
        }
    }

    fn take(&mut self) -> (u64, Instant) {
        use rand_distr::Distribution;
        let index = self.next;
        let at = self.origin + self.offset;
        let gap = if self.poisson {
            rand_distr::Exp::new(self.per_second)
                .map(|exp| exp.sample(&mut self.rng))
                .unwrap_or(1.0 / self.per_second)
        } else {
            1.0 / self.per_second
        };
        self.offset += Duration::from_secs_f64(gap.clamp(0.0, 3600.0));
        self.next += 1;
        (index, at)
    }
}

/// What a run measured.
#[derive(Debug, Clone, Default)]
pub(crate) struct RunOutcome {
    /// The round's number in the run (1-based; 0 when the caller does not number rounds).
    pub round: u32,
    pub recorder: Recorder,
    /// Kept timelines, when the plan asked for them.
    pub timelines: TimelineKeeper,
    /// Measured (non-warmup) iterations run.
    pub iterations: u64,
    /// Failed measured iterations by kind.
    pub failures: BTreeMap<String, u64>,
    /// Failed iterations (measured or warmup) per distinct cause, the message without its
    /// iteration number; at most [`FAILURE_CAUSES`] named, the rest under "other failures".
    pub failure_causes: BTreeMap<String, u64>,
    /// Failed warmup iterations (not counted in `failures`).
    pub warmup_failures: u64,
    /// From the start of the first measured iteration to the end of the last.
    pub measured_wall_time: Duration,
    pub total_wall_time: Duration,
}

impl RunOutcome {
    pub(crate) fn failed_iterations(&self) -> u64 {
        self.failures.values().sum()
    }
}

fn count_cause(causes: &mut BTreeMap<String, u64>, cause: String, n: u64) {
    let key = if causes.contains_key(&cause) || causes.len() < FAILURE_CAUSES {
        cause
    } else {
        OTHER_CAUSES.to_owned()
    };
    *causes.entry(key).or_default() += n;
}

struct WorkerResult {
    failures: BTreeMap<String, u64>,
    causes: BTreeMap<String, u64>,
    warmup_failures: u64,
    /// Measured iterations that ran to an end (success, failure or deadline).
    measured: u64,
    last_end: Option<Instant>,
}

/// What workers record into, a few of them sharing each (one per core): histograms and, with
/// `--trace`, the kept timelines (so only iterations that enter a shard's keep set are
/// copied, under the lock the recording takes anyway).
#[derive(Default)]
struct Shard {
    recorder: Recorder,
    timelines: TimelineKeeper,
}

/// Runs `plan` against `target`. `expected` lists the metrics a successful iteration produces;
/// a failed iteration counts an error against each one it did not produce (of those its
/// [`Cohort`](crate::model::metric::Cohort), when the target names one, covers).
///
/// A stop request ([`crate::sys::shutdown`]) ends the round early: no new iteration starts, and the
/// ones in flight are cancelled (dropped, like at their deadline) and not counted.
pub(crate) async fn run<T: Target>(
    target: Arc<T>,
    plan: RoundPlan,
    expected: Vec<String>,
    progress: ProgressBar,
) -> RunOutcome {
    // Both are bounded by scenario validation; saturating all the same.
    let total = plan.warmup.saturating_add(plan.iterations);
    let next = Arc::new(AtomicU64::new(0));
    let schedule = plan
        .arrivals
        .map(|(arrivals, seed)| Arc::new(Mutex::new(Schedule::new(arrivals, seed))));
    let measured_start: Arc<OnceLock<Instant>> = Arc::default();
    let expected: Arc<Vec<String>> = Arc::new(expected);
    let started = Instant::now();
    if plan.warmup > 0 {
        progress.set_message("warmup");
    } else {
        progress.set_message("measuring");
    }
    let workers = (plan.concurrency.get() as u64).min(total);
    let shard_count = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(workers as usize)
        .max(1);
    let shards: Arc<Vec<Mutex<Shard>>> =
        Arc::new((0..shard_count).map(|_| Mutex::default()).collect());
    let mut handles = Vec::with_capacity(workers as usize);
    for worker in 0..workers {
        let shards = Arc::clone(&shards);
        let target = Arc::clone(&target);
        let next = Arc::clone(&next);
        let schedule = schedule.clone();
        let measured_start = Arc::clone(&measured_start);
        let expected = Arc::clone(&expected);
        let progress = progress.clone();
        handles.push(tokio::spawn(async move {
            let shard = &shards[worker as usize % shards.len()];
            let mut out = WorkerResult {
                failures: BTreeMap::new(),
                causes: BTreeMap::new(),
                warmup_failures: 0,
                measured: 0,
                last_end: None,
            };
            loop {
                if crate::sys::shutdown::requested().is_some() {
                    break;
                }
                let (index, intended) = match &schedule {
                    Some(schedule) => {
                        let (index, at) = schedule
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .take();
                        (index, Some(at))
                    }
                    None => (next.fetch_add(1, Ordering::Relaxed), None),
                };
                if index >= total {
                    break;
                }
                if let Some(at) = intended {
                    tokio::select! {
                        () = tokio::time::sleep_until(at.into()) => {}
                        () = crate::sys::shutdown::wait() => break,
                    }
                }
                let began = Instant::now();
                let measured = index >= plan.warmup;
                if measured {
                    measured_start.get_or_init(Instant::now);
                    if index == plan.warmup {
                        progress.set_message("measuring");
                    }
                }
                let iteration =
                    tokio::time::timeout(plan.iteration_timeout, target.run_iteration(index));
                let report = tokio::select! {
                    finished = iteration => match finished {
                        Ok(report) => report,
                        Err(_) => crate::target::IterationReport {
                            failure: Some(IterationFailure::Deadline(plan.iteration_timeout)),
                            ..Default::default()
                        },
                    },
                    // Cancelled by a stop request: dropped, not counted.
                    () = crate::sys::shutdown::wait() => break,
                };
                let mut report = report;
                if let Some(at) = intended {
                    let delay = began.saturating_duration_since(at);
                    let until = report
                        .samples
                        .iter()
                        .find(|s| s.metric.ends_with("client.turn_first_delta"))
                        .or_else(|| {
                            report
                                .samples
                                .iter()
                                .find(|s| s.metric == "client.iteration")
                        })
                        .map(|s| s.duration);
                    report
                        .samples
                        .push(Sample::client(CLIENT_START_DELAY, delay));
                    if let Some(until) = until {
                        report
                            .samples
                            .push(Sample::client(CLIENT_FROM_INTENDED, delay + until));
                    }
                }
                out.last_end = Some(Instant::now());
                progress.inc(1);
                if let Some(failure) = &report.failure {
                    count_cause(&mut out.causes, failure.to_string(), 1);
                }
                // Asked for every failed iteration, so the target can forget it.
                let cohort = report
                    .failure
                    .as_ref()
                    .and_then(|_| target.cohort_of(index));
                if !measured {
                    out.warmup_failures += u64::from(report.failure.is_some());
                    continue;
                }
                out.measured += 1;
                let mut state = shard.lock().unwrap_or_else(PoisonError::into_inner);
                if plan.timelines {
                    state.timelines.offer(index, &report);
                }
                let recorder = &mut state.recorder;
                recorder.record_offsets(report.started_at, &report.samples);
                for sample in &report.samples {
                    recorder.record(sample);
                }
                for overhead in &report.overheads {
                    recorder.record_overhead(overhead);
                }
                if report.failure.is_none() {
                    recorder.record_critical_path(&report.samples);
                }
                if let Some(failure) = &report.failure {
                    *out.failures.entry(failure.kind().to_owned()).or_default() += 1;
                    let produced: HashSet<&str> =
                        report.samples.iter().map(|s| s.metric.as_str()).collect();
                    for metric in expected.iter().filter(|m| {
                        !produced.contains(m.as_str()) && cohort.is_none_or(|c| c.covers(m))
                    }) {
                        recorder.record_error(metric);
                    }
                }
            }
            out
        }));
    }
    let mut outcome = RunOutcome {
        ..RunOutcome::default()
    };
    let mut last_end = None;
    for handle in handles {
        // A worker only ends by finishing its loop; a panic in a target is a harness bug and
        // is propagated as one.
        let worker = match handle.await {
            Ok(worker) => worker,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        };
        for (kind, n) in worker.failures {
            *outcome.failures.entry(kind).or_default() += n;
        }
        outcome.warmup_failures += worker.warmup_failures;
        for (cause, n) in worker.causes {
            count_cause(&mut outcome.failure_causes, cause, n);
        }
        outcome.iterations += worker.measured;
        last_end = last_end.max(worker.last_end);
    }
    for shard in shards.iter() {
        let mut state = shard.lock().unwrap_or_else(PoisonError::into_inner);
        outcome.recorder.merge(&state.recorder);
        outcome
            .timelines
            .merge(std::mem::take(&mut state.timelines));
    }
    outcome.total_wall_time = started.elapsed();
    outcome.measured_wall_time = match (measured_start.get(), last_end) {
        (Some(start), Some(end)) => end.saturating_duration_since(*start),
        _ => Duration::ZERO,
    };
    outcome
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::measure::recorder::MetricKey;
    use crate::model::metric::Cohort;
    use crate::target::fake::FakeTarget;

    fn plan(iterations: u64, warmup: u64, concurrency: u32, timeout_ms: u64) -> RoundPlan {
        RoundPlan {
            timelines: false,
            arrivals: None,
            iterations,
            warmup,
            concurrency: NonZeroU32::new(concurrency).unwrap(),
            iteration_timeout: Duration::from_millis(timeout_ms),
        }
    }

    fn fake() -> FakeTarget {
        FakeTarget {
            phases: vec![("turn_ttft".into(), None, Duration::from_millis(10))],
            step: Duration::from_millis(1),
            ..FakeTarget::default()
        }
    }

    fn key(metric: &str) -> MetricKey {
        MetricKey {
            metric: metric.into(),
            status: None,
        }
    }

    #[tokio::test]
    async fn warmup_is_excluded_and_counts_are_exact() {
        let outcome = run(
            Arc::new(fake()),
            plan(50, 7, 4, 1000),
            vec!["turn_ttft".into()],
            ProgressBar::hidden(),
        )
        .await;
        let series = &outcome.recorder.series[&key("turn_ttft")];
        assert_eq!(series.histogram.count(), 50);
        // Durations are 10 + (index % 10) ms: min 10, max 19 over any 50 consecutive indices.
        assert_eq!(series.histogram.min(), Duration::from_millis(10));
        assert_eq!(series.histogram.max().as_millis(), 19);
        assert_eq!(outcome.failed_iterations(), 0);
    }

    #[tokio::test]
    async fn hung_iterations_hit_the_deadline_and_count_as_errors() {
        let target = FakeTarget {
            hang_every: Some(5),
            ..fake()
        };
        let started = Instant::now();
        let outcome = run(
            Arc::new(target),
            plan(20, 0, 2, 50),
            vec!["turn_ttft".into(), "other".into()],
            ProgressBar::hidden(),
        )
        .await;
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the run did not hang"
        );
        // Indices 0, 5, 10, 15 hang.
        assert_eq!(outcome.failures.get("deadline"), Some(&4));
        assert_eq!(
            outcome.recorder.series[&key("turn_ttft")].histogram.count(),
            16
        );
        assert_eq!(outcome.recorder.errors.get("turn_ttft"), Some(&4));
        assert_eq!(outcome.recorder.errors.get("other"), Some(&4));
        assert_eq!(outcome.failure_causes.values().sum::<u64>(), 4);
        assert_eq!(
            outcome.failure_causes.len(),
            1,
            "one cause, counted: {:?}",
            outcome.failure_causes
        );
    }

    /// Even iterations are cold threads, odd ones warm; every third fails.
    #[derive(Default)]
    struct CohortTarget {
        asked: Mutex<Vec<u64>>,
    }

    impl Target for CohortTarget {
        async fn run_iteration(&self, index: u64) -> crate::target::IterationReport {
            let cohort = if index.is_multiple_of(2) {
                Cohort::Cold
            } else {
                Cohort::Warm
            };
            if index.is_multiple_of(3) {
                return crate::target::IterationReport {
                    failure: Some(IterationFailure::Turn("fake".into())),
                    ..Default::default()
                };
            }
            crate::target::IterationReport {
                samples: vec![crate::model::sample::Sample::client(
                    &cohort.name("turn_ttft"),
                    Duration::from_millis(5),
                )],
                ..Default::default()
            }
        }

        fn info(&self) -> crate::target::TargetInfo {
            crate::target::TargetInfo {
                name: "cohorts".into(),
                version: "0".into(),
            }
        }

        fn cohort_of(&self, index: u64) -> Option<Cohort> {
            self.asked.lock().unwrap().push(index);
            Some(if index.is_multiple_of(2) {
                Cohort::Cold
            } else {
                Cohort::Warm
            })
        }
    }

    #[tokio::test]
    async fn failures_count_against_their_own_cohort_only() {
        let target = Arc::new(CohortTarget::default());
        // Warmup 0..2, measured 2..14.
        let outcome = run(
            Arc::clone(&target),
            plan(12, 2, 1, 1000),
            vec!["cold.turn_ttft".into(), "warm.turn_ttft".into()],
            ProgressBar::hidden(),
        )
        .await;
        // Measured failures: 3, 6, 9, 12 → warm 3 and 9, cold 6 and 12.
        assert_eq!(outcome.recorder.errors.get("cold.turn_ttft"), Some(&2));
        assert_eq!(outcome.recorder.errors.get("warm.turn_ttft"), Some(&2));
        // Asked for every failure, the warmup one (0) included, so it can be forgotten.
        assert_eq!(*target.asked.lock().unwrap(), [0, 3, 6, 9, 12]);
    }

    #[tokio::test]
    async fn failures_in_warmup_are_kept_apart() {
        let target = FakeTarget {
            fail_every: Some(3),
            ..fake()
        };
        let outcome = run(
            Arc::new(target),
            plan(9, 3, 1, 1000),
            vec!["turn_ttft".into()],
            ProgressBar::hidden(),
        )
        .await;
        // Warmup indices 0..3 (0 fails); measured 3..12 (3, 6, 9 fail).
        assert_eq!(outcome.warmup_failures, 1);
        assert_eq!(outcome.failures.get("turn"), Some(&3));
        assert_eq!(
            outcome.recorder.series[&key("turn_ttft")].histogram.count(),
            6
        );
    }
}
