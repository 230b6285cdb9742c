//! `phasebench sweep`: one scenario run at every point of a parameter grid, so "how does TTFT
//! grow with handshake delay?" is one command instead of a shell loop. Each `--param KEY=VALUES`
//! is an axis (a comma list, or a range `FROM..TO:STEP` of durations or counts); several make
//! a grid, run point by point in order. Every point is a whole run (its own rounds, result file
//! `point-NN.json` in the output directory); the sweep's table has the parameter columns and,
//! per point, each series' count and p50/p90/p99.

use std::path::PathBuf;

use crate::error::Error;
use crate::results;
use crate::results::sweep::{SweepReport, SweepRow};
use crate::scenario::{Override, Scenario};
use crate::sys::output::Destination;
use mock_backend::{format_duration, parse_duration};

mod manifest;
use manifest::{MANIFEST, Manifest, ManifestPoint};
pub(crate) use manifest::{point_files, point_labels};

/// Most points a sweep may run.
pub(crate) const MAX_POINTS: usize = 1000;

/// Why a sweep's parameters are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SweepError {
    #[error("--param {0:?} is not KEY=V1,V2,... or KEY=FROM..TO:STEP")]
    Syntax(String),
    #[error("--param {key}: {message}")]
    Range { key: String, message: String },
    #[error("the grid has {0} points; at most {MAX_POINTS}")]
    TooLarge(usize),
    #[error("cannot create the output directory {path}: {message}")]
    OutDir { path: String, message: String },
}

/// One axis of the grid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Axis {
    pub key: String,
    pub values: Vec<String>,
}

/// Splits on commas outside brackets, braces and quotes (values may be inline tables).
fn split_values(text: &str) -> Vec<String> {
    let (mut depth, mut quoted) = (0i32, false);
    let mut out = vec![String::new()];
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            '[' | '{' if !quoted => depth += 1,
            ']' | '}' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                out.push(String::new());
                continue;
            }
            _ => {}
        }
        out.last_mut().expect("one at least").push(c);
    }
    out.into_iter().map(|v| v.trim().to_owned()).collect()
}

/// `FROM..TO:STEP` of durations (`0ms..80ms:20ms`) or integers (`1..16:4`), TO included.
fn range(key: &str, text: &str) -> Option<Result<Vec<String>, SweepError>> {
    let (span, step) = text.split_once(':')?;
    let (from, to) = span.split_once("..")?;
    let fail = |message: String| SweepError::Range {
        key: key.to_owned(),
        message,
    };
    let expand = |from: u128, to: u128, step: u128| -> Result<Vec<u128>, SweepError> {
        if step == 0 || from > to {
            return Err(fail(format!("{text:?} needs FROM ≤ TO and a STEP above 0")));
        }
        let count = (to - from) / step + 1;
        if count > MAX_POINTS as u128 {
            return Err(SweepError::TooLarge(count as usize));
        }
        Ok((0..count).map(|i| from + i * step).collect())
    };
    if let (Ok(a), Ok(b), Ok(s)) = (from.parse::<u64>(), to.parse::<u64>(), step.parse::<u64>()) {
        return Some(
            expand(a.into(), b.into(), s.into()).map(|v| v.iter().map(u128::to_string).collect()),
        );
    }
    Some(
        match (
            parse_duration(from),
            parse_duration(to),
            parse_duration(step),
        ) {
            (Ok(a), Ok(b), Ok(s)) => expand(a.as_nanos(), b.as_nanos(), s.as_nanos()).map(|v| {
                v.into_iter()
                    .map(|n| format_duration(std::time::Duration::from_nanos(n as u64)))
                    .collect()
            }),
            _ => Err(fail(format!(
                "{text:?} is not a range of durations or counts (e.g. 0ms..80ms:20ms, 1..16:4)"
            ))),
        },
    )
}

impl std::str::FromStr for Axis {
    type Err = SweepError;
    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let (key, values) = spec
            .split_once('=')
            .ok_or_else(|| SweepError::Syntax(spec.to_owned()))?;
        let key = key.trim().to_owned();
        let values = match range(&key, values.trim()) {
            Some(expanded) => expanded?,
            None => split_values(values),
        };
        if key.is_empty() || values.iter().any(String::is_empty) {
            return Err(SweepError::Syntax(spec.to_owned()));
        }
        Ok(Axis { key, values })
    }
}

/// The grid's points, the first axis varying slowest.
pub(crate) fn grid(axes: &[Axis]) -> Result<Vec<Vec<(String, String)>>, SweepError> {
    let size = axes.iter().map(|a| a.values.len()).product::<usize>();
    if size > MAX_POINTS {
        return Err(SweepError::TooLarge(size));
    }
    let mut points: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for axis in axes {
        points = points
            .into_iter()
            .flat_map(|point| {
                axis.values.iter().map(move |v| {
                    let mut next = point.clone();
                    next.push((axis.key.clone(), v.clone()));
                    next
                })
            })
            .collect();
    }
    Ok(points)
}

/// What `phasebench sweep` was asked to do.
#[derive(Debug, Clone)]
pub(crate) struct SweepRequest {
    pub scenario: PathBuf,
    pub overrides: Vec<Override>,
    pub axes: Vec<Axis>,
    /// Where each point's result goes (`point-NN.json`).
    pub out_dir: PathBuf,
    pub csv: Option<Destination>,
    pub json: Option<Destination>,
    pub html: Option<Destination>,
    /// Where a line per point goes.
    pub progress: crate::commands::Progress,
    /// Told how far each point's run has got.
    pub meter: crate::measure::meter::Meter,
}

