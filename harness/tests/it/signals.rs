//! Stops: SIGINT and SIGTERM to `run` and `ab` end in order (partial results, exit 130/143),
//! and nothing a run started (children, temporary trees) outlives it, even a killed `ab`.

use std::time::Duration;

use crate::support::*;

#[test]
fn sigint_and_sigterm_stop_in_order_and_leave_nothing_behind() {
    use std::os::unix::process::CommandExt;
    for (signal, code) in [("-INT", 130), ("-TERM", 143)] {
        let tmp = tempfile::tempdir().unwrap();
        let json = tmp.path().join("partial.json");
        let private_tmp = tmp.path().join("tmp");
        std::fs::create_dir(&private_tmp).unwrap();
        let mut child = phasebench()
            .args(["run", "-q", "--iterations", "100000", "--json"])
            .arg(&json)
            .arg(scenario_path("default.toml"))
            .env("TMPDIR", &private_tmp)
            .process_group(0)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Into the second round (rounds of 20,000 iterations; wait for some to finish).
        std::thread::sleep(Duration::from_millis(2500));
        signal_group(child.id(), signal);
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{signal}: no exit within 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
        assert_eq!(status.code(), Some(code), "{signal}: {stderr}");
        assert!(stderr.contains("interrupted by SIG"), "{stderr}");
        // What finished was written, marked partial.
        let doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        assert_eq!(doc["partial"], true);
        assert!(doc["run"]["succeeded_iterations"].as_u64().unwrap() > 0);
        // No temporary tree left (runtime state lives under TMPDIR).
        let left: Vec<_> = std::fs::read_dir(&private_tmp).unwrap().collect();
        assert!(left.is_empty(), "{signal}: left behind {left:?}");
        assert!(processes_mentioning(&private_tmp.display().to_string()).is_empty());
    }
}

/// Waits (at most 10 s) until a round's child `phasebench run` of the `ab` with pid `ab` is
/// running: a process other than `ab` whose environment mentions `marker` (the private
/// TMPDIR both inherit).
fn wait_for_a_round(marker: &str, ab: u32) {
    let own = ab.to_string();
    let waiting = std::time::Instant::now();
    while !processes_mentioning(marker).iter().any(|pid| *pid != own) {
        assert!(
            waiting.elapsed() < Duration::from_secs(10),
            "no round started"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn ctrl_c_stops_ab_and_its_running_round() {
    use std::os::unix::process::CommandExt;
    let tmp = tempfile::tempdir().unwrap();
    let private_tmp = tmp.path().join("tmp");
    std::fs::create_dir(&private_tmp).unwrap();
    let mut child = phasebench()
        .args(["ab", "--quiet", "--rounds", "3"])
        .arg(repo().join("scenarios/ci/startup-http.toml"))
        .env("TMPDIR", &private_tmp)
        .process_group(0)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let marker = private_tmp.display().to_string();
    wait_for_a_round(&marker, child.id());
    std::thread::sleep(Duration::from_millis(500));
    signal_group(child.id(), "-INT");
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no exit");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted by SIGINT"), "{stderr}");
    assert!(
        processes_mentioning(&marker).is_empty(),
        "left running: {:?}",
        processes_mentioning(&marker)
    );
    // The ab's own temporary directory for round files is gone too.
    let left: Vec<_> = std::fs::read_dir(&private_tmp).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// Starts an `ab` whose rounds take minutes (`extra` adds to its arguments), kills it with
/// SIGKILL during its first round, and waits for every process it started to be gone.
fn kill_ab_during_a_round(extra: &[&std::ffi::OsStr]) {
    let tmp = tempfile::tempdir().unwrap();
    let private_tmp = tmp.path().join("tmp");
    std::fs::create_dir(&private_tmp).unwrap();
    // Rounds of minutes: only the watchdog can end this one in time.
    let mut child = phasebench()
        .args(["ab", "--quiet", "--rounds", "3", "--iterations", "600000"])
        .args(extra)
        .arg(repo().join("scenarios/ci/startup-http.toml"))
        .env("TMPDIR", &private_tmp)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let marker = private_tmp.display().to_string();
    wait_for_a_round(&marker, child.id());
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    let killed = std::time::Instant::now();
    while !processes_mentioning(&marker).is_empty() {
        assert!(
            killed.elapsed() < Duration::from_secs(15),
            "the round outlived its ab: {:?}",
            processes_mentioning(&marker)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// SIGKILL to `ab` (no handler runs): its running round notices and stops.
#[test]
fn a_killed_ab_takes_its_running_round_with_it() {
    kill_ab_during_a_round(&[]);
}

/// A side's binary may be a wrapper script that runs phasebench without `exec`, so a round's
/// parent is the script, not `ab`: the rounds still run to the end and are judged, and a
/// killed `ab` still takes its round with it.
#[test]
fn a_wrapper_script_as_a_side_runs_its_rounds_and_dies_with_ab() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let wrapper = dir.path().join("wrapped-phasebench");
    let script = format!("#!/bin/sh\n'{}' \"$@\"\n", env!("CARGO_BIN_EXE_phasebench"));
    std::fs::write(&wrapper, script).unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let sides = [
        std::ffi::OsStr::new("--a"),
        wrapper.as_os_str(),
        std::ffi::OsStr::new("--b"),
        wrapper.as_os_str(),
    ];
    let out = phasebench()
        .args(["ab", "--quiet", "--rounds", "3", "--iterations", "150"])
        .args(sides)
        .args(["--set", "backend.delays.first_token=20ms"])
        .args(["--set", r#"gate.primary=["turn_ttft.p50"]"#])
        .args(["--b-set", "backend.delays.first_token=60ms"])
        .arg(scenario_path("default.toml"))
        .output()
        .unwrap();
    assert_exit(&out, 1);
    kill_ab_during_a_round(&sides);
}
