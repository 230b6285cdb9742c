//! Where iterations spent their time beyond the histograms: the critical path of each
//! successful iteration (what its prewarm finished on, what its first token waited on) and
//! where each phase sat on its iteration's timeline (for the waterfall).

use std::collections::BTreeMap;

use crate::model::critical::{Attribution, Cause};
use crate::model::series::DurationHistogram;

/// Critical paths of the successful iterations (see [`crate::model::critical`]).
#[derive(Debug, Clone, Default)]
pub(crate) struct CriticalStats {
    /// Iterations with a first token.
    pub iterations: u64,
    /// The branch each prewarm finished on.
    pub prewarm: BTreeMap<Cause, u64>,
    /// How long first tokens waited on each cause (iterations that waited on it at all).
    pub first_token: BTreeMap<Cause, DurationHistogram>,
}

impl CriticalStats {
    pub(super) fn record(&mut self, attribution: &Attribution) {
        self.iterations += 1;
        if let Some(branch) = attribution.prewarm {
            *self.prewarm.entry(branch).or_default() += 1;
        }
        for (cause, waited) in &attribution.first_token {
            self.first_token.entry(*cause).or_default().record(*waited);
        }
    }

    pub(super) fn merge(&mut self, other: &CriticalStats) {
        self.iterations += other.iterations;
        for (branch, n) in &other.prewarm {
            *self.prewarm.entry(*branch).or_default() += n;
        }
        for (cause, h) in &other.first_token {
            self.first_token.entry(*cause).or_default().merge(h);
        }
    }
}

/// Where a phase sits on its iteration's timeline.
#[derive(Debug, Clone, Default)]
pub(crate) struct PhaseOffsets {
    pub start: DurationHistogram,
    pub end: DurationHistogram,
}
