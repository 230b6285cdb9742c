//! `phasebench rank`: several results (or a sweep's points, or A/B pairings) ranked per
//! metric, fastest first, each named by what set it apart: a sweep's points by their
//! parameter values (`backend.delays.ws_handshake=40ms`, from the sweep's manifest), other
//! files by their path.

use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::results::LoadedResult;
use crate::stats::rank::{Paired, Ranking, rank, rank_paired};

/// Why a ranking was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RankError {
    #[error("--stat {0:?}: use p50, p90, p95 or p99")]
    Statistic(String),
    #[error("rank either pairings (ab/history directories) or result files, not both")]
    Mixed,
}

/// What to rank.
#[derive(Debug, Clone)]
pub(crate) struct RankRequest {
    /// Result files, sweep directories, or A/B pairing directories.
    pub(crate) results: Vec<PathBuf>,
    /// Metrics to rank on; empty: turn_ttft, startup_prewarm_total, thread_start_total.
    pub(crate) metrics: Vec<String>,
    /// p50, p90, p95 or p99.
    pub(crate) statistic: String,
}

/// A directory an `ab --out-dir` or `history` kept its round pairs in.
fn is_pairing(path: &Path) -> bool {
    path.join("a-round01.json").is_file()
}

/// One ranking per metric.
pub(crate) fn execute(request: &RankRequest) -> Result<Vec<Ranking>, Error> {
    let Some(q) = crate::stats::compare::QUANTILES
        .iter()
        .find(|(name, _)| *name == request.statistic)
        .map(|(_, q)| *q)
    else {
        return Err(RankError::Statistic(request.statistic.clone()).into());
    };
    let mut pair_dirs = Vec::new();
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for path in &request.results {
        if is_pairing(path) {
            pair_dirs.push(path.clone());
        } else if path.is_dir() {
            let mut inner: Vec<PathBuf> = std::fs::read_dir(path)
                .map(|e| {
                    e.flatten()
                        .map(|e| e.path())
                        .filter(|p| is_pairing(p))
                        .collect()
                })
                .unwrap_or_default();
            inner.sort();
            pair_dirs.extend(inner);
            let labels = crate::commands::sweep::point_labels(path);
            for file in crate::commands::sweep::point_files(path) {
                let label = file
                    .file_name()
                    .and_then(|name| labels.get(name.to_string_lossy().as_ref()))
                    .cloned()
                    .unwrap_or_else(|| file.display().to_string());
                files.push((label, file));
            }
        } else {
            files.push((path.display().to_string(), path.clone()));
        }
    }
    if !pair_dirs.is_empty() && !files.is_empty() {
        return Err(RankError::Mixed.into());
    }
    let mut pairs = Vec::new();
    for dir in &pair_dirs {
        let (a, b) = crate::commands::ab::kept_rounds(dir)?;
        pairs.push((dir.display().to_string(), a, b));
    }
    let mut loaded: Vec<(String, LoadedResult)> = Vec::new();
    for (label, file) in files {
        loaded.push((label, crate::results::load_result(&file)?));
    }
    let metrics = if request.metrics.is_empty() {
        ["turn_ttft", "startup_prewarm_total", "thread_start_total"]
            .map(String::from)
            .to_vec()
    } else {
        request.metrics.clone()
    };
    let refs: Vec<(String, &LoadedResult)> = loaded.iter().map(|(l, r)| (l.clone(), r)).collect();
    let paired: Vec<Paired<'_>> = pairs
        .iter()
        .map(|(label, a, b)| Paired {
            label: label.clone(),
            reference: a,
            candidate: b,
        })
        .collect();
    let statistic = (request.statistic.as_str(), q);
    Ok(metrics
        .iter()
        .map(|m| {
            if paired.is_empty() {
                rank(&refs, m, statistic)
            } else {
                rank_paired(&paired, m, statistic)
            }
        })
        .collect())
}
