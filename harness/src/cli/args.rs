//! The command line as clap parses it: every subcommand, option and positional argument with
//! its help text (which the completions and the manual page are generated from). Only the
//! `phasebench` binary uses it; `main.rs` maps it onto the library.
//!
//! Why one long file: it is declarations only, every subcommand's options and positionals with
//! their help text, which clap renders as `--help`, completions and the manual page.

use std::path::PathBuf;

use crate::commands::ab::{AbRequest, Side, StopWhen, UntilDecided};
use crate::commands::compare::ComparisonOutputs;
use crate::commands::push::{ExtraLabel, Pushgateway};
use crate::commands::run::RunRequest;
use crate::scenario::Override;
use crate::sys::output::Destination;
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "phasebench",
    version = env!("PHASEBENCH_VERSION_LINE"),
    about = "Latency benchmarks for the startup path of LLM-agent thread runtimes",
    after_help = "Exit codes: 0 pass, 1 regression or budget breach, 2 invalid input, 3 harness or \
                  target failure, 4 undecided (a primary row could not be judged; [gate] undecided \
                  or --undecided chooses), 130/143 stopped by SIGINT/SIGTERM."
)]
pub(crate) struct Cli {
    /// When to colour verdicts in the terminal report: auto (when it goes to a terminal and
    /// NO_COLOR is unset or empty), always, never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub(crate) color: ColorChoice,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to colour a report written to a stream that `is_terminal` or not, given the
    /// environment's NO_COLOR (<https://no-color.org>: set and not empty means no colour)
    /// and TERM (`dumb` shows escape sequences as text).
    pub(crate) fn colors(self, is_terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                is_terminal
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
            }
        }
    }
}

#[derive(Args)]
pub(crate) struct ScenarioArgs {
    /// The scenario file (TOML).
    pub(crate) scenario: PathBuf,
    /// Override a scenario value, e.g. --set backend.delays.first_token=50ms (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub(crate) overrides: Vec<Override>,
    /// Measured iterations (same as --set iterations=N).
    #[arg(long)]
    pub(crate) iterations: Option<u64>,
    /// Warmup iterations (same as --set warmup=N).
    #[arg(long)]
    pub(crate) warmup: Option<u64>,
    /// Iterations in flight at once (same as --set concurrency=N).
    #[arg(long)]
    pub(crate) concurrency: Option<u64>,
}

impl ScenarioArgs {
    pub(crate) fn overrides(&self) -> Vec<Override> {
        let mut overrides = self.overrides.clone();
        for (key, value) in [
            ("iterations", self.iterations),
            ("warmup", self.warmup),
            ("concurrency", self.concurrency),
        ] {
            if let Some(value) = value {
                overrides.push(Override {
                    key: key.into(),
                    value: value.to_string(),
                });
            }
        }
        overrides
    }
}

#[derive(Args)]
pub(crate) struct ComparisonArgs {
    /// Write the comparison as JSON here ("-" for standard output).
    #[arg(long, value_name = "PATH")]
    pub(crate) comparison_json: Option<Destination>,
    /// Write the comparison as Markdown here (e.g. for a pull request; "-" for standard output).
    #[arg(long, value_name = "PATH")]
    pub(crate) markdown: Option<Destination>,
    /// Append the Markdown instead of replacing the file (for $GITHUB_STEP_SUMMARY).
    #[arg(long)]
    pub(crate) append_markdown: bool,
    /// Write a self-contained HTML report here: each series' percentile distribution, the
    /// baseline (or A) overlaid with the verdicts, the budgets.
    #[arg(long, value_name = "PATH")]
    pub(crate) html: Option<Destination>,
    /// Compare even when the scenario content, target or concurrency differ.
    #[arg(long)]
    pub(crate) allow_mismatch: bool,
    /// What a comparison that could not decide every primary row exits with: `undecided`
    /// (exit 4), `fail` (exit 1) or `pass` (exit 0). Default: the policy's `[gate] undecided`
    /// (itself `undecided` unless the scenario says otherwise).
    #[arg(long, value_name = "undecided|fail|pass", value_parser = on_undecided)]
    pub(crate) undecided: Option<crate::scenario::policy::OnUndecided>,
}

