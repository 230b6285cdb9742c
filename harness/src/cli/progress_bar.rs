//! The progress bar the command line draws on stderr from a run's [`Meter`]: measured
//! iterations only (a round's warmup shows as its message, not in the count), the rate with one
//! decimal. Drawn only when stderr is a terminal and `--quiet` was not given.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::measure::meter::{Meter, MeterSink, RoundStage};

/// A bar on stderr, or no meter at all when `quiet` or stderr is not a terminal.
pub(crate) fn meter(quiet: bool) -> Meter {
    if quiet || !std::io::stderr().is_terminal() {
        return Meter::off();
    }
    Meter::to(Bar(bar()))
}

struct Bar(ProgressBar);

impl MeterSink for Bar {
    fn planned(&self, measured_iterations: u64) {
        self.0.set_length(measured_iterations);
    }
    fn stage(&self, stage: RoundStage) {
        self.0.set_message(stage.as_str());
    }
    fn advance(&self) {
        self.0.inc(1);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

fn bar() -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} {msg:>9} [{bar:30}] {pos}/{len} measured iterations  {rate}  eta {eta}",
    ) {
        let style = style.with_key(
            "rate",
            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.1}/s", state.per_sec());
            },
        );
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(std::time::Duration::from_millis(100));
    bar
}
