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

use crate::measure::meter::{Meter, RoundStage};
use crate::measure::recorder::Recorder;
use crate::measure::timeline::TimelineKeeper;
use crate::model::sample::Sample;
use crate::target::{IterationFailure, IterationReport, Target};
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

/// What one worker saw: its failures by kind and cause, and how far it got.
#[derive(Default)]
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

/// What every worker of a round shares.
struct RoundShared<T> {
    target: Arc<T>,
    plan: RoundPlan,
    /// Warmup and measured iterations.
    total: u64,
    expected: Vec<String>,
    meter: Meter,
    /// The next iteration, closed loop.
    next: AtomicU64,
    /// The arrival schedule, open loop.
    schedule: Option<Mutex<Schedule>>,
    /// When the first measured iteration started.
    measured_start: OnceLock<Instant>,
    shards: Vec<Mutex<Shard>>,
}

/// Runs `plan` against `target`. `expected` lists the metrics a successful iteration produces;
/// a failed iteration counts an error against each one it did not produce (of those its
/// [`Cohort`](crate::model::metric::Cohort), when the target names one, covers).
///
/// A stop request ([`crate::sys::shutdown`]) ends the round early: no new iteration starts, and the
/// ones in flight are cancelled (dropped, like at their deadline) and not counted.
pub(crate) async fn measure_round<T: Target>(
    target: Arc<T>,
    plan: RoundPlan,
    expected: Vec<String>,
    meter: Meter,
) -> RunOutcome {
    // Both are bounded by scenario validation; saturating all the same.
    let total = plan.warmup.saturating_add(plan.iterations);
    let started = Instant::now();
    meter.stage(if plan.warmup > 0 {
        RoundStage::Warmup
    } else {
        RoundStage::Measuring
    });
    let workers = (plan.concurrency.get() as u64).min(total);
    let shard_count = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(workers as usize)
        .max(1);
    let round = Arc::new(RoundShared {
        target,
        plan,
        total,
        expected,
        meter,
        next: AtomicU64::new(0),
        schedule: plan
            .arrivals
            .map(|(arrivals, seed)| Mutex::new(Schedule::new(arrivals, seed))),
        measured_start: OnceLock::new(),
        shards: (0..shard_count).map(|_| Mutex::default()).collect(),
    });
    let handles: Vec<_> = (0..workers)
        .map(|worker| tokio::spawn(work(Arc::clone(&round), worker)))
        .collect();
    let mut outcome = RunOutcome::default();
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
    for shard in &round.shards {
        let mut state = shard.lock().unwrap_or_else(PoisonError::into_inner);
        outcome.recorder.merge(&state.recorder);
        outcome
            .timelines
            .merge(std::mem::take(&mut state.timelines));
    }
    outcome.total_wall_time = started.elapsed();
    outcome.measured_wall_time = match (round.measured_start.get(), last_end) {
        (Some(start), Some(end)) => end.saturating_duration_since(*start),
        _ => Duration::ZERO,
    };
    outcome
}

/// One worker: takes iterations until the round has run them all (or a stop), runs each under
/// its deadline, and records the measured ones into its shard.
async fn work<T: Target>(round: Arc<RoundShared<T>>, worker: u64) -> WorkerResult {
    let shard = &round.shards[worker as usize % round.shards.len()];
    let mut out = WorkerResult::default();
    loop {
        if crate::sys::shutdown::requested().is_some() {
            break;
        }
        let Some((index, intended)) = round.take_next() else {
            break;
        };
        if let Some(at) = intended {
            tokio::select! {
                () = tokio::time::sleep_until(at.into()) => {}
                () = crate::sys::shutdown::wait() => break,
            }
        }
        let began = Instant::now();
        let measured = index >= round.plan.warmup;
        if measured {
            round.measured_start.get_or_init(Instant::now);
            if index == round.plan.warmup {
                round.meter.stage(RoundStage::Measuring);
            }
        }
        // Cancelled by a stop request: dropped, not counted.
        let Some(mut report) = round.run_iteration(index).await else {
            break;
        };
        if let Some(at) = intended {
            add_open_loop_samples(&mut report, began.saturating_duration_since(at));
        }
        out.last_end = Some(Instant::now());
        if measured {
            round.meter.advance();
        }
        if let Some(failure) = &report.failure {
            count_cause(&mut out.causes, failure.to_string(), 1);
        }
        // Asked for every failed iteration, so the target can forget it.
        let cohort = report
            .failure
            .as_ref()
            .and_then(|_| round.target.cohort_of(index));
        if !measured {
            out.warmup_failures += u64::from(report.failure.is_some());
            continue;
        }
        out.measured += 1;
        if let Some(failure) = &report.failure {
            *out.failures.entry(failure.kind().to_owned()).or_default() += 1;
        }
        round.record(shard, index, &report, cohort);
    }
    out
}

