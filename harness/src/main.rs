//! The `phasebench` command: parses arguments, calls the library, maps the result to an exit
//! code (0 pass, 1 budget breach, 2 invalid input, 3 harness or target failure).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use phasebench::scenario::Override;
use phasebench::{RunRequest, Verdict};

/// The runtime under test, the mock and the harness share this process; glibc's allocator
/// was ~9% of a zero-delay run's CPU, mimalloc roughly halves that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit codes (documented in the README).
const EXIT_PASS: u8 = 0;
const EXIT_BREACH: u8 = 1;
const EXIT_INVALID_INPUT: u8 = 2;
const EXIT_FAILURE: u8 = 3;

#[derive(Parser)]
#[command(
    name = "phasebench",
    version,
    about = "Latency benchmarks for the startup path of LLM-agent thread runtimes"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario and report per-phase and time-to-first-token distributions.
    Run {
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
        /// Write the JSON result here (atomically).
        #[arg(long, value_name = "PATH")]
        json: Option<PathBuf>,
        /// Write the metric table as CSV here (atomically).
        #[arg(long, value_name = "PATH")]
        csv: Option<PathBuf>,
        /// No progress bar and no table on stdout.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Check scenario files without running them.
    Validate {
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Validate { scenarios } => {
            let mut failed = false;
            for (path, result) in scenarios.iter().zip(phasebench::validate(&scenarios)) {
                match result {
                    Ok(s) => println!(
                        "ok      {}: {} ({}, {} iterations + {} warmup at concurrency {})",
                        path.display(),
                        s.name,
                        s.target.as_str(),
                        s.plan.iterations,
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
            mut overrides,
            iterations,
            warmup,
            concurrency,
            json,
            csv,
            quiet,
        } => {
            for (key, value) in [
                ("iterations", iterations),
                ("warmup", warmup),
                ("concurrency", concurrency),
            ] {
                if let Some(value) = value {
                    overrides.push(Override {
                        key: key.into(),
                        value: value.to_string(),
                    });
                }
            }
            let request = RunRequest {
                scenario,
                overrides,
                json,
                csv,
                progress: !quiet,
            };
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("error: cannot start the async runtime: {e}");
                    return ExitCode::from(EXIT_FAILURE);
                }
            };
            match runtime.block_on(phasebench::run(&request)) {
                Ok((summary, verdict)) => {
                    if !quiet {
                        print!("{}", phasebench::report::table::render_report(&summary));
                    }
                    match verdict {
                        Verdict::Pass => ExitCode::from(EXIT_PASS),
                        Verdict::BudgetBreach => {
                            eprintln!("error: a [gate] budget was breached");
                            ExitCode::from(EXIT_BREACH)
                        }
                        Verdict::TargetFailure => {
                            eprintln!(
                                "error: every measured iteration failed; see the failures above"
                            );
                            ExitCode::from(EXIT_FAILURE)
                        }
                    }
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(if e.is_invalid_input() {
                        EXIT_INVALID_INPUT
                    } else {
                        EXIT_FAILURE
                    })
                }
            }
        }
    }
}
