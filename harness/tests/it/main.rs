//! The crate's one integration-test binary: the `phasebench` binary and library driven end to
//! end against the built-in runtime ([`e2e`]), the real codex CLI ([`codex`]), and the
//! pull-request gate's workflows and scripts ([`gate`]).

mod codex;
mod e2e;
mod gate;
