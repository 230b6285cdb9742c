//! The `phasebench` command line: parses arguments (`args.rs`), dispatches to one function
//! per command, which builds the command's request, calls it (`crate::commands`), and
//! renders what it returned: `judged.rs` for the commands that end in a verdict (`run`,
//! `compare`, `ab`, `baseline save`), `files.rs` for those that read or write files, `many.rs`
//! for those over many runs (`sweep`, `merge`, `rank`, `history`, `bisect`). Every exit code
//! comes from [`crate::error`] (0 pass, 1 regression or budget breach, 2 invalid input, 3
//! harness or target failure, 4 undecided, 130/143 stopped) through `exit` and
//! `report_error`, which only add the words. It lives in the library, beside what it calls,
//! so the library's public surface can stay the small facade in `lib.rs`; `src/main.rs` only
//! calls [`main`].

use std::process::ExitCode;

use crate::error::GateVerdict;
use crate::report::Document;
use crate::sys::output::Destination;
use clap::Parser;

mod args;
mod calibrate;
mod files;
mod judged;
mod many;
mod progress_bar;
mod stdout;

use args::{Cli, Command};

use crate::error::exit_code::{
    FAILURE as EXIT_FAILURE, INVALID_INPUT as EXIT_INVALID_INPUT, PASS as EXIT_PASS,
};

/// `--color`, as given (set once, before any report).
static COLOR: std::sync::OnceLock<args::ColorChoice> = std::sync::OnceLock::new();

/// Where the human-readable report goes: standard output, unless a machine-readable output
/// was asked for there ("-"), then standard error, so the two never mix.
struct Screen {
    to_stderr: bool,
    /// Verdicts painted (`--color`, NO_COLOR, whether the stream is a terminal).
    color: bool,
}

impl Screen {
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
/// exits with the verdict's code ([`GateVerdict::exit_code`]).
fn exit(verdict: GateVerdict) -> ExitCode {
    match verdict {
        GateVerdict::Pass | GateVerdict::TargetFailure => {}
        GateVerdict::Fail => {
            eprintln!("error: a primary regression or a [gate] budget breach (see above)");
        }
        GateVerdict::Undecided(on) => {
            let then = match on {
                crate::scenario::policy::OnUndecided::Undecided => "exit 4, not a pass",
                crate::scenario::policy::OnUndecided::Fail => "failing as the policy says",
                crate::scenario::policy::OnUndecided::Pass => "passing as the policy says",
            };
            eprintln!(
                "undecided: the gate could not judge every primary statistic (see above): {then}; \
                 [gate] undecided = \"fail\" | \"pass\" or --undecided chooses otherwise"
            );
        }
        GateVerdict::Interrupted(signal) => {
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

/// Says what went wrong and exits with the error's code ([`crate::error::Error::exit_code`]); an
/// error of a stopped command is said, then the stop is (130, 143), not a failure.
fn report_error(e: &crate::error::Error) -> ExitCode {
    let interrupted_ab = matches!(e, crate::error::Error::Ab(ab)
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
    gateway: crate::commands::push::Pushgateway,
    ca: Option<&std::path::Path>,
) -> Result<crate::commands::push::Pushgateway, ExitCode> {
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
        Command::Run(args) => judged::run(args),
        Command::Compare(args) => judged::compare(args),
        Command::Ab(args) => judged::ab(args),
        Command::Baseline { command } => judged::baseline(command),
        Command::Sweep(args) => many::sweep(args),
        Command::Merge(args) => many::merge(args),
        Command::Rank(args) => many::rank(args),
        Command::History(args) => many::history(args),
        Command::Bisect(args) => many::bisect(args),

        Command::Report(args) => files::report(args),
        Command::Ingest(args) => files::ingest(args),
        Command::Push(args) => files::push(args),
        Command::Validate { scenarios } => files::validate(&scenarios),
        Command::Schema { format } => files::schema(format),
        Command::Calibrate(args) => calibrate::calibrate(args),
        Command::Man => files::man(),
        Command::Completions { shell } => files::completions(shell),
        Command::McpServer(args) => files::mcp_server(args),
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
