//! Reading a result file back: the trust boundary. A result file may come from another
//! machine, another version, or an editor; a gate that believed it could be told anything.
//! So: the file's size, each histogram's size and header are bounded before anything is
//! allocated for them; names are short and free of control characters (they end up in
//! terminal tables); the pooled rows and their percentiles are re-derived from the rounds'
//! histograms and must agree with what the file says; the stored policy is re-validated.
//! Anything else is refused, naming the file and the field. (Budgets are judged again from
//! the histograms wherever a verdict depends on them: see `stats::budget::rejudge`.) The
//! rounds are checked against the plan and the run's counts too (round numbers, iterations).
//!
//! Why one long file: it is one boundary, and a reviewer asking "what does phasebench believe
//! of a file?" should find every check, in the order they run, in one place.

use std::path::Path;

use super::{DecodedRound, MetricRow, RunSummary, SCHEMA_VERSION, merge_rounds};
use crate::model::series::{DurationHistogram, MetricKey, Series};
use crate::sys::BoundedReadError;

/// Largest result file read (a 1,000-round result of 40 series is ~10 MB).
pub(crate) const MAX_RESULT_BYTES: u64 = 64 << 20;
/// Structural bounds: rounds per result, series per round or pooled, characters per name.
const MAX_ROUNDS: usize = 1000;
const MAX_SERIES: usize = 2000;
const MAX_NAME: usize = 200;

/// Why a result file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ResultFileError {
    #[error("cannot read result file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is larger than {MAX_RESULT_BYTES} bytes: not a phasebench result")]
    TooLarge { path: String },
    #[error("{path} is not a phasebench result: {message} (line {line}, column {column})")]
    Json {
        path: String,
        message: String,
        line: usize,
        column: usize,
    },
    #[error(
        "{path} has schema_version {found}; this phasebench reads version {SCHEMA_VERSION}: \
         re-run the scenario with this version to compare"
    )]
    Version { path: String, found: String },
    #[error("{path}: metric {metric:?} (status {status:?}) has a corrupt histogram: {message}")]
    Histogram {
        path: String,
        metric: String,
        status: Option<String>,
        message: String,
    },
    #[error("{path} is inconsistent (edited or corrupt): {message}")]
    Inconsistent { path: String, message: String },
}

/// A result file read back, with every histogram decoded.
#[derive(Debug, Clone)]
pub struct LoadedResult {
    pub path: String,
    /// With its rows and budgets as re-derived (equal to the file's, or it was refused).
    pub summary: RunSummary,
    /// Each round's series.
    pub rounds: Vec<DecodedRound>,
    /// The rounds merged.
    pub pooled: DecodedRound,
}

impl LoadedResult {
    /// The summary row of one (metric, status) series.
    pub fn row(&self, key: &MetricKey) -> Option<&MetricRow> {
        self.summary
            .metrics
            .iter()
            .find(|r| r.metric == key.metric && r.status == key.status)
    }
}

/// Reads and checks a result file.
pub fn load_result(path: &Path) -> Result<LoadedResult, ResultFileError> {
    let shown = path.display().to_string();
    let text = read_bounded(path)?;
    parse_result(&text, &shown)
}

/// Reads a file of at most [`MAX_RESULT_BYTES`].
pub(crate) fn read_bounded(path: &Path) -> Result<String, ResultFileError> {
    let shown = || path.display().to_string();
    let read = |source| ResultFileError::Read {
        path: shown(),
        source,
    };
    let bytes = crate::sys::read_bounded(path, MAX_RESULT_BYTES).map_err(|e| match e {
        BoundedReadError::Io(source) => read(source),
        BoundedReadError::TooLarge => ResultFileError::TooLarge { path: shown() },
        e @ BoundedReadError::NotAFile(_) => read(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            e.to_string(),
        )),
    })?;
    String::from_utf8(bytes)
        .map_err(|e| read(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))
}

fn json_error(path: &str) -> impl Fn(serde_json::Error) -> ResultFileError + '_ {
    move |e| ResultFileError::Json {
        path: path.to_owned(),
        message: e.to_string(),
        line: e.line(),
        column: e.column(),
    }
}

/// [`load_result`] on text already read; `path` names it in errors. Decoded straight into
/// the summary's types: a field phasebench does not know is skipped without being kept (a
/// file padded with megabytes of unknown arrays costs its size once, not a tree of JSON
/// values twenty times larger).
pub(crate) fn parse_result(text: &str, path: &str) -> Result<LoadedResult, ResultFileError> {
    // Check the version before the shape, so an old or future file says so.
    match peek_version(text).map_err(json_error(path))? {
        Some(v) if v == u64::from(SCHEMA_VERSION) => {}
        found => {
            return Err(ResultFileError::Version {
                path: path.to_owned(),
                found: found.map_or("none".to_owned(), |v| v.to_string()),
            });
        }
    }
    let summary: RunSummary = serde_json::from_str(text).map_err(json_error(path))?;
    check(summary, path)
}

