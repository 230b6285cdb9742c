//! Measuring: the runner drives one round's iterations against a target with deadlines
//! ([`runner`]) into HdrHistograms ([`recorder`]). Uses `target` and `model`.

pub mod recorder;
pub mod runner;
