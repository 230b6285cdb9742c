//! `phasebench run` and `validate` as a user meets them: the result file's contents, scenario
//! and override errors at file:line:key, outputs to files, stdout, devices and FIFOs, exit
//! codes, colour, a closed stdout.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::*;

#[test]
fn default_scenario_json_has_every_phase_with_full_counts() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("out.json");
    let csv = dir.path().join("out.csv");
    let markdown = dir.path().join("out.md");
    let status = phasebench()
        .args(["run", "-q", "--iterations", "20", "--warmup", "2"])
        // What is written matters here, not the budgets' verdict: on a loaded machine 20
        // iterations can leave `thread_start_total.p99 < 50ms` undecided (exit 4).
        .args(["--undecided", "pass"])
        .arg(scenario_path("default.toml"))
        .arg("--json")
        .arg(&json)
        .arg("--csv")
        .arg(&csv)
        .arg("--markdown")
        .arg(&markdown)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(doc["schema_version"], 2);
    // Five rounds by default, each with its own histograms; their merge is the pooled row.
    assert_eq!(doc["rounds"].as_array().unwrap().len(), 5);
    let metrics = doc["metrics"].as_array().unwrap();
    for phase in codex_telemetry::StartupPhase::ALL
        .iter()
        .map(|p| p.as_str())
        .chain(["turn_ttft"])
    {
        let entry = metrics
            .iter()
            .find(|m| m["metric"] == phase)
            .unwrap_or_else(|| panic!("{phase} missing"));
        assert_eq!(entry["count"], 20, "{phase}");
        assert_eq!(entry["errors"], 0, "{phase}");
        for key in [
            "status",
            "p50_ms",
            "p90_ms",
            "p99_ms",
            "max_ms",
            "resolution",
        ] {
            assert!(entry.get(key).is_some(), "{phase} lacks {key}");
        }
        assert!(entry["p50_ms"].as_f64().unwrap() <= entry["p99_ms"].as_f64().unwrap());
    }
    let csv = std::fs::read_to_string(&csv).unwrap();
    assert!(csv.starts_with("metric,status,count,errors,"));
    let ttft_csv = csv
        .lines()
        .find(|l| l.starts_with("turn_ttft,,20,0,"))
        .unwrap_or_else(|| panic!("{csv}"));
    // Without a baseline, --markdown is the run's own report, with the same rows and values
    // as the CSV (p95 included) and the note that p99 of 20 samples is only their maximum.
    let markdown = std::fs::read_to_string(&markdown).unwrap();
    assert!(
        markdown.contains("| p50 ms | p90 ms | p95 ms | p99 ms | max ms |"),
        "{markdown}"
    );
    let ttft_md = markdown
        .lines()
        .find(|l| l.starts_with("| `turn_ttft` | 20 | 0 |"))
        .unwrap_or_else(|| panic!("{markdown}"));
    let fields: Vec<&str> = ttft_csv.split(',').collect();
    let (p95, p99) = (fields[9], fields[10]);
    let p95: f64 = p95.parse().unwrap();
    assert!(
        ttft_md.contains(&format!(" {p95:.3} |")),
        "{ttft_md} vs {ttft_csv}"
    );
    assert!(ttft_md.contains(&format!(" {:.3}* |", p99.parse::<f64>().unwrap())));
    assert!(markdown.contains("too few samples for p99"), "{markdown}");
    assert_eq!(fields[13], "p99", "{ttft_csv}");
}

#[test]
fn bad_scenarios_are_rejected_with_file_line_and_key_and_nothing_runs() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let cases = [
        (
            "unknown-key.toml",
            5,
            "backend.delays.first_tokn",
            "unknown field",
        ),
        (
            "negative-duration.toml",
            4,
            "backend.delays.first_token",
            "negative",
        ),
        (
            "unparseable-duration.toml",
            4,
            "backend.delays.first_token",
            "not a duration",
        ),
        (
            "probability-above-one.toml",
            4,
            "backend.faults.warmup_stall",
            "outside [0, 1]",
        ),
        ("unknown-target.toml", 2, "target", "unknown variant"),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (file, line, key, message) in cases {
        let path = data.join(file);
        let json = dir.path().join(format!("{file}.json"));
        let out = phasebench()
            .arg("run")
            .arg(&path)
            .arg("--json")
            .arg(&json)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{file}: {stderr}");
        assert!(
            stderr.contains(&format!("{}:{line}:", path.display())),
            "{file}: {stderr}"
        );
        assert!(stderr.contains(&format!("`{key}`")), "{file}: {stderr}");
        assert!(stderr.contains(message), "{file}: {stderr}");
        assert!(
            !json.exists(),
            "{file}: a result was written for an invalid scenario"
        );
        let out = phasebench().arg("validate").arg(&path).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "validate {file}");
    }
}