/// The top-level `schema_version` of a JSON object when it is a whole number; nothing else
/// of the document is kept.
pub(super) fn peek_version(text: &str) -> Result<Option<u64>, serde_json::Error> {
    #[derive(serde::Deserialize)]
    struct Peek {
        #[serde(default, deserialize_with = "whole_number")]
        schema_version: Option<u64>,
    }
    fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        // Anything else (a string, a float, an array) reads as no version at all.
        Ok(serde_json::Value::deserialize(d)
            .ok()
            .and_then(|v| v.as_u64()))
    }
    use serde::Deserialize;
    serde_json::from_str::<Peek>(text).map(|p| p.schema_version)
}

/// The rounds against the plan and the run's counts: round numbers within the plan and
/// each once, a whole run with all its rounds, every round's failures within its
/// iterations, and the run's succeeded and failed iterations the sum of its rounds' (a count
/// edited to 999,999 would otherwise claim millions of iterations a second).
fn check_plan(summary: &RunSummary, path: &str) -> Result<(), ResultFileError> {
    let planned = summary.plan.rounds;
    let mut seen = std::collections::BTreeSet::new();
    let mut iterations: u64 = 0;
    for round in &summary.rounds {
        if round.round == 0 || round.round > planned {
            return Err(inconsistent(
                path,
                format!("it holds round {} of a {planned}-round plan", round.round),
            ));
        }
        if !seen.insert(round.round) {
            return Err(inconsistent(
                path,
                format!("round {} is there twice", round.round),
            ));
        }
        if round.failed_iterations > round.iterations {
            return Err(inconsistent(
                path,
                format!(
                    "round {} failed {} of its {} iterations",
                    round.round, round.failed_iterations, round.iterations
                ),
            ));
        }
        iterations = iterations.saturating_add(round.iterations);
    }
    let run = &summary.run;
    if run
        .succeeded_iterations
        .saturating_add(run.failed_iterations)
        != iterations
    {
        return Err(inconsistent(
            path,
            format!(
                "its rounds ran {iterations} iterations but run says {} succeeded and {} failed",
                run.succeeded_iterations, run.failed_iterations
            ),
        ));
    }
    let whole = summary.plan.shard.is_none() && summary.merged_from.is_empty() && !summary.partial;
    if whole && summary.rounds.len() as u64 != u64::from(planned) {
        return Err(inconsistent(
            path,
            format!(
                "it has {} of its plan's {planned} rounds but is not marked partial",
                summary.rounds.len()
            ),
        ));
    }
    Ok(())
}

fn inconsistent(path: &str, message: String) -> ResultFileError {
    ResultFileError::Inconsistent {
        path: path.to_owned(),
        message,
    }
}

/// A name that is safe to print: short, no control characters.
fn check_name(path: &str, what: &str, name: &str) -> Result<(), ResultFileError> {
    if name.is_empty() || name.len() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(inconsistent(
            path,
            format!(
                "{what} {:?} is empty, too long or holds control characters",
                name.escape_debug().to_string()
            ),
        ));
    }
    Ok(())
}

fn decode(
    path: &str,
    metric: &str,
    status: &Option<String>,
    text: &str,
    count: u64,
) -> Result<DurationHistogram, ResultFileError> {
    let fail = |message: String| ResultFileError::Histogram {
        path: path.to_owned(),
        metric: metric.to_owned(),
        status: status.clone(),
        message,
    };
    let h = DurationHistogram::decode(text).map_err(|e| fail(e.0))?;
    if h.count() != count {
        return Err(fail(format!(
            "it holds {} samples but count says {count}",
            h.count()
        )));
    }
    Ok(h)
}

/// Whether a stored number agrees with the re-derived one (printed to the microsecond).
fn agrees(stored: Option<f64>, derived: Option<f64>) -> bool {
    match (stored, derived) {
        (Some(a), Some(b)) => (a - b).abs() <= 0.0015 + b.abs() * 1e-9,
        (None, None) => true,
        _ => false,
    }
}

