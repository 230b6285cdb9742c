//! The commands over many runs: `sweep`, `merge`, `rank`, `history` and `bisect`, each a
//! result (or several) turned into terminal output and an exit code, like the rest of `main`.

use std::process::ExitCode;

use crate::error::GateVerdict;

use super::args::{BisectArgs, HistoryArgs, MergeArgs, RankArgs, SweepArgs};
use super::{
    EXIT_FAILURE, EXIT_INVALID_INPUT, EXIT_PASS, Screen, block_on, exit, releases_between,
    report_error, this_binary, write_json,
};

/// Most round pairs a bisect step adds before it calls the step undecided.
const BISECT_MAX_ROUNDS: u32 = 30;

/// `phasebench sweep`: every point run, the table shown; exit 3 when a point mostly failed.
pub(super) fn sweep(args: SweepArgs) -> ExitCode {
    let quiet = args.quiet;
    let request = args.into_request();
    let terminal = Screen::new(request.csv.iter().chain(&request.json).chain(&request.html));
    match block_on(crate::commands::sweep::execute(&request)) {
        Ok(Ok(report)) => {
            if !quiet {
                terminal.show(&crate::report::sweep::table(&report));
            }
            if let Some(signal) = crate::sys::shutdown::requested() {
                return exit(GateVerdict::Interrupted(signal));
            }
            if report.failed_points.is_empty() {
                ExitCode::from(EXIT_PASS)
            } else {
                eprintln!(
                    "error: points {:?} mostly failed (beyond [run] max_failure_ratio)",
                    report.failed_points
                );
                ExitCode::from(EXIT_FAILURE)
            }
        }
        Ok(Err(e)) => report_error(&e),
        Err(code) => code,
    }
}

/// `phasebench merge`: the shards joined into one result file.
pub(super) fn merge(args: MergeArgs) -> ExitCode {
    let MergeArgs {
        shards,
        json,
        partial,
    } = args;
    let mut loaded = Vec::new();
    for path in &shards {
        match crate::results::load_result(path) {
            Ok(result) => loaded.push(result),
            Err(e) => return report_error(&e.into()),
        }
    }
    match crate::commands::merge::merge(&loaded, partial) {
        Ok(merged) => match write_json(Some(&json), &merged) {
            Ok(()) => {
                eprintln!(
                    "merged {} shards: {} rounds, {} iterations",
                    loaded.len(),
                    merged.rounds.len(),
                    merged.run.succeeded_iterations + merged.run.failed_iterations
                );
                ExitCode::from(EXIT_PASS)
            }
            Err(code) => code,
        },
        Err(e) => report_error(&e.into()),
    }
}

/// `phasebench rank`: results (or pairings) ranked per metric, fastest first.
pub(super) fn rank(args: RankArgs) -> ExitCode {
    let request = crate::commands::rank::RankRequest {
        results: args.results,
        metrics: args.metrics,
        statistic: args.stat,
    };
    let rankings = match crate::commands::rank::execute(&request) {
        Ok(rankings) => rankings,
        Err(e) => return report_error(&e),
    };
    let terminal = Screen::new(args.json.iter());
    for ranking in &rankings {
        for line in crate::stats::rank::describe(ranking) {
            terminal.show(&format!("{}\n", crate::report::printable(&line)));
        }
    }
    if let Err(code) = write_json(args.json.as_ref(), &rankings) {
        return code;
    }
    ExitCode::from(EXIT_PASS)
}

/// `phasebench history`: each release paired with the reference, the table of p50s.
pub(super) fn history(args: HistoryArgs) -> ExitCode {
    let HistoryArgs {
        scenario,
        versions,
        every,
        reference,
        pairing,
    } = args;
    let this = match this_binary() {
        Ok(path) => path,
        Err(code) => return code,
    };
    let list = match versions.split_once("..") {
        Some((from, to)) => match releases_between(from, to, every) {
            Ok(list) => list,
            Err(code) => return code,
        },
        None => versions.split(',').map(|v| v.trim().to_owned()).collect(),
    };
    let Some(reference) = reference.or_else(|| list.last().cloned()) else {
        eprintln!("error: --versions names no release");
        return ExitCode::from(EXIT_INVALID_INPUT);
    };
    // Every release checked before anything is installed or run.
    if let Some(bad) = list
        .iter()
        .chain(std::iter::once(&reference))
        .find(|v| !crate::scenario::codex::valid_version(v))
    {
        eprintln!("error: --versions: {bad:?} is not a release (MAJOR.MINOR.PATCH, e.g. 0.169.0)");
        return ExitCode::from(EXIT_INVALID_INPUT);
    }
    let json = pairing.json.clone();
    let pairing = pairing.pairing(scenario, this, crate::commands::ab::StopWhen::Gate, None);
    let candidates: Vec<_> = list
        .iter()
        .map(|v| crate::commands::history::Candidate::release(v))
        .collect();
    let reference = crate::commands::history::Candidate::release(&reference);
    match crate::commands::history::history(&pairing, &reference, &candidates) {
        Ok(history) => {
            let terminal = Screen::new(json.iter());
            terminal.show(&crate::report::pairings::history_table(&history));
            if let Err(code) = write_json(json.as_ref(), &history) {
                return code;
            }
            ExitCode::from(EXIT_PASS)
        }
        Err(e) => report_error(&e),
    }
}