/// `--rounds N` or `--rounds auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rounds {
    Count(u32),
    Auto,
}

fn rounds(text: &str) -> Result<Rounds, String> {
    if text == "auto" {
        return Ok(Rounds::Auto);
    }
    text.parse::<u32>()
        .map(Rounds::Count)
        .map_err(|_| format!("{text:?}: a number of rounds, or auto"))
}

fn duration(text: &str) -> Result<std::time::Duration, String> {
    mock_backend::parse_duration(text).map_err(|e| e.to_string())
}

fn on_undecided(text: &str) -> Result<crate::scenario::policy::OnUndecided, String> {
    crate::scenario::policy::OnUndecided::parse(text)
        .ok_or_else(|| format!("{text:?}: use undecided (exit 4), fail (exit 1) or pass (exit 0)"))
}

impl ComparisonArgs {
    pub(crate) fn outputs(&self) -> ComparisonOutputs {
        ComparisonOutputs {
            json: self.comparison_json.clone(),
            markdown: self.markdown.clone(),
            append_markdown: self.append_markdown,
            html: self.html.clone(),
            allow_mismatch: self.allow_mismatch,
            undecided: self.undecided,
        }
    }
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Run a scenario and report per-phase and time-to-first-token distributions.
    Run(RunArgs),
    /// Compare a result with a baseline (a history of runs, or one result file); exit 1 on a
    /// primary regression or a budget breach.
    Compare(CompareArgs),
    /// Paired A/B: run two builds (or two configurations) in alternating rounds on this
    /// machine and compare B with A; exit 1 when B regressed.
    Ab(AbArgs),
    /// Manage baselines.
    Baseline {
        #[command(subcommand)]
        command: BaselineCommand,
    },
    /// Per-phase and TTFT distributions from OTLP logs on disk: single OTLP/JSON bodies or the
    /// OpenTelemetry Collector file exporter's format (one export request per line).
    Ingest(IngestArgs),
    /// Check scenario files without running them.
    Validate {
        /// Scenario files (TOML).
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Run a scenario at every point of a parameter grid (one whole run per point), e.g.
    /// --param backend.delays.ws_handshake=0ms..80ms:20ms; writes point-NN.json per point and
    /// the sweep's table.
    Sweep(SweepArgs),
    /// Push a result file's percentiles and counts to a Prometheus Pushgateway (labelled with
    /// scenario, target, version and commit; basic-auth credentials from
    /// PHASEBENCH_PUSH_BASIC_AUTH=user:password); exit 3 when the gateway is down or refuses.
    Push(PushCommandArgs),
    /// Join the results of `run --shard K/N` into one (rounds kept apart as written, pooled
    /// rows and budgets re-derived); refuses shards of different runs or overlapping rounds.
    Merge(MergeArgs),
    /// Rank several results (or a sweep's directory) per statistic, fastest first: "A ran
    /// 1.23 ± 0.04 times faster than B", from the means of their rounds' percentiles.
    Rank(RankArgs),
    /// Run a scenario on each codex release of a list (or range), each paired with a reference
    /// release in alternating rounds, and tabulate every phase's p50 across releases.
    History(HistoryArgs),
    /// Find the first codex release (or binary of a list) where a metric regressed, each step a
    /// paired A/B verdict, and name the phase that moved.
    Bisect(BisectArgs),
    /// Render a result file as a self-contained HTML report (`--html`), against a baseline when
    /// given (the comparison judged again from the files); exit 0 whatever the verdict.
    Report(ReportArgs),
    /// How close to the wire this machine lets phasebench get: the harness's overhead per
    /// phase and its throughput beside a bare websocket client and server doing the same
    /// exchange on loopback, in one process (build with --release for figures that mean
    /// something).
    Calibrate(CalibrateArgs),
    /// Print the manual page (roff) on stdout, e.g. `phasebench man > phasebench.1`.
    Man,
    /// Print the JSON Schema of a file format on stdout (the committed copies are in
    /// schemas/).
    Schema {
        /// Which format.
        format: SchemaFormat,
    },
    /// Serve a mock MCP server on stdin/stdout (what a scenario's `[[mcp.servers]]` makes a
    /// runtime spawn), with injected delays and faults; exits when the client closes stdin.
    #[command(hide = true)]
    McpServer(McpServerArgs),
}

#[derive(Args)]
pub(crate) struct CompareArgs {
    /// The result file to judge (from `phasebench run --json`).
    pub(crate) current: PathBuf,
    /// The baseline: a history (`phasebench baseline save`) or a single result file.
    pub(crate) baseline: PathBuf,
    /// Judge by this scenario's gate (thresholds, primary rows, budgets); without it, by
    /// the baseline's. Never by the current file's own: a file under judgment could
    /// raise its limits.
    #[arg(long, value_name = "SCENARIO")]
    pub(crate) scenario: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) comparison: ComparisonArgs,
    /// No table on stdout.
    #[arg(long, short)]
    pub(crate) quiet: bool,
}

