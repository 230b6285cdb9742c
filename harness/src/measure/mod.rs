//! Measuring: the runner drives one round's iterations against a target with deadlines
//! ([`runner`]) into HdrHistograms ([`recorder`]), telling a [`meter`] how far it got, and keeps a bounded set of per-iteration
//! timelines when asked ([`timeline`]); the bare websocket pair is measured by [`wire`]. Uses `target` and `model`.

pub(crate) mod meter;
pub(crate) mod paths;
pub(crate) mod recorder;
pub(crate) mod runner;
pub(crate) mod timeline;
pub(crate) mod wire;
