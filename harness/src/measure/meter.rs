//! How far a measurement has got, for whoever watches it.
//!
//! Why a sink and not a progress bar: the measuring stages do no terminal I/O (the command
//! line decides whether and how to draw, e.g. not when stderr is not a terminal or with
//! `--quiet`), and a library caller or a test watches nothing at no cost.

use std::sync::Arc;

/// What a round is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoundStage {
    /// Iterations that are run and not recorded.
    Warmup,
    /// Iterations that are recorded.
    Measuring,
}

impl RoundStage {
    /// The word a progress display shows.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Warmup => "warmup",
            Self::Measuring => "measuring",
        }
    }
}

/// Receives a measurement's progress: the measured iterations planned, each round's stage,
/// each measured iteration done, the end.
pub trait MeterSink: Send + Sync {
    /// The measured iterations (warmup excluded) the whole run plans.
    fn planned(&self, measured_iterations: u64);
    /// A round entered `stage`.
    fn stage(&self, stage: RoundStage);
    /// One more measured iteration ended (succeeded or failed).
    fn advance(&self);
    /// The run ended (also when stopped early).
    fn finish(&self);
}

/// A measurement's progress meter: off (nobody watches) or handed to a [`MeterSink`].
#[derive(Clone, Default)]
pub struct Meter(Option<Arc<dyn MeterSink>>);

impl Meter {
    /// Nobody watches.
    pub fn off() -> Self {
        Self(None)
    }

    /// Progress handed to `sink`.
    pub fn to(sink: impl MeterSink + 'static) -> Self {
        Self(Some(Arc::new(sink)))
    }

    pub(crate) fn planned(&self, measured_iterations: u64) {
        if let Some(sink) = &self.0 {
            sink.planned(measured_iterations);
        }
    }

    pub(crate) fn stage(&self, stage: RoundStage) {
        if let Some(sink) = &self.0 {
            sink.stage(stage);
        }
    }

    pub(crate) fn advance(&self) {
        if let Some(sink) = &self.0 {
            sink.advance();
        }
    }

    pub(crate) fn finish(&self) {
        if let Some(sink) = &self.0 {
            sink.finish();
        }
    }
}

impl std::fmt::Debug for Meter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Meter(on)"
        } else {
            "Meter(off)"
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Mutex;

    use super::*;

    /// A sink that writes down what it was told, for tests.
    #[derive(Default)]
    pub(crate) struct Recorded(pub(crate) Mutex<Vec<String>>);

    impl MeterSink for Arc<Recorded> {
        fn planned(&self, measured_iterations: u64) {
            self.0
                .lock()
                .unwrap()
                .push(format!("planned {measured_iterations}"));
        }
        fn stage(&self, stage: RoundStage) {
            self.0.lock().unwrap().push(stage.as_str().to_owned());
        }
        fn advance(&self) {
            self.0.lock().unwrap().push("+1".to_owned());
        }
        fn finish(&self) {
            self.0.lock().unwrap().push("finish".to_owned());
        }
    }

    #[test]
    fn an_off_meter_tells_nobody_and_an_on_one_tells_its_sink() {
        let off = Meter::off();
        off.planned(3);
        off.advance();
        assert_eq!(format!("{off:?}"), "Meter(off)");

        let recorded = Arc::new(Recorded::default());
        let on = Meter::to(Arc::clone(&recorded));
        on.planned(2);
        on.stage(RoundStage::Warmup);
        on.stage(RoundStage::Measuring);
        on.advance();
        on.clone().advance();
        on.finish();
        assert_eq!(
            *recorded.0.lock().unwrap(),
            ["planned 2", "warmup", "measuring", "+1", "+1", "finish"]
        );
    }
}
