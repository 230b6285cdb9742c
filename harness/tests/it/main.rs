//! The crate's one integration-test binary: the `phasebench` binary and library driven end to
//! end against the built-in runtime ([`e2e`]), the real codex CLI ([`codex`]), the
//! pull-request gate's workflows and scripts ([`gate`]), and a real Prometheus with its
//! Pushgateway ([`push`]).

mod codex;
mod e2e;
mod gate;
mod push;

/// Processes whose command line mentions `marker` (e.g. a run's private directory, which
/// every child it started names in its arguments).
pub fn processes_naming(marker: &str) -> Vec<String> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            std::fs::read(e.path().join("cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(marker))
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// Asserts a finished command exited with `code`, showing its standard error when not.
#[track_caller]
pub fn assert_exit(out: &std::process::Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
