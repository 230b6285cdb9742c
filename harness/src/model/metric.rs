//! Metric names: codex's startup phases, time to first token, and the harness's own
//! client-side timings. Which ones a run produces depends on the transport.

use codex_telemetry::StartupPhase;

/// `codex.turn_ttft`.
pub(crate) const TURN_TTFT: &str = "turn_ttft";
/// `codex.websocket_connect` (the prewarm's connect + upgrade).
pub(crate) const WEBSOCKET_CONNECT: &str = "websocket_connect";
/// Client side: `start_thread()` call to its return, as the harness sees it.
pub(crate) const CLIENT_THREAD_START: &str = "client.thread_start";
/// Client side: the turn submitted to the first answer delta the harness receives.
pub(crate) const CLIENT_FIRST_DELTA: &str = "client.turn_first_delta";
/// Client side: a whole iteration, thread start to shutdown complete.
pub(crate) const CLIENT_ITERATION: &str = "client.iteration";
/// Client side, external process: spawn to the stdout line carrying the answer.
pub(crate) const CLIENT_PROCESS_ANSWER: &str = "client.process_answer";
/// Client side, external process: spawn to exit.
pub(crate) const CLIENT_PROCESS_EXIT: &str = "client.process_exit";
/// Client side, app-server: spawn to the answer to `initialize` (first thread of a process).
pub(crate) const CLIENT_INITIALIZE: &str = "client.initialize";
/// Client side, app-server: `turn/start` request to its response.
pub(crate) const CLIENT_TURN_START: &str = "client.turn_start";
/// The first turn's time to first delta split in three by the mock's server-side
/// timestamps (built-in target, one clock): the runtime before its request reached the mock
/// (turn submitted → request received)...
pub(crate) const CLIENT_TURN_TO_MOCK: &str = "client.turn_to_mock";
/// ...the mock (request received → first delta sent: the injected delay and the mock's own
/// overhead)...
pub(crate) const MOCK_FIRST_DELTA: &str = "mock.first_delta";
/// ...and the runtime after the delta left the mock (first delta sent → received by the
/// harness).
pub(crate) const CLIENT_DELTA_FROM_MOCK: &str = "client.delta_from_mock";
/// The three parts of the first token's wait, in order.
pub(crate) const FIRST_TOKEN_PARTS: [&str; 3] = [
    CLIENT_TURN_TO_MOCK,
    MOCK_FIRST_DELTA,
    CLIENT_DELTA_FROM_MOCK,
];

/// A series as reports name it: `metric`, or `metric[status]`.
pub(crate) fn series_label(metric: &str, status: Option<&str>) -> String {
    match status {
        Some(s) => format!("{metric}[{s}]"),
        None => metric.to_owned(),
    }
}

/// App-server metrics are named `COHORT.METRIC`: the first thread of a process (`cold.`) pays
/// what later ones (`warm.`) find done, and turns after a thread's first (`followup.`) skip
/// the startup path altogether. Mixing them in one histogram would blur all three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cohort {
    /// The first thread of an app-server process.
    Cold,
    /// A later thread of the same process.
    Warm,
    /// The second and later turns of a thread, whichever its cohort.
    Followup,
}

impl Cohort {
    pub fn as_str(self) -> &'static str {
        match self {
            Cohort::Cold => "cold",
            Cohort::Warm => "warm",
            Cohort::Followup => "followup",
        }
    }

    /// `metric` in this cohort.
    pub fn name(self, metric: &str) -> String {
        format!("{}.{metric}", self.as_str())
    }

    /// The cohort a metric name carries, if any.
    pub fn of(metric: &str) -> Option<Cohort> {
        match metric.split_once('.')?.0 {
            "cold" => Some(Cohort::Cold),
            "warm" => Some(Cohort::Warm),
            "followup" => Some(Cohort::Followup),
            _ => None,
        }
    }

    /// Whether an iteration of thread cohort `self` is expected to produce `metric`: its own
    /// cohort's, the follow-up turns', and the metrics of no cohort.
    pub fn covers(self, metric: &str) -> bool {
        Cohort::of(metric).is_none_or(|c| c == self || c == Cohort::Followup)
    }
}

/// How a run reaches the model, as far as which metrics exist is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    Websocket,
    Http,
}

/// What emits the telemetry: it decides which metrics exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Producer {
    /// The reference runtime, in process: reports `not_scheduled` over HTTP.
    Builtin,
    /// The real codex CLI, one process per iteration: no resolve event at all over HTTP.
    CodexExec,
    /// The real codex CLI as a long-lived app-server: metrics per [`Cohort`].
    CodexAppServer {
        /// More than one thread per process: warm threads exist.
        warm: bool,
        /// More than one turn per thread: follow-up turns exist.
        followup: bool,
    },
}

/// Which metrics a run produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    pub producer: Producer,
    pub transport: TransportKind,
}

