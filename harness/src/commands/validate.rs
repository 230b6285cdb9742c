//! `phasebench validate`: scenario files loaded and checked as a run would, without running.

use std::path::Path;

use crate::scenario::{Scenario, ScenarioError};

/// Validates scenario files; returns one result per file.
pub fn execute(paths: &[impl AsRef<Path>]) -> Vec<Result<Scenario, ScenarioError>> {
    paths
        .iter()
        .map(|p| Scenario::load(p.as_ref(), &[]))
        .collect()
}
