//! The crate's one integration-test binary, one module per feature: the `phasebench` binary
//! and library driven end to end against the built-in runtime and the mock backend
//! ([`calibration`], [`run`], [`compare`], [`many_runs`], [`signals`], [`mcp`], [`pictures`],
//! [`ingest`]), against the real codex CLI ([`codex`]), the pull-request gate's workflows,
//! scripts and HTML in a browser ([`gate`]), and a real Prometheus with its Pushgateway
//! ([`push`]). What they share is in [`support`].

mod calibration;
mod codex;
mod compare;
mod gate;
mod ingest;
mod many_runs;
mod mcp;
mod pictures;
mod push;
mod run;
mod signals;
mod support;