#[derive(Args)]
pub(crate) struct AbArgs {
    /// The scenario, with overrides for both sides.
    #[command(flatten)]
    pub(crate) scenario: ScenarioArgs,
    /// The phasebench binary for side A (default: this one).
    #[arg(long, value_name = "BINARY")]
    pub(crate) a: Option<PathBuf>,
    /// The phasebench binary for side B (default: this one).
    #[arg(long, value_name = "BINARY")]
    pub(crate) b: Option<PathBuf>,
    /// Override for side A only (repeatable).
    #[arg(long = "a-set", value_name = "KEY=VALUE")]
    pub(crate) a_overrides: Vec<Override>,
    /// Override for side B only, e.g. an injected slowdown (repeatable).
    #[arg(long = "b-set", value_name = "KEY=VALUE")]
    pub(crate) b_overrides: Vec<Override>,
    /// Rounds per side (default 10, or fewer when the scenario's iterations leave a primary
    /// statistic too few samples in 10), or `auto`: as many as keep every primary statistic
    /// judgeable (enough samples per round, up to 40). The scenario's iterations are split across
    /// them (with --until-decided, each round gets that share and the first look is at
    /// this many). With --rejudge: the directory must hold exactly this many round pairs
    /// (with --until-decided: the plan's first look; the kept rounds may be at any look).
    #[arg(long, value_name = "N|auto", value_parser = rounds)]
    pub(crate) rounds: Option<Rounds>,
    /// Add round pairs until every primary row is decided (or --max-rounds, or
    /// --max-time), at looks whose intervals share the policy's error budget, so that
    /// stopping when decided keeps the false-alarm rate.
    #[arg(long)]
    pub(crate) until_decided: bool,
    /// With --until-decided: the most round pairs (default 40).
    #[arg(long, value_name = "N", requires = "until_decided")]
    pub(crate) max_rounds: Option<u32>,
    /// With --until-decided: start no look that would end past this much time at the pace
    /// so far, and cut a round still running when it ends, judging the round pairs before
    /// it (e.g. 5m, 90s).
    #[arg(long, value_name = "DURATION", requires = "until_decided", value_parser = duration)]
    pub(crate) max_time: Option<std::time::Duration>,
    /// Keep every round's result file here.
    #[arg(long, value_name = "DIR")]
    pub(crate) out_dir: Option<PathBuf>,
    /// Judge the round files an earlier `ab --out-dir DIR` kept, running nothing (e.g.
    /// under another policy via --set 'gate.relative_threshold=0.05'). With
    /// --until-decided, at the look the run recorded in DIR (give the run's --rounds and
    /// --max-rounds).
    #[arg(long, value_name = "DIR", conflicts_with = "out_dir")]
    pub(crate) rejudge: Option<PathBuf>,
    /// Run only round pairs K, K+N, … of the --rounds into --out-dir (numbered as in the
    /// whole run) and judge nothing, e.g. on N CI runners; gather the shards' files in
    /// one directory and judge them with --rejudge.
    #[arg(long, value_name = "K/N", value_parser = shard, requires = "out_dir")]
    pub(crate) shard: Option<(u32, u32)>,
    #[command(flatten)]
    pub(crate) comparison: ComparisonArgs,
    /// No progress and no table.
    #[arg(long, short)]
    pub(crate) quiet: bool,
}

