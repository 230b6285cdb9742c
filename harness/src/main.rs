//! The `phasebench` command: parses arguments, calls the library, maps the result to an exit
//! code (0 pass, 1 regression or budget breach, 2 invalid input, 3 harness or target failure).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use phasebench::report::{Document, Format, MetricTable, RunView};
use phasebench::scenario::Override;
use phasebench::sys::output::Destination;
use phasebench::{ComparisonOutputs, RunRequest, Verdict};

/// The runtime under test, the mock and the harness share this process; glibc's allocator
/// was ~9% of a zero-delay run's CPU, mimalloc roughly halves that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit codes (documented in the README).
const EXIT_PASS: u8 = 0;
const EXIT_FAIL: u8 = 1;
const EXIT_INVALID_INPUT: u8 = 2;
const EXIT_FAILURE: u8 = 3;

#[derive(Parser)]
#[command(
    name = "phasebench",
    version,
    about = "Latency benchmarks for the startup path of LLM-agent thread runtimes",
    after_help = "Exit codes: 0 pass, 1 regression or budget breach, 2 invalid input, 3 harness or target failure."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct ScenarioArgs {
    /// The scenario file (TOML).
    scenario: PathBuf,
    /// Override a scenario value, e.g. --set backend.delays.first_token=50ms (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    overrides: Vec<Override>,
    /// Measured iterations (same as --set iterations=N).
    #[arg(long)]
    iterations: Option<u64>,
    /// Warmup iterations (same as --set warmup=N).
    #[arg(long)]
    warmup: Option<u64>,
    /// Iterations in flight at once (same as --set concurrency=N).
    #[arg(long)]
    concurrency: Option<u64>,
}

impl ScenarioArgs {
    fn overrides(&self) -> Vec<Override> {
        let mut overrides = self.overrides.clone();
        for (key, value) in [
            ("iterations", self.iterations),
            ("warmup", self.warmup),
            ("concurrency", self.concurrency),
        ] {
            if let Some(value) = value {
                overrides.push(Override {
                    key: key.into(),
                    value: value.to_string(),
                });
            }
        }
        overrides
    }
}

#[derive(Args)]
struct ComparisonArgs {
    /// Write the comparison as JSON here ("-" for standard output).
    #[arg(long, value_name = "PATH")]
    comparison_json: Option<Destination>,
    /// Write the comparison as Markdown here (e.g. for a pull request; "-" for standard output).
    #[arg(long, value_name = "PATH")]
    markdown: Option<Destination>,
    /// Append the Markdown instead of replacing the file (for $GITHUB_STEP_SUMMARY).
    #[arg(long)]
    append_markdown: bool,
    /// Compare even when the scenario content, target or concurrency differ.
    #[arg(long)]
    allow_mismatch: bool,
}

