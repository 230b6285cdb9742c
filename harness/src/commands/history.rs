//! Which release made startup slower: `phasebench history` runs a scenario on each codex release
//! of a list, each paired with a reference release in alternating rounds (an `ab` per release,
//! so drift of the machine cancels), and tabulates every phase's p50 across releases;
//! `phasebench bisect` finds the first candidate (a release, or a binary of a list) where a
//! metric regressed, each step a paired `ab` verdict, and names the phase that moved.
//! Releases that lack some telemetry show what they export, plus the harness's own timings.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::commands::ab::{AbRequest, Side, run_ab};
use crate::commands::compare::ComparisonOutputs;
use crate::error::Error;
use crate::scenario::Override;
use crate::stats::compare::{Comparison, Regression, RowVerdict};

/// A thing to run: a codex release or binary, as the overrides that select it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Candidate {
    pub label: String,
    #[serde(skip)]
    pub overrides: Vec<Override>,
}

impl Candidate {
    pub(crate) fn release(version: &str) -> Self {
        Self {
            label: version.to_owned(),
            overrides: vec![Override {
                key: "codex.version".into(),
                value: format!("\"{version}\""),
            }],
        }
    }

    /// Any scenario key at a value (`KEY=VALUE`).
    pub(crate) fn setting(key: &str, value: &str) -> Self {
        Self {
            label: format!("{key}={value}"),
            overrides: vec![Override {
                key: key.to_owned(),
                value: value.to_owned(),
            }],
        }
    }

    pub(crate) fn binary(path: &Path) -> Self {
        Self {
            label: path.display().to_string(),
            overrides: vec![Override {
                key: "codex.binary".into(),
                value: format!("{:?}", path.display().to_string()),
            }],
        }
    }
}

/// What `history` and `bisect` share: the scenario, the pairing, where rounds go.
#[derive(Debug, Clone)]
pub(crate) struct Pairing {
    pub scenario: PathBuf,
    pub overrides: Vec<Override>,
    /// Rounds per side of each `ab` (the first look, when sequential).
    pub rounds: u32,
    /// Add round pairs until each pairing decides.
    pub until_decided: Option<crate::commands::ab::UntilDecided>,
    /// Refuse a design under which the pairings cannot judge (bisect), rather than tabulate
    /// what they measured (history).
    pub require_judgeable: bool,
    /// Each `ab`'s rounds go to `out_dir/<n>-<label>/`.
    pub out_dir: PathBuf,
    /// This phasebench binary (it runs every side).
    pub phasebench: PathBuf,
    /// Where a line per pairing and per round goes.
    pub progress: crate::commands::Progress,
}

impl Pairing {
    /// B against A over paired rounds.
    fn ab(&self, step: usize, a: &Candidate, b: &Candidate) -> Result<Comparison, Error> {
        let safe = crate::sys::path_safe(&b.label);
        let request = AbRequest {
            scenario: self.scenario.clone(),
            overrides: self.overrides.clone(),
            a: Side {
                binary: self.phasebench.clone(),
                overrides: a.overrides.clone(),
            },
            b: Side {
                binary: self.phasebench.clone(),
                overrides: b.overrides.clone(),
            },
            rounds: self.rounds,
            auto_rounds: false,
            out_dir: Some(self.out_dir.join(format!("{step:02}-{safe}"))),
            comparison: ComparisonOutputs {
                allow_mismatch: true,
                ..ComparisonOutputs::default()
            },
            progress: self.progress.clone(),
            rejudge: None,
            expected_rounds: None,
            shard: None,
            until_decided: self.until_decided.clone(),
            require_judgeable: self.require_judgeable,
        };
        self.progress
            .say(|| format!("{} against {}", b.label, a.label));
        run_ab(&request).map(|(comparison, _)| comparison)
    }
}

/// One release's row of the history: each series' p50 with the reference's beside it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct HistoryCell {
    #[serde(flatten)]
    pub key: crate::model::series::MetricKey,
    pub reference_ms: f64,
    pub value_ms: f64,
    pub delta_pct: Option<f64>,
    pub verdict: RowVerdict,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct HistoryRow {
    pub candidate: String,
    pub cells: Vec<HistoryCell>,
}