#[derive(Args)]
pub(crate) struct IngestArgs {
    /// OTLP/JSON bodies or Collector file-exporter files (uncompressed).
    #[arg(required = true)]
    pub(crate) files: Vec<PathBuf>,
    /// Write the JSON summary here ("-" for standard output).
    #[arg(long, value_name = "PATH")]
    pub(crate) json: Option<Destination>,
    /// Write the metric table as CSV here ("-" for standard output).
    #[arg(long, value_name = "PATH")]
    pub(crate) csv: Option<Destination>,
    /// No table on stdout.
    #[arg(long, short)]
    pub(crate) quiet: bool,
}

#[derive(Args)]
pub(crate) struct PushCommandArgs {
    /// The result file (from `phasebench run --json`); its rows are re-derived from its
    /// histograms before anything is sent.
    pub(crate) result: PathBuf,
    /// The Pushgateway, e.g. http://127.0.0.1:9091 or https://…
    #[arg(value_name = "URL", value_parser = pushgateway())]
    pub(crate) url: Pushgateway,
    /// Add a grouping label (repeatable), e.g. --push-label runner=ci-3.
    #[arg(long = "push-label", value_name = "NAME=VALUE")]
    pub(crate) labels: Vec<ExtraLabel>,
    /// Trust the CA certificates (PEM) in this file for an https gateway, besides the
    /// Mozilla roots.
    #[arg(long = "push-ca", value_name = "PATH")]
    pub(crate) ca: Option<PathBuf>,
}

#[derive(Args)]
pub(crate) struct ReportArgs {
    /// The result file (from `phasebench run --json`).
    pub(crate) result: PathBuf,
    /// A baseline to overlay: a history (`phasebench baseline save`) or a result file.
    #[arg(long)]
    pub(crate) baseline: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) comparison: ComparisonArgs,
}

impl AbArgs {
    /// The `ab` request, each side's binary defaulting to `this` phasebench.
    pub(crate) fn into_request(self, this: PathBuf) -> AbRequest {
        let fixed_rounds = match self.rounds {
            Some(Rounds::Count(n)) => Some(n),
            _ => None,
        };
        AbRequest {
            overrides: self.scenario.overrides(),
            scenario: self.scenario.scenario,
            a: Side {
                binary: self.a.unwrap_or_else(|| this.clone()),
                overrides: self.a_overrides,
            },
            b: Side {
                binary: self.b.unwrap_or(this),
                overrides: self.b_overrides,
            },
            rounds: fixed_rounds.unwrap_or(crate::commands::ab::DEFAULT_ROUNDS),
            auto_rounds: match self.rounds {
                Some(Rounds::Count(_)) => None,
                Some(Rounds::Auto) => Some(crate::commands::ab::DEFAULT_AUTO_MAX),
                None => Some(crate::commands::ab::DEFAULT_ROUNDS),
            },
            // Kept rounds of a sequential A/B: `--rounds` is its first look, not their count.
            expected_rounds: fixed_rounds.filter(|_| self.rejudge.is_some() && !self.until_decided),
            out_dir: self.out_dir,
            comparison: self.comparison.outputs(),
            progress: progress_lines(self.quiet),
            rejudge: self.rejudge,
            shard: self.shard,
            until_decided: self.until_decided.then(|| UntilDecided {
                max_rounds: self
                    .max_rounds
                    .unwrap_or(crate::stats::sequential::DEFAULT_MAX_ROUNDS),
                max_time: self.max_time,
                stop: StopWhen::Gate,
            }),
            require_judgeable: true,
        }
    }
}

#[derive(Args)]
pub(crate) struct SweepArgs {
    #[command(flatten)]
    pub(crate) scenario: ScenarioArgs,
    /// An axis: KEY=V1,V2,... or KEY=FROM..TO:STEP (durations or counts); several make a
    /// grid. Any scenario key, codex.binary included.
    #[arg(long = "param", value_name = "KEY=VALUES", required = true)]
    pub(crate) params: Vec<crate::commands::sweep::Axis>,
    /// Directory for each point's result file.
    #[arg(long, value_name = "DIR")]
    pub(crate) out_dir: PathBuf,
    /// Write the sweep's table as CSV here (parameter columns, series, percentiles).
    #[arg(long, value_name = "PATH")]
    pub(crate) csv: Option<Destination>,
    /// Write the sweep's table as JSON here.
    #[arg(long, value_name = "PATH")]
    pub(crate) json: Option<Destination>,
    /// Write an HTML page with each series' p50/p90/p99 against the parameter here.
    #[arg(long, value_name = "PATH")]
    pub(crate) html: Option<Destination>,
    /// No progress and no table.
    #[arg(short, long)]
    pub(crate) quiet: bool,
}

