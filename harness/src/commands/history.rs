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
use crate::report::pairings::moved_phase;
use crate::scenario::Override;
use crate::stats::compare::{Comparison, Regression};
use crate::stats::pairings::{BisectStep, Bisection, History, HistoryCell, HistoryRow};

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
            auto_rounds: None,
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
