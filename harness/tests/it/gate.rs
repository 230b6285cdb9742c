//! The pull-request gate: its workflow files lint clean, its scripts pass shellcheck, and the
//! gate script's compare step, run locally, fails on an injected slowdown.

use crate::support::repo;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The directory holding actionlint and shellcheck, as `scripts/test.sh` installs them.
fn tools() -> PathBuf {
    let dir = std::env::var_os("PHASEBENCH_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".tools/venv/bin"));
    assert!(
        dir.join("actionlint").exists() && dir.join("shellcheck").exists(),
        "actionlint and shellcheck are missing from {}: run `bash scripts/test.sh`, which installs them",
        dir.display()
    );
    dir
}

fn with_tools_on_path(command: &mut Command) -> &mut Command {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![tools()];
    paths.extend(std::env::split_paths(&path));
    command.env("PATH", std::env::join_paths(paths).unwrap())
}

/// `phasebench run scenarios/default.toml` with `iterations` in two rounds, quiet, then `outputs`
/// (e.g. `--json PATH`); panics unless it passes.
fn run_default(iterations: u32, outputs: &[&std::ffi::OsStr]) {
    let out = crate::support::phasebench()
        .arg("run")
        .arg(repo().join("scenarios/default.toml"))
        .args(["--iterations", &iterations.to_string()])
        .args(["--warmup", "2", "--set", "run.rounds=2", "-q"])
        // The outputs matter here, not the budgets' verdict (see `run.rs`).
        .args(["--undecided", "pass"])
        .args(outputs)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn workflows_pass_actionlint() {
    let workflows: Vec<PathBuf> = std::fs::read_dir(repo().join(".github/workflows"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(workflows.iter().any(|p| p.ends_with("perf-gate.yml")));
    // With shellcheck on PATH, actionlint also checks every `run:` script.
    let out = with_tools_on_path(&mut Command::new(tools().join("actionlint")))
        .args(&workflows)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn scripts_pass_shellcheck() {
    let root = repo();
    // -x from the repository root: the power scripts source scripts/power-setup.sh.
    let out = Command::new(tools().join("shellcheck"))
        .current_dir(&root)
        .arg("-x")
        .arg(root.join("scripts/power-setup.sh"))
        .arg(root.join("scripts/perf-gate.sh"))
        .arg(root.join("scripts/test.sh"))
        .arg(root.join("scripts/gate-power.sh"))
        .arg(root.join("scripts/sequential-power.sh"))
        .arg(root.join("scripts/codex-ab.sh"))
        .arg(root.join(".ci/run"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// The gate's build step's products without building: this test's binary on both sides.
fn install_gate_binaries(out: &Path) {
    let bin = out.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for side in ["base", "head"] {
        std::fs::copy(
            env!("CARGO_BIN_EXE_phasebench"),
            bin.join(format!("phasebench-{side}")),
        )
        .unwrap();
    }
}

#[test]
fn gate_script_fails_on_an_injected_slowdown() {
    let out_dir = tempfile::tempdir().unwrap();
    install_gate_binaries(out_dir.path());
    let summary = out_dir.path().join("summary.md");
    let out = Command::new("bash")
        .arg(repo().join("scripts/perf-gate.sh"))
        .arg("compare")
        .env("PERF_GATE_OUT", out_dir.path())
        .env("PERF_GATE_ROUNDS", "5")
        .env("PERF_GATE_SET", "iterations=250")
        .env("PERF_GATE_B_SET", "backend.delays.first_token=100ms")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let markdown = std::fs::read_to_string(&summary).unwrap();
    assert!(
        markdown.contains("### phasebench `ci-startup-websocket`: FAIL"),
        "{markdown}"
    );
    assert!(
        markdown.contains("### phasebench `ci-startup-http`: FAIL"),
        "{markdown}"
    );
    assert!(markdown.contains("| `turn_ttft` | p50 |"), "{markdown}");
    for scenario in ["startup-websocket", "startup-http"] {
        let results = out_dir.path().join("results").join(scenario);
        assert!(results.join("comparison.json").exists(), "{scenario}");
        assert!(results.join("a-round01.json").exists() && results.join("b-round03.json").exists());
    }
}

/// The matrix gate's script steps with four processes standing in for four runners: each runs
/// its share of the round pairs (`perf-gate.sh shard K 4`, concurrently), the judge gathers
/// the four shard directories and judges them. The verdict and comparison file equal what one
/// machine computes from the same rounds (`phasebench ab --rejudge` over them), the rounds are
/// the whole run's design (1..=R on both sides, each with the whole run's per-round share of
/// iterations), and a missing shard is refused rather than judged on fewer rounds.
#[test]
fn matrix_gate_judges_four_shards_as_one_machine() {
    let root = tempfile::tempdir().unwrap();
    const ROUNDS: u32 = 4;
    let gate_env = |command: &mut Command, out: &Path| {
        command
            .arg(repo().join("scripts/perf-gate.sh"))
            .env("PERF_GATE_OUT", out)
            .env("PERF_GATE_ROUNDS", ROUNDS.to_string())
            .env("PERF_GATE_SET", "iterations=200")
            .env("PERF_GATE_B_SET", "backend.delays.first_token=100ms");
    };
    let runners: Vec<PathBuf> = (1..=4)
        .map(|k| root.path().join(format!("runner-{k}")))
        .collect();
    let children: Vec<_> = runners
        .iter()
        .enumerate()
        .map(|(i, out)| {
            install_gate_binaries(out);
            let mut command = Command::new("bash");
            gate_env(&mut command, out);
            command
                .args(["shard", &(i + 1).to_string(), "4"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        crate::support::assert_exit(&out, 0);
    }
    let judge_out = root.path().join("judge");
    install_gate_binaries(&judge_out);
    let summary = judge_out.join("summary.md");
    let judge = |shards: &[PathBuf]| {
        let mut command = Command::new("bash");
        gate_env(&mut command, &judge_out);
        command
            .arg("judge")
            .args(shards.iter().map(|r| r.join("shards")))
            .env("GITHUB_STEP_SUMMARY", &summary)
            .output()
            .unwrap()
    };
    // Three of four runners' files: refused, not judged on fewer rounds.
    let out = judge(&runners[..3]);
    crate::support::assert_exit(&out, 3);
    assert!(String::from_utf8_lossy(&out.stderr).contains("round04.json is missing"));
    let out = judge(&runners);
    crate::support::assert_exit(&out, 1);
    let markdown = std::fs::read_to_string(&summary).unwrap();
    for name in ["startup-websocket", "startup-http"] {
        assert!(
            markdown.contains(&format!("### phasebench `ci-{name}`: FAIL")),
            "{markdown}"
        );
        let gathered = judge_out.join("results").join(name);
        for round in 1..=ROUNDS {
            for side in ["a", "b"] {
                let file = gathered.join(format!("{side}-round{round:02}.json"));
                let result: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
                // 200 iterations over 4 rounds: 50 per round, as one machine runs them.
                assert_eq!(result["plan"]["iterations"], 50, "{}", file.display());
            }
        }
        // One machine judging the same rounds: the same verdict, the same comparison file.
        let single = root.path().join(format!("{name}-single.json"));
        let out = crate::support::phasebench()
            .arg("ab")
            .arg(repo().join(format!("scenarios/ci/{name}.toml")))
            .args(["--quiet", "--rejudge"])
            .arg(&gathered)
            .args(["--set", "iterations=80"])
            .args(["--b-set", "backend.delays.first_token=100ms"])
            .arg("--comparison-json")
            .arg(&single)
            .output()
            .unwrap();
        crate::support::assert_exit(&out, 1);
        assert_eq!(
            std::fs::read(&single).unwrap(),
            std::fs::read(gathered.join("comparison.json")).unwrap(),
            "{name}"
        );
    }
    // A round missing amid the gathered ones: `ab --rejudge` refuses rather than judging the
    // rounds before the gap.
    let gathered = judge_out.join("results/startup-http");
    std::fs::remove_file(gathered.join("b-round02.json")).unwrap();
    let out = crate::support::phasebench()
        .arg("ab")
        .arg(repo().join("scenarios/ci/startup-http.toml"))
        .args(["--quiet", "--rejudge"])
        .arg(&gathered)
        .output()
        .unwrap();
    crate::support::assert_exit(&out, 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("round 2 is missing but round 4"));
    // Four rounds judged as a sequential A/B whose plan (looks at 3, 5, 7, 10) the time
    // budget cut short after its first look: a last look at 4 round pairs, spending all the
    // α the first look left, 1 − 0.05·(1 − (3/10)²).
    let gathered = judge_out.join("results/startup-websocket");
    let last_look = root.path().join("last-look.json");
    let out = crate::support::phasebench()
        .arg("ab")
        .arg(repo().join("scenarios/ci/startup-websocket.toml"))
        .args(["--quiet", "--rejudge"])
        .arg(&gathered)
        .args(["--set", "iterations=80"])
        .args(["--b-set", "backend.delays.first_token=100ms"])
        .args(["--rounds", "3", "--until-decided", "--max-rounds", "10"])
        .arg("--comparison-json")
        .arg(&last_look)
        .output()
        .unwrap();
    crate::support::assert_exit(&out, 1);
    let c: serde_json::Value = serde_json::from_slice(&std::fs::read(&last_look).unwrap()).unwrap();
    let look = &c["sequential"];
    assert_eq!(
        (
            &look["index"],
            &look["looks"],
            &look["rounds"],
            &look["max_rounds"]
        ),
        (&2.into(), &2.into(), &4.into(), &10.into()),
        "{look}"
    );
    let confidence = look["confidence"].as_f64().unwrap();
    assert!((confidence - (1.0 - 0.05 * 0.91)).abs() < 1e-9, "{look}");
    // The last round missing is no gap; --rounds says how many there must be.
    for side in ["a", "b"] {
        std::fs::remove_file(gathered.join(format!("{side}-round04.json"))).unwrap();
    }
    let rejudge = |rounds: Option<&str>| {
        let mut command = crate::support::phasebench();
        command
            .arg("ab")
            .arg(repo().join("scenarios/ci/startup-websocket.toml"))
            .args(["--quiet", "--rejudge"])
            .arg(&gathered)
            .args(["--set", "iterations=80"])
            .args(["--b-set", "backend.delays.first_token=100ms"]);
        if let Some(rounds) = rounds {
            command.args(["--rounds", rounds]);
        }
        command.output().unwrap()
    };
    let out = rejudge(Some("4"));
    crate::support::assert_exit(&out, 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds 3 round pairs, not the 4"));
    let out = rejudge(None);
    crate::support::assert_exit(&out, 1);
}

/// The committed JSON Schemas are what the types generate, and real outputs validate against
/// them (with the Python `jsonschema` package `scripts/test.sh` installs).
#[test]
fn committed_schemas_match_the_types_and_validate_real_outputs() {
    let exe = env!("CARGO_BIN_EXE_phasebench");
    for (kind, file) in [
        ("result", "schemas/result.schema.json"),
        ("comparison", "schemas/comparison.schema.json"),
    ] {
        let out = Command::new(exe).args(["schema", kind]).output().unwrap();
        assert!(out.status.success());
        let committed = std::fs::read_to_string(repo().join(file)).unwrap();
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            committed,
            "{file} is stale: regenerate it with `phasebench schema {kind} > {file}`"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let result = dir.path().join("result.json");
    let comparison = dir.path().join("comparison.json");
    run_default(20, &["--json".as_ref(), result.as_ref()]);
    let compare = Command::new(exe)
        .arg("compare")
        .arg(&result)
        .arg(&result)
        .arg("--comparison-json")
        .arg(&comparison)
        .arg("-q")
        .output()
        .unwrap();
    // A one-run baseline is always undecided.
    assert!(
        compare.status.code() == Some(4),
        "{}",
        String::from_utf8_lossy(&compare.stderr)
    );
    let validate = "import json, sys, jsonschema\n\
        for schema, doc in zip(sys.argv[1::2], sys.argv[2::2]):\n\
        \x20   jsonschema.validate(json.load(open(doc)), json.load(open(schema)))\n\
        print('ok')";
    let out = Command::new(tools().join("python"))
        .arg("-c")
        .arg(validate)
        .arg(repo().join("schemas/result.schema.json"))
        .arg(&result)
        .arg(repo().join("schemas/comparison.schema.json"))
        .arg(&comparison)
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stdout.starts_with(b"ok"),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `run --hlog` writes an HdrHistogram interval log that HdrHistogram's Python implementation
/// decodes to the same counts and percentiles as the run's JSON result.
#[test]
fn interval_logs_decode_with_hdrhistogram_py_to_the_same_percentiles() {
    let dir = tempfile::tempdir().unwrap();
    let (hlog, json) = (dir.path().join("run.hlog"), dir.path().join("run.json"));
    run_default(
        40,
        &[
            "--hlog".as_ref(),
            hlog.as_ref(),
            "--json".as_ref(),
            json.as_ref(),
        ],
    );
    let out = Command::new(tools().join("python"))
        .arg(repo().join("harness/tests/data/check_hlog.py"))
        .arg(&hlog)
        .arg(&json)
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stdout.starts_with(b"ok "),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Headless Chromium, as `scripts/test.sh` installs it (Debian's package).
fn chromium() -> PathBuf {
    crate::support::debian_tool("PHASEBENCH_CHROMIUM", "/usr/bin/chromium", "chromium")
}

/// Chromium with a profile of its own and no background traffic, `args` after.
fn headless(profile: &Path, args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .unwrap()
}

/// The HTML report of a run and of a comparison renders in a real browser: the screenshot is
/// not blank, and the DOM Chromium built holds one plot per series of the run, with one path
/// per side carrying the run's own p50.
#[test]
fn html_reports_render_in_headless_chromium_with_every_series() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("run.json");
    let run_html = dir.path().join("run.html");
    let cmp_html = dir.path().join("compare.html");
    let exe = env!("CARGO_BIN_EXE_phasebench");
    run_default(
        60,
        &[
            "--json".as_ref(),
            json.as_ref(),
            "--html".as_ref(),
            run_html.as_ref(),
        ],
    );
    let report = Command::new(exe)
        .arg("report")
        .arg(&json)
        .arg("--baseline")
        .arg(repo().join("harness/tests/data/results/a-round01.json"))
        .arg("--allow-mismatch")
        .arg("--html")
        .arg(&cmp_html)
        .output()
        .unwrap();
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    // An A/B comparison, judged again from the committed round files (B: +60 ms first token).
    let ab_html = dir.path().join("ab.html");
    let ab = Command::new(exe)
        .arg("ab")
        .arg(repo().join("scenarios/default.toml"))
        .arg("--rejudge")
        .arg(repo().join("harness/tests/data/results"))
        .args([
            "--set",
            "iterations=180",
            "--allow-mismatch",
            "-q",
            "--html",
        ])
        .arg(&ab_html)
        .output()
        .unwrap();
    crate::support::assert_exit(&ab, 1);
    let result: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let series: Vec<String> = result["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["count"].as_u64() > Some(0))
        .map(|m| match m["status"].as_str() {
            Some(s) => format!("{}[{s}]", m["metric"].as_str().unwrap()),
            None => m["metric"].as_str().unwrap().to_owned(),
        })
        .collect();
    assert!(series.len() >= 10);
    // The committed round files predate some series (the first token's split at the mock):
    // those have no baseline side, and no plot in the A/B judged from those files alone.
    let fixture: serde_json::Value = serde_json::from_slice(
        &std::fs::read(repo().join("harness/tests/data/results/a-round01.json")).unwrap(),
    )
    .unwrap();
    let in_fixture = |name: &str| {
        fixture["metrics"].as_array().unwrap().iter().any(|m| {
            let label = match m["status"].as_str() {
                Some(s) => format!("{}[{s}]", m["metric"].as_str().unwrap()),
                None => m["metric"].as_str().unwrap().to_owned(),
            };
            label == name
        })
    };
    let profile = dir.path().join("profile");
    for (html, sides, run_p50) in [
        (&run_html, 1, true),
        (&cmp_html, 2, true),
        (&ab_html, 2, false),
    ] {
        let url = format!("file://{}", html.display());
        let dom = headless(&profile, &["--dump-dom".as_ref(), url.as_ref()]);
        assert!(
            dom.status.success(),
            "{}",
            String::from_utf8_lossy(&dom.stderr)
        );
        let dom = String::from_utf8(dom.stdout).unwrap();
        for name in &series {
            let sides = match (in_fixture(name), html == &ab_html) {
                (true, _) => sides,
                (false, true) => continue,
                (false, false) => 1,
            };
            let start = dom
                .find(&format!(
                    "<section class=\"metric\" data-series=\"{name}\">"
                ))
                .unwrap_or_else(|| panic!("{name} has no plot in {}", html.display()));
            let section = &dom[start..start + dom[start..].find("</section>").unwrap()];
            assert_eq!(
                section.matches("<path class=\"series").count(),
                sides,
                "{name} in {}",
                html.display()
            );
        }
        // The waterfall draws tool building and the websocket connect side by side.
        let bar = |metric: &str| -> (f64, f64) {
            let at = dom
                .find(&format!("class=\"phase\" data-metric=\"{metric}\""))
                .unwrap_or_else(|| panic!("no waterfall bar for {metric}"));
            let attr = |name: &str| -> f64 {
                let from = at + dom[at..].find(&format!("{name}=\"")).unwrap() + name.len() + 2;
                dom[from..from + dom[from..].find('"').unwrap()]
                    .parse()
                    .unwrap()
            };
            (attr("data-start-p50-ms"), attr("data-end-p50-ms"))
        };
        let (tools, connect) = (bar("startup_prewarm_build_tools"), bar("websocket_connect"));
        assert!(
            tools.0 < connect.1 && connect.0 < tools.1,
            "tool building {tools:?} and the websocket connect {connect:?} overlap"
        );
        // What a reader sees: bars in start order under a legend of tracks, plots in a grid
        // with a 50% tick and axis titles, a percentile table of every series.
        let starts: Vec<f64> = dom
            .match_indices("data-start-p50-ms=\"")
            .map(|(at, key)| {
                let from = at + key.len();
                dom[from..from + dom[from..].find('"').unwrap()]
                    .parse()
                    .unwrap()
            })
            .collect();
        assert!(
            starts.len() >= 5 && starts.windows(2).all(|w| w[0] <= w[1]),
            "waterfall in start order: {starts:?}"
        );
        for shown in [
            "class=\"legend\"",
            ">websocket</text></g>",
            "<div class=\"plots\">",
            ">50%</text>",
            ">latency (ms)</text>",
            ">percentile (log scale)</text>",
            "<table class=\"percentiles\">",
            "<tr data-series=\"turn_ttft\">",
        ] {
            assert!(
                dom.contains(shown),
                "{shown} missing from {}",
                html.display()
            );
        }
        if html == &run_html {
            assert!(
                dom.contains("<table class=\"overhead\">")
                    && dom.contains("<tr data-metric=\"turn_ttft\">"),
                "the run page has the overhead table"
            );
        }
        // The plotted p50 of turn_ttft is the run's (the A/B plots the committed rounds and
        // says its verdict and where the change came from).
        if run_p50 {
            // The plotted p50 of turn_ttft is the result's.
            let p50 = result["metrics"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["metric"] == "turn_ttft")
                .unwrap()["p50_ms"]
                .as_f64()
                .unwrap();
            let turn = &dom[dom.find("data-series=\"turn_ttft\">").unwrap()..];
            assert!(
                turn.contains(&format!(
                    "data-series=\"current\" data-count=\"60\" data-p50-ms=\"{p50}\""
                )),
                "{}",
                &turn[..turn.len().min(600)]
            );
        } else {
            assert!(
                dom.contains("FAIL") && dom.contains("turn_ttft p50 +"),
                "verdict and source"
            );
        }
        let png = dir.path().join("shot.png");
        let shot = headless(
            &profile,
            &[
                "--window-size=1100,1600".as_ref(),
                format!("--screenshot={}", png.display()).as_ref(),
                url.as_ref(),
            ],
        );
        assert!(
            shot.status.success(),
            "{}",
            String::from_utf8_lossy(&shot.stderr)
        );
        let check = Command::new("python3")
            .arg(repo().join("harness/tests/data/check_png.py"))
            .arg(&png)
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "{}{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        );
    }
}

/// A sweep's HTML renders in headless Chromium with one plot per series and three paths
/// (p50, p90, p99) each, one point per swept value.
#[test]
fn sweep_html_renders_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("sweep.html");
    let out = crate::support::phasebench()
        .arg("sweep")
        .arg(repo().join("scenarios/default.toml"))
        .args(["-q", "--param", "backend.delays.first_token=10ms,40ms"])
        .args([
            "--set",
            "iterations=20",
            "--set",
            "warmup=1",
            "--set",
            "run.rounds=1",
        ])
        .arg("--out-dir")
        .arg(dir.path().join("points"))
        .arg("--html")
        .arg(&html)
        .output()
        .unwrap();
    crate::support::assert_exit(&out, 0);
    let url = format!("file://{}", html.display());
    let dom = headless(
        &dir.path().join("profile"),
        &["--dump-dom".as_ref(), url.as_ref()],
    );
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let dom = String::from_utf8(dom.stdout).unwrap();
    let start = dom
        .find("<section class=\"metric\" data-series=\"turn_ttft\">")
        .unwrap_or_else(|| panic!("no turn_ttft plot: {}", &dom[..dom.len().min(800)]));
    let section = &dom[start..start + dom[start..].find("</section>").unwrap()];
    for stat in ["p50", "p90", "p99"] {
        let at = section
            .find(&format!("data-stat=\"{stat}\" d=\""))
            .unwrap_or_else(|| panic!("no {stat} path"));
        let d = &section[at..at + section[at..].find("\">").unwrap()];
        // Two swept values: a move and a line.
        assert_eq!(d.matches(" L").count(), 1, "{stat}: {d}");
    }
    // Both axes say what they measure: the swept key under x, latency in ms along y.
    for title in [">backend.delays.first_token</text>", ">latency (ms)</text>"] {
        assert!(section.contains(title), "{title} missing");
    }
    assert!(dom.matches("<section class=\"metric\"").count() >= 10);
}
