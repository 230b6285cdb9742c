//! The `phasebench` command line: parses arguments, calls the library, maps the result to an
//! exit code (0 pass, 1 regression or budget breach, 2 invalid input, 3 harness or target
//! failure, 4 undecided: a primary statistic or budget the gate could not judge). It lives in the library, beside what it calls, so the library's public surface
//! can stay the small facade in `lib.rs`; `src/main.rs` only calls [`main`].
//!
//! Why one long file: it is the one place each subcommand's result becomes terminal output and
//! an exit code; the argument definitions are in `args.rs`, the commands over many runs in
//! `many.rs`.

use std::process::ExitCode;

use crate::report::{Document, MetricTable, RunView};
use crate::sys::output::Destination;
use crate::{RunRequest, Verdict};
use clap::Parser;

mod args;
mod many;
mod stdout;

use args::{BaselineCommand, Cli, Command, SchemaFormat};

use crate::error::exit_code::{
    FAILURE as EXIT_FAILURE, INVALID_INPUT as EXIT_INVALID_INPUT, PASS as EXIT_PASS,
};

/// `--color`, as given (set once, before any report).
static COLOR: std::sync::OnceLock<args::ColorChoice> = std::sync::OnceLock::new();

/// Where the human-readable report goes: standard output, unless a machine-readable output
/// was asked for there ("-"), then standard error, so the two never mix.
struct Terminal {
    to_stderr: bool,
    /// Verdicts painted (`--color`, NO_COLOR, whether the stream is a terminal).
    color: bool,
}

impl Terminal {
    fn new<'a>(outputs: impl IntoIterator<Item = &'a Destination>) -> Self {
        use std::io::IsTerminal;
        let to_stderr = outputs.into_iter().any(Destination::is_stdout);
        let is_terminal = if to_stderr {
            std::io::stderr().is_terminal()
        } else {
            std::io::stdout().is_terminal()
        };
        let choice = COLOR.get().copied().unwrap_or(args::ColorChoice::Auto);
        Self {
            to_stderr,
            color: choice.colors(is_terminal),
        }
    }

    /// Shows a document in the terminal format.
    fn document(&self, document: Document<'_>) {
        use crate::report::Exporter;
        let terminal = crate::report::terminal::Terminal { color: self.color };
        let bytes = terminal
            .export(document)
            .expect("the terminal shows every document");
        self.show(&String::from_utf8_lossy(&bytes));
    }

    fn show(&self, text: &str) {
        if self.to_stderr {
            eprint!("{text}");
        } else {
            stdout::print(text);
        }
    }
}

/// Says why a command ended as it did (when there is more to say than its report), and
/// exits with the verdict's code ([`Verdict::exit_code`]).
fn exit(verdict: Verdict) -> ExitCode {
    match verdict {
        Verdict::Pass | Verdict::TargetFailure => {}
        Verdict::Fail => {
            eprintln!("error: a primary regression or a [gate] budget breach (see above)");
        }
        Verdict::Undecided(on) => {
            let then = match on {
                crate::OnUndecided::Undecided => "exit 4, not a pass",
                crate::OnUndecided::Fail => "failing as the policy says",
                crate::OnUndecided::Pass => "passing as the policy says",
            };
            eprintln!(
                "undecided: the gate could not judge every primary statistic (see above): {then}; \
                 [gate] undecided = \"fail\" | \"pass\" or --undecided chooses otherwise"
            );
        }
        Verdict::Interrupted(signal) => {
            eprintln!(
                "interrupted by {}: stopped in order; what finished was written, marked partial",
                crate::sys::shutdown::name(signal)
            );
        }
    }
    ExitCode::from(verdict.exit_code())
}

/// This phasebench binary (to run sides and releases with), or why not.
fn this_binary() -> Result<std::path::PathBuf, ExitCode> {
    std::env::current_exe().map_err(|e| {
        eprintln!("error: cannot find this binary to run the sides with: {e}");
        ExitCode::from(EXIT_FAILURE)
    })
}