#[derive(Args)]
pub(crate) struct MergeArgs {
    /// The shards' result files.
    #[arg(required = true)]
    pub(crate) shards: Vec<PathBuf>,
    /// Write the merged result here.
    #[arg(long, value_name = "PATH")]
    pub(crate) json: Destination,
    /// Merge even when some shards are missing; the result is marked partial (a run that
    /// mostly failed or is partial never passes as whole).
    #[arg(long)]
    pub(crate) partial: bool,
}

#[derive(Args)]
pub(crate) struct CalibrateArgs {
    /// Startups one at a time for the latency table (the harness's calibration scenario and
    /// as many bare exchanges).
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub(crate) iterations: u64,
    /// Startups per throughput measurement (the harness's, and the bare pair's before and
    /// after it).
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub(crate) startups: u64,
    /// Concurrencies of the throughput table (comma list).
    #[arg(long, value_delimiter = ',', default_value = "1,64", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub(crate) concurrency: Vec<u32>,
    /// Only the throughput table.
    #[arg(long)]
    pub(crate) no_latency: bool,
    /// Write the tables as JSON here.
    #[arg(long, value_name = "PATH")]
    pub(crate) json: Option<Destination>,
}

impl CalibrateArgs {
    pub(crate) fn into_request(
        self,
    ) -> (
        crate::commands::calibrate::CalibrateRequest,
        Option<Destination>,
    ) {
        (
            crate::commands::calibrate::CalibrateRequest {
                iterations: self.iterations,
                startups: self.startups,
                concurrency: self.concurrency,
                skip_latency: self.no_latency,
            },
            self.json,
        )
    }
}

#[derive(Args)]
pub(crate) struct RankArgs {
    /// Result files, or directories of sweep points (point-NN.json).
    #[arg(required = true)]
    pub(crate) results: Vec<PathBuf>,
    /// Metrics to rank on (repeatable; default turn_ttft, startup_prewarm_total,
    /// thread_start_total).
    #[arg(long = "metric")]
    pub(crate) metrics: Vec<String>,
    /// The statistic: p50, p90, p95 or p99.
    #[arg(long, default_value = "p50")]
    pub(crate) stat: String,
    /// Write the rankings as JSON here.
    #[arg(long, value_name = "PATH")]
    pub(crate) json: Option<Destination>,
}

#[derive(Args)]
pub(crate) struct HistoryArgs {
    #[command(flatten)]
    pub(crate) scenario: ScenarioArgs,
    /// Releases: a comma list (0.120.0,0.150.0) or a range of published ones
    /// (0.120.0..0.171.0).
    #[arg(long, required = true)]
    pub(crate) versions: String,
    /// Of a range, every N-th release (the ends always).
    #[arg(long, default_value_t = 1)]
    pub(crate) every: usize,
    /// The release every other is paired with (default: the last of the list).
    #[arg(long)]
    pub(crate) reference: Option<String>,
    #[command(flatten)]
    pub(crate) pairing: PairingArgs,
}

#[derive(Args)]
pub(crate) struct BisectArgs {
    #[command(flatten)]
    pub(crate) scenario: ScenarioArgs,
    /// The last release known good.
    #[arg(long, requires = "bad", conflicts_with = "binaries")]
    pub(crate) good: Option<String>,
    /// The first release known bad.
    #[arg(long)]
    pub(crate) bad: Option<String>,
    /// Instead of releases: codex binaries in order, the first good, the last bad.
    #[arg(long, value_delimiter = ',')]
    pub(crate) binaries: Vec<PathBuf>,
    /// Instead of releases: the values of any scenario key in order (KEY=V1,V2,… as in
    /// `sweep --param`), the first good, the last bad.
    #[arg(long, conflicts_with_all = ["good", "binaries"])]
    pub(crate) axis: Option<crate::commands::sweep::Axis>,
    /// The metric whose p50 regressed.
    #[arg(long, default_value = "turn_ttft")]
    pub(crate) metric: String,
    #[command(flatten)]
    pub(crate) pairing: PairingArgs,
}