/// Every metric a run of `profile` produces when nothing fails, in report order.
pub fn expected_metrics(profile: Profile) -> Vec<String> {
    let Profile {
        producer,
        transport,
    } = profile;
    let mut codex: Vec<&'static str> = vec![
        StartupPhase::ThreadStartCreateThread.as_str(),
        StartupPhase::ThreadStartTotal.as_str(),
    ];
    if transport == TransportKind::Websocket {
        codex.extend([
            StartupPhase::PrewarmCreateTurnContext.as_str(),
            StartupPhase::PrewarmBuildTools.as_str(),
            WEBSOCKET_CONNECT,
            StartupPhase::PrewarmBuildPrompt.as_str(),
            StartupPhase::PrewarmWebsocketWarmup.as_str(),
            StartupPhase::PrewarmTotal.as_str(),
        ]);
    }
    if transport == TransportKind::Websocket || producer == Producer::Builtin {
        codex.push(StartupPhase::PrewarmResolve.as_str());
    }
    codex.push(TURN_TTFT);
    let owned = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
    match producer {
        Producer::Builtin => {
            codex.extend([CLIENT_THREAD_START, CLIENT_FIRST_DELTA]);
            codex.extend(FIRST_TOKEN_PARTS);
            codex.push(CLIENT_ITERATION);
            owned(&codex)
        }
        Producer::CodexExec => {
            codex.extend([CLIENT_PROCESS_ANSWER, CLIENT_PROCESS_EXIT]);
            owned(&codex)
        }
        Producer::CodexAppServer { warm, followup } => {
            codex.extend([CLIENT_THREAD_START, CLIENT_TURN_START, CLIENT_FIRST_DELTA]);
            let mut names = vec![Cohort::Cold.name(CLIENT_INITIALIZE)];
            let cohorts = [(Cohort::Cold, true), (Cohort::Warm, warm)];
            for (cohort, present) in cohorts {
                if present {
                    names.extend(codex.iter().map(|m| cohort.name(m)));
                }
            }
            if followup {
                names.extend(
                    [TURN_TTFT, CLIENT_TURN_START, CLIENT_FIRST_DELTA]
                        .iter()
                        .map(|m| Cohort::Followup.name(m)),
                );
            }
            names
        }
    }
}

/// Position of a metric in report order (unknown names last, alphabetically among themselves).
/// App-server cohorts sort after the metrics of no cohort, cold before warm before follow-up.
pub(crate) fn report_rank(name: &str) -> usize {
    const ORDER: [&str; 20] = [
        "thread_start_create_thread",
        "thread_start_total",
        "startup_prewarm_create_turn_context",
        "startup_prewarm_build_tools",
        WEBSOCKET_CONNECT,
        "startup_prewarm_build_prompt",
        "startup_prewarm_websocket_warmup",
        "startup_prewarm_total",
        "startup_prewarm_resolve",
        TURN_TTFT,
        CLIENT_INITIALIZE,
        CLIENT_THREAD_START,
        CLIENT_TURN_START,
        CLIENT_FIRST_DELTA,
        CLIENT_TURN_TO_MOCK,
        MOCK_FIRST_DELTA,
        CLIENT_DELTA_FROM_MOCK,
        CLIENT_ITERATION,
        CLIENT_PROCESS_ANSWER,
        CLIENT_PROCESS_EXIT,
    ];
    let (block, base) = match Cohort::of(name) {
        None => (0, name),
        Some(cohort) => (
            1 + cohort as usize,
            name.split_once('.').map_or(name, |(_, rest)| rest),
        ),
    };
    ORDER
        .iter()
        .position(|m| *m == base)
        .map_or(usize::MAX, |within| block * ORDER.len() + within)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codex_over_http_has_no_prewarm_and_no_resolve() {
        let http = expected_metrics(Profile {
            producer: Producer::CodexExec,
            transport: TransportKind::Http,
        });
        let has = |name: &str| http.iter().any(|m| m == name);
        assert!(!has("startup_prewarm_resolve"));
        assert!(!has("startup_prewarm_total"));
        assert!(has("turn_ttft") && has(CLIENT_PROCESS_EXIT));
        let builtin_http = expected_metrics(Profile {
            producer: Producer::Builtin,
            transport: TransportKind::Http,
        });
        assert!(builtin_http.contains(&"startup_prewarm_resolve".to_owned()));
    }

    #[test]
    fn app_server_metrics_come_per_cohort() {
        let names = expected_metrics(Profile {
            producer: Producer::CodexAppServer {
                warm: true,
                followup: true,
            },
            transport: TransportKind::Websocket,
        });
        for name in [
            "cold.client.initialize",
            "cold.startup_prewarm_total",
            "warm.startup_prewarm_total",
            "warm.client.turn_first_delta",
            "followup.turn_ttft",
        ] {
            assert!(
                names.contains(&name.to_owned()),
                "{name} missing: {names:?}"
            );
        }
        assert!(!names.contains(&"warm.client.initialize".to_owned()));
        assert!(!names.contains(&"turn_ttft".to_owned()));
        let cold_only = expected_metrics(Profile {
            producer: Producer::CodexAppServer {
                warm: false,
                followup: false,
            },
            transport: TransportKind::Http,
        });
        assert!(
            cold_only.iter().all(|m| m.starts_with("cold.")),
            "{cold_only:?}"
        );
    }

    #[test]
    fn cohorts_cover_their_own_metrics_and_follow_ups() {
        assert!(Cohort::Warm.covers("warm.turn_ttft"));
        assert!(Cohort::Warm.covers("followup.turn_ttft"));
        assert!(!Cohort::Warm.covers("cold.client.initialize"));
        assert!(Cohort::Cold.covers("client.process_exit"));
        assert_eq!(Cohort::of("client.process_exit"), None);
    }

    #[test]
    fn report_order_groups_cohorts_after_plain_metrics() {
        let mut names = vec![
            "warm.turn_ttft",
            "cold.turn_ttft",
            "turn_ttft",
            "followup.turn_ttft",
            "cold.thread_start_total",
            "zzz_unknown",
            "client.process_exit",
        ];
        names.sort_by_key(|n| report_rank(n));
        assert_eq!(
            names,
            [
                "turn_ttft",
                "client.process_exit",
                "cold.thread_start_total",
                "cold.turn_ttft",
                "warm.turn_ttft",
                "followup.turn_ttft",
                "zzz_unknown",
            ]
        );
    }
}
