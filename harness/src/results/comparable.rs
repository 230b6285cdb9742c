//! The comparability rule: what makes two runs measure the same thing, checked wherever two
//! sides meet (a result and its baseline, A's round and B's, a scenario about to run and a
//! stored baseline).

use super::{LoadedResult, RunSummary};

/// What decides whether two runs measured the same thing: the scenario's content (and name,
/// to say which), the target, the concurrency. One rule for every comparison: a result
/// against a baseline run, A's round against B's, and a scenario about to run against a
/// stored baseline (whose target is not known before it starts, so not compared).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Comparable<'a> {
    pub(crate) content_hash: &'a str,
    pub(crate) scenario: &'a str,
    pub(crate) target: Option<&'a str>,
    pub(crate) concurrency: u32,
}

impl<'a> Comparable<'a> {
    pub(crate) fn of(summary: &'a RunSummary) -> Self {
        Self {
            content_hash: &summary.scenario.content_hash,
            scenario: &summary.scenario.name,
            target: Some(&summary.target.name),
            concurrency: summary.plan.concurrency,
        }
    }

    /// How `self` (the current side) differs from `baseline`, one sentence each.
    pub(crate) fn differences(&self, baseline: &Comparable<'_>) -> Vec<String> {
        let (c, b) = (self, baseline);
        let mut out = Vec::new();
        if c.content_hash != b.content_hash {
            out.push(format!(
                "the scenario content differs (hash {} vs {}; scenario {:?} vs {:?})",
                c.content_hash, b.content_hash, c.scenario, b.scenario
            ));
        }
        if let (Some(ct), Some(bt)) = (c.target, b.target)
            && ct != bt
        {
            out.push(format!("the target differs ({ct} vs {bt})"));
        }
        if c.concurrency != b.concurrency {
            out.push(format!(
                "the concurrency differs ({} vs {})",
                c.concurrency, b.concurrency
            ));
        }
        out
    }
}

/// What makes two runs measure different things (`Comparable`).
pub(crate) fn differences(current: &LoadedResult, baseline: &LoadedResult) -> Vec<String> {
    Comparable::of(&current.summary).differences(&Comparable::of(&baseline.summary))
}