impl SweepArgs {
    pub(crate) fn into_request(self) -> crate::commands::sweep::SweepRequest {
        crate::commands::sweep::SweepRequest {
            overrides: self.scenario.overrides(),
            scenario: self.scenario.scenario,
            axes: self.params,
            out_dir: self.out_dir,
            csv: self.csv,
            json: self.json,
            html: self.html,
            progress: progress_lines(self.quiet),
            meter: crate::cli::progress_bar::meter(self.quiet),
        }
    }
}

/// `phasebench mcp-server`: one mock MCP server (see `mock_backend::mcp`).
#[derive(Args)]
pub(crate) struct McpServerArgs {
    #[arg(long, default_value = "mock")]
    pub(crate) name: String,
    #[arg(long, default_value_t = 8)]
    pub(crate) tools: u32,
    #[arg(long, default_value_t = 256)]
    pub(crate) schema_bytes: u32,
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// Delay before serving anything (one word: `20ms`, `uniform:5ms,15ms`, …).
    #[arg(long, value_parser = mock_backend::parse_delay)]
    pub(crate) start_delay: Option<mock_backend::DelayDist>,
    #[arg(long, value_parser = mock_backend::parse_delay)]
    pub(crate) initialize_delay: Option<mock_backend::DelayDist>,
    #[arg(long, value_parser = mock_backend::parse_delay)]
    pub(crate) list_tools_delay: Option<mock_backend::DelayDist>,
    #[arg(long, value_parser = mock_backend::parse_delay)]
    pub(crate) call_tool_delay: Option<mock_backend::DelayDist>,
    /// Probability of exiting with status 1 before serving.
    #[arg(long, value_parser = probability, default_value = "0")]
    pub(crate) crash_at_start: mock_backend::Probability,
    /// Probability of never answering `initialize`.
    #[arg(long, value_parser = probability, default_value = "0")]
    pub(crate) hang_initialize: mock_backend::Probability,
    /// Probability of answering `tools/list` with an error.
    #[arg(long, value_parser = probability, default_value = "0")]
    pub(crate) error_list_tools: mock_backend::Probability,
    /// Append one JSON line per request here (server-side timestamps, injected delays).
    #[arg(long)]
    pub(crate) record: Option<PathBuf>,
}

/// `phasebench run`'s arguments.
#[derive(Args)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub(crate) scenario: ScenarioArgs,
    /// Write the JSON result here ("-" for standard output; files are replaced atomically,
    /// devices and FIFOs written through).
    #[arg(long, value_name = "PATH")]
    pub(crate) json: Option<Destination>,
    /// Write the metric table as CSV here ("-" for standard output).
    #[arg(long, value_name = "PATH")]
    pub(crate) csv: Option<Destination>,
    /// Write Bencher Metric Format JSON here ("-" for standard output).
    #[arg(long, value_name = "PATH")]
    pub(crate) bmf: Option<Destination>,
    /// Write an HdrHistogram interval log here (one interval per round, one tag per
    /// metric and status; readable by HdrHistogram's own tools).
    #[arg(long, value_name = "PATH")]
    pub(crate) hlog: Option<Destination>,
    /// Write per-iteration timelines here as Chrome trace-event JSON (opens in
    /// ui.perfetto.dev): the 20 slowest iterations and a spread sample of at most 200.
    #[arg(long, value_name = "PATH")]
    pub(crate) trace: Option<Destination>,
    /// Write the Prometheus text exposition of the run here (e.g. for node_exporter's
    /// textfile collector).
    #[arg(long, value_name = "PATH")]
    pub(crate) prometheus: Option<Destination>,
    #[command(flatten)]
    pub(crate) push: PushArgs,
    /// Run only shard K of N of the rounds (rounds K, K+N, … with their own seeds), e.g. on
    /// N CI runners; `phasebench merge` joins the shards' results.
    #[arg(long, value_name = "K/N", value_parser = shard)]
    pub(crate) shard: Option<(u32, u32)>,
    /// Compare the run with this baseline result and fail on a regression.
    #[arg(long, value_name = "PATH")]
    pub(crate) baseline: Option<PathBuf>,
    /// Rounds (same as --set run.rounds=N), or `auto`: as many (up to 40) as keep every
    /// primary statistic judgeable with the run's iterations.
    #[arg(long, value_name = "N|auto", value_parser = rounds)]
    pub(crate) rounds: Option<Rounds>,
    #[command(flatten)]
    pub(crate) comparison: ComparisonArgs,
    /// No progress bar and no tables on stdout.
    #[arg(long, short)]
    pub(crate) quiet: bool,
}