/// The per-phase table across candidates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct History {
    pub reference: String,
    pub rows: Vec<HistoryRow>,
}

/// Runs each candidate paired with `reference`.
pub(crate) fn history(
    pairing: &Pairing,
    reference: &Candidate,
    candidates: &[Candidate],
) -> Result<History, Error> {
    let mut rows = Vec::with_capacity(candidates.len());
    for (step, candidate) in candidates.iter().enumerate() {
        let comparison = pairing.ab(step + 1, reference, candidate)?;
        let cells = comparison
            .rows
            .iter()
            .filter(|r| r.statistic == "p50")
            .map(|r| HistoryCell {
                key: r.key(),
                reference_ms: r.baseline_ms,
                value_ms: r.current_ms,
                delta_pct: r.delta_pct,
                verdict: r.verdict,
            })
            .collect();
        rows.push(HistoryRow {
            candidate: candidate.label.clone(),
            cells,
        });
        if crate::sys::shutdown::requested().is_some() {
            break;
        }
    }
    Ok(History {
        reference: reference.label.clone(),
        rows,
    })
}

/// The columns the history table shows (the issue's phases and the client's timings).
pub(crate) const HISTORY_COLUMNS: [&str; 7] = [
    "websocket_connect",
    "startup_prewarm_websocket_warmup",
    "startup_prewarm_build_tools",
    "startup_prewarm_total",
    "turn_ttft",
    "client.process_answer",
    "client.process_exit",
];

