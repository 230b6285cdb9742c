//! Baselines as histories of runs. One run cannot show how much a whole run moves from one
//! time to the next (the disk, the machine, a noisy neighbour), and that movement is what made
//! single-run baselines cry wolf. So `phasebench baseline save RESULT...` appends runs to
//! `DIR/<name>.json`, keeping the newest [`DEFAULT_KEEP`] (or `--keep N`), and comparisons
//! judge the current run against the spread of that history.
//!
//! The file is untrusted like any result: every run in it is checked as a result file is
//! ([`super::load`]); a run that fails the check is named and left out (never silently used),
//! and saving rewrites the history without it. A baseline may also be a single result file
//! (a history of one run, which can never give a `regressed` verdict).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::sys::output::{Destination, OutputError};

use super::load::{LoadedResult, ResultFileError, parse_result, read_bounded};
use super::{SCHEMA_VERSION, json_bytes};

/// Runs a baseline keeps unless told otherwise.
pub(crate) const DEFAULT_KEEP: usize = 20;
/// The most runs a baseline may keep.
pub(crate) const MAX_KEEP: usize = 500;
const KIND: &str = "phasebench-baseline";

/// The file: its runs, oldest first.
#[derive(Debug, Serialize)]
struct BaselineFile {
    schema_version: u32,
    kind: String,
    keep: usize,
    runs: Vec<serde_json::Value>,
}

/// The file as read: each run kept as its raw JSON text until it is decoded on its own (a
/// bad run is left out, not the history), never as a tree of JSON values.
#[derive(Debug, Deserialize)]
struct StoredBaseline<'a> {
    schema_version: u32,
    keep: usize,
    #[serde(borrow)]
    runs: Vec<&'a serde_json::value::RawValue>,
}

/// Only the `kind` of a JSON document, the rest skipped.
#[derive(Debug, Deserialize)]
struct Kind {
    #[serde(default)]
    kind: Option<String>,
}

/// A baseline read back.
#[derive(Debug)]
pub(crate) struct Baseline {
    /// Oldest first.
    pub runs: Vec<LoadedResult>,
    /// Runs left out, each with why.
    pub skipped: Vec<String>,
    pub keep: usize,
}

/// Why a baseline could not be read or saved.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error(transparent)]
    File(#[from] ResultFileError),
    #[error("{path}: no usable run in this baseline ({})", skipped.join("; "))]
    Empty { path: String, skipped: Vec<String> },
    #[error(
        "invalid baseline name {0:?}: use letters, digits, '.', '_' and '-' (no path), \
         e.g. --name ci-startup-websocket"
    )]
    Name(String),
    #[error("--keep must be between 1 and {MAX_KEEP}")]
    Keep,
    #[error(
        "{path} holds runs of another scenario, target or concurrency ({difference}); \
         save under another --name"
    )]
    Mismatch { path: String, difference: String },
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// Reads a baseline: a history file, or a single result file.
pub(crate) fn load(path: &Path) -> Result<Baseline, BaselineError> {
    let shown = path.display().to_string();
    let text = read_bounded(path)?;
    let json_error = |e: serde_json::Error| ResultFileError::Json {
        path: shown.clone(),
        message: e.to_string(),
        line: e.line(),
        column: e.column(),
    };
    let kind: Kind = serde_json::from_str(&text).map_err(json_error)?;
    if kind.kind.as_deref() != Some(KIND) {
        let run = parse_result(&text, &shown)?;
        return Ok(Baseline {
            runs: vec![run],
            skipped: Vec::new(),
            keep: DEFAULT_KEEP,
        });
    }
    let file: StoredBaseline = serde_json::from_str(&text).map_err(json_error)?;
    if file.schema_version != SCHEMA_VERSION {
        return Err(ResultFileError::Version {
            path: shown,
            found: file.schema_version.to_string(),
        }
        .into());
    }
    let total = file.runs.len();
    let mut runs = Vec::new();
    let mut skipped = Vec::new();
    for (i, run) in file.runs.into_iter().enumerate() {
        let name = format!("{shown} (run {} of {total})", i + 1);
        match parse_result(run.get(), &name) {
            Ok(r) => runs.push(r),
            Err(e) => skipped.push(format!("left out: {e}")),
        }
    }
    if runs.is_empty() {
        return Err(BaselineError::Empty {
            path: path.display().to_string(),
            skipped,
        });
    }
    Ok(Baseline {
        runs,
        skipped,
        keep: file.keep.clamp(1, MAX_KEEP),
    })
}