/// Runs every point; an interrupted sweep keeps the points finished.
pub(crate) async fn execute(request: &SweepRequest) -> Result<SweepReport, Error> {
    let points = grid(&request.axes)?;
    let with_point = |point: &[(String, String)]| {
        let mut overrides = request.overrides.clone();
        overrides.extend(point.iter().map(|(key, value)| Override {
            key: key.clone(),
            value: value.clone(),
        }));
        overrides
    };
    // Every point is checked before anything runs.
    let scenarios: Vec<Scenario> = points
        .iter()
        .map(|p| Scenario::load(&request.scenario, &with_point(p)))
        .collect::<Result<_, _>>()?;
    crate::sys::output::check_all(request.csv.iter().chain(&request.json).chain(&request.html))
        .map_err(Error::OutputPath)?;
    std::fs::create_dir_all(&request.out_dir).map_err(|e| SweepError::OutDir {
        path: request.out_dir.display().to_string(),
        message: e.to_string(),
    })?;
    let mut report = SweepReport {
        scenario: scenarios
            .first()
            .map_or_else(String::new, |s| s.name.clone()),
        keys: request.axes.iter().map(|a| a.key.clone()).collect(),
        points: Vec::new(),
        rows: Vec::new(),
        failed_points: Vec::new(),
    };
    let mut manifest = Manifest {
        schema_version: 1,
        keys: report.keys.clone(),
        points: Vec::new(),
    };
    for (index, (point, scenario)) in points.iter().zip(&scenarios).enumerate() {
        if crate::sys::shutdown::requested().is_some() {
            break;
        }
        request.progress.say(|| {
            let label: Vec<String> = point.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("point {}/{}: {}", index + 1, points.len(), label.join(" "))
        });
        let summary = crate::commands::run::rounds::measure_rounds(
            scenario,
            request.meter.clone(),
            false,
            None,
        )
        .await?
        .summary;
        let path = request.out_dir.join(format!("point-{:02}.json", index + 1));
        Destination::Path(path.clone()).write(&results::json_bytes(&summary))?;
        if summary.mostly_failed() {
            report.failed_points.push(index + 1);
        }
        let params: Vec<String> = point.iter().map(|(_, v)| v.clone()).collect();
        report
            .rows
            .extend(summary.metrics.iter().map(|row| SweepRow {
                params: params.clone(),
                key: row.key(),
                count: row.count,
                p50_ms: row.p50_ms,
                p90_ms: row.p90_ms,
                p99_ms: row.p99_ms,
            }));
        report.points.push(path.display().to_string());
        manifest.points.push(ManifestPoint {
            file: format!("point-{:02}.json", index + 1),
            values: point.iter().map(|(_, v)| v.clone()).collect(),
        });
        // Rewritten after every point, so an interrupted sweep's points keep their names.
        Destination::Path(request.out_dir.join(MANIFEST)).write(&results::json_bytes(&manifest))?;
    }
    if let Some(out) = &request.json {
        out.write(&results::json_bytes(&report))?;
    }
    if let Some(out) = &request.csv {
        out.write(&crate::report::sweep::csv(&report))?;
    }
    if let Some(out) = &request.html {
        out.write(
            crate::report::html::sweep(&report.keys, &crate::report::sweep::series(&report))
                .as_bytes(),
        )?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_read_lists_ranges_and_inline_tables() {
        let axis: Axis = "backend.delays.ws_handshake=0ms..80ms:20ms"
            .parse()
            .unwrap();
        assert_eq!(axis.values, ["0ms", "20ms", "40ms", "60ms", "80ms"]);
        let axis: Axis = "concurrency=1..16:5".parse().unwrap();
        assert_eq!(axis.values, ["1", "6", "11", "16"]);
        let axis: Axis = r#"tools.listing_delay={ uniform = ["1ms", "2ms"] },5ms"#
            .parse()
            .unwrap();
        assert_eq!(axis.values, [r#"{ uniform = ["1ms", "2ms"] }"#, "5ms"]);
        let axis: Axis = r#"codex.binary="/a,b/codex","/c/codex""#.parse().unwrap();
        assert_eq!(axis.values, [r#""/a,b/codex""#, r#""/c/codex""#]);
        assert!("nokey".parse::<Axis>().is_err());
        assert!("k=1,,2".parse::<Axis>().is_err());
        assert!("k=80ms..0ms:20ms".parse::<Axis>().is_err());
        assert!(matches!(
            "k=0..1000000:1".parse::<Axis>(),
            Err(SweepError::TooLarge(_))
        ));
    }

    #[test]
    fn grids_vary_the_last_axis_fastest() {
        let axes: Vec<Axis> = vec!["a=1,2".parse().unwrap(), "b=x,y,z".parse().unwrap()];
        let points = grid(&axes).unwrap();
        assert_eq!(points.len(), 6);
        assert_eq!(
            points[0],
            [("a".into(), "1".into()), ("b".into(), "x".into())]
        );
        assert_eq!(
            points[5],
            [("a".into(), "2".into()), ("b".into(), "z".into())]
        );
        let big: Vec<Axis> = vec!["a=0..99:1".parse().unwrap(), "b=0..99:1".parse().unwrap()];
        assert!(matches!(grid(&big), Err(SweepError::TooLarge(10_000))));
    }
}
