//! What the feature modules share: the binary under test, the repository's scenarios, a run on
//! the built-in runtime, result rows, calibration runs for comparisons, the `/proc` scanner
//! and process-group signals, the Debian tools `scripts/test.sh` installs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use phasebench::test_support::BuiltinTarget;
use phasebench::{MetricRow, RunSummary};
use phasebench::{Override, Scenario};

/// The `phasebench` binary under test.
pub fn phasebench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_phasebench"))
}

/// A Debian package's binary: from `var` (set by `scripts/test.sh`), else `default`.
#[track_caller]
pub fn debian_tool(var: &str, default: &str, package: &str) -> PathBuf {
    let path = std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default));
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

/// Live processes whose `/proc/PID/{file}` (`cmdline` or `environ`) contains `marker`.
pub fn processes_whose(file: &str, marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(bytes) = std::fs::read(entry.path().join(file))
            && String::from_utf8_lossy(&bytes).contains(marker)
        {
            found.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    found
}

/// Processes whose command line mentions `marker` (e.g. a run's private directory, which
/// every child it started names in its arguments).
pub fn processes_naming(marker: &str) -> Vec<String> {
    processes_whose("cmdline", marker)
}

/// Processes whose environment mentions `marker` (children put their temporary trees there).
pub fn processes_mentioning(marker: &str) -> Vec<String> {
    processes_whose("environ", marker)
}

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

pub fn scenario_path(name: &str) -> PathBuf {
    repo().join("scenarios").join(name)
}

pub fn overrides(sets: &[&str]) -> Vec<Override> {
    sets.iter().map(|s| s.parse().unwrap()).collect()
}

pub async fn run(file: &str, sets: &[&str]) -> RunSummary {
    let scenario = Scenario::load(&scenario_path(file), &overrides(sets)).unwrap();
    let target = Arc::new(BuiltinTarget::start(&scenario).await.unwrap());
    phasebench::test_support::run_target(&scenario, target).await
}

pub fn row<'a>(summary: &'a RunSummary, metric: &str, status: Option<&str>) -> &'a MetricRow {
    summary
        .metrics
        .iter()
        .find(|r| r.metric == metric && r.status.as_deref() == status)
        .unwrap_or_else(|| panic!("no row {metric} {status:?} in {:#?}", summary.metrics))
}

pub fn p50(summary: &RunSummary, metric: &str, status: Option<&str>) -> f64 {
    row(summary, metric, status).p50_ms.unwrap()
}

/// Runs the calibration scenario through the CLI into `json` (60 iterations in 3 rounds of
/// 20: enough per round for p50), with extra arguments.
/// The default primary statistics at p50 only.
pub const P50_PRIMARY: &str =
    r#"gate.primary=["turn_ttft.p50","thread_start_total.p50","startup_prewarm_total.p50"]"#;

pub fn run_calibration(json: &Path, extra: &[&str]) {
    let out = phasebench()
        .args(["run", "-q", "--iterations", "60", "--warmup", "2"])
        .args(["--set", "run.rounds=3"])
        // Rounds of 20 judge p50s, not p90s (50 a round): the primary set says so, or the
        // runs could not serve as a baseline.
        .args(["--set", P50_PRIMARY])
        .arg(scenario_path("calibration.toml"))
        .arg("--json")
        .arg(json)
        .args(extra)
        .output()
        .unwrap();
    crate::support::assert_exit(&out, 0);
}

pub fn calibration_runs(dir: &Path, names: &[&str], extra: &[&str]) -> Vec<PathBuf> {
    let paths: Vec<PathBuf> = names.iter().map(|n| dir.join(n)).collect();
    std::thread::scope(|scope| {
        for p in &paths {
            scope.spawn(|| run_calibration(p, extra));
        }
    });
    paths
}

pub fn comparison_row<'a>(
    c: &'a serde_json::Value,
    metric: &str,
    stat: &str,
) -> &'a serde_json::Value {
    c["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["metric"] == metric && r["statistic"] == stat)
        .unwrap_or_else(|| panic!("no {metric} {stat} row"))
}

/// Sends `signal` to the process group `pgid`.
pub fn signal_group(pgid: u32, signal: &str) {
    let status = Command::new("kill")
        .args([signal, "--", &format!("-{pgid}")])
        .status()
        .unwrap();
    assert!(status.success());
}
