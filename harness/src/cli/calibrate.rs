//! `phasebench calibrate`: the closeness-to-the-wire tables on stdout (and as JSON when
//! asked); exit 0 when measured, whether or not the project's goals are met.

use std::process::ExitCode;

use super::args::CalibrateArgs;
use super::{EXIT_PASS, Screen, block_on, report_error};

pub(super) fn calibrate(args: CalibrateArgs) -> ExitCode {
    let (request, json) = args.into_request();
    if let Some(out) = &json
        && let Err(e) = crate::sys::output::check_all([out])
    {
        return report_error(&crate::error::Error::OutputPath(e));
    }
    let terminal = Screen::new(json.iter());
    let report = match block_on(crate::commands::calibrate::execute(&request)) {
        Ok(Ok(report)) => report,
        Ok(Err(e)) => return report_error(&e),
        Err(code) => return code,
    };
    terminal.show(&report.to_text());
    if let Some(out) = &json {
        match out.write(&crate::results::json_bytes(&report.to_json())) {
            Ok(()) => eprintln!("wrote {out}"),
            Err(e) => return report_error(&e.into()),
        }
    }
    ExitCode::from(EXIT_PASS)
}
