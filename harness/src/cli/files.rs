//! The commands that read or write files and judge nothing (`report`, `ingest`, `push`,
//! `validate`, `schema`, `man`, `completions`) and the hidden `mcp-server`: each calls its
//! command, says what it did, and exits 0, 2 or 3.

use std::path::PathBuf;
use std::process::ExitCode;

use super::args::{Cli, IngestArgs, McpServerArgs, PushCommandArgs, ReportArgs, SchemaFormat};
use super::{
    EXIT_FAILURE, EXIT_INVALID_INPUT, EXIT_PASS, Screen, block_on, configured, report_error, stdout,
};

/// `phasebench report RESULT`: the HTML report (and a comparison's files) written.
pub(super) fn report(args: ReportArgs) -> ExitCode {
    let outputs = args.comparison.outputs();
    if outputs.destinations().next().is_none() {
        eprintln!("error: nothing to write: pass --html PATH (or --markdown, --comparison-json)");
        return ExitCode::from(EXIT_INVALID_INPUT);
    }
    if args.baseline.is_none() && (outputs.json.is_some() || outputs.markdown.is_some()) {
        eprintln!("error: --comparison-json and --markdown need --baseline");
        return ExitCode::from(EXIT_INVALID_INPUT);
    }
    match crate::commands::report::execute(&args.result, args.baseline.as_deref(), &outputs) {
        Ok(_) => ExitCode::from(EXIT_PASS),
        Err(e) => report_error(&e),
    }
}

/// `phasebench ingest FILES`: the distributions shown (and written where asked), with what
/// could not be read as warnings.
pub(super) fn ingest(args: IngestArgs) -> ExitCode {
    let summary = match crate::commands::ingest::execute(
        &args.files,
        args.json.as_ref(),
        args.csv.as_ref(),
    ) {
        Ok(summary) => summary,
        Err(e) => return report_error(&e),
    };
    let terminal = Screen::new(args.json.iter().chain(&args.csv));
    for warning in crate::report::ingest::warnings(&summary) {
        eprintln!("warning: {warning}");
    }
    if !args.quiet {
        terminal.show(&crate::report::ingest::text(&summary, terminal.color));
    }
    ExitCode::from(EXIT_PASS)
}

/// `phasebench push RESULT URL`: where it went.
pub(super) fn push(args: PushCommandArgs) -> ExitCode {
    let gateway = match configured(args.url, args.ca.as_deref()) {
        Ok(gateway) => gateway,
        Err(code) => return code,
    };
    match block_on(crate::commands::push::execute(
        &args.result,
        &gateway,
        &args.labels,
    )) {
        Ok(Ok(pushed)) => {
            eprintln!("pushed to {pushed}");
            ExitCode::from(EXIT_PASS)
        }
        Ok(Err(e)) => report_error(&e),
        Err(code) => code,
    }
}

/// `phasebench validate FILES`: one line per file, exit 2 when any is invalid.
pub(super) fn validate(scenarios: &[PathBuf]) -> ExitCode {
    let mut failed = false;
    for (path, result) in scenarios
        .iter()
        .zip(crate::commands::validate::execute(scenarios))
    {
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

/// `phasebench schema FORMAT`: the JSON Schema on stdout.
pub(super) fn schema(format: SchemaFormat) -> ExitCode {
    let schema = match format {
        SchemaFormat::Result => crate::results::json_schema(),
        SchemaFormat::Comparison => crate::stats::compare::json_schema(),
    };
    stdout::printed(stdout::write(schema.as_bytes()))
}

/// `phasebench man`: the manual page (roff) on stdout.
pub(super) fn man() -> ExitCode {
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

/// `phasebench completions SHELL`: the completion script on stdout.
pub(super) fn completions(shell: clap_complete::Shell) -> ExitCode {
    let mut command = <Cli as clap::CommandFactory>::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "phasebench", &mut script);
    stdout::printed(stdout::write(&script))
}

/// `phasebench mcp-server`: a mock MCP server on stdin/stdout until its client goes.
pub(super) fn mcp_server(args: McpServerArgs) -> ExitCode {
    // A mock server lives only as long as its client (codex, or a run's runtime), even one
    // told to hang and to ignore signals.
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