/// The history as a terminal table: one row per candidate, p50 ms per column, `-` where the
/// release does not export the phase.
pub(crate) fn history_table(history: &History) -> String {
    let mut out = format!("p50 ms; each release paired with {}\n", history.reference);
    let mut header = vec!["release".to_owned()];
    header.extend(HISTORY_COLUMNS.iter().map(|c| (*c).to_owned()));
    let mut lines = vec![header];
    for row in &history.rows {
        let mut line = vec![crate::report::printable(&row.candidate)];
        for column in HISTORY_COLUMNS {
            let cell = row.cells.iter().find(|c| c.key.metric == column);
            line.push(cell.map_or("-".into(), |c| format!("{:.1}", c.value_ms)));
        }
        lines.push(line);
    }
    let widths: Vec<usize> = (0..lines[0].len())
        .map(|i| {
            lines
                .iter()
                .map(|l| l[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for line in lines {
        let cells: Vec<String> = line
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:>w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// One bisect step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct BisectStep {
    pub good: String,
    pub tested: String,
    pub regressed: bool,
    /// The pairing could not say whether the metric regressed (within its round pairs).
    pub undecided: bool,
    /// Round pairs the step ran.
    pub rounds: usize,
    /// The metric's p50 change, ms.
    pub delta_ms: Option<f64>,
}

/// Where a regression began.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Bisection {
    pub metric: String,
    pub steps: Vec<BisectStep>,
    /// The last good and first bad candidates (None when the bad end did not regress).
    pub last_good: Option<String>,
    pub first_bad: Option<String>,
    /// The line naming the phase that moved between them.
    pub moved: Option<String>,
    /// Why the bisect stopped without an answer: a step it could not decide.
    pub undecided: Option<String>,
}

/// The phase whose p50 moved most between two candidates (in the metric's direction), or the
/// part of the first token's wait that did.
fn moved_phase(comparison: &Comparison, metric: &str) -> Option<String> {
    use crate::stats::compare::Source;
    let changed = comparison
        .rows
        .iter()
        .find(|r| r.metric == metric && r.statistic == "p50")?;
    let delta = changed.delta_ms;
    let phase = comparison.moved_most(changed, |r| {
        r.metric != metric
            && !r.metric.ends_with("_total")
            && !r.metric.starts_with("client.")
            && !r.metric.starts_with("mock.")
    });
    if let Some(phase) = phase {
        return Some(format!(
            "{metric} p50 {delta:+.3} ms; the phase that moved most: {} p50 {:+.3} ms ({})",
            phase.metric,
            phase.delta_ms,
            phase.verdict.as_str()
        ));
    }
    Some(match comparison.source_of(changed) {
        Some(Source::Part(part, place)) => format!(
            "{metric} p50 {delta:+.3} ms; no startup phase moved by half of it; the change \
             is in {place}: {} p50 {:+.3} ms ({})",
            part.metric,
            part.delta_ms,
            part.verdict.as_str()
        ),
        _ => format!(
            "{metric} p50 {delta:+.3} ms; no startup phase moved by half of it (the change \
             is outside the startup phases: the model response, or process start for the \
             client timings)"
        ),
    })
}

/// Finds the first of `candidates` (ordered, the first good, the last bad) where `metric`
/// regressed against the last good one. The ends are checked first: if the last does not
/// regress against the first, there is nothing to find.
pub(crate) fn bisect(
    pairing: &Pairing,
    candidates: &[Candidate],
    metric: &str,
) -> Result<Bisection, Error> {
    let mut steps: Vec<BisectStep> = Vec::new();
    let mut out = Bisection {
        metric: metric.to_owned(),
        steps: Vec::new(),
        last_good: None,
        first_bad: None,
        moved: None,
        undecided: None,
    };
    if candidates.len() < 2 {
        return Ok(out);
    }
    let (mut good, mut bad) = (0, candidates.len() - 1);
    let test = |steps: &mut Vec<BisectStep>, good: usize, tested: usize| {
        let comparison = pairing.ab(steps.len() + 1, &candidates[good], &candidates[tested])?;
        let (step, delta_ms) = comparison.p50_regression(metric);
        steps.push(BisectStep {
            good: candidates[good].label.clone(),
            tested: candidates[tested].label.clone(),
            regressed: step == Regression::Regressed,
            undecided: step == Regression::Undecided,
            rounds: comparison.current_rounds,
            delta_ms,
        });
        Ok::<_, Error>((step, comparison))
    };
    let undecided = |steps: &[BisectStep]| {
        let last = steps.last().expect("a step ran");
        format!(
            "could not decide whether {} regressed against {} in {} round pairs: raise \
             --max-rounds or --iterations",
            last.tested, last.good, last.rounds
        )
    };
    let (ends, mut last) = test(&mut steps, good, bad)?;
    let mut last_pair = (good, bad);
    if ends == Regression::Undecided {
        out.undecided = Some(undecided(&steps));
    }
    if ends == Regression::Regressed {
        while bad - good > 1 {
            let mid = good + (bad - good) / 2;
            let (step, comparison) = test(&mut steps, good, mid)?;
            match step {
                Regression::Regressed => {
                    bad = mid;
                    last = comparison;
                    last_pair = (good, bad);
                }
                Regression::RuledOut => good = mid,
                Regression::Undecided => {
                    out.undecided = Some(undecided(&steps));
                    out.steps = steps;
                    return Ok(out);
                }
            }
            if crate::sys::shutdown::requested().is_some() {
                break;
            }
        }
        // The phase that moved is read off the final pair: judge it if no step did.
        if last_pair != (good, bad) {
            let (_, comparison) = test(&mut steps, good, bad)?;
            last = comparison;
        }
        out.last_good = Some(candidates[good].label.clone());
        out.first_bad = Some(candidates[bad].label.clone());
        out.moved = moved_phase(&last, metric);
    }
    out.steps = steps;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_select_a_release_or_a_binary() {
        let r = Candidate::release("0.169.0");
        assert_eq!(r.overrides[0].key, "codex.version");
        assert_eq!(r.overrides[0].value, "\"0.169.0\"");
        let b = Candidate::binary(Path::new("/opt/codex \"x\""));
        assert_eq!(b.overrides[0].value, r#""/opt/codex \"x\"""#);
        let parsed = crate::scenario::Scenario::parse(
            "name = \"t\"\ntarget = \"codex-exec\"\n",
            "s.toml",
            &b.overrides,
        )
        .unwrap();
        let crate::scenario::TargetKind::CodexExec(spec) = parsed.target else {
            panic!()
        };
        assert_eq!(spec.binary.unwrap(), Path::new("/opt/codex \"x\""));
    }
}