impl ComparisonArgs {
    fn outputs(&self) -> ComparisonOutputs {
        ComparisonOutputs {
            json: self.comparison_json.clone(),
            markdown: self.markdown.clone(),
            append_markdown: self.append_markdown,
            allow_mismatch: self.allow_mismatch,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario and report per-phase and time-to-first-token distributions.
    Run {
        #[command(flatten)]
        scenario: ScenarioArgs,
        /// Write the JSON result here ("-" for standard output; files are replaced atomically,
        /// devices and FIFOs written through).
        #[arg(long, value_name = "PATH")]
        json: Option<Destination>,
        /// Write the metric table as CSV here ("-" for standard output).
        #[arg(long, value_name = "PATH")]
        csv: Option<Destination>,
        /// Write Bencher Metric Format JSON here ("-" for standard output).
        #[arg(long, value_name = "PATH")]
        bmf: Option<Destination>,
        /// Compare the run with this baseline result and fail on a regression.
        #[arg(long, value_name = "PATH")]
        baseline: Option<PathBuf>,
        #[command(flatten)]
        comparison: ComparisonArgs,
        /// No progress bar and no tables on stdout.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Compare a result with a baseline (a history of runs, or one result file); exit 1 on a
    /// primary regression or a budget breach.
    Compare {
        /// The result file to judge (from `phasebench run --json`).
        current: PathBuf,
        /// The baseline: a history (`phasebench baseline save`) or a single result file.
        baseline: PathBuf,
        #[command(flatten)]
        comparison: ComparisonArgs,
        /// No table on stdout.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Paired A/B: run two builds (or two configurations) in alternating rounds on this
    /// machine and compare B with A; exit 1 when B regressed.
    Ab {
        /// The scenario file (TOML).
        scenario: PathBuf,
        /// The phasebench binary for side A (default: this one).
        #[arg(long, value_name = "BINARY")]
        a: Option<PathBuf>,
        /// The phasebench binary for side B (default: this one).
        #[arg(long, value_name = "BINARY")]
        b: Option<PathBuf>,
        /// Override for both sides (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<Override>,
        /// Override for side A only (repeatable).
        #[arg(long = "a-set", value_name = "KEY=VALUE")]
        a_overrides: Vec<Override>,
        /// Override for side B only, e.g. an injected slowdown (repeatable).
        #[arg(long = "b-set", value_name = "KEY=VALUE")]
        b_overrides: Vec<Override>,
        /// Rounds per side; the scenario's iterations are split across them.
        #[arg(long, default_value_t = 10)]
        rounds: u32,
        /// Keep every round's result file here.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
        /// Judge the round files an earlier `ab --out-dir DIR` kept, running nothing (e.g.
        /// under another policy via --set 'gate.relative_threshold=0.05').
        #[arg(long, value_name = "DIR", conflicts_with = "out_dir")]
        rejudge: Option<PathBuf>,
        #[command(flatten)]
        comparison: ComparisonArgs,
        /// No progress and no table.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Manage baselines.
    Baseline {
        #[command(subcommand)]
        command: BaselineCommand,
    },
    /// Per-phase and TTFT distributions from OTLP logs on disk: single OTLP/JSON bodies or the
    /// OpenTelemetry Collector file exporter's format (one export request per line).
    Ingest {
        /// OTLP/JSON bodies or Collector file-exporter files (uncompressed).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Write the JSON summary here ("-" for standard output).
        #[arg(long, value_name = "PATH")]
        json: Option<Destination>,
        /// Write the metric table as CSV here ("-" for standard output).
        #[arg(long, value_name = "PATH")]
        csv: Option<Destination>,
        /// No table on stdout.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Check scenario files without running them.
    Validate {
        /// Scenario files (TOML).
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) on stdout, e.g. `phasebench man > phasebench.1`.
    Man,
    /// Print the JSON Schema of a file format on stdout (the committed copies are in
    /// schemas/).
    Schema {
        /// Which format.
        format: SchemaFormat,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum SchemaFormat {
    /// A run's result file (`run --json`).
    Result,
    /// A comparison (`--comparison-json`).
    Comparison,
}

#[derive(Subcommand)]
enum BaselineCommand {
    /// Add runs to a baseline history (DIR/NAME.json, the newest --keep runs kept): result
    /// files, or one scenario (.toml) to run first.
    Save {
        /// Result JSON files (added oldest first), or one scenario (.toml) to run first.
        #[arg(required = true)]
        sources: Vec<PathBuf>,
        /// Baseline directory.
        #[arg(long, default_value = "results/baselines")]
        dir: PathBuf,
        /// File name (without .json; letters, digits, '.', '_', '-'); defaults to the
        /// scenario name.
        #[arg(long)]
        name: Option<String>,
        /// Runs to keep, newest first (default: what the baseline says, else 20).
        #[arg(long)]
        keep: Option<usize>,
        /// Overrides when SOURCE is a scenario.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<Override>,
    },
}

/// Where the human-readable report goes: standard output, unless a machine-readable output
/// was asked for there ("-"), then standard error, so the two never mix.
struct Terminal {
    to_stderr: bool,
}

impl Terminal {
    fn new<'a>(outputs: impl IntoIterator<Item = &'a Destination>) -> Self {
        Self {
            to_stderr: outputs.into_iter().any(Destination::is_stdout),
        }
    }

    fn show(&self, text: &str) {
        if self.to_stderr {
            eprint!("{text}");
        } else {
            print!("{text}");
        }
    }
}

fn exit(verdict: Verdict) -> ExitCode {
    match verdict {
        Verdict::Pass => ExitCode::from(EXIT_PASS),
        Verdict::Fail => {
            eprintln!("error: a primary regression or a [gate] budget breach (see above)");
            ExitCode::from(EXIT_FAIL)
        }
        Verdict::TargetFailure => ExitCode::from(EXIT_FAILURE),
        Verdict::Interrupted(signal) => {
            eprintln!(
                "interrupted by {}: stopped in order; what finished was written, marked partial",
                phasebench::sys::shutdown::name(signal)
            );
            ExitCode::from(phasebench::sys::shutdown::exit_code(signal))
        }
    }
}

/// A document as the terminal shows it.
fn terminal_text(document: Document<'_>) -> String {
    let bytes = phasebench::report::export(Format::Terminal, document)
        .expect("the terminal shows every document");
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Why a run is a target failure: how many failed, and the first distinct causes.
fn explain_failure(summary: &phasebench::results::RunSummary) {
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
        eprintln!("  {}", phasebench::report::printable(cause));
    }
}

fn report_error(e: &phasebench::Error) -> ExitCode {
    if let phasebench::Error::Ab(ab) = e
        && let phasebench::ab::AbError::Interrupted(signal) = **ab
    {
        return exit(Verdict::Interrupted(signal));
    }
    eprintln!("error: {e}");
    ExitCode::from(if e.is_invalid_input() {
        EXIT_INVALID_INPUT
    } else {
        EXIT_FAILURE
    })
}

fn warn_skipped(skipped: &[String]) {
    for s in skipped {
        eprintln!("warning: baseline run {}", phasebench::report::printable(s));
    }
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = phasebench::sys::shutdown::install() {
        eprintln!("error: cannot install the signal handlers: {e}");
        return ExitCode::from(EXIT_FAILURE);
    }
    match cli.command {
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "phasebench", &mut std::io::stdout());
            ExitCode::from(EXIT_PASS)
        }
        Command::Schema { format } => {
            let schema = match format {
                SchemaFormat::Result => phasebench::results::json_schema(),
                SchemaFormat::Comparison => phasebench::stats::compare::json_schema(),
            };
            print!("{schema}");
            ExitCode::from(EXIT_PASS)
        }
        Command::Man => {
            let command = <Cli as clap::CommandFactory>::command();
            match clap_mangen::Man::new(command).render(&mut std::io::stdout()) {
                Ok(()) => ExitCode::from(EXIT_PASS),
                Err(e) => {
                    eprintln!("error: cannot write the manual page: {e}");
                    ExitCode::from(EXIT_FAILURE)
                }
            }
        }
        Command::Validate { scenarios } => {
            let mut failed = false;
            for (path, result) in scenarios.iter().zip(phasebench::validate(&scenarios)) {
                match result {
                    Ok(s) => println!(
                        "ok      {}: {} ({}, {} iterations in {} rounds + {} warmup each, at concurrency {})",
                        path.display(),
                        s.name,
                        s.target.as_str(),
                        s.plan.iterations,
                        s.plan.rounds,
                        s.plan.warmup,
                        s.plan.concurrency
                    ),
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
        Command::Run {
            scenario,
            json,
            csv,
            bmf,
            baseline,
            comparison,
            quiet,
        } => {
            let request = RunRequest {
                overrides: scenario.overrides(),
                scenario: scenario.scenario,
                json,
                csv,
                bmf,
                progress: !quiet,
                baseline,
                comparison: comparison.outputs(),
            };
            let terminal = Terminal::new(request.destinations());
            let result = match block_on(phasebench::run(&request)) {
                Ok(result) => result,
                Err(code) => return code,
            };
            match result {
                Ok(report) => {
                    warn_skipped(&report.skipped_baseline_runs);
                    if !quiet {
                        terminal.show(&terminal_text(Document::Run(&RunView {
                            summary: &report.summary,
                            table: report.table.clone(),
                        })));
                        if let Some(c) = &report.comparison {
                            terminal.show("\n");
                            terminal.show(&terminal_text(Document::Comparison(c)));
                        }
                    }
                    if report.verdict == Verdict::TargetFailure {
                        // Quiet hides the report, not why nothing could be judged.
                        explain_failure(&report.summary);
                    }
                    exit(report.verdict)
                }
                Err(e) => report_error(&e),
            }
        }
        Command::Ingest {
            files,
            json,
            csv,
            quiet,
        } => match phasebench::ingest_files(&files, json.as_ref(), csv.as_ref()) {
            Ok(summary) => {
                let terminal = Terminal::new(json.iter().chain(&csv));
                for source in &summary.sources {
                    for example in &source.malformed_examples {
                        eprintln!(
                            "warning: {}: {}",
                            source.path,
                            phasebench::report::printable(example)
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
                    terminal.show(&terminal_text(Document::Metrics(&MetricTable::new(
                        &summary.metrics,
                        None,
                        0.95,
                    ))));
                    if summary.span_refined_samples + summary.span_unrefined_samples > 0 {
                        terminal.show(&format!(
                            "{}\n",
                            phasebench::report::terminal::span_refinement(
                                summary.span_refined_samples,
                                summary.span_unrefined_samples
                            )
                        ));
                    }
                    if !summary.metric_histograms.is_empty() {
                        terminal.show(&format!(
                            "\ncodex's own metric histograms (aggregated):\n{}",
                            phasebench::report::terminal::aggregates(&summary.metric_histograms)
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
            comparison,
            quiet,
        } => match phasebench::compare_files(&current, &baseline, &comparison.outputs()) {
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
                    .show(&terminal_text(Document::Comparison(&c)));
                }
                exit(verdict)
            }
            Err(e) => report_error(&e),
        },
        Command::Ab {
            scenario,
            a,
            b,
            overrides,
            a_overrides,
            b_overrides,
            rounds,
            out_dir,
            rejudge,
            comparison,
            quiet,
        } => {
            let this = match std::env::current_exe() {
                Ok(path) => path,
                Err(e) => {
                    eprintln!("error: cannot find this binary to run a side with: {e}");
                    return ExitCode::from(EXIT_FAILURE);
                }
            };
            let request = phasebench::ab::AbRequest {
                scenario,
                overrides,
                a: phasebench::ab::Side {
                    binary: a.unwrap_or_else(|| this.clone()),
                    overrides: a_overrides,
                },
                b: phasebench::ab::Side {
                    binary: b.unwrap_or(this),
                    overrides: b_overrides,
                },
                rounds,
                out_dir,
                comparison: comparison.outputs(),
                progress: !quiet,
                rejudge,
            };
            let terminal = Terminal::new(
                request
                    .comparison
                    .json
                    .iter()
                    .chain(&request.comparison.markdown),
            );
            match phasebench::ab::run_ab(&request) {
                Ok((c, verdict)) => {
                    if !quiet {
                        terminal.show(&terminal_text(Document::Comparison(&c)));
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
                    ..RunRequest::default()
                };
                match block_on(phasebench::run(&request)) {
                    Err(code) => return code,
                    Ok(Err(e)) => return report_error(&e),
                    Ok(Ok(report))
                        if report.verdict != Verdict::Pass && report.verdict != Verdict::Fail =>
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
            match phasebench::save_baseline(&results, &dir, name.as_deref(), keep) {
                Ok(saved) => {
                    warn_skipped(&saved.skipped);
                    println!(
                        "saved baseline {}: {} run(s) added, {} already there, {} kept, {} dropped (oldest)",
                        saved.path.display(),
                        saved.added,
                        saved.duplicates,
                        saved.kept,
                        saved.dropped
                    );
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