/// A baseline name must name a file in the baselines directory, nothing else.
pub(crate) fn check_name(name: &str) -> Result<(), BaselineError> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(BaselineError::Name(name.to_owned()))
    }
}

/// What `baseline save` did.
#[derive(Debug)]
pub struct Saved {
    pub path: PathBuf,
    pub added: usize,
    /// Runs already in the baseline (the same file saved twice).
    pub duplicates: usize,
    pub kept: usize,
    pub dropped: usize,
    pub skipped: Vec<String>,
}

/// Adds `results` (checked) to the baseline `dir/name.json`, keeping the newest `keep` runs.
/// `name` defaults to the first result's scenario name.
pub(crate) fn save(
    results: &[LoadedResult],
    dir: &Path,
    name: Option<&str>,
    keep: Option<usize>,
) -> Result<Saved, BaselineError> {
    let first = results.first().expect("at least one result");
    let name = name.unwrap_or(&first.summary.scenario.name);
    check_name(name)?;
    if keep.is_some_and(|k| k == 0 || k > MAX_KEEP) {
        return Err(BaselineError::Keep);
    }
    let path = dir.join(format!("{name}.json"));
    std::fs::create_dir_all(dir).map_err(|source| OutputError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    // Held from the read to the rename: concurrent saves to one history (parallel CI jobs)
    // queue, and each keeps the runs the others added.
    let _lock = crate::sys::lock::lock_for_update(&path)?;
    let (mut runs, skipped, stored_keep) = if path.exists() {
        let existing = load(&path)?;
        (existing.runs, existing.skipped, Some(existing.keep))
    } else {
        (Vec::new(), Vec::new(), None)
    };
    let keep = keep.or(stored_keep).unwrap_or(DEFAULT_KEEP);
    let reference = runs.first().unwrap_or(first);
    for r in results {
        if let Some(difference) = super::differences(r, reference).into_iter().next() {
            return Err(BaselineError::Mismatch {
                path: path.display().to_string(),
                difference,
            });
        }
    }
    let serialize = |r: &LoadedResult| serde_json::to_value(&r.summary).expect("serializes");
    let mut values: Vec<serde_json::Value> = runs.drain(..).map(|r| serialize(&r)).collect();
    let (mut added, mut duplicates) = (0, 0);
    for r in results {
        let v = serialize(r);
        if values.contains(&v) {
            duplicates += 1;
        } else {
            values.push(v);
            added += 1;
        }
    }
    let dropped = values.len().saturating_sub(keep);
    values.drain(..dropped);
    let kept = values.len();
    let file = BaselineFile {
        schema_version: SCHEMA_VERSION,
        kind: KIND.to_owned(),
        keep,
        runs: values,
    };
    Destination::from(path.as_path()).write(&json_bytes(&file))?;
    Ok(Saved {
        path,
        added,
        duplicates,
        kept,
        dropped,
        skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_confined_to_the_directory() {
        for bad in [
            "../../x",
            "/abs/x",
            "a/b",
            "",
            ".hidden",
            "x\u{1b}[31m",
            "a b",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        for good in ["ci-startup-websocket", "codex_0.169.0", "A1"] {
            assert!(check_name(good).is_ok(), "{good:?}");
        }
    }
}
