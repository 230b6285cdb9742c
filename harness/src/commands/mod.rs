//! The commands, one module each, on top of the pipeline's stages: each takes its request,
//! checks what it can before running (designs, output paths), does the work, and returns what
//! it produced (a report, a comparison and its verdict) without terminal I/O; the command
//! line renders that and picks the exit code.
//!
//! `run` and `compare` also hold what others reuse: a scenario's rounds
//! ([`run::rounds`]) for `sweep`, the comparison's outputs ([`compare::ComparisonOutputs`])
//! for `report` and `ab`.

use std::sync::Arc;

pub(crate) mod ab;
pub(crate) mod baseline;
pub(crate) mod calibrate;
pub(crate) mod compare;
pub(crate) mod history;
pub(crate) mod ingest;
pub(crate) mod merge;
pub(crate) mod push;
pub(crate) mod rank;
pub(crate) mod report;
pub(crate) mod run;
pub(crate) mod sweep;
pub(crate) mod validate;

/// Where a long command (`ab`, `sweep`, `history`, `bisect`) says how far it got, a line at a
/// time. Silent by default; the command line passes one that prints to stderr, a library
/// caller its own sink. Commands themselves never write to the terminal.
#[derive(Clone, Default)]
pub struct Progress(Option<Arc<ProgressSink>>);

/// What receives progress lines.
type ProgressSink = dyn Fn(&str) + Send + Sync;

impl Progress {
    /// Progress handed to `sink`, one line per call, without a trailing newline.
    pub fn to(sink: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Self(Some(Arc::new(sink)))
    }

    /// Whether anyone listens (e.g. to draw a progress bar as well).
    pub(crate) fn is_on(&self) -> bool {
        self.0.is_some()
    }

    /// Reports the line `line` makes, built only when someone listens.
    pub(crate) fn say(&self, line: impl FnOnce() -> String) {
        if let Some(sink) = &self.0 {
            sink(&line());
        }
    }
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_on() {
            "Progress(on)"
        } else {
            "Progress(off)"
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[test]
    fn progress_goes_to_its_sink_and_is_not_built_when_off() {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&lines);
        let progress = Progress::to(move |line| kept.lock().unwrap().push(line.to_owned()));
        assert!(progress.is_on());
        progress.say(|| "round 1/3".to_owned());
        assert_eq!(*lines.lock().unwrap(), ["round 1/3"]);
        let off = Progress::default();
        assert!(!off.is_on());
        off.say(|| unreachable!("an unheard line is never built"));
        assert_eq!(format!("{off:?}"), "Progress(off)");
    }
}