impl<T: Target> RoundShared<T> {
    /// The next iteration and, open loop, when it was meant to start; None when the round has
    /// handed out all of them.
    fn take_next(&self) -> Option<(u64, Option<Instant>)> {
        let (index, intended) = match &self.schedule {
            Some(schedule) => {
                let (index, at) = schedule
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take();
                (index, Some(at))
            }
            None => (self.next.fetch_add(1, Ordering::Relaxed), None),
        };
        (index < self.total).then_some((index, intended))
    }

    /// Iteration `index` run to its end or its deadline; None when a stop request cancelled it.
    async fn run_iteration(&self, index: u64) -> Option<IterationReport> {
        let timeout = self.plan.iteration_timeout;
        let iteration = tokio::time::timeout(timeout, self.target.run_iteration(index));
        tokio::select! {
            finished = iteration => Some(finished.unwrap_or_else(|_| IterationReport {
                failure: Some(IterationFailure::Deadline(timeout)),
                ..Default::default()
            })),
            () = crate::sys::shutdown::wait() => None,
        }
    }

    /// A measured iteration's samples, overheads, critical path and (for a failed one) the
    /// errors of the metrics it did not produce, recorded into `shard`.
    fn record(
        &self,
        shard: &Mutex<Shard>,
        index: u64,
        report: &IterationReport,
        cohort: Option<crate::model::metric::Cohort>,
    ) {
        let mut state = shard.lock().unwrap_or_else(PoisonError::into_inner);
        if self.plan.timelines {
            state.timelines.offer(index, report);
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
            return;
        }
        let produced: HashSet<&str> = report
            .samples
            .iter()
            .map(|s| s.key.metric.as_str())
            .collect();
        for metric in self
            .expected
            .iter()
            .filter(|m| !produced.contains(m.as_str()) && cohort.is_none_or(|c| c.covers(m)))
        {
            recorder.record_error(metric);
        }
    }
}

/// Open loop: the wait from the intended start (`delay`) as a sample, and the first delta
/// (or the iteration's end) measured from the intended start, free of coordinated omission.
fn add_open_loop_samples(report: &mut IterationReport, delay: Duration) {
    let until = report
        .samples
        .iter()
        .find(|s| s.key.metric.ends_with("client.turn_first_delta"))
        .or_else(|| {
            report
                .samples
                .iter()
                .find(|s| s.key.metric == "client.iteration")
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

#[cfg(test)]
mod tests {

    use super::*;
    use crate::model::metric::Cohort;
    use crate::model::series::MetricKey;
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
        let watched = Arc::new(crate::measure::meter::tests::Recorded::default());
        let outcome = measure_round(
            Arc::new(fake()),
            plan(50, 7, 4, 1000),
            vec!["turn_ttft".into()],
            Meter::to(Arc::clone(&watched)),
        )
        .await;
        // The meter hears of the warmup first, then of each measured iteration once.
        let told = watched.0.lock().unwrap().clone();
        assert_eq!(told[0], "warmup");
        assert_eq!(told.iter().filter(|t| *t == "measuring").count(), 1);
        assert_eq!(told.iter().filter(|t| *t == "+1").count(), 50);
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
        let outcome = measure_round(
            Arc::new(target),
            plan(20, 0, 2, 50),
            vec!["turn_ttft".into(), "other".into()],
            Meter::off(),
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

        fn info(&self) -> crate::model::target::TargetInfo {
            crate::model::target::TargetInfo {
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
        let outcome = measure_round(
            Arc::clone(&target),
            plan(12, 2, 1, 1000),
            vec!["cold.turn_ttft".into(), "warm.turn_ttft".into()],
            Meter::off(),
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
        let outcome = measure_round(
            Arc::new(target),
            plan(9, 3, 1, 1000),
            vec!["turn_ttft".into()],
            Meter::off(),
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