impl RunArgs {
    /// The library's request, and where the run is pushed afterwards.
    pub(crate) fn into_request(self) -> (RunRequest, PushArgs) {
        let mut overrides = self.scenario.overrides();
        if let Some(Rounds::Count(n)) = self.rounds {
            overrides.push(crate::scenario::Override {
                key: "run.rounds".into(),
                value: n.to_string(),
            });
        }
        let request = RunRequest {
            overrides,
            auto_rounds: self.rounds == Some(Rounds::Auto),
            scenario: self.scenario.scenario,
            json: self.json,
            csv: self.csv,
            bmf: self.bmf,
            hlog: self.hlog,
            trace: self.trace,
            prometheus: self.prometheus,
            shard: self.shard,
            meter: crate::cli::progress_bar::meter(self.quiet),
            baseline: self.baseline,
            require_judgeable: false,
            comparison: self.comparison.outputs(),
        };
        (request, self.push)
    }
}

/// Where a run's results are pushed, if anywhere.
#[derive(clap::Args)]
pub(crate) struct PushArgs {
    /// After the run, push its percentiles and counts to this Prometheus Pushgateway (e.g.
    /// http://127.0.0.1:9091 or https://…; basic-auth credentials from
    /// PHASEBENCH_PUSH_BASIC_AUTH=user:password); a push that fails exits 3, the files are
    /// written.
    #[arg(long, value_name = "URL", value_parser = boxed_pushgateway())]
    pub(crate) push: Option<Box<Pushgateway>>,
    /// Add a grouping label to the push (repeatable), e.g. --push-label runner=ci-3.
    #[arg(long = "push-label", value_name = "NAME=VALUE", requires = "push")]
    pub(crate) labels: Vec<ExtraLabel>,
    /// Trust the CA certificates (PEM) in this file for an https gateway, besides the
    /// Mozilla roots.
    #[arg(long = "push-ca", value_name = "PATH", requires = "push")]
    pub(crate) ca: Option<PathBuf>,
}

/// Parses a Pushgateway URL. Not a plain `fn` parser: clap would echo the raw value in its
/// error, and a URL may carry `user:password@`; the error here shows it redacted.
#[derive(Clone)]
struct PushgatewayParser;

impl clap::builder::TypedValueParser for PushgatewayParser {
    type Value = Pushgateway;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Pushgateway, clap::Error> {
        let name = arg.map_or("URL".into(), ToString::to_string);
        let invalid = |message: String| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("invalid value for {name}: {message}\n"),
            )
            .with_cmd(cmd)
        };
        let text = value.to_str().ok_or_else(|| invalid("not UTF-8".into()))?;
        Pushgateway::parse(text).map_err(|e| invalid(e.to_string()))
    }
}

fn pushgateway() -> PushgatewayParser {
    PushgatewayParser
}

/// Boxed: `run`'s arguments would otherwise make every subcommand as large as a URL.
fn boxed_pushgateway() -> impl clap::builder::TypedValueParser<Value = Box<Pushgateway>> {
    clap::builder::TypedValueParser::map(PushgatewayParser, Box::new)
}

fn shard(text: &str) -> Result<(u32, u32), String> {
    let (k, n) = text
        .split_once('/')
        .ok_or_else(|| format!("{text:?} is not K/N (e.g. 2/4)"))?;
    let (k, n): (u32, u32) = (
        k.trim()
            .parse()
            .map_err(|_| format!("{k:?} is not a number"))?,
        n.trim()
            .parse()
            .map_err(|_| format!("{n:?} is not a number"))?,
    );
    if n == 0 || k == 0 || k > n {
        return Err(format!("{text}: K must be between 1 and N"));
    }
    Ok((k, n))
}

fn probability(text: &str) -> Result<mock_backend::Probability, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    mock_backend::Probability::new(value).map_err(|e| e.to_string())
}