fn check(mut summary: RunSummary, path: &str) -> Result<LoadedResult, ResultFileError> {
    check_name(path, "the scenario name", &summary.scenario.name)?;
    check_name(path, "the target name", &summary.target.name)?;
    if summary.rounds.len() > MAX_ROUNDS || summary.metrics.len() > MAX_SERIES {
        return Err(inconsistent(
            path,
            format!(
                "{} rounds and {} rows exceed what a run produces ({MAX_ROUNDS}, {MAX_SERIES})",
                summary.rounds.len(),
                summary.metrics.len()
            ),
        ));
    }
    if summary.rounds.is_empty() {
        return Err(inconsistent(path, "it has no rounds".into()));
    }
    // Each shard of a merged result ran at least one of its rounds.
    if summary.merged_from.len() > summary.rounds.len() {
        return Err(inconsistent(
            path,
            format!(
                "it says it was merged from {} shards but has {} rounds",
                summary.merged_from.len(),
                summary.rounds.len()
            ),
        ));
    }
    summary
        .policy
        .validate()
        .map_err(|m| inconsistent(path, format!("its policy is invalid: {m}")))?;
    if !(0.0..=1.0).contains(&summary.plan.max_failure_ratio) {
        return Err(inconsistent(
            path,
            "plan.max_failure_ratio is outside [0, 1]".into(),
        ));
    }

    check_plan(&summary, path)?;

    // Rounds: every histogram decoded, bounded, its count checked.
    let mut rounds = Vec::with_capacity(summary.rounds.len());
    let mut failed = 0u64;
    for round in &summary.rounds {
        if round.series.len() > MAX_SERIES {
            return Err(inconsistent(
                path,
                format!("round {} has too many series", round.round),
            ));
        }
        failed = failed.saturating_add(round.failed_iterations);
        let mut decoded = DecodedRound::new();
        for s in &round.series {
            check_name(path, "a metric name", &s.metric)?;
            if let Some(status) = &s.status {
                check_name(path, "a status", status)?;
            }
            let histogram = decode(path, &s.metric, &s.status, &s.histogram, s.count)?;
            let key = s.key();
            let series = Series {
                histogram,
                resolution: s.resolution,
            };
            if decoded.insert(key, series).is_some() {
                return Err(inconsistent(
                    path,
                    format!("round {} lists {} twice", round.round, s.metric),
                ));
            }
        }
        rounds.push(decoded);
    }
    if failed != summary.run.failed_iterations {
        return Err(inconsistent(
            path,
            format!(
                "its rounds failed {failed} iterations but run.failed_iterations says {}",
                summary.run.failed_iterations
            ),
        ));
    }
    let pooled = merge_rounds(&rounds);

    // Pooled rows: each series row must be the merge of the rounds, its numbers re-derived.
    let mut seen = 0usize;
    for row in &mut summary.metrics {
        check_name(path, "a metric name", &row.metric)?;
        let key = row.key();
        let label = format!("{}[{}]", row.metric, row.status.as_deref().unwrap_or("-"));
        match pooled.get(&key) {
            None if row.count == 0 && row.histogram.is_none() => continue,
            None => {
                return Err(inconsistent(
                    path,
                    format!("row {label} has {} samples that no round holds", row.count),
                ));
            }
            Some(series) => {
                seen += 1;
                if let Some(text) = &row.histogram {
                    let stored = decode(path, &row.metric, &row.status, text, row.count)?;
                    if stored != series.histogram {
                        return Err(inconsistent(
                            path,
                            format!("row {label}'s histogram is not the merge of its rounds"),
                        ));
                    }
                }
                let derived =
                    super::summarize::metric_row(&row.metric, row.status.as_deref(), series);
                let pairs = [
                    ("count", Some(row.count as f64), Some(derived.count as f64)),
                    ("min_ms", row.min_ms, derived.min_ms),
                    ("p50_ms", row.p50_ms, derived.p50_ms),
                    ("p90_ms", row.p90_ms, derived.p90_ms),
                    ("p99_ms", row.p99_ms, derived.p99_ms),
                    ("max_ms", row.max_ms, derived.max_ms),
                ];
                for (field, stored, derived) in pairs {
                    if !agrees(stored, derived) {
                        return Err(inconsistent(
                            path,
                            format!(
                                "row {label} says {field} {stored:?} but its histograms give {derived:?}"
                            ),
                        ));
                    }
                }
                if row.resolution != Some(series.resolution) {
                    return Err(inconsistent(
                        path,
                        format!("row {label}'s resolution differs from its rounds'"),
                    ));
                }
                // Mean and spread are taken from the histograms, never from the file; the
                // errors (failed iterations without this metric) cannot be re-derived, but
                // cannot exceed the iterations that failed.
                let errors = row.errors;
                if errors > summary.run.failed_iterations {
                    return Err(inconsistent(
                        path,
                        format!(
                            "row {label} counts {errors} errors but only {} iterations failed",
                            summary.run.failed_iterations
                        ),
                    ));
                }
                *row = MetricRow { errors, ..derived };
            }
        }
    }
    if seen != pooled.len() {
        return Err(inconsistent(
            path,
            format!(
                "its rounds hold {} series but only {seen} have a row (rows were deleted?)",
                pooled.len()
            ),
        ));
    }

    Ok(LoadedResult {
        path: path.to_owned(),
        summary,
        rounds,
        pooled,
    })
}