#[test]
fn bad_override_is_blamed_on_the_flag() {
    let out = phasebench()
        .args(["run", "-q", "--set", "backend.faults.http_500=3"])
        .arg(scenario_path("default.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--set backend.faults.http_500=3"));
}

#[test]
fn a_breached_budget_exits_1() {
    let out = phasebench()
        .args([
            "run",
            "-q",
            "--iterations",
            "5",
            "--warmup",
            "0",
            "--set",
            "gate.\"turn_ttft.p50\"=< 1ms",
        ])
        .arg(scenario_path("calibration.toml"))
        .output()
        .unwrap();
    crate::support::assert_exit(&out, 1);
}

#[test]
fn every_shipped_scenario_validates() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("scenarios"))
        .unwrap()
        .chain(std::fs::read_dir(repo().join("scenarios/ci")).unwrap())
        .chain(std::fs::read_dir(repo().join("scenarios/codex")).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 15);
    for (file, result) in files.iter().zip(phasebench::validate(&files)) {
        assert!(
            result.is_ok(),
            "{}: {}",
            file.display(),
            result.unwrap_err()
        );
    }
}

#[test]
fn outputs_go_to_stdout_devices_and_fifos_and_bad_paths_fail_first() {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let dir = tempfile::tempdir().unwrap();
    // `--json -`: the JSON alone on stdout, the human report on stderr.
    let out = phasebench()
        .args(["run", "--iterations", "20", "--warmup", "2", "--json", "-"])
        .args(["--undecided", "pass"])
        .arg(scenario_path("default.toml"))
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["scenario"]["name"], "default");
    assert!(String::from_utf8_lossy(&out.stderr).contains("turn_ttft"));
    assert!(!dir.path().join("-").exists(), "no file named -");

    // Devices are written through, never replaced (run as root, a rename would replace them).
    let before = std::fs::metadata("/dev/null").unwrap();
    let status = phasebench()
        .args(["run", "-q", "--iterations", "5", "--warmup", "0"])
        .args([
            "--json",
            "/dev/null",
            "--csv",
            "/dev/null",
            "--bmf",
            "/dev/null",
            "--undecided",
            "pass",
        ])
        .arg(scenario_path("default.toml"))
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let after = std::fs::metadata("/dev/null").unwrap();
    assert!(after.file_type().is_char_device());
    assert_eq!(before.rdev(), after.rdev());

    // A missing directory is found before the run (exit 2, quickly) and is not created.
    let started = std::time::Instant::now();
    let missing = dir.path().join("nowhere/out.json");
    let out = phasebench()
        .args(["run", "-q", "--iterations", "100000", "--json"])
        .arg(&missing)
        .arg(scenario_path("default.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
    assert!(started.elapsed() < Duration::from_secs(5), "nothing ran");
    assert!(!dir.path().join("nowhere").exists());
}

#[test]
fn a_run_that_mostly_failed_exits_3_with_its_causes() {
    let dir = tempfile::tempdir().unwrap();
    let (json, html) = (dir.path().join("r.json"), dir.path().join("r.html"));
    let out = phasebench()
        .args(["run", "-q", "--iterations", "40", "--warmup", "0"])
        .args(["--set", "backend.faults.reset_mid_stream=0.5", "--json"])
        .arg(&json)
        .arg("--html")
        .arg(&html)
        .arg(scenario_path("default.toml"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    // Every output it was asked for is written, the HTML page too.
    assert!(json.exists() && html.exists(), "{stderr}");
    assert!(stderr.contains("measured iterations failed"), "{stderr}");
    assert!(
        stderr.contains("× turn failed"),
        "causes with counts: {stderr}"
    );
    // Allowed by the scenario: the same run passes.
    let out = phasebench()
        .args(["run", "-q", "--iterations", "40", "--warmup", "0"])
        .args(["--set", "backend.faults.reset_mid_stream=0.5"])
        .args(["--set", "run.max_failure_ratio=0.9"])
        .args(["--undecided", "pass"])
        .arg(scenario_path("default.toml"))
        .output()
        .unwrap();
    crate::support::assert_exit(&out, 0);
}

#[test]
fn overflowing_and_ambiguous_values_are_refused_before_anything_runs() {
    let cases: &[&[&str]] = &[
        &["run", "--set", "warmup=18446744073709551615"],
        &["run", "--set", "iterations=18446744073709551615"],
        &["run", "--set", "run.rounds=0"],
        &["run", "--set", "gate.\"turn_ttft.p100\"=\"< 1s\""],
        &["run", "--set", "backend.faults.http_429=0.5"],
        &["ab", "--set", "warmup=9223372036854775807"],
        &["ab", "--rounds", "2"],
        // Each value within its bound, the whole A/B beyond any machine.
        &[
            "ab",
            "--set",
            "iterations=1000000000",
            "--set",
            "warmup=1000000000",
            "--rounds",
            "1000",
        ],
        // A comparison output without a baseline would silently write nothing.
        &["run", "--comparison-json", "/dev/null"],
    ];
    for args in cases {
        let started = std::time::Instant::now();
        let out = phasebench()
            .args(*args)
            .arg(scenario_path("default.toml"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(started.elapsed() < Duration::from_secs(5), "{args:?} ran");
    }
    // A prompt with a NUL is refused by validate.
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("nul.toml");
    std::fs::write(
        &scenario,
        "name = \"x\"\ntarget = \"codex-exec\"\n[codex]\nprompt = \"hi\\u0000there\"\n",
    )
    .unwrap();
    let out = phasebench()
        .arg("validate")
        .arg(&scenario)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("control characters"));
}

/// `--color always` paints the verdicts (the committed A/B rounds: turn_ttft regressed, red)
/// and changes nothing else: without its escape sequences the text is `--color never`'s;
/// `auto` is plain when the output is not a terminal, and NO_COLOR is honoured.
#[test]
fn color_paints_verdicts_and_nothing_else() {
    let rounds = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/results");
    let report = |color: &str, no_color: bool| -> String {
        let mut command = phasebench();
        command
            .args(["ab", "--color", color, "--rejudge"])
            .arg(&rounds)
            .arg(scenario_path("default.toml"))
            .args(["--b-set", "backend.delays.first_token=60ms"]);
        if no_color {
            command.env("NO_COLOR", "1");
        }
        let out = command.output().unwrap();
        crate::support::assert_exit(&out, 1);
        String::from_utf8(out.stdout).unwrap()
    };
    let painted = report("always", false);
    let plain = report("never", false);
    assert!(
        painted.contains("\u{1b}[1;31mregressed\u{1b}[0m"),
        "{painted}"
    );
    assert!(!plain.contains('\u{1b}'));
    let mut stripped = String::new();
    let mut rest = painted.as_str();
    while let Some(start) = rest.find('\u{1b}') {
        stripped.push_str(&rest[..start]);
        let end = rest[start..].find('m').unwrap();
        rest = &rest[start + end + 1..];
    }
    stripped.push_str(rest);
    assert_eq!(stripped, plain);
    assert_eq!(report("auto", false), plain, "not a terminal: no colour");
    assert_eq!(report("auto", true), plain);
}

/// A reader that stops early (`| head -1`) ends the printing quietly, with the usual exit
/// code, not a panic; a full device is an error for a command whose product is its output.
#[test]
fn a_closed_or_full_stdout_is_no_panic() {
    let scenario = repo().join("scenarios/default.toml");
    let mut child = phasebench()
        .arg("validate")
        .args(std::iter::repeat_n(&scenario, 3000))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Close our end at once: every write after the pipe buffer fills gets EPIPE.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = phasebench()
        .args(["schema", "result"])
        .stdout(full)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("cannot write to standard output"),
        "{stderr}"
    );
}

/// `phasebench --version` names the commit the binary was built from (the tests' binary is
/// built from this checkout's HEAD), and `--help` lists every exit code.
#[test]
fn version_names_the_build_commit_and_help_every_exit_code() {
    let out = phasebench().arg("--version").output().unwrap();
    crate::support::assert_exit(&out, 0);
    let line = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        line.starts_with(concat!("phasebench ", env!("CARGO_PKG_VERSION"))),
        "{line}"
    );
    let head = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(repo())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    if let Some(head) = head {
        assert!(
            line.contains(&format!("(commit {})", &head[..10])),
            "{line} vs {head}"
        );
    }
    let help = phasebench().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for code in [
        "0 pass",
        "1 regression",
        "2 invalid",
        "3 harness",
        "4 undecided",
        "130/143",
    ] {
        assert!(help.contains(code), "{code}: {help}");
    }
}
