//! A deterministic target: fixed phase durations with a known per-iteration pattern, and
//! optional failures and hangs at chosen iterations. For testing the runner, statistics and
//! reports without a runtime or timing noise.

use std::time::Duration;

use super::{IterationFailure, IterationReport, Target};
use crate::model::sample::{Resolution, Sample};
use crate::model::target::TargetInfo;

/// A fake that reports `phases` every iteration; durations grow by `step × (index % 10)`.
#[derive(Debug, Clone, Default)]
pub(crate) struct FakeTarget {
    pub(crate) phases: Vec<(String, Option<String>, Duration)>,
    pub(crate) step: Duration,
    /// Iterations whose index is a multiple of this fail after reporting nothing.
    pub(crate) fail_every: Option<u64>,
    /// Iterations whose index is a multiple of this never finish.
    pub(crate) hang_every: Option<u64>,
}

impl FakeTarget {
    /// Durations reported by iteration `index` for phase `base`.
    pub(crate) fn duration_at(&self, base: Duration, index: u64) -> Duration {
        base + self.step * (index % 10) as u32
    }
}

impl Target for FakeTarget {
    async fn run_iteration(&self, index: u64) -> IterationReport {
        if self.hang_every.is_some_and(|n| index.is_multiple_of(n)) {
            std::future::pending::<()>().await;
        }
        if self.fail_every.is_some_and(|n| index.is_multiple_of(n)) {
            return IterationReport {
                failure: Some(IterationFailure::Turn(format!(
                    "fake failure at iteration {index}"
                ))),
                ..IterationReport::default()
            };
        }
        let samples = self
            .phases
            .iter()
            .map(|(metric, status, base)| Sample {
                key: crate::model::series::MetricKey {
                    metric: metric.clone(),
                    status: status.clone(),
                },
                duration: self.duration_at(*base, index),
                resolution: Resolution::Us,
                ended_at: None,
            })
            .collect();
        IterationReport {
            samples,
            ..IterationReport::default()
        }
    }

    fn info(&self) -> TargetInfo {
        TargetInfo {
            name: "fake".into(),
            version: "0".into(),
        }
    }
}
