//! The commands that end in a verdict (`run`, `compare`, `ab`, `baseline save`): each builds
//! its request from the parsed arguments, calls the command, shows the report and the
//! comparison, and exits with the verdict's code.

use std::process::ExitCode;

use super::args::{AbArgs, BaselineCommand, CompareArgs, RunArgs};
use super::{
    EXIT_FAILURE, EXIT_PASS, Screen, block_on, configured, exit, explain_failure, report_error,
    stdout, this_binary, warn_skipped,
};
use crate::commands::run::RunRequest;
use crate::error::GateVerdict;
use crate::report::{Document, RunView};
use crate::sys::output::Destination;

/// `phasebench run`: the run's report, then its comparison; pushed after the files.
pub(super) fn run(args: RunArgs) -> ExitCode {
    let quiet = args.quiet;
    let (request, push) = args.into_request();
    // Credentials checked before anything runs.
    let gateway = match push
        .push
        .map(|g| configured(*g, push.ca.as_deref()))
        .transpose()
    {
        Ok(gateway) => gateway,
        Err(code) => return code,
    };
    let terminal = Screen::new(request.destinations());
    let report = match block_on(crate::commands::run::execute(&request)) {
        Ok(Ok(report)) => report,
        Ok(Err(e)) => return report_error(&e),
        Err(code) => return code,
    };
    warn_skipped(&report.skipped_baseline_runs);
    if let Some(design) = &report.design {
        eprintln!("warning: this run cannot be judged against, nor serve as a baseline: {design}");
    }
    let view = RunView {
        summary: &report.summary,
        table: report.table.clone(),
    };
    if !quiet {
        terminal.document(Document::Run(&view));
        if let Some(c) = &report.comparison {
            terminal.show("\n");
            terminal.document(Document::Comparison(c));
        }
    }
    if report.verdict == GateVerdict::TargetFailure {
        // Quiet hides the report, not why nothing could be judged.
        explain_failure(&report.summary);
    }
    say_written(&report, quiet);
    // After the files: a gateway that is down fails the push, not the run.
    if let Some(gateway) = &gateway
        && !matches!(report.verdict, GateVerdict::Interrupted(_))
    {
        let pushed = block_on(crate::commands::push::push_run(
            &view,
            gateway,
            &push.labels,
        ));
        match pushed {
            Ok(Ok(url)) => {
                if !quiet {
                    eprintln!("pushed to {url}");
                }
            }
            Ok(Err(e)) => {
                if report.verdict == GateVerdict::Fail {
                    eprintln!("error: a primary regression or a [gate] budget breach (see above)");
                }
                return report_error(&e);
            }
            Err(code) => return code,
        }
    }
    exit(report.verdict)
}

/// Which files the run wrote: a line each, or with `--quiet` one line for the whole run.
fn say_written(report: &crate::commands::run::RunReport, quiet: bool) {
    let files: Vec<String> = report
        .written
        .iter()
        .filter_map(|d| match d {
            Destination::Path(p) => Some(crate::report::printable(&p.display().to_string())),
            Destination::Stdout => None,
        })
        .collect();
    if !quiet {
        for file in &files {
            eprintln!("wrote {file}");
        }
        return;
    }
    let run = &report.summary.run;
    eprintln!(
        "{}: {} iterations in {} rounds{}",
        crate::report::printable(&report.summary.scenario.name),
        run.succeeded_iterations + run.failed_iterations,
        report.summary.rounds.len(),
        if files.is_empty() {
            String::new()
        } else {
            format!("; wrote {}", files.join(", "))
        }
    );
}

/// `phasebench compare CURRENT BASELINE`: the comparison, then its verdict.
pub(super) fn compare(args: CompareArgs) -> ExitCode {
    let outputs = args.comparison.outputs();
    match crate::commands::compare::execute(
        &args.current,
        &args.baseline,
        args.scenario.as_deref(),
        &outputs,
    ) {
        Ok(judgment) => {
            warn_skipped(&judgment.skipped_baseline_runs);
            if !args.quiet {
                Screen::new(outputs.json.iter().chain(&outputs.markdown))
                    .document(Document::Comparison(&judgment.comparison));
            }
            exit(judgment.verdict)
        }
        Err(e) => report_error(&e),
    }
}

/// `phasebench ab`: the paired comparison and its verdict, or a shard's rounds written.
pub(super) fn ab(args: AbArgs) -> ExitCode {
    let quiet = args.quiet;
    let request = match this_binary() {
        Ok(this) => args.into_request(this),
        Err(code) => return code,
    };
    if let Some((k, n)) = request.shard {
        return match crate::commands::ab::run_ab_shard(&request) {
            Ok(rounds) => {
                let dir = request
                    .out_dir
                    .as_deref()
                    .unwrap_or(std::path::Path::new(""));
                eprintln!(
                    "shard {k}/{n}: rounds {rounds:?} of {} written to {}; gather every shard's \
                     files in one directory and judge them with `phasebench ab SCENARIO \
                     --rejudge DIR`",
                    request.rounds,
                    dir.display(),
                );
                ExitCode::from(EXIT_PASS)
            }
            Err(e) => report_error(&e),
        };
    }
    let terminal = Screen::new(
        request
            .comparison
            .json
            .iter()
            .chain(&request.comparison.markdown),
    );
    match crate::commands::ab::run_ab(&request) {
        Ok((c, verdict)) => {
            if !quiet {
                terminal.document(Document::Comparison(&c));
            }
            exit(verdict)
        }
        Err(e) => report_error(&e),
    }
}

/// `phasebench baseline save`: result files (or one scenario, run here first) added to a
/// history.
pub(super) fn baseline(command: BaselineCommand) -> ExitCode {
    let BaselineCommand::Save {
        sources,
        dir,
        name,
        keep,
        overrides,
    } = command;
    // Keeps the run's result file alive until it is stored.
    let mut _run_dir = None;
    let results = if let [scenario] = &sources[..]
        && scenario.extension().is_some_and(|e| e == "toml")
    {
        let tmp = match tempfile::tempdir() {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: cannot create a temporary directory: {e}");
                return ExitCode::from(EXIT_FAILURE);
            }
        };
        let json = tmp.path().join("result.json");
        let request = RunRequest {
            scenario: scenario.clone(),
            overrides,
            json: Some(Destination::from(json.as_path())),
            meter: crate::cli::progress_bar::meter(false),
            require_judgeable: true,
            ..RunRequest::default()
        };
        match block_on(crate::commands::run::execute(&request)) {
            Err(code) => return code,
            Ok(Err(e)) => return report_error(&e),
            Ok(Ok(report))
                if matches!(
                    report.verdict,
                    GateVerdict::TargetFailure | GateVerdict::Interrupted(_)
                ) =>
            {
                if report.verdict == GateVerdict::TargetFailure {
                    explain_failure(&report.summary);
                }
                return exit(report.verdict);
            }
            Ok(Ok(_)) => {}
        }
        _run_dir = Some(tmp);
        vec![json]
    } else {
        sources
    };
    match crate::commands::baseline::save(&results, &dir, name.as_deref(), keep) {
        Ok(saved) => {
            warn_skipped(&saved.skipped);
            stdout::print(&format!(
                "saved baseline {}: {} run(s) added, {} already there, {} kept, {} dropped (oldest)\n",
                saved.path.display(),
                saved.added,
                saved.duplicates,
                saved.kept,
                saved.dropped
            ));
            ExitCode::from(EXIT_PASS)
        }
        Err(e) => report_error(&e),
    }
}