impl McpServerArgs {
    pub(crate) fn spec(self) -> mock_backend::mcp::McpServerSpec {
        use mock_backend::mcp::{McpDelays, McpFaults, McpServerSpec};
        McpServerSpec {
            name: self.name,
            tools: self.tools.min(mock_backend::mcp::MAX_TOOLS),
            schema_bytes: self.schema_bytes.min(mock_backend::mcp::MAX_SCHEMA_BYTES),
            delays: McpDelays {
                start: self.start_delay.unwrap_or_default(),
                initialize: self.initialize_delay.unwrap_or_default(),
                list_tools: self.list_tools_delay.unwrap_or_default(),
                call_tool: self.call_tool_delay.unwrap_or_default(),
            },
            faults: McpFaults {
                crash_at_start: self.crash_at_start,
                hang_initialize: self.hang_initialize,
                error_list_tools: self.error_list_tools,
            },
            seed: self.seed,
            record: self.record,
        }
    }
}

/// How `history` and `bisect` pair their runs, and where they write.
#[derive(Args)]
pub(crate) struct PairingArgs {
    /// Rounds per side of each pairing (each an `ab`); with --max-rounds above it, the first
    /// look of a sequential A/B.
    #[arg(long, default_value_t = 5)]
    pub(crate) rounds: u32,
    /// Add round pairs to a pairing until it decides, up to this many (bisect: until the
    /// metric's p50 is decided; history: every primary row). Default: bisect 30, history
    /// --rounds (no rounds added).
    #[arg(long, value_name = "N")]
    pub(crate) max_rounds: Option<u32>,
    /// Where each pairing's rounds go.
    #[arg(long, value_name = "DIR")]
    pub(crate) out_dir: PathBuf,
    /// Write the table (history) or the steps and finding (bisect) as JSON here.
    #[arg(long, value_name = "PATH")]
    pub(crate) json: Option<Destination>,
}

impl PairingArgs {
    /// The pairing of `scenario`'s runs with `phasebench` running every side.
    /// `stop` is what decides a pairing; `default_max` the most round pairs when
    /// --max-rounds is not given (no rounds are added when it is not above --rounds).
    pub(crate) fn pairing(
        &self,
        scenario: ScenarioArgs,
        phasebench: PathBuf,
        stop: crate::commands::ab::StopWhen,
        default_max: Option<u32>,
    ) -> crate::commands::history::Pairing {
        let max_rounds = self.max_rounds.or(default_max).unwrap_or(self.rounds);
        crate::commands::history::Pairing {
            overrides: scenario.overrides(),
            scenario: scenario.scenario,
            rounds: self.rounds,
            until_decided: (max_rounds > self.rounds).then_some(
                crate::commands::ab::UntilDecided {
                    max_rounds,
                    max_time: None,
                    stop,
                },
            ),
            require_judgeable: false,
            out_dir: self.out_dir.clone(),
            phasebench,
            progress: progress_lines(false),
        }
    }
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum SchemaFormat {
    /// A run's result file (`run --json`).
    Result,
    /// A comparison (`--comparison-json`).
    Comparison,
}

#[derive(Subcommand)]
pub(crate) enum BaselineCommand {
    /// Add runs to a baseline history (DIR/NAME.json, the newest --keep runs kept): result
    /// files, or one scenario (.toml) to run first.
    Save {
        /// Result JSON files (added oldest first), or one scenario (.toml) to run first.
        #[arg(required = true)]
        sources: Vec<PathBuf>,
        /// Baseline directory.
        #[arg(long, default_value = "results/baselines")]
        dir: PathBuf,
        /// File name (without .json; letters, digits, '.', '_', '-'); defaults to the
        /// scenario name.
        #[arg(long)]
        name: Option<String>,
        /// Runs to keep, newest first (default: what the baseline says, else 20).
        #[arg(long)]
        keep: Option<usize>,
        /// Overrides when SOURCE is a scenario.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<Override>,
    },
}

/// Progress lines on stderr, or none with `--quiet`.
fn progress_lines(quiet: bool) -> crate::commands::Progress {
    if quiet {
        crate::commands::Progress::default()
    } else {
        crate::commands::Progress::to(|line| eprintln!("{line}"))
    }
}