/// `phasebench bisect`: the first candidate where the metric regressed, step by step; exit 4 when a step stayed undecided.
pub(super) fn bisect(args: BisectArgs) -> ExitCode {
    let BisectArgs {
        scenario,
        good,
        bad,
        binaries,
        axis,
        metric,
        pairing,
    } = args;
    let this = match this_binary() {
        Ok(path) => path,
        Err(code) => return code,
    };
    let candidates: Vec<crate::commands::history::Candidate> = match (good, bad) {
        _ if axis.is_some() => {
            let axis = axis.expect("checked");
            // Positions in the labels: values may repeat.
            axis.values
                .iter()
                .enumerate()
                .map(|(i, v)| crate::commands::history::Candidate {
                    label: format!("#{} {}={v}", i + 1, axis.key),
                    ..crate::commands::history::Candidate::setting(&axis.key, v)
                })
                .collect()
        }
        (Some(good), Some(bad)) => match releases_between(&good, &bad, 1) {
            Ok(list) => list
                .iter()
                .map(|v| crate::commands::history::Candidate::release(v))
                .collect(),
            Err(code) => return code,
        },
        _ => binaries
            .iter()
            .map(|b| crate::commands::history::Candidate::binary(b))
            .collect(),
    };
    if candidates.len() < 2 {
        eprintln!("error: bisect needs at least two candidates (--good/--bad or --binaries)");
        return ExitCode::from(EXIT_INVALID_INPUT);
    }
    let json = pairing.json.clone();
    let mut pairing = pairing.pairing(
        scenario,
        this,
        crate::commands::ab::StopWhen::Metric(metric.clone()),
        Some(BISECT_MAX_ROUNDS),
    );
    // Bisect asks about one statistic: it is the only primary one (one test, no
    // family to correct for), and the design must be able to judge it.
    pairing.overrides.push(crate::scenario::Override {
        key: "gate.primary".into(),
        value: format!("[{:?}]", format!("{metric}.p50")),
    });
    pairing.require_judgeable = true;
    match crate::commands::history::bisect(&pairing, &candidates, &metric) {
        Ok(found) => {
            let terminal = Screen::new(json.iter());
            for s in &found.steps {
                terminal.show(&format!(
                    "{} against {}: {}{}, {} round pairs\n",
                    crate::report::printable(&s.tested),
                    crate::report::printable(&s.good),
                    if s.regressed {
                        "regressed"
                    } else if s.undecided {
                        "undecided"
                    } else {
                        "not regressed"
                    },
                    s.delta_ms
                        .map_or(String::new(), |d| format!(" ({d:+.3} ms)")),
                    s.rounds
                ));
            }
            match (&found.last_good, &found.first_bad) {
                _ if found.undecided.is_some() => {}
                (Some(good), Some(bad)) => terminal.show(&format!(
                    "first bad: {} (last good: {}){}\n",
                    crate::report::printable(bad),
                    crate::report::printable(good),
                    found
                        .moved
                        .as_ref()
                        .map_or(String::new(), |m| format!("; {m}"))
                )),
                _ => terminal.show(&format!(
                    "{} did not regress between the ends: nothing to bisect\n",
                    found.metric
                )),
            }
            if let Err(code) = write_json(json.as_ref(), &found) {
                return code;
            }
            if let Some(why) = &found.undecided {
                eprintln!("undecided: {}", crate::report::printable(why));
                return ExitCode::from(crate::error::exit_code::UNDECIDED);
            }
            ExitCode::from(EXIT_PASS)
        }
        Err(e) => report_error(&e),
    }
}