/// The published codex releases from `from` to `to`, every `every`-th.
fn releases_between(from: &str, to: &str, every: usize) -> Result<Vec<String>, ExitCode> {
    match block_on(crate::target::codex::releases::published())? {
        Ok(published) => Ok(crate::target::codex::releases::between(
            &published, from, to, every,
        )),
        Err(e) => Err(report_error(&e.into())),
    }
}

/// Writes `value` as JSON where asked.
fn write_json(out: Option<&Destination>, value: &impl serde::Serialize) -> Result<(), ExitCode> {
    match out {
        Some(out) => out
            .write(&crate::results::json_bytes(value))
            .map_err(|e| report_error(&e.into())),
        None => Ok(()),
    }
}

/// Why a run is a target failure: how many failed, and the first distinct causes.
fn explain_failure(summary: &crate::results::RunSummary) {
    let run = &summary.run;
    eprintln!(
        "error: {} of {} measured iterations failed ({:.1}%, more than [run] max_failure_ratio = {}); \
         nothing to judge. Causes:",
        run.failed_iterations,
        run.failed_iterations + run.succeeded_iterations,
        summary.failure_ratio() * 100.0,
        summary.plan.max_failure_ratio
    );
    for cause in &run.failure_examples {
        eprintln!("  {}", crate::report::printable(cause));
    }
}

/// Says what went wrong and exits with the error's code ([`crate::Error::exit_code`]); an
/// error of a stopped command is said, then the stop is (130, 143), not a failure.
fn report_error(e: &crate::Error) -> ExitCode {
    let interrupted_ab = matches!(e, crate::Error::Ab(ab)
        if matches!(**ab, crate::commands::ab::AbError::Interrupted(_)));
    if !interrupted_ab {
        eprintln!("error: {e}");
    }
    match e.interruption() {
        Some(verdict) => exit(verdict),
        None => ExitCode::from(e.exit_code()),
    }
}

fn warn_skipped(skipped: &[String]) {
    for s in skipped {
        eprintln!("warning: baseline run {}", crate::report::printable(s));
    }
}

/// The gateway trusting the CAs of `ca`, with the basic-auth credentials of
/// [`crate::commands::push::BASIC_AUTH_ENV`] when set (a warning when they would cross the network in
/// clear text).
fn configured(
    gateway: crate::Pushgateway,
    ca: Option<&std::path::Path>,
) -> Result<crate::Pushgateway, ExitCode> {
    let gateway = match ca {
        Some(path) => gateway
            .with_ca_file(path)
            .map_err(|e| report_error(&e.into()))?,
        None => gateway,
    };
    let credentials = std::env::var(crate::commands::push::BASIC_AUTH_ENV).unwrap_or_default();
    if credentials.is_empty() {
        return Ok(gateway);
    }
    let gateway = gateway
        .with_basic_auth(&credentials)
        .map_err(|e| report_error(&e.into()))?;
    if gateway.sends_credentials_in_clear() {
        eprintln!(
            "warning: {} sends basic-auth credentials to {gateway} over plain http, readable on \
             the network; tunnel to a loopback port instead",
            crate::commands::push::BASIC_AUTH_ENV
        );
    }
    Ok(gateway)
}

/// Runs a future on a fresh runtime; whatever is left when it returns (a half-open
/// connection's task, a blocking decode) gets 5 s, never an unbounded wait.
fn block_on<F: std::future::Future>(future: F) -> Result<F::Output, ExitCode> {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => {
            let out = rt.block_on(future);
            rt.shutdown_timeout(std::time::Duration::from_secs(5));
            Ok(out)
        }
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            Err(ExitCode::from(EXIT_FAILURE))
        }
    }
}

