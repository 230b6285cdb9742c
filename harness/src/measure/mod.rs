//! Measuring: the runner drives one round's iterations against a target with deadlines
//! ([`runner`]) into HdrHistograms ([`recorder`]), and keeps a bounded set of per-iteration
//! timelines when asked ([`timeline`]). Uses `target` and `model`.

pub mod paths;
pub mod recorder;
pub mod runner;
pub mod timeline;
