//! The commands, one module each, on top of the pipeline's stages: each takes its request,
//! checks what it can before running (designs, output paths), does the work, and returns what
//! it produced (a report, a comparison and its verdict) without terminal I/O; the command
//! line renders that and picks the exit code.
//!
//! `run` and `compare` also hold what others reuse: a scenario's rounds
//! ([`run::rounds`]) for `sweep`, the comparison's outputs ([`compare::ComparisonOutputs`])
//! for `report` and `ab`.

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
