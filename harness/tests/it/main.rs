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

/// The `phasebench` binary under test.
pub fn phasebench() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_phasebench"))
}

/// A Debian package's binary: from `var` (set by `scripts/test.sh`), else `default`.
#[track_caller]
pub fn debian_tool(var: &str, default: &str, package: &str) -> std::path::PathBuf {
    let path = std::env::var_os(var)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(default));
    assert!(
        path.is_file(),
        "{} is missing: run `bash scripts/test.sh`, which installs Debian's {package}",
        path.display()
    );
    path
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