/// The `phasebench` command line: parses the process's arguments, runs the command, returns
/// its exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let _ = COLOR.set(cli.color);
    if let Err(e) = crate::sys::shutdown::install() {
        eprintln!("error: cannot install the signal handlers: {e}");
        return ExitCode::from(EXIT_FAILURE);
    }
    // An `ab` round: stop in order if `ab` is gone.
    if let Some(parent) = crate::sys::process::parent_to_watch()
        && !matches!(cli.command, Command::McpServer(_))
    {
        crate::sys::process::watch_parent(
            Some(parent),
            crate::sys::process::Orphaned::StopInOrder {
                grace: std::time::Duration::from_secs(10),
            },
        );
    }
    match cli.command {
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, "phasebench", &mut script);
            stdout::printed(stdout::write(&script))
        }
        Command::McpServer(args) => {
            // A mock server lives only as long as its client (codex, or a run's runtime),
            // even one told to hang and to ignore signals.
            crate::sys::process::watch_parent(None, crate::sys::process::Orphaned::Exit);
            let spec = args.spec();
            match block_on(mock_backend::mcp::serve_stdio(spec)) {
                Ok(Ok(())) => ExitCode::from(EXIT_PASS),
                Ok(Err(e)) => {
                    eprintln!("error: {e}");
                    ExitCode::from(EXIT_FAILURE)
                }
                Err(code) => code,
            }
        }
        Command::Schema { format } => {
            let schema = match format {
                SchemaFormat::Result => crate::results::json_schema(),
                SchemaFormat::Comparison => crate::stats::compare::json_schema(),
            };
            stdout::printed(stdout::write(schema.as_bytes()))
        }
        command @ (Command::Sweep { .. }
        | Command::Merge { .. }
        | Command::Rank { .. }
        | Command::History { .. }
        | Command::Bisect { .. }) => many::run(command),
        Command::Report {
            result,
            baseline,
            comparison,
        } => {
            let outputs = comparison.outputs();
            if outputs.destinations().next().is_none() {
                eprintln!(
                    "error: nothing to write: pass --html PATH (or --markdown, --comparison-json)"
                );
                return ExitCode::from(EXIT_INVALID_INPUT);
            }
            if baseline.is_none() && (outputs.json.is_some() || outputs.markdown.is_some()) {
                eprintln!("error: --comparison-json and --markdown need --baseline");
                return ExitCode::from(EXIT_INVALID_INPUT);
            }
            match crate::report_files(&result, baseline.as_deref(), &outputs) {
                Ok(_) => ExitCode::from(EXIT_PASS),
                Err(e) => report_error(&e),
            }
        }
        Command::Man => {
            let command = <Cli as clap::CommandFactory>::command();
            let mut page = Vec::new();
            match clap_mangen::Man::new(command).render(&mut page) {
                Ok(()) => stdout::printed(stdout::write(&page)),
                Err(e) => {
                    eprintln!("error: cannot write the manual page: {e}");
                    ExitCode::from(EXIT_FAILURE)
                }
            }
        }
        Command::Validate { scenarios } => {
            let mut failed = false;
            for (path, result) in scenarios.iter().zip(crate::validate(&scenarios)) {
                match result {
                    Ok(s) => stdout::print(&format!(
                        "ok      {}: {} ({}, {} iterations in {} rounds + {} warmup each, at concurrency {})\n",
                        path.display(),
                        s.name,
                        s.target.as_str(),
                        s.plan.iterations,
                        s.plan.rounds,
                        s.plan.warmup,
                        s.plan.concurrency
                    )),
                    Err(e) => {
                        failed = true;
                        eprintln!("invalid {e}");
                    }
                }
            }
            ExitCode::from(if failed {
                EXIT_INVALID_INPUT
            } else {
                EXIT_PASS
            })
        }
        Command::Run(args) => {
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
            let terminal = Terminal::new(request.destinations());
            let result = match block_on(crate::run(&request)) {
                Ok(result) => result,
                Err(code) => return code,
            };
            match result {
                Ok(report) => {
                    warn_skipped(&report.skipped_baseline_runs);
                    if let Some(design) = &report.design {
                        eprintln!(
                            "warning: this run cannot be judged against, nor serve as a \
                             baseline: {design}"
                        );
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
                    if report.verdict == Verdict::TargetFailure {
                        // Quiet hides the report, not why nothing could be judged.
                        explain_failure(&report.summary);
                    }
                    // After the files: a gateway that is down fails the push, not the run.
                    if let Some(gateway) = &gateway
                        && !matches!(report.verdict, Verdict::Interrupted(_))
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
                                if report.verdict == Verdict::Fail {
                                    eprintln!(
                                        "error: a primary regression or a [gate] budget breach (see above)"
                                    );
                                }
                                return report_error(&e);
                            }
                            Err(code) => return code,
                        }
                    }
                    exit(report.verdict)
                }
                Err(e) => report_error(&e),
            }
        }
        Command::Push {
            result,
            url,
            labels,
            ca,
        } => {
            let gateway = match configured(url, ca.as_deref()) {
                Ok(gateway) => gateway,
                Err(code) => return code,
            };
            match block_on(crate::push_file(&result, &gateway, &labels)) {
                Ok(Ok(pushed)) => {
                    eprintln!("pushed to {pushed}");
                    ExitCode::from(EXIT_PASS)
                }
                Ok(Err(e)) => report_error(&e),
                Err(code) => code,
            }
        }
        Command::Ingest {
            files,
            json,
            csv,
            quiet,
        } => match crate::ingest_files(&files, json.as_ref(), csv.as_ref()) {
            Ok(summary) => {
                let terminal = Terminal::new(json.iter().chain(&csv));
                for source in &summary.sources {
                    for example in &source.malformed_examples {
                        eprintln!(
                            "warning: {}: {}",
                            source.path,
                            crate::report::printable(example)
                        );
                    }
                }
                if summary.dropped_samples > 0 {
                    eprintln!(
                        "warning: {} samples of series beyond the first 256 distinct ones were dropped",
                        summary.dropped_samples
                    );
                }
                if !quiet {
                    terminal.show(&format!(
                        "{} threads, {} log records from {} files\n",
                        summary.threads,
                        summary.log_records,
                        summary.sources.len()
                    ));
                    terminal.document(Document::Metrics(&MetricTable::new(
                        &summary.metrics,
                        None,
                        0.95,
                    )));
                    if summary.span_refined_samples + summary.span_unrefined_samples > 0 {
                        terminal.show(&format!(
                            "{}\n",
                            crate::report::text::span_refinement(
                                summary.span_refined_samples,
                                summary.span_unrefined_samples
                            )
                        ));
                    }
                    if !summary.metric_histograms.is_empty() {
                        terminal.show(&format!(
                            "\ncodex's own metric histograms (aggregated):\n{}",
                            crate::report::terminal::aggregates(&summary.metric_histograms)
                        ));
                    }
                }
                ExitCode::from(EXIT_PASS)
            }
            Err(e) => report_error(&e),
        },
        Command::Compare {
            current,
            baseline,
            scenario,
            comparison,
            quiet,
        } => match crate::compare_files(
            &current,
            &baseline,
            scenario.as_deref(),
            &comparison.outputs(),
        ) {
            Ok((c, skipped, verdict)) => {
                warn_skipped(&skipped);
                if !quiet {
                    Terminal::new(
                        comparison
                            .outputs()
                            .json
                            .iter()
                            .chain(&comparison.outputs().markdown),
                    )
                    .document(Document::Comparison(&c));
                }
                exit(verdict)
            }
            Err(e) => report_error(&e),
        },
        Command::Ab {
            scenario,
            a,
            b,
            a_overrides,
            b_overrides,
            rounds,
            until_decided,
            max_rounds,
            max_time,
            out_dir,
            rejudge,
            shard,
            comparison,
            quiet,
        } => {
            let this = match this_binary() {
                Ok(path) => path,
                Err(code) => return code,
            };
            let fixed_rounds = match rounds {
                Some(args::Rounds::Count(n)) => Some(n),
                _ => None,
            };
            let request = crate::commands::ab::AbRequest {
                overrides: scenario.overrides(),
                scenario: scenario.scenario,
                a: crate::commands::ab::Side {
                    binary: a.unwrap_or_else(|| this.clone()),
                    overrides: a_overrides,
                },
                b: crate::commands::ab::Side {
                    binary: b.unwrap_or(this),
                    overrides: b_overrides,
                },
                rounds: fixed_rounds.unwrap_or(crate::commands::ab::DEFAULT_ROUNDS),
                auto_rounds: rounds == Some(args::Rounds::Auto),
                expected_rounds: fixed_rounds.filter(|_| rejudge.is_some()),
                out_dir,
                comparison: comparison.outputs(),
                progress: !quiet,
                rejudge,
                shard,
                until_decided: until_decided.then(|| crate::commands::ab::UntilDecided {
                    max_rounds: max_rounds.unwrap_or(crate::stats::sequential::DEFAULT_MAX_ROUNDS),
                    max_time,
                    stop: crate::commands::ab::StopWhen::Gate,
                }),
                require_judgeable: true,
            };
            if let Some((k, n)) = shard {
                return match crate::commands::ab::run_ab_shard(&request) {
                    Ok(rounds) => {
                        let dir = request
                            .out_dir
                            .as_deref()
                            .unwrap_or(std::path::Path::new(""));
                        eprintln!(
                            "shard {k}/{n}: rounds {rounds:?} of {} written to {}; gather every \
                             shard's files in one directory and judge them with `phasebench ab \
                             SCENARIO --rejudge DIR`",
                            request.rounds,
                            dir.display(),
                        );
                        ExitCode::from(EXIT_PASS)
                    }
                    Err(e) => report_error(&e),
                };
            }
            let terminal = Terminal::new(
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
        Command::Baseline {
            command:
                BaselineCommand::Save {
                    sources,
                    dir,
                    name,
                    keep,
                    overrides,
                },
        } => {
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
                    progress: true,
                    require_judgeable: true,
                    ..RunRequest::default()
                };
                match block_on(crate::run(&request)) {
                    Err(code) => return code,
                    Ok(Err(e)) => return report_error(&e),
                    Ok(Ok(report))
                        if matches!(
                            report.verdict,
                            Verdict::TargetFailure | Verdict::Interrupted(_)
                        ) =>
                    {
                        if report.verdict == Verdict::TargetFailure {
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
            match crate::save_baseline(&results, &dir, name.as_deref(), keep) {
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
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }

    #[test]
    fn every_positional_argument_says_what_it_is() {
        fn check(command: &clap::Command, path: &str) {
            for arg in command.get_positionals() {
                assert!(
                    arg.get_help().is_some(),
                    "{path} <{}> has no help text",
                    arg.get_id()
                );
            }
            for sub in command.get_subcommands() {
                check(sub, &format!("{path} {}", sub.get_name()));
            }
        }
        check(&super::Cli::command(), "phasebench");
    }

    #[test]
    fn completions_and_the_manual_page_render() {
        let mut command = super::Cli::command();
        let mut bash = Vec::new();
        clap_complete::generate(
            clap_complete::Shell::Bash,
            &mut command,
            "phasebench",
            &mut bash,
        );
        let bash = String::from_utf8(bash).unwrap();
        assert!(bash.contains("baseline") && bash.contains("--comparison-json"));
        let mut man = Vec::new();
        clap_mangen::Man::new(super::Cli::command())
            .render(&mut man)
            .unwrap();
        assert!(String::from_utf8(man).unwrap().contains(".TH phasebench"));
    }
}
