//! Per-iteration timelines for `--trace`: each kept iteration's phases placed on the wall clock
//! (a phase ends at its telemetry record's timestamp and starts its duration earlier), with
//! the mock's server-side instants beside them.
//!
//! Kept bounded, whatever the run's length: the [`SLOWEST`] slowest iterations (the ones worth
//! opening) and a systematic sample of the rest, at most [`SAMPLED`]: every iteration at first,
//! then every second, fourth, … (when the sample is full, every other kept one is dropped and
//! the stride doubles), so the sample stays spread over the whole run. Only iterations that
//! enter one of the two sets are copied; with `--trace` off nothing here runs.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, SystemTime};

use crate::model::sample::Sample;
use crate::target::{IterationReport, Mark};

/// Slowest iterations kept.
pub(crate) const SLOWEST: usize = 20;
/// Most iterations kept by the systematic sample.
pub(crate) const SAMPLED: usize = 200;

/// One iteration on the wall clock.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Timeline {
    /// 1-based, filled in when rounds are gathered.
    pub round: u32,
    pub index: u64,
    pub started_at: SystemTime,
    /// From the start to the last end seen.
    pub length: Duration,
    /// The samples with a known end.
    pub phases: Vec<Sample>,
    pub marks: Vec<Mark>,
    pub failed: bool,
}

impl Timeline {
    /// The timeline of an iteration's report that started at `started_at` and whose last
    /// phase ended `length` later.
    fn of(
        index: u64,
        report: &IterationReport,
        started_at: SystemTime,
        length: Duration,
    ) -> Timeline {
        Timeline {
            round: 0,
            index,
            started_at,
            length,
            phases: report
                .samples
                .iter()
                .filter(|s| s.ended_at.is_some())
                .cloned()
                .collect(),
            marks: report.marks.clone(),
            failed: report.failure.is_some(),
        }
    }
}

/// The kept timelines of one worker, a round, or a run.
#[derive(Debug, Clone, Default)]
pub(crate) struct TimelineKeeper {
    /// A min-heap on length: the shortest of the slowest is the one to drop.
    slowest: BinaryHeap<Reverse<(Duration, u64, usize)>>,
    slow: Vec<Option<Timeline>>,
    sampled: Vec<Timeline>,
    stride: u64,
    offered: u64,
}

impl TimelineKeeper {
    /// Considers one measured iteration.
    pub(crate) fn offer(&mut self, index: u64, report: &IterationReport) {
        if self.stride == 0 {
            self.stride = 1;
        }
        self.offered += 1;
        let (Some(started_at), Some(end)) = (
            report.started_at,
            report.samples.iter().filter_map(|s| s.ended_at).max(),
        ) else {
            return;
        };
        let length = end.duration_since(started_at).unwrap_or_default();
        let slow_enough = self.slow_enough(length);
        let sampled = self.offered.is_multiple_of(self.stride);
        if !(slow_enough || sampled) {
            return;
        }
        let timeline = Timeline::of(index, report, started_at, length);
        if sampled {
            self.push_sampled(timeline.clone());
        }
        if slow_enough {
            self.push_slow(timeline);
        }
    }

    /// Whether an iteration of `length` belongs among the slowest kept so far.
    fn slow_enough(&self, length: Duration) -> bool {
        self.slowest.len() < SLOWEST
            || self
                .slowest
                .peek()
                .is_some_and(|Reverse((shortest, ..))| length > *shortest)
    }

    fn push_slow(&mut self, timeline: Timeline) {
        if self.slowest.len() == SLOWEST
            && let Some(Reverse((_, _, slot))) = self.slowest.pop()
        {
            self.slow[slot] = None;
        }
        let slot = match self.slow.iter().position(Option::is_none) {
            Some(free) => free,
            None => {
                self.slow.push(None);
                self.slow.len() - 1
            }
        };
        self.slowest
            .push(Reverse((timeline.length, timeline.index, slot)));
        self.slow[slot] = Some(timeline);
    }

    fn push_sampled(&mut self, timeline: Timeline) {
        self.sampled.push(timeline);
        if self.sampled.len() > SAMPLED {
            let mut keep = false;
            self.sampled.retain(|_| {
                keep = !keep;
                keep
            });
            self.stride *= 2;
        }
    }

    /// Adds another keeper's timelines (of another worker or round).
    pub(crate) fn merge(&mut self, other: TimelineKeeper) {
        for timeline in other.slow.into_iter().flatten() {
            if self.slow_enough(timeline.length) {
                self.push_slow(timeline);
            }
        }
        for timeline in other.sampled {
            self.push_sampled(timeline);
        }
        self.offered += other.offered;
        self.stride = self.stride.max(other.stride).max(1);
    }

    /// Sets the round of every timeline kept so far that has none.
    pub(crate) fn set_round(&mut self, round: u32) {
        for t in self
            .slow
            .iter_mut()
            .flatten()
            .chain(self.sampled.iter_mut())
        {
            if t.round == 0 {
                t.round = round;
            }
        }
    }

    /// The kept timelines, slowest first, each once (an iteration in both sets is one).
    pub(crate) fn into_timelines(self) -> Vec<Timeline> {
        let mut out: Vec<Timeline> = self.slow.into_iter().flatten().collect();
        out.sort_by_key(|t| std::cmp::Reverse(t.length));
        for t in self.sampled {
            if !out.iter().any(|o| o.round == t.round && o.index == t.index) {
                out.push(t);
            }
        }
        out
    }

    /// Iterations offered.
    #[cfg(test)]
    pub(crate) fn offered(&self) -> u64 {
        self.offered
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(ms: u64) -> IterationReport {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        IterationReport {
            samples: vec![Sample::client_from(
                "client.iteration",
                Duration::from_millis(ms),
                start,
            )],
            started_at: Some(start),
            ..IterationReport::default()
        }
    }

    #[test]
    fn keeps_the_slowest_and_a_spread_sample_within_bounds() {
        let mut keeper = TimelineKeeper::default();
        for i in 0..10_000u64 {
            // Iterations 0..10_000 last i % 1000 ms; the slowest are 999 ms, ten of them.
            keeper.offer(i, &report(i % 1000));
        }
        assert_eq!(keeper.offered(), 10_000);
        let kept = keeper.into_timelines();
        assert!(kept.len() <= SLOWEST + SAMPLED, "{}", kept.len());
        assert!(kept.len() >= SAMPLED / 2, "{}", kept.len());
        let slowest: Vec<u64> = kept[..SLOWEST]
            .iter()
            .map(|t| t.length.as_millis() as u64)
            .collect();
        assert!(slowest.iter().all(|ms| *ms >= 998), "{slowest:?}");
        // The sample reaches the end of the run.
        assert!(kept.iter().any(|t| t.index > 9_000));
    }

    #[test]
    fn merging_keepers_keeps_the_bounds() {
        let mut all = TimelineKeeper::default();
        for worker in 0..4u64 {
            let mut keeper = TimelineKeeper::default();
            for i in 0..1000u64 {
                keeper.offer(worker * 1000 + i, &report(worker * 1000 + i));
            }
            all.merge(keeper);
        }
        let kept = all.into_timelines();
        assert!(kept.len() <= SLOWEST + SAMPLED);
        assert_eq!(kept[0].index, 3999);
        assert_eq!(kept[SLOWEST - 1].index, 3980);
    }
}
