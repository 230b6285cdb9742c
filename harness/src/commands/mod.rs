//! The commands, one module each, on top of the pipeline's stages: each takes its request,
//! checks what it can before running (designs, output paths), does the work, and returns what
//! it produced (a report, a comparison and its verdict) without terminal I/O; the command
//! line renders that and picks the exit code.
//!
//! `run` and `compare` also hold what others reuse: a scenario's rounds
//! ([`run::rounds`]) for `sweep`, the comparison's outputs ([`compare::ComparisonOutputs`])
//! for `report` and `ab`.

pub mod ab;
pub mod baseline;
pub mod compare;
pub mod history;
pub mod ingest;
pub mod merge;
pub mod push;
pub mod report;
pub mod run;
pub mod sweep;
pub mod validate;
